//! The format check of a draft before it goes to approval and signing (issue 17, Decree
//! 30/2020/NĐ-CP): pure, on the draft's bytes, no I/O, never panicking on hostile input.
//!
//! **Errors** (the draft is refused until fixed): not a readable PDF, encrypted, PDF version
//! below 1.4, a page that is not A4 (210 × 297 mm ± 1 mm, portrait or landscape), a font that is
//! not embedded, JavaScript anywhere (a `/JS` entry, a `/S /JavaScript` action, the catalog's
//! `/Names /JavaScript` tree — so also an `/OpenAction` that runs JavaScript) or additional
//! actions (`/AA` on the catalog, a page, an annotation or a field).
//!
//! **Warnings** (Decree 30's layout, Appendix I; reported, not refused): margins outside top
//! 20–25 mm, bottom 20–25 mm, left 30–35 mm, right 15–20 mm, and the first page without the
//! number line (`Số:`) or the place-and-date line (`…, ngày … tháng … năm …`) in its header
//! block; landscape pages are noted; a page without text (a scan) cannot be measured.
//!
//! Margins are measured from the bounding box of the text (its lines, as
//! `kyso_pdf::text::page_text` places them; images are left out, as a scan's page-sized image
//! or a background says nothing of the layout), in the page as displayed (after `/Rotate`).
//! Content inside a margin is a warning on any page; a margin wider than Decree 30's is judged
//! on the widest extent over the pages (the bottom one only over pages before the last, which
//! may end early), so a short letter is not blamed for its white space.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use kyso_pdf::text::{normalize, page_text};
use kyso_pdf::xref::Entry;
use kyso_pdf::{Dict, Document, Limits, MemSource, ObjRef, Object, Page};

/// Points per millimetre.
const PT_PER_MM: f64 = 72.0 / 25.4;
/// A4 in millimetres, and the tolerance on each side.
const A4_MM: (f64, f64) = (210.0, 297.0);
const A4_TOLERANCE_MM: f64 = 1.0;
/// Tolerance of the margin checks (line boxes run from the font's ascent, not the ink).
const MARGIN_TOLERANCE_MM: f64 = 1.0;
/// Decree 30's margins (Appendix I §II.1): [min, max] in millimetres.
pub const MARGIN_TOP_MM: [f64; 2] = [20.0, 25.0];
pub const MARGIN_BOTTOM_MM: [f64; 2] = [20.0, 25.0];
pub const MARGIN_LEFT_MM: [f64; 2] = [30.0, 35.0];
pub const MARGIN_RIGHT_MM: [f64; 2] = [15.0, 20.0];
/// The header block where the number and date lines belong: the top part of the first page.
const HEADER_SHARE: f64 = 0.4;
/// Pages whose content is measured for margins (the rest are counted and size-checked only).
const MAX_MEASURED_PAGES: usize = 200;
/// Objects scanned for JavaScript and actions; a document with more is reported as not
/// fully checked (an error: it cannot be shown to be free of them).
const MAX_SCANNED_OBJECTS: usize = 500_000;
/// Fonts examined, and how deep form XObjects are followed for their fonts.
const MAX_FONTS: usize = 10_000;
const MAX_XOBJECT_DEPTH: usize = 8;
/// How deep a dictionary is searched for actions.
const MAX_ACTION_DEPTH: usize = 16;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The draft must be fixed before it goes on.
    Error,
    /// Decree 30 layout: shown to the drafter and the reviewer, not refused.
    Warning,
}

/// What a finding is about; [`Code::as_str`] is its stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    NotPdf,
    Unreadable,
    Encrypted,
    VersionTooOld,
    NoPages,
    NotA4,
    FontNotEmbedded,
    JavaScript,
    AdditionalActions,
    NotFullyChecked,
    Landscape,
    NoText,
    MarginTop,
    MarginBottom,
    MarginLeft,
    MarginRight,
    NoNumberLine,
    NoDateLine,
    // The scan check (`crate::scan_check`).
    NoScanImage,
    LowResolution,
    NotColour,
    GrayPage,
    UnusualPageSize,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotPdf => "NOT_PDF",
            Code::Unreadable => "UNREADABLE",
            Code::Encrypted => "ENCRYPTED",
            Code::VersionTooOld => "VERSION_TOO_OLD",
            Code::NoPages => "NO_PAGES",
            Code::NotA4 => "NOT_A4",
            Code::FontNotEmbedded => "FONT_NOT_EMBEDDED",
            Code::JavaScript => "JAVASCRIPT",
            Code::AdditionalActions => "ADDITIONAL_ACTIONS",
            Code::NotFullyChecked => "NOT_FULLY_CHECKED",
            Code::Landscape => "LANDSCAPE",
            Code::NoText => "NO_TEXT",
            Code::MarginTop => "MARGIN_TOP",
            Code::MarginBottom => "MARGIN_BOTTOM",
            Code::MarginLeft => "MARGIN_LEFT",
            Code::MarginRight => "MARGIN_RIGHT",
            Code::NoNumberLine => "NO_NUMBER_LINE",
            Code::NoDateLine => "NO_DATE_LINE",
            Code::NoScanImage => "NO_SCAN_IMAGE",
            Code::LowResolution => "LOW_RESOLUTION",
            Code::NotColour => "NOT_COLOUR",
            Code::GrayPage => "GRAY_PAGE",
            Code::UnusualPageSize => "UNUSUAL_PAGE_SIZE",
        }
    }
}

/// One thing the check found, in Vietnamese and English.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub code: Code,
    /// The 1-based page it concerns, if one.
    pub page: Option<usize>,
    pub vi: String,
    pub en: String,
}

/// One page's size as displayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageFormat {
    /// Width and height in millimetres, after `/Rotate` and `/UserUnit`.
    pub width_mm: f64,
    pub height_mm: f64,
    pub a4: bool,
    pub landscape: bool,
}

/// Margins in millimetres, as displayed: [top, right, bottom, left].
pub type MarginsMm = [f64; 4];

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormatReport {
    /// The effective PDF version (`"1.7"`: the header, or the catalog's `/Version` if later).
    pub version: Option<String>,
    pub page_count: usize,
    pub pages: Vec<PageFormat>,
    /// The first page's margins measured from its content, when it has any.
    pub first_page_margins: Option<MarginsMm>,
    pub findings: Vec<Finding>,
}

impl FormatReport {
    /// No errors (warnings allowed).
    pub fn passes(&self) -> bool {
        self.errors().next().is_none()
    }
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }
    /// Whether some finding has this code.
    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    fn push(
        &mut self,
        severity: Severity,
        code: Code,
        page: Option<usize>,
        vi: String,
        en: String,
    ) {
        self.findings.push(Finding {
            severity,
            code,
            page,
            vi,
            en,
        });
    }
    pub(crate) fn error(&mut self, code: Code, page: Option<usize>, vi: String, en: String) {
        self.push(Severity::Error, code, page, vi, en);
    }
    pub(crate) fn warn(&mut self, code: Code, page: Option<usize>, vi: String, en: String) {
        self.push(Severity::Warning, code, page, vi, en);
    }
}

/// Check a draft with kyso-pdf's default limits.
pub fn check(pdf: &[u8]) -> FormatReport {
    check_with(pdf, &Limits::default())
}

/// Check a draft within `limits` (the fuzz target uses small ones).
pub fn check_with(pdf: &[u8], limits: &Limits) -> FormatReport {
    let mut r = FormatReport::default();
    let Some((doc, pages)) = open_checked(pdf, limits, &mut r) else {
        return r;
    };
    check_sizes(&pages, &mut r);
    check_fonts(&doc, &pages, &mut r);
    check_actions(&doc, &mut r);
    check_layout(&doc, &pages, &mut r);
    // Errors first, each kind in the order found.
    r.findings.sort_by_key(|f| f.severity);
    r
}

/// Open `pdf` for a check: the version (≥ 1.4), the pages (at least one) into `r`; `None` when
/// the check cannot go on (not a PDF, encrypted, unreadable, no pages — each reported in `r`).
pub(crate) fn open_checked(
    pdf: &[u8],
    limits: &Limits,
    r: &mut FormatReport,
) -> Option<(Document, Vec<Page>)> {
    r.version = header_version(pdf);
    let doc = match Document::open(Arc::new(MemSource::new(pdf.to_vec())), limits.clone()) {
        Ok(d) => d,
        Err(kyso_pdf::Error::NotPdf) => {
            r.error(
                Code::NotPdf,
                None,
                "Tệp không phải PDF.".into(),
                "The file is not a PDF.".into(),
            );
            return None;
        }
        Err(kyso_pdf::Error::Encrypted) => {
            r.error(
                Code::Encrypted,
                None,
                "Tệp PDF bị mã hóa; hãy gửi bản không đặt mật khẩu hay hạn chế.".into(),
                "The PDF is encrypted; send it without a password or restrictions.".into(),
            );
            return None;
        }
        Err(e) => {
            unreadable(r, &e);
            return None;
        }
    };
    check_version(&doc, r);
    let pages = match doc.pages() {
        Ok(p) => p,
        Err(e) => {
            unreadable(r, &e);
            return None;
        }
    };
    r.page_count = pages.len();
    if pages.is_empty() {
        r.error(
            Code::NoPages,
            None,
            "Tệp PDF không có trang nào.".into(),
            "The PDF has no pages.".into(),
        );
        return None;
    }
    Some((doc, pages))
}

fn unreadable(r: &mut FormatReport, e: &kyso_pdf::Error) {
    r.error(
        Code::Unreadable,
        None,
        format!("Không đọc được tệp PDF (tệp hỏng hoặc không đúng chuẩn): {e}"),
        format!("The PDF cannot be read (damaged or not standard): {e}"),
    );
}

/// `%PDF-x.y` in the first 1024 bytes.
fn header_version(pdf: &[u8]) -> Option<String> {
    let head = pdf.get(..pdf.len().min(1024))?;
    let at = head.windows(5).position(|w| w == b"%PDF-")?;
    let v = head.get(at + 5..)?;
    let (&major, rest) = v.split_first()?;
    let (&dot, rest) = rest.split_first()?;
    let (&minor, _) = rest.split_first()?;
    (major.is_ascii_digit() && dot == b'.' && minor.is_ascii_digit())
        .then(|| format!("{}.{}", char::from(major), char::from(minor)))
}

/// "1.7" → (1, 7).
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn check_version(doc: &Document, r: &mut FormatReport) {
    // The catalog's /Version (PDF 1.4+) wins over the header when it is later.
    if let Some(v) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get_name("Version").map(|n| n.as_str().into_owned()))
    {
        let later = match (
            parse_version(&v),
            r.version.as_deref().and_then(parse_version),
        ) {
            (Some(cat), Some(head)) => cat > head,
            (Some(_), None) => true,
            _ => false,
        };
        if later {
            r.version = Some(v);
        }
    }
    match r.version.as_deref().and_then(parse_version) {
        Some(v) if v >= (1, 4) => {}
        Some(_) => {
            let v = r.version.clone().unwrap_or_default();
            r.error(
                Code::VersionTooOld,
                None,
                format!("Phiên bản PDF {v} thấp hơn 1.4 theo yêu cầu."),
                format!("PDF version {v} is below the required 1.4."),
            );
        }
        None => r.error(
            Code::VersionTooOld,
            None,
            "Không xác định được phiên bản PDF (cần 1.4 trở lên).".into(),
            "The PDF version cannot be determined (1.4 or later is required).".into(),
        ),
    }
}

/// The displayed size of a page in millimetres.
pub(crate) fn page_size_mm(p: &Page) -> (f64, f64) {
    let unit = p
        .dict
        .get("UserUnit")
        .and_then(Object::as_f64)
        .filter(|u| u.is_finite() && *u > 0.0)
        .unwrap_or(1.0);
    let c = p.crop_box;
    let w = (c[2] - c[0]) * unit / PT_PER_MM;
    let h = (c[3] - c[1]) * unit / PT_PER_MM;
    if p.rotate % 180 == 90 {
        (h, w)
    } else {
        (w, h)
    }
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= A4_TOLERANCE_MM
}

fn check_sizes(pages: &[Page], r: &mut FormatReport) {
    let mut landscape = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        let (w, h) = page_size_mm(p);
        let portrait = near(w, A4_MM.0) && near(h, A4_MM.1);
        let wide = near(w, A4_MM.1) && near(h, A4_MM.0);
        r.pages.push(PageFormat {
            width_mm: w,
            height_mm: h,
            a4: portrait || wide,
            landscape: w > h,
        });
        if !(portrait || wide) {
            r.error(
                Code::NotA4,
                Some(i + 1),
                format!(
                    "Trang {} có khổ {w:.1} × {h:.1} mm, không phải A4 (210 × 297 mm).",
                    i + 1
                ),
                format!(
                    "Page {} is {w:.1} × {h:.1} mm, not A4 (210 × 297 mm).",
                    i + 1
                ),
            );
        } else if wide {
            landscape.push(i + 1);
        }
    }
    if !landscape.is_empty() {
        let list = page_list(&landscape);
        r.warn(
            Code::Landscape,
            landscape.first().copied(),
            format!("Trang {list} đặt khổ A4 nằm ngang."),
            format!("Page(s) {list} are A4 landscape."),
        );
    }
}

pub(crate) fn page_list(pages: &[usize]) -> String {
    let shown: Vec<String> = pages.iter().take(10).map(ToString::to_string).collect();
    let more = if pages.len() > 10 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// Every font used by the pages (and their form XObjects): is its program embedded?
fn check_fonts(doc: &Document, pages: &[Page], r: &mut FormatReport) {
    // Font name → first page using it, for the fonts that are not embedded.
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_fonts: HashSet<ObjRef> = HashSet::new();
    let mut seen_forms: HashSet<ObjRef> = HashSet::new();
    let mut budget = MAX_FONTS;
    let mut failed = false;
    for (i, p) in pages.iter().enumerate() {
        let Some(res) = &p.resources else { continue };
        let mut stack = vec![(res.clone(), 0usize)];
        while let Some((res, depth)) = stack.pop() {
            let Ok(res) = doc.resolve(&res) else {
                failed = true;
                continue;
            };
            let Some(res) = res.as_dict() else { continue };
            if let Some(Ok(Object::Dict(fonts))) = res.get("Font").map(|f| doc.resolve(f)) {
                for (_, font) in fonts.iter() {
                    if budget == 0 {
                        failed = true;
                        break;
                    }
                    budget -= 1;
                    if let Some(fr) = font.as_ref() {
                        if !seen_fonts.insert(fr) {
                            continue;
                        }
                    }
                    match font_embedded(doc, font) {
                        Ok((_, true)) => {}
                        Ok((name, false)) => {
                            missing.entry(name).or_insert(i + 1);
                        }
                        Err(_) => failed = true,
                    }
                }
            }
            if depth >= MAX_XOBJECT_DEPTH {
                continue;
            }
            if let Some(Ok(Object::Dict(xobjects))) = res.get("XObject").map(|x| doc.resolve(x)) {
                for (_, xo) in xobjects.iter() {
                    let Some(xr) = xo.as_ref() else { continue };
                    if !seen_forms.insert(xr) || seen_forms.len() > MAX_FONTS {
                        continue;
                    }
                    if let Ok(Object::Stream(s)) = doc.get(xr) {
                        if s.dict.get_name("Subtype").is_some_and(|n| n == "Form") {
                            if let Some(res) = s.dict.get("Resources") {
                                stack.push((res.clone(), depth + 1));
                            }
                        }
                    }
                }
            }
        }
    }
    for (name, page) in missing {
        r.error(
            Code::FontNotEmbedded,
            Some(page),
            format!("Phông chữ {name} (trang {page}) không được nhúng vào tệp."),
            format!("The font {name} (page {page}) is not embedded."),
        );
    }
    if failed {
        not_fully_checked(r, "phông chữ", "fonts");
    }
}

pub(crate) fn not_fully_checked(r: &mut FormatReport, vi: &str, en: &str) {
    r.error(
        Code::NotFullyChecked,
        None,
        format!("Không kiểm tra hết được {vi} của tệp (tệp hỏng hoặc quá lớn)."),
        format!("The file's {en} could not all be checked (damaged or too large)."),
    );
}

/// A font's name and whether its program is in the file. Type 3 fonts are drawn by the
/// document's own content, so they count as embedded.
fn font_embedded(doc: &Document, font: &Object) -> kyso_pdf::Result<(String, bool)> {
    let font = doc.resolve_dict(font, "font")?;
    let name = font
        .get_name("BaseFont")
        .map(|n| n.as_str().into_owned())
        .unwrap_or_else(|| "(không tên / unnamed)".into());
    let subtype = font.get_name("Subtype").map(|n| n.as_str().into_owned());
    let descriptor_of = |d: &Dict| -> kyso_pdf::Result<Option<Dict>> {
        match d.get("FontDescriptor") {
            Some(fd) => Ok(doc.resolve(fd)?.as_dict().cloned()),
            None => Ok(None),
        }
    };
    let descriptor = match subtype.as_deref() {
        Some("Type3") => return Ok((name, true)),
        Some("Type0") => {
            let desc = doc.resolve(font.get("DescendantFonts").unwrap_or(&Object::Null))?;
            match desc.as_array().and_then(|a| a.first()) {
                Some(cid) => descriptor_of(&doc.resolve_dict(cid, "CIDFont")?)?,
                None => None,
            }
        }
        _ => descriptor_of(&font)?,
    };
    let embedded = descriptor.is_some_and(|d| {
        ["FontFile", "FontFile2", "FontFile3"]
            .iter()
            .any(|k| d.get(k).is_some_and(|v| !matches!(v, Object::Null)))
    });
    Ok((name, embedded))
}

/// What an object carries: JavaScript, additional actions.
#[derive(Default)]
struct Actions {
    js: BTreeSet<ObjRef>,
    aa: BTreeSet<ObjRef>,
}

fn scan_actions(o: &Object, at: ObjRef, depth: usize, found: &mut Actions) {
    if depth > MAX_ACTION_DEPTH {
        return;
    }
    let d = match o {
        Object::Dict(d) => d,
        Object::Stream(s) => &s.dict,
        Object::Array(a) => {
            for x in a {
                scan_actions(x, at, depth + 1, found);
            }
            return;
        }
        _ => return,
    };
    for (k, v) in d.iter() {
        if k == "JS"
            || k == "JavaScript"
            || (k == "S" && v.as_name().is_some_and(|n| n == "JavaScript"))
        {
            found.js.insert(at);
        }
        if k == "AA" && !matches!(v, Object::Null) {
            found.aa.insert(at);
        }
        scan_actions(v, at, depth + 1, found);
    }
}

/// Every object of the document, searched for JavaScript and additional actions (an action
/// can hide behind `/Next`, a name tree, an annotation or a field: scanning the objects finds it
/// wherever it is referenced from).
pub(crate) fn check_actions(doc: &Document, r: &mut FormatReport) {
    let mut found = Actions::default();
    let mut failed = doc.xref().len() > MAX_SCANNED_OBJECTS;
    if let Ok(root) = doc.catalog_ref() {
        // The catalog may be a direct object in odd files; scan it as well.
        if let Ok(cat) = doc.catalog() {
            scan_actions(&Object::Dict(cat), root, 0, &mut found);
        }
    }
    for (&num, entry) in doc.xref().iter().take(MAX_SCANNED_OBJECTS) {
        let gen = match entry {
            Entry::Free => continue,
            Entry::InFile { gen, .. } => *gen,
            Entry::InStream { .. } => 0,
        };
        let at = ObjRef { num, gen };
        match doc.get(at) {
            Ok(o) => scan_actions(&o, at, 0, &mut found),
            Err(_) => failed = true,
        }
    }
    let refs = |s: &BTreeSet<ObjRef>| {
        let v: Vec<String> = s.iter().take(5).map(ToString::to_string).collect();
        let more = if s.len() > 5 { ", …" } else { "" };
        format!("{}{more}", v.join(", "))
    };
    if !found.js.is_empty() {
        let at = refs(&found.js);
        r.error(
            Code::JavaScript,
            None,
            format!("Tệp chứa JavaScript (đối tượng {at}); văn bản không được chứa mã chạy."),
            format!("The file contains JavaScript (objects {at}); a document must not run code."),
        );
    }
    if !found.aa.is_empty() {
        let at = refs(&found.aa);
        r.error(
            Code::AdditionalActions,
            None,
            format!("Tệp chứa hành động tự động (/AA, đối tượng {at})."),
            format!("The file contains additional actions (/AA, objects {at})."),
        );
    }
    if failed {
        not_fully_checked(
            r,
            "các đối tượng (JavaScript, hành động)",
            "objects (JavaScript, actions)",
        );
    }
}

/// [top, right, bottom, left] distances from the displayed page's edges to `b`.
fn displayed_margins(crop: [f64; 4], b: [f64; 4], rotate: u16) -> [f64; 4] {
    let left = b[0] - crop[0];
    let bottom = b[1] - crop[1];
    let right = crop[2] - b[2];
    let top = crop[3] - b[3];
    // /Rotate turns the page clockwise for display.
    match rotate {
        90 => [left, top, right, bottom],
        180 => [bottom, left, top, right],
        270 => [right, bottom, left, top],
        _ => [top, right, bottom, left],
    }
}

fn union(a: Option<[f64; 4]>, b: [f64; 4]) -> Option<[f64; 4]> {
    if !b.iter().all(|v| v.is_finite()) || b[2] < b[0] || b[3] < b[1] {
        return a;
    }
    Some(match a {
        None => b,
        Some(a) => [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ],
    })
}

/// Whether `l` is a page number in the top margin: a line of at most four digits whose top is
/// less than the top margin's minimum from the displayed page's top edge. Decree 30 (Appendix I,
/// II.9) numbers the pages from the second one on, centred "in the top margin", so it is no
/// intrusion of the content into the margin.
fn is_page_number(p: &Page, l: &kyso_pdf::text::Line) -> bool {
    let t = l.text.trim();
    let digits = !t.is_empty() && t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit());
    let top = displayed_margins(p.crop_box, l.bbox, p.rotate)[0] / PT_PER_MM;
    digits && top < MARGIN_TOP_MM[0]
}

fn check_layout(doc: &Document, pages: &[Page], r: &mut FormatReport) {
    let side_names = [
        (Code::MarginTop, "trên", "top", MARGIN_TOP_MM),
        (Code::MarginRight, "phải", "right", MARGIN_RIGHT_MM),
        (Code::MarginBottom, "dưới", "bottom", MARGIN_BOTTOM_MM),
        (Code::MarginLeft, "trái", "left", MARGIN_LEFT_MM),
    ];
    // Per side: the smallest margin seen (widest content), and pages whose content intrudes.
    let mut widest: [Option<f64>; 4] = [None; 4];
    let mut intrusions: [Vec<(usize, f64)>; 4] = Default::default();
    let mut measured_any = false;
    for (i, p) in pages.iter().enumerate().take(MAX_MEASURED_PAGES) {
        let Ok(text) = page_text(doc, i) else {
            continue;
        };
        // Text only: a scan's page-sized image, or a background, says nothing of the layout.
        // The page number stands in the top margin where Decree 30 puts it: not content.
        let mut bbox = None;
        for l in text.lines.iter().filter(|l| !is_page_number(p, l)) {
            bbox = union(bbox, l.bbox);
        }
        let Some(b) = bbox else { continue };
        measured_any = true;
        let m = displayed_margins(p.crop_box, b, p.rotate).map(|v| v / PT_PER_MM);
        if i == 0 {
            r.first_page_margins = Some(m);
        }
        for (side, &v) in m.iter().enumerate() {
            let Some((_, _, _, [min, _])) = side_names.get(side) else {
                continue;
            };
            if v < min - MARGIN_TOLERANCE_MM {
                if let Some(list) = intrusions.get_mut(side) {
                    list.push((i + 1, v));
                }
            }
            // The bottom of the last page says nothing about the bottom margin.
            let counts = side != 2 || i + 1 < pages.len();
            if counts {
                if let Some(w) = widest.get_mut(side) {
                    *w = Some(w.map_or(v, |w: f64| w.min(v)));
                }
            }
        }
        if i == 0 {
            check_header_lines(p, &text.lines, r);
        }
    }
    if !measured_any {
        r.warn(
            Code::NoText,
            Some(1),
            "Không thấy nội dung chữ trong tệp (bản quét?), nên không kiểm tra được lề, số và \
             ngày của văn bản."
                .into(),
            "No text found (a scan?), so the margins, number and date lines cannot be checked."
                .into(),
        );
        return;
    }
    for (side, (code, vi, en, [min, max])) in side_names.iter().enumerate() {
        if let Some(list) = intrusions.get(side).filter(|l| !l.is_empty()) {
            let pages: Vec<usize> = list.iter().map(|(p, _)| *p).collect();
            let worst = list.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
            let pl = page_list(&pages);
            r.warn(
                *code,
                pages.first().copied(),
                format!(
                    "Lề {vi} {worst:.1} mm (trang {pl}) nhỏ hơn {min:.0} mm theo Nghị định 30 \
                     (lề {vi} {min:.0}–{max:.0} mm)."
                ),
                format!(
                    "The {en} margin is {worst:.1} mm (page(s) {pl}), less than Decree 30's \
                     {min:.0} mm ({en} margin {min:.0}–{max:.0} mm)."
                ),
            );
        } else if let Some(Some(w)) = widest.get(side) {
            if *w > max + MARGIN_TOLERANCE_MM {
                r.warn(
                    *code,
                    None,
                    format!(
                        "Lề {vi} {w:.1} mm lớn hơn {max:.0} mm theo Nghị định 30 \
                         (lề {vi} {min:.0}–{max:.0} mm)."
                    ),
                    format!(
                        "The {en} margin is {w:.1} mm, more than Decree 30's {max:.0} mm \
                         ({en} margin {min:.0}–{max:.0} mm)."
                    ),
                );
            }
        }
    }
}

/// The number line (`Số:`) and the place-and-date line (`…, ngày … tháng … năm …`) in the
/// first page's header block. A draft may leave the number and the day blank for the clerk,
/// so only the words are looked for.
fn check_header_lines(p: &Page, lines: &[kyso_pdf::text::Line], r: &mut FormatReport) {
    let (_, height_mm) = page_size_mm(p);
    let height = height_mm * PT_PER_MM;
    let header: Vec<String> = lines
        .iter()
        .filter(|l| displayed_margins(p.crop_box, l.bbox, p.rotate)[0] <= height * HEADER_SHARE)
        .map(|l| normalize(&l.text))
        .collect();
    let number = header.iter().any(|t| {
        t.split(' ')
            .zip(t.split(' ').skip(1).chain(std::iter::once("")))
            .any(|(w, next)| w == "số:" || (w == "số" && next.starts_with(':')))
    });
    let date = header.iter().any(|t| {
        t.find(", ngày").is_some_and(|at| {
            let rest = t.get(at..).unwrap_or_default();
            rest.find("tháng")
                .and_then(|m| rest.get(m..))
                .is_some_and(|rest| rest.contains("năm"))
        })
    });
    if !number {
        r.warn(
            Code::NoNumberLine,
            Some(1),
            "Trang đầu không có dòng số, ký hiệu văn bản (\"Số: …\") ở phần đầu văn bản.".into(),
            "The first page has no number line (\"Số: …\") in its header.".into(),
        );
    }
    if !date {
        r.warn(
            Code::NoDateLine,
            Some(1),
            "Trang đầu không có dòng địa danh, ngày tháng (\"…, ngày … tháng … năm …\") ở phần \
             đầu văn bản."
                .into(),
            "The first page has no place and date line (\"…, ngày … tháng … năm …\") in its \
             header."
                .into(),
        );
    }
}
