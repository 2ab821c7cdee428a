//! Copies of incoming documents in the API (issue 18 item 1, issue 17 item 7): the ticket the
//! signing service signs a digitisation or a copy with (`crate::incoming_copies::issue`; the
//! page's script asks it too, with the session and its CSRF token), the copies made, and the
//! digitised copy of a scan.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use kyso_store::incoming::{self as inc, CopyPurpose};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::documents::{blobs, pdf};
use super::{ApiResult, Id, Routes};
use crate::auth::{Auth, Body};
use crate::incoming_copies::CopyTicketRequest;
use crate::AppState;

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_incoming_copy_ticket, _, _>(incoming_copy_ticket)
        .add::<__path_list_incoming_copies, _, _>(list_incoming_copies)
        .add::<__path_incoming_digitised_file, _, _>(incoming_digitised_file)
}

/// A signed copy of an incoming document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncomingCopyOut {
    pub id: i64,
    pub incoming_id: i64,
    /// The copying agency (the receiving agency).
    pub agency_id: i64,
    /// `digitised` (the electronic copy of a scanned paper document) or `copy`.
    pub purpose: String,
    /// `sao_y`, `sao_luc`.
    pub form: String,
    pub year: i64,
    pub number: i64,
    /// "05/SY": the number in the agency's copy series.
    pub notation: String,
    /// SHA-256 of the file the copy extends (the scan, the received file, the digitised copy).
    pub source_sha256: String,
    pub sha256: String,
    pub size: i64,
    /// The verification of the signed copy: `passed`, `indeterminate`, `failed`.
    pub verdict: String,
    pub reasons: Vec<String>,
    pub made_by: i64,
    pub created_at: i64,
}

impl From<inc::IncomingCopy> for IncomingCopyOut {
    fn from(c: inc::IncomingCopy) -> Self {
        IncomingCopyOut {
            id: c.id,
            incoming_id: c.incoming_id,
            agency_id: c.agency_id,
            purpose: c.purpose.as_str().to_owned(),
            form: c.form.as_str().to_owned(),
            year: c.year,
            number: c.number,
            notation: c.notation,
            source_sha256: c.source_sha256,
            sha256: c.sha256,
            size: c.size,
            verdict: c.verdict.as_str().to_owned(),
            reasons: c.reasons,
            made_by: c.made_by,
            created_at: c.created_at,
        }
    }
}

/// A one-time `SignCopy` ticket for the receiving agency's clerk: `digitise` a scanned paper
/// document waiting for the clerk (it must pass the scan check: 422 with the check's reasons),
/// or `sign_copy` (SAO Y, SAO LỤC) a registered incoming document. The next number of the
/// agency's copy series (shared with its outgoing documents' copies) is reserved with it; the
/// answer is the VGCA request the signing service (`kyso agent`) signs with the copy stamp. A
/// document delivered inside kyso is copied as the outgoing document it is (the ticket of
/// `POST /documents/{id}/sign-ticket`). 403 not the receiving agency's clerk, 404 not visible,
/// 409 not a scan, already digitised, not registered.
#[utoipa::path(post, path = "/api/v1/incoming/{id}/copy-ticket", tag = "incoming", params(Id),
    request_body = CopyTicketRequest,
    responses((status = 200, description = "The ticket and the signing service's request", body = Object),
              (status = 409, description = "Not a scan, already digitised, not registered", body = super::dto::ErrorBody),
              (status = 422, description = "The scan check failed, or a bad form or action", body = super::dto::ErrorBody)))]
async fn incoming_copy_ticket(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(req): Body<CopyTicketRequest>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        crate::incoming_copies::issue(&st, &auth.actor, id, &req).await?,
    ))
}

/// The signed copies of an incoming document (its digitised copy first made, then its copies).
#[utoipa::path(get, path = "/api/v1/incoming/{id}/copies", tag = "incoming", params(Id),
    responses((status = 200, description = "The copies", body = [IncomingCopyOut])))]
async fn list_incoming_copies(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Vec<IncomingCopyOut>>> {
    let copies = inc::incoming_copies(&st.store, &auth.actor, id).await?;
    Ok(Json(copies.into_iter().map(Into::into).collect()))
}

/// The digitised copy of a scanned paper document: the scan as received, signed by the
/// receiving agency with the SAO Y copy stamp (byte for byte as accepted). 409 when none.
#[utoipa::path(get, path = "/api/v1/incoming/{id}/digitised", tag = "incoming", params(Id),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = super::dto::BinaryFile),
              (status = 409, description = "Not digitised", body = super::dto::ErrorBody)))]
async fn incoming_digitised_file(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let copies = inc::incoming_copies(&st.store, &auth.actor, id).await?;
    let digitised = copies
        .into_iter()
        .find(|c| c.purpose == CopyPurpose::Digitised)
        .ok_or_else(|| {
            crate::ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                Some("scanned"),
                "Văn bản này chưa có bản số hóa (chỉ bản quét văn bản giấy được số hóa).",
                "This document has no digitised copy (only scans of paper documents are \
                 digitised).",
            )
        })?;
    let (c, bytes) =
        inc::incoming_copy_file(&st.store, &blobs, &auth.actor, id, digitised.id).await?;
    Ok(pdf(&c.file_name, bytes))
}
