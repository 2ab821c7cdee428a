//! `kyso agent`, end to end: a script plays the web page and the document server
//! (`scripts/oracles/agent_browser.py`: it serves a PDF behind a one-time token, opens a
//! WebSocket to the agent with the page's Origin, and receives the upload), the test plays the
//! official at the agent's terminal (reads the request shown there, types the PIN or refuses),
//! and pyHanko judges the signed result. The plain JSON API is driven the way kyso's web UI
//! will: prepare a document here (two-phase signing), have the agent sign the signed
//! attributes, finalize, validate.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

const ORIGIN: &str = "https://vanban.tinhdemo.gov.vn";

/// A running `kyso agent` with its terminal: stdout lines arrive on a channel, stdin types.
struct Agent {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    url: String,
    stderr: Option<std::thread::JoinHandle<String>>,
    seen: Vec<String>,
}

/// An agent a test forgets to stop, or one left behind by a failing assertion, is ended with
/// the test: no `kyso agent` outlives the test run.
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// An agent with the demo PKI's personal PKCS#12 key.
    fn start(extra: &[&str]) -> Agent {
        let p12 = pki().join("personal.p12").display().to_string();
        Agent::spawn(
            kyso(),
            &["--p12", &p12, "--password-env", "KYSO_TEST_PW"],
            extra,
        )
    }

    /// `kyso agent` run by `cmd` (for its environment) with the key options `key` and the
    /// demo images.
    fn spawn(mut cmd: Command, key: &[&str], extra: &[&str]) -> Agent {
        cmd.args(["agent", "--listen", "127.0.0.1:0", "--allow-origin", ORIGIN])
            .args(key)
            .arg("--signature-image")
            .arg(pki().join("signature.png"))
            .args(["--anchor", "PHÓ GIÁM ĐỐC"])
            .arg("--seal-image")
            .arg(pki().join("seal.png"))
            .arg("--trust")
            .arg(root())
            .args(extra)
            // Every event of every library, so that the PIN checks below search all of them.
            .env("RUST_LOG", "trace")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        // The line announcing the address (after, with --tls, the note on the certificate).
        let mut seen = Vec::new();
        let url = 'start: loop {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("the agent did not start: {seen:?}"));
            seen.push(line.clone());
            for scheme in ["wss", "ws"] {
                if let Some((_, rest)) = line.split_once(&format!(" {scheme}://127.0.0.1:")) {
                    let port = rest.split('/').next().unwrap();
                    break 'start format!("{scheme}://127.0.0.1:{port}");
                }
            }
        };
        Agent {
            child,
            stdin,
            lines,
            url,
            stderr: Some(stderr),
            seen,
        }
    }

    fn http(&self) -> String {
        self.url.replacen("ws", "http", 1)
    }

    /// Wait for the agent to show a signing request; return it.
    fn next_request(&mut self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("no signing request shown at the agent's terminal");
            self.seen.push(line.clone());
            if line.contains("Yêu cầu ký từ") || line.contains("Signing request from") {
                return line;
            }
        }
    }

    /// Type a line at the agent's terminal.
    fn type_line(&mut self, text: &str) {
        writeln!(self.stdin, "{text}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Stop the agent; everything it wrote (terminal and log).
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(l);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        format!("{}\n{}", self.seen.join("\n"), stderr)
    }
}

/// Run the browser script against `agent` for `op`; its JSON result. `answer` is typed at the
/// terminal when the request appears (None: the request is not expected to reach the user).
fn browse(
    agent: &mut Agent,
    op: &str,
    pdf: &Path,
    out: &Path,
    extra: &[&str],
    answer: Option<&str>,
) -> Value {
    let mut cmd = Command::new("python3");
    cmd.arg(workspace().join("scripts/oracles/agent_browser.py"))
        .args(["--agent", &agent.url, "--origin", ORIGIN, "--op", op])
        .arg("--pdf")
        .arg(pdf)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let shown = answer.map(|a| {
        let req = agent.next_request();
        agent.type_line(a);
        req
    });
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut v: Value = serde_json::from_slice(&output.stdout).unwrap();
    if let Some(s) = shown {
        v["shown"] = Value::String(s);
    }
    v
}

#[test]
fn a_page_drives_the_agent_through_the_vgca_protocol_and_pyhanko_accepts_the_results() {
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(&[]);

    // GetCertInfo: the page learns whose key the agent holds, without a PIN.
    let info = browse(
        &mut agent,
        "GetCertInfo",
        &corpus("one-page.pdf"),
        &tmp.path().join("x"),
        &[],
        None,
    );
    assert_eq!(info["reply"]["Status"], 0, "{info}");
    assert!(
        info["reply"]["CertInfo"]["Subject"]
            .as_str()
            .unwrap()
            .contains("CN="),
        "{info}"
    );

    // SignApproved: the leader's personal signature, shown at the terminal, confirmed by
    // typing the password, uploaded to the handler with the page's bearer token and session.
    let approved = tmp.path().join("approved.pdf");
    let r = browse(
        &mut agent,
        "SignApproved",
        &corpus("letter-classic.pdf"),
        &approved,
        &[],
        Some(PW),
    );
    assert_eq!(r["reply"]["Status"], 0, "{r}");
    assert_eq!(
        r["server"]["auth_ok"], true,
        "token or session not sent: {r}"
    );
    assert_eq!(r["server"]["uploads"], 1);
    let shown = r["shown"].as_str().unwrap();
    assert!(
        shown.contains(ORIGIN) && shown.contains("Ký phê duyệt") && shown.contains("2 trang"),
        "{shown}"
    );
    let report = pyhanko(&[&approved]);
    assert_pyhanko_ok(&report[0], 1);

    // SignIssued on top of it: the clerk's organization signature with number and date, from
    // the agent holding the agency's key (a seal signed with a personal certificate would
    // paint over the signature block: ANNOTATION_OVERLAYS_CONTENT, issue 14/3).
    let org = pki().join("organization.p12").display().to_string();
    let mut clerk = Agent::spawn(
        kyso(),
        &["--p12", &org, "--password-env", "KYSO_TEST_PW"],
        &[],
    );
    let issued = tmp.path().join("issued.pdf");
    let r = browse(
        &mut clerk,
        "SignIssued",
        &approved,
        &issued,
        &[
            "--doc-number",
            "123/UBND-VP",
            "--issued-date",
            "2026-11-20T09:00:00+07:00",
        ],
        Some(PW),
    );
    assert_eq!(r["reply"]["Status"], 0, "{r}");
    assert_eq!(r["reply"]["DocumentNumber"], "123/UBND-VP");
    assert_eq!(r["reply"]["DocumentDate"], "2026-11-20T09:00:00+07:00");
    let report = pyhanko(&[&issued]);
    assert_pyhanko_ok(&report[0], 2);
    clerk.stop();
    let (code, v) = verify_json(&issued, &root(), &["--offline"]);
    assert_ne!(code, Some(1), "{v}");
    assert!(
        v.to_string().contains("123/UBND-VP"),
        "number not recorded: {v}"
    );

    // VerifyPDF: the agent validates a document for the page.
    let r = browse(
        &mut agent,
        "VerifyPDF",
        &issued,
        &tmp.path().join("y"),
        &[],
        None,
    );
    assert_eq!(r["reply"]["Status"], 0, "{r}");
    assert_eq!(
        r["reply"]["Result"]["signatures"].as_array().unwrap().len(),
        2,
        "{r}"
    );

    // The user refuses (Enter): status 11, nothing uploaded.
    let refused = tmp.path().join("refused.pdf");
    let r = browse(
        &mut agent,
        "SignApproved",
        &corpus("one-page.pdf"),
        &refused,
        &[],
        Some(""),
    );
    assert_eq!(r["reply"]["Status"], 11, "{r}");
    assert_eq!(r["server"]["uploads"], 0);
    assert!(!refused.exists());

    // A wrong password: an error, nothing uploaded.
    let r = browse(
        &mut agent,
        "SignPDF",
        &corpus("one-page.pdf"),
        &refused,
        &[],
        Some("not-the-password"),
    );
    assert_eq!(r["reply"]["Status"], 1, "{r}");
    assert!(
        r["reply"]["Message"]
            .as_str()
            .unwrap()
            .contains("sai mật khẩu"),
        "{r}"
    );
    assert!(!refused.exists());

    // SignIssued without a number is refused before the user is asked.
    let r = browse(
        &mut agent,
        "SignIssued",
        &corpus("one-page.pdf"),
        &refused,
        &[],
        None,
    );
    assert_eq!(r["reply"]["Status"], 1, "{r}");

    // Secrets never reach the terminal or the log: the password, the page's JWT, its session.
    let jwt = "jwt-secret-4f1c9a";
    let session = "session-secret-77ab";
    let r = browse(
        &mut agent,
        "SignPDF",
        &corpus("one-page.pdf"),
        &tmp.path().join("z.pdf"),
        &["--jwt", jwt, "--session", session],
        Some(PW),
    );
    assert_eq!(r["reply"]["Status"], 0, "{r}");
    let log = agent.stop();
    for secret in [PW, jwt, session, "not-the-password", "token="] {
        assert!(
            !log.contains(secret),
            "{secret:?} leaked into the agent's output:\n{log}"
        );
    }
    assert!(
        log.contains("SignApproved from https://vanban.tinhdemo.gov.vn"),
        "{log}"
    );
}

#[test]
fn only_allowed_origins_reach_the_agent_and_requests_are_rate_limited() {
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(&["--rate-per-minute", "3"]);
    let out = tmp.path().join("x");
    let script = workspace().join("scripts/oracles/agent_browser.py");
    let other = Command::new("python3")
        .arg(&script)
        .args([
            "--agent",
            &agent.url,
            "--origin",
            "https://evil.example",
            "--op",
            "GetVersion",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&other.stdout).unwrap();
    assert_eq!(v["handshake_status"], 403, "{v}");

    // The JSON API refuses other origins as well, and answers preflights for the allowed one.
    let http = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let resp = http
        .get(format!("{}/api/certificates", agent.http()))
        .header("Origin", "https://evil.example")
        .call()
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = http
        .options(format!("{}/api/sign", agent.http()))
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .call()
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-origin"], ORIGIN);

    // A burst of three is allowed, the fourth is refused.
    let statuses: Vec<Value> = (0..4)
        .map(|_| {
            browse(
                &mut agent,
                "GetVersion",
                &corpus("one-page.pdf"),
                &out,
                &[],
                None,
            )["reply"]["Status"]
                .clone()
        })
        .collect();
    assert_eq!(statuses[..3], [0, 0, 0]);
    assert_eq!(statuses[3], 1);
    agent.stop();
}

#[test]
fn kyso_web_ui_signs_a_prepared_document_through_the_json_api() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(&[]);
    let http = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();

    // The page lists the certificate, the server prepares the document for it.
    let mut resp = http
        .get(format!("{}/api/certificates", agent.http()))
        .header("Origin", ORIGIN)
        .call()
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], ORIGIN);
    let list: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let entry = &list["certificates"][0];
    let cert =
        kyso_x509::Cert::from_der(&b64.decode(entry["certificate"].as_str().unwrap()).unwrap())
            .unwrap();
    let chain: Vec<kyso_x509::Cert> = entry["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| kyso_x509::Cert::from_der(&b64.decode(c.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    let out = tmp.path().join("signed.pdf");
    #[allow(clippy::disallowed_methods)]
    let now = time::OffsetDateTime::now_utc();
    let algorithm = kyso_cms::SignatureAlgorithm::default_for(cert.key_kind()).unwrap();
    let prepared = kyso_pades::prepare(
        &corpus("one-page.pdf"),
        &out,
        &kyso_pades::SignOptions::new(now),
        &cert,
        &chain,
        algorithm,
        None,
    )
    .unwrap();
    let body = serde_json::json!({
        "signed_attributes": b64.encode(prepared.signed_attrs.der()),
        "description": "Tờ trình số 45/TTr-SNV",
    });

    // The agent shows the request; the official confirms with the password.
    let url = format!("{}/api/sign", agent.http());
    let call = std::thread::spawn(move || {
        let mut resp = http
            .post(url)
            .header("Origin", ORIGIN)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    });
    let shown = agent.next_request();
    assert!(shown.contains("Tờ trình số 45/TTr-SNV"), "{shown}");
    agent.type_line(PW);
    let (status, text) = call.join().unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let signature = b64.decode(answer["signature"].as_str().unwrap()).unwrap();
    kyso_pades::finalize(prepared, &signature, &cert, &chain, Vec::new()).unwrap();
    let report = pyhanko(&[&out]);
    assert_pyhanko_ok(&report[0], 1);

    // Anything but CMS signed attributes is refused without asking the user.
    let http = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let resp = http
        .post(format!("{}/api/sign", agent.http()))
        .header("Origin", ORIGIN)
        .send(serde_json::json!({"signed_attributes": b64.encode(b"a TLS handshake")}).to_string())
        .unwrap();
    assert_eq!(resp.status(), 400);
    let log = agent.stop();
    assert!(!log.contains(PW), "{log}");
}

#[test]
fn the_agent_listens_on_this_computer_only() {
    let out = kyso()
        .args(["agent", "--listen", "0.0.0.0:0", "--allow-origin", ORIGIN])
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args(["--password-env", "KYSO_TEST_PW"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1"));
}

/// A level above B-B without its time-stamping service is a usage error at start (exit 3),
/// before the agent listens, in the user's language.
#[test]
fn the_agent_refuses_a_level_from_b_t_up_without_a_tsa() {
    let out = kyso()
        .args(["agent", "--listen", "127.0.0.1:0", "--allow-origin", ORIGIN])
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args(["--password-env", "KYSO_TEST_PW", "--level", "B-LT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tsa"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty(), "{out:?}");
}

/// The help names 127.0.0.1 and ::1: the rest of 127.0.0.0/8 is neither listened on nor
/// answered (on Linux a program may connect to 127.0.0.1 from 127.0.0.2).
#[test]
fn the_agent_listens_on_and_answers_127_0_0_1_only_not_the_rest_of_127_0_0_0_8() {
    let mut child = kyso()
        .args(["agent", "--listen", "127.0.0.2:0", "--allow-origin", ORIGIN])
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args(["--password-env", "KYSO_TEST_PW"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Refused at once; an agent still running after 20 s listens on 127.0.0.2.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.is_some_and(|s| !s.success()),
        "the agent ran on 127.0.0.2: {}{err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        err.contains("127.0.0.1") && err.contains("127.0.0.2"),
        "{err}"
    );

    let agent = Agent::start(&[]);
    let port = agent.url.rsplit(':').next().unwrap().to_owned();
    let script = format!(
        r#"
import socket, sys
for src in ("127.0.0.2", "127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", {port}), timeout=10, source_address=(src, 0))
    s.sendall(b"GET /api/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    print(src, data.split(b"\r\n")[0].decode(), "local-only" if "127.0.0.1 hoặc ::1".encode() in data else "")
"#
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = agent.stop();
    assert!(
        out.status.success(),
        "{text}{}{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("127.0.0.2 HTTP/1.1 403") && lines[0].ends_with("local-only"),
        "{text}"
    );
    assert!(lines[1].starts_with("127.0.0.1 HTTP/1.1 200"), "{text}");
}

#[test]
fn with_tls_the_agent_answers_wss_like_the_national_ca_service() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("agent-tls");
    let dir_arg = dir.display().to_string();
    let mut agent = Agent::start(&["--tls", "--tls-dir", &dir_arg]);
    assert!(agent.url.starts_with("wss://127.0.0.1:"), "{}", agent.url);
    let ca = dir.join("ca.pem");
    // The made certificate chains to the CA to install, for 127.0.0.1, per OpenSSL.
    let out = Command::new("openssl")
        .args(["verify", "-verify_ip", "127.0.0.1", "-CAfile"])
        .arg(&ca)
        .arg(dir.join("server.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // ... and for nothing else: the CA is name-constrained to loopback.
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&ca)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Name Constraints") && text.contains("127.0.0.1"),
        "{text}"
    );

    let signed = tmp.path().join("signed.pdf");
    let cafile = ca.display().to_string();
    let r = browse(
        &mut agent,
        "SignPDF",
        &corpus("one-page.pdf"),
        &signed,
        &["--cafile", &cafile],
        Some(PW),
    );
    assert_eq!(r["reply"]["Status"], 0, "{r}");
    let report = pyhanko(&[&signed]);
    assert_pyhanko_ok(&report[0], 1);
    agent.stop();

    // A second start reuses the certificate the browser already trusts.
    let before = std::fs::read(dir.join("server.pem")).unwrap();
    let again = Agent::start(&["--tls", "--tls-dir", &dir_arg]);
    assert_eq!(std::fs::read(dir.join("server.pem")).unwrap(), before);
    again.stop();
}

#[test]
fn the_agent_signs_with_a_usb_token_after_the_pin_is_typed_at_its_terminal() {
    use crate::token::{demo_cas, SoftHsm, MODULE, PIN};
    let tmp = tempfile::tempdir().unwrap();
    let hsm = SoftHsm::new();
    hsm.init_token("agent-token");
    hsm.import_p12(
        "agent-token",
        &pki().join("personal.p12"),
        "01",
        "personal",
        &demo_cas(pki()),
    );
    let mut agent = Agent::spawn(
        hsm.kyso(),
        &[
            "--pkcs11-module",
            MODULE,
            "--token",
            "agent-token",
            "--pin-env",
            "KYSO_TEST_PIN",
        ],
        &[],
    );

    // The leader approves: the agent shows the request, the PIN typed there unlocks the token.
    let signed = tmp.path().join("approved.pdf");
    let r = browse(
        &mut agent,
        "SignApproved",
        &corpus("letter-classic.pdf"),
        &signed,
        &[],
        Some(PIN),
    );
    assert_eq!(r["reply"]["Status"], 0, "{r}");
    assert!(r["shown"].as_str().unwrap().contains("Ký phê duyệt"), "{r}");
    let report = pyhanko(&[&signed]);
    assert_pyhanko_ok(&report[0], 1);

    // A wrong PIN: the token refuses, the page is told, nothing is uploaded.
    let refused = tmp.path().join("refused.pdf");
    let r = browse(
        &mut agent,
        "SignPDF",
        &corpus("one-page.pdf"),
        &refused,
        &[],
        Some("000000"),
    );
    assert_eq!(r["reply"]["Status"], 1, "{r}");
    assert!(
        r["reply"]["Message"]
            .as_str()
            .unwrap()
            .contains("sai mã PIN"),
        "{r}"
    );
    assert!(!refused.exists());
    let log = agent.stop();
    assert!(!log.contains(PIN) && !log.contains("000000"), "{log}");
}
