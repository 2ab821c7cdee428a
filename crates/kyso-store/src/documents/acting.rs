//! The steps of the flow: review, format check, approval, signatures, the clerk's check,
//! numbers, registration, dispatch and recall.

use kyso_domain::documents::{series_year, step, vietnam_date, Notation};
use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::audit::Event;
use crate::batch::{Arg, Batch, Gate, Part, PartId};
use crate::{On, WriteTx};

/// What comes with a step.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    /// Why (a return, the release of a number, a recall); a note otherwise.
    pub reason: String,
    /// The signed file, for `sign_personal` and `org_sign` (required there); the formatted
    /// draft for `check_format` (optional there: the format step of `kyso_web::documents`
    /// gives it); refused elsewhere.
    pub file: Option<Vec<u8>>,
    pub file_name: String,
    /// For `org_sign`: the number the signed file shows, when the PDF side read it; it must be
    /// the number reserved for this document.
    pub shown_number: Option<u32>,
    /// What the PDF side found and the step records with it (the format check's warnings as
    /// "CODE: text"); kept in the audit entry and the timeline's note.
    pub findings: Vec<String>,
}

/// What a step did, besides moving the document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepOutcome {
    /// The number reserved, made final or released.
    pub number: Option<i64>,
    /// "12/QĐ-UBND".
    pub number_and_notation: Option<String>,
    /// The version stored with the step.
    pub version: Option<i64>,
    /// Deliveries made by a dispatch, or marked recalled by a recall.
    pub deliveries: usize,
}

/// Whether `actor` may take `action` on document `id` now (its visibility, state, role and
/// the approving signer), checked before any work on the file; [`act`] checks it again.
pub async fn may_act(store: &Store, actor: &Actor, id: i64, action: DocAction) -> Result<()> {
    let doc = load_unchecked(store, id).await?;
    actor.reach(
        Permission::ReadDocuments,
        &doc.agency_path,
        Record::Document,
    )?;
    duty_of(actor, &doc, action).map(|_| ())
}

fn duty_of(actor: &Actor, doc: &Document, action: DocAction) -> Result<Duty> {
    let duty = action.duty(doc.state).ok_or_else(|| {
        flow_refusal(kyso_domain::documents::FlowError::NotNow {
            from: doc.state,
            action,
        })
    })?;
    check_duty(actor, duty, doc.agency_id, &doc.agency_path)?;
    // The signer who approved is the one who signs; a signer designated at upload is the one
    // who approves.
    if matches!(action, DocAction::Approve | DocAction::SignPersonal)
        && doc.signer_id.is_some_and(|s| s != actor.user_id)
    {
        return Err(Error::Forbidden);
    }
    Ok(duty)
}

/// Take `action` on document `id`.
pub async fn act(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    action: DocAction,
    input: &StepInput,
    now: OffsetDateTime,
) -> Result<StepOutcome> {
    let doc = load_unchecked(store, id).await?;
    actor.reach(
        Permission::ReadDocuments,
        &doc.agency_path,
        Record::Document,
    )?;
    let reason = kyso_domain::documents::meta::text("reason", &input.reason, false)?;
    let to = step(doc.state, action, &reason).map_err(flow_refusal)?;
    let duty = duty_of(actor, &doc, action)?;
    let file_kind = match action {
        DocAction::CheckFormat if input.file.is_some() => Some(VersionKind::Formatted),
        DocAction::SignPersonal => Some(VersionKind::PersonallySigned),
        DocAction::OrgSign => Some(VersionKind::OrgSigned),
        _ => None,
    };
    let stored = match (file_kind, &input.file) {
        (Some(kind), Some(bytes)) => {
            check_pdf(bytes)?;
            let seq = check_extends_last(store, blobs, id, bytes).await?;
            let sha = put_blob(blobs, bytes).await?;
            let name = version_file_name(&input.file_name)?;
            Some((kind, sha, bytes.len(), step_file_name(&name, kind), seq))
        }
        (Some(_), None) => {
            return Err(Error::invalid(
                "file",
                "Bước này cần tệp PDF đã ký.",
                "This step needs the signed PDF file.",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::invalid(
                "file",
                "Bước này không nhận tệp.",
                "This step takes no file.",
            ))
        }
        (None, None) => None,
    };
    // The names the step's notices print, read before the write lock.
    let names = crate::notices::step_names(store, actor.user_id, doc.agency_id).await?;
    let mut tx = store
        .begin_write_grouped(actor, On::Agency(duty.permission, &doc.agency_path))
        .await?;
    // The step's writes go in one batch with its audit entry: one statement on PostgreSQL
    // (crate::batch). Steps that read what they wrote before (a dispatch's deliveries, a
    // recall, a released number) move the document first, then do that work in turn.
    let mut batch = Batch::default();
    let nowu = now.unix_timestamp();
    // The number step moves the state in the same UPDATE that records the number
    // (`reserve_number`).
    if action != DocAction::Number {
        let mut sql = String::from("UPDATE documents SET state = $1, updated_at = $2");
        let mut args: Vec<Arg> = vec![to.as_str().into(), nowu.into(), id.into()];
        args.push(doc.state.as_str().into());
        if action == DocAction::Approve {
            sql.push_str(", signer_id = $5");
            args.push(actor.user_id.into());
        }
        sql.push_str(" WHERE id = $3 AND state = $4");
        let moved = Part::new(sql, args).expect(1, moved_on());
        if matches!(
            action,
            DocAction::Dispatch | DocAction::Recall | DocAction::ReleaseNumber
        ) {
            moved.run(&mut tx).await?;
        } else {
            batch.push(moved);
        }
    }
    let mut outcome = StepOutcome::default();
    let mut gates = Vec::new();
    let version = stored.as_ref().map(|(kind, sha, size, name, seq)| {
        outcome.version = Some(*seq);
        let part = version_part(id, *kind, sha, *size, name, actor.user_id, now);
        let part = batch.push(part);
        gates.push(Gate::Value(part, *seq));
        part
    });
    let mut detail = json!({"from": doc.state.as_str(), "to": to.as_str(), "reason": reason});
    match action {
        DocAction::Number => {
            let (number, text) = reserve_number(&mut tx, &mut batch, &doc, to, now).await?;
            outcome.number = Some(number);
            outcome.number_and_notation = Some(text);
        }
        DocAction::ReleaseNumber => {
            outcome.number = Some(release_number(&mut tx, &doc, &reason, now).await?);
        }
        DocAction::OrgSign => {
            let number = confirm_number(&mut batch, &doc, input.shown_number, now)?;
            outcome.number = Some(number);
            outcome.number_and_notation = doc.number_and_notation();
        }
        DocAction::Dispatch => {
            refuse_unsigned_attachments(&mut tx, &doc).await?;
            outcome.deliveries = deliver(&mut tx, &doc, now).await?;
            // A request's letter sends its request (issue 17 item 10).
            let sent = crate::requests::on_dispatch(&mut tx, &doc, now).await?;
            if let (Some(r), Some(obj)) = (sent, detail.as_object_mut()) {
                obj.insert("request".into(), r);
            }
            // A report's document records its sealed file with the report (issue 21).
            let issued = crate::reports::on_dispatch(&mut tx, &doc, now).await?;
            if let (Some(r), Some(obj)) = (issued, detail.as_object_mut()) {
                obj.insert("report".into(), r);
            }
        }
        DocAction::Register => {
            // Registered: queued for the archive in this same write (crate::archive).
            batch.push(crate::archive::enqueue_part(
                kyso_domain::archive::EntryKind::Outgoing,
                id,
                now,
            ));
        }
        DocAction::Recall => {
            outcome.deliveries = recall(&mut tx, &doc, &reason, now).await?;
            crate::incoming::recall_copies(&mut tx, doc.id, &reason, now).await?;
        }
        _ => {}
    }
    if let Some(obj) = detail.as_object_mut() {
        obj.insert("number".into(), json!(outcome.number));
        obj.insert("notation".into(), json!(outcome.number_and_notation));
        obj.insert("version".into(), json!(outcome.version));
        obj.insert(
            "sha256".into(),
            json!(stored.as_ref().map(|(_, sha, _, _, _)| sha.clone())),
        );
        obj.insert("deliveries".into(), json!(outcome.deliveries));
        if !input.findings.is_empty() {
            obj.insert("findings".into(), json!(input.findings));
        }
    }
    let mut note = match (&outcome.number_and_notation, action) {
        (Some(n), DocAction::Number | DocAction::OrgSign) => format!("Số: {n}"),
        _ => reason.clone(),
    };
    for f in &input.findings {
        if !note.is_empty() {
            note.push('\n');
        }
        note.push_str(f);
    }
    batch.push(event_part(
        actor,
        id,
        action.as_str(),
        doc.state,
        to,
        &note,
        now,
    ));
    // Those whose turn it now is, the drafter, the recipients: told in this same transaction,
    // each notice written only if its account is enabled. The entry is computed on all of
    // them written (and on the version's expected number); otherwise it is appended after the
    // batch with what was.
    let notices: Vec<PartId> =
        crate::notices::step_notices(&mut tx, &doc, action, to, &reason, &outcome, &names, now)
            .await?
            .into_iter()
            .map(|p| batch.push(p))
            .collect();
    let expected = i64::try_from(notices.len()).unwrap_or(i64::MAX);
    gates.push(Gate::Rows(notices.clone(), expected));
    if let Some(obj) = detail.as_object_mut() {
        obj.insert("notified".into(), json!(expected));
    }
    let audit_action = audit_action(action);
    let event = |detail| Event {
        action: &audit_action,
        object: format!("document:{id}"),
        agency: Some(doc.agency_code.clone()),
        detail,
    };
    let ran = tx
        .run_audited(batch, event(detail.clone()), &gates, now)
        .await?;
    let notified = ran.rows(&notices);
    tracing::debug!(
        document = id,
        action = action.as_str(),
        notices = notified,
        "document notices written"
    );
    if ran.audited {
        tx.commit().await?;
    } else {
        outcome.version = version.map(|v| ran.value(v));
        if let Some(obj) = detail.as_object_mut() {
            obj.insert("version".into(), json!(outcome.version));
            obj.insert("notified".into(), json!(notified));
        }
        tx.commit_audited(event(detail), now).await?;
    }
    Ok(outcome)
}

/// A signed version must keep the version it signs byte for byte as its beginning (a PDF
/// signature is an incremental update). The sequence number the new version will have.
async fn check_extends_last(store: &Store, blobs: &Blobs, id: i64, bytes: &[u8]) -> Result<i64> {
    let last = sqlx::query(
        "SELECT seq, sha256 FROM document_versions WHERE document_id = $1 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    let Some(last) = last else { return Ok(1) };
    let (seq, sha): (i64, String) = (last.try_get(0)?, last.try_get(1)?);
    let previous = get_blob(blobs, &sha).await?;
    if bytes.len() > previous.len() && bytes.starts_with(&previous) {
        Ok(seq + 1)
    } else {
        Err(Error::invalid(
            "file",
            "Tệp đã ký không giữ nguyên phiên bản trước (chữ ký số phải được thêm vào sau, không \
             sửa nội dung đã có).",
            "The signed file does not keep the previous version unchanged (a signature is \
             appended; what was there must stay byte for byte).",
        ))
    }
}

/// Reserve the next number of the document's register for this year: the lowest released
/// one, else one more than the highest; and move the document to `to` with its number in one
/// UPDATE (refused, and the reservation undone with the step's savepoint, if someone moved the
/// document on meanwhile). One round trip, the read; the two writes go in `batch`.
async fn reserve_number(
    tx: &mut WriteTx,
    batch: &mut Batch,
    doc: &Document,
    to: DocState,
    now: OffsetDateTime,
) -> Result<(i64, String)> {
    let year = i64::from(series_year(now));
    // One round trip inside the write lock: the issuer, the lowest released number and the
    // next new one.
    let row = sqlx::query(
        "SELECT r.issuer_abbrev, \
         (SELECT MIN(number) FROM doc_numbers WHERE register_id = $1 AND year = $2 \
          AND status = 'released'), \
         (SELECT COALESCE(MAX(number), 0) + 1 FROM doc_numbers \
          WHERE register_id = $1 AND year = $2) \
         FROM doc_registers r WHERE r.id = $1",
    )
    .bind(doc.register_id)
    .bind(year)
    .fetch_one(tx.conn())
    .await?;
    let issuer: String = row.try_get(0)?;
    let released: Option<i64> = row.try_get(1)?;
    let next: i64 = row.try_get(2)?;
    let notation = Notation::new(doc.meta.doc_type, &issuer, &doc.meta.unit_abbrev)?;
    let symbol = notation.symbol();
    let number = released.unwrap_or(next);
    let nowu = now.unix_timestamp();
    batch.push(
        Part::new(
            "UPDATE documents SET state = $1, updated_at = $2, number = $3, number_year = $4, \
             notation = $5, issued_date = $6 WHERE id = $7 AND state = $8",
            vec![
                to.as_str().into(),
                nowu.into(),
                number.into(),
                year.into(),
                symbol.as_str().into(),
                vietnam_date(now).to_string().into(),
                doc.id.into(),
                doc.state.as_str().into(),
            ],
        )
        .expect(1, moved_on()),
    );
    let taken = match released {
        Some(n) => Part::new(
            "UPDATE doc_numbers SET status = 'reserved', document_id = $1, notation = $2, \
             changed_at = $3 WHERE register_id = $4 AND year = $5 AND number = $6 \
             AND status = 'released'",
            vec![
                doc.id.into(),
                symbol.as_str().into(),
                nowu.into(),
                doc.register_id.into(),
                year.into(),
                n.into(),
            ],
        ),
        None => Part::new(
            "INSERT INTO doc_numbers (register_id, year, number, agency_id, status, \
             document_id, notation, changed_at) VALUES ($1, $2, $3, $4, 'reserved', $5, $6, $7)",
            vec![
                doc.register_id.into(),
                year.into(),
                next.into(),
                doc.agency_id.into(),
                doc.id.into(),
                symbol.as_str().into(),
                nowu.into(),
            ],
        ),
    };
    batch.push(taken.unique(
        "doc_numbers",
        "number",
        format!(
            "Số {number}/{symbol} năm {year} đã được dùng cho văn bản khác của cơ quan; không cấp \
             trùng số, ký hiệu."
        ),
        format!(
            "Number {number}/{symbol} of {year} is already used by another document of the \
             agency; a number and notation are never given twice."
        ),
    ));
    let n = u32::try_from(number).unwrap_or(u32::MAX);
    Ok((number, notation.with_number(n)))
}

/// Give the document's reserved number back to its series, with why.
async fn release_number(
    tx: &mut WriteTx,
    doc: &Document,
    reason: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let (Some(number), Some(year)) = (doc.number, doc.number_year) else {
        return Err(Error::conflict(
            "number",
            "Văn bản chưa được cấp số.",
            "The document has no number.",
        ));
    };
    let changed = sqlx::query(
        "UPDATE doc_numbers SET status = 'released', document_id = NULL, notation = NULL, \
         changed_at = $1 WHERE document_id = $2 AND status = 'reserved'",
    )
    .bind(now.unix_timestamp())
    .bind(doc.id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(Error::conflict(
            "number",
            "Số của văn bản đã chính thức (đã ký số cơ quan) nên không hủy được.",
            "The document's number is final (organization-signed) and cannot be released.",
        ));
    }
    sqlx::query(
        "INSERT INTO doc_number_releases (register_id, year, number, document_id, reason, \
         released_by, released_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(doc.register_id)
    .bind(year)
    .bind(number)
    .bind(doc.id)
    .bind(reason)
    .bind(tx.actor().user_id)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "UPDATE documents SET number = NULL, number_year = NULL, notation = NULL, \
         issued_date = NULL WHERE id = $1",
    )
    .bind(doc.id)
    .execute(tx.conn())
    .await?;
    Ok(number)
}

/// Make the reserved number final (the organization signature is being recorded in the same
/// transaction): its UPDATE goes in `batch`.
fn confirm_number(
    batch: &mut Batch,
    doc: &Document,
    shown: Option<u32>,
    now: OffsetDateTime,
) -> Result<i64> {
    let Some(number) = doc.number else {
        return Err(Error::conflict(
            "number",
            "Văn bản chưa được cấp số.",
            "The document has no number.",
        ));
    };
    if let Some(shown) = shown {
        if i64::from(shown) != number {
            let text = doc.number_and_notation().unwrap_or_default();
            return Err(Error::conflict(
                "number",
                format!(
                    "Tệp đã ký ghi số {shown}, nhưng số cấp cho văn bản này là {text}; không dùng \
                     lại số của văn bản khác."
                ),
                format!(
                    "The signed file shows number {shown}, but this document's number is {text}; \
                     another document's number is never reused."
                ),
            ));
        }
    }
    batch.push(
        Part::new(
            "UPDATE doc_numbers SET status = 'issued', changed_at = $1 \
             WHERE document_id = $2 AND status = 'reserved' AND number = $3",
            vec![now.unix_timestamp().into(), doc.id.into(), number.into()],
        )
        .expect(
            1,
            Error::conflict(
                "number",
                "Số của văn bản không còn được giữ; hãy cấp số lại.",
                "The document's number is no longer reserved; number it again.",
            ),
        ),
    );
    Ok(number)
}

/// Deliver the document to each recipient: agencies of the registry get it in their queue;
/// codes the registry does not hold are recorded as sent outside the province.
async fn deliver(tx: &mut WriteTx, doc: &Document, now: OffsetDateTime) -> Result<usize> {
    let mut n = 0;
    for code in &doc.meta.recipients {
        let agency: Option<i64> =
            sqlx::query_scalar("SELECT id FROM agencies WHERE code = $1 OR legacy_code = $1")
                .bind(code)
                .fetch_optional(tx.conn())
                .await?;
        let state = if agency.is_some() {
            "delivered"
        } else {
            "external"
        };
        sqlx::query(
            "INSERT INTO document_deliveries (document_id, recipient_code, recipient_agency_id, \
             state, delivered_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(doc.id)
        .bind(code)
        .bind(agency)
        .bind(state)
        .bind(now.unix_timestamp())
        .execute(tx.conn())
        .await?;
        n += 1;
    }
    Ok(n)
}

/// Record the recall and mark every delivery recalled (their recipients see it in their
/// queue; the file is no longer served to them).
async fn recall(
    tx: &mut WriteTx,
    doc: &Document,
    reason: &str,
    now: OffsetDateTime,
) -> Result<usize> {
    let n = sqlx::query(
        "UPDATE document_deliveries SET state = 'recalled', recalled_at = $1 \
         WHERE document_id = $2 AND state <> 'recalled'",
    )
    .bind(now.unix_timestamp())
    .bind(doc.id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    sqlx::query(
        "INSERT INTO document_recalls (document_id, reason, recalled_by, recalled_at, recipients) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(doc.id)
    .bind(reason)
    .bind(tx.actor().user_id)
    .bind(now.unix_timestamp())
    .bind(i64::try_from(n).unwrap_or(i64::MAX))
    .execute(tx.conn())
    .await?;
    Ok(n)
}

/// The file name of a signed version: the name given (the version signed, as the agent or the
/// browser downloaded it) without `.pdf` and without the suffix of an earlier step, followed by
/// the step's own (`-ky-ca-nhan.pdf`, `-ban-hanh.pdf`), so each version keeps a name of its
/// own; other kinds keep the name given.
fn step_file_name(name: &str, kind: VersionKind) -> String {
    let suffix = match kind {
        VersionKind::PersonallySigned => "ky-ca-nhan",
        VersionKind::OrgSigned => "ban-hanh",
        _ => return name.to_owned(),
    };
    let mut stem = name;
    if stem.len() >= 4 && stem.is_char_boundary(stem.len() - 4) {
        let (head, ext) = stem.split_at(stem.len() - 4);
        if ext.eq_ignore_ascii_case(".pdf") {
            stem = head;
        }
    }
    for earlier in ["the-thuc", "ky-ca-nhan", "ban-hanh"] {
        if stem == earlier {
            stem = "van-ban";
        } else if let Some(head) = stem.strip_suffix(&format!("-{earlier}")) {
            stem = head;
        }
    }
    let stem = if stem.trim().is_empty() {
        "van-ban"
    } else {
        stem
    };
    format!("{stem}-{suffix}.pdf")
}

/// The SHA-256 of document `id`'s last organization-signed version (the sealed file it is
/// dispatched as), if it has one — read inside the dispatch's transaction.
pub(crate) async fn sealed_version(tx: &mut WriteTx, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT sha256 FROM document_versions WHERE document_id = $1 AND kind = $2 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(id)
    .bind(VersionKind::OrgSigned.as_str())
    .fetch_optional(tx.conn())
    .await?)
}

#[cfg(test)]
mod step_name_tests {
    use super::*;

    #[test]
    fn signed_versions_are_named_by_their_step() {
        let p = VersionKind::PersonallySigned;
        let o = VersionKind::OrgSigned;
        assert_eq!(step_file_name("the-thuc.pdf", p), "van-ban-ky-ca-nhan.pdf");
        assert_eq!(
            step_file_name("van-ban-ky-ca-nhan.pdf", o),
            "van-ban-ban-hanh.pdf"
        );
        assert_eq!(
            step_file_name("cong-van-the-thuc.PDF", p),
            "cong-van-ky-ca-nhan.pdf"
        );
        assert_eq!(step_file_name("công văn.pdf", o), "công văn-ban-hanh.pdf");
        assert_eq!(step_file_name(".pdf", o), "van-ban-ban-hanh.pdf");
        assert_eq!(
            step_file_name("the-thuc.pdf", VersionKind::Formatted),
            "the-thuc.pdf"
        );
    }
}
