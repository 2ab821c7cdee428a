//! edXML in and status messages out (issue 18 items 1 and 3), through the real router on
//! SQLite and PostgreSQL: an edXML package from an agency outside kyso is taken in for the
//! caller's agency among its recipients (the header mapped to the record, the PDF byte for
//! byte, channel edxml), through the API and the clerk's page; hostile packages — billion
//! laughs, an external entity, a 1 GB attachment, a missing field, bad base64 — are refused
//! through both with a clear message and nothing stored. The refusal and the handling steps
//! become edXML status messages the exchange connector lists, reads (every field, through
//! kyso_edxml's reader) and acknowledges, scoped to its agency; a refusal of a document whose
//! sender gave an e-mail address is e-mailed to a real SMTP server once, after a failure
//! retried with backoff, never twice — not even by a second sender while the first holds its
//! claim.
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
use base64::Engine as _;
use kyso_edxml as ed;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Store};
use kyso_web::mailer::{Mailer, SmtpConfig};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{smtp, NOW, PASSWORD};

const BOUNDARY: &str = "kysoedxmlboundary";

struct App {
    router: Router,
    db: TestDb,
    blob_dir: tempfile::TempDir,
}

/// A browser session: its cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl App {
    async fn new(b: kyso_store::Backend) -> App {
        let db = TestDb::new(b).await;
        let blob_dir = tempfile::tempdir().unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(Blobs::open(blob_dir.path()).unwrap());
        App {
            router: kyso_web::router(state),
            db,
            blob_dir,
        }
    }

    fn store(&self) -> &Store {
        &self.db.store
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, header::HeaderMap) {
        support::send(&self.router, req).await
    }

    async fn call(
        &self,
        m: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = support::call_json(&self.router, m, path, token, body).await;
        (s, v)
    }

    /// POST an edXML package to the API.
    async fn post_package(&self, token: &str, query: &str, xml: &[u8]) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/incoming/edxml{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/xml")
            .body(Body::from(xml.to_vec()))
            .unwrap();
        let (s, b, _) = self.send(req).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    /// An account with `role` at `agency`: its API token and browser session.
    async fn person(
        &self,
        name: &str,
        full_name: &str,
        agency: i64,
        role: &str,
    ) -> (String, Browser) {
        accounts::create_user(
            self.store(),
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: full_name.into(),
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
        let (s, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (session, _) = accounts::login(
            self.store(),
            name,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        (
            body["token"].as_str().unwrap().to_owned(),
            Browser {
                cookie: format!("kyso_session={}", session.token.as_str()),
                csrf: session.csrf,
            },
        )
    }

    /// The clerk's page posting an edXML package for `agency`: status and page (or the
    /// redirect's address).
    async fn upload_package(&self, who: &Browser, agency: i64, xml: &[u8]) -> (StatusCode, String) {
        let mut body = Vec::new();
        for (k, v) in [
            ("csrf", who.csrf.as_str()),
            ("kind", "edxml"),
            ("edxml_agency_id", &agency.to_string()),
        ] {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"package\"; \
                 filename=\"goi.edxml\"\r\nContent-Type: application/xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(xml);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let req = Request::builder()
            .method(Method::POST)
            .uri("/incoming/new")
            .header(header::COOKIE, &who.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        let (s, b, h) = self.send(req).await;
        match h.get(header::LOCATION) {
            Some(to) if s.is_redirection() => (s, to.to_str().unwrap().to_owned()),
            _ => (s, String::from_utf8_lossy(&b).into_owned()),
        }
    }

    /// Incoming records and blob files: what a refusal must leave unchanged.
    async fn stored(&self) -> (i64, usize) {
        let rows: i64 = kyso_store::sqlx::query_scalar("SELECT COUNT(*) FROM incoming_documents")
            .fetch_one(self.store().pool())
            .await
            .unwrap();
        fn files(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .map(|e| {
                            let p = e.path();
                            if p.is_dir() {
                                files(&p)
                            } else {
                                1
                            }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        (rows, files(self.blob_dir.path()))
    }
}

/// An agency of the test province; its id.
async fn agency(store: &Store, code: &str, name: &str, parent: Option<i64>) -> i64 {
    support::agency(store, code, name, parent).await
}

/// A one-page PDF that differs by `tag`.
fn pdf(tag: &str) -> Vec<u8> {
    support::draft_with_number_line(&format!("Số: {tag}/CTS-VP"))
}

/// A one-page PDF signed by a key whose certificate no trust anchor of the server vouches
/// for: indeterminate on arrival, so the clerk may register it with a reason.
fn signed(tag: &str) -> Vec<u8> {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "Lê Văn Cường");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    p.not_before = NOW - time::Duration::days(30);
    p.not_after = NOW + time::Duration::days(300);
    let cert = p.self_signed(&key).unwrap();
    let signer = support::TestSigner {
        cert: kyso_x509::Cert::from_der(cert.der()).unwrap(),
        chain: Vec::new(),
        key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
            .unwrap(),
    };
    kyso_pades::sign_bytes(&pdf(tag), &support::opts(), &signer, None).unwrap()
}

/// The package the Cục Chứng thực số (outside kyso) sends to Finance and to Science.
fn envelope(number: &str, file: &[u8]) -> ed::Envelope {
    let org = |id: &str, name: &str| ed::Organization {
        organ_id: id.into(),
        organ_name: name.into(),
        ..Default::default()
    };
    let mut e = ed::Envelope::default();
    e.header.from = ed::Organization {
        organ_id: "000.05.07.G11".into(),
        organization_in_charge: "Ban Cơ yếu Chính phủ".into(),
        organ_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
        organ_add: "23 Ngụy Như Kon Tum, Hà Nội".into(),
        email: "vanthu@ca.gov.vn".into(),
        telephone: "024 3773 8668".into(),
        ..Default::default()
    };
    e.header.to = vec![
        org("000.00.05.H99", "Sở Tài chính"),
        org("000.00.37.H99", "Sở Khoa học và Công nghệ"),
    ];
    e.header.code = ed::Code {
        code_number: number.into(),
        code_notation: "CTS-VP".into(),
    };
    e.header.promulgation_info = ed::PromulgationInfo {
        place: "Hà Nội".into(),
        promulgation_date: "2026/05/28".into(),
    };
    e.header.document_type = ed::DocumentType {
        type_code: 1,
        type_name: "Công văn".into(),
    };
    e.header.subject = format!("V/v gia hạn chứng thư số (số {number})");
    e.header.signer_info = ed::SignerInfo {
        competence: "KT. CỤC TRƯỞNG".into(),
        position: "PHÓ CỤC TRƯỞNG".into(),
        full_name: "Lê Văn Cường".into(),
    };
    e.header.response_for = vec![ed::ResponseFor {
        organ_id: "000.00.05.H99".into(),
        code: "07/STC-VP".into(),
        promulgation_date: "2026/05/02".into(),
        document_id: "000.00.05.H99,2026/05/02,07/STC-VP".into(),
    }];
    e.header.document_id =
        ed::document_id("000.05.07.G11", "2026/05/28", &format!("{number}/CTS-VP"));
    e.attachments.push(ed::Attachment {
        content_id: "van-ban".into(),
        content_type: "application/pdf".into(),
        description: "Văn bản đã ký số".into(),
        name: format!("cong-van-{number}.pdf"),
        content: file.to_vec(),
    });
    e
}

/// The hostile packages: (what, bytes, the reader's code).
fn hostile(good: &[u8]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let text = String::from_utf8(good.to_vec()).unwrap();
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE edXML [\n<!ENTITY lol \"lol\">\n\
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n\
        <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n\
        <edXML>&lol3;</edXML>\n";
    let external = text.replacen(
        "<edXML ",
        "<!DOCTYPE edXML [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<edXML ",
        1,
    );
    let missing = {
        let start = text.find("<edXML:Subject>").unwrap();
        let end = text.find("</edXML:Subject>").unwrap() + "</edXML:Subject>".len();
        format!("{}{}", &text[..start], &text[end..])
    };
    let bad_base64 = {
        let start =
            text.find("<ContentTransferEncoded>").unwrap() + "<ContentTransferEncoded>".len();
        format!("{}!!*{}", &text[..start], &text[start + 3..])
    };
    vec![
        ("billion laughs", laughs.as_bytes().to_vec(), "dtd"),
        ("external entity", external.into_bytes(), "dtd"),
        ("missing subject", missing.into_bytes(), "missing_field"),
        ("bad base64", bad_base64.into_bytes(), "bad_base64"),
    ]
}

#[tokio::test]
async fn edxml_packages_are_taken_in_for_the_callers_agency_and_hostile_ones_refused() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let province = agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let finance = agency(s, "H99.05", "Sở Tài chính", Some(province)).await;
        let science = agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let health = agency(s, "H99.10", "Sở Y tế", Some(province)).await;
        let (clerk, clerk_ui) = app
            .person("vanthu.tc", "Phạm Thị Thu", finance, "clerk")
            .await;
        let (drafter, _) = app
            .person("chuyenvien.tc", "Lý Văn Tám", finance, "drafter")
            .await;
        let (health_clerk, _) = app.person("vanthu.syt", "Đỗ Văn Y", health, "clerk").await;
        let (province_clerk, _) = app
            .person("vanthu.ubnd", "Hồ Thị Tỉnh", province, "clerk")
            .await;

        let file = pdf("12");
        let package = ed::write(&envelope("12", &file));

        // Who may not take documents in is refused before the package is read; an agency that
        // is not among the recipients is refused saying to whom the package goes.
        let (st, body) = app.post_package(&drafter, "", &package).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{b:?}: {body}");
        let (st, body) = app.post_package(&health_clerk, "", &package).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{b:?}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("Sở Tài chính") && msg.contains("không tiếp nhận"),
            "{body}"
        );
        // The province's clerk reaches both recipients: asked to choose, then takes in one.
        let (st, body) = app.post_package(&province_clerk, "", &package).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {body}");
        assert_eq!(body["error"]["field"], "agency_id", "{body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("Sở Tài chính") && msg.contains("Sở Khoa học"),
            "{body}"
        );
        let (st, body) = app
            .post_package(&province_clerk, &format!("?agency_id={health}"), &package)
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {body}");
        assert_eq!(app.stored().await.0, 0, "{b:?}: nothing taken in yet");

        // Finance's clerk: taken in for Finance only, the header on the record.
        let (st, d) = app.post_package(&clerk, "", &package).await;
        assert_eq!(st, StatusCode::CREATED, "{b:?}: {d}");
        assert_eq!(
            (
                d["agency_id"].as_i64(),
                d["channel"].as_str(),
                d["state"].as_str()
            ),
            (Some(finance), Some("edxml"), Some("received")),
            "{d}"
        );
        assert_eq!(d["sender_code"], "000.05.07.G11");
        assert_eq!(d["sender_name"], "Cục Chứng thực số và Bảo mật thông tin");
        assert_eq!(d["number_and_notation"], "12/CTS-VP");
        assert_eq!(d["doc_date"], "2026-05-28");
        assert_eq!(d["doc_type"], "Công văn");
        assert_eq!(d["subject"], "V/v gia hạn chứng thư số (số 12)");
        assert_eq!(d["signer"], "KT. CỤC TRƯỞNG PHÓ CỤC TRƯỞNG Lê Văn Cường");
        assert_eq!(d["file_name"], "cong-van-12.pdf");
        let id = d["id"].as_i64().unwrap();
        let (st, bytes, _) = app
            .send(support::api_request(
                Method::GET,
                &format!("/api/v1/incoming/{id}/file"),
                &clerk,
                None,
            ))
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(bytes == file, "{b:?}: the PDF byte for byte");
        // The sender's e-mail and what the record has no column for are kept for the answer.
        let detail = kyso_store::sqlx::query_as::<_, (String, String, String, String)>(
            "SELECT i.sender_email, e.organ_id, e.document_id, e.header FROM incoming_documents i \
             JOIN incoming_edxml e ON e.incoming_id = i.id WHERE i.id = $1",
        )
        .bind(id)
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(detail.0, "vanthu@ca.gov.vn");
        assert_eq!(detail.1, "000.05.07.G11");
        assert_eq!(detail.2, "000.05.07.G11,2026/05/28,12/CTS-VP");
        let header: Value = serde_json::from_str(&detail.3).unwrap();
        assert_eq!(header["response_for"][0]["code"], "07/STC-VP", "{header}");
        assert_eq!(header["to"].as_array().unwrap().len(), 2);
        // The same package again: recognised.
        let (st, body) = app.post_package(&clerk, "", &package).await;
        assert_eq!(st, StatusCode::CONFLICT, "{b:?}: {body}");
        // Science's copy, by the province's clerk who names it.
        let (st, d2) = app
            .post_package(&province_clerk, &format!("?agency_id={science}"), &package)
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?}: {d2}");
        assert_eq!(d2["agency_id"].as_i64(), Some(science));

        // Hostile packages: refused with the reader's code and a Vietnamese message, through
        // the API and the page; nothing stored.
        let before = app.stored().await;
        for (what, bytes, code) in hostile(&ed::write(&envelope("13", &pdf("13")))) {
            let (st, body) = app.post_package(&clerk, "", &bytes).await;
            assert_eq!(
                st,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{b:?}: {what}: {body}"
            );
            assert_eq!(body["error"]["code"], code, "{b:?}: {what}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("Gói edXML không hợp lệ"),
                "{what}: {body}"
            );
            let (st, page) = app.upload_package(&clerk_ui, finance, &bytes).await;
            assert_eq!(
                st,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{b:?}: {what}: {page}"
            );
            assert!(page.contains("Gói edXML không hợp lệ"), "{what}: {page}");
            assert!(page.contains("Không có gì được lưu"), "{what}");
            assert!(
                page.contains("<nav") || page.contains("Đăng xuất"),
                "in the site's layout"
            );
            assert_eq!(app.stored().await, before, "{b:?}: {what}: nothing stored");
        }
        // A 1 GB attachment: refused from the declared length before a byte is read, and,
        // sent without one, once the body passes the package's limit.
        let text = String::from_utf8(ed::write(&envelope("14", &pdf("14")))).unwrap();
        let cut = text.find("<ContentTransferEncoded>").unwrap() + "<ContentTransferEncoded>".len();
        let gigabyte = 1u64 << 30;
        let declared = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/incoming/edxml")
            .header(header::AUTHORIZATION, format!("Bearer {clerk}"))
            .header(header::CONTENT_TYPE, "application/xml")
            .header(header::CONTENT_LENGTH, gigabyte.to_string())
            .body(Body::from(text[..cut].to_owned()))
            .unwrap();
        let (st, body, _) = app.send(declared).await;
        assert_eq!(
            st,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{b:?}: {}",
            String::from_utf8_lossy(&body)
        );
        let mut over = text.as_bytes()[..cut].to_vec();
        over.resize(kyso_web::MAX_DOCUMENT_JSON + 1, b'A');
        let (st, body) = app.post_package(&clerk, "", &over).await;
        assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{b:?}: {body}");
        assert_eq!(body["error"]["code"], "too_large", "{body}");
        drop(over);
        // A declared attachment larger than a document file, within the package's size: the
        // reader refuses it from its base64 length before decoding.
        let big = {
            let mut e = envelope("15", &pdf("15"));
            e.attachments[0].content = vec![0x25; kyso_web::MAX_DOCUMENT_FILE + 1];
            ed::write(&e)
        };
        let (st, body) = app.post_package(&clerk, "", &big).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {body}");
        assert_eq!(body["error"]["code"], "attachment_too_large", "{body}");
        assert_eq!(app.stored().await, before, "{b:?}: nothing stored");

        // The page: the upload page offers the package form; a good package is taken in.
        let (st, page, _) = app
            .send(
                Request::builder()
                    .uri("/incoming/new")
                    .header(header::COOKIE, &clerk_ui.cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("Tiếp nhận gói edXML") && page.contains("name=\"package\""));
        let (st, to) = app
            .upload_package(&clerk_ui, finance, &ed::write(&envelope("16", &pdf("16"))))
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{b:?}: {to}");
        assert!(
            to.starts_with("/incoming/") && to.ends_with("?done=created"),
            "{to}"
        );
        let (rows, _) = app.stored().await;
        assert_eq!(rows, before.0 + 1, "{b:?}");
    }
}

/// The status message read back from the connector's GET.
async fn fetch_status(app: &App, token: &str, id: i64) -> ed::StatusMessage {
    let (st, xml, h) = app
        .send(support::api_request(
            Method::GET,
            &format!("/api/v1/exchange/outbox/{id}"),
            token,
            None,
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&xml));
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/xml"));
    ed::read_status(&xml, ed::Limits::default()).unwrap()
}

#[tokio::test]
async fn status_messages_reach_the_exchange_connector_and_the_senders_mailbox() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let province = agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let finance = agency(s, "H99.05", "Sở Tài chính", Some(province)).await;
        let science = agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let (clerk, _) = app
            .person("vanthu.tc", "Phạm Thị Thu", finance, "clerk")
            .await;
        let (connector, _) = app
            .person("lienthong.tc", "Trục liên thông", finance, "clerk")
            .await;
        let (leader, _) = app
            .person("giamdoc.tc", "Ngô Văn Lãnh", finance, "signer")
            .await;
        let (drafter, _) = app
            .person("chuyenvien.tc", "Lý Văn Tám", finance, "drafter")
            .await;
        let (other, _) = app
            .person("vanthu.khcn", "Vũ Thị Khoa", science, "clerk")
            .await;

        // Two packages arrive: one is refused, the other registered, assigned and handled.
        let (_, refused) = app
            .post_package(&clerk, "", &ed::write(&envelope("21", &pdf("21"))))
            .await;
        let (_, kept) = app
            .post_package(&clerk, "", &ed::write(&envelope("22", &signed("22"))))
            .await;
        let (refused, kept) = (
            refused["id"].as_i64().unwrap(),
            kept["id"].as_i64().unwrap(),
        );
        let reason = "Văn bản không có chữ ký số hợp lệ của cơ quan gửi";
        let step = |path: String, token: String, body: Value| {
            let app = &app;
            async move {
                let (st, v) = app.call(Method::POST, &path, &token, Some(body)).await;
                assert_eq!(st, StatusCode::OK, "{path}: {v}");
                v
            }
        };
        let out = step(
            format!("/api/v1/incoming/{refused}/refuse"),
            clerk.clone(),
            json!({"reason": reason}),
        )
        .await;
        assert_eq!(out["status_message"], "edxml", "{out}");
        step(
            format!("/api/v1/incoming/{kept}/register"),
            clerk.clone(),
            json!({"reason": "Đã đối chiếu với bản giấy"}),
        )
        .await;
        step(
            format!("/api/v1/incoming/{kept}/assign"),
            leader.clone(),
            json!({"lead_unit_id": finance, "deadline": "2026-06-15", "note": "Phòng Ngân sách chủ trì"}),
        )
        .await;
        step(
            format!("/api/v1/incoming/{kept}/status"),
            clerk.clone(),
            json!({"status": "in_progress"}),
        )
        .await;
        step(
            format!("/api/v1/incoming/{kept}/status"),
            clerk.clone(),
            json!({"status": "completed"}),
        )
        .await;

        // The connector lists them, oldest first: 02, then 03 04 05 06.
        let (st, list) = app
            .call(Method::GET, "/api/v1/exchange/outbox", &connector, None)
            .await;
        assert_eq!(st, StatusCode::OK, "{list}");
        let items = list.as_array().unwrap();
        let codes: Vec<&str> = items
            .iter()
            .map(|i| i["status_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["02", "03", "04", "05", "06"], "{b:?}: {list}");
        assert_eq!(items[0]["recipient"], "000.05.07.G11");
        assert_eq!(items[0]["description"], reason);
        assert_eq!(items[0]["status_label"], "Từ chối tiếp nhận");

        // The refusal as edXML, every field through kyso_edxml's reader.
        let refusal_id = items[0]["id"].as_i64().unwrap();
        let m = fetch_status(&app, &connector, refusal_id).await;
        assert_eq!(
            m.response_for,
            ed::ResponseFor {
                organ_id: "000.05.07.G11".into(),
                code: "21/CTS-VP".into(),
                promulgation_date: "2026/05/28".into(),
                document_id: "000.05.07.G11,2026/05/28,21/CTS-VP".into(),
            }
        );
        assert_eq!(
            m.from,
            ed::Organization {
                organ_id: "000.00.05.H99".into(),
                organization_in_charge: "UBND Tỉnh Demo".into(),
                organ_name: "Sở Tài chính".into(),
                ..Default::default()
            }
        );
        assert_eq!(m.status_code, ed::StatusCode::Refused);
        assert_eq!(m.description, reason);
        assert_eq!(m.timestamp, "2026/06/01 09:00:00");
        assert_eq!(
            m.staff_info,
            ed::StaffInfo {
                department: "Sở Tài chính".into(),
                staff: "Phạm Thị Thu".into(),
                mobile: String::new(),
                email: "vanthu.tc@demo.invalid".into(),
            }
        );
        // The handling: 04 with the leader's note, 06 with the code's meaning.
        let assigned = fetch_status(&app, &connector, items[2]["id"].as_i64().unwrap()).await;
        assert_eq!(assigned.status_code, ed::StatusCode::Assigned);
        assert_eq!(assigned.description, "Phòng Ngân sách chủ trì");
        assert_eq!(assigned.staff_info.staff, "Ngô Văn Lãnh");
        assert_eq!(assigned.response_for.code, "22/CTS-VP");
        let done = fetch_status(&app, &connector, items[4]["id"].as_i64().unwrap()).await;
        assert_eq!(done.status_code, ed::StatusCode::Completed);

        // Scope: another agency's clerk sees none of them and cannot read or acknowledge one;
        // a role that does not take documents in is refused.
        let (st, theirs) = app
            .call(Method::GET, "/api/v1/exchange/outbox", &other, None)
            .await;
        assert_eq!((st, theirs.clone()), (StatusCode::OK, json!([])), "{b:?}");
        for (m, path) in [
            (Method::GET, format!("/api/v1/exchange/outbox/{refusal_id}")),
            (
                Method::POST,
                format!("/api/v1/exchange/outbox/{refusal_id}/ack"),
            ),
        ] {
            let (st, body) = app.call(m.clone(), &path, &other, None).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{b:?}: {m} {path}: {body}");
            let (st, _) = app.call(m.clone(), &path, &drafter, None).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{b:?}: {m} {path}");
        }
        let (st, _) = app
            .call(Method::GET, "/api/v1/exchange/outbox", &drafter, None)
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // Acknowledged: it leaves the list, once; audited.
        let ack = format!("/api/v1/exchange/outbox/{refusal_id}/ack");
        let (st, a) = app.call(Method::POST, &ack, &connector, None).await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_eq!(a["acknowledged_now"], true);
        assert!(a["message"]["delivered_at"].as_i64().is_some(), "{a}");
        let (_, a) = app.call(Method::POST, &ack, &connector, None).await;
        assert_eq!(a["acknowledged_now"], false, "{b:?}: acknowledged once");
        let (_, list) = app
            .call(Method::GET, "/api/v1/exchange/outbox", &connector, None)
            .await;
        assert_eq!(list.as_array().unwrap().len(), 4, "{b:?}: {list}");
        let audited: Vec<String> = kyso_store::sqlx::query_scalar(
            "SELECT action FROM audit_log WHERE object = $1 ORDER BY seq",
        )
        .bind(format!("incoming_outbox:{refusal_id}"))
        .fetch_all(s.pool())
        .await
        .unwrap();
        assert!(
            audited.contains(&"incoming.status_read".to_owned()),
            "{audited:?}"
        );
        assert_eq!(
            audited
                .iter()
                .filter(|a| *a == "incoming.status_delivered")
                .count(),
            1,
            "{b:?}: {audited:?}"
        );

        // By e-mail: a document sent through the API with the sender's address, refused.
        let sent = |number: &str| {
            json!({
                "agency_id": finance, "sender_name": "Sở Tài chính tỉnh Bắc",
                "sender_email": "vanthu@stc.example.vn", "number": number,
                "notation": "STC-NS", "doc_date": "2026-05-28", "doc_type": "Công văn",
                "subject": format!("V/v quyết toán ngân sách năm 2025 (số {number})"),
                "file_name": "cong-van.pdf",
                "file_base64": base64::engine::general_purpose::STANDARD.encode(pdf(&format!("9{number}"))),
            })
        };
        let (st, d) = app
            .call(Method::POST, "/api/v1/incoming", &clerk, Some(sent("31")))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{d}");
        let mailed = d["id"].as_i64().unwrap();
        let out = step(
            format!("/api/v1/incoming/{mailed}/refuse"),
            clerk.clone(),
            json!({"reason": "Gửi nhầm cơ quan nhận"}),
        )
        .await;
        assert_eq!(out["status_message"], "email", "{out}");
        let sink = smtp::sink().await;
        let mailer = Mailer::new(&SmtpConfig {
            url: format!("smtp://127.0.0.1:{}", sink.port),
            from: "Sở Tài chính <vanthu@stc.h99.example.vn>".into(),
            password: None,
        })
        .unwrap();
        // Only the sender's mails (the job also e-mails the inbox notices of the steps).
        let to_sender = |sink: &smtp::Sink| {
            sink.mails()
                .into_iter()
                .filter(|m| m.rcpt == ["vanthu@stc.example.vn"])
                .collect::<Vec<_>>()
        };
        let later = |secs: i64| NOW + time::Duration::seconds(secs);
        // The relay refuses it for now: kept, not retried before its backoff, then sent once
        // by the server's notice job.
        sink.refuse(1);
        let round = kyso_web::status_mail::send_pending(&mailer, s, NOW)
            .await
            .unwrap();
        assert_eq!((round.sent, round.failed), (0, 1), "{b:?}");
        assert!(sink.mails().is_empty(), "{b:?}");
        let (attempts, error): (i64, String) = kyso_store::sqlx::query_as(
            "SELECT s.attempts, s.last_error FROM incoming_outbox_sends s \
             JOIN incoming_outbox o ON o.id = s.outbox_id WHERE o.incoming_id = $1",
        )
        .bind(mailed)
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(attempts, 1);
        assert!(error.contains("try again later"), "{error}");
        let round = kyso_web::status_mail::send_pending(&mailer, s, later(30))
            .await
            .unwrap();
        assert_eq!(
            (round.sent, round.failed),
            (0, 0),
            "{b:?}: not before the backoff"
        );
        let at = |secs: i64| -> kyso_web::Clock {
            Arc::new(move || NOW + time::Duration::seconds(secs))
        };
        kyso_web::mailer::notice_round(s, &at(61), Some(&mailer)).await;
        let mails = to_sender(&sink);
        assert_eq!(mails.len(), 1, "{b:?}");
        assert_eq!(mails[0].rcpt, ["vanthu@stc.example.vn"]);
        assert_eq!(
            smtp::header(&mails[0].data, "Subject"),
            "Thông báo từ chối tiếp nhận văn bản số 31/STC-NS ngày 28/05/2026"
        );
        let text = smtp::mail_text(&mails[0].data);
        for part in [
            "Kính gửi: Sở Tài chính tỉnh Bắc",
            "Sở Tài chính (mã định danh H99.05)",
            "Số, ký hiệu: 31/STC-NS",
            "V/v quyết toán ngân sách năm 2025 (số 31)",
            "Lý do: Gửi nhầm cơ quan nhận",
            "Từ chối tiếp nhận (mã 02)",
        ] {
            assert!(text.contains(part), "{b:?}: {part:?} in {text}");
        }
        let first_id = smtp::header(&mails[0].data, "Message-ID");
        assert!(first_id.contains("kyso-status-"), "{first_id}");
        kyso_web::mailer::notice_round(s, &at(3600), Some(&mailer)).await;
        assert_eq!(to_sender(&sink).len(), 1, "{b:?}: never sent twice");

        // A sender that claimed a message and stopped (kill -9) holds it: another round does
        // not send it until the claim lapses; then it goes once, with its own Message-ID.
        let (_, d) = app
            .call(Method::POST, "/api/v1/incoming", &clerk, Some(sent("32")))
            .await;
        let second = d["id"].as_i64().unwrap();
        step(
            format!("/api/v1/incoming/{second}/refuse"),
            clerk.clone(),
            json!({"reason": "Thiếu phụ lục"}),
        )
        .await;
        let claimed = kyso_store::incoming::claim_status_emails(s, later(3700), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "{b:?}");
        kyso_web::mailer::notice_round(s, &at(3800), Some(&mailer)).await;
        assert_eq!(
            to_sender(&sink).len(),
            1,
            "{b:?}: claimed by another sender"
        );
        let lapse = 3700 + kyso_store::incoming::CLAIM_SECONDS + 1;
        kyso_web::mailer::notice_round(s, &at(lapse), Some(&mailer)).await;
        let mails = to_sender(&sink);
        assert_eq!(mails.len(), 2, "{b:?}");
        assert!(smtp::mail_text(&mails[1].data).contains("Thiếu phụ lục"));
        assert_ne!(smtp::header(&mails[1].data, "Message-ID"), first_id);
        kyso_web::mailer::notice_round(s, &at(lapse + 7200), Some(&mailer)).await;
        assert_eq!(to_sender(&sink).len(), 2, "{b:?}");
        // The e-mail rows are not the connector's.
        let (_, list) = app
            .call(Method::GET, "/api/v1/exchange/outbox", &connector, None)
            .await;
        assert_eq!(list.as_array().unwrap().len(), 4, "{b:?}");
    }
}
