//! Issue 15/3: the audit log's key and checkpoints as an administrator meets them. A served
//! registry (SQLite), its log tampered with through `sqlite3` and Python's sqlite3 module:
//! truncated, emptied, rewritten with recomputed hashes (unkeyed, with a wrong key, with the
//! stolen key); `kyso audit verify --checkpoint` with an off-site checkpoint finds each, and so
//! does the running server. And verification of 100,000 entries in bounded memory.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::kyso;
use crate::pki_serve::free_port;

/// A `kyso serve` with its stderr kept in a file, checking its audit log every second.
struct Server {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Server {
    fn start(data: &Path, log: &Path) -> Server {
        let port = free_port();
        let mut child = kyso()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .args([
                "--no-demo",
                "--root-code",
                "H99",
                "--root-name",
                "UBND Tỉnh Demo",
            ])
            .env_remove("KYSO_DATABASE_URL")
            .env("KYSO_AUDIT_CHECK_SECS", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("đang chạy tại") {
                    let _ = tx.send(());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        while rx.recv_timeout(Duration::from_millis(100)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("kyso serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "kyso serve did not start");
        }
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            port,
            stderr: log.to_owned(),
        }
    }

    /// A failed login: one audit entry.
    fn failed_login(&self) {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-X", "POST"])
            .arg(format!("http://127.0.0.1:{}/api/v1/auth/login", self.port))
            .args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(r#"{"username":"admin","password":"sai-mat-khau-123"}"#)
            .output()
            .unwrap();
        assert!(out.status.success());
    }

    /// Stop cleanly (SIGTERM, by process id): the server writes a last checkpoint.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap();
        assert!(code.success(), "kyso serve stopped with {code}");
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sqlite3(db: &Path, sql: &str) {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rewrite every entry from `from` on (the actor of `from` changed), re-chaining each one
/// unkeyed (`key` = "-") or with HMAC under `key` (hex), as someone who can write the file.
/// The script checks its encoding against kyso_domain's known-answer hash first.
fn rewrite(db: &Path, from: i64, key: &str) {
    const SCRIPT: &str = r#"
import sqlite3, hashlib, hmac, struct, sys
db, key, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
def enc(prev, seq, at, actor, agency, action, obj, detail, source):
    out = []
    f = lambda b: out.append(struct.pack('>Q', len(b)) + b)
    f(prev); f(struct.pack('>q', seq)); f(at.to_bytes(16, 'big', signed=True)); f(actor.encode())
    f(b'' if agency is None else b'\x01' + agency.encode())
    for s in (action, obj, detail, source): f(s.encode())
    return b''.join(out)
def chain(prev, *fields):
    m = enc(prev, *fields)
    if key == '-':
        return hashlib.sha256(b'kyso-audit-v1\0' + m).digest()
    return hmac.new(bytes.fromhex(key), b'kyso-audit-v2\0' + m, hashlib.sha256).digest()
known = hashlib.sha256(b'kyso-audit-v1\0' + enc(bytes(32), 1, 1767225600 * 10**9, 'admin', None,
    'login', 'account:admin', '', '127.0.0.1')).hexdigest()
assert known == 'b1eca8e2201f2145e1dbc4896a98293f6d86c95da674057eb4a89cb3f29d1468', known
c = sqlite3.connect(db)
row = c.execute('SELECT hash FROM audit_log WHERE seq = ?', (start - 1,)).fetchone()
prev = bytes.fromhex(row[0]) if row else bytes(32)
rows = c.execute('SELECT seq, at_ns, actor, agency, action, object, detail, source FROM audit_log '
                 'WHERE seq >= ? ORDER BY seq', (start,)).fetchall()
for (seq, at, actor, agency, action, obj, detail, source) in rows:
    if seq == start:
        actor = 'ke-gia-mao'
    h = chain(prev, seq, at, actor, agency, action, obj, detail, source)
    c.execute('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?',
              (actor, prev.hex(), h.hex(), seq))
    prev = h
c.commit()
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(db)
        .arg(key)
        .arg(from.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rewrite: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kyso audit verify --json` on `data` with the off-site checkpoints: (exit code, answer).
fn verify_json(data: &Path, offsite: &[&Path]) -> (i32, Value) {
    let mut c = kyso();
    c.args(["audit", "verify", "--json", "--data-dir"])
        .arg(data);
    for f in offsite {
        c.arg("--checkpoint").arg(f);
    }
    let out = c.env_remove("KYSO_DATABASE_URL").output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // docs/audit-json.md
    assert_eq!(v["schema"], "kyso.audit/1", "{v}");
    assert_eq!(v["intact"], v["problem"].is_null(), "{v}");
    (out.status.code().unwrap_or(-1), v)
}

fn copy_dir(from: &Path, to: &Path) {
    let out = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn audit_verify_with_an_offsite_checkpoint_finds_truncation_emptying_and_rewriting() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &tmp.path().join("serve1.err"));
    for _ in 0..4 {
        server.failed_login();
    }
    server.stop();
    let key_hex = std::fs::read_to_string(data.join("audit.key")).unwrap();
    let key_hex = key_hex.trim().to_owned();
    assert_eq!(key_hex.len(), 64);

    // Untouched: intact, every entry counted.
    let (code, v) = verify_json(&data, &[]);
    assert_eq!(code, 0, "{v}");
    let n = v["entries"].as_i64().unwrap();
    assert!(
        n >= 7,
        "the first start's entries and four failed logins: {v}"
    );
    assert_eq!(
        (v["intact"].as_bool(), v["keyed_from"].as_i64()),
        (Some(true), Some(1)),
        "{v}"
    );
    assert_eq!(
        v["latest_checkpoint"]["last_seq"], n,
        "a checkpoint at the clean stop: {v}"
    );
    let out = kyso()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(&format!("Nhật ký toàn vẹn: {n} mục")),
        "{text}"
    );

    // The off-site checkpoint.
    let offsite = tmp.path().join("offsite/checkpoint.json");
    std::fs::create_dir_all(offsite.parent().unwrap()).unwrap();
    let out = kyso()
        .args(["audit", "checkpoint", "--data-dir"])
        .arg(&data)
        .arg("-o")
        .arg(&offsite)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("hãy lưu tệp này ngoài máy chủ"));
    let (code, v) = verify_json(&data, &[&offsite]);
    assert_eq!((code, v["entries"].as_i64()), (0, Some(n)), "{v}");

    let copy = |name: &str| {
        let d = tmp.path().join(name);
        copy_dir(&data, &d);
        d
    };

    // 1. The last entries deleted, and the server's checkpoint file with them.
    let d = copy("truncated");
    sqlite3(
        &d.join("kyso.db"),
        &format!("DELETE FROM audit_log WHERE seq > {};", n - 3),
    );
    let (code, v) = verify_json(&d, &[]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("TRUNCATED")),
        "{v}"
    );
    std::fs::remove_file(d.join("audit-checkpoints.jsonl")).unwrap();
    let (code, v) = verify_json(&d, &[]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("NO_CHECKPOINT")),
        "{v}"
    );
    let (code, v) = verify_json(&d, &[&offsite]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("TRUNCATED")),
        "{v}"
    );
    let out = kyso()
        .args(["audit", "verify", "--data-dir"])
        .arg(&d)
        .arg("--checkpoint")
        .arg(&offsite)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("NHẬT KÝ BỊ THAY ĐỔI")
            && err.contains(&format!("kết thúc ở bản ghi số {}", n - 3)),
        "{err}"
    );
    // Without the secret key, the public key checks the off-site checkpoint's signature.
    let public = tmp.path().join("offsite/audit.pub");
    let out = kyso()
        .args(["audit", "public-key", "--data-dir"])
        .arg(&data)
        .arg("-o")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let no_key = tmp.path().join("no-such.key");
    let verify_public = |d: &Path| {
        let out = kyso()
            .args(["audit", "verify", "--json", "--data-dir"])
            .arg(d)
            .arg("--audit-key-file")
            .arg(&no_key)
            .arg("--public-key")
            .arg(&public)
            .arg("--checkpoint")
            .arg(&offsite)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap_or(-1), v)
    };
    let (code, v) = verify_public(&data);
    assert_eq!((code, v["entries"].as_i64()), (0, Some(n)), "{v}");
    let (code, v) = verify_public(&d);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("TRUNCATED")),
        "{v}"
    );
    // And the key removed too: nothing vouches for the log.
    std::fs::remove_file(d.join("audit.key")).unwrap();
    let (code, v) = verify_json(&d, &[]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("NO_KEY")),
        "{v}"
    );

    // 2. The table emptied.
    let d = copy("emptied");
    sqlite3(&d.join("kyso.db"), "DELETE FROM audit_log;");
    let (code, v) = verify_json(&d, &[]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("EMPTIED")),
        "{v}"
    );
    let out = kyso()
        .args(["--lang", "en", "audit", "verify", "--data-dir"])
        .arg(&d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(1) && err.contains("it was emptied"),
        "{err}"
    );

    // 3. An entry edited and every later hash recomputed the old, unkeyed way.
    let d = copy("rewritten-unkeyed");
    rewrite(&d.join("kyso.db"), 2, "-");
    let (code, v) = verify_json(&d, &[&offsite]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("EDITED")),
        "{v}"
    );
    // … with a wrong key.
    let d = copy("rewritten-wrong-key");
    rewrite(&d.join("kyso.db"), 2, &"ab".repeat(32));
    let (code, v) = verify_json(&d, &[&offsite]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("EDITED")),
        "{v}"
    );
    // … with the stolen key: the chain is valid again (so the rewrite above was computed
    // right), but it no longer reaches the checkpoints.
    let d = copy("rewritten-stolen-key");
    rewrite(&d.join("kyso.db"), 2, &key_hex);
    std::fs::remove_file(d.join("audit-checkpoints.jsonl")).unwrap();
    let (code, v) = verify_json(&d, &[&offsite]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("REWRITTEN")),
        "{v}"
    );

    // 4. The server finds it too: at start…
    let d = copy("served-truncated");
    sqlite3(
        &d.join("kyso.db"),
        &format!("DELETE FROM audit_log WHERE seq > {};", n - 2),
    );
    let server = Server::start(&d, &tmp.path().join("serve2.err"));
    let err = server.stderr_text();
    assert!(
        err.contains("NHẬT KÝ KIỂM TOÁN BỊ THAY ĐỔI") && err.contains("kết thúc ở bản ghi số"),
        "{err}"
    );
    drop(server);
    // … and while it runs (the periodic check).
    let d = copy("served-emptied");
    let server = Server::start(&d, &tmp.path().join("serve3.err"));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !server.stderr_text().contains("BỊ THAY ĐỔI"),
        "{}",
        server.stderr_text()
    );
    sqlite3(&d.join("kyso.db"), "DELETE FROM audit_log;");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server
        .stderr_text()
        .contains("NHẬT KÝ KIỂM TOÁN BỊ THAY ĐỔI")
    {
        assert!(
            Instant::now() < deadline,
            "not found: {}",
            server.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.stderr_text().contains("xóa sạch"),
        "{}",
        server.stderr_text()
    );
}

/// Peak anonymous memory (RssAnon, kB) of a command, sampled every 2 ms: file pages the
/// SQLite mapping reads are not the process's own memory, so VmHWM would count the file size.
fn peak_anon_kb(mut c: Command) -> (i32, u64) {
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            if let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(s) = child.try_wait().unwrap() {
            return (s.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A keyed log of `n` entries of ~600 bytes each, with its key and checkpoints, in `data`;
/// unkeyed, without key nor checkpoints, as a kyso before issue 15/3 wrote it, if `!keyed`.
fn generated_log(data: &Path, n: i64, keyed: bool) {
    use kyso_domain::audit::{entry_hash, entry_mac, AuditKey, ChainSummary, GENESIS};
    use kyso_store::checkpoints;
    std::fs::create_dir_all(data).unwrap();
    if keyed {
        std::fs::write(data.join("audit.key"), format!("{}\n", "5a".repeat(32))).unwrap();
    }
    let key = AuditKey::new(&[0x5a; 32]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kyso_store::Store::open_sqlite(&data.join("kyso.db"))
            .await
            .unwrap();
        let mut tx = store.pool().begin().await.unwrap();
        let mut prev = GENESIS;
        let at0 = time::macros::datetime!(2026-12-01 08:00 UTC);
        let detail = format!("{{\"note\":\"{}\"}}", "x".repeat(500));
        for seq in 1..=n {
            let at = at0 + time::Duration::seconds(seq);
            let object = format!("subscriber:{seq}");
            let fields = (
                seq,
                at,
                "canbo",
                Some("H99.37"),
                "subscriber.read",
                object.as_str(),
                detail.as_str(),
                "10.0.0.7",
            );
            let hash = if keyed {
                entry_mac(
                    &key, &prev, fields.0, fields.1, fields.2, fields.3, fields.4, fields.5,
                    fields.6, fields.7,
                )
            } else {
                entry_hash(
                    &prev, fields.0, fields.1, fields.2, fields.3, fields.4, fields.5, fields.6,
                    fields.7,
                )
            };
            let hex = |b: &[u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            kyso_store::sqlx::query(
                "INSERT INTO audit_log (seq, at_ns, actor, agency, action, object, detail, \
                 source, prev_hash, hash) VALUES ($1, $2, 'canbo', 'H99.37', 'subscriber.read', \
                 $3, $4, '10.0.0.7', $5, $6)",
            )
            .bind(seq)
            .bind(at.unix_timestamp_nanos() as i64)
            .bind(&object)
            .bind(&detail)
            .bind(hex(&prev))
            .bind(hex(&hash))
            .execute(&mut *tx)
            .await
            .unwrap();
            prev = hash;
        }
        tx.commit().await.unwrap();
        store.close().await;
        if !keyed {
            return;
        }
        let file = data.join(checkpoints::CHECKPOINT_FILE);
        for (count, head) in [(0, GENESIS), (n, prev)] {
            let summary = ChainSummary {
                count: count as u64,
                last_seq: count,
                head,
            };
            checkpoints::append(&file, &checkpoints::checkpoint_of(&summary, 1, at0, &key))
                .unwrap();
        }
    });
}

#[test]
fn audit_verify_streams_100000_entries_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let mut peaks = Vec::new();
    for n in [1_000i64, 100_000] {
        let data = tmp.path().join(format!("log-{n}"));
        generated_log(&data, n, true);
        let mut c = kyso();
        c.args(["audit", "verify", "--data-dir"])
            .arg(&data)
            .env_remove("KYSO_DATABASE_URL");
        let (code, peak) = peak_anon_kb(c);
        assert_eq!(code, 0, "{n} entries verify");
        eprintln!("kyso audit verify, {n} entries: peak RssAnon {peak} kB");
        peaks.push(peak);
    }
    // The log is ~65 MB at 100,000 entries: held in memory it would add that much; read in
    // pages it adds at most a page's worth whatever the length.
    assert!(
        peaks[1] < peaks[0] + 16 * 1024,
        "memory grew with the log: {peaks:?} kB"
    );
}

#[test]
fn audit_an_older_log_keeps_its_unkeyed_entries_and_keying_starts_after_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A registry's log as a kyso before the audit key wrote it: no key, no checkpoints.
    generated_log(&data, 50, false);
    let (code, v) = verify_json(&data, &[]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("NO_KEY")),
        "{v}"
    );
    // The new server makes the key and records where keying begins.
    let server = Server::start(&data, &tmp.path().join("serve.err"));
    server.failed_login();
    server.stop();
    assert!(data.join("audit.key").is_file());
    let (code, v) = verify_json(&data, &[]);
    assert_eq!((code, v["keyed_from"].as_i64()), (0, Some(51)), "{v}");
    let n = v["entries"].as_i64().unwrap();
    assert!(n > 51, "{v}");
    let out = kyso()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("mục 1–50 ghi trước khi có khóa, từ mục 51 có khóa"),
        "{text}"
    );
    // Rewriting the old, unkeyed part the old way no longer passes: the first checkpoint
    // holds entry 50's value, and entry 51's keyed value covers it.
    rewrite(&data.join("kyso.db"), 10, "-");
    let (code, v) = verify_json(&data, &[]);
    assert_eq!(
        (code, v["problem"]["code"].as_str()),
        (1, Some("REWRITTEN")),
        "{v}"
    );
}
