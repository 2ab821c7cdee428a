//! The outgoing register as a book (Decree 30 Appendix IV) for a period, under
//! `/api/v1/document-registers/{id}/export.xlsx` (issue 17 item 9). The rows and the workbook are
//! `kyso_store::documents::register_book`'s.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kyso_store::documents as docs;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiResult, Id, Routes, Q};
use crate::auth::Auth;
use crate::AppState;

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_export_register_xlsx, _, _>(export_register_xlsx)
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
