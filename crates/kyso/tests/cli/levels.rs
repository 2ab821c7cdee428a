//! PAdES B-T, B-LT and B-LTA made by `kyso sign --level` and `kyso extend` against services
//! nobody here wrote — certomancer's TSA, OCSP responder and CRLs (`tests/peers/`) — and
//! checked by pyHanko's AdES validation and by `kyso verify`, offline once the services are
//! gone. One story, one certomancer instance on a free port.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{corpus, kyso, pyhanko_sign, run_ok, verify_json, workspace};

struct Certomancer {
    dir: PathBuf,
    port: u16,
}

impl Certomancer {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pki = dir.join("pki");
        run_ok(
            Command::new("bash")
                .arg(workspace().join("scripts/peers/certomancer.sh"))
                .arg("start")
                .arg(&pki)
                .arg(port.to_string())
                .env("CERTOMANCER_IDLE_EXIT", "300"),
        );
        Certomancer { dir: pki, port }
    }
    fn stop(&self) {
        let _ = Command::new("bash")
            .arg(workspace().join("scripts/peers/certomancer.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
    fn tsa(&self) -> String {
        format!("http://127.0.0.1:{}/kyso-demo/tsa/tsa", self.port)
    }
    fn p12(&self, who: &str) -> PathBuf {
        self.dir.join(format!("certs/{who}.pfx"))
    }
    fn root(&self) -> PathBuf {
        self.dir.join("root.pem")
    }
    fn password(&self) -> String {
        std::fs::read_to_string(self.dir.join("p12-password.txt"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

impl Drop for Certomancer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sign_at(peers: &Certomancer, who: &str, level: &str, out: &Path) -> std::process::Output {
    kyso()
        .arg("sign")
        .arg(corpus("one-page.pdf"))
        .arg("-o")
        .arg(out)
        .arg("--p12")
        .arg(peers.p12(who))
        .args([
            "--password-env",
            "PEERS_PW",
            "--invisible",
            "--level",
            level,
        ])
        .args(["--tsa", &peers.tsa()])
        .env("PEERS_PW", peers.password())
        .output()
        .unwrap()
}

fn verify(file: &Path, root: &Path, extra: &[&str]) -> (i32, Value) {
    let (code, v) = verify_json(file, root, extra);
    (code.unwrap(), v)
}

/// pyHanko's AdES (past/LTA) validation, offline: "The signature is judged VALID."
fn pyhanko_adesverify(file: &Path, root: &Path) -> bool {
    let o = Command::new("pyhanko")
        .args(["sign", "adesverify", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--pretty-print"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).contains("judged VALID")
}

#[test]
fn b_t_b_lt_b_lta_against_certomancer_and_checked_by_pyhanko_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let peers = Certomancer::start(d);
    let root = peers.root();

    // B-T: the signing time is proven by certomancer's TSA; online, revocation is fetched.
    let bt = d.join("b-t.pdf");
    let o = sign_at(&peers, "personal", "B-T", &bt);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, v) = verify(&bt, &root, &[]);
    let s = &v["signatures"][0];
    assert_eq!((code, s["verdict"].as_str()), (0, Some("valid")), "{v:#}");
    assert_eq!(s["signing_time"]["source"], "timestamp");
    assert_eq!(s["timestamp"]["status"], "valid");
    assert_eq!(s["revocation"]["status"], "good");
    assert_eq!(s["etsi"]["indication"], "TOTAL_PASSED", "{s:#}");
    assert_eq!(s["etsi"]["sub_indication"], Value::Null, "{s:#}");
    let origin = s["revocation"]["certificates"][0]["origin"]
        .as_str()
        .unwrap();
    assert!(origin.starts_with("http://127.0.0.1:"), "{origin}");
    // pyHanko agrees (revocation checked online against certomancer).
    run_ok(
        Command::new("pyhanko")
            .args(["sign", "validate", "--force-revinfo", "--trust"])
            .arg(&root)
            .arg("--trust-replace")
            .arg(&bt),
    );
    // Offline, a B-T document carries no revocation information.
    let (code, v) = verify(&bt, &root, &["--offline"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["reasons"], serde_json::json!(["REVOCATION_UNKNOWN"]));
    assert_eq!(v["signatures"][0]["etsi"]["indication"], "INDETERMINATE");
    assert_eq!(v["signatures"][0]["etsi"]["sub_indication"], "TRY_LATER");

    // B-LT and B-LTA, and pyHanko's B-T raised by kyso extend.
    let blt = d.join("b-lt.pdf");
    let blta = d.join("b-lta.pdf");
    for (level, out) in [("B-LT", &blt), ("B-LTA", &blta)] {
        let o = sign_at(&peers, "personal", level, out);
        assert!(
            o.status.success(),
            "{level}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let ph_bt = d.join("pyhanko-b-t.pdf");
    pyhanko_sign(
        &corpus("one-page.pdf"),
        &ph_bt,
        &peers.p12("ecdsa"),
        &peers.password(),
        "Sig1",
        &["--use-pades", "--timestamp-url", &peers.tsa()],
    );
    // Acrobat-style: revocation information inside the signed attributes
    // (adbe-revocationInfoArchival), which pyHanko writes for adbe.pkcs7.detached.
    let ph_adobe = d.join("pyhanko-adobe-revinfo.pdf");
    let root_arg = root.to_str().unwrap().to_owned();
    pyhanko_sign(
        &corpus("one-page.pdf"),
        &ph_adobe,
        &peers.p12("personal"),
        &peers.password(),
        "Sig1",
        &[
            "--with-validation-info",
            "--trust",
            &root_arg,
            "--trust-replace",
        ],
    );
    let ph_lta = d.join("pyhanko-extended.pdf");
    run_ok(
        kyso()
            .arg("extend")
            .arg(&ph_bt)
            .arg("-o")
            .arg(&ph_lta)
            .args(["--level", "B-LTA", "--tsa", &peers.tsa()]),
    );
    // The extension only appended: pyHanko's signed bytes are a prefix of the result.
    let before = std::fs::read(&ph_bt).unwrap();
    assert!(std::fs::read(&ph_lta).unwrap().starts_with(&before));

    // A signer revoked (key compromise, 2025) before the proven signing time: invalid.
    let revoked = d.join("revoked.pdf");
    assert!(sign_at(&peers, "revoked", "B-T", &revoked).status.success());
    let (code, v) = verify(&revoked, &root, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .contains(&"CERT_REVOKED".into()));
    let c = &v["signatures"][0]["revocation"]["certificates"][0];
    assert_eq!(c["reason"], "keyCompromise");
    // ETSI: revoked, and the timestamp proves the signature came after the revocation.
    let e = &v["signatures"][0]["etsi"];
    assert_eq!(e["indication"], "TOTAL_FAILED", "{v:#}");
    assert_eq!(e["sub_indication"], "REVOKED", "{v:#}");

    // The services go away: long-term documents still validate, for kyso and for pyHanko.
    peers.stop();
    for file in [&blt, &blta, &ph_lta] {
        for extra in [&["--offline"][..], &[][..]] {
            let (code, v) = verify(file, &root, extra);
            assert_eq!(code, 0, "{} {extra:?}: {v:#}", file.display());
            for s in v["signatures"].as_array().unwrap() {
                assert_eq!(s["verdict"], "valid", "{s:#}");
            }
        }
        assert!(
            pyhanko_adesverify(file, &root),
            "pyHanko AdES validation of {}",
            file.display()
        );
    }
    let (code, v) = verify(&ph_adobe, &root, &["--offline"]);
    let s = &v["signatures"][0];
    assert_eq!(s["sub_filter"], "adbe.pkcs7.detached");
    assert_eq!(s["revocation"]["status"], "good", "{v:#}");
    assert_eq!(s["revocation"]["certificates"][0]["origin"], "embedded");
    // Its signing time is only claimed, but the certificate is valid now: valid.
    assert_eq!(code, 0, "{v:#}");
    let (_, v) = verify(&blta, &root, &["--offline"]);
    let kinds: Vec<&str> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signature", "document_timestamp"]);
    // ETSI: a signature passes, a document timestamp (validated as a timestamp) passes.
    assert_eq!(v["signatures"][0]["etsi"]["indication"], "TOTAL_PASSED");
    assert_eq!(v["signatures"][1]["etsi"]["indication"], "PASSED");
    assert!(
        v["signatures"][0]["archived_at"].as_str().is_some(),
        "the signature is covered by the archive timestamp"
    );
    // And B-T, now without its services: indeterminate, saying why.
    let (code, v) = verify(&bt, &root, &["--fetch-timeout", "2"]);
    assert_eq!(code, 2, "{v:#}");
    let notes = v["signatures"][0]["revocation"]["certificates"][0]["notes"].to_string();
    assert!(notes.contains("connect"), "{notes}");

    // Nothing can be raised to B-LT without its services; nothing is written.
    let failed = d.join("not-written.pdf");
    let o = kyso()
        .arg("extend")
        .arg(&bt)
        .arg("-o")
        .arg(&failed)
        .args(["--level", "B-LT", "--fetch-timeout", "2"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(!failed.exists());
}
