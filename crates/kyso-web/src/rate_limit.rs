//! What keeps the public verification service (`/kiem-tra`, `POST /api/v1/verify`) from being
//! used to exhaust the server, without storing anything: a token bucket per client address
//! ([`RateLimit`]: a burst, then a steady rate; over it, 429), and two bounds on the work in
//! progress ([`VerifyLimits`]): how many uploads may be received at once (each holds its body
//! in memory, at most [`crate::MAX_DOCUMENT_FILE`]) and how many validations run at once on
//! the blocking threads (CPU work, never on the async runtime). A request waits for its turn
//! a bounded time, then is answered 503.
//!
//! The clock is the server's (`AppState::now`): tests drive it, and a fixed clock never
//! refills a bucket. The client address is the one `observability::observe` found (the TCP
//! peer, or what a trusted proxy forwarded).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Most client addresses remembered; beyond it, full buckets are forgotten (a client whose
/// bucket is full is not distinguishable from a new one).
const MAX_CLIENTS: usize = 100_000;

/// A token bucket per client address: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug)]
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    /// Tokens left and when they were counted (Unix milliseconds), per client address.
    buckets: Mutex<HashMap<String, (f64, i128)>>,
}

impl RateLimit {
    /// `burst` requests at once (at least 1), then `per_minute` a minute (at least 1).
    pub fn new(burst: u32, per_minute: u32) -> RateLimit {
        RateLimit {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `client` at `now`: `Err` with the wait until the next one when the
    /// bucket is empty.
    pub(crate) fn take(&self, client: &str, now: OffsetDateTime) -> Result<(), Duration> {
        let now_ms = now.unix_timestamp_nanos() / 1_000_000;
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CLIENTS && !map.contains_key(client) {
            let (burst, rate) = (self.burst, self.per_second);
            map.retain(|_, (tokens, at)| refilled(*tokens, *at, now_ms, burst, rate) < burst);
        }
        let (tokens, at) = map.entry(client.to_owned()).or_insert((self.burst, now_ms));
        let available = refilled(*tokens, *at, now_ms, self.burst, self.per_second);
        *at = now_ms.max(*at);
        if available >= 1.0 {
            *tokens = available - 1.0;
            Ok(())
        } else {
            *tokens = available;
            let wait = (1.0 - available) / self.per_second;
            Err(Duration::from_secs_f64(wait.clamp(0.0, 3600.0)))
        }
    }
}

/// Tokens of a bucket holding `tokens` at `at`, refilled until `now` (milliseconds).
fn refilled(tokens: f64, at: i128, now: i128, burst: f64, per_second: f64) -> f64 {
    let elapsed = (now - at).max(0) as f64 / 1000.0;
    (tokens + elapsed * per_second).min(burst)
}

/// Requests a client may make at once (`kyso serve --verify-burst`).
pub const DEFAULT_BURST: u32 = 20;
/// Requests a client may make each minute after its burst (`--verify-per-minute`).
pub const DEFAULT_PER_MINUTE: u32 = 20;
/// Uploads received at once (`--verify-uploads`).
pub const DEFAULT_UPLOADS: usize = 16;

/// The public service's limits: the rate per client, uploads received at once, validations
/// run at once, how long a request waits for its turn, and the largest file checked.
#[derive(Debug, Clone)]
pub struct VerifyLimits {
    /// The largest file checked, in bytes (at most [`crate::MAX_DOCUMENT_FILE`], what the
    /// routes' body limit lets through).
    pub(crate) max_bytes: usize,
    pub(crate) rate: Arc<RateLimit>,
    pub(crate) uploads: Arc<Semaphore>,
    pub(crate) validations: Arc<Semaphore>,
    pub(crate) wait: Duration,
}

impl Default for VerifyLimits {
    /// 20 uploads at once per client, then 20 a minute; 16 uploads received at once (at most
    /// 1 GiB of bodies in memory); one validation per core; 30 s of waiting.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        VerifyLimits::new(
            RateLimit::new(DEFAULT_BURST, DEFAULT_PER_MINUTE),
            DEFAULT_UPLOADS,
            cores,
            Duration::from_secs(30),
        )
    }
}

/// Why a request did not get its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The client's bucket is empty: retry after this many seconds.
    RateLimited { retry_after: u64 },
    /// The server stayed busy for the whole wait.
    Busy,
}

impl VerifyLimits {
    /// `rate` per client, `uploads` received at once, `validations` run at once, `wait` at
    /// most for a turn.
    pub fn new(rate: RateLimit, uploads: usize, validations: usize, wait: Duration) -> Self {
        VerifyLimits {
            max_bytes: crate::MAX_DOCUMENT_FILE,
            rate: Arc::new(rate),
            uploads: Arc::new(Semaphore::new(uploads.max(1))),
            validations: Arc::new(Semaphore::new(validations.max(1))),
            wait,
        }
    }

    /// The same limits checking files of at most `bytes` (1 to [`crate::MAX_DOCUMENT_FILE`]).
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.clamp(1, crate::MAX_DOCUMENT_FILE);
        self
    }

    /// A request of `client` at `now` may be received: its bucket has a token and an upload
    /// slot came free within the wait. The slot is held until the answer is made.
    pub(crate) async fn admit(
        &self,
        client: &str,
        now: OffsetDateTime,
    ) -> Result<OwnedSemaphorePermit, Refused> {
        self.rate
            .take(client, now)
            .map_err(|wait| Refused::RateLimited {
                retry_after: wait.as_secs().max(1),
            })?;
        turn(&self.uploads, self.wait).await
    }

    /// A turn on the blocking threads for one validation.
    pub(crate) async fn validation(&self) -> Result<OwnedSemaphorePermit, Refused> {
        turn(&self.validations, self.wait).await
    }
}

async fn turn(s: &Arc<Semaphore>, wait: Duration) -> Result<OwnedSemaphorePermit, Refused> {
    match tokio::time::timeout(wait, s.clone().acquire_owned()).await {
        Ok(Ok(p)) => Ok(p),
        _ => Err(Refused::Busy),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_burst_then_the_steady_rate_per_client() {
        let r = RateLimit::new(3, 6); // one token every 10 s
        let t0 = datetime!(2026-06-01 09:00 UTC);
        for _ in 0..3 {
            assert!(r.take("10.0.0.1", t0).is_ok());
        }
        let wait = r.take("10.0.0.1", t0).unwrap_err();
        assert_eq!(wait.as_secs(), 10);
        // Another client has its own bucket.
        assert!(r.take("10.0.0.2", t0).is_ok());
        // 5 s later: half a token, still refused; 10 s: one more, then refused again.
        assert!(r.take("10.0.0.1", t0 + time::Duration::seconds(5)).is_err());
        assert!(r.take("10.0.0.1", t0 + time::Duration::seconds(10)).is_ok());
        assert!(r
            .take("10.0.0.1", t0 + time::Duration::seconds(10))
            .is_err());
        // A long pause refills to the burst, not beyond.
        let later = t0 + time::Duration::hours(1);
        for _ in 0..3 {
            assert!(r.take("10.0.0.1", later).is_ok());
        }
        assert!(r.take("10.0.0.1", later).is_err());
        // A clock going backwards gives nothing.
        assert!(r.take("10.0.0.1", t0).is_err());
    }

    #[tokio::test]
    async fn a_turn_is_waited_for_a_bounded_time() {
        let l = VerifyLimits::new(RateLimit::new(10, 10), 1, 1, Duration::from_millis(50));
        let now = datetime!(2026-06-01 09:00 UTC);
        let first = l.admit("a", now).await.unwrap();
        assert_eq!(l.admit("a", now).await.unwrap_err(), Refused::Busy);
        drop(first);
        let _again = l.admit("a", now).await.unwrap();
        let v = l.validation().await.unwrap();
        assert_eq!(l.validation().await.unwrap_err(), Refused::Busy);
        drop(v);
        assert!(l.validation().await.is_ok());
    }
}
