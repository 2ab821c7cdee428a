//! One's own browser sessions: listed, and ended one by one (issue 15 item 4).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use kyso_store::accounts;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{cookie_in, Auth, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// A browser session of the caller (never the cookie).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Session {
    /// The session's handle (16 hex digits), for `DELETE /api/v1/sessions/{id}`.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The address the session was opened from.
    pub source: String,
    /// The session making this request.
    pub current: bool,
}

/// The caller's sessions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionList {
    pub items: Vec<Session>,
}

impl From<accounts::SessionInfo> for Session {
    fn from(s: accounts::SessionInfo) -> Self {
        Session {
            id: s.id,
            created_at: s.created_at,
            expires_at: s.expires_at,
            source: s.source,
            current: s.current,
        }
    }
}

/// The session token the request rides on, if it is a session (a cookie, or a session
/// token as bearer) rather than an API token.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    match bearer {
        Some(t) if t.starts_with("kyso_") => None,
        Some(t) => Some(t),
        None => cookie_in(headers, SESSION_COOKIE),
    }
}

/// The caller's own browser sessions that have not expired, newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "auth",
    responses((status = 200, description = "The sessions", body = SessionList)))]
pub(crate) async fn list_sessions(
    State(st): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Json<SessionList>, ApiError> {
    let current = session_token(&headers);
    let items = accounts::sessions(&st.store, &auth.actor, current.as_deref(), st.now()).await?;
    Ok(Json(SessionList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// End one of the caller's own sessions (audited; another user's is not found).
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "auth",
    params(("id" = String, Path, description = "The session's handle (16 hex digits)")),
    responses((status = 204, description = "Ended")))]
pub(crate) async fn end_session(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    accounts::end_session(&st.store, &auth.actor, &id, st.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
