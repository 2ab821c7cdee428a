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
        Err(e) => return layout_store_error(&p, e),
    };
    let dissolved = if q.q.is_empty() {
        registry::dissolved_agencies(&st.store, &p.actor)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
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
            @else { (export_links(&p, "/api/v1/agencies", &query_string(&[("q", q.q.clone())]))) }
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
            @if !dissolved.is_empty() {
                details style="margin-top:16px" {
                    summary { (p.t("Cơ quan đã giải thể", "Dissolved agencies")) " (" (dissolved.len()) ")" }
                    ul { @for a in &dissolved {
                        li { a href={ "/agencies/" (a.id) } { (a.name) } " " code { (a.code) } " — " (time_text(a.dissolved_at.unwrap_or(0))) }
                    } }
                }
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
    agency_options_outside(st, p, perm, None).await
}

/// [`agency_options`] without the agencies of the subtree at `outside` (an agency and all its
/// units, at any depth).
async fn agency_options_outside(
    st: &AppState,
    p: &Page,
    perm: Permission,
    outside: Option<&str>,
) -> Vec<(String, String)> {
    let list = registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default();
    list.into_iter()
        .filter(|a| p.actor.can(perm, &a.path))
        .filter(|a| outside.is_none_or(|o| !a.path.starts_with(o)))
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
/// the registry, the form to rename it or change its kind and contacts, and for those who keep
/// its managing agency, the forms to move it elsewhere (a new code) or dissolve it.
pub(super) async fn agency_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    agency_view(&st, &p, id, Refused::None).await
}

/// A form of the agency's page shown again with what was typed and why it was refused.
enum Refused<'a> {
    None,
    Edit(&'a AgencyInput, &'a kyso_store::Error),
    Move(&'a registry::AgencyMove, &'a kyso_store::Error),
    Dissolve(&'a registry::AgencyDissolution, &'a kyso_store::Error),
}

impl Refused<'_> {
    fn error(&self) -> Option<&kyso_store::Error> {
        match self {
            Refused::None => None,
            Refused::Edit(_, e) | Refused::Move(_, e) | Refused::Dissolve(_, e) => Some(e),
        }
    }
}

async fn agency_view(st: &AppState, p: &Page, id: i64, refused: Refused<'_>) -> Response {
    let a = match registry::agency(&st.store, &p.actor, id, Permission::ReadRegistry).await {
        Ok(a) => a,
        Err(e) => return layout_store_error(p, e),
    };
    let named = |pid: Option<i64>| async move {
        match pid {
            Some(pid) => {
                registry::agency(&st.store, &Actor::system(), pid, Permission::ReadRegistry)
                    .await
                    .ok()
            }
            None => None,
        }
    };
    let parent = named(a.parent_id).await;
    let successor = named(a.successor_id).await;
    let children: Vec<registry::Agency> = registry::agencies(&st.store, &p.actor, "", Some(id))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.parent_id == Some(id))
        .collect();
    let v = match &refused {
        Refused::Edit(typed, _) => (*typed).clone(),
        _ => AgencyInput {
            code: a.code.clone(),
            name: a.name.clone(),
            kind: a.kind.clone(),
            parent_id: a.parent_id,
            address: a.address.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            same_name_confirmed: false,
        },
    };
    let msg = |which: bool| {
        refused
            .error()
            .filter(|_| which)
            .map(|e| e.message(p.lang == Lang::En))
    };
    let field_of = |which: bool| refused.error().filter(|_| which).and_then(|e| e.field());
    let (edit_err, move_err, dissolve_err) = (
        matches!(refused, Refused::Edit(..)),
        matches!(refused, Refused::Move(..)),
        matches!(refused, Refused::Dissolve(..)),
    );
    let kinds = kind_options::<AgencyKind>(p);
    // Moving and dissolving are decided by whoever keeps the managing agency.
    let keeps_parent = a.exists()
        && parent
            .as_ref()
            .is_some_and(|x| p.actor.can(Permission::WriteRegistry, &x.path));
    // Neither the agency itself nor any of its units, at any depth, can take it (or its people).
    let elsewhere: Vec<(String, String)> = if keeps_parent {
        agency_options_outside(st, p, Permission::WriteRegistry, Some(&a.path)).await
    } else {
        Vec::new()
    };
    let (move_to, dissolve_to) = match &refused {
        Refused::Move(m, _) => (
            (m.parent_id.to_string(), m.code.clone()),
            (String::new(), String::new()),
        ),
        Refused::Dissolve(d, _) => (
            (String::new(), String::new()),
            (d.successor_id.to_string(), d.reason.clone()),
        ),
        _ => Default::default(),
    };
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    let res = layout(
        p,
        &a.name,
        html! {
            h1 { (a.name) }
            @if let Some(at) = a.dissolved_at {
                div.alert.error role="status" {
                    (p.t("Cơ quan đã giải thể lúc ", "Dissolved at "))
                    (time_text(at))
                    @if !a.dissolution_reason.is_empty() { " — " (a.dissolution_reason) }
                    @if let Some(x) = &successor {
                        ". " (p.t("Thuê bao đã chuyển sang ", "Its subscribers went to "))
                        a href={ "/agencies/" (x.id) } { (x.name) } "."
                    }
                }
            }
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
            @if a.exists() && p.actor.can(Permission::WriteRegistry, &a.path) {
                h2 style="font-size:18px" { (p.t("Sửa thông tin cơ quan", "Change the agency")) }
                (alert_error(msg(edit_err).as_deref()))
                form method="post" action={ "/agencies/" (a.id) } novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="code" value=(a.code);
                    (field("name", p.t("Tên cơ quan", "Name"), &v.name, "text", true, field_of(edit_err), None))
                    (select("kind", p.t("Loại cơ quan", "Kind"), &kinds, &v.kind, field_of(edit_err)))
                    (field("address", p.t("Địa chỉ", "Address"), &v.address, "text", false, field_of(edit_err), None))
                    (field("email", p.t("Thư điện tử", "Email"), &v.email, "email", false, field_of(edit_err), None))
                    (field("phone", p.t("Số điện thoại", "Phone"), &v.phone, "tel", false, field_of(edit_err), None))
                    button.primary type="submit" { (p.t("Lưu", "Save")) }
                }
            }
            @if keeps_parent {
                h2 #chuyen style="font-size:18px" { (p.t("Chuyển sang cơ quan quản lý khác", "Move under another managing agency")) }
                p.muted { (p.t(
                    "Mã định danh mới phải bắt đầu bằng mã của cơ quan quản lý mới; mã của các đơn vị trực thuộc đổi theo. Trước khi chuyển, hệ thống cho xem các mã mới.",
                    "The new code starts with the new managing agency's code; the units' codes change with it. The new codes are shown before anything moves.")) }
                (alert_error(msg(move_err).as_deref()))
                form method="post" action={ "/agencies/" (a.id) "/move" } novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (select("parent_id", p.t("Cơ quan quản lý mới", "New managing agency"), &elsewhere, &move_to.0, field_of(move_err)))
                    (field("code", p.t("Mã định danh mới", "New code"), &move_to.1, "text", true, field_of(move_err),
                           Some(p.t("Dạng H41.37.05 hoặc 000.05.37.H41", "Either H41.37.05 or 000.05.37.H41"))))
                    button.primary type="submit" { (p.t("Xem các mã mới", "See the new codes")) }
                }
                h2 #giai-the style="font-size:18px" { (p.t("Giải thể cơ quan", "Dissolve the agency")) }
                p.muted { (p.t(
                    "Thuê bao cá nhân cùng chứng thư số và thiết bị chuyển sang cơ quan tiếp nhận; thuê bao của chính cơ quan ngừng sử dụng; vai trò cấp trên cơ quan này chấm dứt. Cơ quan vẫn được giữ trong hồ sơ, văn bản và nhật ký.",
                    "People with their certificates and devices go to the receiving agency; the agency's own subscribers are deactivated; roles granted on it end. The agency stays in records, documents and the log.")) }
                (alert_error(msg(dissolve_err).as_deref()))
                form method="post" action={ "/agencies/" (a.id) "/dissolve" } novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (select("successor_id", p.t("Cơ quan tiếp nhận thuê bao", "Agency taking the subscribers"), &elsewhere, &dissolve_to.0, field_of(dissolve_err)))
                    (field("reason", p.t("Căn cứ giải thể (số, ngày quyết định)", "Grounds (the decision's number and date)"), &dissolve_to.1, "text", true, field_of(dissolve_err), None))
                    button.danger type="submit" style="margin-left:0" { (p.t("Giải thể cơ quan", "Dissolve the agency")) }
                }
            }
        },
    );
    form_status(res, refused.error().is_some())
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
        Err(e) => agency_view(&st, &p, id, Refused::Edit(&input, &e)).await,
    }
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    csrf: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    code: String,
    /// Present once the officer has seen the new codes and confirmed.
    #[serde(default)]
    confirm: String,
}

/// Move an agency: first the new codes of it and its units to confirm, then the move.
pub(super) async fn agency_move_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<MoveForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let to = registry::AgencyMove {
        parent_id: f.parent_id.parse().unwrap_or(0),
        code: f.code,
    };
    if f.confirm != "yes" {
        let plan = match registry::preview_move(&st.store, &p.actor, id, &to).await {
            Ok(plan) => plan,
            Err(e) => return agency_view(&st, &p, id, Refused::Move(&to, &e)).await,
        };
        let parent = registry::agency(&st.store, &p.actor, to.parent_id, Permission::ReadRegistry)
            .await
            .map(|a| a.name)
            .unwrap_or_default();
        let lines: Vec<(String, String)> = plan
            .iter()
            .map(|r| {
                (
                    format!("{}: ", r.name),
                    format!("{} → {}", r.old_code, r.new_code),
                )
            })
            .collect();
        let mut facts: Vec<(&str, &str)> = vec![(p.t("Chuyển về: ", "Moves under: "), &parent)];
        facts.extend(lines.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let parent_id = to.parent_id.to_string();
        return super::confirm_page(
            &p,
            super::Confirm {
                heading: p.t("Chuyển cơ quan", "Move the agency"),
                question: p.t(
                    "Chuyển cơ quan với các mã định danh mới dưới đây? Văn bản và chứng thư số vẫn gắn với cơ quan; mã cũ không còn dùng để tìm.",
                    "Move the agency with the new codes below? Documents and certificates stay with it; the old codes no longer find it.",
                ),
                facts: &facts,
                action: &format!("/agencies/{id}/move"),
                multipart: false,
                hidden: &[("parent_id", &parent_id), ("code", &to.code)],
                button: p.t("Chuyển cơ quan", "Move the agency"),
                danger: false,
                cancel: &format!("/agencies/{id}"),
            },
        );
    }
    match registry::move_agency(&st.store, &p.actor, id, &to, st.now()).await {
        Ok(_) => Redirect::to(&format!("/agencies/{id}?done=agency_moved")).into_response(),
        Err(e) => agency_view(&st, &p, id, Refused::Move(&to, &e)).await,
    }
}

#[derive(Deserialize)]
pub(super) struct DissolveForm {
    csrf: String,
    #[serde(default)]
    successor_id: String,
    #[serde(default)]
    reason: String,
    /// Present once the officer has seen what happens and confirmed.
    #[serde(default)]
    confirm: String,
}

/// Dissolve an agency: first what would happen to confirm, then the dissolution.
pub(super) async fn agency_dissolve_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<DissolveForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let d = registry::AgencyDissolution {
        successor_id: f.successor_id.parse().unwrap_or(0),
        reason: f.reason,
    };
    if f.confirm != "yes" {
        let effects =
            match registry::preview_dissolution(&st.store, &p.actor, id, &d, st.now()).await {
                Ok(x) => x,
                Err(e) => return agency_view(&st, &p, id, Refused::Dissolve(&d, &e)).await,
            };
        let name = |aid: i64| {
            let st = &st;
            async move {
                registry::agency(&st.store, &Actor::system(), aid, Permission::ReadRegistry)
                    .await
                    .map(|a| a.name)
                    .unwrap_or_default()
            }
        };
        let (this, successor) = (name(id).await, name(d.successor_id).await);
        let people = effects.subscribers_moved.to_string();
        let own = effects.organizations_deactivated.to_string();
        let devices = effects.devices_moved.to_string();
        let accounts = effects.accounts.join(", ");
        let successor_id = d.successor_id.to_string();
        return super::confirm_page(
            &p,
            super::Confirm {
                heading: p.t("Giải thể cơ quan", "Dissolve the agency"),
                question: p.t(
                    "Giải thể cơ quan này? Việc này không hoàn tác được trên hệ thống: thuê bao, chứng thư số và thiết bị chuyển sang cơ quan tiếp nhận, vai trò trên cơ quan này chấm dứt.",
                    "Dissolve this agency? This cannot be undone here: subscribers, certificates and devices go to the receiving agency, roles on this agency end.",
                ),
                facts: &[
                    (p.t("Cơ quan: ", "Agency: "), &this),
                    (p.t("Cơ quan tiếp nhận: ", "Receiving agency: "), &successor),
                    (p.t("Căn cứ: ", "Grounds: "), &d.reason),
                    (p.t("Thuê bao cá nhân chuyển đi: ", "People moved: "), &people),
                    (p.t("Thuê bao của chính cơ quan ngừng sử dụng: ", "Own subscribers deactivated: "), &own),
                    (p.t("Thiết bị chuyển đi: ", "Devices moved: "), &devices),
                    (p.t("Tài khoản chuyển sang cơ quan tiếp nhận, mất vai trò tại đây: ", "Accounts moved, losing their role here: "), &accounts),
                ],
                action: &format!("/agencies/{id}/dissolve"),
                multipart: false,
                hidden: &[("successor_id", &successor_id), ("reason", &d.reason)],
                button: p.t("Giải thể cơ quan", "Dissolve the agency"),
                danger: true,
                cancel: &format!("/agencies/{id}"),
            },
        );
    }
    match registry::dissolve_agency(&st.store, &p.actor, id, &d, st.now()).await {
        Ok(_) => Redirect::to(&format!("/agencies/{id}?done=agency_dissolved")).into_response(),
        Err(e) => agency_view(&st, &p, id, Refused::Dissolve(&d, &e)).await,
    }
}
