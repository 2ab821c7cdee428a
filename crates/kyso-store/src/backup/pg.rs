//! `pg_dump` and `pg_restore` for PostgreSQL backups. The database URL's password never
//! reaches a command line or a log: the tools get the URL without it and the password through
//! a password file (`PGPASSFILE`, mode 0600, in a private temporary folder removed after the
//! run); the copies in memory are zeroized.

use std::path::Path;
use std::process::Command;

use zeroize::Zeroizing;

use super::BackupError;

/// A `postgres://` URL taken apart: the URL without its password, the password, and the schema
/// its `options=-c search_path=…` names (the tests' per-schema databases), if any.
#[derive(Clone)]
pub(crate) struct PgUrl {
    pub(crate) public: String,
    password: Option<Zeroizing<String>>,
    pub(crate) schema: Option<String>,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgUrl")
            .field("public", &self.public)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// `%XX` decoded (invalid escapes kept as they are).
fn percent_decode(s: &str) -> Zeroizing<String> {
    let b = s.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(b.len()));
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Zeroizing::new(String::from_utf8_lossy(&out).into_owned())
}

impl PgUrl {
    pub(crate) fn parse(url: &str) -> Result<PgUrl, BackupError> {
        let bad = || BackupError::Invalid {
            vi: "địa chỉ cơ sở dữ liệu PostgreSQL không hợp lệ".into(),
            en: "invalid PostgreSQL database URL".into(),
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pw)) => (Some(user), Some(percent_decode(pw))),
                None => (Some(u), None),
            },
            None => (None, None),
        };
        let public = match user {
            Some(user) => format!("{scheme}://{user}@{host}{tail}"),
            None => format!("{scheme}://{host}{tail}"),
        };
        let schema = tail
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.strip_prefix("options="))
            .map(|v| percent_decode(v).to_string())
            .find_map(|opts| {
                opts.split_once("search_path=").map(|(_, p)| {
                    p.split([' ', ','])
                        .next()
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_owned()
                })
            })
            .filter(|s| !s.is_empty());
        if let Some(s) = &schema {
            if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(bad());
            }
        }
        Ok(PgUrl {
            public,
            password: password.filter(|p| !p.is_empty()),
            schema,
        })
    }

    /// A command for `tool` connecting as this URL: the password in a private password file
    /// (kept alive by the returned folder).
    fn command(&self, tool: &str) -> Result<(Command, tempfile::TempDir), BackupError> {
        let dir = tempfile::Builder::new()
            .prefix("kyso-pg-")
            .tempdir()
            .map_err(|e| BackupError::io("temporary folder", e))?;
        let mut cmd = Command::new(tool);
        cmd.env_remove("PGPASSWORD");
        if let Some(pw) = &self.password {
            let path = dir.path().join("pgpass");
            let mut line = Zeroizing::new(String::from("*:*:*:*:"));
            for c in pw.chars() {
                if c == ':' || c == '\\' {
                    line.push('\\');
                }
                line.push(c);
            }
            line.push('\n');
            write_private(&path, line.as_bytes()).map_err(|e| BackupError::io("pgpass", e))?;
            cmd.env("PGPASSFILE", &path);
        }
        Ok((cmd, dir))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

fn run(tool: &'static str, mut cmd: Command) -> Result<(), BackupError> {
    let out = cmd.output().map_err(|e| BackupError::Tool {
        tool,
        detail: if e.kind() == std::io::ErrorKind::NotFound {
            "not installed (postgresql-client)".to_owned()
        } else {
            e.to_string()
        },
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail: String = stderr.trim().chars().take(2000).collect();
    Err(BackupError::Tool {
        tool,
        detail: format!("{} ({})", detail, out.status),
    })
}

/// `pg_dump` (custom format) of the database as seen by the exported `snapshot`, into `file`.
pub(crate) fn dump(url: &PgUrl, snapshot: &str, file: &Path) -> Result<(), BackupError> {
    let (mut cmd, _dir) = url.command("pg_dump")?;
    cmd.arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(file);
    if let Some(s) = &url.schema {
        cmd.arg(format!("--schema={s}"));
    }
    cmd.arg(format!("--dbname={}", url.public));
    tracing::info!(target: "kyso::backup", schema = ?url.schema, "pg_dump");
    run("pg_dump", cmd)
}

/// `pg_restore` of `file` into the (empty) database of `url`, in one transaction; the entry
/// creating `skip_schema` is left out (the schema exists already, empty).
pub(crate) fn restore(
    url: &PgUrl,
    file: &Path,
    skip_schema: Option<&str>,
) -> Result<(), BackupError> {
    let (mut cmd, dir) = url.command("pg_restore")?;
    cmd.args([
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]);
    if let Some(schema) = skip_schema {
        let out = Command::new("pg_restore")
            .arg("--list")
            .arg(file)
            .output()
            .map_err(|e| BackupError::Tool {
                tool: "pg_restore",
                detail: e.to_string(),
            })?;
        let toc = String::from_utf8_lossy(&out.stdout);
        let marker = format!(" SCHEMA - {schema} ");
        let kept: String = toc
            .lines()
            .filter(|l| !l.contains(&marker))
            .map(|l| format!("{l}\n"))
            .collect();
        let list = dir.path().join("toc.list");
        std::fs::write(&list, kept).map_err(|e| BackupError::io("toc.list", e))?;
        cmd.arg("--use-list").arg(&list);
    }
    cmd.arg(format!("--dbname={}", url.public)).arg(file);
    tracing::info!(target: "kyso::backup", "pg_restore");
    run("pg_restore", cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_taken_out_of_the_url_and_the_schema_found() {
        let u = PgUrl::parse(
            "postgres://kyso:s%3Acr%40t@db.example:5432/kyso?options=-c%20search_path%3Dkyso_t_1",
        )
        .unwrap();
        assert_eq!(
            u.public,
            "postgres://kyso@db.example:5432/kyso?options=-c%20search_path%3Dkyso_t_1"
        );
        assert_eq!(u.password.as_deref().map(|p| p.as_str()), Some("s:cr@t"));
        assert_eq!(u.schema.as_deref(), Some("kyso_t_1"));
        assert!(!format!("{u:?}").contains("cr@t"));
        let plain = PgUrl::parse("postgres://127.0.0.1:5432/test").unwrap();
        assert_eq!(plain.public, "postgres://127.0.0.1:5432/test");
        assert!(plain.password.is_none() && plain.schema.is_none());
        assert!(PgUrl::parse("postgres://h/db?options=-c%20search_path%3Dx;drop").is_err());
    }
}
