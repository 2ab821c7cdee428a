//! `auth/login` (HTTP Basic → bearer access token), access tokens, `auth/revoke`, and the
//! failure counters that block a user after wrong passwords or a credential after wrong PINs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::requests::{CscError, LoginRequest, RevokeRequest};
use super::{sha256, CscService, MAX_LIVE, MAX_SECRET, MAX_TRACKED};

pub(super) struct TokenEntry {
    user: String,
    expires: Instant,
}

#[derive(Default, Clone, Copy)]
pub(super) struct Failures {
    count: u32,
    blocked_until: Option<Instant>,
}

impl CscService {
    /// `auth/login` with HTTP Basic credentials.
    pub(super) fn login(
        &self,
        authorization: Option<&str>,
        _req: LoginRequest,
    ) -> Result<Value, CscError> {
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
            self.log(&format!(
                "csc audit: login refused user={user}{}",
                if now_blocked { " (now blocked)" } else { "" }
            ));
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
        self.log(&format!("csc audit: login user={user}"));
        Ok(json!({
            "access_token": token.as_str(),
            "token_type": "Bearer",
            "expires_in": self.token_lifetime.as_secs(),
        }))
    }

    /// The user a bearer token belongs to.
    pub(super) fn bearer(&self, authorization: Option<&str>) -> Result<String, CscError> {
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

    pub(super) fn revoke(
        &self,
        user: &str,
        authorization: Option<&str>,
        req: RevokeRequest,
    ) -> Result<(), CscError> {
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
}

/// How long `who` stays blocked, if blocked.
pub(super) fn blocked(
    map: &Mutex<HashMap<String, Failures>>,
    who: &str,
    now: Instant,
) -> Option<Duration> {
    let map = map.lock().ok()?;
    let until = map.get(who)?.blocked_until?;
    (until > now).then(|| until - now)
}

/// Count a failure; true when it blocks `who`.
pub(super) fn fail(
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

pub(super) fn reset(map: &Mutex<HashMap<String, Failures>>, who: &str) {
    if let Ok(mut map) = map.lock() {
        map.remove(who);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
