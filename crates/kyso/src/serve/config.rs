//! `kyso serve`'s settings from three places: the command line, `KYSO_*` environment variables
//! (clap reads both, the command line first) and a TOML file (`--config`), then the defaults.
//! Secrets are never options: they come from files (`--…-file`, e.g. systemd credentials or
//! container secrets) or, as before, from environment variables.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::ue;
use kyso_i18n::UserError;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data folder.
pub const DEFAULT_DATA_DIR: &str = "kyso-data";

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
    pub threads: Option<usize>,
    pub org_key: Option<Vec<String>>,
    pub org_key_password_file: Option<PathBuf>,
    pub trusted_proxy: Option<Vec<String>>,
    pub metrics_listen: Option<String>,
    pub audit_key_file: Option<PathBuf>,
    pub audit_checkpoint_file: Option<PathBuf>,
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
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
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
}
