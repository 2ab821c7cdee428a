//! The clerk signs an issued document's attachments in one click (issue 17 items 3 and 7), on
//! SQLite and on PostgreSQL: the page lists each attachment's title as a link to its latest
//! file and warns while the metadata's attachments and the uploaded files differ; its "Ký số"
//! button asks a one-time ticket for one attachment (VGCA `SignAppendix`), and a real
//! `kyso agent` (kyso_services::agent on a loopback port, driven over its WebSocket the way the
//! page's script drives it, with the agency's key behind its PIN prompt) downloads the
//! attachment with the ticket, signs it with the Decree 30 attachment stamp carrying the
//! document's number and uploads it; the server runs the manual upload's check on it.
//! Refusals: a ticket for someone without the clerk's duty, an appendix ticket without an
//! attachment, a ticket used again, an appendix ticket on the document's routes or on another
//! attachment's, a forged ticket naming another person, a stamp carrying another number (over
//! the ticket — the ticket survives it — and through the API); the dispatch waits for both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use kyso_store::testing::backends;
use serde_json::{json, Value};

mod support;
use support::agent::{agent_signs, as_sent, b64, pki, stamp_text, start_agent, status1, App};
use support::draft;
use support::flow::{annex, decision_meta, stamped};

/// The decision with two attachments in its metadata.
fn meta() -> Value {
    let mut meta = decision_meta(&["H99.05"]);
    meta["attachments"] = json!([{"title": "Danh sách đơn vị", "pages": 1},
                                 {"title": "Biểu mẫu", "pages": 1}]);
    meta
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_clerks_agent_signs_each_attachment_with_a_one_time_ticket() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let crew = app.crew(dost).await;
        let staff = crew.staff();
        let (drafter, signer, clerk) = (&crew.drafter, &crew.signer, &crew.clerk);
        let pki = pki("Attachment Signing Test Root");
        app.register_keys(dost, &pki.director, &pki.agency.signer)
            .await;
        app.open_outgoing_register(&staff.clerk, dost).await;
        let id = app
            .upload_draft(&staff.drafter, dost, meta(), &draft())
            .await;
        let base = format!("/api/v1/documents/{id}/attachments");

        // The metadata lists two attachments: until both files are there, the page says so.
        let (one, two) = (annex("Danh sách đơn vị"), annex("Biểu mẫu"));
        let first = app
            .call(
                Method::POST,
                &base,
                drafter,
                Some(
                    json!({"title": "Danh sách đơn vị", "file_name": "danh-sach.pdf",
                            "file_base64": b64(&one)}),
                ),
            )
            .await;
        let page = app.page(drafter, id).await;
        assert!(page.contains("id=\"attachments-mismatch\""), "{page}");
        assert!(page.contains("chưa có tệp: Biểu mẫu"), "{page}");
        let second = app
            .call(
                Method::POST,
                &base,
                drafter,
                Some(json!({"title": "biểu  mẫu", "file_name": "bieu-mau.pdf",
                            "file_base64": b64(&two)})),
            )
            .await;
        let ids = [
            first["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap(),
        ];
        let page = app.page(drafter, id).await;
        assert!(
            !page.contains("attachments-mismatch"),
            "titles match: {page}"
        );
        // Each title is a link to its latest file.
        assert!(
            page.contains(&format!(
                "<a href=\"/documents/{id}/attachments/{}/file?seq=1\" title=\"Tải về bản mới nhất\">Danh sách đơn vị</a>",
                ids[0]
            )),
            "{page}"
        );

        // The flow up to the organization signature, with real signatures.
        app.approve(&staff, id).await;
        let personal = app.sign_personal(&staff.signer, id, &pki.director).await;
        let numbered = app.number(&staff.clerk, id).await;
        let number = numbered.number.clone();
        // Before the organization signature no attachment ticket is given.
        let (status, body) = app
            .ticket(
                clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let issued = app
            .seal(&staff.clerk, id, &personal, &numbered, &pki.agency.signer)
            .await;

        // The clerk's page: one "Ký số" button per unsigned attachment, the script.
        let page = app.page(clerk, id).await;
        for a in ids {
            assert!(
                page.contains(&format!("data-attachment=\"{a}\"")),
                "button of {a}: {page}"
            );
        }
        assert!(page.contains("data-op=\"SignAppendix\""));
        assert!(page.contains("src=\"/static/kyso-sign.js\""));
        // Not for the signer; not without naming the attachment.
        let (status, _) = app
            .ticket(
                signer,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = app
            .ticket(clerk, id, json!({"action": "sign_appendix"}))
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("attachment_id")),
            "{body}"
        );

        // The ticket for attachment 1, as the page hands it to the agent.
        let (status, ticket) = app
            .ticket(
                clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignAppendix");
        assert_eq!(ticket["request"]["DocNumber"], json!(number));
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        // The ticket is for this attachment only: not the document's routes, not the other
        // attachment's.
        let (status, _) = app
            .download(
                &format!("/sign-agent/documents/{id}/versions/3/van-ban.pdf"),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the document's download");
        let (status, answer) = app
            .upload(
                &format!("/sign-agent/documents/{id}/signed"),
                &token,
                &issued,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(status1(&answer, "document upload").contains("phụ lục"));
        let other = format!("/sign-agent/documents/{id}/attachments/{}/signed", ids[1]);
        assert_ne!(other, upload);
        let (status, answer) = app.upload(&other, &token, &two).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(status1(&answer, "other attachment").contains("phụ lục khác"));
        // A token naming another person (the clerk's claims rewritten) is not the server's.
        let parts: Vec<&str> = token.split('.').collect();
        let b64u = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64u.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("1");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64u.encode(claims.to_string()),
            parts[2]
        );
        let (status, _) = app.download(&file, &forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The real agent: downloads with the ticket, asks the PIN, stamps, uploads.
        let (agent_addr, shown) = start_agent(&pki.agency, &app.base).await;
        let answer = agent_signs(agent_addr, &app.base, "SignAppendix", sent).await;
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], json!(number));
        let asked = shown.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(
            asked[0].contains("Ký phụ lục") && asked[0].contains(&number),
            "{asked:?}"
        );
        let list = app.call(Method::GET, &base, clerk, None).await;
        assert_eq!(list[0]["signed"], json!(true), "{list}");
        assert_eq!(list[0]["versions"][1]["kind"], "org_signed");
        let (_, signed) = app
            .bytes(&format!("{base}/{}/file", ids[0]), &clerk.token)
            .await;
        assert!(
            signed.starts_with(&one),
            "the attachment kept byte for byte"
        );
        assert_eq!(stamp_text(&signed)[0], number, "the stamp shows the number");
        // The ticket is spent.
        let (status, answer) = app.upload(&upload, &token, &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        let (status, _) = app.download(&file, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Attachment 2: a stamp with another number is refused, over the ticket (which
        // survives it) and through the API.
        let (_, ticket) = app
            .ticket(
                clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[1]}),
            )
            .await;
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        let (status, got) = app.download(&file, &token).await;
        assert_eq!((status, got.as_slice()), (StatusCode::OK, two.as_slice()));
        let wrong = stamped(&two, "02/QĐ-SKHCN", &pki.agency.signer);
        assert_ne!(number, "02/QĐ-SKHCN");
        let (status, answer) = app.upload(&upload, &token, &wrong).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let message = status1(&answer, "another number");
        assert!(
            message.contains(&number) && message.contains("02/QĐ-SKHCN"),
            "{message}"
        );
        let (status, body) = app
            .call_status(
                Method::POST,
                &format!("{base}/{}/signed", ids[1]),
                clerk,
                Some(json!({"file_base64": b64(&wrong)})),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
            "{body}"
        );
        // Nothing is dispatched while attachment 2 is unsigned.
        app.step_ok(&staff.clerk, id, "register").await;
        let (status, body) = app
            .call_status(
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                clerk,
                Some(json!({"action": "dispatch"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        // The same ticket, given back after the refusal, through the agent.
        let answer = agent_signs(agent_addr, &app.base, "SignAppendix", sent).await;
        assert_eq!(answer["Status"], 0, "{answer}");
        let list = app.call(Method::GET, &base, clerk, None).await;
        assert_eq!(list[1]["signed"], json!(true), "{list}");
        // Where the script goes on Status 0: the page with its success message.
        let (_, page) = app
            .app
            .page(clerk, &format!("/documents/{id}?done=attachment_sign"))
            .await;
        assert!(
            page.contains("Máy chủ đã kiểm tra và nhận phụ lục đã ký số cơ quan."),
            "{page}"
        );
        assert!(!page.contains("data-attachment="), "nothing left to sign");
        app.step_ok(&staff.clerk, id, "dispatch").await;
    }
}
