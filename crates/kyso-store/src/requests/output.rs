//! A request as read back.

use sqlx::Row as _;

use super::*;

/// A request as listed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Request {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::request_kind))]
    pub kind: RequestKind,
    /// The Decree 68 form number (`01`…`06`).
    pub form_number: &'static str,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::request_state))]
    pub state: RequestState,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::request_handler))]
    pub handler: Handler,
    pub agency_id: i64,
    pub agency_code: String,
    pub agency_name: String,
    #[serde(skip)]
    pub agency_path: String,
    pub title: String,
    pub contact_name: String,
    pub contact_title: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub reason: String,
    pub number: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub refusal_reason: String,
    pub letter_sha256: Option<String>,
    /// Sent or processing, and past the deadline.
    pub overdue: bool,
}

/// One row of a request's table.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestItem {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub certificate_id: Option<i64>,
    pub device_id: Option<i64>,
    /// The form's fields; after completion also `issued_certificate_id` where a certificate
    /// was imported.
    pub data: BTreeMap<String, String>,
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestEvent {
    pub id: i64,
    /// `create`, `update`, or an action's name (`RequestAction`).
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A request with its items, its timeline and what the reader may do next.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: Request,
    pub items: Vec<RequestItem>,
    pub timeline: Vec<RequestEvent>,
    /// The actions the reading actor may take now.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::request_actions))]
    pub actions: Vec<RequestAction>,
}

pub(super) const REQUEST_COLUMNS: &str =
    "r.id, r.kind, r.state, r.handler, r.agency_id, a.code, a.name, \
     a.path, r.title, r.contact_name, r.contact_title, r.contact_phone, r.contact_email, \
     r.reason, r.number, r.created_by, r.created_at, r.updated_at, r.submitted_at, r.sent_at, \
     r.deadline_at, r.completed_at, r.refusal_reason, r.letter_sha256";

pub(super) fn corrupt(what: &str) -> Error {
    Error::Database(sqlx::Error::Protocol(format!("stored {what} is not valid")))
}

/// Stored seconds as Vietnam time (deadlines are the end of a day there).
pub(super) fn ts(v: i64) -> OffsetDateTime {
    let t = OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.checked_to_offset(kyso_domain::calendar::VIETNAM)
        .unwrap_or(t)
}

pub(super) fn request_from(row: &AnyRow, now: OffsetDateTime) -> Result<Request> {
    let kind = RequestKind::parse(&row.try_get::<String, _>(1)?).map_err(|_| corrupt("kind"))?;
    let state = RequestState::parse(&row.try_get::<String, _>(2)?).map_err(|_| corrupt("state"))?;
    let handler = Handler::parse(&row.try_get::<String, _>(3)?).map_err(|_| corrupt("handler"))?;
    let deadline: Option<i64> = row.try_get(20)?;
    let overdue = is_overdue(state, deadline, now);
    Ok(Request {
        id: row.try_get(0)?,
        kind,
        form_number: kind.form_number(),
        state,
        handler,
        agency_id: row.try_get(4)?,
        agency_code: row.try_get(5)?,
        agency_name: row.try_get(6)?,
        agency_path: row.try_get(7)?,
        title: row.try_get(8)?,
        contact_name: row.try_get(9)?,
        contact_title: row.try_get(10)?,
        contact_phone: row.try_get(11)?,
        contact_email: row.try_get(12)?,
        reason: row.try_get(13)?,
        number: row.try_get(14)?,
        created_by: row.try_get(15)?,
        created_at: ts(row.try_get(16)?),
        updated_at: ts(row.try_get(17)?),
        submitted_at: row.try_get::<Option<i64>, _>(18)?.map(ts),
        sent_at: row.try_get::<Option<i64>, _>(19)?.map(ts),
        deadline_at: deadline.map(ts),
        completed_at: row.try_get::<Option<i64>, _>(21)?.map(ts),
        refusal_reason: row.try_get(22)?,
        letter_sha256: row.try_get(23)?,
        overdue,
    })
}

/// Whether a request in `state` with `deadline` (Unix seconds) is overdue at `now`: sent or
/// processing, and the deadline has passed.
pub fn is_overdue(state: RequestState, deadline: Option<i64>, now: OffsetDateTime) -> bool {
    matches!(state, RequestState::Sent | RequestState::Processing)
        && deadline.is_some_and(|d| d < now.unix_timestamp())
}
