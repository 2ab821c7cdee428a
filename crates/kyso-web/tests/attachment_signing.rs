//! The clerk signs an issued document's attachments in one click (issue 17 items 3 and 7), on
//! SQLite and on PostgreSQL: the page lists each attachment's title as a link to its latest
//! file and warns while the metadata's attachments and the uploaded files differ; its "Ký số"
//! button asks a one-time ticket for one attachment (VGCA `SignAppendix`), and a real
//! `kyso agent` (kyso_services::agent on a loopback port, driven over its WebSocket the way the
//! page's script drives it, with the agency's key behind its PIN prompt) downloads the
//! attachment with the ticket, signs it with the Decree 30 attachment stamp carrying the
//! document's number and uploads it; the server runs the manual upload's check on it.
//! Refusals: a ticket for someone without the clerk's duty, an appendix ticket without an
//! attachment, a ticket used again, an appendix ticket on the document's routes or on another
//! attachment's, a forged ticket naming another person, a stamp carrying another number (over
//! the ticket — the ticket survives it — and through the API); the dispatch waits for both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_i18n::{Lang, UserError};
use kyso_keys::Secret;
use kyso_pades::forms::{widget_builder, VisibleForm};
use kyso_pades::numbering;
use kyso_pades::sign_bytes;
use kyso_pdf::compose::{Align, Composer, Margins, Style};
use kyso_services::agent::{self, AgentConfig, Confirmer, KeyOpener, SigningLevel};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use kyso_x509::Cert;
use serde_json::{json, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, register_cert, TestSigner, NOW, PASSWORD};

/// The PIN the test's clerk types at the agent.
const PIN: &str = "246810";

/// A key of the test root: its signer, and its PKCS#8 for the agent to open per signature.
struct Key {
    signer: TestSigner,
    pkcs8: Vec<u8>,
}

/// The director (personal) and the agency's seal (organization: CN = O), one test root.
struct Pki {
    director: TestSigner,
    agency: Key,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Attachment Signing Test Root");
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
        let pkcs8 = key.serialize_der();
        Key {
            signer: TestSigner {
                cert: Cert::from_der(c.der()).unwrap(),
                chain: vec![Cert::from_der(ca_cert.der()).unwrap()],
                key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8).unwrap(),
            },
            pkcs8,
        }
    };
    Pki {
        director: make("Nguyễn Văn An", None).signer,
        agency: make("Sở Khoa học và Công nghệ", Some("Sở Khoa học và Công nghệ")),
    }
}

/// The agency's key as the agent opens it: only with the right PIN, for one signature.
struct AgencyKey {
    cert: Cert,
    chain: Vec<Cert>,
    pkcs8: Vec<u8>,
}

impl KeyOpener for AgencyKey {
    fn describe(&self) -> String {
        "the agency's test key".into()
    }
    fn open(
        &self,
        secret: &Secret,
        _now: OffsetDateTime,
    ) -> Result<Box<dyn kyso_cms::Signer>, UserError> {
        if secret.expose() != PIN {
            return Err(kyso_i18n::ue!("sai mã PIN"; "wrong PIN"));
        }
        Ok(Box::new(TestSigner {
            cert: self.cert.clone(),
            chain: self.chain.clone(),
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.pkcs8).unwrap(),
        }))
    }
}

/// The clerk at the agent's terminal: reads each request shown and types the PIN.
struct Clerk(Arc<Mutex<Vec<String>>>);

impl Confirmer for Clerk {
    fn confirm(&self, request: &str, _prompt: &str) -> Option<Secret> {
        self.0.lock().unwrap().push(request.to_owned());
        Some(Secret::new(PIN.into()))
    }
}

fn agent_now() -> OffsetDateTime {
    NOW
}

/// `kyso agent` on a loopback port for the page at `origin`: its address and what it showed.
async fn start_agent(key: &Key, origin: &str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let agent = agent::Agent::new(AgentConfig {
        key: Arc::new(AgencyKey {
            cert: key.signer.cert.clone(),
            chain: key.signer.chain.clone(),
            pkcs8: key.pkcs8.clone(),
        }),
        cert: key.signer.cert.clone(),
        chain: key.signer.chain.clone(),
        origins: vec![agent::normalize_origin(origin).unwrap()],
        signature_image: None,
        anchor: None,
        seal_image: None,
        trust: Arc::new(|| Ok(kyso_x509::path::TrustStore::from_certs([]))),
        rate_per_minute: 600,
        fetch_timeout: Duration::from_secs(30),
        confirmer: Box::new(Clerk(shown.clone())),
        lang: Lang::Vi,
        now: agent_now,
        log: None,
        level: SigningLevel::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = agent::router(Arc::new(agent));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, shown)
}

/// What the page's script does with a ticket: one WebSocket to the agent at
/// `ws://addr/<operation>` with the request (its URLs made absolute), one JSON answer. A plain
/// RFC 6455 client (one masked text frame out, the first text frame back).
fn drive_agent(addr: SocketAddr, origin: &str, op: &str, request: &str) -> Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "GET /{op} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Origin: {origin}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 101 "), "the agent refused: {status}");
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    let payload = request.as_bytes();
    let mask = [0x5a, 0x17, 0xc3, 0x88];
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).unwrap();
    loop {
        let mut head = [0u8; 2];
        reader.read_exact(&mut head).unwrap();
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                reader.read_exact(&mut b).unwrap();
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                reader.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut body = vec![0u8; usize::try_from(len).unwrap()];
        reader.read_exact(&mut body).unwrap();
        match head[0] & 0x0f {
            0x1 => return serde_json::from_slice(&body).unwrap(),
            0x8 => panic!("the agent closed the connection without an answer"),
            _ => {}
        }
    }
}

struct App {
    router: Router,
    db: TestDb,
    /// The server's address on a loopback port (the agent downloads and uploads there).
    base: String,
    _blobs: tempfile::TempDir,
}

/// A logged-in person: the session token (a bearer token for the API, the cookie for pages)
/// and its CSRF token.
struct Person {
    token: String,
    csrf: String,
}

const BOUNDARY: &str = "kyso-agent-boundary";

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
        let router = kyso_web::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = router.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                served.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        App {
            router,
            db,
            base,
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

    async fn call_status(
        &self,
        method: Method,
        path: &str,
        who: &Person,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, v, _) = support::call_json(&self.router, method, path, &who.token, body).await;
        (status, v)
    }

    async fn call(&self, method: Method, path: &str, who: &Person, body: Option<Value>) -> Value {
        let (status, v) = self.call_status(method, path, who, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn step(&self, who: &Person, id: i64, body: Value) -> Value {
        self.call(
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            who,
            Some(body),
        )
        .await
    }

    /// The page's request for a ticket (the session cookie and its CSRF token).
    async fn ticket(&self, who: &Person, id: i64, body: Value) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/documents/{id}/sign-ticket"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", &who.csrf)
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, body, _) = support::send(&self.router, req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A signing service's download with the ticket as a bearer token.
    async fn download(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = support::send(&self.router, req).await;
        (status, body)
    }

    /// A signing service's upload: `pdf` as the multipart field `uploadfile`.
    async fn upload(&self, path: &str, token: &str, pdf: &[u8]) -> (StatusCode, Value) {
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"phu-luc.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(pdf);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        let (status, bytes, _) = support::send(&self.router, req).await;
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

/// The ticket's request as the page's script sends it: the URLs made absolute.
fn as_sent(base: &str, ticket: &Value) -> (String, String, String, String) {
    let r = &ticket["request"];
    let file = r["FileName"].as_str().unwrap().to_owned();
    let upload = r["FileUploadHandler"].as_str().unwrap().to_owned();
    let token = r["JWTToken"].as_str().unwrap().to_owned();
    let mut sent = r.clone();
    sent["FileName"] = json!(format!("{base}{file}"));
    sent["FileUploadHandler"] = json!(format!("{base}{upload}"));
    (file, upload, token, sent.to_string())
}

fn status1(answer: &Value, what: &str) -> String {
    assert_eq!(answer["Status"], 1, "{what}: {answer}");
    answer["Message"].as_str().unwrap_or_default().to_owned()
}

/// The text of the signature stamp of `pdf`'s last signature.
fn stamp_text(pdf: &[u8]) -> Vec<String> {
    let doc = kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    let last = kyso_pades::verify::embedded_signatures(&doc)
        .unwrap()
        .pop()
        .unwrap();
    kyso_pades::stamp::stamp_lines(&doc, &last.field_name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_clerks_agent_signs_each_attachment_with_a_one_time_ticket() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let drafter = app.person("chuyenvien", dost, "drafter").await;
        let reviewer = app.person("truongphong", dost, "reviewer").await;
        let checker = app.person("thethuc", dost, "format_checker").await;
        let signer = app.person("giamdoc", dost, "signer").await;
        let clerk = app.person("vanthu", dost, "clerk").await;
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
        register_cert(s, dost, "organization", "Sở KH&CN", "", &pki.agency.signer).await;
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
        let created = app
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
        let id = created["document"]["id"].as_i64().unwrap();
        let base = format!("/api/v1/documents/{id}/attachments");

        // The metadata lists two attachments: until both files are there, the page says so.
        let (one, two) = (annex("Danh sách đơn vị"), annex("Biểu mẫu"));
        let first = app
            .call(
                Method::POST,
                &base,
                &drafter,
                Some(
                    json!({"title": "Danh sách đơn vị", "file_name": "danh-sach.pdf",
                            "file_base64": b64(&one)}),
                ),
            )
            .await;
        let page = app.page(&drafter, id).await;
        assert!(page.contains("id=\"attachments-mismatch\""), "{page}");
        assert!(page.contains("chưa có tệp: Biểu mẫu"), "{page}");
        let second = app
            .call(
                Method::POST,
                &base,
                &drafter,
                Some(json!({"title": "biểu  mẫu", "file_name": "bieu-mau.pdf",
                            "file_base64": b64(&two)})),
            )
            .await;
        let ids = [
            first["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap(),
        ];
        let page = app.page(&drafter, id).await;
        assert!(
            !page.contains("attachments-mismatch"),
            "titles match: {page}"
        );
        // Each title is a link to its latest file.
        assert!(
            page.contains(&format!(
                "<a href=\"/documents/{id}/attachments/{}/file?seq=1\" title=\"Tải về bản mới nhất\">Danh sách đơn vị</a>",
                ids[0]
            )),
            "{page}"
        );

        // The flow up to the organization signature, with real signatures.
        app.step(&drafter, id, json!({"action": "submit"})).await;
        app.step(&reviewer, id, json!({"action": "forward"})).await;
        app.step(&checker, id, json!({"action": "check_format"}))
            .await;
        app.step(&signer, id, json!({"action": "approve"})).await;
        let (_, formatted, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file"),
                &signer.token,
                None,
            ),
        )
        .await;
        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &pki.director,
            None,
        )
        .unwrap();
        app.step(
            &signer,
            id,
            json!({"action": "sign_personal", "file_base64": b64(&personal)}),
        )
        .await;
        app.step(&clerk, id, json!({"action": "clerk_check"})).await;
        let out = app.step(&clerk, id, json!({"action": "number"})).await;
        let number = out["number_and_notation"].as_str().unwrap().to_owned();
        let day = time::Date::parse(
            out["document"]["issued_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        // Before the organization signature no attachment ticket is given.
        let (status, body) = app
            .ticket(
                &clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let filled = numbering::fill_bytes(&personal, &number, day).unwrap();
        let issued = sign_bytes(
            &filled,
            &numbering::organization_signature(opts()),
            &pki.agency.signer,
            None,
        )
        .unwrap();
        app.step(
            &clerk,
            id,
            json!({"action": "org_sign", "file_base64": b64(&issued)}),
        )
        .await;

        // The clerk's page: one "Ký số" button per unsigned attachment, the script.
        let page = app.page(&clerk, id).await;
        for a in ids {
            assert!(
                page.contains(&format!("data-attachment=\"{a}\"")),
                "button of {a}: {page}"
            );
        }
        assert!(page.contains("data-op=\"SignAppendix\""));
        assert!(page.contains("src=\"/static/kyso-sign.js\""));
        // Not for the signer; not without naming the attachment.
        let (status, _) = app
            .ticket(
                &signer,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = app
            .ticket(&clerk, id, json!({"action": "sign_appendix"}))
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("attachment_id")),
            "{body}"
        );

        // The ticket for attachment 1, as the page hands it to the agent.
        let (status, ticket) = app
            .ticket(
                &clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignAppendix");
        assert_eq!(ticket["request"]["DocNumber"], json!(number));
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        // The ticket is for this attachment only: not the document's routes, not the other
        // attachment's.
        let (status, _) = app
            .download(
                &format!("/sign-agent/documents/{id}/versions/3/van-ban.pdf"),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the document's download");
        let (status, answer) = app
            .upload(
                &format!("/sign-agent/documents/{id}/signed"),
                &token,
                &issued,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(status1(&answer, "document upload").contains("phụ lục"));
        let other = format!("/sign-agent/documents/{id}/attachments/{}/signed", ids[1]);
        assert_ne!(other, upload);
        let (status, answer) = app.upload(&other, &token, &two).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(status1(&answer, "other attachment").contains("phụ lục khác"));
        // A token naming another person (the clerk's claims rewritten) is not the server's.
        let parts: Vec<&str> = token.split('.').collect();
        let b64u = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64u.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("1");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64u.encode(claims.to_string()),
            parts[2]
        );
        let (status, _) = app.download(&file, &forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The real agent: downloads with the ticket, asks the PIN, stamps, uploads.
        let (agent_addr, shown) = start_agent(&pki.agency, &app.base).await;
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignAppendix", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], json!(number));
        let asked = shown.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(
            asked[0].contains("Ký phụ lục") && asked[0].contains(&number),
            "{asked:?}"
        );
        let list = app.call(Method::GET, &base, &clerk, None).await;
        assert_eq!(list[0]["signed"], json!(true), "{list}");
        assert_eq!(list[0]["versions"][1]["kind"], "org_signed");
        let (_, signed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("{base}/{}/file", ids[0]),
                &clerk.token,
                None,
            ),
        )
        .await;
        assert!(
            signed.starts_with(&one),
            "the attachment kept byte for byte"
        );
        assert_eq!(stamp_text(&signed)[0], number, "the stamp shows the number");
        // The ticket is spent.
        let (status, answer) = app.upload(&upload, &token, &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        let (status, _) = app.download(&file, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Attachment 2: a stamp with another number is refused, over the ticket (which
        // survives it) and through the API.
        let (_, ticket) = app
            .ticket(
                &clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[1]}),
            )
            .await;
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        let (status, got) = app.download(&file, &token).await;
        assert_eq!((status, got.as_slice()), (StatusCode::OK, two.as_slice()));
        let o = opts();
        let wrong = sign_bytes(
            &two,
            &o,
            &pki.agency.signer,
            Some(
                widget_builder(
                    VisibleForm::Attachment {
                        doc_number: "02/QĐ-SKHCN".into(),
                    },
                    o.signing_time,
                )
                .unwrap(),
            ),
        )
        .unwrap();
        assert_ne!(number, "02/QĐ-SKHCN");
        let (status, answer) = app.upload(&upload, &token, &wrong).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let message = status1(&answer, "another number");
        assert!(
            message.contains(&number) && message.contains("02/QĐ-SKHCN"),
            "{message}"
        );
        let (status, body) = app
            .call_status(
                Method::POST,
                &format!("{base}/{}/signed", ids[1]),
                &clerk,
                Some(json!({"file_base64": b64(&wrong)})),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
            "{body}"
        );
        // Nothing is dispatched while attachment 2 is unsigned.
        app.step(&clerk, id, json!({"action": "register"})).await;
        let (status, body) = app
            .call_status(
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                &clerk,
                Some(json!({"action": "dispatch"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        // The same ticket, given back after the refusal, through the agent.
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignAppendix", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{answer}");
        let list = app.call(Method::GET, &base, &clerk, None).await;
        assert_eq!(list[1]["signed"], json!(true), "{list}");
        // Where the script goes on Status 0: the page with its success message.
        let req = Request::builder()
            .uri(format!("/documents/{id}?done=attachment_sign"))
            .header(header::COOKIE, format!("kyso_session={}", clerk.token))
            .body(Body::empty())
            .unwrap();
        let (_, page, _) = support::send(&app.router, req).await;
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.contains("Máy chủ đã kiểm tra và nhận phụ lục đã ký số cơ quan."),
            "{page}"
        );
        assert!(!page.contains("data-attachment="), "nothing left to sign");
        app.step(&clerk, id, json!({"action": "dispatch"})).await;
    }
}
