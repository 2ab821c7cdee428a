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
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{self, DeviceInput, SubscriberInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

struct App {
    router: Router,
    db: TestDb,
    /// The blob folder where request letters go.
    blobs: tempfile::TempDir,
}

impl App {
    async fn new(backend: Backend) -> App {
        let db = TestDb::new(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(kyso_store::blobs::Blobs::open(blobs.path()).unwrap());
        App {
            router: kyso_web::router(state),
            db,
            blobs,
        }
    }

    async fn raw(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        support::send(&self.router, req).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, v, _) = support::call_json(&self.router, method, path, token, body).await;
        (status, v)
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
    their_request: i64,
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
    kyso_store::testing::TestCa::get().sign(&params, &key)
}

async fn world(app: &App) -> World {
    let s = &app.db.store;
    let sys = Actor::system();
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let ours = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
    let theirs = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
    let sub = registry::create_subscriber(
        s,
        &sys,
        &SubscriberInput {
            kind: "individual".into(),
            agency_id: theirs,
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
        &kyso_store::registry::CertImport {
            agency_id: theirs,
            subscriber_id: Some(sub.id),
            bytes: cert_pem("Hoàng Minh Đức", 77).as_bytes(),
            mismatch_reason: None,
        },
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
            agency_id: theirs,
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
                agency_id: ours,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: role.as_str().into(),
                    agency_id: ours,
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
            agency_id: root,
            password: Zeroizing::new(PASSWORD.into()),
            roles: vec![RoleOn {
                role: "dost_admin".into(),
                agency_id: root,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    let request = kyso_store::requests::create_request(
        s,
        &sys,
        &kyso_store::requests::NewRequest {
            kind: "renew".into(),
            agency_id: theirs,
            contact_name: "Hoàng Minh Đức".into(),
            items: vec![kyso_store::requests::NewItem {
                certificate_id: Some(cert.id),
                ..Default::default()
            }],
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    World {
        their_request: request.request.id,
        ours,
        theirs,
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
        let (t, s, c, d, o, r) = (
            w.theirs,
            w.their_subscriber,
            w.their_cert,
            w.their_device,
            w.ours,
            w.their_request,
        );
        let renew = |agency: i64| {
            json!({"kind": "renew", "agency_id": agency, "contact_name": "Người lạ",
                   "items": [{"certificate_id": c}]})
        };
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
            (Method::GET, format!("/api/v1/requests/{r}"), None),
            (Method::PUT, format!("/api/v1/requests/{r}"), Some(renew(t))),
            (Method::GET, format!("/api/v1/requests?agency_id={t}"), None),
            (Method::POST, "/api/v1/requests".into(), Some(renew(t))),
            // Their certificate on our agency's request.
            (Method::POST, "/api/v1/requests".into(), Some(renew(o))),
            (
                Method::POST,
                format!("/api/v1/requests/{r}/actions"),
                Some(json!({"action": "submit"})),
            ),
            (
                Method::POST,
                format!("/api/v1/requests/{r}/actions"),
                Some(json!({"action": "withdraw"})),
            ),
            (Method::GET, "/api/v1/calendar".into(), None),
            (
                Method::PUT,
                "/api/v1/calendar".into(),
                Some(json!({"years": {"2027": {"holidays": ["2027-01-01"]}}})),
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
                "/api/v1/requests",
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
        let (_, req) = app
            .call(Method::GET, &format!("/api/v1/requests/{r}"), &admin, None)
            .await;
        assert_eq!(req["state"], "draft", "{b:?}: {req}");
        assert_eq!(req["timeline"].as_array().unwrap().len(), 1, "{req}");
        let (_, cal) = app
            .call(Method::GET, "/api/v1/calendar", &admin, None)
            .await;
        assert_eq!(cal, json!({"years": {}}), "{b:?}");
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
        // A filter form sends its empty fields ("all agencies", no window): they mean no filter.
        let (status, found) = app
            .call(
                Method::GET,
                "/api/v1/subscribers?q=nguyen+an&agency_id=&kind=",
                &token,
                None,
            )
            .await;
        assert_eq!(
            (status, &found["total"]),
            (StatusCode::OK, &json!(1)),
            "{found}"
        );
        let (status, _) = app
            .call(
                Method::GET,
                "/api/v1/certificates?agency_id=&subscriber_id=&expiring_within_days=",
                &token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
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
    // Locked: answered like a wrong password, so that it does not tell the account exists.
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
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
    // The router serves exactly the documented methods of every documented path: each
    // documented operation is routed (401 for an anonymous caller, the public ones answer),
    // any other method on that path is 405.
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1");
        let documented: Vec<&String> = item.as_object().unwrap().keys().collect();
        for method in ["get", "put", "post", "delete", "patch"] {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, bytes, _) = app
                .raw(
                    Request::builder()
                        .method(m)
                        .uri(&concrete)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            if documented.iter().any(|d| *d == method) {
                operations += 1;
                // Public: the operation itself says it needs no authentication
                // (`security: [{}]`, utoipa's `security(())`), as the document tells clients.
                let public = item[method]["security"] == json!([{}]);
                if public {
                    // …and it answers an anonymous caller (documented public, served public).
                    assert!(
                        !matches!(status.as_u16(), 401 | 404 | 405) && !status.is_server_error(),
                        "{method} {path} → {status}"
                    );
                } else {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                    let v: Value = serde_json::from_slice(&bytes).unwrap();
                    assert_eq!(v["error"]["code"], "unauthenticated", "{method} {path}");
                }
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
    assert!(operations >= 51, "{operations} operations");
}

/// A certificate the (tests') CA issued, as base64 DER, valid from `from` to `to`.
fn issued_der(cn: &str, serial: u64, from: OffsetDateTime, to: OffsetDateTime) -> String {
    use base64::Engine as _;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    params.not_before = from;
    params.not_after = to;
    let pem = kyso_store::testing::TestCa::get().sign(&params, &key);
    let der = kyso_x509::Cert::from_pem_or_der(pem.as_bytes()).unwrap()[0]
        .der()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// What [`sent_by_letter`] leaves: the sealed letter and its name in the blob folder.
struct SentLetter {
    sealed: Vec<u8>,
    sealed_sha256: String,
}

/// Send approved request `id` the one way there is: the letter made through the API by someone
/// who is both its agency's signature officer and a drafter (the officer alone is refused with
/// the role named; the letters' recipient is set first by the administrator), then taken
/// through the document flow to dispatch. The flow's steps are the store's with stand-in
/// signed files (each appends to the one before): the signature checks of the uploads are the
/// document tests' (`documents.rs`), this story is the request's.
async fn sent_by_letter(app: &App, id: i64, officer: &str, admin: &str) -> SentLetter {
    use kyso_domain::documents::DocAction as D;
    use kyso_store::documents::{self as docs, RegisterInput};
    let s = &app.db.store;
    let actor = |name: &'static str| async move {
        accounts::login(s, name, Zeroizing::new(PASSWORD.into()), "127.0.0.1", NOW)
            .await
            .unwrap()
            .1
    };
    let (signer, clerk, quantri) = (
        actor("signer").await,
        actor("clerk").await,
        actor("quantri").await,
    );
    let ours = kyso_store::requests::get_request(s, &signer, id, NOW)
        .await
        .map(|d| d.request.agency_id)
        .unwrap_or_else(|_| panic!("request {id}"));
    let path = format!("/api/v1/requests/{id}/document");
    let body = json!({"signer_id": signer.user_id, "unit_abbrev": "VP"});
    let (status, e) = app
        .call(Method::POST, &path, officer, Some(body.clone()))
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("roles")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("soạn thảo"),
        "{e}"
    );
    accounts::create_user(
        s,
        &Actor::system(),
        NewUser {
            username: "officer.drafter".into(),
            full_name: "Lê Thị Hoa".into(),
            email: String::new(),
            agency_id: ours,
            password: Zeroizing::new(PASSWORD.into()),
            roles: ["signature_officer", "drafter"]
                .iter()
                .map(|r| RoleOn {
                    role: (*r).into(),
                    agency_id: ours,
                })
                .collect(),
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    let maker = app.login("officer.drafter").await;
    docs::create_register(
        s,
        &clerk,
        &RegisterInput {
            agency_id: ours,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "SKHCN".into(),
            doc_types: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    // Where letters go: unset, the letter is refused; only the administrator sets it.
    let (status, e) = app
        .call(Method::POST, &path, &maker, Some(body.clone()))
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("recipient")),
        "{e}"
    );
    let codes = json!({"department": "000.00.37.H99", "national_ca": "G11.07.05"});
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/request-recipients",
            officer,
            Some(codes.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, set) = app
        .call(
            Method::PUT,
            "/api/v1/request-recipients",
            admin,
            Some(codes),
        )
        .await;
    assert_eq!(
        (status, set["department"].as_str()),
        (StatusCode::OK, Some("H99.37")),
        "{set}"
    );
    let (status, got) = app
        .call(Method::GET, "/api/v1/request-recipients", officer, None)
        .await;
    assert_eq!((status, &got), (StatusCode::OK, &set));
    let (status, doc) = app
        .call(Method::POST, &path, &maker, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(
        (
            doc["document"]["state"].as_str(),
            doc["document"]["meta"]["doc_type"].as_str(),
            doc["document"]["meta"]["recipients"].clone(),
            doc["document"]["signer_id"].as_i64(),
        ),
        (
            Some("draft"),
            Some("cong_van"),
            json!(["G11.07.05"]),
            Some(signer.user_id)
        ),
        "{doc}"
    );
    let (status, e) = app.call(Method::POST, &path, &maker, Some(body)).await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("request")),
        "{e}"
    );
    let doc_id = doc["document"]["id"].as_i64().unwrap();
    let blobs = kyso_store::blobs::Blobs::open(app.blobs.path()).unwrap();
    let maker_actor = actor("officer.drafter").await;
    let detail = docs::get_document(s, &maker_actor, doc_id).await.unwrap();
    let draft = blobs.get(&detail.versions[0].sha256).unwrap();
    assert!(draft.starts_with(b"%PDF-"));
    let bytes = kyso_store::testing::walk_flow(
        s,
        &blobs,
        doc_id,
        &[
            (&maker_actor, D::Submit),
            (&quantri, D::Forward),
            (&quantri, D::CheckFormat),
            (&signer, D::Approve),
            (&signer, D::SignPersonal),
            (&clerk, D::ClerkCheck),
            (&clerk, D::Number),
            (&clerk, D::OrgSign),
            (&clerk, D::Register),
            (&clerk, D::Dispatch),
        ],
        draft,
        "cong-van-de-nghi.pdf",
        NOW,
    )
    .await;
    let detail = docs::get_document(s, &clerk, doc_id).await.unwrap();
    SentLetter {
        sealed: bytes,
        sealed_sha256: detail.versions.last().unwrap().sha256.clone(),
    }
}

#[tokio::test]
async fn a_request_is_drafted_approved_sent_and_completed_through_the_api() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let officer = app.login("signature.officer").await;
        let admin = app.login("quantri").await;
        let form = json!({
            "kind": "issue_individual",
            "agency_id": w.ours,
            "contact_name": "Lê Thị Hoa",
            "contact_phone": "0912345678",
            "items": [{"data": {"name": "Trần Thị Bình", "id_number": "040185000123",
                                "email": "binh@demo.invalid", "date_of_birth": "02/09/1985"}}],
        });
        let (status, r) = app
            .call(
                Method::POST,
                "/api/v1/requests",
                &officer,
                Some(form.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b:?}: {r}");
        assert_eq!(
            (r["state"].as_str(), r["form_number"].as_str()),
            (Some("draft"), Some("01"))
        );
        let id = r["id"].as_i64().unwrap();
        let act = |token: &str, body: Value| {
            let token = token.to_owned();
            let app = &app;
            async move {
                app.call(
                    Method::POST,
                    &format!("/api/v1/requests/{id}/actions"),
                    &token,
                    Some(body),
                )
                .await
            }
        };
        let mut edited = form.clone();
        edited["number"] = json!("12/SKHCN-VP");
        let (status, r) = app
            .call(
                Method::PUT,
                &format!("/api/v1/requests/{id}"),
                &officer,
                Some(edited),
            )
            .await;
        assert_eq!(
            (status, r["number"].as_str()),
            (StatusCode::OK, Some("12/SKHCN-VP")),
            "{r}"
        );
        let (status, _) = act(&officer, json!({"action": "submit"})).await;
        assert_eq!(status, StatusCode::OK);
        // The officer's own agency is not its managing agency: the province's administrator is.
        let (status, e) = act(&officer, json!({"action": "approve"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, e) = act(&admin, json!({"action": "refuse"})).await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
            "{e}"
        );
        let (status, e) = act(&admin, json!({"action": "bless"})).await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("action")),
            "{e}"
        );
        let (status, _) = act(&admin, json!({"action": "approve", "note": "Đồng ý"})).await;
        assert_eq!(status, StatusCode::OK);
        // Nobody sends a request by hand: it leaves with its letter, an outgoing document.
        let (status, e) = act(&officer, json!({"action": "send"})).await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::CONFLICT, Some("action")),
            "{e}"
        );
        let (_, r) = app
            .call(
                Method::GET,
                &format!("/api/v1/requests/{id}"),
                &officer,
                None,
            )
            .await;
        assert!(
            !r["actions"].as_array().unwrap().contains(&json!("send")),
            "{r}"
        );
        let (status, e) = app
            .call(
                Method::GET,
                &format!("/api/v1/requests/{id}/letter"),
                &officer,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let letter = sent_by_letter(&app, id, &officer, &admin).await;
        let (status, r) = app
            .call(
                Method::GET,
                &format!("/api/v1/requests/{id}"),
                &officer,
                None,
            )
            .await;
        assert_eq!(
            (status, r["state"].as_str()),
            (StatusCode::OK, Some("sent")),
            "{r}"
        );
        assert_eq!(r["deadline_at"], "2026-06-04T23:59:59+07:00", "{b:?}: {r}");
        // The request's letter is the sealed version of its document, kept under its SHA-256.
        let sha = r["letter_sha256"]
            .as_str()
            .unwrap_or_else(|| panic!("no letter: {r}"))
            .to_owned();
        assert_eq!(sha, letter.sealed_sha256);
        let req = Request::builder()
            .uri(format!("/api/v1/requests/{}/letter", r["id"]))
            .header(header::AUTHORIZATION, format!("Bearer {officer}"))
            .body(Body::empty())
            .unwrap();
        let (status, pdf, headers) = app.raw(req).await;
        assert_eq!(
            (status, headers[header::CONTENT_TYPE].to_str().unwrap()),
            (StatusCode::OK, "application/pdf")
        );
        assert_eq!(pdf, letter.sealed);
        assert!(app.blobs.path().join(&sha[..2]).join(&sha[2..]).is_file());
        // A letter changed on disk is refused, not served.
        std::fs::write(
            app.blobs.path().join(&sha[..2]).join(&sha[2..]),
            b"%PDF-1.7 forged",
        )
        .unwrap();
        let req = Request::builder()
            .uri(format!("/api/v1/requests/{}/letter", r["id"]))
            .header(header::AUTHORIZATION, format!("Bearer {officer}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = app.raw(req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(String::from_utf8_lossy(&body).contains("mã băm không khớp"));
        // Completion certificates are checked: validity in order, not expired, decodable.
        for bad in [
            issued_der(
                "Trần Thị Bình",
                901,
                NOW + time::Duration::days(30),
                NOW + time::Duration::days(1),
            ),
            issued_der(
                "Trần Thị Bình",
                902,
                NOW - time::Duration::days(400),
                NOW - time::Duration::days(2),
            ),
            "@@ không phải base64 @@".to_owned(),
        ] {
            let (status, e) =
                act(&admin, json!({"action": "complete", "certificates": [bad]})).await;
            assert_eq!(
                (status, e["error"]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("certificates")),
                "{b:?}: {e}"
            );
            assert!(!e["error"]["message"].as_str().unwrap().is_empty());
        }
        let good = issued_der("Trần Thị Bình", 903, NOW, NOW + time::Duration::days(1825));
        let (status, r) = act(
            &admin,
            json!({"action": "complete", "certificates": [good]}),
        )
        .await;
        assert_eq!(
            (status, r["state"].as_str()),
            (StatusCode::OK, Some("done")),
            "{b:?}: {r}"
        );
        let cert_id = r["items"][0]["certificate_id"].as_i64().unwrap();
        let (status, cert) = app
            .call(
                Method::GET,
                &format!("/api/v1/certificates/{cert_id}"),
                &officer,
                None,
            )
            .await;
        assert_eq!(
            (status, cert["serial"].as_str()),
            (StatusCode::OK, Some("0387")),
            "{cert}"
        );
        let (_, list) = app
            .call(
                Method::GET,
                "/api/v1/requests?state=done&kind=issue_individual",
                &officer,
                None,
            )
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        let (status, e) = app
            .call(Method::GET, "/api/v1/requests?kind=gia_han", &officer, None)
            .await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
        );
        let (_, dash) = app
            .call(Method::GET, "/api/v1/dashboard", &officer, None)
            .await;
        assert_eq!(
            (
                dash["open_requests"].as_i64(),
                dash["overdue_requests"].as_i64()
            ),
            (Some(0), Some(0)),
            "{dash}"
        );
        // The calendar: the administrator configures a year; dates must fall in it.
        let (status, cal) = app
            .call(
                Method::PUT,
                "/api/v1/calendar",
                &admin,
                Some(json!({"years": {"2031": {"holidays": ["2031-01-01", "2031-09-02"], "working_days": []}}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{cal}");
        let (_, cal) = app
            .call(Method::GET, "/api/v1/calendar", &admin, None)
            .await;
        assert_eq!(cal["years"]["2031"]["holidays"][1], "2031-09-02", "{cal}");
        let (status, e) = app
            .call(
                Method::PUT,
                "/api/v1/calendar",
                &admin,
                Some(json!({"years": {"2031": {"holidays": ["2030-12-31"]}}})),
            )
            .await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("years")),
            "{e}"
        );
    }
}

#[tokio::test]
async fn a_bad_request_form_gets_a_422_naming_the_field() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let officer = app.login("signature.officer").await;
        let base = json!({
            "kind": "issue_individual",
            "agency_id": w.ours,
            "contact_name": "Lê Thị Hoa",
            "items": [{"data": {"name": "Trần Thị Bình", "id_number": "040185000123",
                                "email": "binh@demo.invalid"}}],
        });
        let with = |path: &[&str], v: Value| {
            let mut f = base.clone();
            let mut at = &mut f;
            for (i, k) in path.iter().enumerate() {
                if i + 1 == path.len() {
                    at[*k] = v.clone();
                } else {
                    at = &mut at[*k];
                }
            }
            f
        };
        let without = |k: &str| {
            let mut f = base.clone();
            f.as_object_mut().unwrap().remove(k);
            f
        };
        let mut future_birth = base.clone();
        future_birth["items"][0]["data"]["date_of_birth"] = json!("01/01/2030");
        let mut no_id = base.clone();
        no_id["items"][0]["data"]
            .as_object_mut()
            .unwrap()
            .remove("id_number");
        let mut bad_key = base.clone();
        bad_key["items"][0]["data"]["blood_type"] = json!("O");
        for (body, field) in [
            (with(&["kind"], json!("gia_han")), "kind"),
            (without("kind"), "kind"),
            (without("contact_name"), "contact_name"),
            (without("items"), "items"),
            (with(&["items"], json!([])), "items"),
            (without("agency_id"), "agency_id"),
            (future_birth, "date_of_birth"),
            (no_id, "id_number"),
            (bad_key, "data"),
            (
                with(&["contact_email"], json!("khong-phai-email")),
                "contact_email",
            ),
            (
                json!({"kind": "revoke", "agency_id": w.ours, "contact_name": "Hoa",
                       "reason": "Nghỉ hưu", "items": [{}]}),
                "certificate_id",
            ),
            (
                json!({"kind": "recover_device", "agency_id": w.ours, "contact_name": "Hoa",
                       "items": [{"device_id": w.their_device}]}),
                "reason",
            ),
        ] {
            let (status, e) = app
                .call(
                    Method::POST,
                    "/api/v1/requests",
                    &officer,
                    Some(body.clone()),
                )
                .await;
            assert_eq!(
                (status, e["error"]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{b:?}: {body} → {e}"
            );
            assert!(e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        let (status, e) = app
            .call(
                Method::POST,
                "/api/v1/requests",
                &officer,
                Some(with(&["colour"], json!("x"))),
            )
            .await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, None),
            "{e}"
        );
        // Nothing was written.
        let (_, list) = app
            .call(Method::GET, "/api/v1/requests", &officer, None)
            .await;
        assert_eq!(list["items"], json!([]), "{b:?}");
    }
}
