//! The `kyso` command line. Library crates do the work; this binary parses arguments, reads the
//! clock and secrets from the environment, and turns errors into one-line messages.

mod batch;
mod clock;
mod demo;
mod errors;
mod info;
mod lang;
mod pki;
mod sign;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lang::{Lang, UserError};

#[derive(Parser, Debug)]
#[command(
    name = "kyso",
    version,
    about = "Ký số, xác thực và lưu trữ văn bản điện tử"
)]
struct Cli {
    /// Ngôn ngữ thông báo / language of messages
    #[arg(
        long,
        global = true,
        value_enum,
        env = "KYSO_LANG",
        default_value = "vi"
    )]
    lang: Lang,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Hiển thị cấu trúc tệp PDF (phiên bản, trang, các lần cập nhật)
    Info(info::Args),
    /// Ký số tệp PDF (PAdES) theo các hình thức của Nghị định 30
    Sign(Box<sign::Args>),
    /// Chạy thử toàn bộ: tạo PKI demo, ký một công văn mẫu theo các hình thức của Nghị định 30
    Demo(demo::Args),
    /// Hạ tầng khóa công khai DEMO để thử nghiệm (tạo CA, chứng thư số, tệp .p12)
    Pki(pki::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = cli.lang;
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let (msg, code) = match e.downcast_ref::<UserError>() {
                Some(u) => (u.message(lang).to_owned(), u.code),
                None => (format!("{e:#}"), 1),
            };
            eprintln!("{}: {msg}", lang.pick("Lỗi", "Error"));
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info(args) => info::run(args, cli.lang),
        Command::Sign(args) => sign::run(*args, cli.lang),
        Command::Pki(args) => pki::run(args, cli.lang),
        Command::Demo(args) => demo::run(args, cli.lang),
    }
}
