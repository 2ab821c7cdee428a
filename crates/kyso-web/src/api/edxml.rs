//! `GET /api/v1/documents/{id}/edxml`: an issued document as the edXML envelope agencies
//! exchange through the document axes (issue 18 item 5; `docs/edxml.md`).
//!
//! The header comes from the document's Decree 30 metadata, its number, notation and date, and
//! the sender agency's registry record; the files are the issued PDF (the last
//! organization-signed version) and the signed attachments, read from the blob folder and
//! re-hashed against their SHA-256 names, carried byte for byte. The envelope is
//! `kyso_edxml::write`'s; the incoming side reads it with `kyso_edxml::read`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kyso_domain::codes::AgencyCode;
use kyso_domain::documents::meta::Urgency;
use kyso_domain::documents::DocState;
use kyso_domain::roles::Permission;
use kyso_store::documents::{self as docs, VersionKind};
use kyso_store::{registry, Actor};
use time::OffsetDateTime;

use super::{ApiResult, Id, Routes};
use crate::auth::Auth;
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_document_edxml, _, _>(document_edxml)
}

/// The issued document as an edXML envelope (QCVN 102:2016): the header (From with the
/// agency's identifier code and directory data, To for each recipient code, Code, PromulgationInfo,
/// DocumentType, Subject, SignerInfo, ToPlaces, OtherInfo, DocumentId, TraceHeaderList) and the
/// issued PDF and its signed attachments as byte-exact base64 attachments. Only readers of the
/// document (others: 404); a document not dispatched (or recalled) has no envelope (409
/// `not_issued`).
#[utoipa::path(get, path = "/api/v1/documents/{id}/edxml", tag = "documents", params(Id),
    responses((status = 200, description = "The edXML envelope", content_type = "application/xml",
        body = super::dto::BinaryFile),
        (status = 409, description = "The document is not issued (dispatched)",
            body = super::dto::ErrorBody)))]
pub(crate) async fn document_edxml(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Response> {
    let (name, envelope) = document_envelope(&st, &auth.actor, id).await?;
    let bytes = kyso_edxml::write(&envelope);
    tracing::info!(
        document = id,
        bytes = bytes.len(),
        attachments = envelope.attachments.len(),
        "edXML envelope exported"
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn not_issued() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "not_issued",
        None,
        "Văn bản chưa được phát hành nên chưa có gói edXML để gửi liên thông.",
        "The document has not been issued (dispatched), so it has no edXML envelope.",
    )
}

/// The identifier code in the 13-character form of Decree 30 (`000.00.37.H41`), from either
/// form; the text as given when it is neither.
pub(crate) fn organ_id(code: &str) -> String {
    AgencyCode::parse(code).map_or_else(|_| code.trim().to_owned(), |c| c.legacy())
}

/// `yyyy/MM/dd` from the store's ISO date.
pub(crate) fn slash_date(iso: &str) -> String {
    iso.replace('-', "/")
}

pub(crate) fn timestamp(now: OffsetDateTime) -> String {
    let t = now.to_offset(kyso_domain::calendar::VIETNAM);
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Agency `agency_id` as an organization of the exchange: its 13-character identifier code
/// (the registry's legacy code, else converted from the dotted one), name, managing agency,
/// address, e-mail and phone. The sender of exports and of status messages.
pub(crate) async fn agency_organization(
    st: &AppState,
    agency_id: i64,
) -> Result<kyso_edxml::Organization, ApiError> {
    let sys = Actor::system();
    let agency = registry::agency(&st.store, &sys, agency_id, Permission::ReadRegistry).await?;
    let organization_in_charge = match agency.parent_id {
        Some(p) => {
            registry::agency(&st.store, &sys, p, Permission::ReadRegistry)
                .await?
                .name
        }
        None => String::new(),
    };
    Ok(kyso_edxml::Organization {
        organ_id: if agency.legacy_code.is_empty() {
            organ_id(&agency.code)
        } else {
            agency.legacy_code
        },
        organization_in_charge,
        organ_name: agency.name,
        organ_add: agency.address,
        email: agency.email,
        telephone: agency.phone,
        ..Default::default()
    })
}

/// The envelope of document `id` for `actor` (a reader of the document) and its file name.
/// Shared by the API and any other face.
pub(crate) async fn document_envelope(
    st: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(String, kyso_edxml::Envelope), ApiError> {
    use kyso_edxml as ed;
    // The reader's scope first: another agency's document is not found.
    let detail = docs::get_document(&st.store, actor, id).await?;
    let d = &detail.document;
    if d.state != DocState::Dispatched {
        return Err(not_issued());
    }
    let (Some(number), Some(notation), Some(date)) = (d.number, &d.notation, &d.issued_date) else {
        return Err(not_issued());
    };
    let issued = detail
        .versions
        .iter()
        .rev()
        .find(|v| v.kind == VersionKind::OrgSigned)
        .ok_or_else(not_issued)?;
    let blobs = super::documents::blobs(st)?;
    let (version, pdf) = docs::version_file(&st.store, &blobs, actor, id, issued.seq).await?;
    let sys = Actor::system();
    let from = agency_organization(st, d.agency_id).await?;
    let from_id = from.organ_id.clone();
    let meta = &d.meta;
    let mut to = Vec::with_capacity(meta.recipients.len());
    for code in &meta.recipients {
        // A recipient of the registry is named; another code travels alone.
        let known = registry::agency_by_code(&st.store, &sys, code).await.ok();
        to.push(ed::Organization {
            organ_id: organ_id(code),
            organ_name: known.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
            organ_add: known
                .as_ref()
                .map(|a| a.address.clone())
                .unwrap_or_default(),
            email: known.as_ref().map(|a| a.email.clone()).unwrap_or_default(),
            telephone: known.map(|a| a.phone).unwrap_or_default(),
            ..Default::default()
        });
    }
    let number_text = kyso_domain::documents::number_text(u32::try_from(number).unwrap_or(0));
    let code = format!("{number_text}/{notation}");
    let date = slash_date(date);
    let lines = meta.signer.title_lines();
    let (competence, position) = match lines.as_slice() {
        [first, second] => (first.clone(), second.clone()),
        [only] => (only.clone(), only.clone()),
        _ => (String::new(), String::new()),
    };
    let header = ed::MessageHeader {
        from,
        to_places: to
            .iter()
            .map(|t| {
                if t.organ_name.is_empty() {
                    t.organ_id.clone()
                } else {
                    t.organ_name.clone()
                }
            })
            .collect(),
        to,
        code: ed::Code {
            code_number: number_text,
            code_notation: notation.clone(),
        },
        promulgation_info: ed::PromulgationInfo {
            place: meta.place.clone(),
            promulgation_date: date.clone(),
        },
        document_type: ed::DocumentType {
            type_code: ed::TYPE_ADMINISTRATIVE,
            type_name: meta.doc_type.label_vi().to_owned(),
        },
        subject: meta.subject.clone(),
        content: String::new(),
        signer_info: ed::SignerInfo {
            competence,
            position,
            full_name: meta.signer.name.clone(),
        },
        due_date: String::new(),
        other_info: ed::OtherInfo {
            priority: Some(match meta.urgency {
                Urgency::Normal => 0,
                Urgency::Urgent => 1,
                Urgency::VeryUrgent => 2,
                Urgency::Flash => 3,
            }),
            page_amount: meta.page_count,
            appendixes: meta.attachments.iter().map(|a| a.title.clone()).collect(),
            ..Default::default()
        },
        response_for: Vec::new(),
        steering_type: None,
        document_id: ed::document_id(&from_id, &date, &code),
    };
    let mut attachments = vec![ed::Attachment {
        content_id: "van-ban".to_owned(),
        content_type: "application/pdf".to_owned(),
        description: format!("Văn bản số {code} đã ký số"),
        name: version.file_name.clone(),
        content: pdf,
    }];
    for a in docs::list_attachments(&st.store, actor, id).await? {
        let (a, v, bytes) = docs::attachment_file(&st.store, &blobs, actor, id, a.id, None).await?;
        attachments.push(ed::Attachment {
            content_id: format!("phu-luc-{}", a.position),
            content_type: "application/pdf".to_owned(),
            description: a.title,
            name: v.file_name,
            content: bytes,
        });
    }
    let envelope = ed::Envelope {
        header,
        trace: ed::TraceHeaderList {
            trace_headers: vec![ed::TraceHeader {
                organ_id: from_id,
                timestamp: timestamp(st.now()),
            }],
            business: Some(ed::Business {
                business_doc_type: 0,
                business_doc_reason: "Văn bản điện tử mới".to_owned(),
                paper: "0".to_owned(),
                ..Default::default()
            }),
        },
        attachments,
    };
    Ok((format!("van-ban-{id}.edxml"), envelope))
}
