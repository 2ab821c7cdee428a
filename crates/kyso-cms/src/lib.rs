#![doc = include_str!("../README.md")]

pub mod algorithm;
pub mod ber;
pub mod ess;
pub mod signed_data;
pub mod signer;
pub mod verify;

pub use algorithm::{DigestAlgorithm, SignatureAlgorithm};
pub use signed_data::{SignedAttributes, SignedDataBuilder};
pub use signer::{SignRequest, Signer};

/// What went wrong building or parsing CMS.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// ASN.1 encoding or decoding failed.
    #[error("ASN.1 error: {0}")]
    Asn1(String),
    /// The signature value does not verify with the certificate's public key.
    #[error("the signature does not match the signer certificate's public key")]
    SignatureMismatch,
    /// The key or algorithm is not supported.
    #[error("unsupported algorithm: {0}")]
    Unsupported(&'static str),
    /// The signing device or service failed.
    #[error("signing failed: {0}")]
    SigningFailed(String),
    /// A certificate problem.
    #[error(transparent)]
    Certificate(#[from] kyso_x509::Error),
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Asn1(e.to_string())
    }
}

/// Short for `Result<T, kyso_cms::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
