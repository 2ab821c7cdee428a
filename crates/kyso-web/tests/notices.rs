//! Expiry notices through the API and by e-mail. A certificate of the Finance department is
//! about to expire: the Department's administrator runs the scan, the department's signature
//! officer finds the notice in their inbox and marks it read, and the same notice reaches
//! their mailbox through the tests' tiny SMTP server (`support::smtp`), with its Vietnamese
//! subject intact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::Router;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{self, AgencyInput, SubscriberInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Store};
use kyso_web::mailer::{Mailer, SmtpConfig};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

mod support;
use support::smtp::{self, mail_text};
use support::{NOW, PASSWORD};

fn cert_pem(cn: &str, serial: u64, not_after: OffsetDateTime) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    params.not_before = NOW - Duration::days(300);
    params.not_after = not_after;
    kyso_store::testing::TestCa::get()
        .sign(&params, &key)
        .into_bytes()
}

async fn account(store: &Store, name: &str, email: &str, agency: i64, role: &str) {
    accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Cán bộ {name}"),
            email: email.into(),
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
}

/// A province with the Finance department; its officer `cb.stc` (with an e-mail address), an
/// officer `cb.khac` of another department, and the administrator `quantri`. Nguyễn Văn An's
/// certificate at Finance expires in 20 days.
async fn province(store: &Store) {
    let sys = Actor::system();
    let mk = |code: &str, name: &str, kind: &str, parent: Option<i64>| AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: kind.into(),
        parent_id: parent,
        ..Default::default()
    };
    let root = registry::create_agency(
        store,
        &sys,
        &mk("H99", "UBND Tỉnh Demo", "province", None),
        NOW,
    )
    .await
    .unwrap();
    let finance = registry::create_agency(
        store,
        &sys,
        &mk("H99.05", "Sở Tài chính", "department", Some(root.id)),
        NOW,
    )
    .await
    .unwrap();
    let other = registry::create_agency(
        store,
        &sys,
        &mk("H99.06", "Sở Xây dựng", "department", Some(root.id)),
        NOW,
    )
    .await
    .unwrap();
    account(
        store,
        "cb.stc",
        "cb.stc@stc.example.vn",
        finance.id,
        "signature_officer",
    )
    .await;
    account(
        store,
        "cb.khac",
        "cb.khac@sxd.example.vn",
        other.id,
        "signature_officer",
    )
    .await;
    account(store, "quantri", "", root.id, "dost_admin").await;
    let an = registry::create_subscriber(
        store,
        &sys,
        &SubscriberInput {
            kind: "individual".into(),
            agency_id: finance.id,
            name: "Nguyễn Văn An".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    registry::import_certificate(
        store,
        &sys,
        &kyso_store::registry::CertImport {
            agency_id: finance.id,
            subscriber_id: Some(an.id),
            bytes: &cert_pem("Nguyễn Văn An", 0x1001, NOW + Duration::days(20)),
            mismatch_reason: None,
        },
        NOW,
    )
    .await
    .unwrap();
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, v, _) = support::call_json(router, method, path, token, body).await;
    (status, v)
}

async fn login(router: &Router, user: &str) -> String {
    let (status, body) = call(
        router,
        Method::POST,
        "/api/v1/auth/login",
        "",
        Some(json!({"username": user, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_inbox_shows_ones_own_notices_and_only_the_department_runs_the_scan() {
    for b in backends() {
        let db = TestDb::new(b).await;
        province(&db.store).await;
        let router = kyso_web::router(kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        ));
        let officer = login(&router, "cb.stc").await;
        let other = login(&router, "cb.khac").await;
        let admin = login(&router, "quantri").await;

        // Before any scan, the officer's notices page already lists the certificate that
        // expires in 20 days; the other department's lists none.
        let html = page(&router, &format!("kyso_session={officer}"), "/notices").await;
        assert!(
            html.contains("Chứng thư số hết hạn trong 60 ngày tới")
                && html.contains("Nguyễn Văn An"),
            "{b:?}: {html}"
        );
        let html = page(&router, &format!("kyso_session={other}"), "/notices").await;
        assert!(
            html.contains("Không có chứng thư số nào sắp hết hạn."),
            "{b:?}: {html}"
        );

        let (status, _) = call(
            &router,
            Method::POST,
            "/api/v1/notices/scan",
            &officer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{b:?}");
        let (status, summary) =
            call(&router, Method::POST, "/api/v1/notices/scan", &admin, None).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert_eq!(summary["notices"], 1, "{summary}");

        let (status, inbox) = call(&router, Method::GET, "/api/v1/notices", &officer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(inbox["unread"], 1);
        let notice = &inbox["items"][0];
        assert_eq!(notice["stage_days"], 30);
        assert_eq!(
            notice["subject"],
            "Chứng thư số của Nguyễn Văn An (số hiệu 1001) hết hạn sau 20 ngày (ngày 21/06/2026)"
        );
        let id = notice["id"].as_i64().unwrap();
        // The dashboard says what waits: the unread notice, linked to the inbox.
        let html = page(&router, &format!("kyso_session={officer}"), "/").await;
        assert!(
            html.contains("Thông báo chưa đọc (1)")
                && html.contains(&format!("/notices#notice-{id}")),
            "{b:?}: {html}"
        );

        // The other department's officer sees nothing and cannot touch it.
        let (_, theirs) = call(&router, Method::GET, "/api/v1/notices", &other, None).await;
        assert_eq!(theirs["items"], json!([]), "{b:?}");
        let (status, err) = call(
            &router,
            Method::POST,
            &format!("/api/v1/notices/{id}/read"),
            &other,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
        assert!(err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("thông báo"));

        let (status, _) = call(
            &router,
            Method::POST,
            &format!("/api/v1/notices/{id}/read"),
            &officer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, unread) = call(
            &router,
            Method::GET,
            "/api/v1/notices?unread=true",
            &officer,
            None,
        )
        .await;
        assert_eq!(unread["items"], json!([]));
        let html = page(&router, &format!("kyso_session={officer}"), "/").await;
        assert!(!html.contains("Thông báo chưa đọc"), "{b:?}: nothing waits");
    }
}

#[tokio::test]
async fn notices_are_emailed_to_the_officer_with_a_vietnamese_subject() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        province(store).await;
        let sink = smtp::sink().await;
        let (port, received) = (sink.port, sink.received.clone());
        let mailer = Mailer::new(&SmtpConfig {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "Sở KH&CN <kyso@skhcn.example.vn>".into(),
            password: None,
        })
        .unwrap();
        let clock: kyso_web::Clock = Arc::new(|| NOW);
        kyso_web::mailer::notice_round(store, &clock, Some(&mailer)).await;

        let got = received.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{b:?}: {got:?}");
        assert_eq!(
            got[0].rcpt,
            ["cb.stc@stc.example.vn"],
            "only the Finance officer"
        );
        assert_eq!(
            smtp::header(&got[0].data, "Subject"),
            "Chứng thư số của Nguyễn Văn An (số hiệu 1001) hết hạn sau 20 ngày (ngày 21/06/2026)"
        );
        assert!(got[0].data.contains("kyso@skhcn.example.vn"));

        // Sent once: the next round has nothing to send, and the inbox knows it was e-mailed.
        kyso_web::mailer::notice_round(store, &clock, Some(&mailer)).await;
        assert_eq!(received.lock().unwrap().len(), 1, "{b:?}");
        assert!(kyso_store::notices::pending_emails(store, NOW)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn an_unreachable_mail_server_keeps_the_notice_for_the_next_round() {
    let db = TestDb::new(kyso_store::Backend::Sqlite).await;
    let store = &db.store;
    province(store).await;
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mailer = Mailer::new(&SmtpConfig {
        url: format!("smtp://127.0.0.1:{port}"),
        from: "kyso@skhcn.example.vn".into(),
        password: None,
    })
    .unwrap();
    let s = mailer.send_pending(store, NOW).await.unwrap();
    assert_eq!(s.sent + s.failed, 0, "no notice yet");
    kyso_store::notices::run_expiry_scan(store, NOW)
        .await
        .unwrap();
    let s = mailer.send_pending(store, NOW).await.unwrap();
    assert_eq!((s.sent, s.failed), (0, 1));
    assert_eq!(
        kyso_store::notices::pending_emails(store, NOW)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A browser session (cookie, CSRF token) of a new account holding `role` at `agency`, with
/// the actor the store sees.
async fn member(
    store: &Store,
    name: &str,
    email: &str,
    agency: i64,
    role: kyso_domain::roles::Role,
) -> (String, String, Actor) {
    account(store, name, email, agency, role.as_str()).await;
    let (session, actor) = accounts::login(
        store,
        name,
        Zeroizing::new(PASSWORD.into()),
        "127.0.0.1",
        NOW,
    )
    .await
    .unwrap();
    (
        format!("kyso_session={}", session.token.as_str()),
        session.csrf,
        actor,
    )
}

async fn page(router: &Router, cookie: &str, path: &str) -> String {
    let req = axum::http::Request::builder()
        .uri(path)
        .header(axum::http::header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body, _) = support::send(router, req).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn document_steps_reach_the_inbox_page_and_the_mailbox() {
    use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignerBlock};
    use kyso_domain::roles::Role;
    use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
    const SUBJECT: &str = "Về việc tổ chức hội nghị chuyển đổi số";
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let blobs = kyso_store::blobs::Blobs::open(dir.path()).unwrap();
        let router = kyso_web::router(
            kyso_web::AppState::new(
                store.clone(),
                Arc::new(|| NOW),
                kyso_web::Config {
                    secure_cookies: false,
                },
            )
            .with_blobs(blobs.clone()),
        );
        let root = support::agency(store, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(store, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        docs::create_register(
            store,
            &Actor::system(),
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
        let at = dost;
        let (drafter_cookie, _, drafter) = member(
            store,
            "chuyenvien",
            "cv@skhcn.example.vn",
            at,
            Role::Drafter,
        )
        .await;
        let (head_cookie, head_csrf, head) = member(
            store,
            "truongphong",
            "tp@skhcn.example.vn",
            at,
            Role::Reviewer,
        )
        .await;
        let d = docs::create_document(
            store,
            &blobs,
            &drafter,
            &NewDocument {
                agency_id: dost,
                meta: DocumentMeta {
                    doc_type: DocType::CongVan,
                    subject: SUBJECT.into(),
                    place: "Demo".into(),
                    unit_abbrev: "VP".into(),
                    signer: SignerBlock {
                        title: "Giám đốc".into(),
                        name: "Nguyễn Văn An".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: b"%PDF-1.7\n% draft\n%%EOF\n".to_vec(),
            },
            NOW,
        )
        .await
        .unwrap();
        let step = |who: &Actor, action: DocAction, reason: &str| {
            let (who, reason, blobs) = (who.clone(), reason.to_owned(), blobs.clone());
            async move {
                docs::act(
                    store,
                    &blobs,
                    &who,
                    d.id,
                    action,
                    &StepInput {
                        reason,
                        ..Default::default()
                    },
                    NOW,
                )
                .await
                .unwrap();
            }
        };
        step(&drafter, DocAction::Submit, "").await;
        step(&head, DocAction::Return, "Bổ sung thành phần dự họp").await;
        step(&drafter, DocAction::Submit, "Đã bổ sung").await;

        // The unit head's inbox: two notices, the newest (with the drafter's note) first,
        // both unread and marked so, each linking to the document.
        let html = page(&router, &head_cookie, "/notices").await;
        assert!(html.contains("2 thông báo chưa đọc"), "{b:?}: {html}");
        let first = html.find("Ý kiến: Đã bổ sung").expect("the newest notice");
        let second = html.rfind("chờ ông/bà: chuyển kiểm tra thể thức").unwrap();
        assert!(first < second, "{b:?}: newest first");
        assert_eq!(html.matches("[Mới]").count(), 2);
        let link = format!("href=\"/documents/{}\"", d.id);
        assert!(html.matches(&link).count() >= 2, "{b:?}: {html}");
        assert!(html.contains(&format!("Văn bản chờ ông/bà xử lý: {SUBJECT}")));

        // Marked read through the form, the mark goes; in English the page speaks English.
        let inbox = kyso_store::notices::inbox(store, &head, false)
            .await
            .unwrap();
        assert_eq!(inbox.len(), 2, "{b:?}");
        assert_eq!(
            (inbox[0].kind.as_str(), inbox[0].event.as_str()),
            ("document", "submit")
        );
        let newest = inbox[0].id;
        let req = axum::http::Request::builder()
            .method(Method::POST)
            .uri(format!("/notices/{newest}/read"))
            .header(axum::http::header::COOKIE, &head_cookie)
            .header(
                axum::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(axum::body::Body::from(format!("csrf={head_csrf}")))
            .unwrap();
        let (status, _, _) = support::send(&router, req).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let html = page(&router, &head_cookie, "/notices").await;
        assert_eq!(html.matches("[Mới]").count(), 1, "{b:?}");
        assert!(html.contains("1 thông báo chưa đọc"));
        let html = page(&router, &format!("{head_cookie}; kyso_lang=en"), "/notices").await;
        assert!(
            html.contains(&format!("A document awaits you: {SUBJECT}")),
            "{b:?}: {html}"
        );
        assert!(html.contains("took the step") && !html.contains("đã thực hiện bước"));

        // The drafter's inbox holds the return with its reason.
        let html = page(&router, &drafter_cookie, "/notices").await;
        assert!(
            html.contains(&format!("Văn bản bị trả lại: {SUBJECT}")),
            "{b:?}"
        );
        assert!(html.contains("Lý do: Bổ sung thành phần dự họp"));

        // A mail reader cannot open a path of the server: without the server's public address
        // (`--public-url`) the mail says so instead of carrying the bare path.
        let page_path = format!("/documents/{}", d.id);
        let pending = kyso_store::notices::pending_emails(store, NOW)
            .await
            .unwrap();
        assert_eq!(pending.len(), 3, "{b:?}");
        for m in &pending {
            assert_eq!(m.link, page_path, "{b:?}");
            let text = m.email_body(None);
            assert!(!text.contains(&page_path), "{b:?}: {text}");
            assert!(text.contains("không kèm đường dẫn"), "{b:?}: {text}");
            assert!(text.contains("carries no link"), "{b:?}: {text}");
        }

        // The mailer's round e-mails the three notices to their addresses, once, each with the
        // document's full address.
        let sink = smtp::sink().await;
        let (port, received) = (sink.port, sink.received.clone());
        let mailer = Mailer::new(&SmtpConfig {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "Sở KH&CN <kyso@skhcn.example.vn>".into(),
            password: None,
        })
        .unwrap()
        .with_public_url(Some("https://kyso.skhcn.example.vn".into()));
        let clock: kyso_web::Clock = Arc::new(|| NOW);
        kyso_web::mailer::notice_round(store, &clock, Some(&mailer)).await;
        let got = received.lock().unwrap().clone();
        let mut to: Vec<(String, String)> = got
            .iter()
            .map(|m| (m.rcpt.join(","), smtp::header(&m.data, "Subject")))
            .collect();
        to.sort();
        assert_eq!(
            to,
            [
                (
                    "cv@skhcn.example.vn".to_owned(),
                    format!("Văn bản bị trả lại: {SUBJECT}")
                ),
                (
                    "tp@skhcn.example.vn".to_owned(),
                    format!("Văn bản chờ ông/bà xử lý: {SUBJECT}")
                ),
                (
                    "tp@skhcn.example.vn".to_owned(),
                    format!("Văn bản chờ ông/bà xử lý: {SUBJECT}")
                ),
            ],
            "{b:?}"
        );
        let full = format!("https://kyso.skhcn.example.vn{page_path}");
        for m in &got {
            let text = mail_text(&m.data);
            assert!(
                text.contains(&format!("Xem văn bản: {full}")),
                "{b:?}: {text}"
            );
            assert!(
                text.contains(&format!("Open the document: {full}")),
                "{b:?}: {text}"
            );
            assert!(!text.contains(&format!(": {page_path}")), "{b:?}: {text}");
        }
        kyso_web::mailer::send_round(store, &clock, Some(&mailer)).await;
        assert_eq!(received.lock().unwrap().len(), 3, "{b:?}: sent once");
    }
}
