//! Reading incoming documents (the queue, one with its timeline, its file and report), the
//! notices of the steps, and the status messages waiting for senders outside the registry.

use std::collections::BTreeSet;

use kyso_domain::roles::Role;

use super::*;
use crate::notices::BODY_SEPARATOR;

/// One step in an incoming document's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct IncomingEvent {
    pub id: i64,
    /// `arrive`, or an [`IncomingAction`]'s name.
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    /// The edXML status code of the state reached.
    pub status_code: String,
    pub user_id: i64,
    pub actor: String,
    pub note: String,
    pub created_at: i64,
}

/// A unit assigned to handle an incoming document.
#[derive(Debug, Clone, Serialize)]
pub struct HandlingUnit {
    pub agency_id: i64,
    pub code: String,
    pub name: String,
    /// The lead unit (chủ trì); else coordinating (phối hợp).
    pub lead: bool,
}

/// An incoming document with its timeline, units and what the reader may do.
#[derive(Debug, Clone, Serialize)]
pub struct IncomingDetail {
    pub incoming: Incoming,
    pub units: Vec<HandlingUnit>,
    pub timeline: Vec<IncomingEvent>,
    /// The steps the reader may take now.
    pub actions: Vec<IncomingAction>,
}

/// Filters for [`list_incoming`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IncomingQuery {
    /// Only this receiving agency's.
    pub agency_id: Option<i64>,
    /// Only in this state (default: every state).
    pub state: Option<IncomingState>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<i64>,
}

/// The incoming documents the actor may read: the queue (received) first — invalid ones
/// first, then indeterminate, then valid, oldest arrival first — then the others, newest
/// change first. Recalled and refused ones only when asked for by state.
pub async fn list_incoming(
    store: &Store,
    actor: &Actor,
    query: &IncomingQuery,
) -> Result<Vec<Incoming>> {
    let scope = actor.scope(Permission::ReadDocuments);
    if scope.is_empty() {
        return Err(Error::Forbidden);
    }
    let (in_scope, params) = scope.sql("a.path", 4);
    let (unit_scope, unit_params) = scope.sql("ua.path", 4 + params.len());
    let sql = format!(
        "SELECT {INCOMING_COLUMNS} FROM incoming_documents i JOIN agencies a ON a.id = i.agency_id \
         WHERE ($1 = 0 OR i.agency_id = $1) \
         AND (($2 = '' AND i.state NOT IN ('refused', 'recalled')) OR i.state = $2) \
         AND ({in_scope} OR EXISTS (SELECT 1 FROM incoming_units u \
              JOIN agencies ua ON ua.id = u.agency_id WHERE u.incoming_id = i.id AND {unit_scope})) \
         ORDER BY CASE WHEN i.state = 'received' THEN 0 ELSE 1 END, \
         CASE WHEN i.state <> 'received' THEN 0 WHEN i.verdict = 'failed' THEN 0 \
              WHEN i.verdict = 'indeterminate' THEN 1 ELSE 2 END, \
         CASE WHEN i.state = 'received' THEN i.arrived_at ELSE -i.updated_at END, i.id \
         LIMIT $3"
    );
    let mut q = sqlx::query(&sql)
        .bind(query.agency_id.unwrap_or(0))
        .bind(query.state.map(|s| s.as_str()).unwrap_or(""))
        .bind(query.limit.unwrap_or(100).clamp(1, 500));
    for p in params.iter().chain(&unit_params) {
        q = q.bind(p);
    }
    q.fetch_all(store.pool())
        .await?
        .iter()
        .map(incoming_from)
        .collect()
}

/// Incoming document `id` with its units, timeline and the steps the reader may take.
pub async fn get_incoming(store: &Store, actor: &Actor, id: i64) -> Result<IncomingDetail> {
    let mut conn = store.pool().acquire().await?;
    let incoming = load_unchecked(&mut conn, id).await?;
    drop(conn);
    check_visible(store, actor, &incoming).await?;
    let pool = store.pool();
    let units = sqlx::query(
        "SELECT u.agency_id, a.code, a.name, u.lead FROM incoming_units u \
         JOIN agencies a ON a.id = u.agency_id WHERE u.incoming_id = $1 \
         ORDER BY u.lead DESC, a.code",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(HandlingUnit {
            agency_id: r.try_get(0)?,
            code: r.try_get(1)?,
            name: r.try_get(2)?,
            lead: r.try_get::<i64, _>(3)? != 0,
        })
    })
    .collect::<Result<_>>()?;
    let timeline = sqlx::query(
        "SELECT id, action, from_state, to_state, status_code, user_id, actor, note, created_at \
         FROM incoming_events WHERE incoming_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(IncomingEvent {
            id: r.try_get(0)?,
            action: r.try_get(1)?,
            from_state: r.try_get(2)?,
            to_state: r.try_get(3)?,
            status_code: r.try_get(4)?,
            user_id: r.try_get(5)?,
            actor: r.try_get(6)?,
            note: r.try_get(7)?,
            created_at: r.try_get(8)?,
        })
    })
    .collect::<Result<_>>()?;
    let mut actions = Vec::new();
    for a in incoming.state.actions() {
        if a != IncomingAction::Recall && check_step(store, actor, &incoming, a).await.is_ok() {
            actions.push(a);
        }
    }
    Ok(IncomingDetail {
        incoming,
        units,
        timeline,
        actions,
    })
}

/// The file of incoming document `id`, byte for byte as received (re-hashed against its
/// SHA-256); a recalled one is no longer served.
pub async fn incoming_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
) -> Result<(Incoming, Vec<u8>)> {
    let detail = get_incoming(store, actor, id).await?;
    if detail.incoming.state == IncomingState::Recalled {
        return Err(Error::conflict(
            "state",
            "Văn bản này đã bị nơi gửi thu hồi; tệp không còn được cung cấp.",
            "The sender recalled this document; its file is no longer served.",
        ));
    }
    let bytes = get_blob(blobs, &detail.incoming.sha256).await?;
    Ok((detail.incoming, bytes))
}

/// The `kyso.verify/1` report made on arrival, and the report's PDF when one was kept.
pub async fn incoming_report(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
) -> Result<(serde_json::Value, Option<Vec<u8>>)> {
    let detail = get_incoming(store, actor, id).await?;
    let report: String = sqlx::query_scalar("SELECT report FROM incoming_documents WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    let report = serde_json::from_str(&report).map_err(|e| corrupt(&e.to_string()))?;
    let pdf = match &detail.incoming.report_pdf_sha256 {
        Some(sha) => Some(get_blob(blobs, sha).await?),
        None => None,
    };
    Ok((report, pdf))
}

/// A status message for a sender outside the registry, waiting to be sent.
#[derive(Debug, Clone, Serialize)]
pub struct StatusMessage {
    pub id: i64,
    pub incoming_id: i64,
    /// The edXML status code (02 refused, 03, 04, 05, 06).
    pub status_code: String,
    /// `edxml` (the axis's status message), `email`, or `manual` (no address known).
    pub via: String,
    /// The sender's identifier code, or its e-mail address.
    pub recipient: String,
    /// What the message says (a refusal's reason).
    pub description: String,
    pub created_at: i64,
}

/// The status messages not sent yet, oldest first (at most `limit`), for the system's sender
/// (the edXML writer, the mailer).
pub async fn pending_status_messages(store: &Store, limit: i64) -> Result<Vec<StatusMessage>> {
    sqlx::query(
        "SELECT id, incoming_id, status_code, via, recipient, description, created_at \
         FROM incoming_outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit.clamp(1, 1000))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(StatusMessage {
            id: r.try_get(0)?,
            incoming_id: r.try_get(1)?,
            status_code: r.try_get(2)?,
            via: r.try_get(3)?,
            recipient: r.try_get(4)?,
            description: r.try_get(5)?,
            created_at: r.try_get(6)?,
        })
    })
    .collect()
}

/// Record that status message `id` was sent (by the system).
pub async fn mark_status_sent(store: &Store, id: i64, now: OffsetDateTime) -> Result<()> {
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    sqlx::query("UPDATE incoming_outbox SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL")
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: "incoming.status_sent",
            object: format!("incoming_outbox:{id}"),
            agency: None,
            detail: json!({}),
        },
        now,
    )
    .await
}

/// Write one notice to each of `users` (never the actor, enabled accounts only, each once).
#[allow(clippy::too_many_arguments)]
pub(super) async fn notify(
    tx: &mut WriteTx,
    users: Vec<i64>,
    kind: &str,
    document_id: Option<i64>,
    event: &str,
    link: &str,
    subject: (&str, &str),
    body: (&str, &str),
    now: OffsetDateTime,
) -> Result<usize> {
    let actor = tx.actor().user_id;
    let mut seen = BTreeSet::from([actor]);
    let mut told = 0;
    let (open_vi, open_en) = if link.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("\nXem: {link}"), format!("\nOpen: {link}"))
    };
    let text = format!("{}{open_vi}{BODY_SEPARATOR}{}{open_en}\n", body.0, body.1);
    for user in users {
        if !seen.insert(user) {
            continue;
        }
        let enabled: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND disabled = 0")
                .bind(user)
                .fetch_optional(tx.conn())
                .await?;
        if enabled.is_none() {
            continue;
        }
        sqlx::query(
            "INSERT INTO notices (user_id, kind, document_id, event, link, subject, subject_en, \
             body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user)
        .bind(kind)
        .bind(document_id)
        .bind(event)
        .bind(link)
        .bind(subject.0)
        .bind(subject.1)
        .bind(&text)
        .bind(now.unix_timestamp())
        .execute(tx.conn())
        .await?;
        told += 1;
    }
    Ok(told)
}

/// A refusal of a document sent from inside kyso reaches its sender: a row in the sending
/// document's timeline (its page) and a notice to the sending agency's clerks and the
/// document's drafter.
pub(super) async fn tell_sender(
    tx: &mut WriteTx,
    doc: &Incoming,
    source: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<usize> {
    let row = sqlx::query(
        "SELECT d.state, d.agency_id, d.drafter_id, (SELECT name FROM agencies WHERE id = $2) \
         FROM documents d WHERE d.id = $1",
    )
    .bind(source)
    .bind(doc.agency_id)
    .fetch_one(tx.conn())
    .await?;
    let state: String = row.try_get(0)?;
    let sender_agency: i64 = row.try_get(1)?;
    let drafter: i64 = row.try_get(2)?;
    let receiver: String = row.try_get::<Option<String>, _>(3)?.unwrap_or_default();
    let (user, name) = (tx.actor().user_id, tx.actor().username.clone());
    sqlx::query(
        "INSERT INTO document_events (document_id, action, from_state, to_state, user_id, actor, \
         note, created_at) VALUES ($1, 'incoming_refused', $2, $2, $3, $4, $5, $6)",
    )
    .bind(source)
    .bind(&state)
    .bind(user)
    .bind(name)
    .bind(format!("{receiver} từ chối tiếp nhận. Lý do: {reason}"))
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    let mut users: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM user_roles WHERE agency_id = $1 AND role = $2 ORDER BY user_id",
    )
    .bind(sender_agency)
    .bind(Role::Clerk.as_str())
    .fetch_all(tx.conn())
    .await?;
    users.push(drafter);
    let what = match doc.number_and_notation().as_str() {
        "" => format!("“{}”", doc.subject),
        n => format!("số {n} “{}”", doc.subject),
    };
    // A copy that reached the receiver otherwise than by the delivery (uploaded, through the
    // API or the axis): the sender hears how it came.
    let (how_vi, how_en) = if doc.channel == Channel::Internal {
        (String::new(), String::new())
    } else {
        (
            format!(
                "\nBản này không do hệ thống chuyển mà đến {receiver} qua kênh: {}.",
                doc.channel.label_vi()
            ),
            format!(
                "\nThis copy did not come through kyso's delivery but reached {receiver} by: {}.",
                doc.channel.label_en()
            ),
        )
    };
    notify(
        tx,
        users,
        "document",
        Some(source),
        "incoming_refused",
        &format!("/documents/{source}"),
        (
            &format!("Văn bản bị từ chối tiếp nhận: {}", doc.subject),
            &format!("Document refused by the recipient: {}", doc.subject),
        ),
        (
            &format!(
                "{receiver} đã từ chối tiếp nhận văn bản {what} và trả lại nơi gửi.\nLý do: \
                 {reason}{how_vi}"
            ),
            &format!(
                "{receiver} refused the document {what} and returned it to the sender.\nReason: \
                 {reason}{how_en}"
            ),
        ),
        now,
    )
    .await
}

/// The agency of the registry an arrival names as its sender: the one with its identifier
/// code, else (no code given) the only one with exactly its name. `None`: a sender outside
/// kyso, or a name several agencies share.
pub(super) async fn claimed_agency(
    conn: &mut sqlx::AnyConnection,
    sender_code: &str,
    sender_name: &str,
) -> Result<Option<(i64, String)>> {
    let (sender_code, sender_name) = (sender_code.trim(), sender_name.trim());
    let rows = if !sender_code.is_empty() {
        sqlx::query("SELECT id, name FROM agencies WHERE code = $1 LIMIT 2")
            .bind(sender_code)
            .fetch_all(conn)
            .await?
    } else if !sender_name.is_empty() {
        sqlx::query("SELECT id, name FROM agencies WHERE name = $1 LIMIT 2")
            .bind(sender_name)
            .fetch_all(conn)
            .await?
    } else {
        return Ok(None);
    };
    match rows.as_slice() {
        [only] => Ok(Some((only.try_get(0)?, only.try_get(1)?))),
        _ => Ok(None),
    }
}

/// The outgoing document an arrival by another channel than the delivery (an upload, the API,
/// an edXML package) is a copy of, when its sender is an agency inside kyso
/// ([`claimed_agency`]): that agency's document with the same bytes (any of its versions), else
/// its issued document with the same number, notation and date. Linked so at intake
/// (`source_document_id`), a refusal reaches that document's page and its agency's clerks as
/// for a delivery, and the sender's recall reaches the copy. `None`: no such document.
#[allow(clippy::too_many_arguments)]
pub(super) async fn claimed_source(
    tx: &mut WriteTx,
    receiving_agency: i64,
    sender_code: &str,
    sender_name: &str,
    number: &str,
    notation: &str,
    doc_date: &str,
    sha: &str,
) -> Result<Option<i64>> {
    let Some((agency, _)) = claimed_agency(tx.conn(), sender_code, sender_name).await? else {
        return Ok(None);
    };
    if agency == receiving_agency {
        return Ok(None);
    }
    let same_bytes: Option<i64> = sqlx::query_scalar(
        "SELECT v.document_id FROM document_versions v JOIN documents d ON d.id = v.document_id \
         WHERE d.agency_id = $1 AND v.sha256 = $2 ORDER BY v.document_id LIMIT 1",
    )
    .bind(agency)
    .bind(sha)
    .fetch_optional(tx.conn())
    .await?;
    if same_bytes.is_some() {
        return Ok(same_bytes);
    }
    let (Ok(number), notation, date) = (
        number.trim().parse::<i64>(),
        notation.trim(),
        doc_date.trim(),
    ) else {
        return Ok(None);
    };
    if date.is_empty() {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM documents WHERE agency_id = $1 AND number = $2 \
         AND COALESCE(notation, '') = $3 AND issued_date = $4 ORDER BY id LIMIT 1",
    )
    .bind(agency)
    .bind(number)
    .bind(notation)
    .bind(date)
    .fetch_optional(tx.conn())
    .await?)
}

/// A refused document that names an agency inside kyso as its sender (`sender`: its id and
/// name) but is no document of it: the agency's clerks are told that a document circulates in
/// its name — what the document claims (number, notation, date, subject), who refused it and
/// why; nothing else of the receiving agency's record (no link, no file, no person).
pub(super) async fn tell_claimed_sender(
    tx: &mut WriteTx,
    doc: &Incoming,
    sender: (i64, &str),
    reason: &str,
    now: OffsetDateTime,
) -> Result<usize> {
    let receiver: String = sqlx::query_scalar("SELECT name FROM agencies WHERE id = $1")
        .bind(doc.agency_id)
        .fetch_one(tx.conn())
        .await?;
    let users: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM user_roles WHERE agency_id = $1 AND role = $2 ORDER BY user_id",
    )
    .bind(sender.0)
    .bind(Role::Clerk.as_str())
    .fetch_all(tx.conn())
    .await?;
    let number = match doc.number_and_notation().as_str() {
        "" => "(không ghi số)".to_owned(),
        n => n.to_owned(),
    };
    let date = match doc.doc_date.as_str() {
        "" => "(không ghi ngày)".to_owned(),
        d => date_vi(d),
    };
    notify(
        tx,
        users,
        "incoming",
        None,
        "incoming_claim_refused",
        "",
        (
            &format!(
                "Văn bản mang danh cơ quan bị từ chối tiếp nhận: {}",
                doc.subject
            ),
            &format!(
                "A document in your agency's name was refused: {}",
                doc.subject
            ),
        ),
        (
            &format!(
                "{receiver} đã từ chối tiếp nhận một văn bản ghi nơi gửi là {}: số, ký hiệu \
                 {number}, ngày {date}, trích yếu “{}”. Hệ thống không tìm thấy văn bản nào của \
                 cơ quan có cùng nội dung tệp hoặc cùng số, ký hiệu và ngày; đề nghị kiểm tra \
                 xem có ai đang lưu hành văn bản nhân danh cơ quan.\nLý do từ chối: {reason}",
                sender.1, doc.subject
            ),
            &format!(
                "{receiver} refused a document naming {} as its sender: number {number}, dated \
                 {date}, subject “{}”. No document of your agency has the same file or the same \
                 number, notation and date; please check whether someone circulates documents \
                 in your agency's name.\nReason: {reason}",
                sender.1, doc.subject
            ),
        ),
        now,
    )
    .await
}

/// Record once that delivery `delivery_id` to agency `agency_id` cannot arrive in its queue
/// (`outcome`: `duplicate` — the agency already holds the document, taken in by another
/// channel; `vi`/`en`: why, as the arrival was refused), so that the arrival rounds
/// ([`agencies_with_pending_deliveries`], [`pending_deliveries`]) no longer take it up and
/// verify it again; audited `incoming.delivery_undeliverable` once. Checked under the write
/// lock: a delivery that arrived or was recalled meanwhile, or one already recorded, is left
/// as it is (`false`). The system's (the server's arrival job).
#[allow(clippy::too_many_arguments)]
pub async fn record_undeliverable(
    store: &Store,
    actor: &Actor,
    delivery_id: i64,
    agency_id: i64,
    outcome: &str,
    vi: &str,
    en: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::ReadDocuments, &agency.path))
        .await?;
    let document_id: Option<i64> = sqlx::query_scalar(
        "SELECT d.document_id FROM document_deliveries d WHERE d.id = $1 \
         AND d.recipient_agency_id = $2 AND d.state = 'delivered' AND NOT EXISTS \
         (SELECT 1 FROM incoming_documents i WHERE i.delivery_id = d.id) AND NOT EXISTS \
         (SELECT 1 FROM incoming_delivery_outcomes x WHERE x.delivery_id = d.id)",
    )
    .bind(delivery_id)
    .bind(agency.id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(document_id) = document_id else {
        tx.commit().await?;
        return Ok(false);
    };
    let (vi, en): (String, String) = (
        vi.chars().take(1000).collect(),
        en.chars().take(1000).collect(),
    );
    sqlx::query(
        "INSERT INTO incoming_delivery_outcomes (delivery_id, agency_id, outcome, note, note_en, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(delivery_id)
    .bind(agency.id)
    .bind(outcome)
    .bind(&vi)
    .bind(&en)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "incoming.delivery_undeliverable",
            object: format!("delivery:{delivery_id}"),
            agency: Some(agency.code.clone()),
            detail: json!({
                "document_id": document_id,
                "outcome": outcome,
                "reason": en,
            }),
        },
        now,
    )
    .await?;
    Ok(true)
}

/// The people of the units assigned to handle `doc` (holding a role at the unit that takes
/// part in documents), told of the assignment and its deadline.
pub(super) async fn tell_units(
    tx: &mut WriteTx,
    doc: &Incoming,
    units: &[(i64, bool)],
    deadline: &str,
    now: OffsetDateTime,
) -> Result<usize> {
    let mut told = 0;
    for (unit, lead) in units {
        let users = unit_people(tx, *unit).await?;
        let (role_vi, role_en) = if *lead {
            ("chủ trì xử lý", "the lead unit")
        } else {
            ("phối hợp xử lý", "a coordinating unit")
        };
        told += notify(
            tx,
            users,
            "incoming",
            None,
            "assign",
            &format!("/incoming/{}", doc.id),
            (
                &format!("Văn bản đến cần xử lý: {}", doc.subject),
                &format!("Incoming document to handle: {}", doc.subject),
            ),
            (
                &format!(
                    "Đơn vị ông/bà được giao {role_vi} văn bản đến “{}” của {}, hạn xử lý \
                     {deadline}.",
                    doc.subject,
                    doc.sender()
                ),
                &format!(
                    "Your unit is {role_en} for the incoming document “{}” from {}, due \
                     {deadline}.",
                    doc.subject,
                    doc.sender()
                ),
            ),
            now,
        )
        .await?;
    }
    Ok(told)
}

/// The enabled people holding, at agency `unit`, a role that takes part in documents.
pub(super) async fn unit_people(tx: &mut WriteTx, unit: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT r.user_id, r.role FROM user_roles r JOIN users u ON u.id = r.user_id \
         WHERE r.agency_id = $1 AND u.disabled = 0 ORDER BY r.user_id",
    )
    .bind(unit)
    .fetch_all(tx.conn())
    .await?;
    let mut users = Vec::new();
    for r in rows {
        let role: String = r.try_get(1)?;
        if Role::parse(&role).is_ok_and(|r| r.allows(Permission::CommentDocument)) {
            users.push(r.try_get(0)?);
        }
    }
    Ok(users)
}

/// The agencies with deliveries not arrived yet (state `delivered`, no incoming record, no
/// outcome recorded by [`record_undeliverable`]), of
/// document `document_id` or of any, oldest delivery first (at most `limit`): what the server's
/// arrival job takes in ([`pending_deliveries`] per agency, then [`intake`]) right after a
/// dispatch and at every round of its notice job, so a delivery the dispatch's own arrival did
/// not take in (a crash in between) arrives at the next round.
pub async fn agencies_with_pending_deliveries(
    store: &Store,
    document_id: Option<i64>,
    limit: i64,
) -> Result<Vec<i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT d.recipient_agency_id, MIN(d.delivered_at) FROM document_deliveries d \
         WHERE d.state = 'delivered' AND d.recipient_agency_id IS NOT NULL \
         AND ($1 = 0 OR d.document_id = $1) AND NOT EXISTS \
         (SELECT 1 FROM incoming_documents i WHERE i.delivery_id = d.id) AND NOT EXISTS \
         (SELECT 1 FROM incoming_delivery_outcomes x WHERE x.delivery_id = d.id) \
         GROUP BY d.recipient_agency_id ORDER BY 2, 1 LIMIT $2",
    )
    .bind(document_id.unwrap_or(0))
    .bind(limit.clamp(1, 1000))
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|(agency, _)| agency).collect())
}

/// The incoming register `register_id` as a book for the period `from..=to` of arrival dates
/// (Vietnam time; at most [`crate::documents::MAX_BOOK_DAYS`]): the documents registered in it
/// (an arrival number given; recalled ones stay, noted), in arrival-number order, with the
/// Decree 30 Appendix IV (VI.2) columns — arrival date and number, the sender, the document's
/// number and date, type and subject, the lead unit and the day it was assigned, a note —, and
/// the register itself (for its agency). Only readers of the agency's documents see it (anyone
/// else: *not found*); the read is audited (`incoming.register_book`).
pub async fn incoming_register_book(
    store: &Store,
    actor: &Actor,
    register_id: i64,
    from: time::Date,
    to: time::Date,
    now: OffsetDateTime,
) -> Result<(IncomingRegister, crate::documents::IncomingRegisterBook)> {
    if to < from {
        return Err(Error::invalid(
            "to",
            "Ngày kết thúc phải không trước ngày bắt đầu.",
            "The end date must not be before the start date.",
        ));
    }
    if (to - from).whole_days() > crate::documents::MAX_BOOK_DAYS {
        return Err(Error::invalid(
            "to",
            "Khoảng thời gian quá dài (tối đa 5 năm).",
            "The period is too long (at most 5 years).",
        ));
    }
    let register_not_found = || Error::NotFound {
        what: Record::Register,
    };
    let register =
        sqlx::query("SELECT id, agency_id, code, name FROM incoming_registers WHERE id = $1")
            .bind(register_id)
            .fetch_optional(store.pool())
            .await?
            .map(|r| -> Result<IncomingRegister> {
                Ok(IncomingRegister {
                    id: r.try_get(0)?,
                    agency_id: r.try_get(1)?,
                    code: r.try_get(2)?,
                    name: r.try_get(3)?,
                })
            })
            .transpose()?
            .ok_or_else(register_not_found)?;
    let agency =
        crate::registry::agency(store, actor, register.agency_id, Permission::ReadDocuments)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } | Error::Forbidden => register_not_found(),
                e => e,
            })?;
    // Arrival dates are Vietnam days: [from 00:00, to + 1 00:00) in Vietnam time.
    let start = |d: time::Date| {
        d.midnight()
            .assume_offset(kyso_domain::calendar::VIETNAM)
            .unix_timestamp()
    };
    let (t0, t1) = (start(from), start(to.next_day().unwrap_or(to)));
    let rows = sqlx::query(&format!(
        "SELECT {INCOMING_COLUMNS}, \
         (SELECT ua.name FROM incoming_units u JOIN agencies ua ON ua.id = u.agency_id \
          WHERE u.incoming_id = i.id AND u.lead = 1), \
         (SELECT MIN(e.created_at) FROM incoming_events e \
          WHERE e.incoming_id = i.id AND e.action = 'assign') \
         FROM incoming_documents i JOIN agencies a ON a.id = i.agency_id \
         WHERE i.register_id = $1 AND i.arrival_number IS NOT NULL \
         AND i.arrived_at >= $2 AND i.arrived_at < $3 \
         ORDER BY i.arrival_year, i.arrival_number, i.id"
    ))
    .bind(register.id)
    .bind(t0)
    .bind(t1)
    .fetch_all(store.pool())
    .await?;
    let columns = INCOMING_COLUMNS.split(',').count();
    let day = |unix: i64| {
        OffsetDateTime::from_unix_timestamp(unix)
            .map(|t| t.to_offset(kyso_domain::calendar::VIETNAM).date())
            .unwrap_or(from)
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut book_rows = Vec::with_capacity(rows.len());
    for row in &rows {
        let d = incoming_from(row)?;
        let lead: Option<String> = row.try_get(columns)?;
        let assigned: Option<i64> = row.try_get(columns + 1)?;
        let note = if d.state == IncomingState::Recalled {
            "Cơ quan gửi đã thu hồi".to_owned()
        } else if d.verdict == Verdict::Indeterminate && !d.decision_note.is_empty() {
            format!(
                "Chữ ký số chưa xác định được; tiếp nhận: {}",
                d.decision_note
            )
        } else {
            String::new()
        };
        let type_and_subject = match (d.doc_type.trim(), d.subject.trim()) {
            ("", s) => s.to_owned(),
            (t, "") => t.to_owned(),
            (t, s) => format!("{t}: {s}"),
        };
        book_rows.push(crate::documents::IncomingBookRow {
            incoming_id: d.id,
            arrival_year: d.arrival_year.unwrap_or_default(),
            arrival_number: d.arrival_number.unwrap_or_default(),
            arrival_date: day(d.arrived_at),
            sender: d.sender().to_owned(),
            number_notation: d.number_and_notation(),
            document_date: time::Date::parse(&d.doc_date, &format).ok(),
            type_and_subject,
            handler: lead.unwrap_or_default(),
            transferred_on: assigned.map(day),
            note,
        });
    }
    crate::audit::record_read(
        store,
        actor,
        "incoming.register_book",
        format!("incoming_register:{}", register.id),
        register.agency_id,
        now,
    )
    .await?;
    let book = crate::documents::IncomingRegisterBook {
        agency_name: agency.name,
        register_name: register.name.clone(),
        from,
        to,
        rows: book_rows,
    };
    Ok((register, book))
}
