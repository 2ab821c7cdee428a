//! Logging in and out, changing one's password, switching the language.

use super::*;

pub(super) async fn login_page(
    State(st): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let token = login_token(&headers);
    login_form(&st, lang, StatusCode::OK, None, "", token.as_deref())
}

/// The login form's own CSRF token (there is no session yet): a random value in a cookie
/// (HttpOnly, SameSite=Strict, only for `/login`) that the form must send back in its hidden
/// `csrf` field. Another site can make a browser post the form (logging the victim in to the
/// attacker's account) but can neither read nor set the cookie.
pub(super) const LOGIN_CSRF_COOKIE: &str = "kyso_login_csrf";

/// The login token the browser holds, if it is one of ours in shape.
pub(super) fn login_token(headers: &HeaderMap) -> Option<String> {
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
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
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
pub(super) fn login_form(
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
                p { a href="/kiem-tra" { (lang.pick(
                    "Kiểm tra văn bản có chữ ký số (không cần đăng nhập)",
                    "Check a signed document (no login needed)"
                )) } }
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
pub(super) struct LoginForm {
    username: String,
    password: Zeroizing<String>,
    #[serde(default)]
    csrf: String,
}

pub(super) fn session_cookie(st: &AppState, value: &str, max_age: i64) -> HeaderValue {
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

pub(super) async fn login_submit(
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
    if let Err(e) = auth::throttle_check(&st, &src, &form.username, false).await {
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
                if let Err(t) = auth::throttle_check(&st, &src, &form.username, true).await {
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
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

pub(super) async fn logout(
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

pub(super) async fn password_page(
    State(st): State<AppState>,
    p: Page,
    Query(done): Query<account_pages::Done>,
) -> Response {
    let tokens = accounts::api_tokens(&st.store, &p.actor, p.actor.user_id, st.now())
        .await
        .unwrap_or_default();
    password_form(&p, None, &tokens, done.message(&p))
}

pub(super) fn password_form(
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
pub(super) struct PasswordForm {
    csrf: String,
    old_password: Zeroizing<String>,
    new_password: Zeroizing<String>,
}

pub(super) async fn password_submit(
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
pub(super) struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

pub(super) async fn switch_lang(Query(q): Query<LangQuery>) -> Response {
    let to = if q.to == "en" { "en" } else { "vi" };
    let mut res = local_redirect(&q.back);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={to}; Path=/; SameSite=Lax; Max-Age=31536000"
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
