//! Reading requests inside the reader's scope.

use sqlx::Row as _;

use super::*;

/// The request's row, if the actor may read its agency (else *not found*).
pub(super) async fn load(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<Request> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r JOIN agencies a ON a.id = r.agency_id \
         WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: crate::Record::Request,
    })?;
    let r = request_from(&row, now)?;
    actor.reach(Permission::ReadRegistry, &r.agency_path, Record::Request)?;
    Ok(r)
}

/// The managing agency's path: the parent of the agency at `path` (`None` for a root).
pub(super) fn parent_path(path: &str) -> Option<String> {
    let trimmed = path.strip_suffix('/')?;
    let cut = trimmed.rfind('/')?;
    let parent = trimmed.get(..=cut)?;
    (parent.len() > 1).then(|| parent.to_owned())
}

/// The path of the agency that approves requests of the agency at `path`: its parent, or
/// itself for a root agency (the Department approves those).
pub(crate) fn managing_path(path: &str) -> String {
    parent_path(path).unwrap_or_else(|| path.to_owned())
}

/// The permission taking `action` on `request` needs, and the path of the agency it is
/// needed on. Approving and returning need the permission on the *managing* agency (the
/// parent; a Department administrator above reaches it too); a root agency's requests are
/// approved by the Department. Everything else needs the action's permission on the
/// requesting agency.
pub(super) fn acting_on(request: &Request, action: RequestAction) -> (Permission, String) {
    let p = action.required_permission();
    match action {
        RequestAction::Approve | RequestAction::Return => match parent_path(&request.agency_path) {
            Some(parent) => (p, parent),
            None => (Permission::ProcessRequest, request.agency_path.clone()),
        },
        _ => (p, request.agency_path.clone()),
    }
}

/// Whether `actor` may take `action` on `request` (whatever its state; see [`acting_on`]).
pub fn may_act(actor: &Actor, request: &Request, action: RequestAction) -> bool {
    let (p, path) = acting_on(request, action);
    actor.can(p, &path)
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
        // A request is sent by dispatching its letter document, never by hand.
        .filter(|a| *a != RequestAction::Send && may_act(actor, &request, *a))
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
    list_requests_upto(store, actor, q, now, registry::MAX_PAGE).await
}

/// [`list_requests`] with at most `limit` rows (an export takes more than a page).
pub async fn list_requests_upto(
    store: &Store,
    actor: &Actor,
    q: &RequestQuery,
    now: OffsetDateTime,
    limit: i64,
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
         ORDER BY r.id DESC LIMIT {limit}"
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

/// The requests naming certificate `id` (issuing, renewing, changing or revoking it) that the
/// actor may read, newest first.
pub async fn requests_for_certificate(
    store: &Store,
    actor: &Actor,
    certificate_id: i64,
    now: OffsetDateTime,
) -> Result<Vec<Request>> {
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 2);
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r JOIN agencies a ON a.id = r.agency_id \
         WHERE {scope} AND r.id IN (SELECT request_id FROM request_items WHERE certificate_id = $1) \
         ORDER BY r.id DESC LIMIT {}",
        registry::MAX_PAGE
    );
    let mut query = sqlx::query(&sql).bind(certificate_id);
    for p in &params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    rows.iter().map(|r| request_from(r, now)).collect()
}
