//! The registers printed as books (Decree 30/2020 Appendix IV): the outgoing register (sổ đăng
//! ký văn bản đi, part I) and the incoming register (sổ đăng ký văn bản đến, part VI), each a
//! cover page, then the register's documents as a table with the appendix's ten columns, on A4
//! landscape pages. One layout serves both: a book's columns are data ([`RegisterKind`]).
//!
//! ```text
//! page 1 (cover)                           pages 2… (numbered in the top margin)
//!   UBND TỈNH DEMO                          SỔ ĐĂNG KÝ VĂN BẢN ĐI — SỞ KHOA HỌC VÀ CÔNG NGHỆ
//! SỞ KHOA HỌC VÀ CÔNG NGHỆ                  Sổ văn bản đi (VBĐ) — từ ngày … đến ngày …
//!      ───────                           ┌────────┬───────┬──────────┬──…──┬────────┐
//!                                        │Số, ký  │Ngày   │Tên loại  │     │Ghi chú │
//!        SỔ ĐĂNG KÝ VĂN BẢN ĐI           │hiệu (1)│… (2)  │… (3)     │     │(10)    │ header
//!       Sổ văn bản đi (VBĐ)              ├────────┼───────┼──────────┼──…──┼────────┤ repeated
//!           Năm: 2026                    │01/QĐ-… │10/02/…│Quyết     │     │        │ on each
//!  Từ ngày 01/01/2026 đến ngày 31/12/2026│        │       │định: …   │     │        │ page
//!       Từ số 01 đến số 57               └────────┴───────┴──────────┴──…──┴────────┘
//! ```
//!
//! The book is written by the same composer as the request letters (`kyso_pdf::compose`:
//! Liberation Serif embedded, subset, with a ToUnicode map) and signed like them with
//! [`crate::sign`].

use kyso_pdf::compose::{Align, Block, Composer, DocInfo, Margins, Style};
use time::Date;

use crate::Error;

/// The ten columns of the outgoing register (Decree 30/2020 Appendix IV, I.2), in order.
pub const REGISTER_COLUMNS: [&str; 10] = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
];

/// The ten columns of the incoming register (Decree 30/2020 Appendix IV, VI.2), in order.
pub const INCOMING_REGISTER_COLUMNS: [&str; 10] = [
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
];

/// Relative widths (about millimetres of the 262 mm line) and body alignment of the columns:
/// the subject and the recipients get the room; a number and notation ("2000/QĐ-UBND") and a
/// date fit on one line.
const LAYOUT: [(f64, Align); 10] = [
    (36.0, Align::Center),
    (21.0, Align::Center),
    (62.0, Align::Left),
    (26.0, Align::Left),
    (34.0, Align::Left),
    (22.0, Align::Left),
    (14.0, Align::Center),
    (20.0, Align::Center),
    (13.0, Align::Center),
    (23.0, Align::Left),
];

/// The incoming register's columns: the sender (an agency's name) and the subject get the
/// room, the handling unit or person next.
const INCOMING_LAYOUT: [(f64, Align); 10] = [
    (20.0, Align::Center),
    (14.0, Align::Center),
    (40.0, Align::Left),
    (30.0, Align::Center),
    (20.0, Align::Center),
    (62.0, Align::Left),
    (30.0, Align::Left),
    (20.0, Align::Center),
    (13.0, Align::Center),
    (22.0, Align::Left),
];

/// Which register a book prints: its columns, their layout and the book's title are data of
/// the kind, the rest of the book is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterKind {
    /// Sổ đăng ký văn bản đi ([`REGISTER_COLUMNS`]).
    Outgoing,
    /// Sổ đăng ký văn bản đến ([`INCOMING_REGISTER_COLUMNS`]); a row's number is its arrival
    /// number (số đến) in the year's series.
    Incoming,
}

impl RegisterKind {
    /// The column names, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            RegisterKind::Outgoing => &REGISTER_COLUMNS,
            RegisterKind::Incoming => &INCOMING_REGISTER_COLUMNS,
        }
    }

    fn layout(self) -> &'static [(f64, Align)] {
        match self {
            RegisterKind::Outgoing => &LAYOUT,
            RegisterKind::Incoming => &INCOMING_LAYOUT,
        }
    }

    /// The book's title, as on its cover ("SỔ ĐĂNG KÝ VĂN BẢN ĐI").
    pub fn title(self) -> &'static str {
        match self {
            RegisterKind::Outgoing => "SỔ ĐĂNG KÝ VĂN BẢN ĐI",
            RegisterKind::Incoming => "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN",
        }
    }

    /// The title in a sentence (the PDF's metadata title).
    fn title_sentence(self) -> &'static str {
        match self {
            RegisterKind::Outgoing => "Sổ đăng ký văn bản đi",
            RegisterKind::Incoming => "Sổ đăng ký văn bản đến",
        }
    }
}

/// Most documents one printed book holds. A register takes a few thousand documents a year;
/// a larger book is a period too long to print in one go (the caller asks for a shorter one).
pub const MAX_REGISTER_ROWS: usize = 20_000;

/// Longest text of one cell, in characters: longer text (a list of hundreds of recipients) is
/// cut with "…", so that every row fits on a page.
pub const MAX_CELL_CHARS: usize = 600;

/// One document of the book.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterEntry {
    /// The register's number of the document (its yearly series).
    pub number: i64,
    /// The year of that series.
    pub year: i32,
    /// The cells of [`REGISTER_COLUMNS`], in order, as printed (dates already `dd/mm/yyyy`).
    pub cells: Vec<String>,
}

/// Everything the printed book says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterBookData {
    /// The agency that keeps the register ("Sở Khoa học và Công nghệ").
    pub agency_name: String,
    /// Its managing agency, above its name on the cover ("UBND tỉnh Demo").
    pub managing_agency_name: Option<String>,
    /// The register's name ("Sổ văn bản đi") and code ("VBĐ").
    pub register_name: String,
    pub register_code: String,
    /// The period: documents dated from `from` to `to`.
    pub from: Date,
    pub to: Date,
    /// The day the book is made (on the cover, and the PDF's creation date).
    pub made_on: Date,
    /// The documents, in the register's order (year, then number).
    pub rows: Vec<RegisterEntry>,
}

fn vn(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// The period's years: "2026", or "2025 - 2026".
fn years(from: Date, to: Date) -> String {
    if from.year() == to.year() {
        from.year().to_string()
    } else {
        format!("{} - {}", from.year(), to.year())
    }
}

/// "Từ số 01 đến số 57", naming the years when the book crosses one.
fn number_range(rows: &[RegisterEntry]) -> String {
    match (rows.first(), rows.last()) {
        (Some(a), Some(b)) if a.year == b.year => {
            format!("Từ số {:02} đến số {:02}", a.number, b.number)
        }
        (Some(a), Some(b)) => format!(
            "Từ số {:02} (năm {}) đến số {:02} (năm {})",
            a.number, a.year, b.number, b.year
        ),
        _ => "Không có văn bản nào được đăng ký trong khoảng thời gian này".to_owned(),
    }
}

/// A cell as printed: trimmed, at most [`MAX_CELL_CHARS`] characters.
fn cell(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_CELL_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_CELL_CHARS - 1).collect();
    out.push('…');
    out
}

fn pdf_date(d: Date) -> String {
    format!(
        "D:{:04}{:02}{:02}000000+07'00'",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

fn validate(kind: RegisterKind, data: &RegisterBookData) -> Result<(), Error> {
    if data.agency_name.trim().is_empty() {
        return Err(Error::EmptyField {
            field: "agency name",
        });
    }
    if data.register_name.trim().is_empty() {
        return Err(Error::EmptyField {
            field: "register name",
        });
    }
    if data.rows.len() > MAX_REGISTER_ROWS {
        return Err(Error::TooManyRows {
            count: data.rows.len(),
            max: MAX_REGISTER_ROWS,
        });
    }
    for (row, r) in data.rows.iter().enumerate() {
        if r.cells.len() != kind.columns().len() {
            return Err(Error::RowShape {
                row,
                cells: r.cells.len(),
                expected: kind.columns().len(),
            });
        }
    }
    Ok(())
}

/// Lay out the outgoing register's book as a PDF: [`render_book`] of
/// [`RegisterKind::Outgoing`].
pub fn render_register(data: &RegisterBookData) -> Result<Vec<u8>, Error> {
    render_book(RegisterKind::Outgoing, data)
}

/// Lay out the incoming register's book as a PDF: [`render_book`] of
/// [`RegisterKind::Incoming`]: each row's number is its arrival number, its cells those of
/// [`INCOMING_REGISTER_COLUMNS`].
pub fn render_incoming_register(data: &RegisterBookData) -> Result<Vec<u8>, Error> {
    render_book(RegisterKind::Incoming, data)
}

/// Lay out a register's book as a PDF: A4 landscape, the cover on page 1, the table from page 2
/// with its header row (the kind's column names and their numbers (1)–(10)) repeated on every
/// page, pages numbered in the top margin from the second on. Long cells wrap inside their
/// column; a character the font does not have is printed as "?" (the book is still printed).
/// The output depends only on `kind` and `data`.
pub fn render_book(kind: RegisterKind, data: &RegisterBookData) -> Result<Vec<u8>, Error> {
    validate(kind, data)?;
    match compose(kind, data, None) {
        Err(Error::Layout(kyso_pdf::Error::Font(kyso_pdf::FontError::MissingGlyphs {
            missing,
        }))) => compose(kind, data, Some(&missing)),
        other => other,
    }
}

fn compose(
    kind: RegisterKind,
    data: &RegisterBookData,
    missing: Option<&[char]>,
) -> Result<Vec<u8>, Error> {
    let clean = |s: &str| -> String {
        let s = cell(s);
        match missing {
            Some(m) => s
                .chars()
                .map(|c| if m.contains(&c) { '?' } else { c })
                .collect(),
            None => s,
        }
    };
    let agency = clean(&data.agency_name);
    let register = clean(&data.register_name);
    let code = clean(&data.register_code);
    let register_line = if code.is_empty() {
        register.clone()
    } else {
        format!("{register} ({code})")
    };
    let period = format!("Từ ngày {} đến ngày {}", vn(data.from), vn(data.to));
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.2);

    let mut c = Composer::a4_landscape(Margins {
        top: 20.0,
        bottom: 15.0,
        left: 20.0,
        right: 15.0,
    })?;
    c.number_pages(&Style::new(11.0))?;

    // The cover (Appendix IV, I.1).
    let mut issuer = Block::new();
    if let Some(m) = data.managing_agency_name.as_deref().map(clean) {
        if !m.is_empty() {
            issuer = issuer.text(&m.to_uppercase(), &center(13.0));
        }
    }
    let issuer = issuer
        .text(&agency.to_uppercase(), &center(13.0).bold())
        .rule(30.0, Align::Center);
    c.columns_of(&issuer, &Block::new(), 0.45)?;
    c.spacer(32.0);
    c.paragraph(kind.title(), &center(28.0).bold().after(6.0))?;
    c.paragraph(&register_line, &center(16.0).after(18.0))?;
    let facts = center(15.0).spacing(1.5);
    c.paragraph(&format!("Năm: {}", years(data.from, data.to)), &facts)?;
    c.paragraph(&period, &facts)?;
    c.paragraph(&number_range(&data.rows), &facts)?;
    c.paragraph(
        &format!("Số văn bản trong sổ: {}", data.rows.len()),
        &facts.clone().after(24.0),
    )?;
    c.paragraph(
        &format!(
            "Sổ được lập từ hệ thống quản lý văn bản ngày {}.",
            vn(data.made_on)
        ),
        &center(11.0).italic(),
    )?;

    // The register's pages: a space longer than the page moves to the next one.
    c.spacer(1000.0);
    c.paragraph(
        &format!("{} — {}", kind.title(), agency.to_uppercase()),
        &center(13.0).bold(),
    )?;
    c.paragraph(
        &format!("{register_line} — {}", period.to_lowercase()),
        &center(12.0).italic().after(6.0),
    )?;
    let headers: Vec<String> = kind
        .columns()
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{h}\n({})", i + 1))
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let widths: Vec<f64> = kind.layout().iter().map(|(w, _)| *w).collect();
    let aligns: Vec<Align> = kind.layout().iter().map(|(_, a)| *a).collect();
    let rows: Vec<Vec<String>> = data
        .rows
        .iter()
        .map(|r| r.cells.iter().map(|s| clean(s)).collect())
        .collect();
    c.table_aligned(
        &headers,
        &rows,
        &widths,
        &aligns,
        &Style::new(10.0).spacing(1.15),
    )?;

    Ok(c.finish(&DocInfo {
        title: format!("{} — {register}", kind.title_sentence()),
        author: agency,
        subject: period,
        producer: "kyso".to_owned(),
        creation_date: Some(pdf_date(data.made_on)),
        language: Some("vi-VN".to_owned()),
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn entry(number: i64, year: i32) -> RegisterEntry {
        RegisterEntry {
            number,
            year,
            cells: vec![String::new(); 10],
        }
    }

    #[test]
    fn the_cover_names_the_numbers_and_years() {
        assert_eq!(
            number_range(&[entry(1, 2026), entry(57, 2026)]),
            "Từ số 01 đến số 57"
        );
        assert_eq!(
            number_range(&[entry(7, 2025), entry(2, 2026)]),
            "Từ số 07 (năm 2025) đến số 02 (năm 2026)"
        );
        assert!(number_range(&[]).starts_with("Không có văn bản"));
        assert_eq!(years(date!(2026 - 01 - 01), date!(2026 - 12 - 31)), "2026");
        assert_eq!(
            years(date!(2025 - 07 - 01), date!(2026 - 06 - 30)),
            "2025 - 2026"
        );
    }

    #[test]
    fn a_very_long_cell_is_cut() {
        let long = "H99.05; ".repeat(500);
        let c = cell(&long);
        assert_eq!(c.chars().count(), MAX_CELL_CHARS);
        assert!(c.ends_with('…'));
        assert_eq!(cell("  ngắn  "), "ngắn");
    }
}
