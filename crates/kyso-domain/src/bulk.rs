//! Reading the CA's bulk template of subscribers (the CSV a clerk saves from the CA's Excel
//! sheet) — untrusted input, so a pure function with limits and a fuzz target of its own.
//!
//! [`read_template`] checks the bytes (UTF-8, with or without a byte-order mark; comma or
//! semicolon separated, whichever the header row uses more), the header row against
//! [`TEMPLATE_COLUMNS`] (without diacritics or case), and the rows' shape: empty rows are
//! skipped, at most [`MAX_ROWS`] are read, an ID number may appear once. Each problem names
//! the row as numbered in a spreadsheet (the header being row 1) and the column. What the cells
//! mean (dates, emails, the organisation columns) is checked by the registry that imports them.

use crate::text::fold;

/// The CA's bulk template, in order.
pub const TEMPLATE_COLUMNS: [&str; 17] = [
    "Họ và tên",
    "Ngày sinh",
    "Số CCCD",
    "Nơi cấp",
    "Ngày cấp",
    "Thư điện tử công vụ",
    "Tổ chức cấp 1",
    "Tổ chức cấp 2",
    "Tổ chức cấp 3",
    "Tổ chức cấp 4",
    "Tỉnh/Thành phố",
    "Chức vụ",
    "Số điện thoại",
    "Số hiệu chứng thư cũ",
    "Nhà mạng",
    "Chuyển mạng giữ số",
    "Loại thiết bị",
];

/// Most data rows one import takes.
pub const MAX_ROWS: usize = 5000;
/// Most characters of one cell.
pub const MAX_CELL: usize = 1000;

/// The columns by name.
pub mod col {
    pub const NAME: usize = 0;
    pub const DATE_OF_BIRTH: usize = 1;
    pub const ID_NUMBER: usize = 2;
    pub const ISSUED_ON: usize = 4;
    pub const EMAIL: usize = 5;
    /// *Tổ chức cấp 1*: the organisation's top level.
    pub const ORG_TOP: usize = 6;
    /// *Tổ chức cấp 1* to *cấp 4*: the organisation, from the top down.
    pub const ORGS: std::ops::RangeInclusive<usize> = ORG_TOP..=9;
    pub const TITLE: usize = 11;
    pub const PHONE: usize = 12;
}

/// One problem of an import.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    /// The row as numbered in a spreadsheet (the header is row 1).
    pub row: usize,
    /// The template column at fault (empty when the whole row is).
    pub column: String,
    pub message: String,
    pub message_en: String,
}

impl RowError {
    pub fn new(row: usize, column: &str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        RowError {
            row,
            column: column.to_owned(),
            message: vi.into(),
            message_en: en.into(),
        }
    }
}

/// One data row: its spreadsheet number and its cells, trimmed, one per template column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub row: usize,
    pub cells: Vec<String>,
}

impl TemplateRow {
    /// The cell of column `n` (empty when the row is short).
    pub fn cell(&self, n: usize) -> &str {
        self.cells.get(n).map_or("", String::as_str)
    }
}

/// What [`read_template`] read: the data rows, and every problem found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    pub rows: Vec<TemplateRow>,
    pub errors: Vec<RowError>,
}

/// The file is not UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the file is not UTF-8 text (save it from Excel as \"CSV UTF-8\")")]
pub struct NotUtf8;

impl NotUtf8 {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> &'static str {
        "Tệp không phải văn bản UTF-8 (hãy lưu từ Excel dạng \"CSV UTF-8\")."
    }
}

/// Read a bulk template file; see the module's documentation.
pub fn read_template(bytes: &[u8]) -> Result<Sheet, NotUtf8> {
    let text = std::str::from_utf8(bytes).map_err(|_| NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut sheet = Sheet::default();
    let mut seen_ids: Vec<(String, usize)> = Vec::new();
    let mut row = 0;
    loop {
        let mut record = csv::StringRecord::new();
        let read = reader.read_record(&mut record);
        row += 1;
        let record = match read {
            Ok(false) => break,
            Ok(true) => record,
            Err(e) => {
                sheet.errors.push(RowError::new(
                    row,
                    "",
                    format!("Dòng không đọc được: {e}"),
                    format!("Unreadable row: {e}"),
                ));
                continue;
            }
        };
        if row == 1 {
            let header: Vec<String> = record.iter().map(|c| fold(c.trim())).collect();
            let expected: Vec<String> = TEMPLATE_COLUMNS.iter().map(|c| fold(c)).collect();
            if header.get(..expected.len()) != Some(expected.as_slice()) {
                sheet.errors.push(RowError::new(
                    1,
                    "",
                    format!(
                        "Dòng tiêu đề không đúng mẫu; các cột phải là: {}.",
                        TEMPLATE_COLUMNS.join(", ")
                    ),
                    "The header row does not match the template.",
                ));
                break;
            }
            continue;
        }
        // The csv reader is lenient: an unclosed quote swallows the rest of the file into
        // one cell, a stray quote is kept as text. The template is strict RFC 4180.
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        let end = usize::try_from(reader.position().byte()).unwrap_or(text.len());
        // (The reader's positions may include the previous record's line ending.)
        let raw = text.get(start..end).unwrap_or("");
        if let Some((n, problem)) = quoting_problem(raw.trim_start_matches(['\r', '\n']), delimiter)
        {
            let column = TEMPLATE_COLUMNS
                .get(n)
                .map_or_else(|| format!("cột {}", n + 1), |c| (*c).to_owned());
            let (vi, en) = problem.messages();
            sheet.errors.push(RowError::new(row, &column, vi, en));
            continue;
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if sheet.rows.len() + sheet.errors.len() >= MAX_ROWS {
            sheet.errors.push(RowError::new(
                row,
                "",
                format!("Mỗi lần nhập tối đa {MAX_ROWS} dòng."),
                format!("At most {MAX_ROWS} rows per import."),
            ));
            break;
        }
        let cells: Vec<String> = (0..TEMPLATE_COLUMNS.len())
            .map(|n| record.get(n).unwrap_or("").trim().to_owned())
            .collect();
        if let Some(n) = cells.iter().position(|c| c.chars().count() > MAX_CELL) {
            sheet.errors.push(RowError::new(
                row,
                TEMPLATE_COLUMNS.get(n).copied().unwrap_or_default(),
                format!("Ô dài quá {MAX_CELL} ký tự."),
                format!("The cell is longer than {MAX_CELL} characters."),
            ));
            continue;
        }
        let id_number = cells.get(col::ID_NUMBER).cloned().unwrap_or_default();
        if !id_number.is_empty() {
            if let Some((_, first)) = seen_ids.iter().find(|(n, _)| *n == id_number) {
                sheet.errors.push(RowError::new(
                    row,
                    TEMPLATE_COLUMNS[col::ID_NUMBER],
                    format!("Số CCCD {id_number} trùng với dòng {first}."),
                    format!("ID number {id_number} repeats row {first}."),
                ));
                continue;
            }
            seen_ids.push((id_number, row));
        }
        sheet.rows.push(TemplateRow { row, cells });
    }
    if sheet.errors.is_empty() && sheet.rows.is_empty() {
        sheet.errors.push(RowError::new(
            1,
            "",
            "Tệp không có dòng dữ liệu nào.",
            "The file has no data rows.",
        ));
    }
    Ok(sheet)
}

/// A quoting fault of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// A cell opens a quote that the record never closes.
    Unclosed,
    /// A quote inside a cell that does not start with one.
    Stray,
    /// Text after a cell's closing quote.
    AfterClose,
}

impl Quoting {
    fn messages(self) -> (&'static str, &'static str) {
        match self {
            Quoting::Unclosed => (
                "Ô mở dấu ngoặc kép (\") nhưng không đóng; dòng này và các dòng sau nó không \
                 đọc được. Hãy sửa ô này rồi nhập lại.",
                "The cell opens a quote (\") that is never closed; this row and the ones after \
                 it cannot be read. Fix the cell and import again.",
            ),
            Quoting::Stray => (
                "Dấu ngoặc kép (\") nằm giữa ô; ô có dấu ngoặc kép phải được đặt trong ngoặc kép \
                 và viết dấu ngoặc kép thành hai dấu (\"\").",
                "A quote (\") inside a cell; such a cell must be quoted, with the quote doubled \
                 (\"\").",
            ),
            Quoting::AfterClose => (
                "Có ký tự sau dấu ngoặc kép đóng ô; sau dấu ngoặc kép đóng phải là dấu phân cách \
                 hoặc hết dòng.",
                "Text follows the cell's closing quote; a closing quote must be followed by the \
                 separator or the end of the line.",
            ),
        }
    }
}

/// Check one record's raw text (with its line ending) against RFC 4180 quoting: a quoted
/// cell starts with `"`, doubles every `"` inside and ends with `"` before the separator or
/// the line ending; an unquoted cell holds no `"`. The first fault, with its cell's index.
fn quoting_problem(raw: &str, delimiter: u8) -> Option<(usize, Quoting)> {
    #[derive(PartialEq)]
    enum State {
        CellStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let delimiter = char::from(delimiter);
    let mut state = State::CellStart;
    let mut cell = 0;
    for c in raw.chars() {
        state = match (state, c) {
            (State::Quoted, '"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, '"') => State::Quoted,
            (State::CellStart, '"') => State::Quoted,
            (State::CellStart | State::Unquoted | State::QuoteInQuoted, c) if c == delimiter => {
                cell += 1;
                State::CellStart
            }
            (State::CellStart | State::Unquoted | State::QuoteInQuoted, '\r' | '\n') => {
                // The record ends here (what follows is its line ending).
                return None;
            }
            (State::QuoteInQuoted, _) => return Some((cell, Quoting::AfterClose)),
            (State::Unquoted, '"') => return Some((cell, Quoting::Stray)),
            (State::CellStart | State::Unquoted, _) => State::Unquoted,
        };
    }
    (state == State::Quoted).then_some((cell, Quoting::Unclosed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(sep: &str, rows: &[&str]) -> Vec<u8> {
        let mut out = format!("\u{feff}{}\r\n", TEMPLATE_COLUMNS.join(sep));
        for r in rows {
            out.push_str(r);
            out.push_str("\r\n");
        }
        out.into_bytes()
    }

    #[test]
    fn a_semicolon_file_with_a_bom_reads_row_by_row() {
        let sheet = read_template(&file(
            ";",
            &[
                "Nguyễn Văn An;12/03/1978;099078000101;;;an@demo.gov.vn;Sở Y tế",
                ";;;;",
                "Trần Thị Bình;01/01/1990;099090000102",
            ],
        ))
        .unwrap();
        assert_eq!(sheet.errors, []);
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].row, 2);
        assert_eq!(sheet.rows[0].cell(col::EMAIL), "an@demo.gov.vn");
        assert_eq!(sheet.rows[0].cell(6), "Sở Y tế");
        assert_eq!(sheet.rows[1].row, 4, "the empty row keeps its number");
        assert_eq!(sheet.rows[1].cell(col::PHONE), "");
    }

    #[test]
    fn a_header_without_diacritics_is_the_template_and_a_wrong_one_is_not() {
        let plain = TEMPLATE_COLUMNS
            .iter()
            .map(|c| fold(c).to_uppercase())
            .collect::<Vec<_>>()
            .join(",");
        let sheet = read_template(format!("{plain}\nA,01/01/1990\n").as_bytes()).unwrap();
        assert_eq!((sheet.rows.len(), sheet.errors.len()), (1, 0));
        let sheet = read_template(b"Name,Date\nA,B\n").unwrap();
        assert_eq!(sheet.errors.len(), 1);
        assert_eq!(sheet.errors[0].row, 1);
        assert!(sheet.rows.is_empty());
    }

    #[test]
    fn repeated_id_numbers_long_cells_and_empty_files_are_reported() {
        let long = "x".repeat(MAX_CELL + 1);
        let sheet =
            read_template(&file(",", &["A,,0990", "B,,0990", &format!("{long},,1")])).unwrap();
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(
            sheet
                .errors
                .iter()
                .map(|e| (e.row, e.column.as_str()))
                .collect::<Vec<_>>(),
            [(3, "Số CCCD"), (4, "Họ và tên")]
        );
        assert!(sheet.errors[0].message.contains("dòng 2"));
        let empty = read_template(&file(",", &[])).unwrap();
        assert_eq!(empty.errors[0].message_en, "The file has no data rows.");
        assert_eq!(read_template(b"\xff\xfe"), Err(NotUtf8));
    }

    #[test]
    fn at_most_max_rows_are_read() {
        let rows: Vec<String> = (0..MAX_ROWS + 3).map(|i| format!("A,,{i}")).collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let sheet = read_template(&file(",", &refs)).unwrap();
        assert_eq!(sheet.rows.len(), MAX_ROWS);
        assert_eq!(sheet.errors.len(), 1);
        assert_eq!(sheet.errors[0].row, MAX_ROWS + 2);
    }

    #[test]
    fn an_unclosed_or_stray_quote_refuses_the_row_naming_the_column() {
        // The reported attack: an unclosed quote made one subscriber of the whole rest.
        let sheet = read_template(&file(
            ",",
            &[
                "Nguyễn Văn An,12/03/1978,099078000101",
                "Trần Thị Bình,\"01/01/1990,099090000102",
                "Lê Văn Cường,02/02/1980,099080000103",
            ],
        ))
        .unwrap();
        assert_eq!(sheet.rows.len(), 1, "{:?}", sheet.rows);
        assert_eq!(sheet.rows[0].cell(col::NAME), "Nguyễn Văn An");
        assert_eq!(sheet.errors.len(), 1);
        assert_eq!(
            (sheet.errors[0].row, sheet.errors[0].column.as_str()),
            (3, "Ngày sinh")
        );
        assert!(sheet.errors[0].message.contains("không đóng"));
        // A quote inside an unquoted cell, and text after a closing quote.
        let sheet = read_template(&file(
            ";",
            &[
                "A;01/01/1990;1;;;a\"b@demo.gov.vn",
                "B;\"01/01/1990\"x;2",
                "C;\"01/01/1990\";3",
                "\"D \"\"Đông\"\"\";01/01/1990;4",
            ],
        ))
        .unwrap();
        assert_eq!(
            sheet
                .errors
                .iter()
                .map(|e| (e.row, e.column.as_str()))
                .collect::<Vec<_>>(),
            [(2, "Thư điện tử công vụ"), (3, "Ngày sinh")]
        );
        assert!(sheet.errors[0].message.contains("hai dấu"));
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].cell(col::DATE_OF_BIRTH), "01/01/1990");
        assert_eq!(sheet.rows[1].cell(col::NAME), "D \"Đông\"");
        // A quoted cell may hold the separator and a line break.
        let sheet = read_template(&file(
            ",",
            &["\"E, F\",\"01/01/1990\",5,\"dòng 1\ndòng 2\""],
        ))
        .unwrap();
        assert_eq!(sheet.errors, []);
        assert_eq!(sheet.rows[0].cell(col::NAME), "E, F");
    }

    proptest! {
        #[test]
        fn any_bytes_read_without_panicking_and_rows_have_every_column(
            body in proptest::collection::vec(any::<u8>(), 0..400)
        ) {
            let mut bytes = file(",", &[]);
            bytes.extend_from_slice(&body);
            if let Ok(sheet) = read_template(&bytes) {
                for r in &sheet.rows {
                    prop_assert_eq!(r.cells.len(), TEMPLATE_COLUMNS.len());
                    prop_assert!(r.row >= 2);
                }
            }
        }
    }
}
