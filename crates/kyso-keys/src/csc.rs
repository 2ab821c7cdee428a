//! A signer whose key is held by a remote signing service speaking the Cloud Signature
//! Consortium API (CSC v2, or v1 when the service only has that).
//!
//! Opening ([`CscSigner::open`]): `info` (which version the service speaks) → `auth/login` with
//! HTTP Basic (or a bearer token given by the caller) → `credentials/list` when no credential
//! was named → `credentials/info` (certificate chain, key algorithms, SCAL). Each signature:
//! `credentials/authorize` with the hash and the PIN (a SAD bound to that hash) →
//! `signatures/signHash`. The signature is checked against the certificate before use.
//!
//! Secrets (password, PIN, access token, SAD) live in [`Secret`]s and zeroized buffers, travel
//! only in request bodies and the `Authorization` header, and are never part of an error.
//! Answers are size-capped and every request has a timeout. `https://` uses rustls (aws-lc-rs
//! provider) with the Mozilla roots or given trust anchors; plain `http://` is refused except to
//! a loopback address: the PIN and password would cross the network in clear.

use std::io::Read;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::asn1::ObjectIdentifier;
use der::Encode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer};
use kyso_x509::{oid, Cert, KeyKind};

use crate::{Error, Result, Secret};

/// Largest answer read from the service (a certificate chain fits easily).
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// How to authenticate to the service.
#[derive(Debug, Clone)]
pub enum CscAuth {
    /// `auth/login` with HTTP Basic.
    Basic { user: String, password: Secret },
    /// An access token obtained elsewhere (OAuth2).
    Bearer(Secret),
    /// No service authentication (test services such as certomancer-csc-dummy).
    None,
}

/// Where and how to sign.
#[derive(Debug, Clone)]
pub struct CscOptions {
    /// The service's base URL: the part before `/csc/v2/…`.
    pub url: String,
    /// The credential; when absent the service must list exactly one.
    pub credential: Option<String>,
    pub auth: CscAuth,
    /// The credential's PIN (explicit authorization).
    pub pin: Option<Secret>,
    /// Sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    pub pss: bool,
    /// Timeout of each request.
    pub timeout: Duration,
    /// Trust anchors (DER) for an `https://` service instead of the Mozilla root store (a
    /// service with a private CA).
    pub tls_roots: Vec<Vec<u8>>,
}

/// The CSC API version spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CscVersion {
    V1,
    V2,
}

/// A connection to the service: where, which version, the access token.
struct Session {
    agent: ureq::Agent,
    base: String,
    version: CscVersion,
    token: Option<Secret>,
    logged_in: bool,
}

/// A remote CSC credential.
pub struct CscSigner {
    session: Session,
    credential: String,
    pin: Option<Secret>,
    cert: Cert,
    chain: Vec<Cert>,
    algorithm: SignatureAlgorithm,
    /// `signAlgo` and `signAlgoParams` (base64 DER) sent with each signature.
    sign_algo: String,
    sign_algo_params: Option<String>,
}

impl std::fmt::Debug for CscSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscSigner")
            .field("service", &self.session.base)
            .field("version", &self.session.version)
            .field("credential", &self.credential)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

// --- wire formats ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct ErrorAnswer {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct InfoAnswer {
    specs: Option<String>,
    #[serde(rename = "authType", default)]
    auth_type: Vec<String>,
}

#[derive(Deserialize)]
struct LoginAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct ListAnswer {
    #[serde(rename = "credentialIDs", default)]
    credential_ids: Vec<String>,
}

#[derive(Deserialize)]
struct KeyInfo {
    status: Option<String>,
    #[serde(default)]
    algo: Vec<String>,
}

#[derive(Deserialize)]
struct CertInfo {
    #[serde(default)]
    certificates: Vec<String>,
}

#[derive(Deserialize)]
struct CredentialInfoAnswer {
    description: Option<String>,
    key: KeyInfo,
    cert: Option<CertInfo>,
    #[serde(rename = "SCAL")]
    scal: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct CredentialInfoRequest<'a> {
    #[serde(rename = "credentialID")]
    credential_id: &'a str,
    certificates: &'a str,
    #[serde(rename = "certInfo")]
    cert_info: bool,
}

#[derive(Serialize)]
struct AuthorizeRequest<'a> {
    #[serde(rename = "credentialID")]
    credential_id: &'a str,
    #[serde(rename = "numSignatures")]
    num_signatures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashes: Option<Vec<String>>,
    #[serde(rename = "hashAlgorithmOID", skip_serializing_if = "Option::is_none")]
    hash_algorithm_oid: Option<String>,
    #[serde(rename = "PIN", skip_serializing_if = "Option::is_none")]
    pin: Option<&'a str>,
}

#[derive(Deserialize)]
struct AuthorizeAnswer {
    #[serde(rename = "SAD")]
    sad: String,
}

#[derive(Serialize)]
struct SignHashRequest<'a> {
    #[serde(rename = "credentialID")]
    credential_id: &'a str,
    #[serde(rename = "SAD")]
    sad: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashes: Option<Vec<String>>,
    #[serde(rename = "hashAlgo", skip_serializing_if = "Option::is_none")]
    hash_algo: Option<String>,
    #[serde(rename = "hashAlgorithmOID", skip_serializing_if = "Option::is_none")]
    hash_algorithm_oid: Option<String>,
    #[serde(rename = "signAlgo")]
    sign_algo: &'a str,
    #[serde(rename = "signAlgoParams", skip_serializing_if = "Option::is_none")]
    sign_algo_params: Option<&'a str>,
}

#[derive(Deserialize)]
struct SignHashAnswer {
    signatures: Vec<String>,
}

fn remote(msg: impl Into<String>) -> Error {
    Error::Remote(msg.into())
}

/// Is `url` one we may send secrets to over plain HTTP: a loopback host?
fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host_port.contains('@') {
        return false;
    }
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A credential the service holds for the logged-in user, as `credentials/info` shows it.
#[derive(Debug, Clone)]
pub struct CscCredential {
    /// The `credentialID`.
    pub id: String,
    /// The service's description of it, if any.
    pub description: Option<String>,
    /// The signer's certificate.
    pub cert: Cert,
}

/// Most credentials [`CscClient::credentials`] reads (each costs a `credentials/info`).
pub const MAX_CREDENTIALS: usize = 50;

/// An authenticated connection to a CSC service: list the user's credentials
/// ([`CscClient::credentials`]), then sign with one ([`CscClient::signer`]). The access token
/// is revoked when the client (or the signer made from it) is dropped.
pub struct CscClient {
    session: Session,
    pin: Option<Secret>,
    pss: bool,
}

impl std::fmt::Debug for CscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscClient")
            .field("service", &self.session.base)
            .field("version", &self.session.version)
            .finish_non_exhaustive()
    }
}

impl CscClient {
    /// Connect and authenticate (`info`, then `auth/login` or the given token). The options'
    /// credential is not read here; their PIN and `pss` are kept for [`CscClient::signer`].
    pub fn connect(opts: CscOptions) -> Result<Self> {
        let base = opts.url.trim_end_matches('/').to_owned();
        if !base.starts_with("https://") && !loopback_http(&base) {
            return Err(remote(
                "plain http:// is refused except to this machine (127.0.0.1, ::1, \
                 localhost): the password and PIN would cross the network in clear; use https://",
            ));
        }
        let roots = if opts.tls_roots.is_empty() {
            ureq::tls::RootCerts::WebPki
        } else {
            let certs: Vec<ureq::tls::Certificate<'static>> = opts
                .tls_roots
                .iter()
                .map(|d| ureq::tls::Certificate::from_der(d).to_owned())
                .collect();
            ureq::tls::RootCerts::new_with_certs(&certs)
        };
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .timeout_connect(Some(opts.timeout))
            .http_status_as_error(false)
            .https_only(false)
            .max_redirects(0)
            .user_agent("kyso")
            .tls_config(tls)
            .build();
        let mut session = Session {
            agent: config.into(),
            base,
            version: CscVersion::V2,
            token: None,
            logged_in: false,
        };
        session.version = session.discover()?;
        match opts.auth {
            CscAuth::Basic { user, password } => session.login(&user, &password)?,
            CscAuth::Bearer(t) => session.token = Some(t),
            CscAuth::None => {}
        }
        Ok(CscClient {
            session,
            pin: opts.pin,
            pss: opts.pss,
        })
    }

    /// The user's credentials (`credentials/list`, then `credentials/info` of each, at most
    /// [`MAX_CREDENTIALS`]); a credential whose key is disabled or whose certificate cannot be
    /// read is left out.
    pub fn credentials(&self) -> Result<Vec<CscCredential>> {
        let answer: ListAnswer = self.session.call_json("credentials/list", b"{}", None)?;
        let mut out = Vec::new();
        for id in answer.credential_ids.iter().take(MAX_CREDENTIALS) {
            let Ok(info) = self.session.credential_info(id, "single") else {
                continue;
            };
            if info.key.status.as_deref().is_some_and(|s| s != "enabled") {
                continue;
            }
            let Ok(mut certs) = certificates(info.cert) else {
                continue;
            };
            if certs.is_empty() {
                continue;
            }
            out.push(CscCredential {
                id: id.clone(),
                description: info.description.map(|d| {
                    d.chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect::<String>()
                }),
                cert: certs.remove(0),
            });
        }
        Ok(out)
    }

    /// A signer for `credential` (`credentials/info`), signing with the options' PIN.
    pub fn signer(self, credential: &str) -> Result<CscSigner> {
        let remote_key = self.session.read_credential(credential, self.pss)?;
        Ok(CscSigner {
            session: self.session,
            credential: credential.to_owned(),
            pin: self.pin,
            cert: remote_key.cert,
            chain: remote_key.chain,
            algorithm: remote_key.algorithm,
            sign_algo: remote_key.sign_algo,
            sign_algo_params: remote_key.sign_algo_params,
        })
    }

    /// The API version the service speaks.
    pub fn version(&self) -> CscVersion {
        self.session.version
    }
}

impl CscSigner {
    /// Connect, authenticate and read the credential (see the module documentation).
    pub fn open(opts: CscOptions) -> Result<Self> {
        let credential = opts.credential.clone();
        let client = CscClient::connect(opts)?;
        let credential = match credential {
            Some(c) => c,
            None => client.session.only_credential()?,
        };
        client.signer(&credential)
    }

    /// The API version the service speaks.
    pub fn version(&self) -> CscVersion {
        self.session.version
    }

    /// Revoke the access token obtained by `auth/login` (done on drop too).
    pub fn logout(&mut self) {
        self.session.logout();
    }
}

/// The certificates of a `credentials/info` answer, DER-decoded.
fn certificates(cert: Option<CertInfo>) -> Result<Vec<Cert>> {
    cert.map(|c| c.certificates)
        .unwrap_or_default()
        .iter()
        .map(|b| {
            let der = STANDARD
                .decode(b)
                .map_err(|_| remote("credentials/info: a certificate is not base64"))?;
            Ok(Cert::from_der(&der)?)
        })
        .collect()
}

/// What `credentials/info` says about the key.
struct RemoteKey {
    cert: Cert,
    chain: Vec<Cert>,
    algorithm: SignatureAlgorithm,
    sign_algo: String,
    sign_algo_params: Option<String>,
}

impl Session {
    fn url(&self, version: CscVersion, method: &str) -> String {
        let v = match version {
            CscVersion::V1 => "v1",
            CscVersion::V2 => "v2",
        };
        format!("{}/csc/{v}/{method}", self.base)
    }

    /// POST `body` (JSON bytes) to `method`; the answer's bytes (zeroized on drop) on HTTP
    /// 2xx, the service's error otherwise.
    fn call(
        &self,
        version: CscVersion,
        method: &str,
        body: &[u8],
        basic: Option<&str>,
    ) -> Result<(u16, Zeroizing<Vec<u8>>)> {
        let url = self.url(version, method);
        let mut req = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        let auth: Option<Zeroizing<String>> = match (basic, &self.token) {
            (Some(b), _) => Some(Zeroizing::new(format!("Basic {b}"))),
            (None, Some(t)) => Some(Zeroizing::new(format!("Bearer {}", t.expose()))),
            (None, None) => None,
        };
        if let Some(a) = &auth {
            req = req.header("Authorization", a.as_str());
        }
        let mut resp = req.send(body).map_err(|e| {
            remote(format!(
                "{method}: {}",
                match e {
                    ureq::Error::Timeout(_) => "no answer in time (timeout)".to_owned(),
                    ureq::Error::Io(io) => format!("cannot connect: {io}"),
                    other => other.to_string(),
                }
            ))
        })?;
        let status = resp.status().as_u16();
        let mut out = Zeroizing::new(Vec::new());
        resp.body_mut()
            .as_reader()
            .take(MAX_ANSWER_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| remote(format!("{method}: reading the answer: {e}")))?;
        if out.len() as u64 > MAX_ANSWER_BYTES {
            return Err(remote(format!(
                "{method}: the answer is larger than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        Ok((status, out))
    }

    /// `call`, then the JSON answer as `T` (or the service's error).
    fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        body: &[u8],
        basic: Option<&str>,
    ) -> Result<T> {
        let (status, out) = self.call(self.version, method, body, basic)?;
        if !(200..300).contains(&status) {
            return Err(service_error(method, status, &out));
        }
        serde_json::from_slice(&out)
            .map_err(|_| remote(format!("{method}: the answer is not the expected JSON")))
    }

    /// Which version the service speaks: v2 if `/csc/v2/info` answers with 2.x specs, else v1.
    fn discover(&self) -> Result<CscVersion> {
        for version in [CscVersion::V2, CscVersion::V1] {
            let (status, out) = self.call(version, "info", b"{}", None)?;
            if !(200..300).contains(&status) {
                continue;
            }
            let info: InfoAnswer = serde_json::from_slice(&out)
                .map_err(|_| remote("info: the answer is not the expected JSON"))?;
            let _ = &info.auth_type;
            return Ok(match info.specs.as_deref() {
                Some(s) if s.starts_with('1') => CscVersion::V1,
                _ => version,
            });
        }
        Err(remote(
            "info: the service answers neither /csc/v2/info nor /csc/v1/info",
        ))
    }

    fn login(&mut self, user: &str, password: &Secret) -> Result<()> {
        let pair = Zeroizing::new(format!("{user}:{}", password.expose()));
        let basic = Zeroizing::new(STANDARD.encode(pair.as_bytes()));
        let answer: LoginAnswer = self.call_json("auth/login", b"{}", Some(basic.as_str()))?;
        self.token = Some(Secret::new(answer.access_token));
        self.logged_in = true;
        Ok(())
    }

    fn only_credential(&self) -> Result<String> {
        let answer: ListAnswer = self.call_json("credentials/list", b"{}", None)?;
        match answer.credential_ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(remote("credentials/list: no credential for this user")),
            many => Err(remote(format!(
                "credentials/list: several credentials, choose one: {}",
                many.join(", ")
            ))),
        }
    }

    fn credential_info(
        &self,
        credential: &str,
        certificates: &str,
    ) -> Result<CredentialInfoAnswer> {
        let body = serde_json::to_vec(&CredentialInfoRequest {
            credential_id: credential,
            certificates,
            cert_info: false,
        })
        .map_err(|_| remote("credentials/info: cannot encode the request"))?;
        self.call_json("credentials/info", &body, None)
    }

    fn read_credential(&self, credential: &str, pss: bool) -> Result<RemoteKey> {
        let info = self.credential_info(credential, "chain")?;
        if info.key.status.as_deref().is_some_and(|s| s != "enabled") {
            return Err(remote("credentials/info: the key is disabled"));
        }
        let mut certs = certificates(info.cert)?;
        if certs.is_empty() {
            return Err(remote("credentials/info: no certificate"));
        }
        let cert = certs.remove(0);
        let scal2 = match &info.scal {
            Some(serde_json::Value::String(s)) => s == "2",
            Some(serde_json::Value::Number(n)) => n.as_u64() == Some(2),
            _ => false,
        };
        let _ = scal2; // Hashes are always sent with the authorization (SCAL 2 or not).
        let algos: Vec<ObjectIdentifier> = info
            .key
            .algo
            .iter()
            .filter_map(|a| ObjectIdentifier::new(a).ok())
            .collect();
        let (algorithm, sign_algo) = choose_algorithm(cert.key_kind(), &algos, pss)?;
        let sign_algo_params = match algorithm {
            SignatureAlgorithm::RsaPss(_) => {
                let id = algorithm.identifier()?;
                let params = id
                    .parameters
                    .ok_or_else(|| remote("PSS parameters"))?
                    .to_der()
                    .map_err(|_| remote("PSS parameters"))?;
                Some(STANDARD.encode(params))
            }
            _ => None,
        };
        Ok(RemoteKey {
            cert,
            chain: certs,
            algorithm,
            sign_algo: sign_algo.to_string(),
            sign_algo_params,
        })
    }

    /// Revoke the access token obtained by `auth/login`.
    fn logout(&mut self) {
        if self.logged_in {
            self.logged_in = false;
            let _ = self.call(self.version, "auth/revoke", b"{}", None);
        }
        self.token = None;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.logout();
    }
}

impl CscSigner {
    fn sign_digest(&self, digest_alg: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>> {
        let hash = vec![STANDARD.encode(digest)];
        let oid = digest_alg.oid().to_string();
        let v2 = self.session.version == CscVersion::V2;
        let body = Zeroizing::new(
            serde_json::to_vec(&AuthorizeRequest {
                credential_id: &self.credential,
                num_signatures: 1,
                hash: (!v2).then(|| hash.clone()),
                hashes: v2.then(|| hash.clone()),
                hash_algorithm_oid: v2.then(|| oid.clone()),
                pin: self.pin.as_ref().map(Secret::expose),
            })
            .map_err(|_| remote("credentials/authorize: cannot encode the request"))?,
        );
        let answer: AuthorizeAnswer =
            self.session
                .call_json("credentials/authorize", &body, None)?;
        let sad = Secret::new(answer.sad);
        let body = Zeroizing::new(
            serde_json::to_vec(&SignHashRequest {
                credential_id: &self.credential,
                sad: sad.expose(),
                hash: (!v2).then(|| hash.clone()),
                hashes: v2.then(|| hash.clone()),
                hash_algo: (!v2).then(|| oid.clone()),
                hash_algorithm_oid: v2.then(|| oid.clone()),
                sign_algo: &self.sign_algo,
                sign_algo_params: self.sign_algo_params.as_deref(),
            })
            .map_err(|_| remote("signatures/signHash: cannot encode the request"))?,
        );
        drop(sad);
        let answer: SignHashAnswer = self.session.call_json("signatures/signHash", &body, None)?;
        let [sig] = answer.signatures.as_slice() else {
            return Err(remote(
                "signatures/signHash: expected exactly one signature",
            ));
        };
        let sig = STANDARD
            .decode(sig)
            .map_err(|_| remote("signatures/signHash: the signature is not base64"))?;
        // Never embed a signature the certificate does not verify.
        self.algorithm
            .verify_digest(&self.cert, digest, &sig)
            .map_err(|_| {
                remote("signatures/signHash: the service's signature does not verify with the credential's certificate")
            })?;
        Ok(sig)
    }
}

/// The service's `{error, error_description}` as an error (the description is the service's,
/// which never has our secrets: they are not echoed by CSC services).
fn service_error(method: &str, status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer {
            error: Some(e),
            error_description: d,
        }) => {
            let d: String = d
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            Error::Refused {
                method: method.to_owned(),
                status,
                error: e.chars().filter(|c| !c.is_control()).take(64).collect(),
                description: d,
            }
        }
        _ => remote(format!("{method}: HTTP {status}")),
    }
}

/// The scheme and `signAlgo` for a key, among the OIDs the credential's `key/algo` lists
/// (signature algorithms, or the key's own algorithm as many services list it):
/// - RSA: PKCS#1 v1.5 with SHA-256 (`sha256WithRSAEncryption` or `rsaEncryption` listed);
///   RSASSA-PSS with SHA-256 when asked for (`pss`) or when it is all the credential offers;
/// - ECDSA: P-256 with SHA-256, P-384 with SHA-384 (`ecdsa-with-SHA256/384`, or
///   `id-ecPublicKey` listed); the `signAlgo` sent is the signature algorithm's OID.
fn choose_algorithm(
    kind: KeyKind,
    algos: &[ObjectIdentifier],
    pss: bool,
) -> Result<(SignatureAlgorithm, ObjectIdentifier)> {
    let has = |o: &ObjectIdentifier| algos.contains(o);
    let d256 = DigestAlgorithm::Sha256;
    let rsa_pss =
        || has(&oid::RSASSA_PSS).then_some((SignatureAlgorithm::RsaPss(d256), oid::RSASSA_PSS));
    let ecdsa = |d: DigestAlgorithm, sig: ObjectIdentifier| {
        (has(&sig) || has(&oid::EC_PUBLIC_KEY)).then_some((SignatureAlgorithm::Ecdsa(d), sig))
    };
    let pick = match kind {
        KeyKind::Rsa { .. } if pss => rsa_pss(),
        KeyKind::Rsa { .. } => [oid::SHA256_WITH_RSA, oid::RSA_ENCRYPTION]
            .into_iter()
            .find(|o| has(o))
            .map(|o| (SignatureAlgorithm::RsaPkcs1(d256), o))
            .or_else(rsa_pss),
        KeyKind::EcP256 => ecdsa(d256, oid::ECDSA_SHA256),
        KeyKind::EcP384 => ecdsa(DigestAlgorithm::Sha384, oid::ECDSA_SHA384),
        _ => None,
    };
    pick.ok_or(Error::Unsupported(
        "the service offers no signature algorithm kyso can use with this key",
    ))
}

impl Signer for CscSigner {
    fn certificate(&self) -> &Cert {
        &self.cert
    }
    fn chain(&self) -> &[Cert] {
        &self.chain
    }
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
    fn sign(&self, request: &SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
        if request.algorithm != self.algorithm {
            return Err(kyso_cms::Error::SigningFailed(
                "the remote credential signs with another algorithm".to_owned(),
            ));
        }
        self.sign_digest(request.algorithm.digest(), request.digest)
            .map_err(|e| kyso_cms::Error::Signer(kyso_cms::SignerFailure::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_over_plain_http_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8780",
            "http://localhost:1/x",
            "http://[::1]:8780/",
            "http://127.0.0.2",
        ] {
            assert!(loopback_http(ok), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1:80",
            "http://127.0.0.1.evil.com",
            "http://user@127.0.0.1",
            "https://127.0.0.1",
            "ftp://localhost",
        ] {
            assert!(!loopback_http(bad), "{bad}");
        }
    }

    #[test]
    fn algorithm_choice_follows_the_key_and_the_services_list() {
        let rsa = KeyKind::Rsa { bits: 2048 };
        let (a, o) = choose_algorithm(rsa, &[oid::RSA_ENCRYPTION], false).unwrap();
        assert_eq!(a, SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256));
        assert_eq!(o, oid::RSA_ENCRYPTION);
        let (_, o) =
            choose_algorithm(rsa, &[oid::RSA_ENCRYPTION, oid::SHA256_WITH_RSA], false).unwrap();
        assert_eq!(o, oid::SHA256_WITH_RSA);
        assert!(choose_algorithm(rsa, &[oid::SHA256_WITH_RSA], true).is_err());
        let (a, _) = choose_algorithm(KeyKind::EcP384, &[oid::ECDSA_SHA384], false).unwrap();
        assert_eq!(a, SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384));
        assert!(choose_algorithm(KeyKind::EcP256, &[oid::SHA256_WITH_RSA], false).is_err());
        // A credential offering RSASSA-PSS alone is signed with PSS without being asked.
        let (a, o) = choose_algorithm(rsa, &[oid::RSASSA_PSS], false).unwrap();
        assert_eq!(a, SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256));
        assert_eq!(o, oid::RSASSA_PSS);
        let (a, _) =
            choose_algorithm(rsa, &[oid::RSASSA_PSS, oid::SHA256_WITH_RSA], false).unwrap();
        assert_eq!(a, SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256));
        // EC keys listed by their key algorithm: ECDSA with the curve's hash, named by the
        // signature algorithm's OID.
        let (a, o) = choose_algorithm(KeyKind::EcP256, &[oid::EC_PUBLIC_KEY], false).unwrap();
        assert_eq!(
            (a, o),
            (
                SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
                oid::ECDSA_SHA256
            )
        );
        let (a, o) = choose_algorithm(KeyKind::EcP384, &[oid::EC_PUBLIC_KEY], false).unwrap();
        assert_eq!(
            (a, o),
            (
                SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384),
                oid::ECDSA_SHA384
            )
        );
        assert!(choose_algorithm(KeyKind::EcP384, &[oid::RSASSA_PSS], false).is_err());
    }
}
