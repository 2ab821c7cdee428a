#![doc = include_str!("../README.md")]

pub mod dss;
mod fields;
pub mod format_check;
pub mod forms;
pub mod issuer;
pub mod ltv;
pub mod mdp;
pub mod numbering;
pub mod pdfdate;
pub mod revisions;
pub mod scan_check;
pub mod sign;
pub mod stamp;
pub mod upload;
pub mod validate;
pub mod verify;
pub mod xmp;

pub use sign::{
    finalize, prepare, prepare_source, sign_bytes, sign_source, sign_with, Prepared, SignOptions,
    Updated, Widget, WidgetBuilder,
};

/// What went wrong while signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input PDF could not be read.
    #[error(transparent)]
    Pdf(#[from] kyso_pdf::Error),
    /// Building the CMS signature failed (including: the signature does not match the
    /// certificate's key).
    #[error(transparent)]
    Cms(#[from] kyso_cms::Error),
    /// The signature container grew larger than the space reserved for it.
    #[error("signature needs {needed} bytes but {reserved} were reserved")]
    PlaceholderTooSmall { needed: usize, reserved: usize },
    /// The requested page does not exist.
    #[error("page {page} does not exist (the document has {count} pages)")]
    PageOutOfRange { page: usize, count: usize },
    /// A field with this name exists already.
    #[error("a form field named {0:?} exists already")]
    FieldExists(String),
    /// The document's structure does not allow adding a signature field.
    #[error("cannot add a signature field: {0}")]
    Structure(&'static str),
    /// A visible signature could not be placed (anchor not found, bad rectangle, …).
    #[error(transparent)]
    Form(#[from] forms::FormError),
    /// Validation material (certificates, OCSP, CRLs) could not be gathered.
    #[error("validation material: {0}")]
    Validation(String),
    /// No signature timestamp could be had (TSA unreachable, refused, bad answer).
    #[error("timestamp: {0}")]
    Timestamp(String),
    /// Reading or writing files failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Short for `Result<T, kyso_pades::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
