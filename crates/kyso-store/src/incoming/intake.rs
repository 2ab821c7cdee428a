//! Arrival: a document taken in with the verification the PDF side made of it, duplicates
//! recognised; the deliveries of outgoing documents waiting to arrive.

use super::*;

/// What the verification on arrival found (made by the PDF side with the server's validator).
#[derive(Debug, Clone)]
pub struct Verification {
    pub verdict: Verdict,
    /// Reason codes, most important first.
    pub reasons: Vec<String>,
    /// The `kyso.verify/1` report.
    pub report: serde_json::Value,
    /// The report rendered as a PDF, when the renderer is there.
    pub report_pdf: Option<Vec<u8>>,
}

/// A document arriving.
#[derive(Debug, Clone)]
pub struct NewIncoming {
    /// The receiving agency.
    pub agency_id: i64,
    pub channel: Channel,
    /// A scanned paper document (channel `upload`).
    pub scanned: bool,
    pub sender_code: String,
    pub sender_name: String,
    pub sender_email: String,
    pub number: String,
    pub notation: String,
    /// `yyyy-mm-dd`, or blank.
    pub doc_date: String,
    pub doc_type: String,
    pub subject: String,
    pub signer: String,
    pub file_name: String,
    pub file: Vec<u8>,
    pub verification: Verification,
    /// The delivery it is (channel `internal`, from [`pending_deliveries`]).
    pub delivery_id: Option<i64>,
}

/// A delivery of an outgoing document to an agency of the registry that has not arrived in
/// its incoming queue yet, with what the incoming record takes from it.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub delivery_id: i64,
    pub document_id: i64,
    pub delivered_at: i64,
    pub sender_code: String,
    pub sender_name: String,
    pub number: String,
    pub notation: String,
    pub doc_date: String,
    pub doc_type: String,
    pub subject: String,
    pub signer: String,
    pub file_name: String,
    /// The issued (organization-signed) file.
    pub file: Vec<u8>,
}

/// Deliveries to agency `agency_id` not yet arrived (oldest first, at most `limit`), for who
/// reads that agency's documents; recalled ones never arrive.
pub async fn pending_deliveries(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    agency_id: i64,
    limit: i64,
) -> Result<Vec<PendingDelivery>> {
    crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    let rows = sqlx::query(
        "SELECT d.id, d.document_id, d.delivered_at, a.code, a.name, \
         (SELECT sha256 FROM document_versions v WHERE v.document_id = d.document_id \
          AND v.kind = 'org_signed' ORDER BY v.seq DESC LIMIT 1), \
         (SELECT file_name FROM document_versions v WHERE v.document_id = d.document_id \
          AND v.kind = 'org_signed' ORDER BY v.seq DESC LIMIT 1) \
         FROM document_deliveries d JOIN documents o ON o.id = d.document_id \
         JOIN agencies a ON a.id = o.agency_id \
         WHERE d.recipient_agency_id = $1 AND d.state = 'delivered' AND NOT EXISTS \
         (SELECT 1 FROM incoming_documents i WHERE i.delivery_id = d.id) AND NOT EXISTS \
         (SELECT 1 FROM incoming_delivery_outcomes x WHERE x.delivery_id = d.id) \
         ORDER BY d.delivered_at, d.id LIMIT $2",
    )
    .bind(agency_id)
    .bind(limit.clamp(1, 500))
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let document_id: i64 = row.try_get(1)?;
        let Some(sha) = row.try_get::<Option<String>, _>(5)? else {
            continue;
        };
        let doc = crate::documents::load_unchecked(store, document_id).await?;
        let file = get_blob(blobs, &sha).await?;
        let signer = [
            doc.meta.signer.title.as_str(),
            doc.meta.signer.name.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
        out.push(PendingDelivery {
            delivery_id: row.try_get(0)?,
            document_id,
            delivered_at: row.try_get(2)?,
            sender_code: row.try_get(3)?,
            sender_name: row.try_get(4)?,
            number: doc
                .number
                .and_then(|n| u32::try_from(n).ok())
                .map(kyso_domain::documents::number_text)
                .unwrap_or_default(),
            notation: doc.notation.clone().unwrap_or_default(),
            doc_date: doc.issued_date.clone().unwrap_or_default(),
            doc_type: doc.meta.doc_type.label_vi().to_owned(),
            subject: doc.meta.subject.clone(),
            signer,
            file_name: row.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
            file,
        });
    }
    Ok(out)
}

/// Take a document in: checked, its file kept, the record `received` (status 01), with its
/// timeline row and audit entry. Who may: the receiving agency's clerk for an upload; who may
/// issue documents there (the clerk, an integration account granted the clerk role, an
/// administrator) for the API and edXML; who reads the agency's documents for a delivery (it
/// was sent to them).
pub async fn intake(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewIncoming,
    now: OffsetDateTime,
) -> Result<Incoming> {
    intake_file(
        store,
        blobs,
        actor,
        input,
        FileIn::Bytes(&input.file),
        None,
        now,
    )
    .await
}

/// [`intake`] of a document that arrived as an edXML package (channel `edxml`), with what the
/// package said beyond the record (`origin`: the sender's `OrganId`, `DocumentId` and date as
/// written, the rest of the header) and the whole `package`, kept in the blob folder: the
/// record and its header in one transaction, audited `incoming.arrive` then
/// `incoming.edxml_header` — should the header not be written, nothing of the arrival is.
pub async fn intake_edxml(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewIncoming,
    origin: &EdxmlOrigin,
    package: &[u8],
    now: OffsetDateTime,
) -> Result<Incoming> {
    if input.channel != Channel::Edxml {
        return Err(Error::invalid(
            "channel",
            "Văn bản này không đến qua gói edXML.",
            "This document did not arrive as an edXML package.",
        ));
    }
    intake_file(
        store,
        blobs,
        actor,
        input,
        FileIn::Bytes(&input.file),
        Some((origin, package)),
        now,
    )
    .await
}

/// [`intake`] of a file streamed to the blob folder ([`crate::blobs::BlobWriter`]) instead of
/// `input.file` (ignored): its streamed SHA-256 and size are the record's and duplicates by
/// bytes are found by that hash. As for [`intake`], the file is moved to its name inside the
/// transaction, after the duplicate check — a refused arrival leaves neither a row nor a file
/// (the temporary file goes with `staged`). Its size was capped by the writer (the server's
/// configured cap for streamed arrivals, which may exceed [`MAX_FILE`]).
pub async fn intake_staged(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewIncoming,
    staged: crate::blobs::StagedBlob,
    now: OffsetDateTime,
) -> Result<Incoming> {
    intake_file(
        store,
        blobs,
        actor,
        input,
        FileIn::Staged(staged),
        None,
        now,
    )
    .await
}

/// The file of an arrival: bytes in memory, or streamed to a temporary blob.
enum FileIn<'a> {
    Bytes(&'a [u8]),
    Staged(crate::blobs::StagedBlob),
}

/// The arrival's writes, made in one grouped write turn (`Store::begin_write_grouped`: a busy
/// intake pays one commit for a group of arrivals). Everything that takes time without
/// needing the write lock is done before it: the checks, the file and the report's PDF (and
/// an edXML package) written and flushed to temporary files. In the turn: the duplicate check
/// (through the transaction, so it sees the group's earlier arrivals), the rows, then the
/// files placed under their names (last: a refused arrival leaves no file). What makes them
/// durable — the folders they were moved into flushed, or their uploads to a bucket — runs
/// meanwhile, and the transaction commits only once it has (`WriteTx::commit_after`): a committed record never names a file a power cut could lose,
/// and nothing is answered before its commit.
#[allow(clippy::too_many_arguments)]
async fn intake_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    input: &NewIncoming,
    file: FileIn<'_>,
    edxml: Option<(&EdxmlOrigin, &[u8])>,
    now: OffsetDateTime,
) -> Result<Incoming> {
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadDocuments).await?;
    let permission = match input.channel {
        Channel::Upload => {
            let (duty, _) = IncomingAction::Register.duty();
            let Some(duty) = duty else {
                return Err(Error::Forbidden);
            };
            if !holds(actor, duty, agency.id, &agency.path) {
                return Err(Error::Forbidden);
            }
            Permission::IssueDocument
        }
        Channel::Api | Channel::Edxml => {
            actor.reach(Permission::IssueDocument, &agency.path, Record::Agency)?;
            Permission::IssueDocument
        }
        Channel::Internal => Permission::ReadDocuments,
    };
    // What arrives: the fields as given, checked.
    let text = |field: &'static str, v: &str| -> Result<String> {
        Ok(kyso_domain::documents::meta::text(field, v, false)?)
    };
    let sender_code = text("sender_code", &input.sender_code)?;
    let sender_name = text("sender_name", &input.sender_name)?;
    let sender_email = text("sender_email", &input.sender_email)?;
    if sender_code.is_empty() && sender_name.is_empty() {
        return Err(Error::invalid(
            "sender_name",
            "Cần ghi cơ quan gửi (tên hoặc mã định danh).",
            "The sender is required (its name or identifier code).",
        ));
    }
    let number = text("number", &input.number)?;
    let notation = text("notation", &input.notation)?;
    let doc_date = date_field("doc_date", &input.doc_date)?;
    let doc_type = text("doc_type", &input.doc_type)?;
    let subject = text("subject", &input.subject)?;
    let signer = text("signer", &input.signer)?;
    let file_name = {
        let n = text("file_name", &input.file_name)?;
        if n.is_empty() {
            "van-ban-den.pdf".to_owned()
        } else {
            n
        }
    };
    let (head, size) = match &file {
        FileIn::Bytes(b) => (*b, b.len() as u64),
        FileIn::Staged(st) => (st.head(), st.size()),
    };
    if matches!(file, FileIn::Bytes(_)) && size > MAX_FILE as u64 {
        return Err(Error::invalid(
            "file",
            format!("Tệp quá lớn (tối đa {} MB).", MAX_FILE / (1024 * 1024)),
            format!(
                "The file is too large (at most {} MB).",
                MAX_FILE / (1024 * 1024)
            ),
        ));
    }
    if !head.starts_with(b"%PDF-") {
        return Err(Error::invalid(
            "file",
            "Tệp không phải PDF; văn bản điện tử đến phải là tệp PDF.",
            "The file is not a PDF; an incoming electronic document must be a PDF file.",
        ));
    }
    if input.scanned && input.channel != Channel::Upload {
        return Err(Error::invalid(
            "scanned",
            "Chỉ văn bản giấy do văn thư quét mới đánh dấu là bản quét.",
            "Only a paper document scanned by the clerk is marked as a scan.",
        ));
    }
    let (delivery, source_document_id, arrived_at) = match (input.channel, input.delivery_id) {
        (Channel::Internal, Some(id)) => {
            let row = sqlx::query(
                "SELECT document_id, delivered_at, state FROM document_deliveries \
                 WHERE id = $1 AND recipient_agency_id = $2",
            )
            .bind(id)
            .bind(agency.id)
            .fetch_optional(store.pool())
            .await?
            .ok_or_else(not_found)?;
            if row.try_get::<String, _>(2)? != "delivered" {
                return Err(Error::conflict(
                    "delivery_id",
                    "Văn bản này đã bị cơ quan ban hành thu hồi.",
                    "This document was recalled by its issuer.",
                ));
            }
            (Some(id), Some(row.try_get::<i64, _>(0)?), row.try_get(1)?)
        }
        (Channel::Internal, None) | (_, Some(_)) => {
            return Err(Error::invalid(
                "delivery_id",
                "Văn bản liên thông trong hệ thống đến qua lần phát hành của nó.",
                "A document delivered within kyso arrives by its delivery.",
            ))
        }
        (_, None) => (None, None, now.unix_timestamp()),
    };
    let v = &input.verification;
    let reasons = v
        .reasons
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .collect::<Vec<_>>()
        .join(",");
    let report = v.report.to_string();
    // The file (streamed, or bytes in memory written out now), the report's PDF and the
    // package are flushed to temporary files here, and moved to their names inside the
    // transaction after its rows: a refused arrival leaves no file behind.
    // Each flushed on its own blocking thread, at once.
    let (staged, staged_report, staged_package) = tokio::try_join!(
        async {
            match file {
                FileIn::Bytes(bytes) => stage_blob(blobs, bytes).await,
                FileIn::Staged(staged) => Ok(staged),
            }
        },
        stage_some(blobs, v.report_pdf.as_deref()),
        stage_some(blobs, edxml.map(|(_, package)| package)),
    )?;
    let sha = staged.name().to_owned();
    let report_pdf = staged_report.as_ref().map(|r| r.name().to_owned());
    let package_sha = staged_package.as_ref().map(|p| p.name().to_owned());

    let mut tx = store
        .begin_write_grouped(actor, On::Agency(permission, &agency.path))
        .await?;
    refuse_duplicate(
        &mut tx,
        agency.id,
        &sha,
        &sender_code,
        &sender_name,
        &number,
        &notation,
        &doc_date,
    )
    .await?;
    // Issue 18 review: a copy naming a sender inside kyso is linked to that sender's document
    // (reading::claimed_source), so that a refusal reaches it as a delivery's does.
    let source_document_id = match (source_document_id, input.channel) {
        (None, Channel::Upload | Channel::Api | Channel::Edxml) => {
            super::reading::claimed_source(
                &mut tx,
                agency.id,
                &sender_code,
                &sender_name,
                &number,
                &notation,
                &doc_date,
                &sha,
            )
            .await?
        }
        (source, _) => source,
    };
    let nowu = now.unix_timestamp();
    let state = IncomingState::Received;
    let row = sqlx::query(
        "INSERT INTO incoming_documents (agency_id, channel, scanned, state, status_code, \
         sender_code, sender_name, sender_email, number, notation, doc_date, doc_type, subject, \
         signer, sha256, size, file_name, verdict, reasons, report, report_pdf_sha256, \
         delivery_id, source_document_id, arrived_at, received_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $26, $26) RETURNING id",
    )
    .bind(agency.id)
    .bind(input.channel.as_str())
    .bind(i64::from(input.scanned))
    .bind(state.as_str())
    .bind(state.status_code())
    .bind(&sender_code)
    .bind(&sender_name)
    .bind(&sender_email)
    .bind(&number)
    .bind(&notation)
    .bind(&doc_date)
    .bind(&doc_type)
    .bind(&subject)
    .bind(&signer)
    .bind(&sha)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(&file_name)
    .bind(v.verdict.as_str())
    .bind(&reasons)
    .bind(&report)
    .bind(report_pdf.as_deref())
    .bind(delivery)
    .bind(source_document_id)
    .bind(arrived_at)
    .bind(actor.user_id)
    .bind(nowu)
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "delivery_id",
        "Văn bản này đã đến hàng đợi văn bản đến của cơ quan.",
        "This document has already arrived in the agency's incoming queue.",
    ))?;
    let id: i64 = row.try_get(0)?;
    let note = format!(
        "{} — {}",
        input.channel.label_vi(),
        input.verification.verdict.label_vi()
    );
    insert_event(&mut tx, id, "arrive", state, state, &note, now).await?;
    let mut event = Event {
        action: "incoming.arrive",
        object: format!("incoming:{id}"),
        agency: Some(agency.code.clone()),
        detail: json!({
            "channel": input.channel.as_str(),
            "scanned": input.scanned,
            "sender_code": sender_code,
            "sender_name": sender_name,
            "number": number,
            "notation": notation,
            "doc_date": doc_date,
            "sha256": sha,
            "size": size,
            "verdict": v.verdict.as_str(),
            "reasons": v.reasons,
            "delivery_id": delivery,
            "source_document_id": source_document_id,
        }),
    };
    if let (Some((origin, package)), Some(package_sha)) = (edxml, package_sha) {
        insert_edxml_origin(&mut tx, id, origin, &package_sha, now).await?;
        let actor = tx.actor().clone();
        crate::audit::append(&mut tx, &actor, event, now).await?;
        event = Event {
            action: "incoming.edxml_header",
            object: format!("incoming:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({
                "organ_id": origin.organ_id,
                "document_id": origin.document_id,
                "package_sha256": package_sha,
                "package_size": package.len(),
            }),
        };
    }
    // The files last, once every row is written (a refusal above leaves none of them).
    let staged = std::iter::once(staged)
        .chain(staged_report)
        .chain(staged_package)
        .collect();
    for settle in place_blobs(staged).await? {
        tx.commit_after(tokio::task::spawn_blocking(move || settle.run()));
    }
    tx.commit_audited(event, now).await?;
    let mut conn = store.pool().acquire().await?;
    load_unchecked(&mut conn, id).await
}

/// `bytes`, if any, written to a temporary blob and flushed.
async fn stage_some(
    blobs: &Blobs,
    bytes: Option<&[u8]>,
) -> Result<Option<crate::blobs::StagedBlob>> {
    match bytes {
        Some(b) => stage_blob(blobs, b).await.map(Some),
        None => Ok(None),
    }
}

/// Place the staged blobs under their names (off the async threads): what is left to make
/// them durable (each folder's flush once, or the uploads), to run before the transaction
/// naming them commits.
async fn place_blobs(staged: Vec<crate::blobs::StagedBlob>) -> Result<Vec<crate::objects::Settle>> {
    tokio::task::spawn_blocking(move || {
        let mut settles = Vec::new();
        for blob in staged {
            settles.push(blob.place()?.1);
        }
        Ok(crate::objects::Settle::merge(settles))
    })
    .await
    .map_err(|e| Error::Database(sqlx::Error::Io(std::io::Error::other(e.to_string()))))?
    .map_err(crate::documents::blob_error)
}

/// Keep what edXML package of incoming document `id` said beyond the record (table
/// `incoming_edxml`; once per document), the package being blob `package_sha`.
async fn insert_edxml_origin(
    tx: &mut WriteTx,
    id: i64,
    origin: &EdxmlOrigin,
    package_sha: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incoming_edxml (incoming_id, organ_id, document_id, promulgation_date, \
         header, package_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&origin.organ_id)
    .bind(&origin.document_id)
    .bind(&origin.promulgation_date)
    .bind(origin.header.to_string())
    .bind(package_sha)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await
    .map_err(crate::unique(
        "incoming_id",
        "Gói edXML của văn bản này đã được ghi nhận.",
        "The edXML package of this document is already recorded.",
    ))?;
    Ok(())
}

/// The same document already received by the agency: the same bytes, or the same sender
/// (code, else name), number, notation and date — an earlier refused or recalled record aside,
/// since the sender may send it again corrected. Checked under the write lock, so two arrivals
/// at once cannot both pass.
#[allow(clippy::too_many_arguments)]
async fn refuse_duplicate(
    tx: &mut WriteTx,
    agency_id: i64,
    sha: &str,
    sender_code: &str,
    sender_name: &str,
    number: &str,
    notation: &str,
    doc_date: &str,
) -> Result<()> {
    let same_bytes = sqlx::query(
        "SELECT id, arrived_at, state, arrival_number FROM incoming_documents \
         WHERE agency_id = $1 AND sha256 = $2 ORDER BY id LIMIT 1",
    )
    .bind(agency_id)
    .bind(sha)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(row) = same_bytes {
        return Err(duplicate(
            &row,
            "file",
            "cùng nội dung tệp",
            "the same file",
        ));
    }
    if number.is_empty() || doc_date.is_empty() {
        return Ok(());
    }
    let same_meta = sqlx::query(
        "SELECT id, arrived_at, state, arrival_number FROM incoming_documents \
         WHERE agency_id = $1 AND number = $2 AND notation = $3 AND doc_date = $4 \
         AND state NOT IN ('refused', 'recalled') \
         AND (($5 <> '' AND sender_code = $5) OR ($5 = '' AND $6 <> '' AND sender_name = $6)) \
         ORDER BY id LIMIT 1",
    )
    .bind(agency_id)
    .bind(number)
    .bind(notation)
    .bind(doc_date)
    .bind(sender_code)
    .bind(sender_name)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(row) = same_meta {
        return Err(duplicate(
            &row,
            "number",
            "cùng cơ quan gửi, số, ký hiệu và ngày",
            "the same sender, number, notation and date",
        ));
    }
    Ok(())
}

fn duplicate(row: &AnyRow, field: &'static str, why_vi: &str, why_en: &str) -> Error {
    let id: i64 = row.try_get(0).unwrap_or_default();
    let at: i64 = row.try_get(1).unwrap_or_default();
    let state: String = row.try_get(2).unwrap_or_default();
    let arrival: Option<i64> = row.try_get(3).unwrap_or_default();
    let state = IncomingState::parse(&state).unwrap_or(IncomingState::Received);
    let at = OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (arrival_vi, arrival_en) = match arrival {
        Some(n) => (format!(", số đến {n}"), format!(", arrival number {n}")),
        None => (String::new(), String::new()),
    };
    Error::conflict(
        field,
        format!(
            "Văn bản này đã được tiếp nhận ({why_vi}): văn bản đến #{id}, đến ngày {}{arrival_vi}, \
             trạng thái \"{}\". Không tiếp nhận lần thứ hai.",
            kyso_domain::calendar::date_text(at),
            state.label_vi()
        ),
        format!(
            "This document was already received ({why_en}): incoming document #{id}, arrived \
             {}{arrival_en}, state \"{}\". It is not taken in twice.",
            kyso_domain::calendar::date_text(at),
            state.label_en()
        ),
    )
}
