//! Incoming documents (văn bản đến, issue 18; Decree 30 arts. 20–24, NA-21.3): what arrived,
//! through which channel ([`kyso_domain::incoming::Channel`]), the verification on arrival
//! (done by the PDF side before [`intake`] is called: its verdict, reason codes and
//! `kyso.verify/1` report are stored with the record), the clerk's decision, the handling and
//! the recall by the sender ([`kyso_domain::incoming`] holds the rules).
//!
//! - **Arrival**: [`intake`] keeps the file byte for byte in the blob folder (named by its
//!   SHA-256, re-hashed on every read) and the record in state `received` (edXML status 01).
//!   The same document received twice by one agency — the same bytes, or the same sender,
//!   number, notation and date (an earlier refused or recalled one aside) — is refused with a
//!   conflict naming the earlier record. Deliveries of outgoing documents to an agency of the
//!   registry arrive through [`pending_deliveries`] and [`intake`] with channel `internal` and the
//!   delivery's id (unique: a delivery arrives once); their arrival time is the dispatch's.
//! - **Decision**: the clerk of the receiving agency registers (the next arrival number of the
//!   agency's incoming register for the year, Vietnam time: 1…n per register and year, no gap,
//!   no repeat — given under the store's one write lock like the outgoing numbers, and the
//!   unique (register, year, number) index refuses a duplicate even so) or refuses with a
//!   reason. An invalid document can never be registered; an indeterminate one only with the
//!   clerk's reason. A refusal of a document from inside kyso reaches the sender: a row in the
//!   sender document's timeline and a notice to the sender agency's clerks; from outside, a
//!   status message (edXML code 02, or an e-mail) waits in the outbox ([`pending_status_messages`])
//!   for whoever sends it.
//! - **Handling**: the leader (the signer role at the receiving agency) assigns a lead unit (the
//!   agency itself or one below it), coordinating units and a deadline; the lead unit starts and
//!   completes. Each state carries its edXML status code (04, 05, 06); an edXML sender is sent
//!   each one. [`run_deadline_reminders`] reminds the lead unit 3 days, 1 day before and on the
//!   deadline (once per stage: `incoming_reminders_sent`).
//! - **Recall**: when an outgoing document is recalled, its received copies are marked recalled
//!   (status 13) in the recall's own transaction and leave every queue; both sides log it.
//! - Every step is one write transaction begun with its scope check, with its timeline row and
//!   its audit entry (`incoming.<action>`). Records outside what the actor may read are *not
//!   found*; the lead and coordinating units read the documents assigned to them.

use kyso_domain::documents::{series_year, vietnam_date, Duty, Reach};
use kyso_domain::incoming::{
    Channel, DutyAt, IncomingAction, IncomingError, IncomingState, Verdict,
};
use kyso_domain::roles::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::audit::Event;
use crate::blobs::Blobs;
use crate::documents::{get_blob, stage_blob, MAX_FILE};
use crate::{Actor, Error, On, Record, Result, Store, WriteTx};

mod acting;
pub use acting::*;
mod copies;
pub use copies::*;
mod intake;
pub use intake::*;
mod outbox;
pub use outbox::*;
mod reading;
pub use reading::*;
mod reminders;
pub use reminders::*;

/// An incoming register of an agency: one yearly series of arrival numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingRegister {
    pub id: i64,
    pub agency_id: i64,
    /// Short name within the agency ("ĐẾN").
    pub code: String,
    pub name: String,
}

/// An incoming document.
#[derive(Debug, Clone, Serialize)]
pub struct Incoming {
    pub id: i64,
    /// The receiving agency.
    pub agency_id: i64,
    /// Its identifier code (dotted).
    pub agency_code: String,
    #[serde(skip)]
    pub agency_path: String,
    pub channel: Channel,
    /// A paper document scanned by the clerk (the copy carries its stamp).
    pub scanned: bool,
    pub state: IncomingState,
    /// The edXML status code of the state (01, 02, 03, 04, 05, 06, 13).
    pub status_code: String,
    /// The sender's identifier code ('' when not known).
    pub sender_code: String,
    pub sender_name: String,
    /// Where a refusal is e-mailed for a sender outside the registry ('' when none).
    pub sender_email: String,
    /// The number as the document shows it ("12"), '' when none.
    pub number: String,
    /// The notation ("QĐ-UBND"), '' when none.
    pub notation: String,
    /// The document date (`yyyy-mm-dd`), '' when not known.
    pub doc_date: String,
    /// The type's name as the sender gives it ("Quyết định", "Công văn").
    pub doc_type: String,
    pub subject: String,
    /// Who signed it, as the sender gives it.
    pub signer: String,
    /// Lowercase hex SHA-256 of the file: its name in the blob folder.
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub verdict: Verdict,
    /// The verification's reason codes (`kyso.verify/1`), most important first.
    pub reasons: Vec<String>,
    /// The SHA-256 of the report's PDF rendering, when one was made.
    pub report_pdf_sha256: Option<String>,
    /// The delivery it arrived by (channel `internal`).
    pub delivery_id: Option<i64>,
    /// The outgoing document it is a copy of (channel `internal`).
    pub source_document_id: Option<i64>,
    pub register_id: Option<i64>,
    pub arrival_year: Option<i64>,
    /// The arrival number (số đến), given at registration.
    pub arrival_number: Option<i64>,
    /// When it arrived (Unix seconds): the dispatch's time for an internal delivery.
    pub arrived_at: i64,
    pub received_by: i64,
    /// Who registered or refused it, and when.
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    /// The clerk's reason: why an indeterminate one was registered, why one was refused.
    pub decision_note: String,
    pub lead_unit_id: Option<i64>,
    /// The handling deadline (`yyyy-mm-dd`).
    pub deadline: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Incoming {
    /// "12/QĐ-UBND", or what is known of it.
    pub fn number_and_notation(&self) -> String {
        match (self.number.is_empty(), self.notation.is_empty()) {
            (false, false) => format!("{}/{}", self.number, self.notation),
            (false, true) => self.number.clone(),
            (true, false) => self.notation.clone(),
            (true, true) => String::new(),
        }
    }

    /// The sender as pages name it: its name, else its code.
    pub fn sender(&self) -> &str {
        if self.sender_name.is_empty() {
            &self.sender_code
        } else {
            &self.sender_name
        }
    }
}

pub(crate) const INCOMING_COLUMNS: &str = "i.id, i.agency_id, a.code, a.path, i.channel, \
     i.scanned, i.state, i.status_code, i.sender_code, i.sender_name, i.sender_email, i.number, \
     i.notation, i.doc_date, i.doc_type, i.subject, i.signer, i.sha256, i.size, i.file_name, \
     i.verdict, i.reasons, i.report_pdf_sha256, i.delivery_id, i.source_document_id, \
     i.register_id, i.arrival_year, i.arrival_number, i.arrived_at, i.received_by, \
     i.decided_by, i.decided_at, i.decision_note, i.lead_unit_id, i.deadline, i.created_at, \
     i.updated_at";

pub(crate) fn incoming_from(row: &AnyRow) -> Result<Incoming> {
    let parse = |s: String, what: &str| corrupt(&format!("{what} {s:?}"));
    let channel: String = row.try_get(4)?;
    let state: String = row.try_get(6)?;
    let verdict: String = row.try_get(20)?;
    let reasons: String = row.try_get(21)?;
    Ok(Incoming {
        id: row.try_get(0)?,
        agency_id: row.try_get(1)?,
        agency_code: row.try_get(2)?,
        agency_path: row.try_get(3)?,
        channel: Channel::parse(&channel).map_err(|_| parse(channel, "channel"))?,
        scanned: row.try_get::<i64, _>(5)? != 0,
        state: IncomingState::parse(&state).map_err(|_| parse(state, "state"))?,
        status_code: row.try_get(7)?,
        sender_code: row.try_get(8)?,
        sender_name: row.try_get(9)?,
        sender_email: row.try_get(10)?,
        number: row.try_get(11)?,
        notation: row.try_get(12)?,
        doc_date: row.try_get(13)?,
        doc_type: row.try_get(14)?,
        subject: row.try_get(15)?,
        signer: row.try_get(16)?,
        sha256: row.try_get(17)?,
        size: row.try_get(18)?,
        file_name: row.try_get(19)?,
        verdict: Verdict::parse(&verdict).map_err(|_| parse(verdict, "verdict"))?,
        reasons: reasons
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        report_pdf_sha256: row.try_get(22)?,
        delivery_id: row.try_get(23)?,
        source_document_id: row.try_get(24)?,
        register_id: row.try_get(25)?,
        arrival_year: row.try_get(26)?,
        arrival_number: row.try_get(27)?,
        arrived_at: row.try_get(28)?,
        received_by: row.try_get(29)?,
        decided_by: row.try_get(30)?,
        decided_at: row.try_get(31)?,
        decision_note: row.try_get(32)?,
        lead_unit_id: row.try_get(33)?,
        deadline: row.try_get(34)?,
        created_at: row.try_get(35)?,
        updated_at: row.try_get(36)?,
    })
}

fn corrupt(what: &str) -> Error {
    Error::Database(sqlx::Error::Decode(
        format!("stored incoming document: {what}").into(),
    ))
}

fn not_found() -> Error {
    Error::NotFound {
        what: Record::Document,
    }
}

/// Load an incoming document (no scope check: callers check).
pub(crate) async fn load_unchecked(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Incoming> {
    let row = sqlx::query(&format!(
        "SELECT {INCOMING_COLUMNS} FROM incoming_documents i JOIN agencies a ON a.id = i.agency_id \
         WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(not_found)?;
    incoming_from(&row)
}

/// The paths of the units assigned to handle `id` (lead first).
async fn unit_paths(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Vec<(i64, String, bool)>> {
    sqlx::query(
        "SELECT u.agency_id, a.path, u.lead FROM incoming_units u \
         JOIN agencies a ON a.id = u.agency_id WHERE u.incoming_id = $1 \
         ORDER BY u.lead DESC, u.agency_id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)? != 0)))
    .collect()
}

/// Whether `actor` may read `doc`: who reads the receiving agency's documents, or the
/// documents of a unit assigned to handle it. Else *not found*.
async fn check_visible(store: &Store, actor: &Actor, doc: &Incoming) -> Result<()> {
    if actor.can(Permission::ReadDocuments, &doc.agency_path) {
        return Ok(());
    }
    let mut conn = store.pool().acquire().await?;
    let units = unit_paths(&mut conn, doc.id).await?;
    if units
        .iter()
        .any(|(_, path, _)| actor.can(Permission::ReadDocuments, path))
    {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Whether one of `actor`'s grants gives `duty` for an agency `agency_id` at `path`.
fn holds(actor: &Actor, duty: Duty, agency_id: i64, path: &str) -> bool {
    if actor.is_system() {
        return duty.reach == Reach::Subtree;
    }
    actor.grants.iter().any(|g| {
        duty.granted_by(
            g.role,
            g.agency_id == agency_id,
            path.starts_with(g.path.as_str()),
        )
    })
}

/// The refusal of the rules as the store's error: a missing reason is invalid input, the rest
/// a conflict with the document's state.
pub(crate) fn rule_refusal(e: IncomingError) -> Error {
    let (field, vi, en) = (e.field(), e.message_vi(), e.message_en());
    if e.is_missing_input() {
        Error::Invalid { field, vi, en }
    } else {
        Error::Conflict { field, vi, en }
    }
}

/// Write a row of the incoming document's timeline.
#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut WriteTx,
    id: i64,
    action: &str,
    from: IncomingState,
    to: IncomingState,
    note: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let (user, name) = (tx.actor().user_id, tx.actor().username.clone());
    sqlx::query(
        "INSERT INTO incoming_events (incoming_id, action, from_state, to_state, status_code, \
         user_id, actor, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(action)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(to.status_code())
    .bind(user)
    .bind(name)
    .bind(note)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Queue a status message for a sender outside the registry: `via` is `edxml` (the axis's
/// status message, for the edXML writer) or `email`; `manual` records that no address is
/// known and the clerk tells the sender another way.
async fn queue_status(
    tx: &mut WriteTx,
    doc: &Incoming,
    to: IncomingState,
    description: &str,
    now: OffsetDateTime,
) -> Result<Option<&'static str>> {
    if doc.source_document_id.is_some() {
        return Ok(None);
    }
    let via = if doc.channel == Channel::Edxml {
        "edxml"
    } else if to != IncomingState::Refused {
        // Only edXML senders follow the handling; others are told of a refusal alone.
        return Ok(None);
    } else if !doc.sender_email.is_empty() {
        "email"
    } else if !doc.sender_code.is_empty() {
        "edxml"
    } else {
        "manual"
    };
    let recipient = match via {
        "email" => doc.sender_email.clone(),
        _ => doc.sender_code.clone(),
    };
    sqlx::query(
        "INSERT INTO incoming_outbox (incoming_id, status_code, via, recipient, description, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(doc.id)
    .bind(to.status_code())
    .bind(via)
    .bind(recipient)
    .bind(description)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    Ok(Some(via))
}

/// The action's name in the audit log: `incoming.<action>`.
fn audit_action(action: IncomingAction) -> String {
    format!("incoming.{}", action.as_str())
}

/// Where a step's duty is checked and whether `actor` holds it, *not found* first.
async fn check_step(
    store: &Store,
    actor: &Actor,
    doc: &Incoming,
    action: IncomingAction,
) -> Result<()> {
    check_visible(store, actor, doc).await?;
    let (Some(duty), at) = action.duty() else {
        return Err(Error::Forbidden);
    };
    let allowed = match at {
        DutyAt::Receiver => holds(actor, duty, doc.agency_id, &doc.agency_path),
        DutyAt::LeadUnit => {
            // The lead unit handles; the leader and the clerk oversee, the coordinating units
            // contribute (kyso_domain::incoming::may_handle).
            let mut conn = store.pool().acquire().await?;
            let units = unit_paths(&mut conn, doc.id).await?;
            let coordinating: Vec<&str> = units
                .iter()
                .filter(|(_, _, lead)| !*lead)
                .map(|(_, path, _)| path.as_str())
                .collect();
            units
                .iter()
                .filter(|(_, _, lead)| *lead)
                .any(|(_, lead, _)| {
                    actor.grants.iter().any(|g| {
                        kyso_domain::incoming::may_handle(g.role, &g.path, lead, &coordinating)
                    })
                })
        }
        DutyAt::System => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// A date field (`yyyy-mm-dd`), or '' when blank.
fn date_field(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(v, &format)
        .map(|_| v.to_owned())
        .map_err(|_| {
            Error::invalid(
                field,
                format!("Ngày \"{v}\" không đúng dạng năm-tháng-ngày (ví dụ 2026-06-01)."),
                format!("The date \"{v}\" is not year-month-day (for example 2026-06-01)."),
            )
        })
}

/// "2026-06-01" as Vietnamese write it, "01/06/2026" (anything else as is).
fn date_vi(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => iso.to_owned(),
    }
}
