//! The one reader of `multipart/form-data` bodies (the UI's forms and the signing service's
//! upload): the whole form read into memory within an explicit byte limit, a bounded number
//! of fields, each with its name, its file name when it is a file, and its bytes.
//!
//! The limit given to [`read`] must be the route's body limit: [`crate::MAX_UPLOAD`] for
//! ordinary forms (the router's `DefaultBodyLimit`), [`crate::MAX_DOCUMENT_BODY`] for the
//! routes that take a signed document (they carry that `DefaultBodyLimit` themselves), so the
//! refusal names the limit that applied, whichever of the two counted first.

use axum::extract::Multipart;
use axum::http::StatusCode;

use crate::Lang;

/// Most fields a form may have (the largest, a request with its certificates, has a few
/// dozen).
const MAX_FIELDS: usize = 1000;

/// One field of a form.
#[derive(Debug)]
pub(crate) struct Field {
    pub name: String,
    /// The file name sent with a file field (empty for a text field or a nameless file).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A form as read, its fields in the order sent.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub fields: Vec<Field>,
}

impl Form {
    /// The text of the first field `name`, trimmed (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| String::from_utf8_lossy(&f.bytes).trim().to_owned())
            .unwrap_or_default()
    }

    /// The CSRF token sent in the form (field `csrf`).
    pub fn csrf(&self) -> String {
        self.text("csrf")
    }

    /// The first non-empty file of field `name`: its bytes and file name.
    pub fn file(&self, name: &str) -> Option<(&[u8], &str)> {
        self.fields
            .iter()
            .find(|f| f.name == name && !f.bytes.is_empty())
            .map(|f| (f.bytes.as_slice(), f.file_name.as_str()))
    }

    /// Take the first non-empty file of field `name` out of the form: its bytes and file name.
    pub fn take_file(&mut self, name: &str) -> Option<(Vec<u8>, String)> {
        let i = self
            .fields
            .iter()
            .position(|f| f.name == name && !f.bytes.is_empty())?;
        let f = self.fields.swap_remove(i);
        Some((f.bytes, f.file_name))
    }

    /// The bytes of the first field `name` (empty or not).
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.bytes.as_slice())
    }
}

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    /// Not multipart/form-data, malformed, or too many fields.
    Unreadable,
    /// More than `max` bytes.
    TooLarge { max: usize },
}

impl FormError {
    pub fn status(self) -> StatusCode {
        match self {
            FormError::Unreadable => StatusCode::BAD_REQUEST,
            FormError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// The message in Vietnamese and English.
    pub fn texts(self) -> (String, String) {
        match self {
            FormError::Unreadable => (
                "Biểu mẫu gửi lên không đọc được (cần multipart/form-data).".to_owned(),
                "The form could not be read (multipart/form-data expected).".to_owned(),
            ),
            FormError::TooLarge { max } => (
                format!("Tệp tải lên quá lớn (tối đa {} MB).", max >> 20),
                format!("The upload is too large (at most {} MB).", max >> 20),
            ),
        }
    }

    /// The message in `lang`.
    pub fn message(self, lang: Lang) -> String {
        let (vi, en) = self.texts();
        if lang == Lang::En {
            en
        } else {
            vi
        }
    }
}

/// Read the whole form: at most `max` bytes of field data and [`MAX_FIELDS`] fields.
pub(crate) async fn read(mut mp: Multipart, max: usize) -> Result<Form, FormError> {
    let mut form = Form::default();
    let mut total = 0usize;
    let too_large = FormError::TooLarge { max };
    let classify = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large
        } else {
            FormError::Unreadable
        }
    };
    while let Some(mut f) = mp.next_field().await.map_err(classify)? {
        if form.fields.len() == MAX_FIELDS {
            return Err(FormError::Unreadable);
        }
        let name = f.name().unwrap_or("").to_owned();
        let file_name = f.file_name().unwrap_or("").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = f.chunk().await.map_err(classify)? {
            total = total.saturating_add(chunk.len());
            if total > max {
                return Err(too_large);
            }
            bytes.extend_from_slice(&chunk);
        }
        form.fields.push(Field {
            name,
            file_name,
            bytes,
        });
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequest;

    fn request(body: String) -> axum::extract::Request {
        axum::http::Request::builder()
            .method("POST")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(axum::body::Body::from(body))
            .unwrap()
    }

    fn body(parts: &[(&str, Option<&str>, &str)]) -> String {
        let mut s = String::new();
        for (name, file, value) in parts {
            s.push_str("--XyZ\r\n");
            match file {
                Some(f) => s.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/pdf\r\n\r\n"
                )),
                None => s.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            s.push_str(value);
            s.push_str("\r\n");
        }
        s.push_str("--XyZ--\r\n");
        s
    }

    async fn parse(body: String, max: usize) -> Result<Form, FormError> {
        let mp = Multipart::from_request(request(body), &()).await.unwrap();
        read(mp, max).await
    }

    #[tokio::test]
    async fn fields_files_and_limits() {
        let b = body(&[
            ("csrf", None, " tok "),
            ("file", Some("a.pdf"), "%PDF-1.7 x"),
            ("empty", Some("b.pdf"), ""),
        ]);
        let form = parse(b.clone(), 1024).await.unwrap();
        assert_eq!(form.csrf(), "tok");
        assert_eq!(form.file("file"), Some((&b"%PDF-1.7 x"[..], "a.pdf")));
        assert_eq!(form.file("empty"), None);
        assert_eq!(form.bytes("empty"), Some(&b""[..]));
        assert_eq!(form.text("missing"), "");
        let mut form = form;
        assert_eq!(
            form.take_file("file"),
            Some((b"%PDF-1.7 x".to_vec(), "a.pdf".into()))
        );
        assert_eq!(form.take_file("file"), None);
        // 5 + 10 bytes of field data: 15 fit, 14 do not.
        assert!(parse(b.clone(), 15).await.is_ok());
        let e = parse(b, 14).await.unwrap_err();
        assert_eq!(e, FormError::TooLarge { max: 14 });
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let e = FormError::TooLarge { max: 64 << 20 };
        assert!(
            e.message(Lang::Vi).contains("tối đa 64 MB"),
            "{}",
            e.message(Lang::Vi)
        );
        assert!(e.message(Lang::En).contains("at most 64 MB"));
    }

    #[tokio::test]
    async fn malformed_and_too_many_fields() {
        let e = parse("--XyZ\r\nnonsense".into(), 1024).await.unwrap_err();
        assert_eq!(e, FormError::Unreadable);
        let many: Vec<(&str, Option<&str>, &str)> = vec![("x", None, "1"); MAX_FIELDS + 1];
        let e = parse(body(&many), 1 << 20).await.unwrap_err();
        assert_eq!(e, FormError::Unreadable);
    }
}
