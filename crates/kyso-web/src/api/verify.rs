//! `POST /api/v1/verify`: the verification service an e-office system or a portal calls
//! (issue 18 item 6). The body is the PDF itself (`application/pdf`) or a form with its `file`
//! (`multipart/form-data`); the answer is the `kyso.verify/1` document exactly as
//! `kyso verify --json` writes it (`kyso_services::report::to_json`, docs/verify-json.md),
//! from the one validation behind the pages (`crate::verifier::validate`: offline, the
//! server's trust anchors, so `online` is false). No authentication; the public page's cap,
//! rate per client address and bounds on work at once (`crate::rate_limit`). Nothing is
//! stored: the file streams to a temporary file (the cap counted as it comes, never whole in
//! memory), the validator reads it there, and it is removed on every way out.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::RefOr;

use super::Routes;
use crate::auth::Source;
use crate::multipart::FormError;
use crate::rate_limit::Refused;
use crate::verifier::{upload_name, validate_staged, Unchecked};
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's: the body limit is the document routes'
/// (the multipart reader counts it; a raw body is read up to [`crate::MAX_DOCUMENT_FILE`]).
pub(crate) fn routes(r: Routes) -> Routes {
    use axum::handler::Handler as _;
    r.add::<__path_verify, _, _>(verify.layer(axum::extract::DefaultBodyLimit::max(
        crate::MAX_DOCUMENT_BODY,
    )))
}

/// A `kyso.verify/1` report (docs/verify-json.md); its fields are only ever added.
#[derive(Debug)]
pub(crate) enum VerifyReport {}

impl utoipa::PartialSchema for VerifyReport {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        let strings = || ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let verdict = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["valid", "invalid", "indeterminate"]))
        };
        let signature = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("field", ObjectBuilder::new().schema_type(Type::String))
            .property(
                "kind",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["signature", "document_timestamp"])),
            )
            .property("verdict", verdict())
            .property("reasons", strings())
            .property(
                "etsi",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property("indication", ObjectBuilder::new().schema_type(Type::String))
                    .required("indication"),
            )
            .property("intact", ObjectBuilder::new().schema_type(Type::Boolean))
            .required("kind")
            .required("verdict")
            .required("reasons")
            .required("etsi")
            .required("intact");
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The `kyso.verify/1` report, exactly as `kyso verify --json` writes it \
                 (docs/verify-json.md): the document's verdict and reasons, then each \
                 signature's signer, role, integrity, signing time, revocation, changes after \
                 signing and ETSI EN 319 102-1 indication",
            ))
            .property(
                "schema",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["kyso.verify/1"])),
            )
            .property("file", ObjectBuilder::new().schema_type(Type::String))
            .property("verdict", verdict())
            .property("reasons", strings())
            .property(
                "validated_at",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .property("online", ObjectBuilder::new().schema_type(Type::Boolean))
            .property("signatures", ArrayBuilder::new().items(signature))
            .required("schema")
            .required("file")
            .required("verdict")
            .required("reasons")
            .required("validated_at")
            .required("online")
            .required("signatures")
            .into()
    }
}
impl utoipa::ToSchema for VerifyReport {}

/// The schema of a form's part that is a PDF file.
pub(super) fn pdf_part() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/pdf")
}

/// The form variant of the body: the PDF in `file`.
#[derive(Debug)]
pub(crate) enum VerifyUpload {}

impl utoipa::PartialSchema for VerifyUpload {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("file", pdf_part())
            .required("file")
            .into()
    }
}
impl utoipa::ToSchema for VerifyUpload {}

fn refused(r: Refused) -> Response {
    match r {
        Refused::RateLimited { retry_after } => {
            let mut res = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                None,
                format!(
                    "Quá nhiều yêu cầu kiểm tra từ địa chỉ này; xin thử lại sau {retry_after} giây."
                ),
                format!(
                    "Too many verification requests from this address; retry in {retry_after} s."
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Refused::Busy => busy(),
    }
}

fn busy() -> Response {
    let mut res = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        None,
        Unchecked::Busy.message(crate::Lang::Vi),
        Unchecked::Busy.message(crate::Lang::En),
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    res
}

pub(super) fn form_error(e: FormError) -> ApiError {
    let (vi, en) = e.texts();
    let code = match e {
        FormError::TooLarge { .. } => "too_large",
        FormError::Unreadable => "malformed",
        FormError::Storage => "internal",
    };
    ApiError::new(e.status(), code, None, vi, en)
}

/// Check the signatures of a PDF.
#[utoipa::path(post, path = "/api/v1/verify", tag = "verify", security(()),
    request_body(
        description = "The PDF as the body (`application/pdf`), or a form with it in `file`",
        content(
            (super::dto::BinaryFile = "application/pdf"),
            (VerifyUpload = "multipart/form-data"),
        )
    ),
    responses(
        (status = 200, description = "The `kyso.verify/1` report (its verdict may be valid, invalid or indeterminate)", body = VerifyReport),
        (status = 413, description = "The file is larger than 64 MB", body = super::dto::ErrorBody),
        (status = 415, description = "The body is neither `application/pdf` nor `multipart/form-data`", body = super::dto::ErrorBody),
        (status = 422, description = "Not a PDF, or one whose structure cannot be read: no verdict", body = super::dto::ErrorBody),
        (status = 429, description = "Too many requests from this address (`Retry-After`)", body = super::dto::ErrorBody),
        (status = 503, description = "The server stayed busy with other checks (`Retry-After`)", body = super::dto::ErrorBody),
    ))]
pub(crate) async fn verify(
    State(st): State<AppState>,
    Source(client): Source,
    req: Request,
) -> Response {
    let content_type = super::content_type(&req);
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/pdf") {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            None,
            "Nội dung gửi lên phải là tệp PDF (Content-Type: application/pdf) hoặc biểu mẫu multipart/form-data có trường file.",
            "The body must be the PDF (Content-Type: application/pdf) or a multipart/form-data form with a file field.",
        )
        .into_response();
    }
    let _slot = match st.verify_limits.admit(&client, st.now()).await {
        Ok(slot) => slot,
        Err(r) => {
            tracing::info!(client = %client, refused = ?r, "public verification refused");
            return refused(r);
        }
    };
    let blobs = match super::documents::blobs(&st) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let max = st.verify_limits.max_bytes;
    // The file streams to a temporary file of the blob folder, the cap counted as it comes;
    // dropped on every way out (the report, a refusal, the client gone), it is removed.
    let (file, name) = if multipart {
        let read = match Multipart::from_request(req, &st).await {
            Ok(mp) => {
                crate::multipart::read_streaming(
                    mp,
                    crate::MAX_DOCUMENT_BODY,
                    "file",
                    &blobs,
                    max as u64,
                )
                .await
            }
            Err(_) => Err(FormError::Unreadable),
        };
        match read {
            Ok(crate::multipart::StreamedForm {
                file: Some(file), ..
            }) => file,
            Ok(_) => {
                return ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    Some("file"),
                    "Thiếu tệp PDF trong trường file.",
                    "The form has no PDF in its file field.",
                )
                .into_response()
            }
            Err(e) => return form_error(e).into_response(),
        }
    } else {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return form_error(FormError::TooLarge { max }).into_response();
        }
        match crate::multipart::BlobSink::receive(blobs, req.into_body(), max as u64).await {
            Ok(Ok(file)) => (file, String::new()),
            Ok(Err(kyso_store::blobs::BlobError::OverCap { .. })) => {
                return form_error(FormError::TooLarge { max }).into_response()
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "an upload could not be written");
                return form_error(FormError::Storage).into_response();
            }
            Err(e) => {
                tracing::info!(error = %e, "an upload was cut off");
                return form_error(FormError::Unreadable).into_response();
            }
        }
    };
    let name = upload_name(&name, "upload.pdf");
    let size = file.size();
    match validate_staged(&st, &file, &name).await {
        Ok(r) => {
            tracing::info!(client = %client, size, verdict = r.verdict.as_str(), "public verification (API)");
            Json(kyso_services::report::to_json(&r, &name)).into_response()
        }
        Err(Unchecked::Unreadable(vi, en)) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable", None, vi, en)
                .into_response()
        }
        Err(Unchecked::Busy) => busy(),
        Err(Unchecked::Server) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
            "Lỗi máy chủ khi kiểm tra.",
            "A server error during the check.",
        )
        .into_response(),
    }
}
