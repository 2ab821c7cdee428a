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
//! - one audit line per authorization and per signature batch on stderr (user, credential,
//!   number of hashes) — never a password, PIN, token or SAD.
//!
//! [`router`] returns the `axum::Router` so that a future `kyso serve` can mount it. Work that
//! costs CPU (PBKDF2, PKCS#12 decryption, signing) runs on tokio's blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use der::asn1::ObjectIdentifier;
use kyso_cms::{DigestAlgorithm, SignatureAlgorithm, Signer};
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_x509::{oid, Cert, KeyKind};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

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

// ---------------------------------------------------------------------------------------------
// Configuration

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
    let data = crate::sign::read_limited(path, 1024 * 1024)
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
struct PasswordHash {
    iterations: std::num::NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHash {
    fn parse(s: &str) -> Option<Self> {
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
    fn verify(&self, password: &str) -> bool {
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
// Loaded state

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

/// A key opened for one authorization.
enum OpenKey {
    Pkcs12(Pkcs12Signer),
}

impl OpenKey {
    fn sign_digest(&self, alg: SignatureAlgorithm, digest: &[u8]) -> kyso_cms::Result<Vec<u8>> {
        match self {
            OpenKey::Pkcs12(k) => k.sign_digest(alg, digest),
        }
    }
    fn certificate(&self) -> &Cert {
        match self {
            OpenKey::Pkcs12(k) => k.certificate(),
        }
    }
}

struct TokenEntry {
    user: String,
    expires: Instant,
}

struct SadEntry {
    user: String,
    credential: String,
    /// Hashes not signed yet.
    remaining: Vec<Vec<u8>>,
    digest: Option<DigestAlgorithm>,
    expires: Instant,
    key: Arc<OpenKey>,
}

#[derive(Default, Clone, Copy)]
struct Failures {
    count: u32,
    blocked_until: Option<Instant>,
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
                let pem = crate::sign::read_limited(p, 1024 * 1024)
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
            multisign: config.multisign.clamp(1, 1000),
            users,
            dummy,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            sads: Mutex::new(HashMap::new()),
            login_failures: Mutex::new(HashMap::new()),
            pin_failures: Mutex::new(HashMap::new()),
            rng: SystemRandom::new(),
        })
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

// ---------------------------------------------------------------------------------------------
// Errors

/// A CSC error answer: HTTP status and `{error, error_description}`.
#[derive(Debug)]
pub struct CscError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl CscError {
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        CscError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }
    fn unauthorized(error: &'static str, description: impl Into<String>) -> Self {
        CscError {
            status: StatusCode::UNAUTHORIZED,
            error,
            description: description.into(),
        }
    }
    fn server(description: &str) -> Self {
        CscError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: description.to_owned(),
        }
    }
    fn request(description: impl Into<String>) -> Self {
        CscError::bad("invalid_request", description)
    }
}

/// A JSON answer (not cached: it may hold a token or a SAD).
fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = zeroize::Zeroizing::new(serde_json::to_vec(v).unwrap_or_default());
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_vec(),
    )
        .into_response()
}

impl IntoResponse for CscError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut r = json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Requests (strict: unknown fields are refused)

/// A secret string field, moved straight into a zeroizing [`Secret`].
fn secret_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.map(Secret::new))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InfoRequest {
    #[allow(dead_code)]
    lang: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    #[serde(rename = "rememberMe")]
    #[allow(dead_code)]
    remember_me: Option<bool>,
    #[serde(rename = "clientData")]
    #[allow(dead_code)]
    client_data: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    #[serde(default, deserialize_with = "secret_field")]
    token: Option<Secret>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    #[serde(rename = "clientData")]
    #[allow(dead_code)]
    client_data: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ListRequest {
    #[serde(rename = "userID")]
    user_id: Option<String>,
    #[serde(rename = "credentialInfo")]
    credential_info: Option<bool>,
    certificates: Option<String>,
    #[serde(rename = "certInfo")]
    cert_info: Option<bool>,
    #[serde(rename = "authInfo")]
    auth_info: Option<bool>,
    #[serde(rename = "onlyValid")]
    only_valid: Option<bool>,
    lang: Option<String>,
    #[serde(rename = "clientData")]
    client_data: Option<String>,
    #[serde(rename = "maxResults")]
    max_results: Option<u32>,
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CredentialInfoRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    certificates: Option<String>,
    #[serde(rename = "certInfo")]
    cert_info: Option<bool>,
    #[serde(rename = "authInfo")]
    auth_info: Option<bool>,
    lang: Option<String>,
    #[serde(rename = "clientData")]
    client_data: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AuthorizeRequest {
    #[serde(rename = "credentialID")]
    credential_id: String,
    #[serde(rename = "numSignatures")]
    num_signatures: u32,
    /// v1.
    hash: Option<Vec<String>>,
    /// v2.
    hashes: Option<Vec<String>>,
    /// v2.
    #[serde(rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    #[serde(rename = "PIN", default, deserialize_with = "secret_field")]
    pin: Option<Secret>,
    #[serde(rename = "OTP", default, deserialize_with = "secret_field")]
    otp: Option<Secret>,
    description: Option<String>,
    #[serde(rename = "clientData")]
    client_data: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SignHashRequest {
    #[serde(rename = "credentialID")]
    credential_id: Option<String>,
    #[serde(rename = "signatureQualifier")]
    signature_qualifier: Option<String>,
    #[serde(rename = "SAD", default, deserialize_with = "secret_field")]
    sad: Option<Secret>,
    /// v1.
    hash: Option<Vec<String>>,
    /// v2.
    hashes: Option<Vec<String>>,
    /// v1.
    #[serde(rename = "hashAlgo")]
    hash_algo: Option<String>,
    /// v2.
    #[serde(rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    #[serde(rename = "signAlgo")]
    sign_algo: String,
    #[serde(rename = "signAlgoParams")]
    sign_algo_params: Option<String>,
    #[serde(rename = "operationMode")]
    operation_mode: Option<String>,
    validity_period: Option<u64>,
    response_uri: Option<String>,
    #[serde(rename = "clientData")]
    client_data: Option<String>,
}

/// The API version of a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, CscError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_required(body)
}

fn parse_required<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CscError> {
    serde_json::from_slice(body).map_err(|e| CscError::request(describe_json_error(&e)))
}

/// A JSON error for the client: which field is unknown or missing, but never a value (a wrongly
/// typed PIN would otherwise be echoed, and could end up in someone's log).
fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    for prefix in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            if let Some((field, _)) = rest.split_once('`') {
                return format!("Malformed request: {prefix}{field}`");
            }
        }
    }
    "Malformed request: invalid JSON or a parameter of the wrong type".to_owned()
}

/// The hash list under the version's field name.
fn hash_list(
    version: Version,
    v1: Option<Vec<String>>,
    v2: Option<Vec<String>>,
) -> Result<Vec<Vec<u8>>, CscError> {
    let (list, name) = match (version, v1, v2) {
        (Version::V1, Some(l), None) => (l, "hash"),
        (Version::V2, None, Some(l)) => (l, "hashes"),
        (Version::V1, _, _) => return Err(CscError::request("Missing parameter hash")),
        (Version::V2, _, _) => return Err(CscError::request("Missing parameter hashes")),
    };
    if list.is_empty() {
        return Err(CscError::request(format!("Empty parameter {name}")));
    }
    list.iter()
        .map(|h| {
            let d = STANDARD
                .decode(h)
                .map_err(|_| CscError::request(format!("Invalid parameter {name}")))?;
            if ![32, 48, 64].contains(&d.len()) {
                return Err(CscError::request(format!(
                    "Invalid parameter {name}: not a SHA-256/384/512 hash"
                )));
            }
            Ok(d)
        })
        .collect()
}

fn digest_oid(s: &str) -> Result<DigestAlgorithm, CscError> {
    ObjectIdentifier::new(s)
        .ok()
        .and_then(|o| DigestAlgorithm::from_oid(&o))
        .ok_or_else(|| CscError::request("Invalid parameter hashAlgo: unsupported digest"))
}

// ---------------------------------------------------------------------------------------------
// Methods

impl CscService {
    fn info(&self, version: Version, body: &[u8]) -> Result<Value, CscError> {
        let _: InfoRequest = parse(body)?;
        let methods = [
            "auth/login",
            "auth/revoke",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "signatures/signHash",
        ];
        let mut v = json!({
            "specs": if version == Version::V2 { "2.0.0.2" } else { "1.0.4.0" },
            "name": self.name,
            "logo": "",
            "region": "VN",
            "lang": "vi",
            "description": "kyso remote signing service (CSC API)",
            "authType": ["basic"],
            "methods": methods,
        });
        if version == Version::V2 {
            let algos: Vec<String> = [
                oid::RSA_ENCRYPTION,
                oid::SHA256_WITH_RSA,
                oid::SHA384_WITH_RSA,
                oid::SHA512_WITH_RSA,
                oid::RSASSA_PSS,
                oid::ECDSA_SHA256,
                oid::ECDSA_SHA384,
            ]
            .iter()
            .map(ToString::to_string)
            .collect();
            if let Some(o) = v.as_object_mut() {
                o.insert("signAlgorithms".into(), json!({ "algos": algos }));
            }
        }
        Ok(v)
    }

    /// `auth/login` with HTTP Basic credentials.
    fn login(&self, authorization: Option<&str>, body: &[u8]) -> Result<Value, CscError> {
        let _: LoginRequest = parse(body)?;
        let basic = authorization
            .and_then(|a| a.strip_prefix("Basic "))
            .ok_or_else(|| {
                CscError::unauthorized("invalid_request", "Missing HTTP Basic authentication")
            })?;
        let decoded =
            zeroize::Zeroizing::new(STANDARD.decode(basic.trim()).map_err(|_| {
                CscError::unauthorized("invalid_request", "Malformed Basic header")
            })?);
        let text = std::str::from_utf8(&decoded)
            .map_err(|_| CscError::unauthorized("invalid_request", "Malformed Basic header"))?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| CscError::unauthorized("invalid_request", "Malformed Basic header"))?;
        if user.is_empty() || user.len() > MAX_SECRET || password.len() > MAX_SECRET {
            return Err(CscError::unauthorized(
                "authentication_error",
                "Invalid user name or password",
            ));
        }
        let now = Instant::now();
        if let Some(left) = blocked(&self.login_failures, user, now) {
            return Err(CscError::unauthorized(
                "authentication_error",
                format!(
                    "Too many failed logins: the user is blocked for {} more seconds",
                    left.as_secs().max(1)
                ),
            ));
        }
        let ok = match self.users.get(user) {
            Some(h) => h.verify(password),
            None => {
                let _ = self.dummy.verify(password);
                false
            }
        };
        if !ok {
            let now_blocked = fail(
                &self.login_failures,
                user,
                self.max_login_failures,
                self.block,
                now,
            );
            eprintln!(
                "csc audit: login refused user={user}{}",
                if now_blocked { " (now blocked)" } else { "" }
            );
            return Err(CscError::unauthorized(
                "authentication_error",
                "Invalid user name or password",
            ));
        }
        reset(&self.login_failures, user);
        let raw = self.random()?;
        let token = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(raw));
        {
            let mut tokens = self
                .tokens
                .lock()
                .map_err(|_| CscError::server("state lock"))?;
            if tokens.len() >= MAX_LIVE {
                tokens.retain(|_, t| t.expires > now);
                if tokens.len() >= MAX_LIVE {
                    return Err(CscError::server("too many sessions"));
                }
            }
            tokens.insert(
                sha256(token.as_bytes()),
                TokenEntry {
                    user: user.to_owned(),
                    expires: now + self.token_lifetime,
                },
            );
        }
        eprintln!("csc audit: login user={user}");
        Ok(json!({
            "access_token": token.as_str(),
            "token_type": "Bearer",
            "expires_in": self.token_lifetime.as_secs(),
        }))
    }

    /// The user a bearer token belongs to.
    fn bearer(&self, authorization: Option<&str>) -> Result<String, CscError> {
        let token = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| CscError::unauthorized("invalid_request", "Missing access token"))?;
        let key = sha256(token.as_bytes());
        let now = Instant::now();
        let mut tokens = self
            .tokens
            .lock()
            .map_err(|_| CscError::server("state lock"))?;
        match tokens.get(&key) {
            Some(t) if t.expires > now => Ok(t.user.clone()),
            Some(_) => {
                tokens.remove(&key);
                Err(CscError::unauthorized(
                    "invalid_token",
                    "The access token has expired",
                ))
            }
            None => Err(CscError::unauthorized(
                "invalid_token",
                "The access token is not valid",
            )),
        }
    }

    fn revoke(&self, user: &str, authorization: Option<&str>, body: &[u8]) -> Result<(), CscError> {
        let req: RevokeRequest = parse(body)?;
        let token = match &req.token {
            Some(t) => t.expose().to_owned(),
            None => authorization
                .and_then(|a| a.strip_prefix("Bearer "))
                .map(|t| t.trim().to_owned())
                .unwrap_or_default(),
        };
        let token = zeroize::Zeroizing::new(token);
        let key = sha256(token.as_bytes());
        let mut tokens = self
            .tokens
            .lock()
            .map_err(|_| CscError::server("state lock"))?;
        match tokens.get(&key) {
            Some(t) if t.user == user => {
                tokens.remove(&key);
                Ok(())
            }
            _ => Err(CscError::request("Invalid parameter token")),
        }
    }

    fn list(&self, user: &str, body: &[u8]) -> Result<Value, CscError> {
        let req: ListRequest = parse(body)?;
        if req.user_id.as_deref().is_some_and(|u| u != user) {
            return Err(CscError::request("Invalid parameter userID"));
        }
        let ids: Vec<&str> = self
            .credentials
            .iter()
            .filter(|c| c.owner == user)
            .map(|c| c.id.as_str())
            .collect();
        Ok(json!({ "credentialIDs": ids }))
    }

    fn credential_info(
        &self,
        version: Version,
        user: &str,
        body: &[u8],
    ) -> Result<Value, CscError> {
        let req: CredentialInfoRequest = parse_required(body)?;
        let c = self.credential(user, &req.credential_id)?;
        let leaf = c
            .chain
            .first()
            .ok_or_else(|| CscError::server("credential without certificate"))?;
        let kind = leaf.key_kind();
        let mut key = json!({
            "status": "enabled",
            "algo": c.algos.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        if let Some(k) = key.as_object_mut() {
            match kind {
                KeyKind::Rsa { bits } => {
                    k.insert("len".into(), json!(bits));
                }
                KeyKind::EcP256 => {
                    k.insert("len".into(), json!(256));
                    k.insert("curve".into(), json!(oid::SECP256R1.to_string()));
                }
                KeyKind::EcP384 => {
                    k.insert("len".into(), json!(384));
                    k.insert("curve".into(), json!(oid::SECP384R1.to_string()));
                }
                _ => {}
            }
        }
        let certs: Vec<String> = match req.certificates.as_deref().unwrap_or("single") {
            "none" => Vec::new(),
            "single" => vec![STANDARD.encode(leaf.der())],
            "chain" => c.chain.iter().map(|x| STANDARD.encode(x.der())).collect(),
            _ => return Err(CscError::request("Invalid parameter certificates")),
        };
        let mut cert = json!({ "status": "valid" });
        if let Some(o) = cert.as_object_mut() {
            if !certs.is_empty() {
                o.insert("certificates".into(), json!(certs));
            }
            if req.cert_info == Some(true) {
                let gt = |t: time::OffsetDateTime| {
                    format!(
                        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
                        t.year(),
                        u8::from(t.month()),
                        t.day(),
                        t.hour(),
                        t.minute(),
                        t.second()
                    )
                };
                o.insert("issuerDN".into(), json!(leaf.issuer_display()));
                o.insert("serialNumber".into(), json!(leaf.serial_hex()));
                o.insert("subjectDN".into(), json!(leaf.subject_display()));
                o.insert("validFrom".into(), json!(gt(leaf.not_before())));
                o.insert("validTo".into(), json!(gt(leaf.not_after())));
            }
        }
        let mut v = json!({
            "description": c.description,
            "key": key,
            "cert": cert,
            "SCAL": "2",
            "multisign": self.multisign,
            "lang": "vi",
        });
        if let Some(o) = v.as_object_mut() {
            match version {
                Version::V2 => {
                    o.insert(
                        "auth".into(),
                        json!({
                            "mode": "explicit",
                            "expression": "PIN",
                            "objects": [{
                                "type": "Password",
                                "id": "PIN",
                                "format": "A",
                                "label": "PIN",
                                "description": "The credential's PIN",
                            }],
                        }),
                    );
                }
                Version::V1 => {
                    o.insert("authMode".into(), json!("explicit"));
                    o.insert(
                        "PIN".into(),
                        json!({
                            "presence": "true",
                            "format": "A",
                            "label": "PIN",
                            "description": "The credential's PIN",
                        }),
                    );
                }
            }
        }
        Ok(v)
    }

    fn authorize(&self, version: Version, user: &str, body: &[u8]) -> Result<Value, CscError> {
        let req: AuthorizeRequest = parse_required(body)?;
        let c = self.credential(user, &req.credential_id)?;
        if req.num_signatures == 0 || req.num_signatures > self.multisign {
            return Err(CscError::request(format!(
                "Invalid parameter numSignatures (1 to {})",
                self.multisign
            )));
        }
        let hashes = hash_list(version, req.hash, req.hashes)?;
        if hashes.len() != req.num_signatures as usize {
            return Err(CscError::request(
                "The number of hashes does not match numSignatures",
            ));
        }
        let digest = match &req.hash_algorithm_oid {
            Some(o) => Some(digest_oid(o)?),
            None => None,
        };
        if let Some(d) = digest {
            if hashes.iter().any(|h| h.len() != d.output_len()) {
                return Err(CscError::request(
                    "Invalid parameter hashes: length does not match hashAlgorithmOID",
                ));
            }
        }
        let pin = req
            .pin
            .as_ref()
            .filter(|p| !p.expose().is_empty() && p.expose().len() <= MAX_SECRET)
            .ok_or_else(|| CscError::request("Missing parameter PIN"))?;
        let now = Instant::now();
        if let Some(left) = blocked(&self.pin_failures, &c.id, now) {
            eprintln!(
                "csc audit: authorize refused user={user} credential={} (blocked)",
                c.id
            );
            return Err(CscError::bad(
                "invalid_request",
                format!(
                    "The credential is blocked after too many wrong PINs; try again in {} seconds",
                    left.as_secs().max(1)
                ),
            ));
        }
        let key =
            match &c.key {
                KeySource::Pkcs12(path) => {
                    let data = crate::sign::read_limited(path, kyso_keys::MAX_P12_BYTES)
                        .map_err(|_| CscError::server("the credential's key cannot be read"))?;
                    match Pkcs12Signer::from_pkcs12(&data, pin) {
                        Ok(k) => OpenKey::Pkcs12(k),
                        Err(kyso_keys::Error::WrongPassword) => {
                            let now_blocked = fail(
                                &self.pin_failures,
                                &c.id,
                                self.max_pin_failures,
                                self.block,
                                now,
                            );
                            eprintln!(
                            "csc audit: authorize refused user={user} credential={} (wrong PIN{})",
                            c.id,
                            if now_blocked { "; credential now blocked" } else { "" }
                        );
                            return Err(CscError::bad("invalid_pin", "The PIN is invalid"));
                        }
                        Err(e) => {
                            eprintln!("csc: credential {}: {e}", c.id);
                            return Err(CscError::server("the credential's key cannot be opened"));
                        }
                    }
                }
            };
        reset(&self.pin_failures, &c.id);
        let leaf = c
            .chain
            .first()
            .ok_or_else(|| CscError::server("credential without certificate"))?;
        if key.certificate().der() != leaf.der() {
            eprintln!(
                "csc: credential {}: the key's certificate is not the configured one",
                c.id
            );
            return Err(CscError::server("the credential is misconfigured"));
        }
        let raw = self.random()?;
        let sad = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(raw));
        let n = hashes.len();
        {
            let mut sads = self
                .sads
                .lock()
                .map_err(|_| CscError::server("state lock"))?;
            sads.retain(|_, s| s.expires > now);
            if sads.len() >= MAX_LIVE {
                return Err(CscError::server("too many pending authorizations"));
            }
            sads.insert(
                sha256(sad.as_bytes()),
                SadEntry {
                    user: user.to_owned(),
                    credential: c.id.clone(),
                    remaining: hashes,
                    digest,
                    expires: now + self.sad_lifetime,
                    key: Arc::new(key),
                },
            );
        }
        eprintln!(
            "csc audit: authorize user={user} credential={} hashes={n}",
            c.id
        );
        Ok(json!({ "SAD": sad.as_str(), "expiresIn": self.sad_lifetime.as_secs() }))
    }

    fn sign_hash(&self, version: Version, user: &str, body: &[u8]) -> Result<Value, CscError> {
        let req: SignHashRequest = parse_required(body)?;
        let cred_id = req
            .credential_id
            .as_deref()
            .ok_or_else(|| CscError::request("Missing parameter credentialID"))?;
        let c = self.credential(user, cred_id)?;
        let sad = req
            .sad
            .as_ref()
            .ok_or_else(|| CscError::request("Missing parameter SAD"))?;
        let hashes = hash_list(version, req.hash, req.hashes)?;
        let hash_algo = match (version, &req.hash_algo, &req.hash_algorithm_oid) {
            (Version::V1, a, None) => a.as_deref().map(digest_oid).transpose()?,
            (Version::V2, None, a) => a.as_deref().map(digest_oid).transpose()?,
            _ => return Err(CscError::request("Unexpected hash algorithm parameter")),
        };
        let sign_oid = ObjectIdentifier::new(&req.sign_algo)
            .map_err(|_| CscError::request("Invalid parameter signAlgo"))?;
        if !c.algos.contains(&sign_oid) {
            return Err(CscError::request(
                "Invalid parameter signAlgo: not supported by the credential's key",
            ));
        }
        let params = match &req.sign_algo_params {
            Some(p) => Some(
                STANDARD
                    .decode(p)
                    .map_err(|_| CscError::request("Invalid parameter signAlgoParams"))?,
            ),
            None => None,
        };
        let alg =
            kyso_cms::verify::signature_algorithm_from(&sign_oid, params.as_deref(), hash_algo)
                .ok_or_else(|| {
                    CscError::request(
                        "Invalid parameter signAlgo or signAlgoParams (or missing hashAlgo)",
                    )
                })?;
        if hash_algo.is_some_and(|h| h != alg.digest()) {
            return Err(CscError::request(
                "The hash algorithm does not match signAlgo",
            ));
        }
        if hashes.iter().any(|h| h.len() != alg.digest().output_len()) {
            return Err(CscError::request(
                "Invalid parameter hash: length does not match the hash algorithm",
            ));
        }
        let now = Instant::now();
        let key_hash = sha256(sad.expose().as_bytes());
        // Take the authorized hashes (all or nothing) under the lock; sign outside it.
        let (key, done) =
            {
                let mut sads = self
                    .sads
                    .lock()
                    .map_err(|_| CscError::server("state lock"))?;
                let invalid_sad = || CscError::request("Invalid parameter SAD");
                let entry = sads.get_mut(&key_hash).ok_or_else(invalid_sad)?;
                if entry.expires <= now {
                    sads.remove(&key_hash);
                    return Err(CscError::request("The SAD has expired"));
                }
                if entry.user != user || entry.credential != c.id {
                    return Err(invalid_sad());
                }
                if entry.digest.is_some_and(|d| d != alg.digest()) {
                    return Err(CscError::request(
                        "The hash algorithm is not the one authorized",
                    ));
                }
                let mut remaining = entry.remaining.clone();
                for h in &hashes {
                    match remaining.iter().position(|r| r == h) {
                        Some(i) => {
                            remaining.swap_remove(i);
                        }
                        None => return Err(CscError::request(
                            "Invalid parameter hash: not authorized by the SAD (or already signed)",
                        )),
                    }
                }
                entry.remaining = remaining;
                let key = entry.key.clone();
                let done = entry.remaining.is_empty();
                if done {
                    sads.remove(&key_hash);
                }
                (key, done)
            };
        let mut signatures = Vec::with_capacity(hashes.len());
        for h in &hashes {
            let sig = key
                .sign_digest(alg, h)
                .map_err(|_| CscError::request("Signing failed: signAlgo does not fit the key"))?;
            signatures.push(STANDARD.encode(sig));
        }
        drop(key);
        eprintln!(
            "csc audit: signHash user={user} credential={} hashes={}{}",
            c.id,
            hashes.len(),
            if done { " (authorization used up)" } else { "" }
        );
        Ok(json!({ "signatures": signatures }))
    }

    /// Answer one request (blocking: PBKDF2, PKCS#12 decryption and signing happen here).
    fn handle(
        &self,
        version: Version,
        method: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Response, CscError> {
        let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
        match method {
            "info" => ok(self.info(version, body)?),
            "auth/login" => ok(self.login(authorization, body)?),
            "auth/revoke" => {
                let user = self.bearer(authorization)?;
                self.revoke(&user, authorization, body)?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            "credentials/list" => ok(self.list(&self.bearer(authorization)?, body)?),
            "credentials/info" => {
                ok(self.credential_info(version, &self.bearer(authorization)?, body)?)
            }
            "credentials/authorize" => {
                ok(self.authorize(version, &self.bearer(authorization)?, body)?)
            }
            "signatures/signHash" => {
                ok(self.sign_hash(version, &self.bearer(authorization)?, body)?)
            }
            _ => Err(CscError {
                status: StatusCode::NOT_FOUND,
                error: "invalid_request",
                description: "Unknown method".to_owned(),
            }),
        }
    }
}

/// How long `who` stays blocked, if blocked.
fn blocked(map: &Mutex<HashMap<String, Failures>>, who: &str, now: Instant) -> Option<Duration> {
    let map = map.lock().ok()?;
    let until = map.get(who)?.blocked_until?;
    (until > now).then(|| until - now)
}

/// Count a failure; true when it blocks `who`.
fn fail(
    map: &Mutex<HashMap<String, Failures>>,
    who: &str,
    max: u32,
    block: Duration,
    now: Instant,
) -> bool {
    let Ok(mut map) = map.lock() else {
        return false;
    };
    if map.len() >= MAX_TRACKED && !map.contains_key(who) {
        map.retain(|_, f| f.blocked_until.is_some_and(|u| u > now));
        if map.len() >= MAX_TRACKED {
            return false;
        }
    }
    let f = map.entry(who.to_owned()).or_default();
    if f.blocked_until.is_some_and(|u| u <= now) {
        *f = Failures::default();
    }
    f.count = f.count.saturating_add(1);
    if f.count >= max {
        f.blocked_until = Some(now + block);
        f.count = 0;
        true
    } else {
        false
    }
}

fn reset(map: &Mutex<HashMap<String, Failures>>, who: &str) {
    if let Ok(mut map) = map.lock() {
        map.remove(who);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

async fn csc(
    State(s): State<Arc<CscService>>,
    UrlPath((version, method)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let version = match version.as_str() {
        "v1" => Version::V1,
        "v2" => Version::V2,
        _ => {
            return CscError {
                status: StatusCode::NOT_FOUND,
                error: "invalid_request",
                description: "Unknown API version".to_owned(),
            }
            .into_response()
        }
    };
    // A declared length over the cap is refused before reading anything; an undeclared
    // (chunked) body is read up to the cap.
    let too_large =
        || CscError::request(format!("The request body is larger than {MAX_BODY} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large().into_response();
    }
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => zeroize::Zeroizing::new(b.to_vec()),
        Err(_) => return too_large().into_response(),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| zeroize::Zeroizing::new(v.to_owned()));
    let answer = tokio::task::spawn_blocking(move || {
        s.handle(
            version,
            &method,
            authorization.as_ref().map(|a| a.as_str()),
            &body,
        )
    })
    .await;
    match answer {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(_) => CscError::server("internal error").into_response(),
    }
}

/// The CSC router (mountable inside a larger server).
pub fn router(service: Arc<CscService>) -> Router {
    Router::new()
        .route("/csc/{version}/{*method}", post(csc))
        .with_state(service)
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

    #[test]
    fn failures_block_after_the_limit_and_the_block_expires() {
        let m = Mutex::new(HashMap::new());
        let t0 = Instant::now();
        let block = Duration::from_secs(60);
        assert!(!fail(&m, "c", 3, block, t0));
        assert!(!fail(&m, "c", 3, block, t0));
        assert!(blocked(&m, "c", t0).is_none());
        assert!(fail(&m, "c", 3, block, t0));
        assert!(blocked(&m, "c", t0).is_some());
        assert!(blocked(&m, "c", t0 + Duration::from_secs(61)).is_none());
        assert!(blocked(&m, "other", t0).is_none());
    }

    #[test]
    fn hash_lists_use_the_versions_field_names() {
        let h = STANDARD.encode([7u8; 32]);
        assert!(hash_list(Version::V1, Some(vec![h.clone()]), None).is_ok());
        assert!(hash_list(Version::V2, None, Some(vec![h.clone()])).is_ok());
        assert!(hash_list(Version::V2, Some(vec![h.clone()]), None).is_err());
        assert!(hash_list(Version::V1, None, Some(vec![h])).is_err());
        assert!(hash_list(Version::V2, None, Some(vec![STANDARD.encode([1u8; 20])])).is_err());
    }

    #[test]
    fn unknown_fields_are_refused_and_values_not_echoed() {
        let e = parse_required::<AuthorizeRequest>(
            br#"{"credentialID":"a","numSignatures":1,"PIN":"123456","bogus":1}"#,
        )
        .unwrap_err();
        assert_eq!(e.error, "invalid_request");
        assert!(e.description.contains("bogus"), "{}", e.description);
        for body in [
            &br#"{"credentialID":"a","numSignatures":"s3cr3t-value"}"#[..],
            br#"{"credentialID":"a","numSignatures":1,"PIN":987654}"#,
        ] {
            let e = parse_required::<AuthorizeRequest>(body).unwrap_err();
            assert!(!e.description.contains("s3cr3t"), "{}", e.description);
            assert!(!e.description.contains("987654"), "{}", e.description);
        }
    }
}
