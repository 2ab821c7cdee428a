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
        // ETSI EN 319 102-1: revocation information could not be obtained.
        assert_eq!(s["etsi"]["indication"], "INDETERMINATE", "{s:#}");
        assert_eq!(s["etsi"]["sub_indication"], "TRY_LATER", "{s:#}");
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
    // ETSI: the signed bytes no longer hash to what was signed.
    for s in v["signatures"].as_array().unwrap() {
        assert_eq!(s["etsi"]["indication"], "TOTAL_FAILED", "{s:#}");
        assert_eq!(s["etsi"]["sub_indication"], "HASH_FAILURE", "{s:#}");
    }

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
        // ETSI: a disallowed change is a format failure (docs/verify-json.md, "Why kyso
        // differs": DSS's default policy only warns).
        assert_eq!(s["etsi"]["indication"], "TOTAL_FAILED", "{s:#}");
        assert_eq!(s["etsi"]["sub_indication"], "FORMAT_FAILURE", "{s:#}");
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
    // kyso says invalid; ETSI says no chain to a trust anchor was found (indeterminate).
    assert_eq!(v["signatures"][0]["etsi"]["indication"], "INDETERMINATE");
    assert_eq!(
        v["signatures"][0]["etsi"]["sub_indication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );
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
    assert_eq!(
        v["signatures"][0]["etsi"]["sub_indication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );

    // Offline, nothing in the file tells the revocation status: try later.
    let (code, v) = verify_json(&doc, &root(), &["--offline"]);
    assert_eq!(code, Some(2), "{v:#}");
    assert_eq!(v["signatures"][0]["etsi"]["indication"], "INDETERMINATE");
    assert_eq!(v["signatures"][0]["etsi"]["sub_indication"], "TRY_LATER");
}

/// Sign `input` with pyHanko's Python API using SHA-1 as the message digest (its CLI has no
/// option for the digest).
fn pyhanko_sign_sha1(input: &Path, output: &Path, p12: &Path) {
    let script = r#"
import sys
from pyhanko.sign import signers, fields
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
src, out, p12, pw = sys.argv[1:5]
signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=pw.encode())
meta = signers.PdfSignatureMetadata(
    field_name="Sig1", md_algorithm="sha1", subfilter=fields.SigSeedSubFilter.PADES)
with open(src, "rb") as f, open(out, "wb") as o:
    signers.sign_pdf(IncrementalPdfFileWriter(f), meta, signer=signer, output=o)
"#;
    run_ok(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(input)
            .arg(output)
            .arg(p12)
            .arg(PW),
    );
}

#[test]
fn a_sha1_signature_is_etsi_crypto_constraints_failure_no_poe() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("sha1.pdf");
    pyhanko_sign_sha1(&corpus("one-page.pdf"), &doc, &pki().join("personal.p12"));
    let (code, v) = verify_json(&doc, &root(), &["--offline"]);
    assert_eq!(code, Some(2), "{v:#}");
    let s = &v["signatures"][0];
    assert_eq!(s["intact"], true, "{s:#}");
    assert_eq!(s["algorithms"][0]["algorithm"], "SHA-1", "{s:#}");
    assert_eq!(s["etsi"]["indication"], "INDETERMINATE", "{s:#}");
    assert_eq!(
        s["etsi"]["sub_indication"], "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "{s:#}"
    );
}

/// English fragments of operating-system and library messages that must never reach the
/// Vietnamese report or error line.
const ENGLISH_FRAGMENTS: &[&str] = &[
    "No such file",
    "os error",
    "Connection refused",
    "connection refused",
    "error:",
    "Error",
    "Is a directory",
    "cannot connect",
    "timed out",
    "timeout",
    "not a PDF",
    "unspecified",
];

fn assert_no_english(what: &str, text: &str) {
    for f in ENGLISH_FRAGMENTS {
        assert!(
            !text.contains(f),
            "{what}: {f:?} in the Vietnamese output:\n{text}"
        );
    }
}

/// Every time in the clerk's report is `dd/mm/yyyy HH:MM (+07:00)`; returns how many.
fn assert_vietnamese_dates(text: &str) -> usize {
    let mut n = 0;
    for (i, _) in text.match_indices("+07:00") {
        let before = &text[..i];
        assert!(
            before.ends_with('('),
            "not dd/mm/yyyy HH:MM (+07:00) at {i}:\n{text}"
        );
        let stamp: Vec<char> = before.chars().rev().skip(1).take(17).collect();
        let stamp: String = stamp.into_iter().rev().collect();
        let ok = stamp.len() == 17
            && stamp.chars().enumerate().all(|(j, c)| match j {
                2 | 5 => c == '/',
                10 | 16 => c == ' ',
                13 => c == ':',
                _ => c.is_ascii_digit(),
            });
        assert!(ok, "{stamp:?} is not dd/mm/yyyy HH:MM:\n{text}");
        n += 1;
    }
    n
}

#[test]
fn verify_speaks_vietnamese_for_a_missing_file_a_directory_a_non_pdf_and_an_unreachable_ocsp() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |file: &Path, extra: &[&str]| {
        let out = kyso().arg("verify").arg(file).args(extra).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // A missing file, a directory, a file that is no PDF.
    let missing = tmp.path().join("không-có.pdf");
    for (file, says) in [
        (missing.as_path(), "không tìm thấy tệp"),
        (tmp.path(), "là một thư mục"),
        (&corpus("bad-not-a-pdf.pdf") as &Path, "không phải là PDF"),
    ] {
        let (code, out, err) = run(file, &["--trust", root().to_str().unwrap()]);
        // No verdict: an input error (3, docs/exit-codes.md), never 1 ("invalid").
        assert_eq!(code, Some(3), "{}: {err}", file.display());
        assert!(err.contains(says), "{}: {err}", file.display());
        assert_no_english(&file.display().to_string(), &format!("{out}{err}"));
    }

    // A PKI whose certificates name OCSP and CRL services on a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tmp.path().join("pki");
    run_ok(
        kyso()
            .args(["pki", "init"])
            .arg(&dir)
            .args(["--password-env", "KYSO_TEST_PW", "--base-url"])
            .arg(format!("http://127.0.0.1:{port}")),
    );
    let doc = tmp.path().join("signed.pdf");
    run_ok(
        sign_command(&corpus("one-page.pdf"), &doc, &dir.join("personal.p12")).arg("--invisible"),
    );
    let trust = dir.join("root.pem");
    let trust = trust.to_str().unwrap();
    let (code, out, err) = run(&doc, &["--trust", trust, "--fetch-timeout", "3"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert_no_english("unreachable OCSP", &format!("{out}{err}"));
    assert!(
        out.contains("không kết nối được tới dịch vụ"),
        "the network error as a sentence:\n{out}"
    );
    assert!(
        out.contains(&format!("OCSP http://127.0.0.1:{port}/")),
        "{out}"
    );
    // Dates: the certificate's validity (2) and the signing time, all in Vietnam time.
    assert!(assert_vietnamese_dates(&out) >= 3, "{out}");
    // Counts explained.
    assert!(out.contains("Tệp có 1 chữ ký số"), "{out}");
    assert!(
        out.contains("Thay đổi sau khi ký: không có (chữ ký này bao trùm toàn bộ tệp)"),
        "{out}"
    );
    // The technical detail stays in English and in the JSON.
    let en = kyso()
        .args(["--lang", "en", "verify"])
        .arg(&doc)
        .args(["--trust", trust, "--fetch-timeout", "3"])
        .output()
        .unwrap();
    let en = String::from_utf8(en.stdout).unwrap();
    assert!(en.contains("cannot connect"), "{en}");
    let (_, v) = verify_json(&doc, Path::new(trust), &["--fetch-timeout", "3"]);
    let notes = v["signatures"][0]["revocation"]["certificates"][0]["notes"].to_string();
    assert!(notes.contains("cannot connect"), "{notes}");
    // JSON keeps ISO 8601.
    assert!(
        v["signatures"][0]["signing_time"]["value"]
            .as_str()
            .unwrap()
            .ends_with("+07:00"),
        "{v:#}"
    );
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

/// `pdftotext -layout` of `pdf` with runs of white space made one; `None` without poppler (a
/// listed skip).
fn pdf_words(pdf: &Path) -> Option<String> {
    let out = kyso_testkit::run(Command::new("pdftotext").arg("-layout").arg(pdf).arg("-"))
        .ok_or_fail("poppler's `pdftotext`")?;
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn report_pdf_writes_the_clerks_report_as_a_pdf_in_vietnamese_or_english() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = signed_sequence(tmp.path());
    let vi = tmp.path().join("bao-cao.pdf");
    let out = kyso()
        .arg("verify")
        .arg(&doc)
        .arg("--trust")
        .arg(root())
        .arg("--offline")
        .arg("--report-pdf")
        .arg(&vi)
        .output()
        .unwrap();
    // Offline, revocation is unknown: indeterminate, exit 2, and the text report still printed.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Kết luận: CHƯA XÁC ĐỊNH"));
    let pdf = std::fs::read(&vi).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(!String::from_utf8_lossy(&pdf).contains("/JavaScript"));
    if kyso_testkit::need("qpdf", &["--version"]) {
        let check = Command::new("qpdf")
            .arg("--check")
            .arg(&vi)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
    // The digest printed is the file's, in groups of eight.
    let sha = Command::new("sha256sum").arg(&doc).output().unwrap();
    let sha = String::from_utf8(sha.stdout).unwrap();
    let grouped: Vec<&str> = (0..8).map(|i| &sha[i * 8..i * 8 + 8]).collect();
    if let Some(text) = pdf_words(&vi) {
        for want in [
            "KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ",
            "Kết luận: Không xác định được — lý do: chưa kiểm tra được tình trạng thu hồi chứng thư số",
            "Kết quả này không có nghĩa là chữ ký sai",
            "Tệp văn bản b.pdf",
            "Tệp có 2 chữ ký số.",
            "Cơ quan ban hành ỦY BAN NHÂN DÂN TỈNH DEMO / SỞ KHOA HỌC VÀ CÔNG NGHỆ",
            "Tra cứu thu hồi trực tuyến không",
            "Chữ ký 1: Trần Thị Bình",
            "Loại chữ ký Chữ ký số cá nhân",
            "Chữ ký số của cơ quan, tổ chức",
            "Toàn vẹn nội dung Nguyên vẹn",
            "INDETERMINATE / TRY_LATER",
        ] {
            assert!(text.contains(want), "missing {want:?}:\n{text}");
        }
        assert!(text.contains(&grouped.join(" ")) || grouped.iter().all(|g| text.contains(g)));
        assert!(
            !text.contains("CN="),
            "names, not distinguished names:\n{text}"
        );
        assert_vietnamese_dates(&text);
    }

    // --lang en: the same report in English.
    let en = tmp.path().join("report.pdf");
    let out = kyso()
        .args(["--lang", "en", "verify"])
        .arg(&doc)
        .arg("--trust")
        .arg(root())
        .arg("--offline")
        .arg("--report-pdf")
        .arg(&en)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    if let Some(text) = pdf_words(&en) {
        for want in [
            "SIGNATURE VERIFICATION REPORT",
            "Conclusion: Could not be determined — reason: the revocation status could not be checked",
            "Signature 1: Trần Thị Bình",
        ] {
            assert!(text.contains(want), "missing {want:?}:\n{text}");
        }
        assert!(!text.contains("Kết luận"), "{text}");
    }

    // A report that cannot be written is an input error (exit 3), said in Vietnamese.
    let out = kyso()
        .arg("verify")
        .arg(&doc)
        .arg("--trust")
        .arg(root())
        .arg("--offline")
        .arg("--report-pdf")
        .arg(tmp.path().join("no-such-dir/bao-cao.pdf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_no_english("report-pdf", &String::from_utf8_lossy(&out.stderr));
}
