//! Subscribers: search, the record (an audited read), creating and changing them.

use kyso_domain::registry::SubscriberKind;

use super::*;

pub(super) async fn subscribers_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<SubscriberQuery>,
) -> Response {
    let page = match registry::search_subscribers(&st.store, &p.actor, &q).await {
        Ok(r) => r,
        Err(e) => return layout_store_error(&p, e),
    };
    let agencies = agency_options(&st, &p, Permission::ReadRegistry).await;
    let mut agency_opts = vec![(String::new(), p.t("Tất cả", "All").to_owned())];
    agency_opts.extend(agencies);
    let selected = q.agency_id.map(|i| i.to_string()).unwrap_or_default();
    layout(
        &p,
        p.t("Thuê bao", "Subscribers"),
        html! {
            h1 { (p.t("Thuê bao", "Subscribers")) }
            form.filters method="get" action="/subscribers" role="search" {
                div { label for="q" { (p.t("Họ tên (có dấu hoặc không), số CCCD, thư điện tử", "Name (with or without diacritics), ID number, email")) }
                      input #q name="q" type="search" value=(q.q) size="40"; }
                div { (select("agency_id", p.t("Cơ quan (gồm cấp dưới)", "Agency (and below)"), &agency_opts, &selected, None)) }
                div { label { input type="checkbox" name="include_inactive" value="true" checked[q.include_inactive]; " " (p.t("Gồm cả thuê bao đã ngừng sử dụng", "Include deactivated subscribers")) } }
                button.primary type="submit" { (p.t("Tìm", "Search")) }
                @if p.can(Permission::WriteRegistry) { a.button href="/subscribers/new" { (p.t("Thêm thuê bao", "Add subscriber")) } }
            }
            p.muted { (page.total) " " (p.t("kết quả", "results")) }
            @if page.items.is_empty() {
                (empty_list(&p, !q.q.is_empty() || !selected.is_empty(), ("Chưa có thuê bao nào.", "No subscribers yet.")))
            } @else {
                (export_links(&p, "/api/v1/subscribers", &query_string(&[
                    ("q", q.q.clone()),
                    ("agency_id", selected.clone()),
                    ("include_inactive", if q.include_inactive { "true".to_owned() } else { String::new() }),
                ])))
            }
            table {
                thead { tr {
                    th scope="col" { (p.t("Họ và tên", "Name")) }
                    th scope="col" { (p.t("Chức vụ", "Title")) }
                    th scope="col" { (p.t("Cơ quan", "Agency")) }
                    th scope="col" { (p.t("Loại", "Kind")) }
                } }
                tbody { @for s in &page.items {
                    tr {
                        td { a href={ "/subscribers/" (s.id) } { (s.name) }
                             @if !s.active { " " span.muted { (p.t("(đã ngừng sử dụng)", "(deactivated)")) } } }
                        td { (s.title) }
                        td { (s.agency_name) }
                        td { (kind_label::<SubscriberKind>(&s.kind, p.lang)) }
                    }
                } }
            }
        },
    )
}

pub(super) async fn subscriber_new(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<SubscriberPrefill>,
) -> Response {
    let v = SubscriberInput {
        kind: "individual".into(),
        agency_id: q.agency_id.unwrap_or(0),
        ..Default::default()
    };
    subscriber_form(&st, &p, &v, None, None).await
}

#[derive(Deserialize, Default)]
pub(super) struct SubscriberPrefill {
    #[serde(default)]
    agency_id: Option<i64>,
}

/// The subscriber form: a new subscriber, or (`editing`) the changes to one.
pub(super) async fn subscriber_form(
    st: &AppState,
    p: &Page,
    v: &SubscriberInput,
    editing: Option<i64>,
    error: Option<&kyso_store::Error>,
) -> Response {
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let agencies = agency_options(st, p, Permission::WriteRegistry).await;
    let kinds = kind_options::<SubscriberKind>(p);
    let (title, action) = match editing {
        Some(id) => (
            p.t("Sửa thông tin thuê bao", "Change a subscriber"),
            format!("/subscribers/{id}/edit"),
        ),
        None => (
            p.t("Thêm thuê bao", "Add subscriber"),
            "/subscribers".to_owned(),
        ),
    };
    let res = layout(
        p,
        title,
        html! {
            h1 { (title) }
            (alert_error(msg.as_deref()))
            form method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("kind", p.t("Loại thuê bao", "Kind"), &kinds, &v.kind, ef))
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, &v.agency_id.to_string(), ef))
                (field("name", p.t("Họ và tên / Tên", "Name"), &v.name, "text", true, ef, None))
                (field("date_of_birth", p.t("Ngày sinh", "Date of birth"), &v.date_of_birth, "text", false, ef, Some(p.t("dd/mm/yyyy", "dd/mm/yyyy"))))
                (field("id_number", p.t("Số CMND/CCCD/Hộ chiếu", "ID number"), &v.id_number, "text", false, ef, None))
                (field("email", p.t("Thư điện tử công vụ", "Official email"), &v.email, "email", false, ef, None))
                (field("title", p.t("Chức vụ", "Title"), &v.title, "text", false, ef, None))
                (field("unit", p.t("Đơn vị", "Unit"), &v.unit, "text", false, ef, None))
                (field("phone", p.t("Số điện thoại di động", "Mobile phone"), &v.phone, "tel", false, ef, None))
                button.primary type="submit" { (p.t("Lưu", "Save")) }
            }
        },
    );
    form_status(res, error.is_some())
}

#[derive(Deserialize)]
pub(super) struct SubscriberForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    agency_id: String,
    name: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    phone: String,
}

impl SubscriberForm {
    fn input(self) -> SubscriberInput {
        SubscriberInput {
            kind: self.kind,
            agency_id: self.agency_id.parse().unwrap_or(0),
            name: self.name,
            date_of_birth: self.date_of_birth,
            id_number: self.id_number,
            email: self.email,
            title: self.title,
            unit: self.unit,
            phone: self.phone,
        }
    }
}

pub(super) async fn subscriber_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<SubscriberForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = f.input();
    match registry::create_subscriber(&st.store, &p.actor, &input, st.now()).await {
        Ok(s) => {
            Redirect::to(&format!("/subscribers/{}?done=subscriber_created", s.id)).into_response()
        }
        Err(e) => subscriber_form(&st, &p, &input, None, Some(&e)).await,
    }
}

/// The form to change a subscriber, filled with what the registry has.
pub(super) async fn subscriber_edit(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let s = match registry::subscriber(&st.store, &p.actor, id).await {
        Ok(s) => s,
        Err(e) => return layout_store_error(&p, e),
    };
    if !p.can(Permission::WriteRegistry) {
        return layout_error(
            &p,
            StatusCode::FORBIDDEN,
            p.t(
                "Bạn không có quyền sửa thông tin thuê bao.",
                "You may not change subscribers.",
            ),
        );
    }
    let v = SubscriberInput {
        kind: s.kind,
        agency_id: s.agency_id,
        name: s.name,
        date_of_birth: kyso_domain::calendar::iso_day_text(&s.date_of_birth),
        id_number: s.id_number,
        email: s.email,
        title: s.title,
        unit: s.unit,
        phone: s.phone,
    };
    subscriber_form(&st, &p, &v, Some(id), None).await
}

/// Save the changes to a subscriber; a refusal keeps what was typed, at its field.
pub(super) async fn subscriber_edit_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<SubscriberForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = f.input();
    match registry::update_subscriber(&st.store, &p.actor, id, &input, st.now()).await {
        Ok(_) => Redirect::to(&format!("/subscribers/{id}?done=subscriber_saved")).into_response(),
        // Not there or out of reach: no form to show again.
        Err(e @ (kyso_store::Error::NotFound { .. } | kyso_store::Error::Forbidden)) => {
            layout_store_error(&p, e)
        }
        Err(e) => subscriber_form(&st, &p, &input, Some(id), Some(&e)).await,
    }
}

pub(super) async fn subscriber_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let now = st.now();
    let s = match registry::subscriber(&st.store, &p.actor, id).await {
        Ok(s) => s,
        Err(e) => return layout_store_error(&p, e),
    };
    let object = format!("subscriber:{id}");
    if let Err(refusal) = audit_read(&st, &p, "subscriber.read", object, s.agency_id).await {
        return refusal;
    }
    let certs = registry::search_certificates(
        &st.store,
        &p.actor,
        &CertQuery {
            subscriber_id: Some(id),
            limit: Some(100),
            ..Default::default()
        },
        now,
    )
    .await
    .map(|r| r.items)
    .unwrap_or_default();
    let row = |k: &str, v: &str| html! { tr { th scope="row" { (k) } td { (v) } } };
    layout(
        &p,
        &s.name,
        html! {
            h1 { (s.name) }
            @if !s.active {
                div.alert.error role="status" {
                    (p.t("Thuê bao đã ngừng sử dụng", "This subscriber is deactivated"))
                    @if !s.deactivation_reason.is_empty() { " — " (s.deactivation_reason) }
                }
            }
            table style="max-width:720px" { tbody {
                (row(p.t("Loại", "Kind"), &kind_label::<SubscriberKind>(&s.kind, p.lang)))
                (row(p.t("Cơ quan", "Agency"), &s.agency_name))
                (row(p.t("Chức vụ", "Title"), &s.title))
                (row(p.t("Đơn vị", "Unit"), &s.unit))
                (row(p.t("Ngày sinh", "Date of birth"), &kyso_domain::calendar::iso_day_text(&s.date_of_birth)))
                (row(p.t("Số CMND/CCCD", "ID number"), &s.id_number))
                (row(p.t("Thư điện tử", "Email"), &s.email))
                (row(p.t("Điện thoại", "Phone"), &s.phone))
            } }
            h2 style="font-size:18px" { (p.t("Chứng thư số", "Certificates")) }
            (cert_table(&p, &certs, now))
            @if p.can(Permission::WriteRegistry) {
                p {
                    a.button href={ "/certificates/import?agency_id=" (s.agency_id) "&subscriber_id=" (s.id) } { (p.t("Nhập chứng thư số", "Import a certificate")) }
                    " "
                    a href={ "/subscribers/" (s.id) "/edit" } { (p.t("Sửa thông tin thuê bao", "Change the subscriber")) }
                }
                form method="post" action={ "/subscribers/" (s.id) "/active" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    @if s.active {
                        input type="hidden" name="active" value="no";
                        (field("reason", p.t("Lý do ngừng sử dụng (nghỉ hưu, chuyển công tác…)", "Reason (retired, moved…)"), "", "text", false, None, None))
                        button.danger type="submit" style="margin-left:0" { (p.t("Ngừng sử dụng thuê bao", "Deactivate the subscriber")) }
                    } @else {
                        input type="hidden" name="active" value="yes";
                        button.primary type="submit" { (p.t("Dùng lại thuê bao", "Reactivate the subscriber")) }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub(super) struct ActiveForm {
    csrf: String,
    /// `yes` to take the subscriber back, `no` to deactivate.
    active: String,
    #[serde(default)]
    reason: String,
    /// Present once the officer has confirmed a deactivation.
    #[serde(default)]
    confirm: String,
}

/// Deactivate a subscriber (asked first, with the reason) or take them back.
pub(super) async fn subscriber_active_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<ActiveForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let active = f.active == "yes";
    if !active && f.confirm != "yes" {
        let s = match registry::subscriber(&st.store, &p.actor, id).await {
            Ok(s) => s,
            Err(e) => return layout_store_error(&p, e),
        };
        return super::confirm_page(
            &p,
            super::Confirm {
                heading: p.t("Ngừng sử dụng thuê bao", "Deactivate the subscriber"),
                question: p.t(
                    "Ngừng sử dụng thuê bao này? Thuê bao không còn trong danh sách và các biểu mẫu; chứng thư số, thiết bị và nhật ký vẫn giữ tên. Có thể dùng lại sau.",
                    "Deactivate this subscriber? They leave the lists and forms; certificates, devices and the log keep their name. They can be taken back later.",
                ),
                facts: &[
                    (p.t("Thuê bao: ", "Subscriber: "), s.name.as_str()),
                    (p.t("Lý do: ", "Reason: "), f.reason.as_str()),
                ],
                action: &format!("/subscribers/{id}/active"),
                multipart: false,
                hidden: &[("active", "no"), ("reason", f.reason.as_str())],
                button: p.t("Ngừng sử dụng thuê bao", "Deactivate the subscriber"),
                danger: true,
                cancel: &format!("/subscribers/{id}"),
            },
        );
    }
    match registry::set_subscriber_active(&st.store, &p.actor, id, active, &f.reason, st.now())
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/subscribers/{id}?done={}",
            if active {
                "subscriber_reactivated"
            } else {
                "subscriber_deactivated"
            }
        ))
        .into_response(),
        Err(e) => layout_store_error(&p, e),
    }
}
