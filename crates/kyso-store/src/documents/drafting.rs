//! Drafting: a new document with its first version, later drafts, comments.

use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::audit::Event;
use crate::{On, WriteTx};

/// A new document: its metadata and the draft PDF.
#[derive(Debug, Clone, Default)]
pub struct NewDocument {
    pub agency_id: i64,
    pub meta: DocumentMeta,
    /// The person expected to sign (a signer of the agency), if already known.
    pub signer_id: Option<i64>,
    pub file_name: String,
    pub file: Vec<u8>,
}

/// A file name as kept with a version: the name given, trimmed, without a path, at most 200
/// characters (the attachment-name rule of NB2 applies to files sent out, not to drafts).
pub(crate) fn version_file_name(name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base = kyso_domain::documents::meta::text("file_name", base, false)?;
    let base: String = base.chars().take(200).collect();
    Ok(if base.is_empty() {
        "van-ban.pdf".to_owned()
    } else {
        base
    })
}

/// Insert version `seq` of a document.
pub(crate) async fn insert_version(
    tx: &mut WriteTx,
    document_id: i64,
    kind: VersionKind,
    sha256: &str,
    size: usize,
    file_name: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let user_id = tx.actor().user_id;
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM document_versions WHERE document_id = $1",
    )
    .bind(document_id)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO document_versions (document_id, seq, kind, sha256, size, file_name, \
         uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(document_id)
    .bind(seq)
    .bind(kind.as_str())
    .bind(sha256)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(file_name)
    .bind(user_id)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    Ok(seq)
}

/// Append a row to the document's timeline.
pub(crate) async fn insert_event(
    tx: &mut WriteTx,
    document_id: i64,
    action: &str,
    from: DocState,
    to: DocState,
    note: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let (user_id, username) = (tx.actor().user_id, tx.actor().username.clone());
    sqlx::query(
        "INSERT INTO document_events (document_id, action, from_state, to_state, user_id, actor, \
         note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(document_id)
    .bind(action)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(user_id)
    .bind(username)
    .bind(note)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether `user_id` holds the signer role at the agency `agency_id`.
pub(crate) async fn is_signer_of(store: &Store, user_id: i64, agency_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
         WHERE r.user_id = $1 AND r.agency_id = $2 AND r.role = 'signer' AND u.disabled = 0",
    )
    .bind(user_id)
    .bind(agency_id)
    .fetch_one(store.pool())
    .await?;
    Ok(n > 0)
}

fn not_a_signer() -> Error {
    Error::invalid(
        "signer_id",
        "Người ký được chọn không có thẩm quyền ký văn bản của cơ quan này.",
        "The chosen signer has no signing authority for this agency.",
    )
}

/// Upload a new document: the drafter's (or someone drafting above the agency) metadata and
/// draft PDF. Classified documents are refused before anything is stored.
pub async fn create_document(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewDocument,
    now: OffsetDateTime,
) -> Result<Document> {
    let meta = input.meta.check()?;
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadDocuments).await?;
    check_duty(actor, DocState::Draft.duty(), agency.id, &agency.path)?;
    check_pdf(&input.file)?;
    let file_name = version_file_name(&input.file_name)?;
    if let Some(signer) = input.signer_id {
        if !is_signer_of(store, signer, agency.id).await? {
            return Err(not_a_signer());
        }
    }
    let register = register_for(store, agency.id, meta.doc_type).await?;
    let sha = put_blob(blobs, &input.file).await?;
    let meta_json = serde_json::to_string(&meta).map_err(|e| super::corrupt(&e.to_string()))?;
    let nowu = now.unix_timestamp();
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::DraftDocument, &agency.path))
        .await?;
    let row = sqlx::query(
        "INSERT INTO documents (agency_id, register_id, state, doc_type, subject, meta, \
         drafter_id, signer_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(agency.id)
    .bind(register.id)
    .bind(DocState::Draft.as_str())
    .bind(meta.doc_type.as_str())
    .bind(&meta.subject)
    .bind(&meta_json)
    .bind(actor.user_id)
    .bind(input.signer_id)
    .bind(nowu)
    .fetch_one(tx.conn())
    .await?;
    let id: i64 = row.try_get(0)?;
    insert_version(
        &mut tx,
        id,
        VersionKind::Draft,
        &sha,
        input.file.len(),
        &file_name,
        now,
    )
    .await?;
    insert_event(
        &mut tx,
        id,
        "create",
        DocState::Draft,
        DocState::Draft,
        "",
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "document.create",
            object: format!("document:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"doc_type": meta.doc_type.as_str(), "subject": meta.subject,
                           "register_id": register.id, "sha256": sha,
                           "size": input.file.len()}),
        },
        now,
    )
    .await?;
    get_document(store, actor, id).await.map(|d| d.document)
}

/// A new draft of a document being drafted (or returned).
pub async fn add_draft(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    file_name: &str,
    file: &[u8],
    now: OffsetDateTime,
) -> Result<Version> {
    let doc = load_unchecked(store, id).await?;
    check_duty(
        actor,
        DocState::Draft.duty(),
        doc.agency_id,
        &doc.agency_path,
    )?;
    if !matches!(doc.state, DocState::Draft | DocState::Returned) {
        return Err(Error::conflict(
            "state",
            format!(
                "Văn bản đang ở bước \"{}\": chỉ thay dự thảo khi đang soạn hoặc bị trả lại.",
                doc.state.label_vi()
            ),
            format!(
                "The document is \"{}\": a draft is replaced only while drafting or after a \
                 return.",
                doc.state.label_en()
            ),
        ));
    }
    check_pdf(file)?;
    let file_name = version_file_name(file_name)?;
    let sha = put_blob(blobs, file).await?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::DraftDocument, &doc.agency_path),
        )
        .await?;
    let moved = sqlx::query("UPDATE documents SET updated_at = $1 WHERE id = $2 AND state = $3")
        .bind(now.unix_timestamp())
        .bind(id)
        .bind(doc.state.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if moved != 1 {
        return Err(moved_on());
    }
    let seq = insert_version(
        &mut tx,
        id,
        VersionKind::Draft,
        &sha,
        file.len(),
        &file_name,
        now,
    )
    .await?;
    insert_event(&mut tx, id, "draft", doc.state, doc.state, &file_name, now).await?;
    tx.commit_audited(
        Event {
            action: "document.draft",
            object: format!("document:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"seq": seq, "sha256": sha, "size": file.len()}),
        },
        now,
    )
    .await?;
    Ok(Version {
        seq,
        kind: VersionKind::Draft,
        sha256: sha,
        size: i64::try_from(file.len()).unwrap_or(i64::MAX),
        file_name,
        uploaded_by: actor.user_id,
        created_at: now.unix_timestamp(),
    })
}

pub(crate) fn moved_on() -> Error {
    Error::conflict(
        "state",
        "Văn bản vừa được người khác chuyển bước; hãy tải lại trang.",
        "Someone else has just moved the document on; reload.",
    )
}

/// A comment on a document, by anyone taking part in its flow in the agency (drafter, unit
/// head, format checker, signer, clerk); not on a recalled document.
pub async fn add_comment(
    store: &Store,
    actor: &Actor,
    id: i64,
    body: &str,
    now: OffsetDateTime,
) -> Result<Comment> {
    let doc = load_unchecked(store, id).await?;
    actor.reach(
        Permission::ReadDocuments,
        &doc.agency_path,
        Record::Document,
    )?;
    if !actor.can(Permission::CommentDocument, &doc.agency_path) {
        return Err(Error::Forbidden);
    }
    if doc.state == DocState::Recalled {
        return Err(flow_refusal(kyso_domain::documents::FlowError::Final {
            state: doc.state,
        }));
    }
    let body = kyso_domain::documents::meta::text("comment", body, true)?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::CommentDocument, &doc.agency_path),
        )
        .await?;
    let row = sqlx::query(
        "INSERT INTO document_comments (document_id, user_id, body, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id)
    .bind(actor.user_id)
    .bind(&body)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    let cid: i64 = row.try_get(0)?;
    insert_event(&mut tx, id, "comment", doc.state, doc.state, &body, now).await?;
    tx.commit_audited(
        Event {
            action: "document.comment",
            object: format!("document:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"comment_id": cid}),
        },
        now,
    )
    .await?;
    Ok(Comment {
        id: cid,
        user_id: actor.user_id,
        username: actor.username.clone(),
        body,
        created_at: now.unix_timestamp(),
    })
}
