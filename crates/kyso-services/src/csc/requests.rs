//! The CSC request bodies: each parsed strictly (unknown fields refused, values never echoed in
//! errors) and checked without touching any state, by the same functions the methods call;
//! [`check_body`] runs them for any method and body (the fuzz target `csc_requests`). And the
//! error answer, [`CscError`].

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::asn1::ObjectIdentifier;
use kyso_cms::DigestAlgorithm;
use kyso_keys::Secret;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// A CSC error answer: HTTP status and `{error, error_description}`.
#[derive(Debug)]
pub struct CscError {
    pub(super) status: StatusCode,
    pub(super) error: &'static str,
    pub(super) description: String,
}

impl CscError {
    pub(super) fn bad(error: &'static str, description: impl Into<String>) -> Self {
        CscError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }
    pub(super) fn unauthorized(error: &'static str, description: impl Into<String>) -> Self {
        CscError {
            status: StatusCode::UNAUTHORIZED,
            error,
            description: description.into(),
        }
    }
    pub(super) fn server(description: &str) -> Self {
        CscError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: description.to_owned(),
        }
    }
    pub(super) fn request(description: impl Into<String>) -> Self {
        CscError::bad("invalid_request", description)
    }
    pub(super) fn unknown_method() -> Self {
        CscError {
            status: StatusCode::NOT_FOUND,
            error: "invalid_request",
            description: "Unknown method".to_owned(),
        }
    }
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The CSC error code (`invalid_request`, `invalid_pin`, …).
    pub fn error(&self) -> &'static str {
        self.error
    }
}

/// A JSON answer (not cached: it may hold a token or a SAD).
pub(super) fn json_response(status: StatusCode, v: &Value) -> Response {
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

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct InfoRequest {
    #[allow(dead_code)]
    pub(super) lang: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[serde(rename = "rememberMe")]
    #[allow(dead_code)]
    pub(super) remember_me: Option<bool>,
    #[serde(rename = "clientData")]
    #[allow(dead_code)]
    pub(super) client_data: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    #[serde(default, deserialize_with = "secret_field")]
    pub(super) token: Option<Secret>,
    #[allow(dead_code)]
    pub(super) token_type_hint: Option<String>,
    #[serde(rename = "clientData")]
    #[allow(dead_code)]
    pub(super) client_data: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ListRequest {
    #[serde(rename = "userID")]
    pub(super) user_id: Option<String>,
    #[serde(rename = "credentialInfo")]
    pub(super) credential_info: Option<bool>,
    pub(super) certificates: Option<String>,
    #[serde(rename = "certInfo")]
    pub(super) cert_info: Option<bool>,
    #[serde(rename = "authInfo")]
    pub(super) auth_info: Option<bool>,
    #[serde(rename = "onlyValid")]
    pub(super) only_valid: Option<bool>,
    pub(super) lang: Option<String>,
    #[serde(rename = "clientData")]
    pub(super) client_data: Option<String>,
    #[serde(rename = "maxResults")]
    pub(super) max_results: Option<u32>,
    #[serde(rename = "pageToken")]
    pub(super) page_token: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CredentialInfoRequest {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
    pub(super) certificates: Option<String>,
    #[serde(rename = "certInfo")]
    pub(super) cert_info: Option<bool>,
    #[serde(rename = "authInfo")]
    pub(super) auth_info: Option<bool>,
    pub(super) lang: Option<String>,
    #[serde(rename = "clientData")]
    pub(super) client_data: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AuthorizeRequest {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
    #[serde(rename = "numSignatures")]
    pub(super) num_signatures: u32,
    /// v1.
    pub(super) hash: Option<Vec<String>>,
    /// v2.
    pub(super) hashes: Option<Vec<String>>,
    /// v2.
    #[serde(rename = "hashAlgorithmOID")]
    pub(super) hash_algorithm_oid: Option<String>,
    #[serde(rename = "PIN", default, deserialize_with = "secret_field")]
    pub(super) pin: Option<Secret>,
    #[serde(rename = "OTP", default, deserialize_with = "secret_field")]
    pub(super) otp: Option<Secret>,
    pub(super) description: Option<String>,
    #[serde(rename = "clientData")]
    pub(super) client_data: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SignHashRequest {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: Option<String>,
    #[serde(rename = "signatureQualifier")]
    pub(super) signature_qualifier: Option<String>,
    #[serde(rename = "SAD", default, deserialize_with = "secret_field")]
    pub(super) sad: Option<Secret>,
    /// v1.
    pub(super) hash: Option<Vec<String>>,
    /// v2.
    pub(super) hashes: Option<Vec<String>>,
    /// v1.
    #[serde(rename = "hashAlgo")]
    pub(super) hash_algo: Option<String>,
    /// v2.
    #[serde(rename = "hashAlgorithmOID")]
    pub(super) hash_algorithm_oid: Option<String>,
    #[serde(rename = "signAlgo")]
    pub(super) sign_algo: String,
    #[serde(rename = "signAlgoParams")]
    pub(super) sign_algo_params: Option<String>,
    #[serde(rename = "operationMode")]
    pub(super) operation_mode: Option<String>,
    pub(super) validity_period: Option<u64>,
    pub(super) response_uri: Option<String>,
    #[serde(rename = "clientData")]
    pub(super) client_data: Option<String>,
}

/// The API version of a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// The version a request path names (`/csc/v1/…`, `/csc/v2/…`).
    pub fn from_path(s: &str) -> Option<Self> {
        match s {
            "v1" => Some(Version::V1),
            "v2" => Some(Version::V2),
            _ => None,
        }
    }
}

/// The methods of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Info,
    Login,
    Revoke,
    List,
    CredentialInfo,
    Authorize,
    SignHash,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Info,
        Method::Login,
        Method::Revoke,
        Method::List,
        Method::CredentialInfo,
        Method::Authorize,
        Method::SignHash,
    ];

    /// The method's path after the version (`credentials/authorize`).
    pub fn path(self) -> &'static str {
        match self {
            Method::Info => "info",
            Method::Login => "auth/login",
            Method::Revoke => "auth/revoke",
            Method::List => "credentials/list",
            Method::CredentialInfo => "credentials/info",
            Method::Authorize => "credentials/authorize",
            Method::SignHash => "signatures/signHash",
        }
    }

    pub fn from_path(s: &str) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.path() == s)
    }

    /// Whether the method needs a bearer access token (checked before the body is read).
    pub fn needs_token(self) -> bool {
        !matches!(self, Method::Info | Method::Login)
    }
}

/// A request body, parsed for its method.
#[derive(Debug)]
pub enum Request {
    Info(InfoRequest),
    Login(LoginRequest),
    Revoke(RevokeRequest),
    List(ListRequest),
    CredentialInfo(CredentialInfoRequest),
    Authorize(AuthorizeRequest),
    SignHash(SignHashRequest),
}

/// Parse the body of `method` strictly (an empty body is an empty request where the method
/// has no required field).
pub fn parse_request(method: Method, body: &[u8]) -> Result<Request, CscError> {
    Ok(match method {
        Method::Info => Request::Info(parse(body)?),
        Method::Login => Request::Login(parse(body)?),
        Method::Revoke => Request::Revoke(parse(body)?),
        Method::List => Request::List(parse(body)?),
        Method::CredentialInfo => Request::CredentialInfo(parse_required(body)?),
        Method::Authorize => Request::Authorize(parse_required(body)?),
        Method::SignHash => Request::SignHash(parse_required(body)?),
    })
}

/// Everything the service checks of a request body before it looks at any state (users,
/// tokens, credentials, SADs): [`parse_request`] and each method's own checks, the functions
/// the methods call. `Ok` means the body would reach the service's state. The fuzz target
/// `csc_requests` feeds it arbitrary bytes for every method.
pub fn check_body(version: Version, method: &str, body: &[u8]) -> Result<(), CscError> {
    let method = Method::from_path(method).ok_or_else(CscError::unknown_method)?;
    match parse_request(method, body)? {
        Request::Info(_) | Request::Login(_) | Request::Revoke(_) | Request::List(_) => {}
        Request::CredentialInfo(r) => {
            r.certificate_choice()?;
        }
        Request::Authorize(r) => {
            r.check(version, super::MAX_MULTISIGN)?;
        }
        Request::SignHash(r) => {
            r.credential_id()?;
            r.check(version)?.algorithm()?;
        }
    }
    Ok(())
}

/// Which certificates `credentials/info` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CertificateChoice {
    None,
    Single,
    Chain,
}

impl CredentialInfoRequest {
    pub(super) fn certificate_choice(&self) -> Result<CertificateChoice, CscError> {
        match self.certificates.as_deref().unwrap_or("single") {
            "none" => Ok(CertificateChoice::None),
            "single" => Ok(CertificateChoice::Single),
            "chain" => Ok(CertificateChoice::Chain),
            _ => Err(CscError::request("Invalid parameter certificates")),
        }
    }
}

/// An authorization request that passed its own checks (the credential's are the service's).
#[derive(Debug)]
pub(super) struct Authorization {
    pub(super) hashes: Vec<Vec<u8>>,
    pub(super) digest: Option<DigestAlgorithm>,
    pub(super) pin: Secret,
}

impl AuthorizeRequest {
    /// The checks of `credentials/authorize` on the body alone, in the order the method makes
    /// them after finding the credential; `multisign` is the service's limit.
    pub(super) fn check(self, version: Version, multisign: u32) -> Result<Authorization, CscError> {
        if self.num_signatures == 0 || self.num_signatures > multisign {
            return Err(CscError::request(format!(
                "Invalid parameter numSignatures (1 to {multisign})"
            )));
        }
        let hashes = hash_list(version, self.hash, self.hashes)?;
        if hashes.len() != self.num_signatures as usize {
            return Err(CscError::request(
                "The number of hashes does not match numSignatures",
            ));
        }
        let digest = match &self.hash_algorithm_oid {
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
        let pin = self
            .pin
            .filter(|p| !p.expose().is_empty() && p.expose().len() <= super::MAX_SECRET)
            .ok_or_else(|| CscError::request("Missing parameter PIN"))?;
        Ok(Authorization {
            hashes,
            digest,
            pin,
        })
    }
}

/// A signHash request that passed its own checks up to the signature algorithm, which is
/// resolved ([`SignHash::algorithm`]) once the credential accepts `sign_oid`.
#[derive(Debug)]
pub(super) struct SignHash {
    pub(super) sad: Secret,
    pub(super) hashes: Vec<Vec<u8>>,
    pub(super) hash_algo: Option<DigestAlgorithm>,
    pub(super) sign_oid: ObjectIdentifier,
    pub(super) sign_algo_params: Option<String>,
}

impl SignHashRequest {
    pub(super) fn credential_id(&self) -> Result<&str, CscError> {
        self.credential_id
            .as_deref()
            .ok_or_else(|| CscError::request("Missing parameter credentialID"))
    }

    /// The checks of `signatures/signHash` on the body alone, in the method's order.
    pub(super) fn check(self, version: Version) -> Result<SignHash, CscError> {
        let sad = self
            .sad
            .ok_or_else(|| CscError::request("Missing parameter SAD"))?;
        let hashes = hash_list(version, self.hash, self.hashes)?;
        let hash_algo = match (version, &self.hash_algo, &self.hash_algorithm_oid) {
            (Version::V1, a, None) => a.as_deref().map(digest_oid).transpose()?,
            (Version::V2, None, a) => a.as_deref().map(digest_oid).transpose()?,
            _ => return Err(CscError::request("Unexpected hash algorithm parameter")),
        };
        let sign_oid = ObjectIdentifier::new(&self.sign_algo)
            .map_err(|_| CscError::request("Invalid parameter signAlgo"))?;
        Ok(SignHash {
            sad,
            hashes,
            hash_algo,
            sign_oid,
            sign_algo_params: self.sign_algo_params,
        })
    }
}

impl SignHash {
    /// The signature algorithm from signAlgo, signAlgoParams and the hash algorithm, and the
    /// hashes' lengths checked against it.
    pub(super) fn algorithm(&self) -> Result<kyso_cms::SignatureAlgorithm, CscError> {
        let params = match &self.sign_algo_params {
            Some(p) => Some(
                STANDARD
                    .decode(p)
                    .map_err(|_| CscError::request("Invalid parameter signAlgoParams"))?,
            ),
            None => None,
        };
        let alg = kyso_cms::verify::signature_algorithm_from(
            &self.sign_oid,
            params.as_deref(),
            self.hash_algo,
        )
        .ok_or_else(|| {
            CscError::request("Invalid parameter signAlgo or signAlgoParams (or missing hashAlgo)")
        })?;
        if self.hash_algo.is_some_and(|h| h != alg.digest()) {
            return Err(CscError::request(
                "The hash algorithm does not match signAlgo",
            ));
        }
        if self
            .hashes
            .iter()
            .any(|h| h.len() != alg.digest().output_len())
        {
            return Err(CscError::request(
                "Invalid parameter hash: length does not match the hash algorithm",
            ));
        }
        Ok(alg)
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, CscError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_required(body)
}

pub(super) fn parse_required<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CscError> {
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
pub(super) fn hash_list(
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

pub(super) fn digest_oid(s: &str) -> Result<DigestAlgorithm, CscError> {
    ObjectIdentifier::new(s)
        .ok()
        .and_then(|o| DigestAlgorithm::from_oid(&o))
        .ok_or_else(|| CscError::request("Invalid parameter hashAlgo: unsupported digest"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_method_body_is_checked_before_any_state() {
        let h = STANDARD.encode([7u8; 32]);
        let ok = |m: &str, b: &str| check_body(Version::V2, m, b.as_bytes());
        assert!(ok("info", "").is_ok());
        assert_eq!(ok("nope", "").unwrap_err().status, StatusCode::NOT_FOUND);
        assert!(ok("credentials/list", r#"{"maxResults":1}"#).is_ok());
        assert!(ok("credentials/list", r#"{"maxResults":-1}"#).is_err());
        assert!(ok(
            "credentials/info",
            r#"{"credentialID":"a","certificates":"all"}"#
        )
        .is_err());
        let authorize =
            format!(r#"{{"credentialID":"a","numSignatures":1,"hashes":["{h}"],"PIN":"1"}}"#);
        assert!(ok("credentials/authorize", &authorize).is_ok());
        let no_pin = format!(r#"{{"credentialID":"a","numSignatures":1,"hashes":["{h}"]}}"#);
        let e = ok("credentials/authorize", &no_pin).unwrap_err();
        assert_eq!(e.description, "Missing parameter PIN");
        let two = format!(r#"{{"credentialID":"a","numSignatures":2,"hashes":["{h}"],"PIN":"1"}}"#);
        assert!(ok("credentials/authorize", &two).is_err());
        let sign = |algo: &str| {
            format!(
                r#"{{"credentialID":"a","SAD":"s","hashes":["{h}"],"signAlgo":"{algo}","hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}}"#
            )
        };
        assert!(ok("signatures/signHash", &sign("1.2.840.113549.1.1.11")).is_ok());
        assert!(ok("signatures/signHash", &sign("1.2.840.10045.4.3.3")).is_err());
        assert!(ok("signatures/signHash", &sign("not an oid")).is_err());
        assert_eq!(
            ok("signatures/signHash", r#"{"signAlgo":"1.2.3"}"#)
                .unwrap_err()
                .description,
            "Missing parameter credentialID"
        );
    }
}
