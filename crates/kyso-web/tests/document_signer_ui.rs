//! The signer chosen in the web UI's upload form (issue 17 items 1, 2, 10), on SQLite and on
//! PostgreSQL: /documents/new offers the agency's signers by full name and registry title (no
//! account ids or e-mails shown), refuses an upload without a signer, records the one chosen
//! (KT. for another with both names), and only that person is offered the approval; the
//! document page's timeline names people by full name.
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
use tower::ServiceExt as _;
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

const DRAFT: &[u8] = b"%PDF-1.7\n% draft\n%%EOF\n";
const BOUNDARY: &str = "kyso-signer-boundary";

struct App {
    router: Router,
    db: TestDb,
    _blobs: tempfile::TempDir,
}

struct Browser {
    id: i64,
    cookie: String,
    csrf: String,
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

    /// An account with `role` at `agency`, logged in; with a registry title when given (its
    /// individual subscriber with the same e-mail).
    async fn person(
        &self,
        login: &str,
        full_name: &str,
        title: Option<&str>,
        agency: i64,
        role: &str,
    ) -> Browser {
        let email = format!("{login}@demo.invalid");
        let user = accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: login.into(),
                full_name: full_name.into(),
                email: email.clone(),
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
        if let Some(title) = title {
            kyso_store::registry::create_subscriber(
                &self.db.store,
                &Actor::system(),
                &kyso_store::registry::SubscriberInput {
                    kind: "individual".into(),
                    agency_id: agency,
                    name: full_name.into(),
                    date_of_birth: String::new(),
                    id_number: String::new(),
                    email,
                    title: title.into(),
                    unit: String::new(),
                    phone: String::new(),
                },
                NOW,
            )
            .await
            .unwrap();
        }
        let (session, _) = accounts::login(
            &self.db.store,
            login,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        Browser {
            id: user.id,
            cookie: format!("kyso_session={}", session.token.as_str()),
            csrf: session.csrf,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String, Option<String>) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            location,
        )
    }

    async fn get(&self, who: &Browser, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, &who.cookie)
            .body(Body::empty())
            .unwrap();
        let (s, b, _) = self.send(req).await;
        (s, b)
    }

    /// Upload through the form: the status and the page, or the redirect target.
    async fn upload(&self, who: &Browser, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"du-thao.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(DRAFT);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let req = Request::builder()
            .method(Method::POST)
            .uri("/documents")
            .header(header::COOKIE, &who.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        let (s, b, to) = self.send(req).await;
        (s, to.unwrap_or(b))
    }
}

/// The upload form's fields: a decision, KT., titles left to the registry.
fn fields(csrf: &str, agency: &str, signer: &str, principal: &str) -> Vec<(String, String)> {
    [
        ("csrf", csrf),
        ("agency_id", agency),
        ("doc_type", "quyet_dinh"),
        ("subject", "Về việc ban hành Quy chế văn thư"),
        ("place", "Demo"),
        ("authority", "kt"),
        ("principal_title", ""),
        ("signer_title", ""),
        ("urgency", "normal"),
        ("confidentiality", "unclassified"),
        ("signer_id", signer),
        ("principal_id", principal),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn the_upload_form_chooses_the_signer_by_name_and_title() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
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
        let drafter = app
            .person("chuyenvien", "Phạm Văn Dũng", None, dost, "drafter")
            .await;
        let director = app
            .person("giamdoc", "Nguyễn Văn An", Some("Giám đốc"), dost, "signer")
            .await;
        let deputy = app
            .person(
                "phogiamdoc",
                "Trần Thị Bình",
                Some("Phó Giám đốc"),
                dost,
                "signer",
            )
            .await;

        // The form offers the signers by full name and title, never their account or e-mail.
        let (status, page) = app.get(&drafter, "/documents/new").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for label in ["Nguyễn Văn An (Giám đốc)", "Trần Thị Bình (Phó Giám đốc)"] {
            assert!(page.contains(label), "{b:?}: no {label}");
        }
        assert!(page.contains("id=\"signer_id\"") && page.contains("id=\"principal_id\""));
        assert!(!page.contains("giamdoc@demo.invalid") && !page.contains(">giamdoc<"));

        let dost_s = dost.to_string();
        let deputy_s = deputy.id.to_string();
        let director_s = director.id.to_string();
        let send = |signer: &str, principal: &str| {
            let v = fields(&drafter.csrf, &dost_s, signer, principal);
            let (app, drafter) = (&app, &drafter);
            async move {
                let refs: Vec<(&str, &str)> =
                    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.upload(drafter, &refs).await
            }
        };

        // No signer chosen: refused, naming the field, nothing stored.
        let (status, page) = send("", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("Hãy chọn người ký"), "{page}");
        assert!(page.contains("id=\"signer_id\" name=\"signer_id\" required aria-describedby=\"signer_id-hint\" aria-invalid=\"true\""), "{page}");

        // The deputy signs KT. for the director: both recorded by name and title.
        let (status, to) = send(&deputy_s, &director_s).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let id: i64 = to
            .trim_start_matches("/documents/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let d = kyso_store::documents::get_document(s, &Actor::system(), id)
            .await
            .unwrap();
        assert_eq!(d.document.signer_id, Some(deputy.id));
        assert_eq!(d.document.meta.signer.principal_id, Some(director.id));
        assert_eq!(
            d.document.meta.signer.title_lines(),
            ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
        );
        assert_eq!(d.document.meta.signer.name, "Trần Thị Bình");
        assert_eq!(d.timeline[0].actor_display, "Phạm Văn Dũng");
        let (status, page) = app.get(&drafter, &format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Trần Thị Bình"),
            "the signer block on the page"
        );
        let start = page.find("id=\"timeline\"").expect("the timeline");
        let timeline = &page[start..start + page[start..].find("</ol>").unwrap()];
        assert!(
            timeline.contains("<strong>Phạm Văn Dũng</strong>") && !timeline.contains("chuyenvien"),
            "the timeline names the drafter by full name: {timeline}"
        );
        if b == Backend::Postgres {
            app.db.store.close().await;
        }
    }
}
