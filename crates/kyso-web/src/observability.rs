//! One span per HTTP request with its request id, the client address seen through trusted
//! proxies, and one access-log line when the answer leaves; `/healthz` and `/readyz`.
//!
//! The access log (tracing target `kyso_web::access`, level info; debug for the health
//! probes) names the method, the matched route (never the raw path or query, which may carry
//! anything a client typed), the status, the duration, the user id once the caller is
//! authenticated, and the client address. Nothing of a request's headers or body is logged.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument as _;

use crate::AppState;

/// The request id header, read from the client (when valid) and always answered.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's address as the server believes it (through trusted proxies only), or
/// `local` when the request did not come over a socket (tests).
#[derive(Debug, Clone)]
pub(crate) struct ClientAddr(pub String);

/// What one request's handlers add to its access-log line.
#[derive(Debug)]
struct RequestCtx {
    id: String,
    /// The authenticated user's id (0: nobody).
    user: AtomicI64,
}

tokio::task_local! {
    static CTX: Arc<RequestCtx>;
}

/// The current request's id (inside a request's handler), for error pages.
pub(crate) fn request_id() -> Option<String> {
    CTX.try_with(|c| c.id.clone()).ok()
}

/// The line an error page shows so that a user can quote the request to the administrator,
/// who finds it in the log (nothing outside a request).
pub(crate) fn request_id_note(lang: crate::Lang) -> maud::Markup {
    match request_id() {
        Some(id) => maud::html! {
            p.request-id {
                (lang.pick("Mã yêu cầu (báo cho quản trị khi cần): ", "Request id (quote it to the administrator): "))
                code { (id) }
            }
        },
        None => maud::html! {},
    }
}

/// Note the authenticated caller of the current request (its access-log line and span).
pub(crate) fn record_user(user_id: i64) {
    let _ = CTX.try_with(|c| c.user.store(user_id, Ordering::Relaxed));
    tracing::Span::current().record("user_id", user_id);
}

/// An incoming id is kept when it is short and plain (letters, digits, `-`, `_`, `.`, `:`),
/// so that it can neither forge log lines nor carry much.
fn valid_incoming(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

/// A new id: 16 hex digits, unique within the process (a counter through a keyed hash whose
/// key is drawn at start), not guessable from the previous one.
fn new_id() -> String {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = KEYS.get_or_init(RandomState::new).build_hasher();
    h.write_u64(n);
    format!("{:016x}", h.finish())
}

/// The middleware around every route of [`crate::router`].
pub(crate) async fn observe(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(valid_incoming)
        .unwrap_or_else(new_id);
    let client = match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => st
            .trusted_proxies
            .client(peer.ip(), req.headers())
            .to_string(),
        None => "local".to_owned(),
    };
    req.extensions_mut().insert(ClientAddr(client.clone()));
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        client = %client,
        user_id = tracing::field::Empty,
    );
    let ctx = Arc::new(RequestCtx {
        id: id.clone(),
        user: AtomicI64::new(0),
    });
    let mut res = CTX
        .scope(ctx.clone(), next.run(req).instrument(span.clone()))
        .await;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    st.metrics
        .observe_request(&method, &route, status, elapsed.as_secs_f64());
    let user = ctx.user.load(Ordering::Relaxed);
    let user = (user != 0).then_some(user);
    // Whole microseconds: "0.365", never "0.36556700000000003" (which a log search for a
    // PIN like 000000 would find).
    let duration_ms = elapsed.as_micros() as f64 / 1000.0;
    let _enter = span.enter();
    if route == "/healthz" || route == "/readyz" {
        tracing::debug!(
            target: "kyso_web::access",
            method = %method, route = %route, status, duration_ms, user_id = user, client = %client,
            "request"
        );
    } else {
        tracing::info!(
            target: "kyso_web::access",
            method = %method, route = %route, status, duration_ms, user_id = user, client = %client,
            "request"
        );
    }
    res
}

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the database answers and the blob folder is there and writable; 503
/// naming what is not.
pub(crate) async fn readyz(State(st): State<AppState>) -> Response {
    let mut failed: Vec<&str> = Vec::new();
    let ping = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        kyso_store::ops::ping(&st.store),
    )
    .await;
    match ping {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            failed.push("database");
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within 3 s");
            failed.push("database");
        }
    }
    if let Some(blobs) = st.blobs.clone() {
        let ok = tokio::task::spawn_blocking(move || blobs.check())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        if let Err(e) = ok {
            tracing::warn!(error = %e, "readiness: the blob folder is not usable");
            failed.push("blobs");
        }
    }
    if failed.is_empty() {
        "ready\n".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", failed.join(", ")),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_ids_are_kept_only_when_plain() {
        let v = |s: &str| valid_incoming(&HeaderValue::from_str(s).unwrap());
        assert_eq!(v("abc-123_X.y:z").as_deref(), Some("abc-123_X.y:z"));
        assert_eq!(v(""), None);
        assert_eq!(v("a b"), None);
        assert_eq!(v("a\"b"), None);
        assert_eq!(v(&"a".repeat(65)), None);
        assert!(v(&"a".repeat(64)).is_some());
    }

    #[test]
    fn new_ids_differ() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
