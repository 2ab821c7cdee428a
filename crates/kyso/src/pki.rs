//! `kyso pki`: the demo PKI — `init` creates it, `serve` runs its TSA, OCSP responder and CRLs
//! (see `pki_serve`), `revoke` revokes one of its certificates.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_keys::Secret;
use kyso_pki::demo::{self, InitOptions};
use kyso_services::pki_report;

use crate::ue;
use kyso_i18n::{Lang, UserError};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: PkiCommand,
}

#[derive(clap::Subcommand, Debug)]
enum PkiCommand {
    /// Tạo hạ tầng khóa công khai DEMO (CA gốc, CA trung gian, chứng thư số, tệp .p12, ảnh mẫu)
    Init(InitArgs),
    /// Chạy dịch vụ cấp dấu thời gian (TSA), OCSP và CRL của PKI DEMO qua HTTP
    Serve(ServeArgs),
    /// Thu hồi một chứng thư số của PKI DEMO (ghi vào revocations.json)
    Revoke(RevokeArgs),
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("pw").required(true).args(["password", "password_env"])))]
pub struct ServeArgs {
    /// Thư mục PKI DEMO (do kyso pki init tạo)
    dir: PathBuf,
    /// Địa chỉ lắng nghe (IP:cổng)
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8765")]
    listen: String,
    /// Mật khẩu các tệp .p12 (nên dùng --password-env)
    #[arg(long, value_name = "PW")]
    password: Option<String>,
    /// Tên biến môi trường chứa mật khẩu các tệp .p12 (khuyên dùng)
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Số luồng xử lý (mặc định: số lõi CPU)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Khi đã lắng nghe, in địa chỉ các dịch vụ thành một dòng JSON (lược đồ kyso.pki/1, xem
    /// docs/pki-json.md)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// Thư mục PKI DEMO (do kyso pki init tạo)
    dir: PathBuf,
    /// Số hiệu chứng thư số cần thu hồi (hệ 16, như trong index.json)
    #[arg(long, value_name = "HEX")]
    serial: String,
    /// Lý do thu hồi (RFC 5280)
    #[arg(long, value_name = "REASON", value_parser = [
        "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
        "cessationOfOperation", "certificateHold",
    ])]
    reason: String,
    /// Thời điểm thu hồi (RFC 3339, mặc định: bây giờ)
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    /// In kết quả dạng JSON (lược đồ kyso.pki/1, xem docs/pki-json.md)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("pw").required(true).args(["password", "password_env"])))]
pub struct InitArgs {
    /// Thư mục sẽ tạo (phải trống hoặc chưa tồn tại)
    dir: PathBuf,
    /// Mật khẩu cho các tệp .p12 (nên dùng --password-env để mật khẩu không lộ trong danh sách tiến trình)
    #[arg(long, value_name = "PW")]
    password: Option<String>,
    /// Tên biến môi trường chứa mật khẩu cho các tệp .p12 (khuyên dùng)
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Địa chỉ gốc của dịch vụ CRL/OCSP ghi trong chứng thư số
    #[arg(long, value_name = "URL", default_value = demo::DEFAULT_BASE_URL)]
    base_url: String,
    /// Ghi vào thư mục đã có tệp (thay các tệp trùng tên)
    #[arg(long)]
    force: bool,
    /// In kết quả dạng JSON (lược đồ kyso.pki/1, xem docs/pki-json.md)
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        PkiCommand::Init(a) => init(a, lang),
        PkiCommand::Serve(a) => serve(a, lang),
        PkiCommand::Revoke(a) => revoke(a, lang),
    }
}

fn password(args: &mut InitArgs) -> Result<Secret, UserError> {
    secret(&mut args.password, args.password_env.as_deref())
}

fn secret(password: &mut Option<String>, env: Option<&str>) -> Result<Secret, UserError> {
    // Moved, not copied: the Secret wipes the buffer on drop. (clap's own copy of argv cannot
    // be wiped; that is why --password-env is preferred.)
    if let Some(pw) = password.take() {
        return Ok(Secret::new(pw));
    }
    let var = env.unwrap_or_default();
    match std::env::var(var) {
        Ok(v) => Ok(Secret::new(v)),
        Err(_) => Err(
            ue!("biến môi trường {} (mật khẩu) chưa được đặt", var; "environment variable {} (password) is not set", var).usage(),
        ),
    }
}

/// A password given as an argument is visible to other users (`ps`): say so.
fn warn_password_on_command_line(lang: Lang) {
    eprintln!("{}", pki_report::password_on_command_line(lang));
}

fn init(mut args: InitArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    if args.password.is_some() {
        warn_password_on_command_line(lang);
    }
    let password = password(&mut args)?;
    if password.expose().is_empty() {
        return Err(
            ue!("mật khẩu không được để trống"; "the password must not be empty")
                .usage()
                .into(),
        );
    }
    let mut opts = InitOptions::new(password, crate::clock::now());
    opts.base_url = args.base_url.clone();
    opts.force = args.force;
    let summary = demo::init(&args.dir, &opts).map_err(|e| pki_report::error(&e))?;
    drop(opts);
    println!(
        "{}",
        pki_report::init_report(&summary, &args.dir, args.json, lang)?
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(mut args: ServeArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    if args.password.is_some() {
        warn_password_on_command_line(lang);
    }
    let password = secret(&mut args.password, args.password_env.as_deref())?;
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        ue!("địa chỉ lắng nghe không hợp lệ: {} (dạng IP:cổng, ví dụ 127.0.0.1:8765)", args.listen; "invalid listen address: {} (IP:PORT, e.g. 127.0.0.1:8765)", args.listen).usage()
    })?;
    let services = kyso_services::pki::PkiServices::load(&args.dir, &password, crate::clock::now)
        .map_err(|e| pki_report::load_error(&e, &args.dir))?;
    drop(password);
    let router = kyso_services::pki::router(std::sync::Arc::new(services));
    let json = args.json;
    kyso_services::runtime::run_service(addr, args.threads, None, router, |local| {
        println!("{}", pki_report::serve_banner(local, json, lang));
    })?;
    Ok(ExitCode::SUCCESS)
}

fn revoke(args: RevokeArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    use kyso_pki::revocation::{self, Reason};
    use time::format_description::well_known::Rfc3339;
    let reason = Reason::from_name(&args.reason).ok_or_else(|| {
        ue!("lý do thu hồi không hợp lệ: {}", args.reason; "invalid revocation reason: {}", args.reason).usage()
    })?;
    let time = match &args.time {
        Some(t) => time::OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            ue!("thời điểm không hợp lệ: {} (dạng RFC 3339, ví dụ 2026-03-15T09:30:00Z)", t; "invalid time: {} (RFC 3339, e.g. 2026-03-15T09:30:00Z)", t).usage()
        })?,
        None => crate::clock::now(),
    };
    let r = revocation::revoke(&args.dir, &args.serial, reason, time)
        .map_err(|e| pki_report::revoke_error(&e))?;
    println!("{}", pki_report::revoke_report(&r, args.json, lang));
    Ok(ExitCode::SUCCESS)
}
