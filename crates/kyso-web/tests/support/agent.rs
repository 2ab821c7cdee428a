//! The signing service of the browser tests: a real `kyso agent` (kyso_services::agent on a
//! loopback port, with a test agency key behind its PIN prompt and a clerk at its terminal who
//! reads each request and types the PIN), driven over its WebSocket the way the page's script
//! drives it (`drive_agent`: a plain RFC 6455 client); what the page's script and a signing
//! service send the server (`app::App::sign_ticket`, `service_download`, `service_upload`); and
//! the server the agent downloads from and uploads to (`App`: the tests' `app::App` listening on
//! a loopback port, people with sessions). One driver for tests/attachment_signing.rs,
//! tests/copy_signing.rs, tests/browser_signing.rs and tests/large_uploads.rs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use kyso_i18n::{Lang, UserError};
use kyso_keys::Secret;
use kyso_services::agent::{self, AgentConfig, Confirmer, KeyOpener, SigningLevel};
use kyso_store::Backend;
use kyso_x509::Cert;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::app::Session;
use super::ca::TestCa;
use super::html::{multipart, Part};
use super::{TestSigner, NOW};

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
    let ca = TestCa::new(root);
    let (signer, pkcs8) =
        ca.issue_with_pkcs8("Sở Khoa học và Công nghệ", Some("Sở Khoa học và Công nghệ"));
    Pki {
        director: ca.issue("Nguyễn Văn An", None),
        agency: Key { signer, pkcs8 },
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

/// [`drive_agent`] from the test's runtime (on a blocking thread): the agent at `addr` signs
/// what the ticket's request `sent` names for the page at `origin`; its JSON answer.
pub async fn agent_signs(addr: SocketAddr, origin: &str, op: &str, sent: String) -> Value {
    let (origin, op) = (origin.to_owned(), op.to_owned());
    tokio::task::spawn_blocking(move || drive_agent(addr, &origin, &op, &sent))
        .await
        .unwrap()
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

/// The server the agent downloads from and uploads to: the tests' server (`app::App`, whose
/// helpers it derefs to) listening on a loopback port as well.
pub struct App {
    pub app: super::app::App,
    /// The server's address on a loopback port (the agent downloads and uploads there).
    pub base: String,
}

impl Deref for App {
    type Target = super::app::App;
    fn deref(&self) -> &super::app::App {
        &self.app
    }
}

/// A signed-in person (`app::Session`): the session token (a bearer token for the API, the
/// cookie for pages) and its CSRF token.
pub type Person = Session;

/// The boundary of the signing service's multipart uploads.
pub const BOUNDARY: &str = super::html::BOUNDARY;

impl App {
    pub async fn new(backend: Backend) -> App {
        let app = super::app::App::new(backend).await;
        let (addr, _) = app.listen().await;
        App {
            app,
            base: format!("http://{addr}"),
        }
    }

    pub async fn person(&self, name: &str, agency: i64, role: &str) -> Person {
        self.app.session(name, agency, role).await
    }

    pub async fn call_status(
        &self,
        method: Method,
        path: &str,
        who: &Person,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.app.call(method, path, &who.token, body).await
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
        self.app.sign_ticket(who, id, body, Some(&who.csrf)).await
    }

    /// A signing service's download with the ticket as a bearer token.
    pub async fn download(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let (status, body, _) = self.app.service_download(path, token, &[]).await;
        (status, body)
    }

    /// A signing service's upload: `pdf` as the multipart field `uploadfile`.
    pub async fn upload(&self, path: &str, token: &str, pdf: &[u8]) -> (StatusCode, Value) {
        self.app.service_upload(path, token, pdf, &[]).await
    }

    /// The document's page as `who` sees it.
    pub async fn page(&self, who: &Person, id: i64) -> String {
        self.app.document_page(who, id).await
    }
}

/// What the page's script and a signing service (`kyso agent`, the VGCA plug-in) send the
/// server: the ticket's request, the download and the upload with the ticket.
impl super::app::App {
    /// The page's request for a signing ticket (`POST /documents/{id}/sign-ticket`, `body` as
    /// JSON) with `who`'s session cookie and `csrf` as the script's `X-CSRF-Token` (none: no
    /// header): the status and the JSON answer.
    pub async fn sign_ticket(
        &self,
        who: &Session,
        id: i64,
        body: Value,
        csrf: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("/documents/{id}/sign-ticket"))
            .header(header::COOKIE, who.cookie())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        let req = req.body(Body::from(body.to_string())).unwrap();
        let (status, body, _) = super::send(&self.router, req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A signing service's download: `Authorization: Bearer token` (none when `token` is
    /// empty) and the `extra` headers. The status, the bytes and the headers.
    pub async fn service_download(
        &self,
        path: &str,
        token: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Vec<u8>, HeaderMap) {
        let mut req = Request::builder().uri(path);
        if !token.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        super::send(&self.router, req.body(Body::empty()).unwrap()).await
    }

    /// A signing service's upload, as the agent writes it: `pdf` as the multipart field
    /// `uploadfile`, `Authorization: Bearer token` (none when `token` is empty) and the
    /// `extra` headers. The status and the JSON answer (`Null` when not JSON).
    pub async fn service_upload(
        &self,
        path: &str,
        token: &str,
        pdf: &[u8],
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let body = multipart(&[Part::File(
            "uploadfile",
            "ky-so.pdf",
            "application/pdf",
            pdf,
        )]);
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
            super::send(&self.router, req.body(Body::from(body)).unwrap()).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The document's page (`/documents/{id}`) as `who` sees it, which must answer 200.
    pub async fn document_page(&self, who: &Session, id: i64) -> String {
        let (status, page) = self.page(who, &format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page
    }
}

pub fn b64(bytes: &[u8]) -> String {
    super::app::b64(bytes)
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

/// pyHanko's strict validation (scripts/oracles/pyhanko_validate.py) of `pdf` under the test
/// root `root`: `n` signatures, each intact, valid and trusted, the last covering the whole
/// file with a good bottom line. A listed skip when pyHanko is missing.
pub fn pyhanko_validates(pdf: &[u8], root: &Cert, n: usize) {
    use base64::Engine as _;
    if !kyso_testkit::need_python("pyhanko") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signed.pdf");
    std::fs::write(&file, pdf).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(root.der());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, pem).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/oracles/pyhanko_validate.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&root_file)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(report["error"], Value::Null, "{report:#}");
    assert_eq!(report["strict"], true, "{report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), n, "{report:#}");
    for sig in sigs {
        for key in ["intact", "valid", "trusted"] {
            assert_eq!(sig[key], true, "{key}: {report:#}");
        }
    }
    // The last one's bottom line; an earlier approval signature's may be pyHanko's refusal of
    // a visible signature added after a certification (stricter than Acrobat, see kyso-pades'
    // numbering tests), which kyso's own verifier is asked about separately.
    assert_eq!(sigs[n - 1]["bottom_line"], true, "{report:#}");
    assert_eq!(sigs[n - 1]["coverage"], "ENTIRE_FILE", "{report:#}");
}
