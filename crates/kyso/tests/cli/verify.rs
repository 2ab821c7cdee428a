//! `kyso verify` on documents kyso and pyHanko signed, and on altered ones: the verdict, the
//! exit code, the JSON schema and the clerk's report.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn signed_sequence(dir: &Path) -> std::path::PathBuf {
    let (img, seal) = (
        pki().join("signature.png").display().to_string(),
        pki().join("seal.png").display().to_string(),
    );
    let (a, b) = (dir.join("a.pdf"), dir.join("b.pdf"));
    sign(
        &corpus("letter-classic.pdf"),
        &a,
        "personal2",
        &[
            "--image",
            &img,
            "--anchor",
            "PHÓ GIÁM ĐỐC",
            "--reason",
            "Phê duyệt",
            "--location",
            "Tỉnh Demo",
        ],
    );
    sign(
        &a,
        &b,
        "organization",
        &["--kind", "organization", "--image", &seal],
    );
    b
}

#[test]
fn an_intact_signed_letter_is_intact_trusted_and_waits_only_for_revocation() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = signed_sequence(tmp.path());
    let (code, v) = verify_json(&doc, &root(), &[]);
    // The demo PKI's OCSP/CRL services are not running here (`kyso pki serve` is, in
    // pki_serve.rs): revocation is unknown, so indeterminate, exit 2.
    assert_eq!(code, Some(2), "{v:#}");
    assert_eq!(v["schema"], "kyso.verify/1");
    assert_eq!(v["verdict"], "indeterminate");
    assert_eq!(v["roles"]["personal"], true);
    assert_eq!(v["roles"]["organization"], true);
    // The agency's certificate ("Sở Khoa học và Công nghệ tỉnh Demo") names the issuing body
    // the letter's header shows under its governing body.
    assert_eq!(
        v["issuing_body"],
        "ỦY BAN NHÂN DÂN TỈNH DEMO / SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    );
    assert_eq!(v["roles"]["organization_names_issuing_body"], true);
    assert_eq!(v["signatures"][1]["names_issuing_body"], true);
    assert_eq!(v["signatures"][0]["names_issuing_body"], Value::Null);
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    for s in sigs {
        assert_eq!(s["intact"], true, "{s:#}");
        assert_eq!(s["certificate_path"]["status"], "valid", "{s:#}");
        assert_eq!(
            s["reasons"],
            serde_json::json!(["REVOCATION_UNKNOWN"]),
            "{s:#}"
        );
        assert_ne!(s["changes_after"]["verdict"], "disallowed", "{s:#}");
    }
    assert_eq!(sigs[0]["signer"]["name"], "Trần Thị Bình");
    assert_eq!(sigs[0]["reason"], "Phê duyệt");
    assert_eq!(sigs[0]["location"], "Tỉnh Demo");
    assert_eq!(sigs[0]["signer"]["role"], "personal");
    assert_eq!(sigs[1]["signer"]["role"], "organization");
    assert_eq!(sigs[1]["changes_after"]["verdict"], "none");

    // The clerk's report, in Vietnamese by default.
    let out = kyso()
        .arg("verify")
        .arg(&doc)
        .arg("--trust")
        .arg(root())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for item in [
        "Kết luận: CHƯA XÁC ĐỊNH",
        "Người ký: Trần Thị Bình — Phó Giám đốc",
        "Tổ chức cấp:",
        "Toàn vẹn: nguyên vẹn",
        "Thời hạn chứng thư số:",
        "Hiệu lực chứng thư số tại thời điểm ký: hợp lệ",
    ] {
        assert!(text.contains(item), "{item:?} missing:\n{text}");
    }
}

#[test]
fn a_changed_byte_or_a_later_content_change_makes_it_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = signed_sequence(tmp.path());
    // 1. One byte inside the signed range.
    let mut bytes = std::fs::read(&doc).unwrap();
    let at = bytes.len() / 3; // inside the first revision, signed by both signatures
    bytes[at] ^= 0x20;
    let flipped = tmp.path().join("flipped.pdf");
    std::fs::write(&flipped, &bytes).unwrap();
    let (code, v) = verify_json(&flipped, &root(), &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["verdict"], "invalid");
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .contains(&Value::from("DOCUMENT_MODIFIED")));

    // 2. An incremental update after signing that replaces page 1's content: the signatures
    //    still verify cryptographically, but the change is not one allowed after signing.
    let forged = tmp.path().join("forged.pdf");
    let original = std::fs::read(&doc).unwrap();
    let src = std::sync::Arc::new(kyso_pdf::MemSource::new(original.clone()));
    let d = kyso_pdf::Document::open(src, kyso_pdf::Limits::default()).unwrap();
    let page = d.pages().unwrap().remove(0);
    let mut up = kyso_pdf::writer::IncrementalUpdate::new(&d);
    let mut sd = kyso_pdf::Dict::new();
    let content = b"BT /F1 24 Tf 100 700 Td (SO 999) Tj ET".to_vec();
    sd.set("Length", kyso_pdf::Object::Int(content.len() as i64));
    let stream = up.add(kyso_pdf::Object::Stream(kyso_pdf::Stream {
        dict: sd,
        data: kyso_pdf::StreamData::Owned(content),
    }));
    let mut pd = page.dict.clone();
    pd.set("Contents", kyso_pdf::Object::Ref(stream));
    up.set(page.id, kyso_pdf::Object::Dict(pd));
    let (tail, _) = up.serialize(original.len() as u64).unwrap();
    std::fs::write(&forged, [original, tail].concat()).unwrap();
    let (code, v) = verify_json(&forged, &root(), &[]);
    assert_eq!(code, Some(1), "{v:#}");
    for s in v["signatures"].as_array().unwrap() {
        assert_eq!(s["intact"], true, "the signed bytes are untouched: {s:#}");
        assert_eq!(s["verdict"], "invalid", "{s:#}");
        assert_eq!(s["changes_after"]["verdict"], "disallowed", "{s:#}");
    }
    // pyHanko agrees: the last signature is no longer followed by allowed changes only.
    let py = pyhanko(&[&forged]);
    let last = py[0]["signatures"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    // A changed page content stream is beyond anything DocMDP or pyHanko's policy allows.
    assert_eq!(last["modification_level"], "OTHER", "{last:#}");
    assert_eq!(last["docmdp_ok"], false, "{last:#}");
    assert_eq!(last["bottom_line"], false, "{last:#}");
}

#[test]
fn a_root_nobody_trusts_makes_it_invalid_and_no_root_makes_it_indeterminate() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("s.pdf");
    sign(&corpus("one-page.pdf"), &doc, "personal", &["--invisible"]);
    let other = tmp.path().join("other-root.pem");
    run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=Another root/C=VN",
                "-days",
                "30",
                "-keyout",
            ])
            .arg(tmp.path().join("k.pem"))
            .arg("-out")
            .arg(&other),
    );
    let (code, v) = verify_json(&doc, &other, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .contains(&Value::from("UNTRUSTED_ROOT")));
    let out = kyso()
        .arg("verify")
        .arg(&doc)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .contains(&Value::from("NO_TRUST_ANCHOR")));
}

#[test]
fn kyso_agrees_with_pyhanko_on_a_pyhanko_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let (doc, pass) = (tmp.path().join("py.pdf"), tmp.path().join("pass.txt"));
    std::fs::write(&pass, PW).unwrap();
    run_ok(
        Command::new("pyhanko")
            .args(["sign", "addsig", "--field", "Sig1", "pkcs12", "--passfile"])
            .arg(&pass)
            .arg(corpus("one-page.pdf"))
            .arg(&doc)
            .arg(pki().join("personal2.p12")),
    );
    assert_pyhanko_ok(&pyhanko(&[&doc])[0], 1);
    let (_, v) = verify_json(&doc, &root(), &[]);
    let s = &v["signatures"][0];
    assert_eq!(s["intact"], true, "{s:#}");
    assert_eq!(s["certificate_path"]["status"], "valid", "{s:#}");
    assert_eq!(s["signer"]["name"], "Trần Thị Bình");
}
