//! The server's check of a signed document uploaded by a signing agent (issue 17 item 3):
//! the upload must be exactly the version the server handed out plus incremental updates that
//! add the one expected signature — by an accepted certificate, cryptographically intact,
//! covering the file to its end — and nothing else but what that step allows.
//!
//! * [`Step::Personal`]: the official's signature on the formatted draft. Allowed besides the
//!   signature: its field and widget, the AcroForm and the page's `/Annots` gaining them, and,
//!   for a certification (DocMDP `P=2` only: `P=1` would forbid the seal and `P=3` allows
//!   annotations), the catalog's `/Perms` naming it. An approval signature (as the national
//!   CA's signing service makes) is accepted too: the fill stays allowed without DocMDP.
//! * [`Step::Seal`]: the clerk's number and date (`crate::numbering`) then the organization
//!   signature. Allowed besides the signature: form filling of exactly the number and date
//!   fields, both filled, with the values the server expects when it names them.
//! * [`Step::Attachment`]: the clerk's organization signature with the Decree 30 attachment
//!   stamp on an attachment in its own file (issue 17 item 7), after the document itself is
//!   issued. Allowed besides the signature: its field and widget, the AcroForm and the page's
//!   `/Annots` gaining them — no form filling, no certification.
//!
//! At every step the agent may be set to a long-term level: after the signature, an update
//! adding validation data (B-LT: the DSS and its VRI) and a document timestamp (B-LTA, RFC 3161,
//! from any time-stamping authority, intact and covering the signature), possibly followed by
//! another DSS update, are accepted — those and nothing else: no second signature, no form
//! filling after the signature, no other change in those updates.
//!
//! The change analysis is `crate::revisions` run from the end of the previous version (which
//! need not be signed), so every rule it applies (DocMDP, FieldMDP locks, overlays, hidden
//! objects, trailing data) applies here, and then only the codes the step allows are kept.

use std::collections::HashSet;
use std::sync::Arc;

use kyso_pdf::{Document, Limits, MemSource, Object, Source};
use kyso_x509::Cert;

use crate::numbering::{self, Issued, DATE_FIELD, NUMBER_FIELD};
use crate::revisions::{self, Policy};
use crate::verify::{self, SignatureKind};

/// Which step of the document flow the upload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The personal signature on the formatted draft.
    Personal,
    /// The number and date filled, then the organization signature. `number` and `date`,
    /// when given, must be the values filled.
    Seal {
        number: Option<String>,
        date: Option<time::Date>,
    },
    /// The organization signature on an attachment in its own file: one approval signature,
    /// nothing else changed.
    Attachment,
}

/// The one signature the upload must add.
#[derive(Debug, Clone)]
pub struct ExpectedSignature {
    /// The certificates accepted for the signer (the registry's subscriber for this role);
    /// one matches when the signer's certificate is byte-for-byte equal, or has the same
    /// public key ([`ExpectedSignature::by_key`]).
    pub certificates: Vec<Cert>,
    /// Accept any certificate with the public key of one of `certificates` (a renewed
    /// certificate for the same key on the token).
    pub by_key: bool,
    pub step: Step,
    /// Limits for reading the upload.
    pub limits: Limits,
    /// When the previous version carries no signature (a scan to be digitised), the new
    /// signature's own widget may be drawn over the page (`revisions::Policy::
    /// signature_over_unsigned`). Default `false`.
    pub may_cover_unsigned: bool,
}

impl ExpectedSignature {
    pub fn new(certificates: Vec<Cert>, step: Step) -> Self {
        ExpectedSignature {
            certificates,
            by_key: false,
            step,
            limits: Limits::default(),
            may_cover_unsigned: false,
        }
    }
}

/// What an accepted upload added.
#[derive(Debug, Clone)]
pub struct UploadCheck {
    /// The new signature's field.
    pub field: String,
    /// The signer's certificate (one of the expected ones, or with the same key).
    pub signer: Cert,
    /// Revisions the upload appended.
    pub revisions_added: usize,
    /// DocMDP `P` of a certification signature added at [`Step::Personal`].
    pub certified: Option<u8>,
    /// The number and date the document carries after the upload.
    pub numbering: Option<Issued>,
    /// The change codes the analysis found in the new revisions (all allowed).
    pub changes: Vec<&'static str>,
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadRefusal {
    /// The upload does not begin with the previous version's bytes (something before the
    /// new updates changed), or is no longer than it.
    #[error("the uploaded file is not the previous version followed by incremental updates")]
    PrefixChanged,
    /// The upload could not be read as a PDF or analysed.
    #[error("the uploaded file cannot be read: {0}")]
    Unreadable(String),
    /// No signature was added.
    #[error("no new signature")]
    NoNewSignature,
    /// More than one signature (or document timestamp) was added.
    #[error("{0} new signatures instead of one")]
    TooManySignatures(usize),
    /// The new signature is a document timestamp.
    #[error("the new signature is a document timestamp")]
    NotASignature,
    /// The signer is not one of the expected certificates.
    #[error("signed by {subject}, not by an expected certificate")]
    WrongSigner { subject: String },
    /// The signature is not intact (byte range, CMS, signature value).
    #[error("the new signature is not valid: {}", codes.join(", "))]
    InvalidSignature { codes: Vec<&'static str> },
    /// The signature does not cover the file to its end.
    #[error("the new signature does not cover the whole file")]
    NotWholeFile,
    /// A change the step does not allow (`codes`: the change codes, with details).
    #[error("changes not allowed at this step: {}", details.join("; "))]
    DisallowedChange {
        codes: Vec<&'static str>,
        details: Vec<String>,
    },
    /// A certification with another permission than `P=2`.
    #[error("a certification signature with DocMDP P={0} (only P=2 leaves the number and date fillable)")]
    WrongCertification(u8),
    /// At the seal: the number or date is missing or not the expected value.
    #[error("the number or date is missing or not the one expected")]
    WrongNumbering { found: Option<Issued> },
}

fn unreadable(e: impl std::fmt::Display) -> UploadRefusal {
    UploadRefusal::Unreadable(e.to_string())
}

/// Check that `uploaded` is `previous` plus the one `expected` signature and what its step
/// allows. See the module documentation.
#[tracing::instrument(name = "check_upload", level = "info", skip_all, fields(
    previous = previous.len(), uploaded = uploaded.len()))]
pub fn check_upload(
    previous: &[u8],
    uploaded: &[u8],
    expected: &ExpectedSignature,
) -> Result<UploadCheck, UploadRefusal> {
    if uploaded.len() <= previous.len() || !uploaded.starts_with(previous) {
        return Err(UploadRefusal::PrefixChanged);
    }
    let prev_len = previous.len() as u64;
    let len = uploaded.len() as u64;
    let src: Arc<dyn Source> = Arc::new(MemSource::new(uploaded));
    let doc = Document::open(Arc::clone(&src), expected.limits.clone()).map_err(unreadable)?;

    // Exactly one new signature, intact, by an expected signer; after it at most one document
    // timestamp (B-LTA), intact, from any time-stamping authority.
    let reports = verify::verify_document(&doc).map_err(unreadable)?;
    let new: Vec<&verify::IntegrityReport> = reports
        .iter()
        .filter(|r| {
            r.signature
                .byte_range
                .is_none_or(|[_, _, c, d]| c.saturating_add(d) > prev_len)
        })
        .collect();
    let (signatures, stamps): (Vec<&verify::IntegrityReport>, Vec<&verify::IntegrityReport>) = new
        .iter()
        .partition(|r| r.signature.kind == SignatureKind::Signature);
    let report = match (signatures.as_slice(), stamps.len()) {
        ([], 0) => return Err(UploadRefusal::NoNewSignature),
        ([], _) => return Err(UploadRefusal::NotASignature),
        ([one], 0 | 1) => *one,
        _ => return Err(UploadRefusal::TooManySignatures(new.len())),
    };
    if !report.is_intact() {
        return Err(UploadRefusal::InvalidSignature {
            codes: report.failure_codes(),
        });
    }
    let signed_end = covered_end(report);
    let stamp = stamps.first().copied();
    if let Some(stamp) = stamp {
        if !stamp.is_intact() {
            return Err(UploadRefusal::InvalidSignature {
                codes: stamp.failure_codes(),
            });
        }
        // The timestamp comes after the signature and covers it.
        if stamp
            .signature
            .byte_range
            .is_none_or(|[_, _, c, d]| c.saturating_add(d) <= signed_end)
        {
            return Err(UploadRefusal::DisallowedChange {
                codes: vec!["DOC_TIMESTAMP"],
                details: vec!["a document timestamp before the new signature".into()],
            });
        }
    }
    let signer = report
        .cms
        .as_ref()
        .and_then(|c| c.signer_cert.and_then(|i| c.certificates.get(i)))
        .ok_or(UploadRefusal::InvalidSignature {
            codes: vec!["SIGNER_CERT_MISSING"],
        })?;
    let matches = expected.certificates.iter().any(|c| {
        c.der() == signer.der()
            || (expected.by_key && c.public_key_bytes() == signer.public_key_bytes())
    });
    if !matches {
        return Err(UploadRefusal::WrongSigner {
            subject: signer.subject_display(),
        });
    }
    // What changed since the previous version.
    let revs = revisions::revisions(&doc).map_err(unreadable)?;
    // The signature covers the file to its end, or to the end of a revision followed only by
    // validation data (B-LT: a DSS update) and a document timestamp (B-LTA), judged below.
    let signed_rev = revs
        .iter()
        .find(|r| r.end == signed_end)
        .map(|r| r.index)
        .ok_or(UploadRefusal::NotWholeFile)?;
    if signed_end != len && !revs.iter().any(|r| r.index > signed_rev && r.end == len) {
        return Err(UploadRefusal::NotWholeFile);
    }
    let report_changes = revisions::changes_after_in(
        &doc,
        &revs,
        prev_len,
        expected.limits.clone(),
        Policy {
            first_certification: expected.step == Step::Personal,
            // Every signature of the file is new: the previous version carries none.
            signature_over_unsigned: expected.may_cover_unsigned && new.len() == reports.len(),
            ..Policy::default()
        },
    )
    .map_err(unreadable)?;
    let new_sig = report.signature.sig_ref;
    let mut refused: Vec<(&'static str, String)> = Vec::new();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut filled: HashSet<String> = HashSet::new();
    let certified = certification(&doc, new_sig).map_err(unreadable)?;
    for c in &report_changes.changes {
        if !seen.contains(&c.code) {
            seen.push(c.code);
        }
        let structural = matches!(
            c.code,
            "NEW_SIGNATURE_FIELD"
                | "SEAL_OVER_SIGNATURE"
                | "ACROFORM_FIELDS_APPENDED"
                | "PAGE_ANNOTS_APPENDED"
                | "XREF_CONTAINER"
        );
        let ok = match (&expected.step, c.code) {
            (_, _) if !c.allowed => false,
            // After the signature: only what B-LT and B-LTA append.
            (_, code) if c.revision > signed_rev => AFTER_SIGNATURE.contains(&code),
            (Step::Seal { .. }, "FORM_FILLING") => {
                let name = field_of(&c.detail);
                let ok =
                    name.as_deref() == Some(NUMBER_FIELD) || name.as_deref() == Some(DATE_FIELD);
                if let (true, Some(n)) = (ok, name) {
                    filled.insert(n);
                }
                ok
            }
            _ => structural,
        };
        if !ok {
            refused.push((c.code, format!("{} ({})", c.code, c.detail)));
        }
    }
    if !refused.is_empty() {
        let mut codes: Vec<&'static str> = refused.iter().map(|(c, _)| *c).collect();
        codes.dedup();
        return Err(UploadRefusal::DisallowedChange {
            codes,
            details: refused.into_iter().map(|(_, d)| d).collect(),
        });
    }
    if let Some(p) = certified.filter(|p| *p != 2) {
        return Err(UploadRefusal::WrongCertification(p));
    }
    if certified.is_some() && expected.step != Step::Personal {
        return Err(UploadRefusal::DisallowedChange {
            codes: vec!["NEW_SIGNATURE_FIELD"],
            details: vec![match expected.step {
                Step::Attachment => "a certification signature on an attachment".into(),
                _ => "a certification signature at the seal".into(),
            }],
        });
    }
    let issued = numbering::issued(&doc).map_err(unreadable)?;
    if let Step::Seal { number, date } = &expected.step {
        let ok = filled.len() == 2
            && issued.as_ref().is_some_and(|i| {
                i.number.is_some()
                    && i.date.is_some()
                    // As the reader sees it: the field's value and the notation printed
                    // after it (`numbering::issued`), compared without case or spacing.
                    && number.as_ref().is_none_or(|n| {
                        i.number
                            .as_deref()
                            .is_some_and(|found| numbering::same_number(found, n))
                    })
                    && date.is_none_or(|d| i.date == Some(d))
            });
        if !ok {
            return Err(UploadRefusal::WrongNumbering { found: issued });
        }
    }
    Ok(UploadCheck {
        field: report.signature.field_name.clone(),
        signer: signer.clone(),
        revisions_added: revs.iter().filter(|r| r.end > prev_len).count(),
        certified,
        numbering: issued,
        changes: seen,
    })
}

/// The change codes allowed in the revisions after the new signature: validation data (a DSS
/// update, B-LT) and a document timestamp with its field (B-LTA), in their containers.
const AFTER_SIGNATURE: &[&str] = &[
    "DSS_UPDATE",
    "DOC_TIMESTAMP",
    "ACROFORM_FIELDS_APPENDED",
    "PAGE_ANNOTS_APPENDED",
    "XREF_CONTAINER",
];

/// Where a signature's byte range ends (0 without one).
fn covered_end(r: &verify::IntegrityReport) -> u64 {
    r.signature
        .byte_range
        .map_or(0, |[_, _, c, d]| c.saturating_add(d))
}

/// The field name in a `FORM_FILLING` detail (`value of field "kyso_so"`).
fn field_of(detail: &str) -> Option<String> {
    let start = detail.find('"')? + 1;
    let end = detail.rfind('"')?;
    detail.get(start..end).map(str::to_owned)
}

/// DocMDP `P` when the new signature is the document's certification.
fn certification(doc: &Document, sig: Option<kyso_pdf::ObjRef>) -> crate::Result<Option<u8>> {
    let catalog = doc.catalog()?;
    let Some(perms) = catalog.get("Perms") else {
        return Ok(None);
    };
    let perms = doc.resolve(perms)?;
    let named = perms
        .as_dict()
        .and_then(|d| d.get("DocMDP"))
        .and_then(Object::as_ref);
    if named.is_none() || named != sig {
        return Ok(None);
    }
    revisions::docmdp_level(doc)
}
