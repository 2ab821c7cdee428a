//! The visible signature forms of Decree 30/2020/NĐ-CP, Appendix I:
//!
//! - personal (cell 7c): the signer's signature image, centred between the title line and the
//!   name, placed by a rectangle or found from the title's text on the page;
//! - organization (cell 8): the seal image at its real size, over the left third of the personal
//!   signature image on the same page;
//! - copy (cell 14): at the top right of page 1, the copy form, the copying organization, the
//!   copy's number and notation in the agency's copy series when given ("Số: 05/SY", then in
//!   two lines that keep to the top margin), the place when given and the signing time
//!   (ISO 8601, `+07:00`), no image;
//! - attachment: at the top right of page 1, the number and notation of the main document and
//!   the signing time, no image.
//!
//! "Upright" follows the page's text: a signature sits upright relative to the letter it signs.
//! The reading frame of a page is the direction of most of its text (in a PDF whose page is
//! displayed rotated, that is normally the displayed orientation); a page without text (a scan)
//! uses its `/Rotate`. Rectangles given by callers (`--rect`) are in the displayed page
//! (origin at the bottom left, x to the right, y up, in points). Appearances are built upright
//! and mapped onto the page by [`kyso_pdf::appearance::place`].

use kyso_pdf::appearance::{self, Align, Appearance, TextStyle};
use kyso_pdf::font::{FontEmbedder, FontProgram};
use kyso_pdf::image::{add_image_xobject, decode_png, DecodedImage, ImageLimits};
use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, Object, Page};
use time::OffsetDateTime;

use crate::sign::Widget;
use crate::{pdfdate, Error, Result};

/// Where a personal signature image goes.
#[derive(Debug, Clone)]
pub enum Position {
    /// A rectangle `[x1, y1, x2, y2]` in points on page `page` (0-based), visual space.
    Rect { page: usize, rect: [f64; 4] },
    /// The region between the title line containing `text` and the signer's name below it, on
    /// `page` or, when `None`, on the last page that has it.
    Anchor { page: Option<usize>, text: String },
}

/// The copy forms of Decree 30 Art. 25.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyForm {
    /// Sao y.
    Certified,
    /// Sao lục.
    Transcribed,
    /// Trích sao.
    Excerpt,
}

impl CopyForm {
    /// The words written on the copy.
    pub fn label(self) -> &'static str {
        match self {
            CopyForm::Certified => "SAO Y",
            CopyForm::Transcribed => "SAO LỤC",
            CopyForm::Excerpt => "TRÍCH SAO",
        }
    }
}

/// One visible form, with what it needs.
#[derive(Debug, Clone)]
pub enum VisibleForm {
    /// The signer's own signature: a (blue, transparent) PNG image.
    Personal { image: Vec<u8>, position: Position },
    /// The organization's seal PNG at its real size, over the left third of the personal
    /// signature on `page`, or at `position` when given.
    Organization {
        seal: Vec<u8>,
        /// The seal's real diameter; by default taken from the image's DPI.
        diameter_mm: Option<f64>,
        /// The page to look on for the personal signature (0-based; by default the last page
        /// holding a visible signature).
        page: Option<usize>,
        /// An explicit place (the seal is centred in it, at its real size).
        position: Option<Position>,
    },
    /// An electronic copy: the form, the copying organization's name, and when known the
    /// copy's number and notation ("05/SY": "Số: 05/SY") and the place name before the
    /// signing time ("Nghệ An, 2026-06-01T09:00:00+07:00").
    Copy {
        form: CopyForm,
        org_name: String,
        number: Option<String>,
        place: Option<String>,
    },
    /// A separate attachment or appendix: the main document's number and notation.
    Attachment { doc_number: String },
}

/// The text size of stamps (Decree 30: Times New Roman, 10 pt for these lines).
pub const STAMP_TEXT_PT: f64 = 10.0;

/// Build the widget builder for `form`, to pass to [`crate::prepare`] or [`crate::sign_with`].
/// The images are decoded first, so a bad image is refused before anything is written.
pub fn widget_builder(
    form: VisibleForm,
    signing_time: OffsetDateTime,
) -> Result<Box<crate::WidgetBuilder<'static>>> {
    let limits = ImageLimits::default();
    Ok(match form {
        VisibleForm::Personal { image, position } => {
            let img = decode_png(&image, &limits)?;
            Box::new(move |doc: &Document, update: &mut IncrementalUpdate| {
                personal(doc, update, &img, &position)
            })
        }
        VisibleForm::Organization {
            seal,
            diameter_mm,
            page,
            position,
        } => {
            let img = decode_png(&seal, &limits)?;
            let (w, h) = seal_size(&img, diameter_mm)?;
            Box::new(move |doc: &Document, update: &mut IncrementalUpdate| {
                organization(doc, update, &img, (w, h), page, position.as_ref())
            })
        }
        VisibleForm::Copy {
            form,
            org_name,
            number,
            place,
        } => {
            // With a number, two lines, so that the stamp stays in the top margin above the
            // national motto (Decree 30's smallest top margin, 20 mm, holds two 10 pt lines
            // below the stamp's own 10 mm): the form and the organization; the number, the
            // place and the signing time (its date and time, ISO 8601). Without a number, the
            // three lines of the form, the organization and the time.
            let shown = |s: &Option<String>| {
                s.as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let time = pdfdate::iso8601_vn(signing_time);
            let when = match shown(&place) {
                Some(p) => format!("{p}, {time}"),
                None => time,
            };
            let lines = match shown(&number) {
                Some(n) => vec![
                    format!("{} — {org_name}", form.label()),
                    format!("Số: {n} — {when}"),
                ],
                None => vec![form.label().to_owned(), org_name, when],
            };
            Box::new(move |doc: &Document, update: &mut IncrementalUpdate| {
                stamp(doc, update, &lines)
            })
        }
        VisibleForm::Attachment { doc_number } => {
            let lines = vec![doc_number, pdfdate::iso8601_vn(signing_time)];
            Box::new(move |doc: &Document, update: &mut IncrementalUpdate| {
                stamp(doc, update, &lines)
            })
        }
    })
}

/// The seal's real size in points, from `diameter_mm` or else from the image's DPI.
fn seal_size(img: &DecodedImage, diameter_mm: Option<f64>) -> Result<(f64, f64)> {
    let (wpx, hpx) = (f64::from(img.width), f64::from(img.height));
    match diameter_mm {
        Some(d) if d.is_finite() && (5.0..=200.0).contains(&d) => {
            let w = appearance::mm(d);
            Ok((w, w * hpx / wpx))
        }
        Some(_) => Err(Error::Form(FormError::BadSealSize)),
        None => match img.dpi {
            Some((dx, dy)) if dx > 0.0 && dy > 0.0 => Ok((wpx / dx * 72.0, hpx / dy * 72.0)),
            _ => Err(Error::Form(FormError::SealWithoutDpi)),
        },
    }
}

/// What went wrong placing a visible signature.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    #[error("anchor text {0:?} not found")]
    AnchorNotFound(String),
    #[error("the rectangle is empty or outside the page")]
    BadRect,
    #[error("no visible personal signature on page {0} for the seal to overlap")]
    NoPersonalSignature(usize),
    #[error("no visible personal signature in the document for the seal to overlap")]
    NoPersonalSignatureAnywhere,
    #[error("the seal image has no resolution (pHYs); give its diameter")]
    SealWithoutDpi,
    #[error("the seal diameter must be between 5 and 200 mm")]
    BadSealSize,
}

fn page_at(pages: &[Page], index: usize) -> Result<&Page> {
    pages.get(index).ok_or(Error::PageOutOfRange {
        page: index + 1,
        count: pages.len(),
    })
}

/// The page as it reads: `page` with `/Rotate` replaced by the direction of most of its text
/// (weighted by characters; 0, 90, 180 or 270 degrees counter-clockwise in user space), so that
/// placement math makes appearances upright relative to the text. Pages without text keep
/// their `/Rotate`.
fn reading_frame(doc: &Document, index: usize, page: &Page) -> Page {
    let Ok(text) = kyso_pdf::text::page_text(doc, index) else {
        return page.clone();
    };
    let mut weight = [0usize; 4];
    for line in &text.lines {
        if let Some(w) = weight.get_mut(usize::from(quarter_turns(line.dir))) {
            *w += line.text.chars().count();
        }
    }
    let best = (0u16..4).max_by_key(|&q| weight.get(usize::from(q)).copied().unwrap_or(0));
    match best {
        Some(q) if weight.iter().any(|&w| w > 0) => frame_along(page, q),
        _ => page.clone(),
    }
}

/// Quarter turns (0–3, counter-clockwise) nearest to the text direction `dir`.
fn quarter_turns(dir: [f64; 2]) -> u16 {
    let angle = dir[1].atan2(dir[0]).to_degrees();
    u16::try_from(((angle / 90.0).round() as i64).rem_euclid(4)).unwrap_or(0)
}

/// `page` read along text turned by `q` quarter turns.
fn frame_along(page: &Page, q: u16) -> Page {
    Page {
        rotate: q * 90,
        ..page.clone()
    }
}

/// Check a visual rectangle against the displayed page; returns it normalised.
fn check_rect(page: &Page, r: [f64; 4]) -> Result<[f64; 4]> {
    let [a, b, c, d] = r;
    let r = [a.min(c), b.min(d), a.max(c), b.max(d)];
    let (vw, vh) = appearance::visual_size(page);
    let ok = r.iter().all(|v| v.is_finite())
        && r[2] - r[0] >= 1.0
        && r[3] - r[1] >= 1.0
        && r[0] >= -1.0
        && r[1] >= -1.0
        && r[2] <= vw + 1.0
        && r[3] <= vh + 1.0;
    if ok {
        Ok(r)
    } else {
        Err(Error::Form(FormError::BadRect))
    }
}

/// Resolve a [`Position`] to a page index, a rectangle, and the frame it is expressed in (the
/// displayed page for `Rect`, the reading frame for an anchor).
fn resolve_position(
    doc: &Document,
    pages: &[Page],
    pos: &Position,
) -> Result<(usize, [f64; 4], Page)> {
    match pos {
        Position::Rect { page, rect } => {
            let p = page_at(pages, *page)?;
            Ok((*page, check_rect(p, *rect)?, p.clone()))
        }
        Position::Anchor { page, text } => {
            if let Some(i) = page {
                page_at(pages, *i)?;
            }
            let hit = kyso_pdf::text::locate_anchor(doc, *page, text)?
                .ok_or_else(|| Error::Form(FormError::AnchorNotFound(text.clone())))?;
            // Upright along the title the anchor found (its page text is already read).
            let frame = frame_along(page_at(pages, hit.page)?, quarter_turns(hit.dir));
            let region = appearance::user_to_visual_rect(&frame, hit.region);
            Ok((hit.page, region, frame))
        }
    }
}

/// `w × h` centred in `r`.
fn centred(r: [f64; 4], w: f64, h: f64) -> [f64; 4] {
    let (cx, cy) = ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

/// Put `ap` (built upright, `ap.width × ap.height`) at `visual`, a rectangle in `frame` (page
/// `page` as displayed or as it reads).
fn finish(
    update: &mut IncrementalUpdate,
    frame: &Page,
    page: usize,
    visual: [f64; 4],
    ap: &Appearance,
) -> Result<Widget> {
    let placement = appearance::place(frame, visual);
    placement.apply(update, ap)?;
    Ok(Widget {
        page,
        rect: placement.rect,
        appearance: Some(ap.xobject),
    })
}

fn personal(
    doc: &Document,
    update: &mut IncrementalUpdate,
    img: &DecodedImage,
    pos: &Position,
) -> Result<Widget> {
    let pages = doc.pages()?;
    let (page, region, frame) = resolve_position(doc, &pages, pos)?;
    // The image fills the region as far as its aspect ratio allows; the widget is exactly the
    // image, so the seal can later be placed against its real left edge.
    let (iw, ih) = (f64::from(img.width), f64::from(img.height));
    let scale = ((region[2] - region[0]) / iw).min((region[3] - region[1]) / ih);
    let (w, h) = (iw * scale, ih * scale);
    let xobj = add_image_xobject(update, img);
    let ap = appearance::image_box(update, xobj, img.width, img.height, w, h)?;
    finish(update, &frame, page, centred(region, w, h), &ap)
}

fn organization(
    doc: &Document,
    update: &mut IncrementalUpdate,
    img: &DecodedImage,
    (w, h): (f64, f64),
    page: Option<usize>,
    position: Option<&Position>,
) -> Result<Widget> {
    let pages = doc.pages()?;
    let (page, visual, frame) = match position {
        Some(pos) => {
            let (page, region, frame) = resolve_position(doc, &pages, pos)?;
            (page, centred(region, w, h), frame)
        }
        None => {
            let (page, sig, frame) = personal_signature(doc, &pages, page)?;
            // Decree 30: the seal covers about one third of the signature image, on its left.
            let right = sig[0] + (sig[2] - sig[0]) / 3.0;
            let cy = (sig[1] + sig[3]) / 2.0;
            (page, [right - w, cy - h / 2.0, right, cy + h / 2.0], frame)
        }
    };
    let xobj = add_image_xobject(update, img);
    let ap = appearance::image_box(update, xobj, img.width, img.height, w, h)?;
    finish(update, &frame, page, visual, &ap)
}

/// The rectangle, in the page's reading frame, of the last visible, signed signature widget on
/// `page` (or on the last page that has one), with that frame.
fn personal_signature(
    doc: &Document,
    pages: &[Page],
    page: Option<usize>,
) -> Result<(usize, [f64; 4], Page)> {
    let candidates: Vec<usize> = match page {
        Some(i) => {
            page_at(pages, i)?;
            vec![i]
        }
        None => (0..pages.len()).rev().collect(),
    };
    for i in candidates {
        let p = page_at(pages, i)?;
        if let Some(r) = signed_widgets(doc, p)?.last() {
            let frame = reading_frame(doc, i, p);
            return Ok((i, appearance::user_to_visual_rect(&frame, *r), frame));
        }
    }
    Err(Error::Form(match page {
        Some(i) => FormError::NoPersonalSignature(i + 1),
        None => FormError::NoPersonalSignatureAnywhere,
    }))
}

/// The `/Rect`s (user space) of signed, visible signature widgets on `page`, in `/Annots` order.
pub fn signed_widgets(doc: &Document, page: &Page) -> Result<Vec<[f64; 4]>> {
    annotation_rects(doc, page, |d| {
        if d.get_name("Subtype").map(|n| n.as_bytes()) != Some(b"Widget") {
            return false;
        }
        // FT and V may sit on the widget (merged field) or on its parent field.
        let parent = match d.get("Parent") {
            Some(p) => doc.resolve_dict(p, "form field").ok(),
            None => None,
        };
        let get = |k: &str| d.get(k).or_else(|| parent.as_ref().and_then(|p| p.get(k)));
        let is_sig = get("FT")
            .and_then(Object::as_name)
            .is_some_and(|n| n.as_bytes() == b"Sig");
        is_sig && get("V").is_some()
    })
}

/// The `/Rect`s (user space, with an area) of the annotations on `page` that `keep` accepts,
/// in `/Annots` order.
fn annotation_rects(
    doc: &Document,
    page: &Page,
    keep: impl Fn(&Dict) -> bool,
) -> Result<Vec<[f64; 4]>> {
    let mut out = Vec::new();
    let Some(annots) = page.dict.get("Annots") else {
        return Ok(out);
    };
    let annots = doc.resolve(annots)?;
    for a in annots.as_array().unwrap_or_default().iter().take(10_000) {
        let Ok(d) = doc.resolve_dict(a, "annotation") else {
            continue;
        };
        if !keep(&d) {
            continue;
        }
        let Some(rect) = d.get("Rect").map(|r| doc.rect(r)).transpose()?.flatten() else {
            continue;
        };
        if rect[2] - rect[0] > 1.0 && rect[3] - rect[1] > 1.0 {
            out.push(rect);
        }
    }
    Ok(out)
}

/// The copy and attachment stamps: right-aligned lines at the top right of page 1.
fn stamp(doc: &Document, update: &mut IncrementalUpdate, lines: &[String]) -> Result<Widget> {
    let pages = doc.pages()?;
    let first = page_at(&pages, 0)?;
    let font = FontProgram::liberation_serif_regular()?;
    let mut embedder = FontEmbedder::new(&font);
    let style = TextStyle {
        size_pt: STAMP_TEXT_PT,
        align: Align::Right,
        line_gap: 1.0,
    };
    let ap = appearance::text_block(update, &mut embedder, lines, &style)?;
    embedder.embed(update)?;
    let frame = reading_frame(doc, 0, first);
    let corner = appearance::top_right(
        &frame,
        ap.width,
        ap.height,
        appearance::STAMP_MARGIN_RIGHT_PT,
        appearance::STAMP_MARGIN_TOP_PT,
    );
    // An earlier stamp (an electronic copy of a copy, an appendix stamped twice) already sits
    // in that corner: go to its left, in the same top margin (below it is the national motto
    // and the issuing body), so the new stamp never paints over what an earlier signature
    // shows (a verifier rightly calls that an overlay).
    let taken: Vec<[f64; 4]> = visible_annotation_rects(doc, first)?
        .into_iter()
        .map(|r| appearance::user_to_visual_rect(&frame, r))
        .collect();
    let visual = clear_of(corner, &taken).unwrap_or(corner);
    finish(update, &frame, 0, visual, &ap)
}

/// Space between a stamp and one placed beside it, in points.
const STAMP_GAP_PT: f64 = 6.0;

/// `rect` moved left (visual space) until it overlaps none of `taken`; `None` when it would
/// leave the page.
fn clear_of(rect: [f64; 4], taken: &[[f64; 4]]) -> Option<[f64; 4]> {
    let overlaps =
        |a: &[f64; 4], b: &[f64; 4]| a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
    let mut r = rect;
    for _ in 0..=taken.len() {
        let Some(leftmost) = taken
            .iter()
            .filter(|t| overlaps(&r, t))
            .map(|t| t[0])
            .reduce(f64::min)
        else {
            return Some(r);
        };
        let w = r[2] - r[0];
        r = [
            leftmost - STAMP_GAP_PT - w,
            r[1],
            leftmost - STAMP_GAP_PT,
            r[3],
        ];
        if r[0] < 0.0 {
            return None;
        }
    }
    None
}

/// The `/Rect`s (user space) of the annotations a viewer shows on `page`: not Hidden (flag 2)
/// nor NoView (flag 32), with an area.
fn visible_annotation_rects(doc: &Document, page: &Page) -> Result<Vec<[f64; 4]>> {
    annotation_rects(doc, page, |d| {
        d.get_int("F").is_none_or(|f| f & (2 | 32) == 0)
    })
}
