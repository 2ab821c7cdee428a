//! Validating a signed document end to end: for every signature, its integrity
//! ([`crate::verify`]), its signer's certification path at the signing time
//! ([`kyso_x509::path`]) and the changes made after it ([`crate::revisions`]), combined into one
//! verdict per signature and one for the document (Decree 68 Arts. 30–32).
//!
//! A verdict is `valid` only when everything holds; `invalid` when something is proven wrong;
//! `indeterminate` when something needed for `valid` cannot be established. Every reason is a
//! stable code (see [`reasons`]) for reports and the JSON schema.
//!
//! Not yet established here (reported, never assumed): revocation status
//! (`REVOCATION_UNKNOWN`, until CRL/OCSP checking arrives) and signature timestamps (the
//! signing time is the signer's claim, `NOT_TIMESTAMPED`).

use std::sync::Arc;

use kyso_pdf::{Document, Limits, Source};
use kyso_x509::path::{build_and_validate, PathPolicy, PathStatus, TrustStore};
use kyso_x509::{oid, Cert};
use time::OffsetDateTime;

use crate::revisions::{self, ChangeReport};
use crate::verify::{self, IntegrityReport, SignatureKind};
use crate::{pdfdate, Result};

/// Stable reason codes of verdicts.
pub mod reasons {
    /// The signed bytes changed, the byte range is not what it claims, or a later revision
    /// made a change that is not allowed after this signature.
    pub const DOCUMENT_MODIFIED: &str = "DOCUMENT_MODIFIED";
    /// The CMS signature value does not verify with the signer's key.
    pub const BAD_SIGNATURE: &str = "BAD_SIGNATURE";
    /// The signature container or its dictionary cannot be read.
    pub const MALFORMED: &str = "MALFORMED";
    /// The path reaches no trusted root.
    pub const UNTRUSTED_ROOT: &str = "UNTRUSTED_ROOT";
    /// No trust anchor was given, so no path can be trusted.
    pub const NO_TRUST_ANCHOR: &str = "NO_TRUST_ANCHOR";
    /// A certificate of the path had expired at the signing time.
    pub const CERT_EXPIRED: &str = "CERT_EXPIRED";
    /// The certificate was revoked before the signing time.
    pub const CERT_REVOKED: &str = "CERT_REVOKED";
    /// Revocation status not established.
    pub const REVOCATION_UNKNOWN: &str = "REVOCATION_UNKNOWN";
    /// The signing time is only claimed (no signature timestamp).
    pub const NOT_TIMESTAMPED: &str = "NOT_TIMESTAMPED";
    /// The certification path is invalid for another reason (see the path's problem codes).
    pub const CERT_PATH_INVALID: &str = "CERT_PATH_INVALID";
    /// An algorithm or key too weak for new signatures (SHA-1, RSA below 2048 bits).
    pub const WEAK_ALGORITHM: &str = "WEAK_ALGORITHM";
}

/// The verdict on a signature or a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Valid,
    Indeterminate,
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Indeterminate => "indeterminate",
            Verdict::Invalid => "invalid",
        }
    }
}

/// What to validate against.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    pub trust: TrustStore,
    /// Validate the path at this time instead of the signing time.
    pub at: Option<OffsetDateTime>,
    /// The current time (when no signing time is known).
    pub now: OffsetDateTime,
    pub limits: Limits,
}

/// Decree 30 roles a certificate plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An individual's certificate (the person's own signature).
    Personal,
    /// An agency's certificate (the organization signature, the seal).
    Organization,
}

/// Who signed, from the certificate's subject.
#[derive(Debug, Clone)]
pub struct SignerSummary {
    pub name: Option<String>,
    pub title: Option<String>,
    pub unit: Option<String>,
    pub organization: Option<String>,
    pub province: Option<String>,
    pub serial: String,
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub role: Role,
}

impl SignerSummary {
    pub fn of(cert: &Cert) -> Self {
        let name = cert.common_name();
        let organization = cert.subject_attr(oid::O);
        let title = cert.subject_attr(oid::TITLE);
        // An agency's certificate names the agency itself (CN = O) and no person's title.
        let role = match (&name, &organization) {
            (Some(n), Some(o)) if title.is_none() && same_name(n, o) => Role::Organization,
            _ => Role::Personal,
        };
        SignerSummary {
            name,
            title,
            unit: cert.subject_attr(oid::OU),
            organization,
            province: cert.subject_attr(oid::ST),
            serial: cert.serial_hex(),
            issuer: cert
                .issuer_common_name()
                .unwrap_or_else(|| cert.issuer_display()),
            not_before: cert.not_before(),
            not_after: cert.not_after(),
            role,
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// The certification path, summarised.
#[derive(Debug, Clone)]
pub struct PathSummary {
    /// `valid`, `invalid` or `no_anchor`.
    pub status: &'static str,
    pub problems: Vec<&'static str>,
    /// Subjects, signer first.
    pub chain: Vec<String>,
    /// When the path was validated.
    pub at: OffsetDateTime,
}

/// One signature's validation.
#[derive(Debug, Clone)]
pub struct SignatureValidation {
    pub field: String,
    pub kind: SignatureKind,
    pub sub_filter: Option<String>,
    pub signer: Option<SignerSummary>,
    /// The claimed signing time (`/M`, else the CMS signing-time attribute).
    pub signing_time: Option<OffsetDateTime>,
    pub time_proven: bool,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub intact: bool,
    /// Integrity failure codes (byte range, CMS).
    pub integrity_problems: Vec<&'static str>,
    pub covers_whole_file: bool,
    pub path: Option<PathSummary>,
    /// `unknown` for now (see the module documentation).
    pub revocation: &'static str,
    /// The changes after this signature (`None` when they could not be analysed).
    pub changes: Option<ChangeReport>,
    pub changes_error: Option<String>,
    pub verdict: Verdict,
    pub reasons: Vec<&'static str>,
}

/// The whole document.
#[derive(Debug, Clone)]
pub struct DocumentValidation {
    pub verdict: Verdict,
    pub reasons: Vec<&'static str>,
    pub signatures: Vec<SignatureValidation>,
    pub has_personal: bool,
    pub has_organization: bool,
}

/// Validate every signature of the document in `src`.
pub fn validate(src: Arc<dyn Source>, opts: &ValidateOptions) -> Result<DocumentValidation> {
    let doc = Document::open(src, opts.limits.clone())?;
    let integrity = verify::verify_document(&doc)?;
    // Read once, used for every signature's change analysis.
    let revs = revisions::revisions(&doc);
    let signatures: Vec<SignatureValidation> = integrity
        .into_iter()
        .map(|r| validate_one(&doc, revs.as_deref(), r, opts))
        .collect();
    let verdict = signatures
        .iter()
        .map(|s| s.verdict)
        .max()
        .unwrap_or(Verdict::Indeterminate);
    let mut reasons: Vec<&'static str> = Vec::new();
    if signatures.is_empty() {
        reasons.push("NO_SIGNATURE");
    }
    for r in signatures.iter().flat_map(|s| &s.reasons) {
        if !reasons.contains(r) {
            reasons.push(r);
        }
    }
    let role = |role: Role| {
        signatures
            .iter()
            .any(|s| s.signer.as_ref().is_some_and(|x| x.role == role))
    };
    Ok(DocumentValidation {
        verdict,
        reasons,
        has_personal: role(Role::Personal),
        has_organization: role(Role::Organization),
        signatures,
    })
}

fn validate_one(
    doc: &Document,
    revs: std::result::Result<&[revisions::Revision], &crate::Error>,
    report: IntegrityReport,
    opts: &ValidateOptions,
) -> SignatureValidation {
    use reasons::*;
    let sig = &report.signature;
    let cms_cert = report.cms.as_ref().and_then(|c| c.signer_certificate());
    let signer = cms_cert.map(SignerSummary::of);
    let claimed = sig
        .m
        .as_deref()
        .and_then(pdfdate::parse_pdf_date)
        .or_else(|| {
            report
                .cms
                .as_ref()
                .and_then(|c| c.signed_attrs.as_ref())
                .and_then(|a| a.signing_time)
                .map(OffsetDateTime::from)
        });
    let integrity_problems = report.failure_codes();
    let mut invalid: Vec<&'static str> = Vec::new();
    let mut indeterminate: Vec<&'static str> = Vec::new();
    let add = |v: &mut Vec<&'static str>, code: &'static str| {
        if !v.contains(&code) {
            v.push(code);
        }
    };
    for code in &integrity_problems {
        let reason = match *code {
            "BAD_SIGNATURE" | "SIGNING_CERT_MISMATCH" | "ALGORITHM_PROTECTION_MISMATCH" => {
                BAD_SIGNATURE
            }
            "WEAK_ALGORITHM" => WEAK_ALGORITHM,
            "DIGEST_MISMATCH"
            | "BYTE_RANGE_MALFORMED"
            | "BYTE_RANGE_GAP_MISMATCH"
            | "BYTE_RANGE_NOT_REVISION_END"
            | "TIMESTAMP_IMPRINT_MISMATCH" => DOCUMENT_MODIFIED,
            _ => MALFORMED,
        };
        add(&mut invalid, reason);
    }

    // The certification path at the signing time (or --at).
    let at = opts.at.or(claimed).unwrap_or(opts.now);
    let path = cms_cert.map(|cert| {
        let pool = report
            .cms
            .as_ref()
            .map(|c| c.certificates.clone())
            .unwrap_or_default();
        let policy = PathPolicy::new(at);
        let p = build_and_validate(cert, &pool, &opts.trust, &policy);
        let status = match &p.status {
            PathStatus::Valid => "valid",
            PathStatus::Invalid(_) => "invalid",
            PathStatus::NoAnchor => "no_anchor",
        };
        PathSummary {
            status,
            problems: p.status.codes(),
            chain: p.chain.iter().map(Cert::subject_display).collect(),
            at,
        }
    });
    match &path {
        Some(p) if p.status == "no_anchor" => {
            if opts.trust.anchors().is_empty() {
                add(&mut indeterminate, NO_TRUST_ANCHOR);
            } else {
                add(&mut invalid, UNTRUSTED_ROOT);
            }
        }
        Some(p) if p.status == "invalid" => {
            for code in &p.problems {
                let reason = match *code {
                    "CERT_EXPIRED" | "CERT_NOT_YET_VALID" => CERT_EXPIRED,
                    "WEAK_ALGORITHM" | "WEAK_KEY" => WEAK_ALGORITHM,
                    _ => CERT_PATH_INVALID,
                };
                add(&mut invalid, reason);
            }
        }
        Some(_) => {}
        None => add(&mut invalid, MALFORMED),
    }

    // Changes after the signature.
    let (changes, changes_error) = match (sig.byte_range, revs) {
        (Some([_, _, c, d]), Ok(revs)) => match revisions::changes_after_in(
            doc,
            revs,
            c.saturating_add(d),
            opts.limits.clone(),
            revisions::Policy::default(),
        ) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        },
        (None, _) => (None, Some("no byte range".to_owned())),
        (_, Err(e)) => (None, Some(e.to_string())),
    };
    match &changes {
        Some(c) if c.verdict == revisions::Verdict::Disallowed => {
            add(&mut invalid, DOCUMENT_MODIFIED)
        }
        Some(_) => {}
        None => add(&mut invalid, DOCUMENT_MODIFIED),
    }

    // Not yet established: revocation; the signing time is a claim.
    add(&mut indeterminate, REVOCATION_UNKNOWN);
    let time_proven = false;
    if let Some(cert) = cms_cert {
        if !time_proven && !cert.valid_at(opts.now) {
            // Valid at the claimed time but not now: only a proven time could tell.
            add(&mut indeterminate, NOT_TIMESTAMPED);
        }
    }

    let (verdict, reasons) = if !invalid.is_empty() {
        (Verdict::Invalid, invalid)
    } else if !indeterminate.is_empty() {
        (Verdict::Indeterminate, indeterminate)
    } else {
        (Verdict::Valid, Vec::new())
    };
    SignatureValidation {
        field: sig.field_name.clone(),
        kind: sig.kind,
        sub_filter: sig.sub_filter.clone(),
        signer,
        signing_time: claimed,
        time_proven,
        reason: sig.reason.clone(),
        location: sig.location.clone(),
        intact: report.is_intact(),
        integrity_problems,
        covers_whole_file: report.byte_range.covers_whole_file,
        path,
        revocation: "unknown",
        changes,
        changes_error,
        verdict,
        reasons,
    }
}

/// The signing time as Decree 30 writes it: ISO 8601 in Vietnam time.
pub fn display_time(t: OffsetDateTime) -> String {
    pdfdate::iso8601_vn(t)
}
