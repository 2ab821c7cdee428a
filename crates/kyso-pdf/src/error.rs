//! The one error type of this crate. Every parse error names the byte offset where it happened.

/// What went wrong while reading or writing a PDF.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes at `offset` are not what the PDF syntax requires.
    #[error("malformed PDF at byte {offset}: {what}")]
    Malformed { offset: u64, what: &'static str },
    /// The file ended before a complete structure could be read.
    #[error("PDF truncated at byte {offset}: {what}")]
    Truncated { offset: u64, what: &'static str },
    /// A configured limit was exceeded; the input is refused rather than exhausting the machine.
    #[error("PDF exceeds the limit on {limit} ({value} > {max})")]
    LimitExceeded {
        limit: &'static str,
        value: u64,
        max: u64,
    },
    /// A referenced object does not exist.
    #[error("object {num} {gen} R is missing")]
    MissingObject { num: u32, gen: u16 },
    /// An object has a different type than the structure requires.
    #[error("object has the wrong type: expected {expected} for {context}")]
    WrongType {
        expected: &'static str,
        context: &'static str,
    },
    /// A feature we deliberately do not handle.
    #[error("unsupported PDF feature: {0}")]
    Unsupported(&'static str),
    /// The document is encrypted.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// A page index past the last page.
    #[error("page {index} does not exist (the document has {count} pages)")]
    PageOutOfRange { index: usize, count: usize },
    /// Reading or writing the underlying file failed.
    #[error("I/O error: {0}")]
    Io(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// Short for `Result<T, kyso_pdf::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
