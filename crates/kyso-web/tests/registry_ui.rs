//! The registry's forms as an officer uses them (issue 20), on SQLite and on PostgreSQL,
//! through the real router with the session's CSRF token: a wrong entry is refused at its
//! field with a Vietnamese message and nothing is saved — an agency code outside its parent's
//! branch, a second agency of the same name under one parent (added only once the officer
//! ticks that it is another body), a phone number that is not one; a save is confirmed with a
//! success message; lists with nothing in them, or nothing matching a search, say so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::http::StatusCode;
use kyso_store::testing::backends;

mod support;
use support::app::App;
use support::html::in_layout;

#[tokio::test]
async fn the_agency_form_refuses_a_code_of_another_branch_and_asks_before_a_second_same_name() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let admin = app.session("quantri", root, "dost_admin").await;
        // Lists with nothing in them say so, and a search that finds nothing says that.
        for (page, says) in [
            ("/requests", "Chưa có đề nghị nào."),
            ("/devices", "Chưa có thiết bị nào."),
            ("/subscribers", "Chưa có thuê bao nào."),
            (
                "/agencies?q=khong+co",
                "Không có mục nào khớp với điều kiện tìm",
            ),
        ] {
            let (status, html) = app.page(&admin, page).await;
            assert_eq!(status, StatusCode::OK, "{b:?}: {page}");
            assert!(html.contains(says), "{b:?}: {page} says {says:?}");
        }
        let root_id = root.to_string();
        let count = || async move {
            kyso_store::registry::agencies(s, &kyso_store::Actor::system(), "", None)
                .await
                .unwrap()
                .len()
        };
        let form = |code: &'static str, name: &'static str, parent: String| {
            vec![
                ("parent_id", parent),
                ("code", code.to_owned()),
                ("name", name.to_owned()),
                ("kind", "department".to_owned()),
            ]
        };
        let send = |fields: Vec<(&'static str, String)>| {
            let app = &app;
            let admin = &admin;
            async move {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.submit(admin, "/agencies", &fields).await
            }
        };

        // A unit of the Finance department coded under the Department of Science: refused at
        // the code, naming both codes; the form keeps what was typed.
        let (status, page) = send(form("H99.37.02", "Phòng Ngân sách", finance.to_string())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            in_layout(&page),
            "{b:?}: the refusal is a page in the site's layout"
        );
        assert!(
            page.contains("Mã định danh H99.37.02 không thuộc mã của cơ quan cấp trên H99.05"),
            "{b:?}: {page}"
        );
        assert!(page.contains(r#"id="code" name="code" type="text" value="H99.37.02""#));
        assert!(page.contains(r#"aria-invalid="true""#));
        assert_eq!(count().await, 3, "{b:?}: nothing saved");

        // A phone number that is not one: refused at the field.
        let mut bad_phone = form("H99.06", "Sở Xây dựng", root_id.clone());
        bad_phone.push(("phone", "12345".to_owned()));
        let (status, page) = send(bad_phone).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(page.contains("không phải số điện thoại Việt Nam"), "{b:?}");

        // "Sở Tài chính" again under the province: a warning with the box to add it anyway.
        let (status, page) = send(form("H99.06", "Sở tài chính", root_id.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            page.contains("Đã có cơ quan \"Sở Tài chính\" (mã H99.05) trực thuộc UBND Tỉnh Demo")
                || page.contains(
                    "Đã có cơ quan &quot;Sở Tài chính&quot; (mã H99.05) trực thuộc UBND Tỉnh Demo"
                ),
            "{b:?}: {page}"
        );
        assert!(page.contains(r#"name="same_name_confirmed""#), "{b:?}");
        assert_eq!(count().await, 3, "{b:?}: nothing saved");
        // Without the warning the box is not offered.
        let (_, blank) = app.page(&admin, "/agencies/new").await;
        assert!(!blank.contains("same_name_confirmed"));

        // Ticked, with the phone written the usual way: added, the phone kept as its digits.
        let mut confirmed = form("H99.06", "Sở tài chính", root_id.clone());
        confirmed.push(("same_name_confirmed", "1".to_owned()));
        confirmed.push(("phone", "+84 238 3844 500".to_owned()));
        let (status, to) = send(confirmed).await;
        assert_eq!(
            (status, to.as_str()),
            (StatusCode::SEE_OTHER, "/agencies?done=agency_created"),
            "{b:?}"
        );
        let (_, list) = app.page(&admin, &to).await;
        assert!(
            list.contains(r#"<div class="alert ok" role="status">Đã thêm cơ quan.</div>"#),
            "{b:?}: the save is confirmed"
        );
        assert_eq!(count().await, 4, "{b:?}");
        let added = kyso_store::registry::agency_by_code(s, &kyso_store::Actor::system(), "H99.06")
            .await
            .unwrap();
        assert_eq!(added.phone, "02383844500", "{b:?}");
    }
}

#[tokio::test]
async fn refusing_or_withdrawing_a_request_is_set_apart_and_confirmed_first() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;
        let r = kyso_store::requests::create_request(
            s,
            &officer.actor,
            &kyso_store::requests::NewRequest {
                kind: "issue_organization".into(),
                agency_id: dost,
                contact_name: "Lê Thị Hoa".into(),
                items: vec![kyso_store::requests::NewItem {
                    data: [("name", "Sở KH&CN"), ("email", "skhcn@demo.invalid")]
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            support::NOW,
        )
        .await
        .unwrap();
        let path = format!("/requests/{}", r.request.id);
        let (_, html) = app.page(&officer, &path).await;
        assert!(
            html.contains(r#"<button class="danger" type="submit" name="action" value="withdraw">Rút đề nghị</button>"#),
            "{b:?}: withdrawing is set apart: {html}"
        );
        assert!(
            html.contains(r#"<button class="primary" type="submit" name="action" value="submit">"#)
        );

        // The first click asks; nothing changes yet.
        let act = format!("{path}/act");
        let (status, html) = app
            .submit_multipart(
                &officer,
                &act,
                &[("action", "withdraw"), ("note", "Lập nhầm")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(html.contains("Rút đề nghị này?"), "{b:?}: {html}");
        assert!(html.contains(r#"name="confirm" value="yes""#));
        assert!(
            html.contains(r#"name="note" value="Lập nhầm""#),
            "the note is kept"
        );
        let state = || async {
            kyso_store::requests::get_request(s, &officer.actor, r.request.id, support::NOW)
                .await
                .unwrap()
                .request
                .state
        };
        assert_eq!(state().await.as_str(), "draft", "{b:?}");

        // Confirmed: done, with its message.
        let (status, to) = app
            .submit_multipart(
                &officer,
                &act,
                &[
                    ("action", "withdraw"),
                    ("note", "Lập nhầm"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        assert_eq!(to, format!("{path}?done=request_acted"));
        assert_eq!(state().await.as_str(), "withdrawn", "{b:?}");
        let (_, html) = app.page(&officer, &to).await;
        assert!(html.contains("Đã ghi nhận thao tác"), "{b:?}");
    }
}
