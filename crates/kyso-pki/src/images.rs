//! Demo images for visible signatures: a blue handwritten-style signature and a red round seal.
//!
//! Both are RGBA PNGs with real transparency and a `pHYs` chunk (300 dpi). They are drawn by
//! the small rasterizer in `raster` and are deterministic: the same bytes on every run.

use std::f64::consts::PI;

use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlinePen};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider};
use unicode_normalization::UnicodeNormalization;

use crate::raster::{cubic, quad, Mask, Pt};
use crate::{Error, Result};

/// The font used for the seal lettering (Liberation Serif Bold, SIL OFL).
const FONT: &[u8] = include_bytes!("../../kyso-pdf/assets/fonts/LiberationSerif-Bold.ttf");

/// Resolution written in the `pHYs` chunk of both images.
pub const DPI: u32 = 300;
/// Ink colour of the signature.
pub const SIGNATURE_RGB: [u8; 3] = [0, 51, 170];
/// Ink colour of the seal.
pub const SEAL_RGB: [u8; 3] = [210, 0, 0];
/// Size of the signature image in pixels.
pub const SIGNATURE_SIZE: (u32, u32) = (600, 240);
/// Real diameter of the seal.
pub const SEAL_DIAMETER_MM: f64 = 40.0;
/// Text along the top of the demo seal.
pub const SEAL_TOP: &str = "SỞ KHOA HỌC VÀ CÔNG NGHỆ";
/// Text along the bottom of the demo seal.
pub const SEAL_BOTTOM: &str = "TỈNH DEMO";

/// Seal diameter in pixels at [`DPI`].
pub fn seal_size_px() -> u32 {
    (SEAL_DIAMETER_MM / 25.4 * f64::from(DPI)).round() as u32
}

/// The demo handwritten signature (PNG bytes).
pub fn signature_png() -> Result<Vec<u8>> {
    signature_mask().to_png(SIGNATURE_RGB, DPI)
}

fn signature_mask() -> Mask {
    let (w, h) = SIGNATURE_SIZE;
    let mut m = Mask::new(w as usize, h as usize);

    // 1. A cursive chain of loops (a prolate trochoid) whose height and pressure vary: pen
    //    strokes are heavier going down, lighter going up, and taper at both ends.
    let n = 900;
    let loops = 4.5;
    let omega = 2.0 * PI * loops;
    let mut pts: Vec<Pt> = Vec::with_capacity(n + 1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let env = 1.0 - 0.45 * t + 0.18 * (3.0 * PI * t).sin();
        let x = 70.0 + 360.0 * t - 26.0 * (omega * t).sin();
        let y = 118.0 - 58.0 * env * (omega * t).cos() + 18.0 * t;
        pts.push((x, y));
    }
    let mut stroke: Vec<(Pt, f64)> = Vec::with_capacity(pts.len());
    for (i, p) in pts.iter().enumerate() {
        let t = i as f64 / n as f64;
        let prev = pts.get(i.saturating_sub(1)).copied().unwrap_or(*p);
        let next = pts.get(i + 1).copied().unwrap_or(*p);
        let (dx, dy) = (next.0 - prev.0, next.1 - prev.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let down = (dy / len).max(0.0);
        let taper = (PI * t).sin().powf(0.35);
        stroke.push((*p, (1.4 + 3.0 * down) * taper + 0.5));
    }
    m.polyline(&stroke);

    // 2. An entry stroke leading into the first loop.
    let mut entry = vec![(30.0, 190.0)];
    cubic(
        (30.0, 190.0),
        (45.0, 150.0),
        (60.0, 110.0),
        (70.0, 60.0),
        60,
        &mut entry,
    );
    m.polyline(&taper(&entry, 0.6, 2.8, 0.6));

    // 3. A flourish underline sweeping back under the name.
    let mut under = vec![(470.0, 110.0)];
    cubic(
        (470.0, 110.0),
        (560.0, 150.0),
        (520.0, 230.0),
        (330.0, 205.0),
        120,
        &mut under,
    );
    cubic(
        (330.0, 205.0),
        (200.0, 188.0),
        (90.0, 200.0),
        (40.0, 222.0),
        120,
        &mut under,
    );
    m.polyline(&taper(&under, 0.7, 3.4, 0.5));

    // 4. A quick cross stroke and a dot, as in many Vietnamese signatures.
    let mut cross = vec![(300.0, 62.0)];
    quad((300.0, 62.0), (380.0, 30.0), (470.0, 52.0), 40, &mut cross);
    m.polyline(&taper(&cross, 0.5, 2.2, 0.5));
    m.capsule((505.0, 92.0), 3.6, (508.0, 96.0), 2.8);
    m
}

/// Give a polyline a pressure profile: `start` and `end` radii, `peak` in the middle.
fn taper(pts: &[Pt], start: f64, peak: f64, end: f64) -> Vec<(Pt, f64)> {
    let n = pts.len().saturating_sub(1).max(1) as f64;
    pts.iter()
        .enumerate()
        .map(|(i, p)| {
            let t = i as f64 / n;
            let bell = (PI * t).sin();
            let base = start + (end - start) * t;
            (*p, base + (peak - base) * bell)
        })
        .collect()
}

/// The demo seal of "Sở Khoa học và Công nghệ tỉnh Demo" (PNG bytes).
pub fn seal_png() -> Result<Vec<u8>> {
    seal_png_with(SEAL_TOP, SEAL_BOTTOM)
}

/// A round seal with `top` written along the upper arc and `bottom` along the lower one.
/// Both are upper-cased; every character must exist in the bundled font.
pub fn seal_png_with(top: &str, bottom: &str) -> Result<Vec<u8>> {
    seal_mask(top, bottom)?.to_png(SEAL_RGB, DPI)
}

fn seal_mask(top: &str, bottom: &str) -> Result<Mask> {
    let face = FontRef::new(FONT).map_err(|e| Error::Image(format!("font: {e}")))?;
    let size = seal_size_px();
    let mut m = Mask::new(size as usize, size as usize);
    let d = f64::from(size);
    let c = (d / 2.0, d / 2.0);
    let scale = d / 472.0;

    // Rings: a thick outer ring and a thin inner one.
    m.ring(c, d / 2.0 - 9.0 * scale, 12.0 * scale);
    m.ring(c, d / 2.0 - 62.0 * scale, 3.5 * scale);

    // Lettering in the band between the rings.
    let font_px = 40.0 * scale;
    let upem = f64::from(
        face.head()
            .map_err(|e| Error::Image(format!("font: {e}")))?
            .units_per_em(),
    );
    let s = font_px / upem;
    let cap_units = face.os2().ok().and_then(|o| o.s_cap_height());
    let cap = f64::from(cap_units.unwrap_or(1409)) * s;
    let spacing = 3.0 * scale;
    let inner = d / 2.0 - 62.0 * scale + 6.0 * scale;
    let outer = d / 2.0 - 15.0 * scale - 5.0 * scale;

    let top_glyphs = shape(&face, top)?;
    let bottom_glyphs = shape(&face, bottom)?;

    // Top: clockwise, glyph tops pointing outward, baseline just outside the inner ring.
    let top_base = inner + 4.0 * scale;
    let top_mid = top_base + cap / 2.0;
    let top_span = arc_span(&top_glyphs, s, spacing, top_mid);
    let mut x = 0.0;
    for g in &top_glyphs {
        let adv = g.advance * s;
        let phi = -top_span / 2.0 + (x + adv / 2.0) / top_mid;
        let (sin, cos) = phi.sin_cos();
        let origin = (c.0 + top_base * sin, c.1 - top_base * cos);
        let tangent = (cos, sin);
        let up = (sin, -cos);
        place(&mut m, &g.contours, g.advance, s, origin, tangent, up);
        x += adv + spacing;
    }

    // Bottom: left to right, glyph tops pointing to the centre, baseline near the outer ring.
    let bottom_base = outer - 2.0 * scale;
    let bottom_mid = bottom_base - cap / 2.0;
    let bottom_span = arc_span(&bottom_glyphs, s, spacing, bottom_mid);
    let mut x = 0.0;
    for g in &bottom_glyphs {
        let adv = g.advance * s;
        let alpha = PI + bottom_span / 2.0 - (x + adv / 2.0) / bottom_mid;
        let (sin, cos) = alpha.sin_cos();
        let origin = (c.0 + bottom_base * sin, c.1 - bottom_base * cos);
        let tangent = (-cos, -sin);
        let up = (-sin, cos);
        place(&mut m, &g.contours, g.advance, s, origin, tangent, up);
        x += adv + spacing;
    }

    // Small stars in the two gaps between the texts.
    let gap = (top_span / 2.0 + PI - bottom_span / 2.0) / 2.0;
    let band_mid = (inner + outer) / 2.0;
    for a in [gap, -gap] {
        let (sin, cos) = f64::sin_cos(a);
        m.fill(&[star(
            (c.0 + band_mid * sin, c.1 - band_mid * cos),
            9.0 * scale,
        )]);
    }

    // The big star in the centre.
    m.fill(&[star(c, 64.0 * scale)]);
    Ok(m)
}

/// Total angle covered by a run of glyphs at radius `r`.
fn arc_span(glyphs: &[Glyph], s: f64, spacing: f64, r: f64) -> f64 {
    let width: f64 = glyphs.iter().map(|g| g.advance * s).sum::<f64>()
        + spacing * glyphs.len().saturating_sub(1) as f64;
    width / r
}

/// A five-pointed star, point up.
fn star(c: Pt, r: f64) -> Vec<Pt> {
    let inner = r * 0.382;
    (0..10)
        .map(|k| {
            let a = f64::from(k) * PI / 5.0;
            let rr = if k % 2 == 0 { r } else { inner };
            (c.0 + rr * a.sin(), c.1 - rr * a.cos())
        })
        .collect()
}

/// A glyph outline flattened to polygons in font units (y up).
struct Glyph {
    contours: Vec<Vec<Pt>>,
    advance: f64,
}

/// Outline every character of `text` (NFC, upper case) with the font's own glyphs.
fn shape(face: &FontRef<'_>, text: &str) -> Result<Vec<Glyph>> {
    let text: String = text.to_uppercase().nfc().collect();
    let charmap = face.charmap();
    let hmtx = face.hmtx().ok();
    let outlines = face.outline_glyphs();
    let settings = || DrawSettings::unhinted(Size::unscaled(), LocationRef::default());
    let mut out = Vec::new();
    for ch in text.chars() {
        let id = charmap
            .map(ch)
            .filter(|g| g.to_u32() != 0)
            .ok_or_else(|| Error::Image(format!("the seal font has no glyph for {ch:?}")))?;
        let advance = f64::from(hmtx.as_ref().and_then(|h| h.advance(id)).unwrap_or(0));
        let mut b = Flatten::default();
        // Spaces and other blank glyphs have no outline.
        if let Some(outline) = outlines.get(id) {
            let _ = outline.draw(settings(), &mut b);
        }
        b.finish();
        out.push(Glyph {
            contours: b.contours,
            advance,
        });
    }
    Ok(out)
}

/// Draw a glyph whose baseline centre lies at `origin`, along `tangent`, tops towards `up`.
fn place(
    m: &mut Mask,
    contours: &[Vec<Pt>],
    advance: f64,
    s: f64,
    origin: Pt,
    tangent: Pt,
    up: Pt,
) {
    let polys: Vec<Vec<Pt>> = contours
        .iter()
        .map(|c| {
            c.iter()
                .map(|(gx, gy)| {
                    let lx = (gx - advance / 2.0) * s;
                    let ly = gy * s;
                    (
                        origin.0 + lx * tangent.0 + ly * up.0,
                        origin.1 + lx * tangent.1 + ly * up.1,
                    )
                })
                .collect()
        })
        .collect();
    m.fill(&polys);
}

/// Collects a glyph outline as flattened closed polygons.
#[derive(Default)]
struct Flatten {
    contours: Vec<Vec<Pt>>,
    current: Vec<Pt>,
}

impl Flatten {
    fn last(&self) -> Pt {
        self.current.last().copied().unwrap_or((0.0, 0.0))
    }
    fn finish(&mut self) {
        if self.current.len() > 2 {
            self.contours.push(std::mem::take(&mut self.current));
        } else {
            self.current.clear();
        }
    }
}

impl OutlinePen for Flatten {
    fn move_to(&mut self, x: f32, y: f32) {
        self.finish();
        self.current.push((f64::from(x), f64::from(y)));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.current.push((f64::from(x), f64::from(y)));
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let p0 = self.last();
        let p1 = (f64::from(x1), f64::from(y1));
        let p2 = (f64::from(x), f64::from(y));
        quad(p0, p1, p2, 8, &mut self.current);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let p0 = self.last();
        let p1 = (f64::from(x1), f64::from(y1));
        let p2 = (f64::from(x2), f64::from(y2));
        let p3 = (f64::from(x), f64::from(y));
        cubic(p0, p1, p2, p3, 10, &mut self.current);
    }
    fn close(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Decoded {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
        ppm: Option<(u32, u32, png::Unit)>,
    }

    fn decode(bytes: &[u8]) -> Decoded {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let ppm = reader.info().pixel_dims.map(|p| (p.xppu, p.yppu, p.unit));
        buf.truncate(info.buffer_size());
        Decoded {
            width: info.width,
            height: info.height,
            rgba: buf,
            ppm,
        }
    }

    fn alpha(d: &Decoded, x: u32, y: u32) -> u8 {
        d.rgba[((y * d.width + x) * 4 + 3) as usize]
    }

    fn check_common(d: &Decoded, rgb: [u8; 3]) {
        assert_eq!(d.ppm, Some((11811, 11811, png::Unit::Meter)), "300 dpi");
        let mut opaque = 0;
        let mut partial = 0;
        let mut clear = 0;
        for px in d.rgba.chunks(4) {
            match px[3] {
                0 => clear += 1,
                255 => opaque += 1,
                _ => partial += 1,
            }
            if px[3] > 0 {
                assert_eq!(&px[..3], &rgb);
            }
        }
        assert!(clear > opaque, "mostly transparent");
        assert!(opaque > 500, "has solid ink");
        assert!(partial > 300, "anti-aliased edges");
    }

    #[test]
    fn signature_is_transparent_blue_at_300_dpi() {
        let d = decode(&signature_png().unwrap());
        assert_eq!((d.width, d.height), SIGNATURE_SIZE);
        check_common(&d, SIGNATURE_RGB);
        assert_eq!(alpha(&d, 0, 0), 0);
        assert_eq!(alpha(&d, 599, 0), 0);
    }

    #[test]
    fn seal_is_a_transparent_red_disc_of_40_mm() {
        let d = decode(&seal_png().unwrap());
        assert_eq!(seal_size_px(), 472);
        assert_eq!((d.width, d.height), (472, 472));
        check_common(&d, SEAL_RGB);
        // Corners (outside the circle) are transparent, the outer ring is ink, the centre
        // is the star.
        assert_eq!(alpha(&d, 0, 0), 0);
        assert_eq!(alpha(&d, 471, 471), 0);
        assert_eq!(alpha(&d, 236, 5), 255);
        assert_eq!(alpha(&d, 236, 236), 255);
        // Between the inner ring and the star there is blank paper.
        assert_eq!(alpha(&d, 236 + 120, 236), 0);
    }

    #[test]
    fn images_are_deterministic() {
        assert_eq!(signature_png().unwrap(), signature_png().unwrap());
        assert_eq!(seal_png().unwrap(), seal_png().unwrap());
    }

    #[test]
    fn vietnamese_letters_have_glyphs_with_diacritics() {
        let face = FontRef::new(FONT).unwrap();
        for text in [SEAL_TOP, SEAL_BOTTOM, "ĐẮK LẮK", "THỪA THIÊN HUẾ"] {
            let glyphs = shape(&face, text).unwrap();
            assert_eq!(glyphs.len(), text.nfc().count());
        }
        // "Ở" is taller than "O": the hook above is drawn.
        let top = |t: &str| {
            shape(&face, t).unwrap()[0]
                .contours
                .iter()
                .flatten()
                .map(|p| p.1)
                .fold(f64::MIN, f64::max)
        };
        assert!(top("Ở") > top("O") + 100.0);
        // Decomposed input is composed first.
        let decomposed = "O\u{31B}\u{309}";
        assert_eq!(shape(&face, decomposed).unwrap().len(), 1);
    }

    #[test]
    fn missing_glyph_is_an_error() {
        assert!(seal_png_with("中文", "X").is_err());
    }
}
