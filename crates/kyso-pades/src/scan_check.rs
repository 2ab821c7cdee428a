//! The check of a paper document scanned to be made an electronic copy (Decree 30/2020/NĐ-CP,
//! Part II §I.2 of Appendix I and Art. 25–27, BD 10.1.b: digitised incoming paper takes the
//! copy format): pure, on the scan's bytes, no I/O, never panicking on hostile input.
//!
//! Decree 30 asks of a digitised copy: PDF 1.4 or later, colour, at least 200 dpi, scanned at
//! 100 % scale. What is checked, and how serious each finding is:
//!
//! - **Errors** (the scan cannot be signed as a copy until scanned again): not a readable PDF,
//!   encrypted, version below 1.4, no pages, JavaScript or additional actions (as for a draft,
//!   `format_check`); a page that is not a scan (its images cover less than half of it); a
//!   page scanned below 200 dpi; **no page in colour** (every page grey or black-and-white:
//!   the red seal and the blue signature of the paper cannot be told from the text, which is
//!   what "colour" is for).
//! - **Warnings**: some pages grey or black-and-white while others are in colour (scanners
//!   that detect colour page by page store blank or text-only pages that way; the decree's
//!   colour is kept where there is any); a page whose size is no usual paper size (A3, A4, A5,
//!   B5, Letter, Legal ± 3 mm), which suggests it was not scanned at 100 %.
//!
//! Resolution is computed, not read from metadata: for each image the page paints, its pixel
//! width and height over the length it is drawn at (the columns of its CTM, in points, times
//! `/UserUnit`), the lower of the two. A page's resolution is that of its best image covering
//! at least half of the page; without one (a page in strips or tiles), the lowest of its images
//! covering at least 2 % each and together half of the page. Colour follows the images'
//! colour spaces (`/DeviceRGB`, `/DeviceCMYK`, `/CalRGB`, `/Lab`, ICC profiles of 3 or 4
//! components, `/Indexed` over one of those, `/DeviceN` of 2 or more: colour; `/DeviceGray`,
//! `/CalGray`, one-component ICC, `/Separation`: grey; 1 bit per component, image masks,
//! CCITT and JBIG2: black-and-white); a space that cannot be read here (a JPEG 2000 image
//! without `/ColorSpace`, an inline image naming a resource) is given the benefit of the
//! doubt, as colour. A page is in colour when one of its page images is (mixed raster
//! content: a colour background under a black-and-white text layer).

use kyso_pdf::text::content::ImageDraw;
use kyso_pdf::text::page_images;
use kyso_pdf::{Dict, Document, Limits, Object};

use crate::format_check::{
    check_actions, not_fully_checked, open_checked, page_list, page_size_mm, Code, Finding,
    FormatReport, Severity,
};

/// The lowest resolution Decree 30 allows for a digitised copy (dots per inch).
pub const MIN_DPI: f64 = 200.0;
/// Pages examined; a scan with more is reported as not fully checked (an error).
pub const MAX_PAGES: usize = 2_000;
/// Share of the page an image must cover to be the page's scan.
const PAGE_IMAGE_SHARE: f64 = 0.5;
/// Share of the page a strip or tile must cover to count.
const STRIP_SHARE: f64 = 0.02;
/// Usual paper sizes in millimetres (ISO A3, A4, A5, B5; US Letter, Legal), and the tolerance.
const PAPER_MM: [(f64, f64); 6] = [
    (297.0, 420.0),
    (210.0, 297.0),
    (148.0, 210.0),
    (176.0, 250.0),
    (215.9, 279.4),
    (215.9, 355.6),
];
const PAPER_TOLERANCE_MM: f64 = 3.0;

/// How a page (or an image) was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScanColour {
    /// 1 bit per pixel: image masks, CCITT, JBIG2.
    BlackWhite,
    Gray,
    Colour,
}

impl ScanColour {
    pub fn label_vi(self) -> &'static str {
        match self {
            ScanColour::BlackWhite => "đen trắng",
            ScanColour::Gray => "thang xám",
            ScanColour::Colour => "màu",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            ScanColour::BlackWhite => "black and white",
            ScanColour::Gray => "greyscale",
            ScanColour::Colour => "colour",
        }
    }
}

/// One page of the scan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanPage {
    /// Displayed size in millimetres (after `/Rotate` and `/UserUnit`).
    pub width_mm: f64,
    pub height_mm: f64,
    /// The page's resolution in dots per inch; `None`: no scanned image on the page.
    pub dpi: Option<f64>,
    /// `None`: no scanned image on the page.
    pub colour: Option<ScanColour>,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScanReport {
    /// The effective PDF version (`"1.4"`).
    pub version: Option<String>,
    pub page_count: usize,
    pub pages: Vec<ScanPage>,
    /// Errors first.
    pub findings: Vec<Finding>,
}

impl ScanReport {
    /// No errors (warnings allowed): the scan may be signed as a copy.
    pub fn passes(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
    /// Whether some finding has this code.
    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
    /// The lowest resolution over the pages that have a scanned image.
    pub fn lowest_dpi(&self) -> Option<f64> {
        self.pages.iter().filter_map(|p| p.dpi).reduce(f64::min)
    }
}

/// Check a scan with kyso-pdf's default limits.
pub fn check(pdf: &[u8]) -> ScanReport {
    check_with(pdf, &Limits::default())
}

/// Check a scan within `limits`.
pub fn check_with(pdf: &[u8], limits: &Limits) -> ScanReport {
    let mut r = FormatReport::default();
    let mut pages_out = Vec::new();
    if let Some((doc, pages)) = open_checked(pdf, limits, &mut r) {
        check_actions(&doc, &mut r);
        if pages.len() > MAX_PAGES {
            not_fully_checked(
                &mut r,
                &format!("các trang (quá {MAX_PAGES} trang)"),
                &format!("pages (more than {MAX_PAGES})"),
            );
        }
        pages_out = check_pages(&doc, &pages, &mut r);
    }
    let mut findings = r.findings;
    findings.sort_by_key(|f| f.severity);
    ScanReport {
        version: r.version,
        page_count: r.page_count,
        pages: pages_out,
        findings,
    }
}

fn check_pages(doc: &Document, pages: &[kyso_pdf::Page], r: &mut FormatReport) -> Vec<ScanPage> {
    let mut out = Vec::with_capacity(pages.len().min(MAX_PAGES));
    let (mut not_scans, mut low, mut gray, mut odd) = (vec![], vec![], vec![], vec![]);
    let mut unreadable = false;
    for (i, p) in pages.iter().enumerate().take(MAX_PAGES) {
        let (width_mm, height_mm) = page_size_mm(p);
        let unit = p
            .dict
            .get("UserUnit")
            .and_then(Object::as_f64)
            .filter(|u| u.is_finite() && *u > 0.0)
            .unwrap_or(1.0);
        let c = p.crop_box;
        let page_area = ((c[2] - c[0]) * (c[3] - c[1])).abs();
        let (dpi, colour) = match page_images(doc, i) {
            Ok(draws) => page_scan(doc, &draws, page_area, unit),
            Err(_) => {
                unreadable = true;
                (None, None)
            }
        };
        match dpi {
            None => not_scans.push(i + 1),
            Some(d) if d + 0.5 < MIN_DPI => low.push((i + 1, d)),
            Some(_) => {}
        }
        if let Some(c) = colour.filter(|c| *c != ScanColour::Colour) {
            gray.push((i + 1, c));
        }
        let usual = PAPER_MM.iter().any(|&(w, h)| {
            let near = |a: f64, b: f64| (a - b).abs() <= PAPER_TOLERANCE_MM;
            (near(width_mm, w) && near(height_mm, h)) || (near(width_mm, h) && near(height_mm, w))
        });
        if !usual {
            odd.push((i + 1, width_mm, height_mm));
        }
        out.push(ScanPage {
            width_mm,
            height_mm,
            dpi,
            colour,
        });
    }
    if unreadable {
        not_fully_checked(r, "nội dung các trang", "pages' content");
    }
    if !not_scans.is_empty() {
        let list = page_list(&not_scans);
        r.error(
            Code::NoScanImage,
            not_scans.first().copied(),
            format!(
                "Trang {list} không phải ảnh quét (ảnh trên trang phủ chưa tới một nửa trang): \
                 bản số hóa phải là ảnh quét của văn bản giấy."
            ),
            format!(
                "Page(s) {list} are not scanned images (images cover less than half of the \
                 page): a digitised copy must be the scan of the paper document."
            ),
        );
    }
    if !low.is_empty() {
        let pages: Vec<usize> = low.iter().map(|(p, _)| *p).collect();
        let worst = low.iter().map(|(_, d)| *d).fold(f64::INFINITY, f64::min);
        let list = page_list(&pages);
        r.error(
            Code::LowResolution,
            pages.first().copied(),
            format!(
                "Trang {list} quét ở độ phân giải {worst:.0} dpi, thấp hơn {MIN_DPI:.0} dpi theo \
                 Nghị định 30; hãy quét lại ở {MIN_DPI:.0} dpi trở lên."
            ),
            format!(
                "Page(s) {list} were scanned at {worst:.0} dpi, below Decree 30's \
                 {MIN_DPI:.0} dpi; scan again at {MIN_DPI:.0} dpi or more."
            ),
        );
    }
    let scanned = out.iter().filter(|p| p.colour.is_some()).count();
    if scanned > 0 && gray.len() == scanned {
        let worst = gray
            .iter()
            .map(|(_, c)| *c)
            .max()
            .unwrap_or(ScanColour::Gray);
        r.error(
            Code::NotColour,
            None,
            format!(
                "Bản quét không có trang nào ở chế độ màu (ảnh {}): Nghị định 30 yêu cầu quét \
                 màu để giữ màu con dấu và chữ ký; hãy quét lại ở chế độ màu.",
                worst.label_vi()
            ),
            format!(
                "No page of the scan is in colour ({} images): Decree 30 requires colour, so \
                 that the seal and the signature keep their colours; scan again in colour.",
                worst.label_en()
            ),
        );
    } else if !gray.is_empty() {
        let pages: Vec<usize> = gray.iter().map(|(p, _)| *p).collect();
        let list = page_list(&pages);
        r.warn(
            Code::GrayPage,
            pages.first().copied(),
            format!("Trang {list} được quét không màu (thang xám hoặc đen trắng)."),
            format!("Page(s) {list} were scanned without colour (greyscale or black and white)."),
        );
    }
    if !odd.is_empty() {
        let pages: Vec<usize> = odd.iter().map(|(p, _, _)| *p).collect();
        let list = page_list(&pages);
        let (_, w, h) = odd.first().copied().unwrap_or_default();
        r.warn(
            Code::UnusualPageSize,
            pages.first().copied(),
            format!(
                "Trang {list} có khổ {w:.0} × {h:.0} mm, không phải khổ giấy thông dụng (A4, \
                 A3, A5…): hãy kiểm tra bản quét giữ đúng tỷ lệ 100%."
            ),
            format!(
                "Page(s) {list} measure {w:.0} × {h:.0} mm, no usual paper size (A4, A3, A5…): \
                 check that the scan is at 100 % scale."
            ),
        );
    }
    out
}

/// The resolution and colour of one page from the images it paints.
fn page_scan(
    doc: &Document,
    draws: &[ImageDraw],
    page_area: f64,
    unit: f64,
) -> (Option<f64>, Option<ScanColour>) {
    if !(page_area.is_finite() && page_area > 0.0) {
        return (None, None);
    }
    // (share of the page, dpi, colour) of each image.
    let images: Vec<(f64, f64, ScanColour)> = draws
        .iter()
        .filter_map(|d| {
            let [a, b, c, dd, _, _] = d.ctm;
            let area = (a * dd - b * c).abs() / page_area;
            let width_in = a.hypot(b) * unit / 72.0;
            let height_in = c.hypot(dd) * unit / 72.0;
            let (w, h) = image_size(&d.dict)?;
            if !(width_in > 0.0 && height_in > 0.0 && area.is_finite()) {
                return None;
            }
            let dpi = (w / width_in).min(h / height_in);
            dpi.is_finite()
                .then(|| (area, dpi, image_colour(doc, &d.dict)))
        })
        .collect();
    let best = images
        .iter()
        .filter(|(s, _, _)| *s >= PAGE_IMAGE_SHARE)
        .fold(None::<(f64, ScanColour)>, |acc, &(_, dpi, col)| match acc {
            None => Some((dpi, col)),
            Some((d, c)) => Some((d.max(dpi), c.max(col))),
        });
    if let Some((dpi, col)) = best {
        return (Some(dpi), Some(col));
    }
    let strips: Vec<&(f64, f64, ScanColour)> = images
        .iter()
        .filter(|(s, _, _)| *s >= STRIP_SHARE)
        .collect();
    let covered: f64 = strips.iter().map(|(s, _, _)| *s).sum();
    if covered < PAGE_IMAGE_SHARE {
        return (None, None);
    }
    let dpi = strips
        .iter()
        .map(|(_, d, _)| *d)
        .fold(f64::INFINITY, f64::min);
    let col = strips
        .iter()
        .map(|(_, _, c)| *c)
        .max()
        .unwrap_or(ScanColour::Colour);
    (Some(dpi), Some(col))
}

/// An image dictionary's entry under its full or inline (abbreviated) key.
fn entry<'d>(d: &'d Dict, full: &str, short: &str) -> Option<&'d Object> {
    d.get(full).or_else(|| d.get(short))
}

/// Pixel width and height.
fn image_size(d: &Dict) -> Option<(f64, f64)> {
    let w = entry(d, "Width", "W")?.as_f64()?;
    let h = entry(d, "Height", "H")?.as_f64()?;
    (w >= 1.0 && h >= 1.0).then_some((w, h))
}

/// The names of an image's filters.
fn filters(d: &Dict) -> Vec<String> {
    match entry(d, "Filter", "F") {
        Some(Object::Name(n)) => vec![n.as_str().into_owned()],
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|o| o.as_name().map(|n| n.as_str().into_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

fn image_colour(doc: &Document, d: &Dict) -> ScanColour {
    let mask = matches!(entry(d, "ImageMask", "IM"), Some(Object::Bool(true)));
    let one_bit = entry(d, "BitsPerComponent", "BPC").and_then(Object::as_f64) == Some(1.0);
    let bilevel_filter = filters(d)
        .iter()
        .any(|f| matches!(f.as_str(), "CCITTFaxDecode" | "CCF" | "JBIG2Decode"));
    if mask || bilevel_filter {
        return ScanColour::BlackWhite;
    }
    let space = entry(d, "ColorSpace", "CS").map(|o| doc.resolve(o).unwrap_or(Object::Null));
    let colour = match space {
        Some(s) => space_colour(doc, &s, 0),
        // JPEG 2000 carries its own colour space; nothing else may leave it out.
        None => ScanColour::Colour,
    };
    if one_bit && colour != ScanColour::Colour {
        ScanColour::BlackWhite
    } else {
        colour
    }
}

/// The colour of a colour space (unknown ones: colour, the benefit of the doubt).
fn space_colour(doc: &Document, space: &Object, depth: usize) -> ScanColour {
    let name_colour = |n: &str| match n {
        "DeviceGray" | "G" | "CalGray" | "Separation" => ScanColour::Gray,
        _ => ScanColour::Colour,
    };
    match space {
        Object::Name(n) => name_colour(&n.as_str()),
        Object::Array(a) if depth < 4 => {
            let family = a
                .first()
                .and_then(Object::as_name)
                .map(|n| n.as_str().into_owned());
            let arg = a
                .get(1)
                .map(|o| doc.resolve(o).unwrap_or(Object::Null))
                .unwrap_or(Object::Null);
            match family.as_deref() {
                Some("ICCBased") => match arg.as_stream().and_then(|s| s.dict.get_int("N")) {
                    Some(1) => ScanColour::Gray,
                    _ => ScanColour::Colour,
                },
                Some("Indexed" | "I") => space_colour(doc, &arg, depth + 1),
                Some("DeviceN") => match arg.as_array().map(<[Object]>::len) {
                    Some(1) => ScanColour::Gray,
                    _ => ScanColour::Colour,
                },
                Some(n) => name_colour(n),
                None => ScanColour::Colour,
            }
        }
        _ => ScanColour::Colour,
    }
}
