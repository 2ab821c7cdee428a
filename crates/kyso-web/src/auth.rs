//! Who is calling: API tokens and browser sessions; the language they read; request bodies
//! parsed with limits and Vietnamese messages.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use kyso_store::{accounts, Actor};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::{ApiError, AppState, MAX_JSON};

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "kyso_session";
/// The language cookie.
pub(crate) const LANG_COOKIE: &str = "kyso_lang";
/// Failed logins for one account from one client address in [`THROTTLE_WINDOW`] seconds
/// before that pair must wait. Keyed by the pair, not by the address alone: behind a TLS proxy
/// every user has the proxy's address, and one person's failures must not block the others.
const THROTTLE_MAX: i64 = 10;
const THROTTLE_WINDOW: i64 = 15 * 60;

/// The reader's language: Vietnamese unless English is asked for (`?lang=en`, the language
/// cookie, or an API client's `Accept-Language: en`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        self.pick("vi", "en")
    }

    pub(crate) fn from_parts(parts: &Parts) -> Lang {
        let query = parts.uri.query().unwrap_or("");
        for pair in query.split('&') {
            match pair {
                "lang=en" => return Lang::En,
                "lang=vi" => return Lang::Vi,
                _ => {}
            }
        }
        match cookie(parts, LANG_COOKIE).as_deref() {
            Some("en") => return Lang::En,
            Some("vi") => return Lang::Vi,
            _ => {}
        }
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.trim_start().starts_with("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_parts(parts))
    }
}

/// A cookie's value.
pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    cookie_in(&parts.headers, name)
}

/// A cookie's value from request headers.
pub(crate) fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|kv| {
                let (k, val) = kv.trim().split_once('=')?;
                (k == name).then(|| val.to_owned())
            })
        })
}

/// The client's address, for the audit log and login throttling: the one the request's
/// middleware found (the TCP peer, or what a trusted proxy forwarded; see [`crate::proxy`]).
pub(crate) fn source(parts: &Parts) -> String {
    if let Some(c) = parts.extensions.get::<crate::observability::ClientAddr>() {
        return c.0.clone();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

/// The client's address as an extractor.
#[derive(Debug, Clone)]
pub(crate) struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(source(parts)))
    }
}

/// An authenticated caller of the API.
#[derive(Debug, Clone)]
pub struct Auth {
    pub actor: Actor,
    /// The session's CSRF token when the caller is a browser session.
    pub csrf: Option<String>,
    pub must_change_password: bool,
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Auth, ApiError> {
    let auth = authenticate_inner(parts, state).await?;
    crate::observability::record_user(auth.actor.user_id);
    Ok(auth)
}

async fn authenticate_inner(parts: &Parts, state: &AppState) -> Result<Auth, ApiError> {
    let now = state.now();
    let src = source(parts);
    if let Some(token) = bearer(parts) {
        if token.starts_with("kyso_") {
            let actor = accounts::token_actor(&state.store, &token, &src, now).await?;
            return Ok(Auth {
                actor,
                csrf: None,
                must_change_password: false,
            });
        }
        let (actor, _, must) = accounts::session_actor(&state.store, &token, &src, now).await?;
        return Ok(Auth {
            actor,
            csrf: None,
            must_change_password: must,
        });
    }
    if let Some(token) = cookie(parts, SESSION_COOKIE) {
        let (actor, csrf, must) = accounts::session_actor(&state.store, &token, &src, now).await?;
        return Ok(Auth {
            actor,
            csrf: Some(csrf),
            must_change_password: must,
        });
    }
    Err(kyso_store::Error::Unauthenticated.into())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = authenticate(parts, state).await?;
        // A browser session calling the API with a state-changing method must prove it is
        // our page (the CSRF token in a header), not another site riding the cookie.
        if let Some(csrf) = &auth.csrf {
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if !safe && sent != Some(csrf.as_str()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    None,
                    "Thiếu hoặc sai mã chống giả mạo (CSRF); hãy tải lại trang.",
                    "Missing or wrong CSRF token; reload the page.",
                ));
            }
        }
        if auth.must_change_password && !parts.uri.path().ends_with("/me/password") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                Some("password"),
                "Bạn cần đổi mật khẩu dùng một lần trước khi tiếp tục.",
                "Change your one-time password first.",
            ));
        }
        Ok(auth)
    }
}

/// Count a failed login for `username` from `src` (when `failed`); `Err` when that pair must
/// wait. Unknown and existing names are counted alike, so the answer reveals neither. The
/// count is the database's (`kyso_store::throttle`): every node sees the same.
pub(crate) async fn throttle_check(
    state: &AppState,
    src: &str,
    username: &str,
    failed: bool,
) -> Result<(), ApiError> {
    let now = state.now().unix_timestamp();
    let failures =
        kyso_store::throttle::failures(&state.store, src, username, failed, now, THROTTLE_WINDOW)
            .await?;
    if failures >= THROTTLE_MAX {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            None,
            "Đăng nhập sai quá nhiều lần với tài khoản này từ máy này; hãy thử lại sau 15 phút.",
            "Too many failed logins for this account from this address; try again in 15 minutes.",
        ));
    }
    Ok(())
}

/// The answer to every failed login — wrong password, unknown name, locked or disabled
/// account alike, so that it tells nothing about which accounts exist.
pub(crate) fn login_refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
        format!(
            "Tên đăng nhập hoặc mật khẩu không đúng. Sau {} lần nhập sai liên tiếp, tài khoản \
             tạm khóa 15 phút.",
            kyso_store::accounts::MAX_FAILURES
        ),
        format!(
            "Wrong user name or password. After {} wrong attempts in a row an account is \
             locked for 15 minutes.",
            kyso_store::accounts::MAX_FAILURES
        ),
    )
}

/// A JSON request body: at most `MAX` bytes ([`MAX_JSON`]; [`crate::MAX_DOCUMENT_JSON`] for the
/// routes that carry a document file), read with that explicit limit after the handler's
/// other extractors (authentication) have run, `application/json`, and a message naming the
/// field when it does not fit the expected shape.
#[derive(Debug)]
pub struct Body<T, const MAX: usize = MAX_JSON>(pub T);

impl<T: DeserializeOwned, S: Send + Sync, const MAX: usize> FromRequest<S> for Body<T, MAX> {
    type Rejection = ApiError;
    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type",
                None,
                "Nội dung gửi lên phải là JSON (Content-Type: application/json).",
                "The body must be JSON (Content-Type: application/json).",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX)
            .await
            .map_err(|_| too_large(MAX))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error(de).map(Body)
    }
}

fn too_large(max: usize) -> ApiError {
    let (vi, en) = if max >= 1 << 20 {
        (
            format!("Nội dung gửi lên quá lớn (tối đa {} MB).", max >> 20),
            format!("The request body is too large (at most {} MB).", max >> 20),
        )
    } else {
        (
            format!("Nội dung gửi lên quá lớn (tối đa {} KB).", max >> 10),
            format!("The request body is too large (at most {} KB).", max >> 10),
        )
    };
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", None, vi, en)
}

/// Deserialize, turning serde's message into one that names the field.
fn serde_path_to_error<'de, T: serde::Deserialize<'de>>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
) -> Result<T, ApiError> {
    T::deserialize(&mut *de)
        .and_then(|v| de.end().map(|_| v))
        .map_err(|e| {
            let text = e.to_string();
            // serde names the field in backticks: "missing field `name`", "unknown field `x`".
            let field = text.split('`').nth(1).map(str::to_owned);
            let (vi, en) = match (&field, e.classify()) {
                (_, serde_json::error::Category::Syntax | serde_json::error::Category::Eof) => (
                    format!("JSON không hợp lệ (dòng {}, cột {}).", e.line(), e.column()),
                    format!("Malformed JSON (line {}, column {}).", e.line(), e.column()),
                ),
                (Some(f), _) if text.starts_with("missing field") => (
                    format!("Thiếu trường \"{f}\"."),
                    format!("The field \"{f}\" is missing."),
                ),
                (Some(f), _) if text.starts_with("unknown field") => (
                    format!("Trường \"{f}\" không được hỗ trợ."),
                    format!("The field \"{f}\" is not supported."),
                ),
                _ => (
                    format!("Dữ liệu không đúng kiểu: {text}."),
                    format!("A value has the wrong type: {text}."),
                ),
            };
            let mut err = ApiError::new(StatusCode::BAD_REQUEST, "malformed", None, vi, en);
            err.field = field.and_then(|f| static_field(&f));
            err
        })
}

/// Field names known to the API, as `'static` for the error body.
fn static_field(f: &str) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "code",
        "name",
        "kind",
        "parent_id",
        "address",
        "email",
        "phone",
        "agency_id",
        "date_of_birth",
        "id_number",
        "title",
        "unit",
        "serial",
        "model",
        "state",
        "certificate_id",
        "event",
        "holder_id",
        "counterpart",
        "note",
        "reason",
        "username",
        "password",
        "full_name",
        "roles",
        "role",
        "days",
        "subscriber_id",
        "pem",
        "der_base64",
        "pkcs12_base64",
        "old_password",
        "new_password",
        "contact_name",
        "contact_title",
        "contact_phone",
        "contact_email",
        "number",
        "items",
        "data",
        "device_id",
        "action",
        "certificates",
        "years",
        "holidays",
        "working_days",
    ];
    KNOWN.iter().find(|k| **k == f).copied()
}

/// The session token of a request (a session's `Authorization: Bearer` value or the session
/// cookie), not an API token: the session that changes its password stays open.
pub(crate) fn session_token(headers: &axum::http::HeaderMap) -> Option<Zeroizing<String>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    match bearer {
        Some(t) if t.starts_with("kyso_") => None,
        Some(t) => Some(Zeroizing::new(t)),
        None => cookie_in(headers, SESSION_COOKIE).map(Zeroizing::new),
    }
}
