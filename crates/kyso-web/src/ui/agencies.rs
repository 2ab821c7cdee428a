//! Agencies: the tree, creating and changing them.

use kyso_domain::registry::AgencyKind;
use kyso_domain::Named;

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// The label of a kind stored as `k` (the name itself if the enum does not know it).
pub(super) fn kind_label<T: Named>(k: &str, lang: Lang) -> String {
    T::from_name(k).map_or_else(|| k.to_owned(), |v| lang.pick(v.vi(), v.en()).to_owned())
}

/// A select list of every value of a kind, in the enum's order, labelled in the page's
/// language.
pub(super) fn kind_options<T: Named>(p: &Page) -> Vec<(String, String)> {
    T::all()
        .iter()
        .map(|v| (v.name().to_owned(), p.t(v.vi(), v.en()).to_owned()))
        .collect()
}

pub(super) async fn agencies_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<SearchQuery>,
) -> Response {
    let list = match registry::agencies(&st.store, &p.actor, &q.q, None).await {
        Ok(l) => l,
        Err(e) => return store_error(p.lang, e),
    };
    let min_depth = list.iter().map(|a| a.depth).min().unwrap_or(0);
    layout(
        &p,
        p.t("Cơ quan", "Agencies"),
        html! {
            h1 { (p.t("Cơ quan, tổ chức", "Agencies")) }
            form.filters method="get" action="/agencies" role="search" {
                div { label for="q" { (p.t("Tìm theo tên hoặc mã định danh", "Search by name or code")) }
                      input #q name="q" type="search" value=(q.q); }
                button.primary type="submit" { (p.t("Tìm", "Search")) }
                @if p.can(Permission::WriteRegistry) { a.button href="/agencies/new" { (p.t("Thêm cơ quan", "Add agency")) } }
            }
            @if list.is_empty() { (empty_list(&p, !q.q.is_empty(), ("Chưa có cơ quan nào.", "No agencies yet."))) }
            table {
                thead { tr {
                    th scope="col" { (p.t("Tên cơ quan", "Name")) }
                    th scope="col" { (p.t("Mã định danh", "Code")) }
                    th scope="col" { (p.t("Mã 13 ký tự", "13-character code")) }
                    th scope="col" { (p.t("Loại", "Kind")) }
                } }
                tbody { @for a in &list {
                    tr {
                        td style={ "padding-left:" ((a.depth - min_depth) * 24 + 8) "px" } {
                            a href={ "/agencies/" (a.id) } { (a.name) }
                        }
                        td { code { (a.code) } }
                        td { code { (a.legacy_code) } }
                        td { (kind_label::<AgencyKind>(&a.kind, p.lang)) }
                    }
                } }
            }
        },
    )
}

pub(super) async fn agency_new(State(st): State<AppState>, p: Page) -> Response {
    agency_form(&st, &p, &AgencyInput::default(), None).await
}

pub(super) async fn agency_options(
    st: &AppState,
    p: &Page,
    perm: Permission,
) -> Vec<(String, String)> {
    let list = registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default();
    list.into_iter()
        .filter(|a| p.actor.can(perm, &a.path))
        .map(|a| {
            (
                a.id.to_string(),
                format!("{}{} ({})", "— ".repeat(a.depth), a.name, a.code),
            )
        })
        .collect()
}

pub(super) async fn agency_form(
    st: &AppState,
    p: &Page,
    v: &AgencyInput,
    error: Option<&kyso_store::Error>,
) -> Response {
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    // The same name under the same parent: the officer may confirm it is another body.
    let same_name = matches!(
        error,
        Some(kyso_store::Error::Conflict { field: "name", .. })
    );
    let parents = agency_options(st, p, Permission::WriteRegistry).await;
    let kinds = kind_options::<AgencyKind>(p);
    let selected_parent = v.parent_id.map(|i| i.to_string()).unwrap_or_default();
    let res = layout(
        p,
        p.t("Thêm cơ quan", "Add agency"),
        html! {
            h1 { (p.t("Thêm cơ quan", "Add agency")) }
            (alert_error(msg.as_deref()))
            form method="post" action="/agencies" novalidate {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("parent_id", p.t("Cơ quan quản lý trực tiếp", "Managing agency"), &parents, &selected_parent, ef))
                (field("code", p.t("Mã định danh", "Electronic identifier code"), &v.code, "text", true, ef,
                       Some(p.t("Dạng H41.37 hoặc 000.00.37.H41", "Either H41.37 or 000.00.37.H41"))))
                (field("name", p.t("Tên cơ quan", "Name"), &v.name, "text", true, ef, None))
                @if same_name {
                    div.field {
                        label {
                            input type="checkbox" name="same_name_confirmed" value="1";
                            " " (p.t("Vẫn thêm cơ quan cùng tên (đã kiểm tra đây là cơ quan khác)",
                                     "Add it anyway (checked: this is another body)"))
                        }
                    }
                }
                (select("kind", p.t("Loại cơ quan", "Kind"), &kinds, &v.kind, ef))
                (field("address", p.t("Địa chỉ", "Address"), &v.address, "text", false, ef, None))
                (field("email", p.t("Thư điện tử", "Email"), &v.email, "email", false, ef, None))
                (field("phone", p.t("Số điện thoại", "Phone"), &v.phone, "tel", false, ef, None))
                button.primary type="submit" { (p.t("Lưu", "Save")) }
            }
        },
    );
    form_status(res, error.is_some())
}

pub(super) fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

/// A form page: 422 when it is shown again with a refusal, 200 otherwise.
pub(super) fn form_status(res: Response, refused: bool) -> Response {
    with_status(
        res,
        if refused {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

#[derive(Deserialize)]
pub(super) struct AgencyForm {
    csrf: String,
    #[serde(default)]
    parent_id: String,
    code: String,
    name: String,
    kind: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    /// The "add it anyway" box, shown after a same-name warning.
    #[serde(default)]
    same_name_confirmed: Option<String>,
}

impl AgencyForm {
    fn input(self) -> AgencyInput {
        AgencyInput {
            code: self.code,
            name: self.name,
            kind: self.kind,
            parent_id: self.parent_id.parse().ok(),
            address: self.address,
            email: self.email,
            phone: self.phone,
            same_name_confirmed: self.same_name_confirmed.is_some(),
        }
    }
}

pub(super) async fn agency_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<AgencyForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = f.input();
    match registry::create_agency(&st.store, &p.actor, &input, st.now()).await {
        Ok(_) => Redirect::to("/agencies?done=agency_created").into_response(),
        Err(e) => agency_form(&st, &p, &input, Some(&e)).await,
    }
}

/// An agency: its codes, place in the tree, contacts and who is below it; for those who keep
/// the registry, the form to rename it or change its kind and contacts (its code and parent
/// stay: they are its identity in the national code list).
pub(super) async fn agency_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    agency_view(&st, &p, id, None, None).await
}

async fn agency_view(
    st: &AppState,
    p: &Page,
    id: i64,
    typed: Option<&AgencyInput>,
    error: Option<&kyso_store::Error>,
) -> Response {
    let a = match registry::agency(&st.store, &p.actor, id, Permission::ReadRegistry).await {
        Ok(a) => a,
        Err(e) => return layout_store_error(p, e),
    };
    let parent = match a.parent_id {
        Some(pid) => registry::agency(&st.store, &Actor::system(), pid, Permission::ReadRegistry)
            .await
            .ok(),
        None => None,
    };
    let children: Vec<registry::Agency> = registry::agencies(&st.store, &p.actor, "", Some(id))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.parent_id == Some(id))
        .collect();
    let v = typed.cloned().unwrap_or_else(|| AgencyInput {
        code: a.code.clone(),
        name: a.name.clone(),
        kind: a.kind.clone(),
        parent_id: a.parent_id,
        address: a.address.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        same_name_confirmed: false,
    });
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let kinds = kind_options::<AgencyKind>(p);
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    let res = layout(
        p,
        &a.name,
        html! {
            h1 { (a.name) }
            table style="max-width:820px" { tbody {
                (row(p.t("Mã định danh", "Code"), html! { code { (a.code) } " · " code { (a.legacy_code) } }))
                (row(p.t("Loại", "Kind"), html! { (kind_label::<AgencyKind>(&a.kind, p.lang)) }))
                (row(p.t("Cơ quan quản lý trực tiếp", "Managing agency"), html! {
                    @match &parent { Some(x) => a href={ "/agencies/" (x.id) } { (x.name) }, None => (p.t("(cấp tỉnh)", "(province)")) }
                }))
                (row(p.t("Địa chỉ", "Address"), html! { (a.address) }))
                (row(p.t("Thư điện tử", "Email"), html! { (a.email) }))
                (row(p.t("Số điện thoại", "Phone"), html! { (a.phone) }))
                (row(p.t("Đơn vị trực thuộc", "Units below"), html! {
                    @if children.is_empty() { span.muted { (p.t("Không có", "None")) } }
                    @for (i, c) in children.iter().enumerate() { @if i > 0 { ", " } a href={ "/agencies/" (c.id) } { (c.name) } }
                }))
            } }
            p { a href={ "/subscribers?agency_id=" (a.id) } { (p.t("Thuê bao của cơ quan", "The agency's subscribers")) } " · "
                a href={ "/devices" } { (p.t("Thiết bị", "Devices")) } }
            @if p.actor.can(Permission::WriteRegistry, &a.path) {
                h2 style="font-size:18px" { (p.t("Sửa thông tin cơ quan", "Change the agency")) }
                (alert_error(msg.as_deref()))
                form method="post" action={ "/agencies/" (a.id) } novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="code" value=(a.code);
                    (field("name", p.t("Tên cơ quan", "Name"), &v.name, "text", true, ef, None))
                    (select("kind", p.t("Loại cơ quan", "Kind"), &kinds, &v.kind, ef))
                    (field("address", p.t("Địa chỉ", "Address"), &v.address, "text", false, ef, None))
                    (field("email", p.t("Thư điện tử", "Email"), &v.email, "email", false, ef, None))
                    (field("phone", p.t("Số điện thoại", "Phone"), &v.phone, "tel", false, ef, None))
                    button.primary type="submit" { (p.t("Lưu", "Save")) }
                }
            }
        },
    );
    form_status(res, error.is_some())
}

/// Save an agency's new name, kind and contacts.
pub(super) async fn agency_update_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<AgencyForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = f.input();
    match registry::update_agency(&st.store, &p.actor, id, &input, st.now()).await {
        Ok(_) => Redirect::to(&format!("/agencies/{id}?done=agency_saved")).into_response(),
        Err(e) => agency_view(&st, &p, id, Some(&input), Some(&e)).await,
    }
}
