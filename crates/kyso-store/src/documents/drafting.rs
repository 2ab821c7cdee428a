//! Drafting: a new document with its first version, later drafts, comments.

use serde_json::json;
use time::OffsetDateTime;

use kyso_domain::documents::{SignAuthority, SignerBlock};

use super::*;
use crate::audit::Event;
use crate::batch::Part;
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

/// Insert the next version of a document; its sequence number.
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
    let part = version_part(document_id, kind, sha256, size, file_name, user_id, now);
    Ok(part.run(tx).await?.1)
}

/// The INSERT of the next version of a document, giving back its sequence number (read in the
/// INSERT itself: one round trip inside the lock).
pub(crate) fn version_part(
    document_id: i64,
    kind: VersionKind,
    sha256: &str,
    size: usize,
    file_name: &str,
    user_id: i64,
    now: OffsetDateTime,
) -> Part {
    Part::new(
        "INSERT INTO document_versions (document_id, seq, kind, sha256, size, file_name, \
         uploaded_by, created_at) SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7 \
         FROM document_versions WHERE document_id = $1",
        vec![
            document_id.into(),
            kind.as_str().into(),
            sha256.into(),
            i64::try_from(size).unwrap_or(i64::MAX).into(),
            file_name.into(),
            user_id.into(),
            now.unix_timestamp().into(),
        ],
    )
    .returning("seq")
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
    event_part(tx.actor(), document_id, action, from, to, note, now)
        .run(tx)
        .await?;
    Ok(())
}

/// The INSERT of a row of the document's timeline, by `actor`.
pub(crate) fn event_part(
    actor: &Actor,
    document_id: i64,
    action: &str,
    from: DocState,
    to: DocState,
    note: &str,
    now: OffsetDateTime,
) -> Part {
    Part::new(
        "INSERT INTO document_events (document_id, action, from_state, to_state, user_id, actor, \
         note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            document_id.into(),
            action.into(),
            from.as_str().into(),
            to.as_str().into(),
            actor.user_id.into(),
            actor.username.as_str().into(),
            note.into(),
            now.unix_timestamp().into(),
        ],
    )
}

/// A person of an agency who may sign its documents (the signer role there, account not
/// disabled), as the upload form offers them: full name and title. The title is the registry's
/// — the individual subscriber of the agency with the account's e-mail, the same record whose
/// certificates the personal signature is checked against — and empty when it holds none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerChoice {
    pub user_id: i64,
    pub full_name: String,
    pub title: String,
}

impl SignerChoice {
    /// "Nguyễn Văn A (Giám đốc)", or the name alone without a title.
    pub fn label(&self) -> String {
        person_label(&self.full_name, &self.title)
    }
}

/// "Full name (title)", the name alone without a title.
pub(crate) fn person_label(full_name: &str, title: &str) -> String {
    if title.is_empty() {
        full_name.to_owned()
    } else {
        format!("{full_name} ({title})")
    }
}

/// SQL giving the title of account `user` (a column) from the registry: its individual
/// subscriber at agency `agency` (a column) with the same e-mail, the oldest if several; ''
/// when none.
pub(crate) fn title_sql(user: &str, agency: &str) -> String {
    format!(
        "COALESCE((SELECT s.title FROM subscribers s WHERE s.kind = 'individual' \
         AND s.agency_id = {agency} AND {user}.email <> '' \
         AND LOWER(s.email) = LOWER({user}.email) ORDER BY s.id LIMIT 1), '')"
    )
}

/// The signers of `agency_id` (`user_id` only, when given), by name.
async fn signers_of(
    store: &Store,
    agency_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<SignerChoice>> {
    let title = title_sql("u", "r.agency_id");
    sqlx::query(&format!(
        "SELECT u.id, u.full_name, {title} FROM user_roles r JOIN users u ON u.id = r.user_id \
         WHERE r.agency_id = $1 AND r.role = 'signer' AND u.disabled = 0 \
         AND ($2 = 0 OR u.id = $2) ORDER BY u.full_name, u.id"
    ))
    .bind(agency_id)
    .bind(user_id.unwrap_or(0))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(SignerChoice {
            user_id: r.try_get(0)?,
            full_name: r.try_get(1)?,
            title: r.try_get(2)?,
        })
    })
    .collect()
}

/// The people who may sign the documents of `agency_id`, for whoever may read them.
pub async fn agency_signers(
    store: &Store,
    actor: &Actor,
    agency_id: i64,
) -> Result<Vec<SignerChoice>> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    signers_of(store, agency.id, None).await
}

/// `user_id` as a signer of `agency_id`, if they are one.
pub(crate) async fn signer_of(
    store: &Store,
    user_id: i64,
    agency_id: i64,
) -> Result<Option<SignerChoice>> {
    Ok(signers_of(store, agency_id, Some(user_id))
        .await?
        .into_iter()
        .next())
}

fn not_a_signer(field: &'static str) -> Error {
    Error::invalid(
        field,
        "Người được chọn không có thẩm quyền ký văn bản của cơ quan này.",
        "The person chosen has no signing authority for this agency.",
    )
}

/// The signer block as the accounts make it: with an intended signer, the name printed is
/// their full name and a blank title is their registry title; with a principal (KT., TL.,
/// TUQ.), the same for the person signed for — who must be another signer of the agency.
async fn signer_block_of_accounts(
    store: &Store,
    agency_id: i64,
    signer_id: Option<i64>,
    mut block: SignerBlock,
) -> Result<SignerBlock> {
    if let Some(id) = signer_id {
        let s = signer_of(store, id, agency_id)
            .await?
            .ok_or_else(|| not_a_signer("signer_id"))?;
        block.name = s.full_name;
        if block.title.trim().is_empty() {
            block.title = s.title;
        }
    }
    if let Some(pid) = block.principal_id {
        if signer_id.is_none() {
            return Err(Error::invalid(
                "signer_id",
                "Khi ký thay (KT., TL., TUQ.), hãy chọn người trực tiếp ký văn bản.",
                "When signing for another (KT., TL., TUQ.), choose the person who signs.",
            ));
        }
        if signer_id == Some(pid) {
            return Err(Error::invalid(
                "signer.principal_id",
                "Người ký và người được ký thay phải là hai người khác nhau.",
                "The signer and the person signed for must be two different people.",
            ));
        }
        let p = signer_of(store, pid, agency_id)
            .await?
            .ok_or_else(|| not_a_signer("signer.principal_id"))?;
        block.principal_name = p.full_name;
        if block.principal_title.trim().is_empty() {
            block.principal_title = p.title;
        }
    }
    Ok(block)
}

/// A new document checked before it is written ([`check_new_document`]): its agency, its
/// checked metadata and register, and its draft already in the blob folder. Only
/// [`create_in`] writes it, for the actor it was checked for.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    checked_for: i64,
    agency_id: i64,
    agency_path: String,
    agency_code: String,
    register_id: i64,
    meta: DocumentMeta,
    signer_id: Option<i64>,
    file_name: String,
    sha256: String,
    size: usize,
}

impl CheckedDocument {
    /// The materialized path of the document's agency (what its write's scope check needs).
    pub fn agency_path(&self) -> &str {
        &self.agency_path
    }

    /// The identifier code (dotted) of the document's agency.
    pub fn agency_code(&self) -> &str {
        &self.agency_code
    }
}

/// The checks of a new document, before any write: a classified document is refused first,
/// then the agency must be readable and the actor its drafter, the signer a signer of it, the
/// metadata valid, the file a PDF and a register must hold the type. The draft's bytes are
/// then stored in the blob folder (named by their SHA-256, fsynced, outside the write lock);
/// nothing refers to them until [`create_in`]'s transaction commits.
pub async fn check_new_document(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewDocument,
) -> Result<CheckedDocument> {
    // A classified document is refused before anything else is looked at.
    if input.meta.confidentiality != kyso_domain::documents::Secrecy::Unclassified {
        input.meta.check()?;
    }
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadDocuments).await?;
    check_duty(actor, DocState::Draft.duty(), agency.id, &agency.path)?;
    let mut meta = input.meta.clone();
    meta.signer = signer_block_of_accounts(store, agency.id, input.signer_id, meta.signer).await?;
    let meta = meta.check()?;
    check_pdf(&input.file)?;
    let file_name = version_file_name(&input.file_name)?;
    let register = register_for(store, agency.id, meta.doc_type).await?;
    let sha256 = put_blob(blobs, &input.file).await?;
    Ok(CheckedDocument {
        checked_for: actor.user_id,
        agency_id: agency.id,
        agency_path: agency.path,
        agency_code: agency.code,
        register_id: register.id,
        meta,
        signer_id: input.signer_id,
        file_name,
        sha256,
        size: input.file.len(),
    })
}

/// Write a checked new document inside `tx` — its row, its first version, its timeline row
/// and its `document.create` audit entry — and return its id. Nothing of it is kept unless
/// the caller commits `tx`, so an operation that makes a document and more (a request's
/// letter) is one transaction. `tx` must belong to the actor the document was checked for,
/// who must (still) draft for its agency.
pub async fn create_in(
    tx: &mut WriteTx,
    doc: &CheckedDocument,
    now: OffsetDateTime,
) -> Result<i64> {
    let actor = tx.actor().clone();
    if actor.user_id != doc.checked_for {
        return Err(Error::Forbidden);
    }
    actor.may(On::Agency(Permission::DraftDocument, &doc.agency_path))?;
    let meta = &doc.meta;
    let meta_json = serde_json::to_string(meta).map_err(|e| super::corrupt(&e.to_string()))?;
    let row = sqlx::query(
        "INSERT INTO documents (agency_id, register_id, state, doc_type, subject, meta, \
         drafter_id, signer_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(doc.agency_id)
    .bind(doc.register_id)
    .bind(DocState::Draft.as_str())
    .bind(meta.doc_type.as_str())
    .bind(&meta.subject)
    .bind(&meta_json)
    .bind(actor.user_id)
    .bind(doc.signer_id)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    let id: i64 = row.try_get(0)?;
    insert_version(
        tx,
        id,
        VersionKind::Draft,
        &doc.sha256,
        doc.size,
        &doc.file_name,
        now,
    )
    .await?;
    insert_event(tx, id, "create", DocState::Draft, DocState::Draft, "", now).await?;
    crate::audit::append(
        tx,
        &actor,
        Event {
            action: "document.create",
            object: format!("document:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"doc_type": meta.doc_type.as_str(), "subject": meta.subject,
                           "register_id": doc.register_id, "sha256": doc.sha256,
                           "size": doc.size, "signer_id": doc.signer_id,
                           "authority": meta.signer.authority.as_str(),
                           "principal_id": meta.signer.principal_id}),
        },
        now,
    )
    .await?;
    Ok(id)
}

/// Upload a new document: the drafter's (or someone drafting above the agency) metadata and
/// draft PDF. Classified documents are refused before anything is stored. The checks
/// ([`check_new_document`]), then one write transaction ([`create_in`]).
pub async fn create_document(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewDocument,
    now: OffsetDateTime,
) -> Result<Document> {
    let checked = check_new_document(store, blobs, actor, input).await?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::DraftDocument, checked.agency_path()),
        )
        .await?;
    let id = create_in(&mut tx, &checked, now).await?;
    // The audit entry was appended by `create_in`, in this transaction.
    tx.commit().await?;
    get_document(store, actor, id).await.map(|d| d.document)
}

/// Document `id` for a change its drafter makes (the draft state's duty), only while it is being
/// drafted or after a return; `what_vi`/`what_en` name the change in the refusal ("thay dự
/// thảo", "a draft is replaced").
pub(super) async fn drafters_document(
    store: &Store,
    actor: &Actor,
    id: i64,
    what_vi: &str,
    what_en: &str,
) -> Result<Document> {
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
                "Văn bản đang ở bước \"{}\": chỉ {what_vi} khi đang soạn hoặc bị trả lại.",
                doc.state.label_vi()
            ),
            format!(
                "The document is \"{}\": {what_en} only while drafting or after a return.",
                doc.state.label_en()
            ),
        ));
    }
    Ok(doc)
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
    let doc = drafters_document(store, actor, id, "thay dự thảo", "a draft is replaced").await?;
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

/// A signature handed over by the intended signer to another signer of the agency.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Delegation {
    /// Who signs instead (a signer of the document's agency).
    pub delegate_id: i64,
    /// KT. (a deputy signs for the head), TL. (by order) or TUQ. (by written authorization).
    pub authority: SignAuthority,
    /// The office signed for, as printed ("Giám đốc"); blank: the current signer's title.
    pub principal_title: String,
    /// The delegate's own title ("Phó Giám đốc"); blank: their registry title.
    pub title: String,
    /// Why, or the decision that assigns it (kept in the timeline).
    pub reason: String,
}

/// States in which the intended signer may still hand the signature over: before approval.
fn may_delegate_in(state: DocState) -> bool {
    state.stage() <= DocState::FormatChecked.stage()
}

/// The intended signer hands the signature over to another signer of the agency, signing for
/// them in a delegated form (KT./TL./TUQ., Decree 30 art. 13): the delegate becomes the
/// document's signer — the only one who approves it and whose own certificate the personal
/// signature must be made with — and the signer block records who signs for whom and how.
/// Only the intended signer (the head it was drafted for) may do it, before approval, and a
/// delegate does not pass it on (a TUQ. may not be delegated again). The timeline and the
/// audit log record it.
pub async fn delegate_signing(
    store: &Store,
    actor: &Actor,
    id: i64,
    d: &Delegation,
    now: OffsetDateTime,
) -> Result<Document> {
    let doc = load_unchecked(store, id).await?;
    check_duty(
        actor,
        DocState::FormatChecked.duty(),
        doc.agency_id,
        &doc.agency_path,
    )?;
    if doc.signer_id != Some(actor.user_id) || doc.meta.signer.principal_id.is_some() {
        return Err(Error::Forbidden);
    }
    if !may_delegate_in(doc.state) {
        return Err(Error::conflict(
            "state",
            format!(
                "Văn bản đang ở bước \"{}\": chỉ giao ký thay trước khi duyệt.",
                doc.state.label_vi()
            ),
            format!(
                "The document is \"{}\": a signature is handed over only before approval.",
                doc.state.label_en()
            ),
        ));
    }
    if !d.authority.is_delegated() {
        return Err(Error::invalid(
            "authority",
            "Hình thức ký thay phải là KT. (ký thay), TL. (thừa lệnh) hoặc TUQ. (thừa ủy quyền).",
            "The delegated form must be KT. (deputy), TL. (by order) or TUQ. (by authorization).",
        ));
    }
    if d.delegate_id == actor.user_id {
        return Err(Error::invalid(
            "delegate_id",
            "Người ký thay phải là người khác.",
            "The delegate must be someone else.",
        ));
    }
    let reason = kyso_domain::documents::meta::text("reason", &d.reason, false)?;
    let principal_title = if d.principal_title.trim().is_empty() {
        doc.meta.signer.title.clone()
    } else {
        d.principal_title.clone()
    };
    let block = SignerBlock {
        authority: d.authority,
        principal_title,
        principal_name: String::new(),
        title: d.title.clone(),
        name: String::new(),
        principal_id: Some(actor.user_id),
    };
    let mut meta = doc.meta.clone();
    meta.signer = signer_block_of_accounts(store, doc.agency_id, Some(d.delegate_id), block)
        .await
        .map_err(|e| match e {
            Error::Invalid {
                field: "signer_id",
                vi,
                en,
            } => Error::Invalid {
                field: "delegate_id",
                vi,
                en,
            },
            e => e,
        })?;
    let meta = meta.check()?;
    let meta_json = serde_json::to_string(&meta).map_err(|e| super::corrupt(&e.to_string()))?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::SignDocument, &doc.agency_path),
        )
        .await?;
    let moved = sqlx::query(
        "UPDATE documents SET signer_id = $1, meta = $2, updated_at = $3 \
         WHERE id = $4 AND state = $5 AND signer_id = $6",
    )
    .bind(d.delegate_id)
    .bind(&meta_json)
    .bind(now.unix_timestamp())
    .bind(id)
    .bind(doc.state.as_str())
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(moved_on());
    }
    let s = &meta.signer;
    // "KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC — Trần Thị Bình (Phó Giám đốc) ký KT. (ký thay) cho
    // Nguyễn Văn An".
    let mut note = format!(
        "{} — {} ký {} cho {}",
        s.title_lines().join(" / "),
        person_label(&s.name, &s.title),
        s.authority.label_vi(),
        s.principal_name
    );
    if !reason.is_empty() {
        note.push_str(": ");
        note.push_str(&reason);
    }
    insert_event(&mut tx, id, "delegate", doc.state, doc.state, &note, now).await?;
    tx.commit_audited(
        Event {
            action: "document.delegate",
            object: format!("document:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"principal_id": actor.user_id, "delegate_id": d.delegate_id,
                           "authority": d.authority.as_str(), "reason": reason}),
        },
        now,
    )
    .await?;
    load_unchecked(store, id).await
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
