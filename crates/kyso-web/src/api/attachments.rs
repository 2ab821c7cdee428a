//! Attachments of outgoing documents in separate files (issue 17 item 7) under
//! `/api/v1/documents/{id}/attachments…`: the drafter adds each one as a PDF while drafting,
//! the agency's clerk uploads it signed with the organization key and the Decree 30 attachment
//! stamp (`kyso agent`'s `SignAppendix`, or `kyso sign --form attachment`) once the document is
//! organization-signed and before dispatch, and the recipients of a dispatched document get
//! the signed files with it (`/api/v1/deliveries/{id}/attachments…`).
//!
//! The rules are `kyso_store::documents`'s (who, when, versions kept byte for byte; dispatch
//! refused while an attachment is unsigned); the signed file is checked here before the store
//! records it ([`check_and_sign`], shared with the web UI): `kyso_pades::upload::check_upload`
//! with [`Step::Attachment`] — the uploaded file is the stored one plus exactly one intact
//! signature by an organization certificate of the agency in the registry, nothing else
//! changed — and the new signature's stamp must show the document's own number and notation
//! (`kyso_pades::stamp`: an attachment stamped with another document's number is refused,
//! 422 `file`). The clerk's page signs through `kyso agent` with a one-time ticket
//! (`crate::agent_files`, VGCA `SignAppendix`), which ends in the same check. Files travel as
//! base64 in JSON and come back as PDF.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use kyso_pades::stamp;
use kyso_pades::upload::{self, ExpectedSignature, Step, UploadRefusal};
use kyso_store::blobs::Blobs;
use kyso_store::documents as docs;
use kyso_store::{Actor, Store};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::documents::{blobs, decode, pdf};
use super::{ApiResult, Id, Routes, Q};
use crate::auth::{Auth, Body};
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_list_attachments, _, _>(list_attachments)
        .add::<__path_add_attachment, _, _>(add_attachment)
        .add::<__path_attachment_file, _, _>(attachment_file)
        .add::<__path_sign_attachment, _, _>(sign_attachment)
        .add::<__path_delivered_attachments, _, _>(delivered_attachments)
        .add::<__path_delivered_attachment, _, _>(delivered_attachment)
}

/// One version of an attachment's file.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttachmentVersion {
    pub seq: i64,
    /// `draft` (as uploaded) or `org_signed` (signed by the clerk).
    pub kind: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub uploaded_by: i64,
    pub created_at: i64,
}

/// An attachment of a document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Attachment {
    pub id: i64,
    pub document_id: i64,
    /// Its order among the document's attachments: "Phụ lục 1", "Phụ lục 2" …
    pub position: i64,
    pub title: String,
    /// Whether its newest version is signed by the clerk with the organization key.
    pub signed: bool,
    pub added_by: i64,
    pub created_at: i64,
    pub versions: Vec<AttachmentVersion>,
}

impl From<docs::Attachment> for Attachment {
    fn from(a: docs::Attachment) -> Self {
        Attachment {
            signed: a.is_signed(),
            id: a.id,
            document_id: a.document_id,
            position: a.position,
            title: a.title,
            added_by: a.added_by,
            created_at: a.created_at,
            versions: a
                .versions
                .into_iter()
                .map(|v| AttachmentVersion {
                    seq: v.seq,
                    kind: v.kind.as_str().to_owned(),
                    sha256: v.sha256,
                    size: v.size,
                    file_name: v.file_name,
                    uploaded_by: v.uploaded_by,
                    created_at: v.created_at,
                })
                .collect(),
        }
    }
}

/// A new attachment: its title (the file's name when empty) and its PDF.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAttachment {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub file_name: String,
    pub file_base64: String,
}

/// The clerk's signed file of an attachment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignedAttachment {
    #[serde(default)]
    pub file_name: String,
    pub file_base64: String,
}

/// `{id}` and `{attachment_id}` of the path, with a clear message when they are not numbers.
#[derive(Debug)]
pub(crate) struct AttachmentPath {
    pub id: i64,
    pub attachment_id: i64,
}

impl utoipa::IntoParams for AttachmentPath {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::Required;
        [
            ("id", "The document's (or the delivery's) number"),
            ("attachment_id", "The attachment's number"),
        ]
        .into_iter()
        .map(|(name, what)| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(what))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
                ))
                .build()
        })
        .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AttachmentPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<(i64, i64)>::from_request_parts(parts, state)
            .await
            .map(|p| AttachmentPath {
                id: p.0 .0,
                attachment_id: p.0 .1,
            })
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    Some("id"),
                    "Mã số trong đường dẫn phải là số nguyên.",
                    "The ids in the path must be integers.",
                )
            })
    }
}

/// Check the clerk's signed file of an attachment and record it: the store's checks first
/// (the clerk of the agency, the document organization-signed and not dispatched, the
/// attachment unsigned), then [`upload::check_upload`] against the stored file with the
/// agency's organization certificates from the registry, then the store. One implementation
/// for the API and the web UI.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn check_and_sign(
    store: &Store,
    blobs: &Blobs,
    metrics: &crate::metrics::Metrics,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
    file_name: &str,
    uploaded: Vec<u8>,
    now: OffsetDateTime,
) -> ApiResult<docs::Attachment> {
    let (_, previous) = docs::attachment_to_sign(store, blobs, actor, id, attachment_id).await?;
    // The stamp must name this document: its final number and notation (the attachment is
    // signed only once the document is organization-signed, so it has one).
    let number = docs::get_document(store, actor, id)
        .await?
        .document
        .number_and_notation()
        .unwrap_or_default();
    let role = docs::SigningRole::Organization;
    let certificates: Vec<kyso_x509::Cert> =
        docs::signing_certificates(store, actor, id, role, now)
            .await?
            .iter()
            .filter_map(|d| kyso_x509::Cert::from_der(d).ok())
            .collect();
    if certificates.is_empty() {
        return Err(crate::documents::no_certificate(role));
    }
    let (checked, lines, uploaded) = check_stamped(
        metrics,
        "attachment",
        previous,
        uploaded,
        certificates,
        false,
    )
    .await?;
    if !stamp::carries_number(&lines, &number) {
        metrics.signature_verified("attachment", false);
        tracing::info!(
            document = id,
            attachment = attachment_id,
            "signed attachment refused: the stamp does not carry the document's number"
        );
        return Err(wrong_stamp(&number, &lines));
    }
    metrics.signature_verified("attachment", true);
    tracing::info!(document = id, attachment = attachment_id,
        signer = %checked.signer.subject_display(), "signed attachment accepted");
    Ok(docs::sign_attachment(
        store,
        blobs,
        actor,
        id,
        attachment_id,
        file_name,
        &uploaded,
        now,
    )
    .await?)
}

/// Check `uploaded` against the stored `previous`: exactly one new intact signature by one of
/// `certificates`, with its stamp and nothing else changed ([`Step::Attachment`]: an attachment,
/// or a copy of an issued document); with the text lines of its stamp. With `over_scan`, a
/// stamp over an unsigned previous version (a scan digitised) may cover the scanned page. A
/// refusal is counted in the metrics under `role` (the caller counts the acceptance once it
/// checked the stamp).
pub(crate) async fn check_stamped(
    metrics: &crate::metrics::Metrics,
    role: &'static str,
    previous: Vec<u8>,
    uploaded: Vec<u8>,
    certificates: Vec<kyso_x509::Cert>,
    over_scan: bool,
) -> ApiResult<(upload::UploadCheck, Vec<String>, Vec<u8>)> {
    let mut expected = ExpectedSignature::new(certificates, Step::Attachment);
    expected.may_cover_unsigned = over_scan;
    let checked = tokio::task::spawn_blocking(move || {
        let checked = upload::check_upload(&previous, &uploaded, &expected)?;
        let lines = stamp_of(&uploaded, &checked.field, &expected);
        Ok::<_, UploadRefusal>((checked, lines, uploaded))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, role, "upload check task failed");
        crate::documents::refusal(&UploadRefusal::Unreadable(
            "the check did not finish".into(),
        ))
    })?;
    checked.map_err(|r: UploadRefusal| {
        metrics.signature_verified(role, false);
        tracing::info!(role, refusal = %r, "signed upload refused");
        crate::documents::refusal(&r)
    })
}

/// The text lines of the new signature's stamp (none when it cannot be read: then it carries
/// no number either).
fn stamp_of(uploaded: &[u8], field: &str, expected: &ExpectedSignature) -> Vec<String> {
    let src: std::sync::Arc<dyn kyso_pdf::Source> =
        std::sync::Arc::new(kyso_pdf::MemSource::new(uploaded.to_vec()));
    kyso_pdf::Document::open(src, expected.limits.clone())
        .map_err(kyso_pades::Error::from)
        .and_then(|doc| stamp::stamp_lines(&doc, field))
        .unwrap_or_else(|e| {
            tracing::info!(error = %e, "the stamp of a signed attachment cannot be read");
            Vec::new()
        })
}

/// What a stamp shows, said in a refusal: "trên dấu ghi \"…\"" / "the stamp reads \"…\"".
pub(crate) fn stamp_reads(lines: &[String]) -> (String, String) {
    let shown: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .take(6)
        .collect();
    if shown.is_empty() {
        (
            "chữ ký không có dấu hiện trên trang".to_owned(),
            "the signature shows no stamp on the page".to_owned(),
        )
    } else {
        let s: String = shown.join(" / ").chars().take(300).collect();
        (
            format!("trên dấu ghi \"{s}\""),
            format!("the stamp reads \"{s}\""),
        )
    }
}

/// The refusal of a stamp that does not show the document's number and notation.
pub(crate) fn wrong_stamp(number: &str, lines: &[String]) -> ApiError {
    let (vi_shown, en_shown) = stamp_reads(lines);
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("file"),
        format!(
            "Dấu chữ ký số trên phụ lục phải ghi số, ký hiệu của văn bản này ({number}) theo \
             Nghị định 30; {vi_shown}. Hãy ký lại với mẫu chữ ký phụ lục ghi đúng số văn bản."
        ),
        format!(
            "The signature stamp on the attachment must show this document's number and \
             notation ({number}) as Decree 30 requires; {en_shown}. Sign again with the \
             attachment form naming the document's number."
        ),
    )
}

/// The attachments of a document, each with its versions.
#[utoipa::path(get, path = "/api/v1/documents/{id}/attachments", tag = "documents", params(Id),
    responses((status = 200, description = "The attachments, in order", body = Vec<Attachment>),
        (status = 404, description = "No such document, or not readable", body = super::dto::ErrorBody)))]
async fn list_attachments(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<Attachment>>> {
    let list = docs::list_attachments(&st.store, &auth.actor, id).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add an attachment (a PDF, kept byte for byte) to a document being drafted or returned, by
/// its drafter. Refused: 409 in another state, 422 not a PDF or too large, 403 not a drafter.
#[utoipa::path(post, path = "/api/v1/documents/{id}/attachments", tag = "documents", params(Id),
    request_body = NewAttachment,
    responses((status = 201, description = "The attachment", body = Attachment),
        (status = 409, description = "Not while the document is in this state", body = super::dto::ErrorBody),
        (status = 422, description = "Not a PDF, too large, a bad title", body = super::dto::ErrorBody)))]
async fn add_attachment(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<NewAttachment>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let file = decode("file_base64", &input.file_base64)?;
    let blobs = blobs(&st)?;
    let a = docs::add_attachment(
        &st.store,
        &blobs,
        &auth.actor,
        id,
        &docs::NewAttachment {
            title: input.title,
            file_name: input.file_name,
            file,
        },
        st.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// Which version of an attachment's file.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct VersionQuery {
    /// The version (default: the newest).
    pub seq: Option<i64>,
}

/// An attachment's file: the newest version, or the one named by `seq`.
#[utoipa::path(get, path = "/api/v1/documents/{id}/attachments/{attachment_id}/file",
    tag = "documents", params(AttachmentPath, VersionQuery),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = super::dto::BinaryFile),
        (status = 404, description = "No such attachment or version", body = super::dto::ErrorBody)))]
async fn attachment_file(
    State(st): State<AppState>,
    auth: Auth,
    p: AttachmentPath,
    Q(q): Q<VersionQuery>,
) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let (_, v, bytes) =
        docs::attachment_file(&st.store, &blobs, &auth.actor, p.id, p.attachment_id, q.seq).await?;
    Ok(pdf(&v.file_name, bytes))
}

/// The clerk's organization-signed attachment (the stored file plus one signature by the
/// agency's organization certificate, with the Decree 30 attachment stamp), after the document
/// is organization-signed and before dispatch. Refused: 422 when the upload check finds
/// anything else (another signer, a changed file, more than one signature …), 409 in another
/// state or when already signed, 403 not the agency's clerk.
#[utoipa::path(post, path = "/api/v1/documents/{id}/attachments/{attachment_id}/signed",
    tag = "documents", params(AttachmentPath),
    request_body = SignedAttachment,
    responses((status = 201, description = "The attachment with its signed version", body = Attachment),
        (status = 403, description = "Not the agency's clerk", body = super::dto::ErrorBody),
        (status = 409, description = "Not now, or already signed", body = super::dto::ErrorBody),
        (status = 422, description = "The signed file is refused", body = super::dto::ErrorBody)))]
async fn sign_attachment(
    State(st): State<AppState>,
    auth: Auth,
    p: AttachmentPath,
    Body(input): Body<SignedAttachment>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let file = decode("file_base64", &input.file_base64)?;
    let blobs = blobs(&st)?;
    let a = check_and_sign(
        &st.store,
        &blobs,
        &st.metrics,
        &auth.actor,
        p.id,
        p.attachment_id,
        &input.file_name,
        file,
        st.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// The signed attachments of a delivery's document, for the recipient agency.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/attachments", tag = "documents", params(Id),
    responses((status = 200, description = "The signed attachments, in order", body = Vec<Attachment>),
        (status = 409, description = "The document was recalled", body = super::dto::ErrorBody)))]
async fn delivered_attachments(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<Attachment>>> {
    let list = docs::delivered_attachments(&st.store, &auth.actor, id).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// A signed attachment of a delivery's document, for the recipient agency (a recalled delivery
/// is not served: 409).
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/attachments/{attachment_id}/file",
    tag = "documents", params(AttachmentPath),
    responses((status = 200, description = "The organization-signed PDF", content_type = "application/pdf", body = super::dto::BinaryFile),
        (status = 409, description = "The document was recalled", body = super::dto::ErrorBody)))]
async fn delivered_attachment(
    State(st): State<AppState>,
    auth: Auth,
    p: AttachmentPath,
) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let (a, bytes) =
        docs::delivered_attachment(&st.store, &blobs, &auth.actor, p.id, p.attachment_id).await?;
    let name = a.latest().map_or_else(
        || format!("phu-luc-{}.pdf", a.position),
        |v| v.file_name.clone(),
    );
    Ok(pdf(&name, bytes))
}
