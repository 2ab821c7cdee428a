//! The signing service of the browser tests: a real `kyso agent` (kyso_services::agent on a
//! loopback port, with a test agency key behind its PIN prompt and a clerk at its terminal who
//! reads each request and types the PIN), driven over its WebSocket the way the page's script
//! drives it (`drive_agent`: a plain RFC 6455 client), and the server the agent downloads from
//! and uploads to (`App`: kyso-web's router on a loopback port, people with sessions, the page's
//! ticket request, a signing service's download and upload with a ticket). One driver for
//! tests/attachment_signing.rs and tests/copy_signing.rs.

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
use kyso_services::agent::{self, AgentConfig, Confirmer, KeyOpener, SigningLevel};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::TestDb;
use kyso_store::{Actor, Backend};
use kyso_x509::Cert;
use serde_json::{json, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{TestSigner, NOW, PASSWORD};

/// The PIN the test's clerk types at the agent.
pub const PIN: &str = "246810";

/// A key of the test root: its signer, and its PKCS#8 for the agent to open per signature.
pub struct Key {
    pub signer: TestSigner,
    pub pkcs8: Vec<u8>,
}

/// The director (personal) and the agency's seal (organization: CN = O), one test root.
pub struct Pki {
    pub director: TestSigner,
    pub agency: Key,
}

/// The director and the agency's seal under a new test root named `root`.
pub fn pki(root: &str) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name.push(DnType::CommonName, root);
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
pub struct AgencyKey {
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
pub struct Clerk(pub Arc<Mutex<Vec<String>>>);

impl Confirmer for Clerk {
    fn confirm(&self, request: &str, _prompt: &str) -> Option<Secret> {
        self.0.lock().unwrap().push(request.to_owned());
        Some(Secret::new(PIN.into()))
    }
}

pub fn agent_now() -> OffsetDateTime {
    NOW
}

/// `kyso agent` on a loopback port for the page at `origin`: its address and what it showed.
pub async fn start_agent(key: &Key, origin: &str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
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
pub fn drive_agent(addr: SocketAddr, origin: &str, op: &str, request: &str) -> Value {
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

pub struct App {
    pub router: Router,
    pub db: TestDb,
    /// The server's address on a loopback port (the agent downloads and uploads there).
    pub base: String,
    _blobs: tempfile::TempDir,
}

/// A logged-in person: the session token (a bearer token for the API, the cookie for pages)
/// and its CSRF token.
pub struct Person {
    pub token: String,
    pub csrf: String,
}

pub const BOUNDARY: &str = "kyso-agent-boundary";

impl App {
    pub async fn new(backend: Backend) -> App {
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

    pub async fn person(&self, name: &str, agency: i64, role: &str) -> Person {
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

    pub async fn call_status(
        &self,
        method: Method,
        path: &str,
        who: &Person,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, v, _) = super::call_json(&self.router, method, path, &who.token, body).await;
        (status, v)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: &Person,
        body: Option<Value>,
    ) -> Value {
        let (status, v) = self.call_status(method, path, who, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    pub async fn step(&self, who: &Person, id: i64, body: Value) -> Value {
        self.call(
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            who,
            Some(body),
        )
        .await
    }

    /// The page's request for a ticket (the session cookie and its CSRF token).
    pub async fn ticket(&self, who: &Person, id: i64, body: Value) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/documents/{id}/sign-ticket"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", &who.csrf)
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, body, _) = super::send(&self.router, req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A signing service's download with the ticket as a bearer token.
    pub async fn download(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = super::send(&self.router, req).await;
        (status, body)
    }

    /// A signing service's upload: `pdf` as the multipart field `uploadfile`.
    pub async fn upload(&self, path: &str, token: &str, pdf: &[u8]) -> (StatusCode, Value) {
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
        let (status, bytes, _) = super::send(&self.router, req).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The document's page as `who` sees it.
    pub async fn page(&self, who: &Person, id: i64) -> String {
        let req = Request::builder()
            .uri(format!("/documents/{id}"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .body(Body::empty())
            .unwrap();
        let (status, page, _) = super::send(&self.router, req).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(page).unwrap()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The ticket's request as the page's script sends it: the URLs made absolute.
pub fn as_sent(base: &str, ticket: &Value) -> (String, String, String, String) {
    let r = &ticket["request"];
    let file = r["FileName"].as_str().unwrap().to_owned();
    let upload = r["FileUploadHandler"].as_str().unwrap().to_owned();
    let token = r["JWTToken"].as_str().unwrap().to_owned();
    let mut sent = r.clone();
    sent["FileName"] = json!(format!("{base}{file}"));
    sent["FileUploadHandler"] = json!(format!("{base}{upload}"));
    (file, upload, token, sent.to_string())
}

pub fn status1(answer: &Value, what: &str) -> String {
    assert_eq!(answer["Status"], 1, "{what}: {answer}");
    answer["Message"].as_str().unwrap_or_default().to_owned()
}

/// The text of the signature stamp of `pdf`'s last signature.
pub fn stamp_text(pdf: &[u8]) -> Vec<String> {
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
