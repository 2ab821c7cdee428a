//! Incoming documents get their copy signature (issue 18 item 1 "scans carry their copy
//! stamp", issue 17 item 7 "Ký bản sao" on the incoming page), through the real router on
//! SQLite and PostgreSQL, with a real `kyso agent` over its WebSocket (tests/support/agent.rs):
//! the Department of Finance's clerk uploads a scan (img2pdf + Ghostscript, as scanner software
//! writes it); it cannot be registered before it is digitised; `POST
//! /api/v1/incoming/{id}/copy-ticket` (`digitise`) reserves copy 01/SY of the agency's series;
//! the agent downloads the scan with the ticket, signs it with the agency's organization key
//! and the SAO Y stamp, and uploads it; the server checks it, keeps it beside the scan (both
//! byte for byte), makes the record's report the signed copy's; the scan is then registered and
//! copied (SAO LỤC, 02/SL) the same way. The incoming page offers the buttons and says it.
//! Refusals: not the clerk (403), another agency's clerk (404), not a scan (409), a scan
//! failing the scan check (422 with its reasons), the ticket on another kind of route (403),
//! a stamp with another number (naming both), another agency's key (the ticket survives
//! those two; a third refusal spends it), a ticket used again (401). pyHanko (strict) validates the
//! digitised copy when it is installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
use kyso_pades::sign_bytes;
use kyso_store::testing::backends;
use kyso_testkit::need;
use serde_json::json;

mod support;
use support::agent::{
    as_sent, drive_agent, pki, pyhanko_validates, stamp_text, start_agent, status1, App,
};
use support::scans::{page, scan, upload};
use support::{opts, register_cert};

/// `file` signed by `key` with the copy stamp showing `number` (as another tool would).
fn stamped(file: &[u8], key: &support::TestSigner, number: &str) -> Vec<u8> {
    let o = opts();
    sign_bytes(
        file,
        &o,
        key,
        Some(
            widget_builder(
                VisibleForm::Copy {
                    form: CopyForm::Certified,
                    org_name: "Sở Tài chính".into(),
                    number: Some(number.into()),
                    place: None,
                },
                o.signing_time,
            )
            .unwrap(),
        ),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_receiving_clerk_digitises_a_scan_and_copies_it_through_the_agent() {
    if !(need("img2pdf", &["--version"]) && need("gs", &["--version"])) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let good = scan(tmp.path(), "good", &page(200.0, true), "ppm");
    let poor = scan(tmp.path(), "poor", &page(150.0, false), "pgm");
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let clerk = app.person("vanthutc", finance, "clerk").await;
        let leader = app.person("giamdoctc", finance, "signer").await;
        let other_clerk = app.person("vanthu", dost, "clerk").await;
        let finance_pki = pki("Incoming Copies Finance Root");
        let dost_pki = pki("Incoming Copies Science Root");
        register_cert(
            s,
            finance,
            "organization",
            "Sở Tài chính",
            "",
            &finance_pki.agency.signer,
        )
        .await;
        register_cert(
            s,
            dost,
            "organization",
            "Sở KH&CN",
            "",
            &dost_pki.agency.signer,
        )
        .await;

        // Two scans, and a letter received by e-mail (not a scan).
        let mailed = support::draft();
        let mut ids = Vec::new();
        for (n, (file, scanned)) in [(&good, true), (&poor, true), (&mailed, false)]
            .into_iter()
            .enumerate()
        {
            let (st, v) = app
                .call_status(
                    Method::POST,
                    "/api/v1/incoming/upload",
                    &clerk,
                    Some(upload(finance, &format!("{}", 40 + n), file, scanned)),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{b:?}: {v}");
            ids.push(v["id"].as_i64().unwrap());
        }
        let (id, poor_id, not_scan) = (ids[0], ids[1], ids[2]);
        let ticket_path = format!("/api/v1/incoming/{id}/copy-ticket");
        let digitise = json!({"action": "digitise", "place": "Demo"});

        // Not registered before it is digitised.
        let (st, v) = app
            .call_status(
                Method::POST,
                &format!("/api/v1/incoming/{id}/register"),
                &clerk,
                Some(json!({"reason": "Đã đối chiếu bản giấy"})),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{b:?}: {v}");
        assert!(v.to_string().contains("số hóa"), "{v}");

        // The page offers the digitisation to the clerk only.
        let page = |who: &support::agent::Person, path: String| {
            let req = Request::builder()
                .uri(path)
                .header(header::COOKIE, format!("kyso_session={}", who.token))
                .body(Body::empty())
                .unwrap();
            let router = app.router.clone();
            async move {
                let (st, bytes, _) = support::send(&router, req).await;
                assert_eq!(st, StatusCode::OK);
                String::from_utf8(bytes).unwrap()
            }
        };
        let html = page(&clerk, format!("/incoming/{id}")).await;
        assert!(html.contains("Ký số bản số hóa"), "{html}");
        assert!(html.contains("data-action=\"digitise\""), "{html}");
        assert!(html.contains("src=\"/static/kyso-sign.js\""));
        assert!(!page(&leader, format!("/incoming/{id}"))
            .await
            .contains("data-action=\"digitise\""));

        // Refusals before any number is taken.
        let (st, _) = app
            .call_status(Method::POST, &ticket_path, &leader, Some(digitise.clone()))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{b:?}: not the clerk");
        let (st, _) = app
            .call_status(
                Method::POST,
                &ticket_path,
                &other_clerk,
                Some(digitise.clone()),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b:?}: another agency's clerk");
        let (st, v) = app
            .call_status(
                Method::POST,
                &format!("/api/v1/incoming/{not_scan}/copy-ticket"),
                &clerk,
                Some(digitise.clone()),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{b:?}: not a scan: {v}");
        let (st, v) = app
            .call_status(
                Method::POST,
                &format!("/api/v1/incoming/{poor_id}/copy-ticket"),
                &clerk,
                Some(digitise.clone()),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("150 dpi") && msg.contains("quét lại"), "{v}");
        let (st, v) = app
            .call_status(
                Method::POST,
                &ticket_path,
                &clerk,
                Some(json!({"action": "digitise", "form": "sao_luc"})),
            )
            .await;
        assert_eq!(
            (st, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("form")),
            "{v}"
        );

        // The ticket: copy 01/SY of the agency's series, over the stored scan.
        let ticket = app
            .call(Method::POST, &ticket_path, &clerk, Some(digitise.clone()))
            .await;
        assert_eq!(ticket["operation"], "SignCopy");
        assert_eq!(ticket["request"]["DocNumber"], "01/SY");
        let (file, upload_path, token, sent) = as_sent(&app.base, &ticket);
        let (st, got) = app.download(&file, &token).await;
        assert_eq!((st, got.as_slice()), (StatusCode::OK, good.as_slice()));
        // Another kind of route refuses it.
        let (st, _) = app
            .upload(
                &format!("/sign-agent/documents/{id}/copy/signed"),
                &token,
                &good,
            )
            .await;
        assert_eq!(
            st,
            StatusCode::FORBIDDEN,
            "{b:?}: the ticket on a document's route"
        );
        let (st, _) = app
            .download(
                &format!("/sign-agent/documents/{id}/versions/1/x.pdf"),
                &token,
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // A stamp with another number, another agency's key: refused, the ticket survives (a
        // third refusal would spend it).
        let wrong = stamped(&good, &finance_pki.agency.signer, "07/SY");
        let (st, answer) = app.upload(&upload_path, &token, &wrong).await;
        assert_eq!(st, StatusCode::OK, "{answer}");
        let message = status1(&answer, "another number");
        assert!(
            message.contains("01/SY") && message.contains("07/SY"),
            "{message}"
        );
        let theirs = stamped(&good, &dost_pki.agency.signer, "01/SY");
        let (_, answer) = app.upload(&upload_path, &token, &theirs).await;
        status1(&answer, "another agency's key");

        // The real agent: downloads with the ticket, asks the PIN, stamps, uploads.
        let (agent_addr, shown) = start_agent(&finance_pki.agency, &app.base).await;
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignCopy", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{b:?}: {answer}");
        assert_eq!(answer["DocumentNumber"], "01/SY");
        assert!(shown.lock().unwrap().len() == 1);
        // The ticket is spent.
        let (st, _) = app.upload(&upload_path, &token, &wrong).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{b:?}: a ticket used again");

        // Kept beside the scan; the record's report is the signed copy's.
        let copies = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{id}/copies"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(copies.as_array().unwrap().len(), 1, "{copies}");
        assert_eq!(copies[0]["purpose"], "digitised");
        assert_eq!(copies[0]["notation"], "01/SY");
        let (st, original, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/incoming/{id}/file"),
                &clerk.token,
                None,
            ),
        )
        .await;
        assert_eq!((st, original.as_slice()), (StatusCode::OK, good.as_slice()));
        let (st, signed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/incoming/{id}/digitised"),
                &clerk.token,
                None,
            ),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert!(signed.len() > good.len() && signed.starts_with(&good));
        let lines = stamp_text(&signed);
        assert_eq!(lines[0], "SAO Y — Sở Khoa học và Công nghệ", "{lines:?}");
        assert!(lines[1].starts_with("Số: 01/SY — Demo"), "{lines:?}");
        let record = app
            .call(Method::GET, &format!("/api/v1/incoming/{id}"), &clerk, None)
            .await;
        assert_ne!(record["verdict"], "failed", "{record}");
        let report = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{id}/report"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(
            report["signatures"].as_array().unwrap().len(),
            1,
            "{report}"
        );
        pyhanko_validates(&signed, finance_pki.agency.signer.chain.last().unwrap(), 1);

        // The page says so and lists the copy.
        let html = page(&clerk, format!("/incoming/{id}?done=digitise")).await;
        assert!(html.contains("nhận bản số hóa đã ký số"), "{html}");
        assert!(html.contains("Số: 01/SY"), "{html}");
        assert!(!html.contains("data-action=\"digitise\""));

        // Registered now (the test root is not trusted: indeterminate, with the reason).
        app.call(
            Method::POST,
            &format!("/api/v1/incoming/{id}/register"),
            &clerk,
            Some(json!({"reason": "Đã đối chiếu bản giấy"})),
        )
        .await;

        // A copy of the registered document: SAO LỤC 02/SL, the same path.
        let html = page(&clerk, format!("/incoming/{id}")).await;
        assert!(html.contains("data-action=\"sign_copy\""), "{html}");
        let (st, _) = app
            .call_status(
                Method::POST,
                &ticket_path,
                &leader,
                Some(json!({"action": "sign_copy", "form": "sao_luc"})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let ticket = app
            .call(
                Method::POST,
                &ticket_path,
                &clerk,
                Some(json!({"action": "sign_copy", "form": "sao_luc", "place": "Demo"})),
            )
            .await;
        assert_eq!(ticket["request"]["DocNumber"], "02/SL");
        let (_, _, _, sent) = as_sent(&app.base, &ticket);
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignCopy", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{b:?}: {answer}");
        assert_eq!(answer["DocumentNumber"], "02/SL");
        let copies = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{id}/copies"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(copies[1]["purpose"], "copy", "{copies}");
        let copy_id = copies[1]["id"].as_i64().unwrap();
        let req = Request::builder()
            .uri(format!("/incoming/{id}/copies/{copy_id}/file"))
            .header(header::COOKIE, format!("kyso_session={}", clerk.token))
            .body(Body::empty())
            .unwrap();
        let (st, copied, _) = support::send(&app.router, req).await;
        assert_eq!(st, StatusCode::OK);
        // Made over the scan kept byte for byte, not over the digitised copy (a stamp on a
        // scan covers the page's image, which that copy's signature covers), with one
        // signature.
        assert!(
            copied.starts_with(&good) && !copied.starts_with(&signed),
            "the scan kept byte for byte"
        );
        let doc = kyso_pdf::Document::open(
            std::sync::Arc::new(kyso_pdf::MemSource::new(copied.clone())),
            kyso_pdf::Limits::default(),
        )
        .unwrap();
        assert_eq!(kyso_pades::verify::verify_document(&doc).unwrap().len(), 1);
        assert!(stamp_text(&copied)[0].starts_with("SAO LỤC"));
        // Another agency's clerk reads none of it.
        let (st, _) = app
            .call_status(
                Method::GET,
                &format!("/api/v1/incoming/{id}/copies"),
                &other_clerk,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}
