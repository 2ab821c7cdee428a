//! The word index behind registry search.
//!
//! A substring `LIKE` over every name reads the whole table for each search, which at province
//! size (50,000 subscribers, 60,000 certificates) costs more than the search's time budget
//! (BENCHMARKS.md, issue 6). So each subscriber and certificate keeps its search words
//! ([`kyso_domain::text::words`] of the name, ID number and email; of the subject, serial and
//! holder's name) in `subscriber_words` / `certificate_words`, and a query word finds the rows
//! holding a word that begins with it through one range of the primary key `(word, id)`.
//! The rule answered is [`kyso_domain::text::matches`]; one SQL text serves both engines
//! (migration 5 gives PostgreSQL's column the code-point collation SQLite compares with).
//!
//! A search over the whole province is driven by its rarest word — counted in the index first,
//! up to [`COUNT_CAP`] — whose rows are read once; each other word is checked per row through
//! the `(id, word)` index before the row itself is read. A search inside a subtree reads the
//! subtree's rows and checks every word on each. A word that no row holds ends the search
//! before it starts.
//!
//! The store writes the words in the transaction that writes the row ([`index_subscriber`],
//! [`index_certificate`]); [`reindex_all`] rebuilds both tables (migration 5, bulk loads).

use kyso_domain::text::{prefix_end, query_words, words};
use sqlx::{AnyConnection, Row as _};

use crate::{Result, Store};

/// Counting a word's rows stops here: beyond it, a word is common, whatever its exact count.
pub(crate) const COUNT_CAP: i64 = 10_000;
/// Rows per multi-row `INSERT` (two parameters each).
const BATCH: usize = 400;

/// The two word indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    Subscribers,
    Certificates,
}

impl Index {
    fn table(self) -> &'static str {
        match self {
            Index::Subscribers => "subscriber_words",
            Index::Certificates => "certificate_words",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Index::Subscribers => "subscriber_id",
            Index::Certificates => "certificate_id",
        }
    }

    /// `SELECT id, text` of the rows whose words this index holds; a `WHERE` may follow.
    fn source(self) -> &'static str {
        match self {
            Index::Subscribers => {
                "SELECT s.id, s.name_fold || ' ' || s.id_number || ' ' || s.email \
                 FROM subscribers s"
            }
            Index::Certificates => {
                "SELECT c.id, c.subject_fold || ' ' || c.serial || ' ' || \
                 COALESCE(s.name_fold, '') \
                 FROM certificates c LEFT JOIN subscribers s ON s.id = c.subscriber_id"
            }
        }
    }
}

/// Write the words of subscriber `id`, and of their certificates (which hold the holder's
/// name), after the subscriber was created or changed.
pub(crate) async fn index_subscriber(conn: &mut AnyConnection, id: i64) -> Result<()> {
    reindex(
        conn,
        Index::Subscribers,
        &format!("{} WHERE s.id = $1", Index::Subscribers.source()),
        id,
    )
    .await?;
    reindex(
        conn,
        Index::Certificates,
        &format!(
            "{} WHERE c.subscriber_id = $1",
            Index::Certificates.source()
        ),
        id,
    )
    .await
}

/// Write the words of certificate `id` after it was stored.
pub(crate) async fn index_certificate(conn: &mut AnyConnection, id: i64) -> Result<()> {
    reindex(
        conn,
        Index::Certificates,
        &format!("{} WHERE c.id = $1", Index::Certificates.source()),
        id,
    )
    .await
}

/// Rebuild both word indexes from the rows stored (inside the caller's transaction).
pub async fn reindex_all(conn: &mut AnyConnection) -> Result<()> {
    for index in [Index::Subscribers, Index::Certificates] {
        sqlx::query(&format!("DELETE FROM {}", index.table()))
            .execute(&mut *conn)
            .await?;
        let rows = sqlx::query(index.source()).fetch_all(&mut *conn).await?;
        let mut pending = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let text: String = row.try_get(1)?;
            pending.extend(words(&text).into_iter().map(|w| (w, id)));
        }
        insert(conn, index, &pending).await?;
    }
    Ok(())
}

/// Replace the words of the rows `select` (a [`Index::source`] with a `WHERE` on `$1`) finds.
async fn reindex(conn: &mut AnyConnection, index: Index, select: &str, key: i64) -> Result<()> {
    let rows = sqlx::query(select).bind(key).fetch_all(&mut *conn).await?;
    let mut pending = Vec::new();
    for row in &rows {
        let id: i64 = row.try_get(0)?;
        let text: String = row.try_get(1)?;
        sqlx::query(&format!(
            "DELETE FROM {} WHERE {} = $1",
            index.table(),
            index.id()
        ))
        .bind(id)
        .execute(&mut *conn)
        .await?;
        pending.extend(words(&text).into_iter().map(|w| (w, id)));
    }
    insert(conn, index, &pending).await
}

async fn insert(conn: &mut AnyConnection, index: Index, rows: &[(String, i64)]) -> Result<()> {
    for chunk in rows.chunks(BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO {} (word, {}) VALUES {}",
            index.table(),
            index.id(),
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (word, id) in chunk {
            q = q.bind(word.clone()).bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A search query's words, ready for SQL: rarest first.
#[derive(Debug, Default)]
pub(crate) struct Words {
    /// `[from, to)` of each word: the index words that begin with it.
    ranges: Vec<(String, String)>,
    /// Some word begins no indexed word: nothing can match.
    pub none: bool,
}

impl Words {
    /// Look the words of `q` up in `index`: order them by how many rows hold them.
    pub(crate) async fn of(store: &Store, index: Index, q: &str) -> Result<Words> {
        let ranges: Vec<(String, String)> = query_words(q)
            .into_iter()
            .filter_map(|w| prefix_end(&w).map(|end| (w, end)))
            .collect();
        if ranges.len() < 2 {
            return Ok(Words {
                ranges,
                none: false,
            });
        }
        // Every word's count in one statement (one round trip, not one per word).
        let counts: Vec<String> = (0..ranges.len())
            .map(|i| {
                format!(
                    "(SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE word >= ${} AND word < ${} \
                     LIMIT {COUNT_CAP}) x{i})",
                    index.table(),
                    2 * i + 1,
                    2 * i + 2
                )
            })
            .collect();
        let sql = format!("SELECT {}", counts.join(", "));
        let row = ranges
            .iter()
            .fold(sqlx::query(&sql), |q, (from, to)| q.bind(from).bind(to))
            .fetch_one(store.pool())
            .await?;
        let mut counted = Vec::with_capacity(ranges.len());
        for (i, (from, to)) in ranges.iter().enumerate() {
            let n: i64 = row.try_get(i)?;
            if n == 0 {
                return Ok(Words {
                    ranges: Vec::new(),
                    none: true,
                });
            }
            counted.push((n, from.clone(), to.clone()));
        }
        counted.sort_by_key(|(n, _, _)| *n);
        Ok(Words {
            ranges: counted.into_iter().map(|(_, f, t)| (f, t)).collect(),
            none: false,
        })
    }

    /// The SQL that restricts `row` (the searched table's alias, e.g. `s`) to the rows holding
    /// every word, with parameters numbered from `$first`: a `FROM` prefix and `AND …`
    /// conditions. `driven`: the rarest word's rows are joined first (`… m CROSS JOIN `;
    /// `CROSS JOIN` keeps SQLite's planner from reordering it) and the other words are checked
    /// on `m` before the row itself is read — for searches over the whole province. Otherwise
    /// every word is checked on each row the rest of the query reads (a small subtree). Both
    /// empty without words.
    pub(crate) fn sql(
        &self,
        index: Index,
        row: &str,
        first: usize,
        driven: bool,
    ) -> (String, String) {
        let (table, id) = (index.table(), index.id());
        let mut from = String::new();
        let mut cond = String::new();
        let key = if driven && !self.ranges.is_empty() {
            "m.mid".to_owned()
        } else {
            format!("{row}.id")
        };
        for (i, _) in self.ranges.iter().enumerate() {
            let (lo, hi) = (first + 2 * i, first + 2 * i + 1);
            if i == 0 && driven {
                from = format!(
                    "(SELECT DISTINCT {id} AS mid FROM {table} WHERE word >= ${lo} AND word < ${hi}) m \
                     CROSS JOIN "
                );
            } else {
                cond.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM {table} w{i} WHERE w{i}.{id} = {key} \
                     AND w{i}.word >= ${lo} AND w{i}.word < ${hi})"
                ));
            }
        }
        if !from.is_empty() {
            cond.push_str(&format!(" AND {row}.id = m.mid"));
        }
        (from, cond)
    }

    /// The parameters of [`Words::sql`], in order.
    pub(crate) fn params(&self) -> impl Iterator<Item = &String> {
        self.ranges.iter().flat_map(|(lo, hi)| [lo, hi])
    }
}
