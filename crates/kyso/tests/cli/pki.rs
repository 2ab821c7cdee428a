//! `kyso pki init`, checked with the real `openssl` CLI and with kyso's own PKCS#12 signer.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{corpus, kyso, pki, sign_command, PW};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .env("PW", PW)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn openssl_verifies_the_chain() {
    let dir = pki();
    for name in [
        "personal",
        "personal2",
        "organization",
        "ecdsa",
        "ecdsa384",
        "tsa",
        "ocsp",
    ] {
        let file = format!("{name}.pem");
        let out = openssl(
            dir,
            &[
                "verify",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "intermediate.pem",
                &file,
            ],
        );
        assert!(out.status.success(), "{name}: {}", text(&out));
        assert!(
            text(&out).contains(&format!("{file}: OK")),
            "{}",
            text(&out)
        );
    }
    let out = openssl(
        dir,
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "intermediate.pem",
            "expired.pem",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("expired"), "{}", text(&out));
    // chain.pem is intermediate + root.
    let out = openssl(dir, &["verify", "-CAfile", "chain.pem", "personal.pem"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn openssl_reads_the_pkcs12_without_legacy() {
    let dir = pki();
    for name in ["personal", "ecdsa", "root", "intermediate"] {
        let file = format!("{name}.p12");
        let out = openssl(
            dir,
            &[
                "pkcs12", "-in", &file, "-passin", "env:PW", "-info", "-noout",
            ],
        );
        let t = text(&out);
        assert!(out.status.success(), "{name}: {t}");
        assert!(t.contains("AES-256-CBC"), "{t}");
        assert!(t.contains("PBKDF2"), "{t}");
        assert!(t.contains("MAC: sha256"), "{t}");
    }
    // Key, leaf, intermediate and root come out.
    let out = openssl(
        dir,
        &[
            "pkcs12",
            "-in",
            "personal.p12",
            "-passin",
            "env:PW",
            "-nodes",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert_eq!(t.matches("-----BEGIN CERTIFICATE-----").count(), 3, "{t}");
    assert_eq!(t.matches("-----BEGIN PRIVATE KEY-----").count(), 1);
    // The wrong password is refused.
    let out = Command::new("openssl")
        .current_dir(dir)
        .env("PW", "sai mật khẩu")
        .args([
            "pkcs12",
            "-in",
            "personal.p12",
            "-passin",
            "env:PW",
            "-info",
            "-noout",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn openssl_shows_the_vietnamese_subject() {
    let dir = pki();
    let out = openssl(
        dir,
        &[
            "x509",
            "-in",
            "personal.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "utf8",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("CN=Nguyễn Văn An"), "{t}");
    assert!(t.contains("title=Giám đốc"), "{t}");
    assert!(t.contains("O=Sở Khoa học và Công nghệ tỉnh Demo"), "{t}");
    let out = openssl(
        dir,
        &[
            "x509",
            "-in",
            "tsa.pem",
            "-noout",
            "-ext",
            "extendedKeyUsage",
        ],
    );
    let t = text(&out);
    assert!(t.contains("critical") && t.contains("Time Stamping"), "{t}");
    let out = openssl(dir, &["x509", "-in", "ocsp.pem", "-noout", "-text"]);
    assert!(text(&out).contains("OCSP No Check"), "{}", text(&out));
}

#[test]
fn pkcs12_loads_with_kyso_keys() {
    let dir = pki();
    for name in ["personal", "personal2", "organization", "ecdsa", "ecdsa384"] {
        let data = std::fs::read(dir.join(format!("{name}.p12"))).unwrap();
        let signer =
            kyso_keys::Pkcs12Signer::from_pkcs12(&data, &kyso_keys::Secret::from(PW)).unwrap();
        let cert = kyso_cms::Signer::certificate(&signer);
        assert!(cert.key_usage().digital_signature, "{name}");
        assert_eq!(kyso_cms::Signer::chain(&signer).len(), 2, "{name}");
    }
}

fn sign_with_p12(p12: &Path, input: &Path, output: &Path) -> Output {
    sign_command(input, output, p12)
        .arg("--invisible")
        .output()
        .unwrap()
}

#[test]
fn kyso_signs_with_the_demo_keys_and_refuses_the_bad_ones() {
    let dir = pki();
    let tmp = tempfile::tempdir().unwrap();
    let input = corpus("one-page.pdf");
    for name in ["personal", "ecdsa"] {
        let output = tmp.path().join(format!("{name}.pdf"));
        let out = sign_with_p12(&dir.join(format!("{name}.p12")), &input, &output);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let signed = std::fs::read(&output).unwrap();
        assert!(signed.len() > std::fs::read(&input).unwrap().len());
        assert!(signed.windows(8).any(|w| w == b"/ByteRan"));
    }
    for (name, expect) in [("expired", "hết hạn"), ("nosign", "digitalSignature")] {
        let output = tmp.path().join(format!("{name}.pdf"));
        let out = sign_with_p12(&dir.join(format!("{name}.p12")), &input, &output);
        assert!(!out.status.success(), "{name} must be refused");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(expect), "{name}: {err}");
        assert!(!output.exists());
    }
}

#[test]
fn index_and_images_are_written() {
    let dir = pki();
    let index = std::fs::read_to_string(dir.join("index.json")).unwrap();
    assert!(
        index.contains("\"base_url\": \"http://127.0.0.1:8765\""),
        "{index}"
    );
    assert!(index.contains("\"personal.p12\""));
    assert!(!index.contains(PW));
    for png in ["signature.png", "seal.png"] {
        let data = std::fs::read(dir.join(png)).unwrap();
        assert!(data.starts_with(b"\x89PNG\r\n\x1a\n"), "{png}");
        assert!(data.windows(4).any(|w| w == b"pHYs"), "{png}");
    }
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("KHÔNG dùng thật") || readme.contains("KHÔNG DÙNG THẬT"));
}

#[test]
fn a_non_empty_directory_is_refused_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("giữ-lại.txt"), b"x").unwrap();
    let out = kyso()
        .args(["pki", "init"])
        .arg(tmp.path())
        .args(["--password-env", "KYSO_TEST_PW"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("Lỗi: "), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(out.stdout.is_empty());
    // The existing file is untouched and nothing was added.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);

    let out = kyso()
        .args(["--lang", "en", "pki", "init"])
        .arg(tmp.path())
        .args(["--password-env", "KYSO_TEST_PW"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("Error: directory ") && err.contains("not empty"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn missing_password_variable_and_bad_url_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kyso()
        .args(["pki", "init"])
        .arg(tmp.path().join("a"))
        .args(["--password-env", "KYSO_TEST_NO_SUCH_VAR"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("KYSO_TEST_NO_SUCH_VAR"), "{err}");
    assert!(!tmp.path().join("a").exists());

    let out = kyso()
        .args(["pki", "init"])
        .arg(tmp.path().join("b"))
        .args([
            "--password-env",
            "KYSO_TEST_PW",
            "--base-url",
            "ftp://example",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("http://"), "{err}");
}

#[test]
fn force_and_base_url_and_english() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"x").unwrap();
    let out = kyso()
        .args(["--lang", "en", "pki", "init"])
        .arg(tmp.path())
        .args(["--password", "pw-on-argv", "--force"])
        .args(["--base-url", "https://pki.demo.invalid/kyso/"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("Created a DEMO"), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--password-env"), "{stderr}");
    assert!(tmp.path().join("notes.txt").exists());
    let pem = std::fs::read(tmp.path().join("personal.pem")).unwrap();
    let cert = kyso_x509::Cert::from_pem_chain(&pem).unwrap().remove(0);
    let der = cert.der();
    let url = b"https://pki.demo.invalid/kyso/crl/intermediate.crl";
    assert!(der.windows(url.len()).any(|w| w == url));
    let data = std::fs::read(tmp.path().join("personal.p12")).unwrap();
    kyso_keys::Pkcs12Signer::from_pkcs12(&data, &kyso_keys::Secret::from("pw-on-argv")).unwrap();
}

#[test]
fn init_prints_a_vietnamese_summary_without_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kyso()
        .args(["pki", "init"])
        .arg(tmp.path().join("pki"))
        .args(["--password-env", "KYSO_TEST_PW"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Đã tạo"), "{stdout}");
    assert!(stdout.contains("Nguyễn Văn An"), "{stdout}");
    assert!(!stdout.contains(PW));
}

/// `kyso pki init|revoke|serve --json` (docs/pki-json.md): the objects parse and say what the
/// text says.
#[test]
fn pki_commands_answer_in_json() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let out = kyso()
        .args(["pki", "init"])
        .arg(&dir)
        .args(["--password-env", "KYSO_TEST_PW", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "kyso.pki/1");
    assert_eq!(v["command"], "init");
    assert_eq!(v["dir"], dir.display().to_string());
    let entities = v["entities"].as_array().unwrap();
    let personal = entities
        .iter()
        .find(|e| e["name"] == "personal")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(personal["kind"], "personal");
    for f in ["cert_file", "p12_file"] {
        assert!(dir.join(personal[f].as_str().unwrap()).is_file(), "{v}");
    }
    assert!(entities.iter().any(|e| e["kind"] == "root"), "{v}");
    assert!(v["files"].as_array().unwrap().len() >= entities.len());

    let serial = personal["serial"].as_str().unwrap();
    let out = kyso()
        .args(["pki", "revoke"])
        .arg(&dir)
        .args(["--serial", serial, "--reason", "keyCompromise"])
        .args(["--time", "2026-03-15T09:30:00Z", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema"], "kyso.pki/1");
    assert_eq!(r["command"], "revoke");
    assert_eq!(r["serial"], serial);
    assert_eq!(r["name"], "personal");
    assert_eq!(r["reason"], "keyCompromise");
    assert_eq!(r["time"], "2026-03-15T09:30:00Z");

    let mut child = kyso()
        .args(["pki", "serve"])
        .arg(&dir)
        .args(["--password-env", "KYSO_TEST_PW", "--listen", "127.0.0.1:0"])
        .args(["--threads", "1", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let s: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(s["schema"], "kyso.pki/1");
    assert_eq!(s["command"], "serve");
    let listen = s["listen"].as_str().unwrap();
    assert!(
        listen.starts_with("127.0.0.1:") && !listen.ends_with(":0"),
        "{s}"
    );
    assert_eq!(s["tsa"], format!("http://{listen}/tsa"));
    assert_eq!(s["crl"].as_array().unwrap().len(), 2);
}
