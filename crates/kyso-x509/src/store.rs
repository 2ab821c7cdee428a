//! The trust store on disk: directories of root (anchor) certificates that `kyso verify`,
//! `kyso agent` and the other verifying commands use when no `--trust` file is given.
//!
//! The directories, in order ([`default_dirs`]): every entry of `KYSO_TRUST_DIR` when it is set
//! (it replaces the defaults); otherwise the user's `$XDG_CONFIG_HOME/kyso/trust` (or
//! `~/.config/kyso/trust`), then the system's `/etc/kyso/trust`. A directory that does not
//! exist is empty. Each file named `*.pem`, `*.crt`, `*.cer` or `*.der` (other files, hidden
//! files and subdirectories are ignored) holds one DER certificate or PEM certificates; every
//! one must be a CA certificate (basicConstraints cA). A file that cannot be read, is larger
//! than [`MAX_FILE_BYTES`], is not a certificate, or holds a non-CA certificate is an error
//! naming the file — a trust store is never half-read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cert::Cert;
use crate::path::TrustStore;

mod edit;
pub use edit::{
    add, anchor_file_name, files_holding, find_by_fingerprint, remove_from, target_dir,
    write_atomic,
};

/// Largest trust file read (a PEM bundle of a few dozen roots fits easily).
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most certificate files read from one directory.
pub const MAX_FILES_PER_DIR: usize = 256;
/// Most certificates in one file.
pub const MAX_CERTS_PER_FILE: usize = 64;
/// File name extensions read as certificates.
pub const EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "der"];
/// The system directory.
pub const SYSTEM_DIR: &str = "/etc/kyso/trust";
/// The environment variable that replaces the default directories (a path list, `:`-separated).
pub const ENV_VAR: &str = "KYSO_TRUST_DIR";

/// Where a trust directory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind {
    /// Named by `KYSO_TRUST_DIR`.
    Env,
    /// The user's configuration directory.
    User,
    /// `/etc/kyso/trust`.
    System,
}

impl DirKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DirKind::Env => "env",
            DirKind::User => "user",
            DirKind::System => "system",
        }
    }
}

/// One directory of the trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustDir {
    pub path: PathBuf,
    pub kind: DirKind,
}

/// A trust anchor and the file it was read from.
#[derive(Debug, Clone)]
pub struct StoredAnchor {
    pub cert: Cert,
    pub file: PathBuf,
    /// The directory of the store that holds `file`.
    pub dir: TrustDir,
}

/// Why the trust store could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path} is larger than {max} bytes")]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{dir} holds more than {max} certificate files")]
    TooManyFiles { dir: PathBuf, max: usize },
    #[error("{path} holds more than {max} certificates")]
    TooManyCerts { path: PathBuf, max: usize },
    #[error("{path} is not a certificate file (PEM or DER): {detail}")]
    Garbled { path: PathBuf, detail: String },
    #[error("{path}: {subject} is not a CA certificate and cannot be a trusted root")]
    NotCa { path: PathBuf, subject: String },
}

/// The directories of the trust store, in order, from the process environment.
pub fn default_dirs() -> Vec<TrustDir> {
    dirs_from_env(|k| std::env::var_os(k))
}

/// The directories of the trust store given an environment lookup (for tests).
pub fn dirs_from_env(env: impl Fn(&str) -> Option<OsString>) -> Vec<TrustDir> {
    if let Some(v) = env(ENV_VAR).filter(|v| !v.is_empty()) {
        return std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|path| TrustDir {
                path,
                kind: DirKind::Env,
            })
            .collect();
    }
    let mut dirs = Vec::new();
    let config = env("XDG_CONFIG_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        });
    if let Some(c) = config {
        dirs.push(TrustDir {
            path: c.join("kyso").join("trust"),
            kind: DirKind::User,
        });
    }
    dirs.push(TrustDir {
        path: PathBuf::from(SYSTEM_DIR),
        kind: DirKind::System,
    });
    dirs
}

/// Whether a directory entry's name is one the store reads.
pub fn is_cert_file_name(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
        }
        _ => false,
    }
}

/// The certificates of one trust file's bytes: PEM (one or more) or DER (one), every one a CA
/// certificate. `path` only names the file in errors.
pub fn parse_anchor_file(path: &Path, bytes: &[u8]) -> Result<Vec<Cert>, StoreError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(StoreError::TooLarge {
            path: path.to_path_buf(),
            max: MAX_FILE_BYTES,
        });
    }
    let certs = Cert::from_pem_or_der(bytes).map_err(|e| StoreError::Garbled {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if certs.len() > MAX_CERTS_PER_FILE {
        return Err(StoreError::TooManyCerts {
            path: path.to_path_buf(),
            max: MAX_CERTS_PER_FILE,
        });
    }
    for c in &certs {
        check_anchor(path, c)?;
    }
    Ok(certs)
}

/// Refuse a certificate that cannot be a trust anchor (not a CA).
pub fn check_anchor(path: &Path, cert: &Cert) -> Result<(), StoreError> {
    let ku = cert.key_usage();
    if !cert.is_ca() || (ku.present && !ku.key_cert_sign) {
        return Err(StoreError::NotCa {
            path: path.to_path_buf(),
            subject: cert.subject_display(),
        });
    }
    Ok(())
}

/// Read one trust file (size-capped before reading).
pub fn read_anchor_file(path: &Path) -> Result<Vec<Cert>, StoreError> {
    use std::io::Read;
    let io = |e: std::io::Error| StoreError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    parse_anchor_file(path, &bytes)
}

/// The certificate files of one directory, sorted by name; none when it does not exist.
pub fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let io = |e: std::io::Error| StoreError::Io {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_cert_file_name(name) {
            continue;
        }
        let path = entry.path();
        // Follows symbolic links (an administrator may link a distribution's bundle).
        if !std::fs::metadata(&path)
            .map(|m| m.is_file())
            .unwrap_or(false)
        {
            continue;
        }
        if files.len() == MAX_FILES_PER_DIR {
            return Err(StoreError::TooManyFiles {
                dir: dir.to_path_buf(),
                max: MAX_FILES_PER_DIR,
            });
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

/// Every anchor of these directories, in order (a certificate present twice is listed once,
/// where it was found first).
pub fn load(dirs: &[TrustDir]) -> Result<Vec<StoredAnchor>, StoreError> {
    let mut out: Vec<StoredAnchor> = Vec::new();
    for dir in dirs {
        for file in dir_files(&dir.path)? {
            for cert in read_anchor_file(&file)? {
                if out.iter().any(|a| a.cert == cert) {
                    continue;
                }
                out.push(StoredAnchor {
                    cert,
                    file: file.clone(),
                    dir: dir.clone(),
                });
            }
        }
    }
    Ok(out)
}

impl TrustStore {
    /// The anchors of the trust store directories (see the module documentation).
    pub fn from_dirs(dirs: &[TrustDir]) -> Result<Self, StoreError> {
        Ok(Self::from_certs(load(dirs)?.into_iter().map(|a| a.cert)))
    }
}

/// Normalise a fingerprint (prefix) typed by a person: hex digits only, upper case; `None` when
/// it holds anything but hex digits, colons and spaces.
pub fn normalize_fingerprint(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            out.push(c.to_ascii_uppercase());
        } else if c != ':' && c != ' ' {
            return None;
        }
    }
    Some(out)
}

/// A fingerprint in groups of two hex digits separated by colons, as people compare them.
pub fn colon_fingerprint(hex: &str) -> String {
    let b = hex.as_bytes();
    b.chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ca(name: &str) -> Cert {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        Cert::from_der(p.self_signed(&key).unwrap().der()).unwrap()
    }

    fn leaf(name: &str) -> Cert {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        Cert::from_der(p.self_signed(&key).unwrap().der()).unwrap()
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn dirs_in_order() {
        let d = dirs_from_env(env(&[("HOME", "/home/an")]));
        assert_eq!(
            d,
            vec![
                TrustDir {
                    path: "/home/an/.config/kyso/trust".into(),
                    kind: DirKind::User
                },
                TrustDir {
                    path: SYSTEM_DIR.into(),
                    kind: DirKind::System
                },
            ]
        );
        let d = dirs_from_env(env(&[("HOME", "/home/an"), ("XDG_CONFIG_HOME", "/cfg")]));
        assert_eq!(d[0].path, PathBuf::from("/cfg/kyso/trust"));
        // A relative XDG_CONFIG_HOME is ignored (the XDG specification says so).
        let d = dirs_from_env(env(&[("HOME", "/home/an"), ("XDG_CONFIG_HOME", "cfg")]));
        assert_eq!(d[0].path, PathBuf::from("/home/an/.config/kyso/trust"));
        let d = dirs_from_env(env(&[("HOME", "/home/an"), (ENV_VAR, "/a:/b")]));
        assert_eq!(
            d.iter().map(|d| d.path.clone()).collect::<Vec<_>>(),
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert!(d.iter().all(|d| d.kind == DirKind::Env));
        let d = dirs_from_env(env(&[]));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DirKind::System);
    }

    #[test]
    fn file_names() {
        for ok in ["root.pem", "a.CRT", "x.cer", "y.der"] {
            assert!(is_cert_file_name(ok), "{ok}");
        }
        for no in [".root.pem", "README", "root.pem.tmp", ".pem", "key.p12"] {
            assert!(!is_cert_file_name(no), "{no}");
        }
    }

    #[test]
    fn loads_pem_and_der_in_order_and_skips_other_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (r1, r2, r3) = (ca("Root 1"), ca("Root 2"), ca("Root 3"));
        std::fs::write(
            a.path().join("bundle.pem"),
            format!("{}{}", r1.to_pem(), r2.to_pem()),
        )
        .unwrap();
        std::fs::write(b.path().join("r3.der"), r3.der()).unwrap();
        std::fs::write(b.path().join("dup.crt"), r1.to_pem()).unwrap();
        std::fs::write(b.path().join("notes.txt"), "not a certificate").unwrap();
        std::fs::create_dir(b.path().join("sub.pem")).unwrap();
        let dirs = [
            TrustDir {
                path: a.path().into(),
                kind: DirKind::User,
            },
            TrustDir {
                path: b.path().into(),
                kind: DirKind::System,
            },
            TrustDir {
                path: b.path().join("missing"),
                kind: DirKind::System,
            },
        ];
        let got = load(&dirs).unwrap();
        let names: Vec<_> = got.iter().map(|x| x.cert.subject_display()).collect();
        assert_eq!(names, ["CN=Root 1", "CN=Root 2", "CN=Root 3"]);
        assert_eq!(got[0].dir.kind, DirKind::User);
        assert_eq!(got[2].dir.kind, DirKind::System);
        assert_eq!(TrustStore::from_dirs(&dirs).unwrap().len(), 3);
    }

    #[test]
    fn garbled_large_and_non_ca_files_are_errors_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let dirs = [TrustDir {
            path: d.path().into(),
            kind: DirKind::Env,
        }];
        let f = d.path().join("bad.pem");
        std::fs::write(&f, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
        assert!(matches!(load(&dirs), Err(StoreError::Garbled { path, .. }) if path == f));
        std::fs::write(&f, [0x30, 0x82, 0xff]).unwrap();
        assert!(matches!(load(&dirs), Err(StoreError::Garbled { path, .. }) if path == f));
        std::fs::write(&f, vec![b'A'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(load(&dirs), Err(StoreError::TooLarge { .. })));
        std::fs::write(&f, leaf("Nguyen Van An").to_pem()).unwrap();
        let e = load(&dirs).unwrap_err();
        assert!(
            matches!(&e, StoreError::NotCa { subject, .. } if subject == "CN=Nguyen Van An"),
            "{e}"
        );
        assert!(e.to_string().contains("bad.pem"));
    }

    #[test]
    fn too_many_files() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..=MAX_FILES_PER_DIR {
            std::fs::write(d.path().join(format!("{i}.pem")), "").unwrap();
        }
        assert!(matches!(
            dir_files(d.path()),
            Err(StoreError::TooManyFiles { .. })
        ));
    }

    #[test]
    fn fingerprints() {
        assert_eq!(normalize_fingerprint("ab:cd 0f").as_deref(), Some("ABCD0F"));
        assert_eq!(normalize_fingerprint("xyz"), None);
        assert_eq!(colon_fingerprint("ABCD0F"), "AB:CD:0F");
    }
}
