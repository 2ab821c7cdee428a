//! Signing a document's step with a remote key over the CSC API (issue 17 item 3), on SQLite
//! and on PostgreSQL, against a real CSC service in process (`kyso_services::csc`'s router with
//! its demo configuration over a demo PKI, on a loopback port): the director's credential,
//! whose certificate the registry holds for the director, signs the personal step from the
//! document page and through the REST API, and the server's upload check accepts it. Refused:
//! a wrong PIN (a clear message, nothing stored, the step not taken), the account's other
//! credential whose certificate is not the director's in the registry, a wrong CSC password;
//! and a server without a CSC service offers no form and answers 404.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_keys::Secret;
use kyso_pdf::compose::{Align, Block, Composer, Margins, Style};
use kyso_services::agent::SigningLevel;
use kyso_services::csc;
use kyso_services::remote_sign::RemoteSigning;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

/// The demo PKI's PKCS#12 password: the credentials' PIN at the CSC service.
const PIN: &str = "pin-demo-2468";
/// The CSC account and its password.
const CSC_USER: &str = "demo";
const CSC_PASSWORD: &str = "csc-mat-khau-13579";

/// The demo PKI (made once for the whole file: RSA keys take a while).
fn demo_pki() -> &'static (tempfile::TempDir, kyso_pki::demo::Summary) {
    static PKI: OnceLock<(tempfile::TempDir, kyso_pki::demo::Summary)> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let summary = kyso_pki::demo::init(
            dir.path(),
            &kyso_pki::demo::InitOptions::new(Secret::from(PIN), NOW),
        )
        .unwrap();
        (dir, summary)
    })
}

fn demo_cert(name: &str) -> Vec<u8> {
    let (dir, summary) = demo_pki();
    let e = summary.entity(name).unwrap();
    let pem = std::fs::read(dir.path().join(&e.cert_file)).unwrap();
    kyso_x509::Cert::from_pem_or_der(&pem).unwrap()[0]
        .der()
        .to_vec()
}

/// A CSC service over the demo PKI on a loopback port: its base URL.
async fn csc_service() -> String {
    let (dir, _) = demo_pki();
    let config = csc::demo_config(
        &PathBuf::from(dir.path()),
        CSC_USER,
        &Secret::from(CSC_PASSWORD),
        csc::MIN_KDF_ITERATIONS,
    )
    .unwrap();
    let service = Arc::new(csc::CscService::new(&config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, csc::router(service)).await.unwrap();
    });
    format!("http://{addr}")
}

/// A Decree 30 decision awaiting its number and date, as kyso-pdf's composer writes it.
fn draft() -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let agency = Block::new()
        .text("UBND TỈNH DEMO", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4).unwrap();
    c.spacer(2.0);
    c.columns(
        ("Số: ......../QĐ-SKHCN", &center(13.0)),
        (
            "Demo, ngày ...... tháng ...... năm 2026",
            &center(13.0).italic(),
        ),
        0.4,
    )
    .unwrap();
    c.spacer(6.0);
    c.paragraph("QUYẾT ĐỊNH", &center(14.0).bold()).unwrap();
    c.paragraph("Về việc ban hành Quy chế văn thư", &Style::new(14.0))
        .unwrap();
    c.spacer(10.0);
    let signer = Block::new()
        .text("GIÁM ĐỐC", &center(14.0).bold())
        .space(30.0)
        .text("Nguyễn Văn An", &center(14.0).bold());
    let recipients = Block::new().text("Nơi nhận:", &Style::new(12.0).bold());
    c.columns_of(&recipients, &signer, 0.45).unwrap();
    c.finish(&Default::default()).unwrap()
}

struct App {
    router: Router,
    db: TestDb,
    _blobs: tempfile::TempDir,
}

/// A logged-in person: the session token (API bearer and UI cookie) and CSRF token.
struct Person {
    token: String,
    csrf: String,
}

impl App {
    async fn new(backend: Backend, csc_url: Option<String>) -> App {
        let db = TestDb::new(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let mut state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(kyso_store::blobs::Blobs::open(blobs.path()).unwrap());
        if let Some(url) = csc_url {
            state = state.with_remote_signing(RemoteSigning {
                url,
                level: SigningLevel::default(),
                timeout: Duration::from_secs(30),
                tls_roots: Vec::new(),
            });
        }
        App {
            router: kyso_web::router(state),
            db,
            _blobs: blobs,
        }
    }

    async fn person(&self, name: &str, agency: i64, role: &str) -> Person {
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
        .unwrap();
        let (status, body, _) = support::call_json(
            &self.router,
            Method::POST,
            "/api/v1/auth/login",
            "",
            Some(json!({"username": name, "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (session, _) = accounts::login(
            &self.db.store,
            name,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        Person {
            token: session.token.as_str().to_owned(),
            csrf: session.csrf,
        }
    }

    async fn call(
        &self,
        who: &Person,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = support::call_json(&self.router, method, path, &who.token, body).await;
        (s, v)
    }

    async fn step(&self, who: &Person, id: i64, action: &str) {
        let (status, body) = self
            .call(
                who,
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                Some(json!({"action": action})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }

    async fn page(&self, who: &Person, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .body(Body::empty())
            .unwrap();
        let (s, b, _) = support::send(&self.router, req).await;
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    /// POST the remote signing form; the status and the page (or the redirect's target).
    async fn remote_sign(
        &self,
        who: &Person,
        id: i64,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut all = vec![("csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        let body = all
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/documents/{id}/remote-sign"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let (s, b, h) = support::send(&self.router, req).await;
        if s.is_redirection() {
            let to = h
                .get(header::LOCATION)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            (s, to)
        } else {
            (s, String::from_utf8_lossy(&b).into_owned())
        }
    }

    /// The document's state and number of versions.
    async fn state(&self, who: &Person, id: i64) -> (String, usize) {
        let (status, body) = self
            .call(who, Method::GET, &format!("/api/v1/documents/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            body["document"]["state"].as_str().unwrap().to_owned(),
            body["versions"].as_array().unwrap().len(),
        )
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Record `der` in the registry under a new subscriber of `agency`.
async fn register_cert(
    store: &kyso_store::Store,
    agency: i64,
    kind: &str,
    name: &str,
    email: &str,
    der: &[u8],
) -> i64 {
    let sub = kyso_store::registry::create_subscriber(
        store,
        &Actor::system(),
        &kyso_store::registry::SubscriberInput {
            kind: kind.into(),
            agency_id: agency,
            name: name.into(),
            date_of_birth: String::new(),
            id_number: String::new(),
            email: email.into(),
            title: String::new(),
            unit: String::new(),
            phone: String::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    kyso_store::registry::import_certificate(
        store,
        &Actor::system(),
        agency,
        Some(sub.id),
        der,
        NOW,
    )
    .await
    .unwrap();
    sub.id
}

/// A decision of the DoST approved by its director and awaiting the personal signature.
struct Approved {
    director: Person,
    clerk: Person,
    id: i64,
    agency: i64,
    /// The director's subscriber in the registry.
    director_sub: i64,
}

async fn approved(app: &App) -> Approved {
    let s = &app.db.store;
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
    support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
    kyso_store::documents::create_register(
        s,
        &Actor::system(),
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
    let drafter = app.person("chuyenvien", dost, "drafter").await;
    let reviewer = app.person("truongphong", dost, "reviewer").await;
    let checker = app.person("thethuc", dost, "format_checker").await;
    let director = app.person("giamdoc", dost, "signer").await;
    let clerk = app.person("vanthu", dost, "clerk").await;
    // The registry holds the demo PKI's "personal" certificate (Nguyễn Văn An) for the
    // director, and the demo organization certificate for the agency.
    let director_sub = register_cert(
        s,
        dost,
        "individual",
        "Nguyễn Văn An",
        "giamdoc@demo.invalid",
        &demo_cert("personal"),
    )
    .await;
    register_cert(
        s,
        dost,
        "organization",
        "Sở KH&CN",
        "",
        &demo_cert("organization"),
    )
    .await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(draft());
    let (status, created) = app
        .call(
            &drafter,
            Method::POST,
            "/api/v1/documents",
            Some(
                json!({"agency_id": dost, "file_name": "du-thao.pdf", "file_base64": b64,
                "meta": {
                    "doc_type": "quyet_dinh",
                    "subject": "Về việc ban hành Quy chế văn thư",
                    "place": "Demo",
                    "signer": {"authority": "direct", "title": "Giám đốc", "name": "Nguyễn Văn An"},
                    "recipients": ["H99.05"],
                    "confidentiality": "unclassified",
                    "page_count": 1
                }}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["document"]["id"].as_i64().unwrap();
    app.step(&drafter, id, "submit").await;
    app.step(&reviewer, id, "forward").await;
    app.step(&checker, id, "check_format").await;
    app.step(&director, id, "approve").await;
    Approved {
        director,
        clerk,
        id,
        agency: dost,
        director_sub,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_director_signs_the_personal_step_with_the_remote_key_from_the_page() {
    for b in backends() {
        let url = csc_service().await;
        let app = App::new(b, Some(url)).await;
        let Approved {
            director,
            id,
            agency,
            director_sub,
            ..
        } = approved(&app).await;
        let (state, versions) = app.state(&director, id).await;

        // The signing section offers the remote signing form, labelled, with no secret in it.
        let (status, page) = app.page(&director, &format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {page}");
        assert!(
            page.contains("Ký bằng chữ ký số từ xa (CSC)"),
            "{b:?}: {page}"
        );
        assert!(
            page.contains(&format!("action=\"/documents/{id}/remote-sign\"")),
            "{b:?}"
        );
        for id_ in [
            "csc-user-sign_personal",
            "csc-password-sign_personal",
            "csc-pin-sign_personal",
        ] {
            assert!(
                page.contains(&format!("<label for=\"{id_}\"")),
                "{b:?}: {id_}"
            );
        }

        // A wrong PIN: a clear message, the step not taken, nothing stored, no secret echoed.
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", "sai-ma-pin-0000"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert!(answer.contains("sai mã PIN"), "{b:?}: {answer}");
        assert!(
            !answer.contains("sai-ma-pin-0000") && !answer.contains(CSC_PASSWORD),
            "{b:?}: a secret is echoed"
        );
        assert!(
            answer.contains(&format!("value=\"{CSC_USER}\"")),
            "{b:?}: the account is kept"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // A wrong CSC password.
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", "khong-dung"),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert!(
            answer.contains("tên đăng nhập hoặc mật khẩu"),
            "{b:?}: {answer}"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // The account's organization credential: its certificate is in the registry, but not
        // as the director's.
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("credential", "organization"),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert!(
            answer.contains("không mang chứng thư số mà sổ đăng ký ghi"),
            "{b:?}: {answer}"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // A second certificate of the account in the registry for the director: the page
        // lists both keys by name to choose from, asks for the password and PIN again, and
        // signs nothing.
        kyso_store::registry::import_certificate(
            &app.db.store,
            &Actor::system(),
            agency,
            Some(director_sub),
            &demo_cert("personal2"),
            NOW,
        )
        .await
        .unwrap();
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {answer}");
        assert!(
            answer.contains("name=\"credential\" value=\"personal\"")
                && answer.contains("name=\"credential\" value=\"personal2\"")
                && !answer.contains("value=\"organization\""),
            "{b:?}: {answer}"
        );
        assert!(
            answer.contains("Nguyễn Văn An") && answer.contains("Trần Thị Bình"),
            "{b:?}: the keys by name"
        );
        assert!(
            !answer.contains(PIN) && !answer.contains(CSC_PASSWORD),
            "{b:?}: a secret is echoed"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // The right PIN and the chosen key: signed; the server's upload check accepts it and
        // the step is taken.
        let (status, to) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("credential", "personal"),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("/documents/{id}?done=sign_personal").as_str()
            ),
            "{b:?}"
        );
        let (new_state, new_versions) = app.state(&director, id).await;
        assert_ne!(new_state, state, "{b:?}");
        assert_eq!(new_versions, versions + 1, "{b:?}");
        // The stored version is the formatted draft with the director's signature appended.
        let (status, signed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file?seq={new_versions}"),
                &director.token,
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let (_, formatted, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file?seq={versions}"),
                &director.token,
                None,
            ),
        )
        .await;
        assert!(
            signed.starts_with(&formatted) && signed.len() > formatted.len(),
            "{b:?}"
        );
        // Exactly one new signature, by the director's registered certificate.
        let director_cert = kyso_x509::Cert::from_der(&demo_cert("personal")).unwrap();
        let checked = kyso_pades::upload::check_upload(
            &formatted,
            &signed,
            &kyso_pades::upload::ExpectedSignature::new(
                vec![director_cert.clone()],
                kyso_pades::upload::Step::Personal,
            ),
        )
        .unwrap();
        assert_eq!(checked.signer.der(), director_cert.der(), "{b:?}");

        // The step is taken: the form is no longer offered, and a second try is refused.
        let (_, page) = app.page(&director, &format!("/documents/{id}")).await;
        assert!(!page.contains("csc-pin-sign_personal"), "{b:?}");
        let (status, _) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_ne!(status, StatusCode::SEE_OTHER, "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_csc_service_the_form_is_not_offered() {
    for b in backends() {
        let app = App::new(b, None).await;
        let Approved { director, id, .. } = approved(&app).await;
        let (status, page) = app.page(&director, &format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            page.contains("sign-sign_personal"),
            "{b:?}: the signing section is there"
        );
        assert!(
            !page.contains("remote-sign") && !page.contains("(CSC)"),
            "{b:?}: {page}"
        );
        let before = app.state(&director, id).await;
        let (status, _) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}");
        let (status, answer) = app
            .call(
                &director,
                Method::POST,
                &format!("/api/v1/documents/{id}/remote-sign"),
                Some(json!({"action": "sign_personal", "csc_user": CSC_USER,
                            "csc_password": CSC_PASSWORD, "pin": PIN})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}: {answer}");
        assert_eq!(app.state(&director, id).await, before, "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_signs_the_personal_step_and_the_seal_with_the_remote_keys() {
    for b in backends() {
        let url = csc_service().await;
        let app = App::new(b, Some(url)).await;
        let Approved {
            director,
            clerk,
            id,
            ..
        } = approved(&app).await;
        let before = app.state(&director, id).await;
        let path = format!("/api/v1/documents/{id}/remote-sign");
        let body = |pin: &str, credential: Option<&str>| {
            let mut v = json!({"action": "sign_personal", "csc_user": CSC_USER,
                               "csc_password": CSC_PASSWORD, "pin": pin});
            if let Some(c) = credential {
                v["credential"] = json!(c);
            }
            Some(v)
        };
        // A wrong PIN: 422 naming the field, nothing stored.
        let (status, answer) = app
            .call(&director, Method::POST, &path, body("0000-sai", None))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert_eq!(answer["error"]["field"], "pin", "{b:?}: {answer}");
        assert!(!answer.to_string().contains("0000-sai"), "{b:?}");
        assert_eq!(app.state(&director, id).await, before, "{b:?}");
        // The organization credential is not the director's.
        let (status, answer) = app
            .call(
                &director,
                Method::POST,
                &path,
                body(PIN, Some("organization")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert_eq!(answer["error"]["field"], "credential", "{b:?}: {answer}");
        assert_eq!(app.state(&director, id).await, before, "{b:?}");
        // Only the signing steps.
        let (status, answer) = app
            .call(
                &director,
                Method::POST,
                &path,
                Some(json!({"action": "approve", "csc_user": CSC_USER,
                            "csc_password": CSC_PASSWORD, "pin": PIN})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        // Signed, checked and taken.
        let (status, answer) = app
            .call(&director, Method::POST, &path, body(PIN, Some("personal")))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {answer}");
        assert_eq!(
            answer["outcome"]["version"].as_i64(),
            Some(before.1 as i64 + 1),
            "{b:?}: {answer}"
        );
        assert_ne!(
            answer["outcome"]["document"]["state"],
            json!(before.0),
            "{b:?}"
        );
        assert_eq!(answer["choose"], json!([]), "{b:?}");
        // The step is not the director's any more.
        let (status, _) = app
            .call(&director, Method::POST, &path, body(PIN, None))
            .await;
        assert!(matches!(status.as_u16(), 403 | 409), "{b:?}: {status}");
        // The clerk seals with the agency's remote key: the server fills the reserved number
        // and date, signs with the organization credential (the registry's organization
        // certificate), and the upload check accepts the seal over that number.
        app.step(&clerk, id, "clerk_check").await;
        let (status, numbered) = app
            .call(
                &clerk,
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                Some(json!({"action": "number"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {numbered}");
        let seal = |credential: &str| {
            Some(json!({"action": "org_sign", "csc_user": CSC_USER,
                        "csc_password": CSC_PASSWORD, "pin": PIN, "credential": credential}))
        };
        // The director's personal credential is not the organization's.
        let (status, answer) = app
            .call(&clerk, Method::POST, &path, seal("personal"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert_eq!(answer["error"]["field"], "credential", "{b:?}: {answer}");
        let (status, answer) = app
            .call(&clerk, Method::POST, &path, seal("organization"))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {answer}");
        assert_eq!(
            answer["outcome"]["document"]["state"], "org_signed",
            "{b:?}: {answer}"
        );
        let seq = answer["outcome"]["version"].as_i64().unwrap();
        let (status, sealed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file?seq={seq}"),
                &clerk.token,
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let issued = kyso_pades::numbering::issued_in(
            Arc::new(kyso_pdf::MemSource::new(sealed)),
            kyso_pdf::Limits::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            issued.number.as_deref(),
            numbered["number_and_notation"].as_str(),
            "{b:?}"
        );

        // The operation is in the OpenAPI document.
        let (_, doc) = app
            .call(&director, Method::GET, "/api/openapi.json", None)
            .await;
        assert!(
            doc["paths"]["/api/v1/documents/{id}/remote-sign"]["post"].is_object(),
            "{b:?}"
        );
    }
}
