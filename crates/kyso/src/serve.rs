//! `kyso serve`: its options; the server is `kyso_web::server`'s (the web UI and the REST API
//! over the registry database, the audit log's guard, the first start).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args as ClapArgs;
use kyso_i18n::Lang;
use kyso_web::server;

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
    /// Địa chỉ người dùng mở kyso (ví dụ https://kyso.skhcn.example.gov.vn): đường dẫn trong thư
    /// thông báo được ghi đầy đủ theo địa chỉ này; không có thì thư không kèm đường dẫn
    #[arg(long, env = "KYSO_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Dung lượng tối đa (MB) của một văn bản đến gửi qua API dạng tệp PDF thô
    /// (POST /api/v1/incoming, Content-Type: application/pdf; mặc định 256)
    #[arg(long, env = "KYSO_INCOMING_MAX_MB", value_name = "MB")]
    pub incoming_max_mb: Option<u64>,
    /// Dung lượng tối đa (MB) của tệp gửi kiểm tra chữ ký công khai (/kiem-tra,
    /// POST /api/v1/verify; từ 1 đến 64, mặc định 64)
    #[arg(long, env = "KYSO_VERIFY_MAX_MB", value_name = "MB")]
    pub verify_max_mb: Option<u64>,
    /// Số lần kiểm tra công khai một địa chỉ được gửi liền một lúc (mặc định 20)
    #[arg(long, env = "KYSO_VERIFY_BURST", value_name = "SỐ")]
    pub verify_burst: Option<u32>,
    /// Số lần kiểm tra công khai mỗi phút của một địa chỉ sau đó (mặc định 20)
    #[arg(long, env = "KYSO_VERIFY_PER_MINUTE", value_name = "SỐ")]
    pub verify_per_minute: Option<u32>,
    /// Số tệp kiểm tra công khai được nhận cùng lúc (mặc định 16)
    #[arg(long, env = "KYSO_VERIFY_UPLOADS", value_name = "SỐ")]
    pub verify_uploads: Option<usize>,
    /// Số luồng xử lý (mặc định: số nhân CPU)
    #[arg(long, env = "KYSO_THREADS")]
    pub threads: Option<usize>,
    /// Khóa tổ chức ký bản in sổ đăng ký văn bản đi (PDF) của một cơ quan: MÃ_ĐỊNH_DANH=tệp.p12
    /// (lặp lại được; mật khẩu trong --org-key-password-file hoặc biến môi trường
    /// KYSO_ORG_KEY_PASSWORD). Văn bản đề nghị không ký bằng khóa này: đó là công văn của cơ
    /// quan, ký số qua các bước xử lý văn bản đi
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
    /// Cho phép ký các bước của văn bản đi bằng chữ ký số từ xa qua dịch vụ CSC (API Cloud
    /// Signature Consortium) tại địa chỉ này, ví dụ https://csc.example.gov.vn; tài khoản, mật
    /// khẩu và PIN do người ký nhập trên trang, không lưu
    #[arg(long, env = "KYSO_CSC_URL", value_name = "URL")]
    pub csc_url: Option<String>,
    /// Mức PAdES của chữ ký số từ xa: B-B (mặc định), B-T, B-LT, B-LTA (từ B-T cần --csc-tsa)
    #[arg(long, env = "KYSO_CSC_LEVEL", value_name = "MỨC")]
    pub csc_level: Option<String>,
    /// Dịch vụ cấp dấu thời gian (RFC 3161) cho chữ ký số từ xa từ mức B-T
    #[arg(long, env = "KYSO_CSC_TSA", value_name = "URL")]
    pub csc_tsa: Option<String>,
    /// Tệp PEM các chứng thư CA tin cậy cho kết nối TLS tới dịch vụ CSC (khi máy chủ CSC dùng
    /// chứng thư do CA riêng cấp), thay cho kho CA gốc mặc định
    #[arg(long, env = "KYSO_CSC_CA", value_name = "TỆP.pem")]
    pub csc_ca: Option<PathBuf>,
    #[command(flatten)]
    pub audit_files: crate::audit_log::FileArgs,
    /// Sao lưu định kỳ vào thư mục này hoặc bucket s3://… (như kyso backup create; trạng thái
    /// lần sao lưu gần nhất ở số liệu kyso_backup_* và trong nhật ký)
    #[arg(long, env = "KYSO_BACKUP_DIR", value_name = "THƯ_MỤC|s3://…")]
    pub backup_dir: Option<PathBuf>,
    /// Chu kỳ sao lưu với --backup-dir, ví dụ 24h, 90m, 1d (mặc định 24h; từ 1 phút đến 30 ngày)
    #[arg(long, env = "KYSO_BACKUP_EVERY", value_name = "THỜI_GIAN")]
    pub backup_every: Option<String>,
    #[command(flatten)]
    pub objects: ObjectArgs,
}

/// Where the documents' files are kept, and the object store's key.
#[derive(Debug, Clone, ClapArgs)]
pub struct ObjectArgs {
    /// Nơi lưu tệp văn bản: một thư mục (mặc định: THƯ_MỤC_DỮ_LIỆU/blobs) hoặc một bucket của
    /// kho đối tượng tương thích S3 (Garage, MinIO…), dạng
    /// s3://TÊN_BUCKET/TIỀN_TỐ?endpoint=http://máy-chủ:3900; nhiều máy chủ kyso dùng chung một
    /// bucket
    #[arg(long, env = "KYSO_BLOB_STORE", value_name = "THƯ_MỤC|s3://…")]
    pub blob_store: Option<String>,
    /// Tệp chứa khóa truy cập kho đối tượng (dòng 1: mã khóa, dòng 2: khóa bí mật), khi
    /// --blob-store hoặc --backup-dir là bucket; hoặc biến môi trường KYSO_S3_ACCESS_KEY_ID và
    /// KYSO_S3_SECRET_ACCESS_KEY
    #[arg(long, env = "KYSO_S3_CREDENTIALS_FILE", value_name = "TỆP")]
    pub s3_credentials_file: Option<PathBuf>,
}

impl From<Args> for server::Options {
    fn from(a: Args) -> server::Options {
        server::Options {
            config: a.config,
            listen: a.listen,
            data_dir: a.data_dir,
            database_url: a.database_url,
            database_url_file: a.database_url_file,
            no_demo: a.no_demo,
            root_code: a.root_code,
            root_name: a.root_name,
            secure_cookies: a.secure_cookies,
            smtp_url: a.smtp_url,
            smtp_from: a.smtp_from,
            smtp_password_file: a.smtp_password_file,
            public_url: a.public_url,
            incoming_max_mb: a.incoming_max_mb,
            verify_max_mb: a.verify_max_mb,
            verify_burst: a.verify_burst,
            verify_per_minute: a.verify_per_minute,
            verify_uploads: a.verify_uploads,
            threads: a.threads,
            org_keys: a.org_keys,
            org_key_password_file: a.org_key_password_file,
            trusted_proxies: a.trusted_proxies,
            metrics_listen: a.metrics_listen,
            csc_url: a.csc_url,
            csc_level: a.csc_level,
            csc_tsa: a.csc_tsa,
            csc_ca: a.csc_ca,
            audit_files: a.audit_files.into(),
            backup_dir: a.backup_dir,
            backup_every: a.backup_every,
            blob_store: a.objects.blob_store,
            s3_credentials_file: a.objects.s3_credentials_file,
        }
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

impl From<&DbArgs> for server::audit::Db {
    fn from(a: &DbArgs) -> server::audit::Db {
        server::audit::Db {
            data_dir: a.data_dir.clone(),
            database_url: a.database_url.clone(),
        }
    }
}

/// The clock, the console and the audit check's period (`KYSO_AUDIT_CHECK_SECS`, else a
/// minute; the tests use 1 s) for the library's server.
pub fn host() -> server::Host {
    let secs = std::env::var("KYSO_AUDIT_CHECK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(60);
    server::Host {
        now: crate::clock::now,
        say: Arc::new(|line: &str| println!("{line}")),
        audit_check: std::time::Duration::from_secs(secs),
    }
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let settings = server::Settings::resolve(args.into())?;
    server::run(settings, lang, host())?;
    Ok(ExitCode::SUCCESS)
}
