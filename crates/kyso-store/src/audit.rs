//! The hash-chained audit log: every change and every sensitive read, appended in the same
//! transaction as the change itself (so a change without its entry cannot be committed).
//!
//! When the store has an audit key ([`Store::with_audit_key`]) each entry's chain value is
//! keyed ([`kyso_domain::audit::entry_mac`]); the key and the checkpoints live in files
//! outside the database ([`crate::checkpoints`]). [`verify_against`] streams the log in pages
//! and compares it with the checkpoints; [`verify_since`] checks only what was added after a
//! checkpoint (the server's periodic check).

use kyso_domain::audit::{
    entry_hash, entry_mac, keyed_boundary, AuditKey, AuditRecord, ChainError, ChainSummary,
    ChainVerifier, Checkpoint,
};
use kyso_domain::roles::Permission;
use serde::Serialize;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::batch::{bind_all, Arg, Batch, Gate, Ran};
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

/// The columns of an audit entry, in the order of [`entry_args`].
pub(crate) const COLUMNS: &str =
    "seq, at_ns, actor, agency, action, object, detail, source, prev_hash, hash";

/// The entry `event` by `actor` at `now` that follows the chain's end in `tx`: its sequence
/// number, its chain value and the values of its row ([`COLUMNS`]), not written yet. The end of
/// the chain is read from the log, unless this transaction (or the group of writes it belongs
/// to, holding the write lock throughout) appended the last entry itself.
pub(crate) async fn entry_args(
    tx: &mut WriteTx,
    actor: &Actor,
    event: Event<'_>,
    now: OffsetDateTime,
) -> Result<(i64, [u8; 32], Vec<Arg>)> {
    let (prev_seq, prev_hash) = match tx.last_audit() {
        Some(last) => last,
        None => {
            let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(tx.conn())
                .await?;
            match last {
                Some(row) => (
                    row.try_get::<i64, _>(0)?,
                    unhex32(&row.try_get::<String, _>(1)?),
                ),
                None => (0, [0u8; 32]),
            }
        }
    };
    let seq = prev_seq + 1;
    // Nanosecond precision, as stored (i64 nanoseconds reach the year 2262).
    let at = OffsetDateTime::from_unix_timestamp_nanos(now.unix_timestamp_nanos())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let detail = event.detail.to_string();
    let hash = match tx.audit_key() {
        Some(key) => entry_mac(
            key,
            &prev_hash,
            seq,
            at,
            &actor.username,
            event.agency.as_deref(),
            event.action,
            &event.object,
            &detail,
            &actor.source,
        ),
        None => entry_hash(
            &prev_hash,
            seq,
            at,
            &actor.username,
            event.agency.as_deref(),
            event.action,
            &event.object,
            &detail,
            &actor.source,
        ),
    };
    let args = vec![
        Arg::I64(seq),
        Arg::I64(at.unix_timestamp_nanos() as i64),
        Arg::from(actor.username.as_str()),
        Arg::from(event.agency.as_deref()),
        Arg::from(event.action),
        Arg::from(event.object),
        Arg::from(detail),
        Arg::from(actor.source.as_str()),
        Arg::from(hex(&prev_hash)),
        Arg::from(hex(&hash)),
    ];
    Ok((seq, hash, args))
}

/// Append one entry inside `tx`. The write lock that `tx` holds makes `seq` gapless.
pub async fn append(
    tx: &mut WriteTx,
    actor: &Actor,
    event: Event<'_>,
    now: OffsetDateTime,
) -> Result<i64> {
    let (seq, hash, args) = entry_args(tx, actor, event, now).await?;
    let sql = format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    bind_all(sqlx::query(&sql), &args)
        .execute(tx.conn())
        .await?;
    tx.set_last_audit(seq, hash);
    Ok(seq)
}

impl WriteTx {
    /// The end of every audited write, the one way the store's writes finish: append the
    /// entry saying what the transaction did, then commit both at once (a change without its
    /// entry cannot be committed, an entry without its change cannot be written).
    /// The entry names the actor the transaction was begun for.
    pub async fn commit_audited(mut self, event: Event<'_>, now: OffsetDateTime) -> Result<()> {
        let actor = self.actor().clone();
        append(&mut self, &actor, event, now).await?;
        self.commit().await
    }

    /// Run `batch` and append the entry `event`, computed on the values `gates` say, in the
    /// same statement on PostgreSQL ([`crate::batch`]). When the gates do not hold the entry is
    /// not written ([`Ran::audited`] false): the caller appends the entry of what was written.
    pub(crate) async fn run_audited(
        &mut self,
        batch: Batch,
        event: Event<'_>,
        gates: &[Gate],
        now: OffsetDateTime,
    ) -> Result<Ran> {
        let actor = self.actor().clone();
        let (seq, hash, args) = entry_args(self, &actor, event, now).await?;
        let ran = batch.run(self, ("audit_log", COLUMNS, args), gates).await?;
        if ran.audited {
            self.set_last_audit(seq, hash);
        }
        Ok(ran)
    }
}

/// Append an entry in its own transaction (failed logins; reads go through
/// [`record_read`]).
pub async fn record(
    store: &Store,
    actor: &Actor,
    event: Event<'_>,
    now: OffsetDateTime,
) -> Result<i64> {
    let mut tx = store.begin_write(actor, crate::On::AuditLog).await?;
    let seq = append(&mut tx, actor, event, now).await?;
    tx.commit().await?;
    Ok(seq)
}

/// One audit log entry, as shown to the auditor.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AuditEntry))]
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
/// grant at a root agency). The scope is a condition of the query itself, before its order and
/// limit: entries of other agencies never use up the page.
pub async fn list(store: &Store, actor: &Actor, filter: &Filter) -> Result<Vec<Entry>> {
    let scope = actor.scope(Permission::ReadAudit);
    if scope.is_empty() {
        return Err(crate::Error::Forbidden);
    }
    let (in_scope, scope_params) = scope.sql("a.path", 8);
    let visible = if scope.is_whole_tree() {
        format!("(a.path IS NULL OR {in_scope})")
    } else {
        format!("(a.path IS NOT NULL AND {in_scope})")
    };
    let sql = format!(
        "SELECT l.seq, l.at_ns, l.actor, l.agency, l.action, l.object, l.detail, l.source, l.hash \
         FROM audit_log l LEFT JOIN agencies a ON a.code = l.agency \
         WHERE ($1 = '' OR l.actor = $1) AND ($2 = '' OR l.action LIKE $2) \
         AND ($3 = '' OR l.object = $3) AND l.at_ns >= $4 AND l.at_ns <= $5 AND l.seq < $6 \
         AND {visible} ORDER BY l.seq DESC LIMIT $7"
    );
    let mut query = sqlx::query(&sql)
        .bind(filter.actor.clone().unwrap_or_default())
        .bind(
            filter
                .action_prefix
                .as_ref()
                .map(|p| format!("{p}%"))
                .unwrap_or_default(),
        )
        .bind(filter.object.clone().unwrap_or_default())
        .bind(
            filter
                .from
                .map(|t| t.unix_timestamp_nanos() as i64)
                .unwrap_or(i64::MIN),
        )
        .bind(
            filter
                .to
                .map(|t| t.unix_timestamp_nanos() as i64)
                .unwrap_or(i64::MAX),
        )
        .bind(filter.before_seq.unwrap_or(i64::MAX))
        .bind(filter.limit.clamp(1, 1000));
    for p in scope_params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
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

/// The code of agency `id` (as audit entries carry it), for reads audited outside the store.
pub async fn agency_code(store: &Store, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT code FROM agencies WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?,
    )
}

/// Record a sensitive read of `object`, which belongs to agency `agency_id`, with that
/// agency's code, so that the agency's own auditors see it. The entry goes through the queue
/// of reads (one writer, one write transaction per batch: a read load does not queue on the
/// write lock, `crate::read_log`); this returns once the entry is committed, and an error —
/// the read must then not be served — when it cannot be.
pub async fn record_read(
    store: &Store,
    actor: &Actor,
    action: &str,
    object: String,
    agency_id: i64,
    now: OffsetDateTime,
) -> Result<i64> {
    let agency = agency_code(store, agency_id).await?;
    store
        .read_log()
        .record(
            actor,
            Event {
                action,
                object,
                agency,
                detail: serde_json::json!({}),
            },
            now,
        )
        .await
}

/// Entries read per page when the log is verified: memory stays bounded by one page, whatever
/// the log's length.
pub const VERIFY_PAGE: i64 = 1000;

/// Re-hash the whole log in order and check the chain, without key or checkpoints (a log
/// written without a key). See [`verify_against`].
pub async fn verify(store: &Store) -> Result<Result<ChainSummary, ChainError>> {
    verify_against(store, None, &[]).await
}

/// Re-hash the whole log in order, streaming it in pages of [`VERIFY_PAGE`] entries, and
/// compare it with `checkpoints` (already authenticated with the key: see
/// [`crate::checkpoints::authenticate`]).
///
/// Entries from the checkpoints' `keyed_from` on must carry the keyed chain value under `key`.
/// With a key but no checkpoint the answer is [`ChainError::NoCheckpoint`] (the server writes
/// one when it makes the key, so their absence means the file was removed); with checkpoints
/// but no key, keyed entries are [`ChainError::KeyMissing`].
pub async fn verify_against(
    store: &Store,
    key: Option<&AuditKey>,
    checkpoints: &[Checkpoint],
) -> Result<Result<ChainSummary, ChainError>> {
    let boundary = match keyed_boundary(checkpoints) {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    let verifier = ChainVerifier::new().with_checkpoints(checkpoints);
    let verifier = match (key, boundary) {
        (Some(key), Some(from)) => verifier.with_key(key.clone(), from),
        (Some(_), None) => return Ok(Err(ChainError::NoCheckpoint)),
        (None, Some(from)) => verifier.keyed_from(from),
        (None, None) => verifier,
    };
    stream(store, verifier, 0).await
}

/// Like [`verify_against`] for someone holding only the public key: `checkpoints` were
/// authenticated by their signatures ([`crate::checkpoints::authenticate_public`]); entries
/// before `keyed_from` are re-hashed, keyed ones only checked to link up and to reach every
/// checkpoint with its value ([`ChainVerifier::links_only_from`]). No checkpoint is
/// [`ChainError::NoCheckpoint`].
pub async fn verify_links(
    store: &Store,
    checkpoints: &[Checkpoint],
) -> Result<Result<ChainSummary, ChainError>> {
    let from = match keyed_boundary(checkpoints) {
        Ok(Some(from)) => from,
        Ok(None) => return Ok(Err(ChainError::NoCheckpoint)),
        Err(e) => return Ok(Err(e)),
    };
    let verifier = ChainVerifier::new()
        .with_checkpoints(checkpoints)
        .links_only_from(from);
    stream(store, verifier, 0).await
}

/// Check only what the log gained after checkpoint `from` (authenticated): the entry at the
/// checkpoint must still be there with the checkpoint's chain value (and its own content must
/// give it), and every later entry must follow it, keyed under `key` from `keyed_from` on.
/// The summary counts the whole log (the checkpoint's count plus the new entries).
pub async fn verify_since(
    store: &Store,
    key: &AuditKey,
    keyed_from: i64,
    from: &Checkpoint,
) -> Result<Result<ChainSummary, ChainError>> {
    if from.last_seq > 0 {
        let row = sqlx::query(
            "SELECT seq, at_ns, actor, agency, action, object, detail, source, prev_hash, hash \
             FROM audit_log WHERE seq = $1",
        )
        .bind(from.last_seq)
        .fetch_optional(store.pool())
        .await?;
        let Some(row) = row else {
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
                .fetch_one(store.pool())
                .await?;
            return Ok(Err(match last {
                None => ChainError::Emptied {
                    checkpoint_seq: from.last_seq,
                },
                Some(last_seq) => ChainError::Truncated {
                    checkpoint_seq: from.last_seq,
                    last_seq,
                },
            }));
        };
        let record = record_of(&row)?;
        if record.hash != from.head {
            return Ok(Err(ChainError::CheckpointMismatch { seq: from.last_seq }));
        }
        let computed = if record.seq >= keyed_from {
            record.computed_mac(key)
        } else {
            record.computed_hash()
        };
        if computed != record.hash {
            return Ok(Err(ChainError::Edited { seq: record.seq }));
        }
    }
    let verifier =
        ChainVerifier::resume(from.last_seq, from.head).with_key(key.clone(), keyed_from);
    Ok(stream(store, verifier, from.last_seq)
        .await?
        .map(|s| ChainSummary {
            count: s.count.saturating_add(from.count),
            ..s
        }))
}

/// Feed `verifier` every entry after `after`, one page at a time.
async fn stream(
    store: &Store,
    mut verifier: ChainVerifier,
    mut after: i64,
) -> Result<Result<ChainSummary, ChainError>> {
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ns, actor, agency, action, object, detail, source, prev_hash, hash \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(VERIFY_PAGE)
        .fetch_all(store.pool())
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get(0)?;
        for row in &rows {
            if let Err(e) = verifier.push(&record_of(row)?) {
                return Ok(Err(e));
            }
        }
    }
    Ok(verifier.finish())
}

fn record_of(row: &sqlx::any::AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get(0)?,
        at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.try_get::<i64, _>(1)?))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        actor: row.try_get(2)?,
        agency: row.try_get(3)?,
        action: row.try_get(4)?,
        object: row.try_get(5)?,
        detail: row.try_get(6)?,
        source: row.try_get(7)?,
        prev_hash: unhex32(&row.try_get::<String, _>(8)?),
        hash: unhex32(&row.try_get::<String, _>(9)?),
    })
}

/// Parse 64 hex digits; anything else gives a value no honest entry hashes to, so that a
/// mangled hash column is reported as a broken chain, not as a crash.
pub(crate) fn unhex32(s: &str) -> [u8; 32] {
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
