//! The agent's HTTP face: the router, the peer and origin guards, the VGCA WebSocket per
//! operation, and the JSON API for kyso's own web UI.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use kyso_cms::SignRequest;
use kyso_i18n::Lang;
use kyso_x509::Cert;
use serde_json::json;

use super::protocol::{status, STATUS_ERROR};
use super::signing::operation;
use super::{is_local_address, Agent, MAX_REQUEST, REQUEST_WAIT};

/// The agent's router: the VGCA operations and the JSON API, for 127.0.0.1 and ::1 only.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route(
            "/api/certificates",
            get(api_certificates).options(api_preflight),
        )
        .route(
            "/api/sign",
            axum::routing::post(api_sign).options(api_preflight),
        )
        .route("/{op}", get(ws_operation))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .layer(axum::middleware::from_fn(local_peers_only))
        .layer(axum::middleware::from_fn(crate::trace::requests))
        .with_state(agent)
}

/// Refuse a connection from any address but 127.0.0.1 and ::1 (on Linux a program can
/// connect to 127.0.0.1 from 127.0.0.2); a connection whose address is unknown is refused too.
async fn local_peers_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if peer.is_some_and(is_local_address) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "Dịch vụ ký chỉ nhận kết nối từ 127.0.0.1 hoặc ::1.",
        )
            .into_response()
    }
}

async fn ws_operation(
    State(agent): State<Arc<Agent>>,
    UrlPath(op): UrlPath<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(origin) = agent.allowed_origin(&headers) else {
        agent.log(&format!(
            "refused {op}: origin {:?} is not allowed",
            headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        ));
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    };
    ws.max_message_size(MAX_REQUEST)
        .max_frame_size(MAX_REQUEST)
        .on_upgrade(move |socket| handle_socket(agent, op, origin, socket))
}

async fn handle_socket(agent: Arc<Agent>, op: String, origin: String, mut socket: WebSocket) {
    let request = match tokio::time::timeout(REQUEST_WAIT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => t.as_str().to_owned(),
        Ok(Some(Ok(Message::Binary(b)))) => String::from_utf8_lossy(&b).into_owned(),
        _ => return,
    };
    let reply = if agent.rate_ok() {
        let a = agent.clone();
        let op2 = op.clone();
        tokio::task::spawn_blocking(move || operation(&a, &op2, &origin, &request))
            .await
            .unwrap_or_else(|_| status(STATUS_ERROR, "internal error"))
    } else {
        agent.log(&format!("refused {op}: rate limit"));
        status(
            STATUS_ERROR,
            agent.msg(
                "Quá nhiều yêu cầu ký, hãy thử lại sau ít phút",
                "Too many requests, try again in a few minutes",
            ),
        )
    };
    let _ = socket.send(Message::Text(reply.to_string().into())).await;
    let _ = socket.send(Message::Close(None)).await;
}

// ---------------------------------------------------------------------------------------------
// The JSON API for kyso's own web UI

fn cors(origin: &str, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    resp
}

fn api_error(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

async fn api_preflight(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    let Some(origin) = agent.allowed_origin(&headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    // Chrome's Private Network Access: a public page calling a loopback service.
    h.insert(
        "access-control-allow-private-network",
        HeaderValue::from_static("true"),
    );
    cors(&origin, resp)
}

async fn api_certificates(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    let Some(origin) = agent.allowed_origin(&headers) else {
        return api_error(StatusCode::FORBIDDEN, "origin not allowed");
    };
    if !agent.rate_ok() {
        return cors(
            &origin,
            api_error(StatusCode::TOO_MANY_REQUESTS, "rate limit"),
        );
    }
    let c = &agent.cert;
    let b64 = |c: &Cert| base64::engine::general_purpose::STANDARD.encode(c.der());
    let body = json!({
        "certificates": [{
            "subject": c.subject_display(),
            "common_name": c.common_name(),
            "issuer": c.issuer_display(),
            "serial": c.serial_hex(),
            "not_before": kyso_pades::validate::display_time(c.not_before()),
            "not_after": kyso_pades::validate::display_time(c.not_after()),
            "certificate": b64(c),
            "chain": agent.chain.iter().map(b64).collect::<Vec<_>>(),
            "key": agent.key.describe(),
        }]
    });
    cors(&origin, axum::Json(body).into_response())
}

/// What kyso's web UI asks the agent to sign: the DER of CMS signed attributes the server
/// prepared, and a description for the user.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSignRequest {
    signed_attributes: String,
    #[serde(default)]
    description: String,
}

async fn api_sign(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(origin) = agent.allowed_origin(&headers) else {
        return api_error(StatusCode::FORBIDDEN, "origin not allowed");
    };
    if !agent.rate_ok() {
        return cors(
            &origin,
            api_error(StatusCode::TOO_MANY_REQUESTS, "rate limit"),
        );
    }
    let a = agent.clone();
    let o = origin.clone();
    let resp = tokio::task::spawn_blocking(move || api_sign_blocking(&a, &o, &body))
        .await
        .unwrap_or_else(|_| api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"));
    cors(&origin, resp)
}

fn api_sign_blocking(agent: &Agent, origin: &str, body: &[u8]) -> Response {
    let req: ApiSignRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")),
    };
    let Ok(attrs) = base64::engine::general_purpose::STANDARD.decode(req.signed_attributes.trim())
    else {
        return api_error(StatusCode::BAD_REQUEST, "signed_attributes is not base64");
    };
    // Only CMS signed attributes are signed — never an arbitrary blob, which could be a
    // challenge of some other protocol.
    let message_digest = match signed_attributes_digest(&attrs) {
        Ok(d) => d,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e),
    };
    let description: String = req
        .description
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let request_text = match agent.lang {
        Lang::Vi => format!(
            "Yêu cầu ký từ {origin}: {description} (mã băm tài liệu {})",
            hex_short(&message_digest)
        ),
        Lang::En => format!(
            "Signing request from {origin}: {description} (document digest {})",
            hex_short(&message_digest)
        ),
    };
    let opened = match agent.confirm_and_open(&request_text, (agent.now)()) {
        Ok(Some(s)) => s,
        Ok(None) => {
            agent.log(&format!("api sign from {origin}: cancelled by the user"));
            return api_error(StatusCode::FORBIDDEN, "cancelled by the user");
        }
        Err(e) => {
            agent.log(&format!("api sign from {origin}: error: {}", e.en));
            return api_error(StatusCode::UNPROCESSABLE_ENTITY, e.message(agent.lang));
        }
    };
    let algorithm = opened.signer.algorithm();
    let digest = algorithm.digest().digest(&attrs);
    let signature = match opened.signer.sign(&SignRequest {
        message: &attrs,
        digest: &digest,
        algorithm,
    }) {
        Ok(s) => s,
        Err(e) => {
            agent.log(&format!("api sign from {origin}: signing failed: {e}"));
            return api_error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
        }
    };
    agent.log(&format!("api sign from {origin}: signed"));
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    axum::Json(json!({
        "signature": b64(&signature),
        "signature_algorithm": algorithm.identifier().map(|i| i.oid.to_string()).unwrap_or_default(),
        "certificate": b64(opened.signer.certificate().der()),
        "chain": opened.signer.chain().iter().map(|c| b64(c.der())).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// The message-digest attribute of DER signed attributes that also carry a content type.
fn signed_attributes_digest(der: &[u8]) -> Result<Vec<u8>, &'static str> {
    let attrs = kyso_cms::verify::read_signed_attrs(der)
        .map_err(|_| "signed_attributes is not a DER SET OF Attribute")?;
    if attrs.content_type.is_none() {
        return Err("no content-type attribute");
    }
    attrs.message_digest.ok_or("no message-digest attribute")
}

fn hex_short(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect::<String>()
        + "…"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cms_signed_attributes_are_signed() {
        let tls = kyso_pki::local_tls::generate(
            "test",
            time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        )
        .unwrap();
        let cert = kyso_x509::Cert::from_pem_chain(tls.cert_pem.as_bytes())
            .unwrap()
            .remove(0);
        let attrs = kyso_cms::SignedAttributes::pades(
            &[7u8; 32],
            kyso_cms::SignatureAlgorithm::default_for(cert.key_kind()).unwrap(),
            &cert,
        )
        .unwrap();
        assert_eq!(signed_attributes_digest(attrs.der()), Ok(vec![7u8; 32]));
        assert!(signed_attributes_digest(b"\x30\x00").is_err());
        assert!(signed_attributes_digest(b"\x31\x00").is_err());
        assert!(signed_attributes_digest(b"not der").is_err());
    }
}
