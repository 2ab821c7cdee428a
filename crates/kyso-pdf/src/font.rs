//! TrueType fonts for signature appearances: loading, simple shaping (NFC + cmap, one glyph per
//! character, no kerning or ligatures), measuring, and embedding a subset as a Type0 font with a
//! CIDFontType2 descendant (`/Identity-H`), widths in 1000 units per em and a ToUnicode CMap.
//!
//! The bundled Liberation Serif 2.1.5 (SIL OFL, metric-compatible with Times New Roman) covers
//! Vietnamese in precomposed form, which NFC normalisation produces.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::tables::hhea::Hhea;
use skrifa::raw::tables::os2::{Os2, SelectionFlags};
use skrifa::raw::TableProvider;
use skrifa::string::StringId;
use skrifa::{FontRef, GlyphId, MetadataProvider, Tag};
use unicode_normalization::UnicodeNormalization;

use crate::error::{FontError, Result};
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::writer::IncrementalUpdate;

/// Largest font file accepted by [`FontProgram::from_bytes`].
pub const MAX_FONT_BYTES: usize = 32 * 1024 * 1024;

static LIBERATION_SERIF_REGULAR: &[u8] =
    include_bytes!("../assets/fonts/LiberationSerif-Regular.ttf");
static LIBERATION_SERIF_BOLD: &[u8] = include_bytes!("../assets/fonts/LiberationSerif-Bold.ttf");

/// Subsets of the bundled fonts already made, by font and glyphs (in their subset order): a
/// composer embeds the same subset again and again — every verification report of a busy
/// intake uses the same few dozen glyphs — and subsetting and compressing it costs more than
/// the rest of a one-page document. Only fonts whose bytes live for the whole process (the
/// bundled ones) are kept, named by where their bytes are.
type SubsetKey = (usize, usize, Vec<u16>);
static SUBSETS: std::sync::Mutex<Option<std::collections::HashMap<SubsetKey, SubsetMade>>> =
    std::sync::Mutex::new(None);
/// A subset's length (`/Length1`) and its compressed bytes.
type SubsetMade = std::sync::Arc<(usize, Vec<u8>)>;
/// Most subsets kept (the cache starts over past it).
const SUBSETS_KEPT: usize = 64;

/// The subset of `font` holding the glyphs of `remapper`, compressed, with its length.
fn subset_deflated(font: &FontProgram, remapper: &subsetter::GlyphRemapper) -> Result<SubsetMade> {
    let key = match &font.data {
        Cow::Borrowed(d) => Some((
            d.as_ptr() as usize,
            d.len(),
            remapper.remapped_gids().collect::<Vec<u16>>(),
        )),
        Cow::Owned(_) => None,
    };
    let cache = || SUBSETS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = &key {
        if let Some(made) = cache().as_ref().and_then(|m| m.get(k)) {
            return Ok(made.clone());
        }
    }
    let subset = subsetter::subset(&font.data, 0, remapper).map_err(|_| FontError::Subset)?;
    let made: SubsetMade = std::sync::Arc::new((subset.len(), crate::filter::deflate(&subset)));
    if let Some(k) = key {
        let mut c = cache();
        let m = c.get_or_insert_with(Default::default);
        if m.len() >= SUBSETS_KEPT {
            m.clear();
        }
        m.insert(k, made.clone());
    }
    Ok(made)
}

/// A parsed TrueType font program and the metrics needed to lay out and embed it.
#[derive(Clone)]
pub struct FontProgram {
    data: Cow<'static, [u8]>,
    units_per_em: u16,
    /// PostScript name, sanitised to characters allowed in a PDF name without escapes.
    ps_name: String,
    ascender: i16,
    descender: i16,
    cap_height: i16,
    bbox: [i16; 4],
    italic_angle: f32,
    weight: u16,
    monospaced: bool,
    italic: bool,
    serif: bool,
}

impl std::fmt::Debug for FontProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontProgram")
            .field("ps_name", &self.ps_name)
            .field("units_per_em", &self.units_per_em)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// One glyph of shaped text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glyph {
    /// Glyph id in the (unsubsetted) font.
    pub gid: u16,
    /// Horizontal advance in font units.
    pub advance_units: u16,
    /// The text this glyph stands for (one or more code points), for ToUnicode.
    pub text: String,
}

/// A shaped line of text at a given size.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRun {
    pub glyphs: Vec<Glyph>,
    pub size_pt: f64,
    /// Advance width of the whole run in points.
    pub width_pt: f64,
}

impl FontProgram {
    /// Liberation Serif Regular (bundled).
    pub fn liberation_serif_regular() -> Result<Self> {
        Self::load(Cow::Borrowed(LIBERATION_SERIF_REGULAR), true)
    }

    /// Liberation Serif Bold (bundled).
    pub fn liberation_serif_bold() -> Result<Self> {
        Self::load(Cow::Borrowed(LIBERATION_SERIF_BOLD), true)
    }

    /// A TrueType font from untrusted bytes (at most [`MAX_FONT_BYTES`]). The font must have
    /// `glyf` outlines and a Unicode cmap.
    pub fn from_bytes(data: Vec<u8>) -> Result<Self> {
        if data.len() > MAX_FONT_BYTES {
            return Err(FontError::TooLarge {
                size: data.len() as u64,
                max: MAX_FONT_BYTES as u64,
            }
            .into());
        }
        Self::load(Cow::Owned(data), false)
    }

    fn load(data: Cow<'static, [u8]>, serif: bool) -> Result<Self> {
        // Index 0 of a collection, or the font itself.
        let font = FontRef::from_index(&data, 0).map_err(|_| FontError::Parse)?;
        let head = font.head().map_err(|_| FontError::Parse)?;
        let hhea = font.hhea().map_err(|_| FontError::Parse)?;
        font.maxp().map_err(|_| FontError::Parse)?;
        let units_per_em = head.units_per_em();
        if !(16..=16384).contains(&units_per_em) {
            return Err(FontError::Parse.into());
        }
        if font.table_data(Tag::new(b"glyf")).is_none()
            || font.table_data(Tag::new(b"loca")).is_none()
        {
            return Err(FontError::NotTrueType.into());
        }
        let ps_name = font
            .localized_strings(StringId::POSTSCRIPT_NAME)
            .map(|n| {
                n.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
            })
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| "Font".to_owned());
        let os2 = font.os2().ok();
        let post = font.post().ok();
        let (ascender, descender) = vertical_metrics(&hhea, os2.as_ref());
        let italic_angle = post.as_ref().map_or(0.0, |p| p.italic_angle().to_f32());
        let italic = italic_angle != 0.0
            || os2
                .as_ref()
                .is_some_and(|o| o.fs_selection().contains(SelectionFlags::ITALIC));
        Ok(FontProgram {
            units_per_em,
            ps_name,
            ascender,
            descender,
            cap_height: os2
                .as_ref()
                .and_then(|o| o.s_cap_height())
                .unwrap_or(ascender),
            bbox: [head.x_min(), head.y_min(), head.x_max(), head.y_max()],
            italic_angle,
            weight: os2.as_ref().map_or(400, |o| o.us_weight_class()),
            monospaced: post.as_ref().is_some_and(|p| p.is_fixed_pitch() != 0),
            italic,
            serif,
            data,
        })
    }

    fn font(&self) -> Result<FontRef<'_>> {
        FontRef::from_index(&self.data, 0).map_err(|_| FontError::Parse.into())
    }

    /// Font units per em (2048 for Liberation Serif).
    pub fn units_per_em(&self) -> u16 {
        self.units_per_em
    }

    /// The PostScript name (e.g. `LiberationSerif`).
    pub fn postscript_name(&self) -> &str {
        &self.ps_name
    }

    /// Typographic ascender as a fraction of the em (positive).
    pub fn ascent_em(&self) -> f64 {
        f64::from(self.ascender) / f64::from(self.units_per_em)
    }

    /// Typographic descender as a fraction of the em (negative).
    pub fn descent_em(&self) -> f64 {
        f64::from(self.descender) / f64::from(self.units_per_em)
    }

    /// NFC-normalise `text` and map every character to a glyph through the cmap. Characters
    /// without a glyph are an error that lists them all; nothing is drawn as `.notdef`.
    /// Control characters (including line breaks) are refused as missing as well.
    pub fn shape(&self, text: &str) -> Result<Vec<Glyph>> {
        let font = self.font()?;
        let charmap = font.charmap();
        let hmtx = font.hmtx().ok();
        let mut glyphs = Vec::new();
        let mut missing: Vec<char> = Vec::new();
        for c in text.nfc() {
            let gid = if c.is_control() {
                None
            } else {
                charmap
                    .map(c)
                    .and_then(|g| u16::try_from(g.to_u32()).ok())
                    .filter(|g| *g != 0)
            };
            match gid {
                Some(g) => glyphs.push(Glyph {
                    gid: g,
                    advance_units: hmtx
                        .as_ref()
                        .and_then(|h| h.advance(GlyphId::from(g)))
                        .unwrap_or(0),
                    text: c.to_string(),
                }),
                None => {
                    if !missing.contains(&c) {
                        missing.push(c);
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(glyphs)
        } else {
            Err(FontError::MissingGlyphs { missing }.into())
        }
    }

    /// Shape `text` and measure it at `size_pt`.
    pub fn layout(&self, text: &str, size_pt: f64) -> Result<TextRun> {
        let glyphs = self.shape(text)?;
        let width_pt = self.glyphs_width(&glyphs, size_pt);
        Ok(TextRun {
            glyphs,
            size_pt,
            width_pt,
        })
    }

    /// Advance width of `text` at `size_pt`, in points.
    pub fn width(&self, text: &str, size_pt: f64) -> Result<f64> {
        Ok(self.glyphs_width(&self.shape(text)?, size_pt))
    }

    /// Lowest and highest ink of `glyphs` as fractions of the em (`(0, 0)` for no ink).
    pub fn ink_extent_em(&self, glyphs: &[Glyph]) -> (f64, f64) {
        let Ok(font) = self.font() else {
            return (0.0, 0.0);
        };
        // Unscaled bounds are the glyph headers' boxes in font units (all zero for blank glyphs).
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let (lo, hi) = glyphs
            .iter()
            .filter_map(|g| metrics.bounds(GlyphId::from(g.gid)))
            .fold((0f32, 0f32), |(lo, hi), b| {
                (lo.min(b.y_min), hi.max(b.y_max))
            });
        let em = f64::from(self.units_per_em);
        (f64::from(lo) / em, f64::from(hi) / em)
    }

    /// Advance width of shaped glyphs at `size_pt`, in points.
    pub fn glyphs_width(&self, glyphs: &[Glyph], size_pt: f64) -> f64 {
        let units: u64 = glyphs.iter().map(|g| u64::from(g.advance_units)).sum();
        units as f64 * size_pt / f64::from(self.units_per_em)
    }

    /// A width in font units expressed in the 1000-units-per-em glyph space of PDF (`/W`).
    pub fn to_pdf_units(&self, units: i64) -> f64 {
        units as f64 * 1000.0 / f64::from(self.units_per_em)
    }

    fn flags(&self) -> i64 {
        // ISO 32000 Table 121: FixedPitch 1, Serif 2, Symbolic 4, Italic 64. The subset holds
        // glyphs outside the standard Latin set (Vietnamese), so it is declared symbolic.
        let mut f = 4;
        if self.monospaced {
            f |= 1;
        }
        if self.serif {
            f |= 2;
        }
        if self.italic {
            f |= 64;
        }
        f
    }
}

/// Collects the glyphs used by an appearance and embeds exactly those as one subset font.
///
/// Glyph ids in content streams must be the ids of the subset: [`encode`](Self::encode) assigns
/// them (in order of first use; `.notdef` is 0) and returns the 2-byte CIDs to write in a
/// `Tj` string. The subset's glyph ids are its CIDs (`/CIDToGIDMap /Identity`).
#[derive(Debug)]
pub struct FontEmbedder<'f> {
    font: &'f FontProgram,
    remapper: subsetter::GlyphRemapper,
    /// New gid → (old gid, advance, text).
    used: BTreeMap<u16, (u16, u16, String)>,
    reserved: Option<ObjRef>,
    /// Objects written by a previous [`embed`](Self::embed): FontFile2, FontDescriptor,
    /// CIDFont, ToUnicode. A later call rewrites them in place.
    written: Option<[ObjRef; 4]>,
}

impl<'f> FontEmbedder<'f> {
    pub fn new(font: &'f FontProgram) -> Self {
        FontEmbedder {
            font,
            remapper: subsetter::GlyphRemapper::new(),
            used: BTreeMap::new(),
            reserved: None,
            written: None,
        }
    }

    pub fn font(&self) -> &'f FontProgram {
        self.font
    }

    /// Record `glyphs` as used and return their CIDs (new glyph ids), 2 bytes big-endian each.
    pub fn encode(&mut self, glyphs: &[Glyph]) -> Vec<u8> {
        let mut out = Vec::with_capacity(glyphs.len() * 2);
        for g in glyphs {
            let new = self.remapper.remap(g.gid);
            self.used
                .entry(new)
                .or_insert_with(|| (g.gid, g.advance_units, g.text.clone()));
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }

    /// The reference the Type0 font will have, reserved on first call, so that content built
    /// before [`embed`](Self::embed) can name it in its resources.
    pub fn font_ref(&mut self, update: &mut IncrementalUpdate) -> ObjRef {
        *self.reserved.get_or_insert_with(|| update.reserve())
    }

    /// The BaseFont of the subset: a tag of 6 capital letters derived from the glyph set,
    /// `+`, and the PostScript name.
    pub fn base_font(&self) -> String {
        // FNV-1a over the font name and the (old gid → new gid) assignment.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        for b in self.font.ps_name.bytes() {
            eat(b);
        }
        for (new, (old, _, _)) in &self.used {
            for b in new.to_be_bytes().into_iter().chain(old.to_be_bytes()) {
                eat(b);
            }
        }
        let mut tag = String::with_capacity(7 + self.font.ps_name.len());
        for _ in 0..6 {
            tag.push(char::from(b'A' + (h % 26) as u8));
            h /= 26;
        }
        tag.push('+');
        tag.push_str(&self.font.ps_name);
        tag
    }

    /// The `/W` array: for each used CID its width in 1000 units per em, consecutive CIDs grouped
    /// as `c [w1 w2 ...]`.
    pub fn widths(&self) -> Vec<Object> {
        let mut out = Vec::new();
        let mut run: Vec<Object> = Vec::new();
        let mut start: Option<u16> = None;
        let mut last = 0u16;
        for (&cid, (_, adv, _)) in &self.used {
            if start.is_some() && cid != last.wrapping_add(1) {
                if let Some(s) = start {
                    out.push(Object::from(u32::from(s)));
                    out.push(Object::Array(std::mem::take(&mut run)));
                }
                start = None;
            }
            if start.is_none() {
                start = Some(cid);
            }
            run.push(pdf_number(self.font.to_pdf_units(i64::from(*adv))));
            last = cid;
        }
        if let Some(s) = start {
            out.push(Object::from(u32::from(s)));
            out.push(Object::Array(run));
        }
        out
    }

    /// The ToUnicode CMap mapping each used CID to its text.
    pub fn to_unicode(&self) -> Vec<u8> {
        to_unicode_cmap(self.used.iter().map(|(cid, (_, _, t))| (*cid, t.as_str())))
    }

    /// Write the subset font (Type0 → CIDFontType2 → FontDescriptor → FontFile2, ToUnicode)
    /// and return the Type0 font's reference (the one [`font_ref`](Self::font_ref) reserved,
    /// if it was called). Call it after all text has been encoded; calling it again (after
    /// more text) rewrites the same objects.
    pub fn embed(&mut self, update: &mut IncrementalUpdate) -> Result<ObjRef> {
        let font = self.font;
        let [file_ref, desc_ref, cid_ref, tu_ref] = match self.written {
            Some(w) => w,
            None => [
                update.reserve(),
                update.reserve(),
                update.reserve(),
                update.reserve(),
            ],
        };
        self.written = Some([file_ref, desc_ref, cid_ref, tu_ref]);
        let subset = subset_deflated(font, &self.remapper)?;
        let scale = |v: i16| pdf_number(font.to_pdf_units(i64::from(v)));
        let base_font = self.base_font();

        let mut file = Dict::new();
        file.set("Length1", Object::Int(subset.0 as i64));
        file.set("Filter", Object::name("FlateDecode"));
        update.set(
            file_ref,
            Object::Stream(Stream {
                dict: file,
                data: StreamData::Owned(subset.1.clone()),
            }),
        );

        let mut desc = Dict::new();
        desc.set("Type", Object::name("FontDescriptor"));
        desc.set("FontName", Object::name(&base_font));
        desc.set("Flags", Object::Int(font.flags()));
        desc.set("FontBBox", Object::Array(font.bbox.map(scale).to_vec()));
        desc.set("ItalicAngle", pdf_number(f64::from(font.italic_angle)));
        desc.set("Ascent", scale(font.ascender));
        desc.set("Descent", scale(font.descender));
        desc.set("CapHeight", scale(font.cap_height));
        let stem_v = 10.0 + 0.244 * (f64::from(font.weight) - 50.0);
        desc.set("StemV", Object::Int(stem_v.round().max(0.0) as i64));
        desc.set("FontFile2", file_ref);
        update.set(desc_ref, desc);

        let mut info = Dict::new();
        info.set("Registry", Object::string("Adobe"));
        info.set("Ordering", Object::string("Identity"));
        info.set("Supplement", Object::Int(0));

        let mut cid = Dict::new();
        cid.set("Type", Object::name("Font"));
        cid.set("Subtype", Object::name("CIDFontType2"));
        cid.set("BaseFont", Object::name(&base_font));
        cid.set("CIDSystemInfo", info);
        cid.set("FontDescriptor", desc_ref);
        cid.set("DW", Object::Int(1000));
        cid.set("W", Object::Array(self.widths()));
        cid.set("CIDToGIDMap", Object::name("Identity"));
        update.set(cid_ref, cid);

        let mut tu = Dict::new();
        tu.set("Filter", Object::name("FlateDecode"));
        update.set(
            tu_ref,
            Object::Stream(Stream {
                dict: tu,
                data: StreamData::Owned(crate::filter::deflate(&self.to_unicode())),
            }),
        );

        let mut t0 = Dict::new();
        t0.set("Type", Object::name("Font"));
        t0.set("Subtype", Object::name("Type0"));
        t0.set("BaseFont", Object::name(&base_font));
        t0.set("Encoding", Object::name("Identity-H"));
        t0.set("DescendantFonts", Object::Array(vec![Object::Ref(cid_ref)]));
        t0.set("ToUnicode", tu_ref);
        match self.reserved {
            Some(r) => {
                update.set(r, t0);
                Ok(r)
            }
            None => {
                let r = update.add(t0);
                self.reserved = Some(r);
                Ok(r)
            }
        }
    }
}

/// Horizontal ascender and descender, chosen as FreeType does (`sfobjs.c`, and ttf-parser before
/// it): OS/2 typographic values when `USE_TYPO_METRICS` is set (OS/2 version 4 and later), else
/// `hhea`, falling back to OS/2 typographic, then Windows, values when `hhea` has 0.
fn vertical_metrics(hhea: &Hhea<'_>, os2: Option<&Os2<'_>>) -> (i16, i16) {
    if let Some(o) = os2 {
        if o.version() >= 4 && o.fs_selection().contains(SelectionFlags::USE_TYPO_METRICS) {
            return (o.s_typo_ascender(), o.s_typo_descender());
        }
    }
    let pick = |hhea_value: i16, typo: fn(&Os2<'_>) -> i16, win: fn(&Os2<'_>) -> i16| match os2 {
        Some(o) if hhea_value == 0 => match typo(o) {
            0 => win(o),
            v => v,
        },
        _ => hhea_value,
    };
    (
        pick(
            hhea.ascender().to_i16(),
            |o| o.s_typo_ascender(),
            |o| o.us_win_ascent() as i16,
        ),
        pick(
            hhea.descender().to_i16(),
            |o| o.s_typo_descender(),
            |o| (o.us_win_descent() as i16).saturating_neg(),
        ),
    )
}

/// An integer object when `v` is integral, otherwise a real.
pub(crate) fn pdf_number(v: f64) -> Object {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        Object::Int(v as i64)
    } else {
        Object::real(v)
    }
}

/// A ToUnicode CMap (ISO 32000 §9.10.3) with 2-byte codes and `bfchar` entries; the text of
/// each code may be several code points (UTF-16BE, surrogate pairs as needed).
pub fn to_unicode_cmap<'a>(entries: impl Iterator<Item = (u16, &'a str)>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(u16, &str)> = entries.filter(|(_, t)| !t.is_empty()).collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (cid, text) in chunk {
            let _ = write!(s, "<{cid:04X}> <");
            for u in text.encode_utf16() {
                let _ = write!(s, "{u:04X}");
            }
            s.push_str(">\n");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn a_bundled_fonts_subset_is_made_once_and_is_the_subsetters() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        let glyphs = |text: &str| {
            let mut r = subsetter::GlyphRemapper::new();
            for g in f.shape(text).unwrap() {
                r.remap(g.gid);
            }
            r
        };
        let a = subset_deflated(&f, &glyphs("Báo cáo kiểm tra chữ ký số")).unwrap();
        let b = subset_deflated(&f, &glyphs("Báo cáo kiểm tra chữ ký số")).unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b), "made once");
        let fresh = subsetter::subset(&f.data, 0, &glyphs("Báo cáo kiểm tra chữ ký số")).unwrap();
        assert_eq!(a.0, fresh.len());
        let mut d = Dict::new();
        d.set("Filter", Object::name("FlateDecode"));
        assert_eq!(crate::filter::decode(&d, &a.1, 1 << 24).unwrap(), fresh);
        let other = subset_deflated(&f, &glyphs("Hợp lệ")).unwrap();
        assert!(
            !std::sync::Arc::ptr_eq(&a, &other),
            "other glyphs, another subset"
        );
        // A font read from a file is not kept (its bytes may go).
        let owned = FontProgram::from_bytes(LIBERATION_SERIF_REGULAR.to_vec()).unwrap();
        let c = subset_deflated(&owned, &glyphs("Báo cáo kiểm tra chữ ký số")).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&a, &c));
        assert_eq!(c.1, a.1);
    }

    #[test]
    fn loads_bundled_fonts() {
        let r = FontProgram::liberation_serif_regular().unwrap();
        assert_eq!(r.units_per_em(), 2048);
        assert_eq!(r.postscript_name(), "LiberationSerif");
        let b = FontProgram::liberation_serif_bold().unwrap();
        assert_eq!(b.postscript_name(), "LiberationSerif-Bold");
    }

    #[test]
    fn shapes_vietnamese_after_nfc() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        // "ễ" written decomposed: e + circumflex + tilde.
        let g = f.shape("Nguye\u{302}\u{303}n").unwrap();
        let text: String = g.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(text, "Nguyễn");
        assert_eq!(g.len(), 6);
        assert!(g.iter().all(|g| g.gid != 0 && g.advance_units > 0));
        let all = "Sở Khoa học và Công nghệ tỉnh Demo ĐƯỜNG ƠỚỢỞỠ ăằắặẳẵ";
        assert!(f.shape(all).is_ok());
    }

    #[test]
    fn missing_glyphs_are_listed() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        let e = f.shape("a\u{4E2D}b\u{1F600}\u{4E2D}").unwrap_err();
        assert_eq!(
            e,
            Error::Font(FontError::MissingGlyphs {
                missing: vec!['\u{4E2D}', '\u{1F600}']
            })
        );
        let msg = e.to_string();
        assert!(msg.contains("U+4E2D"), "{msg}");
        assert!(msg.contains("U+1F600"), "{msg}");
        assert!(f.shape("a\nb").is_err());
    }

    #[test]
    fn from_bytes_refuses_garbage_and_oversize() {
        assert_eq!(
            FontProgram::from_bytes(b"not a font".to_vec()).unwrap_err(),
            Error::Font(FontError::Parse)
        );
        assert!(matches!(
            FontProgram::from_bytes(vec![0; MAX_FONT_BYTES + 1]),
            Err(Error::Font(FontError::TooLarge { .. }))
        ));
        let f = FontProgram::from_bytes(LIBERATION_SERIF_BOLD.to_vec()).unwrap();
        assert_eq!(f.units_per_em(), 2048);
        // Truncated font files are an error or a font, never a panic.
        for cut in [12, 100, 1000, 10_000, 100_000] {
            let _ = FontProgram::from_bytes(LIBERATION_SERIF_BOLD[..cut].to_vec())
                .and_then(|f| f.shape("Nguyễn"));
        }
    }

    #[test]
    fn width_matches_advances() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        let g = f.shape("A").unwrap();
        let adv = g.first().unwrap().advance_units;
        let w = f.width("AA", 10.0).unwrap();
        assert!((w - 2.0 * f64::from(adv) * 10.0 / 2048.0).abs() < 1e-9);
    }

    #[test]
    fn widths_are_scaled_to_1000_units_per_em() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        assert_eq!(f.to_pdf_units(1024), 500.0);
        let mut e = FontEmbedder::new(&f);
        let fake = [
            Glyph {
                gid: 10,
                advance_units: 1024,
                text: "x".into(),
            },
            Glyph {
                gid: 20,
                advance_units: 2048,
                text: "y".into(),
            },
            Glyph {
                gid: 10,
                advance_units: 1024,
                text: "x".into(),
            },
        ];
        assert_eq!(e.encode(&fake), vec![0, 1, 0, 2, 0, 1]);
        assert_eq!(
            e.widths(),
            vec![
                Object::Int(1),
                Object::Array(vec![Object::Int(500), Object::Int(1000)])
            ]
        );
        // A real glyph: Liberation Serif's space is 512/2048 → 250.
        let sp = f.shape(" ").unwrap();
        let mut e = FontEmbedder::new(&f);
        e.encode(&sp);
        assert_eq!(
            e.widths(),
            vec![Object::Int(1), Object::Array(vec![Object::Int(250)])]
        );
    }

    #[test]
    fn to_unicode_has_bfchar_entries_in_utf16be() {
        let cmap =
            to_unicode_cmap([(1u16, "ễ"), (2, "ffi"), (3, "\u{1F600}"), (4, "")].into_iter());
        let s = String::from_utf8(cmap).unwrap();
        assert!(s.contains("1 begincodespacerange\n<0000> <FFFF>"));
        assert!(s.contains("3 beginbfchar\n"));
        assert!(s.contains("<0001> <1EC5>\n"));
        assert!(s.contains("<0002> <006600660069>\n"));
        assert!(s.contains("<0003> <D83DDE00>\n"));
        assert!(!s.contains("<0004>"));
        assert!(s.contains("endcmap"));
    }

    #[test]
    fn to_unicode_chunks_by_100() {
        let texts: Vec<String> = (0..250).map(|i| format!("{}", i % 10)).collect();
        let cmap = to_unicode_cmap(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i as u16, t.as_str())),
        );
        let s = String::from_utf8(cmap).unwrap();
        assert_eq!(s.matches("100 beginbfchar").count(), 2);
        assert_eq!(s.matches("50 beginbfchar").count(), 1);
    }

    #[test]
    fn subset_tag_is_deterministic_and_depends_on_glyphs() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        let tag = |s: &str| {
            let mut e = FontEmbedder::new(&f);
            e.encode(&f.shape(s).unwrap());
            e.base_font()
        };
        let a = tag("SAO Y");
        assert_eq!(a, tag("SAO Y"));
        assert_ne!(a, tag("SAO Z"));
        let (t, name) = a.split_once('+').unwrap();
        assert_eq!(name, "LiberationSerif");
        assert_eq!(t.len(), 6);
        assert!(t.bytes().all(|b| b.is_ascii_uppercase()));
    }

    #[test]
    fn embed_writes_type0_with_identity_h() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        let mut e = FontEmbedder::new(&f);
        e.encode(&f.shape("Nguyễn Văn An").unwrap());
        let mut doc = crate::test_support::one_page_update(0);
        let r = e.embed(&mut doc).unwrap();
        let t0 = doc.get(r).unwrap().as_dict().unwrap().clone();
        assert_eq!(t0.get_name("Subtype").unwrap(), "Type0");
        assert_eq!(t0.get_name("Encoding").unwrap(), "Identity-H");
        let d = t0.get("DescendantFonts").unwrap().as_array().unwrap();
        let cid = doc.get(d[0].as_ref().unwrap()).unwrap().as_dict().unwrap();
        assert_eq!(cid.get_name("Subtype").unwrap(), "CIDFontType2");
        assert_eq!(cid.get_name("CIDToGIDMap").unwrap(), "Identity");
        let desc = doc
            .get(cid.get("FontDescriptor").unwrap().as_ref().unwrap())
            .unwrap()
            .as_dict()
            .unwrap();
        let file = doc
            .get(desc.get("FontFile2").unwrap().as_ref().unwrap())
            .unwrap()
            .as_stream()
            .unwrap();
        let StreamData::Owned(z) = &file.data else {
            panic!()
        };
        let raw = crate::filter::inflate(z, 1 << 24).unwrap();
        assert_eq!(file.dict.get_int("Length1").unwrap(), raw.len() as i64);
        assert!(raw.len() < 40_000, "subset is {} bytes", raw.len());
        let subset = FontRef::new(&raw).unwrap();
        assert!(subset.table_data(Tag::new(b"glyf")).is_some());
        assert!(subset.head().is_ok() && subset.hmtx().is_ok());
        // Embedding again after more text rewrites the same objects.
        e.encode(&f.shape("Đ").unwrap());
        assert_eq!(e.embed(&mut doc).unwrap(), r);
        let t0b = doc.get(r).unwrap().as_dict().unwrap();
        assert_eq!(t0b.get("DescendantFonts"), t0.get("DescendantFonts"));
        assert_ne!(t0b.get_name("BaseFont"), t0.get_name("BaseFont"));
        doc.serialize(1000).unwrap();
    }
}
