//! Copies (SAO Y, SAO LỤC, TRÍCH SAO) of issued documents, numbered in the copying agency's
//! own yearly series shared by the three forms ("05/SY"), made and organization-signed by
//! that agency's clerk (the issuer's, or a recipient's that received the document).
//!
//! Numbers are taken as documents' are (issue 17 item 5, `copy_numbers`): a copy signed in one
//! click through the signing service (VGCA `SignCopy`, `super::tickets::issue_copy_ticket`)
//! shows its number on its stamp, so the number is *reserved* with the clerk's one-time ticket,
//! made final ([`sign_copy`]) in the transaction that records the signed copy, and *released*,
//! with why (`copy_number_releases`, audited `document.copy_number_release`), once its ticket
//! ended unused: expired, spent by refused uploads ([`super::MAX_REFUSALS`]), or gone. The
//! lowest released number of a series is the next one reserved, so the issued numbers of an
//! agency's year are 1…n without repeats, and a gap only while a ticket is out or until the
//! next copy is made. A copy uploaded already signed through the API goes the same way (its
//! ticket issued and its upload checked at once, the number released at once when refused:
//! [`withdraw_copy_ticket`]); [`make_copy`] records a copy whose signature was checked by the
//! caller with its number final at once. Every write holds the store's one write lock; the primary key
//! (agency, year, number) makes a duplicate impossible even so.

use kyso_domain::documents::{series_year, CopyNotation};
use kyso_domain::roles::Role;
use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::audit::Event;
use crate::registry::Agency;
use crate::{On, WriteTx};

/// A copy of a document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentCopy {
    pub id: i64,
    pub document_id: i64,
    /// The agency that made the copy (the issuer, or a recipient).
    pub agency_id: i64,
    pub form: CopyForm,
    pub year: i64,
    pub number: i64,
    /// "05/SY".
    pub notation: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub made_by: i64,
    pub created_at: i64,
}

/// A new copy: the copying agency, the form, and the copy file signed by its clerk.
#[derive(Debug, Clone)]
pub struct NewCopy {
    pub agency_id: i64,
    pub form: CopyForm,
    pub file_name: String,
    pub file: Vec<u8>,
}

pub(crate) fn copy_from(row: &AnyRow) -> Result<DocumentCopy> {
    let form = copy_form(&row.try_get::<String, _>(3)?)?;
    let number: i64 = row.try_get(5)?;
    Ok(DocumentCopy {
        id: row.try_get(0)?,
        document_id: row.try_get(1)?,
        agency_id: row.try_get(2)?,
        form,
        year: row.try_get(4)?,
        number,
        notation: CopyNotation { form }.with_number(u32::try_from(number).unwrap_or(u32::MAX)),
        sha256: row.try_get(6)?,
        size: row.try_get(7)?,
        file_name: row.try_get(8)?,
        made_by: row.try_get(9)?,
        created_at: row.try_get(10)?,
    })
}

pub(crate) const COPY_COLUMNS: &str =
    "id, document_id, agency_id, form, year, number, sha256, size, file_name, made_by, created_at";

/// The agency `agency_id` may copy document `doc` now, by `actor`: it is the issuer or received
/// the document (a delivery not recalled), `actor` is its clerk, and the document is issued.
/// The checks of [`make_copy`] and of the copy's signing ticket.
pub(super) async fn copying_agency(
    store: &Store,
    actor: &Actor,
    doc: &Document,
    agency_id: i64,
) -> Result<Agency> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    let holds = if agency.id == doc.agency_id {
        true
    } else {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM document_deliveries WHERE document_id = $1 \
             AND recipient_agency_id = $2 AND state = 'delivered'",
        )
        .bind(doc.id)
        .bind(agency.id)
        .fetch_one(store.pool())
        .await?;
        n > 0
    };
    if !holds {
        return Err(Error::NotFound {
            what: Record::Document,
        });
    }
    let clerk = actor
        .grants
        .iter()
        .any(|g| g.role == Role::Clerk && g.agency_id == agency.id);
    if !clerk {
        return Err(Error::Forbidden);
    }
    if !matches!(doc.state, DocState::Registered | DocState::Dispatched) {
        return Err(Error::conflict(
            "state",
            format!(
                "Chỉ sao văn bản đã phát hành; văn bản đang ở bước \"{}\".",
                doc.state.label_vi()
            ),
            format!(
                "Only issued documents are copied; the document is \"{}\".",
                doc.state.label_en()
            ),
        ));
    }
    Ok(agency)
}

/// Release the copy numbers of `agency_id`'s `year` whose ticket ended unused — expired,
/// spent by refused uploads, gone, or held by an upload stuck a whole ticket lifetime past
/// its end — each with its reason, audited. The numbers released.
async fn release_stale(
    tx: &mut WriteTx,
    agency: &Agency,
    year: i64,
    now: OffsetDateTime,
) -> Result<Vec<i64>> {
    let nowu = now.unix_timestamp();
    let rows = sqlx::query(
        "SELECT n.number, n.document_id, n.ticket, t.user_id, t.expires_at, t.refusals, \
         t.claimed_at, n.incoming_id FROM copy_numbers n LEFT JOIN signing_tickets t ON t.jti = n.ticket \
         WHERE n.agency_id = $1 AND n.year = $2 AND n.status = 'reserved' \
         AND (t.jti IS NULL OR (t.claimed_at IS NULL AND (t.expires_at <= $3 OR t.refusals >= $4)) \
              OR t.expires_at <= $5) ORDER BY n.number",
    )
    .bind(agency.id)
    .bind(year)
    .bind(nowu)
    .bind(super::MAX_REFUSALS)
    .bind(nowu - super::TICKET_LIFETIME)
    .fetch_all(tx.conn())
    .await?;
    let mut released = Vec::new();
    for r in &rows {
        let number: i64 = r.try_get(0)?;
        let document_id: Option<i64> = r.try_get(1)?;
        let ticket: Option<String> = r.try_get(2)?;
        let holder: Option<i64> = r.try_get(3)?;
        let expires_at: Option<i64> = r.try_get(4)?;
        let refusals: Option<i64> = r.try_get(5)?;
        let reason = match (expires_at, refusals) {
            (Some(e), Some(n)) if n >= super::MAX_REFUSALS && e > nowu => format!(
                "Phiếu ký bị từ chối {n} lần (tệp tải lên không đạt) / the ticket's uploads \
                 were refused {n} times"
            ),
            (Some(_), _) => "Phiếu ký hết hạn mà chưa có bản sao đã ký / the signing ticket \
                             expired without a signed copy"
                .to_owned(),
            (None, _) => "Phiếu ký không còn / the signing ticket is gone".to_owned(),
        };
        let subject = match (document_id, r.try_get::<Option<i64>, _>(7)?) {
            (Some(d), _) => CopyOf::Document(d),
            (None, Some(i)) => CopyOf::Incoming(i),
            (None, None) => continue,
        };
        let Some(ticket) = ticket else {
            continue;
        };
        let by = holder.unwrap_or(tx.actor().user_id);
        let held = Held {
            number,
            subject,
            ticket: &ticket,
            holder,
            by,
        };
        if release_number(tx, agency, year, held, &reason, now).await? {
            released.push(number);
        }
    }
    Ok(released)
}

/// A reserved copy number and what holds it: the copy it is for, its ticket, the ticket's
/// holder (`None` when the ticket is gone) and who releases it.
struct Held<'a> {
    number: i64,
    subject: CopyOf,
    ticket: &'a str,
    holder: Option<i64>,
    by: i64,
}

/// Release `held`'s number of `agency`'s `year` if it is still reserved for its ticket, with
/// `reason` recorded (`copy_number_releases`) and audited. Whether it was released.
async fn release_number(
    tx: &mut WriteTx,
    agency: &Agency,
    year: i64,
    held: Held<'_>,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let nowu = now.unix_timestamp();
    let Held {
        number,
        subject,
        ticket,
        holder,
        by,
    } = held;
    let changed = sqlx::query(
        "UPDATE copy_numbers SET status = 'released', document_id = NULL, incoming_id = NULL, \
         form = NULL, ticket = NULL, changed_at = $1 WHERE agency_id = $2 AND year = $3 AND number = $4 \
         AND status = 'reserved' AND ticket = $5",
    )
    .bind(nowu)
    .bind(agency.id)
    .bind(year)
    .bind(number)
    .bind(ticket)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO copy_number_releases (agency_id, year, number, document_id, \
         incoming_id, ticket, reason, released_by, released_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(agency.id)
    .bind(year)
    .bind(number)
    .bind(subject.document_id())
    .bind(subject.incoming_id())
    .bind(ticket)
    .bind(reason)
    .bind(by)
    .bind(nowu)
    .execute(tx.conn())
    .await?;
    let actor = tx.actor().clone();
    crate::audit::append(
        tx,
        &actor,
        Event {
            action: subject.release_action(),
            object: subject.object(),
            agency: Some(agency.code.clone()),
            detail: json!({"year": year, "number": number, "ticket": ticket,
                           "reason": reason, "holder": holder}),
        },
        now,
    )
    .await?;
    Ok(true)
}

/// End copy ticket `ticket` of `actor` whose signed copy was refused where there is no second
/// try — a copy uploaded already signed through the API (`POST /documents/{id}/copies`) — and
/// release its reserved number at once, with why, so the next copy takes it (no gap). Nothing
/// happens to a ticket already used.
pub async fn withdraw_copy_ticket(
    store: &Store,
    actor: &Actor,
    ticket: &super::Ticket,
    now: OffsetDateTime,
) -> Result<()> {
    let r = match copy_reservation(store, &ticket.jti).await {
        Ok(r) => r,
        // Already given back, or made final by a copy.
        Err(Error::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let agency =
        crate::registry::agency(store, actor, r.agency_id, Permission::ReadDocuments).await?;
    let subject = match r.incoming_id {
        Some(i) => CopyOf::Incoming(i),
        None => CopyOf::Document(r.document_id),
    };
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    sqlx::query(
        "UPDATE signing_tickets SET refusals = $1 WHERE jti = $2 AND user_id = $3 \
         AND used_version IS NULL",
    )
    .bind(super::MAX_REFUSALS)
    .bind(&ticket.jti)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    let held = Held {
        number: r.number,
        subject,
        ticket: &ticket.jti,
        holder: Some(actor.user_id),
        by: actor.user_id,
    };
    let reason = "Bản sao đã ký tải lên không đạt kiểm tra / the copy uploaded already signed \
                  failed its check";
    release_number(&mut tx, &agency, r.year, held, reason, now).await?;
    tx.commit().await
}

/// What a copy number is taken for: a copy of an outgoing document, or of an incoming record
/// (`crate::incoming::copies`) — one series per agency and year for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyOf {
    Document(i64),
    Incoming(i64),
}

impl CopyOf {
    fn document_id(self) -> Option<i64> {
        match self {
            CopyOf::Document(d) => Some(d),
            CopyOf::Incoming(_) => None,
        }
    }

    fn incoming_id(self) -> Option<i64> {
        match self {
            CopyOf::Document(_) => None,
            CopyOf::Incoming(i) => Some(i),
        }
    }

    fn object(self) -> String {
        match self {
            CopyOf::Document(d) => format!("document:{d}"),
            CopyOf::Incoming(i) => format!("incoming:{i}"),
        }
    }

    fn release_action(self) -> &'static str {
        match self {
            CopyOf::Document(_) => "document.copy_number_release",
            CopyOf::Incoming(_) => "incoming.copy_number_release",
        }
    }
}

/// Take the next number of `agency`'s copy series for this year for a copy of `document_id`
/// in `form` ([`take_copy_number_of`]).
pub(super) async fn take_copy_number(
    tx: &mut WriteTx,
    agency: &Agency,
    document_id: i64,
    form: CopyForm,
    ticket: Option<&str>,
    now: OffsetDateTime,
) -> Result<(i64, i64)> {
    take_copy_number_of(tx, agency, CopyOf::Document(document_id), form, ticket, now).await
}

/// Take the next number of `agency`'s copy series for this year for a copy of `of` in `form`:
/// the stale reservations released first, then the lowest released number, else one more than
/// the highest. Reserved for `ticket` (`Some`), or final at once (`None`: a copy uploaded
/// already signed). Inside the caller's write transaction.
pub(crate) async fn take_copy_number_of(
    tx: &mut WriteTx,
    agency: &Agency,
    of: CopyOf,
    form: CopyForm,
    ticket: Option<&str>,
    now: OffsetDateTime,
) -> Result<(i64, i64)> {
    let year = i64::from(series_year(now));
    release_stale(tx, agency, year, now).await?;
    let row = sqlx::query(
        "SELECT (SELECT MIN(number) FROM copy_numbers WHERE agency_id = $1 AND year = $2 \
          AND status = 'released'), \
         (SELECT COALESCE(MAX(number), 0) + 1 FROM copy_numbers WHERE agency_id = $1 AND year = $2)",
    )
    .bind(agency.id)
    .bind(year)
    .fetch_one(tx.conn())
    .await?;
    let released: Option<i64> = row.try_get(0)?;
    let next: i64 = row.try_get(1)?;
    let status = if ticket.is_some() {
        "reserved"
    } else {
        "issued"
    };
    let taken = crate::unique(
        "number",
        "Số bản sao này vừa được dùng; hãy thử lại.",
        "This copy number was just taken; try again.",
    );
    let number = match released {
        Some(n) => {
            let changed = sqlx::query(
                "UPDATE copy_numbers SET status = $1, document_id = $2, incoming_id = $9, \
                 form = $3, ticket = $4, changed_at = $5 WHERE agency_id = $6 AND year = $7 \
                 AND number = $8 AND status = 'released'",
            )
            .bind(status)
            .bind(of.document_id())
            .bind(form.as_str())
            .bind(ticket)
            .bind(now.unix_timestamp())
            .bind(agency.id)
            .bind(year)
            .bind(n)
            .bind(of.incoming_id())
            .execute(tx.conn())
            .await
            .map_err(taken)?
            .rows_affected();
            if changed != 1 {
                return Err(Error::conflict(
                    "number",
                    "Số bản sao này vừa được dùng; hãy thử lại.",
                    "This copy number was just taken; try again.",
                ));
            }
            n
        }
        None => {
            sqlx::query(
                "INSERT INTO copy_numbers (agency_id, year, number, status, document_id, \
                 incoming_id, form, ticket, changed_at) VALUES ($1, $2, $3, $4, $5, $9, $6, $7, $8)",
            )
            .bind(agency.id)
            .bind(year)
            .bind(next)
            .bind(status)
            .bind(of.document_id())
            .bind(form.as_str())
            .bind(ticket)
            .bind(now.unix_timestamp())
            .bind(of.incoming_id())
            .execute(tx.conn())
            .await
            .map_err(taken)?;
            next
        }
    };
    Ok((year, number))
}

/// Insert the copy `(document, agency, form, year, number)` with its file; its id.
async fn insert_copy(
    tx: &mut WriteTx,
    (document_id, agency_id, form, year, number): (i64, i64, CopyForm, i64, i64),
    sha256: &str,
    size: i64,
    file_name: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let made_by = tx.actor().user_id;
    sqlx::query_scalar(
        "INSERT INTO document_copies (document_id, agency_id, form, year, number, sha256, size, \
         file_name, made_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
    )
    .bind(document_id)
    .bind(agency_id)
    .bind(form.as_str())
    .bind(year)
    .bind(number)
    .bind(sha256)
    .bind(size)
    .bind(file_name)
    .bind(made_by)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "number",
        "Số bản sao này vừa được dùng; hãy thử lại.",
        "This copy number was just taken; try again.",
    ))
}

/// A copy number reserved with a signing ticket (VGCA `SignCopy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReservation {
    /// The ticket holding it.
    pub ticket: String,
    /// The document copied; 0 for an incoming record's copy.
    pub document_id: i64,
    /// The incoming record copied (`crate::incoming::copies`); `None`: a document's copy.
    pub incoming_id: Option<i64>,
    /// The copying agency.
    pub agency_id: i64,
    pub agency_name: String,
    pub form: CopyForm,
    pub year: i64,
    pub number: i64,
    /// "05/SY": what the copy's stamp must show.
    pub notation: String,
}

fn number_given_back() -> Error {
    Error::conflict(
        "number",
        "Số bản sao giữ cho phiếu ký này đã được trả lại (phiếu hết hạn hoặc bị từ chối quá số \
         lần); hãy bấm \"Ký bản sao\" lại.",
        "The copy number held for this ticket was given back (the ticket expired or was refused \
         too often); click \"Sign a copy\" again.",
    )
}

/// The reservation of copy ticket `jti`, while it is still reserved.
pub async fn copy_reservation(store: &Store, jti: &str) -> Result<CopyReservation> {
    let row = sqlx::query(
        "SELECT COALESCE(n.document_id, 0), n.agency_id, a.name, n.form, n.year, n.number, \
         n.incoming_id FROM copy_numbers n JOIN agencies a ON a.id = n.agency_id \
         WHERE n.ticket = $1 AND n.status = 'reserved'",
    )
    .bind(jti)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(number_given_back)?;
    let form = copy_form(&row.try_get::<String, _>(3)?)?;
    let number: i64 = row.try_get(5)?;
    Ok(CopyReservation {
        ticket: jti.to_owned(),
        document_id: row.try_get(0)?,
        incoming_id: row.try_get(6)?,
        agency_id: row.try_get(1)?,
        agency_name: row.try_get(2)?,
        form,
        year: row.try_get(4)?,
        number,
        notation: CopyNotation { form }.with_number(u32::try_from(number).unwrap_or(u32::MAX)),
    })
}

/// Whether `actor` may sign the copy of `ticket` now, with its reservation and the bytes of the
/// source version the copy must extend: checked before any work on an upload; [`sign_copy`]
/// checks it again.
pub async fn copy_to_sign(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    ticket: &super::Ticket,
) -> Result<(CopyReservation, Vec<u8>)> {
    let agency_id = ticket.copy_agency_id.ok_or_else(|| {
        Error::invalid(
            "ticket",
            "Phiếu ký này không phải phiếu ký bản sao.",
            "This signing ticket is not a copy's.",
        )
    })?;
    let doc = load_unchecked(store, ticket.document_id).await?;
    copying_agency(store, actor, &doc, agency_id).await?;
    let reservation = copy_reservation(store, &ticket.jti).await?;
    let sha: String = sqlx::query_scalar(
        "SELECT sha256 FROM document_versions WHERE document_id = $1 AND seq = $2",
    )
    .bind(doc.id)
    .bind(ticket.seq)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    let sha = super::extracts::copy_base(store, &ticket.jti, sha).await?;
    let bytes = get_blob(blobs, &sha).await?;
    Ok((reservation, bytes))
}

/// The certificates a copy of `ticket` may be signed with: the copying agency's valid
/// organization certificates in the registry (DER), for the ticket's holder.
pub async fn copy_signing_certificates(
    store: &Store,
    actor: &Actor,
    ticket: &super::Ticket,
    now: OffsetDateTime,
) -> Result<Vec<Vec<u8>>> {
    let agency_id = ticket.copy_agency_id.ok_or(Error::Forbidden)?;
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    super::reading::organization_certificates(store, agency.id, now.unix_timestamp()).await
}

/// Record the clerk's signed copy of `ticket` (the signature checked by the PDF side before):
/// its reserved number made final, the copy, the ticket used — one transaction. `file` must be
/// the source version followed by incremental updates.
pub async fn sign_copy(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    ticket: &super::Ticket,
    file_name: &str,
    file: &[u8],
    now: OffsetDateTime,
) -> Result<DocumentCopy> {
    let (r, source) = copy_to_sign(store, blobs, actor, ticket).await?;
    check_pdf(file)?;
    if file.len() <= source.len() || !file.starts_with(&source) {
        return Err(Error::invalid(
            "file",
            "Bản sao đã ký không giữ nguyên văn bản gốc (chữ ký số phải được thêm vào sau, không \
             sửa nội dung đã có).",
            "The signed copy does not keep the original unchanged (a signature is appended; \
             what was there must stay byte for byte).",
        ));
    }
    let doc = load_unchecked(store, ticket.document_id).await?;
    let agency = copying_agency(store, actor, &doc, r.agency_id).await?;
    let file_name = version_file_name(file_name)?;
    let sha = put_blob(blobs, file).await?;
    let size = i64::try_from(file.len()).unwrap_or(i64::MAX);
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    let issued = sqlx::query(
        "UPDATE copy_numbers SET status = 'issued', ticket = NULL, changed_at = $1 \
         WHERE ticket = $2 AND status = 'reserved' AND agency_id = $3 AND number = $4",
    )
    .bind(now.unix_timestamp())
    .bind(&ticket.jti)
    .bind(agency.id)
    .bind(r.number)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if issued != 1 {
        return Err(number_given_back());
    }
    let copy = (doc.id, agency.id, r.form, r.year, r.number);
    let copy_id = insert_copy(&mut tx, copy, &sha, size, &file_name, now).await?;
    super::extracts::attach(&mut tx, &ticket.jti, copy_id).await?;
    // The ticket is used: claimed (when the caller did not claim it) and settled with the copy.
    sqlx::query(
        "UPDATE signing_tickets SET used_version = $1, claimed_at = COALESCE(claimed_at, $2) \
         WHERE jti = $3 AND user_id = $4",
    )
    .bind(copy_id)
    .bind(now.unix_timestamp())
    .bind(&ticket.jti)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    insert_event(
        &mut tx,
        doc.id,
        "copy",
        doc.state,
        doc.state,
        &format!("{} — Số: {} ({})", r.form.stamp(), r.notation, agency.name),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "document.copy",
            object: format!("document:{}", doc.id),
            agency: Some(agency.code.clone()),
            detail: json!({"copy_id": copy_id, "form": r.form.as_str(), "year": r.year,
                           "number": r.number, "notation": r.notation, "sha256": sha,
                           "ticket": ticket.jti, "signed_through": "SignCopy"}),
        },
        now,
    )
    .await?;
    Ok(DocumentCopy {
        id: copy_id,
        document_id: doc.id,
        agency_id: agency.id,
        form: r.form,
        year: r.year,
        number: r.number,
        notation: r.notation,
        sha256: sha,
        size,
        file_name,
        made_by: actor.user_id,
        created_at: now.unix_timestamp(),
    })
}

/// Copy `copy_id` of document `id` with its bytes (re-hashed against their name), for whoever
/// may read the document or the copying agency's documents.
pub async fn copy_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    copy_id: i64,
) -> Result<(DocumentCopy, Vec<u8>)> {
    let not_found = || Error::NotFound {
        what: Record::Document,
    };
    let row = sqlx::query(&format!(
        "SELECT {COPY_COLUMNS} FROM document_copies WHERE id = $1 AND document_id = $2"
    ))
    .bind(copy_id)
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(not_found)?;
    let copy = copy_from(&row)?;
    let doc = load_unchecked(store, id).await?;
    let readable = actor.can(Permission::ReadDocuments, &doc.agency_path)
        || crate::registry::agency(store, actor, copy.agency_id, Permission::ReadDocuments)
            .await
            .is_ok();
    if !readable {
        return Err(not_found());
    }
    let bytes = get_blob(blobs, &copy.sha256).await?;
    Ok((copy, bytes))
}

/// A copy number given back, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyNumberRelease {
    pub year: i64,
    pub number: i64,
    /// The document whose copy held it; 0 when an incoming record's copy did.
    pub document_id: i64,
    /// The incoming record whose copy held it.
    pub incoming_id: Option<i64>,
    pub reason: String,
    pub released_by: i64,
    pub released_at: i64,
}

/// The copy numbers of `agency_id` given back in `year`, oldest first (its clerks and those
/// who may read its documents).
pub async fn copy_number_releases(
    store: &Store,
    actor: &Actor,
    agency_id: i64,
    year: i64,
) -> Result<Vec<CopyNumberRelease>> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    let rows = sqlx::query(
        "SELECT year, number, COALESCE(document_id, 0), reason, released_by, released_at, \
         incoming_id FROM copy_number_releases WHERE agency_id = $1 AND year = $2 ORDER BY id",
    )
    .bind(agency.id)
    .bind(year)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CopyNumberRelease {
                year: r.try_get(0)?,
                number: r.try_get(1)?,
                document_id: r.try_get(2)?,
                incoming_id: r.try_get(6)?,
                reason: r.try_get(3)?,
                released_by: r.try_get(4)?,
                released_at: r.try_get(5)?,
            })
        })
        .collect()
}

/// Make a copy of issued document `id` for `input.agency_id` — the issuing agency, or one that
/// received it — by that agency's clerk, from a copy file already signed elsewhere, numbered in
/// the agency's copy series for this year (final at once).
pub async fn make_copy(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    input: &NewCopy,
    now: OffsetDateTime,
) -> Result<DocumentCopy> {
    let doc = load_unchecked(store, id).await?;
    let agency = copying_agency(store, actor, &doc, input.agency_id).await?;
    check_pdf(&input.file)?;
    let file_name = version_file_name(&input.file_name)?;
    let sha = put_blob(blobs, &input.file).await?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    let (year, number) = take_copy_number(&mut tx, &agency, id, input.form, None, now).await?;
    let size = i64::try_from(input.file.len()).unwrap_or(i64::MAX);
    let copy = (id, agency.id, input.form, year, number);
    let copy_id = insert_copy(&mut tx, copy, &sha, size, &file_name, now).await?;
    let notation =
        CopyNotation { form: input.form }.with_number(u32::try_from(number).unwrap_or(u32::MAX));
    insert_event(
        &mut tx,
        id,
        "copy",
        doc.state,
        doc.state,
        &format!("Số: {notation}"),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "document.copy",
            object: format!("document:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"copy_id": copy_id, "form": input.form.as_str(), "year": year,
                           "number": number, "notation": notation, "sha256": sha}),
        },
        now,
    )
    .await?;
    Ok(DocumentCopy {
        id: copy_id,
        document_id: id,
        agency_id: agency.id,
        form: input.form,
        year,
        number,
        notation,
        sha256: sha,
        size,
        file_name,
        made_by: actor.user_id,
        created_at: now.unix_timestamp(),
    })
}
