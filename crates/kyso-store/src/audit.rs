//! The hash-chained audit log: every change and every sensitive read, appended in the same
//! transaction as the change itself (so a change without its entry cannot be committed).

use kyso_domain::audit::{entry_hash, verify_chain, AuditRecord, ChainError, ChainSummary};
use kyso_domain::roles::Permission;
use serde::Serialize;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::{hex, Actor, Result, Store, WriteTx};

/// What happened, for [`append`].
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// A stable action name, e.g. `agency.create`, `subscriber.read`, `auth.login_failed`.
    pub action: &'a str,
    /// The object acted on, e.g. `agency:12`.
    pub object: String,
    /// The agency (dotted code) the object belongs to, for the auditor's filters.
    pub agency: Option<String>,
    /// Details as JSON (never secrets).
    pub detail: serde_json::Value,
}

/// Append one entry inside `tx`. The write lock that `tx` holds makes `seq` gapless.
pub async fn append(
    tx: &mut WriteTx,
    actor: &Actor,
    event: Event<'_>,
    now: OffsetDateTime,
) -> Result<i64> {
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(tx.conn())
        .await?;
    let (prev_seq, prev_hash) = match last {
        Some(row) => (
            row.try_get::<i64, _>(0)?,
            unhex32(&row.try_get::<String, _>(1)?),
        ),
        None => (0, [0u8; 32]),
    };
    let seq = prev_seq + 1;
    // Nanosecond precision, as stored (i64 nanoseconds reach the year 2262).
    let at = OffsetDateTime::from_unix_timestamp_nanos(now.unix_timestamp_nanos())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let detail = event.detail.to_string();
    let hash = entry_hash(
        &prev_hash,
        seq,
        at,
        &actor.username,
        event.agency.as_deref(),
        event.action,
        &event.object,
        &detail,
        &actor.source,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at_ns, actor, agency, action, object, detail, source, \
         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(at.unix_timestamp_nanos() as i64)
    .bind(&actor.username)
    .bind(event.agency.as_deref())
    .bind(event.action)
    .bind(&event.object)
    .bind(&detail)
    .bind(&actor.source)
    .bind(hex(&prev_hash))
    .bind(hex(&hash))
    .execute(tx.conn())
    .await?;
    Ok(seq)
}

/// Append an entry in its own transaction (sensitive reads, failed logins).
pub async fn record(
    store: &Store,
    actor: &Actor,
    event: Event<'_>,
    now: OffsetDateTime,
) -> Result<i64> {
    let mut tx = store.begin_write().await?;
    let seq = append(&mut tx, actor, event, now).await?;
    tx.commit().await?;
    Ok(seq)
}

/// One entry as shown to the auditor.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub agency: Option<String>,
    pub action: String,
    pub object: String,
    pub detail: String,
    pub source: String,
    pub hash: String,
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub object: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: i64,
    pub before_seq: Option<i64>,
}

/// Entries newest first. Needs the auditor's permission; entries tied to an agency are shown
/// only inside the auditor's subtrees (entries without an agency — logins, accounts — need a
/// grant at a root agency).
pub async fn list(store: &Store, actor: &Actor, filter: &Filter) -> Result<Vec<Entry>> {
    let scope = actor.scope(Permission::ReadAudit);
    if scope.is_empty() {
        return Err(crate::Error::Forbidden);
    }
    let rows = sqlx::query(
        "SELECT l.seq, l.at_ns, l.actor, l.agency, l.action, l.object, l.detail, l.source, l.hash, \
         a.path FROM audit_log l LEFT JOIN agencies a ON a.code = l.agency \
         WHERE ($1 = '' OR l.actor = $1) AND ($2 = '' OR l.action LIKE $2) \
         AND ($3 = '' OR l.object = $3) AND l.at_ns >= $4 AND l.at_ns <= $5 AND l.seq < $6 \
         ORDER BY l.seq DESC LIMIT $7",
    )
    .bind(filter.actor.clone().unwrap_or_default())
    .bind(filter.action_prefix.as_ref().map(|p| format!("{p}%")).unwrap_or_default())
    .bind(filter.object.clone().unwrap_or_default())
    .bind(filter.from.map(|t| t.unix_timestamp_nanos() as i64).unwrap_or(i64::MIN))
    .bind(filter.to.map(|t| t.unix_timestamp_nanos() as i64).unwrap_or(i64::MAX))
    .bind(filter.before_seq.unwrap_or(i64::MAX))
    .bind(filter.limit.clamp(1, 1000))
    .fetch_all(store.pool())
    .await?;
    let root_scope = scope.contains("/");
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let path: Option<String> = row.try_get(9)?;
        let visible = match &path {
            Some(p) => scope.contains(p),
            None => root_scope || actor_has_root_grant(actor),
        };
        if !visible {
            continue;
        }
        out.push(Entry {
            seq: row.try_get(0)?,
            at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.try_get::<i64, _>(1)?))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            actor: row.try_get(2)?,
            agency: row.try_get(3)?,
            action: row.try_get(4)?,
            object: row.try_get(5)?,
            detail: row.try_get(6)?,
            source: row.try_get(7)?,
            hash: row.try_get(8)?,
        });
    }
    Ok(out)
}

fn actor_has_root_grant(actor: &Actor) -> bool {
    actor
        .grants
        .iter()
        .any(|g| g.role.allows(Permission::ReadAudit) && g.path.matches('/').count() == 2)
}

/// Re-hash the whole log in order and check the chain (for `kyso audit verify`). Reads in
/// pages so the log never has to fit in memory at once.
pub async fn verify(store: &Store) -> Result<Result<ChainSummary, ChainError>> {
    let mut records = Vec::new();
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ns, actor, agency, action, object, detail, source, prev_hash, hash \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 10000",
        )
        .bind(after)
        .fetch_all(store.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq: i64 = row.try_get(0)?;
            after = seq;
            records.push(AuditRecord {
                seq,
                at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(
                    row.try_get::<i64, _>(1)?,
                ))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                actor: row.try_get(2)?,
                agency: row.try_get(3)?,
                action: row.try_get(4)?,
                object: row.try_get(5)?,
                detail: row.try_get(6)?,
                source: row.try_get(7)?,
                prev_hash: unhex32(&row.try_get::<String, _>(8)?),
                hash: unhex32(&row.try_get::<String, _>(9)?),
            });
        }
    }
    Ok(verify_chain(records))
}

/// Parse 64 hex digits; anything else gives a value no honest entry hashes to, so that a
/// mangled hash column is reported as a broken chain, not as a crash.
fn unhex32(s: &str) -> [u8; 32] {
    let mut out = [0xffu8; 32];
    if s.len() != 64 {
        return out;
    }
    for (i, slot) in out.iter_mut().enumerate() {
        match s
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) => *slot = b,
            None => return [0xffu8; 32],
        }
    }
    out
}
