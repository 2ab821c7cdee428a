#![recursion_limit = "512"]
#![doc = include_str!("../README.md")]

mod agent_files;
mod api;
pub mod archive;
mod auth;
mod csv_api;
pub mod documents;
mod extract_copies;
mod incoming;
mod incoming_copies;
mod incoming_edxml;
mod letters;
pub mod mailer;
pub mod metrics;
mod multipart;
mod notices_api;
mod observability;
mod openapi;
pub mod proxy;
mod rate_limit;
pub mod remote_sign;
mod report_documents;
pub mod server;
mod sessions_api;
pub mod status_mail;
mod ui;
mod verifier;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use kyso_store::Store;
use time::OffsetDateTime;

pub use auth::{Auth, Lang};
pub use letters::{OrgKey, OrgKeys};
pub use metrics::{metrics_router, Metrics};
pub use observability::REQUEST_ID;
pub use proxy::{Cidr, TrustedProxies};
pub use rate_limit::{RateLimit, VerifyLimits};

/// The clock the server reads (the binary passes the real one; tests a fixed one).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Largest request body anywhere (certificate and CSV uploads).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;
/// Largest JSON body of the API.
pub const MAX_JSON: usize = 256 * 1024;
/// Largest document file the routes that take one accept (the drafts and the signed files
/// of the document page and of the API, the signing service's upload): the store's largest
/// version. A signed document at B-LTA with scanned pages is far above [`MAX_UPLOAD`]; these
/// routes carry their own body limit and read the body only once the caller is known.
pub const MAX_DOCUMENT_FILE: usize = kyso_store::documents::MAX_FILE;
/// Largest multipart body carrying a document file (the file and the form's small fields).
pub const MAX_DOCUMENT_BODY: usize = MAX_DOCUMENT_FILE + 64 * 1024;
/// Largest JSON body carrying a document file (base64: four bytes for every three).
pub const MAX_DOCUMENT_JSON: usize = MAX_DOCUMENT_FILE / 3 * 4 + 64 * 1024;
/// Default cap of a document streamed to `POST /api/v1/incoming` as the raw body
/// (`kyso serve --incoming-max-mb`): 256 MB.
pub const DEFAULT_INCOMING_MAX: u64 = 256 * 1024 * 1024;

/// Settings of the web faces.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` and send `Strict-Transport-Security` (served over TLS or behind
    /// a TLS proxy).
    pub secure_cookies: bool,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) config: Config,
    /// Where request letters are kept (none: letters cannot be made).
    pub(crate) blobs: Option<kyso_store::blobs::Blobs>,
    /// Organization keys the server signs request letters with, by agency code.
    pub(crate) org_keys: Arc<OrgKeys>,
    /// A failed audit log check, shown to auditors on every page.
    pub(crate) audit_alert: AuditAlert,
    /// The reverse proxies whose forwarding headers are believed.
    pub(crate) trusted_proxies: Arc<TrustedProxies>,
    /// Request counts and latencies, signatures made and verified, queue depths (`/metrics`).
    pub(crate) metrics: Metrics,
    /// The key of the one-time signing tickets the signing service on a user's computer
    /// downloads and uploads with (`agent_files`).
    pub(crate) ticket_key: Arc<agent_files::TicketKey>,
    /// The remote signing service over the CSC API (none: not offered).
    pub(crate) remote_signing: Option<Arc<kyso_services::remote_sign::RemoteSigning>>,
    /// The trust anchors the document pages verify signatures against (empty: no path to a
    /// trusted root is established, and the page says so).
    pub(crate) trust: Arc<kyso_x509::path::TrustStore>,
    /// The public verification service's rate per client and bounds on work in progress.
    pub(crate) verify_limits: VerifyLimits,
    /// The document page's reports of stored versions, reused while current.
    pub(crate) reports: Arc<verifier::ReportCache>,
    /// Largest document streamed to `POST /api/v1/incoming` (bytes).
    pub(crate) incoming_max: u64,
    /// This process among the nodes on the database: the holder named in job leases.
    pub(crate) node: Arc<str>,
}

/// The audit log check's verdict shown to auditors: `Some((Vietnamese, English))` when the
/// log was found tampered with; written by the server's periodic check.
pub type AuditAlert = Arc<std::sync::RwLock<Option<(String, String)>>>;

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// A name for this process among the nodes: the host, the process id and random digits.
fn node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kyso".into());
    let mut r = [0u8; 6];
    let _ = aws_lc_rs::rand::fill(&mut r);
    let r: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}-{}-{r}", std::process::id())
}

impl AppState {
    /// Whether this node runs job `job`'s round now: it takes (or renews) the job's lease for
    /// `hold`, which one node at a time holds across the database (`kyso_store::leases`). On a
    /// database error it does not (the round is skipped and logged).
    pub(crate) async fn leads(&self, job: &str, hold: std::time::Duration) -> bool {
        let now = self.now().unix_timestamp();
        let hold = i64::try_from(hold.as_secs()).unwrap_or(i64::MAX);
        match kyso_store::leases::take(&self.store, job, &self.node, now, hold).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::debug!(job, "another node holds the job's lease: round skipped");
                false
            }
            Err(e) => {
                tracing::error!(job, error = %e, "the job's lease could not be taken: round skipped");
                false
            }
        }
    }

    pub fn new(store: Store, clock: Clock, config: Config) -> Self {
        AppState {
            store,
            clock,
            config,
            blobs: None,
            org_keys: Arc::new(OrgKeys::new()),
            audit_alert: AuditAlert::default(),
            trusted_proxies: Arc::new(TrustedProxies::default()),
            metrics: Metrics::new(),
            ticket_key: Arc::new(agent_files::TicketKey::random()),
            remote_signing: None,
            trust: Arc::new(kyso_x509::path::TrustStore::new()),
            verify_limits: VerifyLimits::default(),
            reports: Arc::default(),
            incoming_max: DEFAULT_INCOMING_MAX,
            node: node_id().into(),
        }
    }

    /// Take documents streamed to `POST /api/v1/incoming` up to `bytes` (default
    /// [`DEFAULT_INCOMING_MAX`]).
    pub fn with_incoming_max(mut self, bytes: u64) -> Self {
        self.incoming_max = bytes;
        self
    }

    /// Offer signing flow steps with a remote key over the CSC API, through this service.
    pub fn with_remote_signing(mut self, r: kyso_services::remote_sign::RemoteSigning) -> Self {
        self.remote_signing = Some(Arc::new(r));
        self
    }

    /// Sign the one-time signing tickets with the key kept in `path` (made there at the first
    /// start); without it each process has its own key and its tickets end with it.
    pub fn with_ticket_key_file(mut self, path: &std::path::Path) -> std::io::Result<Self> {
        self.ticket_key = Arc::new(agent_files::TicketKey::load_or_create(path)?);
        Ok(self)
    }

    /// Believe `Forwarded` / `X-Forwarded-For` from these proxies (the client address of the
    /// audit log, the login throttle and the access log).
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Verify the documents' signatures against these trust anchors (`kyso serve`: the trust
    /// store `kyso verify` uses, and the demo PKI's root when there is one).
    pub fn with_trust_anchors(mut self, trust: kyso_x509::path::TrustStore) -> Self {
        // The registry accepts subscriber certificates from the same authorities.
        self.store.trust_issuers(&trust, &[]);
        self.trust = Arc::new(trust);
        // Reports made against other anchors are not this state's.
        self.reports = Arc::default();
        self
    }

    /// Limit the public verification service (`/kiem-tra`, `POST /api/v1/verify`) this way
    /// instead of [`VerifyLimits::default`].
    pub fn with_verify_limits(mut self, limits: VerifyLimits) -> Self {
        self.verify_limits = limits;
        self
    }

    /// The metrics served by [`metrics_router`] on the metrics listener.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Show this audit alert (set by the server's audit check) to auditors.
    pub fn with_audit_alert(mut self, alert: AuditAlert) -> Self {
        self.audit_alert = alert;
        self
    }

    /// Keep request letters in this blob folder.
    pub fn with_blobs(mut self, blobs: kyso_store::blobs::Blobs) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Sign request letters of these agencies with their organization keys.
    pub fn with_org_keys(mut self, keys: OrgKeys) -> Self {
        self.org_keys = Arc::new(keys);
        self
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }
}

/// The REST API, its OpenAPI document, the web UI and the health probes (`/healthz`: the
/// process answers; `/readyz`: the database and the blob folder too). Every request runs in a
/// span with its request id (answered in `x-request-id`) and leaves one access-log line.
pub fn router(state: AppState) -> Router {
    let hsts = state.config.secure_cookies;
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .merge(agent_files::routes())
        .route("/api/openapi.json", axum::routing::get(openapi::document))
        .route("/healthz", axum::routing::get(observability::healthz))
        .route("/readyz", axum::routing::get(observability::readyz))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(axum::middleware::map_response(
            move |res: Response| async move { security_headers(res, hsts) },
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observability::observe,
        ))
        .with_state(state)
}

fn security_headers(mut res: Response, hsts: bool) -> Response {
    let h = res.headers_mut();
    if hsts {
        // Served over TLS (`--secure-cookies`): browsers keep to HTTPS for a year, so a
        // network attacker cannot downgrade a later visit to plain HTTP.
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self' ws://127.0.0.1:* ws://localhost:* \
             wss://127.0.0.1:* wss://localhost:*; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// An API error: a stable code, the field at fault, the message in both languages. 5xx
/// bodies stay generic; the detail goes to the log.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub vi: String,
    pub en: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        field: Option<&'static str>,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            field,
            vi: vi.into(),
            en: en.into(),
        }
    }

    pub(crate) fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

impl From<kyso_store::Error> for ApiError {
    fn from(e: kyso_store::Error) -> Self {
        use kyso_store::Error as E;
        let (status, code) = match &e {
            E::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            E::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            E::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            E::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            E::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            E::LockedOut { .. } => (StatusCode::TOO_MANY_REQUESTS, "locked_out"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        ApiError {
            status,
            code,
            field: e.field(),
            vi: e.message(false),
            en: e.message(true),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The documented error body (`api::dto::ErrorBody`, the OpenAPI schema of every error).
        let body = api::dto::ErrorBody::from(&self);
        (self.status, axum::Json(body)).into_response()
    }
}
