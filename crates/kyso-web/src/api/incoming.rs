//! Incoming documents (issue 18) under `/api/v1/incoming…`: integrators send a document with
//! its sender's metadata (`POST /api/v1/incoming`), the clerk uploads one received by e-mail or
//! scanned from paper (`…/upload`); every arrival is verified first (`crate::incoming`). The
//! queue shows the verdict and its reasons first; the clerk registers (the arrival number;
//! an indeterminate document only with a reason, an invalid one never) or refuses with a
//! reason that goes back to the sender; the leader assigns; the lead unit reports progress.
//! Files travel as base64 in JSON and come back as PDF. The rules are
//! `kyso_store::incoming`'s.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use kyso_domain::incoming::{Channel, IncomingAction, IncomingState};
use kyso_store::incoming as inc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::documents::{blobs, decode, pdf};
use super::{ApiResult, Id, Routes, Q};
use crate::auth::{Auth, Body};
use crate::incoming::{receive_streamed, take_in, take_in_staged, Arrival};
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    use axum::handler::Handler as _;
    // The raw form's body is counted against the configured cap as it streams
    // (`crate::incoming::receive_streamed`), the JSON form's by its reader: axum's default
    // limit is lifted for this route only.
    r.add::<__path_send_incoming, _, _>(
        send_incoming.layer(axum::extract::DefaultBodyLimit::disable()),
    )
    .add::<__path_upload_incoming, _, _>(upload_incoming)
    .add::<__path_list_incoming, _, _>(list_incoming)
    .add::<__path_get_incoming, _, _>(get_incoming)
    .add::<__path_incoming_file, _, _>(incoming_file)
    .add::<__path_incoming_report, _, _>(incoming_report)
    .add::<__path_incoming_report_pdf, _, _>(incoming_report_pdf)
    .add::<__path_register_incoming, _, _>(register_incoming)
    .add::<__path_refuse_incoming, _, _>(refuse_incoming)
    .add::<__path_assign_incoming, _, _>(assign_incoming)
    .add::<__path_incoming_status, _, _>(incoming_status)
}

/// A document sent in: the receiving agency, the sender's metadata and the PDF. As a JSON body
/// the file is in `file_base64`; beside a raw PDF body (`Content-Type: application/pdf`) the
/// same fields but the file are the query string's: UTF-8, percent-encoded (Vietnamese
/// subjects and names travel as they are, which HTTP headers cannot carry).
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SentDocument {
    /// The receiving agency (required).
    #[schema(value_type = i64, required = true)]
    #[serde(default)]
    pub agency_id: Option<i64>,
    /// The sender's identifier code (`G11.07.05`); this or `sender_name` is required.
    #[serde(default)]
    pub sender_code: String,
    #[serde(default)]
    pub sender_name: String,
    /// Where a refusal is e-mailed.
    #[serde(default)]
    pub sender_email: String,
    /// The number as printed ("12").
    #[serde(default)]
    pub number: String,
    /// The notation ("QĐ-UBND").
    #[serde(default)]
    pub notation: String,
    /// The document date, `yyyy-mm-dd`.
    #[serde(default)]
    pub doc_date: String,
    /// The type as the sender names it ("Công văn").
    #[serde(default)]
    pub doc_type: String,
    #[serde(default)]
    pub subject: String,
    /// Who signed it.
    #[serde(default)]
    pub signer: String,
    #[serde(default)]
    pub file_name: String,
    /// The PDF, base64 (the JSON body's; a raw body is the PDF itself).
    #[schema(value_type = String, required = true)]
    #[param(ignore)]
    #[serde(default)]
    pub file_base64: Option<String>,
    /// A paper document scanned (its copy carries the stamp): only the clerk's upload
    /// (`/api/v1/incoming/upload`) marks a scan; `true` is refused on `/api/v1/incoming`.
    #[serde(default)]
    pub scanned: bool,
}

impl SentDocument {
    /// The arrival of `file` on `channel` with this metadata; the receiving agency is required.
    fn arrival(self, channel: Channel, file: Vec<u8>) -> ApiResult<Arrival> {
        let Some(agency_id) = self.agency_id else {
            return Err(ApiError::from(kyso_store::Error::Invalid {
                field: "agency_id",
                vi: "Thiếu cơ quan nhận (agency_id).".into(),
                en: "The receiving agency is missing (agency_id).".into(),
            }));
        };
        Ok(Arrival {
            agency_id,
            channel,
            scanned: self.scanned,
            sender_code: self.sender_code,
            sender_name: self.sender_name,
            sender_email: self.sender_email,
            number: self.number,
            notation: self.notation,
            doc_date: self.doc_date,
            doc_type: self.doc_type,
            subject: self.subject,
            signer: self.signer,
            file_name: self.file_name,
            file,
            delivery_id: None,
        })
    }

    /// The arrival of the JSON body: its file decoded.
    fn json_arrival(mut self, channel: Channel) -> ApiResult<Arrival> {
        let file = match self.file_base64.take() {
            Some(b) => decode("file_base64", &b)?,
            None => {
                return Err(ApiError::from(kyso_store::Error::Invalid {
                    field: "file_base64",
                    vi: "Thiếu tệp PDF (file_base64).".into(),
                    en: "The PDF is missing (file_base64).".into(),
                }))
            }
        };
        self.arrival(channel, file)
    }
}

/// An incoming document as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncomingOut {
    pub id: i64,
    pub agency_id: i64,
    pub agency_code: String,
    /// `internal`, `upload`, `edxml` or `api`.
    pub channel: String,
    pub scanned: bool,
    /// `received`, `registered`, `refused`, `assigned`, `in_progress`, `completed`, `recalled`.
    pub state: String,
    /// The state as Vietnamese users read it.
    pub state_label: String,
    /// The edXML status code of the state (01, 02, 03, 04, 05, 06, 13).
    pub status_code: String,
    /// `passed`, `indeterminate` or `failed`.
    pub verdict: String,
    pub verdict_label: String,
    /// The verification's reason codes, most important first.
    pub reasons: Vec<String>,
    /// The reasons as Vietnamese users read them.
    pub reasons_text: Vec<String>,
    pub sender_code: String,
    pub sender_name: String,
    pub number_and_notation: String,
    pub doc_date: String,
    pub doc_type: String,
    pub subject: String,
    pub signer: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub has_report_pdf: bool,
    pub delivery_id: Option<i64>,
    pub source_document_id: Option<i64>,
    pub register_id: Option<i64>,
    pub arrival_year: Option<i64>,
    pub arrival_number: Option<i64>,
    pub arrived_at: i64,
    pub decision_note: String,
    pub lead_unit_id: Option<i64>,
    pub deadline: Option<String>,
    pub updated_at: i64,
}

impl From<inc::Incoming> for IncomingOut {
    fn from(d: inc::Incoming) -> Self {
        IncomingOut {
            number_and_notation: d.number_and_notation(),
            reasons_text: d
                .reasons
                .iter()
                .map(|r| kyso_services::report::reason_text(r, kyso_i18n::Lang::Vi))
                .collect(),
            id: d.id,
            agency_id: d.agency_id,
            agency_code: d.agency_code,
            channel: d.channel.as_str().to_owned(),
            scanned: d.scanned,
            state: d.state.as_str().to_owned(),
            state_label: d.state.label_vi().to_owned(),
            status_code: d.status_code,
            verdict: d.verdict.as_str().to_owned(),
            verdict_label: d.verdict.label_vi().to_owned(),
            reasons: d.reasons,
            sender_code: d.sender_code,
            sender_name: d.sender_name,
            doc_date: d.doc_date,
            doc_type: d.doc_type,
            subject: d.subject,
            signer: d.signer,
            sha256: d.sha256,
            size: d.size,
            file_name: d.file_name,
            has_report_pdf: d.report_pdf_sha256.is_some(),
            delivery_id: d.delivery_id,
            source_document_id: d.source_document_id,
            register_id: d.register_id,
            arrival_year: d.arrival_year,
            arrival_number: d.arrival_number,
            arrived_at: d.arrived_at,
            decision_note: d.decision_note,
            lead_unit_id: d.lead_unit_id,
            deadline: d.deadline,
            updated_at: d.updated_at,
        }
    }
}

/// An incoming document with its handling units, timeline and the steps the reader may take.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncomingDetailOut {
    pub incoming: IncomingOut,
    #[schema(value_type = Vec<Object>)]
    pub units: Vec<inc::HandlingUnit>,
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<inc::IncomingEvent>,
    /// `register`, `refuse`, `assign`, `start`, `complete`.
    pub actions: Vec<String>,
}

impl From<inc::IncomingDetail> for IncomingDetailOut {
    fn from(d: inc::IncomingDetail) -> Self {
        IncomingDetailOut {
            incoming: d.incoming.into(),
            units: d.units,
            timeline: d.timeline,
            actions: d.actions.iter().map(|a| a.as_str().to_owned()).collect(),
        }
    }
}

/// What a step did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StepOut {
    pub state: String,
    pub status_code: String,
    pub arrival_number: Option<i64>,
    pub register_id: Option<i64>,
    pub notified: usize,
    /// How a sender outside the registry is told (`edxml`, `email`, `manual`), when it is.
    pub status_message: Option<String>,
}

impl From<inc::IncomingOutcome> for StepOut {
    fn from(o: inc::IncomingOutcome) -> Self {
        StepOut {
            state: o.state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            status_code: o.status_code,
            arrival_number: o.arrival_number,
            register_id: o.register_id,
            notified: o.notified,
            status_message: o.status_message,
        }
    }
}

/// The clerk's registration: the register (default the agency's first) and, for an
/// indeterminate document, why it is accepted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterInput {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub register_id: Option<i64>,
}

/// A refusal and its reason (sent to the sender).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefuseInput {
    pub reason: String,
}

/// The leader's assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignInput {
    pub lead_unit_id: i64,
    #[serde(default)]
    pub coordinating_unit_ids: Vec<i64>,
    /// `yyyy-mm-dd`, not before today.
    pub deadline: String,
    #[serde(default)]
    pub note: String,
}

/// The lead unit's progress: `in_progress` (05) or `completed` (06).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusInput {
    pub status: String,
    #[serde(default)]
    pub note: String,
}

/// Filters of the queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ListQuery {
    /// Only this receiving agency's (its deliveries not yet arrived are taken in first).
    pub agency_id: Option<i64>,
    /// Only this state (default: all but refused and recalled).
    pub state: Option<String>,
    pub limit: Option<i64>,
}

fn not_a_scan(scanned: bool) -> ApiResult<()> {
    if scanned {
        return Err(ApiError::from(kyso_store::Error::Invalid {
            field: "scanned",
            vi: "Chỉ văn bản giấy do văn thư quét mới đánh dấu là bản quét.".into(),
            en: "Only a paper document scanned by the clerk is marked as a scan.".into(),
        }));
    }
    Ok(())
}

/// Send a document to an agency (integrators: another system's account holding the clerk's
/// role there). It is verified on arrival and waits in the clerk's queue; the same document
/// twice (same bytes, or same sender, number, notation and date) is refused with 409 naming
/// the earlier record.
///
/// Two forms. **JSON** (`application/json`): the metadata and the file in base64
/// (`SentDocument`, at most 64 MB of file). **Raw** (`application/pdf`): the PDF itself as the
/// body, the metadata in the query string — e.g. `curl -H 'Authorization: Bearer …'
/// -H 'Content-Type: application/pdf' --data-binary @cv.pdf
/// '…/api/v1/incoming?agency_id=3&sender_code=G11.07.05&sender_name=S%E1%BB%9F%20T%C3%A0i%20ch%C3%ADnh&number=12&notation=S%E1%BB%9F%20TC&doc_date=2026-12-01&subject=…'`.
/// The raw body is streamed to disk while its SHA-256 is computed and verified where it lies,
/// never held whole in memory, up to the server's cap (`kyso serve --incoming-max-mb`,
/// default 256 MB; a larger `Content-Length` is refused with 413 before it is read).
/// Refused, nothing of it is kept.
#[utoipa::path(post, path = "/api/v1/incoming", tag = "incoming",
    params(SentDocument),
    request_body(
        description = "The document with its metadata as JSON (file in base64), or the PDF \
            itself as the body with the metadata in the query string",
        content(
            (SentDocument = "application/json"),
            (super::dto::BinaryFile = "application/pdf"),
        )
    ),
    responses((status = 201, description = "Arrived and verified", body = IncomingOut),
        (status = 409, description = "Already received", body = super::dto::ErrorBody),
        (status = 413, description = "Larger than the server's cap (raw body) or 64 MB (JSON)", body = super::dto::ErrorBody),
        (status = 415, description = "The body is neither `application/json` nor `application/pdf`", body = super::dto::ErrorBody),
        (status = 422, description = "A field is missing or wrong, or the file is not a PDF", body = super::dto::ErrorBody)))]
async fn send_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Q(params): Q<SentDocument>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<IncomingOut>)> {
    use axum::extract::FromRequest as _;
    let content_type = super::content_type(&req);
    if content_type.starts_with("application/json") {
        let Body(input) =
            Body::<SentDocument, { crate::MAX_DOCUMENT_JSON }>::from_request(req, &st).await?;
        not_a_scan(input.scanned)?;
        let d = take_in(&st, &auth.actor, input.json_arrival(Channel::Api)?).await?;
        return Ok((StatusCode::CREATED, Json(d.into())));
    }
    if !content_type.starts_with("application/pdf") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            None,
            "Nội dung gửi lên phải là JSON (Content-Type: application/json) hoặc chính tệp PDF (Content-Type: application/pdf).",
            "The body must be JSON (Content-Type: application/json) or the PDF itself (Content-Type: application/pdf).",
        ));
    }
    not_a_scan(params.scanned)?;
    // The metadata (the agency required), before a byte of the body is read.
    let a = params.arrival(Channel::Api, Vec::new())?;
    let agency_id = a.agency_id;
    // Who may send there, before a byte of the body is read.
    let agency = kyso_store::registry::agency(
        &st.store,
        &auth.actor,
        agency_id,
        kyso_domain::roles::Permission::ReadDocuments,
    )
    .await?;
    auth.actor
        .reach(
            kyso_domain::roles::Permission::IssueDocument,
            &agency.path,
            kyso_store::Record::Agency,
        )
        .map_err(ApiError::from)?;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let staged = receive_streamed(&st, req.into_body(), declared, st.incoming_max).await?;
    let d = take_in_staged(&st, &auth.actor, a, staged).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// The clerk uploads a document received outside kyso: a PDF received by e-mail, or a paper
/// document scanned (`scanned`: its copy carries the stamp).
#[utoipa::path(post, path = "/api/v1/incoming/upload", tag = "incoming",
    request_body = SentDocument,
    responses((status = 201, description = "Arrived and verified", body = IncomingOut),
        (status = 409, description = "Already received", body = super::dto::ErrorBody)))]
async fn upload_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<SentDocument, { crate::MAX_DOCUMENT_JSON }>,
) -> ApiResult<(StatusCode, Json<IncomingOut>)> {
    let d = take_in(&st, &auth.actor, input.json_arrival(Channel::Upload)?).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// The incoming documents the caller may read: the queue first (invalid, then indeterminate,
/// then valid, with the reasons), then the others; with `agency_id`, that agency's only.
/// A read writes nothing: deliveries inside kyso arrive on the server's side after their
/// dispatch.
#[utoipa::path(get, path = "/api/v1/incoming", tag = "incoming", params(ListQuery),
    responses((status = 200, description = "The incoming documents", body = Vec<IncomingOut>)))]
async fn list_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<ListQuery>,
) -> ApiResult<Json<Vec<IncomingOut>>> {
    let state = match q.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(IncomingState::parse(s).map_err(|e| {
            ApiError::from(kyso_store::Error::Invalid {
                field: "state",
                vi: e.message_vi(),
                en: e.message_en(),
            })
        })?),
    };
    let query = inc::IncomingQuery {
        agency_id: q.agency_id,
        state,
        limit: q.limit,
    };
    let list = inc::list_incoming(&st.store, &auth.actor, &query).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One incoming document with its handling units, timeline and the caller's possible steps.
#[utoipa::path(get, path = "/api/v1/incoming/{id}", tag = "incoming", params(Id),
    responses((status = 200, description = "The incoming document", body = IncomingDetailOut)))]
async fn get_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<IncomingDetailOut>> {
    Ok(Json(
        inc::get_incoming(&st.store, &auth.actor, id).await?.into(),
    ))
}

/// The file as received, byte for byte (409 once the sender recalled it).
#[utoipa::path(get, path = "/api/v1/incoming/{id}/file", tag = "incoming", params(Id),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn incoming_file(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let (d, bytes) = inc::incoming_file(&st.store, &blobs, &auth.actor, id).await?;
    Ok(pdf(&d.file_name, bytes))
}

/// The `kyso.verify/1` report made on arrival.
#[utoipa::path(get, path = "/api/v1/incoming/{id}/report", tag = "incoming", params(Id),
    responses((status = 200, description = "The kyso.verify/1 report", body = Object)))]
async fn incoming_report(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<serde_json::Value>> {
    let blobs = blobs(&st)?;
    let (report, _) = inc::incoming_report(&st.store, &blobs, &auth.actor, id).await?;
    Ok(Json(report))
}

/// The report made on arrival as a Vietnamese PDF (404 when none could be made: an unreadable
/// file).
#[utoipa::path(get, path = "/api/v1/incoming/{id}/report.pdf", tag = "incoming", params(Id),
    responses((status = 200, description = "The report's PDF", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn incoming_report_pdf(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Response> {
    let blobs = blobs(&st)?;
    let (_, pdf_bytes) = inc::incoming_report(&st.store, &blobs, &auth.actor, id).await?;
    let bytes = pdf_bytes.ok_or(kyso_store::Error::NotFound {
        what: kyso_store::Record::Document,
    })?;
    Ok(pdf(&format!("bao-cao-kiem-tra-{id}.pdf"), bytes))
}

async fn step(
    st: &AppState,
    auth: &Auth,
    id: i64,
    action: IncomingAction,
    input: inc::IncomingStep,
) -> ApiResult<Json<StepOut>> {
    let out = crate::incoming::act(st, &auth.actor, id, action, &input).await?;
    Ok(Json(out.into()))
}

/// The clerk registers it: the next arrival number of the register. An invalid document is
/// refused (409 `verdict`); an indeterminate one needs the clerk's `reason` (422).
#[utoipa::path(post, path = "/api/v1/incoming/{id}/register", tag = "incoming", params(Id),
    request_body = RegisterInput,
    responses((status = 200, description = "Registered", body = StepOut)))]
async fn register_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<RegisterInput>,
) -> ApiResult<Json<StepOut>> {
    let input = inc::IncomingStep {
        reason: input.reason,
        register_id: input.register_id,
        ..Default::default()
    };
    step(&st, &auth, id, IncomingAction::Register, input).await
}

/// The clerk refuses it with a reason: inside kyso the sender's document page and clerks are
/// told; outside, a status message (edXML 02, or an e-mail) waits to be sent.
#[utoipa::path(post, path = "/api/v1/incoming/{id}/refuse", tag = "incoming", params(Id),
    request_body = RefuseInput,
    responses((status = 200, description = "Refused", body = StepOut)))]
async fn refuse_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<RefuseInput>,
) -> ApiResult<Json<StepOut>> {
    let input = inc::IncomingStep {
        reason: input.reason,
        ..Default::default()
    };
    step(&st, &auth, id, IncomingAction::Refuse, input).await
}

/// The leader assigns the lead unit, coordinating units and deadline (status 04).
#[utoipa::path(post, path = "/api/v1/incoming/{id}/assign", tag = "incoming", params(Id),
    request_body = AssignInput,
    responses((status = 200, description = "Assigned", body = StepOut)))]
async fn assign_incoming(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<AssignInput>,
) -> ApiResult<Json<StepOut>> {
    let input = inc::IncomingStep {
        reason: input.note,
        lead_unit_id: Some(input.lead_unit_id),
        coordinating_unit_ids: input.coordinating_unit_ids,
        deadline: Some(input.deadline),
        ..Default::default()
    };
    step(&st, &auth, id, IncomingAction::Assign, input).await
}

/// The lead unit's progress: `in_progress` (05) or `completed` (06).
#[utoipa::path(post, path = "/api/v1/incoming/{id}/status", tag = "incoming", params(Id),
    request_body = StatusInput,
    responses((status = 200, description = "Recorded", body = StepOut)))]
async fn incoming_status(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<StatusInput>,
) -> ApiResult<Json<StepOut>> {
    let action = match input.status.trim() {
        "in_progress" | "05" => IncomingAction::Start,
        "completed" | "06" => IncomingAction::Complete,
        other => {
            return Err(ApiError::from(kyso_store::Error::Invalid {
                field: "status",
                vi: format!(
                "Trạng thái \"{other}\" không hợp lệ; dùng in_progress (05) hoặc completed (06)."
            ),
                en: format!("Unknown status \"{other}\"; use in_progress (05) or completed (06)."),
            }))
        }
    };
    let input = inc::IncomingStep {
        reason: input.note,
        ..Default::default()
    };
    step(&st, &auth, id, action, input).await
}
