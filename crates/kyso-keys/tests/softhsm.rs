#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The PKCS#11 signer against a real PKCS#11 module, SoftHSM2: keys made by openssl, imported
//! into a fresh token, used to sign digests that are then verified with the certificate's
//! public key by kyso-cms (aws-lc-rs), independently of the token.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use kyso_cms::{SignRequest, SignatureAlgorithm, Signer};
use kyso_keys::{Error, Pkcs11Module, Pkcs11Signer, Secret};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "lib-pin-4417";
const SO_PIN: &str = "so-pin-99812";

/// One SoftHSM2 directory per test process, with every token the tests use created before the
/// module is loaded (SoftHSM reads its configuration once, at `C_Initialize`).
struct Hsm {
    dir: PathBuf,
    module: Arc<Pkcs11Module>,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} — run: bash scripts/setup-test-env.sh")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// SoftHSM's tools on the test's token directory.
struct Tools(PathBuf);

impl Tools {
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", self.0.join("softhsm2.conf"));
        c
    }

    fn init_token(&self, label: &str) {
        run(self.cmd("softhsm2-util").args([
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

    /// A key made by openssl (`newkey`: "rsa:2048", "ec:P-256", …) with a self-signed
    /// certificate, both written to `token` under `label` and `id`.
    fn import_key(&self, token: &str, label: &str, id: &str, newkey: &str) {
        let key = self.0.join(format!("{label}.key.pem"));
        let crt = self.0.join(format!("{label}.crt.der"));
        let mut req = Command::new("openssl");
        req.args(["req", "-x509", "-nodes", "-days", "30", "-subj"])
            .arg(format!("/CN=kyso library test {label}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-outform")
            .arg("DER")
            .arg("-out")
            .arg(&crt);
        match newkey.split_once(':') {
            Some(("ec", curve)) => req
                .args(["-newkey", "ec", "-pkeyopt"])
                .arg(format!("ec_paramgen_curve:{curve}")),
            _ => req.args(["-newkey", newkey]),
        };
        run(&mut req);
        run(self
            .cmd("softhsm2-util")
            .args(["--import"])
            .arg(&key)
            .args(["--token", token, "--label", label, "--id", id, "--pin", PIN]));
        run(self
            .cmd("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--token-label",
                token,
                "--login",
                "--pin",
                PIN,
            ])
            .args(["--write-object"])
            .arg(&crt)
            .args(["--type", "cert", "--id", id, "--label", label]));
    }
}

fn hsm() -> &'static Hsm {
    static HSM: OnceLock<Hsm> = OnceLock::new();
    HSM.get_or_init(|| {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is not installed ({MODULE} missing): run bash scripts/setup-test-env.sh"
        );
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = tempfile::Builder::new()
            .prefix("softhsm-lib-")
            .tempdir_in(base)
            .unwrap()
            .keep();
        std::fs::create_dir(dir.join("tokens")).unwrap();
        std::fs::write(
            dir.join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let h = Tools(dir.clone());
        h.init_token("lib");
        h.import_key("lib", "rsa", "01", "rsa:2048");
        h.import_key("lib", "ec256", "02", "ec:P-256");
        h.import_key("lib", "ec384", "03", "ec:P-384");
        h.init_token("lib-pin");
        h.import_key("lib-pin", "pin-rsa", "01", "rsa:2048");
        h.init_token("lib-removable");
        h.import_key("lib-removable", "removable", "01", "ec:P-256");
        // Set before this process loads the module (SoftHSM reads it once, at C_Initialize).
        std::env::set_var("SOFTHSM2_CONF", dir.join("softhsm2.conf"));
        Hsm {
            dir,
            module: Pkcs11Module::load(Path::new(MODULE)).unwrap(),
        }
    })
}

fn open(token: &str, key: Option<&str>) -> Pkcs11Signer {
    hsm()
        .module
        .open_signer(token, key, &Secret::from(PIN))
        .unwrap_or_else(|e| panic!("open {token}/{key:?}: {e}"))
}

/// Sign a message's digest on the token and check the signature with the certificate only.
fn sign_and_verify(signer: &Pkcs11Signer, message: &[u8]) -> Vec<u8> {
    let alg = signer.algorithm();
    let digest = alg.digest().digest(message);
    let sig = signer
        .sign(&SignRequest {
            message,
            digest: &digest,
            algorithm: alg,
        })
        .unwrap();
    alg.verify(signer.certificate(), message, &sig)
        .unwrap_or_else(|e| panic!("{alg:?} signature from the token does not verify: {e}"));
    sig
}

#[test]
fn rsa_pkcs1_signature_from_the_token_verifies_with_its_certificate() {
    let s = open("lib", Some("rsa"));
    assert!(matches!(s.algorithm(), SignatureAlgorithm::RsaPkcs1(_)));
    let sig = sign_and_verify(&s, b"signed attributes");
    assert_eq!(sig.len(), 256);
    // PKCS#1 v1.5 is deterministic: the same digest gives the same signature.
    assert_eq!(sign_and_verify(&s, b"signed attributes"), sig);
}

#[test]
fn rsa_pss_signature_from_the_token_verifies_with_its_certificate() {
    let mut s = open("lib", Some("01"));
    s.use_pss().unwrap();
    assert!(matches!(s.algorithm(), SignatureAlgorithm::RsaPss(_)));
    let a = sign_and_verify(&s, b"signed attributes");
    // PSS is randomized (salt as long as the hash).
    assert_ne!(sign_and_verify(&s, b"signed attributes"), a);
}

#[test]
fn ecdsa_p256_and_p384_signatures_come_out_as_der_and_verify() {
    let p256 = open("lib", Some("ec256"));
    assert_eq!(
        p256.algorithm(),
        SignatureAlgorithm::Ecdsa(kyso_cms::DigestAlgorithm::Sha256)
    );
    let sig = sign_and_verify(&p256, b"attributes");
    assert_eq!(sig[0], 0x30, "DER SEQUENCE, not raw r||s");
    let p384 = open("lib", Some("03"));
    assert_eq!(
        p384.algorithm(),
        SignatureAlgorithm::Ecdsa(kyso_cms::DigestAlgorithm::Sha384)
    );
    sign_and_verify(&p384, b"attributes");
    let mut p384 = p384;
    assert!(matches!(p384.use_pss(), Err(Error::Unsupported(_))));
}

#[test]
fn many_threads_sign_at_once_through_one_signer() {
    for sessions in [1, 4] {
        let mut s = open("lib", Some("ec256"));
        s.set_max_sessions(sessions);
        std::thread::scope(|scope| {
            for t in 0..8 {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..10 {
                        sign_and_verify(s, format!("thread {t} message {i}").as_bytes());
                    }
                });
            }
        });
    }
}

#[test]
fn without_a_key_name_several_keys_are_ambiguous_and_a_wrong_name_is_not_found() {
    let pin = Secret::from(PIN);
    match hsm().module.open_signer("lib", None, &pin) {
        Err(Error::AmbiguousKey { labels }) => {
            assert_eq!(labels.len(), 3, "{labels:?}");
            assert!(labels.iter().any(|l| l.starts_with("ec256")), "{labels:?}");
        }
        other => panic!("expected AmbiguousKey, got {other:?}"),
    }
    match hsm().module.open_signer("lib", Some("nope"), &pin) {
        Err(Error::KeyNotFound { wanted, available }) => {
            assert_eq!(wanted.as_deref(), Some("nope"));
            assert_eq!(available.len(), 3);
        }
        other => panic!("expected KeyNotFound, got {other:?}"),
    }
    // The only key of a token needs no name.
    let s = open("lib-pin", None);
    assert!(s.key_label().starts_with("pin-rsa"));
}

#[test]
fn an_unknown_token_is_reported_with_the_tokens_present() {
    match hsm()
        .module
        .open_signer("no-such-token", None, &Secret::from(PIN))
    {
        Err(Error::TokenNotFound { wanted, available }) => {
            assert_eq!(wanted, "no-such-token");
            assert!(
                available.iter().any(|a| a.starts_with("lib (serial ")),
                "{available:?}"
            );
        }
        other => panic!("expected TokenNotFound, got {other:?}"),
    }
}

#[test]
fn a_wrong_pin_is_refused_and_the_token_then_says_tries_are_low() {
    let wrong = Secret::from("0000-wrong");
    match hsm().module.open_signer("lib-pin", None, &wrong) {
        Err(e @ Error::WrongPin { .. }) => {
            // SoftHSM sets CKF_USER_PIN_COUNT_LOW after a failure (it never locks).
            assert!(
                matches!(
                    e,
                    Error::WrongPin {
                        count_low: true,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(!e.to_string().contains("0000-wrong"));
        }
        other => panic!("expected WrongPin, got {other:?}"),
    }
    let tokens = hsm().module.tokens().unwrap();
    let t = tokens.iter().find(|t| t.label == "lib-pin").unwrap();
    assert!(t.flags.pin_count_low);
    // The right PIN still works, and clears the flag.
    let _s = open("lib-pin", None);
    let tokens = hsm().module.tokens().unwrap();
    let t = tokens.iter().find(|t| t.label == "lib-pin").unwrap();
    assert!(!t.flags.pin_count_low);
}

#[test]
fn listing_shows_each_token_with_its_certificates_without_a_pin() {
    let tokens = hsm().module.tokens().unwrap();
    let lib = tokens.iter().find(|t| t.label == "lib").unwrap();
    assert_eq!(lib.manufacturer, "SoftHSM project");
    assert!(!lib.serial.is_empty());
    assert!(lib.flags.login_required && lib.flags.user_pin_initialized);
    let mut subjects: Vec<_> = lib
        .certificates
        .iter()
        .map(|c| (c.id_hex(), c.label.clone(), c.cert.subject_display()))
        .collect();
    subjects.sort();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert_eq!(subjects[0].0, "01");
    assert_eq!(subjects[0].1, "rsa");
    assert!(
        subjects[0].2.contains("kyso library test rsa"),
        "{subjects:?}"
    );
}

#[test]
fn a_token_removed_after_login_fails_the_signature_as_removed() {
    let s = open("lib-removable", None);
    sign_and_verify(&s, b"before");
    run(Tools(hsm().dir.clone()).cmd("softhsm2-util").args([
        "--delete-token",
        "--token",
        "lib-removable",
    ]));
    let alg = s.algorithm();
    let digest = alg.digest().digest(b"after");
    let err = s
        .sign(&SignRequest {
            message: b"after",
            digest: &digest,
            algorithm: alg,
        })
        .unwrap_err();
    match &err {
        kyso_cms::Error::Signer(f) => assert!(
            matches!(f.downcast_ref::<Error>(), Some(Error::TokenRemoved { .. })),
            "{err:?}"
        ),
        other => panic!("expected the token's error, got {other:?}"),
    }
}
