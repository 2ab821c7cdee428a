//! The pages render verification reports, they do not validate again on every load (on SQLite
//! and on PostgreSQL):
//! - an incoming document's page shows the `kyso.verify/1` report made on arrival and kept with
//!   the record: a server started afterwards with no trusted root (and the received file gone
//!   from the blob folder) still shows the arrival's verdict, path and time;
//! - a document's page reuses the report of a signed version for its SHA-256 within the hour:
//!   with the version's file damaged after the first load, the same server still shows the
//!   report, while a new server (a new cache) cannot read the file, nor can the first one once
//!   the hour has passed.
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
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignAuthority, SignerBlock};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Store};
use kyso_x509::path::TrustStore;
use kyso_x509::Cert;
use serde_json::json;
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, send, TestSigner, NOW, PASSWORD};

/// A test root and a personal key it certifies.
fn pki() -> (Cert, TestSigner) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Stored Reports Test Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_der = ca.self_signed(&ca_key).unwrap().der().to_vec();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Nguyễn Văn An");
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    let cert = p.signed_by(&key, &issuer).unwrap();
    let root = Cert::from_der(&root_der).unwrap();
    let signer = TestSigner {
        cert: Cert::from_der(cert.der()).unwrap(),
        chain: vec![root.clone()],
        key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
            .unwrap(),
    };
    (root, signer)
}

/// A server over `store` and `blobs` whose clock is `NOW` plus `ahead` seconds, trusting
/// `root` when given.
fn server(store: &Store, blobs: &Blobs, ahead: Arc<AtomicI64>, root: Option<&Cert>) -> Router {
    let mut state = kyso_web::AppState::new(
        store.clone(),
        Arc::new(move || NOW + time::Duration::seconds(ahead.load(Ordering::SeqCst))),
        kyso_web::Config {
            secure_cookies: false,
        },
    )
    .with_blobs(blobs.clone());
    if let Some(root) = root {
        state = state.with_trust_anchors(TrustStore::from_certs([root.clone()]));
    }
    kyso_web::router(state)
}

/// An account with one role at `agency`, signed in: its actor and session token (the pages'
/// cookie, and a bearer token for the API).
async fn person(store: &Store, name: &str, agency: i64, role: &str) -> (Actor, String) {
    accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
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
    let (session, actor) = accounts::login(
        store,
        name,
        Zeroizing::new(PASSWORD.into()),
        "127.0.0.1",
        NOW,
    )
    .await
    .unwrap();
    (actor, session.token.as_str().to_owned())
}

/// A page as its text (tags dropped, spaces folded).
async fn page(router: &Router, token: &str, path: &str) -> String {
    let req = Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("kyso_session={token}"))
        .body(Body::empty())
        .unwrap();
    let (status, body, headers) = send(router, req).await;
    let html = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {html} {:?}",
        headers.get(header::LOCATION)
    );
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The blob named `sha256` overwritten with other bytes (as a disk might damage it).
fn damage(dir: &std::path::Path, sha256: &str) {
    let mut found = false;
    for entry in walk(dir) {
        if entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| sha256.ends_with(n))
            && entry.to_string_lossy().replace('/', "").ends_with(sha256)
        {
            std::fs::write(&entry, b"%PDF-1.7 damaged").unwrap();
            found = true;
        }
    }
    assert!(found, "no blob {sha256} under {}", dir.display());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const PATH_VALID: &str = "hợp lệ, đến được chứng thư gốc tin cậy";
const NO_ROOT: &str = "máy chủ chưa được cấu hình chứng thư gốc tin cậy";
const UNREADABLE: &str = "không đọc được tệp của phiên bản này";

#[tokio::test]
async fn the_pages_show_stored_and_reused_reports_instead_of_validating_on_each_load() {
    let (root, signer) = pki();
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
    let letter = kyso_pades::sign_bytes(
        &support::draft_with_number_line("Số: ......../SKHCN-VP"),
        &opts(),
        &signer,
        None,
    )
    .unwrap();
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let clock = Arc::new(AtomicI64::new(0));
        let trusting = server(s, &blobs, clock.clone(), Some(&root));
        let province = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(province)).await;

        // An incoming letter, verified on arrival against the server's root.
        let (_, clerk) = person(s, "vanthu.tc", finance, "clerk").await;
        // The API call in a session of its own (an integrator's).
        let (api_session, _) = accounts::login(
            s,
            "vanthu.tc",
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        let (status, sent, _) = support::call_json(
            &trusting,
            Method::POST,
            "/api/v1/incoming",
            api_session.token.as_str(),
            Some(json!({
                "agency_id": finance, "sender_code": "H99.37",
                "sender_name": "Sở Khoa học và Công nghệ", "number": "15",
                "notation": "SKHCN-VP", "doc_date": "2026-05-28", "doc_type": "Công văn",
                "subject": "Về việc triển khai ký số", "signer": "Nguyễn Văn An",
                "file_name": "cong-van.pdf",
                "file_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &letter),
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        let id = sent["id"].as_i64().unwrap();
        let path = format!("/incoming/{id}");
        let before = page(&trusting, &clerk, &path).await;
        assert!(before.contains(PATH_VALID), "{before}");
        assert!(before.contains("Stored Reports Test Root"), "{before}");
        assert!(
            before.contains("Thời điểm kiểm tra: 01/06/2026 09:00"),
            "{before}"
        );
        assert!(
            before.contains("không kiểm tra lại khi mở trang"),
            "{before}"
        );

        // A server with no trusted root, two hours later, the received file damaged: the same
        // report.
        damage(dir.path(), &sha256_hex(&letter));
        let untrusting = server(s, &blobs, Arc::new(AtomicI64::new(2 * 3600)), None);
        let after = page(&untrusting, &clerk, &path).await;
        assert!(after.contains(PATH_VALID), "{after}");
        assert!(!after.contains(NO_ROOT), "{after}");
        assert!(
            after.contains("Thời điểm kiểm tra: 01/06/2026 09:00"),
            "{after}"
        );
        assert!(
            after.contains("Chữ ký số cá nhân 1: Nguyễn Văn An"),
            "{after}"
        );
        // In English, from the same stored form.
        let english = page(&untrusting, &clerk, &format!("{path}?lang=en")).await;
        assert!(
            english.contains("valid, chains to a trusted root") || english.contains(PATH_VALID),
            "{english}"
        );

        // An outgoing document with a personally signed version.
        let mut staff = Vec::new();
        for (n, role) in [
            ("cv.kh", "drafter"),
            ("tp.kh", "reviewer"),
            ("tt.kh", "format_checker"),
            ("gd.kh", "signer"),
            ("vt.kh", "clerk"),
        ] {
            staff.push(person(s, n, dost, role).await);
        }
        let [cv, tp, tt, gd, vt] = <[(Actor, String); 5]>::try_from(staff).unwrap();
        docs::create_register(
            s,
            &vt.0,
            &RegisterInput {
                agency_id: dost,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        let meta = DocumentMeta {
            doc_type: DocType::QuyetDinh,
            subject: "Về việc ban hành Quy chế văn thư".into(),
            place: "Demo".into(),
            signer: SignerBlock {
                authority: SignAuthority::Direct,
                title: "Giám đốc".into(),
                name: "Nguyễn Văn An".into(),
                ..Default::default()
            },
            recipients: vec!["H99.05".into()],
            page_count: Some(1),
            ..Default::default()
        };
        let d = docs::create_document(
            s,
            &blobs,
            &cv.0,
            &NewDocument {
                agency_id: dost,
                meta,
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: draft(),
            },
            NOW,
        )
        .await
        .unwrap();
        for (who, action, file) in [
            (&cv.0, DocAction::Submit, None),
            (&tp.0, DocAction::Forward, None),
            (&tt.0, DocAction::CheckFormat, None),
            (&gd.0, DocAction::Approve, None),
            (&gd.0, DocAction::SignPersonal, Some(signed.clone())),
        ] {
            let input = StepInput {
                file_name: if file.is_some() {
                    "ky.pdf".into()
                } else {
                    String::new()
                },
                file,
                ..Default::default()
            };
            docs::act(s, &blobs, who, d.id, action, &input, NOW)
                .await
                .unwrap();
        }
        let doc_path = format!("/documents/{}", d.id);
        let first = page(&trusting, &gd.1, &doc_path).await;
        assert!(first.contains("Kiểm tra chữ ký số"), "{first}");
        assert!(first.contains(PATH_VALID), "{first}");
        assert!(
            first.contains("Thời điểm kiểm tra: 01/06/2026 09:00"),
            "{first}"
        );

        // The signed version's file damaged: within the hour the same server shows the report
        // it made (made at 09:00, not read again); a new server cannot read the file.
        damage(dir.path(), &sha256_hex(&signed));
        clock.store(30 * 60, Ordering::SeqCst);
        let again = page(&trusting, &gd.1, &doc_path).await;
        assert!(again.contains(PATH_VALID), "{again}");
        assert!(
            again.contains("Thời điểm kiểm tra: 01/06/2026 09:00"),
            "{again}"
        );
        assert!(!again.contains(UNREADABLE), "{again}");
        let fresh = server(s, &blobs, clock.clone(), Some(&root));
        let other = page(&fresh, &gd.1, &doc_path).await;
        assert!(other.contains(UNREADABLE), "{other}");
        // After the hour the report is made again: the damage shows.
        clock.store(61 * 60, Ordering::SeqCst);
        let later = page(&trusting, &gd.1, &doc_path).await;
        assert!(later.contains(UNREADABLE), "{later}");
    }
}
