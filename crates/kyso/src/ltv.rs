//! Long-term signature levels for `kyso sign --level` and `kyso extend`: the TSA client and
//! the B-LT/B-LTA steps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kyso_cms::DigestAlgorithm;
use kyso_ltv::fetch::{FetchOptions, Fetcher};
use kyso_pades::ltv::Level;
use kyso_pades::sign::Timestamper;
use kyso_pades::SignOptions;

use crate::lang::{Lang, UserError};
use crate::{errors, ue};

/// PAdES baseline levels as the user names them.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelArg {
    /// Chữ ký cơ bản
    #[value(name = "B-B")]
    BB,
    /// Kèm dấu thời gian cho chữ ký (cần --tsa)
    #[value(name = "B-T")]
    BT,
    /// Kèm chứng thư số, OCSP/CRL để kiểm tra lâu dài, cả khi không có mạng (cần --tsa)
    #[value(name = "B-LT")]
    BLt,
    /// Kèm thêm dấu thời gian lưu trữ cho toàn bộ tài liệu (cần --tsa)
    #[value(name = "B-LTA")]
    BLta,
}

impl LevelArg {
    pub fn level(self) -> Level {
        match self {
            LevelArg::BB => Level::BB,
            LevelArg::BT => Level::BT,
            LevelArg::BLt => Level::BLt,
            LevelArg::BLta => Level::BLta,
        }
    }
}

/// The HTTP client for TSAs, OCSP responders and CRLs.
pub fn fetcher(timeout_secs: u64) -> Arc<Fetcher> {
    Arc::new(Fetcher::new(FetchOptions {
        timeout: Duration::from_secs(timeout_secs.clamp(1, 300)),
        ..FetchOptions::default()
    }))
}

/// An RFC 3161 TSA reached over HTTP.
#[derive(Debug)]
pub struct HttpTsa {
    pub fetcher: Arc<Fetcher>,
    pub url: String,
}

impl Timestamper for HttpTsa {
    fn timestamp(&self, alg: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, String> {
        kyso_ltv::tsp::request_timestamp(&self.fetcher, &self.url, alg, digest)
            .map_err(|e| e.to_string())
    }
}

/// The TSA for `level`, refusing levels above B-B without one.
pub fn tsa_for(
    level: Level,
    url: Option<&str>,
    fetcher: &Arc<Fetcher>,
) -> Result<Option<Arc<HttpTsa>>, UserError> {
    match (level, url) {
        (Level::BB, _) => Ok(None),
        (_, Some(u)) => Ok(Some(Arc::new(HttpTsa {
            fetcher: fetcher.clone(),
            url: u.to_owned(),
        }))),
        (_, None) => Err(
            ue!("mức B-T trở lên cần dịch vụ cấp dấu thời gian: thêm --tsa URL"; "levels from B-T up need a time-stamping service: add --tsa URL"),
        ),
    }
}

/// After signing at B-T into `signed`, raise it to `level` (B-LT/B-LTA) into `dest`.
pub fn raise(
    signed: &Path,
    dest: &Path,
    level: Level,
    opts: &SignOptions,
    fetcher: &Fetcher,
    tsa: Option<&HttpTsa>,
) -> Result<PathBuf, UserError> {
    kyso_pades::ltv::extend(
        signed,
        dest,
        level,
        opts,
        fetcher,
        tsa.map(|t| t as &dyn Timestamper),
        crate::clock::now(),
    )
    .map_err(|e| errors::pades(&e))
}

#[derive(clap::Args, Debug)]
pub struct ExtendArgs {
    /// Tệp PDF đã ký cần nâng mức
    #[arg(value_name = "IN.pdf")]
    input: PathBuf,
    /// Tệp PDF kết quả
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: Option<PathBuf>,
    /// Mức cần đạt: B-LT hoặc B-LTA (chạy lại B-LTA để thêm dấu thời gian lưu trữ mới)
    #[arg(long, value_enum)]
    level: LevelArg,
    /// Địa chỉ dịch vụ cấp dấu thời gian (RFC 3161), cần cho B-LTA
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Ghi đè tệp đầu vào (thay thế nguyên tử)
    #[arg(long)]
    in_place: bool,
    /// Thời gian chờ tối đa mỗi lần gọi TSA/OCSP/CRL, tính bằng giây
    #[arg(long, value_name = "GIÂY", default_value_t = 10)]
    fetch_timeout: u64,
}

/// `kyso extend`: add validation material (B-LT) and a document timestamp (B-LTA) to a signed
/// document without touching its signatures.
pub fn run_extend(args: ExtendArgs, _lang: Lang) -> anyhow::Result<ExitCode> {
    let level = args.level.level();
    if level < Level::BLt {
        return Err(ue!("kyso extend nâng lên B-LT hoặc B-LTA; để thêm dấu thời gian cho chữ ký mới dùng kyso sign --level B-T"; "kyso extend raises to B-LT or B-LTA; for a signature timestamp sign with kyso sign --level B-T").with_code(3).into());
    }
    if !args.input.is_file() {
        return Err(ue!("không tìm thấy tệp {}", args.input.display(); "file not found: {}", args.input.display()).into());
    }
    let dest = match (&args.output, args.in_place) {
        (Some(o), _) => o.clone(),
        (None, true) => args.input.clone(),
        (None, false) => {
            return Err(ue!("thiếu tệp kết quả: dùng -o OUT.pdf (hoặc --in-place)"; "no output given: use -o OUT.pdf (or --in-place)").into())
        }
    };
    let same = matches!((args.input.canonicalize(), dest.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same && !args.in_place {
        return Err(ue!("tệp kết quả trùng tệp đầu vào; thêm --in-place để ghi đè an toàn"; "the output is the input file; add --in-place to replace it safely").into());
    }
    let fetcher = fetcher(args.fetch_timeout);
    let tsa = match level {
        Level::BLta => tsa_for(level, args.tsa.as_deref(), &fetcher)?,
        _ => None,
    };
    let opts = SignOptions::new(crate::clock::now());
    raise(&args.input, &dest, level, &opts, &fetcher, tsa.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
