//! Reports (issue 21): the periods the Department opens (`/api/v1/report-periods`), where each
//! reporting agency stands in one (`/api/v1/report-standings`), and an agency's report of a
//! period — its figures computed from the registry while a draft, frozen once submitted — read,
//! saved and submitted under the agency (`/api/v1/agencies/{id}/report`). The rules and the
//! figures are the store's (`kyso_store::reports`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kyso_store::reports::{self, AgencyReport, NewPeriod, ReportInput, ReportPeriod, Standing};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, Id, Routes, Q};
use crate::auth::{Auth, Body};
use crate::AppState;

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_list_periods, _, _>(list_periods)
        .add::<__path_open_period, _, _>(open_period)
        .add::<__path_list_standings, _, _>(list_standings)
        .add::<__path_get_report, _, _>(get_report)
        .add::<__path_put_report, _, _>(put_report)
        .add::<__path_report_pdf, _, _>(report_pdf)
        .add::<__path_make_report_document, _, _>(make_report_document)
        .add::<__path_period_workbook, _, _>(period_workbook)
        .add::<__path_period_pdf, _, _>(period_pdf)
        .add::<__path_remind_late, _, _>(remind_late)
}

/// The periods, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PeriodList {
    items: Vec<ReportPeriod>,
}

/// Which period: the one given, else the newest.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PeriodChoice {
    /// A period's id; the newest one when absent.
    #[serde(default)]
    pub period_id: Option<i64>,
}

/// The period `choice` names, or the newest (404 when none was opened yet).
pub(crate) async fn chosen_period(
    st: &AppState,
    auth: &Auth,
    choice: Option<i64>,
) -> Result<ReportPeriod, crate::ApiError> {
    Ok(reports::period_or_newest(&st.store, &auth.actor, choice).await?)
}

/// The reporting periods the Department opened, newest first.
#[utoipa::path(get, path = "/api/v1/report-periods", tag = "reports",
    responses((status = 200, description = "The periods", body = PeriodList)))]
async fn list_periods(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<PeriodList>> {
    Ok(Json(PeriodList {
        items: reports::report_periods(&st.store, &auth.actor).await?,
    }))
}

/// Open a period (the Department): six-monthly (`year`, `half`), annual (`year`) or ad hoc
/// (`first_day`, `last_day`, its `questions`), with the day reports are due.
#[utoipa::path(post, path = "/api/v1/report-periods", tag = "reports",
    request_body = NewPeriod,
    responses((status = 201, description = "Opened", body = ReportPeriod)))]
async fn open_period(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<NewPeriod>,
) -> ApiResult<(StatusCode, Json<ReportPeriod>)> {
    let p = reports::open_period(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Where each reporting agency stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StandingList {
    period: ReportPeriod,
    items: Vec<Standing>,
}

/// Where each reporting agency the caller reads stands in a period (the newest by default):
/// submitted or not.
#[utoipa::path(get, path = "/api/v1/report-standings", tag = "reports", params(PeriodChoice),
    responses((status = 200, description = "The agencies and their reports' states", body = StandingList)))]
async fn list_standings(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<PeriodChoice>,
) -> ApiResult<Json<StandingList>> {
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let items = reports::standings(&st.store, &auth.actor, period.id).await?;
    Ok(Json(StandingList { period, items }))
}

/// The agency's report of a period (the newest by default): as submitted, or its draft with
/// the figures computed now.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/report", tag = "reports", params(Id, PeriodChoice),
    responses((status = 200, description = "The report", body = AgencyReport)))]
async fn get_report(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(q): Q<PeriodChoice>,
) -> ApiResult<Json<AgencyReport>> {
    let period = chosen_period(&st, &auth, q.period_id).await?;
    Ok(Json(
        reports::agency_report(&st.store, &auth.actor, period.id, id).await?,
    ))
}

/// What the agency's officer writes into its report, and whether to submit it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comments": "Đã cấp đủ chứng thư số cho lãnh đạo.", "needs": {"devices": 5}, "submit": false}))]
pub(crate) struct ReportBody {
    /// The period (the newest when absent).
    #[serde(default)]
    period_id: Option<i64>,
    #[serde(default)]
    comments: String,
    /// Next year's needs: `individual_certificates`, `organization_certificates`, `devices`,
    /// `renewals` (0–100000) and a `note`.
    #[serde(default)]
    #[schema(value_type = Object)]
    needs: kyso_domain::reports::Needs,
    /// The answers to an ad hoc period's questions.
    #[serde(default)]
    answers: String,
    /// Submit now: the figures are stored with the report and no longer change.
    #[serde(default)]
    submit: bool,
}

/// Save the agency's report (its comments, next year's needs, answers), or submit it (409
/// when it was submitted already).
#[utoipa::path(put, path = "/api/v1/agencies/{id}/report", tag = "reports", params(Id),
    request_body = ReportBody,
    responses((status = 200, description = "Saved or submitted", body = AgencyReport)))]
async fn put_report(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(body): Body<ReportBody>,
) -> ApiResult<Json<AgencyReport>> {
    let period = chosen_period(&st, &auth, body.period_id).await?;
    Ok(Json(
        reports::save_report(
            &st.store,
            &auth.actor,
            period.id,
            id,
            &ReportInput {
                comments: body.comments,
                needs: body.needs,
                answers: body.answers,
            },
            body.submit,
            st.now(),
        )
        .await?,
    ))
}

/// The agency's report of a period (the newest by default) as a PDF: the sealed file once its
/// document was dispatched to the Department (signed by the agency's leader and sealed by its
/// clerk), else a preview of the report as it stands — unsigned, its number and signer blank.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/report.pdf", tag = "reports", params(Id, PeriodChoice),
    responses((status = 200, description = "The report", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn report_pdf(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(q): Q<PeriodChoice>,
) -> Result<axum::response::Response, crate::ApiError> {
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let (name, bytes) =
        crate::report_documents::agency_report_pdf(&st, &auth.actor, period.id, id).await?;
    Ok(super::register_export::pdf_response(&name, bytes))
}

/// Who signs the report's document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReportDocument {
    /// The period (the newest when absent).
    #[serde(default)]
    period_id: Option<i64>,
    /// The leader who signs the report: a signer of the agency
    /// (`GET /api/v1/agencies/{id}/signers`).
    signer_id: i64,
}

/// Make the agency's submitted report a document: a draft Báo cáo of the agency (its number
/// blank before the notation, undated) addressed to the Department's identifier code
/// (`/api/v1/request-recipients`), in the draft state; it then goes through
/// `/api/v1/documents…` like any document, and its dispatch issues the report. The caller
/// must be both a signature officer of the agency and a drafter of its documents (403 naming
/// the missing role otherwise); 409 when the report is not submitted or already has a live
/// document.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/report/document", tag = "reports", params(Id),
    request_body = NewReportDocument,
    responses((status = 201, description = "The report's document, a new document", body = super::documents::DocumentDetail)))]
async fn make_report_document(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(body): Body<NewReportDocument>,
) -> ApiResult<(StatusCode, Json<super::documents::DocumentDetail>)> {
    let period = chosen_period(&st, &auth, body.period_id).await?;
    let doc = crate::report_documents::make_report_document(
        &st,
        &auth.actor,
        period.id,
        id,
        body.signer_id,
        st.now(),
    )
    .await?;
    let detail = kyso_store::documents::get_document(&st.store, &auth.actor, doc.id).await?;
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// The period's consolidated workbook (the newest period by default): one row per reporting
/// agency with its submitted figures and needs, the province's total, and a native Excel chart.
#[utoipa::path(get, path = "/api/v1/report-standings/export.xlsx", tag = "reports", params(PeriodChoice),
    responses((status = 200, description = "The workbook",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = super::dto::BinaryFile)))]
async fn period_workbook(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<PeriodChoice>,
) -> Result<axum::response::Response, crate::ApiError> {
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let bytes = reports::period_workbook(&st.store, &auth.actor, period.id).await?;
    Ok(super::register_export::xlsx_response(
        &format!("bao-cao-{}.xlsx", period.id),
        bytes,
    ))
}

/// How many reminders went out, and the agencies no one could be told of.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Reminded {
    notices: usize,
    agencies_without_officer: Vec<String>,
}

/// Remind the agencies that have not submitted the period's report (the Department): their
/// signature officers get a notice.
#[utoipa::path(post, path = "/api/v1/report-standings/remind", tag = "reports", params(PeriodChoice),
    responses((status = 200, description = "Reminded", body = Reminded)))]
async fn remind_late(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<PeriodChoice>,
) -> ApiResult<Json<Reminded>> {
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let (notices, agencies_without_officer) =
        reports::remind_late(&st.store, &auth.actor, period.id, st.now()).await?;
    Ok(Json(Reminded {
        notices,
        agencies_without_officer,
    }))
}

/// The province's report of a period as a PDF (the newest period by default): who has
/// reported, the figures and needs of the reports submitted summed, each group as a chart —
/// signed with the Department's organization key (the Department of the request settings).
/// 409 `no_department` when the Department is not set, `no_org_key` when the server holds no
/// key of it.
#[utoipa::path(get, path = "/api/v1/report-standings/export.pdf", tag = "reports", params(PeriodChoice),
    responses((status = 200, description = "The signed report", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn period_pdf(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<PeriodChoice>,
) -> Result<axum::response::Response, crate::ApiError> {
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let signed = crate::report_documents::province_report_pdf(&st, &auth.actor, &period).await?;
    Ok(super::register_export::pdf_response(
        &format!("bao-cao-tong-hop-{}.pdf", period.id),
        signed,
    ))
}
