//! AcroForm text fields (ISO 32000-2 §12.7.5.3): the merged field/widget dictionary of a
//! single-line field and its appearance streams, with text set in an embedded subset of a
//! TrueType font (Vietnamese included) rather than a standard 14 font, which has no
//! Vietnamese glyphs.
//!
//! The appearance is built upright for pages without `/Rotate`; the widget's `/Rect` is in
//! the page's default user space.

use std::io::Write as _;

use crate::appearance::{form_xobject, Align};
use crate::error::{Error, Result};
use crate::font::{FontEmbedder, FontProgram};
use crate::object::{Dict, ObjRef, Object};
use crate::writer::{text_string, write_hex_string, write_real, IncrementalUpdate};

/// The name of the field font in the AcroForm's `/DR` and in the fields' `/DA`.
pub const FIELD_FONT: &str = "KysoSerif";

/// Characters the `/DR` font carries, so that a viewer regenerating an appearance can show
/// numbers, notations and dates: printable ASCII and the Vietnamese letters.
pub const FIELD_FONT_CHARS: &str = concat!(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`",
    "abcdefghijklmnopqrstuvwxyz{|}~",
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ",
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ",
);

/// How a field's text is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldStyle {
    /// Font size in points.
    pub size_pt: f64,
    /// Horizontal alignment (`/Q`).
    pub align: Align,
    /// A background painted under the text (`/MK /BG`), in DeviceRGB; `None` leaves what
    /// lies beneath visible.
    pub background: Option<[f64; 3]>,
}

fn num(out: &mut Vec<u8>, v: f64) {
    write_real(out, v);
    out.push(b' ');
}

fn real_array(v: &[f64]) -> Object {
    Object::Array(v.iter().map(|&x| crate::font::pdf_number(x)).collect())
}

fn quadding(align: Align) -> i64 {
    match align {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

/// The merged field/widget dictionary of a single-line text field `name` on page `page` at
/// `rect` (user space), printable, with `/DA` naming [`FIELD_FONT`] and the appearance
/// `appearance` (`/AP /N`). `value`, when given, becomes `/V`.
pub fn text_field(
    name: &str,
    page: ObjRef,
    rect: [f64; 4],
    style: &FieldStyle,
    value: Option<&str>,
    appearance: ObjRef,
) -> Dict {
    let mut f = Dict::new();
    f.set("Type", Object::name("Annot"));
    f.set("Subtype", Object::name("Widget"));
    f.set("FT", Object::name("Tx"));
    f.set("T", text_string(name));
    f.set("F", Object::Int(4)); // Print
    f.set("Ff", Object::Int(1 << 23)); // DoNotSpellCheck
    f.set("P", Object::Ref(page));
    f.set("Rect", real_array(&rect));
    let size = (style.size_pt * 100.0).round() / 100.0;
    let mut da = Vec::new();
    let _ = write!(da, "/{FIELD_FONT} {size} Tf 0 g");
    f.set("DA", Object::string(da));
    f.set("Q", Object::Int(quadding(style.align)));
    if let Some(bg) = style.background {
        let mut mk = Dict::new();
        mk.set("BG", real_array(&bg));
        f.set("MK", mk);
    }
    if let Some(v) = value {
        f.set("V", text_string(v));
    }
    let mut ap = Dict::new();
    ap.set("N", Object::Ref(appearance));
    f.set("AP", ap);
    f
}

/// The normal appearance of a text field of `width × height` points showing `text` (one
/// line, shaped through `font`, vertically centred, aligned as `style` says with a 2 pt
/// padding, shrunk to fit the width), over `style.background` when given. An empty `text`
/// gives the empty appearance (`/Tx BMC EMC`, plus the background). The font is referenced
/// through [`FontEmbedder::font_ref`]; call [`FontEmbedder::embed`] once all text is set.
pub fn text_appearance(
    update: &mut IncrementalUpdate,
    font: &mut FontEmbedder<'_>,
    width: f64,
    height: f64,
    text: &str,
    style: &FieldStyle,
) -> Result<ObjRef> {
    if !(width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0)
        || width > 1e5
        || height > 1e5
        || !(style.size_pt.is_finite() && style.size_pt > 0.0 && style.size_pt < 1000.0)
    {
        return Err(Error::Unsupported("text field size out of range"));
    }
    let mut c = Vec::new();
    if let Some([r, g, b]) = style.background {
        for v in [r, g, b] {
            num(&mut c, v);
        }
        c.extend_from_slice(b"rg 0 0 ");
        num(&mut c, width);
        num(&mut c, height);
        c.extend_from_slice(b"re f\n");
    }
    c.extend_from_slice(b"/Tx BMC\n");
    let mut res = Dict::new();
    if !text.is_empty() {
        const PAD: f64 = 2.0;
        let program = font.font();
        let glyphs = program.shape(text)?;
        let natural = program.glyphs_width(&glyphs, style.size_pt);
        let room = (width - 2.0 * PAD).max(1.0);
        let size = if natural > room {
            style.size_pt * room / natural
        } else {
            style.size_pt
        };
        let w = program.glyphs_width(&glyphs, size);
        let x = match style.align {
            Align::Left => PAD,
            Align::Center => (width - w) / 2.0,
            Align::Right => width - PAD - w,
        };
        let (asc, desc) = (program.ascent_em(), program.descent_em());
        let y = (height - size * (asc - desc)) / 2.0 - size * desc;
        c.extend_from_slice(b"q BT\n/F1 ");
        num(&mut c, size);
        c.extend_from_slice(b"Tf 0 g\n");
        num(&mut c, x);
        num(&mut c, y);
        c.extend_from_slice(b"Td ");
        write_hex_string(&mut c, &font.encode(&glyphs));
        c.extend_from_slice(b" Tj\nET Q\n");
        let mut fonts = Dict::new();
        fonts.set("F1", font.font_ref(update));
        res.set("Font", fonts);
    }
    c.extend_from_slice(b"EMC\n");
    Ok(form_xobject(update, width, height, &c, res, None))
}

/// Embed the field font ([`FIELD_FONT_CHARS`] of `program`) in `update` and return its
/// reference, for the AcroForm's `/DR /Font /`[`FIELD_FONT`].
pub fn field_font(update: &mut IncrementalUpdate, program: &FontProgram) -> Result<ObjRef> {
    let mut embedder = FontEmbedder::new(program);
    let glyphs = program.shape(FIELD_FONT_CHARS)?;
    embedder.encode(&glyphs);
    embedder.embed(update)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_field_font_covers_vietnamese_and_the_field_names_it() {
        let program = FontProgram::liberation_serif_regular().unwrap();
        let mut u = IncrementalUpdate::new_document();
        let font = field_font(&mut u, &program).unwrap();
        assert!(u.get(font).is_some());
        let style = FieldStyle {
            size_pt: 13.0,
            align: Align::Right,
            background: Some([1.0, 1.0, 1.0]),
        };
        let mut emb = FontEmbedder::new(&program);
        let ap = text_appearance(&mut u, &mut emb, 60.0, 16.0, "15/QĐ-UBND", &style).unwrap();
        emb.embed(&mut u).unwrap();
        let f = text_field(
            "so",
            ObjRef::new(3, 0),
            [1.0, 2.0, 61.0, 18.0],
            &style,
            Some("15"),
            ap,
        );
        assert_eq!(
            f.get("DA").and_then(Object::as_string),
            Some(&b"/KysoSerif 13 Tf 0 g"[..])
        );
        assert_eq!(f.get_int("Q"), Some(2));
        assert_eq!(f.get("V").and_then(Object::as_string), Some(&b"15"[..]));
        // Text wider than the field is shrunk, never refused; an empty one is the empty form.
        let mut emb = FontEmbedder::new(&program);
        text_appearance(
            &mut u,
            &mut emb,
            10.0,
            16.0,
            "ngày 06 tháng 12 năm 2026",
            &style,
        )
        .unwrap();
        text_appearance(&mut u, &mut emb, 10.0, 16.0, "", &style).unwrap();
        assert!(text_appearance(&mut u, &mut emb, 0.0, 16.0, "1", &style).is_err());
    }
}
