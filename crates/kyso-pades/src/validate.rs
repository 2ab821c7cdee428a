//! Validating a signed document end to end: for every signature, its integrity
//! ([`crate::verify`]), its signer's certification path at the signing time
//! ([`kyso_x509::path`]) and the changes made after it ([`crate::revisions`]), combined into one
//! verdict per signature and one for the document (Decree 68 Arts. 30–32).
//!
//! A verdict is `valid` only when everything holds; `invalid` when something is proven wrong;
//! `indeterminate` when something needed for `valid` cannot be established. Every reason is a
//! stable code (see [`reasons`]) for reports and the JSON schema.
//!
//! Time (ETSI EN 319 102-1, simplified; ARCHITECTURE.md "Time"): the verdict is for a
//! validation time (now, or `--at`). Document timestamps are checked newest first; a valid one
//! proves that everything it covers existed at its time, so an older timestamp's TSA (or a
//! signature's) need only be valid then. A signature timestamp whose TSA is trusted proves the
//! signing time; otherwise the time is the signer's claim, accepted only while the signer's
//! certificate is still valid and not revoked at the validation time (`NOT_TIMESTAMPED`).
//! Revocation is established at the signing time (for a TSA: at its token's time) from the
//! document's DSS, or fetched when online.
//!
//! Algorithms: every algorithm is verified first (kyso-cms, kyso-ltv); the legacy ones a
//! verified signature or timestamp used are then judged by [`policy`] — acceptable only with a
//! proof of existence before their sunset date, else indeterminate
//! (`CRYPTO_CONSTRAINTS_FAILURE_NO_POE`); one kyso cannot verify is indeterminate
//! (`UNSUPPORTED_ALGORITHM`). Neither is ever a bad signature or a modification.

use std::sync::Arc;

use kyso_ltv::fetch::Fetch;
use kyso_ltv::{revocation, tsp, CertState};
use kyso_pdf::{Document, Limits, Source};
use kyso_x509::path::{build_and_validate, PathPolicy, PathStatus, TrustStore};
use kyso_x509::{oid, Cert};
use time::OffsetDateTime;

use crate::dss;
use crate::revisions::{self, ChangeReport};

pub mod etsi;
pub mod policy;
use crate::verify::{self, IntegrityReport, SignatureKind};
use crate::{pdfdate, Result};
use policy::AlgorithmJudgement;

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
    /// A certificate of the path is signed with an algorithm or key too weak (SHA-1, RSA
    /// below 2048 bits). (A signature's own legacy algorithms are judged by the algorithm
    /// policy: see [`CRYPTO_CONSTRAINTS_FAILURE_NO_POE`].)
    pub const WEAK_ALGORITHM: &str = "WEAK_ALGORITHM";
    /// The signature (or its timestamp) uses an algorithm kyso cannot verify: whether it is
    /// genuine is unknown (indeterminate), never claimed wrong.
    pub const UNSUPPORTED_ALGORITHM: &str = "UNSUPPORTED_ALGORITHM";
    /// The signature (or its timestamp) verified, but with a legacy algorithm (SHA-1, RSA
    /// below 2048 bits) and nothing proves it existed before that algorithm's sunset date
    /// ([`crate::validate::policy`]): indeterminate (ETSI EN 319 102-1's sub-indication of that name).
    pub const CRYPTO_CONSTRAINTS_FAILURE_NO_POE: &str = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE";
    /// A timestamp token is broken: not over this signature, its signature does not verify,
    /// or its signer is not a TSA.
    pub const TIMESTAMP_INVALID: &str = "TIMESTAMP_INVALID";
}

/// Warnings: reported, the verdict stands.
pub mod warnings {
    /// A legacy algorithm was accepted because the signature (or timestamp) is proven to
    /// predate its sunset date ([`crate::validate::policy`]).
    pub const LEGACY_ALGORITHM_ACCEPTED: &str = "LEGACY_ALGORITHM_ACCEPTED";
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
    /// The time the verdict is for, instead of now: a later time tells whether the document
    /// will still validate then (after the signer's certificate expired, say); an earlier one
    /// how it stood then.
    pub at: Option<OffsetDateTime>,
    /// The current time.
    pub now: OffsetDateTime,
    pub limits: Limits,
    /// Where to fetch revocation information the document does not carry (the
    /// certificates' OCSP responders and CRL distribution points); `None` never fetches.
    pub fetcher: Option<Arc<dyn Fetch>>,
}

impl ValidateOptions {
    /// Offline validation against `trust` at `now`, with the default limits.
    pub fn new(trust: TrustStore, now: OffsetDateTime) -> Self {
        ValidateOptions {
            trust,
            at: None,
            now,
            limits: Limits::default(),
            fetcher: None,
        }
    }
    /// The time the verdict is for.
    pub fn validation_time(&self) -> OffsetDateTime {
        self.at.unwrap_or(self.now)
    }
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
    /// Where each certificate of `chain` came from (the document, a trust anchor, or
    /// downloaded from a caIssuers URL when online).
    pub sources: Vec<kyso_ltv::chain::CertSource>,
    /// When the path was validated.
    pub at: OffsetDateTime,
}

/// One certificate's revocation status.
#[derive(Debug, Clone)]
pub struct CertRevocation {
    pub subject: String,
    pub serial: String,
    pub outcome: revocation::Outcome,
}

/// The revocation status of a path at one time: the worst of its certificates (revoked, then
/// unknown, then good), each listed.
#[derive(Debug, Clone)]
pub struct RevocationSummary {
    /// `good`, `revoked` or `unknown`.
    pub status: &'static str,
    /// When the status was established for (the signing time, or a timestamp's time).
    pub at: OffsetDateTime,
    /// The signer's certificate first, the anchor excluded.
    pub certs: Vec<CertRevocation>,
}

impl RevocationSummary {
    fn unknown(at: OffsetDateTime) -> Self {
        RevocationSummary {
            status: "unknown",
            at,
            certs: Vec::new(),
        }
    }
    /// The first revoked certificate's revocation (time, reason).
    pub fn revoked(&self) -> Option<(OffsetDateTime, Option<&'static str>)> {
        self.certs.iter().find_map(|c| match c.outcome.status {
            revocation::Status::Revoked { time, reason } => Some((time, reason)),
            _ => None,
        })
    }
    /// A certificate is good at `at` only because its revocation came later.
    pub fn revoked_later(&self) -> Option<OffsetDateTime> {
        self.certs.iter().find_map(|c| match &c.outcome.evidence {
            Some(e) if c.outcome.status == revocation::Status::Good => match e.state {
                CertState::Revoked { time, .. } => Some(time),
                _ => None,
            },
            _ => None,
        })
    }
}

/// A signature timestamp (RFC 3161 token in the signer's unsigned attributes).
#[derive(Debug, Clone)]
pub struct TimestampValidation {
    /// The TSA's time, when the token could be read.
    pub gen_time: Option<OffsetDateTime>,
    /// The TSA's certificate subject.
    pub tsa: Option<String>,
    /// `valid` (the time is proven), `invalid` (the token is broken or not over this
    /// signature) or `indeterminate` (its TSA could not be trusted).
    pub status: &'static str,
    pub problems: Vec<&'static str>,
    pub path: Option<PathSummary>,
    pub revocation: Option<RevocationSummary>,
    /// The token's legacy algorithms, judged by the algorithm policy.
    pub algorithms: Vec<AlgorithmJudgement>,
}

/// One signature's validation.
#[derive(Debug, Clone)]
pub struct SignatureValidation {
    pub field: String,
    pub kind: SignatureKind,
    pub sub_filter: Option<String>,
    pub signer: Option<SignerSummary>,
    /// The signing time: the timestamp's when proven, else the claimed one (`/M`, else the
    /// CMS signing-time attribute). A document timestamp's is its TSA's time.
    pub signing_time: Option<OffsetDateTime>,
    pub time_proven: bool,
    /// The time the signer claims, kept when a timestamp proves another.
    pub claimed_time: Option<OffsetDateTime>,
    pub timestamp: Option<TimestampValidation>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub intact: bool,
    /// Integrity failure codes (byte range, CMS).
    pub integrity_problems: Vec<&'static str>,
    pub covers_whole_file: bool,
    pub path: Option<PathSummary>,
    pub revocation: RevocationSummary,
    /// The changes after this signature (`None` when they could not be analysed).
    pub changes: Option<ChangeReport>,
    pub changes_error: Option<String>,
    /// A later document timestamp that proves this signature existed at its time (B-LTA).
    pub archived_at: Option<OffsetDateTime>,
    /// For an organization signature: whether its certificate names the document's issuing
    /// body (`None`: not an organization signature, or no header found on page 1).
    pub names_issuing_body: Option<bool>,
    pub verdict: Verdict,
    pub reasons: Vec<&'static str>,
    /// Legacy algorithms of the signature and of its timestamp, judged by the algorithm
    /// policy ([`policy`]).
    pub algorithms: Vec<AlgorithmJudgement>,
    /// Warnings ([`warnings`]): reported, the verdict stands.
    pub warnings: Vec<&'static str>,
    /// The verdict as ETSI EN 319 102-1 indications ([`etsi::status`]).
    pub etsi: etsi::Status,
}

/// The whole document.
#[derive(Debug, Clone)]
pub struct DocumentValidation {
    pub verdict: Verdict,
    pub reasons: Vec<&'static str>,
    pub signatures: Vec<SignatureValidation>,
    pub has_personal: bool,
    pub has_organization: bool,
    /// The issuing body the document names at the top left of page 1 (Decree 30).
    pub issuing_body: Option<String>,
    /// Whether an organization signature's certificate names that body (`None` without an
    /// organization signature or a header).
    pub organization_names_issuing_body: Option<bool>,
    /// The time the verdict is for.
    pub validated_at: OffsetDateTime,
    /// Whether revocation information was fetched (online) or only read from the document.
    pub online: bool,
    /// The number and date filled in the document's fields after the personal signature
    /// (`crate::numbering`), as the newest revision shows them; `None` without such fields.
    pub numbering: Option<crate::numbering::Issued>,
}

/// What every signature's checks share: the document's DSS, the revocation checker, the
/// certificates available for path building.
struct Context<'a> {
    opts: &'a ValidateOptions,
    checker: revocation::Checker<'a>,
    /// DSS certificates (and, per signature, the CMS's own are added).
    pool: Vec<Cert>,
    /// The time the verdict is for.
    v_time: OffsetDateTime,
}

/// Validate every signature of the document in `src`.
#[tracing::instrument(name = "validate", level = "info", skip_all, fields(bytes = src.len(), online = opts.fetcher.is_some()))]
pub fn validate(src: Arc<dyn Source>, opts: &ValidateOptions) -> Result<DocumentValidation> {
    let doc = Document::open(src, opts.limits.clone())?;
    let integrity = verify::verify_document(&doc)?;
    // Read once, used for every signature's change analysis.
    let revs = revisions::revisions(&doc);
    let store = dss::read_dss(&doc).unwrap_or_default();
    // Evidence the document carries: its DSS, and what signers embedded in their signed
    // attributes (adbe-revocationInfoArchival, as Acrobat and iText-based signers do).
    let (mut ocsps, mut crls) = (store.ocsps, store.crls);
    for raw in integrity.iter().filter_map(|r| {
        r.cms
            .as_ref()?
            .signed_attrs
            .as_ref()?
            .revocation_archival
            .as_deref()
    }) {
        let (c, o) = kyso_ltv::asn1::RevocationInfoArchival::blobs(raw);
        crls.extend(c);
        ocsps.extend(o);
    }
    let ctx = Context {
        opts,
        checker: revocation::Checker::new(ocsps, crls, opts.fetcher.as_deref(), opts.now),
        pool: store.certs,
        v_time: opts.validation_time(),
    };

    // Document timestamps first, newest to oldest: each proves that everything it covers
    // existed at its time, which is when an earlier timestamp's TSA must still be valid.
    let mut order: Vec<usize> = (0..integrity.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(integrity.get(i).map_or(0, signed_end)));
    let mut results: Vec<Option<SignatureValidation>> = vec![None; integrity.len()];
    // (end of the first signed range, genTime) of each document timestamp found valid.
    let mut archives: Vec<(u64, OffsetDateTime)> = Vec::new();
    for i in order {
        let Some(report) = integrity.get(i) else {
            continue;
        };
        let end = signed_end(report);
        let archived_at = archives
            .iter()
            .filter(|(covered_up_to, _)| end <= *covered_up_to)
            .map(|(_, t)| *t)
            .min();
        let v = validate_one(&ctx, &doc, revs.as_deref(), report, archived_at);
        if v.kind == SignatureKind::DocTimeStamp && v.verdict == Verdict::Valid {
            if let (Some(t), Some([_, b, _, _])) = (v.signing_time, report.signature.byte_range) {
                archives.push((b, t));
            }
        }
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(v);
        }
    }
    let mut signatures: Vec<SignatureValidation> = results.into_iter().flatten().collect();
    // Page 1's text is read only when there is an organization signature to check against it.
    let header = has_role(&signatures, Role::Organization)
        .then(|| crate::issuer::issuing_body(&doc))
        .flatten();
    for s in &mut signatures {
        if let (Some(h), Some(x)) = (&header, &s.signer) {
            if s.kind == SignatureKind::Signature && x.role == Role::Organization {
                let names: Vec<String> = [x.name.clone(), x.organization.clone()]
                    .into_iter()
                    .flatten()
                    .collect();
                s.names_issuing_body = Some(h.named_by(&names));
            }
        }
    }
    let organization_names_issuing_body = signatures
        .iter()
        .filter_map(|s| s.names_issuing_body)
        .reduce(|a, b| a || b);

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
    Ok(DocumentValidation {
        verdict,
        reasons,
        has_personal: has_role(&signatures, Role::Personal),
        has_organization: has_role(&signatures, Role::Organization),
        issuing_body: header.map(|h| h.text()),
        organization_names_issuing_body,
        signatures,
        validated_at: ctx.v_time,
        online: opts.fetcher.is_some(),
        numbering: crate::numbering::issued(&doc).ok().flatten(),
    })
}

/// Does a signature (not a document timestamp) play `role`?
fn has_role(signatures: &[SignatureValidation], role: Role) -> bool {
    signatures.iter().any(|s| {
        s.kind == SignatureKind::Signature && s.signer.as_ref().is_some_and(|x| x.role == role)
    })
}

/// Where a signature's signed bytes end (its revision's end).
fn signed_end(r: &IntegrityReport) -> u64 {
    r.signature
        .byte_range
        .map_or(0, |[_, _, c, d]| c.saturating_add(d))
}

/// Verdict reasons collected while checking.
#[derive(Default)]
struct Reasons {
    invalid: Vec<&'static str>,
    indeterminate: Vec<&'static str>,
}

impl Reasons {
    fn invalid(&mut self, code: &'static str) {
        if !self.invalid.contains(&code) {
            self.invalid.push(code);
        }
    }
    fn indeterminate(&mut self, code: &'static str) {
        if !self.indeterminate.contains(&code) {
            self.indeterminate.push(code);
        }
    }
    fn verdict(self) -> (Verdict, Vec<&'static str>) {
        if !self.invalid.is_empty() {
            (Verdict::Invalid, self.invalid)
        } else if !self.indeterminate.is_empty() {
            (Verdict::Indeterminate, self.indeterminate)
        } else {
            (Verdict::Valid, Vec::new())
        }
    }
    /// The path's problems as verdict reasons.
    fn path(&mut self, path: Option<&PathSummary>, no_anchors: bool) {
        use reasons::*;
        match path {
            Some(p) if p.status == "no_anchor" => {
                if no_anchors {
                    self.indeterminate(NO_TRUST_ANCHOR);
                } else {
                    self.invalid(UNTRUSTED_ROOT);
                }
            }
            Some(p) if p.status == "invalid" => {
                for code in &p.problems {
                    self.invalid(match *code {
                        "CERT_EXPIRED" | "CERT_NOT_YET_VALID" => CERT_EXPIRED,
                        "WEAK_ALGORITHM" | "WEAK_KEY" => WEAK_ALGORITHM,
                        _ => CERT_PATH_INVALID,
                    });
                }
            }
            Some(_) => {}
            None => self.invalid(MALFORMED),
        }
    }
}

impl Context<'_> {
    /// Build and validate the path of `leaf` at `at`, with `extra` certificates (the CMS's).
    #[tracing::instrument(name = "path", level = "debug", skip_all)]
    fn path(&self, leaf: &Cert, extra: &[Cert], at: OffsetDateTime) -> (PathSummary, Vec<Cert>) {
        let mut pool: Vec<Cert> = extra.to_vec();
        pool.extend(self.pool.iter().cloned());
        let mut p = build_and_validate(leaf, &pool, &self.opts.trust, &PathPolicy::new(at));
        // Online, a path the document leaves short of an anchor is completed from the
        // certificates' AIA caIssuers URLs (kyso_ltv::chain).
        let anchors = self.opts.trust.anchors();
        let mut fetched = Vec::new();
        if let (PathStatus::NoAnchor, Some(f)) = (&p.status, self.opts.fetcher.as_deref()) {
            fetched = kyso_ltv::chain::fetch_missing(leaf, &pool, anchors, f);
            if !fetched.is_empty() {
                pool.extend(fetched.iter().map(|(c, _)| c.clone()));
                p = build_and_validate(leaf, &pool, &self.opts.trust, &PathPolicy::new(at));
            }
        }
        let status = match &p.status {
            PathStatus::Valid => "valid",
            PathStatus::Invalid(_) => "invalid",
            PathStatus::NoAnchor => "no_anchor",
        };
        (
            PathSummary {
                status,
                problems: p.status.codes(),
                chain: p.chain.iter().map(Cert::subject_display).collect(),
                sources: p
                    .chain
                    .iter()
                    .map(|c| kyso_ltv::chain::source_of(c, anchors, &fetched))
                    .collect(),
                at,
            },
            p.chain,
        )
    }

    /// The revocation status at `at` of every certificate of `chain` but its anchor.
    #[tracing::instrument(name = "revocation", level = "debug", skip_all, fields(certs = chain.len()))]
    fn revocation(&self, chain: &[Cert], at: OffsetDateTime) -> RevocationSummary {
        let mut certs = Vec::new();
        for pair in chain.windows(2) {
            let [cert, issuer] = pair else { continue };
            certs.push(CertRevocation {
                subject: cert.subject_display(),
                serial: cert.serial_hex(),
                outcome: self.checker.status(cert, issuer, at),
            });
        }
        let worst = |s: &revocation::Status| match s {
            revocation::Status::Revoked { .. } => 2,
            revocation::Status::Unknown => 1,
            revocation::Status::Good => 0,
        };
        let status = certs
            .iter()
            .map(|c| &c.outcome.status)
            .max_by_key(|s| worst(s))
            .map_or("unknown", revocation::Status::as_str);
        RevocationSummary { status, at, certs }
    }

    /// Check a signature timestamp token over `signature_value`.
    fn signature_timestamp(
        &self,
        token: &[u8],
        signature_value: &[u8],
        cms_certs: &[Cert],
        archived_at: Option<OffsetDateTime>,
    ) -> TimestampValidation {
        let t = tsp::check_token(token, |alg| alg.digest(signature_value));
        let mut problems = t.failure_codes();
        if let Some(s) = &t.signer {
            problems.extend(s.failures());
        }
        // Legacy algorithms of an intact token: acceptable only if something other than the
        // token itself proves it existed before their sunset (a later document timestamp).
        let algorithms = if t.is_intact() {
            policy::judge("timestamp", &t.legacy(), archived_at.unwrap_or(self.v_time))
        } else {
            Vec::new()
        };
        let crypto_ok = algorithms.iter().all(|j| j.acceptable);
        if !crypto_ok {
            problems.push(reasons::CRYPTO_CONSTRAINTS_FAILURE_NO_POE);
        }
        let gen_time = t.gen_time();
        let tsa = t.tsa_certificate();
        let (path, revocation) = match (tsa, gen_time) {
            (Some(cert), Some(gen)) if t.is_intact() => {
                let mut extra = t.certificates().to_vec();
                extra.extend(cms_certs.iter().cloned());
                let (path, chain) = self.path(cert, &extra, archived_at.unwrap_or(self.v_time));
                // The TSA's revocation at its own time (see ARCHITECTURE.md "Time").
                let rev = self.revocation(&chain, gen);
                (Some(path), Some(rev))
            }
            _ => (None, None),
        };
        let status = if !t.is_intact() {
            if t.is_unsupported() {
                "indeterminate"
            } else {
                "invalid"
            }
        } else if !crypto_ok {
            "indeterminate"
        } else if path.as_ref().is_some_and(|p| p.status == "valid")
            && revocation.as_ref().is_some_and(|r| r.status == "good")
        {
            "valid"
        } else {
            "indeterminate"
        };
        TimestampValidation {
            gen_time,
            tsa: tsa.map(Cert::subject_display),
            status,
            problems,
            path,
            revocation,
            algorithms,
        }
    }
}

#[tracing::instrument(name = "validate_signature", level = "debug", skip_all, fields(field = %report.signature.field_name))]
fn validate_one(
    ctx: &Context<'_>,
    doc: &Document,
    revs: std::result::Result<&[revisions::Revision], &crate::Error>,
    report: &IntegrityReport,
    archived_at: Option<OffsetDateTime>,
) -> SignatureValidation {
    use reasons::*;
    let opts = ctx.opts;
    let sig = &report.signature;
    let cms = report.cms.as_ref();
    let cms_cert = cms.and_then(|c| c.signer_certificate());
    let cms_certs: &[Cert] = cms.map(|c| c.certificates.as_slice()).unwrap_or_default();
    let signer = cms_cert.map(SignerSummary::of);
    let is_doc_ts = sig.kind == SignatureKind::DocTimeStamp;
    let claimed = sig
        .m
        .as_deref()
        .and_then(pdfdate::parse_pdf_date)
        .or_else(|| {
            cms.and_then(|c| c.signed_attrs.as_ref())
                .and_then(|a| a.signing_time)
                .map(OffsetDateTime::from)
        });
    let integrity_problems = report.failure_codes();
    let mut r = Reasons::default();
    for code in &integrity_problems {
        if *code == "UNSUPPORTED_ALGORITHM" {
            r.indeterminate(UNSUPPORTED_ALGORITHM);
            continue;
        }
        r.invalid(match *code {
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
        });
    }

    // The signing time: a document timestamp's is its TSA's; a signature's is proven by a
    // valid signature timestamp, else only claimed.
    let timestamp = match (is_doc_ts, cms) {
        (false, Some(c)) => c
            .timestamp_tokens
            .first()
            .map(|tok| ctx.signature_timestamp(tok, &c.signature, cms_certs, archived_at)),
        _ => None,
    };
    if let Some(t) = &timestamp {
        if t.status == "invalid" {
            r.invalid(TIMESTAMP_INVALID);
        }
        if t.problems.iter().any(|p| {
            *p == tsp::codes::TST_UNSUPPORTED_HASH || *p == tsp::codes::TST_UNSUPPORTED_ALGORITHM
        }) {
            r.indeterminate(UNSUPPORTED_ALGORITHM);
        }
        if t.problems.contains(&CRYPTO_CONSTRAINTS_FAILURE_NO_POE) {
            r.indeterminate(CRYPTO_CONSTRAINTS_FAILURE_NO_POE);
        }
    }
    let doc_ts_time = if is_doc_ts {
        cms.and_then(|c| tsp::read_tst_info(c).ok())
            .map(|t| t.gen_time.0)
    } else {
        None
    };
    if is_doc_ts {
        // A document timestamp signed by a certificate that is not a TSA's.
        if cms_cert.and_then(tsp::check_tsa_certificate).is_some() {
            r.invalid(TIMESTAMP_INVALID);
        }
        if doc_ts_time.is_none() {
            r.invalid(MALFORMED);
        }
    }
    let proven = match (&timestamp, doc_ts_time) {
        (_, Some(t)) => Some(t),
        (Some(ts), _) if ts.status == "valid" => ts.gen_time,
        _ => None,
    };
    let time_proven = proven.is_some();
    let signing_time = proven.or(claimed);

    // Legacy algorithms of the signature itself (policy::judge): acceptable when proven to
    // predate their sunset — by its valid signature timestamp, a later document timestamp,
    // or the validation time itself. A document timestamp's own time proves nothing about it.
    let mut legacy = report
        .signer
        .as_ref()
        .map(|s| s.legacy.clone())
        .unwrap_or_default();
    if is_doc_ts {
        let imprint = cms.and_then(|c| tsp::read_tst_info(c).ok()).and_then(|t| {
            kyso_cms::DigestAlgorithm::recognised(&t.message_imprint.hash_algorithm.oid)
        });
        if imprint.is_some_and(kyso_cms::DigestAlgorithm::is_weak)
            && !legacy.contains(&kyso_cms::verify::LegacyAlgorithm::Sha1)
        {
            legacy.push(kyso_cms::verify::LegacyAlgorithm::Sha1);
        }
    }
    let own_poe = if is_doc_ts { None } else { proven };
    let poe = [own_poe, archived_at, Some(ctx.v_time)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(ctx.v_time);
    let mut algorithms = if report.is_intact() {
        policy::judge(
            if is_doc_ts {
                "document_timestamp"
            } else {
                "signature"
            },
            &legacy,
            poe,
        )
    } else {
        Vec::new()
    };
    if algorithms.iter().any(|j| !j.acceptable) {
        r.indeterminate(CRYPTO_CONSTRAINTS_FAILURE_NO_POE);
    }
    if let Some(t) = &timestamp {
        algorithms.extend(t.algorithms.iter().cloned());
    }
    let mut warnings = Vec::new();
    if algorithms.iter().any(|j| j.acceptable) {
        warnings.push(self::warnings::LEGACY_ALGORITHM_ACCEPTED);
    }

    // The certification path at the signing time. A document timestamp's TSA must be valid
    // when the timestamp is validated: now (or --at), or when a later archive timestamp
    // proves the document existed.
    let path_time = if is_doc_ts {
        archived_at.unwrap_or(ctx.v_time)
    } else {
        signing_time.unwrap_or(ctx.v_time)
    };
    let checked = cms_cert.map(|cert| ctx.path(cert, cms_certs, path_time));
    let path = checked.as_ref().map(|(p, _)| p.clone());
    r.path(path.as_ref(), opts.trust.anchors().is_empty());

    // Revocation at the signing time (a timestamp's: at its own time).
    let rev_time = if is_doc_ts {
        doc_ts_time.unwrap_or(ctx.v_time)
    } else {
        signing_time.unwrap_or(ctx.v_time)
    };
    let revocation = match &checked {
        Some((p, chain)) if p.status != "no_anchor" => ctx.revocation(chain, rev_time),
        _ => RevocationSummary::unknown(rev_time),
    };
    match revocation.status {
        "revoked" => r.invalid(CERT_REVOKED),
        "unknown" if path.as_ref().is_some_and(|p| p.status == "valid") => {
            r.indeterminate(REVOCATION_UNKNOWN)
        }
        _ => {}
    }
    let mut revoked_before_poe = false;
    if let Some(cert) = cms_cert {
        if !time_proven {
            // The claim is accepted only up to the first proof of existence: a later archive
            // timestamp, else the validation time. Expired or revoked by then, only a proven
            // signing time could tell that the signature came first.
            let witness = archived_at.unwrap_or(ctx.v_time);
            let revoked_by_then = revocation.revoked_later().is_some_and(|t| t <= witness);
            if !cert.valid_at(witness) || revoked_by_then {
                r.indeterminate(NOT_TIMESTAMPED);
            }
            revoked_before_poe = revoked_by_then;
        }
    }

    // Changes after the signature.
    let (changes, changes_error) = match (sig.byte_range, revs) {
        (Some([_, _, c, d]), Ok(revs)) => match revisions::changes_after_in(
            doc,
            revs,
            c.saturating_add(d),
            opts.limits.clone(),
            // `/Info` and XMP updates are reported but allowed, as pyHanko and Acrobat do:
            // they are not rendered, and every other signer rewrites `/ModDate` (refusing them
            // would refuse every document countersigned or extended by another tool).
            revisions::Policy {
                allow_metadata: true,
                ..Default::default()
            },
        ) {
            Ok(rep) => (Some(rep), None),
            Err(e) => (None, Some(e.to_string())),
        },
        (None, _) => (None, Some("no byte range".to_owned())),
        (_, Err(e)) => (None, Some(e.to_string())),
    };
    match &changes {
        Some(c) if c.verdict == revisions::Verdict::Disallowed => r.invalid(DOCUMENT_MODIFIED),
        Some(_) => {}
        None => r.invalid(DOCUMENT_MODIFIED),
    }

    let (verdict, reasons) = r.verdict();
    let etsi = etsi::status(&etsi::Facts {
        document_timestamp: is_doc_ts,
        reasons: &reasons,
        integrity_problems: &integrity_problems,
        path_problems: path.as_ref().map_or(&[][..], |p| p.problems.as_slice()),
        timestamp_problems: timestamp
            .as_ref()
            .map_or(&[][..], |t| t.problems.as_slice()),
        time_proven,
        signer_revoked: revocation
            .certs
            .first()
            .is_some_and(|c| matches!(c.outcome.status, revocation::Status::Revoked { .. })),
        revoked_before_poe,
    });
    SignatureValidation {
        field: sig.field_name.clone(),
        kind: sig.kind,
        sub_filter: sig.sub_filter.clone(),
        signer,
        signing_time,
        time_proven,
        claimed_time: claimed,
        timestamp,
        reason: sig.reason.clone(),
        location: sig.location.clone(),
        intact: report.is_intact(),
        integrity_problems,
        covers_whole_file: report.byte_range.covers_whole_file,
        path,
        revocation,
        changes,
        changes_error,
        archived_at,
        names_issuing_body: None,
        verdict,
        reasons,
        algorithms,
        warnings,
        etsi,
    }
}

/// The signing time as Decree 30 writes it: ISO 8601 in Vietnam time.
pub fn display_time(t: OffsetDateTime) -> String {
    pdfdate::iso8601_vn(t)
}
