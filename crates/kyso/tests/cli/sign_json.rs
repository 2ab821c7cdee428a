//! `kyso sign --json` and `kyso extend --json` (docs/sign-json.md, docs/extend-json.md): one
//! object per file on stdout, with the level, the signer, the outcome and, on failure, the
//! exit code and message; exit codes 3 (input) and 4 (network) as docs/exit-codes.md says.

use std::process::Output;

use serde_json::Value;

use crate::common::{corpus, kyso, pki, verify_json};
use crate::pki_serve::{free_port, fresh_pki, Server};

/// The JSON lines of stdout.
fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn sign_and_extend_report_each_file_as_json_at_every_level() {
    let port = free_port();
    let (_tmp, dir) = fresh_pki(port);
    let _server = Server::start(&dir, port);
    let tsa = format!("http://127.0.0.1:{port}/tsa");
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("a.pdf"), work.path().join("b.pdf"));
    std::fs::copy(corpus("one-page.pdf"), &a).unwrap();
    std::fs::copy(corpus("one-page.pdf"), &b).unwrap();
    let out_dir = work.path().join("signed");
    let o = kyso()
        .arg("sign")
        .args([&a, &b])
        .arg("--p12")
        .arg(dir.join("personal.p12"))
        .args(["--password-env", "KYSO_TEST_PW", "--invisible", "--json"])
        .args(["--level", "B-LT", "--tsa", &tsa])
        .arg("--out-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = lines(&o);
    assert_eq!(v.len(), 2, "{v:#?}");
    for (line, input) in v.iter().zip([&a, &b]) {
        assert_eq!(line["schema"], "kyso.sign/1");
        assert_eq!(line["input"], input.display().to_string());
        let output = out_dir.join(input.file_name().unwrap());
        assert_eq!(line["output"], output.display().to_string());
        assert_eq!(line["level"], "B-LT");
        assert_eq!(line["signer"], "Nguyễn Văn An");
        assert_eq!(line["outcome"], "signed");
        assert!(line["error"].is_null());
        assert!(
            time::OffsetDateTime::parse(
                line["time"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok(),
            "{line}"
        );
        let (code, report) = verify_json(&output, &dir.join("root.pem"), &["--offline"]);
        assert_eq!(code, Some(0), "B-LT validates offline: {report:#}");
    }

    // extend to B-LTA, in place.
    let signed_a = out_dir.join("a.pdf");
    let before = std::fs::read(&signed_a).unwrap();
    let o = kyso()
        .arg("extend")
        .arg(&signed_a)
        .args(["--in-place", "--level", "B-LTA", "--tsa", &tsa, "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = lines(&o);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["schema"], "kyso.extend/1");
    assert_eq!(v[0]["input"], signed_a.display().to_string());
    assert_eq!(v[0]["output"], signed_a.display().to_string());
    assert_eq!(v[0]["level"], "B-LTA");
    assert_eq!(v[0]["outcome"], "extended");
    assert!(v[0]["error"].is_null());
    assert!(std::fs::read(&signed_a).unwrap().starts_with(&before));
    let (code, report) = verify_json(&signed_a, &dir.join("root.pem"), &["--offline"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert!(
        report["signatures"].as_array().unwrap().len() == 2,
        "{report:#}"
    );
}

#[test]
fn failures_are_reported_per_file_with_their_exit_codes() {
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.pdf");
    std::fs::copy(corpus("one-page.pdf"), &good).unwrap();
    let bad = work.path().join("bad.pdf");
    std::fs::write(&bad, b"not a PDF at all").unwrap();
    let out_dir = work.path().join("out");
    let p12 = pki().join("personal.p12");

    // A batch: each file has its line, in the order given; the run fails (exit 1).
    let o = kyso()
        .arg("sign")
        .args([&bad, &good])
        .arg("--p12")
        .arg(&p12)
        .args(["--password-env", "KYSO_TEST_PW", "--invisible", "--json"])
        .arg("--out-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = lines(&o);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert_eq!(v[0]["input"], bad.display().to_string());
    assert_eq!(v[0]["outcome"], "failed");
    assert_eq!(v[0]["error"]["code"], 3, "a damaged input: {}", v[0]);
    assert!(v[0]["error"]["message"].as_str().unwrap().len() > 5);
    assert_eq!(v[1]["outcome"], "signed");
    assert_eq!(v[1]["level"], "B-B");
    assert!(out_dir.join("good.pdf").exists() && !out_dir.join("bad.pdf").exists());

    // One file, a TSA nobody answers: exit 4, in English with --lang en.
    let nowhere = format!("http://127.0.0.1:{}/tsa", crate::pki_serve::free_port());
    let out = work.path().join("bt.pdf");
    let o = kyso()
        .args(["--lang", "en", "sign"])
        .arg(&good)
        .arg("-o")
        .arg(&out)
        .arg("--p12")
        .arg(&p12)
        .args(["--password-env", "KYSO_TEST_PW", "--invisible", "--json"])
        .args(["--level", "B-T", "--tsa", &nowhere, "--fetch-timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = lines(&o);
    assert_eq!(v[0]["outcome"], "failed");
    assert_eq!(v[0]["level"], "B-T");
    assert_eq!(v[0]["error"]["code"], 4);
    assert!(
        v[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timestamp"),
        "{}",
        v[0]
    );
    assert!(!out.exists());

    // extend: the OCSP responders and CRLs of the demo PKI are not running (exit 4); a
    // missing input is the user's (exit 3).
    let signed = work.path().join("signed.pdf");
    crate::common::sign(&good, &signed, "personal", &["--invisible"]);
    for (input, code) in [(signed.clone(), 4), (work.path().join("khong-co.pdf"), 3)] {
        let o = kyso()
            .arg("extend")
            .arg(&input)
            .arg("-o")
            .arg(work.path().join("lt.pdf"))
            .args(["--level", "B-LT", "--fetch-timeout", "2", "--json"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v = lines(&o);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["outcome"], "failed");
        assert_eq!(v[0]["error"]["code"], code);
        assert_eq!(v[0]["input"], input.display().to_string());
    }
    assert!(!work.path().join("lt.pdf").exists());
}
