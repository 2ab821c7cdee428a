//! Fetching OCSP responses, CRLs, CA certificates and timestamps: the [`Fetch`] trait (what
//! signing and validation need from the network), its HTTP implementation [`HttpFetcher`]
//! (timeouts, size cap, plain `http://` only) and [`CachingFetcher`], a bounded, thread-safe
//! cache around any [`Fetch`] that a long-lived server keeps (a CRL serves every certificate its
//! CA issued; an OCSP answer is good until its nextUpdate).

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
/// Limits of one fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Connecting and the whole exchange each (a slow responder is abandoned).
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(10),
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Why a fetch failed: what kind of failure (for callers to act on and to word for users)
/// and the library's own words (English).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{url}: {message}")]
pub struct FetchError {
    pub url: String,
    pub kind: FetchErrorKind,
    pub message: String,
}

/// The kinds of [`FetchError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made, or broke.
    Connect,
    /// The host name did not resolve.
    HostNotFound,
    /// The server answered with this HTTP status (not a success).
    Http(u16),
    /// The answer is larger than allowed.
    TooLarge,
    /// Not an `http://` URL (PKI services publish over plain HTTP).
    Scheme,
    /// Anything else (the message says what).
    Other,
}

/// What signing and validation need from the network: plain GETs (CRLs, CA certificates)
/// and POSTs (OCSP requests, timestamp queries). `*_cached` calls may be answered from a cache
/// while `still_good` accepts the earlier answer; by default they go to the network.
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// GET `url` (CRLs, certificates, OCSP GET).
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
    /// POST `body` to `url` with `content_type` (OCSP requests, timestamp queries).
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError>;
    /// A GET whose earlier answer may be reused while `still_good` accepts it.
    fn get_cached(
        &self,
        url: &str,
        still_good: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        let _ = still_good;
        self.get(url)
    }
    /// A POST (keyed by URL and body) whose earlier answer may be reused while `still_good`
    /// accepts it. Never used for timestamp queries (each carries its own nonce).
    fn post_cached(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        still_good: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        let _ = still_good;
        self.post(url, content_type, body)
    }
}

impl<F: Fetch + ?Sized> Fetch for Arc<F> {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        (**self).get(url)
    }
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        (**self).post(url, content_type, body)
    }
    fn get_cached(
        &self,
        url: &str,
        still_good: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        (**self).get_cached(url, still_good)
    }
    fn post_cached(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        still_good: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        (**self).post_cached(url, content_type, body, still_good)
    }
}

/// The HTTP client for PKI services (no cache of its own: wrap it in a [`CachingFetcher`]).
#[derive(Debug)]
pub struct HttpFetcher {
    agent: ureq::Agent,
    opts: FetchOptions,
}

impl HttpFetcher {
    pub fn new(opts: FetchOptions) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .timeout_connect(Some(opts.timeout))
            .http_status_as_error(false)
            .max_redirects(3)
            .user_agent("kyso")
            .build();
        HttpFetcher {
            agent: config.into(),
            opts,
        }
    }

    fn body(
        &self,
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, FetchError> {
        let err = |kind: FetchErrorKind, message: String| FetchError {
            url: url.to_owned(),
            kind,
            message,
        };
        let mut resp = resp.map_err(|e| {
            let (kind, message) = describe(&e);
            err(kind, message)
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(err(
                FetchErrorKind::Http(status.as_u16()),
                format!("HTTP {status}"),
            ));
        }
        let mut out = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(self.opts.max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| {
                let kind = match e.kind() {
                    std::io::ErrorKind::TimedOut => FetchErrorKind::Timeout,
                    _ => FetchErrorKind::Connect,
                };
                err(kind, format!("reading the answer: {e}"))
            })?;
        if out.len() as u64 > self.opts.max_bytes {
            return Err(err(
                FetchErrorKind::TooLarge,
                format!("the answer is larger than {} bytes", self.opts.max_bytes),
            ));
        }
        Ok(out)
    }
}

impl Fetch for HttpFetcher {
    #[tracing::instrument(level = "debug", skip_all, fields(url = %url))]
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        check_scheme(url)?;
        let resp = self.agent.get(url).call();
        self.body(url, resp)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(url = %url, content_type = %content_type))]
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        check_scheme(url)?;
        let resp = self
            .agent
            .post(url)
            .header("Content-Type", content_type)
            .send(body);
        self.body(url, resp)
    }
}

/// The HTTP client with an in-process cache: what the CLI uses for one run.
pub type Fetcher = CachingFetcher<HttpFetcher>;

impl CachingFetcher<HttpFetcher> {
    /// An HTTP client with a cache of the default size.
    pub fn new(opts: FetchOptions) -> Self {
        CachingFetcher::wrap(HttpFetcher::new(opts), CacheOptions::default())
    }
}

/// Bounds of a [`CachingFetcher`].
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// Most answers kept; the one expiring first goes when a new one needs room.
    pub max_entries: usize,
    /// Most bytes kept, all answers together; a larger answer is not kept.
    pub max_bytes: usize,
    /// Longest an answer is kept, nextUpdate or not (and how long a CA certificate, which
    /// has none, is kept), with a clock.
    pub max_age: time::Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_entries: 1024,
            max_bytes: 64 * 1024 * 1024,
            max_age: time::Duration::hours(24),
        }
    }
}

/// The current time, as the cache sees it.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

#[derive(Debug)]
struct Entry {
    body: Arc<[u8]>,
    expires: OffsetDateTime,
}

/// A cache around any [`Fetch`]: `*_cached` answers are kept, keyed by URL (and request body
/// for POSTs), until the OCSP response's or CRL's nextUpdate (an OCSP response or CRL without
/// one is not kept: fresher information is always available), at most
/// [`CacheOptions::max_age`], within [`CacheOptions::max_entries`] and
/// [`CacheOptions::max_bytes`]. Plain `get`/`post` (timestamp queries) always go through.
/// Thread-safe: a server shares one behind an `Arc`.
pub struct CachingFetcher<F> {
    inner: F,
    opts: CacheOptions,
    clock: Option<Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl<F: std::fmt::Debug> std::fmt::Debug for CachingFetcher<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingFetcher")
            .field("inner", &self.inner)
            .field("opts", &self.opts)
            .field(
                "entries",
                &self.entries.lock().map(|e| e.len()).unwrap_or(0),
            )
            .finish_non_exhaustive()
    }
}

impl<F: Fetch> CachingFetcher<F> {
    /// A cache around `inner` without a clock of its own: an answer is reused while the
    /// caller's `still_good` accepts it (which checks nextUpdate against the caller's time),
    /// within the bounds.
    pub fn wrap(inner: F, opts: CacheOptions) -> Self {
        CachingFetcher {
            inner,
            opts,
            clock: None,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A cache around `inner` whose entries also expire by `clock` (a server passes the
    /// system clock): at the answer's nextUpdate, at most [`CacheOptions::max_age`] after it
    /// was fetched.
    pub fn with_clock(inner: F, opts: CacheOptions, clock: Clock) -> Self {
        CachingFetcher {
            inner,
            opts,
            clock: Some(clock),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The fetcher this cache wraps.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Nothing kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, key: &str, still_good: &dyn Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
        let now = self.clock.as_ref().map(|c| c());
        let mut entries = self.entries.lock().ok()?;
        let hit = entries.get(key)?;
        if now.is_some_and(|now| hit.expires <= now) {
            entries.remove(key);
            return None;
        }
        let body = hit.body.clone();
        drop(entries);
        still_good(&body).then(|| body.to_vec())
    }

    fn keep(&self, key: String, body: &[u8]) {
        let now = self.clock.as_ref().map(|c| c());
        let latest = now.map_or(time::PrimitiveDateTime::MAX.assume_utc(), |n| {
            n.saturating_add(self.opts.max_age)
        });
        let expires = match expiry(body) {
            Expiry::At(t) => t.min(latest),
            Expiry::Never => return,
            Expiry::NotRevocation => latest,
        };
        if now.is_some_and(|n| expires <= n)
            || body.len() > self.opts.max_bytes
            || self.opts.max_entries == 0
        {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if let Some(now) = now {
            entries.retain(|_, e| e.expires > now);
        }
        entries.remove(&key);
        let mut total: usize = entries.values().map(|e| e.body.len()).sum();
        while entries.len() >= self.opts.max_entries || total + body.len() > self.opts.max_bytes {
            let first = entries
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone());
            let Some(k) = first else { break };
            if let Some(e) = entries.remove(&k) {
                total -= e.body.len();
            }
        }
        entries.insert(
            key,
            Entry {
                body: body.into(),
                expires,
            },
        );
    }
}

impl<F: Fetch> Fetch for CachingFetcher<F> {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.inner.get(url)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        self.inner.post(url, content_type, body)
    }

    fn get_cached(
        &self,
        url: &str,
        still_good: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        if let Some(hit) = self.lookup(url, still_good) {
            tracing::debug!(url, "answered from the cache");
            return Ok(hit);
        }
        let fresh = self.inner.get(url)?;
        self.keep(url.to_owned(), &fresh);
        Ok(fresh)
    }

    fn post_cached(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        still_good: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        let key = format!("{url}\u{0}{content_type}\u{0}{}", hex(body));
        if let Some(hit) = self.lookup(&key, still_good) {
            tracing::debug!(url, "answered from the cache");
            return Ok(hit);
        }
        let fresh = self.inner.post(url, content_type, body)?;
        self.keep(key, &fresh);
        Ok(fresh)
    }
}

/// How long an answer may be kept.
enum Expiry {
    /// An OCSP response or CRL: until its (earliest) nextUpdate.
    At(OffsetDateTime),
    /// An OCSP response or CRL without nextUpdate, or an OCSP error: not at all.
    Never,
    /// Anything else (a CA certificate): up to the cache's longest age.
    NotRevocation,
}

fn expiry(body: &[u8]) -> Expiry {
    use der::Decode;
    let crl: der::Result<x509_cert::crl::CertificateList> = Decode::from_der(body);
    if let Ok(crl) = crl {
        return match crl.tbs_cert_list.next_update {
            Some(t) => Expiry::At(t.to_system_time().into()),
            None => Expiry::Never,
        };
    }
    if let Ok(resp) = crate::asn1::OcspResponse::from_der(body) {
        let earliest = resp
            .response_bytes
            .and_then(|b| crate::asn1::BasicOcspResponse::from_der(b.response.as_bytes()).ok())
            .and_then(|basic| der::Encode::to_der(&basic.tbs_response_data).ok())
            .and_then(|tbs| crate::asn1::ResponseData::from_der(&tbs).ok())
            .and_then(|data| {
                data.responses
                    .iter()
                    .map(|r| r.next_update.as_ref().map(|n| n.0))
                    .collect::<Option<Vec<_>>>()
            })
            .and_then(|v| v.into_iter().min());
        return earliest.map_or(Expiry::Never, Expiry::At);
    }
    Expiry::NotRevocation
}

fn check_scheme(url: &str) -> Result<(), FetchError> {
    if url.starts_with("http://") {
        Ok(())
    } else {
        Err(FetchError {
            url: url.to_owned(),
            kind: FetchErrorKind::Scheme,
            message: "only http:// URLs are fetched (PKI services publish over plain HTTP; \
                      their answers are signed)"
                .to_owned(),
        })
    }
}

fn describe(e: &ureq::Error) -> (FetchErrorKind, String) {
    match e {
        ureq::Error::Timeout(_) => (
            FetchErrorKind::Timeout,
            "no answer in time (timeout)".to_owned(),
        ),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            (FetchErrorKind::Timeout, format!("no answer in time: {io}"))
        }
        ureq::Error::Io(io) => (FetchErrorKind::Connect, format!("cannot connect: {io}")),
        ureq::Error::ConnectionFailed => (FetchErrorKind::Connect, "cannot connect".to_owned()),
        ureq::Error::HostNotFound => (FetchErrorKind::HostNotFound, "host not found".to_owned()),
        ureq::Error::BodyExceedsLimit(n) => (
            FetchErrorKind::TooLarge,
            format!("the answer is larger than {n} bytes"),
        ),
        other => (FetchErrorKind::Other, other.to_string()),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::tsa::tests::TestSigner;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use time::macros::datetime;

    /// A network that answers every request with `body` and counts the calls.
    #[derive(Debug, Default)]
    struct FakeNet {
        body: Vec<u8>,
        gets: AtomicUsize,
        posts: AtomicUsize,
    }

    impl Fetch for FakeNet {
        fn get(&self, _url: &str) -> Result<Vec<u8>, FetchError> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            Ok(self.body.clone())
        }
        fn post(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, FetchError> {
            self.posts.fetch_add(1, Ordering::SeqCst);
            Ok(self.body.clone())
        }
    }

    const T0: OffsetDateTime = datetime!(2026-03-15 09:30:00 UTC);

    /// A cache whose clock the test moves.
    fn cache(
        body: Vec<u8>,
        opts: CacheOptions,
    ) -> (CachingFetcher<FakeNet>, Arc<Mutex<OffsetDateTime>>) {
        let now = Arc::new(Mutex::new(T0));
        let clock = now.clone();
        let net = FakeNet {
            body,
            ..FakeNet::default()
        };
        let f = CachingFetcher::with_clock(net, opts, Arc::new(move || *clock.lock().unwrap()));
        (f, now)
    }

    fn crl(next_in: time::Duration) -> Vec<u8> {
        crate::crl_issue::issue(&TestSigner::new("CA"), 1, &[], T0, next_in).unwrap()
    }

    fn ocsp(next_in: time::Duration) -> (Vec<u8>, Vec<u8>) {
        use kyso_cms::Signer;
        let ca = TestSigner::new("CA");
        let id =
            crate::ocsp::cert_id(ca.certificate(), &[7], crate::ocsp::CertIdHash::Sha1).unwrap();
        let request = crate::ocsp::request_der(id, None).unwrap();
        let parsed = crate::responder::parse_request(&request).unwrap();
        let authority = crate::responder::Authority::new(ca.certificate(), &ca).unwrap();
        let good = |_: &[u8]| crate::responder::Status::Good;
        let answer =
            crate::responder::sign_response(&authority, &parsed, &good, T0, next_in).unwrap();
        (request, answer)
    }

    #[test]
    fn a_crl_is_fetched_once_until_its_next_update() {
        let (f, now) = cache(crl(time::Duration::hours(6)), CacheOptions::default());
        let url = "http://ca.example/ca.crl";
        let a = f.get_cached(url, &|_| true).unwrap();
        let b = f.get_cached(url, &|_| true).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            f.inner().gets.load(Ordering::SeqCst),
            1,
            "the second fetch is the cache's"
        );
        // A caller that finds the answer stale for its own time asks the network again.
        f.get_cached(url, &|_| false).unwrap();
        assert_eq!(f.inner().gets.load(Ordering::SeqCst), 2);
        // Past nextUpdate the entry is gone.
        *now.lock().unwrap() = T0 + time::Duration::hours(7);
        f.get_cached(url, &|_| true).unwrap();
        assert_eq!(f.inner().gets.load(Ordering::SeqCst), 3);
        // Plain GETs are never answered from the cache.
        f.get(url).unwrap();
        assert_eq!(f.inner().gets.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn an_ocsp_answer_is_kept_per_request_until_its_next_update_and_tsa_posts_never() {
        let (request, answer) = ocsp(time::Duration::minutes(30));
        let (f, now) = cache(answer, CacheOptions::default());
        let url = "http://ocsp.example/";
        let ct = "application/ocsp-request";
        f.post_cached(url, ct, &request, &|_| true).unwrap();
        f.post_cached(url, ct, &request, &|_| true).unwrap();
        assert_eq!(f.inner().posts.load(Ordering::SeqCst), 1);
        // Another request to the same responder is another entry.
        f.post_cached(url, ct, b"other", &|_| true).unwrap();
        assert_eq!(f.inner().posts.load(Ordering::SeqCst), 2);
        *now.lock().unwrap() = T0 + time::Duration::minutes(31);
        f.post_cached(url, ct, &request, &|_| true).unwrap();
        assert_eq!(f.inner().posts.load(Ordering::SeqCst), 3);
        // Timestamp queries go through every time.
        f.post(url, "application/timestamp-query", b"q").unwrap();
        f.post(url, "application/timestamp-query", b"q").unwrap();
        assert_eq!(f.inner().posts.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_nothing_without_a_next_update_or_too_large() {
        let opts = CacheOptions {
            max_entries: 2,
            ..CacheOptions::default()
        };
        // A CA certificate (no nextUpdate of its own) is kept up to max_age.
        let (f, now) = cache(b"not revocation information".to_vec(), opts);
        for i in 0..3 {
            f.get_cached(&format!("http://ca.example/{i}.cer"), &|_| true)
                .unwrap();
        }
        assert_eq!(f.len(), 2);
        *now.lock().unwrap() = T0 + time::Duration::hours(25);
        f.get_cached("http://ca.example/2.cer", &|_| true).unwrap();
        assert_eq!(
            f.inner().gets.load(Ordering::SeqCst),
            4,
            "older than max_age"
        );
        // A failed OCSP answer (no nextUpdate) is not kept.
        let error =
            crate::responder::error_response(crate::asn1::OcspResponseStatus::TryLater).unwrap();
        let (f, _) = cache(error, CacheOptions::default());
        f.post_cached(
            "http://ocsp.example/",
            "application/ocsp-request",
            b"r",
            &|_| true,
        )
        .unwrap();
        assert!(f.is_empty());
        // Nor an answer larger than the whole cache.
        let (f, _) = cache(
            crl(time::Duration::hours(1)),
            CacheOptions {
                max_bytes: 10,
                ..CacheOptions::default()
            },
        );
        f.get_cached("http://ca.example/ca.crl", &|_| true).unwrap();
        assert!(f.is_empty());
    }

    #[test]
    fn one_cache_serves_many_threads() {
        let (f, _) = cache(crl(time::Duration::hours(1)), CacheOptions::default());
        let f = Arc::new(f);
        f.get_cached("http://ca.example/ca.crl", &|_| true).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                let f = f.clone();
                s.spawn(move || {
                    for _ in 0..50 {
                        f.get_cached("http://ca.example/ca.crl", &|_| true).unwrap();
                    }
                });
            }
        });
        assert_eq!(f.inner().gets.load(Ordering::SeqCst), 1);
    }
}
