//! Outgoing documents (issue 17): registers per agency with their yearly number series,
//! documents with their Decree 30 metadata ([`kyso_domain::documents::DocumentMeta`]) and
//! their flow ([`kyso_domain::documents::flow`]), versions kept byte for byte in the blob
//! folder, comments, the timeline, numbers, copies, deliveries and recalls.
//!
//! - Who: each step needs the [`kyso_domain::documents::Duty`] of the state it leaves. Drafting,
//!   review and the format check reach the agency's subtree (a unit head or checker above,
//!   the Department's administrators); approval and the personal signature need the signer role
//!   *at the document's agency* (and the designated signer once one approved), the clerk's steps
//!   the clerk role at that agency — no one else uses its organization key (BD-16.5).
//!   Documents outside what the actor may read are *not found*.
//! - Every step is one write transaction: the state changes only from the state that was read
//!   (a second clerk's click finds it moved), the timeline row and the audit entry are written
//!   with it ([`crate::WriteTx::commit_audited`]).
//! - Numbers: the clerk's `number` step reserves the next number of the document's register
//!   for the current year (Vietnam time; a new year starts again at 1); the `org_sign` step
//!   makes it final in the same transaction that records the organization-signed version. A
//!   reserved number given back (`release_number`, with a reason kept in
//!   `doc_number_releases`) is the next one reserved in that series, so the issued numbers of a
//!   series are always 1…n without gaps or repeats. All writes hold the store's one write lock,
//!   which is what makes "the next number" safe on both engines and across nodes; the primary
//!   key (register, year, number) and the unique (agency, year, number, notation) index make a
//!   duplicate impossible even so.
//! - Files: drafts and signed versions must be PDF; a signed version must keep the version it
//!   signs as a byte-exact prefix (a signature is an incremental update). What is inside the
//!   signatures is checked by the PDF side before a step is called.
//! - Secret documents (mật, tối mật, tuyệt mật) are refused at upload (NA-4.1).

use kyso_domain::documents::{
    CopyForm, DocAction, DocState, DocType, DocumentMeta, Duty, MetaError, Reach,
};
use kyso_domain::roles::Permission;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row as _;

use crate::blobs::{BlobError, Blobs, StagedBlob};
use crate::{Actor, Error, Record, Result, Store};

mod acting;
pub use acting::*;
mod attachments;
pub use attachments::*;
mod copies;
pub use copies::*;
mod drafting;
pub use drafting::*;
mod extracts;
pub use extracts::*;
mod reading;
pub use reading::*;
mod register_book;
pub use register_book::*;
mod registers;
pub use registers::*;
mod tickets;
pub use tickets::*;

/// An outgoing register of an agency: one yearly series of numbers for the document types it
/// holds (an empty list: every type no other register of the agency holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Register {
    pub id: i64,
    pub agency_id: i64,
    /// Short name within the agency ("VBĐ", "QĐ").
    pub code: String,
    pub name: String,
    /// The issuer's abbreviation in the notation ("UBND" in "12/QĐ-UBND").
    pub issuer_abbrev: String,
    pub doc_types: Vec<DocType>,
}

/// An outgoing document.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub id: i64,
    pub agency_id: i64,
    /// The agency's identifier code (dotted).
    pub agency_code: String,
    #[serde(skip)]
    pub agency_path: String,
    pub register_id: i64,
    pub state: DocState,
    pub meta: DocumentMeta,
    pub drafter_id: i64,
    /// The person who approved it and signs it (set at approval, or when it was created).
    pub signer_id: Option<i64>,
    /// The number (reserved from `numbered`, final from `org_signed`).
    pub number: Option<i64>,
    /// The series year of the number.
    pub number_year: Option<i64>,
    /// The notation ("QĐ-UBND").
    pub notation: Option<String>,
    /// The document date (ISO `yyyy-mm-dd`, Vietnam time), set with the number.
    pub issued_date: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Document {
    /// "12/QĐ-UBND", once numbered.
    pub fn number_and_notation(&self) -> Option<String> {
        number_and_notation(self.number, self.notation.as_deref())
    }
}

/// "12/QĐ-UBND" from a stored number and notation, once both are there.
pub fn number_and_notation(number: Option<i64>, notation: Option<&str>) -> Option<String> {
    let n = u32::try_from(number?).ok()?;
    Some(format!(
        "{}/{}",
        kyso_domain::documents::number_text(n),
        notation?
    ))
}

/// What a version of a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// A draft uploaded by the drafter.
    Draft,
    /// The draft as the format step left it: checked, with the number and date fields placed.
    Formatted,
    /// The document with the competent person's signature.
    PersonallySigned,
    /// The document with its number, date and the organization signature: the issued file.
    OrgSigned,
}

impl VersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Draft => "draft",
            VersionKind::Formatted => "formatted",
            VersionKind::PersonallySigned => "personally_signed",
            VersionKind::OrgSigned => "org_signed",
        }
    }

    fn parse(s: &str) -> VersionKind {
        match s {
            "formatted" => VersionKind::Formatted,
            "personally_signed" => VersionKind::PersonallySigned,
            "org_signed" => VersionKind::OrgSigned,
            _ => VersionKind::Draft,
        }
    }
}

/// One stored version of a document's file.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub seq: i64,
    pub kind: VersionKind,
    /// Lowercase hex SHA-256 of the bytes: their name in the blob folder.
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub uploaded_by: i64,
    pub created_at: i64,
}

/// Largest file accepted for a document version or a copy.
pub const MAX_FILE: usize = 64 * 1024 * 1024;

pub(crate) fn blob_error(e: BlobError) -> Error {
    match e {
        BlobError::TooLarge { .. } => file_too_large(),
        e => Error::Database(sqlx::Error::Io(std::io::Error::other(e.to_string()))),
    }
}

fn file_too_large() -> Error {
    Error::invalid(
        "file",
        format!("Tệp quá lớn (tối đa {} MB).", MAX_FILE / (1024 * 1024)),
        format!(
            "The file is too large (at most {} MB).",
            MAX_FILE / (1024 * 1024)
        ),
    )
}

/// A PDF file as uploaded: not empty, not too large, starting with `%PDF-` (DOCX/ODT are
/// converted before they get here; the format check is the PDF side's).
pub(crate) fn check_pdf(bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_FILE {
        return Err(file_too_large());
    }
    if !bytes.starts_with(b"%PDF-") {
        return Err(Error::invalid(
            "file",
            "Tệp không phải PDF. Hãy tải lên tệp PDF (phiên bản 1.4 trở lên).",
            "The file is not a PDF. Upload a PDF file (version 1.4 or later).",
        ));
    }
    Ok(())
}

/// Store `bytes` in the blob store (off the async threads: it fsyncs or uploads).
pub(crate) async fn put_blob(blobs: &Blobs, bytes: &[u8]) -> Result<String> {
    let blobs = blobs.clone();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || blobs.put(&bytes))
        .await
        .map_err(|e| Error::Database(sqlx::Error::Io(std::io::Error::other(e.to_string()))))?
        .map_err(blob_error)
}

/// `bytes` written to a temporary blob and flushed (off the async threads), to be moved in
/// place later ([`StagedBlob::persist`], or [`StagedBlob::place`] inside a transaction).
pub(crate) async fn stage_blob(blobs: &Blobs, bytes: &[u8]) -> Result<StagedBlob> {
    let blobs = blobs.clone();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || blobs.stage(&bytes))
        .await
        .map_err(|e| Error::Database(sqlx::Error::Io(std::io::Error::other(e.to_string()))))?
        .map_err(blob_error)
}

/// The bytes of blob `name`, checked against it.
pub(crate) async fn get_blob(blobs: &Blobs, name: &str) -> Result<Vec<u8>> {
    let blobs = blobs.clone();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || blobs.get(&name))
        .await
        .map_err(|e| Error::Database(sqlx::Error::Io(std::io::Error::other(e.to_string()))))?
        .map_err(blob_error)
}

impl From<MetaError> for Error {
    fn from(e: MetaError) -> Self {
        Error::Invalid {
            field: e.field(),
            vi: e.message_vi(),
            en: e.message_en(),
        }
    }
}

/// Whether `actor` may take a step whose duty is `duty` on a document of the agency `agency_id`
/// with path `path`. Visibility comes first (*not found* outside what the actor may read).
pub(crate) fn check_duty(actor: &Actor, duty: Duty, agency_id: i64, path: &str) -> Result<()> {
    actor.reach(Permission::ReadDocuments, path, Record::Document)?;
    let allowed = if actor.is_system() {
        duty.reach == Reach::Subtree
    } else {
        actor.grants.iter().any(|g| {
            duty.granted_by(
                g.role,
                g.agency_id == agency_id,
                path.starts_with(g.path.as_str()),
            )
        })
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The duty of `action` from `state`, or the flow's typed refusal as a conflict on `state`
/// (a missing reason: invalid `reason`).
pub(crate) fn flow_refusal(e: kyso_domain::documents::FlowError) -> Error {
    match e {
        kyso_domain::documents::FlowError::ReasonRequired { .. } => Error::Invalid {
            field: "reason",
            vi: e.message_vi(),
            en: e.message_en(),
        },
        _ => Error::Conflict {
            field: "state",
            vi: e.message_vi(),
            en: e.message_en(),
        },
    }
}

pub(crate) const DOCUMENT_COLUMNS: &str = "d.id, d.agency_id, a.code, a.path, d.register_id, \
     d.state, d.meta, d.drafter_id, d.signer_id, d.number, d.number_year, d.notation, \
     d.issued_date, d.created_at, d.updated_at";

pub(crate) fn document_from(row: &AnyRow) -> Result<Document> {
    let state: String = row.try_get(5)?;
    let meta: String = row.try_get(6)?;
    Ok(Document {
        id: row.try_get(0)?,
        agency_id: row.try_get(1)?,
        agency_code: row.try_get(2)?,
        agency_path: row.try_get(3)?,
        register_id: row.try_get(4)?,
        state: DocState::parse(&state).map_err(|e| corrupt(&e.to_string()))?,
        meta: serde_json::from_str(&meta).map_err(|e| corrupt(&e.to_string()))?,
        drafter_id: row.try_get(7)?,
        signer_id: row.try_get(8)?,
        number: row.try_get(9)?,
        number_year: row.try_get(10)?,
        notation: row.try_get(11)?,
        issued_date: row.try_get(12)?,
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
    })
}

fn corrupt(what: &str) -> Error {
    Error::Database(sqlx::Error::Decode(
        format!("stored document: {what}").into(),
    ))
}

/// The copy form's stable name, parsed back from the database.
pub(crate) fn copy_form(s: &str) -> Result<CopyForm> {
    CopyForm::parse(s).map_err(|e| corrupt(&e.to_string()))
}

/// The action's name in the audit log: `document.<action>`.
pub(crate) fn audit_action(action: DocAction) -> String {
    format!("document.{}", action.as_str())
}

/// Load a document (no scope check: callers check).
pub(crate) async fn load_unchecked(store: &Store, id: i64) -> Result<Document> {
    let row = sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents d JOIN agencies a ON a.id = d.agency_id \
         WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    document_from(&row)
}
