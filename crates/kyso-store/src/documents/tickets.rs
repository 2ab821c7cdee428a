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
    pub document_id: i64,
    /// The version to sign.
    pub seq: i64,
    /// The step whose duty signs: the document's own step, or [`DocAction::OrgSign`] (the
    /// clerk with the organization key) for an attachment.
    pub action: DocAction,
    /// The attachment the ticket signs (its `seq` is then the attachment's version); `None`:
    /// the document itself.
    pub attachment_id: Option<i64>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// The operation of an attachment's ticket (VGCA `SignAppendix`); stored as
/// `sign_appendix:<attachment id>`.
pub const SIGN_APPENDIX: &str = "sign_appendix";

/// The stored `action` of a ticket: the step, or `sign_appendix:<attachment id>`.
fn stored_action(ticket: &Ticket) -> String {
    match ticket.attachment_id {
        Some(a) => format!("{SIGN_APPENDIX}:{a}"),
        None => ticket.action.as_str().to_owned(),
    }
}

/// The step and attachment of a stored `action` (`None`: not one kyso writes).
fn parse_stored_action(stored: &str) -> Option<(DocAction, Option<i64>)> {
    match stored.split_once(':') {
        Some((SIGN_APPENDIX, id)) => {
            let id = id
                .parse::<i64>()
                .ok()
                .filter(|i| *i > 0 && i.to_string() == id)?;
            Some((DocAction::OrgSign, Some(id)))
        }
        Some(_) => None,
        None => DocAction::parse(stored).ok().map(|a| (a, None)),
    }
}

impl Ticket {
    /// What the ticket is for, as stored and named in its token: the step (`sign_personal`,
    /// `org_sign`) or [`SIGN_APPENDIX`].
    pub fn op(&self) -> &'static str {
        if self.attachment_id.is_some() {
            SIGN_APPENDIX
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
        issued_at: nowu,
        expires_at: nowu + TICKET_LIFETIME,
    };
    record_ticket(store, actor, &doc.agency_code, &ticket, now).await?;
    Ok(ticket)
}

/// Store `ticket` (and prune tickets that ended a day ago), audited `document.signing_ticket`.
async fn record_ticket(
    store: &Store,
    actor: &Actor,
    agency_code: &str,
    ticket: &Ticket,
    now: OffsetDateTime,
) -> Result<()> {
    let nowu = now.unix_timestamp();
    let mut tx = store.begin_write(actor, On::Own).await?;
    // Tickets that ended a day ago are of no use to anyone (the audit log keeps their issue).
    sqlx::query("DELETE FROM signing_tickets WHERE expires_at < $1")
        .bind(nowu - 86_400)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO signing_tickets (jti, user_id, document_id, seq, action, issued_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&ticket.jti)
    .bind(ticket.user_id)
    .bind(ticket.document_id)
    .bind(ticket.seq)
    .bind(stored_action(ticket))
    .bind(ticket.issued_at)
    .bind(ticket.expires_at)
    .execute(tx.conn())
    .await?;
    let mut detail = json!({
        "action": ticket.op(),
        "seq": ticket.seq,
        "ticket": ticket.jti,
        "expires_at": ticket.expires_at,
    });
    if let (Some(a), Some(d)) = (ticket.attachment_id, detail.as_object_mut()) {
        d.insert("attachment_id".into(), json!(a));
    }
    tx.commit_audited(
        crate::audit::Event {
            action: "document.signing_ticket",
            object: format!("document:{}", ticket.document_id),
            agency: Some(agency_code.to_owned()),
            detail,
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
        "SELECT t.user_id, t.document_id, t.seq, t.action, t.issued_at, t.expires_at, \
         t.claimed_at, t.refusals, u.username, u.disabled \
         FROM signing_tickets t JOIN users u ON u.id = t.user_id WHERE t.jti = $1",
    )
    .bind(jti)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(unknown_ticket)?;
    let stored: String = row.try_get(3)?;
    let (action, attachment_id) = parse_stored_action(&stored).ok_or_else(unknown_ticket)?;
    let ticket = Ticket {
        jti: jti.to_owned(),
        user_id: row.try_get(0)?,
        document_id: row.try_get(1)?,
        seq: row.try_get(2)?,
        action,
        attachment_id,
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
    fn the_stored_action_names_the_step_or_the_attachment() {
        let mut t = Ticket {
            jti: "0".repeat(32),
            user_id: 1,
            document_id: 2,
            seq: 1,
            action: DocAction::OrgSign,
            attachment_id: Some(17),
            issued_at: 0,
            expires_at: 600,
        };
        assert_eq!(stored_action(&t), "sign_appendix:17");
        assert_eq!(t.op(), "sign_appendix");
        assert_eq!(
            parse_stored_action("sign_appendix:17"),
            Some((DocAction::OrgSign, Some(17)))
        );
        t.attachment_id = None;
        assert_eq!(stored_action(&t), "org_sign");
        assert_eq!(
            parse_stored_action("sign_personal"),
            Some((DocAction::SignPersonal, None))
        );
        for bad in [
            "sign_appendix",
            "sign_appendix:",
            "sign_appendix:0",
            "sign_appendix:-3",
            "sign_appendix:017",
            "sign_appendix:1:2",
            "org_sign:4",
            "nonsense",
        ] {
            assert_eq!(parse_stored_action(bad), None, "{bad}");
        }
    }
}
