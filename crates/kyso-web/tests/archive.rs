//! The archive through the real router (issue 19 item 2), on SQLite and PostgreSQL: a signed
//! letter sent by an integrator and registered by the clerk is filed by the server on its own
//! (its text read from the PDF by kyso's reader), found by a word of its text typed without
//! accents and by its number, downloaded byte for byte; the clerk opens a dossier, files the
//! letter into it, closes it after a confirmation — each with its message — and another
//! agency's clerk finds nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::http::StatusCode;
use kyso_store::testing::backends;
use serde_json::{json, Value};

mod support;
use support::app::{b64, App};
use support::ca::TestCa;
use support::{draft, opts};

/// Search the archive as `token` until `want` entries come back (the filing runs in the
/// background after the registration commits).
async fn search_until(app: &App, token: &str, query: &str, want: usize) -> Value {
    for _ in 0..100 {
        let got = app.get_ok(&format!("/api/v1/archive?{query}"), token).await;
        if got["entries"].as_array().map_or(0, Vec::len) >= want {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the archive never held {want} entries for {query}");
}

#[tokio::test]
async fn a_registered_letter_is_filed_found_downloaded_and_kept_in_a_dossier() {
    let ca = TestCa::new("Archive Test Root");
    let signer = ca.issue("Nguyễn Văn An", None);
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let province = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let f = support::agency(s, "H99.05", "Sở Tài chính", Some(province)).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let (_, system) = app.person("hethong.qlvb", f, "clerk").await;
        let clerk = app.session("vanthu.tc", f, "clerk").await;
        let (_, other_clerk) = app.person("vanthu", dost, "clerk").await;

        let sent = app
            .post_created(
                "/api/v1/incoming",
                &system,
                json!({
                    "agency_id": f,
                    "sender_code": "H99.37",
                    "sender_name": "Sở Khoa học và Công nghệ",
                    "number": "15",
                    "notation": "QĐ-SKHCN",
                    "doc_date": "2026-05-28",
                    "doc_type": "Quyết định",
                    "subject": "Về việc ban hành Quy chế văn thư",
                    "signer": "Nguyễn Văn An",
                    "file_name": "quyet-dinh.pdf",
                    "file_base64": b64(&signed),
                }),
            )
            .await;
        let id = sent["id"].as_i64().unwrap();
        // Not filed while it waits for the clerk.
        let none = app.get_ok("/api/v1/archive", &clerk.token).await;
        assert_eq!(none["entries"], json!([]), "{b:?}");
        let (st, out) = app
            .call(
                axum::http::Method::POST,
                &format!("/api/v1/incoming/{id}/register"),
                &clerk.token,
                Some(json!({"reason": "Chưa tra được trạng thái thu hồi; đã gọi xác nhận"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b:?}: {out}");

        // Filed by the server: found by a word of its text ("Nơi nhận", "GIÁM ĐỐC") typed
        // without accents, and by its number and notation.
        let hits = search_until(&app, &clerk.token, "q=noi%20nhan%20giam%20doc", 1).await;
        let entry = &hits["entries"][0];
        assert_eq!(entry["notation"], "15/QĐ-SKHCN", "{b:?}: {hits}");
        assert_eq!(entry["kind"], "incoming");
        assert_eq!(entry["doc_type"], "quyet_dinh");
        assert_eq!(entry["text_state"], "indexed", "{entry}");
        let by_number = app
            .get_ok("/api/v1/archive?number=15%2FQ%C4%90", &clerk.token)
            .await;
        assert_eq!(by_number["entries"].as_array().unwrap().len(), 1);
        let entry_id = entry["id"].as_i64().unwrap();
        // Byte for byte as received.
        let (st, bytes) = app
            .bytes(&format!("/api/v1/archive/{entry_id}/file"), &clerk.token)
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(bytes, signed, "{b:?}");
        // Another agency's clerk: nothing found, and the entry is not theirs to see.
        let theirs = app
            .get_ok("/api/v1/archive?q=giam%20doc", &other_clerk)
            .await;
        assert_eq!(theirs["entries"], json!([]));
        let (st, _) = app
            .call(
                axum::http::Method::GET,
                &format!("/api/v1/archive/{entry_id}"),
                &other_clerk,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // The pages: the search finds it; a dossier opened, the letter filed into it, the
        // dossier closed after a confirmation.
        let (st, html) = app
            .page(
                &clerk,
                "/archive?q=quy%20che%20van%20thu&agency_id=&doc_type=&kind=&from=&to=",
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("15/QĐ-SKHCN"), "{html}");
        let (st, to) = app
            .submit(
                &clerk,
                "/archive/dossiers",
                &[
                    ("agency_id", &f.to_string()),
                    ("year", "2026"),
                    ("code", "03.VT"),
                    ("title", "Hồ sơ quy chế văn thư năm 2026"),
                    ("retention", "permanent"),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{to}");
        let (_, page) = app.page(&clerk, &to).await;
        assert!(page.contains("Đã mở hồ sơ"), "{page}");
        assert!(page.contains("Vĩnh viễn"));
        let dossier = to
            .trim_start_matches("/archive/dossiers/")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        // The same code again: the form again, the field marked.
        let (st, again) = app
            .submit(
                &clerk,
                "/archive/dossiers",
                &[
                    ("agency_id", &f.to_string()),
                    ("year", "2026"),
                    ("code", "03.VT"),
                    ("title", "Trùng"),
                    ("retention", "10"),
                ],
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{again}");
        assert!(again.contains("đã có hồ sơ số 03.VT"), "{again}");
        let (st, to) = app
            .submit(
                &clerk,
                &format!("/archive/{entry_id}/dossier"),
                &[("dossier_id", &dossier)],
            )
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, page) = app.page(&clerk, &to).await;
        assert!(page.contains("Đã lưu hồ sơ của văn bản"), "{page}");
        assert!(page.contains("03.VT"));
        let close = format!("/archive/dossiers/{dossier}/close");
        let (st, confirm) = app.submit(&clerk, &close, &[]).await;
        assert_eq!(st, StatusCode::OK);
        assert!(confirm.contains("Kết thúc hồ sơ này?"), "{confirm}");
        let (st, to) = app.submit(&clerk, &close, &[("confirm", "yes")]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, page) = app.page(&clerk, &to).await;
        assert!(page.contains("Đã kết thúc hồ sơ"), "{page}");
        assert!(page.contains("15/QĐ-SKHCN"), "the dossier lists its letter");
        // Closed: the letter stays in it.
        let (st, page) = app
            .submit(
                &clerk,
                &format!("/archive/{entry_id}/dossier"),
                &[("dossier_id", "")],
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("Hồ sơ đã kết thúc"));
    }
}
