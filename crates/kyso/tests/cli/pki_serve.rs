//! `kyso pki serve` and `kyso pki revoke`, checked with independent clients: `openssl ts`,
//! `openssl ocsp`, `openssl crl`, `curl`, and pyHanko (signing with kyso's TSA, validating with
//! revocation fetched online from kyso's OCSP responder and CRLs).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{corpus, kyso, pki, run_ok, workspace, PW};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `kyso pki serve`, killed on drop.
pub(crate) struct Server {
    child: Child,
    port: u16,
}

impl Server {
    pub(crate) fn start(dir: &Path, port: u16) -> Server {
        let child = kyso()
            .args(["pki", "serve"])
            .arg(dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--password-env", "KYSO_TEST_PW"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("kyso pki serve exited: {status}");
            }
            assert!(Instant::now() < deadline, "kyso pki serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new demo PKI whose certificates point at `http://127.0.0.1:PORT`.
pub(crate) fn fresh_pki(port: u16) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    run_ok(
        kyso()
            .args(["pki", "init"])
            .arg(&dir)
            .args(["--password-env", "KYSO_TEST_PW"])
            .args(["--base-url", &format!("http://127.0.0.1:{port}")]),
    );
    (tmp, dir)
}

fn serial_of(dir: &Path, name: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn cmd(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/setup-test-env.sh): {e}"))
}

/// `curl` POST of a file (or GET when `body` is None), the response saved to `out`; returns
/// the HTTP status code.
fn curl(dir: &Path, url: &str, content_type: &str, body: Option<&str>, out: &str) -> u16 {
    let mut args = vec!["-s", "-o", out, "-w", "%{http_code}"];
    let header = format!("Content-Type: {content_type}");
    let data;
    if let Some(b) = body {
        data = format!("@{b}");
        args.extend(["-H", &header, "--data-binary", &data]);
    }
    args.push(url);
    let o = cmd("curl", dir, &args);
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn ocsp_check(dir: &Path, server: &Server, issuer: &str, cert: &str) -> String {
    let o = cmd(
        "openssl",
        dir,
        &[
            "ocsp",
            "-issuer",
            issuer,
            "-cert",
            cert,
            "-url",
            &server.url("/ocsp"),
            "-CAfile",
            "chain.pem",
            "-resp_text",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "openssl ocsp: {t}");
    assert!(t.contains("Response verify OK"), "{t}");
    t
}

fn crl_text(dir: &Path, server: &Server, name: &str) -> String {
    let file = format!("{name}.crl");
    assert_eq!(
        curl(dir, &server.url(&format!("/crl/{file}")), "", None, &file),
        200
    );
    let o = cmd(
        "openssl",
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            &file,
            "-text",
            "-CAfile",
            "chain.pem",
            "-noout",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "openssl crl: {t}");
    assert!(t.contains("verify OK"), "{t}");
    t
}

fn crl_number(t: &str) -> u64 {
    let after = t.split("X509v3 CRL Number:").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn openssl_verifies_kyso_timestamp_tokens() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let server = Server::start(pki(), free_port());
    std::fs::write(w.join("data.txt"), "Công văn số 1/DEMO\n").unwrap();
    for pem in ["chain.pem", "tsa.pem"] {
        std::fs::copy(pki().join(pem), w.join(pem)).unwrap();
    }
    for (alg, cert) in [("-sha256", true), ("-sha384", false), ("-sha512", true)] {
        let mut args = vec!["ts", "-query", "-data", "data.txt", alg, "-out", "req.tsq"];
        if cert {
            args.push("-cert");
        }
        let o = cmd("openssl", w, &args);
        assert!(o.status.success(), "{}", text(&o));
        let status = curl(
            w,
            &server.url("/tsa"),
            "application/timestamp-query",
            Some("req.tsq"),
            "resp.tsr",
        );
        assert_eq!(status, 200);
        let o = cmd("openssl", w, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        assert!(t.contains("Status: Granted."), "{t}");
        assert!(t.contains("Policy OID: 1.3.6.1.4.1.32473.3161.1"), "{t}");
        assert!(t.contains("Accuracy: 0x01 seconds"), "{t}");
        assert!(t.contains("Nonce: 0x"), "{t}");
        assert!(t.contains(&format!("Hash Algorithm: {}", &alg[1..])), "{t}");
        // The token verifies over the data: with the TSA certificate in the token (-cert),
        // or given with -untrusted when it was not asked for.
        let o = cmd(
            "openssl",
            w,
            &[
                "ts",
                "-verify",
                "-data",
                "data.txt",
                "-in",
                "resp.tsr",
                "-CAfile",
                "chain.pem",
                "-untrusted",
                "tsa.pem",
            ],
        );
        assert!(text(&o).contains("Verification: OK"), "{alg}: {}", text(&o));
    }
    // Serial numbers increase.
    let serial = |w: &Path| -> u128 {
        assert_eq!(
            curl(
                w,
                &server.url("/tsa"),
                "application/timestamp-query",
                Some("req.tsq"),
                "resp.tsr"
            ),
            200
        );
        let t = text(&cmd(
            "openssl",
            w,
            &["ts", "-reply", "-in", "resp.tsr", "-text"],
        ));
        let hex = t.split("Serial number: 0x").nth(1).unwrap();
        u128::from_str_radix(hex.split_whitespace().next().unwrap(), 16).unwrap()
    };
    let (a, b) = (serial(w), serial(w));
    assert!(a < b, "{a} then {b}");
    server.stop();
}

#[test]
fn garbage_gets_protocol_errors() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let server = Server::start(pki(), free_port());
    std::fs::write(w.join("garbage.bin"), b"\x30\x82\xff\xffnot DER at all").unwrap();
    std::fs::write(w.join("big.bin"), vec![0x30u8; 200 * 1024]).unwrap();
    // TSA: a rejection with badDataFormat.
    let status = curl(
        w,
        &server.url("/tsa"),
        "application/timestamp-query",
        Some("garbage.bin"),
        "r.tsr",
    );
    assert_eq!(status, 200);
    let t = text(&cmd(
        "openssl",
        w,
        &["ts", "-reply", "-in", "r.tsr", "-text"],
    ));
    assert!(t.contains("Status: Rejected."), "{t}");
    assert!(t.contains("wrong format"), "{t}");
    // A SHA-1 imprint: badAlg.
    std::fs::write(w.join("data.txt"), "x").unwrap();
    let o = cmd(
        "openssl",
        w,
        &[
            "ts", "-query", "-data", "data.txt", "-sha1", "-out", "sha1.tsq",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    curl(
        w,
        &server.url("/tsa"),
        "application/timestamp-query",
        Some("sha1.tsq"),
        "r.tsr",
    );
    let t = text(&cmd(
        "openssl",
        w,
        &["ts", "-reply", "-in", "r.tsr", "-text"],
    ));
    assert!(t.contains("Status: Rejected."), "{t}");
    assert!(t.contains("unrecognized or unsupported algorithm"), "{t}");
    // OCSP: malformedRequest, by POST and by GET.
    let status = curl(
        w,
        &server.url("/ocsp"),
        "application/ocsp-request",
        Some("garbage.bin"),
        "r.ocsp",
    );
    assert_eq!(status, 200);
    let t = text(&cmd(
        "openssl",
        w,
        &["ocsp", "-respin", "r.ocsp", "-resp_text"],
    ));
    assert!(t.contains("malformedrequest"), "{t}");
    assert_eq!(curl(w, &server.url("/ocsp/%%%%"), "", None, "g.ocsp"), 200);
    let t = text(&cmd(
        "openssl",
        w,
        &["ocsp", "-respin", "g.ocsp", "-resp_text"],
    ));
    assert!(t.contains("malformedrequest"), "{t}");
    // Too large: refused before it is read.
    let status = curl(
        w,
        &server.url("/tsa"),
        "application/timestamp-query",
        Some("big.bin"),
        "r.bin",
    );
    assert_eq!(status, 413);
    // Unknown paths and methods.
    assert_eq!(curl(w, &server.url("/nothing"), "", None, "r.bin"), 404);
    assert_eq!(curl(w, &server.url("/tsa"), "", None, "r.bin"), 405);
    // The CA certificates.
    assert_eq!(
        curl(w, &server.url("/certs/root.cer"), "", None, "root.cer"),
        200
    );
    let root_der = std::fs::read(w.join("root.cer")).unwrap();
    let pem = std::fs::read_to_string(pki().join("root.pem")).unwrap();
    let o = cmd(
        "openssl",
        w,
        &[
            "x509", "-inform", "DER", "-in", "root.cer", "-noout", "-subject",
        ],
    );
    assert!(o.status.success() && !root_der.is_empty(), "{}", text(&o));
    assert!(pem.contains("BEGIN CERTIFICATE"));
    assert_eq!(
        curl(
            w,
            &server.url("/certs/intermediate.cer"),
            "",
            None,
            "int.cer"
        ),
        200
    );
    // Still serving after all that.
    assert_eq!(
        curl(w, &server.url("/crl/root.crl"), "", None, "root.crl"),
        200
    );
    server.stop();
}

#[test]
fn ocsp_and_crls_follow_revocations_across_restarts() {
    let port = free_port();
    let (_tmp, dir) = fresh_pki(port);
    let d = dir.as_path();
    let server = Server::start(d, port);

    // Good, for an end entity (delegated responder) and for the intermediate (the root).
    let t = ocsp_check(d, &server, "intermediate.pem", "personal.pem");
    assert!(t.contains("personal.pem: good"), "{t}");
    assert!(t.contains("Next Update:"), "{t}");
    assert!(t.contains("OCSP Nonce"), "{t}");
    let t = ocsp_check(d, &server, "root.pem", "intermediate.pem");
    assert!(t.contains("intermediate.pem: good"), "{t}");
    // A certificate this CA never issued (another demo PKI's): unknown.
    std::fs::copy(pki().join("personal.pem"), d.join("foreign.pem")).unwrap();
    let t = ocsp_check(d, &server, "intermediate.pem", "foreign.pem");
    assert!(t.contains("foreign.pem: unknown"), "{t}");

    let before = crl_text(d, &server, "intermediate");
    assert!(before.contains("No Revoked Certificates"), "{before}");
    let n0 = crl_number(&before);
    let root_crl = crl_text(d, &server, "root");
    assert_eq!(crl_number(&root_crl), 1);

    // Revoke while the server runs.
    let serial = serial_of(d, "personal");
    let out = run_ok(
        kyso()
            .args(["pki", "revoke"])
            .arg(d)
            .args(["--serial", &serial, "--reason", "keyCompromise"])
            .args(["--time", "2026-01-02T03:04:05Z"]),
    );
    assert!(text(&out).contains("Đã thu hồi"), "{}", text(&out));
    let t = ocsp_check(d, &server, "intermediate.pem", "personal.pem");
    assert!(t.contains("personal.pem: revoked"), "{t}");
    assert!(t.contains("Reason: keyCompromise"), "{t}");
    assert!(
        t.contains("Revocation Time: Jan  2 03:04:05 2026 GMT"),
        "{t}"
    );
    let after = crl_text(d, &server, "intermediate");
    assert!(
        after.contains(&format!("Serial Number: {serial}")),
        "{after}"
    );
    assert!(after.contains("Key Compromise"), "{after}");
    assert_eq!(crl_number(&after), n0 + 1, "{after}");
    // The same content again: the same number.
    assert_eq!(crl_number(&crl_text(d, &server, "intermediate")), n0 + 1);

    // OCSP by GET: the request made by openssl, base64 and URL-escaped.
    let o = cmd(
        "openssl",
        d,
        &[
            "ocsp",
            "-issuer",
            "intermediate.pem",
            "-cert",
            "personal.pem",
            "-no_nonce",
            "-reqout",
            "get.req",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let b64 = {
        use std::io::Write;
        let mut c = Command::new("base64")
            .arg("-w0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(&std::fs::read(d.join("get.req")).unwrap())
            .unwrap();
        String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()
    };
    let escaped = b64
        .trim()
        .replace('%', "%25")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(
        curl(
            d,
            &server.url(&format!("/ocsp/{escaped}")),
            "",
            None,
            "get.resp"
        ),
        200
    );
    let o = cmd(
        "openssl",
        d,
        &[
            "ocsp",
            "-respin",
            "get.resp",
            "-resp_text",
            "-CAfile",
            "chain.pem",
        ],
    );
    let t = text(&o);
    assert!(t.contains("Cert Status: revoked"), "{t}");
    assert!(t.contains("Response verify OK"), "{t}");

    // Refusals: already revoked, unknown serial (listing the certificates), the root.
    let o = kyso()
        .args(["pki", "revoke"])
        .arg(d)
        .args(["--serial", &serial, "--reason", "superseded"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("đã bị thu hồi"), "{}", text(&o));
    let o = kyso()
        .args(["--lang", "en", "pki", "revoke"])
        .arg(d)
        .args(["--serial", "ABCDEF", "--reason", "superseded"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).contains("no certificate has serial ABCDEF"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(&format!("personal {serial}")),
        "{}",
        text(&o)
    );
    let o = kyso()
        .args(["pki", "revoke"])
        .arg(d)
        .args([
            "--serial",
            &serial_of(d, "root"),
            "--reason",
            "cACompromise",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = kyso()
        .args(["pki", "revoke"])
        .arg(d)
        .args(["--serial", &serial, "--reason", "removeFromCRL"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));

    // Revoke the intermediate (root CRL, root-signed OCSP).
    run_ok(
        kyso()
            .args(["pki", "revoke"])
            .arg(d)
            .args(["--serial", &serial_of(d, "intermediate")])
            .args(["--reason", "cACompromise"]),
    );

    // Restart: still revoked.
    server.stop();
    let server = Server::start(d, port);
    let t = ocsp_check(d, &server, "intermediate.pem", "personal.pem");
    assert!(t.contains("personal.pem: revoked"), "{t}");
    let t = ocsp_check(d, &server, "intermediate.pem", "personal2.pem");
    assert!(t.contains("personal2.pem: good"), "{t}");
    let t = ocsp_check(d, &server, "root.pem", "intermediate.pem");
    assert!(t.contains("intermediate.pem: revoked"), "{t}");
    assert!(t.contains("Reason: cACompromise"), "{t}");
    let root_crl = crl_text(d, &server, "root");
    assert_eq!(crl_number(&root_crl), 2, "{root_crl}");
    assert!(root_crl.contains("CA Compromise"), "{root_crl}");
    assert_eq!(crl_number(&crl_text(d, &server, "intermediate")), n0 + 1);
    server.stop();
}

fn pyhanko_tsa_sign(dir: &Path, server: &Server, p12: &str, out: &Path) -> Value {
    let o = run_ok(
        Command::new("python3")
            .arg(workspace().join("scripts/oracles/pyhanko_tsa_sign.py"))
            .arg(dir.join("root.pem"))
            .arg(dir.join(p12))
            .arg(server.url("/tsa"))
            .arg(corpus("one-page.pdf"))
            .arg(out)
            .env("KYSO_TEST_PW", PW),
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn pyhanko_signs_with_kyso_tsa_and_validates_online() {
    let port = free_port();
    let (tmp, dir) = fresh_pki(port);
    let server = Server::start(&dir, port);
    let r = pyhanko_tsa_sign(&dir, &server, "personal.p12", &tmp.path().join("a.pdf"));
    assert_eq!(r["error"], Value::Null, "{r:#}");
    assert_eq!(r["intact"], true, "{r:#}");
    assert_eq!(r["valid"], true, "{r:#}");
    assert_eq!(r["trusted"], true, "{r:#}");
    assert_eq!(r["timestamp"]["valid"], true, "{r:#}");
    assert_eq!(r["timestamp"]["trusted"], true, "{r:#}");
    // Revocation is really checked online: once revoked, pyHanko says so.
    run_ok(
        kyso()
            .args(["pki", "revoke"])
            .arg(&dir)
            .args(["--serial", &serial_of(&dir, "personal2")])
            .args(["--reason", "affiliationChanged"]),
    );
    let r = pyhanko_tsa_sign(&dir, &server, "personal2.p12", &tmp.path().join("b.pdf"));
    assert_eq!(r["trusted"], false, "{r:#}");
    assert_eq!(r["revoked"], true, "{r:#}");
    assert!(r["summary"].as_str().unwrap().contains("REVOKED"), "{r:#}");
    server.stop();
}

#[test]
fn serve_and_revoke_errors_are_one_line() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["pki", "serve", "DIR", "--password-env", "WRONG_PW"],
            "root.p12: sai mật khẩu của tệp PKCS#12",
        ),
        (
            &[
                "pki",
                "serve",
                "DIR",
                "--password-env",
                "KYSO_TEST_PW",
                "--listen",
                "bad",
            ],
            "địa chỉ lắng nghe không hợp lệ: bad",
        ),
        (
            &[
                "pki",
                "serve",
                "/nonexistent-kyso-pki",
                "--password-env",
                "KYSO_TEST_PW",
            ],
            "không tìm thấy tệp /nonexistent-kyso-pki/index.json",
        ),
        (
            &[
                "pki",
                "revoke",
                "DIR",
                "--serial",
                "01",
                "--reason",
                "superseded",
                "--time",
                "yesterday",
            ],
            "thời điểm không hợp lệ: yesterday",
        ),
    ];
    let dir = pki().display().to_string();
    for (args, expected) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "DIR" { dir.as_str() } else { a })
            .collect();
        let o = kyso()
            .args(&args)
            .env("WRONG_PW", "wrong")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

/// poppler's `pdfsig` (NSS) checks revocation online by default: against kyso's responder it
/// sees a good certificate as trusted and a revoked one as revoked.
#[test]
fn nss_checks_kyso_ocsp_online() {
    let port = free_port();
    let (tmp, dir) = fresh_pki(port);
    let server = Server::start(&dir, port);
    let nss = tmp.path().join("nssdb");
    std::fs::create_dir(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
    run_ok(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
    run_ok(
        Command::new("certutil")
            .args(["-A", "-d", &db, "-n", "root", "-t", "CT,C,C", "-i"])
            .arg(dir.join("root.pem")),
    );
    run_ok(
        kyso()
            .args(["pki", "revoke"])
            .arg(&dir)
            .args(["--serial", &serial_of(&dir, "personal2")])
            .args(["--reason", "keyCompromise"]),
    );
    for (p12, expected) in [
        ("personal", "Certificate is Trusted"),
        ("personal2", "Certificate has been Revoked"),
    ] {
        let out = tmp.path().join(format!("{p12}.pdf"));
        run_ok(
            kyso()
                .arg("sign")
                .arg(corpus("one-page.pdf"))
                .arg("-o")
                .arg(&out)
                .arg("--p12")
                .arg(dir.join(format!("{p12}.p12")))
                .args(["--password-env", "KYSO_TEST_PW", "--invisible"]),
        );
        let o = Command::new("pdfsig")
            .args(["-nssdir", &db])
            .arg(&out)
            .output()
            .unwrap();
        let t = text(&o);
        assert!(t.contains("Signature is Valid"), "{p12}: {t}");
        assert!(t.contains(expected), "{p12}: {t}");
    }
    server.stop();
}

/// `kyso verify --json` of `file` trusting the PKI in `dir`: (exit code, report).
fn verify_in(file: &Path, dir: &Path, extra: &[&str]) -> (i32, Value) {
    let (code, v) = crate::common::verify_json(file, &dir.join("root.pem"), extra);
    (code.unwrap(), v)
}

fn sign_with_level(dir: &Path, who: &str, level: &str, server: &Server, out: &Path) {
    run_ok(
        kyso()
            .arg("sign")
            .arg(corpus("one-page.pdf"))
            .arg("-o")
            .arg(out)
            .arg("--p12")
            .arg(dir.join(format!("{who}.p12")))
            .args([
                "--password-env",
                "KYSO_TEST_PW",
                "--invisible",
                "--level",
                level,
            ])
            .args(["--tsa", &server.url("/tsa")]),
    );
}

/// The whole life of an archived document with kyso's own services: signed at B-LTA, its
/// signer's certificate later revoked and then expired, the services gone — it stays valid
/// as long as its archive timestamp is; a document signed only at B-B does not.
#[test]
fn an_archived_document_outlives_revocation_expiry_and_its_services() {
    let port = free_port();
    let (_tmp, dir) = fresh_pki(port);
    let server = Server::start(&dir, port);
    let d = dir.parent().unwrap();
    let blta = d.join("b-lta.pdf");
    sign_with_level(&dir, "personal", "B-LTA", &server, &blta);
    let bb = d.join("b-b.pdf");
    run_ok(
        kyso()
            .arg("sign")
            .arg(corpus("one-page.pdf"))
            .arg("-o")
            .arg(&bb)
            .arg("--p12")
            .arg(dir.join("personal.p12"))
            .args(["--password-env", "KYSO_TEST_PW", "--invisible"]),
    );
    let (code, v) = verify_in(&bb, &dir, &[]);
    assert_eq!(code, 0, "B-B, online, before revocation: {v:#}");
    // The same B-B document archived at once (B-LTA over it): the archive timestamp proves it
    // existed while the certificate was valid and unrevoked.
    let bb_archived = d.join("b-b-archived.pdf");
    run_ok(
        kyso()
            .arg("extend")
            .arg(&bb)
            .arg("-o")
            .arg(&bb_archived)
            .args(["--level", "B-LTA", "--tsa", &server.url("/tsa")]),
    );

    // The signer's key is compromised after signing (times have whole seconds: let one pass).
    std::thread::sleep(Duration::from_millis(1100));
    run_ok(kyso().args(["pki", "revoke"]).arg(&dir).args([
        "--serial",
        &serial_of(&dir, "personal"),
        "--reason",
        "keyCompromise",
    ]));
    // B-B: only a claimed time, and the certificate is revoked now — nothing proves the
    // signature came first.
    let (code, v) = verify_in(&bb, &dir, &[]);
    assert_eq!(code, 2, "{v:#}");
    assert!(
        v["reasons"].to_string().contains("NOT_TIMESTAMPED"),
        "{v:#}"
    );
    assert_eq!(
        v["signatures"][0]["revocation"]["certificates"][0]["status"], "good",
        "good at the signing time, revoked later"
    );
    // B-LTA: the signing time is proven; revoked after it, the signature stays valid.
    let (code, v) = verify_in(&blta, &dir, &[]);
    assert_eq!(code, 0, "{v:#}");

    // A signature made after the revocation, timestamped: invalid.
    std::thread::sleep(Duration::from_millis(1100));
    let late = d.join("late.pdf");
    sign_with_level(&dir, "personal", "B-T", &server, &late);
    let (code, v) = verify_in(&late, &dir, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["reasons"].to_string().contains("CERT_REVOKED"));

    // Years later the archive is renewed: kyso extend adds fresh material and a new archive
    // timestamp over everything, without touching what was there.
    let renewed = d.join("b-lta-renewed.pdf");
    run_ok(
        kyso()
            .arg("extend")
            .arg(&blta)
            .arg("-o")
            .arg(&renewed)
            .args(["--level", "B-LTA", "--tsa", &server.url("/tsa")]),
    );
    assert!(std::fs::read(&renewed)
        .unwrap()
        .starts_with(&std::fs::read(&blta).unwrap()));

    // The services are gone; years pass.
    server.stop();
    let (code, v) = verify_in(&blta, &dir, &["--offline"]);
    assert_eq!(code, 0, "{v:#}");
    let (code, v) = verify_in(&renewed, &dir, &["--offline"]);
    assert_eq!(code, 0, "{v:#}");
    let sigs = v["signatures"].as_array().unwrap();
    let kinds: Vec<&str> = sigs.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["signature", "document_timestamp", "document_timestamp"]
    );
    assert!(
        sigs[1]["archived_at"].is_string(),
        "the first archive timestamp is itself covered by the second"
    );
    #[allow(clippy::disallowed_methods)]
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    // Five years on, the signer's certificate (three years) has expired; the TSA's (nine
    // years) has not: still valid, offline.
    let later = rfc(now + time::Duration::days(5 * 365));
    let (code, v) = verify_in(&blta, &dir, &["--offline", "--at", &later]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["signatures"][0]["archived_at"].is_string());
    // A B-B document then: expired, nothing proves when it was signed.
    let (code, v) = verify_in(&bb, &dir, &["--offline", "--at", &later]);
    assert_ne!(code, 0, "{v:#}");
    // Archived at once, the same B-B signature stays valid: its claimed time is backed by the
    // archive timestamp, taken before the revocation and the expiry.
    let (code, v) = verify_in(&bb_archived, &dir, &["--offline", "--at", &later]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["signatures"][0]["signing_time"]["proven"], false);
    // Ten years on the archive timestamp's own certificate has expired too (time for
    // `kyso extend` to have added a fresh one).
    let much_later = rfc(now + time::Duration::days(10 * 365));
    let (code, _) = verify_in(&blta, &dir, &["--offline", "--at", &much_later]);
    assert_ne!(code, 0);
}
