//! The login throttle, shared by every node on the database (issue 19 item 5): failed logins
//! for one client address and one user name, counted in a window. Kept in the database — not in
//! a process — so that two `kyso serve` behind one proxy count the same failures, and a restart
//! does not forget them. The pair is stored as its SHA-256 only.

use crate::{hex, sha256, Actor, On, Result, Store};

/// The row's key: SHA-256 of the address and the trimmed, lowercased name.
fn key(address: &str, username: &str) -> String {
    let mut text = address.as_bytes().to_vec();
    text.push(0);
    text.extend_from_slice(username.trim().to_lowercase().as_bytes());
    hex(&sha256(&text))
}

/// The failures of `address` and `username` in the window of `window` seconds ending `now`,
/// after counting one more when `failed` (in one statement: concurrent failures on several
/// nodes all count). A window that has passed starts again.
pub async fn failures(
    store: &Store,
    address: &str,
    username: &str,
    failed: bool,
    now: i64,
    window: i64,
) -> Result<i64> {
    let key = key(address, username);
    if !failed {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT failures FROM login_throttle WHERE key = $1 AND window_start > $2",
        )
        .bind(&key)
        .bind(now - window)
        .fetch_optional(store.pool())
        .await?;
        return Ok(row.map_or(0, |r| r.0));
    }
    // The throttle is the system's bookkeeping: nobody is signed in yet.
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    let (count,): (i64,) = sqlx::query_as(
        "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
         failures = CASE WHEN login_throttle.window_start <= $3 THEN 1 \
                    ELSE login_throttle.failures + 1 END, \
         window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 \
                        ELSE login_throttle.window_start END \
         RETURNING failures",
    )
    .bind(&key)
    .bind(now)
    .bind(now - window)
    .fetch_one(tx.conn())
    .await?;
    // Windows long past are forgotten (failures are few: this stays small).
    sqlx::query("DELETE FROM login_throttle WHERE window_start <= $1")
        .bind(now - window)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_hides_the_name_and_ignores_case_and_spaces() {
        let k = key("10.0.0.7", " Vanthu.Sokhcn ");
        assert_eq!(k, key("10.0.0.7", "vanthu.sokhcn"));
        assert_ne!(k, key("10.0.0.8", "vanthu.sokhcn"));
        assert_eq!(k.len(), 64);
        assert!(!k.contains("vanthu"));
    }
}
