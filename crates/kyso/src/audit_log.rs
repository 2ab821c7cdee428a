//! The audit log's key and checkpoints on the server's side: `kyso audit verify`,
//! `kyso audit checkpoint`, and the check `kyso serve` runs at start, every minute and at a
//! clean stop ([`Guard`]).
//!
//! The key (`DATA/audit.key`) and the checkpoint file (`DATA/audit-checkpoints.jsonl`) live
//! outside the database (`--audit-key-file`, `--audit-checkpoint-file` put them elsewhere, e.g.
//! on another volume); `kyso audit checkpoint -o FILE` exports a checkpoint for off-site keeping
//! and `kyso audit verify --checkpoint FILE` compares the log with it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};
use kyso_domain::audit::{keyed_boundary, AuditKey, ChainError, Checkpoint};
use kyso_store::audit_verify::{self, NoCheckpoint};
use kyso_store::checkpoints::{self, SignedCheckpoint};
use kyso_store::Store;
use serde_json::json;
use time::OffsetDateTime;

use crate::serve::DbArgs;
use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::{Lang, UserError};

/// Where the audit key and the server's checkpoints are.
#[derive(Debug, Clone, ClapArgs)]
pub struct FileArgs {
    /// Tệp khóa nhật ký kiểm toán (mặc định: THƯ_MỤC_DỮ_LIỆU/audit.key); nên đặt ngoài máy chủ
    /// cơ sở dữ liệu
    #[arg(long, env = "KYSO_AUDIT_KEY_FILE", value_name = "TỆP")]
    pub audit_key_file: Option<PathBuf>,
    /// Tệp điểm kiểm tra nhật ký của máy chủ (mặc định:
    /// THƯ_MỤC_DỮ_LIỆU/audit-checkpoints.jsonl)
    #[arg(long, env = "KYSO_AUDIT_CHECKPOINT_FILE", value_name = "TỆP")]
    pub audit_checkpoint_file: Option<PathBuf>,
}

impl FileArgs {
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(checkpoints::KEY_FILE))
    }

    pub fn checkpoint_file(&self, data_dir: &Path) -> PathBuf {
        self.audit_checkpoint_file
            .clone()
            .unwrap_or_else(|| data_dir.join(checkpoints::CHECKPOINT_FILE))
    }
}

/// `kyso audit …`
#[derive(Debug, ClapArgs)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Kiểm tra tính toàn vẹn của nhật ký (phát hiện mục bị sửa, xóa, cắt bớt, xóa sạch hoặc
    /// viết lại) với khóa nhật ký và các điểm kiểm tra
    Verify(VerifyArgs),
    /// Kiểm tra nhật ký rồi ghi một điểm kiểm tra mới ra tệp để lưu ngoài máy chủ
    Checkpoint(CheckpointArgs),
    /// In khóa công khai (Ed25519) của các điểm kiểm tra, để kiểm tra chúng mà không cần khóa
    /// bí mật
    PublicKey(PublicKeyArgs),
}

#[derive(Debug, ClapArgs)]
pub struct PublicKeyArgs {
    /// Thư mục dữ liệu của kyso serve
    #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub files: FileArgs,
    /// Ghi khóa công khai (64 chữ số hex) vào tệp này
    #[arg(short = 'o', long = "output", value_name = "TỆP")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub files: FileArgs,
    /// Tệp điểm kiểm tra lưu ngoài máy chủ (từ kyso audit checkpoint -o); lặp lại được
    #[arg(long = "checkpoint", value_name = "TỆP")]
    pub checkpoints: Vec<PathBuf>,
    /// Khóa công khai của điểm kiểm tra (từ kyso audit public-key): khi không có khóa nhật
    /// ký, kiểm tra chữ ký các điểm kiểm tra và liên kết của chuỗi
    #[arg(long, value_name = "TỆP")]
    pub public_key: Option<PathBuf>,
    /// In kết quả dạng JSON (lược đồ kyso.audit/1, xem docs/audit-json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, ClapArgs)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub files: FileArgs,
    /// Tệp ghi điểm kiểm tra (một dòng JSON)
    #[arg(short = 'o', long = "output", value_name = "TỆP")]
    pub output: PathBuf,
}

pub fn run(args: AuditArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ue!("lỗi khởi động: {}", e; "cannot start: {}", e).environment())?;
    match args.command {
        AuditCommand::Verify(a) => rt.block_on(verify(a, lang)),
        AuditCommand::Checkpoint(a) => rt.block_on(checkpoint(a, lang)),
        AuditCommand::PublicKey(a) => public_key(a, lang),
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

fn public_key(a: PublicKeyArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let key_path = a.files.key_file(&a.data_dir);
    let Some(key) = read_key(&key_path)? else {
        return Err(errors::io(&key_path, &std::io::ErrorKind::NotFound.into()).into());
    };
    let Some(public) = key.public_key() else {
        return Err(
            ue!("không tạo được khóa công khai"; "cannot derive the public key")
                .usage()
                .into(),
        );
    };
    let text = hex(&public);
    match &a.output {
        Some(path) => {
            write_atomically(path, format!("{text}\n").as_bytes())?;
            println!(
                "{}",
                lang.pick(
                    &format!("Đã ghi khóa công khai {text} vào {}", path.display()),
                    &format!("Public key {text} written to {}", path.display()),
                )
            );
        }
        None => println!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
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

async fn verify(a: VerifyArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let key_path = a.files.key_file(&a.db.data_dir);
    let key = read_key(&key_path)?;
    let mut signed = Vec::new();
    let cp_path = a.files.checkpoint_file(&a.db.data_dir);
    let mut damaged: Option<(PathBuf, String)> = None;
    for path in std::iter::once(&cp_path).chain(a.checkpoints.iter()) {
        if path != &cp_path && !path.exists() {
            return Err(errors::io(path, &std::io::ErrorKind::NotFound.into()).into());
        }
        match read_checkpoints(path)? {
            Ok(c) => signed.extend(c),
            Err(why) => damaged = Some((path.clone(), why)),
        }
    }
    let public = match (&key, &a.public_key) {
        (None, Some(path)) => Some(checkpoints::load_public_key(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                ue!("{} không phải khóa công khai (64 chữ số hex)", path.display(); "{} is not a public key (64 hex digits)", path.display()).usage()
            } else {
                errors::io(path, &e)
            }
        })?),
        _ => None,
    };
    let store = crate::serve::open(&a.db.data_dir, a.db.database_url.as_deref()).await?;
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
    if a.json {
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
        println!("{v:#}");
    } else if let Some(p) = &problem {
        let (head_vi, head_en) = if p.is_no_key() {
            (
                "KHÔNG XÁC NHẬN ĐƯỢC NHẬT KÝ",
                "THE AUDIT LOG CANNOT BE VOUCHED FOR",
            )
        } else {
            ("NHẬT KÝ BỊ THAY ĐỔI", "THE AUDIT LOG WAS TAMPERED WITH")
        };
        eprintln!(
            "{}",
            lang.pick(
                &format!("{head_vi}: {}", p.vi),
                &format!("{head_en}: {}", p.en)
            )
        );
        if !finding.keyed && !p.is_no_key() {
            eprintln!("{}", lang.pick(&no_key_note.0, &no_key_note.1));
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
        println!(
            "{}",
            lang.pick(
                &format!(
                    "Nhật ký toàn vẹn: {} mục ({keyed}), mục cuối #{}, mã cuối {head}; khớp {} điểm kiểm tra",
                    s.count, s.last_seq, finding.checkpoints
                ),
                &format!(
                    "The audit log is intact: {} entries ({keyed}), last #{}, head {head}; {} checkpoints match",
                    s.count, s.last_seq, finding.checkpoints
                ),
            )
        );
        if public.is_some() {
            println!(
                "{}",
                lang.pick(
                    "Chỉ với khóa công khai: đã kiểm tra chữ ký các điểm kiểm tra, liên kết của chuỗi và các mục trước khi có khóa; nội dung các mục có khóa cần khóa nhật ký để kiểm tra",
                    "With the public key only: the checkpoints' signatures, the chain's links and the entries before keying were checked; the content of keyed entries needs the audit key",
                )
            );
        }
        if let Some(c) = finding.latest {
            println!(
                "{}",
                lang.pick(
                    &format!(
                        "Điểm kiểm tra mới nhất: mục #{} lúc {}",
                        c.last_seq,
                        when(c.at)
                    ),
                    &format!("Latest checkpoint: entry #{} at {}", c.last_seq, when(c.at)),
                )
            );
        }
    }
    Ok(if problem.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

async fn checkpoint(a: CheckpointArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let key_path = a.files.key_file(&a.db.data_dir);
    let Some(key) = read_key(&key_path)? else {
        return Err(errors::io(&key_path, &std::io::ErrorKind::NotFound.into()).into());
    };
    let cp_path = a.files.checkpoint_file(&a.db.data_dir);
    let signed = match read_checkpoints(&cp_path)? {
        Ok(s) => s,
        Err(why) => {
            eprintln!(
                "{}",
                lang.pick(
                    &format!("NHẬT KÝ BỊ THAY ĐỔI: tệp điểm kiểm tra {} bị hỏng hoặc bị sửa ({why})", cp_path.display()),
                    &format!("THE AUDIT LOG WAS TAMPERED WITH: the checkpoint file {} is damaged or was edited ({why})", cp_path.display()),
                )
            );
            return Ok(ExitCode::from(1));
        }
    };
    let store = crate::serve::open(&a.db.data_dir, a.db.database_url.as_deref()).await?;
    let made = audit_verify::new_checkpoint(&store, &key, &signed, crate::clock::now()).await;
    store.close().await;
    let (cp, summary) = match made.map_err(|e| store_error(&e))? {
        Ok(made) => made,
        Err(NoCheckpoint::NotStarted) => {
            return Err(ue!("chưa có điểm kiểm tra nào: hãy chạy kyso serve một lần"; "no checkpoint yet: run kyso serve once").usage().into())
        }
        Err(NoCheckpoint::Broken(e)) => {
            eprintln!(
                "{}",
                lang.pick(
                    &format!("NHẬT KÝ BỊ THAY ĐỔI: {}", e.message_vi()),
                    &format!("THE AUDIT LOG WAS TAMPERED WITH: {}", e.message_en()),
                )
            );
            return Ok(ExitCode::from(1));
        }
    };
    checkpoints::append(&cp_path, &cp).map_err(|e| errors::io(&cp_path, &e))?;
    write_atomically(&a.output, format!("{}\n", cp.to_line()).as_bytes())?;
    println!(
        "{}",
        lang.pick(
            &format!(
                "Đã ghi điểm kiểm tra mục #{} ({} mục) vào {}; hãy lưu tệp này ngoài máy chủ",
                summary.last_seq,
                summary.count,
                a.output.display()
            ),
            &format!(
                "Checkpoint of entry #{} ({} entries) written to {}; keep it off this server",
                summary.last_seq,
                summary.count,
                a.output.display()
            ),
        )
    );
    Ok(ExitCode::SUCCESS)
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
    alert: kyso_web::AuditAlert,
    lang: Lang,
}

impl Guard {
    /// At start, before anything is written: read the checkpoints, read the key (made now if
    /// missing, with the first checkpoint recording where keying begins), and check the whole
    /// log. Returns the store keyed with the key.
    pub async fn start(
        store: Store,
        data_dir: &Path,
        files: &FileArgs,
        alert: kyso_web::AuditAlert,
        lang: Lang,
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
                        crate::clock::now(),
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
                    println!(
                        "{}",
                        lang.pick(
                            &format!(
                                "Đã tạo khóa nhật ký kiểm toán {}{before}. Hãy sao lưu khóa ra ngoài máy chủ.",
                                key_path.display(),
                            ),
                            &format!(
                                "Made the audit key {}{before}. Back the key up off this server.",
                                key_path.display(),
                            ),
                        )
                    );
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
        let now = crate::clock::now();
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

/// The periodic check: every minute (cheap: only what was added since the last checkpoint);
/// `KYSO_AUDIT_CHECK_SECS` sets another period (the tests use 1 s).
pub async fn run_guard(guard: std::sync::Arc<tokio::sync::Mutex<Guard>>) {
    let secs = std::env::var("KYSO_AUDIT_CHECK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(60);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        guard.lock().await.step(false).await;
    }
}
