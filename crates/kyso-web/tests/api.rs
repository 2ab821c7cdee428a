//! The REST API through the real router (`Router::oneshot`), on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{self, AgencyInput, DeviceInput, SubscriberInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt as _;
use zeroize::Zeroizing;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
const PASSWORD: &str = "mat-khau-dai-12345";

struct App {
    router: Router,
    db: TestDb,
}

impl App {
    async fn new(backend: Backend) -> App {
        let db = TestDb::new(backend).await;
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        );
        App {
            router: kyso_web::router(state),
            db,
        }
    }

    async fn raw(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, bytes, headers)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if !token.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let (status, bytes, _) = self.raw(req).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn login(&self, user: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": user, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

/// Two departments of one province; `ours` is where the test users work, `theirs` holds a
/// subscriber, a certificate and a device nobody at `ours` may touch.
struct World {
    ours: i64,
    theirs: i64,
    their_subscriber: i64,
    their_cert: i64,
    their_device: i64,
}

fn cert_pem(cn: &str, serial: u64) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    params.not_before = NOW - time::Duration::days(10);
    params.not_after = NOW + time::Duration::days(300);
    params.self_signed(&key).unwrap().pem()
}

async fn world(app: &App) -> World {
    let s = &app.db.store;
    let sys = Actor::system();
    let agency = |code: &str, name: &str, parent: Option<i64>| AgencyInput {
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
    let root = registry::create_agency(s, &sys, &agency("H99", "UBND Tỉnh Demo", None), NOW)
        .await
        .unwrap();
    let ours = registry::create_agency(s, &sys, &agency("H99.37", "Sở KH&CN", Some(root.id)), NOW)
        .await
        .unwrap();
    let theirs = registry::create_agency(
        s,
        &sys,
        &agency("H99.05", "Sở Tài chính", Some(root.id)),
        NOW,
    )
    .await
    .unwrap();
    let sub = registry::create_subscriber(
        s,
        &sys,
        &SubscriberInput {
            kind: "individual".into(),
            agency_id: theirs.id,
            name: "Hoàng Minh Đức".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let cert = registry::import_certificate(
        s,
        &sys,
        theirs.id,
        Some(sub.id),
        cert_pem("Hoàng Minh Đức", 77).as_bytes(),
        NOW,
    )
    .await
    .unwrap();
    let dev = registry::create_device(
        s,
        &sys,
        &DeviceInput {
            kind: "token".into(),
            serial: "THEIRS01".into(),
            agency_id: theirs.id,
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    for role in kyso_domain::roles::Role::ALL {
        if role == kyso_domain::roles::Role::DostAdmin {
            continue;
        }
        accounts::create_user(
            s,
            &sys,
            NewUser {
                username: role.as_str().replace('_', "."),
                full_name: format!("Người dùng {}", role.as_str()),
                email: String::new(),
                agency_id: ours.id,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: role.as_str().into(),
                    agency_id: ours.id,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
    }
    accounts::create_user(
        s,
        &sys,
        NewUser {
            username: "quantri".into(),
            full_name: "Quản trị".into(),
            email: String::new(),
            agency_id: root.id,
            password: Zeroizing::new(PASSWORD.into()),
            roles: vec![RoleOn {
                role: "dost_admin".into(),
                agency_id: root.id,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    World {
        ours: ours.id,
        theirs: theirs.id,
        their_subscriber: sub.id,
        their_cert: cert.id,
        their_device: dev.id,
    }
}

#[tokio::test]
async fn every_role_of_one_agency_is_refused_every_endpoint_on_another_agencys_data() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let (t, s, c, d, o) = (
            w.theirs,
            w.their_subscriber,
            w.their_cert,
            w.their_device,
            w.ours,
        );
        let person =
            |agency: i64| json!({"kind": "individual", "agency_id": agency, "name": "Người lạ"});
        let attempts: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/agencies/{t}"), None),
            (
                Method::PUT,
                format!("/api/v1/agencies/{t}"),
                Some(json!({"code": "H99.05", "name": "Đổi tên", "kind": "department"})),
            ),
            (Method::GET, format!("/api/v1/agencies?under={t}"), None),
            (
                Method::POST,
                "/api/v1/agencies".into(),
                Some(json!({"code": "H99.05.01", "name": "Con", "kind": "unit", "parent_id": t})),
            ),
            (Method::GET, format!("/api/v1/subscribers/{s}"), None),
            (
                Method::PUT,
                format!("/api/v1/subscribers/{s}"),
                Some(person(t)),
            ),
            (
                Method::PUT,
                format!("/api/v1/subscribers/{s}"),
                Some(person(o)),
            ),
            (
                Method::GET,
                format!("/api/v1/subscribers?agency_id={t}"),
                None,
            ),
            (Method::POST, "/api/v1/subscribers".into(), Some(person(t))),
            (Method::GET, format!("/api/v1/certificates/{c}"), None),
            (Method::GET, format!("/api/v1/certificates/{c}/der"), None),
            (
                Method::POST,
                format!("/api/v1/certificates/{c}/revoke"),
                Some(json!({"reason": "thử"})),
            ),
            (
                Method::GET,
                format!("/api/v1/certificates?agency_id={t}"),
                None,
            ),
            (
                Method::POST,
                "/api/v1/certificates".into(),
                Some(json!({"agency_id": t, "pem": cert_pem("X", 99)})),
            ),
            (Method::GET, format!("/api/v1/devices/{d}"), None),
            (Method::GET, format!("/api/v1/devices/{d}/events"), None),
            (
                Method::POST,
                format!("/api/v1/devices/{d}/events"),
                Some(json!({"event": "lock"})),
            ),
            (Method::GET, format!("/api/v1/devices?agency_id={t}"), None),
            (
                Method::POST,
                "/api/v1/devices".into(),
                Some(json!({"kind": "token", "serial": "NEW0001", "agency_id": t})),
            ),
            (
                Method::POST,
                "/api/v1/users".into(),
                Some(
                    json!({"username": "ke.gian", "full_name": "Kẻ gian", "agency_id": t,
                "password": PASSWORD, "roles": [{"role": "clerk", "agency_id": t}]}),
                ),
            ),
            (
                Method::POST,
                "/api/v1/users".into(),
                Some(
                    json!({"username": "ke.gian2", "full_name": "Kẻ gian", "agency_id": o,
                "password": PASSWORD, "roles": [{"role": "signature_officer", "agency_id": t}]}),
                ),
            ),
        ];
        let roles: Vec<String> = kyso_domain::roles::Role::ALL
            .iter()
            .filter(|r| **r != kyso_domain::roles::Role::DostAdmin)
            .map(|r| r.as_str().replace('_', "."))
            .collect();
        for user in &roles {
            let token = app.login(user).await;
            for (m, path, body) in &attempts {
                let (status, answer) = app.call(m.clone(), path, &token, body.clone()).await;
                assert!(
                    matches!(status.as_u16(), 403 | 404 | 422),
                    "{b:?}: {user} {m} {path} → {status} {answer}"
                );
                assert!(
                    answer["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{user} {path}: {answer}"
                );
            }
            // Listings never include the other agency's rows.
            for path in [
                "/api/v1/agencies",
                "/api/v1/subscribers",
                "/api/v1/certificates",
                "/api/v1/devices",
                "/api/v1/users",
            ] {
                let (status, answer) = app.call(Method::GET, path, &token, None).await;
                let text = answer.to_string();
                assert!(
                    !text.contains("Hoàng Minh Đức")
                        && !text.contains("THEIRS01")
                        && !text.contains("Sở Tài chính"),
                    "{b:?}: {user} {path} → {status} leaks: {text}"
                );
            }
            // The auditor of our agency sees none of their entries.
            let (_, log) = app.call(Method::GET, "/api/v1/audit", &token, None).await;
            assert!(
                !log.to_string().contains("H99.05"),
                "{b:?}: {user} sees their audit entries: {log}"
            );
        }
        // Nothing was changed by any of it.
        let admin = app.login("quantri").await;
        let (_, dev) = app
            .call(Method::GET, &format!("/api/v1/devices/{d}"), &admin, None)
            .await;
        assert_eq!(dev["state"], "at_managing_agency");
        let (_, cert) = app
            .call(
                Method::GET,
                &format!("/api/v1/certificates/{c}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(cert["status"], "active");
        let (_, sub) = app
            .call(
                Method::GET,
                &format!("/api/v1/subscribers/{s}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(sub["name"], "Hoàng Minh Đức");
    }
}

#[tokio::test]
async fn an_officer_manages_their_own_agency_through_the_api() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let token = app.login("signature.officer").await;
        let (status, sub) = app
            .call(
                Method::POST,
                "/api/v1/subscribers",
                &token,
                Some(
                    json!({"kind": "individual", "agency_id": w.ours, "name": "Nguyễn Văn An",
                            "date_of_birth": "12/03/1978", "email": "an@demo.invalid"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b:?}: {sub}");
        let (_, found) = app
            .call(
                Method::GET,
                "/api/v1/subscribers?q=nguyen%20van%20an",
                &token,
                None,
            )
            .await;
        assert_eq!(found["total"], 1, "{found}");
        let pem = cert_pem("Nguyễn Văn An", 0xABCD);
        let (status, cert) = app
            .call(
                Method::POST,
                "/api/v1/certificates",
                &token,
                Some(json!({"agency_id": w.ours, "subscriber_id": sub["id"], "pem": pem})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{cert}");
        assert_eq!(
            (cert["serial"].as_str(), cert["effective_status"].as_str()),
            (Some("ABCD"), Some("active"))
        );
        let (status, dup) = app
            .call(
                Method::POST,
                "/api/v1/certificates",
                &token,
                Some(json!({"agency_id": w.ours, "pem": pem})),
            )
            .await;
        assert_eq!(
            (status, dup["error"]["field"].as_str()),
            (StatusCode::CONFLICT, Some("serial"))
        );
        assert!(dup["error"]["message"].as_str().unwrap().contains("ABCD"));
        let (status, _) = app
            .call(
                Method::GET,
                "/api/v1/certificates?expiring_within_days=400",
                &token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, dash) = app
            .call(Method::GET, "/api/v1/dashboard", &token, None)
            .await;
        assert_eq!(dash["certificates_active"], 1, "{dash}");
        // An integrator's token acts with the officer's roles.
        let (status, t) = app
            .call(
                Method::POST,
                "/api/v1/tokens",
                &token,
                Some(json!({"name": "QLVB", "days": 30})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let api = t["token"].as_str().unwrap();
        let (status, me) = app.call(Method::GET, "/api/v1/me", api, None).await;
        assert_eq!(
            (status, me["user"]["username"].as_str()),
            (StatusCode::OK, Some("signature.officer"))
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_vietnamese_message_naming_the_field_and_writes_nothing() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let token = app.login("quantri").await;
        let post = |body: &str, ct: &str| {
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/subscribers")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, ct.to_owned())
                .body(Body::from(body.to_owned()))
                .unwrap()
        };
        let (status, body, _) = app
            .raw(post("{\"kind\": \"individual\",", "application/json"))
            .await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("JSON không hợp lệ"),
            "{v}"
        );

        let (status, body, _) = app
            .raw(post(
                &json!({"kind": "individual", "name": "A"}).to_string(),
                "application/json",
            ))
            .await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("agency_id")),
            "{v}"
        );
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agency_id"));

        let (status, _, _) = app
            .raw(post("kind=individual", "application/x-www-form-urlencoded"))
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let huge = format!(
            "{{\"kind\": \"individual\", \"agency_id\": 1, \"name\": \"{}\"}}",
            "a".repeat(5 * 1024 * 1024)
        );
        let (status, _, _) = app.raw(post(&huge, "application/json")).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

        let (status, v) = app
            .call(Method::POST, "/api/v1/certificates", &token, Some(json!({"agency_id": w.ours, "pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"})))
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("certificate")),
            "{v}"
        );
        let (status, v) = app
            .call(Method::POST, "/api/v1/agencies", &token, Some(json!({"code": "X1.2", "name": "Sai mã", "kind": "department", "parent_id": w.ours})))
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("code")),
            "{v}"
        );
        let (status, v) = app
            .call(Method::POST, "/api/v1/subscribers", &token, Some(json!({"kind": "individual", "agency_id": w.ours, "name": "Bé", "date_of_birth": "31/12/2030"})))
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("date_of_birth")),
            "{v}"
        );
        let (status, _) = app
            .call(Method::GET, "/api/v1/subscribers/abc", &token, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = app
            .call(Method::GET, "/api/v1/subscribers?limit=many", &token, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, found) = app
            .call(Method::GET, "/api/v1/subscribers", &token, None)
            .await;
        assert_eq!(
            found["total"], 1,
            "{b:?}: only the world's subscriber: {found}"
        );
    }
}

#[tokio::test]
async fn sessions_need_csrf_for_changes_and_logins_are_throttled() {
    let app = App::new(Backend::Sqlite).await;
    let w = world(&app).await;
    let token = app.login("signature.officer").await;
    let with_cookie = |csrf: Option<&str>| {
        let mut r = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/subscribers")
            .header(header::COOKIE, format!("kyso_session={token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.body(Body::from(
            json!({"kind": "individual", "agency_id": w.ours, "name": "Qua cookie"}).to_string(),
        ))
        .unwrap()
    };
    let (status, body, _) = app.raw(with_cookie(None)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, _) = app.raw(with_cookie(Some("wrong"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for _ in 0..accounts::MAX_FAILURES {
        let (status, _) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": "clerk", "password": "wrong-password-1"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, v) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            "",
            Some(json!({"username": "clerk", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("15 phút"));
    let (status, _) = app
        .call(Method::GET, "/api/v1/me", "not-a-token", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/agencies",
        "/api/v1/subscribers/{id}",
        "/api/v1/certificates/{id}/revoke",
        "/api/v1/devices/{id}/events",
        "/api/v1/audit",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    let source = include_str!("../src/api.rs");
    for line in source.lines().filter(|l| l.contains(".route(\"/api/v1/")) {
        let path = line.split('"').nth(1).unwrap();
        assert!(
            paths.contains_key(path),
            "route {path} is missing from the OpenAPI document"
        );
    }
}
