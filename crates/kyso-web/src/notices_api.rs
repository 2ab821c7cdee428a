//! The API of expiry notices: one's own inbox, read marks, and a scan run by hand.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kyso_store::notices;
use serde::Deserialize;
use serde_json::json;

use crate::api::{Id, Q};
use crate::auth::Auth;
use crate::{ApiError, AppState};

#[derive(Deserialize, Default)]
pub(crate) struct InboxQuery {
    #[serde(default)]
    unread: bool,
}

/// The caller's own notices, newest first (`?unread=true` for the unread ones only).
pub(crate) async fn inbox(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<InboxQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = notices::inbox(&st.store, &auth.actor, q.unread).await?;
    let unread = items.iter().filter(|n| n.read_at.is_none()).count();
    Ok(Json(json!({ "items": items, "unread": unread })))
}

/// Mark one of the caller's notices read.
pub(crate) async fn mark_read(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    notices::mark_read(&st.store, &auth.actor, id, st.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run the expiry scan now (Department administrators); the answer holds its counts.
pub(crate) async fn scan(
    State(st): State<AppState>,
    auth: Auth,
) -> Result<Json<notices::ScanSummary>, ApiError> {
    Ok(Json(
        notices::run_expiry_scan_by(&st.store, &auth.actor, st.now()).await?,
    ))
}
