//! Attachments in separate files through the REST API (issue 17 item 7), on SQLite and on
//! PostgreSQL: the drafter adds two PDF attachments, the document goes through the flow with
//! real signatures, the clerk uploads each attachment signed with the agency's organization
//! certificate and the Decree 30 attachment stamp — refused when signed with a personal key or
//! over a changed file (`kyso_pades::upload::Step::Attachment`, 422 `file`), by someone else
//! than the clerk (403), before the organization signature (409) —, the dispatch waits for
//! every attachment (409 `attachments`), and the recipient downloads the signed files byte for
//! byte; the routes are in the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use kyso_pades::forms::{widget_builder, VisibleForm};
use kyso_pades::numbering;
use kyso_pades::sign_bytes;
use kyso_pdf::compose::{Align, Composer, Margins, Style};
use kyso_x509::Cert;

use axum::http::{Method, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, register_cert, TestSigner, NOW, PASSWORD};

/// The director (personal) and the agency's seal (organization: CN = O), issued by one test
/// root.
struct Pki {
    director: TestSigner,
    agency: TestSigner,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Documents Test Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let make = |cn: &str, org: Option<&str>| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        if let Some(o) = org {
            p.distinguished_name.push(DnType::OrganizationName, o);
        }
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        let c = p.signed_by(&key, &issuer).unwrap();
        TestSigner {
            cert: Cert::from_der(c.der()).unwrap(),
            chain: vec![Cert::from_der(ca_cert.der()).unwrap()],
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
                .unwrap(),
        }
    };
    Pki {
        director: make("Nguyễn Văn An", None),
        agency: make("Sở Khoa học và Công nghệ", Some("Sở Khoa học và Công nghệ")),
    }
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

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = support::call_json(&self.router, method, path, token, body).await;
        (s, v)
    }

    async fn bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let (s, b, _) = support::send(
            &self.router,
            support::api_request(Method::GET, path, token, None),
        )
        .await;
        (s, b)
    }

    /// An account with `role` at `agency`, logged in: its id and token.
    async fn person(&self, name: &str, agency: i64, role: &str) -> (i64, String) {
        let user = accounts::create_user(
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
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (user.id, body["token"].as_str().unwrap().to_owned())
    }

    async fn step(&self, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
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

fn meta() -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"title": "Giám đốc", "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "page_count": 1,
        "attachments": [{"title": "Danh sách đơn vị", "pages": 1}, {"title": "Biểu mẫu", "pages": 1}]
    })
}

/// An attachment: a one-page PDF of kyso-pdf's composer.
fn annex(title: &str) -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    c.paragraph(title, &Style::new(14.0).bold().align(Align::Center))
        .unwrap();
    c.paragraph("Kèm theo Quyết định số ....../QĐ-SKHCN", &Style::new(13.0))
        .unwrap();
    c.finish(&Default::default()).unwrap()
}

/// `pdf` signed by `key` with the Decree 30 attachment stamp naming `number`.
fn stamped(pdf: &[u8], number: &str, key: &TestSigner) -> Vec<u8> {
    let o = opts();
    let stamp = widget_builder(
        VisibleForm::Attachment {
            doc_number: number.into(),
        },
        o.signing_time,
    )
    .unwrap();
    sign_bytes(pdf, &o, key, Some(stamp)).unwrap()
}

#[tokio::test]
async fn attachments_are_signed_by_the_clerk_and_go_with_the_document() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let (_, drafter) = app.person("chuyenvien", dost, "drafter").await;
        let (_, reviewer) = app.person("truongphong", dost, "reviewer").await;
        let (_, checker) = app.person("thethuc", dost, "format_checker").await;
        let (_, signer) = app.person("giamdoc", dost, "signer").await;
        let (_, clerk) = app.person("vanthu", dost, "clerk").await;
        let (_, their_clerk) = app.person("vanthu.tc", finance, "clerk").await;
        let pki = pki();
        register_cert(
            s,
            dost,
            "individual",
            "Nguyễn Văn An",
            "giamdoc@demo.invalid",
            &pki.director,
        )
        .await;
        register_cert(s, dost, "organization", "Sở KH&CN", "", &pki.agency).await;
        let (status, reg) = app
            .call(
                Method::POST,
                "/api/v1/document-registers",
                &clerk,
                Some(
                    json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                            "issuer_abbrev": "SKHCN"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        let (status, created) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(
                    json!({"agency_id": dost, "meta": meta(), "file_name": "du-thao.pdf",
                            "file_base64": b64(&draft())}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        let base = format!("/api/v1/documents/{id}/attachments");

        // The drafter adds the two attachments; a file that is not a PDF is refused.
        let (one, two) = (annex("Danh sách đơn vị"), annex("Biểu mẫu"));
        let mut ids = Vec::new();
        for (title, file) in [("Danh sách đơn vị", &one), ("Biểu mẫu", &two)] {
            let (status, a) = app
                .call(
                    Method::POST,
                    &base,
                    &drafter,
                    Some(json!({"title": title, "file_name": "phu-luc.pdf", "file_base64": b64(file)})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{a}");
            assert_eq!(
                (a["signed"].clone(), a["versions"][0]["kind"].clone()),
                (json!(false), json!("draft"))
            );
            ids.push(a["id"].as_i64().unwrap());
        }
        let (status, body) = app
            .call(
                Method::POST,
                &base,
                &drafter,
                Some(json!({"file_base64": b64(b"PK\x03\x04 docx")})),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
            "{body}"
        );
        let (status, list) = app.call(Method::GET, &base, &reviewer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
        assert_eq!(list[1]["position"], 2);
        let (status, bytes) = app
            .bytes(&format!("{base}/{}/file", ids[0]), &reviewer)
            .await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, one.as_slice()),
            "byte for byte"
        );
        // Another agency does not see them.
        let (status, _) = app.call(Method::GET, &base, &their_clerk, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The flow up to the organization signature, with real signatures.
        let ok = |(status, body): (StatusCode, Value)| {
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        };
        ok(app.step(&drafter, id, json!({"action": "submit"})).await);
        ok(app.step(&reviewer, id, json!({"action": "forward"})).await);
        ok(app
            .step(&checker, id, json!({"action": "check_format"}))
            .await);
        ok(app.step(&signer, id, json!({"action": "approve"})).await);
        let (_, formatted) = app
            .bytes(&format!("/api/v1/documents/{id}/file"), &signer)
            .await;
        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &pki.director,
            None,
        )
        .unwrap();
        ok(app
            .step(
                &signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&personal)}),
            )
            .await);
        ok(app.step(&clerk, id, json!({"action": "clerk_check"})).await);
        let out = ok(app.step(&clerk, id, json!({"action": "number"})).await);
        let number = out["number_and_notation"].as_str().unwrap().to_owned();
        let day = time::Date::parse(
            out["document"]["issued_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let sign_one = |key: &TestSigner, base_pdf: &[u8]| stamped(base_pdf, &number, key);
        let signed_url = |i: usize| format!("{base}/{}/signed", ids[i]);
        // Before the organization signature: not yet.
        let (status, body) = app
            .call(
                Method::POST,
                &signed_url(0),
                &clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.agency, &one))})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let filled = numbering::fill_bytes(&personal, &number, day).unwrap();
        let issued = sign_bytes(
            &filled,
            &numbering::organization_signature(opts()),
            &pki.agency,
            None,
        )
        .unwrap();
        ok(app
            .step(
                &clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&issued)}),
            )
            .await);

        // The clerk's uploads: the director's personal key, a changed attachment, another
        // person than the clerk — each refused; then the agency's stamped signature.
        let refused_file = |(status, body): (StatusCode, Value), why: &str| {
            assert_eq!(
                (status, body["error"]["field"].clone()),
                (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
                "{why}: {body}"
            );
        };
        refused_file(
            app.call(
                Method::POST,
                &signed_url(0),
                &clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.director, &one))})),
            )
            .await,
            "personal key",
        );
        refused_file(
            app.call(
                Method::POST,
                &signed_url(0),
                &clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.agency, &two))})),
            )
            .await,
            "another file",
        );
        let good = sign_one(&pki.agency, &one);
        let (status, _) = app
            .call(
                Method::POST,
                &signed_url(0),
                &signer,
                Some(json!({"file_base64": b64(&good)})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, a) = app
            .call(
                Method::POST,
                &signed_url(0),
                &clerk,
                Some(json!({"file_name": "pl1.pdf", "file_base64": b64(&good)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(
            (a["signed"].clone(), a["versions"][1]["kind"].clone()),
            (json!(true), json!("org_signed"))
        );
        // Signed once only.
        let (status, _) = app
            .call(
                Method::POST,
                &signed_url(0),
                &clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.agency, &good))})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Registered, but the dispatch waits for the second attachment.
        ok(app.step(&clerk, id, json!({"action": "register"})).await);
        let (status, body) = app.step(&clerk, id, json!({"action": "dispatch"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::CONFLICT, json!("attachments")),
            "{body}"
        );
        let second = sign_one(&pki.agency, &two);
        let (status, a) = app
            .call(
                Method::POST,
                &signed_url(1),
                &clerk,
                Some(json!({"file_base64": b64(&second)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        ok(app.step(&clerk, id, json!({"action": "dispatch"})).await);

        // The recipient agency gets both signed attachments with the document.
        let (status, deliveries) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{finance}/deliveries"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{deliveries}");
        let delivery = deliveries[0]["id"].as_i64().unwrap();
        let (status, got) = app
            .call(
                Method::GET,
                &format!("/api/v1/deliveries/{delivery}/attachments"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got.as_array().unwrap().len(), 2, "{got}");
        let (status, bytes) = app
            .bytes(
                &format!("/api/v1/deliveries/{delivery}/attachments/{}/file", ids[1]),
                &their_clerk,
            )
            .await;
        assert_eq!((status, bytes == second), (StatusCode::OK, true));
        // Not for another agency's people.
        let (status, _) = app
            .bytes(
                &format!("/api/v1/deliveries/{delivery}/attachments/{}/file", ids[1]),
                &drafter,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_attachment_routes_are_in_the_openapi_document() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    for (path, method) in [
        ("/api/v1/documents/{id}/attachments", "get"),
        ("/api/v1/documents/{id}/attachments", "post"),
        (
            "/api/v1/documents/{id}/attachments/{attachment_id}/file",
            "get",
        ),
        (
            "/api/v1/documents/{id}/attachments/{attachment_id}/signed",
            "post",
        ),
        ("/api/v1/deliveries/{id}/attachments", "get"),
        (
            "/api/v1/deliveries/{id}/attachments/{attachment_id}/file",
            "get",
        ),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"]["201"].is_object() || op["responses"]["200"].is_object(),
            "{method} {path}"
        );
    }
    let signed = &doc["paths"]["/api/v1/documents/{id}/attachments/{attachment_id}/signed"]["post"];
    assert!(
        signed["responses"]["422"].is_object(),
        "typed refusals documented"
    );
}

/// A logged-in browser's cookie and CSRF token for the account `name`.
async fn browser(store: &kyso_store::Store, name: &str) -> (String, String) {
    let (session, _) = accounts::login(
        store,
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
    )
}

const BOUNDARY: &str = "kyso-attachments-boundary";

/// POST a multipart form (text fields, then one file) as the browser `cookie`.
async fn post_form(
    router: &Router,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
    file: &[u8],
) -> (StatusCode, String, Option<String>) {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"phu-luc.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(axum::http::header::COOKIE, cookie)
        .header(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    let (s, b, h) = support::send(router, req).await;
    let location = h
        .get(axum::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (s, String::from_utf8_lossy(&b).into_owned(), location)
}

async fn get_page(router: &Router, cookie: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let req = axum::http::Request::builder()
        .uri(path)
        .header(axum::http::header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let (s, b, _) = support::send(router, req).await;
    (s, b)
}

#[tokio::test]
async fn the_document_page_lists_and_takes_attachments() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let (_, drafter) = app.person("chuyenvien", dost, "drafter").await;
        let (_, clerk) = app.person("vanthu", dost, "clerk").await;
        let (status, _) = app
            .call(
                Method::POST,
                "/api/v1/document-registers",
                &clerk,
                Some(
                    json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                            "issuer_abbrev": "SKHCN"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, created) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(json!({"agency_id": dost, "meta": meta(), "file_base64": b64(&draft())})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        let (cookie, csrf) = browser(s, "chuyenvien").await;
        let page = format!("/documents/{id}");
        let (status, html) = get_page(&app.router, &cookie, &page).await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Phụ lục kèm theo") && html.contains("Chưa có phụ lục."));
        assert!(html.contains(&format!("action=\"/documents/{id}/attachments\"")));

        // A forged token is refused; the right one adds the attachment.
        let file = annex("Danh sách đơn vị");
        let action = format!("/documents/{id}/attachments");
        let (status, _, _) = post_form(
            &app.router,
            &cookie,
            &action,
            &[("csrf", "gia-mao"), ("title", "Danh sách đơn vị")],
            &file,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body, location) = post_form(
            &app.router,
            &cookie,
            &action,
            &[("csrf", &csrf), ("title", "Danh sách đơn vị")],
            &file,
        )
        .await;
        assert!(status.is_redirection(), "{status}: {body}");
        assert_eq!(
            location.as_deref(),
            Some(format!("{page}?done=attachment#attachments").as_str())
        );
        let (_, html) = get_page(&app.router, &cookie, &page).await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert!(html.contains("Danh sách đơn vị") && html.contains("Chưa ký số cơ quan"));
        let (_, list) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}/attachments"),
                &drafter,
                None,
            )
            .await;
        let aid = list[0]["id"].as_i64().unwrap();
        let (status, bytes) =
            get_page(&app.router, &cookie, &format!("{action}/{aid}/file?seq=1")).await;
        assert_eq!((status, bytes == file), (StatusCode::OK, true));
        // Not a PDF: refused on a page that leads back to the document.
        let (status, body, _) = post_form(
            &app.router,
            &cookie,
            &action,
            &[("csrf", &csrf)],
            b"PK\x03\x04",
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body.contains(&format!("href=\"{page}#attachments\"")),
            "{body}"
        );
        // The clerk's signing form is not offered before the organization signature.
        let (ccookie, _) = browser(s, "vanthu").await;
        let (_, html) = get_page(&app.router, &ccookie, &page).await;
        let html = String::from_utf8_lossy(&html).into_owned();
        // The clerk sees the attachment but neither adds one (not the drafter's duty) nor is
        // offered to sign it before the organization signature.
        assert!(html.contains("Danh sách đơn vị"));
        assert!(!html.contains("attachment-signed-"));
        assert!(!html.contains(&format!("action=\"{action}\"")));
    }
}
