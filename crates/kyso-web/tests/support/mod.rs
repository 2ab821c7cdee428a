//! What the kyso-web test files share: the clock and password of their provinces, and sending
//! a request through the real router and reading its JSON answer; a test CA's signer, the
//! signing options, the Decree 30 one-page draft and recording a certificate in the registry;
//! a real `kyso agent` driven over its WebSocket with the server it signs for (`agent`).
//! In modules: the test server and its people (`app`), the registers' books read back
//! (`books`), throw-away CAs and the document flow's keys (`ca`), an outgoing document through
//! the API step by step (`flow`), the pages' forms and text (`html`), the demo PKI with its CSC
//! and PKI services (`demo`).
#![allow(dead_code, clippy::unwrap_used)]

pub mod agent;

pub mod app;
pub mod books;
pub mod ca;
pub mod demo;
pub mod flow;
pub mod html;
pub mod scans;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::EcdsaKeyPair;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer};
use kyso_pades::SignOptions;
use kyso_pdf::compose::{Align, Block, Composer, Margins, Style};
use kyso_store::Actor;
use kyso_x509::Cert;
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt as _;

/// The tests' "now".
pub const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
/// Every test account's password.
pub const PASSWORD: &str = "mat-khau-dai-12345";

/// Send `req` through `router`: status, body bytes, headers.
pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>, HeaderMap) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, bytes, headers)
}

/// An API request: `Bearer token` unless `token` is empty, `body` as JSON (or as
/// `content_type` when given).
pub fn api_request(
    method: Method,
    path: &str,
    token: &str,
    body: Option<(&str, String)>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if !token.is_empty() {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some((content_type, b)) => req
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    }
    .unwrap()
}

/// Call the API with a JSON body: status, JSON answer (`Null` when not JSON), headers.
pub async fn call_json(
    router: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value, HeaderMap) {
    let body = body.map(|b| ("application/json", b.to_string()));
    let (status, bytes, headers) = send(router, api_request(method, path, token, body)).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

/// An agency made by the system at `NOW`: the province when it has no parent, a department
/// below `parent` otherwise. Its id.
pub async fn agency(store: &kyso_store::Store, code: &str, name: &str, parent: Option<i64>) -> i64 {
    let input = kyso_store::registry::AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: if parent.is_none() {
            "province"
        } else {
            "department"
        }
        .into(),
        parent_id: parent,
        ..Default::default()
    };
    kyso_store::registry::create_agency(store, &kyso_store::Actor::system(), &input, NOW)
        .await
        .unwrap()
        .id
}

/// A key and its certificate from the test CA.
pub struct TestSigner {
    pub cert: Cert,
    pub chain: Vec<Cert>,
    pub key: EcdsaKeyPair,
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
        Ok(self
            .key
            .sign(&SystemRandom::new(), r.message)
            .unwrap()
            .as_ref()
            .to_vec())
    }
}

/// Signing options at `NOW`, without the long-term validation step.
pub fn opts() -> SignOptions {
    let mut o = SignOptions::new(NOW);
    o.durable = false;
    o
}

/// `pdf` signed by `key` (the Sở KH&CN's organization key) with the copy stamp of `form`
/// showing `number`, as a clerk's own signing tool makes a copy uploaded already signed.
pub fn copy_signed(
    pdf: &[u8],
    form: kyso_pades::forms::CopyForm,
    number: &str,
    key: &TestSigner,
) -> Vec<u8> {
    use kyso_pades::forms::{widget_builder, VisibleForm};
    let o = opts();
    let stamp = widget_builder(
        VisibleForm::Copy {
            form,
            org_name: "Sở Khoa học và Công nghệ".into(),
            number: Some(number.into()),
            place: Some("Demo".into()),
        },
        o.signing_time,
    )
    .unwrap();
    kyso_pades::sign_bytes(pdf, &o, key, Some(stamp)).unwrap()
}

/// A Decree 30 decision awaiting its number and date, as kyso-pdf's composer writes it.
pub fn draft() -> Vec<u8> {
    draft_with_number_line("Số: ......../QĐ-SKHCN")
}

/// The one-page decision with `number_line` where Decree 30 puts the number.
pub fn draft_with_number_line(number_line: &str) -> Vec<u8> {
    decision(number_line, &[], "- Như trên;")
}

/// The decision of [`draft`] with `articles` in its body, each after the first on a page of
/// its own, and `first_recipient` heading the "Nơi nhận" list.
pub fn decision(number_line: &str, articles: &[&str], first_recipient: &str) -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let agency = Block::new()
        .text("UBND TỈNH DEMO", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4).unwrap();
    c.spacer(2.0);
    c.columns(
        (number_line, &center(13.0)),
        (
            "Demo, ngày ...... tháng ...... năm 2026",
            &center(13.0).italic(),
        ),
        0.4,
    )
    .unwrap();
    c.spacer(6.0);
    c.paragraph("QUYẾT ĐỊNH", &center(14.0).bold()).unwrap();
    c.paragraph("Về việc ban hành Quy chế văn thư", &Style::new(14.0))
        .unwrap();
    let body = Style::new(14.0).align(Align::Justify);
    for (i, article) in articles.iter().enumerate() {
        if i > 0 {
            // The next article on a page of its own.
            c.spacer(c.remaining_pt() / kyso_pdf::compose::PT_PER_MM + 1.0);
        }
        c.paragraph(article, &body).unwrap();
    }
    c.spacer(10.0);
    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold())
        .text(first_recipient, &Style::new(11.0))
        .text("- Lưu: VT.", &Style::new(11.0));
    let signer = Block::new()
        .text("GIÁM ĐỐC", &center(14.0).bold())
        .space(30.0)
        .text("Nguyễn Văn An", &center(14.0).bold());
    c.columns_of(&recipients, &signer, 0.45).unwrap();
    c.finish(&Default::default()).unwrap()
}

/// Record `who`'s certificate in the registry under a new subscriber of `agency`.
pub async fn register_cert(
    store: &kyso_store::Store,
    agency: i64,
    kind: &str,
    name: &str,
    email: &str,
    who: &TestSigner,
) {
    // The registry accepts the test CA's certificates, as it does the national CA's.
    store.trust_issuers(
        &kyso_x509::path::TrustStore::from_certs(who.chain.clone()),
        &[],
    );
    register_cert_der(store, agency, kind, name, email, who.cert.der()).await;
}

/// Record the certificate `der` in the registry under a new subscriber of `agency`: the
/// subscriber's id.
pub async fn register_cert_der(
    store: &kyso_store::Store,
    agency: i64,
    kind: &str,
    name: &str,
    email: &str,
    der: &[u8],
) -> i64 {
    let sub = kyso_store::registry::create_subscriber(
        store,
        &Actor::system(),
        &kyso_store::registry::SubscriberInput {
            kind: kind.into(),
            agency_id: agency,
            name: name.into(),
            date_of_birth: String::new(),
            id_number: String::new(),
            email: email.into(),
            title: String::new(),
            unit: String::new(),
            phone: String::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    kyso_store::registry::import_certificate(
        store,
        &Actor::system(),
        &kyso_store::registry::CertImport {
            agency_id: agency,
            subscriber_id: Some(sub.id),
            bytes: der,
            // The tests name holders and agencies shortly ("Sở KH&CN"); the import's own
            // comparison of names is tested where it is the subject.
            mismatch_reason: Some("Tên viết tắt trong dữ liệu thử".into()),
        },
        NOW,
    )
    .await
    .unwrap();
    sub.id
}

/// A tiny SMTP server for the mail tests (`smtp::sink`).
pub mod smtp;
