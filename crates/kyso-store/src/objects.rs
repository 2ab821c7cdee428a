//! Where kyso keeps files: one small interface, [`Objects`], over keys such as `ab/cdef…` (a
//! blob) or `snapshots/ID/manifest.json` (a backup), with two implementations — a folder on this
//! machine ([`Folder`], the embedded default) and a bucket of an S3-compatible object store
//! ([`Bucket`]: Garage, MinIO, Ceph, AWS). The blob store ([`crate::blobs`]) and the backups
//! ([`crate::backup`]) are both written through it, so every place kyso keeps documents can be
//! either.
//!
//! Every write is whole or nothing: a folder writes a temporary file, flushes it and renames it
//! to its key; a bucket makes an object visible only once its upload completes.

pub mod bucket;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What a write or a read copied: the SHA-256 (lowercase hex) of the bytes and their count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub sha256: String,
    pub size: u64,
}

/// A place files are written to and read from, by key.
pub trait Objects: Send + Sync + std::fmt::Debug {
    /// Where it is, for messages (a folder's path, a bucket's `s3://` address).
    fn describe(&self) -> String;
    /// The size of the object under `key`, `None` when there is none.
    fn size(&self, key: &str) -> io::Result<Option<u64>>;
    /// Whether `key` holds an object.
    fn exists(&self, key: &str) -> io::Result<bool> {
        Ok(self.size(key)?.is_some())
    }
    /// Store what `src` gives under `key`, hashing it on the way: all of it or nothing (a
    /// crash leaves no half object under the key). With `expect`, bytes that do not hash to it
    /// are not stored (`InvalidData`).
    fn put(&self, key: &str, src: &mut dyn Read, expect: Option<&str>) -> io::Result<Copied>;
    /// The object under `key` (`NotFound` when there is none).
    fn get(&self, key: &str) -> io::Result<Box<dyn Read + Send>>;
    /// The names directly under `prefix` (one level, sorted; none when there is no such
    /// prefix).
    fn list(&self, prefix: &str) -> io::Result<Vec<String>>;
    /// Put `file` — written and flushed on this machine by the caller, in
    /// [`Objects::staging`] — under `key`. What is done at once and what is left is the
    /// store's: a folder renames the file now and leaves the flush of its folder; a bucket
    /// leaves the whole upload. The object is durable once the [`Settle`] has run.
    fn place(&self, key: &str, file: tempfile::NamedTempFile) -> io::Result<Settle>;
    /// Whether the store answers (a folder: a temporary file can be made in it; a bucket: a
    /// request is answered and authorised).
    fn check(&self) -> io::Result<()>;
    /// The local folder where files to be [`Objects::place`]d are written (made when the
    /// store is opened, not again: a folder that disappeared is an error, not re-created).
    fn staging(&self) -> io::Result<PathBuf>;
    /// How many objects are best read at once (a folder: one per core; a bucket: more, its
    /// requests wait on the network).
    fn readers(&self) -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }
}

/// What remains to do before an object [`Objects::place`]d is durable: nothing, a folder to
/// flush, or an upload. Run it off the async threads ([`Settle::run`]); several settles of one
/// folder are one flush ([`Settle::merge`]).
#[derive(Debug)]
#[must_use = "an object placed is durable only once its Settle has run"]
pub struct Settle(SettleInner);

#[derive(Debug)]
enum SettleInner {
    Done,
    FlushDir(PathBuf),
    Upload(bucket::Upload),
}

impl Settle {
    /// Nothing left to do.
    pub fn done() -> Settle {
        Settle(SettleInner::Done)
    }

    /// Do what is left (blocking).
    pub fn run(self) -> io::Result<()> {
        match self.0 {
            SettleInner::Done => Ok(()),
            SettleInner::FlushDir(dir) => std::fs::File::open(&dir)?.sync_all(),
            SettleInner::Upload(u) => u.run(),
        }
    }

    /// Settles to run, one flush per folder among them.
    pub fn merge(settles: impl IntoIterator<Item = Settle>) -> Vec<Settle> {
        let mut out: Vec<Settle> = Vec::new();
        for s in settles {
            let seen = match &s.0 {
                SettleInner::Done => true,
                SettleInner::FlushDir(d) => out
                    .iter()
                    .any(|o| matches!(&o.0, SettleInner::FlushDir(e) if e == d)),
                SettleInner::Upload(_) => false,
            };
            if !seen {
                out.push(s);
            }
        }
        out
    }
}

/// Whether `key` is a key kyso writes: parts of letters, digits, `.`, `_`, `-`, none empty or
/// starting with a dot (no `..`, no absolute path, no hidden file).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}

fn bad_key(key: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a valid key: {key}"),
    )
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

/// A folder on this machine (a local disk, a mounted disk, an NFS share). Temporary files are
/// written in its `.tmp` (the same disk, so that they are renamed into place).
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
        if !valid_key(key) {
            return Err(bad_key(key));
        }
        Ok(self.root.join(key))
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The folder of temporary files inside a [`Folder`].
pub const TMP: &str = ".tmp";

impl Objects for Folder {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn size(&self, key: &str) -> io::Result<Option<u64>> {
        match std::fs::metadata(self.path(key)?) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, key: &str, src: &mut dyn Read, expect: Option<&str>) -> io::Result<Copied> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let staging = self.staging()?;
        std::fs::create_dir_all(&staging)?;
        let tmp = tempfile::NamedTempFile::new_in(staging)?;
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

    fn place(&self, key: &str, file: tempfile::NamedTempFile) -> io::Result<Settle> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(Settle(SettleInner::FlushDir(dir)))
    }

    fn check(&self) -> io::Result<()> {
        tempfile::NamedTempFile::new_in(self.staging()?).map(drop)
    }

    fn staging(&self) -> io::Result<PathBuf> {
        Ok(self.root.join(TMP))
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
