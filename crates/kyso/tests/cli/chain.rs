//! Complete chains (issue 14, item 4): `kyso sign` embeds the chain up to the root even when
//! the key container holds only the end-entity certificate — from `--chain` files, the trust
//! store, or the certificates' AIA caIssuers URLs (`kyso pki serve` serves them) — and refuses,
//! naming the missing issuer, when none of them completes it. The key is on a SoftHSM token
//! that holds only the signer's certificate.

use std::path::Path;
use std::process::Output;

use crate::common::{cms_blobs, corpus, verify_json};
use crate::pki_serve::{free_port, fresh_pki, Server};
use crate::token::{SoftHsm, MODULE};

fn sign(hsm: &SoftHsm, out: &Path, extra: &[&str], store: &Path) -> Output {
    hsm.kyso()
        .env("KYSO_TRUST_DIR", store)
        .arg("sign")
        .arg(corpus("one-page.pdf"))
        .arg("-o")
        .arg(out)
        .args(["--pkcs11-module", MODULE, "--token", "kyso-ee-only"])
        .args([
            "--pin-env",
            "KYSO_TEST_PIN",
            "--invisible",
            "--fetch-timeout",
            "3",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The subjects of the certificates the signature carries.
fn embedded(file: &Path) -> Vec<String> {
    let blobs = cms_blobs(file);
    assert_eq!(blobs.len(), 1);
    let parsed = kyso_cms::verify::parse_signed_data(&blobs[0].1).unwrap();
    parsed
        .certificates
        .iter()
        .map(|c| c.common_name().unwrap_or_default())
        .collect()
}

fn cn(pem: &Path) -> String {
    let c = kyso_x509::Cert::from_pem_or_der(&std::fs::read(pem).unwrap()).unwrap();
    c[0].common_name().unwrap()
}

#[test]
fn chain_of_a_token_holding_only_the_signer_certificate_is_completed_or_refused() {
    let port = free_port();
    let (_tmp, dir) = fresh_pki(port);
    let hsm = SoftHsm::new();
    hsm.init_token("kyso-ee-only");
    hsm.import_p12(
        "kyso-ee-only",
        &dir.join("personal.p12"),
        "01",
        "personal",
        &[],
    );
    let (signer, inter, root) = (
        cn(&dir.join("personal.pem")),
        dir.join("intermediate.pem"),
        dir.join("root.pem"),
    );
    let (inter_cn, root_cn) = (cn(&inter), cn(&root));
    let no_store = hsm.dir().join("no-store");
    let out = hsm.dir().join("signed.pdf");

    // Offline, nothing to complete it with: refused, the intermediate CA named.
    let o = sign(&hsm, &out, &["--offline"], &no_store);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("chuỗi chứng thư số chưa đến được chứng thư gốc"),
        "{e}"
    );
    assert!(
        e.contains(&format!("thiếu chứng thư của CA \"CN={inter_cn}")),
        "{e}"
    );
    assert!(e.contains("--chain"), "{e}");
    assert!(
        e.contains(&format!("http://127.0.0.1:{port}/certs/intermediate.cer")),
        "{e}"
    );
    assert!(!out.exists());

    // Online, but the AIA service is down: refused, the failed download said.
    let o = sign(&hsm, &out, &[], &no_store);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tải từ địa chỉ AIA không được"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());

    // The intermediate alone from --chain: the root is still missing, and named.
    let o = sign(
        &hsm,
        &out,
        &["--offline", "--chain", inter.to_str().unwrap()],
        &no_store,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("thiếu chứng thư của CA \"CN={root_cn}")),
        "{}",
        stderr(&o)
    );

    // --chain with both: signed offline, the whole chain embedded.
    let o = sign(
        &hsm,
        &out,
        &[
            "--offline",
            "--chain",
            inter.to_str().unwrap(),
            "--chain",
            root.to_str().unwrap(),
        ],
        &no_store,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut certs = embedded(&out);
    certs.sort();
    let mut want = vec![signer.clone(), inter_cn.clone(), root_cn.clone()];
    want.sort();
    assert_eq!(certs, want);
    let (_, v) = verify_json(&out, &root, &["--offline"]);
    assert_eq!(
        v["signatures"][0]["certificate_path"]["status"], "valid",
        "{v:#}"
    );
    std::fs::remove_file(&out).unwrap();

    // The root from the trust store, the intermediate from --chain.
    let store = hsm.dir().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::copy(&root, store.join("root.pem")).unwrap();
    let o = sign(
        &hsm,
        &out,
        &["--offline", "--chain", inter.to_str().unwrap()],
        &store,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(embedded(&out).len(), 3);
    std::fs::remove_file(&out).unwrap();

    // Online with the AIA service up: both CA certificates downloaded, the document fully
    // valid (revocation fetched from the same service).
    let server = Server::start(&dir, port);
    let o = sign(&hsm, &out, &[], &no_store);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut certs = embedded(&out);
    certs.sort();
    assert_eq!(certs, want);
    let (code, v) = verify_json(&out, &root, &[]);
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(code, Some(0));
    drop(server);
}

#[test]
fn chain_file_that_is_not_a_certificate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("chain.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let out = tmp.path().join("o.pdf");
    let o = crate::common::sign_command(
        &corpus("one-page.pdf"),
        &out,
        &crate::common::pki().join("personal.p12"),
    )
    .args(["--invisible", "--offline", "--chain"])
    .arg(&bad)
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("không phải chứng thư số (PEM hoặc DER)"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// `kyso verify` completes, when online, a path the document leaves short (pyHanko signed
/// with a .p12 holding only the signer's certificate) from the AIA caIssuers URLs, and says
/// where each certificate came from; offline the path has no anchor.
#[test]
fn verify_completes_a_short_chain_from_aia_and_reports_each_certificate_source() {
    use std::process::Command;
    if !kyso_testkit::need("pyhanko", &["--version"]) {
        return;
    }
    let port = free_port();
    let (tmp, dir) = fresh_pki(port);
    let w = tmp.path();
    // A .p12 holding the personal key and certificate only.
    let all = w.join("all.pem");
    crate::common::run_ok(
        Command::new("openssl")
            .arg("pkcs12")
            .arg("-in")
            .arg(dir.join("personal.p12"))
            .args(["-nodes", "-passin", "env:KYSO_TEST_PW", "-out"])
            .arg(&all)
            .env("KYSO_TEST_PW", crate::common::PW),
    );
    let ee = w.join("ee.p12");
    crate::common::run_ok(
        Command::new("openssl")
            .args(["pkcs12", "-export", "-in"])
            .arg(dir.join("personal.pem"))
            .arg("-inkey")
            .arg(&all)
            .args(["-passout", "env:KYSO_TEST_PW", "-out"])
            .arg(&ee)
            .env("KYSO_TEST_PW", crate::common::PW),
    );
    let doc = w.join("short.pdf");
    crate::common::pyhanko_sign(
        &corpus("one-page.pdf"),
        &doc,
        &ee,
        crate::common::PW,
        "Sig1",
        &[],
    );
    assert_eq!(embedded(&doc).len(), 1, "pyHanko embedded only the signer");
    let root = dir.join("root.pem");

    let (_, v) = verify_json(&doc, &root, &["--offline"]);
    assert_eq!(
        v["signatures"][0]["certificate_path"]["status"], "no_anchor",
        "{v:#}"
    );

    let server = Server::start(&dir, port);
    let (code, v) = verify_json(&doc, &root, &[]);
    let path = &v["signatures"][0]["certificate_path"];
    assert_eq!(path["status"], "valid", "{v:#}");
    assert_eq!(
        path["chain_sources"],
        serde_json::json!([
            {"source": "document", "url": null},
            {"source": "aia", "url": format!("http://127.0.0.1:{port}/certs/intermediate.cer")},
            {"source": "trust_anchor", "url": null},
        ]),
        "{v:#}"
    );
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(code, Some(0));
    let out = crate::common::kyso()
        .arg("verify")
        .arg(&doc)
        .arg("--trust")
        .arg(&root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "(tải từ http://127.0.0.1:{port}/certs/intermediate.cer)"
        )),
        "{text}"
    );
    assert!(text.contains("(gốc tin cậy)"), "{text}");
    drop(server);
}
