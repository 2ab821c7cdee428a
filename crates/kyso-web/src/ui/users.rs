//! Accounts: the list and creating one (one account's own page is `account_pages`).

use super::*;

pub(super) async fn users_page(State(st): State<AppState>, p: Page) -> Response {
    users_view(&st, &p, None, &UserForm::default()).await
}

pub(super) async fn users_view(
    st: &AppState,
    p: &Page,
    error: Option<&kyso_store::Error>,
    v: &UserForm,
) -> Response {
    let users = match accounts::users(&st.store, &p.actor).await {
        Ok(u) => u,
        Err(e) => return layout_store_error(p, e),
    };
    let agencies = agency_options(st, p, Permission::ManageAccounts).await;
    let names: std::collections::HashMap<String, String> = agencies.iter().cloned().collect();
    let roles: Vec<(String, String)> = kyso_domain::roles::Role::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_owned(),
                p.t(r.label_vi(), r.label_en()).to_owned(),
            )
        })
        .collect();
    let role_label = |r: &str| {
        roles
            .iter()
            .find(|(k, _)| k == r)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| r.to_owned())
    };
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let res = layout(
        p,
        p.t("Tài khoản", "Accounts"),
        html! {
            h1 { (p.t("Tài khoản người dùng", "User accounts")) }
            (export_links(p, "/api/v1/users", ""))
            table { thead { tr {
                th scope="col" { (p.t("Tên đăng nhập", "User name")) } th scope="col" { (p.t("Họ và tên", "Full name")) }
                th scope="col" { (p.t("Vai trò", "Roles")) } th scope="col" { (p.t("Trạng thái", "Status")) }
            } } tbody { @for u in &users { tr {
                td { a href={ "/users/" (u.id) } { code { (u.username) } } } td { (u.full_name) }
                td { @for r in &u.roles { (role_label(&r.role)) " — " (names.get(&r.agency_id.to_string()).cloned().unwrap_or_default()) br; } }
                td { @if u.disabled { span.status-revoked { (p.t("Đã khóa", "Disabled")) } } @else { (p.t("Đang hoạt động", "Active")) } }
            } } } }
            p.hint { (p.t("Chọn tên đăng nhập để khóa, mở khóa tài khoản, cấp hoặc gỡ vai trò, đặt lại mật khẩu và thu hồi mã truy cập API.",
                          "Choose a user name to disable or enable the account, change roles, reset the password or revoke API tokens.")) }
            h2 style="font-size:18px" { (p.t("Tạo tài khoản", "Create an account")) }
            p.hint { (p.t("Người dùng phải đổi mật khẩu ban đầu ở lần đăng nhập đầu tiên.", "The user must change the initial password at the first login.")) }
            (alert_error(msg.as_deref()))
            form method="post" action="/users" novalidate {
                input type="hidden" name="csrf" value=(p.csrf);
                (field("username", p.t("Tên đăng nhập", "User name"), &v.username, "text", true, ef, Some(p.t("chữ không dấu, số, dấu chấm", "ASCII letters, digits, dots"))))
                (field("full_name", p.t("Họ và tên", "Full name"), &v.full_name, "text", true, ef, None))
                (field("email", p.t("Thư điện tử", "Email"), &v.email, "email", false, ef, None))
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, &v.agency_id, ef))
                // A new account starts with the least powerful role, never the first listed.
                (select("role", p.t("Vai trò (trên cơ quan này và các đơn vị trực thuộc)", "Role (on this agency and below)"), &roles,
                        if v.role.is_empty() { kyso_domain::roles::Role::Drafter.as_str() } else { &v.role }, ef))
                (field("password", p.t("Mật khẩu ban đầu", "Initial password"), "", "password", true, ef, Some(p.t("ít nhất 10 ký tự; không dùng mật khẩu phổ biến, dãy ký tự lặp lại hoặc liên tiếp, tên đăng nhập hay họ tên của người dùng",
                                 "at least 10 characters; not a common password, repeated or sequential characters, nor the user's name"))))
                button.primary type="submit" { (p.t("Tạo tài khoản", "Create the account")) }
            }
        },
    );
    form_status(res, error.is_some())
}

#[derive(Deserialize, Default)]
pub(super) struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: Zeroizing<String>,
}

pub(super) async fn user_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<UserForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let agency_id = f.agency_id.parse().unwrap_or(0);
    let input = accounts::NewUser {
        username: f.username.clone(),
        full_name: f.full_name.clone(),
        email: f.email.clone(),
        agency_id,
        password: f.password.clone(),
        roles: vec![accounts::RoleOn {
            role: f.role.clone(),
            agency_id,
        }],
        must_change_password: true,
    };
    let now = st.now();
    match accounts::create_user(&st.store, &p.actor, input, now).await {
        Ok(_) => Redirect::to("/users?done=user_created").into_response(),
        Err(e) => {
            users_view(
                &st,
                &p,
                Some(&e),
                &UserForm {
                    password: Zeroizing::new(String::new()),
                    ..f
                },
            )
            .await
        }
    }
}
