//! `kyso info`: the structure of a PDF, for support and debugging.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kyso_i18n::Lang;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tệp PDF
    file: PathBuf,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    let src = kyso_pdf::FileSource::open(&args.file)
        .map_err(|e| kyso_i18n::catalogue::io(&args.file, &e))?;
    let pdf = |e: kyso_pdf::Error| kyso_i18n::catalogue::pdf(&e);
    let doc = kyso_pdf::Document::open(Arc::new(src), kyso_pdf::Limits::default()).map_err(pdf)?;
    let pages = doc.pages().map_err(pdf)?;
    println!(
        "{}: {}",
        lang.pick("Kích thước (byte)", "Size (bytes)"),
        doc.len()
    );
    println!(
        "{}: {}",
        lang.pick("Số lần cập nhật", "Revisions"),
        doc.sections().len()
    );
    println!("{}: {}", lang.pick("Số trang", "Pages"), pages.len());
    for (i, p) in pages.iter().enumerate() {
        let [a, b, c, d] = p.media_box;
        println!(
            "  {} {}: [{a} {b} {c} {d}], {} {}°",
            lang.pick("Trang", "Page"),
            i + 1,
            lang.pick("xoay", "rotated"),
            p.rotate
        );
    }
    Ok(ExitCode::SUCCESS)
}
