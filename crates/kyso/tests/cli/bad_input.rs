//! Bad input: a one-line message (Vietnamese by default, English with --lang en), a non-zero
//! exit code, no panic, and no output file — nor a temporary file — left behind.

use std::path::Path;

use crate::common::*;

/// Run `kyso sign` with `args` into an empty directory; check the failure and return stderr.
fn refused(input: &Path, p12: &str, args: &[&str], lang: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.pdf");
    let res = sign_command(input, &out, &pki().join(format!("{p12}.p12")))
        .args(["--lang", lang])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8(res.stderr).unwrap();
    assert!(!res.status.success(), "accepted: {input:?} {args:?}");
    assert_ne!(res.status.code(), Some(101), "panicked: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    let prefix = if lang == "vi" { "Lỗi: " } else { "Error: " };
    assert!(err.starts_with(prefix), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    err
}

#[test]
fn damaged_or_foreign_files_are_refused_with_a_clear_message() {
    for (file, vi, en) in [
        ("bad-not-a-pdf.pdf", "không phải là PDF", "not a PDF"),
        ("bad-truncated.pdf", "PDF", "PDF"),
        ("bad-broken-xref.pdf", "PDF", "PDF"),
        ("bad-encrypted.pdf", "mã hóa", "encrypted"),
    ] {
        let e = refused(&corpus(file), "personal", &["--invisible"], "vi");
        assert!(e.contains(vi), "{file}: {e}");
        let e = refused(&corpus(file), "personal", &["--invisible"], "en");
        assert!(e.contains(en), "{file}: {e}");
    }
}

#[test]
fn a_damaged_or_foreign_input_is_an_input_error_exit_3() {
    // docs/exit-codes.md: the input's fault is 3 (1 is kept for invalid verdicts and refusals).
    for file in [
        "bad-not-a-pdf.pdf",
        "bad-truncated.pdf",
        "bad-broken-xref.pdf",
        "bad-encrypted.pdf",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.pdf");
        let res = sign_command(&corpus(file), &out, &pki().join("personal.p12"))
            .arg("--invisible")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(3), "{file}: {err}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let res = sign_command(
        &tmp.path().join("không-có.pdf"),
        &tmp.path().join("out.pdf"),
        &pki().join("personal.p12"),
    )
    .arg("--invisible")
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(3), "{err}");
    assert!(err.contains("không tìm thấy tệp"), "{err}");
}

#[test]
fn key_and_certificate_problems_are_refused() {
    let doc = corpus("one-page.pdf");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o.pdf");
    // Wrong password.
    let res = kyso()
        .args(["sign"])
        .arg(&doc)
        .arg("-o")
        .arg(&out)
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args(["--password-env", "WRONG_PW", "--invisible"])
        .env("WRONG_PW", "not-the-password")
        .output()
        .unwrap();
    let err = String::from_utf8(res.stderr).unwrap();
    assert!(
        !res.status.success() && err.contains("sai mật khẩu"),
        "{err}"
    );
    assert!(!out.exists());
    // No digitalSignature key usage.
    let e = refused(&doc, "nosign", &["--invisible"], "vi");
    assert!(e.contains("digitalSignature"), "{e}");
    // Expired: refused, unless --allow-expired.
    let e = refused(&doc, "expired", &["--invisible"], "vi");
    assert!(
        e.contains("hết hạn") && e.contains("--allow-expired"),
        "{e}"
    );
    let e = refused(&doc, "expired", &["--invisible"], "en");
    assert!(e.contains("expired"), "{e}");
    sign(&doc, &out, "expired", &["--invisible", "--allow-expired"]);
    assert!(out.exists());
}

#[test]
fn image_and_placement_problems_are_refused() {
    let doc = corpus("letter-classic.pdf");
    let sig = pki().join("signature.png").display().to_string();
    let not_png = corpus("one-page.pdf").display().to_string();
    for (args, vi) in [
        (
            vec![
                "--image",
                "/nonexistent/sig.png",
                "--page",
                "1",
                "--rect",
                "10,10,100,60",
            ],
            "không tìm thấy",
        ),
        (
            vec!["--image", &not_png, "--page", "1", "--rect", "10,10,100,60"],
            "không phải PNG",
        ),
        (
            vec!["--image", &sig, "--page", "9", "--rect", "10,10,100,60"],
            "trang 9",
        ),
        (
            vec!["--image", &sig, "--anchor", "CHỦ TỊCH NƯỚC"],
            "CHỦ TỊCH NƯỚC",
        ),
        (vec!["--image", &sig], "--anchor"),
        (vec!["--page", "1", "--rect", "10,10,100,60"], "--image"),
        (vec!["--kind", "attachment"], "--doc-number"),
        (
            vec!["--kind", "organization", "--image", &sig],
            "chữ ký cá nhân",
        ),
    ] {
        let e = refused(&doc, "personal", &args, "vi");
        assert!(e.contains(vi), "{args:?}: {e}");
    }
}

#[test]
fn output_equal_to_input_needs_in_place_which_replaces_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("doc.pdf");
    std::fs::copy(corpus("one-page.pdf"), &doc).unwrap();
    let before = std::fs::read(&doc).unwrap();
    let res = kyso()
        .arg("sign")
        .arg(&doc)
        .arg("-o")
        .arg(&doc)
        .arg("--p12")
        .arg(pki().join("personal.p12"))
        .args(["--password-env", "KYSO_TEST_PW", "--invisible"])
        .output()
        .unwrap();
    let err = String::from_utf8(res.stderr).unwrap();
    assert!(!res.status.success() && err.contains("--in-place"), "{err}");
    assert_eq!(std::fs::read(&doc).unwrap(), before, "input touched");
    sign(&doc, &doc, "personal", &["--invisible", "--in-place"]);
    let after = std::fs::read(&doc).unwrap();
    assert!(after.starts_with(&before) && after.len() > before.len());
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["doc.pdf"], "temporary files left: {names:?}");
    assert_all_oracles_ok(&doc, 1);
}

#[test]
fn many_files_in_one_run_each_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let (inp, out) = (tmp.path().join("in"), tmp.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    for i in 0..20 {
        std::fs::copy(corpus("one-page.pdf"), inp.join(format!("d{i:02}.pdf"))).unwrap();
    }
    let mut cmd = kyso();
    cmd.arg("sign");
    for i in 0..20 {
        cmd.arg(inp.join(format!("d{i:02}.pdf")));
    }
    run_ok(
        cmd.arg("--out-dir")
            .arg(&out)
            .arg("--p12")
            .arg(pki().join("personal.p12"))
            .args(["--password-env", "KYSO_TEST_PW", "--invisible"]),
    );
    let files: Vec<_> = (0..20).map(|i| out.join(format!("d{i:02}.pdf"))).collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    for r in pyhanko(&refs) {
        assert_pyhanko_ok(&r, 1);
    }
}

#[test]
fn command_line_mistakes_are_explained_in_vietnamese_and_exit_3() {
    for (args, vi) in [
        (vec!["sign"], "thiếu tham số bắt buộc"),
        (
            vec!["sign", "a.pdf", "--bogus"],
            "tham số không hợp lệ: --bogus",
        ),
        (
            vec![
                "sign",
                "a.pdf",
                "--kind",
                "xx",
                "--p12",
                "k.p12",
                "--password-env",
                "P",
            ],
            "giá trị \"xx\"",
        ),
        (vec!["sgin"], "không có lệnh \"sgin\""),
    ] {
        let out = kyso().args(&args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.starts_with("Lỗi: ") && err.contains(vi),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let out = kyso().args(["--lang", "en", "sign"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("required arguments"));
    let help = kyso().args(["sign", "--help"]).output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("Cách dùng:") && help.contains("Tùy chọn:") && help.contains("--anchor"));
}
