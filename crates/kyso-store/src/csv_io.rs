//! CSV import of subscribers in the CA's bulk template, and CSV or XLSX export of every list:
//! subscribers, certificates, key devices, requests and agencies.
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

use std::collections::BTreeMap;

use kyso_domain::bulk::{self, col};
use kyso_domain::roles::Permission;
use kyso_domain::text::fold;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::registry::{self, CertQuery, SubscriberInput, SubscriberQuery, MAX_PAGE};
use crate::{Actor, Error, Result, Store};

pub use kyso_domain::bulk::{RowError, MAX_ROWS, TEMPLATE_COLUMNS};

/// Most rows one export writes.
pub const MAX_EXPORT: i64 = 100_000;

/// What an import did: either every row was written, or none and `errors` says why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<RowError>,
}

/// The template column a subscriber field comes from.
fn column_of(field: &str) -> &'static str {
    match field {
        "name" => TEMPLATE_COLUMNS[col::NAME],
        "date_of_birth" => TEMPLATE_COLUMNS[col::DATE_OF_BIRTH],
        "id_number" => TEMPLATE_COLUMNS[col::ID_NUMBER],
        "email" => TEMPLATE_COLUMNS[col::EMAIL],
        "title" => TEMPLATE_COLUMNS[col::TITLE],
        "unit" => TEMPLATE_COLUMNS[col::ORG_TOP],
        "phone" => TEMPLATE_COLUMNS[col::PHONE],
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
    let sheet = bulk::read_template(csv_text)
        .map_err(|e| Error::invalid("file", e.message_vi(), e.to_string()))?;
    let mut errors = sheet.errors;
    let mut rows: Vec<SubscriberInput> = Vec::new();
    for r in &sheet.rows {
        // The deepest organisation column that names an agency of the subtree.
        let mut target = chosen.id;
        let mut unit = String::new();
        for col in col::ORGS {
            let org = r.cell(col);
            if org.is_empty() {
                continue;
            }
            unit = org.to_owned();
            let folded = fold(org);
            if let Some(a) = subtree
                .iter()
                .filter(|a| fold(&a.name) == folded)
                .max_by_key(|a| a.depth)
            {
                target = a.id;
            }
        }
        if let Some(issued) = Some(r.cell(col::ISSUED_ON)).filter(|c| !c.is_empty()) {
            if let Err(Error::Invalid { vi, en, .. }) =
                registry::parse_date("date_of_birth", issued)
            {
                errors.push(RowError::new(
                    r.row,
                    TEMPLATE_COLUMNS[col::ISSUED_ON],
                    vi,
                    en,
                ));
            }
        }
        let input = SubscriberInput {
            kind: "individual".into(),
            agency_id: target,
            name: r.cell(col::NAME).to_owned(),
            date_of_birth: r.cell(col::DATE_OF_BIRTH).to_owned(),
            id_number: r.cell(col::ID_NUMBER).to_owned(),
            email: r.cell(col::EMAIL).to_owned(),
            title: r.cell(col::TITLE).to_owned(),
            unit,
            phone: r.cell(col::PHONE).to_owned(),
        };
        match registry::validate_subscriber(&input, now) {
            Ok(v) => rows.push(v),
            Err(Error::Invalid { field, vi, en }) => {
                errors.push(RowError::new(r.row, column_of(field), vi, en))
            }
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Ok(ImportReport {
            imported: 0,
            errors,
        });
    }
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &chosen.path),
        )
        .await?;
    for v in &rows {
        registry::insert_subscriber(&mut tx, v, now).await?;
    }
    tx.commit_audited(
        Event {
            action: "subscriber.import",
            object: format!("agency:{}", chosen.id),
            agency: Some(chosen.code.clone()),
            detail: json!({ "rows": rows.len() }),
        },
        now,
    )
    .await?;
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

/// One export: its sheet's name, its header, which columns hold dates (`dd/mm/yyyy` text in
/// CSV, real dates in XLSX) and its rows.
struct Table<'a> {
    sheet: &'a str,
    header: &'a [&'a str],
    date_columns: &'a [usize],
    rows: &'a [Vec<String>],
}

fn encode(format: ExportFormat, t: &Table<'_>) -> Result<Vec<u8>> {
    match format {
        ExportFormat::Csv => csv_bytes(t.header, t.rows),
        ExportFormat::Xlsx => xlsx_bytes(t),
    }
}

/// An Excel workbook of one sheet as officers use it: a bold header row that stays in view
/// (frozen) with a filter on each column, columns as wide as their content, dates as real
/// dates shown `dd/mm/yyyy` (so they sort and filter as dates), every other cell stored as
/// text (ID and phone numbers keep their leading zeros and nothing is taken for a formula).
fn xlsx_bytes(t: &Table<'_>) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format};
    let fail =
        |e: rust_xlsxwriter::XlsxError| Error::Database(sqlx::Error::Protocol(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let ws = book.add_worksheet();
    ws.set_name(t.sheet).map_err(fail)?;
    let col = |c: usize| u16::try_from(c).unwrap_or(u16::MAX);
    for (c, h) in t.header.iter().enumerate() {
        ws.write_string_with_format(0, col(c), *h, &bold)
            .map_err(fail)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, v) in row.iter().enumerate() {
            let day = t
                .date_columns
                .contains(&c)
                .then(|| kyso_domain::fields::parse_date("date", v).ok().flatten())
                .flatten()
                .and_then(|d| {
                    ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).ok()?,
                        u8::from(d.month()),
                        d.day(),
                    )
                    .ok()
                });
            match day {
                Some(d) => ws.write_datetime_with_format(r, col(c), &d, &date),
                None => ws.write_string(r, col(c), v),
            }
            .map_err(fail)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    if !t.header.is_empty() {
        let last_row = u32::try_from(t.rows.len()).unwrap_or(u32::MAX);
        ws.autofilter(0, 0, last_row, col(t.header.len() - 1))
            .map_err(fail)?;
    }
    ws.autofit();
    book.save_to_buffer().map_err(fail)
}

/// What an export's audit entries say: the action, the records, the filters (`detail`), the
/// agency filtered on and the rows per agency.
struct Export<'a> {
    action: &'a str,
    object: &'a str,
    detail: serde_json::Value,
    filtered_on: Option<i64>,
    per_agency: &'a BTreeMap<i64, usize>,
}

/// An export's file, once its audit entries are written ([`record_export`]).
async fn deliver(
    store: &Store,
    actor: &Actor,
    format: ExportFormat,
    now: OffsetDateTime,
    export: Export<'_>,
    table: &Table<'_>,
) -> Result<Vec<u8>> {
    record_export(store, actor, export, now).await?;
    encode(format, table)
}

/// Audit an export in one transaction: one entry per agency whose records it holds (with that
/// agency's code and its row count beside the whole export's filters), so that each agency's
/// own auditors see that their records left the registry; an empty export is one entry under
/// the agency it was filtered on (none: seen by the province's auditors).
async fn record_export(
    store: &Store,
    actor: &Actor,
    export: Export<'_>,
    now: OffsetDateTime,
) -> Result<()> {
    let Export {
        action,
        object,
        detail,
        filtered_on,
        per_agency,
    } = export;
    let mut entries = Vec::with_capacity(per_agency.len().max(1));
    if per_agency.is_empty() {
        let agency = match filtered_on {
            Some(id) => audit::agency_code(store, id).await?,
            None => None,
        };
        entries.push((agency, detail));
    } else {
        for (&id, &n) in per_agency {
            let mut d = detail.clone();
            if let Some(obj) = d.as_object_mut() {
                obj.insert("agency_rows".into(), json!(n));
            }
            entries.push((audit::agency_code(store, id).await?, d));
        }
    }
    // An export is a read: only its audit entries are written.
    let mut tx = store.begin_write(actor, crate::On::AuditLog).await?;
    for (agency, detail) in entries {
        audit::append(
            &mut tx,
            actor,
            Event {
                action,
                object: object.into(),
                agency,
                detail,
            },
            now,
        )
        .await?;
    }
    tx.commit().await
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
    let mut per_agency = BTreeMap::new();
    let mut page_q = q.clone();
    page_q.limit = Some(MAX_PAGE);
    page_q.offset = 0;
    loop {
        let page = registry::search_subscribers(store, actor, &page_q).await?;
        let n = page.items.len() as i64;
        for s in page.items {
            *per_agency.entry(s.agency_id).or_insert(0usize) += 1;
            rows.push(vec![
                s.id.to_string(),
                s.name,
                s.kind,
                s.agency_name,
                kyso_domain::calendar::iso_day_text(&s.date_of_birth),
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
    let detail = json!({"q": q.q, "agency_id": q.agency_id, "kind": q.kind, "rows": rows.len(),
                        "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "subscriber.export",
            object: "subscribers",
            detail,
            filtered_on: q.agency_id,
            per_agency: &per_agency,
        },
        &Table {
            sheet: "Thuê bao",
            header: &[
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
            date_columns: &[4],
            rows: &rows,
        },
    )
    .await
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
    let mut per_agency = BTreeMap::new();
    let day = kyso_domain::calendar::date_text;
    // The agency column: the names of the agencies in reach.
    let agencies = agency_names(store, actor).await?;
    loop {
        let page = registry::search_certificates(store, actor, &page_q, now).await?;
        let n = page.items.len() as i64;
        for c in page.items {
            *per_agency.entry(c.agency_id).or_insert(0usize) += 1;
            rows.push(vec![
                c.id.to_string(),
                c.serial.clone(),
                c.subject.clone(),
                c.subscriber_name.clone().unwrap_or_default(),
                agencies.get(&c.agency_id).cloned().unwrap_or_default(),
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
    let detail = json!({"q": q.q, "agency_id": q.agency_id, "status": q.status, "rows": rows.len(),
                        "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "certificate.export",
            object: "certificates",
            detail,
            filtered_on: q.agency_id,
            per_agency: &per_agency,
        },
        &Table {
            sheet: "Chứng thư số",
            header: &[
                "Mã",
                "Số hiệu",
                "Chủ thể",
                "Thuê bao",
                "Cơ quan",
                "Tổ chức cấp",
                "Hiệu lực từ",
                "Hết hạn",
                "Trạng thái",
                "SHA-256",
            ],
            date_columns: &[6, 7],
            rows: &rows,
        },
    )
    .await
}

/// The key devices the listing's filters find (words of the serial or the holder's name, a
/// state, an agency's subtree), as CSV or XLSX; audited.
pub async fn export_devices(
    store: &Store,
    actor: &Actor,
    q: &str,
    state: Option<&str>,
    agency_id: Option<i64>,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    use kyso_domain::device::{DeviceKind, DeviceState};
    let devices = registry::devices_upto(store, actor, q, state, agency_id, MAX_EXPORT).await?;
    let names = agency_names(store, actor).await?;
    let mut per_agency = BTreeMap::new();
    let rows: Vec<Vec<String>> = devices
        .into_iter()
        .map(|d| {
            *per_agency.entry(d.agency_id).or_insert(0usize) += 1;
            vec![
                d.id.to_string(),
                label::<DeviceKind>(&d.kind),
                d.serial,
                d.model,
                names.get(&d.agency_id).cloned().unwrap_or_default(),
                d.holder_name.unwrap_or_default(),
                label::<DeviceState>(&d.state),
            ]
        })
        .collect();
    let detail = json!({"q": q, "agency_id": agency_id, "state": state, "rows": rows.len(),
                        "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "device.export",
            object: "devices",
            detail,
            filtered_on: agency_id,
            per_agency: &per_agency,
        },
        &Table {
            sheet: "Thiết bị",
            header: &[
                "Mã",
                "Loại",
                "Số sê-ri",
                "Kiểu thiết bị",
                "Cơ quan",
                "Người giữ",
                "Trạng thái",
            ],
            date_columns: &[],
            rows: &rows,
        },
    )
    .await
}

/// The requests the listing's filters find, as CSV or XLSX, with their dates and deadline;
/// audited.
pub async fn export_requests(
    store: &Store,
    actor: &Actor,
    q: &crate::requests::RequestQuery,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    use kyso_domain::Named as _;
    let list = crate::requests::list_requests_upto(store, actor, q, now, MAX_EXPORT).await?;
    let day =
        |t: Option<OffsetDateTime>| t.map(kyso_domain::calendar::date_text).unwrap_or_default();
    let mut per_agency = BTreeMap::new();
    let rows: Vec<Vec<String>> = list
        .into_iter()
        .map(|r| {
            *per_agency.entry(r.agency_id).or_insert(0usize) += 1;
            vec![
                r.id.to_string(),
                format!("Mẫu {}", r.form_number),
                r.kind.vi().to_owned(),
                r.agency_name,
                r.state.vi().to_owned(),
                r.number,
                r.contact_name,
                day(Some(r.created_at)),
                day(r.sent_at),
                day(r.deadline_at),
                day(r.completed_at),
                if r.overdue { "Quá hạn" } else { "" }.to_owned(),
                r.refusal_reason,
            ]
        })
        .collect();
    let detail = json!({"q": q.q, "agency_id": q.agency_id, "state": q.state, "kind": q.kind,
                        "overdue": q.overdue, "rows": rows.len(), "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "request.export",
            object: "requests",
            detail,
            filtered_on: q.agency_id,
            per_agency: &per_agency,
        },
        &Table {
            sheet: "Đề nghị",
            header: &[
                "Mã",
                "Biểu mẫu",
                "Loại đề nghị",
                "Cơ quan đề nghị",
                "Trạng thái",
                "Số công văn",
                "Người liên hệ",
                "Ngày lập",
                "Ngày gửi",
                "Hạn xử lý",
                "Ngày hoàn thành",
                "Quá hạn",
                "Lý do từ chối",
            ],
            date_columns: &[7, 8, 9, 10],
            rows: &rows,
        },
    )
    .await
}

/// The agencies the listing finds (words of the name or a code, an agency's subtree), in tree
/// order with both code forms and the managing agency, as CSV or XLSX; audited.
pub async fn export_agencies(
    store: &Store,
    actor: &Actor,
    q: &str,
    under: Option<i64>,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    use kyso_domain::registry::AgencyKind;
    let list = registry::agencies(store, actor, q, under).await?;
    let names = agency_names(store, actor).await?;
    let mut per_agency = BTreeMap::new();
    let rows: Vec<Vec<String>> = list
        .into_iter()
        .map(|a| {
            *per_agency.entry(a.id).or_insert(0usize) += 1;
            vec![
                a.code,
                a.legacy_code,
                a.name,
                label::<AgencyKind>(&a.kind),
                a.parent_id
                    .and_then(|p| names.get(&p).cloned())
                    .unwrap_or_default(),
                a.address,
                a.email,
                a.phone,
            ]
        })
        .collect();
    let detail = json!({"q": q, "under": under, "rows": rows.len(), "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "agency.export",
            object: "agencies",
            detail,
            filtered_on: under,
            per_agency: &per_agency,
        },
        &Table {
            sheet: "Cơ quan",
            header: &[
                "Mã định danh",
                "Mã 13 ký tự",
                "Tên cơ quan",
                "Loại",
                "Cơ quan quản lý trực tiếp",
                "Địa chỉ",
                "Thư điện tử",
                "Số điện thoại",
            ],
            date_columns: &[],
            rows: &rows,
        },
    )
    .await
}

/// The audit log's entries the filter finds (newest first, at most [`MAX_EXPORT`]), as CSV or
/// XLSX: time in Vietnam, the actor, the action and record in words, the agency's code, the
/// details as labelled text and each entry's hash (to compare with `kyso audit verify`).
/// Needs the auditor's permission, like the log; the export is itself audited.
pub async fn export_audit(
    store: &Store,
    actor: &Actor,
    filter: &audit::Filter,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    use kyso_domain::audit_text::{action_label, detail_items, object_kind};
    let mut rows = Vec::new();
    let mut page = filter.clone();
    page.limit = 1000;
    loop {
        let entries = audit::list(store, actor, &page).await?;
        let n = entries.len();
        for e in entries {
            page.before_seq = Some(e.seq);
            let action = action_label(&e.action).map_or_else(|| e.action.clone(), |(vi, _)| vi);
            let object = object_kind(&e.object)
                .map_or_else(|| e.object.clone(), |(vi, _, id)| format!("{vi} {id}"));
            let details = detail_items(&e.detail, false)
                .into_iter()
                .map(|(k, v)| if k.is_empty() { v } else { format!("{k}: {v}") })
                .collect::<Vec<_>>()
                .join("; ");
            rows.push(vec![
                e.seq.to_string(),
                kyso_domain::calendar::date_time_text(e.at),
                e.actor,
                action,
                object,
                e.agency.unwrap_or_default(),
                details,
                e.source,
                e.hash,
            ]);
        }
        if n < 1000 || rows.len() as i64 >= MAX_EXPORT {
            break;
        }
    }
    let detail = json!({"actor": filter.actor, "action": filter.action_prefix,
                        "object": filter.object, "rows": rows.len(), "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "audit.export",
            object: "audit_log",
            detail,
            filtered_on: None,
            per_agency: &BTreeMap::new(),
        },
        &Table {
            sheet: "Nhật ký",
            header: &[
                "Số thứ tự",
                "Thời điểm (giờ Việt Nam)",
                "Người thực hiện",
                "Thao tác",
                "Đối tượng",
                "Cơ quan",
                "Chi tiết",
                "Từ địa chỉ",
                "Mã băm",
            ],
            date_columns: &[],
            rows: &rows,
        },
    )
    .await
}

/// The accounts the actor manages (as the accounts page lists them), as CSV or XLSX: user
/// name, name, e-mail, agency, each role with the agency it is granted on, and the state.
/// Passwords and tokens are never part of it; the export is audited.
pub async fn export_users(
    store: &Store,
    actor: &Actor,
    format: ExportFormat,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    use kyso_domain::roles::Role;
    if actor.scope(Permission::ManageAccounts).is_empty() {
        return Err(Error::Forbidden);
    }
    let users = crate::accounts::users(store, actor).await?;
    let names = agency_names(store, actor).await?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let mut per_agency = BTreeMap::new();
    let rows: Vec<Vec<String>> = users
        .into_iter()
        .map(|u| {
            *per_agency.entry(u.agency_id).or_insert(0usize) += 1;
            let roles = u
                .roles
                .iter()
                .map(|r| format!("{} — {}", label::<Role>(&r.role), name(r.agency_id)))
                .collect::<Vec<_>>()
                .join("; ");
            vec![
                u.username,
                u.full_name,
                u.email,
                name(u.agency_id),
                roles,
                if u.disabled {
                    "Đã khóa"
                } else {
                    "Đang hoạt động"
                }
                .to_owned(),
                if u.must_change_password { "Có" } else { "" }.to_owned(),
            ]
        })
        .collect();
    let detail = json!({"rows": rows.len(), "format": format.name()});
    deliver(
        store,
        actor,
        format,
        now,
        Export {
            action: "user.export",
            object: "users",
            detail,
            filtered_on: None,
            per_agency: &per_agency,
        },
        &Table {
            sheet: "Tài khoản",
            header: &[
                "Tên đăng nhập",
                "Họ và tên",
                "Thư điện tử",
                "Cơ quan",
                "Vai trò",
                "Trạng thái",
                "Phải đổi mật khẩu",
            ],
            date_columns: &[],
            rows: &rows,
        },
    )
    .await
}

/// The names of the agencies the actor reads, by id (an export's agency column).
async fn agency_names(
    store: &Store,
    actor: &Actor,
) -> Result<std::collections::HashMap<i64, String>> {
    Ok(registry::agencies(store, actor, "", None)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

/// The Vietnamese label of a kind stored as `name` (the name itself if unknown).
fn label<T: kyso_domain::Named>(name: &str) -> String {
    T::from_name(name).map_or_else(|| name.to_owned(), |v| v.vi().to_owned())
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
