//! The server-rendered web UI: Vietnamese by default (English switch), every control labelled
//! and reachable with the keyboard, every form carrying the session's CSRF token.

use axum::extract::{FromRequestParts, Multipart, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kyso_domain::device::{DeviceEvent, DeviceKind, DeviceState, RecordKind};
use kyso_domain::roles::Permission;
use kyso_store::registry::{
    self, AgencyInput, CertQuery, DeviceEventInput, DeviceInput, SubscriberInput, SubscriberQuery,
};
use kyso_store::{accounts, audit, Actor};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::api::Id;
use crate::auth::{self, cookie, Lang, LANG_COOKIE, SESSION_COOKIE};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(password_submit))
        .route("/lang", get(switch_lang))
        .route("/agencies", get(agencies_page).post(agency_submit))
        .route("/agencies/new", get(agency_new))
        .route(
            "/subscribers",
            get(subscribers_page).post(subscriber_submit),
        )
        .route("/subscribers/new", get(subscriber_new))
        .route("/subscribers/{id}", get(subscriber_page))
        .route(
            "/subscribers/{id}/edit",
            get(subscriber_edit).post(subscriber_edit_submit),
        )
        .route("/subscribers/{id}/active", post(subscriber_active_submit))
        .route(
            "/agencies/{id}",
            get(agency_page).post(agency_update_submit),
        )
        .route("/agencies/{id}/move", post(agency_move_submit))
        .route("/agencies/{id}/dissolve", post(agency_dissolve_submit))
        .route("/certificates", get(certificates_page))
        .route("/certificates/import", get(import_page).post(import_submit))
        .route("/certificates/{id}", get(certificate_page))
        .route("/certificates/{id}/cer", get(certificate_file))
        .route("/reports", get(reports_page).post(report_open_submit))
        .route("/reports/{id}", get(period_page))
        .route("/reports/{id}/remind", post(remind_submit))
        .route(
            "/agencies/{id}/report",
            get(agency_report_page).post(agency_report_submit),
        )
        .route(
            "/agencies/{id}/report/document",
            post(agency_report_document_submit),
        )
        .route("/huong-dan", get(guide::guide_page))
        .route("/huong-dan.pdf", get(guide::guide_pdf_download))
        .route("/huong-dan/anh/{name}", get(guide::guide_image))
        .route("/devices", get(devices_page).post(device_submit))
        .route("/devices/new", get(device_new))
        .route("/devices/{id}", get(device_page).post(device_event_submit))
        .route("/devices/{id}/records/{record_id}", get(device_record_page))
        .route("/audit", get(audit_page))
        .route("/users", get(users_page).post(user_submit))
        .route("/users/{id}", get(account_pages::user_page))
        .route("/users/{id}/{action}", post(account_pages::user_act))
        .route("/tokens/{id}/revoke", post(account_pages::token_revoke))
        .route("/sessions", get(account_pages::sessions_page))
        .route("/sessions/{id}/end", post(account_pages::session_end))
        .route("/notices", get(notices_page))
        .route("/notices/{id}/read", post(notice_read))
        .route(
            "/requests",
            get(requests::list_page).post(requests::create_submit),
        )
        .route("/requests/new", get(requests::new_page))
        .route("/requests/{id}", get(requests::detail_page))
        .route("/requests/{id}/act", post(requests::act_submit))
        .route("/requests/{id}/letter.pdf", get(requests::letter_download))
        .route(
            "/documents",
            get(documents::list_page)
                .post(documents::create_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::MAX_DOCUMENT_BODY,
                )),
        )
        .route("/documents/new", get(documents::new_page))
        .route("/documents/registers", get(register_book::registers_page))
        .route(
            "/documents/registers/{id}/export.xlsx",
            get(register_book::register_xlsx),
        )
        .route(
            "/documents/registers/{id}/export.pdf",
            get(register_book::register_pdf),
        )
        .route("/documents/{id}", get(documents::detail_page))
        .route("/documents/{id}/act", post(documents::act_submit))
        .route(
            "/documents/{id}/signed",
            post(documents::signed_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::MAX_DOCUMENT_BODY,
            )),
        )
        .route(
            "/documents/{id}/remote-sign",
            post(documents::remote_sign_submit),
        )
        .route(
            "/documents/{id}/draft",
            post(documents::draft_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::MAX_DOCUMENT_BODY,
            )),
        )
        .route("/documents/{id}/comment", post(documents::comment_submit))
        .route("/documents/{id}/file", get(documents::file_download))
        .merge(documents::attachment_routes())
        .route("/archive", get(archive::archive_page))
        .route(
            "/archive/dossiers",
            get(archive::dossiers_page).post(archive::dossier_create_submit),
        )
        .route("/archive/dossiers/{id}", get(archive::dossier_page))
        .route(
            "/archive/dossiers/{id}/close",
            post(archive::dossier_close_submit),
        )
        .route(
            "/archive/dossiers/{id}/package.zip",
            get(archive::dossier_package),
        )
        .route(
            "/archive/dossiers/{id}/hand-over",
            post(archive::dossier_hand_over_submit),
        )
        .route("/archive/{id}", get(archive::entry_page))
        .route("/archive/{id}/dossier", post(archive::file_into_submit))
        .route("/archive/{id}/files/{n}", get(archive::entry_file))
        .route("/incoming", get(incoming::list_page))
        .route(
            "/incoming/new",
            get(incoming::new_page).post(incoming::create_submit).layer(
                axum::extract::DefaultBodyLimit::max(crate::MAX_DOCUMENT_BODY),
            ),
        )
        .route(
            "/incoming/registers",
            get(register_book::incoming_registers_page),
        )
        .route(
            "/incoming/registers/{id}/export.xlsx",
            get(register_book::incoming_register_xlsx),
        )
        .route(
            "/incoming/registers/{id}/export.pdf",
            get(register_book::incoming_register_pdf),
        )
        .route("/incoming/undelivered", get(incoming_outbox::list_page))
        .route(
            "/incoming/undelivered/{id}/resend",
            post(incoming_outbox::resend_submit),
        )
        .route(
            "/incoming/undelivered/{id}/handled",
            post(incoming_outbox::handled_submit),
        )
        .route("/incoming/{id}", get(incoming::detail_page))
        .route("/incoming/{id}/act", post(incoming::act_submit))
        .route("/incoming/{id}/file", get(incoming::file_download))
        .route(
            "/incoming/{id}/copies/{copy_id}/file",
            get(incoming_copies::file_download),
        )
        .route("/incoming/{id}/report.pdf", get(incoming::report_download))
        .route(
            public_verify::PATH,
            get(public_verify::page).post(public_verify::submit).layer(
                axum::extract::DefaultBodyLimit::max(crate::MAX_DOCUMENT_BODY),
            ),
        )
}

mod account_pages;
mod archive;
mod session;
use session::*;
mod dashboard;
use dashboard::*;
mod agencies;
use agencies::*;
mod subscribers;
use subscribers::*;
mod certificates;
use certificates::*;
mod devices;
use devices::*;
mod audit_log;
use audit_log::*;
mod users;
use users::*;
mod guide;
mod notices;
use notices::*;
mod documents;
mod incoming;
mod incoming_copies;
mod incoming_edxml;
mod incoming_outbox;
mod incoming_scan;
mod public_verify;
mod register_book;
mod reports;
use reports::*;
mod requests;

/// A logged-in browser page: the session's actor and CSRF token, and the language.
struct Page {
    actor: Actor,
    csrf: String,
    lang: Lang,
    path: String,
    /// The audit log check's failure (Vietnamese, English), shown to auditors.
    audit_alert: Option<(String, String)>,
    /// The `done=` of the address: the registry's save just made ([`saved_message`]).
    done: String,
}

/// What a page answers when the visitor must log in (or change the one-time password) first.
struct ToLogin(Response);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = ToLogin;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ToLogin> {
        let lang = Lang::from_parts(parts);
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(ToLogin(Redirect::to("/login").into_response()));
        };
        let src = auth::source(parts);
        match accounts::session_actor(&st.store, &token, &src, st.now()).await {
            Ok((actor, csrf, must_change)) => {
                crate::observability::record_user(actor.user_id);
                if must_change && parts.uri.path() != "/password" {
                    return Err(ToLogin(Redirect::to("/password").into_response()));
                }
                let audit_alert = if actor.scope(Permission::ReadAudit).is_empty() {
                    None
                } else {
                    st.audit_alert.read().ok().and_then(|a| a.clone())
                };
                let done = parts
                    .uri
                    .query()
                    .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("done=")))
                    .filter(|d| d.len() <= 40)
                    .unwrap_or_default()
                    .to_owned();
                Ok(Page {
                    actor,
                    csrf,
                    lang,
                    path: parts.uri.path().to_owned(),
                    audit_alert,
                    done,
                })
            }
            Err(_) => Err(ToLogin(Redirect::to("/login").into_response())),
        }
    }
}

impl Page {
    fn t<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(vi, en)
    }

    /// The refusal page when a form's CSRF token is not the session's.
    fn csrf_refusal(&self, sent: &str) -> Option<Response> {
        if sent == self.csrf {
            None
        } else {
            Some(error_page(
                self.lang,
                StatusCode::FORBIDDEN,
                self.t(
                    "Biểu mẫu đã hết hạn hoặc không đến từ trang này; hãy tải lại trang và thử lại.",
                    "The form has expired or did not come from this site; reload and try again.",
                ),
            ))
        }
    }

    fn can(&self, p: Permission) -> bool {
        !self.actor.scope(p).is_empty()
    }
}

const STYLE: &str = r#"
:root{--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--brand:#a31515;--bg:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 "Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--ink);background:var(--bg)}
a{color:#0550ae}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #fbbc04;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header{background:var(--brand);color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:4px 6px;border-radius:4px}header a[aria-current]{background:rgba(255,255,255,.2)}
header .brand{font-weight:700;font-size:18px;margin-right:12px}header form{margin:0}header .right{margin-left:auto;display:flex;gap:8px;align-items:center}
header button{background:transparent;border:1px solid #fff;color:#fff;padding:3px 10px;border-radius:4px;cursor:pointer}
main{max-width:1200px;margin:16px auto;padding:0 16px}h1{font-size:24px;margin:8px 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px}.card .n{font-size:28px;font-weight:700}
.card.warn .n{color:var(--warn)}.card.bad .n{color:var(--bad)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:flex-end;margin-bottom:12px}
label{display:block;font-weight:600;font-size:14px;margin-bottom:2px}input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #8c959f;border-radius:4px;background:#fff}
.field{margin-bottom:12px}.field input,.field select{width:100%;max-width:480px}.hint{color:var(--muted);font-size:13px}
button.primary,a.button{background:var(--brand);color:#fff;border:0;padding:8px 16px;border-radius:4px;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.danger{background:#fff;color:var(--bad);border:2px solid var(--bad);padding:6px 14px;border-radius:4px;font:inherit;font-weight:600;cursor:pointer;margin-left:auto}
a.button.danger{background:#fff;color:var(--bad);border:2px solid var(--bad);padding:6px 14px;font-weight:600}
.alert{padding:10px 12px;border-radius:6px;margin-bottom:12px;border:1px solid}.alert.error{background:#ffebe9;border-color:#ff8182}.alert.ok{background:#dafbe1;border-color:#4ac26b}
[aria-invalid=true]{border-color:var(--bad);background:#fff5f5}.status-expired,.status-revoked{color:var(--bad);font-weight:600}.status-active{color:var(--ok)}
.muted{color:var(--muted)}.login{max-width:420px;margin:60px auto;background:#fff;border:1px solid var(--line);border-radius:8px;padding:24px}
.record{background:#fff;max-width:800px;padding:24px 32px;font-family:"Times New Roman",Times,serif;font-size:17px}
.record h1{text-align:center;font-size:19px;margin:12px 0}.record-head{display:flex;justify-content:space-between;gap:16px;text-align:center;font-size:15px}
.record-form,.record-date{text-align:right;margin:4px 0}.record-sign{display:flex;justify-content:space-around;text-align:center;margin-top:24px}
@media (max-width:640px){header{padding:6px 8px;gap:6px}header nav{display:flex;flex-wrap:nowrap;overflow-x:auto;width:100%;order:3}header nav a{white-space:nowrap}header .right{margin-left:0;flex-wrap:wrap}
main{padding:0 8px}th,td{padding:4px}td a,td code{overflow-wrap:anywhere}code{word-break:break-all}table{font-size:14px}form.filters>div{flex:1 1 100%}form.filters input:not([type=checkbox]),form.filters select{width:100%}}
@media print{header,.skip,.no-print,.alert{display:none}body{background:#fff}main{max-width:none;margin:0;padding:0}.record{padding:0;max-width:none}}
"#;

fn nav_item(p: &Page, href: &str, label: &str) -> Markup {
    // An agency's report (`/agencies/{id}/report`) belongs to the reports' section.
    let report = p.path.starts_with("/agencies/") && p.path.ends_with("/report");
    let current = match href {
        "/" => p.path == "/",
        "/reports" => p.path.starts_with(href) || report,
        "/agencies" => p.path.starts_with(href) && !report,
        _ => p.path.starts_with(href),
    };
    html! {
        @if current { a href=(href) aria-current="page" { (label) } } @else { a href=(href) { (label) } }
    }
}

fn layout(p: &Page, title: &str, body: Markup) -> Response {
    let lang = p.lang;
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — kyso" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { (p.t("Bỏ qua đến nội dung", "Skip to content")) }
                header {
                    span.brand { "kyso" }
                    nav aria-label=(p.t("Điều hướng chính", "Main navigation")) {
                        (nav_item(p, "/", p.t("Tổng quan", "Dashboard")))
                        (nav_item(p, "/agencies", p.t("Cơ quan", "Agencies")))
                        (nav_item(p, "/subscribers", p.t("Thuê bao", "Subscribers")))
                        (nav_item(p, "/certificates", p.t("Chứng thư số", "Certificates")))
                        (nav_item(p, "/devices", p.t("Thiết bị", "Devices")))
                        (nav_item(p, "/requests", p.t("Đề nghị", "Requests")))
                        (nav_item(p, "/reports", p.t("Báo cáo", "Reports")))
                        @if p.can(Permission::ReadDocuments) { (nav_item(p, "/documents", p.t("Văn bản", "Documents"))) }
                        @if p.can(Permission::ReadDocuments) { (nav_item(p, "/incoming", p.t("Văn bản đến", "Incoming"))) }
                        @if p.can(Permission::ReadArchive) { (nav_item(p, "/archive", p.t("Lưu trữ", "Archive"))) }
                        (nav_item(p, "/notices", p.t("Thông báo", "Notices")))
                        @if p.can(Permission::ManageAccounts) { (nav_item(p, "/users", p.t("Tài khoản", "Accounts"))) }
                        @if p.can(Permission::ReadAudit) { (nav_item(p, "/audit", p.t("Nhật ký", "Audit log"))) }
                    }
                    div.right {
                        a href={ "/huong-dan#" (guide::help_anchor(&p.path)) } { (p.t("Hướng dẫn", "Help")) }
                        span { (p.actor.username) }
                        @match lang {
                            Lang::Vi => a href={ "/lang?to=en&back=" (p.path) } lang="en" { "English" },
                            Lang::En => a href={ "/lang?to=vi&back=" (p.path) } lang="vi" { "Tiếng Việt" },
                        }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(p.csrf);
                            button type="submit" { (p.t("Đăng xuất", "Log out")) }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if let Some((vi, en)) = &p.audit_alert {
                        div.alert.error #audit-alert role="alert" { (p.t(vi, en)) }
                    }
                    (alert_ok(saved_message(p)))
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// A confirmation asked before an action that cannot be undone: the question, what it is about
/// (`facts`: label and value, the empty ones left out), and the same form posted again to
/// `action` with its `hidden` fields and `confirm=yes`.
struct Confirm<'a> {
    /// The page's heading.
    heading: &'a str,
    question: &'a str,
    facts: &'a [(&'a str, &'a str)],
    action: &'a str,
    /// The form is sent as multipart (the handler reads a form with files).
    multipart: bool,
    hidden: &'a [(&'a str, &'a str)],
    button: &'a str,
    /// The button styled as destructive (`button.danger`) rather than as the main one.
    danger: bool,
    cancel: &'a str,
}

fn confirm_page(p: &Page, c: Confirm<'_>) -> Response {
    layout(
        p,
        p.t("Xác nhận", "Confirm"),
        html! {
            h1 { (c.heading) }
            div.alert.error role="alert" { (c.question) }
            @for (label, value) in c.facts.iter().filter(|(_, v)| !v.trim().is_empty()) {
                p { strong { (label) } (value) }
            }
            form method="post" action=(c.action) enctype=[c.multipart.then_some("multipart/form-data")] {
                input type="hidden" name="csrf" value=(p.csrf);
                @for (name, value) in c.hidden {
                    input type="hidden" name=(name) value=(value);
                }
                input type="hidden" name="confirm" value="yes";
                @if c.danger {
                    button.danger type="submit" style="margin-left:0" { (c.button) }
                } @else {
                    button.primary type="submit" { (c.button) }
                }
                " "
                a href=(c.cancel) { (p.t("Hủy, quay lại", "Cancel")) }
            }
        },
    )
}

/// What an empty list says: that there is nothing yet, or — when a search or filter is on —
/// that nothing matches it.
fn empty_list(p: &Page, filtered: bool, (vi, en): (&str, &str)) -> Markup {
    html! {
        p.muted.empty {
            @if filtered {
                (p.t("Không có mục nào khớp với điều kiện tìm; hãy bỏ bớt điều kiện.",
                     "Nothing matches the search; try fewer conditions."))
            } @else { (p.t(vi, en)) }
        }
    }
}

/// A success message (`role="status"`), when there is one.
fn alert_ok(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { div.alert.ok role="status" { (m) } } }
}

/// The success message of a registry save, named by the `done=` of the page it redirected to
/// (the pages of documents, incoming documents and accounts say their own).
fn saved_message(p: &Page) -> Option<&'static str> {
    Some(match p.done.as_str() {
        "agency_created" => p.t("Đã thêm cơ quan.", "The agency is added."),
        "subscriber_created" => p.t("Đã thêm thuê bao.", "The subscriber is added."),
        "subscriber_saved" => p.t("Đã lưu thông tin thuê bao.", "The subscriber is saved."),
        "subscriber_deactivated" => p.t("Đã ngừng sử dụng thuê bao.", "The subscriber is deactivated."),
        "subscriber_reactivated" => p.t("Đã dùng lại thuê bao.", "The subscriber is active again."),
        "agency_saved" => p.t("Đã lưu thông tin cơ quan.", "The agency is saved."),
        "dossier_opened" => p.t(
            "Đã mở hồ sơ; đưa văn bản vào hồ sơ từ trang của từng văn bản lưu trữ.",
            "The dossier is open; file documents into it from each archived document's page.",
        ),
        "dossier_closed" => p.t(
            "Đã kết thúc hồ sơ; thời hạn bảo quản tính từ năm nay.",
            "The dossier is closed; its retention runs from this year.",
        ),
        "filed_into" => p.t("Đã lưu hồ sơ của văn bản.", "The document's dossier is saved."),
        "dossier_handed_over" => p.t(
            "Đã ghi nhận hồ sơ đã nộp lưu.",
            "The dossier is recorded as handed over.",
        ),
        "report_opened" => p.t(
            "Đã mở kỳ báo cáo; các cơ quan lập và gửi báo cáo của mình.",
            "The period is open; each agency prepares and submits its report.",
        ),
        "report_reminded" => p.t(
            "Đã nhắc cán bộ phụ trách của các cơ quan chưa gửi báo cáo.",
            "The officers of the agencies that have not submitted are reminded.",
        ),
        "report_saved" => p.t("Đã lưu báo cáo (chưa gửi).", "The report is saved (not submitted)."),
        "report_submitted" => p.t(
            "Đã gửi báo cáo về Sở; số liệu được giữ như lúc gửi.",
            "The report is submitted; its figures stay as they were.",
        ),
        "agency_moved" => p.t(
            "Đã chuyển cơ quan; mã định danh của cơ quan và các đơn vị trực thuộc đã đổi.",
            "The agency has moved; its code and its units' codes have changed.",
        ),
        "agency_dissolved" => p.t(
            "Đã giải thể cơ quan; thuê bao đã chuyển sang cơ quan tiếp nhận.",
            "The agency is dissolved; its subscribers went to the receiving agency.",
        ),
        "certificate_imported" => p.t(
            "Đã nhập chứng thư số vào danh mục.",
            "The certificate is imported.",
        ),
        "device_created" => p.t(
            "Đã thêm thiết bị; bàn giao cho thuê bao ở bước bên dưới.",
            "The device is added; hand it over to a subscriber below.",
        ),
        "device_saved" => p.t(
            "Đã ghi nhận thao tác với thiết bị; lịch sử bên dưới.",
            "The device's event is recorded; see its history below.",
        ),
        "request_created" => p.t(
            "Đã lưu đề nghị. Kiểm tra lại nội dung bên dưới trước khi gửi.",
            "The request is saved. Check it below before sending it.",
        ),
        "request_acted" => p.t(
            "Đã ghi nhận thao tác; trạng thái và diễn biến của đề nghị ở bên dưới.",
            "The action is recorded; the request's state and timeline are below.",
        ),
        "user_created" => p.t(
            "Đã tạo tài khoản. Người dùng đăng nhập bằng mật khẩu tạm và phải đổi mật khẩu ngay lần đầu.",
            "The account is created. Its user logs in with the temporary password and must change it at once.",
        ),
        _ => return None,
    })
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn error_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head { meta charset="utf-8"; title { "kyso" } style { (PreEscaped(STYLE)) } }
            body { main.login {
                h1 { (lang.pick("Không thực hiện được", "Could not be done")) }
                p role="alert" { (message) }
                (crate::observability::request_id_note(lang))
                p { a href="/" { (lang.pick("Về trang chủ", "Back to the dashboard")) } }
            } }
        }
    };
    html_response(status, markup)
}

/// An error page inside the site's layout (navigation, language switch, log-out).
fn layout_error(p: &Page, status: StatusCode, message: &str) -> Response {
    let title = p.t("Không thực hiện được", "Could not be done");
    let mut res = layout(
        p,
        title,
        html! {
            h1 { (title) }
            div.alert.error role="alert" { (message) }
            (crate::observability::request_id_note(p.lang))
            p { a href="/" { (p.t("Về trang chủ", "Back to the dashboard")) } }
        },
    );
    *res.status_mut() = status;
    res
}

/// Record a sensitive read in the audit log before anything of it is shown. Fails closed:
/// when the entry cannot be written (the database locked or failing) nothing is shown and
/// the reader gets an error page, as the API answers 500.
/// The entry carries the agency the record belongs to, so that its own auditors see it.
async fn audit_read(
    st: &AppState,
    p: &Page,
    action: &str,
    object: String,
    agency_id: i64,
) -> Result<(), Response> {
    match audit::record_read(&st.store, &p.actor, action, object, agency_id, st.now()).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // Through ApiError, so the cause reaches the server's log like any 5xx.
            let api: ApiError = e.into();
            let status = if api.status.is_server_error() {
                api.status
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            Err(layout_error(
                p,
                status,
                p.t(
                    "Không ghi được nhật ký truy cập nên hồ sơ không được hiển thị. Vui lòng thử \
                     lại sau ít phút; nếu vẫn không được, xin báo quản trị hệ thống.",
                    "The access could not be written to the audit log, so the record is not \
                     shown. Try again in a few minutes; if it persists, tell the administrator.",
                ),
            ))
        }
    }
}

/// A store refusal as an error page inside the site's layout (the API's status and sentence).
fn layout_store_error(p: &Page, e: kyso_store::Error) -> Response {
    let api: ApiError = e.into();
    layout_error(p, api.status, api.message(p.lang))
}

fn alert_error(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { div.alert.error role="alert" { (m) } } }
}

/// A labelled text input; marked invalid when `error_field` names it.
fn field(
    id: &str,
    label: &str,
    value: &str,
    kind: &str,
    required: bool,
    error_field: Option<&str>,
    hint: Option<&str>,
) -> Markup {
    let invalid = error_field == Some(id);
    html! {
        div.field {
            label for=(id) { (label) @if required { " *" } }
            input id=(id) name=(id) type=(kind) value=(value) required[required]
                aria-invalid=(if invalid { "true" } else { "false" })
                aria-describedby=[hint.map(|_| format!("{id}-hint"))];
            @if let Some(h) = hint { div.hint id={ (id) "-hint" } { (h) } }
        }
    }
}

fn select(
    id: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    error_field: Option<&str>,
) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-invalid=(if error_field == Some(id) { "true" } else { "false" }) {
                @for (v, l) in options {
                    option value=(v) selected[v == selected] { (l) }
                }
            }
        }
    }
}

fn fmt_date(t: OffsetDateTime) -> String {
    kyso_domain::calendar::date_text(t)
}

/// `pairs` as a URL query (UTF-8, percent-encoded; empty values left out).
fn query_string(pairs: &[(&str, String)]) -> String {
    let kept: Vec<&(&str, String)> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The export buttons of a list: its rows with the filters shown (`query`) as an Excel workbook
/// and as CSV, from the API's export routes (the session's cookie is enough for a download).
fn export_links(p: &Page, api_base: &str, query: &str) -> Markup {
    let sep = if query.is_empty() { "" } else { "?" };
    html! {
        p.exports {
            a.button href={ (api_base) "/export.xlsx" (sep) (query) } download { (p.t("Xuất Excel", "Export to Excel")) }
            " "
            a href={ (api_base) "/export.csv" (sep) (query) } download { (p.t("Xuất CSV (cho máy)", "Export CSV (for machines)")) }
        }
    }
}

/// A moment in Vietnam time as lists show it, `dd/mm/yyyy HH:MM`.
fn fmt_time(t: OffsetDateTime) -> String {
    let vn = t.to_offset(kyso_domain::calendar::VIETNAM);
    format!("{} {:02}:{:02}", fmt_date(t), vn.hour(), vn.minute())
}

/// [`fmt_time`] of a stored Unix time.
fn time_text(unix: i64) -> String {
    fmt_time(OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}
