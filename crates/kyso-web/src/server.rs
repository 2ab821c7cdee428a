//! `kyso serve` as a library: the web UI and the REST API over the registry database (an
//! embedded SQLite file and a blob folder under the data directory by default, or PostgreSQL),
//! the first start (demo province or root agency and first administrator), the organization
//! keys, the metrics listener, and the audit log's guard ([`audit`]). The binary turns its
//! command line into [`Options`] and calls [`run`] with the clock and where to print.

pub mod audit;
pub mod backup;
pub mod config;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyso_i18n::catalogue as errors;
use kyso_i18n::{ue, Lang, UserError};
use kyso_store::Store;
use time::OffsetDateTime;

pub use audit::AuditFiles;
pub use config::{FileConfig, Options, Settings};

/// The clock.
pub type Now = fn() -> OffsetDateTime;
/// Where the lines meant for the operator at the console go (the binary prints them).
pub type Say = Arc<dyn Fn(&str) + Send + Sync>;

/// The password of the demo PKI's `.p12` files (`kyso demo`, and the demo province of an
/// empty database).
pub use kyso_services::demo::DEMO_PASSWORD;

/// The demo Department (its organization certificate is the demo PKI's).
const DEMO_AGENCY: &str = "H99.37";

/// What the binary passes in: the clock, the console, and how often the audit log is checked.
#[derive(Clone)]
pub struct Host {
    pub now: Now,
    pub say: Say,
    /// The period of the audit check (a minute; the tests use a second).
    pub audit_check: std::time::Duration,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("audit_check", &self.audit_check)
            .finish_non_exhaustive()
    }
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
pub async fn open(data_dir: &Path, url: Option<&str>) -> Result<Store, UserError> {
    if url.is_none() {
        std::fs::create_dir_all(data_dir).map_err(|e| errors::io(data_dir, &e))?;
    }
    Store::open(&database_url(data_dir, url))
        .await
        .map_err(|e| store_error(&e))
}

type GuardHandle = Arc<tokio::sync::Mutex<audit::Guard>>;

/// Serve until stopped (Ctrl-C or SIGTERM), then write a last audit checkpoint.
pub fn run(args: Settings, lang: Lang, host: Host) -> Result<(), UserError> {
    let addr = args.listen;
    let blobs = config::open_blobs(
        &args.blob_store,
        args.s3_credentials.as_ref(),
        &args.data_dir,
    )?;
    // A wrong bucket, key or folder is reported now, not at the first upload.
    blobs.check().map_err(|e| {
        ue!("không dùng được kho lưu văn bản {}: {}", blobs.describe(), e; "the blob store {} cannot be used: {}", blobs.describe(), e)
        .environment()
    })?;
    let backup_target = match &args.backup {
        Some(b) => Some(b.dir.open(
            "--backup-dir",
            args.s3_credentials.as_ref(),
            &args.data_dir.join(config::STAGING),
        )?),
        None => None,
    };
    let job_blobs = blobs.clone();
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
            crate::mailer::Mailer::new(smtp)
                .map_err(|e| UserError::new(e.message(false), e.message(true)))?
                .with_public_url(args.public_url.clone()),
        ),
        None => None,
    };
    let trusted = args.trusted_proxies.clone();
    let remote_signing = remote_signing(&args, host.now)?;
    let metrics_addr = args.metrics_listen;
    let audit_alert = crate::AuditAlert::default();
    let guard_slot: Arc<std::sync::Mutex<Option<GuardHandle>>> = Arc::default();
    let guard_out = guard_slot.clone();
    let say = host.say.clone();
    let router = async move {
        let store = open(&data_dir, args.database_url.as_deref()).await?;
        // The audit key and the check of the whole log come before anything is written, so
        // that every entry from now on is keyed.
        let (store, mut guard) = audit::Guard::start(
            store,
            &data_dir,
            &args.audit_files,
            audit_alert.clone(),
            lang,
            host.now,
            &host.say,
        )
        .await?;
        if !kyso_store::accounts::any_user(&store)
            .await
            .map_err(|e| store_error(&e))?
        {
            first_start(&store, &args, lang, &host).await?;
        }
        // The registry accepts certificates of the CAs the documents are verified against.
        let trust = trust_anchors(&data_dir);
        store.trust_issuers(&trust, &demo_intermediates(&data_dir));
        // A checkpoint of what the start wrote, then the check every minute.
        guard.step(true).await;
        let guard = Arc::new(tokio::sync::Mutex::new(guard));
        tokio::spawn(audit::run_guard(guard.clone(), host.audit_check));
        if let Ok(mut slot) = guard_out.lock() {
            *slot = Some(guard);
        }
        let mut keys = org_keys;
        let demo_key = data_dir.join("demo-pki/organization.p12");
        if demo_key.is_file() && !keys.contains_key(DEMO_AGENCY) {
            // The demo Department signs its letters with the demo PKI's organization key.
            keys.insert(
                DEMO_AGENCY.to_owned(),
                crate::OrgKey {
                    p12: demo_key,
                    password: Arc::new(kyso_keys::Secret::new(DEMO_PASSWORD.to_owned())),
                },
            );
        }
        let clock: crate::Clock = Arc::new(host.now);
        let state = crate::AppState::new(
            store,
            clock,
            crate::Config {
                secure_cookies: secure,
            },
        )
        .with_blobs(blobs)
        .with_org_keys(keys)
        .with_audit_alert(audit_alert)
        .with_trusted_proxies(trusted)
        .with_trust_anchors(trust)
        .with_incoming_max(args.incoming_max)
        .with_verify_limits(args.verify.limits());
        // The signing tickets' key, kept beside the audit key (the data folder's, or the folder
        // of --audit-key-file): several nodes on one database are given the same key files, so
        // a ticket made by one is honoured by the other.
        let ticket_key = args
            .audit_files
            .key_file(&data_dir)
            .with_file_name(crate::agent_files::KEY_FILE);
        let state = state
            .with_ticket_key_file(&ticket_key)
            .map_err(|e| errors::io(&ticket_key, &e))?;
        let state = match remote_signing {
            Some(r) => state.with_remote_signing(r),
            None => state,
        };
        if let Some(maddr) = metrics_addr {
            serve_metrics(maddr, state.clone(), lang, &host.say).await?;
        }
        // The notice job: deliveries not arrived yet, then expiry and deadline scans at start
        // and every hour, e-mailed when SMTP is configured.
        tokio::spawn(crate::mailer::run_notice_job(state.clone(), mailer));
        // The filing job: registered documents into the archive.
        tokio::spawn(crate::archive::run_filing_job(state.clone()));
        if let (Some(schedule), Some(target)) = (args.backup.clone(), backup_target) {
            let job = backup::Job {
                every: schedule.every,
                target,
                blobs: job_blobs,
                data_dir: data_dir.clone(),
                database_url: args.database_url.clone(),
                audit_files: args.audit_files.clone(),
            };
            tokio::spawn(backup::run(state.clone(), job, host.now));
        }
        Ok(crate::router(state))
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
            say(lang.pick(
                &format!("kyso đang chạy tại http://{local} (cơ sở dữ liệu: {backend_note}; Ctrl-C để dừng)"),
                &format!("kyso is running at http://{local} (database: {backend_note}; Ctrl-C to stop)"),
            ));
        },
        last_checkpoint,
    )
}

/// The metrics listener (`--metrics-listen`): `GET /metrics` only, apart from the site so
/// that it can stay on a private address.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    state: crate::AppState,
    lang: Lang,
    say: &Say,
) -> Result<(), UserError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ue!("--metrics-listen: không lắng nghe được trên {}: {}", addr, e; "--metrics-listen: cannot listen on {}: {}", addr, e)
    })?;
    let local = listener.local_addr().unwrap_or(addr);
    if !local.ip().is_loopback() {
        tracing::warn!(listen = %local, "the metrics listener is reachable from other machines; keep it behind a firewall");
    }
    say(lang.pick(
        &format!("Số liệu Prometheus tại http://{local}/metrics"),
        &format!("Prometheus metrics at http://{local}/metrics"),
    ));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, crate::metrics_router(state)).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The anchors the document pages verify signatures against: the trust store of `kyso
/// verify` (`kyso trust add`), and the demo PKI's root when the data folder has one. A store
/// that cannot be read is logged and left out (the pages then say no root is configured).
fn trust_anchors(data_dir: &std::path::Path) -> kyso_x509::path::TrustStore {
    let mut trust = kyso_services::trust::anchors(&[]).unwrap_or_else(|e| {
        tracing::warn!(error = %e.message(Lang::En), "cannot read the trust store");
        kyso_x509::path::TrustStore::new()
    });
    let demo_root = data_dir.join("demo-pki/root.pem");
    if demo_root.is_file() {
        match kyso_x509::path::TrustStore::from_pem_files(&[&demo_root]) {
            Ok(demo) => demo.anchors().iter().for_each(|c| trust.add(c.clone())),
            Err(e) => tracing::warn!(error = %e, "cannot read the demo PKI's root"),
        }
    }
    trust
}

/// The demo PKI's intermediate CA, if the demo was made here: the demo's certificates are
/// imported without their chain.
fn demo_intermediates(data_dir: &std::path::Path) -> Vec<kyso_x509::Cert> {
    std::fs::read(data_dir.join("demo-pki/intermediate.pem"))
        .ok()
        .and_then(|pem| kyso_x509::Cert::from_pem_or_der(&pem).ok())
        .unwrap_or_default()
}

/// The remote signing service (`--csc-url`), with the fetcher and TSA of its level.
fn remote_signing(
    args: &Settings,
    now: Now,
) -> Result<Option<kyso_services::remote_sign::RemoteSigning>, UserError> {
    let Some(r) = &args.remote_signing else {
        return Ok(None);
    };
    let fetcher = kyso_services::signing::fetcher(30, now);
    let tsa = kyso_services::signing::tsa_for(r.level, r.tsa.as_deref(), &fetcher)?;
    let level = kyso_services::agent::SigningLevel {
        level: r.level,
        tsa: tsa.map(|t| t as Arc<dyn kyso_pades::sign::Timestamper>),
        fetcher: Some(fetcher),
    };
    level.check()?;
    Ok(Some(kyso_services::remote_sign::RemoteSigning {
        url: r.url.clone(),
        level,
        timeout: std::time::Duration::from_secs(30),
        tls_roots: r.tls_roots.clone(),
    }))
}

/// `--org-key CODE=FILE` options; one password for all (`--org-key-password-file` or
/// `KYSO_ORG_KEY_PASSWORD`). Each key is opened now, so that a wrong password or file is
/// reported at start rather than at the first letter.
fn org_keys(args: &Settings) -> Result<crate::OrgKeys, UserError> {
    let mut out = crate::OrgKeys::new();
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
            crate::OrgKey {
                p12: path,
                password: password.clone(),
            },
        );
    }
    Ok(out)
}

/// An empty database: seed the demo province (or only the root agency) and print the first
/// administrator's one-time password, once.
async fn first_start(
    store: &Store,
    args: &Settings,
    lang: Lang,
    host: &Host,
) -> Result<(), UserError> {
    let now = (host.now)();
    let say = &host.say;
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
        say(lang.pick(
            "Cơ sở dữ liệu trống: tạo dữ liệu DEMO (tỉnh hư cấu, cơ quan, người dùng, chứng thư số từ PKI demo)…",
            "Empty database: creating the DEMO data (a fictional province, agencies, people, certificates of the demo PKI)…"
        ));
        let dir = args.data_dir.join("demo-pki");
        let certs = tokio::task::spawn_blocking(move || demo_certificates(&dir, now))
            .await
            .map_err(|e| ue!("lỗi khi tạo PKI demo: {}", e; "demo PKI failed: {}", e))??;
        store.trust_issuers(
            &trust_anchors(&args.data_dir),
            &demo_intermediates(&args.data_dir),
        );
        let seeded = kyso_store::demo::seed(store, &certs, now)
            .await
            .map_err(|e| store_error(&e))?;
        say(lang.pick(
            &format!(
                "Đã tạo {} cơ quan, {} thuê bao, {} chứng thư số.",
                seeded.agencies, seeded.subscribers, seeded.certificates
            ),
            &format!(
                "Created {} agencies, {} subscribers, {} certificates.",
                seeded.agencies, seeded.subscribers, seeded.certificates
            ),
        ));
        seeded.admin_password
    };
    say(lang.pick(
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
    ));
    Ok(())
}

/// The demo PKI's end-entity certificates (made on first use).
fn demo_certificates(dir: &Path, now: OffsetDateTime) -> Result<Vec<(String, Vec<u8>)>, UserError> {
    use kyso_pki::demo::Kind;
    if !dir.join("root.pem").exists() {
        let opts =
            kyso_pki::demo::InitOptions::new(kyso_keys::Secret::new(DEMO_PASSWORD.to_owned()), now);
        kyso_pki::demo::init(dir, &opts).map_err(|e| kyso_services::pki_report::error(&e))?;
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
