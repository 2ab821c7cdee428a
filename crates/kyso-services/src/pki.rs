//! The demo PKI's services over HTTP (`kyso pki serve`): an RFC 3161 TSA at `/tsa`, an RFC 6960
//! OCSP responder at `/ocsp` (POST, and GET `/ocsp/{base64}`), CRLs at `/crl/root.crl` and
//! `/crl/intermediate.crl`, and the CA certificates at `/certs/root.cer` and
//! `/certs/intermediate.cer` — the URLs `kyso pki init` writes into the certificates.
//!
//! [`router`] returns the `axum::Router`, so that `kyso serve` can mount the same endpoints.
//! Signing is CPU-bound: it runs on tokio's blocking pool, never on the reactor threads.
//!
//! Who signs what:
//! - tokens: the `tsa` certificate (critical timeStamping EKU);
//! - OCSP about end entities (issued by the intermediate): the delegated `ocsp` certificate
//!   (OCSPSigning EKU, id-pkix-ocsp-nocheck), sent in `certs`;
//! - OCSP about the intermediate (issued by the root): the root key itself. A CA is always an
//!   authorized responder for its own certificates (RFC 6960 §4.2.2.2), so no second delegated
//!   certificate is needed and the demo PKI stays as `init` made it; these answers are rare
//!   (the intermediate carries no AIA OCSP URL, relying parties use the root CRL) and cached.
//! - CRLs: the issuing CA.
//!
//! Revocations come from `revocations.json` (see `kyso_pki::revocation`), re-read whenever its
//! modification time or size changes, so `kyso pki revoke` takes effect without a restart.
//! Responses are cached until the state changes or half their validity has passed: CRLs, and
//! OCSP responses to requests without a nonce (RFC 6960 §2.2 and RFC 5019 allow pre-produced
//! responses); a request with a nonce always gets a freshly signed answer echoing it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kyso_cms::Signer;
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_ltv::asn1::OcspResponseStatus;
use kyso_ltv::responder::{self, Authority, Status};
use kyso_ltv::tsa::{self, SerialCounter, TsaSettings};
use kyso_pki::revocation::{self, Reason, RevocationState};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::CrlReason;

/// Largest request body accepted (TSA and OCSP requests are a few hundred bytes).
pub const MAX_BODY: usize = 64 * 1024;
/// `nextUpdate − thisUpdate` of OCSP responses.
const OCSP_VALIDITY: Duration = Duration::hours(1);
/// `nextUpdate − thisUpdate` of CRLs.
const CRL_VALIDITY: Duration = Duration::days(1);
/// Most cached OCSP responses (one per distinct nonce-less request).
const OCSP_CACHE_MAX: usize = 4096;

/// What can go wrong loading the services.
#[derive(Debug)]
pub enum LoadError {
    /// `index.json` or `revocations.json` cannot be read.
    Pki(kyso_pki::Error),
    /// A PKCS#12 file cannot be read or opened.
    Key {
        name: String,
        error: kyso_keys::Error,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The PKI lacks a certificate the services need.
    Missing(&'static str),
}

/// The revocation state as last read, and a counter that changes whenever it does.
struct Snapshot {
    state: RevocationState,
    stamp: Option<(SystemTime, u64)>,
    generation: u64,
}

struct Cached {
    der: Arc<Vec<u8>>,
    generation: u64,
    refresh_at: OffsetDateTime,
}

/// Everything the handlers share.
pub struct PkiServices {
    dir: PathBuf,
    root: Pkcs12Signer,
    intermediate: Pkcs12Signer,
    tsa: Pkcs12Signer,
    ocsp: Pkcs12Signer,
    /// Serials (normalized hex) each CA issued: "root" → {intermediate}, "intermediate" → the rest.
    issued: HashMap<&'static str, HashSet<String>>,
    snapshot: RwLock<Snapshot>,
    tsa_serials: SerialCounter,
    tsa_settings: TsaSettings,
    ocsp_cache: Mutex<HashMap<Vec<u8>, Cached>>,
    crl_cache: Mutex<HashMap<&'static str, Cached>>,
    now: fn() -> OffsetDateTime,
}

impl std::fmt::Debug for PkiServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkiServices")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn load_signer(dir: &Path, name: &str, password: &Secret) -> Result<Pkcs12Signer, LoadError> {
    let path = dir.join(format!("{name}.p12"));
    let data = std::fs::read(&path).map_err(|error| LoadError::Io { path, error })?;
    Pkcs12Signer::from_pkcs12(&data, password).map_err(|error| LoadError::Key {
        name: name.to_owned(),
        error,
    })
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl PkiServices {
    /// Open the demo PKI in `dir` (its keys with `password`).
    pub fn load(
        dir: &Path,
        password: &Secret,
        now: fn() -> OffsetDateTime,
    ) -> Result<Self, LoadError> {
        let index = revocation::read_index(dir).map_err(LoadError::Pki)?;
        let mut issued: HashMap<&'static str, HashSet<String>> = HashMap::new();
        for e in &index.entities {
            if let (Some(ca), Some(serial)) = (
                revocation::issuer_of(e.kind),
                revocation::normalize_serial(&e.serial),
            ) {
                issued.entry(ca).or_default().insert(serial);
            }
        }
        for (kind, what) in [
            (kyso_pki::demo::Kind::Tsa, "tsa"),
            (kyso_pki::demo::Kind::Ocsp, "ocsp"),
        ] {
            if !index.entities.iter().any(|e| e.kind == kind) {
                return Err(LoadError::Missing(what));
            }
        }
        let state = RevocationState::load(dir).map_err(LoadError::Pki)?;
        let stamp = file_stamp(&RevocationState::path(dir));
        Ok(PkiServices {
            dir: dir.to_path_buf(),
            root: load_signer(dir, "root", password)?,
            intermediate: load_signer(dir, "intermediate", password)?,
            tsa: load_signer(dir, "tsa", password)?,
            ocsp: load_signer(dir, "ocsp", password)?,
            issued,
            snapshot: RwLock::new(Snapshot {
                state,
                stamp,
                generation: 0,
            }),
            tsa_serials: SerialCounter::default(),
            tsa_settings: TsaSettings::default(),
            ocsp_cache: Mutex::new(HashMap::new()),
            crl_cache: Mutex::new(HashMap::new()),
            now,
        })
    }

    /// Re-read `revocations.json` if it changed since last time; the current generation.
    fn refresh(&self) -> u64 {
        let path = RevocationState::path(&self.dir);
        let stamp = file_stamp(&path);
        let current = match self.snapshot.read() {
            Ok(s) if s.stamp == stamp => return s.generation,
            Ok(s) => s.generation,
            Err(_) => 0,
        };
        // A state file that cannot be read keeps the last good state (and says so).
        let state = match RevocationState::load(&self.dir) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("kyso pki serve: {e}");
                return current;
            }
        };
        match self.snapshot.write() {
            Ok(mut s) => {
                if s.state != state {
                    s.generation = s.generation.wrapping_add(1);
                    s.state = state;
                }
                s.stamp = stamp;
                s.generation
            }
            Err(_) => current,
        }
    }

    fn ca_signer(&self, ca: &str) -> &Pkcs12Signer {
        if ca == "root" {
            &self.root
        } else {
            &self.intermediate
        }
    }

    /// The status of the certificate `serial` (INTEGER octets) issued by `ca`.
    fn status(&self, ca: &str, serial: &[u8]) -> Status {
        let hex = revocation::serial_hex(serial);
        if !self.issued.get(ca).is_some_and(|s| s.contains(&hex)) {
            return Status::Unknown;
        }
        let Ok(snap) = self.snapshot.read() else {
            return Status::Unknown;
        };
        match snap.state.find(ca, &hex) {
            Some(r) => Status::Revoked {
                time: r.time().unwrap_or(OffsetDateTime::UNIX_EPOCH),
                reason: Some(crl_reason(r.reason)),
            },
            None => Status::Good,
        }
    }

    /// A `TimeStampResp` for the DER request `body`.
    pub fn timestamp(&self, body: &[u8]) -> Vec<u8> {
        let now = (self.now)();
        let serial = self.tsa_serials.next(now);
        tsa::respond(body, &self.tsa, serial, now, &self.tsa_settings).unwrap_or_default()
    }

    /// An `OCSPResponse` for the DER request `body`.
    pub fn ocsp(&self, body: &[u8]) -> Arc<Vec<u8>> {
        let malformed = || {
            Arc::new(
                responder::error_response(OcspResponseStatus::MalformedRequest).unwrap_or_default(),
            )
        };
        let internal = || {
            Arc::new(
                responder::error_response(OcspResponseStatus::InternalError).unwrap_or_default(),
            )
        };
        let Some(req) = responder::parse_request(body) else {
            return malformed();
        };
        let generation = self.refresh();
        let now = (self.now)();
        // Cache key: the CertIDs asked about (only for requests without a nonce).
        let key = if req.nonce.is_none() {
            let mut k = Vec::new();
            for id in &req.cert_ids {
                match der::Encode::encode_to_vec(id, &mut k) {
                    Ok(_) => {}
                    Err(_) => return malformed(),
                }
            }
            Some(k)
        } else {
            None
        };
        if let Some(k) = &key {
            if let Ok(cache) = self.ocsp_cache.lock() {
                if let Some(c) = cache.get(k) {
                    if c.generation == generation && now < c.refresh_at {
                        return c.der.clone();
                    }
                }
            }
        }
        // The intermediate's certificates: the delegated responder; the root's: the root.
        let (Ok(by_delegate), Ok(by_root)) = (
            Authority::new(self.intermediate.certificate(), &self.ocsp),
            Authority::new(self.root.certificate(), &self.root),
        ) else {
            return internal();
        };
        let authorities = [by_delegate, by_root];
        let names = ["intermediate", "root"];
        let Some((index, authority)) = responder::authority_for(&authorities, &req) else {
            return internal();
        };
        let ca = names.get(index).copied().unwrap_or("intermediate");
        let der = match responder::sign_response(
            authority,
            &req,
            &|serial| self.status(ca, serial),
            now,
            OCSP_VALIDITY,
        ) {
            Ok(d) => Arc::new(d),
            Err(_) => return internal(),
        };
        if let Some(k) = key {
            if let Ok(mut cache) = self.ocsp_cache.lock() {
                if cache.len() >= OCSP_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(
                    k,
                    Cached {
                        der: der.clone(),
                        generation,
                        refresh_at: now + OCSP_VALIDITY / 2,
                    },
                );
            }
        }
        der
    }

    /// The current CRL of `ca` ("root" or "intermediate").
    pub fn crl(&self, ca: &'static str) -> Option<Arc<Vec<u8>>> {
        let generation = self.refresh();
        let now = (self.now)();
        // Held while signing: one CRL per change, not one per concurrent request.
        let mut cache = self.crl_cache.lock().ok()?;
        if let Some(c) = cache.get(ca) {
            if c.generation == generation && now < c.refresh_at {
                return Some(c.der.clone());
            }
        }
        let (number, entries) = {
            let snap = self.snapshot.read().ok()?;
            let entries: Vec<_> = snap
                .state
                .issued_by(ca)
                .map(|r| kyso_ltv::crl_issue::Entry {
                    serial: hex_bytes(&r.serial),
                    time: r.time().unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    reason: Some(crl_reason(r.reason)),
                })
                .collect();
            (snap.state.crl_number(ca), entries)
        };
        let der = Arc::new(
            kyso_ltv::crl_issue::issue(self.ca_signer(ca), number, &entries, now, CRL_VALIDITY)
                .ok()?,
        );
        cache.insert(
            ca,
            Cached {
                der: der.clone(),
                generation,
                refresh_at: now + CRL_VALIDITY / 2,
            },
        );
        Some(der)
    }

    /// The DER certificate of `ca`.
    pub fn ca_cert(&self, ca: &str) -> &[u8] {
        self.ca_signer(ca).certificate().der()
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

fn crl_reason(r: Reason) -> CrlReason {
    match r {
        Reason::KeyCompromise => CrlReason::KeyCompromise,
        Reason::CaCompromise => CrlReason::CaCompromise,
        Reason::AffiliationChanged => CrlReason::AffiliationChanged,
        Reason::Superseded => CrlReason::Superseded,
        Reason::CessationOfOperation => CrlReason::CessationOfOperation,
        Reason::CertificateHold => CrlReason::CertificateHold,
    }
}

fn der_response(content_type: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn unavailable() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "signing failed\n").into_response()
}

/// Run CPU-bound work (signing) on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn tsa_post(State(s): State<Arc<PkiServices>>, body: Bytes) -> Response {
    match blocking(move || s.timestamp(&body)).await {
        Some(der) if !der.is_empty() => der_response("application/timestamp-reply", der),
        _ => unavailable(),
    }
}

async fn ocsp_der(s: Arc<PkiServices>, body: Vec<u8>) -> Response {
    match blocking(move || s.ocsp(&body)).await {
        Some(der) if !der.is_empty() => {
            der_response("application/ocsp-response", der.as_ref().clone())
        }
        _ => unavailable(),
    }
}

async fn ocsp_post(State(s): State<Arc<PkiServices>>, body: Bytes) -> Response {
    ocsp_der(s, body.to_vec()).await
}

async fn ocsp_get(State(s): State<Arc<PkiServices>>, UrlPath(b64): UrlPath<String>) -> Response {
    use base64::Engine;
    // The path is percent-decoded by axum; accept standard and URL-safe alphabets.
    let text: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&text))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&text));
    match decoded {
        Ok(der) if der.len() <= MAX_BODY => ocsp_der(s, der).await,
        _ => der_response(
            "application/ocsp-response",
            responder::error_response(OcspResponseStatus::MalformedRequest).unwrap_or_default(),
        ),
    }
}

async fn crl_get(s: Arc<PkiServices>, ca: &'static str) -> Response {
    match blocking(move || s.crl(ca)).await.flatten() {
        Some(der) => der_response("application/pkix-crl", der.as_ref().clone()),
        None => unavailable(),
    }
}

/// The router of the PKI services (mountable inside a larger server).
pub fn router(services: Arc<PkiServices>) -> Router {
    Router::new()
        .route("/tsa", post(tsa_post))
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .route(
            "/crl/root.crl",
            get(|State(s): State<Arc<PkiServices>>| crl_get(s, "root")),
        )
        .route(
            "/crl/intermediate.crl",
            get(|State(s): State<Arc<PkiServices>>| crl_get(s, "intermediate")),
        )
        .route(
            "/certs/root.cer",
            get(|State(s): State<Arc<PkiServices>>| async move {
                der_response("application/pkix-cert", s.ca_cert("root").to_vec())
            }),
        )
        .route(
            "/certs/intermediate.cer",
            get(|State(s): State<Arc<PkiServices>>| async move {
                der_response("application/pkix-cert", s.ca_cert("intermediate").to_vec())
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(crate::trace::requests))
        .with_state(services)
}
