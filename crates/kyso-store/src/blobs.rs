//! The blob store: documents (request letters, signed documents, attachments, reports) kept byte
//! for byte, named by their SHA-256 and re-hashed on every read, in a folder of this machine
//! (the embedded default) or a bucket of an S3-compatible object store — whichever
//! [`Objects`] the store is opened over. A blob's key is its name split after two characters
//! (`ab/cdef…`), in both.
//!
//! A blob is written first to a temporary file on this machine (the folder's own `.tmp`, or a
//! bucket's staging folder), hashed on the way and flushed; then it is placed under its name —
//! renamed into the folder (and the folder flushed), or uploaded to the bucket, which shows an
//! object only once it is whole. A crash leaves either the whole blob or none, never a half one
//! under its name. Blobs are never rewritten: writing the same bytes again finds them there.
//!
//! A large file arriving over the network is not held in memory: a [`BlobWriter`] takes it
//! chunk by chunk into a temporary file while its SHA-256 is computed, up to a cap;
//! [`BlobWriter::finish`] flushes it to disk and gives a [`StagedBlob`] — named, readable (the
//! verification reads it), but not yet under its name. [`StagedBlob::persist`] places it;
//! dropping it (a refusal) removes the temporary file.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::objects::{Folder, Objects, Settle};
use crate::{hex, sha256};

/// Largest blob accepted.
pub const MAX_BLOB: usize = 256 * 1024 * 1024;

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("blob store {what}: {source}")]
    Io {
        what: String,
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
    /// A streamed blob went past its writer's cap (`max` bytes).
    #[error("blob larger than {max} bytes")]
    OverCap { max: u64 },
}

/// The blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    objects: Arc<dyn Objects>,
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BlobError {
    let what = what.to_string();
    move |source| BlobError::Io { what, source }
}

/// The key of blob `name` (`ab/cdef…`), refused unless `name` is 64 lowercase hex digits.
pub fn key_of(name: &str) -> Result<String, BlobError> {
    let valid = name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match (valid, name.get(..2), name.get(2..)) {
        (true, Some(dir), Some(rest)) => Ok(format!("{dir}/{rest}")),
        _ => Err(BlobError::BadName {
            name: name.to_owned(),
        }),
    }
}

impl Blobs {
    /// The blob folder at `root` (created).
    pub fn open(root: &Path) -> Result<Blobs, BlobError> {
        let folder = Folder::new(root);
        folder
            .staging()
            .and_then(std::fs::create_dir_all)
            .map_err(io(root.display()))?;
        Ok(Blobs::over(Arc::new(folder)))
    }

    /// Blobs kept in `objects` (a folder, a bucket).
    pub fn over(objects: Arc<dyn Objects>) -> Blobs {
        Blobs { objects }
    }

    /// Where the blobs are, for messages.
    pub fn describe(&self) -> String {
        self.objects.describe()
    }

    /// The objects the blobs are kept in (a backup copies from them).
    pub fn objects(&self) -> &Arc<dyn Objects> {
        &self.objects
    }

    /// Whether the store is usable: a temporary file is made (and removed) in its staging
    /// folder and the store answers.
    pub fn check(&self) -> Result<(), BlobError> {
        let staging = self.staging()?;
        tempfile::NamedTempFile::new_in(&staging)
            .map(drop)
            .map_err(io(staging.display()))?;
        self.objects.check().map_err(io(self.describe()))
    }

    fn staging(&self) -> Result<PathBuf, BlobError> {
        self.objects.staging().map_err(io(self.describe()))
    }

    /// Store `bytes`; their name (lowercase hex SHA-256).
    pub fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        if bytes.len() > MAX_BLOB {
            return Err(BlobError::TooLarge { size: bytes.len() });
        }
        let name = hex(&sha256(bytes));
        if self.get(&name).is_ok() {
            return Ok(name);
        }
        self.stage(bytes)?.persist()
    }

    /// A writer of a new blob of at most `max` bytes, into a temporary file.
    pub fn writer(&self, max: u64) -> Result<BlobWriter, BlobError> {
        let staging = self.staging()?;
        let tmp = tempfile::NamedTempFile::new_in(&staging).map_err(io(staging.display()))?;
        Ok(BlobWriter {
            blobs: self.clone(),
            out: std::io::BufWriter::with_capacity(256 * 1024, tmp),
            hash: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
            size: 0,
            max,
            head: Vec::new(),
        })
    }

    /// `bytes` written to a temporary file and flushed, not yet under their name (for a
    /// writer that places it later, e.g. inside its transaction).
    pub fn stage(&self, bytes: &[u8]) -> Result<StagedBlob, BlobError> {
        if bytes.len() > MAX_BLOB {
            return Err(BlobError::TooLarge { size: bytes.len() });
        }
        let mut w = self.writer(MAX_BLOB as u64)?;
        w.write(bytes)?;
        w.finish()
    }

    /// The bytes of blob `name`, checked against their name.
    pub fn get(&self, name: &str) -> Result<Vec<u8>, BlobError> {
        let key = key_of(name)?;
        let mut r = match self.objects.get(&key) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::Missing {
                    name: name.to_owned(),
                })
            }
            Err(e) => {
                return Err(BlobError::Io {
                    what: key,
                    source: e,
                })
            }
        };
        let mut bytes = Vec::new();
        (&mut r)
            .take(MAX_BLOB as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io(&key))?;
        if hex(&sha256(&bytes)) != name {
            return Err(BlobError::Damaged {
                name: name.to_owned(),
            });
        }
        Ok(bytes)
    }

    /// The size of blob `name` as stored, `None` when there is none (not re-hashed).
    pub fn size(&self, name: &str) -> Result<Option<u64>, BlobError> {
        let key = key_of(name)?;
        self.objects.size(&key).map_err(io(&key))
    }
}

/// Bytes of a new blob arriving chunk by chunk: written to a temporary file and hashed as they
/// come, never held whole. Dropped before [`BlobWriter::finish`], the temporary file is
/// removed.
pub struct BlobWriter {
    blobs: Blobs,
    out: std::io::BufWriter<tempfile::NamedTempFile>,
    hash: aws_lc_rs::digest::Context,
    size: u64,
    max: u64,
    /// The first bytes (what kind of file it is).
    head: Vec<u8>,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("size", &self.size)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// How many first bytes a [`StagedBlob`] keeps.
const HEAD: usize = 16;

impl BlobWriter {
    /// Take `chunk`; [`BlobError::OverCap`] past the cap (nothing more is written).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        let size = self.size.saturating_add(chunk.len() as u64);
        if size > self.max {
            return Err(BlobError::OverCap { max: self.max });
        }
        if self.head.len() < HEAD {
            let n = (HEAD - self.head.len()).min(chunk.len());
            self.head
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        self.hash.update(chunk);
        self.out.write_all(chunk).map_err(io("temporary file"))?;
        self.size = size;
        Ok(())
    }

    /// How many bytes were taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flush the file to disk: the blob, named but not yet in place.
    pub fn finish(self) -> Result<StagedBlob, BlobError> {
        let tmp = self.out.into_inner().map_err(|e| BlobError::Io {
            what: "temporary file".into(),
            source: e.into_error(),
        })?;
        tmp.as_file().sync_all().map_err(io("temporary file"))?;
        Ok(StagedBlob {
            name: hex(self.hash.finish().as_ref()),
            size: self.size,
            head: self.head,
            tmp,
            blobs: self.blobs,
        })
    }
}

/// A blob written and flushed to a temporary file, with its name (SHA-256) and size: readable
/// where it is ([`StagedBlob::path`]) until [`StagedBlob::persist`] places it under its name.
/// Dropped instead, the temporary file is removed.
#[derive(Debug)]
pub struct StagedBlob {
    name: String,
    size: u64,
    head: Vec<u8>,
    tmp: tempfile::NamedTempFile,
    blobs: Blobs,
}

impl StagedBlob {
    /// Its name: the lowercase hex SHA-256 of its bytes.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its first bytes (up to 16).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Where it is now (the temporary file), to be read.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Place it under its name (replacing a copy already there: the same bytes by their hash,
    /// and a damaged copy is mended) and make it durable; its name.
    pub fn persist(self) -> Result<String, BlobError> {
        let (name, settle) = self.place()?;
        settle.run().map_err(io(&name))?;
        Ok(name)
    }

    /// [`StagedBlob::persist`] with what is left to make it durable (a folder's flush, a
    /// bucket's upload) handed back: it must have run ([`Settle::run`]) before anything naming
    /// the blob is made durable (a writer runs it while its transaction goes on, several
    /// writers' together: `WriteTx::commit_after`).
    pub fn place(self) -> Result<(String, Settle), BlobError> {
        let key = key_of(&self.name)?;
        let settle = self.blobs.objects.place(&key, self.tmp).map_err(io(&key))?;
        Ok((self.name, settle))
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
        let leftovers = std::fs::read_dir(dir.path().join(".tmp"))
            .map(|d| d.count())
            .unwrap_or(1);
        assert_eq!(leftovers, 0, "no temporary file is left behind");
    }

    fn tmp_count(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(".tmp")).unwrap().count()
    }

    #[test]
    fn a_streamed_blob_is_hashed_as_it_comes_and_named_only_when_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = blobs.writer(1_000_000).unwrap();
        for chunk in body.chunks(7_001) {
            w.write(chunk).unwrap();
        }
        assert_eq!(w.size(), body.len() as u64);
        let staged = w.finish().unwrap();
        assert_eq!(staged.name(), hex(&sha256(&body)));
        assert_eq!(staged.size(), body.len() as u64);
        assert_eq!(staged.head(), &body[..16]);
        assert_eq!(std::fs::read(staged.path()).unwrap(), body);
        let name = staged.name().to_owned();
        assert!(matches!(blobs.get(&name), Err(BlobError::Missing { .. })));
        assert_eq!(tmp_count(dir.path()), 1);
        assert_eq!(staged.persist().unwrap(), name);
        assert_eq!(blobs.get(&name).unwrap(), body);
        assert_eq!(tmp_count(dir.path()), 0);
        // The same bytes again, over a damaged copy: mended.
        let path = dir.path().join(&name[..2]).join(&name[2..]);
        std::fs::write(&path, b"damaged").unwrap();
        blobs.stage(&body).unwrap().persist().unwrap();
        assert_eq!(blobs.get(&name).unwrap(), body);
    }

    #[test]
    fn a_streamed_blob_past_its_cap_or_dropped_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let mut w = blobs.writer(10).unwrap();
        w.write(b"%PDF-1.7").unwrap();
        assert!(matches!(
            w.write(b"abc"),
            Err(BlobError::OverCap { max: 10 })
        ));
        assert_eq!(w.size(), 8);
        drop(w);
        assert_eq!(
            tmp_count(dir.path()),
            0,
            "the refused upload's file is removed"
        );
        let staged = blobs.stage(b"%PDF-1.7 refused").unwrap();
        assert_eq!(tmp_count(dir.path()), 1);
        drop(staged);
        assert_eq!(tmp_count(dir.path()), 0, "a staged blob dropped is removed");
        let only_tmp = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(only_tmp, 1, "no blob was named");
    }
}
