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
    use axum::response::IntoResponse as _;
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let bytes = reports::period_workbook(&st.store, &auth.actor, period.id).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bao-cao-{}.xlsx\"", period.id),
            ),
        ],
        bytes,
    )
        .into_response())
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
    use axum::response::IntoResponse as _;
    use kyso_domain::reports::ReportState;
    use kyso_domain::roles::Permission;
    use kyso_store::{registry, Actor};
    let period = chosen_period(&st, &auth, q.period_id).await?;
    let all = reports::consolidated(&st.store, &auth.actor, period.id).await?;
    let code = kyso_store::requests::request_recipients(&st.store)
        .await?
        .department;
    if code.is_empty() {
        return Err(crate::ApiError::new(
            StatusCode::CONFLICT,
            "no_department",
            None,
            "Chưa đặt Sở tiếp nhận đề nghị (mã định danh của Sở) nên không xác định được cơ quan \
             ký báo cáo tổng hợp.",
            "The Department (its code in the request settings) is not set, so no agency signs \
             the consolidated report.",
        ));
    }
    let sys = Actor::system();
    let department = registry::agency_by_code(&st.store, &sys, &code).await?;
    let province = match department.parent_id {
        Some(p) => {
            registry::agency(&st.store, &sys, p, Permission::ReadRegistry)
                .await?
                .name
        }
        None => department.name.clone(),
    };
    let Some(key) = st.org_keys.get(&department.code).cloned() else {
        return Err(super::register_export::no_org_key(
            &department.name,
            "báo cáo tổng hợp",
            "consolidated report",
        ));
    };
    let the_period = period.period()?;
    let now = st.now();
    let data = kyso_letters::PeriodReportData {
        place: kyso_letters::place_name(&province),
        province_name: province,
        department_name: department.name.clone(),
        title: period.title.clone(),
        first_day: the_period.first_day,
        last_day: the_period.last_day,
        made_on: now.to_offset(kyso_domain::calendar::VIETNAM).date(),
        agencies: all
            .standing
            .iter()
            .map(|s| (s.agency_name.clone(), s.state == ReportState::Submitted))
            .collect(),
        figures: all.figures,
        needs: all.needs,
    };
    let signed = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, crate::ApiError> {
        let pdf = kyso_letters::render_period_report(&data).map_err(|e| {
            crate::letters::internal(
                &format!("Không lập được báo cáo: {}", e.message_vi()),
                &format!("The report could not be laid out: {e}"),
            )
        })?;
        let signer = key.signer()?;
        kyso_letters::sign(&pdf, &signer, now).map_err(|e| {
            crate::letters::internal(
                &format!("Ký số báo cáo không thành công: {}", e.message_vi()),
                &format!("Signing the report failed: {e}"),
            )
        })
    })
    .await
    .map_err(|_| {
        crate::letters::internal(
            "Lỗi nội bộ khi lập báo cáo.",
            "Internal failure producing the report.",
        )
    })??;
    st.metrics.signature_made("period_report");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"bao-cao-tong-hop-{}.pdf\"",
                    period.id
                ),
            ),
        ],
        signed,
    )
        .into_response())
}
