//! The edXML export of an issued document through the REST API (issue 18 item 5), on SQLite
//! and on PostgreSQL: a document with one attachment goes through the whole flow with real
//! signatures; before dispatch it has no envelope (409 `not_issued`); once dispatched, a reader
//! of the agency downloads `GET /api/v1/documents/{id}/edxml`, which `kyso_edxml::read` reads
//! back with the header built from the Decree 30 metadata and the registry (From with the
//! agency's 13-character code, To, Code, PromulgationInfo, DocumentType, SignerInfo, OtherInfo,
//! DocumentId) and the issued PDF and the signed attachment byte for byte; another agency's
//! clerk does not find it (404); the route is in the OpenAPI document.
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

use axum::http::{header, Method, StatusCode};
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
        let (s, b, _) = self.get(path, token).await;
        (s, b)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        support::send(
            &self.router,
            support::api_request(Method::GET, path, token, None),
        )
        .await
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
        "urgency": "urgent",
        "attachments": [{"title": "Danh sách đơn vị", "pages": 1}]
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
async fn an_issued_document_is_exported_as_an_edxml_envelope_with_its_files_byte_exact() {
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
        let edxml = format!("/api/v1/documents/{id}/edxml");
        let annex_pdf = annex("Danh sách đơn vị");
        let (status, a) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/attachments"),
                &drafter,
                Some(
                    json!({"title": "Danh sách đơn vị", "file_name": "phu-luc.pdf",
                            "file_base64": b64(&annex_pdf)}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        let attachment = a["id"].as_i64().unwrap();

        // A draft has no envelope.
        let (status, body) = app.call(Method::GET, &edxml, &drafter, None).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (StatusCode::CONFLICT, json!("not_issued")),
            "{body}"
        );

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
        let iso_day = out["document"]["issued_date"].as_str().unwrap().to_owned();
        let day = time::Date::parse(
            &iso_day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
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
        let signed_annex = stamped(&annex_pdf, &number, &pki.agency);
        let (status, a) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/attachments/{attachment}/signed"),
                &clerk,
                Some(json!({"file_name": "pl1.pdf", "file_base64": b64(&signed_annex)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        ok(app.step(&clerk, id, json!({"action": "register"})).await);
        // Registered but not dispatched: still no envelope.
        let (status, _) = app.call(Method::GET, &edxml, &clerk, None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        ok(app.step(&clerk, id, json!({"action": "dispatch"})).await);

        // A reader of the agency (the reviewer) downloads the envelope.
        let (status, xml, headers) = app.get(&edxml, &reviewer).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&xml));
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/xml"));
        let e = kyso_edxml::read(&xml, kyso_edxml::Limits::default()).unwrap();
        let h = &e.header;
        assert_eq!(
            (h.from.organ_id.as_str(), h.from.organ_name.as_str()),
            ("000.00.37.H99", "Sở KH&CN")
        );
        assert_eq!(h.from.organization_in_charge, "UBND Tỉnh Demo");
        assert_eq!(h.to.len(), 1);
        assert_eq!(
            (h.to[0].organ_id.as_str(), h.to[0].organ_name.as_str()),
            ("000.00.05.H99", "Sở Tài chính")
        );
        let (num, notation) = number.split_once('/').unwrap();
        assert_eq!(
            (h.code.code_number.as_str(), h.code.code_notation.as_str()),
            (num, notation)
        );
        let slash_day = iso_day.replace('-', "/");
        assert_eq!(h.promulgation_info.promulgation_date, slash_day);
        assert_eq!(h.promulgation_info.place, "Demo");
        assert_eq!(h.document_type.type_name, "Quyết định");
        assert_eq!(h.subject, "Về việc ban hành Quy chế văn thư");
        assert_eq!(h.signer_info.full_name, "Nguyễn Văn An");
        assert_eq!(h.signer_info.position, "GIÁM ĐỐC");
        assert_eq!(h.other_info.priority, Some(1), "urgent");
        assert_eq!(h.other_info.page_amount, Some(1));
        assert_eq!(h.other_info.appendixes, vec!["Danh sách đơn vị".to_owned()]);
        assert_eq!(h.document_id, format!("000.00.37.H99,{slash_day},{number}"));
        assert_eq!(e.trace.trace_headers[0].timestamp, "2026/06/01 09:00:00");
        assert_eq!(e.attachments.len(), 2);
        assert_eq!(e.attachments[0].content_type, "application/pdf");
        assert!(
            e.attachments[0].content == issued,
            "the issued PDF, byte for byte"
        );
        assert!(
            e.attachments[1].content == signed_annex,
            "the signed attachment, byte for byte"
        );
        assert_eq!(e.attachments[1].description, "Danh sách đơn vị");

        // Another agency's clerk does not find it; without a login: 401.
        let (status, _) = app.call(Method::GET, &edxml, &their_clerk, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.call(Method::GET, &edxml, "", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_edxml_route_is_in_the_openapi_document() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    let op = &doc["paths"]["/api/v1/documents/{id}/edxml"]["get"];
    assert!(
        op["responses"]["200"]["content"]["application/xml"].is_object(),
        "{op}"
    );
    assert!(op["responses"]["409"].is_object(), "{op}");
}
