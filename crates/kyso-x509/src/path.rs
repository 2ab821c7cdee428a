//! Certification path building and validation (RFC 5280 §6.1, the subset that matters for
//! document signatures), at a given time — the signing time, not "now".
//!
//! [`build_and_validate`] searches paths from the signer's certificate to a trust anchor
//! through a pool of certificates (the CMS `certificates` and the document's DSS), trying
//! alternatives (cross-certificates, re-keyed CAs with the same name) depth-first, and
//! validates each complete path. An invalid path is a result ([`PathReport`]), not an error.

use std::path::Path;

use const_oid::ObjectIdentifier;
use time::OffsetDateTime;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, NameConstraints};
use x509_cert::name::Name;
use x509_cert::Version;

use crate::cert::{Cert, KeyKind};
use crate::name::{name_within, names_match};
use crate::oid;
use crate::verify_sig::{check_cert_signature, SigHash, SigProblem};
use crate::{Error, Result};

/// Most certificates examined while searching (path extensions plus complete paths).
pub const MAX_CANDIDATES: usize = 256;

/// Trusted root (or other anchor) certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Cert>,
}

impl TrustStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding these anchors.
    pub fn from_certs(anchors: impl IntoIterator<Item = Cert>) -> Self {
        let mut store = Self::new();
        for a in anchors {
            store.add(a);
        }
        store
    }

    /// Every certificate in these PEM (or DER) files.
    pub fn from_pem_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let mut store = Self::new();
        for p in paths {
            let p = p.as_ref();
            let bytes = std::fs::read(p).map_err(|e| Error::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
            for cert in Cert::from_pem_or_der(&bytes)? {
                store.add(cert);
            }
        }
        Ok(store)
    }

    /// Add an anchor (duplicates are ignored).
    pub fn add(&mut self, cert: Cert) {
        if !self.anchors.contains(&cert) {
            self.anchors.push(cert);
        }
    }

    pub fn anchors(&self) -> &[Cert] {
        &self.anchors
    }
    pub fn len(&self) -> usize {
        self.anchors.len()
    }
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Whether `cert` is a trust anchor: the same DER, or the same subject and public key.
    pub fn is_anchor(&self, cert: &Cert) -> bool {
        self.anchors.iter().any(|a| same_entity(a, cert))
    }
}

/// The rules a path is validated under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPolicy {
    /// The time the path must be valid at (the signing time or a timestamp's genTime).
    pub at: OffsetDateTime,
    /// Accept SHA-1 certificate signatures (for old documents).
    pub allow_sha1: bool,
    /// Smallest RSA modulus accepted for any key in the path.
    pub min_rsa_bits: u32,
    /// The signer's certificate must allow digitalSignature or nonRepudiation when it has a
    /// keyUsage extension.
    pub require_leaf_ku: bool,
    /// Most certificates in a path, signer and anchor included.
    pub max_depth: usize,
}

impl PathPolicy {
    /// kyso's default policy at time `at`: no SHA-1, RSA ≥ 2048 bits, signer key usage
    /// checked, at most 8 certificates.
    pub fn new(at: OffsetDateTime) -> Self {
        PathPolicy {
            at,
            allow_sha1: false,
            min_rsa_bits: 2048,
            require_leaf_ku: true,
            max_depth: 8,
        }
    }
}

/// One reason a path is not valid. `index` counts from the signer's certificate (0) to the
/// anchor (last).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// The certificate's signature does not verify with the next certificate's key.
    BadSignature {
        index: usize,
        detail: String,
    },
    Expired {
        index: usize,
        not_after: OffsetDateTime,
    },
    NotYetValid {
        index: usize,
        not_before: OffsetDateTime,
    },
    /// An issuing certificate without basicConstraints cA=TRUE.
    NotACa {
        index: usize,
    },
    /// The CA at `index` allows at most `max` intermediates below it.
    PathTooLong {
        index: usize,
        max: u8,
    },
    /// An issuing certificate whose keyUsage lacks keyCertSign.
    IssuerKeyUsage {
        index: usize,
    },
    /// The signer's keyUsage has neither digitalSignature nor nonRepudiation.
    LeafKeyUsage,
    UnknownCriticalExtension {
        index: usize,
        oid: ObjectIdentifier,
    },
    /// The subject of the certificate at `index` is outside the directory-name subtrees the
    /// CA at `constrained_by` permits (or inside one it excludes).
    NameConstraints {
        index: usize,
        constrained_by: usize,
    },
    /// A feature kyso does not check (e.g. a critical nameConstraints on DNS names).
    Unsupported {
        index: usize,
        feature: String,
    },
    /// The certificate is signed with a weak hash.
    WeakAlgorithm {
        index: usize,
        hash: SigHash,
    },
    /// The certificate's RSA key is below the policy minimum.
    WeakKey {
        index: usize,
        bits: usize,
    },
    /// The certificate's signature algorithm is not supported.
    UnsupportedAlgorithm {
        index: usize,
        detail: String,
    },
}

impl PathProblem {
    /// A stable code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            PathProblem::BadSignature { .. } => "BAD_CERT_SIGNATURE",
            PathProblem::Expired { .. } => "CERT_EXPIRED",
            PathProblem::NotYetValid { .. } => "CERT_NOT_YET_VALID",
            PathProblem::NotACa { .. } => "NOT_A_CA",
            PathProblem::PathTooLong { .. } => "PATH_TOO_LONG",
            PathProblem::IssuerKeyUsage { .. } | PathProblem::LeafKeyUsage => "KEY_USAGE",
            PathProblem::UnknownCriticalExtension { .. } => "UNKNOWN_CRITICAL_EXTENSION",
            PathProblem::NameConstraints { .. } => "NAME_CONSTRAINTS",
            PathProblem::Unsupported { .. } => "UNSUPPORTED_FEATURE",
            PathProblem::WeakAlgorithm { .. } => "WEAK_ALGORITHM",
            PathProblem::WeakKey { .. } => "WEAK_KEY",
            PathProblem::UnsupportedAlgorithm { .. } => "UNSUPPORTED_ALGORITHM",
        }
    }

    /// The index of the certificate concerned (`None` means the signer's).
    pub fn index(&self) -> Option<usize> {
        match self {
            PathProblem::BadSignature { index, .. }
            | PathProblem::Expired { index, .. }
            | PathProblem::NotYetValid { index, .. }
            | PathProblem::NotACa { index }
            | PathProblem::PathTooLong { index, .. }
            | PathProblem::IssuerKeyUsage { index }
            | PathProblem::UnknownCriticalExtension { index, .. }
            | PathProblem::NameConstraints { index, .. }
            | PathProblem::Unsupported { index, .. }
            | PathProblem::WeakAlgorithm { index, .. }
            | PathProblem::WeakKey { index, .. }
            | PathProblem::UnsupportedAlgorithm { index, .. } => Some(*index),
            PathProblem::LeafKeyUsage => None,
        }
    }
}

impl std::fmt::Display for PathProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathProblem::BadSignature { index, detail } => {
                write!(
                    f,
                    "certificate #{index}: signature does not verify ({detail})"
                )
            }
            PathProblem::Expired { index, not_after } => {
                write!(f, "certificate #{index} expired on {}", rfc3339(*not_after))
            }
            PathProblem::NotYetValid { index, not_before } => {
                write!(
                    f,
                    "certificate #{index} is not valid before {}",
                    rfc3339(*not_before)
                )
            }
            PathProblem::NotACa { index } => {
                write!(
                    f,
                    "certificate #{index} issues certificates but is not a CA"
                )
            }
            PathProblem::PathTooLong { index, max } => write!(
                f,
                "certificate #{index} allows at most {max} intermediate CA(s) below it"
            ),
            PathProblem::IssuerKeyUsage { index } => write!(
                f,
                "certificate #{index} issues certificates but its key usage lacks keyCertSign"
            ),
            PathProblem::LeafKeyUsage => f.write_str(
                "the signer's key usage allows neither digitalSignature nor nonRepudiation",
            ),
            PathProblem::UnknownCriticalExtension { index, oid } => {
                write!(
                    f,
                    "certificate #{index} has an unknown critical extension {oid}"
                )
            }
            PathProblem::NameConstraints {
                index,
                constrained_by,
            } => write!(
                f,
                "certificate #{index}'s subject is outside the names certificate \
                 #{constrained_by} may certify"
            ),
            PathProblem::Unsupported { index, feature } => {
                write!(
                    f,
                    "certificate #{index} uses {feature}, which is not supported"
                )
            }
            PathProblem::WeakAlgorithm { index, hash } => {
                write!(
                    f,
                    "certificate #{index} is signed with the weak hash {hash}"
                )
            }
            PathProblem::WeakKey { index, bits } => {
                write!(f, "certificate #{index} has a weak {bits}-bit RSA key")
            }
            PathProblem::UnsupportedAlgorithm { index, detail } => {
                write!(f, "certificate #{index}: unsupported signature ({detail})")
            }
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Facts worth showing that do not make the path invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathNote {
    /// The signer's certificate has no keyUsage extension (any use allowed).
    LeafWithoutKeyUsage,
    /// A SHA-1 certificate signature was accepted because the policy allows it.
    Sha1Accepted { index: usize },
}

/// The outcome of path validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStatus {
    Valid,
    Invalid(Vec<PathProblem>),
    /// No path reaches a trust anchor (`UNTRUSTED_ROOT`).
    NoAnchor,
}

impl PathStatus {
    pub fn is_valid(&self) -> bool {
        matches!(self, PathStatus::Valid)
    }
    /// The report codes: empty when valid, `["UNTRUSTED_ROOT"]` without an anchor.
    pub fn codes(&self) -> Vec<&'static str> {
        match self {
            PathStatus::Valid => Vec::new(),
            PathStatus::Invalid(problems) => {
                let mut codes: Vec<&'static str> = Vec::new();
                for p in problems {
                    if !codes.contains(&p.code()) {
                        codes.push(p.code());
                    }
                }
                codes
            }
            PathStatus::NoAnchor => vec!["UNTRUSTED_ROOT"],
        }
    }
}

/// The path found: the first that validates, else the best failing one. For `NoAnchor` the
/// chain is the longest partial path built (signer first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathReport {
    /// Signer's certificate first, anchor last.
    pub chain: Vec<Cert>,
    pub status: PathStatus,
    pub notes: Vec<PathNote>,
}

/// Build a path from `leaf` to an anchor in `trust` through `pool` and validate it at
/// `policy.at`.
pub fn build_and_validate(
    leaf: &Cert,
    pool: &[Cert],
    trust: &TrustStore,
    policy: &PathPolicy,
) -> PathReport {
    let mut search = Search {
        pool,
        trust,
        policy,
        examined: 0,
        best: None,
        longest: vec![leaf],
    };
    let mut chain = vec![leaf];
    if let Some(found) = search.extend(&mut chain) {
        return found;
    }
    match search.best {
        Some(best) => best.report,
        None => PathReport {
            chain: search.longest.into_iter().cloned().collect(),
            status: PathStatus::NoAnchor,
            notes: Vec::new(),
        },
    }
}

struct Candidate {
    /// Lower is better.
    score: (usize, usize),
    report: PathReport,
}

struct Search<'a> {
    pool: &'a [Cert],
    trust: &'a TrustStore,
    policy: &'a PathPolicy,
    examined: usize,
    best: Option<Candidate>,
    longest: Vec<&'a Cert>,
}

impl<'a> Search<'a> {
    /// Depth-first: complete the path with an anchor, else extend it through the pool.
    /// Returns the report of the first valid path.
    fn extend(&mut self, chain: &mut Vec<&'a Cert>) -> Option<PathReport> {
        let current = *chain.last()?;

        // The signer's certificate may itself be an anchor.
        if chain.len() == 1 && self.trust.is_anchor(current) {
            if let Some(found) = self.try_complete(chain) {
                return Some(found);
            }
        }

        if chain.len() < self.policy.max_depth {
            for anchor in self.issuer_candidates(current, &self.trust.anchors, chain) {
                chain.push(anchor);
                let found = self.try_complete(chain);
                chain.pop();
                if found.is_some() {
                    return found;
                }
            }
        }

        // Intermediates: one more leaves room for the anchor.
        if chain.len() + 1 < self.policy.max_depth {
            for next in self.issuer_candidates(current, self.pool, chain) {
                if self.trust.is_anchor(next) || self.examined >= MAX_CANDIDATES {
                    continue;
                }
                self.examined += 1;
                chain.push(next);
                if chain.len() > self.longest.len() {
                    self.longest = chain.clone();
                }
                let found = self.extend(chain);
                chain.pop();
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    /// Certificates in `from` that may have issued `cert` and are not already in the path
    /// (by subject and key, so cross-certificate loops end), those whose key identifier
    /// matches and that are valid at the time first.
    fn issuer_candidates(
        &self,
        cert: &Cert,
        from: &'a [Cert],
        chain: &[&'a Cert],
    ) -> Vec<&'a Cert> {
        let aki = cert.authority_key_id();
        let mut found: Vec<(u8, &'a Cert)> = from
            .iter()
            .filter(|c| {
                names_match(
                    c.inner().tbs_certificate().subject(),
                    cert.inner().tbs_certificate().issuer(),
                )
            })
            .filter(|c| match (&aki, c.subject_key_id()) {
                (Some(a), Some(s)) => *a == s,
                _ => true,
            })
            .filter(|c| !chain.iter().any(|in_path| same_entity(in_path, c)))
            .map(|c| {
                let mut rank = 0u8;
                if aki.is_none() || c.subject_key_id().is_none() {
                    rank += 2;
                }
                if !c.valid_at(self.policy.at) {
                    rank += 1;
                }
                (rank, c)
            })
            .collect();
        found.sort_by_key(|(rank, _)| *rank);
        found.into_iter().map(|(_, c)| c).collect()
    }

    /// Validate a complete path; remember it when it is the best failure so far.
    fn try_complete(&mut self, chain: &[&'a Cert]) -> Option<PathReport> {
        if self.examined >= MAX_CANDIDATES {
            return None;
        }
        self.examined += 1;
        let (problems, notes) = validate(chain, self.policy);
        let report = |status| PathReport {
            chain: chain.iter().map(|c| (*c).clone()).collect(),
            status,
            notes: notes.clone(),
        };
        if problems.is_empty() {
            return Some(report(PathStatus::Valid));
        }
        let bad_signatures = problems
            .iter()
            .filter(|p| matches!(p, PathProblem::BadSignature { .. }))
            .count();
        let score = (bad_signatures, problems.len());
        if self.best.as_ref().is_none_or(|b| score < b.score) {
            self.best = Some(Candidate {
                score,
                report: report(PathStatus::Invalid(problems)),
            });
        }
        None
    }
}

/// Same certificate, or the same subject with the same public key.
fn same_entity(a: &Cert, b: &Cert) -> bool {
    if a == b {
        return true;
    }
    let (ta, tb) = (a.inner().tbs_certificate(), b.inner().tbs_certificate());
    ta.subject_public_key_info() == tb.subject_public_key_info()
        && names_match(ta.subject(), tb.subject())
}

/// Extensions whose criticality we honour (we understand them, or accepting them is safe).
const KNOWN_EXTENSIONS: [ObjectIdentifier; 13] = [
    oid::EXT_BASIC_CONSTRAINTS,
    oid::EXT_KEY_USAGE,
    oid::EXT_EXT_KEY_USAGE,
    oid::EXT_SUBJECT_KEY_ID,
    oid::EXT_AUTHORITY_KEY_ID,
    oid::EXT_CRL_DISTRIBUTION_POINTS,
    oid::EXT_AUTHORITY_INFO_ACCESS,
    oid::EXT_CERTIFICATE_POLICIES,
    oid::EXT_SUBJECT_ALT_NAME,
    oid::EXT_ISSUER_ALT_NAME,
    oid::EXT_POLICY_CONSTRAINTS,
    oid::EXT_INHIBIT_ANY_POLICY,
    oid::EXT_POLICY_MAPPINGS,
];

/// nameConstraints of the CA at `index` (RFC 5280 §4.2.1.10), directoryName subtrees only:
/// every certificate below it (self-issued intermediates excepted) must have its subject in a
/// permitted subtree, when there are any, and in no excluded one. Other name forms cannot be
/// checked and are reported as unsupported when the extension is critical.
fn check_name_constraints(chain: &[&Cert], index: usize, problems: &mut Vec<PathProblem>) {
    let Some(ca) = chain.get(index) else { return };
    let (critical, nc) = match ca
        .inner()
        .tbs_certificate()
        .get_extension::<NameConstraints>()
    {
        Ok(Some((critical, nc))) => (critical, nc),
        Ok(None) => return,
        Err(_) => {
            problems.push(PathProblem::Unsupported {
                index,
                feature: "nameConstraints (undecodable)".into(),
            });
            return;
        }
    };
    let directory = |subtrees: &Option<Vec<GeneralSubtree>>| -> (Vec<Name>, bool) {
        let mut names = Vec::new();
        let mut other_forms = false;
        for subtree in subtrees.iter().flatten() {
            match &subtree.base {
                GeneralName::DirectoryName(n) => names.push(n.clone()),
                _ => other_forms = true,
            }
        }
        (names, other_forms)
    };
    let (permitted, other_permitted) = directory(&nc.permitted_subtrees);
    let (excluded, other_excluded) = directory(&nc.excluded_subtrees);
    if critical && (other_permitted || other_excluded) {
        problems.push(PathProblem::Unsupported {
            index,
            feature: "nameConstraints on names other than directory names".into(),
        });
    }
    for (below, cert) in chain.iter().enumerate().take(index) {
        if below > 0 && cert.is_self_issued() {
            continue;
        }
        let subject = cert.inner().tbs_certificate().subject();
        if subject.is_empty() {
            continue;
        }
        let allowed = permitted.is_empty() || permitted.iter().any(|b| name_within(subject, b));
        let barred = excluded.iter().any(|b| name_within(subject, b));
        if !allowed || barred {
            problems.push(PathProblem::NameConstraints {
                index: below,
                constrained_by: index,
            });
        }
    }
}

/// RFC 5280 §6.1 checks on a complete path (signer first, anchor last).
fn validate(chain: &[&Cert], policy: &PathPolicy) -> (Vec<PathProblem>, Vec<PathNote>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let last = chain.len().saturating_sub(1);

    for (index, cert) in chain.iter().enumerate() {
        // Validity at the time asked.
        if policy.at > cert.not_after() {
            problems.push(PathProblem::Expired {
                index,
                not_after: cert.not_after(),
            });
        } else if policy.at < cert.not_before() {
            problems.push(PathProblem::NotYetValid {
                index,
                not_before: cert.not_before(),
            });
        }

        // Critical extensions.
        for ext in cert
            .inner()
            .tbs_certificate()
            .extensions()
            .map(|e| e.as_slice())
            .unwrap_or_default()
        {
            if !ext.critical
                || KNOWN_EXTENSIONS.contains(&ext.extn_id)
                || ext.extn_id == oid::EXT_NAME_CONSTRAINTS
            {
                continue;
            }
            problems.push(PathProblem::UnknownCriticalExtension {
                index,
                oid: ext.extn_id,
            });
        }

        if index > 0 {
            check_name_constraints(chain, index, &mut problems);
        }

        // Key size.
        if let KeyKind::Rsa { bits } = cert.key_kind() {
            if bits < usize::try_from(policy.min_rsa_bits).unwrap_or(usize::MAX) {
                problems.push(PathProblem::WeakKey { index, bits });
            }
        }

        // Issuers: CA, key usage, path length.
        if index > 0 {
            let v1_anchor =
                index == last && cert.inner().tbs_certificate().version() == Version::V1;
            if !cert.is_ca() && !v1_anchor {
                problems.push(PathProblem::NotACa { index });
            }
            let ku = cert.key_usage();
            if ku.present && !ku.key_cert_sign {
                problems.push(PathProblem::IssuerKeyUsage { index });
            }
            if let Ok(Some((
                _,
                BasicConstraints {
                    path_len_constraint: Some(max),
                    ..
                },
            ))) = cert
                .inner()
                .tbs_certificate()
                .get_extension::<BasicConstraints>()
            {
                // Non-self-issued intermediates below this CA (the signer does not count).
                let below = chain
                    .get(1..index)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| !c.is_self_issued())
                    .count();
                if below > usize::from(max) {
                    problems.push(PathProblem::PathTooLong { index, max });
                }
            }
        }

        // Signature, by the next certificate (the anchor's own is not checked).
        if let Some(issuer) = chain.get(index + 1) {
            match check_cert_signature(cert, issuer) {
                Ok(info) if info.hash == SigHash::Sha1 && policy.allow_sha1 => {
                    notes.push(PathNote::Sha1Accepted { index });
                }
                Ok(info) if info.hash.is_weak() => {
                    problems.push(PathProblem::WeakAlgorithm {
                        index,
                        hash: info.hash,
                    });
                }
                Ok(_) => {}
                Err(SigProblem::WeakAlgorithm(hash)) => {
                    problems.push(PathProblem::WeakAlgorithm { index, hash });
                }
                Err(SigProblem::WeakKey { bits }) => {
                    let p = PathProblem::WeakKey {
                        index: index + 1,
                        bits,
                    };
                    if !problems.contains(&p) {
                        problems.push(p);
                    }
                    problems.push(PathProblem::BadSignature {
                        index,
                        detail: format!("a {bits}-bit RSA key cannot be verified"),
                    });
                }
                Err(e @ SigProblem::BadSignature) | Err(e @ SigProblem::KeyMismatch) => {
                    problems.push(PathProblem::BadSignature {
                        index,
                        detail: e.to_string(),
                    });
                }
                Err(e) => problems.push(PathProblem::UnsupportedAlgorithm {
                    index,
                    detail: e.to_string(),
                }),
            }
        }
    }

    // The signer's key usage.
    if let Some(leaf) = chain.first() {
        let ku = leaf.key_usage();
        if !ku.present {
            notes.push(PathNote::LeafWithoutKeyUsage);
        } else if policy.require_leaf_ku && !ku.digital_signature && !ku.non_repudiation {
            problems.push(PathProblem::LeafKeyUsage);
        }
    }

    (problems, notes)
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
