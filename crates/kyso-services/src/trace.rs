//! One span per HTTP request of the services (TSA/OCSP/CRL, agent, CSC) with a request id
//! answered in `x-request-id`, and one access-log event (target `kyso_services::access`):
//! method, matched route (never the raw path or query: the agent's one-time tokens travel in
//! queries), status, duration and the peer's address. `kyso serve`'s middleware (kyso-web) takes its
//! request id from [`request_id`] too.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The request id header, read from the client (when valid) and always answered.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of a request with these headers: the client's own when it is short and plain
/// (letters, digits, `-`, `_`, `.`, `:`, at most 64), so that it can neither forge log lines
/// nor carry much; else a new one. `kyso serve` (kyso-web) uses the same rule.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&REQUEST_ID)
        .and_then(valid_incoming)
        .unwrap_or_else(new_id)
}

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

/// The middleware (`.layer(axum::middleware::from_fn(trace::requests))`).
pub async fn requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = request_id(req.headers());
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        client = %client,
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let _enter = span.enter();
    tracing::info!(
        target: "kyso_services::access",
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        // Whole microseconds: "0.365", never "0.36556700000000003".
        duration_ms = start.elapsed().as_micros() as f64 / 1000.0,
        client = %client,
        "request"
    );
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn get(addr: SocketAddr, extra: &'static str) -> String {
        tokio::task::spawn_blocking(move || {
            use std::io::{Read as _, Write as _};
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let req = format!(
                "GET /x/1?token=secret HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out.to_ascii_lowercase()
        })
        .await
        .unwrap()
    }

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

    #[tokio::test(flavor = "multi_thread")]
    async fn answers_carry_a_request_id() {
        let app = axum::Router::new()
            .route("/x/{n}", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(requests));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let made = get(addr, "").await;
        let id = made
            .lines()
            .find_map(|l| l.strip_prefix("x-request-id: "))
            .unwrap()
            .trim()
            .to_owned();
        assert_eq!(id.len(), 16, "{made}");
        let kept = get(addr, "X-Request-Id: abc-1\r\n").await;
        assert!(kept.contains("x-request-id: abc-1\r\n"), "{kept}");
        let replaced = get(addr, "X-Request-Id: a b\r\n").await;
        assert!(!replaced.contains("x-request-id: a b"), "{replaced}");
    }
}
