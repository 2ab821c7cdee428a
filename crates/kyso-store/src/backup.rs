//! Backups of a kyso data store (`kyso backup create | verify | restore`, and `kyso serve
//! --backup-dir --backup-every`): a consistent snapshot of the database, the blobs it refers
//! to copied incrementally by digest, and a manifest written last.
//!
//! Layout of a backup's [`Objects`] (a folder, or a bucket of an S3-compatible store):
//!
//! ```text
//! blobs/ab/cdef…                       every blob once, named by its SHA-256 (shared by runs)
//! snapshots/ID/started.json            written first: a run without a manifest is incomplete
//! snapshots/ID/database.sqlite         SQLite: `VACUUM INTO` (consistent while kyso serve writes)
//! snapshots/ID/database.pgdump         PostgreSQL: `pg_dump --format=custom --snapshot=…`
//! snapshots/ID/referenced.txt          the blob digests the snapshot refers to, one a line
//! snapshots/ID/audit.key, audit-checkpoints.jsonl   the audit log's key and checkpoints
//! snapshots/ID/manifest.json           written last, atomically (`kyso.backup/1`)
//! ```
//!
//! The digests the snapshot refers to are read from the snapshot itself (SQLite: the copy made
//! by `VACUUM INTO`; PostgreSQL: inside the repeatable-read transaction whose exported snapshot
//! `pg_dump` dumps), so the list, the database and the blobs copied agree. A blob already in
//! the target is not copied again; each one copied is re-hashed on the way and refused if its
//! bytes no longer match its name. Every file's SHA-256 is in the manifest, and the manifest is
//! the last thing written: a run killed before it leaves a snapshot folder that
//! [`verify`] reports as incomplete and [`restore`] refuses.
//!
//! One backup runs at a time in a process ([`create`] takes a process-wide lock); several
//! `kyso serve` nodes on one database are kept to one run by the advisory locks of issue 19
//! item 5 (ARCHITECTURE.md).

mod pg;

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::{Connection as _, Row as _};
use time::OffsetDateTime;

pub use crate::objects::{copy_hashing, Copied, Folder, Objects};

use crate::blobs::Blobs;
use crate::{Backend, Store};

/// The manifest's format name.
pub const FORMAT: &str = "kyso.backup/1";
const SNAPSHOTS: &str = "snapshots";
const MANIFEST: &str = "manifest.json";
const STARTED: &str = "started.json";
const REFERENCED: &str = "referenced.txt";
const AUDIT_KEY: &str = "audit.key";
const AUDIT_CHECKPOINTS: &str = "audit-checkpoints.jsonl";

/// Why a backup could not be made, checked or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::Error),
    #[error("{tool}: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("{en}")]
    Invalid { vi: String, en: String },
    /// Another backup is running in this process.
    #[error("a backup is already running")]
    Busy,
    /// The restore's destination holds something already.
    #[error("{what} is not empty")]
    NotEmpty { what: String },
    /// A blob of the live data no longer matches its name.
    #[error("blob {name} of the data folder is damaged or missing")]
    LiveBlob { name: String },
    /// The backup asked for is damaged or incomplete (restore refuses it).
    #[error("the backup did not verify")]
    NotVerified(Box<VerifyReport>),
}

impl BackupError {
    fn io(what: impl Into<String>, source: std::io::Error) -> BackupError {
        BackupError::Io {
            what: what.into(),
            source,
        }
    }

    /// The message for the user, in Vietnamese or (`en`) English.
    pub fn message(&self, en: bool) -> String {
        let pick = |vi: String, e: String| if en { e } else { vi };
        match self {
            BackupError::Io { what, source } => {
                pick(format!("{what}: lỗi đọc/ghi: {source}"), format!("{what}: {source}"))
            }
            BackupError::Store(e) => e.message(en),
            BackupError::Tool { tool, detail } => pick(
                format!("{tool} không chạy được: {detail}"),
                format!("{tool} failed: {detail}"),
            ),
            BackupError::Invalid { vi, en: e } => pick(vi.clone(), e.clone()),
            BackupError::Busy => pick(
                "một lần sao lưu khác đang chạy".into(),
                "another backup is running".into(),
            ),
            BackupError::NotEmpty { what } => pick(
                format!("{what} không trống: chỉ khôi phục vào thư mục dữ liệu (và cơ sở dữ liệu) trống"),
                format!("{what} is not empty: a backup is restored only into an empty data folder (and database)"),
            ),
            BackupError::LiveBlob { name } => pick(
                format!("tệp {name} trong thư mục dữ liệu bị hỏng hoặc mất: bản sao lưu không được tạo"),
                format!("blob {name} of the data folder is damaged or missing: no backup was made"),
            ),
            BackupError::NotVerified(r) => {
                let mut lines = vec![pick(
                    "bản sao lưu không đạt kiểm tra, không khôi phục:".into(),
                    "the backup did not verify; nothing restored:".into(),
                )];
                lines.extend(r.problems.iter().map(|p| format!("  {}", p.message(en))));
                lines.join("\n")
            }
        }
    }
}

type Result<T, E = BackupError> = std::result::Result<T, E>;

/// A file of a snapshot: its key under the snapshot's folder, SHA-256 and size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// The blobs of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlobSummary {
    /// Blobs the snapshot refers to.
    pub count: u64,
    pub total_bytes: u64,
    /// Of those, copied by this run (the others were in the target already).
    pub copied: u64,
    pub copied_bytes: u64,
}

/// The audit chain's last entry in the snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

/// `manifest.json` (`kyso.backup/1`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub kyso_version: String,
    /// `sqlite` or `postgresql`.
    pub engine: String,
    pub schema_version: i64,
    /// PostgreSQL: the schema dumped when the database URL named one (`search_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_schema: Option<String>,
    pub database: FileEntry,
    pub referenced: FileEntry,
    /// The audit key and checkpoint files, when there were any.
    pub files: Vec<FileEntry>,
    pub blobs: BlobSummary,
    pub audit_head: Option<AuditHead>,
}

/// What to back up: the open store, its blobs, its database URL (PostgreSQL) and the audit
/// files (absent ones are skipped).
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub store: &'a Store,
    pub blobs: &'a Blobs,
    pub database_url: Option<&'a str>,
    pub audit_key: &'a Path,
    pub audit_checkpoints: &'a Path,
    /// Where the SQLite snapshot is made before it is copied (a folder on the database's disk).
    pub work_dir: &'a Path,
}

fn engine_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    }
}

fn blob_key(digest: &str) -> String {
    let (a, b) = digest.split_at(2.min(digest.len()));
    format!("blobs/{a}/{b}")
}

fn is_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The blob digests a database refers to (every table that names a blob of the folder).
const REFERENCED_SQL: &str = "\
    SELECT sha256 FROM document_versions \
    UNION SELECT sha256 FROM document_copies \
    UNION SELECT sha256 FROM document_attachment_versions \
    UNION SELECT sha256 FROM incoming_documents \
    UNION SELECT report_pdf_sha256 FROM incoming_documents WHERE report_pdf_sha256 IS NOT NULL \
    UNION SELECT letter_sha256 FROM requests WHERE letter_sha256 IS NOT NULL \
    UNION SELECT source_blob FROM signing_sessions \
    UNION SELECT package_sha256 FROM incoming_edxml \
    UNION SELECT sha256 FROM incoming_copies \
    UNION SELECT report_pdf_sha256 FROM incoming_copies WHERE report_pdf_sha256 IS NOT NULL \
    UNION SELECT sha256 FROM copy_extracts";

/// What a snapshot says about itself: the digests it refers to, its schema version, the
/// audit chain's head.
struct Facts {
    referenced: BTreeSet<String>,
    schema_version: i64,
    audit_head: Option<AuditHead>,
}

async fn facts(conn: &mut sqlx::AnyConnection) -> Result<Facts> {
    let rows: Vec<String> = sqlx::query_scalar(REFERENCED_SQL)
        .fetch_all(&mut *conn)
        .await
        .map_err(crate::Error::from)?;
    let schema_version: i64 = sqlx::query_scalar("SELECT version FROM kyso_schema")
        .fetch_one(&mut *conn)
        .await
        .map_err(crate::Error::from)?;
    let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(crate::Error::from)?;
    let audit_head = match head {
        Some(r) => Some(AuditHead {
            seq: r.try_get(0).map_err(crate::Error::from)?,
            hash: r.try_get(1).map_err(crate::Error::from)?,
        }),
        None => None,
    };
    Ok(Facts {
        referenced: rows.into_iter().filter(|d| is_digest(d)).collect(),
        schema_version,
        audit_head,
    })
}

/// The blob digests `store` refers to now.
pub async fn referenced_blobs(store: &Store) -> Result<BTreeSet<String>> {
    let mut conn = store.pool().acquire().await.map_err(crate::Error::from)?;
    Ok(facts(&mut conn).await?.referenced)
}

/// A run's name: its start time, `20261207T021500.123Z` (with `-002`, `-003`… if taken):
/// names sort as the runs were started.
fn new_id(target: &dyn Objects, now: OffsetDateTime) -> Result<String> {
    let fmt = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    let base = now
        .to_offset(time::UtcOffset::UTC)
        .format(fmt)
        .map_err(|e| BackupError::io("time", std::io::Error::other(e)))?;
    let taken = target
        .list(SNAPSHOTS)
        .map_err(|e| BackupError::io(target.describe(), e))?;
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n:03}");
        n += 1;
    }
    Ok(id)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn put_file(target: &dyn Objects, key: &str, path: &Path) -> Result<Copied> {
    let mut f =
        std::fs::File::open(path).map_err(|e| BackupError::io(path.display().to_string(), e))?;
    target
        .put(key, &mut f, None)
        .map_err(|e| BackupError::io(key, e))
}

fn put_bytes(target: &dyn Objects, key: &str, bytes: &[u8]) -> Result<Copied> {
    target
        .put(key, &mut &bytes[..], None)
        .map_err(|e| BackupError::io(key, e))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::io("task", std::io::Error::other(e.to_string())))?
}

static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Make a backup of `src` into `target`; its manifest. `now` is the clock.
pub async fn create(
    src: &Source<'_>,
    target: std::sync::Arc<dyn Objects>,
    now: fn() -> OffsetDateTime,
) -> Result<Manifest> {
    let _running = RUNNING.try_lock().map_err(|_| BackupError::Busy)?;
    let started_at = now();
    let id = new_id(target.as_ref(), started_at)?;
    let dir = format!("{SNAPSHOTS}/{id}");
    tracing::info!(target: "kyso::backup", id = %id, to = %target.describe(), "backup started");
    put_bytes(
        target.as_ref(),
        &format!("{dir}/{STARTED}"),
        serde_json::json!({"format": FORMAT, "id": id, "started_at": started_at.unix_timestamp()})
            .to_string()
            .as_bytes(),
    )?;
    // The audit files before the database: a checkpoint is never newer than the snapshot.
    let mut files = Vec::new();
    for (name, path) in [
        (AUDIT_CHECKPOINTS, src.audit_checkpoints),
        (AUDIT_KEY, src.audit_key),
    ] {
        if path.is_file() {
            let c = put_file(target.as_ref(), &format!("{dir}/{name}"), path)?;
            files.push(FileEntry {
                name: name.into(),
                sha256: c.sha256,
                size: c.size,
            });
        }
    }
    let work = tempfile::Builder::new()
        .prefix(".kyso-backup-")
        .tempdir_in(src.work_dir)
        .map_err(|e| BackupError::io(src.work_dir.display().to_string(), e))?;
    let backend = src.store.backend();
    let (db_name, db_file, facts, pg_schema) = match backend {
        Backend::Sqlite => {
            let file = work.path().join("database.sqlite");
            sqlx::query("VACUUM INTO $1")
                .bind(file.display().to_string())
                .execute(src.store.pool())
                .await
                .map_err(crate::Error::from)?;
            let url = format!("sqlite://{}?mode=ro", file.display());
            let mut conn = sqlx::AnyConnection::connect(&url)
                .await
                .map_err(crate::Error::from)?;
            let f = facts(&mut conn).await?;
            let _ = conn.close().await;
            ("database.sqlite", file, f, None)
        }
        Backend::Postgres => {
            let url = pg::PgUrl::parse(src.database_url.unwrap_or_default())?;
            let file = work.path().join("database.pgdump");
            let mut tx = src.store.pool().begin().await.map_err(crate::Error::from)?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(crate::Error::from)?;
            let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
                .fetch_one(&mut *tx)
                .await
                .map_err(crate::Error::from)?;
            let f = facts(&mut tx).await?;
            let schema = url.schema.clone();
            let out = file.clone();
            blocking(move || pg::dump(&url, &snapshot, &out)).await?;
            tx.rollback().await.map_err(crate::Error::from)?;
            ("database.pgdump", file, f, schema)
        }
    };
    let t = target.clone();
    let key = format!("{dir}/{db_name}");
    let database = blocking(move || put_file(t.as_ref(), &key, &db_file)).await?;
    drop(work);
    let list: String = facts.referenced.iter().map(|d| format!("{d}\n")).collect();
    let referenced = put_bytes(
        target.as_ref(),
        &format!("{dir}/{REFERENCED}"),
        list.as_bytes(),
    )?;
    let t = target.clone();
    let from = src.blobs.clone();
    let digests: Vec<String> = facts.referenced.iter().cloned().collect();
    let blobs = blocking(move || copy_blobs(t.as_ref(), &from, &digests)).await?;
    let manifest = Manifest {
        format: FORMAT.into(),
        id: id.clone(),
        started_at: rfc3339(started_at),
        finished_at: rfc3339(now()),
        kyso_version: env!("CARGO_PKG_VERSION").into(),
        engine: engine_name(backend).into(),
        schema_version: facts.schema_version,
        pg_schema,
        database: FileEntry {
            name: db_name.into(),
            sha256: database.sha256,
            size: database.size,
        },
        referenced: FileEntry {
            name: REFERENCED.into(),
            sha256: referenced.sha256,
            size: referenced.size,
        },
        files,
        blobs,
        audit_head: facts.audit_head,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::io(MANIFEST, std::io::Error::other(e)))?;
    put_bytes(target.as_ref(), &format!("{dir}/{MANIFEST}"), &text)?;
    tracing::info!(
        target: "kyso::backup",
        id = %id,
        blobs = manifest.blobs.count,
        copied = manifest.blobs.copied,
        copied_bytes = manifest.blobs.copied_bytes,
        "backup finished"
    );
    Ok(manifest)
}

/// Copy the blobs of `digests` the target lacks, each re-hashed on the way.
fn copy_blobs(target: &dyn Objects, from: &Blobs, digests: &[String]) -> Result<BlobSummary> {
    let mut s = BlobSummary {
        count: 0,
        total_bytes: 0,
        copied: 0,
        copied_bytes: 0,
    };
    for d in digests {
        let live = || BackupError::LiveBlob { name: d.clone() };
        let size = from.size(d).map_err(|_| live())?.ok_or_else(live)?;
        s.count += 1;
        s.total_bytes += size;
        let key = blob_key(d);
        if target.exists(&key).map_err(|e| BackupError::io(&key, e))? {
            continue;
        }
        let from_key = crate::blobs::key_of(d).map_err(|_| live())?;
        let mut f = from.objects().get(&from_key).map_err(|_| live())?;
        match target.put(&key, &mut f, Some(d)) {
            Ok(c) => {
                s.copied += 1;
                s.copied_bytes += c.size;
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(BackupError::LiveBlob { name: d.clone() })
            }
            Err(e) => return Err(BackupError::io(key, e)),
        }
    }
    Ok(s)
}

/// One thing wrong with a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The target holds no backup.
    NoBackup,
    /// No such backup.
    Unknown {
        id: String,
    },
    /// A run without its manifest: interrupted (or still running).
    Incomplete {
        id: String,
    },
    ManifestDamaged {
        id: String,
        why: String,
    },
    FileMissing {
        key: String,
    },
    FileDamaged {
        key: String,
    },
    /// A blob the snapshot refers to is not in the backup.
    BlobMissing {
        digest: String,
    },
    /// A blob of the backup whose bytes no longer hash to its name.
    BlobDamaged {
        key: String,
    },
    /// The blobs the snapshot refers to are not those the manifest counts.
    CountMismatch {
        listed: u64,
        manifest: u64,
    },
}

impl Problem {
    pub fn message(&self, en: bool) -> String {
        let pick = |vi: String, e: String| if en { e } else { vi };
        match self {
            Problem::NoBackup => pick(
                "thư mục không có bản sao lưu nào".into(),
                "the folder holds no backup".into(),
            ),
            Problem::Unknown { id } => {
                pick(format!("không có bản sao lưu {id}"), format!("no backup {id}"))
            }
            Problem::Incomplete { id } => pick(
                format!("bản sao lưu {id} chưa hoàn tất (không có {MANIFEST}: bị ngắt giữa chừng hoặc đang chạy), không dùng được"),
                format!("backup {id} is incomplete (no {MANIFEST}: interrupted or still running) and cannot be used"),
            ),
            Problem::ManifestDamaged { id, why } => pick(
                format!("{SNAPSHOTS}/{id}/{MANIFEST} hỏng: {why}"),
                format!("{SNAPSHOTS}/{id}/{MANIFEST} is damaged: {why}"),
            ),
            Problem::FileMissing { key } => pick(format!("thiếu tệp {key}"), format!("file {key} is missing")),
            Problem::FileDamaged { key } => pick(
                format!("tệp {key} bị thay đổi hoặc hỏng (SHA-256 không khớp với manifest)"),
                format!("file {key} was changed or damaged (its SHA-256 does not match the manifest)"),
            ),
            Problem::BlobMissing { digest } => pick(
                format!("thiếu tệp văn bản {} mà cơ sở dữ liệu tham chiếu", blob_key(digest)),
                format!("blob {} referenced by the database is missing", blob_key(digest)),
            ),
            Problem::BlobDamaged { key } => pick(
                format!("tệp văn bản {key} bị thay đổi hoặc hỏng (nội dung không khớp SHA-256 là tên của nó)"),
                format!("blob {key} was changed or damaged (its content does not match the SHA-256 it is named by)"),
            ),
            Problem::CountMismatch { listed, manifest } => pick(
                format!("danh sách tham chiếu có {listed} tệp văn bản, manifest ghi {manifest}"),
                format!("the reference list names {listed} blobs, the manifest says {manifest}"),
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// The run checked.
    pub id: Option<String>,
    pub manifest: Option<Manifest>,
    /// Blobs re-hashed (every blob of the target) and their bytes.
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    /// Blobs the snapshot refers to (all found intact when there is no problem).
    pub referenced: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// [`hash_key`] of each of `keys`, in their order, by [`Objects::readers`] threads at once.
fn hash_keys(target: &dyn Objects, keys: Vec<&str>) -> Vec<std::io::Result<Copied>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let threads = target.readers().clamp(1, keys.len().max(1));
    let mut out: Vec<Option<std::io::Result<Copied>>> = (0..keys.len()).map(|_| None).collect();
    let done: Vec<Vec<(usize, std::io::Result<Copied>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else { break };
                        mine.push((i, hash_key(target, key)));
                    }
                    mine
                })
            })
            .collect();
        // A thread that panicked leaves its keys without an answer: an error below.
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (i, r) in done.into_iter().flatten() {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(r);
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(std::io::Error::other("a hashing thread failed"))))
        .collect()
}

fn hash_key(target: &dyn Objects, key: &str) -> std::io::Result<Copied> {
    let mut r = target.get(key)?;
    copy_hashing(&mut r, &mut std::io::sink())
}

/// The runs of `target`, oldest first.
pub fn list(target: &dyn Objects) -> Result<Vec<String>> {
    target
        .list(SNAPSHOTS)
        .map_err(|e| BackupError::io(target.describe(), e))
}

/// Check a run of `target` (`id`, else the newest): its manifest, the hash of each of its
/// files, that every blob its snapshot refers to is there, and every blob of the target
/// re-hashed. Problems are reported, not returned as errors; an error is a failure to read.
pub fn verify(target: &dyn Objects, id: Option<&str>) -> Result<VerifyReport> {
    let mut r = VerifyReport::default();
    let runs = list(target)?;
    let id = match id {
        Some(i) if runs.iter().any(|r| r == i) => i.to_owned(),
        Some(i) => {
            r.problems.push(Problem::Unknown { id: i.to_owned() });
            return Ok(r);
        }
        None => match runs.last() {
            Some(i) => i.clone(),
            None => {
                r.problems.push(Problem::NoBackup);
                return Ok(r);
            }
        },
    };
    r.id = Some(id.clone());
    let dir = format!("{SNAPSHOTS}/{id}");
    let manifest_key = format!("{dir}/{MANIFEST}");
    let mut text = Vec::new();
    match target.get(&manifest_key) {
        Ok(mut f) => {
            f.read_to_end(&mut text)
                .map_err(|e| BackupError::io(&manifest_key, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            r.problems.push(Problem::Incomplete { id });
            return Ok(r);
        }
        Err(e) => return Err(BackupError::io(manifest_key, e)),
    }
    let manifest: Manifest = match serde_json::from_slice(&text) {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(Problem::ManifestDamaged {
                id,
                why: e.to_string(),
            });
            return Ok(r);
        }
    };
    if manifest.format != FORMAT || manifest.id != id {
        r.problems.push(Problem::ManifestDamaged {
            id: id.clone(),
            why: format!("format {} id {}", manifest.format, manifest.id),
        });
    }
    let entries = std::iter::once(&manifest.database)
        .chain(std::iter::once(&manifest.referenced))
        .chain(manifest.files.iter());
    for f in entries {
        let key = format!("{dir}/{}", f.name);
        match hash_key(target, &key) {
            Ok(c) if c.sha256 == f.sha256 && c.size == f.size => {}
            Ok(_) => r.problems.push(Problem::FileDamaged { key }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                r.problems.push(Problem::FileMissing { key })
            }
            Err(e) => return Err(BackupError::io(key, e)),
        }
    }
    let referenced = read_referenced(target, &dir)?;
    r.referenced = referenced.len() as u64;
    if r.referenced != manifest.blobs.count {
        r.problems.push(Problem::CountMismatch {
            listed: r.referenced,
            manifest: manifest.blobs.count,
        });
    }
    // Every blob of the target re-hashed (several at once); those referenced and absent are
    // missing.
    let mut keys = Vec::new();
    for a in target
        .list("blobs")
        .map_err(|e| BackupError::io("blobs", e))?
    {
        let prefix = format!("blobs/{a}");
        for b in target
            .list(&prefix)
            .map_err(|e| BackupError::io(&prefix, e))?
        {
            keys.push((format!("{prefix}/{b}"), format!("{a}{b}")));
        }
    }
    let hashed = hash_keys(target, keys.iter().map(|(k, _)| k.as_str()).collect());
    let mut present = BTreeSet::new();
    for ((key, name), got) in keys.into_iter().zip(hashed) {
        match got {
            Ok(c) => {
                r.blobs_checked += 1;
                r.bytes_checked += c.size;
                if c.sha256 == name {
                    present.insert(name);
                } else {
                    r.problems.push(Problem::BlobDamaged { key });
                }
            }
            Err(e) => return Err(BackupError::io(key, e)),
        }
    }
    for d in referenced.difference(&present) {
        if !r
            .problems
            .iter()
            .any(|p| matches!(p, Problem::BlobDamaged { key } if *key == blob_key(d)))
        {
            r.problems.push(Problem::BlobMissing { digest: d.clone() });
        }
    }
    r.manifest = Some(manifest);
    Ok(r)
}

fn read_referenced(target: &dyn Objects, dir: &str) -> Result<BTreeSet<String>> {
    let key = format!("{dir}/{REFERENCED}");
    let mut text = String::new();
    match target.get(&key) {
        Ok(mut f) => {
            f.read_to_string(&mut text)
                .map_err(|e| BackupError::io(&key, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(BackupError::io(key, e)),
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| is_digest(l))
        .map(str::to_owned)
        .collect())
}

/// Where a backup is restored to: an empty data folder and, for PostgreSQL, an empty
/// database (or schema).
#[derive(Debug, Clone)]
pub struct Destination<'a> {
    pub data_dir: &'a Path,
    /// Where the blobs go: `None`, the data folder's `blobs`; else a bucket (content-addressed:
    /// blobs already there are kept).
    pub blobs: Option<Blobs>,
    pub database_url: Option<&'a str>,
    pub audit_key: PathBuf,
    pub audit_checkpoints: PathBuf,
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    /// Blobs written to the data folder, each re-hashed, then every blob the restored
    /// database refers to read back and checked.
    pub blobs: u64,
    pub blobs_rehashed: u64,
}

fn is_empty_dir(p: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(p) {
        Ok(mut d) => Ok(d.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Tables in `schema` of the PostgreSQL database at `url` (none for a fresh database).
async fn pg_tables(url: &str, schema: &str) -> Result<i64> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(crate::Error::from)?;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_one(&mut conn)
    .await
    .map_err(crate::Error::from)?;
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1",
    )
    .bind(schema)
    .fetch_one(&mut conn)
    .await
    .map_err(crate::Error::from)?;
    let _ = conn.close().await;
    Ok(if exists == 0 { -1 } else { n })
}

/// Restore run `id` (else the newest) of `target` into `dest`, which must be empty. The run
/// is verified first (a damaged or incomplete one is refused); blobs are re-hashed as they are
/// written; at the end the restored database is opened and every blob it refers to is read back
/// and checked.
pub async fn restore(
    target: std::sync::Arc<dyn Objects>,
    id: Option<&str>,
    dest: &Destination<'_>,
) -> Result<Restored> {
    if !is_empty_dir(dest.data_dir)
        .map_err(|e| BackupError::io(dest.data_dir.display().to_string(), e))?
    {
        return Err(BackupError::NotEmpty {
            what: dest.data_dir.display().to_string(),
        });
    }
    for f in [&dest.audit_key, &dest.audit_checkpoints] {
        if f.exists() {
            return Err(BackupError::NotEmpty {
                what: f.display().to_string(),
            });
        }
    }
    let t = target.clone();
    let wanted = id.map(str::to_owned);
    let report = blocking(move || verify(t.as_ref(), wanted.as_deref())).await?;
    let manifest = match (&report.manifest, report.ok()) {
        (Some(m), true) => m.clone(),
        _ => return Err(BackupError::NotVerified(Box::new(report))),
    };
    let dir = format!("{SNAPSHOTS}/{}", manifest.id);
    let pg_url = match (manifest.engine.as_str(), dest.database_url) {
        ("sqlite", None) => None,
        ("postgresql", Some(u)) => Some(pg::PgUrl::parse(u)?),
        (engine, _) => {
            return Err(BackupError::Invalid {
                vi: format!(
                    "bản sao lưu là của {engine}: khôi phục {} --database-url",
                    if engine == "sqlite" {
                        "không có"
                    } else {
                        "cần"
                    }
                ),
                en: format!(
                    "the backup is of {engine}: restore it {} --database-url",
                    if engine == "sqlite" {
                        "without"
                    } else {
                        "with"
                    }
                ),
            })
        }
    };
    // PostgreSQL: the schema the dump holds must be empty (or absent) in the destination.
    let mut skip_schema = None;
    if let (Some(url), Some(raw)) = (&pg_url, dest.database_url) {
        let schema = manifest
            .pg_schema
            .clone()
            .unwrap_or_else(|| "public".into());
        if url.schema != manifest.pg_schema {
            let named = url.schema.clone().unwrap_or_else(|| "public".into());
            return Err(BackupError::Invalid {
                vi: format!(
                    "bản sao lưu chứa lược đồ {schema}, địa chỉ cơ sở dữ liệu chỉ lược đồ {named}"
                ),
                en: format!(
                    "the backup holds schema {schema}, the database URL names schema {named}"
                ),
            });
        }
        match pg_tables(raw, &schema).await? {
            0 if schema != "public" => skip_schema = Some(schema),
            0 | -1 => {}
            _ => {
                return Err(BackupError::NotEmpty {
                    what: format!("PostgreSQL schema {schema}"),
                })
            }
        }
    }
    std::fs::create_dir_all(dest.data_dir)
        .map_err(|e| BackupError::io(dest.data_dir.display().to_string(), e))?;
    let work = tempfile::Builder::new()
        .prefix(".kyso-restore-")
        .tempdir_in(dest.data_dir)
        .map_err(|e| BackupError::io(dest.data_dir.display().to_string(), e))?;
    let db = manifest.database.clone();
    let db_key = format!("{dir}/{}", db.name);
    let local = work.path().join(&db.name);
    let t = target.clone();
    let l = local.clone();
    blocking(move || fetch_checked(t.as_ref(), &db_key, &l, &db.sha256)).await?;
    match &pg_url {
        None => {
            let to = dest.data_dir.join("kyso.db");
            std::fs::rename(&local, &to)
                .map_err(|e| BackupError::io(to.display().to_string(), e))?;
        }
        Some(url) => {
            let url = url.clone();
            let l = local.clone();
            blocking(move || pg::restore(&url, &l, skip_schema.as_deref())).await?;
        }
    }
    drop(work);
    // The audit files.
    for f in &manifest.files {
        let to = match f.name.as_str() {
            AUDIT_KEY => &dest.audit_key,
            AUDIT_CHECKPOINTS => &dest.audit_checkpoints,
            _ => continue,
        };
        let t = target.clone();
        let (key, to2, sha) = (format!("{dir}/{}", f.name), to.clone(), f.sha256.clone());
        blocking(move || fetch_checked(t.as_ref(), &key, &to2, &sha)).await?;
        if f.name == AUDIT_KEY {
            make_private(to).map_err(|e| BackupError::io(to.display().to_string(), e))?;
        }
    }
    // The blobs, each re-hashed as it is written.
    let blobs = match &dest.blobs {
        Some(b) => b.clone(),
        None => {
            let blobs_dir = dest.data_dir.join("blobs");
            Blobs::open(&blobs_dir).map_err(|e| {
                BackupError::io(
                    blobs_dir.display().to_string(),
                    std::io::Error::other(e.to_string()),
                )
            })?
        }
    };
    let referenced = read_referenced(target.as_ref(), &dir)?;
    let t = target.clone();
    let b = blobs.clone();
    let list: Vec<String> = referenced.iter().cloned().collect();
    let written = blocking(move || {
        let mut n = 0u64;
        for d in &list {
            let key = blob_key(d);
            let mut r = t.get(&key).map_err(|e| BackupError::io(&key, e))?;
            let mut w = b
                .writer(crate::blobs::MAX_BLOB as u64)
                .map_err(|e| BackupError::io(&key, std::io::Error::other(e.to_string())))?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let k = r.read(&mut buf).map_err(|e| BackupError::io(&key, e))?;
                if k == 0 {
                    break;
                }
                w.write(buf.get(..k).unwrap_or_default())
                    .map_err(|e| BackupError::io(&key, std::io::Error::other(e.to_string())))?;
            }
            let staged = w
                .finish()
                .map_err(|e| BackupError::io(&key, std::io::Error::other(e.to_string())))?;
            if staged.name() != d.as_str() {
                return Err(BackupError::io(
                    &key,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "damaged while restored"),
                ));
            }
            staged
                .persist()
                .map_err(|e| BackupError::io(&key, std::io::Error::other(e.to_string())))?;
            n += 1;
        }
        Ok(n)
    })
    .await?;
    // The restored database opened (its schema brought up to date) and every blob it refers
    // to read back through the blob folder, which re-hashes it.
    let url = match dest.database_url {
        Some(u) => u.to_owned(),
        None => format!("sqlite://{}", dest.data_dir.join("kyso.db").display()),
    };
    let store = Store::open(&url).await?;
    let now_referenced = referenced_blobs(&store).await?;
    store.close().await;
    let rehashed = blocking(move || {
        let mut n = 0u64;
        for d in &now_referenced {
            blobs
                .get(d)
                .map_err(|_| BackupError::LiveBlob { name: d.clone() })?;
            n += 1;
        }
        Ok(n)
    })
    .await?;
    tracing::info!(target: "kyso::backup", id = %manifest.id, blobs = written, "backup restored");
    Ok(Restored {
        manifest,
        blobs: written,
        blobs_rehashed: rehashed,
    })
}

#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn make_private(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Copy `key` of `target` to the new file `to`, checking its SHA-256.
fn fetch_checked(target: &dyn Objects, key: &str, to: &Path, sha256: &str) -> Result<()> {
    let mut r = target.get(key).map_err(|e| BackupError::io(key, e))?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| BackupError::io(parent.display().to_string(), e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| BackupError::io(to.display().to_string(), e))?;
    let c = copy_hashing(&mut r, &mut f).map_err(|e| BackupError::io(key, e))?;
    f.sync_all()
        .map_err(|e| BackupError::io(to.display().to_string(), e))?;
    if c.sha256 != sha256 {
        let _ = std::fs::remove_file(to);
        return Err(BackupError::io(
            key,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "changed since it was verified",
            ),
        ));
    }
    Ok(())
}
