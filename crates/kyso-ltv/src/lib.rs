//! Long-term validation material for kyso: RFC 3161 time-stamp tokens, RFC 6960 OCSP and
//! RFC 5280 CRLs — their ASN.1 ([`asn1`]), issuing them (kyso's own TSA, OCSP responder and
//! CRLs), checking them (the verifier) and fetching them over HTTP (signing at B-T/B-LT and
//! validating online).

pub mod asn1;
mod gentime;

pub use gentime::GenTime;
pub mod crl_issue;
pub mod ocsp;
pub mod responder;
pub mod tsa;

/// What went wrong with timestamps, OCSP or CRLs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not the ASN.1 structure expected.
    #[error("malformed {what}: {message}")]
    Malformed { what: &'static str, message: String },
    /// A structure could not be encoded.
    #[error("cannot encode: {0}")]
    Encoding(String),
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Encoding(e.to_string())
    }
}

/// Short for `Result<T, kyso_ltv::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
