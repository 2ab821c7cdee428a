//! The lazy document reader: it reads the cross-reference chain, then parses objects on demand
//! from windows of the file. Memory stays proportional to what is asked, not to the file size.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::lexer::{Body, Lexer};
use crate::limits::Limits;
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::source::Source;
use crate::xref::{self, Entry, Section};

/// A source together with the limits that apply to reading it.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    src: &'a dyn Source,
    limits: &'a Limits,
}

impl<'a> Window<'a> {
    pub fn new(src: &'a dyn Source, limits: &'a Limits) -> Self {
        Window { src, limits }
    }
    pub fn len(&self) -> u64 {
        self.src.len()
    }
    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }
    pub fn limits(&self) -> &'a Limits {
        self.limits
    }

    /// Up to `len` bytes from `offset` (fewer at the end of the file).
    pub fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let avail = self.len().saturating_sub(offset);
        let n = (len as u64).min(avail) as usize;
        let mut buf = vec![0u8; n];
        let got = self.src.read_at(offset, &mut buf)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Exactly `len` bytes from `offset`, or a `Truncated` error.
    pub fn read_exact(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let max = self.limits.max_decoded_stream;
        if len > max {
            return Err(Error::LimitExceeded {
                limit: "stream size",
                value: len,
                max,
            });
        }
        let buf = self.read(offset, len as usize)?;
        if (buf.len() as u64) < len {
            return Err(Error::Truncated {
                offset: offset + buf.len() as u64,
                what: "data ends early",
            });
        }
        Ok(buf)
    }

    /// Read a window at `offset` big enough for `parse` to succeed without hitting the end of
    /// the window, growing it up to `max_object_bytes`.
    pub fn read_object_window(
        &self,
        offset: u64,
        mut parse: impl FnMut(&mut Lexer<'_>) -> Result<()>,
    ) -> Result<Vec<u8>> {
        let mut size = 4096usize;
        loop {
            let data = self.read(offset, size)?;
            let at_eof = offset + (data.len() as u64) >= self.len();
            let mut lx = Lexer::new(&data, offset, self.limits);
            let window_end = offset + data.len() as u64;
            match parse(&mut lx) {
                Ok(()) => return Ok(data),
                // A window that ends inside a token (a number, a keyword, an xref entry) can
                // make the text look malformed rather than short; an error that close to the
                // cut means "read more", like truncation.
                Err(Error::Truncated { .. }) if !at_eof => size = self.grow(size)?,
                Err(Error::Malformed { offset: at, .. })
                    if !at_eof && window_end.saturating_sub(at) < CUT_SLACK =>
                {
                    size = self.grow(size)?
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The next window size, or the object-size limit error.
    fn grow(&self, size: usize) -> Result<usize> {
        if size >= self.limits.max_object_bytes {
            return Err(Error::LimitExceeded {
                limit: "object size",
                value: size as u64,
                max: self.limits.max_object_bytes as u64,
            });
        }
        Ok((size * 4).min(self.limits.max_object_bytes))
    }

    /// Parse `num gen obj <body>` at `offset`.
    pub fn parse_indirect_at(&self, offset: u64) -> Result<(ObjRef, Body)> {
        let mut result = None;
        self.read_object_window(offset, |lx| {
            let r = lx.object_header()?;
            let body = lx.indirect_body()?;
            // A plain object must be complete: make sure we saw what follows it.
            if let Body::Object(_) = body {
                lx.skip_ws();
                if lx.at_end() {
                    return Err(Error::Truncated {
                        offset: lx.offset(),
                        what: "object not terminated",
                    });
                }
            }
            result = Some((r, body));
            Ok(())
        })?;
        result.ok_or(Error::Malformed {
            offset,
            what: "no object",
        })
    }
}

impl Window<'_> {
    /// For the indirect object at `offset` (`num gen obj << … >>`), the absolute byte span of the
    /// value of `key` in its dictionary as written in the file (see [`Lexer::dict_value_span`]).
    pub fn dict_value_span_at(
        &self,
        offset: u64,
        key: &[u8],
    ) -> Result<(ObjRef, Option<(u64, u64)>)> {
        let mut result = None;
        self.read_object_window(offset, |lx| {
            let r = lx.object_header()?;
            let span = lx.dict_value_span(key)?;
            result = Some((r, span));
            Ok(())
        })?;
        result.ok_or(Error::Malformed {
            offset,
            what: "no object",
        })
    }
}

/// How close to the end of a read window a syntax error must be to count as the window having
/// cut a token (the longest token that can be cut this way, an xref entry, is 20 bytes).
const CUT_SLACK: u64 = 32;

/// One page with its inherited attributes resolved.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: ObjRef,
    pub dict: Dict,
    /// `/MediaBox` as [llx, lly, urx, ury], normalised so llx<urx, lly<ury.
    pub media_box: [f64; 4],
    /// `/CropBox`, defaulting to the media box.
    pub crop_box: [f64; 4],
    /// `/Rotate`, normalised to 0, 90, 180 or 270.
    pub rotate: u16,
    /// `/Resources` (inherited), unresolved.
    pub resources: Option<Object>,
}

type ObjStmCache = Mutex<HashMap<u32, Arc<Vec<(u32, Object)>>>>;

/// A PDF opened for reading.
#[derive(Debug)]
pub struct Document {
    src: Arc<dyn Source>,
    limits: Limits,
    /// Cross-reference sections, newest first.
    sections: Vec<Section>,
    /// The merged view: newest definition of each object.
    xref: BTreeMap<u32, Entry>,
    trailer: Dict,
    startxref: u64,
    objstm_cache: ObjStmCache,
}

const MAX_REF_CHAIN: usize = 32;

impl Document {
    /// Open a document: read the cross-reference chain and the trailer. Objects are read later,
    /// on demand. Encrypted documents are refused with [`Error::Encrypted`].
    pub fn open(src: Arc<dyn Source>, limits: Limits) -> Result<Self> {
        let (sections, startxref) = {
            let w = Window::new(src.as_ref(), &limits);
            let head = w.read(0, 1024)?;
            if !head.windows(5).any(|x| x == b"%PDF-") {
                return Err(Error::NotPdf);
            }
            let startxref = xref::find_startxref(&w)?;
            (xref::read_chain(&w, startxref)?, startxref)
        };
        let mut xref = BTreeMap::new();
        for s in &sections {
            for (num, e) in &s.entries {
                xref.entry(*num).or_insert(*e);
            }
        }
        let mut trailer = Dict::new();
        for s in &sections {
            for (k, v) in s.trailer.iter() {
                if !trailer.contains(&k.as_str()) {
                    trailer.0.push((k.clone(), v.clone()));
                }
            }
        }
        if trailer.contains("Encrypt") {
            return Err(Error::Encrypted);
        }
        let doc = Document {
            src,
            limits,
            sections,
            xref,
            trailer,
            startxref,
            objstm_cache: Mutex::new(HashMap::new()),
        };
        Ok(doc)
    }

    fn window(&self) -> Window<'_> {
        Window::new(self.src.as_ref(), &self.limits)
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        &self.src
    }
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    pub fn len(&self) -> u64 {
        self.src.len()
    }
    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }
    /// The merged trailer (newest values win).
    pub fn trailer(&self) -> &Dict {
        &self.trailer
    }
    /// Offset of the newest cross-reference section (the `/Prev` of an update).
    pub fn startxref(&self) -> u64 {
        self.startxref
    }
    /// Cross-reference sections, newest first.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
    /// The merged cross-reference map.
    pub fn xref(&self) -> &BTreeMap<u32, Entry> {
        &self.xref
    }
    /// One more than the highest object number in use (`/Size`).
    pub fn size(&self) -> u32 {
        let from_xref = self.xref.keys().next_back().map_or(0, |n| n + 1);
        let from_trailer = self
            .trailer
            .get_int("Size")
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        from_xref.max(from_trailer)
    }

    /// Fetch an indirect object.
    pub fn get(&self, r: ObjRef) -> Result<Object> {
        self.get_depth(r, 0)
    }

    fn get_depth(&self, r: ObjRef, depth: usize) -> Result<Object> {
        if depth > 4 {
            return Err(Error::LimitExceeded {
                limit: "indirect nesting",
                value: depth as u64,
                max: 4,
            });
        }
        match self.xref.get(&r.num) {
            None | Some(Entry::Free) => Ok(Object::Null), // §7.3.10: a missing object is null
            Some(&Entry::InFile { offset, gen }) => {
                if gen != r.gen {
                    return Ok(Object::Null);
                }
                self.read_in_file(r, offset, depth)
            }
            Some(&Entry::InStream { stream, index }) => {
                if r.gen != 0 {
                    return Ok(Object::Null);
                }
                let objs = self.object_stream(stream, depth)?;
                let found = objs
                    .get(index as usize)
                    .filter(|(n, _)| *n == r.num)
                    .map(|(_, o)| o.clone());
                let found = found.or_else(|| {
                    objs.iter()
                        .find(|(n, _)| *n == r.num)
                        .map(|(_, o)| o.clone())
                });
                Ok(found.unwrap_or(Object::Null))
            }
        }
    }

    fn read_in_file(&self, r: ObjRef, offset: u64, depth: usize) -> Result<Object> {
        let (found, body) = self.window().parse_indirect_at(offset)?;
        if found != r {
            return Err(Error::Malformed {
                offset,
                what: "cross-reference entry points at another object",
            });
        }
        match body {
            Body::Object(o) => Ok(o),
            Body::Stream { dict, data_offset } => {
                let len = self.stream_length(&dict, data_offset, depth)?;
                Ok(Object::Stream(Stream {
                    dict,
                    data: StreamData::InFile {
                        offset: data_offset,
                        len,
                    },
                }))
            }
        }
    }

    /// The stream's length: `/Length` when it is consistent with an `endstream` after it,
    /// otherwise found by scanning for `endstream`.
    fn stream_length(&self, dict: &Dict, data_offset: u64, depth: usize) -> Result<u64> {
        let declared = match dict.get("Length") {
            Some(Object::Int(l)) => u64::try_from(*l).ok(),
            Some(Object::Ref(r)) => self
                .get_depth(*r, depth + 1)?
                .as_int()
                .and_then(|l| u64::try_from(l).ok()),
            _ => None,
        };
        if let Some(len) = declared {
            if self.endstream_at(data_offset.saturating_add(len))? {
                return Ok(len);
            }
        }
        // Scan forward for `endstream`.
        let w = self.window();
        let mut pos = data_offset;
        let chunk = 1 << 16;
        loop {
            let buf = w.read(pos, chunk + 9)?;
            if let Some(i) = buf.windows(9).position(|x| x == b"endstream") {
                let mut end = pos + i as u64;
                // Strip the end-of-line that precedes the keyword.
                let before = w.read(end.saturating_sub(2), 2)?;
                if before.ends_with(b"\r\n") {
                    end -= 2;
                } else if before.ends_with(b"\n") || before.ends_with(b"\r") {
                    end -= 1;
                }
                return Ok(end.saturating_sub(data_offset));
            }
            if buf.len() < chunk + 9 {
                return Err(Error::Truncated {
                    offset: pos,
                    what: "stream without 'endstream'",
                });
            }
            pos += chunk as u64;
            if pos - data_offset > self.limits.max_decoded_stream {
                return Err(Error::LimitExceeded {
                    limit: "stream size",
                    value: pos - data_offset,
                    max: self.limits.max_decoded_stream,
                });
            }
        }
    }

    fn endstream_at(&self, off: u64) -> Result<bool> {
        let buf = self.window().read(off, 12)?;
        let trimmed = buf
            .iter()
            .position(|b| !crate::lexer::is_white(*b))
            .map(|i| buf.get(i..).unwrap_or_default());
        Ok(trimmed.is_some_and(|t| t.starts_with(b"endstream")))
    }

    fn object_stream(&self, num: u32, depth: usize) -> Result<Arc<Vec<(u32, Object)>>> {
        if let Ok(cache) = self.objstm_cache.lock() {
            if let Some(v) = cache.get(&num) {
                return Ok(Arc::clone(v));
            }
        }
        let Some(&Entry::InFile { offset, gen }) = self.xref.get(&num) else {
            return Err(Error::Malformed {
                offset: 0,
                what: "object stream is not a plain object in the file",
            });
        };
        let obj = self.read_in_file(ObjRef::new(num, gen), offset, depth + 1)?;
        let Object::Stream(stream) = obj else {
            return Err(Error::WrongType {
                expected: "stream",
                context: "object stream",
            });
        };
        let data = self.decoded(&stream)?;
        let n = stream
            .dict
            .get_int("N")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let first = stream
            .dict
            .get_int("First")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        if n > self.limits.max_container_len {
            return Err(Error::LimitExceeded {
                limit: "objects in an object stream",
                value: n as u64,
                max: self.limits.max_container_len as u64,
            });
        }
        let mut header = Lexer::new(data.get(..first).unwrap_or_default(), 0, &self.limits);
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            let (Ok(obj_num), Ok(rel)) = (header.unsigned(), header.unsigned()) else {
                break;
            };
            pairs.push((u32::try_from(obj_num).unwrap_or(u32::MAX), rel as usize));
        }
        let body = data.get(first..).unwrap_or_default();
        let mut objects = Vec::with_capacity(pairs.len());
        for (obj_num, rel) in pairs {
            let mut lx = Lexer::new(body, 0, &self.limits);
            lx.set_pos(rel);
            let o = lx.object().unwrap_or(Object::Null);
            // Streams and references-to-self are not allowed inside object streams.
            objects.push((obj_num, o));
        }
        let objects = Arc::new(objects);
        if let Ok(mut cache) = self.objstm_cache.lock() {
            if cache.len() > 64 {
                cache.clear();
            }
            cache.insert(num, Arc::clone(&objects));
        }
        Ok(objects)
    }

    /// Follow references until a direct object.
    pub fn resolve(&self, o: &Object) -> Result<Object> {
        let mut cur = o.clone();
        for _ in 0..MAX_REF_CHAIN {
            match cur {
                Object::Ref(r) => cur = self.get(r)?,
                other => return Ok(other),
            }
        }
        Err(Error::LimitExceeded {
            limit: "reference chain",
            value: MAX_REF_CHAIN as u64,
            max: MAX_REF_CHAIN as u64,
        })
    }

    /// Resolve and require a dictionary (streams give their dictionary).
    pub fn resolve_dict(&self, o: &Object, context: &'static str) -> Result<Dict> {
        match self.resolve(o)? {
            Object::Dict(d) => Ok(d),
            Object::Stream(s) => Ok(s.dict),
            _ => Err(Error::WrongType {
                expected: "dictionary",
                context,
            }),
        }
    }

    /// The raw (encoded) bytes of a stream.
    pub fn raw_data(&self, s: &Stream) -> Result<Vec<u8>> {
        match &s.data {
            StreamData::Owned(v) => Ok(v.clone()),
            StreamData::InFile { offset, len } => self.window().read_exact(*offset, *len),
        }
    }

    /// The decoded bytes of a stream (within `max_decoded_stream`).
    pub fn decoded(&self, s: &Stream) -> Result<Vec<u8>> {
        let raw = self.raw_data(s)?;
        crate::filter::decode(&s.dict, &raw, self.limits.max_decoded_stream)
    }

    /// The document catalog.
    pub fn catalog(&self) -> Result<Dict> {
        let root = self.trailer.get("Root").ok_or(Error::Malformed {
            offset: 0,
            what: "trailer has no /Root",
        })?;
        let d = self.resolve_dict(root, "/Root")?;
        Ok(d)
    }

    /// Reference of the catalog.
    pub fn catalog_ref(&self) -> Result<ObjRef> {
        self.trailer
            .get("Root")
            .and_then(Object::as_ref)
            .ok_or(Error::Malformed {
                offset: 0,
                what: "/Root is not an indirect reference",
            })
    }

    /// All pages in order, with inherited attributes.
    pub fn pages(&self) -> Result<Vec<Page>> {
        let catalog = self.catalog()?;
        let root = catalog
            .get("Pages")
            .and_then(Object::as_ref)
            .ok_or(Error::Malformed {
                offset: 0,
                what: "catalog has no /Pages reference",
            })?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        // Iterative walk: (node, inherited MediaBox, CropBox, Rotate, Resources).
        type Inherited = (
            Option<Object>,
            Option<Object>,
            Option<Object>,
            Option<Object>,
        );
        let mut stack: Vec<(ObjRef, Inherited)> = vec![(root, (None, None, None, None))];
        while let Some((r, inh)) = stack.pop() {
            if !seen.insert(r) {
                return Err(Error::Malformed {
                    offset: 0,
                    what: "page tree loop",
                });
            }
            if seen.len() > self.limits.max_pages * 2 {
                return Err(Error::LimitExceeded {
                    limit: "page tree nodes",
                    value: seen.len() as u64,
                    max: self.limits.max_pages as u64 * 2,
                });
            }
            let node = self.resolve_dict(&Object::Ref(r), "page tree node")?;
            let pick = |k: &str, old: &Option<Object>| node.get(k).cloned().or_else(|| old.clone());
            let inh = (
                pick("MediaBox", &inh.0),
                pick("CropBox", &inh.1),
                pick("Rotate", &inh.2),
                pick("Resources", &inh.3),
            );
            let is_pages = node.type_name().is_some_and(|t| t == "Pages")
                || (node.type_name().is_none() && node.contains("Kids"));
            if is_pages {
                let kids = self.resolve(node.get("Kids").unwrap_or(&Object::Null))?;
                let kids = kids.as_array().unwrap_or_default();
                for k in kids.iter().rev() {
                    if let Some(kr) = k.as_ref() {
                        stack.push((kr, inh.clone()));
                    }
                }
            } else {
                if out.len() >= self.limits.max_pages {
                    return Err(Error::LimitExceeded {
                        limit: "pages",
                        value: out.len() as u64 + 1,
                        max: self.limits.max_pages as u64,
                    });
                }
                let media_box = match &inh.0 {
                    Some(o) => self.rect(o)?.unwrap_or([0.0, 0.0, 612.0, 792.0]),
                    None => [0.0, 0.0, 612.0, 792.0],
                };
                let crop_box = match &inh.1 {
                    Some(o) => self
                        .rect(o)?
                        .map(|c| intersect(c, media_box))
                        .unwrap_or(media_box),
                    None => media_box,
                };
                let rotate = match &inh.2 {
                    Some(o) => self.resolve(o)?.as_int().unwrap_or(0),
                    None => 0,
                };
                let rotate = (rotate.rem_euclid(360) / 90 * 90) as u16;
                out.push(Page {
                    id: r,
                    dict: node,
                    media_box,
                    crop_box,
                    rotate,
                    resources: inh.3,
                });
            }
        }
        Ok(out)
    }

    /// A rectangle `[a b c d]`, normalised.
    pub fn rect(&self, o: &Object) -> Result<Option<[f64; 4]>> {
        let o = self.resolve(o)?;
        let Some(a) = o.as_array() else {
            return Ok(None);
        };
        let mut v = [0.0; 4];
        for (slot, item) in v.iter_mut().zip(a) {
            match self.resolve(item)?.as_f64() {
                Some(x) => *slot = x,
                None => return Ok(None),
            }
        }
        if a.len() < 4 {
            return Ok(None);
        }
        let [a, b, c, d] = v;
        Ok(Some([a.min(c), b.min(d), a.max(c), b.max(d)]))
    }
}

fn intersect(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    let r = [
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ];
    if r[0] < r[2] && r[1] < r[3] {
        r
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    pub(crate) use crate::writer::classic_pdf;

    /// Replace the first `from` in `pdf` by `to` (bytes; the header comment is binary).
    fn replace_first(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
        let at = pdf
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap();
        [&pdf[..at], to.as_bytes(), &pdf[at + from.len()..]].concat()
    }

    fn open(bytes: Vec<u8>) -> Result<Document> {
        Document::open(Arc::new(MemSource::new(bytes)), Limits::default())
    }

    /// The reader reads a cross-reference table through windows of growing size. Wherever a
    /// window ends — inside an offset, between the generation and the `n`, inside `trailer` —
    /// it must read more, not call the table malformed (found on a 1 GB scanned annex).
    #[test]
    fn xref_table_cut_anywhere_by_the_read_window() {
        for n in [203usize, 204, 300] {
            let mut bodies = vec![
                "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
                "<< /Type /Pages /Kids [] /Count 0 >>".to_owned(),
            ];
            bodies.extend((3..=n).map(|i| i.to_string()));
            let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
            let base = classic_pdf(&refs);
            for pad in 0..24 {
                // Shift the entries against the 4096-byte window by padding the subsection
                // header with white space (allowed by the syntax).
                let pdf = replace_first(&base, "xref\n0 ", &format!("xref\n{}0 ", " ".repeat(pad)));
                let doc = open(pdf).unwrap_or_else(|e| panic!("n={n} pad={pad}: {e}"));
                assert_eq!(doc.size() as usize, n + 1);
                let last = u32::try_from(n).unwrap();
                assert_eq!(
                    doc.get(ObjRef::new(last, 0)).unwrap(),
                    Object::Int(i64::from(last))
                );
            }
        }
    }

    #[test]
    fn reads_pages_with_inherited_attributes() {
        let pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 595 842] /Rotate 90 >>",
            "<< /Type /Page /Parent 2 0 R >>",
            "<< /Type /Page /Parent 2 0 R /Rotate -90 /CropBox [10 10 500 800] >>",
        ]);
        let doc = open(pdf).unwrap();
        let pages = doc.pages().unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].media_box, [0.0, 0.0, 595.0, 842.0]);
        assert_eq!(pages[0].rotate, 90);
        assert_eq!(pages[1].rotate, 270);
        assert_eq!(pages[1].crop_box, [10.0, 10.0, 500.0, 800.0]);
        assert_eq!(doc.size(), 5);
    }

    #[test]
    fn stream_with_indirect_length() {
        let pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] /Count 0 >>",
            "<< /Length 4 0 R >>\nstream\nBT ET\nendstream",
            "5",
        ]);
        let doc = open(pdf).unwrap();
        let s = doc.get(ObjRef::new(3, 0)).unwrap();
        let s = s.as_stream().unwrap();
        assert_eq!(doc.decoded(s).unwrap(), b"BT ET");
    }

    #[test]
    fn wrong_stream_length_is_recovered_by_scanning() {
        let pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] /Count 0 >>",
            "<< /Length 999 >>\nstream\nBT ET\nendstream",
        ]);
        let doc = open(pdf).unwrap();
        let s = doc.get(ObjRef::new(3, 0)).unwrap();
        assert_eq!(doc.decoded(s.as_stream().unwrap()).unwrap(), b"BT ET");
    }

    #[test]
    fn page_tree_loop_is_an_error() {
        let pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]);
        assert!(open(pdf).unwrap().pages().is_err());
    }

    #[test]
    fn not_a_pdf_and_truncated_files_are_errors() {
        assert!(matches!(open(b"hello".to_vec()), Err(Error::NotPdf)));
        let pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] >>",
        ]);
        for cut in [10, pdf.len() / 2, pdf.len() - 30] {
            assert!(open(pdf[..cut].to_vec()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn prev_loop_is_detected() {
        let mut pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] >>",
        ]);
        let text = String::from_utf8_lossy(&pdf).into_owned();
        let xref_off = text.rfind("xref\n0").unwrap();
        let patched = text.replace("/Size 3 /Root", &format!("/Size 3 /Prev {xref_off} /Root"));
        pdf = patched.into_bytes();
        // startxref now is off by the inserted length; rewrite it.
        let text = String::from_utf8_lossy(&pdf).into_owned();
        let new_xref = text.rfind("xref\n0").unwrap();
        let start = text.rfind("startxref\n").unwrap();
        let fixed = format!("{}startxref\n{new_xref}\n%%EOF\n", &text[..start]);
        let fixed = fixed.replace(&format!("/Prev {xref_off} "), &format!("/Prev {new_xref} "));
        let err = open(fixed.into_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    what: "cross-reference /Prev loop",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn encrypted_documents_are_refused() {
        let mut pdf = classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] >>",
        ]);
        pdf = replace_first(&pdf, "/Root 1 0 R", "/Root 1 0 R /Encrypt 2 0 R");
        assert_eq!(open(pdf).unwrap_err(), Error::Encrypted);
    }
}
