//! `kyso agent`: the signing service on the official's own computer that a web page drives to
//! sign with the user's key (a USB token, or a PKCS#12 file).
//!
//! Two faces, on 127.0.0.1 only:
//! - the **VGCA Sign Service protocol** that Vietnamese document systems already speak: one
//!   WebSocket per operation at `ws://127.0.0.1:PORT/<Operation>` (`SignApproved`,
//!   `SignIssued`, `SignAppendix`, `SignCopy`, `SignIncome`, `SignPDF`, `VerifyPDF`,
//!   `GetCertInfo`, `GetVersion`), one JSON request in, one JSON reply out. For a signing
//!   operation the agent downloads `FileName` (with `JWTToken` as a bearer token and
//!   `SessionId` as a cookie), asks the user to confirm, signs in the Decree 30 form the
//!   operation names, and POSTs the signed PDF as the multipart field `uploadfile` to
//!   `FileUploadHandler`; the reply carries `Status` (0 done, 1 error, 11 cancelled by the
//!   user), `Message`, `FileName`, `FileServer`, `DocumentNumber`, `DocumentDate`.
//! - a plain JSON API for kyso's own web UI: `GET /api/certificates`, and `POST /api/sign`
//!   with CMS signed attributes prepared by the server (two-phase signing), answered with the
//!   signature value.
//!
//! Guards: only listed web origins may call (the `Origin` header, checked before the
//! WebSocket upgrade and on every API call); a token bucket limits requests; every signature
//! needs the user's confirmation — the PIN (or PKCS#12 password) typed at the agent's
//! terminal after the request is shown there. Lines typed before a request arrives are
//! discarded, so nothing can be confirmed in advance. The key is opened for that one signature
//! and closed again; the PIN is zeroized. Secrets (PINs, `JWTToken`, `SessionId`, URL query
//! strings that may hold one-time tokens) never reach the log.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use kyso_cms::{SignRequest, Signer};
use kyso_keys::Secret;
use kyso_pades::forms::{CopyForm, Position, VisibleForm};
use kyso_pades::SignOptions;
use kyso_x509::Cert;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::keys::KeyArgs;
use crate::lang::{Lang, UserError};
use crate::{errors, ue};

/// Largest request message (a WebSocket request or an API body).
const MAX_REQUEST: usize = 64 * 1024;
/// Largest document downloaded for signing or verifying.
const MAX_DOCUMENT: u64 = 100 * 1024 * 1024;
/// Largest reply read from the document server's upload handler.
const MAX_UPLOAD_REPLY: u64 = 64 * 1024;
/// How long a browser may take to send its request after connecting.
const REQUEST_WAIT: Duration = Duration::from_secs(30);

/// Reply status codes of the VGCA Sign Service protocol.
const STATUS_OK: i64 = 0;
const STATUS_ERROR: i64 = 1;
const STATUS_CANCELLED: i64 = 11;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Địa chỉ lắng nghe (chỉ 127.0.0.1 / ::1; chỉ nhận kết nối từ hai địa chỉ này)
    #[arg(long, value_name = "IP:CỔNG", default_value = "127.0.0.1:8987")]
    listen: String,
    /// Nguồn web được phép gọi (ví dụ https://vanban.tinhdemo.gov.vn); lặp lại cho nhiều nguồn
    #[arg(long = "allow-origin", value_name = "ORIGIN", required = true)]
    allow_origins: Vec<String>,
    #[command(flatten)]
    key: KeyArgs,
    /// Ảnh chữ ký cá nhân (PNG) cho SignApproved
    #[arg(long, value_name = "PNG")]
    signature_image: Option<PathBuf>,
    /// Dòng chức vụ của người ký (ví dụ "GIÁM ĐỐC"): ảnh chữ ký đặt giữa dòng này và họ tên
    #[arg(long, value_name = "TEXT")]
    anchor: Option<String>,
    /// Ảnh con dấu (PNG) cho SignIssued
    #[arg(long, value_name = "PNG")]
    seal_image: Option<PathBuf>,
    /// Chứng thư gốc tin cậy cho VerifyPDF (PEM), lặp lại được; không có thì dùng danh sách tin
    /// cậy (kyso trust list)
    #[arg(long, value_name = "PEM")]
    trust: Vec<PathBuf>,
    /// Số yêu cầu tối đa mỗi phút
    #[arg(long, value_name = "N", default_value_t = 30)]
    rate_per_minute: u32,
    /// Thời gian chờ tải tệp / gửi tệp, tính bằng giây
    #[arg(long, value_name = "GIÂY", default_value_t = 30)]
    fetch_timeout: u64,
    /// Dùng wss:// và https:// (như dịch vụ ký của Ban Cơ yếu); chứng thư TLS cho 127.0.0.1 được
    /// tạo lần đầu trong --tls-dir, cần cài ca.pem vào trình duyệt một lần
    #[arg(long)]
    tls: bool,
    /// Thư mục chứng thư TLS của dịch vụ (mặc định ~/.config/kyso/agent-tls)
    #[arg(long, value_name = "DIR", requires = "tls")]
    tls_dir: Option<PathBuf>,
    /// Chứng thư TLS có sẵn (PEM, kèm chuỗi) thay cho chứng thư tự tạo
    #[arg(long, value_name = "PEM", requires_all = ["tls", "tls_key"])]
    tls_cert: Option<PathBuf>,
    /// Khóa của chứng thư TLS có sẵn (PEM)
    #[arg(long, value_name = "PEM", requires_all = ["tls", "tls_cert"], conflicts_with = "tls_dir")]
    tls_key: Option<PathBuf>,
    /// Thời gian chờ người dùng xác nhận, tính bằng giây
    #[arg(long, value_name = "GIÂY", default_value_t = 120)]
    confirm_timeout: u64,
}

/// The agent's state, shared by all connections.
struct Agent {
    key: KeyArgs,
    /// The signer's certificate and chain, read at start.
    cert: Cert,
    chain: Vec<Cert>,
    origins: Vec<String>,
    signature_image: Option<Vec<u8>>,
    anchor: Option<String>,
    seal_image: Option<Vec<u8>>,
    trust: Vec<PathBuf>,
    limiter: Mutex<Bucket>,
    console: Console,
    /// Held from a request's confirmation until its key is closed.
    signing: Mutex<()>,
    http: ureq::Agent,
    lang: Lang,
}

/// A token bucket: `per_minute` requests a minute, bursts up to a third of that (at least 3).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        let capacity = (per_minute / 3.0).floor().max(3.0);
        Bucket {
            tokens: capacity,
            capacity,
            per_second: per_minute / 60.0,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The agent's terminal: one reader thread turns input lines into secrets; a confirmation
/// discards what was typed before it, shows the request and waits for the next line.
struct Console {
    lines: Mutex<mpsc::Receiver<Secret>>,
    timeout: Duration,
}

impl Console {
    fn start(timeout: Duration) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let line = if std::io::stdin().is_terminal() {
                rpassword::read_password().ok()
            } else {
                let mut s = String::new();
                match std::io::stdin().lock().read_line(&mut s) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => {
                        let trimmed = s.trim_end_matches(['\r', '\n']).to_owned();
                        zeroize::Zeroize::zeroize(&mut s);
                        Some(trimmed)
                    }
                }
            };
            match line {
                Some(l) => {
                    if tx.send(Secret::new(l)).is_err() {
                        return;
                    }
                }
                None => return,
            }
        });
        Console {
            lines: Mutex::new(rx),
            timeout,
        }
    }

    /// Show `request` and wait for the PIN. `None`: refused (an empty line), no answer in
    /// time, or no terminal.
    fn confirm(&self, request: &str, prompt: &str) -> Option<Secret> {
        let rx = self.lines.lock().ok()?;
        while rx.try_recv().is_ok() {}
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "\n{request}");
        let _ = write!(out, "{prompt}");
        let _ = out.flush();
        drop(out);
        match rx.recv_timeout(self.timeout) {
            Ok(pin) if !pin.expose().is_empty() => Some(pin),
            _ => None,
        }
    }
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        ue!("địa chỉ lắng nghe không hợp lệ: {} (dạng 127.0.0.1:CỔNG)", args.listen; "invalid listen address: {} (127.0.0.1:PORT)", args.listen)
    })?;
    if !is_local_address(addr.ip()) {
        return Err(ue!("dịch vụ ký chỉ lắng nghe trên máy này (127.0.0.1 hoặc ::1), không nhận {}", addr.ip(); "the agent listens on this computer only (127.0.0.1 or ::1), not on {}", addr.ip()).into());
    }
    let origins = args
        .allow_origins
        .iter()
        .map(|o| normalize_origin(o))
        .collect::<Result<Vec<_>, _>>()?;
    let read_image = |p: &Option<PathBuf>| -> Result<Option<Vec<u8>>, UserError> {
        p.as_ref()
            .map(|p| {
                crate::sign::read_limited(p, kyso_pdf::image::ImageLimits::default().max_bytes)
            })
            .transpose()
    };
    let signature_image = read_image(&args.signature_image)?;
    let seal_image = read_image(&args.seal_image)?;
    // Open the key once to learn its certificate (and that the PIN works), then close it:
    // each signature opens it again after the user confirms.
    let (cert, chain) = {
        let signer = crate::keys::open(&args.key, crate::clock::now())?;
        // The chain up to the root, completed once (as kyso sign does, AIA included).
        let signer = crate::chain::complete_signer(signer, &[], false, args.fetch_timeout)?;
        (signer.certificate().clone(), signer.chain().to_vec())
    };
    let timeout = Duration::from_secs(args.fetch_timeout.clamp(1, 600));
    let http: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("kyso-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let agent = Arc::new(Agent {
        key: args.key,
        cert,
        chain,
        origins,
        signature_image,
        anchor: args.anchor,
        seal_image,
        trust: args.trust,
        limiter: Mutex::new(Bucket::new(args.rate_per_minute)),
        console: Console::start(Duration::from_secs(args.confirm_timeout.max(1))),
        signing: Mutex::new(()),
        http,
        lang,
    });
    let tls = if args.tls {
        let (cert, key) = match (args.tls_cert, args.tls_key) {
            (Some(c), Some(k)) => (c, k),
            _ => {
                let dir = args.tls_dir.unwrap_or_else(crate::tls::default_dir);
                let (ca, cert, key, made) =
                    crate::tls::local_certificate(&dir, crate::clock::now())?;
                if made {
                    match lang {
                        Lang::Vi => println!("Đã tạo chứng thư TLS cho 127.0.0.1. Cài {} vào kho chứng thư tin cậy của trình duyệt (một lần) để trang web kết nối được wss://.", ca.display()),
                        Lang::En => println!("Made a TLS certificate for 127.0.0.1. Add {} to the browser's trusted certificates (once) so pages can connect with wss://.", ca.display()),
                    }
                }
                (cert, key)
            }
        };
        Some(crate::tls::server_config(&cert, &key)?)
    } else {
        None
    };
    let (ws, http) = if tls.is_some() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    let key = agent.key.describe();
    let subject = agent.cert.common_name().unwrap_or_default();
    let allowed = agent.origins.join(", ");
    crate::pki_serve::run_service(addr, Some(2), tls, router(agent), |local| {
        match lang {
        Lang::Vi => println!(
            "Dịch vụ ký số kyso đang chạy tại {ws}://{local}/<Thao tác> và {http}://{local}/api (Ctrl-C để dừng)\n  Khóa ký: {key} — {subject}\n  Nguồn được phép: {allowed}"
        ),
        Lang::En => println!(
            "kyso signing agent running at {ws}://{local}/<Operation> and {http}://{local}/api (Ctrl-C to stop)\n  Key: {key} — {subject}\n  Allowed origins: {allowed}"
        ),
    }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `scheme://host[:port]`, lower-case, without a trailing slash.
fn normalize_origin(o: &str) -> Result<String, UserError> {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    let ok = (o.starts_with("http://") || o.starts_with("https://"))
        && !o
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains('/') || rest.is_empty());
    if ok {
        Ok(o)
    } else {
        Err(
            ue!("nguồn web không hợp lệ: {} (dạng https://tên-miền[:cổng])", o; "invalid web origin: {} (https://host[:port])", o),
        )
    }
}

fn router(agent: Arc<Agent>) -> Router {
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
        .with_state(agent)
}

/// The addresses the agent's help names, and no others: 127.0.0.1 and ::1 (not the rest of
/// 127.0.0.0/8, which `is_loopback` accepts).
fn is_local_address(ip: std::net::IpAddr) -> bool {
    ip == std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        || ip == std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
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

impl Agent {
    /// The caller's origin when it is allowed.
    fn allowed_origin(&self, headers: &HeaderMap) -> Option<String> {
        let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
        let origin = normalize_origin(origin).ok()?;
        self.origins.contains(&origin).then_some(origin)
    }

    fn rate_ok(&self) -> bool {
        self.limiter.lock().map(|mut b| b.take()).unwrap_or(false)
    }

    fn msg<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(vi, en)
    }

    /// Ask the user; open the key with what they typed. `Ok(None)`: the user refused.
    ///
    /// One request at a time, from confirmation until the key is closed: a PKCS#11 token is
    /// logged in per application, so a second login while a first key is open would succeed
    /// whatever PIN was typed.
    fn confirm_and_open(
        &self,
        request: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Opened<'_>>, UserError> {
        let one_at_a_time = self
            .signing
            .lock()
            .map_err(|_| ue!("lỗi nội bộ của dịch vụ ký"; "internal error of the agent"))?;
        let prompt = match self.lang {
            Lang::Vi => format!(
                "Nhập mã PIN ({}) để ký, hoặc Enter để từ chối: ",
                self.key.describe()
            ),
            Lang::En => format!(
                "Type the PIN ({}) to sign, or Enter to refuse: ",
                self.key.describe()
            ),
        };
        let Some(pin) = self.console.confirm(request, &prompt) else {
            return Ok(None);
        };
        let signer = crate::keys::open_with_secret(&self.key, &pin, now)?;
        let signer = crate::chain::with_chain(signer, &self.chain);
        drop(pin);
        if signer.certificate().der() != self.cert.der() {
            return Err(
                ue!("khóa ký đã thay đổi từ khi dịch vụ khởi động; hãy khởi động lại dịch vụ ký"; "the signing key changed since the agent started; restart the agent"),
            );
        }
        Ok(Some(Opened {
            signer,
            _one_at_a_time: one_at_a_time,
        }))
    }
}

/// A key opened for one confirmed request; no other request is confirmed until it is dropped.
struct Opened<'a> {
    signer: Box<dyn Signer>,
    _one_at_a_time: std::sync::MutexGuard<'a, ()>,
}

fn log(line: &str) {
    eprintln!("[kyso agent] {line}");
}

/// A URL for the log: scheme, host and path, never the query (one-time tokens live there).
fn loggable_url(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// The VGCA Sign Service protocol

async fn ws_operation(
    State(agent): State<Arc<Agent>>,
    UrlPath(op): UrlPath<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(origin) = agent.allowed_origin(&headers) else {
        log(&format!(
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
        log(&format!("refused {op}: rate limit"));
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

fn status(code: i64, message: &str) -> Value {
    json!({ "Status": code, "Message": message })
}

/// One request of the VGCA protocol, its fields as the document systems send them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct VgcaRequest {
    file_name: Option<String>,
    file_upload_handler: Option<String>,
    session_id: Option<String>,
    #[serde(rename = "JWTToken")]
    jwt_token: Option<String>,
    doc_number: Option<String>,
    issued_date: Option<String>,
    meta_data: Option<Vec<MetaItem>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct MetaItem {
    key: String,
    value: Value,
}

/// The signing operations and the Decree 30 form each one applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignOp {
    /// "Ký phê duyệt": the authority's personal signature.
    Approved,
    /// "Đóng dấu phát hành": the organization's signature at issuance, with number and date.
    Issued,
    /// "Ký phụ lục": an appendix of a numbered document.
    Appendix,
    /// "Ký bản sao điện tử": an electronic copy.
    Copy,
    /// "Ký công văn đến": an incoming paper document digitised by the clerk.
    Income,
    /// A plain (invisible) signature.
    Pdf,
}

impl SignOp {
    fn from_name(op: &str) -> Option<Self> {
        Some(match op {
            "SignApproved" => SignOp::Approved,
            "SignIssued" => SignOp::Issued,
            "SignAppendix" => SignOp::Appendix,
            "SignCopy" => SignOp::Copy,
            "SignIncome" => SignOp::Income,
            "SignPDF" => SignOp::Pdf,
            _ => return None,
        })
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            SignOp::Approved => lang.pick("Ký phê duyệt", "Approval signature"),
            SignOp::Issued => lang.pick("Đóng dấu phát hành", "Issuing (organization) signature"),
            SignOp::Appendix => lang.pick("Ký phụ lục", "Appendix signature"),
            SignOp::Copy => lang.pick("Ký bản sao điện tử", "Electronic copy signature"),
            SignOp::Income => lang.pick("Ký công văn đến", "Incoming document signature"),
            SignOp::Pdf => lang.pick("Ký tệp PDF", "PDF signature"),
        }
    }
}

/// Handle one operation (on the blocking pool: it downloads, waits for the user, signs).
fn operation(agent: &Agent, op: &str, origin: &str, request: &str) -> Value {
    let req: VgcaRequest = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(_) => {
            log(&format!("refused {op} from {origin}: not a JSON request"));
            return status(
                STATUS_ERROR,
                agent.msg(
                    "Yêu cầu không phải JSON hợp lệ",
                    "The request is not valid JSON",
                ),
            );
        }
    };
    let result = match op {
        "GetVersion" => Ok(json!({
            "Status": STATUS_OK,
            "Message": format!("kyso {}", env!("CARGO_PKG_VERSION")),
            "Version": env!("CARGO_PKG_VERSION"),
        })),
        "GetCertInfo" => Ok(json!({
            "Status": STATUS_OK,
            "Message": agent.msg("Thông tin chứng thư số", "Certificate information"),
            "CertInfo": cert_json(&agent.cert, &agent.chain),
        })),
        "VerifyPDF" => verify_pdf(agent, &req),
        other => match SignOp::from_name(other) {
            Some(sign_op) => sign_pdf(agent, sign_op, origin, &req),
            None => Err(
                ue!("thao tác {} không được hỗ trợ", other; "operation {} is not supported", other),
            ),
        },
    };
    match result {
        Ok(v) => {
            log(&format!(
                "{op} from {origin}: status {}",
                v.get("Status").and_then(Value::as_i64).unwrap_or(-1)
            ));
            v
        }
        Err(e) => {
            log(&format!("{op} from {origin}: error: {}", e.en));
            status(STATUS_ERROR, e.message(agent.lang))
        }
    }
}

fn cert_json(cert: &Cert, chain: &[Cert]) -> Value {
    let b64 = |c: &Cert| base64::engine::general_purpose::STANDARD.encode(c.der());
    json!({
        "Subject": cert.subject_display(),
        "Issuer": cert.issuer_display(),
        "CommonName": cert.common_name(),
        "SerialNumber": cert.serial_hex(),
        "NotBefore": kyso_pades::validate::display_time(cert.not_before()),
        "NotAfter": kyso_pades::validate::display_time(cert.not_after()),
        "Base64": b64(cert),
        "Chain": chain.iter().map(b64).collect::<Vec<_>>(),
    })
}

/// Download the document named by the request into a temporary file.
fn download(agent: &Agent, req: &VgcaRequest) -> Result<tempfile::NamedTempFile, UserError> {
    let url = req
        .file_name
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ue!("yêu cầu thiếu FileName (địa chỉ tệp cần ký)"; "the request has no FileName (the document's URL)"))?;
    check_url(url)?;
    let call = with_page_credentials(agent.http.get(url), req);
    let shown = loggable_url(url);
    let mut resp = call.call().map_err(
        |e| ue!("không tải được tệp {}: {}", shown, e; "cannot download {}: {}", shown, e),
    )?;
    if !resp.status().is_success() {
        let code = resp.status().as_u16();
        return Err(
            ue!("máy chủ văn bản trả lỗi HTTP {} khi tải {}", code, shown; "the document server answered HTTP {} for {}", code, shown),
        );
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".kyso-agent-")
        .suffix(".pdf")
        .tempfile()
        .map_err(
            |e| ue!("không tạo được tệp tạm: {}", e; "cannot create a temporary file: {}", e),
        )?;
    let copied = std::io::copy(
        &mut resp.body_mut().as_reader().take(MAX_DOCUMENT + 1),
        tmp.as_file_mut(),
    )
    .map_err(|e| ue!("không tải được tệp {}: {}", shown, e; "cannot download {}: {}", shown, e))?;
    if copied > MAX_DOCUMENT {
        return Err(
            ue!("tệp {} quá lớn (tối đa {} MB)", shown, MAX_DOCUMENT >> 20; "{} is too large (at most {} MB)", shown, MAX_DOCUMENT >> 20),
        );
    }
    Ok(tmp)
}

/// The page's credentials on a call to its document server: `JWTToken` as a bearer token,
/// `SessionId` as a cookie.
fn with_page_credentials<B>(
    mut call: ureq::RequestBuilder<B>,
    req: &VgcaRequest,
) -> ureq::RequestBuilder<B> {
    if let Some(t) = req.jwt_token.as_deref().filter(|t| !t.is_empty()) {
        call = call.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(s) = req.session_id.as_deref().filter(|s| !s.is_empty()) {
        call = call.header(header::COOKIE, format!("SessionId={s}"));
    }
    call
}

fn check_url(url: &str) -> Result<(), UserError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(
            ue!("địa chỉ không hợp lệ (cần http:// hoặc https://): {}", loggable_url(url); "not an http(s) URL: {}", loggable_url(url)),
        )
    }
}

/// The form, reason and extras for one signing operation.
fn sign_setup(
    agent: &Agent,
    op: SignOp,
    req: &VgcaRequest,
) -> Result<(Option<VisibleForm>, Option<String>), UserError> {
    let need_number = || {
        req.doc_number
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ue!("thiếu DocNumber (số, ký hiệu văn bản)"; "DocNumber (the document's number) is missing"))
    };
    let meta = || {
        req.meta_data
            .iter()
            .flatten()
            .map(|m| match &m.value {
                Value::String(s) => format!("{}: {}", m.key, s),
                v => format!("{}: {}", m.key, v),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    Ok(match op {
        SignOp::Approved => match (&agent.signature_image, &agent.anchor) {
            (Some(image), Some(anchor)) => (
                Some(VisibleForm::Personal {
                    image: image.clone(),
                    position: Position::Anchor {
                        page: None,
                        text: anchor.clone(),
                    },
                }),
                None,
            ),
            _ => (None, None),
        },
        SignOp::Issued => {
            let number = need_number()?;
            let date = req
                .issued_date
                .as_deref()
                .ok_or_else(|| ue!("thiếu IssuedDate (ngày ban hành)"; "IssuedDate is missing"))?;
            let date = OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ue!("IssuedDate không đúng định dạng ISO 8601 (ví dụ 2026-03-12T12:00:00+07:00): {}", date; "IssuedDate is not ISO 8601 (e.g. 2026-03-12T12:00:00+07:00): {}", date))?;
            let reason = format!(
                "Phát hành văn bản số {} ngày {:02}/{:02}/{}",
                number,
                date.day(),
                u8::from(date.month()),
                date.year()
            );
            let form = agent
                .seal_image
                .as_ref()
                .map(|seal| VisibleForm::Organization {
                    seal: seal.clone(),
                    diameter_mm: None,
                    page: None,
                    position: None,
                });
            (form, Some(reason))
        }
        SignOp::Appendix => (
            Some(VisibleForm::Attachment {
                doc_number: need_number()?,
            }),
            None,
        ),
        SignOp::Copy => (
            Some(VisibleForm::Copy {
                form: CopyForm::Certified,
                org_name: agent
                    .cert
                    .subject_attr(kyso_x509::oid::O)
                    .or_else(|| agent.cert.common_name())
                    .unwrap_or_default(),
            }),
            None,
        ),
        SignOp::Income => (
            None,
            Some(format!("Công văn đến {}", meta()).trim().to_owned()),
        ),
        SignOp::Pdf => (None, None),
    })
}

fn sign_pdf(
    agent: &Agent,
    op: SignOp,
    origin: &str,
    req: &VgcaRequest,
) -> Result<Value, UserError> {
    let upload_to = req
        .file_upload_handler
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ue!("yêu cầu thiếu FileUploadHandler (nơi gửi tệp đã ký)"; "the request has no FileUploadHandler (where to send the signed file)"))?;
    check_url(upload_to)?;
    let (form, reason) = sign_setup(agent, op, req)?;
    let input = download(agent, req)?;
    let pages = kyso_pdf::Document::open(
        Arc::new(
            kyso_pdf::FileSource::open(input.path()).map_err(|e| errors::io(input.path(), &e))?,
        ),
        kyso_pdf::Limits::default(),
    )
    .and_then(|d| d.pages().map(|p| p.len()))
    .map_err(|e| ue!("tệp tải về không phải PDF đọc được: {}", e; "the downloaded file is not a readable PDF: {}", e))?;
    let size = input.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    let name = file_label(req.file_name.as_deref().unwrap_or(""));
    let number = req
        .doc_number
        .as_deref()
        .map(|n| format!(", số {n}"))
        .unwrap_or_default();
    let request_text = match agent.lang {
        Lang::Vi => format!(
            "Yêu cầu ký từ {origin}: {} — tệp {name} ({pages} trang, {} KB){number}",
            op.label(agent.lang),
            size.div_ceil(1024)
        ),
        Lang::En => format!(
            "Signing request from {origin}: {} — file {name} ({pages} pages, {} KB){number}",
            op.label(agent.lang),
            size.div_ceil(1024)
        ),
    };
    let now = crate::clock::now();
    let Some(opened) = agent.confirm_and_open(&request_text, now)? else {
        log(&format!("{op:?} from {origin}: cancelled by the user"));
        return Ok(status(
            STATUS_CANCELLED,
            agent.msg("Người dùng đã từ chối ký", "The user refused to sign"),
        ));
    };
    let out = tempfile::Builder::new()
        .prefix(".kyso-agent-")
        .suffix(".pdf")
        .tempfile()
        .map_err(|e| ue!("không tạo được tệp tạm: {}", e; "cannot create a temporary file: {}", e))?
        .into_temp_path();
    let mut opts = SignOptions::new(now);
    opts.reason = reason;
    let widget = form
        .map(|f| kyso_pades::forms::widget_builder(f, now))
        .transpose()
        .map_err(|e| errors::pades(&e))?;
    kyso_pades::sign_with(input.path(), &out, &opts, opened.signer.as_ref(), widget)
        .map_err(|e| errors::pades(&e))?;
    drop(opened);
    let signed = std::fs::read(&out).map_err(|e| errors::io(&out, &e))?;
    let answer = upload(agent, req, upload_to, &name, &signed)?;
    let ok = match answer.get("Status") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        _ => false,
    };
    if !ok {
        let msg = answer
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect::<String>();
        return Err(
            ue!("máy chủ văn bản không nhận tệp đã ký: {}", msg; "the document server refused the signed file: {}", msg),
        );
    }
    let (doc_number, doc_date) = match op {
        SignOp::Issued | SignOp::Appendix => (
            req.doc_number.clone().unwrap_or_default(),
            req.issued_date.clone().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    };
    Ok(json!({
        "Status": STATUS_OK,
        "Message": agent.msg("Đã ký và gửi tệp", "Signed and uploaded"),
        "FileName": answer.get("FileName").cloned().unwrap_or(Value::Null),
        "FileServer": answer.get("FileServer").cloned().unwrap_or(Value::Null),
        "DocumentNumber": doc_number,
        "DocumentDate": doc_date,
    }))
}

/// The last path segment of a URL, for prompts and the uploaded file's name.
fn file_label(url: &str) -> String {
    let path = loggable_url(url);
    let last = path.rsplit('/').next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    if clean.is_empty() {
        "document.pdf".to_owned()
    } else if clean.to_ascii_lowercase().ends_with(".pdf") {
        clean
    } else {
        format!("{clean}.pdf")
    }
}

/// POST the signed file as the multipart field `uploadfile`; the handler's JSON answer.
fn upload(
    agent: &Agent,
    req: &VgcaRequest,
    url: &str,
    name: &str,
    pdf: &[u8],
) -> Result<Value, UserError> {
    let boundary = format!("kyso-{:032x}", rand_u128());
    let mut body = Vec::with_capacity(pdf.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let call = with_page_credentials(agent.http.post(url), req).header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    );
    let shown = loggable_url(url);
    let mut resp = call.send(&body[..]).map_err(|e| {
        ue!("không gửi được tệp đã ký tới {}: {}", shown, e; "cannot upload the signed file to {}: {}", shown, e)
    })?;
    let code = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_UPLOAD_REPLY)
        .read_to_string(&mut text)
        .map_err(|e| ue!("không đọc được trả lời của {}: {}", shown, e; "cannot read the answer of {}: {}", shown, e))?;
    if !(200..300).contains(&code) {
        return Err(
            ue!("máy chủ văn bản trả lỗi HTTP {} khi nhận tệp đã ký", code; "the document server answered HTTP {} to the upload", code),
        );
    }
    serde_json::from_str(&text).map_err(|_| ue!("trả lời của máy chủ văn bản không phải JSON"; "the document server's answer is not JSON"))
}

/// A random 128-bit number (multipart boundaries).
fn rand_u128() -> u128 {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return u128::from(std::process::id()) << 64 | Instant::now().elapsed().as_nanos();
    }
    u128::from_be_bytes(b)
}

fn verify_pdf(agent: &Agent, req: &VgcaRequest) -> Result<Value, UserError> {
    let input = download(agent, req)?;
    let trust = crate::trust::anchors_required(&agent.trust)?;
    let src = kyso_pdf::FileSource::open(input.path()).map_err(|e| errors::io(input.path(), &e))?;
    let mut opts = kyso_pades::validate::ValidateOptions::new(trust, crate::clock::now());
    opts.fetcher = Some(Arc::new(kyso_ltv::fetch::Fetcher::new(
        kyso_ltv::fetch::FetchOptions::default(),
    )));
    // A verification error said as one (not a signing failure), without library English.
    let report = kyso_pades::validate::validate(Arc::new(src), &opts)
        .map_err(|e| errors::verify(input.path(), &e))?;
    let name = file_label(req.file_name.as_deref().unwrap_or(""));
    let text = crate::verify::to_text(&report, &name, agent.lang);
    Ok(json!({
        "Status": STATUS_OK,
        "Message": text,
        "Result": crate::verify::to_json(&report, &name),
    }))
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
    let opened = match agent.confirm_and_open(&request_text, crate::clock::now()) {
        Ok(Some(s)) => s,
        Ok(None) => {
            log(&format!("api sign from {origin}: cancelled by the user"));
            return api_error(StatusCode::FORBIDDEN, "cancelled by the user");
        }
        Err(e) => {
            log(&format!("api sign from {origin}: error: {}", e.en));
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
            log(&format!("api sign from {origin}: signing failed: {e}"));
            return api_error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
        }
    };
    log(&format!("api sign from {origin}: signed"));
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
    fn origins_are_normalized_and_paths_refused() {
        assert_eq!(
            normalize_origin("HTTPS://VanBan.Demo.gov.vn/")
                .ok()
                .as_deref(),
            Some("https://vanban.demo.gov.vn")
        );
        assert!(normalize_origin("https://a.vn/path").is_err());
        assert!(normalize_origin("file://x").is_err());
        assert!(normalize_origin("https://").is_err());
    }

    #[test]
    fn the_bucket_allows_a_burst_then_refuses() {
        let mut b = Bucket::new(30);
        let allowed = (0..20).filter(|_| b.take()).count();
        assert_eq!(allowed, 10);
        let mut b = Bucket::new(3);
        assert_eq!((0..5).filter(|_| b.take()).count(), 3);
    }

    #[test]
    fn urls_are_logged_without_their_query() {
        assert_eq!(
            loggable_url("http://h/files/src?token=SECRET#x"),
            "http://h/files/src"
        );
        assert_eq!(
            file_label("http://h/files/Cong van 12.pdf?token=1"),
            "Congvan12.pdf"
        );
        assert_eq!(file_label("http://h/download?id=5"), "download.pdf");
    }

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
