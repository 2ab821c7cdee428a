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

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
use kyso_pades::{numbering, sign_bytes};
use kyso_store::testing::backends;
use serde_json::{json, Value};

mod support;
use support::agent::{as_sent, b64, drive_agent, stamp_text, start_agent, status1, App};
use support::{draft, opts, register_cert};

fn meta() -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"title": "Giám đốc", "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "page_count": 1
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_clerks_agent_signs_a_numbered_copy_with_a_one_time_ticket() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let drafter = app.person("chuyenvien", dost, "drafter").await;
        let reviewer = app.person("truongphong", dost, "reviewer").await;
        let checker = app.person("thethuc", dost, "format_checker").await;
        let signer = app.person("giamdoc", dost, "signer").await;
        let clerk = app.person("vanthu", dost, "clerk").await;
        let finance_clerk = app.person("vanthutc", finance, "clerk").await;
        let pki = support::agent::pki("Copy Signing Test Root");
        let finance_pki = support::agent::pki("Copy Signing Finance Root");
        register_cert(
            s,
            dost,
            "individual",
            "Nguyễn Văn An",
            "giamdoc@demo.invalid",
            &pki.director,
        )
        .await;
        register_cert(s, dost, "organization", "Sở KH&CN", "", &pki.agency.signer).await;
        register_cert(
            s,
            finance,
            "organization",
            "Sở Tài chính",
            "",
            &finance_pki.agency.signer,
        )
        .await;
        app.call(
            Method::POST,
            "/api/v1/document-registers",
            &clerk,
            Some(
                json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                        "issuer_abbrev": "SKHCN"}),
            ),
        )
        .await;
        let created = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(
                    json!({"agency_id": dost, "meta": meta(), "file_name": "du-thao.pdf",
                            "file_base64": b64(&draft())}),
                ),
            )
            .await;
        let id = created["document"]["id"].as_i64().unwrap();

        // The flow to dispatch, with real signatures.
        app.step(&drafter, id, json!({"action": "submit"})).await;
        app.step(&reviewer, id, json!({"action": "forward"})).await;
        app.step(&checker, id, json!({"action": "check_format"}))
            .await;
        app.step(&signer, id, json!({"action": "approve"})).await;
        let (_, formatted, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file"),
                &signer.token,
                None,
            ),
        )
        .await;
        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &pki.director,
            None,
        )
        .unwrap();
        app.step(
            &signer,
            id,
            json!({"action": "sign_personal", "file_base64": b64(&personal)}),
        )
        .await;
        app.step(&clerk, id, json!({"action": "clerk_check"})).await;
        let out = app.step(&clerk, id, json!({"action": "number"})).await;
        let number = out["number_and_notation"].as_str().unwrap().to_owned();
        let day = time::Date::parse(
            out["document"]["issued_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        // Not before the document is issued.
        let (status, body) = app
            .ticket(&clerk, id, json!({"action": "sign_copy", "form": "sao_y"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let filled = numbering::fill_bytes(&personal, &number, day).unwrap();
        let issued = sign_bytes(
            &filled,
            &numbering::organization_signature(opts()),
            &pki.agency.signer,
            None,
        )
        .unwrap();
        app.step(
            &clerk,
            id,
            json!({"action": "org_sign", "file_base64": b64(&issued)}),
        )
        .await;
        app.step(&clerk, id, json!({"action": "register"})).await;
        app.step(&clerk, id, json!({"action": "dispatch"})).await;

        // The clerk's page offers "Ký bản sao" with the forms and the place.
        let page = app.page(&clerk, id).await;
        assert!(page.contains("data-op=\"SignCopy\""), "{page}");
        assert!(page.contains("Ký bản sao"));
        assert!(page.contains("value=\"trich_sao\""));
        assert!(page.contains("src=\"/static/kyso-sign.js\""));
        assert!(!app.page(&signer, id).await.contains("data-op=\"SignCopy\""));

        // Refusals before any number is taken: not a clerk, another agency's clerk for this
        // agency, no form.
        let (status, _) = app
            .ticket(&signer, id, json!({"action": "sign_copy", "form": "sao_y"}))
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
        let (status, body) = app.ticket(&clerk, id, json!({"action": "sign_copy"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("form")),
            "{body}"
        );

        // The ticket: copy 01/SY of the agency's series.
        let (status, ticket) = app
            .ticket(
                &clerk,
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
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignCopy", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], "01/SY");
        let asked = shown.lock().unwrap().clone();
        assert!(
            asked.len() == 1 && asked[0].contains("bản sao") && asked[0].contains("01/SY"),
            "{asked:?}"
        );
        let detail = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}"),
                &clerk,
                None,
            )
            .await;
        let copies = detail["copies"].as_array().unwrap();
        assert_eq!(copies.len(), 1, "{detail}");
        assert_eq!(copies[0]["notation"], "01/SY");
        let copy_id = copies[0]["id"].as_i64().unwrap();
        // The page: the copy, its download, its report; the success message.
        let req = Request::builder()
            .uri(format!("/documents/{id}?done=copy"))
            .header(header::COOKIE, format!("kyso_session={}", clerk.token))
            .body(Body::empty())
            .unwrap();
        let (_, page, _) = support::send(&app.router, req).await;
        let page = String::from_utf8(page).unwrap();
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
        let req = Request::builder()
            .uri(&link)
            .header(header::COOKIE, format!("kyso_session={}", clerk.token))
            .body(Body::empty())
            .unwrap();
        let (status, signed, _) = support::send(&app.router, req).await;
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
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(finance_agent, &origin, "SignCopy", &sent)
        })
        .await
        .unwrap();
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
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignCopy", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 1, "{answer}");
    }
}
