//! Incoming documents in the web UI (issue 18), on SQLite and on PostgreSQL, through the real
//! router and the HTML forms with the session's CSRF token: the clerk of the receiving agency
//! uploads a signed letter (its signature cannot be established: the server has no trusted
//! root) and a tampered copy of another (invalid); the queue shows the verdicts with their
//! reasons, invalid first; the invalid one offers no registration, is refused when registered
//! anyway, and is refused with a reason after a confirmation; the other needs the clerk's
//! reason to be registered and gets arrival number 1; the leader assigns it to a unit, whose
//! people mark it being handled and completed. Another agency's clerk and the wrong roles are
//! refused with a page in the site's layout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::http::StatusCode;
use kyso_store::testing::backends;

mod support;
use support::app::{App, Session};
use support::ca::TestCa;
use support::html::{in_layout, text, Part};
use support::{draft, opts};

/// `bytes` with one digit of the page's /MediaBox changed inside the signature's range.
fn tampered(bytes: &[u8]) -> Vec<u8> {
    let mut t = bytes.to_vec();
    let at = t
        .windows(9)
        .position(|w| w == b"/MediaBox")
        .expect("a /MediaBox");
    let digit = t[at..]
        .iter()
        .position(|b| b.is_ascii_digit() && *b != b'0')
        .unwrap()
        + at;
    t[digit] = if t[digit] == b'9' { b'8' } else { t[digit] + 1 };
    t
}

impl App {
    /// The incoming document page `page`'s action form `fields`, sent by `who`.
    async fn act(
        &self,
        who: &Session,
        page: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        self.submit(who, &format!("{page}/act"), fields).await
    }

    /// The clerk's upload form for a PDF received by e-mail (not a scan: a scan is registered
    /// only once digitised, tests/incoming_copies.rs), sent; the new document's page address.
    async fn upload(
        &self,
        who: &Session,
        agency: i64,
        number: &str,
        subject: &str,
        file: &[u8],
    ) -> (StatusCode, String) {
        let agency = agency.to_string();
        let parts = [
            Part::Text("csrf", &who.csrf),
            Part::Text("agency_id", &agency),
            Part::File("file", "cong-van.pdf", "application/pdf", file),
            Part::Text("sender_name", "Sở Tài chính tỉnh Bắc"),
            Part::Text("sender_code", ""),
            Part::Text("sender_email", "vanthu@stc.example.vn"),
            Part::Text("number", number),
            Part::Text("notation", "STC-NS"),
            Part::Text("doc_date", "2026-05-28"),
            Part::Text("doc_type", "Công văn"),
            Part::Text("subject", subject),
            Part::Text("signer", "Trần Văn Bình"),
        ];
        self.multipart_form(who, "/incoming/new", &parts).await
    }
}

/// `/incoming/{id}?done=created` → `/incoming/{id}`.
fn page_of(location: &str) -> String {
    location.split('?').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_clerk_registers_or_refuses_what_arrives_and_the_leader_and_unit_handle_it() {
    // A signer from a throw-away CA the server does not trust.
    let who = TestCa::new("Incoming UI Test Root").issue("Nguyễn Văn An", None);
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &who, None).unwrap();
    let bad = tampered(&signed);
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let office = support::agency(s, "H99.37.01", "Văn phòng Sở", Some(dost)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let clerk = app.session("vanthu", dost, "clerk").await;
        let leader = app.session("giamdoc", dost, "signer").await;
        let unit = app.session("chanhvp", office, "reviewer").await;
        let other = app.session("vanthu-stc", finance, "clerk").await;

        // The nav entry and the upload form for the clerk; not the form for the unit.
        let (status, html) = app.page(&clerk, "/incoming/new").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("href=\"/incoming\""), "{html}");
        assert!(
            text(&html).contains("Bản scan văn bản giấy, có dấu sao y"),
            "{html}"
        );
        let (status, html) = app.page(&unit, "/incoming/new").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
        assert!(in_layout(&html), "{html}");

        // A form without the session's token is refused.
        let (status, _) = app
            .form(
                &clerk,
                "/incoming/1/act",
                &[("csrf", "forged"), ("action", "register")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Two arrivals: a signed letter, and a tampered copy of another.
        let (status, to) = app
            .upload(
                &clerk,
                dost,
                "15",
                "Về việc quyết toán kinh phí năm 2025",
                &signed,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let good = page_of(&to);
        let (status, html) = app.page(&clerk, &to).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        assert!(t.contains("Đã tiếp nhận văn bản đến"), "{t}");
        assert!(
            t.contains("Không xác định được — máy chủ chưa được cấu hình chứng thư gốc tin cậy"),
            "{t}"
        );
        assert!(t.contains("15/STC-NS"), "{t}");
        assert!(t.contains("28/05/2026"), "{t}");
        assert!(
            t.contains("Văn thư tải lên") && !t.contains("bản scan"),
            "not a scan: {t}"
        );
        assert!(html.contains("id=\"register-reason\""), "{html}");
        assert!(html.contains("report.pdf"), "{html}");
        assert!(t.contains("Chữ ký số cá nhân 1: Nguyễn Văn An"), "{t}");

        let (status, to) = app
            .upload(&clerk, dost, "16", "Về việc điều chỉnh dự toán", &bad)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let invalid = page_of(&to);
        let (_, html) = app.page(&clerk, &invalid).await;
        let t = text(&html);
        assert!(t.contains("Không hợp lệ —"), "{t}");
        assert!(html.contains("id=\"no-register\""), "{html}");
        assert!(!html.contains("value=\"register\""), "{html}");
        assert!(html.contains("id=\"refuse-reason\""), "{html}");

        // The same bytes again are recognised.
        let (status, html) = app
            .upload(&clerk, dost, "17", "Gửi lại lần hai", &signed)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{html}");
        assert!(in_layout(&html), "{html}");

        // The queue: verdicts and reasons first, the invalid one first.
        let (status, html) = app.page(&clerk, "/incoming").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        let at_bad = t
            .find("Về việc điều chỉnh dự toán")
            .expect("the invalid one");
        let at_good = t
            .find("Về việc quyết toán kinh phí")
            .expect("the other one");
        assert!(at_bad < at_good, "{t}");
        assert!(t.contains("Không hợp lệ —"), "{t}");
        assert!(t.contains("Sở Tài chính tỉnh Bắc"), "{t}");

        // Another agency's clerk sees neither, and is refused the page in the layout.
        let (status, html) = app.page(&other, "/incoming").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(!html.contains("Về việc quyết toán"), "{html}");
        let (status, html) = app.page(&other, &good).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{status}"
        );
        assert!(in_layout(&html), "{html}");
        let (status, html) = app
            .act(&other, &good, &[("action", "register"), ("reason", "x")])
            .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{status}"
        );
        assert!(in_layout(&html), "{html}");

        // The invalid one cannot be registered, even by a crafted form.
        let (status, html) = app
            .act(
                &clerk,
                &invalid,
                &[("action", "register"), ("reason", "vẫn vào sổ")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(in_layout(&html), "{html}");
        assert!(text(&html).contains("Chờ tiếp nhận"), "{html}");
        // Refused: first a confirmation, then the refusal with its reason.
        let reason = "Chữ ký số không hợp lệ: nội dung đã bị thay đổi sau khi ký.";
        let (status, html) = app
            .act(
                &clerk,
                &invalid,
                &[("action", "refuse"), ("reason", reason)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            text(&html).contains("Bạn có chắc chắn muốn từ chối văn bản này?"),
            "{html}"
        );
        assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
        let (status, to) = app
            .act(
                &clerk,
                &invalid,
                &[("action", "refuse"), ("reason", reason), ("confirm", "yes")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.page(&clerk, &to).await;
        let t = text(&html);
        assert!(
            t.contains("Đã từ chối văn bản; lý do được gửi lại cho nơi gửi."),
            "{t}"
        );
        assert!(t.contains("Trạng thái Đã từ chối"), "{t}");
        assert!(t.contains(reason), "{t}");

        // Not established: the clerk's reason is required to register it.
        let (status, html) = app
            .act(&clerk, &good, &[("action", "register"), ("reason", "")])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(in_layout(&html), "{html}");
        // The leader cannot register it.
        let (status, html) = app
            .act(&leader, &good, &[("action", "register"), ("reason", "x")])
            .await;
        assert!(status.is_client_error(), "{status}: {html}");
        assert!(in_layout(&html), "{html}");
        let (status, to) = app
            .act(
                &clerk,
                &good,
                &[
                    ("action", "register"),
                    ("reason", "Đã gọi điện xác nhận với Sở Tài chính."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        assert!(to.contains("done=register&n=1"), "{to}");
        let (_, html) = app.page(&clerk, &to).await;
        let t = text(&html);
        assert!(t.contains("Đã vào sổ văn bản đến, số đến: 1."), "{t}");
        assert!(html.contains("id=\"arrival-number\">1<"), "{html}");
        assert!(
            !html.contains("Giao xử lý</button>"),
            "the clerk does not assign: {html}"
        );

        // The leader assigns the office with a deadline.
        let (_, html) = app.page(&leader, &good).await;
        assert!(html.contains("Giao xử lý</button>"), "{html}");
        let office_id = office.to_string();
        let dost_id = dost.to_string();
        let (status, html) = app
            .act(
                &leader,
                &good,
                &[
                    ("action", "assign"),
                    ("lead_unit_id", &office_id),
                    ("deadline", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(text(&html).contains("Cần ghi hạn xử lý."), "{html}");
        let (status, to) = app
            .act(
                &leader,
                &good,
                &[
                    ("action", "assign"),
                    ("lead_unit_id", &office_id),
                    ("coordinating_unit_ids", &dost_id),
                    ("deadline", "2026-06-10"),
                    ("reason", "Văn phòng chủ trì, báo cáo trước hạn."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.page(&leader, &to).await;
        let t = text(&html);
        assert!(t.contains("Đã giao xử lý"), "{t}");
        assert!(t.contains("Văn phòng Sở — chủ trì"), "{t}");
        assert!(t.contains("Sở Khoa học và Công nghệ — phối hợp"), "{t}");
        assert!(t.contains("10/06/2026"), "{t}");

        // The unit handles it; the leader does not report the unit's progress.
        let (status, html) = app.page(&unit, &good).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("value=\"start\""), "{html}");
        let (status, to) = app.act(&unit, &good, &[("action", "start")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.page(&unit, &to).await;
        assert!(text(&html).contains("Đã ghi nhận đang xử lý."), "{html}");
        let (status, to) = app
            .act(
                &unit,
                &good,
                &[
                    ("action", "complete"),
                    ("reason", "Đã trả lời bằng Công văn số 20/SKHCN-VP."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.page(&unit, &to).await;
        let t = text(&html);
        assert!(t.contains("Đã ghi nhận hoàn thành xử lý."), "{t}");
        assert!(t.contains("Trạng thái Đã hoàn thành"), "{t}");
        assert!(
            t.contains("Đã trả lời bằng Công văn số 20/SKHCN-VP."),
            "{t}"
        );

        // The queue filters by state; the file and the report are served.
        let (_, html) = app.page(&clerk, "/incoming?state=refused").await;
        assert!(html.contains("Về việc điều chỉnh dự toán"), "{html}");
        assert!(!html.contains("Về việc quyết toán"), "{html}");
        let (status, bytes) = app.page(&clerk, &format!("{good}/file")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes.starts_with("%PDF"));
        let (status, bytes) = app.page(&clerk, &format!("{good}/report.pdf")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes.starts_with("%PDF"));
    }
}
