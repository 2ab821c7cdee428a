//! The scan check of incoming paper documents (issue 18 item 1) through the real router, on
//! SQLite and PostgreSQL: the clerk uploads scans made by img2pdf and Ghostscript (as scanner
//! software makes them) with the scan flag; `GET /api/v1/incoming/{id}/scan-check` reports
//! Decree 30's format of a digitised copy on the stored bytes — a colour A4 scan at 200 dpi
//! passes, a grey one at 150 dpi is refused with both reasons in Vietnamese and English; a
//! document not uploaded as a scan is 409; another agency's clerk gets 404; no token, 401.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::Router;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::testing::{backends, TestDb};
use kyso_store::Actor;
use kyso_testkit::need;
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::scans::{page, scan, upload};
use support::{NOW, PASSWORD};

async fn person(router: &Router, store: &kyso_store::Store, name: &str, agency: i64) -> String {
    accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Văn thư {name}"),
            email: format!("{name}@demo.invalid"),
            agency_id: agency,
            password: Zeroizing::new(PASSWORD.into()),
            roles: vec![RoleOn {
                role: "clerk".into(),
                agency_id: agency,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    let (status, body, _) = support::call_json(
        router,
        Method::POST,
        "/api/v1/auth/login",
        "",
        Some(json!({"username": name, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_clerk_sees_whether_a_scan_has_the_format_of_a_digitised_copy() {
    if !(need("img2pdf", &["--version"]) && need("gs", &["--version"])) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let good = scan(tmp.path(), "good", &page(200.0, true), "ppm");
    let poor = scan(tmp.path(), "poor", &page(150.0, false), "pgm");
    let not_scan = scan(tmp.path(), "email", &page(210.0, true), "ppm");
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(blobs);
        let router = kyso_web::router(state);
        let s = &db.store;
        let province = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(province)).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let clerk = person(&router, s, "vanthu.tc", finance).await;
        let other = person(&router, s, "vanthu.khcn", dost).await;
        let call = |method: Method, path: String, token: String, body: Option<Value>| {
            let router = router.clone();
            async move {
                let (st, v, _) = support::call_json(&router, method, &path, &token, body).await;
                (st, v)
            }
        };
        let mut ids = Vec::new();
        for (n, (file, scanned)) in [(&good, true), (&poor, true), (&not_scan, false)]
            .into_iter()
            .enumerate()
        {
            let (st, v) = call(
                Method::POST,
                "/api/v1/incoming/upload".into(),
                clerk.clone(),
                Some(upload(finance, &format!("{}", 30 + n), file, scanned)),
            )
            .await;
            assert_eq!(st, StatusCode::CREATED, "{b:?}: {v}");
            assert_eq!(v["scanned"].as_bool(), Some(scanned), "{v}");
            ids.push(v["id"].as_i64().unwrap());
        }
        let check = |id: i64, token: &str| {
            call(
                Method::GET,
                format!("/api/v1/incoming/{id}/scan-check"),
                token.to_owned(),
                None,
            )
        };

        let (st, v) = check(ids[0], &clerk).await;
        assert_eq!(st, StatusCode::OK, "{b:?}: {v}");
        assert_eq!(v["passes"], json!(true), "{v}");
        assert_eq!(v["findings"], json!([]), "{v}");
        assert_eq!(v["version"], json!("1.5"));
        assert_eq!(v["page_count"], json!(1));
        assert_eq!(v["lowest_dpi"], json!(200.0), "{v}");
        assert_eq!(v["min_dpi"], json!(200.0));
        assert_eq!(v["pages"][0]["colour"], json!("colour"));
        assert_eq!(v["pages"][0]["width_mm"], json!(210.0), "{v}");

        let (st, v) = check(ids[1], &clerk).await;
        assert_eq!(st, StatusCode::OK, "{b:?}: {v}");
        assert_eq!(v["passes"], json!(false), "{v}");
        assert_eq!(codes(&v), ["LOW_RESOLUTION", "NOT_COLOUR"], "{v}");
        assert_eq!(v["lowest_dpi"], json!(150.0), "{v}");
        assert_eq!(v["pages"][0]["colour"], json!("gray"));
        let low = &v["findings"][0];
        assert_eq!(low["severity"], json!("error"));
        assert!(
            low["message_vi"].as_str().unwrap().contains("150 dpi")
                && low["message_en"]
                    .as_str()
                    .unwrap()
                    .contains("below Decree 30's 200 dpi"),
            "{low}"
        );

        // Not uploaded as a scan: 409 with the reason.
        let (st, v) = check(ids[2], &clerk).await;
        assert_eq!(st, StatusCode::CONFLICT, "{b:?}: {v}");
        assert!(v.to_string().contains("bản quét"), "{v}");
        // Another agency's clerk sees nothing; no token, no answer.
        let (st, _) = check(ids[0], &other).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b:?}");
        let (st, _) = check(ids[0], "").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{b:?}");
        // Unknown record.
        let (st, _) = check(999_999, &clerk).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b:?}");

        // The incoming page shows the same check to the clerk, for scans only.
        let (session, _) = accounts::login(
            s,
            "vanthu.tc",
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        let cookie = format!("kyso_session={}", session.token.as_str());
        let page = |id: i64| {
            let req = axum::http::Request::builder()
                .uri(format!("/incoming/{id}"))
                .header(axum::http::header::COOKIE, &cookie)
                .body(axum::body::Body::empty())
                .unwrap();
            let router = router.clone();
            async move {
                let (st, bytes, _) = support::send(&router, req).await;
                assert_eq!(st, StatusCode::OK, "{b:?}");
                String::from_utf8(bytes).unwrap()
            }
        };
        let html = page(ids[0]).await;
        assert!(html.contains("Kiểm tra bản quét"), "{html}");
        assert!(
            html.contains("Bản quét đạt định dạng bản sao điện tử."),
            "{html}"
        );
        assert!(html.contains("200 dpi"), "{html}");
        let html = page(ids[1]).await;
        assert!(html.contains("cần quét lại trước khi số hóa"), "{html}");
        assert!(
            html.contains("150 dpi") && html.contains("thang xám"),
            "{html}"
        );
        let html = page(ids[2]).await;
        assert!(!html.contains("Kiểm tra bản quét"), "{html}");
    }
}
