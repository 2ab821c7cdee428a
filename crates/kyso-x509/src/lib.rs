#![doc = include_str!("../README.md")]

mod cert;
pub mod oid;

pub use cert::{Cert, KeyKind, KeyUsageFlags};

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
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Malformed(e.to_string())
    }
}

/// Short for `Result<T, kyso_x509::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
