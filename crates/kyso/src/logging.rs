//! The one tracing subscriber of the process: events of every library on stderr, filtered by
//! `RUST_LOG` (default: `info` for the servers, `warn` for the other commands), as text or as
//! one JSON object per line (`--log-format json`). Events of the `log` crate are routed too.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Dòng văn bản để người đọc
    #[default]
    Text,
    /// Mỗi dòng một đối tượng JSON (kèm các trường của span hiện tại, ví dụ mã yêu cầu)
    Json,
}

/// Targets capped at warn (see [`init`]).
const QUIET: &[&str] = &[
    "ureq=warn",
    "ureq_proto=warn",
    "tungstenite=warn",
    "tokio_tungstenite=warn",
];

/// Install the subscriber; `server`: a long-running service (its default level is `info`, so
/// the access log shows).
pub fn init(format: LogFormat, server: bool) {
    let default = if server { "info" } else { "warn" };
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(&v).unwrap_or_else(|_| EnvFilter::new(default))
        }
        _ => EnvFilter::new(default),
    };
    // Libraries whose debug and trace events carry credentials: ureq logs each request's URL
    // with its query (the agent's one-time file tokens) and hex-dumps the raw request
    // (`Authorization: Bearer …`); tungstenite logs every WebSocket message (the page's JWT
    // and session id). They stay at warn whatever RUST_LOG says for everything.
    for quiet in QUIET {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second subscriber (never here) would be refused; nothing to do then.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
