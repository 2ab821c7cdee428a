//! Writing new, simple PDF documents: official letters with a title block, paragraphs and a
//! table, laid out on A4 pages in the manner of Decree 30/2020 (Appendix I).
//!
//! A [`Composer`] keeps a cursor that runs down the text area of the current page. Each call
//! ([`paragraph`](Composer::paragraph), [`columns`](Composer::columns),
//! [`table`](Composer::table), [`line`](Composer::line), [`spacer`](Composer::spacer)) places
//! its content below the previous one and starts a new page when it does not fit.
//! [`finish`](Composer::finish) writes a PDF 1.7 file with a classic cross-reference table.
//!
//! Text is Liberation Serif (metric-compatible with Times New Roman), regular and bold, shaped
//! by [`FontProgram`] and embedded once per face as a subset Type0 font with a ToUnicode CMap,
//! shared by all pages. There is no italic face: italic text is drawn *obliquely* (the regular
//! or bold glyphs slanted by 12° through the text matrix), which is what viewers show for a
//! synthetic italic.
//!
//! The output depends only on the input: no clock is read (the creation date is a parameter)
//! and the trailer `/ID` is a hash of the file's body. The file is an ordinary classic-xref PDF,
//! so kyso's signer can append an incremental update to it.

use std::io::Write as _;

use crate::error::{ComposeError, Error, Result};
use crate::font::{FontEmbedder, FontProgram, Glyph};
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::writer::{text_string, write_hex_string, write_real, IncrementalUpdate};

/// Points per millimetre.
pub const PT_PER_MM: f64 = 72.0 / 25.4;
/// Width of an A4 page in points (210 mm).
pub const A4_WIDTH_PT: f64 = 210.0 * PT_PER_MM;
/// Height of an A4 page in points (297 mm).
pub const A4_HEIGHT_PT: f64 = 297.0 * PT_PER_MM;
/// Most pages a document may have.
pub const MAX_PAGES: usize = 10_000;
/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 50;
/// Longest text accepted by one call, in bytes.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Horizontal shear of the synthetic italic: tan 12°.
const OBLIQUE_SHEAR: f64 = 0.212_556_56;
/// Horizontal padding inside a table cell (1.5 mm).
const CELL_PAD_X: f64 = 1.5 * PT_PER_MM;
/// Vertical padding inside a table cell (1 mm).
const CELL_PAD_Y: f64 = 1.0 * PT_PER_MM;
/// Width of table borders and rules, in points.
const STROKE_PT: f64 = 0.5;
/// Vertical room taken by a rule: it is drawn 3 pt below the cursor, which then moves 6 pt
/// (clear of the descenders and dots below of the line above).
const RULE_ROOM_PT: f64 = 6.0;
/// Tolerance for comparisons of lengths in points.
const EPS: f64 = 1e-6;

/// Page margins in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margins {
    pub top: f64,
    pub bottom: f64,
    pub left: f64,
    pub right: f64,
}

impl Margins {
    /// The margins of Decree 30/2020 Appendix I at their smallest: top and bottom 20 mm,
    /// left 30 mm, right 15 mm.
    pub fn decree30() -> Self {
        Margins {
            top: 20.0,
            bottom: 20.0,
            left: 30.0,
            right: 15.0,
        }
    }
}

/// Horizontal alignment of lines of text (and of rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
    /// Lines are stretched to the full width by widening the spaces between words; the last
    /// line of a paragraph (and a line ended by `'\n'`) stays left-aligned.
    Justify,
}

/// How a piece of text looks and is spaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// Font size in points (1 to 200).
    pub size_pt: f64,
    pub bold: bool,
    /// Drawn as a synthetic oblique of the regular or bold face (no italic font is bundled).
    pub italic: bool,
    pub align: Align,
    /// Distance between baselines as a multiple of the size (0.5 to 5).
    pub line_spacing: f64,
    /// Extra space after a paragraph or a block's text, in points.
    pub space_after_pt: f64,
    /// Indentation of a paragraph's first line, in millimetres (ignored in table cells).
    pub first_line_indent_mm: f64,
}

impl Default for Style {
    /// 13 pt regular, left-aligned, line spacing 1.2, no space after, no indent.
    fn default() -> Self {
        Style {
            size_pt: 13.0,
            bold: false,
            italic: false,
            align: Align::Left,
            line_spacing: 1.2,
            space_after_pt: 0.0,
            first_line_indent_mm: 0.0,
        }
    }
}

impl Style {
    /// The default style at `size_pt`.
    pub fn new(size_pt: f64) -> Self {
        Style {
            size_pt,
            ..Style::default()
        }
    }

    /// The same style in bold.
    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }

    /// The same style in (synthetic) italic.
    pub fn italic(mut self) -> Self {
        self.italic = true;
        self
    }

    /// The same style with another alignment.
    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    /// The same style with another line spacing (a multiple of the size).
    pub fn spacing(mut self, line_spacing: f64) -> Self {
        self.line_spacing = line_spacing;
        self
    }

    /// The same style with `pt` points of space after.
    pub fn after(mut self, pt: f64) -> Self {
        self.space_after_pt = pt;
        self
    }

    /// The same style with a first-line indent of `mm` millimetres.
    pub fn indent(mut self, mm: f64) -> Self {
        self.first_line_indent_mm = mm;
        self
    }

    fn check(&self) -> Result<()> {
        range("font size", self.size_pt, 1.0, 200.0, "1 to 200 pt")?;
        range("line spacing", self.line_spacing, 0.5, 5.0, "0.5 to 5")?;
        range(
            "space after",
            self.space_after_pt,
            0.0,
            1000.0,
            "0 to 1000 pt",
        )?;
        range(
            "first-line indent",
            self.first_line_indent_mm,
            0.0,
            100.0,
            "0 to 100 mm",
        )
    }

    fn line_height(&self) -> f64 {
        self.size_pt * self.line_spacing
    }

    fn face(&self) -> Face {
        if self.bold {
            Face::Bold
        } else {
            Face::Regular
        }
    }
}

/// The document information dictionary. Empty strings are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocInfo {
    pub title: String,
    pub author: String,
    pub subject: String,
    pub producer: String,
    /// A PDF date string such as `D:20261202091500+07'00'`, written as given.
    pub creation_date: Option<String>,
    /// The natural language of the text (catalog `/Lang`), e.g. `vi-VN`.
    pub language: Option<String>,
}

/// Content stacked in one column of [`Composer::columns_of`]: texts (each wrapped in the
/// column's width, `'\n'` breaking lines), rules and spaces, top to bottom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    items: Vec<BlockItem>,
}

#[derive(Debug, Clone, PartialEq)]
enum BlockItem {
    Text(String, Style),
    Rule(f64, Align),
    Space(f64),
}

impl Block {
    pub fn new() -> Self {
        Block::default()
    }

    /// Add text; its style's `space_after_pt` follows it.
    pub fn text(mut self, text: &str, style: &Style) -> Self {
        self.items
            .push(BlockItem::Text(text.to_owned(), style.clone()));
        self
    }

    /// Add a horizontal rule `width_mm` long (the short line under the title block's names).
    pub fn rule(mut self, width_mm: f64, align: Align) -> Self {
        self.items.push(BlockItem::Rule(width_mm, align));
        self
    }

    /// Add vertical space.
    pub fn space(mut self, mm: f64) -> Self {
        self.items.push(BlockItem::Space(mm));
        self
    }
}

impl From<(&str, &Style)> for Block {
    fn from((text, style): (&str, &Style)) -> Self {
        Block::new().text(text, style)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
}

/// One drawing operation, in page coordinates (points, origin bottom left).
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Text {
        face: Face,
        size: f64,
        oblique: bool,
        x: f64,
        y: f64,
        glyphs: Vec<Glyph>,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
    },
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
    /// A filled rectangle (a chart's bar) in the chart colour.
    Bar {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
    /// Image `index` of the composer's images, drawn in the box from (`x`, `y`), `w` × `h`.
    Image {
        index: usize,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
}

impl Op {
    fn shifted(mut self, dy: f64) -> Self {
        match &mut self {
            Op::Text { y, .. } | Op::Rect { y, .. } | Op::Bar { y, .. } | Op::Image { y, .. } => {
                *y += dy
            }
            Op::Line { y1, y2, .. } => {
                *y1 += dy;
                *y2 += dy;
            }
        }
        self
    }
}

/// A shaped word and its advance in points.
#[derive(Debug, Clone)]
struct Word {
    glyphs: Vec<Glyph>,
    width: f64,
}

/// One line of wrapped text.
#[derive(Debug, Clone, Default)]
struct TextLine {
    words: Vec<Word>,
    /// Natural width: the words and one space between each two.
    width: f64,
    indent: f64,
    /// The last line of a paragraph or of a `'\n'`-separated part: never justified.
    last: bool,
}

/// Lays out a new A4 document page by page. See the [module documentation](self).
#[derive(Debug)]
pub struct Composer {
    regular: FontProgram,
    bold: FontProgram,
    page_w: f64,
    page_h: f64,
    /// Text area: left, right, top and bottom edges in page coordinates.
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    pages: Vec<Vec<Op>>,
    /// The top of the next content on the last page.
    y: f64,
    max_pages: usize,
    /// An error met by a call that cannot return one ([`line`](Self::line)); reported by
    /// [`finish`](Self::finish).
    deferred: Option<Error>,
    /// The style of page numbers, when pages are numbered ([`number_pages`](Self::number_pages)).
    page_numbers: Option<Style>,
    /// The images placed ([`image`](Self::image)), each written once.
    images: Vec<crate::image::DecodedImage>,
}

impl Composer {
    /// An A4 portrait document with the given margins (millimetres) and one empty page.
    pub fn a4(margins: Margins) -> Result<Self> {
        Self::with_page(A4_WIDTH_PT, A4_HEIGHT_PT, margins)
    }

    /// An A4 landscape document (297 × 210 mm: wide tables such as a register's book) with the
    /// given margins (millimetres) and one empty page.
    pub fn a4_landscape(margins: Margins) -> Result<Self> {
        Self::with_page(A4_HEIGHT_PT, A4_WIDTH_PT, margins)
    }

    fn with_page(page_w: f64, page_h: f64, margins: Margins) -> Result<Self> {
        let Margins {
            top,
            bottom,
            left,
            right,
        } = margins;
        for (field, v) in [
            ("top margin", top),
            ("bottom margin", bottom),
            ("left margin", left),
            ("right margin", right),
        ] {
            range(field, v, 0.0, 100.0, "0 to 100 mm")?;
        }
        Ok(Composer {
            regular: FontProgram::liberation_serif_regular()?,
            bold: FontProgram::liberation_serif_bold()?,
            page_w,
            page_h,
            left: left * PT_PER_MM,
            right: page_w - right * PT_PER_MM,
            top: page_h - top * PT_PER_MM,
            bottom: bottom * PT_PER_MM,
            pages: vec![Vec::new()],
            y: page_h - top * PT_PER_MM,
            max_pages: MAX_PAGES,
            deferred: None,
            page_numbers: None,
            images: Vec::new(),
        })
    }

    /// Lower the page limit below [`MAX_PAGES`] (values above it are ignored).
    pub fn set_max_pages(&mut self, max: usize) {
        self.max_pages = max.clamp(1, MAX_PAGES);
    }

    /// Number the pages from the second one on, centred in the top margin, in `style`'s size
    /// and face (Decree 30: page numbers in the middle of the top margin, none on the first
    /// page). Its alignment, indent and space after are ignored.
    pub fn number_pages(&mut self, style: &Style) -> Result<()> {
        style.check()?;
        self.page_numbers = Some(style.clone());
        Ok(())
    }

    /// The page number of page `index` (0-based) as a drawing operation, when numbered.
    fn page_number_op(&self, index: usize) -> Result<Option<Op>> {
        let Some(style) = self.page_numbers.as_ref().filter(|_| index > 0) else {
            return Ok(None);
        };
        let word = self.word(&(index + 1).to_string(), style)?;
        let f = self.font(style.face());
        // The digits' box (baseline to cap height, about the ascent) centred in the margin.
        let margin_mid = (self.page_h + self.top) / 2.0;
        let y = margin_mid - f.ascent_em() * style.size_pt / 2.0;
        Ok(Some(Op::Text {
            face: style.face(),
            size: style.size_pt,
            oblique: style.italic,
            x: (self.page_w - word.width) / 2.0,
            y,
            glyphs: word.glyphs,
        }))
    }

    /// Number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Width of the text area in points.
    pub fn text_width_pt(&self) -> f64 {
        self.right - self.left
    }

    /// Height of the text area in points.
    fn text_height(&self) -> f64 {
        self.top - self.bottom
    }

    /// Room left on the current page below the cursor, in points.
    pub fn remaining_pt(&self) -> f64 {
        (self.y - self.bottom).max(0.0)
    }

    /// A paragraph: words (separated by white space) wrapped within the text width, a word
    /// longer than a line broken between characters, `'\n'` forcing a line break. Lines that
    /// do not fit on the page continue on the next one. An empty text is one empty line.
    pub fn paragraph(&mut self, text: &str, style: &Style) -> Result<()> {
        style.check()?;
        check_text(text)?;
        let lh = style.line_height();
        if lh > self.text_height() {
            return Err(out_of_range(
                "line height",
                lh,
                "at most the height of the text area",
            ));
        }
        let indent = style.first_line_indent_mm * PT_PER_MM;
        let width = self.text_width_pt();
        let lines = self.wrap(text, style, width, indent)?;
        let base = self.baseline_offset(style);
        for line in &lines {
            self.ensure(lh)?;
            let ops = self.draw_line(line, style, self.left, width, self.y - base);
            self.push_ops(ops);
            self.y -= lh;
        }
        self.spacer_pt(style.space_after_pt);
        Ok(())
    }

    /// A picture (a decoded PNG: [`crate::image::decode_png`]) centred in the text width: at
    /// its natural size (its resolution, 72 dpi when it records none) but no wider than
    /// `max_width_mm` nor the text width, nor taller than the text area; on the next page when
    /// the rest of this one is too short. The cursor moves below it, `after_pt` further.
    pub fn image(
        &mut self,
        img: crate::image::DecodedImage,
        max_width_mm: f64,
        after_pt: f64,
    ) -> Result<()> {
        range("image width", max_width_mm, 1.0, 1000.0, "1 to 1000 mm")?;
        range("space after", after_pt, 0.0, 1000.0, "0 to 1000 pt")?;
        let (nat_w, nat_h) = img.size_pt();
        if !(nat_w > 0.0 && nat_h > 0.0) {
            return Err(out_of_range(
                "image size",
                0.0,
                "a picture of at least one pixel",
            ));
        }
        let max_w = (max_width_mm * PT_PER_MM).min(self.text_width_pt());
        let scale = (max_w / nat_w).min(self.text_height() / nat_h).min(1.0);
        let (w, h) = (nat_w * scale, nat_h * scale);
        self.ensure(h)?;
        let index = self.images.len();
        self.images.push(img);
        let x = self.left + (self.text_width_pt() - w) / 2.0;
        self.y -= h;
        let y = self.y;
        self.push_ops([Op::Image { index, x, y, w, h }]);
        self.spacer_pt(after_pt);
        Ok(())
    }

    /// A horizontal bar chart: one row per `(label, value)` — the label right-aligned in the
    /// left `label_share` (0.2 to 0.7) of the text width, a bar proportional to the largest
    /// value, the value after it — in `style`'s size (its alignment and indent ignored). Rows
    /// that do not fit continue on the next page; negative values draw no bar. A label too
    /// long for its column is cut with "…".
    pub fn bar_chart(
        &mut self,
        bars: &[(String, i64)],
        label_share: f64,
        style: &Style,
    ) -> Result<()> {
        style.check()?;
        range("label share", label_share, 0.2, 0.7, "0.2 to 0.7")?;
        let width = self.text_width_pt();
        let label_w = width * label_share;
        let gap = 6.0;
        let value_w = self.word("0000000", style)?.width;
        let bar_max = (width - label_w - 2.0 * gap - value_w).max(1.0);
        let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
        let row_h = style.line_height().max(style.size_pt * 1.4);
        let base = self.baseline_offset(style);
        for (label, value) in bars {
            check_text(label)?;
            self.ensure(row_h)?;
            let mut word = self.word(label, style)?;
            if word.width > label_w - gap {
                let mut cut: Vec<char> = label.chars().collect();
                while !cut.is_empty() && word.width > label_w - gap {
                    cut.pop();
                    let text: String = cut.iter().collect::<String>() + "…";
                    word = self.word(&text, style)?;
                }
            }
            let y = self.y - base;
            let text = |x: f64, glyphs: Vec<Glyph>| Op::Text {
                face: style.face(),
                size: style.size_pt,
                oblique: style.italic,
                x,
                y,
                glyphs,
            };
            let mut ops = vec![text(self.left + label_w - gap - word.width, word.glyphs)];
            let w = if *value > 0 {
                (*value as f64 / max * bar_max).max(1.0)
            } else {
                0.0
            };
            if w > 0.0 {
                let h = style.size_pt * 0.9;
                ops.push(Op::Bar {
                    x: self.left + label_w,
                    y: self.y - (row_h + h) / 2.0,
                    w,
                    h,
                });
            }
            let number = self.word(&value.to_string(), style)?;
            ops.push(text(self.left + label_w + w + gap, number.glyphs));
            self.push_ops(ops);
            self.y -= row_h;
        }
        self.spacer_pt(style.space_after_pt);
        Ok(())
    }

    /// Vertical space. Space that runs past the bottom of a page is dropped: the next content
    /// starts at the top of the next page.
    pub fn spacer(&mut self, mm: f64) {
        if mm.is_finite() && mm > 0.0 {
            self.spacer_pt(mm * PT_PER_MM);
        }
    }

    fn spacer_pt(&mut self, pt: f64) {
        self.y = (self.y - pt).max(self.bottom);
    }

    /// Two blocks side by side, each one text (lines separated by `'\n'`, each wrapped within
    /// its column): the left column takes `split` (0.05 to 0.95) of the text width. The cursor
    /// moves below the taller block. A block pair that does not fit on the rest of the page
    /// moves to the next page whole.
    pub fn columns(
        &mut self,
        left: (&str, &Style),
        right: (&str, &Style),
        split: f64,
    ) -> Result<()> {
        self.columns_of(&Block::from(left), &Block::from(right), split)
    }

    /// Like [`columns`](Self::columns), with blocks of several texts, rules and spaces: the
    /// title block of an official letter (agency and national title, each with a short rule
    /// under it) or its signature block.
    pub fn columns_of(&mut self, left: &Block, right: &Block, split: f64) -> Result<()> {
        range("column split", split, 0.05, 0.95, "0.05 to 0.95")?;
        let width = self.text_width_pt();
        let lw = width * split;
        let (lops, lh) = self.layout_block(left, self.left, lw)?;
        let (rops, rh) = self.layout_block(right, self.left + lw, width - lw)?;
        let h = lh.max(rh);
        if h > self.text_height() + EPS {
            return Err(ComposeError::BlockTooTall {
                height_pt: h.ceil() as u64,
                available_pt: self.text_height() as u64,
            }
            .into());
        }
        self.ensure(h)?;
        let dy = self.y;
        self.push_ops(lops.into_iter().chain(rops).map(|o| o.shifted(dy)));
        self.y -= h;
        Ok(())
    }

    /// One block across the whole text width, moved whole to the next page when it does not
    /// fit on this one. (A block alone on the right half, such as a signature block, is
    /// `columns_of(&Block::new(), &block, 0.5)`.)
    pub fn block(&mut self, block: &Block) -> Result<()> {
        let (ops, h) = self.layout_block(block, self.left, self.text_width_pt())?;
        if h > self.text_height() + EPS {
            return Err(ComposeError::BlockTooTall {
                height_pt: h.ceil() as u64,
                available_pt: self.text_height() as u64,
            }
            .into());
        }
        self.ensure(h)?;
        let dy = self.y;
        self.push_ops(ops.into_iter().map(|o| o.shifted(dy)));
        self.y -= h;
        Ok(())
    }

    /// A horizontal rule `width_mm` long (at most the text width) at the cursor, aligned in the
    /// text width (`Center` centres it; `Justify` is `Left`). For a rule under one column of
    /// [`columns_of`](Self::columns_of) use [`Block::rule`]. Should the document reach its page
    /// limit here, [`finish`](Self::finish) reports it.
    pub fn line(&mut self, width_mm: f64, align: Align) {
        if let Err(e) = self.ensure(RULE_ROOM_PT) {
            self.deferred.get_or_insert(e);
            return;
        }
        let op = rule_op(width_mm, align, self.left, self.text_width_pt(), self.y);
        self.push_ops(op);
        self.y -= RULE_ROOM_PT;
    }

    /// A table with borders: a bold, centred header row and `rows` of cells, each cell's text
    /// wrapped within its column (`'\n'` breaks lines). `widths` are relative column widths
    /// that share the text width. Cells use `style` (its size, spacing and alignment; its
    /// indent and space after are ignored). A row that does not fit on the rest of the page
    /// goes to the next one, below a repeated header. Rows are not split: a row taller than a
    /// page is refused ([`ComposeError::RowTooTall`]).
    pub fn table(
        &mut self,
        header: &[&str],
        rows: &[Vec<String>],
        widths: &[f64],
        style: &Style,
    ) -> Result<()> {
        let aligns = vec![style.align; header.len().min(MAX_COLUMNS + 1)];
        self.table_aligned(header, rows, widths, &aligns, style)
    }

    /// Like [`table`](Self::table), with the alignment of each column's body cells given in
    /// `aligns` (e.g. the sequence number centred, names left, amounts right).
    pub fn table_aligned(
        &mut self,
        header: &[&str],
        rows: &[Vec<String>],
        widths: &[f64],
        aligns: &[Align],
        style: &Style,
    ) -> Result<()> {
        style.check()?;
        let n = header.len();
        if n == 0 {
            return Err(ComposeError::NoColumns.into());
        }
        if n > MAX_COLUMNS {
            return Err(ComposeError::TooManyColumns {
                count: n,
                max: MAX_COLUMNS,
            }
            .into());
        }
        if widths.len() != n {
            return Err(ComposeError::BadWidths {
                what: "not one width per column",
            }
            .into());
        }
        if aligns.len() != n {
            return Err(ComposeError::BadWidths {
                what: "not one alignment per column",
            }
            .into());
        }
        if widths.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(ComposeError::BadWidths {
                what: "a width is not a positive number",
            }
            .into());
        }
        for (i, r) in rows.iter().enumerate() {
            if r.len() != n {
                return Err(ComposeError::RowShape {
                    row: i,
                    cells: r.len(),
                    columns: n,
                }
                .into());
            }
        }
        let total: f64 = widths.iter().sum();
        let tw = self.text_width_pt();
        let cols: Vec<f64> = widths.iter().map(|w| w / total * tw).collect();
        let cell_style = Style {
            first_line_indent_mm: 0.0,
            space_after_pt: 0.0,
            ..style.clone()
        };
        let head_style = Style {
            bold: true,
            align: Align::Center,
            ..cell_style.clone()
        };
        let head_aligns = vec![Align::Center; n];
        let header_row =
            self.layout_row(header.iter().copied(), &cols, &head_aligns, &head_style)?;
        let available = self.text_height();
        if header_row.1 > available + EPS {
            return Err(row_too_tall(None, header_row.1, available));
        }
        // Lay out every row first, so that a refused row leaves nothing of the table behind.
        let mut laid = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let row = self.layout_row(r.iter().map(String::as_str), &cols, aligns, &cell_style)?;
            if header_row.1 + row.1 > available + EPS {
                return Err(row_too_tall(Some(i), row.1, available - header_row.1));
            }
            laid.push(row);
        }
        let mut first = true;
        for row in &laid {
            let need = if first { header_row.1 + row.1 } else { row.1 };
            if self.y - need < self.bottom - EPS {
                self.new_page()?;
                first = true;
            }
            if first {
                self.place_row(&header_row);
                first = false;
            }
            self.place_row(row);
        }
        if rows.is_empty() {
            self.ensure(header_row.1)?;
            self.place_row(&header_row);
        }
        Ok(())
    }

    /// Write the document. Fonts are embedded once per face used; each page's content is a
    /// compressed stream.
    pub fn finish(self, info: &DocInfo) -> Result<Vec<u8>> {
        if let Some(e) = self.deferred {
            return Err(e);
        }
        let mut up = IncrementalUpdate::new_document();
        let catalog_ref = up.reserve();
        let pages_ref = up.reserve();
        let mut numbers = Vec::with_capacity(self.pages.len());
        for i in 0..self.pages.len() {
            numbers.push(self.page_number_op(i)?);
        }
        let uses = |face: Face| {
            self.pages
                .iter()
                .flatten()
                .chain(numbers.iter().flatten())
                .any(|o| matches!(o, Op::Text { face: f, .. } if *f == face))
        };
        let mut regular = FontEmbedder::new(&self.regular);
        let mut bold = FontEmbedder::new(&self.bold);
        let mut fonts = Dict::new();
        if uses(Face::Regular) {
            fonts.set("F1", regular.font_ref(&mut up));
        }
        if uses(Face::Bold) {
            fonts.set("F2", bold.font_ref(&mut up));
        }
        let mut resources = Dict::new();
        resources.set("Font", fonts);
        let mut proc_set = vec![Object::name("PDF"), Object::name("Text")];
        if !self.images.is_empty() {
            let mut xobjects = Dict::new();
            for (i, img) in self.images.iter().enumerate() {
                let r = crate::image::add_image_xobject(&mut up, img);
                xobjects.set(&image_name(i), r);
            }
            resources.set("XObject", xobjects);
            proc_set.extend([Object::name("ImageB"), Object::name("ImageC")]);
        }
        resources.set("ProcSet", Object::Array(proc_set));
        let resources_ref = up.add(resources);
        let media_box = Object::Array(vec![
            Object::Int(0),
            Object::Int(0),
            Object::real(self.page_w),
            Object::real(self.page_h),
        ]);
        let mut kids = Vec::with_capacity(self.pages.len());
        for (ops, number) in self.pages.iter().zip(&numbers) {
            let content = match number {
                Some(n) => {
                    let ops: Vec<Op> = ops.iter().cloned().chain([n.clone()]).collect();
                    render(&ops, &mut regular, &mut bold)
                }
                None => render(ops, &mut regular, &mut bold),
            };
            let mut sd = Dict::new();
            sd.set("Filter", Object::name("FlateDecode"));
            let content_ref = up.add(Object::Stream(Stream {
                dict: sd,
                data: StreamData::Owned(crate::filter::deflate(&content)),
            }));
            let mut page = Dict::new();
            page.set("Type", Object::name("Page"));
            page.set("Parent", pages_ref);
            page.set("MediaBox", media_box.clone());
            page.set("Resources", resources_ref);
            page.set("Contents", content_ref);
            kids.push(Object::Ref(up.add(page)));
        }
        if uses(Face::Regular) {
            regular.embed(&mut up)?;
        }
        if uses(Face::Bold) {
            bold.embed(&mut up)?;
        }
        let mut pages = Dict::new();
        pages.set("Type", Object::name("Pages"));
        pages.set("Count", Object::Int(kids.len() as i64));
        pages.set("Kids", Object::Array(kids));
        up.set(pages_ref, pages);
        let mut catalog = Dict::new();
        catalog.set("Type", Object::name("Catalog"));
        catalog.set("Pages", pages_ref);
        if let Some(lang) = &info.language {
            catalog.set("Lang", text_string(lang));
        }
        up.set(catalog_ref, catalog);
        let mut inf = Dict::new();
        for (key, v) in [
            ("Title", &info.title),
            ("Author", &info.author),
            ("Subject", &info.subject),
            ("Producer", &info.producer),
        ] {
            if !v.is_empty() {
                inf.set(key, text_string(v));
            }
        }
        if let Some(d) = &info.creation_date {
            inf.set("CreationDate", text_string(d));
        }
        let info_ref = up.add(inf);
        write_file(&up, catalog_ref, info_ref)
    }

    // ----- layout -----

    fn font(&self, face: Face) -> &FontProgram {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    /// Distance from the top of a line box to the baseline: half the leading above the
    /// ascender (the CSS model).
    fn baseline_offset(&self, style: &Style) -> f64 {
        let f = self.font(style.face());
        let (a, d) = (
            f.ascent_em() * style.size_pt,
            -f.descent_em() * style.size_pt,
        );
        (style.line_height() - (a + d)) / 2.0 + a
    }

    fn space(&self, style: &Style) -> Result<Word> {
        self.word(" ", style)
    }

    fn word(&self, text: &str, style: &Style) -> Result<Word> {
        let f = self.font(style.face());
        let glyphs = f.shape(text)?;
        let width = f.glyphs_width(&glyphs, style.size_pt);
        Ok(Word { glyphs, width })
    }

    /// Break `text` into lines at most `width` wide (the first `indent` narrower).
    fn wrap(&self, text: &str, style: &Style, width: f64, indent: f64) -> Result<Vec<TextLine>> {
        let f = self.font(style.face());
        let space = self.space(style)?.width;
        let mut lines = Vec::new();
        let mut line = TextLine {
            indent,
            ..TextLine::default()
        };
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                line.last = true;
                lines.push(std::mem::take(&mut line));
            }
            for w in part.split_whitespace() {
                let word = self.word(w, style)?;
                let avail = width - line.indent;
                let needed = if line.words.is_empty() {
                    word.width
                } else {
                    line.width + space + word.width
                };
                if needed <= avail + EPS {
                    line.width = needed;
                    line.words.push(word);
                    continue;
                }
                if !line.words.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if word.width <= width - line.indent + EPS {
                    line.width = word.width;
                    line.words.push(word);
                    continue;
                }
                // Longer than a line: break between characters, at least one per line.
                let mut chunk: Vec<Glyph> = Vec::new();
                let mut cw = 0.0;
                for g in word.glyphs {
                    let gw = f.glyphs_width(std::slice::from_ref(&g), style.size_pt);
                    if !chunk.is_empty() && cw + gw > width - line.indent + EPS {
                        line.width = cw;
                        line.words.push(Word {
                            glyphs: std::mem::take(&mut chunk),
                            width: cw,
                        });
                        lines.push(std::mem::take(&mut line));
                        cw = 0.0;
                    }
                    cw += gw;
                    chunk.push(g);
                }
                line.width = cw;
                line.words.push(Word {
                    glyphs: chunk,
                    width: cw,
                });
            }
        }
        line.last = true;
        lines.push(line);
        Ok(lines)
    }

    /// The text operations for one line with its baseline at `baseline`, in the box from `x0`
    /// and `width` wide.
    fn draw_line(
        &self,
        line: &TextLine,
        style: &Style,
        x0: f64,
        width: f64,
        baseline: f64,
    ) -> Vec<Op> {
        let face = style.face();
        let space = self.space(style).ok();
        let space_glyphs = space.as_ref().map(|s| s.glyphs.clone()).unwrap_or_default();
        let space_w = space.as_ref().map_or(0.0, |s| s.width);
        let free = (width - line.indent - line.width).max(0.0);
        let text_op = |x: f64, glyphs: Vec<Glyph>| Op::Text {
            face,
            size: style.size_pt,
            oblique: style.italic,
            x,
            y: baseline,
            glyphs,
        };
        if line.words.is_empty() {
            return Vec::new();
        }
        let start = x0 + line.indent;
        if style.align == Align::Justify && !line.last && line.words.len() > 1 {
            // Type0 fonts ignore Tw: every word is placed on its own. Each word but the last
            // carries its space glyph so that text extraction sees the space.
            let gap = space_w + free / (line.words.len() - 1) as f64;
            let mut x = start;
            let count = line.words.len();
            return line
                .words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let mut g = w.glyphs.clone();
                    if i + 1 < count {
                        g.extend(space_glyphs.iter().cloned());
                    }
                    let op = text_op(x, g);
                    x += w.width + gap;
                    op
                })
                .collect();
        }
        let x = match style.align {
            Align::Left | Align::Justify => start,
            Align::Center => start + free / 2.0,
            Align::Right => start + free,
        };
        let mut glyphs = Vec::new();
        for (i, w) in line.words.iter().enumerate() {
            if i > 0 {
                glyphs.extend(space_glyphs.iter().cloned());
            }
            glyphs.extend(w.glyphs.iter().cloned());
        }
        vec![text_op(x, glyphs)]
    }

    /// Lay out a block in the box from `x0`, `width` wide, with its top at y = 0. Returns the
    /// operations and the block's height.
    fn layout_block(&self, block: &Block, x0: f64, width: f64) -> Result<(Vec<Op>, f64)> {
        let mut ops = Vec::new();
        let mut y = 0.0;
        for item in &block.items {
            match item {
                BlockItem::Text(text, style) => {
                    style.check()?;
                    check_text(text)?;
                    let indent = style.first_line_indent_mm * PT_PER_MM;
                    let base = self.baseline_offset(style);
                    for line in self.wrap(text, style, width, indent)? {
                        ops.extend(self.draw_line(&line, style, x0, width, y - base));
                        y -= style.line_height();
                    }
                    y -= style.space_after_pt;
                }
                BlockItem::Rule(mm, align) => {
                    ops.extend(rule_op(*mm, *align, x0, width, y));
                    y -= RULE_ROOM_PT;
                }
                BlockItem::Space(mm) => {
                    if mm.is_finite() && *mm > 0.0 {
                        y -= mm * PT_PER_MM;
                    }
                }
            }
            if -y > self.text_height() + EPS {
                return Err(ComposeError::BlockTooTall {
                    height_pt: (-y).ceil() as u64,
                    available_pt: self.text_height() as u64,
                }
                .into());
            }
        }
        Ok((ops, -y))
    }

    /// Lay out one table row with its top at y = 0: borders and cell text. Returns the
    /// operations and the row's height.
    fn layout_row<'t>(
        &self,
        cells: impl Iterator<Item = &'t str>,
        cols: &[f64],
        aligns: &[Align],
        style: &Style,
    ) -> Result<(Vec<Op>, f64)> {
        check_columns(cols.len())?;
        let lh = style.line_height();
        let base = self.baseline_offset(style);
        let mut wrapped = Vec::with_capacity(cols.len());
        let mut max_lines = 1usize;
        for (text, w) in cells.zip(cols) {
            check_text(text)?;
            let lines = self.wrap(text, style, (w - 2.0 * CELL_PAD_X).max(0.0), 0.0)?;
            max_lines = max_lines.max(lines.len());
            wrapped.push(lines);
        }
        let h = max_lines as f64 * lh + 2.0 * CELL_PAD_Y;
        let mut ops = Vec::new();
        let mut x = self.left;
        for ((lines, w), align) in wrapped.iter().zip(cols).zip(aligns) {
            let style = &Style {
                align: *align,
                ..style.clone()
            };
            ops.push(Op::Rect { x, y: -h, w: *w, h });
            let inner = (w - 2.0 * CELL_PAD_X).max(0.0);
            for (k, line) in lines.iter().enumerate() {
                let top = -CELL_PAD_Y - k as f64 * lh;
                ops.extend(self.draw_line(line, style, x + CELL_PAD_X, inner, top - base));
            }
            x += w;
        }
        Ok((ops, h))
    }

    fn place_row(&mut self, row: &(Vec<Op>, f64)) {
        let dy = self.y;
        let ops: Vec<Op> = row.0.iter().cloned().map(|o| o.shifted(dy)).collect();
        self.push_ops(ops);
        self.y -= row.1;
    }

    /// Start a new page unless `h` points fit below the cursor (or the page is still empty).
    fn ensure(&mut self, h: f64) -> Result<()> {
        let fresh = (self.y - self.top).abs() < EPS;
        if self.y - h < self.bottom - EPS && !fresh {
            self.new_page()?;
        }
        Ok(())
    }

    fn new_page(&mut self) -> Result<()> {
        if self.pages.len() >= self.max_pages {
            return Err(ComposeError::TooManyPages {
                max: self.max_pages,
            }
            .into());
        }
        self.pages.push(Vec::new());
        self.y = self.top;
        Ok(())
    }

    fn push_ops(&mut self, ops: impl IntoIterator<Item = Op>) {
        if let Some(p) = self.pages.last_mut() {
            p.extend(ops);
        }
    }
}

/// A rule `mm` long at `y` - 3 pt, aligned in the box from `x0`, `width` wide.
fn rule_op(mm: f64, align: Align, x0: f64, width: f64, y: f64) -> Option<Op> {
    if !(mm.is_finite() && mm > 0.0) {
        return None;
    }
    let len = (mm * PT_PER_MM).min(width);
    let x1 = match align {
        Align::Left | Align::Justify => x0,
        Align::Center => x0 + (width - len) / 2.0,
        Align::Right => x0 + width - len,
    };
    Some(Op::Line {
        x1,
        y1: y - RULE_ROOM_PT / 2.0,
        x2: x1 + len,
        y2: y - RULE_ROOM_PT / 2.0,
    })
}

/// The content stream of one page. Glyphs are encoded here, in page order, so that the
/// subset's glyph ids are assigned deterministically.
fn render<'f>(ops: &[Op], regular: &mut FontEmbedder<'f>, bold: &mut FontEmbedder<'f>) -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(b"0 g 0 G\n");
    let mut stroke_set = false;
    for op in ops {
        match op {
            Op::Text {
                face,
                size,
                oblique,
                x,
                y,
                glyphs,
            } => {
                let (name, emb) = match face {
                    Face::Regular => ("F1", &mut *regular),
                    Face::Bold => ("F2", &mut *bold),
                };
                let _ = write!(c, "BT /{name} ");
                num(&mut c, *size);
                c.extend_from_slice(b"Tf 1 0 ");
                num(&mut c, if *oblique { OBLIQUE_SHEAR } else { 0.0 });
                c.extend_from_slice(b"1 ");
                num(&mut c, *x);
                num(&mut c, *y);
                c.extend_from_slice(b"Tm ");
                write_hex_string(&mut c, &emb.encode(glyphs));
                c.extend_from_slice(b" Tj ET\n");
            }
            Op::Line { x1, y1, x2, y2 } => {
                if !stroke_set {
                    num(&mut c, STROKE_PT);
                    c.extend_from_slice(b"w\n");
                    stroke_set = true;
                }
                num(&mut c, *x1);
                num(&mut c, *y1);
                c.extend_from_slice(b"m ");
                num(&mut c, *x2);
                num(&mut c, *y2);
                c.extend_from_slice(b"l S\n");
            }
            Op::Bar { x, y, w, h } => {
                c.extend_from_slice(b"q 0.639 0.082 0.082 rg ");
                for v in [x, y, w, h] {
                    num(&mut c, *v);
                }
                c.extend_from_slice(b"re f Q\n");
            }
            Op::Image { index, x, y, w, h } => {
                c.extend_from_slice(b"q ");
                for v in [w, &0.0, &0.0, h, x, y] {
                    num(&mut c, *v);
                }
                let _ = writeln!(c, "cm /{} Do Q", image_name(*index));
            }
            Op::Rect { x, y, w, h } => {
                if !stroke_set {
                    num(&mut c, STROKE_PT);
                    c.extend_from_slice(b"w\n");
                    stroke_set = true;
                }
                for v in [x, y, w, h] {
                    num(&mut c, *v);
                }
                c.extend_from_slice(b"re S\n");
            }
        }
    }
    c
}

/// The resource name of image `i`.
fn image_name(i: usize) -> String {
    format!("Im{i}")
}

/// A number followed by a space.
fn num(out: &mut Vec<u8>, v: f64) {
    write_real(out, v);
    out.push(b' ');
}

/// The complete file (`crate::writer::complete_file`): the composed objects, the catalog and
/// the document information dictionary.
fn write_file(up: &IncrementalUpdate, root: ObjRef, info: ObjRef) -> Result<Vec<u8>> {
    crate::writer::complete_file(up.objects(), root, Some(info))
}

fn range(field: &'static str, v: f64, lo: f64, hi: f64, allowed: &'static str) -> Result<()> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(out_of_range(field, v, allowed))
    }
}

fn out_of_range(field: &'static str, v: f64, allowed: &'static str) -> Error {
    ComposeError::OutOfRange {
        field,
        value: format!("{v}"),
        allowed,
    }
    .into()
}

fn check_text(text: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ComposeError::OutOfRange {
            field: "text length",
            value: text.len().to_string(),
            allowed: "at most 1 MiB",
        }
        .into());
    }
    Ok(())
}

fn check_columns(columns: usize) -> Result<()> {
    if columns > MAX_COLUMNS {
        return Err(ComposeError::TooManyColumns {
            count: columns,
            max: MAX_COLUMNS,
        }
        .into());
    }
    Ok(())
}

fn row_too_tall(row: Option<usize>, h: f64, available: f64) -> Error {
    ComposeError::RowTooTall {
        row,
        height_pt: h.ceil() as u64,
        available_pt: available.max(0.0) as u64,
    }
    .into()
}

#[cfg(test)]
mod tests {
    //! The story: a Sở writes a request letter (title block, subject, body, table, signature),
    //! the file opens in kyso's reader, in poppler and in qpdf, its text comes back exactly,
    //! long tables carry their header onto every page, and bad input is an error, not a panic.

    use std::io::Write as _;
    use std::process::Command;

    use super::*;
    use crate::error::FontError;
    use crate::test_support::open;

    #[test]
    fn a_bar_chart_draws_bars_in_proportion_with_their_labels_and_values() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        let bars = vec![
            ("Còn hiệu lực".to_owned(), 120),
            ("Đã thu hồi".to_owned(), 30),
            ("Không có".to_owned(), 0),
        ];
        c.bar_chart(&bars, 0.4, &Style::new(12.0)).unwrap();
        let widths: Vec<f64> = c.pages[0]
            .iter()
            .filter_map(|o| match o {
                Op::Bar { w, .. } => Some(*w),
                _ => None,
            })
            .collect();
        assert_eq!(widths.len(), 2, "no bar for zero");
        assert!((widths[0] / widths[1] - 4.0).abs() < 1e-9, "{widths:?}");
        assert!(c.bar_chart(&bars, 0.9, &Style::new(12.0)).is_err());
        let pdf = c.finish(&info("D:20260601")).unwrap();
        let f = temp_pdf(&pdf);
        if have("pdftotext") {
            let text = squash(&pdftotext(&f, Some(1)));
            for want in ["Còn hiệu lực", "Đã thu hồi", "120", "30"] {
                assert!(text.contains(want), "{want}: {text}");
            }
        }
    }

    #[test]
    fn a_picture_is_placed_once_scaled_to_its_box_and_moves_to_the_next_page_when_short() {
        let picture = || crate::image::DecodedImage {
            width: 200,
            height: 100,
            color: crate::image::ImageColor::Gray,
            samples: vec![128; 200 * 100],
            alpha: None,
            dpi: None,
        };
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        c.paragraph("Hình 1", &Style::new(13.0)).unwrap();
        // 200 × 100 pt natural; at most 50 mm wide → 141.7 × 70.9 pt.
        c.image(picture(), 50.0, 6.0).unwrap();
        // Fill the page until less than the picture's height is left: the next one moves on.
        while c.remaining_pt() > 60.0 {
            c.spacer(5.0);
        }
        c.image(picture(), 50.0, 0.0).unwrap();
        assert_eq!(c.page_count(), 2);
        assert!(c.image(picture(), 0.0, 0.0).is_err(), "no zero-width box");
        let pdf = c.finish(&info("D:20260601")).unwrap();
        let doc = open(pdf.clone());
        let first = crate::text::page_images(&doc, 0).unwrap();
        let second = crate::text::page_images(&doc, 1).unwrap();
        assert_eq!((first.len(), second.len()), (1, 1));
        let m = first[0].ctm;
        assert!((m[0] - 50.0 * PT_PER_MM).abs() < 0.01, "{m:?}");
        assert!((m[3] - 25.0 * PT_PER_MM).abs() < 0.01, "{m:?}");
        // Centred in the text width.
        let text_mid = (Margins::decree30().left * PT_PER_MM + A4_WIDTH_PT
            - Margins::decree30().right * PT_PER_MM)
            / 2.0;
        assert!((m[4] + m[0] / 2.0 - text_mid).abs() < 0.01, "{m:?}");
        if have("qpdf") {
            let f = temp_pdf(&pdf);
            let out = Command::new("qpdf")
                .arg("--check")
                .arg(f.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    const HEADER: [&str; 4] = ["STT", "Họ và tên", "Chức vụ", "Số hiệu chứng thư"];

    /// Whether an external tool can be started; when it cannot, that part of the test is a
    /// listed skip (a failure under `KYSO_REQUIRE_ALL=1`).
    fn have(tool: &str) -> bool {
        kyso_testkit::need(tool, &["-v"])
    }

    fn temp_pdf(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    /// `pdftotext` of one page (1-based) or of the whole document.
    fn pdftotext(pdf: &tempfile::NamedTempFile, page: Option<usize>) -> String {
        let mut cmd = Command::new("pdftotext");
        if let Some(p) = page {
            cmd.args(["-f", &p.to_string(), "-l", &p.to_string()]);
        }
        let out = cmd.arg(pdf.path()).arg("-").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The text of every text operation, page by page.
    fn op_texts(c: &Composer) -> Vec<Vec<String>> {
        c.pages
            .iter()
            .map(|ops| {
                ops.iter()
                    .filter_map(|o| match o {
                        Op::Text { glyphs, .. } => {
                            Some(glyphs.iter().map(|g| g.text.as_str()).collect())
                        }
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    }

    fn info(date: &str) -> DocInfo {
        DocInfo {
            title: "Đề nghị gia hạn chứng thư chữ ký số chuyên dùng công vụ".into(),
            author: "Sở Khoa học và Công nghệ tỉnh Hồng Lam".into(),
            producer: "kyso".into(),
            creation_date: Some(date.into()),
            language: Some("vi-VN".into()),
            ..DocInfo::default()
        }
    }

    fn rows(n: usize) -> Vec<Vec<String>> {
        (1..=n)
            .map(|i| {
                vec![
                    i.to_string(),
                    format!("Người thứ {i}"),
                    "Chuyên viên".to_owned(),
                    format!("540A1B2C{i:08}"),
                ]
            })
            .collect()
    }

    /// A short letter in the Decree 30 layout.
    fn letter() -> Composer {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
        let agency = Block::new()
            .text("UBND TỈNH HỒNG LAM", &center(12.0))
            .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
            .rule(25.0, Align::Center);
        let nation = Block::new()
            .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
            .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
            .rule(50.0, Align::Center);
        c.columns_of(&agency, &nation, 0.4).unwrap();
        c.columns(
            ("Số: 07/SKHCN-VP", &center(13.0)),
            (
                "Hồng Lam, ngày 02 tháng 12 năm 2026",
                &center(13.0).italic(),
            ),
            0.4,
        )
        .unwrap();
        c.paragraph(
            "Đề nghị gia hạn chứng thư chữ ký số chuyên dùng công vụ",
            &center(14.0).bold(),
        )
        .unwrap();
        c.line(30.0, Align::Center);
        c.paragraph(
            "Kính gửi: Cục Chứng thực số và Bảo mật thông tin.",
            &center(14.0),
        )
        .unwrap();
        c.paragraph(
            "Sở Khoa học và Công nghệ tỉnh Hồng Lam đề nghị gia hạn chứng thư chữ ký số \
             chuyên dùng công vụ cho các thuê bao sau:",
            &Style::new(14.0).align(Align::Justify).indent(10.0),
        )
        .unwrap();
        c.table(&HEADER, &rows(3), &[1.0, 3.0, 2.0, 3.0], &Style::new(12.0))
            .unwrap();
        let signature = Block::new()
            .text("GIÁM ĐỐC", &center(14.0).bold())
            .space(20.0)
            .text("Trần Minh Quân", &center(14.0).bold());
        c.columns_of(&Block::new(), &signature, 0.5).unwrap();
        c
    }

    #[test]
    fn letter_opens_everywhere_and_its_vietnamese_text_comes_back() {
        let c = letter();
        // The title block: agency on the left, national title on the right, same first line.
        let first = &c.pages[0];
        let (Some(Op::Text { x: lx, y: ly, .. }), Some(Op::Text { x: rx, y: ry, .. })) = (
            first.iter().find(|o| matches!(o, Op::Text { .. })),
            first
                .iter()
                .find(|o| matches!(o, Op::Text { x, .. } if *x > c.left + 0.4 * c.text_width_pt())),
        ) else {
            panic!("no title block");
        };
        assert!(lx < rx);
        assert!((ly - ry).abs() < 1e-9, "{ly} {ry}");
        let pdf = c.finish(&info("D:20261202091500+07'00'")).unwrap();

        // kyso's reader: one A4 page whose resources name both fonts.
        let doc = open(pdf.clone());
        let pages = doc.pages().unwrap();
        assert_eq!(pages.len(), 1);
        let mb = pages[0].media_box;
        assert!((mb[2] - 595.2756).abs() < 1e-3 && (mb[3] - 841.8898).abs() < 1e-3);
        let res = doc
            .resolve_dict(pages[0].resources.as_ref().unwrap(), "test")
            .unwrap();
        let fonts = doc.resolve_dict(res.get("Font").unwrap(), "test").unwrap();
        assert!(fonts.contains("F1") && fonts.contains("F2"));
        assert!(doc.trailer().get("ID").is_some());

        let file = temp_pdf(&pdf);
        if have("pdftotext") {
            let text = pdftotext(&file, None);
            for s in [
                "UBND TỈNH HỒNG LAM",
                "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                "Độc lập - Tự do - Hạnh phúc",
                "Số: 07/SKHCN-VP",
                "Hồng Lam, ngày 02 tháng 12 năm 2026",
                "Đề nghị gia hạn chứng thư chữ ký số chuyên dùng công vụ",
                "Kính gửi: Cục Chứng thực số và Bảo mật thông tin.",
                "Người thứ 3",
                "GIÁM ĐỐC",
                "Trần Minh Quân",
            ] {
                assert!(text.contains(s), "{s:?} not in {text}");
            }
        }
        if have("pdffonts") {
            let out = Command::new("pdffonts").arg(file.path()).output().unwrap();
            let out = String::from_utf8(out.stdout).unwrap();
            // Two subset fonts, embedded, with ToUnicode: "emb sub uni" all "yes".
            let embedded: Vec<&str> = out.lines().filter(|l| l.contains("yes yes yes")).collect();
            assert_eq!(embedded.len(), 2, "{out}");
            assert!(out.contains("+LiberationSerif ") && out.contains("+LiberationSerif-Bold"));
        }
        if have("qpdf") {
            let out = Command::new("qpdf")
                .arg("--check")
                .arg(file.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    #[test]
    fn long_table_repeats_its_header_on_every_page() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        c.paragraph("Danh sách thuê bao", &Style::new(14.0).bold())
            .unwrap();
        c.table(
            &HEADER,
            &rows(120),
            &[1.0, 3.0, 2.0, 3.0],
            &Style::new(13.0),
        )
        .unwrap();
        let texts = op_texts(&c);
        assert!(texts.len() >= 3, "{} pages", texts.len());
        for (p, page) in texts.iter().enumerate() {
            assert_eq!(
                page.iter().filter(|t| *t == "Họ và tên").count(),
                1,
                "page {p}"
            );
        }
        for i in 1..=120 {
            let name = format!("Người thứ {i}");
            assert_eq!(texts.iter().flatten().filter(|t| **t == name).count(), 1);
        }
        // Every row lies inside the text area.
        for ops in &c.pages {
            for o in ops {
                if let Op::Rect { y, h, .. } = o {
                    assert!(*y >= c.bottom - 1e-6 && y + h <= c.top + 1e-6);
                }
            }
        }
        let pages = texts.len();
        let pdf = c.finish(&DocInfo::default()).unwrap();
        assert_eq!(open(pdf.clone()).pages().unwrap().len(), pages);
        if have("pdftotext") {
            let file = temp_pdf(&pdf);
            let mut seen = 0;
            for p in 1..=pages {
                let text = pdftotext(&file, Some(p));
                assert_eq!(text.matches("Họ và tên").count(), 1, "page {p}: {text}");
                assert!(text.contains("Số hiệu chứng thư"), "page {p}");
                seen += text.matches("Người thứ ").count();
            }
            assert_eq!(seen, 120);
        }
    }

    #[test]
    fn numbered_pages_carry_their_number_in_the_top_margin_from_the_second_on() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        c.number_pages(&Style::new(13.0)).unwrap();
        c.table(&HEADER, &rows(80), &[1.0, 3.0, 2.0, 3.0], &Style::new(13.0))
            .unwrap();
        let pages = c.page_count();
        assert!(pages >= 2);
        assert!(c.page_number_op(0).unwrap().is_none(), "none on page 1");
        for i in 1..pages {
            let Some(Op::Text { x, y, .. }) = c.page_number_op(i).unwrap() else {
                panic!("page {} has no number", i + 1);
            };
            // Centred across the page, inside the 20 mm top margin.
            assert!((x - A4_WIDTH_PT / 2.0).abs() < 10.0, "x {x}");
            assert!(y > c.top && y < A4_HEIGHT_PT, "y {y}");
        }
        let pdf = c.finish(&DocInfo::default()).unwrap();
        if have("pdftotext") {
            let file = temp_pdf(&pdf);
            assert!(!pdftotext(&file, Some(1)).trim_start().starts_with('1'));
            for p in 2..=pages {
                let text = pdftotext(&file, Some(p));
                assert!(
                    text.trim_start().starts_with(&p.to_string()),
                    "page {p}: {text}"
                );
            }
        }
        // A bad style is refused when asked for, not at the end.
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        assert!(c.number_pages(&Style::new(0.0)).is_err());
    }

    #[test]
    fn justified_lines_end_at_the_right_margin() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        let text = "Căn cứ Nghị định số 68/2024/NĐ-CP ngày 25 tháng 6 năm 2024 của Chính phủ quy \
                    định về chữ ký số chuyên dùng công vụ, Sở Khoa học và Công nghệ đề nghị gia \
                    hạn chứng thư chữ ký số cho các thuê bao có tên trong danh sách kèm theo.";
        let style = Style::new(14.0).align(Align::Justify).indent(10.0);
        c.paragraph(text, &style).unwrap();
        // Group the words by baseline.
        let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut last_y = f64::NAN;
        for o in &c.pages[0] {
            if let Op::Text { x, y, glyphs, .. } = o {
                let mut g = glyphs.clone();
                if g.last().is_some_and(|g| g.text == " ") {
                    g.pop();
                }
                let w = c.regular.glyphs_width(&g, 14.0);
                if *y != last_y {
                    lines.push(Vec::new());
                    last_y = *y;
                }
                lines.last_mut().unwrap().push((*x, w));
            }
        }
        assert!(lines.len() >= 3, "{lines:?}");
        let (first, rest) = lines.split_first().unwrap();
        assert!((first[0].0 - (c.left + 10.0 * PT_PER_MM)).abs() < 1e-6);
        for line in std::iter::once(first).chain(&rest[..rest.len() - 1]) {
            let (x, w) = line.last().unwrap();
            assert!((x + w - c.right).abs() < 1e-6, "{} vs {}", x + w, c.right);
            assert!(line.len() > 1, "words are placed one by one");
        }
        // The last line is not stretched: one run, at the left margin, short of the right.
        let last = rest.last().unwrap();
        assert_eq!(last.len(), 1);
        assert!((last[0].0 - c.left).abs() < 1e-6 && last[0].0 + last[0].1 < c.right);
        let pdf = c.finish(&DocInfo::default()).unwrap();
        if have("pdftotext") {
            let got = pdftotext(&temp_pdf(&pdf), None);
            assert_eq!(squash(&got), squash(text));
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_between_characters() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        let long: String = "Đ".repeat(120);
        c.paragraph(&format!("Mã: {long} hết"), &Style::new(13.0))
            .unwrap();
        let texts = op_texts(&c);
        let lines = &texts[0];
        assert!(lines.len() >= 3, "{lines:?}");
        // Like CSS `overflow-wrap: break-word`: the long word starts on a line of its own,
        // fills whole lines, and its last piece is followed by the next word.
        assert_eq!(lines[0], "Mã:");
        assert!(lines[1].chars().all(|ch| ch == 'Đ') && lines[1].chars().count() > 20);
        assert!(lines.last().unwrap().ends_with("Đ hết"));
        let joined: String = lines.concat();
        assert_eq!(joined.replace(' ', ""), format!("Mã:{long}hết"));
        for o in &c.pages[0] {
            if let Op::Text { x, glyphs, .. } = o {
                assert!(x + c.regular.glyphs_width(glyphs, 13.0) <= c.right + 1e-6);
            }
        }
    }

    #[test]
    fn a_landscape_page_is_wider_than_tall_and_its_table_uses_the_width() {
        let mut c = Composer::a4_landscape(Margins::decree30()).unwrap();
        let tw = c.text_width_pt();
        assert!((tw - (297.0 - 45.0) * PT_PER_MM).abs() < 1e-6, "{tw}");
        c.number_pages(&Style::new(11.0)).unwrap();
        c.table(&HEADER, &rows(60), &[1.0, 3.0, 2.0, 3.0], &Style::new(11.0))
            .unwrap();
        assert!(c.page_count() >= 2);
        let doc = open(c.finish(&DocInfo::default()).unwrap());
        for page in doc.pages().unwrap() {
            let [x0, y0, x1, y1] = page.media_box;
            assert!((x1 - x0 - A4_HEIGHT_PT).abs() < 0.01 && (y1 - y0 - A4_WIDTH_PT).abs() < 0.01);
            assert_eq!(page.rotate, 0);
        }
    }

    #[test]
    fn same_input_gives_the_same_bytes() {
        let date = "D:20261202091500+07'00'";
        let a = letter().finish(&info(date)).unwrap();
        let b = letter().finish(&info(date)).unwrap();
        assert_eq!(a, b);
        let other = letter().finish(&info("D:20261203091500+07'00'")).unwrap();
        assert_ne!(a, other);
        let id = |pdf: Vec<u8>| open(pdf).trailer().get("ID").cloned().unwrap();
        assert_ne!(id(a), id(other));
    }

    #[test]
    fn fonts_are_embedded_once_and_only_when_used() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        for i in 0..80 {
            c.paragraph(&format!("Dòng số {i}"), &Style::new(14.0).spacing(1.5))
                .unwrap();
        }
        assert!(c.page_count() >= 2);
        let doc = open(c.finish(&DocInfo::default()).unwrap());
        let mut type0 = 0;
        for n in 1..doc.size() {
            if let Ok(Object::Dict(d)) = doc.get(ObjRef::new(n, 0)) {
                if d.get_name("Subtype").is_some_and(|s| *s == *"Type0") {
                    type0 += 1;
                }
            }
        }
        assert_eq!(type0, 1, "regular only, shared by all pages");
        let pages = doc.pages().unwrap();
        assert!(pages.windows(2).all(|w| w[0].resources == w[1].resources));
    }

    #[test]
    fn kyso_finds_the_signature_place_in_a_composed_letter() {
        let pdf = letter().finish(&info("D:20261202091500+07'00'")).unwrap();
        let doc = open(pdf);
        // kyso's own text extraction reads the words back...
        let page = crate::text::page_text(&doc, 0).unwrap();
        let text: Vec<String> = page.lines.iter().map(|l| l.text.clone()).collect();
        assert!(
            text.iter()
                .any(|l| l.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")),
            "{text:?}"
        );
        // ...and the Decree 30 anchor finder puts the signature between title and name.
        let hit = crate::text::locate_anchor(&doc, None, "GIÁM ĐỐC")
            .unwrap()
            .unwrap();
        assert_eq!(hit.page, 0);
        assert_eq!(hit.name.as_deref(), Some("Trần Minh Quân"));
        assert!(hit.region[3] - hit.region[1] > 40.0, "{:?}", hit.region);
    }

    #[test]
    fn a_composed_file_takes_an_incremental_update() {
        let pdf = letter().finish(&info("D:20261202091500+07'00'")).unwrap();
        let doc = open(pdf.clone());
        let mut up = IncrementalUpdate::new(&doc);
        let mut d = Dict::new();
        d.set("Kyso", Object::Int(1));
        let r = up.add(d);
        let (tail, _) = up.serialize(pdf.len() as u64).unwrap();
        let mut signed = pdf;
        signed.extend_from_slice(&tail);
        let doc2 = open(signed);
        assert_eq!(doc2.sections().len(), 2);
        assert_eq!(doc2.pages().unwrap().len(), 1);
        assert!(doc2.get(r).is_ok());
        assert_eq!(doc2.trailer().get("ID"), doc.trailer().get("ID"));
    }

    #[test]
    fn absurd_or_impossible_input_is_an_error() {
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        let s = Style::default();
        let compose = |e: Error| match e {
            Error::Compose(c) => c,
            other => panic!("{other:?}"),
        };
        // A character the font lacks is named.
        assert_eq!(
            c.paragraph("Chữ 中", &s).unwrap_err(),
            Error::Font(FontError::MissingGlyphs {
                missing: vec!['中']
            })
        );
        let head: Vec<&str> = vec!["x"; 51];
        let e = c.table(&head, &[], &[1.0; 51], &s).unwrap_err();
        assert_eq!(
            compose(e),
            ComposeError::TooManyColumns { count: 51, max: 50 }
        );
        let e = c
            .table(&["a", "b"], &[vec!["1".into()]], &[1.0, 1.0], &s)
            .unwrap_err();
        assert!(matches!(
            compose(e),
            ComposeError::RowShape {
                row: 0,
                cells: 1,
                columns: 2
            }
        ));
        let e = c.table(&["a"], &[], &[f64::NAN], &s).unwrap_err();
        assert!(matches!(compose(e), ComposeError::BadWidths { .. }));
        let e = c.table(&[], &[], &[], &s).unwrap_err();
        assert_eq!(compose(e), ComposeError::NoColumns);
        // A row taller than a page is refused (rows are not split).
        let tall = vec!["x\n".repeat(80)];
        let e = c
            .table(&["a"], &[vec!["ok".into()], tall], &[1.0], &s)
            .unwrap_err();
        assert!(
            c.pages[0].is_empty(),
            "nothing of the refused table is drawn"
        );
        assert!(matches!(
            compose(e),
            ComposeError::RowTooTall { row: Some(1), .. }
        ));
        let e = c.paragraph("x", &Style::new(0.0)).unwrap_err();
        assert!(matches!(
            compose(e),
            ComposeError::OutOfRange {
                field: "font size",
                ..
            }
        ));
        let e = c.columns(("a", &s), ("b", &s), 1.5).unwrap_err();
        assert!(matches!(compose(e), ComposeError::OutOfRange { .. }));
        let bad = Margins {
            left: f64::INFINITY,
            ..Margins::decree30()
        };
        assert!(matches!(
            Composer::a4(bad).map(|_| ()).unwrap_err(),
            Error::Compose(ComposeError::OutOfRange { .. })
        ));
        let e = c
            .paragraph(&"a".repeat(MAX_TEXT_BYTES + 1), &s)
            .unwrap_err();
        assert!(matches!(
            compose(e),
            ComposeError::OutOfRange {
                field: "text length",
                ..
            }
        ));

        // The page limit: by paragraphs, and by rules (reported when finishing).
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        c.set_max_pages(2);
        let e = (0..200)
            .try_for_each(|_| c.paragraph("Dòng", &s))
            .unwrap_err();
        assert_eq!(compose(e), ComposeError::TooManyPages { max: 2 });
        let mut c = Composer::a4(Margins::decree30()).unwrap();
        c.set_max_pages(1);
        for _ in 0..200 {
            c.line(10.0, Align::Left);
        }
        let e = c.finish(&DocInfo::default()).unwrap_err();
        assert_eq!(compose(e), ComposeError::TooManyPages { max: 1 });
    }

    /// A small deterministic generator for the no-panic test.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n.max(1) as u64) as usize
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.next(items.len())]
        }

        fn text(&mut self) -> String {
            const CHARS: &[char] = &[
                'a', 'ă', 'â', 'đ', 'ê', 'ô', 'ơ', 'ư', 'Ễ', 'Ự', 'ằ', 'x', 'W', '1', ' ', ' ',
                ' ', '\n', '\t', '.', ',', '-', 'e', '\u{0301}',
            ];
            let len = self.pick(&[0, 1, 5, 30, 200, 600]);
            (0..len).map(|_| self.pick(CHARS)).collect()
        }

        fn style(&mut self) -> Style {
            Style {
                size_pt: self.pick(&[1.0, 6.0, 13.0, 13.0, 14.0, 40.0, 200.0, 300.0, f64::NAN]),
                bold: self.next(2) == 0,
                italic: self.next(2) == 0,
                align: self.pick(&[Align::Left, Align::Center, Align::Right, Align::Justify]),
                line_spacing: self.pick(&[0.5, 1.0, 1.2, 1.5, 5.0, 6.0]),
                space_after_pt: self.pick(&[0.0, 0.0, 6.0, 6.0, 900.0, -1.0]),
                first_line_indent_mm: self.pick(&[0.0, 0.0, 10.0, 10.0, 100.0, f64::INFINITY]),
            }
        }
    }

    #[test]
    fn random_input_gives_a_document_or_an_error_never_a_panic() {
        let mut r = Lcg(68_2024);
        let (mut done, mut refused, mut written) = (0, 0, 0);
        for _ in 0..150 {
            let margins = Margins {
                top: r.pick(&[0.0, 20.0, 100.0]),
                bottom: r.pick(&[0.0, 20.0, 100.0]),
                left: r.pick(&[0.0, 30.0, 100.0, -1.0]),
                right: r.pick(&[0.0, 15.0, 100.0]),
            };
            let Ok(mut c) = Composer::a4(margins) else {
                continue;
            };
            c.set_max_pages(r.pick(&[1, 3, 50]));
            for _ in 0..r.next(12) {
                let (t, st) = (r.text(), r.style());
                let res = match r.next(6) {
                    0 | 1 => c.paragraph(&t, &st),
                    2 => c.columns((&t, &st), (&r.text(), &r.style()), r.pick(&[0.0, 0.4, 0.9])),
                    3 => {
                        let n = r.pick(&[0, 1, 3, 12, 51]);
                        let head: Vec<String> = (0..n).map(|_| r.text()).collect();
                        let head: Vec<&str> = head.iter().map(String::as_str).collect();
                        let rows: Vec<Vec<String>> = (0..r.next(40))
                            .map(|_| (0..n).map(|_| r.text()).collect())
                            .collect();
                        let widths: Vec<f64> =
                            (0..n).map(|_| r.pick(&[1.0, 0.01, 100.0, 0.0])).collect();
                        c.table(&head, &rows, &widths, &st)
                    }
                    4 => {
                        c.line(r.pick(&[0.0, 30.0, 1e9, f64::NAN]), st.align);
                        Ok(())
                    }
                    _ => {
                        c.spacer(r.pick(&[-3.0, 5.0, 500.0, f64::NAN]));
                        Ok(())
                    }
                };
                if res.is_ok() {
                    done += 1;
                } else {
                    refused += 1;
                }
            }
            let pages = c.page_count();
            if let Ok(pdf) = c.finish(&DocInfo::default()) {
                assert_eq!(open(pdf).pages().unwrap().len(), pages);
                written += 1;
            }
        }
        // Both paths were exercised.
        println!("{done} calls done, {refused} refused, {written} documents written");
        assert!(done > 100 && refused > 50 && written > 30);
    }
}
