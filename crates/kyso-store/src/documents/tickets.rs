//! One-time signing tickets (issue 17 item 3): what lets the signing service on an official's
//! computer (`kyso agent`, or the national CA's VGCA Sign Service) download the one version of a
//! document to sign and upload the signed file, without the official's session.
//!
//! - [`issue_ticket`]: only for a person who may take the signing step now
//!   ([`super::may_act`]), for the latest version; recorded with its id (`jti`), the account,
//!   the document, the version, the step and its expiry, and audited (`document.signing_ticket`).
//!   The ticket's token (a JWT) is made and checked by the web face; the store keeps what the
//!   token names, so a token is worth only what its row still allows.
//! - [`ticket_holder`]: the ticket of a download (valid, not used) and its holder as an actor.
//! - [`claim_ticket`]: an upload takes the ticket in one conditional write, so two uploads with
//!   one ticket cannot both go on; [`settle_ticket`] records the version the step stored;
//!   [`release_ticket`] gives it back when the server refused the file, until the
//!   [`MAX_REFUSALS`]-th refusal: a refused file does not cost the official a new ticket, a
//!   stolen ticket cannot be tried for ever.
//! - [`issue_attachment_ticket`]: the same for the clerk's organization signature of one
//!   attachment of an issued document (VGCA `SignAppendix`), only for whom
//!   `attachments::attachment_to_sign` allows it now, for the attachment's latest version. It
//!   is a row of the same table: `seq` is the attachment's version and `action` names the
//!   operation with its attachment, `sign_appendix:<attachment id>` (no new column: one
//!   ticket signs one thing, and the action says which).
//! - [`issue_copy_ticket`]: the same for a copy (SAO Y, SAO LỤC, TRÍCH SAO) of an issued
//!   document signed by the copying agency's clerk (VGCA `SignCopy`): `seq` is the source
//!   version, `action` is `sign_copy:<copying agency id>`, and the copy's number is reserved
//!   in the agency's series in the same transaction as the ticket (`super::copies`): the stamp
//!   the agent draws shows it. The number is made final with the signed copy
//!   (`super::sign_copy`) and given back once the ticket ends unused.

use super::*;
use crate::On;
use serde_json::json;
use time::OffsetDateTime;

/// How long a ticket is valid (seconds).
pub const TICKET_LIFETIME: i64 = 10 * 60;

/// Refused uploads that spend a ticket: after this many it takes no more.
pub const MAX_REFUSALS: i64 = 3;

/// A signing ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The ticket's id (the JWT's `jti`): 32 hex digits.
    pub jti: String,
    pub user_id: i64,
    /// The document; 0 for an incoming record's copy ([`Ticket::incoming_id`]).
    pub document_id: i64,
    /// The incoming record whose copy the ticket signs (`crate::incoming::copies`; `seq` then
    /// names what is signed); `None`: a document's.
    pub incoming_id: Option<i64>,
    /// The version to sign.
    pub seq: i64,
    /// The step whose duty signs: the document's own step, or [`DocAction::OrgSign`] (the
    /// clerk with the organization key) for an attachment.
    pub action: DocAction,
    /// The attachment the ticket signs (its `seq` is then the attachment's version); `None`:
    /// the document itself.
    pub attachment_id: Option<i64>,
    /// The copying agency of a copy's ticket (VGCA `SignCopy`; `seq` is the source version);
    /// `None`: not a copy.
    pub copy_agency_id: Option<i64>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// The operation of an attachment's ticket (VGCA `SignAppendix`); stored as
/// `sign_appendix:<attachment id>`.
pub const SIGN_APPENDIX: &str = "sign_appendix";

/// The operation of a copy's ticket (VGCA `SignCopy`); stored as
/// `sign_copy:<copying agency id>`.
pub const SIGN_COPY: &str = "sign_copy";

/// The stored `action` of a ticket: the step, `sign_appendix:<attachment id>` or
/// `sign_copy:<agency id>`.
fn stored_action(ticket: &Ticket) -> String {
    match (ticket.attachment_id, ticket.copy_agency_id) {
        (Some(a), _) => format!("{SIGN_APPENDIX}:{a}"),
        (None, Some(a)) => format!("{SIGN_COPY}:{a}"),
        (None, None) => ticket.action.as_str().to_owned(),
    }
}

/// What a stored `action` names: the step, the attachment, the copying agency.
type StoredAction = (DocAction, Option<i64>, Option<i64>);

/// The step, attachment and copying agency of a stored `action` (`None`: not one kyso
/// writes).
fn parse_stored_action(stored: &str) -> Option<StoredAction> {
    let id_of = |id: &str| {
        id.parse::<i64>()
            .ok()
            .filter(|i| *i > 0 && i.to_string() == id)
    };
    match stored.split_once(':') {
        Some((SIGN_APPENDIX, id)) => Some((DocAction::OrgSign, Some(id_of(id)?), None)),
        Some((SIGN_COPY, id)) => Some((DocAction::OrgSign, None, Some(id_of(id)?))),
        Some(_) => None,
        None => DocAction::parse(stored).ok().map(|a| (a, None, None)),
    }
}

impl Ticket {
    /// What the ticket is for, as stored and named in its token: the step (`sign_personal`,
    /// `org_sign`), [`SIGN_APPENDIX`] or [`SIGN_COPY`].
    pub fn op(&self) -> &'static str {
        if self.attachment_id.is_some() {
            SIGN_APPENDIX
        } else if self.copy_agency_id.is_some() {
            SIGN_COPY
        } else {
            self.action.as_str()
        }
    }
}

fn ticket_error(vi: &str, en: &str) -> Error {
    Error::invalid("ticket", vi, en)
}

fn unknown_ticket() -> Error {
    ticket_error(
        "Phiếu ký không hợp lệ. Hãy bấm \"Ký số\" lại trên trang văn bản.",
        "The signing ticket is not valid. Click \"Sign\" again on the document's page.",
    )
}

fn expired_ticket() -> Error {
    ticket_error(
        "Phiếu ký đã hết hạn. Hãy bấm \"Ký số\" lại trên trang văn bản.",
        "The signing ticket has expired. Click \"Sign\" again on the document's page.",
    )
}

fn used_ticket() -> Error {
    ticket_error(
        "Phiếu ký đã được dùng. Mỗi phiếu chỉ gửi được một tệp đã ký; hãy bấm \"Ký số\" lại \
         nếu cần.",
        "The signing ticket has been used. A ticket takes one signed file; click \"Sign\" again \
         if needed.",
    )
}

/// Issue a ticket for `actor` to take the signing `action` (`sign_personal` or `org_sign`) on
/// document `id` now, for its latest version, valid [`TICKET_LIFETIME`] seconds.
pub async fn issue_ticket(
    store: &Store,
    actor: &Actor,
    id: i64,
    action: DocAction,
    now: OffsetDateTime,
) -> Result<Ticket> {
    if !matches!(action, DocAction::SignPersonal | DocAction::OrgSign) {
        return Err(Error::invalid(
            "action",
            "Chỉ cấp phiếu ký cho bước ký số cá nhân hoặc ký số cơ quan.",
            "Signing tickets are only for the personal or the organization signature.",
        ));
    }
    may_act(store, actor, id, action).await?;
    let doc = load_unchecked(store, id).await?;
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM document_versions WHERE document_id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await?;
    let seq = seq.ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    let jti = crate::hex(&crate::random_bytes::<16>()?);
    let nowu = now.unix_timestamp();
    let ticket = Ticket {
        jti,
        user_id: actor.user_id,
        document_id: id,
        seq,
        action,
        attachment_id: None,
        copy_agency_id: None,
        incoming_id: None,
        issued_at: nowu,
        expires_at: nowu + TICKET_LIFETIME,
    };
    record_ticket(store, actor, &doc.agency_code, &ticket, now).await?;
    Ok(ticket)
}

/// Issue a ticket for `actor` — the clerk of the document's agency — to sign attachment
/// `attachment_id` of document `id` with the organization key now (VGCA `SignAppendix`), for
/// the attachment's latest version, valid [`TICKET_LIFETIME`] seconds. The checks are the
/// manual upload's (the document organization-signed and not dispatched, the attachment not
/// yet signed).
pub async fn issue_attachment_ticket(
    store: &Store,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
    now: OffsetDateTime,
) -> Result<Ticket> {
    let doc = load_unchecked(store, id).await?;
    let a = super::attachments::signable_attachment(store, actor, &doc, attachment_id).await?;
    let seq = a.latest().map(|v| v.seq).ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    let nowu = now.unix_timestamp();
    let ticket = Ticket {
        jti: crate::hex(&crate::random_bytes::<16>()?),
        user_id: actor.user_id,
        document_id: id,
        seq,
        action: DocAction::OrgSign,
        attachment_id: Some(attachment_id),
        copy_agency_id: None,
        incoming_id: None,
        issued_at: nowu,
        expires_at: nowu + TICKET_LIFETIME,
    };
    record_ticket(store, actor, &doc.agency_code, &ticket, now).await?;
    Ok(ticket)
}

/// Issue a ticket for `actor` — the clerk of agency `agency_id`, the issuer of document `id`
/// or a recipient of it — to sign a copy of its latest version in `form` with the organization
/// key now (VGCA `SignCopy`), valid [`TICKET_LIFETIME`] seconds; the copy's number is reserved
/// in the agency's series in the same transaction. The checks are `super::copies::copying_agency`'s
/// (a copy uploaded already signed through the API is issued one too).
pub async fn issue_copy_ticket(
    store: &Store,
    actor: &Actor,
    id: i64,
    agency_id: i64,
    form: CopyForm,
    now: OffsetDateTime,
) -> Result<(Ticket, super::CopyReservation)> {
    issue_copy_ticket_with(store, actor, id, agency_id, form, None, now).await
}

/// [`issue_copy_ticket`], with the extract of a TRÍCH SAO recorded with the ticket in its
/// transaction (`super::issue_extract_ticket`).
pub(super) async fn issue_copy_ticket_with(
    store: &Store,
    actor: &Actor,
    id: i64,
    agency_id: i64,
    form: CopyForm,
    extract: Option<&super::extracts::StagedExtract>,
    now: OffsetDateTime,
) -> Result<(Ticket, super::CopyReservation)> {
    let doc = load_unchecked(store, id).await?;
    let agency = super::copies::copying_agency(store, actor, &doc, agency_id).await?;
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM document_versions WHERE document_id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await?;
    let seq = seq.ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    let nowu = now.unix_timestamp();
    let ticket = Ticket {
        jti: crate::hex(&crate::random_bytes::<16>()?),
        user_id: actor.user_id,
        document_id: id,
        seq,
        action: DocAction::OrgSign,
        attachment_id: None,
        copy_agency_id: Some(agency.id),
        incoming_id: None,
        issued_at: nowu,
        expires_at: nowu + TICKET_LIFETIME,
    };
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    insert_ticket(&mut tx, &ticket).await?;
    if let Some(e) = extract {
        super::extracts::record(&mut tx, id, &agency.code, e, &ticket.jti, now).await?;
    }
    let (year, number) =
        super::copies::take_copy_number(&mut tx, &agency, id, form, Some(&ticket.jti), now).await?;
    let notation = kyso_domain::documents::CopyNotation { form }
        .with_number(u32::try_from(number).unwrap_or(u32::MAX));
    let mut detail = ticket_detail(&ticket);
    if let Some(d) = detail.as_object_mut() {
        d.insert("copy_agency_id".into(), json!(agency.id));
        d.insert("form".into(), json!(form.as_str()));
        d.insert("year".into(), json!(year));
        d.insert("number".into(), json!(number));
        d.insert("notation".into(), json!(notation));
    }
    tx.commit_audited(
        crate::audit::Event {
            action: "document.signing_ticket",
            object: format!("document:{id}"),
            agency: Some(agency.code.clone()),
            detail,
        },
        now,
    )
    .await?;
    let reservation = super::CopyReservation {
        ticket: ticket.jti.clone(),
        document_id: id,
        incoming_id: None,
        agency_id: agency.id,
        agency_name: agency.name.clone(),
        form,
        year,
        number,
        notation,
    };
    Ok((ticket, reservation))
}

/// The audit detail of an issued ticket.
pub(crate) fn ticket_detail(ticket: &Ticket) -> serde_json::Value {
    let mut detail = json!({
        "action": ticket.op(),
        "seq": ticket.seq,
        "ticket": ticket.jti,
        "expires_at": ticket.expires_at,
    });
    if let (Some(a), Some(d)) = (ticket.attachment_id, detail.as_object_mut()) {
        d.insert("attachment_id".into(), json!(a));
    }
    detail
}

/// Insert `ticket`'s row (and prune tickets that ended a day ago) in `tx`.
pub(crate) async fn insert_ticket(tx: &mut crate::WriteTx, ticket: &Ticket) -> Result<()> {
    // Tickets that ended a day ago are of no use to anyone (the audit log keeps their issue).
    sqlx::query("DELETE FROM signing_tickets WHERE expires_at < $1")
        .bind(ticket.issued_at - 86_400)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO signing_tickets (jti, user_id, document_id, incoming_id, seq, action, \
         issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&ticket.jti)
    .bind(ticket.user_id)
    .bind(ticket.incoming_id.is_none().then_some(ticket.document_id))
    .bind(ticket.incoming_id)
    .bind(ticket.seq)
    .bind(stored_action(ticket))
    .bind(ticket.issued_at)
    .bind(ticket.expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Store `ticket`, audited `document.signing_ticket`.
async fn record_ticket(
    store: &Store,
    actor: &Actor,
    agency_code: &str,
    ticket: &Ticket,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = store.begin_write(actor, On::Own).await?;
    insert_ticket(&mut tx, ticket).await?;
    tx.commit_audited(
        crate::audit::Event {
            action: "document.signing_ticket",
            object: format!("document:{}", ticket.document_id),
            agency: Some(agency_code.to_owned()),
            detail: ticket_detail(ticket),
        },
        now,
    )
    .await
}

/// The stored ticket `jti` with its state, and its holder as an actor (from `source`).
async fn load(store: &Store, jti: &str, source: &str) -> Result<(Ticket, Option<i64>, i64, Actor)> {
    if jti.len() != 32 || !jti.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown_ticket());
    }
    let row = sqlx::query(
        "SELECT t.user_id, COALESCE(t.document_id, 0), t.seq, t.action, t.issued_at, t.expires_at, \
         t.claimed_at, t.refusals, u.username, u.disabled, t.incoming_id \
         FROM signing_tickets t JOIN users u ON u.id = t.user_id WHERE t.jti = $1",
    )
    .bind(jti)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(unknown_ticket)?;
    let stored: String = row.try_get(3)?;
    let (action, attachment_id, copy_agency_id) =
        parse_stored_action(&stored).ok_or_else(unknown_ticket)?;
    let ticket = Ticket {
        jti: jti.to_owned(),
        user_id: row.try_get(0)?,
        document_id: row.try_get(1)?,
        seq: row.try_get(2)?,
        action,
        attachment_id,
        copy_agency_id,
        incoming_id: row.try_get(10)?,
        issued_at: row.try_get(4)?,
        expires_at: row.try_get(5)?,
    };
    // A disabled account's tickets end with its sessions.
    if row.try_get::<i64, _>(9)? != 0 {
        return Err(unknown_ticket());
    }
    let actor = crate::accounts::actor_for(store, ticket.user_id, row.try_get(8)?, source).await?;
    Ok((ticket, row.try_get(6)?, row.try_get(7)?, actor))
}

/// The ticket of a download: known, not expired, not used; with its holder.
pub async fn ticket_holder(
    store: &Store,
    jti: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<(Ticket, Actor)> {
    let (ticket, claimed, refusals, actor) = load(store, jti, source).await?;
    if ticket.expires_at <= now.unix_timestamp() {
        return Err(expired_ticket());
    }
    if claimed.is_some() || refusals >= MAX_REFUSALS {
        return Err(used_ticket());
    }
    Ok((ticket, actor))
}

/// Take the ticket for one upload: at most one upload holds it at a time, and none after it
/// was settled. Its holder as an actor.
pub async fn claim_ticket(
    store: &Store,
    jti: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<(Ticket, Actor)> {
    let (ticket, _, _, actor) = load(store, jti, source).await?;
    let nowu = now.unix_timestamp();
    let mut tx = store.begin_write(&actor, On::Own).await?;
    let taken = sqlx::query(
        "UPDATE signing_tickets SET claimed_at = $1 WHERE jti = $2 AND user_id = $3 \
         AND claimed_at IS NULL AND expires_at > $1 AND refusals < $4",
    )
    .bind(nowu)
    .bind(jti)
    .bind(actor.user_id)
    .bind(MAX_REFUSALS)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    if taken == 1 {
        Ok((ticket, actor))
    } else if ticket.expires_at <= nowu {
        Err(expired_ticket())
    } else {
        Err(used_ticket())
    }
}

/// Give a claimed ticket back after its upload was refused (one refusal more counted).
pub async fn release_ticket(store: &Store, actor: &Actor, jti: &str) -> Result<()> {
    let mut tx = store.begin_write(actor, On::Own).await?;
    sqlx::query(
        "UPDATE signing_tickets SET claimed_at = NULL, refusals = refusals + 1 \
         WHERE jti = $1 AND user_id = $2 AND used_version IS NULL",
    )
    .bind(jti)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Record the version the ticket's step stored; the ticket stays used.
pub async fn settle_ticket(
    store: &Store,
    actor: &Actor,
    jti: &str,
    version: Option<i64>,
) -> Result<()> {
    let mut tx = store.begin_write(actor, On::Own).await?;
    sqlx::query("UPDATE signing_tickets SET used_version = $1 WHERE jti = $2 AND user_id = $3")
        .bind(version.unwrap_or(0))
        .bind(jti)
        .bind(actor.user_id)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_action_names_the_step_the_attachment_or_the_copy() {
        let mut t = Ticket {
            jti: "0".repeat(32),
            user_id: 1,
            document_id: 2,
            seq: 1,
            action: DocAction::OrgSign,
            attachment_id: Some(17),
            copy_agency_id: None,
            incoming_id: None,
            issued_at: 0,
            expires_at: 600,
        };
        assert_eq!(stored_action(&t), "sign_appendix:17");
        assert_eq!(t.op(), "sign_appendix");
        assert_eq!(
            parse_stored_action("sign_appendix:17"),
            Some((DocAction::OrgSign, Some(17), None))
        );
        t.attachment_id = None;
        assert_eq!(stored_action(&t), "org_sign");
        assert_eq!(
            parse_stored_action("sign_personal"),
            Some((DocAction::SignPersonal, None, None))
        );
        t.copy_agency_id = Some(5);
        assert_eq!(stored_action(&t), "sign_copy:5");
        assert_eq!(t.op(), "sign_copy");
        assert_eq!(
            parse_stored_action("sign_copy:5"),
            Some((DocAction::OrgSign, None, Some(5)))
        );
        for bad in [
            "sign_appendix",
            "sign_appendix:",
            "sign_appendix:0",
            "sign_appendix:-3",
            "sign_appendix:017",
            "sign_appendix:1:2",
            "sign_copy",
            "sign_copy:",
            "sign_copy:0",
            "sign_copy:x",
            "org_sign:4",
            "nonsense",
        ] {
            assert_eq!(parse_stored_action(bad), None, "{bad}");
        }
    }
}
