//! E-mail status messages the server could not send are shown to the clerk (issue 18 review),
//! on SQLite and PostgreSQL, with the SMTP sink of the other tests: a refusal e-mailed to a
//! sender outside kyso that the relay keeps refusing is listed as failing ("Thư báo không gửi
//! được", with the relay's reason), given up once its three days have passed — once, the
//! clerks told in their inbox, audited once, a later round doing nothing —, shown on the
//! incoming document's page, and sent again by the clerk to a corrected address (success
//! message; it goes at the next round and leaves the list); one with an address the server
//! cannot use is given up at once and marked handled after a confirmation; another agency's
//! clerk neither sees nor touches them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use kyso_store::testing::backends;
use kyso_web::mailer::{Mailer, SmtpConfig};
use serde_json::json;

mod support;
use support::app::{b64, App};
use support::{smtp, NOW};

/// The audit log's actions, oldest first.
async fn audited(s: &kyso_store::Store) -> Vec<String> {
    let mut all = kyso_store::audit::list(
        s,
        &kyso_store::Actor::system(),
        &kyso_store::audit::Filter {
            limit: 10_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    all.reverse();
    all.into_iter().map(|e| e.action).collect()
}

/// `name` signed in `secs` after `NOW` (the sessions of the pages last eight hours).
async fn sign_in(app: &App, name: &str, secs: i64) -> support::app::Session {
    let (session, actor) = kyso_store::accounts::login(
        app.store(),
        name,
        zeroize::Zeroizing::new(support::PASSWORD.into()),
        "127.0.0.1",
        NOW + time::Duration::seconds(secs),
    )
    .await
    .unwrap();
    support::app::Session {
        token: session.token.as_str().to_owned(),
        csrf: session.csrf,
        actor,
    }
}

#[tokio::test]
async fn status_messages_not_sent_are_shown_sent_again_or_handled_by_the_clerk() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let province = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(province)).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let clerk = app.session("vanthu.tc", finance, "clerk").await;
        // Another agency's clerk (signs in below, once the clock has moved).
        app.session("vanthu.kh", dost, "clerk").await;
        let letter = |number: &str, email: &str| {
            json!({
                "agency_id": finance, "sender_name": "Sở Tài chính tỉnh Bắc",
                "sender_email": email, "number": number,
                "notation": "STC-NS", "doc_date": "2026-05-28", "doc_type": "Công văn",
                "subject": format!("V/v quyết toán ngân sách (số {number})"),
                "file_name": "cong-van.pdf",
                "file_base64": b64(&support::draft_with_number_line(&format!("Số: {number}/STC-NS"))),
            })
        };
        let refused = |token: &str, number: &'static str, email: &'static str| {
            let app = &app;
            let token = token.to_owned();
            async move {
                let (st, d) = app
                    .call(
                        Method::POST,
                        "/api/v1/incoming",
                        &token,
                        Some(letter(number, email)),
                    )
                    .await;
                assert_eq!(st, StatusCode::CREATED, "{d}");
                let id = d["id"].as_i64().unwrap();
                let out = app
                    .post_ok(
                        &format!("/api/v1/incoming/{id}/refuse"),
                        &token,
                        json!({"reason": "Văn bản thiếu chữ ký số"}),
                    )
                    .await;
                assert_eq!(out["status_message"], "email", "{out}");
                id
            }
        };
        let sink = smtp::sink().await;
        let mailer = Mailer::new(&SmtpConfig {
            url: format!("smtp://127.0.0.1:{}", sink.port),
            from: "Sở Tài chính <vanthu@stc.h99.example.vn>".into(),
            password: None,
        })
        .unwrap();
        let at = |secs: i64| -> kyso_web::Clock {
            Arc::new(move || NOW + time::Duration::seconds(secs))
        };
        let to = |sink: &smtp::Sink, address: &str| {
            sink.mails()
                .into_iter()
                .filter(|m| m.rcpt == [address.to_owned()])
                .count()
        };

        // 1. The relay refuses it for now: failing, shown with the relay's reason.
        let first = refused(&clerk.token, "41", "vanthu@stc-cu.example.vn").await;
        sink.refuse(1000);
        kyso_web::mailer::send_round(s, &at(0), Some(&mailer)).await;
        assert_eq!(to(&sink, "vanthu@stc-cu.example.vn"), 0);
        let (st, list) = app.page(&clerk, "/incoming/undelivered").await;
        assert_eq!(st, StatusCode::OK, "{list}");
        assert!(list.contains("Thư báo không gửi được"), "{b:?}");
        assert!(list.contains("vanthu@stc-cu.example.vn"), "{b:?}: {list}");
        assert!(list.contains("try again later"), "{b:?}: the reason");
        assert!(list.contains("Đang thử gửi lại"), "{b:?}: {list}");
        assert!(list.contains("Văn bản thiếu chữ ký số"), "{b:?}");
        let (_, incoming) = app.page(&clerk, "/incoming").await;
        assert!(incoming.contains("href=\"/incoming/undelivered\""), "{b:?}");

        // 2. Three days of refusals: given up once, the clerk told, audited once.
        let days = kyso_store::incoming::STATUS_EMAIL_RETRY_DAYS * 86_400;
        kyso_web::mailer::send_round(s, &at(days + 10), Some(&mailer)).await;
        let given_up = |actions: &[String]| {
            actions
                .iter()
                .filter(|a| *a == "incoming.status_given_up")
                .count()
        };
        let actions = audited(s).await;
        assert_eq!(given_up(&actions), 1, "{b:?}: {actions:?}");
        let inbox = kyso_store::notices::inbox(s, &clerk.actor, false)
            .await
            .unwrap();
        let notice = inbox
            .iter()
            .find(|n| n.event == "status_given_up")
            .expect("the clerk is told");
        assert!(
            notice.body.contains("vanthu@stc-cu.example.vn")
                && notice.body.contains("try again later")
                && notice.link == format!("/incoming/{first}#status-messages"),
            "{b:?}: {notice:?}"
        );
        let before = audited(s).await.len();
        kyso_web::mailer::send_round(s, &at(days + 600), Some(&mailer)).await;
        assert_eq!(
            audited(s).await.len(),
            before,
            "{b:?}: a round does nothing"
        );
        assert_eq!(
            kyso_store::notices::inbox(s, &clerk.actor, false)
                .await
                .unwrap()
                .iter()
                .filter(|n| n.event == "status_given_up")
                .count(),
            1,
            "{b:?}: told once"
        );
        // Three days on: the server's clock moves, the clerks sign in again.
        app.later
            .store(days + 620, std::sync::atomic::Ordering::SeqCst);
        let clerk = sign_in(&app, "vanthu.tc", days + 620).await;
        let other = sign_in(&app, "vanthu.kh", days + 620).await;
        let (_, page) = app.page(&clerk, &format!("/incoming/{first}")).await;
        assert!(page.contains("id=\"status-messages\""), "{b:?}: {page}");
        assert!(page.contains("Đã ngừng gửi lại"), "{b:?}");
        assert!(page.contains("try again later"), "{b:?}");

        // Another agency's clerk sees none of it and cannot act on it.
        let (_, theirs) = app.page(&other, "/incoming/undelivered").await;
        assert!(theirs.contains("Không có thư báo nào cần xử lý"), "{b:?}");
        let outbox_id: i64 =
            kyso_store::sqlx::query_scalar("SELECT id FROM incoming_outbox WHERE incoming_id = $1")
                .bind(first)
                .fetch_one(s.pool())
                .await
                .unwrap();
        let (st, _) = app
            .submit(
                &other,
                &format!("/incoming/undelivered/{outbox_id}/resend"),
                &[("recipient", "x@example.vn"), ("back", "list")],
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b:?}");
        let (st, _) = app
            .form(
                &clerk,
                &format!("/incoming/undelivered/{outbox_id}/resend"),
                &[("csrf", "wrong"), ("recipient", "x@example.vn")],
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{b:?}: the form's CSRF token");

        // 3. Sent again to a corrected address: a success message, then it goes once.
        let (st, bad) = app
            .submit(
                &clerk,
                &format!("/incoming/undelivered/{outbox_id}/resend"),
                &[("recipient", "not an address"), ("back", "incoming")],
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(bad.contains("Địa chỉ thư điện tử không hợp lệ"), "{b:?}");
        let (st, to_page) = app
            .submit(
                &clerk,
                &format!("/incoming/undelivered/{outbox_id}/resend"),
                &[("recipient", "vanthu@stc.example.vn"), ("back", "incoming")],
            )
            .await;
        assert!(st.is_redirection(), "{b:?}: {st} {to_page}");
        assert_eq!(to_page, format!("/incoming/{first}?done=status_resend"));
        let (_, page) = app.page(&clerk, &to_page).await;
        assert!(page.contains("Đã đặt lại việc gửi thư báo"), "{b:?}");
        sink.refuse(0);
        kyso_web::mailer::send_round(s, &at(days + 700), Some(&mailer)).await;
        assert_eq!(to(&sink, "vanthu@stc.example.vn"), 1, "{b:?}");
        let text = smtp::mail_text(
            &sink
                .mails()
                .into_iter()
                .find(|m| m.rcpt == ["vanthu@stc.example.vn"])
                .unwrap()
                .data,
        );
        assert!(text.contains("Lý do: Văn bản thiếu chữ ký số"), "{text}");
        kyso_web::mailer::send_round(s, &at(days + 4000), Some(&mailer)).await;
        assert_eq!(to(&sink, "vanthu@stc.example.vn"), 1, "{b:?}: once");
        let (_, list) = app.page(&clerk, "/incoming/undelivered").await;
        assert!(list.contains("Không có thư báo nào cần xử lý"), "{b:?}");

        // 4. An address the server cannot use: given up at once, then handled by hand after
        // a confirmation.
        let second = refused(&clerk.token, "42", "vanthu.stc.example.vn").await;
        kyso_web::mailer::send_round(s, &at(days + 5000), Some(&mailer)).await;
        assert_eq!(given_up(&audited(s).await), 2, "{b:?}");
        let outbox_id: i64 =
            kyso_store::sqlx::query_scalar("SELECT id FROM incoming_outbox WHERE incoming_id = $1")
                .bind(second)
                .fetch_one(s.pool())
                .await
                .unwrap();
        let path = format!("/incoming/undelivered/{outbox_id}/handled");
        let (st, confirm) = app
            .submit(
                &clerk,
                &path,
                &[("note", "Đã gọi điện thoại"), ("back", "list")],
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b:?}");
        assert!(confirm.contains("Xác nhận đã xử lý thư báo"), "{b:?}");
        assert!(
            !audited(s)
                .await
                .contains(&"incoming.status_handled".to_owned()),
            "{b:?}: nothing before the confirmation"
        );
        let (st, to_list) = app
            .submit(
                &clerk,
                &path,
                &[
                    ("note", "Đã gọi điện thoại"),
                    ("back", "list"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert!(st.is_redirection(), "{b:?}: {to_list}");
        let (_, list) = app.page(&clerk, &to_list).await;
        assert!(
            list.contains("Đã ghi nhận thư báo được xử lý thủ công"),
            "{b:?}"
        );
        assert!(list.contains("Không có thư báo nào cần xử lý"), "{b:?}");
        let (st, again) = app
            .submit(
                &clerk,
                &path,
                &[("note", "x"), ("back", "list"), ("confirm", "yes")],
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {again}");
        let actions = audited(s).await;
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "incoming.status_handled")
                .count(),
            1,
            "{b:?}"
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "incoming.status_resend")
                .count(),
            1,
            "{b:?}"
        );
        assert!(kyso_store::audit::verify(s).await.unwrap().is_ok());
    }
}
