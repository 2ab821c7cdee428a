//! edXML packages as an intake channel (issue 18 item 1): the one path behind
//! `POST /api/v1/incoming/edxml` and the clerk's upload page.
//!
//! The package is read by `kyso_edxml::read` with the document routes' limits ([`limits`]: no
//! DTD or entity, depth and element caps, attachment sizes from their base64 length before
//! any is decoded) on the blocking threads; a refused package stores nothing and answers the
//! reader's typed refusal in Vietnamese and English. The receiving agency is one of the
//! package's `To` that the caller may take documents in for (the permission to issue documents
//! there, its subtree): the one given, else the only one — several of the caller's agencies
//! among the `To` are refused with their names, since each takes in its own copy. The header
//! is mapped to the incoming record (From → sender code, name and e-mail; Code → number and
//! notation; PromulgationDate → the document date; DocumentType/TypeName; Subject;
//! SignerInfo), the first PDF attachment is the document, byte for byte, and it is taken in by
//! [`crate::incoming::take_in_edxml`] (verified first; duplicates refused there) with channel
//! `edxml`. What the record has no column for — the sender's `OrganId`, `DocumentId` and date
//! as written (the status messages answer with them), To, ResponseFor, DueDate, ToPlaces,
//! OtherInfo, SteeringType, the trace — and the whole package (its other attachments) are kept
//! with the record in the same transaction (`kyso_store::incoming::intake_edxml`): no record
//! without its header.

use axum::http::StatusCode;
use kyso_domain::codes::AgencyCode;
use kyso_domain::incoming::Channel;
use kyso_domain::roles::Permission;
use kyso_edxml as ed;
use kyso_store::incoming::{EdxmlOrigin, Incoming};
use kyso_store::{registry, Actor};
use serde_json::json;

use crate::incoming::{take_in_edxml, Arrival};
use crate::{ApiError, AppState};

/// The largest package taken in: a document file's JSON body (its base64 and room for the
/// header).
pub(crate) const MAX_PACKAGE: usize = crate::MAX_DOCUMENT_JSON;

/// The reader's limits for packages taken in: the whole package at most [`MAX_PACKAGE`], the
/// attachments together at most one document file ([`crate::MAX_DOCUMENT_FILE`]); the
/// structure limits are the reader's defaults.
pub(crate) fn limits() -> ed::Limits {
    ed::Limits {
        max_total: MAX_PACKAGE as u64,
        max_attachment: crate::MAX_DOCUMENT_FILE as u64,
        max_attachments_total: crate::MAX_DOCUMENT_FILE as u64,
        ..ed::Limits::default()
    }
}

/// The reader's refusal as the API's: 413 for the size, 422 naming the package otherwise.
pub(crate) fn refusal(e: &ed::Error) -> ApiError {
    let status = match e {
        ed::Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(
        status,
        e.code(),
        Some("package"),
        e.message_vi(),
        e.message_en(),
    )
}

/// A package that is too large, before it is read whole.
pub(crate) fn too_large(size: u64) -> ApiError {
    refusal(&ed::Error::TooLarge {
        size,
        limit: MAX_PACKAGE as u64,
    })
}

fn invalid(status: StatusCode, field: &'static str, vi: String, en: String) -> ApiError {
    let code = if status == StatusCode::FORBIDDEN {
        "forbidden"
    } else {
        "invalid"
    };
    ApiError::new(status, code, Some(field), vi, en)
}

/// Whether `actor` may take documents in anywhere (the permission to issue documents): who
/// may not is refused before the body is read.
pub(crate) fn may_receive(actor: &Actor) -> Result<(), ApiError> {
    if actor.scope(Permission::IssueDocument).is_empty() {
        return Err(ApiError::from(kyso_store::Error::Forbidden));
    }
    Ok(())
}

/// Read `package` (untrusted) on the blocking threads.
async fn read_package(package: Vec<u8>) -> Result<(ed::Envelope, Vec<u8>), ApiError> {
    let read =
        tokio::task::spawn_blocking(move || ed::read(&package, limits()).map(|e| (e, package)))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the edXML reading task failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    None,
                    "Lỗi máy chủ khi đọc gói edXML; văn bản chưa được tiếp nhận.",
                    "A server error while reading the edXML package; nothing was taken in.",
                )
            })?;
    read.map_err(|e| {
        tracing::info!(code = e.code(), error = %e, "edXML package refused");
        refusal(&e)
    })
}

/// The receiving agency among the package's `To`: `chosen` if it is one of them, else the only
/// one `actor` may take documents in for.
async fn receiving_agency(
    st: &AppState,
    actor: &Actor,
    to: &[ed::Organization],
    chosen: Option<i64>,
) -> Result<i64, ApiError> {
    let sys = Actor::system();
    let mut known = Vec::new();
    for t in to {
        let Ok(code) = AgencyCode::parse(&t.organ_id) else {
            continue;
        };
        if let Ok(a) = registry::agency_by_code(&st.store, &sys, &code.dotted()).await {
            if !known.iter().any(|k: &registry::Agency| k.id == a.id) {
                known.push(a);
            }
        }
    }
    let codes = to
        .iter()
        .map(|t| t.organ_id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if known.is_empty() {
        return Err(invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            "To",
            format!(
                "Gói edXML gửi đến {codes}: không có cơ quan nào trong số đó thuộc hệ thống này, nên không tiếp nhận."
            ),
            format!(
                "The edXML package is addressed to {codes}: none of them is an agency of this system, so it is not taken in."
            ),
        ));
    }
    let names = |list: &[&registry::Agency]| {
        list.iter()
            .map(|a| format!("{} ({})", a.name, a.code))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(id) = chosen {
        if known.iter().any(|a| a.id == id) {
            return Ok(id);
        }
        let all: Vec<&registry::Agency> = known.iter().collect();
        return Err(invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            "agency_id",
            format!(
                "Gói edXML không gửi đến cơ quan đã chọn; nơi nhận trong gói: {}.",
                names(&all)
            ),
            format!(
                "The edXML package is not addressed to the chosen agency; it is addressed to {}.",
                names(&all)
            ),
        ));
    }
    let mine: Vec<&registry::Agency> = known
        .iter()
        .filter(|a| actor.can(Permission::IssueDocument, &a.path))
        .collect();
    match mine.as_slice() {
        [only] => Ok(only.id),
        [] => {
            let all: Vec<&registry::Agency> = known.iter().collect();
            Err(invalid(
                StatusCode::FORBIDDEN,
                "To",
                format!(
                    "Gói edXML gửi đến {}; tài khoản của bạn không tiếp nhận văn bản đến cho cơ quan nào trong số đó.",
                    names(&all)
                ),
                format!(
                    "The edXML package is addressed to {}; your account does not receive documents for any of them.",
                    names(&all)
                ),
            ))
        }
        several => Err(invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            "agency_id",
            format!(
                "Gói edXML gửi đến nhiều cơ quan mà bạn tiếp nhận văn bản: {}. Mỗi cơ quan tiếp nhận bản của mình; hãy chọn cơ quan nhận (agency_id).",
                names(several)
            ),
            format!(
                "The edXML package is addressed to several agencies you receive documents for: {}. Each takes in its own copy; choose the receiving agency (agency_id).",
                names(several)
            ),
        )),
    }
}

/// The document date of the header as the store keeps it (`yyyy-mm-dd`).
fn iso_date(header: &ed::MessageHeader) -> Result<String, ApiError> {
    let raw = &header.promulgation_info.promulgation_date;
    let (y, m, d) = ed::parse_date(raw).ok_or_else(|| {
        invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            "PromulgationDate",
            format!(
                "Gói edXML không hợp lệ: ngày ban hành \"{raw}\" không đọc được (dùng yyyy/MM/dd, yyyy-MM-dd hoặc dd/MM/yyyy)."
            ),
            format!(
                "Invalid edXML package: the promulgation date \"{raw}\" cannot be read (use yyyy/MM/dd, yyyy-MM-dd or dd/MM/yyyy)."
            ),
        )
    })?;
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

/// The signer as the record names it: the authority, the title and the name, each once.
fn signer(s: &ed::SignerInfo) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in [&s.competence, &s.position, &s.full_name] {
        let p = p.trim();
        if !p.is_empty() && !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts.join(" ")
}

fn is_pdf(a: &ed::Attachment) -> bool {
    a.content.starts_with(b"%PDF-")
}

/// The rest of the header, kept as JSON beside the record.
fn header_json(e: &ed::Envelope) -> serde_json::Value {
    let h = &e.header;
    let org = |o: &ed::Organization| {
        json!({"organ_id": o.organ_id, "organ_name": o.organ_name,
               "organization_in_charge": o.organization_in_charge, "organ_add": o.organ_add,
               "email": o.email, "telephone": o.telephone, "fax": o.fax, "website": o.website})
    };
    json!({
        "from": org(&h.from),
        "to": h.to.iter().map(org).collect::<Vec<_>>(),
        "code": {"code_number": h.code.code_number, "code_notation": h.code.code_notation},
        "promulgation_info": {"place": h.promulgation_info.place,
            "promulgation_date": h.promulgation_info.promulgation_date},
        "document_type": {"type": h.document_type.type_code, "type_name": h.document_type.type_name},
        "subject": h.subject,
        "content": h.content,
        "signer_info": {"competence": h.signer_info.competence,
            "position": h.signer_info.position, "full_name": h.signer_info.full_name},
        "due_date": h.due_date,
        "to_places": h.to_places,
        "other_info": {"priority": h.other_info.priority,
            "sphere_of_promulgation": h.other_info.sphere_of_promulgation,
            "typer_notation": h.other_info.typer_notation,
            "promulgation_amount": h.other_info.promulgation_amount,
            "page_amount": h.other_info.page_amount,
            "appendixes": h.other_info.appendixes},
        "response_for": h.response_for.iter().map(|r| json!({"organ_id": r.organ_id,
            "code": r.code, "promulgation_date": r.promulgation_date,
            "document_id": r.document_id})).collect::<Vec<_>>(),
        "steering_type": h.steering_type,
        "document_id": h.document_id,
        "trace": e.trace.trace_headers.iter().map(|t| json!({"organ_id": t.organ_id,
            "timestamp": t.timestamp})).collect::<Vec<_>>(),
        "business_doc_type": e.trace.business.as_ref().map(|b| b.business_doc_type),
        "attachments": e.attachments.iter().map(|a| json!({"content_id": a.content_id,
            "name": a.name, "content_type": a.content_type, "description": a.description,
            "size": a.content.len()})).collect::<Vec<_>>(),
    })
}

/// Take an edXML package in for `actor`: read within [`limits`], addressed to one of the
/// caller's agencies (`agency_id`, or the only one), its PDF verified and recorded with channel
/// `edxml`, its header and the package kept beside the record.
pub(crate) async fn take_in_package(
    st: &AppState,
    actor: &Actor,
    package: Vec<u8>,
    agency_id: Option<i64>,
) -> Result<Incoming, ApiError> {
    may_receive(actor)?;
    if package.len() > MAX_PACKAGE {
        return Err(too_large(package.len() as u64));
    }
    let (envelope, package) = read_package(package).await?;
    let h = &envelope.header;
    let agency_id = receiving_agency(st, actor, &h.to, agency_id).await?;
    let doc_date = iso_date(h)?;
    let Some(file) = envelope.attachments.iter().find(|a| is_pdf(a)) else {
        return Err(invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            "package",
            "Gói edXML không mang tệp PDF của văn bản (văn bản điện tử đến phải là tệp PDF đã ký số).".into(),
            "The edXML package carries no PDF of the document (an incoming electronic document must be a signed PDF).".into(),
        ));
    };
    let arrival = Arrival {
        agency_id,
        channel: Channel::Edxml,
        scanned: false,
        sender_code: h.from.organ_id.trim().to_owned(),
        sender_name: h.from.organ_name.trim().to_owned(),
        sender_email: h.from.email.trim().to_owned(),
        number: h.code.code_number.trim().to_owned(),
        notation: h.code.code_notation.trim().to_owned(),
        doc_date,
        doc_type: h.document_type.type_name.trim().to_owned(),
        subject: h.subject.trim().to_owned(),
        signer: signer(&h.signer_info),
        file_name: file.name.trim().to_owned(),
        file: file.content.clone(),
        delivery_id: None,
    };
    let origin = EdxmlOrigin {
        organ_id: h.from.organ_id.clone(),
        document_id: h.document_id.clone(),
        promulgation_date: h.promulgation_info.promulgation_date.clone(),
        header: header_json(&envelope),
        package_sha256: String::new(),
    };
    let incoming = take_in_edxml(st, actor, arrival, &origin, &package).await?;
    tracing::info!(
        incoming = incoming.id,
        agency = agency_id,
        sender = %h.from.organ_id,
        attachments = envelope.attachments.len(),
        "edXML package taken in"
    );
    Ok(incoming)
}
