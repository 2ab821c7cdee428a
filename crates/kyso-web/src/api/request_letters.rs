//! A request's letter as an outgoing document (issue 17 item 10):
//! `POST /api/v1/requests/{id}/document` makes it (then it goes through `/api/v1/documents…`
//! like any document, and its dispatch sends the request), and
//! `/api/v1/request-recipients` holds the identifier codes the letters are addressed to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kyso_store::documents as docs;
use kyso_store::requests::{self, RequestRecipients};
use serde::Deserialize;
use utoipa::ToSchema;

use super::documents::DocumentDetail;
use super::{ApiResult, Id};
use crate::auth::{Auth, Body};
use crate::AppState;

/// What the letter needs besides the request: who signs it and the drafting unit.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewLetterDocument {
    /// The leader who signs the letter: a signer of the requesting agency
    /// (`GET /api/v1/agencies/{id}/signers`).
    pub signer_id: i64,
    /// The drafting unit's abbreviation in the công văn's notation ("VP" in "12/SKHCN-VP").
    pub unit_abbrev: String,
}

/// Make the letter of an approved request: the Decree 68 form rendered as a draft công văn of
/// the requesting agency (its number blank before the notation, undated), addressed to the
/// handler's identifier code (`/api/v1/request-recipients`), as a new document in the draft
/// state. The caller must be both a signature officer of the agency (who may send the
/// request) and a drafter of its documents (403 naming the missing role otherwise). The
/// request is sent when that document is dispatched; `POST …/actions` with `send` is refused.
#[utoipa::path(post, path = "/api/v1/requests/{id}/document", tag = "requests", params(Id),
    request_body = NewLetterDocument,
    responses((status = 201, description = "The letter, a new document", body = DocumentDetail)))]
pub(crate) async fn make_letter_document(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<NewLetterDocument>,
) -> ApiResult<(StatusCode, Json<DocumentDetail>)> {
    let now = st.now();
    let d = requests::get_request(&st.store, &auth.actor, id, now).await?;
    let doc = crate::letters::make_letter_document(
        &st,
        &auth.actor,
        &d,
        input.signer_id,
        &input.unit_abbrev,
        now,
    )
    .await?;
    let detail = docs::get_document(&st.store, &auth.actor, doc.id).await?;
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// Where request letters go: the identifier codes of the Department and of the national CA
/// (empty when not set).
#[utoipa::path(get, path = "/api/v1/request-recipients", tag = "requests",
    responses((status = 200, description = "The codes", body = RequestRecipients)))]
pub(crate) async fn get_request_recipients(
    State(st): State<AppState>,
    _auth: Auth,
) -> ApiResult<Json<RequestRecipients>> {
    Ok(Json(requests::request_recipients(&st.store).await?))
}

/// Set where request letters go (the Department's administrators): identifier codes in
/// either form, kept dotted; an empty code unsets it.
#[utoipa::path(put, path = "/api/v1/request-recipients", tag = "requests",
    request_body = RequestRecipients,
    responses((status = 200, description = "The codes as kept", body = RequestRecipients)))]
pub(crate) async fn put_request_recipients(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<RequestRecipients>,
) -> ApiResult<Json<RequestRecipients>> {
    Ok(Json(
        requests::set_request_recipients(&st.store, &auth.actor, &input, st.now()).await?,
    ))
}
