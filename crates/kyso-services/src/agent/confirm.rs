//! The user's confirmation of each signature: the request shown at the agent's terminal and
//! the PIN (or PKCS#12 password) typed there; nothing typed before a request counts.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use kyso_keys::Secret;

/// Who confirms a signature: shown `request` and `prompt`, returns the PIN typed, or `None`
/// when the user refused, did not answer in time, or cannot be asked.
pub trait Confirmer: Send + Sync {
    fn confirm(&self, request: &str, prompt: &str) -> Option<Secret>;
}

/// The agent's terminal: one reader thread turns input lines into secrets; a confirmation
/// discards what was typed before it, shows the request and waits for the next line.
pub struct Console {
    lines: Mutex<mpsc::Receiver<Secret>>,
    timeout: Duration,
}

impl Console {
    /// Start reading the terminal (a thread); `timeout`: how long a confirmation waits.
    pub fn start(timeout: Duration) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let line = if std::io::stdin().is_terminal() {
                rpassword::read_password().ok()
            } else {
                let mut s = String::new();
                match std::io::stdin().lock().read_line(&mut s) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => {
                        let trimmed = s.trim_end_matches(['\r', '\n']).to_owned();
                        zeroize::Zeroize::zeroize(&mut s);
                        Some(trimmed)
                    }
                }
            };
            match line {
                Some(l) => {
                    if tx.send(Secret::new(l)).is_err() {
                        return;
                    }
                }
                None => return,
            }
        });
        Console {
            lines: Mutex::new(rx),
            timeout,
        }
    }
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Confirmer for Console {
    /// Show `request` and wait for the PIN. `None`: refused (an empty line), no answer in
    /// time, or no terminal.
    fn confirm(&self, request: &str, prompt: &str) -> Option<Secret> {
        let rx = self.lines.lock().ok()?;
        while rx.try_recv().is_ok() {}
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "\n{request}");
        let _ = write!(out, "{prompt}");
        let _ = out.flush();
        drop(out);
        match rx.recv_timeout(self.timeout) {
            Ok(pin) if !pin.expose().is_empty() => Some(pin),
            _ => None,
        }
    }
}
