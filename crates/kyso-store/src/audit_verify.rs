//! Verifying the audit log against its key and checkpoints, as `kyso audit verify` and `kyso
//! audit checkpoint` do offline: the key and checkpoint files read (a missing file is not an
//! error, a damaged one is a finding), the log streamed against them ([`verify_log`], or
//! [`verify_public`] with only the checkpoints' public key), the result judged ([`Finding::problem`])
//! with a stable code and a sentence in Vietnamese and English, and a new checkpoint made
//! ([`new_checkpoint`]). The command line only parses options and prints.

use std::io;
use std::path::Path;

use kyso_domain::audit::{keyed_boundary, AuditKey, ChainError, ChainSummary, Checkpoint};
use time::OffsetDateTime;

use crate::checkpoints::{self, SignedCheckpoint};
use crate::{Result, Store};

/// A stable code for a broken chain (`kyso audit verify --json`, docs/audit-json.md).
pub fn code(e: &ChainError) -> &'static str {
    match e {
        ChainError::Edited { .. } => "EDITED",
        ChainError::Removed { .. } => "REMOVED",
        ChainError::Reordered { .. } => "REORDERED",
        ChainError::Broken { .. } => "BROKEN",
        ChainError::Truncated { .. } => "TRUNCATED",
        ChainError::CheckpointMismatch { .. } => "REWRITTEN",
        ChainError::Emptied { .. } => "EMPTIED",
        ChainError::BadCheckpoint { .. } => "BAD_CHECKPOINT",
        ChainError::CheckpointsDisagree => "CHECKPOINTS_DISAGREE",
        ChainError::NoCheckpoint => "NO_CHECKPOINT",
        ChainError::KeyMissing { .. } => "KEY_MISSING",
        _ => "TAMPERED",
    }
}

/// The key at `path`, or none when there is no such file (`InvalidData`: not 64 hex digits).
pub fn read_key(path: &Path) -> io::Result<Option<AuditKey>> {
    match checkpoints::load_key(path) {
        Ok(k) => Ok(Some(k)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The checkpoints in `path` (none when there is no such file); a damaged file is a finding
/// (the inner error, saying why), not a failure to read.
pub fn read_checkpoints(
    path: &Path,
) -> io::Result<std::result::Result<Vec<SignedCheckpoint>, String>> {
    match checkpoints::read(path) {
        Ok(c) => Ok(Ok(c)),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

/// What verifying the log found.
#[derive(Debug)]
pub struct Finding {
    pub result: std::result::Result<ChainSummary, ChainError>,
    /// The first keyed entry, as the checkpoints record it.
    pub keyed_from: Option<i64>,
    /// Checkpoints compared.
    pub checkpoints: usize,
    pub latest: Option<Checkpoint>,
    /// The key, or checkpoints signed with it, vouched for the log.
    pub keyed: bool,
}

/// A problem with the log: a stable code (docs/audit-json.md) and the sentence in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub vi: String,
    pub en: String,
}

impl Problem {
    /// No key vouched for the log (the log may still be intact).
    pub fn is_no_key(&self) -> bool {
        self.code == "NO_KEY"
    }
}

/// What to say when there is no audit key at `key_path`.
pub fn no_key_note(key_path: &Path) -> (String, String) {
    (
        format!(
            "không có khóa nhật ký ({}): không kiểm tra được các mục có khóa, không phát hiện được việc cắt bớt, xóa sạch hay viết lại nhật ký; hãy chỉ ra khóa bằng --audit-key-file",
            key_path.display()
        ),
        format!(
            "no audit key ({}): keyed entries cannot be checked, and truncation, emptying or rewriting cannot be detected; name the key with --audit-key-file",
            key_path.display()
        ),
    )
}

impl Finding {
    /// The problem, if any: a damaged checkpoint file first, then the chain's break; without
    /// a key nothing vouches for the log, so that is a problem too (fail closed).
    pub fn problem(&self, damaged: Option<(&Path, &str)>, key_path: &Path) -> Option<Problem> {
        let note = no_key_note(key_path);
        match (damaged, &self.result) {
            (Some((p, why)), _) => Some(Problem {
                code: "BAD_CHECKPOINT",
                vi: format!(
                    "tệp điểm kiểm tra {} bị hỏng hoặc bị sửa ({why})",
                    p.display()
                ),
                en: format!(
                    "the checkpoint file {} is damaged or was edited ({why})",
                    p.display()
                ),
            }),
            // Without the key, a keyed entry looks edited: say what is missing.
            (None, Err(e @ (ChainError::Edited { .. } | ChainError::KeyMissing { .. })))
                if !self.keyed =>
            {
                Some(Problem {
                    code: "NO_KEY",
                    vi: format!("{} ({})", note.0, e.message_vi()),
                    en: format!("{} ({})", note.1, e.message_en()),
                })
            }
            (None, Err(e)) => Some(Problem {
                code: code(e),
                vi: e.message_vi(),
                en: e.message_en(),
            }),
            (None, Ok(s)) if !self.keyed => Some(Problem {
                code: "NO_KEY",
                vi: format!(
                    "chuỗi không khóa hợp lệ đến mục #{}, nhưng {}",
                    s.last_seq, note.0
                ),
                en: format!(
                    "the unkeyed chain is valid up to entry #{}, but {}",
                    s.last_seq, note.1
                ),
            }),
            (None, Ok(_)) => None,
        }
    }
}

/// Verify the log against the key (when there is one) and the checkpoints. Without the key
/// the checkpoints cannot be authenticated; they still tell how long the log was.
pub async fn verify_log(
    store: &Store,
    key: Option<&AuditKey>,
    signed: &[SignedCheckpoint],
) -> Result<Finding> {
    let cps: Vec<Checkpoint> = match key {
        Some(k) => match checkpoints::authenticate(signed, k) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Finding {
                    result: Err(e),
                    keyed_from: None,
                    checkpoints: signed.len(),
                    latest: None,
                    keyed: true,
                })
            }
        },
        None => signed.iter().map(|c| c.checkpoint).collect(),
    };
    let keyed_from = keyed_boundary(&cps).ok().flatten();
    let result = crate::audit::verify_against(store, key, &cps).await?;
    Ok(Finding {
        result,
        keyed_from,
        checkpoints: cps.len(),
        latest: cps.iter().max_by_key(|c| c.last_seq).copied(),
        keyed: key.is_some(),
    })
}

/// [`verify_log`] for someone holding only the checkpoints' public key: their signatures, the
/// chain's links and the entries before keying are checked.
pub async fn verify_public(
    store: &Store,
    public_key: &[u8; 32],
    signed: &[SignedCheckpoint],
) -> Result<Finding> {
    let cps = match checkpoints::authenticate_public(signed, public_key) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Finding {
                result: Err(e),
                keyed_from: None,
                checkpoints: signed.len(),
                latest: None,
                keyed: true,
            })
        }
    };
    let result = crate::audit::verify_links(store, &cps).await?;
    Ok(Finding {
        result,
        keyed_from: keyed_boundary(&cps).ok().flatten(),
        checkpoints: cps.len(),
        latest: cps.iter().max_by_key(|c| c.last_seq).copied(),
        // Not the key, but checkpoints that vouch for the log's length and head.
        keyed: true,
    })
}

/// Why [`new_checkpoint`] made none.
#[derive(Debug)]
pub enum NoCheckpoint {
    /// The log is broken (or the checkpoints are): nothing to vouch for.
    Broken(ChainError),
    /// No checkpoint records where keying begins yet (the server never ran with the key).
    NotStarted,
}

/// Verify the whole log with `key` against the server's checkpoints and, when intact, sign a
/// checkpoint of it at `now` (not written anywhere: the caller appends it and exports it).
pub async fn new_checkpoint(
    store: &Store,
    key: &AuditKey,
    signed: &[SignedCheckpoint],
    now: OffsetDateTime,
) -> Result<std::result::Result<(SignedCheckpoint, ChainSummary), NoCheckpoint>> {
    let finding = verify_log(store, Some(key), signed).await?;
    Ok(match (finding.result, finding.keyed_from) {
        (Ok(summary), Some(keyed_from)) => Ok((
            checkpoints::checkpoint_of(&summary, keyed_from, now, key),
            summary,
        )),
        (Ok(_), None) => Err(NoCheckpoint::NotStarted),
        (Err(e), _) => Err(NoCheckpoint::Broken(e)),
    })
}
