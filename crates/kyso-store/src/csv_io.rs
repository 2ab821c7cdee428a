//! CSV import of subscribers in the CA's bulk template, and CSV or XLSX export of subscribers
//! and certificates.
//!
//! Import is all or nothing: every row is checked first, and any invalid row means nothing is
//! written; the report names each row (as numbered in a spreadsheet, the header being row 1),
//! the column and what is wrong, in Vietnamese and English. The organisation columns
//! (*Tổ chức cấp 1–4*) are matched to the names of the agencies in the chosen agency's subtree
//! (without diacritics or case); the deepest match wins, and a row matching none goes to the
//! chosen agency.
//!
//! CSV exports are UTF-8 with a byte-order mark, so that Excel shows Vietnamese correctly; cells
//! that a spreadsheet would take for a formula are prefixed with `'`.

use kyso_domain::roles::Permission;
use kyso_domain::text::fold;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::registry::{self, CertQuery, SubscriberInput, SubscriberQuery, MAX_PAGE};
use crate::{Actor, Error, Result, Store};

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

/// Most rows one import takes.
pub const MAX_ROWS: usize = 5000;

/// Most rows one export writes.
pub const MAX_EXPORT: i64 = 100_000;

/// One problem of an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    /// The row as numbered in a spreadsheet (the header is row 1).
    pub row: usize,
    /// The template column at fault (empty when the whole row is).
    pub column: String,
    pub message: String,
    pub message_en: String,
}

/// What an import did: either every row was written, or none and `errors` says why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<RowError>,
}

fn row_error(row: usize, column: &str, vi: impl Into<String>, en: impl Into<String>) -> RowError {
    RowError {
        row,
        column: column.to_owned(),
        message: vi.into(),
        message_en: en.into(),
    }
}

/// The template column a subscriber field comes from.
fn column_of(field: &str) -> &'static str {
    match field {
        "name" => "Họ và tên",
        "date_of_birth" => "Ngày sinh",
        "id_number" => "Số CCCD",
        "email" => "Thư điện tử công vụ",
        "title" => "Chức vụ",
        "unit" => "Tổ chức cấp 1",
        "phone" => "Số điện thoại",
        _ => "",
    }
}

/// Import subscribers from CSV text (UTF-8, with or without BOM; comma or semicolon
/// separated) into the agency `agency_id` and its subtree, in one transaction.
pub async fn import_subscribers(
    store: &Store,
    actor: &Actor,
    agency_id: i64,
    csv_text: &[u8],
    now: OffsetDateTime,
) -> Result<ImportReport> {
    let chosen = registry::agency(store, actor, agency_id, Permission::WriteRegistry).await?;
    let subtree = registry::agencies(store, actor, "", Some(agency_id)).await?;
    let text = std::str::from_utf8(csv_text).map_err(|_| {
        Error::invalid(
            "file",
            "Tệp không phải văn bản UTF-8 (hãy lưu từ Excel dạng \"CSV UTF-8\").",
            "The file is not UTF-8 text (save it from Excel as \"CSV UTF-8\").",
        )
    })?;
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
    let mut errors = Vec::new();
    let mut rows: Vec<(usize, SubscriberInput)> = Vec::new();
    let mut seen_ids: Vec<(String, usize)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(row_error(
                    row,
                    "",
                    format!("Dòng không đọc được: {e}"),
                    format!("Unreadable row: {e}"),
                ));
                continue;
            }
        };
        let cell = |n: usize| record.get(n).unwrap_or("").trim().to_owned();
        if row == 1 {
            let header: Vec<String> = record.iter().map(|c| fold(c.trim())).collect();
            let expected: Vec<String> = TEMPLATE_COLUMNS.iter().map(|c| fold(c)).collect();
            if header.get(..expected.len()) != Some(expected.as_slice()) {
                errors.push(row_error(
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
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(row_error(
                row,
                "",
                format!("Mỗi lần nhập tối đa {MAX_ROWS} dòng."),
                format!("At most {MAX_ROWS} rows per import."),
            ));
            break;
        }
        // The deepest organisation column that names an agency of the subtree.
        let mut target = chosen.id;
        let mut unit = String::new();
        for col in 6..=9 {
            let org = cell(col);
            if org.is_empty() {
                continue;
            }
            unit = org.clone();
            let folded = fold(&org);
            if let Some(a) = subtree
                .iter()
                .filter(|a| fold(&a.name) == folded)
                .max_by_key(|a| a.depth)
            {
                target = a.id;
            }
        }
        if let Some(issued) = Some(cell(4)).filter(|c| !c.is_empty()) {
            if let Err(Error::Invalid { vi, en, .. }) =
                registry::parse_date("date_of_birth", &issued)
            {
                errors.push(row_error(row, "Ngày cấp", vi, en));
            }
        }
        let id_number = cell(2);
        if !id_number.is_empty() {
            if let Some((_, first)) = seen_ids.iter().find(|(n, _)| *n == id_number) {
                errors.push(row_error(
                    row,
                    "Số CCCD",
                    format!("Số CCCD {id_number} trùng với dòng {first}."),
                    format!("ID number {id_number} repeats row {first}."),
                ));
                continue;
            }
            seen_ids.push((id_number.clone(), row));
        }
        let input = SubscriberInput {
            kind: "individual".into(),
            agency_id: target,
            name: cell(0),
            date_of_birth: cell(1),
            id_number,
            email: cell(5),
            title: cell(11),
            unit,
            phone: cell(12),
        };
        match registry::validate_subscriber(&input, now) {
            Ok(v) => rows.push((row, v)),
            Err(Error::Invalid { field, vi, en }) => {
                errors.push(row_error(row, column_of(field), vi, en))
            }
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() && rows.is_empty() {
        errors.push(row_error(
            1,
            "",
            "Tệp không có dòng dữ liệu nào.",
            "The file has no data rows.",
        ));
    }
    if !errors.is_empty() {
        return Ok(ImportReport {
            imported: 0,
            errors,
        });
    }
    let mut tx = store.begin_write().await?;
    for (_, v) in &rows {
        registry::insert_subscriber(&mut tx, v, now).await?;
    }
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "subscriber.import",
            object: format!("agency:{}", chosen.id),
            agency: Some(chosen.code.clone()),
            detail: json!({ "rows": rows.len() }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ImportReport {
        imported: rows.len(),
        errors: Vec::new(),
    })
}

/// A cell safe to open in a spreadsheet: text a spreadsheet would evaluate gets a leading `'`.
fn cell(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let fail = |e: csv::Error| Error::Database(sqlx::Error::Protocol(e.to_string()));
        w.write_record(header).map_err(fail)?;
        for r in rows {
            w.write_record(r.iter().map(|c| cell(c))).map_err(fail)?;
        }
        w.flush()
            .map_err(|e| Error::Database(sqlx::Error::Protocol(e.to_string())))?;
    }
    Ok(out)
}

fn date_vn(iso: &str) -> String {
    match registry::parse_date("date_of_birth", iso) {
        Ok(Some(d)) => format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()),
        _ => iso.to_owned(),
    }
}

/// The file formats of exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV, UTF-8 with BOM.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ExportFormat {
    fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

fn encode(
    format: ExportFormat,
    sheet: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>> {
    match format {
        ExportFormat::Csv => csv_bytes(header, rows),
        ExportFormat::Xlsx => xlsx_bytes(sheet, header, rows),
    }
}

/// An Excel workbook of one sheet: a bold header row, every cell stored as text (so that ID
/// and phone numbers keep their leading zeros and nothing is taken for a formula).
fn xlsx_bytes(sheet: &str, header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let fail =
        |e: rust_xlsxwriter::XlsxError| Error::Database(sqlx::Error::Protocol(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(fail)?;
    for (c, h) in header.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        ws.write_string_with_format(0, c, *h, &bold).map_err(fail)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, v) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string(r, c, v).map_err(fail)?;
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// The subscribers the query finds (same filters as the listing), as CSV or XLSX. An export
/// of personal data is a sensitive read: it is audited with the filters and the row count.
pub async fn export_subscribers(
    store: &Store,
    actor: &Actor,
    q: &SubscriberQuery,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    let mut page_q = q.clone();
    page_q.limit = Some(MAX_PAGE);
    page_q.offset = 0;
    loop {
        let page = registry::search_subscribers(store, actor, &page_q).await?;
        let n = page.items.len() as i64;
        for s in page.items {
            rows.push(vec![
                s.id.to_string(),
                s.name,
                s.kind,
                s.agency_name,
                date_vn(&s.date_of_birth),
                s.id_number,
                s.email,
                s.title,
                s.unit,
                s.phone,
            ]);
        }
        page_q.offset += n;
        if n < MAX_PAGE || page_q.offset >= MAX_EXPORT {
            break;
        }
    }
    audit::record(
        store,
        actor,
        Event {
            action: "subscriber.export",
            object: "subscribers".into(),
            agency: None,
            detail: json!({"q": q.q, "agency_id": q.agency_id, "kind": q.kind, "rows": rows.len(),
                           "format": format.name()}),
        },
        now,
    )
    .await?;
    encode(
        format,
        "Thuê bao",
        &[
            "Mã",
            "Họ và tên",
            "Loại",
            "Cơ quan",
            "Ngày sinh",
            "Số CCCD",
            "Thư điện tử công vụ",
            "Chức vụ",
            "Đơn vị",
            "Số điện thoại",
        ],
        &rows,
    )
}

/// The certificates the query finds (same filters as the listing), as CSV or XLSX; audited.
pub async fn export_certificates(
    store: &Store,
    actor: &Actor,
    q: &CertQuery,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    let mut page_q = q.clone();
    page_q.limit = Some(MAX_PAGE);
    page_q.offset = 0;
    let day = kyso_domain::calendar::date_text;
    loop {
        let page = registry::search_certificates(store, actor, &page_q, now).await?;
        let n = page.items.len() as i64;
        for c in page.items {
            rows.push(vec![
                c.id.to_string(),
                c.serial.clone(),
                c.subject.clone(),
                c.subscriber_name.clone().unwrap_or_default(),
                c.issuer.clone(),
                day(c.not_before),
                day(c.not_after),
                registry::cert_status_label(c.status_at(now), false).to_owned(),
                c.sha256.clone(),
            ]);
        }
        page_q.offset += n;
        if n < MAX_PAGE || page_q.offset >= MAX_EXPORT {
            break;
        }
    }
    audit::record(
        store,
        actor,
        Event {
            action: "certificate.export",
            object: "certificates".into(),
            agency: None,
            detail: json!({"q": q.q, "agency_id": q.agency_id, "status": q.status, "rows": rows.len(),
                           "format": format.name()}),
        },
        now,
    )
    .await?;
    encode(
        format,
        "Chứng thư số",
        &[
            "Mã",
            "Số hiệu",
            "Chủ thể",
            "Thuê bao",
            "Tổ chức cấp",
            "Hiệu lực từ",
            "Hết hạn",
            "Trạng thái",
            "SHA-256",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_cells_never_become_formulas_and_the_file_starts_with_a_bom() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+84 912"), "'+84 912");
        assert_eq!(cell("Nguyễn Văn An"), "Nguyễn Văn An");
        let bytes = csv_bytes(&["Họ và tên"], &[vec!["Trần, Bình".into()]]).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(
            std::str::from_utf8(&bytes[3..]).unwrap(),
            "Họ và tên\r\n\"Trần, Bình\"\r\n"
        );
    }
}
