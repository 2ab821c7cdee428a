#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod archive;
pub mod audit;
pub mod audit_verify;
pub mod backup;
mod batch;
pub mod blobs;
pub mod checkpoints;
pub mod csv_io;
pub mod demo;
pub mod documents;
pub mod incoming;
pub mod leases;
mod migrate;
pub mod notices;
pub mod objects;
/// The schemas of the store's stable-name fields (feature `openapi`).
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod ops;
mod read_log;
pub mod registry;
pub mod reports;
pub mod requests;
mod scope;
pub mod signing_sessions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
/// sqlx itself, for other crates' tests that look into the database (feature `testing`).
#[cfg(feature = "testing")]
pub use sqlx;
pub mod words;

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions as _};

pub use migrate::SCHEMA_VERSION;
pub use scope::{Actor, Grant, On, Scope};

/// Result of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The two database engines the same store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (the default: one machine, no server to run).
    Sqlite,
    /// A PostgreSQL server (several `kyso serve` nodes on one database).
    Postgres,
}

/// Why a store operation did not happen. Variants that a user caused carry the field and a
/// message in both languages; nothing was written when any of them is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed (connection, I/O, a constraint the store did not anticipate).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The thing asked for does not exist, or exists outside what the user may see.
    #[error("{what} not found")]
    NotFound { what: Record },
    /// A field of the input is wrong.
    #[error("invalid {field}: {en}")]
    Invalid {
        field: &'static str,
        vi: String,
        en: String,
    },
    /// The input clashes with what is stored (a duplicate serial, code or user name).
    #[error("conflict on {field}: {en}")]
    Conflict {
        field: &'static str,
        vi: String,
        en: String,
    },
    /// The user's roles do not allow this on this agency.
    #[error("not allowed")]
    Forbidden,
    /// Wrong user name or password, an expired session or an unknown API token.
    #[error("not authenticated")]
    Unauthenticated,
    /// Too many failed logins: the account waits until `until` (Unix seconds).
    #[error("account locked until {until}")]
    LockedOut { until: i64 },
    /// The database was written by a newer kyso.
    #[error(
        "the database has schema version {found}, newer than this kyso ({known}); upgrade kyso"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// The database URL is not one the store can open.
    #[error("unsupported database URL (use sqlite:PATH or postgres://...)")]
    UnsupportedUrl,
    /// The audit entry of a read could not be written (its queue full or stopped, or its
    /// batch not committed): the read must not be served.
    #[error("the audit log could not be written")]
    AuditUnavailable,
}

impl From<kyso_domain::fields::FieldError> for Error {
    fn from(e: kyso_domain::fields::FieldError) -> Self {
        Error::Invalid {
            field: e.field,
            vi: e.vi,
            en: e.en,
        }
    }
}

impl Error {
    pub(crate) fn invalid(
        field: &'static str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field,
            vi: vi.into(),
            en: en.into(),
        }
    }

    pub(crate) fn conflict(
        field: &'static str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Error::Conflict {
            field,
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The field the error is about, if a user's input caused it.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid { field, .. } | Error::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }

    /// A message for the user, in Vietnamese or English. Database failures stay generic
    /// (the detail goes to the log).
    pub fn message(&self, english: bool) -> String {
        let pick = |vi: &str, en: &str| {
            if english {
                en.to_owned()
            } else {
                vi.to_owned()
            }
        };
        match self {
            Error::Database(_) => pick(
                "Lỗi cơ sở dữ liệu; thao tác chưa được thực hiện. Vui lòng thử lại hoặc báo quản trị.",
                "Database error; nothing was changed. Try again or tell the administrator.",
            ),
            Error::NotFound { what } => {
                if english {
                    format!("{what} not found (or outside your agencies).")
                } else {
                    format!("Không tìm thấy {} (hoặc không thuộc phạm vi của bạn).", what.label_vi())
                }
            }
            Error::Invalid { vi, en, .. } | Error::Conflict { vi, en, .. } => pick(vi, en),
            Error::Forbidden => pick(
                "Bạn không có quyền thực hiện thao tác này trên cơ quan này.",
                "You are not allowed to do this for this agency.",
            ),
            Error::Unauthenticated => pick(
                "Tên đăng nhập hoặc mật khẩu không đúng, hoặc phiên đã hết hạn.",
                "Wrong user name or password, or the session has expired.",
            ),
            Error::LockedOut { .. } => pick(
                "Đăng nhập sai quá nhiều lần; tài khoản tạm khóa 15 phút.",
                "Too many failed logins; the account is locked for 15 minutes.",
            ),
            Error::SchemaTooNew { found, known } => {
                if english {
                    self.to_string()
                } else {
                    format!(
                        "Cơ sở dữ liệu có phiên bản lược đồ {found}, mới hơn phiên bản kyso này \
                         hỗ trợ ({known}); hãy nâng cấp kyso."
                    )
                }
            }
            Error::UnsupportedUrl => pick(
                "Địa chỉ cơ sở dữ liệu không hợp lệ (dùng sqlite:ĐƯỜNG_DẪN hoặc postgres://...).",
                "Unsupported database URL (use sqlite:PATH or postgres://...).",
            ),
            Error::AuditUnavailable => pick(
                "Không ghi được nhật ký truy cập nên dữ liệu không được hiển thị. Vui lòng thử \
                 lại sau ít phút; nếu vẫn không được, xin báo quản trị hệ thống.",
                "The access could not be written to the audit log, so nothing is shown. Try \
                 again in a few minutes; if it persists, tell the administrator.",
            ),
        }
    }
}

/// What kind of record an error is about (typed, never matched on its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    Agency,
    Subscriber,
    Certificate,
    Device,
    User,
    Token,
    Request,
    Notice,
    Session,
    /// A page of the web UI.
    Page,
    /// An outgoing document.
    Document,
    /// An outgoing register.
    Register,
    /// A reporting period or an agency's report.
    Report,
    /// An entry of the archive.
    ArchiveEntry,
    /// A dossier (hồ sơ) of the archive.
    Dossier,
}

impl Record {
    /// The English name, as in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Record::Agency => "agency",
            Record::Subscriber => "subscriber",
            Record::Certificate => "certificate",
            Record::Device => "device",
            Record::User => "user",
            Record::Token => "token",
            Record::Request => "request",
            Record::Notice => "notice",
            Record::Session => "session",
            Record::Page => "page",
            Record::Document => "document",
            Record::Register => "register",
            Record::Report => "report",
            Record::ArchiveEntry => "archive entry",
            Record::Dossier => "dossier",
        }
    }

    /// The Vietnamese name, for messages.
    pub fn label_vi(self) -> &'static str {
        match self {
            Record::Agency => "cơ quan",
            Record::Subscriber => "thuê bao",
            Record::Certificate => "chứng thư số",
            Record::Device => "thiết bị",
            Record::User => "tài khoản",
            Record::Token => "mã truy cập",
            Record::Request => "đề nghị",
            Record::Notice => "thông báo",
            Record::Session => "phiên đăng nhập",
            Record::Page => "dữ liệu",
            Record::Document => "văn bản",
            Record::Register => "sổ văn bản",
            Record::Report => "báo cáo",
            Record::ArchiveEntry => "văn bản lưu trữ",
            Record::Dossier => "hồ sơ",
        }
    }
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Map a unique-constraint violation to a conflict on `field`; other errors pass through.
pub(crate) fn unique(field: &'static str, vi: &str, en: &str) -> impl FnOnce(sqlx::Error) -> Error {
    let (vi, en) = (vi.to_owned(), en.to_owned());
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::conflict(field, vi, en),
        _ => Error::Database(e),
    }
}

/// A number from a query string where an empty field (a filter form's "all") means none.
pub(crate) fn blank_as_none<'de, D>(d: D) -> std::result::Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match <Option<Raw> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Raw::Text(t)) => t.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The registry's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The audit chain's key: entries appended through this store are keyed with it.
    audit_key: Option<kyso_domain::audit::AuditKey>,
    /// The queue of audited reads and its writer ([`read_log`]).
    reads: std::sync::Arc<read_log::ReadLogCell>,
    /// This process's writers take turns here, first come first served, before they take a
    /// connection and the database's write lock (see [`Store::begin_write`]).
    writers: std::sync::Arc<Writers>,
    /// The certification authorities whose subscriber certificates the registry accepts
    /// ([`Store::trust_issuers`]); shared by every clone. Empty: every import is refused.
    issuers: std::sync::Arc<std::sync::RwLock<Issuers>>,
}

/// The certification authorities the registry accepts subscriber certificates from: the
/// anchors, and intermediate CA certificates to build paths through (an uploaded `.cer` rarely
/// carries its chain).
#[derive(Debug, Clone, Default)]
pub(crate) struct Issuers {
    pub(crate) anchors: kyso_x509::path::TrustStore,
    pub(crate) intermediates: Vec<kyso_x509::Cert>,
}

/// This process's writers: the turn they take one after the other, and how many wait for it.
#[derive(Debug, Default)]
struct Writers {
    turn: std::sync::Arc<tokio::sync::Mutex<Turn>>,
    /// Writers queued for the turn (a grouped writer leaves its group open for them).
    waiting: std::sync::atomic::AtomicUsize,
}

/// What the turn holds between writers: the open transaction of grouped writers, if any.
#[derive(Debug, Default)]
struct Turn {
    group: Option<Group>,
}

/// Most grouped writers in one transaction (bounds how long the first of them waits).
const MAX_GROUP: usize = 64;

/// One transaction shared by grouped writers ([`Store::begin_write_grouped`]), each of whom
/// wrote inside a savepoint of it; not committed yet, and the writers waiting for its commit.
#[derive(Debug)]
struct Group {
    tx: sqlx::Transaction<'static, Any>,
    done: Vec<tokio::sync::oneshot::Sender<std::result::Result<(), String>>>,
    /// The last audit entry the group appended (sequence number, chain value), so that the
    /// next writer need not read it back; `None` when not known.
    last_audit: Option<(i64, [u8; 32])>,
    /// What its writers made durable outside the database ([`WriteTx::commit_after`]).
    durable: Vec<Durable>,
}

/// Work outside the database a transaction's rows rely on (the flush of the blob folder
/// holding the files they name, or their uploads to a bucket), running meanwhile: it must have succeeded before they commit.
pub type Durable = tokio::task::JoinHandle<std::io::Result<()>>;

/// Wait for `durable`: an error if any of it failed.
async fn settle(durable: Vec<Durable>) -> Result<()> {
    for d in durable {
        match d.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Database(sqlx::Error::Io(e))),
            Err(e) => {
                return Err(Error::Database(sqlx::Error::Io(std::io::Error::other(
                    e.to_string(),
                ))))
            }
        }
    }
    Ok(())
}

impl Group {
    /// Commit the group — once what its writers made durable outside the database is (else it
    /// is rolled back) — and tell each of its waiting writers the outcome.
    async fn commit(self) -> Result<()> {
        let Group {
            tx, done, durable, ..
        } = self;
        let result = match settle(durable).await {
            Ok(()) => tx.commit().await.map_err(Error::from),
            Err(e) => {
                tracing::error!(error = %e, "a group of writes is rolled back: its files could not be flushed");
                Err(e)
            }
        };
        for d in done {
            let _ = d.send(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
        result
    }
}

/// Commit the open group, if any (a writer that would have joined it went away).
async fn flush(writers: std::sync::Arc<Writers>) {
    let mut turn = writers.turn.clone().lock_owned().await;
    if let Some(group) = turn.group.take() {
        if let Err(e) = group.commit().await {
            tracing::error!(error = %e, "a group of writes failed to commit");
        }
    }
}

/// Wait for this process's turn to write, counted in `waiting` while queued; a writer that
/// goes away while queued has the open group committed, since it will not.
async fn take_turn(writers: &std::sync::Arc<Writers>) -> tokio::sync::OwnedMutexGuard<Turn> {
    struct Queued {
        writers: std::sync::Arc<Writers>,
        served: bool,
    }
    impl Drop for Queued {
        fn drop(&mut self) {
            self.writers
                .waiting
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            if !self.served {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn(flush(self.writers.clone()));
                }
            }
        }
    }
    writers
        .waiting
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut queued = Queued {
        writers: writers.clone(),
        served: false,
    };
    let turn = writers.turn.clone().lock_owned().await;
    queued.served = true;
    drop(queued);
    turn
}

/// Undo a grouped writer's work that did not commit (its savepoint), then leave the group to
/// the writers queued, or commit it when none is. If the savepoint cannot be undone the whole
/// group is rolled back and its writers are told it failed.
async fn abandon(
    mut tx: sqlx::Transaction<'static, Any>,
    done: Vec<tokio::sync::oneshot::Sender<std::result::Result<(), String>>>,
    durable: Vec<Durable>,
    mut turn: tokio::sync::OwnedMutexGuard<Turn>,
    writers: std::sync::Arc<Writers>,
) {
    let undone = async {
        sqlx::query("ROLLBACK TO SAVEPOINT kyso_writer")
            .execute(&mut *tx)
            .await?;
        sqlx::query("RELEASE SAVEPOINT kyso_writer")
            .execute(&mut *tx)
            .await
    }
    .await;
    if let Err(e) = undone {
        tracing::error!(error = %e, "a grouped write could not be undone alone; its group is rolled back");
        return;
    }
    // The undone writer may have appended an audit entry: the next one reads the chain's end.
    let group = Group {
        tx,
        done,
        last_audit: None,
        durable,
    };
    if writers.waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        if let Err(e) = group.commit().await {
            tracing::error!(error = %e, "a group of writes failed to commit");
        }
    } else {
        turn.group = Some(group);
    }
}

/// A write transaction. Every write takes the store's one write lock first, so that writers
/// queue instead of failing (SQLite) and audit sequence numbers never collide (PostgreSQL).
/// It exists only once its actor's scope has been checked for what it writes
/// ([`Store::begin_write`]), and its audit entry names that actor ([`WriteTx::commit_audited`]).
#[derive(Debug)]
pub struct WriteTx {
    /// The transaction: this writer's own, or its group's (the writer inside a savepoint).
    /// Taken only by [`WriteTx::commit`] and by dropping, which both end the `WriteTx`.
    tx: Option<sqlx::Transaction<'static, Any>>,
    /// A grouped writer's group: the writers before it, waiting for the group's commit.
    group: Option<Vec<tokio::sync::oneshot::Sender<std::result::Result<(), String>>>>,
    key: Option<kyso_domain::audit::AuditKey>,
    /// Who writes: the actor whose scope was checked when the transaction began.
    actor: Actor,
    /// This process's turn to write, released after the transaction ends.
    turn: Option<tokio::sync::OwnedMutexGuard<Turn>>,
    writers: std::sync::Arc<Writers>,
    /// The audit entry last appended in this transaction (or, for a grouped writer, in its
    /// group before it), when known: see [`audit::append`].
    last_audit: Option<(i64, [u8; 32])>,
    /// What must be durable before the transaction commits ([`WriteTx::commit_after`]); for
    /// a grouped writer, its group's too.
    durable: Vec<Durable>,
}

impl Drop for WriteTx {
    /// Not committed: an own transaction rolls back (sqlx, on drop); a grouped writer's
    /// savepoint is undone and the group goes on without it.
    fn drop(&mut self) {
        let (tx, group, turn) = (self.tx.take(), self.group.take(), self.turn.take());
        if let (Some(tx), Some(done), Some(turn)) = (tx, group, turn) {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let durable = std::mem::take(&mut self.durable);
                rt.spawn(abandon(tx, done, durable, turn, self.writers.clone()));
            }
            // Outside a runtime the group's transaction is dropped here: it rolls back whole
            // and its waiting writers are told it failed (their senders are gone).
        }
    }
}

impl WriteTx {
    /// The connection, for queries inside the transaction.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        match self.tx.as_mut() {
            Some(tx) => tx,
            // Only `commit` (which consumes the WriteTx) and `drop` take the transaction.
            None => unreachable!("a WriteTx keeps its transaction until it ends"),
        }
    }

    /// Commit only once `work` (running meanwhile: e.g. the flush of the blob folder where
    /// files the transaction's rows name were just moved) has succeeded; if it fails, the
    /// transaction — a grouped writer's whole group — is rolled back. A group waits for its
    /// writers' work together, just before its one commit, so files made durable by one
    /// flush each are not flushed one after the other inside the write turn.
    pub fn commit_after(&mut self, work: Durable) {
        self.durable.push(work);
    }

    /// The actor the transaction was begun for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The last audit entry appended in this transaction, if known.
    pub(crate) fn last_audit(&self) -> Option<(i64, [u8; 32])> {
        self.last_audit
    }

    /// Record the audit entry just appended in this transaction.
    pub(crate) fn set_last_audit(&mut self, seq: i64, hash: [u8; 32]) {
        self.last_audit = Some((seq, hash));
    }

    /// The audit key of the store the transaction belongs to.
    pub(crate) fn audit_key(&self) -> Option<&kyso_domain::audit::AuditKey> {
        self.key.as_ref()
    }

    /// Make every change of the transaction durable at once. A grouped writer returns once
    /// the group's transaction holding its changes has committed (or failed to): by itself
    /// when no writer is queued (or the group is full), else by the last writer to join.
    pub async fn commit(mut self) -> Result<()> {
        let (tx, group, turn) = (self.tx.take(), self.group.take(), self.turn.take());
        let (Some(tx), Some(mut turn)) = (tx, turn) else {
            return Err(Error::Database(sqlx::Error::Protocol(
                "write transaction already ended".into(),
            )));
        };
        let durable = std::mem::take(&mut self.durable);
        let Some(mut done) = group else {
            settle(durable).await?;
            tx.commit().await?;
            drop(turn);
            return Ok(());
        };
        // The writer's savepoint stays (savepoints of finished writers nest; the commit keeps
        // them all, and a later writer's failure rolls back to its own, the newest of the
        // name): one round trip less inside the lock than releasing it.
        let queued = self
            .writers
            .waiting
            .load(std::sync::atomic::Ordering::SeqCst);
        let last_audit = self.last_audit;
        if queued == 0 || done.len() + 1 >= MAX_GROUP {
            return Group {
                tx,
                done,
                last_audit,
                durable,
            }
            .commit()
            .await;
        }
        let (told, outcome) = tokio::sync::oneshot::channel();
        done.push(told);
        turn.group = Some(Group {
            tx,
            done,
            last_audit,
            durable,
        });
        drop(turn);
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Database(sqlx::Error::Protocol(format!(
                "the group of writes failed to commit: {e}"
            )))),
            Err(_) => Err(Error::Database(sqlx::Error::Protocol(
                "the group of writes was rolled back".into(),
            ))),
        }
    }
}

impl Store {
    /// Open (creating if needed) the database at `url` — `sqlite:PATH` or `postgres://…` — and
    /// bring its schema up to date. A database from a newer kyso is refused.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(Error::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        // sqlx's own events (tracing target `sqlx::query`): each statement's text at debug,
        // a statement slower than a second at warn; never the bound values.
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|_| Error::UnsupportedUrl)?
            .log_statements(tracing::log::LevelFilter::Debug)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let max = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        // Plan each statement for its values: a scope `LIKE $n` or a word
                        // range planned once for any value reads whole tables where the
                        // value at hand needs a few rows. kyso's statements are short index
                        // walks over a registry that stays in memory: an index lookup costs
                        // little more than a sequential read, and a parallel worker costs
                        // more to start than the query (BENCHMARKS.md, issue 6).
                        for setting in [
                            "SET plan_cache_mode = force_custom_plan",
                            "SET random_page_cost = 1.1",
                            "SET max_parallel_workers_per_gather = 0",
                        ] {
                            sqlx::query(setting).execute(&mut *conn).await?;
                        }
                    }
                    if backend == Backend::Sqlite {
                        // WAL: readers never wait for the writer; FULL: a committed
                        // transaction survives a power cut, not only a killed process.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 30000",
                            // Reads through a shared mapping of the file: every pooled
                            // connection sees the pages the others read, where each would
                            // otherwise warm a private cache of its own (BENCHMARKS.md,
                            // issue 6). Writes still go through the journal.
                            "PRAGMA mmap_size = 268435456",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store {
            pool,
            backend,
            audit_key: None,
            reads: Default::default(),
            writers: Default::default(),
            issuers: Default::default(),
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Open a SQLite database file.
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Store> {
        Store::open(&format!("sqlite://{}", path.display())).await
    }

    /// The schema version stored in the database.
    pub async fn schema_version(&self) -> Result<i64> {
        migrate::version(self).await
    }

    /// This store, appending audit entries keyed with `key` (see [`audit`]).
    pub fn with_audit_key(mut self, key: kyso_domain::audit::AuditKey) -> Store {
        self.audit_key = Some(key);
        // A queue of reads already started writes with the old key: this store gets its own.
        self.reads = Default::default();
        self
    }

    /// Accept subscriber certificates that chain to these anchors, through these intermediate
    /// CA certificates where an upload lacks them, from now on (this store and every clone of
    /// it): the trust store the documents' signatures are verified against.
    pub fn trust_issuers(
        &self,
        anchors: &kyso_x509::path::TrustStore,
        intermediates: &[kyso_x509::Cert],
    ) {
        let mut issuers = self
            .issuers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for a in anchors.anchors() {
            if !issuers.anchors.is_anchor(a) {
                issuers.anchors.add(a.clone());
            }
        }
        for c in intermediates {
            if !issuers.intermediates.iter().any(|k| k.der() == c.der()) {
                issuers.intermediates.push(c.clone());
            }
        }
    }

    /// What certificates are checked against on import (a copy, so no lock is held).
    pub(crate) fn issuers(&self) -> Issuers {
        self.issuers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The audit key entries are appended with, if any.
    pub fn audit_key(&self) -> Option<&kyso_domain::audit::AuditKey> {
        self.audit_key.as_ref()
    }

    /// Audit entries of reads queued and not yet committed (see [`audit::record_read`]).
    pub fn queued_reads(&self) -> usize {
        self.reads.depth()
    }

    pub(crate) fn read_log(&self) -> &read_log::ReadLog {
        self.reads.get(self)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begin a write transaction for `actor` on what `on` names, holding the store's write
    /// lock: the one way a write begins, so no write can skip the scope check.
    ///
    /// The actor's roles are checked first ([`Actor::may`], fail closed: a refusal writes
    /// nothing and takes no lock): *forbidden* where the actor may read the agency but not do
    /// the permission there, *not found* where it cannot even read it.
    ///
    /// Writers of this process first wait their turn in a fair (FIFO) queue, holding no
    /// connection, and only then take a connection and the database's lock: a busy writer
    /// (the batches of audited reads) cannot starve another one, as SQLite's polling busy
    /// handler would let it, and waiting writers do not use up the pool. Writers of other
    /// processes (several nodes on one PostgreSQL) still queue on the database's lock.
    pub async fn begin_write(&self, actor: &Actor, on: On<'_>) -> Result<WriteTx> {
        actor.may(on)?;
        let mut turn = take_turn(&self.writers).await;
        // Grouped writers before this one are committed first (they are waiting for it).
        if let Some(group) = turn.group.take() {
            if let Err(e) = group.commit().await {
                tracing::error!(error = %e, "a group of writes failed to commit");
            }
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE kyso_write_lock SET n = n + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(WriteTx {
            tx: Some(tx),
            group: None,
            key: self.audit_key.clone(),
            actor: actor.clone(),
            turn: Some(turn),
            writers: self.writers.clone(),
            last_audit: None,
            durable: Vec::new(),
        })
    }

    /// [`Store::begin_write`] for a writer whose transaction may share one commit with the
    /// writers queued behind it (group commit): a busy store then pays one durable commit
    /// (one fsync) for a group of writes instead of one each, which is what bounds the rate
    /// of serialised writes (BENCHMARKS.md, issue 17).
    ///
    /// Each writer still runs alone, in turn, holding the database's write lock, and sees the
    /// writes of the writers before it (the audit chain and the next number stay ordered);
    /// its work is a savepoint of the group's transaction, undone alone if it fails or is
    /// dropped. It is answered only after the transaction holding its changes has committed:
    /// a crash before that loses the whole group, none of whom was answered. Only for writers
    /// that read and write through [`WriteTx::conn`] alone while they hold it (a read through
    /// the pool would not see the group's earlier, uncommitted writes).
    pub async fn begin_write_grouped(&self, actor: &Actor, on: On<'_>) -> Result<WriteTx> {
        actor.may(on)?;
        let mut turn = take_turn(&self.writers).await;
        let (mut tx, done, last_audit, durable) = match turn.group.take() {
            Some(Group {
                tx,
                done,
                last_audit,
                durable,
            }) => (tx, done, last_audit, durable),
            None => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE kyso_write_lock SET n = n + 1 WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                (tx, Vec::new(), None, Vec::new())
            }
        };
        // On failure the group's transaction is dropped (rolled back whole): its writers are
        // told so.
        sqlx::query("SAVEPOINT kyso_writer")
            .execute(&mut *tx)
            .await?;
        Ok(WriteTx {
            tx: Some(tx),
            group: Some(done),
            key: self.audit_key.clone(),
            actor: actor.clone(),
            turn: Some(turn),
            writers: self.writers.clone(),
            last_audit,
            durable,
        })
    }

    /// Close the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A stored setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Store a setting inside a write transaction.
    pub async fn set_setting(tx: &mut WriteTx, key: &str, value: &str) -> Result<()> {
        sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key)
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(tx.conn())
            .await?;
        Ok(())
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `n` random bytes from the system generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut out = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| Error::Database(sqlx::Error::Protocol("no randomness".into())))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::testing::{backends, TestDb};

    async fn queued(store: &Store, n: usize) {
        while store
            .writers
            .waiting
            .load(std::sync::atomic::Ordering::SeqCst)
            < n
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn setting_written(store: &Store, key: &str) -> bool {
        store.setting(key).await.unwrap().is_some()
    }

    /// A, B and C write in turn in one group: A is answered only once C committed the group;
    /// B, dropped without committing, is undone alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_writers_share_one_commit_and_a_dropped_one_is_undone_alone() {
        for b in backends() {
            let db = TestDb::new(b).await;
            let s = db.store.clone();
            let sys = Actor::system();
            let mut a = s.begin_write_grouped(&sys, On::System).await.unwrap();
            Store::set_setting(&mut a, "group.a", "1").await.unwrap();
            let s2 = s.clone();
            let writer_b = tokio::spawn(async move {
                let mut t = s2
                    .begin_write_grouped(&Actor::system(), On::System)
                    .await
                    .unwrap();
                Store::set_setting(&mut t, "group.b", "1").await.unwrap();
                drop(t);
            });
            queued(&s, 1).await;
            let s3 = s.clone();
            let writer_c = tokio::spawn(async move {
                let mut t = s3
                    .begin_write_grouped(&Actor::system(), On::System)
                    .await
                    .unwrap();
                Store::set_setting(&mut t, "group.c", "1").await.unwrap();
                t.commit().await.unwrap();
            });
            queued(&s, 2).await;
            // Writers are queued: A leaves the group open for them and waits for its commit.
            a.commit().await.unwrap();
            assert!(setting_written(&s, "group.a").await);
            assert!(
                setting_written(&s, "group.c").await,
                "A was answered only after the group holding C's write committed"
            );
            assert!(!setting_written(&s, "group.b").await, "B was undone");
            writer_b.await.unwrap();
            writer_c.await.unwrap();
            // The write lock is free again for an ordinary writer.
            let mut d = s.begin_write(&sys, On::System).await.unwrap();
            Store::set_setting(&mut d, "group.d", "1").await.unwrap();
            d.commit().await.unwrap();
            assert!(setting_written(&s, "group.d").await);
            if b == Backend::Postgres {
                s.close().await;
            }
        }
    }
}
