//! `POST /api/v1/incoming/edxml`: an edXML package (QCVN 102:2016) taken in as an incoming
//! document (issue 18 item 1), through `crate::incoming_edxml::take_in_package` — the one path
//! the clerk's upload page uses too.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::incoming::IncomingOut;
use super::{ApiResult, Routes, Q};
use crate::auth::Auth;
use crate::incoming_edxml::{may_receive, take_in_package, too_large, MAX_PACKAGE};
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's: the body limit is the package's.
pub(crate) fn routes(r: Routes) -> Routes {
    use axum::handler::Handler as _;
    r.add::<__path_receive_edxml, _, _>(
        receive_edxml.layer(axum::extract::DefaultBodyLimit::max(MAX_PACKAGE)),
    )
}

/// Where the package is taken in.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct EdxmlQuery {
    /// The receiving agency: one of the package's `To` the caller takes documents in for.
    /// Needed only when the package is addressed to several of them.
    pub agency_id: Option<i64>,
}

/// Take in an edXML package from the document axis: the body is the package
/// (`application/xml`). Its header becomes the incoming record (From → sender code, name and
/// e-mail, Code → number and notation, PromulgationDate, DocumentType/TypeName, Subject,
/// SignerInfo; the rest and the whole package are kept beside it), its PDF attachment the
/// document, byte for byte, verified on arrival (channel `edxml`). The receiving agency is one
/// of its `To` the caller takes documents in for (`agency_id` when several). Refused, nothing
/// is stored: DTDs and entities (billion laughs, external entities), more than the size limits
/// (the attachment's size is read from its base64 before decoding), missing fields, bad
/// base64 — each with `code` and a Vietnamese and English message. The same document twice is
/// refused with 409 naming the earlier record.
#[utoipa::path(post, path = "/api/v1/incoming/edxml", tag = "incoming", params(EdxmlQuery),
    request_body(content = super::dto::BinaryFile, content_type = "application/xml",
        description = "The edXML package"),
    responses((status = 201, description = "Arrived and verified", body = IncomingOut),
        (status = 403, description = "The package is addressed to no agency the caller takes documents in for", body = super::dto::ErrorBody),
        (status = 409, description = "Already received", body = super::dto::ErrorBody),
        (status = 413, description = "The package is larger than the limit", body = super::dto::ErrorBody),
        (status = 415, description = "The body is not `application/xml`", body = super::dto::ErrorBody),
        (status = 422, description = "The package is refused (`code`: dtd, entity, malformed, missing_field, bad_base64, attachment_too_large, …) or addressed to several of the caller's agencies", body = super::dto::ErrorBody)))]
async fn receive_edxml(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<EdxmlQuery>,
    req: Request,
) -> ApiResult<(StatusCode, Json<IncomingOut>)> {
    // Who may not take documents in is refused before the body is read.
    may_receive(&auth.actor)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/xml") || content_type.starts_with("text/xml")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            None,
            "Nội dung gửi lên phải là gói edXML (Content-Type: application/xml).",
            "The body must be the edXML package (Content-Type: application/xml).",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > MAX_PACKAGE as u64) {
        return Err(too_large(n));
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_PACKAGE)
        .await
        .map_err(|_| too_large(MAX_PACKAGE as u64 + 1))?;
    let d = take_in_package(&st, &auth.actor, bytes.to_vec(), q.agency_id).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}
