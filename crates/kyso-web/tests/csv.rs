//! Bulk files through the API: the CA's template imported all-or-nothing, CSV exports that
//! Excel opens with Vietnamese intact, and the routes described in the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::csv_io::TEMPLATE_COLUMNS;
use kyso_store::registry::{self, AgencyInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::Actor;
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{send, NOW, PASSWORD};

fn template(rows: &[&str]) -> String {
    let mut s = TEMPLATE_COLUMNS.join(",");
    for r in rows {
        s.push_str("\r\n");
        s.push_str(r);
    }
    s
}

#[tokio::test]
async fn an_officer_imports_the_template_and_exports_csv() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let sys = Actor::system();
        let root = registry::create_agency(
            store,
            &sys,
            &AgencyInput {
                code: "H99".into(),
                name: "UBND Tỉnh Demo".into(),
                kind: "province".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let finance = registry::create_agency(
            store,
            &sys,
            &AgencyInput {
                code: "H99.05".into(),
                name: "Sở Tài chính".into(),
                kind: "department".into(),
                parent_id: Some(root.id),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        accounts::create_user(
            store,
            &sys,
            NewUser {
                username: "cb.stc".into(),
                full_name: "Cán bộ".into(),
                email: String::new(),
                agency_id: finance.id,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: "signature_officer".into(),
                    agency_id: finance.id,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
        let router = kyso_web::router(kyso_web::AppState::new(
            store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        ));
        let (_, body, _) = send(
            &router,
            Request::post("/api/v1/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"username": "cb.stc", "password": PASSWORD}).to_string(),
                ))
                .unwrap(),
        )
        .await;
        let token = serde_json::from_slice::<Value>(&body).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let import = |csv: String, agency: i64| {
            Request::post(format!("/api/v1/subscribers/import?agency_id={agency}"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(csv))
                .unwrap()
        };

        // A file over the upload limit: 413 with the API's error body (not axum's text).
        let huge = "x".repeat(kyso_web::MAX_UPLOAD + 1);
        let (status, body, _) = send(&router, import(huge, finance.id)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{b:?}");
        let v: Value = serde_json::from_slice(&body).expect("a JSON error body");
        assert_eq!(v["error"]["code"], "too_large", "{v}");

        // One bad e-mail address on row 3: 422, the row and column named, nothing written.
        let bad = template(&[
            "Nguyễn Văn An,15/03/1985,001085012345,,,an@stc.example.vn,Sở Tài chính,,,,,,,,,,",
            "Trần Thị Bình,01/01/1992,001092012345,,,binh@@,Sở Tài chính,,,,,,,,,,",
        ]);
        let (status, body, _) = send(&router, import(bad, finance.id)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        let report: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(report["imported"], 0);
        assert_eq!(report["errors"][0]["row"], 3, "{report}");
        assert_eq!(report["errors"][0]["column"], "Thư điện tử công vụ");

        // The root agency lies outside the officer's subtree: not found.
        let good = template(&[
            "Nguyễn Văn An,15/03/1985,001085012345,,,an@stc.example.vn,Sở Tài chính,,,,,,,,,,",
            "Trần Thị Bình,01/01/1992,001092012345,,,binh@stc.example.vn,Sở Tài chính,,,,,,,,,,",
        ]);
        let (status, _, _) = send(&router, import(good.clone(), root.id)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}");
        let (status, body, _) = send(&router, import(good, finance.id)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );

        let get = |path: &str| {
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let (status, csv, headers) =
            send(&router, get("/api/v1/subscribers/export.csv?q=binh")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "a BOM for Excel");
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.contains("Trần Thị Bình") && !text.contains("Nguyễn Văn An"),
            "{text}"
        );
        let (status, _, _) = send(
            &router,
            get("/api/v1/certificates/export.csv?status=active"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, xlsx, headers) =
            send(&router, get("/api/v1/subscribers/export.xlsx?q=binh")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml"));
        assert!(
            xlsx.starts_with(b"PK\x03\x04"),
            "an XLSX file is a ZIP container"
        );
        let (status, _, _) = send(&router, get("/api/v1/certificates/export.xlsx")).await;
        assert_eq!(status, StatusCode::OK);
        // Every other list too, with its own filters; the audit log only for an auditor.
        for path in [
            "/api/v1/devices/export.csv?state=at_managing_agency",
            "/api/v1/devices/export.xlsx",
            "/api/v1/requests/export.csv?overdue=true",
            "/api/v1/requests/export.xlsx",
            "/api/v1/agencies/export.csv?q=tai+chinh",
            "/api/v1/agencies/export.xlsx",
        ] {
            let (status, body, _) = send(&router, get(path)).await;
            assert_eq!(status, StatusCode::OK, "{b:?}: {path}");
            assert!(
                body.starts_with(&[0xEF, 0xBB, 0xBF]) || body.starts_with(b"PK\x03\x04"),
                "{b:?}: {path}"
            );
        }
        let (_, agencies, _) = send(&router, get("/api/v1/agencies/export.csv?q=tai+chinh")).await;
        assert!(
            String::from_utf8_lossy(&agencies).contains("Sở Tài chính"),
            "{b:?}"
        );
        let (status, _, _) = send(&router, get("/api/v1/devices/export.csv?state=bay")).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{b:?}: a bad filter is named"
        );

        let (_, doc, _) = send(
            &router,
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let doc: Value = serde_json::from_slice(&doc).unwrap();
        for p in [
            "/api/v1/subscribers/import",
            "/api/v1/subscribers/export.csv",
            "/api/v1/certificates/export.csv",
            "/api/v1/subscribers/export.xlsx",
            "/api/v1/certificates/export.xlsx",
            "/api/v1/devices/export.csv",
            "/api/v1/requests/export.xlsx",
            "/api/v1/agencies/export.csv",
            "/api/v1/audit/export.xlsx",
            "/api/v1/users/export.csv",
            "/api/v1/notices",
            "/api/v1/notices/{id}/read",
            "/api/v1/notices/scan",
        ] {
            assert!(
                doc["paths"].get(p).is_some(),
                "{p} is missing from the OpenAPI document"
            );
        }
    }
}
