//! One span per HTTP request with its request id, the client address seen through trusted
//! proxies, and one access-log line when the answer leaves; `/healthz` and `/readyz`.
//!
//! The access log (tracing target `kyso_web::access`, level info; debug for the health
//! probes) names the method, the matched route (never the raw path or query, which may carry
//! anything a client typed), the status, the duration, the user id once the caller is
//! authenticated, and the client address. Nothing of a request's headers or body is logged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument as _;

use crate::AppState;

/// The request id header, read from the client (when valid) and always answered.
pub use kyso_services::trace::REQUEST_ID;

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

/// The middleware around every route of [`crate::router`].
pub(crate) async fn observe(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = kyso_services::trace::request_id(req.headers());
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
