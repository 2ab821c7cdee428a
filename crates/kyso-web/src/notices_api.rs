//! The API of the inbox (notices of the outgoing-document flow and of expiring certificates):
//! one's own notices, read marks, and the expiry scan run by hand.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kyso_store::notices;

use crate::api::dto::{self, InboxQuery};
use crate::api::{Id, Q};
use crate::auth::Auth;
use crate::{ApiError, AppState};

/// The caller's own notices (`kind`: `document` or `expiry`), newest first, with the unread
/// count (`?unread=true` for the unread ones only).
#[utoipa::path(get, path = "/api/v1/notices", tag = "notices", params(InboxQuery),
    responses((status = 200, description = "The notices", body = dto::Inbox)))]
pub(crate) async fn inbox(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<InboxQuery>,
) -> Result<Json<dto::Inbox>, ApiError> {
    let items = notices::inbox(&st.store, &auth.actor, q.unread).await?;
    let unread = items.iter().filter(|n| n.read_at.is_none()).count();
    Ok(Json(dto::Inbox { items, unread }))
}

/// Mark one of the caller's notices read.
#[utoipa::path(post, path = "/api/v1/notices/{id}/read", tag = "notices", params(Id),
    responses((status = 204, description = "Marked read")))]
pub(crate) async fn mark_read(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    notices::mark_read(&st.store, &auth.actor, id, st.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run the expiry scan now (Department administrators); the answer holds its counts.
#[utoipa::path(post, path = "/api/v1/notices/scan", tag = "notices",
    responses((status = 200, description = "What the scan did", body = dto::ScanSummary)))]
pub(crate) async fn scan(
    State(st): State<AppState>,
    auth: Auth,
) -> Result<Json<dto::ScanSummary>, ApiError> {
    Ok(Json(
        notices::run_expiry_scan_by(&st.store, &auth.actor, st.now()).await?,
    ))
}
