//! The outgoing register as an XLSX book (`GET /api/v1/document-registers/{id}/export.xlsx`,
//! issue 17 item 9), on SQLite and on PostgreSQL: the workbook opens (its parts are inflated
//! and read back), it holds the Decree 30 Appendix IV headers and one row per registered
//! document in number order, the period filter keeps only the documents dated in it, a wrong
//! date is refused, and another agency's clerk does not see the register.
//!
//! The documents are uploaded through the store; their later steps (numbering, signatures,
//! registration, dispatch — tests/documents.rs walks them with signed files) are written
//! directly, since only the register's reading is under test here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{header, Method, StatusCode};
use axum::Router;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::sqlx;
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Store};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

/// The text of every part of a ZIP archive (an XLSX), concatenated in the archive's order,
/// read through the central directory and inflated with kyso-pdf's bounded inflater.
fn xlsx_text(zip: &[u8]) -> String {
    let u16_at = |o: usize| u16::from_le_bytes([zip[o], zip[o + 1]]) as usize;
    let u32_at =
        |o: usize| u32::from_le_bytes([zip[o], zip[o + 1], zip[o + 2], zip[o + 3]]) as usize;
    assert!(zip.starts_with(b"PK\x03\x04"), "not a ZIP archive");
    let eocd = (0..zip.len() - 21)
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))
        .expect("no end of central directory");
    let count = u16_at(eocd + 10);
    let mut at = u32_at(eocd + 16);
    let mut out = String::new();
    for _ in 0..count {
        assert!(zip[at..].starts_with(b"PK\x01\x02"), "bad central entry");
        let method = u16_at(at + 10);
        let size = u32_at(at + 20);
        let (n, e, c) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        let local = u32_at(at + 42);
        let name = String::from_utf8_lossy(&zip[at + 46..at + 46 + n]).into_owned();
        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let raw = &zip[data_at..data_at + size];
        let bytes = match method {
            0 => raw.to_vec(),
            8 => kyso_pdf::filter::inflate(raw, 16 << 20).unwrap(),
            m => panic!("{name}: compression method {m}"),
        };
        out.push_str(&format!("\n[{name}]\n"));
        out.push_str(&String::from_utf8(bytes).unwrap());
        at += 46 + n + e + c;
    }
    out
}

struct App {
    router: Router,
    db: TestDb,
    blobs: tempfile::TempDir,
}

impl App {
    async fn new(backend: kyso_store::Backend) -> App {
        let db = TestDb::new(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(kyso_store::blobs::Blobs::open(blobs.path()).unwrap());
        App {
            router: kyso_web::router(state),
            db,
            blobs,
        }
    }

    /// An account with `role` at `agency`, logged in: its actor, API token and browser
    /// session cookie.
    async fn person(&self, name: &str, agency: i64, role: &str) -> (Actor, String, String) {
        accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: format!("Người dùng {name}"),
                email: format!("{name}@demo.invalid"),
                agency_id: agency,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: role.into(),
                    agency_id: agency,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
        let (session, actor) = accounts::login(
            &self.db.store,
            name,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        let (status, body, _) = support::call_json(
            &self.router,
            Method::POST,
            "/api/v1/auth/login",
            "",
            Some(json!({"username": name, "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            actor,
            body["token"].as_str().unwrap().to_owned(),
            format!("kyso_session={}", session.token.as_str()),
        )
    }

    /// A page of the web UI with the session `cookie`: status, body, content type.
    async fn page(&self, path: &str, cookie: &str) -> (StatusCode, Vec<u8>, String) {
        let req = axum::http::Request::builder()
            .uri(path)
            .header(header::COOKIE, cookie)
            .body(axum::body::Body::empty())
            .unwrap();
        let (s, b, h) = support::send(&self.router, req).await;
        let ct = h
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (s, b, ct)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>, String) {
        let (s, b, h) = support::send(
            &self.router,
            support::api_request(Method::GET, path, token, None),
        )
        .await;
        let ct = h
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (s, b, ct)
    }

    /// A document uploaded by `drafter` with `subject`, then (when `number` is given) numbered,
    /// dated `date` and left in `state`.
    async fn document(
        &self,
        drafter: &Actor,
        agency: i64,
        subject: &str,
        number: Option<(i64, &str)>,
        state: &str,
    ) -> i64 {
        let s: &Store = &self.db.store;
        let doc = kyso_store::documents::create_document(
            s,
            &kyso_store::blobs::Blobs::open(self.blobs.path()).unwrap(),
            drafter,
            &kyso_store::documents::NewDocument {
                agency_id: agency,
                meta: serde_json::from_value(json!({
                    "doc_type": "quyet_dinh", "subject": subject, "place": "Demo",
                    "unit_abbrev": "VP",
                    "signer": {"title": "Giám đốc", "name": "Trần Văn Bình"},
                    "recipients": ["H99.05", "H99"]
                }))
                .unwrap(),
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: b"%PDF-1.7\n%%EOF\n".to_vec(),
            },
            NOW,
        )
        .await
        .unwrap();
        if let Some((n, date)) = number {
            let year: i64 = date[..4].parse().unwrap();
            sqlx::query(
                "UPDATE documents SET state = $1, number = $2, number_year = $3, \
                 notation = 'QĐ-SKHCN', issued_date = $4 WHERE id = $5",
            )
            .bind(state)
            .bind(n)
            .bind(year)
            .bind(date)
            .bind(doc.id)
            .execute(s.pool())
            .await
            .unwrap();
        }
        doc.id
    }
}

#[tokio::test]
async fn the_outgoing_register_as_xlsx_by_period_and_only_for_its_agency() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let (drafter, _, _) = app.person("chuyenvien", dost, "drafter").await;
        let (_, clerk, clerk_ui) = app.person("vanthu", dost, "clerk").await;
        let (_, their_clerk, their_ui) = app.person("vanthu.tc", finance, "clerk").await;
        let register = kyso_store::documents::create_register(
            s,
            &Actor::system(),
            &kyso_store::documents::RegisterInput {
                agency_id: dost,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        // Number 02 is uploaded before number 01: the book follows the numbers.
        let _second = app
            .document(
                &drafter,
                dost,
                "Về việc kiểm tra hồ sơ tháng Năm",
                Some((2, "2026-05-20")),
                "registered",
            )
            .await;
        let first = app
            .document(
                &drafter,
                dost,
                "Về việc ban hành Quy chế văn thư",
                Some((1, "2026-02-10")),
                "dispatched",
            )
            .await;
        let _last_year = app
            .document(
                &drafter,
                dost,
                "Về việc tổng kết năm trước",
                Some((7, "2025-12-30")),
                "dispatched",
            )
            .await;
        let _draft = app
            .document(&drafter, dost, "Về việc còn là dự thảo", None, "draft")
            .await;
        sqlx::query(
            "INSERT INTO document_events (document_id, action, from_state, to_state, user_id, \
             actor, note, created_at) VALUES ($1, 'dispatch', 'registered', 'dispatched', 1, \
             'vanthu', '', $2)",
        )
        .bind(first)
        .bind(datetime_2026_02_11())
        .execute(s.pool())
        .await
        .unwrap();
        let path = format!("/api/v1/document-registers/{}/export.xlsx", register.id);

        // The current year by default (the clock says 2026).
        let (status, bytes, ct) = app.get(&path, &clerk).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(
            ct,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let text = xlsx_text(&bytes);
        let sheet = text.as_str();
        for h in kyso_store::documents::REGISTER_BOOK_COLUMNS {
            assert!(sheet.contains(h), "header {h} missing");
        }
        assert!(sheet.contains("Số lượng bản") && sheet.contains("Ký nhận"));
        assert!(sheet.contains("Từ ngày 01/01/2026 đến ngày 31/12/2026"));
        let one = sheet.find("01/QĐ-SKHCN").expect("number 01");
        let two = sheet.find("02/QĐ-SKHCN").expect("number 02");
        assert!(one < two, "rows in number order");
        assert!(sheet.contains("Quyết định: Về việc ban hành Quy chế văn thư"));
        assert!(sheet.contains("Về việc kiểm tra hồ sơ tháng Năm"));
        assert!(sheet.contains("10/02/2026") && sheet.contains("20/05/2026"));
        assert!(sheet.contains("11/02/2026"), "the dispatch date");
        assert!(sheet.contains("Trần Văn Bình") && sheet.contains("H99.05; H99"));
        assert!(sheet.contains("VT, VP") && sheet.contains("Chưa phát hành"));
        assert!(
            !sheet.contains("tổng kết năm trước"),
            "last year's document"
        );
        assert!(
            !sheet.contains("còn là dự thảo"),
            "a draft is not registered"
        );

        // A period: from March on, only number 02.
        let (status, bytes, _) = app
            .get(&format!("{path}?from=2026-03-01&to=2026-12-31"), &clerk)
            .await;
        assert_eq!(status, StatusCode::OK);
        let text = xlsx_text(&bytes);
        assert!(text.contains("02/QĐ-SKHCN") && !text.contains("01/QĐ-SKHCN"));
        assert!(!text.contains("Quy chế văn thư"));
        // Last year's series.
        let (status, bytes, _) = app
            .get(&format!("{path}?from=2025-01-01&to=2025-12-31"), &clerk)
            .await;
        assert_eq!(status, StatusCode::OK);
        let text = xlsx_text(&bytes);
        assert!(text.contains("07/QĐ-SKHCN") && text.contains("tổng kết năm trước"));
        assert!(!text.contains("02/QĐ-SKHCN"));

        // Wrong periods are refused with their field.
        for (q, field) in [
            ("from=2026-13-01", "from"),
            ("to=hom-nay", "to"),
            ("from=2026-05-01&to=2026-04-01", "to"),
        ] {
            let (status, body, _) = app.get(&format!("{path}?{q}"), &clerk).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["field"], field, "{q}: {v}");
        }

        // Another agency's clerk, an unknown register, and no login.
        let (status, _, _) = app.get(&path, &their_clerk).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = app
            .get("/api/v1/document-registers/999999/export.xlsx", &clerk)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = app.get(&path, "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The web UI: a link from the documents page, the register with its period form
        // (the current year), and the same workbook from the form's target.
        let (status, html, _) = app.page("/documents", &clerk_ui).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&html).contains("href=\"/documents/registers\""));
        let (status, html, _) = app.page("/documents/registers", &clerk_ui).await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK, "{html}");
        let action = format!("/documents/registers/{}/export.xlsx", register.id);
        assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
        assert!(html.contains("Sổ văn bản đi") && html.contains("value=\"2026-01-01\""));
        assert!(html.contains("value=\"2026-12-31\""));
        let (status, bytes, ct) = app
            .page(
                &format!("{action}?from=2026-01-01&to=2026-03-31"),
                &clerk_ui,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("application/vnd.openxmlformats"));
        let text = xlsx_text(&bytes);
        assert!(text.contains("01/QĐ-SKHCN") && !text.contains("02/QĐ-SKHCN"));
        let (status, _, _) = app.page(&action, &their_ui).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = app
            .page(&format!("/documents/registers?agency_id={dost}"), &their_ui)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, html, _) = app.page("/documents/registers", &their_ui).await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains(&action) && html.contains("chưa có sổ"));

        // The route is in the OpenAPI document.
        let (status, doc, _) = app.get("/api/openapi.json", "").await;
        assert_eq!(status, StatusCode::OK);
        let doc: Value = serde_json::from_slice(&doc).unwrap();
        assert!(
            doc["paths"]["/api/v1/document-registers/{id}/export.xlsx"]["get"].is_object(),
            "not in the OpenAPI document"
        );
    }
}

fn datetime_2026_02_11() -> i64 {
    time::macros::datetime!(2026-02-11 10:00 +07:00).unix_timestamp()
}
