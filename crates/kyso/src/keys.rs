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

/// The key options. Exactly one source: a PKCS#12 file (`--p12`).
#[derive(clap::Args, Debug, Clone)]
pub struct KeyArgs {
    /// Tệp khóa PKCS#12 (.p12/.pfx)
    #[arg(long, value_name = "FILE.p12")]
    pub p12: Option<PathBuf>,
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
        match &self.p12 {
            Some(p) => format!("PKCS#12 {}", p.display()),
            None => String::new(),
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

fn no_key() -> UserError {
    ue!("chưa chỉ khóa ký: dùng --p12 FILE.p12"; "no signing key given: use --p12 FILE.p12")
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
