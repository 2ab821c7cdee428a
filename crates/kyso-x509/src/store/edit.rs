//! Changing the trust store (`kyso trust add` and `remove`): which directory an anchor is added
//! to, its file name, finding anchors by a fingerprint prefix and every file holding one, and
//! writing files atomically (a temporary file in the same directory renamed into place),
//! readable by everyone (certificates are public). Confirmation and messages are the caller's.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::{dir_files, read_anchor_file, DirKind, StoreError, StoredAnchor, TrustDir};
use crate::cert::Cert;

/// The directory `kyso trust add` writes to: the first `KYSO_TRUST_DIR` directory when that
/// variable is set; otherwise the system's (`system`) or the user's. `None` when there is no
/// such directory (no home directory for the user's).
pub fn target_dir(dirs: &[TrustDir], system: bool) -> Option<TrustDir> {
    let pick = |k: DirKind| dirs.iter().find(|d| d.kind == k).cloned();
    pick(DirKind::Env).or_else(|| {
        if system {
            pick(DirKind::System)
        } else {
            pick(DirKind::User)
        }
    })
}

/// The file name an added anchor gets: the first 16 hex digits of its SHA-256 fingerprint.
pub fn anchor_file_name(cert: &Cert) -> String {
    let fp = cert.sha256_fingerprint_hex();
    format!("{}.pem", fp.get(..16).unwrap_or(&fp))
}

/// The anchors whose SHA-256 fingerprint starts with `prefix` (as [`super::normalize_fingerprint`]
/// makes it: upper-case hex digits).
pub fn find_by_fingerprint<'a>(anchors: &'a [StoredAnchor], prefix: &str) -> Vec<&'a StoredAnchor> {
    anchors
        .iter()
        .filter(|x| x.cert.sha256_fingerprint_hex().starts_with(prefix))
        .collect()
}

/// Every file of these directories holding `cert` (the same root may sit in two directories, or
/// in a bundle), with all the certificates each holds.
pub fn files_holding(
    dirs: &[TrustDir],
    cert: &Cert,
) -> Result<Vec<(PathBuf, Vec<Cert>)>, StoreError> {
    let mut files = Vec::new();
    for d in dirs {
        for f in dir_files(&d.path)? {
            let certs = read_anchor_file(&f)?;
            if certs.contains(cert) {
                files.push((f, certs));
            }
        }
    }
    Ok(files)
}

/// Add `cert` to `dir` (made if missing) under [`anchor_file_name`]: the file written.
pub fn add(dir: &Path, cert: &Cert) -> Result<PathBuf, (PathBuf, io::Error)> {
    std::fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
    let file = dir.join(anchor_file_name(cert));
    write_atomic(&file, cert.to_pem().as_bytes()).map_err(|e| (file.clone(), e))?;
    Ok(file)
}

/// Take `cert` out of `file`, which holds `certs`: the file is removed when nothing else is in
/// it, else rewritten with the others.
pub fn remove_from(file: &Path, certs: &[Cert], cert: &Cert) -> io::Result<()> {
    let rest: Vec<&Cert> = certs.iter().filter(|c| *c != cert).collect();
    if rest.is_empty() {
        std::fs::remove_file(file)
    } else {
        let pem: String = rest.iter().map(|c| c.to_pem()).collect();
        write_atomic(file, pem.as_bytes())
    }
}

/// Write `data` to `path` atomically (a temporary file in the same directory, synced, renamed
/// into place, the directory synced), readable by everyone.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ca(name: &str) -> Cert {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        Cert::from_der(p.self_signed(&key).unwrap().der()).unwrap()
    }

    fn dir(path: &Path, kind: DirKind) -> TrustDir {
        TrustDir {
            path: path.to_path_buf(),
            kind,
        }
    }

    #[test]
    fn the_env_directory_wins_else_the_system_or_the_users() {
        let user = dir(Path::new("/home/a/.config/kyso/trust"), DirKind::User);
        let system = dir(Path::new(super::super::SYSTEM_DIR), DirKind::System);
        let env = dir(Path::new("/tmp/t"), DirKind::Env);
        let both = [user.clone(), system.clone()];
        assert_eq!(target_dir(&both, false), Some(user.clone()));
        assert_eq!(target_dir(&both, true), Some(system));
        assert_eq!(target_dir(&[env.clone(), user], true), Some(env));
        assert_eq!(target_dir(&[], false), None);
    }

    #[test]
    fn added_anchors_are_found_by_fingerprint_and_removed_from_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (ca("Root A"), ca("Root B"));
        let d1 = tmp.path().join("one");
        let d2 = tmp.path().join("two");
        let file_a = add(&d1, &a).unwrap();
        assert_eq!(file_a, d1.join(anchor_file_name(&a)));
        assert_eq!(anchor_file_name(&a).len(), 16 + 4);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file_a).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        // A bundle in another directory holds A and B.
        std::fs::create_dir_all(&d2).unwrap();
        let bundle = d2.join("bundle.pem");
        write_atomic(&bundle, format!("{}{}", a.to_pem(), b.to_pem()).as_bytes()).unwrap();
        let dirs = [dir(&d1, DirKind::Env), dir(&d2, DirKind::Env)];
        let anchors = super::super::load(&dirs).unwrap();
        assert_eq!(anchors.len(), 2);
        let fp = a.sha256_fingerprint_hex();
        let found = find_by_fingerprint(&anchors, &fp[..8]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cert, a);
        assert!(find_by_fingerprint(&anchors, "").len() == 2);

        let files = files_holding(&dirs, &a).unwrap();
        assert_eq!(
            files.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
            vec![file_a.clone(), bundle.clone()]
        );
        for (f, certs) in &files {
            remove_from(f, certs, &a).unwrap();
        }
        assert!(!file_a.exists(), "a file of A only is removed");
        assert_eq!(
            read_anchor_file(&bundle).unwrap(),
            vec![b],
            "the bundle keeps B"
        );
        assert!(files_holding(&dirs, &a).unwrap().is_empty());
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(&d2).unwrap().count(), 1);
    }
}
