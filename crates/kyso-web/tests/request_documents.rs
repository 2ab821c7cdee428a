//! A request's letter through the API and the document flow (issue 17 item 10), on SQLite and
//! on PostgreSQL: the Department's officer (also a drafter) makes the letter of an approved
//! request; the rendered letter passes the format step (its number blank and undated line
//! hold the fields), the Director signs it with his own certificate, the clerk numbers, fills
//! and seals it with the agency's certificate, each upload checked by the server; the dispatch
//! sends the request, whose letter is then the sealed file byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_pades::{numbering, sign_bytes};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{opts, register_cert, TestSigner, NOW, PASSWORD};

/// The Director's personal certificate and the Department's seal, issued by one test root.
fn pki() -> (TestSigner, TestSigner) {
    let ca = support::ca::TestCa::new("Request Letters Test Root");
    (
        ca.issue("Nguyễn Văn An", None),
        ca.issue("Sở Khoa học và Công nghệ", Some("Sở Khoa học và Công nghệ")),
    )
}

struct App {
    router: Router,
    db: TestDb,
    _blobs: tempfile::TempDir,
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
            _blobs: blobs,
        }
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, v, _) = support::call_json(&self.router, method, path, token, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn refused(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let (status, v, _) =
            support::call_json(&self.router, Method::POST, path, token, Some(body)).await;
        assert!(!status.is_success(), "{path}: {status} {v}");
        (status, v)
    }

    async fn bytes(&self, path: &str, token: &str) -> Vec<u8> {
        let (s, b, _) = support::send(
            &self.router,
            support::api_request(Method::GET, path, token, None),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{path}");
        b
    }

    /// An account with `roles` at `agency`, logged in: its id and token.
    async fn person(&self, name: &str, agency: i64, roles: &[&str]) -> (i64, String) {
        let user = accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: format!("Người dùng {name}"),
                email: format!("{name}@demo.invalid"),
                agency_id: agency,
                password: Zeroizing::new(PASSWORD.into()),
                roles: roles
                    .iter()
                    .map(|r| RoleOn {
                        role: (*r).into(),
                        agency_id: agency,
                    })
                    .collect(),
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
        let body = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        (user.id, body["token"].as_str().unwrap().to_owned())
    }

    async fn step(&self, token: &str, id: i64, body: Value) -> Value {
        self.call(
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            token,
            Some(body),
        )
        .await
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_request_letter_is_signed_on_the_officials_keys_and_its_dispatch_sends_the_request() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let (_, officer) = app
            .person("canbo", dost, &["signature_officer", "drafter"])
            .await;
        let (signer_id, signer) = app.person("giamdoc", dost, &["signer"]).await;
        let (_, clerk) = app.person("vanthu", dost, &["clerk"]).await;
        let (_, admin) = app.person("quantri", root, &["dost_admin"]).await;
        let (director, seal_key) = pki();
        register_cert(
            s,
            dost,
            "individual",
            "Nguyễn Văn An",
            "giamdoc@demo.invalid",
            &director,
        )
        .await;
        register_cert(s, dost, "organization", "Sở KH&CN", "", &seal_key).await;
        app.call(
            Method::POST,
            "/api/v1/document-registers",
            &clerk,
            Some(
                json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                        "issuer_abbrev": "SKHCN"}),
            ),
        )
        .await;
        app.call(
            Method::PUT,
            "/api/v1/request-recipients",
            &admin,
            Some(json!({"department": "H99.37", "national_ca": "G11.07.05"})),
        )
        .await;

        // An issuance request of the Department, approved by the province's administrator.
        let r = app
            .call(
                Method::POST,
                "/api/v1/requests",
                &officer,
                Some(json!({
                    "kind": "issue_individual", "agency_id": dost,
                    "contact_name": "Lê Thị Hoa", "contact_phone": "0912345678",
                    "items": [{"data": {"name": "Trần Thị Bình", "id_number": "040185000123",
                                        "email": "binh@demo.invalid",
                                        "date_of_birth": "02/09/1985"}}],
                })),
            )
            .await;
        let id = r["id"].as_i64().unwrap();
        let act = format!("/api/v1/requests/{id}/actions");
        app.call(
            Method::POST,
            &act,
            &officer,
            Some(json!({"action": "submit"})),
        )
        .await;
        app.call(
            Method::POST,
            &act,
            &admin,
            Some(json!({"action": "approve"})),
        )
        .await;

        // The letter: a signer who is not one of the agency's is refused; then made.
        let make = format!("/api/v1/requests/{id}/document");
        let (status, e) = app
            .refused(
                &make,
                &officer,
                json!({"signer_id": 999_999, "unit_abbrev": "VP"}),
            )
            .await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("signer_id")),
            "{e}"
        );
        let made = app
            .call(
                Method::POST,
                &make,
                &officer,
                Some(json!({"signer_id": signer_id, "unit_abbrev": "VP"})),
            )
            .await;
        let doc = made["document"]["id"].as_i64().unwrap();
        assert_eq!(made["document"]["meta"]["recipients"], json!(["G11.07.05"]));
        assert!(
            made["document"]["meta"]["subject"]
                .as_str()
                .unwrap()
                .starts_with("V/v đề nghị"),
            "{made}"
        );
        let draft = app
            .bytes(&format!("/api/v1/documents/{doc}/file?seq=1"), &officer)
            .await;
        assert!(draft.starts_with(b"%PDF-"));

        // The flow: the rendered letter passes the format step, which places the fields.
        app.step(&officer, doc, json!({"action": "submit"})).await;
        app.step(&admin, doc, json!({"action": "forward"})).await;
        let out = app
            .step(&admin, doc, json!({"action": "check_format"}))
            .await;
        assert_eq!(out["version"], 2, "{out}");
        let formatted = app
            .bytes(&format!("/api/v1/documents/{doc}/file?seq=2"), &signer)
            .await;
        app.step(&signer, doc, json!({"action": "approve"})).await;
        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &director,
            None,
        )
        .unwrap();
        app.step(
            &signer,
            doc,
            json!({"action": "sign_personal", "file_base64": b64(&personal)}),
        )
        .await;
        app.step(&clerk, doc, json!({"action": "clerk_check"}))
            .await;
        let out = app.step(&clerk, doc, json!({"action": "number"})).await;
        assert_eq!(out["number_and_notation"], "01/SKHCN-VP", "{out}");
        let issued_date = time::Date::parse(
            out["document"]["issued_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let filled = numbering::fill_bytes(&personal, "01/SKHCN-VP", issued_date).unwrap();
        let sealed = sign_bytes(
            &filled,
            &numbering::organization_signature(opts()),
            &seal_key,
            None,
        )
        .unwrap();
        app.step(
            &clerk,
            doc,
            json!({"action": "org_sign", "file_base64": b64(&sealed)}),
        )
        .await;
        app.step(&clerk, doc, json!({"action": "register"})).await;
        let r = app
            .call(
                Method::GET,
                &format!("/api/v1/requests/{id}"),
                &officer,
                None,
            )
            .await;
        assert_eq!(r["state"], "approved", "{r}");

        // The dispatch sends the request with the sealed letter.
        app.step(&clerk, doc, json!({"action": "dispatch"})).await;
        let r = app
            .call(
                Method::GET,
                &format!("/api/v1/requests/{id}"),
                &officer,
                None,
            )
            .await;
        assert_eq!(r["state"], "sent", "{b:?}: {r}");
        assert!(r["deadline_at"].is_string(), "{r}");
        let send = r["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "send")
            .unwrap();
        assert_eq!(send["actor"], "vanthu", "{send}");
        assert!(
            send["note"].as_str().unwrap().contains("01/SKHCN-VP"),
            "{send}"
        );
        let letter = app
            .bytes(&format!("/api/v1/requests/{id}/letter"), &officer)
            .await;
        assert_eq!(letter, sealed, "the request's letter is the sealed file");
        // Its number and date read back from the letter as the clerk filled them.
        let parsed = kyso_pdf::Document::open(
            Arc::new(kyso_pdf::MemSource(letter.into())),
            kyso_pdf::Limits::default(),
        )
        .unwrap();
        let issued = numbering::issued(&parsed).unwrap().unwrap();
        assert_eq!(issued.date, Some(issued_date));
    }
}

/// A logged-in browser session of `name` (created with `roles` at `agency`): the cookie, the
/// CSRF token and the actor the store sees.
async fn browser(app: &App, name: &str, agency: i64, roles: &[&str]) -> (String, String, Actor) {
    app.person(name, agency, roles).await;
    let (session, actor) = accounts::login(
        &app.db.store,
        name,
        Zeroizing::new(PASSWORD.into()),
        "127.0.0.1",
        NOW,
    )
    .await
    .unwrap();
    (
        format!("kyso_session={}", session.token.as_str()),
        session.csrf,
        actor,
    )
}

/// GET a page (status, HTML) or POST a multipart form (status, page or redirect target).
async fn page(
    app: &App,
    cookie: &str,
    path: &str,
    form: Option<&[(&str, &str)]>,
) -> (StatusCode, String) {
    const B: &str = "kyso-request-letter";
    let req = match form {
        None => axum::http::Request::builder()
            .uri(path)
            .header(axum::http::header::COOKIE, cookie)
            .body(axum::body::Body::empty()),
        Some(fields) => {
            let mut body = String::new();
            for (k, v) in fields {
                body.push_str(&format!(
                    "--{B}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                ));
            }
            body.push_str(&format!("--{B}--\r\n"));
            axum::http::Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(axum::http::header::COOKIE, cookie)
                .header(
                    axum::http::header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={B}"),
                )
                .body(axum::body::Body::from(body))
        }
    }
    .unwrap();
    let (status, bytes, headers) = support::send(&app.router, req).await;
    match headers.get(axum::http::header::LOCATION) {
        Some(to) => (status, to.to_str().unwrap().to_owned()),
        None => (status, String::from_utf8_lossy(&bytes).into_owned()),
    }
}

#[tokio::test]
async fn the_request_page_makes_the_letter_and_no_longer_offers_to_send() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let (officer, csrf, officer_actor) =
            browser(&app, "canbo", dost, &["signature_officer", "drafter"]).await;
        let (other, other_csrf, _) = browser(&app, "canbo2", dost, &["signature_officer"]).await;
        let (signer_id, _) = app.person("giamdoc", dost, &["signer"]).await;
        let (_, _, clerk) = browser(&app, "vanthu", dost, &["clerk"]).await;
        let (_, _, admin) = browser(&app, "quantri", root, &["dost_admin"]).await;
        kyso_store::documents::create_register(
            s,
            &clerk,
            &kyso_store::documents::RegisterInput {
                agency_id: dost,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        kyso_store::requests::set_request_recipients(
            s,
            &admin,
            &kyso_store::requests::RequestRecipients {
                department: "H99.37".into(),
                national_ca: "G11.07.05".into(),
            },
            NOW,
        )
        .await
        .unwrap();
        let r = kyso_store::requests::create_request(
            s,
            &officer_actor,
            &kyso_store::requests::NewRequest {
                kind: "issue_organization".into(),
                agency_id: dost,
                contact_name: "Lê Thị Hoa".into(),
                items: vec![kyso_store::requests::NewItem {
                    data: [("name", "Sở KH&CN"), ("email", "skhcn@demo.invalid")]
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let id = r.request.id;
        let none = kyso_store::requests::ActInput::default();
        use kyso_domain::lifecycle::RequestAction as A;
        kyso_store::requests::act(s, &officer_actor, id, A::Submit, &none, NOW)
            .await
            .unwrap();
        kyso_store::requests::act(s, &admin, id, A::Approve, &none, NOW)
            .await
            .unwrap();

        let path = format!("/requests/{id}");
        let (status, html) = page(&app, &officer, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(html.contains("Lập công văn đề nghị"), "{html}");
        assert!(html.contains("G11.07.05"), "the recipient's code");
        assert!(!html.contains("value=\"send\""), "no \"Gửi đi\" any more");
        let signer = signer_id.to_string();
        let form = |csrf: &str| -> Vec<(&str, String)> {
            vec![
                ("csrf", csrf.to_owned()),
                ("action", "letter_document".into()),
                ("signer_id", signer.clone()),
                ("unit_abbrev", "VP".into()),
            ]
        };
        let fields = form(&other_csrf);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let act = format!("{path}/act");
        let (status, html) = page(&app, &other, &act, Some(fields.as_slice())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(
            html.contains("soạn thảo văn bản"),
            "the missing role is named"
        );
        let fields = form(&csrf);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, to) = page(&app, &officer, &act, Some(fields.as_slice())).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        assert!(
            to.starts_with("/documents/") && to.ends_with("?done=created"),
            "{to}"
        );
        let doc = to
            .trim_start_matches("/documents/")
            .split('?')
            .next()
            .unwrap();
        let (_, html) = page(&app, &officer, &path, None).await;
        assert!(html.contains(&format!("/documents/{doc}")), "{html}");
        assert!(html.contains("Dự thảo"), "the letter's state");
        assert!(!html.contains("value=\"letter_document\""), "made once");
    }
}
