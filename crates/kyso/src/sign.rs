//! `kyso sign`: add a PAdES signature in one of the Decree 30 forms, at any PAdES level. The
//! signing is `kyso_pades::ltv::sign_with_level`'s, the planning, forms and JSON lines
//! `kyso_services::signing`'s; this module reads the command line and runs the batch.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_pades::forms::CopyForm;
use kyso_pades::SignOptions;
use kyso_services::signing::{self, FormKind, FormRequest, Job};
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
    #[arg(long, value_name = "x1,y1,x2,y2", value_parser = signing::parse_rect, allow_hyphen_values = true)]
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
    let jobs = signing::plan_outputs(
        &args.inputs,
        args.output.as_deref(),
        args.out_dir.as_deref(),
        args.in_place,
    )?;
    let signer = crate::keys::open(&args.key, now)?;
    let signer = signing::complete_signer(
        signer,
        &args.chain,
        args.offline,
        args.fetch_timeout,
        crate::clock::now,
    )?;
    let form = signing::visible_form(&form_request(&args), signer.certificate())?;
    let mut opts = SignOptions::new(now);
    opts.reason = args.reason.clone();
    opts.location = args.location.clone();
    opts.field_name = args.field_name.clone();
    opts.durable = !args.no_fsync;
    let level = args.level.level();
    let fetcher = signing::fetcher(args.fetch_timeout, crate::clock::now);
    let tsa = signing::tsa_for(level, args.tsa.as_deref(), &fetcher)?;
    opts.timestamper = tsa.map(|t| t as std::sync::Arc<dyn kyso_pades::sign::Timestamper>);

    // Once the token is gone (pulled out, logged out), the remaining documents are not tried:
    // each would fail the same way.
    let token_gone = std::sync::atomic::AtomicBool::new(false);
    let sign_one = |job: &Job| -> Result<(), UserError> {
        if token_gone.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(signing::not_tried());
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
    // What --json prints: one object per file (docs/sign-json.md).
    let report = signing::SignLine {
        level,
        signer: signer.certificate().common_name().unwrap_or_default(),
        time: now,
        lang,
    };
    let json_line = |job: &Job, err: Option<&UserError>| {
        if args.json {
            println!("{}", report.line(job, err));
        }
    };
    if let [job] = jobs.as_slice() {
        let result = sign_one(job);
        json_line(job, result.as_ref().err());
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
            json_line(job, err);
        }
    }
    let (lines, failed) = signing::batch_outcome(&failures, jobs.len(), lang);
    for line in lines {
        eprintln!("{line}");
    }
    match failed {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => Err(e.into()),
    }
}

/// The visible form's parts as the options give them.
fn form_request(args: &Args) -> FormRequest {
    FormRequest {
        kind: match args.kind {
            Kind::Personal => FormKind::Personal,
            Kind::Organization => FormKind::Organization,
            Kind::Copy => FormKind::Copy,
            Kind::Attachment => FormKind::Attachment,
        },
        invisible: args.invisible,
        image: args.image.clone(),
        page: args.page,
        rect: args.rect,
        anchor: args.anchor.clone(),
        copy_form: match args.copy_form {
            CopyFormArg::SaoY => CopyForm::Certified,
            CopyFormArg::SaoLuc => CopyForm::Transcribed,
            CopyFormArg::TrichSao => CopyForm::Excerpt,
        },
        org_name: args.org_name.clone(),
        doc_number: args.doc_number.clone(),
        seal_diameter_mm: args.seal_diameter_mm,
    }
}

/// Read a file of at most `max` bytes.
pub use kyso_services::signing::read_limited;
