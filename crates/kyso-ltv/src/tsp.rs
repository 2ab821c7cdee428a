//! Checking RFC 3161 time-stamp tokens: the token is a CMS SignedData whose encapsulated
//! content is a [`TstInfo`]; its message imprint must be the hash of what was timestamped (a
//! signature value for a signature timestamp, the byte ranges for a PDF document timestamp),
//! and its signer must be a TSA (RFC 3161 §2.3: extendedKeyUsage with id-kp-timeStamping
//! only, critical). Trust in the TSA's certificate (path, revocation) is the caller's to
//! establish, at a time it can prove.

use der::Decode;
use kyso_cms::ber::{self, BerLimits};
use kyso_cms::verify::{self as cmsv, LegacyAlgorithm, ParsedSignedData, SignerCheck};
use kyso_cms::DigestAlgorithm;
use kyso_x509::Cert;
use time::OffsetDateTime;

use crate::asn1::{oids, TstInfo};
use crate::Problem;

/// Stable codes of timestamp problems.
pub mod codes {
    /// The token cannot be read (not CMS, not a TSTInfo, BER too deep…).
    pub const TST_UNREADABLE: &str = "TST_UNREADABLE";
    /// The imprint is not the hash of the timestamped data.
    pub const TST_IMPRINT_MISMATCH: &str = "TST_IMPRINT_MISMATCH";
    /// The imprint's hash algorithm is not supported (SHA-1 and SHA-2 are; a SHA-1 imprint is
    /// checked and reported as a legacy algorithm, see [`super::TokenReport::legacy`]).
    pub const TST_UNSUPPORTED_HASH: &str = "TST_UNSUPPORTED_HASH";
    /// The token's CMS signature uses an algorithm kyso cannot verify: the token could not be
    /// checked (not: it is broken).
    pub const TST_UNSUPPORTED_ALGORITHM: &str = "TST_UNSUPPORTED_ALGORITHM";
    /// The signer's certificate is not a TSA certificate.
    pub const TST_NOT_A_TSA: &str = "TST_NOT_A_TSA";
    /// The token's CMS signature does not verify (see the signer checks).
    pub const TST_BAD_SIGNATURE: &str = "TST_BAD_SIGNATURE";
}

/// What a token says and whether it holds together (trust aside).
#[derive(Debug, Clone)]
pub struct TokenReport {
    pub tst_info: Option<TstInfo>,
    pub cms: Option<ParsedSignedData>,
    pub signer: Option<SignerCheck>,
    pub problems: Vec<Problem>,
}

impl TokenReport {
    /// The time the TSA vouches for.
    pub fn gen_time(&self) -> Option<OffsetDateTime> {
        self.tst_info.as_ref().map(|t| t.gen_time.0)
    }
    /// The TSA's certificate, when the token carries it.
    pub fn tsa_certificate(&self) -> Option<&Cert> {
        self.cms
            .as_ref()
            .and_then(ParsedSignedData::signer_certificate)
    }
    /// The certificates the token carries (for path building).
    pub fn certificates(&self) -> &[Cert] {
        self.cms
            .as_ref()
            .map(|c| c.certificates.as_slice())
            .unwrap_or_default()
    }
    /// No problem and the CMS signature verified.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.signer.as_ref().is_some_and(SignerCheck::is_intact)
    }
    /// Every problem code, the CMS signer's failures included.
    pub fn failure_codes(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.problems.iter().map(|p| p.code).collect();
        if let Some(s) = &self.signer {
            if !s.is_intact() {
                v.push(if s.failures().is_empty() && s.unsupported_algorithm() {
                    codes::TST_UNSUPPORTED_ALGORITHM
                } else {
                    codes::TST_BAD_SIGNATURE
                });
            }
        }
        v
    }
    /// Not intact only because an algorithm (the imprint's hash, the token's signature) is one
    /// kyso cannot verify: the token's state is unknown, not broken.
    pub fn is_unsupported(&self) -> bool {
        let codes = self.failure_codes();
        !codes.is_empty()
            && codes.iter().all(|c| {
                *c == codes::TST_UNSUPPORTED_HASH || *c == codes::TST_UNSUPPORTED_ALGORITHM
            })
    }
    /// The legacy algorithms the token uses (a SHA-1 imprint, a SHA-1 or small-RSA
    /// signature): verified, and for the caller's algorithm policy to judge.
    pub fn legacy(&self) -> Vec<LegacyAlgorithm> {
        let mut v = self
            .signer
            .as_ref()
            .map(|s| s.legacy.clone())
            .unwrap_or_default();
        let imprint = self
            .tst_info
            .as_ref()
            .and_then(|t| DigestAlgorithm::recognised(&t.message_imprint.hash_algorithm.oid));
        if imprint.is_some_and(DigestAlgorithm::is_weak) && !v.contains(&LegacyAlgorithm::Sha1) {
            v.push(LegacyAlgorithm::Sha1);
        }
        v
    }
}

/// Check a DER (or BER) `ContentInfo` time-stamp token. `imprint_of(alg)` is the hash of the
/// timestamped data with `alg`.
pub fn check_token(token: &[u8], imprint_of: impl Fn(DigestAlgorithm) -> Vec<u8>) -> TokenReport {
    let mut report = TokenReport {
        tst_info: None,
        cms: None,
        signer: None,
        problems: Vec::new(),
    };
    let parsed = match ber::normalize(token, &BerLimits::default())
        .map_err(|e| e.to_string())
        .and_then(|n| cmsv::parse_signed_data(&n.der).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            report.problems.push(Problem::new(codes::TST_UNREADABLE, e));
            return report;
        }
    };
    match read_tst_info(&parsed) {
        Ok(tst) => {
            if let Some(p) = check_imprint(&tst, imprint_of) {
                report.problems.push(p);
            }
            report.tst_info = Some(tst);
        }
        Err(p) => report.problems.push(p),
    }
    // The encapsulated TSTInfo is the signed content.
    report.signer = Some(cmsv::verify_signer(&parsed, |_| Vec::new()));
    if let Some(cert) = parsed.signer_certificate() {
        if let Some(p) = check_tsa_certificate(cert) {
            report.problems.push(p);
        }
    }
    report.cms = Some(parsed);
    report
}

/// The TSTInfo a parsed token encapsulates.
pub fn read_tst_info(parsed: &ParsedSignedData) -> Result<TstInfo, Problem> {
    if parsed.econtent_type != oids::CT_TST_INFO {
        return Err(Problem::new(
            codes::TST_UNREADABLE,
            format!(
                "eContentType is {}, not id-ct-TSTInfo",
                parsed.econtent_type
            ),
        ));
    }
    let bytes = parsed
        .econtent
        .as_deref()
        .ok_or_else(|| Problem::new(codes::TST_UNREADABLE, "the token has no TSTInfo"))?;
    let tst = TstInfo::from_der(bytes)
        .map_err(|e| Problem::new(codes::TST_UNREADABLE, format!("TSTInfo: {e}")))?;
    if tst.version != 1 {
        return Err(Problem::new(
            codes::TST_UNREADABLE,
            format!("TSTInfo version {}", tst.version),
        ));
    }
    Ok(tst)
}

/// Is the imprint of `tst` the hash of the timestamped data?
pub fn check_imprint(
    tst: &TstInfo,
    imprint_of: impl Fn(DigestAlgorithm) -> Vec<u8>,
) -> Option<Problem> {
    let oid = tst.message_imprint.hash_algorithm.oid;
    let Some(alg) = DigestAlgorithm::recognised(&oid) else {
        return Some(Problem::new(
            codes::TST_UNSUPPORTED_HASH,
            format!("imprint hash {oid} is not supported"),
        ));
    };
    if imprint_of(alg).as_slice() == tst.message_imprint.hashed_message.as_bytes() {
        None
    } else {
        Some(Problem::new(
            codes::TST_IMPRINT_MISMATCH,
            "the timestamp's message imprint is not the hash of the timestamped data",
        ))
    }
}

/// RFC 3161 §2.3: the TSA's certificate has exactly one extendedKeyUsage, id-kp-timeStamping,
/// marked critical.
pub fn check_tsa_certificate(cert: &Cert) -> Option<Problem> {
    let eku = cert.extended_key_usage();
    let critical = cert
        .inner()
        .tbs_certificate()
        .extensions()
        .and_then(|exts| {
            exts.iter()
                .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
        })
        .is_some_and(|e| e.critical);
    if eku == [oids::KP_TIME_STAMPING] && critical {
        None
    } else {
        Some(Problem::new(
            codes::TST_NOT_A_TSA,
            format!(
                "{} is not a time-stamping certificate (extendedKeyUsage must be id-kp-timeStamping only, critical)",
                cert.subject_display()
            ),
        ))
    }
}

/// Why a timestamp could not be obtained.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TsaError {
    /// The TSA could not be reached, was too slow, or answered with an HTTP error.
    #[error("{0}")]
    Unreachable(#[from] crate::fetch::FetchError),
    /// The TSA refused (PKIStatus rejection/waiting/…).
    #[error("the TSA refused the request (status {status}{text})")]
    Refused { status: u8, text: String },
    /// The answer is not a usable token for this request.
    #[error("the TSA's answer is not usable: {0}")]
    BadAnswer(String),
}

/// Ask the TSA at `url` for a token over `digest` (made with `alg`), with a fresh nonce and
/// the TSA's certificate included. The token returned is checked: readable, over this
/// digest, echoing the nonce, signed by a TSA certificate, its CMS signature valid.
pub fn request_timestamp(
    fetcher: &dyn crate::fetch::Fetch,
    url: &str,
    alg: DigestAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, TsaError> {
    use crate::asn1::{MessageImprint, TimeStampReq, TimeStampResp};
    use der::asn1::{Int, OctetString};
    use der::Encode;
    let bad = |m: String| TsaError::BadAnswer(m);
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| bad("no randomness for the nonce".into()))?;
    nonce[0] &= 0x7f; // a positive INTEGER
    nonce[0] |= 0x01;
    let req = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: alg.identifier(),
            hashed_message: OctetString::new(digest).map_err(|e| bad(e.to_string()))?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce).map_err(|e| bad(e.to_string()))?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .map_err(|e| bad(e.to_string()))?;
    let answer = fetcher.post(url, "application/timestamp-query", &req)?;
    let resp =
        TimeStampResp::from_der(&answer).map_err(|e| bad(format!("not a TimeStampResp: {e}")))?;
    if resp.status.status > 1 {
        let text = resp
            .status
            .status_string
            .map(|s| format!(": {}", s.join("; ")))
            .unwrap_or_default();
        return Err(TsaError::Refused {
            status: resp.status.status,
            text,
        });
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| bad("granted but no token".into()))?
        .to_der()
        .map_err(|e| bad(e.to_string()))?;
    let report = check_token(&token, |a| {
        if a == alg {
            digest.to_vec()
        } else {
            Vec::new()
        }
    });
    if !report.is_intact() {
        let codes = report.failure_codes().join(", ");
        let detail = report
            .problems
            .first()
            .map(|p| p.message.clone())
            .unwrap_or_default();
        return Err(bad(format!("{codes} {detail}")));
    }
    // kyso asks with SHA-2; a token signed with a legacy algorithm would not be evidence for
    // long.
    if let Some(weak) = report.legacy().first() {
        return Err(bad(format!("the token is signed with {weak}")));
    }
    let echoed = report
        .tst_info
        .as_ref()
        .and_then(|t| t.nonce.as_ref())
        .is_some_and(|n| kyso_cms::verify::same_serial(n.as_bytes(), &nonce));
    if !echoed {
        return Err(bad("the token does not carry the request's nonce".into()));
    }
    Ok(token)
}

/// A source of RFC 3161 time-stamp tokens (a TSA client), for signature timestamps (PAdES
/// B-T) and document timestamps (B-LTA).
pub trait Timestamper: Send + Sync + std::fmt::Debug {
    /// A token over `digest`, made with `alg`; the error says why none could be had.
    fn timestamp(&self, alg: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, String>;
    /// Bytes to reserve in `/Contents` for the token (its certificates included).
    fn reserve(&self) -> usize {
        16 * 1024
    }
}

/// An RFC 3161 TSA reached over HTTP (or any [`crate::fetch::Fetch`]): each token is checked
/// by [`request_timestamp`].
#[derive(Debug, Clone)]
pub struct HttpTsa {
    pub fetcher: std::sync::Arc<dyn crate::fetch::Fetch>,
    pub url: String,
}

impl HttpTsa {
    pub fn new(fetcher: std::sync::Arc<dyn crate::fetch::Fetch>, url: impl Into<String>) -> Self {
        HttpTsa {
            fetcher,
            url: url.into(),
        }
    }
}

impl Timestamper for HttpTsa {
    #[tracing::instrument(name = "timestamp", level = "info", skip_all, fields(tsa = %self.url))]
    fn timestamp(&self, alg: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, String> {
        request_timestamp(self.fetcher.as_ref(), &self.url, alg, digest).map_err(|e| e.to_string())
    }
}
