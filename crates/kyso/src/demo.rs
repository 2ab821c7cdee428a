//! `kyso demo [DIR]`: its options; the walk-through is `kyso_services::demo`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_i18n::Lang;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Thư mục làm việc (mặc định: ./kyso-demo)
    #[arg(default_value = "kyso-demo")]
    dir: PathBuf,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    kyso_services::demo::run(&args.dir, crate::clock::now(), lang, &mut |line| {
        println!("{line}")
    })?;
    Ok(ExitCode::SUCCESS)
}
