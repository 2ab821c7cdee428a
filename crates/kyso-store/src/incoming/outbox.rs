//! Sending the status messages of the outbox (migration 0011's `incoming_outbox`, sending
//! state in 0014's `incoming_outbox_sends`) and the edXML origin of documents that arrived as
//! packages (`incoming_edxml`).
//!
//! - **E-mail** (`via = 'email'`): the server's mailer claims a batch ([`claim_status_emails`]:
//!   one write transaction marks each row claimed and counts the attempt, so two senders — two
//!   rounds, two nodes — never take one row), hands each to SMTP, then settles it
//!   ([`settle_status_email`]): accepted → `sent_at` with the audit entry
//!   `incoming.status_sent`; refused for now → the claim is dropped, the error kept and the
//!   next attempt moved on by [`backoff_seconds`]; refused for good (an address the server
//!   rejects) → given up. A sender that stops between the SMTP server's acceptance and the
//!   settlement (a `kill -9`) leaves its claim: after [`CLAIM_SECONDS`] the row is claimed
//!   again and sent once more with the same `Message-ID` — at-least-once in that window only,
//!   the duplicate recognisable by its id. Rows are tried for [`STATUS_EMAIL_RETRY_DAYS`].
//! - **edXML** (`via = 'edxml'`): the exchange connector of the provincial document axis lists
//!   the pending messages of the agencies it acts for ([`exchange_outbox`]), reads one
//!   ([`exchange_message`]) and acknowledges its delivery ([`ack_exchange_message`]: `sent_at`
//!   and who, audited `incoming.status_delivered`). Scoped like the clerk's steps: the
//!   permission to issue documents at the receiving agency (its subtree); others' messages are
//!   *not found*.

use super::*;

/// How long a claim protects a row from another sender (a sender stopped mid-send leaves it).
pub const CLAIM_SECONDS: i64 = 600;
/// How long an e-mail status message is retried after it was queued.
pub const STATUS_EMAIL_RETRY_DAYS: i64 = 3;

/// The wait before the next attempt after `attempts` failed ones: one minute, doubling, at
/// most six hours.
pub fn backoff_seconds(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (60_i64 << shift).min(6 * 3600)
}

/// What a status message is about, read with it: the incoming document and its agency.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub incoming_id: i64,
    /// The edXML status code (02 refused, 03 registered, 04, 05, 06).
    pub status_code: String,
    /// `email` or `edxml` (`manual` rows are listed by neither).
    pub via: String,
    /// The sender's e-mail address, or its identifier code.
    pub recipient: String,
    /// The reason of a refusal, the note of a step.
    pub description: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub last_error: String,
    /// The receiving agency.
    pub agency_id: i64,
    pub agency_code: String,
    pub agency_name: String,
    pub sender_code: String,
    pub sender_name: String,
    pub number: String,
    pub notation: String,
    /// `yyyy-mm-dd`, or ''.
    pub doc_date: String,
    pub doc_type: String,
    pub subject: String,
    /// Who took the step the message reports (full name, e-mail), when known.
    pub staff_name: String,
    pub staff_email: String,
    /// For a document that arrived as an edXML package: how its sender named it.
    pub origin: Option<EdxmlOrigin>,
}

impl OutboxMessage {
    /// "12/QĐ-UBND", or what is known of it.
    pub fn number_and_notation(&self) -> String {
        match (self.number.is_empty(), self.notation.is_empty()) {
            (false, false) => format!("{}/{}", self.number, self.notation),
            (false, true) => self.number.clone(),
            (true, false) => self.notation.clone(),
            (true, true) => String::new(),
        }
    }
}

/// What an edXML package said of its document beyond the record's columns.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EdxmlOrigin {
    /// `From/OrganId` as received.
    pub organ_id: String,
    /// `DocumentId` as received ('' when the package had none).
    pub document_id: String,
    /// `PromulgationInfo/PromulgationDate` as received.
    pub promulgation_date: String,
    /// The rest of the header as JSON (kyso-web's choice of fields).
    pub header: serde_json::Value,
    /// The whole package in the blob folder.
    pub package_sha256: String,
}

const MESSAGE_COLUMNS: &str = "o.id, o.incoming_id, o.status_code, o.via, o.recipient, \
     o.description, o.created_at, o.sent_at, COALESCE(s.attempts, 0), \
     COALESCE(s.last_error, ''), i.agency_id, a.code, a.name, i.sender_code, i.sender_name, \
     i.number, i.notation, i.doc_date, i.doc_type, i.subject, a.path";

const MESSAGE_FROM: &str = "FROM incoming_outbox o \
     JOIN incoming_documents i ON i.id = o.incoming_id \
     JOIN agencies a ON a.id = i.agency_id \
     LEFT JOIN incoming_outbox_sends s ON s.outbox_id = o.id";

/// A row of [`MESSAGE_COLUMNS`] and its agency's path.
fn message_from(r: &AnyRow) -> Result<(OutboxMessage, String)> {
    Ok((
        OutboxMessage {
            id: r.try_get(0)?,
            incoming_id: r.try_get(1)?,
            status_code: r.try_get(2)?,
            via: r.try_get(3)?,
            recipient: r.try_get(4)?,
            description: r.try_get(5)?,
            created_at: r.try_get(6)?,
            sent_at: r.try_get(7)?,
            attempts: r.try_get(8)?,
            last_error: r.try_get(9)?,
            agency_id: r.try_get(10)?,
            agency_code: r.try_get(11)?,
            agency_name: r.try_get(12)?,
            sender_code: r.try_get(13)?,
            sender_name: r.try_get(14)?,
            number: r.try_get(15)?,
            notation: r.try_get(16)?,
            doc_date: r.try_get(17)?,
            doc_type: r.try_get(18)?,
            subject: r.try_get(19)?,
            staff_name: String::new(),
            staff_email: String::new(),
            origin: None,
        },
        r.try_get(20)?,
    ))
}

/// Fill who took the step (the latest timeline row reaching the message's status code at or
/// before it) and the edXML origin.
async fn complete(conn: &mut sqlx::AnyConnection, m: &mut OutboxMessage) -> Result<()> {
    let staff = sqlx::query(
        "SELECT COALESCE(u.full_name, e.actor), COALESCE(u.email, '') FROM incoming_events e \
         LEFT JOIN users u ON u.id = e.user_id WHERE e.incoming_id = $1 AND e.status_code = $2 \
         AND e.created_at <= $3 ORDER BY e.id DESC LIMIT 1",
    )
    .bind(m.incoming_id)
    .bind(&m.status_code)
    .bind(m.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(r) = staff {
        m.staff_name = r.try_get(0)?;
        m.staff_email = r.try_get(1)?;
    }
    m.origin = edxml_origin_in(conn, m.incoming_id).await?;
    Ok(())
}

async fn edxml_origin_in(
    conn: &mut sqlx::AnyConnection,
    incoming_id: i64,
) -> Result<Option<EdxmlOrigin>> {
    let Some(r) = sqlx::query(
        "SELECT organ_id, document_id, promulgation_date, header, package_sha256 \
         FROM incoming_edxml WHERE incoming_id = $1",
    )
    .bind(incoming_id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let header: String = r.try_get(3)?;
    Ok(Some(EdxmlOrigin {
        organ_id: r.try_get(0)?,
        document_id: r.try_get(1)?,
        promulgation_date: r.try_get(2)?,
        header: serde_json::from_str(&header).map_err(|e| corrupt(&e.to_string()))?,
        package_sha256: r.try_get(4)?,
    }))
}

/// Record what the edXML package of incoming document `id` said beyond the record (once; the
/// package itself is kept in the blob folder), audited `incoming.edxml_header`. For who took
/// the document in (the permission to issue documents at its agency).
pub async fn record_edxml_origin(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    origin: &EdxmlOrigin,
    package: &[u8],
    now: OffsetDateTime,
) -> Result<()> {
    let mut conn = store.pool().acquire().await?;
    let doc = load_unchecked(&mut conn, id).await?;
    drop(conn);
    if doc.channel != Channel::Edxml {
        return Err(Error::invalid(
            "channel",
            "Văn bản này không đến qua gói edXML.",
            "This document did not arrive as an edXML package.",
        ));
    }
    let sha = put_blob(blobs, package).await?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::IssueDocument, &doc.agency_path),
        )
        .await?;
    sqlx::query(
        "INSERT INTO incoming_edxml (incoming_id, organ_id, document_id, promulgation_date, \
         header, package_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&origin.organ_id)
    .bind(&origin.document_id)
    .bind(&origin.promulgation_date)
    .bind(origin.header.to_string())
    .bind(&sha)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await
    .map_err(crate::unique(
        "incoming_id",
        "Gói edXML của văn bản này đã được ghi nhận.",
        "The edXML package of this document is already recorded.",
    ))?;
    tx.commit_audited(
        Event {
            action: "incoming.edxml_header",
            object: format!("incoming:{id}"),
            agency: Some(doc.agency_code.clone()),
            detail: json!({
                "organ_id": origin.organ_id,
                "document_id": origin.document_id,
                "package_sha256": sha,
                "package_size": package.len(),
            }),
        },
        now,
    )
    .await
}

/// The edXML origin of incoming document `id`, for who may read it.
pub async fn edxml_origin(store: &Store, actor: &Actor, id: i64) -> Result<Option<EdxmlOrigin>> {
    let mut conn = store.pool().acquire().await?;
    let doc = load_unchecked(&mut conn, id).await?;
    check_visible(store, actor, &doc).await?;
    edxml_origin_in(&mut conn, id).await
}

/// Claim at most `limit` e-mail status messages due now (never sent, not given up, within
/// [`STATUS_EMAIL_RETRY_DAYS`], their backoff passed, not claimed by a live sender), oldest
/// first: each is marked claimed and its attempt counted in one write transaction before
/// anything is sent. The system's (the server's notice job).
pub async fn claim_status_emails(
    store: &Store,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<OutboxMessage>> {
    let t = now.unix_timestamp();
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    let rows = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} WHERE o.via = 'email' AND o.sent_at IS NULL \
         AND o.created_at >= $1 AND (s.outbox_id IS NULL OR (s.given_up = 0 \
         AND s.next_attempt_at <= $2 AND (s.claimed_at IS NULL OR s.claimed_at < $3))) \
         ORDER BY o.id LIMIT $4"
    ))
    .bind(t.saturating_sub(STATUS_EMAIL_RETRY_DAYS * 86_400))
    .bind(t)
    .bind(t.saturating_sub(CLAIM_SECONDS))
    .bind(limit.clamp(1, 500))
    .fetch_all(tx.conn())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (mut m, _) = message_from(r)?;
        sqlx::query(
            "INSERT INTO incoming_outbox_sends (outbox_id, attempts, claimed_at) \
             VALUES ($1, 1, $2) ON CONFLICT (outbox_id) DO UPDATE \
             SET attempts = incoming_outbox_sends.attempts + 1, claimed_at = $2",
        )
        .bind(m.id)
        .bind(t)
        .execute(tx.conn())
        .await?;
        m.attempts += 1;
        complete(tx.conn(), &mut m).await?;
        out.push(m);
    }
    tx.commit().await?;
    Ok(out)
}

/// How a claimed e-mail went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The SMTP server accepted it.
    Sent,
    /// Refused for now (a connection failure, a 4xx): tried again after the backoff.
    Retry(String),
    /// Refused for good (an address the server rejects, a 5xx): not tried again.
    GiveUp(String),
}

/// Settle a claimed e-mail status message: sent (`sent_at`, audited `incoming.status_sent`),
/// or its error kept with the next attempt after [`backoff_seconds`], or given up. The claim
/// is dropped in every case.
pub async fn settle_status_email(
    store: &Store,
    id: i64,
    outcome: &SendOutcome,
    now: OffsetDateTime,
) -> Result<()> {
    let t = now.unix_timestamp();
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    let row = sqlx::query(
        "SELECT o.incoming_id, o.status_code, a.code, COALESCE(s.attempts, 0) \
         FROM incoming_outbox o JOIN incoming_documents i ON i.id = o.incoming_id \
         JOIN agencies a ON a.id = i.agency_id \
         LEFT JOIN incoming_outbox_sends s ON s.outbox_id = o.id WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(not_found)?;
    let (incoming_id, code, agency, attempts): (i64, String, String, i64) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    );
    match outcome {
        SendOutcome::Sent => {
            sqlx::query(
                "UPDATE incoming_outbox SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL",
            )
            .bind(t)
            .bind(id)
            .execute(tx.conn())
            .await?;
            sqlx::query(
                "UPDATE incoming_outbox_sends SET claimed_at = NULL, last_error = '' \
                 WHERE outbox_id = $1",
            )
            .bind(id)
            .execute(tx.conn())
            .await?;
            tx.commit_audited(
                Event {
                    action: "incoming.status_sent",
                    object: format!("incoming_outbox:{id}"),
                    agency: Some(agency),
                    detail: json!({
                        "via": "email",
                        "incoming_id": incoming_id,
                        "status_code": code,
                        "attempts": attempts,
                    }),
                },
                now,
            )
            .await
        }
        SendOutcome::Retry(e) | SendOutcome::GiveUp(e) => {
            let error: String = e.chars().take(500).collect();
            let give_up = matches!(outcome, SendOutcome::GiveUp(_));
            sqlx::query(
                "UPDATE incoming_outbox_sends SET claimed_at = NULL, last_error = $1, \
                 next_attempt_at = $2, given_up = $3 WHERE outbox_id = $4",
            )
            .bind(error)
            .bind(t.saturating_add(backoff_seconds(attempts)))
            .bind(i64::from(give_up))
            .bind(id)
            .execute(tx.conn())
            .await?;
            tx.commit().await
        }
    }
}

/// The scope rule of one message: *not found* where the actor cannot read the receiving
/// agency's documents, *forbidden* where it can but may not issue (take in) documents there.
fn reach_message(actor: &Actor, path: &str) -> Result<()> {
    if !actor.can(Permission::ReadDocuments, path) {
        Err(not_found())
    } else if !actor.can(Permission::IssueDocument, path) {
        Err(Error::Forbidden)
    } else {
        Ok(())
    }
}

/// The edXML status messages not delivered yet of the agencies where `actor` may take in
/// documents (the permission to issue documents, its subtrees), optionally of one agency,
/// oldest first (at most `limit`, default 100, at most 500).
pub async fn exchange_outbox(
    store: &Store,
    actor: &Actor,
    agency_id: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<OutboxMessage>> {
    let scope = actor.scope(Permission::IssueDocument);
    if scope.is_empty() {
        return Err(Error::Forbidden);
    }
    let (in_scope, params) = scope.sql("a.path", 3);
    let sql = format!(
        "SELECT o.id FROM incoming_outbox o JOIN incoming_documents i ON i.id = o.incoming_id \
         JOIN agencies a ON a.id = i.agency_id WHERE o.via = 'edxml' AND o.sent_at IS NULL \
         AND ($1 = 0 OR i.agency_id = $1) AND {in_scope} ORDER BY o.id LIMIT $2"
    );
    let mut q = sqlx::query_as::<_, (i64,)>(&sql)
        .bind(agency_id.unwrap_or(0))
        .bind(limit.unwrap_or(100).clamp(1, 500));
    for p in &params {
        q = q.bind(p);
    }
    let ids = q.fetch_all(store.pool()).await?;
    let mut conn = store.pool().acquire().await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id,) in ids {
        out.push(load_message(&mut conn, id).await?.0);
    }
    Ok(out)
}

async fn load_message(conn: &mut sqlx::AnyConnection, id: i64) -> Result<(OutboxMessage, String)> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} WHERE o.id = $1 AND o.via = 'edxml'"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(not_found)?;
    let (mut m, path) = message_from(&row)?;
    complete(conn, &mut m).await?;
    Ok((m, path))
}

/// One edXML status message (delivered or not), for who may take in documents at its
/// agency; the read is audited (`incoming.status_read`, the agency's auditors see it) before
/// it is returned.
pub async fn exchange_message(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<OutboxMessage> {
    let mut conn = store.pool().acquire().await?;
    let (m, path) = load_message(&mut conn, id).await?;
    drop(conn);
    reach_message(actor, &path)?;
    crate::audit::record_read(
        store,
        actor,
        "incoming.status_read",
        format!("incoming_outbox:{id}"),
        m.agency_id,
        now,
    )
    .await?;
    Ok(m)
}

/// The exchange connector confirms it delivered edXML status message `id`: `sent_at` (kept
/// from the first acknowledgement: acknowledging again changes nothing and says so) and who,
/// audited `incoming.status_delivered`. Returns the message and whether this call delivered it.
pub async fn ack_exchange_message(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<(OutboxMessage, bool)> {
    let mut conn = store.pool().acquire().await?;
    let (_, path) = load_message(&mut conn, id).await?;
    drop(conn);
    reach_message(actor, &path)?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &path))
        .await?;
    let done = sqlx::query(
        "UPDATE incoming_outbox SET sent_at = $1 WHERE id = $2 AND via = 'edxml' \
         AND sent_at IS NULL",
    )
    .bind(now.unix_timestamp())
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    let (m, _) = load_message(tx.conn(), id).await?;
    if !done {
        tx.commit().await?;
        return Ok((m, false));
    }
    sqlx::query(
        "INSERT INTO incoming_outbox_sends (outbox_id, acked_by) VALUES ($1, $2) \
         ON CONFLICT (outbox_id) DO UPDATE SET acked_by = $2",
    )
    .bind(id)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "incoming.status_delivered",
            object: format!("incoming_outbox:{id}"),
            agency: Some(m.agency_code.clone()),
            detail: json!({
                "via": "edxml",
                "incoming_id": m.incoming_id,
                "status_code": m.status_code,
                "recipient": m.recipient,
            }),
        },
        now,
    )
    .await?;
    Ok((m, true))
}
