//! Versioned schema migrations, run at start.
//!
//! Each migration is one SQL text for both backends: `%ID%` becomes the backend's
//! auto-increment primary key, `%BLOB%` its byte-string type and `%C%` the collation that
//! compares text by code point (SQLite's default). The table `kyso_schema` holds
//! the version; a database whose version is newer than [`SCHEMA_VERSION`] is refused before
//! anything is touched, so an older kyso never writes into a newer schema. Each migration runs
//! in one transaction with its version bump (PostgreSQL and SQLite both have transactional
//! DDL), so an interrupted upgrade leaves the previous version intact.

use crate::{Backend, Error, Result, Store};

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_registry.sql"),
    include_str!("../migrations/0002_requests.sql"),
    include_str!("../migrations/0003_notices.sql"),
    include_str!("../migrations/0004_bench_indexes.sql"),
    include_str!("../migrations/0005_search_words.sql"),
    include_str!("../migrations/0006_documents.sql"),
    include_str!("../migrations/0007_document_notices.sql"),
    include_str!("../migrations/0008_attachments.sql"),
    include_str!("../migrations/0009_signing_tickets.sql"),
    include_str!("../migrations/0010_request_documents.sql"),
    include_str!("../migrations/0011_incoming.sql"),
    include_str!("../migrations/0012_signing_sessions.sql"),
    include_str!("../migrations/0013_copy_numbers.sql"),
    include_str!("../migrations/0014_outbox_sending.sql"),
    include_str!("../migrations/0015_exchange_followups.sql"),
    include_str!("../migrations/0016_incoming_copies.sql"),
    include_str!("../migrations/0017_copy_extracts.sql"),
    include_str!("../migrations/0018_name_sort.sql"),
    include_str!("../migrations/0019_subscriber_deactivation.sql"),
    include_str!("../migrations/0020_agency_dissolution.sql"),
    include_str!("../migrations/0021_reports.sql"),
    include_str!("../migrations/0022_report_documents.sql"),
    include_str!("../migrations/0023_report_indexes.sql"),
    include_str!("../migrations/0024_nodes.sql"),
    include_str!("../migrations/0025_archive.sql"),
];

/// The version whose migration also fills the word index from the rows already stored.
const WORDS_VERSION: i64 = 5;
/// The version whose migration also gives the subscribers already stored their sort key.
const NAME_SORT_VERSION: i64 = 18;
/// The version whose migration adds the subscribers' deactivation columns.
const DEACTIVATION_VERSION: i64 = 19;
/// The version whose migration adds the agencies' dissolution columns.
const DISSOLUTION_VERSION: i64 = 20;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) async fn run(store: &Store) -> Result<()> {
    let pool = store.pool();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS kyso_schema (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let target = i as i64 + 1;
        let mut tx = pool.begin().await?;
        // The version is read inside the transaction that would apply the step: two nodes
        // starting at once on PostgreSQL serialize on the row lock (FOR UPDATE is not SQLite
        // syntax; SQLite serializes writers anyway).
        let lock = match store.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let found: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT version FROM kyso_schema WHERE id = 1{lock}"
        ))
        .fetch_optional(&mut *tx)
        .await?;
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found >= target {
            continue;
        }
        for statement in statements(sql, store.backend()) {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        if target == WORDS_VERSION {
            crate::words::reindex_all(&mut tx).await?;
        }
        if target == NAME_SORT_VERSION {
            sort_all_names(&mut tx, store.backend()).await?;
        }
        if target == DEACTIVATION_VERSION {
            add_column(
                &mut tx,
                store.backend(),
                "subscribers",
                "deactivated_at",
                "BIGINT",
            )
            .await?;
            add_column(
                &mut tx,
                store.backend(),
                "subscribers",
                "deactivation_reason",
                "TEXT NOT NULL DEFAULT ''",
            )
            .await?;
        }
        if target == DISSOLUTION_VERSION {
            for (column, decl) in [
                ("dissolved_at", "BIGINT"),
                ("dissolution_reason", "TEXT NOT NULL DEFAULT ''"),
                ("successor_id", "BIGINT"),
            ] {
                add_column(&mut tx, store.backend(), "agencies", column, decl).await?;
            }
        }
        if found == 0 {
            sqlx::query("INSERT INTO kyso_schema (id, version) VALUES (1, $1)")
                .bind(target)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("UPDATE kyso_schema SET version = $1 WHERE id = 1")
                .bind(target)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Add `table.column` (declared `decl`) unless it is there already: a migration run again over
/// a database that has it (SQLite has no ADD COLUMN IF NOT EXISTS).
async fn add_column(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
    column: &str,
    decl: &str,
) -> Result<()> {
    let has = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = \
             current_schema() AND table_name = $1 AND column_name = $2"
        }
    };
    let present: i64 = sqlx::query_scalar(has)
        .bind(table)
        .bind(column)
        .fetch_one(&mut *conn)
        .await?;
    if present == 0 {
        sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The column `subscribers.name_sort` if it is missing, and every subscriber's sort key
/// ([`crate::registry::name_sort`]), inside the migration's transaction.
async fn sort_all_names(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<()> {
    use sqlx::Row as _;
    let collate = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " COLLATE \"C\"",
    };
    add_column(
        conn,
        backend,
        "subscribers",
        "name_sort",
        &format!("TEXT{collate} NOT NULL DEFAULT ''"),
    )
    .await?;
    let rows = sqlx::query("SELECT id, kind, name FROM subscribers")
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        let (id, kind, name): (i64, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        sqlx::query("UPDATE subscribers SET name_sort = $1 WHERE id = $2")
            .bind(crate::registry::name_sort(&kind, &name))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The schema version stored in the database.
pub(crate) async fn version(store: &Store) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT version FROM kyso_schema WHERE id = 1")
        .fetch_optional(store.pool())
        .await?;
    Ok(v.unwrap_or(0))
}

/// Split a migration into statements for `backend` (statements end with `;` at a line end;
/// `--` comments are dropped; a statement starting with `%SQLITE%` or `%PG%` is for that
/// engine only, e.g. a table rebuilt on SQLite and altered in place on PostgreSQL).
fn statements(sql: &str, backend: Backend) -> Vec<String> {
    let (id, blob, c) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY", "BLOB", ""),
        Backend::Postgres => (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "BYTEA",
            "COLLATE \"C\"",
        ),
    };
    let text: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("%ID%", id)
        .replace("%BLOB%", blob)
        .replace("%C%", c);
    let (own, other) = match backend {
        Backend::Sqlite => ("%SQLITE%", "%PG%"),
        Backend::Postgres => ("%PG%", "%SQLITE%"),
    };
    text.split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim())
        .filter(|s| !s.is_empty() && !s.starts_with(other))
        .map(|s| s.strip_prefix(own).unwrap_or(s).trim().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_text_gives_each_backend_its_types() {
        let sqlite = statements(MIGRATIONS[0], Backend::Sqlite);
        let pg = statements(MIGRATIONS[0], Backend::Postgres);
        assert_eq!(sqlite.len(), pg.len());
        assert!(sqlite.iter().any(|s| s.contains("id INTEGER PRIMARY KEY,")));
        assert!(pg
            .iter()
            .any(|s| s.contains("GENERATED BY DEFAULT AS IDENTITY")));
        assert!(pg.iter().any(|s| s.contains("der BYTEA NOT NULL")));
        assert!(sqlite
            .iter()
            .all(|s| !s.contains('%') && !s.starts_with("--")));
        let words = statements(MIGRATIONS[4], Backend::Postgres);
        assert!(words
            .iter()
            .any(|s| s.contains("word TEXT COLLATE \"C\" NOT NULL")));
        assert!(statements(MIGRATIONS[4], Backend::Sqlite)
            .iter()
            .all(|s| !s.contains('%') && !s.contains("COLLATE")));
    }

    #[test]
    fn engine_only_statements_run_on_their_engine() {
        let sql = "%SQLITE% CREATE TABLE a (x INTEGER);\n%PG% ALTER TABLE a\n  ADD y BIGINT;\nCREATE INDEX i ON a (x);\n";
        assert_eq!(
            statements(sql, Backend::Sqlite),
            ["CREATE TABLE a (x INTEGER)", "CREATE INDEX i ON a (x)"]
        );
        assert_eq!(
            statements(sql, Backend::Postgres),
            ["ALTER TABLE a\n  ADD y BIGINT", "CREATE INDEX i ON a (x)"]
        );
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for m in MIGRATIONS {
                assert!(statements(m, backend)
                    .iter()
                    .all(|s| !s.contains("%SQLITE%") && !s.contains("%PG%")));
            }
        }
    }
}
