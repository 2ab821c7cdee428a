//! The outgoing register as a book (Decree 30 Appendix IV) for a period, under
//! `/api/v1/document-registers/{id}/export.xlsx` and `…/export.pdf` (issue 17 item 9). The rows
//! and the workbook are `kyso_store::documents::register_book`'s; the printed book is laid out
//! by `kyso_letters::render_register` and signed with the agency's organization key like the
//! request letters.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kyso_domain::roles::Permission;
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
    Ok((
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
        .into_response())
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
    let sys = Actor::system();
    let agency = registry::agency(
        &st.store,
        &sys,
        book.register.agency_id,
        Permission::ReadRegistry,
    )
    .await?;
    let Some(key) = st.org_keys.get(&agency.code).cloned() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_org_key",
            None,
            format!(
                "Máy chủ chưa giữ khóa tổ chức (chứng thư số của cơ quan) của {} nên không ký số \
                 được sổ đăng ký văn bản đi. Đề nghị quản trị hệ thống cấu hình khóa tổ chức \
                 (kyso serve --org-key); trong khi chờ, có thể tải sổ dạng XLSX.",
                agency.name
            ),
            format!(
                "The server holds no organization key of {}, so the outgoing register cannot be \
                 signed. Ask the administrator to configure it (kyso serve --org-key); meanwhile \
                 the register can be downloaded as XLSX.",
                agency.name
            ),
        ));
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
    let data = kyso_letters::RegisterBookData {
        agency_name: book.agency_name.clone(),
        managing_agency_name: managing,
        register_name: book.register.name.clone(),
        register_code: book.register.code.clone(),
        from: book.from,
        to: book.to,
        made_on: now.to_offset(kyso_domain::calendar::VIETNAM).date(),
        rows: book
            .rows
            .iter()
            .map(|r| kyso_letters::RegisterEntry {
                number: r.number,
                year: i32::try_from(r.number_year).unwrap_or_default(),
                cells: r.cells.clone(),
            })
            .collect(),
    };
    let rows = data.rows.len();
    let span = tracing::info_span!("register_book_pdf", register = id, rows);
    let signed = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let _span = span.enter();
        let pdf = kyso_letters::render_register(&data).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                None,
                format!("Không lập được sổ đăng ký văn bản đi: {}", e.message_vi()),
                format!("Cannot produce the outgoing register: {e}"),
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
            "outgoing register signed with the organization key"
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
    Ok((format!("so-van-ban-di-{id}-{from}-{to}.pdf"), signed))
}
