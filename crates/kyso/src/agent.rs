//! `kyso agent`: the signing service on the official's own computer that a web page drives to
//! sign with the user's key — its options, and the wiring of `kyso_services::agent` (the
//! protocol, the confirmation, the server) to the key options, the trust list and the clock.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kyso_cms::Signer;
use kyso_keys::Secret;
use kyso_services::agent::{
    is_local_address, normalize_origin, router, Agent, AgentConfig, Console, KeyOpener,
    SigningLevel,
};
use kyso_x509::Cert;
use time::OffsetDateTime;

use crate::keys::KeyArgs;
use crate::ue;
use kyso_i18n::{Lang, UserError};

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
    /// Mức chữ ký PAdES của mọi chữ ký dịch vụ tạo ra
    #[arg(long, value_enum, default_value = "B-B")]
    level: crate::ltv::LevelArg,
    /// Địa chỉ dịch vụ cấp dấu thời gian (RFC 3161), cần từ mức B-T
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
}

/// The key options as the agent opens them: after each confirmation, with the PIN typed, the
/// chain completed at start attached.
struct CliKey {
    args: KeyArgs,
    chain: Vec<Cert>,
}

impl KeyOpener for CliKey {
    fn describe(&self) -> String {
        self.args.describe()
    }

    fn open(&self, secret: &Secret, now: OffsetDateTime) -> Result<Box<dyn Signer>, UserError> {
        let signer = crate::keys::open_with_secret(&self.args, secret, now)?;
        Ok(kyso_ltv::chain::with_chain(signer, &self.chain))
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
    let key_description = args.key.describe();
    let (cert, chain) = {
        let signer = crate::keys::open(&args.key, crate::clock::now())?;
        // The chain up to the root, completed once (as kyso sign does, AIA included).
        let signer = kyso_services::signing::complete_signer(
            signer,
            &[],
            false,
            args.fetch_timeout,
            crate::clock::now,
        )?;
        (signer.certificate().clone(), signer.chain().to_vec())
    };
    // The level every signature is made at, with its TSA and the fetcher (kept for the
    // agent's life: OCSP answers and CRLs are cached until their nextUpdate).
    let fetcher = kyso_services::signing::fetcher(args.fetch_timeout, crate::clock::now);
    let level = args.level.level();
    let tsa = kyso_services::signing::tsa_for(level, args.tsa.as_deref(), &fetcher)?;
    let level = SigningLevel {
        level,
        tsa: tsa.map(|t| t as Arc<dyn kyso_pades::sign::Timestamper>),
        fetcher: Some(fetcher),
    };
    level.check()?;
    let trust_files = args.trust;
    let agent = Arc::new(Agent::new(AgentConfig {
        key: Arc::new(CliKey {
            args: args.key,
            chain: chain.clone(),
        }),
        cert,
        chain,
        origins,
        signature_image,
        anchor: args.anchor,
        seal_image,
        trust: Arc::new(move || kyso_services::trust::anchors_required(&trust_files)),
        rate_per_minute: args.rate_per_minute,
        fetch_timeout: Duration::from_secs(args.fetch_timeout),
        confirmer: Box::new(Console::start(Duration::from_secs(
            args.confirm_timeout.max(1),
        ))),
        lang,
        now: crate::clock::now,
        // The agent's log lines go to the log (stderr, RUST_LOG, --log-format).
        log: Some(Arc::new(
            |line: &str| tracing::info!(target: "kyso::agent", "{line}"),
        )),
        level,
    }));
    let tls = if args.tls {
        let (cert, key) = match (args.tls_cert, args.tls_key) {
            (Some(c), Some(k)) => (c, k),
            _ => {
                let dir = args.tls_dir.unwrap_or_else(kyso_services::tls::default_dir);
                let (ca, cert, key, made) =
                    kyso_services::tls::local_certificate(&dir, crate::clock::now())?;
                if made {
                    match lang {
                        Lang::Vi => println!("Đã tạo chứng thư TLS cho 127.0.0.1. Cài {} vào kho chứng thư tin cậy của trình duyệt (một lần) để trang web kết nối được wss://.", ca.display()),
                        Lang::En => println!("Made a TLS certificate for 127.0.0.1. Add {} to the browser's trusted certificates (once) so pages can connect with wss://.", ca.display()),
                    }
                }
                (cert, key)
            }
        };
        Some(kyso_services::tls::server_config(&cert, &key)?)
    } else {
        None
    };
    let (ws, http) = if tls.is_some() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    let key = key_description;
    let subject = agent.certificate().common_name().unwrap_or_default();
    let allowed = agent.origins().join(", ");
    kyso_services::run_service(addr, Some(2), tls, router(agent), |local| {
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
