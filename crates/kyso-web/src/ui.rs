//! The server-rendered web UI: Vietnamese by default (English switch), every control labelled
//! and reachable with the keyboard, every form carrying the session's CSRF token.

use axum::extract::{FromRequestParts, Multipart, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kyso_domain::device::{DeviceEvent, DeviceKind, DeviceState};
use kyso_domain::roles::Permission;
use kyso_store::registry::{
    self, AgencyInput, CertQuery, DeviceEventInput, SubscriberInput, SubscriberQuery,
};
use kyso_store::{accounts, audit, Actor};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::api::Id;
use crate::auth::{self, cookie, Lang, LANG_COOKIE, SESSION_COOKIE};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(password_submit))
        .route("/lang", get(switch_lang))
        .route("/agencies", get(agencies_page).post(agency_submit))
        .route("/agencies/new", get(agency_new))
        .route(
            "/subscribers",
            get(subscribers_page).post(subscriber_submit),
        )
        .route("/subscribers/new", get(subscriber_new))
        .route("/subscribers/{id}", get(subscriber_page))
        .route("/certificates", get(certificates_page))
        .route("/certificates/import", get(import_page).post(import_submit))
        .route("/devices", get(devices_page))
        .route("/devices/{id}", get(device_page).post(device_event_submit))
        .route("/audit", get(audit_page))
        .route("/users", get(users_page).post(user_submit))
        .route("/users/{id}", get(account_pages::user_page))
        .route("/users/{id}/{action}", post(account_pages::user_act))
        .route("/tokens/{id}/revoke", post(account_pages::token_revoke))
        .route("/notices", get(notices_page))
        .route("/notices/{id}/read", post(notice_read))
        .route(
            "/requests",
            get(requests::list_page).post(requests::create_submit),
        )
        .route("/requests/new", get(requests::new_page))
        .route("/requests/{id}", get(requests::detail_page))
        .route("/requests/{id}/act", post(requests::act_submit))
        .route("/requests/{id}/letter.pdf", get(requests::letter_download))
}

mod account_pages;
mod requests;

/// A logged-in browser page: the session's actor and CSRF token, and the language.
struct Page {
    actor: Actor,
    csrf: String,
    lang: Lang,
    path: String,
    /// The audit log check's failure (Vietnamese, English), shown to auditors.
    audit_alert: Option<(String, String)>,
}

/// What a page answers when the visitor must log in (or change the one-time password) first.
struct ToLogin(Response);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = ToLogin;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ToLogin> {
        let lang = Lang::from_parts(parts);
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(ToLogin(Redirect::to("/login").into_response()));
        };
        let src = auth::source(parts);
        match accounts::session_actor(&st.store, &token, &src, st.now()).await {
            Ok((actor, csrf, must_change)) => {
                crate::observability::record_user(actor.user_id);
                if must_change && parts.uri.path() != "/password" {
                    return Err(ToLogin(Redirect::to("/password").into_response()));
                }
                let audit_alert = if actor.scope(Permission::ReadAudit).is_empty() {
                    None
                } else {
                    st.audit_alert.read().ok().and_then(|a| a.clone())
                };
                Ok(Page {
                    actor,
                    csrf,
                    lang,
                    path: parts.uri.path().to_owned(),
                    audit_alert,
                })
            }
            Err(_) => Err(ToLogin(Redirect::to("/login").into_response())),
        }
    }
}

impl Page {
    fn t<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(vi, en)
    }

    /// The refusal page when a form's CSRF token is not the session's.
    fn csrf_refusal(&self, sent: &str) -> Option<Response> {
        if sent == self.csrf {
            None
        } else {
            Some(error_page(
                self.lang,
                StatusCode::FORBIDDEN,
                self.t(
                    "Biểu mẫu đã hết hạn hoặc không đến từ trang này; hãy tải lại trang và thử lại.",
                    "The form has expired or did not come from this site; reload and try again.",
                ),
            ))
        }
    }

    fn can(&self, p: Permission) -> bool {
        !self.actor.scope(p).is_empty()
    }
}

const STYLE: &str = r#"
:root{--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--brand:#a31515;--bg:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 "Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--ink);background:var(--bg)}
a{color:#0550ae}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #fbbc04;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header{background:var(--brand);color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:4px 6px;border-radius:4px}header a[aria-current]{background:rgba(255,255,255,.2)}
header .brand{font-weight:700;font-size:18px;margin-right:12px}header form{margin:0}header .right{margin-left:auto;display:flex;gap:8px;align-items:center}
header button{background:transparent;border:1px solid #fff;color:#fff;padding:3px 10px;border-radius:4px;cursor:pointer}
main{max-width:1200px;margin:16px auto;padding:0 16px}h1{font-size:24px;margin:8px 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px}.card .n{font-size:28px;font-weight:700}
.card.warn .n{color:var(--warn)}.card.bad .n{color:var(--bad)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:flex-end;margin-bottom:12px}
label{display:block;font-weight:600;font-size:14px;margin-bottom:2px}input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #8c959f;border-radius:4px;background:#fff}
.field{margin-bottom:12px}.field input,.field select{width:100%;max-width:480px}.hint{color:var(--muted);font-size:13px}
button.primary,a.button{background:var(--brand);color:#fff;border:0;padding:8px 16px;border-radius:4px;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
.alert{padding:10px 12px;border-radius:6px;margin-bottom:12px;border:1px solid}.alert.error{background:#ffebe9;border-color:#ff8182}.alert.ok{background:#dafbe1;border-color:#4ac26b}
[aria-invalid=true]{border-color:var(--bad);background:#fff5f5}.status-expired,.status-revoked{color:var(--bad);font-weight:600}.status-active{color:var(--ok)}
.muted{color:var(--muted)}.login{max-width:420px;margin:60px auto;background:#fff;border:1px solid var(--line);border-radius:8px;padding:24px}
"#;

fn nav_item(p: &Page, href: &str, label: &str) -> Markup {
    let current = if href == "/" {
        p.path == "/"
    } else {
        p.path.starts_with(href)
    };
    html! {
        @if current { a href=(href) aria-current="page" { (label) } } @else { a href=(href) { (label) } }
    }
}

fn layout(p: &Page, title: &str, body: Markup) -> Response {
    let lang = p.lang;
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — kyso" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { (p.t("Bỏ qua đến nội dung", "Skip to content")) }
                header {
                    span.brand { "kyso" }
                    nav aria-label=(p.t("Điều hướng chính", "Main navigation")) {
                        (nav_item(p, "/", p.t("Tổng quan", "Dashboard")))
                        (nav_item(p, "/agencies", p.t("Cơ quan", "Agencies")))
                        (nav_item(p, "/subscribers", p.t("Thuê bao", "Subscribers")))
                        (nav_item(p, "/certificates", p.t("Chứng thư số", "Certificates")))
                        (nav_item(p, "/devices", p.t("Thiết bị", "Devices")))
                        (nav_item(p, "/requests", p.t("Đề nghị", "Requests")))
                        (nav_item(p, "/notices", p.t("Thông báo", "Notices")))
                        @if p.can(Permission::ManageAccounts) { (nav_item(p, "/users", p.t("Tài khoản", "Accounts"))) }
                        @if p.can(Permission::ReadAudit) { (nav_item(p, "/audit", p.t("Nhật ký", "Audit log"))) }
                    }
                    div.right {
                        span { (p.actor.username) }
                        @match lang {
                            Lang::Vi => a href={ "/lang?to=en&back=" (p.path) } lang="en" { "English" },
                            Lang::En => a href={ "/lang?to=vi&back=" (p.path) } lang="vi" { "Tiếng Việt" },
                        }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(p.csrf);
                            button type="submit" { (p.t("Đăng xuất", "Log out")) }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if let Some((vi, en)) = &p.audit_alert {
                        div.alert.error #audit-alert role="alert" { (p.t(vi, en)) }
                    }
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn error_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head { meta charset="utf-8"; title { "kyso" } style { (PreEscaped(STYLE)) } }
            body { main.login {
                h1 { (lang.pick("Không thực hiện được", "Could not be done")) }
                p role="alert" { (message) }
                (crate::observability::request_id_note(lang))
                p { a href="/" { (lang.pick("Về trang chủ", "Back to the dashboard")) } }
            } }
        }
    };
    html_response(status, markup)
}

/// An error page inside the site's layout (navigation, language switch, log-out).
fn layout_error(p: &Page, status: StatusCode, message: &str) -> Response {
    let title = p.t("Không thực hiện được", "Could not be done");
    let mut res = layout(
        p,
        title,
        html! {
            h1 { (title) }
            div.alert.error role="alert" { (message) }
            (crate::observability::request_id_note(p.lang))
            p { a href="/" { (p.t("Về trang chủ", "Back to the dashboard")) } }
        },
    );
    *res.status_mut() = status;
    res
}

/// Record a sensitive read in the audit log before anything of it is shown. Fails closed:
/// when the entry cannot be written (the database locked or failing) nothing is shown and
/// the reader gets an error page, as the API answers 500.
/// The entry carries the agency the record belongs to, so that its own auditors see it.
async fn audit_read(
    st: &AppState,
    p: &Page,
    action: &str,
    object: String,
    agency_id: i64,
) -> Result<(), Response> {
    match audit::record_read(&st.store, &p.actor, action, object, agency_id, st.now()).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // Through ApiError, so the cause reaches the server's log like any 5xx.
            let api: ApiError = e.into();
            let status = if api.status.is_server_error() {
                api.status
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            Err(layout_error(
                p,
                status,
                p.t(
                    "Không ghi được nhật ký truy cập nên hồ sơ không được hiển thị. Vui lòng thử \
                     lại sau ít phút; nếu vẫn không được, xin báo quản trị hệ thống.",
                    "The access could not be written to the audit log, so the record is not \
                     shown. Try again in a few minutes; if it persists, tell the administrator.",
                ),
            ))
        }
    }
}

fn store_error(lang: Lang, e: kyso_store::Error) -> Response {
    let api: ApiError = e.into();
    error_page(lang, api.status, api.message(lang))
}

fn alert_error(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { div.alert.error role="alert" { (m) } } }
}

/// A labelled text input; marked invalid when `error_field` names it.
fn field(
    id: &str,
    label: &str,
    value: &str,
    kind: &str,
    required: bool,
    error_field: Option<&str>,
    hint: Option<&str>,
) -> Markup {
    let invalid = error_field == Some(id);
    html! {
        div.field {
            label for=(id) { (label) @if required { " *" } }
            input id=(id) name=(id) type=(kind) value=(value) required[required]
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[hint.map(|_| format!("{id}-hint"))];
            @if let Some(h) = hint { div.hint id={ (id) "-hint" } { (h) } }
        }
    }
}

fn select(
    id: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    error_field: Option<&str>,
) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-invalid=(if error_field == Some(id) { "true" } else { "false" }) {
                @for (v, l) in options {
                    option value=(v) selected[v == selected] { (l) }
                }
            }
        }
    }
}

fn fmt_date(t: OffsetDateTime) -> String {
    kyso_domain::calendar::date_text(t)
}

// ---------------------------------------------------------------------------------------------
// Login, logout, password, language

async fn login_page(State(st): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let token = login_token(&headers);
    login_form(&st, lang, StatusCode::OK, None, "", token.as_deref())
}

/// The login form's own CSRF token (there is no session yet): a random value in a cookie
/// (HttpOnly, SameSite=Strict, only for `/login`) that the form must send back in its hidden
/// `csrf` field. Another site can make a browser post the form (logging the victim in to the
/// attacker's account) but can neither read nor set the cookie.
const LOGIN_CSRF_COOKIE: &str = "kyso_login_csrf";

/// The login token the browser holds, if it is one of ours in shape.
fn login_token(headers: &HeaderMap) -> Option<String> {
    auth::cookie_in(headers, LOGIN_CSRF_COOKIE).filter(|t| {
        t.len() == 43
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether a form post comes from a page of this site, as far as the browser says: an
/// `Origin` header, when sent, must name this host — the `Host` header, or the
/// `X-Forwarded-Host` a TLS proxy that rewrites `Host` sets (a page of another site cannot
/// make the browser send either) — and `Sec-Fetch-Site`, when sent, must not be `cross-site`.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    let Some(origin) = get("origin") else {
        return true;
    };
    let Some(host) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let forwarded = get("x-forwarded-host").and_then(|v| v.split(',').next());
    [get("host"), forwarded]
        .into_iter()
        .flatten()
        .any(|h| h.trim().eq_ignore_ascii_case(host))
}

/// The login page: `token` is the browser's login token, or none to issue a new one.
fn login_form(
    st: &AppState,
    lang: Lang,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
    token: Option<&str>,
) -> Response {
    let token = match token {
        Some(t) => t.to_owned(),
        None => accounts::random_token()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1";
                   title { (lang.pick("Đăng nhập", "Log in")) " — kyso" } style { (PreEscaped(STYLE)) } }
            body { main.login {
                h1 { (lang.pick("Đăng nhập kyso", "Log in to kyso")) }
                p.muted { (lang.pick("Hệ thống quản lý chữ ký số chuyên dùng công vụ của tỉnh",
                                     "The province's government digital signature registry")) }
                (alert_error(error))
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(token);
                    (field("username", lang.pick("Tên đăng nhập", "User name"), username, "text", true, None, None))
                    (field("password", lang.pick("Mật khẩu", "Password"), "", "password", true, None, None))
                    button.primary type="submit" { (lang.pick("Đăng nhập", "Log in")) }
                }
                p { @match lang {
                    Lang::Vi => a href="/lang?to=en&back=/login" lang="en" { "English" },
                    Lang::En => a href="/lang?to=vi&back=/login" lang="vi" { "Tiếng Việt" },
                } }
            } }
        }
    };
    let mut res = html_response(status, markup);
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=7200{secure}"
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: Zeroizing<String>,
    #[serde(default)]
    csrf: String,
}

fn session_cookie(st: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

async fn login_submit(
    State(st): State<AppState>,
    lang: Lang,
    auth::Source(src): auth::Source,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let token = login_token(&headers);
    let token_ok = matches!(&token, Some(t) if !form.csrf.is_empty() && *t == form.csrf);
    if !token_ok || !same_origin(&headers) {
        return login_form(
            &st,
            lang,
            StatusCode::FORBIDDEN,
            Some(lang.pick(
                "Biểu mẫu đăng nhập đã hết hạn hoặc không gửi từ trang này; hãy nhập lại và \
                 đăng nhập.",
                "The login form has expired or was not sent from this site; enter your details \
                 again.",
            )),
            &form.username,
            None,
        );
    }
    let token = token.as_deref();
    if let Err(e) = auth::throttle_check(&st, &src, &form.username, false) {
        return login_form(
            &st,
            lang,
            e.status,
            Some(e.message(lang)),
            &form.username,
            token,
        );
    }
    match accounts::login(&st.store, &form.username, form.password, &src, st.now()).await {
        Ok((session, _)) => {
            let to = if session.must_change_password {
                "/password"
            } else {
                "/"
            };
            let mut res = Redirect::to(to).into_response();
            res.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&st, &session.token, accounts::SESSION_SECS),
            );
            res
        }
        Err(e) => {
            let api: ApiError = if matches!(e, kyso_store::Error::Unauthenticated) {
                if let Err(t) = auth::throttle_check(&st, &src, &form.username, true) {
                    return login_form(
                        &st,
                        lang,
                        t.status,
                        Some(t.message(lang)),
                        &form.username,
                        token,
                    );
                }
                auth::login_refused()
            } else {
                e.into()
            };
            login_form(
                &st,
                lang,
                api.status,
                Some(api.message(lang)),
                &form.username,
                token,
            )
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(st): State<AppState>,
    p: Page,
    headers: axum::http::HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    if let Some(token) = auth::cookie_in(&headers, SESSION_COOKIE) {
        let _ = accounts::logout(&st.store, &p.actor, &token, st.now()).await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&st, "", 0));
    res
}

async fn password_page(
    State(st): State<AppState>,
    p: Page,
    Query(done): Query<account_pages::Done>,
) -> Response {
    let tokens = accounts::api_tokens(&st.store, &p.actor, p.actor.user_id, st.now())
        .await
        .unwrap_or_default();
    password_form(&p, None, &tokens, done.message(&p))
}

fn password_form(
    p: &Page,
    error: Option<(&str, Option<&str>)>,
    tokens: &[accounts::ApiToken],
    ok: Option<&str>,
) -> Response {
    let ef = error.and_then(|e| e.1);
    layout(
        p,
        p.t("Đổi mật khẩu", "Change password"),
        html! {
            h1 { (p.t("Đổi mật khẩu", "Change password")) }
            p { (p.t("Mật khẩu dùng một lần phải được đổi trước khi dùng hệ thống. Mật khẩu mới có ít nhất 10 ký tự, \
                      không phải mật khẩu phổ biến hay dãy ký tự lặp lại, liên tiếp; không chứa tên đăng nhập hoặc họ tên \
                      của bạn và phải khác mật khẩu hiện tại.",
                     "A one-time password must be changed before using the system. The new one has at least 10 characters, \
                      is not a common password nor repeated or sequential characters, does not contain your user name or \
                      full name, and differs from the current one.")) }
            @if let Some(m) = ok { div.alert.ok role="status" { (m) } }
            (alert_error(error.map(|e| e.0)))
            form method="post" action="/password" {
                input type="hidden" name="csrf" value=(p.csrf);
                (field("old_password", p.t("Mật khẩu hiện tại", "Current password"), "", "password", true, ef, None))
                (field("new_password", p.t("Mật khẩu mới", "New password"), "", "password", true, ef, None))
                button.primary type="submit" { (p.t("Đổi mật khẩu", "Change password")) }
            }
            p.hint { (p.t("Khi đổi mật khẩu, mọi phiên đăng nhập khác và mọi mã truy cập API của bạn đều bị chấm dứt.",
                          "Changing the password ends your other sessions and every API token.")) }
            (account_pages::tokens_section(p, tokens, "/password", true))
        },
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    old_password: Zeroizing<String>,
    new_password: Zeroizing<String>,
}

async fn password_submit(
    State(st): State<AppState>,
    p: Page,
    headers: axum::http::HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let keep = auth::cookie_in(&headers, SESSION_COOKIE).map(Zeroizing::new);
    match accounts::change_password(
        &st.store,
        &p.actor,
        keep.as_deref().map(|t| t.as_str()),
        f.old_password,
        f.new_password,
        st.now(),
    )
    .await
    {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => {
            let field = e
                .field()
                .map(|f| if f == "password" { "new_password" } else { f });
            let msg = e.message(p.lang == Lang::En);
            let tokens = accounts::api_tokens(&st.store, &p.actor, p.actor.user_id, st.now())
                .await
                .unwrap_or_default();
            password_form(&p, Some((&msg, field)), &tokens, None)
        }
    }
}

/// A redirect target that came from the request, if it is a path of this site; `/`
/// otherwise. Allowed: one leading `/` (not `//` or `/\`, which browsers read as another
/// host), then visible ASCII only — no control characters or whitespace (a tab or newline
/// inside `/\t/evil.example` is dropped by browsers, leaving `//evil.example`), no
/// backslash (read as `/`), at most 2048 characters. A scheme cannot follow the leading `/`.
pub(crate) fn local_path(target: &str) -> &str {
    let mut chars = target.chars();
    let ok = target.len() <= 2048
        && chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && target.chars().all(|c| c.is_ascii_graphic() && c != '\\');
    if ok {
        target
    } else {
        "/"
    }
}

/// A redirect (303 See Other) to [`local_path`] of `target`: every redirect whose target
/// holds anything taken from the request goes through here.
pub(crate) fn local_redirect(target: &str) -> Response {
    Redirect::to(local_path(target)).into_response()
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

async fn switch_lang(Query(q): Query<LangQuery>) -> Response {
    let to = if q.to == "en" { "en" } else { "vi" };
    let mut res = local_redirect(&q.back);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={to}; Path=/; SameSite=Lax; Max-Age=31536000"
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------------------------------------
// Dashboard

async fn dashboard(State(st): State<AppState>, p: Page) -> Response {
    let now = st.now();
    let d = match registry::dashboard(&st.store, &p.actor, now).await {
        Ok(d) => d,
        Err(e) => return store_error(p.lang, e),
    };
    let card = |n: i64, label: &str, class: &str, href: &str| {
        html! {
            a.card.(class) href=(href) style="text-decoration:none;color:inherit" {
                div.n { (n) } div { (label) }
            }
        }
    };
    layout(
        &p,
        p.t("Tổng quan", "Dashboard"),
        html! {
            h1 { (p.t("Tổng quan", "Dashboard")) }
            section aria-labelledby="counts" {
                h2 #counts style="font-size:18px" { (p.t("Chứng thư số và thiết bị", "Certificates and devices")) }
                div.cards {
                    (card(d.certificates_active, p.t("Chứng thư còn hiệu lực", "Valid certificates"), "", "/certificates?status=active"))
                    (card(d.expiring_60, p.t("Hết hạn trong 60 ngày", "Expiring within 60 days"), "warn", "/certificates?expiring_within_days=60"))
                    (card(d.expiring_30, p.t("Hết hạn trong 30 ngày", "Expiring within 30 days"), "warn", "/certificates?expiring_within_days=30"))
                    (card(d.expiring_7, p.t("Hết hạn trong 7 ngày", "Expiring within 7 days"), "bad", "/certificates?expiring_within_days=7"))
                    (card(d.expired, p.t("Đã hết hạn", "Expired"), "bad", "/certificates?status=expired"))
                    (card(d.revoked, p.t("Đã thu hồi", "Revoked"), "", "/certificates?status=revoked"))
                    (card(d.devices_locked, p.t("Thiết bị bị khóa", "Locked devices"), "warn", "/devices?state=locked"))
                    (card(d.devices_lost, p.t("Thiết bị thất lạc", "Lost devices"), "bad", "/devices?state=lost"))
                (card(d.open_requests, p.t("Đề nghị đang xử lý", "Open requests"), "", "/requests"))
                (card(d.overdue_requests, p.t("Đề nghị quá hạn", "Overdue requests"), "bad", "/requests?overdue=1"))
                    (card(d.agencies, p.t("Cơ quan", "Agencies"), "", "/agencies"))
                    (card(d.subscribers, p.t("Thuê bao", "Subscribers"), "", "/subscribers"))
                }
            }
            section aria-labelledby="soon" {
                h2 #soon style="font-size:18px" { (p.t("Sắp hết hạn", "Expiring soon")) }
                (cert_table(&p, &d.soonest, now))
            }
        },
    )
}

fn cert_table(p: &Page, certs: &[registry::Certificate], now: OffsetDateTime) -> Markup {
    html! {
        @if certs.is_empty() {
            p.muted { (p.t("Không có chứng thư nào.", "No certificates.")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (p.t("Chủ thể", "Subject")) }
                    th scope="col" { (p.t("Số hiệu", "Serial")) }
                    th scope="col" { (p.t("Hiệu lực đến", "Valid until")) }
                    th scope="col" { (p.t("Trạng thái", "Status")) }
                    th scope="col" { (p.t("Thuê bao", "Subscriber")) }
                } }
                tbody { @for c in certs {
                    @let status = c.status_at(now);
                    tr {
                        td { (c.subject) }
                        td { code { (c.serial) } }
                        td { (fmt_date(c.not_after)) }
                        td class={ "status-" (status) } { (registry::cert_status_label(status, p.lang == Lang::En)) }
                        td { @if let (Some(id), Some(name)) = (c.subscriber_id, &c.subscriber_name) {
                            a href={ "/subscribers/" (id) } { (name) }
                        } }
                    }
                } }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Agencies

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn kind_label(kinds: &[(&str, &str, &str)], k: &str, lang: Lang) -> String {
    kinds
        .iter()
        .find(|(key, _, _)| *key == k)
        .map(|(_, vi, en)| lang.pick(vi, en).to_owned())
        .unwrap_or_else(|| k.to_owned())
}

async fn agencies_page(
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
                            a href={ "/subscribers?agency_id=" (a.id) } { (a.name) }
                        }
                        td { code { (a.code) } }
                        td { code { (a.legacy_code) } }
                        td { (kind_label(registry::AGENCY_KINDS, &a.kind, p.lang)) }
                    }
                } }
            }
        },
    )
}

async fn agency_new(State(st): State<AppState>, p: Page) -> Response {
    agency_form(&st, &p, &AgencyInput::default(), None).await
}

async fn agency_options(st: &AppState, p: &Page, perm: Permission) -> Vec<(String, String)> {
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

async fn agency_form(
    st: &AppState,
    p: &Page,
    v: &AgencyInput,
    error: Option<&kyso_store::Error>,
) -> Response {
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let parents = agency_options(st, p, Permission::WriteRegistry).await;
    let kinds: Vec<(String, String)> = registry::AGENCY_KINDS
        .iter()
        .map(|(k, vi, en)| ((*k).to_owned(), p.t(vi, en).to_owned()))
        .collect();
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
                (select("kind", p.t("Loại cơ quan", "Kind"), &kinds, &v.kind, ef))
                (field("address", p.t("Địa chỉ", "Address"), &v.address, "text", false, ef, None))
                (field("email", p.t("Thư điện tử", "Email"), &v.email, "email", false, ef, None))
                (field("phone", p.t("Số điện thoại", "Phone"), &v.phone, "tel", false, ef, None))
                button.primary type="submit" { (p.t("Lưu", "Save")) }
            }
        },
    );
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

#[derive(Deserialize)]
struct AgencyForm {
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
}

async fn agency_submit(State(st): State<AppState>, p: Page, Form(f): Form<AgencyForm>) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = AgencyInput {
        code: f.code,
        name: f.name,
        kind: f.kind,
        parent_id: f.parent_id.parse().ok(),
        address: f.address,
        email: f.email,
        phone: f.phone,
    };
    match registry::create_agency(&st.store, &p.actor, &input, st.now()).await {
        Ok(_) => Redirect::to("/agencies").into_response(),
        Err(e) => agency_form(&st, &p, &input, Some(&e)).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Subscribers

async fn subscribers_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<SubscriberQuery>,
) -> Response {
    let page = match registry::search_subscribers(&st.store, &p.actor, &q).await {
        Ok(r) => r,
        Err(e) => return store_error(p.lang, e),
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
                button.primary type="submit" { (p.t("Tìm", "Search")) }
                @if p.can(Permission::WriteRegistry) { a.button href="/subscribers/new" { (p.t("Thêm thuê bao", "Add subscriber")) } }
            }
            p.muted { (page.total) " " (p.t("kết quả", "results")) }
            table {
                thead { tr {
                    th scope="col" { (p.t("Họ và tên", "Name")) }
                    th scope="col" { (p.t("Chức vụ", "Title")) }
                    th scope="col" { (p.t("Cơ quan", "Agency")) }
                    th scope="col" { (p.t("Loại", "Kind")) }
                } }
                tbody { @for s in &page.items {
                    tr {
                        td { a href={ "/subscribers/" (s.id) } { (s.name) } }
                        td { (s.title) }
                        td { (s.agency_name) }
                        td { (kind_label(registry::SUBSCRIBER_KINDS, &s.kind, p.lang)) }
                    }
                } }
            }
        },
    )
}

async fn subscriber_new(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<SubscriberPrefill>,
) -> Response {
    let v = SubscriberInput {
        kind: "individual".into(),
        agency_id: q.agency_id.unwrap_or(0),
        ..Default::default()
    };
    subscriber_form(&st, &p, &v, None).await
}

#[derive(Deserialize, Default)]
struct SubscriberPrefill {
    #[serde(default)]
    agency_id: Option<i64>,
}

async fn subscriber_form(
    st: &AppState,
    p: &Page,
    v: &SubscriberInput,
    error: Option<&kyso_store::Error>,
) -> Response {
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(p.lang == Lang::En));
    let agencies = agency_options(st, p, Permission::WriteRegistry).await;
    let kinds: Vec<(String, String)> = registry::SUBSCRIBER_KINDS
        .iter()
        .map(|(k, vi, en)| ((*k).to_owned(), p.t(vi, en).to_owned()))
        .collect();
    let res = layout(
        p,
        p.t("Thêm thuê bao", "Add subscriber"),
        html! {
            h1 { (p.t("Thêm thuê bao", "Add subscriber")) }
            (alert_error(msg.as_deref()))
            form method="post" action="/subscribers" novalidate {
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
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

#[derive(Deserialize)]
struct SubscriberForm {
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

async fn subscriber_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<SubscriberForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = SubscriberInput {
        kind: f.kind,
        agency_id: f.agency_id.parse().unwrap_or(0),
        name: f.name,
        date_of_birth: f.date_of_birth,
        id_number: f.id_number,
        email: f.email,
        title: f.title,
        unit: f.unit,
        phone: f.phone,
    };
    match registry::create_subscriber(&st.store, &p.actor, &input, st.now()).await {
        Ok(s) => Redirect::to(&format!("/subscribers/{}", s.id)).into_response(),
        Err(e) => subscriber_form(&st, &p, &input, Some(&e)).await,
    }
}

async fn subscriber_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let now = st.now();
    let s = match registry::subscriber(&st.store, &p.actor, id).await {
        Ok(s) => s,
        Err(e) => return store_error(p.lang, e),
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
            table style="max-width:720px" { tbody {
                (row(p.t("Loại", "Kind"), &kind_label(registry::SUBSCRIBER_KINDS, &s.kind, p.lang)))
                (row(p.t("Cơ quan", "Agency"), &s.agency_name))
                (row(p.t("Chức vụ", "Title"), &s.title))
                (row(p.t("Đơn vị", "Unit"), &s.unit))
                (row(p.t("Ngày sinh", "Date of birth"), &s.date_of_birth))
                (row(p.t("Số CMND/CCCD", "ID number"), &s.id_number))
                (row(p.t("Thư điện tử", "Email"), &s.email))
                (row(p.t("Điện thoại", "Phone"), &s.phone))
            } }
            h2 style="font-size:18px" { (p.t("Chứng thư số", "Certificates")) }
            (cert_table(&p, &certs, now))
            @if p.can(Permission::WriteRegistry) {
                p { a.button href={ "/certificates/import?agency_id=" (s.agency_id) "&subscriber_id=" (s.id) } { (p.t("Nhập chứng thư số", "Import a certificate")) } }
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Certificates

async fn certificates_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<CertQuery>,
) -> Response {
    let now = st.now();
    let page = match registry::search_certificates(&st.store, &p.actor, &q, now).await {
        Ok(r) => r,
        Err(e) => return store_error(p.lang, e),
    };
    let statuses: Vec<(String, String)> = [
        ("", p.t("Tất cả", "All")),
        ("active", p.t("Còn hiệu lực", "Valid")),
        ("expired", p.t("Hết hạn", "Expired")),
        ("revoked", p.t("Đã thu hồi", "Revoked")),
    ]
    .iter()
    .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
    .collect();
    let days = q
        .expiring_within_days
        .map(|d| d.to_string())
        .unwrap_or_default();
    layout(
        &p,
        p.t("Chứng thư số", "Certificates"),
        html! {
            h1 { (p.t("Chứng thư số", "Certificates")) }
            form.filters method="get" action="/certificates" role="search" {
                div { label for="q" { (p.t("Chủ thể, người giữ hoặc số hiệu", "Subject, holder or serial")) }
                      input #q name="q" type="search" value=(q.q) size="32"; }
                div { (select("status", p.t("Trạng thái", "Status"), &statuses, q.status.as_deref().unwrap_or(""), None)) }
                div { label for="expiring_within_days" { (p.t("Hết hạn trong (ngày)", "Expiring within (days)")) }
                      input #expiring_within_days name="expiring_within_days" type="number" min="0" value=(days) size="6"; }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
                @if p.can(Permission::WriteRegistry) { a.button href="/certificates/import" { (p.t("Nhập chứng thư số", "Import a certificate")) } }
            }
            p.muted { (page.total) " " (p.t("kết quả", "results")) }
            (cert_table(&p, &page.items, now))
        },
    )
}

#[derive(Deserialize, Default)]
struct ImportPrefill {
    #[serde(default)]
    agency_id: Option<i64>,
    #[serde(default)]
    subscriber_id: Option<i64>,
}

async fn import_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<ImportPrefill>,
) -> Response {
    import_form(&st, &p, q.agency_id, q.subscriber_id, None).await
}

async fn import_form(
    st: &AppState,
    p: &Page,
    agency_id: Option<i64>,
    subscriber_id: Option<i64>,
    error: Option<(String, Option<&str>)>,
) -> Response {
    let agencies = agency_options(st, p, Permission::WriteRegistry).await;
    let ef = error.as_ref().and_then(|e| e.1);
    let res = layout(
        p,
        p.t("Nhập chứng thư số", "Import a certificate"),
        html! {
            h1 { (p.t("Nhập chứng thư số", "Import a certificate")) }
            p { (p.t("Tệp .cer/.crt/.pem (DER hoặc PEM), hoặc tệp .p12 kèm mật khẩu (chỉ giữ lại chứng thư, không lưu khóa).",
                     "A .cer/.crt/.pem file (DER or PEM), or a .p12 file with its password (only the certificate is kept, never the key).")) }
            (alert_error(error.as_ref().map(|e| e.0.as_str())))
            form method="post" action="/certificates/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, &agency_id.map(|i| i.to_string()).unwrap_or_default(), ef))
                (field("subscriber_id", p.t("Mã thuê bao (nếu có)", "Subscriber id (optional)"), &subscriber_id.map(|i| i.to_string()).unwrap_or_default(), "number", false, ef, None))
                (field("file", p.t("Tệp chứng thư số", "Certificate file"), "", "file", true, if ef == Some("certificate") || ef == Some("serial") { Some("file") } else { None }, None))
                (field("password", p.t("Mật khẩu tệp .p12 (nếu có)", ".p12 password (if any)"), "", "password", false, ef, None))
                button.primary type="submit" { (p.t("Nhập", "Import")) }
            }
        },
    );
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

async fn import_submit(State(st): State<AppState>, p: Page, mut mp: Multipart) -> Response {
    let mut csrf = String::new();
    let mut agency_id = None;
    let mut subscriber_id = None;
    let mut file = Vec::new();
    let mut password: Option<Zeroizing<String>> = None;
    loop {
        match mp.next_field().await {
            Ok(Some(f)) => {
                let name = f.name().unwrap_or("").to_owned();
                let Ok(bytes) = f.bytes().await else {
                    return error_page(
                        p.lang,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        p.t(
                            "Tệp tải lên quá lớn (tối đa 4 MB).",
                            "The upload is too large (4 MB at most).",
                        ),
                    );
                };
                let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
                match name.as_str() {
                    "csrf" => csrf = text(),
                    "agency_id" => agency_id = text().parse().ok(),
                    "subscriber_id" => subscriber_id = text().parse().ok(),
                    "password" => password = Some(Zeroizing::new(text())).filter(|p| !p.is_empty()),
                    "file" => file = bytes.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return error_page(
                    p.lang,
                    StatusCode::BAD_REQUEST,
                    p.t(
                        "Tệp tải lên không đọc được hoặc quá lớn (tối đa 4 MB).",
                        "The upload could not be read or is too large (4 MB at most).",
                    ),
                );
            }
        }
    }
    if let Some(r) = p.csrf_refusal(&csrf) {
        return r;
    }
    let Some(agency) = agency_id else {
        let msg = p.t("Cần chọn cơ quan.", "Choose the agency.").to_owned();
        return import_form(&st, &p, None, subscriber_id, Some((msg, Some("agency_id")))).await;
    };
    let bytes = match crate::api::certificate_bytes(file, password.as_ref()) {
        Ok(b) => b,
        Err(e) => {
            let msg = e.message(p.lang).to_owned();
            return import_form(
                &st,
                &p,
                Some(agency),
                subscriber_id,
                Some((msg, Some("certificate"))),
            )
            .await;
        }
    };
    match registry::import_certificate(&st.store, &p.actor, agency, subscriber_id, &bytes, st.now())
        .await
    {
        Ok(c) => match c.subscriber_id {
            Some(sid) => Redirect::to(&format!("/subscribers/{sid}")).into_response(),
            None => local_redirect(&format!("/certificates?q={}", c.serial)),
        },
        Err(e) => {
            let msg = e.message(p.lang == Lang::En);
            let field = e.field();
            import_form(&st, &p, Some(agency), subscriber_id, Some((msg, field))).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Devices

#[derive(Deserialize, Default)]
struct DeviceFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
}

fn state_label(s: &str, lang: Lang) -> String {
    s.parse::<DeviceState>()
        .map(|st| lang.pick(st.label_vi(), st.label_en()).to_owned())
        .unwrap_or_else(|_| s.to_owned())
}

async fn devices_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<DeviceFilter>,
) -> Response {
    let state = Some(q.state.as_str()).filter(|s| !s.is_empty());
    let list = match registry::devices(&st.store, &p.actor, &q.q, state, None).await {
        Ok(l) => l,
        Err(e) => return store_error(p.lang, e),
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
            }
            table {
                thead { tr {
                    th scope="col" { (p.t("Số hiệu", "Serial")) } th scope="col" { (p.t("Loại", "Kind")) }
                    th scope="col" { (p.t("Trạng thái", "State")) } th scope="col" { (p.t("Người giữ", "Holder")) }
                } }
                tbody { @for d in &list { tr {
                    td { a href={ "/devices/" (d.id) } { code { (d.serial) } } }
                    td { (d.kind.parse::<DeviceKind>().map(|k| p.t(k.label_vi(), k.label_en()).to_owned()).unwrap_or_else(|_| d.kind.clone())) }
                    td { (state_label(&d.state, p.lang)) }
                    td { (d.holder_name.clone().unwrap_or_default()) }
                } } }
            }
        },
    )
}

async fn device_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    device_view(&st, &p, id, None).await
}

async fn device_view(st: &AppState, p: &Page, id: i64, error: Option<String>) -> Response {
    let d = match registry::device(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return store_error(p.lang, e),
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
            table { thead { tr {
                th scope="col" { (p.t("Thời điểm", "When")) } th scope="col" { (p.t("Thao tác", "Event")) }
                th scope="col" { (p.t("Từ → đến", "From → to")) } th scope="col" { (p.t("Biên bản", "Record")) }
                th scope="col" { (p.t("Người thực hiện", "By")) } th scope="col" { (p.t("Ghi chú", "Note")) }
            } } tbody { @for h in &history { tr {
                td { (fmt_date(h.at)) } td { (h.event) }
                td { (state_label(&h.from_state, p.lang)) " → " (state_label(&h.to_state, p.lang)) }
                td { (h.record_kind) } td { (h.actor) } td { (h.note) }
            } } } }
        },
    );
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

#[derive(Deserialize)]
struct DeviceEventForm {
    csrf: String,
    event: String,
    #[serde(default)]
    holder_id: String,
    #[serde(default)]
    counterpart: String,
    #[serde(default)]
    note: String,
}

async fn device_event_submit(
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
        Ok(_) => Redirect::to(&format!("/devices/{id}")).into_response(),
        Err(e) => device_view(&st, &p, id, Some(e.message(p.lang == Lang::En))).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Audit

#[derive(Deserialize, Default)]
struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

async fn audit_page(State(st): State<AppState>, p: Page, Query(q): Query<AuditFilter>) -> Response {
    let filter = audit::Filter {
        actor: Some(q.actor.clone()).filter(|s| !s.is_empty()),
        action_prefix: Some(q.action.clone()).filter(|s| !s.is_empty()),
        limit: 200,
        ..Default::default()
    };
    let items = match audit::list(&st.store, &p.actor, &filter).await {
        Ok(i) => i,
        Err(e) => return store_error(p.lang, e),
    };
    layout(
        &p,
        p.t("Nhật ký", "Audit log"),
        html! {
            h1 { (p.t("Nhật ký kiểm toán", "Audit log")) }
            form.filters method="get" action="/audit" role="search" {
                div { label for="actor" { (p.t("Người thực hiện", "Actor")) } input #actor name="actor" value=(q.actor); }
                div { label for="action" { (p.t("Thao tác (bắt đầu bằng)", "Action (starts with)")) } input #action name="action" value=(q.action); }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
            }
            table { thead { tr {
                th scope="col" { "#" } th scope="col" { (p.t("Thời điểm (UTC)", "When (UTC)")) }
                th scope="col" { (p.t("Người thực hiện", "Actor")) } th scope="col" { (p.t("Thao tác", "Action")) }
                th scope="col" { (p.t("Đối tượng", "Object")) } th scope="col" { (p.t("Từ địa chỉ", "From")) }
                th scope="col" { (p.t("Chi tiết", "Detail")) }
            } } tbody { @for e in &items { tr {
                td { (e.seq) } td { (e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()) }
                td { (e.actor) } td { code { (e.action) } } td { (e.object) } td { (e.source) }
                td { code style="font-size:12px" { (e.detail) } }
            } } } }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Accounts

async fn users_page(State(st): State<AppState>, p: Page) -> Response {
    users_view(&st, &p, None, &UserForm::default()).await
}

async fn users_view(
    st: &AppState,
    p: &Page,
    error: Option<&kyso_store::Error>,
    v: &UserForm,
) -> Response {
    let users = match accounts::users(&st.store, &p.actor).await {
        Ok(u) => u,
        Err(e) => return store_error(p.lang, e),
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
                (select("role", p.t("Vai trò (trên cơ quan này và các đơn vị trực thuộc)", "Role (on this agency and below)"), &roles, &v.role, ef))
                (field("password", p.t("Mật khẩu ban đầu", "Initial password"), "", "password", true, ef, Some(p.t("ít nhất 10 ký tự; không dùng mật khẩu phổ biến, dãy ký tự lặp lại hoặc liên tiếp, tên đăng nhập hay họ tên của người dùng",
                                 "at least 10 characters; not a common password, repeated or sequential characters, nor the user's name"))))
                button.primary type="submit" { (p.t("Tạo tài khoản", "Create the account")) }
            }
        },
    );
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

#[derive(Deserialize, Default)]
struct UserForm {
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

async fn user_submit(State(st): State<AppState>, p: Page, Form(f): Form<UserForm>) -> Response {
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
        Ok(_) => Redirect::to("/users").into_response(),
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

// ---------------------------------------------------------------------------------------------
// Notices (expiry reminders)

async fn notices_page(State(st): State<AppState>, p: Page) -> Response {
    let items = match kyso_store::notices::inbox(&st.store, &p.actor, false).await {
        Ok(i) => i,
        Err(e) => return store_error(p.lang, e),
    };
    layout(
        &p,
        p.t("Thông báo", "Notices"),
        html! {
            h1 { (p.t("Thông báo hết hạn chứng thư số", "Certificate expiry notices")) }
            @if items.is_empty() { p.muted { (p.t("Không có thông báo.", "No notices.")) } }
            @for n in &items {
                article.card style="margin-bottom:12px" {
                    h2 style="font-size:16px;margin:0 0 4px" {
                        @if n.read_at.is_none() { strong { (p.t("[Mới] ", "[New] ")) } }
                        (n.subject)
                        @if n.escalated { " " span.status-expired { (p.t("(chuyển cơ quan quản lý)", "(escalated)")) } }
                    }
                    p style="white-space:pre-line;margin:4px 0" { (n.body) }
                    p.muted style="margin:0" { (fmt_date(n.created_at)) " — "
                        a href={ "/certificates?q=" } { (p.t("Chứng thư số", "Certificates")) } " — "
                        a href={ "/requests/new?kind=renew" } { (p.t("Lập đề nghị gia hạn", "File a renewal")) } }
                    @if n.read_at.is_none() {
                        form method="post" action={ "/notices/" (n.id) "/read" } {
                            input type="hidden" name="csrf" value=(p.csrf);
                            button type="submit" { (p.t("Đánh dấu đã đọc", "Mark as read")) }
                        }
                    }
                }
            }
        },
    )
}

async fn notice_read(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    match kyso_store::notices::mark_read(&st.store, &p.actor, id, st.now()).await {
        Ok(()) => Redirect::to("/notices").into_response(),
        Err(e) => store_error(p.lang, e),
    }
}
