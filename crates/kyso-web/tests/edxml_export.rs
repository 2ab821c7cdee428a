//! The edXML export of an issued document through the REST API (issue 18 item 5), on SQLite
//! and on PostgreSQL: a document with one attachment goes through the whole flow with real
//! signatures; before dispatch it has no envelope (409 `not_issued`); once dispatched, a reader
//! of the agency downloads `GET /api/v1/documents/{id}/edxml`, which `kyso_edxml::read` reads
//! back with the header built from the Decree 30 metadata and the registry (From with the
//! agency's 13-character code, To, Code, PromulgationInfo, DocumentType, SignerInfo, OtherInfo,
//! DocumentId) and the issued PDF and the signed attachment byte for byte; another agency's
//! clerk does not find it (404); the route is in the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::http::{header, Method, StatusCode};
use kyso_store::testing::backends;
use kyso_store::Backend;
use serde_json::{json, Value};

mod support;
use support::app::{b64, App};
use support::ca::pki;
use support::draft;
use support::flow::{annex, stamped, Staff};

fn meta() -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"title": "Giám đốc", "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "page_count": 1,
        "urgency": "urgent",
        "attachments": [{"title": "Danh sách đơn vị", "pages": 1}]
    })
}

#[tokio::test]
async fn an_issued_document_is_exported_as_an_edxml_envelope_with_its_files_byte_exact() {
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
            clerk,
            ..
        } = &staff;
        let (_, their_clerk) = app.person("vanthu.tc", finance, "clerk").await;
        let pki = pki();
        app.register_director_and_seal(dost, &pki).await;
        app.open_outgoing_register(clerk, dost).await;
        let id = app.upload_draft(drafter, dost, meta(), &draft()).await;
        let edxml = format!("/api/v1/documents/{id}/edxml");
        let annex_pdf = annex("Danh sách đơn vị");
        let (status, a) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/attachments"),
                drafter,
                Some(
                    json!({"title": "Danh sách đơn vị", "file_name": "phu-luc.pdf",
                            "file_base64": b64(&annex_pdf)}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        let attachment = a["id"].as_i64().unwrap();

        // A draft has no envelope.
        let (status, body) = app.call(Method::GET, &edxml, drafter, None).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (StatusCode::CONFLICT, json!("not_issued")),
            "{body}"
        );

        app.approve(&staff, id).await;
        let personal = app.sign_personal(&staff.signer, id, &pki.director).await;
        let numbered = app.number(clerk, id).await;
        let (number, iso_day) = (&numbered.number, &numbered.iso_day);
        let issued = app.seal(clerk, id, &personal, &numbered, &pki.agency).await;
        let signed_annex = stamped(&annex_pdf, number, &pki.agency);
        let (status, a) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/attachments/{attachment}/signed"),
                clerk,
                Some(json!({"file_name": "pl1.pdf", "file_base64": b64(&signed_annex)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        app.step_ok(clerk, id, "register").await;
        // Registered but not dispatched: still no envelope.
        let (status, _) = app.call(Method::GET, &edxml, clerk, None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        app.step_ok(clerk, id, "dispatch").await;

        // A reader of the agency (the reviewer) downloads the envelope.
        let (status, xml, headers) = app.get(&edxml, reviewer).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&xml));
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/xml"));
        let e = kyso_edxml::read(&xml, kyso_edxml::Limits::default()).unwrap();
        let h = &e.header;
        assert_eq!(
            (h.from.organ_id.as_str(), h.from.organ_name.as_str()),
            ("000.00.37.H99", "Sở KH&CN")
        );
        assert_eq!(h.from.organization_in_charge, "UBND Tỉnh Demo");
        assert_eq!(h.to.len(), 1);
        assert_eq!(
            (h.to[0].organ_id.as_str(), h.to[0].organ_name.as_str()),
            ("000.00.05.H99", "Sở Tài chính")
        );
        let (num, notation) = number.split_once('/').unwrap();
        assert_eq!(
            (h.code.code_number.as_str(), h.code.code_notation.as_str()),
            (num, notation)
        );
        let slash_day = iso_day.replace('-', "/");
        assert_eq!(h.promulgation_info.promulgation_date, slash_day);
        assert_eq!(h.promulgation_info.place, "Demo");
        assert_eq!(h.document_type.type_name, "Quyết định");
        assert_eq!(h.subject, "Về việc ban hành Quy chế văn thư");
        assert_eq!(h.signer_info.full_name, "Nguyễn Văn An");
        assert_eq!(h.signer_info.position, "GIÁM ĐỐC");
        assert_eq!(h.other_info.priority, Some(1), "urgent");
        assert_eq!(h.other_info.page_amount, Some(1));
        assert_eq!(h.other_info.appendixes, vec!["Danh sách đơn vị".to_owned()]);
        assert_eq!(h.document_id, format!("000.00.37.H99,{slash_day},{number}"));
        assert_eq!(e.trace.trace_headers[0].timestamp, "2026/06/01 09:00:00");
        assert_eq!(e.attachments.len(), 2);
        assert_eq!(e.attachments[0].content_type, "application/pdf");
        assert!(
            e.attachments[0].content == issued,
            "the issued PDF, byte for byte"
        );
        assert!(
            e.attachments[1].content == signed_annex,
            "the signed attachment, byte for byte"
        );
        assert_eq!(e.attachments[1].description, "Danh sách đơn vị");

        // Another agency's clerk does not find it; without a login: 401.
        let (status, _) = app.call(Method::GET, &edxml, &their_clerk, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.call(Method::GET, &edxml, "", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_edxml_route_is_in_the_openapi_document() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    let op = &doc["paths"]["/api/v1/documents/{id}/edxml"]["get"];
    assert!(
        op["responses"]["200"]["content"]["application/xml"].is_object(),
        "{op}"
    );
    assert!(op["responses"]["409"].is_object(), "{op}");
}
