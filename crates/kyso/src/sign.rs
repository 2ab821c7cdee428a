//! `kyso sign`: add a PAdES signature in one of the Decree 30 forms, at any PAdES level. The
//! signing is `kyso_pades::ltv::sign_with_level`'s; this module reads the command line, plans
//! the outputs, builds the visible form and reports (text or `--json`, docs/sign-json.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kyso_pades::forms::{CopyForm, Position, VisibleForm};
use kyso_pades::SignOptions;
use time::OffsetDateTime;

use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::{Lang, UserError};

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Chữ ký cá nhân (ô 7c): ảnh chữ ký giữa chức vụ và họ tên
    Personal,
    /// Chữ ký cơ quan (ô 8): hình con dấu trùm 1/3 chữ ký bên trái
    Organization,
    /// Chữ ký trên bản sao điện tử (ô 14)
    Copy,
    /// Chữ ký trên tệp đính kèm / phụ lục
    Attachment,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormArg {
    /// SAO Y
    SaoY,
    /// SAO LỤC
    SaoLuc,
    /// TRÍCH SAO
    TrichSao,
}

fn parse_rect(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| "cần 4 số cách nhau bởi dấu phẩy: x1,y1,x2,y2".to_owned())?;
    <[f64; 4]>::try_from(v)
        .ok()
        .filter(|r| r.iter().all(|x| x.is_finite()))
        .ok_or_else(|| "cần đúng 4 số: x1,y1,x2,y2".to_owned())
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tệp PDF cần ký (nhiều tệp: dùng --out-dir)
    #[arg(required = true, value_name = "IN.pdf")]
    inputs: Vec<PathBuf>,
    /// Tệp PDF kết quả (khi ký một tệp)
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: Option<PathBuf>,
    /// Thư mục ghi các tệp đã ký (giữ nguyên tên tệp)
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    out_dir: Option<PathBuf>,
    /// Số luồng ký song song khi ký nhiều tệp (mặc định: 4 × số nhân CPU)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    key: crate::keys::KeyArgs,
    /// Hình thức chữ ký theo Nghị định 30
    #[arg(long, value_enum, default_value = "personal")]
    kind: Kind,
    /// Chữ ký không hiển thị
    #[arg(long)]
    invisible: bool,
    /// Ảnh chữ ký (cá nhân) hoặc ảnh con dấu (cơ quan), PNG nền trong suốt
    #[arg(long, value_name = "PNG")]
    image: Option<PathBuf>,
    /// Trang đặt chữ ký (bắt đầu từ 1; mặc định: trang cuối có dòng --anchor)
    #[arg(long, value_name = "N")]
    page: Option<usize>,
    /// Vùng đặt ảnh trên trang như khi hiển thị: x1,y1,x2,y2 (điểm, gốc ở góc dưới trái)
    #[arg(long, value_name = "x1,y1,x2,y2", value_parser = parse_rect, allow_hyphen_values = true)]
    rect: Option<[f64; 4]>,
    /// Dòng chức vụ người ký (ví dụ "GIÁM ĐỐC"): ảnh chữ ký đặt giữa dòng này và họ tên
    #[arg(long, value_name = "TEXT")]
    anchor: Option<String>,
    /// Hình thức sao (chữ ký trên bản sao)
    #[arg(long, value_enum, default_value = "sao-y")]
    copy_form: CopyFormArg,
    /// Tên cơ quan, tổ chức sao văn bản (mặc định: tên trong chứng thư số)
    #[arg(long, value_name = "TEXT")]
    org_name: Option<String>,
    /// Số và ký hiệu của văn bản chính (chữ ký trên tệp đính kèm)
    #[arg(long, value_name = "TEXT")]
    doc_number: Option<String>,
    /// Đường kính thật của con dấu, mm (mặc định: theo DPI của ảnh)
    #[arg(long, value_name = "MM")]
    seal_diameter_mm: Option<f64>,
    /// Lý do ký
    #[arg(long)]
    reason: Option<String>,
    /// Nơi ký
    #[arg(long)]
    location: Option<String>,
    /// Tên trường chữ ký
    #[arg(long)]
    field_name: Option<String>,
    /// Mức chữ ký PAdES
    #[arg(long, value_enum, default_value = "B-B", ignore_case = true)]
    level: crate::ltv::LevelArg,
    /// Địa chỉ dịch vụ cấp dấu thời gian RFC 3161 (cần từ mức B-T)
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Thời gian chờ tối đa mỗi lần gọi TSA/OCSP/CRL, tính bằng giây
    #[arg(long, value_name = "GIÂY", default_value_t = 10)]
    fetch_timeout: u64,
    /// Chứng thư CA (PEM/DER) để hoàn thiện chuỗi chứng thư đưa vào chữ ký, lặp lại được
    #[arg(long = "chain", value_name = "FILE")]
    chain: Vec<PathBuf>,
    /// Không tải chứng thư CA còn thiếu từ địa chỉ AIA (caIssuers) ghi trong chứng thư số
    #[arg(long)]
    offline: bool,
    /// Cho phép ghi đè tệp đầu vào (thay thế nguyên tử)
    #[arg(long)]
    in_place: bool,
    /// Không gọi fsync trước khi đổi tên tệp kết quả (nhanh hơn, kém an toàn khi mất điện)
    #[arg(long, hide = true)]
    no_fsync: bool,
    /// Thời điểm ký (RFC 3339), mặc định là hiện tại
    #[arg(long, value_name = "RFC3339", hide = true)]
    time: Option<String>,
    /// Xuất kết quả dạng JSON trên stdout, mỗi tệp một dòng (lược đồ kyso.sign/1, xem docs/sign-json.md)
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let now = match &args.time {
        Some(t) => OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ue!("thời điểm ký không đúng định dạng RFC 3339: {}", t; "signing time is not RFC 3339: {}", t).usage())?,
        None => crate::clock::now(),
    };
    let jobs = plan_outputs(&args)?;
    let signer = crate::keys::open(&args.key, now)?;
    let signer =
        crate::chain::complete_signer(signer, &args.chain, args.offline, args.fetch_timeout)?;
    let form = visible_form(&args, signer.certificate())?;
    let mut opts = SignOptions::new(now);
    opts.reason = args.reason.clone();
    opts.location = args.location.clone();
    opts.field_name = args.field_name.clone();
    opts.durable = !args.no_fsync;
    let level = args.level.level();
    let fetcher = crate::ltv::fetcher(args.fetch_timeout);
    let tsa = crate::ltv::tsa_for(level, args.tsa.as_deref(), &fetcher)?;
    opts.timestamper = tsa.map(|t| t as std::sync::Arc<dyn kyso_pades::sign::Timestamper>);

    // Once the token is gone (pulled out, logged out), the remaining documents are not tried:
    // each would fail the same way.
    let token_gone = std::sync::atomic::AtomicBool::new(false);
    let sign_one = |job: &Job| -> Result<(), UserError> {
        if token_gone.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(not_tried());
        }
        let widget = match &form {
            Some(f) => Some(
                kyso_pades::forms::widget_builder(f.clone(), now).map_err(|e| errors::pades(&e))?,
            ),
            None => None,
        };
        // Every step happens in memory; the output appears only when all succeeded.
        kyso_pades::ltv::sign_with_level(
            &job.input,
            &job.output,
            level,
            &opts,
            signer.as_ref(),
            widget,
            Some(fetcher.as_ref()),
            crate::clock::now(),
        )
        .map(|_| ())
        .map_err(|e| {
            if errors::signer_gone(&e) {
                token_gone.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            errors::pades(&e)
        })
    };
    let report = Report {
        json: args.json,
        lang,
        level,
        signer: signer.certificate().common_name().unwrap_or_default(),
        now,
    };
    if let [job] = jobs.as_slice() {
        let result = sign_one(job);
        report.line(job, result.as_ref().err());
        result?;
        return Ok(ExitCode::SUCCESS);
    }
    // Each file is fsynced before its rename; with several threads per core those waits
    // overlap (the file system commits them together) while signing keeps the cores busy.
    let threads = args
        .jobs
        .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let failures = crate::batch::run(&jobs, threads, lang, |job| sign_one(job));
    if args.json {
        let mut failed = failures.iter().peekable();
        for job in &jobs {
            let err = failed
                .next_if(|(j, _)| std::ptr::eq(*j, job))
                .map(|(_, e)| e);
            report.line(job, err);
        }
    }
    let skipped = not_tried();
    let mut not_signed = 0;
    for (job, err) in &failures {
        if err.en == skipped.en {
            not_signed += 1;
        } else {
            eprintln!("{}: {}", job.input.display(), err.message(lang));
        }
    }
    if not_signed > 0 {
        let e = ue!("{} tệp còn lại chưa được ký: đã dừng vì mất kết nối với USB token", not_signed; "{} remaining files were not signed: stopped because the token was lost", not_signed);
        eprintln!("{}", e.message(lang));
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(ue!("{}/{} tệp không ký được", failures.len(), jobs.len(); "{} of {} files could not be signed", failures.len(), jobs.len()).into())
    }
}

/// What `--json` prints: one object per file (docs/sign-json.md).
struct Report {
    json: bool,
    lang: Lang,
    level: kyso_pades::ltv::Level,
    signer: String,
    now: OffsetDateTime,
}

impl Report {
    fn line(&self, job: &Job, error: Option<&UserError>) {
        if !self.json {
            return;
        }
        let skipped = not_tried();
        let (outcome, error) = match error {
            None => ("signed", serde_json::Value::Null),
            Some(e) if e.en == skipped.en => ("not_tried", crate::ltv::error_json(e, self.lang)),
            Some(e) => ("failed", crate::ltv::error_json(e, self.lang)),
        };
        let v = serde_json::json!({
            "schema": "kyso.sign/1",
            "input": job.input.display().to_string(),
            "output": job.output.display().to_string(),
            "level": self.level.name(),
            "signer": self.signer,
            "time": crate::ltv::rfc3339(self.now),
            "outcome": outcome,
            "error": error,
        });
        println!("{v}");
    }
}

/// What a document not tried after the token was lost fails with.
fn not_tried() -> UserError {
    ue!("chưa ký: đã dừng vì mất kết nối với USB token"; "not signed: stopped because the token was lost").environment()
}

/// The visible form asked for, or `None` for an invisible signature. Images are read (with a
/// size limit) before anything is signed.
fn visible_form(args: &Args, cert: &kyso_x509::Cert) -> Result<Option<VisibleForm>, UserError> {
    if args.invisible {
        return Ok(None);
    }
    let page = match args.page {
        Some(0) => {
            return Err(ue!("số trang bắt đầu từ 1"; "pages are numbered from 1").usage());
        }
        p => p.map(|p| p - 1),
    };
    let position = || -> Result<Option<Position>, UserError> {
        Ok(match (&args.rect, &args.anchor) {
            (Some(_), Some(_)) => return Err(
                ue!("chỉ dùng một trong --rect và --anchor"; "use only one of --rect and --anchor")
                    .usage(),
            ),
            (Some(rect), None) => Some(Position::Rect {
                page: page
                    .ok_or_else(|| ue!("--rect cần --page N"; "--rect needs --page N").usage())?,
                rect: *rect,
            }),
            (None, Some(text)) => Some(Position::Anchor {
                page,
                text: text.clone(),
            }),
            (None, None) => None,
        })
    };
    let image = || -> Result<Vec<u8>, UserError> {
        let path = args.image.as_ref().ok_or_else(|| match args.kind {
            Kind::Organization => ue!("thiếu ảnh con dấu: thêm --image seal.png"; "no seal image: add --image seal.png").usage(),
            _ => ue!("thiếu ảnh chữ ký: thêm --image signature.png (hoặc --invisible)"; "no signature image: add --image signature.png (or --invisible)").usage(),
        })?;
        read_limited(path, kyso_pdf::image::ImageLimits::default().max_bytes)
    };
    let org_name = || {
        args.org_name
            .clone()
            .or_else(|| cert.subject_attr(kyso_x509::oid::O))
            .or_else(|| cert.common_name())
            .unwrap_or_default()
    };
    Ok(Some(match args.kind {
        Kind::Personal => VisibleForm::Personal {
            image: image()?,
            position: position()?.ok_or_else(|| {
                ue!("cần chỉ chỗ đặt chữ ký: --anchor \"GIÁM ĐỐC\" hoặc --page N --rect x1,y1,x2,y2 (hoặc --invisible)"; "say where the signature goes: --anchor \"GIÁM ĐỐC\" or --page N --rect x1,y1,x2,y2 (or --invisible)").usage()
            })?,
        },
        Kind::Organization => VisibleForm::Organization {
            seal: image()?,
            diameter_mm: args.seal_diameter_mm,
            page,
            position: position()?,
        },
        Kind::Copy => VisibleForm::Copy {
            form: match args.copy_form {
                CopyFormArg::SaoY => CopyForm::Certified,
                CopyFormArg::SaoLuc => CopyForm::Transcribed,
                CopyFormArg::TrichSao => CopyForm::Excerpt,
            },
            org_name: org_name(),
        },
        Kind::Attachment => VisibleForm::Attachment {
            doc_number: args.doc_number.clone().ok_or_else(|| {
                ue!("thiếu số và ký hiệu văn bản chính: thêm --doc-number \"123/QĐ-UBND\""; "no main document number: add --doc-number \"123/QĐ-UBND\"").usage()
            })?,
        },
    }))
}

/// One document to sign: where it comes from and where the signed copy goes.
#[derive(Debug)]
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
}

/// Decide every output path before touching anything, refusing an output that would
/// overwrite its input (unless `--in-place`, which replaces it by atomic rename).
fn plan_outputs(args: &Args) -> Result<Vec<Job>, UserError> {
    let mut jobs = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        if !input.is_file() {
            return Err(
                ue!("không tìm thấy tệp {}", input.display(); "file not found: {}", input.display()).usage(),
            );
        }
        let output = match (&args.output, &args.out_dir) {
            (Some(o), _) if args.inputs.len() == 1 => o.clone(),
            (Some(_), _) => {
                return Err(
                    ue!("ký nhiều tệp thì dùng --out-dir thay cho -o"; "to sign several files use --out-dir instead of -o").usage(),
                )
            }
            (None, Some(dir)) => {
                let name = input.file_name().ok_or_else(
                    || ue!("tên tệp không hợp lệ: {}", input.display(); "not a file name: {}", input.display()).usage(),
                )?;
                dir.join(name)
            }
            (None, None) if args.in_place => input.clone(),
            (None, None) => {
                return Err(
                    ue!("thiếu tệp kết quả: dùng -o OUT.pdf (hoặc --out-dir, --in-place)"; "no output given: use -o OUT.pdf (or --out-dir, --in-place)").usage(),
                )
            }
        };
        let same = match (input.canonicalize(), output.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same && !args.in_place {
            return Err(
                ue!("tệp kết quả trùng tệp đầu vào {}; thêm --in-place để ghi đè an toàn", input.display(); "the output is the input file {}; add --in-place to replace it safely", input.display()).usage(),
            );
        }
        jobs.push(Job {
            input: input.clone(),
            output,
        });
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| errors::io(dir, &e))?;
    }
    Ok(jobs)
}

/// Read a file of at most `max` bytes.
pub fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, UserError> {
    let meta = std::fs::metadata(path).map_err(|e| errors::io(path, &e))?;
    if meta.len() > max as u64 {
        return Err(
            ue!("tệp {} quá lớn (tối đa {} byte)", path.display(), max; "file {} is too large (at most {} bytes)", path.display(), max).usage(),
        );
    }
    std::fs::read(path).map_err(|e| errors::io(path, &e))
}
