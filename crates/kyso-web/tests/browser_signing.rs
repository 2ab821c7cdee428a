//! Signing in the browser with the official's own token (issue 17 item 3), on SQLite and on
//! PostgreSQL, as the signing service does it: the page's ticket (session and CSRF token), the
//! VGCA request it hands the service (parsed by `kyso agent`'s own protocol code), the download
//! with the ticket as a bearer token, the signature made in process the way the agent makes it
//! (kyso_pades::numbering's personal signature; the number and date filled, then the
//! organization signature), the multipart upload answered in the VGCA shape, and the step done.
//! Refusals: no, forged and expired tickets, a ticket used twice, a ticket for another document,
//! version or step, a person without the duty, a page's request (`Origin`), a tampered file
//! (the ticket survives it), a seal over another number.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_pades::numbering;
use kyso_pades::sign_bytes;
use kyso_services::agent::protocol::{parse_operation, Operation, SignOp};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use kyso_x509::Cert;
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{draft, draft_with_number_line, opts, register_cert, TestSigner, NOW, PASSWORD};

/// The director (personal) and the agency's seal (organization: CN = O), one test root.
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
        .push(DnType::CommonName, "Browser Signing Test Root");
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
    /// Seconds added to `NOW` by the server's clock.
    later: Arc<AtomicI64>,
    _blobs: tempfile::TempDir,
}

/// A logged-in person: the session token (a bearer token for the API, the cookie for pages)
/// and its CSRF token.
struct Person {
    token: String,
    csrf: String,
}

/// An answer: status, body, headers.
type Answer = (StatusCode, Vec<u8>, HeaderMap);

const BOUNDARY: &str = "kyso-agent-boundary";

impl App {
    /// The server, trusting `root` (the document pages verify signatures against it).
    async fn new(backend: Backend, root: &Cert) -> App {
        let db = TestDb::new(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let later = Arc::new(AtomicI64::new(0));
        let clock = later.clone();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(move || NOW + time::Duration::seconds(clock.load(Ordering::SeqCst))),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(kyso_store::blobs::Blobs::open(blobs.path()).unwrap())
        .with_trust_anchors(kyso_x509::path::TrustStore::from_certs([root.clone()]));
        App {
            router: kyso_web::router(state),
            db,
            later,
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

    async fn call(&self, method: Method, path: &str, who: &Person, body: Option<Value>) -> Value {
        let (status, v, _) = support::call_json(&self.router, method, path, &who.token, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn step(&self, who: &Person, id: i64, action: &str) {
        self.call(
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            who,
            Some(json!({ "action": action })),
        )
        .await;
    }

    /// The page's request for a ticket: the session cookie and `csrf` as the script sends it.
    async fn ticket(
        &self,
        who: &Person,
        id: i64,
        action: &str,
        csrf: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("/documents/{id}/sign-ticket"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        let req = req
            .body(Body::from(json!({ "action": action }).to_string()))
            .unwrap();
        let (status, body, _) = support::send(&self.router, req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// The signing service's download: `Authorization: Bearer` (when `token` is not empty),
    /// and the headers given.
    async fn download(&self, path: &str, token: &str, extra: &[(&str, &str)]) -> Answer {
        let mut req = Request::builder().uri(path);
        if !token.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        support::send(&self.router, req.body(Body::empty()).unwrap()).await
    }

    /// The signing service's upload: `pdf` as the multipart field `uploadfile`, as the agent
    /// writes it. Status and the JSON answer.
    async fn upload(
        &self,
        path: &str,
        token: &str,
        pdf: &[u8],
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"quyet-dinh.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(pdf);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let mut req = Request::builder().method(Method::POST).uri(path).header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
        if !token.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let (status, bytes, _) =
            support::send(&self.router, req.body(Body::from(body)).unwrap()).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The document's page as `who` sees it.
    async fn page(&self, who: &Person, id: i64) -> String {
        let req = Request::builder()
            .uri(format!("/documents/{id}"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .body(Body::empty())
            .unwrap();
        let (status, page, _) = support::send(&self.router, req).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(page).unwrap()
    }

    async fn state(&self, who: &Person, id: i64) -> Value {
        self.call(Method::GET, &format!("/api/v1/documents/{id}"), who, None)
            .await
    }
}

/// The ticket's request as the page sends it to the service: the URLs made absolute.
fn as_sent(ticket: &Value) -> (String, String, String, String) {
    let r = &ticket["request"];
    let file = r["FileName"].as_str().unwrap().to_owned();
    let upload = r["FileUploadHandler"].as_str().unwrap().to_owned();
    let token = r["JWTToken"].as_str().unwrap().to_owned();
    let mut sent = r.clone();
    sent["FileName"] = json!(format!("http://kyso.test{file}"));
    sent["FileUploadHandler"] = json!(format!("http://kyso.test{upload}"));
    (file, upload, token, sent.to_string())
}

fn status1(answer: &Value, what: &str) -> String {
    assert_eq!(answer["Status"], 1, "{what}: {answer}");
    answer["Message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_signing_service_signs_with_a_one_time_ticket() {
    for b in backends() {
        let pki = pki();
        let app = App::new(b, &pki.director.chain[0]).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let drafter = app.person("chuyenvien", dost, "drafter").await;
        let reviewer = app.person("truongphong", dost, "reviewer").await;
        let checker = app.person("thethuc", dost, "format_checker").await;
        let signer = app.person("giamdoc", dost, "signer").await;
        let clerk = app.person("vanthu", dost, "clerk").await;
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
        let meta = json!({
            "doc_type": "quyet_dinh",
            "subject": "Về việc ban hành Quy chế văn thư",
            "place": "Demo",
            "signer": {"authority": "direct", "title": "Giám đốc", "name": "Nguyễn Văn An"},
            "recipients": [],
            "page_count": 1
        });
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let make = || async {
            let created = app
                .call(
                    Method::POST,
                    "/api/v1/documents",
                    &drafter,
                    Some(
                        json!({"agency_id": dost, "meta": meta, "file_name": "quyet-dinh.pdf",
                                "file_base64": b64(&draft())}),
                    ),
                )
                .await;
            let id = created["document"]["id"].as_i64().unwrap();
            app.step(&drafter, id, "submit").await;
            app.step(&reviewer, id, "forward").await;
            app.step(&checker, id, "check_format").await;
            id
        };
        let id = make().await;
        let other = make().await;

        // A draft printing another notation after the number's blank than the document's own
        // (the register gives QĐ-SKHCN) is refused at the format check, before a number is
        // reserved that could not be filled in.
        let wrong = draft_with_number_line("Số: ......../QĐ-UBND");
        let created = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(
                    json!({"agency_id": dost, "meta": meta, "file_name": "quyet-dinh.pdf",
                            "file_base64": b64(&wrong)}),
                ),
            )
            .await;
        let wrong_id = created["document"]["id"].as_i64().unwrap();
        app.step(&drafter, wrong_id, "submit").await;
        app.step(&reviewer, wrong_id, "forward").await;
        let (status, v, _) = support::call_json(
            &app.router,
            Method::POST,
            &format!("/api/v1/documents/{wrong_id}/actions"),
            &checker.token,
            Some(json!({ "action": "check_format" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let msg = v.to_string();
        assert!(
            msg.contains("/QĐ-UBND") && msg.contains("QĐ-SKHCN"),
            "{msg}"
        );
        assert_eq!(
            app.state(&checker, wrong_id).await["document"]["state"],
            "forwarded"
        );

        // Before approval nobody signs; the page shows no Sign button.
        let (status, body) = app
            .ticket(&signer, id, "sign_personal", Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        app.step(&signer, id, "approve").await;
        app.step(&signer, other, "approve").await;

        // The page: the button the browser test clicks, its status region, the script by
        // address (no inline script), the policy that lets it reach the service.
        let req = Request::builder()
            .uri(format!("/documents/{id}"))
            .header(header::COOKIE, format!("kyso_session={}", signer.token))
            .body(Body::empty())
            .unwrap();
        let (status, page, headers) = support::send(&app.router, req).await;
        let page = String::from_utf8(page).unwrap();
        assert_eq!(status, StatusCode::OK);
        for needle in [
            "class=\"primary sign-agent\"",
            "data-op=\"SignApproved\"",
            "data-action=\"sign_personal\"",
            "id=\"sign-status-sign_personal\" role=\"status\"",
            "id=\"kyso-agent-address\"",
            "<script src=\"/static/kyso-sign.js\" defer>",
            &format!("action=\"/documents/{id}/signed\""),
        ] {
            assert!(page.contains(needle), "{needle} not in the page");
        }
        assert!(!page.contains("<script>"), "an inline script");
        // No signature yet: no verification section.
        assert!(
            !page.contains("id=\"sig-check\""),
            "a section without signatures"
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("connect-src 'self' ws://127.0.0.1:*"),
            "{csp}"
        );
        let (status, js, headers) = app.download("/static/kyso-sign.js", "", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        let js = String::from_utf8(js).unwrap();
        assert!(js.contains("'kyso.agent'") && js.contains("sign-status-"));

        // The ticket: the session with its CSRF token, for the person whose step it is.
        let (status, _) = app.ticket(&signer, id, "sign_personal", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
        let (status, _) = app
            .ticket(&signer, id, "sign_personal", Some("gia-mao"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a forged CSRF token");
        let (status, _) = app
            .ticket(&drafter, id, "sign_personal", Some(&drafter.csrf))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the drafter");
        let (status, _) = app.ticket(&clerk, id, "org_sign", Some(&clerk.csrf)).await;
        assert_eq!(status, StatusCode::CONFLICT, "the seal before its time");
        let (status, body) = app.ticket(&signer, id, "approve", Some(&signer.csrf)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, ticket) = app
            .ticket(&signer, id, "sign_personal", Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignApproved");
        let (file, upload, token, sent) = as_sent(&ticket);
        // The formatted version (2), by the name the format step gave it.
        assert_eq!(
            file,
            format!("/sign-agent/documents/{id}/versions/2/the-thuc.pdf")
        );
        assert_eq!(token.split('.').count(), 3, "a JWT");
        assert!(!file.contains(&token) && !upload.contains(&token));
        // What the page sends is a request `kyso agent` accepts, with the ticket it carries.
        match parse_operation("SignApproved", &sent) {
            Ok(Operation::Sign(job)) => {
                assert_eq!(job.op, SignOp::Approved);
                assert_eq!(job.request.jwt_token.as_deref(), Some(token.as_str()));
                assert!(job.file_url.ends_with(&file));
            }
            other => panic!("{other:?}"),
        }

        // The download, refused without the ticket, with a forged one, from a page (Origin),
        // for another document or another version.
        let (status, body, _) = app.download(&file, "", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert!(status1(&answer, "no ticket").contains("Thiếu phiếu ký"));
        // One character of the signature changed (not the last, whose low bits are padding).
        let mut forged: Vec<char> = token.chars().collect();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        let (status, _, _) = app.download(&file, &forged, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "forged");
        let (status, _, _) = app
            .download(&file, &token, &[("origin", "https://evil.example")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a page");
        let other_file = file.replace(
            &format!("/documents/{id}/"),
            &format!("/documents/{other}/"),
        );
        let (status, _, _) = app.download(&other_file, &token, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another document");
        let (status, _, _) = app
            .download(&file.replace("/versions/2/", "/versions/1/"), &token, &[])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another version");
        let (status, formatted, headers) = app.download(&file, &token, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let (_, version2, _) = app
            .download(
                &format!("/api/v1/documents/{id}/file?seq=2"),
                &signer.token,
                &[],
            )
            .await;
        assert_eq!(formatted, version2, "the version to sign, byte for byte");

        // Expired: ten minutes on, the same ticket is refused, the page gets a new one.
        app.later.store(10 * 60, Ordering::SeqCst);
        let (status, body, _) = app.download(&file, &token, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert!(status1(&answer, "expired").contains("hết hạn"), "{answer}");
        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &pki.director,
            None,
        )
        .unwrap();
        let (status, answer) = app.upload(&upload, &token, &personal, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        app.later.store(0, Ordering::SeqCst);

        // A second ticket of the same step, kept for later.
        let (_, spare) = app
            .ticket(&signer, id, "sign_personal", Some(&signer.csrf))
            .await;
        let (_, _, spare_token, _) = as_sent(&spare);

        // A tampered file is refused in the protocol's words (HTTP 200, Status 1) and does not
        // cost the ticket; a page cannot post; the signed file is then accepted.
        let mut tampered = personal.clone();
        tampered[formatted.len() / 2] ^= 0x01;
        let (status, answer) = app.upload(&upload, &token, &tampered, &[]).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let message = status1(&answer, "tampered");
        assert!(message.contains("Tệp tải lên"), "{message}");
        let (status, answer) = app
            .upload(&upload, &token, &tampered, &[("accept-language", "en")])
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            status1(&answer, "tampered, English").contains("uploaded file"),
            "{answer}"
        );
        let (status, _) = app
            .upload(
                &upload,
                &token,
                &personal,
                &[("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, answer) = app
            .upload(
                &format!("/sign-agent/documents/{other}/signed"),
                &token,
                &personal,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another document: {answer}");
        assert_eq!(
            app.state(&signer, id).await["document"]["state"],
            "approved"
        );
        let (status, answer) = app.upload(&upload, &token, &personal, &[]).await;
        assert_eq!(
            (status, answer["Status"].clone()),
            (StatusCode::OK, json!(0)),
            "{answer}"
        );
        assert_eq!(
            answer["FileServer"],
            json!(format!("/documents/{id}/file?seq=3"))
        );
        let detail = app.state(&signer, id).await;
        assert_eq!(detail["document"]["state"], "personally_signed");
        let (_, stored, _) = app
            .download(
                &format!("/api/v1/documents/{id}/file?seq=3"),
                &signer.token,
                &[],
            )
            .await;
        assert_eq!(stored, personal);

        // The page's verification report (issue 17 item 10): the signer by name, the role,
        // intact, the path to the server's trusted root; revocation unknown offline.
        let page = app.page(&signer, id).await;
        let report = &page[page.find("id=\"sig-check\"").expect("the section")..];
        for needle in [
            "Kiểm tra chữ ký số",
            "Phiên bản 3</strong>",
            "Chữ ký số cá nhân 1: Nguyễn Văn An",
            "nguyên vẹn",
            "bao trùm toàn bộ tệp",
            "hợp lệ, đến được chứng thư gốc tin cậy — Browser Signing Test Root",
            "chưa xác định được: tệp không kèm thông tin thu hồi",
            "(chưa điền)",
        ] {
            assert!(report.contains(needle), "{needle} not in {report}");
        }
        assert!(
            !report.contains("CN="),
            "a distinguished name shown: {report}"
        );

        // Used: the same ticket again, and the spare one, whose step is done.
        let (status, answer) = app.upload(&upload, &token, &personal, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            status1(&answer, "reused").contains("đã được dùng"),
            "{answer}"
        );
        let (status, _, _) = app.download(&file, &spare_token, &[]).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "the spare ticket's step is done"
        );
        let (status, answer) = app.upload(&upload, &spare_token, &personal, &[]).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{status} {answer}"
        );
        status1(&answer, "the spare ticket");

        // The clerk's seal: the number and date reserved, in the request for the service.
        app.step(&clerk, id, "clerk_check").await;
        let (status, _) = app
            .ticket(&signer, id, "org_sign", Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "not numbered yet");
        app.step(&clerk, id, "number").await;
        let (status, _) = app
            .ticket(&signer, id, "org_sign", Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the signer is not the clerk");
        let (status, ticket) = app.ticket(&clerk, id, "org_sign", Some(&clerk.csrf)).await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignIssued");
        assert_eq!(ticket["request"]["DocNumber"], "01/QĐ-SKHCN");
        let date = time::Date::parse(
            app.state(&clerk, id).await["document"]["issued_date"]
                .as_str()
                .unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let (file, upload, token, sent) = as_sent(&ticket);
        match parse_operation("SignIssued", &sent) {
            Ok(Operation::Sign(job)) => {
                assert_eq!(job.op, SignOp::Issued);
                assert_eq!(job.doc_number.as_deref(), Some("01/QĐ-SKHCN"));
                assert_eq!(job.issued.map(|d| d.date()), Some(date));
            }
            other => panic!("{other:?}"),
        }
        let (status, personally_signed, _) = app.download(&file, &token, &[]).await;
        assert_eq!((status, &personally_signed), (StatusCode::OK, &personal));
        let seal = |number: &str| {
            let filled = numbering::fill_bytes(&personally_signed, number, date).unwrap();
            sign_bytes(
                &filled,
                &numbering::organization_signature(opts()),
                &pki.agency,
                None,
            )
            .unwrap()
        };
        let (status, answer) = app.upload(&upload, &token, &seal("02/QĐ-SKHCN"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            status1(&answer, "another number").contains("02/QĐ-SKHCN"),
            "{answer}"
        );
        let issued = seal("01/QĐ-SKHCN");
        let (status, answer) = app.upload(&upload, &token, &issued, &[]).await;
        assert_eq!(
            (status, answer["Status"].clone()),
            (StatusCode::OK, json!(0)),
            "{answer}"
        );
        let detail = app.state(&clerk, id).await;
        assert_eq!(detail["document"]["state"], "org_signed");
        assert_eq!(detail["document"]["number_and_notation"], "01/QĐ-SKHCN");

        // After the seal: both signatures of the issued version, the number and date it
        // carries, the personal signature's later changes allowed (form filling, the seal).
        let page = app.page(&clerk, id).await;
        let report = &page[page.find("id=\"sig-check\"").expect("the section")..];
        let issued_report = &report[..report.find("Phiên bản 3</strong>").expect("version 3")];
        for needle in [
            "Phiên bản 4</strong>",
            "Chữ ký số cá nhân 1: Nguyễn Văn An",
            "Chữ ký số của cơ quan, tổ chức 2: Sở Khoa học và Công nghệ",
            "<strong>01/QĐ-SKHCN</strong>",
            &format!("<strong>{}</strong>", numbering::date_text(date)),
            "đều là thay đổi được phép",
        ] {
            assert!(
                issued_report.contains(needle),
                "{needle} not in {issued_report}"
            );
        }
        assert!(
            !issued_report.contains("KHÔNG nguyên vẹn"),
            "{issued_report}"
        );
        // English on request.
        let req = Request::builder()
            .uri(format!("/documents/{id}?lang=en"))
            .header(header::COOKIE, format!("kyso_session={}", clerk.token))
            .body(Body::empty())
            .unwrap();
        let (_, en, _) = support::send(&app.router, req).await;
        let en = String::from_utf8(en).unwrap();
        assert!(en.contains("Signature verification") && en.contains("Organization seal 2"));

        // Audited: the tickets and the two steps, by their people.
        let rows: Vec<(String, String, String)> = kyso_store::sqlx::query_as(
            "SELECT action, actor, detail FROM audit_log WHERE object = $1 ORDER BY seq",
        )
        .bind(format!("document:{id}"))
        .fetch_all(s.pool())
        .await
        .unwrap();
        for (action, actor) in [
            ("document.signing_ticket", "giamdoc"),
            ("document.sign_personal", "giamdoc"),
            ("document.signing_ticket", "vanthu"),
            ("document.org_sign", "vanthu"),
        ] {
            assert!(
                rows.iter().any(|(a, who, _)| a == action && who == actor),
                "{action} by {actor} not audited: {rows:?}"
            );
        }
        // The ticket's id is recorded, never the token.
        assert!(!rows.iter().any(|(_, _, detail)| detail.contains(&token)));
        if b == Backend::Postgres {
            app.db.store.close().await;
        }
    }
}
