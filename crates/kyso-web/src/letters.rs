//! Each request's official letter: rendered from the request (kyso-letters, the Decree 68
//! form in the Decree 30 layout), signed with the requesting agency's organization key where
//! the server holds one (`kyso serve --org-key CODE=FILE.p12`), kept in the blob folder and
//! named on the request by its SHA-256. Made when the request is sent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use kyso_domain::lifecycle::RequestKind;
use kyso_domain::roles::Permission;
use kyso_letters::{Contact, LetterData, LetterRow};
use kyso_store::requests::RequestDetail;
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

/// The letter's data from the request and the registry; the sender signs it.
async fn letter_data(
    st: &AppState,
    sender: &Actor,
    d: &RequestDetail,
    now: OffsetDateTime,
) -> Result<LetterData, ApiError> {
    let sys = Actor::system();
    let r = &d.request;
    let agency = registry::agency(&st.store, &sys, r.agency_id, Permission::ReadRegistry).await?;
    // The date line names the province: the root of the agency's tree.
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
        number: r.number.clone(),
        place: kyso_letters::place_name(&province),
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
        signer_title: "THỦ TRƯỞNG CƠ QUAN".into(),
        signer_name: kyso_store::accounts::user(&st.store, sender.user_id)
            .await
            .map(|u| u.full_name)
            .unwrap_or_else(|_| sender.username.clone()),
        recipients_block: Vec::new(),
    })
}

/// Render the request's letter, sign it with the agency's organization key when the server
/// holds one, keep it in the blob folder, and record it on the request. Returns whether it
/// was signed. Called *before* the request is sent, by someone who may send it: a request
/// is never sent without its letter (a send that then fails leaves a recorded letter on an
/// approved request, which the next send replaces).
pub(crate) async fn make_letter(
    st: &AppState,
    actor: &Actor,
    d: &RequestDetail,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    if !kyso_store::requests::may_act(
        actor,
        &d.request,
        kyso_domain::lifecycle::RequestAction::Send,
    ) || !d
        .actions
        .contains(&kyso_domain::lifecycle::RequestAction::Send)
    {
        return Err(kyso_store::Error::Forbidden.into());
    }
    let Some(blobs) = st.blobs.clone() else {
        return Err(internal(
            "Máy chủ chưa có thư mục lưu văn bản.",
            "The server has no blob folder.",
        ));
    };
    let data = letter_data(st, actor, d, now).await?;
    let key = st.org_keys.get(&d.request.agency_code).cloned();
    let span = tracing::info_span!(
        "request_letter",
        request = d.request.id,
        signed = key.is_some()
    );
    let (bytes, signed) =
        tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, bool), ApiError> {
            let _span = span.enter();
            let pdf = kyso_letters::render(&data).map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    None,
                    format!("Không lập được văn bản đề nghị: {}", e.message_vi()),
                    format!("Cannot produce the request letter: {e}"),
                )
            })?;
            match key {
                Some(k) => {
                    let signer = k.signer()?;
                    let signed = kyso_letters::sign(&pdf, &signer, now).map_err(|e| {
                        internal(
                            &format!("Ký số văn bản không thành công: {}", e.message_vi()),
                            &format!("Signing the letter failed: {e}"),
                        )
                    })?;
                    tracing::debug!("request letter signed with the organization key");
                    Ok((signed, true))
                }
                None => Ok((pdf, false)),
            }
        })
        .await
        .map_err(|_| {
            internal(
                "Lỗi nội bộ khi lập văn bản.",
                "Internal failure producing the letter.",
            )
        })??;
    if signed {
        st.metrics.signature_made("request_letter");
    }
    let name = {
        let blobs = blobs.clone();
        tokio::task::spawn_blocking(move || blobs.put(&bytes))
            .await
            .map_err(|_| {
                internal(
                    "Lỗi nội bộ khi lưu văn bản.",
                    "Internal failure storing the letter.",
                )
            })?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store a request letter");
                internal("Không lưu được văn bản.", "Cannot store the letter.")
            })?
    };
    kyso_store::requests::set_letter(&st.store, actor, d.request.id, &name, signed, now).await?;
    Ok(signed)
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
            "Đề nghị này chưa có văn bản (văn bản được lập khi gửi đề nghị).",
            "This request has no letter yet (it is made when the request is sent).",
        ));
    };
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
            tracing::error!(error = %e, "cannot read a stored request letter");
            internal(
                "Văn bản lưu trữ bị hỏng hoặc bị thay đổi (mã băm không khớp); hãy báo quản trị.",
                "The stored letter is damaged or was changed (hash mismatch); tell the administrator.",
            )
        })
}
