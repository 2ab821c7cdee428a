//! Reports (issue 21): the periods (`/reports`, where the Department opens one), a period's
//! page (who has submitted, the province's figures summed from the submitted reports) and an
//! agency's report (`/agencies/{id}/report`: its figures with charts, the officer's comments,
//! next year's needs and answers, saved or submitted after a confirmation; once submitted,
//! made into a Báo cáo document of the agency that its leader signs and its clerk issues to the
//! Department; its PDF). Charts are SVG drawn on the server (no JavaScript), each with its
//! numbers as a table beside it.

use kyso_domain::reports::{Figures, Needs, PeriodKind, ReportState};
use kyso_domain::Named as _;
use kyso_store::reports::{self, NewPeriod, ReportInput};

use super::*;

/// A horizontal bar chart as SVG: one bar per `(label, value)`, the value written at its end.
/// Described for screen readers by its title (`role="img"`); the same numbers are in the
/// table the page shows beside it.
pub(super) fn bar_chart(id: &str, title: &str, bars: &[(String, i64)]) -> Markup {
    const LABEL_W: i64 = 230;
    const BAR_MAX: i64 = 300;
    const ROW_H: i64 = 26;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let height = ROW_H * bars.len() as i64 + 8;
    let width = LABEL_W + BAR_MAX + 60;
    let title_id = format!("{id}-title");
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby=(title_id)
            viewBox={ "0 0 " (width) " " (height) } width="100%" style={ "max-width:" (width) "px" } {
            title id=(title_id) { (title) }
            @for (i, (label, value)) in bars.iter().enumerate() {
                @let y = i as i64 * ROW_H + 4;
                @let w = if *value > 0 { (value * BAR_MAX / max).max(2) } else { 0 };
                text x=(LABEL_W - 8) y=(y + 17) text-anchor="end" font-size="13" fill="#1b1f24" { (label) }
                rect x=(LABEL_W) y=(y + 3) width=(w) height=(ROW_H - 8) fill="#a31515" rx="2" {}
                text x=(LABEL_W + w + 6) y=(y + 17) font-size="13" fill="#1b1f24" { (value) }
            }
        }
    }
}

/// The figures of a report: each group as a chart and a table of the same numbers.
fn figures_view(p: &Page, f: &Figures) -> Markup {
    let c = &f.certificates;
    let certs = [
        (p.t("Còn hiệu lực cuối kỳ", "Valid at the end"), c.active),
        (
            p.t("Hết hạn trong 60 ngày sau kỳ", "Ending within 60 days"),
            c.expiring_60,
        ),
        (p.t("Đã hết hạn", "Expired"), c.expired),
        (p.t("Đã thu hồi", "Revoked"), c.revoked),
        (p.t("Cấp mới trong kỳ", "Issued in the period"), c.issued),
        (p.t("Gia hạn trong kỳ", "Renewed in the period"), c.renewed),
        (
            p.t("Thu hồi trong kỳ", "Revoked in the period"),
            c.revoked_in_period,
        ),
    ];
    let d = &f.devices;
    let devices = [
        (p.t("Bàn giao cho thuê bao", "Handed over"), d.issued),
        (p.t("Bị khóa", "Locked"), d.locked),
        (p.t("Khôi phục", "Recovered"), d.recovered),
        (p.t("Báo mất", "Reported lost"), d.lost),
        (p.t("Trả lại", "Returned"), d.returned),
    ];
    let o = &f.documents;
    let documents = [
        (p.t("Ký số cá nhân", "Personal signatures"), o.signed),
        (p.t("Ký số cơ quan", "Organization signatures"), o.sealed),
        (
            p.t("Văn bản đi đã phát hành", "Documents dispatched"),
            o.issued,
        ),
        (p.t("Văn bản đến", "Documents received"), o.received),
        (p.t("Văn bản đến bị từ chối", "Incoming refused"), o.refused),
    ];
    let owned = |rows: &[(&str, i64)]| -> Vec<(String, i64)> {
        rows.iter().map(|(l, v)| ((*l).to_owned(), *v)).collect()
    };
    let group = |id: &str, heading: &str, rows: &[(&str, i64)]| {
        html! {
            h3 style="font-size:16px" { (heading) }
            div.report-group {
                (bar_chart(id, heading, &owned(rows)))
                table style="max-width:420px" { tbody { @for (l, v) in rows {
                    tr { th scope="row" { (l) } td style="text-align:right" { (v) } }
                } } }
            }
        }
    };
    let total = f.requests_total();
    html! {
        (group("chart-certs", p.t("Chứng thư số", "Certificates"), &certs))
        (group("chart-devices", p.t("Thiết bị lưu khóa (trong kỳ)", "Key devices (in the period)"), &devices))
        h3 style="font-size:16px" { (p.t("Đề nghị (trong kỳ)", "Requests (in the period)")) }
        div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Đề nghị theo loại", "Requests by kind")) {
            table {
                thead { tr {
                    th scope="col" { (p.t("Loại đề nghị", "Kind")) }
                    th scope="col" { (p.t("Lập", "Made")) }
                    th scope="col" { (p.t("Hoàn thành", "Done")) }
                    th scope="col" { (p.t("Từ chối", "Refused")) }
                    th scope="col" { (p.t("Chưa xong cuối kỳ", "Open at the end")) }
                    th scope="col" { (p.t("Đúng hạn", "On time")) }
                    th scope="col" { (p.t("Quá hạn", "Late")) }
                } }
                tbody {
                    @for r in &f.requests { tr {
                        td { (p.t(r.kind.vi(), r.kind.en())) }
                        td { (r.created) } td { (r.done) } td { (r.refused) } td { (r.open) }
                        td { (r.on_time) } td { (r.late) }
                    } }
                    tr {
                        th scope="row" { (p.t("Cộng", "Total")) }
                        td { (total.created) } td { (total.done) } td { (total.refused) } td { (total.open) }
                        td { (total.on_time) } td { (total.late) }
                    }
                }
            }
        }
        @if let Some(pct) = f.on_time_percent() {
            p { (p.t("Tỷ lệ đề nghị hoàn thành đúng hạn (ngày làm việc): ", "Requests completed by their working-day deadline: ")) strong { (pct) "%" } }
        }
        (group("chart-docs", p.t("Văn bản điện tử (trong kỳ)", "Electronic documents (in the period)"), &documents))
        @if !o.refusal_reasons.is_empty() {
            p { (p.t("Lý do từ chối văn bản đến:", "Why incoming documents were refused:")) }
            ul { @for r in &o.refusal_reasons { li { (r.reason) " — " (r.count) } } }
        }
    }
}

/// Next year's needs as a table.
fn needs_view(p: &Page, n: &Needs) -> Markup {
    html! {
        table style="max-width:520px" { tbody {
            tr { th scope="row" { (p.t("Chứng thư số cá nhân", "Personal certificates")) } td { (n.individual_certificates) } }
            tr { th scope="row" { (p.t("Chứng thư số cơ quan, tổ chức", "Organization certificates")) } td { (n.organization_certificates) } }
            tr { th scope="row" { (p.t("Thiết bị lưu khóa (USB token)", "Key devices (USB tokens)")) } td { (n.devices) } }
            tr { th scope="row" { (p.t("Chứng thư số cần gia hạn", "Certificates to renew")) } td { (n.renewals) } }
            @if !n.note.is_empty() {
                tr { th scope="row" { (p.t("Nhu cầu khác", "Other needs")) } td style="white-space:pre-line" { (n.note) } }
            }
        } }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct PeriodForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    half: String,
    #[serde(default)]
    first_day: String,
    #[serde(default)]
    last_day: String,
    #[serde(default)]
    due_day: String,
    #[serde(default)]
    questions: String,
}

pub(super) async fn reports_page(State(st): State<AppState>, p: Page) -> Response {
    reports_view(&st, &p, &PeriodForm::default(), None).await
}

async fn reports_view(
    st: &AppState,
    p: &Page,
    v: &PeriodForm,
    error: Option<&kyso_store::Error>,
) -> Response {
    let periods = match reports::report_periods(&st.store, &p.actor).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(p, e),
    };
    let opens = p.actor.may(kyso_store::On::Registry).is_ok();
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let kinds: Vec<(String, String)> = PeriodKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), p.t(k.vi(), k.en()).to_owned()))
        .collect();
    let halves = vec![
        (
            "1".to_owned(),
            p.t("6 tháng đầu năm", "First half").to_owned(),
        ),
        (
            "2".to_owned(),
            p.t("6 tháng cuối năm", "Second half").to_owned(),
        ),
    ];
    let english = p.lang == Lang::En;
    let res = layout(
        p,
        p.t("Báo cáo", "Reports"),
        html! {
            h1 { (p.t("Báo cáo định kỳ và đột xuất", "Periodic and ad hoc reports")) }
            @if periods.is_empty() {
                p.muted { (p.t("Chưa có kỳ báo cáo nào.", "No reporting period yet.")) }
            } @else {
                table { thead { tr {
                    th scope="col" { (p.t("Kỳ báo cáo", "Period")) }
                    th scope="col" { (p.t("Hạn gửi", "Due")) }
                    th scope="col" { (p.t("Người mở", "Opened by")) }
                } } tbody { @for x in &periods { tr {
                    td { a href={ "/reports/" (x.id) } { (if english { &x.title_en } else { &x.title }) } }
                    td { (kyso_domain::calendar::iso_day_text(&x.due_day)) }
                    td { (x.opened_by) }
                } } } }
            }
            @if opens {
                h2 style="font-size:18px" { (p.t("Mở kỳ báo cáo", "Open a reporting period")) }
                (alert_error(msg.as_deref()))
                form method="post" action="/reports" novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (select("kind", p.t("Loại báo cáo", "Kind"), &kinds, &v.kind, ef))
                    (field("year", p.t("Năm (báo cáo 6 tháng, năm)", "Year (six-monthly, annual)"), &v.year, "text", false, ef, None))
                    (select("half", p.t("Kỳ 6 tháng", "Half"), &halves, &v.half, ef))
                    (field("first_day", p.t("Từ ngày (báo cáo đột xuất)", "From (ad hoc)"), &v.first_day, "text", false, ef, Some("dd/mm/yyyy")))
                    (field("last_day", p.t("Đến ngày (báo cáo đột xuất)", "To (ad hoc)"), &v.last_day, "text", false, ef, Some("dd/mm/yyyy")))
                    (field("due_day", p.t("Hạn gửi báo cáo", "Reports due"), &v.due_day, "text", true, ef, Some("dd/mm/yyyy")))
                    div.field {
                        label for="questions" { (p.t("Câu hỏi riêng (báo cáo đột xuất, mỗi dòng một câu)", "Own questions (ad hoc, one per line)")) }
                        textarea #questions name="questions" rows="3" style="width:100%;max-width:480px" { (v.questions) }
                    }
                    button.primary type="submit" { (p.t("Mở kỳ báo cáo", "Open the period")) }
                }
            }
        },
    );
    form_status(res, error.is_some())
}

pub(super) async fn report_open_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<PeriodForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = NewPeriod {
        kind: f.kind.clone(),
        year: f.year.trim().parse().ok(),
        half: f.half.trim().parse().ok(),
        first_day: f.first_day.clone(),
        last_day: f.last_day.clone(),
        due_day: f.due_day.clone(),
        questions: f.questions.clone(),
    };
    match reports::open_period(&st.store, &p.actor, &input, st.now()).await {
        Ok(x) => Redirect::to(&format!("/reports/{}?done=report_opened", x.id)).into_response(),
        Err(e) => reports_view(&st, &p, &f, Some(&e)).await,
    }
}

/// A period: where each reporting agency stands, and the province's figures and needs summed
/// from the reports submitted.
pub(super) async fn period_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let period = match reports::report_period(&st.store, &p.actor, id).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(&p, e),
    };
    let reports::Consolidated {
        standing,
        submitted,
        figures,
        needs,
    } = match reports::consolidated(&st.store, &p.actor, id).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(&p, e),
    };
    let english = p.lang == Lang::En;
    let reminds = p.actor.may(kyso_store::On::Registry).is_ok();
    let title = if english {
        &period.title_en
    } else {
        &period.title
    };
    layout(
        &p,
        title,
        html! {
            h1 { (title) }
            p.muted {
                (p.t("Từ ", "From ")) (kyso_domain::calendar::iso_day_text(&period.first_day))
                (p.t(" đến ", " to ")) (kyso_domain::calendar::iso_day_text(&period.last_day))
                " · " (p.t("hạn gửi ", "due ")) (kyso_domain::calendar::iso_day_text(&period.due_day))
            }
            @if !period.questions.is_empty() {
                p style="white-space:pre-line" { strong { (p.t("Câu hỏi của kỳ này: ", "This period's questions: ")) } (period.questions) }
            }
            h2 style="font-size:18px" { (p.t("Tình hình gửi báo cáo", "Who has reported")) }
            p { (submitted.len()) " / " (standing.len()) " " (p.t("cơ quan đã gửi", "agencies have submitted")) }
            p.exports {
                a.button href={ "/api/v1/report-standings/export.xlsx?period_id=" (id) } download {
                    (p.t("Tải bảng tổng hợp (Excel, có biểu đồ)", "Download the summary (Excel, with a chart)"))
                }
                " "
                a href={ "/api/v1/report-standings/export.pdf?period_id=" (id) } download {
                    (p.t("Tải báo cáo tổng hợp (PDF, ký số của Sở)", "Download the report (PDF, signed by the Department)"))
                }
            }
            @if reminds && submitted.len() < standing.len() {
                form method="post" action={ "/reports/" (id) "/remind" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button type="submit" { (p.t("Nhắc các cơ quan chưa gửi", "Remind the agencies that have not submitted")) }
                }
            }
            table { thead { tr {
                th scope="col" { (p.t("Cơ quan", "Agency")) }
                th scope="col" { (p.t("Trạng thái", "State")) }
                th scope="col" { (p.t("Gửi lúc", "Submitted")) }
                th scope="col" { (p.t("Văn bản báo cáo", "Report document")) }
            } } tbody { @for s in &standing { tr {
                td { a href={ "/agencies/" (s.agency_id) "/report?period_id=" (id) } { (s.agency_name) } }
                td { @if s.state == ReportState::Submitted { span.status-active { (p.t(s.state.vi(), s.state.en())) } }
                     @else { span.status-expired { (p.t(s.state.vi(), s.state.en())) } } }
                td { @if let Some(t) = s.submitted_at { (fmt_time(t)) } }
                td { (document_cell(&p, s.document.as_ref())) }
            } } } }
            @if !submitted.is_empty() {
                h2 style="font-size:18px" { (p.t("Số liệu tổng hợp từ các báo cáo đã gửi", "The figures of the reports submitted, summed")) }
                (figures_view(&p, &figures))
                h3 style="font-size:16px" { (p.t("Nhu cầu năm sau", "Next year's needs")) }
                (needs_view(&p, &needs))
            }
        },
    )
}

/// Where a report's document is: its number (or "#id") linking to it, and its step.
fn document_cell(p: &Page, d: Option<&reports::ReportDocument>) -> Markup {
    html! {
        @if let Some(d) = d {
            a href={ "/documents/" (d.document_id) } {
                @if let Some(n) = &d.number { (p.t("Số ", "No. ")) (n) } @else { (p.t("Văn bản #", "Document #")) (d.document_id) }
            }
            " — " (p.t(d.state.label_vi(), d.state.label_en()))
        } @else {
            span.muted { "—" }
        }
    }
}

/// Which period an agency's report page shows: the one given, else the newest.
#[derive(Deserialize, Default)]
pub(super) struct ReportQuery {
    #[serde(default)]
    period_id: Option<i64>,
}

pub(super) async fn agency_report_page(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<ReportQuery>,
) -> Response {
    agency_report_view(&st, &p, id, q.period_id, None, None, None).await
}

async fn agency_report_view(
    st: &AppState,
    p: &Page,
    agency_id: i64,
    period_id: Option<i64>,
    typed: Option<&ReportInput>,
    error: Option<&kyso_store::Error>,
    document_error: Option<String>,
) -> Response {
    let period = match reports::period_or_newest(&st.store, &p.actor, period_id).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(p, e),
    };
    let report = match reports::agency_report(&st.store, &p.actor, period.id, agency_id).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(p, e),
    };
    let english = p.lang == Lang::En;
    let may_write = registry::agency(&st.store, &p.actor, agency_id, Permission::WriteRegistry)
        .await
        .is_ok();
    let writes = report.state == ReportState::Draft && may_write;
    let v = typed.cloned().unwrap_or_else(|| ReportInput {
        comments: report.comments.clone(),
        needs: report.needs.clone(),
        answers: report.answers.clone(),
    });
    // Once submitted: the form making its document, for whoever may (the signers to choose),
    // or why it cannot be made yet, for whoever writes the agency's report.
    let live_document = report.document.as_ref().filter(|d| d.is_live());
    let document_form =
        if report.state == ReportState::Submitted && live_document.is_none() && may_write {
            Some(
                match reports::report_document_plan(&st.store, &p.actor, period.id, agency_id).await
                {
                    Ok(_) => Ok(kyso_store::documents::agency_signers(
                        &st.store, &p.actor, agency_id,
                    )
                    .await
                    .unwrap_or_default()),
                    Err(e) => Err(e.message(english).to_owned()),
                },
            )
        } else {
            None
        };
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(english));
    let num = |n: i64| n.to_string();
    let title = format!(
        "{} — {}",
        if english {
            &period.title_en
        } else {
            &period.title
        },
        report.agency_name
    );
    let res = layout(
        p,
        &title,
        html! {
            h1 { (title) }
            p.muted {
                @if report.state == ReportState::Submitted {
                    (p.t("Đã gửi", "Submitted"))
                    @if let Some(t) = report.submitted_at { " " (fmt_time(t)) }
                    @if let Some(by) = &report.submitted_by { " · " (by) }
                    ". " (p.t("Số liệu là số liệu tại thời điểm gửi.", "The figures are those at the time it was submitted."))
                } @else {
                    (p.t("Chưa gửi: số liệu được tính từ dữ liệu hiện có của cơ quan và các đơn vị trực thuộc.",
                         "Not submitted: the figures are computed from the registry of the agency and its units as it is now."))
                }
                " " a href={ "/reports/" (period.id) } { (p.t("Về kỳ báo cáo", "Back to the period")) }
            }
            p.exports {
                a href={ "/api/v1/agencies/" (agency_id) "/report.pdf?period_id=" (period.id) } download {
                    @if report.document.as_ref().is_some_and(|d| d.issued_at.is_some()) {
                        (p.t("Tải báo cáo đã phát hành (PDF đã ký số)", "Download the issued report (signed PDF)"))
                    } @else {
                        (p.t("Xem bản PDF của báo cáo (bản xem trước, chưa ký)", "The report as a PDF (preview, unsigned)"))
                    }
                }
            }
            @if report.state == ReportState::Submitted {
                h2 #van-ban style="font-size:18px" { (p.t("Văn bản báo cáo", "The report's document")) }
                (alert_error(document_error.as_deref()))
                @if let Some(d) = &report.document {
                    p { (document_cell(p, Some(d)))
                        @if let Some(t) = d.issued_at { " · " (p.t("phát hành ", "dispatched ")) (fmt_time(t)) } }
                }
                @match &document_form {
                    Some(Ok(signers)) => {
                        p.hint { (p.t("Báo cáo đã gửi được lập thành văn bản (Báo cáo) của cơ quan gửi Sở, rồi qua các bước: trình, kiểm tra thể thức, lãnh đạo ký số, văn thư cấp số và ký số cơ quan, vào sổ, phát hành.",
                                      "The submitted report is made into a document (a Báo cáo) of the agency to the Department, then goes through the steps: review, format check, the leader's signature, the clerk's number and organization signature, registration, dispatch.")) }
                        form method="post" action={ "/agencies/" (agency_id) "/report/document" } {
                            input type="hidden" name="csrf" value=(p.csrf);
                            input type="hidden" name="period_id" value=(period.id);
                            @let options: Vec<(String, String)> = signers.iter().map(|s| (s.user_id.to_string(), s.label())).collect();
                            (select("signer_id", p.t("Người ký", "Signer"), &options, "", None))
                            button.primary type="submit" { (p.t("Lập văn bản báo cáo", "Make the report's document")) }
                        }
                    }
                    Some(Err(why)) => { p.muted { (why) } }
                    None => {}
                }
            }
            (figures_view(p, &report.figures))
            @if writes {
                h2 #nhan-xet style="font-size:18px" { (p.t("Nhận xét và nhu cầu năm sau", "Comments and next year's needs")) }
                (alert_error(msg.as_deref()))
                form method="post" action={ "/agencies/" (agency_id) "/report" } novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="period_id" value=(period.id);
                    div.field {
                        label for="comments" { (p.t("Nhận xét, đánh giá", "Comments")) }
                        textarea #comments name="comments" rows="4" style="width:100%;max-width:640px" { (v.comments) }
                    }
                    (field("individual_certificates", p.t("Chứng thư số cá nhân cần cấp mới", "Personal certificates needed"), &num(v.needs.individual_certificates), "number", false, ef, None))
                    (field("organization_certificates", p.t("Chứng thư số cơ quan, tổ chức cần cấp mới", "Organization certificates needed"), &num(v.needs.organization_certificates), "number", false, ef, None))
                    (field("devices", p.t("Thiết bị lưu khóa (USB token) cần cấp", "Key devices needed"), &num(v.needs.devices), "number", false, ef, None))
                    (field("renewals", p.t("Chứng thư số cần gia hạn", "Certificates to renew"), &num(v.needs.renewals), "number", false, ef, None))
                    (field("note", p.t("Nhu cầu khác (tập huấn, phần mềm…)", "Other needs (training, software…)"), &v.needs.note, "text", false, ef, None))
                    @if !period.questions.is_empty() {
                        div.field {
                            label for="answers" { (p.t("Trả lời câu hỏi của kỳ báo cáo", "Answers to the period's questions")) }
                            p.hint style="white-space:pre-line" { (period.questions) }
                            textarea #answers name="answers" rows="4" style="width:100%;max-width:640px" { (v.answers) }
                        }
                    }
                    button.primary type="submit" name="action" value="save" { (p.t("Lưu nháp", "Save the draft")) }
                    " "
                    button type="submit" name="action" value="submit" { (p.t("Gửi báo cáo", "Submit the report")) }
                }
            } @else {
                h2 style="font-size:18px" { (p.t("Nhận xét", "Comments")) }
                p style="white-space:pre-line" { @if report.comments.is_empty() { span.muted { (p.t("Không có", "None")) } } @else { (report.comments) } }
                h2 style="font-size:18px" { (p.t("Nhu cầu năm sau", "Next year's needs")) }
                (needs_view(p, &report.needs))
                @if !report.answers.is_empty() {
                    h2 style="font-size:18px" { (p.t("Trả lời câu hỏi", "Answers")) }
                    p style="white-space:pre-line" { (report.answers) }
                }
            }
        },
    );
    form_status(res, error.is_some() || document_error.is_some())
}

#[derive(Deserialize, Default)]
pub(super) struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period_id: String,
    #[serde(default)]
    comments: String,
    #[serde(default)]
    individual_certificates: String,
    #[serde(default)]
    organization_certificates: String,
    #[serde(default)]
    devices: String,
    #[serde(default)]
    renewals: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    answers: String,
    /// `save` or `submit`.
    #[serde(default)]
    action: String,
    /// Present once the officer has confirmed a submission.
    #[serde(default)]
    confirm: String,
}

/// A count typed in a needs field: empty is 0; anything else not a number is refused at the
/// field (as out of range).
fn count(v: &str) -> i64 {
    let v = v.trim();
    if v.is_empty() {
        0
    } else {
        v.parse().unwrap_or(-1)
    }
}

pub(super) async fn agency_report_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<ReportForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let period_id = f.period_id.trim().parse().ok();
    let input = ReportInput {
        comments: f.comments.clone(),
        needs: Needs {
            individual_certificates: count(&f.individual_certificates),
            organization_certificates: count(&f.organization_certificates),
            devices: count(&f.devices),
            renewals: count(&f.renewals),
            note: f.note.clone(),
        },
        answers: f.answers.clone(),
    };
    let submit = f.action == "submit";
    let period = match reports::period_or_newest(&st.store, &p.actor, period_id).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(&p, e),
    };
    if submit && f.confirm != "yes" {
        let period_text = period.id.to_string();
        let fields = [
            ("period_id", period_text.as_str()),
            ("comments", f.comments.as_str()),
            (
                "individual_certificates",
                f.individual_certificates.as_str(),
            ),
            (
                "organization_certificates",
                f.organization_certificates.as_str(),
            ),
            ("devices", f.devices.as_str()),
            ("renewals", f.renewals.as_str()),
            ("note", f.note.as_str()),
            ("answers", f.answers.as_str()),
            ("action", "submit"),
        ];
        return super::confirm_page(
            &p,
            super::Confirm {
                heading: p.t("Gửi báo cáo", "Submit the report"),
                question: p.t(
                    "Gửi báo cáo này về Sở? Sau khi gửi, số liệu được giữ nguyên như lúc gửi và không sửa được nữa.",
                    "Submit this report to the Department? Once submitted, its figures stay as they are now and can no longer be changed.",
                ),
                facts: &[(p.t("Kỳ báo cáo: ", "Period: "), &period.title)],
                action: &format!("/agencies/{id}/report"),
                multipart: false,
                hidden: &fields,
                button: p.t("Gửi báo cáo", "Submit the report"),
                danger: false,
                cancel: &format!("/agencies/{id}/report?period_id={}", period.id),
            },
        );
    }
    match reports::save_report(&st.store, &p.actor, period.id, id, &input, submit, st.now()).await {
        Ok(_) => Redirect::to(&format!(
            "/agencies/{id}/report?period_id={}&done={}",
            period.id,
            if submit {
                "report_submitted"
            } else {
                "report_saved"
            }
        ))
        .into_response(),
        Err(e) => {
            agency_report_view(&st, &p, id, Some(period.id), Some(&input), Some(&e), None).await
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ReportDocumentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period_id: String,
    #[serde(default)]
    signer_id: String,
}

/// Make the submitted report's document and open its page; the report's page with the
/// refusal otherwise.
pub(super) async fn agency_report_document_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<ReportDocumentForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let period_id = f.period_id.trim().parse().ok();
    let period = match reports::period_or_newest(&st.store, &p.actor, period_id).await {
        Ok(x) => x,
        Err(e) => return layout_store_error(&p, e),
    };
    let signer_id = f.signer_id.trim().parse::<i64>().unwrap_or(0);
    match crate::report_documents::make_report_document(
        &st,
        &p.actor,
        period.id,
        id,
        signer_id,
        st.now(),
    )
    .await
    {
        Ok(doc) => Redirect::to(&format!("/documents/{}?done=created", doc.id)).into_response(),
        Err(e) if e.status == StatusCode::FORBIDDEN && e.field.is_none() => {
            super::layout_error(&p, e.status, e.message(p.lang))
        }
        Err(e) => {
            let msg = e.message(p.lang).to_owned();
            agency_report_view(&st, &p, id, Some(period.id), None, None, Some(msg)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

/// Remind the late agencies (the Department), then back to the period with what was done.
pub(super) async fn remind_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    match reports::remind_late(&st.store, &p.actor, id, st.now()).await {
        Ok(_) => Redirect::to(&format!("/reports/{id}?done=report_reminded")).into_response(),
        Err(e) => layout_store_error(&p, e),
    }
}
