//! The signing service's two-phase sessions (issue 18 item 7): what `POST /api/v1/sign/prepare`
//! leaves for `POST /api/v1/sign/{session}/finalize`.
//!
//! - [`create`]: a session for the caller, valid `lifetime` seconds, naming the input PDF by its
//!   blob name, the document version it came from (if any), the preparation's parameters (JSON
//!   the signing engine reads back; opaque here) and the digest handed to the caller; audited
//!   (`sign_service.prepare`).
//! - [`claim`]: the finalize that uses it takes it in one conditional `UPDATE`, so two finalizes
//!   of one session cannot both go on; only its owner can (another account's session is
//!   answered like an unknown one).
//! - [`release`]: a refused signature gives the session back, until the [`MAX_REFUSALS`]-th
//!   refusal; [`finish`]: the signed PDF was made (audited `sign_service.finalize`), the
//!   session stays used.

use serde_json::json;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::{Actor, Error, On, Record, Result, Store};

/// How long a session is valid unless the caller asks for less (seconds).
pub const SESSION_LIFETIME: i64 = 15 * 60;

/// Refused finalizes that spend a session: after this many it takes no more.
pub const MAX_REFUSALS: i64 = 5;

/// Largest parameters text stored with a session (the visible form's image included).
pub const MAX_PARAMS: usize = 8 * 1024 * 1024;

/// What the caller signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// kyso builds the CMS signed attributes; the caller returns the raw signature value.
    Cms,
    /// The caller signs the byte-range digest and returns a whole CMS SignedData.
    ExternalCms,
}

impl Mode {
    /// The stable name (`cms`, `external_cms`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cms => "cms",
            Mode::ExternalCms => "external_cms",
        }
    }

    /// The mode of a stable name.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "cms" => Some(Mode::Cms),
            "external_cms" => Some(Mode::ExternalCms),
            _ => None,
        }
    }
}

/// A session to record.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub mode: Mode,
    /// The prepared PDF's blob name (the input with its signature placeholder: what finalize
    /// signs).
    pub source_blob: &'a str,
    /// The stored document version `(document id, seq)` it came from.
    pub document: Option<(i64, i64)>,
    /// The preparation's parameters (JSON).
    pub params: &'a str,
    /// The digest handed to the caller (hex).
    pub digest: &'a str,
    /// Seconds it stays valid (1 to [`SESSION_LIFETIME`]).
    pub lifetime: i64,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// 32 hex digits.
    pub id: String,
    pub user_id: i64,
    pub mode: Mode,
    pub source_blob: String,
    pub document: Option<(i64, i64)>,
    pub params: String,
    pub digest: String,
    pub created_at: i64,
    pub expires_at: i64,
}

fn unknown() -> Error {
    Error::NotFound {
        what: Record::Session,
    }
}

fn expired() -> Error {
    Error::invalid(
        "session",
        "Phiên ký đã hết hạn. Hãy gọi lại /api/v1/sign/prepare để lấy giá trị băm mới.",
        "The signing session has expired. Call /api/v1/sign/prepare again for a new digest.",
    )
}

fn used() -> Error {
    Error::Conflict {
        field: "session",
        vi: "Phiên ký đã được dùng. Mỗi phiên chỉ hoàn tất được một lần; hãy gọi lại \
             /api/v1/sign/prepare."
            .into(),
        en: "The signing session has been used. A session is finalized once; call \
             /api/v1/sign/prepare again."
            .into(),
    }
}

/// Record a session for `actor`, valid `new.lifetime` seconds from `now`.
pub async fn create(
    store: &Store,
    actor: &Actor,
    new: &NewSession<'_>,
    now: OffsetDateTime,
) -> Result<Session> {
    if !(1..=SESSION_LIFETIME).contains(&new.lifetime) {
        return Err(Error::invalid(
            "expires_in",
            format!("Thời hạn của phiên ký từ 1 đến {SESSION_LIFETIME} giây."),
            format!("A signing session lasts 1 to {SESSION_LIFETIME} seconds."),
        ));
    }
    if new.params.len() > MAX_PARAMS {
        return Err(Error::invalid(
            "params",
            "Tham số ký quá lớn.",
            "The signing parameters are too large.",
        ));
    }
    let id = crate::hex(&crate::random_bytes::<16>()?);
    let nowu = now.unix_timestamp();
    let session = Session {
        id,
        user_id: actor.user_id,
        mode: new.mode,
        source_blob: new.source_blob.to_owned(),
        document: new.document,
        params: new.params.to_owned(),
        digest: new.digest.to_owned(),
        created_at: nowu,
        expires_at: nowu + new.lifetime,
    };
    let mut tx = store.begin_write(actor, On::Own).await?;
    // Sessions that ended a day ago are of no use to anyone (the audit log keeps their start).
    sqlx::query("DELETE FROM signing_sessions WHERE expires_at < $1")
        .bind(nowu - 86_400)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO signing_sessions (id, user_id, mode, source_blob, document_id, seq, params, \
         digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&session.id)
    .bind(session.user_id)
    .bind(session.mode.as_str())
    .bind(&session.source_blob)
    .bind(session.document.map(|d| d.0))
    .bind(session.document.map(|d| d.1))
    .bind(&session.params)
    .bind(&session.digest)
    .bind(session.created_at)
    .bind(session.expires_at)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        crate::audit::Event {
            action: "sign_service.prepare",
            object: format!("signing_session:{}", session.id),
            agency: None,
            detail: json!({
                "mode": session.mode.as_str(),
                "document": session.document.map(|d| d.0),
                "seq": session.document.map(|d| d.1),
                "blob": session.source_blob,
                "expires_at": session.expires_at,
            }),
        },
        now,
    )
    .await?;
    Ok(session)
}

/// The session `id` of `actor` with its claim time and refusals (another account's: unknown).
async fn load(store: &Store, actor: &Actor, id: &str) -> Result<(Session, Option<i64>, i64)> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown());
    }
    let row = sqlx::query(
        "SELECT user_id, mode, source_blob, document_id, seq, params, digest, created_at, \
         expires_at, claimed_at, refusals FROM signing_sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(unknown)?;
    let user_id: i64 = row.try_get(0)?;
    if user_id != actor.user_id {
        return Err(unknown());
    }
    let mode: String = row.try_get(1)?;
    let document_id: Option<i64> = row.try_get(3)?;
    let seq: Option<i64> = row.try_get(4)?;
    let session = Session {
        id: id.to_owned(),
        user_id,
        mode: Mode::parse(&mode).ok_or_else(unknown)?,
        source_blob: row.try_get(2)?,
        document: document_id.zip(seq),
        params: row.try_get(5)?,
        digest: row.try_get(6)?,
        created_at: row.try_get(7)?,
        expires_at: row.try_get(8)?,
    };
    Ok((session, row.try_get(9)?, row.try_get(10)?))
}

/// Take `actor`'s session `id` for one finalize: at most one holds it at a time, none after it
/// was finished or expired.
pub async fn claim(store: &Store, actor: &Actor, id: &str, now: OffsetDateTime) -> Result<Session> {
    let (session, _, _) = load(store, actor, id).await?;
    let nowu = now.unix_timestamp();
    let mut tx = store.begin_write(actor, On::Own).await?;
    let taken = sqlx::query(
        "UPDATE signing_sessions SET claimed_at = $1 WHERE id = $2 AND user_id = $3 \
         AND claimed_at IS NULL AND finished_at IS NULL AND expires_at > $1 AND refusals < $4",
    )
    .bind(nowu)
    .bind(id)
    .bind(actor.user_id)
    .bind(MAX_REFUSALS)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    if taken == 1 {
        Ok(session)
    } else if session.expires_at <= nowu {
        Err(expired())
    } else {
        Err(used())
    }
}

/// Give a claimed session back after its signature was refused (one refusal more counted).
pub async fn release(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = store.begin_write(actor, On::Own).await?;
    sqlx::query(
        "UPDATE signing_sessions SET claimed_at = NULL, refusals = refusals + 1 \
         WHERE id = $1 AND user_id = $2 AND finished_at IS NULL",
    )
    .bind(id)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// The session's signed PDF was made: it stays used (audited, with the signed file's SHA-256).
pub async fn finish(
    store: &Store,
    actor: &Actor,
    id: &str,
    signed_sha256: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = store.begin_write(actor, On::Own).await?;
    sqlx::query(
        "UPDATE signing_sessions SET finished_at = $1 WHERE id = $2 AND user_id = $3 \
         AND claimed_at IS NOT NULL",
    )
    .bind(now.unix_timestamp())
    .bind(id)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        crate::audit::Event {
            action: "sign_service.finalize",
            object: format!("signing_session:{id}"),
            agency: None,
            detail: json!({ "sha256": signed_sha256 }),
        },
        now,
    )
    .await
}
