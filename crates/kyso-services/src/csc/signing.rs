//! `credentials/authorize` (the PIN opens the key; a SAD bound to the user, the credential and
//! exactly the authorized hashes) and `signatures/signHash` (each authorized hash signed once).

use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use kyso_cms::{DigestAlgorithm, SignatureAlgorithm, Signer};
use kyso_keys::Pkcs12Signer;
use kyso_x509::Cert;
use serde_json::{json, Value};

use super::auth::{blocked, fail, reset};
use super::requests::{
    Authorization, AuthorizeRequest, CscError, SignHash, SignHashRequest, Version,
};
use super::{sha256, CscService, KeySource, MAX_LIVE};

/// A key opened for one authorization.
pub(super) enum OpenKey {
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

pub(super) struct SadEntry {
    user: String,
    credential: String,
    /// Hashes not signed yet.
    remaining: Vec<Vec<u8>>,
    digest: Option<DigestAlgorithm>,
    expires: Instant,
    key: Arc<OpenKey>,
}

impl CscService {
    pub(super) fn authorize(
        &self,
        version: Version,
        user: &str,
        req: AuthorizeRequest,
    ) -> Result<Value, CscError> {
        let c = self.credential(user, &req.credential_id)?;
        let Authorization {
            hashes,
            digest,
            pin,
        } = req.check(version, self.multisign)?;
        let pin = &pin;
        let now = Instant::now();
        if let Some(left) = blocked(&self.pin_failures, &c.id, now) {
            self.log(&format!(
                "csc audit: authorize refused user={user} credential={} (blocked)",
                c.id
            ));
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
                    let data = crate::files::read_limited(path, kyso_keys::MAX_P12_BYTES)
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
                            self.log(&format!(
                            "csc audit: authorize refused user={user} credential={} (wrong PIN{})",
                            c.id,
                            if now_blocked { "; credential now blocked" } else { "" }
                        ));
                            return Err(CscError::bad("invalid_pin", "The PIN is invalid"));
                        }
                        Err(e) => {
                            self.log(&format!("csc: credential {}: {e}", c.id));
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
            self.log(&format!(
                "csc: credential {}: the key's certificate is not the configured one",
                c.id
            ));
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
        self.log(&format!(
            "csc audit: authorize user={user} credential={} hashes={n}",
            c.id
        ));
        Ok(json!({ "SAD": sad.as_str(), "expiresIn": self.sad_lifetime.as_secs() }))
    }

    pub(super) fn sign_hash(
        &self,
        version: Version,
        user: &str,
        req: SignHashRequest,
    ) -> Result<Value, CscError> {
        let c = self.credential(user, req.credential_id()?)?;
        let checked = req.check(version)?;
        if !c.algos.contains(&checked.sign_oid) {
            return Err(CscError::request(
                "Invalid parameter signAlgo: not supported by the credential's key",
            ));
        }
        let alg = checked.algorithm()?;
        let SignHash { sad, hashes, .. } = checked;
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
        self.log(&format!(
            "csc audit: signHash user={user} credential={} hashes={}{}",
            c.id,
            hashes.len(),
            if done { " (authorization used up)" } else { "" }
        ));
        Ok(json!({ "signatures": signatures }))
    }
}
