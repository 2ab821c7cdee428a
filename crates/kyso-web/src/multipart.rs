//! The one reader of `multipart/form-data` bodies (the UI's forms and the signing service's
//! upload): the whole form read into memory within an explicit byte limit, a bounded number
//! of fields, each with its name, its file name when it is a file, and its bytes — or, with
//! [`read_streaming`], the one file field that may be large streamed to a temporary file of
//! the blob folder ([`BlobSink`]: hashed as it comes, the cap enforced while it streams,
//! removed when dropped), the other fields in memory.
//!
//! The limit given to [`read`] must be the route's body limit: [`crate::MAX_UPLOAD`] for
//! ordinary forms (the router's `DefaultBodyLimit`), [`crate::MAX_DOCUMENT_BODY`] for the
//! routes that take a signed document (they carry that `DefaultBodyLimit` themselves), so the
//! refusal names the limit that applied, whichever of the two counted first.

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::http::StatusCode;
use kyso_store::blobs::{BlobError, Blobs, StagedBlob};

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
    /// The upload could not be written to the server's disk (logged).
    Storage,
}

impl FormError {
    pub fn status(self) -> StatusCode {
        match self {
            FormError::Unreadable => StatusCode::BAD_REQUEST,
            FormError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            FormError::Storage => StatusCode::INTERNAL_SERVER_ERROR,
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
            FormError::Storage => (
                "Lỗi máy chủ khi nhận tệp tải lên; xin gửi lại sau.".to_owned(),
                "A server error while receiving the upload; send it again later.".to_owned(),
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
pub(crate) async fn read(mp: Multipart, max: usize) -> Result<Form, FormError> {
    read_fields(mp, max, None).await.map(|(form, _)| form)
}

/// A form whose first non-empty file in field `file` is streamed into a temporary file of
/// `blobs` (at most `file_max` bytes, refused while it streams past that), the other fields
/// read into memory; at most `max` bytes of field data in all and [`MAX_FIELDS`] fields.
/// Refused or dropped, the temporary file is removed.
#[derive(Debug)]
pub(crate) struct StreamedForm {
    pub form: Form,
    /// The streamed file and its file name as sent.
    pub file: Option<(StagedBlob, String)>,
}

/// Read a form, streaming its file field `file` to disk (see [`StreamedForm`]).
pub(crate) async fn read_streaming(
    mp: Multipart,
    max: usize,
    file: &str,
    blobs: &Blobs,
    file_max: u64,
) -> Result<StreamedForm, FormError> {
    let (form, file) = read_fields(mp, max, Some((file, blobs, file_max))).await?;
    Ok(StreamedForm { form, file })
}

/// The reader behind [`read`] and [`read_streaming`].
async fn read_fields(
    mut mp: Multipart,
    max: usize,
    stream: Option<(&str, &Blobs, u64)>,
) -> Result<(Form, Option<(StagedBlob, String)>), FormError> {
    let mut form = Form::default();
    let mut staged = None;
    let mut fields = 0usize;
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
        if fields == MAX_FIELDS {
            return Err(FormError::Unreadable);
        }
        fields += 1;
        let name = f.name().unwrap_or("").to_owned();
        let file_name = f.file_name().unwrap_or("").to_owned();
        let mut count = |chunk: &Bytes| {
            total = total.saturating_add(chunk.len());
            if total > max {
                Err(too_large)
            } else {
                Ok(())
            }
        };
        match stream {
            Some((wanted, blobs, file_max))
                if staged.is_none() && f.file_name().is_some() && name == wanted =>
            {
                let mut sink = BlobSink::new(blobs.clone(), file_max);
                let streamed = loop {
                    match f.chunk().await.map_err(classify) {
                        Ok(Some(chunk)) => {
                            if let Err(e) = count(&chunk) {
                                break Err(e);
                            }
                            if !sink.push(chunk).await {
                                break Ok(());
                            }
                        }
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                if let Err(e) = streamed {
                    // Its file is removed before the refusal is answered.
                    drop(sink.finish().await);
                    return Err(e);
                }
                let file = sink.finish().await.map_err(|e| match e {
                    BlobError::OverCap { max } => FormError::TooLarge {
                        max: usize::try_from(max).unwrap_or(usize::MAX),
                    },
                    e => {
                        tracing::error!(error = %e, "an upload could not be written");
                        FormError::Storage
                    }
                })?;
                // An empty file is no file (as `Form::file` has it).
                if file.size() > 0 {
                    staged = Some((file, file_name));
                }
            }
            _ => {
                let mut bytes = Vec::new();
                while let Some(chunk) = f.chunk().await.map_err(classify)? {
                    count(&chunk)?;
                    bytes.extend_from_slice(&chunk);
                }
                form.fields.push(Field {
                    name,
                    file_name,
                    bytes,
                });
            }
        }
    }
    Ok((form, staged))
}

/// How many chunks of a streamed body wait for the disk at most (each at most what the
/// connection delivers at once, typically 16–64 KiB): what bounds the memory of an upload.
const CHUNKS_IN_FLIGHT: usize = 8;

/// A body arriving chunk by chunk into a new blob of the folder, never whole in memory: the
/// chunks go through a bounded channel to a [`kyso_store::blobs::BlobWriter`] on the blocking
/// threads, which hashes them and refuses them past its cap. Dropped before
/// [`BlobSink::finish`] (a refusal, the client gone), the writer stops and its temporary file
/// is removed.
#[derive(Debug)]
pub(crate) struct BlobSink {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    writer: tokio::task::JoinHandle<Result<StagedBlob, BlobError>>,
}

impl BlobSink {
    /// A sink of at most `max` bytes into a temporary file of `blobs`.
    pub(crate) fn new(blobs: Blobs, max: u64) -> BlobSink {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = blobs.writer(max)?;
            while let Some(chunk) = rx.blocking_recv() {
                w.write(&chunk)?;
            }
            w.finish()
        });
        BlobSink { tx, writer }
    }

    /// Hand `chunk` to the writer; `false` when it has stopped (over the cap, or the disk):
    /// [`BlobSink::finish`] says why.
    pub(crate) async fn push(&mut self, chunk: Bytes) -> bool {
        self.tx.send(chunk).await.is_ok()
    }

    /// The end of the body: the file flushed and staged, or why not
    /// ([`BlobError::OverCap`] past the cap).
    pub(crate) async fn finish(self) -> Result<StagedBlob, BlobError> {
        drop(self.tx);
        self.writer.await.map_err(|e| BlobError::Io {
            what: "upload".into(),
            source: std::io::Error::other(e.to_string()),
        })?
    }

    /// Stream `body` into a new sink of at most `max` bytes: the staged file, or why not —
    /// `Ok(Err(BlobError))` from the writer (over the cap, the disk), `Err` when the body
    /// itself failed (cut off; the file is removed).
    pub(crate) async fn receive(
        blobs: Blobs,
        body: axum::body::Body,
        max: u64,
    ) -> Result<Result<StagedBlob, BlobError>, axum::Error> {
        use axum::body::HttpBody as _;
        let mut sink = BlobSink::new(blobs, max);
        let mut body = body;
        loop {
            let frame =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
            match frame {
                None => break,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !sink.push(data).await {
                            // The writer stopped (over the cap, or the disk): it says why.
                            break;
                        }
                    }
                }
                Some(Err(e)) => {
                    // Its file is removed before the refusal is answered.
                    drop(sink.finish().await);
                    return Err(e);
                }
            }
        }
        Ok(sink.finish().await)
    }
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
    async fn a_streamed_file_goes_to_a_temporary_file_and_is_removed_when_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let tmp = || std::fs::read_dir(dir.path().join(".tmp")).unwrap().count();
        let b = body(&[
            ("csrf", None, "tok"),
            ("file", Some("a.pdf"), "%PDF-1.7 streamed"),
            ("note", None, "x"),
        ]);
        let mp = Multipart::from_request(request(b.clone()), &())
            .await
            .unwrap();
        let read = read_streaming(mp, 1024, "file", &blobs, 64).await.unwrap();
        assert_eq!(read.form.csrf(), "tok");
        assert_eq!(read.form.text("note"), "x");
        assert_eq!(read.form.file("file"), None, "the file is not in memory");
        let (staged, name) = read.file.unwrap();
        assert_eq!(name, "a.pdf");
        assert_eq!(std::fs::read(staged.path()).unwrap(), b"%PDF-1.7 streamed");
        assert_eq!(tmp(), 1);
        drop(staged);
        assert_eq!(tmp(), 0);
        // Past the file's cap, or the form's: refused, nothing left.
        let mp = Multipart::from_request(request(b.clone()), &())
            .await
            .unwrap();
        let e = read_streaming(mp, 1024, "file", &blobs, 10)
            .await
            .unwrap_err();
        assert_eq!(e, FormError::TooLarge { max: 10 });
        let mp = Multipart::from_request(request(b), &()).await.unwrap();
        let e = read_streaming(mp, 12, "file", &blobs, 64)
            .await
            .unwrap_err();
        assert_eq!(e, FormError::TooLarge { max: 12 });
        assert_eq!(tmp(), 0);
        // An empty file is no file.
        let b = body(&[("file", Some("empty.pdf"), "")]);
        let mp = Multipart::from_request(request(b), &()).await.unwrap();
        assert!(read_streaming(mp, 1024, "file", &blobs, 64)
            .await
            .unwrap()
            .file
            .is_none());
        assert_eq!(tmp(), 0);
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
