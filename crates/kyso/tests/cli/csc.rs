//! Remote signing over the CSC API: `kyso csc serve` (the service) and `kyso sign --csc` (the
//! client), each checked against an implementation nobody here wrote — pyHanko's `CSCSigner`
//! as a client of kyso's service, certomancer-csc-dummy as a service for kyso's client — and
//! the results checked by pyHanko, poppler's `pdfsig` and `kyso verify`. Then what the service
//! must refuse, and that no secret shows up in logs or process arguments.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{corpus, kyso, pki, pyhanko_trusting, run_ok, workspace, PW};

/// The login password of the service's user "demo" (the PIN is the PKCS#12 password, `PW`).
const USER_PW: &str = "csc-login-Pw-4242";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A background process, killed on drop; its stderr goes to a file.
struct Proc {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Proc {
    fn spawn(mut cmd: Command, port: u16, stderr: PathBuf) -> Proc {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut p = Proc {
            child,
            port,
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("{cmd:?} exited: {status}: {}", p.log());
            }
            assert!(Instant::now() < deadline, "{cmd:?} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
    fn cmdline(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/cmdline", self.child.id()))
            .unwrap_or_default()
            .replace('\0', " ")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service configuration for the demo PKI in `dir` (`kyso csc init-config`), changed by
/// `tweak`, written to `out`.
fn config(dir: &Path, out: &Path, tweak: impl FnOnce(&mut Value)) -> PathBuf {
    run_ok(
        kyso()
            .args(["csc", "init-config"])
            .arg(dir)
            .args(["--user", "demo", "--password-env", "CSC_USER_PW"])
            .args(["--kdf-iterations", "10000", "-o"])
            .arg(out)
            .env("CSC_USER_PW", USER_PW),
    );
    let mut v: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    tweak(&mut v);
    std::fs::write(out, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    out.to_path_buf()
}

/// `kyso csc serve --config FILE` on a free port.
fn csc_server(config: &Path, log: PathBuf) -> Proc {
    let port = free_port();
    let mut cmd = kyso();
    cmd.args(["csc", "serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "trace");
    Proc::spawn(cmd, port, log)
}

/// `kyso sign IN -o OUT --csc URL --credential ID` as user "demo", PIN from the environment.
fn sign_csc(url: &str, credential: &str, input: &Path, output: &Path, extra: &[&str]) {
    run_ok(
        kyso()
            .arg("sign")
            .arg(input)
            .arg("-o")
            .arg(output)
            .args(["--csc", url, "--credential", credential])
            .args(["--csc-user", "demo", "--csc-password-env", "CSC_USER_PW"])
            .args(["--pin-env", "CSC_PIN"])
            .args(extra)
            .env("CSC_USER_PW", USER_PW)
            .env("CSC_PIN", PW),
    );
}

fn assert_pyhanko_valid(report: &Value, n: usize) {
    assert_eq!(report["error"], Value::Null, "{report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), n, "{report:#}");
    for s in sigs {
        assert_eq!(s["intact"], true, "{s:#}");
        assert_eq!(s["valid"], true, "{s:#}");
        assert_eq!(s["trusted"], true, "{s:#}");
    }
}

/// A raw HTTP/1.1 POST (the refusals need full control of headers and bodies): status and
/// JSON body (Null when empty).
fn post(port: u16, path: &str, auth: Option<&str>, body: &[u8]) -> (u16, Value) {
    post_raw(port, path, auth, body.len(), body)
}

fn post_raw(
    port: u16,
    path: &str,
    auth: Option<&str>,
    content_length: usize,
    body: &[u8],
) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {content_length}\r\nConnection: close\r\n"
    );
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
        .parse()
        .unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, v)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A fresh demo PKI whose certificates point at a `kyso pki serve` running on a free port
/// (so that `kyso verify` can check revocation and say "valid").
struct ServedPki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    _server: Proc,
}

fn served_pki() -> ServedPki {
    let port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    run_ok(
        kyso()
            .args(["pki", "init"])
            .arg(&dir)
            .args(["--password-env", "KYSO_TEST_PW"])
            .args(["--base-url", &format!("http://127.0.0.1:{port}")]),
    );
    let mut cmd = kyso();
    cmd.args(["pki", "serve"])
        .arg(&dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--password-env", "KYSO_TEST_PW"]);
    let server = Proc::spawn(cmd, port, tmp.path().join("pki-serve.log"));
    ServedPki {
        _tmp: tmp,
        dir,
        _server: server,
    }
}

/// An NSS database trusting `root`, for pdfsig.
fn nssdb(root: &Path, at: &Path) -> String {
    std::fs::create_dir_all(at).unwrap();
    let db = format!("sql:{}", at.display());
    run_ok(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
    run_ok(
        Command::new("certutil")
            .args(["-A", "-d", &db, "-n", "root", "-t", "CT,C,C", "-i"])
            .arg(root),
    );
    db
}

fn assert_pdfsig_valid(db: &str, file: &Path, n: usize) {
    let out = Command::new("pdfsig")
        .args(["-nssdir", db, "-no-ocsp"])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("Signature is Valid").count(),
        n,
        "{}: {text}",
        file.display()
    );
    assert_eq!(
        text.matches("Certificate is Trusted").count(),
        n,
        "{}: {text}",
        file.display()
    );
}

fn kyso_verify_valid(file: &Path, root: &Path, n: usize) {
    let (code, v) = crate::common::verify_json(file, root, &[]);
    assert_eq!(code, Some(0), "{}: {v:#}", file.display());
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(v["signatures"].as_array().unwrap().len(), n, "{v:#}");
}

/// The story of a letter signed remotely: the director's personal signature and the agency's
/// seal, both made by `kyso sign --csc` through `kyso csc serve` (CSC v2), then a third
/// signature by pyHanko's own CSC client through the same service (CSC v1), and a batch of
/// three files each with its own authorization. pyHanko and `kyso verify` accept all, pdfsig
/// every signature kyso made.
#[test]
fn letters_signed_through_kyso_csc_service_by_kyso_and_pyhanko_validate_everywhere() {
    let pki = served_pki();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cfg = config(&pki.dir, &t.join("csc.json"), |_| {});
    let server = csc_server(&cfg, t.join("csc.log"));
    let url = server.url();

    let sig = pki.dir.join("signature.png").display().to_string();
    let seal = pki.dir.join("seal.png").display().to_string();
    let a = t.join("a.pdf");
    let b = t.join("b.pdf");
    sign_csc(
        &url,
        "personal",
        &corpus("letter-classic.pdf"),
        &a,
        &[
            "--kind",
            "personal",
            "--image",
            &sig,
            "--anchor",
            "PHÓ GIÁM ĐỐC",
        ],
    );
    sign_csc(
        &url,
        "organization",
        &a,
        &b,
        &["--kind", "organization", "--image", &seal],
    );
    // pyHanko's CSCSigner adds a third signature through the v1 endpoints.
    let c = t.join("c.pdf");
    run_ok(
        Command::new("python3")
            .arg(workspace().join("scripts/oracles/pyhanko_csc_sign.py"))
            .args([&url, "personal"])
            .arg(&b)
            .arg(&c)
            .env("CSC_USER", "demo")
            .env("CSC_PASSWORD", USER_PW)
            .env("CSC_PIN", PW),
    );
    // A batch: three files, one authorization (SAD) each.
    let batch_in = t.join("in");
    let batch_out = t.join("out");
    std::fs::create_dir_all(&batch_in).unwrap();
    for name in ["one-page.pdf", "letter-objstm.pdf", "letter-pdf20.pdf"] {
        std::fs::copy(corpus(name), batch_in.join(name)).unwrap();
    }
    let inputs: Vec<PathBuf> = ["one-page.pdf", "letter-objstm.pdf", "letter-pdf20.pdf"]
        .iter()
        .map(|n| batch_in.join(n))
        .collect();
    run_ok(
        kyso()
            .arg("sign")
            .args(&inputs)
            .arg("--out-dir")
            .arg(&batch_out)
            .args(["--invisible", "--csc", &url, "--credential", "personal"])
            .args(["--csc-user", "demo", "--csc-password-env", "CSC_USER_PW"])
            .args(["--pin-env", "CSC_PIN"])
            .env("CSC_USER_PW", USER_PW)
            .env("CSC_PIN", PW),
    );
    let outputs: Vec<PathBuf> = ["one-page.pdf", "letter-objstm.pdf", "letter-pdf20.pdf"]
        .iter()
        .map(|n| batch_out.join(n))
        .collect();

    let root = pki.dir.join("root.pem");
    let mut files: Vec<&Path> = vec![b.as_path(), c.as_path()];
    files.extend(outputs.iter().map(PathBuf::as_path));
    let reports = pyhanko_trusting(&root, &files);
    assert_pyhanko_valid(&reports[0], 2);
    assert_pyhanko_valid(&reports[1], 3);
    for r in &reports[2..] {
        assert_pyhanko_valid(r, 1);
    }
    let db = nssdb(&root, &t.join("nss"));
    assert_pdfsig_valid(&db, &b, 2);
    for o in &outputs {
        assert_pdfsig_valid(&db, o, 1);
    }
    kyso_verify_valid(&b, &root, 2);
    kyso_verify_valid(&c, &root, 3);
    for o in &outputs {
        kyso_verify_valid(o, &root, 1);
    }
    // The service's audit: one authorization per signature (1 + 3 batch + 1 pyHanko for
    // "personal", 1 for "organization"), each for one hash, each used up by its signHash.
    let log = server.log();
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count("csc audit: authorize user=demo credential=personal hashes=1"),
        5,
        "{log}"
    );
    assert_eq!(
        count("csc audit: authorize user=demo credential=organization hashes=1"),
        1,
        "{log}"
    );
    assert_eq!(count("(authorization used up)"), 6, "{log}");
}

/// kyso's client against certomancer-csc-dummy (pyHanko's author's CSC v1 test server): kyso
/// finds it speaks v1 only, signs through it, and pyHanko validates the result against
/// certomancer's root.
#[test]
fn kyso_signs_through_certomancer_csc_dummy_and_pyhanko_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let services_port = free_port();
    let dir = t.join("certomancer");
    run_ok(
        Command::new("bash")
            .arg(workspace().join("scripts/peers/certomancer.sh"))
            .arg("init")
            .arg(&dir)
            .arg(services_port.to_string()),
    );
    let port = free_port();
    let root = t.join("csc-root.pem");
    let mut cmd = Command::new("python3");
    cmd.arg(workspace().join("scripts/peers/csc_dummy_serve.py"))
        .arg(workspace().join("tests/peers/certomancer.yml"))
        .arg(dir.join("keys"))
        .arg(port.to_string())
        .arg(format!("http://127.0.0.1:{services_port}"))
        .arg(&root);
    let dummy = Proc::spawn(cmd, port, t.join("dummy.log"));
    let out = t.join("signed.pdf");
    // certomancer-csc-dummy has no auth/login (authType "external") and ignores the PIN.
    run_ok(
        kyso()
            .arg("sign")
            .arg(corpus("letter-classic.pdf"))
            .arg("-o")
            .arg(&out)
            .args(["--invisible", "--csc", &dummy.url()])
            .args(["--credential", "kyso-demo/personal", "--pin-env", "CSC_PIN"])
            .env("CSC_PIN", "unused"),
    );
    let reports = pyhanko_trusting(&root, &[out.as_path()]);
    assert_pyhanko_valid(&reports[0], 1);
    let log = dummy.log();
    assert!(log.contains("/csc/v1/signatures/signHash"), "{log}");
    assert!(!log.contains("/csc/v2/signatures"), "{log}");
}

/// What the service refuses, with the CSC error codes, and the audit log that never holds the
/// password, PIN, access token or SAD.
#[test]
fn kyso_csc_service_refuses_bad_requests_with_csc_errors_and_logs_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // A second user "other" with a credential of their own; SADs live 2 s; 3 wrong PINs block.
    let cfg = config(pki(), &t.join("csc.json"), |v| {
        let hash = v["users"][0]["password_hash"].clone();
        v["users"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "other", "password_hash": hash}));
        let mut cred = v["credentials"][0].clone();
        cred["id"] = json!("others-key");
        cred["owner"] = json!("other");
        v["credentials"].as_array_mut().unwrap().push(cred);
        v["sad_lifetime_secs"] = json!(2);
        v["max_pin_failures"] = json!(3);
        v["block_secs"] = json!(600);
    });
    let server = csc_server(&cfg, t.join("csc.log"));
    let port = server.port;
    let mut seen_secrets: Vec<String> = vec![PW.to_owned(), USER_PW.to_owned()];

    // No token, a wrong token, a wrong password.
    let (s, v) = post(port, "/csc/v2/credentials/list", None, b"{}");
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("invalid_request")),
        "{v}"
    );
    let (s, v) = post(
        port,
        "/csc/v2/credentials/list",
        Some("Bearer not-a-token"),
        b"{}",
    );
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("invalid_token")),
        "{v}"
    );
    let (s, v) = post(
        port,
        "/csc/v2/auth/login",
        Some(&basic("demo", "wrong")),
        b"{}",
    );
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("authentication_error")),
        "{v}"
    );

    // Log in; the token lists only demo's own credentials.
    let (s, v) = post(
        port,
        "/csc/v2/auth/login",
        Some(&basic("demo", USER_PW)),
        b"{}",
    );
    assert_eq!(s, 200, "{v}");
    let token = v["access_token"].as_str().unwrap().to_owned();
    seen_secrets.push(token.clone());
    let bearer = format!("Bearer {token}");
    let auth = Some(bearer.as_str());
    let (s, v) = post(port, "/csc/v2/credentials/list", auth, b"{}");
    assert_eq!(s, 200);
    let ids = v["credentialIDs"].as_array().unwrap();
    assert!(ids.contains(&json!("personal")) && ids.contains(&json!("organization")));
    assert!(!ids.contains(&json!("others-key")), "{v}");

    // Another user's credential is unknown to demo.
    let body = json!({"credentialID": "others-key", "certificates": "chain"});
    let (s, v) = post(
        port,
        "/csc/v2/credentials/info",
        auth,
        body.to_string().as_bytes(),
    );
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    // credentials/info of demo's own: chain signer first, explicit PIN, SCAL 2.
    let body = json!({"credentialID": "personal", "certificates": "chain", "certInfo": true});
    let (s, v) = post(
        port,
        "/csc/v2/credentials/info",
        auth,
        body.to_string().as_bytes(),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["cert"]["certificates"].as_array().unwrap().len(), 3);
    assert_eq!(v["auth"]["mode"], "explicit");
    assert_eq!(v["auth"]["objects"][0]["id"], "PIN");
    assert_eq!(v["SCAL"], "2");
    assert_eq!(v["key"]["status"], "enabled");

    // Bodies: too large (declared), unknown fields.
    let (s, v) = post_raw(port, "/csc/v2/credentials/info", auth, 70_000, b"");
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    assert!(v["error_description"].as_str().unwrap().contains("larger"));
    let body = json!({"credentialID": "personal", "bogus": true});
    let (s, v) = post(
        port,
        "/csc/v2/credentials/info",
        auth,
        body.to_string().as_bytes(),
    );
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );

    let h1 = b64(&[1u8; 32]);
    let h2 = b64(&[2u8; 32]);
    let authorize = |hashes: &[&str], pin: &str| {
        let body = json!({"credentialID": "personal", "numSignatures": hashes.len(),
                          "hashes": hashes, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                          "PIN": pin});
        post(
            port,
            "/csc/v2/credentials/authorize",
            auth,
            body.to_string().as_bytes(),
        )
    };
    let sign_hash = |sad: &str, hashes: &[&str]| {
        let body = json!({"credentialID": "personal", "SAD": sad, "hashes": hashes,
                          "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                          "signAlgo": "1.2.840.113549.1.1.1"});
        post(
            port,
            "/csc/v2/signatures/signHash",
            auth,
            body.to_string().as_bytes(),
        )
    };

    // A wrong PIN.
    let (s, v) = authorize(&[&h1], "0000");
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_pin")), "{v}");
    // The right PIN: a SAD for h1 only; h2 is refused, h1 signed once, then the SAD is gone.
    let (s, v) = authorize(&[&h1], PW);
    assert_eq!(s, 200, "{v}");
    let sad = v["SAD"].as_str().unwrap().to_owned();
    seen_secrets.push(sad.clone());
    let (s, v) = sign_hash(&sad, &[&h2]);
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("not authorized"));
    let (s, v) = sign_hash(&sad, &[&h1]);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1);
    let (s, v) = sign_hash(&sad, &[&h1]);
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    assert!(v["error_description"].as_str().unwrap().contains("SAD"));

    // An expired SAD.
    let (s, v) = authorize(&[&h2], PW);
    assert_eq!(s, 200, "{v}");
    let late = v["SAD"].as_str().unwrap().to_owned();
    seen_secrets.push(late.clone());
    std::thread::sleep(Duration::from_millis(2500));
    let (s, v) = sign_hash(&late, &[&h2]);
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    assert!(v["error_description"].as_str().unwrap().contains("expired"));

    // The v1 endpoints speak v1 field names only.
    let v2_body = json!({"credentialID": "personal", "numSignatures": 1, "hashes": [h1],
                         "PIN": PW});
    let (s, v) = post(
        port,
        "/csc/v1/credentials/authorize",
        auth,
        v2_body.to_string().as_bytes(),
    );
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );

    // Three wrong PINs block the credential: then even the right PIN is refused.
    for _ in 0..3 {
        let (s, v) = authorize(&[&h1], "1111");
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_pin")), "{v}");
    }
    let (s, v) = authorize(&[&h1], PW);
    assert_eq!(s, 400, "{v}");
    assert!(v["error_description"].as_str().unwrap().contains("blocked"));

    // Revoking the token ends the session.
    let (s, _) = post(port, "/csc/v2/auth/revoke", auth, b"{}");
    assert_eq!(s, 204);
    let (s, v) = post(port, "/csc/v2/credentials/list", auth, b"{}");
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("invalid_token")),
        "{v}"
    );

    // The audit log names users, credentials and counts — and none of the secrets.
    let log = server.log();
    assert!(
        log.contains("csc audit: authorize user=demo credential=personal hashes=1"),
        "{log}"
    );
    assert!(log.contains("credential now blocked"), "{log}");
    for secret in &seen_secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the log:\n{log}"
        );
    }
    let cmdline = server.cmdline();
    for secret in &seen_secrets {
        assert!(!cmdline.contains(secret.as_str()), "{cmdline}");
    }
}

/// Base64url words as long as kyso's tokens and SADs (256 bits → 43 characters).
fn token_like(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| w.len() >= 43)
        .collect()
}

/// The client takes the PIN and the login password from the environment: neither is in its
/// arguments, and no secret — PIN, password, access token, SAD — is in its stderr or the
/// service's (both run with `RUST_LOG=trace`).
#[test]
fn csc_client_and_service_keep_secrets_out_of_logs_and_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cfg = config(pki(), &t.join("csc.json"), |_| {});
    let server = csc_server(&cfg, t.join("csc.log"));
    let out = t.join("signed.pdf");
    let client_log = t.join("client.log");
    let mut client = kyso()
        .arg("sign")
        .arg(corpus("one-page.pdf"))
        .arg("-o")
        .arg(&out)
        .args([
            "--invisible",
            "--csc",
            &server.url(),
            "--credential",
            "personal",
        ])
        .args(["--csc-user", "demo", "--csc-password-env", "CSC_USER_PW"])
        .args(["--pin-env", "CSC_PIN"])
        .env("CSC_USER_PW", USER_PW)
        .env("CSC_PIN", PW)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&client_log).unwrap())
        .spawn()
        .unwrap();
    // The client is still logging in and signing (hundreds of ms): read its arguments now
    // (the file reads empty for an instant around exec, so look again until it is not).
    let deadline = Instant::now() + Duration::from_secs(5);
    let cmdline = loop {
        let c = std::fs::read_to_string(format!("/proc/{}/cmdline", client.id()))
            .unwrap_or_default()
            .replace('\0', " ");
        if c.contains("--csc") {
            break c;
        }
        assert!(
            client.try_wait().unwrap().is_none() && Instant::now() < deadline,
            "the client's arguments could not be read while it ran: {}",
            std::fs::read_to_string(&client_log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    let status = client.wait().unwrap();
    let client_err = std::fs::read_to_string(&client_log).unwrap();
    assert!(status.success(), "{client_err}");
    assert_eq!(
        crate::common::pyhanko(&[out.as_path()])[0]["signatures"][0]["valid"],
        true
    );

    let server_log = server.log();
    assert!(server_log.contains("csc audit: signHash user=demo credential=personal hashes=1"));
    for (what, text) in [
        ("client arguments", cmdline.as_str()),
        ("server arguments", server.cmdline().as_str()),
        ("client stderr", client_err.as_str()),
        ("server stderr", server_log.as_str()),
    ] {
        assert!(!text.contains(PW), "PIN in {what}: {text}");
        assert!(!text.contains(USER_PW), "password in {what}: {text}");
        assert!(
            token_like(text).is_empty(),
            "a token- or SAD-like word in {what}: {:?}",
            token_like(text)
        );
    }
}

/// A CA and a server certificate for 127.0.0.1 made by openssl: (ca.pem, cert.pem, key.pem).
fn tls_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key, csr) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("req.csr"),
    );
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
    )
    .unwrap();
    run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Test TLS CA",
                "-keyout",
            ])
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca),
    );
    run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-set_serial", "2", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert),
    );
    (ca, cert, key)
}

/// Over https:// (a TLS front made with Python's ssl module before kyso's service), the client
/// signs when it trusts the front's CA (`--csc-ca`) and refuses when it does not; plain
/// http:// to another machine is refused before anything is sent.
#[test]
fn csc_client_signs_over_https_and_refuses_an_untrusted_server_or_remote_plain_http() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cfg = config(pki(), &t.join("csc.json"), |_| {});
    let server = csc_server(&cfg, t.join("csc.log"));
    let (ca, cert, key) = tls_certificates(t);
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.arg(workspace().join("scripts/peers/tls_proxy.py"))
        .arg(&cert)
        .arg(&key)
        .arg(port.to_string())
        .arg(server.port.to_string());
    let _front = Proc::spawn(cmd, port, t.join("proxy.log"));
    let url = format!("https://127.0.0.1:{port}");
    let out = t.join("signed.pdf");
    let ca_arg = ca.display().to_string();
    sign_csc(
        &url,
        "personal",
        &corpus("one-page.pdf"),
        &out,
        &["--invisible", "--csc-ca", &ca_arg],
    );
    assert_pyhanko_valid(&crate::common::pyhanko(&[out.as_path()])[0], 1);

    let refused = |url: &str| {
        let o = kyso()
            .args(["--lang", "en", "sign"])
            .arg(corpus("one-page.pdf"))
            .arg("-o")
            .arg(t.join("refused.pdf"))
            .args(["--invisible", "--csc", url, "--credential", "personal"])
            .args(["--csc-user", "demo", "--csc-password-env", "CSC_USER_PW"])
            .args(["--pin-env", "CSC_PIN"])
            .env("CSC_USER_PW", USER_PW)
            .env("CSC_PIN", PW)
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let err = refused(&url);
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
    let err = refused("http://192.0.2.1:8780");
    assert!(err.contains("plain http://"), "{err}");
    assert!(!t.join("refused.pdf").exists());
}

/// The README's one-liner: `kyso csc serve --demo DIR` serves the demo PKI's credentials to user
/// "demo" (login password from the environment, PIN = the PKCS#12 password) with no file to
/// write first.
#[test]
fn demo_mode_serves_the_demo_pki_without_a_configuration_file() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = kyso();
    cmd.args(["csc", "serve", "--demo"])
        .arg(pki())
        .args(["--user-password-env", "CSC_USER_PW"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("CSC_USER_PW", USER_PW);
    let server = Proc::spawn(cmd, port, tmp.path().join("csc.log"));
    let out = tmp.path().join("signed.pdf");
    sign_csc(
        &server.url(),
        "organization",
        &corpus("one-page.pdf"),
        &out,
        &["--invisible"],
    );
    assert_pyhanko_valid(&crate::common::pyhanko(&[out.as_path()])[0], 1);
    assert!(server
        .log()
        .contains("csc audit: signHash user=demo credential=organization hashes=1"));
}
