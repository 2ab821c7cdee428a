//! `kyso csc`: the remote signing service (Cloud Signature Consortium API, `kyso_services::csc`):
//! `serve` runs it, `init-config` writes a configuration serving the demo PKI, `hash-password`
//! makes a password hash for a hand-written configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::ue;
use kyso_i18n::{Lang, UserError};
use kyso_services::csc::{self as csc_serve, Config, ConfigError};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: CscCommand,
}

#[derive(clap::Subcommand, Debug)]
enum CscCommand {
    /// Chạy dịch vụ ký số từ xa theo chuẩn CSC API (v2, và v1 cho phần mềm cũ)
    Serve(ServeArgs),
    /// Viết tệp cấu hình dịch vụ CSC cho PKI DEMO (chứng thư cá nhân và tổ chức)
    InitConfig(InitConfigArgs),
    /// Tạo chuỗi băm mật khẩu (PBKDF2) để ghi vào tệp cấu hình
    HashPassword(HashPasswordArgs),
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["config", "demo"])))]
pub struct ServeArgs {
    /// Tệp cấu hình JSON (người dùng, chứng thư số, khóa)
    #[arg(long, value_name = "FILE.json")]
    config: Option<PathBuf>,
    /// Phục vụ thẳng PKI DEMO trong thư mục này (người dùng "demo")
    #[arg(long, value_name = "DIR", requires = "user_password_env")]
    demo: Option<PathBuf>,
    /// Với --demo: biến môi trường chứa mật khẩu đăng nhập của người dùng "demo"
    #[arg(long, value_name = "VAR")]
    user_password_env: Option<String>,
    /// Địa chỉ lắng nghe (IP:cổng)
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8780")]
    listen: String,
    /// Số luồng xử lý (mặc định: số lõi CPU)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct InitConfigArgs {
    /// Thư mục PKI DEMO (do kyso pki init tạo)
    dir: PathBuf,
    /// Tên người dùng sở hữu các chứng thư số
    #[arg(long, value_name = "NAME", default_value = "demo")]
    user: String,
    /// Biến môi trường chứa mật khẩu đăng nhập của người dùng (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Số vòng lặp PBKDF2 của chuỗi băm mật khẩu
    #[arg(long, value_name = "N", default_value_t = csc_serve::DEFAULT_KDF_ITERATIONS)]
    kdf_iterations: u32,
    /// Tệp cấu hình sẽ ghi (mặc định: in ra màn hình)
    #[arg(short, long, value_name = "FILE.json")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct HashPasswordArgs {
    /// Biến môi trường chứa mật khẩu (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Số vòng lặp PBKDF2
    #[arg(long, value_name = "N", default_value_t = csc_serve::DEFAULT_KDF_ITERATIONS)]
    kdf_iterations: u32,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        CscCommand::Serve(a) => serve(a, lang),
        CscCommand::InitConfig(a) => init_config(a),
        CscCommand::HashPassword(a) => hash_password(a),
    }
}

fn config_error(e: &ConfigError) -> UserError {
    ue!("cấu hình dịch vụ CSC không dùng được: {}", e; "unusable CSC service configuration: {}", e)
}

fn init_config(args: InitConfigArgs) -> anyhow::Result<ExitCode> {
    let password = crate::keys::secret(args.password_env.as_deref(), "Mật khẩu đăng nhập: ")?;
    let dir = std::path::absolute(&args.dir).unwrap_or(args.dir.clone());
    let config = csc_serve::demo_config(&dir, &args.user, &password, args.kdf_iterations)
        .map_err(|e| config_error(&e))?;
    let mut text = serde_json::to_string_pretty(&config)?;
    text.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| kyso_i18n::catalogue::io(path, &e))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn hash_password(args: HashPasswordArgs) -> anyhow::Result<ExitCode> {
    let password = crate::keys::secret(args.password_env.as_deref(), "Mật khẩu: ")?;
    let hash =
        csc_serve::hash_password(&password, args.kdf_iterations).map_err(|e| config_error(&e))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        ue!("địa chỉ lắng nghe không hợp lệ: {} (dạng IP:cổng, ví dụ 127.0.0.1:8780)", args.listen; "invalid listen address: {} (IP:PORT, e.g. 127.0.0.1:8780)", args.listen)
    })?;
    let config: Config = match (&args.config, &args.demo) {
        (Some(path), _) => csc_serve::read_config(path).map_err(|e| config_error(&e))?,
        (None, Some(dir)) => {
            let password = crate::keys::secret(args.user_password_env.as_deref(), "")?;
            csc_serve::demo_config(dir, "demo", &password, csc_serve::MIN_KDF_ITERATIONS)
                .map_err(|e| config_error(&e))?
        }
        (None, None) => {
            return Err(ue!("cần --config hoặc --demo"; "give --config or --demo").into())
        }
    };
    let service = csc_serve::CscService::new(&config)
        .map_err(|e| config_error(&e))?
        .with_audit_log(std::sync::Arc::new(
            |line: &str| tracing::info!(target: "kyso::csc::audit", "{line}"),
        ));
    if !addr.ip().is_loopback() {
        eprintln!(
            "{}",
            lang.pick(
                "Lưu ý: dịch vụ nói HTTP không mã hóa; mật khẩu và PIN đi qua mạng ở dạng rõ. Hãy đặt nó sau một proxy TLS trên cùng máy.",
                "Note: the service speaks plain HTTP; passwords and PINs cross the network in clear. Put it behind a TLS proxy on the same host."
            )
        );
    }
    let router = csc_serve::router(std::sync::Arc::new(service));
    kyso_services::run_service(addr, args.threads, None, router, |local| {
        let base = format!("http://{local}");
        match lang {
            Lang::Vi => println!(
                "Dịch vụ ký số từ xa (CSC API) đang chạy tại {base} (Ctrl-C để dừng):\n  v2: {base}/csc/v2/…\n  v1: {base}/csc/v1/…"
            ),
            Lang::En => println!(
                "Remote signing service (CSC API) running at {base} (Ctrl-C to stop):\n  v2: {base}/csc/v2/…\n  v1: {base}/csc/v1/…"
            ),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
