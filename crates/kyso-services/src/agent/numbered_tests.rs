//! `kyso agent` on kyso's own numbered documents (issue 17 items 3 and 4): a Decree 30 draft
//! with the number and date fields placed at the format step, signed by the leader's agent
//! (SignApproved) and then numbered, dated and sealed by the clerk's agent (SignIssued with
//! DocNumber and IssuedDate), through a real local document server. Each upload passes the
//! server's own check (`kyso_pades::upload::check_upload`, with the expectation
//! `kyso-web` builds), kyso's validation reads the number and date back, and pyHanko (strict),
//! when installed, accepts the final file. A SignIssued that would leave the document without
//! its number is refused before the user is asked and nothing is uploaded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use kyso_cms::Signer;
use kyso_i18n::{ue, Lang, UserError};
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_pades::numbering::{self, FlowSignature};
use kyso_pades::upload::{check_upload, ExpectedSignature, Step};
use kyso_pades::validate::{validate, ValidateOptions};
use kyso_pdf::compose::{Align, Block, Composer, Margins, Style};
use kyso_x509::path::TrustStore;
use kyso_x509::Cert;
use serde_json::{json, Value};
use time::macros::date;
use time::OffsetDateTime;

use super::super::confirm::Confirmer;
use super::super::{Agent, AgentConfig, KeyOpener, SigningLevel};
use super::operation;

const ORIGIN: &str = "https://vanban.tinhdemo.gov.vn";
const PASSWORD: &str = "agent-numbering-test";
const NUMBER: &str = "15/QĐ-SKHCN";

/// The test plays the binary, which reads the clock and passes it in.
#[allow(clippy::disallowed_methods)]
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A Decree 30 draft awaiting its number and date.
fn draft() -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let agency = Block::new()
        .text("UBND TỈNH HỒNG LAM", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4).unwrap();
    c.spacer(2.0);
    c.columns(
        ("Số: ......../QĐ-SKHCN", &center(13.0)),
        (
            "Hồng Lam, ngày ...... tháng ...... năm 2026",
            &center(13.0).italic(),
        ),
        0.4,
    )
    .unwrap();
    c.spacer(6.0);
    c.paragraph("QUYẾT ĐỊNH", &center(14.0).bold()).unwrap();
    c.paragraph(
        "Về việc ban hành quy chế sử dụng chữ ký số chuyên dùng công vụ",
        &Style::new(14.0),
    )
    .unwrap();
    c.spacer(10.0);
    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold())
        .text("- Như trên;", &Style::new(11.0))
        .text("- Lưu: VT.", &Style::new(11.0));
    let signer = Block::new()
        .text("GIÁM ĐỐC", &center(14.0).bold())
        .space(30.0)
        .text("Trần Minh Quân", &center(14.0).bold());
    c.columns_of(&recipients, &signer, 0.45).unwrap();
    c.finish(&Default::default()).unwrap()
}

/// A PKCS#12 key of the demo PKI, opened with what the user typed.
struct P12 {
    data: Vec<u8>,
    chain: Vec<Cert>,
}

impl KeyOpener for P12 {
    fn describe(&self) -> String {
        "demo.p12".into()
    }
    fn open(&self, secret: &Secret, _now: OffsetDateTime) -> Result<Box<dyn Signer>, UserError> {
        let s = Pkcs12Signer::from_pkcs12(&self.data, secret).map_err(|e| ue!("{}", e; "{}", e))?;
        Ok(kyso_ltv::chain::with_chain(Box::new(s), &self.chain))
    }
}

/// The user types the password at once; how many times the agent asked is counted.
struct Types(Arc<Mutex<usize>>);

impl Confirmer for Types {
    fn confirm(&self, _request: &str, _prompt: &str) -> Option<Secret> {
        *self.0.lock().unwrap() += 1;
        Some(Secret::new(PASSWORD.into()))
    }
}

/// The document server: `GET /doc` hands out the current version, `POST /upload` keeps the
/// multipart field `uploadfile` as the last upload.
#[derive(Clone, Default)]
struct DocServer {
    current: Arc<Mutex<Vec<u8>>>,
    uploaded: Arc<Mutex<Option<Vec<u8>>>>,
}

impl DocServer {
    fn router(&self) -> Router {
        let current = self.current.clone();
        let uploaded = self.uploaded.clone();
        Router::new()
            .route(
                "/doc",
                get(move || async move { current.lock().unwrap().clone() }),
            )
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
                        axum::Json(json!({"Status": 0, "FileName": "signed.pdf"}))
                    },
                ),
            )
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An agent holding `name.p12` of the demo PKI in `dir` (B-B, the agent's default level).
fn agent(dir: &Path, name: &str, asked: Arc<Mutex<usize>>, personal: bool) -> (Agent, Cert) {
    let data = std::fs::read(dir.join(format!("{name}.p12"))).unwrap();
    let signer = Pkcs12Signer::from_pkcs12(&data, &Secret::new(PASSWORD.into())).unwrap();
    let cert = signer.certificate().clone();
    let chain = Cert::from_pem_chain(&std::fs::read(dir.join("chain.pem")).unwrap()).unwrap();
    let trust = TrustStore::from_pem_files(&[dir.join("root.pem")]).unwrap();
    let agent = Agent::new(AgentConfig {
        key: Arc::new(P12 {
            data,
            chain: chain.clone(),
        }),
        cert: cert.clone(),
        chain,
        origins: vec![ORIGIN.into()],
        // The leader's visible signature under the title line, the clerk's seal.
        signature_image: personal.then(|| kyso_pki::images::signature_png().unwrap()),
        anchor: personal.then(|| "GIÁM ĐỐC".to_owned()),
        seal_image: (!personal).then(|| kyso_pki::images::seal_png().unwrap()),
        trust: Arc::new(move || Ok(trust.clone())),
        rate_per_minute: 60,
        fetch_timeout: Duration::from_secs(10),
        confirmer: Box::new(Types(asked)),
        lang: Lang::En,
        now,
        log: None,
        level: SigningLevel::default(),
    });
    (agent, cert)
}

/// One signing request for the document server at `base`.
fn request(base: &str, extra: &[(&str, &str)]) -> String {
    let mut r = json!({
        "FileName": format!("{base}/doc"),
        "FileUploadHandler": format!("{base}/upload"),
        "JWTToken": "page-token",
    });
    for (k, v) in extra {
        r[*k] = json!(v);
    }
    r.to_string()
}

/// pyHanko's strict validation (`scripts/oracles/pyhanko_validate.py`) of `pdf`, `root` the
/// only anchor; `None` when pyHanko is not installed.
fn pyhanko(dir: &Path, pdf: &[u8]) -> Option<Value> {
    if !kyso_testkit::need_python("pyhanko") {
        return None;
    }
    let file = dir.join("issued.pdf");
    std::fs::write(&file, pdf).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/oracles/pyhanko_validate.py"
    );
    let out = kyso_testkit::run(
        Command::new("python3")
            .arg(script)
            .arg(dir.join("root.pem"))
            .arg(&file),
    )
    .ok_or_fail("pyHanko validation")?;
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn the_agent_signs_numbers_and_seals_a_numbered_document_the_server_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let opts = kyso_pki::demo::InitOptions::new(Secret::new(PASSWORD.into()), now());
    kyso_pki::demo::init(&dir, &opts).unwrap();

    let (formatted, places) = numbering::place_fields_bytes(&draft()).unwrap();
    assert!(places.number.from_text && places.date.from_text);
    let server = DocServer::default();
    *server.current.lock().unwrap() = formatted.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let router = server.router();
    rt.spawn(async move {
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        axum::serve(l, router).await.unwrap();
    });

    // SignApproved by the leader: the fields stay empty and fillable.
    let asked = Arc::new(Mutex::new(0));
    let (leader, leader_cert) = agent(&dir, "personal", asked.clone(), true);
    let reply = operation(&leader, "SignApproved", ORIGIN, &request(&base, &[]));
    assert_eq!(reply["Status"], json!(0), "{reply}");
    let signed = server
        .uploaded
        .lock()
        .unwrap()
        .take()
        .expect("nothing uploaded");
    // The server's expectation for the personal step (kyso-web's `check_signed`).
    let ok = check_upload(
        &formatted,
        &signed,
        &ExpectedSignature::new(vec![leader_cert.clone()], Step::Personal),
    )
    .unwrap();
    assert_eq!(ok.signer.der(), leader_cert.der());
    assert_eq!(
        ok.certified, None,
        "an approval signature (visible seal to come)"
    );
    let n = ok.numbering.unwrap();
    assert_eq!((n.number, n.date), (None, None));
    *server.current.lock().unwrap() = signed.clone();

    // SignIssued without a number on the numbered document: refused before the user is asked,
    // nothing uploaded (the protocol refuses it already; the agent's own check, on a job made
    // without one, follows).
    let asked_clerk = Arc::new(Mutex::new(0));
    let (clerk, org_cert) = agent(&dir, "organization", asked_clerk.clone(), false);
    let reply = operation(
        &clerk,
        "SignIssued",
        ORIGIN,
        &request(&base, &[("IssuedDate", "2026-12-06T08:00:00+07:00")]),
    );
    assert_eq!(reply["Status"], json!(1), "{reply}");
    assert!(reply["Message"].as_str().unwrap().contains("DocNumber"));
    assert_eq!(*asked_clerk.lock().unwrap(), 0);
    assert!(server.uploaded.lock().unwrap().is_none());

    // SignIssued with the number and the date (VGCA's ISO 8601 with the local offset: late
    // evening on 6 December in Hà Nội is already 6 December there, not the UTC day).
    let reply = operation(
        &clerk,
        "SignIssued",
        ORIGIN,
        &request(
            &base,
            &[
                ("DocNumber", NUMBER),
                ("IssuedDate", "2026-12-06T23:30:00+07:00"),
            ],
        ),
    );
    assert_eq!(reply["Status"], json!(0), "{reply}");
    assert_eq!(reply["DocumentNumber"], json!(NUMBER));
    assert_eq!(*asked_clerk.lock().unwrap(), 1);
    let issued = server
        .uploaded
        .lock()
        .unwrap()
        .take()
        .expect("nothing uploaded");
    // The server's expectation for the seal: the register's number and date, the agency's
    // organization certificate.
    let ok = check_upload(
        &signed,
        &issued,
        &ExpectedSignature::new(
            vec![org_cert.clone()],
            Step::Seal {
                number: Some(NUMBER.into()),
                date: Some(date!(2026 - 12 - 06)),
            },
        ),
    )
    .unwrap();
    assert_eq!(ok.revisions_added, 2, "the fill and the signature");
    assert!(ok.changes.contains(&"FORM_FILLING"), "{:?}", ok.changes);
    // Another date than the register's is refused by the same check.
    let wrong_day = ExpectedSignature::new(
        vec![org_cert],
        Step::Seal {
            number: Some(NUMBER.into()),
            date: Some(date!(2026 - 12 - 07)),
        },
    );
    assert!(check_upload(&signed, &issued, &wrong_day).is_err());

    // kyso's validation shows the number and date; both signatures intact.
    let trust = TrustStore::from_pem_files(&[dir.join("root.pem")]).unwrap();
    let report = validate(
        Arc::new(kyso_pdf::MemSource::new(issued.clone())),
        &ValidateOptions::new(trust, now()),
    )
    .unwrap();
    let n = report.numbering.clone().unwrap();
    assert_eq!(n.number.as_deref(), Some(NUMBER));
    assert_eq!(n.date, Some(date!(2026 - 12 - 06)));
    assert_eq!(n.date_text.as_deref(), Some("ngày 06 tháng 12 năm 2026"));
    assert_eq!(report.signatures.len(), 2);
    assert!(report.signatures.iter().all(|s| s.intact), "{report:?}");
    // A second SignIssued on the issued document is refused (already numbered).
    *server.current.lock().unwrap() = issued.clone();
    let reply = operation(
        &clerk,
        "SignIssued",
        ORIGIN,
        &request(
            &base,
            &[
                ("DocNumber", "16/QĐ-SKHCN"),
                ("IssuedDate", "2026-12-07T08:00:00+07:00"),
            ],
        ),
    );
    assert_eq!(reply["Status"], json!(1), "{reply}");
    assert!(server.uploaded.lock().unwrap().is_none());

    // pyHanko (strict) accepts both signatures, the fill judged form filling.
    std::fs::copy(dir.join("root.pem"), tmp.path().join("root.pem")).unwrap();
    if let Some(v) = pyhanko(tmp.path(), &issued) {
        assert_eq!(v["strict"], json!(true), "{v}");
        let sigs = v["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2, "{v}");
        for s in sigs {
            for k in ["intact", "valid", "trusted", "bottom_line"] {
                assert_eq!(s[k], json!(true), "{k}: {v}");
            }
        }
        assert_eq!(sigs[0]["modification_level"], json!("FORM_FILLING"), "{v}");
        assert_eq!(sigs[1]["coverage"], json!("ENTIRE_FILE"), "{v}");
    }
}

#[test]
fn an_issuing_job_without_its_number_or_date_is_refused_on_a_numbered_document() {
    let (formatted, _) = numbering::place_fields_bytes(&draft()).unwrap();
    let doc = kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(formatted)),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    let job = |op, number: Option<&str>, issued: Option<OffsetDateTime>| super::SignJob {
        op,
        upload_to: "http://h/u".into(),
        file_url: "http://h/d".into(),
        doc_number: number.map(str::to_owned),
        issued,
        request: Default::default(),
    };
    use super::super::protocol::SignOp;
    let at = time::macros::datetime!(2026-03-01 23:00 +07:00);
    let plan = |op, n, d| super::numbering_plan(&job(op, n, d), &doc);
    assert_eq!(
        plan(SignOp::Approved, None, None).unwrap(),
        Some(FlowSignature::Personal)
    );
    assert_eq!(
        plan(SignOp::Issued, Some(" 7/UBND "), Some(at)).unwrap(),
        Some(FlowSignature::Seal {
            number: "7/UBND".into(),
            date: date!(2026 - 03 - 01),
        })
    );
    let e = plan(SignOp::Issued, None, Some(at)).unwrap_err();
    assert!(
        e.vi.contains("DocNumber") && e.en.contains("without its number"),
        "{e:?}"
    );
    let e = plan(SignOp::Issued, Some("7/UBND"), None).unwrap_err();
    assert!(e.vi.contains("IssuedDate"), "{e:?}");
    let long = "9".repeat(numbering::MAX_NUMBER_CHARS + 1);
    assert!(plan(SignOp::Issued, Some(&long), Some(at)).is_err());
    assert!(plan(SignOp::Issued, Some("7/\u{7}UBND"), Some(at)).is_err());
    // Other operations, and documents without the fields, are signed as before.
    assert_eq!(plan(SignOp::Appendix, Some("7/UBND"), None).unwrap(), None);
    let plain = kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(draft())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    assert_eq!(
        super::numbering_plan(&job(SignOp::Issued, None, None), &plain).unwrap(),
        None
    );
}
