//! What the kyso-web test files share: the clock and password of their provinces, and sending
//! a request through the real router and reading its JSON answer.
#![allow(dead_code, clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt as _;

/// The tests' "now".
pub const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
/// Every test account's password.
pub const PASSWORD: &str = "mat-khau-dai-12345";

/// Send `req` through `router`: status, body bytes, headers.
pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>, HeaderMap) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, bytes, headers)
}

/// An API request: `Bearer token` unless `token` is empty, `body` as JSON (or as
/// `content_type` when given).
pub fn api_request(
    method: Method,
    path: &str,
    token: &str,
    body: Option<(&str, String)>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if !token.is_empty() {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some((content_type, b)) => req
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    }
    .unwrap()
}

/// Call the API with a JSON body: status, JSON answer (`Null` when not JSON), headers.
pub async fn call_json(
    router: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value, HeaderMap) {
    let body = body.map(|b| ("application/json", b.to_string()));
    let (status, bytes, headers) = send(router, api_request(method, path, token, body)).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

/// An agency made by the system at `NOW`: the province when it has no parent, a department
/// below `parent` otherwise. Its id.
pub async fn agency(store: &kyso_store::Store, code: &str, name: &str, parent: Option<i64>) -> i64 {
    let input = kyso_store::registry::AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: if parent.is_none() {
            "province"
        } else {
            "department"
        }
        .into(),
        parent_id: parent,
        ..Default::default()
    };
    kyso_store::registry::create_agency(store, &kyso_store::Actor::system(), &input, NOW)
        .await
        .unwrap()
        .id
}
