//! The server of a test: kyso-web's real router over a fresh database on one engine and a
//! temporary blob folder, its clock at `NOW` (or moved later), and the people who use it —
//! through the REST API (a bearer token) or through the pages (a session cookie and the
//! forms' CSRF token).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::testing::TestDb;
use kyso_store::{Actor, Backend, Store};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{call_json, send, NOW, PASSWORD};

/// `bytes` as the API's base64 (standard alphabet, padded).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub struct App {
    /// The site: pages and the REST API.
    pub router: Router,
    /// The metrics listener's router (`/metrics`).
    pub metrics: Router,
    pub db: TestDb,
    pub blobs: Blobs,
    /// Seconds the server's clock is ahead of `NOW`.
    pub later: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

/// Someone signed in through the sign-in page: the session token (the cookie of the pages, a
/// bearer token for the API as well), the CSRF token of the forms, and the actor the store
/// knows them as.
pub struct Session {
    pub token: String,
    pub csrf: String,
    pub actor: Actor,
}

impl Session {
    /// The `Cookie` header of their requests.
    pub fn cookie(&self) -> String {
        format!("kyso_session={}", self.token)
    }
}

impl App {
    /// The server with its defaults (no trust anchors, no remote signing).
    pub async fn new(backend: Backend) -> App {
        App::with(backend, |state| state).await
    }

    /// The server with what `configure` adds to its state (trust anchors, a CSC service…).
    pub async fn with(
        backend: Backend,
        configure: impl FnOnce(kyso_web::AppState) -> kyso_web::AppState,
    ) -> App {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let later = Arc::new(AtomicI64::new(0));
        let ahead = later.clone();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(move || NOW + time::Duration::seconds(ahead.load(Ordering::SeqCst))),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(blobs.clone());
        let state = configure(state);
        App {
            metrics: kyso_web::metrics_router(state.clone()),
            router: kyso_web::router(state),
            db,
            blobs,
            later,
            _dir: dir,
        }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// The site served on a loopback port as well, for a client outside the process (`kyso
    /// agent`, a raw socket): its address and the serving task (abort it to stop).
    pub async fn listen(&self) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = self.router.clone();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                served.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        (addr, task)
    }

    /// Call the API with a JSON body as `token` (none when empty): the status and the JSON
    /// answer (`Null` when it is not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = call_json(&self.router, method, path, token, body).await;
        (s, v)
    }

    /// GET `path` as `token`: the status, the body's bytes and the headers.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>, HeaderMap) {
        send(
            &self.router,
            super::api_request(Method::GET, path, token, None),
        )
        .await
    }

    /// GET `path` as `token`: the status and the body's bytes (a file).
    pub async fn bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let (s, b, _) = self.get(path, token).await;
        (s, b)
    }

    /// GET `path` as `token`, which must answer 200: the JSON answer.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, token, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POST `body` to `path` as `token`, which must answer 200: the JSON answer.
    pub async fn post_ok(&self, path: &str, token: &str, body: Value) -> Value {
        self.post_answered(path, token, body, StatusCode::OK).await
    }

    /// POST `body` to `path` as `token`, which must answer 201 Created: the JSON answer.
    pub async fn post_created(&self, path: &str, token: &str, body: Value) -> Value {
        self.post_answered(path, token, body, StatusCode::CREATED)
            .await
    }

    /// POST `body` to `path` as `token`, which must be refused with `status`: the JSON answer
    /// (the error, to look at its field or message).
    pub async fn post_refused(
        &self,
        path: &str,
        token: &str,
        body: Value,
        status: StatusCode,
    ) -> Value {
        self.post_answered(path, token, body, status).await
    }

    async fn post_answered(
        &self,
        path: &str,
        token: &str,
        body: Value,
        expected: StatusCode,
    ) -> Value {
        let (status, answer) = self.call(Method::POST, path, token, Some(body)).await;
        assert_eq!(status, expected, "POST {path}: {answer}");
        answer
    }

    /// A new account (e-mail `name@demo.invalid`) holding `role` at `agency`: its id.
    pub async fn account(&self, name: &str, agency: i64, role: &str) -> i64 {
        accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: format!("Người dùng {name}"),
                email: format!("{name}@demo.invalid"),
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

    /// A new account holding `role` at `agency`, logged in through the API
    /// (`POST /api/v1/auth/login`): its id and bearer token.
    pub async fn person(&self, name: &str, agency: i64, role: &str) -> (i64, String) {
        let id = self.account(name, agency, role).await;
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (id, body["token"].as_str().unwrap().to_owned())
    }

    /// A new account holding `role` at `agency`, signed in as the sign-in page does.
    pub async fn session(&self, name: &str, agency: i64, role: &str) -> Session {
        self.account(name, agency, role).await;
        self.sign_in(name).await
    }

    /// The account `name` signed in as the sign-in page does.
    pub async fn sign_in(&self, name: &str) -> Session {
        let (session, actor) = accounts::login(
            &self.db.store,
            name,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        Session {
            token: session.token.as_str().to_owned(),
            csrf: session.csrf,
            actor,
        }
    }

    /// A step of document `id` (`POST /api/v1/documents/{id}/actions`) as `token`.
    pub async fn step(&self, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            token,
            Some(body),
        )
        .await
    }

    /// Send a request of the pages: the status and the page's text, or where a redirect
    /// points.
    pub async fn send_page(&self, req: Request<Body>) -> (StatusCode, String) {
        let (status, bytes, headers) = send(&self.router, req).await;
        let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
        match location {
            Some(to) if status.is_redirection() => (status, to.to_owned()),
            _ => (status, String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// GET the page `path` as `who`: the status and the page (or where a redirect points).
    pub async fn page(&self, who: &Session, path: &str) -> (StatusCode, String) {
        self.send_page(page_request(who, path)).await
    }

    /// GET the file at `path` as `who` (a download of the pages): the status and its bytes.
    pub async fn download(&self, who: &Session, path: &str) -> (StatusCode, Vec<u8>) {
        let (status, bytes, _) = self.get_as(who, path).await;
        (status, bytes)
    }

    /// GET `path` with `who`'s session cookie, as a browser does: the status, the bytes and
    /// the headers.
    pub async fn get_as(&self, who: &Session, path: &str) -> (StatusCode, Vec<u8>, HeaderMap) {
        send(&self.router, page_request(who, path)).await
    }

    /// POST a form as `who`, their CSRF token first and then `fields`, to `path`: the status
    /// and the page (or where a redirect points).
    pub async fn submit(
        &self,
        who: &Session,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut all = vec![("csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        self.form(who, path, &all).await
    }

    /// POST a multipart form as `who` (as a form with a file input is sent), their CSRF token
    /// first and then `fields`, to `path`: the status and the page (or where a redirect points).
    pub async fn submit_multipart(
        &self,
        who: &Session,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut parts = vec![super::html::Part::Text("csrf", &who.csrf)];
        parts.extend(fields.iter().map(|(k, v)| super::html::Part::Text(k, v)));
        self.multipart_form(who, path, &parts).await
    }

    /// POST a form (`fields` URL-encoded, the CSRF token among them as the caller puts it) to
    /// `path` as `who`: the status and the page (or where a redirect points).
    pub async fn form(
        &self,
        who: &Session,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, who.cookie())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(super::html::urlencode(fields)))
            .unwrap();
        self.send_page(req).await
    }
}

/// The `Content-Type` of an answer (empty when it has none).
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn page_request(who: &Session, path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::COOKIE, who.cookie())
        .body(Body::empty())
        .unwrap()
}
