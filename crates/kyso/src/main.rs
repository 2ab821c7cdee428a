//! The `kyso` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "kyso",
    version,
    about = "Ký số, xác thực và lưu trữ văn bản điện tử"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Hiển thị cấu trúc tệp PDF (phiên bản, trang, các lần cập nhật)
    Info { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Lỗi: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info { file } => {
            let src = kyso_pdf::FileSource::open(&file)?;
            let doc = kyso_pdf::Document::open(Arc::new(src), kyso_pdf::Limits::default())?;
            let pages = doc.pages()?;
            println!("Kích thước: {} byte", doc.len());
            println!(
                "Số lần cập nhật (bảng tham chiếu chéo): {}",
                doc.sections().len()
            );
            println!("Số trang: {}", pages.len());
            for (i, p) in pages.iter().enumerate() {
                println!("  Trang {}: {:?}, xoay {}°", i + 1, p.media_box, p.rotate);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
