//! Serialising objects and building incremental updates (ISO 32000-2 §7.5.6).
//!
//! An update never touches a byte of the original: the new objects, a cross-reference section
//! of the same kind as the file's last one, and a trailer with `/Prev` are appended.
//!
//! Objects an update rewrites (a page gaining a widget, the AcroForm, the catalog) keep every
//! value they do not change as it was written: reals, names with `#xx` escapes and strings read
//! from the file carry their source text ([`Lexeme`]), and [`write_object`] emits it whenever
//! lexing it again yields the value the object holds now — `595.303937007874` stays
//! `595.303937007874`, `/A#20B` stays `/A#20B`, `<48656c6c6f>` stays lower-case. Dictionary keys
//! keep their order. Values kyso makes (or changes) are written in its canonical form.

use std::io::Write;

use crate::lexer::Lexer;
use crate::object::{Dict, Lexeme, Name, ObjRef, Object, StreamData};
use crate::reader::Document;
use crate::xref::SectionKind;

/// Append the PDF syntax for `obj` to `out`. Streams must hold their data in memory.
pub fn write_object(out: &mut Vec<u8>, obj: &Object) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => {
            if !write_lexeme(out, r.lexeme(), |lx| lx.object().is_ok_and(|o| o == *obj)) {
                write_real(out, r.value());
            }
        }
        Object::String { lexeme, .. }
            if write_lexeme(out, lexeme, |lx| lx.object().is_ok_and(|o| o == *obj)) => {}
        Object::String { bytes, hex, .. } => {
            if *hex {
                write_hex_string(out, bytes);
            } else {
                write_literal_string(out, bytes);
            }
        }
        Object::Name(n) => write_name(out, n),
        Object::Array(a) => {
            out.push(b'[');
            for (i, o) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, o);
            }
            out.push(b']');
        }
        Object::Dict(d) => write_dict(out, d),
        Object::Stream(s) => {
            let data: &[u8] = match &s.data {
                StreamData::Owned(v) => v,
                // Streams from the source file are never re-serialised by the writer: an update
                // only references them.
                StreamData::InFile { .. } => &[],
            };
            let mut dict = s.dict.clone();
            dict.set("Length", Object::Int(data.len() as i64));
            write_dict(out, &dict);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Ref(r) => {
            let _ = write!(out, "{} {} R", r.num, r.gen);
        }
    }
}

/// Write a real number with at most 4 decimals and no exponent.
pub fn write_real(out: &mut Vec<u8>, r: f64) {
    let r = if r.is_finite() { r } else { 0.0 };
    if r.fract() == 0.0 && r.abs() < 1e15 {
        // Keep it a real: re-serialising an object must not change its type.
        let _ = write!(out, "{}.0", r as i64);
        return;
    }
    let s = format!("{r:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    out.extend_from_slice(if s == "-0" { b"0" } else { s.as_bytes() });
}

pub fn write_dict(out: &mut Vec<u8>, d: &Dict) {
    out.extend_from_slice(b"<<");
    for (k, v) in d.iter() {
        write_name(out, k);
        out.push(b' ');
        write_object(out, v);
    }
    out.extend_from_slice(b">>");
}

/// Append `lexeme` if it spells the value being written — `same` lexes it and compares — and
/// say whether it did. A lexeme that no longer matches (the value was changed after reading)
/// is ignored.
fn write_lexeme(
    out: &mut Vec<u8>,
    lexeme: &Lexeme,
    same: impl FnOnce(&mut Lexer<'_>) -> bool,
) -> bool {
    let Some(text) = lexeme.get() else {
        return false;
    };
    let limits = crate::Limits::default();
    let mut lx = Lexer::new(text, 0, &limits).without_lexemes();
    let same = same(&mut lx);
    // The whole lexeme, and nothing but it, must be the token.
    if same && lx.pos() == text.len() {
        out.extend_from_slice(text);
        true
    } else {
        false
    }
}

pub fn write_name(out: &mut Vec<u8>, n: &Name) {
    if write_lexeme(out, n.lexeme(), |lx| lx.name().is_ok_and(|m| m == *n)) {
        return;
    }
    out.push(b'/');
    for &b in n.as_bytes() {
        if b.is_ascii_graphic() && !crate::lexer::is_delim(b) && b != b'#' {
            out.push(b);
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

pub fn write_hex_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'<');
    push_hex(out, bytes);
    out.push(b'>');
}

/// Append the upper-case hex digits of `bytes` (a signature's `/Contents` is tens of kilobytes:
/// digits are computed directly, not formatted).
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let digit = |n: u8| if n < 10 { b'0' + n } else { b'A' - 10 + n };
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.extend_from_slice(&[digit(b >> 4), digit(b & 15)]);
    }
}

pub fn write_literal_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b')');
}

/// A text string (§7.9.2.2): PDFDocEncoding-compatible ASCII as is, anything else UTF-16BE
/// with a byte-order mark.
pub fn text_string(s: &str) -> Object {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::string(s.as_bytes().to_vec())
    } else {
        let mut v = vec![0xfe, 0xff];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        Object::hex_string(v)
    }
}

/// A complete PDF with a classic cross-reference table from object bodies: object `i + 1` is
/// `bodies[i]` (generation 0), object 1 is the catalog. For tests, fixtures and tools that need
/// a small document byte for byte under their control.
pub fn classic_pdf<S: AsRef<str>>(bodies: &[S]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(bodies.len());
    for (i, b) in bodies.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, b.as_ref()).as_bytes());
    }
    let xref = out.len();
    let size = bodies.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A complete new file (not an update): header, the objects in the order given, a classic
/// cross-reference table, and a trailer with `/Root`, `/Info` when given, and an `/ID` hashed
/// from everything before the table — no clock, so equal objects give equal bytes. Object
/// numbers must be 1..=n without gaps and every object set. Used by
/// [`compose`](crate::compose) and [`extract`](crate::extract).
pub fn complete_file<'a>(
    objects: impl IntoIterator<Item = (ObjRef, Option<&'a Object>)>,
    root: ObjRef,
    info: Option<ObjRef>,
) -> crate::Result<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets: Vec<(u32, usize)> = Vec::new();
    for (r, obj) in objects {
        let Some(obj) = obj else {
            return Err(crate::Error::Unsupported("reserved object left undefined"));
        };
        offsets.push((r.num, out.len()));
        let _ = writeln!(out, "{} {} obj", r.num, r.gen);
        write_object(&mut out, obj);
        out.extend_from_slice(b"\nendobj\n");
    }
    offsets.sort_unstable();
    if offsets
        .iter()
        .enumerate()
        .any(|(i, (n, _))| *n as usize != i + 1)
    {
        return Err(crate::Error::Unsupported("object numbers with gaps"));
    }
    let hash = Sha256::digest(&out);
    let id: Vec<u8> = hash.iter().take(16).copied().collect();
    let xref = out.len();
    let size = offsets.len() + 1;
    let _ = write!(out, "xref\n0 {size}\n0000000000 65535 f \n");
    for (_, off) in &offsets {
        let _ = writeln!(out, "{off:010} 00000 n ");
    }
    let mut trailer = Dict::new();
    trailer.set("Size", Object::Int(size as i64));
    trailer.set("Root", root);
    if let Some(info) = info {
        trailer.set("Info", info);
    }
    trailer.set(
        "ID",
        Object::Array(vec![Object::hex_string(id.clone()), Object::hex_string(id)]),
    );
    out.extend_from_slice(b"trailer\n");
    write_object(&mut out, &Object::Dict(trailer));
    let _ = write!(out, "\nstartxref\n{xref}\n%%EOF\n");
    Ok(out)
}

/// The bytes of a serialised update and the absolute offset of each object in it.
pub type Serialized = (Vec<u8>, Vec<(ObjRef, u64)>);

/// The objects an incremental update adds or replaces.
#[derive(Debug)]
pub struct IncrementalUpdate {
    next_num: u32,
    objects: Vec<(ObjRef, Option<Object>)>,
    prev: u64,
    kind: SectionKind,
    trailer_base: Dict,
}

impl IncrementalUpdate {
    /// Start an update of `doc`.
    pub fn new(doc: &Document) -> Self {
        let kind = doc
            .sections()
            .first()
            .map_or(SectionKind::Table, |s| s.kind);
        let mut trailer_base = Dict::new();
        for key in ["Root", "Info", "ID"] {
            if let Some(v) = doc.trailer().get(key) {
                trailer_base.set(key, v.clone());
            }
        }
        IncrementalUpdate {
            next_num: doc.size().max(1),
            objects: Vec::new(),
            prev: doc.startxref(),
            kind,
            trailer_base,
        }
    }

    /// An object store for a *new* document (used by [`compose`](crate::compose)): object
    /// numbers start at 1 and there is no previous section. Its objects are read back with
    /// [`objects`](Self::objects) and written as a complete file by the caller;
    /// [`serialize`](Self::serialize) is for updates of an existing file and does not apply.
    pub fn new_document() -> Self {
        IncrementalUpdate {
            next_num: 1,
            objects: Vec::new(),
            prev: 0,
            kind: SectionKind::Table,
            trailer_base: Dict::new(),
        }
    }

    /// The objects reserved or set so far, in order of reservation (`None`: reserved, not set).
    pub fn objects(&self) -> impl Iterator<Item = (ObjRef, Option<&Object>)> {
        self.objects.iter().map(|(r, o)| (*r, o.as_ref()))
    }

    /// Reserve a new object number; fill it later with [`set`](Self::set).
    pub fn reserve(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next_num, 0);
        self.next_num += 1;
        self.objects.push((r, None));
        r
    }

    /// Add a new object and return its reference.
    pub fn add(&mut self, obj: impl Into<Object>) -> ObjRef {
        let r = self.reserve();
        self.set(r, obj);
        r
    }

    /// Define (or redefine, for an existing object of the document) `r`.
    pub fn set(&mut self, r: ObjRef, obj: impl Into<Object>) {
        let obj = obj.into();
        if let Some(slot) = self.objects.iter_mut().find(|(k, _)| *k == r) {
            slot.1 = Some(obj);
        } else {
            self.objects.push((r, Some(obj)));
        }
    }

    /// The object already set for `r` in this update, if any.
    pub fn get(&self, r: ObjRef) -> Option<&Object> {
        self.objects
            .iter()
            .find(|(k, _)| *k == r)
            .and_then(|(_, o)| o.as_ref())
    }

    /// Set or replace a key of the trailer (e.g. `/ID`).
    pub fn set_trailer(&mut self, key: &str, value: impl Into<Object>) {
        self.trailer_base.set(key, value);
    }

    /// Serialise the update, to be appended to a file of `base_len` bytes. Every reserved
    /// object must have been set. Returns the bytes and, for each object, its offset within them.
    pub fn serialize(&self, base_len: u64) -> crate::Result<Serialized> {
        let mut out = Vec::new();
        // Start on a fresh line even if the original lacks a final EOL.
        out.push(b'\n');
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (r, obj) in &self.objects {
            let Some(obj) = obj else {
                return Err(crate::Error::Unsupported("reserved object left undefined"));
            };
            offsets.push((*r, base_len + out.len() as u64));
            let _ = writeln!(out, "{} {} obj", r.num, r.gen);
            write_object(&mut out, obj);
            out.extend_from_slice(b"\nendobj\n");
        }
        let mut trailer = self.trailer_base.clone();
        trailer.set("Size", Object::Int(i64::from(self.next_num)));
        trailer.set("Prev", Object::Int(self.prev as i64));
        let mut sorted = offsets.clone();
        sorted.sort();
        match self.kind {
            SectionKind::Table => {
                let xref_off = base_len + out.len() as u64;
                out.extend_from_slice(b"xref\n");
                for run in runs(&sorted) {
                    let _ = writeln!(
                        out,
                        "{} {}",
                        run.first().map_or(0, |(r, _)| r.num),
                        run.len()
                    );
                    for (r, off) in run {
                        let _ = write!(out, "{off:010} {:05} n\r\n", r.gen);
                    }
                }
                out.extend_from_slice(b"trailer\n");
                write_dict(&mut out, &trailer);
                let _ = write!(out, "\nstartxref\n{xref_off}\n%%EOF\n");
            }
            SectionKind::Stream => {
                // The cross-reference stream is itself a new object.
                let xref_num = self.next_num;
                let xref_off = base_len + out.len() as u64;
                sorted.push((ObjRef::new(xref_num, 0), xref_off));
                trailer.set("Size", Object::Int(i64::from(xref_num) + 1));
                trailer.set("Type", Object::name("XRef"));
                trailer.set("W", Object::Array(vec![1.into(), 8.into(), 2.into()]));
                let mut index = Vec::new();
                let mut data = Vec::new();
                for run in runs(&sorted) {
                    index.push(Object::from(run.first().map_or(0, |(r, _)| r.num)));
                    index.push(Object::Int(run.len() as i64));
                    for (r, off) in run {
                        data.push(1u8);
                        data.extend_from_slice(&off.to_be_bytes());
                        data.extend_from_slice(&r.gen.to_be_bytes());
                    }
                }
                trailer.set("Index", Object::Array(index));
                let _ = writeln!(out, "{xref_num} 0 obj");
                trailer.set("Length", Object::Int(data.len() as i64));
                write_dict(&mut out, &trailer);
                out.extend_from_slice(b"\nstream\n");
                out.extend_from_slice(&data);
                let _ = write!(out, "\nendstream\nendobj\nstartxref\n{xref_off}\n%%EOF\n");
            }
        }
        Ok((out, offsets))
    }
}

/// Group sorted (ref, offset) pairs into runs of consecutive object numbers.
fn runs(sorted: &[(ObjRef, u64)]) -> Vec<&[(ObjRef, u64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        let split = match (sorted.get(i - 1), sorted.get(i)) {
            (Some((a, _)), Some((b, _))) => b.num != a.num + 1,
            _ => true,
        };
        if split {
            if let Some(run) = sorted.get(start..i) {
                out.push(run);
            }
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn parse(src: &[u8]) -> Object {
        Lexer::new(src, 0, &Limits::default()).object().unwrap()
    }

    fn written(obj: &Object) -> Vec<u8> {
        let mut out = Vec::new();
        write_object(&mut out, obj);
        out
    }

    #[test]
    fn values_read_from_a_file_are_written_as_they_were() {
        for src in [
            "595.303937007874",
            "0.100000000000000005551",
            "123456789012345678901234567890",
            "-.5",
            "+3.",
            "1.50",
            "0.0",
            "/A#20B",
            "/Pr#C3#A9f",
            "/Caf\u{e9}",
            "/#41",
            "(a(b)c)",
            "(esc \\101\\)\\\n tail)",
            "(line\r\nbreak)",
            "<48656c6c6f>",
            "<48 65 6C>",
            "<ABC>",
            "<>",
            "()",
        ] {
            let obj = parse(src.as_bytes());
            assert_eq!(written(&obj), src.as_bytes(), "{src}");
        }
    }

    #[test]
    fn containers_keep_every_lexeme_and_the_key_order() {
        let src: &[u8] = b"<</Type /Page/MediaBox [0 0 595.303937007874 841.889763779528]/Z#20z <abcd>/A (x\\(y\\))/Rotate 90>>";
        let obj = parse(src);
        assert_eq!(written(&obj), src);
        // Adding a key changes nothing else.
        let mut d = obj.as_dict().unwrap().clone();
        d.set(
            "Annots",
            Object::Array(vec![Object::Ref(ObjRef::new(7, 0))]),
        );
        let mut expect = src[..src.len() - 2].to_vec();
        expect.extend_from_slice(b"/Annots [7 0 R]>>");
        assert_eq!(written(&Object::Dict(d)), expect);
    }

    #[test]
    fn a_changed_value_is_written_in_canonical_form() {
        let Object::String { lexeme, .. } = parse(b"(a\\(b)") else {
            panic!()
        };
        // The bytes changed after reading: the old text no longer spells them.
        let changed = Object::String {
            bytes: b"other".to_vec(),
            hex: false,
            lexeme,
        };
        assert_eq!(written(&changed), b"(other)");
        let Object::Name(mut n) = parse(b"/A#20B") else {
            panic!()
        };
        n.0 = b"C D".to_vec();
        let mut out = Vec::new();
        write_name(&mut out, &n);
        assert_eq!(out, b"/C#20D");
        // Made by kyso: canonical.
        assert_eq!(written(&Object::real(595.303937007874)), b"595.3039");
        assert_eq!(written(&Object::hex_string(b"Hi".to_vec())), b"<4869>");
    }

    #[test]
    fn equality_is_by_value_whatever_the_spelling() {
        assert_eq!(parse(b"1.50"), parse(b"1.5"));
        assert_eq!(parse(b"1.5"), Object::real(1.5));
        assert_eq!(parse(b"/A#42"), Object::name("AB"));
        assert_eq!(parse(b"<4869>"), parse(b"<48 69>"));
        assert_eq!(parse(b"(\\110i)"), Object::string(b"Hi".to_vec()));
        let mut set = std::collections::HashSet::new();
        set.insert(Name::new("AB"));
        let Object::Name(n) = parse(b"/A#42") else {
            panic!()
        };
        assert!(set.contains(&n));
    }

    /// Whatever the lexer reads, the writer writes back something that reads as the same value
    /// and writes back identically (random sequences of PDF token fragments).
    #[test]
    fn writing_what_was_read_round_trips() {
        const PARTS: &[&str] = &[
            " ",
            "[",
            "]",
            "<<",
            ">>",
            "/A",
            "/#41#20",
            "/x#zz",
            "/\u{e9}",
            "1",
            "-",
            "+.5",
            "3.",
            "0.1000000000000000055511151231257827",
            "99999999999999999999",
            "0",
            "R",
            "(",
            ")",
            "\\",
            "\\(",
            "\\101",
            "\r",
            "\n",
            "<4a",
            "b c>",
            "<>",
            "true",
            "null",
            "%c\n",
            "/K",
            " 2 0 R",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let limits = Limits::default();
        let mut parsed = 0;
        for _ in 0..20_000 {
            let mut src = Vec::new();
            for _ in 0..(seed % 12 + 1) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let part = PARTS[(seed % PARTS.len() as u64) as usize];
                src.extend_from_slice(part.as_bytes());
            }
            let Ok(obj) = Lexer::new(&src, 0, &limits).object() else {
                continue;
            };
            parsed += 1;
            let once = written(&obj);
            let again = Lexer::new(&once, 0, &limits)
                .object()
                .unwrap_or_else(|e| panic!("{once:?} from {src:?}: {e}"));
            assert_eq!(again, obj, "{once:?} from {src:?}");
            assert_eq!(written(&again), once, "{src:?}");
        }
        assert!(parsed > 5_000, "{parsed} objects");
    }

    #[test]
    fn lexemes_do_not_make_objects_bigger() {
        assert!(std::mem::size_of::<Object>() <= 64);
    }

    #[test]
    fn content_stream_lexers_keep_no_text() {
        let limits = Limits::default();
        let o = Lexer::new(b"595.303937007874", 0, &limits)
            .without_lexemes()
            .object()
            .unwrap();
        let Object::Real(r) = o else { panic!() };
        assert!(r.lexeme().get().is_none());
    }
}
