//! Verification for anyone (issue 18 item 6): the public page `/kiem-tra` and
//! `POST /api/v1/verify`, through the real router, without logging in. A PDF signed by pyHanko
//! (a listed skip without it) and one signed by kyso are reported with the signer's name, the
//! role, integrity, time, revocation and the ETSI indication; a tampered one fails with its
//! reason; an unsigned one and a non-PDF are said to be so; the API answers exactly the
//! `kyso.verify/1` document of `kyso verify --json`. Over the size cap: 413; over the rate per
//! client address: 429, both as pages in the site's layout (and `ErrorBody` in the API).
//! Nothing is stored: no blob, no audit entry, no document, on SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use kyso_web::{RateLimit, VerifyLimits};
use kyso_x509::Cert;
use serde_json::Value;
use time::OffsetDateTime;

mod support;
use support::{draft, opts, TestSigner};

/// The test root and its personal signer (Nguyễn Văn An), with the key as PEM for pyHanko.
struct Pki {
    root: Cert,
    root_pem: String,
    signer: TestSigner,
    signer_cert_pem: String,
    signer_key_pem: String,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Public Verify Test Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Nguyễn Văn An");
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    let c = p.signed_by(&key, &issuer).unwrap();
    let root = Cert::from_der(ca_cert.der()).unwrap();
    Pki {
        root: root.clone(),
        root_pem: ca_cert.pem(),
        signer: TestSigner {
            cert: Cert::from_der(c.der()).unwrap(),
            chain: vec![root],
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
                .unwrap(),
        },
        signer_cert_pem: c.pem(),
        signer_key_pem: key.serialize_pem(),
    }
}

/// The server's clock: the real time, because pyHanko signs at the real time (a signature
/// claimed after the validation time would be judged for that, not for what is tested here).
#[allow(clippy::disallowed_methods)]
fn real_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

struct App {
    router: Router,
    db: TestDb,
    blobs: tempfile::TempDir,
}

impl App {
    /// The server trusting `root`, with `burst` requests per client address (no refill within
    /// a test: one a minute).
    async fn new(backend: Backend, root: &Cert, burst: u32) -> App {
        App::with_cap(backend, root, burst, kyso_web::MAX_DOCUMENT_FILE).await
    }

    /// [`App::new`] checking files of at most `max_bytes` (`kyso serve --verify-max-mb`).
    async fn with_cap(backend: Backend, root: &Cert, burst: u32, max_bytes: usize) -> App {
        let db = TestDb::new(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(real_now),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(kyso_store::blobs::Blobs::open(blobs.path()).unwrap())
        .with_trust_anchors(kyso_x509::path::TrustStore::from_certs([root.clone()]))
        .with_verify_limits(
            VerifyLimits::new(RateLimit::new(burst, 1), 4, 2, Duration::from_secs(30))
                .with_max_bytes(max_bytes),
        );
        App {
            router: kyso_web::router(state),
            db,
            blobs,
        }
    }

    /// The page's form posted from `client` with `file` (its name and bytes): status, HTML,
    /// headers.
    async fn upload(
        &self,
        client: &str,
        name: &str,
        file: &[u8],
    ) -> (StatusCode, String, HeaderMap) {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
        let req = with_client(
            Request::builder()
                .method(Method::POST)
                .uri("/kiem-tra")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={B}"),
                )
                .body(Body::from(body))
                .unwrap(),
            client,
        );
        let (status, bytes, headers) = support::send(&self.router, req).await;
        (status, String::from_utf8(bytes).unwrap(), headers)
    }

    /// `POST /api/v1/verify` with the PDF as the body: status, JSON, headers.
    async fn api(&self, client: &str, file: &[u8]) -> (StatusCode, Value, HeaderMap) {
        let req = with_client(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/verify")
                .header(header::CONTENT_TYPE, "application/pdf")
                .body(Body::from(file.to_vec()))
                .unwrap(),
            client,
        );
        let (status, bytes, headers) = support::send(&self.router, req).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        )
    }

    /// What the server holds: blob files, audit entries.
    async fn stored(&self) -> (usize, usize) {
        let blobs = walk(self.blobs.path());
        let audit = kyso_store::audit::list(
            &self.db.store,
            &Actor::system(),
            &kyso_store::audit::Filter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len();
        (blobs, audit)
    }
}

const B: &str = "kyso-public-verify";

/// The request as if from `client`'s address (the TCP peer the server sees).
fn with_client(mut req: Request<Body>, client: &str) -> Request<Body> {
    let addr: SocketAddr = format!("{client}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// Files under `dir`, recursively.
fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The draft signed by pyHanko with the test signer's key (PAdES), or `None` (a listed skip)
/// without pyHanko.
fn pyhanko_signed(pki: &Pki, dir: &Path) -> Option<Vec<u8>> {
    if !kyso_testkit::need("pyhanko", &["--version"]) {
        return None;
    }
    let w = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let key = w("key.pem", pki.signer_key_pem.as_bytes());
    let cert = w("cert.pem", pki.signer_cert_pem.as_bytes());
    let root = w("root.pem", pki.root_pem.as_bytes());
    let input = w("in.pdf", &draft());
    let out = dir.join("py-signed.pdf");
    let ran = kyso_testkit::run(
        Command::new("pyhanko")
            .args([
                "sign",
                "addsig",
                "--field",
                "1/60,60,260,120/ChuKy1",
                "--use-pades",
            ])
            .args(["pemder", "--no-pass", "--key"])
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg("--chain")
            .arg(&root)
            .arg(&input)
            .arg(&out),
    );
    ran.ok_or_fail("pyhanko sign addsig")?;
    Some(std::fs::read(&out).unwrap())
}

/// `bytes` with one byte of the page's text changed inside the first signature's range.
fn tampered(bytes: &[u8]) -> Vec<u8> {
    let mut t = bytes.to_vec();
    let at = t
        .windows(9)
        .position(|w| w == b"/MediaBox")
        .expect("a /MediaBox");
    // "/MediaBox [0 0 595.28 841.89]": change a digit after the bracket.
    let digit = t[at..]
        .iter()
        .position(|b| b.is_ascii_digit() && *b != b'0')
        .unwrap()
        + at;
    t[digit] = if t[digit] == b'9' { b'8' } else { t[digit] + 1 };
    t
}

/// The main text of a page (tags removed, whitespace collapsed), for asserting sentences.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn anyone_checks_a_pyhanko_signed_a_kyso_signed_a_tampered_and_an_unsigned_pdf() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let kyso_signed = kyso_pades::sign_bytes(&draft(), &opts(), &pki.signer, None).unwrap();
    let py = pyhanko_signed(&pki, dir.path());
    for b in backends() {
        let app = App::new(b, &pki.root, 20).await;
        let before = app.stored().await;

        // The form, without logging in, in the site's layout, Vietnamese by default.
        let req = Request::builder()
            .uri("/kiem-tra")
            .body(Body::empty())
            .unwrap();
        let (status, page, _) = support::send(&app.router, req).await;
        assert_eq!(status, StatusCode::OK);
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("<html lang=\"vi\""), "{page}");
        assert!(page.contains("Kiểm tra văn bản điện tử có chữ ký số"));
        assert!(page.contains("enctype=\"multipart/form-data\""));
        assert!(page.contains("href=\"/login\""));
        // English on request.
        let req = Request::builder()
            .uri("/kiem-tra?lang=en")
            .body(Body::empty())
            .unwrap();
        let (_, page, _) = support::send(&app.router, req).await;
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("Check a digitally signed document"), "{page}");

        // Signed by kyso: the signer's name (not the DN), the role, intact, the claimed
        // time, revocation not established offline, the ETSI indication with its reason.
        let (status, html, _) = app
            .upload("203.0.113.7", "quyet-dinh.pdf", &kyso_signed)
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        assert!(t.contains("quyet-dinh.pdf"), "{t}");
        assert!(t.contains("Chữ ký số cá nhân 1: Nguyễn Văn An"), "{t}");
        assert!(!t.contains("CN=Nguyễn Văn An"), "{t}");
        assert!(t.contains("Toàn vẹn nguyên vẹn"), "{t}");
        assert!(t.contains("do người ký khai, chưa có dấu thời gian"), "{t}");
        assert!(t.contains("hợp lệ, đến được chứng thư gốc tin cậy"), "{t}");
        assert!(t.contains("Tình trạng thu hồi chưa xác định được"), "{t}");
        assert!(
            t.contains("INDETERMINATE") || t.contains("TOTAL_PASSED"),
            "{t}"
        );
        assert!(t.contains("không được lưu lại trên máy chủ"), "{t}");
        // The same validation as the API's, which is `kyso verify --json`'s document.
        let (status, v, _) = app.api("203.0.113.7", &kyso_signed).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["schema"], "kyso.verify/1");
        assert_eq!(v["online"], false);
        assert_eq!(v["signatures"][0]["signer"]["name"], "Nguyễn Văn An");
        assert_eq!(v["signatures"][0]["signer"]["role"], "personal");
        assert_eq!(v["signatures"][0]["intact"], true);
        let verdict = v["verdict"].as_str().unwrap();
        let word = match verdict {
            "valid" => "HỢP LỆ",
            "indeterminate" => "CHƯA XÁC ĐỊNH",
            other => panic!("kyso's own signature judged {other}: {v:#}"),
        };
        assert!(t.contains(&format!("Kết luận: {word}")), "{verdict}: {t}");
        // Not a false accusation: what could not be checked carries its reason.
        if verdict == "indeterminate" {
            let sig = &v["signatures"][0];
            assert_eq!(sig["etsi"]["indication"], "INDETERMINATE", "{sig:#}");
            assert!(!sig["reasons"].as_array().unwrap().is_empty(), "{sig:#}");
        }

        // A tampered copy: failed, with the reason first.
        let bad = tampered(&kyso_signed);
        let (status, html, _) = app.upload("203.0.113.7", "da-sua.pdf", &bad).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        assert!(t.contains("Kết luận: KHÔNG HỢP LỆ"), "{t}");
        assert!(t.contains("KHÔNG nguyên vẹn"), "{t}");
        assert!(t.contains("TOTAL_FAILED / HASH_FAILURE"), "{t}");
        let (_, v, _) = app.api("203.0.113.7", &bad).await;
        assert_eq!(v["verdict"], "invalid", "{v:#}");
        assert_eq!(v["signatures"][0]["etsi"]["sub_indication"], "HASH_FAILURE");

        // Signed by pyHanko: the same report; tampered: failed.
        if let Some(py) = &py {
            let (status, html, _) = app.upload("203.0.113.7", "py.pdf", py).await;
            assert_eq!(status, StatusCode::OK, "{html}");
            let t = text(&html);
            assert!(t.contains("Chữ ký số cá nhân 1: Nguyễn Văn An"), "{t}");
            assert!(t.contains("Toàn vẹn nguyên vẹn"), "{t}");
            assert!(!t.contains("Kết luận: KHÔNG HỢP LỆ"), "{t}");
            let (_, v, _) = app.api("203.0.113.7", py).await;
            assert_eq!(
                v["signatures"][0]["sub_filter"], "ETSI.CAdES.detached",
                "{v:#}"
            );
            assert_eq!(v["signatures"][0]["field"], "ChuKy1");
            assert_ne!(v["verdict"], "invalid", "{v:#}");
            let (status, html, _) = app.upload("203.0.113.7", "py-sua.pdf", &tampered(py)).await;
            assert_eq!(status, StatusCode::OK);
            let t = text(&html);
            assert!(t.contains("Kết luận: KHÔNG HỢP LỆ"), "{t}");
            assert!(t.contains("TOTAL_FAILED / HASH_FAILURE"), "{t}");
        }

        // Unsigned: said so, never "invalid".
        let (status, html, _) = app.upload("203.0.113.8", "chua-ky.pdf", &draft()).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        assert!(t.contains("Tệp chưa có chữ ký số."), "{t}");
        assert!(!t.contains("Kết luận: KHÔNG HỢP LỆ"), "{t}");
        let (_, v, _) = app.api("203.0.113.8", &draft()).await;
        assert_eq!(v["signatures"], serde_json::json!([]), "{v:#}");

        // Not a PDF: 422, the sentence of `kyso verify`, in the layout, the form again.
        let (status, html, _) = app.upload("203.0.113.8", "thu.txt", b"Kinh gui").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let t = text(&html);
        assert!(t.contains("tệp không phải là PDF"), "{t}");
        assert!(
            html.contains("<header") && html.contains("name=\"file\""),
            "{html}"
        );
        let (status, v, _) = app.api("203.0.113.8", b"Kinh gui").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["code"], "unreadable", "{v}");
        // No file chosen: 400 with the form.
        let (status, html, _) = app.upload("203.0.113.8", "", b"").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text(&html).contains("Chưa chọn tệp PDF cần kiểm tra."));
        // Neither a PDF nor a form: 415.
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/verify")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, _) = support::send(&app.router, req).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Nothing kept: no blob, no audit entry.
        assert_eq!(app.stored().await, before, "{b:?}");
    }
}

#[tokio::test]
async fn the_api_answers_exactly_what_kyso_verify_json_writes() {
    let pki = pki();
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &pki.signer, None).unwrap();
    let app = App::new(Backend::Sqlite, &pki.root, 20).await;
    // The form variant, with the file's name.
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cong-van.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&signed);
    body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/verify")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={B}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, bytes, _) = support::send(&app.router, req).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    // `kyso verify --json` is `report::to_json` of `kyso_pades::validate` offline, at the same
    // time, with the same anchor.
    let mut o = kyso_pades::validate::ValidateOptions::new(
        kyso_x509::path::TrustStore::from_certs([pki.root.clone()]),
        OffsetDateTime::parse(
            answer["validated_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap(),
    );
    o.at = None;
    let r = kyso_pades::validate::validate(Arc::new(kyso_pdf::MemSource::new(signed)), &o).unwrap();
    let expected = kyso_services::report::to_json(&r, "cong-van.pdf");
    assert_eq!(answer, expected);
}

#[tokio::test]
async fn over_the_cap_413_and_over_the_rate_429_as_pages_of_the_site() {
    let pki = pki();
    let app = App::new(Backend::Sqlite, &pki.root, 3).await;
    // Oversized: a page in the layout, in Vietnamese.
    let big = vec![b'%'; kyso_web::MAX_DOCUMENT_BODY + 1024];
    let (status, html, _) = app.upload("198.51.100.1", "lon.pdf", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        text(&html).contains("Tệp tải lên quá lớn (tối đa 64 MB)."),
        "{html}"
    );
    assert!(html.contains("<header"), "{html}");
    let (status, v, _) = app.api("198.51.100.2", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"]["code"], "too_large", "{v}");

    // The rate: 198.51.100.1 has used one of its three; two more, then 429.
    for _ in 0..2 {
        let (status, _, _) = app.upload("198.51.100.1", "a.pdf", &draft()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, html, headers) = app.upload("198.51.100.1", "a.pdf", &draft()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let t = text(&html);
    assert!(
        t.contains("Máy của bạn đã gửi quá nhiều tệp cần kiểm tra trong thời gian ngắn."),
        "{t}"
    );
    assert!(
        html.contains("<header") && html.contains("<html lang=\"vi\""),
        "{html}"
    );
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The API shares the bucket.
    let (status, v, headers) = app.api("198.51.100.1", &draft()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Another address has its own.
    let (status, _, _) = app.upload("198.51.100.3", "a.pdf", &draft()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused() {
    let pki = pki();
    let app = App::new(Backend::Sqlite, &pki.root, 20).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/kiem-tra")
        .header(header::HOST, "kyso.demo.invalid")
        .header("origin", "https://evil.example")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={B}"),
        )
        .body(Body::from(format!("--{B}--\r\n")))
        .unwrap();
    let (status, html, _) = support::send(&app.router, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8(html).unwrap().contains("<header"));
}

#[tokio::test]
async fn the_form_says_the_configured_cap_and_a_larger_file_is_refused_by_it() {
    let pki = pki();
    let app = App::with_cap(Backend::Sqlite, &pki.root, 3, 1024 * 1024).await;
    let req = with_client(
        Request::builder()
            .uri("/kiem-tra")
            .body(Body::empty())
            .unwrap(),
        "198.51.100.7",
    );
    let (status, bytes, _) = support::send(&app.router, req).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(bytes).unwrap();
    assert!(text(&html).contains("Tối đa 1,0 MB."), "{html}");
    assert!(!text(&html).contains("64 MB"), "{html}");

    // 2 MB: under the routes' body limit, over the configured cap — refused with the cap named,
    // and the form shown again says the same cap.
    let (status, html, _) = app
        .upload("198.51.100.7", "hai-mb.pdf", &vec![b'%'; 2 * 1024 * 1024])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text(&html).contains("Tối đa 1,0 MB."), "{html}");
    assert!(html.contains("<header"), "{html}");
}

/// Temporary files in the blob folder (where an upload streams while it is checked).
fn temporary(app: &App) -> usize {
    std::fs::read_dir(app.blobs.path().join(".tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Wait (10 s at most) until the blob folder holds `n` temporary files.
async fn temporary_becomes(app: &App, n: usize, what: &str) {
    for _ in 0..200 {
        if temporary(app) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {} temporary files, {n} expected", temporary(app));
}

/// A multipart body of the page's form holding `file` (named `name`).
fn form_body(name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn an_upload_streams_to_a_temporary_file_removed_on_every_way_out() {
    use tokio::io::AsyncWriteExt as _;
    let pki = pki();
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &pki.signer, None).unwrap();
    for b in backends() {
        let app = App::with_cap(b, &pki.root, 100, 1024 * 1024).await;
        // Checked: the report, and no file left.
        let (status, _, _) = app.upload("198.51.100.20", "a.pdf", &signed).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let (status, v, _) = app.api("198.51.100.20", &signed).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(temporary(&app), 0, "{b:?}: after the reports");
        // Refused while it streams past the cap (the page's form): 413, and no file left.
        let (status, _, _) = app
            .upload("198.51.100.21", "lon.pdf", &vec![b'%'; 1024 * 1024 + 1])
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(temporary(&app), 0, "{b:?}: after the refusals");

        // The client goes away in the middle of its upload, through a real socket: the part
        // received is on disk (not in memory) while it streams, and removed once it is gone.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = app.router.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                served.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let form = form_body("nua-chung.pdf", &vec![b'%'; 900 * 1024]);
        for (path, content_type, body) in [
            (
                "/api/v1/verify",
                "application/pdf".to_owned(),
                vec![b'%'; 900 * 1024],
            ),
            (
                "/kiem-tra",
                format!("multipart/form-data; boundary={B}"),
                form,
            ),
        ] {
            let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(&body[..body.len() / 2]).await.unwrap();
            socket.flush().await.unwrap();
            temporary_becomes(&app, 1, &format!("{path}: while it streams")).await;
            drop(socket);
            temporary_becomes(&app, 0, &format!("{path}: the client gone")).await;
        }
        // The API's body sent without a length (chunked), past the cap: 413 as it streams.
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /api/v1/verify HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/pdf\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..3 {
            let chunk = vec![b'%'; 512 * 1024];
            // The server may answer and stop reading before the last chunk.
            let _ = socket
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await;
            let _ = socket.write_all(&chunk).await;
            let _ = socket.write_all(b"\r\n").await;
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            use tokio::io::AsyncReadExt as _;
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        drop(socket);
        temporary_becomes(&app, 0, "chunked past the cap").await;
        server.abort();
        assert_eq!(app.stored().await.0, 0, "{b:?}: nothing stored");
    }
}
