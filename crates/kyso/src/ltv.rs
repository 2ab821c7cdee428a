//! `kyso sign --level` and `kyso extend`: the level names, the network the engine reaches
//! through (`kyso_ltv::fetch`, `kyso_ltv::tsp::HttpTsa`), and `kyso extend` itself. The B-LT
//! and B-LTA steps are `kyso_pades::ltv`'s.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kyso_ltv::fetch::{CacheOptions, CachingFetcher, Fetch, FetchOptions, HttpFetcher};
use kyso_ltv::tsp::HttpTsa;
use kyso_pades::ltv::Level;
use kyso_pades::SignOptions;

use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::{Lang, UserError};

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

/// The HTTP client for TSAs, OCSP responders and CRLs of one run, with an in-process cache
/// (a CRL fetched once serves every document of a batch).
pub fn fetcher(timeout_secs: u64) -> Arc<dyn Fetch> {
    fetcher_with(timeout_secs, FetchOptions::default().max_bytes)
}

/// [`fetcher`] accepting answers of at most `max_bytes`.
pub fn fetcher_with(timeout_secs: u64, max_bytes: u64) -> Arc<dyn Fetch> {
    let http = HttpFetcher::new(FetchOptions {
        timeout: Duration::from_secs(timeout_secs.clamp(1, 300)),
        max_bytes,
    });
    // The run's own clock: answers expire at their nextUpdate (and within a day).
    let clock: kyso_ltv::fetch::Clock = Arc::new(crate::clock::now);
    Arc::new(CachingFetcher::with_clock(
        http,
        CacheOptions::default(),
        clock,
    ))
}

/// The TSA for `level`, refusing levels above B-B without one.
pub fn tsa_for(
    level: Level,
    url: Option<&str>,
    fetcher: &Arc<dyn Fetch>,
) -> Result<Option<Arc<HttpTsa>>, UserError> {
    match (level, url) {
        (Level::BB, _) => Ok(None),
        (_, Some(u)) => Ok(Some(Arc::new(HttpTsa::new(fetcher.clone(), u)))),
        (_, None) => Err(
            ue!("mức B-T trở lên cần dịch vụ cấp dấu thời gian: thêm --tsa URL"; "levels from B-T up need a time-stamping service: add --tsa URL"),
        ),
    }
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
    /// Xuất kết quả dạng JSON trên stdout (lược đồ kyso.extend/1, xem docs/extend-json.md)
    #[arg(long)]
    json: bool,
}

/// `kyso extend`: add validation material (B-LT) and a document timestamp (B-LTA) to a signed
/// document without touching its signatures.
pub fn run_extend(args: ExtendArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let level = args.level.level();
    let now = crate::clock::now();
    let result = extend(&args, level, now);
    if args.json {
        let (outcome, error) = match &result {
            Ok(()) => ("extended", serde_json::Value::Null),
            Err(e) => ("failed", error_json(e, lang)),
        };
        let v = serde_json::json!({
            "schema": "kyso.extend/1",
            "input": args.input.display().to_string(),
            "output": output_path(&args).map(|p| p.display().to_string()),
            "level": level.name(),
            "time": rfc3339(now),
            "outcome": outcome,
            "error": error,
        });
        println!("{v}");
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The output `kyso extend` writes, when the command line names one.
fn output_path(args: &ExtendArgs) -> Option<PathBuf> {
    match (&args.output, args.in_place) {
        (Some(o), _) => Some(o.clone()),
        (None, true) => Some(args.input.clone()),
        (None, false) => None,
    }
}

fn extend(args: &ExtendArgs, level: Level, now: time::OffsetDateTime) -> Result<(), UserError> {
    if level < Level::BLt {
        return Err(ue!("kyso extend nâng lên B-LT hoặc B-LTA; để thêm dấu thời gian cho chữ ký mới dùng kyso sign --level B-T"; "kyso extend raises to B-LT or B-LTA; for a signature timestamp sign with kyso sign --level B-T").usage());
    }
    if !args.input.is_file() {
        return Err(ue!("không tìm thấy tệp {}", args.input.display(); "file not found: {}", args.input.display()).usage());
    }
    let dest = output_path(args).ok_or_else(|| ue!("thiếu tệp kết quả: dùng -o OUT.pdf (hoặc --in-place)"; "no output given: use -o OUT.pdf (or --in-place)").usage())?;
    let same = matches!((args.input.canonicalize(), dest.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same && !args.in_place {
        return Err(ue!("tệp kết quả trùng tệp đầu vào; thêm --in-place để ghi đè an toàn"; "the output is the input file; add --in-place to replace it safely").usage());
    }
    let fetcher = fetcher(args.fetch_timeout);
    let tsa = match level {
        Level::BLta => tsa_for(level, args.tsa.as_deref(), &fetcher)?,
        _ => None,
    };
    let opts = SignOptions::new(now);
    kyso_pades::ltv::extend(
        &args.input,
        &dest,
        level,
        &opts,
        fetcher.as_ref(),
        tsa.as_deref()
            .map(|t| t as &dyn kyso_pades::sign::Timestamper),
        now,
    )
    .map_err(|e| errors::pades(&e))?;
    Ok(())
}

/// The `error` member of the JSON outputs: the exit code and the message in `lang`.
pub fn error_json(e: &UserError, lang: Lang) -> serde_json::Value {
    serde_json::json!({ "code": e.code, "message": e.message(lang) })
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
