//! The CSC service's configuration file (JSON), its password hashes, and the configuration that
//! serves the demo PKI.

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kyso_keys::Secret;
use serde::{Deserialize, Serialize};

use super::MIN_KDF_ITERATIONS;

/// The service's configuration file (JSON). Relative paths are relative to the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name shown by `info`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Lifetime of an access token.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_secs: u64,
    /// Lifetime of a SAD.
    #[serde(default = "default_sad_lifetime")]
    pub sad_lifetime_secs: u64,
    /// Consecutive wrong passwords before a user is blocked.
    #[serde(default = "default_login_failures")]
    pub max_login_failures: u32,
    /// Consecutive wrong PINs before a credential is blocked.
    #[serde(default = "default_pin_failures")]
    pub max_pin_failures: u32,
    /// How long a blocked user or credential stays blocked.
    #[serde(default = "default_block")]
    pub block_secs: u64,
    /// Most hashes one authorization may cover (`multisign`).
    #[serde(default = "default_multisign")]
    pub multisign: u32,
    pub users: Vec<UserConfig>,
    pub credentials: Vec<CredentialConfig>,
}

fn default_name() -> String {
    "kyso CSC".to_owned()
}
fn default_token_lifetime() -> u64 {
    3600
}
fn default_sad_lifetime() -> u64 {
    300
}
fn default_login_failures() -> u32 {
    5
}
fn default_pin_failures() -> u32 {
    3
}
fn default_block() -> u64 {
    300
}
fn default_multisign() -> u32 {
    10
}

/// A user of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// `$pbkdf2-sha256$i=ITERATIONS$SALT$HASH` (base64 without padding), see [`hash_password`].
    pub password_hash: String,
}

/// A signing credential: a key, its certificate chain and the user it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// The `credentialID`.
    pub id: String,
    /// The user allowed to use it.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An encrypted PKCS#12 file; its password is the credential's PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12: Option<PathBuf>,
    /// A key on a PKCS#11 token; the token's user PIN is the credential's PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Config>,
    /// PEM certificate files, the signer's first then its CAs (the PKCS#12 file is encrypted,
    /// so the chain `credentials/info` shows must be readable without the PIN).
    pub certificates: Vec<PathBuf>,
}

/// Where a PKCS#11 key is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's label (or hex id).
    pub key: String,
}

/// What can go wrong loading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: not a valid configuration: {1}")]
    Json(PathBuf, serde_json::Error),
    #[error("{0}: not a PEM certificate file: {1}")]
    Cert(PathBuf, kyso_x509::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Read and check a configuration file.
pub fn read_config(path: &Path) -> Result<Config, ConfigError> {
    let data = crate::files::read_limited(path, 1024 * 1024)
        .map_err(|_| ConfigError::Io(path.to_path_buf(), std::io::ErrorKind::InvalidData.into()))?;
    let mut config: Config =
        serde_json::from_slice(&data).map_err(|e| ConfigError::Json(path.to_path_buf(), e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for c in &mut config.credentials {
        if let Some(p) = &mut c.pkcs12 {
            *p = base.join(&*p);
        }
        for p in &mut c.certificates {
            *p = base.join(&*p);
        }
    }
    Ok(config)
}

/// A password hash for the configuration: PBKDF2-HMAC-SHA256, random 16-byte salt.
pub fn hash_password(password: &Secret, iterations: u32) -> Result<String, ConfigError> {
    let iterations = iterations.max(MIN_KDF_ITERATIONS);
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| ConfigError::Invalid("no randomness".into()))?;
    let mut out = [0u8; 32];
    let n = std::num::NonZeroU32::new(iterations)
        .ok_or_else(|| ConfigError::Invalid("iterations".into()))?;
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        n,
        &salt,
        password.expose().as_bytes(),
        &mut out,
    );
    Ok(format!(
        "$pbkdf2-sha256$i={iterations}${}${}",
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(out)
    ))
}

/// A parsed password hash.
#[derive(Debug, Clone)]
pub(super) struct PasswordHash {
    iterations: std::num::NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHash {
    pub(super) fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("$pbkdf2-sha256$i=")?;
        let mut parts = rest.split('$');
        let iterations: u32 = parts.next()?.parse().ok()?;
        let salt = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        let hash = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        if parts.next().is_some()
            || iterations < MIN_KDF_ITERATIONS
            || salt.len() < 8
            || hash.len() != 32
        {
            return None;
        }
        Some(PasswordHash {
            iterations: std::num::NonZeroU32::new(iterations)?,
            salt,
            hash,
        })
    }

    /// Constant-time check.
    pub(super) fn verify(&self, password: &str) -> bool {
        aws_lc_rs::pbkdf2::verify(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Demo configuration

/// A configuration serving the demo PKI in `dir` (`kyso pki init`): its personal and
/// organization certificates, owned by `user` (password `password`); their PINs are the demo
/// PKI's PKCS#12 password.
pub fn demo_config(
    dir: &Path,
    user: &str,
    password: &Secret,
    iterations: u32,
) -> Result<Config, ConfigError> {
    let index = kyso_pki::revocation::read_index(dir)
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", dir.display())))?;
    let cert_of = |kind: kyso_pki::demo::Kind| {
        index
            .entities
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| dir.join(&e.cert_file))
    };
    let (Some(inter), Some(root)) = (
        cert_of(kyso_pki::demo::Kind::Intermediate),
        cert_of(kyso_pki::demo::Kind::Root),
    ) else {
        return Err(ConfigError::Invalid(format!(
            "{}: the demo PKI has no root or intermediate",
            dir.display()
        )));
    };
    let credentials = index
        .entities
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                kyso_pki::demo::Kind::Personal | kyso_pki::demo::Kind::Organization
            )
        })
        .map(|e| CredentialConfig {
            id: e.name.clone(),
            owner: user.to_owned(),
            description: Some(e.common_name.clone()),
            pkcs12: Some(dir.join(&e.p12_file)),
            pkcs11: None,
            certificates: vec![dir.join(&e.cert_file), inter.clone(), root.clone()],
        })
        .collect();
    Ok(Config {
        name: "kyso CSC (demo PKI)".to_owned(),
        token_lifetime_secs: default_token_lifetime(),
        sad_lifetime_secs: default_sad_lifetime(),
        max_login_failures: default_login_failures(),
        max_pin_failures: default_pin_failures(),
        block_secs: default_block(),
        multisign: default_multisign(),
        users: vec![UserConfig {
            name: user.to_owned(),
            password_hash: hash_password(password, iterations)?,
        }],
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_verify_only_their_password() {
        let h = hash_password(&Secret::from("đúng rồi"), MIN_KDF_ITERATIONS).unwrap();
        let p = PasswordHash::parse(&h).unwrap();
        assert!(p.verify("đúng rồi"));
        assert!(!p.verify("đúng rồi "));
        assert!(!h.contains("đúng"));
        // Two hashes of one password differ (random salt).
        assert_ne!(
            h,
            hash_password(&Secret::from("đúng rồi"), MIN_KDF_ITERATIONS).unwrap()
        );
    }

    #[test]
    fn weak_or_malformed_hashes_are_refused() {
        assert!(PasswordHash::parse("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$AAAA").is_none());
        assert!(PasswordHash::parse("plaintext").is_none());
        let h = hash_password(&Secret::from("x"), MIN_KDF_ITERATIONS).unwrap();
        assert!(PasswordHash::parse(&format!("{h}$extra")).is_none());
    }
}
