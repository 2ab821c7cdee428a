//! Signing in the browser with the official's own token (issue 17 item 3), on SQLite and on
//! PostgreSQL, as the signing service does it: the page's ticket (session and CSRF token), the
//! VGCA request it hands the service (parsed by `kyso agent`'s own protocol code), the download
//! with the ticket as a bearer token, the signature made in process the way the agent makes it
//! (kyso_pades::numbering's personal signature; the number and date filled, then the
//! organization signature), the multipart upload answered in the VGCA shape, and the step done.
//! Refusals: no, forged and expired tickets, a ticket used twice, a ticket for another document,
//! version or step, a person without the duty, a page's request (`Origin`), a tampered file
//! (the ticket survives it), a seal over another number.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use kyso_pades::numbering;
use kyso_services::agent::protocol::{parse_operation, Operation, SignOp};
use kyso_store::testing::backends;
use kyso_store::Backend;
use serde_json::{json, Value};

mod support;
use support::agent::{pki, status1};
use support::app::{App, Session};
use support::flow::{decision_meta, personally_signed, sealed};
use support::{draft, draft_with_number_line};

/// Where the page sends the signing service: the URLs of the ticket's request are made
/// absolute on this site.
const SITE: &str = "http://kyso.test";

/// A step or ticket's body: `{"action": action}`.
fn act(action: &str) -> Value {
    json!({ "action": action })
}

/// Document `id` as the API shows it to `who`.
async fn state(app: &App, who: &Session, id: i64) -> Value {
    app.get_ok(&format!("/api/v1/documents/{id}"), &who.token)
        .await
}

/// The ticket's request as the page sends it to the service.
fn as_sent(ticket: &Value) -> (String, String, String, String) {
    support::agent::as_sent(SITE, ticket)
}

#[tokio::test]
async fn the_signing_service_signs_with_a_one_time_ticket() {
    for b in backends() {
        let pki = pki("Browser Signing Test Root");
        let root_cert = pki.director.chain[0].clone();
        let app = App::with(b, |st| {
            st.with_trust_anchors(kyso_x509::path::TrustStore::from_certs([root_cert]))
        })
        .await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let crew = app.crew(dost).await;
        let staff = crew.staff();
        let (drafter, checker, signer, clerk) =
            (&crew.drafter, &crew.checker, &crew.signer, &crew.clerk);
        app.register_keys(dost, &pki.director, &pki.agency.signer)
            .await;
        app.open_outgoing_register(&staff.clerk, dost).await;
        let meta = decision_meta(&[]);
        // Uploaded, submitted and forwarded: its format to be checked.
        let forwarded = |file: Vec<u8>| {
            let (app, staff, meta) = (&app, &staff, meta.clone());
            async move {
                let id = app.upload_draft(&staff.drafter, dost, meta, &file).await;
                app.step_ok(&staff.drafter, id, "submit").await;
                app.step_ok(&staff.reviewer, id, "forward").await;
                id
            }
        };
        let make = || async {
            let id = forwarded(draft()).await;
            app.step_ok(&staff.checker, id, "check_format").await;
            id
        };
        let id = make().await;
        let other = make().await;

        // A draft printing another notation after the number's blank than the document's own
        // (the register gives QĐ-SKHCN) is refused at the format check, before a number is
        // reserved that could not be filled in.
        let wrong_id = forwarded(draft_with_number_line("Số: ......../QĐ-UBND")).await;
        let (status, v) = app
            .step(&checker.token, wrong_id, act("check_format"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let msg = v.to_string();
        assert!(
            msg.contains("/QĐ-UBND") && msg.contains("QĐ-SKHCN"),
            "{msg}"
        );
        assert_eq!(
            state(&app, checker, wrong_id).await["document"]["state"],
            "forwarded"
        );

        // Before approval nobody signs; the page shows no Sign button.
        let (status, body) = app
            .sign_ticket(signer, id, act("sign_personal"), Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        app.step_ok(&staff.signer, id, "approve").await;
        app.step_ok(&staff.signer, other, "approve").await;

        // The page: the button the browser test clicks, its status region, the script by
        // address (no inline script), the policy that lets it reach the service.
        let req = Request::builder()
            .uri(format!("/documents/{id}"))
            .header(header::COOKIE, signer.cookie())
            .body(Body::empty())
            .unwrap();
        let (status, page, headers) = support::send(&app.router, req).await;
        let page = String::from_utf8(page).unwrap();
        assert_eq!(status, StatusCode::OK);
        for needle in [
            "class=\"primary sign-agent\"",
            "data-op=\"SignApproved\"",
            "data-action=\"sign_personal\"",
            "id=\"sign-status-sign_personal\" role=\"status\"",
            "id=\"kyso-agent-address\"",
            "<script src=\"/static/kyso-sign.js\" defer>",
            &format!("action=\"/documents/{id}/signed\""),
        ] {
            assert!(page.contains(needle), "{needle} not in the page");
        }
        assert!(!page.contains("<script>"), "an inline script");
        // No signature yet: no verification section.
        assert!(
            !page.contains("id=\"sig-check\""),
            "a section without signatures"
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("connect-src 'self' ws://127.0.0.1:*"),
            "{csp}"
        );
        let (status, js, headers) = app.service_download("/static/kyso-sign.js", "", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        let js = String::from_utf8(js).unwrap();
        assert!(js.contains("'kyso.agent'") && js.contains("sign-status-"));

        // The ticket: the session with its CSRF token, for the person whose step it is.
        let (status, _) = app
            .sign_ticket(signer, id, act("sign_personal"), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
        let (status, _) = app
            .sign_ticket(signer, id, act("sign_personal"), Some("gia-mao"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a forged CSRF token");
        let (status, _) = app
            .sign_ticket(drafter, id, act("sign_personal"), Some(&drafter.csrf))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the drafter");
        let (status, _) = app
            .sign_ticket(clerk, id, act("org_sign"), Some(&clerk.csrf))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "the seal before its time");
        let (status, body) = app
            .sign_ticket(signer, id, act("approve"), Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, ticket) = app
            .sign_ticket(signer, id, act("sign_personal"), Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignApproved");
        let (file, upload, token, sent) = as_sent(&ticket);
        // The formatted version (2), by the name the format step gave it.
        assert_eq!(
            file,
            format!("/sign-agent/documents/{id}/versions/2/the-thuc.pdf")
        );
        assert_eq!(token.split('.').count(), 3, "a JWT");
        assert!(!file.contains(&token) && !upload.contains(&token));
        // What the page sends is a request `kyso agent` accepts, with the ticket it carries.
        match parse_operation("SignApproved", &sent) {
            Ok(Operation::Sign(job)) => {
                assert_eq!(job.op, SignOp::Approved);
                assert_eq!(job.request.jwt_token.as_deref(), Some(token.as_str()));
                assert!(job.file_url.ends_with(&file));
            }
            other => panic!("{other:?}"),
        }

        // The download, refused without the ticket, with a forged one, from a page (Origin),
        // for another document or another version.
        let (status, body, _) = app.service_download(&file, "", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert!(status1(&answer, "no ticket").contains("Thiếu phiếu ký"));
        // One character of the signature changed (not the last, whose low bits are padding).
        let mut forged: Vec<char> = token.chars().collect();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        let (status, _, _) = app.service_download(&file, &forged, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "forged");
        let (status, _, _) = app
            .service_download(&file, &token, &[("origin", "https://evil.example")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a page");
        let other_file = file.replace(
            &format!("/documents/{id}/"),
            &format!("/documents/{other}/"),
        );
        let (status, _, _) = app.service_download(&other_file, &token, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another document");
        let (status, _, _) = app
            .service_download(&file.replace("/versions/2/", "/versions/1/"), &token, &[])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another version");
        let (status, formatted, headers) = app.service_download(&file, &token, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let (_, version2, _) = app
            .service_download(
                &format!("/api/v1/documents/{id}/file?seq=2"),
                &signer.token,
                &[],
            )
            .await;
        assert_eq!(formatted, version2, "the version to sign, byte for byte");

        // Expired: ten minutes on, the same ticket is refused, the page gets a new one.
        app.later.store(10 * 60, Ordering::SeqCst);
        let (status, body, _) = app.service_download(&file, &token, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert!(status1(&answer, "expired").contains("hết hạn"), "{answer}");
        let personal = personally_signed(&formatted, &pki.director);
        let (status, answer) = app.service_upload(&upload, &token, &personal, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        app.later.store(0, Ordering::SeqCst);

        // A second ticket of the same step, kept for later.
        let (_, spare) = app
            .sign_ticket(signer, id, act("sign_personal"), Some(&signer.csrf))
            .await;
        let (_, _, spare_token, _) = as_sent(&spare);

        // A tampered file is refused in the protocol's words (HTTP 200, Status 1) and does not
        // cost the ticket; a page cannot post; the signed file is then accepted.
        let mut tampered = personal.clone();
        tampered[formatted.len() / 2] ^= 0x01;
        let (status, answer) = app.service_upload(&upload, &token, &tampered, &[]).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let message = status1(&answer, "tampered");
        assert!(message.contains("Tệp tải lên"), "{message}");
        let (status, answer) = app
            .service_upload(&upload, &token, &tampered, &[("accept-language", "en")])
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            status1(&answer, "tampered, English").contains("uploaded file"),
            "{answer}"
        );
        let (status, _) = app
            .service_upload(
                &upload,
                &token,
                &personal,
                &[("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, answer) = app
            .service_upload(
                &format!("/sign-agent/documents/{other}/signed"),
                &token,
                &personal,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another document: {answer}");
        assert_eq!(
            state(&app, signer, id).await["document"]["state"],
            "approved"
        );
        let (status, answer) = app.service_upload(&upload, &token, &personal, &[]).await;
        assert_eq!(
            (status, answer["Status"].clone()),
            (StatusCode::OK, json!(0)),
            "{answer}"
        );
        assert_eq!(
            answer["FileServer"],
            json!(format!("/documents/{id}/file?seq=3"))
        );
        let detail = state(&app, signer, id).await;
        assert_eq!(detail["document"]["state"], "personally_signed");
        let (_, stored, _) = app
            .service_download(
                &format!("/api/v1/documents/{id}/file?seq=3"),
                &signer.token,
                &[],
            )
            .await;
        assert_eq!(stored, personal);

        // The page's verification report (issue 17 item 10): the signer by name, the role,
        // intact, the path to the server's trusted root; revocation unknown offline.
        let page = app.document_page(signer, id).await;
        let report = &page[page.find("id=\"sig-check\"").expect("the section")..];
        for needle in [
            "Kiểm tra chữ ký số",
            "Phiên bản 3</strong>",
            "Chữ ký số cá nhân 1: Nguyễn Văn An",
            "nguyên vẹn",
            "bao trùm toàn bộ tệp",
            "hợp lệ, đến được chứng thư gốc tin cậy — Browser Signing Test Root",
            "chưa xác định được: tệp không kèm thông tin thu hồi",
            "(chưa điền)",
        ] {
            assert!(report.contains(needle), "{needle} not in {report}");
        }
        assert!(
            !report.contains("CN="),
            "a distinguished name shown: {report}"
        );

        // Used: the same ticket again, and the spare one, whose step is done.
        let (status, answer) = app.service_upload(&upload, &token, &personal, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            status1(&answer, "reused").contains("đã được dùng"),
            "{answer}"
        );
        let (status, _, _) = app.service_download(&file, &spare_token, &[]).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "the spare ticket's step is done"
        );
        let (status, answer) = app
            .service_upload(&upload, &spare_token, &personal, &[])
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{status} {answer}"
        );
        status1(&answer, "the spare ticket");

        // The clerk's seal: the number and date reserved, in the request for the service.
        app.step_ok(&staff.clerk, id, "clerk_check").await;
        let (status, _) = app
            .sign_ticket(signer, id, act("org_sign"), Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "not numbered yet");
        app.step_ok(&staff.clerk, id, "number").await;
        let (status, _) = app
            .sign_ticket(signer, id, act("org_sign"), Some(&signer.csrf))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the signer is not the clerk");
        let (status, ticket) = app
            .sign_ticket(clerk, id, act("org_sign"), Some(&clerk.csrf))
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["operation"], "SignIssued");
        assert_eq!(ticket["request"]["DocNumber"], "01/QĐ-SKHCN");
        let date = time::Date::parse(
            state(&app, clerk, id).await["document"]["issued_date"]
                .as_str()
                .unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let (file, upload, token, sent) = as_sent(&ticket);
        match parse_operation("SignIssued", &sent) {
            Ok(Operation::Sign(job)) => {
                assert_eq!(job.op, SignOp::Issued);
                assert_eq!(job.doc_number.as_deref(), Some("01/QĐ-SKHCN"));
                assert_eq!(job.issued.map(|d| d.date()), Some(date));
            }
            other => panic!("{other:?}"),
        }
        let (status, signed_personally, _) = app.service_download(&file, &token, &[]).await;
        assert_eq!((status, &signed_personally), (StatusCode::OK, &personal));
        let seal = |number: &str| sealed(&signed_personally, number, date, &pki.agency.signer);
        let (status, answer) = app
            .service_upload(&upload, &token, &seal("02/QĐ-SKHCN"), &[])
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            status1(&answer, "another number").contains("02/QĐ-SKHCN"),
            "{answer}"
        );
        let issued = seal("01/QĐ-SKHCN");
        let (status, answer) = app.service_upload(&upload, &token, &issued, &[]).await;
        assert_eq!(
            (status, answer["Status"].clone()),
            (StatusCode::OK, json!(0)),
            "{answer}"
        );
        let detail = state(&app, clerk, id).await;
        assert_eq!(detail["document"]["state"], "org_signed");
        assert_eq!(detail["document"]["number_and_notation"], "01/QĐ-SKHCN");

        // After the seal: both signatures of the issued version, the number and date it
        // carries, the personal signature's later changes allowed (form filling, the seal).
        let page = app.document_page(clerk, id).await;
        let report = &page[page.find("id=\"sig-check\"").expect("the section")..];
        let issued_report = &report[..report.find("Phiên bản 3</strong>").expect("version 3")];
        for needle in [
            "Phiên bản 4</strong>",
            "Chữ ký số cá nhân 1: Nguyễn Văn An",
            "Chữ ký số của cơ quan, tổ chức 2: Sở Khoa học và Công nghệ",
            "<strong>01/QĐ-SKHCN</strong>",
            &format!("<strong>{}</strong>", numbering::date_text(date)),
            "đều là thay đổi được phép",
        ] {
            assert!(
                issued_report.contains(needle),
                "{needle} not in {issued_report}"
            );
        }
        assert!(
            !issued_report.contains("KHÔNG nguyên vẹn"),
            "{issued_report}"
        );
        // English on request.
        let (_, en) = app.page(clerk, &format!("/documents/{id}?lang=en")).await;
        assert!(en.contains("Signature verification") && en.contains("Organization seal 2"));

        // Audited: the tickets and the two steps, by their people.
        let rows: Vec<(String, String, String)> = kyso_store::sqlx::query_as(
            "SELECT action, actor, detail FROM audit_log WHERE object = $1 ORDER BY seq",
        )
        .bind(format!("document:{id}"))
        .fetch_all(s.pool())
        .await
        .unwrap();
        for (action, actor) in [
            ("document.signing_ticket", "giamdoc"),
            ("document.sign_personal", "giamdoc"),
            ("document.signing_ticket", "vanthu"),
            ("document.org_sign", "vanthu"),
        ] {
            assert!(
                rows.iter().any(|(a, who, _)| a == action && who == actor),
                "{action} by {actor} not audited: {rows:?}"
            );
        }
        // The ticket's id is recorded, never the token.
        assert!(!rows.iter().any(|(_, _, detail)| detail.contains(&token)));
        if b == Backend::Postgres {
            app.db.store.close().await;
        }
    }
}
