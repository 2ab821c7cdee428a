//! The outgoing register as a book (sổ đăng ký văn bản đi, Decree 30 Appendix IV): the
//! documents a register holds for a period, in number order, with the appendix's ten columns,
//! and as an XLSX workbook. The incoming register's book (sổ đăng ký văn bản đến) is written by
//! the same workbook code with its own columns ([`IncomingRegisterBook`]).

use std::collections::BTreeMap;

use time::{Date, OffsetDateTime};

use super::*;

/// The Appendix IV columns of the outgoing register, in order.
pub const REGISTER_BOOK_COLUMNS: [&str; 10] = [
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

/// The Appendix IV columns of the incoming register (part VI.2), in order.
pub const INCOMING_BOOK_COLUMNS: [&str; 10] = [
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

/// Longest period one book covers (a few years: the register's series restart each year).
pub const MAX_BOOK_DAYS: i64 = 366 * 5;

/// One row of the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookRow {
    pub document_id: i64,
    pub number_year: i64,
    pub number: i64,
    /// The Appendix IV cells, in the order of [`REGISTER_BOOK_COLUMNS`].
    pub cells: Vec<String>,
}

/// The book of a register for a period.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterBook {
    pub register: Register,
    pub agency_name: String,
    pub from: Date,
    pub to: Date,
    pub rows: Vec<BookRow>,
}

/// The registered documents of register `register_id` whose document date lies in
/// `from..=to` (registered, dispatched or recalled: a document enters the book at the
/// `register` step), in number order. Only readers of the agency's documents see it: anyone
/// else gets *not found*.
pub async fn register_book(
    store: &Store,
    actor: &Actor,
    register_id: i64,
    from: Date,
    to: Date,
) -> Result<RegisterBook> {
    if to < from {
        return Err(Error::invalid(
            "to",
            "Ngày kết thúc phải không trước ngày bắt đầu.",
            "The end date must not be before the start date.",
        ));
    }
    if (to - from).whole_days() > MAX_BOOK_DAYS {
        return Err(Error::invalid(
            "to",
            "Khoảng thời gian quá dài (tối đa 5 năm).",
            "The period is too long (at most 5 years).",
        ));
    }
    let register = super::registers::register_unchecked(store, register_id).await?;
    let agency =
        crate::registry::agency(store, actor, register.agency_id, Permission::ReadDocuments)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } | Error::Forbidden => Error::NotFound {
                    what: Record::Register,
                },
                e => e,
            })?;
    let rows = sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents d JOIN agencies a ON a.id = d.agency_id \
         WHERE d.register_id = $1 AND d.state IN ('registered', 'dispatched', 'recalled') \
         AND d.number IS NOT NULL AND d.issued_date >= $2 AND d.issued_date <= $3 \
         ORDER BY d.number_year, d.number, d.id"
    ))
    .bind(register.id)
    .bind(iso(from))
    .bind(iso(to))
    .fetch_all(store.pool())
    .await?;
    let docs: Vec<Document> = rows.iter().map(document_from).collect::<Result<_>>()?;
    let dispatched = first_times(store, &docs, "SELECT document_id, MIN(created_at) FROM document_events WHERE action = 'dispatch' AND document_id IN").await?;
    let recalls = recall_reasons(store, &docs).await?;
    let rows = docs
        .iter()
        .map(|d| book_row(d, dispatched.get(&d.id).copied(), recalls.get(&d.id)))
        .collect();
    Ok(RegisterBook {
        register,
        agency_name: agency.name,
        from,
        to,
        rows,
    })
}

/// One document of the incoming register's book, as the clerk registered it (Decree 30
/// Appendix IV, VI.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingBookRow {
    /// The received document's id.
    pub incoming_id: i64,
    /// The arrival number (số đến) and the year of its series.
    pub arrival_year: i64,
    pub arrival_number: i64,
    /// The day it arrived (ngày đến), Vietnam time.
    pub arrival_date: Date,
    /// The sending agency (tác giả).
    pub sender: String,
    /// The document's number and notation ("12/QĐ-UBND").
    pub number_notation: String,
    /// The document's own date, when it has one.
    pub document_date: Option<Date>,
    /// Its type and subject ("Quyết định: Về việc …").
    pub type_and_subject: String,
    /// The unit or person it went to for handling (đơn vị hoặc người nhận).
    pub handler: String,
    /// The day it was passed on to them (ngày chuyển).
    pub transferred_on: Option<Date>,
    /// A note (recalled by the sender, registered with the clerk's reason …).
    pub note: String,
}

impl IncomingBookRow {
    /// The cells of [`INCOMING_BOOK_COLUMNS`], in order, as printed (dates `dd/mm/yyyy`, the
    /// arrival number on two digits at least, "Ký nhận" left empty to be signed on paper).
    pub fn cells(&self) -> Vec<String> {
        vec![
            vn(self.arrival_date),
            format!("{:02}", self.arrival_number),
            self.sender.clone(),
            self.number_notation.clone(),
            self.document_date.map(vn).unwrap_or_default(),
            self.type_and_subject.clone(),
            self.handler.clone(),
            self.transferred_on.map(vn).unwrap_or_default(),
            String::new(),
            self.note.clone(),
        ]
    }
}

/// The incoming register's book for a period: what [`incoming_register_book_xlsx`] writes and
/// what the printed book (`kyso_letters::render_incoming_register`, from each row's
/// [`IncomingBookRow::cells`]) lays out.
#[derive(Debug, Clone, Serialize)]
pub struct IncomingRegisterBook {
    pub agency_name: String,
    /// The register's name ("Sổ văn bản đến").
    pub register_name: String,
    pub from: Date,
    pub to: Date,
    /// In arrival order (year, then arrival number).
    pub rows: Vec<IncomingBookRow>,
}

/// What distinguishes one register's workbook from another's: the sheet, the title and the
/// columns with their widths (in characters).
struct BookSheet<'a> {
    sheet: &'a str,
    title: String,
    columns: &'a [&'a str],
    widths: &'a [f64],
}

/// A register's book as an XLSX workbook: a title, the period, the bold Appendix IV header
/// row, one row per document; every cell is text (nothing is taken for a formula).
fn book_xlsx(
    layout: &BookSheet<'_>,
    from: Date,
    to: Date,
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>> {
    let fail =
        |e: rust_xlsxwriter::XlsxError| Error::Database(sqlx::Error::Protocol(e.to_string()));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold().set_text_wrap();
    let wrap = rust_xlsxwriter::Format::new().set_text_wrap();
    let ws = wb.add_worksheet();
    ws.set_name(layout.sheet).map_err(fail)?;
    ws.write_string_with_format(0, 0, &layout.title, &bold)
        .map_err(fail)?;
    ws.write_string(1, 0, format!("Từ ngày {} đến ngày {}", vn(from), vn(to)))
        .map_err(fail)?;
    for (c, (h, w)) in layout.columns.iter().zip(layout.widths).enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        ws.set_column_width(c, *w).map_err(fail)?;
        ws.write_string_with_format(3, c, *h, &bold).map_err(fail)?;
    }
    for (r, row) in rows.enumerate() {
        let r = u32::try_from(r + 4).unwrap_or(u32::MAX);
        for (c, v) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(r, c, v, &wrap).map_err(fail)?;
        }
    }
    wb.save_to_buffer().map_err(fail)
}

/// The outgoing register's book as an XLSX workbook (sheet "Sổ văn bản đi", the columns of
/// [`REGISTER_BOOK_COLUMNS`]).
pub fn register_book_xlsx(book: &RegisterBook) -> Result<Vec<u8>> {
    let layout = BookSheet {
        sheet: "Sổ văn bản đi",
        title: format!(
            "SỔ ĐĂNG KÝ VĂN BẢN ĐI — {} — {}",
            book.agency_name, book.register.name
        ),
        columns: &REGISTER_BOOK_COLUMNS,
        widths: &[16.0, 12.0, 40.0, 20.0, 28.0, 18.0, 8.0, 12.0, 10.0, 20.0],
    };
    book_xlsx(
        &layout,
        book.from,
        book.to,
        book.rows.iter().map(|r| r.cells.clone()),
    )
}

/// The incoming register's book as an XLSX workbook (sheet "Sổ văn bản đến", the columns of
/// [`INCOMING_BOOK_COLUMNS`]).
pub fn incoming_register_book_xlsx(book: &IncomingRegisterBook) -> Result<Vec<u8>> {
    let layout = BookSheet {
        sheet: "Sổ văn bản đến",
        title: format!(
            "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — {} — {}",
            book.agency_name, book.register_name
        ),
        columns: &INCOMING_BOOK_COLUMNS,
        widths: &[12.0, 8.0, 28.0, 16.0, 12.0, 40.0, 22.0, 12.0, 10.0, 20.0],
    };
    book_xlsx(
        &layout,
        book.from,
        book.to,
        book.rows.iter().map(IncomingBookRow::cells),
    )
}

/// 1 January to 31 December of the current year, Vietnam time.
pub fn default_book_period(now: OffsetDateTime) -> (Date, Date) {
    let year = now.to_offset(kyso_domain::calendar::VIETNAM).year();
    let first = Date::from_ordinal_date(year, 1).unwrap_or(Date::MIN);
    let last = Date::from_calendar_date(year, time::Month::December, 31).unwrap_or(Date::MAX);
    (first, last)
}

/// The period asked for: `from` and `to` as ISO dates (`yyyy-mm-dd`, at most 10 characters),
/// each defaulting to the bound of the current year (Vietnam time); a wrong date is that
/// field's error.
pub fn book_period(
    from: Option<&str>,
    to: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Date, Date)> {
    let (first, last) = default_book_period(now);
    let parse = |field: &'static str, v: Option<&str>, default: Date| -> Result<Date> {
        let v = v.map(str::trim).unwrap_or_default();
        if v.is_empty() {
            return Ok(default);
        }
        let bad = || {
            Error::invalid(
                field,
                "Ngày không hợp lệ (dạng yyyy-mm-dd).",
                "Not a valid date (yyyy-mm-dd).",
            )
        };
        if v.len() > 10 {
            return Err(bad());
        }
        Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| bad())
    };
    Ok((parse("from", from, first)?, parse("to", to, last)?))
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn vn(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// `yyyy-mm-dd` as `dd/mm/yyyy` (anything else as stored).
fn iso_to_vn(s: &str) -> String {
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{d}/{m}/{y}"),
        _ => s.to_owned(),
    }
}

fn book_row(d: &Document, dispatched: Option<i64>, recall: Option<&String>) -> BookRow {
    let m = &d.meta;
    let signer = m.signer.name.clone();
    let kept = if m.unit_abbrev.trim().is_empty() {
        "VT".to_owned()
    } else {
        format!("VT, {}", m.unit_abbrev.trim())
    };
    let sent = dispatched
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .map(kyso_domain::calendar::date_text)
        .unwrap_or_default();
    let note = match (d.state, recall) {
        (DocState::Recalled, Some(reason)) => format!("Đã thu hồi: {reason}"),
        (DocState::Recalled, None) => "Đã thu hồi".to_owned(),
        (DocState::Registered, _) => "Chưa phát hành".to_owned(),
        _ => String::new(),
    };
    BookRow {
        document_id: d.id,
        number_year: d.number_year.unwrap_or_default(),
        number: d.number.unwrap_or_default(),
        cells: vec![
            d.number_and_notation().unwrap_or_default(),
            d.issued_date.as_deref().map(iso_to_vn).unwrap_or_default(),
            format!("{}: {}", m.doc_type.label_vi(), m.subject),
            signer,
            m.recipients.join("; "),
            kept,
            m.recipients.len().to_string(),
            sent,
            String::new(),
            note,
        ],
    }
}

fn id_list(docs: &[Document]) -> String {
    docs.iter()
        .map(|d| d.id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `select (…ids…) GROUP BY document_id` → document id to the second column.
async fn first_times(store: &Store, docs: &[Document], select: &str) -> Result<BTreeMap<i64, i64>> {
    let mut out = BTreeMap::new();
    // Ids are the store's own integers, so they are safe to inline; chunks keep the query small.
    for chunk in docs.chunks(500) {
        let rows = sqlx::query(&format!(
            "{select} ({}) GROUP BY document_id",
            id_list(chunk)
        ))
        .fetch_all(store.pool())
        .await?;
        for row in rows {
            out.insert(row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?);
        }
    }
    Ok(out)
}

async fn recall_reasons(store: &Store, docs: &[Document]) -> Result<BTreeMap<i64, String>> {
    let mut out = BTreeMap::new();
    let recalled: Vec<Document> = docs
        .iter()
        .filter(|d| d.state == DocState::Recalled)
        .cloned()
        .collect();
    for chunk in recalled.chunks(500) {
        let rows = sqlx::query(&format!(
            "SELECT document_id, reason FROM document_recalls WHERE document_id IN ({})",
            id_list(chunk)
        ))
        .fetch_all(store.pool())
        .await?;
        for row in rows {
            out.insert(row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use time::macros::date;

    fn received(n: i64, subject: &str) -> IncomingBookRow {
        IncomingBookRow {
            incoming_id: n,
            arrival_year: 2026,
            arrival_number: n,
            arrival_date: date!(2026 - 03 - 05),
            sender: "UBND tỉnh Demo".into(),
            number_notation: format!("{n}/UBND-VP"),
            document_date: Some(date!(2026 - 03 - 04)),
            type_and_subject: format!("Công văn: {subject}"),
            handler: "Phòng Quản lý công nghệ".into(),
            transferred_on: None,
            note: String::new(),
        }
    }

    /// The workbook's shared strings and its workbook part, read with Python's zipfile (a listed
    /// skip without python3).
    fn parts(xlsx: &[u8]) -> Option<String> {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys,io,zipfile\nz=zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n\
                 print(z.read('xl/workbook.xml').decode())\nprint(z.read('xl/sharedStrings.xml').decode())",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|_| kyso_testkit::skip("python3"))
            .ok()?;
        child.stdin.take().unwrap().write_all(xlsx).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        Some(String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn an_incoming_row_has_the_appendix_cells_in_order() {
        let mut r = received(7, "Về việc báo cáo");
        r.transferred_on = Some(date!(2026 - 03 - 06));
        assert_eq!(
            r.cells(),
            vec![
                "05/03/2026",
                "07",
                "UBND tỉnh Demo",
                "7/UBND-VP",
                "04/03/2026",
                "Công văn: Về việc báo cáo",
                "Phòng Quản lý công nghệ",
                "06/03/2026",
                "",
                "",
            ]
        );
        assert_eq!(r.cells().len(), INCOMING_BOOK_COLUMNS.len());
    }

    #[test]
    fn the_incoming_register_is_a_workbook_with_its_own_sheet_and_columns() {
        let book = IncomingRegisterBook {
            agency_name: "Sở Khoa học và Công nghệ".into(),
            register_name: "Sổ văn bản đến".into(),
            from: date!(2026 - 01 - 01),
            to: date!(2026 - 12 - 31),
            rows: vec![
                received(1, "Về việc A"),
                received(2, "=1+1 không là công thức"),
            ],
        };
        let xlsx = incoming_register_book_xlsx(&book).unwrap();
        assert!(xlsx.starts_with(b"PK\x03\x04"));
        let Some(text) = parts(&xlsx) else { return };
        for want in INCOMING_BOOK_COLUMNS.iter().copied().chain([
            "name=\"Sổ văn bản đến\"",
            "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — Sở Khoa học và Công nghệ — Sổ văn bản đến",
            "Từ ngày 01/01/2026 đến ngày 31/12/2026",
            "UBND tỉnh Demo",
            "2/UBND-VP",
            "Công văn: =1+1 không là công thức",
        ]) {
            assert!(text.contains(want), "{want:?} missing:\n{text}");
        }
    }
}
