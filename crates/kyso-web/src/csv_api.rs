//! The API of bulk files: subscribers imported from the CA's CSV template, subscribers and
//! certificates exported as CSV (UTF-8 with BOM, for Excel).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kyso_store::csv_io::{self, ExportFormat};

use crate::api::dto::{self, CertQuery, SubscriberQuery};
use crate::api::Q;
use crate::auth::Auth;
use crate::{ApiError, AppState};

/// Import subscribers from the CA's CSV template (at most 4 MiB) into `agency_id` and its
/// subtree: all rows or none. 201 when every row was written; 422 listing row, column and
/// message of each wrong row (then nothing was written).
#[utoipa::path(post, path = "/api/v1/subscribers/import", tag = "registry",
    params(dto::ImportQuery),
    request_body(content = dto::TextFile, content_type = "text/csv"),
    responses(
        (status = 201, description = "Every row imported", body = dto::ImportReport),
        (status = 422, description = "Nothing imported: the rows at fault (`errors`), or a refused value (`error`)",
            body = dto::ImportRefused),
    ))]
pub(crate) async fn import_subscribers(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // A body over the upload limit is answered like every other error (JSON), not with
    // axum's plain-text rejection.
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            None,
            "Nội dung gửi lên quá lớn.",
            "The request body is too large.",
        )
    })?;
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

/// Subscribers as CSV (UTF-8 with BOM), with the listing's filters; an audited read of
/// personal data.
#[utoipa::path(get, path = "/api/v1/subscribers/export.csv", tag = "registry",
    params(SubscriberQuery),
    responses((status = 200, description = "The file", content_type = "text/csv", body = dto::TextFile)))]
pub(crate) async fn export_subscribers_csv(
    st: State<AppState>,
    auth: Auth,
    q: Q<SubscriberQuery>,
) -> Result<Response, ApiError> {
    export_subscribers(st, auth, q, ExportFormat::Csv).await
}

/// Subscribers as an Excel workbook, with the listing's filters; audited.
#[utoipa::path(get, path = "/api/v1/subscribers/export.xlsx", tag = "registry",
    params(SubscriberQuery),
    responses((status = 200, description = "The workbook",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = dto::BinaryFile)))]
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

/// Certificates as CSV (UTF-8 with BOM), with the listing's filters; audited.
#[utoipa::path(get, path = "/api/v1/certificates/export.csv", tag = "registry",
    params(CertQuery),
    responses((status = 200, description = "The file", content_type = "text/csv", body = dto::TextFile)))]
pub(crate) async fn export_certificates_csv(
    st: State<AppState>,
    auth: Auth,
    q: Q<CertQuery>,
) -> Result<Response, ApiError> {
    export_certificates(st, auth, q, ExportFormat::Csv).await
}

/// Certificates as an Excel workbook, with the listing's filters; audited.
#[utoipa::path(get, path = "/api/v1/certificates/export.xlsx", tag = "registry",
    params(CertQuery),
    responses((status = 200, description = "The workbook",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = dto::BinaryFile)))]
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
