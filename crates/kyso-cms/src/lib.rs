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
    /// The signer's own error (a token removed, a PIN locked, a remote service refusing), kept
    /// whole so that the application can tell the user what to do.
    #[error("{0}")]
    Signer(SignerFailure),
    /// A certificate problem.
    #[error(transparent)]
    Certificate(#[from] kyso_x509::Error),
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Asn1(e.to_string())
    }
}

/// An error of a [`Signer`] implementation, carried through CMS and PAdES unchanged: the
/// application gets it back with [`SignerFailure::downcast_ref`].
#[derive(Debug, Clone)]
pub struct SignerFailure(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl SignerFailure {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        SignerFailure(std::sync::Arc::new(e))
    }
    /// The signer's error as its own type.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl std::fmt::Display for SignerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Two failures are equal when they are the same error (clones of one another).
impl PartialEq for SignerFailure {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SignerFailure {}

/// Short for `Result<T, kyso_cms::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
