//! Where the signing key is: the command-line options every signing command shares (`kyso
//! sign`, `kyso agent`, …) and opening the signer they name. Secrets (passwords, PINs) are read
//! from the environment or a prompt, never from the command line, and dropped (zeroized) as soon
//! as the key is open.

use std::path::PathBuf;

use kyso_cms::Signer;
use kyso_keys::{Pkcs12Signer, Secret};
use time::OffsetDateTime;

use crate::lang::UserError;
use crate::{errors, ue};

/// The key options. Exactly one source: a PKCS#12 file (`--p12`) or a remote signing service
/// speaking the CSC API (`--csc`).
#[derive(clap::Args, Debug, Clone)]
pub struct KeyArgs {
    /// Tệp khóa PKCS#12 (.p12/.pfx)
    #[arg(long, value_name = "FILE.p12", conflicts_with = "csc")]
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
    /// Biến môi trường chứa mã PIN của khóa (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    pub pin_env: Option<String>,
    /// Tên biến môi trường chứa mật khẩu PKCS#12 (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
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
        match (&self.p12, &self.csc) {
            (Some(p), _) => format!("PKCS#12 {}", p.display()),
            (None, Some(url)) => format!(
                "CSC {url} {}",
                self.credential.as_deref().unwrap_or_default()
            ),
            (None, None) => String::new(),
        }
    }
}

/// A secret from the environment variable `var`, or typed at the terminal after `prompt`.
pub fn secret(var: Option<&str>, prompt: &str) -> Result<Secret, UserError> {
    match var {
        Some(var) => std::env::var(var)
            .map(Secret::new)
            .map_err(|_| ue!("biến môi trường {} chưa được đặt", var; "environment variable {} is not set", var)),
        None => prompt_secret(prompt),
    }
}

/// Ask for a secret on the terminal without echo (a plain line when stdin is not a terminal,
/// as when a program answers the prompt).
pub fn prompt_secret(prompt: &str) -> Result<Secret, UserError> {
    eprint!("{prompt}");
    let line = rpassword::read_password().map_err(
        |e| ue!("không đọc được từ bàn phím: {}", e; "cannot read from the terminal: {}", e),
    )?;
    Ok(Secret::new(line))
}

/// Open the signer the options name and check its certificate is fit to sign at `now`; the
/// password or PIN comes from the environment variable named, else from a prompt.
pub fn open(args: &KeyArgs, now: OffsetDateTime) -> Result<Box<dyn Signer>, UserError> {
    if let Some(url) = &args.csc {
        let signer: Box<dyn Signer> = Box::new(open_csc(args, url)?);
        check_certificate(signer.certificate(), now, args.allow_expired)?;
        return Ok(signer);
    }
    if args.p12.is_none() {
        return Err(no_key());
    }
    let password = secret(args.password_env.as_deref(), "Mật khẩu PKCS#12: ")?;
    open_with_secret(args, &password, now)
}

/// Open the signer with a password or PIN already obtained (the agent asks for it per
/// signature).
pub fn open_with_secret(
    args: &KeyArgs,
    secret: &Secret,
    now: OffsetDateTime,
) -> Result<Box<dyn Signer>, UserError> {
    let signer: Box<dyn Signer> = match &args.p12 {
        Some(path) => Box::new(open_pkcs12(path, secret, args.pss)?),
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
                .map_err(|e| ue!("tệp CA không đọc được: {}: {}", path.display(), e; "cannot read the CA file {}: {}", path.display(), e))?
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
    ue!("chưa chỉ khóa ký: dùng --p12 FILE.p12 hoặc --csc URL"; "no signing key given: use --p12 FILE.p12 or --csc URL")
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
            ue!("chứng thư số không có mục đích ký số (digitalSignature)"; "the certificate is not for digital signatures (no digitalSignature key usage)"),
        );
    }
    if !cert.valid_at(now) && !allow_expired {
        let until = cert.not_after().date();
        return Err(if now > cert.not_after() {
            ue!("chứng thư số đã hết hạn ngày {}; thêm --allow-expired nếu vẫn muốn ký", until; "the certificate expired on {}; add --allow-expired to sign anyway", until)
        } else {
            ue!("chứng thư số chưa có hiệu lực"; "the certificate is not valid yet")
        });
    }
    Ok(())
}
