//! Incoming documents in the web UI (issue 18): the agency's queue with the verification's
//! verdict and reasons first, the clerk's upload of a document received by e-mail or scanned
//! from paper, and the incoming document's page (metadata, the verification report with the
//! document page's renderer, the file and the report's PDF, the timeline) with the steps the
//! reader may take: register, refuse (asked for confirmation), assign, start, complete.
//!
//! One implementation: an upload is taken in by [`crate::incoming::take_in`] (verified on
//! arrival, as for the API), deliveries arrive on the server's side after their dispatch
//! ([`crate::incoming::arrive_pending`]; reading the queue writes nothing), and every step is
//! `kyso_store::incoming::act_incoming`, which decides again who may take it.

use std::collections::HashMap;

use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kyso_domain::incoming::{Channel, IncomingAction, IncomingState, Verdict};
use kyso_domain::roles::Permission;
use kyso_store::incoming as inc;
use kyso_store::registry;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout_store_error as refusal;
use super::{
    alert_error, alert_ok, field, form_status, layout, layout_error, select, time_text,
    with_status, Page,
};
use crate::api::Id;
use crate::auth::Lang;
use crate::incoming::{take_in, Arrival};
use crate::{ApiError, AppState};

/// A stored ISO date (`2026-12-06`) as `06/12/2026`; anything else as stored, '' as "—".
fn day_month_year(iso: &str) -> String {
    if iso.trim().is_empty() {
        "—".to_owned()
    } else {
        kyso_domain::calendar::iso_day_text(iso)
    }
}

fn kyso_lang(lang: Lang) -> kyso_i18n::Lang {
    match lang {
        Lang::Vi => kyso_i18n::Lang::Vi,
        Lang::En => kyso_i18n::Lang::En,
    }
}

/// A verification reason code in the reader's words.
fn reason_text(code: &str, lang: Lang) -> String {
    match code {
        "UNREADABLE" => lang
            .pick(
                "không đọc được tệp như một văn bản PDF có chữ ký số",
                "the file cannot be read as a signed PDF",
            )
            .to_owned(),
        "NO_TRUST_ANCHOR" => lang
            .pick(
                "máy chủ chưa được cấu hình chứng thư gốc tin cậy",
                "the server has no trusted root configured",
            )
            .to_owned(),
        other => kyso_services::report::reason_text(other, kyso_lang(lang)),
    }
}

/// The verdict's words as the queue shows them.
fn verdict_word(p: &Page, v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => p.t("Hợp lệ", "Valid"),
        Verdict::Indeterminate => p.t("Không xác định được", "Not established"),
        Verdict::Failed => p.t("Không hợp lệ", "Invalid"),
    }
}

/// The verdict badge and its reasons (the reasons right after the verdict).
fn verdict_badge(p: &Page, d: &inc::Incoming) -> Markup {
    let color = match d.verdict {
        Verdict::Passed => "var(--ok)",
        Verdict::Indeterminate => "var(--warn)",
        Verdict::Failed => "var(--bad)",
    };
    let reasons: Vec<String> = d.reasons.iter().map(|c| reason_text(c, p.lang)).collect();
    html! {
        strong.verdict data-verdict=(d.verdict.as_str()) style={ "color:" (color) } { (verdict_word(p, d.verdict)) }
        @if !reasons.is_empty() && d.verdict != Verdict::Passed { " — " (reasons.join("; ")) }
    }
}

fn state_label(p: &Page, s: IncomingState) -> &'static str {
    p.t(s.label_vi(), s.label_en())
}

fn channel_label(p: &Page, d: &inc::Incoming) -> String {
    let c = p.t(d.channel.label_vi(), d.channel.label_en()).to_owned();
    if d.scanned {
        format!("{c} ({})", p.t("bản scan", "scan"))
    } else {
        c
    }
}

fn action_label(p: &Page, a: IncomingAction) -> &'static str {
    p.t(a.label_vi(), a.label_en())
}

fn number_text(d: &inc::Incoming) -> String {
    match (d.number.trim(), d.notation.trim()) {
        ("", "") => "—".to_owned(),
        (n, "") => n.to_owned(),
        ("", k) => k.to_owned(),
        (n, k) => format!("{n}/{k}"),
    }
}

fn sender_text(d: &inc::Incoming) -> String {
    match (d.sender_name.trim(), d.sender_code.trim()) {
        ("", "") => "—".to_owned(),
        (n, "") => n.to_owned(),
        ("", c) => c.to_owned(),
        (n, c) => format!("{n} ({c})"),
    }
}

/// The success message of `?done=` (`n`: the arrival number given).
fn done_message(p: &Page, done: &str, n: Option<i64>) -> Option<String> {
    Some(match done {
        "created" => p
            .t(
                "Đã tiếp nhận văn bản đến và kiểm tra chữ ký số; xem kết quả bên dưới rồi vào sổ hoặc từ chối.",
                "The document is received and its signatures checked; read the result below, then register or refuse it.",
            )
            .to_owned(),
        "register" => match n {
            Some(n) => format!(
                "{} {n}.",
                p.t("Đã vào sổ văn bản đến, số đến:", "Registered; arrival number")
            ),
            None => p.t("Đã vào sổ văn bản đến.", "Registered.").to_owned(),
        },
        "refuse" => p
            .t(
                "Đã từ chối văn bản; lý do được gửi lại cho nơi gửi.",
                "The document is refused; the reason goes back to the sender.",
            )
            .to_owned(),
        "assign" => p
            .t(
                "Đã giao xử lý; các đơn vị được thông báo.",
                "Assigned; the units are told.",
            )
            .to_owned(),
        "start" => p
            .t("Đã ghi nhận đang xử lý.", "Recorded as being handled.")
            .to_owned(),
        "digitise" | "copy" => return super::incoming_copies::done_message(p, done),
        "complete" => p
            .t("Đã ghi nhận hoàn thành xử lý.", "Recorded as completed.")
            .to_owned(),
        other => return super::incoming_outbox::done_message(p, other),
    })
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    done: String,
}

/// The queue: the documents waiting for the clerk first (invalid, then not established,
/// then valid), then the others; filtered by state.
pub(super) async fn list_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<ListQuery>,
) -> Response {
    if !p.can(Permission::ReadDocuments) {
        return refusal(&p, kyso_store::Error::Forbidden);
    }
    let state = IncomingState::parse(q.state.trim()).ok();
    let list = match inc::list_incoming(
        &st.store,
        &p.actor,
        &inc::IncomingQuery {
            state,
            ..Default::default()
        },
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return refusal(&p, e),
    };
    let mut states: Vec<(String, String)> = vec![(
        String::new(),
        p.t(
            "Đang xử lý (trừ đã từ chối, đã thu hồi)",
            "Open (not refused or recalled)",
        )
        .to_owned(),
    )];
    states.extend(
        IncomingState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), state_label(&p, *s).to_owned())),
    );
    let ok = done_message(&p, &q.done, None);
    layout(
        &p,
        p.t("Văn bản đến", "Incoming documents"),
        html! {
            h1 { (p.t("Văn bản đến", "Incoming documents")) }
            (alert_ok(ok.as_deref()))
            p {
                @if p.can(Permission::IssueDocument) {
                    a.button href="/incoming/new" { (p.t("Tiếp nhận văn bản (tải lên)", "Receive a document (upload)")) }
                    " "
                }
                a href="/incoming/registers" { (p.t("Sổ đăng ký văn bản đến", "Incoming registers")) }
                @if p.can(Permission::IssueDocument) {
                    " · " a href="/incoming/undelivered" { (p.t("Thư báo không gửi được", "Status messages not sent")) }
                }
            }
            form.filters method="get" action="/incoming" {
                (select("state", p.t("Trạng thái", "State"), &states, state.map(|s| s.as_str()).unwrap_or(""), None))
                button type="submit" { (p.t("Lọc", "Filter")) }
            }
            @if list.is_empty() {
                p.muted { (p.t("Không có văn bản đến.", "No incoming documents.")) }
            } @else {
                div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Danh sách văn bản đến", "Incoming documents")) {
                table #incoming-queue { thead { tr {
                    th scope="col" { (p.t("Kết quả kiểm tra chữ ký số", "Signature check")) }
                    th scope="col" { (p.t("Nơi gửi", "Sender")) }
                    th scope="col" { (p.t("Số, ký hiệu", "Number")) }
                    th scope="col" { (p.t("Ngày văn bản", "Date")) }
                    th scope="col" { (p.t("Trích yếu", "Subject")) }
                    th scope="col" { (p.t("Kênh", "Channel")) }
                    th scope="col" { (p.t("Trạng thái", "State")) }
                } } tbody { @for d in &list { tr {
                    td { (verdict_badge(&p, d)) }
                    td { (sender_text(d)) }
                    td { (number_text(d)) }
                    td { (day_month_year(&d.doc_date)) }
                    td { a href={ "/incoming/" (d.id) } { (if d.subject.trim().is_empty() { p.t("(không có trích yếu)", "(no subject)") } else { d.subject.as_str() }) } }
                    td { (channel_label(&p, d)) }
                    td { (state_label(&p, d.state))
                        @if let Some(n) = d.arrival_number { br; span.hint { (p.t("Số đến: ", "Arrival no. ")) (n) } } }
                } } } }
                }
            }
        },
    )
}

/// The values of the upload form, kept when it is shown again with an error.
#[derive(Default)]
struct UploadForm {
    agency_id: String,
    scanned: bool,
    sender_name: String,
    sender_code: String,
    sender_email: String,
    number: String,
    notation: String,
    doc_date: String,
    doc_type: String,
    subject: String,
    signer: String,
}

impl UploadForm {
    fn from_fields(f: &crate::multipart::Form) -> UploadForm {
        UploadForm {
            agency_id: f.text("agency_id"),
            scanned: !f.text("scanned").is_empty(),
            sender_name: f.text("sender_name"),
            sender_code: f.text("sender_code"),
            sender_email: f.text("sender_email"),
            number: f.text("number"),
            notation: f.text("notation"),
            doc_date: f.text("doc_date"),
            doc_type: f.text("doc_type"),
            subject: f.text("subject"),
            signer: f.text("signer"),
        }
    }
}

/// The agencies where the reader receives documents (the clerk's duty).
async fn receiving_agencies(st: &AppState, p: &Page) -> Vec<(String, String)> {
    super::agency_options(st, p, Permission::IssueDocument).await
}

/// The clerk's upload form.
pub(super) async fn new_page(State(st): State<AppState>, p: Page) -> Response {
    upload_form(&st, &p, &UploadForm::default(), None).await
}

async fn upload_form(
    st: &AppState,
    p: &Page,
    v: &UploadForm,
    error: Option<&ApiError>,
) -> Response {
    let agencies = receiving_agencies(st, p).await;
    if agencies.is_empty() {
        return refusal(p, kyso_store::Error::Forbidden);
    }
    let ef = error.and_then(|e| e.field);
    let msg = error.map(|e| e.message(p.lang).to_owned());
    let types: Vec<(String, String)> = std::iter::once((String::new(), "—".to_owned()))
        .chain(kyso_domain::documents::DocType::ALL.iter().map(|t| {
            (
                t.label_vi().to_owned(),
                p.t(t.label_vi(), t.label_en()).to_owned(),
            )
        }))
        .collect();
    let res = layout(
        p,
        p.t("Tiếp nhận văn bản đến", "Receive a document"),
        html! {
            p { a href="/incoming" { (p.t("← Văn bản đến", "← Incoming documents")) } }
            h1 { (p.t("Tiếp nhận văn bản đến", "Receive a document")) }
            p.hint { (p.t(
                "Tải lên tệp PDF nhận qua thư điện tử, hoặc bản scan của văn bản giấy. Máy chủ kiểm tra chữ ký số ngay khi nhận; văn bản vào hàng chờ để văn thư vào sổ hoặc từ chối.",
                "Upload a PDF received by e-mail, or the scan of a paper document. The server checks its signatures on arrival; it then waits for the clerk to register or refuse it.")) }
            (alert_error(msg.as_deref()))
            form method="post" action="/incoming/new" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("agency_id", p.t("Cơ quan nhận", "Receiving agency"), &agencies, &v.agency_id, ef))
                div.field {
                    label for="file" { (p.t("Tệp văn bản (PDF)", "The document (PDF)")) " *" }
                    input #file name="file" type="file" accept=".pdf,application/pdf" required
                        aria-invalid=(if ef == Some("file") { "true" } else { "false" });
                }
                div.field {
                    label style="font-weight:400" {
                        input #scanned name="scanned" type="checkbox" value="1" checked[v.scanned];
                        " " (p.t("Bản scan văn bản giấy, có dấu sao y", "A scan of a paper document, with its copy stamp"))
                    }
                }
                (field("sender_name", p.t("Nơi gửi (tên cơ quan)", "Sender (agency name)"), &v.sender_name, "text", true, ef, None))
                (field("sender_code", p.t("Mã định danh nơi gửi", "Sender's identifier code"), &v.sender_code, "text", false, ef,
                    Some(p.t("Nếu biết, ví dụ 000.00.37.H41", "If known, e.g. 000.00.37.H41"))))
                (field("sender_email", p.t("Thư điện tử nơi gửi (để báo khi từ chối)", "Sender's e-mail (told of a refusal)"), &v.sender_email, "email", false, ef, None))
                (field("number", p.t("Số văn bản", "Number"), &v.number, "text", false, ef, None))
                (field("notation", p.t("Ký hiệu", "Notation"), &v.notation, "text", false, ef, Some(p.t("Ví dụ QĐ-UBND", "e.g. QĐ-UBND"))))
                (field("doc_date", p.t("Ngày văn bản", "Date of the document"), &v.doc_date, "date", false, ef, None))
                (select("doc_type", p.t("Loại văn bản", "Type"), &types, &v.doc_type, ef))
                (field("subject", p.t("Trích yếu nội dung", "Subject"), &v.subject, "text", true, ef, None))
                (field("signer", p.t("Người ký", "Signed by"), &v.signer, "text", false, ef, None))
                button.primary type="submit" { (p.t("Tiếp nhận và kiểm tra", "Receive and check")) }
            }
            (super::incoming_edxml::form(p, &agencies, &v.agency_id))
        },
    );
    with_status(
        res,
        match error {
            Some(e) if e.status.is_client_error() => e.status,
            Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
            None => StatusCode::OK,
        },
    )
}

/// Take an uploaded document in: verified on arrival, then to its page.
pub(super) async fn create_submit(State(st): State<AppState>, p: Page, mp: Multipart) -> Response {
    let fields = match crate::multipart::read(mp, crate::MAX_DOCUMENT_BODY).await {
        Ok(f) => f,
        Err(e) => return layout_error(&p, e.status(), &e.message(p.lang)),
    };
    if let Some(r) = p.csrf_refusal(&fields.csrf()) {
        return r;
    }
    if fields.text("kind") == super::incoming_edxml::KIND {
        return super::incoming_edxml::submit(&st, &p, &fields).await;
    }
    let v = UploadForm::from_fields(&fields);
    let bad = |field: &'static str, vi: &str, en: &str| -> ApiError {
        kyso_store::Error::Invalid {
            field,
            vi: vi.to_owned(),
            en: en.to_owned(),
        }
        .into()
    };
    let Ok(agency_id) = v.agency_id.trim().parse::<i64>() else {
        let e = bad(
            "agency_id",
            "Hãy chọn cơ quan nhận.",
            "Choose the receiving agency.",
        );
        return upload_form(&st, &p, &v, Some(&e)).await;
    };
    let Some((bytes, name)) = fields.file("file").filter(|(b, _)| !b.is_empty()) else {
        let e = bad(
            "file",
            "Hãy chọn tệp PDF của văn bản.",
            "Choose the document's PDF.",
        );
        return upload_form(&st, &p, &v, Some(&e)).await;
    };
    let arrival = Arrival {
        agency_id,
        channel: Channel::Upload,
        scanned: v.scanned,
        sender_code: v.sender_code.trim().to_owned(),
        sender_name: v.sender_name.trim().to_owned(),
        sender_email: v.sender_email.trim().to_owned(),
        number: v.number.trim().to_owned(),
        notation: v.notation.trim().to_owned(),
        doc_date: v.doc_date.trim().to_owned(),
        doc_type: v.doc_type.trim().to_owned(),
        subject: v.subject.trim().to_owned(),
        signer: v.signer.trim().to_owned(),
        file_name: name.to_owned(),
        file: bytes.to_vec(),
        delivery_id: None,
    };
    match take_in(&st, &p.actor, arrival).await {
        Ok(d) => Redirect::to(&format!("/incoming/{}?done=created", d.id)).into_response(),
        Err(e)
            if matches!(
                e.status,
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::BAD_REQUEST
            ) =>
        {
            upload_form(&st, &p, &v, Some(&e)).await
        }
        Err(e) => layout_error(&p, e.status, e.message(p.lang)),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: String,
    n: Option<i64>,
}

/// One incoming document.
pub(super) async fn detail_page(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<DoneQuery>,
) -> Response {
    let ok = done_message(&p, &q.done, q.n);
    detail_view(&st, &p, id, ok.as_deref(), None).await
}

/// The `kyso.verify/1` report made on arrival and kept with the record, rendered as the
/// document page renders its reports: what the clerk decides on, not validated again (the
/// trust anchors or the revocation information may have changed since; the report says when
/// it was made).
async fn report_section(st: &AppState, p: &Page, d: &inc::Incoming) -> Markup {
    let Some(blobs) = st.blobs.clone() else {
        return html! {};
    };
    let stored = match inc::incoming_report(&st.store, &blobs, &p.actor, d.id).await {
        Ok((json, _)) => super::documents::verification::Report::from_json(&json),
        Err(e) => {
            tracing::warn!(incoming = d.id, error = %e, "cannot read an incoming document's report");
            None
        }
    };
    html! {
        details #report-detail style="margin-bottom:12px;max-width:820px" {
            summary { strong { (p.t("Báo cáo chi tiết từng chữ ký", "Each signature in detail")) } }
            p.hint { (p.t(
                "Báo cáo lập khi nhận văn bản, với các chứng thư gốc tin cậy của máy chủ và thông tin thu hồi tải về lúc đó; được lưu cùng văn bản, không kiểm tra lại khi mở trang.",
                "The report made on arrival, against the server's trusted roots and the revocation information fetched then; kept with the document, not checked again when the page opens.")) }
            @match &stored {
                Some(r) => { (super::documents::verification::render_report(p.lang, r)) }
                None => { p role="status" { strong { (p.t("Không đọc được báo cáo đã lưu.", "The stored report cannot be read.")) } } }
            }
        }
    }
}

/// The agencies an assignment may name: the receiving agency and the units under it.
async fn handling_units(st: &AppState, p: &Page, d: &inc::Incoming) -> Vec<(i64, String)> {
    registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.path.starts_with(d.agency_path.as_str()))
        .map(|a| {
            (
                a.id,
                format!("{}{} ({})", "— ".repeat(a.depth), a.name, a.code),
            )
        })
        .collect()
}

fn event_label(p: &Page, action: &str) -> String {
    match action {
        "arrive" => p
            .t(
                "Văn bản đến, đã kiểm tra chữ ký số",
                "Arrived, signatures checked",
            )
            .to_owned(),
        other => IncomingAction::parse(other)
            .map(|a| action_label(p, a).to_owned())
            .unwrap_or_else(|_| other.to_owned()),
    }
}

async fn detail_view(
    st: &AppState,
    p: &Page,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Response {
    let detail = match inc::get_incoming(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return refusal(p, e),
    };
    let d = &detail.incoming;
    let may = |a: IncomingAction| detail.actions.contains(&a);
    let registers = if may(IncomingAction::Register) {
        inc::incoming_registers(&st.store, &p.actor, d.agency_id)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let units = if may(IncomingAction::Assign) {
        handling_units(st, p, d).await
    } else {
        Vec::new()
    };
    let names: HashMap<i64, String> = detail
        .units
        .iter()
        .map(|u| (u.agency_id, u.name.clone()))
        .collect();
    let report = report_section(st, p, d).await;
    let scan = super::incoming_scan::scan_section(st, p, d).await;
    let copies = super::incoming_copies::section(st, p, d).await;
    let undelivered = super::incoming_outbox::section(st, p, d.id).await;
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    let subject = if d.subject.trim().is_empty() {
        p.t("Văn bản đến", "Incoming document").to_owned()
    } else {
        d.subject.clone()
    };
    let register_options: Vec<(String, String)> = registers
        .iter()
        .map(|r| (r.id.to_string(), format!("{} ({})", r.name, r.code)))
        .collect();
    let res = layout(
        p,
        &subject,
        html! {
            p { a href="/incoming" { (p.t("← Văn bản đến", "← Incoming documents")) } }
            h1 { (p.t("Văn bản đến", "Incoming document")) ": " (subject) }
            (alert_ok(ok))
            (alert_error(error.as_deref()))
            section aria-labelledby="verdict-h" style="max-width:820px" {
                h2 #verdict-h style="font-size:18px" { (p.t("Kết quả kiểm tra chữ ký số khi nhận", "Signature check on arrival")) }
                p #verdict { (verdict_badge(p, d)) }
                p {
                    @if d.report_pdf_sha256.is_some() {
                        a href={ "/incoming/" (d.id) "/report.pdf" } { (p.t("Tải về báo cáo kiểm tra (PDF)", "Download the verification report (PDF)")) }
                        " · "
                    }
                    @if d.state != IncomingState::Recalled {
                        a href={ "/incoming/" (d.id) "/file" } { (p.t("Tải về văn bản đã nhận (PDF)", "Download the received document (PDF)")) }
                    }
                }
                (report)
                (scan)
                (copies)
            }
            table style="max-width:820px;margin-bottom:16px" { tbody {
                (row(p.t("Trạng thái", "State"), html! { strong #incoming-state { (state_label(p, d.state)) } " (" (p.t("mã trạng thái edXML ", "edXML status ")) (d.status_code) ")" }))
                (row(p.t("Nơi gửi", "Sender"), html! { (sender_text(d)) }))
                (row(p.t("Số, ký hiệu", "Number and notation"), html! { (number_text(d)) }))
                (row(p.t("Ngày văn bản", "Date"), html! { (day_month_year(&d.doc_date)) }))
                (row(p.t("Loại văn bản", "Type"), html! { (if d.doc_type.is_empty() { "—" } else { d.doc_type.as_str() }) }))
                (row(p.t("Người ký", "Signed by"), html! { (if d.signer.is_empty() { "—" } else { d.signer.as_str() }) }))
                (row(p.t("Kênh tiếp nhận", "Channel"), html! { (channel_label(p, d)) }))
                (row(p.t("Thời điểm đến", "Arrived"), html! { (time_text(d.arrived_at)) }))
                @if let Some(n) = d.arrival_number {
                    (row(p.t("Số đến", "Arrival number"), html! { strong #arrival-number { (n) } @if let Some(y) = d.arrival_year { " (" (p.t("năm ", "year ")) (y) ")" } }))
                }
                @if !d.decision_note.is_empty() {
                    (row(p.t("Ghi chú của văn thư", "The clerk's note"), html! { (d.decision_note) }))
                }
                @if !detail.units.is_empty() {
                    (row(p.t("Đơn vị xử lý", "Handling units"), html! {
                        @for u in &detail.units {
                            (u.name) " — " (if u.lead { p.t("chủ trì", "lead") } else { p.t("phối hợp", "coordinating") }) br;
                        }
                    }))
                }
                @if let Some(dl) = &d.deadline { (row(p.t("Hạn xử lý", "Deadline"), html! { (day_month_year(dl)) })) }
                (row(p.t("Tệp", "File"), html! { (d.file_name) " (" (d.size) " byte)" }))
            } }

            (undelivered)
            h2 style="font-size:18px" #actions { (p.t("Việc bạn có thể làm", "What you can do")) }
            @if detail.actions.is_empty() {
                p.muted { (p.t("Văn bản không chờ bước nào của bạn.", "The document waits for no step of yours.")) }
            }
            @if may(IncomingAction::Register) {
                @if d.verdict == Verdict::Failed {
                    div.alert.error #no-register role="note" { (p.t(
                        "Văn bản không hợp lệ nên không thể vào sổ văn bản đến. Hãy từ chối và ghi lý do; lý do được gửi lại cho nơi gửi.",
                        "The document is invalid, so it cannot be registered. Refuse it with the reason; the reason goes back to the sender.")) }
                } @else {
                    form method="post" action={ "/incoming/" (d.id) "/act" } style="margin-bottom:12px;max-width:480px" {
                        input type="hidden" name="csrf" value=(p.csrf);
                        input type="hidden" name="action" value="register";
                        @if register_options.len() > 1 {
                            (select("register_id", p.t("Sổ văn bản đến", "Incoming register"), &register_options, "", None))
                        }
                        @if d.verdict == Verdict::Indeterminate {
                            div.field {
                                label for="register-reason" { (p.t("Lý do vẫn vào sổ khi chưa xác định được chữ ký", "Why it is registered although the signature is not established")) " *" }
                                textarea #register-reason name="reason" rows="2" required aria-describedby="register-reason-hint" style="width:100%" {}
                                div.hint #register-reason-hint { (p.t(
                                    "Bắt buộc: kết quả kiểm tra chưa xác định được; lý do của văn thư được ghi vào sổ.",
                                    "Required: the check could not establish the signature; the clerk's reason is recorded.")) }
                            }
                        }
                        button.primary type="submit" { (p.t("Vào sổ", "Register")) }
                    }
                }
            }
            @if may(IncomingAction::Refuse) {
                form method="post" action={ "/incoming/" (d.id) "/act" } style="margin-bottom:12px;max-width:480px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="action" value="refuse";
                    div.field {
                        label for="refuse-reason" { (p.t("Lý do từ chối (gửi lại cho nơi gửi)", "Why it is refused (sent back to the sender)")) " *" }
                        textarea #refuse-reason name="reason" rows="2" required style="width:100%" {}
                    }
                    button type="submit" { (p.t("Từ chối", "Refuse")) }
                }
            }
            @if may(IncomingAction::Assign) {
                form method="post" action={ "/incoming/" (d.id) "/act" } style="margin-bottom:12px;max-width:480px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="action" value="assign";
                    div.field {
                        label for="lead_unit_id" { (p.t("Đơn vị chủ trì", "Lead unit")) " *" }
                        select #lead_unit_id name="lead_unit_id" required {
                            @for (uid, label) in &units { option value=(uid) selected[d.lead_unit_id == Some(*uid)] { (label) } }
                        }
                    }
                    fieldset.field style="border:1px solid var(--line);border-radius:4px" {
                        legend { (p.t("Đơn vị phối hợp", "Coordinating units")) }
                        @for (uid, label) in &units {
                            label style="font-weight:400" {
                                input type="checkbox" name="coordinating_unit_ids" value=(uid)
                                    checked[names.contains_key(uid) && d.lead_unit_id != Some(*uid)];
                                " " (label)
                            }
                        }
                    }
                    (field("deadline", p.t("Hạn xử lý", "Deadline"), d.deadline.as_deref().unwrap_or(""), "date", true, None, None))
                    div.field {
                        label for="assign-note" { (p.t("Ý kiến chỉ đạo", "Instructions")) }
                        textarea #assign-note name="reason" rows="2" style="width:100%" {}
                    }
                    button.primary type="submit" { (p.t("Giao xử lý", "Assign")) }
                }
            }
            @if may(IncomingAction::Start) || may(IncomingAction::Complete) {
                form method="post" action={ "/incoming/" (d.id) "/act" } style="margin-bottom:12px;max-width:480px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    div.field {
                        label for="handling-note" { (p.t("Ghi chú", "Note")) }
                        textarea #handling-note name="reason" rows="2" style="width:100%" {}
                    }
                    div style="display:flex;gap:8px;flex-wrap:wrap" {
                        @if may(IncomingAction::Start) {
                            button.primary type="submit" name="action" value="start" { (p.t("Đang xử lý", "Being handled")) }
                        }
                        @if may(IncomingAction::Complete) {
                            button.primary type="submit" name="action" value="complete" { (p.t("Hoàn thành", "Completed")) }
                        }
                    }
                }
            }

            h2 style="font-size:18px" { (p.t("Diễn biến", "Timeline")) }
            ol #timeline { @for ev in &detail.timeline {
                li { (time_text(ev.created_at)) " — " strong { (ev.actor) } " — " (event_label(p, &ev.action))
                    @if ev.from_state != ev.to_state {
                        @if let Ok(t) = IncomingState::parse(&ev.to_state) { " (" (state_label(p, t)) ")" }
                    }
                    @if !ev.note.is_empty() { " — " (ev.note) } }
            } }
        },
    );
    form_status(res, error.is_some())
}

/// The fields of a step's form (repeated `coordinating_unit_ids`).
#[derive(Default)]
struct ActForm {
    csrf: String,
    action: String,
    reason: String,
    confirm: String,
    register_id: Option<i64>,
    lead_unit_id: Option<i64>,
    coordinating_unit_ids: Vec<i64>,
    deadline: String,
}

impl ActForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> ActForm {
        let mut f = ActForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "action" => f.action = v,
                "reason" => f.reason = v,
                "confirm" => f.confirm = v,
                "register_id" => f.register_id = v.trim().parse().ok(),
                "lead_unit_id" => f.lead_unit_id = v.trim().parse().ok(),
                "coordinating_unit_ids" => {
                    if let Ok(id) = v.trim().parse() {
                        f.coordinating_unit_ids.push(id);
                    }
                }
                "deadline" => f.deadline = v,
                _ => {}
            }
        }
        f
    }
}

/// Take a step; a refusal asks for confirmation first.
pub(super) async fn act_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = ActForm::from_pairs(pairs);
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let detail = match inc::get_incoming(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return refusal(&p, e),
    };
    let action = match IncomingAction::parse(f.action.trim()) {
        Ok(a) if a != IncomingAction::Recall => a,
        _ => {
            return detail_view(
                &st,
                &p,
                id,
                None,
                Some(p.t("Thao tác không hợp lệ.", "Unknown action.").into()),
            )
            .await
        }
    };
    if action == IncomingAction::Refuse && f.confirm != "yes" && !f.reason.trim().is_empty() {
        let d = &detail.incoming;
        let document = format!("{} — {}", d.subject, sender_text(d));
        return super::confirm_page(
            &p,
            super::Confirm {
                heading: p.t("Xác nhận từ chối văn bản đến", "Confirm the refusal"),
                question: p.t(
                    "Bạn có chắc chắn muốn từ chối văn bản này? Văn bản không được vào sổ; lý do được gửi lại cho nơi gửi và không thể hoàn tác.",
                    "Refuse this document? It is not registered; the reason goes back to the sender, and this cannot be undone.",
                ),
                facts: &[
                    (p.t("Văn bản: ", "Document: "), &document),
                    (p.t("Lý do: ", "Reason: "), &f.reason),
                ],
                action: &format!("/incoming/{id}/act"),
                multipart: false,
                hidden: &[("action", "refuse"), ("reason", &f.reason)],
                button: p.t("Xác nhận từ chối", "Confirm: refuse"),
                danger: false,
                cancel: &format!("/incoming/{id}"),
            },
        );
    }
    let step = inc::IncomingStep {
        reason: f.reason.trim().to_owned(),
        register_id: f.register_id,
        lead_unit_id: f.lead_unit_id,
        coordinating_unit_ids: f.coordinating_unit_ids,
        deadline: (action == IncomingAction::Assign).then(|| f.deadline.trim().to_owned()),
    };
    match crate::incoming::act(&st, &p.actor, id, action, &step).await {
        Ok(out) => {
            let n = out
                .arrival_number
                .map(|n| format!("&n={n}"))
                .unwrap_or_default();
            Redirect::to(&format!("/incoming/{id}?done={}{n}", action.as_str())).into_response()
        }
        Err(e) => {
            let api: ApiError = e.into();
            if matches!(
                api.status,
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
            ) {
                let msg = api.message(p.lang).to_owned();
                detail_view(&st, &p, id, None, Some(msg)).await
            } else {
                layout_error(&p, api.status, api.message(p.lang))
            }
        }
    }
}

pub(super) fn pdf(name: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub(super) fn no_blobs(p: &Page) -> Response {
    layout_error(
        p,
        StatusCode::SERVICE_UNAVAILABLE,
        p.t(
            "Máy chủ chưa có thư mục lưu tệp; xin báo quản trị hệ thống.",
            "The server has no file folder configured; tell the administrator.",
        ),
    )
}

/// The received file, byte for byte.
pub(super) async fn file_download(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let Some(blobs) = st.blobs.clone() else {
        return no_blobs(&p);
    };
    match inc::incoming_file(&st.store, &blobs, &p.actor, id).await {
        Ok((_, bytes)) => pdf(format!("van-ban-den-{id}.pdf"), bytes),
        Err(e) => refusal(&p, e),
    }
}

/// The verification report's PDF made on arrival.
pub(super) async fn report_download(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let Some(blobs) = st.blobs.clone() else {
        return no_blobs(&p);
    };
    match inc::incoming_report(&st.store, &blobs, &p.actor, id).await {
        Ok((_, Some(bytes))) => pdf(format!("bao-cao-kiem-tra-{id}.pdf"), bytes),
        Ok((_, None)) => layout_error(
            &p,
            StatusCode::NOT_FOUND,
            p.t(
                "Văn bản này không có báo cáo kiểm tra dạng PDF (tệp không đọc được khi nhận).",
                "This document has no report PDF (its file could not be read on arrival).",
            ),
        ),
        Err(e) => refusal(&p, e),
    }
}
