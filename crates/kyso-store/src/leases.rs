//! Leases of scheduled jobs across the nodes on one database (issue 19 item 5): each periodic
//! job (the scheduled backup, the hourly notice scan) asks for its lease before a round; the
//! node that gets it runs the round, the others skip it. One statement takes a free or expired
//! lease or renews the holder's own, so two nodes asking at once never both get it — on SQLite
//! (one writer at a time) and PostgreSQL (the row's conflict is resolved under its lock) alike.

use crate::{Actor, On, Result, Store};

/// Take, or renew, the lease of job `name` for `holder` until `now + hold` (seconds); whether
/// `holder` has it.
pub async fn take(store: &Store, name: &str, holder: &str, now: i64, hold: i64) -> Result<bool> {
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    let row: Option<(String,)> = sqlx::query_as(
        "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE job_leases.until <= $4 OR job_leases.holder = excluded.holder \
         RETURNING holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now.saturating_add(hold))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(row.is_some_and(|(h,)| h == holder))
}

/// Give the lease of job `name` back, if `holder` has it (a clean stop: another node may take
/// it at once).
pub async fn release(store: &Store, name: &str, holder: &str) -> Result<()> {
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    sqlx::query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}
