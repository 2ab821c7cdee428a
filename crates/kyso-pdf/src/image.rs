//! PNG images for signature appearances (scanned handwritten signatures, seals): decoding
//! untrusted PNG files under explicit limits, and writing them as Image XObjects with a soft
//! mask for transparency.

use std::io::Cursor;

use crate::error::{Error, ImageError, Result};
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::writer::IncrementalUpdate;

/// Limits applied while decoding an untrusted image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest encoded file accepted.
    pub max_bytes: usize,
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most pixels (width × height) accepted.
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_bytes: 20 * 1024 * 1024,
            max_width: 10_000,
            max_height: 10_000,
            max_pixels: 40_000_000,
        }
    }
}

/// The colour space of decoded samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageColor {
    /// One 8-bit sample per pixel.
    Gray,
    /// Three 8-bit samples per pixel.
    Rgb,
}

impl ImageColor {
    /// Samples per pixel.
    pub fn components(self) -> usize {
        match self {
            ImageColor::Gray => 1,
            ImageColor::Rgb => 3,
        }
    }
}

/// A decoded image with 8-bit samples.
#[derive(Clone, PartialEq)]
pub struct DecodedImage {
    pub width: u32,
    pub height: u32,
    pub color: ImageColor,
    /// `width × height × components` samples, row by row from the top.
    pub samples: Vec<u8>,
    /// `width × height` alpha samples; `None` when the image is fully opaque.
    pub alpha: Option<Vec<u8>>,
    /// Resolution from `pHYs` (horizontal, vertical) in dots per inch, when given in metres.
    pub dpi: Option<(f64, f64)>,
}

impl std::fmt::Debug for DecodedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("color", &self.color)
            .field("alpha", &self.alpha.is_some())
            .field("dpi", &self.dpi)
            .finish()
    }
}

impl DecodedImage {
    /// Natural size in points at the image's resolution (72 dpi when none is recorded).
    pub fn size_pt(&self) -> (f64, f64) {
        let (dx, dy) = self
            .dpi
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
            .unwrap_or((72.0, 72.0));
        (
            f64::from(self.width) * 72.0 / dx,
            f64::from(self.height) * 72.0 / dy,
        )
    }
}

fn map_err(e: png::DecodingError, budget: u64) -> Error {
    match e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageError::Truncated.into()
        }
        png::DecodingError::LimitsExceeded => ImageError::TooLarge {
            limit: "decoder memory",
            value: budget.saturating_add(1),
            max: budget,
        }
        .into(),
        _ => ImageError::Malformed.into(),
    }
}

fn over(limit: &'static str, value: u64, max: u64) -> Result<()> {
    if value > max {
        Err(ImageError::TooLarge { limit, value, max }.into())
    } else {
        Ok(())
    }
}

/// Decode a PNG file: gray, gray+alpha, RGB, RGBA or palette (with `tRNS`), 1 to 16 bits,
/// interlaced or not. Samples are normalised to 8 bits; palette images become RGB; `tRNS`
/// becomes an alpha plane. Every limit is checked from the header before pixel memory is
/// allocated.
pub fn decode_png(bytes: &[u8], limits: &ImageLimits) -> Result<DecodedImage> {
    over("file size", bytes.len() as u64, limits.max_bytes as u64)?;
    if !bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        return Err(ImageError::NotPng.into());
    }
    // Room for the output buffer plus the decoder's own working memory.
    let budget = limits
        .max_pixels
        .saturating_mul(4)
        .saturating_add(8 * 1024 * 1024);
    let mut dec = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: usize::try_from(budget).unwrap_or(usize::MAX),
        },
    );
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| map_err(e, budget))?;
    let (width, height, dpi) = {
        let info = reader.info();
        let dpi = info.pixel_dims.and_then(|d| match d.unit {
            png::Unit::Meter => Some((f64::from(d.xppu) * 0.0254, f64::from(d.yppu) * 0.0254)),
            png::Unit::Unspecified => None,
        });
        (info.width, info.height, dpi)
    };
    if width == 0 || height == 0 {
        return Err(ImageError::Empty.into());
    }
    over("width", width.into(), limits.max_width.into())?;
    over("height", height.into(), limits.max_height.into())?;
    over(
        "pixels",
        u64::from(width) * u64::from(height),
        limits.max_pixels,
    )?;
    let (color_type, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(ImageError::Malformed.into());
    }
    let size = reader.output_buffer_size().ok_or(ImageError::TooLarge {
        limit: "buffer size",
        value: u64::MAX,
        max: usize::MAX as u64,
    })?;
    let mut buf = vec![0u8; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| map_err(e, budget))?;
    buf.truncate(frame.buffer_size());
    let pixels = width as usize * height as usize;
    let (color, has_alpha) = match color_type {
        png::ColorType::Grayscale => (ImageColor::Gray, false),
        png::ColorType::GrayscaleAlpha => (ImageColor::Gray, true),
        png::ColorType::Rgb => (ImageColor::Rgb, false),
        png::ColorType::Rgba => (ImageColor::Rgb, true),
        png::ColorType::Indexed => return Err(ImageError::Malformed.into()),
    };
    let n = color.components();
    let stride = n + usize::from(has_alpha);
    // Rows may be padded to the frame's line size; with 8-bit output they are not, but check.
    if frame.line_size != width as usize * stride || buf.len() < pixels * stride {
        return Err(ImageError::Malformed.into());
    }
    let (samples, alpha) = if has_alpha {
        let mut samples = Vec::with_capacity(pixels * n);
        let mut alpha = Vec::with_capacity(pixels);
        for px in buf.chunks_exact(stride).take(pixels) {
            let (c, a) = px.split_at(n);
            samples.extend_from_slice(c);
            alpha.extend_from_slice(a);
        }
        let alpha = if alpha.iter().all(|&a| a == 255) {
            None
        } else {
            Some(alpha)
        };
        (samples, alpha)
    } else {
        buf.truncate(pixels * n);
        (buf, None)
    };
    Ok(DecodedImage {
        width,
        height,
        color,
        samples,
        alpha,
        dpi,
    })
}

/// Write `img` as an Image XObject (FlateDecode, 8 bits per component, DeviceRGB or DeviceGray)
/// with an `/SMask` holding the alpha plane when the image has transparency.
pub fn add_image_xobject(update: &mut IncrementalUpdate, img: &DecodedImage) -> ObjRef {
    let base = |cs: &str| {
        let mut d = Dict::new();
        d.set("Type", Object::name("XObject"));
        d.set("Subtype", Object::name("Image"));
        d.set("Width", Object::from(img.width));
        d.set("Height", Object::from(img.height));
        d.set("ColorSpace", Object::name(cs));
        d.set("BitsPerComponent", Object::Int(8));
        d.set("Filter", Object::name("FlateDecode"));
        d
    };
    let smask = img.alpha.as_ref().map(|a| {
        update.add(Object::Stream(Stream {
            dict: base("DeviceGray"),
            data: StreamData::Owned(crate::filter::deflate(a)),
        }))
    });
    let mut dict = base(match img.color {
        ImageColor::Gray => "DeviceGray",
        ImageColor::Rgb => "DeviceRGB",
    });
    if let Some(s) = smask {
        dict.set("SMask", s);
    }
    update.add(Object::Stream(Stream {
        dict,
        data: StreamData::Owned(crate::filter::deflate(&img.samples)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(
        w: u32,
        h: u32,
        ct: png::ColorType,
        bd: png::BitDepth,
        data: &[u8],
        setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(ct);
            e.set_depth(bd);
            setup(&mut e);
            let mut wr = e.write_header().unwrap();
            wr.write_image_data(data).unwrap();
        }
        out
    }

    fn dec(bytes: &[u8]) -> Result<DecodedImage> {
        decode_png(bytes, &ImageLimits::default())
    }

    use png::{BitDepth as B, ColorType as C};

    #[test]
    fn gray_8_and_16() {
        let p = encode(2, 1, C::Grayscale, B::Eight, &[0, 200], |_| {});
        let i = dec(&p).unwrap();
        assert_eq!((i.width, i.height, i.color), (2, 1, ImageColor::Gray));
        assert_eq!(i.samples, vec![0, 200]);
        assert!(i.alpha.is_none() && i.dpi.is_none());
        let p = encode(
            2,
            1,
            C::Grayscale,
            B::Sixteen,
            &[0x12, 0x34, 0xff, 0xff],
            |_| {},
        );
        assert_eq!(dec(&p).unwrap().samples, vec![0x12, 0xff]);
    }

    #[test]
    fn gray_low_bit_depths_expand() {
        // 1-bit: 1 0 1 1 0 0 0 0 → 255 0 255 255 ...
        let p = encode(4, 1, C::Grayscale, B::One, &[0b1011_0000], |_| {});
        assert_eq!(dec(&p).unwrap().samples, vec![255, 0, 255, 255]);
        let p = encode(2, 1, C::Grayscale, B::Two, &[0b0110_0000], |_| {});
        assert_eq!(dec(&p).unwrap().samples, vec![0x55, 0xaa]);
        let p = encode(2, 1, C::Grayscale, B::Four, &[0xf1], |_| {});
        assert_eq!(dec(&p).unwrap().samples, vec![0xff, 0x11]);
    }

    #[test]
    fn gray_alpha() {
        let p = encode(2, 1, C::GrayscaleAlpha, B::Eight, &[10, 255, 20, 0], |_| {});
        let i = dec(&p).unwrap();
        assert_eq!(i.color, ImageColor::Gray);
        assert_eq!(i.samples, vec![10, 20]);
        assert_eq!(i.alpha, Some(vec![255, 0]));
    }

    #[test]
    fn rgb_and_rgba() {
        let p = encode(1, 2, C::Rgb, B::Eight, &[1, 2, 3, 4, 5, 6], |_| {});
        let i = dec(&p).unwrap();
        assert_eq!(i.color, ImageColor::Rgb);
        assert_eq!(i.samples, vec![1, 2, 3, 4, 5, 6]);
        let p = encode(
            2,
            1,
            C::Rgba,
            B::Eight,
            &[1, 2, 3, 128, 4, 5, 6, 255],
            |_| {},
        );
        let i = dec(&p).unwrap();
        assert_eq!(i.samples, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(i.alpha, Some(vec![128, 255]));
        // Fully opaque alpha is dropped.
        let p = encode(1, 1, C::Rgba, B::Eight, &[9, 9, 9, 255], |_| {});
        assert!(dec(&p).unwrap().alpha.is_none());
        let mut d16 = Vec::new();
        for v in [0x1000u16, 0x2000, 0x3000, 0x8000] {
            d16.extend_from_slice(&v.to_be_bytes());
        }
        let p = encode(1, 1, C::Rgba, B::Sixteen, &d16, |_| {});
        let i = dec(&p).unwrap();
        assert_eq!(i.samples, vec![0x10, 0x20, 0x30]);
        assert_eq!(i.alpha, Some(vec![0x80]));
    }

    #[test]
    fn palette_with_and_without_trns() {
        let pal = [255u8, 0, 0, 0, 0, 255];
        let p = encode(2, 1, C::Indexed, B::Eight, &[1, 0], |e| {
            e.set_palette(pal.to_vec())
        });
        let i = dec(&p).unwrap();
        assert_eq!(i.color, ImageColor::Rgb);
        assert_eq!(i.samples, vec![0, 0, 255, 255, 0, 0]);
        assert!(i.alpha.is_none());
        let p = encode(3, 1, C::Indexed, B::Two, &[0b0100_0000], |e| {
            e.set_palette(pal.to_vec());
            e.set_trns(vec![0u8]);
        });
        let i = dec(&p).unwrap();
        // Indices 1, 0, 0.
        assert_eq!(i.samples, vec![0, 0, 255, 255, 0, 0, 255, 0, 0]);
        assert_eq!(i.alpha, Some(vec![255, 0, 0]));
    }

    #[test]
    fn phys_gives_dpi() {
        let p = encode(1, 1, C::Grayscale, B::Eight, &[0], |e| {
            e.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 11811,
                yppu: 5906,
                unit: png::Unit::Meter,
            }))
        });
        let (x, y) = dec(&p).unwrap().dpi.unwrap();
        assert!(
            (x - 300.0).abs() < 0.1 && (y - 150.0).abs() < 0.1,
            "{x} {y}"
        );
        let p = encode(1, 1, C::Grayscale, B::Eight, &[0], |e| {
            e.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 1,
                yppu: 1,
                unit: png::Unit::Unspecified,
            }))
        });
        assert!(dec(&p).unwrap().dpi.is_none());
    }

    #[test]
    fn size_pt_uses_dpi() {
        let p = encode(300, 150, C::Grayscale, B::Eight, &[0; 300 * 150], |e| {
            e.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 11811,
                yppu: 11811,
                unit: png::Unit::Meter,
            }))
        });
        let (w, h) = dec(&p).unwrap().size_pt();
        assert!((w - 72.0).abs() < 0.1 && (h - 36.0).abs() < 0.1);
    }

    #[test]
    fn limits_are_enforced() {
        let p = encode(20, 2, C::Grayscale, B::Eight, &[0; 40], |_| {});
        let lim = ImageLimits {
            max_width: 10,
            ..ImageLimits::default()
        };
        assert!(matches!(
            decode_png(&p, &lim),
            Err(Error::Image(ImageError::TooLarge {
                limit: "width",
                value: 20,
                max: 10
            }))
        ));
        let lim = ImageLimits {
            max_height: 1,
            ..ImageLimits::default()
        };
        assert!(matches!(
            decode_png(&p, &lim),
            Err(Error::Image(ImageError::TooLarge {
                limit: "height",
                ..
            }))
        ));
        let lim = ImageLimits {
            max_pixels: 39,
            ..ImageLimits::default()
        };
        assert!(matches!(
            decode_png(&p, &lim),
            Err(Error::Image(ImageError::TooLarge {
                limit: "pixels",
                ..
            }))
        ));
        let lim = ImageLimits {
            max_bytes: 10,
            ..ImageLimits::default()
        };
        assert!(matches!(
            decode_png(&p, &lim),
            Err(Error::Image(ImageError::TooLarge {
                limit: "file size",
                ..
            }))
        ));
    }

    #[test]
    fn huge_header_is_refused_before_allocation() {
        // A valid header claiming 100000 × 100000 pixels, with no data.
        let p = encode(1, 1, C::Rgba, B::Eight, &[0; 4], |_| {});
        let mut p = p;
        p[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        p[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // Fix the IHDR CRC so the decoder reads the header.
        let crc = crc32(&p[12..29]);
        p[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            dec(&p).unwrap_err(),
            Error::Image(ImageError::TooLarge {
                limit: "width",
                value: 100_000,
                max: 10_000
            })
        );
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(dec(b"GIF89a").unwrap_err(), ImageError::NotPng.into());
        assert_eq!(dec(b"").unwrap_err(), ImageError::NotPng.into());
        let p = encode(16, 16, C::Rgb, B::Eight, &[7; 16 * 16 * 3], |_| {});
        for cut in [8, 12, 20, 33, 40, p.len() - 20] {
            assert!(dec(&p[..cut]).is_err(), "cut at {cut}");
        }
        // Pseudo-random garbage after a PNG signature.
        let mut x = 0x1234_5678u32;
        for len in [0usize, 1, 7, 25, 100, 1000] {
            let mut q = p[..8].to_vec();
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                q.push(x as u8);
            }
            assert!(dec(&q).is_err());
        }
        // Flipped bytes anywhere: an error or an image, never a panic.
        for i in 8..p.len() {
            let mut q = p.clone();
            q[i] ^= 0x5a;
            let _ = dec(&q);
        }
    }

    #[test]
    fn xobject_with_smask() {
        let mut up = crate::test_support::one_page_update(0);
        let p = encode(
            2,
            1,
            C::Rgba,
            B::Eight,
            &[1, 2, 3, 128, 4, 5, 6, 255],
            |_| {},
        );
        let r = add_image_xobject(&mut up, &dec(&p).unwrap());
        let s = up.get(r).unwrap().as_stream().unwrap().clone();
        assert_eq!(s.dict.get_name("ColorSpace").unwrap(), "DeviceRGB");
        assert_eq!(s.dict.get_int("BitsPerComponent"), Some(8));
        let m = up
            .get(s.dict.get("SMask").unwrap().as_ref().unwrap())
            .unwrap();
        let m = m.as_stream().unwrap();
        assert_eq!(m.dict.get_name("ColorSpace").unwrap(), "DeviceGray");
        let StreamData::Owned(z) = &m.data else {
            panic!()
        };
        assert_eq!(crate::filter::inflate(z, 100).unwrap(), vec![128, 255]);
        let p = encode(1, 1, C::Grayscale, B::Eight, &[0], |_| {});
        let r = add_image_xobject(&mut up, &dec(&p).unwrap());
        let s = up.get(r).unwrap().as_stream().unwrap();
        assert!(s.dict.get("SMask").is_none());
        assert_eq!(s.dict.get_name("ColorSpace").unwrap(), "DeviceGray");
    }
}
