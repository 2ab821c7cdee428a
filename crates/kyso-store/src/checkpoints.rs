//! The audit key and the audit checkpoints: files kept *outside* the database, so that whoever
//! can write the database cannot recompute the keyed chain nor move the checkpoints.
//!
//! - The key ([`KEY_FILE`], `DATA/audit.key` by default): 32 random bytes as 64 hex digits,
//!   mode 0600, made once by [`load_or_create_key`] (written to a temporary file, flushed and
//!   linked into place without overwriting: two servers starting at once end with one key).
//! - The checkpoints ([`CHECKPOINT_FILE`], `DATA/audit-checkpoints.jsonl`): one JSON object
//!   per line ([`SignedCheckpoint`]), appended and fsynced ([`append`]), each authenticated
//!   with the key ([`authenticate`]).

use std::io::{self, Write as _};
use std::path::Path;

use kyso_domain::audit::{AuditKey, ChainError, Checkpoint};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::unhex32;
use crate::hex;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "audit.key";

/// The checkpoint file's name in the data directory.
pub const CHECKPOINT_FILE: &str = "audit-checkpoints.jsonl";

/// Read the audit key at `path` (64 hex digits, or 32 raw bytes).
pub fn load_key(path: &Path) -> io::Result<AuditKey> {
    let bytes = Zeroizing::new(std::fs::read(path)?);
    let mut key = Zeroizing::new([0u8; 32]);
    let text = std::str::from_utf8(&bytes).map(str::trim).unwrap_or("");
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, slot) in key.iter_mut().enumerate() {
            *slot = text
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
        }
    } else if bytes.len() == 32 {
        key.copy_from_slice(&bytes);
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an audit key (64 hex digits)",
        ));
    }
    Ok(AuditKey::new(&key))
}

/// Read the audit key at `path`, making it first if there is none: `(key, made now)`.
pub fn load_or_create_key(path: &Path) -> io::Result<(AuditKey, bool)> {
    match load_key(path) {
        Ok(key) => return Ok((key, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let bytes =
        Zeroizing::new(crate::random_bytes::<32>().map_err(|_| io::Error::other("no randomness"))?);
    let text = Zeroizing::new(format!("{}\n", hex(bytes.as_ref())));
    // tempfile makes the file with mode 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(dir)?;
            Ok((AuditKey::new(&bytes), true))
        }
        // Another process made it first: use theirs.
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok((load_key(path)?, false)),
        Err(e) => Err(e.error),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A checkpoint with its tag ([`Checkpoint::mac`]) and its Ed25519 signature
/// ([`Checkpoint::signature`], checkable with the public key alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub mac: [u8; 32],
    pub sig: Option<[u8; 64]>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    count: u64,
    last_seq: i64,
    head: String,
    keyed_from: i64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
}

impl SignedCheckpoint {
    /// `checkpoint` tagged with `key`.
    pub fn sign(checkpoint: Checkpoint, key: &AuditKey) -> SignedCheckpoint {
        SignedCheckpoint {
            mac: checkpoint.mac(key),
            sig: checkpoint.signature(key),
            checkpoint,
        }
    }

    /// One line of JSON (without the newline).
    pub fn to_line(&self) -> String {
        let c = &self.checkpoint;
        serde_json::to_string(&Line {
            count: c.count,
            last_seq: c.last_seq,
            head: hex(&c.head),
            keyed_from: c.keyed_from,
            at: c.at,
            mac: hex(&self.mac),
            sig: self.sig.map(|s| hex(&s)),
        })
        .unwrap_or_default()
    }

    /// Parse one line of JSON.
    pub fn parse(line: &str) -> Option<SignedCheckpoint> {
        let l: Line = serde_json::from_str(line).ok()?;
        Some(SignedCheckpoint {
            checkpoint: Checkpoint {
                count: l.count,
                last_seq: l.last_seq,
                head: unhex32(&l.head),
                keyed_from: l.keyed_from,
                at: l.at,
            },
            mac: unhex32(&l.mac),
            sig: match l.sig {
                None => None,
                Some(s) => Some(unhex64(&s)?),
            },
        })
    }
}

fn unhex64(s: &str) -> Option<[u8; 64]> {
    let mut out = [0u8; 64];
    if s.len() != 128 {
        return None;
    }
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Read a public key (64 hex digits) from the file at `path`.
pub fn load_public_key(path: &Path) -> io::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)?;
    let text = text.trim();
    let key = unhex32(text);
    if text.len() != 64 || key == [0xff; 32] {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a public key (64 hex digits)",
        ));
    }
    Ok(key)
}

/// Every checkpoint in the file at `path` (none when there is no file); a line that is not a
/// checkpoint is an `InvalidData` error naming the line.
pub fn read(path: &Path) -> io::Result<Vec<SignedCheckpoint>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match SignedCheckpoint::parse(line) {
            Some(c) => out.push(c),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line {}: not an audit checkpoint", i + 1),
                ))
            }
        }
    }
    Ok(out)
}

/// The checkpoints whose tag is `key`'s, or [`ChainError::BadCheckpoint`] for the first that
/// is not.
pub fn authenticate(
    checkpoints: &[SignedCheckpoint],
    key: &AuditKey,
) -> Result<Vec<Checkpoint>, ChainError> {
    checkpoints
        .iter()
        .map(|c| {
            if c.checkpoint.verify(key, &c.mac) {
                Ok(c.checkpoint)
            } else {
                Err(ChainError::BadCheckpoint {
                    seq: c.checkpoint.last_seq,
                })
            }
        })
        .collect()
}

/// The checkpoints signed for `public_key`, or [`ChainError::BadCheckpoint`] for the first
/// that is not (or carries no signature).
pub fn authenticate_public(
    checkpoints: &[SignedCheckpoint],
    public_key: &[u8; 32],
) -> Result<Vec<Checkpoint>, ChainError> {
    checkpoints
        .iter()
        .map(|c| match &c.sig {
            Some(sig) if c.checkpoint.verify_signature(public_key, sig) => Ok(c.checkpoint),
            _ => Err(ChainError::BadCheckpoint {
                seq: c.checkpoint.last_seq,
            }),
        })
        .collect()
}

/// Append `checkpoint` to the file at `path` (made with mode 0600 if missing) and flush it to
/// the disk.
pub fn append(path: &Path, checkpoint: &SignedCheckpoint) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let existed = path.exists();
    let mut file = options.open(path)?;
    file.write_all(format!("{}\n", checkpoint.to_line()).as_bytes())?;
    file.sync_all()?;
    if !existed {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(dir)?;
        }
    }
    Ok(())
}

/// A checkpoint of a verified log (`summary`), made at `at`.
pub fn checkpoint_of(
    summary: &kyso_domain::audit::ChainSummary,
    keyed_from: i64,
    at: OffsetDateTime,
    key: &AuditKey,
) -> SignedCheckpoint {
    SignedCheckpoint::sign(
        Checkpoint {
            count: summary.count,
            last_seq: summary.last_seq,
            head: summary.head,
            keyed_from,
            at,
        },
        key,
    )
}
