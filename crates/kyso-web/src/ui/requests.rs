//! The request pages: list (with overdue flags), the form of each Decree 68 request kind, and
//! a request's page with its timeline, its letter and the actions the reader may take. Once a
//! request is approved, its page makes the request letter as an outgoing document (form
//! "Lập công văn đề nghị": signer, drafting unit; addressed to the `request_recipients`
//! code); that document goes through the document pages, and its dispatch sends the request.

use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kyso_domain::lifecycle::{RequestAction, RequestKind, RequestState};
use kyso_domain::roles::Permission;
use kyso_store::registry::{self, CertQuery};
use kyso_store::requests::{self, ActInput, NewItem, NewRequest, RequestQuery};
use maud::{html, Markup};
use serde::Deserialize;

use super::{
    agency_options, alert_error, empty_list, export_links, field, fmt_date, fmt_time, form_status,
    layout, layout_store_error, query_string, select, Page,
};
use crate::api::Id;
use crate::AppState;

fn kind_label(k: RequestKind, p: &Page) -> String {
    format!("{} — {}", p.t("Mẫu", "Form"), k.form_number()) + " " + p.t(k.title_vi(), k.title_en())
}

fn state_badge(r: &requests::Request, p: &Page) -> Markup {
    let label = p.t(r.state.label_vi(), r.state.label_en());
    html! {
        span class={ "state state-" (r.state.as_str()) } { (label) }
        @if r.overdue { " " strong.status-expired { (p.t("QUÁ HẠN", "OVERDUE")) } }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    q: String,
}

pub(super) async fn list_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<ListQuery>,
) -> Response {
    let now = st.now();
    let query = RequestQuery {
        state: Some(q.state.clone()).filter(|s| !s.is_empty()),
        kind: Some(q.kind.clone()).filter(|s| !s.is_empty()),
        agency_id: None,
        overdue: q.overdue.is_some(),
        q: q.q.clone(),
    };
    let list = match requests::list_requests(&st.store, &p.actor, &query, now).await {
        Ok(l) => l,
        Err(e) => return layout_store_error(&p, e),
    };
    let mut states = vec![(String::new(), p.t("Tất cả", "All").to_owned())];
    states.extend(RequestState::ALL.iter().map(|s| {
        (
            s.as_str().to_owned(),
            p.t(s.label_vi(), s.label_en()).to_owned(),
        )
    }));
    let mut kinds = vec![(String::new(), p.t("Tất cả", "All").to_owned())];
    kinds.extend(
        RequestKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), kind_label(*k, &p))),
    );
    layout(
        &p,
        p.t("Đề nghị", "Requests"),
        html! {
            h1 { (p.t("Đề nghị chứng thư số và thiết bị", "Certificate and device requests")) }
            form.filters method="get" action="/requests" role="search" {
                div { label for="q" { (p.t("Trích yếu, số văn bản, người liên hệ", "Title, letter number, contact")) } input #q name="q" type="search" value=(q.q); }
                div { (select("state", p.t("Trạng thái", "State"), &states, &q.state, None)) }
                div { (select("kind", p.t("Loại đề nghị", "Kind"), &kinds, &q.kind, None)) }
                div { label { input type="checkbox" name="overdue" value="1" checked[q.overdue.is_some()]; " " (p.t("Chỉ quá hạn", "Overdue only")) } }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
                @if p.can(Permission::DraftRequest) { a.button href="/requests/new" { (p.t("Lập đề nghị", "New request")) } }
            }
            @if list.is_empty() {
                (empty_list(&p, !q.q.is_empty() || !q.state.is_empty() || !q.kind.is_empty() || q.overdue.is_some(),
                            ("Chưa có đề nghị nào.", "No requests yet.")))
            } @else {
                (export_links(&p, "/api/v1/requests", &query_string(&[
                    ("q", q.q.clone()),
                    ("state", q.state.clone()),
                    ("kind", q.kind.clone()),
                    ("overdue", if q.overdue.is_some() { "true".to_owned() } else { String::new() }),
                ])))
            }
            table {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { (p.t("Mẫu", "Form")) } th scope="col" { (p.t("Trích yếu", "Title")) }
                    th scope="col" { (p.t("Cơ quan", "Agency")) } th scope="col" { (p.t("Trạng thái", "State")) }
                    th scope="col" { (p.t("Hạn xử lý", "Deadline")) }
                } }
                tbody { @for r in &list { tr {
                    td { a href={ "/requests/" (r.id) } { (r.id) } }
                    td { (r.form_number) }
                    td { a href={ "/requests/" (r.id) } { (r.title) } }
                    td { (r.agency_name) }
                    td { (state_badge(r, &p)) }
                    td { @if let Some(d) = r.deadline_at { (fmt_date(d)) } }
                } } }
            }
        },
    )
}

#[derive(Deserialize, Default)]
pub(super) struct NewQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    agency_id: Option<i64>,
    /// The certificate the request is about, ticked already (from a certificate's page).
    #[serde(default)]
    certificate_id: Option<i64>,
}

pub(super) async fn new_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<NewQuery>,
) -> Response {
    let kind = RequestKind::parse(&q.kind).ok();
    match (kind, q.agency_id) {
        (Some(kind), Some(agency)) => {
            let chosen: Vec<(String, String)> = q
                .certificate_id
                .map(|c| ("certificate_id".to_owned(), c.to_string()))
                .into_iter()
                .collect();
            form_page(&st, &p, kind, agency, &chosen, None).await
        }
        _ => choose_page(&st, &p, &q).await,
    }
}

async fn choose_page(st: &AppState, p: &Page, q: &NewQuery) -> Response {
    let agencies = agency_options(st, p, Permission::DraftRequest).await;
    let kinds: Vec<(String, String)> = RequestKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), kind_label(*k, p)))
        .collect();
    layout(
        p,
        p.t("Lập đề nghị", "New request"),
        html! {
            h1 { (p.t("Lập đề nghị", "New request")) }
            form method="get" action="/requests/new" {
                (select("kind", p.t("Loại đề nghị", "Kind of request"), &kinds, &q.kind, None))
                (select("agency_id", p.t("Cơ quan đề nghị", "Requesting agency"), &agencies, &q.agency_id.map(|i| i.to_string()).unwrap_or_default(), None))
                button.primary type="submit" { (p.t("Tiếp tục", "Continue")) }
            }
        },
    )
}

fn state_label(s: &str, p: &Page) -> String {
    RequestState::parse(s)
        .map(|x| p.t(x.label_vi(), x.label_en()).to_owned())
        .unwrap_or_else(|_| s.to_owned())
}

fn action_label(a: &str, p: &Page) -> String {
    match a {
        "create" => p.t("Lập dự thảo", "Drafted").to_owned(),
        "update" => p.t("Sửa dự thảo", "Draft edited").to_owned(),
        "letter" => p.t("Lập văn bản", "Letter made").to_owned(),
        "letter_document" => p
            .t("Lập công văn đề nghị", "Request letter made")
            .to_owned(),
        other => RequestAction::parse(other)
            .map(|x| p.t(x.label_vi(), x.label_en()).to_owned())
            .unwrap_or_else(|_| other.to_owned()),
    }
}

fn field_label(name: &str, p: &Page) -> String {
    let en = match name {
        "id_issued_on" => "ID issued on",
        "id_issued_by" => "ID issued by",
        "province" => "Province",
        "old_serial" => "Old certificate serial",
        "device_kind" => "Device kind",
        "tax_code" => "Tax code",
        "budget_code" => "Budget relation code",
        "description" => "Description",
        "note" => "Note",
        other => other,
    };
    let vi = match name {
        "id_issued_on" => "Ngày cấp CCCD",
        "id_issued_by" => "Nơi cấp CCCD",
        "province" => "Tỉnh/Thành phố",
        "old_serial" => "Số hiệu chứng thư cũ (nếu có)",
        "device_kind" => "Loại thiết bị (TOKEN, SIM, HSM…)",
        "tax_code" => "Mã số thuế",
        "budget_code" => "Mã quan hệ ngân sách",
        "description" => "Mô tả",
        "note" => "Ghi chú",
        other => registry::field_vi(other),
    };
    p.t(vi, en).to_owned()
}

async fn form_page(
    st: &AppState,
    p: &Page,
    kind: RequestKind,
    agency_id: i64,
    values: &[(String, String)],
    error: Option<&kyso_store::Error>,
) -> Response {
    let now = st.now();
    let value = |k: &str| {
        values
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let chosen = |k: &str, v: &str| values.iter().any(|(n, x)| n == k && x == v);
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == crate::Lang::En));
    let agency =
        match registry::agency(&st.store, &p.actor, agency_id, Permission::DraftRequest).await {
            Ok(a) => a,
            Err(e) => return layout_store_error(p, e),
        };
    let certs = match kind {
        RequestKind::Renew | RequestKind::Revoke | RequestKind::ChangeInfo => {
            registry::search_certificates(
                &st.store,
                &p.actor,
                &CertQuery {
                    agency_id: Some(agency_id),
                    status: Some("active".into()),
                    limit: Some(200),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|r| r.items)
            .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let devices = if kind == RequestKind::RecoverDevice {
        registry::devices(&st.store, &p.actor, "", None, Some(agency_id))
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let fields = requests::item_fields(kind);
    let res = layout(
        p,
        p.t(kind.title_vi(), kind.title_en()),
        html! {
            h1 { (p.t(kind.title_vi(), kind.title_en())) }
            p.muted { (p.t("Mẫu ", "Form ")) (kind.form_number()) " — " (agency.name) }
            (alert_error(msg.as_deref()))
            form method="post" action="/requests" novalidate {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="kind" value=(kind.as_str());
                input type="hidden" name="agency_id" value=(agency_id);
                (field("number", p.t("Số văn bản (có thể để trống)", "Letter number (may be empty)"), &value("number"), "text", false, ef, Some("12/SKHCN-VP")))
                fieldset {
                    legend { (p.t("(1) Người liên hệ", "(1) Contact person")) }
                    (field("contact_name", p.t("Họ và tên", "Name"), &value("contact_name"), "text", false, ef, None))
                    (field("contact_title", p.t("Chức vụ", "Title"), &value("contact_title"), "text", false, ef, None))
                    (field("contact_phone", p.t("Số điện thoại", "Phone"), &value("contact_phone"), "tel", false, ef, None))
                    (field("contact_email", p.t("Thư điện tử", "Email"), &value("contact_email"), "email", false, ef, None))
                }
                @if matches!(kind, RequestKind::Revoke | RequestKind::RecoverDevice | RequestKind::Renew) {
                    (field("reason", p.t("Lý do", "Reason"), &value("reason"), "text", matches!(kind, RequestKind::Revoke | RequestKind::RecoverDevice), ef, None))
                }
                fieldset {
                    legend { (p.t("(2) Danh sách", "(2) List")) }
                    @if !certs.is_empty() || matches!(kind, RequestKind::Renew | RequestKind::Revoke | RequestKind::ChangeInfo) {
                        @if certs.is_empty() { p.muted { (p.t("Cơ quan này chưa có chứng thư số còn hiệu lực.", "This agency has no valid certificate.")) } }
                        @for c in &certs {
                            @let id = format!("cert-{}", c.id);
                            div {
                                input type=(if kind == RequestKind::ChangeInfo { "radio" } else { "checkbox" }) id=(id) name="certificate_id" value=(c.id) checked[chosen("certificate_id", &c.id.to_string())];
                                " "
                                label for=(id) style="display:inline;font-weight:normal" {
                                    (c.subscriber_name.clone().unwrap_or_else(|| c.subject.clone())) " — " code { (c.serial) } " — " (p.t("hết hạn ", "expires ")) (fmt_date(c.not_after))
                                }
                            }
                        }
                    }
                    @if kind == RequestKind::RecoverDevice {
                        @for d in &devices {
                            @let id = format!("dev-{}", d.id);
                            div {
                                input type="checkbox" id=(id) name="device_id" value=(d.id) checked[chosen("device_id", &d.id.to_string())];
                                " "
                                label for=(id) style="display:inline;font-weight:normal" {
                                    code { (d.serial) } " — " (d.holder_name.clone().unwrap_or_default()) " — " (d.state)
                                }
                            }
                        }
                    }
                    @if !matches!(kind, RequestKind::Renew | RequestKind::Revoke | RequestKind::RecoverDevice) {
                        @if kind == RequestKind::ChangeInfo { p.hint { (p.t("Chỉ điền các thông tin thay đổi.", "Fill in only what changes.")) } }
                        @for (name, required) in fields {
                            (field(&format!("f_{name}"), &field_label(name, p), &value(&format!("f_{name}")), "text", *required, ef.map(|f| if f == *name { format!("f_{f}") } else { f.to_owned() }).as_deref(), None))
                        }
                    }
                }
                button.primary type="submit" { (p.t("Lưu dự thảo", "Save the draft")) }
            }
        },
    );
    form_status(res, error.is_some())
}

pub(super) async fn create_submit(
    State(st): State<AppState>,
    p: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    if let Some(r) = p.csrf_refusal(&get("csrf")) {
        return r;
    }
    let Ok(kind) = RequestKind::parse(&get("kind")) else {
        return Redirect::to("/requests/new").into_response();
    };
    let agency_id: i64 = get("agency_id").parse().unwrap_or(0);
    let ids = |k: &str| -> Vec<i64> {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .filter_map(|(_, v)| v.parse().ok())
            .collect()
    };
    let data: std::collections::BTreeMap<String, String> = requests::item_fields(kind)
        .iter()
        .map(|(name, _)| ((*name).to_owned(), get(&format!("f_{name}"))))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let items: Vec<NewItem> = match kind {
        RequestKind::Renew | RequestKind::Revoke => ids("certificate_id")
            .into_iter()
            .map(|c| NewItem {
                certificate_id: Some(c),
                ..Default::default()
            })
            .collect(),
        RequestKind::ChangeInfo => ids("certificate_id")
            .into_iter()
            .map(|c| NewItem {
                certificate_id: Some(c),
                data: data.clone(),
                ..Default::default()
            })
            .collect(),
        RequestKind::RecoverDevice => ids("device_id")
            .into_iter()
            .map(|d| NewItem {
                device_id: Some(d),
                ..Default::default()
            })
            .collect(),
        _ => vec![NewItem {
            data,
            ..Default::default()
        }],
    };
    let input = NewRequest {
        kind: kind.as_str().into(),
        agency_id,
        title: String::new(),
        contact_name: get("contact_name"),
        contact_title: get("contact_title"),
        contact_phone: get("contact_phone"),
        contact_email: get("contact_email"),
        reason: get("reason"),
        number: get("number"),
        items,
    };
    match requests::create_request(&st.store, &p.actor, &input, st.now()).await {
        Ok(d) => Redirect::to(&format!("/requests/{}?done=request_created", d.request.id))
            .into_response(),
        Err(e) => form_page(&st, &p, kind, agency_id, &pairs, Some(&e)).await,
    }
}

pub(super) async fn detail_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    detail_view(&st, &p, id, None).await
}

async fn detail_view(st: &AppState, p: &Page, id: i64, error: Option<String>) -> Response {
    let d = match requests::get_request(&st.store, &p.actor, id, st.now()).await {
        Ok(d) => d,
        Err(e) => return layout_store_error(p, e),
    };
    // A request holds people's data: its read is audited, as through the API.
    let object = format!("request:{id}");
    if let Err(refusal) =
        super::audit_read(st, p, "request.read", object, d.request.agency_id).await
    {
        return refusal;
    }
    let r = &d.request;
    // Names for the items' ids (the reader may see them: the request is in their scope).
    let mut item_names = Vec::with_capacity(d.items.len());
    for it in &d.items {
        let sub = match it.subscriber_id {
            Some(s) => registry::subscriber(&st.store, &p.actor, s)
                .await
                .map(|x| x.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let cert = match it.certificate_id {
            Some(c) => registry::certificate(&st.store, &p.actor, c)
                .await
                .map(|x| x.serial)
                .unwrap_or_default(),
            None => String::new(),
        };
        let dev = match it.device_id {
            Some(dv) => registry::device(&st.store, &p.actor, dv)
                .await
                .map(|x| x.serial)
                .unwrap_or_default(),
            None => String::new(),
        };
        item_names.push((sub, cert, dev));
    }
    let now = st.now();
    let letter_doc = requests::letter_document(&st.store, &p.actor, id, now)
        .await
        .unwrap_or(None);
    // The form making the letter: for who may send it, once approved, without a letter yet.
    let letter_form = if r.state == RequestState::Approved
        && letter_doc.is_none()
        && requests::may_act(&p.actor, r, RequestAction::Send)
    {
        let signers = kyso_store::documents::agency_signers(&st.store, &p.actor, r.agency_id)
            .await
            .unwrap_or_default();
        let recipients = requests::request_recipients(&st.store)
            .await
            .unwrap_or_default();
        Some((signers, recipients.code_for(r.handler).to_owned()))
    } else {
        None
    };
    let needs_certs = matches!(
        r.kind,
        RequestKind::Renew
            | RequestKind::IssueIndividual
            | RequestKind::IssueOrganization
            | RequestKind::IssueDevice
    );
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    let res = layout(
        p,
        &r.title,
        html! {
            h1 { (r.title) }
            table style="max-width:820px" { tbody {
                (row(p.t("Mẫu", "Form"), html! { (r.form_number) }))
                (row(p.t("Cơ quan đề nghị", "Requesting agency"), html! { (r.agency_name) }))
                (row(p.t("Trạng thái", "State"), state_badge(r, p)))
                (row(p.t("Nơi xử lý", "Handled by"), html! { (p.t(r.handler.label_vi(), r.handler.label_en())) }))
                (row(p.t("Hạn xử lý", "Deadline"), html! { @if let Some(t) = r.deadline_at { (fmt_date(t)) } @else { "—" } }))
                (row(p.t("Người liên hệ", "Contact"), html! { (r.contact_name) " " (r.contact_phone) }))
                @if !r.reason.is_empty() { (row(p.t("Lý do", "Reason"), html! { (r.reason) })) }
                @if !r.refusal_reason.is_empty() { (row(p.t("Lý do từ chối/trả lại", "Refusal/return reason"), html! { (r.refusal_reason) })) }
                (row(p.t("Công văn đề nghị", "Request letter"), html! {
                    @if let Some((doc_id, doc_state)) = letter_doc {
                        a href={ "/documents/" (doc_id) } { (p.t("Văn bản", "Document")) " #" (doc_id) }
                        " — " (p.t(doc_state.label_vi(), doc_state.label_en()))
                    } @else {
                        span.muted { (p.t("Lập sau khi đề nghị được phê duyệt; đề nghị được gửi đi khi công văn được phát hành", "Made once the request is approved; the request is sent when the letter is dispatched")) }
                    }
                }))
                @if r.letter_sha256.is_some() {
                    (row(p.t("Văn bản đã gửi", "Letter sent"), html! {
                        a href={ "/requests/" (r.id) "/letter.pdf" } { (p.t("Tải công văn đề nghị đã phát hành (PDF đã ký số)", "Download the dispatched request letter (signed PDF)")) }
                    }))
                }
            } }
            h2 style="font-size:18px" { (p.t("Danh sách", "Items")) }
            div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Danh sách thuê bao, chứng thư, thiết bị của đề nghị", "The request's items")) {
                table { thead { tr { th scope="col" { "#" } th scope="col" { (p.t("Thuê bao", "Subscriber")) } th scope="col" { (p.t("Chứng thư", "Certificate")) } th scope="col" { (p.t("Thiết bị", "Device")) } th scope="col" { (p.t("Thông tin", "Data")) } } }
                tbody { @for (i, (it, names)) in d.items.iter().zip(&item_names).enumerate() { tr {
                    td { (i + 1) }
                    td { @if let Some(s) = it.subscriber_id { a href={ "/subscribers/" (s) } { (names.0) } } }
                    td { code { (names.1) } }
                    td { @if let Some(dv) = it.device_id { a href={ "/devices/" (dv) } { (names.2) } } }
                    td { @for (k, v) in &it.data { @if k != "issued_certificate_id" { (field_label(k, p)) ": " (v) br; } } }
                } } } }
            }
            (alert_error(error.as_deref()))
            @if let Some((signers, recipient)) = &letter_form {
                h2 style="font-size:18px" { (p.t("Lập công văn đề nghị", "Make the request letter")) }
                p.hint { (p.t("Công văn được lập từ đề nghị này, rồi qua các bước: trình, kiểm tra thể thức, lãnh đạo ký số, văn thư cấp số và ký số cơ quan, vào sổ, phát hành. Đề nghị được gửi đi khi công văn được phát hành.",
                              "The letter is made from this request, then goes through the steps: review, format check, the leader's signature, the clerk's number and organization signature, registration, dispatch. The request is sent when the letter is dispatched.")) }
                @if recipient.is_empty() {
                    div.alert.error role="alert" { (p.t("Chưa khai báo mã định danh của nơi nhận đề nghị; quản trị của Sở cần khai báo trong cài đặt \"Nơi nhận đề nghị\" trước khi lập công văn.", "The identifier code of the requests' recipient is not set; a Department administrator must set it under \"Request recipients\" first.")) }
                }
                form method="post" action={ "/requests/" (r.id) "/act" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    p { (p.t("Nơi nhận: ", "Recipient: ")) strong { (p.t(r.handler.label_vi(), r.handler.label_en())) } " — " (p.t("mã định danh ", "identifier code ")) code { (if recipient.is_empty() { "—" } else { recipient.as_str() }) } }
                    @let options: Vec<(String, String)> = signers.iter().map(|s| (s.user_id.to_string(), s.label())).collect();
                    (select("signer_id", p.t("Người ký", "Signer"), &options, "", None))
                    (field("unit_abbrev", p.t("Chữ viết tắt tên đơn vị soạn thảo", "Drafting unit's abbreviation"), "", "text", true, None, Some("VP")))
                    button.primary type="submit" name="action" value="letter_document" { (p.t("Lập công văn đề nghị", "Make the request letter")) }
                }
            }
            @if !d.actions.is_empty() {
                h2 style="font-size:18px" { (p.t("Xử lý", "Act")) }
                form method="post" action={ "/requests/" (r.id) "/act" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (field("note", p.t("Ghi chú", "Note"), "", "text", false, None, None))
                    @if d.actions.iter().any(|a| a.needs_reason()) {
                        (field("reason", p.t("Lý do (bắt buộc khi trả lại hoặc từ chối)", "Reason (required to return or refuse)"), "", "text", false, None, None))
                    }
                    @if needs_certs && d.actions.contains(&RequestAction::Complete) {
                        @for (i, _) in d.items.iter().enumerate() {
                            (field(&format!("cert_{i}"), &format!("{} {}", p.t("Chứng thư số mới cấp, dòng", "Newly issued certificate, row"), i + 1), "", "file", false, None, None))
                        }
                    }
                    div style="display:flex;gap:8px;flex-wrap:wrap" {
                        @for a in d.actions.iter().filter(|a| !is_final_no(**a)) {
                            button.primary type="submit" name="action" value=(a.as_str()) { (p.t(a.label_vi(), a.label_en())) }
                        }
                        // Refusing and withdrawing end the request: set apart, and confirmed first.
                        @for a in d.actions.iter().filter(|a| is_final_no(**a)) {
                            button.danger type="submit" name="action" value=(a.as_str()) { (p.t(a.label_vi(), a.label_en())) }
                        }
                    }
                }
            }
            h2 style="font-size:18px" { (p.t("Diễn biến", "Timeline")) }
            ol { @for ev in &d.timeline {
                li { (fmt_time(ev.at)) " — " strong { (ev.actor) } " — " (action_label(&ev.action, p))
                     @if ev.from_state != ev.to_state && !ev.from_state.is_empty() { " (" (state_label(&ev.from_state, p)) " → " (state_label(&ev.to_state, p)) ")" }
                     @if !ev.note.is_empty() { " — " (ev.note) } }
            } }
        },
    );
    form_status(res, error.is_some())
}

pub(super) async fn act_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    mp: Multipart,
) -> Response {
    let form = match crate::multipart::read(mp, crate::MAX_UPLOAD).await {
        Ok(f) => f,
        Err(e) => return detail_view(&st, &p, id, Some(e.message(p.lang))).await,
    };
    let text = |k: &str| form.text(k);
    if let Some(r) = p.csrf_refusal(&text("csrf")) {
        return r;
    }
    if text("action") == "letter_document" {
        return make_letter(&st, &p, id, &text("signer_id"), &text("unit_abbrev")).await;
    }
    let Ok(action) = RequestAction::parse(&text("action")) else {
        return detail_view(
            &st,
            &p,
            id,
            Some(p.t("Thao tác không hợp lệ.", "Unknown action.").into()),
        )
        .await;
    };
    if is_final_no(action) && text("confirm") != "yes" {
        return confirm_final(&p, id, action, &text("note"), &text("reason"));
    }
    let mut certificates = Vec::new();
    let mut i = 0;
    while let Some(bytes) = form.bytes(&format!("cert_{i}")) {
        if !bytes.is_empty() {
            certificates.push(bytes.to_vec());
        }
        i += 1;
    }
    let input = ActInput {
        note: text("note"),
        reason: text("reason"),
        certificates,
    };
    match requests::act(&st.store, &p.actor, id, action, &input, st.now()).await {
        Ok(_) => Redirect::to(&format!("/requests/{id}?done=request_acted")).into_response(),
        Err(e) => detail_view(&st, &p, id, Some(e.message(p.lang == crate::Lang::En))).await,
    }
}

/// Whether `a` ends the request with a no (refusing it, withdrawing it): such an action is
/// styled apart and asked for confirmation first.
fn is_final_no(a: RequestAction) -> bool {
    matches!(a, RequestAction::Refuse | RequestAction::Withdraw)
}

/// The confirmation of a final no: the same action posted again with `confirm=yes`, the note
/// and reason typed kept.
fn confirm_final(p: &Page, id: i64, action: RequestAction, note: &str, reason: &str) -> Response {
    let question = match action {
        RequestAction::Refuse => p.t(
            "Từ chối đề nghị này? Đề nghị kết thúc, không xử lý tiếp được; cơ quan đề nghị được báo cùng lý do.",
            "Refuse this request? It ends and cannot be processed further; the requesting agency is told, with the reason.",
        ),
        _ => p.t(
            "Rút đề nghị này? Đề nghị kết thúc; muốn đề nghị lại phải lập đề nghị mới.",
            "Withdraw this request? It ends; asking again needs a new request.",
        ),
    };
    super::confirm_page(
        p,
        super::Confirm {
            heading: p.t("Xác nhận thao tác", "Confirm the action"),
            question,
            facts: &[(p.t("Lý do: ", "Reason: "), reason)],
            action: &format!("/requests/{id}/act"),
            multipart: true,
            hidden: &[
                ("action", action.as_str()),
                ("note", note),
                ("reason", reason),
            ],
            button: p.t(action.label_vi(), action.label_en()),
            danger: true,
            cancel: &format!("/requests/{id}"),
        },
    )
}

/// Make the request's letter document and open its page; the request's page with the
/// refusal otherwise.
async fn make_letter(
    st: &AppState,
    p: &Page,
    id: i64,
    signer_id: &str,
    unit_abbrev: &str,
) -> Response {
    let now = st.now();
    let made = match requests::get_request(&st.store, &p.actor, id, now).await {
        Ok(d) => {
            let signer_id = signer_id.trim().parse::<i64>().unwrap_or(0);
            crate::letters::make_letter_document(st, &p.actor, &d, signer_id, unit_abbrev, now)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match made {
        Ok(doc) => Redirect::to(&format!("/documents/{}?done=created", doc.id)).into_response(),
        Err(e) => detail_view(st, p, id, Some(e.message(p.lang).to_owned())).await,
    }
}

pub(super) async fn letter_download(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    match crate::letters::letter_bytes(&st, &p.actor, id).await {
        Ok(bytes) => crate::api::register_export::pdf_response(&format!("de-nghi-{id}.pdf"), bytes),
        Err(e) => super::error_page(p.lang, e.status, e.message(p.lang)),
    }
}
