//! A user's own browser sessions, listed and ended one by one (issue 15 item 4): "log out
//! that other browser" without changing the password.

use serde::Serialize;
use serde_json::json;
use sqlx::Row as _;
use time::OffsetDateTime;

use super::token_hash;
use crate::audit::Event;
use crate::{Actor, Error, Result, Store};

/// Hex digits of the cookie's hash that name a session in lists and URLs.
const HANDLE_LEN: usize = 16;

/// A browser session as listed to its user: never the cookie nor its whole hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// The session's handle for [`end_session`]: the first 16 hex digits of the cookie's
    /// SHA-256 (it opens nothing).
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The address the session was opened from.
    pub source: String,
    /// The session this list was asked from.
    pub current: bool,
}

/// The actor's own sessions that have not expired, newest first; `current` is the session
/// token of the caller when the caller is a browser session.
pub async fn sessions(
    store: &Store,
    actor: &Actor,
    current: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<SessionInfo>> {
    let current = current.map(token_hash);
    let rows = sqlx::query(
        "SELECT token_hash, created_at, expires_at, source FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, token_hash",
    )
    .bind(actor.user_id)
    .bind(now.unix_timestamp())
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let hash: String = r.try_get(0)?;
            Ok(SessionInfo {
                id: hash.get(..HANDLE_LEN).unwrap_or_default().to_owned(),
                created_at: r.try_get(1)?,
                expires_at: r.try_get(2)?,
                source: r.try_get(3)?,
                current: current.as_deref() == Some(hash.as_str()),
            })
        })
        .collect()
}

/// End one of the actor's own sessions by its handle (audited). A handle of nobody's
/// session, or of another user's, is *not found*.
pub async fn end_session(
    store: &Store,
    actor: &Actor,
    id: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let not_found = Error::NotFound {
        what: crate::Record::Session,
    };
    if id.len() != HANDLE_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(not_found);
    }
    let mut tx = store.begin_write(actor, crate::On::Own).await?;
    let ended = sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND substr(token_hash, 1, 16) = $2 \
         AND expires_at > $3",
    )
    .bind(actor.user_id)
    .bind(id)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if ended == 0 {
        return Err(not_found);
    }
    tx.commit_audited(
        Event {
            action: "auth.session_end",
            object: format!("user:{}", actor.user_id),
            agency: None,
            detail: json!({ "session": id }),
        },
        now,
    )
    .await
}
