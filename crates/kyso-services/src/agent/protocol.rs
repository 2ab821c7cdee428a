//! The VGCA Sign Service protocol's requests: one JSON object per WebSocket, named by the
//! operation in the URL path. [`parse_operation`] parses a frame and makes every check that
//! needs neither the key, nor the user, nor the network — the function the socket handler
//! calls, and the fuzz target `agent_messages`.

use kyso_i18n::{ue, Lang, UserError};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::loggable_url;

/// Reply status codes of the VGCA Sign Service protocol.
pub const STATUS_OK: i64 = 0;
pub const STATUS_ERROR: i64 = 1;
pub const STATUS_CANCELLED: i64 = 11;

/// A reply with a status and a message.
pub fn status(code: i64, message: &str) -> Value {
    json!({ "Status": code, "Message": message })
}

/// One request of the VGCA protocol, its fields as the document systems send them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VgcaRequest {
    pub file_name: Option<String>,
    pub file_upload_handler: Option<String>,
    pub session_id: Option<String>,
    #[serde(rename = "JWTToken")]
    pub jwt_token: Option<String>,
    pub doc_number: Option<String>,
    pub issued_date: Option<String>,
    pub meta_data: Option<Vec<MetaItem>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetaItem {
    pub key: String,
    pub value: Value,
}

/// The signing operations and the Decree 30 form each one applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOp {
    /// "Ký phê duyệt": the authority's personal signature.
    Approved,
    /// "Đóng dấu phát hành": the organization's signature at issuance, with number and date.
    Issued,
    /// "Ký phụ lục": an appendix of a numbered document.
    Appendix,
    /// "Ký bản sao điện tử": an electronic copy.
    Copy,
    /// "Ký công văn đến": an incoming paper document digitised by the clerk.
    Income,
    /// A plain (invisible) signature.
    Pdf,
}

impl SignOp {
    pub fn from_name(op: &str) -> Option<Self> {
        Some(match op {
            "SignApproved" => SignOp::Approved,
            "SignIssued" => SignOp::Issued,
            "SignAppendix" => SignOp::Appendix,
            "SignCopy" => SignOp::Copy,
            "SignIncome" => SignOp::Income,
            "SignPDF" => SignOp::Pdf,
            _ => return None,
        })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            SignOp::Approved => lang.pick("Ký phê duyệt", "Approval signature"),
            SignOp::Issued => lang.pick("Đóng dấu phát hành", "Issuing (organization) signature"),
            SignOp::Appendix => lang.pick("Ký phụ lục", "Appendix signature"),
            SignOp::Copy => lang.pick("Ký bản sao điện tử", "Electronic copy signature"),
            SignOp::Income => lang.pick("Ký công văn đến", "Incoming document signature"),
            SignOp::Pdf => lang.pick("Ký tệp PDF", "PDF signature"),
        }
    }
}

/// Why a request is refused before anything is done for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request is not valid JSON")]
    NotJson,
    #[error("operation {0} is not supported")]
    Unsupported(String),
    #[error("the request has no FileUploadHandler")]
    NoUploadHandler,
    #[error("the request has no FileName")]
    NoFileName,
    /// The URL as it may be logged (without its query).
    #[error("not an http(s) URL: {0}")]
    NotHttp(String),
    #[error("DocNumber is missing")]
    NoDocNumber,
    #[error("IssuedDate is missing")]
    NoIssuedDate,
    #[error("IssuedDate is not ISO 8601: {0}")]
    BadIssuedDate(String),
}

impl RequestError {
    /// The message for the page's user, in the agent's language.
    pub fn user_error(&self) -> UserError {
        match self {
            RequestError::NotJson => UserError::new(
                "Yêu cầu không phải JSON hợp lệ",
                "The request is not valid JSON",
            ),
            RequestError::Unsupported(op) => {
                ue!("thao tác {} không được hỗ trợ", op; "operation {} is not supported", op)
            }
            RequestError::NoUploadHandler => {
                ue!("yêu cầu thiếu FileUploadHandler (nơi gửi tệp đã ký)"; "the request has no FileUploadHandler (where to send the signed file)")
            }
            RequestError::NoFileName => {
                ue!("yêu cầu thiếu FileName (địa chỉ tệp cần ký)"; "the request has no FileName (the document's URL)")
            }
            RequestError::NotHttp(url) => {
                ue!("địa chỉ không hợp lệ (cần http:// hoặc https://): {}", url; "not an http(s) URL: {}", url)
            }
            RequestError::NoDocNumber => {
                ue!("thiếu DocNumber (số, ký hiệu văn bản)"; "DocNumber (the document's number) is missing")
            }
            RequestError::NoIssuedDate => {
                ue!("thiếu IssuedDate (ngày ban hành)"; "IssuedDate is missing")
            }
            RequestError::BadIssuedDate(date) => {
                ue!("IssuedDate không đúng định dạng ISO 8601 (ví dụ 2026-03-12T12:00:00+07:00): {}", date; "IssuedDate is not ISO 8601 (e.g. 2026-03-12T12:00:00+07:00): {}", date)
            }
        }
    }
}

/// A signing request that passed its checks.
#[derive(Debug)]
pub struct SignJob {
    pub op: SignOp,
    /// Where the signed file goes (`FileUploadHandler`).
    pub upload_to: String,
    /// Where the document is (`FileName`).
    pub file_url: String,
    /// The document's number, for the operations that need one.
    pub doc_number: Option<String>,
    /// The issuing date (SignIssued).
    pub issued: Option<OffsetDateTime>,
    pub request: VgcaRequest,
}

/// What a frame asks for.
#[derive(Debug)]
pub enum Operation {
    GetVersion,
    GetCertInfo,
    /// VerifyPDF of the document at the URL.
    Verify {
        file_url: String,
        request: VgcaRequest,
    },
    Sign(SignJob),
}

/// Parse the frame `text` sent to the operation `op` (the URL path) and check it: the JSON,
/// the operation, the URLs it names (http or https) and the fields its form needs, in the
/// order the operation uses them.
pub fn parse_operation(op: &str, text: &str) -> Result<Operation, RequestError> {
    let request: VgcaRequest = serde_json::from_str(text).map_err(|_| RequestError::NotJson)?;
    match op {
        "GetVersion" => Ok(Operation::GetVersion),
        "GetCertInfo" => Ok(Operation::GetCertInfo),
        "VerifyPDF" => Ok(Operation::Verify {
            file_url: file_url(&request)?,
            request,
        }),
        other => match SignOp::from_name(other) {
            Some(sign_op) => sign_job(sign_op, request).map(Operation::Sign),
            None => Err(RequestError::Unsupported(other.to_owned())),
        },
    }
}

fn sign_job(op: SignOp, request: VgcaRequest) -> Result<SignJob, RequestError> {
    let upload_to = request
        .file_upload_handler
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or(RequestError::NoUploadHandler)?;
    check_url(&upload_to)?;
    let need_number = || {
        request
            .doc_number
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or(RequestError::NoDocNumber)
    };
    let (doc_number, issued) = match op {
        SignOp::Issued => {
            let number = need_number()?;
            let date = request
                .issued_date
                .as_deref()
                .ok_or(RequestError::NoIssuedDate)?;
            let date = OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
                .map_err(|_| RequestError::BadIssuedDate(date.to_owned()))?;
            (Some(number), Some(date))
        }
        SignOp::Appendix => (Some(need_number()?), None),
        // A copy's number when the document system gives one (its stamp shows it).
        SignOp::Copy => (need_number().ok(), None),
        _ => (None, None),
    };
    let file_url = file_url(&request)?;
    Ok(SignJob {
        op,
        upload_to,
        file_url,
        doc_number,
        issued,
        request,
    })
}

/// The document's URL (`FileName`), checked.
fn file_url(request: &VgcaRequest) -> Result<String, RequestError> {
    let url = request
        .file_name
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or(RequestError::NoFileName)?;
    check_url(&url)?;
    Ok(url)
}

fn check_url(url: &str) -> Result<(), RequestError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(RequestError::NotHttp(loggable_url(url).to_owned()))
    }
}

/// The last path segment of a URL, for prompts and the uploaded file's name.
pub fn file_label(url: &str) -> String {
    let path = loggable_url(url);
    let last = path.rsplit('/').next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    if clean.is_empty() {
        "document.pdf".to_owned()
    } else if clean.to_ascii_lowercase().ends_with(".pdf") {
        clean
    } else {
        format!("{clean}.pdf")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_in_the_operations_order_without_a_key_or_a_user() {
        assert_eq!(
            parse_operation("SignIssued", "not json").unwrap_err(),
            RequestError::NotJson
        );
        assert_eq!(
            parse_operation("Format", "{}").unwrap_err(),
            RequestError::Unsupported("Format".into())
        );
        assert!(matches!(
            parse_operation("GetVersion", "{}"),
            Ok(Operation::GetVersion)
        ));
        assert_eq!(
            parse_operation("SignPDF", r#"{"FileName":"http://h/a.pdf"}"#).unwrap_err(),
            RequestError::NoUploadHandler
        );
        assert_eq!(
            parse_operation(
                "SignPDF",
                r#"{"FileName":"http://h/a.pdf","FileUploadHandler":"ftp://h/u?t=1"}"#
            )
            .unwrap_err(),
            RequestError::NotHttp("ftp://h/u".into())
        );
        let issued = r#"{"FileName":"http://h/a.pdf","FileUploadHandler":"http://h/u","DocNumber":"12/UBND"}"#;
        assert_eq!(
            parse_operation("SignIssued", issued).unwrap_err(),
            RequestError::NoIssuedDate
        );
        let bad_date = r#"{"FileName":"http://h/a.pdf","FileUploadHandler":"http://h/u","DocNumber":"12","IssuedDate":"12/03/2026"}"#;
        assert_eq!(
            parse_operation("SignIssued", bad_date).unwrap_err(),
            RequestError::BadIssuedDate("12/03/2026".into())
        );
        assert_eq!(
            parse_operation(
                "SignAppendix",
                r#"{"FileUploadHandler":"http://h/u","DocNumber":" "}"#
            )
            .unwrap_err(),
            RequestError::NoDocNumber
        );
        let good = r#"{"FileName":"https://h/a.pdf","FileUploadHandler":"http://h/u","DocNumber":"12","IssuedDate":"2026-03-12T12:00:00+07:00"}"#;
        match parse_operation("SignIssued", good) {
            Ok(Operation::Sign(job)) => {
                assert_eq!(job.op, SignOp::Issued);
                assert_eq!(job.doc_number.as_deref(), Some("12"));
                assert_eq!(job.issued.map(|d| d.day()), Some(12));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_operation("VerifyPDF", "{}").unwrap_err(),
            RequestError::NoFileName
        );
        assert!(RequestError::NoFileName
            .user_error()
            .vi
            .contains("FileName"));
    }
}
