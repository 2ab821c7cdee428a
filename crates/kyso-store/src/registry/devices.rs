//! Key devices (USB tokens, HSMs) and their life cycle.

use sqlx::Row as _;

use super::*;

/// A key device (USB token, SIM, HSM partition, remote-signing account, soft key).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::device_kind))]
    pub kind: String,
    pub serial: String,
    pub model: String,
    pub agency_id: i64,
    pub holder_id: Option<i64>,
    pub holder_name: Option<String>,
    pub certificate_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::device_state))]
    pub state: String,
}

/// A new device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"kind": "token", "serial": "VD-0001", "model": "ePass", "agency_id": 1})))]
pub struct DeviceInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::device_kind))]
    pub kind: String,
    pub serial: String,
    #[serde(default)]
    pub model: String,
    pub agency_id: i64,
    /// Where the device is now; default: received at the managing agency.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::device_state))]
    pub state: Option<String>,
    #[serde(default)]
    pub certificate_id: Option<i64>,
}

/// A device's history entry (handover, return, loss, recovery records).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceRecord {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::device_event))]
    pub event: String,
    pub from_state: String,
    pub to_state: String,
    pub record_kind: String,
    pub holder_id: Option<i64>,
    pub counterpart: String,
    pub note: String,
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A state change asked for a device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"event": "lock", "note": "Khóa do thất lạc"})))]
pub struct DeviceEventInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::device_event))]
    pub event: String,
    /// The new holder (assign, handover).
    #[serde(default)]
    pub holder_id: Option<i64>,
    /// The other party of the record (who handed over or received).
    #[serde(default)]
    pub counterpart: String,
    #[serde(default)]
    pub note: String,
}

pub(super) const DEVICE_COLUMNS: &str =
    "d.id, d.kind, d.serial, d.model, d.agency_id, d.holder_id, s.name, \
     d.certificate_id, d.state";

pub(super) fn device_from(row: &AnyRow) -> Result<Device> {
    Ok(Device {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        serial: row.try_get(2)?,
        model: row.try_get(3)?,
        agency_id: row.try_get(4)?,
        holder_id: row.try_get(5)?,
        holder_name: row.try_get(6)?,
        certificate_id: row.try_get(7)?,
        state: row.try_get(8)?,
    })
}

pub(super) fn parse_enum<T: std::str::FromStr>(
    field: &'static str,
    v: &str,
    all: &[&str],
) -> Result<T> {
    v.parse::<T>().map_err(|_| {
        Error::invalid(
            field,
            format!("\"{v}\" không hợp lệ; chọn một trong: {}.", all.join(", ")),
            format!("\"{v}\" is not valid; use one of: {}.", all.join(", ")),
        )
    })
}

/// Register a device at an agency.
pub async fn create_device(
    store: &Store,
    actor: &Actor,
    input: &DeviceInput,
    now: OffsetDateTime,
) -> Result<Device> {
    let kinds: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind: DeviceKind = parse_enum("kind", &input.kind, &kinds)?;
    let states: Vec<&str> = DeviceState::ALL.iter().map(|k| k.as_str()).collect();
    let state: DeviceState = match &input.state {
        Some(s) => parse_enum("state", s, &states)?,
        None => DeviceState::AtManagingAgency,
    };
    let serial = text("serial", &input.serial, true)?;
    if serial.len() > 64
        || !serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::invalid(
            "serial",
            "Số hiệu thiết bị chỉ gồm chữ, số và dấu gạch ngang (tối đa 64 ký tự).",
            "The device serial may hold only letters, digits and '-' (64 at most).",
        ));
    }
    let model = text("model", &input.model, false)?;
    let ag = agency_field(
        store,
        actor,
        input.agency_id,
        Permission::WriteRegistry,
        "agency_id",
    )
    .await?;
    if let Some(cid) = input.certificate_id {
        certificate(store, actor, cid).await?;
    }
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &ag.path),
        )
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO devices (kind, serial, model, agency_id, certificate_id, state, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(&serial)
    .bind(&model)
    .bind(ag.id)
    .bind(input.certificate_id)
    .bind(state.as_str())
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(unique(
        "serial",
        &format!("Thiết bị có số hiệu {serial} đã có trong danh mục."),
        &format!("A device with serial {serial} is already registered."),
    ))?;
    tx.commit_audited(
        Event {
            action: "device.create",
            object: format!("device:{id}"),
            agency: Some(ag.code),
            detail: json!({"serial": serial, "kind": kind.as_str(), "state": state.as_str()}),
        },
        now,
    )
    .await?;
    device(store, actor, id).await
}

/// A device by id.
pub async fn device(store: &Store, actor: &Actor, id: i64) -> Result<Device> {
    let (d, _, _) = device_in_scope(store, actor, id, Permission::ReadRegistry).await?;
    Ok(d)
}

pub(crate) async fn device_in_scope(
    store: &Store,
    actor: &Actor,
    id: i64,
    p: Permission,
) -> Result<(Device, String, String)> {
    let row = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS}, a.path, a.code FROM devices d JOIN agencies a ON a.id = d.agency_id \
         LEFT JOIN subscribers s ON s.id = d.holder_id WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound { what: crate::Record::Device })?;
    let path: String = row.try_get(9)?;
    actor.reach(p, &path, crate::Record::Device)?;
    Ok((device_from(&row)?, path, row.try_get(10)?))
}

/// The devices holding certificate `id` that the actor may read.
pub async fn devices_of_certificate(
    store: &Store,
    actor: &Actor,
    certificate_id: i64,
) -> Result<Vec<Device>> {
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 2);
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d JOIN agencies a ON a.id = d.agency_id \
         LEFT JOIN subscribers s ON s.id = d.holder_id WHERE {scope} AND d.certificate_id = $1 \
         ORDER BY d.serial LIMIT {MAX_PAGE}"
    );
    let mut query = sqlx::query(&sql).bind(certificate_id);
    for p in &params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    rows.iter().map(device_from).collect()
}

/// Devices inside the actor's subtrees.
pub async fn devices(
    store: &Store,
    actor: &Actor,
    q: &str,
    state: Option<&str>,
    agency_id: Option<i64>,
) -> Result<Vec<Device>> {
    devices_upto(store, actor, q, state, agency_id, MAX_PAGE).await
}

/// [`devices`] with at most `limit` rows (an export takes more than a page).
pub async fn devices_upto(
    store: &Store,
    actor: &Actor,
    q: &str,
    state: Option<&str>,
    agency_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Device>> {
    let state = state.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = state {
        let states: Vec<&str> = DeviceState::ALL.iter().map(|k| k.as_str()).collect();
        parse_enum::<DeviceState>("state", s, &states)?;
    }
    let under = match agency_id {
        Some(id) => {
            agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 4);
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d JOIN agencies a ON a.id = d.agency_id \
         LEFT JOIN subscribers s ON s.id = d.holder_id WHERE {scope} AND a.path LIKE $1 \
         AND ($2 = '' OR d.state = $2) AND (d.serial LIKE $3 OR s.name_fold LIKE $3) \
         ORDER BY d.serial LIMIT {limit}"
    );
    let mut query = sqlx::query(&sql)
        .bind(format!("{under}%"))
        .bind(state.unwrap_or("").to_owned())
        .bind(format!("%{}%", fold(q)));
    for p in &params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    rows.iter().map(device_from).collect()
}

/// Move a device through its states (Dogtag-style allowed transitions), writing the record the
/// transition produces (handover to subscriber — Mẫu 07, return — Mẫu 08, loss — Mẫu 09,
/// recovery — Mẫu 06).
pub async fn device_event(
    store: &Store,
    actor: &Actor,
    id: i64,
    input: &DeviceEventInput,
    now: OffsetDateTime,
) -> Result<Device> {
    let (d, agency_path, agency_code) =
        device_in_scope(store, actor, id, Permission::WriteRegistry).await?;
    let events: Vec<&str> = DeviceEvent::ALL.iter().map(|k| k.as_str()).collect();
    let event: DeviceEvent = parse_enum("event", &input.event, &events)?;
    let from: DeviceState = parse_enum("state", &d.state, &[])?;
    let to = transition(from, event).map_err(|e| Error::Invalid {
        field: "event",
        vi: e.message_vi(),
        en: e.message_en(),
    })?;
    let holder = match event {
        DeviceEvent::Assign | DeviceEvent::Handover => {
            let hid = input.holder_id.ok_or_else(|| {
                Error::invalid(
                    "holder_id",
                    "Cần chọn người nhận thiết bị.",
                    "Choose who receives the device.",
                )
            })?;
            subscriber_in_scope(store, actor, hid, Permission::ReadRegistry)
                .await
                .map_err(|_| {
                    Error::invalid(
                        "holder_id",
                        "Người nhận không tồn tại hoặc ngoài phạm vi của bạn.",
                        "The receiver does not exist or is outside your agencies.",
                    )
                })?;
            Some(hid)
        }
        DeviceEvent::Return => None,
        _ => d.holder_id,
    };
    let counterpart = text("counterpart", &input.counterpart, false)?;
    let note = text("note", &input.note, false)?;
    let record_kind = event.record_kind().map(|r| r.as_str()).unwrap_or("");
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &agency_path),
        )
        .await?;
    sqlx::query("UPDATE devices SET state = $1, holder_id = $2, updated_at = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(holder)
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO device_events (device_id, event, from_state, to_state, record_kind, \
         holder_id, counterpart, note, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(event.as_str())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(record_kind)
    .bind(holder)
    .bind(&counterpart)
    .bind(&note)
    .bind(&actor.username)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "device.event",
            object: format!("device:{id}"),
            agency: Some(agency_code),
            detail: json!({"event": event.as_str(), "from": from.as_str(), "to": to.as_str(),
                           "holder_id": holder}),
        },
        now,
    )
    .await?;
    device(store, actor, id).await
}

/// A device's records, oldest first.
pub async fn device_history(store: &Store, actor: &Actor, id: i64) -> Result<Vec<DeviceRecord>> {
    device(store, actor, id).await?;
    let rows = sqlx::query(
        "SELECT id, event, from_state, to_state, record_kind, holder_id, counterpart, note, actor, \
         at FROM device_events WHERE device_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeviceRecord {
                id: r.try_get(0)?,
                event: r.try_get(1)?,
                from_state: r.try_get(2)?,
                to_state: r.try_get(3)?,
                record_kind: r.try_get(4)?,
                holder_id: r.try_get(5)?,
                counterpart: r.try_get(6)?,
                note: r.try_get(7)?,
                actor: r.try_get(8)?,
                at: OffsetDateTime::from_unix_timestamp(r.try_get(9)?)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            })
        })
        .collect()
}
