//! The revocation state of the demo PKI: `revocations.json` in the PKI directory, written by
//! `kyso pki revoke` and read by `kyso pki serve` (OCSP and CRLs).
//!
//! The file lists every revoked certificate (serial, issuing CA, reason, time) and, per CA, the
//! number of the CRL that reflects this content: `revoke` increments the issuing CA's number,
//! so the CRL number changes exactly when the CRL's content does, and survives restarts. Writes
//! are atomic (a temporary file in the same directory, synced, then renamed over the old one).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::demo::{Kind, Summary};
use crate::{Error, Result};

/// Name of the state file inside the PKI directory.
pub const STATE_FILE: &str = "revocations.json";
const FORMAT: &str = "kyso-revocations/1";
/// Largest state file read (a demo PKI has a dozen certificates).
const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

/// RFC 5280 §5.3.1 `CRLReason` values that `kyso pki revoke` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    KeyCompromise,
    #[serde(rename = "cACompromise")]
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 6] = [
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::CertificateHold,
    ];

    /// The `CRLReason` enumeration value.
    pub fn code(self) -> u8 {
        match self {
            Reason::KeyCompromise => 1,
            Reason::CaCompromise => 2,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
            Reason::CertificateHold => 6,
        }
    }

    /// The RFC 5280 name (`keyCompromise`, `cACompromise`, …).
    pub fn name(self) -> &'static str {
        match self {
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
        }
    }

    /// Parse an RFC 5280 name (case-insensitive).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
    }
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Serial number, upper-case hex without leading zero bytes (as in `index.json`).
    pub serial: String,
    /// The entity name of the certificate (`personal`, …).
    pub name: String,
    /// The entity name of the issuing CA (`root` or `intermediate`).
    pub issuer: String,
    pub reason: Reason,
    /// RFC 3339, whole seconds.
    pub time: String,
}

impl Revocation {
    /// The revocation time.
    pub fn time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.time, &Rfc3339).ok()
    }
}

/// The CRL number of one CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlNumber {
    /// The CA's entity name.
    pub ca: String,
    pub number: u64,
}

/// The contents of `revocations.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationState {
    pub format: String,
    pub revoked: Vec<Revocation>,
    pub crl_numbers: Vec<CrlNumber>,
}

impl Default for RevocationState {
    fn default() -> Self {
        RevocationState {
            format: FORMAT.to_owned(),
            revoked: Vec::new(),
            crl_numbers: Vec::new(),
        }
    }
}

/// Canonical form of a hex serial: upper case, no `0x`, no leading zero bytes.
pub fn normalize_serial(hex: &str) -> Option<String> {
    let h = hex.trim();
    let h = h
        .strip_prefix("0x")
        .or_else(|| h.strip_prefix("0X"))
        .unwrap_or(h);
    let h: String = h.chars().filter(|c| *c != ':').collect();
    if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = h.to_ascii_uppercase();
    let padded = if h.len() % 2 == 1 { format!("0{h}") } else { h };
    let mut s = padded.as_str();
    while s.len() > 2 && s.starts_with("00") {
        s = s.get(2..).unwrap_or(s);
    }
    Some(s.to_owned())
}

/// The hex form of INTEGER content octets, as [`normalize_serial`] writes it.
pub fn serial_hex(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    normalize_serial(&hex).unwrap_or(hex)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Read `index.json` of a demo PKI directory.
pub fn read_index(dir: &Path) -> Result<Summary> {
    let path = dir.join("index.json");
    let data = std::fs::read(&path).map_err(io(&path))?;
    let mut summary: Summary = serde_json::from_slice(&data)
        .map_err(|e| Error::State(format!("{}: {e}", path.display())))?;
    summary.dir = dir.to_path_buf();
    Ok(summary)
}

impl RevocationState {
    /// The state file of the PKI in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Read the state of the PKI in `dir` (empty when the file does not exist yet).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let data = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_STATE_BYTES => {
                return Err(Error::State(format!(
                    "{}: larger than {MAX_STATE_BYTES} bytes",
                    path.display()
                )))
            }
            Ok(_) => std::fs::read(&path).map_err(io(&path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(io(&path)(e)),
        };
        let state: RevocationState = serde_json::from_slice(&data)
            .map_err(|e| Error::State(format!("{}: {e}", path.display())))?;
        if state.format != FORMAT {
            return Err(Error::State(format!(
                "{}: unknown format {:?}",
                path.display(),
                state.format
            )));
        }
        Ok(state)
    }

    /// Write the state atomically: a temporary file next to it, synced, renamed into place.
    pub fn save(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        let path = Self::path(dir);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::State(format!("{}: {e}", path.display())))?;
        let tmp = dir.join(format!(".{STATE_FILE}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(&path)(e)
        })
    }

    /// The revocation of the certificate with this (hex) serial issued by `issuer`.
    pub fn find(&self, issuer: &str, serial: &str) -> Option<&Revocation> {
        let serial = normalize_serial(serial)?;
        self.revoked
            .iter()
            .find(|r| r.issuer == issuer && r.serial == serial)
    }

    /// The revocations of the certificates `ca` issued.
    pub fn issued_by<'a>(&'a self, ca: &'a str) -> impl Iterator<Item = &'a Revocation> + 'a {
        self.revoked.iter().filter(move |r| r.issuer == ca)
    }

    /// The current CRL number of `ca` (1 until something it issued is revoked).
    pub fn crl_number(&self, ca: &str) -> u64 {
        self.crl_numbers
            .iter()
            .find(|c| c.ca == ca)
            .map_or(1, |c| c.number)
    }

    fn bump_crl_number(&mut self, ca: &str) {
        let next = self.crl_number(ca).saturating_add(1);
        match self.crl_numbers.iter_mut().find(|c| c.ca == ca) {
            Some(c) => c.number = next,
            None => self.crl_numbers.push(CrlNumber {
                ca: ca.to_owned(),
                number: next,
            }),
        }
    }
}

/// The issuing CA's entity name of an entity of the demo PKI (`None` for the root).
pub fn issuer_of(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Root => None,
        Kind::Intermediate => Some("root"),
        _ => Some("intermediate"),
    }
}

/// Revoke the certificate with serial `serial` (hex) of the demo PKI in `dir`, at `time`, and
/// save the state. Refuses serials the PKI did not issue ([`Error::UnknownSerial`]), the root
/// ([`Error::CannotRevokeRoot`]) and certificates already revoked ([`Error::AlreadyRevoked`]).
pub fn revoke(
    dir: &Path,
    serial: &str,
    reason: Reason,
    time: OffsetDateTime,
) -> Result<Revocation> {
    let index = read_index(dir)?;
    let known = || {
        index
            .entities
            .iter()
            .map(|e| (e.name.clone(), e.serial.clone()))
            .collect::<Vec<_>>()
    };
    let wanted = normalize_serial(serial).ok_or_else(|| Error::UnknownSerial {
        serial: serial.to_owned(),
        known: known(),
    })?;
    let entity = index
        .entities
        .iter()
        .find(|e| normalize_serial(&e.serial).as_deref() == Some(wanted.as_str()))
        .ok_or_else(|| Error::UnknownSerial {
            serial: serial.to_owned(),
            known: known(),
        })?;
    let issuer = issuer_of(entity.kind).ok_or(Error::CannotRevokeRoot)?;
    let mut state = RevocationState::load(dir)?;
    if let Some(r) = state.find(issuer, &wanted) {
        return Err(Error::AlreadyRevoked {
            name: r.name.clone(),
            serial: r.serial.clone(),
            time: r.time.clone(),
            reason: r.reason,
        });
    }
    let time = time.replace_nanosecond(0).unwrap_or(time);
    let revocation = Revocation {
        serial: wanted,
        name: entity.name.clone(),
        issuer: issuer.to_owned(),
        reason,
        time: time.format(&Rfc3339).unwrap_or_default(),
    };
    state.revoked.push(revocation.clone());
    state.bump_crl_number(issuer);
    state.save(dir)?;
    Ok(revocation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_normalize() {
        assert_eq!(normalize_serial("0x00ab").as_deref(), Some("AB"));
        assert_eq!(normalize_serial("1:2f").as_deref(), Some("012F"));
        assert_eq!(normalize_serial("00").as_deref(), Some("00"));
        assert_eq!(normalize_serial("xyz"), None);
        assert_eq!(normalize_serial(""), None);
        assert_eq!(serial_hex(&[0, 0x7f, 1]), "7F01");
    }

    #[test]
    fn reasons_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_name(r.name()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.name()));
        }
        assert_eq!(
            Reason::from_name("KEYCOMPROMISE"),
            Some(Reason::KeyCompromise)
        );
        assert_eq!(Reason::from_name("removeFromCRL"), None);
    }

    #[test]
    fn state_saves_atomically_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let empty = RevocationState::load(dir.path()).unwrap();
        assert!(empty.revoked.is_empty());
        assert_eq!(empty.crl_number("intermediate"), 1);
        let mut s = RevocationState::default();
        s.revoked.push(Revocation {
            serial: "0A".into(),
            name: "personal".into(),
            issuer: "intermediate".into(),
            reason: Reason::Superseded,
            time: "2026-03-15T09:30:00Z".into(),
        });
        s.bump_crl_number("intermediate");
        s.save(dir.path()).unwrap();
        let back = RevocationState::load(dir.path()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.crl_number("intermediate"), 2);
        assert_eq!(back.crl_number("root"), 1);
        assert!(back.find("intermediate", "0x0a").is_some());
        assert!(back.find("root", "0A").is_none());
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(STATE_FILE)]);
        std::fs::write(RevocationState::path(dir.path()), b"{oops").unwrap();
        assert!(matches!(
            RevocationState::load(dir.path()),
            Err(Error::State(_))
        ));
    }
}
