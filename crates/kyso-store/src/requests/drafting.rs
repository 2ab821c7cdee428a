//! Drafting: creating and updating a request before it is sent.

use super::*;

/// Draft a request for an agency where the actor may draft requests. It starts in `Draft`.
pub async fn create_request(
    store: &Store,
    actor: &Actor,
    input: &NewRequest,
    now: OffsetDateTime,
) -> Result<RequestDetail> {
    let v = validate(store, actor, input, now).await?;
    let handler = handler_for(store, v.kind).await?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::DraftRequest, &v.agency.path))
        .await?;
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
    tx.commit_audited(
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
    // Before the state and the input: who may not draft here learns nothing more.
    actor.reach(
        Permission::DraftRequest,
        &current.agency_path,
        Record::Request,
    )?;
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
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::DraftRequest, &current.agency_path),
        )
        .await?;
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
    tx.commit_audited(
        Event {
            action: "request.update",
            object: format!("request:{id}"),
            agency: Some(v.agency.code.clone()),
            detail: json!({"items": v.items.len()}),
        },
        now,
    )
    .await?;
    get_request(store, actor, id, now).await
}
