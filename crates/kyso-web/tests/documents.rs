//! Outgoing documents through the REST API (`/api/v1/documents…`), on SQLite and on PostgreSQL:
//! the whole flow by the people whose steps they are with real files (a Decree 30 draft made by
//! kyso-pdf's composer, signed by kyso's signer with certificates of a test CA recorded in the
//! registry), the refusals as HTTP statuses with their field (a tampered upload, another
//! person's key, the personal key on the seal, a seal over another number), the files byte for
//! byte, the recipient's download, and the operations in the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_pades::forms::CopyForm::Certified;
use kyso_pades::numbering;
use kyso_pades::sign_bytes;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use kyso_store::testing::backends;
use kyso_store::Backend;
use serde_json::{json, Value};

mod support;
use support::app::{b64, App};
use support::ca::pki;
use support::{draft, opts, register_cert, TestSigner};

fn meta(confidentiality: &str) -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"authority": "kt", "principal_title": "Giám đốc", "title": "Phó Giám đốc",
                   "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "confidentiality": confidentiality,
        "page_count": 1
    })
}

#[tokio::test]
async fn a_decision_through_the_api_from_upload_to_recall() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let (_, drafter) = app.person("chuyenvien", dost, "drafter").await;
        let (_, reviewer) = app.person("truongphong", dost, "reviewer").await;
        let (_, checker) = app.person("thethuc", dost, "format_checker").await;
        let (_, signer) = app.person("giamdoc", dost, "signer").await;
        let (_, clerk) = app.person("vanthu", dost, "clerk").await;
        let (_, their_clerk) = app.person("vanthu.tc", finance, "clerk").await;
        let (_, admin) = app.person("quantri", root, "dost_admin").await;
        let draft = draft();
        let pki = pki();
        // The registry: the director's own certificate (an individual subscriber with the
        // account's e-mail), the agency's seal, and a stranger's certificate of the same agency.
        register_cert(
            s,
            dost,
            "individual",
            "Nguyễn Văn An",
            "giamdoc@demo.invalid",
            &pki.director,
        )
        .await;
        register_cert(s, dost, "organization", "Sở KH&CN", "", &pki.agency).await;
        register_cert(
            s,
            dost,
            "individual",
            "Người Lạ",
            "nguoila@demo.invalid",
            &pki.stranger,
        )
        .await;

        let (status, reg) = app
            .call(
                Method::POST,
                "/api/v1/document-registers",
                &clerk,
                Some(
                    json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                            "issuer_abbrev": "SKHCN"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        let (status, regs) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{dost}/document-registers"),
                &drafter,
                None,
            )
            .await;
        assert_eq!(
            (status, regs[0]["code"].clone()),
            (StatusCode::OK, json!("VBĐ"))
        );

        // A secret document is refused, naming the field.
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(
                    json!({"agency_id": dost, "meta": meta("secret"), "file_base64": b64(&draft)}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "confidentiality", "{body}");

        let (status, created) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(json!({"agency_id": dost, "meta": meta("unclassified"),
                            "file_name": "du-thao.pdf", "file_base64": b64(&draft)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        assert_eq!(created["document"]["state"], "draft");
        assert_eq!(created["document"]["next_actions"], json!(["submit"]));

        let ok = |(status, body): (StatusCode, Value)| {
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        };
        ok(app.step(&drafter, id, json!({"action": "submit"})).await);
        // Wrong role, another agency, an unknown action, a return without its reason.
        let (status, _) = app.step(&drafter, id, json!({"action": "forward"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app
            .step(&their_clerk, id, json!({"action": "forward"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = app.step(&reviewer, id, json!({"action": "sign"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("action"))
        );
        let (status, body) = app.step(&reviewer, id, json!({"action": "return"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("reason"))
        );
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/comments"),
                &reviewer,
                Some(json!({"body": "Đồng ý, chuyển kiểm tra thể thức."})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ok(app.step(&reviewer, id, json!({"action": "forward"})).await);
        // The format check passes the composer's draft and stores it with the number and date
        // fields (version 2); its warnings come back (a list, empty for this draft).
        let out = ok(app
            .step(&checker, id, json!({"action": "check_format"}))
            .await);
        assert_eq!(out["version"], 2, "{out}");
        assert!(out["warnings"].is_array(), "{out}");
        let (_, formatted) = app
            .bytes(&format!("/api/v1/documents/{id}/file?seq=2"), &drafter)
            .await;
        assert!(formatted.starts_with(&draft) && formatted.len() > draft.len());
        // The province's administrator never approves or signs for an agency.
        let (status, _) = app.step(&admin, id, json!({"action": "approve"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        ok(app.step(&signer, id, json!({"action": "approve"})).await);

        let personal = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &pki.director,
            None,
        )
        .unwrap();
        let refused = |(status, body): (StatusCode, Value), why: &str| {
            assert_eq!(
                (status, body["error"]["field"].clone()),
                (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
                "{why}: {body}"
            );
            body
        };
        // A tampered upload: one byte of the formatted draft changed under the signature.
        let mut tampered = personal.clone();
        let at = formatted.len() / 2;
        tampered[at] ^= 0x01;
        refused(
            app.step(
                &signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&tampered)}),
            )
            .await,
            "tampered",
        );
        // Another person's key (in the registry, but not the approving signer's).
        let strangers = sign_bytes(
            &formatted,
            &numbering::personal_signature(opts()),
            &pki.stranger,
            None,
        )
        .unwrap();
        let body = refused(
            app.step(
                &signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&strangers)}),
            )
            .await,
            "another person's key",
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Người Lạ"),
            "{body}"
        );
        // No new signature at all.
        refused(
            app.step(
                &signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&formatted)}),
            )
            .await,
            "unsigned",
        );
        let out = ok(app
            .step(
                &signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&personal)}),
            )
            .await);
        assert_eq!(out["version"], 3);
        ok(app.step(&clerk, id, json!({"action": "clerk_check"})).await);
        let out = ok(app.step(&clerk, id, json!({"action": "number"})).await);
        assert_eq!(out["number_and_notation"], "01/QĐ-SKHCN");
        let issued_date = time::Date::parse(
            out["document"]["issued_date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let seal = |number: &str, key: &TestSigner| {
            let filled = numbering::fill_bytes(&personal, number, issued_date).unwrap();
            sign_bytes(
                &filled,
                &numbering::organization_signature(opts()),
                key,
                None,
            )
            .unwrap()
        };
        // A seal over another number than the one reserved.
        let body = refused(
            app.step(
                &clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&seal("02/QĐ-SKHCN", &pki.agency))}),
            )
            .await,
            "wrong number",
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("02/QĐ-SKHCN"),
            "{body}"
        );
        // The director's personal key is not the organization key.
        refused(
            app.step(
                &clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&seal("01/QĐ-SKHCN", &pki.director))}),
            )
            .await,
            "personal key on the seal",
        );
        let issued = seal("01/QĐ-SKHCN", &pki.agency);
        // Only the agency's clerk uses the organization key.
        let (status, _) = app
            .step(
                &signer,
                id,
                json!({"action": "org_sign", "file_base64": b64(&issued)}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let out = ok(app
            .step(
                &clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&issued)}),
            )
            .await);
        assert_eq!(
            (out["number"].clone(), out["version"].clone()),
            (json!(1), json!(4))
        );
        // Every signed upload the server checked is counted by role and outcome (the signer's
        // attempt at the seal was refused before any check).
        let (_, body, _) = support::send(
            &app.metrics,
            Request::get("/metrics").body(Body::empty()).unwrap(),
        )
        .await;
        let text = String::from_utf8(body).unwrap();
        for (labels, n) in [
            ("role=\"personal\",outcome=\"refused\"", 3),
            ("role=\"personal\",outcome=\"accepted\"", 1),
            ("role=\"organization\",outcome=\"refused\"", 2),
            ("role=\"organization\",outcome=\"accepted\"", 1),
        ] {
            let line = format!("kyso_signatures_verified_total{{{labels}}} {n}");
            assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
        }
        ok(app.step(&clerk, id, json!({"action": "register"})).await);
        let out = ok(app.step(&clerk, id, json!({"action": "dispatch"})).await);
        assert_eq!(
            (out["deliveries"].clone(), out["document"]["state"].clone()),
            (json!(1), json!("dispatched"))
        );

        // Files come back byte for byte; the recipient has it in its queue and downloads it.
        let (status, bytes) = app
            .bytes(&format!("/api/v1/documents/{id}/file?seq=4"), &drafter)
            .await;
        assert_eq!((status, bytes), (StatusCode::OK, issued.clone()));
        let (status, queue) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{finance}/deliveries"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{queue}");
        assert_eq!(queue[0]["document_id"].as_i64(), Some(id));
        assert_eq!(queue[0]["state"], "delivered");
        let delivery = queue[0]["id"].as_i64().unwrap();
        let (status, bytes) = app
            .bytes(&format!("/api/v1/deliveries/{delivery}/file"), &their_clerk)
            .await;
        assert_eq!(
            (status, bytes),
            (StatusCode::OK, issued.clone()),
            "delivered"
        );
        let (status, _) = app
            .bytes(&format!("/api/v1/deliveries/{delivery}/file"), &drafter)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "not the recipient");
        let (status, bytes) = app
            .bytes(&format!("/api/v1/documents/{id}/file"), &clerk)
            .await;
        assert_eq!(
            (status, bytes),
            (StatusCode::OK, issued.clone()),
            "the latest"
        );
        // A copy uploaded already signed is checked as one signed through the signing service:
        // not the issued document with the copying agency's organization signature and stamp,
        // it is refused and its number released at once; the real one then takes that number.
        let copy_of = |agency: i64, file: &[u8]| {
            json!({"agency_id": agency, "form": "sao_y", "file_name": "sao-y.pdf",
                   "file_base64": b64(file)})
        };
        let copies = format!("/api/v1/documents/{id}/copies");
        let (status, body) = app
            .call(
                Method::POST,
                &copies,
                &their_clerk,
                Some(copy_of(finance, b"%PDF-1.7\n% copy\n")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "file", "{body}");
        let not_stamped = sign_bytes(&issued, &opts(), &pki.agency, None).unwrap();
        let stranger = support::copy_signed(&issued, Certified, "01/SY", &pki.stranger);
        let other_number = support::copy_signed(&issued, Certified, "02/SY", &pki.agency);
        for (file, why) in [
            (b"%PDF-1.7\n% copy\n".to_vec(), "not the issued document"),
            (not_stamped, "no copy stamp"),
            (stranger, "not the agency's organization certificate"),
            (other_number, "the stamp shows another number"),
        ] {
            let (status, body) = app
                .call(Method::POST, &copies, &clerk, Some(copy_of(dost, &file)))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
        }
        let signed = support::copy_signed(&issued, Certified, "01/SY", &pki.agency);
        let (status, body) = app
            .call(Method::POST, &copies, &clerk, Some(copy_of(dost, &signed)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["notation"], "01/SY", "the released number taken again");

        // The waiting lists: nothing waits for the drafter now.
        let (_, mine) = app
            .call(Method::GET, "/api/v1/documents?mine=true", &drafter, None)
            .await;
        assert_eq!(mine, json!([]));
        let (_, all) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents?agency_id={dost}&state=dispatched"),
                &drafter,
                None,
            )
            .await;
        assert_eq!(all.as_array().map(Vec::len), Some(1));

        // Recall: the recipient's delivery is marked recalled, the timeline has every step.
        ok(app
            .step(
                &clerk,
                id,
                json!({"action": "recall", "reason": "Sai thẩm quyền ban hành"}),
            )
            .await);
        let (_, queue) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{finance}/deliveries"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(queue[0]["state"], "recalled", "{queue}");
        let (status, _) = app
            .bytes(&format!("/api/v1/deliveries/{delivery}/file"), &their_clerk)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "recalled");
        let (status, detail) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}"),
                &drafter,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["document"]["state"], "recalled");
        assert_eq!(detail["document"]["state_label"], "Đã thu hồi");
        assert_eq!(detail["recall"]["reason"], "Sai thẩm quyền ban hành");
        assert_eq!(
            detail["timeline"].as_array().map(Vec::len),
            Some(14),
            "{}",
            detail["timeline"]
        );
        let (status, _) = app.step(&clerk, id, json!({"action": "dispatch"})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        if b == Backend::Postgres {
            app.db.store.close().await;
        }
    }
}

#[tokio::test]
async fn the_document_operations_are_in_the_openapi_document() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path) in [
        ("get", "/api/v1/documents"),
        ("post", "/api/v1/documents"),
        ("get", "/api/v1/documents/{id}"),
        ("post", "/api/v1/documents/{id}/actions"),
        ("post", "/api/v1/documents/{id}/drafts"),
        ("post", "/api/v1/documents/{id}/comments"),
        ("get", "/api/v1/documents/{id}/file"),
        ("post", "/api/v1/documents/{id}/copies"),
        ("get", "/api/v1/agencies/{id}/document-registers"),
        ("post", "/api/v1/document-registers"),
        ("get", "/api/v1/agencies/{id}/deliveries"),
        ("get", "/api/v1/deliveries/{id}/file"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["documents"]), "{method} {path}: {op}");
    }
    assert!(doc["components"]["schemas"]["ActionInput"]["properties"]["action"].is_object());
}
