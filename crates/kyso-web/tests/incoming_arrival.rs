//! Arrival belongs to the dispatch, not to a page load (issue 18), on SQLite and PostgreSQL: a
//! document dispatched through the API arrives in the recipient agency's incoming table on the
//! server's side — verified, taken in by the system, named so in the audit log — without any
//! read of the queue; a delivery left without its arrival (the server stopped between the
//! dispatch and the arrival: here a dispatch through the store alone, which starts no
//! arrival) is taken in by one round of the notice job, and a second round takes in nothing;
//! reading the queue (`GET /api/v1/incoming`, `GET /incoming`) writes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignAuthority, SignerBlock};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::incoming::{self as inc, Incoming, IncomingQuery};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Grant, Store};
use kyso_x509::Cert;
use serde_json::json;
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, TestSigner, NOW, PASSWORD};

/// A self-signed signer: the arrival's verdict is not what this test is about.
fn signer() -> TestSigner {
    use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose};
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Nguyễn Văn An");
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    let c = p.self_signed(&key).unwrap();
    let cert = Cert::from_der(c.der()).unwrap();
    TestSigner {
        cert: cert.clone(),
        chain: vec![cert],
        key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
            .unwrap(),
    }
}

/// An account with `role` at `agency` (id, path): its actor, API token and session cookie.
async fn person(
    router: &axum::Router,
    store: &Store,
    name: &str,
    agency: (i64, &str),
    role: &str,
) -> (Actor, String, String) {
    let user = accounts::create_user(
        store,
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
    let (st, body, _) = support::call_json(
        router,
        Method::POST,
        "/api/v1/auth/login",
        "",
        Some(json!({"username": name, "password": PASSWORD})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (session, _) = accounts::login(
        store,
        name,
        Zeroizing::new(PASSWORD.into()),
        "127.0.0.1",
        NOW,
    )
    .await
    .unwrap();
    let actor = Actor {
        user_id: user.id,
        username: name.into(),
        grants: vec![Grant {
            role: Role::parse(role).unwrap(),
            agency_id: agency.0,
            path: agency.1.into(),
        }],
        source: "127.0.0.1".into(),
    };
    (
        actor,
        body["token"].as_str().unwrap().to_owned(),
        format!("kyso_session={}", session.token.as_str()),
    )
}

async fn agency(store: &Store, code: &str, name: &str, parent: Option<i64>) -> (i64, String) {
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

/// What the store holds for agency `f`: its incoming documents (every state).
async fn received(store: &Store, f: i64) -> Vec<Incoming> {
    let mut all = Vec::new();
    for state in [None, Some(kyso_domain::incoming::IncomingState::Refused)] {
        all.extend(
            inc::list_incoming(
                store,
                &Actor::system(),
                &IncomingQuery {
                    agency_id: Some(f),
                    state,
                    limit: Some(500),
                },
            )
            .await
            .unwrap(),
        );
    }
    all
}

/// The audit log's newest sequence number and its `incoming.arrive` entries' actors.
async fn audit(store: &Store) -> (i64, Vec<String>) {
    let all = kyso_store::audit::list(
        store,
        &Actor::system(),
        &kyso_store::audit::Filter {
            limit: 10_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let newest = all.first().map_or(0, |e| e.seq);
    let arrivals = all
        .iter()
        .filter(|e| e.action == "incoming.arrive")
        .map(|e| e.actor.clone())
        .collect();
    (newest, arrivals)
}

#[tokio::test]
async fn deliveries_arrive_after_dispatch_and_by_the_notice_job_never_on_a_read() {
    let who = signer();
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
        .with_blobs(blobs.clone());
        let router = kyso_web::router(state.clone());
        let s = &db.store;
        let province = agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province.0)).await;
        let finance = agency(s, "H99.05", "Sở Tài chính", Some(province.0)).await;
        let f = finance.0;
        let (_, clerk_token, clerk_cookie) =
            person(&router, s, "vanthu.tc", (f, &finance.1), "clerk").await;
        let mut sender = Vec::new();
        for (n, role) in [
            ("cv.kh", "drafter"),
            ("tp.kh", "reviewer"),
            ("tt.kh", "format_checker"),
            ("gd.kh", "signer"),
            ("vt.kh", "clerk"),
        ] {
            sender.push(person(&router, s, n, (dost.0, &dost.1), role).await);
        }
        let vt_token = sender[4].1.clone();
        let [cv, tp, tt, gd, vt] =
            <[Actor; 5]>::try_from(sender.into_iter().map(|p| p.0).collect::<Vec<_>>()).unwrap();
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
        // A decision to Finance taken up to `registered` through the store.
        let registered = |subject: &'static str| {
            let (s, blobs) = (s.clone(), blobs.clone());
            let [cv, tp, tt, gd, vt] = [&cv, &tp, &tt, &gd, &vt].map(Clone::clone);
            let who = &who;
            async move {
                let meta = DocumentMeta {
                    doc_type: DocType::QuyetDinh,
                    subject: subject.into(),
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
                    &s,
                    &blobs,
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
                let personal = kyso_pades::sign_bytes(&draft(), &opts(), who, None).unwrap();
                let sealed = kyso_pades::sign_bytes(&personal, &opts(), who, None).unwrap();
                for (actor, action, file) in [
                    (&cv, DocAction::Submit, None),
                    (&tp, DocAction::Forward, None),
                    (&tt, DocAction::CheckFormat, None),
                    (&gd, DocAction::Approve, None),
                    (&gd, DocAction::SignPersonal, Some(personal)),
                    (&vt, DocAction::ClerkCheck, None),
                    (&vt, DocAction::Number, None),
                    (&vt, DocAction::OrgSign, Some(sealed.clone())),
                    (&vt, DocAction::Register, None),
                ] {
                    let input = StepInput {
                        file,
                        file_name: "ky.pdf".into(),
                        ..Default::default()
                    };
                    docs::act(&s, &blobs, actor, d.id, action, &input, NOW)
                        .await
                        .unwrap();
                }
                (d.id, sealed)
            }
        };

        // 1. Dispatched through the API: it arrives on the server's side, no read involved.
        let (first, sealed) = registered("Về việc ban hành Quy chế văn thư").await;
        let (st, out, _) = support::call_json(
            &router,
            Method::POST,
            &format!("/api/v1/documents/{first}/actions"),
            &vt_token,
            Some(json!({"action": "dispatch"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{b:?}: {out}");
        let mut waited = Duration::ZERO;
        let arrived = loop {
            let got = received(s, f).await;
            if !got.is_empty() || waited > Duration::from_secs(60) {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += Duration::from_millis(50);
        };
        assert_eq!(arrived.len(), 1, "{b:?}: arrived without a read");
        let copy = &arrived[0];
        assert_eq!(copy.source_document_id, Some(first));
        assert_eq!(copy.channel, kyso_domain::incoming::Channel::Internal);
        assert_eq!(copy.received_by, 0, "taken in by the system");
        let blob = blobs.get(&copy.sha256).unwrap();
        assert_eq!(blob, sealed, "the issued file, byte for byte");
        let (_, actors) = audit(s).await;
        assert_eq!(actors, ["system"], "{b:?}: the audit log names the system");
        // The queue shows it to the clerk.
        let (st, queue, _) = support::call_json(
            &router,
            Method::GET,
            &format!("/api/v1/incoming?agency_id={f}"),
            &clerk_token,
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{queue}");
        assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
        assert_eq!(queue[0]["source_document_id"].as_i64(), Some(first));

        // 2. Dispatched with no arrival after it (as after a crash in between).
        let (second, _) = registered("Về việc kiểm kê tài sản năm 2026").await;
        docs::act(
            s,
            &blobs,
            &vt,
            second,
            DocAction::Dispatch,
            &StepInput::default(),
            NOW,
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            received(s, f).await.len(),
            1,
            "{b:?}: nothing arrives by itself"
        );

        // Reading the queue writes nothing: the API's and the page's.
        let before = (audit(s).await.0, received(s, f).await.len());
        for _ in 0..2 {
            let (st, queue, _) = support::call_json(
                &router,
                Method::GET,
                &format!("/api/v1/incoming?agency_id={f}"),
                &clerk_token,
                None,
            )
            .await;
            assert_eq!(st, StatusCode::OK, "{queue}");
            assert_eq!(queue.as_array().unwrap().len(), 1, "{b:?}: {queue}");
            let req = Request::builder()
                .uri("/incoming")
                .header(header::COOKIE, &clerk_cookie)
                .body(Body::empty())
                .unwrap();
            let (st, html, _) = support::send(&router, req).await;
            let html = String::from_utf8_lossy(&html);
            assert_eq!(st, StatusCode::OK, "{html}");
            assert!(!html.contains("kiểm kê tài sản"), "{b:?}: {html}");
        }
        let after = (audit(s).await.0, received(s, f).await.len());
        assert_eq!(before, after, "{b:?}: a read wrote nothing");

        // One round of the notice job takes it in, as the system; a second round nothing.
        kyso_web::mailer::server_round(&state, None).await;
        let got = received(s, f).await;
        assert_eq!(got.len(), 2, "{b:?}");
        assert!(
            got.iter().any(|d| d.source_document_id == Some(second)),
            "{b:?}"
        );
        let (_, actors) = audit(s).await;
        assert_eq!(actors, ["system", "system"], "{b:?}");
        kyso_web::mailer::server_round(&state, None).await;
        assert_eq!(received(s, f).await.len(), 2, "{b:?}: never twice");
        assert_eq!(audit(s).await.1.len(), 2, "{b:?}");

        // Issue 18 review: Finance's clerk uploads a decision of the Department "as from
        // H99.37" before its delivery arrives — linked to it by its bytes. The delivery then
        // cannot arrive: its outcome is recorded once, and a later round does no work at all.
        let (third, sealed) = registered("Về việc tổ chức hội nghị tổng kết").await;
        docs::act(
            s,
            &blobs,
            &vt,
            third,
            DocAction::Dispatch,
            &StepInput::default(),
            NOW,
        )
        .await
        .unwrap();
        let (st, up, _) = support::call_json(
            &router,
            Method::POST,
            "/api/v1/incoming/upload",
            &clerk_token,
            Some(json!({
                "agency_id": f, "sender_code": "H99.37",
                "sender_name": "Sở Khoa học và Công nghệ",
                "subject": "Về việc tổ chức hội nghị tổng kết", "file_name": "qd.pdf",
                "file_base64": support::app::b64(&sealed),
            })),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?}: {up}");
        assert_eq!(
            up["source_document_id"].as_i64(),
            Some(third),
            "{b:?}: {up}"
        );
        let undeliverable = |all: &[kyso_store::audit::Entry]| {
            all.iter()
                .filter(|e| e.action == "incoming.delivery_undeliverable")
                .count()
        };
        kyso_web::mailer::server_round(&state, None).await;
        let all = kyso_store::audit::list(
            s,
            &Actor::system(),
            &kyso_store::audit::Filter {
                limit: 10_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(undeliverable(&all), 1, "{b:?}");
        assert_eq!(
            audit(s).await.1.len(),
            3,
            "{b:?}: the upload arrived, not the delivery"
        );
        let (seq, _) = audit(s).await;
        kyso_web::mailer::server_round(&state, None).await;
        let since = kyso_store::audit::list(
            s,
            &Actor::system(),
            &kyso_store::audit::Filter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        // Each round's own summaries of its scans (reminders, notices) aside.
        .filter(|e| {
            e.seq > seq && !["incoming.reminders", "notice.scan"].contains(&e.action.as_str())
        })
        .map(|e| format!("{} {} {}", e.action, e.object, e.detail))
        .collect::<Vec<_>>();
        assert!(
            since.is_empty(),
            "{b:?}: the next round does nothing for the delivery: {since:?}"
        );
        assert!(
            inc::agencies_with_pending_deliveries(s, None, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b:?}"
        );
        // Refused through the API: the Department's document and clerk hear why.
        let upload = up["id"].as_i64().unwrap();
        let (st, out, _) = support::call_json(
            &router,
            Method::POST,
            &format!("/api/v1/incoming/{upload}/refuse"),
            &clerk_token,
            Some(json!({"reason": "Văn bản đã nhận qua kênh khác"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{b:?}: {out}");
        let page = docs::get_document(s, &vt, third).await.unwrap();
        assert!(
            page.timeline.iter().any(|t| t.action == "incoming_refused"
                && t.note.contains("Văn bản đã nhận qua kênh khác")),
            "{b:?}"
        );
        let inbox = kyso_store::notices::inbox(s, &vt, false).await.unwrap();
        assert!(
            inbox.iter().any(|n| n.event == "incoming_refused"
                && n.document_id == Some(third)
                && n.body.contains("Văn bản đã nhận qua kênh khác")),
            "{b:?}: {inbox:?}"
        );
    }
}
