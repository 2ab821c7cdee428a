#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! End-to-end checks of signature appearances with poppler-utils (pdffonts, pdftotext,
//! pdftoppm): the embedded subset font, the extracted text, and where the stamp's ink lands on
//! pages rotated by 0, 90, 180 and 270 degrees. The tools are required: a missing tool fails.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use kyso_pdf::appearance::{self, Align, TextStyle};
use kyso_pdf::font::{FontEmbedder, FontProgram};
use kyso_pdf::image::{add_image_xobject, decode_png, ImageLimits};
use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, Limits, MemSource, Object};

const LINES: [&str; 4] = [
    "SAO Y",
    "Sở Khoa học và Công nghệ tỉnh Demo",
    "Nguyễn Văn An",
    "2026-11-23T10:15:00+07:00",
];

/// A one-page A4 PDF with `/Rotate rotate` and, optionally, a crop box not at the origin.
fn one_page_pdf(rotate: u16, crop: Option<[i32; 4]>) -> Vec<u8> {
    let crop = crop
        .map(|c| format!("/CropBox [{} {} {} {}] ", c[0], c[1], c[2], c[3]))
        .unwrap_or_default();
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] {crop}/Rotate {rotate} \
             /Resources << >> /Contents 4 0 R >>"
        ),
        "<< /Length 0 >>\nstream\n\nendstream".to_owned(),
    ];
    kyso_pdf::writer::classic_pdf(&objs)
}

/// A 60 × 40 PNG: an opaque red disk on a fully transparent background.
fn red_disk_png() -> Vec<u8> {
    let (w, h) = (60u32, 40u32);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (f64::from(x) - 29.5, f64::from(y) - 19.5);
            let inside = dx * dx + dy * dy < 18.0 * 18.0;
            data.extend_from_slice(&[220, 0, 0, if inside { 255 } else { 0 }]);
        }
    }
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        wr.write_image_data(&data).unwrap();
    }
    out
}

struct Stamped {
    pdf: Vec<u8>,
    /// The stamp's visual rectangle, and the part of it holding the image.
    visual_rect: [f64; 4],
    visual_size: (f64, f64),
}

/// Stamp the top right of page 1 with an image (left) and four lines of text (right), as a
/// signature widget with an /AP, in an incremental update.
fn stamp(pdf: Vec<u8>) -> Stamped {
    let doc = Document::open(Arc::new(MemSource::new(pdf.clone())), Limits::default()).unwrap();
    let page = doc.pages().unwrap().remove(0);
    let mut up = IncrementalUpdate::new(&doc);

    let font = FontProgram::liberation_serif_regular().unwrap();
    let mut emb = FontEmbedder::new(&font);
    let lines: Vec<String> = LINES.iter().map(|s| s.to_string()).collect();
    let style = TextStyle {
        size_pt: 10.0,
        align: Align::Right,
        line_gap: 1.0,
    };
    let text = appearance::text_block(&mut up, &mut emb, &lines, &style).unwrap();
    emb.embed(&mut up).unwrap();

    let img = decode_png(&red_disk_png(), &ImageLimits::default()).unwrap();
    let img_ref = add_image_xobject(&mut up, &img);
    let img_box = text.height;
    let image =
        appearance::image_box(&mut up, img_ref, img.width, img.height, img_box, img_box).unwrap();

    let gap = 6.0;
    let (w, h) = (img_box + gap + text.width, text.height);
    let vr = appearance::top_right(
        &page,
        w,
        h,
        appearance::STAMP_MARGIN_RIGHT_PT,
        appearance::STAMP_MARGIN_TOP_PT,
    );
    let placement = appearance::place(&page, vr);
    let ap = appearance::compose(
        &mut up,
        w,
        h,
        &[(image, [0.0, 0.0]), (text, [img_box + gap, 0.0])],
        Some(placement.matrix),
    )
    .unwrap();

    let mut n = Dict::new();
    n.set("N", ap.xobject);
    let mut widget = Dict::new();
    widget.set("Type", Object::name("Annot"));
    widget.set("Subtype", Object::name("Widget"));
    widget.set("FT", Object::name("Sig"));
    widget.set("T", Object::string("Stamp1"));
    widget.set("F", Object::Int(4));
    widget.set(
        "Rect",
        Object::Array(placement.rect.iter().map(|&v| Object::real(v)).collect()),
    );
    widget.set("P", page.id);
    widget.set("AP", n);
    let w_ref = up.add(widget);
    let mut pd = page.dict.clone();
    pd.set("Annots", Object::Array(vec![Object::Ref(w_ref)]));
    up.set(page.id, pd);
    let cat_ref = doc.catalog_ref().unwrap();
    let mut cat = doc.catalog().unwrap();
    let mut form = Dict::new();
    form.set("Fields", Object::Array(vec![Object::Ref(w_ref)]));
    form.set("SigFlags", Object::Int(1));
    cat.set("AcroForm", form);
    up.set(cat_ref, cat);

    let (bytes, _) = up.serialize(pdf.len() as u64).unwrap();
    let mut out = pdf;
    out.extend_from_slice(&bytes);
    Stamped {
        pdf: out,
        visual_rect: vr,
        visual_size: appearance::visual_size(&page),
    }
}

fn tool(name: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new(name)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils) is required for this test: {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn normalise_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn pdffonts_sees_an_embedded_cid_truetype_subset_with_tounicode() {
    let dir = tempfile::tempdir().unwrap();
    let s = stamp(one_page_pdf(0, None));
    std::fs::write(dir.path().join("s.pdf"), &s.pdf).unwrap();
    let out = String::from_utf8(tool("pdffonts", &["s.pdf"], dir.path())).unwrap();
    let line = out
        .lines()
        .find(|l| l.contains("+LiberationSerif"))
        .unwrap_or_else(|| panic!("no subset font listed:\n{out}"));
    assert!(line.contains("CID TrueType"), "{out}");
    assert!(line.contains("Identity-H"), "{out}");
    assert!(normalise_ws(line).contains("yes yes yes"), "{out}");
    let tag = line.split('+').next().unwrap();
    assert_eq!(tag.len(), 6);
    assert!(tag.bytes().all(|b| b.is_ascii_uppercase()), "{out}");
}

#[test]
fn stamp_is_upright_at_the_top_right_on_every_rotation() {
    let dir = tempfile::tempdir().unwrap();
    for crop in [None, Some([20, 30, 575, 812])] {
        for rotate in [0u16, 90, 180, 270] {
            let name = format!("r{rotate}-{}", crop.is_some());
            let s = stamp(one_page_pdf(rotate, crop));
            let pdf = format!("{name}.pdf");
            std::fs::write(dir.path().join(&pdf), &s.pdf).unwrap();
            // Set KYSO_APPEARANCE_OUT to a directory to keep the stamped PDFs for inspection.
            if let Some(keep) = std::env::var_os("KYSO_APPEARANCE_OUT") {
                std::fs::write(Path::new(&keep).join(&pdf), &s.pdf).unwrap();
            }
            check_text(&name, &pdf, dir.path());
            check_ink(&name, &s, &pdf, dir.path());
        }
    }
}

fn check_text(name: &str, pdf: &str, dir: &Path) {
    let txt = String::from_utf8(tool("pdftotext", &[pdf, "-"], dir)).unwrap();
    let lines: Vec<String> = txt
        .lines()
        .map(normalise_ws)
        .filter(|l| !l.is_empty())
        .collect();
    let want: Vec<String> = LINES.iter().map(|s| s.to_string()).collect();
    assert_eq!(lines, want, "{name}: pdftotext gave {txt:?}");
}

fn check_ink(name: &str, s: &Stamped, pdf: &str, dir: &Path) {
    let dpi = 50.0;
    tool(
        "pdftoppm",
        &["-r", "50", "-cropbox", "-png", "-singlefile", pdf, "out"],
        dir,
    );
    let file = std::fs::File::open(dir.join("out.png")).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let ch = info.color_type.samples();
    let px = |x: usize, y: usize| {
        let i = (y * w + x) * ch;
        if ch >= 3 {
            (buf[i], buf[i + 1], buf[i + 2])
        } else {
            (buf[i], buf[i], buf[i])
        }
    };
    // The rendering is the displayed page.
    let (vw, vh) = s.visual_size;
    assert!(
        (w as f64 - vw * dpi / 72.0).abs() <= 2.0 && (h as f64 - vh * dpi / 72.0).abs() <= 2.0,
        "{name}: rendered {w}×{h} for a visual page of {vw}×{vh}"
    );
    let mut ink = Bbox::default();
    let mut red = Bbox::default();
    let mut dark = Bbox::default();
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            if r.min(g).min(b) < 200 {
                ink.add(x, y);
            }
            if r > 150 && g < 90 && b < 90 {
                red.add(x, y);
            }
            if r < 120 && g < 120 && b < 120 {
                dark.add(x, y);
            }
        }
    }
    assert!(ink.n > 0 && red.n > 0 && dark.n > 0, "{name}: no ink");
    // All ink lies in the top-right quadrant of the displayed page...
    assert!(
        ink.x0 as f64 > w as f64 / 2.0 && (ink.y1 as f64) < h as f64 / 2.0,
        "{name}: ink {ink:?} outside the top-right quadrant of {w}×{h}"
    );
    // ...inside the stamp's visual rectangle (1 px of anti-aliasing) and filling its width.
    let [a, b, c, d] = s.visual_rect.map(|v| v * dpi / 72.0);
    let (top, bottom) = (h as f64 - d, h as f64 - b);
    assert!(
        ink.x0 as f64 >= a - 1.5
            && ink.x1 as f64 <= c + 1.5
            && ink.y0 as f64 >= top - 1.5
            && ink.y1 as f64 <= bottom + 1.5,
        "{name}: ink {ink:?} outside the stamp [{a:.1} {top:.1} {c:.1} {bottom:.1}]"
    );
    assert!(
        (ink.x1 - ink.x0) as f64 > 0.9 * (c - a),
        "{name}: ink {ink:?} narrower than the stamp"
    );
    // Upright: the image is on the left, the text on the right, the stamp wider than tall.
    assert!(
        red.x1 < dark.x0 + 2,
        "{name}: image {red:?} not left of text {dark:?}"
    );
    assert!(ink.x1 - ink.x0 > 2 * (ink.y1 - ink.y0), "{name}: {ink:?}");
    // The right-aligned lines end at the right edge; line 1 ("SAO Y") is at the top right.
    let top_row_ink: Vec<usize> = (dark.x0..=dark.x1)
        .filter(|&x| (dark.y0..dark.y0 + 4).any(|y| px(x, y).0 < 120))
        .collect();
    let first = *top_row_ink.first().unwrap();
    assert!(
        first as f64 > c - 0.35 * (c - a),
        "{name}: the top line starts at x={first}, not at the right of [{a:.0}, {c:.0}]"
    );
    // The transparent corners of the image stay white (the soft mask works).
    let (r, g, b) = px(red.x0.saturating_sub(1), red.y0.saturating_sub(1));
    assert!(r > 240 && g > 240 && b > 240, "{name}: corner not white");
}

#[derive(Debug, Default)]
struct Bbox {
    n: usize,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Bbox {
    fn add(&mut self, x: usize, y: usize) {
        if self.n == 0 {
            (self.x0, self.y0, self.x1, self.y1) = (x, y, x, y);
        } else {
            self.x0 = self.x0.min(x);
            self.y0 = self.y0.min(y);
            self.x1 = self.x1.max(x);
            self.y1 = self.y1.max(y);
        }
        self.n += 1;
    }
}
