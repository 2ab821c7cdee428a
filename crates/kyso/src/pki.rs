//! `kyso pki`: the demo PKI — `init` creates it, `serve` runs its TSA, OCSP responder and CRLs
//! (see `pki_serve`), `revoke` revokes one of its certificates.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_keys::Secret;
use kyso_pki::demo::{self, InitOptions, Kind};

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

/// The `schema` of every `--json` output of `kyso pki` (docs/pki-json.md).
const SCHEMA: &str = "kyso.pki/1";

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
    eprintln!(
        "{}",
        lang.pick(
            "Lưu ý: mật khẩu trên dòng lệnh có thể bị người dùng khác trên máy nhìn thấy; nên dùng --password-env.",
            "Note: a password on the command line may be visible to other users of this machine; prefer --password-env."
        )
    );
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
    let summary = demo::init(&args.dir, &opts).map_err(|e| error(&e))?;
    drop(opts);
    if args.json {
        let mut v = serde_json::to_value(&summary)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("format");
            o.insert("schema".into(), SCHEMA.into());
            o.insert("command".into(), "init".into());
            o.insert("dir".into(), args.dir.display().to_string().into());
        }
        println!("{v:#}");
        return Ok(ExitCode::SUCCESS);
    }

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
            ue!("thư mục {} đã có tệp; chọn thư mục khác hoặc thêm --force", p.display(); "directory {} is not empty; choose another or add --force", p.display()).usage()
        }
        E::NotADirectory(p) => {
            ue!("{} không phải là thư mục", p.display(); "{} is not a directory", p.display()).usage()
        }
        E::Io { path, source } => kyso_i18n::catalogue::io(path, source),
        E::EmptyPassword => {
            ue!("mật khẩu không được để trống"; "the password must not be empty").usage()
        }
        E::BadBaseUrl(u) => {
            ue!("địa chỉ gốc phải bắt đầu bằng http:// hoặc https://: {}", u; "the base URL must start with http:// or https://: {}", u).usage()
        }
        other => {
            ue!("không tạo được hạ tầng khóa công khai demo: {}", other; "cannot create the demo PKI: {}", other)
        }
    }
}

fn load_error(e: &kyso_services::pki::LoadError, dir: &std::path::Path) -> UserError {
    use kyso_services::pki::LoadError as L;
    match e {
        L::Pki(kyso_pki::Error::Io { path, source }) => kyso_i18n::catalogue::io(path, source),
        L::Pki(other) => {
            ue!("thư mục {} không phải PKI DEMO hợp lệ: {}", dir.display(), other; "{} is not a valid demo PKI: {}", dir.display(), other).usage()
        }
        L::Key { name, error } => {
            let inner = kyso_i18n::catalogue::keys(error);
            ue!("{}.p12: {}", name, inner.vi; "{}.p12: {}", name, inner.en).with_code(inner.code)
        }
        L::Io { path, error } => kyso_i18n::catalogue::io(path, error),
        L::Missing(what) => {
            ue!("PKI DEMO thiếu chứng thư số {}", what; "the demo PKI has no {} certificate", what).usage()
        }
    }
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
        .map_err(|e| load_error(&e, &args.dir))?;
    drop(password);
    let router = kyso_services::pki::router(std::sync::Arc::new(services));
    let json = args.json;
    kyso_services::runtime::run_service(addr, args.threads, None, router, |local| {
        let base = format!("http://{local}");
        if json {
            let v = serde_json::json!({
                "schema": SCHEMA,
                "command": "serve",
                "listen": local.to_string(),
                "base_url": base,
                "tsa": format!("{base}/tsa"),
                "ocsp": format!("{base}/ocsp"),
                "crl": [format!("{base}/crl/root.crl"), format!("{base}/crl/intermediate.crl")],
                "certs": [format!("{base}/certs/root.cer"), format!("{base}/certs/intermediate.cer")],
            });
            println!("{v}");
            return;
        }
        match lang {
            Lang::Vi => println!(
                "Dịch vụ PKI DEMO đang chạy tại {base} (Ctrl-C để dừng):\n  TSA:  {base}/tsa\n  OCSP: {base}/ocsp\n  CRL:  {base}/crl/root.crl, {base}/crl/intermediate.crl\n  CA:   {base}/certs/root.cer, {base}/certs/intermediate.cer"
            ),
            Lang::En => println!(
                "Demo PKI services running at {base} (Ctrl-C to stop):\n  TSA:  {base}/tsa\n  OCSP: {base}/ocsp\n  CRL:  {base}/crl/root.crl, {base}/crl/intermediate.crl\n  CA:   {base}/certs/root.cer, {base}/certs/intermediate.cer"
            ),
        }
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
    let r =
        revocation::revoke(&args.dir, &args.serial, reason, time).map_err(|e| revoke_error(&e))?;
    if args.json {
        let v = serde_json::json!({
            "schema": SCHEMA,
            "command": "revoke",
            "serial": r.serial,
            "name": r.name,
            "issuer": r.issuer,
            "reason": r.reason.name(),
            "time": r.time,
        });
        println!("{v:#}");
        return Ok(ExitCode::SUCCESS);
    }
    match lang {
        Lang::Vi => println!(
            "Đã thu hồi chứng thư số {} (số hiệu {}), lý do {}, thời điểm {}. Dịch vụ OCSP/CRL đang chạy sẽ cập nhật ngay.",
            r.name, r.serial, r.reason.name(), r.time
        ),
        Lang::En => println!(
            "Revoked certificate {} (serial {}), reason {}, at {}. Running OCSP/CRL services pick it up at once.",
            r.name, r.serial, r.reason.name(), r.time
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke_error(e: &kyso_pki::Error) -> UserError {
    use kyso_pki::Error as E;
    match e {
        E::UnknownSerial { serial, known } => {
            let list = known
                .iter()
                .map(|(n, s)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            ue!("không có chứng thư số nào mang số hiệu {}; các chứng thư số hiện có: {}", serial, list; "no certificate has serial {}; the certificates are: {}", serial, list).usage()
        }
        E::AlreadyRevoked {
            name,
            serial,
            time,
            reason,
        } => {
            ue!("chứng thư số {} (số hiệu {}) đã bị thu hồi từ {} (lý do {})", name, serial, time, reason.name(); "certificate {} (serial {}) was already revoked at {} (reason {})", name, serial, time, reason.name())
        }
        E::CannotRevokeRoot => {
            ue!("không thể thu hồi chứng thư số CA gốc"; "the root CA certificate cannot be revoked")
        }
        E::Io { path, source } => kyso_i18n::catalogue::io(path, source),
        other => ue!("không thu hồi được: {}", other; "cannot revoke: {}", other),
    }
}
