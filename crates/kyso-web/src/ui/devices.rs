//! Key devices: the list, one device with its history in words, moving it to its next state,
//! and each record (biên bản) printable as its Decree 68 form.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct DeviceFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
}

pub(super) fn state_label(s: &str, lang: Lang) -> String {
    s.parse::<DeviceState>()
        .map(|st| lang.pick(st.label_vi(), st.label_en()).to_owned())
        .unwrap_or_else(|_| s.to_owned())
}

pub(super) async fn devices_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<DeviceFilter>,
) -> Response {
    let state = Some(q.state.as_str()).filter(|s| !s.is_empty());
    let list = match registry::devices(&st.store, &p.actor, &q.q, state, None).await {
        Ok(l) => l,
        Err(e) => return layout_store_error(&p, e),
    };
    let mut states = vec![(String::new(), p.t("Tất cả", "All").to_owned())];
    states.extend(DeviceState::ALL.iter().map(|s| {
        (
            s.as_str().to_owned(),
            p.t(s.label_vi(), s.label_en()).to_owned(),
        )
    }));
    layout(
        &p,
        p.t("Thiết bị lưu khóa", "Key devices"),
        html! {
            h1 { (p.t("Thiết bị lưu khóa bí mật", "Key devices")) }
            form.filters method="get" action="/devices" role="search" {
                div { label for="q" { (p.t("Số hiệu hoặc người giữ", "Serial or holder")) } input #q name="q" type="search" value=(q.q); }
                div { (select("state", p.t("Trạng thái", "State"), &states, &q.state, None)) }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
                @if p.can(Permission::WriteRegistry) { a.button href="/devices/new" { (p.t("Thêm thiết bị", "Add a device")) } }
            }
            @if list.is_empty() {
                (empty_list(&p, !q.q.is_empty() || state.is_some(), ("Chưa có thiết bị nào.", "No devices yet.")))
            } @else {
                (export_links(&p, "/api/v1/devices", &query_string(&[("q", q.q.clone()), ("state", q.state.clone())])))
            }
            table {
                thead { tr {
                    th scope="col" { (p.t("Số hiệu", "Serial")) } th scope="col" { (p.t("Loại", "Kind")) }
                    th scope="col" { (p.t("Trạng thái", "State")) } th scope="col" { (p.t("Người giữ", "Holder")) }
                } }
                tbody { @for d in &list { tr {
                    td { a href={ "/devices/" (d.id) } { code { (d.serial) } } }
                    td { (kind_label::<DeviceKind>(&d.kind, p.lang)) }
                    td { (state_label(&d.state, p.lang)) }
                    td { (d.holder_name.clone().unwrap_or_default()) }
                } } }
            }
        },
    )
}

pub(super) async fn device_new(State(st): State<AppState>, p: Page) -> Response {
    device_form(&st, &p, &DeviceForm::default(), None).await
}

#[derive(Deserialize, Default)]
pub(super) struct DeviceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    agency_id: String,
}

/// The form adding a key device received at an agency (it starts at the managing agency; its
/// handover to a subscriber is the device page's next step).
async fn device_form(
    st: &AppState,
    p: &Page,
    v: &DeviceForm,
    error: Option<&kyso_store::Error>,
) -> Response {
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let agencies = agency_options(st, p, Permission::WriteRegistry).await;
    let kinds = kind_options::<DeviceKind>(p);
    let res = layout(
        p,
        p.t("Thêm thiết bị", "Add a device"),
        html! {
            h1 { (p.t("Thêm thiết bị lưu khóa bí mật", "Add a key device")) }
            (alert_error(msg.as_deref()))
            form method="post" action="/devices" novalidate {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("kind", p.t("Loại thiết bị", "Kind"), &kinds, &v.kind, ef))
                (field("serial", p.t("Số hiệu (in trên thiết bị)", "Serial (printed on the device)"), &v.serial, "text", true, ef,
                       Some(p.t("Chữ, số và dấu gạch ngang", "Letters, digits and '-'"))))
                (field("model", p.t("Kiểu thiết bị", "Model"), &v.model, "text", false, ef, None))
                (select("agency_id", p.t("Cơ quan nhận thiết bị", "Agency receiving it"), &agencies, &v.agency_id, ef))
                button.primary type="submit" { (p.t("Lưu", "Save")) }
            }
        },
    );
    form_status(res, error.is_some())
}

pub(super) async fn device_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<DeviceForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = DeviceInput {
        kind: f.kind.clone(),
        serial: f.serial.clone(),
        model: f.model.clone(),
        agency_id: f.agency_id.parse().unwrap_or(0),
        state: None,
        certificate_id: None,
    };
    match registry::create_device(&st.store, &p.actor, &input, st.now()).await {
        Ok(d) => Redirect::to(&format!("/devices/{}?done=device_created", d.id)).into_response(),
        Err(e) => device_form(&st, &p, &f, Some(&e)).await,
    }
}

pub(super) async fn device_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    device_view(&st, &p, id, None).await
}

pub(super) async fn device_view(
    st: &AppState,
    p: &Page,
    id: i64,
    error: Option<String>,
) -> Response {
    let d = match registry::device(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return layout_store_error(p, e),
    };
    let history = registry::device_history(&st.store, &p.actor, id)
        .await
        .unwrap_or_default();
    let events: Vec<(String, String)> = DeviceEvent::ALL
        .iter()
        .filter(|e| {
            d.state
                .parse::<DeviceState>()
                .is_ok_and(|s| kyso_domain::device::transition(s, **e).is_ok())
        })
        .map(|e| {
            (
                e.as_str().to_owned(),
                p.t(e.label_vi(), e.label_en()).to_owned(),
            )
        })
        .collect();
    let res = layout(
        p,
        &d.serial,
        html! {
            h1 { (p.t("Thiết bị ", "Device ")) code { (d.serial) } }
            p { (p.t("Trạng thái: ", "State: ")) strong { (state_label(&d.state, p.lang)) }
                @if let Some(h) = &d.holder_name { " — " (p.t("người giữ: ", "holder: ")) (h) } }
            (alert_error(error.as_deref()))
            @if p.can(Permission::WriteRegistry) && !events.is_empty() {
                h2 style="font-size:18px" { (p.t("Ghi nhận thao tác", "Record an event")) }
                form method="post" action={ "/devices/" (d.id) } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (select("event", p.t("Thao tác", "Event"), &events, "", None))
                    (field("holder_id", p.t("Mã thuê bao nhận thiết bị (khi cấp/bàn giao)", "Receiving subscriber id (assign/handover)"), "", "number", false, None, None))
                    (field("counterpart", p.t("Bên giao/nhận", "Other party"), "", "text", false, None, None))
                    (field("note", p.t("Ghi chú", "Note"), "", "text", false, None, None))
                    button.primary type="submit" { (p.t("Ghi nhận", "Record")) }
                }
            }
            h2 style="font-size:18px" { (p.t("Lịch sử", "History")) }
            @if history.is_empty() { p.muted { (p.t("Chưa có thao tác nào.", "Nothing recorded yet.")) } }
            div style="overflow-x:auto" { table { thead { tr {
                th scope="col" { (p.t("Thời điểm", "When")) } th scope="col" { (p.t("Thao tác", "Event")) }
                th scope="col" { (p.t("Từ → đến", "From → to")) } th scope="col" { (p.t("Biên bản", "Record")) }
                th scope="col" { (p.t("Người thực hiện", "By")) } th scope="col" { (p.t("Ghi chú", "Note")) }
            } } tbody { @for h in &history { tr {
                td style="white-space:nowrap" { (fmt_time(h.at)) }
                td { (kind_label::<DeviceEvent>(&h.event, p.lang)) }
                td { (state_label(&h.from_state, p.lang)) " → " (state_label(&h.to_state, p.lang)) }
                td { @if let Ok(k) = h.record_kind.parse::<RecordKind>() {
                    a href={ "/devices/" (d.id) "/records/" (h.id) } { (p.t(k.label_vi(), k.label_en())) }
                } }
                td { (h.actor) } td { (h.note) }
            } } } } }
        },
    );
    form_status(res, error.is_some())
}

#[derive(Deserialize)]
pub(super) struct DeviceEventForm {
    csrf: String,
    event: String,
    #[serde(default)]
    holder_id: String,
    #[serde(default)]
    counterpart: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn device_event_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<DeviceEventForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = DeviceEventInput {
        event: f.event,
        holder_id: f.holder_id.parse().ok(),
        counterpart: f.counterpart,
        note: f.note,
    };
    match registry::device_event(&st.store, &p.actor, id, &input, st.now()).await {
        Ok(_) => Redirect::to(&format!("/devices/{id}?done=device_saved")).into_response(),
        Err(e) => device_view(&st, &p, id, Some(e.message(p.lang == Lang::En))).await,
    }
}

/// One record of a device (the handover to its subscriber — Mẫu 07, a return — Mẫu 08, a loss
/// — Mẫu 09, a recovery — Mẫu 06, a change of custodian), laid out as the paper form to print,
/// sign by both parties and keep with the device: the national heading, the agency, the date
/// and place, both parties, the device and its certificate, and the signature blocks.
pub(super) async fn device_record_page(
    State(st): State<AppState>,
    p: Page,
    axum::extract::Path((id, record_id)): axum::extract::Path<(i64, i64)>,
) -> Response {
    let d = match registry::device(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return layout_store_error(&p, e),
    };
    let history = match registry::device_history(&st.store, &p.actor, id).await {
        Ok(h) => h,
        Err(e) => return layout_store_error(&p, e),
    };
    let Some((h, kind)) = history
        .into_iter()
        .find(|h| h.id == record_id)
        .and_then(|h| h.record_kind.parse::<RecordKind>().ok().map(|k| (h, k)))
    else {
        return layout_error(
            &p,
            StatusCode::NOT_FOUND,
            p.t("Không có biên bản này.", "No such record."),
        );
    };
    let agency = registry::agency(&st.store, &p.actor, d.agency_id, Permission::ReadRegistry)
        .await
        .ok();
    let holder = match h.holder_id.or(d.holder_id) {
        Some(sid) => registry::subscriber(&st.store, &p.actor, sid).await.ok(),
        None => None,
    };
    let cert = match d.certificate_id {
        Some(cid) => registry::certificate(&st.store, &p.actor, cid).await.ok(),
        None => None,
    };
    let agency_name = agency.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    let day = h.at.to_offset(kyso_domain::calendar::VIETNAM);
    let title = kind
        .label_vi()
        .split(" (")
        .next()
        .unwrap_or("")
        .to_uppercase();
    let (giver, receiver) = match kind {
        RecordKind::SubscriberHandover | RecordKind::CustodianHandover => (
            if h.counterpart.is_empty() {
                agency_name.clone()
            } else {
                h.counterpart.clone()
            },
            holder.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        ),
        _ => (
            holder.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
            if h.counterpart.is_empty() {
                agency_name.clone()
            } else {
                h.counterpart.clone()
            },
        ),
    };
    // The form is Vietnamese whatever the page's language.
    let device_kind = kind_label::<DeviceKind>(&d.kind, Lang::Vi);
    layout(
        &p,
        kind.label_vi(),
        html! {
            p.no-print {
                a href={ "/devices/" (d.id) } { "← " (p.t("Về thiết bị", "Back to the device")) }
                " · " (p.t("Dùng lệnh In của trình duyệt (Ctrl+P) để in biên bản.", "Use the browser's Print (Ctrl+P) to print the record."))
            }
            article.record lang="vi" {
                div.record-head {
                    div { strong { (agency_name.to_uppercase()) } }
                    div { strong { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" } br; strong { u { "Độc lập - Tự do - Hạnh phúc" } } }
                }
                @if let Some(n) = kind.form_number() { p.record-form { "Mẫu " (n) } }
                p.record-date { em { "Ngày " (day.day()) " tháng " (u8::from(day.month())) " năm " (day.year()) } }
                h1 { (title) }
                p { "Hôm nay, ngày " (fmt_date(h.at)) ", tại " (agency_name) ", chúng tôi gồm:" }
                p { strong { "Bên giao: " } (giver) }
                p { strong { "Bên nhận: " } (receiver)
                    @if let Some(s) = &holder { @if !s.title.is_empty() && receiver == s.name { ", " (s.title) } } }
                p { "Cùng xác nhận nội dung sau:" }
                table { thead { tr {
                    th scope="col" { "STT" } th scope="col" { "Loại thiết bị" } th scope="col" { "Số hiệu" }
                    th scope="col" { "Chứng thư số" } th scope="col" { "Hiệu lực" }
                } } tbody { tr {
                    td { "1" } td { (device_kind) @if !d.model.is_empty() { " (" (d.model) ")" } } td { (d.serial) }
                    td { @if let Some(c) = &cert { (dn_readable(&c.subject)) br; "Số hiệu: " (c.serial) } }
                    td { @if let Some(c) = &cert { (fmt_date(c.not_before)) " – " (fmt_date(c.not_after)) } }
                } } }
                @if !h.note.is_empty() { p { "Ghi chú: " (h.note) } }
                p { "Biên bản được lập thành 02 bản có giá trị như nhau, mỗi bên giữ 01 bản." }
                div.record-sign {
                    div { strong { "BÊN GIAO" } br; em { "(Ký, ghi rõ họ tên)" } br; br; br; br; (giver) }
                    div { strong { "BÊN NHẬN" } br; em { "(Ký, ghi rõ họ tên)" } br; br; br; br; (receiver) }
                }
            }
        },
    )
}
