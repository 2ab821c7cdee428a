//! Appearance streams for visible signatures and stamps: form XObjects holding text (a subset
//! Type0 font) and images, and the placement of a widget on a possibly rotated page.
//!
//! # Coordinates
//! *User space* is the page's default coordinate system, in which `/Rect` is given. The *visual*
//! frame is the page as displayed: origin at the bottom-left corner of the displayed crop box,
//! x to the right, y up, in points, after the page's `/Rotate` (clockwise) is applied.
//! Appearances are built upright in their own frame (`/BBox [0 0 w h]`); [`place`] returns the
//! user-space `/Rect` for a visual rectangle and the form `/Matrix` that turns the appearance so
//! that it is upright on the displayed page (ISO 32000-2 §12.5.5: the BBox transformed by the
//! Matrix is mapped onto the Rect).

use std::io::Write as _;

use crate::error::{Error, Result};
use crate::font::FontEmbedder;
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::reader::Page;
use crate::writer::{write_hex_string, write_real, IncrementalUpdate};

/// Millimetres to points.
pub fn mm(v: f64) -> f64 {
    v * 72.0 / 25.4
}

/// Default distance of copy/attachment stamps from the right edge of the displayed page (15 mm).
pub const STAMP_MARGIN_RIGHT_PT: f64 = 15.0 * 72.0 / 25.4;
/// Default distance of copy/attachment stamps from the top edge of the displayed page (10 mm).
pub const STAMP_MARGIN_TOP_PT: f64 = 10.0 * 72.0 / 25.4;

/// The identity matrix.
pub const IDENTITY: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// A form XObject built upright with `/BBox [0 0 width height]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Appearance {
    pub xobject: ObjRef,
    pub width: f64,
    pub height: f64,
}

/// Horizontal alignment of the lines of a text block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// How a text block is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Font size in points.
    pub size_pt: f64,
    pub align: Align,
    /// Extra space between lines in points, added to the font's ascent − descent.
    pub line_gap: f64,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            size_pt: 10.0,
            align: Align::Left,
            line_gap: 0.0,
        }
    }
}

/// Where a widget goes: its `/Rect` in user space and the `/Matrix` of its appearance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub rect: [f64; 4],
    pub matrix: [f64; 6],
}

impl Placement {
    /// Write this placement's matrix into `appearance`'s form dictionary.
    pub fn apply(&self, update: &mut IncrementalUpdate, appearance: &Appearance) -> Result<()> {
        set_matrix(update, appearance.xobject, self.matrix)
    }
}

fn num(out: &mut Vec<u8>, v: f64) {
    write_real(out, v);
    out.push(b' ');
}

fn check_size(w: f64, h: f64) -> Result<()> {
    if w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 && w < 1e6 && h < 1e6 {
        Ok(())
    } else {
        Err(Error::Unsupported(
            "appearance size is not a positive finite number",
        ))
    }
}

fn real_array(v: &[f64]) -> Object {
    Object::Array(v.iter().map(|&x| crate::font::pdf_number(x)).collect())
}

/// Write a form XObject `/BBox [0 0 width height]` with `content` (flate-compressed here),
/// `resources` and, if given, `/Matrix`.
pub fn form_xobject(
    update: &mut IncrementalUpdate,
    width: f64,
    height: f64,
    content: &[u8],
    resources: Dict,
    matrix: Option<[f64; 6]>,
) -> ObjRef {
    let mut d = Dict::new();
    d.set("Type", Object::name("XObject"));
    d.set("Subtype", Object::name("Form"));
    d.set("FormType", Object::Int(1));
    d.set("BBox", real_array(&[0.0, 0.0, width, height]));
    if let Some(m) = matrix {
        d.set("Matrix", real_array(&m));
    }
    d.set("Resources", resources);
    d.set("Filter", Object::name("FlateDecode"));
    update.add(Object::Stream(Stream {
        dict: d,
        data: StreamData::Owned(crate::filter::deflate(content)),
    }))
}

/// Set (replace) the `/Matrix` of a form XObject created in this update.
pub fn set_matrix(update: &mut IncrementalUpdate, xobject: ObjRef, matrix: [f64; 6]) -> Result<()> {
    let Some(Object::Stream(mut s)) = update.get(xobject).cloned() else {
        return Err(Error::WrongType {
            expected: "form XObject stream of this update",
            context: "appearance /Matrix",
        });
    };
    s.dict.set("Matrix", real_array(&matrix));
    update.set(xobject, Object::Stream(s));
    Ok(())
}

/// An appearance of `box_w × box_h` points showing the image XObject `image` (of
/// `img_w_px × img_h_px` pixels) scaled to fit, aspect ratio preserved, centred.
pub fn image_box(
    update: &mut IncrementalUpdate,
    image: ObjRef,
    img_w_px: u32,
    img_h_px: u32,
    box_w: f64,
    box_h: f64,
) -> Result<Appearance> {
    check_size(box_w, box_h)?;
    if img_w_px == 0 || img_h_px == 0 {
        return Err(crate::error::ImageError::Empty.into());
    }
    let (iw, ih) = (f64::from(img_w_px), f64::from(img_h_px));
    let scale = (box_w / iw).min(box_h / ih);
    let (sw, sh) = (iw * scale, ih * scale);
    let mut c = b"q ".to_vec();
    for v in [sw, 0.0, 0.0, sh, (box_w - sw) / 2.0, (box_h - sh) / 2.0] {
        num(&mut c, v);
    }
    c.extend_from_slice(b"cm /Im0 Do Q\n");
    let mut xo = Dict::new();
    xo.set("Im0", image);
    let mut res = Dict::new();
    res.set("XObject", xo);
    res.set(
        "ProcSet",
        Object::Array(vec![Object::name("PDF"), Object::name("ImageC")]),
    );
    Ok(Appearance {
        xobject: form_xobject(update, box_w, box_h, &c, res, None),
        width: box_w,
        height: box_h,
    })
}

/// An appearance with `lines` of black upright text, shaped through the embedder's font, in a box
/// of the block's natural size: as wide as the widest line, and `n` lines of
/// `size × (ascent − descent) + line_gap` (minus the last gap) high, extended where the ink of
/// the first or last line goes beyond the ascent or descent. Each line is written as
/// `<CIDs> Tj`. Empty lines keep their space. The font is referenced through
/// [`FontEmbedder::font_ref`]; call [`FontEmbedder::embed`] once all text has been set.
pub fn text_block(
    update: &mut IncrementalUpdate,
    font: &mut FontEmbedder<'_>,
    lines: &[String],
    style: &TextStyle,
) -> Result<Appearance> {
    let size = style.size_pt;
    if !(size.is_finite() && size > 0.0 && size < 10_000.0 && style.line_gap.is_finite()) {
        return Err(Error::Unsupported("text size or line gap out of range"));
    }
    if lines.is_empty() {
        return Err(Error::Unsupported("text block without lines"));
    }
    let program = font.font();
    let (asc, desc) = (program.ascent_em(), program.descent_em());
    let mut shaped = Vec::with_capacity(lines.len());
    for l in lines {
        let g = program.shape(l)?;
        let w = program.glyphs_width(&g, size);
        shaped.push((g, w));
    }
    let width = shaped.iter().map(|(_, w)| *w).fold(0.0, f64::max);
    let advance = size * (asc - desc) + style.line_gap;
    // Stacked Vietnamese diacritics (e.g. "Ễ") may rise above the ascender, or descend below
    // the descender: extend the box so that nothing is clipped.
    let top_pad = shaped.first().map_or(0.0, |(g, _)| {
        (program.ink_extent_em(g).1 - asc).max(0.0) * size
    });
    let bottom_pad = shaped.last().map_or(0.0, |(g, _)| {
        (desc - program.ink_extent_em(g).0).max(0.0) * size
    });
    let height = lines.len() as f64 * advance - style.line_gap + top_pad + bottom_pad;
    check_size(width, height)?;
    let mut c = Vec::new();
    c.extend_from_slice(b"BT\n/F1 ");
    num(&mut c, size);
    c.extend_from_slice(b"Tf\n0 g 0 Tr\n");
    for (i, (glyphs, w)) in shaped.iter().enumerate() {
        if glyphs.is_empty() {
            continue;
        }
        let x = match style.align {
            Align::Left => 0.0,
            Align::Center => (width - w) / 2.0,
            Align::Right => width - w,
        };
        let y = height - top_pad - size * asc - i as f64 * advance;
        c.extend_from_slice(b"1 0 0 1 ");
        num(&mut c, x);
        num(&mut c, y);
        c.extend_from_slice(b"Tm ");
        write_hex_string(&mut c, &font.encode(glyphs));
        c.extend_from_slice(b" Tj\n");
    }
    c.extend_from_slice(b"ET\n");
    let mut fonts = Dict::new();
    fonts.set("F1", font.font_ref(update));
    let mut res = Dict::new();
    res.set("Font", fonts);
    res.set(
        "ProcSet",
        Object::Array(vec![Object::name("PDF"), Object::name("Text")]),
    );
    Ok(Appearance {
        xobject: form_xobject(update, width, height, &c, res, None),
        width,
        height,
    })
}

/// An appearance of `width × height` drawing each part at its lower-left position `[x, y]`
/// (at natural size), e.g. a signature image beside a text block. `matrix` becomes the
/// new form's `/Matrix` (see [`place`]).
pub fn compose(
    update: &mut IncrementalUpdate,
    width: f64,
    height: f64,
    parts: &[(Appearance, [f64; 2])],
    matrix: Option<[f64; 6]>,
) -> Result<Appearance> {
    check_size(width, height)?;
    let mut c = Vec::new();
    let mut xo = Dict::new();
    for (i, (a, [x, y])) in parts.iter().enumerate() {
        let name = format!("Fm{i}");
        c.extend_from_slice(b"q 1 0 0 1 ");
        num(&mut c, *x);
        num(&mut c, *y);
        let _ = writeln!(c, "cm /{name} Do Q");
        xo.set(&name, a.xobject);
    }
    let mut res = Dict::new();
    res.set("XObject", xo);
    Ok(Appearance {
        xobject: form_xobject(update, width, height, &c, res, matrix),
        width,
        height,
    })
}

/// `left` and `right` side by side, `gap` points apart, vertically centred, e.g. a handwritten
/// signature image beside the signer's text block.
pub fn side_by_side(
    update: &mut IncrementalUpdate,
    left: Appearance,
    right: Appearance,
    gap: f64,
) -> Result<Appearance> {
    let gap = if gap.is_finite() { gap.max(0.0) } else { 0.0 };
    let h = left.height.max(right.height);
    let w = left.width + gap + right.width;
    compose(
        update,
        w,
        h,
        &[
            (left, [0.0, (h - left.height) / 2.0]),
            (right, [left.width + gap, (h - right.height) / 2.0]),
        ],
        None,
    )
}

/// The size of the displayed page (crop box after `/Rotate`), in points.
pub fn visual_size(page: &Page) -> (f64, f64) {
    let [x0, y0, x1, y1] = page.crop_box;
    let (w, h) = (x1 - x0, y1 - y0);
    match page.rotate {
        90 | 270 => (h, w),
        _ => (w, h),
    }
}

/// A point of user space in the visual frame.
pub fn user_to_visual(page: &Page, [x, y]: [f64; 2]) -> [f64; 2] {
    let [x0, y0, x1, y1] = page.crop_box;
    match page.rotate {
        90 => [y - y0, x1 - x],
        180 => [x1 - x, y1 - y],
        270 => [y1 - y, x - x0],
        _ => [x - x0, y - y0],
    }
}

/// A point of the visual frame in user space.
pub fn visual_to_user(page: &Page, [u, v]: [f64; 2]) -> [f64; 2] {
    let [x0, y0, x1, y1] = page.crop_box;
    match page.rotate {
        90 => [x1 - v, y0 + u],
        180 => [x1 - u, y1 - v],
        270 => [x0 + v, y1 - u],
        _ => [x0 + u, y0 + v],
    }
}

fn map_rect(r: [f64; 4], f: impl Fn([f64; 2]) -> [f64; 2]) -> [f64; 4] {
    let [a0, b0] = f([r[0], r[1]]);
    let [a1, b1] = f([r[2], r[3]]);
    [a0.min(a1), b0.min(b1), a0.max(a1), b0.max(b1)]
}

/// A user-space rectangle `[llx lly urx ury]` in the visual frame (normalised).
pub fn user_to_visual_rect(page: &Page, r: [f64; 4]) -> [f64; 4] {
    map_rect(r, |p| user_to_visual(page, p))
}

/// A visual rectangle in user space (normalised).
pub fn visual_to_user_rect(page: &Page, r: [f64; 4]) -> [f64; 4] {
    map_rect(r, |p| visual_to_user(page, p))
}

/// The form `/Matrix` that shows an appearance of `w × h` (BBox `[0 0 w h]`) upright on a page
/// with `/Rotate rotate`; the transformed BBox starts at the origin.
pub fn rotation_matrix(rotate: u16, w: f64, h: f64) -> [f64; 6] {
    match rotate {
        // The form's x axis must run along visual x (user +y), its y axis along visual y
        // (user −x).
        90 => [0.0, 1.0, -1.0, 0.0, h, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0, w, h],
        270 => [0.0, -1.0, 1.0, 0.0, 0.0, w],
        _ => IDENTITY,
    }
}

/// The widget `/Rect` (user space) for `visual_rect` on `page`, and the `/Matrix` that makes an
/// appearance of the same visual size (`/BBox [0 0 w h]`, `w`, `h` the visual width and height
/// of the rectangle) upright on the displayed page.
pub fn place(page: &Page, visual_rect: [f64; 4]) -> Placement {
    let [a, b, c, d] = visual_rect;
    let (w, h) = ((c - a).abs(), (d - b).abs());
    Placement {
        rect: visual_to_user_rect(page, visual_rect),
        matrix: rotation_matrix(page.rotate, w, h),
    }
}

/// A visual rectangle of `w × h` at the top right of the displayed page, `margin_right_pt` from
/// its right edge and `margin_top_pt` from its top edge (see [`STAMP_MARGIN_RIGHT_PT`],
/// [`STAMP_MARGIN_TOP_PT`]).
pub fn top_right(
    page: &Page,
    w: f64,
    h: f64,
    margin_right_pt: f64,
    margin_top_pt: f64,
) -> [f64; 4] {
    let (vw, vh) = visual_size(page);
    let (x1, y1) = (vw - margin_right_pt, vh - margin_top_pt);
    [x1 - w, y1 - h, x1, y1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::FontProgram;

    fn page(rotate: u16, crop: [f64; 4]) -> Page {
        Page {
            id: ObjRef::new(3, 0),
            dict: Dict::new(),
            media_box: crop,
            crop_box: crop,
            rotate,
            resources: None,
        }
    }

    fn apply(m: [f64; 6], [p, q]: [f64; 2]) -> [f64; 2] {
        [m[0] * p + m[2] * q + m[4], m[1] * p + m[3] * q + m[5]]
    }

    #[test]
    fn visual_and_user_round_trip() {
        for rot in [0, 90, 180, 270] {
            let pg = page(rot, [10.0, 20.0, 605.0, 862.0]);
            for p in [[10.0, 20.0], [605.0, 862.0], [100.0, 700.0]] {
                let v = user_to_visual(&pg, p);
                let back = visual_to_user(&pg, v);
                assert!((back[0] - p[0]).abs() < 1e-9 && (back[1] - p[1]).abs() < 1e-9);
            }
            let (vw, vh) = visual_size(&pg);
            let all = user_to_visual_rect(&pg, pg.crop_box);
            assert_eq!(all, [0.0, 0.0, vw, vh], "rotate {rot}");
        }
    }

    #[test]
    fn visual_frame_orientation() {
        // Rotate 90 (clockwise): the user-space bottom-left corner is shown top-left.
        let pg = page(90, [0.0, 0.0, 595.0, 842.0]);
        assert_eq!(visual_size(&pg), (842.0, 595.0));
        assert_eq!(user_to_visual(&pg, [0.0, 0.0]), [0.0, 595.0]);
        let pg = page(270, [0.0, 0.0, 595.0, 842.0]);
        assert_eq!(user_to_visual(&pg, [0.0, 0.0]), [842.0, 0.0]);
        let pg = page(180, [0.0, 0.0, 595.0, 842.0]);
        assert_eq!(user_to_visual(&pg, [0.0, 0.0]), [595.0, 842.0]);
    }

    #[test]
    fn placement_matrix_keeps_the_appearance_upright() {
        for rot in [0, 90, 180, 270] {
            let pg = page(rot, [0.0, 0.0, 595.0, 842.0]);
            let (w, h) = (120.0, 40.0);
            let vr = top_right(&pg, w, h, STAMP_MARGIN_RIGHT_PT, STAMP_MARGIN_TOP_PT);
            let pl = place(&pg, vr);
            // The BBox transformed by the Matrix has the size of the Rect (no scaling).
            let corners = [[0.0, 0.0], [w, 0.0], [0.0, h], [w, h]].map(|p| apply(pl.matrix, p));
            let xs = corners.map(|c| c[0]);
            let ys = corners.map(|c| c[1]);
            let bw = xs.iter().cloned().fold(f64::MIN, f64::max)
                - xs.iter().cloned().fold(f64::MAX, f64::min);
            let bh = ys.iter().cloned().fold(f64::MIN, f64::max)
                - ys.iter().cloned().fold(f64::MAX, f64::min);
            assert!(
                (bw - (pl.rect[2] - pl.rect[0])).abs() < 1e-9,
                "rotate {rot}"
            );
            assert!(
                (bh - (pl.rect[3] - pl.rect[1])).abs() < 1e-9,
                "rotate {rot}"
            );
            // The form's x and y axes run along visual x and y.
            let o = user_to_visual(&pg, apply(pl.matrix, [0.0, 0.0]));
            let ex = user_to_visual(&pg, apply(pl.matrix, [1.0, 0.0]));
            let ey = user_to_visual(&pg, apply(pl.matrix, [0.0, 1.0]));
            assert!((ex[0] - o[0] - 1.0).abs() < 1e-9 && (ex[1] - o[1]).abs() < 1e-9);
            assert!((ey[0] - o[0]).abs() < 1e-9 && (ey[1] - o[1] - 1.0).abs() < 1e-9);
            // And the Rect is where the visual rectangle is.
            assert_eq!(user_to_visual_rect(&pg, pl.rect), vr);
        }
    }

    #[test]
    fn top_right_uses_the_displayed_page() {
        let pg = page(90, [0.0, 0.0, 595.0, 842.0]);
        let r = top_right(&pg, 100.0, 50.0, 10.0, 20.0);
        assert_eq!(r, [732.0, 525.0, 832.0, 575.0]);
        assert!((mm(25.4) - 72.0).abs() < 1e-12);
    }

    fn content(up: &IncrementalUpdate, r: ObjRef) -> (Dict, String) {
        let s = up.get(r).unwrap().as_stream().unwrap();
        let StreamData::Owned(z) = &s.data else {
            panic!()
        };
        let raw = crate::filter::inflate(z, 1 << 20).unwrap();
        (s.dict.clone(), String::from_utf8(raw).unwrap())
    }

    #[test]
    fn image_box_fits_and_centres() {
        let mut up = crate::test_support::one_page_update(0);
        let img = ObjRef::new(99, 0);
        let a = image_box(&mut up, img, 200, 100, 100.0, 100.0).unwrap();
        assert_eq!((a.width, a.height), (100.0, 100.0));
        let (d, c) = content(&up, a.xobject);
        assert_eq!(c, "q 100.0 0.0 0.0 50.0 0.0 25.0 cm /Im0 Do Q\n");
        assert_eq!(d.get_name("Subtype").unwrap(), "Form");
        assert!(image_box(&mut up, img, 0, 1, 1.0, 1.0).is_err());
        assert!(image_box(&mut up, img, 1, 1, 0.0, 1.0).is_err());
        assert!(image_box(&mut up, img, 1, 1, f64::NAN, 1.0).is_err());
    }

    #[test]
    fn text_block_lines_and_alignment() {
        let f = FontProgram::liberation_serif_regular().unwrap();
        let mut e = FontEmbedder::new(&f);
        let mut up = crate::test_support::one_page_update(0);
        let lines = vec!["SAO Y".to_owned(), "Nguyễn Văn An".to_owned()];
        let style = TextStyle {
            align: Align::Right,
            line_gap: 2.0,
            ..TextStyle::default()
        };
        let a = text_block(&mut up, &mut e, &lines, &style).unwrap();
        let w2 = f.width("Nguyễn Văn An", 10.0).unwrap();
        assert!((a.width - w2).abs() < 1e-9);
        let adv = 10.0 * (f.ascent_em() - f.descent_em()) + 2.0;
        assert!((a.height - (2.0 * adv - 2.0)).abs() < 1e-9);
        // "Ễ" (1854 units high) rises above the ascender (1825): the box grows by 29 units.
        let b = text_block(&mut up, &mut e, &["Ễ".to_owned()], &style).unwrap();
        let one = 10.0 * (f.ascent_em() - f.descent_em());
        assert!(
            (b.height - one - 10.0 * 29.0 / 2048.0).abs() < 1e-9,
            "{}",
            b.height
        );
        let (d, c) = content(&up, a.xobject);
        assert!(c.starts_with("BT\n/F1 10.0 Tf\n0 g 0 Tr\n"), "{c}");
        assert_eq!(c.matches(" Tj\n").count(), 2);
        // The second line is the widest: it starts at x = 0.
        assert!(c.contains("1 0 0 1 0.0 "), "{c}");
        // CIDs are assigned in order of use: S=1, A=2, O=3, space=4, Y=5.
        assert!(c.contains("<00010002000300040005> Tj"), "{c}");
        let fr = e.font_ref(&mut up);
        let res = d.get("Resources").unwrap().as_dict().unwrap();
        assert_eq!(
            res.get("Font").unwrap().as_dict().unwrap().get("F1"),
            Some(&Object::Ref(fr))
        );
        assert_eq!(e.embed(&mut up).unwrap(), fr);
        assert!(text_block(&mut up, &mut e, &[], &style).is_err());
        assert!(text_block(&mut up, &mut e, &["\u{4E2D}".to_owned()], &style).is_err());
    }

    #[test]
    fn compose_and_matrix() {
        let mut up = crate::test_support::one_page_update(0);
        let a = image_box(&mut up, ObjRef::new(99, 0), 1, 1, 10.0, 10.0).unwrap();
        let m = rotation_matrix(90, 30.0, 10.0);
        let c = compose(&mut up, 30.0, 10.0, &[(a, [20.0, 0.0])], Some(m)).unwrap();
        let (d, s) = content(&up, c.xobject);
        assert_eq!(s, "q 1 0 0 1 20.0 0.0 cm /Fm0 Do Q\n");
        assert_eq!(
            d.get("Matrix"),
            Some(&real_array(&[0.0, 1.0, -1.0, 0.0, 10.0, 0.0]))
        );
        set_matrix(&mut up, a.xobject, rotation_matrix(180, 10.0, 10.0)).unwrap();
        let (d, _) = content(&up, a.xobject);
        assert_eq!(
            d.get("Matrix"),
            Some(&real_array(&[-1.0, 0.0, 0.0, -1.0, 10.0, 10.0]))
        );
        assert!(set_matrix(&mut up, ObjRef::new(1, 0), IDENTITY).is_err());
        let b = image_box(&mut up, ObjRef::new(99, 0), 1, 1, 4.0, 20.0).unwrap();
        let s = side_by_side(&mut up, a, b, 3.0).unwrap();
        assert_eq!((s.width, s.height), (17.0, 20.0));
        let (_, c) = content(&up, s.xobject);
        assert_eq!(
            c,
            "q 1 0 0 1 0.0 5.0 cm /Fm0 Do Q\nq 1 0 0 1 13.0 0.0 cm /Fm1 Do Q\n"
        );
    }
}
