//! A tiny deterministic anti-aliased rasterizer: enough for the demo signature and seal.
//!
//! Shapes paint a coverage mask (0.0 ..= 1.0 per pixel); overlapping shapes combine with
//! `max`, so strokes never darken where they cross. Pure arithmetic on `f64`, no clock, no
//! randomness: the same input gives the same bytes.

use crate::{Error, Result};

/// A point in pixel coordinates (x right, y down; pixel centres at `n + 0.5`).
pub(crate) type Pt = (f64, f64);

/// A coverage mask.
#[derive(Debug, Clone)]
pub(crate) struct Mask {
    width: usize,
    height: usize,
    cov: Vec<f32>,
}

/// Vertical and horizontal samples per pixel when filling polygons.
const SS: i64 = 5;

impl Mask {
    pub(crate) fn new(width: usize, height: usize) -> Self {
        Mask {
            width,
            height,
            cov: vec![0.0; width * height],
        }
    }

    fn put_max(&mut self, x: usize, y: usize, c: f64) {
        if x >= self.width {
            return;
        }
        let c = c.clamp(0.0, 1.0) as f32;
        if let Some(p) = self.cov.get_mut(y * self.width + x) {
            if c > *p {
                *p = c;
            }
        }
    }

    /// Pixel range `[lo, hi)` covering `[a, b]`, clamped to `0..len`.
    fn span(a: f64, b: f64, len: usize) -> (usize, usize) {
        let lo = a.floor().max(0.0);
        let hi = (b.ceil() + 1.0).max(0.0).min(len as f64);
        (lo as usize, hi as usize)
    }

    /// A stroke segment from `a` (radius `ra`) to `b` (radius `rb`) with round ends.
    pub(crate) fn capsule(&mut self, a: Pt, ra: f64, b: Pt, rb: f64) {
        let r = ra.max(rb) + 1.0;
        let (x0, x1) = Self::span(a.0.min(b.0) - r, a.0.max(b.0) + r, self.width);
        let (y0, y1) = Self::span(a.1.min(b.1) - r, a.1.max(b.1) + r, self.height);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        for y in y0..y1 {
            let py = y as f64 + 0.5;
            for x in x0..x1 {
                let px = x as f64 + 0.5;
                let t = if len2 > 0.0 {
                    (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
                let d = (qx * qx + qy * qy).sqrt();
                let radius = ra + (rb - ra) * t;
                self.put_max(x, y, radius - d + 0.5);
            }
        }
    }

    /// A polyline of tapered segments: `pts` with one radius per point.
    pub(crate) fn polyline(&mut self, pts: &[(Pt, f64)]) {
        for w in pts.windows(2) {
            if let [(a, ra), (b, rb)] = w {
                self.capsule(*a, *ra, *b, *rb);
            }
        }
    }

    /// A ring centred on `c` with mid-line radius `radius` and stroke `width`.
    pub(crate) fn ring(&mut self, c: Pt, radius: f64, width: f64) {
        let r = radius + width / 2.0 + 1.0;
        let (x0, x1) = Self::span(c.0 - r, c.0 + r, self.width);
        let (y0, y1) = Self::span(c.1 - r, c.1 + r, self.height);
        for y in y0..y1 {
            let py = y as f64 + 0.5 - c.1;
            for x in x0..x1 {
                let px = x as f64 + 0.5 - c.0;
                let d = ((px * px + py * py).sqrt() - radius).abs();
                self.put_max(x, y, width / 2.0 - d + 0.5);
            }
        }
    }

    /// Fill closed polygons with the non-zero winding rule, `SS`×`SS` samples per pixel.
    pub(crate) fn fill(&mut self, polys: &[Vec<Pt>]) {
        let mut min = (f64::INFINITY, f64::INFINITY);
        let mut max = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for p in polys.iter().flatten() {
            min = (min.0.min(p.0), min.1.min(p.1));
            max = (max.0.max(p.0), max.1.max(p.1));
        }
        if !(min.0.is_finite() && max.0.is_finite()) {
            return;
        }
        let (x0, x1) = Self::span(min.0, max.0, self.width);
        let (y0, y1) = Self::span(min.1, max.1, self.height);
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let bw = x1 - x0;
        let mut counts = vec![0u16; bw * (y1 - y0)];
        let mut crossings: Vec<(f64, i32)> = Vec::new();
        let ss = SS as f64;
        for sy in (y0 as i64 * SS)..(y1 as i64 * SS) {
            let yc = (sy as f64 + 0.5) / ss;
            crossings.clear();
            for poly in polys {
                let n = poly.len();
                for i in 0..n {
                    let (Some(p), Some(q)) = (poly.get(i), poly.get((i + 1) % n)) else {
                        continue;
                    };
                    if (p.1 <= yc) != (q.1 <= yc) {
                        let x = p.0 + (yc - p.1) * (q.0 - p.0) / (q.1 - p.1);
                        crossings.push((x, if q.1 > p.1 { 1 } else { -1 }));
                    }
                }
            }
            crossings.sort_by(|a, b| a.0.total_cmp(&b.0));
            let row = (sy / SS) as usize - y0;
            let mut winding = 0;
            for pair in crossings.windows(2) {
                let [(xa, da), (xb, _)] = pair else { continue };
                winding += da;
                if winding == 0 {
                    continue;
                }
                // Samples at (sx + 0.5) / SS inside [xa, xb).
                let first = ((xa * ss - 0.5).ceil() as i64).max(x0 as i64 * SS);
                let end = ((xb * ss - 0.5).ceil() as i64).min(x1 as i64 * SS);
                for sx in first..end {
                    let col = (sx / SS) as usize - x0;
                    if let Some(c) = counts.get_mut(row * bw + col) {
                        *c += 1;
                    }
                }
            }
        }
        let full = (SS * SS) as f64;
        for (i, c) in counts.iter().enumerate() {
            if *c > 0 {
                self.put_max(x0 + i % bw, y0 + i / bw, f64::from(*c) / full);
            }
        }
    }

    /// Encode as an RGBA PNG of one colour whose alpha is the coverage, with a `pHYs` chunk.
    pub(crate) fn to_png(&self, rgb: [u8; 3], dpi: u32) -> Result<Vec<u8>> {
        let mut data = Vec::with_capacity(self.cov.len() * 4);
        for c in &self.cov {
            let a = (f64::from(*c) * 255.0).round().clamp(0.0, 255.0) as u8;
            if a == 0 {
                data.extend_from_slice(&[0, 0, 0, 0]);
            } else {
                data.extend_from_slice(&[rgb[0], rgb[1], rgb[2], a]);
            }
        }
        let mut out = Vec::new();
        let err = |e: png::EncodingError| Error::Image(e.to_string());
        let w = u32::try_from(self.width).map_err(|_| Error::Image("too wide".into()))?;
        let h = u32::try_from(self.height).map_err(|_| Error::Image("too high".into()))?;
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let ppm = (f64::from(dpi) / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&data).map_err(err)?;
        writer.finish().map_err(err)?;
        Ok(out)
    }

    #[cfg(test)]
    pub(crate) fn at(&self, x: usize, y: usize) -> f32 {
        self.cov.get(y * self.width + x).copied().unwrap_or(0.0)
    }
}

/// Flatten a cubic Bézier into `n` segments (the start point excluded).
pub(crate) fn cubic(p0: Pt, p1: Pt, p2: Pt, p3: Pt, n: usize, out: &mut Vec<Pt>) {
    for i in 1..=n {
        let t = i as f64 / n as f64;
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        out.push((
            a * p0.0 + b * p1.0 + c * p2.0 + d * p3.0,
            a * p0.1 + b * p1.1 + c * p2.1 + d * p3.1,
        ));
    }
}

/// Flatten a quadratic Bézier into `n` segments (the start point excluded).
pub(crate) fn quad(p0: Pt, p1: Pt, p2: Pt, n: usize, out: &mut Vec<Pt>) {
    for i in 1..=n {
        let t = i as f64 / n as f64;
        let u = 1.0 - t;
        let (a, b, c) = (u * u, 2.0 * u * t, t * t);
        out.push((
            a * p0.0 + b * p1.0 + c * p2.0,
            a * p0.1 + b * p1.1 + c * p2.1,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_fill_is_full_inside_and_empty_outside() {
        let mut m = Mask::new(10, 10);
        m.fill(&[vec![(2.0, 2.0), (8.0, 2.0), (8.0, 8.0), (2.0, 8.0)]]);
        assert_eq!(m.at(5, 5), 1.0);
        assert_eq!(m.at(1, 1), 0.0);
        assert_eq!(m.at(9, 9), 0.0);
    }

    #[test]
    fn half_covered_pixel_is_partial() {
        let mut m = Mask::new(4, 4);
        m.fill(&[vec![(0.0, 0.0), (1.5, 0.0), (1.5, 4.0), (0.0, 4.0)]]);
        let c = m.at(1, 1);
        assert!(c > 0.3 && c < 0.7, "{c}");
    }

    #[test]
    fn opposite_windings_cut_a_hole() {
        let mut m = Mask::new(20, 20);
        let outer = vec![(1.0, 1.0), (19.0, 1.0), (19.0, 19.0), (1.0, 19.0)];
        let inner = vec![(5.0, 5.0), (5.0, 15.0), (15.0, 15.0), (15.0, 5.0)];
        m.fill(&[outer, inner]);
        assert_eq!(m.at(10, 10), 0.0);
        assert_eq!(m.at(2, 10), 1.0);
    }

    #[test]
    fn ring_and_capsule_are_anti_aliased() {
        let mut m = Mask::new(50, 50);
        m.ring((25.0, 25.0), 20.0, 4.0);
        assert_eq!(m.at(25, 25), 0.0);
        assert!(m.at(45, 25) > 0.9);
        let mut m = Mask::new(50, 50);
        m.capsule((10.0, 25.5), 3.0, (40.0, 25.5), 3.0);
        assert!(m.at(25, 24) > 0.9);
        assert_eq!(m.at(25, 10), 0.0);
        let edge = m.at(25, 28);
        assert!(edge > 0.0 && edge < 1.0, "{edge}");
    }
}
