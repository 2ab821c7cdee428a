//! The clerk signs a copy (SAO Y, SAO LỤC, TRÍCH SAO) of an issued document in one click (issue
//! 17 items 3 and 7), on SQLite and on PostgreSQL: the document page's "Ký bản sao" asks a
//! one-time `SignCopy` ticket naming the form and the place; the copy's number is reserved in
//! the copying agency's series with it; a real `kyso agent` (tests/support/agent.rs) downloads
//! the issued document with the ticket, signs it with the agency's organization key and the
//! Decree 30 copy stamp showing the form, the agency, "Số: 01/SY", the place and date, and
//! uploads it; the server checks the upload before the copy is recorded, and the page lists the
//! copy with its download and verification report. A recipient's clerk copies in its own
//! series with its own key. Refusals: a person without the clerk's role, another agency's
//! clerk, no form, the copy ticket on the document's routes, a stamp with another number
//! (naming both), a tampered upload (the ticket survives both), a ticket used again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::http::{Method, StatusCode};
use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
use kyso_pades::sign_bytes;
use kyso_store::testing::backends;
use serde_json::json;

mod support;
use support::agent::{agent_signs, as_sent, pki, stamp_text, start_agent, status1, App};
use support::flow::decision_meta;
use support::{draft, opts};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_clerks_agent_signs_a_numbered_copy_with_a_one_time_ticket() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let crew = app.crew(dost).await;
        let staff = crew.staff();
        let (signer, clerk) = (&crew.signer, &crew.clerk);
        let finance_clerk = app.person("vanthutc", finance, "clerk").await;
        let (pki, finance_pki) = (
            pki("Copy Signing Test Root"),
            pki("Copy Signing Finance Root"),
        );
        app.register_keys(dost, &pki.director, &pki.agency.signer)
            .await;
        app.register_seal(finance, "Sở Tài chính", &finance_pki.agency.signer)
            .await;
        app.open_outgoing_register(&staff.clerk, dost).await;
        let id = app
            .upload_draft(&staff.drafter, dost, decision_meta(&["H99.05"]), &draft())
            .await;

        // The flow to dispatch, with real signatures.
        app.approve(&staff, id).await;
        let personal = app.sign_personal(&staff.signer, id, &pki.director).await;
        let numbered = app.number(&staff.clerk, id).await;
        // Not before the document is issued.
        let (status, body) = app
            .ticket(clerk, id, json!({"action": "sign_copy", "form": "sao_y"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let issued = app
            .seal(&staff.clerk, id, &personal, &numbered, &pki.agency.signer)
            .await;
        app.step_ok(&staff.clerk, id, "register").await;
        app.step_ok(&staff.clerk, id, "dispatch").await;

        // The clerk's page offers "Ký bản sao" with the forms and the place.
        let page = app.page(clerk, id).await;
        assert!(page.contains("data-op=\"SignCopy\""), "{page}");
        assert!(page.contains("Ký bản sao"));
        assert!(page.contains("value=\"trich_sao\""));
        assert!(page.contains("src=\"/static/kyso-sign.js\""));
        assert!(!app.page(signer, id).await.contains("data-op=\"SignCopy\""));

        // Refusals before any number is taken: not a clerk, another agency's clerk for this
        // agency, no form.
        let (status, _) = app
            .ticket(signer, id, json!({"action": "sign_copy", "form": "sao_y"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app
            .ticket(
                &finance_clerk,
                id,
                json!({"action": "sign_copy", "form": "sao_y", "agency_id": dost}),
            )
            .await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{status}"
        );
        let (status, body) = app.ticket(clerk, id, json!({"action": "sign_copy"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("form")),
            "{body}"
        );

        // The ticket: copy 01/SY of the agency's series.
        let (status, ticket) = app
            .ticket(
                clerk,
                id,
                json!({"action": "sign_copy", "form": "sao_y", "place": "Demo"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignCopy");
        assert_eq!(ticket["request"]["DocNumber"], "01/SY");
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        // Only for the copy: not the document's routes.
        let (status, _) = app
            .download(
                &format!("/sign-agent/documents/{id}/versions/4/van-ban.pdf"),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, got) = app.download(&file, &token).await;
        assert_eq!(
            (status, got.as_slice()),
            (StatusCode::OK, issued.as_slice())
        );

        // A stamp with another number is refused, naming both; the ticket survives it.
        let o = opts();
        let wrong = sign_bytes(
            &issued,
            &o,
            &pki.agency.signer,
            Some(
                widget_builder(
                    VisibleForm::Copy {
                        form: CopyForm::Certified,
                        org_name: "Sở Khoa học và Công nghệ".into(),
                        number: Some("07/SY".into()),
                        place: None,
                    },
                    o.signing_time,
                )
                .unwrap(),
            ),
        )
        .unwrap();
        let (status, answer) = app.upload(&upload, &token, &wrong).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let message = status1(&answer, "another number");
        assert!(
            message.contains("01/SY") && message.contains("07/SY"),
            "{message}"
        );
        // A tampered upload (one signed byte changed) is refused too.
        let mut tampered = wrong.clone();
        let at = issued.len() / 2;
        tampered[at] ^= 0x01;
        let (status, answer) = app.upload(&upload, &token, &tampered).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        status1(&answer, "tampered");

        // The real agent: downloads with the ticket, asks the PIN, stamps, uploads.
        let (agent_addr, shown) = start_agent(&pki.agency, &app.base).await;
        let answer = agent_signs(agent_addr, &app.base, "SignCopy", sent).await;
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], "01/SY");
        let asked = shown.lock().unwrap().clone();
        assert!(
            asked.len() == 1 && asked[0].contains("bản sao") && asked[0].contains("01/SY"),
            "{asked:?}"
        );
        let detail = app
            .call(Method::GET, &format!("/api/v1/documents/{id}"), clerk, None)
            .await;
        let copies = detail["copies"].as_array().unwrap();
        assert_eq!(copies.len(), 1, "{detail}");
        assert_eq!(copies[0]["notation"], "01/SY");
        let copy_id = copies[0]["id"].as_i64().unwrap();
        // The page: the copy, its download, its report; the success message.
        let (_, page) = app
            .app
            .page(clerk, &format!("/documents/{id}?done=copy"))
            .await;
        assert!(
            page.contains("Máy chủ đã kiểm tra và nhận bản sao đã ký số"),
            "{page}"
        );
        assert!(page.contains("SAO Y — Số: 01/SY"), "{page}");
        let link = format!("/documents/{id}/copies/{copy_id}/file");
        assert!(page.contains(&link), "{page}");
        assert!(
            page.contains("Kiểm tra chữ ký số") || page.contains("chữ ký"),
            "{page}"
        );
        let (status, signed) = app.app.download(clerk, &link).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            signed.starts_with(&issued),
            "the issued document kept byte for byte"
        );
        let lines = stamp_text(&signed);
        assert_eq!(lines[0], "SAO Y — Sở Khoa học và Công nghệ", "{lines:?}");
        assert_eq!(
            lines[1], "Số: 01/SY — Demo, 2026-06-01T09:00:00+07:00",
            "{lines:?}"
        );
        // The ticket is spent.
        let (status, answer) = app.upload(&upload, &token, &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

        // The recipient's clerk copies in its own series, with its own key (SAO LỤC, 01/SL).
        let (status, ticket) = app
            .ticket(
                &finance_clerk,
                id,
                json!({"action": "sign_copy", "form": "sao_luc", "agency_id": finance,
                        "place": "Demo"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["request"]["DocNumber"], "01/SL");
        let (_, _, _, sent) = as_sent(&app.base, &ticket);
        let (finance_agent, _) = start_agent(&finance_pki.agency, &app.base).await;
        let answer = agent_signs(finance_agent, &app.base, "SignCopy", sent).await;
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], "01/SL");
        // The issuing agency's key is not the recipient's: its copy is refused.
        let (_, ticket) = app
            .ticket(
                &finance_clerk,
                id,
                json!({"action": "sign_copy", "form": "sao_y", "agency_id": finance}),
            )
            .await;
        assert_eq!(ticket["request"]["DocNumber"], "02/SY");
        let (_, _, _, sent) = as_sent(&app.base, &ticket);
        let answer = agent_signs(agent_addr, &app.base, "SignCopy", sent).await;
        assert_eq!(answer["Status"], 1, "{answer}");
    }
}
