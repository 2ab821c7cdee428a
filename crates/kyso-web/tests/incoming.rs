//! Incoming documents through the real router (issue 18 items 1–4), on SQLite and PostgreSQL:
//! a signed letter sent by an integrator and uploaded by the clerk is verified on arrival by
//! the server's validator against its trust anchors (its `kyso.verify/1` report and the
//! report's PDF kept); a tampered scan arrives failed and can only be refused; an
//! indeterminate one is registered only with the clerk's reason; the same document twice is
//! refused naming the first; a document dispatched inside kyso arrives in the recipient's
//! queue after its dispatch, verified, and its refusal reaches the sender's clerk; other
//! agencies see nothing (404) and other roles may not act (403).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::http::{Method, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignAuthority, SignerBlock};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Grant};
use kyso_x509::Cert;
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, TestSigner, NOW, PASSWORD};

/// The test root and a signer certified by it.
fn pki() -> (Cert, TestSigner) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Incoming Test Root");
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
    (
        root.clone(),
        TestSigner {
            cert: Cert::from_der(c.der()).unwrap(),
            chain: vec![root],
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
                .unwrap(),
        },
    )
}

struct App {
    router: Router,
    db: TestDb,
    blobs: Blobs,
    _dir: tempfile::TempDir,
}

impl App {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = support::call_json(&self.router, method, path, token, body).await;
        (s, v)
    }

    async fn bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let (s, b, _) = support::send(
            &self.router,
            support::api_request(Method::GET, path, token, None),
        )
        .await;
        (s, b)
    }

    /// An account with `role` at `agency`, logged in: its actor and token.
    async fn person(&self, name: &str, agency: (i64, &str), role: &str) -> (Actor, String) {
        let user = accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: format!("Người dùng {name}"),
                email: format!("{name}@demo.invalid"),
                agency_id: agency.0,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: role.into(),
                    agency_id: agency.0,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let actor = Actor {
            user_id: user.id,
            username: name.into(),
            grants: vec![Grant {
                role: kyso_domain::roles::Role::parse(role).unwrap(),
                agency_id: agency.0,
                path: agency.1.into(),
            }],
            source: "127.0.0.1".into(),
        };
        (actor, body["token"].as_str().unwrap().to_owned())
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn letter(agency: i64, number: &str, file: &[u8]) -> Value {
    json!({
        "agency_id": agency,
        "sender_code": "G11.07.05",
        "sender_name": "Cục Chứng thực số và Bảo mật thông tin",
        "sender_email": "ca@bcy.gov.vn",
        "number": number,
        "notation": "CTSBMTT-CĐ",
        "doc_date": "2026-05-28",
        "doc_type": "Công văn",
        "subject": format!("Về việc gia hạn chứng thư số, số {number}"),
        "signer": "Cục trưởng",
        "file_name": "cong-van.pdf",
        "file_base64": b64(file),
    })
}

async fn agency(
    store: &kyso_store::Store,
    code: &str,
    name: &str,
    parent: Option<i64>,
) -> (i64, String) {
    let id = support::agency(store, code, name, parent).await;
    let a = kyso_store::registry::agency(
        store,
        &Actor::system(),
        id,
        kyso_domain::roles::Permission::ReadRegistry,
    )
    .await
    .unwrap();
    (id, a.path)
}

#[tokio::test]
async fn letters_are_verified_on_arrival_decided_by_the_clerk_and_deliveries_arrive_verified() {
    let (root, signer) = pki();
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
    let mut tampered = signed.clone();
    // A change inside the signed bytes (the page's content): the signature no longer holds.
    let at = tampered.windows(7).position(|w| w == b"endobj\n").unwrap();
    tampered[at - 2] ^= 0x01;
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(blobs.clone())
        .with_trust_anchors(kyso_x509::path::TrustStore::from_certs([root.clone()]));
        let app = App {
            router: kyso_web::router(state),
            db,
            blobs,
            _dir: dir,
        };
        let s = &app.db.store;
        let province = agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province.0)).await;
        let finance = agency(s, "H99.05", "Sở Tài chính", Some(province.0)).await;
        let fin = (finance.0, finance.1.as_str());
        let (_, clerk) = app.person("vanthu.tc", fin, "clerk").await;
        let (_, system) = app.person("hethong.qlvb", fin, "clerk").await;
        let (_, drafter) = app.person("chuyenvien.tc", fin, "drafter").await;
        let (_, leader) = app.person("giamdoc.tc", fin, "signer").await;
        let (_, other_clerk) = app
            .person("vanthu", (dost.0, dost.1.as_str()), "clerk")
            .await;
        let f = finance.0;

        // An integrator sends a signed letter: verified with the server's root; nothing in the
        // file proves it was not revoked, so it is indeterminate, with the reason.
        let (st, sent) = app
            .call(
                Method::POST,
                "/api/v1/incoming",
                &system,
                Some(letter(f, "15", &signed)),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{sent}");
        assert_eq!(sent["channel"], "api");
        assert_eq!(sent["state"], "received");
        assert_eq!(sent["status_code"], "01");
        assert_eq!(sent["verdict"], "indeterminate", "{sent}");
        assert!(!sent["reasons"].as_array().unwrap().is_empty(), "{sent}");
        assert!(sent["has_report_pdf"].as_bool().unwrap());
        let sent_id = sent["id"].as_i64().unwrap();
        // The same letter again is recognised, naming the first.
        let (st, again) = app
            .call(
                Method::POST,
                "/api/v1/incoming",
                &system,
                Some(letter(f, "15", &signed)),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{again}");
        assert!(
            again["error"]["message_vi"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("#{sent_id}"))
                || again.to_string().contains(&format!("#{sent_id}")),
            "{again}"
        );

        // The clerk uploads a tampered scan: failed, with its reason.
        let mut scan = letter(f, "16", &tampered);
        scan["scanned"] = json!(true);
        let (st, bad) = app
            .call(
                Method::POST,
                "/api/v1/incoming/upload",
                &clerk,
                Some(scan.clone()),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{bad}");
        assert_eq!(
            (bad["verdict"].as_str(), bad["scanned"].as_bool()),
            (Some("failed"), Some(true)),
            "{bad}"
        );
        let bad_id = bad["id"].as_i64().unwrap();
        // Not the clerk: refused; another agency: not found.
        let (st, _) = app
            .call(
                Method::POST,
                "/api/v1/incoming/upload",
                &drafter,
                Some(letter(f, "17", &signed)),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{sent_id}"),
                &other_clerk,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/register"),
                &drafter,
                Some(json!({"reason": "x"})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // The queue: the failed one first, with its reasons in Vietnamese.
        let (st, queue) = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming?agency_id={f}"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{queue}");
        let ids: Vec<i64> = queue
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [bad_id, sent_id]);
        assert!(!queue[0]["reasons_text"][0].as_str().unwrap().is_empty());

        // Failed: never registered; indeterminate: only with the clerk's reason.
        let (st, e) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{bad_id}/register"),
                &clerk,
                Some(json!({"reason": "Vẫn nhận"})),
            )
            .await;
        assert_eq!(
            (st, e["error"]["field"].as_str()),
            (StatusCode::CONFLICT, Some("verdict")),
            "{e}"
        );
        let (st, e) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/register"),
                &clerk,
                Some(json!({})),
            )
            .await;
        assert_eq!(
            (st, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
            "{e}"
        );
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/register"),
                &clerk,
                Some(json!({"reason": "Đã gọi điện xác nhận với Cục"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(
            (r["arrival_number"].as_i64(), r["status_code"].as_str()),
            (Some(1), Some("03"))
        );
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{bad_id}/refuse"),
                &clerk,
                Some(json!({"reason": "Chữ ký số không hợp lệ: văn bản bị sửa sau khi ký"})),
            )
            .await;
        assert_eq!(
            (st, r["status_code"].as_str(), r["status_message"].as_str()),
            (StatusCode::OK, Some("02"), Some("email")),
            "{r}"
        );

        // The file byte for byte, the report and its PDF.
        let (st, file) = app
            .bytes(&format!("/api/v1/incoming/{sent_id}/file"), &clerk)
            .await;
        assert_eq!((st, file == signed), (StatusCode::OK, true));
        let (st, report) = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{sent_id}/report"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(
            (st, report["schema"].as_str()),
            (StatusCode::OK, Some("kyso.verify/1")),
            "{report}"
        );
        assert_eq!(report["verdict"], "indeterminate");
        assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
        let (st, pdf) = app
            .bytes(&format!("/api/v1/incoming/{sent_id}/report.pdf"), &clerk)
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(pdf.starts_with(b"%PDF-"));

        // The leader assigns; the clerk may not; a status other than 05/06 is refused.
        let assign =
            json!({"lead_unit_id": f, "deadline": "2026-06-10", "note": "Chủ trì tham mưu"});
        let (st, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/assign"),
                &clerk,
                Some(assign.clone()),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/assign"),
                &leader,
                Some(assign),
            )
            .await;
        assert_eq!(
            (st, r["status_code"].as_str()),
            (StatusCode::OK, Some("04")),
            "{r}"
        );
        let (st, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/status"),
                &drafter,
                Some(json!({"status": "done"})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/status"),
                &drafter,
                Some(json!({"status": "in_progress"})),
            )
            .await;
        assert_eq!(
            (st, r["status_code"].as_str()),
            (StatusCode::OK, Some("05")),
            "{r}"
        );
        // The server's notice job reminds the lead unit the day before the handling deadline.
        let day_before: kyso_web::Clock =
            Arc::new(|| time::macros::datetime!(2026-06-09 08:00 +07:00));
        kyso_web::mailer::notice_round(s, &day_before, None).await;
        let (st, inbox) = app
            .call(Method::GET, "/api/v1/notices", &drafter, None)
            .await;
        assert_eq!(st, StatusCode::OK, "{inbox}");
        assert!(
            inbox.to_string().contains("Nhắc hạn xử lý văn bản đến"),
            "{inbox}"
        );
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{sent_id}/status"),
                &drafter,
                Some(json!({"status": "06", "note": "Đã trả lời"})),
            )
            .await;
        assert_eq!(
            (st, r["status_code"].as_str()),
            (StatusCode::OK, Some("06")),
            "{r}"
        );
        let (st, d) = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{sent_id}"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let codes: Vec<&str> = d["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["01", "03", "04", "05", "06"]);

        // A decision of the Department of Science dispatched to Finance inside kyso (signed by
        // the same test signer): it arrives after its dispatch, verified.
        let dost_path = dost.1.as_str();
        let mk = |n: &str, role: &str| {
            let (id, path) = (dost.0, dost_path.to_owned());
            let (n, role) = (n.to_owned(), role.to_owned());
            async move { (n, role, id, path) }
        };
        let mut actors = Vec::new();
        for (n, role) in [
            ("cv.kh", "drafter"),
            ("tp.kh", "reviewer"),
            ("tt.kh", "format_checker"),
            ("gd.kh", "signer"),
            ("vt.kh", "clerk"),
        ] {
            let (n, role, id, path) = mk(n, role).await;
            actors.push(app.person(&n, (id, &path), &role).await);
        }
        let vt_token = actors[4].1.clone();
        let actors: Vec<Actor> = actors.into_iter().map(|(a, _)| a).collect();
        let [cv, tp, tt, gd, vt] = <[Actor; 5]>::try_from(actors).unwrap();
        docs::create_register(
            s,
            &vt,
            &RegisterInput {
                agency_id: dost.0,
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
            &app.blobs,
            &cv,
            &NewDocument {
                agency_id: dost.0,
                meta,
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: draft(),
            },
            NOW,
        )
        .await
        .unwrap();
        let go = |who: &Actor, a: DocAction, input: StepInput| {
            let (s, blobs, who) = (s.clone(), app.blobs.clone(), who.clone());
            async move {
                docs::act(&s, &blobs, &who, d.id, a, &input, NOW)
                    .await
                    .unwrap()
            }
        };
        go(&cv, DocAction::Submit, StepInput::default()).await;
        go(&tp, DocAction::Forward, StepInput::default()).await;
        go(&tt, DocAction::CheckFormat, StepInput::default()).await;
        go(&gd, DocAction::Approve, StepInput::default()).await;
        let personal = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
        go(
            &gd,
            DocAction::SignPersonal,
            StepInput {
                file: Some(personal.clone()),
                file_name: "ky.pdf".into(),
                ..Default::default()
            },
        )
        .await;
        go(&vt, DocAction::ClerkCheck, StepInput::default()).await;
        go(&vt, DocAction::Number, StepInput::default()).await;
        let sealed = kyso_pades::sign_bytes(&personal, &opts(), &signer, None).unwrap();
        go(
            &vt,
            DocAction::OrgSign,
            StepInput {
                file: Some(sealed.clone()),
                file_name: "ban-hanh.pdf".into(),
                ..Default::default()
            },
        )
        .await;
        go(&vt, DocAction::Register, StepInput::default()).await;
        // Dispatched through the API: the delivery arrives on the server's side, in the
        // background (reading the queue takes nothing in).
        let (st, out) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{}/actions", d.id),
                &vt_token,
                Some(json!({"action": "dispatch"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{out}");
        let queue_path = format!("/api/v1/incoming?agency_id={f}");
        let (mut st, mut queue) = app.call(Method::GET, &queue_path, &clerk, None).await;
        for _ in 0..1200 {
            let internal = queue.as_array().unwrap().iter();
            if internal.filter(|d| d["channel"] == "internal").count() > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            (st, queue) = app.call(Method::GET, &queue_path, &clerk, None).await;
        }
        assert_eq!(st, StatusCode::OK, "{queue}");
        let arrived: Vec<&Value> = queue
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["channel"] == "internal")
            .collect();
        assert_eq!(arrived.len(), 1, "{queue}");
        let copy = arrived[0];
        assert_eq!(copy["source_document_id"].as_i64(), Some(d.id));
        assert_eq!(copy["number_and_notation"], "01/QĐ-SKHCN");
        assert_ne!(copy["verdict"], "failed", "{copy}");
        let copy_id = copy["id"].as_i64().unwrap();
        let (_, file) = app
            .bytes(&format!("/api/v1/incoming/{copy_id}/file"), &clerk)
            .await;
        assert_eq!(file, sealed, "the issued file, byte for byte");
        let (_, again) = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming?agency_id={f}"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(
            again
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["channel"] == "internal")
                .count(),
            1,
            "arrives once"
        );

        // Refused: the sender's clerk is told why.
        let (st, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/incoming/{copy_id}/refuse"),
                &clerk,
                Some(json!({"reason": "Gửi nhầm cơ quan"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let inbox = kyso_store::notices::inbox(s, &vt, false).await.unwrap();
        assert!(
            inbox
                .iter()
                .any(|n| n.event == "incoming_refused" && n.body.contains("Gửi nhầm cơ quan")),
            "{inbox:?}"
        );
        let page = docs::get_document(s, &vt, d.id).await.unwrap();
        assert!(page.timeline.iter().any(|t| t.action == "incoming_refused"));
        assert!(kyso_store::audit::verify(s).await.unwrap().is_ok());
    }
}
