//! Carrying out one VGCA operation: download the document (with the page's credentials),
//! confirm with the user, sign in the operation's Decree 30 form, upload; VerifyPDF.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::http::header;
use base64::Engine as _;
use kyso_i18n::{catalogue, ue, Lang, UserError};
use kyso_pades::forms::{CopyForm, Position, VisibleForm};
use kyso_pades::numbering::{self, FlowSignature};
use kyso_pades::{SignOptions, Updated};
use kyso_pdf::{MemSource, Source};
use kyso_x509::Cert;
use serde_json::{json, Value};

use super::protocol::{
    file_label, parse_operation, status, Operation, RequestError, SignJob, SignOp, VgcaRequest,
    STATUS_CANCELLED, STATUS_ERROR, STATUS_OK,
};
use super::{loggable_url, Agent, MAX_DOCUMENT, MAX_UPLOAD_REPLY};

/// Handle one operation (on the blocking pool: it downloads, waits for the user, signs).
pub(super) fn operation(agent: &Agent, op: &str, origin: &str, request: &str) -> Value {
    let result = match parse_operation(op, request) {
        Err(RequestError::NotJson) => {
            agent.log(&format!("refused {op} from {origin}: not a JSON request"));
            return status(
                STATUS_ERROR,
                agent.msg(
                    "Yêu cầu không phải JSON hợp lệ",
                    "The request is not valid JSON",
                ),
            );
        }
        Err(e) => Err(e.user_error()),
        Ok(Operation::GetVersion) => Ok(json!({
            "Status": STATUS_OK,
            "Message": format!("kyso {}", env!("CARGO_PKG_VERSION")),
            "Version": env!("CARGO_PKG_VERSION"),
        })),
        Ok(Operation::GetCertInfo) => Ok(json!({
            "Status": STATUS_OK,
            "Message": agent.msg("Thông tin chứng thư số", "Certificate information"),
            "CertInfo": cert_json(&agent.cert, &agent.chain),
        })),
        Ok(Operation::Verify { file_url, request }) => verify_pdf(agent, &file_url, &request),
        Ok(Operation::Sign(job)) => sign_pdf(agent, &job, origin),
    };
    match result {
        Ok(v) => {
            agent.log(&format!(
                "{op} from {origin}: status {}",
                v.get("Status").and_then(Value::as_i64).unwrap_or(-1)
            ));
            v
        }
        Err(e) => {
            agent.log(&format!("{op} from {origin}: error: {}", e.en));
            status(STATUS_ERROR, e.message(agent.lang))
        }
    }
}

fn cert_json(cert: &Cert, chain: &[Cert]) -> Value {
    let b64 = |c: &Cert| base64::engine::general_purpose::STANDARD.encode(c.der());
    json!({
        "Subject": cert.subject_display(),
        "Issuer": cert.issuer_display(),
        "CommonName": cert.common_name(),
        "SerialNumber": cert.serial_hex(),
        "NotBefore": kyso_pades::validate::display_time(cert.not_before()),
        "NotAfter": kyso_pades::validate::display_time(cert.not_after()),
        "Base64": b64(cert),
        "Chain": chain.iter().map(b64).collect::<Vec<_>>(),
    })
}

/// Download the document named by the request into memory (at most [`MAX_DOCUMENT`] bytes).
fn download(agent: &Agent, url: &str, req: &VgcaRequest) -> Result<Arc<MemSource>, UserError> {
    let call = with_page_credentials(agent.http.get(url), req);
    let shown = loggable_url(url);
    let mut resp = call.call().map_err(
        |e| ue!("không tải được tệp {}: {}", shown, e; "cannot download {}: {}", shown, e),
    )?;
    if !resp.status().is_success() {
        let code = resp.status().as_u16();
        return Err(
            ue!("máy chủ văn bản trả lỗi HTTP {} khi tải {}", code, shown; "the document server answered HTTP {} for {}", code, shown),
        );
    }
    let mut bytes = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(
            |e| ue!("không tải được tệp {}: {}", shown, e; "cannot download {}: {}", shown, e),
        )?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(
            ue!("tệp {} quá lớn (tối đa {} MB)", shown, MAX_DOCUMENT >> 20; "{} is too large (at most {} MB)", shown, MAX_DOCUMENT >> 20),
        );
    }
    Ok(Arc::new(MemSource::new(bytes)))
}

/// The page's credentials on a call to its document server: `JWTToken` as a bearer token,
/// `SessionId` as a cookie.
fn with_page_credentials<B>(
    mut call: ureq::RequestBuilder<B>,
    req: &VgcaRequest,
) -> ureq::RequestBuilder<B> {
    if let Some(t) = req.jwt_token.as_deref().filter(|t| !t.is_empty()) {
        call = call.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(s) = req.session_id.as_deref().filter(|s| !s.is_empty()) {
        call = call.header(header::COOKIE, format!("SessionId={s}"));
    }
    call
}

/// The form and reason for one signing operation (its fields were checked by
/// [`super::protocol::parse_operation`]).
fn sign_setup(agent: &Agent, job: &SignJob) -> (Option<VisibleForm>, Option<String>) {
    let req = &job.request;
    let meta = || {
        req.meta_data
            .iter()
            .flatten()
            .map(|m| match &m.value {
                Value::String(s) => format!("{}: {}", m.key, s),
                v => format!("{}: {}", m.key, v),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let number = job.doc_number.clone().unwrap_or_default();
    // A line of a stamp as the request gives it: at most 200 characters, no control characters.
    let line = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| {
                !v.is_empty() && v.chars().count() <= 200 && !v.chars().any(char::is_control)
            })
            .map(str::to_owned)
    };
    let meta_text = |key: &str| {
        line(
            req.meta_data
                .iter()
                .flatten()
                .find(|m| m.key == key)
                .and_then(|m| m.value.as_str()),
        )
    };
    match job.op {
        SignOp::Approved => match (&agent.signature_image, &agent.anchor) {
            (Some(image), Some(anchor)) => (
                Some(VisibleForm::Personal {
                    image: image.clone(),
                    position: Position::Anchor {
                        page: None,
                        text: anchor.clone(),
                    },
                }),
                None,
            ),
            _ => (None, None),
        },
        SignOp::Issued => {
            let reason = job.issued.map(|date| {
                format!(
                    "Phát hành văn bản số {} ngày {:02}/{:02}/{}",
                    number,
                    date.day(),
                    u8::from(date.month()),
                    date.year()
                )
            });
            let form = agent
                .seal_image
                .as_ref()
                .map(|seal| VisibleForm::Organization {
                    seal: seal.clone(),
                    diameter_mm: None,
                    page: None,
                    position: None,
                });
            (form, reason)
        }
        SignOp::Appendix => (Some(VisibleForm::Attachment { doc_number: number }), None),
        // SignCopy: the copy form from the metadata (`CopyForm`: sao_y, sao_luc, trich_sao or
        // the words themselves; SAO Y when absent), the copy's number from DocNumber and the
        // place of its date line from `Place` (a document system that sends neither gets the
        // stamp without those lines).
        SignOp::Copy => (
            Some(VisibleForm::Copy {
                form: copy_form(meta_text("CopyForm").as_deref()),
                org_name: agent
                    .cert
                    .subject_attr(kyso_x509::oid::O)
                    .or_else(|| agent.cert.common_name())
                    .unwrap_or_default(),
                number: line(job.doc_number.as_deref()),
                place: meta_text("Place"),
            }),
            None,
        ),
        SignOp::Income => (
            None,
            Some(format!("Công văn đến {}", meta()).trim().to_owned()),
        ),
        SignOp::Pdf => (None, None),
    }
}

/// The copy form a `CopyForm` metadata value names (SAO Y when none or unknown).
fn copy_form(value: Option<&str>) -> CopyForm {
    match value.map(|v| v.trim().to_lowercase()).as_deref() {
        Some("sao_luc" | "sao lục") => CopyForm::Transcribed,
        Some("trich_sao" | "trích sao") => CopyForm::Excerpt,
        _ => CopyForm::Certified,
    }
}

/// The step of the Decree 30 flow `job` signs on the downloaded document `doc`, when `doc`
/// carries kyso's number and date fields ([`numbering::NUMBER_FIELD`],
/// [`numbering::DATE_FIELD`], placed at the format step): SignApproved is the personal
/// signature, which leaves them fillable; SignIssued fills them with the number and date and
/// seals ([`numbering::prepare`], the one preparation of every face that signs a flow step).
/// `None`: no such fields, or another operation — signed as before. An issuing signature that
/// would leave a numbered document without its number or date is refused.
fn numbering_plan(
    job: &SignJob,
    doc: &kyso_pdf::Document,
) -> Result<Option<FlowSignature>, UserError> {
    if !matches!(job.op, SignOp::Approved | SignOp::Issued) {
        return Ok(None);
    }
    let fields = numbering::issued(doc).map_err(|e| catalogue::pades(&e))?;
    let Some(fields) = fields else {
        return Ok(None);
    };
    if job.op == SignOp::Approved {
        return Ok(Some(FlowSignature::Personal));
    }
    if fields.number.is_some() || fields.date_text.is_some() {
        let shown = fields.number.unwrap_or_default();
        return Err(
            ue!("văn bản đã được điền số, ngày ({}): không ký phát hành lại", shown; "the document's number and date are filled already ({}): not issuing it again", shown),
        );
    }
    let number = job
        .doc_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ue!("văn bản có ô số và ngày nhưng yêu cầu thiếu DocNumber (số, ký hiệu): không ký văn bản phát hành chưa có số"; "the document has number and date fields but the request has no DocNumber: an issued document is not signed without its number")
        })?;
    if number.chars().count() > numbering::MAX_NUMBER_CHARS || number.chars().any(char::is_control)
    {
        return Err(
            ue!("DocNumber không hợp lệ (1 đến {} ký tự, không có ký tự điều khiển)", numbering::MAX_NUMBER_CHARS; "DocNumber is not valid (1 to {} characters without control characters)", numbering::MAX_NUMBER_CHARS),
        );
    }
    // The date in the offset the page gave (VGCA sends ISO 8601 with the local offset,
    // `2026-03-12T12:00:00+07:00`): the day the document is issued where it is issued.
    let date = job.issued.map(|d| d.date()).ok_or_else(|| {
        ue!("văn bản có ô số và ngày nhưng yêu cầu thiếu IssuedDate (ngày ban hành): không ký văn bản phát hành chưa có ngày"; "the document has number and date fields but the request has no IssuedDate: an issued document is not signed without its date")
    })?;
    Ok(Some(FlowSignature::Seal {
        number: number.to_owned(),
        date,
    }))
}

fn sign_pdf(agent: &Agent, job: &SignJob, origin: &str) -> Result<Value, UserError> {
    let op = job.op;
    let req = &job.request;
    let upload_to = job.upload_to.as_str();
    let (form, reason) = sign_setup(agent, job);
    let input = download(agent, &job.file_url, req)?;
    let unreadable = |e: &dyn std::fmt::Display| ue!("tệp tải về không phải PDF đọc được: {}", e; "the downloaded file is not a readable PDF: {}", e);
    let doc = kyso_pdf::Document::open(input.clone(), kyso_pdf::Limits::default())
        .map_err(|e| unreadable(&e))?;
    let pages = doc.pages().map(|p| p.len()).map_err(|e| unreadable(&e))?;
    let plan = numbering_plan(job, &doc)?;
    drop(doc);
    let now = (agent.now)();
    let mut opts = SignOptions::new(now);
    opts.reason = reason;
    opts.timestamper = agent.level.tsa.clone();
    // The fill, in memory before the user is asked: a document that cannot take the number
    // costs no PIN entry. The signature goes on in the same chain of updates.
    let base = Updated::from_source(input.clone());
    let (base, opts) = match &plan {
        Some(step) => numbering::prepare(&base, step, opts, kyso_pdf::Limits::default())
            .map_err(|e| catalogue::pades(&e))?,
        None => (base, opts),
    };
    let size = input.len();
    let name = file_label(req.file_name.as_deref().unwrap_or(""));
    let number = match &plan {
        Some(FlowSignature::Seal { number, date }) => {
            format!(", số {number}, {}", numbering::date_text(*date))
        }
        _ => req
            .doc_number
            .as_deref()
            .map(|n| format!(", số {n}"))
            .unwrap_or_default(),
    };
    let request_text = match agent.lang {
        Lang::Vi => format!(
            "Yêu cầu ký từ {origin}: {} — tệp {name} ({pages} trang, {} KB){number}",
            op.label(agent.lang),
            size.div_ceil(1024)
        ),
        Lang::En => format!(
            "Signing request from {origin}: {} — file {name} ({pages} pages, {} KB){number}",
            op.label(agent.lang),
            size.div_ceil(1024)
        ),
    };
    let Some(opened) = agent.confirm_and_open(&request_text, now)? else {
        agent.log(&format!("{op:?} from {origin}: cancelled by the user"));
        return Ok(status(
            STATUS_CANCELLED,
            agent.msg("Người dùng đã từ chối ký", "The user refused to sign"),
        ));
    };
    let widget = form
        .map(|f| kyso_pades::forms::widget_builder(f, now))
        .transpose()
        .map_err(|e| catalogue::pades(&e))?;
    let level = agent.level.level;
    // The whole level in memory: signature (with its timestamp from B-T), then the DSS and the
    // document timestamp; nothing is uploaded unless every step succeeded.
    let signed = kyso_pades::ltv::sign_updated_at_level(
        base,
        level,
        &opts,
        opened.signer.as_ref(),
        widget,
        agent.level.fetcher.as_deref(),
        now,
    )
    .map_err(|e| catalogue::pades(&e))?;
    drop(opened);
    agent.log(&format!("{op:?} from {origin}: signed at {level}"));
    let answer = upload(agent, req, upload_to, &name, &signed)?;
    let ok = match answer.get("Status") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        _ => false,
    };
    if !ok {
        let msg = answer
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect::<String>();
        return Err(
            ue!("máy chủ văn bản không nhận tệp đã ký: {}", msg; "the document server refused the signed file: {}", msg),
        );
    }
    let (doc_number, doc_date) = match op {
        SignOp::Issued | SignOp::Appendix | SignOp::Copy => (
            job.doc_number.clone().unwrap_or_default(),
            req.issued_date.clone().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    };
    Ok(json!({
        "Status": STATUS_OK,
        "Message": agent.msg("Đã ký và gửi tệp", "Signed and uploaded"),
        "FileName": answer.get("FileName").cloned().unwrap_or(Value::Null),
        "FileServer": answer.get("FileServer").cloned().unwrap_or(Value::Null),
        "DocumentNumber": doc_number,
        "DocumentDate": doc_date,
    }))
}

/// POST the signed file as the multipart field `uploadfile` (written straight into the
/// request body); the handler's JSON answer.
fn upload(
    agent: &Agent,
    req: &VgcaRequest,
    url: &str,
    name: &str,
    pdf: &Updated,
) -> Result<Value, UserError> {
    let boundary = format!("kyso-{:032x}", rand_u128());
    let mut body = Vec::with_capacity(usize::try_from(pdf.len()).unwrap_or(0) + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    pdf.write_to(&mut body).map_err(|e| catalogue::pades(&e))?;
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let call = with_page_credentials(agent.http.post(url), req).header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    );
    let shown = loggable_url(url);
    let mut resp = call.send(&body[..]).map_err(|e| {
        ue!("không gửi được tệp đã ký tới {}: {}", shown, e; "cannot upload the signed file to {}: {}", shown, e)
    })?;
    let code = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_UPLOAD_REPLY)
        .read_to_string(&mut text)
        .map_err(|e| ue!("không đọc được trả lời của {}: {}", shown, e; "cannot read the answer of {}: {}", shown, e))?;
    if !(200..300).contains(&code) {
        return Err(
            ue!("máy chủ văn bản trả lỗi HTTP {} khi nhận tệp đã ký", code; "the document server answered HTTP {} to the upload", code),
        );
    }
    serde_json::from_str(&text).map_err(|_| ue!("trả lời của máy chủ văn bản không phải JSON"; "the document server's answer is not JSON"))
}

/// A random 128-bit number (multipart boundaries).
fn rand_u128() -> u128 {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return u128::from(std::process::id()) << 64 | Instant::now().elapsed().as_nanos();
    }
    u128::from_be_bytes(b)
}

fn verify_pdf(agent: &Agent, file_url: &str, req: &VgcaRequest) -> Result<Value, UserError> {
    let input = download(agent, file_url, req)?;
    let trust = (agent.trust)()?;
    let mut opts = kyso_pades::validate::ValidateOptions::new(trust, (agent.now)());
    opts.fetcher = Some(agent.level.fetcher.clone().unwrap_or_else(|| {
        Arc::new(kyso_ltv::fetch::Fetcher::new(
            kyso_ltv::fetch::FetchOptions::default(),
        ))
    }));
    let name = file_label(req.file_name.as_deref().unwrap_or(""));
    // A verification error said as one (not a signing failure), without library English.
    let report = kyso_pades::validate::validate(input, &opts)
        .map_err(|e| catalogue::verify(std::path::Path::new(&name), &e))?;
    let text = crate::report::to_text(&report, &name, agent.lang);
    Ok(json!({
        "Status": STATUS_OK,
        "Message": text,
        "Result": crate::report::to_json(&report, &name),
    }))
}

#[cfg(test)]
#[path = "numbered_tests.rs"]
mod numbered_tests;
