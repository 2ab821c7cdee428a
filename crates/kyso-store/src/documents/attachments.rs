//! Attachments of an outgoing document in separate files (issue 17/7, Decree 30 "phụ lục kèm
//! theo"): each one a PDF kept byte for byte in the blob folder, its versions listed with the
//! document — the file as uploaded (`draft`), then the same file signed by the agency's clerk
//! with the organization key and the Decree 30 attachment stamp (`org_signed`).
//!
//! - Added by whoever drafts the document (the duty of the draft state) while it is being
//!   drafted or was returned: once approved, what the signer approved stays as it was.
//! - Signed by the clerk of the document's agency (the duty of the organization-signed state,
//!   BD-16.5) once the document itself is organization-signed (its number is final and the
//!   stamp carries it) and before dispatch. The signed file must keep the uploaded one as a
//!   byte-exact prefix; what is inside the signature (one organization signature, nothing
//!   else changed) is checked by the PDF side before [`sign_attachment`] is called
//!   (`kyso_pades::upload::Step::Attachment`).
//! - Dispatch refuses a document with an attachment not yet signed
//!   ([`refuse_unsigned_attachments`], called in the dispatch step's transaction); recipients
//!   get the signed attachments with the document ([`delivered_attachment`]).

use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::audit::Event;
use crate::{On, WriteTx};

/// Most attachments one document may have.
pub const MAX_ATTACHMENTS: i64 = 50;

/// What a version of an attachment's file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentVersionKind {
    /// The file as the drafter uploaded it.
    Draft,
    /// Signed by the clerk with the organization key (the Decree 30 attachment stamp).
    OrgSigned,
}

impl AttachmentVersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentVersionKind::Draft => "draft",
            AttachmentVersionKind::OrgSigned => "org_signed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "org_signed" => AttachmentVersionKind::OrgSigned,
            _ => AttachmentVersionKind::Draft,
        }
    }
}

/// One stored version of an attachment's file.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentVersion {
    pub seq: i64,
    pub kind: AttachmentVersionKind,
    /// Lowercase hex SHA-256 of the bytes: their name in the blob folder.
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub uploaded_by: i64,
    pub created_at: i64,
}

/// An attachment of a document with its versions (oldest first).
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: i64,
    pub document_id: i64,
    /// Its order among the document's attachments (1, 2, …): "Phụ lục 1".
    pub position: i64,
    pub title: String,
    pub added_by: i64,
    pub created_at: i64,
    pub versions: Vec<AttachmentVersion>,
}

impl Attachment {
    /// The newest version.
    pub fn latest(&self) -> Option<&AttachmentVersion> {
        self.versions.last()
    }

    /// Whether its newest version is signed by the clerk.
    pub fn is_signed(&self) -> bool {
        self.latest()
            .is_some_and(|v| v.kind == AttachmentVersionKind::OrgSigned)
    }
}

/// A new attachment: its title (the file's name when empty) and its PDF.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub title: String,
    pub file_name: String,
    pub file: Vec<u8>,
}

fn not_found() -> Error {
    Error::NotFound {
        what: Record::Document,
    }
}

/// The attachments of document `id` with their versions (no scope check: callers check).
async fn attachments_unchecked(store: &Store, id: i64) -> Result<Vec<Attachment>> {
    let pool = store.pool();
    let mut list: Vec<Attachment> = sqlx::query(
        "SELECT id, document_id, position, title, added_by, created_at \
         FROM document_attachments WHERE document_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Attachment {
            id: r.try_get(0)?,
            document_id: r.try_get(1)?,
            position: r.try_get(2)?,
            title: r.try_get(3)?,
            added_by: r.try_get(4)?,
            created_at: r.try_get(5)?,
            versions: Vec::new(),
        })
    })
    .collect::<Result<_>>()?;
    let rows = sqlx::query(
        "SELECT v.attachment_id, v.seq, v.kind, v.sha256, v.size, v.file_name, v.uploaded_by, \
         v.created_at FROM document_attachment_versions v \
         JOIN document_attachments a ON a.id = v.attachment_id \
         WHERE a.document_id = $1 ORDER BY v.attachment_id, v.seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    for r in &rows {
        let attachment_id: i64 = r.try_get(0)?;
        let version = AttachmentVersion {
            seq: r.try_get(1)?,
            kind: AttachmentVersionKind::parse(&r.try_get::<String, _>(2)?),
            sha256: r.try_get(3)?,
            size: r.try_get(4)?,
            file_name: r.try_get(5)?,
            uploaded_by: r.try_get(6)?,
            created_at: r.try_get(7)?,
        };
        if let Some(a) = list.iter_mut().find(|a| a.id == attachment_id) {
            a.versions.push(version);
        }
    }
    Ok(list)
}

/// The attachments of document `id`, for whoever may read it.
pub async fn list_attachments(store: &Store, actor: &Actor, id: i64) -> Result<Vec<Attachment>> {
    let doc = load_unchecked(store, id).await?;
    actor.reach(
        Permission::ReadDocuments,
        &doc.agency_path,
        Record::Document,
    )?;
    attachments_unchecked(store, id).await
}

/// One attachment of document `id` (*not found* when it belongs to another document).
pub async fn get_attachment(
    store: &Store,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
) -> Result<Attachment> {
    list_attachments(store, actor, id)
        .await?
        .into_iter()
        .find(|a| a.id == attachment_id)
        .ok_or_else(not_found)
}

/// The bytes of version `seq` (the newest when `None`) of an attachment, re-hashed against
/// their name.
pub async fn attachment_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
    seq: Option<i64>,
) -> Result<(Attachment, AttachmentVersion, Vec<u8>)> {
    let a = get_attachment(store, actor, id, attachment_id).await?;
    let v = match seq {
        Some(seq) => a.versions.iter().find(|v| v.seq == seq),
        None => a.latest(),
    }
    .cloned()
    .ok_or_else(not_found)?;
    let bytes = get_blob(blobs, &v.sha256).await?;
    Ok((a, v, bytes))
}

fn attachment_title(title: &str, file_name: &str) -> Result<String> {
    let title = kyso_domain::documents::meta::text("title", title, false)?;
    let title = if title.is_empty() {
        file_name.trim_end_matches(".pdf").to_owned()
    } else {
        title
    };
    if title.chars().count() > 500 {
        return Err(Error::invalid(
            "title",
            "Tên phụ lục dài quá 500 ký tự.",
            "The attachment's title is longer than 500 characters.",
        ));
    }
    Ok(title)
}

/// Insert version `kind` of attachment `attachment_id`; its sequence number.
async fn insert_attachment_version(
    tx: &mut WriteTx,
    attachment_id: i64,
    kind: AttachmentVersionKind,
    sha256: &str,
    size: usize,
    file_name: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let user_id = tx.actor().user_id;
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM document_attachment_versions \
         WHERE attachment_id = $1",
    )
    .bind(attachment_id)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO document_attachment_versions (attachment_id, seq, kind, sha256, size, \
         file_name, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(attachment_id)
    .bind(seq)
    .bind(kind.as_str())
    .bind(sha256)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(file_name)
    .bind(user_id)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await
    .map_err(crate::unique(
        "file",
        "Phụ lục vừa được người khác cập nhật; hãy tải lại trang.",
        "Someone else has just updated the attachment; reload.",
    ))?;
    Ok(seq)
}

/// The document must still be in `state` (nobody moved it on meanwhile); touches it.
async fn still_in(tx: &mut WriteTx, doc: &Document, now: OffsetDateTime) -> Result<()> {
    let moved = sqlx::query("UPDATE documents SET updated_at = $1 WHERE id = $2 AND state = $3")
        .bind(now.unix_timestamp())
        .bind(doc.id)
        .bind(doc.state.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if moved == 1 {
        Ok(())
    } else {
        Err(moved_on())
    }
}

/// Add an attachment to document `id`, by its drafter (the draft state's duty) while it is
/// being drafted or was returned. It comes last in the document's order.
pub async fn add_attachment(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    input: &NewAttachment,
    now: OffsetDateTime,
) -> Result<Attachment> {
    let doc = super::drafting::drafters_document(
        store,
        actor,
        id,
        "thêm phụ lục",
        "attachments are added",
    )
    .await?;
    check_pdf(&input.file)?;
    let file_name = version_file_name(&input.file_name)?;
    let title = attachment_title(&input.title, &file_name)?;
    let sha = put_blob(blobs, &input.file).await?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::DraftDocument, &doc.agency_path),
        )
        .await?;
    still_in(&mut tx, &doc, now).await?;
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM document_attachments WHERE document_id = $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    if position > MAX_ATTACHMENTS {
        return Err(Error::invalid(
            "file",
            format!("Một văn bản có tối đa {MAX_ATTACHMENTS} phụ lục."),
            format!("A document has at most {MAX_ATTACHMENTS} attachments."),
        ));
    }
    let attachment_id: i64 = sqlx::query_scalar(
        "INSERT INTO document_attachments (document_id, position, title, added_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(id)
    .bind(position)
    .bind(&title)
    .bind(actor.user_id)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "file",
        "Phụ lục vừa được thêm bởi người khác; hãy tải lại trang.",
        "Someone else has just added an attachment; reload.",
    ))?;
    let seq = insert_attachment_version(
        &mut tx,
        attachment_id,
        AttachmentVersionKind::Draft,
        &sha,
        input.file.len(),
        &file_name,
        now,
    )
    .await?;
    insert_event(
        &mut tx,
        id,
        "attachment",
        doc.state,
        doc.state,
        &format!("Phụ lục {position}: {title}"),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "document.attachment",
            object: format!("document:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"attachment_id": attachment_id, "position": position, "seq": seq,
                           "sha256": sha, "size": input.file.len()}),
        },
        now,
    )
    .await?;
    get_attachment(store, actor, id, attachment_id).await
}

/// Whether `actor` may sign attachment `attachment_id` of document `id` now, and the bytes
/// of its unsigned file (the version the signature must extend): checked before any work on
/// the uploaded file; [`sign_attachment`] checks it again.
pub async fn attachment_to_sign(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
) -> Result<(Attachment, Vec<u8>)> {
    let doc = load_unchecked(store, id).await?;
    let a = signable_attachment(store, actor, &doc, attachment_id).await?;
    let last = a.latest().ok_or_else(not_found)?;
    let bytes = get_blob(blobs, &last.sha256).await?;
    Ok((a, bytes))
}

/// The checks of [`attachment_to_sign`]: the clerk of the document's agency, the document
/// organization-signed and not yet dispatched, the attachment not yet signed. The signing
/// ticket of an attachment (`issue_attachment_ticket`) is issued on the same checks.
pub(super) async fn signable_attachment(
    store: &Store,
    actor: &Actor,
    doc: &Document,
    attachment_id: i64,
) -> Result<Attachment> {
    check_duty(
        actor,
        DocState::OrgSigned.duty(),
        doc.agency_id,
        &doc.agency_path,
    )?;
    let a = attachments_unchecked(store, doc.id)
        .await?
        .into_iter()
        .find(|a| a.id == attachment_id)
        .ok_or_else(not_found)?;
    if !matches!(doc.state, DocState::OrgSigned | DocState::Registered) {
        return Err(Error::conflict(
            "state",
            format!(
                "Văn bản đang ở bước \"{}\": phụ lục được ký số cơ quan sau khi văn bản đã ký số \
                 cơ quan (có số, ngày) và trước khi phát hành.",
                doc.state.label_vi()
            ),
            format!(
                "The document is \"{}\": attachments are signed with the organization key after \
                 the document itself (numbered and dated) and before dispatch.",
                doc.state.label_en()
            ),
        ));
    }
    if a.is_signed() {
        return Err(Error::conflict(
            "state",
            format!("Phụ lục {} đã được ký số cơ quan.", a.position),
            format!(
                "Attachment {} is already signed with the organization key.",
                a.position
            ),
        ));
    }
    Ok(a)
}

/// Record the clerk's organization-signed file of attachment `attachment_id` of document `id`.
/// `file` must be the attachment's unsigned file followed by incremental updates; its
/// signature is checked by the PDF side before this is called.
#[allow(clippy::too_many_arguments)]
pub async fn sign_attachment(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
    file_name: &str,
    file: &[u8],
    now: OffsetDateTime,
) -> Result<Attachment> {
    let doc = load_unchecked(store, id).await?;
    let a = signable_attachment(store, actor, &doc, attachment_id).await?;
    check_pdf(file)?;
    let last = a.latest().ok_or_else(not_found)?;
    let previous = get_blob(blobs, &last.sha256).await?;
    if file.len() <= previous.len() || !file.starts_with(&previous) {
        return Err(Error::invalid(
            "file",
            "Tệp phụ lục đã ký không giữ nguyên tệp trước (chữ ký số phải được thêm vào sau, \
             không sửa nội dung đã có).",
            "The signed attachment does not keep the previous file unchanged (a signature is \
             appended; what was there must stay byte for byte).",
        ));
    }
    let file_name = version_file_name(file_name)?;
    let sha = put_blob(blobs, file).await?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(DocState::OrgSigned.duty().permission, &doc.agency_path),
        )
        .await?;
    still_in(&mut tx, &doc, now).await?;
    // The version signed is still the newest (a second clerk's upload finds it signed).
    let newest: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(seq) FROM document_attachment_versions WHERE attachment_id = $1",
    )
    .bind(attachment_id)
    .fetch_one(tx.conn())
    .await?;
    if newest != Some(last.seq) {
        return Err(moved_on());
    }
    let seq = insert_attachment_version(
        &mut tx,
        attachment_id,
        AttachmentVersionKind::OrgSigned,
        &sha,
        file.len(),
        &file_name,
        now,
    )
    .await?;
    insert_event(
        &mut tx,
        id,
        "attachment_sign",
        doc.state,
        doc.state,
        &format!("Phụ lục {}: {}", a.position, a.title),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "document.attachment_sign",
            object: format!("document:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"attachment_id": attachment_id, "position": a.position, "seq": seq,
                           "sha256": sha, "size": file.len()}),
        },
        now,
    )
    .await?;
    get_attachment(store, actor, id, attachment_id).await
}

/// In the dispatch step's transaction: refuse while an attachment of `doc` is not signed by
/// the clerk (a recipient would get an unsigned file).
pub(crate) async fn refuse_unsigned_attachments(tx: &mut WriteTx, doc: &Document) -> Result<()> {
    let unsigned: Vec<i64> = sqlx::query_scalar(
        "SELECT a.position FROM document_attachments a WHERE a.document_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM document_attachment_versions v \
                         WHERE v.attachment_id = a.id AND v.kind = 'org_signed') \
         ORDER BY a.position",
    )
    .bind(doc.id)
    .fetch_all(tx.conn())
    .await?;
    if unsigned.is_empty() {
        return Ok(());
    }
    let list = unsigned
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::conflict(
        "attachments",
        format!("Phụ lục {list} chưa được văn thư ký số cơ quan; chưa phát hành được văn bản."),
        format!(
            "Attachment(s) {list} are not yet signed by the clerk with the organization key; the \
             document cannot be dispatched."
        ),
    ))
}

/// The signed attachments of a delivery's document, for the recipient agency (a recalled
/// delivery is not served).
pub async fn delivered_attachments(
    store: &Store,
    actor: &Actor,
    delivery_id: i64,
) -> Result<Vec<Attachment>> {
    let document_id = delivered_document(store, actor, delivery_id).await?;
    Ok(attachments_unchecked(store, document_id)
        .await?
        .into_iter()
        .filter(Attachment::is_signed)
        .collect())
}

/// The signed file of attachment `attachment_id` of a delivery's document, for the recipient.
pub async fn delivered_attachment(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    delivery_id: i64,
    attachment_id: i64,
) -> Result<(Attachment, Vec<u8>)> {
    let a = delivered_attachments(store, actor, delivery_id)
        .await?
        .into_iter()
        .find(|a| a.id == attachment_id)
        .ok_or_else(not_found)?;
    let v = a.latest().ok_or_else(not_found)?;
    let bytes = get_blob(blobs, &v.sha256).await?;
    Ok((a, bytes))
}

/// The document of a delivery the actor's agency received and may still read.
async fn delivered_document(store: &Store, actor: &Actor, delivery_id: i64) -> Result<i64> {
    let row = sqlx::query(
        "SELECT document_id, recipient_agency_id, state FROM document_deliveries WHERE id = $1",
    )
    .bind(delivery_id)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(not_found)?;
    let document_id: i64 = row.try_get(0)?;
    let agency_id: Option<i64> = row.try_get(1)?;
    let state: String = row.try_get(2)?;
    let agency_id = agency_id.ok_or_else(not_found)?;
    crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    if state == "recalled" {
        return Err(Error::conflict(
            "state",
            "Văn bản này đã bị cơ quan ban hành thu hồi.",
            "This document was recalled by its issuer.",
        ));
    }
    Ok(document_id)
}
