//! Signing with keys on PKCS#11 tokens (`--pkcs11-module`, `kyso token list`), against SoftHSM2
//! in a fresh token directory per test: keys imported from the demo PKI's .p12 files, and a key
//! generated on the token whose certificate the demo intermediate CA then issues. The signed
//! PDFs go to pyHanko, poppler's pdfsig and `openssl cms`; every stderr is checked for the PIN.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{assert_all_oracles_ok, assert_pyhanko_ok, corpus, kyso, pki, run_ok, PW};

/// Debian's SoftHSM2 module (scripts/setup-test-env.sh installs the package).
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token: long and odd enough that finding it in an output means
/// it leaked.
pub const PIN: &str = "tok-pin-60417";
const SO_PIN: &str = "tok-so-88213";

/// A SoftHSM2 token directory of its own, with the configuration pointing at it.
pub struct SoftHsm {
    tmp: tempfile::TempDir,
}

impl SoftHsm {
    pub fn new() -> SoftHsm {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is not installed ({MODULE} missing): run bash scripts/setup-test-env.sh"
        );
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("tokens")).unwrap();
        std::fs::write(
            tmp.path().join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tmp.path().join("tokens").display()
            ),
        )
        .unwrap();
        SoftHsm { tmp }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// A tool (softhsm2-util, pkcs11-tool) or kyso, on this token directory.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", self.dir().join("softhsm2.conf"));
        c
    }

    pub fn kyso(&self) -> Command {
        let mut c = kyso();
        c.env("SOFTHSM2_CONF", self.dir().join("softhsm2.conf"))
            .env("KYSO_TEST_PIN", PIN);
        c
    }

    pub fn init_token(&self, label: &str) {
        run_ok(self.cmd("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            PIN,
        ]));
    }

    fn p11tool(&self, token: &str) -> Command {
        let mut c = self.cmd("pkcs11-tool");
        c.args(["--module", MODULE, "--token-label", token]);
        c
    }

    /// Write a DER certificate to the token.
    pub fn write_cert(&self, token: &str, der: &Path, id: &str, label: &str) {
        run_ok(
            self.p11tool(token)
                .args(["--login", "--pin", PIN, "--write-object"])
                .arg(der)
                .args(["--type", "cert", "--id", id, "--label", label]),
        );
    }

    /// Import the key and certificate of `p12` (password PW) under `id`/`label`, and the CA
    /// certificates `cas` (PEM files) beside them.
    pub fn import_p12(&self, token: &str, p12: &Path, id: &str, label: &str, cas: &[PathBuf]) {
        let work = self.dir().join(format!("import-{label}"));
        std::fs::create_dir_all(&work).unwrap();
        let key = work.join("key.pem");
        let bags = work.join("bags.pem");
        openssl_p12(p12, &["-nocerts", "-nodes"], &bags);
        run_ok(
            Command::new("openssl")
                .arg("pkey")
                .arg("-in")
                .arg(&bags)
                .arg("-out")
                .arg(&key),
        );
        let cert = work.join("cert.der");
        openssl_p12(p12, &["-nokeys", "-clcerts"], &work.join("cert.pem"));
        pem_to_der(&work.join("cert.pem"), &cert);
        run_ok(
            self.cmd("softhsm2-util")
                .arg("--import")
                .arg(&key)
                .args(["--token", token, "--label", label, "--id", id, "--pin", PIN]),
        );
        std::fs::remove_file(&key).unwrap();
        std::fs::remove_file(&bags).unwrap();
        self.write_cert(token, &cert, id, label);
        for (i, ca) in cas.iter().enumerate() {
            let der = work.join(format!("ca{i}.der"));
            pem_to_der(ca, &der);
            self.write_cert(token, &der, &format!("c{i}"), &format!("{label}-ca{i}"));
        }
    }
}

fn openssl_p12(p12: &Path, what: &[&str], out: &Path) {
    run_ok(
        Command::new("openssl")
            .arg("pkcs12")
            .arg("-in")
            .arg(p12)
            .args(what)
            .args(["-passin", "env:KYSO_TEST_PW"])
            .env("KYSO_TEST_PW", PW)
            .arg("-out")
            .arg(out),
    );
}

fn pem_to_der(pem: &Path, der: &Path) {
    run_ok(
        Command::new("openssl")
            .arg("x509")
            .arg("-in")
            .arg(pem)
            .args(["-outform", "DER", "-out"])
            .arg(der),
    );
}

/// The demo PKI's CA certificates (intermediate, root), PEM.
pub fn demo_cas(dir: &Path) -> Vec<PathBuf> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    ["intermediate", "root"]
        .iter()
        .map(|n| {
            let e = index["entities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == *n)
                .unwrap();
            dir.join(e["cert_file"].as_str().unwrap())
        })
        .collect()
}

/// Neither output stream of `out` contains the PIN.
fn assert_no_pin(out: &Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(PIN), "the PIN appears on {name}: {text}");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `kyso sign IN -o OUT --pkcs11-module … --token TOKEN --pin-env KYSO_TEST_PIN --invisible`.
fn token_sign(hsm: &SoftHsm, input: &Path, out: &Path, token: &str, extra: &[&str]) -> Output {
    let o = hsm
        .kyso()
        .arg("sign")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--pkcs11-module", MODULE, "--token", token])
        .args(["--pin-env", "KYSO_TEST_PIN", "--invisible"])
        .args(extra)
        .output()
        .unwrap();
    assert_no_pin(&o);
    o
}

fn token_sign_ok(hsm: &SoftHsm, input: &Path, out: &Path, token: &str, extra: &[&str]) {
    let o = token_sign(hsm, input, out, token, extra);
    assert!(
        o.status.success(),
        "kyso sign with the token failed: {}",
        stderr(&o)
    );
}

#[test]
fn rsa_and_ecdsa_keys_imported_into_a_token_sign_pdfs_every_validator_accepts() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-officer");
    let cas = demo_cas(pki());
    hsm.import_p12(
        "kyso-officer",
        &pki().join("personal.p12"),
        "01",
        "personal",
        &cas,
    );
    hsm.import_p12("kyso-officer", &pki().join("ecdsa.p12"), "02", "ecdsa", &[]);
    let out = hsm.dir().join("out");
    std::fs::create_dir(&out).unwrap();

    let rsa = out.join("rsa.pdf");
    token_sign_ok(
        &hsm,
        &corpus("one-page.pdf"),
        &rsa,
        "kyso-officer",
        &["--key", "personal"],
    );
    assert_all_oracles_ok(&rsa, 1);

    let pss = out.join("pss.pdf");
    token_sign_ok(
        &hsm,
        &corpus("one-page.pdf"),
        &pss,
        "kyso-officer",
        &["--key", "01", "--pss"],
    );
    assert_all_oracles_ok(&pss, 1);
    let (_, v) = crate::common::verify_json(&pss, &crate::common::root(), &[]);
    assert_eq!(v["signatures"][0]["intact"], true, "{v:#}");
    assert_eq!(
        v["signatures"][0]["certificate_path"]["status"], "valid",
        "{v:#}"
    );

    // The ECDSA key shares the CA certificates written with the RSA one.
    let ec = out.join("ec.pdf");
    token_sign_ok(
        &hsm,
        &corpus("one-page.pdf"),
        &ec,
        "kyso-officer",
        &["--key", "ecdsa"],
    );
    assert_all_oracles_ok(&ec, 1);
}

/// The real life of a token: the key pair is generated on the device and never leaves it; the
/// CA issues a certificate for its public key, written back under the key's CKA_ID.
#[test]
fn a_key_generated_on_the_token_signs_once_the_ca_certifies_it() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-gen");
    let w = hsm.dir();
    let tool = |args: &[&str]| {
        run_ok(
            hsm.cmd("pkcs11-tool")
                .args(["--module", MODULE, "--token-label", "kyso-gen"])
                .args(args),
        )
    };
    tool(&[
        "--login",
        "--pin",
        PIN,
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--id",
        "0a",
        "--label",
        "gen-ec",
    ]);
    let pub_der = w.join("pub.der");
    tool(&[
        "--read-object",
        "--type",
        "pubkey",
        "--id",
        "0a",
        "-o",
        pub_der.to_str().unwrap(),
    ]);
    let pub_pem = w.join("pub.pem");
    run_ok(
        Command::new("openssl")
            .args(["pkey", "-pubin", "-inform", "DER", "-in"])
            .arg(&pub_der)
            .arg("-out")
            .arg(&pub_pem),
    );
    // The demo intermediate CA's key, out of its .p12 for this test only.
    let ca_key = w.join("ca.key");
    let ca_bags = w.join("ca-bags.pem");
    openssl_p12(
        &pki().join("intermediate.p12"),
        &["-nocerts", "-nodes"],
        &ca_bags,
    );
    run_ok(
        Command::new("openssl")
            .arg("pkey")
            .arg("-in")
            .arg(&ca_bags)
            .arg("-out")
            .arg(&ca_key),
    );
    let cas = demo_cas(pki());
    let ext = w.join("ext.cnf");
    // The demo PKI's end-entity profile. (poppler's NSS check gives "Unknown issue with
    // Certificate" for a certificate without CRL distribution point and AIA.)
    let base = "http://127.0.0.1:8765";
    std::fs::write(
        &ext,
        format!(
            "[v3]\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,nonRepudiation\n\
             extendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\n\
             authorityKeyIdentifier=keyid\n\
             authorityInfoAccess=OCSP;URI:{base}/ocsp,caIssuers;URI:{base}/certs/intermediate.cer\n\
             crlDistributionPoints=URI:{base}/crl/intermediate.crl\n"
        ),
    )
    .unwrap();
    let cert = w.join("gen.der");
    run_ok(
        Command::new("openssl")
            .args(["x509", "-new", "-subj"])
            .arg("/C=VN/O=So KH&CN tinh Demo/CN=Khoa sinh tren token (DEMO)")
            .arg("-force_pubkey")
            .arg(&pub_pem)
            .arg("-CA")
            .arg(&cas[0])
            .arg("-CAkey")
            .arg(&ca_key)
            .args(["-set_serial", "0x4b59534f0a01", "-days", "30", "-sha256"])
            .arg("-extfile")
            .arg(&ext)
            .args(["-extensions", "v3", "-outform", "DER", "-out"])
            .arg(&cert),
    );
    hsm.write_cert("kyso-gen", &cert, "0a", "gen-ec");
    for (i, ca) in cas.iter().enumerate() {
        let der = w.join(format!("ca{i}.der"));
        pem_to_der(ca, &der);
        hsm.write_cert("kyso-gen", &der, &format!("c{i}"), &format!("ca{i}"));
    }

    // The token holds one key with a certificate: no --key needed.
    let signed = w.join("gen-signed.pdf");
    token_sign_ok(&hsm, &corpus("one-page.pdf"), &signed, "kyso-gen", &[]);
    assert_all_oracles_ok(&signed, 1);
    let report = &crate::common::pyhanko(&[&signed])[0];
    assert!(
        report["signatures"][0]["signer"]
            .as_str()
            .unwrap()
            .contains("Khoa sinh tren token (DEMO)"),
        "{report:#}"
    );
}

/// With the demo PKI's OCSP/CRL services running, a document signed on the token is fully
/// valid for `kyso verify` (exit 0).
#[test]
fn kyso_verify_finds_a_token_signature_valid_with_revocation_checked() {
    use crate::pki_serve::{free_port, fresh_pki, Server};
    let port = free_port();
    let (_tmp, dir) = fresh_pki(port);
    let server = Server::start(&dir, port);
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-verify");
    hsm.import_p12(
        "kyso-verify",
        &dir.join("personal.p12"),
        "01",
        "personal",
        &demo_cas(&dir),
    );
    let signed = hsm.dir().join("signed.pdf");
    token_sign_ok(&hsm, &corpus("one-page.pdf"), &signed, "kyso-verify", &[]);
    let (code, v) = crate::common::verify_json(&signed, &dir.join("root.pem"), &[]);
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(code, Some(0), "{v:#}");
    let pss = hsm.dir().join("pss.pdf");
    token_sign_ok(
        &hsm,
        &corpus("one-page.pdf"),
        &pss,
        "kyso-verify",
        &["--pss"],
    );
    let (code, v) = crate::common::verify_json(&pss, &dir.join("root.pem"), &[]);
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(code, Some(0), "{v:#}");
    drop(server);
}

#[test]
fn token_list_shows_the_token_its_maker_and_its_certificates() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-list");
    hsm.import_p12(
        "kyso-list",
        &pki().join("personal.p12"),
        "01",
        "personal",
        &demo_cas(pki()),
    );
    let out = run_ok(
        hsm.kyso()
            .args(["token", "list", "--pkcs11-module", MODULE, "--json"]),
    );
    assert_no_pin(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tokens = v["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{v:#}");
    let t = &tokens[0];
    assert_eq!(t["label"], "kyso-list");
    assert_eq!(t["manufacturer"], "SoftHSM project");
    assert_eq!(t["flags"]["login_required"], true);
    let serial = t["serial"].as_str().unwrap().to_owned();
    assert!(!serial.is_empty());
    let certs = t["certificates"].as_array().unwrap();
    assert_eq!(
        certs.len(),
        3,
        "the key's certificate and the two CAs': {v:#}"
    );
    let certs: Vec<&Value> = certs.iter().filter(|c| c["ca"] == false).collect();
    assert_eq!(certs.len(), 1, "{v:#}");
    assert_eq!(certs[0]["label"], "personal");
    assert_eq!(certs[0]["id"], "01");
    let subject = certs[0]["subject"].as_str().unwrap().to_owned();
    assert!(subject.contains("CN="), "{subject}");

    // The same in words, Vietnamese by default and English on request.
    let vi = run_ok(
        hsm.kyso()
            .args(["token", "list", "--pkcs11-module", MODULE]),
    );
    let vi = String::from_utf8(vi.stdout).unwrap();
    for want in [
        "kyso-list",
        serial.as_str(),
        "SoftHSM project",
        subject.as_str(),
        "Số sê-ri:",
        "Nhãn khóa: \"personal\", CKA_ID 01",
    ] {
        assert!(vi.contains(want), "missing {want:?} in:\n{vi}");
    }
    let en = run_ok(
        hsm.kyso()
            .args(["token", "list", "--pkcs11-module", MODULE, "--lang", "en"]),
    );
    let en = String::from_utf8(en.stdout).unwrap();
    assert!(en.contains("Manufacturer: SoftHSM project"), "{en}");
    assert!(en.contains("Key label: \"personal\""), "{en}");

    // Serial numbers name tokens too.
    let signed = hsm.dir().join("by-serial.pdf");
    token_sign_ok(&hsm, &corpus("one-page.pdf"), &signed, &serial, &[]);
    assert_pyhanko_ok(&crate::common::pyhanko(&[&signed])[0], 1);

    // The only token needs no --token, and without --pin-env the PIN is asked for (here
    // answered on standard input, as a program would).
    let asked = hsm.dir().join("asked.pdf");
    let mut child = hsm
        .kyso()
        .arg("sign")
        .arg(corpus("one-page.pdf"))
        .arg("-o")
        .arg(&asked)
        .args(["--pkcs11-module", MODULE, "--invisible"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PIN}").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_no_pin(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("Mã PIN của thiết bị kyso-list ({serial}): ")),
        "{}",
        stderr(&o)
    );
    assert_pyhanko_ok(&crate::common::pyhanko(&[&asked])[0], 1);
}

#[test]
fn wrong_pin_unknown_token_unknown_key_and_missing_module_fail_in_one_line_without_the_pin() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-err");
    hsm.import_p12(
        "kyso-err",
        &pki().join("personal.p12"),
        "01",
        "personal",
        &[],
    );
    hsm.import_p12(
        "kyso-err",
        &pki().join("personal2.p12"),
        "02",
        "personal2",
        &[],
    );
    let input = corpus("one-page.pdf");
    let out = hsm.dir().join("never.pdf");
    let fails = |o: &Output, vi: &str| {
        assert!(!o.status.success());
        let e = stderr(o);
        assert!(e.contains(vi), "expected {vi:?} in: {e}");
        assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
        assert!(!out.exists(), "no output after a failure");
    };

    // Wrong PIN: the message says so, and the second time that tries are running low.
    let wrong = |lang: &str| {
        let o = hsm
            .kyso()
            .env("KYSO_WRONG_PIN", "999999-wrong")
            .args(["--lang", lang, "sign"])
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args([
                "--pkcs11-module",
                MODULE,
                "--token",
                "kyso-err",
                "--key",
                "personal",
            ])
            .args(["--pin-env", "KYSO_WRONG_PIN", "--invisible"])
            .output()
            .unwrap();
        assert!(!stderr(&o).contains("999999-wrong"), "{}", stderr(&o));
        assert_no_pin(&o);
        o
    };
    fails(&wrong("vi"), "sai mã PIN (thiết bị báo còn ít lần thử)");
    fails(
        &wrong("en"),
        "wrong PIN (the device says few tries are left)",
    );

    let o = token_sign(&hsm, &input, &out, "no-such-token", &[]);
    fails(
        &o,
        "không thấy USB token \"no-such-token\" (đang cắm: kyso-err (serial ",
    );

    let o = token_sign(&hsm, &input, &out, "kyso-err", &[]);
    fails(&o, "nhiều khóa ký (personal (id 01), personal2 (id 02))");

    let o = token_sign(&hsm, &input, &out, "kyso-err", &["--key", "ghost"]);
    fails(&o, "không thấy khóa \"ghost\"");

    // A key filed under another person's certificate: the signature is checked against the
    // certificate before anything is written.
    let work = hsm.dir().join("mixed");
    std::fs::create_dir(&work).unwrap();
    openssl_p12(
        &pki().join("personal.p12"),
        &["-nocerts", "-nodes"],
        &work.join("bags.pem"),
    );
    run_ok(
        Command::new("openssl")
            .arg("pkey")
            .arg("-in")
            .arg(work.join("bags.pem"))
            .arg("-out")
            .arg(work.join("key.pem")),
    );
    run_ok(
        hsm.cmd("softhsm2-util")
            .arg("--import")
            .arg(work.join("key.pem"))
            .args([
                "--token", "kyso-err", "--label", "mixed", "--id", "03", "--pin", PIN,
            ]),
    );
    openssl_p12(
        &pki().join("personal2.p12"),
        &["-nokeys", "-clcerts"],
        &work.join("c.pem"),
    );
    pem_to_der(&work.join("c.pem"), &work.join("c.der"));
    hsm.write_cert("kyso-err", &work.join("c.der"), "03", "mixed");
    // (The token holds no CA certificate: the chain comes from --chain.)
    let cas = demo_cas(pki());
    let o = token_sign(
        &hsm,
        &input,
        &out,
        "kyso-err",
        &[
            "--key",
            "mixed",
            "--offline",
            "--chain",
            cas[0].to_str().unwrap(),
            "--chain",
            cas[1].to_str().unwrap(),
        ],
    );
    fails(
        &o,
        "chữ ký không khớp với khóa công khai của chứng thư số; không ghi tệp",
    );

    let o = hsm
        .kyso()
        .arg("sign")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args([
            "--pkcs11-module",
            "/nonexistent/vendor-pkcs11.so",
            "--token",
            "x",
        ])
        .args(["--pin-env", "KYSO_TEST_PIN"])
        .output()
        .unwrap();
    fails(
        &o,
        "không nạp được thư viện PKCS#11 /nonexistent/vendor-pkcs11.so",
    );

    // Two tokens with one label: kyso asks for the serial number instead of guessing.
    hsm.init_token("kyso-err");
    let o = token_sign(&hsm, &input, &out, "kyso-err", &["--key", "personal"]);
    fails(
        &o,
        "có nhiều USB token cùng nhãn \"kyso-err\"; chọn bằng số sê-ri",
    );

    // --p12 and --pkcs11-module together are a usage error.
    let o = hsm
        .kyso()
        .arg("sign")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args(["--pkcs11-module", MODULE])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("không dùng được cùng lúc"),
        "{}",
        stderr(&o)
    );
}

/// The token pulled out in the middle of a batch: kyso stops with a message saying to plug it
/// back in, every output present is a complete, valid signed PDF, and no temporary file is
/// left behind.
#[test]
fn a_token_pulled_out_during_a_batch_stops_it_cleanly() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-pull");
    hsm.import_p12(
        "kyso-pull",
        &pki().join("personal.p12"),
        "01",
        "personal",
        &demo_cas(pki()),
    );
    let inputs = hsm.dir().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let n = 400;
    for i in 0..n {
        std::fs::copy(corpus("one-page.pdf"), inputs.join(format!("d{i:04}.pdf"))).unwrap();
    }
    let out_dir = hsm.dir().join("out");
    let child = hsm
        .kyso()
        .arg("sign")
        .args((0..n).map(|i| inputs.join(format!("d{i:04}.pdf"))))
        .arg("--out-dir")
        .arg(&out_dir)
        .args(["--pkcs11-module", MODULE, "--token", "kyso-pull"])
        .args(["--pin-env", "KYSO_TEST_PIN", "--invisible", "--jobs", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Pull the token out once the first documents are signed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = std::fs::read_dir(&out_dir).map_or(0, |d| d.count());
        if done >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "no document signed in 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    run_ok(
        hsm.cmd("softhsm2-util")
            .args(["--delete-token", "--token", "kyso-pull"]),
    );
    let o = child.wait_with_output().unwrap();
    assert_no_pin(&o);
    let e = stderr(&o);
    assert!(
        !o.status.success(),
        "the batch cannot succeed without its token"
    );
    // Depending on when the token vanished between two calls, the module reports the token
    // or the key handle gone; either way the user reads that it was pulled out, to plug in
    // again, and that the batch stopped.
    assert!(e.contains("bị rút ra") && e.contains("hãy cắm lại"), "{e}");
    assert!(e.contains("đã dừng vì mất kết nối với USB token"), "{e}");
    let outputs: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
    // At least 5 entries were there before the token went (at most 2 of them temporary).
    assert!(outputs.len() >= 3, "{outputs:?}");
    assert!(outputs.len() < n, "some documents were left unsigned");
    eprintln!(
        "{} of {n} documents signed before the token was pulled out; stderr:\n{e}",
        outputs.len()
    );
    assert!(
        outputs
            .iter()
            .all(|p| p.extension().is_some_and(|x| x == "pdf")
                && p.file_name().unwrap().to_str().unwrap().starts_with('d')),
        "temporary files left: {outputs:?}"
    );
    // Every output that exists is whole: pyHanko validates all of them in one process.
    let refs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
    for report in crate::common::pyhanko(&refs) {
        assert_pyhanko_ok(&report, 1);
    }
}

/// Set bits in the token flags SoftHSM2 keeps in its token file (the `CKA_OS_TOKENFLAGS`
/// attribute 0x8000534B, a ULONG), as a real token's firmware does after wrong PINs: SoftHSM2
/// itself never locks a PIN nor counts tries. The directory must hold a single token.
fn set_softhsm_token_flags(hsm: &SoftHsm, bits: u64) {
    let mut dirs = std::fs::read_dir(hsm.dir().join("tokens")).unwrap();
    let token = dirs.next().unwrap().unwrap().path();
    assert!(dirs.next().is_none(), "one token only");
    let file = token.join("token.object");
    let mut data = std::fs::read(&file).unwrap();
    let tag: [u8; 16] = [0, 0, 0, 0, 0x80, 0, 0x53, 0x4b, 0, 0, 0, 0, 0, 0, 0, 2];
    let at = data
        .windows(16)
        .position(|w| w == tag)
        .expect("CKA_OS_TOKENFLAGS in SoftHSM's token file")
        + 16;
    let flags = u64::from_be_bytes(data[at..at + 8].try_into().unwrap()) | bits;
    data[at..at + 8].copy_from_slice(&flags.to_be_bytes());
    std::fs::write(&file, data).unwrap();
}

const CKF_USER_PIN_FINAL_TRY: u64 = 0x0002_0000;
const CKF_USER_PIN_LOCKED: u64 = 0x0004_0000;

/// When the token says one try is left, a wrong PIN says so; when it says the PIN is locked,
/// kyso refuses before sending any PIN and points to the PUK, and `kyso token list` shows it.
#[test]
fn a_token_on_its_last_try_or_locked_is_reported_as_such() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-lock");
    hsm.import_p12(
        "kyso-lock",
        &pki().join("personal.p12"),
        "01",
        "personal",
        &[],
    );
    let input = corpus("one-page.pdf");
    let out = hsm.dir().join("never.pdf");
    let sign_with_pin = |pin: &str| {
        let o = hsm
            .kyso()
            .env("KYSO_SOME_PIN", pin)
            .arg("sign")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args(["--pkcs11-module", MODULE, "--token", "kyso-lock"])
            .args(["--pin-env", "KYSO_SOME_PIN", "--invisible"])
            .output()
            .unwrap();
        assert!(!stderr(&o).contains(pin), "{}", stderr(&o));
        assert!(!o.status.success());
        assert!(!out.exists());
        stderr(&o)
    };

    set_softhsm_token_flags(&hsm, CKF_USER_PIN_FINAL_TRY);
    let e = sign_with_pin("1111-wrong");
    assert!(e.contains("sai mã PIN (còn 1 lần thử)"), "{e}");

    set_softhsm_token_flags(&hsm, CKF_USER_PIN_LOCKED);
    // Even the right PIN is not sent to a locked token.
    let e = sign_with_pin(PIN);
    assert!(
        e.contains("mã PIN đã bị khóa — dùng PUK hoặc công cụ mở khóa của nhà cung cấp thiết bị"),
        "{e}"
    );
    let list = run_ok(
        hsm.kyso()
            .args(["token", "list", "--pkcs11-module", MODULE]),
    );
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("MÃ PIN ĐÃ BỊ KHÓA"),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
}

/// `kyso token import` loads a .p12 onto a token — key sensitive and not extractable, its
/// certificate and the CA chain beside it — and the token then signs with it (P-384 here).
#[test]
fn token_import_loads_a_p12_whose_key_then_signs_on_the_token() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-import");
    let import = |p12: &str, extra: &[&str]| {
        let o = hsm
            .kyso()
            .args([
                "token",
                "import",
                "--pkcs11-module",
                MODULE,
                "--token",
                "kyso-import",
            ])
            .arg("--p12")
            .arg(pki().join(p12))
            .args([
                "--password-env",
                "KYSO_TEST_PW",
                "--pin-env",
                "KYSO_TEST_PIN",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_no_pin(&o);
        assert!(!String::from_utf8_lossy(&o.stdout).contains(PW));
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let first = import("ecdsa384.p12", &[]);
    assert!(first.contains("Đã nạp khóa \"ecdsa384\""), "{first}");
    assert!(first.contains("thêm 2 chứng thư số CA"), "{first}");
    // The CA certificates are on the token already: not written twice.
    let second = import("personal.p12", &["--label", "an", "--id", "0b"]);
    assert!(
        second.contains("(CKA_ID 0b)") && second.contains("thêm 0 chứng thư số CA"),
        "{second}"
    );

    let keys = run_ok(
        hsm.cmd("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--token-label",
                "kyso-import",
                "--login",
                "--pin",
                PIN,
            ])
            .args(["--list-objects", "--type", "privkey"]),
    );
    let keys = String::from_utf8_lossy(&keys.stdout);
    assert_eq!(keys.matches("Access:     sensitive").count(), 2, "{keys}");
    assert!(
        !keys.contains("extractable") || keys.contains("never extractable"),
        "{keys}"
    );
    assert!(
        !keys.contains("unwrap") && !keys.contains("decrypt"),
        "sign only: {keys}"
    );

    let signed = hsm.dir().join("p384.pdf");
    token_sign_ok(
        &hsm,
        &corpus("one-page.pdf"),
        &signed,
        "kyso-import",
        &["--key", "ecdsa384"],
    );
    assert_all_oracles_ok(&signed, 1);
    let signed = hsm.dir().join("an.pdf");
    token_sign_ok(
        &hsm,
        &corpus("one-page.pdf"),
        &signed,
        "kyso-import",
        &["--key", "an", "--pss"],
    );
    assert_all_oracles_ok(&signed, 1);
}

/// `kyso token import|list --json` (docs/token-json.md): the objects parse, agree with each
/// other, and hold neither the PIN nor the password.
#[test]
fn token_import_and_list_answer_in_json() {
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-json");
    let o = hsm
        .kyso()
        .args(["token", "import", "--pkcs11-module", MODULE])
        .args(["--token", "kyso-json", "--label", "ky", "--id", "0c"])
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args([
            "--password-env",
            "KYSO_TEST_PW",
            "--pin-env",
            "KYSO_TEST_PIN",
        ])
        .arg("--json")
        .output()
        .unwrap();
    assert_no_pin(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains(PW));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], "kyso.token/1");
    assert_eq!(v["command"], "import");
    assert_eq!(v["token"], "kyso-json");
    assert_eq!(v["label"], "ky");
    assert_eq!(v["id"], "0c");
    assert_eq!(v["ca_certificates"], 2, "{v}");
    let serial = v["certificate"]["serial"].as_str().unwrap().to_owned();

    let o = hsm
        .kyso()
        .args(["token", "list", "--pkcs11-module", MODULE, "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let l: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l["schema"], "kyso.token/1");
    assert_eq!(l["command"], "list");
    let token = l["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "kyso-json")
        .unwrap_or_else(|| panic!("{l}"));
    let cert = token["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "0c")
        .unwrap_or_else(|| panic!("{l}"));
    assert_eq!(cert["serial"], serial.as_str());
    assert_eq!(cert["label"], "ky");
    assert_eq!(cert["ca"], false);
    assert_eq!(cert["subject"], v["certificate"]["subject"]);
}
