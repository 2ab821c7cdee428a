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

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine as _;
use kyso_pades::forms::{widget_builder, VisibleForm};
use kyso_pades::numbering;
use kyso_pades::sign_bytes;
use kyso_pdf::compose::{Align, Composer, Margins, Style};
use kyso_store::testing::backends;
use serde_json::{json, Value};

mod support;
use support::agent::{as_sent, b64, drive_agent, pki, stamp_text, start_agent, status1, App};
use support::{draft, opts, register_cert};

fn meta() -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"title": "Giám đốc", "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "page_count": 1,
        "attachments": [{"title": "Danh sách đơn vị", "pages": 1}, {"title": "Biểu mẫu", "pages": 1}]
    })
}

/// An attachment: a one-page PDF of kyso-pdf's composer.
fn annex(title: &str) -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    c.paragraph(title, &Style::new(14.0).bold().align(Align::Center))
        .unwrap();
    c.paragraph("Kèm theo Quyết định số ....../QĐ-SKHCN", &Style::new(13.0))
        .unwrap();
    c.finish(&Default::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_clerks_agent_signs_each_attachment_with_a_one_time_ticket() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let drafter = app.person("chuyenvien", dost, "drafter").await;
        let reviewer = app.person("truongphong", dost, "reviewer").await;
        let checker = app.person("thethuc", dost, "format_checker").await;
        let signer = app.person("giamdoc", dost, "signer").await;
        let clerk = app.person("vanthu", dost, "clerk").await;
        let pki = pki("Attachment Signing Test Root");
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
        let base = format!("/api/v1/documents/{id}/attachments");

        // The metadata lists two attachments: until both files are there, the page says so.
        let (one, two) = (annex("Danh sách đơn vị"), annex("Biểu mẫu"));
        let first = app
            .call(
                Method::POST,
                &base,
                &drafter,
                Some(
                    json!({"title": "Danh sách đơn vị", "file_name": "danh-sach.pdf",
                            "file_base64": b64(&one)}),
                ),
            )
            .await;
        let page = app.page(&drafter, id).await;
        assert!(page.contains("id=\"attachments-mismatch\""), "{page}");
        assert!(page.contains("chưa có tệp: Biểu mẫu"), "{page}");
        let second = app
            .call(
                Method::POST,
                &base,
                &drafter,
                Some(json!({"title": "biểu  mẫu", "file_name": "bieu-mau.pdf",
                            "file_base64": b64(&two)})),
            )
            .await;
        let ids = [
            first["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap(),
        ];
        let page = app.page(&drafter, id).await;
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
        // Before the organization signature no attachment ticket is given.
        let (status, body) = app
            .ticket(
                &clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
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

        // The clerk's page: one "Ký số" button per unsigned attachment, the script.
        let page = app.page(&clerk, id).await;
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
                &signer,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[0]}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = app
            .ticket(&clerk, id, json!({"action": "sign_appendix"}))
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("attachment_id")),
            "{body}"
        );

        // The ticket for attachment 1, as the page hands it to the agent.
        let (status, ticket) = app
            .ticket(
                &clerk,
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
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignAppendix", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], json!(number));
        let asked = shown.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(
            asked[0].contains("Ký phụ lục") && asked[0].contains(&number),
            "{asked:?}"
        );
        let list = app.call(Method::GET, &base, &clerk, None).await;
        assert_eq!(list[0]["signed"], json!(true), "{list}");
        assert_eq!(list[0]["versions"][1]["kind"], "org_signed");
        let (_, signed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("{base}/{}/file", ids[0]),
                &clerk.token,
                None,
            ),
        )
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
                &clerk,
                id,
                json!({"action": "sign_appendix", "attachment_id": ids[1]}),
            )
            .await;
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        let (status, got) = app.download(&file, &token).await;
        assert_eq!((status, got.as_slice()), (StatusCode::OK, two.as_slice()));
        let o = opts();
        let wrong = sign_bytes(
            &two,
            &o,
            &pki.agency.signer,
            Some(
                widget_builder(
                    VisibleForm::Attachment {
                        doc_number: "02/QĐ-SKHCN".into(),
                    },
                    o.signing_time,
                )
                .unwrap(),
            ),
        )
        .unwrap();
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
                &clerk,
                Some(json!({"file_base64": b64(&wrong)})),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
            "{body}"
        );
        // Nothing is dispatched while attachment 2 is unsigned.
        app.step(&clerk, id, json!({"action": "register"})).await;
        let (status, body) = app
            .call_status(
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                &clerk,
                Some(json!({"action": "dispatch"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        // The same ticket, given back after the refusal, through the agent.
        let origin = app.base.clone();
        let answer = tokio::task::spawn_blocking(move || {
            drive_agent(agent_addr, &origin, "SignAppendix", &sent)
        })
        .await
        .unwrap();
        assert_eq!(answer["Status"], 0, "{answer}");
        let list = app.call(Method::GET, &base, &clerk, None).await;
        assert_eq!(list[1]["signed"], json!(true), "{list}");
        // Where the script goes on Status 0: the page with its success message.
        let req = Request::builder()
            .uri(format!("/documents/{id}?done=attachment_sign"))
            .header(header::COOKIE, format!("kyso_session={}", clerk.token))
            .body(Body::empty())
            .unwrap();
        let (_, page, _) = support::send(&app.router, req).await;
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.contains("Máy chủ đã kiểm tra và nhận phụ lục đã ký số cơ quan."),
            "{page}"
        );
        assert!(!page.contains("data-attachment="), "nothing left to sign");
        app.step(&clerk, id, json!({"action": "dispatch"})).await;
    }
}
