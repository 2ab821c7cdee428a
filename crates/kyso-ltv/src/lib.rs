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

pub mod chain;
pub mod crl;
pub mod fetch;
pub mod revocation;
pub mod tsp;

use time::OffsetDateTime;

/// A problem found in a token, response or CRL: a stable code and an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A certificate's status as one OCSP response or CRL states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertState {
    Good,
    Revoked {
        time: OffsetDateTime,
        /// The RFC 5280 reason name (`keyCompromise`, …) when given.
        reason: Option<&'static str>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// OCSP or CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    Ocsp,
    Crl,
}

/// Checked revocation information about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub state: CertState,
    pub kind: EvidenceKind,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
    /// producedAt (OCSP) or thisUpdate (CRL).
    pub issued_at: OffsetDateTime,
    /// Who signed it.
    pub responder: String,
}

/// RFC 5280 reason names.
pub fn reason_name(r: x509_cert::ext::pkix::CrlReason) -> &'static str {
    use x509_cert::ext::pkix::CrlReason as R;
    match r {
        R::Unspecified => "unspecified",
        R::KeyCompromise => "keyCompromise",
        R::CaCompromise => "cACompromise",
        R::AffiliationChanged => "affiliationChanged",
        R::Superseded => "superseded",
        R::CessationOfOperation => "cessationOfOperation",
        R::CertificateHold => "certificateHold",
        R::RemoveFromCRL => "removeFromCRL",
        R::PrivilegeWithdrawn => "privilegeWithdrawn",
        R::AaCompromise => "aACompromise",
    }
}
