//! A tiny SMTP server for the mail tests: enough of RFC 5321 for one client sending plain
//! messages, keeping what it received; it can refuse the next messages for now (451), as a
//! busy relay does. With the decoding of what arrived (the text, the subject).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// What the sink received: the envelope recipients and the message text of each mail.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub data: String,
}

/// A running sink.
#[derive(Clone)]
pub struct Sink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// How many of the next messages are refused with 451 after their data.
    pub refuse_next: Arc<AtomicUsize>,
}

impl Sink {
    /// The messages received so far.
    pub fn mails(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Refuse the next `n` messages for now (451).
    pub fn refuse(&self, n: usize) {
        self.refuse_next.store(n, Ordering::SeqCst);
    }
}

/// Start a sink on a free port of 127.0.0.1.
pub async fn sink() -> Sink {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = Sink {
        port,
        received: Arc::new(Mutex::new(Vec::new())),
        refuse_next: Arc::new(AtomicUsize::new(0)),
    };
    let shared = s.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 sink.example.vn ESMTP\r\n")
                    .await
                    .unwrap();
                let mut current = Received::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink.example.vn\r\n",
                        "MAIL" => {
                            current = Received::default();
                            b"250 OK\r\n"
                        }
                        "RCPT" => {
                            let addr = line.split(['<', '>']).nth(1).unwrap_or("").to_owned();
                            current.rcpt.push(addr);
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            write
                                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                                .await
                                .unwrap();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                current.data.push_str(&l);
                                current.data.push('\n');
                            }
                            let refuse = shared
                                .refuse_next
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                            if refuse {
                                b"451 4.3.0 try again later\r\n"
                            } else {
                                shared.received.lock().unwrap().push(current.clone());
                                b"250 queued\r\n"
                            }
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    s
}

/// The text of a single-part message, its transfer encoding (base64 or quoted-printable)
/// undone.
pub fn mail_text(data: &str) -> String {
    let (head, body) = data.split_once("\n\n").unwrap_or((data, ""));
    let encoding = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding:"))
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = match encoding.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap(),
        "quoted-printable" => qp(body.replace("=\n", "").as_bytes(), false),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

/// Quoted-printable (`=XX`) undone; in an encoded word `_` is a space.
fn qp(q: &[u8], word: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < q.len() {
        match q[i] {
            b'=' if i + 2 < q.len() => {
                let hex = std::str::from_utf8(&q[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'_' if word => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A header of a message (`Subject`, `Message-ID`…), unfolded, with RFC 2047 encoded words
/// decoded.
pub fn header(data: &str, name: &str) -> String {
    let prefix = format!("{name}:");
    let mut raw = String::new();
    let mut inside = false;
    for line in data.lines() {
        if line.is_empty() {
            break;
        }
        if inside && (line.starts_with(' ') || line.starts_with('\t')) {
            raw.push_str(line);
            continue;
        }
        inside = false;
        if let Some(v) = line.strip_prefix(&prefix) {
            raw.push_str(v);
            inside = true;
        }
    }
    // Whitespace between two encoded words is dropped; elsewhere it is kept.
    let mut out = Vec::new();
    let mut previous_encoded = false;
    for (i, word) in raw.split_whitespace().enumerate() {
        let parts: Vec<&str> = word.split('?').collect();
        let encoded = parts.len() == 5 && parts[0] == "=" && parts[4] == "=";
        if i > 0 && !(encoded && previous_encoded) {
            out.push(b' ');
        }
        previous_encoded = encoded;
        if encoded {
            match parts[2].to_ascii_lowercase().as_str() {
                "b" => out.extend(
                    base64::engine::general_purpose::STANDARD
                        .decode(parts[3])
                        .unwrap(),
                ),
                _ => out.extend(qp(parts[3].as_bytes(), true)),
            }
        } else {
            out.extend(word.as_bytes());
        }
    }
    String::from_utf8(out).unwrap()
}
