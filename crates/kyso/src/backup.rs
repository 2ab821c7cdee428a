//! `kyso backup create`, `kyso backup verify`, `kyso backup restore`: their options and their
//! report; the work is `kyso_store::backup`'s (as is the scheduled backup of `kyso serve
//! --backup-dir --backup-every`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args as ClapArgs, Subcommand};
use kyso_i18n::{ue, Lang, UserError};
use kyso_store::backup::{self, BackupError, Objects};
use kyso_web::server::config::{open_blobs, s3_credentials, Place, STAGING};
use kyso_web::server::AuditFiles;

use crate::serve::{DbArgs, ObjectArgs};

/// `kyso backup …`
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Sao lưu: ảnh chụp nhất quán của cơ sở dữ liệu (SQLite: sao chép trực tuyến; PostgreSQL:
    /// pg_dump), các tệp văn bản chưa có trong thư mục sao lưu (theo SHA-256) và manifest ghi
    /// sau cùng; chạy được khi kyso serve đang ghi
    Create(CreateArgs),
    /// Kiểm tra bản sao lưu: băm lại mọi tệp văn bản, kiểm tra mọi tệp mà cơ sở dữ liệu tham
    /// chiếu có mặt, kiểm tra manifest và ảnh chụp cơ sở dữ liệu (mã thoát 1 khi có lỗi)
    Verify(VerifyArgs),
    /// Khôi phục bản sao lưu vào thư mục dữ liệu trống (và cơ sở dữ liệu PostgreSQL trống);
    /// bản sao lưu được kiểm tra trước, các tệp văn bản được băm lại khi ghi
    Restore(RestoreArgs),
}

#[derive(Debug, ClapArgs)]
pub struct DirArgs {
    /// Thư mục sao lưu (nên ở ổ đĩa hoặc máy khác) hoặc bucket của kho đối tượng tương thích
    /// S3, dạng s3://TÊN_BUCKET/TIỀN_TỐ?endpoint=http://máy-chủ:3900
    #[arg(long, env = "KYSO_BACKUP_DIR", value_name = "THƯ_MỤC|s3://…")]
    pub backup_dir: String,
}

impl DirArgs {
    /// The backups' folder or bucket (a bucket's uploads staged in `staging`).
    fn open(
        &self,
        objects: &ObjectArgs,
        staging: &std::path::Path,
    ) -> Result<Arc<dyn Objects>, UserError> {
        let place = Place::parse("--backup-dir", &self.backup_dir)?;
        let credentials = match place {
            Place::Bucket(_) => s3_credentials(objects.s3_credentials_file.as_deref(), None)?,
            Place::Folder(_) => None,
        };
        place.open("--backup-dir", credentials.as_ref(), staging)
    }
}

/// The blob store named by `objects` (default: the data folder's `blobs`); a bucket's uploads
/// are staged under `staging_root`.
fn blobs_of(
    objects: &ObjectArgs,
    db: &DbArgs,
    staging_root: &std::path::Path,
) -> Result<kyso_store::blobs::Blobs, UserError> {
    let place = match &objects.blob_store {
        Some(s) => Place::parse("--blob-store", s)?,
        None => Place::Folder(db.data_dir.join("blobs")),
    };
    let credentials = match place {
        Place::Bucket(_) => s3_credentials(objects.s3_credentials_file.as_deref(), None)?,
        Place::Folder(_) => None,
    };
    open_blobs(&place, credentials.as_ref(), staging_root)
}

#[derive(Debug, ClapArgs)]
pub struct CreateArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub objects: ObjectArgs,
    #[command(flatten)]
    pub files: crate::audit_log::FileArgs,
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Tệp chứa khóa truy cập kho đối tượng khi --backup-dir là bucket (dòng 1: mã khóa, dòng
    /// 2: khóa bí mật); hoặc KYSO_S3_ACCESS_KEY_ID và KYSO_S3_SECRET_ACCESS_KEY
    #[arg(long, env = "KYSO_S3_CREDENTIALS_FILE", value_name = "TỆP")]
    pub s3_credentials_file: Option<PathBuf>,
    /// Bản sao lưu cần kiểm tra (tên thư mục trong snapshots/; mặc định: bản mới nhất)
    #[arg(long, value_name = "MÃ")]
    pub id: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Bản sao lưu cần khôi phục (mặc định: bản mới nhất)
    #[arg(long, value_name = "MÃ")]
    pub id: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub objects: ObjectArgs,
    #[command(flatten)]
    pub files: crate::audit_log::FileArgs,
}

fn user_error(e: &BackupError) -> UserError {
    let ue = UserError::new(e.message(false), e.message(true));
    match e {
        BackupError::NotEmpty { .. } | BackupError::Invalid { .. } => ue.usage(),
        BackupError::Io { .. } | BackupError::Tool { .. } | BackupError::Store(_) => {
            ue.environment()
        }
        _ => ue,
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let en = lang == Lang::En;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ue!("lỗi khởi động: {}", e; "cannot start: {}", e).environment())?;
    match args.command {
        BackupCommand::Create(a) => {
            let target = a.dir.open(&a.objects, &a.db.data_dir.join(STAGING))?;
            let blobs = blobs_of(&a.objects, &a.db, &a.db.data_dir)?;
            let files: AuditFiles = a.files.into();
            let m = rt.block_on(async {
                let store =
                    kyso_web::server::open(&a.db.data_dir, a.db.database_url.as_deref()).await?;
                let src = backup::Source {
                    store: &store,
                    blobs: &blobs,
                    database_url: a.db.database_url.as_deref(),
                    audit_key: &files.key_file(&a.db.data_dir),
                    audit_checkpoints: &files.checkpoint_file(&a.db.data_dir),
                    work_dir: &a.db.data_dir,
                };
                let made = backup::create(&src, target.clone(), crate::clock::now).await;
                store.close().await;
                made.map_err(|e| user_error(&e))
            })?;
            let b = &m.blobs;
            println!(
                "{}",
                lang.pick(
                    &format!(
                        "Đã sao lưu vào {}/snapshots/{}: cơ sở dữ liệu {} (lược đồ {}, SHA-256 {}); {} tệp văn bản ({}), sao chép mới {} tệp ({})",
                        target.describe(), m.id, m.engine, m.schema_version, m.database.sha256,
                        b.count, mib(b.total_bytes), b.copied, mib(b.copied_bytes)
                    ),
                    &format!(
                        "Backed up to {}/snapshots/{}: {} database (schema {}, SHA-256 {}); {} blobs ({}), {} newly copied ({})",
                        target.describe(), m.id, m.engine, m.schema_version, m.database.sha256,
                        b.count, mib(b.total_bytes), b.copied, mib(b.copied_bytes)
                    ),
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Verify(a) => {
            let objects = ObjectArgs {
                blob_store: None,
                s3_credentials_file: a.s3_credentials_file.clone(),
            };
            let staging = tempfile::tempdir().map_err(|e| {
                ue!("không tạo được thư mục tạm: {}", e; "cannot make a temporary folder: {}", e)
                    .environment()
            })?;
            let target = a.dir.open(&objects, staging.path())?;
            let started = std::time::Instant::now();
            let r = backup::verify(target.as_ref(), a.id.as_deref()).map_err(|e| user_error(&e))?;
            let secs = started.elapsed().as_secs_f64();
            for p in &r.problems {
                eprintln!("{}: {}", lang.pick("Lỗi", "Error"), p.message(en));
            }
            let id = r.id.clone().unwrap_or_default();
            if r.ok() {
                println!(
                    "{}",
                    lang.pick(
                        &format!(
                            "Bản sao lưu {id} toàn vẹn: manifest và ảnh chụp cơ sở dữ liệu khớp SHA-256; {} tệp văn bản được tham chiếu đều có; đã băm lại {} tệp ({}) trong {secs:.1} giây",
                            r.referenced, r.blobs_checked, mib(r.bytes_checked)
                        ),
                        &format!(
                            "Backup {id} is intact: the manifest and the database snapshot match their SHA-256; all {} referenced blobs are present; {} blobs ({}) re-hashed in {secs:.1} s",
                            r.referenced, r.blobs_checked, mib(r.bytes_checked)
                        ),
                    )
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "{}",
                    lang.pick(
                        &format!("Bản sao lưu {id} KHÔNG đạt: {} lỗi", r.problems.len()),
                        &format!(
                            "Backup {id} FAILED verification: {} problem(s)",
                            r.problems.len()
                        ),
                    )
                );
                Ok(ExitCode::from(1))
            }
        }
        BackupCommand::Restore(a) => {
            let staging = tempfile::tempdir().map_err(|e| {
                ue!("không tạo được thư mục tạm: {}", e; "cannot make a temporary folder: {}", e)
                    .environment()
            })?;
            let target = a.dir.open(&a.objects, staging.path())?;
            let blobs = match &a.objects.blob_store {
                Some(_) => Some(blobs_of(&a.objects, &a.db, staging.path())?),
                None => None,
            };
            let files: AuditFiles = a.files.into();
            let dest = backup::Destination {
                data_dir: &a.db.data_dir,
                blobs,
                database_url: a.db.database_url.as_deref(),
                audit_key: files.key_file(&a.db.data_dir),
                audit_checkpoints: files.checkpoint_file(&a.db.data_dir),
            };
            let r = rt
                .block_on(backup::restore(target, a.id.as_deref(), &dest))
                .map_err(|e| user_error(&e))?;
            println!(
                "{}",
                lang.pick(
                    &format!(
                        "Đã khôi phục bản sao lưu {} vào {}: cơ sở dữ liệu {} (lược đồ {}), {} tệp văn bản; đã đọc lại và băm lại {} tệp mà cơ sở dữ liệu tham chiếu. Kiểm tra nhật ký: kyso audit verify --data-dir {}",
                        r.manifest.id, a.db.data_dir.display(), r.manifest.engine, r.manifest.schema_version,
                        r.blobs, r.blobs_rehashed, a.db.data_dir.display()
                    ),
                    &format!(
                        "Restored backup {} into {}: {} database (schema {}), {} blobs; {} blobs referenced by the database read back and re-hashed. Check the log: kyso audit verify --data-dir {}",
                        r.manifest.id, a.db.data_dir.display(), r.manifest.engine, r.manifest.schema_version,
                        r.blobs, r.blobs_rehashed, a.db.data_dir.display()
                    ),
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
