//! `kyso pki`: the demo PKI (`init` now; `serve` and `revoke` later).

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_keys::Secret;
use kyso_pki::demo::{self, InitOptions, Kind};

use crate::lang::{Lang, UserError};
use crate::ue;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: PkiCommand,
}

#[derive(clap::Subcommand, Debug)]
enum PkiCommand {
    /// Tạo hạ tầng khóa công khai DEMO (CA gốc, CA trung gian, chứng thư số, tệp .p12, ảnh mẫu)
    Init(InitArgs),
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
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        PkiCommand::Init(a) => init(a, lang),
    }
}

fn password(args: &mut InitArgs) -> Result<Secret, UserError> {
    // Moved, not copied: the Secret wipes the buffer on drop. (clap's own copy of argv cannot
    // be wiped; that is why --password-env is preferred.)
    if let Some(pw) = args.password.take() {
        return Ok(Secret::new(pw));
    }
    let var = args.password_env.as_deref().unwrap_or_default();
    match std::env::var(var) {
        Ok(v) => Ok(Secret::new(v)),
        Err(_) => Err(
            ue!("biến môi trường {} (mật khẩu) chưa được đặt", var; "environment variable {} (password) is not set", var),
        ),
    }
}

fn init(mut args: InitArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    if args.password.is_some() {
        eprintln!(
            "{}",
            lang.pick(
                "Lưu ý: mật khẩu trên dòng lệnh có thể bị người dùng khác trên máy nhìn thấy; nên dùng --password-env.",
                "Note: a password on the command line may be visible to other users of this machine; prefer --password-env."
            )
        );
    }
    let password = password(&mut args)?;
    if password.expose().is_empty() {
        return Err(ue!("mật khẩu không được để trống"; "the password must not be empty").into());
    }
    let mut opts = InitOptions::new(password, crate::clock::now());
    opts.base_url = args.base_url.clone();
    opts.force = args.force;
    let summary = demo::init(&args.dir, &opts).map_err(|e| error(&e))?;
    drop(opts);

    let dir = args.dir.display();
    println!(
        "{}",
        match lang {
            Lang::Vi =>
                format!("Đã tạo hạ tầng khóa công khai DEMO (hư cấu, không dùng thật) trong {dir}:"),
            Lang::En => format!(
                "Created a DEMO public key infrastructure (fictional, not for real use) in {dir}:"
            ),
        }
    );
    for e in &summary.entities {
        let until = e.not_after.get(..10).unwrap_or(&e.not_after);
        let kind = kind_label(e.kind, lang);
        let valid = lang.pick("đến", "until");
        println!(
            "  {:<17} {:<19} {:<12} {valid} {until}  {}",
            e.cert_file, kind, e.key_algorithm, e.common_name
        );
    }
    println!(
        "{}",
        lang.pick(
            "  signature.png, seal.png: ảnh chữ ký và con dấu mẫu (PNG trong suốt, 300 dpi)",
            "  signature.png, seal.png: sample signature and seal images (transparent PNG, 300 dpi)"
        )
    );
    println!(
        "{}",
        match lang {
            Lang::Vi => format!(
                "Mỗi chứng thư số có tệp .p12 cùng tên, mã hóa bằng mật khẩu đã nhập (mật khẩu không được lưu). Dịch vụ CRL/OCSP: {}. Xem README.txt và index.json.",
                summary.base_url
            ),
            Lang::En => format!(
                "Each certificate has a .p12 of the same name, encrypted with the given password (the password is not stored). CRL/OCSP services: {}. See README.txt and index.json.",
                summary.base_url
            ),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn kind_label(kind: Kind, lang: Lang) -> &'static str {
    match kind {
        Kind::Root => lang.pick("CA gốc", "root CA"),
        Kind::Intermediate => lang.pick("CA trung gian", "intermediate CA"),
        Kind::Personal => lang.pick("cá nhân", "personal"),
        Kind::Organization => lang.pick("cơ quan, tổ chức", "organization"),
        Kind::Tsa => lang.pick("dấu thời gian (TSA)", "time stamping (TSA)"),
        Kind::Ocsp => lang.pick("OCSP", "OCSP"),
        Kind::Test => lang.pick("để thử từ chối", "refusal test"),
    }
}

pub fn error(e: &kyso_pki::Error) -> UserError {
    use kyso_pki::Error as E;
    match e {
        E::DirNotEmpty(p) => {
            ue!("thư mục {} đã có tệp; chọn thư mục khác hoặc thêm --force", p.display(); "directory {} is not empty; choose another or add --force", p.display())
        }
        E::NotADirectory(p) => {
            ue!("{} không phải là thư mục", p.display(); "{} is not a directory", p.display())
        }
        E::Io { path, source } => crate::errors::io(path, source),
        E::EmptyPassword => ue!("mật khẩu không được để trống"; "the password must not be empty"),
        E::BadBaseUrl(u) => {
            ue!("địa chỉ gốc phải bắt đầu bằng http:// hoặc https://: {}", u; "the base URL must start with http:// or https://: {}", u)
        }
        other => {
            ue!("không tạo được hạ tầng khóa công khai demo: {}", other; "cannot create the demo PKI: {}", other)
        }
    }
}
