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
//! - **The clerk's side** (migration 0015's `incoming_outbox_followups`): an e-mail message
//!   given up — refused for good, its retry window passed, or no SMTP at all
//!   ([`give_up_stale_status_emails`]) — is given up once, its clerks told in their inbox;
//!   what could not be sent (given up, failing, or with no address) is listed for the clerk
//!   ([`undelivered_status_messages`]), who sends it again, perhaps to a corrected address
//!   ([`resend_status_message`]), or marks it handled after telling the sender another way
//!   ([`handle_status_message`]); scoped as the connector's routes.

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

/// How many columns [`MESSAGE_COLUMNS`] reads (what a query selects after them starts there).
const MESSAGE_COLUMN_COUNT: usize = 21;

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
        "SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} \
         LEFT JOIN incoming_outbox_followups f ON f.outbox_id = o.id \
         WHERE o.via = 'email' AND o.sent_at IS NULL AND f.handled_at IS NULL \
         AND (o.created_at >= $1 OR COALESCE(f.retry_from, 0) >= $1) \
         AND (s.outbox_id IS NULL OR (s.given_up = 0 \
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
            sqlx::query(
                "UPDATE incoming_outbox_sends SET claimed_at = NULL, last_error = $1, \
                 next_attempt_at = $2 WHERE outbox_id = $3",
            )
            .bind(&error)
            .bind(t.saturating_add(backoff_seconds(attempts)))
            .bind(id)
            .execute(tx.conn())
            .await?;
            if matches!(outcome, SendOutcome::GiveUp(_)) {
                give_up_in(tx, id, &error, now).await
            } else {
                tx.commit().await
            }
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

/// An e-mail status message the server could not send (given up, or failing and retried), or
/// one no address was known for (`via = 'manual'`), not handled by the clerk yet: what the
/// clerk sees ("Thư báo không gửi được") to send it again or tell the sender another way.
#[derive(Debug, Clone, Serialize)]
pub struct UndeliveredMessage {
    #[serde(flatten)]
    pub message: OutboxMessage,
    /// Given up (refused for good, its retry window passed, or no mail server): not tried
    /// again unless the clerk sends it again. Else still retried at `next_attempt_at`.
    pub given_up: bool,
    pub given_up_at: Option<i64>,
    pub next_attempt_at: i64,
}

/// Filters for [`undelivered_status_messages`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UndeliveredQuery {
    /// Only this receiving agency's.
    pub agency_id: Option<i64>,
    /// Only this incoming document's.
    pub incoming_id: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<i64>,
}

const UNDELIVERED_WHERE: &str = "o.sent_at IS NULL AND f.handled_at IS NULL \
     AND (o.via = 'manual' OR (o.via = 'email' AND (COALESCE(s.given_up, 0) = 1 \
     OR COALESCE(s.last_error, '') <> '')))";

/// The status messages not sent to senders outside kyso that the clerk must see (given up,
/// failing, or with no address) of the agencies where `actor` takes in documents (the
/// permission to issue documents, its subtrees), newest first.
pub async fn undelivered_status_messages(
    store: &Store,
    actor: &Actor,
    query: &UndeliveredQuery,
) -> Result<Vec<UndeliveredMessage>> {
    let scope = actor.scope(Permission::IssueDocument);
    if scope.is_empty() {
        return Err(Error::Forbidden);
    }
    let (in_scope, params) = scope.sql("a.path", 4);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, COALESCE(s.given_up, 0), f.given_up_at, \
         COALESCE(s.next_attempt_at, 0) {MESSAGE_FROM} \
         LEFT JOIN incoming_outbox_followups f ON f.outbox_id = o.id \
         WHERE {UNDELIVERED_WHERE} AND ($1 = 0 OR i.agency_id = $1) \
         AND ($2 = 0 OR o.incoming_id = $2) AND {in_scope} ORDER BY o.id DESC LIMIT $3"
    );
    let mut q = sqlx::query(&sql)
        .bind(query.agency_id.unwrap_or(0))
        .bind(query.incoming_id.unwrap_or(0))
        .bind(query.limit.unwrap_or(100).clamp(1, 500));
    for p in &params {
        q = q.bind(p);
    }
    let rows = q.fetch_all(store.pool()).await?;
    let mut conn = store.pool().acquire().await?;
    let mut out = Vec::with_capacity(rows.len());
    let extra = MESSAGE_COLUMN_COUNT;
    for r in &rows {
        let (mut message, _) = message_from(r)?;
        complete(&mut conn, &mut message).await?;
        out.push(UndeliveredMessage {
            message,
            given_up: r.try_get::<i64, _>(extra)? != 0,
            given_up_at: r.try_get(extra + 1)?,
            next_attempt_at: r.try_get(extra + 2)?,
        });
    }
    Ok(out)
}

/// One message of [`undelivered_status_messages`] by id, with its agency's path, checked for
/// `actor` (*not found* outside what it reads, *forbidden* where it may not take in).
async fn undelivered(store: &Store, actor: &Actor, id: i64) -> Result<(OutboxMessage, String)> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} \
         LEFT JOIN incoming_outbox_followups f ON f.outbox_id = o.id \
         WHERE o.id = $1 AND o.via IN ('email', 'manual')"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(not_found)?;
    let (m, path) = message_from(&row)?;
    reach_message(actor, &path)?;
    Ok((m, path))
}

fn already_settled() -> Error {
    Error::conflict(
        "state",
        "Thư báo này đã được gửi hoặc đã được đánh dấu xử lý; hãy tải lại trang.",
        "This status message was already sent or marked as handled; reload the page.",
    )
}

/// Whether `s` can be an e-mail address (what SMTP will say is left to SMTP).
fn email_address(s: &str) -> Result<String> {
    let s = s.trim();
    let ok = s.len() <= 254
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ';')
        && s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Error::invalid(
            "recipient",
            "Địa chỉ thư điện tử không hợp lệ (ví dụ: vanthu@coquan.gov.vn).",
            "The e-mail address is not valid (e.g. clerk@agency.gov.vn).",
        ))
    }
}

/// The clerk sends status message `id` again (given up or failing; or one with no address,
/// once an address is given): `recipient`, when given, replaces the address; the message is
/// tried at the next round of the notice job, with a new retry window from now. Audited
/// `incoming.status_resend`. Only while not sent and not handled.
pub async fn resend_status_message(
    store: &Store,
    actor: &Actor,
    id: i64,
    recipient: Option<&str>,
    now: OffsetDateTime,
) -> Result<OutboxMessage> {
    let (m, path) = undelivered(store, actor, id).await?;
    let recipient = match recipient.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => email_address(r)?,
        None if m.via == "email" => m.recipient.clone(),
        None => {
            return Err(Error::invalid(
                "recipient",
                "Cần ghi địa chỉ thư điện tử của nơi gửi để gửi thư báo.",
                "Give the sender's e-mail address to send the status message.",
            ))
        }
    };
    let t = now.unix_timestamp();
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &path))
        .await?;
    let moved = sqlx::query(&format!(
        "UPDATE incoming_outbox SET via = 'email', recipient = $1 WHERE id = $2 AND id IN \
         (SELECT o.id {MESSAGE_FROM} LEFT JOIN incoming_outbox_followups f \
          ON f.outbox_id = o.id WHERE o.id = $2 AND {UNDELIVERED_WHERE})"
    ))
    .bind(&recipient)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(already_settled());
    }
    sqlx::query(
        "INSERT INTO incoming_outbox_sends (outbox_id) VALUES ($1) ON CONFLICT (outbox_id) \
         DO UPDATE SET given_up = 0, next_attempt_at = 0, claimed_at = NULL",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO incoming_outbox_followups (outbox_id, retry_from) VALUES ($1, $2) \
         ON CONFLICT (outbox_id) DO UPDATE SET retry_from = $2, given_up_at = NULL",
    )
    .bind(id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "incoming.status_resend",
            object: format!("incoming_outbox:{id}"),
            agency: Some(m.agency_code.clone()),
            detail: json!({
                "incoming_id": m.incoming_id,
                "status_code": m.status_code,
                "via": m.via,
                "recipient": recipient,
                "previous_recipient": m.recipient,
                "previous_error": m.last_error,
            }),
        },
        now,
    )
    .await?;
    Ok(OutboxMessage {
        via: "email".into(),
        recipient,
        ..m
    })
}

/// The clerk told the sender another way (by telephone, by post…): status message `id` is
/// handled, never sent by the server, and leaves the list; `note` says how. Audited
/// `incoming.status_handled`. Only while not sent and not handled.
pub async fn handle_status_message(
    store: &Store,
    actor: &Actor,
    id: i64,
    note: &str,
    now: OffsetDateTime,
) -> Result<OutboxMessage> {
    let note = kyso_domain::documents::meta::text("note", note, false)?;
    let (m, path) = undelivered(store, actor, id).await?;
    let t = now.unix_timestamp();
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &path))
        .await?;
    let open: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT o.id {MESSAGE_FROM} LEFT JOIN incoming_outbox_followups f \
         ON f.outbox_id = o.id WHERE o.id = $1 AND {UNDELIVERED_WHERE}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    if open.is_none() {
        return Err(already_settled());
    }
    sqlx::query(
        "INSERT INTO incoming_outbox_sends (outbox_id, given_up) VALUES ($1, 1) \
         ON CONFLICT (outbox_id) DO UPDATE SET given_up = 1, claimed_at = NULL",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO incoming_outbox_followups (outbox_id, handled_by, handled_at, handled_note) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (outbox_id) DO UPDATE \
         SET handled_by = $2, handled_at = $3, handled_note = $4",
    )
    .bind(id)
    .bind(actor.user_id)
    .bind(t)
    .bind(&note)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "incoming.status_handled",
            object: format!("incoming_outbox:{id}"),
            agency: Some(m.agency_code.clone()),
            detail: json!({
                "incoming_id": m.incoming_id,
                "status_code": m.status_code,
                "via": m.via,
                "recipient": m.recipient,
                "note": note,
            }),
        },
        now,
    )
    .await?;
    Ok(m)
}

/// Give up the e-mail status messages that can no longer be sent: those whose retry window
/// ([`STATUS_EMAIL_RETRY_DAYS`], from their queueing or the clerk's resend) has passed, and —
/// `no_mailer`: the server has no SMTP configured — every one waiting. Each given up once, its
/// clerks told (see [`settle_status_email`]). Returns how many. The system's (the notice job).
pub async fn give_up_stale_status_emails(
    store: &Store,
    now: OffsetDateTime,
    no_mailer: bool,
) -> Result<usize> {
    let t = now.unix_timestamp();
    let window = t.saturating_sub(STATUS_EMAIL_RETRY_DAYS * 86_400);
    let ids: Vec<(i64, String)> = sqlx::query_as(
        "SELECT o.id, COALESCE(s.last_error, '') FROM incoming_outbox o \
         LEFT JOIN incoming_outbox_sends s ON s.outbox_id = o.id \
         LEFT JOIN incoming_outbox_followups f ON f.outbox_id = o.id \
         WHERE o.via = 'email' AND o.sent_at IS NULL AND f.handled_at IS NULL \
         AND COALESCE(s.given_up, 0) = 0 AND (s.claimed_at IS NULL OR s.claimed_at < $3) \
         AND ($1 = 1 OR (o.created_at < $2 AND COALESCE(f.retry_from, 0) < $2)) \
         ORDER BY o.id LIMIT 500",
    )
    .bind(i64::from(no_mailer))
    .bind(window)
    .bind(t.saturating_sub(CLAIM_SECONDS))
    .fetch_all(store.pool())
    .await?;
    let mut done = 0;
    for (id, last_error) in ids {
        let why = if no_mailer {
            "Máy chủ chưa được cấu hình gửi thư điện tử (SMTP) / the server has no SMTP configured"
                .to_owned()
        } else {
            format!(
                "Hết {STATUS_EMAIL_RETRY_DAYS} ngày thử gửi lại / retried for \
                 {STATUS_EMAIL_RETRY_DAYS} days{}",
                if last_error.is_empty() {
                    String::new()
                } else {
                    format!(": {last_error}")
                }
            )
        };
        let mut tx = store.begin_write(&Actor::system(), On::System).await?;
        // Under the lock: still waiting (a round or a clerk may have settled it meanwhile).
        let still: Option<i64> = sqlx::query_scalar(
            "SELECT o.id FROM incoming_outbox o \
             LEFT JOIN incoming_outbox_sends s ON s.outbox_id = o.id \
             LEFT JOIN incoming_outbox_followups f ON f.outbox_id = o.id \
             WHERE o.id = $1 AND o.sent_at IS NULL AND f.handled_at IS NULL \
             AND COALESCE(s.given_up, 0) = 0",
        )
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
        if still.is_none() {
            tx.commit().await?;
            continue;
        }
        sqlx::query(
            "INSERT INTO incoming_outbox_sends (outbox_id, last_error) VALUES ($1, $2) \
             ON CONFLICT (outbox_id) DO UPDATE SET last_error = $2, claimed_at = NULL",
        )
        .bind(id)
        .bind(&why)
        .execute(tx.conn())
        .await?;
        give_up_in(tx, id, &why, now).await?;
        done += 1;
    }
    Ok(done)
}

/// Give up status message `id` inside `tx` and commit it: not tried again, the time kept, the
/// receiving agency's clerks and whoever took the step told ("Thư báo không gửi được", with
/// the reason and a link to the document's page), audited `incoming.status_given_up`.
async fn give_up_in(mut tx: WriteTx, id: i64, why: &str, now: OffsetDateTime) -> Result<()> {
    let t = now.unix_timestamp();
    sqlx::query(
        "INSERT INTO incoming_outbox_sends (outbox_id, given_up) VALUES ($1, 1) \
         ON CONFLICT (outbox_id) DO UPDATE SET given_up = 1, claimed_at = NULL",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO incoming_outbox_followups (outbox_id, given_up_at) VALUES ($1, $2) \
         ON CONFLICT (outbox_id) DO UPDATE SET given_up_at = $2",
    )
    .bind(id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS}, i.decided_by {MESSAGE_FROM} WHERE o.id = $1"
    ))
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let (m, _) = message_from(&row)?;
    let decided_by: Option<i64> = row.try_get(MESSAGE_COLUMN_COUNT)?;
    let mut users: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM user_roles WHERE agency_id = $1 AND role = $2 ORDER BY user_id",
    )
    .bind(m.agency_id)
    .bind(kyso_domain::roles::Role::Clerk.as_str())
    .fetch_all(tx.conn())
    .await?;
    users.extend(decided_by);
    let what = match m.number_and_notation().as_str() {
        "" => format!("“{}”", m.subject),
        n => format!("số {n} “{}”", m.subject),
    };
    let what_en = match m.number_and_notation().as_str() {
        "" => format!("“{}”", m.subject),
        n => format!("no. {n} “{}”", m.subject),
    };
    let told = super::reading::notify(
        &mut tx,
        users,
        "incoming",
        None,
        "status_given_up",
        &format!("/incoming/{}#status-messages", m.incoming_id),
        (
            &format!("Thư báo không gửi được: {}", m.subject),
            &format!("A status message could not be sent: {}", m.subject),
        ),
        (
            &format!(
                "Thư báo (mã {}) về văn bản đến {what} gửi {} không gửi được; máy chủ đã ngừng \
                 gửi lại.\nLý do: {why}\nĐề nghị gửi lại (có thể sửa địa chỉ) hoặc báo cho nơi \
                 gửi bằng cách khác rồi đánh dấu đã xử lý.",
                m.status_code, m.recipient
            ),
            &format!(
                "The status message (code {}) on the incoming document {what_en} to {} could \
                 not be sent; the server stopped retrying.\nReason: {why}\nSend it again \
                 (correcting the address if need be) or tell the sender another way and mark \
                 it handled.",
                m.status_code, m.recipient
            ),
        ),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "incoming.status_given_up",
            object: format!("incoming_outbox:{id}"),
            agency: Some(m.agency_code.clone()),
            detail: json!({
                "incoming_id": m.incoming_id,
                "status_code": m.status_code,
                "recipient": m.recipient,
                "attempts": m.attempts,
                "reason": why,
                "notified": told,
            }),
        },
        now,
    )
    .await
}
