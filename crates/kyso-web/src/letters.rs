//! Each request's official letter (issue 17 item 10): rendered from the request (kyso-letters,
//! the Decree 68 form in the Decree 30 layout, the number left blank before the notation and
//! the date undated) and made an outgoing document of the requesting agency
//! ([`make_letter_document`]). It then goes through the document flow — the official signs it
//! on their own token, the clerk numbers, dates and seals it — and its dispatch sends the
//! request, whose `letter_sha256` then names the sealed file ([`letter_bytes`] serves it). No
//! key held by the server signs a request letter: [`OrgKey`] (`kyso serve --org-key`) signs
//! only the register book's PDF.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use kyso_domain::documents::{DocType, DocumentMeta, SignerBlock};
use kyso_domain::lifecycle::RequestKind;
use kyso_domain::roles::Permission;
use kyso_letters::{Contact, LetterData, LetterRow};
use kyso_store::documents as docs;
use kyso_store::requests::{LetterPlan, RequestDetail};
use kyso_store::{registry, Actor};
use time::OffsetDateTime;

use crate::{ApiError, AppState};

/// An agency's organization key held by the server.
#[derive(Clone)]
pub struct OrgKey {
    pub p12: PathBuf,
    pub password: Arc<kyso_keys::Secret>,
}

impl std::fmt::Debug for OrgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgKey")
            .field("p12", &self.p12)
            .finish_non_exhaustive()
    }
}

impl OrgKey {
    /// The key opened for one signature (read from its PKCS#12 file with its password).
    pub(crate) fn signer(&self) -> Result<kyso_keys::Pkcs12Signer, ApiError> {
        let bytes = std::fs::read(&self.p12).map_err(|_| {
            internal(
                "Không đọc được tệp khóa tổ chức.",
                "Cannot read the organization key file.",
            )
        })?;
        kyso_keys::Pkcs12Signer::from_pkcs12(&bytes, &self.password).map_err(|_| {
            internal(
                "Không mở được khóa tổ chức (sai mật khẩu?).",
                "Cannot open the organization key (wrong password?).",
            )
        })
    }
}

/// Organization keys by agency code (dotted form).
pub type OrgKeys = HashMap<String, OrgKey>;

pub(crate) fn internal(vi: &str, en: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        None,
        vi,
        en,
    )
}

/// Signer `signer_id` of the agency, as its letters' forms offer them; refused at
/// `signer_id` when it is not one.
pub(crate) async fn chosen_signer(
    st: &AppState,
    actor: &Actor,
    agency_id: i64,
    signer_id: i64,
) -> Result<docs::SignerChoice, ApiError> {
    docs::agency_signers(&st.store, actor, agency_id)
        .await?
        .into_iter()
        .find(|s| s.user_id == signer_id)
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("signer_id"),
                "Hãy chọn người ký là lãnh đạo có thẩm quyền ký văn bản của cơ quan.",
                "Choose as signer a leader with signing authority for the agency.",
            )
        })
}

/// What the title block and the date line of an agency's document name besides the agency.
pub(crate) struct TitleBlock {
    /// The agency above it ("UBND Tỉnh Demo"), none for a province itself.
    pub managing: Option<String>,
    /// The place of the date line: the province's ("Demo").
    pub place: String,
}

/// The title block of a document of `agency`: its parent's name above it, and the place named
/// after the root of its tree (the province).
pub(crate) async fn title_block(
    st: &AppState,
    agency: &registry::Agency,
) -> Result<TitleBlock, ApiError> {
    let sys = Actor::system();
    let root_id = agency
        .path
        .split('/')
        .find_map(|id| id.parse::<i64>().ok())
        .unwrap_or(agency.id);
    let province = registry::agency(&st.store, &sys, root_id, Permission::ReadRegistry)
        .await?
        .name;
    let managing = match agency.parent_id {
        Some(p) => Some(
            registry::agency(&st.store, &sys, p, Permission::ReadRegistry)
                .await?
                .name,
        ),
        None => None,
    };
    Ok(TitleBlock {
        managing,
        place: kyso_letters::place_name(&province),
    })
}

/// Run a layout (and whatever signing goes with it) off the async threads; its error as a
/// 422 "cannot produce {what}".
pub(crate) async fn laid_out<F>(
    what_vi: &'static str,
    what_en: &'static str,
    f: F,
) -> Result<Vec<u8>, ApiError>
where
    F: FnOnce() -> Result<Vec<u8>, kyso_letters::Error> + Send + 'static,
{
    let span = tracing::info_span!("layout", what = what_en);
    tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        f().map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                None,
                format!("Không lập được {what_vi}: {}", e.message_vi()),
                format!("Cannot produce the {what_en}: {e}"),
            )
        })
    })
    .await
    .map_err(|_| {
        internal(
            "Lỗi nội bộ khi lập văn bản.",
            "Internal failure producing the document.",
        )
    })?
}

/// The letter's data from the request and the registry, signed by `signer`, its number the
/// blank before the plan's notation.
async fn letter_data(
    st: &AppState,
    signer: &docs::SignerChoice,
    plan: &LetterPlan,
    d: &RequestDetail,
    now: OffsetDateTime,
) -> Result<LetterData, ApiError> {
    let sys = Actor::system();
    let r = &d.request;
    let agency = registry::agency(&st.store, &sys, r.agency_id, Permission::ReadRegistry).await?;
    let TitleBlock { managing, place } = title_block(st, &agency).await?;
    let get = |item: &kyso_store::requests::RequestItem, k: &str| {
        item.data.get(k).cloned().unwrap_or_default()
    };
    let mut rows = Vec::with_capacity(d.items.len());
    for item in &d.items {
        let subscriber = match item.subscriber_id {
            Some(id) => Some(registry::subscriber(&st.store, &sys, id).await?),
            None => None,
        };
        let cert = match item.certificate_id {
            Some(id) => Some(registry::certificate(&st.store, &sys, id).await?),
            None => None,
        };
        let device = match item.device_id {
            Some(id) => Some(registry::device(&st.store, &sys, id).await?),
            None => None,
        };
        let holder = cert
            .as_ref()
            .and_then(|c| c.subscriber_name.clone())
            .or_else(|| subscriber.as_ref().map(|s| s.name.clone()))
            .or_else(|| device.as_ref().and_then(|d| d.holder_name.clone()))
            .unwrap_or_else(|| get(item, "name"));
        let cells: Vec<String> = match r.kind {
            RequestKind::IssueIndividual => vec![
                get(item, "name"),
                get(item, "date_of_birth"),
                get(item, "id_number"),
                get(item, "email"),
                get(item, "title"),
                if get(item, "unit").is_empty() {
                    agency.name.clone()
                } else {
                    get(item, "unit")
                },
                get(item, "phone"),
                get(item, "old_serial"),
            ],
            RequestKind::IssueOrganization => vec![
                get(item, "name"),
                get(item, "address"),
                get(item, "tax_code"),
                get(item, "budget_code"),
                get(item, "province"),
                get(item, "email"),
            ],
            RequestKind::IssueDevice => vec![
                get(item, "name"),
                get(item, "address"),
                agency.name.clone(),
                get(item, "province"),
                get(item, "email"),
            ],
            RequestKind::Renew | RequestKind::ChangeInfo | RequestKind::Revoke => {
                let what = match r.kind {
                    RequestKind::Renew => "Gia hạn".to_owned(),
                    RequestKind::Revoke => format!("Thu hồi: {}", r.reason),
                    _ => {
                        let changes: Vec<String> = item
                            .data
                            .iter()
                            .filter(|(k, v)| !v.is_empty() && k.as_str() != "issued_certificate_id")
                            .map(|(k, v)| format!("{}: {v}", registry::field_vi(k)))
                            .collect();
                        format!("Thay đổi {}", changes.join("; "))
                    }
                };
                vec![
                    holder,
                    cert.as_ref().map(|c| c.serial.clone()).unwrap_or_default(),
                    cert.as_ref()
                        .map(|c| kyso_domain::calendar::date_text(c.not_after))
                        .unwrap_or_default(),
                    what,
                ]
            }
            RequestKind::RecoverDevice => vec![
                holder,
                device
                    .as_ref()
                    .map(|d| d.serial.clone())
                    .unwrap_or_default(),
                cert.as_ref().map(|c| c.serial.clone()).unwrap_or_default(),
                if r.reason.is_empty() {
                    "Thiết bị bị khóa".into()
                } else {
                    r.reason.clone()
                },
            ],
        };
        rows.push(LetterRow { cells });
    }
    let vn = now.to_offset(kyso_domain::calendar::VIETNAM);
    let recipient = match r.handler {
        kyso_domain::lifecycle::Handler::Department => "Sở Khoa học và Công nghệ".to_owned(),
        kyso_domain::lifecycle::Handler::NationalCa => {
            "Cục Chứng thực số và Bảo mật thông tin - Ban Cơ yếu Chính phủ".to_owned()
        }
    };
    Ok(LetterData {
        kind: r.kind,
        agency_name: agency.name.clone(),
        managing_agency_name: managing,
        // The clerk fills the number before the notation and the date (undated until then).
        number: format!("......../{}", plan.notation),
        place,
        date: vn.date(),
        recipient,
        body: Vec::new(),
        contact: (!r.contact_name.is_empty()).then(|| Contact {
            name: r.contact_name.clone(),
            title: r.contact_title.clone(),
            phone: r.contact_phone.clone(),
            email: r.contact_email.clone(),
        }),
        rows,
        signer_title: signer_title(&signer.title).to_uppercase(),
        signer_name: signer.full_name.clone(),
        recipients_block: Vec::new(),
    })
}

/// The signer's title as printed: their registry title, else "Thủ trưởng cơ quan".
pub(crate) fn signer_title(title: &str) -> &str {
    match title.trim() {
        "" => "Thủ trưởng cơ quan",
        t => t,
    }
}

/// The subject line of a request letter: "V/v đề nghị cấp chứng thư … cho cá nhân".
fn subject(kind: RequestKind) -> String {
    let title = kind.title_vi();
    let mut chars = title.chars();
    let lower: String = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("V/v {lower}")
}

/// Make the letter of approved request `d` as a new outgoing document of its agency, to be
/// signed by `signer_id` (a signer of the agency), drafted by the unit `unit_abbrev`: the
/// store's checks first (who, state, register, recipient: [`kyso_store::requests::letter_plan`]),
/// then the rendering, then the document ([`kyso_store::requests::create_letter_document`]).
pub(crate) async fn make_letter_document(
    st: &AppState,
    actor: &Actor,
    d: &RequestDetail,
    signer_id: i64,
    unit_abbrev: &str,
    now: OffsetDateTime,
) -> Result<docs::Document, ApiError> {
    let id = d.request.id;
    let plan = kyso_store::requests::letter_plan(&st.store, actor, id, unit_abbrev, now)
        .await
        .map_err(refusal)?;
    let signer = chosen_signer(st, actor, plan.agency_id, signer_id).await?;
    let blobs = crate::api::documents::blobs(st)?;
    let data = letter_data(st, &signer, &plan, d, now).await?;
    let place = data.place.clone();
    let pdf = laid_out("văn bản đề nghị", "request letter", move || {
        kyso_letters::render(&data)
    })
    .await?;
    let input = docs::NewDocument {
        agency_id: plan.agency_id,
        meta: DocumentMeta {
            doc_type: DocType::CongVan,
            subject: subject(d.request.kind),
            place,
            signer: SignerBlock {
                title: signer_title(&signer.title).to_owned(),
                ..Default::default()
            },
            unit_abbrev: unit_abbrev.trim().to_owned(),
            recipients: vec![plan.recipient_code.clone()],
            ..Default::default()
        },
        signer_id: Some(signer.user_id),
        file_name: format!("cong-van-de-nghi-{id}.pdf"),
        file: pdf,
    };
    let doc =
        kyso_store::requests::create_letter_document(&st.store, &blobs, actor, id, &input, now)
            .await
            .map_err(refusal)?;
    tracing::info!(
        request = id,
        document = doc.id,
        "request letter made as a document"
    );
    Ok(doc)
}

/// The store's refusal as the API answers it: a missing role is a 403 that says which.
pub(crate) fn refusal(e: kyso_store::Error) -> ApiError {
    match e {
        kyso_store::Error::Invalid {
            field: "roles",
            vi,
            en,
        } => ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            Some("roles"),
            vi,
            en,
        ),
        e => e.into(),
    }
}

/// The stored letter of a request the actor may read.
pub(crate) async fn letter_bytes(
    st: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<Vec<u8>, ApiError> {
    let d = kyso_store::requests::get_request(&st.store, actor, id, st.now()).await?;
    let Some(name) = d.request.letter_sha256.clone() else {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            None,
            "Đề nghị này chưa có văn bản: văn bản là công văn đề nghị của cơ quan, có sau khi \
             công văn được phát hành.",
            "This request has no letter yet: the letter is the agency's request letter, there \
             once that document is dispatched.",
        ));
    };
    stored_file(st, name).await
}

/// A stored file by its SHA-256 (hex), its digest checked on reading.
pub(crate) async fn stored_file(st: &AppState, name: String) -> Result<Vec<u8>, ApiError> {
    let Some(blobs) = st.blobs.clone() else {
        return Err(internal(
            "Máy chủ chưa có thư mục lưu văn bản.",
            "The server has no blob folder.",
        ));
    };
    tokio::task::spawn_blocking(move || blobs.get(&name))
        .await
        .map_err(|_| internal("Lỗi nội bộ.", "Internal failure."))?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read a stored file");
            internal(
                "Văn bản lưu trữ bị hỏng hoặc bị thay đổi (mã băm không khớp); hãy báo quản trị.",
                "The stored file is damaged or was changed (hash mismatch); tell the administrator.",
            )
        })
}
