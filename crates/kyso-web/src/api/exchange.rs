//! The exchange connector of the provincial document axis (issue 18 item 3): the edXML status
//! messages of incoming documents that arrived from outside kyso — 02 refused with its reason,
//! 03 registered, 04 assigned, 05 being handled, 06 completed — waiting to be carried back to
//! their senders. The connector (an API token of an account that takes documents in: the
//! permission to issue documents at the receiving agency, its subtree) lists the pending ones
//! (`GET /api/v1/exchange/outbox`), fetches each as the edXML status message
//! `kyso_edxml::write_status` writes (`GET …/{id}`, audited read) and acknowledges its delivery
//! (`POST …/{id}/ack`, audited): delivered messages leave the list. Messages of agencies
//! outside the caller's scope are not found. The rules are `kyso_store::incoming`'s.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kyso_edxml as ed;
use kyso_store::incoming::{self as inc, OutboxMessage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::edxml::{agency_organization, organ_id, slash_date, timestamp};
use super::{ApiResult, Id, Routes, Q};
use crate::auth::Auth;
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_list_outbox, _, _>(list_outbox)
        .add::<__path_outbox_message, _, _>(outbox_message)
        .add::<__path_ack_outbox_message, _, _>(ack_outbox_message)
}

/// Filters of the outbox.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct OutboxQuery {
    /// Only the messages of this receiving agency.
    pub agency_id: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<i64>,
}

/// A status message waiting for the exchange connector.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OutboxItemOut {
    pub id: i64,
    /// The incoming document it reports on.
    pub incoming_id: i64,
    /// The receiving agency (the message's `From`).
    pub agency_id: i64,
    pub agency_code: String,
    /// The edXML status code: 02 refused, 03 registered, 04 assigned, 05 being handled,
    /// 06 completed.
    pub status_code: String,
    /// What the code means, in Vietnamese.
    pub status_label: String,
    /// The sender's identifier code (where the message goes).
    pub recipient: String,
    /// The refusal's reason or the step's note.
    pub description: String,
    pub number_and_notation: String,
    pub doc_date: String,
    pub subject: String,
    /// When the status was reached (Unix seconds).
    pub created_at: i64,
    /// When the connector acknowledged its delivery; absent while pending.
    pub delivered_at: Option<i64>,
    /// The message itself (`application/xml`).
    pub href: String,
}

impl From<OutboxMessage> for OutboxItemOut {
    fn from(m: OutboxMessage) -> Self {
        OutboxItemOut {
            status_label: code(&m).label_vi().to_owned(),
            number_and_notation: m.number_and_notation(),
            href: format!("/api/v1/exchange/outbox/{}", m.id),
            id: m.id,
            incoming_id: m.incoming_id,
            agency_id: m.agency_id,
            agency_code: m.agency_code,
            status_code: m.status_code,
            recipient: m.recipient,
            description: m.description,
            doc_date: m.doc_date,
            subject: m.subject,
            created_at: m.created_at,
            delivered_at: m.sent_at,
        }
    }
}

/// The answer to an acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AckOut {
    pub message: OutboxItemOut,
    /// Whether this call recorded the delivery (false: it was acknowledged before).
    pub acknowledged_now: bool,
}

fn code(m: &OutboxMessage) -> ed::StatusCode {
    m.status_code
        .trim()
        .parse::<u8>()
        .ok()
        .and_then(ed::StatusCode::from_number)
        .unwrap_or(ed::StatusCode::Unlisted(0))
}

/// The edXML status message of outbox row `m`: about the sender's document as its package
/// named it (`OrganId`, number/notation, date and `DocumentId` as received; for a document that
/// did not come as a package, its record's sender code in the 13-character form, `yyyy/MM/dd`
/// and the `DocumentId` built from them), from the receiving agency, with the code, the reason
/// or note (else the code's meaning), the time the status was reached (Vietnam time) and who
/// took the step.
pub(crate) async fn status_message(
    st: &AppState,
    m: &OutboxMessage,
) -> Result<ed::StatusMessage, ApiError> {
    let from = agency_organization(st, m.agency_id).await?;
    let code_text = m.number_and_notation();
    let (organ, date, document_id) = match &m.origin {
        Some(o) => (
            o.organ_id.clone(),
            o.promulgation_date.clone(),
            o.document_id.clone(),
        ),
        None => (
            organ_id(&m.sender_code),
            slash_date(&m.doc_date),
            String::new(),
        ),
    };
    let document_id = if document_id.is_empty() {
        ed::document_id(&organ, &date, &code_text)
    } else {
        document_id
    };
    let status_code = code(m);
    let description = if m.description.trim().is_empty() {
        status_code.label_vi().to_owned()
    } else {
        m.description.clone()
    };
    let at = time::OffsetDateTime::from_unix_timestamp(m.created_at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Ok(ed::StatusMessage {
        response_for: ed::ResponseFor {
            organ_id: organ,
            code: code_text,
            promulgation_date: date,
            document_id,
        },
        staff_info: ed::StaffInfo {
            department: from.organ_name.clone(),
            staff: m.staff_name.clone(),
            mobile: String::new(),
            email: m.staff_email.clone(),
        },
        from,
        status_code,
        description,
        timestamp: timestamp(at),
    })
}

/// The edXML status messages not delivered yet of the agencies the caller takes documents in
/// for, oldest first.
#[utoipa::path(get, path = "/api/v1/exchange/outbox", tag = "exchange", params(OutboxQuery),
    responses((status = 200, description = "The pending status messages", body = Vec<OutboxItemOut>)))]
async fn list_outbox(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<OutboxQuery>,
) -> ApiResult<Json<Vec<OutboxItemOut>>> {
    let list = inc::exchange_outbox(&st.store, &auth.actor, q.agency_id, q.limit).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One status message as edXML (QCVN 102:2016 `Status`: ResponseFor, From, StatusCode,
/// Description, Timestamp, StaffInfo), delivered or not. The read is audited.
#[utoipa::path(get, path = "/api/v1/exchange/outbox/{id}", tag = "exchange", params(Id),
    responses((status = 200, description = "The edXML status message", content_type = "application/xml",
        body = super::dto::BinaryFile)))]
async fn outbox_message(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let m = inc::exchange_message(&st.store, &auth.actor, id, st.now()).await?;
    let xml = ed::write_status(&status_message(&st, &m).await?);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"trang-thai-{id}.edxml\""),
            ),
        ],
        xml,
    )
        .into_response())
}

/// The connector delivered status message `id` to the sender's system: it leaves the pending
/// list. No body is needed. Acknowledging again changes nothing (`acknowledged_now` false).
#[utoipa::path(post, path = "/api/v1/exchange/outbox/{id}/ack", tag = "exchange", params(Id),
    responses((status = 200, description = "Delivery recorded", body = AckOut)))]
async fn ack_outbox_message(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<(StatusCode, Json<AckOut>)> {
    let (m, now) = inc::ack_exchange_message(&st.store, &auth.actor, id, st.now()).await?;
    Ok((
        StatusCode::OK,
        Json(AckOut {
            message: m.into(),
            acknowledged_now: now,
        }),
    ))
}
