//! The registers as books (Decree 30 Appendix IV) for a period: the outgoing register under
//! `/api/v1/document-registers/{id}/export.xlsx` and `…/export.pdf` (issue 17 item 9), the
//! incoming register under `/api/v1/incoming-registers/{id}/export.xlsx` and `…/export.pdf`
//! (issue 18 item 8). The rows and the workbooks are the store's
//! (`kyso_store::documents::register_book`, `kyso_store::incoming::incoming_register_book`);
//! the printed book of either kind is laid out by `kyso_letters::render_book` and signed with
//! the agency's organization key like the request letters ([`signed_book`], one path).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kyso_domain::roles::Permission;
use kyso_letters::RegisterKind;
use kyso_store::documents as docs;
use kyso_store::{registry, Actor};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiResult, Id, Routes, Q};
use crate::auth::Auth;
use crate::letters::internal;
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_export_register_xlsx, _, _>(export_register_xlsx)
        .add::<__path_export_register_pdf, _, _>(export_register_pdf)
        .add::<__path_export_incoming_register_xlsx, _, _>(export_incoming_register_xlsx)
        .add::<__path_export_incoming_register_pdf, _, _>(export_incoming_register_pdf)
}

/// The period of the book.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Period {
    /// First document date (`yyyy-mm-dd`); default 1 January of the current year.
    pub from: Option<String>,
    /// Last document date (`yyyy-mm-dd`); default 31 December of the current year.
    pub to: Option<String>,
}

/// The outgoing register (sổ đăng ký văn bản đi, Decree 30 Appendix IV) as an Excel workbook:
/// the documents registered in it with a document date in the period, in number order, under
/// the appendix's ten Vietnamese column headers. Only readers of the agency's documents
/// (others: 404).
#[utoipa::path(get, path = "/api/v1/document-registers/{id}/export.xlsx", tag = "documents",
    params(Id, Period),
    responses((status = 200, description = "The workbook",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        body = super::dto::BinaryFile)))]
pub(crate) async fn export_register_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(p): Q<Period>,
) -> ApiResult<Response> {
    let (from, to) = docs::book_period(p.from.as_deref(), p.to.as_deref(), st.now())?;
    let book = docs::register_book(&st.store, &auth.actor, id, from, to).await?;
    let bytes = docs::register_book_xlsx(&book)?;
    let name = format!("so-van-ban-di-{id}-{from}-{to}.xlsx");
    Ok(xlsx_response(&name, bytes))
}

/// The outgoing register as a printable book (Decree 30 Appendix IV: a cover, then the ten
/// columns on A4 landscape pages with the header row repeated and the pages numbered), signed
/// with the agency's organization key (an invisible PAdES B-B signature, as the request
/// letters). Same period and readers as the workbook (others: 404). When the server holds no
/// organization key for the agency the book is refused (409 `no_org_key`): a register
/// printed to be bound must show that it is the agency's, and the unsigned workbook is there
/// for working copies.
#[utoipa::path(get, path = "/api/v1/document-registers/{id}/export.pdf", tag = "documents",
    params(Id, Period),
    responses((status = 200, description = "The signed book", content_type = "application/pdf",
        body = super::dto::BinaryFile),
        (status = 409, description = "The server holds no organization key of the agency",
            body = super::dto::ErrorBody)))]
pub(crate) async fn export_register_pdf(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(p): Q<Period>,
) -> ApiResult<Response> {
    let (name, bytes) =
        signed_register_pdf(&st, &auth.actor, id, p.from.as_deref(), p.to.as_deref()).await?;
    Ok(pdf_response(&name, bytes))
}

/// The incoming register (sổ đăng ký văn bản đến, Decree 30 Appendix IV VI.2) as an Excel
/// workbook: the documents registered in it that arrived in the period (arrival dates; default
/// the current year), in arrival-number order, under the appendix's ten Vietnamese column
/// headers. Only readers of the agency's documents (others: 404); the read is audited.
#[utoipa::path(get, path = "/api/v1/incoming-registers/{id}/export.xlsx", tag = "incoming",
    params(Id, Period),
    responses((status = 200, description = "The workbook",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        body = super::dto::BinaryFile)))]
pub(crate) async fn export_incoming_register_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(p): Q<Period>,
) -> ApiResult<Response> {
    let (name, bytes) =
        incoming_register_xlsx(&st, &auth.actor, id, p.from.as_deref(), p.to.as_deref()).await?;
    Ok(xlsx_response(&name, bytes))
}

/// The incoming register as a printable book, laid out and signed with the agency's
/// organization key like the outgoing book (a cover, the ten columns of Appendix IV VI.2 on
/// A4 landscape pages). Same period and readers as the workbook (others: 404); without the
/// agency's organization key on the server, 409 `no_org_key`.
#[utoipa::path(get, path = "/api/v1/incoming-registers/{id}/export.pdf", tag = "incoming",
    params(Id, Period),
    responses((status = 200, description = "The signed book", content_type = "application/pdf",
        body = super::dto::BinaryFile),
        (status = 409, description = "The server holds no organization key of the agency",
            body = super::dto::ErrorBody)))]
pub(crate) async fn export_incoming_register_pdf(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(p): Q<Period>,
) -> ApiResult<Response> {
    let (name, bytes) =
        signed_incoming_register_pdf(&st, &auth.actor, id, p.from.as_deref(), p.to.as_deref())
            .await?;
    Ok(pdf_response(&name, bytes))
}

/// An XLSX download named `name`.
pub(crate) fn xlsx_response(name: &str, bytes: Vec<u8>) -> Response {
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

/// A PDF download named `name`.
pub(crate) fn pdf_response(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The book of register `id` for the period (`from`/`to` as in [`Period`]), laid out by
/// `kyso_letters::render_register` and signed with the agency's organization key: the file
/// name and the signed PDF. Shared by the API and the web UI.
pub(crate) async fn signed_register_pdf(
    st: &AppState,
    actor: &Actor,
    id: i64,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(String, Vec<u8>), ApiError> {
    let (from, to) = docs::book_period(from, to, st.now())?;
    // The reader's scope first: another agency's register is not found, key or no key.
    let book = docs::register_book(&st.store, actor, id, from, to).await?;
    let rows = book
        .rows
        .iter()
        .map(|r| kyso_letters::RegisterEntry {
            number: r.number,
            year: i32::try_from(r.number_year).unwrap_or_default(),
            cells: r.cells.clone(),
        })
        .collect();
    let book = Book {
        kind: RegisterKind::Outgoing,
        id,
        agency_id: book.register.agency_id,
        agency_name: book.agency_name,
        register_name: book.register.name,
        register_code: book.register.code,
        from,
        to,
        rows,
    };
    signed_book(st, book).await
}

/// The incoming register `id` (sổ đăng ký văn bản đến, Decree 30 Appendix IV VI.2) for the
/// period of arrival dates, printed and signed like the outgoing book ([`signed_register_pdf`]):
/// the file name and the signed PDF. Shared by the API and the web UI.
pub(crate) async fn signed_incoming_register_pdf(
    st: &AppState,
    actor: &Actor,
    id: i64,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(String, Vec<u8>), ApiError> {
    let (from, to) = docs::book_period(from, to, st.now())?;
    let (register, book) =
        kyso_store::incoming::incoming_register_book(&st.store, actor, id, from, to, st.now())
            .await?;
    let rows = book
        .rows
        .iter()
        .map(|r| kyso_letters::RegisterEntry {
            number: r.arrival_number,
            year: i32::try_from(r.arrival_year).unwrap_or_default(),
            cells: r.cells(),
        })
        .collect();
    let book = Book {
        kind: RegisterKind::Incoming,
        id,
        agency_id: register.agency_id,
        agency_name: book.agency_name,
        register_name: register.name,
        register_code: register.code,
        from,
        to,
        rows,
    };
    signed_book(st, book).await
}

/// The incoming register `id` for the period as an XLSX workbook: its file name and bytes.
/// Shared by the API and the web UI.
pub(crate) async fn incoming_register_xlsx(
    st: &AppState,
    actor: &Actor,
    id: i64,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(String, Vec<u8>), ApiError> {
    let (from, to) = docs::book_period(from, to, st.now())?;
    let (_, book) =
        kyso_store::incoming::incoming_register_book(&st.store, actor, id, from, to, st.now())
            .await?;
    let bytes = docs::incoming_register_book_xlsx(&book)?;
    Ok((format!("so-van-ban-den-{id}-{from}-{to}.xlsx"), bytes))
}

/// A register's book to print: which register (its kind gives the columns and titles), whose,
/// and its rows.
struct Book {
    kind: RegisterKind,
    id: i64,
    agency_id: i64,
    agency_name: String,
    register_name: String,
    register_code: String,
    from: time::Date,
    to: time::Date,
    rows: Vec<kyso_letters::RegisterEntry>,
}

impl Book {
    /// The book's name in a sentence (Vietnamese, English) and its file name's stem.
    fn names(&self) -> (&'static str, &'static str, &'static str) {
        match self.kind {
            RegisterKind::Incoming => (
                "sổ đăng ký văn bản đến",
                "incoming register",
                "so-van-ban-den",
            ),
            _ => (
                "sổ đăng ký văn bản đi",
                "outgoing register",
                "so-van-ban-di",
            ),
        }
    }
}

/// The refusal when the server holds no organization key of `agency` to sign `what` with
/// (409 `no_org_key`): the XLSX of the same data can be downloaded meanwhile.
pub(crate) fn no_org_key(agency: &str, what_vi: &str, what_en: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_org_key",
        None,
        format!(
            "Máy chủ chưa giữ khóa tổ chức (chứng thư số của cơ quan) của {agency} nên không ký \
             số được {what_vi}. Đề nghị quản trị hệ thống cấu hình khóa tổ chức (kyso serve \
             --org-key); trong khi chờ, có thể tải bản XLSX."
        ),
        format!(
            "The server holds no organization key of {agency}, so the {what_en} cannot be \
             signed. Ask the administrator to configure it (kyso serve --org-key); meanwhile \
             the XLSX can be downloaded."
        ),
    )
}

/// Lay out `book` (`kyso_letters::render_book` of its kind) and sign it with its agency's
/// organization key; without that key on the server, 409 `no_org_key`.
async fn signed_book(st: &AppState, book: Book) -> Result<(String, Vec<u8>), ApiError> {
    let (name_vi, name_en, stem) = book.names();
    let sys = Actor::system();
    let agency =
        registry::agency(&st.store, &sys, book.agency_id, Permission::ReadRegistry).await?;
    let Some(key) = st.org_keys.get(&agency.code).cloned() else {
        return Err(no_org_key(&agency.name, name_vi, name_en));
    };
    let managing = match agency.parent_id {
        Some(p) => Some(
            registry::agency(&st.store, &sys, p, Permission::ReadRegistry)
                .await?
                .name,
        ),
        None => None,
    };
    let now = st.now();
    let (kind, id, from, to) = (book.kind, book.id, book.from, book.to);
    let data = kyso_letters::RegisterBookData {
        agency_name: book.agency_name,
        managing_agency_name: managing,
        register_name: book.register_name,
        register_code: book.register_code,
        from,
        to,
        made_on: now.to_offset(kyso_domain::calendar::VIETNAM).date(),
        rows: book.rows,
    };
    let rows = data.rows.len();
    let span = tracing::info_span!("register_book_pdf", register = id, ?kind, rows);
    let signed = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let _span = span.enter();
        let pdf = kyso_letters::render_book(kind, &data).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                None,
                format!("Không lập được {name_vi}: {}", e.message_vi()),
                format!("Cannot produce the {name_en}: {e}"),
            )
        })?;
        let signer = key.signer()?;
        let signed = kyso_letters::sign(&pdf, &signer, now).map_err(|e| {
            internal(
                &format!("Ký số sổ không thành công: {}", e.message_vi()),
                &format!("Signing the register failed: {e}"),
            )
        })?;
        tracing::info!(
            bytes = signed.len(),
            "{name_en} signed with the organization key"
        );
        Ok(signed)
    })
    .await
    .map_err(|_| {
        internal(
            "Lỗi nội bộ khi lập sổ.",
            "Internal failure producing the register.",
        )
    })??;
    st.metrics.signature_made("register_book");
    Ok((format!("{stem}-{id}-{from}-{to}.pdf"), signed))
}
