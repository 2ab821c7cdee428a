//! The registers in the web UI (issue 17 item 9, issue 18 item 8): for an agency the reader
//! may see, each register with a period (default the current year) and the download of its
//! book (Decree 30 Appendix IV: sổ đăng ký văn bản đi at `/documents/registers`, sổ đăng ký văn
//! bản đến at `/incoming/registers`) as an Excel workbook or as a printable PDF signed with the
//! agency's organization key. One page for both kinds; the rows, workbooks and signed PDFs are
//! the store's and `api::register_export`'s, as for the REST API.

use axum::extract::{Query, State};
use axum::response::Response;
use kyso_domain::roles::Permission;
use kyso_store::documents as docs;
use maud::html;
use serde::Deserialize;

use super::layout_store_error as refusal;
use super::{agency_options, layout, layout_error, select, Page};
use crate::api::{register_export, Id};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct RegistersQuery {
    #[serde(default)]
    agency_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PeriodQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// Which registers a page lists: outgoing (`/documents/registers`) or incoming
/// (`/incoming/registers`); the page is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Outgoing,
    Incoming,
}

impl Kind {
    /// Where the page and its downloads are.
    fn base(self) -> &'static str {
        match self {
            Kind::Outgoing => "/documents/registers",
            Kind::Incoming => "/incoming/registers",
        }
    }
}

/// The outgoing registers of the chosen agency (default: the reader's own), each with its
/// period form.
pub(super) async fn registers_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<RegistersQuery>,
) -> Response {
    registers(&st, &p, &q, Kind::Outgoing).await
}

/// The incoming registers of the chosen agency (sổ đăng ký văn bản đến), each with its period
/// form: the same page as the outgoing one.
pub(super) async fn incoming_registers_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<RegistersQuery>,
) -> Response {
    registers(&st, &p, &q, Kind::Incoming).await
}

async fn registers(st: &AppState, p: &Page, q: &RegistersQuery, kind: Kind) -> Response {
    let agencies = agency_options(st, p, Permission::ReadDocuments).await;
    let own = p.actor.grants.first().map(|g| g.agency_id.to_string());
    let chosen = match q.agency_id.trim() {
        "" => own
            .filter(|id| agencies.iter().any(|(a, _)| a == id))
            .or_else(|| agencies.first().map(|(a, _)| a.clone())),
        id => Some(id.to_owned()),
    };
    // (id, name, code) of each register of the agency.
    let registers: Vec<(i64, String, String)> = match chosen.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) => {
            let listed = match kind {
                Kind::Outgoing => docs::registers(&st.store, &p.actor, id)
                    .await
                    .map(|l| l.into_iter().map(|r| (r.id, r.name, r.code)).collect()),
                Kind::Incoming => kyso_store::incoming::incoming_registers(&st.store, &p.actor, id)
                    .await
                    .map(|l| l.into_iter().map(|r| (r.id, r.name, r.code)).collect()),
            };
            match listed {
                Ok(list) => list,
                Err(e) => return refusal(p, e),
            }
        }
        Some(Err(_)) => {
            return refusal(
                p,
                kyso_store::Error::Invalid {
                    field: "agency_id",
                    vi: "Mã cơ quan không hợp lệ.".into(),
                    en: "Not a valid agency number.".into(),
                },
            )
        }
        None => Vec::new(),
    };
    // Whether the server can sign the agency's book (it holds its organization key).
    let can_sign = match chosen.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) if !registers.is_empty() => kyso_store::registry::agency(
            &st.store,
            &kyso_store::Actor::system(),
            id,
            Permission::ReadRegistry,
        )
        .await
        .is_ok_and(|a| st.org_keys.contains_key(&a.code)),
        _ => false,
    };
    let (from, to) = docs::default_book_period(st.now());
    let (title, intro, none) = match kind {
        Kind::Outgoing => (
            p.t("Sổ đăng ký văn bản đi", "Outgoing registers"),
            p.t(
                "Sổ theo Phụ lục IV Nghị định 30/2020/NĐ-CP: các văn bản đã vào sổ có ngày văn bản trong khoảng đã chọn, theo thứ tự số.",
                "The register of Decree 30/2020 Appendix IV: the registered documents dated in the chosen period, in number order.",
            ),
            p.t("Cơ quan chưa có sổ văn bản đi.", "The agency has no outgoing register."),
        ),
        Kind::Incoming => (
            p.t("Sổ đăng ký văn bản đến", "Incoming registers"),
            p.t(
                "Sổ theo Phụ lục IV Nghị định 30/2020/NĐ-CP: các văn bản đến đã vào sổ có ngày đến trong khoảng đã chọn, theo thứ tự số đến.",
                "The register of Decree 30/2020 Appendix IV: the registered incoming documents that arrived in the chosen period, in arrival-number order.",
            ),
            p.t(
                "Cơ quan chưa có sổ văn bản đến (sổ được mở khi văn thư vào sổ văn bản đến đầu tiên).",
                "The agency has no incoming register yet (it is opened by the clerk's first registration).",
            ),
        ),
    };
    let base = kind.base();
    layout(
        p,
        title,
        html! {
            h1 { (title) }
            p.muted { (intro) }
            form.filters method="get" action=(base) {
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, chosen.as_deref().unwrap_or(""), None))
                button type="submit" { (p.t("Xem", "Show")) }
            }
            @if registers.is_empty() {
                p.muted { (none) }
            }
            @for (id, name, code) in &registers {
                h2 style="font-size:18px" { (name) " (" (code) ")" }
                form.filters method="get" action=(format!("{base}/{id}/export.xlsx")) {
                    div.field {
                        label for=(format!("from-{id}")) { (p.t("Từ ngày", "From")) }
                        input type="date" id=(format!("from-{id}")) name="from" value=(from.to_string());
                    }
                    div.field {
                        label for=(format!("to-{id}")) { (p.t("Đến ngày", "To")) }
                        input type="date" id=(format!("to-{id}")) name="to" value=(to.to_string());
                    }
                    button type="submit" { (p.t("Tải sổ (XLSX)", "Download the register (XLSX)")) }
                    @if can_sign {
                        " "
                        button type="submit" formaction=(format!("{base}/{id}/export.pdf")) {
                            (p.t("In sổ (PDF có ký số của cơ quan)", "Print the register (PDF signed by the agency)"))
                        }
                    }
                }
            }
            @if !registers.is_empty() && !can_sign {
                p.muted { (p.t(
                    "Máy chủ chưa giữ khóa tổ chức của cơ quan nên chưa in được sổ dạng PDF có ký số; đề nghị quản trị hệ thống cấu hình khóa tổ chức.",
                    "The server holds no organization key of the agency, so the register cannot be printed as a signed PDF; ask the administrator to configure it.")) }
            }
        },
    )
}

/// The book of a register for the period, as an Excel workbook.
pub(super) async fn register_xlsx(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let book = match docs::book_period(q.from.as_deref(), q.to.as_deref(), st.now()) {
        Ok((from, to)) => docs::register_book(&st.store, &p.actor, id, from, to).await,
        Err(e) => Err(e),
    };
    match book.and_then(|b| docs::register_book_xlsx(&b).map(|x| (b, x))) {
        Ok((book, bytes)) => {
            let name = format!("so-van-ban-di-{id}-{}-{}.xlsx", book.from, book.to);
            register_export::xlsx_response(&name, bytes)
        }
        Err(e) => refusal(&p, e),
    }
}

/// The book of a register for the period, as a PDF signed with the agency's organization key
/// (refused, with the reason, when the server holds none).
pub(super) async fn register_pdf(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let (from, to) = (q.from.as_deref(), q.to.as_deref());
    download(
        &p,
        register_export::signed_register_pdf(&st, &p.actor, id, from, to).await,
    )
}

/// The incoming register's book for the period, as an Excel workbook.
pub(super) async fn incoming_register_xlsx(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let (from, to) = (q.from.as_deref(), q.to.as_deref());
    match register_export::incoming_register_xlsx(&st, &p.actor, id, from, to).await {
        Ok((name, bytes)) => register_export::xlsx_response(&name, bytes),
        Err(e) => layout_error(&p, e.status, e.message(p.lang)),
    }
}

/// The incoming register's book for the period, as a PDF signed with the agency's organization
/// key (refused, with the reason, when the server holds none).
pub(super) async fn incoming_register_pdf(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let (from, to) = (q.from.as_deref(), q.to.as_deref());
    download(
        &p,
        register_export::signed_incoming_register_pdf(&st, &p.actor, id, from, to).await,
    )
}

/// A signed book's download, or its refusal as a page in the layout.
fn download(p: &Page, book: Result<(String, Vec<u8>), crate::ApiError>) -> Response {
    match book {
        Ok((name, bytes)) => register_export::pdf_response(&name, bytes),
        Err(e) => layout_error(p, e.status, e.message(p.lang)),
    }
}
