//! Certificate lifecycle requests (Decree 68: Mẫu 01–06): drafted by an agency's signature
//! officer, approved by the managing agency (the parent agency's officer, or a Department
//! administrator above), sent to the Department or the national CA, processed, then done or
//! refused with a reason.
//!
//! Every action appends to the request's timeline (`request_events`) and to the audit log in
//! the same transaction as the change. Completing a request changes the registry in that same
//! transaction too: issuance and renewal import the certificate(s) given at completion (a
//! renewed certificate becomes `superseded`, with `replaced_by` set), revocation marks the
//! certificate revoked with the request's reason, recovery moves the device with the `recover`
//! event, and a change of information writes the new subscriber fields given in the items.
//!
//! Deadlines are counted in working days ([`WorkCalendar`]) from the moment the request is
//! sent; the calendar's per-year configuration is the `calendar` setting (JSON).
//!
//! Visibility follows the registry: a request is seen by whoever may read its agency (its own
//! officers, the managing agency above it, the Department); anything else is *not found*.

use std::collections::BTreeMap;

use kyso_domain::calendar::{CalendarConfig, WorkCalendar};
use kyso_domain::device::{transition, DeviceEvent, DeviceState};
use kyso_domain::lifecycle::{next_state, Handler, RequestAction, RequestKind, RequestState};
use kyso_domain::roles::{Permission, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::registry::{self, SubscriberInput};
use crate::{Actor, Error, Result, Store, WriteTx};

/// The setting holding the working-day calendar ([`CalendarConfig`] as JSON).
pub const CALENDAR_SETTING: &str = "calendar";
/// The setting holding who handles each request kind (JSON object: kind → handler), for
/// kinds that do not go to [`RequestKind::default_handler`].
pub const HANDLERS_SETTING: &str = "request_handlers";
/// Most items one request may list.
pub const MAX_ITEMS: usize = 200;

// ---------------------------------------------------------------------------------------------
// Input

/// A new request (or the new content of a draft).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// One of [`RequestKind`]'s stable names (`issue_individual`, `renew`, …). (Missing or
    /// unknown ones are refused by validation, naming the field, rather than by the parser.)
    #[serde(default)]
    pub kind: String,
    /// The requesting agency.
    #[serde(default)]
    pub agency_id: i64,
    /// The subject line; the form's title when empty.
    #[serde(default)]
    pub title: String,
    /// The contact person (for recovery: the person who assists the recovery).
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_title: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub contact_email: String,
    /// Why (required for revocation and device recovery).
    #[serde(default)]
    pub reason: String,
    /// The letter number (số văn bản), may be empty.
    #[serde(default)]
    pub number: String,
    /// The rows of the form's table; at least one.
    #[serde(default)]
    pub items: Vec<NewItem>,
}

/// One row of a request's table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// An existing subscriber (issuance for someone already registered; optional).
    #[serde(default)]
    pub subscriber_id: Option<i64>,
    /// The certificate concerned (renewal, change of information, revocation).
    #[serde(default)]
    pub certificate_id: Option<i64>,
    /// The key device concerned (recovery).
    #[serde(default)]
    pub device_id: Option<i64>,
    /// The form's fields for this row (see [`item_fields`]); for a change of information the
    /// new values.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// What accompanies an action.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    /// A note for the timeline.
    pub note: String,
    /// The reason (returning and refusing need one).
    pub reason: String,
    /// For completing an issuance or renewal: the certificates issued (PEM or DER bytes), one
    /// per item in item order. A change of information may give them too (new certificates
    /// replacing the old ones).
    pub certificates: Vec<Vec<u8>>,
}

/// A listing filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestQuery {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    /// Only this agency's subtree.
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub agency_id: Option<i64>,
    /// Only requests past their deadline.
    #[serde(default)]
    pub overdue: bool,
    /// Words of the title, the letter number or the contact's name.
    #[serde(default)]
    pub q: String,
}

/// The fields of an item's `data` for each kind: `(name, required)`.
pub fn item_fields(kind: RequestKind) -> &'static [(&'static str, bool)] {
    match kind {
        // Mẫu 01 columns.
        RequestKind::IssueIndividual => &[
            ("name", true),
            ("date_of_birth", false),
            ("id_number", true),
            ("id_issued_on", false),
            ("id_issued_by", false),
            ("email", true),
            ("unit", false),
            ("province", false),
            ("title", false),
            ("phone", false),
            ("old_serial", false),
            ("device_kind", false),
        ],
        // Mẫu 02 columns.
        RequestKind::IssueOrganization => &[
            ("name", true),
            ("address", false),
            ("tax_code", false),
            ("budget_code", false),
            ("province", false),
            ("email", true),
            ("phone", false),
            ("old_serial", false),
            ("device_kind", false),
        ],
        // Mẫu 03: the device, service or software and who answers for it.
        RequestKind::IssueDevice => &[
            ("name", true),
            ("description", false),
            ("address", false),
            ("email", true),
            ("phone", false),
            ("old_serial", false),
        ],
        // Mẫu 04 (change): the new values.
        RequestKind::ChangeInfo => &[
            ("name", false),
            ("date_of_birth", false),
            ("id_number", false),
            ("email", false),
            ("title", false),
            ("unit", false),
            ("phone", false),
            ("note", false),
        ],
        RequestKind::Renew | RequestKind::Revoke | RequestKind::RecoverDevice => &[("note", false)],
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// A request as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: i64,
    pub kind: RequestKind,
    /// The Decree 68 form number (`01`…`06`).
    pub form_number: &'static str,
    pub state: RequestState,
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
pub struct RequestEvent {
    pub id: i64,
    /// `create`, `update`, or a [`RequestAction`] name.
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
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: Request,
    pub items: Vec<RequestItem>,
    pub timeline: Vec<RequestEvent>,
    /// The actions the reading actor may take now.
    pub actions: Vec<RequestAction>,
}

const REQUEST_COLUMNS: &str = "r.id, r.kind, r.state, r.handler, r.agency_id, a.code, a.name, \
     a.path, r.title, r.contact_name, r.contact_title, r.contact_phone, r.contact_email, \
     r.reason, r.number, r.created_by, r.created_at, r.updated_at, r.submitted_at, r.sent_at, \
     r.deadline_at, r.completed_at, r.refusal_reason, r.letter_sha256";

fn corrupt(what: &str) -> Error {
    Error::Database(sqlx::Error::Protocol(format!("stored {what} is not valid")))
}

/// Stored seconds as Vietnam time (deadlines are the end of a day there).
fn ts(v: i64) -> OffsetDateTime {
    let t = OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.checked_to_offset(kyso_domain::calendar::VIETNAM)
        .unwrap_or(t)
}

fn request_from(row: &AnyRow, now: OffsetDateTime) -> Result<Request> {
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

// ---------------------------------------------------------------------------------------------
// Settings: calendar and handlers

/// The working-day calendar configuration stored in the `calendar` setting (empty: the
/// built-in Vietnamese calendar alone).
pub async fn calendar_config(store: &Store) -> Result<CalendarConfig> {
    match store.setting(CALENDAR_SETTING).await? {
        Some(v) => serde_json::from_str(&v).map_err(|_| corrupt("calendar setting")),
        None => Ok(CalendarConfig::default()),
    }
}

/// The calendar deadlines are counted with: the built-in one with the configured years.
pub async fn work_calendar(store: &Store) -> Result<WorkCalendar> {
    Ok(WorkCalendar::from_config(&calendar_config(store).await?))
}

fn department_admin(actor: &Actor) -> Result<()> {
    if actor.is_system() || actor.has_role(Role::DostAdmin) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Read the calendar configuration (Department administrators).
pub async fn get_calendar(store: &Store, actor: &Actor) -> Result<CalendarConfig> {
    department_admin(actor)?;
    calendar_config(store).await
}

/// Replace the calendar configuration (Department administrators). Every date listed under a
/// year must fall in that year.
pub async fn set_calendar(
    store: &Store,
    actor: &Actor,
    config: &CalendarConfig,
    now: OffsetDateTime,
) -> Result<CalendarConfig> {
    department_admin(actor)?;
    for (year, y) in &config.years {
        if !(2000..=2100).contains(year) {
            return Err(Error::invalid(
                "years",
                format!("Năm {year} nằm ngoài khoảng 2000–2100."),
                format!("The year {year} is outside 2000–2100."),
            ));
        }
        if let Some(d) = y
            .holidays
            .iter()
            .chain(y.working_days.iter())
            .find(|d| d.year() != *year)
        {
            return Err(Error::invalid(
                "years",
                format!("Ngày {d} không thuộc năm {year}."),
                format!("The date {d} is not in the year {year}."),
            ));
        }
    }
    let text = serde_json::to_string(config).map_err(|_| corrupt("calendar"))?;
    let mut tx = store.begin_write().await?;
    Store::set_setting(&mut tx, CALENDAR_SETTING, &text).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "calendar.update",
            object: "settings:calendar".into(),
            agency: None,
            detail: json!({"years": config.years.keys().collect::<Vec<_>>()}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(config.clone())
}

/// Who handles `kind`: the `request_handlers` setting, else [`RequestKind::default_handler`].
pub async fn handler_for(store: &Store, kind: RequestKind) -> Result<Handler> {
    let map: BTreeMap<RequestKind, Handler> = match store.setting(HANDLERS_SETTING).await? {
        Some(v) => serde_json::from_str(&v).map_err(|_| corrupt("request_handlers setting"))?,
        None => BTreeMap::new(),
    };
    Ok(map
        .get(&kind)
        .copied()
        .unwrap_or_else(|| kind.default_handler()))
}

/// Set who handles each request kind (Department administrators); kinds not listed go to
/// their default handler. Requests already created keep theirs.
pub async fn set_handlers(
    store: &Store,
    actor: &Actor,
    handlers: &BTreeMap<RequestKind, Handler>,
    now: OffsetDateTime,
) -> Result<()> {
    department_admin(actor)?;
    let text = serde_json::to_string(handlers).map_err(|_| corrupt("handlers"))?;
    let mut tx = store.begin_write().await?;
    Store::set_setting(&mut tx, HANDLERS_SETTING, &text).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "request_handlers.update",
            object: "settings:request_handlers".into(),
            agency: None,
            detail: json!(handlers),
        },
        now,
    )
    .await?;
    tx.commit().await
}

// ---------------------------------------------------------------------------------------------
// Validation

/// A validated request, ready to store.
struct Valid {
    kind: RequestKind,
    agency: registry::Agency,
    title: String,
    contact_name: String,
    contact_title: String,
    contact_phone: String,
    contact_email: String,
    reason: String,
    number: String,
    items: Vec<NewItem>,
}

fn parse_kind(v: &str) -> Result<RequestKind> {
    RequestKind::parse(v).map_err(|e| Error::Invalid {
        field: "kind",
        vi: format!(
            "{}; chọn một trong: {}.",
            e.message_vi(),
            RequestKind::ALL.map(RequestKind::as_str).join(", ")
        ),
        en: format!(
            "{}; use one of: {}.",
            e.message_en(),
            RequestKind::ALL.map(RequestKind::as_str).join(", ")
        ),
    })
}

fn phone(field: &'static str, v: &str) -> Result<String> {
    let v = registry::text(field, v, false)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '.' | '-'))
    {
        return Err(Error::invalid(
            field,
            "Số điện thoại chỉ gồm chữ số (có thể có dấu +).",
            "The phone number may hold only digits (and a leading +).",
        ));
    }
    Ok(v)
}

fn required(field: &'static str) -> Error {
    Error::invalid(
        field,
        format!(
            "Trường \"{}\" không được để trống.",
            registry::field_vi(field)
        ),
        format!("The field \"{field}\" is required."),
    )
}

/// The subscriber an issuance item describes.
fn subscriber_of(
    kind: RequestKind,
    agency_id: i64,
    data: &BTreeMap<String, String>,
) -> SubscriberInput {
    let get = |k: &str| data.get(k).cloned().unwrap_or_default();
    let sub_kind = match kind {
        RequestKind::IssueOrganization => "organization",
        RequestKind::IssueDevice => "device",
        _ => "individual",
    };
    SubscriberInput {
        kind: sub_kind.into(),
        agency_id,
        name: get("name"),
        date_of_birth: get("date_of_birth"),
        id_number: get("id_number"),
        email: get("email"),
        title: get("title"),
        unit: get("unit"),
        phone: get("phone"),
    }
}

/// The subscriber after a change of information: the current values with the new ones given.
fn changed(current: &registry::Subscriber, data: &BTreeMap<String, String>) -> SubscriberInput {
    let pick = |k: &str, old: &str| match data.get(k).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => old.to_owned(),
    };
    SubscriberInput {
        kind: current.kind.clone(),
        agency_id: current.agency_id,
        name: pick("name", &current.name),
        date_of_birth: pick("date_of_birth", &current.date_of_birth),
        id_number: pick("id_number", &current.id_number),
        email: pick("email", &current.email),
        title: pick("title", &current.title),
        unit: pick("unit", &current.unit),
        phone: pick("phone", &current.phone),
    }
}

/// The certificate's status, subscriber and agency path (no scope check).
async fn cert_facts(store: &Store, id: i64) -> Result<Option<(String, Option<i64>, String)>> {
    let row = sqlx::query(
        "SELECT c.status, c.subscriber_id, a.path FROM certificates c \
         JOIN agencies a ON a.id = c.agency_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}

async fn validate(
    store: &Store,
    actor: &Actor,
    input: &NewRequest,
    now: OffsetDateTime,
) -> Result<Valid> {
    let kind = parse_kind(&input.kind)?;
    let agency = registry::agency_field(
        store,
        actor,
        input.agency_id,
        Permission::DraftRequest,
        "agency_id",
    )
    .await?;
    let title = match registry::text("title", &input.title, false)? {
        t if t.is_empty() => kind.title_vi().to_owned(),
        t => t,
    };
    let contact_name = registry::text("contact_name", &input.contact_name, true)?;
    let contact_title = registry::text("contact_title", &input.contact_title, false)?;
    let contact_phone = phone("contact_phone", &input.contact_phone)?;
    let contact_email = registry::email("contact_email", &input.contact_email)?;
    let needs_reason = matches!(kind, RequestKind::Revoke | RequestKind::RecoverDevice);
    let reason = registry::text("reason", &input.reason, needs_reason)?;
    let number = registry::text("number", &input.number, false)?;
    if input.items.is_empty() {
        return Err(Error::invalid(
            "items",
            "Đề nghị phải có ít nhất một dòng (người, chứng thư hoặc thiết bị).",
            "A request needs at least one item (a person, certificate or device).",
        ));
    }
    if input.items.len() > MAX_ITEMS {
        return Err(Error::invalid(
            "items",
            format!("Một đề nghị có tối đa {MAX_ITEMS} dòng."),
            format!("A request may have at most {MAX_ITEMS} items."),
        ));
    }
    let fields = item_fields(kind);
    let mut items = Vec::with_capacity(input.items.len());
    for item in &input.items {
        let mut data = BTreeMap::new();
        for (k, v) in &item.data {
            let Some((field, _)) = fields.iter().find(|(f, _)| f == k) else {
                let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
                return Err(Error::invalid(
                    "data",
                    format!(
                        "Trường \"{k}\" không có trong mẫu {}; dùng: {}.",
                        kind.form_number(),
                        names.join(", ")
                    ),
                    format!(
                        "The field \"{k}\" is not on form {}; use: {}.",
                        kind.form_number(),
                        names.join(", ")
                    ),
                ));
            };
            let v = registry::text(field, v, false)?;
            if !v.is_empty() {
                data.insert(k.clone(), v);
            }
        }
        for (field, req) in fields {
            if *req && !data.contains_key(*field) {
                return Err(required(field));
            }
        }
        let mut out = NewItem {
            subscriber_id: None,
            certificate_id: None,
            device_id: None,
            data,
        };
        match kind {
            RequestKind::IssueIndividual
            | RequestKind::IssueOrganization
            | RequestKind::IssueDevice => {
                if item.certificate_id.is_some() || item.device_id.is_some() {
                    return Err(Error::invalid(
                        "certificate_id",
                        "Đề nghị cấp mới không gắn với chứng thư hay thiết bị có sẵn.",
                        "An issuance request names no existing certificate or device.",
                    ));
                }
                registry::validate_subscriber(&subscriber_of(kind, agency.id, &out.data), now)?;
                if let Some(sid) = item.subscriber_id {
                    let (_, sa) =
                        registry::subscriber_in_scope(store, actor, sid, Permission::ReadRegistry)
                            .await
                            .map_err(|_| {
                                Error::invalid(
                                    "subscriber_id",
                                    "Thuê bao không tồn tại hoặc ngoài phạm vi của bạn.",
                                    "The subscriber does not exist or is outside your agencies.",
                                )
                            })?;
                    if !sa.path.starts_with(&agency.path) {
                        return Err(Error::invalid(
                            "subscriber_id",
                            "Thuê bao không thuộc cơ quan đề nghị.",
                            "The subscriber does not belong to the requesting agency.",
                        ));
                    }
                    out.subscriber_id = Some(sid);
                }
            }
            RequestKind::Renew | RequestKind::ChangeInfo | RequestKind::Revoke => {
                let cid = item
                    .certificate_id
                    .ok_or_else(|| required("certificate_id"))?;
                let not_ours = || {
                    Error::invalid(
                        "certificate_id",
                        "Chứng thư số không tồn tại hoặc không thuộc cơ quan đề nghị.",
                        "The certificate does not exist or does not belong to the requesting agency.",
                    )
                };
                let (status, sid, path) = cert_facts(store, cid).await?.ok_or_else(not_ours)?;
                if !path.starts_with(&agency.path) || !actor.can(Permission::ReadRegistry, &path) {
                    return Err(not_ours());
                }
                if status != "active" {
                    return Err(Error::invalid(
                        "certificate_id",
                        "Chứng thư số này đã bị thu hồi hoặc đã được thay thế.",
                        "This certificate is already revoked or replaced.",
                    ));
                }
                out.certificate_id = Some(cid);
                out.subscriber_id = sid;
                if kind == RequestKind::ChangeInfo {
                    let sid = sid.ok_or_else(|| {
                        Error::invalid(
                            "certificate_id",
                            "Chứng thư số chưa gắn với thuê bao nào; không thể thay đổi thông tin.",
                            "The certificate has no subscriber; there is no information to change.",
                        )
                    })?;
                    if !out.data.keys().any(|k| k != "note") {
                        return Err(Error::invalid(
                            "data",
                            "Cần ghi ít nhất một thông tin mới.",
                            "Give at least one new value.",
                        ));
                    }
                    let current = registry::subscriber(store, &Actor::system(), sid).await?;
                    registry::validate_subscriber(&changed(&current, &out.data), now)?;
                }
            }
            RequestKind::RecoverDevice => {
                let did = item.device_id.ok_or_else(|| required("device_id"))?;
                let not_ours = || {
                    Error::invalid(
                        "device_id",
                        "Thiết bị không tồn tại hoặc không thuộc cơ quan đề nghị.",
                        "The device does not exist or does not belong to the requesting agency.",
                    )
                };
                let row = sqlx::query(
                    "SELECT d.state, a.path, d.holder_id, d.certificate_id FROM devices d \
                     JOIN agencies a ON a.id = d.agency_id WHERE d.id = $1",
                )
                .bind(did)
                .fetch_optional(store.pool())
                .await?
                .ok_or_else(not_ours)?;
                let state: String = row.try_get(0)?;
                let path: String = row.try_get(1)?;
                if !path.starts_with(&agency.path) || !actor.can(Permission::ReadRegistry, &path) {
                    return Err(not_ours());
                }
                if state != DeviceState::Locked.as_str() {
                    return Err(Error::invalid(
                        "device_id",
                        "Chỉ thiết bị đang bị khóa mới cần khôi phục.",
                        "Only a locked device needs recovery.",
                    ));
                }
                out.device_id = Some(did);
                out.subscriber_id = row.try_get(2)?;
                out.certificate_id = row.try_get(3)?;
            }
        }
        items.push(out);
    }
    Ok(Valid {
        kind,
        agency,
        title,
        contact_name,
        contact_title,
        contact_phone,
        contact_email,
        reason,
        number,
        items,
    })
}

async fn insert_items(tx: &mut WriteTx, request_id: i64, items: &[NewItem]) -> Result<()> {
    for item in items {
        let data = serde_json::to_string(&item.data).map_err(|_| corrupt("item"))?;
        sqlx::query(
            "INSERT INTO request_items (request_id, subscriber_id, certificate_id, device_id, \
             data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(request_id)
        .bind(item.subscriber_id)
        .bind(item.certificate_id)
        .bind(item.device_id)
        .bind(data)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut WriteTx,
    request_id: i64,
    action: &str,
    from: &str,
    to: &str,
    actor: &Actor,
    note: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO request_events (request_id, action, from_state, to_state, actor, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(request_id)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(&actor.username)
    .bind(note)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Drafting

/// Draft a request for an agency where the actor may draft requests. It starts in `Draft`.
pub async fn create_request(
    store: &Store,
    actor: &Actor,
    input: &NewRequest,
    now: OffsetDateTime,
) -> Result<RequestDetail> {
    let v = validate(store, actor, input, now).await?;
    let handler = handler_for(store, v.kind).await?;
    let mut tx = store.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO requests (kind, state, handler, agency_id, title, contact_name, \
         contact_title, contact_phone, contact_email, reason, number, created_by, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         RETURNING id",
    )
    .bind(v.kind.as_str())
    .bind(RequestState::Draft.as_str())
    .bind(handler.as_str())
    .bind(v.agency.id)
    .bind(&v.title)
    .bind(&v.contact_name)
    .bind(&v.contact_title)
    .bind(&v.contact_phone)
    .bind(&v.contact_email)
    .bind(&v.reason)
    .bind(&v.number)
    .bind(&actor.username)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    insert_items(&mut tx, id, &v.items).await?;
    insert_event(
        &mut tx,
        id,
        "create",
        "",
        RequestState::Draft.as_str(),
        actor,
        "",
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "request.create",
            object: format!("request:{id}"),
            agency: Some(v.agency.code.clone()),
            detail: json!({"kind": v.kind.as_str(), "handler": handler.as_str(),
                           "items": v.items.len()}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    get_request(store, actor, id, now).await
}

/// Replace a draft's content (same kind and agency). Only drafts can be edited.
pub async fn update_draft(
    store: &Store,
    actor: &Actor,
    id: i64,
    input: &NewRequest,
    now: OffsetDateTime,
) -> Result<RequestDetail> {
    let current = load(store, actor, id, now).await?;
    if !actor.can(Permission::DraftRequest, &current.agency_path) {
        return Err(Error::Forbidden);
    }
    if current.state != RequestState::Draft {
        return Err(Error::conflict(
            "state",
            "Chỉ sửa được đề nghị đang soạn.",
            "Only a draft can be edited.",
        ));
    }
    let v = validate(store, actor, input, now).await?;
    if v.kind != current.kind {
        return Err(Error::invalid(
            "kind",
            "Không đổi được loại của đề nghị đã lập; hãy lập đề nghị mới.",
            "The kind of a request cannot change; draft a new request.",
        ));
    }
    if v.agency.id != current.agency_id {
        return Err(Error::invalid(
            "agency_id",
            "Không đổi được cơ quan của đề nghị đã lập.",
            "The agency of a request cannot change.",
        ));
    }
    let mut tx = store.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE requests SET title = $1, contact_name = $2, contact_title = $3, \
         contact_phone = $4, contact_email = $5, reason = $6, number = $7, updated_at = $8 \
         WHERE id = $9 AND state = $10",
    )
    .bind(&v.title)
    .bind(&v.contact_name)
    .bind(&v.contact_title)
    .bind(&v.contact_phone)
    .bind(&v.contact_email)
    .bind(&v.reason)
    .bind(&v.number)
    .bind(now.unix_timestamp())
    .bind(id)
    .bind(RequestState::Draft.as_str())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(Error::conflict(
            "state",
            "Đề nghị vừa được người khác chuyển đi; tải lại trang.",
            "Someone else has just moved the request on; reload.",
        ));
    }
    sqlx::query("DELETE FROM request_items WHERE request_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    insert_items(&mut tx, id, &v.items).await?;
    let draft = RequestState::Draft.as_str();
    insert_event(&mut tx, id, "update", draft, draft, actor, "", now).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "request.update",
            object: format!("request:{id}"),
            agency: Some(v.agency.code.clone()),
            detail: json!({"items": v.items.len()}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    get_request(store, actor, id, now).await
}

// ---------------------------------------------------------------------------------------------
// Reading

/// The request's row, if the actor may read its agency (else *not found*).
async fn load(store: &Store, actor: &Actor, id: i64, now: OffsetDateTime) -> Result<Request> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r JOIN agencies a ON a.id = r.agency_id \
         WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound { what: "request" })?;
    let r = request_from(&row, now)?;
    if !actor.can(Permission::ReadRegistry, &r.agency_path) {
        return Err(Error::NotFound { what: "request" });
    }
    Ok(r)
}

/// The managing agency's path: the parent of the agency at `path` (`None` for a root).
fn parent_path(path: &str) -> Option<String> {
    let trimmed = path.strip_suffix('/')?;
    let cut = trimmed.rfind('/')?;
    let parent = trimmed.get(..=cut)?;
    (parent.len() > 1).then(|| parent.to_owned())
}

/// Whether `actor` may take `action` on `request` (whatever its state). Approving and
/// returning need the permission on the *managing* agency (the parent; a Department
/// administrator above reaches it too); a root agency's requests are approved by the
/// Department. Everything else needs the action's permission on the requesting agency.
pub fn may_act(actor: &Actor, request: &Request, action: RequestAction) -> bool {
    let p = action.required_permission();
    match action {
        RequestAction::Approve | RequestAction::Return => match parent_path(&request.agency_path) {
            Some(parent) => actor.can(p, &parent),
            None => actor.can(Permission::ProcessRequest, &request.agency_path),
        },
        _ => actor.can(p, &request.agency_path),
    }
}

/// A request with its items and timeline.
pub async fn get_request(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<RequestDetail> {
    let request = load(store, actor, id, now).await?;
    let rows = sqlx::query(
        "SELECT id, subscriber_id, certificate_id, device_id, data FROM request_items \
         WHERE request_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            let data: String = r.try_get(4)?;
            Ok(RequestItem {
                id: r.try_get(0)?,
                subscriber_id: r.try_get(1)?,
                certificate_id: r.try_get(2)?,
                device_id: r.try_get(3)?,
                data: serde_json::from_str(&data).map_err(|_| corrupt("item"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(
        "SELECT id, action, from_state, to_state, actor, note, at FROM request_events \
         WHERE request_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    let timeline = rows
        .iter()
        .map(|r| {
            Ok(RequestEvent {
                id: r.try_get(0)?,
                action: r.try_get(1)?,
                from_state: r.try_get(2)?,
                to_state: r.try_get(3)?,
                actor: r.try_get(4)?,
                note: r.try_get(5)?,
                at: ts(r.try_get(6)?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let actions = request
        .state
        .actions()
        .into_iter()
        .filter(|a| may_act(actor, &request, *a))
        .collect();
    Ok(RequestDetail {
        request,
        items,
        timeline,
        actions,
    })
}

/// Requests the actor may read, newest first.
pub async fn list_requests(
    store: &Store,
    actor: &Actor,
    q: &RequestQuery,
    now: OffsetDateTime,
) -> Result<Vec<Request>> {
    let state = match q.state.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(s) => RequestState::parse(s)
            .map_err(|e| Error::Invalid {
                field: "state",
                vi: e.message_vi(),
                en: e.message_en(),
            })?
            .as_str()
            .to_owned(),
    };
    let kind = match q.kind.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(k) => parse_kind(k)?.as_str().to_owned(),
    };
    let under = match q.agency_id {
        Some(id) => {
            registry::agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 7);
    let words = q.q.trim().to_lowercase();
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r JOIN agencies a ON a.id = r.agency_id \
         WHERE {scope} AND a.path LIKE $1 AND ($2 = '' OR r.state = $2) \
         AND ($3 = '' OR r.kind = $3) \
         AND ($4 = 0 OR (r.state IN ('sent', 'processing') AND r.deadline_at < $5)) \
         AND ($6 = '' OR lower(r.title) LIKE $6 OR lower(r.number) LIKE $6 \
              OR lower(r.contact_name) LIKE $6) \
         ORDER BY r.id DESC LIMIT {}",
        registry::MAX_PAGE
    );
    let mut query = sqlx::query(&sql)
        .bind(format!("{under}%"))
        .bind(state)
        .bind(kind)
        .bind(i64::from(q.overdue))
        .bind(now.unix_timestamp())
        .bind(if words.is_empty() {
            String::new()
        } else {
            format!("%{words}%")
        });
    for p in &params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    rows.iter().map(|r| request_from(r, now)).collect()
}

// ---------------------------------------------------------------------------------------------
// Acting

/// A certificate given at completion, checked before anything is written.
fn completion_certificate(bytes: &[u8], now: OffsetDateTime) -> Result<kyso_x509::Cert> {
    let cert = registry::parse_certificate(bytes).map_err(|e| match e {
        Error::Invalid { vi, en, .. } => Error::Invalid {
            field: "certificates",
            vi,
            en,
        },
        e => e,
    })?;
    if cert.not_after() <= cert.not_before() {
        return Err(Error::invalid(
            "certificates",
            format!(
                "Chứng thư số {} có ngày hết hạn không sau ngày bắt đầu hiệu lực.",
                cert.serial_hex()
            ),
            format!(
                "Certificate {}'s validity ends before it starts.",
                cert.serial_hex()
            ),
        ));
    }
    if cert.not_after() <= now {
        return Err(Error::invalid(
            "certificates",
            format!("Chứng thư số {} đã hết hạn.", cert.serial_hex()),
            format!("Certificate {} has already expired.", cert.serial_hex()),
        ));
    }
    Ok(cert)
}

/// Take `action` on request `id`. See the module documentation for who may do what and what
/// completing changes in the registry.
pub async fn act(
    store: &Store,
    actor: &Actor,
    id: i64,
    action: RequestAction,
    input: &ActInput,
    now: OffsetDateTime,
) -> Result<RequestDetail> {
    let detail = get_request(store, actor, id, now).await?;
    let r = &detail.request;
    if !may_act(actor, r, action) {
        return Err(Error::Forbidden);
    }
    let to = next_state(r.state, action).map_err(|e| Error::Conflict {
        field: "action",
        vi: e.message_vi(),
        en: e.message_en(),
    })?;
    let note = registry::text("note", &input.note, false)?;
    let reason = registry::text("reason", &input.reason, action.needs_reason())?;
    let certs: Vec<kyso_x509::Cert> = if action == RequestAction::Complete {
        input
            .certificates
            .iter()
            .map(|b| completion_certificate(b, now))
            .collect::<Result<_>>()?
    } else if input.certificates.is_empty() {
        Vec::new()
    } else {
        return Err(Error::invalid(
            "certificates",
            "Chỉ gửi chứng thư số khi hoàn thành đề nghị.",
            "Certificates are given only when completing a request.",
        ));
    };
    if action == RequestAction::Complete {
        let wanted = match r.kind {
            RequestKind::IssueIndividual
            | RequestKind::IssueOrganization
            | RequestKind::IssueDevice
            | RequestKind::Renew => Some(detail.items.len()),
            RequestKind::ChangeInfo if !certs.is_empty() => Some(detail.items.len()),
            RequestKind::ChangeInfo | RequestKind::Revoke | RequestKind::RecoverDevice => Some(0),
        };
        if wanted != Some(certs.len()) {
            let n = wanted.unwrap_or(0);
            return Err(Error::invalid(
                "certificates",
                format!(
                    "Cần đúng {n} chứng thư số (một cho mỗi dòng của đề nghị), đã nhận {}.",
                    certs.len()
                ),
                format!(
                    "Exactly {n} certificate(s) are needed (one per item), got {}.",
                    certs.len()
                ),
            ));
        }
    }
    let nowu = now.unix_timestamp();
    let deadline = if action == RequestAction::Send {
        let cal = work_calendar(store).await?;
        Some(
            cal.add_working_days(now, r.kind.default_deadline_working_days())
                .unix_timestamp(),
        )
    } else {
        None
    };
    let mut tx = store.begin_write().await?;
    let from = r.state.as_str();
    let mut sql = String::from("UPDATE requests SET state = $1, updated_at = $2");
    match action {
        RequestAction::Submit => sql.push_str(", submitted_at = $2"),
        RequestAction::Send => sql.push_str(", sent_at = $2, deadline_at = $5"),
        RequestAction::Complete => sql.push_str(", completed_at = $2"),
        RequestAction::Refuse => sql.push_str(", completed_at = $2, refusal_reason = $5"),
        _ => {}
    }
    sql.push_str(" WHERE id = $3 AND state = $4");
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(nowu)
        .bind(id)
        .bind(from);
    if action == RequestAction::Send {
        query = query.bind(deadline);
    }
    if action == RequestAction::Refuse {
        query = query.bind(&reason);
    }
    let changed = query.execute(tx.conn()).await?.rows_affected();
    if changed != 1 {
        return Err(Error::conflict(
            "state",
            "Đề nghị vừa được người khác chuyển đi; tải lại trang.",
            "Someone else has just moved the request on; reload.",
        ));
    }
    let mut registry_changes = Vec::new();
    if action == RequestAction::Complete {
        registry_changes = complete(&mut tx, actor, &detail, &certs, now).await?;
    }
    let text = match (note.is_empty(), reason.is_empty()) {
        (_, true) => note.clone(),
        (true, false) => reason.clone(),
        (false, false) => format!("{reason} — {note}"),
    };
    insert_event(
        &mut tx,
        id,
        action.as_str(),
        from,
        to.as_str(),
        actor,
        &text,
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: &format!("request.{}", action.as_str()),
            object: format!("request:{id}"),
            agency: Some(r.agency_code.clone()),
            detail: json!({"kind": r.kind.as_str(), "from": from, "to": to.as_str(),
                           "reason": reason, "note": note, "deadline_at": deadline,
                           "registry": registry_changes}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    get_request(store, actor, id, now).await
}

/// Apply a completed request to the registry inside `tx`; returns what changed (for the audit
/// entry).
async fn complete(
    tx: &mut WriteTx,
    actor: &Actor,
    detail: &RequestDetail,
    certs: &[kyso_x509::Cert],
    now: OffsetDateTime,
) -> Result<Vec<serde_json::Value>> {
    let r = &detail.request;
    let nowu = now.unix_timestamp();
    let mut changes = Vec::new();
    for (i, item) in detail.items.iter().enumerate() {
        let cert = certs.get(i);
        match r.kind {
            RequestKind::IssueIndividual
            | RequestKind::IssueOrganization
            | RequestKind::IssueDevice => {
                let cert = cert.ok_or_else(|| required("certificates"))?;
                let sid = match item.subscriber_id {
                    Some(sid) => sid,
                    None => {
                        let v = registry::validate_subscriber(
                            &subscriber_of(r.kind, r.agency_id, &item.data),
                            now,
                        )?;
                        let sid = registry::insert_subscriber(tx, &v, now).await?;
                        changes.push(json!({"subscriber_created": sid}));
                        sid
                    }
                };
                let cid =
                    registry::insert_certificate(tx, cert, r.agency_id, Some(sid), now).await?;
                let mut data = item.data.clone();
                data.insert("issued_certificate_id".into(), cid.to_string());
                update_item(tx, item.id, Some(sid), Some(cid), &data).await?;
                changes.push(json!({"certificate_imported": cid, "serial": cert.serial_hex()}));
            }
            RequestKind::Renew | RequestKind::ChangeInfo => {
                if r.kind == RequestKind::ChangeInfo {
                    let sid = item
                        .subscriber_id
                        .ok_or_else(|| required("subscriber_id"))?;
                    // Read inside the transaction, so the change applies to what is locked.
                    let v = changed_in_tx(tx, sid, &item.data, now).await?;
                    sqlx::query(
                        "UPDATE subscribers SET name = $1, name_fold = $2, date_of_birth = $3, \
                         id_number = $4, email = $5, title = $6, unit = $7, phone = $8, \
                         updated_at = $9 WHERE id = $10",
                    )
                    .bind(&v.name)
                    .bind(kyso_domain::text::fold(&v.name))
                    .bind(&v.date_of_birth)
                    .bind(&v.id_number)
                    .bind(&v.email)
                    .bind(&v.title)
                    .bind(&v.unit)
                    .bind(&v.phone)
                    .bind(nowu)
                    .bind(sid)
                    .execute(tx.conn())
                    .await?;
                    crate::words::index_subscriber(tx.conn(), sid).await?;
                    changes.push(json!({"subscriber_updated": sid}));
                }
                if let Some(cert) = cert {
                    let old = item
                        .certificate_id
                        .ok_or_else(|| required("certificate_id"))?;
                    let row = sqlx::query(
                        "SELECT agency_id, subscriber_id, status FROM certificates WHERE id = $1",
                    )
                    .bind(old)
                    .fetch_one(tx.conn())
                    .await?;
                    let status: String = row.try_get(2)?;
                    if status != "active" {
                        return Err(Error::conflict(
                            "certificate_id",
                            "Chứng thư số cũ đã bị thu hồi hoặc thay thế.",
                            "The old certificate is already revoked or replaced.",
                        ));
                    }
                    let cid = registry::insert_certificate(
                        tx,
                        cert,
                        row.try_get(0)?,
                        row.try_get(1)?,
                        now,
                    )
                    .await?;
                    sqlx::query(
                        "UPDATE certificates SET status = 'superseded', replaced_by = $1 \
                         WHERE id = $2",
                    )
                    .bind(cid)
                    .bind(old)
                    .execute(tx.conn())
                    .await?;
                    sqlx::query("UPDATE devices SET certificate_id = $1 WHERE certificate_id = $2")
                        .bind(cid)
                        .bind(old)
                        .execute(tx.conn())
                        .await?;
                    let mut data = item.data.clone();
                    data.insert("issued_certificate_id".into(), cid.to_string());
                    update_item(tx, item.id, item.subscriber_id, Some(old), &data).await?;
                    changes.push(json!({"certificate_imported": cid, "superseded": old,
                                        "serial": cert.serial_hex()}));
                }
            }
            RequestKind::Revoke => {
                let cid = item
                    .certificate_id
                    .ok_or_else(|| required("certificate_id"))?;
                let done = sqlx::query(
                    "UPDATE certificates SET status = 'revoked', revoked_at = $1, \
                     revocation_reason = $2 WHERE id = $3 AND status <> 'revoked'",
                )
                .bind(nowu)
                .bind(&r.reason)
                .bind(cid)
                .execute(tx.conn())
                .await?
                .rows_affected();
                if done != 1 {
                    return Err(Error::conflict(
                        "certificate_id",
                        "Chứng thư số này đã được ghi nhận thu hồi.",
                        "This certificate is already recorded as revoked.",
                    ));
                }
                changes.push(json!({"certificate_revoked": cid}));
            }
            RequestKind::RecoverDevice => {
                let did = item.device_id.ok_or_else(|| required("device_id"))?;
                let row = sqlx::query("SELECT state, holder_id FROM devices WHERE id = $1")
                    .bind(did)
                    .fetch_one(tx.conn())
                    .await?;
                let state: String = row.try_get(0)?;
                let holder: Option<i64> = row.try_get(1)?;
                let from = DeviceState::parse(&state).map_err(|_| corrupt("device state"))?;
                let to = transition(from, DeviceEvent::Recover).map_err(|e| Error::Conflict {
                    field: "device_id",
                    vi: e.message_vi(),
                    en: e.message_en(),
                })?;
                sqlx::query("UPDATE devices SET state = $1, updated_at = $2 WHERE id = $3")
                    .bind(to.as_str())
                    .bind(nowu)
                    .bind(did)
                    .execute(tx.conn())
                    .await?;
                let record_kind = DeviceEvent::Recover
                    .record_kind()
                    .map(|k| k.as_str())
                    .unwrap_or("");
                sqlx::query(
                    "INSERT INTO device_events (device_id, event, from_state, to_state, \
                     record_kind, holder_id, counterpart, note, actor, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(did)
                .bind(DeviceEvent::Recover.as_str())
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(record_kind)
                .bind(holder)
                .bind(&r.contact_name)
                .bind(format!("Đề nghị #{}", r.id))
                .bind(&actor.username)
                .bind(nowu)
                .execute(tx.conn())
                .await?;
                changes.push(json!({"device_recovered": did}));
            }
        }
    }
    Ok(changes)
}

/// The subscriber `sid` with the new values of a change of information, validated.
async fn changed_in_tx(
    tx: &mut WriteTx,
    sid: i64,
    data: &BTreeMap<String, String>,
    now: OffsetDateTime,
) -> Result<SubscriberInput> {
    let row = sqlx::query(
        "SELECT kind, agency_id, name, date_of_birth, id_number, email, title, unit, phone \
         FROM subscribers WHERE id = $1",
    )
    .bind(sid)
    .fetch_one(tx.conn())
    .await?;
    let current = registry::Subscriber {
        id: sid,
        kind: row.try_get(0)?,
        agency_id: row.try_get(1)?,
        agency_name: String::new(),
        name: row.try_get(2)?,
        date_of_birth: row.try_get(3)?,
        id_number: row.try_get(4)?,
        email: row.try_get(5)?,
        title: row.try_get(6)?,
        unit: row.try_get(7)?,
        phone: row.try_get(8)?,
    };
    registry::validate_subscriber(&changed(&current, data), now)
}

async fn update_item(
    tx: &mut WriteTx,
    item_id: i64,
    subscriber_id: Option<i64>,
    certificate_id: Option<i64>,
    data: &BTreeMap<String, String>,
) -> Result<()> {
    let data = serde_json::to_string(data).map_err(|_| corrupt("item"))?;
    sqlx::query(
        "UPDATE request_items SET subscriber_id = $1, certificate_id = $2, data = $3 \
         WHERE id = $4",
    )
    .bind(subscriber_id)
    .bind(certificate_id)
    .bind(data)
    .bind(item_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Record the request's letter (the blob name of its PDF) once it has been made at sending:
/// a timeline entry says whether the server signed it, and the audit log keeps its hash.
pub async fn set_letter(
    store: &Store,
    actor: &Actor,
    id: i64,
    sha256: &str,
    signed: bool,
    now: OffsetDateTime,
) -> Result<()> {
    let request = load(store, actor, id, now).await?;
    let state = request.state.as_str();
    let mut tx = store.begin_write().await?;
    sqlx::query("UPDATE requests SET letter_sha256 = $1, updated_at = $2 WHERE id = $3")
        .bind(sha256)
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(tx.conn())
        .await?;
    let note = if signed {
        "Văn bản đề nghị đã được lập và ký số bằng chứng thư của cơ quan"
    } else {
        "Văn bản đề nghị đã được lập (chưa ký số: máy chủ không giữ khóa tổ chức của cơ quan)"
    };
    insert_event(&mut tx, id, "letter", state, state, actor, note, now).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "request.letter",
            object: format!("request:{id}"),
            agency: Some(request.agency_code.clone()),
            detail: json!({"sha256": sha256, "signed": signed}),
        },
        now,
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_managing_agency_is_the_parent_and_a_root_has_none() {
        assert_eq!(parent_path("/1/5/9/").as_deref(), Some("/1/5/"));
        assert_eq!(parent_path("/1/5/").as_deref(), Some("/1/"));
        assert_eq!(parent_path("/1/"), None);
        assert_eq!(parent_path(""), None);
    }

    #[test]
    fn only_sent_or_processing_requests_past_their_deadline_are_overdue() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        assert!(is_overdue(RequestState::Sent, Some(999), now));
        assert!(is_overdue(RequestState::Processing, Some(999), now));
        assert!(!is_overdue(RequestState::Sent, Some(1_000), now));
        assert!(!is_overdue(RequestState::Done, Some(1), now));
        assert!(!is_overdue(RequestState::Approved, None, now));
    }

    #[test]
    fn every_form_names_its_required_fields() {
        for kind in RequestKind::ALL {
            let fields = item_fields(kind);
            assert!(!fields.is_empty(), "{kind}");
            let issuance = matches!(
                kind,
                RequestKind::IssueIndividual
                    | RequestKind::IssueOrganization
                    | RequestKind::IssueDevice
            );
            assert_eq!(fields.contains(&("name", true)), issuance, "{kind}");
        }
    }
}
