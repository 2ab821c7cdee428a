//! Document files of realistic size (a signed Decree 30 document at B-LTA with scanned pages is
//! many megabytes), on SQLite and PostgreSQL: a 5 MB draft through the API and its 5 MB signed
//! file through each of the three routes that take one — the signing service's upload, the
//! document page's form and the API's action — all accepted; a body over the limit refused with
//! the limit named (413); a caller without a ticket, session or token refused before its big
//! body is read (over a real socket: the answer comes while most of the body is unsent).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::IntoFuture as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_pades::numbering;
use kyso_pades::sign_bytes;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use kyso_x509::Cert;
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, register_cert, TestSigner, NOW, PASSWORD};

/// The director's personal key under a test root.
struct Pki {
    director: TestSigner,
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
    }
}

struct App {
    router: Router,
    db: TestDb,
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
}

/// `pdf` made `extra` bytes larger by an incremental update adding one stream of random
/// (incompressible, like a scan) bytes: still a valid PDF, and the signature over a later
/// revision covers it.
fn padded(pdf: Vec<u8>, extra: usize) -> Vec<u8> {
    let tail = String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(4096)..]).into_owned();
    let size: u32 = tail
        .split("/Size ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap()
        .parse()
        .unwrap();
    let prev: u64 = tail
        .rsplit("startxref")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches("%%EOF")
        .trim()
        .parse()
        .unwrap();
    let root = tail.split("/Root ").nth(1).unwrap();
    let root = &root[..root.find(" R").unwrap() + 2];
    let mut noise = vec![0u8; extra];
    aws_lc_rs::rand::fill(&mut noise).unwrap();
    let mut out = pdf;
    out.push(b'\n');
    let at = out.len();
    out.extend_from_slice(format!("{size} 0 obj\n<< /Length {extra} >>\nstream\n").as_bytes());
    out.extend_from_slice(&noise);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f\r\n{size} 1\n{at:010} 00000 n\r\ntrailer\n<< /Size {} /Root {root} /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            size + 1
        )
        .as_bytes(),
    );
    out
}

/// A request over a real socket: the head, then `len` bytes of body written in 64 KiB chunks
/// by another task. The answer's status line and how many body bytes had been written when it
/// came.
async fn over_socket(addr: std::net::SocketAddr, head: String, len: usize) -> (String, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = written.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'0'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            wr.write_all(&chunk[..n]).await?;
            sent += n;
            count.store(sent, Ordering::SeqCst);
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = rd.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap()
            .to_owned()
    })
    .await
    .expect("no answer within 30 s");
    let at = written.load(Ordering::SeqCst);
    writer.abort();
    (status, at)
}

/// A multipart body: the text fields, then `pdf` as the file field `file_field`.
fn multipart(fields: &[(&str, &str)], file_field: &str, pdf: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"ky-so.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl App {
    /// The document page's signed-file form, as a browser posts it.
    async fn page_upload(&self, who: &Person, id: i64, pdf: &[u8]) -> (StatusCode, String) {
        let body = multipart(
            &[("csrf", &who.csrf), ("action", "sign_personal")],
            "file",
            pdf,
        );
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/documents/{id}/signed"))
            .header(header::COOKIE, format!("kyso_session={}", who.token))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        let (status, bytes, _) = support::send(&self.router, req).await;
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn api_sign(&self, who: &Person, id: i64, pdf: &[u8]) -> (StatusCode, Value) {
        let body = json!({
            "action": "sign_personal",
            "file_name": "ky-so.pdf",
            "file_base64": base64::engine::general_purpose::STANDARD.encode(pdf),
        });
        let (status, v, _) = support::call_json(
            &self.router,
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            &who.token,
            Some(body),
        )
        .await;
        (status, v)
    }

    async fn state(&self, who: &Person, id: i64) -> Value {
        self.call(Method::GET, &format!("/api/v1/documents/{id}"), who, None)
            .await["document"]["state"]
            .clone()
    }
}

const MB: usize = 1024 * 1024;

#[tokio::test]
async fn signed_documents_of_several_megabytes() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
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
        // A 5 MB draft, taken by the API (far above its ordinary JSON limit).
        let big = padded(draft(), 5 * MB);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&big);
        let make = || async {
            let created = app
                .call(
                    Method::POST,
                    "/api/v1/documents",
                    &drafter,
                    Some(
                        json!({"agency_id": dost, "meta": meta, "file_name": "quyet-dinh.pdf",
                                "file_base64": b64}),
                    ),
                )
                .await;
            let id = created["document"]["id"].as_i64().unwrap();
            app.step(&drafter, id, "submit").await;
            app.step(&reviewer, id, "forward").await;
            app.step(&checker, id, "check_format").await;
            app.step(&signer, id, "approve").await;
            id
        };
        let signed_of = |id: i64| {
            let app = &app;
            let signer = &signer;
            let pki = &pki;
            async move {
                let (status, formatted, _) = app
                    .download(
                        &format!("/api/v1/documents/{id}/file?seq=2"),
                        &signer.token,
                        &[],
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
                let personal = sign_bytes(
                    &formatted,
                    &numbering::personal_signature(opts()),
                    &pki.director,
                    None,
                )
                .unwrap();
                assert!(personal.len() > 5 * MB, "{}", personal.len());
                personal
            }
        };

        // The signing service's upload.
        let id = make().await;
        let personal = signed_of(id).await;
        let (status, ticket) = app
            .ticket(&signer, id, "sign_personal", Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        let upload = ticket["request"]["FileUploadHandler"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = ticket["request"]["JWTToken"].as_str().unwrap().to_owned();
        // Over the limit (a body of zeros past it): refused, the limit named, the ticket kept.
        let over = vec![b'0'; kyso_web::MAX_DOCUMENT_BODY + 1];
        let (status, answer) = app.upload(&upload, &token, &over, &[]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        let message = answer["Message"].as_str().unwrap();
        assert!(message.contains("quá lớn (tối đa 64 MB)"), "{message}");
        let (status, answer) = app.upload(&upload, &token, &personal, &[]).await;
        assert_eq!(
            (status, answer["Status"].clone()),
            (StatusCode::OK, json!(0)),
            "{answer}"
        );
        assert_eq!(app.state(&signer, id).await, "personally_signed");

        // The document page's form.
        let id = make().await;
        let personal = signed_of(id).await;
        let (status, page) = app.page_upload(&signer, id, &over).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(page.contains("quá lớn (tối đa 64 MB)"), "{page}");
        assert_eq!(app.state(&signer, id).await, "approved");
        let (status, page) = app.page_upload(&signer, id, &personal).await;
        assert!(
            status.is_success() || status.is_redirection(),
            "{status} {page}"
        );
        assert_eq!(app.state(&signer, id).await, "personally_signed");

        // The API's action.
        let id = make().await;
        let personal = signed_of(id).await;
        let (status, body, _) = support::send(
            &app.router,
            support::api_request(
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                &signer.token,
                Some((
                    "application/json",
                    format!(
                        "{{\"action\":\"sign_personal\",\"file_base64\":\"{}\"}}",
                        "A".repeat(kyso_web::MAX_DOCUMENT_JSON)
                    ),
                )),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert!(answer.to_string().contains("quá lớn"), "{answer}");
        let (status, answer) = app.api_sign(&signer, id, &personal).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(app.state(&signer, id).await, "personally_signed");
        drop(over);

        // Without a ticket, session or token, over a real socket: refused while most of a
        // body at the limit is still unsent.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(axum::serve(listener, app.router.clone()).into_future());
        let len = kyso_web::MAX_DOCUMENT_BODY;
        let id = make().await;
        for (path, expected) in [
            (format!("/sign-agent/documents/{id}/signed"), "401"),
            (format!("/documents/{id}/signed"), "303"),
            (format!("/api/v1/documents/{id}/actions"), "401"),
        ] {
            let content_type = if path.starts_with("/api/") {
                "application/json".to_owned()
            } else {
                format!("multipart/form-data; boundary={BOUNDARY}")
            };
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: kyso.test\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\r\n"
            );
            let (status, written) = over_socket(addr, head, len).await;
            assert!(status.contains(expected), "{path}: {status}");
            assert!(
                written < len / 2,
                "{path}: {written} of {len} bytes sent first"
            );
        }
        server.abort();
        assert_eq!(app.state(&signer, id).await, "approved");
    }
}
