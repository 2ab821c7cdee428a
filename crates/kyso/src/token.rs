//! `kyso token`: the USB PKI tokens (PKCS#11) on this machine.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_keys::token_report;
use kyso_keys::Pkcs11Module;
use kyso_services::token;

use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::Lang;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TokenCommand {
    /// Liệt kê các USB token, trạng thái mã PIN và chứng thư số trên từng thiết bị
    List(ListArgs),
    /// Nạp khóa, chứng thư số và chuỗi CA từ tệp PKCS#12 vào USB token (khóa không xuất ra được)
    Import(ImportArgs),
    /// Đăng ký USB token và chứng thư số trên đó vào danh mục của máy chủ kyso (qua REST API)
    Register(RegisterArgs),
}

#[derive(clap::Args, Debug)]
struct RegisterArgs {
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pkcs11_module: PathBuf,
    /// Nhãn hoặc số sê-ri của USB token (bắt buộc khi cắm nhiều token)
    #[arg(long, value_name = "LABEL_OR_SERIAL")]
    token: Option<String>,
    /// Địa chỉ máy chủ kyso
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Tên biến môi trường chứa mã truy cập API (kyso_…); không bao giờ truyền trên dòng lệnh
    #[arg(long, value_name = "VAR", default_value = "KYSO_API_TOKEN")]
    api_token_env: String,
    /// Mã định danh của cơ quan quản lý token (H41.37 hoặc 000.00.37.H41)
    #[arg(long, value_name = "CODE")]
    agency: String,
    /// Mã thuê bao giữ token (ghi nhận bàn giao cho thuê bao)
    #[arg(long, value_name = "ID")]
    subscriber: Option<i64>,
    /// In kết quả dạng JSON (lược đồ kyso.token/1, xem docs/token-json.md)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct ImportArgs {
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pkcs11_module: PathBuf,
    /// Nhãn hoặc số sê-ri của USB token
    #[arg(long, value_name = "LABEL_OR_SERIAL")]
    token: String,
    /// Tệp khóa PKCS#12 (.p12/.pfx) cần nạp
    #[arg(long, value_name = "FILE.p12")]
    p12: PathBuf,
    /// Tên biến môi trường chứa mật khẩu PKCS#12 (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Tên biến môi trường chứa mã PIN của token (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    pin_env: Option<String>,
    /// Nhãn của khóa trên token (mặc định: tên tệp .p12)
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// CKA_ID của khóa, dạng hex (mặc định: định danh khóa của chứng thư số)
    #[arg(long, value_name = "HEX")]
    id: Option<String>,
    /// In kết quả dạng JSON (lược đồ kyso.token/1, xem docs/token-json.md)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pkcs11_module: PathBuf,
    /// In kết quả dạng JSON (lược đồ kyso.token/1, xem docs/token-json.md)
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::List(a) => list(a, lang),
        TokenCommand::Import(a) => import(a, lang),
        TokenCommand::Register(a) => register(a, lang),
    }
}

/// Find the token (the only one plugged in, or `--token`) and register it through
/// `kyso_services::token::register`.
fn register(args: RegisterArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let code = kyso_domain::codes::AgencyCode::parse(&args.agency)
        .map_err(|e| kyso_i18n::UserError::new(e.message_vi(), e.message_en()).usage())?;
    let api_token = std::env::var(&args.api_token_env).map_err(|_| {
        ue!("cần mã truy cập API trong biến môi trường {}", args.api_token_env; "the API token must be in the environment variable {}", args.api_token_env).usage()
    })?;
    let module = Pkcs11Module::load(&args.pkcs11_module).map_err(|e| errors::keys(&e))?;
    let tokens = module.tokens().map_err(|e| errors::keys(&e))?;
    let tok = token::find_token(&tokens, args.token.as_deref())?;
    let reg = token::Registration {
        server: &args.server,
        api_token: zeroize::Zeroizing::new(api_token),
        agency: code,
        subscriber: args.subscriber,
    };
    // The text lines are printed only without --json.
    let json = args.json;
    let v = token::register(reg, tok, lang, &mut |line| {
        if !json {
            println!("{line}");
        }
    })?;
    if json {
        println!("{v:#}");
    }
    Ok(ExitCode::SUCCESS)
}

fn import(args: ImportArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let id = match &args.id {
        Some(h) => Some(token_report::parse_id_hex(h).ok_or_else(
            || ue!("--id phải là số hex (ví dụ 01 hoặc a1b2)"; "--id must be hex (e.g. 01 or a1b2)").usage(),
        )?),
        None => None,
    };
    let label = match &args.label {
        Some(l) => l.clone(),
        None => args
            .p12
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "key".to_owned()),
    };
    let p12 = crate::sign::read_limited(&args.p12, kyso_keys::MAX_P12_BYTES)?;
    let module = Pkcs11Module::load(&args.pkcs11_module).map_err(|e| errors::keys(&e))?;
    let password = crate::keys::secret(args.password_env.as_deref(), "Mật khẩu PKCS#12: ")?;
    let pin = crate::keys::secret(
        args.pin_env.as_deref(),
        &format!("Mã PIN của thiết bị {}: ", args.token),
    )?;
    let done = module
        .import_pkcs12(&args.token, &pin, &p12, &password, &label, id.as_deref())
        .map_err(|e| errors::keys(&e))?;
    drop((pin, password));
    println!(
        "{}",
        token::import_report(&done, &args.token, &label, args.json, lang)
    );
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let module = Pkcs11Module::load(&args.pkcs11_module).map_err(|e| errors::keys(&e))?;
    let tokens = module.tokens().map_err(|e| errors::keys(&e))?;
    println!(
        "{}",
        token::list_report(&args.pkcs11_module, &tokens, args.json, lang)
    );
    Ok(ExitCode::SUCCESS)
}
