//! `kyso serve`: the web UI and the REST API over the registry database (an embedded SQLite
//! file and a blob folder under the data directory by default, or PostgreSQL); the audit
//! log's key and checkpoints are `audit_log`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args as ClapArgs;
use kyso_store::Store;

use crate::lang::{Lang, UserError};
use crate::{errors, ue};

/// Options of `kyso serve`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Địa chỉ lắng nghe (IP:cổng)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Thư mục dữ liệu: tệp SQLite kyso.db, thư mục blobs/ và PKI demo
    #[arg(long, default_value = "kyso-data", env = "KYSO_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Cơ sở dữ liệu PostgreSQL thay cho SQLite (postgres://người_dùng@máy:cổng/csdl)
    #[arg(long, env = "KYSO_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Với cơ sở dữ liệu trống: không tạo dữ liệu demo, chỉ tạo cơ quan gốc và quản trị viên
    #[arg(long)]
    pub no_demo: bool,
    /// Mã định danh của cơ quan gốc (với --no-demo), ví dụ H41
    #[arg(long, requires = "no_demo")]
    pub root_code: Option<String>,
    /// Tên cơ quan gốc (với --no-demo), ví dụ "Ủy ban nhân dân tỉnh …"
    #[arg(long, requires = "no_demo")]
    pub root_name: Option<String>,
    /// Đánh dấu cookie là Secure (khi phục vụ sau một proxy HTTPS)
    #[arg(long)]
    pub secure_cookies: bool,
    /// Gửi thông báo hết hạn qua thư điện tử: máy chủ SMTP (smtp://máy:cổng,
    /// smtp://người_dùng@máy:587?tls=required, smtps://máy:465); mật khẩu lấy từ biến môi
    /// trường KYSO_SMTP_PASSWORD, không bao giờ ghi trên dòng lệnh
    #[arg(long, requires = "smtp_from")]
    pub smtp_url: Option<String>,
    /// Địa chỉ người gửi thư thông báo, ví dụ "Sở KH&CN <kyso@skhcn.example.gov.vn>"
    #[arg(long, requires = "smtp_url")]
    pub smtp_from: Option<String>,
    /// Số luồng xử lý (mặc định: số nhân CPU)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Khóa tổ chức ký văn bản đề nghị của một cơ quan: MÃ_ĐỊNH_DANH=tệp.p12 (lặp lại được;
    /// mật khẩu trong biến môi trường KYSO_ORG_KEY_PASSWORD)
    #[arg(long = "org-key", value_name = "MÃ=TỆP.p12")]
    pub org_keys: Vec<String>,
    #[command(flatten)]
    pub audit_files: crate::audit_log::FileArgs,
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
        );
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
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        ue!("địa chỉ lắng nghe không hợp lệ: {} (dạng IP:cổng, ví dụ 127.0.0.1:8080)", args.listen; "invalid listen address: {} (IP:PORT, e.g. 127.0.0.1:8080)", args.listen)
    })?;
    if args.no_demo && (args.root_code.is_none() || args.root_name.is_none()) {
        return Err(ue!("--no-demo cần --root-code và --root-name (cơ quan gốc của quản trị viên đầu tiên)"; "--no-demo needs --root-code and --root-name (the first administrator's agency)").into());
    }
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
    let mailer = match (&args.smtp_url, &args.smtp_from) {
        (Some(url), Some(from)) => Some(
            kyso_web::mailer::Mailer::new(&kyso_web::mailer::SmtpConfig {
                url: url.clone(),
                from: from.clone(),
                password: std::env::var("KYSO_SMTP_PASSWORD")
                    .ok()
                    .filter(|p| !p.is_empty())
                    .map(zeroize::Zeroizing::new),
            })
            .map_err(|e| UserError::new(e.message(false), e.message(true)))?,
        ),
        _ => None,
    };
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
        .with_audit_alert(audit_alert);
        Ok(kyso_web::router(state))
    };
    // At a clean stop: a last checkpoint of everything written.
    let last_checkpoint = || async move {
        let guard = guard_slot.lock().ok().and_then(|mut g| g.take());
        if let Some(guard) = guard {
            guard.lock().await.step(true).await;
        }
    };
    crate::pki_serve::run_service_then(
        addr,
        threads,
        None,
        router,
        |local| {
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

type GuardHandle = Arc<tokio::sync::Mutex<crate::audit_log::Guard>>;

/// The demo Department (its organization certificate is the demo PKI's).
const DEMO_AGENCY: &str = "H99.37";

/// `--org-key CODE=FILE` options; one password for all from `KYSO_ORG_KEY_PASSWORD`.
fn org_keys(args: &Args) -> Result<kyso_web::OrgKeys, UserError> {
    let mut out = kyso_web::OrgKeys::new();
    if args.org_keys.is_empty() {
        return Ok(out);
    }
    let password = std::env::var("KYSO_ORG_KEY_PASSWORD").map_err(|_| {
        ue!("--org-key cần mật khẩu trong biến môi trường KYSO_ORG_KEY_PASSWORD"; "--org-key needs the password in KYSO_ORG_KEY_PASSWORD")
    })?;
    let password = Arc::new(kyso_keys::Secret::new(password));
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
async fn first_start(store: &Store, args: &Args, lang: Lang) -> Result<(), UserError> {
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
