//! What the server checks on the files of outgoing documents (issue 17 items 2, 3, 6), in one
//! place for the REST API and the web UI:
//!
//! * [`draft_pdf`]: a draft as uploaded — a PDF is kept byte for byte, a DOCX or ODT is turned
//!   into PDF with LibreOffice (`kyso_services::convert`, off the async threads);
//! * [`take_step`]: one step of the flow through `kyso_store::documents::act`, with the PDF
//!   side around it — `check_format` runs `kyso_pades::format_check` on the latest version
//!   (errors refuse, warnings are recorded and returned) and stores the version with the
//!   number and date fields placed (`kyso_pades::numbering::place_fields_bytes`);
//!   `sign_personal` and `org_sign` accept the uploaded file only if
//!   `kyso_pades::upload::check_upload` finds exactly the expected signature added to the
//!   previous version by a certificate of the registry's subscriber for that role (the
//!   approving signer's personal certificate; the agency's organization certificate, with the
//!   number and date reserved for the document).
//!
//! The store keeps the rules of who may take which step (the organization key only by the
//! agency's clerk, on a personally signed document); this module refuses what the bytes do not
//! allow, as typed [`ApiError`]s (422, Vietnamese and English).

use axum::http::StatusCode;
use kyso_domain::documents::DocAction;
use kyso_pades::format_check::{self, Severity};
use kyso_pades::upload::{self, ExpectedSignature, Step, UploadRefusal};
use kyso_services::convert::{self, ConvertError, ConvertOptions, DraftType};
use kyso_store::blobs::Blobs;
use kyso_store::documents as docs;
use kyso_store::{Actor, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::ApiError;

/// One finding of the format check that does not refuse the draft (a Decree 30 margin, a
/// missing number or date line …).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FormatWarning {
    /// Stable code (`MARGIN_LEFT`, `NO_NUMBER_LINE` …).
    pub code: String,
    /// The 1-based page it concerns, if one.
    pub page: Option<usize>,
    pub message_vi: String,
    pub message_en: String,
}

/// What a step did: the store's outcome and the format check's warnings.
#[derive(Debug, Clone)]
pub struct StepDone {
    pub outcome: docs::StepOutcome,
    pub warnings: Vec<FormatWarning>,
}

fn refused(field: &'static str, vi: String, en: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some(field),
        vi,
        en,
    )
}

/// The draft as a PDF: a PDF as uploaded, a DOCX or ODT converted with LibreOffice (without
/// it, the message asks for a PDF). Anything else is left for the store to refuse as not a PDF.
pub async fn draft_pdf(bytes: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    match convert::detect(&bytes) {
        Some(DraftType::Docx | DraftType::Odt) => {
            let converted = tokio::task::spawn_blocking(move || {
                convert::to_pdf(&bytes, &ConvertOptions::default())
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "draft conversion task failed");
                conversion_error(&ConvertError::Io(std::io::Error::other(
                    "the conversion task failed",
                )))
            })?;
            converted.map_err(|e| {
                tracing::warn!(error = %e, "draft not converted");
                conversion_error(&e)
            })
        }
        _ => Ok(bytes),
    }
}

fn conversion_error(e: &ConvertError) -> ApiError {
    let u = e.user_error();
    let status = match e {
        ConvertError::ToolMissing { .. } | ConvertError::Io(_) | ConvertError::Timeout(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, "invalid", Some("file"), u.vi, u.en)
}

/// Take `action` on document `id` with the PDF side's checks (see the module documentation).
/// `input.file` is the upload of `sign_personal` / `org_sign`; for `check_format` the file is
/// made here from the latest version, and `input.shown_number` of `org_sign` is set from the
/// checked file.
pub async fn take_step(
    st: &crate::AppState,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    action: DocAction,
    mut input: docs::StepInput,
) -> Result<StepDone, ApiError> {
    let (store, metrics, now) = (&st.store, &st.metrics, st.now());
    let mut warnings = Vec::new();
    match action {
        DocAction::CheckFormat => {
            if input.file.is_some() {
                return Err(refused(
                    "file",
                    "Bước kiểm tra thể thức không nhận tệp; máy chủ kiểm tra bản dự thảo mới nhất."
                        .into(),
                    "The format check takes no file; the server checks the latest draft.".into(),
                ));
            }
            // The step's own rules first (role, state), so a refusal does not cost a check.
            docs::may_act(store, actor, id, action).await?;
            let latest = latest_version(store, blobs, actor, id).await?;
            let notation = docs::notation_of(store, actor, id).await?;
            let (formatted, found) =
                tokio::task::spawn_blocking(move || format_draft(&latest, Some(&notation)))
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "format check task failed");
                        refused(
                            "file",
                            "Không kiểm tra được thể thức tệp.".into(),
                            "The file's format could not be checked.".into(),
                        )
                    })??;
            input.findings = found
                .iter()
                .map(|w| format!("{}: {}", w.code, w.message_vi))
                .collect();
            input.file = Some(formatted);
            if input.file_name.is_empty() {
                input.file_name = "the-thuc.pdf".into();
            }
            warnings = found;
        }
        DocAction::SignPersonal | DocAction::OrgSign => {
            if let Some(uploaded) = input.file.take() {
                docs::may_act(store, actor, id, action).await?;
                let number =
                    check_signed(store, blobs, metrics, actor, id, action, &uploaded, now).await?;
                if action == DocAction::OrgSign {
                    input.shown_number = number;
                }
                input.file = Some(uploaded);
            }
        }
        _ => {}
    }
    let outcome = docs::act(store, blobs, actor, id, action, &input, now).await?;
    match action {
        // Committed: the deliveries inside kyso arrive now, on the server's side.
        DocAction::Dispatch => crate::incoming::arrive_after_dispatch(st, id),
        // Registered: filed in the archive now.
        DocAction::Register => crate::archive::file_soon(st),
        _ => {}
    }
    Ok(StepDone { outcome, warnings })
}

pub(crate) async fn latest_version(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
) -> Result<Vec<u8>, ApiError> {
    let detail = docs::get_document(store, actor, id).await?;
    let seq = detail.versions.last().map_or(0, |v| v.seq);
    Ok(docs::version_file(store, blobs, actor, id, seq).await?.1)
}

/// The format check of a draft and, when it passes, the draft with the number and date fields.
/// A draft printing another notation after the number's blank than the document's own
/// (`notation`, what the register will give it) is refused here: the clerk's number could not be
/// filled into it without the letter reading two notations, and the number would be reserved
/// for nothing.
fn format_draft(
    draft: &[u8],
    notation: Option<&str>,
) -> Result<(Vec<u8>, Vec<FormatWarning>), ApiError> {
    let report = format_check::check(draft);
    let errors: Vec<_> = report.errors().collect();
    if !errors.is_empty() {
        let vi: Vec<&str> = errors.iter().map(|f| f.vi.as_str()).collect();
        let en: Vec<&str> = errors.iter().map(|f| f.en.as_str()).collect();
        return Err(refused(
            "format",
            format!("Bản dự thảo không đạt thể thức: {}", vi.join(" ")),
            format!("The draft fails the format check: {}", en.join(" ")),
        ));
    }
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| FormatWarning {
            code: f.code.as_str().to_owned(),
            page: f.page,
            message_vi: f.vi.clone(),
            message_en: f.en.clone(),
        })
        .collect();
    let (formatted, places) = kyso_pades::numbering::place_fields_bytes(draft).map_err(|e| {
        tracing::warn!(error = %e, "number and date fields not placed");
        refused(
            "format",
            "Không đặt được ô số và ngày vào bản dự thảo (bản dự thảo đã có ô này hoặc đã được \
             ký?)."
                .into(),
            "The number and date fields could not be placed in the draft (does it already have \
             them, or a signature?)."
                .into(),
        )
    })?;
    if let (Some(printed), Some(own)) = (places.notation.as_deref(), notation) {
        if kyso_pades::numbering::number_in_field(&format!("1/{own}"), printed).is_err() {
            return Err(refused(
                "format",
                format!(
                    "Ký hiệu in sau chỗ ghi số trên bản dự thảo ({printed}) khác ký hiệu của văn \
                     bản ({own}): số do văn thư cấp sẽ không điền được. Sửa ký hiệu trên bản dự \
                     thảo rồi trình lại."
                ),
                format!(
                    "The notation printed after the number's blank in the draft ({printed}) is \
                     not the document's own ({own}): the clerk's number could not be filled in. \
                     Correct the notation in the draft and submit it again."
                ),
            ));
        }
    }
    Ok((formatted, warnings))
}

/// Check an uploaded signed file against the latest version and the registry's certificates
/// for the step; the number it carries at the seal.
#[allow(clippy::too_many_arguments)]
async fn check_signed(
    store: &Store,
    blobs: &Blobs,
    metrics: &crate::metrics::Metrics,
    actor: &Actor,
    id: i64,
    action: DocAction,
    uploaded: &[u8],
    now: OffsetDateTime,
) -> Result<Option<u32>, ApiError> {
    let doc = docs::get_document(store, actor, id).await?.document;
    let (role, step) = if action == DocAction::OrgSign {
        let date = doc.issued_date.as_deref().and_then(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
        });
        (
            docs::SigningRole::Organization,
            Step::Seal {
                number: doc.number_and_notation(),
                date,
            },
        )
    } else {
        (docs::SigningRole::Personal, Step::Personal)
    };
    let ders = docs::signing_certificates(store, actor, id, role, now).await?;
    let certificates: Vec<kyso_x509::Cert> = ders
        .iter()
        .filter_map(|d| kyso_x509::Cert::from_der(d).ok())
        .collect();
    if certificates.is_empty() {
        return Err(no_certificate(role));
    }
    let previous = latest_version(store, blobs, actor, id).await?;
    let uploaded = uploaded.to_vec();
    let expected = ExpectedSignature::new(certificates, step);
    let role_label = match role {
        docs::SigningRole::Personal => "personal",
        docs::SigningRole::Organization => "organization",
    };
    let checked =
        tokio::task::spawn_blocking(move || upload::check_upload(&previous, &uploaded, &expected))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "upload check task failed");
                refusal(&UploadRefusal::Unreadable(
                    "the check did not finish".into(),
                ))
            })?
            .map_err(|r| {
                metrics.signature_verified(role_label, false);
                tracing::info!(document = id, refusal = %r, "signed upload refused");
                refusal(&r)
            })?;
    metrics.signature_verified(role_label, true);
    tracing::info!(document = id, signer = %checked.signer.subject_display(), "signed upload accepted");
    Ok(doc.number.and_then(|n| u32::try_from(n).ok()))
}

pub(crate) fn no_certificate(role: docs::SigningRole) -> ApiError {
    match role {
        docs::SigningRole::Personal => refused(
            "file",
            "Sổ đăng ký không có chứng thư số còn hiệu lực của người ký (thuê bao cá nhân của cơ \
             quan có cùng địa chỉ thư điện tử với tài khoản); không nhận tệp đã ký."
                .into(),
            "The registry holds no valid certificate of the signer (an individual subscriber of \
             the agency with the account's e-mail address); the signed file is not accepted."
                .into(),
        ),
        docs::SigningRole::Organization => refused(
            "file",
            "Sổ đăng ký không có chứng thư số cơ quan còn hiệu lực của cơ quan ban hành; không \
             nhận tệp đã ký số cơ quan."
                .into(),
            "The registry holds no valid organization certificate of the issuing agency; the \
             organization-signed file is not accepted."
                .into(),
        ),
    }
}

/// An upload refusal as the user reads it.
pub(crate) fn refusal(r: &UploadRefusal) -> ApiError {
    let (vi, en) = match r {
        UploadRefusal::PrefixChanged => (
            "Tệp tải lên không giữ nguyên phiên bản trước (chữ ký số phải được thêm vào sau, \
             không sửa nội dung đã có)."
                .to_owned(),
            "The uploaded file does not keep the previous version unchanged (a signature is \
             appended; what was there must stay byte for byte)."
                .to_owned(),
        ),
        UploadRefusal::Unreadable(why) => (
            format!("Không đọc được tệp tải lên: {why}."),
            format!("The uploaded file cannot be read: {why}."),
        ),
        UploadRefusal::NoNewSignature => (
            "Tệp tải lên không có chữ ký số mới.".to_owned(),
            "The uploaded file has no new signature.".to_owned(),
        ),
        UploadRefusal::TooManySignatures(n) => (
            format!("Tệp tải lên thêm {n} chữ ký thay vì một."),
            format!("The uploaded file adds {n} signatures instead of one."),
        ),
        UploadRefusal::NotASignature => (
            "Chữ ký mới là dấu thời gian, không phải chữ ký số.".to_owned(),
            "The new signature is a document timestamp, not a signature.".to_owned(),
        ),
        UploadRefusal::WrongSigner { subject } => (
            format!(
                "Tệp được ký bởi {subject}, không phải bằng chứng thư số trong sổ đăng ký của \
                 người có thẩm quyền ký bước này."
            ),
            format!(
                "The file is signed by {subject}, not with a registry certificate of the person \
                 entitled to sign this step."
            ),
        ),
        UploadRefusal::InvalidSignature { codes } => (
            format!("Chữ ký số mới không hợp lệ ({}).", codes.join(", ")),
            format!("The new signature is not valid ({}).", codes.join(", ")),
        ),
        UploadRefusal::NotWholeFile => (
            "Chữ ký số mới không bao trùm toàn bộ tệp.".to_owned(),
            "The new signature does not cover the whole file.".to_owned(),
        ),
        UploadRefusal::DisallowedChange { details, .. } => (
            format!(
                "Tệp tải lên có thay đổi không được phép ở bước này: {}.",
                details.join("; ")
            ),
            format!(
                "The uploaded file makes changes this step does not allow: {}.",
                details.join("; ")
            ),
        ),
        UploadRefusal::WrongCertification(p) => (
            format!(
                "Chữ ký cá nhân chứng nhận với quyền DocMDP P={p}; chỉ P=2 để văn thư còn điền \
                 được số và ngày."
            ),
            format!(
                "The personal signature certifies with DocMDP P={p}; only P=2 leaves the number \
                 and date fillable."
            ),
        ),
        UploadRefusal::WrongNumbering { found } => {
            let shown = found
                .as_ref()
                .map(|i| {
                    format!(
                        "{} / {}",
                        i.number.as_deref().unwrap_or("—"),
                        i.date_text.as_deref().unwrap_or("—")
                    )
                })
                .unwrap_or_else(|| "—".to_owned());
            (
                format!(
                    "Số và ngày trên tệp ({shown}) không phải số và ngày đã cấp cho văn bản này."
                ),
                format!(
                    "The number and date in the file ({shown}) are not the ones given to this \
                     document."
                ),
            )
        }
        other => (
            format!("Tệp tải lên không được chấp nhận: {other}."),
            format!("The uploaded file is not accepted: {other}."),
        ),
    };
    refused("file", vi, en)
}
