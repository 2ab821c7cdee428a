//! An agency's report issued as a document (issue 21 item 2): once the report is submitted —
//! its figures frozen — someone of the agency who may both write its report (signature officer)
//! and draft its documents (drafter) makes it into a Báo cáo of the agency addressed to the
//! Department (the `department` code of the request recipients' setting; the Department's own
//! report to the province's People's Committee). The document then
//! goes through the outgoing flow like any other — review, format check, the leader's
//! signature on their own token, the clerk's number, date and organization signature,
//! registration — and its dispatch ([`on_dispatch`]) records the sealed file with the report.
//! The Department sees on the period's page where each report's document is. No server-held
//! key signs an agency's report.

use kyso_domain::documents::{DocState, DocType};
use sqlx::Row as _;

use super::*;
use crate::blobs::Blobs;
use crate::documents::{self, Document, NewDocument};
use crate::WriteTx;

/// Where the document made for a report is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDocument {
    pub document_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: DocState,
    /// Number and notation ("12/BC-STC") once numbered.
    pub number: Option<String>,
    /// When it was dispatched to the Department.
    #[serde(with = "time::serde::rfc3339::option")]
    pub issued_at: Option<OffsetDateTime>,
    /// The SHA-256 of the sealed file it was dispatched as.
    pub sealed_sha256: Option<String>,
}

impl ReportDocument {
    /// Whether it stands for the report, so that no other is made: every document but a
    /// recalled one (after a recall the report may be issued again).
    pub fn is_live(&self) -> bool {
        self.state != DocState::Recalled
    }
}

/// What the report's document will be, checked before it is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDocumentPlan {
    /// The report's notation ("BC-STC"): the agency's register for reports.
    pub notation: String,
    /// Where it goes: the Department's identifier code (dotted), or the province's for the
    /// Department's own report.
    pub recipient_code: String,
}

/// The columns [`document_from`] reads, over `report_documents l JOIN documents d`.
pub(super) const DOCUMENT_COLUMNS: &str =
    "d.id, d.state, d.number, d.notation, l.issued_at, l.sealed_sha256";

/// The document of [`DOCUMENT_COLUMNS`] read from column `at` on; `None` when there is none
/// (a `LEFT JOIN` that found nothing).
pub(super) fn document_from(row: &sqlx::any::AnyRow, at: usize) -> Result<Option<ReportDocument>> {
    let id: Option<i64> = row.try_get(at)?;
    let Some(document_id) = id else {
        return Ok(None);
    };
    let state: String = row.try_get(at + 1)?;
    let number: Option<i64> = row.try_get(at + 2)?;
    let notation: Option<String> = row.try_get(at + 3)?;
    let issued: Option<i64> = row.try_get(at + 4)?;
    Ok(Some(ReportDocument {
        document_id,
        state: DocState::parse(&state).map_err(|_| corrupt())?,
        number: documents::number_and_notation(number, notation.as_deref()),
        issued_at: issued.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
        sealed_sha256: row.try_get(at + 5)?,
    }))
}

/// The newest document made for each report of `period_id`: `LEFT JOIN`ed by
/// [`super::standings`] as `l`/`d` after the agencies `a`.
pub(super) fn newest_document_join(period_param: &str) -> String {
    format!(
        "LEFT JOIN report_documents l ON l.document_id = (SELECT MAX(l2.document_id) \
         FROM report_documents l2 WHERE l2.period_id = {period_param} AND l2.agency_id = a.id) \
         LEFT JOIN documents d ON d.id = l.document_id"
    )
}

/// Whether the agency's report of the period is submitted (no scope check).
async fn is_submitted(
    conn: &mut sqlx::AnyConnection,
    period_id: i64,
    agency_id: i64,
) -> Result<bool> {
    let state: Option<String> = sqlx::query_scalar(
        "SELECT state FROM agency_reports WHERE period_id = $1 AND agency_id = $2",
    )
    .bind(period_id)
    .bind(agency_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(state.as_deref() == Some(ReportState::Submitted.as_str()))
}

/// The newest document made for the report (no scope check: the caller read the report).
pub(super) async fn newest_document(
    conn: &mut sqlx::AnyConnection,
    period_id: i64,
    agency_id: i64,
) -> Result<Option<ReportDocument>> {
    let row = sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM report_documents l JOIN documents d \
         ON d.id = l.document_id WHERE l.period_id = $1 AND l.agency_id = $2 \
         ORDER BY l.document_id DESC LIMIT 1"
    ))
    .bind(period_id)
    .bind(agency_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => document_from(&row, 0),
        None => Ok(None),
    }
}

fn already_made(d: &ReportDocument) -> Error {
    Error::conflict(
        "report",
        format!(
            "Báo cáo này đã được lập thành văn bản (văn bản #{}, {}); hãy tiếp tục xử lý văn \
             bản đó.",
            d.document_id,
            d.state.label_vi().to_lowercase()
        ),
        format!(
            "This report already has its document (document #{}, {}); carry that one on.",
            d.document_id,
            d.state.label_en().to_lowercase()
        ),
    )
}

/// Where the report of agency `a` goes, by identifier code: the Department (the `department`
/// code of the request recipients' setting), or — for the Department's own report — the
/// province's People's Committee above it; empty when the Department is not set.
async fn report_recipient(store: &Store, a: &crate::registry::Agency) -> Result<String> {
    let department = crate::requests::request_recipients(store).await?.department;
    match a.parent_id {
        Some(parent) if department == a.code => {
            Ok(
                crate::registry::agency(store, &Actor::system(), parent, Permission::ReadRegistry)
                    .await?
                    .code,
            )
        }
        _ => Ok(department),
    }
}

/// [`report_recipient`] of reporting agency `agency_id` the actor reads.
pub async fn report_recipient_of(store: &Store, actor: &Actor, agency_id: i64) -> Result<String> {
    let a = reporting_agency(store, actor, agency_id, Permission::ReadRegistry).await?;
    report_recipient(store, &a).await
}

/// The refusal of someone holding only one of the two roles the document's maker needs.
fn both_roles() -> Error {
    Error::invalid(
        "roles",
        "Người lập văn bản báo cáo phải vừa là cán bộ phụ trách chữ ký số của cơ quan (người lập \
         báo cáo) vừa được giao soạn thảo văn bản của cơ quan; hãy đề nghị quản trị cấp thêm vai \
         trò còn thiếu.",
        "Whoever makes the report's document must be both a signature officer of the agency \
         (who writes its report) and a drafter of its documents; ask an administrator for the \
         missing role.",
    )
}

/// Check that `actor` may make the document of the agency's report of the period now, and
/// plan it: the report is submitted and has no live document, the actor may write the report
/// *and* draft documents of the agency, the agency has a register for reports, and the
/// Department's code is set.
pub async fn report_document_plan(
    store: &Store,
    actor: &Actor,
    period_id: i64,
    agency_id: i64,
) -> Result<ReportDocumentPlan> {
    report_period(store, actor, period_id).await?;
    let a = reporting_agency(store, actor, agency_id, Permission::ReadRegistry).await?;
    let may_write = actor
        .may(On::Agency(Permission::WriteRegistry, &a.path))
        .is_ok();
    let may_draft = documents::check_duty(actor, DocState::Draft.duty(), a.id, &a.path).is_ok();
    if !may_write && !may_draft {
        return Err(Error::Forbidden);
    }
    if !may_write {
        return Err(both_roles());
    }
    let mut conn = store.pool().acquire().await?;
    if !is_submitted(&mut conn, period_id, agency_id).await? {
        return Err(Error::conflict(
            "state",
            "Hãy gửi báo cáo (chốt số liệu) trước khi lập văn bản báo cáo.",
            "Submit the report (freezing its figures) before making its document.",
        ));
    }
    if !may_draft {
        return Err(both_roles());
    }
    if let Some(d) = newest_document(&mut conn, period_id, agency_id)
        .await?
        .filter(ReportDocument::is_live)
    {
        return Err(already_made(&d));
    }
    drop(conn);
    let notation = documents::notation_for(store, a.id, DocType::BaoCao, "").await?;
    let recipient_code = report_recipient(store, &a).await?;
    if recipient_code.is_empty() {
        return Err(Error::invalid(
            "recipient",
            "Chưa khai báo mã định danh của Sở (nơi nhận báo cáo); quản trị của Sở cần khai báo \
             trong cài đặt \"Nơi nhận đề nghị\" trước khi lập văn bản báo cáo.",
            "The Department's identifier code (where reports go) is not set; a Department \
             administrator must set it under \"Request recipients\" first.",
        ));
    }
    Ok(ReportDocumentPlan {
        notation,
        recipient_code,
    })
}

/// Make the report's document, all or nothing: the checks of [`report_document_plan`] and the
/// document's own ([`documents::check_new_document`], which also stores the draft's bytes),
/// then one write transaction that checks again that the report is submitted and has no live
/// document, writes the document ([`documents::create_in`]) and the link, and commits both
/// audit entries (`document.create`, `report.document`). The document must be a Báo cáo of
/// the reporting agency addressed to the Department's code.
pub async fn create_report_document(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    period_id: i64,
    agency_id: i64,
    input: &NewDocument,
    now: OffsetDateTime,
) -> Result<Document> {
    let plan = report_document_plan(store, actor, period_id, agency_id).await?;
    if input.agency_id != agency_id
        || input.meta.doc_type != DocType::BaoCao
        || input.meta.recipients != [plan.recipient_code.clone()]
    {
        return Err(Error::invalid(
            "document",
            "Văn bản báo cáo phải là báo cáo của cơ quan lập báo cáo, gửi Sở.",
            "The report's document must be a report of the reporting agency, sent to the \
             Department.",
        ));
    }
    let checked = documents::check_new_document(store, blobs, actor, input).await?;
    let mut tx = store
        .begin_write(
            actor,
            On::Agency(Permission::WriteRegistry, checked.agency_path()),
        )
        .await?;
    if !is_submitted(tx.conn(), period_id, agency_id).await? {
        return Err(Error::conflict(
            "state",
            "Báo cáo vừa thay đổi; tải lại trang.",
            "The report has just changed; reload.",
        ));
    }
    if let Some(d) = newest_document(tx.conn(), period_id, agency_id)
        .await?
        .filter(ReportDocument::is_live)
    {
        return Err(already_made(&d));
    }
    let document_id = documents::create_in(&mut tx, &checked, now).await?;
    sqlx::query(
        "INSERT INTO report_documents (document_id, period_id, agency_id, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(document_id)
    .bind(period_id)
    .bind(agency_id)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "report.document",
            object: format!("report_period:{period_id}"),
            agency: Some(checked.agency_code().to_owned()),
            detail: json!({"document_id": document_id, "agency_id": agency_id}),
        },
        now,
    )
    .await?;
    documents::get_document(store, actor, document_id)
        .await
        .map(|d| d.document)
}

/// The report whose document `document_id` is, if any, as (period, agency) (no scope check).
pub async fn report_of_document(store: &Store, document_id: i64) -> Result<Option<(i64, i64)>> {
    let row =
        sqlx::query("SELECT period_id, agency_id FROM report_documents WHERE document_id = $1")
            .bind(document_id)
            .fetch_optional(store.pool())
            .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Called by the dispatch step inside its transaction: when `doc` is a report's document,
/// record its sealed file (the last organization-signed version) and the moment it left.
/// Returns what the document's audit entry records, or `None` for any other document.
pub(crate) async fn on_dispatch(
    tx: &mut WriteTx,
    doc: &Document,
    now: OffsetDateTime,
) -> Result<Option<serde_json::Value>> {
    let row =
        sqlx::query("SELECT period_id, agency_id FROM report_documents WHERE document_id = $1")
            .bind(doc.id)
            .fetch_optional(tx.conn())
            .await?;
    let Some(row) = row else { return Ok(None) };
    let (period_id, agency_id): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let Some(sealed) = documents::sealed_version(tx, doc.id).await? else {
        return Err(Error::conflict(
            "state",
            "Văn bản báo cáo chưa có bản ký số của cơ quan.",
            "The report's document has no organization-signed version.",
        ));
    };
    sqlx::query(
        "UPDATE report_documents SET sealed_sha256 = $1, issued_at = $2 WHERE document_id = $3",
    )
    .bind(&sealed)
    .bind(now.unix_timestamp())
    .bind(doc.id)
    .execute(tx.conn())
    .await?;
    Ok(Some(json!({
        "period_id": period_id,
        "agency_id": agency_id,
        "sha256": sealed,
    })))
}
