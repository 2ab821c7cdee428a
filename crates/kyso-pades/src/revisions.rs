//! Revisions of a signed PDF and what changed after a signature (difference analysis).
//!
//! A PDF signature covers the bytes of the file up to the end of the revision in which it was
//! written (its `/ByteRange`). Everything appended later as incremental updates is *not*
//! covered; a viewer nevertheless shows the newest revision. This module reads the document as
//! it was signed (the file truncated at the signature's revision end, read by the same reader)
//! and every later revision, and classifies each object that a later revision adds, redefines
//! or frees. The design follows pyHanko's `DiffPolicy` (whitelisting of known-good changes), but
//! is written from scratch and is stricter in places.
//!
//! # Rules
//!
//! The analysis is *fail closed*: a change is allowed only when one of the rules below
//! positively recognises it; everything else is reported as not allowed. Each change carries a
//! stable reason code.
//!
//! Allowed (unless DocMDP forbids it, see below):
//! * `NEW_SIGNATURE_FIELD` — a new `/FT /Sig` field (merged with its widget, or a widget whose
//!   `/Parent` is such a field) whose `/V` is a new `/Type /Sig` dictionary, and the new objects
//!   of its appearance (form XObjects, fonts, images, `/SMask`). Objects of the appearance that
//!   existed before are never claimed: redefining them is reported by the rules below. A new
//!   field reusing an existing signature value, or a later certification signature, is not
//!   allowed; an unsigned signature field with an appearance is not allowed either (the
//!   "sneaky signature" attack draws arbitrary content with such a field). A *signed* new
//!   field with a visible widget is allowed when the widget covers nothing (see
//!   `ANNOTATION_OVERLAYS_CONTENT`), and its detail says "visible". An existing *empty*
//!   signature field being signed (only `/V`, `/AP`, `/AS` change, `/V` a new signature
//!   dictionary) is reported with the same code.
//! * `SEAL_OVER_SIGNATURE` — Decree 30's organization seal: a new signature whose signer's
//!   certificate is an organization's (CN = O, no title: `validate::SignerSummary`) and whose
//!   widget lies over part (at most 60 %) of a signed personal signature's widget on the same
//!   page, covering beyond it only text lines that run across that widget's width (the title
//!   and name lines of the signature block). Allowed, informational: the standard form, not a
//!   warning. A stamp drawn over the whole of another is not this form.
//! * `DOC_TIMESTAMP` — the same for a field whose `/V` is a `/Type /DocTimeStamp` dictionary.
//! * `ACROFORM_FIELDS_APPENDED` — the AcroForm's `/Fields` array gaining *only* such new fields
//!   (the old entries kept, in order) and `/SigFlags` set; a new AcroForm may also carry `/DA`
//!   and `/DR`, and an existing `/DR` may gain names (Acrobat adds the fonts of its
//!   appearances) but never change or lose one (a font swapped under an existing name changes
//!   every regenerated appearance). Any other AcroForm change is `CATALOG_CHANGED`.
//! * `PAGE_ANNOTS_APPENDED` — a page's `/Annots` gaining only new signature widgets, every other
//!   entry of the page dictionary equal (parsed objects are compared, not bytes).
//! * `DSS_UPDATE` — catalog `/DSS` added or changed, and objects reachable only from the DSS
//!   (VRI, certificates, OCSP responses, CRLs). An object the rest of the document also uses
//!   (an embedded file listed as a "certificate") stays protected. A DSS with unknown keys or
//!   VRI keys that are not 40 upper-case hex digits is not allowed (as in pyHanko).
//! * `FORM_FILLING` — a non-signature field changing only `/V`, `/AS` and `/AP` (plus the new
//!   appearance objects), when DocMDP allows form filling (`P` ≥ 2, or no certification
//!   signature: pyHanko's default) and no FieldMDP `/Lock` of an earlier signature covers it.
//! * `XREF_CONTAINER` — new cross-reference streams and object streams (containers, not
//!   content; the objects inside them are classified on their own).
//! * `UNUSED_OBJECT_FREED` — freeing an object that nothing referenced.
//! * `CATALOG_VERSION` — the catalog's `/Version` or `/Extensions` changed (like pyHanko:
//!   signers raise the version or declare extensions such as ESIC).
//! * `METADATA_CHANGED` — only under [`Policy::allow_metadata`] (see below).
//!
//! Not allowed:
//! * `PAGE_CONTENT_CHANGED` — a page's `/Contents` re-pointed, or a content stream redefined
//!   (incremental saving attack; shadow *replace*).
//! * `PAGE_RESOURCES_CHANGED` — fonts, XObjects, … of a page redefined (shadow *replace* by
//!   swapping a font or glyph mapping; shadow *hide* by removing an overlay image).
//! * `PAGE_TREE_CHANGED` — pages added, removed, reordered, or a page's other entries changed.
//! * `ANNOTATION_OVERLAYS_CONTENT` — a new annotation or widget (a comment, stamp, drawing,
//!   redaction, link with an appearance, a new signature field, signed or not) whose appearance
//!   paints over content of the page as it was before: a text word, an image (image XObjects
//!   and inline images placed by the CTM), or a visible earlier annotation — the evil
//!   annotation and sneaky signature attacks. Not allowed at any DocMDP level nor without one
//!   (pyHanko allows a signed visible field anywhere, and annotations at P=3). The test is
//!   conservative: the annotation's `/Rect`, clipped to the crop box, against the boxes of
//!   words, images and annotations (rotation does not matter: all are in default user space).
//!   It covers nothing when flagged `Hidden` or `NoView`, when its rectangle has no area, or
//!   when it is a link without an appearance. A page whose content cannot be read is covered
//!   by any visible annotation. Vector graphics (rules, table lines) are not content here.
//! * `ANNOTATION_ADDED` — a new annotation that is not a signature widget and covers nothing.
//!   Allowed without DocMDP and under `P=3`; not allowed under `P=1`, `P=2`. Every added
//!   annotation is listed in [`ChangeReport::annotations`] (subtype, pages, `/T`, `/Contents`,
//!   what it covers).
//! * `ANNOTATION_CHANGED` — an existing annotation redefined or removed, or `/Annots` reordered
//!   (shadow *hide*: removing an overlay annotation).
//! * `CATALOG_CHANGED` — any other catalog change: `/Names`, `/OCProperties` (shadow attacks
//!   through optional content), `/Pages` re-pointed, `/Perms`, a re-pointed `/Root`, …
//! * `ACTION_ADDED` — `/OpenAction`, `/AA`, `/A` or JavaScript added anywhere (this code
//!   overrides any other for the object).
//! * `METADATA_CHANGED` — the trailer's `/Info` or the catalog's `/Metadata` changed. pyHanko
//!   allows `/Info` and XMP updates by default, and pyHanko's own signer updates `/Info`. The
//!   default [`Policy`] is strict (not allowed); [`Policy::allow_metadata`] is pyHanko's
//!   behaviour and what `kyso verify` uses (`validate`), since other signers rewrite
//!   `/ModDate` in every update. Even then an XMP update is allowed only when the new
//!   `/Metadata` is an indirect reference to a stream of well-formed XML with declared namespace
//!   prefixes and `x:xmpmeta` as its root (`crate::xmp`), as pyHanko's `MetadataUpdateRule`
//!   requires; otherwise the XMP stream (or the catalog re-pointing it) is `METADATA_CHANGED`,
//!   not allowed, with the reason. Unlike pyHanko, XMP that is left untouched is not judged:
//!   pyHanko re-checks the metadata at every later revision, so a document whose XMP was
//!   malformed before it was signed shows every later update as illegal there.
//! * `REPOINTED_UNUSED_OBJECT` — a later revision makes the document reference an object that
//!   existed in the signed revision but was unreachable from its trailer there (shadow
//!   *hide-and-replace*: the attacker plants unused alternative content before signing, and the
//!   update only swaps a reference to it). Reachability is computed by a bounded traversal.
//! * `OBJECT_OVERRIDDEN` — any other redefinition of an object that was reachable when signed
//!   (including an object the signed revision referenced but did not define), and any object
//!   whose new cross-reference entry points into the bytes of an earlier revision (a body
//!   hidden in the signed bytes and brought to life later; pyHanko refuses these too).
//! * `OBJECT_FREED` — an object reachable when signed is freed.
//! * `OBJECT_ADDED` — a new object that no rule claims (for example one that nothing
//!   references: some viewers "repair" files and would show such objects), and object bodies
//!   written in a later revision that its cross-reference section does not list.
//! * `TRAILING_DATA` — bytes after the last revision's `%%EOF` that are not whitespace
//!   (objects appended without a cross-reference section).
//!
//! # DocMDP and FieldMDP
//!
//! The certification level is read from the signed revision (`/Perms /DocMDP` → signature
//! `/Reference` → `/TransformParams /P`). With `P=1` no change at all is allowed, not even a new
//! signature, DSS update or document timestamp (stricter than ISO 32000-2, which tolerates DSS
//! and timestamps). `P=2` allows form filling and signing; `P=3` also annotation creation.
//! A certification signature added after the signed revision is not allowed (an approval
//! signature with only a FieldMDP `/Reference`, which locks fields for what follows, is).
//! FieldMDP `/Lock`
//! dictionaries of signature fields in the signed revision forbid form filling of the locked
//! fields (`/Action /All`, `/Include`, `/Exclude`, by fully qualified name).
//!
//! # Revisions
//!
//! [`revisions`] splits the file at the `%%EOF` following each cross-reference section. A
//! section that lies before the end of the revision it chains to (a linearized file's
//! first-page section) belongs to that revision. [`open_revision`] reads the file cut at a
//! revision's end ([`Truncated`]) with the ordinary reader. [`changes_after`] also checks that
//! the signed view's cross-reference chain is exactly the file's sections up to the signed
//! revision, and refuses a signed end that is not a revision end.
//!
//! # Limits
//!
//! Every traversal is bounded: at most [`MAX_VISITS`] objects per walk (capped by
//! [`Limits::max_objects`]), at most [`MAX_NESTING`] levels of direct nesting, at most
//! [`MAX_LATER_REVISIONS`] revisions after a signature, and the reader's own limits. A document
//! beyond these limits is an error, never a silent "allowed".
//!
//! # Not covered (yet)
//!
//! * Overlays by vector graphics only (an annotation over a table's lines or a drawn logo
//!   without text) and annotations whose appearance is empty: the `/Rect` is judged, not what
//!   the appearance actually paints.
//! * Whether a filled form field's new appearance matches its new value (shadow attacks that
//!   hide or replace through form-field overlays stay possible where form filling is allowed,
//!   as the standard permits).
//! * FieldMDP transforms in a signature's `/Reference` (only field `/Lock` dictionaries are
//!   read).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use kyso_pdf::xref::Entry;
use kyso_pdf::{Dict, Document, Limits, ObjRef, Object, Source};

use crate::{Error, Result};

/// Most objects visited by one traversal.
pub const MAX_VISITS: usize = 2_000_000;
/// Deepest nesting of direct arrays/dictionaries followed inside one object.
pub const MAX_NESTING: usize = 64;
/// Most revisions after a signature that are analysed; more is refused (each one costs a
/// traversal of the document).
pub const MAX_LATER_REVISIONS: usize = 256;
/// Longest chain of `/Parent` links followed.
const MAX_PARENTS: usize = 64;
/// How many bytes after the last `%%EOF` are inspected for trailing data.
const MAX_TAIL: u64 = 1 << 20;

/// A view of a source cut at `len` bytes: the file as it was when a revision was written.
#[derive(Debug, Clone)]
pub struct Truncated {
    inner: Arc<dyn Source>,
    len: u64,
}

impl Truncated {
    /// The first `len` bytes of `inner` (all of it if shorter).
    pub fn new(inner: Arc<dyn Source>, len: u64) -> Self {
        let len = len.min(inner.len());
        Truncated { inner, len }
    }
}

impl Source for Truncated {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let max = usize::try_from(self.len - offset)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let buf = buf.get_mut(..max).unwrap_or_default();
        self.inner.read_at(offset, buf)
    }
}

/// One revision of the file: the original document or one incremental update.
#[derive(Debug, Clone)]
pub struct Revision {
    /// 0 for the original document, then 1, 2, … in file order.
    pub index: usize,
    /// Offsets of the cross-reference sections making up this revision (a linearized file's
    /// first-page section belongs to the same revision as the main section).
    pub xref_offsets: Vec<u64>,
    /// Offset just after the `%%EOF` marker ending the revision.
    pub eof: u64,
    /// End of the revision: after `%%EOF` and its end-of-line (what a `/ByteRange` covers).
    pub end: u64,
    /// The objects this revision defines, redefines or frees.
    pub objects: BTreeMap<u32, Entry>,
}

/// The revisions of `doc`, oldest first.
pub fn revisions(doc: &Document) -> Result<Vec<Revision>> {
    let src = doc.source();
    let mut out: Vec<Revision> = Vec::new();
    for s in doc.sections().iter().rev() {
        if let Some(last) = out.last_mut() {
            // A section starting before the end of the previous revision is not a separate
            // update: a linearized file's first-page section, chained before the main one.
            if s.offset < last.end {
                last.xref_offsets.push(s.offset);
                for (n, e) in &s.entries {
                    last.objects.insert(*n, *e);
                }
                continue;
            }
        }
        let (eof, end) = find_eof(src.as_ref(), s.offset)?;
        out.push(Revision {
            index: out.len(),
            xref_offsets: vec![s.offset],
            eof,
            end,
            objects: s.entries.clone(),
        });
    }
    Ok(out)
}

/// Find the first `%%EOF` after `from`; returns (offset after it, offset after its EOL).
/// Without one, the revision ends at the end of the file.
fn find_eof(src: &dyn Source, from: u64) -> Result<(u64, u64)> {
    const CHUNK: usize = 64 * 1024;
    const MARK: &[u8] = b"%%EOF";
    let len = src.len();
    let mut pos = from;
    let mut buf = vec![0u8; CHUNK];
    while pos < len {
        let n = src.read_at(pos, &mut buf)?;
        if n == 0 {
            break;
        }
        let data = buf.get(..n).unwrap_or_default();
        if let Some(i) = data.windows(MARK.len()).position(|w| w == MARK) {
            let eof = pos + (i + MARK.len()) as u64;
            let mut eol = [0u8; 2];
            let m = src.read_at(eof, &mut eol)?;
            let extra = match eol.get(..m).unwrap_or_default() {
                [b'\r', b'\n', ..] => 2,
                [b'\r' | b'\n', ..] => 1,
                _ => 0,
            };
            return Ok((eof, eof + extra));
        }
        if n < MARK.len() {
            break;
        }
        pos += (n - (MARK.len() - 1)) as u64;
    }
    Ok((len, len))
}

/// The document as it was at the end of a revision (`end` from [`Revision::end`]).
pub fn open_revision(source: &Arc<dyn Source>, end: u64, limits: Limits) -> Result<Document> {
    let cut: Arc<dyn Source> = Arc::new(Truncated::new(Arc::clone(source), end));
    Ok(Document::open(cut, limits)?)
}

/// What a later revision did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Freed,
}

/// One object added, redefined or freed after signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Index of the revision (see [`Revision::index`]) making the change; for
    /// `TRAILING_DATA`, one past the last revision.
    pub revision: usize,
    pub object: ObjRef,
    pub kind: ChangeKind,
    /// Stable reason code (see the module documentation).
    pub code: &'static str,
    pub allowed: bool,
    /// Human-readable detail (English, for logs).
    pub detail: String,
}

/// Overall judgement of the changes after a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No change, or only allowed ones.
    AllowedOnly,
    /// At least one change is not allowed.
    Disallowed,
}

/// Coverage of one signature and the changes after it.
#[derive(Debug, Clone)]
pub struct ChangeReport {
    /// The signed bytes reach the end of the file.
    pub covers_whole_file: bool,
    /// Index of the signed revision.
    pub signed_revision: usize,
    /// Number of revisions after the signed one.
    pub later_revisions: usize,
    /// DocMDP level of the signed revision (`None`: not certified).
    pub docmdp: Option<u8>,
    pub changes: Vec<Change>,
    /// The annotations added after the signature (other than signatures' own widgets), for
    /// the report: what they are, where, by whom, saying what, and whether they are allowed.
    pub annotations: Vec<AddedAnnotation>,
    pub verdict: Verdict,
}

/// An annotation added in a later revision (comments, stamps, drawings, links, widgets of
/// existing fields), listed in the report whether it is allowed or not.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedAnnotation {
    /// Index of the revision adding it.
    pub revision: usize,
    pub object: ObjRef,
    /// `/Subtype` (`FreeText`, `Stamp`, `Square`, `Ink`, `Redact`, `Link`, `Widget`, …).
    pub subtype: String,
    /// 1-based page numbers whose `/Annots` list it (empty: on no page).
    pub pages: Vec<usize>,
    /// `/T`: the author (for a markup annotation) or the field name (for a widget).
    pub author: Option<String>,
    /// `/Contents`: the text of the comment.
    pub contents: Option<String>,
    /// What its appearance covers on the page as it was before (`None`: nothing; see
    /// [`ANNOTATION_OVERLAYS_CONTENT`]).
    pub covers: Option<String>,
    /// The change code of the annotation's dictionary (`ANNOTATION_ADDED`,
    /// `ANNOTATION_OVERLAYS_CONTENT`, `ACTION_ADDED`, …) and whether it is allowed.
    pub code: &'static str,
    pub allowed: bool,
}

/// Choices in the rules that are a matter of policy rather than of security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Treat `/Info` and XMP `/Metadata` updates as allowed (`METADATA_CHANGED` with
    /// `allowed: true`), as pyHanko's default policy does. Other signers (pyHanko itself)
    /// update `/Info` when they sign. Default `false`: kyso's strict reading.
    pub allow_metadata: bool,
    /// The signed end is a version no signature covers yet (the server checking an upload
    /// against the version it handed out, `crate::upload`): a certification signature added
    /// after it, and the catalog's `/Perms` gaining exactly that signature as `/DocMDP`, are
    /// allowed (`NEW_SIGNATURE_FIELD`). Default `false`: a certification after the signed
    /// revision is never allowed.
    pub first_certification: bool,
    /// No signature covers the version before the new one (the server checking a copy signed
    /// over a scan it handed out, `crate::upload`): a new signature's own widget may paint over
    /// the page — nobody signed what it covers, and the new signature covers its appearance
    /// with the page (`NEW_SIGNATURE_FIELD`, allowed, the coverage in the detail). Any other
    /// annotation over content stays [`ANNOTATION_OVERLAYS_CONTENT`]. Default `false`.
    pub signature_over_unsigned: bool,
}

/// Compare the document as signed (the file cut at `signed_end`, the end of the signature's
/// `/ByteRange`) with each later revision, under the strict [`Policy`]. Errors mean the
/// analysis could not be done (the caller must treat the signature as not verified).
pub fn changes_after(
    source: Arc<dyn Source>,
    signed_end: u64,
    limits: Limits,
) -> Result<ChangeReport> {
    changes_after_with(source, signed_end, limits, Policy::default())
}

/// [`changes_after`] with an explicit [`Policy`].
#[tracing::instrument(name = "changes", level = "debug", skip_all, fields(signed_end))]
pub fn changes_after_with(
    source: Arc<dyn Source>,
    signed_end: u64,
    limits: Limits,
    policy: Policy,
) -> Result<ChangeReport> {
    let full = Document::open(Arc::clone(&source), limits.clone())?;
    let revs = revisions(&full)?;
    changes_after_in(&full, &revs, signed_end, limits, policy)
}

/// [`changes_after_with`] on a document already open with its [`revisions`] already read, so
/// that checking every signature of a file opens and indexes it once.
pub fn changes_after_in(
    full: &Document,
    revs: &[Revision],
    signed_end: u64,
    limits: Limits,
    policy: Policy,
) -> Result<ChangeReport> {
    let source = Arc::clone(full.source());
    let len = source.len();
    let signed_idx = revs
        .iter()
        .position(|r| signed_end >= r.eof && signed_end <= r.end)
        .ok_or(Error::Structure(
            "the signed bytes do not end at the end of a revision",
        ))?;
    let signed_rev = revs
        .get(signed_idx)
        .ok_or(Error::Structure("no signed revision"))?;
    let signed = open_revision(&source, signed_rev.end, limits.clone())?;
    // The signed view must be exactly the revisions up to the signed one.
    let mut expect: Vec<u64> = revs
        .iter()
        .take(signed_idx + 1)
        .flat_map(|r| r.xref_offsets.iter().copied())
        .collect();
    let mut got: Vec<u64> = signed.sections().iter().map(|s| s.offset).collect();
    expect.sort_unstable();
    got.sort_unstable();
    if expect != got {
        return Err(Error::Structure(
            "the signed revision does not match the file's cross-reference chain",
        ));
    }

    let docmdp = docmdp_level(&signed)?;
    let locks = field_locks(&signed)?;
    let later = revs.len().saturating_sub(signed_idx + 1);
    if later > MAX_LATER_REVISIONS {
        return Err(Error::Pdf(kyso_pdf::Error::LimitExceeded {
            limit: "revisions after a signature",
            value: later as u64,
            max: MAX_LATER_REVISIONS as u64,
        }));
    }
    // Nothing to traverse when nothing follows the signature.
    let (signed_reach, mut prev_roles) = if later > 0 {
        (reach(&signed)?, roles(&signed)?)
    } else {
        (HashSet::new(), HashMap::new())
    };
    let orphans: BTreeMap<u32, Entry> = signed
        .xref()
        .iter()
        .filter(|(n, e)| **n != 0 && **e != Entry::Free && !signed_reach.contains(n))
        .map(|(n, e)| (*n, *e))
        .collect();
    let mut reported_orphans = HashSet::new();

    let mut changes = Vec::new();
    let mut annotations: Vec<AddedAnnotation> = Vec::new();
    let mut prev = signed;
    let mut prev_reach = signed_reach;
    for rev in revs.iter().skip(signed_idx + 1) {
        let cur = open_revision(&source, rev.end, limits.clone())?;
        let cur_reach = reach(&cur)?;
        let cur_roles = roles(&cur)?;
        let ctx = Ctx {
            rev,
            prev: &prev,
            prev_reach: &prev_reach,
            prev_roles: &prev_roles,
            cur: &cur,
            cur_reach: &cur_reach,
            cur_roles: &cur_roles,
            docmdp,
            locks: &locks,
            policy,
            views: RefCell::default(),
            annot_pages: RefCell::default(),
            listed: RefCell::default(),
        };
        ctx.analyse(&mut changes)?;
        annotations.extend(ctx.listed.into_inner());
        for (offset, r) in unlisted_bodies(source.as_ref(), prev.len(), rev)? {
            let detail = if r.num == 0 {
                format!(
                    "an update of more than {MAX_SCAN} bytes was not scanned for unlisted objects"
                )
            } else {
                format!("an object body at byte {offset} that no cross-reference section lists")
            };
            changes.push(Change {
                revision: rev.index,
                object: r,
                kind: ChangeKind::Added,
                code: "OBJECT_ADDED",
                allowed: false,
                detail,
            });
        }
        for (num, entry) in &orphans {
            if cur_reach.contains(num)
                && cur.xref().get(num) == Some(entry)
                && reported_orphans.insert(*num)
            {
                changes.push(Change {
                    revision: rev.index,
                    object: ObjRef::new(*num, entry_gen(entry)),
                    kind: ChangeKind::Modified,
                    code: "REPOINTED_UNUSED_OBJECT",
                    allowed: false,
                    detail: "an object unused when signed is now referenced".into(),
                });
            }
        }
        prev = cur;
        prev_reach = cur_reach;
        prev_roles = cur_roles;
    }

    // Bytes after the last revision must be whitespace only.
    let last_end = revs.last().map_or(len, |r| r.end);
    if last_end < len {
        let tail_len = (len - last_end).min(MAX_TAIL);
        let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
        let n = source.read_at(last_end, &mut tail)?;
        let garbage = len - last_end > MAX_TAIL
            || tail
                .get(..n)
                .unwrap_or_default()
                .iter()
                .any(|b| !b.is_ascii_whitespace() && *b != 0);
        if garbage {
            changes.push(Change {
                revision: revs.len(),
                object: ObjRef::new(0, 0),
                kind: ChangeKind::Added,
                code: "TRAILING_DATA",
                allowed: false,
                detail: format!("{} bytes after the last %%EOF", len - last_end),
            });
        }
    }

    if docmdp == Some(1) {
        for c in &mut changes {
            if c.allowed {
                c.allowed = false;
                c.detail
                    .push_str(" (certified with DocMDP P=1: no changes allowed)");
            }
        }
    }
    let verdict = if changes.iter().all(|c| c.allowed) {
        Verdict::AllowedOnly
    } else {
        Verdict::Disallowed
    };
    // The listing says what the change analysis concluded for each annotation's dictionary
    // (an action found in it, DocMDP P=1, … included).
    for a in &mut annotations {
        if let Some(c) = changes
            .iter()
            .find(|c| c.revision == a.revision && c.object == a.object)
        {
            a.code = c.code;
            a.allowed = c.allowed;
        }
    }
    Ok(ChangeReport {
        covers_whole_file: signed_end == len,
        signed_revision: signed_idx,
        later_revisions: later,
        docmdp,
        changes,
        annotations,
        verdict,
    })
}

/// Most bytes of one later revision scanned for unlisted object bodies; a bigger update is
/// reported as one unverifiable change.
const MAX_SCAN: u64 = 256 * 1024 * 1024;

/// Object bodies (`N G obj` at the start of a line) inside a revision's bytes that its
/// cross-reference section does not list: invisible to a conforming reader, but some viewers
/// "repair" files and would show them (incremental saving attack without a cross-reference).
fn unlisted_bodies(src: &dyn Source, start: u64, rev: &Revision) -> Result<Vec<(u64, ObjRef)>> {
    unlisted_bodies_in_chunks(src, start, rev, 1 << 20)
}

fn unlisted_bodies_in_chunks(
    src: &dyn Source,
    start: u64,
    rev: &Revision,
    chunk: usize,
) -> Result<Vec<(u64, ObjRef)>> {
    const OVERLAP: usize = 32;
    let chunk = chunk.max(1);
    let listed: HashSet<u64> = rev
        .objects
        .values()
        .filter_map(|e| match e {
            Entry::InFile { offset, .. } => Some(*offset),
            _ => None,
        })
        .chain(rev.xref_offsets.iter().copied())
        .collect();
    let end = rev.end;
    if end.saturating_sub(start) > MAX_SCAN {
        return Ok(vec![(start, ObjRef::new(0, 0))]);
    }
    let mut found = Vec::new();
    let mut pos = start;
    while pos < end {
        // Each window reaches OVERLAP bytes back, so that a header cut by the previous window's
        // end is seen whole; only matches starting in [pos, pos + CHUNK) count here.
        let wstart = pos - (pos - start).min(OVERLAP as u64);
        let wend = (pos + chunk as u64 + 5).min(end);
        let mut buf = vec![0u8; usize::try_from(wend - wstart).unwrap_or(0)];
        let n = src.read_at(wstart, &mut buf)?;
        let data = buf.get(..n).unwrap_or_default();
        for (i, w) in data.windows(5).enumerate() {
            let abs = wstart + i as u64;
            if abs < pos || abs >= pos + chunk as u64 {
                continue;
            }
            if w.get(..4) != Some(&b" obj"[..]) || w.get(4).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            let head = data.get(..i).unwrap_or_default();
            let Some((num, gen, line_start)) = parse_obj_header(head) else {
                continue;
            };
            // A header reaching the window's start is only whole at the revision's start.
            if line_start == 0 && wstart != start {
                continue;
            }
            let at = wstart + line_start as u64;
            if !listed.contains(&at) {
                found.push((at, ObjRef::new(num, gen)));
            }
        }
        if (n as u64) < wend - wstart {
            break;
        }
        pos += chunk as u64;
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Parse `N G` at the end of `head` (which ends just before ` obj`), requiring that it starts
/// a line. Returns the numbers and the index where `N` starts.
fn parse_obj_header(head: &[u8]) -> Option<(u32, u16, usize)> {
    let gen_end = head.len();
    let gen_start = head
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    if gen_start == gen_end || head.get(gen_start.checked_sub(1)?) != Some(&b' ') {
        return None;
    }
    let num_end = gen_start - 1;
    let before = head.get(..num_end)?;
    let num_start = before
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    if num_start == num_end {
        return None;
    }
    if num_start > 0 && !matches!(head.get(num_start - 1), Some(b'\n' | b'\r')) {
        return None;
    }
    let num = std::str::from_utf8(head.get(num_start..num_end)?)
        .ok()?
        .parse()
        .ok()?;
    let gen = std::str::from_utf8(head.get(gen_start..gen_end)?)
        .ok()?
        .parse()
        .ok()?;
    Some((num, gen, num_start))
}

fn entry_gen(e: &Entry) -> u16 {
    match e {
        Entry::InFile { gen, .. } => *gen,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// DocMDP / FieldMDP

/// `P` of the certification signature, if the document is certified.
pub(crate) fn docmdp_level(doc: &Document) -> Result<Option<u8>> {
    let catalog = doc.catalog()?;
    let Some(perms) = catalog.get("Perms") else {
        return Ok(None);
    };
    let perms = doc.resolve(perms)?;
    let Some(sig) = perms.as_dict().and_then(|d| d.get("DocMDP")) else {
        return Ok(None);
    };
    let sig = doc.resolve_dict(sig, "DocMDP signature")?;
    let refs = doc.resolve(sig.get("Reference").unwrap_or(&Object::Null))?;
    let mut level = None;
    for r in refs.as_array().unwrap_or_default() {
        let r = doc.resolve_dict(r, "signature reference")?;
        if r.get_name("TransformMethod").is_none_or(|m| m != "DocMDP") {
            continue;
        }
        let params = doc.resolve(r.get("TransformParams").unwrap_or(&Object::Null))?;
        let p = params.as_dict().and_then(|d| d.get_int("P")).unwrap_or(2);
        // Unknown values: the strictest reading.
        let p = u8::try_from(p)
            .ok()
            .filter(|p| (1..=3).contains(p))
            .unwrap_or(1);
        level = Some(level.map_or(p, |l: u8| l.min(p)));
    }
    // A /DocMDP entry without a usable reference: treat as the strictest level.
    Ok(Some(level.unwrap_or(1)))
}

/// Whether a signature dictionary carries a DocMDP reference (a certification), or a
/// reference this analysis does not know. A FieldMDP reference (an approval signature locking
/// fields, such as Decree 30's organization seal over a filled number and date) is not one:
/// it restricts what may follow, not what came before.
fn certifies(doc: &Document, sig: &Dict) -> Result<bool> {
    let Some(refs) = sig.get("Reference") else {
        return Ok(false);
    };
    let refs = doc.resolve(refs)?;
    let Some(refs) = refs.as_array() else {
        return Ok(true);
    };
    for r in refs {
        let r = doc.resolve(r)?;
        let method = r.as_dict().and_then(|d| d.get_name("TransformMethod"));
        if method.is_none_or(|m| m != "FieldMDP") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Which fields FieldMDP locks forbid changing.
#[derive(Debug, Default)]
struct Locks {
    all: bool,
    include: HashSet<String>,
    /// Each `/Exclude` lock: everything except these names is locked.
    exclude: Vec<HashSet<String>>,
}

impl Locks {
    fn locked(&self, name: &str) -> bool {
        self.all || self.include.contains(name) || self.exclude.iter().any(|e| !e.contains(name))
    }
}

fn field_locks(doc: &Document) -> Result<Locks> {
    let mut locks = Locks::default();
    for (_, d) in form_fields(doc)? {
        if field_type(doc, &d)?.as_deref() != Some("Sig") || !d.contains("V") {
            continue;
        }
        let Some(lock) = d.get("Lock") else { continue };
        let lock = doc.resolve(lock)?;
        let Some(lock) = lock.as_dict() else { continue };
        let names: HashSet<String> = doc
            .resolve(lock.get("Fields").unwrap_or(&Object::Null))?
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o.as_string().map(crate::fields::decode_text))
            .collect();
        match lock
            .get_name("Action")
            .map(|n| n.as_str().into_owned())
            .as_deref()
        {
            Some("Include") => locks.include.extend(names),
            Some("Exclude") => locks.exclude.push(names),
            _ => locks.all = true,
        }
    }
    Ok(locks)
}

/// All field dictionaries of the AcroForm (terminal and intermediate) written as objects of
/// their own, with their references.
fn form_fields(doc: &Document) -> Result<Vec<(ObjRef, Dict)>> {
    Ok(crate::fields::form_fields(doc)?
        .into_iter()
        .filter_map(|f| Some((f.field_ref?, f.dict)))
        .collect())
}

/// The field type, inherited through `/Parent`.
fn field_type(doc: &Document, d: &Dict) -> Result<Option<String>> {
    let mut cur = d.clone();
    for _ in 0..MAX_PARENTS {
        if let Some(ft) = cur.get_name("FT") {
            return Ok(Some(ft.as_str().into_owned()));
        }
        let Some(p) = cur.get("Parent") else {
            return Ok(None);
        };
        cur = doc.resolve_dict(p, "field parent")?;
    }
    Ok(None)
}

/// The fully qualified field name (`parent.child`).
fn field_name(doc: &Document, d: &Dict) -> Result<String> {
    let mut parts = Vec::new();
    let mut cur = d.clone();
    for _ in 0..MAX_PARENTS {
        if let Some(t) = cur.get("T").and_then(Object::as_string) {
            parts.push(crate::fields::decode_text(t));
        }
        let Some(p) = cur.get("Parent") else { break };
        cur = doc.resolve_dict(p, "field parent")?;
    }
    parts.reverse();
    Ok(parts.join("."))
}

// ---------------------------------------------------------------------------------------------
// Traversals

/// Collect the references inside a direct object, skipping the keys in `skip`.
fn refs_in(o: &Object, skip: &[&str], depth: usize, out: &mut Vec<ObjRef>) -> Result<()> {
    if depth > MAX_NESTING {
        return Err(Error::Structure("objects nested too deeply"));
    }
    match o {
        Object::Ref(r) => out.push(*r),
        Object::Array(a) => {
            for x in a {
                refs_in(x, skip, depth + 1, out)?;
            }
        }
        Object::Dict(d) => refs_in_dict(d, skip, depth, out)?,
        Object::Stream(s) => refs_in_dict(&s.dict, skip, depth, out)?,
        _ => {}
    }
    Ok(())
}

fn refs_in_dict(d: &Dict, skip: &[&str], depth: usize, out: &mut Vec<ObjRef>) -> Result<()> {
    for (k, v) in d.iter() {
        if skip.iter().any(|s| k == *s) {
            continue;
        }
        refs_in(v, skip, depth + 1, out)?;
    }
    Ok(())
}

/// Object numbers reachable from `roots` (references to undefined objects included), not
/// descending into the objects in `stop` nor through the keys in `skip`.
fn walk(
    doc: &Document,
    roots: &[Object],
    skip: &[&str],
    stop: &HashSet<u32>,
) -> Result<HashSet<u32>> {
    let budget = MAX_VISITS.min(doc.limits().max_objects as usize);
    let mut seen = HashSet::new();
    let mut stack = Vec::new();
    for r in roots {
        refs_in(r, skip, 0, &mut stack)?;
    }
    while let Some(r) = stack.pop() {
        if stop.contains(&r.num) || !seen.insert(r.num) {
            continue;
        }
        if seen.len() > budget {
            return Err(Error::Pdf(kyso_pdf::Error::LimitExceeded {
                limit: "objects analysed",
                value: seen.len() as u64,
                max: budget as u64,
            }));
        }
        let o = doc.get(r)?;
        refs_in(&o, skip, 0, &mut stack)?;
    }
    Ok(seen)
}

/// Everything reachable from the trailer (`/Root`, `/Info`).
fn reach(doc: &Document) -> Result<HashSet<u32>> {
    let roots: Vec<Object> = ["Root", "Info"]
        .iter()
        .filter_map(|k| doc.trailer().get(k).cloned())
        .collect();
    walk(doc, &roots, &[], &HashSet::new())
}

const R_CATALOG: u16 = 1;
const R_PAGETREE: u16 = 2;
const R_CONTENT: u16 = 4;
const R_RESOURCES: u16 = 8;
const R_ANNOT: u16 = 16;
const R_SIG: u16 = 32;
const R_FORM: u16 = 64;
const R_DSS: u16 = 128;
const R_META: u16 = 256;

/// Keys never followed when walking the subgraph of one structure (they lead back up).
const UP: &[&str] = &["Parent", "P", "Dest", "Prev", "Next", "First", "Last"];

/// The structural roles of objects: which part of the document reaches them.
fn roles(doc: &Document) -> Result<HashMap<u32, u16>> {
    let mut roles: HashMap<u32, u16> = HashMap::new();
    let mut add = |set: HashSet<u32>, bit: u16| {
        for n in set {
            *roles.entry(n).or_insert(0) |= bit;
        }
    };
    let catalog = doc.catalog()?;
    if let Ok(r) = doc.catalog_ref() {
        add(HashSet::from([r.num]), R_CATALOG);
    }
    let pages = doc.pages()?;
    let mut tree = HashSet::new();
    for p in &pages {
        tree.insert(p.id.num);
        let mut parent = p.dict.get("Parent").and_then(Object::as_ref);
        for _ in 0..MAX_PARENTS {
            let Some(r) = parent else { break };
            if !tree.insert(r.num) {
                break;
            }
            parent = doc
                .get(r)?
                .as_dict()
                .and_then(|d| d.get("Parent"))
                .and_then(Object::as_ref);
        }
    }
    if let Some(r) = catalog.get("Pages").and_then(Object::as_ref) {
        tree.insert(r.num);
    }
    add(tree.clone(), R_PAGETREE);
    let mut content = Vec::new();
    let mut resources = Vec::new();
    let mut annots = Vec::new();
    let mut sigs = Vec::new();
    for p in &pages {
        content.extend(p.dict.get("Contents").cloned());
        resources.extend(p.resources.clone());
        resources.extend(p.dict.get("Resources").cloned());
        if let Some(a) = p.dict.get("Annots") {
            if let Some(r) = a.as_ref() {
                annots.push(Object::Ref(r));
            }
            for x in doc.resolve(a)?.as_array().unwrap_or_default() {
                let d = doc.resolve(x)?;
                let is_sig = match d.as_dict() {
                    Some(d) => field_type(doc, d)?.as_deref() == Some("Sig"),
                    None => false,
                };
                if is_sig {
                    sigs.push(x.clone());
                } else {
                    annots.push(x.clone());
                }
            }
        }
    }
    add(walk(doc, &content, UP, &tree)?, R_CONTENT);
    add(walk(doc, &resources, UP, &tree)?, R_RESOURCES);
    add(walk(doc, &annots, UP, &tree)?, R_ANNOT);
    let mut forms = Vec::new();
    if let Some(f) = catalog.get("AcroForm") {
        forms.push(f.clone());
    }
    for (r, d) in form_fields(doc)? {
        if field_type(doc, &d)?.as_deref() == Some("Sig") {
            sigs.push(Object::Ref(r));
        }
    }
    add(walk(doc, &sigs, UP, &tree)?, R_SIG);
    // The AcroForm walk stops at signature fields (they have their own role).
    let sig_nums: HashSet<u32> = sigs
        .iter()
        .filter_map(|o| o.as_ref())
        .map(|r| r.num)
        .collect();
    let stop: HashSet<u32> = tree.union(&sig_nums).copied().collect();
    add(walk(doc, &forms, UP, &stop)?, R_FORM);
    if let Some(d) = catalog.get("DSS") {
        add(walk(doc, std::slice::from_ref(d), UP, &tree)?, R_DSS);
    }
    let mut meta: Vec<Object> = doc.trailer().get("Info").cloned().into_iter().collect();
    meta.extend(catalog.get("Metadata").cloned());
    add(walk(doc, &meta, UP, &tree)?, R_META);
    Ok(roles)
}

/// Objects reachable from the catalog without going through a `/Metadata` entry nor the
/// trailer's `/Info`: what metadata updates must leave alone.
fn outside_meta(doc: &Document) -> Result<HashSet<u32>> {
    let roots: Vec<Object> = doc.trailer().get("Root").cloned().into_iter().collect();
    walk(doc, &roots, &["Metadata"], &HashSet::new())
}

/// The disallowed code for redefining an object with these roles.
fn role_code(bits: u16) -> &'static str {
    if bits & R_CONTENT != 0 {
        "PAGE_CONTENT_CHANGED"
    } else if bits & R_RESOURCES != 0 {
        "PAGE_RESOURCES_CHANGED"
    } else if bits & R_PAGETREE != 0 {
        "PAGE_TREE_CHANGED"
    } else if bits & R_ANNOT != 0 {
        "ANNOTATION_CHANGED"
    } else if bits & R_CATALOG != 0 {
        "CATALOG_CHANGED"
    } else if bits & R_META != 0 {
        "METADATA_CHANGED"
    } else {
        "OBJECT_OVERRIDDEN"
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison

/// Semantic equality of two direct objects (strings by bytes, numbers by value, dictionaries
/// regardless of key order). Stream data is not compared here.
fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Int(x), Object::Real(y)) | (Object::Real(y), Object::Int(x)) => {
            (*x as f64 - y.value()).abs() < 1e-9
        }
        (Object::String { bytes: x, .. }, Object::String { bytes: y, .. }) => x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Object::Dict(x), Object::Dict(y)) => same_dict(x, y),
        (Object::Stream(x), Object::Stream(y)) => same_dict(&x.dict, &y.dict),
        _ => a == b,
    }
}

fn same_dict(a: &Dict, b: &Dict) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(&k.as_str()).is_some_and(|w| same(v, w)))
}

/// Keys whose values differ between two dictionaries.
fn diff_keys(a: &Dict, b: &Dict) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in a.iter().chain(b.iter()) {
        let k = k.as_str().into_owned();
        if keys.contains(&k) {
            continue;
        }
        let same_value = match (a.get(&k), b.get(&k)) {
            (Some(x), Some(y)) => same(x, y),
            (None, None) => true,
            _ => false,
        };
        if !same_value {
            keys.push(k);
        }
    }
    keys
}

/// Equality of two indirect objects, stream data included.
fn same_object(da: &Document, a: &Object, db: &Document, b: &Object) -> Result<bool> {
    if !same(a, b) {
        return Ok(false);
    }
    if let (Object::Stream(x), Object::Stream(y)) = (a, b) {
        return Ok(da.raw_data(x)? == db.raw_data(y)?);
    }
    Ok(true)
}

/// Does the object carry an action or JavaScript (at the top or in a direct sub-dictionary)?
fn has_action(o: &Object, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let Some(d) = o.as_dict() else {
        return o
            .as_array()
            .is_some_and(|a| a.iter().any(|x| has_action(x, depth + 1)));
    };
    d.iter().any(|(k, v)| {
        k == "AA"
            || k == "OpenAction"
            || k == "JS"
            || k == "JavaScript"
            || k == "A"
            || v.as_name().is_some_and(|n| n == "JavaScript")
            || has_action(v, depth + 1)
    })
}

/// Why a DSS dictionary is not shaped like ISO 32000-2 §12.8.4.3 / ETSI EN 319 142-1 says, if
/// it is not: only the known keys, VRI keys being 40 upper-case hex digits (SHA-1 of a
/// signature value), VRI entries with only the known keys.
fn dss_malformed(doc: &Document, dss: &Object) -> Result<Option<String>> {
    let Some(d) = doc.resolve(dss)?.as_dict().cloned() else {
        return Ok(Some("/DSS is not a dictionary".into()));
    };
    const DSS_KEYS: &[&str] = &["Type", "VRI", "Certs", "OCSPs", "CRLs"];
    const VRI_KEYS: &[&str] = &["Type", "Cert", "OCSP", "CRL", "TU", "TS"];
    for (k, _) in d.iter() {
        if !DSS_KEYS.iter().any(|x| k == *x) {
            return Ok(Some(format!("unexpected DSS key /{}", k.as_str())));
        }
    }
    let Some(vri) = d.get("VRI") else {
        return Ok(None);
    };
    let Some(vri) = doc.resolve(vri)?.as_dict().cloned() else {
        return Ok(Some("/VRI is not a dictionary".into()));
    };
    for (k, entry) in vri.iter() {
        let key = k.as_bytes();
        let hex = key.len() == 40
            && key
                .iter()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b));
        if !hex {
            return Ok(Some(format!(
                "VRI key /{} is not a SHA-1 in hex",
                k.as_str()
            )));
        }
        let Some(e) = doc.resolve(entry)?.as_dict().cloned() else {
            return Ok(Some("VRI entry is not a dictionary".into()));
        };
        for (ek, _) in e.iter() {
            if !VRI_KEYS.iter().any(|x| ek == *x) {
                return Ok(Some(format!("unexpected VRI key /{}", ek.as_str())));
            }
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Analysis of one revision

struct Ctx<'a> {
    rev: &'a Revision,
    prev: &'a Document,
    prev_reach: &'a HashSet<u32>,
    prev_roles: &'a HashMap<u32, u16>,
    cur: &'a Document,
    cur_reach: &'a HashSet<u32>,
    cur_roles: &'a HashMap<u32, u16>,
    docmdp: Option<u8>,
    locks: &'a Locks,
    policy: Policy,
    /// Pages as they were before this revision (what added annotations may cover), by page
    /// object number.
    views: RefCell<HashMap<u32, Rc<PageView>>>,
    /// The pages (object references) whose `/Annots` list each annotation now.
    annot_pages: RefCell<Option<HashMap<u32, Vec<ObjRef>>>>,
    /// Annotations added by this revision, for the report.
    listed: RefCell<Vec<AddedAnnotation>>,
}

/// No longer produced: a new signature whose widget covers page content is
/// [`ANNOTATION_OVERLAYS_CONTENT`] (not allowed) unless it is the Decree 30 seal
/// ([`SEAL_OVER_SIGNATURE`]). Kept so that integrators' code naming it still compiles.
pub const NEW_SIGNATURE_OVERLAPS: &str = "NEW_SIGNATURE_OVERLAPS";

/// An annotation or widget added after the signature whose appearance paints over content of
/// the page as signed: text, an image, or an earlier annotation (evil annotation and sneaky
/// signature attacks). Not allowed, at every DocMDP level and without one.
pub const ANNOTATION_OVERLAYS_CONTENT: &str = "ANNOTATION_OVERLAYS_CONTENT";

/// The Decree 30 organization seal: a new signature by an organization certificate whose widget
/// lies over part of a personal signature's widget (at most [`SEAL_MAX_COVER`] of it) on the
/// same page and, beyond it, only over the lines of that signature block (the title and name lines running across the personal
/// signature's width). Allowed, informational.
pub const SEAL_OVER_SIGNATURE: &str = "SEAL_OVER_SIGNATURE";

/// The largest share of a personal signature's widget the seal may cover (Decree 30 puts it
/// over about the left third of the signature image).
const SEAL_MAX_COVER: f64 = 0.6;

/// Annotation flags that keep an annotation from being shown (`Hidden`, `NoView`).
const F_HIDDEN_OR_NOVIEW: i64 = 2 | 32;

/// A page as it was before a revision: what an annotation added then may cover.
struct PageView {
    /// 0-based page index.
    index: usize,
    crop: [f64; 4],
    /// Text and images; `None` when the content could not be read (then anything visible on
    /// the page counts as covering it).
    marks: Option<kyso_pdf::text::PageMarks>,
    annots: Vec<OldAnnot>,
}

/// A visible annotation of the page before the revision.
struct OldAnnot {
    num: Option<u32>,
    /// Field name (widgets) or subtype.
    name: String,
    rect: [f64; 4],
    /// For a signed signature widget: its signature dictionary.
    signature: Option<ObjRef>,
}

/// What an added annotation covers on one page.
#[derive(Default)]
struct Coverage {
    page: usize,
    /// The new annotation's rectangle.
    rect: [f64; 4],
    /// Covered words with the box of their line.
    words: Vec<(String, [f64; 4])>,
    images: usize,
    /// Covered annotations: name, rectangle, signature dictionary (signed signature widgets).
    annots: Vec<(String, [f64; 4], Option<ObjRef>)>,
    unreadable: bool,
}

impl Coverage {
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.images == 0 && self.annots.is_empty() && !self.unreadable
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.words.is_empty() {
            let words: Vec<&str> = self.words.iter().take(6).map(|(w, _)| w.as_str()).collect();
            parts.push(format!("page text «{}»", words.join(" ")));
        }
        if self.images > 0 {
            parts.push(format!("{} image(s)", self.images));
        }
        for (name, _, _) in self.annots.iter().take(3) {
            parts.push(format!("the existing annotation or field «{name}»"));
        }
        if self.unreadable {
            parts.push("a page whose content could not be read".to_owned());
        }
        format!("page {}: {}", self.page + 1, parts.join(", "))
    }
}

/// Do `a` and `b` overlap by more than half a point each way, inside `clip`?
fn overlaps(a: &[f64; 4], b: &[f64; 4], clip: &[f64; 4]) -> bool {
    let w = a[2].min(b[2]).min(clip[2]) - a[0].max(b[0]).max(clip[0]);
    let h = a[3].min(b[3]).min(clip[3]) - a[1].max(b[1]).max(clip[1]);
    w > 0.5 && h > 0.5
}

/// The rectangle an annotation may paint (default user space), or `None` when it shows
/// nothing: flagged `Hidden` or `NoView`, a zero-size (invisible) rectangle, or a link without
/// an appearance (viewers draw at most its border). A `/Rect` that cannot be read covers the
/// whole page.
fn painted_rect(doc: &Document, d: &Dict) -> Option<[f64; 4]> {
    let flags = d
        .get("F")
        .and_then(|f| doc.resolve(f).ok())
        .and_then(|f| f.as_int())
        .unwrap_or(0);
    if flags & F_HIDDEN_OR_NOVIEW != 0 {
        return None;
    }
    if d.get_name("Subtype").is_some_and(|s| s == "Link") && !d.contains("AP") {
        return None;
    }
    let rect = match d.get("Rect").map(|r| doc.rect(r)) {
        Some(Ok(Some(r))) => [
            r[0].min(r[2]),
            r[1].min(r[3]),
            r[0].max(r[2]),
            r[1].max(r[3]),
        ],
        None => return None,
        _ => [f64::MIN, f64::MIN, f64::MAX, f64::MAX],
    };
    (rect[2] - rect[0] > 0.5 && rect[3] - rect[1] > 0.5).then_some(rect)
}

/// The signature dictionary of a signed signature widget (`/FT /Sig` and `/V` on the widget or
/// its parent field).
fn widget_signature(doc: &Document, d: &Dict) -> Option<ObjRef> {
    let parent = d
        .get("Parent")
        .and_then(|p| doc.resolve(p).ok())
        .and_then(|p| p.as_dict().cloned());
    let get = |k: &str| d.get(k).or_else(|| parent.as_ref().and_then(|p| p.get(k)));
    get("FT")
        .and_then(Object::as_name)
        .filter(|n| *n == "Sig")?;
    get("V").and_then(Object::as_ref)
}

/// The role (personal, organization) of the certificate that signed the signature dictionary
/// `sig`, from its CMS; `None` when it cannot be read.
fn signer_role(doc: &Document, sig: ObjRef) -> Option<crate::validate::Role> {
    let d = doc.get(sig).ok()?;
    let contents = d.as_dict()?.get("Contents")?.as_string()?.to_vec();
    let der = kyso_cms::ber::normalize(&contents, &kyso_cms::ber::BerLimits::default()).ok()?;
    let parsed = kyso_cms::verify::parse_signed_data(&der.der).ok()?;
    Some(crate::validate::SignerSummary::of(parsed.signer_certificate()?).role)
}

/// A printable text string of an annotation (`/T`, `/Contents`).
fn text_entry(doc: &Document, d: &Dict, key: &str) -> Option<String> {
    let o = doc.resolve(d.get(key)?).ok()?;
    let t = crate::fields::decode_text(o.as_string()?);
    let t: String = t.chars().take(500).collect();
    (!t.is_empty()).then_some(t)
}

/// A classification of one object.
#[derive(Debug, Clone)]
struct Verdict1 {
    code: &'static str,
    allowed: bool,
    detail: String,
}

fn v(code: &'static str, allowed: bool, detail: impl Into<String>) -> Verdict1 {
    Verdict1 {
        code,
        allowed,
        detail: detail.into(),
    }
}

type Claims = HashMap<u32, Verdict1>;

/// Record `verdict` for `num`; a disallowed verdict is never replaced by an allowed one.
fn claim(claims: &mut Claims, num: u32, verdict: Verdict1) {
    match claims.get(&num) {
        Some(old) if !old.allowed => {}
        Some(_) if verdict.allowed => {}
        _ => {
            claims.insert(num, verdict);
        }
    }
}

impl Ctx<'_> {
    fn changed(&self) -> Result<BTreeMap<u32, (ChangeKind, ObjRef)>> {
        let mut out = BTreeMap::new();
        for (num, e) in &self.rev.objects {
            if *num == 0 {
                continue;
            }
            let before = self.prev.xref().get(num).filter(|e| **e != Entry::Free);
            let r = ObjRef::new(*num, entry_gen(e));
            match (e, before) {
                (Entry::Free, None) => {}
                (Entry::Free, Some(b)) => {
                    out.insert(*num, (ChangeKind::Freed, ObjRef::new(*num, entry_gen(b))));
                }
                (_, None) => {
                    out.insert(*num, (ChangeKind::Added, r));
                }
                (_, Some(b)) if b == e => {}
                (_, Some(b)) => {
                    let old = self.prev.get(ObjRef::new(*num, entry_gen(b)))?;
                    let new = self.cur.get(r)?;
                    if !same_object(self.prev, &old, self.cur, &new)? {
                        out.insert(*num, (ChangeKind::Modified, r));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Does this revision's entry for `num` point into the bytes of an earlier revision (an
    /// object body hidden in signed bytes, brought to life by a later cross-reference entry)?
    fn points_back(&self, num: u32) -> bool {
        match self.rev.objects.get(&num) {
            Some(Entry::InFile { offset, .. }) => *offset < self.prev.len(),
            Some(Entry::InStream { stream, .. }) => !matches!(
                self.rev.objects.get(stream),
                Some(Entry::InFile { offset, .. }) if *offset >= self.prev.len()
            ),
            _ => false,
        }
    }

    /// Changed in this revision and not part of the document before it: a new object.
    fn is_new(&self, changed: &BTreeMap<u32, (ChangeKind, ObjRef)>, num: u32) -> bool {
        matches!(
            changed.get(&num),
            Some((ChangeKind::Added | ChangeKind::Modified, _))
        ) && !self.prev_reach.contains(&num)
    }

    fn analyse(&self, out: &mut Vec<Change>) -> Result<()> {
        let changed = self.changed()?;
        if changed.is_empty() {
            return Ok(());
        }
        let prev_roles = self.prev_roles;
        let cur_roles = self.cur_roles;
        let mut claims: Claims = HashMap::new();
        let mut new_fields: HashSet<u32> = HashSet::new();
        self.catalog_rules(&changed, prev_roles, &mut claims, &mut new_fields)?;
        self.page_rules(&changed, &mut claims, &mut new_fields)?;
        self.form_filling(&changed, &mut claims)?;

        // The XMP stream as it is now, checked (once) when it is among the changes.
        let xmp_num = self
            .cur
            .catalog()?
            .get("Metadata")
            .and_then(Object::as_ref)
            .map(|r| r.num);
        let xmp_problem = match xmp_num {
            Some(n) if self.policy.allow_metadata && changed.contains_key(&n) => {
                self.xmp_problem()?
            }
            _ => None,
        };
        for (num, (kind, r)) in &changed {
            let mut verdict = if let (Some(why), true) = (&xmp_problem, xmp_num == Some(*num)) {
                v("METADATA_CHANGED", false, why.clone())
            } else if let Some(c) = claims.get(num) {
                c.clone()
            } else if *kind == ChangeKind::Freed {
                if self.prev_reach.contains(num) {
                    v("OBJECT_FREED", false, "an object in use was freed")
                } else {
                    v("UNUSED_OBJECT_FREED", true, "an unused object was freed")
                }
            } else if self.prev_reach.contains(num) {
                let bits = prev_roles.get(num).copied().unwrap_or(0);
                if bits == R_META
                    && self.policy.allow_metadata
                    && !outside_meta(self.prev)?.contains(num)
                {
                    v(
                        "METADATA_CHANGED",
                        true,
                        "document information or XMP metadata",
                    )
                } else {
                    v(role_code(bits), false, "an object in use was redefined")
                }
            } else if cur_roles.get(num) == Some(&R_META)
                && self.policy.allow_metadata
                && !outside_meta(self.cur)?.contains(num)
            {
                v(
                    "METADATA_CHANGED",
                    true,
                    "new document information or XMP metadata",
                )
            } else {
                let o = self.cur.get(*r)?;
                let container = o
                    .as_stream()
                    .and_then(|s| s.dict.get_name("Type"))
                    .is_some_and(|t| t == "XRef" || t == "ObjStm");
                if container && !self.cur_reach.contains(num) {
                    v("XREF_CONTAINER", true, "cross-reference or object stream")
                } else if let Some(bits) = cur_roles.get(num).filter(|b| **b != 0) {
                    v(role_code(*bits), false, "a new object used by the document")
                } else if self.cur_reach.contains(num) {
                    v(
                        "OBJECT_ADDED",
                        false,
                        "a new object outside any allowed change",
                    )
                } else {
                    v(
                        "OBJECT_ADDED",
                        false,
                        "a new object that nothing references",
                    )
                }
            };
            if *kind != ChangeKind::Freed && self.points_back(*num) {
                verdict = v(
                    "OBJECT_OVERRIDDEN",
                    false,
                    "the new definition lies in the bytes of an earlier revision",
                );
            }
            if *kind != ChangeKind::Freed && verdict.code != "XREF_CONTAINER" {
                let new = self.cur.get(*r)?;
                let old = if *kind == ChangeKind::Modified {
                    self.prev.get(*r)?
                } else {
                    Object::Null
                };
                if has_action(&new, 0) && !has_action(&old, 0) {
                    verdict = v("ACTION_ADDED", false, "an action or JavaScript was added");
                }
            }
            out.push(Change {
                revision: self.rev.index,
                object: *r,
                kind: *kind,
                code: verdict.code,
                allowed: verdict.allowed,
                detail: verdict.detail,
            });
        }
        Ok(())
    }

    /// Catalog, AcroForm and DSS.
    /// Why the XMP metadata of the current revision cannot be an allowed update — pyHanko's
    /// `MetadataUpdateRule`: `/Metadata` must be an indirect reference to a stream holding
    /// well-formed XML with declared namespace prefixes and `x:xmpmeta` as its root
    /// ([`crate::xmp`]) — or `None` when it can (or there is none).
    fn xmp_problem(&self) -> Result<Option<String>> {
        let cat = self.cur.catalog()?;
        let Some(m) = cat.get("Metadata") else {
            return Ok(None);
        };
        let Some(r) = m.as_ref() else {
            return Ok(Some("/Metadata is not an indirect reference".into()));
        };
        let obj = match self.cur.get(r) {
            Ok(o) => o,
            Err(e) => return Ok(Some(format!("/Metadata cannot be read: {e}"))),
        };
        let Some(stream) = obj.as_stream() else {
            return Ok(Some("/Metadata is not a stream".into()));
        };
        let data = match self.cur.decoded(stream) {
            Ok(d) => d,
            Err(e) => return Ok(Some(format!("the XMP stream cannot be decoded: {e}"))),
        };
        Ok(crate::xmp::check_xmp(&data)
            .err()
            .map(|e| format!("XMP metadata is not well-formed XML: {e}")))
    }

    /// Under [`Policy::first_certification`]: whether `sig` (a new signature value) is what
    /// the catalog's `/Perms` names as `/DocMDP` now, with no `/Perms` before.
    fn first_certification(&self, sig: ObjRef) -> Result<bool> {
        if !self.policy.first_certification || self.docmdp.is_some() {
            return Ok(false);
        }
        if self.prev.catalog()?.contains("Perms") {
            return Ok(false);
        }
        let Some(Object::Dict(perms)) = self.cur.catalog()?.get("Perms").cloned() else {
            return Ok(false);
        };
        Ok(perms.len() == 1 && perms.get("DocMDP").and_then(Object::as_ref) == Some(sig))
    }

    fn catalog_rules(
        &self,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        prev_roles: &HashMap<u32, u16>,
        claims: &mut Claims,
        new_fields: &mut HashSet<u32>,
    ) -> Result<()> {
        let prev_root = self.prev.catalog_ref()?;
        let cur_root = self.cur.catalog_ref()?;
        let prev_cat = self.prev.catalog()?;
        let cur_cat = self.cur.catalog()?;
        if prev_root != cur_root {
            claim(
                claims,
                cur_root.num,
                v(
                    "CATALOG_CHANGED",
                    false,
                    "the trailer's /Root was re-pointed",
                ),
            );
            return Ok(());
        }
        let cat_changed = changed.contains_key(&cur_root.num);
        let keys = diff_keys(&prev_cat, &cur_cat);
        let mut worst: Option<Verdict1> = None;
        let has = |name: &str| keys.iter().any(|k| k == name);
        let allowed_code = if has("AcroForm") {
            "ACROFORM_FIELDS_APPENDED"
        } else if has("DSS") {
            "DSS_UPDATE"
        } else if has("Version") || has("Extensions") {
            "CATALOG_VERSION"
        } else if has("Perms") {
            "NEW_SIGNATURE_FIELD"
        } else {
            "METADATA_CHANGED"
        };
        for k in &keys {
            let bad = match k.as_str() {
                "AcroForm" | "DSS" | "Version" | "Extensions" => None,
                "Metadata" if self.policy.allow_metadata => self
                    .xmp_problem()?
                    .map(|why| v("METADATA_CHANGED", false, why)),
                "Metadata" => Some(v("METADATA_CHANGED", false, "catalog /Metadata changed")),
                "OpenAction" | "AA" => Some(v("ACTION_ADDED", false, format!("catalog /{k}"))),
                "Perms" => {
                    let sig = cur_cat
                        .get("Perms")
                        .and_then(Object::as_dict)
                        .and_then(|d| d.get("DocMDP"))
                        .and_then(Object::as_ref)
                        .filter(|r| self.is_new(changed, r.num));
                    match sig {
                        Some(sig) if self.first_certification(sig)? => None,
                        _ => Some(v("CATALOG_CHANGED", false, "catalog /Perms changed")),
                    }
                }
                _ => Some(v("CATALOG_CHANGED", false, format!("catalog /{k} changed"))),
            };
            if bad.is_some() && worst.is_none() {
                worst = bad;
            }
        }
        // New objects of the extensions dictionary.
        if let Some(ext) = cur_cat.get("Extensions").filter(|_| has("Extensions")) {
            for num in walk(self.cur, std::slice::from_ref(ext), UP, &HashSet::new())? {
                if self.is_new(changed, num) {
                    claim(claims, num, v("CATALOG_VERSION", true, "/Extensions"));
                }
            }
        }

        // AcroForm.
        let form_verdict = self.acroform_rule(&prev_cat, &cur_cat, changed, claims, new_fields)?;
        if let Some(bad) = form_verdict {
            if cat_changed && keys.iter().any(|k| k == "AcroForm") && worst.is_none() {
                worst = Some(bad);
            }
        }

        // DSS: new objects, and objects only the DSS used, may change.
        if let Some(dss) = cur_cat.get("DSS") {
            if let Some(why) = dss_malformed(self.cur, dss)? {
                if keys.iter().any(|k| k == "DSS") && worst.is_none() {
                    worst = Some(v("DSS_UPDATE", false, why.clone()));
                }
                if let Some(r) = dss.as_ref().filter(|r| changed.contains_key(&r.num)) {
                    claim(claims, r.num, v("DSS_UPDATE", false, why));
                }
            }
            let tree = HashSet::new();
            // What the document used before, not counting the DSS: those objects stay fixed
            // even if the DSS references them too.
            let roots: Vec<Object> = ["Root", "Info"]
                .iter()
                .filter_map(|k| self.prev.trailer().get(k).cloned())
                .collect();
            let outside_dss = walk(self.prev, &roots, &["DSS"], &tree)?;
            for num in walk(self.cur, std::slice::from_ref(dss), UP, &tree)? {
                if !changed.contains_key(&num) {
                    continue;
                }
                let only_dss = prev_roles.get(&num).copied().unwrap_or(0) == R_DSS
                    && !outside_dss.contains(&num);
                if self.is_new(changed, num) || only_dss {
                    claim(
                        claims,
                        num,
                        v("DSS_UPDATE", true, "document security store"),
                    );
                }
            }
        }

        if cat_changed {
            let verdict = worst.unwrap_or_else(|| v(allowed_code, true, "catalog update"));
            claim(claims, cur_root.num, verdict);
        }
        Ok(())
    }

    /// Returns a disallowed verdict if the AcroForm changed in a way not allowed.
    fn acroform_rule(
        &self,
        prev_cat: &Dict,
        cur_cat: &Dict,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
        new_fields: &mut HashSet<u32>,
    ) -> Result<Option<Verdict1>> {
        let Some(cur_form_obj) = cur_cat.get("AcroForm") else {
            return Ok(if prev_cat.contains("AcroForm") {
                Some(v("CATALOG_CHANGED", false, "AcroForm removed"))
            } else {
                None
            });
        };
        let cur_form = self.cur.resolve_dict(cur_form_obj, "AcroForm")?;
        let prev_form = match prev_cat.get("AcroForm") {
            Some(o) => Some(self.prev.resolve_dict(o, "AcroForm")?),
            None => None,
        };
        let form_ref = cur_form_obj.as_ref();
        let prev_form_ref = prev_cat.get("AcroForm").and_then(Object::as_ref);
        let fields_ref = cur_form.get("Fields").and_then(Object::as_ref);
        let mut targets: Vec<u32> = Vec::new();
        targets.extend(form_ref.map(|r| r.num));
        targets.extend(fields_ref.map(|r| r.num));
        targets.retain(|n| changed.contains_key(n));

        let mut bad: Option<Verdict1> = None;
        match &prev_form {
            Some(pf) => {
                if form_ref != prev_form_ref && prev_form_ref.is_some() {
                    bad = Some(v("CATALOG_CHANGED", false, "AcroForm re-pointed"));
                }
                for k in diff_keys(pf, &cur_form) {
                    if k == "Fields" || k == "SigFlags" {
                        continue;
                    }
                    if k == "DR" {
                        if let Some(why) = self.dr_only_grows(pf, &cur_form, changed, claims)? {
                            bad.get_or_insert(why);
                        }
                        continue;
                    }
                    bad.get_or_insert_with(|| {
                        v("CATALOG_CHANGED", false, format!("AcroForm /{k} changed"))
                    });
                }
            }
            None => {
                for (k, _) in cur_form.iter() {
                    let ok = ["Fields", "SigFlags", "DA", "DR"].iter().any(|a| k == *a);
                    if !ok && bad.is_none() {
                        bad = Some(v(
                            "CATALOG_CHANGED",
                            false,
                            format!("new AcroForm has /{k:?}"),
                        ));
                    }
                }
                if let Some(dr) = cur_form.get("DR") {
                    for num in walk(self.cur, std::slice::from_ref(dr), UP, &HashSet::new())? {
                        if self.is_new(changed, num) {
                            claim(
                                claims,
                                num,
                                v("ACROFORM_FIELDS_APPENDED", true, "new form resources"),
                            );
                        }
                    }
                }
            }
        }
        let prev_fields: Vec<Object> = match &prev_form {
            Some(pf) => self
                .prev
                .resolve(pf.get("Fields").unwrap_or(&Object::Null))?
                .as_array()
                .unwrap_or_default()
                .to_vec(),
            None => Vec::new(),
        };
        let cur_fields: Vec<Object> = self
            .cur
            .resolve(cur_form.get("Fields").unwrap_or(&Object::Null))?
            .as_array()
            .unwrap_or_default()
            .to_vec();
        let prefix = cur_fields.len() >= prev_fields.len()
            && prev_fields.iter().zip(&cur_fields).all(|(a, b)| same(a, b));
        if !prefix {
            bad.get_or_insert_with(|| {
                v(
                    "CATALOG_CHANGED",
                    false,
                    "AcroForm /Fields lost or reordered fields",
                )
            });
        } else {
            for f in cur_fields.iter().skip(prev_fields.len()) {
                match self.new_signature_field(f, changed, claims, new_fields)? {
                    Ok(()) => {}
                    Err(why) => {
                        bad.get_or_insert(why);
                    }
                }
            }
        }
        let verdict = bad
            .clone()
            .unwrap_or_else(|| v("ACROFORM_FIELDS_APPENDED", true, "new signature fields"));
        for n in targets {
            claim(claims, n, verdict.clone());
        }
        Ok(bad)
    }

    /// The AcroForm's default resources (`/DR`) may gain names (signers add the fonts of their
    /// appearances), never change or lose one: a font swapped under an existing name would
    /// change every appearance a viewer regenerates (shadow *replace*).
    fn dr_only_grows(
        &self,
        old_form: &Dict,
        new_form: &Dict,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
    ) -> Result<Option<Verdict1>> {
        let bad = |what: String| Ok(Some(v("CATALOG_CHANGED", false, what)));
        let old = match old_form.get("DR") {
            Some(o) => self.prev.resolve_dict(o, "AcroForm /DR")?,
            None => Dict::new(),
        };
        let Some(new_obj) = new_form.get("DR") else {
            return bad("AcroForm /DR removed".into());
        };
        if let (Some(a), Some(b)) = (
            old_form.get("DR").and_then(Object::as_ref),
            new_obj.as_ref(),
        ) {
            if a != b {
                return bad("AcroForm /DR re-pointed".into());
            }
        }
        let new = self.cur.resolve_dict(new_obj, "AcroForm /DR")?;
        let mut added = Vec::new();
        for (cat, old_sub) in old.iter() {
            let Some(new_sub) = new.get(&cat.as_str()) else {
                return bad(format!("AcroForm /DR /{} removed", cat.as_str()));
            };
            let old_sub = self.prev.resolve(old_sub)?;
            let new_sub = self.cur.resolve(new_sub)?;
            let (Some(o), Some(n)) = (old_sub.as_dict(), new_sub.as_dict()) else {
                if !same(&old_sub, &new_sub) {
                    return bad(format!("AcroForm /DR /{} changed", cat.as_str()));
                }
                continue;
            };
            for (name, val) in o.iter() {
                if !n.get(&name.as_str()).is_some_and(|w| same(val, w)) {
                    return bad(format!(
                        "AcroForm /DR /{} /{} changed",
                        cat.as_str(),
                        name.as_str()
                    ));
                }
            }
            for (name, val) in n.iter() {
                if !o.contains(&name.as_str()) {
                    added.push(val.clone());
                }
            }
            // An indirect sub-dictionary redefined with only additions.
            if let Some(r) = old.get(&cat.as_str()).and_then(Object::as_ref) {
                if changed.contains_key(&r.num) {
                    claim(
                        claims,
                        r.num,
                        v("ACROFORM_FIELDS_APPENDED", true, "form resources added"),
                    );
                }
            }
        }
        for (cat, val) in new.iter() {
            if !old.contains(&cat.as_str()) {
                added.push(val.clone());
            }
        }
        if let Some(r) = new_obj.as_ref().filter(|r| changed.contains_key(&r.num)) {
            claim(
                claims,
                r.num,
                v("ACROFORM_FIELDS_APPENDED", true, "form resources added"),
            );
        }
        for num in walk(self.cur, &added, UP, &HashSet::new())? {
            if self.is_new(changed, num) {
                claim(
                    claims,
                    num,
                    v("ACROFORM_FIELDS_APPENDED", true, "form resources added"),
                );
            }
        }
        Ok(None)
    }

    /// Check that `f` is a new signature field (or a widget of one) and claim its objects.
    /// `Err` carries the reason it is not.
    fn new_signature_field(
        &self,
        f: &Object,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
        done: &mut HashSet<u32>,
    ) -> Result<std::result::Result<(), Verdict1>> {
        let Some(r) = f.as_ref() else {
            return Ok(Err(v(
                "OBJECT_ADDED",
                false,
                "a direct field or annotation",
            )));
        };
        if done.contains(&r.num) {
            return Ok(Ok(()));
        }
        if !self.is_new(changed, r.num) {
            return Ok(Err(v(
                "ANNOTATION_CHANGED",
                false,
                "an existing object appended as a field or annotation",
            )));
        }
        let Some(d) = self.cur.get(r)?.as_dict().cloned() else {
            return Ok(Err(v("OBJECT_ADDED", false, "field is not a dictionary")));
        };
        let is_annot = d.get_name("Type").is_some_and(|t| t == "Annot") || d.contains("Subtype");
        if is_annot && d.get_name("Subtype").is_none_or(|s| s != "Widget") {
            return Ok(Err(self.other_annotation(
                r,
                &d,
                changed,
                claims,
                "annotation",
            )?));
        }
        // The field dictionary: its own, or the widget's parent (which must be new too).
        let (field_num, field) = match (d.get_name("FT"), d.get("Parent").and_then(Object::as_ref))
        {
            (Some(_), _) => (r.num, d.clone()),
            (None, Some(p)) if self.is_new(changed, p.num) => {
                match self.cur.get(p)?.as_dict().cloned() {
                    Some(pd) => (p.num, pd),
                    None => return Ok(Err(v("OBJECT_ADDED", false, "bad widget parent"))),
                }
            }
            _ => {
                return Ok(Err(self.other_annotation(
                    r,
                    &d,
                    changed,
                    claims,
                    "widget of an existing field",
                )?))
            }
        };
        if field.get_name("FT").is_none_or(|t| t != "Sig") {
            return Ok(Err(v(
                "OBJECT_ADDED",
                false,
                "a new form field that is not a signature",
            )));
        }
        if field.contains("Kids") && field_num == r.num && !is_annot {
            // Kids are checked when reached as page annotations; a field with kids of its own
            // is accepted only if every kid is a new widget.
            for k in self
                .cur
                .resolve(field.get("Kids").unwrap_or(&Object::Null))?
                .as_array()
                .unwrap_or_default()
            {
                if !k.as_ref().is_some_and(|k| self.is_new(changed, k.num)) {
                    return Ok(Err(v(
                        "OBJECT_OVERRIDDEN",
                        false,
                        "signature field kid reused",
                    )));
                }
            }
        }
        let value = field.get("V").and_then(Object::as_ref);
        let (code, detail) = match value {
            Some(sv) if self.is_new(changed, sv.num) => {
                let sd = self.cur.get(sv)?;
                let sd = sd.as_dict().cloned().unwrap_or_default();
                if certifies(self.cur, &sd)? && !self.first_certification(sv)? {
                    return Ok(Err(v(
                        "NEW_SIGNATURE_FIELD",
                        false,
                        "a certification signature after signing",
                    )));
                }
                match sd
                    .get_name("Type")
                    .map(|t| t.as_str().into_owned())
                    .as_deref()
                {
                    Some("DocTimeStamp") => ("DOC_TIMESTAMP", "document timestamp"),
                    Some("Sig") | None => ("NEW_SIGNATURE_FIELD", "new signature"),
                    _ => {
                        return Ok(Err(v(
                            "OBJECT_ADDED",
                            false,
                            "field value is not a signature",
                        )))
                    }
                }
            }
            Some(_) => {
                return Ok(Err(v(
                    "OBJECT_OVERRIDDEN",
                    false,
                    "new signature field reuses an existing signature value",
                )))
            }
            None => {
                let visible = d.contains("AP") || field.contains("AP");
                if visible {
                    let what = "an unsigned signature field with an appearance";
                    let covered = self.coverage(r, &d)?;
                    let verdict = Self::overlay_verdict(&covered, what)
                        .unwrap_or_else(|| v("ANNOTATION_ADDED", false, what));
                    self.claim_new(&[Object::Ref(r)], changed, claims, &verdict)?;
                    return Ok(Err(verdict));
                }
                ("NEW_SIGNATURE_FIELD", "empty signature field")
            }
        };
        let visible = painted_rect(self.cur, &d).is_some();
        let covered = if visible {
            self.coverage(r, &d)?
        } else {
            Vec::new()
        };
        // The Decree 30 seal over a personal signature is the one covering allowed.
        let seal = match value {
            Some(sv) if !covered.is_empty() && code == "NEW_SIGNATURE_FIELD" => {
                self.seal_form(sv, &covered)
            }
            _ => None,
        };
        // Over a version no signature covers, the new signature's widget may cover the page.
        let over_unsigned = !covered.is_empty()
            && seal.is_none()
            && self.policy.signature_over_unsigned
            && code == "NEW_SIGNATURE_FIELD"
            && value.is_some();
        if !covered.is_empty() && seal.is_none() && !over_unsigned {
            let mut roots = vec![Object::Ref(r), Object::Ref(ObjRef::new(field_num, 0))];
            roots.extend(value.map(Object::Ref));
            let verdict = Self::overlay_verdict(&covered, &format!("a {detail}"))
                .unwrap_or_else(|| v(ANNOTATION_OVERLAYS_CONTENT, false, detail));
            self.claim_new(&roots, changed, claims, &verdict)?;
            return Ok(Err(verdict));
        }
        let (code, detail) = match (visible, seal) {
            (true, Some(personal)) => (
                SEAL_OVER_SIGNATURE,
                format!(
                    "the organization's seal over the personal signature «{personal}» \
                     (the Decree 30 form)"
                ),
            ),
            (true, None) if over_unsigned => {
                let on: Vec<String> = covered.iter().map(Coverage::describe).collect();
                (
                    code,
                    format!(
                        "{detail} (visible widget drawn over {} of a version no signature \
                         covers)",
                        on.join("; ")
                    ),
                )
            }
            (true, None) => (
                code,
                format!("{detail} (visible widget: its appearance is drawn over the page)"),
            ),
            (false, _) => (code, detail.to_string()),
        };
        // Claim the new objects of the field, widget, value and appearance.
        let roots = [Object::Ref(r), Object::Ref(ObjRef::new(field_num, 0))];
        let mut roots = roots.to_vec();
        if let Some(p) = d.get("Parent") {
            roots.push(p.clone());
        }
        let stop: HashSet<u32> = HashSet::new();
        for num in walk(self.cur, &roots, &["P", "Parent"], &stop)? {
            if self.is_new(changed, num) {
                claim(claims, num, v(code, true, detail.clone()));
            }
        }
        done.insert(r.num);
        done.insert(field_num);
        Ok(Ok(()))
    }

    /// The page (object `page`) as it was before this revision, read once per revision.
    fn view(&self, page: ObjRef) -> Result<Option<Rc<PageView>>> {
        if let Some(v) = self.views.borrow().get(&page.num) {
            return Ok(Some(Rc::clone(v)));
        }
        let pages = self.prev.pages()?;
        let Some((index, p)) = pages.iter().enumerate().find(|(_, p)| p.id == page) else {
            return Ok(None);
        };
        let marks = kyso_pdf::text::page_marks(self.prev, index).ok();
        let mut annots = Vec::new();
        if let Some(list) = p.dict.get("Annots") {
            let list = self.prev.resolve(list)?;
            for a in list.as_array().unwrap_or_default().iter().take(MAX_VISITS) {
                let Ok(o) = self.prev.resolve(a) else {
                    continue;
                };
                let Some(d) = o.as_dict() else { continue };
                let Some(rect) = painted_rect(self.prev, d) else {
                    continue;
                };
                let name = match field_name(self.prev, d) {
                    Ok(n) if !n.is_empty() => n,
                    _ => d
                        .get_name("Subtype")
                        .map(|n| n.as_str().into_owned())
                        .unwrap_or_else(|| "?".to_owned()),
                };
                annots.push(OldAnnot {
                    num: a.as_ref().map(|r| r.num),
                    name,
                    rect,
                    signature: widget_signature(self.prev, d),
                });
            }
        }
        let v = Rc::new(PageView {
            index,
            crop: p.crop_box,
            marks,
            annots,
        });
        self.views.borrow_mut().insert(page.num, Rc::clone(&v));
        Ok(Some(v))
    }

    /// The pages whose `/Annots` list the annotation `r` now (else its `/P`).
    fn pages_of(&self, r: ObjRef, d: &Dict) -> Result<Vec<ObjRef>> {
        if self.annot_pages.borrow().is_none() {
            let mut map: HashMap<u32, Vec<ObjRef>> = HashMap::new();
            for p in self.cur.pages()? {
                let Some(list) = p.dict.get("Annots") else {
                    continue;
                };
                let list = self.cur.resolve(list)?;
                for a in list.as_array().unwrap_or_default().iter().take(MAX_VISITS) {
                    if let Some(a) = a.as_ref() {
                        let on = map.entry(a.num).or_default();
                        if !on.contains(&p.id) {
                            on.push(p.id);
                        }
                    }
                }
            }
            *self.annot_pages.borrow_mut() = Some(map);
        }
        let listed = self
            .annot_pages
            .borrow()
            .as_ref()
            .and_then(|m| m.get(&r.num).cloned())
            .unwrap_or_default();
        if !listed.is_empty() {
            return Ok(listed);
        }
        Ok(d.get("P").and_then(Object::as_ref).into_iter().collect())
    }

    /// What the new annotation `r` (dictionary `d`) paints over, page by page, on the pages as
    /// they were before this revision: text, images, and visible annotations. Empty when it
    /// covers nothing.
    fn coverage(&self, r: ObjRef, d: &Dict) -> Result<Vec<Coverage>> {
        let Some(rect) = painted_rect(self.cur, d) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for page in self.pages_of(r, d)? {
            let Some(view) = self.view(page)? else {
                continue;
            };
            let crop = view.crop;
            if !overlaps(&rect, &crop, &crop) {
                continue;
            }
            let mut c = Coverage {
                page: view.index,
                rect,
                ..Coverage::default()
            };
            match &view.marks {
                Some(m) => {
                    for line in &m.text.lines {
                        if !overlaps(&rect, &line.bbox, &crop) {
                            continue;
                        }
                        for w in line
                            .words
                            .iter()
                            .filter(|w| overlaps(&rect, &w.bbox, &crop))
                        {
                            c.words.push((w.text.clone(), line.bbox));
                        }
                    }
                    c.images = m
                        .images
                        .iter()
                        .filter(|b| overlaps(&rect, b, &crop))
                        .count();
                }
                None => c.unreadable = true,
            }
            for a in &view.annots {
                if a.num != Some(r.num) && overlaps(&rect, &a.rect, &crop) {
                    c.annots.push((a.name.clone(), a.rect, a.signature));
                }
            }
            if !c.is_empty() {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The name of the personal signature that the new signature `value` covers as Decree 30's
    /// organization seal does, or `None` when the covering is anything else. The seal is
    /// signed with an organization certificate and lies over a personal signature's widget;
    /// the only other things it may cover are the lines of that signature block — text lines
    /// running across the personal signature's width (the title above it, the name below).
    /// Images, other annotations or unreadable pages are never part of the form.
    fn seal_form(&self, value: ObjRef, covered: &[Coverage]) -> Option<String> {
        use crate::validate::Role;
        if signer_role(self.cur, value)? != Role::Organization {
            return None;
        }
        let mut personal = None;
        for c in covered {
            if c.unreadable || c.images > 0 || c.annots.is_empty() {
                return None;
            }
            for (name, r, sig) in &c.annots {
                // Over a part of the signature (Decree 30: about its left third), never the
                // whole of it: a stamp drawn over another stamp is not the seal form.
                let w = c.rect[2].min(r[2]) - c.rect[0].max(r[0]);
                let h = c.rect[3].min(r[3]) - c.rect[1].max(r[1]);
                if w * h > SEAL_MAX_COVER * (r[2] - r[0]) * (r[3] - r[1]) {
                    return None;
                }
                if signer_role(self.prev, (*sig)?)? != Role::Personal {
                    return None;
                }
                personal.get_or_insert_with(|| name.clone());
            }
            let in_block = |line: &[f64; 4]| {
                c.annots
                    .iter()
                    .any(|(_, r, _)| line[2].min(r[2]) - line[0].max(r[0]) > 0.5)
            };
            if !c.words.iter().all(|(_, line)| in_block(line)) {
                return None;
            }
        }
        personal
    }

    /// Record a new annotation for the report (once per object).
    fn list_annotation(&self, r: ObjRef, d: &Dict, covered: &[Coverage], verdict: &Verdict1) {
        if self.listed.borrow().iter().any(|a| a.object == r) {
            return;
        }
        let order: Vec<ObjRef> = self
            .cur
            .pages()
            .unwrap_or_default()
            .iter()
            .map(|p| p.id)
            .collect();
        let mut pages: Vec<usize> = self
            .pages_of(r, d)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| order.iter().position(|q| q == p).map(|i| i + 1))
            .collect();
        pages.sort_unstable();
        pages.dedup();
        let covers = (!covered.is_empty()).then(|| {
            covered
                .iter()
                .map(Coverage::describe)
                .collect::<Vec<_>>()
                .join("; ")
        });
        self.listed.borrow_mut().push(AddedAnnotation {
            revision: self.rev.index,
            object: r,
            subtype: d
                .get_name("Subtype")
                .map(|n| n.as_str().into_owned())
                .unwrap_or_default(),
            pages,
            author: text_entry(self.cur, d, "T"),
            contents: text_entry(self.cur, d, "Contents"),
            covers,
            code: verdict.code,
            allowed: verdict.allowed,
        });
    }

    /// [`ANNOTATION_OVERLAYS_CONTENT`] for `what` when it covers anything.
    fn overlay_verdict(covered: &[Coverage], what: &str) -> Option<Verdict1> {
        (!covered.is_empty()).then(|| {
            let on: Vec<String> = covered.iter().map(Coverage::describe).collect();
            v(
                ANNOTATION_OVERLAYS_CONTENT,
                false,
                format!("{what} drawn over {}", on.join("; ")),
            )
        })
    }

    /// Claim the new objects reachable from `roots` (not going up) for `verdict`.
    fn claim_new(
        &self,
        roots: &[Object],
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
        verdict: &Verdict1,
    ) -> Result<()> {
        for num in walk(self.cur, roots, UP, &HashSet::new())? {
            if self.is_new(changed, num) {
                claim(claims, num, verdict.clone());
            }
        }
        Ok(())
    }

    /// Annotations may be added without DocMDP and under `P=3` (as long as they cover
    /// nothing); `P=1` and `P=2` forbid them.
    fn annotations_allowed(&self) -> bool {
        matches!(self.docmdp, None | Some(3))
    }

    /// A new annotation that is not a signature's widget: allowed without DocMDP and under
    /// `P=3` when it covers nothing; [`ANNOTATION_OVERLAYS_CONTENT`] when it paints over the
    /// page's text, images or annotations.
    fn other_annotation(
        &self,
        r: ObjRef,
        d: &Dict,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
        what: &str,
    ) -> Result<Verdict1> {
        let subtype = d
            .get_name("Subtype")
            .map(|s| s.as_str().into_owned())
            .unwrap_or_default();
        let covered = self.coverage(r, d)?;
        let what = format!("a new /{subtype} {what}");
        let verdict = Self::overlay_verdict(&covered, &what)
            .unwrap_or_else(|| v("ANNOTATION_ADDED", self.annotations_allowed(), what));
        self.list_annotation(r, d, &covered, &verdict);
        self.claim_new(&[Object::Ref(r)], changed, claims, &verdict)?;
        Ok(verdict)
    }

    /// Pages: only `/Annots` may change, gaining new signature widgets.
    fn page_rules(
        &self,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
        new_fields: &mut HashSet<u32>,
    ) -> Result<()> {
        let prev_pages = self.prev.pages()?;
        let cur_pages = self.cur.pages()?;
        for page in &cur_pages {
            let Some(old) = prev_pages.iter().find(|p| p.id == page.id) else {
                continue;
            };
            let annots_ref = page.dict.get("Annots").and_then(Object::as_ref);
            let page_changed = changed.contains_key(&page.id.num);
            let annots_changed = annots_ref.is_some_and(|r| changed.contains_key(&r.num));
            if !page_changed && !annots_changed {
                continue;
            }
            let mut worst: Option<Verdict1> = None;
            if page_changed {
                let old_dict = self
                    .prev
                    .get(old.id)?
                    .as_dict()
                    .cloned()
                    .unwrap_or_default();
                let new_dict = self
                    .cur
                    .get(page.id)?
                    .as_dict()
                    .cloned()
                    .unwrap_or_default();
                for k in diff_keys(&old_dict, &new_dict) {
                    let bad = match k.as_str() {
                        "Annots" => None,
                        "Contents" => Some(v("PAGE_CONTENT_CHANGED", false, "page /Contents")),
                        "Resources" => Some(v("PAGE_RESOURCES_CHANGED", false, "page /Resources")),
                        "AA" => Some(v("ACTION_ADDED", false, "page /AA")),
                        _ => Some(v("PAGE_TREE_CHANGED", false, format!("page /{k} changed"))),
                    };
                    if worst.is_none() {
                        worst = bad;
                    }
                }
            }
            let old_annots: Vec<Object> = match old.dict.get("Annots") {
                Some(a) => self
                    .prev
                    .resolve(a)?
                    .as_array()
                    .unwrap_or_default()
                    .to_vec(),
                None => Vec::new(),
            };
            let new_annots: Vec<Object> = match page.dict.get("Annots") {
                Some(a) => self.cur.resolve(a)?.as_array().unwrap_or_default().to_vec(),
                None => Vec::new(),
            };
            let prefix = new_annots.len() >= old_annots.len()
                && old_annots.iter().zip(&new_annots).all(|(a, b)| same(a, b));
            let mut code = "PAGE_ANNOTS_APPENDED";
            if !prefix {
                worst.get_or_insert_with(|| {
                    v(
                        "ANNOTATION_CHANGED",
                        false,
                        "annotations removed or reordered",
                    )
                });
            } else {
                for a in new_annots.iter().skip(old_annots.len()) {
                    if let Err(why) = self.new_signature_field(a, changed, claims, new_fields)? {
                        if why.allowed && why.code == "ANNOTATION_ADDED" {
                            code = "ANNOTATION_ADDED";
                        } else {
                            worst.get_or_insert(why);
                        }
                    }
                }
            }
            let verdict = worst.unwrap_or_else(|| v(code, true, "new widgets on the page"));
            if page_changed {
                claim(claims, page.id.num, verdict.clone());
            }
            if let Some(r) = annots_ref.filter(|_| annots_changed) {
                claim(claims, r.num, verdict);
            }
        }
        Ok(())
    }

    /// Existing non-signature fields changing only their value and appearance.
    fn form_filling(
        &self,
        changed: &BTreeMap<u32, (ChangeKind, ObjRef)>,
        claims: &mut Claims,
    ) -> Result<()> {
        let fields = form_fields(self.cur)?;
        // Existing empty signature fields signed now (their own dictionary carries /FT /Sig).
        let mut signed_now: HashSet<u32> = HashSet::new();
        for (r, d) in &fields {
            if !matches!(changed.get(&r.num), Some((ChangeKind::Modified, _)))
                || !self.prev_reach.contains(&r.num)
                || d.get_name("FT").is_none_or(|t| t != "Sig")
            {
                continue;
            }
            let old = self.prev.get(*r)?.as_dict().cloned().unwrap_or_default();
            if old.contains("V") || old.get_name("FT").is_none_or(|t| t != "Sig") {
                continue;
            }
            let keys = diff_keys(&old, d);
            if !keys.iter().all(|k| k == "V" || k == "AS" || k == "AP") {
                continue;
            }
            let Some(value) = d.get("V").and_then(Object::as_ref) else {
                continue;
            };
            if !self.is_new(changed, value.num) {
                continue;
            }
            let sd = self.cur.get(value)?.as_dict().cloned().unwrap_or_default();
            let code = match sd
                .get_name("Type")
                .map(|t| t.as_str().into_owned())
                .as_deref()
            {
                _ if certifies(self.cur, &sd)? && !self.first_certification(value)? => continue,
                Some("DocTimeStamp") => "DOC_TIMESTAMP",
                Some("Sig") | None => "NEW_SIGNATURE_FIELD",
                _ => continue,
            };
            signed_now.insert(r.num);
            let verdict = v(code, true, "an existing empty signature field was signed");
            claim(claims, r.num, verdict.clone());
            let mut roots = vec![Object::Ref(value)];
            roots.extend(d.get("AP").cloned());
            for num in walk(self.cur, &roots, UP, &HashSet::new())? {
                if self.is_new(changed, num) {
                    claim(claims, num, verdict.clone());
                }
            }
        }
        for (r, d) in fields {
            if !matches!(changed.get(&r.num), Some((ChangeKind::Modified, _))) {
                continue;
            }
            if !self.prev_reach.contains(&r.num) {
                continue;
            }
            let ft = field_type(self.cur, &d)?;
            if ft.as_deref() == Some("Sig") {
                // A separate widget of a signature field signed now: a new appearance only.
                let parent = d.get("Parent").and_then(Object::as_ref);
                if d.contains("FT") || !parent.is_some_and(|p| signed_now.contains(&p.num)) {
                    continue;
                }
                let old = self.prev.get(r)?.as_dict().cloned().unwrap_or_default();
                if !diff_keys(&old, &d).iter().all(|k| k == "AS" || k == "AP") {
                    continue;
                }
                let verdict = v(
                    "NEW_SIGNATURE_FIELD",
                    true,
                    "appearance of a field signed now",
                );
                claim(claims, r.num, verdict.clone());
                let roots: Vec<Object> = d.get("AP").cloned().into_iter().collect();
                for num in walk(self.cur, &roots, UP, &HashSet::new())? {
                    if self.is_new(changed, num) {
                        claim(claims, num, verdict.clone());
                    }
                }
                continue;
            }
            if ft.is_none() {
                continue;
            }
            let old = self.prev.get(r)?.as_dict().cloned().unwrap_or_default();
            if field_type(self.prev, &old)? != ft {
                continue;
            }
            let keys = diff_keys(&old, &d);
            if !keys.iter().all(|k| k == "V" || k == "AS" || k == "AP") {
                continue;
            }
            let name = field_name(self.cur, &d)?;
            let allowed = self.docmdp != Some(1) && !self.locks.locked(&name);
            let detail = if allowed {
                format!("value of field {name:?}")
            } else {
                format!("value of locked field {name:?}")
            };
            let verdict = v("FORM_FILLING", allowed, detail);
            claim(claims, r.num, verdict.clone());
            let mut roots = Vec::new();
            roots.extend(d.get("V").cloned());
            roots.extend(d.get("AP").cloned());
            for num in walk(self.cur, &roots, UP, &HashSet::new())? {
                if self.is_new(changed, num) {
                    claim(claims, num, verdict.clone());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use kyso_pdf::MemSource;

    fn src(b: &[u8]) -> Arc<dyn Source> {
        Arc::new(MemSource::new(b.to_vec()))
    }

    #[test]
    fn truncated_source_reads_only_its_prefix() {
        let t = Truncated::new(src(b"0123456789"), 4);
        assert_eq!(t.len(), 4);
        let mut buf = [0u8; 8];
        assert_eq!(t.read_at(2, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"23");
        assert_eq!(t.read_at(9, &mut buf).unwrap(), 0);
        assert_eq!(Truncated::new(src(b"ab"), 99).len(), 2);
    }

    #[test]
    fn eof_is_found_with_its_end_of_line() {
        let s = src(b"xref ... %%EOF\r\nmore %%EOF");
        assert_eq!(find_eof(s.as_ref(), 0).unwrap(), (14, 16));
        assert_eq!(find_eof(s.as_ref(), 16).unwrap(), (26, 26));
        let none = src(b"no marker here");
        assert_eq!(find_eof(none.as_ref(), 0).unwrap(), (14, 14));
    }

    #[test]
    fn eof_across_chunk_boundary() {
        let mut b = vec![b' '; 64 * 1024 - 2];
        b.extend_from_slice(b"%%EOF\n");
        let s = src(&b);
        let (eof, end) = find_eof(s.as_ref(), 0).unwrap();
        assert_eq!(eof, b.len() as u64 - 1);
        assert_eq!(end, b.len() as u64);
    }

    #[test]
    fn semantic_equality_ignores_key_order_and_string_form() {
        let mut a = Dict::new();
        a.set("A", Object::Int(1));
        a.set("B", Object::string(b"x".to_vec()));
        let mut b = Dict::new();
        b.set("B", Object::hex_string(b"x".to_vec()));
        b.set("A", Object::real(1.0));
        assert!(same(&Object::Dict(a.clone()), &Object::Dict(b.clone())));
        b.set("C", Object::Null);
        assert!(!same(&Object::Dict(a.clone()), &Object::Dict(b.clone())));
        assert_eq!(diff_keys(&a, &b), vec!["C".to_string()]);
    }

    #[test]
    fn actions_are_detected_in_nested_dictionaries() {
        let mut js = Dict::new();
        js.set("S", Object::name("JavaScript"));
        let mut d = Dict::new();
        d.set("X", Object::Dict(js));
        assert!(has_action(&Object::Dict(d), 0));
        let mut plain = Dict::new();
        plain.set("Type", Object::name("Page"));
        assert!(!has_action(&Object::Dict(plain), 0));
    }

    #[test]
    fn object_headers_start_a_line() {
        assert_eq!(parse_obj_header(b"\n12 0"), Some((12, 0, 1)));
        assert_eq!(parse_obj_header(b"7 3"), Some((7, 3, 0)));
        assert_eq!(parse_obj_header(b"x 12 0"), None);
        assert_eq!(parse_obj_header(b"\n 0"), None);
        assert_eq!(parse_obj_header(b"\n12"), None);
    }

    #[test]
    fn unlisted_bodies_are_found() {
        let bytes = b"%PDF\n1 0 obj\n<<>>\nendobj\n2 0 obj\n<<>>\nendobj\nxref\n%%EOF\n";
        let s = src(bytes);
        let mut objects = BTreeMap::new();
        objects.insert(1, Entry::InFile { offset: 5, gen: 0 });
        let rev = Revision {
            index: 1,
            xref_offsets: vec![44],
            eof: bytes.len() as u64 - 1,
            end: bytes.len() as u64,
            objects,
        };
        let found = unlisted_bodies(s.as_ref(), 0, &rev).unwrap();
        assert_eq!(found, vec![(25, ObjRef::new(2, 0))]);
        // Window boundaries anywhere give the same answer.
        for chunk in 1..60 {
            let small = unlisted_bodies_in_chunks(s.as_ref(), 0, &rev, chunk).unwrap();
            assert_eq!(small, found, "chunk {chunk}");
        }
        // Scanning from the middle of a header does not invent a shorter one.
        let mut rev2 = rev.clone();
        rev2.objects.clear();
        let from_mid = unlisted_bodies_in_chunks(s.as_ref(), 26, &rev2, 7).unwrap();
        assert!(from_mid.is_empty(), "{from_mid:?}");
    }

    #[test]
    fn role_codes_prefer_content() {
        assert_eq!(role_code(R_CONTENT | R_CATALOG), "PAGE_CONTENT_CHANGED");
        assert_eq!(role_code(R_DSS), "OBJECT_OVERRIDDEN");
        assert_eq!(role_code(R_META), "METADATA_CHANGED");
    }
}
