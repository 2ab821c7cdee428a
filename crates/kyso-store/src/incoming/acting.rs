//! The clerk's decision (register with the arrival number, refuse with the reason to the
//! sender), the handling (assign, start, complete) and the sender's recall; the registers.

use super::*;

/// What comes with a step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IncomingStep {
    /// Why: a refusal, the registration of an indeterminate document; a note otherwise.
    pub reason: String,
    /// For `register`: the register (default: the agency's first incoming register, opened as
    /// "Sổ văn bản đến" on the first registration when it has none).
    pub register_id: Option<i64>,
    /// For `assign`: the lead unit (the receiving agency or one below it).
    pub lead_unit_id: Option<i64>,
    /// For `assign`: the coordinating units (the receiving agency's subtree).
    pub coordinating_unit_ids: Vec<i64>,
    /// For `assign`: the handling deadline, `yyyy-mm-dd` (Vietnam calendar), not in the past.
    pub deadline: Option<String>,
}

/// What a step did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IncomingOutcome {
    pub state: Option<IncomingState>,
    /// The edXML status code of the new state.
    pub status_code: String,
    /// The arrival number given by a registration.
    pub arrival_number: Option<i64>,
    pub register_id: Option<i64>,
    /// People told (the sender's clerks of a refusal, the units of an assignment).
    pub notified: usize,
    /// How a sender outside the registry is told (`edxml`, `email`, `manual`), when it is.
    pub status_message: Option<String>,
}

/// Take `action` on incoming document `id` (the recall is the sender's and comes with the
/// outgoing document's recall, not through here).
pub async fn act_incoming(
    store: &Store,
    actor: &Actor,
    id: i64,
    action: IncomingAction,
    input: &IncomingStep,
    now: OffsetDateTime,
) -> Result<IncomingOutcome> {
    let doc = {
        let mut conn = store.pool().acquire().await?;
        load_unchecked(&mut conn, id).await?
    };
    check_visible(store, actor, &doc).await?;
    if action == IncomingAction::Recall {
        return Err(Error::Forbidden);
    }
    // Who may never take this step is refused before the state is looked at: the clerk's and
    // the leader's steps by their duty at the receiving agency, the unit's by the permission
    // (whether they are the lead unit is known once it is assigned).
    match action.duty() {
        (Some(duty), DutyAt::Receiver) if !holds(actor, duty, doc.agency_id, &doc.agency_path) => {
            return Err(Error::Forbidden)
        }
        (Some(duty), DutyAt::LeadUnit) => {
            let mut conn = store.pool().acquire().await?;
            let units = unit_paths(&mut conn, doc.id).await?;
            let somewhere = actor.can(duty.permission, &doc.agency_path)
                || units.iter().any(|(_, p, _)| actor.can(duty.permission, p));
            if !somewhere {
                return Err(Error::Forbidden);
            }
        }
        _ => {}
    }
    // A scan is registered once digitised: until then its verdict is the paper's (no digital
    // signature), and the clerk is told the step to take.
    if action == IncomingAction::Register {
        super::copies::require_digitised(store, &doc).await?;
    }
    let reason = kyso_domain::documents::meta::text("reason", &input.reason, false)?;
    let to = kyso_domain::incoming::step(doc.state, action, doc.verdict, &reason)
        .map_err(rule_refusal)?;
    check_step(store, actor, &doc, action).await?;
    // The handling's inputs, checked before the write.
    let mut units: Vec<(i64, bool)> = Vec::new();
    let mut deadline = None;
    if action == IncomingAction::Assign {
        let lead = input.lead_unit_id.ok_or_else(|| {
            Error::invalid(
                "lead_unit_id",
                "Cần chọn đơn vị chủ trì xử lý.",
                "Choose the lead unit.",
            )
        })?;
        for (unit, lead) in std::iter::once((lead, true)).chain(
            input
                .coordinating_unit_ids
                .iter()
                .filter(|u| **u != lead)
                .map(|u| (*u, false)),
        ) {
            let path: Option<String> =
                sqlx::query_scalar("SELECT path FROM agencies WHERE id = $1")
                    .bind(unit)
                    .fetch_optional(store.pool())
                    .await?;
            let field = if lead {
                "lead_unit_id"
            } else {
                "coordinating_unit_ids"
            };
            if !path.is_some_and(|p| p.starts_with(doc.agency_path.as_str())) {
                return Err(Error::invalid(
                    field,
                    "Đơn vị xử lý phải là cơ quan nhận văn bản hoặc đơn vị trực thuộc.",
                    "A handling unit must be the receiving agency or a unit under it.",
                ));
            }
            if !units.iter().any(|(u, _)| *u == unit) {
                units.push((unit, lead));
            }
        }
        let d = date_field("deadline", input.deadline.as_deref().unwrap_or(""))?;
        if d.is_empty() {
            return Err(Error::invalid(
                "deadline",
                "Cần ghi hạn xử lý.",
                "The handling deadline is required.",
            ));
        }
        if d < vietnam_date(now).to_string() {
            return Err(Error::invalid(
                "deadline",
                "Hạn xử lý không được trước ngày hôm nay.",
                "The deadline cannot be before today.",
            ));
        }
        deadline = Some(d);
    }
    let permission = match action {
        IncomingAction::Register | IncomingAction::Refuse => Permission::IssueDocument,
        IncomingAction::Assign => Permission::SignDocument,
        _ => Permission::ReadDocuments,
    };
    // The handling unit's people write on their own unit's records; the others on the
    // receiving agency's.
    let write_path = if matches!(action, IncomingAction::Start | IncomingAction::Complete)
        && !actor.can(Permission::ReadDocuments, &doc.agency_path)
    {
        let mut conn = store.pool().acquire().await?;
        unit_paths(&mut conn, doc.id)
            .await?
            .into_iter()
            .find(|(_, _, lead)| *lead)
            .map(|(_, p, _)| p)
            .ok_or(Error::Forbidden)?
    } else {
        doc.agency_path.clone()
    };
    let register = if action == IncomingAction::Register {
        Some(register_for(store, actor, &doc, input.register_id, now).await?)
    } else {
        None
    };
    let on_permission = if write_path == doc.agency_path {
        permission
    } else {
        Permission::ReadDocuments
    };
    let mut tx = store
        .begin_write_grouped(actor, On::Agency(on_permission, &write_path))
        .await?;
    let nowu = now.unix_timestamp();
    let moved = sqlx::query(
        "UPDATE incoming_documents SET state = $1, status_code = $2, updated_at = $3 \
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(to.status_code())
    .bind(nowu)
    .bind(id)
    .bind(doc.state.as_str())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(Error::conflict(
            "state",
            "Văn bản đến vừa được người khác xử lý; hãy tải lại trang.",
            "Someone else just acted on this incoming document; reload the page.",
        ));
    }
    let mut outcome = IncomingOutcome {
        state: Some(to),
        status_code: to.status_code().to_owned(),
        ..Default::default()
    };
    let mut note = reason.clone();
    match action {
        IncomingAction::Register => {
            let register = register.ok_or_else(|| corrupt("no register"))?;
            let register = match register {
                Some(r) => r,
                None => open_default_register(&mut tx, &doc, now).await?,
            };
            let year = i64::from(series_year(now));
            let number = next_arrival_number(&mut tx, register, year).await?;
            sqlx::query(
                "UPDATE incoming_documents SET register_id = $1, arrival_year = $2, \
                 arrival_number = $3, decided_by = $4, decided_at = $5, decision_note = $6 \
                 WHERE id = $7",
            )
            .bind(register)
            .bind(year)
            .bind(number)
            .bind(actor.user_id)
            .bind(nowu)
            .bind(&reason)
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(crate::unique(
                "arrival_number",
                &format!("Số đến {number} năm {year} của sổ đã được dùng; không cấp trùng số."),
                &format!("Arrival number {number} of {year} is already used in the register."),
            ))?;
            crate::archive::enqueue(
                tx.conn(),
                kyso_domain::archive::EntryKind::Incoming,
                id,
                now,
            )
            .await?;
            outcome.arrival_number = Some(number);
            outcome.register_id = Some(register);
            note = if reason.is_empty() {
                format!("Số đến: {number}")
            } else {
                format!("Số đến: {number}\n{reason}")
            };
        }
        IncomingAction::Refuse => {
            sqlx::query(
                "UPDATE incoming_documents SET decided_by = $1, decided_at = $2, \
                 decision_note = $3 WHERE id = $4",
            )
            .bind(actor.user_id)
            .bind(nowu)
            .bind(&reason)
            .bind(id)
            .execute(tx.conn())
            .await?;
            if let Some(source) = doc.source_document_id {
                outcome.notified +=
                    super::reading::tell_sender(&mut tx, &doc, source, &reason, now).await?;
            } else {
                // It names a sender inside kyso but is none of its documents: that agency's
                // clerks hear that a document circulates in its name.
                let claimed =
                    super::reading::claimed_agency(tx.conn(), &doc.sender_code, &doc.sender_name)
                        .await?;
                if let Some((agency, name)) = claimed.filter(|(a, _)| *a != doc.agency_id) {
                    outcome.notified += super::reading::tell_claimed_sender(
                        &mut tx,
                        &doc,
                        (agency, &name),
                        &reason,
                        now,
                    )
                    .await?;
                }
            }
        }
        IncomingAction::Assign => {
            sqlx::query("DELETE FROM incoming_units WHERE incoming_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            for (unit, lead) in &units {
                sqlx::query(
                    "INSERT INTO incoming_units (incoming_id, agency_id, lead) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(*unit)
                .bind(i64::from(*lead))
                .execute(tx.conn())
                .await?;
            }
            sqlx::query(
                "UPDATE incoming_documents SET lead_unit_id = $1, deadline = $2 WHERE id = $3",
            )
            .bind(units.first().map(|(u, _)| *u))
            .bind(deadline.as_deref())
            .bind(id)
            .execute(tx.conn())
            .await?;
            let d = deadline.as_deref().map(date_vi).unwrap_or_default();
            note = if reason.is_empty() {
                format!("Hạn xử lý: {d}")
            } else {
                format!("Hạn xử lý: {d}\n{reason}")
            };
            outcome.notified += super::reading::tell_units(&mut tx, &doc, &units, &d, now).await?;
        }
        _ => {}
    }
    outcome.status_message = queue_status(&mut tx, &doc, to, &reason, now)
        .await?
        .map(str::to_owned);
    insert_event(&mut tx, id, action.as_str(), doc.state, to, &note, now).await?;
    tx.commit_audited(
        Event {
            action: &audit_action(action),
            object: format!("incoming:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({
                "from": doc.state.as_str(),
                "to": to.as_str(),
                "status_code": to.status_code(),
                "reason": reason,
                "verdict": doc.verdict.as_str(),
                "arrival_number": outcome.arrival_number,
                "register_id": outcome.register_id,
                "units": units.iter().map(|(u, l)| json!({"agency_id": u, "lead": l})).collect::<Vec<_>>(),
                "deadline": deadline,
                "notified": outcome.notified,
                "status_message": outcome.status_message,
            }),
        },
        now,
    )
    .await?;
    Ok(outcome)
}

/// The next arrival number of `register` for `year`: one more than the highest. Only
/// registration gives one, never back, under the store's write lock (one writer at a time on
/// both engines and across nodes), so the numbers of a series are 1…n; the unique (register,
/// year, number) index refuses a repeat even so.
async fn next_arrival_number(tx: &mut WriteTx, register: i64, year: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(MAX(arrival_number), 0) + 1 FROM incoming_documents \
         WHERE register_id = $1 AND arrival_year = $2",
    )
    .bind(register)
    .bind(year)
    .fetch_one(tx.conn())
    .await?)
}

/// The register a registration goes into: the one named (of the receiving agency), else the
/// agency's first; `None`: the agency has none yet and one is opened in the step.
async fn register_for(
    store: &Store,
    actor: &Actor,
    doc: &Incoming,
    named: Option<i64>,
    _now: OffsetDateTime,
) -> Result<Option<i64>> {
    let all = incoming_registers(store, actor, doc.agency_id).await?;
    match named {
        Some(id) => all
            .iter()
            .find(|r| r.id == id)
            .map(|r| Some(r.id))
            .ok_or_else(|| {
                Error::invalid(
                    "register_id",
                    "Sổ văn bản đến này không thuộc cơ quan nhận văn bản.",
                    "This incoming register is not the receiving agency's.",
                )
            }),
        None => Ok(all.first().map(|r| r.id)),
    }
}

/// Open the agency's incoming register "Sổ văn bản đến" (code ĐẾN) inside the step.
async fn open_default_register(
    tx: &mut WriteTx,
    doc: &Incoming,
    now: OffsetDateTime,
) -> Result<i64> {
    // Another registration may have opened it since it was looked for (under the lock now).
    let opened: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM incoming_registers WHERE agency_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(doc.agency_id)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = opened {
        return Ok(id);
    }
    let row = sqlx::query(
        "INSERT INTO incoming_registers (agency_id, code, name, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(doc.agency_id)
    .bind("ĐẾN")
    .bind("Sổ văn bản đến")
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    let id: i64 = row.try_get(0)?;
    let actor = tx.actor().clone();
    crate::audit::append(
        tx,
        &actor,
        Event {
            action: "incoming.register_create",
            object: format!("incoming_register:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({"code": "ĐẾN", "name": "Sổ văn bản đến", "opened_by_first_registration": true}),
        },
        now,
    )
    .await?;
    Ok(id)
}

/// A new incoming register.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IncomingRegisterInput {
    pub agency_id: i64,
    pub code: String,
    pub name: String,
}

/// The incoming registers of an agency (who reads its documents).
pub async fn incoming_registers(
    store: &Store,
    actor: &Actor,
    agency_id: i64,
) -> Result<Vec<IncomingRegister>> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    sqlx::query(
        "SELECT id, agency_id, code, name FROM incoming_registers WHERE agency_id = $1 ORDER BY id",
    )
    .bind(agency.id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(IncomingRegister {
            id: r.try_get(0)?,
            agency_id: r.try_get(1)?,
            code: r.try_get(2)?,
            name: r.try_get(3)?,
        })
    })
    .collect()
}

/// Open an incoming register for an agency (its clerk, or who issues documents above it).
pub async fn create_incoming_register(
    store: &Store,
    actor: &Actor,
    input: &IncomingRegisterInput,
    now: OffsetDateTime,
) -> Result<IncomingRegister> {
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadDocuments).await?;
    actor.reach(Permission::IssueDocument, &agency.path, Record::Agency)?;
    let code = kyso_domain::documents::meta::text("code", &input.code, true)?;
    let name = kyso_domain::documents::meta::text("name", &input.name, true)?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    let row = sqlx::query(
        "INSERT INTO incoming_registers (agency_id, code, name, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(agency.id)
    .bind(&code)
    .bind(&name)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "code",
        "Cơ quan đã có sổ văn bản đến với ký hiệu này.",
        "The agency already has an incoming register with this code.",
    ))?;
    let id: i64 = row.try_get(0)?;
    tx.commit_audited(
        Event {
            action: "incoming.register_create",
            object: format!("incoming_register:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"code": code, "name": name}),
        },
        now,
    )
    .await?;
    Ok(IncomingRegister {
        id,
        agency_id: agency.id,
        code,
        name,
    })
}

/// The sender's recall of outgoing document `document_id` (its recall step, inside that
/// step's transaction): every received copy not refused or recalled yet becomes recalled
/// (status 13) and leaves the queues, each with its timeline row and audit entry on the
/// receiving side. Returns how many copies.
pub(crate) async fn recall_copies(
    tx: &mut WriteTx,
    document_id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<usize> {
    let rows = sqlx::query(
        "SELECT i.id, i.state, a.code FROM incoming_documents i \
         JOIN agencies a ON a.id = i.agency_id \
         WHERE i.source_document_id = $1 AND i.state NOT IN ('refused', 'recalled') ORDER BY i.id",
    )
    .bind(document_id)
    .fetch_all(tx.conn())
    .await?;
    let to = IncomingState::Recalled;
    let actor = tx.actor().clone();
    for row in &rows {
        let id: i64 = row.try_get(0)?;
        let from: String = row.try_get(1)?;
        let from = IncomingState::parse(&from).map_err(|e| corrupt(&e.to_string()))?;
        let agency: String = row.try_get(2)?;
        sqlx::query(
            "UPDATE incoming_documents SET state = $1, status_code = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(to.as_str())
        .bind(to.status_code())
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(tx.conn())
        .await?;
        insert_event(
            tx,
            id,
            IncomingAction::Recall.as_str(),
            from,
            to,
            reason,
            now,
        )
        .await?;
        crate::audit::append(
            tx,
            &actor,
            Event {
                action: &audit_action(IncomingAction::Recall),
                object: format!("incoming:{id}"),
                agency: Some(agency),
                detail: json!({
                    "from": from.as_str(),
                    "to": to.as_str(),
                    "status_code": to.status_code(),
                    "reason": reason,
                    "source_document_id": document_id,
                }),
            },
            now,
        )
        .await?;
    }
    Ok(rows.len())
}
