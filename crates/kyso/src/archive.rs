//! `kyso archive verify PACKAGE.zip`: check a dossier's hand-over package offline — every file
//! the manifest names present and hashing to its SHA-256, nothing else in the package — and
//! verify the signatures of each document's filed copy with kyso's verifier, without the
//! network (what the files carry: their DSS, their timestamps). Exit codes: 0 intact and every
//! document valid, 1 a file missing, changed or added, or a document invalid, 2 intact but some
//! document indeterminate, 3 not a package.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args as ClapArgs, Subcommand};
use kyso_i18n::catalogue as errors;
use kyso_i18n::{exit, ue, Lang};
use kyso_pades::validate::{validate, ValidateOptions, Verdict};

/// `kyso archive …`
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: ArchiveCommand,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Kiểm tra gói nộp lưu hồ sơ không cần mạng: đủ tệp, mã băm SHA-256 từng tệp khớp danh
    /// mục, không có tệp lạ; kiểm tra chữ ký số của từng văn bản (mã thoát 0 nguyên vẹn và hợp
    /// lệ, 1 có tệp thiếu, bị sửa hoặc văn bản không hợp lệ, 2 chưa xác định được chữ ký)
    Verify(VerifyArgs),
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// Gói nộp lưu (.zip) tải từ trang hồ sơ
    package: PathBuf,
    /// Chứng thư số gốc tin cậy (PEM/DER), có thể lặp lại; không có thì dùng danh sách tin cậy
    /// (kyso trust list)
    #[arg(long, value_name = "ROOT.pem")]
    trust: Vec<PathBuf>,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        ArchiveCommand::Verify(a) => verify(a, lang),
    }
}

fn verify(args: VerifyArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let en = lang == Lang::En;
    let trust = kyso_services::trust::anchors(&args.trust)?;
    let file = std::fs::File::open(&args.package).map_err(|e| errors::io(&args.package, &e))?;
    let now = crate::clock::now();
    let mut verdicts: Vec<(String, Verdict)> = Vec::new();
    let check = kyso_store::archive::check_package(std::io::BufReader::new(file), |f, bytes| {
        if !f.filed {
            return;
        }
        let opts = ValidateOptions::new(trust.clone(), now);
        let src = kyso_pdf::MemSource::new(bytes.to_vec());
        let verdict = match validate(Arc::new(src), &opts) {
            Ok(r) => r.verdict,
            Err(_) => Verdict::Invalid,
        };
        verdicts.push((f.path.clone(), verdict));
    })
    .map_err(|e| {
        ue!("{}: {}", args.package.display(), e.message(false); "{}: {}", args.package.display(), e.message(true))
            .usage()
    })?;
    let mut out = String::new();
    if let Some(m) = &check.manifest {
        out.push_str(&if en {
            format!(
                "Dossier {} — {} ({}, {}): {} documents, {} files as the manifest says\n",
                m.dossier_code,
                m.title,
                m.agency_name,
                m.year,
                m.documents.len(),
                check.files_ok
            )
        } else {
            format!(
                "Hồ sơ {} — {} ({}, năm {}): {} văn bản, {} tệp khớp danh mục\n",
                m.dossier_code,
                m.title,
                m.agency_name,
                m.year,
                m.documents.len(),
                check.files_ok
            )
        });
    }
    for (vi, e) in &check.problems {
        out.push_str(if en { e } else { vi });
        out.push('\n');
    }
    let word = |v: Verdict| match (v, en) {
        (Verdict::Valid, false) => "hợp lệ",
        (Verdict::Invalid, false) => "KHÔNG HỢP LỆ",
        (Verdict::Indeterminate, false) => "chưa xác định",
        (Verdict::Valid, true) => "valid",
        (Verdict::Invalid, true) => "INVALID",
        (Verdict::Indeterminate, true) => "indeterminate",
    };
    for (path, v) in &verdicts {
        out.push_str(&format!("{path}: {}\n", word(*v)));
    }
    let code = if !check.is_intact() || verdicts.iter().any(|(_, v)| *v == Verdict::Invalid) {
        exit::INVALID
    } else if verdicts.iter().any(|(_, v)| *v == Verdict::Indeterminate) {
        exit::INDETERMINATE
    } else {
        exit::OK
    };
    out.push_str(match (code, en) {
        (exit::OK, false) => "Gói nguyên vẹn; mọi văn bản hợp lệ.\n",
        (exit::OK, true) => "The package is intact; every document is valid.\n",
        (exit::INDETERMINATE, false) => {
            "Gói nguyên vẹn; có văn bản chưa xác định được chữ ký (xem từng dòng).\n"
        }
        (exit::INDETERMINATE, true) => {
            "The package is intact; some signatures could not be decided (see each line).\n"
        }
        (_, false) => "Gói KHÔNG nguyên vẹn hoặc có văn bản không hợp lệ.\n",
        (_, true) => "The package is NOT intact, or a document is invalid.\n",
    });
    print!("{out}");
    Ok(ExitCode::from(code))
}
