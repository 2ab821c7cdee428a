//! `kyso audit verify`, `kyso audit checkpoint`, `kyso audit public-key`: their options; the
//! checks are `kyso_web::server::audit`'s (as is the guard `kyso serve` runs).
//!
//! The key (`DATA/audit.key`) and the checkpoint file (`DATA/audit-checkpoints.jsonl`) live
//! outside the database (`--audit-key-file`, `--audit-checkpoint-file` put them elsewhere, e.g.
//! on another volume); `kyso audit checkpoint -o FILE` exports a checkpoint for off-site keeping
//! and `kyso audit verify --checkpoint FILE` compares the log with it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};
use kyso_i18n::{ue, Lang};
use kyso_web::server::audit;

use crate::serve::DbArgs;

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

impl From<FileArgs> for audit::AuditFiles {
    fn from(f: FileArgs) -> audit::AuditFiles {
        audit::AuditFiles {
            key_file: f.audit_key_file,
            checkpoint_file: f.audit_checkpoint_file,
        }
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
    let outcome = match args.command {
        AuditCommand::Verify(a) => rt.block_on(audit::verify(
            &(&a.db).into(),
            &a.files.into(),
            &a.checkpoints,
            a.public_key.as_deref(),
            a.json,
            lang,
        )),
        AuditCommand::Checkpoint(a) => rt.block_on(audit::checkpoint(
            &(&a.db).into(),
            &a.files.into(),
            &a.output,
            crate::clock::now,
            lang,
        )),
        AuditCommand::PublicKey(a) => {
            audit::public_key(&a.data_dir, &a.files.into(), a.output.as_deref(), lang)
        }
    }?;
    for line in &outcome.stdout {
        println!("{line}");
    }
    for line in &outcome.stderr {
        eprintln!("{line}");
    }
    Ok(if outcome.intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
