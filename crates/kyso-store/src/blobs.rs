//! The blob folder: documents (request letters, later signed documents) kept byte for byte,
//! named by their SHA-256 and re-hashed on every read.
//!
//! A blob is written to a temporary file in the same folder, flushed to disk, then renamed to
//! its name (`ab/cdef…`), and the folder is flushed: a crash leaves either the whole blob or
//! none, never a half one under its name. Blobs are never rewritten: writing the same bytes
//! again finds them there.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::{hex, sha256};

/// Largest blob accepted.
pub const MAX_BLOB: usize = 256 * 1024 * 1024;

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("blob folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The stored bytes no longer hash to their name: the file was changed or damaged.
    #[error("blob {name} is damaged: its content no longer matches its SHA-256")]
    Damaged { name: String },
    #[error("no blob {name}")]
    Missing { name: String },
    #[error("not a blob name: {name}")]
    BadName { name: String },
    #[error("blob too large ({size} bytes; at most {MAX_BLOB})")]
    TooLarge { size: usize },
}

/// The blob folder.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Blobs {
    /// Open (creating) the folder.
    pub fn open(root: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(root.join("tmp")).map_err(io(root))?;
        Ok(Blobs {
            root: root.to_path_buf(),
        })
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, BlobError> {
        let valid = name.len() == 64
            && name
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match (valid, name.get(..2), name.get(2..)) {
            (true, Some(dir), Some(rest)) => Ok(self.root.join(dir).join(rest)),
            _ => Err(BlobError::BadName {
                name: name.to_owned(),
            }),
        }
    }

    /// Whether the folder is usable: a temporary file is made (and removed) in it.
    pub fn check(&self) -> Result<(), BlobError> {
        let tmp_dir = self.root.join("tmp");
        tempfile::NamedTempFile::new_in(&tmp_dir)
            .map(drop)
            .map_err(io(&tmp_dir))
    }

    /// Store `bytes`; their name (lowercase hex SHA-256).
    pub fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        if bytes.len() > MAX_BLOB {
            return Err(BlobError::TooLarge { size: bytes.len() });
        }
        let name = hex(&sha256(bytes));
        let path = self.path_of(&name)?;
        if path.is_file() && self.get(&name).is_ok() {
            return Ok(name);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let tmp_dir = self.root.join("tmp");
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io(&tmp_dir))?;
        tmp.write_all(bytes).map_err(io(&tmp_dir))?;
        tmp.as_file().sync_all().map_err(io(&tmp_dir))?;
        tmp.persist(&path).map_err(|e| BlobError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(name)
    }

    /// The bytes of blob `name`, checked against their name.
    pub fn get(&self, name: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(name)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::Missing {
                    name: name.to_owned(),
                })
            }
            Err(e) => return Err(BlobError::Io { path, source: e }),
        };
        if hex(&sha256(&bytes)) != name {
            return Err(BlobError::Damaged {
                name: name.to_owned(),
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_comes_back_byte_for_byte_and_a_changed_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let name = blobs.put(b"%PDF-1.7 letter").unwrap();
        assert_eq!(name.len(), 64);
        assert_eq!(
            blobs.put(b"%PDF-1.7 letter").ok(),
            Some(name.clone()),
            "same bytes, same name"
        );
        assert_eq!(
            blobs.get(&name).ok().as_deref(),
            Some(&b"%PDF-1.7 letter"[..])
        );
        let path = dir.path().join(&name[..2]).join(&name[2..]);
        std::fs::write(&path, b"%PDF-1.7 forged").unwrap();
        assert!(matches!(blobs.get(&name), Err(BlobError::Damaged { .. })));
        assert!(matches!(
            blobs.get("../../etc/passwd"),
            Err(BlobError::BadName { .. })
        ));
        assert!(matches!(
            blobs.get(&"0".repeat(64)),
            Err(BlobError::Missing { .. })
        ));
        let leftovers = std::fs::read_dir(dir.path().join("tmp"))
            .map(|d| d.count())
            .unwrap_or(1);
        assert_eq!(leftovers, 0, "no temporary file is left behind");
    }
}
