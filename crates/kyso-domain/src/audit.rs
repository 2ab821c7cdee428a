//! A hash-chained audit log.
//!
//! Each record carries the hash of the record before it, and its own hash over its content and
//! that previous hash (SHA-256, [`entry_hash`]). Editing a record, removing one from the middle,
//! or reordering records breaks the chain, and [`verify_chain`] says where.
//!
//! Two things an unkeyed chain alone cannot catch, and what catches them:
//!
//! - **Rewriting**: an unkeyed hash can be recomputed by anyone who can write the table. A
//!   *keyed* chain ([`entry_mac`]: HMAC-SHA256 under an [`AuditKey`] kept outside the database)
//!   cannot be recomputed without the key. Logs written before the key existed keep their
//!   unkeyed hashes up to the boundary `keyed_from`; from there on every record is keyed.
//! - **Truncation and emptying**: removing the *last* records (or all of them) leaves a shorter
//!   chain that is still valid. [`Checkpoint`]s of the head, authenticated with the key and
//!   kept outside the database, catch it: [`ChainVerifier::with_checkpoints`] reports a log that
//!   ends before a checkpoint ([`ChainError::Truncated`], [`ChainError::Emptied`]) or differs
//!   from it ([`ChainError::CheckpointMismatch`]). Every checkpoint also carries `keyed_from`,
//!   so the boundary between the unkeyed and the keyed part cannot be moved.
//!
//! Sequence numbers start at [`FIRST_SEQ`] (1) and go up by one; the first record's previous
//! hash is [`GENESIS`] (32 zero bytes).
//!
//! **Precision of `at`**: the hash covers the timestamp to the nanosecond. Store it at full
//! precision, or truncate it to what the database keeps (e.g. microseconds in PostgreSQL)
//! *before* hashing.

use aws_lc_rs::{digest, hmac, signature};
use time::OffsetDateTime;

/// The previous hash of the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// The sequence number of the first record.
pub const FIRST_SEQ: i64 = 1;

/// The domain-separation prefix of every hashed record (version 1 of the encoding).
pub const DOMAIN: &[u8] = b"kyso-audit-v1\0";

/// The domain-separation prefix of every keyed record (version 2: HMAC-SHA256 under the key).
pub const DOMAIN_KEYED: &[u8] = b"kyso-audit-v2\0";

/// The domain-separation prefix of an authenticated [`Checkpoint`].
pub const DOMAIN_CHECKPOINT: &[u8] = b"kyso-audit-checkpoint-v1\0";

/// The label the checkpoint signing key's Ed25519 seed is derived with:
/// `HMAC-SHA256(audit key, SIGNING_SEED_LABEL)`.
pub const SIGNING_SEED_LABEL: &[u8] = b"kyso-audit-checkpoint-ed25519-seed-v1";

/// The key of the audit chain and its checkpoints (32 random bytes kept outside the database),
/// and the Ed25519 key derived from it that signs checkpoints, so that whoever holds only its
/// public key ([`AuditKey::public_key`]) can check them. Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct AuditKey {
    mac: hmac::Key,
    signer: Option<signature::Ed25519KeyPair>,
}

impl AuditKey {
    /// The key made of `bytes` (the caller zeroizes its copy).
    pub fn new(bytes: &[u8; 32]) -> AuditKey {
        let mac = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let seed = hmac::sign(&mac, SIGNING_SEED_LABEL);
        let signer = signature::Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).ok();
        AuditKey { mac, signer }
    }

    /// The public key checkpoints are signed for (32 bytes, Ed25519).
    pub fn public_key(&self) -> Option<[u8; 32]> {
        use signature::KeyPair as _;
        let signer = self.signer.as_ref()?;
        <[u8; 32]>::try_from(signer.public_key().as_ref()).ok()
    }

    fn mac(&self, parts: impl FnOnce(&mut dyn FnMut(&[u8]))) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.mac);
        parts(&mut |b: &[u8]| ctx.update(b));
        let tag = ctx.sign();
        <[u8; 32]>::try_from(tag.as_ref()).unwrap_or_default()
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

/// One audit record, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it (account name).
    pub actor: String,
    /// The actor's agency code, if any.
    pub agency: Option<String>,
    /// What was done (a stable name, e.g. `device.assign`).
    pub action: String,
    /// What it was done to (e.g. `device:TK-1234`).
    pub object: String,
    /// Details (free text or JSON).
    pub detail: String,
    /// Where the request came from (IP address).
    pub source: String,
    /// The hash of the previous record ([`GENESIS`] for the first).
    pub prev_hash: [u8; 32],
    /// [`entry_hash`] of this record.
    pub hash: [u8; 32],
}

/// The content of a new record, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it.
    pub actor: String,
    /// The actor's agency code, if any.
    pub agency: Option<String>,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub object: String,
    /// Details.
    pub detail: String,
    /// Where the request came from.
    pub source: String,
}

impl AuditRecord {
    /// Chains `entry` after `prev` (the current last record, or `None` for an empty log): the
    /// next sequence number, the previous hash and the record's own hash.
    pub fn chain(prev: Option<&AuditRecord>, entry: NewAuditEntry) -> AuditRecord {
        let (seq, prev_hash) = match prev {
            Some(p) => (p.seq.saturating_add(1), p.hash),
            None => (FIRST_SEQ, GENESIS),
        };
        Self::chain_after(seq, prev_hash, entry)
    }

    /// Chains `entry` at `seq` after a record whose hash is `prev_hash` (when the store keeps
    /// only the head, not the whole previous record).
    pub fn chain_after(seq: i64, prev_hash: [u8; 32], entry: NewAuditEntry) -> AuditRecord {
        let NewAuditEntry {
            at,
            actor,
            agency,
            action,
            object,
            detail,
            source,
        } = entry;
        let hash = entry_hash(
            &prev_hash,
            seq,
            at,
            &actor,
            agency.as_deref(),
            &action,
            &object,
            &detail,
            &source,
        );
        AuditRecord {
            seq,
            at,
            actor,
            agency,
            action,
            object,
            detail,
            source,
            prev_hash,
            hash,
        }
    }

    /// The keyed chain value this record's content gives under `key` ([`entry_mac`]).
    pub fn computed_mac(&self, key: &AuditKey) -> [u8; 32] {
        entry_mac(
            key,
            &self.prev_hash,
            self.seq,
            self.at,
            &self.actor,
            self.agency.as_deref(),
            &self.action,
            &self.object,
            &self.detail,
            &self.source,
        )
    }

    /// The hash this record's content gives (equal to `self.hash` unless it was edited).
    pub fn computed_hash(&self) -> [u8; 32] {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.at,
            &self.actor,
            self.agency.as_deref(),
            &self.action,
            &self.object,
            &self.detail,
            &self.source,
        )
    }
}

/// The hash of one record: SHA-256 over an unambiguous encoding.
///
/// The encoding is [`DOMAIN`] (`"kyso-audit-v1\0"`), then each field as its length (u64,
/// big-endian) followed by its bytes, in this order:
///
/// 1. `prev`: the 32 bytes;
/// 2. `seq`: 8 bytes, i64 big-endian;
/// 3. `at`: 16 bytes, the Unix time in nanoseconds as i128 big-endian (so the offset the time
///    was written in does not matter, only the instant);
/// 4. `actor`: UTF-8;
/// 5. `agency`: empty for `None`, else the byte 1 followed by the UTF-8 (so `None` and
///    `Some("")` differ);
/// 6. `action`, `object`, `detail`, `source`: UTF-8.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev: &[u8; 32],
    seq: i64,
    at: OffsetDateTime,
    actor: &str,
    agency: Option<&str>,
    action: &str,
    object: &str,
    detail: &str,
    source: &str,
) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(DOMAIN);
    encode(
        &mut |b: &[u8]| ctx.update(b),
        prev,
        seq,
        at,
        actor,
        agency,
        [action, object, detail, source],
    );
    let out = ctx.finish();
    <[u8; 32]>::try_from(out.as_ref()).unwrap_or_default()
}

/// The keyed chain value of one record: HMAC-SHA256 under `key` over [`DOMAIN_KEYED`]
/// (`"kyso-audit-v2\0"`) and the same field encoding as [`entry_hash`]. Without the key
/// nobody can compute it, so an edited record cannot be given a matching value.
#[allow(clippy::too_many_arguments)]
pub fn entry_mac(
    key: &AuditKey,
    prev: &[u8; 32],
    seq: i64,
    at: OffsetDateTime,
    actor: &str,
    agency: Option<&str>,
    action: &str,
    object: &str,
    detail: &str,
    source: &str,
) -> [u8; 32] {
    key.mac(|update| {
        update(DOMAIN_KEYED);
        encode(
            update,
            prev,
            seq,
            at,
            actor,
            agency,
            [action, object, detail, source],
        );
    })
}

/// The length-prefixed fields of a record (see [`entry_hash`]).
fn encode(
    update: &mut dyn FnMut(&[u8]),
    prev: &[u8; 32],
    seq: i64,
    at: OffsetDateTime,
    actor: &str,
    agency: Option<&str>,
    rest: [&str; 4],
) {
    let mut field = |bytes: &[&[u8]]| {
        let len: usize = bytes.iter().map(|b| b.len()).sum();
        update(&(len as u64).to_be_bytes());
        for b in bytes {
            update(b);
        }
    };
    field(&[prev]);
    field(&[&seq.to_be_bytes()]);
    field(&[&at.unix_timestamp_nanos().to_be_bytes()]);
    field(&[actor.as_bytes()]);
    match agency {
        None => field(&[]),
        Some(a) => field(&[&[1], a.as_bytes()]),
    }
    for s in rest {
        field(&[s.as_bytes()]);
    }
}

/// A checkpoint of the log's head, authenticated with the [`AuditKey`] and kept outside the
/// database: the log must still reach `last_seq` with chain value `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// How many records the log had.
    pub count: u64,
    /// The last record's sequence number (0: the log was empty).
    pub last_seq: i64,
    /// The last record's chain value ([`GENESIS`] for an empty log).
    pub head: [u8; 32],
    /// The first keyed record: records before it carry unkeyed hashes (written before the
    /// key existed). The same in every checkpoint of one log.
    pub keyed_from: i64,
    /// When the checkpoint was made.
    pub at: OffsetDateTime,
}

impl Checkpoint {
    /// The checkpoint's tag under `key`: HMAC-SHA256 over [`DOMAIN_CHECKPOINT`], then count
    /// (u64), last_seq (i64), head (32 bytes), keyed_from (i64) and the time (Unix
    /// nanoseconds, i128), all big-endian.
    pub fn mac(&self, key: &AuditKey) -> [u8; 32] {
        key.mac(|update| update(&self.message()))
    }

    /// The bytes the tag and the signature cover (see [`Checkpoint::mac`]).
    fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(DOMAIN_CHECKPOINT.len() + 80);
        m.extend_from_slice(DOMAIN_CHECKPOINT);
        m.extend_from_slice(&self.count.to_be_bytes());
        m.extend_from_slice(&self.last_seq.to_be_bytes());
        m.extend_from_slice(&self.head);
        m.extend_from_slice(&self.keyed_from.to_be_bytes());
        m.extend_from_slice(&self.at.unix_timestamp_nanos().to_be_bytes());
        m
    }

    /// The checkpoint's Ed25519 signature under the key derived from `key` (over the same
    /// bytes as [`Checkpoint::mac`]).
    pub fn signature(&self, key: &AuditKey) -> Option<[u8; 64]> {
        let sig = key.signer.as_ref()?.sign(&self.message());
        <[u8; 64]>::try_from(sig.as_ref()).ok()
    }

    /// Whether `sig` is this checkpoint's signature for `public_key` ([`AuditKey::public_key`]).
    pub fn verify_signature(&self, public_key: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
            .verify(&self.message(), sig)
            .is_ok()
    }

    /// Whether `tag` is this checkpoint's tag under `key` (in constant time).
    pub fn verify(&self, key: &AuditKey, tag: &[u8]) -> bool {
        let mine = self.mac(key);
        aws_lc_rs::constant_time::verify_slices_are_equal(&mine, tag).is_ok()
    }
}

/// A verified chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSummary {
    /// How many records were verified.
    pub count: u64,
    /// The sequence number of the last record (0 for an empty log).
    pub last_seq: i64,
    /// The hash of the last record ([`GENESIS`] for an empty log).
    pub head: [u8; 32],
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The record's hash does not match its content: it was edited.
    #[error("audit record {seq} was changed after it was written")]
    Edited {
        /// The edited record.
        seq: i64,
    },
    /// Records are missing after `after_seq` (0: at the start of the log).
    #[error("audit records are missing after record {after_seq}")]
    Removed {
        /// The last record before the gap.
        after_seq: i64,
    },
    /// A sequence number is not greater than the one before it.
    #[error("audit record {seq} is out of order")]
    Reordered {
        /// The out-of-order record.
        seq: i64,
    },
    /// The record's previous hash is not the hash of the record before it.
    #[error("audit record {seq} does not follow the record before it")]
    Broken {
        /// The record whose link is broken.
        seq: i64,
    },
    /// The log ends before a checkpoint: records were removed from the end.
    #[error("the audit log ends at record {last_seq} but a checkpoint at record {checkpoint_seq} exists")]
    Truncated {
        /// The checkpoint's sequence number.
        checkpoint_seq: i64,
        /// The last record found.
        last_seq: i64,
    },
    /// The record at the checkpoint has another hash than the checkpoint says: the log was
    /// rewritten.
    #[error("audit record {seq} differs from the checkpoint")]
    CheckpointMismatch {
        /// The checkpoint's sequence number.
        seq: i64,
    },
    /// The log is empty but a checkpoint says it had records: it was emptied.
    #[error(
        "the audit log is empty but a checkpoint at record {checkpoint_seq} exists: it was emptied"
    )]
    Emptied {
        /// The latest checkpoint's sequence number.
        checkpoint_seq: i64,
    },
    /// A checkpoint's tag is not the key's: it was forged, or made with another key.
    #[error("the checkpoint at record {seq} is not authentic (forged, or made with another key)")]
    BadCheckpoint {
        /// The checkpoint's sequence number.
        seq: i64,
    },
    /// Checkpoints name different first keyed records: the boundary was moved.
    #[error("the checkpoints disagree on where the keyed chain begins")]
    CheckpointsDisagree,
    /// The audit key exists but no checkpoint does: the checkpoint file was removed.
    #[error("the audit key exists but there is no checkpoint: the checkpoint file was removed")]
    NoCheckpoint,
    /// Records from `seq` on are keyed but no audit key was given.
    #[error("audit record {seq} is keyed but the audit key is missing")]
    KeyMissing {
        /// The first keyed record.
        seq: i64,
    },
}

impl ChainError {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        match self {
            ChainError::Edited { seq } => {
                format!("Bản ghi nhật ký số {seq} đã bị sửa sau khi ghi")
            }
            ChainError::Removed { after_seq } => {
                format!("Nhật ký bị mất bản ghi sau bản ghi số {after_seq}")
            }
            ChainError::Reordered { seq } => {
                format!("Bản ghi nhật ký số {seq} không đúng thứ tự")
            }
            ChainError::Broken { seq } => {
                format!("Bản ghi nhật ký số {seq} không nối tiếp bản ghi trước")
            }
            ChainError::Truncated {
                checkpoint_seq,
                last_seq,
            } => format!(
                "Nhật ký kết thúc ở bản ghi số {last_seq} nhưng đã có điểm kiểm tra ở bản ghi số {checkpoint_seq}"
            ),
            ChainError::CheckpointMismatch { seq } => {
                format!("Bản ghi nhật ký số {seq} khác với điểm kiểm tra (nhật ký đã bị viết lại)")
            }
            ChainError::Emptied { checkpoint_seq } => format!(
                "Nhật ký trống nhưng đã có điểm kiểm tra ở bản ghi số {checkpoint_seq}: nhật ký đã bị xóa sạch"
            ),
            ChainError::BadCheckpoint { seq } => format!(
                "Điểm kiểm tra ở bản ghi số {seq} không xác thực được (bị giả mạo hoặc tạo bằng khóa khác)"
            ),
            ChainError::CheckpointsDisagree => {
                "Các điểm kiểm tra không thống nhất về bản ghi có khóa đầu tiên".to_owned()
            }
            ChainError::NoCheckpoint => {
                "Có khóa nhật ký nhưng không có điểm kiểm tra nào: tệp điểm kiểm tra đã bị xóa".to_owned()
            }
            ChainError::KeyMissing { seq } => format!(
                "Bản ghi nhật ký từ số {seq} được ký bằng khóa nhưng không có khóa nhật ký"
            ),
        }
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Verifies records one at a time, in sequence order (for streaming a large log: it keeps
/// only the head and the checkpoints, never the records).
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    count: u64,
    last_seq: i64,
    head: [u8; 32],
    key: Option<AuditKey>,
    /// The first keyed record (`i64::MAX`: none).
    keyed_from: i64,
    /// `(seq, head)` of the checkpoints not yet reached, in ascending order.
    checkpoints: Vec<(i64, [u8; 32])>,
    next_checkpoint: usize,
    /// Keyed records without the key: only their links are checked.
    links_only: bool,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::new()
    }
}

impl ChainVerifier {
    /// A verifier for a log read from its first record.
    pub fn new() -> ChainVerifier {
        ChainVerifier::resume(FIRST_SEQ - 1, GENESIS)
    }

    /// A verifier for records following a record already verified (`last_seq`, `head`).
    pub fn resume(last_seq: i64, head: [u8; 32]) -> ChainVerifier {
        ChainVerifier {
            count: 0,
            last_seq,
            head,
            key: None,
            keyed_from: i64::MAX,
            checkpoints: Vec::new(),
            next_checkpoint: 0,
            links_only: false,
        }
    }

    /// Records from `keyed_from` on carry [`entry_mac`] under `key`; those before it
    /// [`entry_hash`].
    pub fn with_key(mut self, key: AuditKey, keyed_from: i64) -> ChainVerifier {
        self.key = Some(key);
        self.keyed_from = keyed_from;
        self
    }

    /// Records from `keyed_from` on are keyed, but the key is not known: reaching one is
    /// [`ChainError::KeyMissing`].
    pub fn keyed_from(mut self, keyed_from: i64) -> ChainVerifier {
        self.keyed_from = keyed_from;
        self
    }

    /// Records from `keyed_from` on are keyed and the key is not known, but the checkpoints
    /// are (signed, checked with the public key): check only that keyed records link up and
    /// reach every checkpoint with its value. This finds truncation, emptying and records
    /// removed, reordered or re-chained before a checkpoint, not a record whose content was
    /// edited in place with its stored value kept (that needs the key).
    pub fn links_only_from(mut self, keyed_from: i64) -> ChainVerifier {
        self.keyed_from = keyed_from;
        self.links_only = true;
        self
    }

    /// Also checks that the record at `seq` has hash `hash` and that the log reaches it.
    pub fn with_checkpoint(mut self, seq: i64, hash: [u8; 32]) -> ChainVerifier {
        if seq > self.last_seq {
            self.checkpoints.push((seq, hash));
            self.checkpoints.sort_by_key(|c| c.0);
        }
        self
    }

    /// Also checks every checkpoint (already authenticated by the caller).
    pub fn with_checkpoints<'a>(
        mut self,
        checkpoints: impl IntoIterator<Item = &'a Checkpoint>,
    ) -> ChainVerifier {
        for c in checkpoints {
            self = self.with_checkpoint(c.last_seq, c.head);
        }
        self
    }

    /// Checks the next record.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainError> {
        let seq = record.seq;
        if seq <= self.last_seq {
            return Err(ChainError::Reordered { seq });
        }
        if seq != self.last_seq.saturating_add(1) {
            return Err(ChainError::Removed {
                after_seq: self.last_seq,
            });
        }
        if record.prev_hash != self.head {
            return Err(ChainError::Broken { seq });
        }
        let computed = if seq >= self.keyed_from {
            match &self.key {
                Some(key) => record.computed_mac(key),
                None if self.links_only => record.hash,
                None => {
                    return Err(ChainError::KeyMissing {
                        seq: self.keyed_from,
                    })
                }
            }
        } else {
            record.computed_hash()
        };
        if computed != record.hash {
            return Err(ChainError::Edited { seq });
        }
        while let Some(&(cp_seq, cp_hash)) = self.checkpoints.get(self.next_checkpoint) {
            if cp_seq != seq {
                break;
            }
            if cp_hash != record.hash {
                return Err(ChainError::CheckpointMismatch { seq });
            }
            self.next_checkpoint += 1;
        }
        self.count += 1;
        self.last_seq = seq;
        self.head = record.hash;
        Ok(())
    }

    /// Ends verification: the summary, or [`ChainError::Truncated`] (or
    /// [`ChainError::Emptied`] for an empty log) if the log does not reach a checkpoint.
    pub fn finish(self) -> Result<ChainSummary, ChainError> {
        if self.next_checkpoint < self.checkpoints.len() {
            let checkpoint_seq = self.checkpoints.last().map(|c| c.0).unwrap_or_default();
            if self.last_seq < FIRST_SEQ {
                return Err(ChainError::Emptied { checkpoint_seq });
            }
            return Err(ChainError::Truncated {
                checkpoint_seq,
                last_seq: self.last_seq,
            });
        }
        Ok(ChainSummary {
            count: self.count,
            last_seq: self.last_seq,
            head: self.head,
        })
    }
}

/// Where the keyed chain begins, as every checkpoint says (`None`: no checkpoint), or
/// [`ChainError::CheckpointsDisagree`].
pub fn keyed_boundary(checkpoints: &[Checkpoint]) -> Result<Option<i64>, ChainError> {
    let mut out = None;
    for c in checkpoints {
        match out {
            None => out = Some(c.keyed_from),
            Some(k) if k != c.keyed_from => return Err(ChainError::CheckpointsDisagree),
            Some(_) => {}
        }
    }
    Ok(out)
}

/// Verifies a whole log given in sequence order from its first record.
///
/// Detects edited records, missing records (except at the end: see the module docs),
/// reordering and broken links; the first problem found is returned.
pub fn verify_chain<I: IntoIterator<Item = AuditRecord>>(
    records: I,
) -> Result<ChainSummary, ChainError> {
    verify_chain_against(records, None)
}

/// Like [`verify_chain`], and when `expected_head` (a checkpoint `(seq, hash)` taken earlier)
/// is given, also checks that the log still reaches that record with that hash. The log may
/// have grown since: the checkpoint need not be the last record.
pub fn verify_chain_against<I: IntoIterator<Item = AuditRecord>>(
    records: I,
    expected_head: Option<(i64, [u8; 32])>,
) -> Result<ChainSummary, ChainError> {
    let mut verifier = ChainVerifier::new();
    if let Some((seq, hash)) = expected_head {
        verifier = verifier.with_checkpoint(seq, hash);
    }
    for record in records {
        verifier.push(&record)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;
    use time::Duration;

    fn entry(i: i64) -> NewAuditEntry {
        NewAuditEntry {
            at: datetime!(2026-12-02 09:00 +7) + Duration::minutes(i),
            actor: format!("officer{i}"),
            agency: Some("H41.37".into()),
            action: "device.assign".into(),
            object: format!("device:TK-{i:04}"),
            detail: "{\"subscriber\":\"Nguyễn Văn An\"}".into(),
            source: "192.0.2.10".into(),
        }
    }

    /// A valid log of `n` records.
    fn log(n: i64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 1..=n {
            let r = AuditRecord::chain(out.last(), entry(i));
            out.push(r);
        }
        out
    }

    #[test]
    fn a_valid_log_verifies() {
        let records = log(5);
        assert_eq!(records[0].seq, 1);
        assert_eq!(records[0].prev_hash, GENESIS);
        assert_eq!(records[1].prev_hash, records[0].hash);
        let summary = verify_chain(records.clone()).unwrap();
        assert_eq!(
            summary,
            ChainSummary {
                count: 5,
                last_seq: 5,
                head: records[4].hash
            }
        );
        let empty = verify_chain(Vec::new()).unwrap();
        assert_eq!((empty.count, empty.last_seq, empty.head), (0, 0, GENESIS));
    }

    #[test]
    fn an_edited_record_is_found() {
        let mut records = log(5);
        records[2].detail = "{\"subscriber\":\"Trần Thị Bình\"}".into();
        assert_eq!(verify_chain(records), Err(ChainError::Edited { seq: 3 }));
    }

    #[test]
    fn an_edit_with_recomputed_hash_breaks_the_next_link() {
        let mut records = log(5);
        records[2].actor = "someone else".into();
        records[2].hash = records[2].computed_hash();
        assert_eq!(verify_chain(records), Err(ChainError::Broken { seq: 4 }));
    }

    #[test]
    fn a_removed_record_is_found() {
        let mut records = log(5);
        records.remove(2);
        assert_eq!(
            verify_chain(records),
            Err(ChainError::Removed { after_seq: 2 })
        );
        let mut records = log(5);
        records.remove(0);
        assert_eq!(
            verify_chain(records),
            Err(ChainError::Removed { after_seq: 0 })
        );
    }

    #[test]
    fn reordered_records_are_found() {
        let mut records = log(5);
        records.swap(1, 2);
        assert_eq!(
            verify_chain(records),
            Err(ChainError::Removed { after_seq: 1 })
        );
        let mut records = log(5);
        let dup = records[1].clone();
        records.insert(2, dup);
        assert_eq!(verify_chain(records), Err(ChainError::Reordered { seq: 2 }));
    }

    #[test]
    fn a_renumbered_log_still_breaks() {
        // Remove record 3 and renumber the rest to hide the gap: record 3 (was 4) now points
        // to the hash of the removed record, and its own hash no longer matches its seq.
        let mut records = log(5);
        records.remove(2);
        for r in &mut records[2..] {
            r.seq -= 1;
        }
        assert_eq!(verify_chain(records), Err(ChainError::Broken { seq: 3 }));
    }

    #[test]
    fn removing_the_last_record_needs_a_checkpoint() {
        let records = log(5);
        let checkpoint = (5, records[4].hash);
        let mut truncated = records.clone();
        truncated.pop();
        // The chain alone cannot tell.
        assert!(verify_chain(truncated.clone()).is_ok());
        // The checkpoint can.
        assert_eq!(
            verify_chain_against(truncated, Some(checkpoint)),
            Err(ChainError::Truncated {
                checkpoint_seq: 5,
                last_seq: 4
            })
        );
        // A log that grew after the checkpoint is fine.
        let mut grown = records.clone();
        grown.push(AuditRecord::chain(grown.last(), entry(6)));
        assert_eq!(
            verify_chain_against(grown, Some(checkpoint))
                .unwrap()
                .last_seq,
            6
        );
    }

    #[test]
    fn a_rewritten_log_differs_from_the_checkpoint() {
        let records = log(5);
        let checkpoint = (4, records[3].hash);
        // Rewrite everything from record 2 with recomputed hashes: the chain is valid again…
        let mut forged: Vec<AuditRecord> = records[..1].to_vec();
        for i in 2..=5 {
            let mut e = entry(i);
            if i == 2 {
                e.detail = "forged".into();
            }
            forged.push(AuditRecord::chain(forged.last(), e));
        }
        assert!(verify_chain(forged.clone()).is_ok());
        // …but not the checkpoint.
        assert_eq!(
            verify_chain_against(forged, Some(checkpoint)),
            Err(ChainError::CheckpointMismatch { seq: 4 })
        );
    }

    #[test]
    fn verification_can_resume_from_a_verified_head() {
        let records = log(6);
        let first = verify_chain(records[..3].to_vec()).unwrap();
        let mut v = ChainVerifier::resume(first.last_seq, first.head);
        for r in &records[3..] {
            v.push(r).unwrap();
        }
        let rest = v.finish().unwrap();
        assert_eq!(
            (rest.count, rest.last_seq, rest.head),
            (3, 6, records[5].hash)
        );
    }

    const KEY: [u8; 32] = [7; 32];

    /// A log whose first `unkeyed` records were written before the key existed.
    fn keyed_log(n: i64, unkeyed: i64, key: &AuditKey) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 1..=n {
            let mut r = AuditRecord::chain(out.last(), entry(i));
            if i > unkeyed {
                r.hash = r.computed_mac(key);
            }
            out.push(r);
        }
        out
    }

    fn checkpoint_of(records: &[AuditRecord], keyed_from: i64) -> Checkpoint {
        Checkpoint {
            count: records.len() as u64,
            last_seq: records.last().map(|r| r.seq).unwrap_or(0),
            head: records.last().map(|r| r.hash).unwrap_or(GENESIS),
            keyed_from,
            at: datetime!(2026-12-02 10:00 +7),
        }
    }

    fn verify_keyed(
        records: &[AuditRecord],
        key: &AuditKey,
        keyed_from: i64,
        checkpoints: &[Checkpoint],
    ) -> Result<ChainSummary, ChainError> {
        let mut v = ChainVerifier::new()
            .with_key(key.clone(), keyed_from)
            .with_checkpoints(checkpoints);
        for r in records {
            v.push(r)?;
        }
        v.finish()
    }

    #[test]
    fn a_keyed_log_cannot_be_rewritten_without_the_key() {
        let key = AuditKey::new(&KEY);
        let records = keyed_log(6, 2, &key);
        let cp = checkpoint_of(&records[..4], 3);
        assert_eq!(verify_keyed(&records, &key, 3, &[cp]).unwrap().count, 6);
        // Rewritten from record 2 on, the unkeyed way: record 3 on is keyed, so it fails.
        let mut forged: Vec<AuditRecord> = records[..1].to_vec();
        for i in 2..=6 {
            let mut e = entry(i);
            e.detail = "forged".into();
            forged.push(AuditRecord::chain(forged.last(), e));
        }
        assert!(verify_chain(forged.clone()).is_ok(), "the old check passes");
        assert_eq!(
            verify_keyed(&forged, &key, 3, &[]),
            Err(ChainError::Edited { seq: 3 })
        );
        // Rewritten with another key: the same.
        let wrong = AuditKey::new(&[8; 32]);
        let forged = keyed_log(6, 2, &wrong);
        assert_eq!(
            verify_keyed(&forged, &key, 3, &[]),
            Err(ChainError::Edited { seq: 3 })
        );
        // Without the key, keyed records cannot be checked.
        let mut v = ChainVerifier::new().keyed_from(3);
        v.push(&records[0]).unwrap();
        v.push(&records[1]).unwrap();
        assert_eq!(v.push(&records[2]), Err(ChainError::KeyMissing { seq: 3 }));
    }

    #[test]
    fn truncation_and_emptying_are_found_by_checkpoints() {
        let key = AuditKey::new(&KEY);
        let records = keyed_log(6, 0, &key);
        let cps = [checkpoint_of(&[], 1), checkpoint_of(&records[..5], 1)];
        assert_eq!(
            verify_keyed(&records[..4], &key, 1, &cps),
            Err(ChainError::Truncated {
                checkpoint_seq: 5,
                last_seq: 4
            })
        );
        assert_eq!(
            verify_keyed(&[], &key, 1, &cps),
            Err(ChainError::Emptied { checkpoint_seq: 5 })
        );
        // An empty log with only the first (empty) checkpoint is fine.
        assert_eq!(verify_keyed(&[], &key, 1, &cps[..1]).unwrap().count, 0);
    }

    #[test]
    fn checkpoints_are_authenticated_and_carry_the_boundary() {
        let key = AuditKey::new(&KEY);
        let records = keyed_log(3, 1, &key);
        let cp = checkpoint_of(&records, 2);
        let tag = cp.mac(&key);
        assert!(cp.verify(&key, &tag));
        assert!(!cp.verify(&AuditKey::new(&[8; 32]), &tag));
        let moved = Checkpoint {
            keyed_from: 4,
            ..cp
        };
        assert!(!moved.verify(&key, &tag), "the boundary is covered");
        assert_eq!(keyed_boundary(&[cp, cp]), Ok(Some(2)));
        assert_eq!(
            keyed_boundary(&[cp, moved]),
            Err(ChainError::CheckpointsDisagree)
        );
        assert_eq!(keyed_boundary(&[]), Ok(None));
        assert_eq!(format!("{key:?}"), "AuditKey(…)");
        // Signed for the public key too: checkable without the secret.
        let public = key.public_key().unwrap();
        let sig = cp.signature(&key).unwrap();
        assert!(cp.verify_signature(&public, &sig));
        assert!(!moved.verify_signature(&public, &sig));
        let other = AuditKey::new(&[8; 32]).public_key().unwrap();
        assert_ne!(public, other);
        assert!(!cp.verify_signature(&other, &sig));
        assert_eq!(
            AuditKey::new(&KEY).public_key(),
            Some(public),
            "derived, stable"
        );
    }

    #[test]
    fn with_the_public_key_only_links_and_checkpoints_are_checked() {
        let key = AuditKey::new(&KEY);
        let records = keyed_log(6, 2, &key);
        let cps = [checkpoint_of(&records[..2], 3), checkpoint_of(&records, 3)];
        let check = |records: &[AuditRecord]| {
            let mut v = ChainVerifier::new()
                .links_only_from(3)
                .with_checkpoints(&cps);
            for r in records {
                v.push(r)?;
            }
            v.finish()
        };
        assert_eq!(check(&records).unwrap().count, 6);
        assert_eq!(
            check(&records[..4]),
            Err(ChainError::Truncated {
                checkpoint_seq: 6,
                last_seq: 4
            })
        );
        assert_eq!(check(&[]), Err(ChainError::Emptied { checkpoint_seq: 6 }));
        // Re-chained with another key: the head no longer matches the checkpoint.
        let forged = keyed_log(6, 2, &AuditKey::new(&[8; 32]));
        assert_eq!(
            check(&forged),
            Err(ChainError::CheckpointMismatch { seq: 6 })
        );
        // The unkeyed part is still re-hashed.
        let mut edited = records.clone();
        edited[0].actor = "x".into();
        assert_eq!(check(&edited), Err(ChainError::Edited { seq: 1 }));
    }

    #[test]
    fn the_encoding_is_fixed() {
        // A known-answer test: changing the encoding changes this hash (bump DOMAIN then).
        let h = entry_hash(
            &GENESIS,
            1,
            datetime!(2026-01-01 00:00 UTC),
            "admin",
            None,
            "login",
            "account:admin",
            "",
            "127.0.0.1",
        );
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, KNOWN_HASH);
    }

    /// Computed independently (Python hashlib + struct, following the doc of `entry_hash`).
    const KNOWN_HASH: &str = "b1eca8e2201f2145e1dbc4896a98293f6d86c95da674057eb4a89cb3f29d1468";

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let at = datetime!(2026-01-01 00:00 UTC);
        let h = |actor, agency, action| {
            entry_hash(&GENESIS, 1, at, actor, agency, action, "o", "d", "s")
        };
        assert_ne!(h("ab", None, "c"), h("a", None, "bc"));
        assert_ne!(h("a", None, "b"), h("a", Some(""), "b"));
        assert_ne!(h("a", Some("x"), "b"), h("a", None, "xb"));
        // Only the instant counts, not the offset it is written in.
        let utc = entry_hash(&GENESIS, 1, at, "a", None, "b", "o", "d", "s");
        let vn = entry_hash(
            &GENESIS,
            1,
            at.to_offset(time::macros::offset!(+7)),
            "a",
            None,
            "b",
            "o",
            "d",
            "s",
        );
        assert_eq!(utc, vn);
    }

    #[test]
    fn messages_in_both_languages() {
        let e = ChainError::Removed { after_seq: 41 };
        assert_eq!(e.message_en(), "audit records are missing after record 41");
        assert_eq!(e.message_vi(), "Nhật ký bị mất bản ghi sau bản ghi số 41");
        let all = [
            ChainError::Edited { seq: 1 },
            ChainError::Reordered { seq: 1 },
            ChainError::Broken { seq: 1 },
            ChainError::Truncated {
                checkpoint_seq: 2,
                last_seq: 1,
            },
            ChainError::CheckpointMismatch { seq: 1 },
            ChainError::Emptied { checkpoint_seq: 1 },
            ChainError::BadCheckpoint { seq: 1 },
            ChainError::CheckpointsDisagree,
            ChainError::NoCheckpoint,
            ChainError::KeyMissing { seq: 1 },
        ];
        for e in all {
            assert!(!e.message_vi().is_empty() && !e.message_en().is_empty());
        }
    }

    proptest! {
        /// Changing any one byte-level field of any record is caught.
        #[test]
        fn any_single_edit_is_caught(n in 1i64..8, which in 0usize..8, field in 0usize..8) {
            let mut records = log(n);
            let i = which % records.len();
            let r = &mut records[i];
            match field {
                0 => r.actor.push('x'),
                1 => r.agency = None,
                2 => r.action.push('x'),
                3 => r.object.push('x'),
                4 => r.detail.push('x'),
                5 => r.source.push('x'),
                6 => r.at += Duration::nanoseconds(1),
                _ => r.hash[0] ^= 1,
            }
            let seq = records[i].seq;
            let err = verify_chain(records).unwrap_err();
            // A flipped stored hash shows as a mismatch on that record.
            prop_assert_eq!(err, ChainError::Edited { seq });
        }
    }
}
