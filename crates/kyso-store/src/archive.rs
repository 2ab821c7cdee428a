//! The archive (issue 19 item 2): every registered outgoing and incoming document filed as an
//! entry of its agency, with the metadata it is found by and the text of its PDF; dossiers
//! (hồ sơ) with their retention period; the search.
//!
//! Filing is queued: registering a document writes its `archive_queue` row in the registering
//! transaction, and the filing job ([`queued`], then [`file`] with the PDF's text, which the
//! store does not read itself) turns each row into an entry and its index row in one
//! transaction. A registration is never lost to a crash between the two, and a document is
//! filed once ((kind, source) is unique).
//!
//! The search runs on one text index per engine ([`search`]; ARCHITECTURE.md says why): words
//! per part (number and notation, subject, signer, other side and type, text) and *tags* (the
//! agencies above the entry's, its type, its month) that turn the role's scope and the filters
//! into index terms, so that a search inside one agency or one month reads that agency's or
//! that month's postings, not the province's. Results come newest filed first, a page at a
//! time (`after` the last id shown).

use kyso_domain::archive::{
    self as rules, entry_tags, DossierState, EntryKind, IndexedText, Query, Retention, TextState,
};
use kyso_domain::roles::Permission;
use serde::Serialize;
use serde_json::json;
use sqlx::{AnyConnection, Row as _};
use time::{Date, OffsetDateTime};

use crate::audit::Event;
use crate::{Actor, Backend, Error, On, Record, Result, Store};

mod package;
pub use package::{
    check_package, hand_over, package, Manifest, PackageCheck, PackagedDocument, PackagedFile,
};

/// A document registered and waiting to be filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfiled {
    pub kind: EntryKind,
    pub source_id: i64,
    /// The SHA-256 of the file to file (the newest version of an outgoing document, an incoming
    /// document's file): the filing job reads its text.
    pub sha256: String,
    /// Filing attempts that failed before.
    pub tries: i64,
}

/// What the filing job read of a PDF's text layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextLayer {
    Text(String),
    /// No text at all (a scan).
    None,
    /// The text could not be read, and why.
    Unreadable(String),
}

/// An entry as a search shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: EntryKind,
    /// The outgoing document's or the incoming document's id.
    pub source_id: i64,
    pub agency_id: i64,
    pub agency_name: String,
    /// The number as written (`15`, `07`); for an incoming document, the sender's.
    pub number: String,
    /// The number and notation (`15/QĐ-UBND`).
    pub notation: String,
    pub doc_type: String,
    pub subject: String,
    pub signer: String,
    /// The recipients of an outgoing document, the sender of an incoming one.
    pub counterpart: String,
    /// The document's date, `yyyy-mm-dd`.
    pub doc_date: String,
    pub dossier_id: Option<i64>,
    /// The dossier's code, when filed into one.
    pub dossier_code: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub text_state: TextState,
    #[serde(with = "time::serde::rfc3339")]
    pub filed_at: OffsetDateTime,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hits {
    pub entries: Vec<Entry>,
    /// The `after` of the next page, when there is one.
    pub next: Option<i64>,
}

/// A file kept with an entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchivedFile {
    /// Its place in the entry's list, from 1: the `n` of its download.
    pub n: usize,
    /// What it is ("Bản ký số cơ quan (phiên bản 4)", "Phụ lục 1", "Báo cáo kiểm tra chữ ký").
    pub label: String,
    pub label_en: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
}

/// One entry with its files.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryDetail {
    #[serde(flatten)]
    pub entry: Entry,
    /// The SHA-256 of the file filed (the signed document).
    pub sha256: String,
    /// Why the text could not be read, when it could not.
    pub text_note: String,
    pub files: Vec<ArchivedFile>,
    /// Whether the reader may file it into a dossier (keeps the agency's archive).
    pub keeps: bool,
}

/// A dossier.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dossier {
    pub id: i64,
    pub agency_id: i64,
    pub agency_name: String,
    pub year: i64,
    pub code: String,
    pub title: String,
    /// Years kept after the dossier closes; 0 for permanent.
    pub retention_years: i64,
    pub keeper: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: DossierState,
    pub note: String,
    /// The entries filed into it.
    pub entries: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

impl Dossier {
    pub fn retention(&self) -> Retention {
        Retention::from_years(self.retention_years)
    }
}

/// A new dossier, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewDossier {
    pub agency_id: i64,
    #[serde(default)]
    pub year: Option<i64>,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    /// `permanent` or a number of years (5, 10, 15, 20, 30, 50, 70).
    #[serde(default)]
    pub retention: String,
    #[serde(default)]
    pub note: String,
}

fn corrupt(what: &str) -> Error {
    Error::Database(sqlx::Error::Protocol(format!("archive: {what}")))
}

fn time_of(t: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|_| corrupt("time"))
}

// ---------------------------------------------------------------------------------------------
// Filing

/// Queue a registered document for filing (inside the registering transaction).
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    kind: EntryKind,
    source_id: i64,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO archive_queue (kind, source_id, queued_at) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, source_id) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(source_id)
    .bind(now.unix_timestamp())
    .execute(conn)
    .await?;
    Ok(())
}

/// The statement queueing a registered document, for a step's batch.
pub(crate) fn enqueue_part(
    kind: EntryKind,
    source_id: i64,
    now: OffsetDateTime,
) -> crate::batch::Part {
    crate::batch::Part::new(
        "INSERT INTO archive_queue (kind, source_id, queued_at) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, source_id) DO NOTHING",
        vec![
            kind.as_str().into(),
            source_id.into(),
            now.unix_timestamp().into(),
        ],
    )
}

/// Filing stops retrying a document after this many failures (it stays queued, counted in
/// [`queue_figures`], for an operator to see).
pub const MAX_TRIES: i64 = 5;

/// The oldest `limit` documents waiting to be filed, with the file each is filed with.
pub async fn queued(store: &Store, limit: i64) -> Result<Vec<Unfiled>> {
    let rows = sqlx::query(
        "SELECT q.kind, q.source_id, q.tries, \
           CASE q.kind WHEN 'incoming' THEN (SELECT i.sha256 FROM incoming_documents i \
                                             WHERE i.id = q.source_id) \
           ELSE (SELECT v.sha256 FROM document_versions v WHERE v.document_id = q.source_id \
                 ORDER BY v.seq DESC LIMIT 1) END \
         FROM archive_queue q WHERE q.tries < $1 ORDER BY q.queued_at, q.source_id LIMIT $2",
    )
    .bind(MAX_TRIES)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(0)?;
            Ok(Unfiled {
                kind: EntryKind::parse(&kind).map_err(|_| corrupt("queue kind"))?,
                source_id: r.try_get(1)?,
                tries: r.try_get(2)?,
                sha256: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
            })
        })
        .collect()
}

/// How many documents wait to be filed, and how many of them failed [`MAX_TRIES`] times.
pub async fn queue_figures(store: &Store) -> Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN tries >= $1 THEN 1 ELSE 0 END), 0) \
         FROM archive_queue",
    )
    .bind(MAX_TRIES)
    .fetch_one(store.pool())
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Count a failed attempt at filing `item` (its file unreadable from the blob store, say).
pub async fn filing_failed(store: &Store, item: &Unfiled, why: &str) -> Result<()> {
    tracing::warn!(
        kind = item.kind.as_str(),
        id = item.source_id,
        why,
        "filing failed"
    );
    sqlx::query("UPDATE archive_queue SET tries = tries + 1 WHERE kind = $1 AND source_id = $2")
        .bind(item.kind.as_str())
        .bind(item.source_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// What an entry is filed with, read from its document.
struct Filing {
    agency_id: i64,
    agency_path: String,
    agency_code: String,
    number: String,
    notation: String,
    doc_type: String,
    subject: String,
    signer: String,
    counterpart: String,
    doc_date: String,
    sha256: String,
    size: i64,
    file_name: String,
    /// Extra words of the code part (an incoming document's arrival number).
    code_extra: String,
}

async fn filing_of(conn: &mut AnyConnection, kind: EntryKind, id: i64) -> Result<Option<Filing>> {
    let row =
        match kind {
            EntryKind::Outgoing => sqlx::query(
                "SELECT d.agency_id, a.path, a.code, d.number, d.notation, d.doc_type, d.subject, \
                   COALESCE(u.full_name, ''), d.meta, COALESCE(d.issued_date, ''), \
                   v.sha256, v.size, v.file_name, '' \
                 FROM documents d JOIN agencies a ON a.id = d.agency_id \
                 LEFT JOIN users u ON u.id = d.signer_id \
                 JOIN document_versions v ON v.document_id = d.id \
                 WHERE d.id = $1 ORDER BY v.seq DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
            EntryKind::Incoming => sqlx::query(
                "SELECT i.agency_id, a.path, a.code, i.number, i.notation, i.doc_type, i.subject, \
                   i.signer, i.sender_name, i.doc_date, i.sha256, i.size, i.file_name, \
                   COALESCE(r.code, '') || ' ' || COALESCE(CAST(i.arrival_number AS TEXT), '') \
                 FROM incoming_documents i JOIN agencies a ON a.id = i.agency_id \
                 LEFT JOIN incoming_registers r ON r.id = i.register_id \
                 WHERE i.id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
        };
    let Some(r) = row else { return Ok(None) };
    let mut signer: Option<String> = None;
    let (number, notation, counterpart) = match kind {
        EntryKind::Outgoing => {
            let number: Option<i64> = r.try_get(3)?;
            let notation: Option<String> = r.try_get(4)?;
            let meta: String = r.try_get(8)?;
            let meta = serde_json::from_str::<serde_json::Value>(&meta).unwrap_or_default();
            let recipients = meta
                .get("recipients")
                .cloned()
                .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
                .unwrap_or_default();
            // The signer the document prints, else the account that signed.
            signer = meta
                .pointer("/signer/name")
                .and_then(|v| v.as_str())
                .filter(|n| !n.trim().is_empty())
                .map(str::to_owned);
            let number_text = number
                .and_then(|n| u32::try_from(n).ok())
                .map(kyso_domain::documents::number_text)
                .unwrap_or_default();
            let full = crate::documents::number_and_notation(number, notation.as_deref())
                .unwrap_or_default();
            (number_text, full, recipients.join("; "))
        }
        EntryKind::Incoming => {
            let number: String = r.try_get(3)?;
            let notation: String = r.try_get(4)?;
            let full = if notation.contains(&number) || number.is_empty() {
                notation
            } else {
                format!("{number}/{notation}")
            };
            (number, full, r.try_get(8)?)
        }
    };
    Ok(Some(Filing {
        agency_id: r.try_get(0)?,
        agency_path: r.try_get(1)?,
        agency_code: r.try_get(2)?,
        number,
        notation,
        doc_type: r.try_get(5)?,
        subject: r.try_get(6)?,
        signer: match signer {
            Some(s) => s,
            None => r.try_get(7)?,
        },
        counterpart,
        doc_date: r.try_get(9)?,
        sha256: r.try_get(10)?,
        size: r.try_get(11)?,
        file_name: r.try_get(12)?,
        code_extra: r.try_get(13)?,
    }))
}

fn iso_date(s: &str) -> Option<Date> {
    Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// A document type's stable name (`quyet_dinh`), also from its Vietnamese name as an incoming
/// document's sender wrote it ("Quyết định"); any other text as it is.
fn type_name(doc_type: &str) -> String {
    use kyso_domain::documents::meta::DocType;
    if let Ok(t) = DocType::parse(doc_type) {
        return t.as_str().to_owned();
    }
    let folded = kyso_domain::text::fold(doc_type);
    DocType::ALL
        .iter()
        .find(|t| kyso_domain::text::fold(t.label_vi()) == folded)
        .map_or_else(|| doc_type.trim().to_owned(), |t| t.as_str().to_owned())
}

/// The name of a document type as its readers write it (`quyet_dinh` → "Quyết định"); a free
/// text as it is.
fn type_label(doc_type: &str) -> String {
    kyso_domain::documents::meta::DocType::parse(doc_type)
        .map(|t| t.label_vi().to_owned())
        .unwrap_or_else(|_| doc_type.to_owned())
}

/// File `item` with the text read from its file: its entry and its index row, and its queue row
/// gone, in one transaction (audited). `None` when it was filed already or its document is gone.
pub async fn file(
    store: &Store,
    item: &Unfiled,
    text: &TextLayer,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    let dequeue = "DELETE FROM archive_queue WHERE kind = $1 AND source_id = $2";
    let filed: Option<i64> =
        sqlx::query_scalar("SELECT id FROM archive_entries WHERE kind = $1 AND source_id = $2")
            .bind(item.kind.as_str())
            .bind(item.source_id)
            .fetch_optional(tx.conn())
            .await?;
    let filing = match filed {
        Some(_) => None,
        None => filing_of(tx.conn(), item.kind, item.source_id).await?,
    };
    let Some(f) = filing else {
        sqlx::query(dequeue)
            .bind(item.kind.as_str())
            .bind(item.source_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        return Ok(None);
    };
    let (text_state, body, note) = match text {
        TextLayer::Text(t) if !t.trim().is_empty() => (TextState::Indexed, t.as_str(), ""),
        TextLayer::Text(_) | TextLayer::None => (TextState::NoText, "", ""),
        TextLayer::Unreadable(why) => (TextState::Unreadable, "", why.as_str()),
    };
    let id: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO archive_entries (kind, source_id, agency_id, agency_path, number, notation, \
           doc_type, subject, signer, counterpart, doc_date, sha256, size, file_name, text_state, \
           text_note, filed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         RETURNING id",
    )
    .bind(item.kind.as_str())
    .bind(item.source_id)
    .bind(f.agency_id)
    .bind(&f.agency_path)
    .bind(&f.number)
    .bind(&f.notation)
    .bind(type_name(&f.doc_type))
    .bind(&f.subject)
    .bind(&f.signer)
    .bind(&f.counterpart)
    .bind(&f.doc_date)
    .bind(&f.sha256)
    .bind(f.size)
    .bind(&f.file_name)
    .bind(text_state.as_str())
    .bind(note)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await;
    let id = match id {
        Ok(id) => id,
        // Filed meanwhile by another node's job: nothing to do (the transaction rolls back).
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let words = IndexedText::folded(
        &format!("{} {}", f.notation, f.code_extra),
        &f.subject,
        &f.signer,
        &format!("{} {}", f.counterpart, type_label(&f.doc_type)),
        body,
    );
    let tags = entry_tags(
        &f.agency_path,
        &type_name(&f.doc_type),
        iso_date(&f.doc_date),
    );
    index(tx.conn(), store.backend(), id, &words, &tags).await?;
    sqlx::query(dequeue)
        .bind(item.kind.as_str())
        .bind(item.source_id)
        .execute(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: "archive.file",
            object: format!("archive_entry:{id}"),
            agency: Some(f.agency_code),
            detail: json!({
                "kind": item.kind.as_str(),
                "document": item.source_id,
                "notation": f.notation,
                "sha256": f.sha256,
                "text": text_state.as_str(),
            }),
        },
        now,
    )
    .await?;
    Ok(Some(id))
}

/// A lexeme of a `tsvector`/`tsquery` literal (words hold letters and digits only; quoted anyway).
fn lexeme(w: &str) -> String {
    format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"))
}

/// The `tsvector` literal of the indexed words, each part with its weight (number and notation
/// A, subject and other side B, signer C, text D), positions counted across the parts.
fn weighted_vector(t: &IndexedText) -> String {
    let mut out = String::new();
    let mut pos = 0usize;
    for (part, weight) in [
        (&t.code, 'A'),
        (&t.subject, 'B'),
        (&t.meta, 'B'),
        (&t.signer, 'C'),
        (&t.body, 'D'),
    ] {
        for w in part.split(' ').filter(|w| !w.is_empty()) {
            pos = (pos + 1).min(16_383);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&lexeme(w));
            out.push(':');
            out.push_str(&pos.to_string());
            out.push(weight);
        }
    }
    out
}

/// Write entry `id`'s index row: its folded words `t` and its `tags` ([`entry_tags`]). Filing
/// calls it; so does a bulk load of generated entries (the archive benchmark's generator).
pub async fn index(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
    t: &IndexedText,
    tags: &[String],
) -> Result<()> {
    match backend {
        Backend::Sqlite => {
            sqlx::query(
                "INSERT INTO archive_text (rowid, code, subject, signer, meta, body, tags) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(&t.code)
            .bind(&t.subject)
            .bind(&t.signer)
            .bind(&t.meta)
            .bind(&t.body)
            .bind(tags.join(" "))
            .execute(conn)
            .await?;
        }
        Backend::Postgres => {
            let tags: Vec<String> = tags.iter().map(|t| lexeme(t)).collect();
            sqlx::query(
                "INSERT INTO archive_text (entry_id, words, tags) \
                 VALUES ($1, CAST($2 AS tsvector), CAST($3 AS tsvector))",
            )
            .bind(id)
            .bind(weighted_vector(t))
            .bind(tags.join(" "))
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Search

const ENTRY_COLUMNS: &str = "e.id, e.kind, e.source_id, e.agency_id, a.name, e.number, \
    e.notation, e.doc_type, e.subject, e.signer, e.counterpart, e.doc_date, e.dossier_id, \
    ds.code, e.text_state, e.filed_at";
const ENTRY_JOINS: &str =
    "JOIN agencies a ON a.id = e.agency_id LEFT JOIN dossiers ds ON ds.id = e.dossier_id";

fn entry_from(r: &sqlx::any::AnyRow) -> Result<Entry> {
    let kind: String = r.try_get(1)?;
    let text: String = r.try_get(14)?;
    Ok(Entry {
        id: r.try_get(0)?,
        kind: EntryKind::parse(&kind).map_err(|_| corrupt("kind"))?,
        source_id: r.try_get(2)?,
        agency_id: r.try_get(3)?,
        agency_name: r.try_get(4)?,
        number: r.try_get(5)?,
        notation: r.try_get(6)?,
        doc_type: r.try_get(7)?,
        subject: r.try_get(8)?,
        signer: r.try_get(9)?,
        counterpart: r.try_get(10)?,
        doc_date: r.try_get(11)?,
        dossier_id: r.try_get(12)?,
        dossier_code: r.try_get(13)?,
        text_state: TextState::parse(&text).map_err(|_| corrupt("text state"))?,
        filed_at: time_of(r.try_get(15)?)?,
    })
}

/// The most results a page holds.
pub const MAX_PAGE: i64 = 100;

/// PostgreSQL: a search matching fewer entries than this is read through its indexes and
/// sorted; one matching more walks the entries newest first ([`search_sql`]).
const PROBE: i64 = 5_000;

/// What a search asks of the text index: word conditions per part and tag conditions, each a
/// list of alternatives that must all hold.
#[derive(Debug, Default)]
struct Terms {
    /// (part or None for any part, word): every one must be a word of the entry (whole words:
    /// a prefix would make the engines gather every posting of every word it begins before the
    /// first row — BENCHMARKS.md "Issue 19").
    words: Vec<(Option<Part>, String)>,
    /// Each inner list: one of these tags must be there.
    tags: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Code,
    Signer,
}

impl Terms {
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.tags.is_empty()
    }

    /// An FTS5 `MATCH` expression: typed words restricted to the five text columns, tags to
    /// their own.
    fn fts5(&self) -> String {
        let quote = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
        let mut parts: Vec<String> = self
            .words
            .iter()
            .map(|(part, w)| {
                let cols = match part {
                    None => "{code subject signer meta body}",
                    Some(Part::Code) => "code",
                    Some(Part::Signer) => "signer",
                };
                format!("{cols} : {}", quote(w))
            })
            .collect();
        for any in &self.tags {
            let alts: Vec<String> = any.iter().map(|t| quote(t)).collect();
            parts.push(format!("tags : ({})", alts.join(" OR ")));
        }
        parts.join(" AND ")
    }

    /// The two `tsquery` literals (words, tags); empty where there is no condition.
    fn tsqueries(&self) -> (String, String) {
        let words: Vec<String> = self
            .words
            .iter()
            .map(|(part, w)| {
                let weights = match part {
                    None => "",
                    Some(Part::Code) => "A",
                    Some(Part::Signer) => "C",
                };
                if weights.is_empty() {
                    lexeme(w)
                } else {
                    format!("{}:{weights}", lexeme(w))
                }
            })
            .collect();
        let tags: Vec<String> = self
            .tags
            .iter()
            .map(|any| {
                let alts: Vec<String> = any.iter().map(|t| lexeme(t)).collect();
                format!("({})", alts.join(" | "))
            })
            .collect();
        (words.join(" & "), tags.join(" & "))
    }
}

/// Search the archive: the entries of the agencies where the actor may read it that match `q`,
/// newest filed first, at most `limit` (≤ [`MAX_PAGE`]).
pub async fn search(store: &Store, actor: &Actor, q: &Query, limit: i64) -> Result<Hits> {
    let limit = limit.clamp(1, MAX_PAGE);
    let (sql, args) = search_sql(store, actor, q, limit).await?;
    let mut query = sqlx::query(&sql);
    for a in &args {
        query = query.bind(a);
    }
    let rows = query.fetch_all(store.pool()).await?;
    let mut entries = rows.iter().map(entry_from).collect::<Result<Vec<_>>>()?;
    let next = if entries.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        entries.pop();
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Hits { entries, next })
}

/// The statement [`search`] runs for `q` (one row more than `limit`, to know whether a next
/// page exists) with its text parameters: for the benchmark's "database alone" peer.
pub async fn search_sql(
    store: &Store,
    actor: &Actor,
    q: &Query,
    limit: i64,
) -> Result<(String, Vec<String>)> {
    let scope = actor.scope(Permission::ReadArchive);
    if scope.is_empty() {
        return Err(Error::Forbidden);
    }
    let mut terms = Terms::default();
    terms
        .words
        .extend(q.words.iter().map(|w| (None, w.clone())));
    terms
        .words
        .extend(q.code.iter().map(|w| (Some(Part::Code), w.clone())));
    terms
        .words
        .extend(q.signer.iter().map(|w| (Some(Part::Signer), w.clone())));
    // The agencies searched: the one asked for (inside the scope), else the scope's subtrees
    // (no tag at all when the scope is the whole province).
    let paths: Vec<String> = match q.agency_id {
        Some(id) => {
            let a = crate::registry::agency(store, actor, id, Permission::ReadRegistry).await?;
            if !scope.contains(&a.path) {
                return Err(Error::NotFound {
                    what: Record::Agency,
                });
            }
            vec![a.path]
        }
        None if scope.is_whole_tree() => Vec::new(),
        None => scope.paths().to_vec(),
    };
    let agency_tags: Vec<String> = paths
        .iter()
        .filter_map(|p| rules::path_ids(p).last().copied())
        .map(rules::agency_tag)
        .collect();
    if !agency_tags.is_empty() {
        terms.tags.push(agency_tags);
    }
    if let Some(t) = &q.doc_type {
        terms.tags.push(vec![rules::type_tag(t)]);
    }
    if let Some(months) = rules::month_tags(q.from, q.to) {
        terms.tags.push(months);
    }
    // The exact conditions, checked on the entries.
    let mut cond: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut n = 1;
    let mut arg = |v: String, args: &mut Vec<String>| {
        args.push(v);
        n += 1;
        format!("${}", n - 1)
    };
    let match_arg = if terms.is_empty() {
        None
    } else {
        match store.backend() {
            Backend::Sqlite => Some(vec![arg(terms.fts5(), &mut args)]),
            Backend::Postgres => {
                let (w, t) = terms.tsqueries();
                let mut m = Vec::new();
                if !w.is_empty() {
                    m.push(format!("t.words @@ CAST({} AS tsquery)", arg(w, &mut args)));
                }
                if !t.is_empty() {
                    m.push(format!("t.tags @@ CAST({} AS tsquery)", arg(t, &mut args)));
                }
                Some(m)
            }
        }
    };
    if terms.is_empty() && !scope.is_whole_tree() {
        // Without tags (none asked) the scope is the paths' prefixes.
        let (sql, params) = scope.sql("e.agency_path", n);
        n += params.len();
        args.extend(params);
        cond.push(sql);
    }
    let mut arg = |v: String, args: &mut Vec<String>| {
        args.push(v);
        n += 1;
        format!("${}", n - 1)
    };
    if let Some(k) = q.kind {
        cond.push(format!("e.kind = {}", arg(k.as_str().into(), &mut args)));
    }
    if let Some(d) = q.from {
        cond.push(format!("e.doc_date >= {}", arg(d.to_string(), &mut args)));
    }
    if let Some(d) = q.to {
        cond.push(format!("e.doc_date <= {}", arg(d.to_string(), &mut args)));
    }
    if let Some(t) = &q.doc_type {
        cond.push(format!("e.doc_type = {}", arg(t.clone(), &mut args)));
    }
    // Integers are bound as text-free SQL literals (they are i64s).
    if let Some(d) = q.dossier_id {
        cond.push(format!("e.dossier_id = {d}"));
    }
    let id_col = match (&match_arg, store.backend()) {
        (None, _) => "e.id",
        (Some(_), Backend::Sqlite) => "t.rowid",
        (Some(_), Backend::Postgres) => "t.entry_id",
    };
    // PostgreSQL: a search matching few entries reads them through the GIN indexes and sorts
    // them (`entry_id + 0` keeps the planner off the primary key's order); one matching many
    // walks the primary key newest first and stops at the page. The planner's own guess from
    // the statistics took the walk for words no entry holds (690 ms over a million entries,
    // BENCHMARKS.md "Issue 19"), so a bounded count decides.
    let mut order = id_col.to_owned();
    if let (Some(m), Backend::Postgres) = (&match_arg, store.backend()) {
        let probe = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM archive_text t WHERE {} LIMIT {PROBE}) x",
            m.join(" AND ")
        );
        let mut q = sqlx::query_scalar::<_, i64>(&probe);
        for a in args.iter().take(m.len()) {
            q = q.bind(a);
        }
        if q.fetch_one(store.pool()).await? < PROBE {
            order = format!("{id_col} + 0");
        }
    }
    if let Some(a) = q.after {
        cond.push(format!("{id_col} < {a}"));
    }
    let from = match (&match_arg, store.backend()) {
        (None, _) => format!("archive_entries e {ENTRY_JOINS}"),
        (Some(m), Backend::Sqlite) => {
            for c in m {
                cond.insert(0, format!("archive_text MATCH {c}"));
            }
            format!("archive_text t JOIN archive_entries e ON e.id = t.rowid {ENTRY_JOINS}")
        }
        (Some(m), Backend::Postgres) => {
            for (i, c) in m.iter().enumerate() {
                cond.insert(i, c.clone());
            }
            format!("archive_text t JOIN archive_entries e ON e.id = t.entry_id {ENTRY_JOINS}")
        }
    };
    let filter = if cond.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", cond.join(" AND "))
    };
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM {from} {filter} ORDER BY {order} DESC LIMIT {}",
        limit + 1
    );
    Ok((sql, args))
}

/// One entry, with its files (read access to the archive of its agency).
pub async fn entry(store: &Store, actor: &Actor, id: i64) -> Result<EntryDetail> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS}, e.agency_path, e.sha256, e.text_note, e.size, e.file_name \
         FROM archive_entries e {ENTRY_JOINS} WHERE e.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::ArchiveEntry,
    })?;
    let path: String = row.try_get(16)?;
    actor.reach(Permission::ReadArchive, &path, Record::ArchiveEntry)?;
    let entry = entry_from(&row)?;
    let files = files_of(store, &entry, &row.try_get::<String, _>(17)?).await?;
    Ok(EntryDetail {
        sha256: row.try_get(17)?,
        text_note: row.try_get(18)?,
        files,
        keeps: actor.can(Permission::KeepArchive, &path),
        entry,
    })
}

/// The files kept with an entry: every version of an outgoing document and of its attachments;
/// an incoming document's file and the PDF of its verification report.
async fn files_of(store: &Store, e: &Entry, filed: &str) -> Result<Vec<ArchivedFile>> {
    let mut out: Vec<ArchivedFile> = Vec::new();
    let mut push = |label: String, label_en: String, sha256: String, size: i64, name: String| {
        out.push(ArchivedFile {
            n: out.len() + 1,
            label,
            label_en,
            sha256,
            size,
            file_name: name,
        });
    };
    match e.kind {
        EntryKind::Outgoing => {
            let rows = sqlx::query(
                "SELECT seq, kind, sha256, size, file_name FROM document_versions \
                 WHERE document_id = $1 ORDER BY seq DESC",
            )
            .bind(e.source_id)
            .fetch_all(store.pool())
            .await?;
            for r in &rows {
                let seq: i64 = r.try_get(0)?;
                let kind: String = r.try_get(1)?;
                let sha: String = r.try_get(2)?;
                let (vi, en) = version_label(&kind);
                let mark = if sha == filed { " — bản lưu" } else { "" };
                let mark_en = if sha == filed {
                    " — the copy filed"
                } else {
                    ""
                };
                push(
                    format!("{vi} (phiên bản {seq}){mark}"),
                    format!("{en} (version {seq}){mark_en}"),
                    sha,
                    r.try_get(3)?,
                    r.try_get(4)?,
                );
            }
            let rows = sqlx::query(
                "SELECT a.position, a.title, v.seq, v.sha256, v.size, v.file_name \
                 FROM document_attachments a \
                 JOIN document_attachment_versions v ON v.attachment_id = a.id \
                 WHERE a.document_id = $1 ORDER BY a.position, v.seq DESC",
            )
            .bind(e.source_id)
            .fetch_all(store.pool())
            .await?;
            for r in &rows {
                let pos: i64 = r.try_get(0)?;
                let title: String = r.try_get(1)?;
                let seq: i64 = r.try_get(2)?;
                push(
                    format!("Phụ lục {pos}: {title} (phiên bản {seq})"),
                    format!("Attachment {pos}: {title} (version {seq})"),
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                );
            }
        }
        EntryKind::Incoming => {
            let r = sqlx::query(
                "SELECT sha256, size, file_name, report_pdf_sha256 FROM incoming_documents \
                 WHERE id = $1",
            )
            .bind(e.source_id)
            .fetch_one(store.pool())
            .await?;
            push(
                "Văn bản đến (bản nhận được) — bản lưu".into(),
                "The incoming document as received — the copy filed".into(),
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
            );
            if let Some(sha) = r.try_get::<Option<String>, _>(3)? {
                push(
                    "Báo cáo kiểm tra chữ ký khi tiếp nhận (PDF)".into(),
                    "The signature check on arrival (PDF)".into(),
                    sha,
                    -1,
                    format!("bao-cao-kiem-tra-{}.pdf", e.source_id),
                );
            }
        }
    }
    Ok(out)
}

/// File `n` of entry `id` ([`EntryDetail::files`]; the copy filed when `None`) with its bytes,
/// re-hashed as read.
pub async fn entry_file(
    store: &Store,
    blobs: &crate::blobs::Blobs,
    actor: &Actor,
    id: i64,
    n: Option<usize>,
) -> Result<(ArchivedFile, Vec<u8>)> {
    let detail = entry(store, actor, id).await?;
    let filed = detail.sha256.clone();
    let file = detail
        .files
        .into_iter()
        .find(|f| n.map_or(f.sha256 == filed, |n| f.n == n))
        .ok_or(Error::NotFound {
            what: Record::ArchiveEntry,
        })?;
    let bytes = crate::documents::get_blob(blobs, &file.sha256).await?;
    Ok((file, bytes))
}

fn version_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "draft" => ("Dự thảo", "Draft"),
        "formatted" => ("Bản đã kiểm tra thể thức", "Format-checked"),
        "personally_signed" => ("Bản ký số cá nhân", "Personally signed"),
        "org_signed" => ("Bản ký số cơ quan", "Organization-signed"),
        "ltv" => (
            "Bản bổ sung thông tin kiểm tra lâu dài",
            "With long-term validation data",
        ),
        _ => ("Tệp", "File"),
    }
}

// ---------------------------------------------------------------------------------------------
// Dossiers

const DOSSIER_COLUMNS: &str = "d.id, d.agency_id, a.name, d.year, d.code, d.title, \
    d.retention_years, d.keeper, d.state, d.note, \
    (SELECT COUNT(*) FROM archive_entries e WHERE e.dossier_id = d.id), d.created_at, d.closed_at";

fn dossier_from(r: &sqlx::any::AnyRow) -> Result<Dossier> {
    let state: String = r.try_get(8)?;
    Ok(Dossier {
        id: r.try_get(0)?,
        agency_id: r.try_get(1)?,
        agency_name: r.try_get(2)?,
        year: r.try_get(3)?,
        code: r.try_get(4)?,
        title: r.try_get(5)?,
        retention_years: r.try_get(6)?,
        keeper: r.try_get(7)?,
        state: DossierState::parse(&state).map_err(|_| corrupt("dossier state"))?,
        note: r.try_get(9)?,
        entries: r.try_get(10)?,
        created_at: time_of(r.try_get(11)?)?,
        closed_at: r.try_get::<Option<i64>, _>(12)?.map(time_of).transpose()?,
    })
}

/// Open a dossier in an agency's list of the year (keeping the agency's archive).
pub async fn create_dossier(
    store: &Store,
    actor: &Actor,
    input: &NewDossier,
    now: OffsetDateTime,
) -> Result<Dossier> {
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadRegistry).await?;
    let this_year = i64::from(now.to_offset(kyso_domain::calendar::VIETNAM).year());
    let year = input.year.unwrap_or(this_year);
    if !(2000..=this_year + 1).contains(&year) {
        return Err(Error::invalid(
            "year",
            format!("Năm của hồ sơ phải từ 2000 đến {}.", this_year + 1),
            format!("A dossier's year is 2000 to {}.", this_year + 1),
        ));
    }
    let code = rules::dossier_code("code", &input.code)?;
    let title = kyso_domain::fields::text("title", &input.title, true)?;
    let retention = Retention::parse("retention", &input.retention)?;
    let note = kyso_domain::fields::text("note", &input.note, false)?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::KeepArchive, &agency.path))
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO dossiers (agency_id, year, code, title, retention_years, keeper, state, \
         note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(agency.id)
    .bind(year)
    .bind(&code)
    .bind(&title)
    .bind(retention.years())
    .bind(&actor.username)
    .bind(DossierState::Open.as_str())
    .bind(&note)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "code",
        &format!("Danh mục hồ sơ năm {year} của cơ quan đã có hồ sơ số {code}."),
        &format!("The agency's {year} list already has dossier {code}."),
    ))?;
    tx.commit_audited(
        Event {
            action: "archive.dossier_create",
            object: format!("dossier:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"code": code, "year": year, "title": title,
                           "retention_years": retention.years()}),
        },
        now,
    )
    .await?;
    dossier(store, actor, id).await
}

/// One dossier.
pub async fn dossier(store: &Store, actor: &Actor, id: i64) -> Result<Dossier> {
    let row = sqlx::query(&format!(
        "SELECT {DOSSIER_COLUMNS}, a.path FROM dossiers d JOIN agencies a ON a.id = d.agency_id \
         WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Dossier,
    })?;
    let path: String = row.try_get(13)?;
    actor.reach(Permission::ReadArchive, &path, Record::Dossier)?;
    dossier_from(&row)
}

/// The dossiers of the agencies where the actor reads the archive, of one year (all years when
/// `None`), by agency and code.
pub async fn dossiers(store: &Store, actor: &Actor, year: Option<i64>) -> Result<Vec<Dossier>> {
    let scope = actor.scope(Permission::ReadArchive);
    if scope.is_empty() {
        return Err(Error::Forbidden);
    }
    let (cond, params) = scope.sql("a.path", 1);
    let year_cond = match year {
        Some(y) => format!(" AND d.year = {y}"),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {DOSSIER_COLUMNS} FROM dossiers d JOIN agencies a ON a.id = d.agency_id \
         WHERE {cond}{year_cond} ORDER BY d.year DESC, a.name, d.code LIMIT 1000"
    );
    let mut q = sqlx::query(&sql);
    for p in &params {
        q = q.bind(p);
    }
    q.fetch_all(store.pool())
        .await?
        .iter()
        .map(dossier_from)
        .collect()
}

/// The open dossiers an entry may be filed into (its agency's).
pub async fn open_dossiers_of(store: &Store, agency_id: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, year, code, title FROM dossiers WHERE agency_id = $1 AND state = 'open' \
         ORDER BY year DESC, code",
    )
    .bind(agency_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let (id, year, code, title): (i64, i64, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            Ok((id, format!("{code} ({year}) — {title}")))
        })
        .collect()
}

/// Whether the actor keeps the archive of agency `agency_id` (opens and closes its dossiers).
pub async fn may_keep(store: &Store, actor: &Actor, agency_id: i64) -> bool {
    let path: Option<String> = sqlx::query_scalar("SELECT path FROM agencies WHERE id = $1")
        .bind(agency_id)
        .fetch_optional(store.pool())
        .await
        .ok()
        .flatten();
    path.is_some_and(|p| actor.can(Permission::KeepArchive, &p))
}

/// Where a dossier's keeper may act: the dossier's agency path, its agency code, and it.
async fn kept_dossier(store: &Store, actor: &Actor, id: i64) -> Result<(String, String, Dossier)> {
    let d = dossier(store, actor, id).await?;
    let row = sqlx::query("SELECT path, code FROM agencies WHERE id = $1")
        .bind(d.agency_id)
        .fetch_one(store.pool())
        .await?;
    let path: String = row.try_get(0)?;
    actor.reach(Permission::KeepArchive, &path, Record::Dossier)?;
    Ok((path, row.try_get(1)?, d))
}

fn not_open() -> Error {
    Error::conflict(
        "dossier_id",
        "Hồ sơ đã kết thúc; không đưa thêm văn bản vào hồ sơ này.",
        "The dossier is closed; nothing more is filed into it.",
    )
}

/// File entry `entry_id` into dossier `dossier_id` (an open dossier of the entry's agency), or
/// take it out of its dossier (`None`, while that dossier is open).
pub async fn file_into(
    store: &Store,
    actor: &Actor,
    entry_id: i64,
    dossier_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<EntryDetail> {
    let e = entry(store, actor, entry_id).await?;
    let row = sqlx::query("SELECT agency_path FROM archive_entries WHERE id = $1")
        .bind(entry_id)
        .fetch_one(store.pool())
        .await?;
    let path: String = row.try_get(0)?;
    actor.reach(Permission::KeepArchive, &path, Record::ArchiveEntry)?;
    let target = match dossier_id {
        Some(d) => {
            let (_, _, d) = kept_dossier(store, actor, d).await?;
            if d.agency_id != e.entry.agency_id {
                return Err(Error::invalid(
                    "dossier_id",
                    "Chỉ đưa văn bản vào hồ sơ của chính cơ quan đã lưu văn bản.",
                    "A document is filed into a dossier of its own agency.",
                ));
            }
            if d.state != DossierState::Open {
                return Err(not_open());
            }
            Some(d)
        }
        None => None,
    };
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::KeepArchive, &path))
        .await?;
    // The dossier it leaves must be open too: a closed dossier's contents are fixed.
    let leaving_closed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM archive_entries e JOIN dossiers d ON d.id = e.dossier_id \
         WHERE e.id = $1 AND d.state <> 'open'",
    )
    .bind(entry_id)
    .fetch_one(tx.conn())
    .await?;
    if leaving_closed > 0 {
        return Err(not_open());
    }
    let moved = sqlx::query(
        "UPDATE archive_entries SET dossier_id = $1 WHERE id = $2 AND \
         ($1 IS NULL OR EXISTS (SELECT 1 FROM dossiers d WHERE d.id = $1 AND d.state = 'open'))",
    )
    .bind(dossier_id)
    .bind(entry_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(not_open());
    }
    let agency: String = sqlx::query_scalar("SELECT code FROM agencies WHERE id = $1")
        .bind(e.entry.agency_id)
        .fetch_one(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: "archive.file_into",
            object: format!("archive_entry:{entry_id}"),
            agency: Some(agency),
            detail: json!({
                "from": e.entry.dossier_code,
                "to": target.as_ref().map(|d| d.code.clone()),
                "dossier": dossier_id,
            }),
        },
        now,
    )
    .await?;
    entry(store, actor, entry_id).await
}

/// Close a dossier: its matter is done, nothing more is filed into it, and its retention runs
/// from this year.
pub async fn close_dossier(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<Dossier> {
    let (path, agency, d) = kept_dossier(store, actor, id).await?;
    if d.state != DossierState::Open {
        return Err(not_open());
    }
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::KeepArchive, &path))
        .await?;
    let moved = sqlx::query(
        "UPDATE dossiers SET state = 'closed', closed_at = $1 WHERE id = $2 AND state = 'open'",
    )
    .bind(now.unix_timestamp())
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(not_open());
    }
    tx.commit_audited(
        Event {
            action: "archive.dossier_close",
            object: format!("dossier:{id}"),
            agency: Some(agency),
            detail: json!({"code": d.code, "year": d.year, "entries": d.entries}),
        },
        now,
    )
    .await?;
    dossier(store, actor, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_expression_keeps_typed_words_out_of_the_tags() {
        let t = Terms {
            words: vec![
                (None, "quyet".into()),
                (Some(Part::Code), "15".into()),
                (Some(Part::Signer), "ha".into()),
            ],
            tags: vec![vec!["_a5".into(), "_a9".into()], vec!["_m202603".into()]],
        };
        assert_eq!(
            t.fts5(),
            "{code subject signer meta body} : \"quyet\" AND code : \"15\" AND \
             signer : \"ha\" AND tags : (\"_a5\" OR \"_a9\") AND tags : (\"_m202603\")"
        );
        let (w, tags) = t.tsqueries();
        assert_eq!(w, "'quyet' & '15':A & 'ha':C");
        assert_eq!(tags, "('_a5' | '_a9') & ('_m202603')");
    }

    #[test]
    fn weighted_vector_gives_each_part_its_weight() {
        let t = IndexedText::folded("15/QĐ-UBND", "Phê duyệt", "Hà", "", "Điều");
        assert_eq!(
            weighted_vector(&t),
            "'15':1A 'qd':2A 'ubnd':3A 'duyet':4B 'phe':5B 'ha':6C 'dieu':7D"
        );
    }
}
