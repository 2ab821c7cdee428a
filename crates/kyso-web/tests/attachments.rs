//! Attachments in separate files through the REST API (issue 17 item 7), on SQLite and on
//! PostgreSQL: the drafter adds two PDF attachments, the document goes through the flow with
//! real signatures, the clerk uploads each attachment signed with the agency's organization
//! certificate and the Decree 30 attachment stamp — refused when signed with a personal key or
//! over a changed file (`kyso_pades::upload::Step::Attachment`, 422 `file`), by someone else
//! than the clerk (403), before the organization signature (409) —, the dispatch waits for
//! every attachment (409 `attachments`), and the recipient downloads the signed files byte for
//! byte; the routes are in the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_store::testing::backends;
use kyso_store::Backend;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

mod support;
use support::app::{b64, App};
use support::ca::pki;
use support::flow::{annex, stamped, Staff};
use support::html::Part;
use support::{draft, TestSigner};

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

#[tokio::test]
async fn attachments_are_signed_by_the_clerk_and_go_with_the_document() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let staff = app.staff(dost).await;
        let Staff {
            drafter,
            reviewer,
            signer,
            clerk,
            ..
        } = &staff;
        let (_, their_clerk) = app.person("vanthu.tc", finance, "clerk").await;
        let pki = pki();
        app.register_director_and_seal(dost, &pki).await;
        app.open_outgoing_register(clerk, dost).await;
        let id = app.upload_draft(drafter, dost, meta(), &draft()).await;
        let base = format!("/api/v1/documents/{id}/attachments");

        // The drafter adds the two attachments; a file that is not a PDF is refused.
        let (one, two) = (annex("Danh sách đơn vị"), annex("Biểu mẫu"));
        let mut ids = Vec::new();
        for (title, file) in [("Danh sách đơn vị", &one), ("Biểu mẫu", &two)] {
            let (status, a) = app
                .call(
                    Method::POST,
                    &base,
                    drafter,
                    Some(json!({"title": title, "file_name": "phu-luc.pdf", "file_base64": b64(file)})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{a}");
            assert_eq!(
                (a["signed"].clone(), a["versions"][0]["kind"].clone()),
                (json!(false), json!("draft"))
            );
            ids.push(a["id"].as_i64().unwrap());
        }
        let (status, body) = app
            .call(
                Method::POST,
                &base,
                drafter,
                Some(json!({"file_base64": b64(b"PK\x03\x04 docx")})),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
            "{body}"
        );
        let (status, list) = app.call(Method::GET, &base, reviewer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
        assert_eq!(list[1]["position"], 2);
        let (status, bytes) = app
            .bytes(&format!("{base}/{}/file", ids[0]), reviewer)
            .await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, one.as_slice()),
            "byte for byte"
        );
        // Another agency does not see them.
        let (status, _) = app.call(Method::GET, &base, &their_clerk, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The flow up to the organization signature, with real signatures.
        app.approve(&staff, id).await;
        let personal = app.sign_personal(signer, id, &pki.director).await;
        let numbered = app.number(clerk, id).await;
        let number = numbered.number.clone();
        let sign_one = |key: &TestSigner, base_pdf: &[u8]| stamped(base_pdf, &number, key);
        let signed_url = |i: usize| format!("{base}/{}/signed", ids[i]);
        // Before the organization signature: not yet.
        let (status, body) = app
            .call(
                Method::POST,
                &signed_url(0),
                clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.agency, &one))})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        app.seal(clerk, id, &personal, &numbered, &pki.agency).await;

        // The clerk's uploads: the director's personal key, a changed attachment, another
        // person than the clerk — each refused; then the agency's stamped signature.
        let refused_file = |(status, body): (StatusCode, Value), why: &str| {
            assert_eq!(
                (status, body["error"]["field"].clone()),
                (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
                "{why}: {body}"
            );
        };
        refused_file(
            app.call(
                Method::POST,
                &signed_url(0),
                clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.director, &one))})),
            )
            .await,
            "personal key",
        );
        refused_file(
            app.call(
                Method::POST,
                &signed_url(0),
                clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.agency, &two))})),
            )
            .await,
            "another file",
        );
        let good = sign_one(&pki.agency, &one);
        let (status, _) = app
            .call(
                Method::POST,
                &signed_url(0),
                signer,
                Some(json!({"file_base64": b64(&good)})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, a) = app
            .call(
                Method::POST,
                &signed_url(0),
                clerk,
                Some(json!({"file_name": "pl1.pdf", "file_base64": b64(&good)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(
            (a["signed"].clone(), a["versions"][1]["kind"].clone()),
            (json!(true), json!("org_signed"))
        );
        // Signed once only.
        let (status, _) = app
            .call(
                Method::POST,
                &signed_url(0),
                clerk,
                Some(json!({"file_base64": b64(&sign_one(&pki.agency, &good))})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Registered, but the dispatch waits for the second attachment.
        app.step_ok(clerk, id, "register").await;
        let (status, body) = app.step(clerk, id, json!({"action": "dispatch"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::CONFLICT, json!("attachments")),
            "{body}"
        );
        let second = sign_one(&pki.agency, &two);
        let (status, a) = app
            .call(
                Method::POST,
                &signed_url(1),
                clerk,
                Some(json!({"file_base64": b64(&second)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        app.step_ok(clerk, id, "dispatch").await;

        // The recipient agency gets both signed attachments with the document.
        let (status, deliveries) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{finance}/deliveries"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{deliveries}");
        let delivery = deliveries[0]["id"].as_i64().unwrap();
        let (status, got) = app
            .call(
                Method::GET,
                &format!("/api/v1/deliveries/{delivery}/attachments"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got.as_array().unwrap().len(), 2, "{got}");
        let (status, bytes) = app
            .bytes(
                &format!("/api/v1/deliveries/{delivery}/attachments/{}/file", ids[1]),
                &their_clerk,
            )
            .await;
        assert_eq!((status, bytes == second), (StatusCode::OK, true));
        // Not for another agency's people.
        let (status, _) = app
            .bytes(
                &format!("/api/v1/deliveries/{delivery}/attachments/{}/file", ids[1]),
                drafter,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_attachment_routes_are_in_the_openapi_document() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    for (path, method) in [
        ("/api/v1/documents/{id}/attachments", "get"),
        ("/api/v1/documents/{id}/attachments", "post"),
        (
            "/api/v1/documents/{id}/attachments/{attachment_id}/file",
            "get",
        ),
        (
            "/api/v1/documents/{id}/attachments/{attachment_id}/signed",
            "post",
        ),
        ("/api/v1/deliveries/{id}/attachments", "get"),
        (
            "/api/v1/deliveries/{id}/attachments/{attachment_id}/file",
            "get",
        ),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"]["201"].is_object() || op["responses"]["200"].is_object(),
            "{method} {path}"
        );
    }
    let signed = &doc["paths"]["/api/v1/documents/{id}/attachments/{attachment_id}/signed"]["post"];
    assert!(
        signed["responses"]["422"].is_object(),
        "typed refusals documented"
    );
}

#[tokio::test]
async fn the_document_page_lists_and_takes_attachments() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let (_, drafter) = app.person("chuyenvien", dost, "drafter").await;
        let (_, clerk) = app.person("vanthu", dost, "clerk").await;
        app.open_outgoing_register(&clerk, dost).await;
        let (status, created) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(json!({"agency_id": dost, "meta": meta(), "file_base64": b64(&draft())})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        let browser = app.sign_in("chuyenvien").await;
        let page = format!("/documents/{id}");
        let (status, html) = app.page(&browser, &page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Phụ lục kèm theo") && html.contains("Chưa có phụ lục."));
        assert!(html.contains(&format!("action=\"/documents/{id}/attachments\"")));

        // A forged token is refused; the right one adds the attachment.
        let file = annex("Danh sách đơn vị");
        let action = format!("/documents/{id}/attachments");
        let (status, _) = app
            .multipart_form(
                &browser,
                &action,
                &[
                    Part::Text("csrf", "gia-mao"),
                    Part::Text("title", "Danh sách đơn vị"),
                    Part::File("file", "phu-luc.pdf", "application/pdf", &file),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, location) = app
            .multipart_form(
                &browser,
                &action,
                &[
                    Part::Text("csrf", &browser.csrf),
                    Part::Text("title", "Danh sách đơn vị"),
                    Part::File("file", "phu-luc.pdf", "application/pdf", &file),
                ],
            )
            .await;
        assert!(status.is_redirection(), "{status}: {location}");
        assert_eq!(location, format!("{page}?done=attachment#attachments"));
        let (_, html) = app.page(&browser, &page).await;
        assert!(html.contains("Danh sách đơn vị") && html.contains("Chưa ký số cơ quan"));
        let (_, list) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}/attachments"),
                &drafter,
                None,
            )
            .await;
        let aid = list[0]["id"].as_i64().unwrap();
        let (status, bytes) = app
            .download(&browser, &format!("{action}/{aid}/file?seq=1"))
            .await;
        assert_eq!((status, bytes == file), (StatusCode::OK, true));
        // Not a PDF: refused on a page that leads back to the document.
        let (status, body) = app
            .multipart_form(
                &browser,
                &action,
                &[
                    Part::Text("csrf", &browser.csrf),
                    Part::File("file", "phu-luc.pdf", "application/pdf", b"PK\x03\x04"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body.contains(&format!("href=\"{page}#attachments\"")),
            "{body}"
        );
        // The clerk's signing form is not offered before the organization signature.
        let clerk_browser = app.sign_in("vanthu").await;
        let (_, html) = app.page(&clerk_browser, &page).await;
        // The clerk sees the attachment but neither adds one (not the drafter's duty) nor is
        // offered to sign it before the organization signature.
        assert!(html.contains("Danh sách đơn vị"));
        assert!(!html.contains("attachment-signed-"));
        assert!(!html.contains(&format!("action=\"{action}\"")));
    }
}
