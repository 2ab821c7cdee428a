//! Checking a request's items against the registry.

use sqlx::Row as _;

use super::*;

/// A validated request, ready to store.
pub(super) struct Valid {
    pub(super) kind: RequestKind,
    pub(super) agency: registry::Agency,
    pub(super) title: String,
    pub(super) contact_name: String,
    pub(super) contact_title: String,
    pub(super) contact_phone: String,
    pub(super) contact_email: String,
    pub(super) reason: String,
    pub(super) number: String,
    pub(super) items: Vec<NewItem>,
}

pub(super) fn parse_kind(v: &str) -> Result<RequestKind> {
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

pub(super) fn phone(field: &'static str, v: &str) -> Result<String> {
    Ok(kyso_domain::fields::phone(field, v)?)
}

pub(super) fn required(field: &'static str) -> Error {
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
pub(super) fn subscriber_of(
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
pub(super) fn changed(
    current: &registry::Subscriber,
    data: &BTreeMap<String, String>,
) -> SubscriberInput {
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
pub(super) async fn cert_facts(
    store: &Store,
    id: i64,
) -> Result<Option<(String, Option<i64>, String)>> {
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

pub(super) async fn validate(
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

pub(super) async fn insert_items(
    tx: &mut WriteTx,
    request_id: i64,
    items: &[NewItem],
) -> Result<()> {
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
pub(super) async fn insert_event(
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
