//! A remote signing service speaking the Cloud Signature Consortium API (`kyso csc serve`):
//! CSC v2 under `/csc/v2/…` and, with v1 field names (`hash`, `hashAlgo`), v1 under
//! `/csc/v1/…` for v1 clients such as pyHanko's `CSCSigner`.
//!
//! Methods: `info`, `auth/login` (HTTP Basic → bearer access token), `auth/revoke`,
//! `credentials/list`, `credentials/info`, `credentials/authorize` (PIN + the hashes →
//! Signature Activation Data) and `signatures/signHash`.
//!
//! Security model:
//! - users log in with a password checked against a salted PBKDF2-HMAC-SHA256 hash from the
//!   configuration; the access token is 256 random bits, kept in memory only as its SHA-256,
//!   and expires;
//! - a credential belongs to one user; another user's credential is answered exactly like an
//!   unknown one;
//! - the key is an encrypted PKCS#12 file whose password is the credential's PIN: it is
//!   decrypted by `credentials/authorize` (which is how the PIN is checked) and held, with the
//!   SAD, only until those hashes are signed or the SAD expires, then dropped (aws-lc frees key
//!   memory with `OPENSSL_cleanse`; the PKCS#8 copy is a `Zeroizing` buffer);
//! - the SAD (256 random bits, stored as its SHA-256) is bound to the user, the credential and
//!   exactly the authorized hashes: each hash can be signed once, the SAD disappears when all
//!   are, and it expires (5 minutes by default) — SCAL 2;
//! - wrong passwords and wrong PINs are counted: after `max_login_failures` the user, after
//!   `max_pin_failures` the credential is blocked for `block_secs`;
//! - bodies are capped at [`MAX_BODY`], JSON is parsed strictly (unknown fields refused);
//! - one audit line per authorization and per signature batch (user, credential, number of
//!   hashes) — never a password, PIN, token or SAD — to the audit sink (the binary's stderr;
//!   `tracing` by default, see [`CscService::with_audit_log`]).
//!
//! [`router`] returns the `axum::Router` so that a future `kyso serve` can mount it. Work that
//! costs CPU (PBKDF2, PKCS#12 decryption, signing) runs on tokio's blocking pool.
//!
//! Modules: [`config`] (the configuration file, password hashes, the demo configuration),
//! [`requests`] (every body parsed strictly and checked before any state is touched; errors),
//! `auth` (login, access tokens, failure counters), `signing` (authorize → SAD → signHash),
//! `handlers` (info, credentials, the HTTP entry point and dispatch).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use der::asn1::ObjectIdentifier;
use kyso_keys::Secret;
use kyso_x509::{oid, Cert, KeyKind};

mod auth;
pub mod config;
mod handlers;
pub mod requests;
mod signing;

pub use config::{
    demo_config, hash_password, read_config, Config, ConfigError, CredentialConfig, Pkcs11Config,
    UserConfig,
};
pub use handlers::router;
pub use requests::{check_body, CscError, Method, Version};

use auth::{Failures, TokenEntry};
use config::PasswordHash;
use signing::SadEntry;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest PIN, password or user name accepted.
const MAX_SECRET: usize = 256;
/// Most access tokens and SADs alive at once (expired ones are purged first).
const MAX_LIVE: usize = 10_000;
/// Most users / credentials tracked by the failure counters.
const MAX_TRACKED: usize = 10_000;
/// PBKDF2 iterations written by [`hash_password`] unless told otherwise.
pub const DEFAULT_KDF_ITERATIONS: u32 = 600_000;
/// Fewest PBKDF2 iterations accepted in a configuration.
pub const MIN_KDF_ITERATIONS: u32 = 10_000;
/// Most hashes one authorization may ever cover (the configuration's `multisign` is clamped).
pub const MAX_MULTISIGN: u32 = 1000;

/// Where the service's audit lines go (one line each, never a secret).
pub type AuditLog = Arc<dyn Fn(&str) + Send + Sync>;

/// A credential ready to serve.
struct Credential {
    id: String,
    owner: String,
    description: String,
    key: KeySource,
    /// The signer's certificate first.
    chain: Vec<Cert>,
    /// Signature algorithm OIDs accepted for its key.
    algos: Vec<ObjectIdentifier>,
}

enum KeySource {
    Pkcs12(PathBuf),
}

/// What the handlers share.
pub struct CscService {
    name: String,
    token_lifetime: Duration,
    sad_lifetime: Duration,
    max_login_failures: u32,
    max_pin_failures: u32,
    block: Duration,
    multisign: u32,
    users: HashMap<String, PasswordHash>,
    /// A hash checked for unknown users, so that they take as long as known ones.
    dummy: PasswordHash,
    credentials: Vec<Credential>,
    tokens: Mutex<HashMap<[u8; 32], TokenEntry>>,
    sads: Mutex<HashMap<[u8; 32], SadEntry>>,
    login_failures: Mutex<HashMap<String, Failures>>,
    pin_failures: Mutex<HashMap<String, Failures>>,
    rng: SystemRandom,
    audit: AuditLog,
}

impl std::fmt::Debug for CscService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscService")
            .field("name", &self.name)
            .field("credentials", &self.credentials.len())
            .finish_non_exhaustive()
    }
}

fn algos_for(kind: KeyKind) -> Vec<ObjectIdentifier> {
    match kind {
        KeyKind::Rsa { .. } => vec![
            oid::RSA_ENCRYPTION,
            oid::SHA256_WITH_RSA,
            oid::SHA384_WITH_RSA,
            oid::SHA512_WITH_RSA,
            oid::RSASSA_PSS,
        ],
        KeyKind::EcP256 => vec![oid::ECDSA_SHA256],
        KeyKind::EcP384 => vec![oid::ECDSA_SHA384],
        _ => Vec::new(),
    }
}

impl CscService {
    /// Check a configuration and load its certificates.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let mut users = HashMap::new();
        for u in &config.users {
            if u.name.is_empty() || u.name.len() > MAX_SECRET || u.name.contains(':') {
                return Err(invalid(format!("user name {:?} is not allowed", u.name)));
            }
            let h = PasswordHash::parse(&u.password_hash).ok_or_else(|| {
                invalid(format!(
                    "user {}: password_hash is not $pbkdf2-sha256$i=N$SALT$HASH with N ≥ {}",
                    u.name, MIN_KDF_ITERATIONS
                ))
            })?;
            if users.insert(u.name.clone(), h).is_some() {
                return Err(invalid(format!("user {} is listed twice", u.name)));
            }
        }
        let mut credentials: Vec<Credential> = Vec::new();
        for c in &config.credentials {
            if c.id.is_empty() || c.id.len() > MAX_SECRET {
                return Err(invalid("a credential id is empty or too long".into()));
            }
            if credentials.iter().any(|x| x.id == c.id) {
                return Err(invalid(format!("credential {} is listed twice", c.id)));
            }
            if !users.contains_key(&c.owner) {
                return Err(invalid(format!(
                    "credential {}: owner {} is not a user",
                    c.id, c.owner
                )));
            }
            let key = match (&c.pkcs12, &c.pkcs11) {
                (Some(p), None) => KeySource::Pkcs12(p.clone()),
                (None, Some(_)) => {
                    return Err(invalid(format!(
                        "credential {}: PKCS#11 keys are not available in this build yet \
                         (only \"pkcs12\")",
                        c.id
                    )))
                }
                _ => {
                    return Err(invalid(format!(
                        "credential {}: give exactly one of \"pkcs12\" and \"pkcs11\"",
                        c.id
                    )))
                }
            };
            let mut chain = Vec::new();
            for p in &c.certificates {
                let pem = crate::files::read_limited(p, 1024 * 1024)
                    .map_err(|_| ConfigError::Io(p.clone(), std::io::ErrorKind::NotFound.into()))?;
                chain.extend(
                    Cert::from_pem_or_der(&pem).map_err(|e| ConfigError::Cert(p.clone(), e))?,
                );
            }
            let Some(leaf) = chain.first() else {
                return Err(invalid(format!("credential {}: no certificates", c.id)));
            };
            let algos = algos_for(leaf.key_kind());
            if algos.is_empty() {
                return Err(invalid(format!(
                    "credential {}: unsupported key (RSA, ECDSA P-256 and P-384 are)",
                    c.id
                )));
            }
            credentials.push(Credential {
                id: c.id.clone(),
                owner: c.owner.clone(),
                description: c
                    .description
                    .clone()
                    .unwrap_or_else(|| leaf.subject_display()),
                key,
                chain,
                algos,
            });
        }
        let dummy = PasswordHash::parse(&hash_password(
            &Secret::from("dummy"),
            DEFAULT_KDF_ITERATIONS,
        )?)
        .ok_or_else(|| invalid("dummy hash".into()))?;
        Ok(CscService {
            name: config.name.clone(),
            token_lifetime: Duration::from_secs(config.token_lifetime_secs.max(1)),
            sad_lifetime: Duration::from_secs(config.sad_lifetime_secs.max(1)),
            max_login_failures: config.max_login_failures.max(1),
            max_pin_failures: config.max_pin_failures.max(1),
            block: Duration::from_secs(config.block_secs),
            multisign: config.multisign.clamp(1, MAX_MULTISIGN),
            users,
            dummy,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            sads: Mutex::new(HashMap::new()),
            login_failures: Mutex::new(HashMap::new()),
            pin_failures: Mutex::new(HashMap::new()),
            rng: SystemRandom::new(),
            audit: Arc::new(|line: &str| tracing::info!(target: "kyso::csc::audit", "{line}")),
        })
    }

    /// Send the audit lines to `log` (the binary writes them to stderr).
    pub fn with_audit_log(mut self, log: AuditLog) -> Self {
        self.audit = log;
        self
    }

    fn log(&self, line: &str) {
        (self.audit)(line);
    }

    /// The credential `id` if `user` owns it.
    fn credential(&self, user: &str, id: &str) -> Result<&Credential, CscError> {
        self.credentials
            .iter()
            .find(|c| c.id == id && c.owner == user)
            .ok_or_else(|| CscError::bad("invalid_request", "Invalid parameter credentialID"))
    }

    fn random(&self) -> Result<[u8; 32], CscError> {
        let mut b = [0u8; 32];
        self.rng
            .fill(&mut b)
            .map_err(|_| CscError::server("no randomness"))?;
        Ok(b)
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}
