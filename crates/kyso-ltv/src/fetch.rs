//! Fetching OCSP responses, CRLs and timestamps over HTTP, with timeouts and a size cap, and
//! an in-process cache (a CRL serves every certificate its CA issued; one verification run or
//! a long-lived server fetches it once until its nextUpdate).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

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

/// Why a fetch failed, in words a user can act on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{url}: {message}")]
pub struct FetchError {
    pub url: String,
    pub message: String,
}

/// An HTTP client for PKI services.
#[derive(Debug)]
pub struct Fetcher {
    agent: ureq::Agent,
    opts: FetchOptions,
    cache: Mutex<HashMap<String, Vec<u8>>>,
}

impl Fetcher {
    pub fn new(opts: FetchOptions) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .timeout_connect(Some(opts.timeout))
            .http_status_as_error(false)
            .max_redirects(3)
            .user_agent("kyso")
            .build();
        Fetcher {
            agent: config.into(),
            opts,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// GET `url` (CRLs, certificates, OCSP GET).
    pub fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        check_scheme(url)?;
        let resp = self.agent.get(url).call();
        self.body(url, resp)
    }

    /// POST `body` to `url` with `content_type` (OCSP requests, timestamp queries).
    pub fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        check_scheme(url)?;
        let resp = self
            .agent
            .post(url)
            .header("Content-Type", content_type)
            .send(body);
        self.body(url, resp)
    }

    /// A cached GET: the bytes fetched earlier for `url` while `still_good` accepts them.
    pub fn get_cached(
        &self,
        url: &str,
        still_good: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        if let Some(hit) = self.cache_get(url) {
            if still_good(&hit) {
                return Ok(hit);
            }
        }
        let fresh = self.get(url)?;
        self.cache_put(url, &fresh);
        Ok(fresh)
    }

    /// A cached POST keyed by URL and body.
    pub fn post_cached(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        still_good: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, FetchError> {
        let key = format!("{url}\u{0}{}", hex(body));
        if let Some(hit) = self.cache_get(&key) {
            if still_good(&hit) {
                return Ok(hit);
            }
        }
        let fresh = self.post(url, content_type, body)?;
        self.cache_put(&key, &fresh);
        Ok(fresh)
    }

    fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    fn cache_put(&self, key: &str, value: &[u8]) {
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key.to_owned(), value.to_vec());
        }
    }

    fn body(
        &self,
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, FetchError> {
        let err = |message: String| FetchError {
            url: url.to_owned(),
            message,
        };
        let mut resp = resp.map_err(|e| err(describe(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(err(format!("HTTP {status}")));
        }
        let mut out = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(self.opts.max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| err(format!("reading the answer: {e}")))?;
        if out.len() as u64 > self.opts.max_bytes {
            return Err(err(format!(
                "the answer is larger than {} bytes",
                self.opts.max_bytes
            )));
        }
        Ok(out)
    }
}

fn check_scheme(url: &str) -> Result<(), FetchError> {
    if url.starts_with("http://") {
        Ok(())
    } else {
        Err(FetchError {
            url: url.to_owned(),
            message: "only http:// URLs are fetched (PKI services publish over plain HTTP; \
                      their answers are signed)"
                .to_owned(),
        })
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer in time (timeout)".to_owned(),
        ureq::Error::Io(io) => format!("cannot connect: {io}"),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        other => other.to_string(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
