#![doc = include_str!("../README.md")]

mod cert;
mod name;
pub mod oid;
pub mod path;
pub mod store;
pub mod verify_sig;

pub use cert::{Cert, KeyKind, KeyUsageFlags};
pub use path::{
    build_and_validate, PathNote, PathPolicy, PathProblem, PathReport, PathStatus, TrustStore,
};
pub use verify_sig::{verify_cert_signature, SigHash, SigInfo, SigProblem};

/// What went wrong with a certificate.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a DER (or PEM) X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    Malformed(String),
    /// The certificate is larger than we accept.
    #[error("certificate exceeds the limit of {max} bytes")]
    TooLarge { max: usize },
    /// A PEM input held no certificate.
    #[error("no certificate found in PEM input")]
    NoCertificate,
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Malformed(e.to_string())
    }
}

/// Short for `Result<T, kyso_x509::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
