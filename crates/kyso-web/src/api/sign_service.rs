//! The signing service for integrators (issue 18 item 7): an e-office system uses kyso as its
//! signing back end, the key staying with the caller (two-phase) or at the server's CSC
//! service (one call).
//!
//! - `POST /api/v1/sign/prepare`: a PDF (uploaded as base64, or a stored document version the
//!   caller may read), the signer's certificate, the Decree 30 form and the mode. kyso adds the
//!   signature field and its placeholder exactly as `kyso sign` does (`kyso_pades::prepare_source`,
//!   `kyso_pades::forms`) and answers what the caller's token signs: in mode `cms` the DER of
//!   the CMS signed attributes kyso built (`to_be_signed`) and its hash (`digest`); in mode
//!   `external_cms` the byte ranges' digest, for a caller that builds its own CMS. The body is
//!   JSON (the PDF in base64) or a form whose `file` streams to a temporary file as it
//!   arrives (the cap counted as it comes, never whole in memory). A session
//!   (`kyso_store::signing_sessions`, migration 0012) keeps the prepared document — the input
//!   with its placeholder, `Prepared::document` — by its blob name, with the certificate, the
//!   algorithm and the byte range, for at most fifteen minutes.
//! - `POST /api/v1/sign/{session}/finalize`: the raw signature value (`cms`) or the whole CMS
//!   SignedData (`external_cms`). The session is claimed in one conditional write (two
//!   finalizes: one goes on; another account's session is unknown), the prepared document is
//!   taken up as it was kept (`Prepared::resume`: its byte ranges hashed again, nothing
//!   prepared anew) and its digest must be the one handed out, the signature is
//!   verified against the certificate before anything is embedded (`Prepared::finish`,
//!   `Prepared::finish_cms`), a signature timestamp is added when the server has a TSA (B-T),
//!   and the signed PDF is the answer. A refused signature gives the session back (five
//!   refusals at most).
//! - `POST /api/v1/sign/csc`: the same input and form, signed in one call with the caller's
//!   credential at the server's CSC service (`--csc-url`) through
//!   `kyso_services::remote_sign::sign_document`, the code path of the flow's remote
//!   signature. The CSC password and PIN live only in the request and in `Secret`s.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use kyso_cms::{DigestAlgorithm, SignatureAlgorithm};
use kyso_i18n::{catalogue, UserError};
use kyso_keys::Secret;
use kyso_pades::forms::{CopyForm, Position, VisibleForm};
use kyso_pades::sign::Timestamper;
use kyso_pades::{Prepared, SignOptions, WidgetBuilder};
use kyso_pdf::{Limits, MemSource, Source};
use kyso_store::blobs::{BlobError, Blobs, StagedBlob};
use kyso_store::documents as docs;
use kyso_store::signing_sessions::{self as sessions, Mode};
use kyso_x509::Cert;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{ApiResult, Routes};
use crate::auth::{Auth, Body};
use crate::{ApiError, AppState};

/// The routes of this module, added to the API's.
pub(crate) fn routes(r: Routes) -> Routes {
    use axum::handler::Handler as _;
    // The form's file is counted against the documents' cap as it streams to disk; the JSON
    // form's body by its reader.
    r.add::<__path_prepare, _, _>(prepare.layer(axum::extract::DefaultBodyLimit::max(
        crate::MAX_DOCUMENT_BODY,
    )))
    .add::<__path_finalize, _, _>(finalize)
    .add::<__path_csc_sign, _, _>(csc_sign)
}

/// Longest certificate (PEM text or base64 DER) accepted.
const MAX_CERT_TEXT: usize = 64 * 1024;
/// Most chain certificates accepted.
const MAX_CHAIN: usize = 10;
/// Longest reason, location, field name, organization name or document number.
const MAX_TEXT: usize = 500;
/// Room left for a caller's own CMS beyond what kyso's would take (its chain, revocation
/// values, a signature timestamp).
const EXTERNAL_CMS_RESERVE: usize = 48 * 1024;
/// Longest signature value or CMS (base64) accepted at finalize.
const MAX_SIGNATURE_B64: usize = 512 * 1024;

/// The visible form of the signature (Decree 30 Appendix I), as `kyso sign --form` makes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignForm {
    /// `invisible` (the default), `personal` (the signer's image between the title and the
    /// name), `organization` (the seal over the personal signature), `copy` (the copy stamp at
    /// the top right of page 1) or `attachment` (the main document's number at the top right).
    #[schema(example = "personal")]
    pub kind: String,
    /// `personal`: the signature image; `organization`: the seal (PNG, base64).
    #[serde(default)]
    pub image_base64: Option<String>,
    /// The page, from 1 (needed with `rect`).
    #[serde(default)]
    pub page: Option<usize>,
    /// `[x1, y1, x2, y2]` in points on the displayed page.
    #[serde(default)]
    pub rect: Option<[f64; 4]>,
    /// `personal`: the title line the signature goes below ("GIÁM ĐỐC").
    #[serde(default)]
    pub anchor: Option<String>,
    /// `organization`: the seal's real diameter in millimetres (else from the image's DPI).
    #[serde(default)]
    pub seal_diameter_mm: Option<f64>,
    /// `copy`: `sao_y` (the default), `sao_luc` or `trich_sao`.
    #[serde(default)]
    pub copy_form: Option<String>,
    /// `copy`: the copying organization (else the certificate's organization).
    #[serde(default)]
    pub org_name: Option<String>,
    /// `attachment`: the main document's number and notation ("12/QĐ-UBND").
    #[serde(default)]
    pub doc_number: Option<String>,
}

/// Where the PDF comes from and how it is signed (the fields both faces share).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrepareRequest {
    /// The PDF to sign, base64; or leave it out and name a stored document version.
    #[serde(default)]
    pub file_base64: Option<String>,
    /// A stored document the caller may read: its version `seq` (the latest when absent).
    #[serde(default)]
    pub document_id: Option<i64>,
    #[serde(default)]
    pub seq: Option<i64>,
    /// The signer's certificate: PEM, or base64 DER.
    pub certificate: String,
    /// Issuer certificates to embed (PEM or base64 DER each).
    #[serde(default)]
    pub chain: Vec<String>,
    /// `cms` (the default: kyso builds the CMS, the caller signs `to_be_signed`) or
    /// `external_cms` (the caller signs the byte-range digest and returns a whole CMS).
    #[serde(default)]
    #[schema(example = "cms")]
    pub mode: Option<String>,
    /// `rsa_pkcs1_sha256` (the default for RSA keys), `rsa_pkcs1_sha384`, `rsa_pkcs1_sha512`,
    /// `rsa_pss_sha256`, `rsa_pss_sha384`, `rsa_pss_sha512`, `ecdsa_sha256` (the default for
    /// P-256), `ecdsa_sha384` (the default for P-384), `ecdsa_sha512`.
    #[serde(default)]
    pub signature_algorithm: Option<String>,
    #[serde(default)]
    pub form: Option<SignForm>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// The signature field's name (by default `Signature1`, `Signature2`, …).
    #[serde(default)]
    pub field_name: Option<String>,
    /// Seconds the session stays valid (1 to 900; 900 when absent).
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// What the caller's token signs, and the session to finalize with.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreparedSignature {
    /// The session id for `/api/v1/sign/{session}/finalize`.
    pub session: String,
    /// RFC 3339.
    pub expires_at: String,
    /// `cms` or `external_cms`.
    pub mode: String,
    /// The hash the signature is made with (`SHA-256`, `SHA-384`, `SHA-512`).
    pub digest_algorithm: String,
    /// The signature scheme (the names of `signature_algorithm`).
    pub signature_algorithm: String,
    /// What a hash-signing token signs, base64: `cms` — the hash of `to_be_signed`;
    /// `external_cms` — the byte ranges' hash (the CMS message digest).
    pub digest: String,
    /// `cms`: the DER of the CMS signed attributes, base64 (what a token that hashes itself
    /// signs); absent for `external_cms`.
    pub to_be_signed: Option<String>,
    /// The byte ranges' hash (the CMS message digest), base64.
    pub document_digest: String,
    /// The `/ByteRange` of the prepared signature.
    pub byte_range: [u64; 4],
    /// The signature field's name.
    pub field_name: String,
    /// A signature timestamp will be added at finalize (the server has a TSA).
    pub timestamp: bool,
}

/// The signature for a prepared session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FinalizeRequest {
    /// `cms`: the raw signature value over `to_be_signed`, base64 (RSASSA-PKCS1-v1_5,
    /// RSASSA-PSS, or ECDSA as a DER `Ecdsa-Sig-Value` or as r‖s like PKCS#11 tokens).
    #[serde(default)]
    pub signature_base64: Option<String>,
    /// `external_cms`: the CMS SignedData (DER, detached, its message digest the
    /// `document_digest`), base64.
    #[serde(default)]
    pub cms_base64: Option<String>,
}

/// One call with the caller's credential at the server's CSC service.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CscSignRequest {
    /// The PDF to sign, base64; or leave it out and name a stored document version.
    #[serde(default)]
    pub file_base64: Option<String>,
    #[serde(default)]
    pub document_id: Option<i64>,
    #[serde(default)]
    pub seq: Option<i64>,
    /// The account at the CSC service.
    pub csc_user: String,
    /// Its password (used for this request only; never stored or logged).
    #[schema(format = Password)]
    pub csc_password: String,
    /// The credential (`credentialID`).
    pub credential: String,
    /// The credential's PIN or OTP (used for this request only; never stored or logged).
    #[schema(format = Password)]
    pub pin: String,
    #[serde(default)]
    pub form: Option<SignForm>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub field_name: Option<String>,
}

/// No `Debug` with the secrets.
impl std::fmt::Debug for CscSignRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscSignRequest")
            .field("document_id", &self.document_id)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// What a session keeps beside the prepared document (its blob) to embed the signature into
/// it (JSON in the session's row): the preparation itself is never made again.
#[derive(Debug, Serialize, Deserialize)]
struct Params {
    /// base64 DER.
    certificate: String,
    chain: Vec<String>,
    algorithm: String,
    timestamp: bool,
    /// The `/ByteRange` of the prepared signature (absent in a session of an older server:
    /// prepare again).
    #[serde(default)]
    byte_range: Option<[u64; 4]>,
    #[serde(default)]
    field_name: String,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn invalid(field: &'static str, vi: impl Into<String>, en: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some(field),
        vi,
        en,
    )
}

fn user_invalid(field: &'static str, e: &UserError) -> ApiError {
    invalid(field, e.vi.clone(), e.en.clone())
}

fn internal() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        None,
        "Lỗi máy chủ; văn bản chưa được ký.",
        "Server error; the document was not signed.",
    )
}

const ALGORITHMS: [(&str, SignatureAlgorithm); 9] = [
    (
        "rsa_pkcs1_sha256",
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256),
    ),
    (
        "rsa_pkcs1_sha384",
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha384),
    ),
    (
        "rsa_pkcs1_sha512",
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha512),
    ),
    (
        "rsa_pss_sha256",
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256),
    ),
    (
        "rsa_pss_sha384",
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha384),
    ),
    (
        "rsa_pss_sha512",
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha512),
    ),
    (
        "ecdsa_sha256",
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
    ),
    (
        "ecdsa_sha384",
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384),
    ),
    (
        "ecdsa_sha512",
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha512),
    ),
];

fn algorithm_name(a: SignatureAlgorithm) -> &'static str {
    ALGORITHMS
        .iter()
        .find(|(_, x)| *x == a)
        .map_or("", |(n, _)| n)
}

fn algorithm_named(name: &str) -> Option<SignatureAlgorithm> {
    ALGORITHMS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

fn check_text(field: &'static str, value: &Option<String>) -> ApiResult<()> {
    match value {
        Some(v) if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) => {
            Err(invalid(
                field,
                format!("Trường \"{field}\" quá dài hoặc có ký tự điều khiển (tối đa {MAX_TEXT} ký tự)."),
                format!("The field \"{field}\" is too long or holds control characters (at most {MAX_TEXT} characters)."),
            ))
        }
        _ => Ok(()),
    }
}

/// Certificates from PEM text or base64 DER.
fn certificates(field: &'static str, text: &str) -> ApiResult<Vec<Cert>> {
    let bad = || {
        invalid(
            field,
            "Chứng thư số không đọc được (cần PEM hoặc DER mã hóa base64).",
            "The certificate cannot be read (PEM, or base64 DER, expected).",
        )
    };
    if text.len() > MAX_CERT_TEXT {
        return Err(bad());
    }
    let t = text.trim();
    let bytes = if t.starts_with("-----BEGIN") {
        t.as_bytes().to_vec()
    } else {
        b64().decode(t).map_err(|_| bad())?
    };
    match Cert::from_pem_or_der(&bytes) {
        Ok(list) if !list.is_empty() => Ok(list),
        _ => Err(bad()),
    }
}

/// The signer's certificate: one for digital signatures, valid now.
fn signer_certificate(text: &str, now: OffsetDateTime) -> ApiResult<Cert> {
    let cert = certificates("certificate", text)?
        .into_iter()
        .next()
        .ok_or_else(internal)?;
    let ku = cert.key_usage();
    if ku.present && !ku.digital_signature && !ku.non_repudiation {
        return Err(invalid(
            "certificate",
            "Chứng thư số không có mục đích ký số (digitalSignature).",
            "The certificate is not for digital signatures (no digitalSignature key usage).",
        ));
    }
    if !cert.valid_at(now) {
        return Err(invalid(
            "certificate",
            "Chứng thư số đã hết hạn hoặc chưa có hiệu lực.",
            "The certificate has expired or is not valid yet.",
        ));
    }
    Ok(cert)
}

/// The PDF to sign: bytes in memory (base64 in a JSON body, a stored version) or an upload
/// streamed to a temporary file of the blob folder (the multipart form), removed when dropped.
#[derive(Debug)]
enum Input {
    Bytes(Vec<u8>),
    Staged(StagedBlob),
}

impl Input {
    /// The file `file_base64` of a JSON body, decoded.
    fn base64(file_base64: Option<&str>) -> ApiResult<Option<Input>> {
        file_base64
            .map(|b| super::documents::decode("file_base64", b).map(Input::Bytes))
            .transpose()
    }

    /// The input as the engine reads it (a staged file where it lies, never loaded whole),
    /// and the staged file to keep until it has been read.
    fn open(self) -> ApiResult<(Arc<dyn Source>, Option<StagedBlob>)> {
        match self {
            Input::Bytes(b) => Ok((Arc::new(MemSource::new(b)), None)),
            Input::Staged(f) => {
                let src = kyso_pdf::FileSource::open(f.path()).map_err(|e| {
                    tracing::error!(error = %e, "a staged upload could not be reopened");
                    internal()
                })?;
                Ok((Arc::new(src), Some(f)))
            }
        }
    }

    /// The field a refusal of the file names.
    fn field(&self) -> &'static str {
        match self {
            Input::Bytes(_) => "file_base64",
            Input::Staged(_) => "file",
        }
    }
}

/// The PDF to sign: the upload (`file`), or the stored version the caller may read.
async fn source(
    st: &AppState,
    auth: &Auth,
    file: Option<Input>,
    document_id: Option<i64>,
    seq: Option<i64>,
) -> ApiResult<(Input, Option<(i64, i64)>)> {
    match (file, document_id) {
        (Some(f), None) => Ok((f, None)),
        (None, Some(id)) => {
            let blobs = super::documents::blobs(st)?;
            let seq = match seq {
                Some(s) => s,
                None => docs::get_document(&st.store, &auth.actor, id)
                    .await?
                    .versions
                    .last()
                    .map_or(0, |v| v.seq),
            };
            let (v, bytes) = docs::version_file(&st.store, &blobs, &auth.actor, id, seq).await?;
            Ok((Input::Bytes(bytes), Some((id, v.seq))))
        }
        _ => Err(invalid(
            "file_base64",
            "Gửi tệp PDF (file_base64 hoặc phần file của biểu mẫu) hoặc chỉ một văn bản đã lưu (document_id), không cả hai.",
            "Send the PDF (file_base64, or the form's file part) or name a stored document (document_id), not both.",
        )),
    }
}

/// The form kinds.
const FORM_KINDS: [&str; 5] = [
    "invisible",
    "personal",
    "organization",
    "copy",
    "attachment",
];

fn form_kind_error() -> ApiError {
    invalid(
        "kind",
        "Hình thức chữ ký là invisible, personal, organization, copy hoặc attachment.",
        "The form is invisible, personal, organization, copy or attachment.",
    )
}

/// The Decree 30 form `spec` asks for, for `cert` at `time` (`None`: invisible).
fn visible_form(
    spec: &Option<SignForm>,
    cert: &Cert,
    time: OffsetDateTime,
) -> Result<Option<Box<WidgetBuilder<'static>>>, ApiError> {
    let Some(f) = spec else { return Ok(None) };
    for (field, v) in [
        ("anchor", &f.anchor),
        ("org_name", &f.org_name),
        ("doc_number", &f.doc_number),
    ] {
        check_text(field, v)?;
    }
    let page = match f.page {
        Some(0) => {
            return Err(invalid(
                "page",
                "Số trang bắt đầu từ 1.",
                "Pages are numbered from 1.",
            ))
        }
        p => p.map(|p| p - 1),
    };
    let position = || -> ApiResult<Option<Position>> {
        Ok(match (&f.rect, &f.anchor) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "rect",
                    "Chỉ dùng một trong rect và anchor.",
                    "Use only one of rect and anchor.",
                ))
            }
            (Some(rect), None) => Some(Position::Rect {
                page: page.ok_or_else(|| invalid("page", "rect cần page.", "rect needs page."))?,
                rect: *rect,
            }),
            (None, Some(text)) => Some(Position::Anchor {
                page,
                text: text.clone(),
            }),
            (None, None) => None,
        })
    };
    let image = || -> ApiResult<Vec<u8>> {
        let b = f.image_base64.as_deref().ok_or_else(|| {
            invalid(
                "image_base64",
                "Thiếu ảnh chữ ký hoặc ảnh con dấu (PNG, base64).",
                "The signature or seal image is missing (PNG, base64).",
            )
        })?;
        if b.len() > kyso_pdf::image::ImageLimits::default().max_bytes / 3 * 4 + 4 {
            return Err(invalid(
                "image_base64",
                "Ảnh quá lớn.",
                "The image is too large.",
            ));
        }
        b64().decode(b.trim()).map_err(|_| {
            invalid(
                "image_base64",
                "Ảnh không phải base64 hợp lệ.",
                "The image is not valid base64.",
            )
        })
    };
    let form = match f.kind.as_str() {
        "invisible" => return Ok(None),
        "personal" => VisibleForm::Personal {
            image: image()?,
            position: position()?.ok_or_else(|| {
                invalid(
                    "anchor",
                    "Cần chỉ chỗ đặt chữ ký: anchor (\"GIÁM ĐỐC\") hoặc page và rect.",
                    "Say where the signature goes: anchor (\"GIÁM ĐỐC\") or page and rect.",
                )
            })?,
        },
        "organization" => VisibleForm::Organization {
            seal: image()?,
            diameter_mm: f.seal_diameter_mm,
            page,
            position: position()?,
        },
        "copy" => VisibleForm::Copy {
            form: match f.copy_form.as_deref().unwrap_or("sao_y") {
                "sao_y" => CopyForm::Certified,
                "sao_luc" => CopyForm::Transcribed,
                "trich_sao" => CopyForm::Excerpt,
                _ => {
                    return Err(invalid(
                        "copy_form",
                        "Hình thức bản sao là sao_y, sao_luc hoặc trich_sao.",
                        "The copy form is sao_y, sao_luc or trich_sao.",
                    ))
                }
            },
            org_name: f
                .org_name
                .clone()
                .or_else(|| cert.subject_attr(kyso_x509::oid::O))
                .or_else(|| cert.common_name())
                .unwrap_or_default(),
            number: None,
            place: None,
        },
        "attachment" => VisibleForm::Attachment {
            doc_number: f.doc_number.clone().ok_or_else(|| {
                invalid(
                    "doc_number",
                    "Thiếu số và ký hiệu văn bản chính (doc_number).",
                    "The main document's number is missing (doc_number).",
                )
            })?,
        },
        _ => return Err(form_kind_error()),
    };
    kyso_pades::forms::widget_builder(form, time)
        .map(Some)
        .map_err(|e| user_invalid("form", &catalogue::pades(&e)))
}

/// Signing options from the request's texts.
fn options(
    time: OffsetDateTime,
    reason: &Option<String>,
    location: &Option<String>,
    field_name: &Option<String>,
) -> ApiResult<SignOptions> {
    check_text("reason", reason)?;
    check_text("location", location)?;
    check_text("field_name", field_name)?;
    let mut opts = SignOptions::new(time);
    opts.reason = reason.clone().filter(|s| !s.trim().is_empty());
    opts.location = location.clone().filter(|s| !s.trim().is_empty());
    opts.field_name = field_name.clone().filter(|s| !s.trim().is_empty());
    opts.durable = false;
    opts.limits = Limits::default();
    Ok(opts)
}

/// The server's TSA for signature timestamps (B-T and up at the remote signing level).
fn tsa(st: &AppState) -> Option<Arc<dyn Timestamper>> {
    st.remote_signing
        .as_ref()
        .filter(|r| r.level.level != kyso_pades::ltv::Level::BB)
        .and_then(|r| r.level.tsa.clone())
}

/// `chunk`s of the prepared document into a new blob (an [`std::io::Write`] over
/// [`kyso_store::blobs::BlobWriter`]).
struct BlobOut(kyso_store::blobs::BlobWriter);

impl std::io::Write for BlobOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The preparation of `input` (blocking): the signature field, its form and placeholder as
/// `kyso sign` makes them, and the prepared document kept as a blob (streamed into it), the
/// bytes finalize embeds the signature into. Its blob name.
fn prepare_document(
    blobs: &Blobs,
    input: Input,
    opts: &SignOptions,
    form: &Option<SignForm>,
    signer: (&Cert, &[Cert], SignatureAlgorithm),
) -> ApiResult<(Prepared, String)> {
    let (cert, chain, algorithm) = signer;
    let field = input.field();
    let (src, _staged) = input.open()?;
    let widget = visible_form(form, cert, opts.signing_time)?;
    let prepared = kyso_pades::prepare_source(src, opts, cert, chain, algorithm, widget)
        .map_err(|e| user_invalid(field, &catalogue::pades(&e)))?;
    let stored = (|| -> Result<String, String> {
        let mut out = BlobOut(
            blobs
                .writer(kyso_store::blobs::MAX_BLOB as u64)
                .map_err(|e| e.to_string())?,
        );
        prepared
            .document()
            .write_to(&mut out)
            .map_err(|e| e.to_string())?;
        let staged = out.0.finish().map_err(|e| e.to_string())?;
        staged.persist().map_err(|e| e.to_string())
    })();
    let blob = stored.map_err(|e| {
        tracing::error!(error = %e, "the prepared document was not stored");
        internal()
    })?;
    Ok((prepared, blob))
}

/// 409: the session's prepared document cannot be taken up again.
fn prepare_again() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        Some("session"),
        "Văn bản đã chuẩn bị của phiên ký không dùng lại được (phiên của phiên bản máy chủ trước?); hãy chuẩn bị lại.",
        "The session's prepared document cannot be taken up again (a session of an earlier server version?); prepare again.",
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "signing service task failed");
        internal()
    })?
}

/// The form variant of the prepare body: the parameters as JSON in `request` (the fields of
/// `PrepareRequest`, without `file_base64`) and the PDF in `file` (or `document_id` in
/// `request`).
#[derive(Debug)]
pub(crate) enum PrepareUpload {}

impl utoipa::PartialSchema for PrepareUpload {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "request",
                utoipa::openapi::Ref::from_schema_name("PrepareRequest"),
            )
            .property("file", super::verify::pdf_part())
            .required("request")
            .into()
    }
}
impl utoipa::ToSchema for PrepareUpload {}

/// The prepare body: JSON (the file in base64, read whole within
/// [`crate::MAX_DOCUMENT_JSON`]), or a form whose `file` streams to a temporary file of the
/// blob folder (the documents' cap counted as it comes) and whose `request` is the JSON.
async fn prepare_body(st: &AppState, req: Request) -> ApiResult<(PrepareRequest, Option<Input>)> {
    let content_type = super::content_type(&req);
    if !content_type.starts_with("multipart/form-data") {
        let Body(input) =
            Body::<PrepareRequest, { crate::MAX_DOCUMENT_JSON }>::from_request(req, st).await?;
        let file = Input::base64(input.file_base64.as_deref())?;
        return Ok((input, file));
    }
    let blobs = super::documents::blobs(st)?;
    let form = match Multipart::from_request(req, st).await {
        Ok(mp) => {
            crate::multipart::read_streaming(
                mp,
                crate::MAX_DOCUMENT_BODY,
                "file",
                &blobs,
                crate::MAX_DOCUMENT_FILE as u64,
            )
            .await
        }
        Err(_) => Err(crate::multipart::FormError::Unreadable),
    }
    .map_err(super::verify::form_error)?;
    // The `request` part is read as a JSON body is (the same messages naming the field).
    let json = axum::http::Request::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(
            form.form.bytes("request").unwrap_or_default().to_vec(),
        ))
        .map_err(|_| internal())?;
    let Body(input) = Body::<PrepareRequest>::from_request(json, st).await?;
    let file = match (form.file, &input.file_base64) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "file_base64",
                "Gửi tệp PDF một lần: phần file của biểu mẫu hoặc file_base64, không cả hai.",
                "Send the PDF once: the form's file part or file_base64, not both.",
            ))
        }
        (Some((f, _)), None) => Some(Input::Staged(f)),
        (None, b) => Input::base64(b.as_deref())?,
    };
    Ok((input, file))
}

/// Prepare a signature: the PDF (uploaded, or a stored document version the caller may
/// read) gets its signature field, visible form and placeholder as `kyso sign` makes them; the
/// answer is what the caller's token signs and the session to finalize with (valid at most 15
/// minutes, for this account only). `cms`: sign `to_be_signed` (or its hash `digest`) and send
/// the raw signature value; `external_cms`: build a CMS over `digest` (the byte ranges' hash)
/// and send it whole. The body is JSON (the PDF in base64, at most 64 MB of file), or a
/// `multipart/form-data` form — the parameters as JSON in `request`, the PDF in `file` —
/// whose file is streamed to disk as it arrives, never held whole in memory. The prepared
/// document is kept with the session: finalize embeds the signature into exactly those bytes.
#[utoipa::path(post, path = "/api/v1/sign/prepare", tag = "signing",
    request_body(
        description = "The parameters and the PDF in base64 as JSON, or a form with the \
            parameters as JSON in `request` and the PDF in `file`",
        content(
            (PrepareRequest = "application/json"),
            (PrepareUpload = "multipart/form-data"),
        )
    ),
    responses((status = 201, description = "What to sign, and the session", body = PreparedSignature),
        (status = 413, description = "The file is larger than 64 MB", body = super::dto::ErrorBody),
        (status = 415, description = "The body is neither `application/json` nor `multipart/form-data`", body = super::dto::ErrorBody)))]
pub(crate) async fn prepare(
    State(st): State<AppState>,
    auth: Auth,
    req: Request,
) -> ApiResult<(StatusCode, Json<PreparedSignature>)> {
    let (input, file) = prepare_body(&st, req).await?;
    let now = st.now();
    let time = OffsetDateTime::from_unix_timestamp(now.unix_timestamp())
        .map_err(|_| internal())?
        .to_offset(now.offset());
    let mode = Mode::parse(input.mode.as_deref().unwrap_or("cms")).ok_or_else(|| {
        invalid(
            "mode",
            "Chế độ ký là cms hoặc external_cms.",
            "The mode is cms or external_cms.",
        )
    })?;
    let lifetime = input.expires_in.unwrap_or(sessions::SESSION_LIFETIME);
    let cert = signer_certificate(&input.certificate, now)?;
    if input.chain.len() > MAX_CHAIN {
        return Err(invalid(
            "chain",
            format!("Chuỗi chứng thư tối đa {MAX_CHAIN} chứng thư."),
            format!("The chain holds at most {MAX_CHAIN} certificates."),
        ));
    }
    let mut chain = Vec::new();
    for c in &input.chain {
        chain.extend(certificates("chain", c)?);
    }
    let algorithm = match &input.signature_algorithm {
        Some(name) => algorithm_named(name).ok_or_else(|| {
            let names: Vec<&str> = ALGORITHMS.iter().map(|(n, _)| *n).collect();
            invalid(
                "signature_algorithm",
                format!("Thuật toán ký là một trong: {}.", names.join(", ")),
                format!("The signature algorithm is one of: {}.", names.join(", ")),
            )
        })?,
        None => SignatureAlgorithm::default_for(cert.key_kind()).map_err(|_| {
            invalid(
                "certificate",
                "Khóa của chứng thư số không được hỗ trợ (RSA, ECDSA P-256, P-384).",
                "The certificate's key is not supported (RSA, ECDSA P-256, P-384).",
            )
        })?,
    };
    let (pdf, document) = source(&st, &auth, file, input.document_id, input.seq).await?;
    let tsa = tsa(&st);
    // A caller's own CMS is embedded as it is sent.
    let timestamp = tsa.is_some() && mode == Mode::Cms;
    let mut opts = options(time, &input.reason, &input.location, &input.field_name)?;
    opts.timestamper = if timestamp { tsa } else { None };
    opts.extra_reserve = match mode {
        Mode::Cms => 0,
        Mode::ExternalCms => EXTERNAL_CMS_RESERVE,
    };
    let blobs = super::documents::blobs(&st)?;
    let form = input.form;
    let (cert, chain, prepared, blob) = blocking(move || {
        let (prepared, blob) =
            prepare_document(&blobs, pdf, &opts, &form, (&cert, &chain, algorithm))?;
        Ok((cert, chain, prepared, blob))
    })
    .await?;
    let params = Params {
        certificate: b64().encode(cert.der()),
        chain: chain.iter().map(|c| b64().encode(c.der())).collect(),
        algorithm: algorithm_name(algorithm).to_owned(),
        timestamp,
        byte_range: Some(prepared.byte_range),
        field_name: prepared.field_name.clone(),
    };
    let params_json = serde_json::to_string(&params).map_err(|_| internal())?;
    let session = sessions::create(
        &st.store,
        &auth.actor,
        &sessions::NewSession {
            mode,
            source_blob: &blob,
            document,
            params: &params_json,
            digest: &hex(&prepared.document_digest),
            lifetime,
        },
        now,
    )
    .await?;
    let expires_at = OffsetDateTime::from_unix_timestamp(session.expires_at)
        .map_err(|_| internal())?
        .to_offset(now.offset());
    let (digest, to_be_signed) = match mode {
        Mode::Cms => (
            b64().encode(&prepared.to_be_signed_digest),
            Some(b64().encode(prepared.signed_attrs.der())),
        ),
        Mode::ExternalCms => (b64().encode(&prepared.document_digest), None),
    };
    Ok((
        StatusCode::CREATED,
        Json(PreparedSignature {
            session: session.id,
            expires_at: kyso_services::signing::rfc3339(expires_at),
            mode: mode.as_str().to_owned(),
            digest_algorithm: prepared.algorithm.digest().name().to_owned(),
            signature_algorithm: params.algorithm,
            digest,
            to_be_signed,
            document_digest: b64().encode(&prepared.document_digest),
            byte_range: prepared.byte_range,
            field_name: prepared.field_name,
            timestamp: params.timestamp,
        }),
    ))
}

/// The session id of a path, with the API's error body when it cannot be read.
#[derive(Debug)]
pub(crate) struct SessionId(String);

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| SessionId(p.0))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    Some("session"),
                    "Mã phiên ký trong đường dẫn không đọc được.",
                    "The session id in the path cannot be read.",
                )
            })
    }
}

/// The signature was refused: the session is given back (a few times at most).
fn refused(vi: &str, en: &str) -> ApiError {
    invalid("signature", vi, en)
}

/// Finalize a prepared signature: the raw signature value (`cms`) or the whole CMS
/// (`external_cms`) is verified against the certificate and the prepared digest before it is
/// embedded (a wrong one is refused, 422 `signature`, and the session may be tried again up to
/// five times); a signature timestamp is added when the server has a TSA. The answer is the
/// signed PDF. A session is finalized once, by the account that prepared it, before it expires.
#[utoipa::path(post, path = "/api/v1/sign/{session}/finalize", tag = "signing",
    params(("session" = String, Path, description = "The session id from /api/v1/sign/prepare")),
    request_body = FinalizeRequest,
    responses((status = 200, description = "The signed PDF", content_type = "application/pdf", body = super::dto::BinaryFile)))]
pub(crate) async fn finalize(
    State(st): State<AppState>,
    auth: Auth,
    SessionId(session): SessionId,
    Body(input): Body<FinalizeRequest>,
) -> ApiResult<Response> {
    let now = st.now();
    let signature = decoded("signature_base64", &input.signature_base64)?;
    let cms = decoded("cms_base64", &input.cms_base64)?;
    let s = sessions::claim(&st.store, &auth.actor, &session, now).await?;
    let outcome = finalize_claimed(&st, &s, signature, cms).await;
    match outcome {
        Ok(signed) => {
            let sha = hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &signed).as_ref());
            sessions::finish(&st.store, &auth.actor, &s.id, &sha, now).await?;
            st.metrics.signature_made("sign_service");
            Ok((
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"signed.pdf\"".to_owned(),
                    ),
                ],
                signed,
            )
                .into_response())
        }
        Err(e) => {
            sessions::release(&st.store, &auth.actor, &s.id).await?;
            Err(e)
        }
    }
}

/// A base64 field of the finalize body, decoded (`None` when absent).
fn decoded(field: &'static str, v: &Option<String>) -> ApiResult<Option<Vec<u8>>> {
    let Some(v) = v else { return Ok(None) };
    if v.len() > MAX_SIGNATURE_B64 {
        return Err(invalid(
            field,
            "Giá trị quá lớn.",
            "The value is too large.",
        ));
    }
    b64().decode(v.trim()).map(Some).map_err(|_| {
        invalid(
            field,
            format!("Trường \"{field}\" không phải base64 hợp lệ."),
            format!("The field \"{field}\" is not valid base64."),
        )
    })
}

async fn finalize_claimed(
    st: &AppState,
    s: &sessions::Session,
    signature: Option<Vec<u8>>,
    cms: Option<Vec<u8>>,
) -> ApiResult<Vec<u8>> {
    let missing = |field: &'static str| {
        invalid(
            field,
            format!("Thiếu trường \"{field}\" (base64)."),
            format!("The field \"{field}\" (base64) is missing."),
        )
    };
    let (signature, cms) = match s.mode {
        Mode::Cms => (
            Some(signature.ok_or_else(|| missing("signature_base64"))?),
            None,
        ),
        Mode::ExternalCms => (None, Some(cms.ok_or_else(|| missing("cms_base64"))?)),
    };
    let params: Params = serde_json::from_str(&s.params).map_err(|_| internal())?;
    let byte_range = params.byte_range.ok_or_else(prepare_again)?;
    let blobs = super::documents::blobs(st)?;
    let blob = s.source_blob.clone();
    let digest = s.digest.clone();
    let tsa = tsa(st);
    if params.timestamp && tsa.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            Some("session"),
            "Máy chủ không còn dịch vụ cấp dấu thời gian đã dùng khi chuẩn bị; hãy chuẩn bị lại.",
            "The server no longer has the time-stamping service used at preparation; prepare again.",
        ));
    }
    blocking(move || {
        let decode = |s: &str| -> ApiResult<Cert> {
            let der = b64().decode(s).map_err(|_| internal())?;
            Cert::from_der(&der).map_err(|_| internal())
        };
        let cert = decode(&params.certificate)?;
        let chain = params
            .chain
            .iter()
            .map(|c| decode(c))
            .collect::<ApiResult<Vec<Cert>>>()?;
        let algorithm = algorithm_named(&params.algorithm).ok_or_else(internal)?;
        // The prepared document as kept (its blob re-hashed against its name on reading),
        // taken up again: its byte ranges hashed once more and compared with the digest the
        // caller signed over, nothing prepared anew.
        let pdf = blobs.get(&blob).map_err(|e| {
            tracing::error!(error = %e, "signing service: the prepared document is not readable");
            match e {
                BlobError::Damaged { .. } | BlobError::Missing { .. } => prepare_again(),
                _ => internal(),
            }
        })?;
        let prepared = Prepared::resume(
            Arc::new(MemSource::new(pdf)),
            byte_range,
            params.field_name.clone(),
            &cert,
            algorithm,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "signing session: the prepared document cannot be taken up");
            prepare_again()
        })?;
        if hex(&prepared.document_digest) != digest {
            tracing::error!("signing session: the prepared document's digest differs");
            return Err(prepare_again());
        }
        let updated = match (signature, cms) {
            (Some(sig), _) => {
                let algorithm = prepared.algorithm;
                let sig = ecdsa_der(algorithm, &cert, prepared.signed_attrs.der(), sig);
                // The value is checked before anything else is done with it.
                algorithm
                    .verify(&cert, prepared.signed_attrs.der(), &sig)
                    .map_err(|e| signature_refusal(&e))?;
                let unsigned = match (&tsa, params.timestamp) {
                    (Some(t), true) => vec![kyso_pades::sign::signature_timestamp(
                        t.as_ref(),
                        algorithm,
                        &sig,
                    )
                    .map_err(|e| {
                        let u = catalogue::pades(&e);
                        ApiError::new(StatusCode::CONFLICT, "timestamp", None, u.vi, u.en)
                    })?],
                    _ => Vec::new(),
                };
                prepared.finish(&sig, &cert, &chain, unsigned)
            }
            (None, Some(cms)) => {
                check_cms(&cms, &cert, &prepared)?;
                prepared.finish_cms(&cms)
            }
            (None, None) => return Err(internal()),
        }
        .map_err(|e| match e {
            kyso_pades::Error::Cms(c) => signature_refusal(&c),
            other => user_invalid("signature", &catalogue::pades(&other)),
        })?;
        updated.to_vec().map_err(|e| {
            tracing::error!(error = %e, "signed document not written");
            internal()
        })
    })
    .await
}

/// An ECDSA value as a token answers it (r‖s, PKCS#11) turned into the DER `Ecdsa-Sig-Value`
/// CMS carries, when it does not verify as sent and has the curve's raw length; any other
/// value is left as it is (and refused by the check that follows when wrong).
fn ecdsa_der(algorithm: SignatureAlgorithm, cert: &Cert, message: &[u8], sig: Vec<u8>) -> Vec<u8> {
    let raw_len = match cert.key_kind() {
        kyso_x509::KeyKind::EcP256 => 64,
        kyso_x509::KeyKind::EcP384 => 96,
        _ => return sig,
    };
    if !matches!(algorithm, SignatureAlgorithm::Ecdsa(_))
        || sig.len() != raw_len
        || algorithm.verify(cert, message, &sig).is_ok()
    {
        return sig;
    }
    kyso_keys::pkcs11::ecdsa_raw_to_der(&sig).unwrap_or(sig)
}

/// A signature value or CMS refused, in words.
fn signature_refusal(e: &kyso_cms::Error) -> ApiError {
    match e {
        kyso_cms::Error::SignatureMismatch => refused(
            "Chữ ký không khớp: giá trị chữ ký không được tạo bằng khóa của chứng thư số trên đúng giá trị băm đã chuẩn bị. Văn bản chưa được ký.",
            "The signature does not match: it was not made with the certificate's key over the prepared digest. The document was not signed.",
        ),
        kyso_cms::Error::Unsupported(what) => refused(
            &format!("Chữ ký không dùng được: {what}. Văn bản chưa được ký."),
            &format!("The signature cannot be used: {what}. The document was not signed."),
        ),
        other => refused(
            &format!("Chữ ký không đọc được ({other}). Văn bản chưa được ký."),
            &format!("The signature cannot be read ({other}). The document was not signed."),
        ),
    }
}

/// The caller's CMS, checked before `finish_cms` for a clear message: readable, by the
/// certificate given at preparation.
fn check_cms(cms: &[u8], cert: &Cert, prepared: &Prepared) -> ApiResult<()> {
    let parsed = kyso_cms::verify::parse_signed_data(cms).map_err(|_| {
        refused(
            "Dữ liệu gửi lên không phải CMS SignedData (DER). Văn bản chưa được ký.",
            "The data sent is not a CMS SignedData (DER). The document was not signed.",
        )
    })?;
    if parsed.signer_certificate().map(Cert::der) != Some(cert.der()) {
        return Err(refused(
            "CMS không được ký bằng chứng thư số đã gửi khi chuẩn bị (hoặc không mang chứng thư đó). Văn bản chưa được ký.",
            "The CMS is not signed by the certificate sent at preparation (or does not carry it). The document was not signed.",
        ));
    }
    let wanted = prepared.algorithm.digest();
    if parsed.digest != Some(wanted) {
        return Err(refused(
            &format!(
                "CMS phải dùng hàm băm {} như khi chuẩn bị. Văn bản chưa được ký.",
                wanted.name()
            ),
            &format!(
                "The CMS must use {} as prepared. The document was not signed.",
                wanted.name()
            ),
        ));
    }
    Ok(())
}

/// Sign in one call with the caller's credential at the server's CSC service (`--csc-url`;
/// 404 without one): the same input and form as `/api/v1/sign/prepare`, the signature made at
/// the server's level (with its TSA from B-T). The password and PIN are used for this request
/// only, never stored or logged. The answer is the signed PDF.
#[utoipa::path(post, path = "/api/v1/sign/csc", tag = "signing",
    request_body = CscSignRequest,
    responses((status = 200, description = "The signed PDF", content_type = "application/pdf", body = super::dto::BinaryFile),
        (status = 502, description = "The CSC service or the signing failed", body = super::dto::ErrorBody)))]
pub(crate) async fn csc_sign(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<CscSignRequest, { crate::MAX_DOCUMENT_JSON }>,
) -> ApiResult<Response> {
    let CscSignRequest {
        file_base64,
        document_id,
        seq,
        csc_user,
        csc_password,
        credential,
        pin,
        form,
        reason,
        location,
        field_name,
    } = input;
    let csc_password = Secret::new(csc_password);
    let pin = Secret::new(pin);
    let Some(config) = st.remote_signing.clone() else {
        return Err(crate::remote_sign::not_configured());
    };
    let now = st.now();
    let opts = options(now, &reason, &location, &field_name)?;
    // The form's own checks before any call to the CSC service.
    if let Some(f) = &form {
        if !FORM_KINDS.contains(&f.kind.as_str()) {
            return Err(form_kind_error());
        }
    }
    let file = Input::base64(file_base64.as_deref())?;
    let pdf = match source(&st, &auth, file, document_id, seq).await? {
        (Input::Bytes(pdf), _) => pdf,
        (Input::Staged(_), _) => return Err(internal()),
    };
    let request = kyso_services::remote_sign::Request {
        login: kyso_services::remote_sign::Login {
            user: csc_user.trim().to_owned(),
            password: csc_password,
        },
        credential: Some(credential.trim().to_owned()).filter(|c| !c.is_empty()),
        pin,
    };
    let form_error = Arc::new(std::sync::Mutex::new(None::<ApiError>));
    let fe = form_error.clone();
    let signed = tokio::task::spawn_blocking(move || {
        kyso_services::remote_sign::sign_document(
            &config,
            request,
            pdf,
            opts,
            Box::new(move |cert: &Cert| {
                visible_form(&form, cert, now).map_err(|e| {
                    let u = UserError::new(e.message(crate::Lang::Vi), e.message(crate::Lang::En));
                    if let Ok(mut slot) = fe.lock() {
                        *slot = Some(e);
                    }
                    u
                })
            }),
            now,
        )
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "remote signing task failed");
        internal()
    })?;
    match signed {
        Ok(bytes) => {
            st.metrics.signature_made("sign_service_csc");
            Ok((
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"signed.pdf\"".to_owned(),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        Err(e) => {
            if let Some(api) = form_error.lock().ok().and_then(|mut s| s.take()) {
                return Err(api);
            }
            Err(crate::remote_sign::remote_error(e)
                .err()
                .unwrap_or_else(internal))
        }
    }
}
