//! `kyso serve`'s settings from three places: the command line, `KYSO_*` environment variables
//! (the binary's clap reads both, the command line first: [`Options`]) and a TOML file
//! (`--config`, [`FileConfig`]), then the defaults ([`Settings::resolve`]). Secrets are never
//! options: they come from files (`--…-file`, e.g. systemd credentials or container secrets)
//! or, as before, from environment variables.

use std::path::{Path, PathBuf};

use kyso_i18n::{ue, UserError};
use kyso_store::objects::bucket::{Address, Bucket, Credentials};
use kyso_store::objects::{Folder, Objects};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::audit::AuditFiles;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data folder.
pub const DEFAULT_DATA_DIR: &str = "kyso-data";
/// Highest `--incoming-max-mb` (the streamed file is verified and kept whole on disk).
pub const MAX_INCOMING_MB: u64 = 4096;

/// The options of `kyso serve` as given on the command line or in `KYSO_*` variables (`None`:
/// not given there).
#[derive(Debug, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    pub no_demo: Option<bool>,
    pub root_code: Option<String>,
    pub root_name: Option<String>,
    pub secure_cookies: Option<bool>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    pub public_url: Option<String>,
    pub incoming_max_mb: Option<u64>,
    pub verify_max_mb: Option<u64>,
    pub verify_burst: Option<u32>,
    pub verify_per_minute: Option<u32>,
    pub verify_uploads: Option<usize>,
    pub threads: Option<usize>,
    pub org_keys: Vec<String>,
    pub org_key_password_file: Option<PathBuf>,
    pub trusted_proxies: Vec<String>,
    pub metrics_listen: Option<String>,
    pub audit_files: AuditFiles,
    pub csc_url: Option<String>,
    pub csc_level: Option<String>,
    pub csc_tsa: Option<String>,
    pub csc_ca: Option<PathBuf>,
    pub backup_dir: Option<PathBuf>,
    pub backup_every: Option<String>,
    pub blob_store: Option<String>,
    pub s3_credentials_file: Option<PathBuf>,
}

/// The TOML file: every option of `kyso serve` under its long name (`listen`, `data-dir`,
/// `trusted-proxy = ["10.0.0.0/8"]`, …). Relative paths are relative to the file's folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    pub no_demo: Option<bool>,
    pub root_code: Option<String>,
    pub root_name: Option<String>,
    pub secure_cookies: Option<bool>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    pub public_url: Option<String>,
    pub incoming_max_mb: Option<u64>,
    pub verify_max_mb: Option<u64>,
    pub verify_burst: Option<u32>,
    pub verify_per_minute: Option<u32>,
    pub verify_uploads: Option<usize>,
    pub threads: Option<usize>,
    pub org_key: Option<Vec<String>>,
    pub org_key_password_file: Option<PathBuf>,
    pub trusted_proxy: Option<Vec<String>>,
    pub metrics_listen: Option<String>,
    pub audit_key_file: Option<PathBuf>,
    pub audit_checkpoint_file: Option<PathBuf>,
    pub csc_url: Option<String>,
    pub csc_level: Option<String>,
    pub csc_tsa: Option<String>,
    pub csc_ca: Option<PathBuf>,
    pub backup_dir: Option<PathBuf>,
    pub backup_every: Option<String>,
    pub blob_store: Option<String>,
    pub s3_credentials_file: Option<PathBuf>,
}

impl FileConfig {
    /// Read and parse `path`; relative paths inside are made relative to its folder.
    pub fn load(path: &Path) -> Result<FileConfig, UserError> {
        let text = std::fs::read_to_string(path).map_err(|e| kyso_i18n::catalogue::io(path, &e))?;
        let mut c: FileConfig = toml::from_str(&text).map_err(|e| {
            ue!("tệp cấu hình {} không hợp lệ: {}", path.display(), e.message(); "invalid configuration file {}: {}", path.display(), e.message())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut c.data_dir,
            &mut c.database_url_file,
            &mut c.smtp_password_file,
            &mut c.org_key_password_file,
            &mut c.audit_key_file,
            &mut c.audit_checkpoint_file,
            &mut c.csc_ca,
            &mut c.s3_credentials_file,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        // A folder given relative to the file; a bucket's address (`s3://…`) as it is.
        for p in [&mut c.backup_dir].into_iter().flatten() {
            if p.is_relative() && !Address::is_address(&p.to_string_lossy()) {
                *p = base.join(&*p);
            }
        }
        if let Some(store) = &mut c.blob_store {
            if !Address::is_address(store) && Path::new(store.as_str()).is_relative() {
                *store = base.join(store.as_str()).display().to_string();
            }
        }
        if let Some(keys) = &mut c.org_key {
            for spec in keys.iter_mut() {
                if let Some((code, file)) = spec.split_once('=') {
                    let file = Path::new(file);
                    if file.is_relative() {
                        *spec = format!("{code}={}", base.join(file).display());
                    }
                }
            }
        }
        Ok(c)
    }
}

/// A secret read from a file: one trailing line break is dropped (what `echo` and editors
/// add); an empty secret is refused.
pub fn read_secret(path: &Path, option: &str) -> Result<Zeroizing<String>, UserError> {
    let raw = Zeroizing::new(std::fs::read(path).map_err(|e| kyso_i18n::catalogue::io(path, &e))?);
    let text = std::str::from_utf8(&raw).map_err(|_| {
        ue!("{} {}: tệp phải là văn bản UTF-8", option, path.display(); "{} {}: the file must be UTF-8 text", option, path.display())
    })?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if text.is_empty() {
        return Err(
            ue!("{} {}: tệp trống", option, path.display(); "{} {}: the file is empty", option, path.display()),
        );
    }
    warn_if_readable_by_others(path, option);
    Ok(Zeroizing::new(text.to_owned()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, option: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o004 != 0 {
            tracing::warn!(
                option,
                file = %path.display(),
                "a secret file is readable by every user of this machine (chmod o-r)"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path, _: &str) {}

/// A secret from, in this order: the `--…-file` option given on the command line or in its
/// environment variable, the environment variable holding the secret itself, the file named
/// by the configuration file.
pub fn secret(
    option: &str,
    cli_file: Option<&Path>,
    env_var: &str,
    config_file: Option<&Path>,
) -> Result<Option<Zeroizing<String>>, UserError> {
    if let Some(p) = cli_file {
        return read_secret(p, option).map(Some);
    }
    if let Some(v) = std::env::var(env_var).ok().filter(|v| !v.is_empty()) {
        return Ok(Some(Zeroizing::new(v)));
    }
    match config_file {
        Some(p) => read_secret(p, option).map(Some),
        None => Ok(None),
    }
}

/// Where files are kept: a folder of this machine, or a bucket of an S3-compatible object
/// store given by its address, `s3://BUCKET[/PREFIX]?endpoint=URL[&region=NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Folder(PathBuf),
    Bucket(Address),
}

impl Place {
    /// `text` given to `option`: a bucket's address or a folder.
    pub fn parse(option: &str, text: &str) -> Result<Place, UserError> {
        if Address::is_address(text) {
            Address::parse(text).map(Place::Bucket).map_err(|e| {
                ue!("{}: {} (dạng s3://TÊN_BUCKET/TIỀN_TỐ?endpoint=http://máy-chủ:3900)", option, e; "{}: {} (s3://BUCKET/PREFIX?endpoint=http://host:3900)", option, e)
                    .usage()
            })
        } else {
            Ok(Place::Folder(PathBuf::from(text)))
        }
    }

    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Place::Folder(p) => p.display().to_string(),
            Place::Bucket(a) => a.to_string(),
        }
    }

    /// Open it: a bucket with `credentials` (needed), its uploads written first in `staging`.
    /// No request is made yet.
    pub fn open(
        &self,
        option: &str,
        credentials: Option<&Credentials>,
        staging: &Path,
    ) -> Result<std::sync::Arc<dyn Objects>, UserError> {
        match self {
            Place::Folder(p) => Ok(std::sync::Arc::new(Folder::new(p))),
            Place::Bucket(a) => {
                let c = credentials.ok_or_else(|| {
                    ue!("{} {}: cần khóa truy cập của kho đối tượng: --s3-credentials-file TỆP (dòng 1: mã khóa, dòng 2: khóa bí mật) hoặc biến môi trường KYSO_S3_ACCESS_KEY_ID và KYSO_S3_SECRET_ACCESS_KEY", option, a; "{} {}: the object store's access key is needed: --s3-credentials-file FILE (line 1: key id, line 2: secret) or the environment variables KYSO_S3_ACCESS_KEY_ID and KYSO_S3_SECRET_ACCESS_KEY", option, a)
                    .usage()
                })?;
                let bucket = Bucket::open(a, c, staging.to_path_buf()).map_err(|e| {
                    ue!("{} {}: {}", option, a, e; "{} {}: {}", option, a, e).environment()
                })?;
                Ok(std::sync::Arc::new(bucket))
            }
        }
    }
}

/// The folder of the data folder where a bucket's uploads are written first.
pub const STAGING: &str = "staging";

/// The blob store at `place`: a folder (created), or a bucket whose uploads are written first in
/// the data folder's `staging`.
pub fn open_blobs(
    place: &Place,
    credentials: Option<&Credentials>,
    data_dir: &Path,
) -> Result<kyso_store::blobs::Blobs, UserError> {
    match place {
        Place::Folder(dir) => kyso_store::blobs::Blobs::open(dir).map_err(|e| {
            ue!("không tạo được thư mục lưu văn bản: {}", e; "cannot create the blob folder: {}", e)
                .environment()
        }),
        Place::Bucket(_) => Ok(kyso_store::blobs::Blobs::over(place.open(
            "--blob-store",
            credentials,
            &data_dir.join(STAGING),
        )?)),
    }
}

/// The object store's access key from, in this order: the `--s3-credentials-file` given on the
/// command line or in its environment variable, the variables `KYSO_S3_ACCESS_KEY_ID` and
/// `KYSO_S3_SECRET_ACCESS_KEY`, the file named by the configuration file.
pub fn s3_credentials(
    cli_file: Option<&Path>,
    config_file: Option<&Path>,
) -> Result<Option<Credentials>, UserError> {
    let from_file = |p: &Path| {
        let text = read_secret(p, "--s3-credentials-file")?;
        Credentials::parse(&text).ok_or_else(|| {
            ue!("--s3-credentials-file {}: cần hai dòng: mã khóa truy cập, rồi khóa bí mật", p.display(); "--s3-credentials-file {}: two lines are needed: the access key id, then the secret key", p.display())
            .usage()
        })
    };
    if let Some(p) = cli_file {
        return from_file(p).map(Some);
    }
    let id = std::env::var("KYSO_S3_ACCESS_KEY_ID")
        .ok()
        .filter(|v| !v.is_empty());
    let secret = std::env::var("KYSO_S3_SECRET_ACCESS_KEY")
        .ok()
        .filter(|v| !v.is_empty())
        .map(Zeroizing::new);
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Some(Credentials {
                access_key_id,
                secret_access_key,
            }))
        }
        (None, None) => {}
        _ => {
            return Err(
                ue!("KYSO_S3_ACCESS_KEY_ID và KYSO_S3_SECRET_ACCESS_KEY phải đi cùng nhau"; "KYSO_S3_ACCESS_KEY_ID and KYSO_S3_SECRET_ACCESS_KEY go together"),
            )
        }
    }
    config_file.map(from_file).transpose()
}

/// The settings in force, from [`Options`], the environment, the configuration file and the
/// defaults. (No `Debug`: it holds secrets.)
pub struct Settings {
    pub listen: std::net::SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub no_demo: bool,
    pub root_code: Option<String>,
    pub root_name: Option<String>,
    pub secure_cookies: bool,
    pub smtp: Option<crate::mailer::SmtpConfig>,
    /// The server's address as its users reach it (`--public-url`, `https://…`, no trailing
    /// slash): the links of e-mailed notices are made absolute on it.
    pub public_url: Option<String>,
    /// Largest document streamed to `POST /api/v1/incoming`, in bytes (`--incoming-max-mb`).
    pub incoming_max: u64,
    /// The public verification service's limits (`/kiem-tra`, `POST /api/v1/verify`).
    pub verify: VerifySettings,
    pub threads: Option<usize>,
    pub org_keys: Vec<String>,
    pub org_key_password: Option<Zeroizing<String>>,
    pub trusted_proxies: crate::TrustedProxies,
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub audit_files: AuditFiles,
    /// Signing flow steps with a remote key over the CSC API (`--csc-url`): none when not
    /// configured, and the document page does not offer it.
    pub remote_signing: Option<RemoteSigningSettings>,
    /// Scheduled backups (`--backup-dir`, `--backup-every`): none when not configured.
    pub backup: Option<BackupSchedule>,
    /// Where the documents' files are kept (`--blob-store`): the data folder's `blobs`, or a
    /// bucket.
    pub blob_store: Place,
    /// The object store's access key, when a bucket is used.
    pub s3_credentials: Option<Credentials>,
}

/// Where and how often `kyso serve` makes a backup (`kyso_store::backup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub dir: Place,
    pub every: std::time::Duration,
}

/// `--backup-every`: a number and a unit, `s`, `m`, `h` or `d` (`24h`, `90m`), at least a
/// minute and at most 30 days.
pub fn backup_period(s: &str) -> Result<std::time::Duration, UserError> {
    let t = s.trim();
    let bad = || ue!("--backup-every: thời gian không hợp lệ: {} (ví dụ 24h, 90m, 1d; từ 1 phút đến 30 ngày)", s; "--backup-every: invalid period: {} (e.g. 24h, 90m, 1d; from 1 minute to 30 days)", s);
    let (num, unit) = t.split_at(t.len().saturating_sub(1));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(bad()),
    };
    if !(60..=30 * 86_400).contains(&secs) {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// The public verification service's limits: the largest file (`--verify-max-mb`, at most
/// 64), the requests a client may make at once (`--verify-burst`) and then each minute
/// (`--verify-per-minute`), and the uploads received at once (`--verify-uploads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifySettings {
    pub max_mb: u64,
    pub burst: u32,
    pub per_minute: u32,
    pub uploads: usize,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            max_mb: (crate::MAX_DOCUMENT_FILE >> 20) as u64,
            burst: crate::rate_limit::DEFAULT_BURST,
            per_minute: crate::rate_limit::DEFAULT_PER_MINUTE,
            uploads: crate::rate_limit::DEFAULT_UPLOADS,
        }
    }
}

impl VerifySettings {
    /// The limits the server applies (one validation per core, 30 s of waiting for a turn).
    pub fn limits(&self) -> crate::VerifyLimits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        crate::VerifyLimits::new(
            crate::RateLimit::new(self.burst, self.per_minute),
            self.uploads,
            cores,
            std::time::Duration::from_secs(30),
        )
        .with_max_bytes(usize::try_from(self.max_mb << 20).unwrap_or(usize::MAX))
    }
}

/// `value` of `option` if within `1..=max`, else the error naming the bounds.
fn bounded<T: PartialOrd + From<u8> + std::fmt::Display + Copy>(
    option: &str,
    value: Option<T>,
    default: T,
    max: T,
) -> Result<T, UserError> {
    match value {
        None => Ok(default),
        Some(v) if v >= T::from(1) && v <= max => Ok(v),
        Some(v) => Err(
            ue!("{} {}: phải từ 1 đến {}", option, v, max; "{} {}: must be 1 to {}", option, v, max),
        ),
    }
}

/// Where the remote signing service is and the PAdES level of its signatures.
#[derive(Debug, Clone)]
pub struct RemoteSigningSettings {
    /// The CSC service's base URL (before `/csc/v2/…`).
    pub url: String,
    pub level: kyso_pades::ltv::Level,
    /// The time-stamping service, needed from B-T up.
    pub tsa: Option<String>,
    /// Trust anchors (DER) for the service's TLS certificate instead of the Mozilla root store
    /// (`--csc-ca`, a PEM bundle: a service behind a private CA).
    pub tls_roots: Vec<Vec<u8>>,
}

/// `B-B`, `B-T`, `B-LT` or `B-LTA` (any case).
fn level(option: &str, s: &str) -> Result<kyso_pades::ltv::Level, UserError> {
    use kyso_pades::ltv::Level;
    [Level::BB, Level::BT, Level::BLt, Level::BLta]
        .into_iter()
        .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| {
            ue!("{}: mức không hợp lệ: {} (B-B, B-T, B-LT hoặc B-LTA)", option, s; "{}: invalid level: {} (B-B, B-T, B-LT or B-LTA)", option, s)
        })
}

/// Without the secrets.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("no_demo", &self.no_demo)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

/// `--public-url`: an absolute http(s) URL with a host, without query or fragment; the
/// trailing slash dropped.
fn public_url(s: &str) -> Result<String, UserError> {
    let u = s.trim().trim_end_matches('/');
    let host = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !u.contains(['?', '#', ' ']) => Ok(u.to_owned()),
        _ => Err(
            ue!("--public-url: địa chỉ không hợp lệ: {} (địa chỉ người dùng mở kyso, ví dụ https://kyso.skhcn.example.gov.vn)", s; "--public-url: invalid address: {} (the address users open kyso at, e.g. https://kyso.skhcn.example.gov.vn)", s),
        ),
    }
}

fn socket_addr(option: &str, s: &str) -> Result<std::net::SocketAddr, UserError> {
    s.parse().map_err(|_| {
        ue!("{}: địa chỉ không hợp lệ: {} (dạng IP:cổng, ví dụ 127.0.0.1:8080)", option, s; "{}: invalid address: {} (IP:PORT, e.g. 127.0.0.1:8080)", option, s)
    })
}

impl Settings {
    /// Merge the options with the `--config` file they name and the defaults; secrets are read
    /// from their files or environment variables now.
    pub fn resolve(args: Options) -> Result<Settings, UserError> {
        let file = match &args.config {
            Some(p) => FileConfig::load(p)?,
            None => FileConfig::default(),
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = socket_addr("--listen", &listen)?;
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match (args.database_url, &args.database_url_file) {
            (Some(u), _) => Some(u),
            (None, Some(f)) => Some(read_secret(f, "--database-url-file")?.to_string()),
            (None, None) => match (file.database_url, &file.database_url_file) {
                (Some(u), _) => Some(u),
                (None, Some(f)) => Some(read_secret(f, "--database-url-file")?.to_string()),
                (None, None) => None,
            },
        };
        let no_demo = args.no_demo.or(file.no_demo).unwrap_or(false);
        let root_code = args.root_code.or(file.root_code);
        let root_name = args.root_name.or(file.root_name);
        if no_demo && (root_code.is_none() || root_name.is_none()) {
            return Err(
                ue!("--no-demo cần --root-code và --root-name (cơ quan gốc của quản trị viên đầu tiên)"; "--no-demo needs --root-code and --root-name (the first administrator's agency)"),
            );
        }
        if !no_demo && (root_code.is_some() || root_name.is_some()) {
            return Err(
                ue!("--root-code và --root-name chỉ dùng với --no-demo"; "--root-code and --root-name go with --no-demo only"),
            );
        }
        let secure_cookies = args.secure_cookies.or(file.secure_cookies).unwrap_or(false);
        let smtp_url = args.smtp_url.or(file.smtp_url);
        let smtp_from = args.smtp_from.or(file.smtp_from);
        let smtp = match (smtp_url, smtp_from) {
            (Some(url), Some(from)) => Some(crate::mailer::SmtpConfig {
                url,
                from,
                password: secret(
                    "--smtp-password-file",
                    args.smtp_password_file.as_deref(),
                    "KYSO_SMTP_PASSWORD",
                    file.smtp_password_file.as_deref(),
                )?,
            }),
            (None, None) => None,
            _ => {
                return Err(
                    ue!("--smtp-url và --smtp-from phải đi cùng nhau"; "--smtp-url and --smtp-from go together"),
                )
            }
        };
        let public_url = match args.public_url.or(file.public_url) {
            Some(u) if !u.trim().is_empty() => Some(public_url(&u)?),
            _ => None,
        };
        let incoming_max = match args.incoming_max_mb.or(file.incoming_max_mb) {
            Some(mb) if (1..=MAX_INCOMING_MB).contains(&mb) => mb * 1024 * 1024,
            Some(mb) => {
                return Err(
                    ue!("--incoming-max-mb {}: phải từ 1 đến {}", mb, MAX_INCOMING_MB; "--incoming-max-mb {}: must be 1 to {}", mb, MAX_INCOMING_MB),
                )
            }
            None => crate::DEFAULT_INCOMING_MAX,
        };
        let d = VerifySettings::default();
        let verify = VerifySettings {
            max_mb: bounded(
                "--verify-max-mb",
                args.verify_max_mb.or(file.verify_max_mb),
                d.max_mb,
                d.max_mb,
            )?,
            burst: bounded(
                "--verify-burst",
                args.verify_burst.or(file.verify_burst),
                d.burst,
                10_000,
            )?,
            per_minute: bounded(
                "--verify-per-minute",
                args.verify_per_minute.or(file.verify_per_minute),
                d.per_minute,
                100_000,
            )?,
            uploads: bounded(
                "--verify-uploads",
                args.verify_uploads.or(file.verify_uploads),
                d.uploads,
                1024,
            )?,
        };
        let org_keys = if args.org_keys.is_empty() {
            file.org_key.unwrap_or_default()
        } else {
            args.org_keys
        };
        let org_key_password = if org_keys.is_empty() {
            None
        } else {
            secret(
                "--org-key-password-file",
                args.org_key_password_file.as_deref(),
                "KYSO_ORG_KEY_PASSWORD",
                file.org_key_password_file.as_deref(),
            )?
        };
        let proxies = if args.trusted_proxies.is_empty() {
            file.trusted_proxy.unwrap_or_default()
        } else {
            args.trusted_proxies
        };
        let mut ranges = Vec::new();
        for p in proxies.iter().filter(|p| !p.trim().is_empty()) {
            ranges.push(crate::Cidr::parse(p).map_err(|e| {
                ue!("--trusted-proxy: {} (dạng 10.0.0.0/8 hoặc một địa chỉ IP)", e; "--trusted-proxy: {} (e.g. 10.0.0.0/8 or one IP address)", e)
            })?);
        }
        let metrics_listen = match args.metrics_listen.or(file.metrics_listen) {
            Some(a) => Some(socket_addr("--metrics-listen", &a)?),
            None => None,
        };
        let mut audit_files = args.audit_files;
        if audit_files.key_file.is_none() {
            audit_files.key_file = file.audit_key_file;
        }
        if audit_files.checkpoint_file.is_none() {
            audit_files.checkpoint_file = file.audit_checkpoint_file;
        }
        let backup = match (
            args.backup_dir.or(file.backup_dir),
            args.backup_every.or(file.backup_every),
        ) {
            (Some(dir), every) => Some(BackupSchedule {
                dir: Place::parse("--backup-dir", &dir.to_string_lossy())?,
                every: backup_period(every.as_deref().unwrap_or("24h"))?,
            }),
            (None, Some(_)) => {
                return Err(
                    ue!("--backup-every cần --backup-dir (thư mục sao lưu)"; "--backup-every needs --backup-dir (the backup folder)"),
                )
            }
            (None, None) => None,
        };
        let blob_store = match args.blob_store.or(file.blob_store) {
            Some(s) if !s.trim().is_empty() => Place::parse("--blob-store", s.trim())?,
            _ => Place::Folder(data_dir.join("blobs")),
        };
        let uses_bucket = matches!(blob_store, Place::Bucket(_))
            || matches!(
                &backup,
                Some(BackupSchedule {
                    dir: Place::Bucket(_),
                    ..
                })
            );
        let s3_credentials = if uses_bucket {
            s3_credentials(
                args.s3_credentials_file.as_deref(),
                file.s3_credentials_file.as_deref(),
            )?
        } else {
            None
        };
        let csc_url = args
            .csc_url
            .or(file.csc_url)
            .filter(|u| !u.trim().is_empty());
        let csc_level = args.csc_level.or(file.csc_level);
        let csc_tsa = args
            .csc_tsa
            .or(file.csc_tsa)
            .filter(|u| !u.trim().is_empty());
        let csc_ca = args.csc_ca.or(file.csc_ca);
        let remote_signing = match csc_url {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(
                        ue!("--csc-url: địa chỉ không hợp lệ: {} (https://…)", url; "--csc-url: invalid address: {} (https://…)", url),
                    );
                }
                let level = match &csc_level {
                    Some(l) => level("--csc-level", l)?,
                    None => kyso_pades::ltv::Level::BB,
                };
                if level > kyso_pades::ltv::Level::BB && csc_tsa.is_none() {
                    return Err(
                        ue!("--csc-level {} cần dịch vụ cấp dấu thời gian: thêm --csc-tsa URL", level.name(); "--csc-level {} needs a time-stamping service: add --csc-tsa URL", level.name()),
                    );
                }
                let tls_roots = match &csc_ca {
                    Some(path) => kyso_services::signing::csc_tls_roots(path)?,
                    None => Vec::new(),
                };
                Some(RemoteSigningSettings {
                    url,
                    level,
                    tsa: csc_tsa,
                    tls_roots,
                })
            }
            None if csc_level.is_some() || csc_tsa.is_some() || csc_ca.is_some() => {
                return Err(
                    ue!("--csc-level, --csc-tsa và --csc-ca chỉ dùng với --csc-url"; "--csc-level, --csc-tsa and --csc-ca go with --csc-url only"),
                )
            }
            None => None,
        };
        Ok(Settings {
            listen,
            data_dir,
            database_url,
            no_demo,
            root_code,
            root_name,
            secure_cookies,
            smtp,
            public_url,
            incoming_max,
            verify,
            threads: args.threads.or(file.threads),
            org_keys,
            org_key_password,
            trusted_proxies: crate::TrustedProxies::new(ranges),
            metrics_listen,
            audit_files,
            remote_signing,
            backup,
            blob_store,
            s3_credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_lose_one_line_break_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "mật khẩu \n").unwrap();
        assert_eq!(read_secret(&p, "--x").unwrap().as_str(), "mật khẩu ");
        std::fs::write(&p, "a\r\n").unwrap();
        assert_eq!(read_secret(&p, "--x").unwrap().as_str(), "a");
        std::fs::write(&p, "\n").unwrap();
        assert!(read_secret(&p, "--x").is_err());
        assert!(read_secret(&dir.path().join("none"), "--x").is_err());
    }

    #[test]
    fn the_incoming_cap_comes_from_the_options_or_the_file_and_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kyso.toml");
        std::fs::write(&p, "incoming-max-mb = 128\n").unwrap();
        let resolve = |o: Options| Settings::resolve(o).map(|s| s.incoming_max);
        assert_eq!(
            resolve(Options::default()).ok(),
            Some(crate::DEFAULT_INCOMING_MAX)
        );
        let from_file = resolve(Options {
            config: Some(p.clone()),
            ..Default::default()
        });
        assert_eq!(from_file.ok(), Some(128 * 1024 * 1024));
        let given = resolve(Options {
            config: Some(p),
            incoming_max_mb: Some(2),
            ..Default::default()
        });
        assert_eq!(given.ok(), Some(2 * 1024 * 1024));
        for bad in [0, MAX_INCOMING_MB + 1] {
            let e = resolve(Options {
                incoming_max_mb: Some(bad),
                ..Default::default()
            })
            .err()
            .unwrap();
            assert!(e.en.contains("--incoming-max-mb"), "{}", e.en);
        }
    }

    #[test]
    fn the_public_verification_limits_come_from_the_options_or_the_file_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kyso.toml");
        std::fs::write(
            &p,
            "verify-max-mb = 8\nverify-burst = 5\nverify-uploads = 4\n",
        )
        .unwrap();
        let resolve = |o: Options| Settings::resolve(o).map(|s| s.verify);
        let d = resolve(Options::default()).ok().unwrap();
        assert_eq!(d, VerifySettings::default());
        assert_eq!(
            (d.max_mb, d.burst, d.per_minute, d.uploads),
            (64, 20, 20, 16)
        );
        let limits = d.limits();
        assert_eq!(limits.max_bytes, crate::MAX_DOCUMENT_FILE);
        let given = resolve(Options {
            config: Some(p),
            verify_burst: Some(3),
            verify_per_minute: Some(90),
            ..Default::default()
        })
        .ok()
        .unwrap();
        assert_eq!(
            given,
            VerifySettings {
                max_mb: 8,
                burst: 3,
                per_minute: 90,
                uploads: 4
            }
        );
        assert_eq!(given.limits().max_bytes, 8 << 20);
        let e = resolve(Options {
            verify_max_mb: Some(65),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.en.contains("--verify-max-mb"), "{}", e.en);
        let e = resolve(Options {
            verify_uploads: Some(0),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.en.contains("--verify-uploads"), "{}", e.en);
    }

    #[test]
    fn the_public_url_comes_from_the_options_or_the_file_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kyso.toml");
        std::fs::write(&p, "public-url = \"https://kyso.skhcn.example.gov.vn/\"\n").unwrap();
        let resolve = |o: Options| Settings::resolve(o).map(|s| s.public_url);
        let from_file = resolve(Options {
            config: Some(p.clone()),
            ..Default::default()
        });
        assert_eq!(
            from_file.unwrap().as_deref(),
            Some("https://kyso.skhcn.example.gov.vn")
        );
        let given = resolve(Options {
            config: Some(p),
            public_url: Some("http://10.0.0.5:8080/kyso/".into()),
            ..Default::default()
        });
        assert_eq!(given.unwrap().as_deref(), Some("http://10.0.0.5:8080/kyso"));
        assert_eq!(resolve(Options::default()).unwrap(), None);
        for bad in [
            "kyso.example.vn",
            "https://",
            "ftp://kyso.example.vn",
            "https://k.vn/?a=1",
        ] {
            let e = resolve(Options {
                public_url: Some(bad.into()),
                ..Default::default()
            })
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.to_string().contains("--public-url"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_csc_service_behind_a_private_ca_is_trusted_through_csc_ca() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let bundle = dir.path().join("ca.pem");
        std::fs::write(&bundle, ca.pem()).unwrap();
        let p = dir.path().join("kyso.toml");
        std::fs::write(
            &p,
            "csc-url = \"https://csc.example.gov.vn\"\ncsc-ca = \"ca.pem\"\n",
        )
        .unwrap();
        let resolve = |o: Options| Settings::resolve(o).map(|s| s.remote_signing);
        // From the file, relative to its folder; the DER of the bundle's certificate.
        let r = resolve(Options {
            config: Some(p),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(r.tls_roots, vec![ca.der().to_vec()]);
        // Without it the system's roots are used; a file without a certificate is refused,
        // and --csc-ca without --csc-url too.
        let url = || Some("https://csc.example.gov.vn".to_owned());
        let r = resolve(Options {
            csc_url: url(),
            ..Default::default()
        });
        assert!(r.unwrap().unwrap().tls_roots.is_empty());
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let e = resolve(Options {
            csc_url: url(),
            csc_ca: Some(empty),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(
            e.message(kyso_i18n::Lang::Vi)
                .contains("tệp CA không đọc được"),
            "{e}"
        );
        let e = resolve(Options {
            csc_ca: Some(bundle),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("--csc-url"), "{e}");
    }

    #[test]
    fn remote_signing_is_configured_by_its_url_with_a_level_and_tsa() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kyso.toml");
        std::fs::write(
            &p,
            "csc-url = \"https://csc.example.gov.vn/\"\ncsc-level = \"b-t\"\n\
             csc-tsa = \"http://127.0.0.1:8779/tsa\"\n",
        )
        .unwrap();
        let resolve = |o: Options| Settings::resolve(o).map(|s| s.remote_signing);
        let r = resolve(Options {
            config: Some(p.clone()),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(r.url, "https://csc.example.gov.vn");
        assert_eq!(r.level, kyso_pades::ltv::Level::BT);
        assert_eq!(r.tsa.as_deref(), Some("http://127.0.0.1:8779/tsa"));
        // Not configured: not offered.
        assert!(resolve(Options::default()).unwrap().is_none());
        // A level above B-B without a TSA, a bad level, a level without the URL.
        for o in [
            Options {
                csc_url: Some("https://csc.example".into()),
                csc_level: Some("B-LTA".into()),
                ..Default::default()
            },
            Options {
                csc_url: Some("https://csc.example".into()),
                csc_level: Some("B-X".into()),
                ..Default::default()
            },
            Options {
                csc_level: Some("B-B".into()),
                ..Default::default()
            },
            Options {
                csc_url: Some("ftp://csc.example".into()),
                ..Default::default()
            },
        ] {
            assert!(resolve(o).is_err());
        }
    }

    #[test]
    fn the_file_knows_every_option_and_refuses_unknown_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kyso.toml");
        std::fs::write(
            &p,
            "listen = \"0.0.0.0:80\"\ndata-dir = \"data\"\nno-demo = true\n\
             trusted-proxy = [\"10.0.0.0/8\"]\norg-key = [\"H99.37=keys/o.p12\"]\n\
             smtp-password-file = \"/run/secrets/smtp\"\n",
        )
        .unwrap();
        let c = FileConfig::load(&p).unwrap();
        assert_eq!(c.listen.as_deref(), Some("0.0.0.0:80"));
        assert_eq!(c.data_dir, Some(dir.path().join("data")));
        assert_eq!(c.no_demo, Some(true));
        assert_eq!(
            c.org_key,
            Some(vec![format!(
                "H99.37={}",
                dir.path().join("keys/o.p12").display()
            )])
        );
        assert_eq!(
            c.smtp_password_file,
            Some(PathBuf::from("/run/secrets/smtp"))
        );
        std::fs::write(&p, "listn = \"x\"\n").unwrap();
        let e = FileConfig::load(&p).unwrap_err();
        assert!(e.message(kyso_i18n::Lang::En).contains("listn"), "{e:?}");
    }

    #[test]
    fn the_blob_store_and_backups_are_a_folder_or_a_bucket_with_its_key_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kyso.toml");
        let key = dir.path().join("s3-key");
        std::fs::write(&key, "GKa1b2c3d4e5f6a1b2c3d4e5f6\nsecret-of-the-store\n").unwrap();
        std::fs::write(
            &p,
            "data-dir = \"data\"\nblob-store = \"s3://kyso-blobs/hue?endpoint=http://garage.internal:3900\"\n\
             backup-dir = \"s3://kyso-backups?endpoint=http://garage.internal:3900\"\n\
             s3-credentials-file = \"s3-key\"\n",
        )
        .unwrap();
        let s = Settings::resolve(Options {
            config: Some(p.clone()),
            ..Default::default()
        })
        .unwrap();
        let Place::Bucket(a) = &s.blob_store else {
            panic!("{:?}", s.blob_store)
        };
        assert_eq!(
            (a.bucket.as_str(), a.prefix.as_str()),
            ("kyso-blobs", "hue/")
        );
        assert!(matches!(
            s.backup.as_ref().map(|b| &b.dir),
            Some(Place::Bucket(b)) if b.bucket == "kyso-backups"
        ));
        let c = s.s3_credentials.as_ref().unwrap();
        assert_eq!(c.access_key_id, "GKa1b2c3d4e5f6a1b2c3d4e5f6");
        assert!(!format!("{c:?}").contains("secret-of-the-store"));
        // The default: the data folder's blobs, no key read.
        let d = Settings::resolve(Options {
            data_dir: Some(dir.path().join("d")),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            d.blob_store,
            Place::Folder(dir.path().join("d").join("blobs"))
        );
        assert!(d.s3_credentials.is_none());
        // A folder in the file is relative to it; a bad address names the option.
        std::fs::write(&p, "blob-store = \"blobs-disk\"\nbackup-dir = \"bk\"\n").unwrap();
        let f = Settings::resolve(Options {
            config: Some(p.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.blob_store, Place::Folder(dir.path().join("blobs-disk")));
        assert_eq!(
            f.backup.map(|b| b.dir),
            Some(Place::Folder(dir.path().join("bk")))
        );
        let e = Settings::resolve(Options {
            blob_store: Some("s3://Bad_Bucket".into()),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("--blob-store"), "{e}");
        let e = Settings::resolve(Options {
            s3_credentials_file: Some(dir.path().join("p")),
            blob_store: Some("s3://kyso-blobs".into()),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(
            e.to_string().contains("--s3-credentials-file") || e.to_string().contains("p"),
            "{e}"
        );
    }
}
