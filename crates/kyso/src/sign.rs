//! `kyso sign`: add a PAdES signature in one of the Decree 30 forms.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kyso_keys::{Pkcs12Signer, Secret};
use kyso_pades::SignOptions;
use time::OffsetDateTime;

use crate::lang::{Lang, UserError};
use crate::{errors, ue};

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
    /// Số luồng ký song song khi ký nhiều tệp (mặc định: số nhân CPU)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Tệp khóa PKCS#12 (.p12/.pfx)
    #[arg(long)]
    p12: PathBuf,
    /// Tên biến môi trường chứa mật khẩu PKCS#12
    #[arg(long, value_name = "VAR")]
    password_env: String,
    /// Hình thức chữ ký theo Nghị định 30
    #[arg(long, value_enum, default_value = "personal")]
    kind: Kind,
    /// Chữ ký không hiển thị
    #[arg(long)]
    invisible: bool,
    /// Lý do ký
    #[arg(long)]
    reason: Option<String>,
    /// Nơi ký
    #[arg(long)]
    location: Option<String>,
    /// Tên trường chữ ký
    #[arg(long)]
    field_name: Option<String>,
    /// Dùng RSA-PSS thay cho PKCS#1 v1.5
    #[arg(long)]
    pss: bool,
    /// Cho phép ký bằng chứng thư số đã hết hạn
    #[arg(long)]
    allow_expired: bool,
    /// Cho phép ghi đè tệp đầu vào (thay thế nguyên tử)
    #[arg(long)]
    in_place: bool,
    /// Không gọi fsync trước khi đổi tên tệp kết quả (nhanh hơn, kém an toàn khi mất điện)
    #[arg(long, hide = true)]
    no_fsync: bool,
    /// Thời điểm ký (RFC 3339), mặc định là hiện tại
    #[arg(long, value_name = "RFC3339", hide = true)]
    time: Option<String>,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let now = match &args.time {
        Some(t) => OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ue!("thời điểm ký không đúng định dạng RFC 3339: {}", t; "signing time is not RFC 3339: {}", t))?,
        None => crate::clock::now(),
    };
    let jobs = plan_outputs(&args)?;
    if !args.invisible {
        return Err(ue!("chữ ký hiển thị chưa được hỗ trợ trong bản này; dùng --invisible"; "visible signatures are not available in this build yet; use --invisible").into());
    }
    let signer = load_signer(&args, now)?;
    let mut opts = SignOptions::new(now);
    opts.reason = args.reason.clone();
    opts.location = args.location.clone();
    opts.field_name = args.field_name.clone();
    opts.durable = !args.no_fsync;

    let sign_one = |job: &Job| -> Result<(), UserError> {
        kyso_pades::sign_with(&job.input, &job.output, &opts, &signer, None)
            .map(|_| ())
            .map_err(|e| errors::pades(&e))
    };
    if let [job] = jobs.as_slice() {
        sign_one(job)?;
        return Ok(ExitCode::SUCCESS);
    }
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let failures = crate::batch::run(&jobs, threads, lang, |job| sign_one(job));
    for (job, err) in &failures {
        eprintln!("{}: {}", job.input.display(), err.message(lang));
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(ue!("{}/{} tệp không ký được", failures.len(), jobs.len(); "{} of {} files could not be signed", failures.len(), jobs.len()).into())
    }
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
                ue!("không tìm thấy tệp {}", input.display(); "file not found: {}", input.display()),
            );
        }
        let output = match (&args.output, &args.out_dir) {
            (Some(o), _) if args.inputs.len() == 1 => o.clone(),
            (Some(_), _) => {
                return Err(
                    ue!("ký nhiều tệp thì dùng --out-dir thay cho -o"; "to sign several files use --out-dir instead of -o"),
                )
            }
            (None, Some(dir)) => {
                let name = input.file_name().ok_or_else(
                    || ue!("tên tệp không hợp lệ: {}", input.display(); "not a file name: {}", input.display()),
                )?;
                dir.join(name)
            }
            (None, None) if args.in_place => input.clone(),
            (None, None) => {
                return Err(
                    ue!("thiếu tệp kết quả: dùng -o OUT.pdf (hoặc --out-dir, --in-place)"; "no output given: use -o OUT.pdf (or --out-dir, --in-place)"),
                )
            }
        };
        let same = match (input.canonicalize(), output.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same && !args.in_place {
            return Err(
                ue!("tệp kết quả trùng tệp đầu vào {}; thêm --in-place để ghi đè an toàn", input.display(); "the output is the input file {}; add --in-place to replace it safely", input.display()),
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

fn load_signer(args: &Args, now: OffsetDateTime) -> Result<Pkcs12Signer, UserError> {
    let password = std::env::var(&args.password_env)
        .map(Secret::new)
        .map_err(|_| ue!("biến môi trường {} (mật khẩu) chưa được đặt", args.password_env; "environment variable {} (password) is not set", args.password_env))?;
    let data = read_limited(&args.p12, kyso_keys::MAX_P12_BYTES)?;
    let mut signer = Pkcs12Signer::from_pkcs12(&data, &password).map_err(|e| errors::keys(&e))?;
    drop(password);
    if args.pss {
        signer.use_pss().map_err(|e| errors::keys(&e))?;
    }
    let cert = kyso_cms::Signer::certificate(&signer);
    let ku = cert.key_usage();
    if ku.present && !ku.digital_signature && !ku.non_repudiation {
        return Err(
            ue!("chứng thư số không có mục đích ký số (digitalSignature)"; "the certificate is not for digital signatures (no digitalSignature key usage)"),
        );
    }
    if !cert.valid_at(now) && !args.allow_expired {
        let until = cert.not_after().date();
        return Err(if now > cert.not_after() {
            ue!("chứng thư số đã hết hạn ngày {}; thêm --allow-expired nếu vẫn muốn ký", until; "the certificate expired on {}; add --allow-expired to sign anyway", until)
        } else {
            ue!("chứng thư số chưa có hiệu lực"; "the certificate is not valid yet")
        });
    }
    Ok(signer)
}

/// Read a file of at most `max` bytes.
pub fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, UserError> {
    let meta = std::fs::metadata(path).map_err(|e| errors::io(path, &e))?;
    if meta.len() > max as u64 {
        return Err(
            ue!("tệp {} quá lớn (tối đa {} byte)", path.display(), max; "file {} is too large (at most {} bytes)", path.display(), max),
        );
    }
    std::fs::read(path).map_err(|e| errors::io(path, &e))
}
