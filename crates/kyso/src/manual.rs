//! `kyso completions SHELL` and `kyso man --dir DIR`: shell completions (clap_complete) and
//! manual pages (clap_mangen) generated from the command line's own definitions, in the
//! chosen language (the help texts of `help`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::help;
use kyso_i18n::catalogue as errors;
use kyso_i18n::{Lang, UserError};

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// Vỏ lệnh (shell) cần tạo tệp gợi ý lệnh
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

/// The shells completions are made for.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Thư mục ghi các trang hướng dẫn (kyso.1 và kyso-LỆNH.1 cho từng lệnh)
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
}

/// The command line with its help in `lang`, built (subcommands know their full names).
fn command(lang: Lang) -> clap::Command {
    let mut cmd = help::localize(crate::Cli::command(), lang);
    cmd.build();
    cmd
}

pub fn completions(args: CompletionsArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let mut cmd = command(lang);
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kyso", &mut out);
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(bytes: &[u8]) -> Result<(), UserError> {
    use std::io::Write as _;
    let mut o = std::io::stdout().lock();
    match o.write_all(bytes).and_then(|()| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(crate::ue!("không ghi được ra màn hình: {}", e; "cannot write the output: {}", e))
        }
        _ => Ok(()),
    }
}

/// The section headings clap_mangen writes, in Vietnamese.
const HEADINGS_VI: [(&str, &str); 7] = [
    (".SH NAME", ".SH TÊN"),
    (".SH SYNOPSIS", ".SH CÁCH DÙNG"),
    (".SH DESCRIPTION", ".SH MÔ TẢ"),
    (".SH OPTIONS", ".SH TÙY CHỌN"),
    (".SH VERSION", ".SH PHIÊN BẢN"),
    (".SH EXTRA", ".SH THÊM"),
    (".SH AUTHORS", ".SH TÁC GIẢ"),
];

/// The manual page of `cmd` (built), in `lang`.
fn page(cmd: &clap::Command, lang: Lang) -> std::io::Result<String> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .source(concat!("kyso ", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    let mut text = String::from_utf8_lossy(&roff).into_owned();
    if lang == Lang::Vi {
        text = text
            .lines()
            .map(|l| {
                HEADINGS_VI
                    .iter()
                    .find(|(en, _)| l == *en)
                    .map_or(l, |(_, vi)| *vi)
            })
            .collect::<Vec<_>>()
            .join("\n");
        text.push('\n');
    }
    Ok(text)
}

/// Write the pages of `cmd` and of every visible subcommand into `dir`.
fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    lang: Lang,
    written: &mut Vec<PathBuf>,
) -> Result<(), UserError> {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    let text = page(cmd, lang).map_err(|e| errors::io(&path, &e))?;
    std::fs::write(&path, text).map_err(|e| errors::io(&path, &e))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, lang, written)?;
    }
    Ok(())
}

pub fn man(args: ManArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).map_err(|e| errors::io(&args.dir, &e))?;
    let mut written = Vec::new();
    write_pages(&command(lang), &args.dir, lang, &mut written)?;
    println!(
        "{}",
        match lang {
            Lang::Vi => format!(
                "Đã ghi {} trang hướng dẫn vào {}",
                written.len(),
                args.dir.display()
            ),
            Lang::En => format!(
                "Wrote {} manual pages to {}",
                written.len(),
                args.dir.display()
            ),
        }
    );
    Ok(ExitCode::SUCCESS)
}
