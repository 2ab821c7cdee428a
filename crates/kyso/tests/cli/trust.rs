//! `kyso trust` and the trust store (issue 14, item 5): adding a root asks first and shows the
//! subject and the SHA-256 fingerprint, listing shows where each root lives, removing asks too;
//! `kyso verify` without `--trust` uses the store, says how to fill an empty one, and names a
//! garbled file. Every test has its own store (KYSO_TRUST_DIR in a temporary directory).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::*;

/// `kyso ARGS…` with this trust store, `stdin` piped in.
fn kyso_in(store: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = kyso()
        .env("KYSO_TRUST_DIR", store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pem_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn list_json(store: &Path) -> Value {
    let out = kyso_in(store, &["trust", "list", "--json"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The SHA-256 fingerprint openssl computes (upper-case hex, no colons).
fn openssl_fingerprint(pem: &Path) -> Option<String> {
    let out = kyso_testkit::run(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(pem),
    )
    .ok_or_fail("openssl x509 -fingerprint")?;
    let t = text(&out.stdout);
    let hex = t.trim().rsplit('=').next().unwrap().replace(':', "");
    Some(hex.to_uppercase())
}

#[test]
fn trust_add_asks_first_and_list_and_remove_show_subject_and_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");

    // Empty: the listing says how to add the national root.
    let out = kyso_in(&store, &["trust", "list"], "");
    assert!(out.status.success());
    let t = text(&out.stdout);
    assert!(t.contains("(trống)"), "{t}");
    assert!(t.contains("kyso trust add ROOT.pem"), "{t}");
    assert!(t.contains("Ban Cơ yếu"), "{t}");
    let v = list_json(&store);
    assert_eq!(v["schema"], "kyso.trust/1");
    assert_eq!(v["anchors"], serde_json::json!([]));
    assert_eq!(v["directories"][0]["kind"], "env");

    // "k" refuses: nothing is written, exit 1.
    let root = root();
    let args = ["trust", "add", root.to_str().unwrap()];
    let out = kyso_in(&store, &args, "k\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("Thêm \"CN="), "{t}");
    assert!(t.contains("vào danh sách tin cậy"), "{t}");
    assert!(t.contains("[c/K]"), "{t}");
    assert!(t.contains("SHA-256: "), "{t}");
    assert!(t.contains("Không thêm."), "{t}");
    assert!(pem_files(&store).is_empty(), "{:?}", pem_files(&store));
    // Nothing typed (end of input) refuses too.
    let out = kyso_in(&store, &args, "");
    assert_eq!(out.status.code(), Some(1));
    assert!(pem_files(&store).is_empty());

    // "c" accepts.
    let out = kyso_in(&store, &args, "c\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Đã thêm vào"));
    let files = pem_files(&store);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(".pem"));

    // The same root again: already there, no question asked.
    let out = kyso_in(&store, &args, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Đã có trong danh sách tin cậy"));

    // --yes: no question; the intermediate CA is shown as such.
    let inter = pki().join("intermediate.pem");
    let out = kyso_in(
        &store,
        &["trust", "add", "--yes", inter.to_str().unwrap()],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(!t.contains("[c/K]"), "{t}");
    assert!(t.contains("CA trung gian, cấp bởi"), "{t}");
    assert_eq!(pem_files(&store).len(), 2);

    // The listing, as text and JSON; the fingerprint is openssl's.
    let v = list_json(&store);
    let anchors = v["anchors"].as_array().unwrap();
    assert_eq!(anchors.len(), 2, "{v:#}");
    let root_entry = anchors
        .iter()
        .find(|a| a["self_signed"] == true)
        .expect("the root");
    let fp = root_entry["sha256"].as_str().unwrap().to_owned();
    assert_eq!(fp.len(), 64);
    if let Some(expected) = openssl_fingerprint(&root) {
        assert_eq!(fp, expected);
    }
    assert!(root_entry["subject"].as_str().unwrap().starts_with("CN="));
    assert_eq!(root_entry["kind"], "env");
    assert_eq!(root_entry["directory"], store.display().to_string());
    assert!(root_entry["not_after"].is_string());
    let out = kyso_in(&store, &["trust", "list"], "");
    let t = text(&out.stdout);
    let colon: String = fp
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    assert!(t.contains(&colon), "{colon} missing:\n{t}");
    assert!(t.contains("Hiệu lực:"), "{t}");
    assert!(t.contains(&format!("Thư mục {}", store.display())), "{t}");

    // English on request.
    let out = kyso_in(&store, &["--lang", "en", "trust", "list"], "");
    assert!(text(&out.stdout).contains("Valid:"));

    // Remove: too short a prefix is refused; "k" keeps it; --yes removes.
    let out = kyso_in(&store, &["trust", "remove", "AB"], "");
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("ít nhất 8 chữ số hex"));
    let prefix = colon.get(..11).unwrap().to_lowercase(); // "ab:cd:ef:01", as people copy it
    let out = kyso_in(&store, &["trust", "remove", &prefix], "k\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("Xóa \"CN="),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(pem_files(&store).len(), 2);
    let out = kyso_in(&store, &["trust", "remove", &prefix], "c\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Đã xóa khỏi"));
    let v = list_json(&store);
    assert_eq!(v["anchors"].as_array().unwrap().len(), 1);
    assert_eq!(v["anchors"][0]["self_signed"], false);
    let out = kyso_in(&store, &["trust", "remove", "--yes", &prefix], "");
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("không có chứng thư tin cậy nào"));
}

#[test]
fn trust_add_refuses_a_certificate_that_is_not_a_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let leaf = pki().join("personal.pem");
    let out = kyso_in(
        &store,
        &["trust", "add", "--yes", leaf.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(3));
    let e = text(&out.stderr);
    assert!(
        e.contains("không phải chứng thư của tổ chức cung cấp dịch vụ chứng thực (CA)"),
        "{e}"
    );
    assert!(pem_files(&store).is_empty());
}

#[test]
fn trust_store_serves_verify_without_trust_option() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let doc = tmp.path().join("s.pdf");
    sign(&corpus("one-page.pdf"), &doc, "personal", &["--invisible"]);
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", doc.to_str().unwrap(), "--json", "--offline"];
        args.extend_from_slice(extra);
        let out = kyso_in(&store, &args, "");
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stderr)));
        (out.status.code(), v, text(&out.stderr))
    };

    // An empty store: indeterminate (no anchor), and a message saying how to add roots.
    let (code, v, err) = verify(&[]);
    assert_eq!(code, Some(2), "{v:#}");
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .contains(&Value::from("NO_TRUST_ANCHOR")));
    assert!(err.contains("chưa có chứng thư gốc tin cậy nào"), "{err}");
    assert!(err.contains("kyso trust add ROOT.pem"), "{err}");

    // With the demo root in the store the result is the one --trust gives.
    let out = kyso_in(
        &store,
        &["trust", "add", "--yes", root().to_str().unwrap()],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, v, err) = verify(&[]);
    let (code_t, v_t, _) = verify(&["--trust", root().to_str().unwrap()]);
    assert!(err.is_empty(), "{err}");
    assert_eq!(code, code_t);
    assert_eq!(
        v["signatures"][0]["certificate_path"]["status"], "valid",
        "{v:#}"
    );
    assert_eq!(
        v["signatures"][0]["reasons"],
        v_t["signatures"][0]["reasons"]
    );
    assert_eq!(v["verdict"], v_t["verdict"]);

    // A garbled file in the store: an error naming it (exit 3), never a guess.
    std::fs::write(store.join("hong.crt"), b"\x30\x82\x05\x00garbage").unwrap();
    let out = kyso_in(&store, &["verify", doc.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(3));
    let e = text(&out.stderr);
    assert!(e.contains("hong.crt"), "{e}");
    assert!(e.contains("không phải chứng thư số (PEM hoặc DER)"), "{e}");
    let out = kyso_in(&store, &["--lang", "en", "trust", "list"], "");
    assert_eq!(out.status.code(), Some(3));
    let en = text(&out.stderr);
    assert!(en.contains("is not a certificate (PEM or DER)"));
    // The parser's own (English) words only in English.
    let detail = en
        .split_once("(PEM or DER): ")
        .and_then(|(_, d)| d.split_once("; remove"))
        .map(|(d, _)| d.to_owned())
        .unwrap_or_default();
    assert!(!detail.is_empty(), "{en}");
    assert!(!e.contains(&detail), "{e}");
    // --trust still works: the store is not read then.
    let (code_t2, _, _) = verify(&["--trust", root().to_str().unwrap()]);
    assert_eq!(code_t2, code_t);

    // A non-CA certificate dropped into the store by hand is refused as an anchor.
    std::fs::remove_file(store.join("hong.crt")).unwrap();
    std::fs::copy(pki().join("personal.pem"), store.join("personal.pem")).unwrap();
    let out = kyso_in(&store, &["verify", doc.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("không dùng làm gốc tin cậy được"));
}

/// With the demo PKI's services running, a document verifies fully valid (exit 0) against the
/// root in the trust store alone.
#[test]
fn trust_store_alone_makes_a_signature_valid() {
    use crate::pki_serve::{free_port, fresh_pki, Server};
    let port = free_port();
    let (tmp, dir) = fresh_pki(port);
    let store = tmp.path().join("store");
    let out = kyso_in(
        &store,
        &[
            "trust",
            "add",
            "--yes",
            dir.join("root.pem").to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = tmp.path().join("s.pdf");
    run_ok(
        sign_command(&corpus("one-page.pdf"), &doc, &dir.join("personal.p12")).arg("--invisible"),
    );
    let server = Server::start(&dir, port);
    let out = kyso_in(&store, &["verify", doc.to_str().unwrap()], "");
    let t = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{t}\n{}", text(&out.stderr));
    assert!(t.contains("Kết luận: HỢP LỆ"), "{t}");
    assert!(t.contains("(gốc tin cậy)"), "{t}");
    drop(server);
}
