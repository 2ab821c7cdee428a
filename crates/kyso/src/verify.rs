//! `kyso verify`: check every signature of a PDF and say, in the clerk's words or as JSON,
//! whether it is valid. Exit codes (docs/exit-codes.md): 0 valid, 1 invalid, 2 indeterminate, 3
//! usage or input error (a missing or damaged file), 4 environment.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kyso_ltv::fetch::{FetchOptions, Fetcher};
use kyso_pades::validate::{validate, ValidateOptions, Verdict};
use kyso_services::report::{to_json, to_text};
use time::OffsetDateTime;

use kyso_i18n::catalogue as errors;
use kyso_i18n::exit;
use kyso_i18n::ue;
use kyso_i18n::Lang;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tệp PDF cần kiểm tra
    file: PathBuf,
    /// Chứng thư số gốc tin cậy (PEM/DER), có thể lặp lại; không có thì dùng danh sách tin cậy
    /// (kyso trust list)
    #[arg(long, value_name = "ROOT.pem")]
    trust: Vec<PathBuf>,
    /// Kết luận tại thời điểm này (RFC 3339) thay cho hiện tại, ví dụ sau khi chứng thư số hết hạn
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Không truy cập mạng: chỉ dùng CRL/OCSP có sẵn trong tệp (DSS)
    #[arg(long)]
    offline: bool,
    /// Thời gian chờ tối đa mỗi lần tải CRL/OCSP, tính bằng giây
    #[arg(long, value_name = "GIÂY", default_value_t = 10)]
    fetch_timeout: u64,
    /// Xuất kết quả dạng JSON (lược đồ kyso.verify/1, xem docs/verify-json.md)
    #[arg(long)]
    json: bool,
    /// Ghi thêm báo cáo kiểm tra dạng PDF (khổ A4, tiếng Việt; tiếng Anh với --lang en) vào tệp này
    #[arg(long, value_name = "BÁO-CÁO.pdf")]
    report_pdf: Option<PathBuf>,
}

/// The report as a PDF at `out` (`kyso_services::report_pdf`): written beside it under a
/// temporary name and renamed into place, so that it appears whole or not at all.
fn write_report_pdf(
    report: &kyso_pades::validate::DocumentValidation,
    file: &std::path::Path,
    out: &std::path::Path,
    lang: Lang,
) -> anyhow::Result<()> {
    let sha = std::fs::File::open(file)
        .and_then(kyso_services::report_pdf::sha256_hex)
        .map_err(|e| errors::io(file, &e))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let pdf = kyso_services::report_pdf::render(report, &name, &sha, lang).map_err(|e| {
        ue!("Không lập được báo cáo PDF: {}", e.message_vi(); "Cannot produce the PDF report: {}", e)
            .environment()
    })?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| errors::io(out, &e))?;
    {
        use std::io::Write;
        tmp.write_all(&pdf)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| errors::io(out, &e))?;
    }
    tmp.persist(out).map_err(|e| errors::io(out, &e.error))?;
    Ok(())
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let at = match &args.at {
        Some(t) => Some(
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(
                |_| {
                    ue!("--at không đúng định dạng RFC 3339: {}", t; "--at is not RFC 3339: {}", t)
                        .usage()
                },
            )?,
        ),
        None => None,
    };
    let trust = kyso_services::trust::anchors(&args.trust)?;
    if trust.is_empty() {
        eprintln!("{}", kyso_services::trust::empty_hint(lang));
    }
    // A directory opens like a file on Linux and fails only when read: say what it is.
    if args.file.is_dir() {
        let e = std::io::Error::from(std::io::ErrorKind::IsADirectory);
        return Err(errors::io(&args.file, &e).into());
    }
    let src = kyso_pdf::FileSource::open(&args.file).map_err(|e| errors::io(&args.file, &e))?;
    let mut opts = ValidateOptions::new(trust, crate::clock::now());
    opts.at = at;
    if !args.offline {
        opts.fetcher = Some(Arc::new(Fetcher::new(FetchOptions {
            timeout: std::time::Duration::from_secs(args.fetch_timeout.clamp(1, 300)),
            ..FetchOptions::default()
        })));
    }
    let report = validate(Arc::new(src), &opts).map_err(|e| errors::verify(&args.file, &e))?;
    if let Some(out) = &args.report_pdf {
        write_report_pdf(&report, &args.file, out, lang)?;
    }
    let out = if args.json {
        let v = to_json(&report, &args.file.display().to_string());
        format!("{}\n", serde_json::to_string_pretty(&v)?)
    } else {
        to_text(&report, &args.file.display().to_string(), lang)
    };
    // A closed pipe (`kyso verify … | head`) is not an error worth a panic.
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(errors::io(std::path::Path::new("stdout"), &e).into())
            }
            _ => {}
        }
    }
    Ok(ExitCode::from(match report.verdict {
        Verdict::Valid => exit::OK,
        Verdict::Invalid => exit::INVALID,
        Verdict::Indeterminate => exit::INDETERMINATE,
    }))
}
