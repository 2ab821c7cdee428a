//! The outgoing register as a book (sổ đăng ký văn bản đi, Decree 30 Appendix IV): the
//! documents a register holds for a period, in number order, with the appendix's ten columns,
//! and as an XLSX workbook.

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

/// The book as an XLSX workbook: a title, the period, the bold Appendix IV header row, one
/// row per document; every cell is text (nothing is taken for a formula).
pub fn register_book_xlsx(book: &RegisterBook) -> Result<Vec<u8>> {
    let fail =
        |e: rust_xlsxwriter::XlsxError| Error::Database(sqlx::Error::Protocol(e.to_string()));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold().set_text_wrap();
    let wrap = rust_xlsxwriter::Format::new().set_text_wrap();
    let ws = wb.add_worksheet();
    ws.set_name("Sổ văn bản đi").map_err(fail)?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "SỔ ĐĂNG KÝ VĂN BẢN ĐI — {} — {}",
            book.agency_name, book.register.name
        ),
        &bold,
    )
    .map_err(fail)?;
    ws.write_string(
        1,
        0,
        format!("Từ ngày {} đến ngày {}", vn(book.from), vn(book.to)),
    )
    .map_err(fail)?;
    let widths = [16.0, 12.0, 40.0, 20.0, 28.0, 18.0, 8.0, 12.0, 10.0, 20.0];
    for (c, (h, w)) in REGISTER_BOOK_COLUMNS.iter().zip(widths).enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        ws.set_column_width(c, w).map_err(fail)?;
        ws.write_string_with_format(3, c, *h, &bold).map_err(fail)?;
    }
    for (r, row) in book.rows.iter().enumerate() {
        let r = u32::try_from(r + 4).unwrap_or(u32::MAX);
        for (c, v) in row.cells.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(r, c, v, &wrap).map_err(fail)?;
        }
    }
    wb.save_to_buffer().map_err(fail)
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
