#![doc = include_str!("../README.md")]

mod csc;
mod pkcs12;
mod secret;

pub use csc::{CscAuth, CscOptions, CscSigner, CscVersion, MAX_ANSWER_BYTES};
pub use pkcs12::{Pkcs12Signer, MAX_P12_BYTES};
pub use secret::Secret;

/// What went wrong loading or using a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PKCS#12 password is wrong (the integrity check failed).
    #[error("wrong password for the PKCS#12 file")]
    WrongPassword,
    /// The file is not a PKCS#12 bundle we can read.
    #[error("not a readable PKCS#12 file: {0}")]
    Malformed(String),
    /// The bundle has no private key with its certificate.
    #[error("the PKCS#12 file holds no private key with a certificate")]
    NoKey,
    /// The key type is not supported.
    #[error("unsupported key: {0}")]
    Unsupported(&'static str),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// A remote signing service could not be used (network, unexpected answer).
    #[error("remote signing service: {0}")]
    Remote(String),
    /// A remote signing service refused a request (`{error, error_description}`).
    #[error("remote signing service refused {method} (HTTP {status}, {error}): {description}")]
    Refused {
        method: String,
        status: u16,
        error: String,
        description: String,
    },
    #[error(transparent)]
    Certificate(#[from] kyso_x509::Error),
    #[error(transparent)]
    Cms(#[from] kyso_cms::Error),
}

/// Short for `Result<T, kyso_keys::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
