//! Copies signed for incoming documents (issue 18 item 1 "scans carry their copy stamp", issue
//! 17 item 7), by the clerk of the receiving agency with its organization key, through the one
//! mechanism of the outgoing documents' copies (`crate::documents::copies`): a one-time
//! `SignCopy` ticket ([`issue_incoming_copy_ticket`]) reserves the next number of the agency's
//! copy series — one series per agency and year, shared with the copies of its outgoing
//! documents — and the number is made final with the signed copy ([`sign_incoming_copy`]) or
//! released with its reason once the ticket ends unused (`release_stale`, audited
//! `incoming.copy_number_release`).
//!
//! - **Digitisation** ([`CopyPurpose::Digitised`]): a paper document received as a scan is made
//!   an electronic copy (Decree 30 arts. 25–26: SAO Y from paper, the scan signed with the
//!   agency's organization certificate and the copy stamp). Once per record, while it waits for
//!   the clerk; the signed copy is kept beside the original scan (both byte for byte in the blob
//!   folder), and the record's verification report becomes the signed copy's. A scan is
//!   registered only once digitised ([`require_digitised`], called by the registration).
//! - **Copy** ([`CopyPurpose::Copy`]): SAO Y or SAO LỤC of a registered incoming document —
//!   of the received file, or of the digitised copy of a scan. A document delivered inside kyso
//!   is copied as the outgoing document it is (`crate::documents::issue_copy_ticket`, the
//!   receiving agency copying), not here.
//!
//! The ticket names the record (`incoming_id`, `document_id` 0) and what it signs (`seq`:
//! [`CopyPurpose::seq`]). The PDF side checks the signature and the stamp before
//! [`sign_incoming_copy`] records the copy: one transaction with the number made final, the
//! ticket used, the timeline row and the audit entry (`incoming.digitise`, `incoming.copy`).

use kyso_domain::documents::{CopyForm, CopyNotation, DocAction};
use kyso_domain::roles::Role;

use super::*;
use crate::documents::{
    self as docs, check_pdf, version_file_name, CopyOf, CopyReservation, Ticket, TICKET_LIFETIME,
};
use crate::registry::Agency;

/// What a copy of an incoming document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyPurpose {
    /// The electronic copy of a scanned paper document (SAO Y from paper), once per record.
    Digitised,
    /// A copy (SAO Y, SAO LỤC) of a registered incoming document.
    Copy,
}

impl CopyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyPurpose::Digitised => "digitised",
            CopyPurpose::Copy => "copy",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "digitised" => Ok(CopyPurpose::Digitised),
            "copy" => Ok(CopyPurpose::Copy),
            other => Err(corrupt(&format!("copy purpose {other:?}"))),
        }
    }

    /// The ticket's `seq` for this purpose: 0 the scan digitised, 1 a copy.
    pub fn seq(self) -> i64 {
        match self {
            CopyPurpose::Digitised => 0,
            CopyPurpose::Copy => 1,
        }
    }

    fn of_seq(seq: i64) -> Result<Self> {
        match seq {
            0 => Ok(CopyPurpose::Digitised),
            1 => Ok(CopyPurpose::Copy),
            _ => Err(not_an_incoming_ticket()),
        }
    }
}

/// A signed copy of an incoming document.
#[derive(Debug, Clone, Serialize)]
pub struct IncomingCopy {
    pub id: i64,
    pub incoming_id: i64,
    /// The copying agency: the receiving agency.
    pub agency_id: i64,
    pub purpose: CopyPurpose,
    pub form: CopyForm,
    pub year: i64,
    pub number: i64,
    /// "05/SY".
    pub notation: String,
    /// The SHA-256 of the file the copy extends (the scan, the received file, or the digitised
    /// copy).
    pub source_sha256: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    /// The verification of the signed copy.
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub report_pdf_sha256: Option<String>,
    pub made_by: i64,
    pub created_at: i64,
}

const COPY_COLUMNS: &str = "id, incoming_id, agency_id, purpose, form, year, number, \
     source_sha256, sha256, size, file_name, verdict, reasons, report_pdf_sha256, made_by, \
     created_at";

fn copy_from(row: &AnyRow) -> Result<IncomingCopy> {
    let form = crate::documents::copy_form(&row.try_get::<String, _>(4)?)?;
    let number: i64 = row.try_get(6)?;
    let verdict: String = row.try_get(11)?;
    let reasons: String = row.try_get(12)?;
    Ok(IncomingCopy {
        id: row.try_get(0)?,
        incoming_id: row.try_get(1)?,
        agency_id: row.try_get(2)?,
        purpose: CopyPurpose::parse(&row.try_get::<String, _>(3)?)?,
        form,
        year: row.try_get(5)?,
        number,
        notation: CopyNotation { form }.with_number(u32::try_from(number).unwrap_or(u32::MAX)),
        source_sha256: row.try_get(7)?,
        sha256: row.try_get(8)?,
        size: row.try_get(9)?,
        file_name: row.try_get(10)?,
        verdict: Verdict::parse(&verdict).map_err(|_| corrupt(&format!("verdict {verdict:?}")))?,
        reasons: reasons
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        report_pdf_sha256: row.try_get(13)?,
        made_by: row.try_get(14)?,
        created_at: row.try_get(15)?,
    })
}

fn not_an_incoming_ticket() -> Error {
    Error::invalid(
        "ticket",
        "Phiếu ký này không phải phiếu ký bản sao văn bản đến.",
        "This signing ticket is not an incoming document's copy.",
    )
}

fn not_a_scan() -> Error {
    Error::conflict(
        "scanned",
        "Văn bản này không được tiếp nhận dưới dạng bản quét văn bản giấy; chỉ bản quét mới cần \
         số hóa.",
        "This document was not received as the scan of a paper document; only scans are \
         digitised.",
    )
}

/// The digitised copy of record `id`, if any.
async fn digitised_copy(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Option<IncomingCopy>> {
    sqlx::query(&format!(
        "SELECT {COPY_COLUMNS} FROM incoming_copies WHERE incoming_id = $1 AND purpose = 'digitised'"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(copy_from)
    .transpose()
}

/// A scanned paper document is registered only once digitised: the registration's check.
pub(crate) async fn require_digitised(store: &Store, doc: &Incoming) -> Result<()> {
    if !doc.scanned {
        return Ok(());
    }
    let mut conn = store.pool().acquire().await?;
    if digitised_copy(&mut conn, doc.id).await?.is_some() {
        return Ok(());
    }
    Err(not_digitised())
}

fn not_digitised() -> Error {
    Error::conflict(
        "scanned",
        "Bản quét văn bản giấy chỉ được vào sổ sau khi đã số hóa: hãy bấm \"Ký số bản số hóa\" \
         (ký bằng chứng thư số của cơ quan với dấu SAO Y), rồi vào sổ.",
        "A scanned paper document is registered only once digitised: click \"Sign the \
         digitised copy\" (signed with the agency's organization certificate and the SAO Y \
         stamp), then register it.",
    )
}

/// Whether `actor` may make a copy for `purpose` of incoming record `id` now: who reads it,
/// the clerk of the receiving agency, the record in the purpose's state. The record, the
/// copying agency and the SHA-256 of the file the copy extends.
async fn copyable(
    store: &Store,
    actor: &Actor,
    id: i64,
    purpose: CopyPurpose,
) -> Result<(Incoming, Agency, String)> {
    let doc = {
        let mut conn = store.pool().acquire().await?;
        load_unchecked(&mut conn, id).await?
    };
    check_visible(store, actor, &doc).await?;
    let clerk = actor
        .grants
        .iter()
        .any(|g| g.role == Role::Clerk && g.agency_id == doc.agency_id);
    if !clerk {
        return Err(Error::Forbidden);
    }
    let agency =
        crate::registry::agency(store, actor, doc.agency_id, Permission::ReadDocuments).await?;
    let mut conn = store.pool().acquire().await?;
    let digitised = digitised_copy(&mut conn, id).await?;
    drop(conn);
    let source = match purpose {
        CopyPurpose::Digitised => {
            if !doc.scanned {
                return Err(not_a_scan());
            }
            if digitised.is_some() {
                return Err(Error::conflict(
                    "scanned",
                    "Bản quét này đã được số hóa; mỗi văn bản chỉ số hóa một lần.",
                    "This scan has already been digitised; a document is digitised once.",
                ));
            }
            if doc.state != IncomingState::Received {
                return Err(Error::conflict(
                    "state",
                    format!(
                        "Chỉ số hóa văn bản đang chờ tiếp nhận; văn bản đang ở bước \"{}\".",
                        doc.state.label_vi()
                    ),
                    format!(
                        "Only a document awaiting the clerk is digitised; it is \"{}\".",
                        doc.state.label_en()
                    ),
                ));
            }
            doc.sha256.clone()
        }
        CopyPurpose::Copy => {
            if !matches!(
                doc.state,
                IncomingState::Registered
                    | IncomingState::Assigned
                    | IncomingState::InProgress
                    | IncomingState::Completed
            ) {
                return Err(Error::conflict(
                    "state",
                    format!(
                        "Chỉ sao văn bản đến đã vào sổ; văn bản đang ở bước \"{}\".",
                        doc.state.label_vi()
                    ),
                    format!(
                        "Only a registered incoming document is copied; it is \"{}\".",
                        doc.state.label_en()
                    ),
                ));
            }
            if doc.source_document_id.is_some() {
                return Err(Error::conflict(
                    "source_document_id",
                    "Văn bản này đến từ một văn bản đi trong hệ thống: hãy sao từ trang văn bản đó \
                     (bản sao được đánh số trong sổ bản sao của cơ quan).",
                    "This document came from an outgoing document inside kyso: copy it from that \
                     document's page (numbered in the agency's copy series).",
                ));
            }
            // A scan is copied once digitised, over the scan itself: on a scan every stamp is
            // drawn over the page's image, which over the digitised copy is content its
            // signature covers (every verifier would then report that copy changed); over the
            // scan no signature covers it, and the copy carries one signature.
            match (doc.scanned, digitised) {
                (false, _) | (true, Some(_)) => doc.sha256.clone(),
                (true, None) => return Err(not_digitised()),
            }
        }
    };
    Ok((doc, agency, source))
}

/// Whether `actor` may make a copy of incoming record `id` for `purpose` now (the checks of
/// [`issue_incoming_copy_ticket`], before the web face runs the scan check): the record.
pub async fn may_copy_incoming(
    store: &Store,
    actor: &Actor,
    id: i64,
    purpose: CopyPurpose,
) -> Result<Incoming> {
    Ok(copyable(store, actor, id, purpose).await?.0)
}

/// Issue a ticket for the clerk `actor` to sign a copy of incoming record `id` for `purpose` in
/// `form` with the organization key now (VGCA `SignCopy`), valid [`TICKET_LIFETIME`] seconds;
/// the copy's number is reserved in the agency's series in the same transaction, audited
/// `incoming.signing_ticket`. A digitisation is SAO Y; a copy SAO Y or SAO LỤC.
pub async fn issue_incoming_copy_ticket(
    store: &Store,
    actor: &Actor,
    id: i64,
    purpose: CopyPurpose,
    form: CopyForm,
    now: OffsetDateTime,
) -> Result<(Ticket, CopyReservation)> {
    match (purpose, form) {
        (CopyPurpose::Digitised, CopyForm::SaoY)
        | (CopyPurpose::Copy, CopyForm::SaoY | CopyForm::SaoLuc) => {}
        (CopyPurpose::Digitised, _) => {
            return Err(Error::invalid(
                "form",
                "Bản số hóa văn bản giấy là bản SAO Y (Nghị định 30).",
                "The digitised copy of a paper document is a SAO Y copy (Decree 30).",
            ))
        }
        (CopyPurpose::Copy, _) => {
            return Err(Error::invalid(
                "form",
                "Văn bản đến được sao y hoặc sao lục.",
                "An incoming document is copied as SAO Y or SAO LỤC.",
            ))
        }
    }
    let (doc, agency, _) = copyable(store, actor, id, purpose).await?;
    let nowu = now.unix_timestamp();
    let ticket = Ticket {
        jti: crate::hex(&crate::random_bytes::<16>()?),
        user_id: actor.user_id,
        document_id: 0,
        incoming_id: Some(doc.id),
        seq: purpose.seq(),
        action: DocAction::OrgSign,
        attachment_id: None,
        copy_agency_id: Some(agency.id),
        issued_at: nowu,
        expires_at: nowu + TICKET_LIFETIME,
    };
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    docs::insert_ticket(&mut tx, &ticket).await?;
    let (year, number) = docs::take_copy_number_of(
        &mut tx,
        &agency,
        CopyOf::Incoming(doc.id),
        form,
        Some(&ticket.jti),
        now,
    )
    .await?;
    let notation = CopyNotation { form }.with_number(u32::try_from(number).unwrap_or(u32::MAX));
    let mut detail = docs::ticket_detail(&ticket);
    if let Some(d) = detail.as_object_mut() {
        d.insert("purpose".into(), json!(purpose.as_str()));
        d.insert("copy_agency_id".into(), json!(agency.id));
        d.insert("form".into(), json!(form.as_str()));
        d.insert("year".into(), json!(year));
        d.insert("number".into(), json!(number));
        d.insert("notation".into(), json!(notation));
    }
    tx.commit_audited(
        Event {
            action: "incoming.signing_ticket",
            object: format!("incoming:{}", doc.id),
            agency: Some(agency.code.clone()),
            detail,
        },
        now,
    )
    .await?;
    let reservation = CopyReservation {
        ticket: ticket.jti.clone(),
        document_id: 0,
        incoming_id: Some(doc.id),
        agency_id: agency.id,
        agency_name: agency.name.clone(),
        form,
        year,
        number,
        notation,
    };
    Ok((ticket, reservation))
}

/// What a copy's ticket signs.
#[derive(Debug, Clone)]
pub struct CopySource {
    /// The copy's number, still reserved for the ticket.
    pub reservation: CopyReservation,
    pub incoming: Incoming,
    pub purpose: CopyPurpose,
    /// The SHA-256 of the file the copy extends, and its bytes.
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// What a copy's ticket signs, checked now: the reservation (still reserved, for this record),
/// the record, the purpose, and the file the copy must extend. Checked before any work on an
/// upload; [`sign_incoming_copy`] checks it again.
pub async fn incoming_copy_to_sign(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    ticket: &Ticket,
) -> Result<CopySource> {
    let (Some(id), Some(agency_id)) = (ticket.incoming_id, ticket.copy_agency_id) else {
        return Err(not_an_incoming_ticket());
    };
    let purpose = CopyPurpose::of_seq(ticket.seq)?;
    let (doc, agency, source) = copyable(store, actor, id, purpose).await?;
    if agency.id != agency_id {
        return Err(Error::Forbidden);
    }
    let r = docs::copy_reservation(store, &ticket.jti).await?;
    if r.incoming_id != Some(id) || r.agency_id != agency.id {
        return Err(not_an_incoming_ticket());
    }
    let bytes = get_blob(blobs, &source).await?;
    Ok(CopySource {
        reservation: r,
        incoming: doc,
        purpose,
        sha256: source,
        bytes,
    })
}

/// The certificates a copy of `ticket` may be signed with: the receiving agency's valid
/// organization certificates in the registry (DER).
pub async fn incoming_copy_certificates(
    store: &Store,
    actor: &Actor,
    ticket: &Ticket,
    now: OffsetDateTime,
) -> Result<Vec<Vec<u8>>> {
    let agency_id = ticket.copy_agency_id.ok_or_else(not_an_incoming_ticket)?;
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    crate::documents::organization_certificates(store, agency.id, now.unix_timestamp()).await
}

/// Record the clerk's signed copy of `ticket` (its signature and stamp checked by the PDF side
/// before; `verification` is the signed copy's): the reserved number made final, the copy kept
/// beside its source, the ticket used, for a digitisation the record's report made the copy's
/// — one transaction, with its timeline row and audit entry. `file` must be the source followed
/// by incremental updates.
#[allow(clippy::too_many_arguments)]
pub async fn sign_incoming_copy(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    ticket: &Ticket,
    file_name: &str,
    file: &[u8],
    verification: &Verification,
    now: OffsetDateTime,
) -> Result<IncomingCopy> {
    let CopySource {
        reservation: r,
        incoming: doc,
        purpose,
        sha256: source_sha,
        bytes: source,
    } = incoming_copy_to_sign(store, blobs, actor, ticket).await?;
    check_pdf(file)?;
    if file.len() <= source.len() || !file.starts_with(&source) {
        return Err(Error::invalid(
            "file",
            "Bản sao đã ký không giữ nguyên tệp gốc (chữ ký số phải được thêm vào sau, không sửa \
             nội dung đã có).",
            "The signed copy does not keep the original unchanged (a signature is appended; what \
             was there must stay byte for byte).",
        ));
    }
    let file_name = version_file_name(file_name)?;
    let sha = crate::documents::put_blob(blobs, file).await?;
    let report_pdf = match &verification.report_pdf {
        Some(pdf) => Some(crate::documents::put_blob(blobs, pdf).await?),
        None => None,
    };
    let size = i64::try_from(file.len()).unwrap_or(i64::MAX);
    let reasons = verification
        .reasons
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .collect::<Vec<_>>()
        .join(",");
    let report = verification.report.to_string();
    let agency =
        crate::registry::agency(store, actor, r.agency_id, Permission::ReadDocuments).await?;
    let nowu = now.unix_timestamp();
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    let issued = sqlx::query(
        "UPDATE copy_numbers SET status = 'issued', ticket = NULL, changed_at = $1 \
         WHERE ticket = $2 AND status = 'reserved' AND agency_id = $3 AND number = $4 \
         AND incoming_id = $5",
    )
    .bind(nowu)
    .bind(&ticket.jti)
    .bind(agency.id)
    .bind(r.number)
    .bind(doc.id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if issued != 1 {
        return Err(Error::conflict(
            "number",
            "Số bản sao giữ cho phiếu ký này đã được trả lại (phiếu hết hạn hoặc bị từ chối quá số \
             lần); hãy bấm ký lại.",
            "The copy number held for this ticket was given back (the ticket expired or was \
             refused too often); sign again.",
        ));
    }
    let copy_id: i64 = sqlx::query_scalar(
        "INSERT INTO incoming_copies (incoming_id, agency_id, purpose, form, year, number, \
         source_sha256, sha256, size, file_name, verdict, reasons, report, report_pdf_sha256, \
         ticket, made_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(doc.id)
    .bind(agency.id)
    .bind(purpose.as_str())
    .bind(r.form.as_str())
    .bind(r.year)
    .bind(r.number)
    .bind(&source_sha)
    .bind(&sha)
    .bind(size)
    .bind(&file_name)
    .bind(verification.verdict.as_str())
    .bind(&reasons)
    .bind(&report)
    .bind(report_pdf.as_deref())
    .bind(&ticket.jti)
    .bind(actor.user_id)
    .bind(nowu)
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "number",
        "Văn bản này vừa được số hóa hoặc số bản sao vừa được dùng; hãy tải lại trang.",
        "This document was just digitised or the copy number just taken; reload the page.",
    ))?;
    sqlx::query(
        "UPDATE signing_tickets SET used_version = $1, claimed_at = COALESCE(claimed_at, $2) \
         WHERE jti = $3 AND user_id = $4",
    )
    .bind(copy_id)
    .bind(nowu)
    .bind(&ticket.jti)
    .bind(actor.user_id)
    .execute(tx.conn())
    .await?;
    if purpose == CopyPurpose::Digitised {
        // The record is the electronic copy now: its verification report is the signed copy's.
        sqlx::query(
            "UPDATE incoming_documents SET verdict = $1, reasons = $2, report = $3, \
             report_pdf_sha256 = $4, updated_at = $5 WHERE id = $6 AND state = $7",
        )
        .bind(verification.verdict.as_str())
        .bind(&reasons)
        .bind(&report)
        .bind(report_pdf.as_deref())
        .bind(nowu)
        .bind(doc.id)
        .bind(doc.state.as_str())
        .execute(tx.conn())
        .await?;
    }
    let (action, word) = match purpose {
        CopyPurpose::Digitised => ("digitise", "Số hóa"),
        CopyPurpose::Copy => ("copy", "Sao"),
    };
    insert_event(
        &mut tx,
        doc.id,
        action,
        doc.state,
        doc.state,
        &format!(
            "{word}: {} — Số: {} ({}) — {}",
            r.form.stamp(),
            r.notation,
            agency.name,
            verification.verdict.label_vi()
        ),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: if purpose == CopyPurpose::Digitised {
                "incoming.digitise"
            } else {
                "incoming.copy"
            },
            object: format!("incoming:{}", doc.id),
            agency: Some(agency.code.clone()),
            detail: json!({"copy_id": copy_id, "purpose": purpose.as_str(),
                           "form": r.form.as_str(), "year": r.year, "number": r.number,
                           "notation": r.notation, "source_sha256": source_sha,
                           "sha256": sha, "verdict": verification.verdict.as_str(),
                           "reasons": verification.reasons, "ticket": ticket.jti,
                           "signed_through": "SignCopy"}),
        },
        now,
    )
    .await?;
    Ok(IncomingCopy {
        id: copy_id,
        incoming_id: doc.id,
        agency_id: agency.id,
        purpose,
        form: r.form,
        year: r.year,
        number: r.number,
        notation: r.notation,
        source_sha256: source_sha,
        sha256: sha,
        size,
        file_name,
        verdict: verification.verdict,
        reasons: verification.reasons.clone(),
        report_pdf_sha256: report_pdf,
        made_by: actor.user_id,
        created_at: nowu,
    })
}

/// The signed copies of incoming record `id`, oldest first, for whoever may read it.
pub async fn incoming_copies(store: &Store, actor: &Actor, id: i64) -> Result<Vec<IncomingCopy>> {
    let doc = {
        let mut conn = store.pool().acquire().await?;
        load_unchecked(&mut conn, id).await?
    };
    check_visible(store, actor, &doc).await?;
    sqlx::query(&format!(
        "SELECT {COPY_COLUMNS} FROM incoming_copies WHERE incoming_id = $1 ORDER BY id"
    ))
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(copy_from)
    .collect()
}

/// Copy `copy_id` of incoming record `id` with its bytes (re-hashed against their name), for
/// whoever may read the record; a recalled record's copies are no longer served.
pub async fn incoming_copy_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    copy_id: i64,
) -> Result<(IncomingCopy, Vec<u8>)> {
    let copies = incoming_copies(store, actor, id).await?;
    let copy = copies
        .into_iter()
        .find(|c| c.id == copy_id)
        .ok_or_else(not_found)?;
    let state: String = sqlx::query_scalar("SELECT state FROM incoming_documents WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    if state == IncomingState::Recalled.as_str() {
        return Err(Error::conflict(
            "state",
            "Văn bản này đã bị nơi gửi thu hồi; tệp không còn được cung cấp.",
            "The sender recalled this document; its file is no longer served.",
        ));
    }
    let bytes = get_blob(blobs, &copy.sha256).await?;
    Ok((copy, bytes))
}
