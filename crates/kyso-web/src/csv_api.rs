//! The API of bulk files: subscribers imported from the CA's CSV template; every list
//! (subscribers, certificates, devices, requests, agencies) exported as CSV (UTF-8 with BOM)
//! and as an Excel workbook.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kyso_store::csv_io::{self, ExportFormat};

use crate::api::dto::{
    self, AgencyQuery, AuditQuery, CertQuery, DeviceQuery, RequestQuery, SubscriberQuery, UserQuery,
};
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
    match format {
        ExportFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        ExportFormat::Xlsx => {
            crate::api::register_export::xlsx_response(&format!("{name}.xlsx"), bytes)
        }
    }
}

/// The two routes of one list's export — CSV (UTF-8 with BOM, for machines) and an Excel
/// workbook — taking the listing's own query, answered by the store's export (audited).
macro_rules! export_routes {
    ($what:tt, $csv:ident, $csv_path:tt, $xlsx:ident, $xlsx_path:tt, $query:ident, $file:tt,
     |$st:ident, $auth:ident, $q:ident, $format:ident| $run:expr) => {
        #[doc = concat!($what, " as CSV (UTF-8 with BOM), with the listing's filters; audited.")]
        #[utoipa::path(get, path = $csv_path, tag = "registry", params($query),
            responses((status = 200, description = "The file", content_type = "text/csv", body = dto::TextFile)))]
        pub(crate) async fn $csv(
            st: State<AppState>,
            auth: Auth,
            q: Q<$query>,
        ) -> Result<Response, ApiError> {
            $xlsx::export(st, auth, q, ExportFormat::Csv).await
        }

        #[doc = concat!($what, " as an Excel workbook, with the listing's filters; audited.")]
        #[utoipa::path(get, path = $xlsx_path, tag = "registry", params($query),
            responses((status = 200, description = "The workbook",
                content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = dto::BinaryFile)))]
        pub(crate) async fn $xlsx(
            st: State<AppState>,
            auth: Auth,
            q: Q<$query>,
        ) -> Result<Response, ApiError> {
            $xlsx::export(st, auth, q, ExportFormat::Xlsx).await
        }

        mod $xlsx {
            use super::*;
            pub(super) async fn export(
                State($st): State<AppState>,
                $auth: Auth,
                Q($q): Q<$query>,
                $format: ExportFormat,
            ) -> Result<Response, ApiError> {
                let bytes = $run;
                Ok(file_response($file, $format, bytes))
            }
        }
    };
}

export_routes!(
    "Subscribers (an export of personal data)",
    export_subscribers_csv,
    "/api/v1/subscribers/export.csv",
    export_subscribers_xlsx,
    "/api/v1/subscribers/export.xlsx",
    SubscriberQuery,
    "thue-bao",
    |st, auth, q, format| csv_io::export_subscribers(&st.store, &auth.actor, &q, format, st.now())
        .await?
);

export_routes!(
    "Certificates",
    export_certificates_csv,
    "/api/v1/certificates/export.csv",
    export_certificates_xlsx,
    "/api/v1/certificates/export.xlsx",
    CertQuery,
    "chung-thu-so",
    |st, auth, q, format| csv_io::export_certificates(&st.store, &auth.actor, &q, format, st.now())
        .await?
);

export_routes!(
    "Key devices",
    export_devices_csv,
    "/api/v1/devices/export.csv",
    export_devices_xlsx,
    "/api/v1/devices/export.xlsx",
    DeviceQuery,
    "thiet-bi",
    |st, auth, q, format| csv_io::export_devices(
        &st.store,
        &auth.actor,
        &q.q,
        q.state.as_deref(),
        q.agency_id,
        format,
        st.now()
    )
    .await?
);

export_routes!(
    "Requests",
    export_requests_csv,
    "/api/v1/requests/export.csv",
    export_requests_xlsx,
    "/api/v1/requests/export.xlsx",
    RequestQuery,
    "de-nghi",
    |st, auth, q, format| csv_io::export_requests(&st.store, &auth.actor, &q, format, st.now())
        .await?
);

export_routes!(
    "Agencies",
    export_agencies_csv,
    "/api/v1/agencies/export.csv",
    export_agencies_xlsx,
    "/api/v1/agencies/export.xlsx",
    AgencyQuery,
    "co-quan",
    |st, auth, q, format| csv_io::export_agencies(
        &st.store,
        &auth.actor,
        &q.q,
        q.under,
        format,
        st.now()
    )
    .await?
);

export_routes!(
    "The audit log (newest first; the auditor's permission)",
    export_audit_csv,
    "/api/v1/audit/export.csv",
    export_audit_xlsx,
    "/api/v1/audit/export.xlsx",
    AuditQuery,
    "nhat-ky",
    |st, auth, q, format| csv_io::export_audit(
        &st.store,
        &auth.actor,
        &kyso_store::audit::Filter {
            actor: q.actor.filter(|s| !s.is_empty()),
            action_prefix: q.action.filter(|s| !s.is_empty()),
            object: q.object.filter(|s| !s.is_empty()),
            before_seq: q.before_seq,
            ..Default::default()
        },
        format,
        st.now()
    )
    .await?
);

export_routes!(
    "The accounts the caller manages (no password, no token)",
    export_users_csv,
    "/api/v1/users/export.csv",
    export_users_xlsx,
    "/api/v1/users/export.xlsx",
    UserQuery,
    "tai-khoan",
    |st, auth, _q, format| csv_io::export_users(&st.store, &auth.actor, format, st.now()).await?
);
