//! `kyso trust`: the trust store — the root certificates that `kyso verify` and `kyso agent`
//! trust when no `--trust` file is given (`kyso_x509::store`: `KYSO_TRUST_DIR`, else
//! `~/.config/kyso/trust` then `/etc/kyso/trust`). `list` shows them, `add` and `remove` change
//! the user's (or, with `--system`, the system's) directory after showing the subject and the
//! SHA-256 fingerprint and asking for confirmation.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kyso_i18n::{ue, Lang, UserError};
use kyso_services::trust;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TrustCommand {
    /// Liệt kê chứng thư gốc tin cậy: chủ thể, dấu vân tay SHA-256, hiệu lực, thư mục
    List(ListArgs),
    /// Thêm chứng thư gốc (CA) vào danh sách tin cậy, sau khi hỏi xác nhận
    Add(AddArgs),
    /// Xóa chứng thư gốc khỏi danh sách tin cậy theo dấu vân tay SHA-256 (vài ký tự đầu)
    Remove(RemoveArgs),
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Xuất dạng JSON (lược đồ kyso.trust/1)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct AddArgs {
    /// Tệp chứng thư gốc (PEM hoặc DER)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Không hỏi xác nhận
    #[arg(long, short = 'y')]
    yes: bool,
    /// Ghi vào thư mục của hệ thống (/etc/kyso/trust, cần quyền quản trị) thay cho thư mục của
    /// người dùng; khi có biến KYSO_TRUST_DIR thì luôn ghi vào thư mục đầu tiên của biến này
    #[arg(long)]
    system: bool,
}

#[derive(clap::Args, Debug)]
struct RemoveArgs {
    /// Dấu vân tay SHA-256 của chứng thư (ít nhất 8 chữ số hex đầu, như kyso trust list in ra)
    #[arg(value_name = "FINGERPRINT")]
    fingerprint: String,
    /// Không hỏi xác nhận
    #[arg(long, short = 'y')]
    yes: bool,
}

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        TrustCommand::List(a) => trust::list(a.json, lang, &mut Terminal),
        TrustCommand::Add(a) => trust::add(&a.files, a.yes, a.system, lang, &mut Terminal),
        TrustCommand::Remove(a) => trust::remove(&a.fingerprint, a.yes, lang, &mut Terminal),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// stdout and stdin.
struct Terminal;

impl trust::Console for Terminal {
    fn out(&mut self, text: &str) -> Result<(), UserError> {
        let mut o = std::io::stdout().lock();
        match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(
                ue!("không ghi được ra màn hình: {}", e; "cannot write the output: {}", e)
                    .environment(),
            ),
            _ => Ok(()),
        }
    }

    /// Only "c"/"có"/"y"/"yes" is yes.
    fn confirm(&mut self, question: &str) -> Result<bool, UserError> {
        self.out(&format!("{question} [c/K] "))?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            ue!("không đọc được câu trả lời: {}", e; "cannot read the answer: {}", e).environment()
        })?;
        let answer = line.trim().to_lowercase();
        let yes = matches!(answer.as_str(), "c" | "co" | "có" | "y" | "yes");
        // A terminal echoes the answer and its newline; piped input does not.
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) || !line.ends_with('\n') {
            self.out("\n")?;
        }
        Ok(yes)
    }
}
