//! Where backups go: a small interface ([`Target`]) over keys such as `blobs/ab/cdef…` and
//! `snapshots/ID/manifest.json`, and its first implementation, a folder ([`Folder`]). A bucket
//! (the S3-compatible blob store of issue 19) implements the same five calls: whether a key
//! exists, write one atomically while hashing it, read one, list the names under a prefix.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What a write or a read copied: the SHA-256 (lowercase hex) of the bytes and their count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub sha256: String,
    pub size: u64,
}

/// A place backups are written to and read from.
pub trait Target: Send + Sync + std::fmt::Debug {
    /// Where it is, for messages (a folder's path, later a bucket's URL).
    fn describe(&self) -> String;
    /// Whether `key` holds an object.
    fn exists(&self, key: &str) -> io::Result<bool>;
    /// Store what `src` gives under `key`, hashing it on the way: all of it or nothing (a
    /// crash leaves no half object under the key). With `expect`, bytes that do not hash to it
    /// are not stored (`InvalidData`).
    fn put(&self, key: &str, src: &mut dyn Read, expect: Option<&str>) -> io::Result<Copied>;
    /// The object under `key` (`NotFound` when there is none).
    fn get(&self, key: &str) -> io::Result<Box<dyn Read + Send>>;
    /// The names directly under `prefix` (one level, sorted; none when there is no such
    /// prefix).
    fn list(&self, prefix: &str) -> io::Result<Vec<String>>;
}

/// Copy `src` to `dst`, hashing what passes.
pub fn copy_hashing(src: &mut dyn Read, dst: &mut dyn Write) -> io::Result<Copied> {
    let mut hash = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hash.update(chunk);
        dst.write_all(chunk)?;
        size += n as u64;
    }
    Ok(Copied {
        sha256: crate::hex(hash.finish().as_ref()),
        size,
    })
}

/// A backup folder on this machine (a mounted disk, an NFS share).
#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The folder at `root` (created on the first write).
    pub fn new(root: &Path) -> Folder {
        Folder {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && !part.starts_with('.')
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            });
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a backup key: {key}"),
            ));
        }
        Ok(self.root.join(key))
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Target for Folder {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        Ok(self.path(key)?.is_file())
    }

    fn put(&self, key: &str, src: &mut dyn Read, expect: Option<&str>) -> io::Result<Copied> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let tmp_dir = self.root.join(".tmp");
        std::fs::create_dir_all(&tmp_dir)?;
        let tmp = tempfile::NamedTempFile::new_in(&tmp_dir)?;
        let mut out = io::BufWriter::with_capacity(256 * 1024, tmp);
        let copied = copy_hashing(src, &mut out)?;
        let tmp = out.into_inner().map_err(|e| e.into_error())?;
        if let Some(want) = expect {
            if copied.sha256 != want {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{key}: the bytes hash to {}, not {want}", copied.sha256),
                ));
            }
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        sync_dir(&dir);
        Ok(copied)
    }

    fn get(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        let f = std::fs::File::open(self.path(key)?)?;
        Ok(Box::new(io::BufReader::with_capacity(256 * 1024, f)))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let dir = if prefix.is_empty() {
            self.root.clone()
        } else {
            self.path(prefix)?
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_stores_whole_objects_and_refuses_bytes_that_do_not_match_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let t = Folder::new(dir.path());
        let c = t.put("a/b.txt", &mut &b"hello"[..], None).unwrap();
        assert_eq!(c.size, 5);
        assert_eq!(c.sha256, crate::hex(&crate::sha256(b"hello")));
        assert!(t.exists("a/b.txt").unwrap());
        let mut back = Vec::new();
        t.get("a/b.txt").unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, b"hello");
        let wrong = t.put("a/c.txt", &mut &b"other"[..], Some(&c.sha256));
        assert_eq!(wrong.unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(
            !t.exists("a/c.txt").unwrap(),
            "nothing stored under the key"
        );
        assert_eq!(t.list("a").unwrap(), vec!["b.txt".to_owned()]);
        assert_eq!(t.list("").unwrap(), vec!["a".to_owned()]);
        assert!(t.list("nothing").unwrap().is_empty());
        assert!(t.put("../x", &mut &b""[..], None).is_err());
        assert!(t.get("a/../../etc/passwd").is_err());
    }
}
