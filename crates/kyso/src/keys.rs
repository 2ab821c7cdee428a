//! Where the signing key is: the command-line options every signing command shares (`kyso
//! sign`, `kyso agent`, …) and opening the signer they name. Secrets (passwords, PINs) are read
//! from the environment or a prompt, never from the command line, and dropped (zeroized) as soon
//! as the key is open.

use std::path::{Path, PathBuf};

use kyso_cms::Signer;
use kyso_keys::{Pkcs11Module, Pkcs11Signer, Pkcs12Signer, Secret};
use time::OffsetDateTime;

use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::UserError;

/// The key options. Exactly one source: a PKCS#12 file (`--p12`), a PKCS#11 token
/// (`--pkcs11-module`, with `--token`, `--key`, `--pin-env`) or a remote signing service
/// speaking the CSC API (`--csc`, with `--credential`, `--csc-user`, `--pin-env`).
#[derive(clap::Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("key_source").args(["p12", "pkcs11_module", "csc"]).multiple(false)))]
pub struct KeyArgs {
    /// Tệp khóa PKCS#12 (.p12/.pfx)
    #[arg(long, value_name = "FILE.p12")]
    pub p12: Option<PathBuf>,
    /// Dịch vụ ký số từ xa theo chuẩn CSC API (địa chỉ gốc, ví dụ http://127.0.0.1:8780)
    #[arg(long, value_name = "URL")]
    pub csc: Option<String>,
    /// Với --csc: mã định danh khóa ký (credentialID; mặc định: khóa duy nhất của người dùng)
    #[arg(long, value_name = "ID", requires = "csc")]
    pub credential: Option<String>,
    /// Với --csc: tên đăng nhập dịch vụ
    #[arg(long, value_name = "NAME", requires = "csc")]
    pub csc_user: Option<String>,
    /// Với --csc: biến môi trường chứa mật khẩu đăng nhập (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR", requires = "csc_user")]
    pub csc_password_env: Option<String>,
    /// Với --csc: biến môi trường chứa mã truy cập (access token) có sẵn, thay cho đăng nhập
    #[arg(
        long,
        value_name = "VAR",
        requires = "csc",
        conflicts_with = "csc_user"
    )]
    pub csc_token_env: Option<String>,
    /// Với --csc https://: chứng thư CA (PEM) tin cậy cho TLS thay cho kho CA mặc định
    #[arg(long, value_name = "CA.pem", requires = "csc")]
    pub csc_ca: Option<PathBuf>,
    /// Tên biến môi trường chứa mã PIN của USB token hoặc của khóa ký từ xa (không có thì hỏi
    /// khi chạy)
    #[arg(long, value_name = "VAR")]
    pub pin_env: Option<String>,
    /// Tên biến môi trường chứa mật khẩu PKCS#12 (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pub pkcs11_module: Option<PathBuf>,
    /// Nhãn hoặc số sê-ri của USB token (mặc định: token duy nhất đang cắm)
    #[arg(long, value_name = "LABEL_OR_SERIAL", requires = "pkcs11_module")]
    pub token: Option<String>,
    /// Nhãn hoặc CKA_ID (hex) của khóa trên token (mặc định: khóa duy nhất có chứng thư số)
    #[arg(long, value_name = "LABEL_OR_ID", requires = "pkcs11_module")]
    pub key: Option<String>,
    /// Số phiên PKCS#11 dùng song song để ký (1: một phiên, ký lần lượt)
    #[arg(long, value_name = "N", hide = true, default_value_t = kyso_keys::pkcs11::DEFAULT_SESSIONS)]
    pub token_sessions: usize,
    /// Dùng RSA-PSS thay cho PKCS#1 v1.5
    #[arg(long)]
    pub pss: bool,
    /// Cho phép ký bằng chứng thư số đã hết hạn
    #[arg(long)]
    pub allow_expired: bool,
}

impl KeyArgs {
    /// A short description of the key source for prompts and logs (no secrets).
    pub fn describe(&self) -> String {
        match self.source() {
            Some(Source::P12(p)) => format!("PKCS#12 {}", p.display()),
            Some(Source::Pkcs11(m)) => {
                let mut d = format!("PKCS#11 {}", m.display());
                if let Some(t) = &self.token {
                    d.push_str(&format!(", token {t}"));
                }
                if let Some(k) = &self.key {
                    d.push_str(&format!(", key {k}"));
                }
                d
            }
            Some(Source::Csc(url)) => format!(
                "CSC {url} {}",
                self.credential.as_deref().unwrap_or_default()
            ),
            None => String::new(),
        }
    }

    /// Where the key is.
    pub fn source(&self) -> Option<Source<'_>> {
        match (&self.p12, &self.pkcs11_module, &self.csc) {
            (Some(p), _, _) => Some(Source::P12(p)),
            (None, Some(m), _) => Some(Source::Pkcs11(m)),
            (None, None, Some(url)) => Some(Source::Csc(url)),
            (None, None, None) => None,
        }
    }
}

/// The key sources `KeyArgs` can name.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A PKCS#12 file.
    P12(&'a Path),
    /// A PKCS#11 module (the token, key and PIN come from the other options).
    Pkcs11(&'a Path),
    /// A CSC service's base URL.
    Csc(&'a str),
}

/// A secret from the environment variable `var`, or typed at the terminal after `prompt`.
pub fn secret(var: Option<&str>, prompt: &str) -> Result<Secret, UserError> {
    match var {
        Some(var) => std::env::var(var)
            .map(Secret::new)
            .map_err(|_| ue!("biến môi trường {} chưa được đặt", var; "environment variable {} is not set", var).usage()),
        None => prompt_secret(prompt),
    }
}

/// Ask for a secret on the terminal without echo (a plain line when stdin is not a terminal,
/// as when a program answers the prompt).
pub fn prompt_secret(prompt: &str) -> Result<Secret, UserError> {
    use std::io::IsTerminal;
    eprint!("{prompt}");
    let read = if std::io::stdin().is_terminal() {
        rpassword::read_password()
    } else {
        // rpassword reads /dev/tty, which a program answering the prompt does not have.
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) => {
                eprintln!();
                return Err(
                    ue!("không có gì được nhập (hết dữ liệu vào); dùng --password-env/--pin-env hoặc chạy trong cửa sổ dòng lệnh"; "nothing was entered (end of input); use --password-env/--pin-env or run in a terminal").usage(),
                );
            }
            Ok(_) => {
                let end = line.trim_end_matches(['\r', '\n']).len();
                line.truncate(end);
                Ok(line)
            }
            Err(e) => Err(e),
        }
    };
    let line = read.map_err(|e| {
        ue!("không đọc được từ bàn phím: {}", e; "cannot read from the terminal: {}", e)
            .environment()
    })?;
    Ok(Secret::new(line))
}

/// Open the signer the options name and check its certificate is fit to sign at `now`; the
/// password or PIN comes from the environment variable named, else from a prompt.
pub fn open(args: &KeyArgs, now: OffsetDateTime) -> Result<Box<dyn Signer>, UserError> {
    let signer: Box<dyn Signer> = match args.source() {
        Some(Source::P12(path)) => {
            let password = secret(args.password_env.as_deref(), "Mật khẩu PKCS#12: ")?;
            Box::new(open_pkcs12(path, &password, args.pss)?)
        }
        Some(Source::Pkcs11(module)) => Box::new(open_pkcs11(args, module, None)?),
        Some(Source::Csc(url)) => Box::new(open_csc(args, url)?),
        None => return Err(no_key()),
    };
    check_certificate(signer.certificate(), now, args.allow_expired)?;
    Ok(signer)
}

/// Open the signer with a password or PIN already obtained (the agent asks for it per
/// signature). A CSC service needs its own login, so it is not offered here.
pub fn open_with_secret(
    args: &KeyArgs,
    secret: &Secret,
    now: OffsetDateTime,
) -> Result<Box<dyn Signer>, UserError> {
    let signer: Box<dyn Signer> = match args.source() {
        Some(Source::P12(path)) => Box::new(open_pkcs12(path, secret, args.pss)?),
        Some(Source::Pkcs11(module)) => Box::new(open_pkcs11(args, module, Some(secret))?),
        Some(Source::Csc(_)) => {
            return Err(
                ue!("dịch vụ ký trên máy người dùng không dùng khóa ký từ xa (--csc); dùng --p12 hoặc --pkcs11-module"; "the signing agent does not use remote keys (--csc); use --p12 or --pkcs11-module").usage(),
            )
        }
        None => return Err(no_key()),
    };
    check_certificate(signer.certificate(), now, args.allow_expired)?;
    Ok(signer)
}

/// Connect to a CSC remote signing service: log in (user and password from the environment or
/// a prompt) or use a given access token, read the credential, keep the PIN for the
/// authorizations (one per signature).
pub fn open_csc(args: &KeyArgs, url: &str) -> Result<kyso_keys::CscSigner, UserError> {
    use kyso_keys::{CscAuth, CscOptions, CscSigner};
    let auth = match (&args.csc_user, &args.csc_token_env) {
        (Some(user), _) => CscAuth::Basic {
            user: user.clone(),
            password: secret(
                args.csc_password_env.as_deref(),
                "Mật khẩu đăng nhập dịch vụ ký: ",
            )?,
        },
        (None, Some(var)) => CscAuth::Bearer(secret(Some(var.as_str()), "")?),
        (None, None) => CscAuth::None,
    };
    let tls_roots = match &args.csc_ca {
        Some(path) => {
            let data = crate::sign::read_limited(path, 1024 * 1024)?;
            kyso_x509::Cert::from_pem_or_der(&data)
                .map_err(|e| ue!("tệp CA không đọc được: {}: {}", path.display(), e; "cannot read the CA file {}: {}", path.display(), e).usage())?
                .iter()
                .map(|c| c.der().to_vec())
                .collect()
        }
        None => Vec::new(),
    };
    let pin = secret(args.pin_env.as_deref(), "Mã PIN: ")?;
    CscSigner::open(CscOptions {
        url: url.to_owned(),
        credential: args.credential.clone(),
        auth,
        pin: Some(pin),
        pss: args.pss,
        timeout: std::time::Duration::from_secs(30),
        tls_roots,
    })
    .map_err(|e| errors::keys(&e))
}

fn no_key() -> UserError {
    ue!("chưa chỉ khóa ký: dùng --p12 FILE.p12, --pkcs11-module PATH.so hoặc --csc URL"; "no signing key given: use --p12 FILE.p12, --pkcs11-module PATH.so or --csc URL").usage()
}

/// Load a PKCS#12 key (size-limited read).
pub fn open_pkcs12(
    path: &std::path::Path,
    password: &Secret,
    pss: bool,
) -> Result<Pkcs12Signer, UserError> {
    let data = crate::sign::read_limited(path, kyso_keys::MAX_P12_BYTES)?;
    let mut signer = Pkcs12Signer::from_pkcs12(&data, password).map_err(|e| errors::keys(&e))?;
    if pss {
        signer.use_pss().map_err(|e| errors::keys(&e))?;
    }
    Ok(signer)
}

/// Log in to the token the options name and open its signing key. Unless the PIN is given, it
/// is read (from `--pin-env` or a prompt) only once the token is found; it is dropped when
/// logged in.
pub fn open_pkcs11(
    args: &KeyArgs,
    module: &Path,
    pin: Option<&Secret>,
) -> Result<Pkcs11Signer, UserError> {
    let module = Pkcs11Module::load(module).map_err(|e| errors::keys(&e))?;
    let (token, name) = match &args.token {
        Some(t) => (t.clone(), t.clone()),
        None => only_token(&module)?,
    };
    let read;
    let pin = match pin {
        Some(p) => p,
        None => {
            read = secret(
                args.pin_env.as_deref(),
                &format!("Mã PIN của thiết bị {name}: "),
            )?;
            &read
        }
    };
    let mut signer = module
        .open_signer(&token, args.key.as_deref(), pin)
        .map_err(|e| errors::keys(&e))?;
    if args.pss {
        signer.use_pss().map_err(|e| errors::keys(&e))?;
    }
    signer.set_max_sessions(args.token_sessions);
    Ok(signer)
}

/// The serial number and a name ("label (serial)") of the only token present (`--token` not
/// given).
fn only_token(module: &Pkcs11Module) -> Result<(String, String), UserError> {
    let tokens = module.tokens().map_err(|e| errors::keys(&e))?;
    match tokens.as_slice() {
        [one] => Ok((
            one.serial.clone(),
            format!("{} ({})", one.label, one.serial),
        )),
        [] => Err(
            ue!("không thấy USB token nào: hãy cắm thiết bị vào máy rồi chạy lại"; "no token found: plug the device in and try again").environment(),
        ),
        many => {
            let names = many
                .iter()
                .map(|t| format!("{} ({})", t.label, t.serial))
                .collect::<Vec<_>>()
                .join(", ");
            Err(
                ue!("có nhiều USB token ({}); chọn một bằng --token NHÃN hoặc --token SỐ_SÊ_RI", names; "several tokens are present ({}); choose one with --token LABEL or --token SERIAL", names).usage(),
            )
        }
    }
}

/// Refuse a certificate that is not for signing, or outside its validity at `now` (unless
/// `allow_expired`).
pub fn check_certificate(
    cert: &kyso_x509::Cert,
    now: OffsetDateTime,
    allow_expired: bool,
) -> Result<(), UserError> {
    let ku = cert.key_usage();
    if ku.present && !ku.digital_signature && !ku.non_repudiation {
        return Err(
            ue!("chứng thư số không có mục đích ký số (digitalSignature)"; "the certificate is not for digital signatures (no digitalSignature key usage)").usage(),
        );
    }
    if !cert.valid_at(now) && !allow_expired {
        let until = cert.not_after().date();
        return Err(if now > cert.not_after() {
            ue!("chứng thư số đã hết hạn ngày {}; thêm --allow-expired nếu vẫn muốn ký", until; "the certificate expired on {}; add --allow-expired to sign anyway", until)
        } else {
            ue!("chứng thư số chưa có hiệu lực"; "the certificate is not valid yet")
        }
        .usage());
    }
    Ok(())
}
