//! Operations of the registry server through its router (issue 16 items 4 and 5): request ids
//! answered and shown on error pages, the client address believed only from trusted proxies
//! (audit entries and login throttle buckets), health probes, Prometheus metrics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::testing::TestDb;
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{send, NOW, PASSWORD};

struct App {
    state: kyso_web::AppState,
    router: Router,
    _db: TestDb,
    _blobs: tempfile::TempDir,
    blobs_dir: std::path::PathBuf,
}

async fn app(proxies: &[&str]) -> App {
    let db = TestDb::new(Backend::Sqlite).await;
    let s = &db.store;
    let sys = Actor::system();
    let agency = registry::create_agency(
        s,
        &sys,
        &AgencyInput {
            code: "H99".into(),
            name: "UBND Tỉnh Demo".into(),
            kind: "province".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    accounts::create_user(
        s,
        &sys,
        NewUser {
            username: "quantri".into(),
            full_name: "Quản trị".into(),
            email: String::new(),
            agency_id: agency.id,
            password: Zeroizing::new(PASSWORD.into()),
            roles: vec![RoleOn {
                role: "dost_admin".into(),
                agency_id: agency.id,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let blobs_dir = tmp.path().join("blobs");
    let blobs = kyso_store::blobs::Blobs::open(&blobs_dir).unwrap();
    let ranges = proxies
        .iter()
        .map(|p| kyso_web::Cidr::parse(p).unwrap())
        .collect();
    let state = kyso_web::AppState::new(
        db.store.clone(),
        Arc::new(|| NOW),
        kyso_web::Config {
            secure_cookies: false,
        },
    )
    .with_blobs(blobs)
    .with_trusted_proxies(kyso_web::TrustedProxies::new(ranges));
    App {
        router: kyso_web::router(state.clone()),
        state,
        _db: db,
        _blobs: tmp,
        blobs_dir,
    }
}

/// A request from TCP peer `peer`, with `x-forwarded-for` when given.
fn from_peer(mut req: Request<Body>, peer: &str, xff: Option<&str>) -> Request<Body> {
    let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    if let Some(x) = xff {
        req.headers_mut()
            .insert("x-forwarded-for", x.parse().unwrap());
    }
    req
}

fn login_request(user: &str, password: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": user, "password": password}).to_string(),
        ))
        .unwrap()
}

async fn login(app: &App) -> String {
    let (status, body, _) = send(&app.router, login_request("quantri", PASSWORD)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

async fn audit_sources(app: &App, token: &str, action: &str) -> Vec<String> {
    let req = support::api_request(
        Method::GET,
        &format!("/api/v1/audit?action={action}"),
        token,
        None,
    );
    let (status, body, _) = send(&app.router, req).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap().to_owned())
        .collect()
}

fn get(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_kept_from_the_client_when_plain() {
    let app = app(&[]).await;
    let (status, body, headers) = send(&app.router, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"ok\n");
    let id = headers[kyso_web::REQUEST_ID].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{id}");
    let (_, _, again) = send(&app.router, get("/healthz")).await;
    assert_ne!(again[kyso_web::REQUEST_ID], id.as_str());

    let mut req = get("/api/v1/me");
    req.headers_mut()
        .insert("x-request-id", "lb-7f3a.2:9".parse().unwrap());
    let (status, _, headers) = send(&app.router, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[kyso_web::REQUEST_ID], "lb-7f3a.2:9");

    // Too long or not plain: replaced.
    for bad in ["x".repeat(65), "a;b=c".to_owned()] {
        let mut req = get("/login");
        req.headers_mut()
            .insert("x-request-id", bad.parse().unwrap());
        let (_, _, headers) = send(&app.router, req).await;
        let got = headers[kyso_web::REQUEST_ID].to_str().unwrap();
        assert_ne!(got, bad);
        assert_eq!(got.len(), 16);
    }
}

#[tokio::test]
async fn an_error_page_shows_its_request_id() {
    let app = app(&[]).await;
    let token = login(&app).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/logout")
        .header(header::COOKIE, format!("kyso_session={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-request-id", "hoi-dap-42")
        .body(Body::from("csrf=wrong"))
        .unwrap();
    let (status, body, headers) = send(&app.router, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[kyso_web::REQUEST_ID], "hoi-dap-42");
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("Mã yêu cầu"), "{html}");
    assert!(html.contains("<code>hoi-dap-42</code>"), "{html}");
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    // The proxy is 10.0.0.1; a client elsewhere is not believed.
    let app = app(&["10.0.0.0/8"]).await;
    for (peer, xff) in [
        ("10.0.0.1", Some("198.51.100.7")),
        ("192.0.2.9", Some("198.51.100.8")),
    ] {
        let req = from_peer(login_request("quantri", "sai-mat-khau-1"), peer, xff);
        let (status, _, _) = send(&app.router, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let token = login(&app).await;
    let sources = audit_sources(&app, &token, "auth.login_failed").await;
    assert!(sources.contains(&"198.51.100.7".to_owned()), "{sources:?}");
    assert!(sources.contains(&"192.0.2.9".to_owned()), "{sources:?}");
    assert!(!sources.contains(&"198.51.100.8".to_owned()), "{sources:?}");
    assert!(!sources.contains(&"10.0.0.1".to_owned()), "{sources:?}");
}

#[tokio::test]
async fn throttle_buckets_follow_the_address_seen_through_trusted_proxies() {
    for (trusted, other_client_throttled) in [(true, false), (false, true)] {
        let app = app(if trusted { &["127.0.0.1"] } else { &[] }).await;
        let attempt = |xff: &'static str| {
            let router = app.router.clone();
            async move {
                let req = from_peer(login_request("khong-co", "sai"), "127.0.0.1", Some(xff));
                send(&router, req).await.0
            }
        };
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(attempt("203.0.113.1").await);
        }
        assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(attempt("203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
        // Another client behind the same proxy.
        let other = attempt("203.0.113.2").await;
        if other_client_throttled {
            assert_eq!(other, StatusCode::TOO_MANY_REQUESTS, "trusted={trusted}");
        } else {
            assert_eq!(other, StatusCode::UNAUTHORIZED, "trusted={trusted}");
        }
    }
}

#[tokio::test]
async fn readiness_needs_the_blob_folder() {
    let app = app(&[]).await;
    let (status, body, _) = send(&app.router, get("/readyz")).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"ready\n"[..]));
    std::fs::remove_dir_all(&app.blobs_dir).unwrap();
    let (status, body, _) = send(&app.router, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(String::from_utf8(body).unwrap(), "not ready: blobs\n");
    // The process itself is still up.
    assert_eq!(send(&app.router, get("/healthz")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_queues() {
    let app = app(&[]).await;
    let metrics = kyso_web::metrics_router(app.state.clone());
    // Not on the site itself.
    assert_eq!(
        send(&app.router, get("/metrics")).await.0,
        StatusCode::NOT_FOUND
    );
    for _ in 0..3 {
        send(&app.router, get("/healthz")).await;
    }
    send(&app.router, get("/api/v1/agencies/12345")).await;
    let (status, body, headers) = send(&metrics, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = String::from_utf8(body).unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_owned()
    };
    let healthz =
        line("kyso_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}");
    assert!(healthz.ends_with(" 3"), "{healthz}");
    let unauth = line(
        "kyso_http_requests_total{method=\"GET\",route=\"/api/v1/agencies/{id}\",status=\"401\"}",
    );
    assert!(unauth.ends_with(" 1"), "{unauth}");
    // A missing page counts under one label, not under the path it asked for (with the
    // `/metrics` asked of the site above).
    send(&app.router, get("/no/such/page/9")).await;
    let (_, body, _) = send(&metrics, get("/metrics")).await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("route=\"unmatched\",status=\"404\"} 2"),
        "{text}"
    );
    assert!(!text.contains("/no/such/page"));
    assert!(text.contains("kyso_http_request_duration_seconds_bucket{le=\"0.001\",method=\"GET\",route=\"/healthz\"}")
        || text.contains("kyso_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"0.001\"}"),
        "{text}");
    assert!(
        text.contains("kyso_requests_waiting{state=\"submitted\"} 0"),
        "{text}"
    );
    assert!(text.contains("kyso_notices_unsent 0"), "{text}");
}
