//! The extract of a TRÍCH SAO copy (issue 17 item 7, Decree 30 art. 25; migration 0017).
//!
//! The clerk chooses the pages of the issued document to copy (and may say what is
//! extracted); the web layer builds the extract with `kyso_pdf::extract` from the bytes
//! [`copy_source`] gives — the store knows no PDF — and hands it here as a [`NewExtract`]. The
//! extract is kept in the blob store as the copy's *base*:
//! - through the signing service (`SignCopy`), it is recorded with the ticket that reserves the
//!   copy's number, in the ticket's transaction (`super::issue_extract_ticket`); the ticket's
//!   download then serves the extract (`super::copy_to_sign`), the upload must be the extract
//!   followed by its signature, and the signed copy points to it (`super::sign_copy`);
//! - a TRÍCH SAO uploaded already signed goes the same way (the web layer issues the ticket
//!   and checks the upload at once).
//!
//! The extract is deterministic (same version and pages, same bytes), so a copy's base can be
//! built again from its version and pages and compared.

use kyso_domain::documents::CopyForm;
use time::OffsetDateTime;

use super::*;
use crate::WriteTx;

/// Longest note of what an extract holds, in characters.
pub const MAX_EXTRACT_NOTE: usize = 500;

/// An extract built by the caller from [`copy_source`]'s version.
#[derive(Debug, Clone)]
pub struct NewExtract {
    /// The pages, canonical ("1-2,4").
    pub pages: String,
    /// What is extracted, as the clerk wrote it (may be empty).
    pub note: String,
    /// The version the extract was built from.
    pub source_seq: i64,
    /// The extract's bytes (a whole PDF).
    pub base: Vec<u8>,
}

/// A copy's extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyExtract {
    pub id: i64,
    pub document_id: i64,
    pub source_seq: i64,
    /// "1-2,4".
    pub pages: String,
    pub note: String,
    /// The extract's SHA-256 (its blob).
    pub sha256: String,
    pub size: i64,
    /// The signed copy made of it, once made.
    pub copy_id: Option<i64>,
}

const EXTRACT_COLUMNS: &str = "id, document_id, source_seq, pages, note, sha256, size, copy_id";

fn extract_from(row: &AnyRow) -> Result<CopyExtract> {
    Ok(CopyExtract {
        id: row.try_get(0)?,
        document_id: row.try_get(1)?,
        source_seq: row.try_get(2)?,
        pages: row.try_get(3)?,
        note: row.try_get(4)?,
        sha256: row.try_get(5)?,
        size: row.try_get(6)?,
        copy_id: row.try_get(7)?,
    })
}

/// The latest version of issued document `id` — its number and bytes — for a copy by the clerk
/// `actor` of agency `agency_id` (the checks of a copy: the issuer or a recipient, its clerk,
/// the document issued): what an extract is built from.
pub async fn copy_source(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    agency_id: i64,
) -> Result<(i64, Vec<u8>)> {
    let doc = load_unchecked(store, id).await?;
    super::copies::copying_agency(store, actor, &doc, agency_id).await?;
    let row = sqlx::query(
        "SELECT seq, sha256 FROM document_versions WHERE document_id = $1 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    let seq: i64 = row.try_get(0)?;
    let sha: String = row.try_get(1)?;
    Ok((seq, get_blob(blobs, &sha).await?))
}

/// The note, trimmed, within [`MAX_EXTRACT_NOTE`] characters and without control characters.
fn checked_note(note: &str) -> Result<String> {
    let note = note.trim();
    if note.chars().count() > MAX_EXTRACT_NOTE || note.chars().any(char::is_control) {
        return Err(Error::invalid(
            "note",
            format!(
                "Ghi chú phần trích sao dài quá {MAX_EXTRACT_NOTE} ký tự hoặc có ký tự điều khiển."
            ),
            format!(
                "The note of the extract is longer than {MAX_EXTRACT_NOTE} characters or has \
                 control characters."
            ),
        ));
    }
    Ok(note.to_owned())
}

/// An extract checked and its bytes stored in the blob store, ready to be recorded.
#[derive(Debug, Clone)]
pub(super) struct StagedExtract {
    pub(super) pages: String,
    pub(super) note: String,
    pub(super) source_seq: i64,
    pub(super) sha256: String,
    pub(super) size: i64,
}

/// Check `e` (a PDF, a note within bounds, pages named) and store its bytes.
pub(super) async fn stage(blobs: &Blobs, e: &NewExtract) -> Result<StagedExtract> {
    let note = checked_note(&e.note)?;
    if e.pages.trim().is_empty() || e.pages.len() > 1_000 {
        return Err(Error::invalid(
            "pages",
            "Hãy ghi các trang cần trích sao, ví dụ 1-2,4.",
            "Name the pages to extract, e.g. 1-2,4.",
        ));
    }
    check_pdf(&e.base)?;
    let sha256 = put_blob(blobs, &e.base).await?;
    Ok(StagedExtract {
        pages: e.pages.trim().to_owned(),
        note,
        source_seq: e.source_seq,
        sha256,
        size: i64::try_from(e.base.len()).unwrap_or(i64::MAX),
    })
}

/// Record `e`, an extract of `document_id`'s latest version copied by the agency
/// `agency_code`, held by `ticket` (the copy's, once signed: [`attach`]), in `tx`, audited
/// (`document.copy_extract`). The latest version must be the one the extract was built from.
pub(super) async fn record(
    tx: &mut WriteTx,
    document_id: i64,
    agency_code: &str,
    e: &StagedExtract,
    ticket: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM document_versions WHERE document_id = $1")
            .bind(document_id)
            .fetch_one(tx.conn())
            .await?;
    if seq != Some(e.source_seq) {
        return Err(Error::conflict(
            "pages",
            "Văn bản vừa có phiên bản mới; hãy chọn lại trang cần trích sao.",
            "The document has just got a new version; choose the pages to extract again.",
        ));
    }
    let actor = tx.actor().clone();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO copy_extracts (document_id, source_seq, pages, note, sha256, size, ticket, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(document_id)
    .bind(e.source_seq)
    .bind(&e.pages)
    .bind(&e.note)
    .bind(&e.sha256)
    .bind(e.size)
    .bind(ticket)
    .bind(actor.user_id)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    crate::audit::append(
        tx,
        &actor,
        crate::audit::Event {
            action: "document.copy_extract",
            object: format!("document:{document_id}"),
            agency: Some(agency_code.to_owned()),
            detail: serde_json::json!({"extract_id": id, "version": e.source_seq,
                "pages": e.pages, "note": e.note, "sha256": e.sha256, "size": e.size,
                "ticket": ticket}),
        },
        now,
    )
    .await?;
    Ok(id)
}

/// The base a copy of ticket `jti` is signed on: its extract when it holds one (a TRÍCH SAO),
/// else `version_sha` (the source version). The blob's name.
pub(super) async fn copy_base(store: &Store, jti: &str, version_sha: String) -> Result<String> {
    let sha: Option<String> = sqlx::query_scalar(
        "SELECT sha256 FROM copy_extracts WHERE ticket = $1 AND copy_id IS NULL",
    )
    .bind(jti)
    .fetch_optional(store.pool())
    .await?;
    Ok(sha.unwrap_or(version_sha))
}

/// The extract held by ticket `jti` becomes copy `copy_id`'s (in the copy's transaction).
pub(super) async fn attach(tx: &mut WriteTx, jti: &str, copy_id: i64) -> Result<()> {
    sqlx::query("UPDATE copy_extracts SET copy_id = $1 WHERE ticket = $2 AND copy_id IS NULL")
        .bind(copy_id)
        .bind(jti)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The extract held by copy ticket `jti`, while it is not yet a copy.
pub async fn ticket_extract(store: &Store, jti: &str) -> Result<Option<CopyExtract>> {
    let row = sqlx::query(&format!(
        "SELECT {EXTRACT_COLUMNS} FROM copy_extracts WHERE ticket = $1 AND copy_id IS NULL"
    ))
    .bind(jti)
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(extract_from).transpose()
}

/// The extracts of the copies of document `id` (for a reader of its copies: the caller has
/// loaded them through the document's checks).
pub async fn copy_extracts(store: &Store, id: i64) -> Result<Vec<CopyExtract>> {
    let rows = sqlx::query(&format!(
        "SELECT {EXTRACT_COLUMNS} FROM copy_extracts WHERE document_id = $1 \
         AND copy_id IS NOT NULL ORDER BY id"
    ))
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(extract_from).collect()
}

/// Issue a `SignCopy` ticket for a TRÍCH SAO of document `id` by the clerk of `agency_id`
/// whose base is `extract` (built from [`copy_source`]'s version): the number reserved, the
/// extract recorded with the ticket, one transaction ([`super::issue_copy_ticket`]'s checks).
pub async fn issue_extract_ticket(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    agency_id: i64,
    extract: &NewExtract,
    now: OffsetDateTime,
) -> Result<(super::Ticket, super::CopyReservation)> {
    let staged = stage(blobs, extract).await?;
    super::tickets::issue_copy_ticket_with(
        store,
        actor,
        id,
        agency_id,
        CopyForm::TrichSao,
        Some(&staged),
        now,
    )
    .await
}
