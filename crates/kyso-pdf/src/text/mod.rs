//! Page text with positions, and the anchor finder that places a visible signature.
//!
//! The pipeline: [`content`] interprets a page's content streams into [`Glyph`]s (Unicode text
//! placed in default user space), using [`fonts`] (which reads [`cmap`]s and [`encoding`]s) to
//! decode strings; [`layout`] groups glyphs into words and [`Line`]s; [`locate_anchor`] finds
//! a signer's title ("GIÁM ĐỐC") and the blank space between it and the signer's name, where
//! Decree 30 puts the signature image.
//!
//! All coordinates are in default user space (the page's coordinate system before `/Rotate`):
//! a `/Rotate 90` page whose text is drawn rotated still gives correct lines, grouped along
//! the text direction, with boxes in user space.

pub mod cmap;
pub mod content;
pub mod encoding;
pub mod fonts;
pub mod layout;
mod tables;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::object::{Dict, Object, Stream, StreamData};
use crate::reader::{Document, Page};

pub use layout::{locate_in_lines, normalize, AnchorHit, Line, PageText, Word};

/// What the interpreter needs from a document: resolving references and decoding streams.
pub trait Resolver {
    /// Follow references to a direct object.
    fn resolve(&self, o: &Object) -> Result<Object>;
    /// The decoded bytes of a stream.
    fn stream_data(&self, s: &Stream) -> Result<Vec<u8>>;
}

impl Resolver for Document {
    fn resolve(&self, o: &Object) -> Result<Object> {
        Document::resolve(self, o)
    }
    fn stream_data(&self, s: &Stream) -> Result<Vec<u8>> {
        let limits = self.limits();
        let max = limits.max_decoded_stream.min(limits.max_content_bytes);
        let raw = self.raw_data(s)?;
        crate::filter::decode(&s.dict, &raw, max)
    }
}

/// A resolver without a document: references resolve to null and only in-memory streams have
/// data. It lets [`interpret_content`] run on arbitrary bytes (fuzzing, tests).
#[derive(Debug, Clone)]
pub struct Detached {
    limits: Limits,
}

impl Detached {
    pub fn new(limits: Limits) -> Self {
        Detached { limits }
    }
}

impl Resolver for Detached {
    fn resolve(&self, o: &Object) -> Result<Object> {
        Ok(match o {
            Object::Ref(_) => Object::Null,
            other => other.clone(),
        })
    }
    fn stream_data(&self, s: &Stream) -> Result<Vec<u8>> {
        match &s.data {
            StreamData::Owned(v) => {
                crate::filter::decode(&s.dict, v, self.limits.max_content_bytes)
            }
            StreamData::InFile { .. } => Err(Error::Unsupported("stream data outside a document")),
        }
    }
}

/// One shown glyph, in default user space.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    /// Its Unicode text (one or more characters; ligatures give several).
    pub text: String,
    /// Start of the glyph on the baseline.
    pub origin: [f64; 2],
    /// End of the glyph's advance on the baseline (without character spacing).
    pub end: [f64; 2],
    /// Unit vector of the baseline direction.
    pub dir: [f64; 2],
    /// Font size in user units (the length of the text space's vertical unit).
    pub font_size: f64,
    /// Height above the baseline and (negative) depth below it, in user units, measured
    /// perpendicular to the baseline direction, to its left. Both change sign for mirrored text.
    pub ascent: f64,
    pub descent: f64,
    /// A `TJ` adjustment of more than a quarter em precedes this glyph (a word break).
    pub space_before: bool,
}

/// Interpret a content stream on its own, with direct-object `resources` and no document.
/// Runs on arbitrary bytes within `limits`; this is the entry point for fuzzing.
pub fn interpret_content(content: &[u8], resources: &Dict, limits: &Limits) -> Result<Vec<Glyph>> {
    let resolver = Detached::new(limits.clone());
    interpret_with(&resolver, content, resources, content::IDENTITY, limits)
}

/// Interpret a content stream with any resolver, starting from `ctm`.
pub fn interpret_with(
    resolver: &dyn Resolver,
    content: &[u8],
    resources: &Dict,
    ctm: content::Matrix,
    limits: &Limits,
) -> Result<Vec<Glyph>> {
    let mut it = content::Interpreter::new(resolver, limits);
    it.run(content, resources, ctm)?;
    Ok(it.glyphs)
}

/// The glyphs of a page, in the order they are drawn.
pub fn page_glyphs(doc: &Document, page: &Page) -> Result<Vec<Glyph>> {
    Ok(page_paint(doc, page)?.glyphs)
}

/// The glyphs of a page and the boxes of its images (default user space).
/// What one pass over a page's content found.
struct Painted {
    glyphs: Vec<Glyph>,
    images: Vec<[f64; 4]>,
    image_draws: Vec<content::ImageDraw>,
}

fn page_paint(doc: &Document, page: &Page) -> Result<Painted> {
    let limits = doc.limits();
    let resources = match &page.resources {
        Some(r) => match doc.resolve(r)? {
            Object::Dict(d) => d,
            _ => Dict::new(),
        },
        None => Dict::new(),
    };
    let mut data = Vec::new();
    let contents = match page.dict.get("Contents") {
        Some(c) => doc.resolve(c)?,
        None => Object::Null,
    };
    let streams: Vec<Object> = match contents {
        Object::Array(items) => items,
        other => vec![other],
    };
    for s in streams {
        if let Object::Stream(s) = doc.resolve(&s)? {
            let bytes = Resolver::stream_data(doc, &s)?;
            if (data.len() + bytes.len()) as u64 > limits.max_content_bytes {
                return Err(Error::LimitExceeded {
                    limit: "decoded content bytes",
                    value: (data.len() + bytes.len()) as u64,
                    max: limits.max_content_bytes,
                });
            }
            data.extend_from_slice(&bytes);
            // Streams of an array are concatenated as if separated by white space.
            data.push(b'\n');
        }
    }
    let mut it = content::Interpreter::new(doc, limits);
    it.run(&data, &resources, content::IDENTITY)?;
    Ok(Painted {
        glyphs: it.glyphs,
        images: it.images,
        image_draws: it.image_draws,
    })
}

/// The images page `page_index` (0-based) paints, in the order painted, with the CTM each was
/// painted with (in default user space, before `/Rotate`) and its dictionary: what a scan's
/// resolution and colour are judged from.
pub fn page_images(doc: &Document, page_index: usize) -> Result<Vec<content::ImageDraw>> {
    let page = page_at(doc, page_index)?;
    Ok(page_paint(doc, &page)?.image_draws)
}

fn page_at(doc: &Document, page_index: usize) -> Result<Page> {
    let mut pages = doc.pages()?;
    let count = pages.len();
    if page_index >= count {
        return Err(Error::PageOutOfRange {
            index: page_index,
            count,
        });
    }
    Ok(pages.swap_remove(page_index))
}

/// Glyphs outside the crop box by more than this (points) are not on the visible page.
const CROP_TOLERANCE: f64 = 2.0;

/// Whether the glyph's centre lies on the visible page. Text placed off the page is not what
/// the signer sees and must not attract the signature.
fn on_page(g: &Glyph, crop: &[f64; 4]) -> bool {
    let x = (g.origin[0] + g.end[0]) / 2.0;
    let y = (g.origin[1] + g.end[1]) / 2.0;
    x >= crop[0] - CROP_TOLERANCE
        && x <= crop[2] + CROP_TOLERANCE
        && y >= crop[1] - CROP_TOLERANCE
        && y <= crop[3] + CROP_TOLERANCE
}

fn page_lines(doc: &Document, page: &Page) -> Result<Vec<Line>> {
    let mut glyphs = page_glyphs(doc, page)?;
    glyphs.retain(|g| on_page(g, &page.crop_box));
    Ok(layout::lines(&glyphs))
}

/// The text lines of page `page_index` (0-based), in default user space: per text direction,
/// top to bottom. Only text on the visible page (the crop box) is included.
pub fn page_text(doc: &Document, page_index: usize) -> Result<PageText> {
    let page = page_at(doc, page_index)?;
    Ok(PageText {
        lines: page_lines(doc, &page)?,
    })
}

/// The text layer of a whole document, for indexing: each page's lines (as [`page_text`]) one
/// per line, pages apart by a blank line, stopping once `max_chars` characters are taken. A
/// page whose content cannot be read is skipped (its text is what the other pages give); the
/// document itself must open.
pub fn document_text(bytes: &[u8], limits: Limits, max_chars: usize) -> Result<String> {
    let doc = Document::open(
        std::sync::Arc::new(crate::source::MemSource::new(bytes.to_vec())),
        limits,
    )?;
    let pages = doc.pages()?;
    let mut out = String::new();
    let mut taken = 0usize;
    'pages: for page in &pages {
        let Ok(lines) = page_lines(&doc, page) else {
            continue;
        };
        if !out.is_empty() {
            out.push('\n');
        }
        for line in lines {
            let n = line.text.chars().count();
            if taken + n > max_chars {
                out.extend(line.text.chars().take(max_chars - taken));
                break 'pages;
            }
            taken += n;
            out.push_str(&line.text);
            out.push('\n');
        }
    }
    Ok(out)
}

/// What a page paints where: its text lines (as [`page_text`]) and the boxes of its images,
/// in default user space, both limited to the crop box.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageMarks {
    pub text: PageText,
    /// `[x0, y0, x1, y1]` of each image drawn (image XObjects, also inside forms, and inline
    /// images), clipped to the crop box; images wholly outside it are left out.
    pub images: Vec<[f64; 4]>,
}

/// The text and images of page `page_index` (0-based), from one pass over its content.
pub fn page_marks(doc: &Document, page_index: usize) -> Result<PageMarks> {
    let page = page_at(doc, page_index)?;
    let Painted {
        mut glyphs, images, ..
    } = page_paint(doc, &page)?;
    glyphs.retain(|g| on_page(g, &page.crop_box));
    let c = page.crop_box;
    let images = images
        .into_iter()
        .map(|b| {
            [
                b[0].max(c[0]),
                b[1].max(c[1]),
                b[2].min(c[2]),
                b[3].min(c[3]),
            ]
        })
        .filter(|b| b[2] > b[0] && b[3] > b[1])
        .collect();
    Ok(PageMarks {
        text: PageText {
            lines: layout::lines(&glyphs),
        },
        images,
    })
}

/// Find where to put a signature: the signer's title line matching `anchor` (normalised:
/// NFC, collapsed white space, Unicode lowercase; a substring of a line matches), the title
/// block that follows it, the signer's name below the blank space, and the blank region between
/// them. Searches `page` (0-based), or every page from the last one backwards when `None`.
pub fn locate_anchor(
    doc: &Document,
    page: Option<usize>,
    anchor: &str,
) -> Result<Option<AnchorHit>> {
    let needle = normalize(anchor);
    if needle.is_empty() {
        return Ok(None);
    }
    let pages = doc.pages()?;
    let order: Vec<usize> = match page {
        Some(p) if p >= pages.len() => {
            return Err(Error::PageOutOfRange {
                index: p,
                count: pages.len(),
            })
        }
        Some(p) => vec![p],
        None => (0..pages.len()).rev().collect(),
    };
    for idx in order {
        let Some(p) = pages.get(idx) else { continue };
        let lines = page_lines(doc, p)?;
        if let Some(mut hit) = locate_in_lines(&lines, &needle) {
            hit.page = idx;
            return Ok(Some(hit));
        }
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::MemSource;

    fn doc(pdf: Vec<u8>) -> Document {
        Document::open(Arc::new(MemSource::new(pdf)), Limits::default()).unwrap()
    }

    /// A one-page document; `contents` is the page's /Contents value, objects 4.. follow.
    fn one_page(contents: &str, rest: &[&str]) -> Document {
        let page = format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents {contents}
                /Resources << /Font << /F1 3 0 R >> >> >>"
        );
        let mut bodies = vec![
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [9 0 R] /Count 1 >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
        ];
        bodies.extend_from_slice(rest);
        while bodies.len() < 8 {
            bodies.push("null");
        }
        bodies.push(&page);
        doc(classic_pdf(&bodies))
    }

    #[test]
    fn contents_arrays_are_concatenated() {
        // The split falls inside the text object: streams join as one program.
        let d = one_page(
            "[4 0 R 5 0 R]",
            &[
                "<< /Length 21 >>\nstream\nBT /F1 10 Tf 20 20 Td\nendstream",
                "<< /Length 11 >>\nstream\n(Hi) Tj ET\nendstream",
            ],
        );
        let text = page_text(&d, 0).unwrap();
        assert_eq!(text.text(), "Hi");
        assert!(matches!(
            page_text(&d, 1),
            Err(Error::PageOutOfRange { index: 1, count: 1 })
        ));
    }

    #[test]
    fn text_off_the_page_is_ignored() {
        let d = one_page(
            "4 0 R",
            &["<< /Length 62 >>\nstream\nBT /F1 10 Tf 20 20 Td (GIAM DOC) Tj 500 0 Td (GIAM DOC) Tj ET\nendstream"],
        );
        let text = page_text(&d, 0).unwrap();
        assert_eq!(text.lines.len(), 1);
        assert!(text.lines[0].bbox[2] < 200.0);
        let hit = locate_anchor(&d, None, "giam doc").unwrap().unwrap();
        assert!(hit.title_bbox[0] < 100.0);
    }

    #[test]
    fn images_are_found_with_their_ctm_inside_forms_and_inline() {
        let d = one_page(
            "4 0 R",
            &[
                "<< /Length 58 >>\nstream\nq 50 0 0 20 10 30 cm /Im1 Do Q /Fm Do BI /W 1 /H 1 ID x EI\nendstream",
                "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /Length 0 >>\nstream\n\nendstream",
                "<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Matrix [0 10 -10 0 300 100] \
                 /Resources << /XObject << /Im1 5 0 R >> >> /Length 7 >>\nstream\n/Im1 Do\nendstream",
                "<< /XObject << /Im1 5 0 R /Fm 6 0 R >> /Font << /F1 3 0 R >> >>",
            ],
        );
        // The page's resources are object 7 here.
        let mut pages = d.pages().unwrap();
        let mut page = pages.swap_remove(0);
        page.resources = Some(Object::Ref(crate::object::ObjRef::new(7, 0)));
        let images = page_paint(&d, &page).unwrap().images;
        assert_eq!(images.len(), 3, "{images:?}");
        assert_eq!(images[0], [10.0, 30.0, 60.0, 50.0]);
        // Turned by the form's matrix (page_marks would clip it to the crop box).
        assert_eq!(images[1], [290.0, 100.0, 300.0, 110.0]);
        assert_eq!(images[2], [0.0, 0.0, 1.0, 1.0]);
    }

    pub(crate) use crate::writer::classic_pdf;
}
