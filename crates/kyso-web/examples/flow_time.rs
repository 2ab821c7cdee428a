//! The server's time for the whole flow of one 1-page document (issue 17, "Speed";
//! `scripts/bench-documents.sh`, BENCHMARKS.md), and the share of each step.
//!
//! ```text
//! cargo run --release -p kyso-web --example flow_time -- --database-url URL --blobs DIR \
//!     [--rounds 30]
//! ```
//!
//! Every request goes through `kyso_web::router` in-process (`tower::ServiceExt::oneshot`: the
//! routes, authentication by API token, JSON and base64, `documents::draft_pdf` /
//! `documents::take_step`, the store, the blob folder — all but the TCP socket), one document
//! after the other, `--rounds` documents: upload of a Decree 30 decision composed by kyso-pdf,
//! submit, forward, the format check (format check and the number/date fields placed), approve,
//! the signer's agent downloading the formatted file, the personally signed upload (checked by
//! `kyso_pades::upload::check_upload`), the clerk's check, number, the clerk's agent downloading
//! the signed file, the sealed upload (checked the same way, with the reserved number and date),
//! register and dispatch.
//!
//! The two signatures are made in this process between the requests, as `kyso agent` makes them
//! on the official's computer: `kyso_pades::sign_bytes` with `numbering::personal_signature`,
//! then `numbering::fill_bytes` + `numbering::organization_signature` (ECDSA P-256 keys of a test
//! CA whose certificates are in the registry). Their time is reported beside, not in the
//! server's total.
//!
//! The PDF checks inside three of the requests are also timed alone, in the same run on the
//! same bytes (`format_check::check` + `numbering::place_fields_bytes`; `check_upload` personal;
//! `check_upload` seal), to split those requests into the PDF work and the rest (store, blob
//! file, authentication, JSON/base64).
//!
//! Output: `STEP name=… p50=… p90=…` per request and part (milliseconds, over the rounds),
//! `TOTAL server_p50=… server_p90=… sign_p50=…`.

// `serde_json::Value` indexed by key never panics (a missing key reads as null).
#![allow(clippy::indexing_slicing)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer};
use kyso_pades::numbering;
use kyso_pades::upload::{self, ExpectedSignature, Step};
use kyso_pades::{sign_bytes, SignOptions};
use kyso_pdf::compose::{Align, Block, Composer, Margins, Style};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{self, AgencyInput, SubscriberInput};
use kyso_store::{Actor, Store};
use kyso_x509::Cert;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tower::ServiceExt as _;
use zeroize::Zeroizing;

type Error = Box<dyn std::error::Error + Send + Sync>;

const PASSWORD: &str = "mat-khau-dai-12345-Ab";

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The `p`-th percentile of `v` (nearest rank).
fn pct(v: &[f64], p: usize) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let rank = (p * v.len()).div_ceil(100).clamp(1, v.len());
    v.get(rank - 1).copied().unwrap_or(0.0)
}

/// A key and its certificate from the test CA (software ECDSA P-256).
struct TestSigner {
    cert: Cert,
    chain: Vec<Cert>,
    key: EcdsaKeyPair,
}

impl std::fmt::Debug for TestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestSigner")
    }
}

impl Signer for TestSigner {
    fn certificate(&self) -> &Cert {
        &self.cert
    }
    fn chain(&self) -> &[Cert] {
        &self.chain
    }
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)
    }
    fn sign(&self, r: &SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
        self.key
            .sign(&SystemRandom::new(), r.message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| kyso_cms::Error::SigningFailed("ECDSA signing failed".into()))
    }
}

/// The director (personal) and the agency's seal (organization), issued by one test root.
fn pki() -> Result<(TestSigner, TestSigner), Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(vec![])?;
    ca.distinguished_name
        .push(DnType::CommonName, "Documents Bench Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let make = |cn: &str, org: Option<&str>| -> Result<TestSigner, Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(vec![])?;
        p.distinguished_name.push(DnType::CommonName, cn);
        if let Some(o) = org {
            p.distinguished_name.push(DnType::OrganizationName, o);
        }
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        // Within Decree 68's five years, as the registry requires.
        #[allow(clippy::disallowed_methods)] // an example program reads the clock
        let today = time::OffsetDateTime::now_utc();
        p.not_before = today - time::Duration::days(1);
        p.not_after = today + time::Duration::days(730);
        let c = p.signed_by(&key, &issuer)?;
        Ok(TestSigner {
            cert: Cert::from_der(c.der())?,
            chain: vec![Cert::from_der(ca_cert.der())?],
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
                .map_err(|_| "key")?,
        })
    };
    Ok((
        make("Nguyễn Văn An", None)?,
        make("Sở Khoa học và Công nghệ", Some("Sở Khoa học và Công nghệ"))?,
    ))
}

/// A one-page Decree 30 decision awaiting its number and date, as kyso-pdf's composer writes it.
fn draft() -> Result<Vec<u8>, Error> {
    let mut c = Composer::a4(Margins::decree30())?;
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let agency = Block::new()
        .text("UBND TỈNH THỬ", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4)?;
    c.spacer(2.0);
    c.columns(
        ("Số: ......../QĐ-SKHCN", &center(13.0)),
        (
            "Thử, ngày ...... tháng ...... năm 2026",
            &center(13.0).italic(),
        ),
        0.4,
    )?;
    c.spacer(6.0);
    c.paragraph("QUYẾT ĐỊNH", &center(14.0).bold())?;
    c.paragraph(
        "Về việc ban hành Quy chế sử dụng chữ ký số chuyên dùng công vụ",
        &center(14.0).bold(),
    )?;
    c.spacer(6.0);
    for i in 1..=6 {
        c.paragraph(
            &format!(
                "Điều {i}. Cơ quan, đơn vị, cá nhân có liên quan chịu trách nhiệm thi hành Quyết \
                 định này kể từ ngày ký; văn bản điện tử được ký số có giá trị pháp lý như văn \
                 bản giấy theo quy định của pháp luật."
            ),
            &Style::new(14.0).spacing(1.15),
        )?;
    }
    c.spacer(10.0);
    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold())
        .text("- Như Điều 6;", &Style::new(11.0))
        .text("- Lưu: VT.", &Style::new(11.0));
    let signer = Block::new()
        .text("KT. GIÁM ĐỐC", &center(14.0).bold())
        .text("PHÓ GIÁM ĐỐC", &center(14.0).bold())
        .space(30.0)
        .text("Nguyễn Văn An", &center(14.0).bold());
    c.columns_of(&recipients, &signer, 0.45)?;
    Ok(c.finish(&Default::default())?)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One request through the router: status and body bytes.
async fn send(
    router: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<(StatusCode, Vec<u8>), Error> {
    let mut req = Request::builder().method(method).uri(path);
    if !token.is_empty() {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))?,
        None => req.body(Body::empty())?,
    };
    let res = router.clone().oneshot(req).await?;
    let status = res.status();
    Ok((status, res.into_body().collect().await?.to_bytes().to_vec()))
}

/// A request that must succeed; its JSON answer (`Null` for bytes) and its bytes.
async fn ok(
    router: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<(Value, Vec<u8>), Error> {
    let (status, bytes) = send(router, method, path, token, body).await?;
    if !status.is_success() {
        return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok((serde_json::from_slice(&bytes).unwrap_or(Value::Null), bytes))
}

async fn person(
    store: &Store,
    router: &Router,
    name: &str,
    agency: i64,
    role: &str,
    now: OffsetDateTime,
) -> Result<String, Error> {
    accounts::create_user(
        store,
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
        now,
    )
    .await?;
    let (body, _) = ok(
        router,
        Method::POST,
        "/api/v1/auth/login",
        "",
        Some(&json!({"username": name, "password": PASSWORD})),
    )
    .await?;
    Ok(body["token"].as_str().ok_or("no token")?.to_owned())
}

async fn register_cert(
    store: &Store,
    agency: i64,
    kind: &str,
    name: &str,
    email: &str,
    who: &TestSigner,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let sub = registry::create_subscriber(
        store,
        &Actor::system(),
        &SubscriberInput {
            kind: kind.into(),
            agency_id: agency,
            name: name.into(),
            email: email.into(),
            ..Default::default()
        },
        now,
    )
    .await?;
    // The registry accepts the bench root's certificates, as it does the national CA's.
    store.trust_issuers(
        &kyso_x509::path::TrustStore::from_certs(who.chain.clone()),
        &[],
    );
    registry::import_certificate(
        store,
        &Actor::system(),
        &kyso_store::registry::CertImport {
            agency_id: agency,
            subscriber_id: Some(sub.id),
            bytes: who.cert.der(),
            mismatch_reason: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Timings of one document (milliseconds), by name, in the order of the flow.
type Times = Vec<(&'static str, f64)>;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

async fn run(args: &[String]) -> Result<(), Error> {
    let url = arg(args, "--database-url").ok_or("--database-url URL")?;
    let blob_dir = arg(args, "--blobs").ok_or("--blobs DIR")?;
    let rounds: usize = arg(args, "--rounds").map_or(Ok(30), |s| s.parse())?;
    #[allow(clippy::disallowed_methods)] // an example program reads the clock
    let now = OffsetDateTime::now_utc();
    let store = Store::open(&url).await?;
    let blobs = kyso_store::blobs::Blobs::open(std::path::Path::new(&blob_dir))?;
    let state = kyso_web::AppState::new(
        store.clone(),
        Arc::new(move || now),
        kyso_web::Config {
            secure_cookies: false,
        },
    )
    .with_blobs(blobs);
    let router = kyso_web::router(state);

    let sys = Actor::system();
    let agency = |code: &str, name: &str, kind: &str, parent: Option<i64>| AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: kind.into(),
        parent_id: parent,
        ..Default::default()
    };
    let root = registry::create_agency(
        &store,
        &sys,
        &agency("H98", "UBND Tỉnh Thử", "province", None),
        now,
    )
    .await?;
    let dost = registry::create_agency(
        &store,
        &sys,
        &agency("H98.37", "Sở KH&CN", "department", Some(root.id)),
        now,
    )
    .await?
    .id;
    registry::create_agency(
        &store,
        &sys,
        &agency("H98.05", "Sở Tài chính", "department", Some(root.id)),
        now,
    )
    .await?;
    let drafter = person(&store, &router, "chuyenvien", dost, "drafter", now).await?;
    let reviewer = person(&store, &router, "truongphong", dost, "reviewer", now).await?;
    let checker = person(&store, &router, "thethuc", dost, "format_checker", now).await?;
    let signer = person(&store, &router, "giamdoc", dost, "signer", now).await?;
    let clerk = person(&store, &router, "vanthu", dost, "clerk", now).await?;
    let (director, seal_key) = pki()?;
    register_cert(
        &store,
        dost,
        "individual",
        "Nguyễn Văn An",
        "giamdoc@demo.invalid",
        &director,
        now,
    )
    .await?;
    register_cert(
        &store,
        dost,
        "organization",
        "Sở Khoa học và Công nghệ",
        "",
        &seal_key,
        now,
    )
    .await?;
    ok(
        &router,
        Method::POST,
        "/api/v1/document-registers",
        &clerk,
        Some(
            &json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                     "issuer_abbrev": "SKHCN"}),
        ),
    )
    .await?;
    let draft = draft()?;
    let meta = json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế sử dụng chữ ký số chuyên dùng công vụ",
        "place": "Thử",
        "signer": {"authority": "kt", "principal_title": "Giám đốc", "title": "Phó Giám đốc",
                   "name": "Nguyễn Văn An"},
        "recipients": ["H98.05"],
        "confidentiality": "unclassified",
        "page_count": 1
    });
    let opts = || {
        let mut o = SignOptions::new(now);
        o.durable = false;
        o
    };

    let mut all: Vec<Times> = Vec::new();
    let mut sizes = (0, 0, 0);
    for round in 0..=rounds {
        let mut t: Times = Vec::new();
        let step = |action: &str| json!({ "action": action });
        let s = Instant::now();
        let (created, _) = ok(
            &router,
            Method::POST,
            "/api/v1/documents",
            &drafter,
            Some(
                &json!({"agency_id": dost, "meta": meta, "file_name": "du-thao.pdf",
                         "file_base64": b64(&draft)}),
            ),
        )
        .await?;
        t.push(("upload", ms(s)));
        let id = created["document"]["id"].as_i64().ok_or("no id")?;
        let actions = format!("/api/v1/documents/{id}/actions");
        for (name, token, action) in [
            ("submit", &drafter, "submit"),
            ("forward", &reviewer, "forward"),
            ("check_format", &checker, "check_format"),
            ("approve", &signer, "approve"),
        ] {
            let s = Instant::now();
            ok(&router, Method::POST, &actions, token, Some(&step(action))).await?;
            t.push((name, ms(s)));
        }
        let file = format!("/api/v1/documents/{id}/file");
        let s = Instant::now();
        let (_, formatted) = ok(&router, Method::GET, &file, &signer, None).await?;
        t.push(("download formatted (signer's agent)", ms(s)));
        let s = Instant::now();
        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &director,
            None,
        )?;
        t.push(("client: personal signature", ms(s)));
        let s = Instant::now();
        ok(
            &router,
            Method::POST,
            &actions,
            &signer,
            Some(&json!({"action": "sign_personal", "file_base64": b64(&personal)})),
        )
        .await?;
        t.push(("sign_personal upload", ms(s)));
        let s = Instant::now();
        ok(
            &router,
            Method::POST,
            &actions,
            &clerk,
            Some(&step("clerk_check")),
        )
        .await?;
        t.push(("clerk_check", ms(s)));
        let s = Instant::now();
        let (numbered, _) = ok(
            &router,
            Method::POST,
            &actions,
            &clerk,
            Some(&step("number")),
        )
        .await?;
        t.push(("number", ms(s)));
        let number = numbered["number_and_notation"]
            .as_str()
            .ok_or("no number")?
            .to_owned();
        let date = time::Date::parse(
            numbered["document"]["issued_date"]
                .as_str()
                .ok_or("no date")?,
            time::macros::format_description!("[year]-[month]-[day]"),
        )?;
        let s = Instant::now();
        let (_, signed) = ok(&router, Method::GET, &file, &clerk, None).await?;
        t.push(("download signed (clerk's agent)", ms(s)));
        let s = Instant::now();
        let filled = numbering::fill_bytes(&signed, &number, date)?;
        let issued = sign_bytes(
            &filled,
            &numbering::organization_signature(opts()),
            &seal_key,
            None,
        )?;
        t.push(("client: number, date + organization signature", ms(s)));
        let s = Instant::now();
        ok(
            &router,
            Method::POST,
            &actions,
            &clerk,
            Some(&json!({"action": "org_sign", "file_base64": b64(&issued)})),
        )
        .await?;
        t.push(("org_sign upload", ms(s)));
        for name in ["register", "dispatch"] {
            let s = Instant::now();
            ok(&router, Method::POST, &actions, &clerk, Some(&step(name))).await?;
            t.push((name, ms(s)));
        }
        // The PDF work inside three of the requests, alone, on the same bytes.
        let s = Instant::now();
        let report = kyso_pades::format_check::check(&draft);
        let (placed, _) = numbering::place_fields_bytes(&draft)?;
        t.push(("  part: format check + fields placed", ms(s)));
        if report.errors().next().is_some() || placed != formatted {
            return Err("the format step stored another file than the check makes".into());
        }
        let certs = |k: &TestSigner| vec![k.cert.clone()];
        let s = Instant::now();
        upload::check_upload(
            &formatted,
            &personal,
            &ExpectedSignature::new(certs(&director), Step::Personal),
        )
        .map_err(|e| format!("personal: {e}"))?;
        t.push(("  part: check_upload personal", ms(s)));
        let s = Instant::now();
        upload::check_upload(
            &signed,
            &issued,
            &ExpectedSignature::new(
                certs(&seal_key),
                Step::Seal {
                    number: Some(number.clone()),
                    date: Some(date),
                },
            ),
        )
        .map_err(|e| format!("seal: {e}"))?;
        t.push(("  part: check_upload seal", ms(s)));
        sizes = (draft.len(), personal.len(), issued.len());
        // Round 0 warms the caches and is not counted.
        if round > 0 {
            all.push(t);
        }
    }
    println!(
        "FILES draft={} personal={} issued={} bytes; rounds={rounds}",
        sizes.0, sizes.1, sizes.2
    );
    let names: Vec<&str> = all
        .first()
        .map(|t| t.iter().map(|(n, _)| *n).collect())
        .unwrap_or_default();
    let series = |name: &str| -> Vec<f64> {
        all.iter()
            .filter_map(|t| t.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
            .collect()
    };
    let is_server = |n: &str| !n.starts_with("client:") && !n.starts_with("  part:");
    let totals: Vec<f64> = all
        .iter()
        .map(|t| t.iter().filter(|(n, _)| is_server(n)).map(|(_, v)| v).sum())
        .collect();
    let signs: Vec<f64> = all
        .iter()
        .map(|t| {
            t.iter()
                .filter(|(n, _)| n.starts_with("client:"))
                .map(|(_, v)| v)
                .sum()
        })
        .collect();
    let server_p50 = pct(&totals, 50);
    for name in names {
        let v = series(name);
        println!(
            "STEP name={name:?} p50={:.2} p90={:.2} share_of_server_p50={:.1}%",
            pct(&v, 50),
            pct(&v, 90),
            100.0 * pct(&v, 50) / server_p50
        );
    }
    println!(
        "TOTAL server_p50={server_p50:.2} server_p90={:.2} server_max={:.2} sign_p50={:.2}",
        pct(&totals, 90),
        pct(&totals, 100),
        pct(&signs, 50)
    );
    store.close().await;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flow_time: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flow_time: {e}");
            ExitCode::FAILURE
        }
    }
}
