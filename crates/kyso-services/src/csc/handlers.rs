//! `info`, `credentials/list`, `credentials/info`, the dispatch of one request to its method,
//! and the HTTP entry point.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kyso_x509::{oid, KeyKind};
use serde_json::{json, Value};

use super::requests::{
    json_response, parse_request, CertificateChoice, CredentialInfoRequest, CscError, InfoRequest,
    ListRequest, Method, Request, Version,
};
use super::{CscService, MAX_BODY};

impl CscService {
    fn info(&self, version: Version, _req: InfoRequest) -> Result<Value, CscError> {
        let methods = [
            "auth/login",
            "auth/revoke",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "signatures/signHash",
        ];
        let mut v = json!({
            "specs": if version == Version::V2 { "2.0.0.2" } else { "1.0.4.0" },
            "name": self.name,
            "logo": "",
            "region": "VN",
            "lang": "vi",
            "description": "kyso remote signing service (CSC API)",
            "authType": ["basic"],
            "methods": methods,
        });
        if version == Version::V2 {
            let algos: Vec<String> = [
                oid::RSA_ENCRYPTION,
                oid::SHA256_WITH_RSA,
                oid::SHA384_WITH_RSA,
                oid::SHA512_WITH_RSA,
                oid::RSASSA_PSS,
                oid::ECDSA_SHA256,
                oid::ECDSA_SHA384,
            ]
            .iter()
            .map(ToString::to_string)
            .collect();
            if let Some(o) = v.as_object_mut() {
                o.insert("signAlgorithms".into(), json!({ "algos": algos }));
            }
        }
        Ok(v)
    }

    fn list(&self, user: &str, req: ListRequest) -> Result<Value, CscError> {
        if req.user_id.as_deref().is_some_and(|u| u != user) {
            return Err(CscError::request("Invalid parameter userID"));
        }
        let ids: Vec<&str> = self
            .credentials
            .iter()
            .filter(|c| c.owner == user)
            .map(|c| c.id.as_str())
            .collect();
        Ok(json!({ "credentialIDs": ids }))
    }

    fn credential_info(
        &self,
        version: Version,
        user: &str,
        req: CredentialInfoRequest,
    ) -> Result<Value, CscError> {
        let c = self.credential(user, &req.credential_id)?;
        let leaf = c
            .chain
            .first()
            .ok_or_else(|| CscError::server("credential without certificate"))?;
        let kind = leaf.key_kind();
        let mut key = json!({
            "status": "enabled",
            "algo": c.algos.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        if let Some(k) = key.as_object_mut() {
            match kind {
                KeyKind::Rsa { bits } => {
                    k.insert("len".into(), json!(bits));
                }
                KeyKind::EcP256 => {
                    k.insert("len".into(), json!(256));
                    k.insert("curve".into(), json!(oid::SECP256R1.to_string()));
                }
                KeyKind::EcP384 => {
                    k.insert("len".into(), json!(384));
                    k.insert("curve".into(), json!(oid::SECP384R1.to_string()));
                }
                _ => {}
            }
        }
        let certs: Vec<String> = match req.certificate_choice()? {
            CertificateChoice::None => Vec::new(),
            CertificateChoice::Single => vec![STANDARD.encode(leaf.der())],
            CertificateChoice::Chain => c.chain.iter().map(|x| STANDARD.encode(x.der())).collect(),
        };
        let mut cert = json!({ "status": "valid" });
        if let Some(o) = cert.as_object_mut() {
            if !certs.is_empty() {
                o.insert("certificates".into(), json!(certs));
            }
            if req.cert_info == Some(true) {
                let gt = |t: time::OffsetDateTime| {
                    format!(
                        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
                        t.year(),
                        u8::from(t.month()),
                        t.day(),
                        t.hour(),
                        t.minute(),
                        t.second()
                    )
                };
                o.insert("issuerDN".into(), json!(leaf.issuer_display()));
                o.insert("serialNumber".into(), json!(leaf.serial_hex()));
                o.insert("subjectDN".into(), json!(leaf.subject_display()));
                o.insert("validFrom".into(), json!(gt(leaf.not_before())));
                o.insert("validTo".into(), json!(gt(leaf.not_after())));
            }
        }
        let mut v = json!({
            "description": c.description,
            "key": key,
            "cert": cert,
            "SCAL": "2",
            "multisign": self.multisign,
            "lang": "vi",
        });
        if let Some(o) = v.as_object_mut() {
            match version {
                Version::V2 => {
                    o.insert(
                        "auth".into(),
                        json!({
                            "mode": "explicit",
                            "expression": "PIN",
                            "objects": [{
                                "type": "Password",
                                "id": "PIN",
                                "format": "A",
                                "label": "PIN",
                                "description": "The credential's PIN",
                            }],
                        }),
                    );
                }
                Version::V1 => {
                    o.insert("authMode".into(), json!("explicit"));
                    o.insert(
                        "PIN".into(),
                        json!({
                            "presence": "true",
                            "format": "A",
                            "label": "PIN",
                            "description": "The credential's PIN",
                        }),
                    );
                }
            }
        }
        Ok(v)
    }

    /// Answer one request (blocking: PBKDF2, PKCS#12 decryption and signing happen here).
    /// The access token is checked before the body is read; the body is parsed for its method
    /// ([`parse_request`]) before any method runs.
    fn handle(
        &self,
        version: Version,
        method: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Response, CscError> {
        let method = Method::from_path(method).ok_or_else(CscError::unknown_method)?;
        let user = if method.needs_token() {
            self.bearer(authorization)?
        } else {
            String::new()
        };
        let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
        match parse_request(method, body)? {
            Request::Info(r) => ok(self.info(version, r)?),
            Request::Login(r) => ok(self.login(authorization, r)?),
            Request::Revoke(r) => {
                self.revoke(&user, authorization, r)?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Request::List(r) => ok(self.list(&user, r)?),
            Request::CredentialInfo(r) => ok(self.credential_info(version, &user, r)?),
            Request::Authorize(r) => ok(self.authorize(version, &user, r)?),
            Request::SignHash(r) => ok(self.sign_hash(version, &user, r)?),
        }
    }
}

async fn csc(
    State(s): State<Arc<CscService>>,
    UrlPath((version, method)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let version = match Version::from_path(&version) {
        Some(v) => v,
        None => {
            return CscError {
                status: StatusCode::NOT_FOUND,
                error: "invalid_request",
                description: "Unknown API version".to_owned(),
            }
            .into_response()
        }
    };
    // A declared length over the cap is refused before reading anything; an undeclared
    // (chunked) body is read up to the cap.
    let too_large =
        || CscError::request(format!("The request body is larger than {MAX_BODY} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large().into_response();
    }
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => zeroize::Zeroizing::new(b.to_vec()),
        Err(_) => return too_large().into_response(),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| zeroize::Zeroizing::new(v.to_owned()));
    let answer = tokio::task::spawn_blocking(move || {
        s.handle(
            version,
            &method,
            authorization.as_ref().map(|a| a.as_str()),
            &body,
        )
    })
    .await;
    match answer {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(_) => CscError::server("internal error").into_response(),
    }
}

/// The CSC router (mountable inside a larger server).
pub fn router(service: Arc<CscService>) -> Router {
    Router::new()
        .route("/csc/{version}/{*method}", post(csc))
        .layer(axum::middleware::from_fn(crate::trace::requests))
        .with_state(service)
}
