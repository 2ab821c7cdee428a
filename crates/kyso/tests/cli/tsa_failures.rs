//! Signing at B-T fails clearly and safely when the time-stamping service misbehaves:
//! unreachable, too slow, an HTTP error, a refusal, a token over other data. Each time the
//! message names the problem, the exit code is non-zero and no output (nor temporary file) is
//! left — a document never claims a level it does not have.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use der::Encode;
use kyso_ltv::asn1::{PkiStatusInfo, TimeStampResp};

use crate::common::{corpus, pki, run_ok, sign_command};

/// A one-trick HTTP server on 127.0.0.1: every request gets `answer` (status line + body),
/// or no answer at all when `answer` is `None` (a hung service). Returns its URL.
fn fake_service(answer: Option<(u16, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.read(&mut buf);
                match answer {
                    Some((code, body)) => {
                        let head = format!(
                            "HTTP/1.1 {code} X\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = s.write_all(head.as_bytes());
                        let _ = s.write_all(&body);
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    url
}

/// Sign at B-T with `url`; expect failure, a message matching `expect`, and nothing written.
fn assert_refused(url: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pdf");
    let o = sign_command(&corpus("one-page.pdf"), &out, &pki().join("personal.p12"))
        .args([
            "--invisible",
            "--level",
            "B-T",
            "--tsa",
            url,
            "--fetch-timeout",
            "2",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{url}: signing should fail");
    // The TSA is the environment, not the input (docs/exit-codes.md).
    assert_eq!(o.status.code(), Some(4), "{url}: {err}");
    assert!(
        err.contains("dấu thời gian") && expect.iter().any(|e| err.contains(e)),
        "{url}: {err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be left behind"
    );
}

#[test]
fn an_unreachable_tsa_is_a_clear_error_and_nothing_is_written() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_refused(&format!("http://127.0.0.1:{port}/tsa"), &["connect"]);
}

#[test]
fn a_tsa_that_never_answers_times_out() {
    let started = std::time::Instant::now();
    assert_refused(&fake_service(None), &["timeout"]);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn an_http_error_or_a_refusal_is_reported() {
    assert_refused(&fake_service(Some((500, b"oops".to_vec()))), &["HTTP 500"]);
    let refusal = TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec!["bad message imprint".to_owned()]),
            fail_info: None,
        },
        time_stamp_token: None,
    }
    .to_der()
    .unwrap();
    assert_refused(
        &fake_service(Some((200, refusal))),
        &["bad message imprint"],
    );
    assert_refused(
        &fake_service(Some((200, b"\x30\x03\x02\x01".to_vec()))),
        &["TimeStampResp"],
    );
}

#[test]
fn a_token_over_other_data_is_refused() {
    // A genuine token from OpenSSL's TSA with the demo TSA key — but over other data.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = d.join("tsa.key");
    run_ok(
        Command::new("openssl")
            .args(["pkcs12", "-nocerts", "-nodes", "-passin"])
            .arg(format!("pass:{}", crate::common::PW))
            .arg("-in")
            .arg(pki().join("tsa.p12"))
            .arg("-out")
            .arg(&key),
    );
    std::fs::write(d.join("data"), b"something else entirely").unwrap();
    std::fs::write(d.join("serial"), "01\n").unwrap();
    std::fs::write(
        d.join("tsa.cnf"),
        format!(
            "[tsa]\ndefault_tsa = t\n[t]\nserial = {}\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\nsigner_digest = sha256\n",
            d.join("serial").display()
        ),
    )
    .unwrap();
    let q = d.join("q.tsq");
    run_ok(
        Command::new("openssl")
            .args(["ts", "-query", "-sha256", "-cert", "-data"])
            .arg(d.join("data"))
            .arg("-out")
            .arg(&q),
    );
    let r = d.join("r.tsr");
    run_ok(
        Command::new("openssl")
            .args(["ts", "-reply", "-config"])
            .arg(d.join("tsa.cnf"))
            .arg("-queryfile")
            .arg(&q)
            .arg("-signer")
            .arg(pki().join("tsa.pem"))
            .arg("-inkey")
            .arg(&key)
            .arg("-out")
            .arg(&r),
    );
    let reply = std::fs::read(&r).unwrap();
    assert_refused(&fake_service(Some((200, reply))), &["TST_IMPRINT_MISMATCH"]);
}
