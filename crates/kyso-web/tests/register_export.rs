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

use axum::http::StatusCode;
use kyso_store::sqlx;
use kyso_store::testing::backends;
use serde_json::Value;

mod support;
use support::app::{content_type, App};
use support::books::Entry;

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

/// Numbered `number` of the year of `date` with notation QĐ-SKHCN, in `state`.
fn entry<'a>(number: i64, date: &'a str, state: &'a str) -> Option<Entry<'a>> {
    Some(Entry {
        number,
        date,
        notation: "QĐ-SKHCN",
        state,
    })
}

#[tokio::test]
async fn the_outgoing_register_as_xlsx_by_period_and_only_for_its_agency() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let drafter = app.session("chuyenvien", dost, "drafter").await.actor;
        let clerk_ui = app.session("vanthu", dost, "clerk").await;
        let their_ui = app.session("vanthu.tc", finance, "clerk").await;
        let (clerk, their_clerk) = (&clerk_ui.token, &their_ui.token);
        let register = app.outgoing_register(dost, "SKHCN").await;
        // Number 02 is uploaded before number 01: the book follows the numbers.
        let _second = app
            .book_document(
                &drafter,
                dost,
                "quyet_dinh",
                "Về việc kiểm tra hồ sơ tháng Năm",
                entry(2, "2026-05-20", "registered"),
            )
            .await;
        let first = app
            .book_document(
                &drafter,
                dost,
                "quyet_dinh",
                "Về việc ban hành Quy chế văn thư",
                entry(1, "2026-02-10", "dispatched"),
            )
            .await;
        let _last_year = app
            .book_document(
                &drafter,
                dost,
                "quyet_dinh",
                "Về việc tổng kết năm trước",
                entry(7, "2025-12-30", "dispatched"),
            )
            .await;
        let _draft = app
            .book_document(&drafter, dost, "quyet_dinh", "Về việc còn là dự thảo", None)
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
        let path = format!("/api/v1/document-registers/{register}/export.xlsx");

        // The current year by default (the clock says 2026).
        let (status, bytes, headers) = app.get(&path, clerk).await;
        let ct = content_type(&headers);
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
            .get(&format!("{path}?from=2026-03-01&to=2026-12-31"), clerk)
            .await;
        assert_eq!(status, StatusCode::OK);
        let text = xlsx_text(&bytes);
        assert!(text.contains("02/QĐ-SKHCN") && !text.contains("01/QĐ-SKHCN"));
        assert!(!text.contains("Quy chế văn thư"));
        // Last year's series.
        let (status, bytes, _) = app
            .get(&format!("{path}?from=2025-01-01&to=2025-12-31"), clerk)
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
            let (status, body, _) = app.get(&format!("{path}?{q}"), clerk).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["field"], field, "{q}: {v}");
        }

        // Another agency's clerk, an unknown register, and no login.
        let (status, _, _) = app.get(&path, their_clerk).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = app
            .get("/api/v1/document-registers/999999/export.xlsx", clerk)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = app.get(&path, "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The web UI: a link from the documents page, the register with its period form
        // (the current year), and the same workbook from the form's target.
        let (status, html, _) = app.get_as(&clerk_ui, "/documents").await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&html).contains("href=\"/documents/registers\""));
        let (status, html, _) = app.get_as(&clerk_ui, "/documents/registers").await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK, "{html}");
        let action = format!("/documents/registers/{register}/export.xlsx");
        assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
        assert!(html.contains("Sổ văn bản đi") && html.contains("value=\"2026-01-01\""));
        assert!(html.contains("value=\"2026-12-31\""));
        let (status, bytes, headers) = app
            .get_as(
                &clerk_ui,
                &format!("{action}?from=2026-01-01&to=2026-03-31"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type(&headers).starts_with("application/vnd.openxmlformats"));
        let text = xlsx_text(&bytes);
        assert!(text.contains("01/QĐ-SKHCN") && !text.contains("02/QĐ-SKHCN"));
        let (status, _, _) = app.get_as(&their_ui, &action).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = app
            .get_as(&their_ui, &format!("/documents/registers?agency_id={dost}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, html, _) = app.get_as(&their_ui, "/documents/registers").await;
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
