//! Reports (issue 21): the periods the Department opens, each reporting agency's report of a
//! period, and the figures of an agency's subtree computed from the registry's rows.
//!
//! The reporting agencies are those directly under a province (departments, districts, …):
//! each reports for itself and the units below it. A report is a draft while its agency
//! reviews it — its figures are computed whenever it is read, so they follow the registry —
//! and is frozen when submitted: the figures computed inside the submitting transaction are
//! stored with it, so that a later change in the registry does not change an issued report.
//! Opening a period is the Department's (the registry's settings); reviewing and submitting
//! is the agency's officer's (write access to the agency).

use kyso_domain::calendar::iso_day_text;
use kyso_domain::lifecycle::RequestKind;
use kyso_domain::reports::{
    CertificateFigures, DeviceFigures, DocumentFigures, Figures, Needs, Period, PeriodKind,
    ReasonCount, ReportState, RequestFigures,
};
use kyso_domain::roles::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row as _;
use time::{Date, Duration, OffsetDateTime};

use crate::audit::Event;
use crate::{Actor, Error, On, Record, Result, Store};

mod document;
pub use document::*;

/// A period the Department opened.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportPeriod {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: PeriodKind,
    /// The title officers read ("Báo cáo 6 tháng đầu năm 2026").
    pub title: String,
    pub title_en: String,
    /// ISO dates, inclusive.
    pub first_day: String,
    pub last_day: String,
    /// The day reports are due.
    pub due_day: String,
    /// An ad hoc period's own questions (one per line).
    pub questions: String,
    pub opened_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
}

impl ReportPeriod {
    /// The domain's period (its days and bounds).
    pub fn period(&self) -> Result<Period> {
        let day = |s: &str| {
            Date::parse(s, &time::format_description::well_known::Iso8601::DATE)
                .map_err(|_| corrupt())
        };
        let (first, last) = (day(&self.first_day)?, day(&self.last_day)?);
        Ok(Period {
            kind: self.kind,
            first_day: first,
            last_day: last,
        })
    }
}

fn corrupt() -> Error {
    Error::Database(sqlx::Error::Protocol("stored report is not valid".into()))
}

/// A new period, as the Department's form gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"kind": "six_monthly", "year": 2026, "half": 2, "due_day": "15/01/2027"})))]
pub struct NewPeriod {
    /// `six_monthly`, `annual` or `ad_hoc`.
    pub kind: String,
    /// For six-monthly and annual periods.
    #[serde(default)]
    pub year: Option<i32>,
    /// For six-monthly periods: 1 or 2.
    #[serde(default)]
    pub half: Option<u8>,
    /// For ad hoc periods: the first and last days, dd/mm/yyyy.
    #[serde(default)]
    pub first_day: String,
    #[serde(default)]
    pub last_day: String,
    /// The day reports are due, dd/mm/yyyy.
    pub due_day: String,
    /// An ad hoc period's questions, one per line.
    #[serde(default)]
    pub questions: String,
}

/// An agency's report of a period: its figures (stored once submitted, computed while a
/// draft) and what its officer wrote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgencyReport {
    pub period_id: i64,
    pub agency_id: i64,
    pub agency_name: String,
    pub agency_code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: ReportState,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figures: Figures,
    pub comments: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub needs: Needs,
    pub answers: String,
    pub submitted_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    /// The document made of it once submitted (the newest), if any.
    pub document: Option<ReportDocument>,
}

/// What an agency's officer writes into its report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportInput {
    #[serde(default)]
    pub comments: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub needs: Needs,
    /// The answers to an ad hoc period's questions.
    #[serde(default)]
    pub answers: String,
}

/// Where a reporting agency stands in a period.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Standing {
    pub agency_id: i64,
    pub agency_name: String,
    pub agency_code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: ReportState,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    /// The document made of its report (the newest), if any.
    pub document: Option<ReportDocument>,
}

const PERIOD_COLUMNS: &str =
    "id, kind, first_day, last_day, due_day, questions, opened_by, opened_at";

fn period_from(row: &sqlx::any::AnyRow) -> Result<ReportPeriod> {
    let kind: String = row.try_get(1)?;
    let kind = PeriodKind::parse(&kind).map_err(|_| corrupt())?;
    let mut p = ReportPeriod {
        id: row.try_get(0)?,
        kind,
        title: String::new(),
        title_en: String::new(),
        first_day: row.try_get(2)?,
        last_day: row.try_get(3)?,
        due_day: row.try_get(4)?,
        questions: row.try_get(5)?,
        opened_by: row.try_get(6)?,
        opened_at: OffsetDateTime::from_unix_timestamp(row.try_get(7)?).map_err(|_| corrupt())?,
    };
    let period = p.period()?;
    p.title = period.title_vi();
    p.title_en = period.title_en();
    Ok(p)
}

/// A day typed dd/mm/yyyy in a form's `field`, required.
fn form_day(field: &'static str, value: &str) -> Result<Date> {
    kyso_domain::fields::parse_date(field, value)?.ok_or_else(|| {
        Error::invalid(
            field,
            format!(
                "Hãy nhập {} (dd/mm/yyyy).",
                kyso_domain::fields::field_vi(field)
            ),
            format!("Enter the {field} (dd/mm/yyyy)."),
        )
    })
}

/// Open a period (the Department: the registry's settings). Refused at the field: an unknown
/// kind, a missing year or half, ad hoc days out of order, a due day before the period ends.
pub async fn open_period(
    store: &Store,
    actor: &Actor,
    input: &NewPeriod,
    now: OffsetDateTime,
) -> Result<ReportPeriod> {
    actor.may(On::Registry)?;
    let kinds: Vec<&str> = PeriodKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind: PeriodKind = kyso_domain::fields::one_of("kind", &input.kind, &kinds)?;
    let bad = |field: &'static str, e: kyso_domain::reports::PeriodError| {
        Error::invalid(field, e.message_vi(), e.to_string())
    };
    let year = || {
        input
            .year
            .ok_or_else(|| Error::invalid("year", "Hãy chọn năm báo cáo.", "Choose the year."))
    };
    let period = match kind {
        PeriodKind::SixMonthly => {
            Period::six_monthly(year()?, input.half.unwrap_or(0)).map_err(|e| bad("half", e))?
        }
        PeriodKind::Annual => Period::annual(year()?).map_err(|e| bad("year", e))?,
        PeriodKind::AdHoc => Period::ad_hoc(
            form_day("first_day", &input.first_day)?,
            form_day("last_day", &input.last_day)?,
        )
        .map_err(|e| bad("last_day", e))?,
    };
    let due = form_day("due_day", &input.due_day)?;
    if due < period.last_day {
        return Err(Error::invalid(
            "due_day",
            "Hạn gửi báo cáo phải sau ngày cuối của kỳ báo cáo.",
            "Reports are due after the period's last day.",
        ));
    }
    let questions = crate::registry::text("questions", &input.questions, false)?;
    let iso = |d: Date| d.to_string();
    let mut tx = store.begin_write(actor, On::Registry).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO report_periods (kind, first_day, last_day, due_day, questions, opened_by, \
         opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(iso(period.first_day))
    .bind(iso(period.last_day))
    .bind(iso(due))
    .bind(&questions)
    .bind(&actor.username)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "report.open",
            object: format!("report_period:{id}"),
            agency: None,
            detail: json!({"title": period.title_vi(), "due": iso_day_text(&iso(due))}),
        },
        now,
    )
    .await?;
    report_period(store, actor, id).await
}

/// The periods, newest first (anyone who reads the registry sees them).
pub async fn report_periods(store: &Store, actor: &Actor) -> Result<Vec<ReportPeriod>> {
    if actor.scope(Permission::ReadRegistry).is_empty() {
        return Err(Error::Forbidden);
    }
    let rows = sqlx::query(&format!(
        "SELECT {PERIOD_COLUMNS} FROM report_periods ORDER BY id DESC LIMIT 200"
    ))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(period_from).collect()
}

/// One period.
pub async fn report_period(store: &Store, actor: &Actor, id: i64) -> Result<ReportPeriod> {
    if actor.scope(Permission::ReadRegistry).is_empty() {
        return Err(Error::Forbidden);
    }
    let row = sqlx::query(&format!(
        "SELECT {PERIOD_COLUMNS} FROM report_periods WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Report,
    })?;
    period_from(&row)
}

/// The period `choice` names, or the newest one (not found when none was opened yet).
pub async fn period_or_newest(
    store: &Store,
    actor: &Actor,
    choice: Option<i64>,
) -> Result<ReportPeriod> {
    match choice {
        Some(id) => report_period(store, actor, id).await,
        None => report_periods(store, actor)
            .await?
            .into_iter()
            .next()
            .ok_or(Error::NotFound {
                what: Record::Report,
            }),
    }
}

/// A period as the Department consolidates it: where each reporting agency the actor reads
/// stands, the reports submitted, and their figures and needs summed.
#[derive(Debug, Clone)]
pub struct Consolidated {
    pub standing: Vec<Standing>,
    pub submitted: Vec<AgencyReport>,
    pub figures: Figures,
    pub needs: Needs,
}

/// [`Consolidated`] of period `period_id`.
pub async fn consolidated(store: &Store, actor: &Actor, period_id: i64) -> Result<Consolidated> {
    let standing = standings(store, actor, period_id).await?;
    let mut submitted = Vec::new();
    for s in standing
        .iter()
        .filter(|s| s.state == ReportState::Submitted)
    {
        submitted.push(agency_report(store, actor, period_id, s.agency_id).await?);
    }
    let figures = Figures::sum(submitted.iter().map(|r| &r.figures));
    let needs = Needs::sum(submitted.iter().map(|r| (r.agency_name.as_str(), &r.needs)));
    Ok(Consolidated {
        standing,
        submitted,
        figures,
        needs,
    })
}

/// The reporting agencies the actor reads (those directly under a province, or the actor's
/// own agency when it is one) and where each stands in the period.
pub async fn standings(store: &Store, actor: &Actor, period_id: i64) -> Result<Vec<Standing>> {
    report_period(store, actor, period_id).await?;
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 2);
    let sql = format!(
        "SELECT a.id, a.name, a.code, r.state, r.submitted_at, {DOCUMENT_COLUMNS} \
         FROM agencies a JOIN agencies p ON p.id = a.parent_id \
         LEFT JOIN agency_reports r ON r.agency_id = a.id AND r.period_id = $1 {} \
         WHERE p.parent_id IS NULL AND a.dissolved_at IS NULL AND {scope} ORDER BY a.code",
        newest_document_join("$1")
    );
    let mut q = sqlx::query(&sql).bind(period_id);
    for p in &params {
        q = q.bind(p);
    }
    let rows = q.fetch_all(store.pool()).await?;
    rows.iter()
        .map(|row| {
            let state: Option<String> = row.try_get(3)?;
            let at: Option<i64> = row.try_get(4)?;
            Ok(Standing {
                agency_id: row.try_get(0)?,
                agency_name: row.try_get(1)?,
                agency_code: row.try_get(2)?,
                state: state
                    .as_deref()
                    .and_then(|s| ReportState::parse(s).ok())
                    .unwrap_or(ReportState::Draft),
                submitted_at: at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
                document: document_from(row, 5)?,
            })
        })
        .collect()
}

/// The queries that compute a report's figures for the subtree at `path` over `period`, each
/// with the values of its numbered parameters: certificates, device records, requests by kind,
/// document events, arrivals, refusals by reason — in that order ([`figures`] reads them).
/// Every one is a single aggregate pass over one table's rows of the subtree: their agency `IN`
/// the agencies whose path starts with the subtree's. Written so, both engines first find the
/// subtree's agencies and reach the rows through their agency index; a join to the agencies
/// filtered by the path made SQLite scan each table once per agency (28 s for the province's
/// 99 reports over a year of documents, 2 s written this way; BENCHMARKS.md "Issue 21").
pub fn figure_queries(path: &str, period: &Period) -> Vec<(String, Vec<Value>)> {
    let (start, end) = period.bounds();
    let (s, e) = (start.unix_timestamp(), end.unix_timestamp());
    let soon = (end + Duration::days(60)).unix_timestamp();
    let under = Value::Text(format!("{path}%"));
    let (s, e) = (Value::Int(s), Value::Int(e));
    // Valid at the end: started, not ended, not revoked by then, not replaced.
    let valid = "c.status <> 'superseded' AND (c.revoked_at IS NULL OR c.revoked_at >= $2) \
                 AND c.not_before < $2 AND c.not_after >= $2";
    let renewal = "EXISTS (SELECT 1 FROM certificates o WHERE o.replaced_by = c.id)";
    let window = vec![under.clone(), s.clone(), e.clone()];
    vec![
        (
            format!(
                "SELECT \
                 COALESCE(SUM(CASE WHEN {valid} THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN {valid} AND c.not_after < $4 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN c.status <> 'superseded' AND (c.revoked_at IS NULL \
                      OR c.revoked_at >= $2) AND c.not_after < $2 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN c.revoked_at < $2 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN c.not_before >= $3 AND c.not_before < $2 \
                      AND NOT {renewal} THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN c.not_before >= $3 AND c.not_before < $2 AND {renewal} \
                      THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN c.revoked_at >= $3 AND c.revoked_at < $2 \
                      THEN 1 ELSE 0 END), 0) \
                 FROM certificates c \
                 WHERE c.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1)"
            ),
            vec![under.clone(), e.clone(), s.clone(), Value::Int(soon)],
        ),
        (
            "SELECT \
             COALESCE(SUM(CASE WHEN v.event = 'assign' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN v.event = 'lock' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN v.event = 'recover' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN v.event = 'report_lost' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN v.event = 'return' THEN 1 ELSE 0 END), 0) \
             FROM device_events v JOIN devices d ON d.id = v.device_id \
             WHERE d.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1) \
             AND v.at >= $2 AND v.at < $3"
                .to_owned(),
            window.clone(),
        ),
        (
            "SELECT r.kind, \
             COALESCE(SUM(CASE WHEN r.created_at >= $2 AND r.created_at < $3 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN r.state = 'done' AND r.completed_at >= $2 \
                  AND r.completed_at < $3 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN r.state = 'refused' AND r.completed_at >= $2 \
                  AND r.completed_at < $3 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN r.created_at < $3 AND (r.completed_at IS NULL \
                  OR r.completed_at >= $3) AND r.state NOT IN ('withdrawn') THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN r.state = 'done' AND r.completed_at >= $2 \
                  AND r.completed_at < $3 AND r.deadline_at IS NOT NULL \
                  AND r.completed_at <= r.deadline_at THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN r.state = 'done' AND r.completed_at >= $2 \
                  AND r.completed_at < $3 AND r.deadline_at IS NOT NULL \
                  AND r.completed_at > r.deadline_at THEN 1 ELSE 0 END), 0) \
             FROM requests r \
             WHERE r.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1) GROUP BY r.kind"
                .to_owned(),
            window.clone(),
        ),
        (
            "SELECT \
             COALESCE(SUM(CASE WHEN v.action = 'sign_personal' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN v.action = 'org_sign' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN v.action = 'dispatch' THEN 1 ELSE 0 END), 0) \
             FROM document_events v JOIN documents d ON d.id = v.document_id \
             WHERE d.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1) \
             AND v.created_at >= $2 AND v.created_at < $3"
                .to_owned(),
            window.clone(),
        ),
        (
            "SELECT COUNT(*) FROM incoming_documents i \
             WHERE i.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1) \
             AND i.arrived_at >= $2 AND i.arrived_at < $3"
                .to_owned(),
            window.clone(),
        ),
        (
            "SELECT i.decision_note, COUNT(*) FROM incoming_documents i \
             WHERE i.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1) AND i.state = 'refused' \
             AND i.decided_at >= $2 AND i.decided_at < $3 GROUP BY i.decision_note"
                .to_owned(),
            window,
        ),
    ]
}

/// A value of a query's numbered parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
}

/// `sql` with its numbered parameters written in as literals (for the database's own command
/// line client beside kyso in the benchmark; the values are kyso's own: paths and times).
pub fn inlined(sql: &str, values: &[Value]) -> String {
    let mut out = sql.to_owned();
    // $10 before $1.
    for (i, v) in values.iter().enumerate().rev() {
        let literal = match v {
            Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
            Value::Int(n) => n.to_string(),
        };
        out = out.replace(&format!("${}", i + 1), &literal);
    }
    out
}

/// Run one of [`figure_queries`], fetching all its rows.
async fn run(
    conn: &mut sqlx::AnyConnection,
    (sql, values): &(String, Vec<Value>),
) -> Result<Vec<sqlx::any::AnyRow>> {
    let mut q = sqlx::query(sql);
    for v in values {
        q = match v {
            Value::Text(t) => q.bind(t.clone()),
            Value::Int(n) => q.bind(*n),
        };
    }
    Ok(q.fetch_all(&mut *conn).await?)
}

/// The figures of the subtree at `path` over `period`, computed from the registry's rows
/// ([`figure_queries`]; see the fields of [`Figures`] for what each counts).
pub async fn figures(
    conn: &mut sqlx::AnyConnection,
    path: &str,
    period: &Period,
) -> Result<Figures> {
    let queries = figure_queries(path, period);
    let mut results = Vec::with_capacity(queries.len());
    for q in &queries {
        results.push(run(conn, q).await?);
    }
    let [certs, devices, requests, documents, received, reasons] = &results[..] else {
        return Err(corrupt());
    };
    let one = |rows: &Vec<sqlx::any::AnyRow>| rows.first().cloned().ok_or_else(corrupt);
    let row = one(certs)?;
    let certificates = CertificateFigures {
        active: row.try_get(0)?,
        expiring_60: row.try_get(1)?,
        expired: row.try_get(2)?,
        revoked: row.try_get(3)?,
        issued: row.try_get(4)?,
        renewed: row.try_get(5)?,
        revoked_in_period: row.try_get(6)?,
    };
    let row = one(devices)?;
    let devices = DeviceFigures {
        issued: row.try_get(0)?,
        locked: row.try_get(1)?,
        recovered: row.try_get(2)?,
        lost: row.try_get(3)?,
        returned: row.try_get(4)?,
    };
    let mut by_kind = Vec::new();
    for kind in RequestKind::ALL {
        let found = requests
            .iter()
            .find(|r| r.try_get::<String, _>(0).is_ok_and(|k| k == kind.as_str()));
        let n = |i: usize| -> Result<i64> {
            Ok(match found {
                Some(r) => r.try_get(i)?,
                None => 0,
            })
        };
        by_kind.push(RequestFigures {
            kind,
            created: n(1)?,
            done: n(2)?,
            refused: n(3)?,
            open: n(4)?,
            on_time: n(5)?,
            late: n(6)?,
        });
    }
    let row = one(documents)?;
    let (signed, sealed, issued): (i64, i64, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let received: i64 = one(received)?.try_get(0)?;
    let mut refusal_reasons = reasons
        .iter()
        .map(|r| {
            Ok(ReasonCount {
                reason: r.try_get(0)?,
                count: r.try_get(1)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    refusal_reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    Ok(Figures {
        certificates,
        devices,
        requests: by_kind,
        documents: DocumentFigures {
            signed,
            sealed,
            issued,
            received,
            refused: refusal_reasons.iter().map(|r| r.count).sum(),
            refusal_reasons,
        },
    })
}

/// The reporting agency `agency_id` of the actor's reach for `p` (one directly under a
/// province).
async fn reporting_agency(
    store: &Store,
    actor: &Actor,
    agency_id: i64,
    p: Permission,
) -> Result<crate::registry::Agency> {
    let a = crate::registry::agency(store, actor, agency_id, p).await?;
    let parent_is_root = match a.parent_id {
        Some(pid) => {
            let pp: Option<i64> =
                sqlx::query_scalar("SELECT parent_id FROM agencies WHERE id = $1")
                    .bind(pid)
                    .fetch_one(store.pool())
                    .await?;
            pp.is_none()
        }
        None => false,
    };
    if !parent_is_root {
        return Err(Error::invalid(
            "agency_id",
            format!(
                "{} không phải cơ quan báo cáo: báo cáo do cơ quan trực thuộc tỉnh lập cho cả các \
                 đơn vị trực thuộc.",
                a.name
            ),
            format!(
                "{} does not report: the agencies directly under the province report for their \
                 units too.",
                a.name
            ),
        ));
    }
    Ok(a)
}

/// An agency's report of a period: as submitted, or its draft with the figures computed now.
pub async fn agency_report(
    store: &Store,
    actor: &Actor,
    period_id: i64,
    agency_id: i64,
) -> Result<AgencyReport> {
    let period = report_period(store, actor, period_id).await?;
    let a = reporting_agency(store, actor, agency_id, Permission::ReadRegistry).await?;
    let row = sqlx::query(
        "SELECT state, comments, needs, answers, figures, submitted_by, submitted_at \
         FROM agency_reports WHERE period_id = $1 AND agency_id = $2",
    )
    .bind(period_id)
    .bind(agency_id)
    .fetch_optional(store.pool())
    .await?;
    let mut report = AgencyReport {
        period_id,
        agency_id,
        agency_name: a.name.clone(),
        agency_code: a.code.clone(),
        state: ReportState::Draft,
        figures: Figures::default(),
        comments: String::new(),
        needs: Needs::default(),
        answers: String::new(),
        submitted_by: None,
        submitted_at: None,
        document: None,
    };
    let mut stored = None;
    if let Some(row) = row {
        let state: String = row.try_get(0)?;
        report.state = ReportState::parse(&state).map_err(|_| corrupt())?;
        report.comments = row.try_get(1)?;
        let needs: String = row.try_get(2)?;
        report.needs = serde_json::from_str(&needs).map_err(|_| corrupt())?;
        report.answers = row.try_get(3)?;
        let figures: Option<String> = row.try_get(4)?;
        stored = figures;
        report.submitted_by = row.try_get(5)?;
        let at: Option<i64> = row.try_get(6)?;
        report.submitted_at = at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    }
    let mut conn = store.pool().acquire().await?;
    report.figures = match (report.state, stored) {
        (ReportState::Submitted, Some(f)) => serde_json::from_str(&f).map_err(|_| corrupt())?,
        _ => figures(&mut conn, &a.path, &period.period()?).await?,
    };
    report.document = newest_document(&mut conn, period_id, agency_id).await?;
    Ok(report)
}

/// The officer's text checked: comments and answers as text, needs within range.
fn checked(input: &ReportInput) -> Result<(String, String, String)> {
    let comments = crate::registry::text("comments", &input.comments, false)?;
    let answers = crate::registry::text("answers", &input.answers, false)?;
    if let Some(field) = input.needs.out_of_range() {
        return Err(Error::invalid(
            field,
            format!(
                "Nhu cầu là một số từ 0 đến {}.",
                kyso_domain::reports::MAX_NEED
            ),
            format!(
                "A need is a number from 0 to {}.",
                kyso_domain::reports::MAX_NEED
            ),
        ));
    }
    let mut needs = input.needs.clone();
    needs.note = crate::registry::text("note", &needs.note, false)?;
    let needs = serde_json::to_string(&needs).map_err(|_| corrupt())?;
    Ok((comments, needs, answers))
}

/// Save the officer's draft (comments, needs, answers), or submit it (`submit`): then the
/// figures computed inside the same transaction are stored with the report and it no longer
/// changes. A submitted report is not submitted again.
pub async fn save_report(
    store: &Store,
    actor: &Actor,
    period_id: i64,
    agency_id: i64,
    input: &ReportInput,
    submit: bool,
    now: OffsetDateTime,
) -> Result<AgencyReport> {
    let period = report_period(store, actor, period_id).await?;
    let a = reporting_agency(store, actor, agency_id, Permission::WriteRegistry).await?;
    let (comments, needs, answers) = checked(input)?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::WriteRegistry, &a.path))
        .await?;
    let state: Option<String> = sqlx::query_scalar(
        "SELECT state FROM agency_reports WHERE period_id = $1 AND agency_id = $2",
    )
    .bind(period_id)
    .bind(agency_id)
    .fetch_optional(tx.conn())
    .await?;
    if state.as_deref() == Some(ReportState::Submitted.as_str()) {
        return Err(Error::conflict(
            "state",
            "Báo cáo này đã được gửi; số liệu đã gửi không thay đổi.",
            "This report has been submitted; its figures no longer change.",
        ));
    }
    let (new_state, figures_json) = if submit {
        let f = figures(tx.conn(), &a.path, &period.period()?).await?;
        (
            ReportState::Submitted,
            Some(serde_json::to_string(&f).map_err(|_| corrupt())?),
        )
    } else {
        (ReportState::Draft, None)
    };
    let t = now.unix_timestamp();
    let who = submit.then(|| actor.username.clone());
    let at = submit.then_some(t);
    if state.is_some() {
        sqlx::query(
            "UPDATE agency_reports SET state = $1, comments = $2, needs = $3, answers = $4, \
             figures = $5, submitted_by = $6, submitted_at = $7, updated_at = $8 \
             WHERE period_id = $9 AND agency_id = $10",
        )
        .bind(new_state.as_str())
        .bind(&comments)
        .bind(&needs)
        .bind(&answers)
        .bind(&figures_json)
        .bind(&who)
        .bind(at)
        .bind(t)
        .bind(period_id)
        .bind(agency_id)
        .execute(tx.conn())
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO agency_reports (period_id, agency_id, state, comments, needs, answers, \
             figures, submitted_by, submitted_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(period_id)
        .bind(agency_id)
        .bind(new_state.as_str())
        .bind(&comments)
        .bind(&needs)
        .bind(&answers)
        .bind(&figures_json)
        .bind(&who)
        .bind(at)
        .bind(t)
        .execute(tx.conn())
        .await?;
    }
    tx.commit_audited(
        Event {
            action: if submit {
                "report.submit"
            } else {
                "report.save"
            },
            object: format!("report_period:{period_id}"),
            agency: Some(a.code.clone()),
            detail: json!({"title": period.title, "agency": a.name}),
        },
        now,
    )
    .await?;
    agency_report(store, actor, period_id, agency_id).await
}

/// Remind the reporting agencies that have not submitted (the Department): each one's
/// signature officers get a notice in their inbox (e-mailed like any notice) linking to the
/// report; an agency without an officer is named in the answer instead. Returns the notices
/// written and the agencies nobody could be told of.
pub async fn remind_late(
    store: &Store,
    actor: &Actor,
    period_id: i64,
    now: OffsetDateTime,
) -> Result<(usize, Vec<String>)> {
    actor.may(On::Registry)?;
    let period = report_period(store, actor, period_id).await?;
    let late: Vec<Standing> = standings(store, actor, period_id)
        .await?
        .into_iter()
        .filter(|s| s.state != ReportState::Submitted)
        .collect();
    let mut tx = store.begin_write(actor, On::Registry).await?;
    let mut written = 0;
    let mut nobody = Vec::new();
    let due = iso_day_text(&period.due_day);
    for s in &late {
        let officers: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id \
             WHERE r.agency_id = $1 AND r.role = $2 AND u.disabled = 0 ORDER BY r.user_id",
        )
        .bind(s.agency_id)
        .bind(kyso_domain::roles::Role::SignatureOfficer.as_str())
        .fetch_all(tx.conn())
        .await?;
        if officers.is_empty() {
            nobody.push(s.agency_name.clone());
            continue;
        }
        let link = format!("/agencies/{}/report?period_id={period_id}", s.agency_id);
        let subject = format!(
            "Nhắc gửi {} của {} (hạn {due})",
            period.title, s.agency_name
        );
        let subject_en = format!(
            "Reminder: {} of {} (due {due})",
            period.title_en, s.agency_name
        );
        let body = format!(
            "{subject}.\nSở đề nghị {} rà soát số liệu, ghi nhận xét và nhu cầu năm sau rồi gửi \
             báo cáo: {link}{}{subject_en}.\n{} is asked to review its figures, add its \
             comments and next year's needs, and submit the report: {link}",
            s.agency_name,
            crate::notices::BODY_SEPARATOR,
            s.agency_name
        );
        for user in officers {
            sqlx::query(
                "INSERT INTO notices (user_id, kind, event, link, subject, subject_en, body, \
                 created_at) VALUES ($1, 'report', 'remind', $2, $3, $4, $5, $6)",
            )
            .bind(user)
            .bind(&link)
            .bind(&subject)
            .bind(&subject_en)
            .bind(&body)
            .bind(now.unix_timestamp())
            .execute(tx.conn())
            .await?;
            written += 1;
        }
    }
    tx.commit_audited(
        Event {
            action: "report.remind",
            object: format!("report_period:{period_id}"),
            agency: None,
            detail: json!({"title": period.title, "count": written, "agencies": nobody}),
        },
        now,
    )
    .await?;
    Ok((written, nobody))
}

/// The period's consolidated workbook: one row per reporting agency (the figures of the
/// reports submitted; the others marked not submitted), the province's total, and a native
/// Excel chart of the certificates valid at the end of the period by agency.
pub async fn period_workbook(store: &Store, actor: &Actor, period_id: i64) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Chart, ChartType, Format, Workbook};
    let period = report_period(store, actor, period_id).await?;
    let all = consolidated(store, actor, period_id).await?;
    let fail =
        |e: rust_xlsxwriter::XlsxError| Error::Database(sqlx::Error::Protocol(e.to_string()));
    let header = [
        "Cơ quan",
        "Mã định danh",
        "Trạng thái",
        "Chứng thư còn hiệu lực",
        "Sắp hết hạn (60 ngày)",
        "Cấp mới trong kỳ",
        "Gia hạn trong kỳ",
        "Thu hồi trong kỳ",
        "Thiết bị bàn giao",
        "Thiết bị báo mất",
        "Đề nghị hoàn thành",
        "Đúng hạn",
        "Quá hạn",
        "Văn bản ký số cá nhân",
        "Văn bản đi phát hành",
        "Văn bản đến",
        "Văn bản đến bị từ chối",
        "Nhu cầu chứng thư cá nhân",
        "Nhu cầu thiết bị",
    ];
    let row_of = |f: &Figures, n: &Needs| -> [i64; 16] {
        let t = f.requests_total();
        [
            f.certificates.active,
            f.certificates.expiring_60,
            f.certificates.issued,
            f.certificates.renewed,
            f.certificates.revoked_in_period,
            f.devices.issued,
            f.devices.lost,
            t.done,
            t.on_time,
            t.late,
            f.documents.signed,
            f.documents.issued,
            f.documents.received,
            f.documents.refused,
            n.individual_certificates,
            n.devices,
        ]
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name("Tổng hợp").map_err(fail)?;
    ws.write_string_with_format(0, 0, &period.title, &bold)
        .map_err(fail)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, *h, &bold)
            .map_err(fail)?;
    }
    let mut row = 3u32;
    for s in &all.standing {
        let r = all.submitted.iter().find(|r| r.agency_id == s.agency_id);
        ws.write_string(row, 0, &s.agency_name).map_err(fail)?;
        ws.write_string(row, 1, &s.agency_code).map_err(fail)?;
        ws.write_string(row, 2, s.state.label_vi()).map_err(fail)?;
        if let Some(r) = r {
            for (i, v) in row_of(&r.figures, &r.needs).iter().enumerate() {
                ws.write_number(row, 3 + i as u16, *v as f64)
                    .map_err(fail)?;
            }
        }
        row += 1;
    }
    let (total, needs) = (&all.figures, &all.needs);
    ws.write_string_with_format(row, 0, "Toàn tỉnh (các báo cáo đã gửi)", &bold)
        .map_err(fail)?;
    for (i, v) in row_of(total, needs).iter().enumerate() {
        ws.write_number_with_format(row, 3 + i as u16, *v as f64, &bold)
            .map_err(fail)?;
    }
    ws.set_freeze_panes(3, 1).map_err(fail)?;
    ws.autofit();
    if !all.standing.is_empty() {
        let last = row - 1;
        let mut chart = Chart::new(ChartType::Bar);
        chart
            .add_series()
            .set_name("Chứng thư còn hiệu lực")
            .set_categories(("Tổng hợp", 3, 0, last, 0))
            .set_values(("Tổng hợp", 3, 3, last, 3));
        chart
            .title()
            .set_name("Chứng thư số còn hiệu lực cuối kỳ theo cơ quan");
        chart.legend().set_hidden();
        ws.insert_chart(row + 2, 0, &chart).map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlined_queries_write_every_value_in_place_and_quote_text() {
        let values: Vec<Value> = (1..=10)
            .map(Value::Int)
            .chain([Value::Text("/1/2/%'".into())])
            .collect();
        assert_eq!(
            inlined("a = $1 AND b = $10 AND c LIKE $11", &values),
            "a = 1 AND b = 10 AND c LIKE '/1/2/%'''"
        );
        let period = Period::six_monthly(2026, 1).unwrap();
        let queries = figure_queries("/1/", &period);
        assert_eq!(queries.len(), 6);
        for (q, v) in &queries {
            assert!(!inlined(q, v).contains('$'), "{q}");
        }
    }
}
