//! The scan check (`kyso_pades::scan_check`) on scans made by other tools: raster pages
//! written here as netpbm images (a red seal on white paper, a grey page, a black-and-white
//! page) and turned into PDFs by img2pdf and Ghostscript (`pdfwrite`, `pdfimage24`,
//! `pdfimage8`), as scanner software does; a text letter from kyso's composer (not a scan);
//! mangled bytes (no panic).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use kyso_pades::format_check::{Code, Severity};
use kyso_pades::scan_check::{check, ScanColour, ScanReport};
use kyso_testkit::{need, run_in};

/// A4 at `dpi` in pixels.
fn a4_px(dpi: f64) -> (usize, usize) {
    (
        (210.0 / 25.4 * dpi).round() as usize,
        (297.0 / 25.4 * dpi).round() as usize,
    )
}

/// A colour page: white paper with a red "seal" square and a black text bar (PPM).
fn colour_page(dpi: f64) -> Vec<u8> {
    let (w, h) = a4_px(dpi);
    let mut out = format!("P6 {w} {h} 255\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            let seal = (w * 4 / 10..w * 6 / 10).contains(&x) && (h / 2..h * 6 / 10).contains(&y);
            let text = (w / 8..w * 7 / 8).contains(&x) && (h / 10..h / 10 + h / 60).contains(&y);
            out.extend_from_slice(match (seal, text) {
                (true, _) => &[0xd0, 0x10, 0x10],
                (_, true) => &[0, 0, 0],
                _ => &[0xff, 0xff, 0xff],
            });
        }
    }
    out
}

/// A grey page (PGM).
fn grey_page(dpi: f64) -> Vec<u8> {
    let (w, h) = a4_px(dpi);
    let mut out = format!("P5 {w} {h} 255\n").into_bytes();
    out.extend((0..w * h).map(|i| if (i / w) % 97 < 5 { 40 } else { 230 }));
    out
}

/// A black-and-white page (PBM, 1 bit per pixel).
fn bilevel_page(dpi: f64) -> Vec<u8> {
    let (w, h) = a4_px(dpi);
    let mut out = format!("P4 {w} {h}\n").into_bytes();
    let row = w.div_ceil(8);
    for y in 0..h {
        out.extend(std::iter::repeat_n(if y % 50 < 3 { 0xff } else { 0 }, row));
    }
    out
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("kyso-scan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.0.join(name), bytes).unwrap();
    }
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.0.join(name)).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh folder for the test `name`'s files, or `None` (a listed skip; a failure under
/// `KYSO_REQUIRE_ALL=1`) when img2pdf or Ghostscript is missing.
fn scans(name: &str) -> Option<Dir> {
    (need("img2pdf", &["--version"]) && need("gs", &["--version"])).then(|| Dir::new(name))
}

/// img2pdf: `inputs` on pages of `pagesize` as `out` (PDF 1.3, as img2pdf writes it).
fn img2pdf(dir: &Dir, pagesize: &str, inputs: &[&str], out: &str) -> Vec<u8> {
    let mut args: Vec<&str> = vec!["--pagesize", pagesize];
    args.extend_from_slice(inputs);
    args.extend_from_slice(&["-o", out]);
    run_in(dir.path(), "img2pdf", &args);
    dir.read(out)
}

/// Ghostscript with the device's `options`: `input` as `out`.
fn gs(dir: &Dir, options: &[&str], input: &str, out: &str) -> Vec<u8> {
    let output = format!("-sOutputFile={out}");
    let mut args: Vec<&str> = vec!["-q", "-dBATCH", "-dNOPAUSE", "-dSAFER"];
    args.extend_from_slice(options);
    args.extend_from_slice(&[&output, input]);
    run_in(dir.path(), "gs", &args);
    dir.read(out)
}

/// img2pdf `inputs` on A4 pages, then Ghostscript's pdfwrite at PDF 1.5 (img2pdf writes 1.3).
fn scan_pdf(dir: &Dir, inputs: &[&str], out: &str) -> Vec<u8> {
    img2pdf(dir, "A4", inputs, "img2pdf.pdf");
    gs(
        dir,
        &["-sDEVICE=pdfwrite", "-dCompatibilityLevel=1.5"],
        "img2pdf.pdf",
        out,
    )
}

/// The codes of the report's findings of `severity`.
fn codes(r: &ScanReport, severity: Severity) -> Vec<Code> {
    r.findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.code)
        .collect()
}

fn errors(r: &ScanReport) -> Vec<Code> {
    codes(r, Severity::Error)
}

fn warnings(r: &ScanReport) -> Vec<Code> {
    codes(r, Severity::Warning)
}

#[test]
fn a_colour_scan_at_200_dpi_passes() {
    let Some(dir) = scans("colour") else { return };
    dir.write("p1.ppm", &colour_page(200.0));
    dir.write("p2.ppm", &colour_page(300.0));
    let pdf = scan_pdf(&dir, &["p1.ppm", "p2.ppm"], "scan.pdf");
    let r = check(&pdf);
    assert!(r.passes(), "{:#?}", r.findings);
    assert_eq!(r.findings, vec![], "{:#?}", r.findings);
    assert_eq!(r.version.as_deref(), Some("1.5"));
    assert_eq!(r.page_count, 2);
    let dpi: Vec<f64> = r.pages.iter().map(|p| p.dpi.unwrap()).collect();
    assert!((dpi[0] - 200.0).abs() < 1.0, "{dpi:?}");
    assert!((dpi[1] - 300.0).abs() < 1.0, "{dpi:?}");
    assert!((r.lowest_dpi().unwrap() - 200.0).abs() < 1.0);
    assert!(r.pages.iter().all(|p| p.colour == Some(ScanColour::Colour)));
    assert!((r.pages[0].width_mm - 210.0).abs() < 0.5);
}

#[test]
fn img2pdf_writes_pdf_1_3_which_the_decree_does_not_accept() {
    let Some(dir) = scans("v13") else { return };
    dir.write("p.ppm", &colour_page(200.0));
    let r = check(&img2pdf(&dir, "A4", &["p.ppm"], "raw.pdf"));
    assert_eq!(errors(&r), vec![Code::VersionTooOld], "{:#?}", r.findings);
    let f = &r.findings[0];
    assert!(f.vi.contains("1.3") && f.vi.contains("1.4"), "{}", f.vi);
    assert!(f.en.contains("below the required 1.4"), "{}", f.en);
    // The page itself is a good scan.
    assert!((r.pages[0].dpi.unwrap() - 200.0).abs() < 1.0);
}

#[test]
fn a_scan_below_200_dpi_is_refused_with_its_resolution() {
    let Some(dir) = scans("lowres") else { return };
    dir.write("p1.ppm", &colour_page(300.0));
    dir.write("p2.ppm", &colour_page(150.0));
    let pdf = scan_pdf(&dir, &["p1.ppm", "p2.ppm"], "scan.pdf");
    let r = check(&pdf);
    assert_eq!(errors(&r), vec![Code::LowResolution], "{:#?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(f.page, Some(2));
    assert!(
        f.vi.contains("Trang 2") && f.vi.contains("150 dpi"),
        "{}",
        f.vi
    );
    assert!(
        f.en.contains("Page(s) 2") && f.en.contains("150 dpi"),
        "{}",
        f.en
    );
    assert!((r.lowest_dpi().unwrap() - 150.0).abs() < 1.0);
}

#[test]
fn ghostscript_image_devices_give_colour_grey_and_resolution() {
    let Some(dir) = scans("gsdev") else { return };
    dir.write("p.ppm", &colour_page(300.0));
    scan_pdf(&dir, &["p.ppm"], "src.pdf");
    let render = |device: &str, res: &str, out: &str| {
        let options = [format!("-sDEVICE={device}"), format!("-r{res}")];
        check(&gs(&dir, &[&options[0], &options[1]], "src.pdf", out))
    };
    // Ghostscript's image devices write PDF 1.3: refused for the version whatever else.
    let colour = render("pdfimage24", "200", "c.pdf");
    assert_eq!(errors(&colour), vec![Code::VersionTooOld]);
    assert_eq!(colour.pages[0].colour, Some(ScanColour::Colour));
    assert!((colour.pages[0].dpi.unwrap() - 200.0).abs() < 1.0);
    let grey = render("pdfimage8", "200", "g.pdf");
    assert!(grey.has(Code::NotColour), "{:#?}", grey.findings);
    assert_eq!(grey.pages[0].colour, Some(ScanColour::Gray));
    let f = grey
        .findings
        .iter()
        .find(|f| f.code == Code::NotColour)
        .unwrap();
    assert!(
        f.vi.contains("màu") && f.vi.contains("thang xám"),
        "{}",
        f.vi
    );
    assert!(f.en.contains("greyscale"), "{}", f.en);
    let low = render("pdfimage24", "100", "l.pdf");
    assert!(low.has(Code::LowResolution), "{:#?}", low.findings);
    assert!((low.lowest_dpi().unwrap() - 100.0).abs() < 1.0);
}

#[test]
fn grey_or_black_and_white_only_is_refused_some_grey_pages_are_a_warning() {
    let Some(dir) = scans("grey") else { return };
    dir.write("c.ppm", &colour_page(200.0));
    dir.write("g.pgm", &grey_page(200.0));
    dir.write("b.pbm", &bilevel_page(300.0));
    let grey = check(&scan_pdf(&dir, &["g.pgm"], "grey.pdf"));
    assert_eq!(errors(&grey), vec![Code::NotColour], "{:#?}", grey.findings);
    let bw = check(&scan_pdf(&dir, &["b.pbm"], "bw.pdf"));
    assert_eq!(errors(&bw), vec![Code::NotColour], "{:#?}", bw.findings);
    assert_eq!(bw.pages[0].colour, Some(ScanColour::BlackWhite));
    assert!(
        bw.findings[0].vi.contains("đen trắng"),
        "{}",
        bw.findings[0].vi
    );
    let mixed = check(&scan_pdf(&dir, &["c.ppm", "g.pgm", "b.pbm"], "mixed.pdf"));
    assert!(mixed.passes(), "{:#?}", mixed.findings);
    assert_eq!(warnings(&mixed), vec![Code::GrayPage]);
    assert!(
        mixed.findings[0].vi.contains("Trang 2, 3"),
        "{}",
        mixed.findings[0].vi
    );
}

#[test]
fn a_page_of_unusual_size_is_a_warning_about_the_scale() {
    let Some(dir) = scans("size") else { return };
    dir.write("p.ppm", &colour_page(200.0));
    let r = check(&img2pdf(&dir, "150mmx150mm", &["p.ppm"], "small.pdf"));
    assert!(r.has(Code::UnusualPageSize), "{:#?}", r.findings);
    assert!(warnings(&r).contains(&Code::UnusualPageSize));
}

#[test]
fn a_text_letter_is_not_a_scan() {
    use kyso_pdf::compose::{Composer, DocInfo, Margins, Style};
    let mut c = Composer::a4(Margins {
        top: 22.0,
        bottom: 22.0,
        left: 32.0,
        right: 17.0,
    })
    .unwrap();
    c.paragraph(
        "CÔNG VĂN — bản điện tử, không phải bản quét",
        &Style::new(13.0),
    )
    .unwrap();
    let r = check(&c.finish(&DocInfo::default()).unwrap());
    assert_eq!(errors(&r), vec![Code::NoScanImage], "{:#?}", r.findings);
    assert_eq!(r.pages[0].dpi, None);
    assert!(r.findings[0].vi.contains("không phải ảnh quét"));
}

#[test]
fn mangled_bytes_never_panic() {
    assert_eq!(errors(&check(b"not a pdf")), vec![Code::NotPdf]);
    assert_eq!(errors(&check(b"")), vec![Code::NotPdf]);
    let mut pdf = b"%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n".to_vec();
    pdf.extend_from_slice(b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n");
    pdf.extend_from_slice(
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R\
          /Resources<</XObject<</I 5 0 R>>>>>>endobj\n",
    );
    let content = b"q 0 0 0 0 0 0 cm /I Do Q q 595 0 0 842 0 0 cm BI /W 10 /H 1e309 /CS /RGB ID xx EI Q q 1e308 1e308 1e308 1e308 0 0 cm /I Do Q";
    pdf.extend_from_slice(format!("4 0 obj<</Length {}>>stream\n", content.len()).as_bytes());
    pdf.extend_from_slice(content);
    pdf.extend_from_slice(b"\nendstream endobj\n");
    pdf.extend_from_slice(
        b"5 0 obj<</Type/XObject/Subtype/Image/Width -4/Height 0/ColorSpace[/Indexed[/Indexed[/Indexed /DeviceRGB]]]/Length 0>>stream\n\nendstream endobj\n",
    );
    let r = check(&pdf);
    assert!(!r.passes());
    for cut in (0..pdf.len()).step_by(7) {
        let _ = check(&pdf[..cut]);
    }
}
