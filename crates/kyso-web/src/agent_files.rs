//! Signing with the official's own token through the signing service on their computer
//! (issue 17 item 3): `kyso agent`, or the national CA's VGCA Sign Service, both speaking the
//! VGCA protocol.
//!
//! The document page asks for a one-time ticket ([`issue`], behind the session and its CSRF
//! token) and hands the service one VGCA request: `FileName` (the download of the exact
//! version to sign), `FileUploadHandler` (the upload), `JWTToken` (the ticket). The service
//! calls the two routes of this module with `Authorization: Bearer <ticket>` — no session
//! cookie, no CSRF token: the ticket is the credential.
//!
//! - The ticket is an HS256 JWT ([`TicketKey`], hand-written over aws-lc-rs's HMAC: no JWT
//!   crate is in the tree and the one algorithm needed is a few lines) naming the account, the
//!   document, the version, the step, its expiry and its id (`jti`); the store keeps the same
//!   (`kyso_store::documents::issue_ticket`), so a ticket is worth only what its row still
//!   allows: one accepted upload, before it expires, while its account is enabled.
//! - `GET /sign-agent/documents/{id}/versions/{seq}/{name}`: the version the ticket names, and
//!   only while it is the latest.
//! - `POST /sign-agent/documents/{id}/signed`: the signed PDF as the multipart field
//!   `uploadfile` (at most [`crate::MAX_DOCUMENT_BODY`] bytes, read only once the ticket is
//!   checked), taken through the same
//!   [`crate::documents::take_step`] as the page's and the API's uploads (the upload check,
//!   the step's rules, its audit entry). The ticket is claimed before the step (a second upload
//!   with it is refused at once) and settled with the stored version; a refused file gives it
//!   back (the official may try again within its life, at most
//!   `kyso_store::documents::MAX_REFUSALS` times). Answered in the VGCA shape: `Status` 0 with
//!   `FileName` and `FileServer`, or 1 with a `Message` in Vietnamese (English on
//!   `Accept-Language: en`); a refused file is HTTP 200 with Status 1 so that the service shows
//!   the server's message, a refused ticket is 401.
//!
//! - Copies (issue 17 item 7, VGCA `SignCopy`): the clerk of the copying agency (the issuer or a
//!   recipient) asks a ticket naming the form ([`issue_copy`]); the store reserves the copy's
//!   number in the agency's series with it, and the request's `DocNumber` is that number
//!   ("05/SY"), `MetaData` the form and the place, so the agent's stamp shows them.
//!   `GET /sign-agent/documents/{id}/copy/versions/{seq}/{name}` serves the source version;
//!   `POST /sign-agent/documents/{id}/copy/signed` takes the signed copy through
//!   [`check_and_sign_copy`] — the attachment's upload check (one new intact signature by an
//!   organization certificate of the copying agency in the registry, nothing else changed)
//!   and the stamp showing the reserved number (422 naming both when not) — and the store
//!   makes the number final with the copy (`kyso_store::documents::sign_copy`).
//!
//! These routes are called by the signing service, never by a page: a request with an
//! `Origin` header is refused and no CORS header is ever sent, so no web page can read a
//! download or post an upload with a ticket it got hold of. Tickets never appear in URLs or
//! logs (the access log names routes, never paths or headers).

use std::io::Write as _;
use std::path::Path;

use aws_lc_rs::hmac;
use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use kyso_domain::documents::{CopyForm, DocAction};
use kyso_store::documents as docs;
use kyso_store::Actor;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::auth::{Lang, Source};
use crate::{ApiError, AppState};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "signing-ticket.key";

const ISSUER: &str = "kyso";
const AUDIENCE: &str = "kyso-sign-agent";
/// Longest token read (a kyso ticket is about 400 characters).
const MAX_TOKEN: usize = 2048;

/// The server's key for signing tickets (HS256): 32 random bytes (none when the system had no
/// randomness to make one: then no ticket is issued or accepted).
pub struct TicketKey {
    key: Option<hmac::Key>,
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(..)")
    }
}

impl TicketKey {
    fn from_bytes(bytes: &[u8; 32]) -> Self {
        TicketKey {
            key: Some(hmac::Key::new(hmac::HMAC_SHA256, bytes)),
        }
    }

    /// A key for this process only (tests; a server without a data folder): its tickets end
    /// with it.
    pub fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        if aws_lc_rs::rand::fill(&mut bytes[..]).is_err() {
            tracing::error!("no randomness for the signing ticket key: signing tickets are off");
            return TicketKey { key: None };
        }
        Self::from_bytes(&bytes)
    }

    /// The key at `path` (64 hex digits), made there first if there is none: written mode 0600
    /// to a temporary file and linked into place without overwriting, like the audit key, so
    /// two servers starting at once end with one key.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        match Self::load(path) {
            Ok(k) => return Ok(k),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(&mut bytes[..])
            .map_err(|_| std::io::Error::other("no randomness"))?;
        let text: Zeroizing<String> =
            Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n");
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        match tmp.persist_noclobber(path) {
            Ok(_) => Ok(Self::from_bytes(&bytes)),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(e.error),
        }
    }

    fn load(path: &Path) -> std::io::Result<Self> {
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        let hex = text.trim();
        let mut bytes = Zeroizing::new([0u8; 32]);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a signing ticket key (64 hex digits)",
            ));
        }
        for (i, slot) in bytes.iter_mut().enumerate() {
            *slot = hex
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// The JWT of `claims` (none without a key).
    fn sign(&self, claims: &Claims) -> Option<String> {
        let key = self.key.as_ref()?;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{header}.{payload}");
        let tag = hmac::sign(key, input.as_bytes());
        Some(format!("{input}.{}", b64.encode(tag.as_ref())))
    }

    /// The claims of `token` when this key signed it with HS256, for this audience, and it has
    /// not expired at `now` (Unix seconds).
    fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let Some(key) = self.key.as_ref() else {
            return Err(TokenError::BadSignature);
        };
        if token.len() > MAX_TOKEN {
            return Err(TokenError::Malformed);
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        // The header is read before anything is trusted: HS256 only ("none", RS256 with this
        // key as a public key … are refused).
        let header: Value = b64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let tag = b64.decode(s).map_err(|_| TokenError::Malformed)?;
        hmac::verify(key, format!("{h}.{p}").as_bytes(), &tag)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = b64
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.iss != ISSUER || claims.aud != AUDIENCE {
            return Err(TokenError::BadSignature);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// What a ticket's token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    iss: String,
    aud: String,
    /// The account, as a decimal string (JWT's `sub`).
    sub: String,
    /// The document.
    doc: i64,
    /// The version to sign.
    seq: i64,
    /// The step (`sign_personal`, `org_sign`), or `sign_appendix` for an attachment.
    act: String,
    /// The attachment signed (`sign_appendix`); absent for the document's own steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    att: Option<i64>,
    /// The copying agency (`sign_copy`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cag: Option<i64>,
    /// The incoming record copied (`crate::incoming_copies`; `doc` is then 0); absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inc: Option<i64>,
    jti: String,
    iat: i64,
    exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenError {
    Missing,
    Malformed,
    BadSignature,
    Expired,
}

/// The VGCA operation of a signing step.
pub(crate) fn operation(action: DocAction) -> Option<&'static str> {
    match action {
        DocAction::SignPersonal => Some("SignApproved"),
        DocAction::OrgSign => Some("SignIssued"),
        _ => None,
    }
}

/// The file name in URLs and uploads: ASCII letters, digits, `-`, `_`, ending in `.pdf`.
pub(crate) fn safe_pdf_name(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let safe: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .take(60)
        .collect();
    if safe.is_empty() {
        "van-ban.pdf".into()
    } else {
        format!("{safe}.pdf")
    }
}

/// A ticket for `actor` to take the signing `action` on document `id` now, as the page hands
/// it to the signing service: the VGCA operation and the request (its URLs relative to the
/// site: the page makes them absolute with the address it was loaded from).
pub(crate) async fn issue(
    st: &AppState,
    actor: &Actor,
    id: i64,
    action: DocAction,
) -> Result<Value, ApiError> {
    let Some(op) = operation(action) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("action"),
            "Chỉ bước ký số cá nhân và ký số cơ quan ký qua dịch vụ ký.",
            "Only the personal and the organization signature go through the signing service.",
        ));
    };
    let now = st.now();
    let ticket = docs::issue_ticket(&st.store, actor, id, action, now).await?;
    let detail = docs::get_document(&st.store, actor, id).await?;
    let name = detail
        .versions
        .iter()
        .find(|v| v.seq == ticket.seq)
        .map_or_else(|| "van-ban.pdf".to_owned(), |v| safe_pdf_name(&v.file_name));
    let token = ticket_token(st, actor, &ticket)?;
    let doc = &detail.document;
    // SignIssued fills the number and date fields: the number reserved for the document and
    // its date, as RFC 3339 at noon Vietnam time (the date is the same in every zone of the
    // country's neighbours; the agent reads it with its offset).
    let (number, issued) = if action == DocAction::OrgSign {
        (
            doc.number_and_notation(),
            doc.issued_date
                .as_ref()
                .map(|d| format!("{d}T12:00:00+07:00")),
        )
    } else {
        (None, None)
    };
    Ok(json!({
        "operation": op,
        "action": action.as_str(),
        "expires_at": ticket.expires_at,
        "request": agent_request(
            format!("/sign-agent/documents/{id}/versions/{}/{name}", ticket.seq),
            format!("/sign-agent/documents/{id}/signed"),
            &token,
            (json!(number), Some(json!(issued))),
            &[
                ("DocumentId", json!(id)),
                ("Version", json!(ticket.seq)),
                ("Subject", json!(doc.meta.subject)),
            ],
        ),
    }))
}

/// A ticket for the clerk `actor` to sign attachment `attachment_id` of document `id` with
/// the organization key and the Decree 30 attachment stamp (VGCA `SignAppendix`): `DocNumber`
/// is the document's number and notation, which the stamp must show.
pub(crate) async fn issue_attachment(
    st: &AppState,
    actor: &Actor,
    id: i64,
    attachment_id: i64,
) -> Result<Value, ApiError> {
    let now = st.now();
    let ticket = docs::issue_attachment_ticket(&st.store, actor, id, attachment_id, now).await?;
    let detail = docs::get_document(&st.store, actor, id).await?;
    let attachment = docs::get_attachment(&st.store, actor, id, attachment_id).await?;
    let name = attachment
        .versions
        .iter()
        .find(|v| v.seq == ticket.seq)
        .map_or_else(
            || format!("phu-luc-{}.pdf", attachment.position),
            |v| safe_pdf_name(&v.file_name),
        );
    let token = ticket_token(st, actor, &ticket)?;
    let doc = &detail.document;
    Ok(json!({
        "operation": APPENDIX_OPERATION,
        "action": docs::SIGN_APPENDIX,
        "attachment_id": attachment_id,
        "expires_at": ticket.expires_at,
        "request": agent_request(
            format!(
                "/sign-agent/documents/{id}/attachments/{attachment_id}/versions/{}/{name}",
                ticket.seq
            ),
            format!("/sign-agent/documents/{id}/attachments/{attachment_id}/signed"),
            &token,
            (
                json!(doc.number_and_notation()),
                Some(json!(doc
                    .issued_date
                    .as_ref()
                    .map(|d| format!("{d}T12:00:00+07:00")))),
            ),
            &[
                ("DocumentId", json!(id)),
                ("AttachmentId", json!(attachment_id)),
                ("Position", json!(attachment.position)),
                ("Title", json!(attachment.title)),
                ("Version", json!(ticket.seq)),
            ],
        ),
    }))
}

/// The VGCA operation of an attachment's signature.
pub(crate) const APPENDIX_OPERATION: &str = "SignAppendix";

/// The VGCA operation of a copy's signature.
pub(crate) const COPY_OPERATION: &str = "SignCopy";

/// Longest place name of a copy's date line.
const MAX_PLACE: usize = 100;

/// The place name of a copy's date line, trimmed: at most [`MAX_PLACE`] characters, no
/// control characters.
pub(crate) fn check_place(place: &str) -> Result<&str, ApiError> {
    let place = place.trim();
    if place.chars().count() > MAX_PLACE || place.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("place"),
            format!("Địa danh dài quá {MAX_PLACE} ký tự hoặc có ký tự điều khiển."),
            format!(
                "The place name is longer than {MAX_PLACE} characters or has control characters."
            ),
        ));
    }
    Ok(place)
}

/// A ticket for the clerk `actor` of agency `agency_id` to sign a copy of document `id` in
/// `form` with the organization key and the Decree 30 copy stamp (VGCA `SignCopy`): the copy's
/// number is reserved with it, and `DocNumber` is that number ("05/SY"), which the stamp must
/// show; `MetaData` names the form (`CopyForm`) and the place of the date line (`Place`).
pub(crate) async fn issue_copy(
    st: &AppState,
    actor: &Actor,
    id: i64,
    agency_id: i64,
    form: CopyForm,
    place: &str,
) -> Result<Value, ApiError> {
    issue_copy_with(st, actor, id, agency_id, form, place, None).await
}

/// [`issue_copy`], for a TRÍCH SAO with its extract (`crate::extract_copies`): the ticket
/// holds the extract, which its download serves and its upload is checked against.
pub(crate) async fn issue_copy_with(
    st: &AppState,
    actor: &Actor,
    id: i64,
    agency_id: i64,
    form: CopyForm,
    place: &str,
    extract: Option<docs::NewExtract>,
) -> Result<Value, ApiError> {
    let place = check_place(place)?;
    let now = st.now();
    let pages = extract.as_ref().map(|e| e.pages.clone());
    let (ticket, r) = match &extract {
        Some(e) => {
            let blobs = crate::api::documents::blobs(st)?;
            docs::issue_extract_ticket(&st.store, &blobs, actor, id, agency_id, e, now).await?
        }
        None => docs::issue_copy_ticket(&st.store, actor, id, agency_id, form, now).await?,
    };
    let token = ticket_token(st, actor, &ticket)?;
    let name = format!("ban-sao-{}-{}.pdf", form.abbreviation(), r.number);
    Ok(json!({
        "operation": COPY_OPERATION,
        "action": docs::SIGN_COPY,
        "agency_id": agency_id,
        "form": form.as_str(),
        "number": r.number,
        "notation": r.notation,
        "pages": pages,
        "expires_at": ticket.expires_at,
        "request": agent_request(
            format!("/sign-agent/documents/{id}/copy/versions/{}/{name}", ticket.seq),
            format!("/sign-agent/documents/{id}/copy/signed"),
            &token,
            (json!(r.notation), None),
            &[
                ("DocumentId", json!(id)),
                ("CopyForm", json!(form.as_str())),
                ("Place", json!(place)),
                ("Agency", json!(r.agency_name)),
                ("Version", json!(ticket.seq)),
            ],
        ),
    }))
}

/// The VGCA Sign Service request of a ticket, as the page hands it to the signing service:
/// where the service downloads the file (`FileName`) and uploads it signed
/// (`FileUploadHandler`), the one-time `token`, the number the stamp shows (`DocNumber`) and,
/// for the steps that fill the date, `IssuedDate` (absent for copies), and the `MetaData` the
/// service echoes (`Key`/`Value` pairs, in order).
pub(crate) fn agent_request(
    file: String,
    upload_handler: String,
    token: &str,
    (number, issued): (Value, Option<Value>),
    meta: &[(&str, Value)],
) -> Value {
    let meta: Vec<Value> = meta
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    let mut request = json!({
        "FileName": file,
        "FileUploadHandler": upload_handler,
        "JWTToken": token,
        "SessionId": "",
        "DocNumber": number,
        "MetaData": meta,
    });
    if let (Some(issued), Some(r)) = (issued, request.as_object_mut()) {
        r.insert("IssuedDate".into(), issued);
    }
    request
}

/// Check the clerk's signed copy of `ticket` and record it: the store's checks first (the
/// clerk of the copying agency, the document issued, the number still reserved), then the
/// attachment's upload check against the source version with the copying agency's
/// organization certificates, and the stamp showing the reserved number; then the store.
pub(crate) async fn check_and_sign_copy(
    st: &AppState,
    blobs: &kyso_store::blobs::Blobs,
    actor: &Actor,
    ticket: &docs::Ticket,
    file_name: &str,
    uploaded: Vec<u8>,
) -> Result<docs::DocumentCopy, ApiError> {
    let now = st.now();
    let (r, source) = docs::copy_to_sign(&st.store, blobs, actor, ticket).await?;
    let certificates = docs::copy_signing_certificates(&st.store, actor, ticket, now).await?;
    let uploaded = check_copy_upload(st, source, uploaded, &certificates, &r.notation).await?;
    Ok(docs::sign_copy(&st.store, blobs, actor, ticket, file_name, &uploaded, now).await?)
}

/// The upload check of a signed copy (of an outgoing document, or of an incoming record:
/// `crate::incoming_copies`): one new intact signature over `source` by one of the copying
/// agency's organization `certificates` (DER) in the registry, nothing else changed, and the
/// stamp showing the reserved number `notation` (422 naming both when not). The checked bytes.
pub(crate) async fn check_copy_upload(
    st: &AppState,
    source: Vec<u8>,
    uploaded: Vec<u8>,
    certificates: &[Vec<u8>],
    notation: &str,
) -> Result<Vec<u8>, ApiError> {
    let certificates: Vec<kyso_x509::Cert> = certificates
        .iter()
        .filter_map(|d| kyso_x509::Cert::from_der(d).ok())
        .collect();
    if certificates.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("file"),
            "Sổ đăng ký không có chứng thư số cơ quan còn hiệu lực của cơ quan sao; không nhận \
             bản sao đã ký.",
            "The registry holds no valid organization certificate of the copying agency; the \
             signed copy is not accepted.",
        ));
    }
    let (checked, lines, uploaded) =
        // A copy's source is a signed document, or a scan (unsigned) digitised: its stamp may
        // cover the scanned page, which no signature covers.
        crate::api::attachments::check_stamped(
            &st.metrics,
            "copy",
            source,
            uploaded,
            certificates,
            true,
        )
        .await?;
    if !kyso_pades::stamp::carries_number(&lines, notation) {
        st.metrics.signature_verified("copy", false);
        tracing::info!(copy = %notation, "signed copy refused: the stamp does not carry the copy's number");
        let (vi_shown, en_shown) = crate::api::attachments::stamp_reads(&lines);
        let n = notation;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("file"),
            format!(
                "Dấu chữ ký số trên bản sao phải ghi số bản sao đã cấp (Số: {n}) theo Nghị định \
                 30; {vi_shown}. Hãy bấm \"Ký bản sao\" và ký lại với mẫu chữ ký bản sao ghi đúng số."
            ),
            format!(
                "The signature stamp on the copy must show the copy's number (Số: {n}) as Decree \
                 30 requires; {en_shown}. Click \"Sign a copy\" and sign again with the copy form \
                 showing that number."
            ),
        ));
    }
    st.metrics.signature_verified("copy", true);
    tracing::info!(copy = %notation, signer = %checked.signer.subject_display(),
        "signed copy accepted");
    Ok(uploaded)
}

/// The token of a stored `ticket` for `actor`: its claims are the ticket's own (document,
/// version, step, attachment, copying agency, incoming record), which the routes check
/// against the stored row.
pub(crate) fn ticket_token(
    st: &AppState,
    actor: &Actor,
    ticket: &docs::Ticket,
) -> Result<String, ApiError> {
    st.ticket_key
        .sign(&Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: actor.user_id.to_string(),
            doc: ticket.document_id,
            seq: ticket.seq,
            act: ticket.op().into(),
            att: ticket.attachment_id,
            cag: ticket.copy_agency_id,
            inc: ticket.incoming_id,
            jti: ticket.jti.clone(),
            iat: ticket.issued_at,
            exp: ticket.expires_at,
        })
        .ok_or_else(no_key)
}

fn no_key() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        None,
        "Máy chủ chưa cấp được phiếu ký; xin báo quản trị hệ thống.",
        "The server cannot issue signing tickets; tell the administrator.",
    )
}

/// The routes: the page's ticket and script, and the two the signing service calls.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/documents/{id}/sign-ticket", post(ticket))
        .route("/static/kyso-sign.js", get(script))
        .route(
            "/sign-agent/documents/{id}/versions/{seq}/{name}",
            get(download),
        )
        // A signed document is far larger than an ordinary form; the ticket is checked
        // before the body is read.
        .route(
            "/sign-agent/documents/{id}/signed",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::MAX_DOCUMENT_BODY,
            )),
        )
        .route(
            "/sign-agent/documents/{id}/attachments/{attachment_id}/versions/{seq}/{name}",
            get(download_attachment),
        )
        .route(
            "/sign-agent/documents/{id}/attachments/{attachment_id}/signed",
            post(upload_attachment).layer(axum::extract::DefaultBodyLimit::max(
                crate::MAX_DOCUMENT_BODY,
            )),
        )
        .route(
            "/sign-agent/documents/{id}/copy/versions/{seq}/{name}",
            get(download_copy),
        )
        .route(
            "/sign-agent/documents/{id}/copy/signed",
            post(upload_copy).layer(axum::extract::DefaultBodyLimit::max(
                crate::MAX_DOCUMENT_BODY,
            )),
        )
        .merge(crate::incoming_copies::routes())
}

/// The page's script: the "Ký số" buttons (no inline script: the CSP allows `'self'` only).
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../static/kyso-sign.js"),
    )
        .into_response()
}

/// What the page asks a ticket for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketRequest {
    /// `sign_personal`, `org_sign`, or `sign_appendix` (with `attachment_id`).
    action: String,
    /// The attachment to sign (`sign_appendix` only).
    #[serde(default)]
    attachment_id: Option<i64>,
    /// The copying agency (`sign_copy` only; the document's own agency when absent).
    #[serde(default)]
    agency_id: Option<i64>,
    /// The copy form: `sao_y`, `sao_luc`, `trich_sao` (`sign_copy` only).
    #[serde(default)]
    form: Option<String>,
    /// The place name of the copy's date line (`sign_copy` only).
    #[serde(default)]
    place: Option<String>,
    /// The pages of a TRÍCH SAO, e.g. `1-2,4` (`sign_copy` with `trich_sao` only, required).
    #[serde(default)]
    pages: Option<String>,
    /// What a TRÍCH SAO extracts, in the clerk's words (optional).
    #[serde(default)]
    note: Option<String>,
}

/// `POST /documents/{id}/sign-ticket`: a ticket for the caller's signing step, for the page's
/// script (the session cookie with its CSRF token in `x-csrf-token`, as the API takes it).
async fn ticket(
    State(st): State<AppState>,
    auth: crate::auth::Auth,
    crate::api::Id(id): crate::api::Id,
    crate::auth::Body(req): crate::auth::Body<TicketRequest>,
) -> Result<Json<Value>, ApiError> {
    if req.action.trim() == docs::SIGN_COPY {
        let form = req.form.as_deref().map(str::trim).unwrap_or_default();
        let form = CopyForm::parse(form).map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("form"),
                "Hãy chọn hình thức sao: sao_y (SAO Y), sao_luc (SAO LỤC) hoặc trich_sao (TRÍCH SAO).",
                "Choose the copy form: sao_y, sao_luc or trich_sao.",
            )
        })?;
        let agency_id = match req.agency_id {
            Some(a) => a,
            None => {
                docs::get_document(&st.store, &auth.actor, id)
                    .await?
                    .document
                    .agency_id
            }
        };
        let place = req.place.as_deref().unwrap_or_default();
        let (pages, note) = (req.pages.as_deref(), req.note.as_deref());
        let extract =
            crate::extract_copies::requested(&st, &auth.actor, id, agency_id, form, pages, note)
                .await?;
        return issue_copy_with(&st, &auth.actor, id, agency_id, form, place, extract)
            .await
            .map(Json);
    }
    if req.agency_id.is_some()
        || req.form.is_some()
        || req.place.is_some()
        || req.pages.is_some()
        || req.note.is_some()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("form"),
            "Hình thức sao, cơ quan sao và địa danh chỉ dùng khi ký bản sao (sign_copy).",
            "The copy form, copying agency and place go only with a copy's signature (sign_copy).",
        ));
    }
    match (req.action.trim(), req.attachment_id) {
        (docs::SIGN_APPENDIX, Some(attachment_id)) => {
            return issue_attachment(&st, &auth.actor, id, attachment_id)
                .await
                .map(Json)
        }
        (docs::SIGN_APPENDIX, None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("attachment_id"),
                "Hãy cho biết phụ lục cần ký (attachment_id).",
                "Name the attachment to sign (attachment_id).",
            ))
        }
        (_, Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("attachment_id"),
                "Phụ lục chỉ được ký bằng thao tác ký phụ lục (sign_appendix).",
                "An attachment is signed only with the appendix signature (sign_appendix).",
            ))
        }
        _ => {}
    }
    let action = DocAction::parse(req.action.trim()).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("action"),
            "Thao tác không hợp lệ.",
            "Unknown action.",
        )
    })?;
    issue(&st, &auth.actor, id, action).await.map(Json)
}

/// An answer in the VGCA shape.
pub(crate) fn vgca(status: StatusCode, code: i64, message: &str, extra: Value) -> Response {
    let mut body = json!({ "Status": code, "Message": message });
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    (status, Json(body)).into_response()
}

pub(crate) fn refuse(lang: Lang, status: StatusCode, vi: &str, en: &str) -> Response {
    vgca(status, 1, lang.pick(vi, en), Value::Null)
}

fn token_refusal(lang: Lang, e: TokenError) -> Response {
    let (vi, en) = match e {
        TokenError::Missing => (
            "Thiếu phiếu ký (Authorization: Bearer).",
            "The signing ticket is missing (Authorization: Bearer).",
        ),
        TokenError::Expired => (
            "Phiếu ký đã hết hạn. Hãy bấm \"Ký số\" lại trên trang văn bản.",
            "The signing ticket has expired. Click \"Sign\" again on the document's page.",
        ),
        TokenError::Malformed | TokenError::BadSignature => (
            "Phiếu ký không hợp lệ. Hãy bấm \"Ký số\" lại trên trang văn bản.",
            "The signing ticket is not valid. Click \"Sign\" again on the document's page.",
        ),
    };
    refuse(lang, StatusCode::UNAUTHORIZED, vi, en)
}

pub(crate) fn store_refusal(lang: Lang, e: kyso_store::Error) -> Response {
    use kyso_store::Error as E;
    let status = match &e {
        E::Invalid {
            field: "ticket", ..
        } => StatusCode::UNAUTHORIZED,
        E::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        E::Conflict { .. } => StatusCode::CONFLICT,
        E::NotFound { .. } => StatusCode::NOT_FOUND,
        E::Forbidden => StatusCode::FORBIDDEN,
        E::Unauthenticated => StatusCode::UNAUTHORIZED,
        _ => {
            tracing::error!(error = %e, "signing service request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    refuse(lang, status, &e.message(false), &e.message(true))
}

/// The checks before anything is read: no `Origin` (a page is not the signing service), a
/// bearer token this server signed, not expired, for document `id`.
#[allow(clippy::result_large_err)] // the refusal is the handler's answer, returned at once
fn check_request(
    st: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    id: i64,
    target: Target,
) -> Result<Claims, Response> {
    if headers.contains_key(header::ORIGIN) {
        return Err(refuse(
            lang,
            StatusCode::FORBIDDEN,
            "Địa chỉ này chỉ dành cho dịch vụ ký trên máy người dùng, không nhận yêu cầu từ trang web.",
            "This address is for the signing service on the user's computer, not for web pages.",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| Zeroizing::new(t.trim().to_owned()));
    let Some(token) = token else {
        return Err(token_refusal(lang, TokenError::Missing));
    };
    let claims = st
        .ticket_key
        .verify(&token, st.now().unix_timestamp())
        .map_err(|e| {
            tracing::info!(document = id, reason = ?e, "signing ticket refused");
            token_refusal(lang, e)
        })?;
    // The record the ticket names: an incoming record's copy names it in `inc`.
    let named = match target {
        Target::IncomingCopy => claims.inc,
        _ => claims.inc.is_none().then_some(claims.doc),
    };
    if named != Some(id) {
        tracing::info!(document = id, "signing ticket of another document");
        let (vi, en) = match (target, claims.inc) {
            (Target::IncomingCopy, None) => (
                "Phiếu ký này không phải phiếu ký bản sao văn bản đến.",
                "This signing ticket is not an incoming document's copy.",
            ),
            (_, Some(_)) if target != Target::IncomingCopy => (
                "Phiếu ký này cấp cho bản sao văn bản đến, không dùng cho văn bản đi.",
                "This signing ticket is for an incoming document's copy, not for an outgoing document.",
            ),
            _ => (
                "Phiếu ký này cấp cho văn bản khác.",
                "This signing ticket is for another document.",
            ),
        };
        return Err(refuse(lang, StatusCode::FORBIDDEN, vi, en));
    }
    // The operation the ticket is for: a document's step, this attachment's signature, or a
    // copy.
    let copy = claims.cag.is_some();
    if copy != matches!(target, Target::Copy | Target::IncomingCopy) {
        tracing::info!(document = id, "signing ticket of another operation");
        let (vi, en) = if copy {
            (
                "Phiếu ký này cấp cho việc ký bản sao (SignCopy), không dùng cho việc khác.",
                "This signing ticket is for a copy (SignCopy), not for anything else.",
            )
        } else {
            (
                "Phiếu ký này không phải phiếu ký bản sao.",
                "This signing ticket is not a copy's.",
            )
        };
        return Err(refuse(lang, StatusCode::FORBIDDEN, vi, en));
    }
    let attachment = match target {
        Target::Attachment(a) => Some(a),
        Target::Document | Target::Copy | Target::IncomingCopy => None,
    };
    if claims.att != attachment {
        tracing::info!(document = id, "signing ticket of another operation");
        let (vi, en) = match (claims.att, attachment) {
            (Some(_), None) => (
                "Phiếu ký này cấp cho việc ký phụ lục (SignAppendix), không dùng để ký văn bản.",
                "This signing ticket is for an attachment (SignAppendix), not for the document.",
            ),
            (None, Some(_)) => (
                "Phiếu ký này cấp cho một bước ký văn bản, không dùng để ký phụ lục.",
                "This signing ticket is for a step of the document, not for an attachment.",
            ),
            _ => (
                "Phiếu ký này cấp cho phụ lục khác.",
                "This signing ticket is for another attachment.",
            ),
        };
        return Err(refuse(lang, StatusCode::FORBIDDEN, vi, en));
    }
    Ok(claims)
}

/// What a signing service's route signs: the document's step, an attachment, a copy, an
/// incoming record's copy (`crate::incoming_copies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Document,
    Attachment(i64),
    Copy,
    IncomingCopy,
}

/// The stored ticket agrees with its token (it always does unless the key leaked).
fn same_ticket(claims: &Claims, t: &docs::Ticket) -> bool {
    claims.jti == t.jti
        && claims.sub == t.user_id.to_string()
        && claims.doc == t.document_id
        && claims.seq == t.seq
        && claims.act == t.op()
        && claims.att == t.attachment_id
        && claims.cag == t.copy_agency_id
        && claims.inc == t.incoming_id
        && claims.exp == t.expires_at
}

fn moved_on(lang: Lang) -> Response {
    refuse(
        lang,
        StatusCode::CONFLICT,
        "Văn bản đã có phiên bản mới hơn bản được cấp phiếu ký; hãy tải lại trang văn bản và ký lại.",
        "The document has a newer version than the one the ticket is for; reload its page and sign again.",
    )
}

/// The latest version's number of document `id`.
async fn latest_seq(st: &AppState, actor: &Actor, id: i64) -> Result<i64, kyso_store::Error> {
    Ok(docs::get_document(&st.store, actor, id)
        .await?
        .versions
        .last()
        .map_or(0, |v| v.seq))
}

pub(crate) fn no_blobs(lang: Lang) -> Response {
    refuse(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        "Máy chủ chưa có thư mục lưu tệp; xin báo quản trị hệ thống.",
        "The server has no file folder configured; tell the administrator.",
    )
}

/// The version the ticket names, while it is the latest.
async fn download(
    State(st): State<AppState>,
    UrlPath((id, seq, _name)): UrlPath<(i64, i64, String)>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
) -> Response {
    let claims = match check_request(&st, &headers, lang, id, Target::Document) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if claims.seq != seq {
        return refuse(
            lang,
            StatusCode::FORBIDDEN,
            "Phiếu ký này cấp cho phiên bản khác của văn bản.",
            "This signing ticket is for another version of the document.",
        );
    }
    let (ticket, actor) = match docs::ticket_holder(&st.store, &claims.jti, &src, st.now()).await {
        Ok(t) => t,
        Err(e) => return store_refusal(lang, e),
    };
    if !same_ticket(&claims, &ticket) {
        return token_refusal(lang, TokenError::BadSignature);
    }
    // Still the holder's step now (roles and state may have changed since the ticket).
    if let Err(e) = docs::may_act(&st.store, &actor, id, ticket.action).await {
        return store_refusal(lang, e);
    }
    match latest_seq(&st, &actor, id).await {
        Ok(latest) if latest == seq => {}
        Ok(_) => return moved_on(lang),
        Err(e) => return store_refusal(lang, e),
    }
    let Some(blobs) = st.blobs.clone() else {
        return no_blobs(lang);
    };
    match docs::version_file(&st.store, &blobs, &actor, id, seq).await {
        Ok((v, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", safe_pdf_name(&v.file_name)),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => store_refusal(lang, e),
    }
}

/// The signed file of the ticket's step, through the UI's and the API's `take_step`.
async fn upload(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Claimed {
        ticket,
        actor,
        blobs,
        bytes,
        name,
    } = match claim_upload(&st, &headers, lang, id, Target::Document, &src, mp).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let outcome = match latest_seq(&st, &actor, id).await {
        Ok(latest) if latest == ticket.seq => {
            let step = docs::StepInput {
                file: Some(bytes),
                file_name: safe_pdf_name(&name),
                ..Default::default()
            };
            crate::documents::take_step(&st, &blobs, &actor, id, ticket.action, step)
                .await
                .map_err(|e| refuse(lang, file_refusal_status(e.status), &e.vi, &e.en))
        }
        Ok(_) => Err(moved_on(lang)),
        Err(e) => Err(store_refusal(lang, e)),
    };
    match outcome {
        Ok(done) => {
            let version = done.outcome.version;
            if let Err(e) = docs::settle_ticket(&st.store, &actor, &ticket.jti, version).await {
                // The step is done and the ticket stays claimed: nothing to give back.
                tracing::warn!(error = %e, document = id, "signing ticket not settled");
            }
            tracing::info!(
                document = id,
                action = ticket.action.as_str(),
                "signed file accepted from the signing service"
            );
            vgca(
                StatusCode::OK,
                0,
                lang.pick(
                    "Máy chủ đã kiểm tra và nhận tệp đã ký.",
                    "The server checked and accepted the signed file.",
                ),
                json!({
                    "FileName": safe_pdf_name(&name),
                    "FileServer": version.map(|v| format!("/documents/{id}/file?seq={v}")),
                    "DocumentId": id,
                    "Version": version,
                }),
            )
        }
        Err(answer) => {
            give_back(&st, &actor, &ticket.jti, id).await;
            answer
        }
    }
}

/// The attachment version the ticket names, while it is the latest and the clerk may still
/// sign it.
async fn download_attachment(
    State(st): State<AppState>,
    UrlPath((id, attachment_id, seq, _name)): UrlPath<(i64, i64, i64, String)>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
) -> Response {
    let claims = match check_request(&st, &headers, lang, id, Target::Attachment(attachment_id)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if claims.seq != seq {
        return refuse(
            lang,
            StatusCode::FORBIDDEN,
            "Phiếu ký này cấp cho phiên bản khác của phụ lục.",
            "This signing ticket is for another version of the attachment.",
        );
    }
    let (ticket, actor) = match docs::ticket_holder(&st.store, &claims.jti, &src, st.now()).await {
        Ok(t) => t,
        Err(e) => return store_refusal(lang, e),
    };
    if !same_ticket(&claims, &ticket) {
        return token_refusal(lang, TokenError::BadSignature);
    }
    let Some(blobs) = st.blobs.clone() else {
        return no_blobs(lang);
    };
    // Still the clerk's to sign now, and this version still the one to sign.
    match docs::attachment_to_sign(&st.store, &blobs, &actor, id, attachment_id).await {
        Ok((a, bytes)) if a.latest().map(|v| v.seq) == Some(seq) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}\"",
                        a.latest().map_or_else(
                            || "phu-luc.pdf".to_owned(),
                            |v| safe_pdf_name(&v.file_name)
                        )
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(_) => moved_on(lang),
        Err(e) => store_refusal(lang, e),
    }
}

/// The clerk's signed attachment of the ticket, through the same check as the page's and
/// the API's uploads (`crate::api::attachments::check_and_sign`: the upload check with the
/// agency's organization certificates, the stamp carrying the document's number).
async fn upload_attachment(
    State(st): State<AppState>,
    UrlPath((id, attachment_id)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Claimed {
        ticket,
        actor,
        blobs,
        bytes,
        name,
    } = match claim_upload(
        &st,
        &headers,
        lang,
        id,
        Target::Attachment(attachment_id),
        &src,
        mp,
    )
    .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let outcome = match docs::get_attachment(&st.store, &actor, id, attachment_id).await {
        Ok(a) if a.latest().map(|v| v.seq) == Some(ticket.seq) => {
            crate::api::attachments::check_and_sign(
                &st.store,
                &blobs,
                &st.metrics,
                &actor,
                id,
                attachment_id,
                &safe_pdf_name(&name),
                bytes,
                st.now(),
            )
            .await
            .map_err(|e| refuse(lang, file_refusal_status(e.status), &e.vi, &e.en))
        }
        Ok(_) => Err(moved_on(lang)),
        Err(e) => Err(store_refusal(lang, e)),
    };
    match outcome {
        Ok(a) => {
            let version = a.latest().map(|v| v.seq);
            if let Err(e) = docs::settle_ticket(&st.store, &actor, &ticket.jti, version).await {
                tracing::warn!(error = %e, document = id, "signing ticket not settled");
            }
            tracing::info!(
                document = id,
                attachment = attachment_id,
                "signed attachment accepted from the signing service"
            );
            vgca(
                StatusCode::OK,
                0,
                lang.pick(
                    "Máy chủ đã kiểm tra và nhận phụ lục đã ký.",
                    "The server checked and accepted the signed attachment.",
                ),
                json!({
                    "FileName": safe_pdf_name(&name),
                    "FileServer": version.map(|v| format!(
                        "/documents/{id}/attachments/{attachment_id}/file?seq={v}"
                    )),
                    "DocumentId": id,
                    "AttachmentId": attachment_id,
                    "Version": version,
                }),
            )
        }
        Err(answer) => {
            give_back(&st, &actor, &ticket.jti, id).await;
            answer
        }
    }
}

/// The source version a copy's ticket names, while the clerk may still make the copy and its
/// number is still reserved.
async fn download_copy(
    State(st): State<AppState>,
    UrlPath((id, seq, _name)): UrlPath<(i64, i64, String)>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
) -> Response {
    let claims = match check_request(&st, &headers, lang, id, Target::Copy) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if claims.seq != seq {
        return refuse(
            lang,
            StatusCode::FORBIDDEN,
            "Phiếu ký này cấp cho phiên bản khác của văn bản.",
            "This signing ticket is for another version of the document.",
        );
    }
    let (ticket, actor) = match docs::ticket_holder(&st.store, &claims.jti, &src, st.now()).await {
        Ok(t) => t,
        Err(e) => return store_refusal(lang, e),
    };
    if !same_ticket(&claims, &ticket) {
        return token_refusal(lang, TokenError::BadSignature);
    }
    let Some(blobs) = st.blobs.clone() else {
        return no_blobs(lang);
    };
    match docs::copy_to_sign(&st.store, &blobs, &actor, &ticket).await {
        Ok((r, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"ban-sao-{}-{}.pdf\"",
                        r.form.abbreviation(),
                        r.number
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => store_refusal(lang, e),
    }
}

/// The clerk's signed copy of the ticket, through [`check_and_sign_copy`].
async fn upload_copy(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    lang: Lang,
    Source(src): Source,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Claimed {
        ticket,
        actor,
        blobs,
        bytes,
        name,
    } = match claim_upload(&st, &headers, lang, id, Target::Copy, &src, mp).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let outcome = check_and_sign_copy(&st, &blobs, &actor, &ticket, &safe_pdf_name(&name), bytes)
        .await
        .map_err(|e| refuse(lang, file_refusal_status(e.status), &e.vi, &e.en));
    match outcome {
        // The store marked the ticket used with the copy, in the copy's transaction.
        Ok(c) => {
            tracing::info!(
                document = id,
                copy = c.id,
                "signed copy accepted from the signing service"
            );
            vgca(
                StatusCode::OK,
                0,
                lang.pick(
                    "Máy chủ đã kiểm tra và nhận bản sao đã ký.",
                    "The server checked and accepted the signed copy.",
                ),
                json!({
                    "FileName": safe_pdf_name(&name),
                    "FileServer": format!("/documents/{id}/copies/{}/file", c.id),
                    "DocumentId": id,
                    "CopyId": c.id,
                    "DocumentNumber": c.notation,
                }),
            )
        }
        Err(answer) => {
            give_back(&st, &actor, &ticket.jti, id).await;
            answer
        }
    }
}

/// A refused file is an answer of the protocol (Status 1, HTTP 200): the service shows the
/// message; access refusals keep their status.
pub(crate) fn file_refusal_status(status: StatusCode) -> StatusCode {
    if matches!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
    ) {
        StatusCode::OK
    } else {
        status
    }
}

/// An upload of the signing service with its ticket claimed: the ticket, whom it acts for,
/// the blob store, and the signed file with its name.
pub(crate) struct Claimed {
    pub ticket: docs::Ticket,
    pub actor: Actor,
    pub blobs: kyso_store::blobs::Blobs,
    pub bytes: Vec<u8>,
    pub name: String,
}

/// What a download of an incoming record's copy checks first (`crate::incoming_copies`): the
/// token ([`check_request`] for `target`), then the ticket valid and unused and agreeing with
/// its token; the ticket and its holder.
pub(crate) async fn download_ticket(
    st: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    id: i64,
    target: Target,
    src: &str,
) -> Result<(docs::Ticket, Actor), Response> {
    let claims = check_request(st, headers, lang, id, target)?;
    let (ticket, actor) = docs::ticket_holder(&st.store, &claims.jti, src, st.now())
        .await
        .map_err(|e| store_refusal(lang, e))?;
    if !same_ticket(&claims, &ticket) {
        return Err(token_refusal(lang, TokenError::BadSignature));
    }
    Ok((ticket, actor))
}

/// What every upload (a document's step, an attachment, a copy) does first: the token
/// ([`check_request`] for `target`), the signed file, the blob store, then the ticket claimed
/// and compared with its token — a claimed ticket that does not match is given back.
pub(crate) async fn claim_upload(
    st: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    id: i64,
    target: Target,
    src: &str,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Claimed, Response> {
    let claims = check_request(st, headers, lang, id, target)?;
    let (bytes, name) = signed_file(lang, mp).await?;
    let Some(blobs) = st.blobs.clone() else {
        return Err(no_blobs(lang));
    };
    let (ticket, actor) = docs::claim_ticket(&st.store, &claims.jti, src, st.now())
        .await
        .map_err(|e| store_refusal(lang, e))?;
    if !same_ticket(&claims, &ticket) {
        give_back(st, &actor, &ticket.jti, id).await;
        return Err(token_refusal(lang, TokenError::BadSignature));
    }
    Ok(Claimed {
        ticket,
        actor,
        blobs,
        bytes,
        name,
    })
}

/// Give a claimed ticket back after a refused upload (the service may send again).
pub(crate) async fn give_back(st: &AppState, actor: &Actor, jti: &str, id: i64) {
    if let Err(e) = docs::release_ticket(&st.store, actor, jti).await {
        tracing::warn!(error = %e, document = id, "signing ticket not given back");
    }
}

/// The signed file of an upload: the multipart field `uploadfile` and its name.
async fn signed_file(
    lang: Lang,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(Vec<u8>, String), Response> {
    let Ok(mp) = mp else {
        return Err(refuse(
            lang,
            StatusCode::BAD_REQUEST,
            "Cần gửi tệp đã ký dạng multipart/form-data, trường uploadfile.",
            "Send the signed file as multipart/form-data, field uploadfile.",
        ));
    };
    let mut form = match crate::multipart::read(mp, crate::MAX_DOCUMENT_BODY).await {
        Ok(f) => f,
        Err(e) => {
            let (vi, en) = e.texts();
            return Err(refuse(lang, e.status(), &vi, &en));
        }
    };
    form.take_file("uploadfile").ok_or_else(|| {
        refuse(
            lang,
            StatusCode::BAD_REQUEST,
            "Thiếu tệp đã ký (trường uploadfile).",
            "The signed file (field uploadfile) is missing.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "7".into(),
            doc: 12,
            seq: 3,
            act: "sign_personal".into(),
            att: None,
            cag: None,
            inc: None,
            jti: "0123456789abcdef0123456789abcdef".into(),
            iat: 1000,
            exp,
        }
    }

    #[test]
    fn tickets_are_hs256_of_this_key_and_expire() {
        let key = TicketKey::random();
        let token = key.sign(&claims(2000)).unwrap();
        assert_eq!(key.verify(&token, 1500), Ok(claims(2000)));
        assert_eq!(key.verify(&token, 2000), Err(TokenError::Expired));
        // Another key, a changed payload, a changed signature, no signature, "none".
        assert_eq!(
            TicketKey::random().verify(&token, 1500),
            Err(TokenError::BadSignature)
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let mut other = claims(2000);
        other.doc = 13;
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(serde_json::to_vec(&other).unwrap()),
            parts[2]
        );
        assert_eq!(key.verify(&forged, 1500), Err(TokenError::BadSignature));
        let mut sig = b64.decode(parts[2]).unwrap();
        sig[0] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64.encode(&sig));
        assert_eq!(key.verify(&flipped, 1500), Err(TokenError::BadSignature));
        assert_eq!(
            key.verify(&format!("{}.{}.", parts[0], parts[1]), 1500),
            Err(TokenError::BadSignature)
        );
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(key.verify(&none, 1500), Err(TokenError::Malformed));
        assert_eq!(key.verify("a.b", 1500), Err(TokenError::Malformed));
        assert_eq!(
            key.verify(&"a".repeat(MAX_TOKEN + 1), 1500),
            Err(TokenError::Malformed)
        );
        // The standard JWT layout: a header any JWT library reads.
        assert_eq!(
            b64.decode(parts[0]).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let made = TicketKey::load_or_create(&path).unwrap();
        let token = made.sign(&claims(2000)).unwrap();
        let again = TicketKey::load_or_create(&path).unwrap();
        assert!(again.verify(&token, 1500).is_ok());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(TicketKey::load_or_create(&path).is_err());
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(safe_pdf_name("Quyết định 12.pdf"), "Quytnh12.pdf");
        assert_eq!(safe_pdf_name("../../etc/passwd"), "van-ban.pdf");
        assert_eq!(safe_pdf_name("du-thao.pdf"), "du-thao.pdf");
    }
}
