//! Reports as PDFs (issue 21): an agency's report rendered as a draft Báo cáo and made an
//! outgoing document of the agency ([`make_report_document`]; it then goes through the
//! document flow — the leader signs it on their own token, the clerk numbers, dates, seals,
//! registers and dispatches it to the Department); one agency's report as a PDF
//! ([`agency_report_pdf`]: the sealed file once dispatched, else a preview of the draft); and
//! the province's consolidated report signed with the Department's organization key
//! ([`province_report_pdf`]). The rules are the store's (`kyso_store::reports`), the layout
//! kyso-letters'.

use kyso_domain::documents::{DocType, DocumentMeta, SignerBlock};
use kyso_domain::reports::ReportState;
use kyso_domain::roles::Permission;
use kyso_letters::{PeriodReportData, Reporter};
use kyso_store::documents as docs;
use kyso_store::reports::{self, AgencyReport, ReportPeriod};
use kyso_store::{registry, Actor};
use time::OffsetDateTime;

use crate::letters::{chosen_signer, laid_out, refusal, signer_title, title_block, TitleBlock};
use crate::{ApiError, AppState};

/// The report's subject line: "Báo cáo tình hình … 6 tháng đầu năm 2026".
fn subject(period: &ReportPeriod) -> String {
    let title = period.title.trim();
    let rest = title.strip_prefix("Báo cáo").unwrap_or(title).trim();
    format!("Báo cáo tình hình quản lý, sử dụng chữ ký số chuyên dùng công vụ {rest}")
}

/// The name of the agency a report goes to: the registry's agency of the code, else the
/// Department's usual name.
async fn recipient_name(st: &AppState, code: &str) -> String {
    match registry::agency_by_code(&st.store, &Actor::system(), code).await {
        Ok(a) => a.name,
        Err(_) => "Sở Khoa học và Công nghệ".to_owned(),
    }
}

/// An agency's report laid out, to be signed by `signer` (`None`: the agency's head, unnamed
/// — a preview) with the number blank before `notation`.
async fn agency_report_data(
    st: &AppState,
    period: &ReportPeriod,
    report: &AgencyReport,
    notation: String,
    recipient: String,
    signer: Option<&docs::SignerChoice>,
) -> Result<PeriodReportData, ApiError> {
    let agency = registry::agency(
        &st.store,
        &Actor::system(),
        report.agency_id,
        Permission::ReadRegistry,
    )
    .await?;
    let TitleBlock { managing, place } = title_block(st, &agency).await?;
    let days = period.period()?;
    Ok(PeriodReportData {
        managing_name: managing.unwrap_or_default(),
        agency_name: agency.name,
        place,
        title: period.title.clone(),
        first_day: days.first_day,
        last_day: days.last_day,
        made_on: None,
        figures: report.figures.clone(),
        needs: report.needs.clone(),
        from: Reporter::Agency {
            notation,
            recipient,
            comments: report.comments.clone(),
            questions: period.questions.clone(),
            answers: report.answers.clone(),
            signer_title: signer_title(signer.map(|s| s.title.as_str()).unwrap_or("")).to_owned(),
            signer_name: signer.map(|s| s.full_name.clone()).unwrap_or_default(),
        },
    })
}

/// Make the submitted report of agency `agency_id` for `period_id` a new outgoing document of
/// the agency, to be signed by `signer_id` (a signer of the agency): the store's checks first
/// (who, state, register, recipient: [`reports::report_document_plan`]), then the rendering,
/// then the document ([`reports::create_report_document`]).
pub(crate) async fn make_report_document(
    st: &AppState,
    actor: &Actor,
    period_id: i64,
    agency_id: i64,
    signer_id: i64,
    now: OffsetDateTime,
) -> Result<docs::Document, ApiError> {
    let plan = reports::report_document_plan(&st.store, actor, period_id, agency_id)
        .await
        .map_err(refusal)?;
    let signer = chosen_signer(st, actor, agency_id, signer_id).await?;
    let blobs = crate::api::documents::blobs(st)?;
    let period = reports::report_period(&st.store, actor, period_id).await?;
    let report = reports::agency_report(&st.store, actor, period_id, agency_id).await?;
    let recipient = recipient_name(st, &plan.recipient_code).await;
    let data = agency_report_data(
        st,
        &period,
        &report,
        plan.notation.clone(),
        recipient,
        Some(&signer),
    )
    .await?;
    let place = data.place.clone();
    let pdf = laid_out("văn bản báo cáo", "report", move || {
        kyso_letters::render_period_report(&data)
    })
    .await?;
    let input = docs::NewDocument {
        agency_id,
        meta: DocumentMeta {
            doc_type: DocType::BaoCao,
            subject: subject(&period),
            place,
            signer: SignerBlock {
                title: signer_title(&signer.title).to_owned(),
                ..Default::default()
            },
            recipients: vec![plan.recipient_code.clone()],
            ..Default::default()
        },
        signer_id: Some(signer.user_id),
        file_name: format!("bao-cao-ky-{period_id}-{}.pdf", report.agency_code),
        file: pdf,
    };
    let doc = reports::create_report_document(
        &st.store, &blobs, actor, period_id, agency_id, &input, now,
    )
    .await
    .map_err(refusal)?;
    tracing::info!(
        period = period_id,
        agency = agency_id,
        document = doc.id,
        "report made as a document"
    );
    Ok(doc)
}

/// One agency's report of a period as a PDF, with its file name: the sealed file once its
/// document was dispatched (signed by the agency's leader and sealed by its clerk), else a
/// preview of the report as it stands (unsigned, the number and the signer blank).
pub(crate) async fn agency_report_pdf(
    st: &AppState,
    actor: &Actor,
    period_id: i64,
    agency_id: i64,
) -> Result<(String, Vec<u8>), ApiError> {
    let period = reports::report_period(&st.store, actor, period_id).await?;
    let report = reports::agency_report(&st.store, actor, period_id, agency_id).await?;
    let base = format!("bao-cao-ky-{period_id}-{}", report.agency_code);
    if let Some(sha) = report
        .document
        .as_ref()
        .filter(|d| d.issued_at.is_some())
        .and_then(|d| d.sealed_sha256.clone())
    {
        return Ok((
            format!("{base}.pdf"),
            crate::letters::stored_file(st, sha).await?,
        ));
    }
    let notation = docs::notation_for(&st.store, agency_id, DocType::BaoCao, "")
        .await
        .unwrap_or_else(|_| "BC".to_owned());
    let code = reports::report_recipient_of(&st.store, actor, agency_id).await?;
    let recipient = recipient_name(st, &code).await;
    let data = agency_report_data(st, &period, &report, notation, recipient, None).await?;
    let pdf = laid_out("báo cáo", "report", move || {
        kyso_letters::render_period_report(&data)
    })
    .await?;
    Ok((format!("{base}-ban-xem-truoc.pdf"), pdf))
}

/// The province's report of a period: who has reported, the figures and needs of the reports
/// submitted summed, each group as a chart — signed with the Department's organization key
/// (the Department of the request settings). 409 `no_department` when the Department is not
/// set, `no_org_key` when the server holds no key of it.
pub(crate) async fn province_report_pdf(
    st: &AppState,
    actor: &Actor,
    period: &ReportPeriod,
) -> Result<Vec<u8>, ApiError> {
    let all = reports::consolidated(&st.store, actor, period.id).await?;
    let code = kyso_store::requests::request_recipients(&st.store)
        .await?
        .department;
    if code.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no_department",
            None,
            "Chưa đặt Sở tiếp nhận đề nghị (mã định danh của Sở) nên không xác định được cơ quan \
             ký báo cáo tổng hợp.",
            "The Department (its code in the request settings) is not set, so no agency signs \
             the consolidated report.",
        ));
    }
    let department = registry::agency_by_code(&st.store, &Actor::system(), &code).await?;
    let TitleBlock { managing, place } = title_block(st, &department).await?;
    let Some(key) = st.org_keys.get(&department.code).cloned() else {
        return Err(crate::api::register_export::no_org_key(
            &department.name,
            "báo cáo tổng hợp",
            "consolidated report",
        ));
    };
    let days = period.period()?;
    let now = st.now();
    let data = PeriodReportData {
        managing_name: managing.unwrap_or_default(),
        agency_name: department.name.clone(),
        place,
        title: period.title.clone(),
        first_day: days.first_day,
        last_day: days.last_day,
        made_on: Some(now.to_offset(kyso_domain::calendar::VIETNAM).date()),
        figures: all.figures,
        needs: all.needs,
        from: Reporter::Province {
            agencies: all
                .standing
                .iter()
                .map(|s| (s.agency_name.clone(), s.state == ReportState::Submitted))
                .collect(),
        },
    };
    let signer = key.signer()?;
    let signed = laid_out("báo cáo tổng hợp", "consolidated report", move || {
        let pdf = kyso_letters::render_period_report(&data)?;
        kyso_letters::sign(&pdf, &signer, now)
    })
    .await?;
    st.metrics.signature_made("period_report");
    Ok(signed)
}
