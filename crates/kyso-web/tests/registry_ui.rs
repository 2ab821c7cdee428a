//! The registry's forms as an officer uses them (issue 20), on SQLite and on PostgreSQL,
//! through the real router with the session's CSRF token: a wrong entry is refused at its
//! field with a Vietnamese message and nothing is saved — an agency code outside its parent's
//! branch, a second agency of the same name under one parent (added only once the officer
//! ticks that it is another body), a phone number that is not one, a certificate from a CA the
//! province does not trust or naming someone else (imported only with a ticked reason, in the
//! form and the API alike); a save is confirmed with a success message; lists with nothing in
//! them, or nothing matching a search, say so; a certificate's page names its holder and
//! issuer and leads to a request about it.
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

/// A person of `agency` in the registry, with `more` of their details (`title`,
/// `date_of_birth`, `id_number`).
async fn person(
    s: &kyso_store::Store,
    actor: &kyso_store::Actor,
    agency: i64,
    name: &str,
    more: &[(&str, &str)],
) -> kyso_store::registry::Subscriber {
    let get = |k: &str| {
        more.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    kyso_store::registry::create_subscriber(
        s,
        actor,
        &kyso_store::registry::SubscriberInput {
            kind: "individual".into(),
            agency_id: agency,
            name: name.into(),
            title: get("title").unwrap_or_default(),
            date_of_birth: get("date_of_birth").unwrap_or_default(),
            id_number: get("id_number").unwrap_or_default(),
            ..Default::default()
        },
        support::NOW,
    )
    .await
    .unwrap()
}
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

/// A certificate for `cn` from the tests' CA (or, `trusted` false, from a CA nobody trusts),
/// valid two years.
fn certificate(cn: &str, serial: u64, trusted: bool) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    p.not_before = support::NOW - time::Duration::days(1);
    p.not_after = support::NOW + time::Duration::days(730);
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    if trusted {
        kyso_store::testing::TestCa::get().sign(&p, &key)
    } else {
        p.self_signed(&key).unwrap().pem()
    }
}

#[tokio::test]
async fn a_certificate_naming_someone_else_is_imported_only_with_a_confirmed_reason() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;
        let an = person(s, &officer.actor, dost, "Nguyễn Văn An", &[]).await;
        let count = || async {
            kyso_store::registry::search_certificates(
                s,
                &kyso_store::Actor::system(),
                &Default::default(),
                support::NOW,
            )
            .await
            .unwrap()
            .total
        };
        let dost_id = dost.to_string();
        let an_id = an.id.to_string();

        // From a CA the province does not trust: refused at the file, in the layout.
        let stranger = certificate("Nguyễn Văn An", 0x51, false);
        let (status, page) = app
            .submit_multipart(
                &officer,
                "/certificates/import",
                &[
                    ("agency_id", &dost_id),
                    ("subscriber_id", &an_id),
                    ("file", &stranger),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(in_layout(&page), "{b:?}");
        assert!(
            page.contains("không do tổ chức chứng thực tin cậy cấp"),
            "{b:?}: {page}"
        );

        // Someone else's name: the page shows what the certificate says and asks for a
        // confirmed reason, keeping the certificate so the file need not be chosen again.
        let other = certificate("Trần Văn Khác", 0x52, true);
        let (status, page) = app
            .submit_multipart(
                &officer,
                "/certificates/import",
                &[
                    ("agency_id", &dost_id),
                    ("subscriber_id", &an_id),
                    ("file", &other),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            page.contains("Chứng thư số không khớp với thuê bao"),
            "{b:?}: {page}"
        );
        assert!(page.contains("Trần Văn Khác"), "{b:?}");
        assert!(page.contains(r#"name="certificate_pem""#), "{b:?}");
        assert!(page.contains(r#"name="mismatch_confirmed""#), "{b:?}");
        assert!(!page.contains(r#"type="file""#), "{b:?}: no second upload");
        let pem = support::html::input_value(&page, "certificate_pem").unwrap();
        assert_eq!(count().await, 0, "{b:?}: nothing saved");

        // A reason without the box ticked is not a confirmation.
        let (status, _) = app
            .submit_multipart(
                &officer,
                "/certificates/import",
                &[
                    ("agency_id", &dost_id),
                    ("subscriber_id", &an_id),
                    ("certificate_pem", &pem),
                    ("mismatch_reason", "Cấp theo tên cũ"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert_eq!(count().await, 0, "{b:?}");

        // Ticked, with the reason: imported, the save confirmed.
        let (status, to) = app
            .submit_multipart(
                &officer,
                "/certificates/import",
                &[
                    ("agency_id", &dost_id),
                    ("subscriber_id", &an_id),
                    ("certificate_pem", &pem),
                    ("mismatch_confirmed", "1"),
                    ("mismatch_reason", "Cấp theo tên cũ"),
                ],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("/subscribers/{}?done=certificate_imported", an.id).as_str()
            ),
            "{b:?}"
        );
        assert_eq!(count().await, 1, "{b:?}");

        // The certificate's page names people, not distinguished names, and leads on to a
        // request about it.
        let cert = kyso_store::registry::search_certificates(
            s,
            &kyso_store::Actor::system(),
            &Default::default(),
            support::NOW,
        )
        .await
        .unwrap()
        .items
        .remove(0);
        let (status, page) = app
            .page(&officer, &format!("/certificates/{}", cert.id))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(in_layout(&page), "{b:?}");
        assert!(
            page.contains("Chứng thư số: Trần Văn Khác"),
            "{b:?}: {page}"
        );
        assert!(
            page.contains(&format!(
                r#"<a href="/subscribers/{}">Nguyễn Văn An</a>"#,
                an.id
            )),
            "{b:?}: the holder in the registry"
        );
        assert!(
            page.contains("CA thử nghiệm của kyso-store"),
            "{b:?}: the issuer by name"
        );
        assert!(
            page.contains("31/05/2026 – 31/05/2028"),
            "{b:?}: dates as dd/mm/yyyy"
        );
        assert!(
            page.contains("Ký số") && page.contains(&cert.sha256),
            "{b:?}"
        );
        assert!(
            page.contains("Chưa có thiết bị nào gắn với chứng thư số này."),
            "{b:?}"
        );
        let revoke = format!(
            "/requests/new?kind=revoke&amp;agency_id={dost}&amp;certificate_id={}",
            cert.id
        );
        assert!(page.contains(&revoke), "{b:?}: {page}");
        let (_, form) = app.page(&officer, &revoke.replace("&amp;", "&")).await;
        assert!(
            form.contains(&format!(
                r#"name="certificate_id" value="{}" checked"#,
                cert.id
            )),
            "{b:?}: the certificate is ticked already: {form}"
        );
        let (status, der) = app
            .download(&officer, &format!("/certificates/{}/cer", cert.id))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert_eq!(
            kyso_x509::Cert::from_der(&der)
                .unwrap()
                .sha256_fingerprint_hex()
                .to_lowercase(),
            cert.sha256
        );
        // The list offers its rows as a workbook with the filters shown; the session's
        // cookie is enough to download it.
        let (_, list) = app
            .page(&officer, "/certificates?q=khac&status=active")
            .await;
        assert!(
            list.contains(r#"href="/api/v1/certificates/export.xlsx?q=khac&amp;status=active""#),
            "{b:?}: {list}"
        );
        let (status, xlsx) = app
            .download(
                &officer,
                "/api/v1/certificates/export.xlsx?q=khac&status=active",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(xlsx.starts_with(b"PK\x03\x04"), "{b:?}");

        // The auditor reads it in words: Vietnam time, the action, the record with its link,
        // the officer's reason as a labelled line.
        let auditor = app.session("kiemtoan", dost, "auditor").await;
        let (status, log) = app.page(&auditor, "/audit?action=certificate.import").await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(log.contains("Nhập chứng thư số"), "{b:?}: {log}");
        assert!(
            log.contains(&format!(
                r#"<a href="/certificates/{id}">Chứng thư số {id}</a>"#,
                id = cert.id
            )),
            "{b:?}: {log}"
        );
        assert!(
            log.contains("Lý do vẫn nhập: </span>Cấp theo tên cũ"),
            "{b:?}: {log}"
        );
        assert!(log.contains("01/06/2026 09:00"), "{b:?}: local time");
        assert!(!log.contains("\"mismatch_reason\""), "{b:?}: no raw JSON");

        // A certificate that does not exist is a page in the layout, not a bare error.
        let (status, page) = app.page(&officer, "/certificates/999999").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}");
        assert!(in_layout(&page), "{b:?}");

        // The API asks the same question at the field, and takes the reason in the body.
        let (_, token) = app.person("api.skhcn", dost, "signature_officer").await;
        let third = certificate("Lê Thị Ba", 0x53, true);
        let body = serde_json::json!({"agency_id": dost, "subscriber_id": an.id, "pem": third});
        let refused = app
            .post_refused(
                "/api/v1/certificates",
                &token,
                body.clone(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(
            refused["error"]["field"], "mismatch_reason",
            "{b:?}: {refused}"
        );
        let mut confirmed = body;
        confirmed["mismatch_reason"] = "Chứng thư cấp cho người được ủy quyền".into();
        let created = app
            .post_created("/api/v1/certificates", &token, confirmed)
            .await;
        assert_eq!(created["serial"], "53", "{b:?}");
    }
}

#[tokio::test]
async fn a_device_history_reads_in_words_and_its_handover_prints_as_form_07() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;
        let an = person(
            s,
            &officer.actor,
            dost,
            "Nguyễn Văn An",
            &[("title", "Chuyên viên")],
        )
        .await;
        let d = kyso_store::registry::create_device(
            s,
            &officer.actor,
            &kyso_store::registry::DeviceInput {
                kind: "token".into(),
                serial: "TK-0001".into(),
                model: "Token DEMO".into(),
                agency_id: dost,
                ..Default::default()
            },
            support::NOW,
        )
        .await
        .unwrap();
        let (_, page) = app.page(&officer, &format!("/devices/{}", d.id)).await;
        assert!(page.contains("Chưa có thao tác nào."), "{b:?}: {page}");
        kyso_store::registry::device_event(
            s,
            &officer.actor,
            d.id,
            &kyso_store::registry::DeviceEventInput {
                event: "assign".into(),
                holder_id: Some(an.id),
                counterpart: "Lê Thị Hoa, Văn thư".into(),
                note: "Kèm mã PIN trong phong bì dán kín".into(),
            },
            support::NOW,
        )
        .await
        .unwrap();
        let (status, page) = app.page(&officer, &format!("/devices/{}", d.id)).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            page.contains("Bàn giao cho thuê bao"),
            "{b:?}: the event in words"
        );
        assert!(page.contains("01/06/2026 09:00"), "{b:?}: local time");
        let record = kyso_store::registry::device_history(s, &officer.actor, d.id)
            .await
            .unwrap()
            .remove(0);
        let href = format!("/devices/{}/records/{}", d.id, record.id);
        assert!(page.contains(&format!(r#"href="{href}""#)), "{b:?}: {page}");

        let (status, form) = app.page(&officer, &href).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(in_layout(&form), "{b:?}");
        for says in [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Mẫu 07",
            "BIÊN BẢN BÀN GIAO CHỨNG THƯ VÀ THIẾT BỊ CHO THUÊ BAO",
            "Ngày 1 tháng 6 năm 2026",
            "Bên giao: </strong>Lê Thị Hoa, Văn thư",
            "Bên nhận: </strong>Nguyễn Văn An, Chuyên viên",
            "TK-0001",
            "Kèm mã PIN trong phong bì dán kín",
            "(Ký, ghi rõ họ tên)",
        ] {
            assert!(
                form.contains(says),
                "{b:?}: the record says {says:?}: {form}"
            );
        }
        let (status, missing) = app
            .page(&officer, &format!("/devices/{}/records/999999", d.id))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}");
        assert!(in_layout(&missing), "{b:?}");
    }
}

#[tokio::test]
async fn agencies_and_subscribers_are_changed_from_their_pages() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;
        let auditor = app.session("kiemtoan", dost, "auditor").await;

        // The agency's page: codes, parent, and the form for those who keep the registry.
        let path = format!("/agencies/{dost}");
        let (status, page) = app.page(&officer, &path).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            page.contains(&format!(r#"<a href="/agencies/{root}">UBND Tỉnh Demo</a>"#)),
            "{b:?}: {page}"
        );
        assert!(page.contains("Sửa thông tin cơ quan"), "{b:?}");
        let (_, list) = app.page(&officer, "/agencies").await;
        assert!(
            list.contains(&format!(r#"href="/agencies/{dost}""#)),
            "{b:?}: the list leads to it"
        );
        let (status, page) = app.page(&auditor, &path).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            !page.contains("Sửa thông tin cơ quan"),
            "{b:?}: no form one cannot use"
        );

        // A wrong phone: refused at its field, what was typed kept; then saved.
        let (status, page) = app
            .submit(
                &officer,
                &path,
                &[
                    ("code", "H99.37"),
                    ("name", "Sở Khoa học và Công nghệ tỉnh Demo"),
                    ("kind", "department"),
                    ("phone", "12345"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            in_layout(&page) && page.contains("không phải số điện thoại Việt Nam"),
            "{b:?}"
        );
        assert!(
            page.contains(r#"value="Sở Khoa học và Công nghệ tỉnh Demo""#),
            "{b:?}"
        );
        let (status, to) = app
            .submit(
                &officer,
                &path,
                &[
                    ("code", "H99.37"),
                    ("name", "Sở Khoa học và Công nghệ tỉnh Demo"),
                    ("kind", "department"),
                    ("phone", "0238 3844 500"),
                ],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("{path}?done=agency_saved").as_str()
            ),
            "{b:?}"
        );
        let (_, page) = app.page(&officer, &to).await;
        assert!(
            page.contains("Đã lưu thông tin cơ quan.")
                && page.contains("<h1>Sở Khoa học và Công nghệ tỉnh Demo</h1>"),
            "{b:?}"
        );

        // A subscriber's form comes filled with the registry's data, the date as dd/mm/yyyy.
        let an = person(
            s,
            &officer.actor,
            dost,
            "Nguyễn Văn An",
            &[
                ("date_of_birth", "15/03/1985"),
                ("id_number", "099085000101"),
                ("title", "Chuyên viên"),
            ],
        )
        .await;
        let edit = format!("/subscribers/{}/edit", an.id);
        let (_, page) = app.page(&officer, &format!("/subscribers/{}", an.id)).await;
        assert!(
            page.contains("15/03/1985") && page.contains(&format!(r#"href="{edit}""#)),
            "{b:?}: {page}"
        );
        let (status, form) = app.page(&officer, &edit).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            form.contains(r#"value="15/03/1985""#) && form.contains(r#"value="099085000101""#),
            "{b:?}: {form}"
        );
        let (status, page) = app.page(&auditor, &edit).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{b:?}");
        assert!(in_layout(&page), "{b:?}");

        let fields = |id_number: &'static str| {
            let dost = dost.to_string();
            move || {
                vec![
                    ("kind", "individual".to_owned()),
                    ("agency_id", dost.clone()),
                    ("name", "Nguyễn Văn An".to_owned()),
                    ("date_of_birth", "15/03/1985".to_owned()),
                    ("id_number", id_number.to_owned()),
                    ("title", "Phó Trưởng phòng".to_owned()),
                ]
            }
        };
        let send = |f: Vec<(&'static str, String)>| {
            let (app, officer, edit) = (&app, &officer, edit.clone());
            async move {
                let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.submit(officer, &edit, &f).await
            }
        };
        let (status, page) = send(fields("12345")()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            page.contains(r#"value="Phó Trưởng phòng""#),
            "{b:?}: what was typed is kept"
        );
        let (status, to) = send(fields("099085000101")()).await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("/subscribers/{}?done=subscriber_saved", an.id).as_str()
            ),
            "{b:?}"
        );
        let (_, page) = app.page(&officer, &to).await;
        assert!(
            page.contains("Đã lưu thông tin thuê bao.") && page.contains("Phó Trưởng phòng"),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn deactivating_a_subscriber_is_confirmed_and_can_be_undone() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;
        let binh = person(s, &officer.actor, dost, "Trần Thị Bình", &[]).await;
        let path = format!("/subscribers/{}", binh.id);
        let (_, page) = app.page(&officer, &path).await;
        assert!(
            page.contains("Ngừng sử dụng thuê bao"),
            "{b:?}: set apart: {page}"
        );

        // The first click asks, with the reason; nothing changes yet.
        let act = format!("{path}/active");
        let (status, ask) = app
            .submit(
                &officer,
                &act,
                &[("active", "no"), ("reason", "Chuyển công tác")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            ask.contains("Ngừng sử dụng thuê bao này?") && ask.contains("Chuyển công tác"),
            "{b:?}"
        );
        assert!(ask.contains(r#"name="confirm" value="yes""#), "{b:?}");
        let (_, list) = app.page(&officer, "/subscribers").await;
        assert!(list.contains("Trần Thị Bình"), "{b:?}");

        let (status, to) = app
            .submit(
                &officer,
                &act,
                &[
                    ("active", "no"),
                    ("reason", "Chuyển công tác"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("{path}?done=subscriber_deactivated").as_str()
            ),
            "{b:?}"
        );
        let (_, page) = app.page(&officer, &to).await;
        assert!(
            page.contains("Đã ngừng sử dụng thuê bao.")
                && page.contains("Thuê bao đã ngừng sử dụng — Chuyển công tác"),
            "{b:?}"
        );
        let (_, list) = app.page(&officer, "/subscribers").await;
        assert!(
            !list.contains("Trần Thị Bình"),
            "{b:?}: left out of the list"
        );
        let (_, list) = app
            .page(&officer, "/subscribers?include_inactive=true")
            .await;
        assert!(
            list.contains("Trần Thị Bình") && list.contains("(đã ngừng sử dụng)"),
            "{b:?}"
        );

        // Taken back.
        let (status, to) = app.submit(&officer, &act, &[("active", "yes")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (_, page) = app.page(&officer, &to).await;
        assert!(page.contains("Đã dùng lại thuê bao."), "{b:?}");

        // The API does the same through the same store function.
        let (_, token) = app.person("api.skhcn", dost, "signature_officer").await;
        let base = format!("/api/v1/subscribers/{}", binh.id);
        let refused = app
            .post_refused(
                &format!("{base}/deactivate"),
                &token,
                serde_json::json!({"reason": ""}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(refused["error"]["field"], "reason", "{b:?}");
        let gone = app
            .post_ok(
                &format!("{base}/deactivate"),
                &token,
                serde_json::json!({"reason": "Nghỉ hưu"}),
            )
            .await;
        assert_eq!(
            (
                gone["active"].as_bool(),
                gone["deactivation_reason"].as_str()
            ),
            (Some(false), Some("Nghỉ hưu")),
            "{b:?}"
        );
        let back = app
            .post_ok(&format!("{base}/reactivate"), &token, serde_json::json!({}))
            .await;
        assert_eq!(back["active"], true, "{b:?}");
    }
}

#[tokio::test]
async fn the_guide_is_in_the_app_and_as_a_pdf_and_every_page_links_to_its_section() {
    let b = kyso_store::Backend::Sqlite;
    let app = App::new(b).await;
    let s = &app.db.store;
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let officer = app.session("cb.tinh", root, "signature_officer").await;
    let (_, page) = app.page(&officer, "/subscribers").await;
    assert!(
        page.contains(r#"href="/huong-dan#can-bo">Hướng dẫn</a>"#),
        "{page}"
    );
    let (_, page) = app.page(&officer, "/").await;
    assert!(page.contains(r#"href="/huong-dan#chung""#));

    let (status, guide) = app.page(&officer, "/huong-dan").await;
    assert_eq!(status, StatusCode::OK);
    assert!(in_layout(&guide));
    for (anchor, title) in [
        ("quan-tri", "Quản trị viên Sở Khoa học và Công nghệ"),
        ("can-bo", "Cán bộ phụ trách chữ ký số"),
        ("van-thu", "Văn thư"),
        ("nguoi-ky", "Người ký"),
        ("kiem-toan", "Kiểm toán viên"),
    ] {
        assert!(
            guide.contains(&format!(r#"<h2 id="{anchor}">{title}</h2>"#)),
            "the section of {title}"
        );
    }
    assert!(guide.contains(r#"src="/huong-dan/anh/05-tim-thue-bao.png""#));
    let (status, png) = app
        .download(&officer, "/huong-dan/anh/05-tim-thue-bao.png")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(png.starts_with(b"\x89PNG"));
    let (status, missing) = app.page(&officer, "/huong-dan/anh/khong-co.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(in_layout(&missing));
    let (status, pdf) = app.download(&officer, "/huong-dan.pdf").await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn a_p12_brings_its_chain_counters_are_plain_at_zero_and_accounts_start_least_powerful() {
    use base64::Engine as _;
    let b = kyso_store::Backend::Sqlite;
    let app = App::new(b).await;
    let s = &app.db.store;
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let dost = support::agency(
        s,
        "H99.37",
        "Sở Khoa học và Công nghệ tỉnh Demo",
        Some(root),
    )
    .await;
    let admin = app.session("quantri", root, "dost_admin").await;

    // Nothing to worry about: no counter is coloured. The account form starts at the least
    // powerful role, not the first listed.
    let (_, home) = app.page(&admin, "/").await;
    assert!(
        !home.contains("card warn") && !home.contains("card bad"),
        "{home}"
    );
    let (_, users) = app.page(&admin, "/users").await;
    assert!(
        users.contains(r#"<option value="drafter" selected>"#),
        "{users}"
    );

    // The demo PKI's root is trusted, its intermediate is not known: the leaf alone has no
    // path, the .p12 carries the intermediate and is taken.
    let (dir, _) = support::demo::demo_pki();
    let demo_root =
        kyso_x509::Cert::from_pem_or_der(&std::fs::read(dir.path().join("root.pem")).unwrap())
            .unwrap();
    s.trust_issuers(&kyso_x509::path::TrustStore::from_certs(demo_root), &[]);
    let (_, token) = app.person("api.skhcn", dost, "signature_officer").await;
    let an = person(s, &admin.actor, dost, "Nguyễn Văn An", &[]).await;
    let refused = app
        .post_refused(
            "/api/v1/certificates",
            &token,
            serde_json::json!({"agency_id": dost, "subscriber_id": an.id,
                               "pem": support::demo::demo_cert_pem("personal")}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("không do tổ chức chứng thực tin cậy cấp"),
        "{refused}"
    );
    let p12 = std::fs::read(dir.path().join("personal.p12")).unwrap();
    let created = app
        .post_created(
            "/api/v1/certificates",
            &token,
            serde_json::json!({"agency_id": dost, "subscriber_id": an.id,
                               "pkcs12_base64": base64::engine::general_purpose::STANDARD.encode(p12),
                               "password": support::demo::PIN}),
        )
        .await;
    assert_eq!(created["subscriber_id"], an.id);
    // A certificate that ends in 25 days: its counters are coloured as a warning.
    let giang = person(s, &admin.actor, dost, "Vũ Thị Giang", &[]).await;
    let p12 = std::fs::read(dir.path().join("expiring.p12")).unwrap();
    app.post_created(
        "/api/v1/certificates",
        &token,
        serde_json::json!({"agency_id": dost, "subscriber_id": giang.id,
                           "pkcs12_base64": base64::engine::general_purpose::STANDARD.encode(p12),
                           "password": support::demo::PIN}),
    )
    .await;
    let (_, home) = app.page(&admin, "/").await;
    assert!(home.contains("card warn"), "{home}");
    assert!(
        !home.contains("card bad"),
        "nothing expired or lost: {home}"
    );
}

#[tokio::test]
async fn an_agency_moves_with_its_new_codes_shown_first_and_is_dissolved_after_a_confirmation() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let centre = support::agency(s, "H99.37.01", "Trung tâm Chuyển đổi số", Some(dost)).await;
        let team = support::agency(s, "H99.37.01.005", "Tổ Hạ tầng", Some(centre)).await;
        let admin = app.session("qt.so", root, "dost_admin").await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;
        let path = format!("/agencies/{centre}");

        // The DOST's officer keeps the DOST's details but not its place in the province: no
        // move or dissolve there.
        let (_, page) = app.page(&officer, &format!("/agencies/{dost}")).await;
        assert!(
            page.contains("Sửa thông tin cơ quan") && !page.contains("Giải thể cơ quan"),
            "{b:?}"
        );
        let (_, page) = app.page(&admin, &path).await;
        assert!(
            page.contains("Chuyển sang cơ quan quản lý khác")
                && page.contains("button class=\"danger\""),
            "{b:?}"
        );
        // The DOST moves nowhere inside itself: neither it nor a unit at any depth is offered.
        let (_, page) = app.page(&admin, &format!("/agencies/{dost}")).await;
        let offered = |id: i64| page.contains(&format!("<option value=\"{id}\""));
        assert!(
            offered(finance)
                && offered(root)
                && !offered(dost)
                && !offered(centre)
                && !offered(team),
            "{b:?}"
        );

        // A code of another branch: refused at the field, what was typed kept.
        let mv = format!("{path}/move");
        let finance_id = finance.to_string();
        let (status, page) = app
            .submit(
                &admin,
                &mv,
                &[("parent_id", &finance_id), ("code", "H99.37.09")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            page.contains("H99.05") && page.contains(r#"value="H99.37.09""#),
            "{b:?}"
        );
        // The new codes are shown before anything moves.
        let (status, ask) = app
            .submit(
                &admin,
                &mv,
                &[("parent_id", &finance_id), ("code", "H99.05.03")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            ask.contains("H99.37.01.005 → H99.05.03.005") && ask.contains("Sở Tài chính"),
            "{b:?}: {ask}"
        );
        let (_, still) = app.page(&admin, &path).await;
        assert!(still.contains("H99.37.01"), "{b:?}");
        let (status, to) = app
            .submit(
                &admin,
                &mv,
                &[
                    ("parent_id", &finance_id),
                    ("code", "H99.05.03"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("{path}?done=agency_moved").as_str()
            ),
            "{b:?}"
        );
        let (_, page) = app.page(&admin, &to).await;
        assert!(
            page.contains("Đã chuyển cơ quan") && page.contains("000.03.05.H99"),
            "{b:?}"
        );
        let (_, page) = app.page(&admin, &format!("/agencies/{team}")).await;
        assert!(page.contains("H99.05.03.005"), "{b:?}");

        // Dissolving the team: asked with what will happen, then done; the list sets it apart.
        let dissolve = format!("/agencies/{team}/dissolve");
        let centre_id = centre.to_string();
        let (status, page) = app
            .submit(
                &admin,
                &dissolve,
                &[("successor_id", &centre_id), ("reason", "")],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{b:?}: no grounds"
        );
        assert!(in_layout(&page), "{b:?}");
        let grounds = "Quyết định số 15/QĐ-UBND ngày 02/12/2026";
        let (status, ask) = app
            .submit(
                &admin,
                &dissolve,
                &[("successor_id", &centre_id), ("reason", grounds)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            ask.contains("Giải thể cơ quan này?") && ask.contains("Trung tâm Chuyển đổi số"),
            "{b:?}"
        );
        let (status, to) = app
            .submit(
                &admin,
                &dissolve,
                &[
                    ("successor_id", &centre_id),
                    ("reason", grounds),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (_, page) = app.page(&admin, &to).await;
        assert!(
            page.contains("Đã giải thể cơ quan") && page.contains(grounds),
            "{b:?}"
        );
        assert!(
            !page.contains("Sửa thông tin cơ quan"),
            "{b:?}: no more forms"
        );
        let (_, list) = app.page(&admin, "/agencies").await;
        assert!(list.contains("Cơ quan đã giải thể (1)"), "{b:?}");
    }
}

#[tokio::test]
async fn a_reporting_cycle_from_the_departments_period_to_an_agencys_submitted_report() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let admin = app.session("qt.so", root, "dost_admin").await;
        let officer = app.session("cb.skhcn", dost, "signature_officer").await;

        // The Department opens the period; an officer is not offered the form.
        let (_, page) = app.page(&officer, "/reports").await;
        assert!(
            page.contains("Chưa có kỳ báo cáo nào.") && !page.contains("Mở kỳ báo cáo"),
            "{b:?}"
        );
        let (status, page) = app
            .submit(
                &admin,
                "/reports",
                &[
                    ("kind", "six_monthly"),
                    ("year", "2026"),
                    ("half", "1"),
                    ("due_day", "01/01/2026"),
                ],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{b:?}: due before the end"
        );
        assert!(page.contains("Hạn gửi báo cáo phải sau"), "{b:?}");
        let (status, to) = app
            .submit(
                &admin,
                "/reports",
                &[
                    ("kind", "six_monthly"),
                    ("year", "2026"),
                    ("half", "1"),
                    ("due_day", "15/07/2026"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (_, page) = app.page(&admin, &to).await;
        assert!(
            page.contains("Báo cáo 6 tháng đầu năm 2026")
                && page.contains("0 / 2 cơ quan đã gửi")
                && page.contains("Đã mở kỳ báo cáo"),
            "{b:?}: {page}"
        );

        // The DOST's officer reviews the figures (charts with their tables) and writes.
        let path = format!("/agencies/{dost}/report");
        let (status, page) = app.page(&officer, &path).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            page.contains(r#"<a href="/reports" aria-current="page">"#),
            "{b:?}: the menu marks the reports' section"
        );
        assert!(
            page.contains("<svg")
                && page.contains("role=\"img\"")
                && page.contains("Còn hiệu lực cuối kỳ"),
            "{b:?}"
        );
        let (status, page) = app
            .submit(
                &officer,
                &path,
                &[
                    ("comments", "Ổn định"),
                    ("devices", "nhiều"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(
            page.contains("Nhu cầu là một số") && page.contains("Ổn định"),
            "{b:?}"
        );
        let (status, to) = app
            .submit(
                &officer,
                &path,
                &[
                    ("comments", "Ổn định"),
                    ("devices", "5"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (_, page) = app.page(&officer, &to).await;
        assert!(page.contains("Đã lưu báo cáo (chưa gửi)"), "{b:?}");
        // Submitting asks first, then freezes the report.
        let (status, ask) = app
            .submit(
                &officer,
                &path,
                &[
                    ("comments", "Ổn định"),
                    ("devices", "5"),
                    ("action", "submit"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(ask.contains("Gửi báo cáo này về Sở?"), "{b:?}");
        let (status, to) = app
            .submit(
                &officer,
                &path,
                &[
                    ("comments", "Ổn định"),
                    ("devices", "5"),
                    ("action", "submit"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (_, page) = app.page(&officer, &to).await;
        assert!(
            page.contains("Đã gửi báo cáo về Sở") && !page.contains("Lưu nháp"),
            "{b:?}: no more form"
        );
        // The Department sees who has reported and the needs summed.
        let (_, page) = app.page(&admin, "/reports").await;
        let period = page
            .split("href=\"/reports/")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let (_, page) = app.page(&admin, &format!("/reports/{period}")).await;
        assert!(
            page.contains("1 / 2 cơ quan đã gửi") && page.contains("Nhu cầu năm sau"),
            "{b:?}: {page}"
        );
        // The summary workbook downloads; the late agency is reminded after one click.
        let (status, _) = app
            .page(
                &admin,
                &format!("/api/v1/report-standings/export.xlsx?period_id={period}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let (status, to) = app
            .submit(&admin, &format!("/reports/{period}/remind"), &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (_, page) = app.page(&admin, &to).await;
        assert!(page.contains("Đã nhắc cán bộ phụ trách"), "{b:?}");

        // The submitted report as a PDF: a preview until its document is issued.
        let pdf_path = format!("/api/v1/agencies/{dost}/report.pdf?period_id={period}");
        let (status, pdf, headers) = app.get_as(&officer, &pdf_path).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert_eq!(headers["content-type"], "application/pdf");
        let text = pdf_text(&pdf);
        assert!(
            text.contains("Ổn định") && text.contains("BÁO CÁO") && text.contains("(để tổng hợp)"),
            "{b:?}: {text}"
        );

        // Making its document needs the drafter's role too; the page says so.
        let (_, page) = app.page(&officer, &path).await;
        assert!(
            page.contains("Văn bản báo cáo") && page.contains("soạn thảo"),
            "{b:?}: the missing role is named"
        );
        let sys = kyso_store::Actor::system();
        kyso_store::accounts::set_role(
            s,
            &sys,
            officer.actor.user_id,
            &kyso_store::accounts::RoleOn {
                role: "drafter".into(),
                agency_id: dost,
            },
            true,
            support::NOW,
        )
        .await
        .unwrap();
        let officer = app.sign_in("cb.skhcn").await;
        let clerk = app.session("vt.skhcn", dost, "clerk").await;
        kyso_store::documents::create_register(
            s,
            &clerk.actor,
            &kyso_store::documents::RegisterInput {
                agency_id: dost,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: Vec::new(),
            },
            support::NOW,
        )
        .await
        .unwrap();
        kyso_store::requests::set_request_recipients(
            s,
            &sys,
            &kyso_store::requests::RequestRecipients {
                department: "H99.37".into(),
                national_ca: String::new(),
            },
            support::NOW,
        )
        .await
        .unwrap();
        let signer = app.session("gd.skhcn", dost, "signer").await;
        let (_, page) = app.page(&officer, &path).await;
        assert!(page.contains("Lập văn bản báo cáo"), "{b:?}: {page}");
        let doc_path = format!("/agencies/{dost}/report/document");
        let (status, page) = app
            .submit(
                &officer,
                &doc_path,
                &[("period_id", &period), ("signer_id", "0")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(page.contains("Hãy chọn người ký"), "{b:?}");
        let signer_id = signer.actor.user_id.to_string();
        let (status, to) = app
            .submit(
                &officer,
                &doc_path,
                &[("period_id", &period), ("signer_id", &signer_id)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        assert!(to.starts_with("/documents/"), "{to}");
        let doc_id: i64 = to["/documents/".len()..]
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let d = kyso_store::documents::get_document(s, &officer.actor, doc_id)
            .await
            .unwrap();
        // The Department's own report goes to the province above it.
        assert_eq!(
            (
                d.document.meta.doc_type.as_str(),
                d.document.meta.recipients.clone()
            ),
            ("bao_cao", vec!["H99".to_owned()]),
            "{b:?}"
        );
        let (status, draft) = app
            .download(&officer, &format!("/documents/{doc_id}/file"))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let text = pdf_text(&draft);
        assert!(
            text.contains("/BC-SKHCN")
                && text.contains("Người dùng gd.skhcn")
                && text.contains("UBND Tỉnh Demo (để tổng hợp)"),
            "{b:?}: {text}"
        );
        // Decree 30's format: no error (a page that ends early before a chart that does not
        // fit may leave a wider bottom margin, a warning).
        let check = kyso_pades::format_check::check(&draft);
        assert!(check.passes(), "{b:?}: {:?}", check.findings);
        // The Department sees where the report's document is; a second one is refused.
        let (_, page) = app.page(&admin, &format!("/reports/{period}")).await;
        assert!(
            page.contains(&format!("href=\"/documents/{doc_id}\"")) && page.contains("Dự thảo"),
            "{b:?}"
        );
        let (status, page) = app
            .submit(
                &officer,
                &doc_path,
                &[("period_id", &period), ("signer_id", &signer_id)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(page.contains(&format!("văn bản #{doc_id}")), "{b:?}");

        // Once its document is dispatched, the report's PDF is the sealed file (stand-in
        // signatures: the store keeps files, the flow's own tests check them).
        use kyso_domain::documents::DocAction as D;
        let file = kyso_store::testing::walk_flow(
            s,
            &app.blobs,
            doc_id,
            &[
                (&officer.actor, D::Submit),
                (&admin.actor, D::Forward),
                (&admin.actor, D::CheckFormat),
                (&signer.actor, D::Approve),
                (&signer.actor, D::SignPersonal),
                (&clerk.actor, D::ClerkCheck),
                (&clerk.actor, D::Number),
                (&clerk.actor, D::OrgSign),
                (&clerk.actor, D::Register),
                (&clerk.actor, D::Dispatch),
            ],
            draft.clone(),
            "bao-cao.pdf",
            support::NOW,
        )
        .await;
        let (status, issued, headers) = app.get_as(&officer, &pdf_path).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert_eq!(issued, file, "{b:?}: the sealed file");
        assert!(
            headers["content-disposition"]
                .to_str()
                .is_ok_and(|d| !d.contains("xem-truoc")),
            "{b:?}"
        );
    }
}

/// The text of a PDF's pages, words separated by single spaces.
fn pdf_text(pdf: &[u8]) -> String {
    let doc = kyso_pdf::Document::open(
        std::sync::Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    let text: Vec<String> = (0..doc.pages().unwrap().len())
        .map(|i| kyso_pdf::text::page_text(&doc, i).unwrap().text())
        .collect();
    text.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
