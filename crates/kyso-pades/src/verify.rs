//! Verifying the integrity of the signatures embedded in a PDF: which signatures there are,
//! whether each `/ByteRange` is sound (the attacks of "1 Trillion Dollar Refund": universal
//! signature forgery, incremental saving, signature wrapping), and whether the CMS signature
//! verifies over the bytes it covers.
//!
//! No trust, certificate path, revocation or revision-diff checking here: this answers "is this
//! signature cryptographically intact over exactly the bytes it claims", with stable problem
//! codes. An invalid signature is a report, not an `Err`.

use std::sync::Arc;

use kyso_cms::ber::{self, BerLimits};
use kyso_cms::verify::{self as cmsv, ParsedSignedData, SignerCheck, Status};
use kyso_cms::DigestAlgorithm;
use kyso_pdf::reader::Window;
use kyso_pdf::xref::Entry;
use kyso_pdf::{Dict, Document, Limits, ObjRef, Object, Source};

use crate::fields::decode_text;
use crate::{Error, Result};

/// Buffer for hashing byte ranges.
const HASH_BUF: usize = 1024 * 1024;

/// Stable problem codes of the PDF layer (CMS-level codes are in [`kyso_cms::verify::codes`]).
pub mod codes {
    /// `/ByteRange` missing, not four non-negative integers, not starting at 0, out of order
    /// or outside the file.
    pub const BYTE_RANGE_MALFORMED: &str = "BYTE_RANGE_MALFORMED";
    /// The gap is not exactly this signature's `/Contents` hex string (signature wrapping).
    pub const BYTE_RANGE_GAP_MISMATCH: &str = "BYTE_RANGE_GAP_MISMATCH";
    /// The covered bytes do not end at the end of a revision (`%%EOF` of an update).
    pub const BYTE_RANGE_NOT_REVISION_END: &str = "BYTE_RANGE_NOT_REVISION_END";
    /// `/Contents` missing, `null`, not a string, or empty.
    pub const CONTENTS_MISSING: &str = "CONTENTS_MISSING";
    /// `/Contents` is not a hex string, or could not be found in the raw file.
    pub const CONTENTS_NOT_LOCATED: &str = "CONTENTS_NOT_LOCATED";
    /// `/Contents` does not hold a readable CMS SignedData.
    pub const CMS_UNREADABLE: &str = "CMS_UNREADABLE";
    /// The signature uses a `/SubFilter` this verifier does not check.
    pub const UNSUPPORTED_SUBFILTER: &str = "UNSUPPORTED_SUBFILTER";
    /// A signature's SignedData encapsulates content (PDF signatures are detached).
    pub const NOT_DETACHED: &str = "NOT_DETACHED";
    /// A document timestamp's messageImprint is not the hash of the byte ranges.
    pub const TIMESTAMP_IMPRINT_MISMATCH: &str = "TIMESTAMP_IMPRINT_MISMATCH";
    /// The byte ranges could not be read.
    pub const BYTE_RANGE_UNREADABLE: &str = "BYTE_RANGE_UNREADABLE";
    /// An algorithm kyso cannot verify (a document timestamp's imprint hash; the CMS signer's
    /// algorithms are the signer check of the same code): unknown, not wrong.
    pub const UNSUPPORTED_ALGORITHM: &str = "UNSUPPORTED_ALGORITHM";
}

/// One problem found, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub detail: String,
}

impl Problem {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            code,
            detail: detail.into(),
        }
    }
}

/// A signature or a document timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    Signature,
    /// `/Type /DocTimeStamp` (or `/SubFilter /ETSI.RFC3161`).
    DocTimeStamp,
}

/// A signature as found in the document, values as parsed.
#[derive(Debug, Clone)]
pub struct EmbeddedSignature {
    /// Fully qualified field name.
    pub field_name: String,
    pub field_ref: Option<ObjRef>,
    /// The signature dictionary (`/V`), when it is an indirect object.
    pub sig_ref: Option<ObjRef>,
    pub kind: SignatureKind,
    pub filter: Option<String>,
    pub sub_filter: Option<String>,
    /// `/M` as written (a PDF date string).
    pub m: Option<String>,
    pub name: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// `/ByteRange` as written (`Null` when missing).
    pub byte_range_raw: Object,
    /// `/ByteRange` when it is exactly four non-negative integers.
    pub byte_range: Option<[u64; 4]>,
    /// `/Contents` bytes when it is a non-empty string.
    pub contents: Option<Vec<u8>>,
    /// What `/Contents` is, when it is not a usable string (e.g. "null", "missing").
    pub contents_problem: Option<String>,
    /// Byte span `[start, end)` in the file of this signature dictionary's `/Contents` hex
    /// string, `<` and `>` included.
    pub contents_span: Option<(u64, u64)>,
    /// Why the span could not be located.
    pub contents_span_problem: Option<String>,
}

/// Every signature field with a value (`/FT /Sig`, `/V`) in the AcroForm, in field order,
/// including document timestamps.
pub fn embedded_signatures(doc: &Document) -> Result<Vec<EmbeddedSignature>> {
    let mut out = Vec::new();
    for field in crate::fields::form_fields(doc)? {
        if !field.is_signature() {
            continue;
        }
        match field.dict.get("V") {
            None | Some(Object::Null) => {}
            Some(v) => out.push(read_signature(doc, &field.full_name, field.field_ref, v)?),
        }
    }
    Ok(out)
}

fn text(d: &Dict, key: &str) -> Option<String> {
    d.get(key).and_then(Object::as_string).map(decode_text)
}

fn read_signature(
    doc: &Document,
    field_name: &str,
    field_ref: Option<ObjRef>,
    v: &Object,
) -> Result<EmbeddedSignature> {
    let sig_ref = v.as_ref();
    // A signature dictionary that cannot be read is reported on (no /Contents), not an error
    // that would stop the other signatures from being checked.
    let (d, unreadable) = match doc.resolve(v) {
        Ok(Object::Dict(d)) => (d, None),
        Ok(Object::Stream(s)) => (s.dict, None),
        Ok(o) => (
            Dict::new(),
            Some(format!("/V is a {}, not a dictionary", o.kind())),
        ),
        Err(e) => (
            Dict::new(),
            Some(format!("the signature dictionary is unreadable: {e}")),
        ),
    };
    let name_of = |k: &str| d.get_name(k).map(|n| n.as_str().into_owned());
    let sub_filter = name_of("SubFilter");
    let kind = if d.type_name().is_some_and(|t| t == "DocTimeStamp")
        || sub_filter.as_deref() == Some("ETSI.RFC3161")
    {
        SignatureKind::DocTimeStamp
    } else {
        SignatureKind::Signature
    };
    let byte_range_raw = match d.get("ByteRange") {
        Some(o) => doc.resolve(o).unwrap_or(Object::Null),
        None => Object::Null,
    };
    let byte_range = byte_range_raw.as_array().and_then(|a| {
        let v: Vec<u64> = a
            .iter()
            .filter_map(|o| match o {
                Object::Int(i) => u64::try_from(*i).ok(),
                _ => None,
            })
            .collect();
        <[u64; 4]>::try_from(v.as_slice())
            .ok()
            .filter(|_| a.len() == 4)
    });
    // /Contents must be a direct hex string: an indirect one cannot be excluded by a byte range.
    let (contents, contents_problem) = match d.get("Contents") {
        None if unreadable.is_some() => (None, unreadable),
        None => (None, Some("missing".to_string())),
        Some(Object::String { bytes, .. }) if bytes.is_empty() => {
            (None, Some("an empty string".to_string()))
        }
        Some(Object::String { bytes, .. }) => (Some(bytes.clone()), None),
        Some(o) => (None, Some(format!("a {} instead of a string", o.kind()))),
    };
    let (contents_span, contents_span_problem) = match locate_contents(doc, sig_ref) {
        Ok(span) => (Some(span), None),
        Err(why) => (None, Some(why)),
    };
    Ok(EmbeddedSignature {
        field_name: field_name.to_string(),
        field_ref,
        sig_ref,
        kind,
        filter: name_of("Filter"),
        sub_filter,
        m: text(&d, "M"),
        name: text(&d, "Name"),
        reason: text(&d, "Reason"),
        location: text(&d, "Location"),
        byte_range_raw,
        byte_range,
        contents,
        contents_problem,
        contents_span,
        contents_span_problem,
    })
}

/// Find, in the raw file, the `/Contents` hex string of the signature dictionary `sig_ref`.
fn locate_contents(
    doc: &Document,
    sig_ref: Option<ObjRef>,
) -> std::result::Result<(u64, u64), String> {
    let r = sig_ref.ok_or("the signature dictionary is not an indirect object")?;
    let offset = match doc.xref().get(&r.num) {
        Some(Entry::InFile { offset, gen }) if *gen == r.gen => *offset,
        Some(Entry::InStream { .. }) => {
            return Err(format!(
                "signature dictionary {r} is in an object stream (its /Contents cannot be excluded by a byte range)"
            ))
        }
        _ => return Err(format!("signature dictionary {r} is not in the cross-reference table")),
    };
    let w = Window::new(doc.source().as_ref(), doc.limits());
    let (found, span) = w
        .dict_value_span_at(offset, b"Contents")
        .map_err(|e| format!("cannot re-read signature dictionary {r}: {e}"))?;
    if found != r {
        return Err(format!(
            "the cross-reference entry of {r} points at object {found}"
        ));
    }
    let (start, end) = span.ok_or_else(|| format!("no /Contents in {r}"))?;
    let first = w
        .read(start, 2)
        .map_err(|e| format!("cannot read /Contents of {r}: {e}"))?;
    if first.first() != Some(&b'<') || first.get(1) == Some(&b'<') {
        return Err(format!("/Contents of {r} is not a hex string"));
    }
    Ok((start, end))
}

/// The outcome of [`check_byte_range`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByteRangeCheck {
    pub problems: Vec<Problem>,
    /// The byte range reaches the end of the file (or leaves out only its final line break).
    pub covers_whole_file: bool,
    /// The revision whose end the byte range reaches (0 = the original file, counting
    /// cross-reference sections from the oldest), when it ends at a revision end.
    pub revision: Option<usize>,
}

/// Check `/ByteRange` against the file: four non-negative integers starting at 0, ordered and
/// inside the file, a gap that is exactly this signature's `/Contents` string, and an end at the
/// end of a revision.
pub fn check_byte_range(sig: &EmbeddedSignature, doc: &Document) -> ByteRangeCheck {
    use codes::*;
    let mut r = ByteRangeCheck::default();
    let Some([a, b, c, d]) = sig.byte_range else {
        r.problems.push(Problem::new(
            BYTE_RANGE_MALFORMED,
            format!(
                "/ByteRange is {:?}, not four non-negative integers",
                sig.byte_range_raw
            ),
        ));
        return r;
    };
    let len = doc.len();
    if a != 0 {
        r.problems.push(Problem::new(
            BYTE_RANGE_MALFORMED,
            format!("/ByteRange starts at {a}, not at 0"),
        ));
    }
    let gap_start = a.checked_add(b);
    let end = c.checked_add(d);
    match (gap_start, end) {
        (Some(gs), Some(e)) if gs <= c && e <= len => {
            match sig.contents_span {
                Some((s, t)) if s == gs && t == c => {}
                Some((s, t)) => r.problems.push(Problem::new(
                    BYTE_RANGE_GAP_MISMATCH,
                    format!(
                        "the unsigned gap is bytes {gs}..{c} but this signature's /Contents is at {s}..{t}"
                    ),
                )),
                None => r.problems.push(Problem::new(
                    BYTE_RANGE_GAP_MISMATCH,
                    format!(
                        "the unsigned gap {gs}..{c} cannot be matched to /Contents: {}",
                        sig.contents_span_problem.as_deref().unwrap_or("not located")
                    ),
                )),
            }
            r.covers_whole_file = e == len || only_eol_after(doc, e);
            r.revision = revision_ending_at(doc, e);
            if r.revision.is_none() {
                r.problems.push(Problem::new(
                    BYTE_RANGE_NOT_REVISION_END,
                    format!(
                        "the signed bytes end at {e}, which is not the end of a revision (%%EOF)"
                    ),
                ));
            }
        }
        _ => r.problems.push(Problem::new(
            BYTE_RANGE_MALFORMED,
            format!("/ByteRange [{a} {b} {c} {d}] is out of order or outside the {len}-byte file"),
        )),
    }
    r
}

/// The file continues after `end` with one end-of-line only (a signer that left the last
/// `%%EOF`'s line break out of the byte range).
fn only_eol_after(doc: &Document, end: u64) -> bool {
    let w = Window::new(doc.source().as_ref(), doc.limits());
    let rest = doc.len().saturating_sub(end);
    rest <= 2
        && w.read(end, 2)
            .is_ok_and(|t| matches!(t.as_slice(), b"\n" | b"\r" | b"\r\n"))
}

/// If `end` is just after `startxref N %%EOF` (with its end of line or not) and N is a
/// cross-reference section of the document, the revision index (0 = oldest).
fn revision_ending_at(doc: &Document, end: u64) -> Option<usize> {
    let w = Window::new(doc.source().as_ref(), doc.limits());
    let from = end.saturating_sub(64);
    let tail = w.read(from, (end - from) as usize).ok()?;
    let mut t: &[u8] = &tail;
    for eol in [&b"\r\n"[..], b"\n", b"\r"] {
        if let Some(s) = t.strip_suffix(eol) {
            t = s;
            break;
        }
    }
    let t = t.strip_suffix(b"%%EOF")?;
    let t = t.trim_ascii_end();
    let digits = t.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let (rest, num) = t.split_at(t.len().checked_sub(digits)?);
    let n: u64 = std::str::from_utf8(num).ok()?.parse().ok()?;
    if !rest.trim_ascii_end().ends_with(b"startxref") {
        return None;
    }
    let sections = doc.sections();
    let i = sections.iter().position(|s| s.offset == n)?;
    Some(sections.len() - 1 - i)
}

/// Hash the two ranges of `br` from `src`, streaming through a 1 MiB buffer.
pub fn digest_byte_range(src: &dyn Source, br: [u64; 4], alg: DigestAlgorithm) -> Result<Vec<u8>> {
    let mut h = alg.hasher();
    let mut buf = vec![0u8; HASH_BUF];
    for (start, len) in [(br[0], br[1]), (br[2], br[3])] {
        let mut pos = start;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= src.len())
            .ok_or(Error::Structure("byte range outside the file"))?;
        while pos < end {
            let n = ((end - pos) as usize).min(HASH_BUF);
            let chunk = buf.get_mut(..n).ok_or(Error::Structure("buffer"))?;
            let got = src.read_at(pos, chunk)?;
            if got == 0 {
                return Err(Error::Structure("file ended inside the byte range"));
            }
            h.update(chunk.get(..got).unwrap_or_default());
            pos += got as u64;
        }
    }
    Ok(h.finish().as_ref().to_vec())
}

/// The integrity verdict on one embedded signature.
#[derive(Debug, Clone)]
pub struct IntegrityReport {
    pub signature: EmbeddedSignature,
    pub byte_range: ByteRangeCheck,
    /// Problems of the PDF layer other than the byte range ones (contents, CMS readability,
    /// sub-filter, timestamp imprint).
    pub problems: Vec<Problem>,
    /// The CMS was BER and had to be re-encoded with definite lengths.
    pub ber_reencoded: bool,
    pub cms: Option<ParsedSignedData>,
    /// The CMS signer checks (when the CMS could be read).
    pub signer: Option<SignerCheck>,
}

impl IntegrityReport {
    /// Every failure code: byte range, PDF layer and CMS checks (failed or skipped: a check
    /// that could not run is not a pass).
    pub fn failure_codes(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .byte_range
            .problems
            .iter()
            .chain(&self.problems)
            .map(|p| p.code)
            .collect();
        if let Some(s) = &self.signer {
            v.extend(s.failures());
            v.extend(s.codes(Status::Skipped));
        }
        let mut seen = Vec::with_capacity(v.len());
        v.retain(|c| {
            let first = !seen.contains(c);
            seen.push(*c);
            first
        });
        v
    }
    /// Intact: no problem, and the CMS signature verified over the byte ranges.
    pub fn is_intact(&self) -> bool {
        self.byte_range.problems.is_empty()
            && self.problems.is_empty()
            && self.signer.as_ref().is_some_and(SignerCheck::is_intact)
    }
}

/// Open `src` and check every embedded signature: byte range, BER normalisation, CMS parsing,
/// signer checks with the streamed digest of the byte ranges.
pub fn verify_integrity(src: Arc<dyn Source>) -> Result<Vec<IntegrityReport>> {
    let doc = Document::open(src, Limits::default())?;
    verify_document(&doc)
}

/// [`verify_integrity`] on a document already open.
#[tracing::instrument(name = "integrity", level = "debug", skip_all)]
pub fn verify_document(doc: &Document) -> Result<Vec<IntegrityReport>> {
    let sigs = embedded_signatures(doc)?;
    Ok(sigs.into_iter().map(|s| check_one(doc, s)).collect())
}

/// [`verify_integrity`] on a file.
pub fn verify_integrity_file(path: &std::path::Path) -> Result<Vec<IntegrityReport>> {
    verify_integrity(Arc::new(kyso_pdf::FileSource::open(path)?))
}

fn check_one(doc: &Document, signature: EmbeddedSignature) -> IntegrityReport {
    use codes::*;
    let byte_range = check_byte_range(&signature, doc);
    let mut report = IntegrityReport {
        signature,
        byte_range,
        problems: Vec::new(),
        ber_reencoded: false,
        cms: None,
        signer: None,
    };
    let sig = &report.signature;
    match sig.sub_filter.as_deref() {
        Some("adbe.pkcs7.detached" | "ETSI.CAdES.detached" | "ETSI.RFC3161") => {}
        other => report.problems.push(Problem::new(
            UNSUPPORTED_SUBFILTER,
            format!("/SubFilter {other:?} is not checked (supported: adbe.pkcs7.detached, ETSI.CAdES.detached, ETSI.RFC3161)"),
        )),
    }
    let Some(contents) = &sig.contents else {
        report.problems.push(Problem::new(
            CONTENTS_MISSING,
            format!(
                "/Contents is {}",
                sig.contents_problem.as_deref().unwrap_or("unusable")
            ),
        ));
        return report;
    };
    let normalized = match ber::normalize(contents, &BerLimits::default()) {
        Ok(n) => n,
        Err(e) => {
            report
                .problems
                .push(Problem::new(CMS_UNREADABLE, e.to_string()));
            return report;
        }
    };
    let parsed = match cmsv::parse_signed_data(&normalized.der) {
        Ok(p) => p,
        Err(e) => {
            report
                .problems
                .push(Problem::new(CMS_UNREADABLE, e.to_string()));
            return report;
        }
    };
    report.ber_reencoded = normalized.reencoded();
    let br = sig.byte_range.filter(|_| {
        !report
            .byte_range
            .problems
            .iter()
            .any(|p| p.code == BYTE_RANGE_MALFORMED)
    });
    let read_error = std::cell::RefCell::new(None);
    let digest_of = |alg: DigestAlgorithm| -> Vec<u8> {
        match br.map(|br| digest_byte_range(doc.source().as_ref(), br, alg)) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                *read_error.borrow_mut() = Some(e.to_string());
                Vec::new()
            }
            None => Vec::new(),
        }
    };
    match sig.kind {
        SignatureKind::Signature => {
            if !parsed.detached {
                report.problems.push(Problem::new(
                    NOT_DETACHED,
                    "the SignedData encapsulates content; a PDF signature must be detached",
                ));
            }
        }
        SignatureKind::DocTimeStamp => {
            // The token signs its TSTInfo; the TSTInfo's imprint must be the byte range hash.
            let check = kyso_ltv::tsp::read_tst_info(&parsed)
                .and_then(|tst| kyso_ltv::tsp::check_imprint(&tst, digest_of).map_or(Ok(()), Err));
            match check {
                Ok(()) => {}
                Err(p) if p.code == kyso_ltv::tsp::codes::TST_UNREADABLE => report.problems.push(
                    Problem::new(CMS_UNREADABLE, format!("TSTInfo: {}", p.message)),
                ),
                Err(p) if p.code == kyso_ltv::tsp::codes::TST_UNSUPPORTED_HASH => report
                    .problems
                    .push(Problem::new(UNSUPPORTED_ALGORITHM, p.message)),
                Err(p) => report
                    .problems
                    .push(Problem::new(TIMESTAMP_IMPRINT_MISMATCH, p.message)),
            }
        }
    }
    let signer = cmsv::verify_signer(&parsed, digest_of);
    if let Some(e) = read_error.borrow_mut().take() {
        report.problems.push(Problem::new(BYTE_RANGE_UNREADABLE, e));
    }
    report.signer = Some(signer);
    report.cms = Some(parsed);
    report
}
