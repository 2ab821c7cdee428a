//! The registry server under attack (issue 15): guesses sent in parallel, redirects to other
//! sites, throttles turned against users, weak passwords, reads that cannot be audited. Each
//! test runs on SQLite and on PostgreSQL where the database takes part.
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
use kyso_store::registry::{self, AgencyInput, SubscriberInput};
use kyso_store::sqlx;
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend, Store};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{send, NOW, PASSWORD};

struct App {
    router: Router,
    db: TestDb,
    /// A subscriber of the officer's agency.
    subscriber: i64,
    agency: i64,
    /// What the server's audit check shows auditors.
    audit_alert: kyso_web::AuditAlert,
}

impl App {
    async fn new(backend: Backend) -> App {
        App::with_config(
            backend,
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .await
    }

    async fn with_config(backend: Backend, config: kyso_web::Config) -> App {
        let db = TestDb::new(backend).await;
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
        for (user, role) in [("canbo", "signature_officer"), ("quantri", "dost_admin")] {
            accounts::create_user(
                s,
                &sys,
                NewUser {
                    username: user.into(),
                    full_name: format!("Người dùng {user}"),
                    email: String::new(),
                    agency_id: agency.id,
                    password: Zeroizing::new(PASSWORD.into()),
                    roles: vec![RoleOn {
                        role: role.into(),
                        agency_id: agency.id,
                    }],
                    must_change_password: false,
                },
                NOW,
            )
            .await
            .unwrap();
        }
        let subscriber = registry::create_subscriber(
            s,
            &sys,
            &SubscriberInput {
                kind: "individual".into(),
                agency_id: agency.id,
                name: "Hoàng Minh Đức".into(),
                id_number: "099078000777".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let audit_alert = kyso_web::AuditAlert::default();
        let state = kyso_web::AppState::new(db.store.clone(), Arc::new(|| NOW), config)
            .with_audit_alert(audit_alert.clone());
        App {
            router: kyso_web::router(state),
            db,
            subscriber: subscriber.id,
            agency: agency.id,
            audit_alert,
        }
    }

    fn store(&self) -> &Store {
        &self.db.store
    }

    async fn raw(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        send(&self.router, req).await
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
        let (status, body) = login(&self.router, user, PASSWORD, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

/// `POST /api/v1/auth/login`, from `from` (the TCP peer) or, without it, from one address
/// shared by everybody — what the server sees behind a TLS proxy.
async fn login(
    router: &Router,
    user: &str,
    password: &str,
    from: Option<SocketAddr>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": user, "password": password}).to_string(),
        ))
        .unwrap();
    if let Some(addr) = from {
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    let (status, bytes, _) = send(router, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn failed_logins(s: &Store, user: &str, reason: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND actor = $1 \
         AND detail = $2",
    )
    .bind(user)
    .bind(json!({ "reason": reason }).to_string())
    .fetch_one(s.pool())
    .await
    .unwrap()
}

async fn locked_until(s: &Store, user: &str) -> i64 {
    sqlx::query_scalar("SELECT locked_until FROM users WHERE username = $1")
        .bind(user)
        .fetch_one(s.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_from_many_addresses_cannot_outrun_the_lockout() {
    for b in backends() {
        let app = App::new(b).await;
        // 39 wrong guesses at once, each from its own address.
        let mut guesses = Vec::new();
        for i in 0..39u8 {
            let router = app.router.clone();
            guesses.push(tokio::spawn(async move {
                let from = SocketAddr::from(([10, 9, 0, i], 40000));
                login(
                    &router,
                    "canbo",
                    &format!("doan-sai-{i:03}-xyz"),
                    Some(from),
                )
                .await
            }));
        }
        // The right password goes out while the burst is still being checked: as soon as
        // the fifth guess is counted (which now happens before any hash is computed).
        let mut locked = false;
        for _ in 0..3000 {
            if locked_until(app.store(), "canbo").await > NOW.unix_timestamp() {
                locked = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(locked, "{b:?}: the burst locks the account");
        let right = SocketAddr::from(([10, 9, 1, 1], 40000));
        let (status, body) = login(&app.router, "canbo", PASSWORD, Some(right)).await;
        let mut answers = Vec::new();
        for g in guesses {
            answers.push(g.await.unwrap());
        }
        assert_eq!(
            failed_logins(app.store(), "canbo", "wrong password").await,
            accounts::MAX_FAILURES,
            "{b:?}: only MAX_FAILURES guesses reach the password check"
        );
        assert_eq!(
            failed_logins(app.store(), "canbo", "locked").await,
            40 - accounts::MAX_FAILURES,
            "{b:?}"
        );
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{b:?}: {body}");
        for (status, body) in answers {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{b:?}: {body}");
        }
    }
}

#[tokio::test]
async fn a_locked_account_is_answered_like_a_wrong_password_and_an_unknown_name() {
    for b in backends() {
        let app = App::new(b).await;
        let (status, wrong) = login(&app.router, "canbo", "doan-sai-000-xyz", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        for _ in 1..accounts::MAX_FAILURES {
            login(&app.router, "canbo", "doan-sai-000-xyz", None).await;
        }
        let (locked_status, locked) = login(&app.router, "canbo", PASSWORD, None).await;
        let (unknown_status, unknown) = login(&app.router, "khong.co.ai", PASSWORD, None).await;
        assert_eq!(
            (locked_status, unknown_status),
            (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
            "{b:?}: {locked} {unknown}"
        );
        assert_eq!(locked, unknown, "{b:?}: the same answer, word for word");
        assert_eq!(locked, wrong, "{b:?}");
        assert!(locked["error"]["message"]
            .as_str()
            .unwrap()
            .contains("không đúng"));
        // The audit log, not the answer, says why.
        assert_eq!(failed_logins(app.store(), "canbo", "locked").await, 1);
        assert_eq!(
            failed_logins(app.store(), "khong.co.ai", "unknown user").await,
            1
        );
    }
}

#[tokio::test]
async fn one_persons_failures_do_not_lock_out_everyone_behind_the_proxy() {
    let app = App::new(Backend::Sqlite).await;
    // Everyone arrives from the proxy's one address. Someone fails 25 times on names of
    // all kinds, and 9 more on the officer's own account.
    for i in 0..25 {
        let (status, _) = login(&app.router, &format!("nguoi.la.{i}"), "doan-sai-xyz", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login(&app.router, "quantri", PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK, "another user logs in: {body}");
    // One name from one address is still throttled.
    for _ in 0..10 {
        login(&app.router, "ke.do.tham", "doan-sai-xyz", None).await;
    }
    let (status, body) = login(&app.router, "ke.do.tham", "doan-sai-xyz", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("15 phút"));
    let (status, _) = login(&app.router, "canbo", PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_language_switch_goes_back_only_to_a_page_of_this_site() {
    let app = App::new(Backend::Sqlite).await;
    let location = |back: &'static str| {
        let router = app.router.clone();
        async move {
            let req = Request::builder()
                .uri(format!("/lang?to=en&back={back}"))
                .body(Body::empty())
                .unwrap();
            let (status, _, headers) = send(&router, req).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{back}");
            headers[header::LOCATION].to_str().unwrap().to_owned()
        }
    };
    for bad in [
        "/%09/evil.example",
        "/%0d%0aSet-Cookie:%20kyso_session=x",
        "/%0a/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "%5C%5Cevil.example",
        "/%2F/evil.example",
        "%2F%2Fevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "%20/evil.example",
        "/%20/evil.example",
        "/a%00b",
        "/%E2%80%8B/evil.example",
        "evil.example",
    ] {
        assert_eq!(location(bad).await, "/", "{bad}");
    }
    for good in [
        "/subscribers",
        "/login",
        "/subscribers/12",
        "/certificates?q=an",
    ] {
        assert_eq!(location(good).await, good);
    }
}

#[tokio::test]
async fn a_record_whose_read_cannot_be_audited_is_not_shown() {
    for b in backends() {
        let app = App::new(b).await;
        let token = app.login("canbo").await;
        let page = |path: String| {
            Request::builder()
                .uri(path)
                .header(header::COOKIE, format!("kyso_session={token}"))
                .body(Body::empty())
                .unwrap()
        };
        let (status, body, _) = app
            .raw(page(format!("/subscribers/{}", app.subscriber)))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(String::from_utf8(body).unwrap().contains("099078000777"));
        // The audit log cannot be written (here: its table is gone).
        sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_away")
            .execute(app.store().pool())
            .await
            .unwrap();
        let (status, body, _) = app
            .raw(page(format!("/subscribers/{}", app.subscriber)))
            .await;
        let html = String::from_utf8(body).unwrap();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{b:?}: {html}");
        assert!(
            !html.contains("099078000777"),
            "{b:?}: nothing of the record"
        );
        assert!(!html.contains("Hoàng Minh Đức"), "{b:?}");
        assert!(
            html.contains("nhật ký"),
            "{b:?}: a Vietnamese reason: {html}"
        );
        assert!(html.contains("Đăng xuất"), "{b:?}: in the site's layout");
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/subscribers/{}", app.subscriber),
                &token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{b:?}");
    }
}

#[tokio::test]
async fn a_tampered_audit_log_is_shown_to_those_who_read_it() {
    let app = App::new(Backend::Sqlite).await;
    let page = |token: &str| {
        Request::builder()
            .uri("/")
            .header(header::COOKIE, format!("kyso_session={token}"))
            .body(Body::empty())
            .unwrap()
    };
    let admin = app.login("quantri").await;
    let officer = app.login("canbo").await;
    let (_, body, _) = app.raw(page(&admin)).await;
    assert!(!String::from_utf8(body).unwrap().contains("audit-alert"));
    *app.audit_alert.write().unwrap() = Some((
        "NHẬT KÝ BỊ THAY ĐỔI: Nhật ký trống nhưng đã có điểm kiểm tra ở bản ghi số 9".into(),
        "THE AUDIT LOG WAS TAMPERED WITH: the audit log is empty".into(),
    ));
    let (status, body, _) = app.raw(page(&admin)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"id="audit-alert" role="alert""#) && html.contains("NHẬT KÝ BỊ THAY ĐỔI"),
        "{html}"
    );
    // A signature officer does not read the audit log.
    let (_, body, _) = app.raw(page(&officer)).await;
    assert!(!String::from_utf8(body).unwrap().contains("audit-alert"));
}

#[tokio::test]
async fn weak_and_reused_passwords_are_refused_at_the_field() {
    for b in backends() {
        let app = App::new(b).await;
        let token = app.login("canbo").await;
        for weak in [
            "aaaaaaaaaa",
            "1234567890",
            "qwertyuiop",
            "matkhau@2024",
            "Admin@123456",
            "123456789@Hanoi",
            "nguoidung-canbo",
            "Người Dùng Canbo 1",
            PASSWORD,
        ] {
            let (status, v) = app
                .call(
                    Method::POST,
                    "/api/v1/me/password",
                    &token,
                    Some(json!({"old_password": PASSWORD, "new_password": weak})),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{b:?} {weak}: {v}"
            );
            assert_eq!(v["error"]["field"], "new_password", "{weak}");
            assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        }
        let (_, v) = app
            .call(
                Method::POST,
                "/api/v1/me/password",
                &token,
                Some(json!({"old_password": PASSWORD, "new_password": PASSWORD})),
            )
            .await;
        assert_eq!(
            v["error"]["message"],
            "Mật khẩu mới phải khác mật khẩu hiện tại."
        );
        // A new account's first password follows the same rule.
        let admin = app.login("quantri").await;
        let (status, v) = app
            .call(
                Method::POST,
                "/api/v1/users",
                &admin,
                Some(json!({
                    "username": "canbo.moi", "full_name": "Cán bộ mới",
                    "agency_id": app.agency, "password": "matkhau123456",
                    "roles": [{"role": "clerk", "agency_id": app.agency}]
                })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "password");
        assert!(v["error"]["message"].as_str().unwrap().contains("phổ biến"));
        let (status, v) = app
            .call(
                Method::POST,
                "/api/v1/me/password",
                &token,
                Some(json!({"old_password": PASSWORD, "new_password": "Sông-Hồng-chảy-2026"})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{b:?}: {v}");
    }
}

fn form_post(body: &str, cookie: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, "kyso.tinh.gov.vn")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn the_login_form_carries_its_own_csrf_token_and_refuses_other_origins() {
    let app = App::new(Backend::Sqlite).await;
    let (status, body, headers) = app
        .raw(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let token = set
        .strip_prefix("kyso_login_csrf=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 43);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains(&format!("name=\"csrf\" value=\"{token}\"")));
    assert!(html.contains("id=\"username\"") && html.contains("id=\"password\""));
    let cookie = format!("kyso_login_csrf={token}");
    let good = format!("username=canbo&password={PASSWORD}&csrf={token}");
    // A form another site makes the browser post: no token cookie, or no token, or an
    // Origin that is not this site's.
    for (body, cookie, origin) in [
        (format!("username=canbo&password={PASSWORD}"), None, None),
        (good.clone(), None, None),
        (
            format!("username=canbo&password={PASSWORD}&csrf=forged"),
            Some(cookie.as_str()),
            None,
        ),
        (
            good.clone(),
            Some(cookie.as_str()),
            Some("https://evil.example"),
        ),
        (good.clone(), Some(cookie.as_str()), Some("null")),
    ] {
        let (status, html, headers) = app.raw(form_post(&body, cookie, origin)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{body} {cookie:?} {origin:?}"
        );
        assert!(
            !headers
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("kyso_session=")),
            "no session"
        );
        assert!(String::from_utf8(html)
            .unwrap()
            .contains("không gửi từ trang này"));
    }
    // Our own page, with or without an Origin header; behind a proxy that rewrites Host.
    for (origin, forwarded) in [
        (None, None),
        (Some("https://kyso.tinh.gov.vn"), None),
        (
            Some("https://kyso.so-khcn.gov.vn"),
            Some("kyso.so-khcn.gov.vn"),
        ),
    ] {
        let mut req = form_post(&good, Some(cookie.as_str()), origin);
        if let Some(f) = forwarded {
            req.headers_mut()
                .insert("x-forwarded-host", f.parse().unwrap());
        }
        let (status, _, headers) = app.raw(req).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{origin:?}");
        assert_eq!(headers[header::LOCATION], "/");
        assert!(headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("kyso_session="));
    }
    // A wrong password keeps the token, so the next try goes through.
    let (status, html, _) = app
        .raw(form_post(
            &format!("username=canbo&password=doan-sai-xyz&csrf={token}"),
            Some(cookie.as_str()),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8(html).unwrap().contains(&token));
}

#[tokio::test]
async fn hsts_is_sent_when_the_server_is_behind_tls() {
    for secure in [false, true] {
        let app = App::with_config(
            Backend::Sqlite,
            kyso_web::Config {
                secure_cookies: secure,
            },
        )
        .await;
        let (_, _, headers) = app
            .raw(Request::get("/login").body(Body::empty()).unwrap())
            .await;
        assert_eq!(
            headers
                .get(header::STRICT_TRANSPORT_SECURITY)
                .map(|v| v.to_str().unwrap().to_owned()),
            secure.then(|| "max-age=31536000".to_owned())
        );
    }
}

#[tokio::test]
async fn names_with_bidi_controls_or_zero_width_characters_are_refused() {
    for b in backends() {
        let app = App::new(b).await;
        let admin = app.login("quantri").await;
        for name in [
            "Nguyễn \u{202E}nA nàV",
            "Trần\u{200B}Thị Bình",
            "\u{2066}Lê Văn Cường\u{2069}",
            "Phạm\u{FEFF}Minh",
        ] {
            let (status, v) = app
                .call(
                    Method::POST,
                    "/api/v1/subscribers",
                    &admin,
                    Some(json!({"kind": "individual", "agency_id": app.agency, "name": name})),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{b:?} {name:?}: {v}"
            );
            assert_eq!(v["error"]["field"], "name");
            assert!(v["error"]["message"].as_str().unwrap().contains("ký tự ẩn"));
        }
        let (status, v) = app
            .call(
                Method::POST,
                "/api/v1/users",
                &admin,
                Some(json!({
                    "username": "canbo.moi", "full_name": "Cán bộ\u{200D} mới",
                    "agency_id": app.agency, "password": "Sông-Hồng-chảy-2026",
                    "roles": [{"role": "clerk", "agency_id": app.agency}]
                })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {v}");
        assert_eq!(v["error"]["field"], "full_name");
        let (status, v) = app
            .call(
                Method::POST,
                "/api/v1/subscribers",
                &admin,
                Some(
                    json!({"kind": "individual", "agency_id": app.agency, "name": "Nguyễn Văn An"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b:?}: {v}");
    }
}

#[tokio::test]
async fn a_template_row_with_an_unclosed_quote_refuses_the_import() {
    for b in backends() {
        let app = App::new(b).await;
        let token = app.login("canbo").await;
        let import = |rows: &[&str]| {
            let mut csv = kyso_store::csv_io::TEMPLATE_COLUMNS.join(",");
            for r in rows {
                csv.push_str("\r\n");
                csv.push_str(r);
            }
            Request::post(format!(
                "/api/v1/subscribers/import?agency_id={}",
                app.agency
            ))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv))
            .unwrap()
        };
        let first =
            "Nguyễn Văn An,15/03/1985,001085012345,,,an@demo.gov.vn,UBND Tỉnh Demo,,,,,,,,,,";
        let third =
            "Lê Văn Cường,02/02/1980,001080012346,,,cuong@demo.gov.vn,UBND Tỉnh Demo,,,,,,,,,,";
        // The name cell opens a quote and never closes it: the rest of the file would be
        // one person's name.
        let (status, body, _) = app
            .raw(import(&[
                first,
                "\"Trần Thị Bình,01/01/1992,001092012345,,,binh@demo.gov.vn,UBND Tỉnh Demo,,,,,,,,,,",
                third,
            ]))
            .await;
        let report: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {report}");
        assert_eq!(report["imported"], 0);
        assert_eq!(report["errors"][0]["row"], 3, "{report}");
        assert_eq!(report["errors"][0]["column"], "Họ và tên");
        assert!(report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("không đóng"));
        let (_, found) = app
            .call(Method::GET, "/api/v1/subscribers?q=binh", &token, None)
            .await;
        assert_eq!(found["total"], 0, "{b:?}: nothing imported: {found}");
        // Quoted the right way, the same people import.
        let (status, body, _) = app
            .raw(import(&[
                first,
                "\"Trần Thị Bình\",01/01/1992,001092012345,,,binh@demo.gov.vn,UBND Tỉnh Demo,,,,,,,,,,",
                third,
            ]))
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{b:?}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}
