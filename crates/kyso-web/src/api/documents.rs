//! Outgoing documents under `/api/v1/documents…` (issue 17): registers, upload, the flow's
//! steps, drafts, comments, versions, copies, and the deliveries a recipient agency received
//! and their download. The rules are `kyso_store::documents`'s, the checks of the files
//! `crate::documents`'s (conversion, format check and number/date fields, the upload check of
//! signed files); files travel as base64 in JSON (at most
//! [`kyso_store::documents::MAX_FILE`] bytes once decoded: the bodies that carry one may be
//! [`crate::MAX_DOCUMENT_JSON`] bytes, read after authentication) and come back as PDF.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use kyso_domain::documents::{CopyForm, DocAction, DocState, DocumentMeta};
use kyso_store::documents as docs;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, Id, Routes, Q};
use crate::auth::{Auth, Body};
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_list_documents, _, _>(list_documents)
        .add::<__path_create_document, _, _>(create_document)
        .add::<__path_get_document, _, _>(get_document)
        .add::<__path_document_action, _, _>(document_action)
        .add::<__path_add_draft, _, _>(add_draft)
        .add::<__path_add_comment, _, _>(add_comment)
        .add::<__path_version_file, _, _>(version_file)
        .add::<__path_make_copy, _, _>(make_copy)
        .add::<__path_list_copies, _, _>(list_copies)
        .add::<__path_list_signers, _, _>(list_signers)
        .add::<__path_list_registers, _, _>(list_registers)
        .add::<__path_create_register, _, _>(create_register)
        .add::<__path_list_deliveries, _, _>(list_deliveries)
        .add::<__path_delivered_file, _, _>(delivered_file)
}

/// The Decree 30 metadata of a document (`kyso_domain::documents::DocumentMeta`): `doc_type`
/// (`quyet_dinh`, `cong_van`, `to_trinh`, `bao_cao`, `ke_hoach`, `thong_bao` …), `subject`,
/// `place`, `signer` {`authority`: direct|tm|q|kt|tl|tuq, `principal_title`, `principal_name`,
/// `title`, `name`, `principal_id`}, `unit_abbrev`, `recipients` (identifier codes), `urgency`
/// (normal|urgent|very_urgent|flash), `confidentiality` (only `unclassified` is accepted),
/// `page_count`, `attachments` [{`title`, `pages`}]. With a `signer_id`, the signer's `name`
/// is that account's full name and a blank `title` its registry title; `principal_id` (KT.,
/// TL., TUQ. only) names the account of the person signed for, another signer of the agency,
/// whose full name becomes `principal_name` (a blank `principal_title`: their registry title).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub(crate) struct Meta(pub DocumentMeta);

/// A document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Document {
    pub id: i64,
    pub agency_id: i64,
    pub agency_code: String,
    pub register_id: i64,
    /// Its state's stable name (`draft`, `in_review`, `returned`, `forwarded`,
    /// `format_checked`, `approved`, `personally_signed`, `clerk_checked`, `numbered`,
    /// `org_signed`, `registered`, `dispatched`, `recalled`).
    pub state: String,
    /// The state as Vietnamese users read it.
    pub state_label: String,
    pub meta: Meta,
    pub drafter_id: i64,
    pub signer_id: Option<i64>,
    pub number: Option<i64>,
    pub number_year: Option<i64>,
    /// "12/QĐ-UBND", once numbered.
    pub number_and_notation: Option<String>,
    /// `yyyy-mm-dd`, once numbered.
    pub issued_date: Option<String>,
    /// The steps the document waits for, by stable name.
    pub next_actions: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<docs::Document> for Document {
    fn from(d: docs::Document) -> Self {
        Document {
            number_and_notation: d.number_and_notation(),
            next_actions: d
                .state
                .actions()
                .into_iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            id: d.id,
            agency_id: d.agency_id,
            agency_code: d.agency_code,
            register_id: d.register_id,
            state: d.state.as_str().to_owned(),
            state_label: d.state.label_vi().to_owned(),
            meta: Meta(d.meta),
            drafter_id: d.drafter_id,
            signer_id: d.signer_id,
            number: d.number,
            number_year: d.number_year,
            issued_date: d.issued_date,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A document with its versions, comments, timeline, deliveries, copies, released numbers and
/// recall (each list as `kyso_store::documents` records it).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DocumentDetail {
    pub document: Document,
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<docs::Version>,
    #[schema(value_type = Vec<Object>)]
    pub comments: Vec<docs::Comment>,
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<docs::TimelineEntry>,
    #[schema(value_type = Vec<Object>)]
    pub deliveries: Vec<docs::Delivery>,
    #[schema(value_type = Vec<Object>)]
    pub copies: Vec<docs::DocumentCopy>,
    #[schema(value_type = Vec<Object>)]
    pub number_releases: Vec<docs::NumberRelease>,
    #[schema(value_type = Option<Object>)]
    pub recall: Option<docs::Recall>,
}

impl From<docs::DocumentDetail> for DocumentDetail {
    fn from(d: docs::DocumentDetail) -> Self {
        DocumentDetail {
            document: d.document.into(),
            versions: d.versions,
            comments: d.comments,
            timeline: d.timeline,
            deliveries: d.deliveries,
            copies: d.copies,
            number_releases: d.number_releases,
            recall: d.recall,
        }
    }
}

/// A new document: metadata and the draft (PDF, or DOCX/ODT converted with LibreOffice).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDocument {
    pub agency_id: i64,
    pub meta: Meta,
    /// The person who signs (a signer of the agency): the approval and the personal signature
    /// are theirs alone, with their own certificate. Without it, whoever approves signs.
    #[serde(default)]
    pub signer_id: Option<i64>,
    #[serde(default)]
    pub file_name: String,
    /// The draft, base64: a PDF kept as uploaded, or a DOCX/ODT converted to PDF.
    pub file_base64: String,
}

/// A step of the flow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionInput {
    /// `submit`, `forward`, `return`, `check_format`, `approve`, `sign_personal`,
    /// `clerk_check`, `number`, `release_number`, `org_sign`, `register`, `dispatch`, `recall`;
    /// or `delegate`: the intended signer, before approval, hands the signature over to
    /// `delegate_id` in the form `authority` (`kt`, `tl`, `tuq`), recorded in the timeline.
    pub action: String,
    /// Required for `return`, `release_number` and `recall`.
    #[serde(default)]
    pub reason: String,
    /// The signed PDF (base64) for `sign_personal` and `org_sign`.
    #[serde(default)]
    pub file_base64: Option<String>,
    #[serde(default)]
    pub file_name: String,
    /// `delegate`: who signs instead (a signer of the document's agency).
    #[serde(default)]
    pub delegate_id: Option<i64>,
    /// `delegate`: `kt`, `tl` or `tuq`.
    #[serde(default)]
    pub authority: String,
    /// `delegate`: the office signed for; blank: the current signer's title.
    #[serde(default)]
    pub principal_title: String,
    /// `delegate`: the delegate's title; blank: their registry title.
    #[serde(default)]
    pub title: String,
}

/// What a step did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActionOutcome {
    pub number: Option<i64>,
    pub number_and_notation: Option<String>,
    pub version: Option<i64>,
    pub deliveries: usize,
    /// The format check's warnings (`check_format`; empty for the other steps).
    pub warnings: Vec<crate::documents::FormatWarning>,
    pub document: Document,
}

/// A file (a new draft).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileInput {
    #[serde(default)]
    pub file_name: String,
    pub file_base64: String,
}

/// A comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentInput {
    pub body: String,
}

/// A copy of an issued document, made by the clerk of `agency_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CopyInput {
    pub agency_id: i64,
    /// `sao_y`, `sao_luc` or `trich_sao`.
    pub form: String,
    #[serde(default)]
    pub file_name: String,
    pub file_base64: String,
    /// The pages of a TRÍCH SAO (`trich_sao`, required), e.g. `1-2,4`: the file must then be
    /// the extract of those pages of the issued version — as the server builds it
    /// (`kyso_pdf::extract`; the signing ticket's download serves it) — followed by its
    /// signature; the whole document is refused. Not allowed with the other forms.
    #[serde(default)]
    pub pages: Option<String>,
    /// What a TRÍCH SAO extracts, in the clerk's words (optional, at most 500 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// A copy, numbered in the copying agency's yearly series.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DocumentCopy {
    pub id: i64,
    pub document_id: i64,
    pub agency_id: i64,
    /// `sao_y`, `sao_luc` or `trich_sao`.
    pub form: String,
    pub year: i64,
    pub number: i64,
    /// "05/SY".
    pub notation: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub created_at: i64,
    /// A TRÍCH SAO's pages ("1-2,4"); `null` for the other forms.
    pub pages: Option<String>,
    /// What a TRÍCH SAO extracts, as the clerk wrote it.
    pub note: Option<String>,
}

impl DocumentCopy {
    fn of(c: docs::DocumentCopy, extract: Option<&docs::CopyExtract>) -> Self {
        DocumentCopy {
            id: c.id,
            document_id: c.document_id,
            agency_id: c.agency_id,
            form: c.form.as_str().to_owned(),
            year: c.year,
            number: c.number,
            notation: c.notation,
            sha256: c.sha256,
            size: c.size,
            file_name: c.file_name,
            created_at: c.created_at,
            pages: extract.map(|e| e.pages.clone()),
            note: extract.map(|e| e.note.clone()),
        }
    }
}

/// A register.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Register {
    #[serde(default)]
    pub id: i64,
    pub agency_id: i64,
    pub code: String,
    pub name: String,
    /// The issuer's abbreviation in notations ("UBND").
    pub issuer_abbrev: String,
    /// Document types by stable name; empty: every type no other register holds.
    #[serde(default)]
    pub doc_types: Vec<String>,
}

/// Filters of the document list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// Only this agency's documents.
    pub agency_id: Option<i64>,
    /// Only documents in this state (stable name).
    pub state: Option<String>,
    /// Only documents waiting for a step the caller may take.
    #[serde(default)]
    pub mine: bool,
    pub limit: Option<i64>,
}

fn invalid(field: &'static str, vi: String, en: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some(field),
        vi,
        en,
    )
}

pub(crate) fn decode(field: &'static str, b64: &str) -> ApiResult<Vec<u8>> {
    if b64.len() > docs::MAX_FILE / 3 * 4 + 4 {
        return Err(invalid(
            field,
            "Tệp quá lớn.".into(),
            "The file is too large.".into(),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            invalid(
                field,
                "Tệp phải được mã hóa base64.".into(),
                "The file must be base64-encoded.".into(),
            )
        })
}

pub(crate) fn blobs(st: &AppState) -> ApiResult<kyso_store::blobs::Blobs> {
    st.blobs.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            None,
            "Máy chủ chưa có thư mục lưu tệp; báo quản trị.".to_owned(),
            "The server has no file folder configured; tell the administrator.".to_owned(),
        )
    })
}

fn parse_named<T>(
    field: &'static str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, kyso_domain::UnknownName>,
    all: &[&str],
) -> ApiResult<T> {
    parse(value).map_err(|e| {
        invalid(
            field,
            format!("{}; chọn một trong: {}.", e.message_vi(), all.join(", ")),
            format!("{}; use one of: {}.", e.message_en(), all.join(", ")),
        )
    })
}

pub(crate) fn pdf(name: &str, bytes: Vec<u8>) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Documents the caller may read, newest change first ("Chờ tôi xử lý" with `mine=true`).
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", params(ListQuery),
    responses((status = 200, description = "The documents", body = Vec<Document>)))]
async fn list_documents(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<ListQuery>,
) -> ApiResult<Json<Vec<Document>>> {
    let names: Vec<&str> = DocState::ALL.iter().map(|s| s.as_str()).collect();
    let state = match q.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(parse_named("state", s, DocState::parse, &names)?),
    };
    let query = docs::DocumentQuery {
        agency_id: q.agency_id,
        state,
        mine: q.mine,
        limit: q.limit,
    };
    let list = docs::list_documents(&st.store, &auth.actor, &query).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Upload a new document (drafter): its Decree 30 metadata and the draft PDF. Classified
/// documents (mật, tối mật, tuyệt mật) are refused.
#[utoipa::path(post, path = "/api/v1/documents", tag = "documents",
    request_body = NewDocument,
    responses((status = 201, description = "Created", body = DocumentDetail)))]
async fn create_document(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<NewDocument, { crate::MAX_DOCUMENT_JSON }>,
) -> ApiResult<(StatusCode, Json<DocumentDetail>)> {
    let file = decode("file_base64", &input.file_base64)?;
    let file = crate::documents::draft_pdf(file).await?;
    let blobs = blobs(&st)?;
    let d = docs::create_document(
        &st.store,
        &blobs,
        &auth.actor,
        &docs::NewDocument {
            agency_id: input.agency_id,
            meta: input.meta.0,
            signer_id: input.signer_id,
            file_name: input.file_name,
            file,
        },
        st.now(),
    )
    .await?;
    let detail = docs::get_document(&st.store, &auth.actor, d.id).await?;
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// One document with its versions, comments, timeline, deliveries and copies.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", params(Id),
    responses((status = 200, description = "The document", body = DocumentDetail)))]
async fn get_document(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<DocumentDetail>> {
    Ok(Json(
        docs::get_document(&st.store, &auth.actor, id).await?.into(),
    ))
}

/// Take a step of the flow. Each step needs its role (the signer's and the clerk's only at
/// the document's own agency); a return, the release of a number and a recall need a reason.
/// `check_format` checks the latest draft (errors refuse; warnings come back in `warnings`)
/// and stores it with the number and date fields placed. `sign_personal` and `org_sign`
/// carry the signed PDF: it must be the previous version plus exactly one signature by a
/// certificate of the registry's subscriber for the step (the approving signer's own; the
/// agency's organization certificate, over the number and date reserved for the document),
/// else 422 naming why. `delegate` (the intended signer, before approval) names another signer
/// of the agency who signs instead, KT./TL./TUQ.: the personal signature is then checked
/// against the delegate's own certificate.
#[utoipa::path(post, path = "/api/v1/documents/{id}/actions", tag = "documents", params(Id),
    request_body = ActionInput,
    responses((status = 200, description = "What the step did", body = ActionOutcome)))]
async fn document_action(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<ActionInput, { crate::MAX_DOCUMENT_JSON }>,
) -> ApiResult<Json<ActionOutcome>> {
    if input.action.trim() == "delegate" {
        return delegate(&st, &auth, id, input).await.map(Json);
    }
    let mut names: Vec<&str> = DocAction::ALL.iter().map(|a| a.as_str()).collect();
    names.push("delegate");
    let action = parse_named("action", &input.action, DocAction::parse, &names)?;
    let file = match &input.file_base64 {
        Some(b64) => Some(decode("file_base64", b64)?),
        None => None,
    };
    let blobs = blobs(&st)?;
    let step = docs::StepInput {
        reason: input.reason,
        file,
        file_name: input.file_name,
        shown_number: None,
        findings: Vec::new(),
    };
    let done = crate::documents::take_step(&st, &blobs, &auth.actor, id, action, step).await?;
    let out = done.outcome;
    let document = docs::get_document(&st.store, &auth.actor, id)
        .await?
        .document;
    Ok(Json(ActionOutcome {
        number: out.number,
        number_and_notation: out.number_and_notation,
        version: out.version,
        deliveries: out.deliveries,
        warnings: done.warnings,
        document: document.into(),
    }))
}

/// The `delegate` action: the signature handed over, recorded (see `document_action`).
async fn delegate(
    st: &AppState,
    auth: &Auth,
    id: i64,
    input: ActionInput,
) -> ApiResult<ActionOutcome> {
    if input.file_base64.is_some() {
        return Err(invalid(
            "file_base64",
            "Giao ký thay không nhận tệp.".into(),
            "A delegation takes no file.".into(),
        ));
    }
    let names = ["kt", "tl", "tuq"];
    let authority = parse_named(
        "authority",
        &input.authority,
        kyso_domain::documents::SignAuthority::parse,
        &names,
    )?;
    let delegation = docs::Delegation {
        delegate_id: input.delegate_id.ok_or_else(|| {
            invalid(
                "delegate_id",
                "Hãy chọn người ký thay.".into(),
                "Name the delegate (delegate_id).".into(),
            )
        })?,
        authority,
        principal_title: input.principal_title,
        title: input.title,
        reason: input.reason,
    };
    let document =
        docs::delegate_signing(&st.store, &auth.actor, id, &delegation, st.now()).await?;
    Ok(ActionOutcome {
        number: None,
        number_and_notation: None,
        version: None,
        deliveries: 0,
        warnings: Vec::new(),
        document: document.into(),
    })
}

/// A new draft of a document being drafted or returned.
#[utoipa::path(post, path = "/api/v1/documents/{id}/drafts", tag = "documents", params(Id),
    request_body = FileInput,
    responses((status = 201, description = "The document with its new version", body = DocumentDetail)))]
async fn add_draft(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<FileInput, { crate::MAX_DOCUMENT_JSON }>,
) -> ApiResult<(StatusCode, Json<DocumentDetail>)> {
    let file = decode("file_base64", &input.file_base64)?;
    let file = crate::documents::draft_pdf(file).await?;
    let blobs = blobs(&st)?;
    docs::add_draft(
        &st.store,
        &blobs,
        &auth.actor,
        id,
        &input.file_name,
        &file,
        st.now(),
    )
    .await?;
    let detail = docs::get_document(&st.store, &auth.actor, id).await?;
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// Comment on a document (anyone taking part in its flow).
#[utoipa::path(post, path = "/api/v1/documents/{id}/comments", tag = "documents", params(Id),
    request_body = CommentInput,
    responses((status = 201, description = "The document with the comment", body = DocumentDetail)))]
async fn add_comment(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<CommentInput>,
) -> ApiResult<(StatusCode, Json<DocumentDetail>)> {
    docs::add_comment(&st.store, &auth.actor, id, &input.body, st.now()).await?;
    let detail = docs::get_document(&st.store, &auth.actor, id).await?;
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// Which version of a document's file.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct FileQuery {
    /// The version's number, from 1; the latest when absent.
    pub seq: Option<i64>,
}

/// The bytes of one version (the latest by default), re-hashed against their SHA-256 before
/// they are served.
#[utoipa::path(get, path = "/api/v1/documents/{id}/file", tag = "documents", params(Id, FileQuery),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn version_file(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(q): Q<FileQuery>,
) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let seq = match q.seq {
        Some(seq) => seq,
        None => docs::get_document(&st.store, &auth.actor, id)
            .await?
            .versions
            .last()
            .map_or(0, |v| v.seq),
    };
    let (v, bytes) = docs::version_file(&st.store, &blobs, &auth.actor, id, seq).await?;
    Ok(pdf(&v.file_name, bytes))
}

/// Make a copy (SAO Y, SAO LỤC, TRÍCH SAO) of an issued document uploaded already signed,
/// numbered in the copying agency's yearly series. The file is checked as a copy signed through
/// the signing service is: the issued document's latest version byte for byte, followed by one
/// signature of an organization certificate the registry holds for the copying agency, whose
/// copy stamp shows the copy's number — the next of the series (a copy signed with
/// `POST /documents/{id}/sign-ticket`, `sign_copy`, gets its number reserved first). A TRÍCH SAO
/// names its `pages`: the file must be the extract of those pages the server builds (as the
/// signing ticket's download serves it) followed by its signature — the whole document, a
/// page past the last or every page (a SAO Y) is refused. A refused file (422, naming what the
/// stamp showed and what it must show) releases the number at once.
#[utoipa::path(post, path = "/api/v1/documents/{id}/copies", tag = "documents", params(Id),
    request_body = CopyInput,
    responses((status = 201, description = "The copy", body = DocumentCopy),
              (status = 422, description = "Not the issued document (or extract) with the copying agency's signature and stamp", body = super::dto::ErrorBody)))]
async fn make_copy(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<CopyInput, { crate::MAX_DOCUMENT_JSON }>,
) -> ApiResult<(StatusCode, Json<DocumentCopy>)> {
    let names: Vec<&str> = CopyForm::ALL.iter().map(|f| f.as_str()).collect();
    let form = parse_named("form", &input.form, CopyForm::parse, &names)?;
    let file = decode("file_base64", &input.file_base64)?;
    let blobs = blobs(&st)?;
    let (pages, note) = (input.pages.as_deref(), input.note.as_deref());
    let extract =
        crate::extract_copies::requested(&st, &auth.actor, id, input.agency_id, form, pages, note)
            .await?;
    // The copy is numbered and checked as one signed through the signing service: a ticket
    // reserves the next number of the agency's series (with the extract for a TRÍCH SAO), the
    // upload must be the source (the issued version, or the extract) with one new signature by
    // the copying agency's organization certificate and the stamp showing that number; a refused
    // upload releases the number at once.
    let now = st.now();
    let agency_id = input.agency_id;
    let (ticket, _) = match &extract {
        Some(e) => {
            docs::issue_extract_ticket(&st.store, &blobs, &auth.actor, id, agency_id, e, now)
                .await?
        }
        None => docs::issue_copy_ticket(&st.store, &auth.actor, id, agency_id, form, now).await?,
    };
    let name = input.file_name.clone();
    let c = match crate::agent_files::check_and_sign_copy(
        &st,
        &blobs,
        &auth.actor,
        &ticket,
        &name,
        file,
    )
    .await
    {
        Ok(c) => c,
        Err(refused) => {
            if let Err(e) = docs::withdraw_copy_ticket(&st.store, &auth.actor, &ticket, now).await {
                tracing::warn!(error = %e, document = id, "copy number not released");
            }
            return Err(refused);
        }
    };
    let extract = match extract {
        Some(_) => docs::copy_extracts(&st.store, id)
            .await?
            .into_iter()
            .find(|e| e.copy_id == Some(c.id)),
        None => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(DocumentCopy::of(c, extract.as_ref())),
    ))
}

/// The copies of a document (SAO Y, SAO LỤC, TRÍCH SAO) with, for a TRÍCH SAO, its pages and
/// note, for whoever may read the document.
#[utoipa::path(get, path = "/api/v1/documents/{id}/copies", tag = "documents", params(Id),
    responses((status = 200, description = "The copies, oldest first", body = Vec<DocumentCopy>)))]
async fn list_copies(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<DocumentCopy>>> {
    let detail = docs::get_document(&st.store, &auth.actor, id).await?;
    let extracts = docs::copy_extracts(&st.store, id).await?;
    Ok(Json(
        detail
            .copies
            .into_iter()
            .map(|c| {
                let e = extracts.iter().find(|e| e.copy_id == Some(c.id));
                DocumentCopy::of(c, e)
            })
            .collect(),
    ))
}

fn register_out(r: docs::Register) -> Register {
    Register {
        id: r.id,
        agency_id: r.agency_id,
        code: r.code,
        name: r.name,
        issuer_abbrev: r.issuer_abbrev,
        doc_types: r.doc_types.iter().map(|t| t.as_str().to_owned()).collect(),
    }
}

/// A person who may sign an agency's documents.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Signer {
    /// The account: the value of `signer_id` and `meta.signer.principal_id`.
    pub user_id: i64,
    pub full_name: String,
    /// The title in the registry ('' when it holds none).
    pub title: String,
    /// "Nguyễn Văn An (Giám đốc)".
    pub label: String,
}

/// The people who may sign an agency's documents (the signer role there), by full name and
/// registry title: the choices of a new document's `signer_id` and `meta.signer.principal_id`,
/// and of a `delegate` step's `delegate_id`.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/signers", tag = "documents", params(Id),
    responses((status = 200, description = "The signers, by name", body = Vec<Signer>)))]
async fn list_signers(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<Signer>>> {
    let list = docs::agency_signers(&st.store, &auth.actor, id).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| Signer {
                label: s.label(),
                user_id: s.user_id,
                full_name: s.full_name,
                title: s.title,
            })
            .collect(),
    ))
}

/// The outgoing registers of an agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/document-registers", tag = "documents", params(Id),
    responses((status = 200, description = "The registers", body = Vec<Register>)))]
async fn list_registers(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<Register>>> {
    let list = docs::registers(&st.store, &auth.actor, id).await?;
    Ok(Json(list.into_iter().map(register_out).collect()))
}

/// Open an outgoing register (each document type in one register of the agency).
#[utoipa::path(post, path = "/api/v1/document-registers", tag = "documents",
    request_body = Register,
    responses((status = 201, description = "Created", body = Register)))]
async fn create_register(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<Register>,
) -> ApiResult<(StatusCode, Json<Register>)> {
    let names: Vec<&str> = kyso_domain::documents::DocType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let doc_types = input
        .doc_types
        .iter()
        .map(|t| {
            parse_named(
                "doc_types",
                t,
                kyso_domain::documents::DocType::parse,
                &names,
            )
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let r = docs::create_register(
        &st.store,
        &auth.actor,
        &docs::RegisterInput {
            agency_id: input.agency_id,
            code: input.code,
            name: input.name,
            issuer_abbrev: input.issuer_abbrev,
            doc_types,
        },
        st.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(register_out(r))))
}

/// The documents an agency received (its incoming queue until the incoming side exists).
#[utoipa::path(get, path = "/api/v1/agencies/{id}/deliveries", tag = "documents", params(Id),
    responses((status = 200, description = "The deliveries, newest first", body = Vec<Object>)))]
async fn list_deliveries(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<docs::Delivery>>> {
    Ok(Json(docs::deliveries_to(&st.store, &auth.actor, id).await?))
}

/// The issued file of a delivery, for the recipient agency (a recalled delivery is not served:
/// 409).
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/file", tag = "documents", params(Id),
    responses((status = 200, description = "The organization-signed PDF", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn delivered_file(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let (doc, bytes) = docs::delivered_file(&st.store, &blobs, &auth.actor, id).await?;
    let name = match (doc.number, doc.number_year) {
        (Some(n), Some(y)) => format!("{}-{n}-{y}.pdf", doc.agency_code),
        _ => format!("{}-{}.pdf", doc.agency_code, doc.id),
    };
    Ok(pdf(&name, bytes))
}
