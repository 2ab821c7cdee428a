//! Acting on a request: the state machine's steps and completing in the registry.

use sqlx::Row as _;

use super::*;

/// A certificate given at completion and the others of its file (its chain), read before
/// anything is written; it must still be valid. [`registry::check_certificate`] follows once
/// the request's items are known.
pub(super) fn completion_certificate(
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<(kyso_x509::Cert, Vec<kyso_x509::Cert>)> {
    let (cert, pool) = registry::parse_upload(bytes).map_err(|e| match e {
        Error::Invalid { vi, en, .. } => Error::Invalid {
            field: "certificates",
            vi,
            en,
        },
        e => e,
    })?;
    if cert.not_after() <= now && cert.not_before() < cert.not_after() {
        return Err(Error::invalid(
            "certificates",
            format!("Chứng thư số {} đã hết hạn.", cert.serial_hex()),
            format!("Certificate {} has already expired.", cert.serial_hex()),
        ));
    }
    Ok((cert, pool))
}

/// The refusal of a request sent by hand: it is sent when its letter document is dispatched.
fn send_by_letter() -> Error {
    Error::conflict(
        "action",
        "Đề nghị được gửi đi khi công văn đề nghị của cơ quan được phát hành; hãy lập công văn từ \
         trang đề nghị và chuyển qua các bước ký số, cấp số, phát hành.",
        "A request is sent when the agency's request letter is dispatched; make the letter from \
         the request's page and take it through signing, numbering and dispatch.",
    )
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
    if action == RequestAction::Send {
        return Err(send_by_letter());
    }
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
    let files: Vec<(kyso_x509::Cert, Vec<kyso_x509::Cert>)> = if action == RequestAction::Complete {
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
    let certs: Vec<kyso_x509::Cert> = files.iter().map(|(c, _)| c.clone()).collect();
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
        // Each certificate as any other the registry records; a renewal adds at most three
        // years to the end of the certificate it renews.
        for (item, (cert, pool)) in detail.items.iter().zip(&files) {
            let renews = match (r.kind, item.certificate_id) {
                (RequestKind::Renew, Some(old)) => {
                    Some(registry::certificate_end(store, old).await?)
                }
                _ => None,
            };
            registry::check_certificate(store, "certificates", cert, pool, renews, now)?;
        }
    }
    let nowu = now.unix_timestamp();
    let (permission, path) = acting_on(r, action);
    let mut tx = store
        .begin_write(actor, On::Agency(permission, &path))
        .await?;
    let from = r.state.as_str();
    let mut sql = String::from("UPDATE requests SET state = $1, updated_at = $2");
    match action {
        RequestAction::Submit => sql.push_str(", submitted_at = $2"),
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
    crate::notices::request_notices(&mut tx, r, action, actor.user_id, &reason, now).await?;
    tx.commit_audited(
        Event {
            action: &format!("request.{}", action.as_str()),
            object: format!("request:{id}"),
            agency: Some(r.agency_code.clone()),
            detail: json!({"kind": r.kind.as_str(), "from": from, "to": to.as_str(),
                           "reason": reason, "note": note,
                           "registry": registry_changes}),
        },
        now,
    )
    .await?;
    get_request(store, actor, id, now).await
}

/// Apply a completed request to the registry inside `tx`; returns what changed (for the audit
/// entry).
pub(super) async fn complete(
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
                         updated_at = $9, name_sort = $11 WHERE id = $10",
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
                    .bind(registry::name_sort(&v.kind, &v.name))
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
pub(super) async fn changed_in_tx(
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
        active: true,
        deactivation_reason: String::new(),
    };
    registry::validate_subscriber(&changed(&current, data), now)
}

pub(super) async fn update_item(
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
