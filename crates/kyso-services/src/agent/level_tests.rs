//! The agent signing at B-T and B-LT: a demo PKI whose TSA and OCSP responder run here
//! (`crate::pki`, the services `kyso pki serve` runs), a document server that hands out a PDF
//! and takes the upload, and the agent's own operation handler (download, confirm, sign at the
//! configured level, upload — the WebSocket around it is tested end to end in
//! `crates/kyso/tests/cli/agent.rs`). kyso's verifier judges the uploaded file: at B-T the
//! signature timestamp proves the signing time (valid online, revocation unknown offline); at
//! B-LT the revocation status comes from the DSS the agent embedded, with the PKI services
//! stopped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_ltv::fetch::{FetchOptions, HttpFetcher};
use kyso_ltv::revocation::{Origin, Status};
use kyso_ltv::tsp::HttpTsa;
use kyso_pades::ltv::Level;
use kyso_pades::validate::{validate, ValidateOptions, Verdict};
use kyso_x509::path::TrustStore;
use serde_json::json;
use time::OffsetDateTime;

use super::*;

const ORIGIN: &str = "https://vanban.tinhdemo.gov.vn";
const PASSWORD: &str = "agent-level-test";

/// The test plays the binary, which reads the clock and passes it in.
#[allow(clippy::disallowed_methods)]
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A listener on a free local port, and its port.
fn listener() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn serve(rt: &tokio::runtime::Runtime, l: std::net::TcpListener, router: Router) {
    rt.spawn(async move {
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        axum::serve(l, router).await.unwrap();
    });
}

/// The demo PKI in `dir`, its certificates naming `http://127.0.0.1:{port}` for OCSP, CRLs
/// and caIssuers.
fn demo_pki(dir: &Path, port: u16) {
    let mut opts = kyso_pki::demo::InitOptions::new(Secret::new(PASSWORD.into()), now());
    opts.base_url = format!("http://127.0.0.1:{port}");
    kyso_pki::demo::init(dir, &opts).unwrap();
}

/// The personal PKCS#12 key of the demo PKI, opened with what the user typed.
struct P12 {
    data: Vec<u8>,
    chain: Vec<kyso_x509::Cert>,
}

impl KeyOpener for P12 {
    fn describe(&self) -> String {
        "personal.p12".into()
    }
    fn open(&self, secret: &Secret, _now: OffsetDateTime) -> Result<Box<dyn Signer>, UserError> {
        let s = Pkcs12Signer::from_pkcs12(&self.data, secret).map_err(|e| ue!("{}", e; "{}", e))?;
        Ok(kyso_ltv::chain::with_chain(Box::new(s), &self.chain))
    }
}

/// The official types the password at once.
struct Types(&'static str);

impl Confirmer for Types {
    fn confirm(&self, _request: &str, _prompt: &str) -> Option<Secret> {
        Some(Secret::new(self.0.into()))
    }
}

/// The document server: `GET /doc` hands out `pdf`, `POST /upload` keeps the multipart
/// field `uploadfile`.
fn document_server(pdf: Vec<u8>, uploaded: Arc<Mutex<Option<Vec<u8>>>>) -> Router {
    Router::new()
        .route("/doc", get(move || async move { pdf.clone() }))
        .route(
            "/upload",
            post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let ct = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let boundary = ct.split("boundary=").nth(1).unwrap().to_owned();
                    let start = find(&body, b"\r\n\r\n").unwrap() + 4;
                    let end = find(&body, format!("\r\n--{boundary}--").as_bytes()).unwrap();
                    *uploaded.lock().unwrap() = Some(body[start..end].to_vec());
                    axum::Json(json!({"Status": 0, "FileName": "signed.pdf", "FileServer": "test"}))
                },
            ),
        )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What the agent uploaded, with the PKI services still running (dropping `services` stops
/// them).
struct Signed {
    pdf: Vec<u8>,
    trust: TrustStore,
    fetcher: Arc<dyn kyso_ltv::fetch::Fetch>,
    services: tokio::runtime::Runtime,
}

/// Sign `one-page.pdf` through the agent at `level`.
fn sign_through_the_agent(level: Level) -> Signed {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (pki_listener, pki_port) = listener();
    let dir = tmp.path().join("pki");
    demo_pki(&dir, pki_port);
    let services = crate::pki::PkiServices::load(&dir, &Secret::new(PASSWORD.into()), now).unwrap();
    serve(&rt, pki_listener, crate::pki::router(Arc::new(services)));

    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/corpus/one-page.pdf"
    ))
    .unwrap();
    let uploaded = Arc::new(Mutex::new(None));
    let (doc_listener, doc_port) = listener();
    serve(&rt, doc_listener, document_server(pdf, uploaded.clone()));

    let data = std::fs::read(dir.join("personal.p12")).unwrap();
    let signer = Pkcs12Signer::from_pkcs12(&data, &Secret::new(PASSWORD.into())).unwrap();
    let cert = signer.certificate().clone();
    let trust = TrustStore::from_pem_files(&[dir.join("root.pem")]).unwrap();
    // The chain up to the root, as the binary completes it at start.
    let chain =
        kyso_x509::Cert::from_pem_chain(&std::fs::read(dir.join("chain.pem")).unwrap()).unwrap();
    let fetcher: Arc<dyn kyso_ltv::fetch::Fetch> =
        Arc::new(HttpFetcher::new(FetchOptions::default()));
    let tsa = HttpTsa::new(fetcher.clone(), format!("http://127.0.0.1:{pki_port}/tsa"));
    let signing = SigningLevel {
        level,
        tsa: Some(Arc::new(tsa)),
        fetcher: Some(fetcher.clone()),
    };
    signing.check().unwrap();
    let trust_for_agent = trust.clone();
    let agent = Agent::new(AgentConfig {
        key: Arc::new(P12 {
            data,
            chain: chain.clone(),
        }),
        cert,
        chain,
        origins: vec![ORIGIN.into()],
        signature_image: None,
        anchor: None,
        seal_image: None,
        trust: Arc::new(move || Ok(trust_for_agent.clone())),
        rate_per_minute: 60,
        fetch_timeout: Duration::from_secs(10),
        confirmer: Box::new(Types(PASSWORD)),
        lang: Lang::En,
        now,
        log: None,
        level: signing,
    });
    assert_eq!(agent.level(), level);
    let base = format!("http://127.0.0.1:{doc_port}");
    let request = json!({
        "FileName": format!("{base}/doc"),
        "FileUploadHandler": format!("{base}/upload"),
    })
    .to_string();
    let reply = signing::operation(&agent, "SignPDF", ORIGIN, &request);
    assert_eq!(reply["Status"], json!(0), "{reply}");
    let pdf = uploaded.lock().unwrap().take().expect("nothing uploaded");
    Signed {
        pdf,
        trust,
        fetcher,
        services: rt,
    }
}

/// Validate `pdf` against `trust` (online with `fetcher`); the one signature's validation.
fn validate_one(
    pdf: Vec<u8>,
    trust: TrustStore,
    fetcher: Option<Arc<dyn kyso_ltv::fetch::Fetch>>,
) -> kyso_pades::validate::SignatureValidation {
    let mut opts = ValidateOptions::new(trust, now());
    opts.fetcher = fetcher;
    let report = validate(Arc::new(kyso_pdf::MemSource::new(pdf)), &opts).unwrap();
    let sigs: Vec<_> = report
        .signatures
        .into_iter()
        .filter(|s| s.kind == kyso_pades::verify::SignatureKind::Signature)
        .collect();
    assert_eq!(sigs.len(), 1);
    sigs.into_iter().next().unwrap()
}

fn has_dss(pdf: &[u8]) -> bool {
    let doc = kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    !kyso_pades::dss::read_dss(&doc).unwrap().certs.is_empty()
}

#[test]
fn the_agent_signs_at_b_t_with_a_signature_timestamp() {
    let s = sign_through_the_agent(Level::BT);
    assert!(!has_dss(&s.pdf), "B-T carries no DSS");
    // Online (the TSA's and the signer's revocation status fetched): valid, the signing time
    // proven by the TSA's token.
    let sig = validate_one(s.pdf.clone(), s.trust.clone(), Some(s.fetcher.clone()));
    assert!(sig.intact, "{:?}", sig.integrity_problems);
    let ts = sig.timestamp.as_ref().expect("no signature timestamp");
    assert_eq!(ts.status, "valid", "{ts:?}");
    assert!(sig.time_proven);
    assert_eq!(sig.verdict, Verdict::Valid, "{:?}", sig.reasons);
    // Offline, B-T alone cannot tell the revocation status.
    drop(s.services);
    let sig = validate_one(s.pdf, s.trust, None);
    assert_eq!(sig.revocation.status, "unknown");
    assert_ne!(sig.verdict, Verdict::Valid);
}

#[test]
fn the_agent_signs_at_b_lt_and_the_result_validates_offline() {
    let s = sign_through_the_agent(Level::BLt);
    assert!(has_dss(&s.pdf), "B-LT carries a DSS");
    // The PKI services stop: what follows is offline.
    drop(s.services);
    let sig = validate_one(s.pdf, s.trust, None);
    assert!(sig.intact, "{:?}", sig.integrity_problems);
    assert!(sig.time_proven && sig.timestamp.as_ref().is_some_and(|t| t.status == "valid"));
    // Every certificate's status from the DSS the agent embedded.
    assert_eq!(sig.revocation.status, "good", "{:?}", sig.revocation);
    assert!(!sig.revocation.certs.is_empty());
    for c in &sig.revocation.certs {
        assert_eq!(c.outcome.status, Status::Good);
        assert_eq!(c.outcome.origin, Some(Origin::Embedded), "{}", c.subject);
    }
    assert_eq!(sig.verdict, Verdict::Valid, "{:?}", sig.reasons);
}

#[test]
fn a_level_without_its_services_is_refused_at_start() {
    let mut l = SigningLevel {
        level: Level::BT,
        ..SigningLevel::default()
    };
    assert!(l.check().is_err());
    assert!(SigningLevel::default().check().is_ok());
    assert_eq!(SigningLevel::default().level, Level::BB);
    l.tsa = Some(Arc::new(HttpTsa::new(
        Arc::new(HttpFetcher::new(FetchOptions::default())),
        "http://127.0.0.1:9/tsa",
    )));
    assert!(l.check().is_ok());
    l.level = Level::BLt;
    assert!(l.check().is_err(), "B-LT needs a fetcher");
}
