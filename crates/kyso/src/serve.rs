//! `kyso serve`: the web UI and the REST API over the registry database (an embedded SQLite
//! file and a blob folder under the data directory by default, or PostgreSQL); the audit
//! log's key and checkpoints are `audit_log`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args as ClapArgs;
use kyso_store::Store;

use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::{Lang, UserError};

mod config;

/// Options of `kyso serve`. Each is also read from its `KYSO_*` environment variable and from
/// the `--config` file (the command line first, then the environment, then the file, then the
/// default).
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Tệp cấu hình TOML chứa các tùy chọn dưới đây (thứ tự ưu tiên: dòng lệnh, biến môi
    /// trường KYSO_*, tệp cấu hình, mặc định)
    #[arg(long, env = "KYSO_CONFIG", value_name = "TỆP.toml")]
    pub config: Option<PathBuf>,
    /// Địa chỉ lắng nghe (IP:cổng) [mặc định: 127.0.0.1:8080]
    #[arg(long, env = "KYSO_LISTEN")]
    pub listen: Option<String>,
    /// Thư mục dữ liệu: tệp SQLite kyso.db, thư mục blobs/ và PKI demo [mặc định: kyso-data]
    #[arg(long, env = "KYSO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Cơ sở dữ liệu PostgreSQL thay cho SQLite (postgres://người_dùng@máy:cổng/csdl)
    #[arg(long, env = "KYSO_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Tệp chứa địa chỉ cơ sở dữ liệu (khi địa chỉ có mật khẩu)
    #[arg(long, env = "KYSO_DATABASE_URL_FILE", value_name = "TỆP")]
    pub database_url_file: Option<PathBuf>,
    /// Với cơ sở dữ liệu trống: không tạo dữ liệu demo, chỉ tạo cơ quan gốc và quản trị viên
    #[arg(long, env = "KYSO_NO_DEMO", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_demo: Option<bool>,
    /// Mã định danh của cơ quan gốc (với --no-demo), ví dụ H41
    #[arg(long, env = "KYSO_ROOT_CODE")]
    pub root_code: Option<String>,
    /// Tên cơ quan gốc (với --no-demo), ví dụ "Ủy ban nhân dân tỉnh …"
    #[arg(long, env = "KYSO_ROOT_NAME")]
    pub root_name: Option<String>,
    /// Đánh dấu cookie là Secure (khi phục vụ sau một proxy HTTPS)
    #[arg(long, env = "KYSO_SECURE_COOKIES", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub secure_cookies: Option<bool>,
    /// Gửi thông báo hết hạn qua thư điện tử: máy chủ SMTP (smtp://máy:cổng,
    /// smtp://người_dùng@máy:587?tls=required, smtps://máy:465); mật khẩu lấy từ
    /// --smtp-password-file hoặc biến môi trường KYSO_SMTP_PASSWORD, không bao giờ ghi trên
    /// dòng lệnh
    #[arg(long, env = "KYSO_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Địa chỉ người gửi thư thông báo, ví dụ "Sở KH&CN <kyso@skhcn.example.gov.vn>"
    #[arg(long, env = "KYSO_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Tệp chứa mật khẩu SMTP
    #[arg(long, env = "KYSO_SMTP_PASSWORD_FILE", value_name = "TỆP")]
    pub smtp_password_file: Option<PathBuf>,
    /// Số luồng xử lý (mặc định: số nhân CPU)
    #[arg(long, env = "KYSO_THREADS")]
    pub threads: Option<usize>,
    /// Khóa tổ chức ký văn bản đề nghị của một cơ quan: MÃ_ĐỊNH_DANH=tệp.p12 (lặp lại được;
    /// mật khẩu trong --org-key-password-file hoặc biến môi trường KYSO_ORG_KEY_PASSWORD)
    #[arg(
        long = "org-key",
        value_name = "MÃ=TỆP.p12",
        env = "KYSO_ORG_KEY",
        value_delimiter = ','
    )]
    pub org_keys: Vec<String>,
    /// Tệp chứa mật khẩu của các khóa tổ chức
    #[arg(long, env = "KYSO_ORG_KEY_PASSWORD_FILE", value_name = "TỆP")]
    pub org_key_password_file: Option<PathBuf>,
    /// Proxy ngược tin cậy (CIDR, lặp lại được): chỉ tin tiêu đề Forwarded / X-Forwarded-For
    /// khi kết nối đến từ các địa chỉ này
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "KYSO_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Phục vụ số liệu Prometheus tại http://ĐỊA_CHỈ/metrics trên một cổng riêng (mặc định:
    /// tắt), ví dụ 127.0.0.1:9464
    #[arg(long, env = "KYSO_METRICS_LISTEN", value_name = "IP:CỔNG")]
    pub metrics_listen: Option<String>,
    #[command(flatten)]
    pub audit_files: crate::audit_log::FileArgs,
}

/// The settings in force, from [`Args`], the environment, the configuration file and the
/// defaults. (No `Debug`: it holds secrets.)
struct Settings {
    listen: std::net::SocketAddr,
    data_dir: PathBuf,
    database_url: Option<String>,
    no_demo: bool,
    root_code: Option<String>,
    root_name: Option<String>,
    secure_cookies: bool,
    smtp: Option<kyso_web::mailer::SmtpConfig>,
    threads: Option<usize>,
    org_keys: Vec<String>,
    org_key_password: Option<zeroize::Zeroizing<String>>,
    trusted_proxies: kyso_web::TrustedProxies,
    metrics_listen: Option<std::net::SocketAddr>,
    audit_files: crate::audit_log::FileArgs,
}

fn socket_addr(option: &str, s: &str) -> Result<std::net::SocketAddr, UserError> {
    s.parse().map_err(|_| {
        ue!("{}: địa chỉ không hợp lệ: {} (dạng IP:cổng, ví dụ 127.0.0.1:8080)", option, s; "{}: invalid address: {} (IP:PORT, e.g. 127.0.0.1:8080)", option, s)
    })
}

impl Settings {
    fn resolve(args: Args) -> Result<Settings, UserError> {
        let file = match &args.config {
            Some(p) => config::FileConfig::load(p)?,
            None => config::FileConfig::default(),
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| config::DEFAULT_LISTEN.to_owned());
        let listen = socket_addr("--listen", &listen)?;
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_DATA_DIR));
        let database_url = match (args.database_url, &args.database_url_file) {
            (Some(u), _) => Some(u),
            (None, Some(f)) => Some(config::read_secret(f, "--database-url-file")?.to_string()),
            (None, None) => match (file.database_url, &file.database_url_file) {
                (Some(u), _) => Some(u),
                (None, Some(f)) => Some(config::read_secret(f, "--database-url-file")?.to_string()),
                (None, None) => None,
            },
        };
        let no_demo = args.no_demo.or(file.no_demo).unwrap_or(false);
        let root_code = args.root_code.or(file.root_code);
        let root_name = args.root_name.or(file.root_name);
        if no_demo && (root_code.is_none() || root_name.is_none()) {
            return Err(
                ue!("--no-demo cần --root-code và --root-name (cơ quan gốc của quản trị viên đầu tiên)"; "--no-demo needs --root-code and --root-name (the first administrator's agency)"),
            );
        }
        if !no_demo && (root_code.is_some() || root_name.is_some()) {
            return Err(
                ue!("--root-code và --root-name chỉ dùng với --no-demo"; "--root-code and --root-name go with --no-demo only"),
            );
        }
        let secure_cookies = args.secure_cookies.or(file.secure_cookies).unwrap_or(false);
        let smtp_url = args.smtp_url.or(file.smtp_url);
        let smtp_from = args.smtp_from.or(file.smtp_from);
        let smtp = match (smtp_url, smtp_from) {
            (Some(url), Some(from)) => Some(kyso_web::mailer::SmtpConfig {
                url,
                from,
                password: config::secret(
                    "--smtp-password-file",
                    args.smtp_password_file.as_deref(),
                    "KYSO_SMTP_PASSWORD",
                    file.smtp_password_file.as_deref(),
                )?,
            }),
            (None, None) => None,
            _ => {
                return Err(
                    ue!("--smtp-url và --smtp-from phải đi cùng nhau"; "--smtp-url and --smtp-from go together"),
                )
            }
        };
        let org_keys = if args.org_keys.is_empty() {
            file.org_key.unwrap_or_default()
        } else {
            args.org_keys
        };
        let org_key_password = if org_keys.is_empty() {
            None
        } else {
            config::secret(
                "--org-key-password-file",
                args.org_key_password_file.as_deref(),
                "KYSO_ORG_KEY_PASSWORD",
                file.org_key_password_file.as_deref(),
            )?
        };
        let proxies = if args.trusted_proxies.is_empty() {
            file.trusted_proxy.unwrap_or_default()
        } else {
            args.trusted_proxies
        };
        let mut ranges = Vec::new();
        for p in proxies.iter().filter(|p| !p.trim().is_empty()) {
            ranges.push(kyso_web::Cidr::parse(p).map_err(|e| {
                ue!("--trusted-proxy: {} (dạng 10.0.0.0/8 hoặc một địa chỉ IP)", e; "--trusted-proxy: {} (e.g. 10.0.0.0/8 or one IP address)", e)
            })?);
        }
        let metrics_listen = match args.metrics_listen.or(file.metrics_listen) {
            Some(a) => Some(socket_addr("--metrics-listen", &a)?),
            None => None,
        };
        let mut audit_files = args.audit_files;
        if audit_files.audit_key_file.is_none() {
            audit_files.audit_key_file = file.audit_key_file;
        }
        if audit_files.audit_checkpoint_file.is_none() {
            audit_files.audit_checkpoint_file = file.audit_checkpoint_file;
        }
        Ok(Settings {
            listen,
            data_dir,
            database_url,
            no_demo,
            root_code,
            root_name,
            secure_cookies,
            smtp,
            threads: args.threads.or(file.threads),
            org_keys,
            org_key_password,
            trusted_proxies: kyso_web::TrustedProxies::new(ranges),
            metrics_listen,
            audit_files,
        })
    }
}

/// Where the database is.
#[derive(Debug, ClapArgs)]
pub struct DbArgs {
    /// Thư mục dữ liệu của kyso serve
    #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Cơ sở dữ liệu PostgreSQL thay cho SQLite
    #[arg(long, env = "KYSO_DATABASE_URL")]
    pub database_url: Option<String>,
}

fn database_url(data_dir: &Path, database_url: Option<&str>) -> String {
    match database_url {
        Some(u) => u.to_owned(),
        None => format!("sqlite://{}", data_dir.join("kyso.db").display()),
    }
}

fn store_error(e: &kyso_store::Error) -> UserError {
    let mut ue = UserError::new(e.message(false), e.message(true));
    if let kyso_store::Error::Database(inner) = e {
        ue = UserError::new(
            format!("không mở được cơ sở dữ liệu: {inner}"),
            format!("cannot open the database: {inner}"),
        )
        .environment();
    }
    ue
}

/// Open the store; a database from a newer kyso is refused with the store's message.
pub(crate) async fn open(data_dir: &Path, url: Option<&str>) -> Result<Store, UserError> {
    if url.is_none() {
        std::fs::create_dir_all(data_dir).map_err(|e| errors::io(data_dir, &e))?;
    }
    Store::open(&database_url(data_dir, url))
        .await
        .map_err(|e| store_error(&e))
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let args = Settings::resolve(args)?;
    let addr = args.listen;
    let blobs_dir = args.data_dir.join("blobs");
    let blobs = kyso_store::blobs::Blobs::open(&blobs_dir).map_err(|e| {
        ue!("không tạo được thư mục lưu văn bản: {}", e; "cannot create the blob folder: {}", e)
    })?;
    let org_keys = org_keys(&args)?;
    let secure = args.secure_cookies;
    let data_dir = args.data_dir.clone();
    let backend_note = match &args.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite {}", data_dir.join("kyso.db").display()),
    };
    let threads = args.threads;
    // Checked before the server starts, so that a wrong URL is reported at once.
    let mailer = match &args.smtp {
        Some(smtp) => Some(
            kyso_web::mailer::Mailer::new(smtp)
                .map_err(|e| UserError::new(e.message(false), e.message(true)))?,
        ),
        None => None,
    };
    let trusted = args.trusted_proxies.clone();
    let metrics_addr = args.metrics_listen;
    let audit_alert = kyso_web::AuditAlert::default();
    let guard_slot: Arc<std::sync::Mutex<Option<GuardHandle>>> = Arc::default();
    let guard_out = guard_slot.clone();
    let router = async move {
        let store = open(&data_dir, args.database_url.as_deref()).await?;
        // The audit key and the check of the whole log come before anything is written, so
        // that every entry from now on is keyed.
        let (store, mut guard) = crate::audit_log::Guard::start(
            store,
            &data_dir,
            &args.audit_files,
            audit_alert.clone(),
            lang,
        )
        .await?;
        if !kyso_store::accounts::any_user(&store)
            .await
            .map_err(|e| store_error(&e))?
        {
            first_start(&store, &args, lang).await?;
        }
        // A checkpoint of what the start wrote, then the check every minute.
        guard.step(true).await;
        let guard = Arc::new(tokio::sync::Mutex::new(guard));
        tokio::spawn(crate::audit_log::run_guard(guard.clone()));
        if let Ok(mut slot) = guard_out.lock() {
            *slot = Some(guard);
        }
        let mut keys = org_keys;
        let demo_key = data_dir.join("demo-pki/organization.p12");
        if demo_key.is_file() && !keys.contains_key(DEMO_AGENCY) {
            // The demo Department signs its letters with the demo PKI's organization key.
            keys.insert(
                DEMO_AGENCY.to_owned(),
                kyso_web::OrgKey {
                    p12: demo_key,
                    password: Arc::new(kyso_keys::Secret::new(
                        crate::demo::DEMO_PASSWORD.to_owned(),
                    )),
                },
            );
        }
        // Expiry notices: a scan at start and every hour, e-mailed when SMTP is configured.
        let clock: kyso_web::Clock = Arc::new(crate::clock::now);
        tokio::spawn(kyso_web::mailer::run_notice_job(
            store.clone(),
            clock.clone(),
            mailer,
        ));
        let state = kyso_web::AppState::new(
            store,
            clock,
            kyso_web::Config {
                secure_cookies: secure,
            },
        )
        .with_blobs(blobs)
        .with_org_keys(keys)
        .with_audit_alert(audit_alert)
        .with_trusted_proxies(trusted);
        if let Some(maddr) = metrics_addr {
            serve_metrics(maddr, state.clone(), lang).await?;
        }
        Ok(kyso_web::router(state))
    };
    // At a clean stop: a last checkpoint of everything written.
    let last_checkpoint = || async move {
        let guard = guard_slot.lock().ok().and_then(|mut g| g.take());
        if let Some(guard) = guard {
            guard.lock().await.step(true).await;
        }
    };
    kyso_services::runtime::run_service_then(
        addr,
        threads,
        None,
        router,
        |local| {
            tracing::info!(listen = %local, database = %backend_note, "kyso serve started");
            println!(
            "{}",
            lang.pick(
                &format!("kyso đang chạy tại http://{local} (cơ sở dữ liệu: {backend_note}; Ctrl-C để dừng)"),
                &format!("kyso is running at http://{local} (database: {backend_note}; Ctrl-C to stop)"),
            )
        );
        },
        last_checkpoint,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The metrics listener (`--metrics-listen`): `GET /metrics` only, apart from the site so
/// that it can stay on a private address.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    state: kyso_web::AppState,
    lang: Lang,
) -> Result<(), UserError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ue!("--metrics-listen: không lắng nghe được trên {}: {}", addr, e; "--metrics-listen: cannot listen on {}: {}", addr, e)
    })?;
    let local = listener.local_addr().unwrap_or(addr);
    if !local.ip().is_loopback() {
        tracing::warn!(listen = %local, "the metrics listener is reachable from other machines; keep it behind a firewall");
    }
    println!(
        "{}",
        lang.pick(
            &format!("Số liệu Prometheus tại http://{local}/metrics"),
            &format!("Prometheus metrics at http://{local}/metrics"),
        )
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, kyso_web::metrics_router(state)).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

type GuardHandle = Arc<tokio::sync::Mutex<crate::audit_log::Guard>>;

/// The demo Department (its organization certificate is the demo PKI's).
const DEMO_AGENCY: &str = "H99.37";

/// `--org-key CODE=FILE` options; one password for all (`--org-key-password-file` or
/// `KYSO_ORG_KEY_PASSWORD`). Each key is opened now, so that a wrong password or file is
/// reported at start rather than at the first letter.
fn org_keys(args: &Settings) -> Result<kyso_web::OrgKeys, UserError> {
    let mut out = kyso_web::OrgKeys::new();
    if args.org_keys.is_empty() {
        return Ok(out);
    }
    let Some(password) = &args.org_key_password else {
        return Err(
            ue!("--org-key cần mật khẩu: --org-key-password-file TỆP hoặc biến môi trường KYSO_ORG_KEY_PASSWORD"; "--org-key needs the password: --org-key-password-file FILE or KYSO_ORG_KEY_PASSWORD"),
        );
    };
    let password = Arc::new(kyso_keys::Secret::new(password.to_string()));
    for spec in &args.org_keys {
        let Some((code, file)) = spec.split_once('=') else {
            return Err(
                ue!("--org-key {}: cần dạng MÃ=TỆP.p12", spec; "--org-key {}: use CODE=FILE.p12", spec),
            );
        };
        let code = kyso_domain::codes::AgencyCode::parse(code)
            .map_err(|e| UserError::new(e.message_vi(), e.message_en()))?;
        let path = PathBuf::from(file);
        if !path.is_file() {
            return Err(errors::io(
                &path,
                &std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| errors::io(&path, &e))?;
        if kyso_keys::Pkcs12Signer::from_pkcs12(&bytes, &password).is_err() {
            return Err(
                ue!("--org-key {}: không mở được tệp khóa (sai mật khẩu hoặc không phải tệp .p12)", spec; "--org-key {}: cannot open the key file (wrong password, or not a .p12 file)", spec),
            );
        }
        out.insert(
            code.dotted(),
            kyso_web::OrgKey {
                p12: path,
                password: password.clone(),
            },
        );
    }
    Ok(out)
}

/// An empty database: seed the demo province (or only the root agency) and print the first
/// administrator's one-time password, once.
async fn first_start(store: &Store, args: &Settings, lang: Lang) -> Result<(), UserError> {
    let now = crate::clock::now();
    let password = if args.no_demo {
        let root = kyso_store::registry::create_agency(
            store,
            &kyso_store::Actor::system(),
            &kyso_store::registry::AgencyInput {
                code: args.root_code.clone().unwrap_or_default(),
                name: args.root_name.clone().unwrap_or_default(),
                kind: "province".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .map_err(|e| store_error(&e))?;
        kyso_store::demo::first_admin(store, root.id, now)
            .await
            .map_err(|e| store_error(&e))?
    } else {
        println!(
            "{}",
            lang.pick(
                "Cơ sở dữ liệu trống: tạo dữ liệu DEMO (tỉnh hư cấu, cơ quan, người dùng, chứng thư số từ PKI demo)…",
                "Empty database: creating the DEMO data (a fictional province, agencies, people, certificates of the demo PKI)…"
            )
        );
        let dir = args.data_dir.join("demo-pki");
        let certs = tokio::task::spawn_blocking(move || demo_certificates(&dir, now))
            .await
            .map_err(|e| ue!("lỗi khi tạo PKI demo: {}", e; "demo PKI failed: {}", e))??;
        let seeded = kyso_store::demo::seed(store, &certs, now)
            .await
            .map_err(|e| store_error(&e))?;
        println!(
            "{}",
            lang.pick(
                &format!(
                    "Đã tạo {} cơ quan, {} thuê bao, {} chứng thư số.",
                    seeded.agencies, seeded.subscribers, seeded.certificates
                ),
                &format!(
                    "Created {} agencies, {} subscribers, {} certificates.",
                    seeded.agencies, seeded.subscribers, seeded.certificates
                ),
            )
        );
        seeded.admin_password
    };
    println!(
        "{}",
        lang.pick(
            &format!(
                "Tài khoản quản trị đầu tiên: {}  mật khẩu dùng một lần: {}\n(mật khẩu này chỉ hiện MỘT lần; phải đổi ở lần đăng nhập đầu)",
                kyso_store::demo::ADMIN,
                password.as_str()
            ),
            &format!(
                "First administrator: {}  one-time password: {}\n(shown only ONCE; it must be changed at the first login)",
                kyso_store::demo::ADMIN,
                password.as_str()
            ),
        )
    );
    Ok(())
}

/// The demo PKI's end-entity certificates (made on first use).
fn demo_certificates(
    dir: &Path,
    now: time::OffsetDateTime,
) -> Result<Vec<(String, Vec<u8>)>, UserError> {
    use kyso_pki::demo::Kind;
    if !dir.join("root.pem").exists() {
        let opts = kyso_pki::demo::InitOptions::new(
            kyso_keys::Secret::new(crate::demo::DEMO_PASSWORD.to_owned()),
            now,
        );
        kyso_pki::demo::init(dir, &opts).map_err(|e| crate::pki::error(&e))?;
    }
    let index = dir.join("index.json");
    let text = std::fs::read(&index).map_err(|e| errors::io(&index, &e))?;
    let summary: kyso_pki::demo::Summary = serde_json::from_slice(&text)
        .map_err(|e| ue!("index.json của PKI demo không đọc được: {}", e; "cannot read the demo PKI's index.json: {}", e))?;
    let mut out = Vec::new();
    for e in summary
        .entities
        .iter()
        .filter(|e| matches!(e.kind, Kind::Personal | Kind::Organization | Kind::Test))
    {
        let path = dir.join(&e.cert_file);
        let pem = std::fs::read(&path).map_err(|err| errors::io(&path, &err))?;
        if let Some(c) = kyso_x509::Cert::from_pem_or_der(&pem)
            .ok()
            .and_then(|v| v.into_iter().next())
        {
            out.push((e.name.clone(), c.der().to_vec()));
        }
    }
    Ok(out)
}
