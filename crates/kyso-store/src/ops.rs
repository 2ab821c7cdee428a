//! What the server's operations endpoints ask of the database: whether it answers
//! (`/readyz`) and how much work waits in its queues (`/metrics`).

use sqlx::Row as _;

use crate::{Result, Store};

/// One round trip to the database.
pub async fn ping(store: &Store) -> Result<()> {
    sqlx::query("SELECT 1").execute(store.pool()).await?;
    Ok(())
}

/// Work waiting in the registry's queues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Requests by state, for the states in which a request waits for someone
    /// (`submitted`, `approved`, `sent`, `processing`); every one of them is listed.
    pub requests: Vec<(&'static str, i64)>,
    /// Expiry notices the mailer still has to send (as [`crate::notices::pending_emails`]
    /// picks them, without its batch limit).
    pub notices_unsent: i64,
}

/// The request states in which a request waits for someone's action.
pub const WAITING_STATES: [&str; 4] = ["submitted", "approved", "sent", "processing"];

/// Count what waits at `now`.
pub async fn queue_depths(store: &Store, now: time::OffsetDateTime) -> Result<QueueDepths> {
    let rows = sqlx::query("SELECT state, COUNT(*) FROM requests GROUP BY state")
        .fetch_all(store.pool())
        .await?;
    let mut requests: Vec<(&'static str, i64)> = WAITING_STATES.iter().map(|s| (*s, 0)).collect();
    for row in rows {
        let state: String = row.try_get(0)?;
        let n: i64 = row.try_get(1)?;
        if let Some(slot) = requests.iter_mut().find(|(s, _)| *s == state) {
            slot.1 = n;
        }
    }
    let notices_unsent: i64 = sqlx::query(
        "SELECT COUNT(*) FROM notices n JOIN users u ON u.id = n.user_id \
         WHERE n.emailed_at IS NULL AND u.email <> '' AND u.disabled = 0 AND n.created_at >= $1",
    )
    .bind(
        now.unix_timestamp()
            .saturating_sub(crate::notices::EMAIL_RETRY_DAYS * 86_400),
    )
    .fetch_one(store.pool())
    .await?
    .try_get(0)?;
    Ok(QueueDepths {
        requests,
        notices_unsent,
    })
}
