//! Where the signing key is: the command-line options every signing command shares (`kyso
//! sign`, `kyso agent`, …) and opening the signer they name. Secrets (passwords, PINs) are read
//! from the environment or a prompt, never from the command line, and dropped (zeroized) as soon
//! as the key is open.

use std::path::{Path, PathBuf};

use kyso_cms::Signer;
use kyso_keys::{Pkcs11Signer, Secret};
use kyso_services::signing::{self, check_certificate, open_pkcs12};
use time::OffsetDateTime;

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
    use kyso_keys::CscAuth;
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
    let pin = secret(args.pin_env.as_deref(), "Mã PIN: ")?;
    signing::open_csc(signing::CscKey {
        url,
        credential: args.credential.clone(),
        auth,
        pin,
        pss: args.pss,
        ca: args.csc_ca.as_deref(),
    })
}

fn no_key() -> UserError {
    ue!("chưa chỉ khóa ký: dùng --p12 FILE.p12, --pkcs11-module PATH.so hoặc --csc URL"; "no signing key given: use --p12 FILE.p12, --pkcs11-module PATH.so or --csc URL").usage()
}

/// Log in to the token the options name and open its signing key. Unless the PIN is given, it
/// is read (from `--pin-env` or a prompt) only once the token is found.
pub fn open_pkcs11(
    args: &KeyArgs,
    module: &Path,
    pin: Option<&Secret>,
) -> Result<Pkcs11Signer, UserError> {
    let key = signing::TokenKey {
        module,
        token: args.token.as_deref(),
        key: args.key.as_deref(),
        pss: args.pss,
        sessions: args.token_sessions,
    };
    signing::open_pkcs11(&key, &mut |name| match pin {
        Some(p) => Ok(p.clone()),
        None => secret(
            args.pin_env.as_deref(),
            &format!("Mã PIN của thiết bị {name}: "),
        ),
    })
}
