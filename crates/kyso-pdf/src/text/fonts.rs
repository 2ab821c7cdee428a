//! Fonts as text extraction needs them (ISO 32000-2 §9.6–9.10): how string bytes split into
//! codes, the Unicode text of each code, and each glyph's advance width.
//!
//! * Simple fonts (Type1, MMType1, TrueType, Type3): one byte per code; text from
//!   `/ToUnicode`, else from `/Encoding` (base encoding + `/Differences` glyph names), else
//!   from the font's default encoding; widths from `/FirstChar` + `/Widths`, else the standard
//!   14 metrics, else `/MissingWidth`, else [`FALLBACK_WIDTH`].
//! * Type0 (composite) fonts: codes split by the `/Encoding` CMap (`Identity-H`/`-V` are 2-byte
//!   identity; embedded CMaps give their codespace ranges); text from `/ToUnicode`; widths from
//!   the descendant's `/W` and `/DW` (1000 when absent).

use std::collections::HashMap;

use crate::error::Result;
use crate::limits::Limits;
use crate::object::{Dict, Object};

use super::cmap::{utf16be_text, CMap, Code};
use super::encoding::{glyph_name_to_unicode, BaseEncoding};
use super::tables;
use super::Resolver;

/// Width (in 1/1000 em) of a glyph whose font gives none.
pub const FALLBACK_WIDTH: f64 = 500.0;

/// One decoded character code.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Unicode text (may be empty when the font gives no way to know it).
    pub text: String,
    /// Horizontal advance in text space units per unit of font size (width / 1000 for most
    /// fonts; width × `FontMatrix[0]` for Type3).
    pub advance: f64,
    /// A single-byte code 32, to which word spacing `Tw` applies.
    pub is_word_space: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Simple {
        /// Text of each of the 256 codes.
        text: Vec<Option<String>>,
        /// Width of each of the 256 codes (glyph units).
        widths: Vec<f64>,
    },
    Composite {
        cmap: CMap,
        /// `Uni*-UCS2-*`/`-UTF16-*` encodings, whose codes are Unicode themselves.
        unicode_codes: bool,
        /// `(first CID, last CID, width)`, sorted by first CID.
        widths: Vec<(u32, u32, f64)>,
        default_width: f64,
    },
}

/// A font loaded for text extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Font {
    kind: Kind,
    to_unicode: Option<CMap>,
    /// Scale from glyph width units to text space (0.001, or `FontMatrix[0]` for Type3).
    width_scale: f64,
    /// Ascent and descent as fractions of the font size.
    pub ascent: f64,
    pub descent: f64,
}

fn resolve_dict(r: &dyn Resolver, o: Option<&Object>) -> Result<Option<Dict>> {
    let Some(o) = o else { return Ok(None) };
    Ok(match r.resolve(o)? {
        Object::Dict(d) => Some(d),
        Object::Stream(s) => Some(s.dict),
        _ => None,
    })
}

fn number(r: &dyn Resolver, o: &Object) -> Result<Option<f64>> {
    Ok(r.resolve(o)?.as_f64().filter(|v| v.is_finite()))
}

/// A base-font name without the subset tag (`ABCDEF+Helvetica` → `Helvetica`).
fn strip_subset(name: &str) -> &str {
    match name.split_once('+') {
        Some((tag, rest)) if tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()) => rest,
        _ => name,
    }
}

/// Widths of the standard 14 fonts (and their usual aliases) for a character.
fn standard_width(base_font: &str, ch: char) -> Option<f64> {
    let name = strip_subset(base_font).to_ascii_lowercase();
    if name.starts_with("courier") {
        return Some(600.0);
    }
    let bold = name.contains("bold");
    let table = if name.starts_with("helvetica") || name.starts_with("arial") {
        if bold {
            &tables::HELVETICA_BOLD_WIDTHS
        } else {
            &tables::HELVETICA_WIDTHS
        }
    } else if name.starts_with("times") {
        if bold {
            &tables::TIMES_BOLD_WIDTHS
        } else {
            &tables::TIMES_ROMAN_WIDTHS
        }
    } else {
        return None;
    };
    let code = (32u8..=255).find(|&c| BaseEncoding::WinAnsi.char_of(c) == Some(ch))?;
    table.get(usize::from(code) - 32).map(|&w| f64::from(w))
}

/// Ascender and descender of the standard 14 fonts (AFM `Ascender`/`Descender`, in em), for
/// fonts without a font descriptor.
fn standard_metrics(base_font: &str) -> Option<(f64, f64)> {
    let name = strip_subset(base_font).to_ascii_lowercase();
    if name.starts_with("helvetica") || name.starts_with("arial") {
        Some((0.718, -0.207))
    } else if name.starts_with("times") {
        Some((0.683, -0.217))
    } else if name.starts_with("courier") {
        Some((0.629, -0.157))
    } else {
        None
    }
}

impl Font {
    /// A font that knows nothing: one byte per code, Latin-1 text, fallback widths. Used when
    /// `Tf` names a font that is missing from the resources.
    pub fn unknown() -> Self {
        Font {
            kind: Kind::Simple {
                text: (0u8..=255)
                    .map(|c| BaseEncoding::Standard.char_of(c).map(String::from))
                    .collect(),
                widths: vec![FALLBACK_WIDTH; 256],
            },
            to_unicode: None,
            width_scale: 0.001,
            ascent: 0.8,
            descent: -0.2,
        }
    }

    /// Load a font dictionary.
    pub fn load(r: &dyn Resolver, dict: &Dict, limits: &Limits) -> Result<Self> {
        let subtype = dict.get_name("Subtype").map(|n| n.as_str().into_owned());
        let to_unicode = match dict.get("ToUnicode").map(|o| r.resolve(o)).transpose()? {
            Some(Object::Stream(s)) => {
                let data = r.stream_data(&s)?;
                Some(CMap::parse(&data, limits)?)
            }
            _ => None,
        };
        let mut font = if subtype.as_deref() == Some("Type0") {
            Self::load_composite(r, dict, limits)?
        } else {
            Self::load_simple(r, dict, subtype.as_deref(), limits)?
        };
        font.to_unicode = to_unicode;
        Ok(font)
    }

    /// Ascent, descent (fractions of the font size) and `/MissingWidth` from a font
    /// descriptor. Writers that put 0 in `/Ascent`/`/Descent` (LibreOffice does) get the
    /// `/FontBBox` instead, as poppler does; without either, 0.8 and -0.2.
    fn descriptor_metrics(r: &dyn Resolver, fd: Option<&Dict>) -> Result<(f64, f64, f64)> {
        let mut ascent = 0.8;
        let mut descent = -0.2;
        let mut missing = 0.0;
        let Some(fd) = fd else {
            return Ok((ascent, descent, missing));
        };
        let get = |key: &str| -> Result<Option<f64>> {
            match fd.get(key) {
                Some(o) => number(r, o),
                None => Ok(None),
            }
        };
        let bbox: Vec<f64> = match fd.get("FontBBox") {
            Some(o) => r
                .resolve(o)?
                .as_array()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_f64().filter(|f| f.is_finite()))
                .collect(),
            None => Vec::new(),
        };
        let (bbox_bottom, bbox_top) = match bbox.as_slice() {
            [_, y0, _, y1] => (Some(y0.min(*y1)), Some(y0.max(*y1))),
            _ => (None, None),
        };
        let plausible_ascent = |a: &f64| *a > 0.0 && *a < 2500.0;
        let plausible_descent = |d: &f64| *d < 0.0 && *d > -2500.0;
        if let Some(a) = get("Ascent")?
            .filter(plausible_ascent)
            .or(bbox_top.filter(plausible_ascent))
        {
            ascent = a / 1000.0;
        }
        if let Some(d) = get("Descent")?
            .filter(plausible_descent)
            .or(bbox_bottom.filter(plausible_descent))
        {
            descent = d / 1000.0;
        }
        if let Some(m) = get("MissingWidth")? {
            missing = m;
        }
        Ok((ascent, descent, missing))
    }

    fn load_simple(
        r: &dyn Resolver,
        dict: &Dict,
        subtype: Option<&str>,
        limits: &Limits,
    ) -> Result<Self> {
        let base_font = dict
            .get_name("BaseFont")
            .map(|n| n.as_str().into_owned())
            .unwrap_or_default();
        let fd = resolve_dict(r, dict.get("FontDescriptor"))?;
        let (mut ascent, mut descent, missing) = Self::descriptor_metrics(r, fd.as_ref())?;
        if fd.is_none() {
            if let Some((a, d)) = standard_metrics(&base_font) {
                (ascent, descent) = (a, d);
            }
        }
        let flags = match fd.as_ref().and_then(|d| d.get("Flags")) {
            Some(f) => r.resolve(f)?.as_int().unwrap_or(0),
            None => 0,
        };
        let symbolic = flags & 4 != 0 && flags & 32 == 0;

        // Encoding: a name, or a dictionary with /BaseEncoding and /Differences.
        let default_base = match subtype {
            Some("TrueType") if !symbolic => BaseEncoding::WinAnsi,
            _ => BaseEncoding::Standard,
        };
        let mut base = default_base;
        // Whether the base is the font program's own encoding (no named base encoding).
        let mut builtin_base = subtype != Some("TrueType");
        let mut differences: Vec<(u8, String)> = Vec::new();
        match dict.get("Encoding").map(|o| r.resolve(o)).transpose()? {
            Some(Object::Name(n)) => {
                base = BaseEncoding::from_name(n.as_bytes()).unwrap_or(default_base);
                builtin_base = false;
            }
            Some(Object::Dict(d)) => {
                if let Some(n) = d.get_name("BaseEncoding") {
                    base = BaseEncoding::from_name(n.as_bytes()).unwrap_or(default_base);
                    builtin_base = false;
                }
                if let Some(diffs) = d.get("Differences") {
                    let diffs = r.resolve(diffs)?;
                    let mut code: Option<i64> = None;
                    for item in diffs.as_array().unwrap_or_default() {
                        match item {
                            Object::Int(i) => code = Some(*i),
                            Object::Name(n) => {
                                if let Some(c) = code.and_then(|c| u8::try_from(c).ok()) {
                                    differences.push((c, n.as_str().into_owned()));
                                }
                                code = code.map(|c| c + 1);
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        let builtin = if builtin_base {
            match fd.as_ref().and_then(|fd| fd.get("FontFile")) {
                Some(ff) => match r.resolve(ff)? {
                    Object::Stream(s) => r
                        .stream_data(&s)
                        .ok()
                        .and_then(|data| type1_builtin_encoding(&data, &s.dict, limits)),
                    _ => None,
                },
                None => None,
            }
        } else {
            None
        };
        let mut text: Vec<Option<String>> = match builtin {
            Some(names) => names
                .iter()
                .map(|n| n.as_deref().and_then(glyph_name_to_unicode))
                .collect(),
            None => (0u8..=255)
                .map(|c| base.char_of(c).map(String::from))
                .collect(),
        };
        for (code, name) in differences {
            if let Some(slot) = text.get_mut(usize::from(code)) {
                *slot = glyph_name_to_unicode(&name).or_else(|| slot.take());
            }
        }

        // Widths.
        let width_scale = if subtype == Some("Type3") {
            let fm = match dict.get("FontMatrix") {
                Some(o) => r.resolve(o)?,
                None => Object::Null,
            };
            fm.as_array()
                .and_then(|a| a.first())
                .and_then(Object::as_f64)
                .filter(|v| v.is_finite() && *v != 0.0)
                .unwrap_or(0.001)
        } else {
            0.001
        };
        let fallback = if missing > 0.0 {
            missing
        } else if subtype == Some("Type3") {
            0.0
        } else {
            FALLBACK_WIDTH
        };
        let mut widths: Vec<f64> = text
            .iter()
            .map(|t| {
                t.as_deref()
                    .and_then(|s| s.chars().next())
                    .and_then(|ch| standard_width(&base_font, ch))
                    .unwrap_or(fallback)
            })
            .collect();
        let first_char = match dict.get("FirstChar") {
            Some(o) => r.resolve(o)?.as_int().unwrap_or(0),
            None => 0,
        };
        if let Some(ws) = dict.get("Widths") {
            let ws = r.resolve(ws)?;
            for (i, w) in ws.as_array().unwrap_or_default().iter().enumerate() {
                let code = first_char.saturating_add(i as i64);
                let Some(slot) = usize::try_from(code).ok().and_then(|c| widths.get_mut(c)) else {
                    continue;
                };
                if let Some(w) = number(r, w)? {
                    *slot = w;
                }
            }
        }
        Ok(Font {
            kind: Kind::Simple { text, widths },
            to_unicode: None,
            width_scale,
            ascent,
            descent,
        })
    }

    fn load_composite(r: &dyn Resolver, dict: &Dict, limits: &Limits) -> Result<Self> {
        let (cmap, unicode_codes) = match dict.get("Encoding").map(|o| r.resolve(o)).transpose()? {
            Some(Object::Stream(s)) => {
                let data = r.stream_data(&s)?;
                let cmap = CMap::parse(&data, limits)?;
                if cmap.has_codespace() {
                    (cmap, false)
                } else {
                    (CMap::identity(), false)
                }
            }
            Some(Object::Name(n)) => {
                let name = n.as_str();
                let unicode =
                    name.starts_with("Uni") && (name.contains("UCS2") || name.contains("UTF16"));
                (CMap::identity(), unicode)
            }
            _ => (CMap::identity(), false),
        };
        let descendant = match dict
            .get("DescendantFonts")
            .map(|o| r.resolve(o))
            .transpose()?
        {
            Some(Object::Array(a)) => resolve_dict(r, a.first())?,
            _ => None,
        };
        let mut default_width = 1000.0;
        let mut widths = Vec::new();
        let mut fd = None;
        if let Some(d) = &descendant {
            if let Some(dw) = d.get("DW") {
                default_width = number(r, dw)?.unwrap_or(1000.0);
            }
            fd = resolve_dict(r, d.get("FontDescriptor"))?;
            if let Some(w) = d.get("W") {
                widths = parse_w(r, &r.resolve(w)?, limits)?;
            }
        }
        let (ascent, descent, _) = Self::descriptor_metrics(r, fd.as_ref())?;
        Ok(Font {
            kind: Kind::Composite {
                cmap,
                unicode_codes,
                widths,
                default_width,
            },
            to_unicode: None,
            width_scale: 0.001,
            ascent,
            descent,
        })
    }

    /// Split a string operand into codes, with text and advance.
    pub fn decode(&self, bytes: &[u8]) -> Vec<Decoded> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (code, text, width) = match &self.kind {
                Kind::Simple { text, widths } => {
                    let b = rest.first().copied().unwrap_or(0);
                    let code = Code {
                        value: u32::from(b),
                        len: 1,
                    };
                    let t = text
                        .get(usize::from(b))
                        .cloned()
                        .flatten()
                        .unwrap_or_default();
                    let w = widths
                        .get(usize::from(b))
                        .copied()
                        .unwrap_or(FALLBACK_WIDTH);
                    (code, t, w)
                }
                Kind::Composite {
                    cmap,
                    unicode_codes,
                    widths,
                    default_width,
                } => {
                    let code = cmap.next_code(rest, 2);
                    let cid = cmap.cid(code).unwrap_or(code.value);
                    let end = widths.partition_point(|(lo, _, _)| *lo <= cid);
                    let w = widths
                        .get(end.saturating_sub(1))
                        .filter(|(lo, hi, _)| *lo <= cid && cid <= *hi)
                        .map_or(*default_width, |(_, _, w)| *w);
                    let t = if *unicode_codes {
                        let len = usize::from(code.len);
                        utf16be_text(rest.get(..len).unwrap_or_default())
                    } else {
                        String::new()
                    };
                    (code, t, w)
                }
            };
            let text = self
                .to_unicode
                .as_ref()
                .and_then(|tu| {
                    tu.unicode(code).or_else(|| {
                        // Some writers give simple fonts a ToUnicode with 2-byte source codes.
                        let simple = matches!(self.kind, Kind::Simple { .. });
                        simple
                            .then(|| tu.unicode(Code { len: 2, ..code }))
                            .flatten()
                    })
                })
                .unwrap_or(text);
            out.push(Decoded {
                text,
                advance: width * self.width_scale,
                is_word_space: code.len == 1 && code.value == 32,
            });
            rest = rest.get(usize::from(code.len).max(1)..).unwrap_or_default();
        }
        out
    }
}

/// Most bytes of a Type1 font program's clear-text part searched for its built-in encoding.
const MAX_TYPE1_HEADER: usize = 256 * 1024;

/// The built-in encoding of a Type1 font program (`/FontFile`): the `dup <code> /<name> put`
/// entries of its clear-text part (`/Length1` bytes). `None` when it uses `StandardEncoding`
/// or declares nothing readable.
fn type1_builtin_encoding(
    data: &[u8],
    dict: &Dict,
    limits: &Limits,
) -> Option<Vec<Option<String>>> {
    use super::content::{Token, Tokenizer};
    let clear = dict
        .get_int("Length1")
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(data.len())
        .min(data.len())
        .min(MAX_TYPE1_HEADER);
    let header = data.get(..clear)?;
    // Skip to the encoding itself; what precedes it (font info strings) is irrelevant.
    let start = header.windows(9).position(|w| w == b"/Encoding")?;
    let header = header.get(start..)?;
    if header.starts_with(b"/Encoding StandardEncoding") {
        return None;
    }
    let mut tk = Tokenizer::new(header, limits);
    let mut names: Vec<Option<String>> = vec![None; 256];
    let mut found = false;
    let mut window: Vec<Object> = Vec::new();
    while let Ok(Some(tok)) = tk.next_token() {
        match tok {
            Token::Operand(o) => window.push(o),
            Token::Operator(b"put") => {
                if let [.., Object::Int(code), Object::Name(name)] = window.as_slice() {
                    if let Some(slot) = usize::try_from(*code).ok().and_then(|c| names.get_mut(c)) {
                        *slot = Some(name.as_str().into_owned());
                        found = true;
                    }
                }
                window.clear();
            }
            // `readonly def` ends the encoding.
            Token::Operator(b"def") if found => break,
            Token::Operator(_) => window.clear(),
        }
        if window.len() > 8 {
            window.clear();
        }
    }
    found.then_some(names)
}

/// `/W` of a CID font: `c [w1 w2 ...]` and `c_first c_last w` entries, as CID ranges.
fn parse_w(r: &dyn Resolver, w: &Object, limits: &Limits) -> Result<Vec<(u32, u32, f64)>> {
    let items = w.as_array().unwrap_or_default();
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut cache: HashMap<usize, Object> = HashMap::new();
    let mut get = |idx: usize| -> Result<Option<Object>> {
        if let Some(o) = cache.get(&idx) {
            return Ok(Some(o.clone()));
        }
        let Some(o) = items.get(idx) else {
            return Ok(None);
        };
        let o = r.resolve(o)?;
        cache.insert(idx, o.clone());
        Ok(Some(o))
    };
    while let Some(first) = get(i)? {
        let Some(first) = first.as_int().and_then(|v| u32::try_from(v).ok()) else {
            break;
        };
        match get(i + 1)? {
            Some(Object::Array(ws)) => {
                for (k, w) in ws.iter().enumerate() {
                    if out.len() >= limits.max_container_len {
                        break;
                    }
                    let cid = first.saturating_add(k as u32);
                    if let Some(w) = number(r, w)? {
                        out.push((cid, cid, w));
                    }
                }
                i += 2;
            }
            Some(last) => {
                let last = last.as_int().and_then(|v| u32::try_from(v).ok());
                let w = match get(i + 2)? {
                    Some(o) => o.as_f64(),
                    None => None,
                };
                if let (Some(last), Some(w)) = (last, w) {
                    if out.len() < limits.max_container_len {
                        out.push((first, last, w));
                    }
                }
                i += 3;
            }
            None => break,
        }
    }
    // Sorted for binary search; of two entries for one CID the first one wins (stable sort and
    // the search takes the last entry starting at or before the CID, so drop later duplicates).
    out.sort_by_key(|(lo, _, _)| *lo);
    out.dedup_by_key(|(lo, _, _)| *lo);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Lexer;
    use crate::object::{Stream, StreamData};
    use crate::text::Detached;

    fn dict(s: &str) -> Dict {
        let limits = Limits::default();
        Lexer::new(s.as_bytes(), 0, &limits)
            .object()
            .unwrap()
            .as_dict()
            .unwrap()
            .clone()
    }

    fn load(d: &Dict) -> Font {
        Font::load(&Detached::new(Limits::default()), d, &Limits::default()).unwrap()
    }

    fn text_of(f: &Font, bytes: &[u8]) -> String {
        f.decode(bytes).into_iter().map(|d| d.text).collect()
    }

    #[test]
    fn winansi_helvetica_uses_standard_14_widths() {
        let f = load(&dict(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ));
        let d = f.decode(b"A \xC9");
        assert_eq!(d[0].text, "A");
        assert!((d[0].advance - 0.667).abs() < 1e-9);
        assert!(d[1].is_word_space);
        assert!((d[1].advance - 0.278).abs() < 1e-9);
        assert_eq!(d[2].text, "É");
    }

    #[test]
    fn differences_and_widths_override_the_base_encoding() {
        let f = load(&dict(
            "<< /Subtype /Type1 /BaseFont /ABCDEF+VnTime /FirstChar 65 /Widths [600 700]
                /Encoding << /BaseEncoding /WinAnsiEncoding
                             /Differences [65 /Ohorn /uhorn 200 /dcroat /uni1EA0 /u1EA1] >> >>",
        ));
        assert_eq!(text_of(&f, b"AB\xC8\xC9\xCAC"), "ƠưđẠạC");
        let d = f.decode(b"ABC");
        assert!((d[0].advance - 0.6).abs() < 1e-9);
        assert!((d[1].advance - 0.7).abs() < 1e-9);
        assert!((d[2].advance - FALLBACK_WIDTH / 1000.0).abs() < 1e-9);
    }

    #[test]
    fn type1_builtin_encoding_is_read_from_the_font_program() {
        // The clear-text part of a TeX symbol font (CMSY10), where 15 is the bullet.
        let program = b"%!PS-AdobeFont-1.0: CMSY10 003.002\n/FontName /CMSY10 def\n\
            /Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\n\
            dup 0 /minus put\ndup 15 /bullet put\ndup 102 /braceleft put\n\
            readonly def\ncurrentdict end\ncurrentfile eexec\n\xd9\xd6\x8f";
        let mut ff = Dict::new();
        ff.set("Length1", Object::Int(program.len() as i64 - 3));
        let mut fd = Dict::new();
        fd.set(
            "FontFile",
            Object::Stream(Stream {
                dict: ff,
                data: StreamData::Owned(program.to_vec()),
            }),
        );
        let mut d = dict("<< /Subtype /Type1 /BaseFont /PWNLKT+CMSY10 >>");
        d.set("FontDescriptor", fd.clone());
        assert_eq!(text_of(&load(&d), b"\x0f\x00f"), "\u{2022}\u{2212}{");
        // /Differences apply on top of the built-in encoding.
        d.set(
            "Encoding",
            dict("<< /Type /Encoding /Differences [0 /A] >>"),
        );
        assert_eq!(text_of(&load(&d), b"\x0f\x00"), "\u{2022}A");
        // A named encoding replaces it.
        d.set("Encoding", Object::name("WinAnsiEncoding"));
        assert_eq!(text_of(&load(&d), b"A"), "A");
    }

    #[test]
    fn ascent_and_descent_come_from_the_descriptor_or_its_bbox() {
        let f = load(&dict(
            "<< /Subtype /TrueType /FontDescriptor << /Ascent 891 /Descent -216 >> >>",
        ));
        assert_eq!((f.ascent, f.descent), (0.891, -0.216));
        // LibreOffice writes zeros; the font's bounding box stands in, as in poppler.
        let f = load(&dict(
            "<< /Subtype /TrueType /FontDescriptor
                << /Ascent 0 /Descent 0 /FontBBox [-543 -303 1343 1007] >> >>",
        ));
        assert_eq!((f.ascent, f.descent), (1.007, -0.303));
        let f = load(&dict("<< /Subtype /TrueType /FontDescriptor << >> >>"));
        assert_eq!((f.ascent, f.descent), (0.8, -0.2));
        // Standard 14 fonts without a descriptor use their AFM metrics.
        let f = load(&dict("<< /Subtype /Type1 /BaseFont /Times-Bold >>"));
        assert_eq!((f.ascent, f.descent), (0.683, -0.217));
    }

    #[test]
    fn simple_font_tounicode_with_two_byte_codes_still_maps() {
        let mut d = dict("<< /Subtype /TrueType /BaseFont /X /Encoding /WinAnsiEncoding >>");
        d.set(
            "ToUnicode",
            Object::Stream(Stream {
                dict: Dict::new(),
                data: StreamData::Owned(b"beginbfchar <0041> <1EA0> endbfchar".to_vec()),
            }),
        );
        assert_eq!(text_of(&load(&d), b"AB"), "ẠB");
    }

    #[test]
    fn type3_widths_use_the_font_matrix() {
        let f = load(&dict(
            "<< /Subtype /Type3 /FontMatrix [0.01 0 0 0.01 0 0] /FirstChar 97 /Widths [50]
                /Encoding << /Differences [97 /a] >> >>",
        ));
        let d = f.decode(b"a");
        assert_eq!(d[0].text, "a");
        assert!((d[0].advance - 0.5).abs() < 1e-9);
    }

    #[test]
    fn type0_identity_h_with_tounicode_and_w() {
        let tu = b"1 begincodespacerange <0000> <FFFF> endcodespacerange
                   2 beginbfchar <0001> <0047> <0002> <00C1> endbfchar"
            .to_vec();
        let mut d = dict(
            "<< /Subtype /Type0 /BaseFont /X /Encoding /Identity-H
                /DescendantFonts [<< /Subtype /CIDFontType2 /DW 800 /W [1 [610] 5 9 300] >>] >>",
        );
        d.set(
            "ToUnicode",
            Object::Stream(Stream {
                dict: Dict::new(),
                data: StreamData::Owned(tu),
            }),
        );
        let f = load(&d);
        let out = f.decode(&[0, 1, 0, 2, 0, 7, 0, 3]);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].text, "G");
        assert_eq!(out[1].text, "Á");
        assert!((out[0].advance - 0.61).abs() < 1e-9);
        assert!((out[1].advance - 0.8).abs() < 1e-9, "DW");
        assert!((out[2].advance - 0.3).abs() < 1e-9, "range 5..9");
        assert_eq!(out[3].text, "", "no mapping, no text");
        assert!(!out[0].is_word_space);
        // An odd trailing byte is one short code, not a panic.
        assert_eq!(f.decode(&[0, 1, 0]).len(), 2);
    }

    #[test]
    fn type0_without_w_defaults_to_1000() {
        let f = load(&dict(
            "<< /Subtype /Type0 /Encoding /UniGB-UCS2-H /DescendantFonts [<< >>] >>",
        ));
        let out = f.decode(&[0x4E, 0x2D]);
        assert_eq!(out[0].text, "中");
        assert!((out[0].advance - 1.0).abs() < 1e-9);
    }
}
