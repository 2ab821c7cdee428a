//! The outgoing registers in the web UI (issue 17 item 9): for an agency the reader may see,
//! each register with a period (default the current year) and the download of its book
//! (sổ đăng ký văn bản đi, Decree 30 Appendix IV) as an Excel workbook or as a printable PDF
//! signed with the agency's organization key. The rows and the workbook are
//! `kyso_store::documents::register_book`'s, the signed PDF `api::register_export`'s, as for
//! the REST API.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kyso_domain::roles::Permission;
use kyso_store::documents as docs;
use maud::html;
use serde::Deserialize;

use super::layout_store_error as refusal;
use super::{agency_options, layout, layout_error, select, Page};
use crate::api::Id;
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

/// The registers of the chosen agency (default: the reader's own), each with its period form.
pub(super) async fn registers_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<RegistersQuery>,
) -> Response {
    let agencies = agency_options(&st, &p, Permission::ReadDocuments).await;
    let own = p.actor.grants.first().map(|g| g.agency_id.to_string());
    let chosen = match q.agency_id.trim() {
        "" => own
            .filter(|id| agencies.iter().any(|(a, _)| a == id))
            .or_else(|| agencies.first().map(|(a, _)| a.clone())),
        id => Some(id.to_owned()),
    };
    let registers = match chosen.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) => match docs::registers(&st.store, &p.actor, id).await {
            Ok(list) => list,
            Err(e) => return refusal(&p, e),
        },
        Some(Err(_)) => {
            return refusal(
                &p,
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
    let title = p.t("Sổ đăng ký văn bản đi", "Outgoing registers");
    layout(
        &p,
        title,
        html! {
            h1 { (title) }
            p.muted { (p.t(
                "Sổ theo Phụ lục IV Nghị định 30/2020/NĐ-CP: các văn bản đã vào sổ có ngày văn bản trong khoảng đã chọn, theo thứ tự số.",
                "The register of Decree 30/2020 Appendix IV: the registered documents dated in the chosen period, in number order.")) }
            form.filters method="get" action="/documents/registers" {
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, chosen.as_deref().unwrap_or(""), None))
                button type="submit" { (p.t("Xem", "Show")) }
            }
            @if registers.is_empty() {
                p.muted { (p.t("Cơ quan chưa có sổ văn bản đi.", "The agency has no outgoing register.")) }
            }
            @for r in &registers {
                h2 style="font-size:18px" { (r.name) " (" (r.code) ")" }
                form.filters method="get" action=(format!("/documents/registers/{}/export.xlsx", r.id)) {
                    div.field {
                        label for=(format!("from-{}", r.id)) { (p.t("Từ ngày", "From")) }
                        input type="date" id=(format!("from-{}", r.id)) name="from" value=(from.to_string());
                    }
                    div.field {
                        label for=(format!("to-{}", r.id)) { (p.t("Đến ngày", "To")) }
                        input type="date" id=(format!("to-{}", r.id)) name="to" value=(to.to_string());
                    }
                    button type="submit" { (p.t("Tải sổ (XLSX)", "Download the register (XLSX)")) }
                    @if can_sign {
                        " "
                        button type="submit" formaction=(format!("/documents/registers/{}/export.pdf", r.id)) {
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
    let bytes = match book.and_then(|b| docs::register_book_xlsx(&b).map(|x| (b, x))) {
        Ok(v) => v,
        Err(e) => return refusal(&p, e),
    };
    let (book, bytes) = bytes;
    let name = format!("so-van-ban-di-{id}-{}-{}.xlsx", book.from, book.to);
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The book of a register for the period, as a PDF signed with the agency's organization key
/// (refused, with the reason, when the server holds none).
pub(super) async fn register_pdf(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<PeriodQuery>,
) -> Response {
    match crate::api::register_export::signed_register_pdf(
        &st,
        &p.actor,
        id,
        q.from.as_deref(),
        q.to.as_deref(),
    )
    .await
    {
        Ok((name, bytes)) => crate::api::register_export::pdf_response(&name, bytes),
        Err(e) => layout_error(&p, e.status, e.message(p.lang)),
    }
}
