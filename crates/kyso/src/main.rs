//! The `kyso` command line. Library crates do the work; this binary parses arguments, reads the
//! clock and secrets from the environment, and turns errors into one-line messages.

mod agent;
mod archive;
mod audit_log;
mod backup;
mod batch;
mod clock;
mod csc;
mod demo;
mod help;
mod info;
mod keys;
mod logging;
mod ltv;
mod manual;
mod pki;
mod serve;
mod sign;
mod token;
mod trust;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use kyso_i18n::ue;
use kyso_i18n::{Lang, UserError};

#[derive(Parser, Debug)]
#[command(
    name = "kyso",
    version,
    about = "Ký số, xác thực và lưu trữ văn bản điện tử",
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
struct Cli {
    /// In trợ giúp
    #[arg(short = 'h', long = "help", global = true, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// In phiên bản
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    /// Ngôn ngữ của thông báo và trợ giúp
    #[arg(
        long,
        global = true,
        value_enum,
        env = "KYSO_LANG",
        default_value = "vi"
    )]
    lang: Lang,
    /// Dạng nhật ký trên stderr: text hoặc json (mức lọc theo RUST_LOG)
    #[arg(
        long,
        global = true,
        value_enum,
        env = "KYSO_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Hiển thị cấu trúc tệp PDF (phiên bản, trang, các lần cập nhật)
    Info(info::Args),
    /// Ký số tệp PDF (PAdES) theo các hình thức của Nghị định 30
    Sign(Box<sign::Args>),
    /// Nâng mức chữ ký của tệp đã ký lên B-LT (kèm OCSP/CRL) hoặc B-LTA (kèm dấu thời gian lưu trữ)
    Extend(ltv::ExtendArgs),
    /// Kiểm tra chữ ký số trên tệp PDF (mã thoát: 0 hợp lệ, 1 không hợp lệ, 2 chưa xác định)
    Verify(verify::Args),
    /// Chạy thử toàn bộ: tạo PKI demo, ký một công văn mẫu theo các hình thức của Nghị định 30
    Demo(demo::Args),
    /// Dịch vụ ký số trên máy người dùng cho trang web (giao thức VGCA Sign Service, chỉ 127.0.0.1)
    Agent(Box<agent::Args>),
    /// Hạ tầng khóa công khai DEMO để thử nghiệm (tạo CA, chứng thư số, tệp .p12, dịch vụ TSA/OCSP/CRL)
    Pki(pki::Args),
    /// Dịch vụ ký số từ xa theo chuẩn CSC API (Cloud Signature Consortium)
    Csc(csc::Args),
    /// Thiết bị USB token (PKCS#11): liệt kê token, trạng thái mã PIN và chứng thư số
    Token(token::Args),
    /// Máy chủ web và REST API: danh mục cơ quan, thuê bao, chứng thư số, thiết bị của tỉnh
    Serve(Box<serve::Args>),
    /// Nhật ký kiểm toán của máy chủ (kiểm tra chuỗi có khóa và điểm kiểm tra)
    Audit(audit_log::AuditArgs),
    /// Sao lưu và khôi phục: ảnh chụp nhất quán của cơ sở dữ liệu và các tệp văn bản theo
    /// SHA-256, kiểm tra và khôi phục vào thư mục trống
    Backup(backup::Args),
    /// Lưu trữ: kiểm tra gói nộp lưu hồ sơ không cần mạng
    Archive(archive::Args),
    /// Danh sách chứng thư gốc tin cậy dùng khi không có --trust (liệt kê, thêm, xóa)
    Trust(trust::Args),
    /// In tệp gợi ý lệnh (tab completion) cho vỏ lệnh bash, zsh, fish hoặc PowerShell
    Completions(manual::CompletionsArgs),
    /// Ghi các trang hướng dẫn (man) của kyso và từng lệnh vào một thư mục
    Man(manual::ManArgs),
}

/// Exit code of a command line that cannot be understood (`kyso verify` documents 0–2 for its
/// verdicts; every command uses 3 for usage errors).
const USAGE_ERROR: u8 = kyso_i18n::exit::USAGE;

/// The language asked for, read before the command line is parsed (for clap's own errors).
fn early_lang() -> Lang {
    let args: Vec<String> = std::env::args().collect();
    let flag = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--lang") {
            Some("") => args.get(i + 1).cloned(),
            Some(v) => v.strip_prefix('=').map(str::to_owned),
            None => None,
        });
    match flag.or_else(|| std::env::var("KYSO_LANG").ok()).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    }
}

/// clap's usage errors in Vietnamese (its English text with `--lang en`).
fn usage_error(e: &clap::Error, lang: Lang) -> ExitCode {
    use clap::error::{ContextKind, ErrorKind};
    if lang == Lang::En {
        let _ = e.print();
        return ExitCode::from(USAGE_ERROR);
    }
    let ctx = |k| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let msg = match e.kind() {
        ErrorKind::MissingRequiredArgument => {
            format!("thiếu tham số bắt buộc: {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::UnknownArgument => {
            format!("tham số không hợp lệ: {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => format!(
            "giá trị \"{}\" không hợp lệ cho {}",
            ctx(ContextKind::InvalidValue),
            ctx(ContextKind::InvalidArg)
        ),
        ErrorKind::InvalidSubcommand => {
            format!("không có lệnh \"{}\"", ctx(ContextKind::InvalidSubcommand))
        }
        ErrorKind::ArgumentConflict => format!(
            "không dùng được cùng lúc {} và {}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "thiếu lệnh".to_owned()
        }
        _ => "dòng lệnh không đúng".to_owned(),
    };
    eprintln!("Lỗi: {msg}; xem kyso --help");
    ExitCode::from(USAGE_ERROR)
}

fn main() -> ExitCode {
    let lang = early_lang();
    let parsed = help::localize(Cli::command(), lang)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            use std::io::{IsTerminal as _, Write as _};
            let page = e.render();
            let text = if std::io::stdout().is_terminal() {
                page.ansi().to_string()
            } else {
                page.to_string()
            };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(help::finish(&text, lang).as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage_error(&e, lang),
    };
    let lang = cli.lang;
    let server = matches!(
        cli.command,
        Command::Serve(_) | Command::Agent(_) | Command::Csc(_) | Command::Pki(_)
    );
    logging::init(cli.log_format, server);
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
        Command::Csc(args) => csc::run(args, cli.lang),
        Command::Agent(args) => agent::run(*args, cli.lang),
        Command::Demo(args) => demo::run(args, cli.lang),
        Command::Verify(args) => verify::run(args, cli.lang),
        Command::Extend(args) => ltv::run_extend(args, cli.lang),
        Command::Token(args) => token::run(args, cli.lang),
        Command::Serve(args) => serve::run(*args, cli.lang),
        Command::Audit(args) => audit_log::run(args, cli.lang),
        Command::Backup(args) => backup::run(args, cli.lang),
        Command::Archive(args) => archive::run(args, cli.lang),
        Command::Trust(args) => trust::run(args, cli.lang),
        Command::Completions(args) => manual::completions(args, cli.lang),
        Command::Man(args) => manual::man(args, cli.lang),
    }
}
