//! The audit log's key and checkpoints on the server's side: `kyso audit verify`,
//! `kyso audit checkpoint`, `kyso audit public-key` ([`verify`], [`checkpoint`],
//! [`public_key`]), and the check `kyso serve` runs at start, every minute and at a clean stop
//! ([`Guard`]).
//!
//! The key (`DATA/audit.key`) and the checkpoint file (`DATA/audit-checkpoints.jsonl`) live
//! outside the database (`--audit-key-file`, `--audit-checkpoint-file` put them elsewhere, e.g.
//! on another volume); `kyso audit checkpoint -o FILE` exports a checkpoint for off-site keeping
//! and `kyso audit verify --checkpoint FILE` compares the log with it.

use std::path::{Path, PathBuf};

use kyso_domain::audit::{keyed_boundary, AuditKey, ChainError, Checkpoint};
use kyso_i18n::catalogue as errors;
use kyso_i18n::{ue, Lang, UserError};
use kyso_store::audit_verify::{self, NoCheckpoint};
use kyso_store::checkpoints::{self, SignedCheckpoint};
use kyso_store::Store;
use serde_json::json;
use time::OffsetDateTime;

use super::{Now, Say};

/// Where the audit key and the server's checkpoints are (`None`: in the data folder).
#[derive(Debug, Clone, Default)]
pub struct AuditFiles {
    pub key_file: Option<PathBuf>,
    pub checkpoint_file: Option<PathBuf>,
}

impl AuditFiles {
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(checkpoints::KEY_FILE))
    }

    pub fn checkpoint_file(&self, data_dir: &Path) -> PathBuf {
        self.checkpoint_file
            .clone()
            .unwrap_or_else(|| data_dir.join(checkpoints::CHECKPOINT_FILE))
    }
}

/// The database of `kyso serve`: its data folder and, for PostgreSQL, its URL.
#[derive(Debug, Clone)]
pub struct Db {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

/// What an audit command shows: lines for stdout and for stderr, and whether the log was found
/// intact (the command exits 1 when it was not).
#[derive(Debug, Default)]
pub struct Outcome {
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    pub intact: bool,
}

impl Outcome {
    fn tampered(line: String) -> Outcome {
        Outcome {
            stderr: vec![line],
            ..Outcome::default()
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key at `path`, or none when there is no such file.
fn read_key(path: &Path) -> Result<Option<AuditKey>, UserError> {
    match audit_verify::read_key(path) {
        Ok(k) => Ok(k),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(ue!(
            "{} không phải tệp khóa nhật ký (64 chữ số hex)", path.display();
            "{} is not an audit key file (64 hex digits)", path.display()
        )
        .usage()),
        Err(e) => Err(errors::io(path, &e)),
    }
}

/// The checkpoints in `path` (none when there is no such file); a damaged file is a finding.
fn read_checkpoints(path: &Path) -> Result<Result<Vec<SignedCheckpoint>, String>, UserError> {
    audit_verify::read_checkpoints(path).map_err(|e| errors::io(path, &e))
}

/// `kyso audit public-key`: the checkpoints' public key (Ed25519), printed or written to
/// `output`.
pub fn public_key(
    data_dir: &Path,
    files: &AuditFiles,
    output: Option<&Path>,
    lang: Lang,
) -> Result<Outcome, UserError> {
    let key_path = files.key_file(data_dir);
    let Some(key) = read_key(&key_path)? else {
        return Err(errors::io(&key_path, &std::io::ErrorKind::NotFound.into()));
    };
    let Some(public) = key.public_key() else {
        return Err(ue!("không tạo được khóa công khai"; "cannot derive the public key").usage());
    };
    let text = hex(&public);
    let line = match output {
        Some(path) => {
            write_atomically(path, format!("{text}\n").as_bytes())?;
            lang.pick(
                &format!("Đã ghi khóa công khai {text} vào {}", path.display()),
                &format!("Public key {text} written to {}", path.display()),
            )
            .to_owned()
        }
        None => text,
    };
    Ok(Outcome {
        stdout: vec![line],
        intact: true,
        ..Outcome::default()
    })
}

fn store_error(e: &kyso_store::Error) -> UserError {
    match e {
        kyso_store::Error::Database(inner) => ue!(
            "lỗi cơ sở dữ liệu: {}", inner; "database error: {}", inner
        )
        .environment(),
        _ => UserError::new(e.message(false), e.message(true)).environment(),
    }
}

/// `kyso audit verify`: check the log with the key (or only the checkpoints' signatures with
/// `public_key`), the server's checkpoints and those kept off the server (`extra`); a report
/// in words or, with `as_json`, `kyso.audit/1` (docs/audit-json.md).
pub async fn verify(
    db: &Db,
    files: &AuditFiles,
    extra: &[PathBuf],
    public_key: Option<&Path>,
    as_json: bool,
    lang: Lang,
) -> Result<Outcome, UserError> {
    let key_path = files.key_file(&db.data_dir);
    let key = read_key(&key_path)?;
    let mut signed = Vec::new();
    let cp_path = files.checkpoint_file(&db.data_dir);
    let mut damaged: Option<(PathBuf, String)> = None;
    for path in std::iter::once(&cp_path).chain(extra.iter()) {
        if path != &cp_path && !path.exists() {
            return Err(errors::io(path, &std::io::ErrorKind::NotFound.into()));
        }
        match read_checkpoints(path)? {
            Ok(c) => signed.extend(c),
            Err(why) => damaged = Some((path.clone(), why)),
        }
    }
    let public = match (&key, public_key) {
        (None, Some(path)) => Some(checkpoints::load_public_key(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                ue!("{} không phải khóa công khai (64 chữ số hex)", path.display(); "{} is not a public key (64 hex digits)", path.display()).usage()
            } else {
                errors::io(path, &e)
            }
        })?),
        _ => None,
    };
    let store = super::open(&db.data_dir, db.database_url.as_deref()).await?;
    let finding = match &public {
        Some(pk) => audit_verify::verify_public(&store, pk, &signed).await,
        None => audit_verify::verify_log(&store, key.as_ref(), &signed).await,
    }
    .map_err(|e| store_error(&e))?;
    store.close().await;
    let no_key_note = audit_verify::no_key_note(&key_path);
    let problem = finding.problem(
        damaged.as_ref().map(|(p, why)| (p.as_path(), why.as_str())),
        &key_path,
    );
    let mut out = Outcome {
        intact: problem.is_none(),
        ..Outcome::default()
    };
    if as_json {
        let summary = finding.result.as_ref().ok();
        let v = json!({
            "schema": "kyso.audit/1",
            "intact": problem.is_none(),
            "entries": summary.map(|s| s.count),
            "last_seq": summary.map(|s| s.last_seq),
            "head": summary.map(|s| hex(&s.head)),
            "keyed": finding.keyed,
            "keyed_from": finding.keyed_from,
            "checkpoints": finding.checkpoints,
            "latest_checkpoint": finding.latest.map(|c| json!({
                "count": c.count,
                "last_seq": c.last_seq,
                "head": hex(&c.head),
                "at": c.at.format(&time::format_description::well_known::Rfc3339).ok(),
            })),
            "problem": problem.as_ref().map(|p| json!({
                "code": p.code,
                "message": lang.pick(&p.vi, &p.en),
            })),
        });
        out.stdout.push(format!("{v:#}"));
    } else if let Some(p) = &problem {
        let (head_vi, head_en) = if p.is_no_key() {
            (
                "KHÔNG XÁC NHẬN ĐƯỢC NHẬT KÝ",
                "THE AUDIT LOG CANNOT BE VOUCHED FOR",
            )
        } else {
            ("NHẬT KÝ BỊ THAY ĐỔI", "THE AUDIT LOG WAS TAMPERED WITH")
        };
        out.stderr.push(
            lang.pick(
                &format!("{head_vi}: {}", p.vi),
                &format!("{head_en}: {}", p.en),
            )
            .to_owned(),
        );
        if !finding.keyed && !p.is_no_key() {
            out.stderr
                .push(lang.pick(&no_key_note.0, &no_key_note.1).to_owned());
        }
    } else if let Ok(s) = &finding.result {
        let head = hex(&s.head);
        let keyed = match finding.keyed_from {
            Some(k) if k > 1 => lang
                .pick(
                    &format!("mục 1–{} ghi trước khi có khóa, từ mục {k} có khóa", k - 1),
                    &format!(
                        "entries 1–{} written before keying, keyed from entry {k} on",
                        k - 1
                    ),
                )
                .to_owned(),
            Some(_) => lang.pick("mọi mục có khóa", "every entry keyed").to_owned(),
            None => lang.pick("không có khóa", "not keyed").to_owned(),
        };
        out.stdout.push(lang.pick(
            &format!(
                "Nhật ký toàn vẹn: {} mục ({keyed}), mục cuối #{}, mã cuối {head}; khớp {} điểm kiểm tra",
                s.count, s.last_seq, finding.checkpoints
            ),
            &format!(
                "The audit log is intact: {} entries ({keyed}), last #{}, head {head}; {} checkpoints match",
                s.count, s.last_seq, finding.checkpoints
            ),
        ).to_owned());
        if public.is_some() {
            out.stdout.push(lang.pick(
                "Chỉ với khóa công khai: đã kiểm tra chữ ký các điểm kiểm tra, liên kết của chuỗi và các mục trước khi có khóa; nội dung các mục có khóa cần khóa nhật ký để kiểm tra",
                "With the public key only: the checkpoints' signatures, the chain's links and the entries before keying were checked; the content of keyed entries needs the audit key",
            ).to_owned());
        }
        if let Some(c) = finding.latest {
            out.stdout.push(
                lang.pick(
                    &format!(
                        "Điểm kiểm tra mới nhất: mục #{} lúc {}",
                        c.last_seq,
                        when(c.at)
                    ),
                    &format!("Latest checkpoint: entry #{} at {}", c.last_seq, when(c.at)),
                )
                .to_owned(),
            );
        }
    }
    Ok(out)
}

fn when(at: OffsetDateTime) -> String {
    let vn = at.to_offset(time::macros::offset!(+7));
    format!(
        "{:02}/{:02}/{} {:02}:{:02} (+07:00)",
        vn.day(),
        u8::from(vn.month()),
        vn.year(),
        vn.hour(),
        vn.minute()
    )
}

/// `kyso audit checkpoint`: check the log, append a new checkpoint to the server's file and
/// write it to `output` for keeping off the server.
pub async fn checkpoint(
    db: &Db,
    files: &AuditFiles,
    output: &Path,
    now: Now,
    lang: Lang,
) -> Result<Outcome, UserError> {
    let key_path = files.key_file(&db.data_dir);
    let Some(key) = read_key(&key_path)? else {
        return Err(errors::io(&key_path, &std::io::ErrorKind::NotFound.into()));
    };
    let cp_path = files.checkpoint_file(&db.data_dir);
    let signed = match read_checkpoints(&cp_path)? {
        Ok(s) => s,
        Err(why) => {
            return Ok(Outcome::tampered(lang.pick(
                &format!("NHẬT KÝ BỊ THAY ĐỔI: tệp điểm kiểm tra {} bị hỏng hoặc bị sửa ({why})", cp_path.display()),
                &format!("THE AUDIT LOG WAS TAMPERED WITH: the checkpoint file {} is damaged or was edited ({why})", cp_path.display()),
            ).to_owned()));
        }
    };
    let store = super::open(&db.data_dir, db.database_url.as_deref()).await?;
    let made = audit_verify::new_checkpoint(&store, &key, &signed, now()).await;
    store.close().await;
    let (cp, summary) = match made.map_err(|e| store_error(&e))? {
        Ok(made) => made,
        Err(NoCheckpoint::NotStarted) => {
            return Err(ue!("chưa có điểm kiểm tra nào: hãy chạy kyso serve một lần"; "no checkpoint yet: run kyso serve once").usage())
        }
        Err(NoCheckpoint::Broken(e)) => {
            return Ok(Outcome::tampered(
                lang.pick(
                    &format!("NHẬT KÝ BỊ THAY ĐỔI: {}", e.message_vi()),
                    &format!("THE AUDIT LOG WAS TAMPERED WITH: {}", e.message_en()),
                )
                .to_owned(),
            ));
        }
    };
    checkpoints::append(&cp_path, &cp).map_err(|e| errors::io(&cp_path, &e))?;
    write_atomically(output, format!("{}\n", cp.to_line()).as_bytes())?;
    Ok(Outcome {
        stdout: vec![lang
            .pick(
                &format!(
                    "Đã ghi điểm kiểm tra mục #{} ({} mục) vào {}; hãy lưu tệp này ngoài máy chủ",
                    summary.last_seq,
                    summary.count,
                    output.display()
                ),
                &format!(
                    "Checkpoint of entry #{} ({} entries) written to {}; keep it off this server",
                    summary.last_seq,
                    summary.count,
                    output.display()
                ),
            )
            .to_owned()],
        intact: true,
        ..Outcome::default()
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UserError> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |e: std::io::Error| errors::io(path, &e);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Entries added before a new checkpoint is written (else one an hour, and one at a clean stop).
const CHECKPOINT_EVERY: i64 = 1000;

/// The server's audit check: the key, the last verified checkpoint, and the alert shown to
/// auditors when the log is found tampered with.
pub struct Guard {
    store: Store,
    key: AuditKey,
    keyed_from: i64,
    file: PathBuf,
    last: Option<Checkpoint>,
    alert: crate::AuditAlert,
    lang: Lang,
    now: Now,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("keyed_from", &self.keyed_from)
            .field("file", &self.file)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// At start, before anything is written: read the checkpoints, read the key (made now if
    /// missing, with the first checkpoint recording where keying begins), and check the whole
    /// log. Returns the store keyed with the key.
    pub async fn start(
        store: Store,
        data_dir: &Path,
        files: &AuditFiles,
        alert: crate::AuditAlert,
        lang: Lang,
        now: Now,
        say: &Say,
    ) -> Result<(Store, Guard), UserError> {
        let key_path = files.key_file(data_dir);
        let file = files.checkpoint_file(data_dir);
        let (key, made) =
            checkpoints::load_or_create_key(&key_path).map_err(|e| errors::io(&key_path, &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key_path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "{}",
                    lang.pick(
                        &format!("cảnh báo: người khác đọc được khóa nhật ký {} (quyền {:o}); hãy đặt quyền 600", key_path.display(), mode & 0o777),
                        &format!("warning: the audit key {} is readable by others (mode {:o}); make it 600", key_path.display(), mode & 0o777),
                    )
                );
            }
        }
        let mut guard = Guard {
            store: store.clone().with_audit_key(key.clone()),
            key,
            keyed_from: i64::MAX,
            file,
            last: None,
            alert,
            lang,
            now,
        };
        let signed = match read_checkpoints(&guard.file)? {
            Ok(s) => s,
            Err(why) => {
                guard.raise(
                    &format!(
                        "tệp điểm kiểm tra {} bị hỏng hoặc bị sửa ({why})",
                        guard.file.display()
                    ),
                    &format!(
                        "the checkpoint file {} is damaged or was edited ({why})",
                        guard.file.display()
                    ),
                );
                return Ok((guard.store.clone(), guard));
            }
        };
        if made && signed.is_empty() {
            // The key is new: entries so far (from an older kyso) keep their unkeyed hashes;
            // the first checkpoint records where keying begins.
            match kyso_store::audit::verify(&store)
                .await
                .map_err(|e| store_error(&e))?
            {
                Ok(summary) => {
                    let cp = checkpoints::checkpoint_of(
                        &summary,
                        summary.last_seq.saturating_add(1),
                        now(),
                        &guard.key,
                    );
                    checkpoints::append(&guard.file, &cp)
                        .map_err(|e| errors::io(&guard.file, &e))?;
                    let before = if summary.last_seq > 0 {
                        lang.pick(
                            &format!(
                                " (các mục đến #{} được ghi trước khi có khóa)",
                                summary.last_seq
                            ),
                            &format!(
                                " (entries up to #{} were written before keying)",
                                summary.last_seq
                            ),
                        )
                        .to_owned()
                    } else {
                        String::new()
                    };
                    say(lang.pick(
                        &format!(
                            "Đã tạo khóa nhật ký kiểm toán {}{before}. Hãy sao lưu khóa ra ngoài máy chủ.",
                            key_path.display(),
                        ),
                        &format!(
                            "Made the audit key {}{before}. Back the key up off this server.",
                            key_path.display(),
                        ),
                    ));
                    guard.keyed_from = cp.checkpoint.keyed_from;
                    guard.last = Some(cp.checkpoint);
                }
                Err(e) => guard.raise_chain(&e),
            }
            return Ok((guard.store.clone(), guard));
        }
        let cps = match checkpoints::authenticate(&signed, &guard.key) {
            Ok(c) => c,
            Err(e) => {
                guard.raise_chain(&e);
                return Ok((guard.store.clone(), guard));
            }
        };
        match kyso_store::audit::verify_against(&guard.store, Some(&guard.key), &cps)
            .await
            .map_err(|e| store_error(&e))?
        {
            Ok(_) => {
                guard.keyed_from = keyed_boundary(&cps).ok().flatten().unwrap_or(i64::MAX);
                guard.last = cps.iter().max_by_key(|c| c.last_seq).copied();
            }
            Err(e) => guard.raise_chain(&e),
        }
        Ok((guard.store.clone(), guard))
    }

    fn failed(&self) -> bool {
        self.alert.read().map(|a| a.is_some()).unwrap_or(true)
    }

    fn raise_chain(&self, e: &ChainError) {
        self.raise(&e.message_vi(), &e.message_en());
    }

    /// Log the failure loudly and show it to auditors on every page.
    fn raise(&self, vi: &str, en: &str) {
        let vi = format!("NHẬT KÝ KIỂM TOÁN BỊ THAY ĐỔI: {vi}. Hãy chạy kyso audit verify và đối chiếu với điểm kiểm tra lưu ngoài máy chủ.");
        let en = format!("THE AUDIT LOG WAS TAMPERED WITH: {en}. Run kyso audit verify and compare with a checkpoint kept off this server.");
        tracing::error!("{}", self.lang.pick(&vi, &en));
        if let Ok(mut a) = self.alert.write() {
            *a = Some((vi, en));
        }
    }

    /// Check what the log gained since the last checkpoint and, when it grew by
    /// [`CHECKPOINT_EVERY`] entries, an hour passed, or `force`, write a new checkpoint.
    pub async fn step(&mut self, force: bool) {
        if self.failed() {
            return;
        }
        let Some(last) = self.last else {
            return;
        };
        let result =
            kyso_store::audit::verify_since(&self.store, &self.key, self.keyed_from, &last).await;
        let summary = match result {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.raise_chain(&e),
            Err(e) => {
                tracing::error!(error = %e, "audit check failed");
                return;
            }
        };
        let now = (self.now)();
        let grown = summary.last_seq - last.last_seq;
        if grown > 0
            && (force || grown >= CHECKPOINT_EVERY || now - last.at >= time::Duration::HOUR)
        {
            let cp = checkpoints::checkpoint_of(&summary, self.keyed_from, now, &self.key);
            match checkpoints::append(&self.file, &cp) {
                Ok(()) => self.last = Some(cp.checkpoint),
                Err(e) => tracing::error!(
                    error = %e,
                    file = %self.file.display(),
                    "cannot write the audit checkpoint"
                ),
            }
        }
    }
}

/// The periodic check, every `period` (cheap: only what was added since the last checkpoint).
pub async fn run_guard(
    guard: std::sync::Arc<tokio::sync::Mutex<Guard>>,
    period: std::time::Duration,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        guard.lock().await.step(false).await;
    }
}
