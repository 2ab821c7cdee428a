//! The statements of one write, sent as one round trip on PostgreSQL and one after the other on
//! SQLite (BENCHMARKS.md, issue 17).
//!
//! A writer holds the store's write lock ([`crate::Store::begin_write`]) from its first
//! statement to its last, so every round trip to a PostgreSQL server inside the lock is time
//! every other writer waits. A [`Batch`] collects a write's INSERTs and UPDATEs — each with its
//! own `$1…` placeholders and the value each row it writes gives back — and its audit entry,
//! and runs them:
//! - on PostgreSQL as one statement, each part a data-modifying `WITH` of it (they all see the
//!   database as it was before the statement and run to completion; a statement is atomic, and
//!   the writer's savepoint or transaction undoes it with the rest if a check fails after it);
//! - on SQLite, which has no data-modifying `WITH`, the same parts one after the other (a
//!   round trip there is a function call), stopping at the first part whose check fails.
//!
//! What the parts return is checked in the parts' order on both engines ([`Part::expect`]),
//! so a refusal is the same on both. The audit entry's chain value is computed before the
//! statement from the values the writer expects (a version's sequence number, how many notices
//! the enabled accounts get); the entry is written only if those [`Gate`]s hold, checked by the
//! statement itself, and otherwise appended after it from what was really written
//! ([`Ran::audited`]): an entry never says other than what its write did.

use sqlx::Row as _;

use crate::{Error, Result, WriteTx};

/// A value bound to a part's placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    OptI64(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_owned))
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

pub(crate) fn bind_all<'q>(mut q: Query<'q>, args: &'q [Arg]) -> Query<'q> {
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(*v),
            Arg::OptI64(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
            Arg::OptText(v) => q.bind(v.as_deref()),
        };
    }
    q
}

/// One INSERT or UPDATE of a write (without `RETURNING`).
#[derive(Debug)]
pub(crate) struct Part {
    sql: String,
    args: Vec<Arg>,
    /// The value each row written gives back (`1` to count rows, or a column).
    returning: &'static str,
    /// The number of rows the part must write, and the refusal if it does not.
    expect: Option<(u64, Error)>,
    /// A unique violation on this table is this conflict (field, vi, en).
    unique: Option<(&'static str, &'static str, String, String)>,
}

impl Part {
    /// `sql` with its own placeholders `$1…$n`, bound to `args` in order.
    pub(crate) fn new(sql: impl Into<String>, args: Vec<Arg>) -> Part {
        Part {
            sql: sql.into(),
            args,
            returning: "1",
            expect: None,
            unique: None,
        }
    }

    /// Give back `column` of the row written (e.g. a sequence number read in the INSERT).
    pub(crate) fn returning(mut self, column: &'static str) -> Part {
        self.returning = column;
        self
    }

    /// Refuse the write with `refusal` unless exactly `rows` rows were written.
    pub(crate) fn expect(mut self, rows: u64, refusal: Error) -> Part {
        self.expect = Some((rows, refusal));
        self
    }

    /// A unique violation of `table` (this part's) is the conflict `field`, `vi`, `en`.
    pub(crate) fn unique(
        mut self,
        table: &'static str,
        field: &'static str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Part {
        self.unique = Some((table, field, vi.into(), en.into()));
        self
    }

    /// Run this part alone: how many rows it wrote and the largest value they gave back.
    pub(crate) async fn run(self, tx: &mut WriteTx) -> Result<(u64, i64)> {
        let sql = format!("{} RETURNING {}", self.sql, self.returning);
        let rows = bind_all(sqlx::query(&sql), &self.args)
            .fetch_all(tx.conn())
            .await
            .map_err(|e| unique_of(e, std::slice::from_ref(&self)))?;
        let mut value = 0;
        for r in &rows {
            value = value.max(r.try_get::<i64, _>(0)?);
        }
        let n = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        check(self.expect, n)?;
        Ok((n, value))
    }
}

fn check(expect: Option<(u64, Error)>, rows: u64) -> Result<()> {
    match expect {
        Some((want, refusal)) if want != rows => Err(refusal),
        _ => Ok(()),
    }
}

/// A unique violation mapped to the conflict of the part writing the table it happened on
/// (the only such part when the engine does not say the table).
fn unique_of(e: sqlx::Error, parts: &[Part]) -> Error {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            let mine: Vec<_> = parts.iter().filter_map(|p| p.unique.as_ref()).collect();
            let hit = match d.table() {
                Some(t) => mine.iter().find(|u| u.0 == t),
                None if mine.len() == 1 => mine.first(),
                None => None,
            };
            if let Some((_, field, vi, en)) = hit {
                return Error::conflict(field, vi.as_str(), en.as_str());
            }
        }
    }
    Error::Database(e)
}

/// Which part of a batch ([`Batch::push`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartId(usize);

/// A condition the audit entry was computed on.
#[derive(Debug, Clone)]
pub(crate) enum Gate {
    /// The parts together wrote this many rows.
    Rows(Vec<PartId>, i64),
    /// The part gave back this value (its largest).
    Value(PartId, i64),
}

/// The statements of a write, and the audit entry to go with them ([`WriteTx::run_audited`]).
#[derive(Debug, Default)]
pub(crate) struct Batch {
    parts: Vec<Part>,
}

/// What a batch wrote.
#[derive(Debug)]
pub(crate) struct Ran {
    /// Per part: rows written, the largest value they gave back (0 if none).
    values: Vec<(u64, i64)>,
    /// Whether its audit entry was written (its gates held).
    pub(crate) audited: bool,
}

impl Ran {
    /// Rows written by the parts together.
    pub(crate) fn rows(&self, ids: &[PartId]) -> u64 {
        ids.iter()
            .filter_map(|id| self.values.get(id.0))
            .map(|v| v.0)
            .sum()
    }

    /// The largest value the part gave back.
    pub(crate) fn value(&self, id: PartId) -> i64 {
        self.values.get(id.0).map_or(0, |v| v.1)
    }
}

/// `sql` with each placeholder `$n` renumbered `$(n + by)`.
fn shift(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

impl Batch {
    pub(crate) fn push(&mut self, part: Part) -> PartId {
        self.parts.push(part);
        PartId(self.parts.len() - 1)
    }

    /// The parts' statements and then `audit` (an INSERT of `columns` from `args`, written if
    /// `gates` hold): one statement on PostgreSQL, one after the other elsewhere.
    pub(crate) async fn run(
        self,
        tx: &mut WriteTx,
        audit: (&'static str, &'static str, Vec<Arg>),
        gates: &[Gate],
    ) -> Result<Ran> {
        if tx.conn().backend_name() == "PostgreSQL" {
            self.run_together(tx, audit, gates).await
        } else {
            self.run_in_turn(tx, audit, gates).await
        }
    }

    async fn run_in_turn(
        self,
        tx: &mut WriteTx,
        (table, columns, args): (&'static str, &'static str, Vec<Arg>),
        gates: &[Gate],
    ) -> Result<Ran> {
        let mut values = Vec::with_capacity(self.parts.len());
        for part in self.parts {
            values.push(part.run(tx).await?);
        }
        let mut ran = Ran {
            values,
            audited: false,
        };
        let hold = gates.iter().all(|g| match g {
            Gate::Rows(ids, n) => i64::try_from(ran.rows(ids)).ok() == Some(*n),
            Gate::Value(id, v) => ran.value(*id) == *v,
        });
        if hold {
            let marks: Vec<String> = (1..=args.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "INSERT INTO {table} ({columns}) VALUES ({})",
                marks.join(", ")
            );
            bind_all(sqlx::query(&sql), &args)
                .execute(tx.conn())
                .await?;
            ran.audited = true;
        }
        Ok(ran)
    }

    async fn run_together(
        self,
        tx: &mut WriteTx,
        (table, columns, audit_args): (&'static str, &'static str, Vec<Arg>),
        gates: &[Gate],
    ) -> Result<Ran> {
        let mut sql = String::from("WITH ");
        let mut args: Vec<Arg> = Vec::new();
        for (i, p) in self.parts.iter().enumerate() {
            sql.push_str(&format!(
                "p{i} AS ({} RETURNING CAST({} AS BIGINT) AS v), ",
                shift(&p.sql, args.len()),
                p.returning
            ));
            args.extend(p.args.iter().cloned());
        }
        let marks: Vec<String> = (1..=audit_args.len())
            .map(|i| format!("${}", i + args.len()))
            .collect();
        args.extend(audit_args);
        let mut conditions = Vec::new();
        for g in gates {
            args.push(Arg::I64(match g {
                Gate::Rows(_, n) | Gate::Value(_, n) => *n,
            }));
            let left = match g {
                Gate::Rows(ids, _) if ids.is_empty() => "0".to_owned(),
                Gate::Rows(ids, _) => ids
                    .iter()
                    .map(|id| format!("(SELECT count(*) FROM p{})", id.0))
                    .collect::<Vec<_>>()
                    .join(" + "),
                Gate::Value(id, _) => format!("(SELECT COALESCE(max(v), 0) FROM p{})", id.0),
            };
            conditions.push(format!("{left} = ${}", args.len()));
        }
        let gate = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        sql.push_str(&format!(
            "pa AS (INSERT INTO {table} ({columns}) SELECT {}{gate} RETURNING 1) SELECT ",
            marks.join(", ")
        ));
        for i in 0..self.parts.len() {
            sql.push_str(&format!(
                "(SELECT count(*) FROM p{i}), (SELECT COALESCE(max(v), 0) FROM p{i}), "
            ));
        }
        sql.push_str("(SELECT count(*) FROM pa)");
        let row = bind_all(sqlx::query(&sql), &args)
            .fetch_one(tx.conn())
            .await
            .map_err(|e| unique_of(e, &self.parts))?;
        let mut values = Vec::with_capacity(self.parts.len());
        for (i, part) in self.parts.into_iter().enumerate() {
            let rows = u64::try_from(row.try_get::<i64, _>(2 * i)?).unwrap_or(0);
            let value: i64 = row.try_get(2 * i + 1)?;
            check(part.expect, rows)?;
            values.push((rows, value));
        }
        let audited: i64 = row.try_get(2 * values.len())?;
        Ok(Ran {
            values,
            audited: audited == 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::shift;

    #[test]
    fn placeholders_are_renumbered_whole() {
        assert_eq!(
            shift("UPDATE t SET a = $1, b = $10 WHERE c = $2 AND d = 'x$'", 9),
            "UPDATE t SET a = $10, b = $19 WHERE c = $11 AND d = 'x$'"
        );
        assert_eq!(shift("SELECT $1", 0), "SELECT $1");
    }
}
