//! An account's own page for administrators (disable, enable, roles, password reset, API
//! tokens) and the "my API tokens" list of the password page. Every destructive action asks
//! for confirmation first; every action ends with a success message.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kyso_domain::roles::{Permission, Role};
use kyso_store::accounts::{self, ApiToken, RoleOn};
use maud::{html, Markup};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{
    agency_options, alert_error, alert_ok, form_status, layout, layout_store_error, local_redirect,
    select, Page,
};
use crate::auth::Lang;
use crate::AppState;

/// The `?done=` of a page reached after an action: which success message to show.
#[derive(Deserialize, Default)]
pub(super) struct Done {
    #[serde(default)]
    done: String,
}

impl Done {
    pub(super) fn message<'a>(&self, p: &'a Page) -> Option<&'a str> {
        Some(match self.done.as_str() {
            "disabled" => p.t(
                "Đã khóa tài khoản. Mọi phiên đăng nhập và mã truy cập API của tài khoản đã bị chấm dứt.",
                "The account is disabled. All its sessions and API tokens have ended.",
            ),
            "enabled" => p.t("Đã mở khóa tài khoản.", "The account is enabled."),
            "role_added" => p.t("Đã cấp vai trò.", "The role is granted."),
            "role_removed" => p.t("Đã gỡ vai trò.", "The role is removed."),
            "token_revoked" => p.t("Đã thu hồi mã truy cập API.", "The API token is revoked."),
            "session_ended" => p.t(
                "Đã kết thúc phiên đăng nhập; trình duyệt đó phải đăng nhập lại.",
                "The session has ended; that browser must log in again.",
            ),
            _ => return None,
        })
    }
}

fn date(unix: i64) -> String {
    super::fmt_date(OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn role_label(p: &Page, role: &str) -> String {
    role.parse::<Role>()
        .map(|r| p.t(r.label_vi(), r.label_en()).to_owned())
        .unwrap_or_else(|_| role.to_owned())
}

/// The list of API tokens with a revoke button each; `back` is the page to return to.
pub(super) fn tokens_section(p: &Page, tokens: &[ApiToken], back: &str, own: bool) -> Markup {
    html! {
        h2 style="font-size:18px" {
            @if own { (p.t("Mã truy cập API của tôi", "My API tokens")) }
            @else { (p.t("Mã truy cập API", "API tokens")) }
        }
        @if tokens.is_empty() {
            p.muted { (p.t("Không có mã truy cập API còn hiệu lực.", "No API tokens in force.")) }
        } @else {
            table { thead { tr {
                th scope="col" { (p.t("Tên", "Name")) } th scope="col" { (p.t("Ngày tạo", "Created")) }
                th scope="col" { (p.t("Hết hạn", "Expires")) } th scope="col" { (p.t("Thao tác", "Action")) }
            } } tbody { @for t in tokens { tr {
                td { (t.name) } td { (date(t.created_at)) } td { (date(t.expires_at)) }
                td { form method="post" action={ "/tokens/" (t.id) "/revoke" } style="margin:0" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="back" value=(back);
                    button type="submit" aria-label={ (p.t("Thu hồi mã truy cập", "Revoke the token")) " " (t.name) } {
                        (p.t("Thu hồi", "Revoke"))
                    }
                } }
            } } } }
        }
        @if own {
            p { a href="/sessions" { (p.t("Các phiên đăng nhập của tôi", "My sessions")) } }
        }
    }
}

pub(super) async fn user_page(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    user_view(&st, &p, id, done.message(&p), None).await
}

async fn user_view(
    st: &AppState,
    p: &Page,
    id: i64,
    ok: Option<&str>,
    error: Option<&kyso_store::Error>,
) -> Response {
    let (u, home) = match accounts::managed_user(&st.store, &p.actor, id).await {
        Ok(u) => u,
        Err(e) => return layout_store_error(p, e),
    };
    let tokens = match accounts::api_tokens(&st.store, &p.actor, id, st.now()).await {
        Ok(t) => t,
        Err(e) => return layout_store_error(p, e),
    };
    let agencies = agency_options(st, p, Permission::ManageAccounts).await;
    let agency_name = |aid: i64| {
        agencies
            .iter()
            .find(|(k, _)| *k == aid.to_string())
            .map(|(_, n)| n.trim_start_matches("— ").to_owned())
            .unwrap_or_else(|| aid.to_string())
    };
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_owned(),
                p.t(r.label_vi(), r.label_en()).to_owned(),
            )
        })
        .collect();
    let own = u.id == p.actor.user_id;
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let ef = error.and_then(|e| e.field());
    let base = format!("/users/{id}");
    let res = layout(
        p,
        p.t("Tài khoản", "Account"),
        html! {
            p { a href="/users" { (p.t("← Danh sách tài khoản", "← All accounts")) } }
            h1 { (p.t("Tài khoản ", "Account ")) code { (u.username) } }
            (alert_ok(ok))
            (alert_error(msg.as_deref()))
            table style="max-width:720px;margin-bottom:16px" { tbody {
                tr { th scope="row" { (p.t("Họ và tên", "Full name")) } td { (u.full_name) } }
                tr { th scope="row" { (p.t("Cơ quan", "Agency")) } td { (home.name) " (" (home.code) ")" } }
                tr { th scope="row" { (p.t("Trạng thái", "Status")) } td #account-status {
                    @if u.disabled { span.status-revoked { (p.t("Đã khóa", "Disabled")) } }
                    @else { span.status-active { (p.t("Đang hoạt động", "Active")) } }
                    @if u.must_change_password { br; (p.t("Phải đổi mật khẩu ở lần đăng nhập tới", "Must change the password at the next login")) }
                } }
            } }

            h2 style="font-size:18px" { (p.t("Vai trò", "Roles")) }
            table style="max-width:720px" { thead { tr {
                th scope="col" { (p.t("Vai trò", "Role")) } th scope="col" { (p.t("Trên cơ quan", "On agency")) }
                th scope="col" { (p.t("Thao tác", "Action")) }
            } } tbody { @for r in &u.roles { tr {
                td { (role_label(p, &r.role)) } td { (agency_name(r.agency_id)) }
                td { form method="post" action={ (base) "/role_remove" } style="margin:0" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="role" value=(r.role);
                    input type="hidden" name="agency_id" value=(r.agency_id);
                    button type="submit" aria-label={ (p.t("Gỡ vai trò", "Remove the role")) " " (role_label(p, &r.role)) } {
                        (p.t("Gỡ vai trò", "Remove"))
                    }
                } }
            } } } }
            form method="post" action={ (base) "/role_add" } style="margin-top:12px" {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("role", p.t("Vai trò cần cấp", "Role to grant"), &roles, "", ef))
                (select("agency_id", p.t("Trên cơ quan (và các đơn vị trực thuộc)", "On agency (and below)"), &agencies, &u.agency_id.to_string(), ef))
                button type="submit" { (p.t("Cấp vai trò", "Grant the role")) }
            }

            h2 style="font-size:18px" { (p.t("Khóa và mật khẩu", "Access and password")) }
            @if u.disabled {
                form method="post" action={ (base) "/enable" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button type="submit" { (p.t("Mở khóa tài khoản", "Enable the account")) }
                }
            } @else if !own {
                form method="post" action={ (base) "/disable" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button type="submit" { (p.t("Khóa tài khoản", "Disable the account")) }
                }
            }
            @if !own {
                p.hint { (p.t("Đặt lại mật khẩu tạo một mật khẩu dùng một lần; người dùng phải đổi mật khẩu này ở lần đăng nhập tới.",
                              "A reset makes a one-time password the user must change at the next login.")) }
                form method="post" action={ (base) "/reset" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button type="submit" { (p.t("Đặt lại mật khẩu", "Reset the password")) }
                }
            }
            (tokens_section(p, &tokens, &base, own))
        },
    );
    form_status(res, error.is_some())
}

#[derive(Deserialize)]
pub(super) struct ActForm {
    csrf: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    back: String,
}

/// The confirmation of an account action: the same form posted again with `confirm=yes`.
fn confirm_page(
    p: &Page,
    action: &str,
    f: &ActForm,
    question: &str,
    button: &str,
    cancel: &str,
) -> Response {
    super::confirm_page(
        p,
        super::Confirm {
            heading: p.t("Xác nhận thao tác", "Confirm the action"),
            question,
            facts: &[],
            action,
            multipart: false,
            hidden: &[
                ("role", &f.role),
                ("agency_id", &f.agency_id),
                ("back", &f.back),
            ],
            button,
            danger: false,
            cancel,
        },
    )
}

pub(super) async fn user_act(
    State(st): State<AppState>,
    p: Page,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let (u, _) = match accounts::managed_user(&st.store, &p.actor, id).await {
        Ok(u) => u,
        Err(e) => return layout_store_error(&p, e),
    };
    let base = format!("/users/{id}");
    let here = format!("{base}/{action}");
    let confirmed = f.confirm == "yes";
    let now = st.now();
    let role = RoleOn {
        role: f.role.clone(),
        agency_id: f.agency_id.parse().unwrap_or(0),
    };
    let result = match action.as_str() {
        "disable" if !confirmed => {
            let q = format!(
                "{} {}? {}",
                p.t("Bạn có chắc chắn muốn khóa tài khoản", "Disable the account"),
                u.username,
                p.t(
                    "Người dùng sẽ không đăng nhập được; mọi phiên đăng nhập và mã truy cập API của tài khoản sẽ bị chấm dứt.",
                    "The user can no longer log in; all the account's sessions and API tokens end."
                )
            );
            return confirm_page(
                &p,
                &here,
                &f,
                &q,
                p.t("Xác nhận khóa tài khoản", "Disable the account"),
                &base,
            );
        }
        "reset" if !confirmed => {
            let q = format!(
                "{} {}? {}",
                p.t("Bạn có chắc chắn muốn đặt lại mật khẩu của tài khoản", "Reset the password of"),
                u.username,
                p.t(
                    "Mật khẩu hiện tại hết hiệu lực; mọi phiên đăng nhập và mã truy cập API của tài khoản sẽ bị chấm dứt.",
                    "The current password stops working; all the account's sessions and API tokens end."
                )
            );
            return confirm_page(
                &p,
                &here,
                &f,
                &q,
                p.t("Xác nhận đặt lại mật khẩu", "Reset the password"),
                &base,
            );
        }
        "role_remove" if !confirmed => {
            let q = format!(
                "{} {} {} {}?",
                p.t("Bạn có chắc chắn muốn gỡ vai trò", "Remove the role"),
                role_label(&p, &f.role),
                p.t("của tài khoản", "of"),
                u.username
            );
            return confirm_page(
                &p,
                &here,
                &f,
                &q,
                p.t("Xác nhận gỡ vai trò", "Remove the role"),
                &base,
            );
        }
        "disable" => accounts::set_disabled(&st.store, &p.actor, id, true, now)
            .await
            .map(|_| "disabled"),
        "enable" => accounts::set_disabled(&st.store, &p.actor, id, false, now)
            .await
            .map(|_| "enabled"),
        "role_add" => accounts::set_role(&st.store, &p.actor, id, &role, true, now)
            .await
            .map(|_| "role_added"),
        "role_remove" => accounts::set_role(&st.store, &p.actor, id, &role, false, now)
            .await
            .map(|_| "role_removed"),
        "reset" => {
            return match accounts::reset_password(&st.store, &p.actor, id, now).await {
                Ok(password) => reset_result(&p, &u.username, &base, &password),
                Err(e) => error_or_page(&st, &p, id, e).await,
            }
        }
        _ => {
            return layout_store_error(
                &p,
                kyso_store::Error::NotFound {
                    what: kyso_store::Record::Page,
                },
            )
        }
    };
    match result {
        Ok(done) => Redirect::to(&format!("{base}?done={done}")).into_response(),
        Err(e) => error_or_page(&st, &p, id, e).await,
    }
}

/// A refusal: not found and forbidden get the error page; a mistake shows the account page
/// with the message.
async fn error_or_page(st: &AppState, p: &Page, id: i64, e: kyso_store::Error) -> Response {
    match e {
        kyso_store::Error::Invalid { .. } | kyso_store::Error::Conflict { .. } => {
            user_view(st, p, id, None, Some(&e)).await
        }
        e => layout_store_error(p, e),
    }
}

/// The one-time password, shown this once (never cached).
fn reset_result(p: &Page, username: &str, base: &str, password: &str) -> Response {
    let mut res = layout(
        p,
        p.t("Đã đặt lại mật khẩu", "Password reset"),
        html! {
            h1 { (p.t("Đã đặt lại mật khẩu", "The password is reset")) }
            div.alert.ok role="status" {
                (p.t("Đã đặt lại mật khẩu của tài khoản ", "The password of ")) code { (username) }
                (p.t(". Mọi phiên đăng nhập và mã truy cập API của tài khoản đã bị chấm dứt.",
                     " is reset. All the account's sessions and API tokens have ended."))
            }
            p { (p.t("Mật khẩu dùng một lần:", "One-time password:")) " "
                code #one-time-password style="font-size:20px" { (password) } }
            p.hint { (p.t("Mật khẩu này chỉ hiển thị một lần. Hãy chuyển cho người dùng qua kênh an toàn; người dùng phải đổi mật khẩu ở lần đăng nhập tới.",
                          "This password is shown only once. Give it to the user through a safe channel; they must change it at the next login.")) }
            p { a href=(base) { (p.t("Quay lại trang tài khoản", "Back to the account")) } }
        },
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(super) async fn token_revoke(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<i64>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let back = super::local_path(&f.back).to_owned();
    if f.confirm != "yes" {
        let q = p.t(
            "Bạn có chắc chắn muốn thu hồi mã truy cập API này? Chương trình đang dùng mã sẽ không truy cập được nữa.",
            "Revoke this API token? Programs using it lose access.",
        );
        return confirm_page(
            &p,
            &format!("/tokens/{id}/revoke"),
            &f,
            q,
            p.t("Xác nhận thu hồi", "Revoke the token"),
            &back,
        );
    }
    match accounts::revoke_api_token(&st.store, &p.actor, id, st.now()).await {
        Ok(()) => local_redirect(&format!("{back}?done=token_revoked")),
        Err(e) => layout_store_error(&p, e),
    }
}

/// My browser sessions (issue 15 item 4): where and when each was opened, this one marked,
/// the others with an "end this session" button.
pub(super) async fn sessions_page(
    State(st): State<AppState>,
    p: Page,
    headers: axum::http::HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let current = crate::auth::cookie_in(&headers, crate::auth::SESSION_COOKIE);
    let sessions = match accounts::sessions(&st.store, &p.actor, current.as_deref(), st.now()).await
    {
        Ok(s) => s,
        Err(e) => return layout_store_error(&p, e),
    };
    let title = p.t("Các phiên đăng nhập của tôi", "My sessions");
    layout(
        &p,
        title,
        html! {
            h1 { (title) }
            (alert_ok(done.message(&p)))
            p.muted { (p.t(
                "Mỗi trình duyệt đã đăng nhập bằng tài khoản của bạn là một phiên. Nếu thấy phiên lạ, hãy kết thúc phiên đó và đổi mật khẩu.",
                "Each browser logged in with your account is a session. If you see one you do not know, end it and change your password.",
            )) }
            table { thead { tr {
                th scope="col" { (p.t("Đăng nhập lúc", "Logged in")) }
                th scope="col" { (p.t("Từ địa chỉ", "From")) }
                th scope="col" { (p.t("Hết hạn", "Expires")) }
                th scope="col" { (p.t("Thao tác", "Action")) }
            } } tbody { @for s in &sessions { tr {
                td { (date(s.created_at)) } td { (s.source) } td { (date(s.expires_at)) }
                td {
                    @if s.current { (p.t("Phiên này", "This session")) }
                    @else {
                        form method="post" action={ "/sessions/" (s.id) "/end" } style="margin:0" {
                            input type="hidden" name="csrf" value=(p.csrf);
                            button type="submit" aria-label={ (p.t("Kết thúc phiên từ", "End the session from")) " " (s.source) } {
                                (p.t("Kết thúc phiên", "End this session"))
                            }
                        }
                    }
                }
            } } } }
            p { a href="/password" { (p.t("Đổi mật khẩu", "Change my password")) } }
        },
    )
}

/// End one of my sessions, after a confirmation.
pub(super) async fn session_end(
    State(st): State<AppState>,
    p: Page,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    if f.confirm != "yes" {
        let q = p.t(
            "Kết thúc phiên đăng nhập này? Trình duyệt đang dùng phiên sẽ phải đăng nhập lại.",
            "End this session? The browser using it will have to log in again.",
        );
        return confirm_page(
            &p,
            &format!("/sessions/{id}/end"),
            &f,
            q,
            p.t("Xác nhận kết thúc phiên", "End the session"),
            "/sessions",
        );
    }
    match accounts::end_session(&st.store, &p.actor, &id, st.now()).await {
        Ok(()) => local_redirect("/sessions?done=session_ended"),
        Err(e) => layout_store_error(&p, e),
    }
}
