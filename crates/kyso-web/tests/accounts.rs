//! Account lifecycle through the real router (issue 15, item 4): a password change ends the
//! other sessions and every API token; administrators disable, enable, change roles, reset
//! passwords and revoke tokens only inside their subtrees (404 outside, 403 for lower roles).
//! On SQLite and on PostgreSQL.
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
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use tower::ServiceExt as _;
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

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

    async fn call_h(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        support::call_json(&self.router, method, path, token, body).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = self.call_h(method, path, token, body).await;
        (s, v)
    }

    async fn login_with(&self, user: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            "",
            Some(json!({"username": user, "password": password})),
        )
        .await
    }

    async fn login(&self, user: &str) -> String {
        let (status, body) = self.login_with(user, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn token(&self, session: &str, name: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/tokens",
                session,
                Some(json!({"name": name, "days": 366})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn me(&self, token: &str) -> StatusCode {
        self.call(Method::GET, "/api/v1/me", token, None).await.0
    }
}

/// The province's Department (DOST) with a unit below it, and the Finance department.
struct World {
    dost: i64,
    unit: i64,
    finance: i64,
}

async fn world(app: &App) -> World {
    let s = &app.db.store;
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let dost = support::agency(s, "000.00.37.H99", "Sở Khoa học và Công nghệ", Some(root)).await;
    let unit = support::agency(s, "H99.37.01", "Trung tâm Chuyển đổi số", Some(dost)).await;
    let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
    World {
        dost,
        unit,
        finance,
    }
}

async fn account(app: &App, name: &str, agency: i64, role: &str) -> i64 {
    accounts::create_user(
        &app.db.store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
            agency_id: agency,
            password: Zeroizing::new(PASSWORD.into()),
            roles: vec![RoleOn {
                role: role.into(),
                agency_id: agency,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn a_token_used_before_a_password_change_gets_401_after() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        account(&app, "canbo.donvi", w.unit, "signature_officer").await;
        let here = app.login("canbo.donvi").await;
        let elsewhere = app.login("canbo.donvi").await;
        let token = app.token(&here, "may-chu-van-ban").await;
        assert_eq!(app.me(&token).await, StatusCode::OK);
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/me/password",
                &here,
                Some(
                    json!({"old_password": PASSWORD, "new_password": "Hoa-sen-no-tren-dong-2026"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(app.me(&token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(app.me(&elsewhere).await, StatusCode::UNAUTHORIZED);
        assert_eq!(app.me(&here).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn account_routes_answer_404_outside_the_subtree_and_403_to_lower_roles() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let officer = account(&app, "canbo.donvi", w.unit, "signature_officer").await;
        account(&app, "quantri.so", w.dost, "dost_admin").await;
        account(&app, "quantri.taichinh", w.finance, "dost_admin").await;
        account(&app, "canbo.so", w.dost, "signature_officer").await;
        let outsider = app.login("quantri.taichinh").await;
        let lower = app.login("canbo.so").await;
        let role = json!({"role": "clerk", "agency_id": w.unit});
        let routes: Vec<(Method, String, Option<Value>)> = vec![
            (
                Method::POST,
                format!("/api/v1/users/{officer}/disable"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/users/{officer}/enable"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/users/{officer}/roles"),
                Some(role.clone()),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{officer}/roles/remove"),
                Some(json!({"role": "signature_officer", "agency_id": w.unit})),
            ),
            (
                Method::POST,
                format!("/api/v1/users/{officer}/password-reset"),
                None,
            ),
            (Method::GET, format!("/api/v1/users/{officer}/tokens"), None),
        ];
        for (method, path, body) in &routes {
            let (status, _) = app
                .call(method.clone(), path, &outsider, body.clone())
                .await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path} by another department"
            );
            let (status, _) = app.call(method.clone(), path, &lower, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} by an officer"
            );
        }
        let who = accounts::user(&app.db.store, officer).await.unwrap();
        assert!(!who.disabled && !who.must_change_password);
        assert_eq!(who.roles.len(), 1);
        // Nothing was done, so nothing but refusals may be in the log for the account.
        let admin = app.login("quantri.so").await;
        let (_, log) = app
            .call(
                Method::GET,
                &format!("/api/v1/audit?object=user:{officer}"),
                &admin,
                None,
            )
            .await;
        let done: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert!(!done.contains(&"user.disable") && !done.contains(&"user.password_reset"));
    }
}

#[tokio::test]
async fn an_administrator_disables_enables_changes_roles_and_resets_within_scope() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let officer = account(&app, "canbo.donvi", w.unit, "signature_officer").await;
        let admin_id = account(&app, "quantri.so", w.dost, "dost_admin").await;
        let admin = app.login("quantri.so").await;
        let session = app.login("canbo.donvi").await;
        let token = app.token(&session, "tich-hop").await;

        // Disable: the session and the token end; the login is answered like a wrong password.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/users/{officer}/disable"),
                &admin,
                None,
            )
            .await;
        assert_eq!(
            (status, body["disabled"].as_bool()),
            (StatusCode::OK, Some(true))
        );
        assert_eq!(app.me(&session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(app.me(&token).await, StatusCode::UNAUTHORIZED);
        let disabled = app.login_with("canbo.donvi", PASSWORD).await;
        let wrong = app.login_with("canbo.donvi", "sai-mat-khau-0000").await;
        assert_eq!(disabled.0, StatusCode::UNAUTHORIZED);
        assert_eq!(disabled, wrong);
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/users/{officer}/enable"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // Not oneself.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/users/{admin_id}/disable"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        // Roles.
        let clerk = json!({"role": "clerk", "agency_id": w.unit});
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/users/{officer}/roles"),
                &admin,
                Some(clerk.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["roles"].as_array().unwrap().len(), 2);
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/users/{officer}/roles/remove"),
                &admin,
                Some(clerk),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["roles"].as_array().unwrap().len(), 1);
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/users/{admin_id}/roles/remove"),
                &admin,
                Some(json!({"role": "dost_admin", "agency_id": w.dost})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "role");

        // Reset: a one-time password, shown once and not cached, to be changed at login.
        let (status, body, headers) = app
            .call_h(
                Method::POST,
                &format!("/api/v1/users/{officer}/password-reset"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let one_time = body["password"].as_str().unwrap();
        let (status, login) = app.login_with("canbo.donvi", one_time).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(login["must_change_password"], true);
        let (status, _) = app
            .call(
                Method::GET,
                "/api/v1/dashboard",
                login["token"].as_str().unwrap(),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Each action is in the audit log.
        let (_, log) = app
            .call(
                Method::GET,
                &format!("/api/v1/audit?object=user:{officer}"),
                &admin,
                None,
            )
            .await;
        let done: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for a in [
            "user.disable",
            "user.enable",
            "user.role_grant",
            "user.role_remove",
            "user.password_reset",
        ] {
            assert!(done.contains(&a), "{a} missing from {done:?}");
        }
    }
}

#[tokio::test]
async fn api_tokens_are_listed_without_the_secret_and_revoked() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        let officer = account(&app, "canbo.donvi", w.unit, "signature_officer").await;
        account(&app, "quantri.so", w.dost, "dost_admin").await;
        account(&app, "quantri.taichinh", w.finance, "dost_admin").await;
        let session = app.login("canbo.donvi").await;
        let first = app.token(&session, "may-chu-van-ban").await;
        let second = app.token(&session, "may-chu-hop").await;
        let (status, list) = app
            .call(Method::GET, "/api/v1/tokens", &session, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["name"], "may-chu-van-ban");
        assert!(
            items[0]["expires_at"].as_i64().unwrap() > items[0]["created_at"].as_i64().unwrap()
        );
        let text = list.to_string();
        assert!(!text.contains(&first) && !text.contains(&second) && !text.contains("hash"));
        // The owner revokes one.
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{}", items[0]["id"]),
                &session,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(app.me(&first).await, StatusCode::UNAUTHORIZED);
        assert_eq!(app.me(&second).await, StatusCode::OK);
        // Another department's administrator sees neither the list nor the token.
        let outsider = app.login("quantri.taichinh").await;
        let second_id = items[1]["id"].clone();
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/users/{officer}/tokens"),
                &outsider,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{second_id}"),
                &outsider,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(app.me(&second).await, StatusCode::OK);
        // The account's administrator does.
        let admin = app.login("quantri.so").await;
        let (status, theirs) = app
            .call(
                Method::GET,
                &format!("/api/v1/users/{officer}/tokens"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{second_id}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(app.me(&second).await, StatusCode::UNAUTHORIZED);
    }
}

impl App {
    /// A browser session: (cookie header, CSRF token).
    async fn browser(&self, user: &str) -> (String, String) {
        let (session, _) = accounts::login(
            &self.db.store,
            user,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        (
            format!("kyso_session={}", session.token.as_str()),
            session.csrf,
        )
    }

    async fn page(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        form: Option<&str>,
    ) -> (StatusCode, String, axum::http::HeaderMap) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, cookie);
        let req = match form {
            Some(f) => req
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(f.to_owned())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            headers,
        )
    }
}

#[tokio::test]
async fn the_account_page_confirms_before_disabling_and_shows_a_reset_password_once() {
    let app = App::new(Backend::Sqlite).await;
    let w = world(&app).await;
    let officer = account(&app, "canbo.donvi", w.unit, "signature_officer").await;
    account(&app, "quantri.so", w.dost, "dost_admin").await;
    let (cookie, csrf) = app.browser("quantri.so").await;
    let (status, list, _) = app.page(Method::GET, "/users", &cookie, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains(&format!("href=\"/users/{officer}\"")),
        "{list}"
    );
    let (status, page, _) = app
        .page(Method::GET, &format!("/users/{officer}"), &cookie, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Khóa tài khoản") && page.contains("Đặt lại mật khẩu"));

    // The first post asks; nothing is done until it is confirmed.
    let path = format!("/users/{officer}/disable");
    let (status, ask, _) = app
        .page(Method::POST, &path, &cookie, Some(&format!("csrf={csrf}")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ask.contains("Bạn có chắc chắn muốn khóa tài khoản canbo.donvi"));
    assert!(
        !accounts::user(&app.db.store, officer)
            .await
            .unwrap()
            .disabled
    );
    let (status, _, headers) = app
        .page(
            Method::POST,
            &path,
            &cookie,
            Some(&format!("csrf={csrf}&confirm=yes")),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let to = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/users/{officer}?done=disabled"));
    assert!(
        accounts::user(&app.db.store, officer)
            .await
            .unwrap()
            .disabled
    );
    let (_, done, _) = app.page(Method::GET, &to, &cookie, None).await;
    assert!(done.contains("Đã khóa tài khoản"));
    // A form from elsewhere (wrong CSRF token) does nothing.
    let (status, _, _) = app
        .page(
            Method::POST,
            &format!("/users/{officer}/enable"),
            &cookie,
            Some("csrf=khac&confirm=yes"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        accounts::user(&app.db.store, officer)
            .await
            .unwrap()
            .disabled
    );

    // The reset shows the one-time password once, not cached; it logs in and must be changed.
    let (status, shown, headers) = app
        .page(
            Method::POST,
            &format!("/users/{officer}/reset"),
            &cookie,
            Some(&format!("csrf={csrf}&confirm=yes")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let one_time = shown
        .split("id=\"one-time-password\"")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(one_time.len(), 16, "{shown}");
    accounts::set_disabled(&app.db.store, &Actor::system(), officer, false, NOW)
        .await
        .unwrap();
    let (status, login) = app.login_with("canbo.donvi", &one_time).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login["must_change_password"], true);
}

#[tokio::test]
async fn my_api_tokens_are_listed_on_the_password_page_and_revoked_after_confirmation() {
    let app = App::new(Backend::Sqlite).await;
    let w = world(&app).await;
    account(&app, "canbo.donvi", w.unit, "signature_officer").await;
    let (cookie, csrf) = app.browser("canbo.donvi").await;
    let api = app.login("canbo.donvi").await;
    let token = app.token(&api, "may-chu-van-ban").await;
    let id = app.call(Method::GET, "/api/v1/tokens", &api, None).await.1["items"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, page, _) = app.page(Method::GET, "/password", &cookie, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Mã truy cập API của tôi") && page.contains("may-chu-van-ban"));
    assert!(!page.contains(&token));
    let path = format!("/tokens/{id}/revoke");
    let (_, ask, _) = app
        .page(
            Method::POST,
            &path,
            &cookie,
            Some(&format!("csrf={csrf}&back=%2Fpassword")),
        )
        .await;
    assert!(ask.contains("Bạn có chắc chắn muốn thu hồi"));
    assert_eq!(app.me(&token).await, StatusCode::OK);
    let (status, _, headers) = app
        .page(
            Method::POST,
            &path,
            &cookie,
            Some(&format!("csrf={csrf}&back=%2Fpassword&confirm=yes")),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/password?done=token_revoked");
    assert_eq!(app.me(&token).await, StatusCode::UNAUTHORIZED);
    let (_, page, _) = app
        .page(Method::GET, "/password?done=token_revoked", &cookie, None)
        .await;
    assert!(page.contains("Đã thu hồi mã truy cập API"));
}

/// Issue 15/4: my sessions are listed (the one asking marked), another of mine is ended by its
/// handle, and nobody else's can be.
#[tokio::test]
async fn my_sessions_are_listed_and_one_is_ended_without_touching_the_others() {
    for b in backends() {
        let app = App::new(b).await;
        let w = world(&app).await;
        account(&app, "canbo.phien", w.unit, "clerk").await;
        account(&app, "nguoi.khac", w.unit, "clerk").await;
        let here = app.login("canbo.phien").await;
        let there = app.login("canbo.phien").await;
        let other = app.login("nguoi.khac").await;
        let api_token = app.token(&here, "tich-hop").await;

        let (status, list) = app.call(Method::GET, "/api/v1/sessions", &here, None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{b:?}: {list}");
        assert_eq!(
            items.iter().filter(|s| s["current"] == json!(true)).count(),
            1,
            "{b:?}: {list}"
        );
        assert!(
            !list.to_string().contains(&here),
            "{b:?}: no cookie in the list"
        );
        let there_id = items.iter().find(|s| s["current"] == json!(false)).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Through an API token: the same sessions, none of them current.
        let (_, via_token) = app
            .call(Method::GET, "/api/v1/sessions", &api_token, None)
            .await;
        assert!(
            via_token["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["current"] == json!(false)),
            "{b:?}: {via_token}"
        );

        // Someone else cannot end it.
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/sessions/{there_id}"),
                &other,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}");
        assert_eq!(app.me(&there).await, StatusCode::OK);

        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/sessions/{there_id}"),
                &here,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{b:?}: {body}");
        assert_eq!(app.me(&there).await, StatusCode::UNAUTHORIZED, "{b:?}");
        assert_eq!(app.me(&here).await, StatusCode::OK, "{b:?}");
        assert_eq!(app.me(&other).await, StatusCode::OK, "{b:?}");
        assert_eq!(app.me(&api_token).await, StatusCode::OK, "{b:?}");
        let (_, list) = app.call(Method::GET, "/api/v1/sessions", &here, None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{b:?}: {list}");
    }
}

/// Issue 15/4, in the browser: the sessions page (linked from the password page) marks this
/// session and ends another one after a confirmation.
#[tokio::test]
async fn the_sessions_page_ends_another_session_after_confirmation() {
    let app = App::new(Backend::Sqlite).await;
    let w = world(&app).await;
    account(&app, "canbo.donvi", w.unit, "clerk").await;
    let (cookie, csrf) = app.browser("canbo.donvi").await;
    let elsewhere = app.login("canbo.donvi").await;
    let (_, password_page, _) = app.page(Method::GET, "/password", &cookie, None).await;
    assert!(
        password_page.contains("href=\"/sessions\""),
        "{password_page}"
    );
    let (status, page, _) = app.page(Method::GET, "/sessions", &cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Phiên này"), "{page}");
    assert!(!page.contains(&cookie) && !page.contains(&elsewhere));
    let action = page
        .split("action=\"/sessions/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let path = format!("/sessions/{action}");
    assert_eq!(page.matches("action=\"/sessions/").count(), 1, "{page}");
    let (_, ask, _) = app
        .page(Method::POST, &path, &cookie, Some(&format!("csrf={csrf}")))
        .await;
    assert!(ask.contains("Kết thúc phiên đăng nhập này?"), "{ask}");
    assert_eq!(app.me(&elsewhere).await, StatusCode::OK);
    let (status, _, headers) = app
        .page(
            Method::POST,
            &path,
            &cookie,
            Some(&format!("csrf={csrf}&confirm=yes")),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/sessions?done=session_ended");
    assert_eq!(app.me(&elsewhere).await, StatusCode::UNAUTHORIZED);
    let (status, page, _) = app
        .page(Method::GET, "/sessions?done=session_ended", &cookie, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Đã kết thúc phiên đăng nhập"), "{page}");
    assert!(!page.contains("action=\"/sessions/"), "{page}");
}
