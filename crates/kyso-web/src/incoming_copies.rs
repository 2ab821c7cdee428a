//! Copies signed for incoming documents through the signing service (issue 18 item 1 "scans
//! carry their copy stamp", issue 17 item 7 "Ký bản sao" on the incoming page), the receiving
//! agency's clerk signing with its organization key and the Decree 30 copy stamp — the same
//! VGCA `SignCopy` path as the copies of outgoing documents (`crate::agent_files`):
//!
//! - [`issue`]: the ticket. `digitise` — a scan waiting for the clerk, which must pass the scan
//!   check first (`crate::api::incoming_scan::scan_check_of`; refused with the check's reasons)
//!   — or `sign_copy` (SAO Y, SAO LỤC) of a registered incoming document. The store reserves the
//!   next number of the agency's copy series (shared with its outgoing documents' copies)
//!   with the ticket (`kyso_store::incoming::issue_incoming_copy_ticket`). A document delivered
//!   inside kyso is copied as the outgoing document it is: its ticket is
//!   `crate::agent_files::issue_copy`'s, the receiving agency copying.
//! - `GET /sign-agent/incoming/{id}/copy/file/{name}`: the file the copy extends (the scan, the
//!   received file, or the digitised copy), while the ticket is valid and its number reserved.
//! - `POST /sign-agent/incoming/{id}/copy/signed`: the signed copy, through [`check_and_sign`]
//!   — the upload check of the outgoing copies (`crate::agent_files::check_copy_upload`: one
//!   new intact signature by an organization certificate of the receiving agency in the
//!   registry, nothing else changed, the stamp showing the reserved number), then the signed
//!   copy verified as an arrival is (`crate::incoming::verify`: its report kept with it, and
//!   for a digitisation made the record's), then the store records it.
//!
//! The tickets are the outgoing copies' (`crate::agent_files`: claimed by the upload, given
//! back on a refusal, spent after a few); a ticket of another kind is refused on these routes
//! and these tickets on the others.

use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kyso_domain::documents::CopyForm;
use kyso_domain::incoming::{Channel, IncomingState};
use kyso_store::documents as docs;
use kyso_store::incoming::{self as inc, CopyPurpose};
use kyso_store::Actor;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::agent_files::{self as af, Claimed, Target};
use crate::auth::{Lang, Source};
use crate::{ApiError, AppState};

/// The operation of a digitisation's ticket request.
pub(crate) const DIGITISE: &str = "digitise";

/// What the page (or an integrator) asks a copy's ticket for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CopyTicketRequest {
    /// `digitise` (the electronic copy of a scanned paper document, SAO Y) or `sign_copy` (a
    /// copy of a registered incoming document).
    pub action: String,
    /// `sao_y` or `sao_luc` (`sign_copy`, required); `sao_y` for `digitise` (the default).
    #[serde(default)]
    pub form: Option<String>,
    /// The place name of the copy's date line.
    #[serde(default)]
    pub place: Option<String>,
}

fn invalid(field: &'static str, vi: &str, en: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some(field),
        vi.to_owned(),
        en.to_owned(),
    )
}

/// A ticket for the clerk `actor` of incoming record `id`'s receiving agency, as the page hands
/// it to the signing service (see the module's documentation).
pub(crate) async fn issue(
    st: &AppState,
    actor: &Actor,
    id: i64,
    req: &CopyTicketRequest,
) -> Result<Value, ApiError> {
    let purpose = match req.action.trim() {
        DIGITISE => CopyPurpose::Digitised,
        docs::SIGN_COPY => CopyPurpose::Copy,
        _ => {
            return Err(invalid(
                "action",
                "Thao tác là digitise (ký số bản số hóa) hoặc sign_copy (ký bản sao).",
                "The action is digitise (sign the digitised copy) or sign_copy (sign a copy).",
            ))
        }
    };
    let form = match (req.form.as_deref().map(str::trim), purpose) {
        (None | Some(""), CopyPurpose::Digitised) => CopyForm::SaoY,
        (None | Some(""), CopyPurpose::Copy) => {
            return Err(invalid(
                "form",
                "Hãy chọn hình thức sao: sao_y (SAO Y) hoặc sao_luc (SAO LỤC).",
                "Choose the copy form: sao_y or sao_luc.",
            ))
        }
        (Some(f), _) => CopyForm::parse(f).map_err(|_| {
            invalid(
                "form",
                "Hình thức sao không hợp lệ: sao_y (SAO Y) hoặc sao_luc (SAO LỤC).",
                "Unknown copy form: sao_y or sao_luc.",
            )
        })?,
    };
    let place = af::check_place(req.place.as_deref().unwrap_or_default())?;
    let d = inc::get_incoming(&st.store, actor, id).await?.incoming;
    // A document delivered inside kyso is copied as the outgoing document it is.
    if let (CopyPurpose::Copy, Channel::Internal, Some(source)) =
        (purpose, d.channel, d.source_document_id)
    {
        if matches!(
            d.state,
            IncomingState::Registered
                | IncomingState::Assigned
                | IncomingState::InProgress
                | IncomingState::Completed
        ) {
            return af::issue_copy(st, actor, source, d.agency_id, form, place).await;
        }
    }
    if purpose == CopyPurpose::Digitised {
        // Who may digitise it, before the scan is read; then the scan check.
        inc::may_copy_incoming(&st.store, actor, id, purpose).await?;
        let check = crate::api::incoming_scan::scan_check_of(st, actor, id).await?;
        if !check.passes {
            let errors = |vi: bool| {
                check
                    .findings
                    .iter()
                    .filter(|f| f.severity == "error")
                    .map(|f| {
                        if vi {
                            f.message_vi.as_str()
                        } else {
                            f.message_en.as_str()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("scan"),
                format!(
                    "Bản quét chưa đạt định dạng bản sao điện tử theo Nghị định 30, cần quét lại \
                     trước khi số hóa: {}",
                    errors(true)
                ),
                format!(
                    "The scan does not have the format of an electronic copy (Decree 30); scan \
                     it again before digitising it: {}",
                    errors(false)
                ),
            ));
        }
    }
    let now = st.now();
    let (ticket, r) =
        inc::issue_incoming_copy_ticket(&st.store, actor, id, purpose, form, now).await?;
    let token = af::ticket_token(st, actor, &ticket)?;
    let name = match purpose {
        CopyPurpose::Digitised => format!("ban-so-hoa-{}-{}.pdf", id, r.number),
        CopyPurpose::Copy => format!("ban-sao-{}-{}.pdf", form.abbreviation(), r.number),
    };
    Ok(json!({
        "operation": af::COPY_OPERATION,
        "action": req.action.trim(),
        "incoming_id": id,
        "agency_id": r.agency_id,
        "form": form.as_str(),
        "number": r.number,
        "notation": r.notation,
        "expires_at": ticket.expires_at,
        "request": af::agent_request(
            format!("/sign-agent/incoming/{id}/copy/file/{name}"),
            format!("/sign-agent/incoming/{id}/copy/signed"),
            &token,
            (json!(r.notation), None),
            &[
                ("IncomingId", json!(id)),
                ("Purpose", json!(purpose.as_str())),
                ("CopyForm", json!(form.as_str())),
                ("Place", json!(place)),
                ("Agency", json!(r.agency_name)),
            ],
        ),
    }))
}

/// Check the clerk's signed copy of `ticket` and record it: the store's checks first (the
/// clerk, the record's state, the number still reserved), the upload check against the file
/// the copy extends with the receiving agency's organization certificates and the stamp's
/// number, the signed copy's verification, then the store.
pub(crate) async fn check_and_sign(
    st: &AppState,
    blobs: &kyso_store::blobs::Blobs,
    actor: &Actor,
    ticket: &docs::Ticket,
    file_name: &str,
    uploaded: Vec<u8>,
) -> Result<inc::IncomingCopy, ApiError> {
    let now = st.now();
    let source = inc::incoming_copy_to_sign(&st.store, blobs, actor, ticket).await?;
    let certificates = inc::incoming_copy_certificates(&st.store, actor, ticket, now).await?;
    let notation = source.reservation.notation.clone();
    let uploaded =
        af::check_copy_upload(st, source.bytes, uploaded, &certificates, &notation).await?;
    let verification = crate::incoming::verify(st, &uploaded, file_name).await?;
    Ok(inc::sign_incoming_copy(
        &st.store,
        blobs,
        actor,
        ticket,
        file_name,
        &uploaded,
        &verification,
        now,
    )
    .await?)
}

/// The signing service's two routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-agent/incoming/{id}/copy/file/{name}", get(download))
        .route(
            "/sign-agent/incoming/{id}/copy/signed",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::MAX_DOCUMENT_BODY,
            )),
        )
}

/// The file the ticket's copy extends, while the clerk may still make it and its number is
/// reserved.
async fn download(
    State(st): State<AppState>,
    UrlPath((id, _name)): UrlPath<(i64, String)>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
) -> Response {
    let (ticket, actor) =
        match af::download_ticket(&st, &headers, lang, id, Target::IncomingCopy, &src).await {
            Ok(t) => t,
            Err(r) => return r,
        };
    let Some(blobs) = st.blobs.clone() else {
        return af::no_blobs(lang);
    };
    match inc::incoming_copy_to_sign(&st.store, &blobs, &actor, &ticket).await {
        Ok(s) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"ban-sao-{}-{}.pdf\"",
                        s.reservation.form.abbreviation(),
                        s.reservation.number
                    ),
                ),
            ],
            s.bytes,
        )
            .into_response(),
        Err(e) => af::store_refusal(lang, e),
    }
}

/// The clerk's signed copy of the ticket, through [`check_and_sign`].
async fn upload(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Claimed {
        ticket,
        actor,
        blobs,
        bytes,
        name,
    } = match af::claim_upload(&st, &headers, lang, id, Target::IncomingCopy, &src, mp).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let outcome = check_and_sign(
        &st,
        &blobs,
        &actor,
        &ticket,
        &af::safe_pdf_name(&name),
        bytes,
    )
    .await
    .map_err(|e| af::refuse(lang, af::file_refusal_status(e.status), &e.vi, &e.en));
    match outcome {
        // The store marked the ticket used with the copy, in the copy's transaction.
        Ok(c) => {
            tracing::info!(
                incoming = id,
                copy = c.id,
                purpose = c.purpose.as_str(),
                "signed copy of an incoming document accepted from the signing service"
            );
            af::vgca(
                StatusCode::OK,
                0,
                lang.pick(
                    "Máy chủ đã kiểm tra và nhận bản sao đã ký.",
                    "The server checked and accepted the signed copy.",
                ),
                json!({
                    "FileName": af::safe_pdf_name(&name),
                    "FileServer": format!("/incoming/{id}/copies/{}/file", c.id),
                    "IncomingId": id,
                    "CopyId": c.id,
                    "Purpose": c.purpose.as_str(),
                    "DocumentNumber": c.notation,
                }),
            )
        }
        Err(answer) => {
            af::give_back(&st, &actor, &ticket.jti, id).await;
            answer
        }
    }
}
