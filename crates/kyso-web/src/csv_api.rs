//! The API of bulk files: subscribers imported from the CA's CSV template, subscribers and
//! certificates exported as CSV (UTF-8 with BOM, for Excel).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kyso_store::csv_io::{self, ExportFormat};
use kyso_store::registry::{CertQuery, SubscriberQuery};
use serde::Deserialize;

use crate::api::Q;
use crate::auth::Auth;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub(crate) struct ImportQuery {
    agency_id: i64,
}

/// Import subscribers (body: `text/csv`, at most 4 MiB) into `?agency_id=N` and its subtree.
/// 201 with `{imported}` when every row was written; 422 with `{imported: 0, errors: [{row,
/// column, message, message_en}]}` when any row is wrong (then nothing was written).
pub(crate) async fn import_subscribers(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<ImportQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let report =
        csv_io::import_subscribers(&st.store, &auth.actor, q.agency_id, &body, st.now()).await?;
    let status = if report.errors.is_empty() {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

fn file_response(name: &str, format: ExportFormat, bytes: Vec<u8>) -> Response {
    let (mime, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let name = format!("{name}.{ext}");
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Subscribers as CSV, with the listing's filters; an audited read of personal data.
pub(crate) async fn export_subscribers_csv(
    st: State<AppState>,
    auth: Auth,
    q: Q<SubscriberQuery>,
) -> Result<Response, ApiError> {
    export_subscribers(st, auth, q, ExportFormat::Csv).await
}

/// Subscribers as an Excel workbook; audited.
pub(crate) async fn export_subscribers_xlsx(
    st: State<AppState>,
    auth: Auth,
    q: Q<SubscriberQuery>,
) -> Result<Response, ApiError> {
    export_subscribers(st, auth, q, ExportFormat::Xlsx).await
}

async fn export_subscribers(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<SubscriberQuery>,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let bytes = csv_io::export_subscribers(&st.store, &auth.actor, &q, format, st.now()).await?;
    Ok(file_response("thue-bao", format, bytes))
}

/// Certificates as CSV, with the listing's filters; audited.
pub(crate) async fn export_certificates_csv(
    st: State<AppState>,
    auth: Auth,
    q: Q<CertQuery>,
) -> Result<Response, ApiError> {
    export_certificates(st, auth, q, ExportFormat::Csv).await
}

/// Certificates as an Excel workbook; audited.
pub(crate) async fn export_certificates_xlsx(
    st: State<AppState>,
    auth: Auth,
    q: Q<CertQuery>,
) -> Result<Response, ApiError> {
    export_certificates(st, auth, q, ExportFormat::Xlsx).await
}

async fn export_certificates(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<CertQuery>,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let bytes = csv_io::export_certificates(&st.store, &auth.actor, &q, format, st.now()).await?;
    Ok(file_response("chung-thu-so", format, bytes))
}
