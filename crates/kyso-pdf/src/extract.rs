//! Page extraction: a new, self-contained PDF made of chosen pages of an existing one — the
//! base of an extract copy (TRÍCH SAO, Decree 30 art. 25), which the copying agency's clerk
//! then signs.
//!
//! [`PageSelection::parse`] reads the clerk's list ("1-2,4": 1-based pages and ranges, commas
//! or semicolons, spaces allowed, an en dash accepted for a range); the selection is kept in
//! document order without repeats and spelled back canonically ([`PageSelection::spec`]).
//!
//! [`extract_pages`] writes the new file:
//! - each chosen page keeps its dictionary with the inherited attributes made its own
//!   (`/Resources`, `/MediaBox`, `/CropBox`, `/Rotate`, ISO 32000-2 §7.7.3.4);
//! - everything the pages reference is copied transitively and renumbered 1…n in the order it
//!   is first met (catalog, page tree, pages, then breadth first), so the same input and pages
//!   give the same bytes: the server can build the extract again and compare;
//! - streams are copied byte for byte, still encoded (only `/Length` is rewritten);
//! - the new catalog has only `/Type /Pages`: no `/AcroForm`, `/OpenAction`, `/Names`
//!   (JavaScript, embedded files), `/Outlines`, `/StructTreeRoot` or `/AA`;
//! - widget (form field, signature) annotations, links, actions and every annotation that could
//!   point back into the original are left out: an extract must not carry the original's
//!   signatures or their appearances. Markup annotations drawn on the page (stamps, notes,
//!   highlights …) are kept without their actions, popups and parents;
//! - a reference to the original's catalog, page-tree nodes or a page not chosen becomes
//!   `null`, so nothing of the rest of the document is pulled in.
//!
//! Hostile input: the reader's [`Limits`](crate::Limits) apply while reading, and
//! [`ExtractLimits`] bound the objects copied, the nesting of direct objects and the stream
//! bytes; every failure is an [`Error`], never a panic.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::reader::Document;

/// The highest page number a selection may name.
pub const MAX_PAGE_NUMBER: u32 = 100_000;
/// The longest page list accepted, in bytes.
pub const MAX_SPEC_BYTES: usize = 1_000;

/// Why a page list was not understood.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectionError {
    /// No page named.
    #[error("no page is chosen")]
    Empty,
    /// The list is longer than [`MAX_SPEC_BYTES`].
    #[error("the page list is longer than {max} bytes")]
    TooLong { max: usize },
    /// Something else than numbers, ranges and separators at byte `at`.
    #[error("the page list is not understood at character {at}: {what}")]
    Syntax { at: usize, what: &'static str },
    /// Page 0 (pages count from 1).
    #[error("pages are counted from 1")]
    Zero,
    /// A page number above [`MAX_PAGE_NUMBER`].
    #[error("page {page} is beyond any document ({max} pages at most)")]
    TooLarge { page: u64, max: u32 },
    /// A range written backwards ("4-2").
    #[error("the range {from}-{to} is written backwards")]
    Reversed { from: u32, to: u32 },
    /// A page past the document's last.
    #[error("page {page} does not exist (the document has {count} pages)")]
    OutOfRange { page: u32, count: usize },
}

/// Chosen pages, 1-based, ascending, without repeats, never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageSelection(Vec<u32>);

impl PageSelection {
    /// Read a page list such as `"1-2,4"` or `"3; 5 – 7"`.
    pub fn parse(spec: &str) -> std::result::Result<Self, SelectionError> {
        if spec.len() > MAX_SPEC_BYTES {
            return Err(SelectionError::TooLong {
                max: MAX_SPEC_BYTES,
            });
        }
        let mut pages: Vec<u32> = Vec::new();
        // Every item is `N` or `N-M`; items are separated by `,` or `;`.
        let mut offset = 0usize;
        for item in spec.split([',', ';']) {
            let at = offset;
            offset += item.len() + 1;
            let trimmed = item.trim();
            if trimmed.is_empty() {
                // "1,,2" or a trailing comma: an empty item adds nothing.
                continue;
            }
            let lead = at + item.len() - item.trim_start().len();
            let (from, to) = match trimmed.char_indices().find(|&(_, c)| c == '-' || c == '–') {
                Some((i, c)) => {
                    let (a, b) = (&trimmed[..i], &trimmed[i + c.len_utf8()..]);
                    (number(a, lead)?, number(b, lead + i + c.len_utf8())?)
                }
                None => {
                    let n = number(trimmed, lead)?;
                    (n, n)
                }
            };
            if to < from {
                return Err(SelectionError::Reversed { from, to });
            }
            pages.extend(from..=to);
            // Ranges within MAX_PAGE_NUMBER keep this bounded; dedupe as we go so that a
            // list repeating "1-100000" many times stays small.
            if pages.len() > MAX_PAGE_NUMBER as usize {
                pages.sort_unstable();
                pages.dedup();
            }
        }
        pages.sort_unstable();
        pages.dedup();
        if pages.is_empty() {
            return Err(SelectionError::Empty);
        }
        Ok(PageSelection(pages))
    }

    /// The pages, 1-based, ascending.
    pub fn pages(&self) -> &[u32] {
        &self.0
    }

    /// How many pages are chosen.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true (a selection has a page); for completeness.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical spelling: ascending ranges, `"1-2,4"`.
    pub fn spec(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while let Some(&start) = self.0.get(i) {
            let mut end = start;
            while self.0.get(i + 1).is_some_and(|&n| n == end + 1) {
                end += 1;
                i += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if start == end {
                out.push_str(&start.to_string());
            } else {
                out.push_str(&format!("{start}-{end}"));
            }
            i += 1;
        }
        out
    }

    /// Every page lies within a document of `count` pages.
    pub fn check(&self, count: usize) -> std::result::Result<(), SelectionError> {
        match self.0.iter().find(|&&p| p as usize > count) {
            Some(&page) => Err(SelectionError::OutOfRange { page, count }),
            None => Ok(()),
        }
    }

    /// Whether the selection is every page of a document of `count` pages.
    pub fn is_all(&self, count: usize) -> bool {
        self.0.len() == count && self.check(count).is_ok()
    }
}

fn number(text: &str, at: usize) -> std::result::Result<u32, SelectionError> {
    let t = text.trim();
    let at = at + (text.len() - text.trim_start().len());
    if t.is_empty() {
        return Err(SelectionError::Syntax {
            at,
            what: "a page number is missing",
        });
    }
    if let Some(bad) = t.find(|c: char| !c.is_ascii_digit()) {
        return Err(SelectionError::Syntax {
            at: at + bad,
            what: "only page numbers, '-' for a range and ',' between items",
        });
    }
    let digits = t.trim_start_matches('0');
    if digits.is_empty() {
        return Err(SelectionError::Zero);
    }
    let value: u64 = if digits.len() > 9 {
        u64::MAX
    } else {
        digits.parse().unwrap_or(u64::MAX)
    };
    if value > u64::from(MAX_PAGE_NUMBER) {
        return Err(SelectionError::TooLarge {
            page: value,
            max: MAX_PAGE_NUMBER,
        });
    }
    u32::try_from(value).map_err(|_| SelectionError::TooLarge {
        page: value,
        max: MAX_PAGE_NUMBER,
    })
}

/// Bounds of one extraction, on top of the reader's [`Limits`](crate::Limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Most objects in the new file (catalog, page tree, pages and what they reference).
    pub max_objects: usize,
    /// Deepest nesting of arrays and dictionaries inside one object.
    pub max_depth: usize,
    /// Most stream bytes (encoded) copied in all.
    pub max_stream_bytes: u64,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            max_objects: 500_000,
            max_depth: 64,
            max_stream_bytes: 1 << 30,
        }
    }
}

/// Annotation subtypes an extract keeps: markup drawn on the page, with no link, action or
/// form field behind it (ISO 32000-2 §12.5.6).
const KEPT_ANNOTATIONS: &[&str] = &[
    "Text",
    "FreeText",
    "Line",
    "Square",
    "Circle",
    "Polygon",
    "PolyLine",
    "Highlight",
    "Underline",
    "Squiggly",
    "StrikeOut",
    "Caret",
    "Stamp",
    "Ink",
];

/// Keys of a kept annotation that point elsewhere in the original or act.
const ANNOTATION_DROPPED_KEYS: &[&str] = &[
    "P",
    "Parent",
    "Popup",
    "IRT",
    "A",
    "AA",
    "StructParent",
    "OC",
];

/// Keys of a page that point elsewhere in the original (the tree, threads, the structure tree,
/// actions) and are not copied; `/Annots` is rebuilt.
const PAGE_DROPPED_KEYS: &[&str] = &[
    "Parent",
    "Annots",
    "B",
    "AA",
    "StructParents",
    "ID",
    "SeparationInfo",
    "Rotate",
];

/// The extract of `bytes` (a whole PDF) made of the chosen pages, read with the default
/// reader limits. See [`extract_pages`].
pub fn extract(bytes: &[u8], selection: &PageSelection) -> Result<Vec<u8>> {
    let doc = Document::open(
        std::sync::Arc::new(crate::MemSource::new(bytes.to_vec())),
        crate::Limits::default(),
    )?;
    extract_pages(&doc, selection, &ExtractLimits::default())
}

/// Write a new PDF made of the pages `selection` names of `doc`, in document order (see the
/// module's documentation for what is kept and what is left out). A page past the last is
/// [`Error::PageOutOfRange`] (`index` 1-based).
pub fn extract_pages(
    doc: &Document,
    selection: &PageSelection,
    limits: &ExtractLimits,
) -> Result<Vec<u8>> {
    let pages = doc.pages()?;
    if let Some(&p) = selection
        .pages()
        .iter()
        .find(|&&p| p as usize > pages.len())
    {
        return Err(Error::PageOutOfRange {
            index: p as usize,
            count: pages.len(),
        });
    }
    let mut x = Extractor {
        doc,
        limits,
        map: HashMap::new(),
        blocked: HashSet::new(),
        objects: Vec::new(),
        queue: VecDeque::new(),
        stream_bytes: 0,
    };
    // The original's structure: its catalog, its page-tree nodes and every page. A reference to
    // one of them from copied content becomes the new page (a chosen page) or null.
    if let Some(r) = doc.trailer().get("Root").and_then(Object::as_ref) {
        x.blocked.insert(r);
    }
    if let Ok(catalog) = doc.catalog() {
        for key in [
            "Pages",
            "AcroForm",
            "Names",
            "Outlines",
            "StructTreeRoot",
            "OpenAction",
        ] {
            if let Some(r) = catalog.get(key).and_then(Object::as_ref) {
                x.blocked.insert(r);
            }
        }
    }
    for p in &pages {
        x.blocked.insert(p.id);
        let mut parent = p.dict.get("Parent").and_then(Object::as_ref);
        let mut hops = 0usize;
        while let Some(r) = parent {
            if !x.blocked.insert(r) || hops > limits.max_depth {
                break;
            }
            hops += 1;
            parent = doc
                .get(r)
                .ok()
                .and_then(|o| o.as_dict().and_then(|d| d.get("Parent")).cloned())
                .and_then(|o| o.as_ref());
        }
    }
    let catalog = x.allocate()?;
    let tree = x.allocate()?;
    let mut kids = Vec::with_capacity(selection.len());
    for &n in selection.pages() {
        let page = pages.get(n as usize - 1).ok_or(Error::PageOutOfRange {
            index: n as usize,
            count: pages.len(),
        })?;
        let new = x.allocate()?;
        x.map.insert(page.id, new);
        kids.push(new);
    }
    for (&n, &new) in selection.pages().iter().zip(&kids) {
        let Some(page) = pages.get(n as usize - 1) else {
            continue;
        };
        let dict = x.page(page, new, tree)?;
        x.set(new, Object::Dict(dict));
    }
    while let Some((old, new)) = x.queue.pop_front() {
        let obj = x.doc.get(old)?;
        let obj = match obj {
            Object::Stream(s) => Object::Stream(x.stream(s)?),
            other => x.remap(&other, 0)?,
        };
        x.set(new, obj);
    }
    let mut tree_dict = Dict::new();
    tree_dict.set("Type", Object::name("Pages"));
    tree_dict.set(
        "Kids",
        Object::Array(kids.iter().map(|&r| Object::Ref(r)).collect()),
    );
    tree_dict.set("Count", Object::Int(kids.len() as i64));
    x.set(tree, Object::Dict(tree_dict));
    let mut cat = Dict::new();
    cat.set("Type", Object::name("Catalog"));
    cat.set("Pages", tree);
    x.set(catalog, Object::Dict(cat));
    let objects = x
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| (ObjRef::new(i as u32 + 1, 0), o.as_ref()));
    crate::writer::complete_file(objects, catalog, None)
}

struct Extractor<'d> {
    doc: &'d Document,
    limits: &'d ExtractLimits,
    /// Original object → its number in the extract.
    map: HashMap<ObjRef, ObjRef>,
    /// The original's catalog, page-tree nodes and pages: never copied.
    blocked: HashSet<ObjRef>,
    /// The extract's objects, numbered from 1.
    objects: Vec<Option<Object>>,
    /// Originals still to copy, with their new numbers.
    queue: VecDeque<(ObjRef, ObjRef)>,
    stream_bytes: u64,
}

impl Extractor<'_> {
    fn allocate(&mut self) -> Result<ObjRef> {
        if self.objects.len() >= self.limits.max_objects {
            return Err(Error::LimitExceeded {
                limit: "objects in an extract",
                value: self.objects.len() as u64 + 1,
                max: self.limits.max_objects as u64,
            });
        }
        self.objects.push(None);
        Ok(ObjRef::new(self.objects.len() as u32, 0))
    }

    fn set(&mut self, r: ObjRef, obj: Object) {
        if let Some(slot) = (r.num as usize)
            .checked_sub(1)
            .and_then(|i| self.objects.get_mut(i))
        {
            *slot = Some(obj);
        }
    }

    /// The new number of original `r`, queued for copying the first time it is met; the new
    /// page for a chosen page, `None` for the rest of the original's structure.
    fn reference(&mut self, r: ObjRef) -> Result<Option<ObjRef>> {
        if let Some(&new) = self.map.get(&r) {
            return Ok(Some(new));
        }
        if self.blocked.contains(&r) {
            return Ok(None);
        }
        let new = self.allocate()?;
        self.map.insert(r, new);
        self.queue.push_back((r, new));
        Ok(Some(new))
    }

    /// `o` with every reference renumbered (queued), within the nesting limit.
    fn remap(&mut self, o: &Object, depth: usize) -> Result<Object> {
        if depth > self.limits.max_depth {
            return Err(Error::LimitExceeded {
                limit: "nesting in an extract",
                value: depth as u64,
                max: self.limits.max_depth as u64,
            });
        }
        Ok(match o {
            Object::Ref(r) => match self.reference(*r)? {
                Some(new) => Object::Ref(new),
                None => Object::Null,
            },
            Object::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for item in a {
                    out.push(self.remap(item, depth + 1)?);
                }
                Object::Array(out)
            }
            Object::Dict(d) => Object::Dict(self.remap_dict(d, depth + 1)?),
            // A stream is never a direct value in a valid file; one met inside another object
            // becomes an object of its own.
            Object::Stream(s) => {
                let r = self.allocate()?;
                let copied = self.stream(s.clone())?;
                self.set(r, Object::Stream(copied));
                Object::Ref(r)
            }
            other => other.clone(),
        })
    }

    fn remap_dict(&mut self, d: &Dict, depth: usize) -> Result<Dict> {
        let mut out = Dict(Vec::with_capacity(d.len()));
        for (k, v) in d.iter() {
            out.0.push((k.clone(), self.remap(v, depth)?));
        }
        Ok(out)
    }

    /// A stream with its encoded bytes in memory and its dictionary renumbered (`/Length` is
    /// written from the bytes).
    fn stream(&mut self, mut s: Stream) -> Result<Stream> {
        let data = self.doc.raw_data(&s)?;
        self.stream_bytes = self.stream_bytes.saturating_add(data.len() as u64);
        if self.stream_bytes > self.limits.max_stream_bytes {
            return Err(Error::LimitExceeded {
                limit: "stream bytes in an extract",
                value: self.stream_bytes,
                max: self.limits.max_stream_bytes,
            });
        }
        s.dict.set("Length", Object::Int(data.len() as i64));
        Ok(Stream {
            dict: self.remap_dict(&s.dict, 1)?,
            data: StreamData::Owned(data),
        })
    }

    /// The new dictionary of `page` (number `new`, under `tree`).
    fn page(&mut self, page: &crate::reader::Page, new: ObjRef, tree: ObjRef) -> Result<Dict> {
        let mut d = Dict::new();
        d.set("Type", Object::name("Page"));
        d.set("Parent", tree);
        for (k, v) in page.dict.iter() {
            let key = k.as_str();
            if key == "Type" || PAGE_DROPPED_KEYS.contains(&key.as_ref()) {
                continue;
            }
            let v = self.remap(v, 1)?;
            d.0.push((k.clone(), v));
        }
        // Inherited attributes made the page's own.
        if !page.dict.contains("Resources") {
            let resources = match &page.resources {
                Some(r) => self.remap(r, 1)?,
                None => Object::Dict(Dict::new()),
            };
            d.set("Resources", resources);
        }
        let rect = |b: [f64; 4]| Object::Array(b.iter().map(|v| Object::real(*v)).collect());
        if self
            .doc
            .rect(page.dict.get("MediaBox").unwrap_or(&Object::Null))?
            .is_none()
        {
            d.set("MediaBox", rect(page.media_box));
        }
        if !page.dict.contains("CropBox") && page.crop_box != page.media_box {
            d.set("CropBox", rect(page.crop_box));
        }
        if page.rotate != 0 {
            d.set("Rotate", Object::Int(i64::from(page.rotate)));
        }
        let annots = self.annotations(page, new)?;
        if !annots.is_empty() {
            d.set("Annots", Object::Array(annots));
        }
        Ok(d)
    }

    /// The page's markup annotations, each a new object without links back into the original.
    fn annotations(&mut self, page: &crate::reader::Page, new_page: ObjRef) -> Result<Vec<Object>> {
        let Some(list) = page.dict.get("Annots") else {
            return Ok(Vec::new());
        };
        let list = self.doc.resolve(list)?;
        let Some(list) = list.as_array() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in list {
            let Ok(annot) = self.doc.resolve_dict(item, "annotation") else {
                continue;
            };
            let kept = annot
                .get_name("Subtype")
                .is_some_and(|s| KEPT_ANNOTATIONS.contains(&s.as_str().as_ref()))
                && !annot.contains("FT")
                && !annot.contains("Parent");
            if !kept {
                continue;
            }
            let mut copy = Dict(Vec::with_capacity(annot.len()));
            for (k, v) in annot.iter() {
                if ANNOTATION_DROPPED_KEYS.contains(&k.as_str().as_ref()) {
                    continue;
                }
                copy.0.push((k.clone(), v.clone()));
            }
            let mut copy = self.remap_dict(&copy, 1)?;
            copy.set("P", new_page);
            let r = self.allocate()?;
            self.set(r, Object::Dict(copy));
            out.push(Object::Ref(r));
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn page_lists_are_read_and_spelled_canonically() {
        for (spec, pages, canonical) in [
            ("1", vec![1], "1"),
            ("1-2,4", vec![1, 2, 4], "1-2,4"),
            (" 4 , 1 - 2 ", vec![1, 2, 4], "1-2,4"),
            ("3;5–7", vec![3, 5, 6, 7], "3,5-7"),
            ("2,2,1-3,", vec![1, 2, 3], "1-3"),
            ("007", vec![7], "7"),
        ] {
            let s = PageSelection::parse(spec).unwrap();
            assert_eq!(s.pages(), pages.as_slice(), "{spec}");
            assert_eq!(s.spec(), canonical, "{spec}");
            assert_eq!(PageSelection::parse(&s.spec()).unwrap(), s);
        }
    }

    #[test]
    fn bad_page_lists_are_refused_with_why() {
        use SelectionError as E;
        assert_eq!(PageSelection::parse(""), Err(E::Empty));
        assert_eq!(PageSelection::parse(" , ;"), Err(E::Empty));
        assert_eq!(PageSelection::parse("0"), Err(E::Zero));
        assert_eq!(
            PageSelection::parse("4-2"),
            Err(E::Reversed { from: 4, to: 2 })
        );
        assert!(matches!(PageSelection::parse("1-"), Err(E::Syntax { .. })));
        assert!(matches!(
            PageSelection::parse("a"),
            Err(E::Syntax { at: 0, .. })
        ));
        assert!(matches!(
            PageSelection::parse("1,2x"),
            Err(E::Syntax { at: 3, .. })
        ));
        assert!(matches!(
            PageSelection::parse("1-2-3"),
            Err(E::Syntax { .. })
        ));
        assert!(matches!(
            PageSelection::parse("99999999999999999999"),
            Err(E::TooLarge { .. })
        ));
        assert!(matches!(
            PageSelection::parse(&"1,".repeat(600)),
            Err(E::TooLong { .. })
        ));
        let s = PageSelection::parse("1-3").unwrap();
        assert_eq!(s.check(2), Err(E::OutOfRange { page: 3, count: 2 }));
        assert!(s.check(3).is_ok() && s.is_all(3) && !s.is_all(4));
    }
}
