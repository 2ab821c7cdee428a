//! The signing agent (`kyso agent`): the signing service on the official's own computer that a web page drives to
//! sign with the user's key (a USB token, or a PKCS#12 file).
//!
//! Two faces, on 127.0.0.1 only:
//! - the **VGCA Sign Service protocol** that Vietnamese document systems already speak: one
//!   WebSocket per operation at `ws://127.0.0.1:PORT/<Operation>` (`SignApproved`,
//!   `SignIssued`, `SignAppendix`, `SignCopy`, `SignIncome`, `SignPDF`, `VerifyPDF`,
//!   `GetCertInfo`, `GetVersion`), one JSON request in, one JSON reply out. For a signing
//!   operation the agent downloads `FileName` (with `JWTToken` as a bearer token and
//!   `SessionId` as a cookie), asks the user to confirm, signs in the Decree 30 form the
//!   operation names, and POSTs the signed PDF as the multipart field `uploadfile` to
//!   `FileUploadHandler`; the reply carries `Status` (0 done, 1 error, 11 cancelled by the
//!   user), `Message`, `FileName`, `FileServer`, `DocumentNumber`, `DocumentDate`.
//! - a plain JSON API for kyso's own web UI: `GET /api/certificates`, and `POST /api/sign`
//!   with CMS signed attributes prepared by the server (two-phase signing), answered with the
//!   signature value.
//!
//! Guards: only listed web origins may call (the `Origin` header, checked before the
//! WebSocket upgrade and on every API call); a token bucket limits requests; every signature
//! needs the user's confirmation — the PIN (or PKCS#12 password) typed at the agent's
//! terminal after the request is shown there. Lines typed before a request arrives are
//! discarded, so nothing can be confirmed in advance. The key is opened for that one signature
//! and closed again; the PIN is zeroized. Secrets (PINs, `JWTToken`, `SessionId`, URL query
//! strings that may hold one-time tokens) never reach the log.

//!
//! Documents are downloaded into memory (at most 100 MB), signed there at the configured PAdES
//! level ([`SigningLevel`]: B-B by default; B-T, B-LT, B-LTA with `kyso_pades::ltv`'s
//! `sign_at_level`, the signature timestamp, DSS and document timestamp in the same signed
//! bytes) and uploaded from memory: no temporary file.
//!
//! Modules: [`protocol`] (the VGCA requests, parsed and checked without a key or a user: the
//! fuzz target `agent_messages`), [`confirm`] (the user's confirmation at the terminal),
//! `signing` (download, sign in the operation's Decree 30 form at the configured level,
//! upload; VerifyPDF), `server` (the router, the origin and peer guards, the WebSocket and JSON
//! API handlers).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use kyso_cms::Signer;
use kyso_i18n::{ue, Lang, UserError};
use kyso_keys::Secret;
use kyso_ltv::fetch::Fetch;
use kyso_pades::ltv::Level;
use kyso_pades::sign::Timestamper;
use kyso_x509::path::TrustStore;
use kyso_x509::Cert;
use time::OffsetDateTime;

pub mod confirm;
#[cfg(test)]
mod level_tests;
pub mod protocol;
mod server;
mod signing;

pub use confirm::{Confirmer, Console};
pub use server::router;

/// Largest request message (a WebSocket request or an API body).
const MAX_REQUEST: usize = 64 * 1024;
/// Largest document downloaded for signing or verifying.
const MAX_DOCUMENT: u64 = 100 * 1024 * 1024;
/// Largest reply read from the document server's upload handler.
const MAX_UPLOAD_REPLY: u64 = 64 * 1024;
/// How long a browser may take to send its request after connecting.
const REQUEST_WAIT: Duration = Duration::from_secs(30);

/// The user's key as the agent uses it: opened for one confirmed signature with what the user
/// typed, and named in prompts. The binary implements it over its key options.
pub trait KeyOpener: Send + Sync {
    /// A short description of the key for prompts and logs (no secrets).
    fn describe(&self) -> String;
    /// Open the key with the PIN or password the user typed, its chain attached.
    fn open(&self, secret: &Secret, now: OffsetDateTime) -> Result<Box<dyn Signer>, UserError>;
}

/// The trust anchors for `VerifyPDF`, read when a request needs them.
pub type TrustSource = Arc<dyn Fn() -> Result<TrustStore, UserError> + Send + Sync>;

/// Everything the agent is started with (built by the binary from its command line).
pub struct AgentConfig {
    pub key: Arc<dyn KeyOpener>,
    /// The signer's certificate and chain, read at start.
    pub cert: Cert,
    pub chain: Vec<Cert>,
    /// Allowed web origins, as [`normalize_origin`] writes them.
    pub origins: Vec<String>,
    /// The personal signature image (PNG) for SignApproved, and the title line it goes under.
    pub signature_image: Option<Vec<u8>>,
    pub anchor: Option<String>,
    /// The seal image (PNG) for SignIssued.
    pub seal_image: Option<Vec<u8>>,
    pub trust: TrustSource,
    pub rate_per_minute: u32,
    /// Timeout of downloads and uploads.
    pub fetch_timeout: Duration,
    pub confirmer: Box<dyn Confirmer>,
    pub lang: Lang,
    pub now: fn() -> OffsetDateTime,
    /// Where the log lines go (`tracing` when `None`; the binary shows them on its terminal).
    pub log: Option<LogSink>,
    /// The PAdES level the agent signs at, and the services it needs (B-B by default).
    pub level: SigningLevel,
}

/// The PAdES level of the agent's signatures and the network reached for it.
#[derive(Clone, Default)]
pub struct SigningLevel {
    /// B-B (the default), B-T, B-LT or B-LTA.
    pub level: Level,
    /// The time-stamping service, needed from B-T up (`kyso_ltv::tsp::HttpTsa`).
    pub tsa: Option<Arc<dyn Timestamper>>,
    /// OCSP responders, CRLs and caIssuers, needed from B-LT up (a
    /// `kyso_ltv::fetch::CachingFetcher` the agent keeps); `VerifyPDF` also uses it.
    pub fetcher: Option<Arc<dyn Fetch>>,
}

impl std::fmt::Debug for SigningLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningLevel")
            .field("level", &self.level)
            .field("tsa", &self.tsa.is_some())
            .field("fetcher", &self.fetcher.is_some())
            .finish()
    }
}

impl SigningLevel {
    /// Refuse a level without the services it needs (at start, not at the first document).
    pub fn check(&self) -> Result<(), UserError> {
        let name = self.level.name();
        if self.level >= Level::BT && self.tsa.is_none() {
            return Err(
                ue!("mức {} cần dịch vụ cấp dấu thời gian (TSA)", name; "level {} needs a time-stamping service (TSA)", name)
                .usage(),
            );
        }
        if self.level >= Level::BLt && self.fetcher.is_none() {
            return Err(
                ue!("mức {} cần lấy được OCSP/CRL qua mạng", name; "level {} needs to fetch OCSP responses and CRLs", name)
                .usage(),
            );
        }
        Ok(())
    }
}

/// Where a service's log lines go.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("key", &self.key.describe())
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// The agent's state, shared by all connections.
pub struct Agent {
    key: Arc<dyn KeyOpener>,
    cert: Cert,
    chain: Vec<Cert>,
    origins: Vec<String>,
    signature_image: Option<Vec<u8>>,
    anchor: Option<String>,
    seal_image: Option<Vec<u8>>,
    trust: TrustSource,
    limiter: Mutex<Bucket>,
    console: Box<dyn Confirmer>,
    /// Held from a request's confirmation until its key is closed.
    signing: Mutex<()>,
    http: ureq::Agent,
    lang: Lang,
    now: fn() -> OffsetDateTime,
    log: LogSink,
    level: SigningLevel,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("key", &self.key.describe())
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Agent {
    pub fn new(config: AgentConfig) -> Self {
        let timeout = config
            .fetch_timeout
            .clamp(Duration::from_secs(1), Duration::from_secs(600));
        let http: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("kyso-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Agent {
            key: config.key,
            cert: config.cert,
            chain: config.chain,
            origins: config.origins,
            signature_image: config.signature_image,
            anchor: config.anchor,
            seal_image: config.seal_image,
            trust: config.trust,
            limiter: Mutex::new(Bucket::new(config.rate_per_minute)),
            console: config.confirmer,
            signing: Mutex::new(()),
            http,
            lang: config.lang,
            now: config.now,
            log: config.log.unwrap_or_else(|| {
                Arc::new(|line: &str| tracing::info!(target: "kyso::agent", "{line}"))
            }),
            level: config.level,
        }
    }

    /// The signer's certificate.
    pub fn certificate(&self) -> &Cert {
        &self.cert
    }

    /// The allowed origins.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// The PAdES level the agent signs at.
    pub fn level(&self) -> Level {
        self.level.level
    }
}

/// A token bucket: `per_minute` requests a minute, bursts up to a third of that (at least 3).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        let capacity = (per_minute / 3.0).floor().max(3.0);
        Bucket {
            tokens: capacity,
            capacity,
            per_second: per_minute / 60.0,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Agent {
    /// The caller's origin when it is allowed.
    fn allowed_origin(&self, headers: &HeaderMap) -> Option<String> {
        let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
        let origin = normalize_origin(origin).ok()?;
        self.origins.contains(&origin).then_some(origin)
    }

    fn rate_ok(&self) -> bool {
        self.limiter.lock().map(|mut b| b.take()).unwrap_or(false)
    }

    fn msg<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(vi, en)
    }

    /// Ask the user; open the key with what they typed. `Ok(None)`: the user refused.
    ///
    /// One request at a time, from confirmation until the key is closed: a PKCS#11 token is
    /// logged in per application, so a second login while a first key is open would succeed
    /// whatever PIN was typed.
    fn confirm_and_open(
        &self,
        request: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Opened<'_>>, UserError> {
        let one_at_a_time = self
            .signing
            .lock()
            .map_err(|_| ue!("lỗi nội bộ của dịch vụ ký"; "internal error of the agent"))?;
        let prompt = match self.lang {
            Lang::Vi => format!(
                "Nhập mã PIN ({}) để ký, hoặc Enter để từ chối: ",
                self.key.describe()
            ),
            Lang::En => format!(
                "Type the PIN ({}) to sign, or Enter to refuse: ",
                self.key.describe()
            ),
        };
        let Some(pin) = self.console.confirm(request, &prompt) else {
            return Ok(None);
        };
        let signer = self.key.open(&pin, now)?;
        drop(pin);
        if signer.certificate().der() != self.cert.der() {
            return Err(
                ue!("khóa ký đã thay đổi từ khi dịch vụ khởi động; hãy khởi động lại dịch vụ ký"; "the signing key changed since the agent started; restart the agent"),
            );
        }
        Ok(Some(Opened {
            signer,
            _one_at_a_time: one_at_a_time,
        }))
    }
}

/// A key opened for one confirmed request; no other request is confirmed until it is dropped.
struct Opened<'a> {
    signer: Box<dyn Signer>,
    _one_at_a_time: std::sync::MutexGuard<'a, ()>,
}

impl Agent {
    /// One line of the agent's log (never a PIN, token, session id or URL query).
    fn log(&self, line: &str) {
        (self.log)(line);
    }
}

/// A URL for the log: scheme, host and path, never the query (one-time tokens live there).
fn loggable_url(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or("")
}

/// `scheme://host[:port]`, lower-case, without a trailing slash.
pub fn normalize_origin(o: &str) -> Result<String, UserError> {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    let ok = (o.starts_with("http://") || o.starts_with("https://"))
        && !o
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains('/') || rest.is_empty());
    if ok {
        Ok(o)
    } else {
        Err(
            ue!("nguồn web không hợp lệ: {} (dạng https://tên-miền[:cổng])", o; "invalid web origin: {} (https://host[:port])", o),
        )
    }
}

/// The addresses the agent's help names, and no others: 127.0.0.1 and ::1 (not the rest of
/// 127.0.0.0/8, which `is_loopback` accepts).
pub fn is_local_address(ip: std::net::IpAddr) -> bool {
    ip == std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        || ip == std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_paths_refused() {
        assert_eq!(
            normalize_origin("HTTPS://VanBan.Demo.gov.vn/")
                .ok()
                .as_deref(),
            Some("https://vanban.demo.gov.vn")
        );
        assert!(normalize_origin("https://a.vn/path").is_err());
        assert!(normalize_origin("file://x").is_err());
        assert!(normalize_origin("https://").is_err());
    }

    #[test]
    fn the_bucket_allows_a_burst_then_refuses() {
        let mut b = Bucket::new(30);
        let allowed = (0..20).filter(|_| b.take()).count();
        assert_eq!(allowed, 10);
        let mut b = Bucket::new(3);
        assert_eq!((0..5).filter(|_| b.take()).count(), 3);
    }

    #[test]
    fn urls_are_logged_without_their_query() {
        assert_eq!(
            loggable_url("http://h/files/src?token=SECRET#x"),
            "http://h/files/src"
        );
        assert_eq!(
            protocol::file_label("http://h/files/Cong van 12.pdf?token=1"),
            "Congvan12.pdf"
        );
        assert_eq!(
            protocol::file_label("http://h/download?id=5"),
            "download.pdf"
        );
    }
}
