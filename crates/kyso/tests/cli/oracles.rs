//! Every Decree 30 form, alone and in sequence, checked by validators nobody here wrote:
//! pyHanko (intact, trusted, only allowed changes after each signature), poppler's `pdfsig`
//! ("Signature is Valid", "Certificate is Trusted") and `openssl cms -verify` on the CMS blob.

use std::path::Path;
use std::process::Command;

use crate::common::*;

const ANCHOR: &[&str] = &["--anchor", "PHÓ GIÁM ĐỐC"];

fn sig_png() -> String {
    pki().join("signature.png").display().to_string()
}
fn seal_png() -> String {
    pki().join("seal.png").display().to_string()
}

#[test]
fn invisible_signature_is_accepted_by_all_three_oracles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("signed.pdf");
    sign(&corpus("one-page.pdf"), &out, "personal", &["--invisible"]);
    assert_all_oracles_ok(&out, 1);
}

#[test]
fn personal_form_by_anchor_is_accepted_and_lands_between_title_and_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("signed.pdf");
    let img = sig_png();
    let mut args = vec!["--kind", "personal", "--image", &img];
    args.extend_from_slice(ANCHOR);
    sign(&corpus("letter-classic.pdf"), &out, "personal", &args);
    assert_all_oracles_ok(&out, 1);

    // The blue ink on the last page lies between the title block and the name, in the right
    // half (where the signature block is), and nothing blue is drawn on page 1.
    let page = render(&out, 2, 72);
    let blue = ink_box(&page, is_blue).expect("no signature image rendered");
    let (w, _, _) = page;
    assert!(blue[0] > w / 2, "image not in the right column: {blue:?}");
    let text = Command::new("pdftotext")
        .args(["-f", "2", "-l", "2", "-bbox"])
        .arg(&out)
        .arg("-")
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&text.stdout);
    let y_of = |word: &str| -> (f64, f64) {
        let line = html
            .lines()
            .find(|l| l.ends_with(&format!(">{word}</word>")))
            .unwrap();
        let attr = |k: &str| -> f64 {
            let s = &line[line.find(&format!("{k}=\"")).unwrap() + k.len() + 2..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        (attr("yMin"), attr("yMax"))
    };
    let (_, title_bottom) = y_of("PHÓ");
    let (name_top, _) = y_of("Bình");
    assert!(
        f64::from(blue[1]) >= title_bottom - 1.0 && f64::from(blue[3]) <= name_top + 1.0,
        "image {blue:?} not between the title (bottom {title_bottom}) and the name (top {name_top})"
    );
    assert!(ink_box(&render(&out, 1, 36), is_blue).is_none());
}

#[test]
fn personal_form_by_rect_fills_the_rectangle() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("signed.pdf");
    let img = sig_png();
    sign(
        &corpus("one-page.pdf"),
        &out,
        "personal",
        &["--image", &img, "--page", "1", "--rect", "100,100,300,180"],
    );
    assert_all_oracles_ok(&out, 1);
    let page = render(&out, 1, 72);
    let h = page.1;
    let b = ink_box(&page, is_blue).unwrap();
    // Visual rect 100..300 × 100..180 (y up) → pixels y from h-180 to h-100.
    assert!(b[0] >= 99 && b[2] <= 301, "{b:?}");
    assert!(b[1] + 1 >= h - 180 && b[3] <= h - 100 + 1, "{b:?}");
}

#[test]
fn copy_and_attachment_stamps_sit_at_the_top_right_of_page_one_with_extractable_text() {
    let tmp = tempfile::tempdir().unwrap();
    // A signing time the freshly made demo certificates cover (an hour from now, whole
    // minutes), and how the stamp shows it (Vietnam time).
    #[allow(clippy::disallowed_methods)]
    let t = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let t = t.replace_second(0).unwrap().replace_nanosecond(0).unwrap();
    let signing_time = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let vn = t.to_offset(time::macros::offset!(+7));
    let shown_time = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:00+07:00",
        vn.year(),
        u8::from(vn.month()),
        vn.day(),
        vn.hour(),
        vn.minute()
    );
    for (kind, extra, expect) in [
        (
            "copy",
            vec![
                "--copy-form",
                "sao-luc",
                "--org-name",
                "Văn phòng UBND tỉnh Demo",
            ],
            vec!["SAO LỤC", "Văn phòng UBND tỉnh Demo"],
        ),
        (
            "attachment",
            vec!["--doc-number", "123/TB-SKHCN"],
            vec!["123/TB-SKHCN"],
        ),
    ] {
        let out = tmp.path().join(format!("{kind}.pdf"));
        let mut args = vec!["--kind", kind, "--time", &signing_time];
        args.extend(extra);
        sign(&corpus("letter-classic.pdf"), &out, "organization", &args);
        assert_all_oracles_ok(&out, 1);
        let text = run_ok(
            Command::new("pdftotext")
                .args([
                    "-f", "1", "-l", "1", "-x", "300", "-y", "0", "-W", "400", "-H", "80",
                ])
                .arg(&out)
                .arg("-"),
        );
        let text = String::from_utf8(text.stdout).unwrap();
        for e in expect.iter().chain(&[shown_time.as_str()]) {
            assert!(
                text.contains(e),
                "{kind}: {e:?} not in the top-right text: {text:?}"
            );
        }
        let fonts = run_ok(Command::new("pdffonts").arg(&out));
        let fonts = String::from_utf8(fonts.stdout).unwrap();
        assert!(
            fonts.lines().any(|l| l.contains("LiberationSerif")
                && l.contains("CID TrueType")
                && l.contains("yes yes yes")),
            "stamp font not embedded as a subset with ToUnicode:\n{fonts}"
        );
        assert!(ink_box(&render(&out, 2, 36), |r, g, b| r < 128
            && g < 128
            && b < 128)
        .is_some());
    }
}

#[test]
fn personal_then_organization_then_copy_then_more_keeps_every_signature_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n);
    let (img, seal) = (sig_png(), seal_png());
    let mut args = vec!["--kind", "personal", "--image", &img];
    args.extend_from_slice(ANCHOR);
    sign(
        &corpus("letter-objstm.pdf"),
        &p("1.pdf"),
        "personal2",
        &args,
    );
    sign(
        &p("1.pdf"),
        &p("2.pdf"),
        "organization",
        &["--kind", "organization", "--image", &seal],
    );
    sign(&p("2.pdf"), &p("3.pdf"), "personal", &["--kind", "copy"]);
    sign(&p("3.pdf"), &p("4.pdf"), "ecdsa", &["--invisible"]);
    for (i, f) in ["1.pdf", "2.pdf", "3.pdf", "4.pdf"].iter().enumerate() {
        assert_pyhanko_ok(&pyhanko(&[&p(f)])[0], i + 1);
        assert_openssl_cms_ok(&p(f), i + 1);
    }
    assert_pdfsig_ok(&p("4.pdf"), 4);

    // Each file is a byte-exact prefix of the next.
    for w in ["1.pdf", "2.pdf", "3.pdf", "4.pdf"].windows(2) {
        let (a, b) = (
            std::fs::read(p(w[0])).unwrap(),
            std::fs::read(p(w[1])).unwrap(),
        );
        assert!(b.starts_with(&a), "{} is not a prefix of {}", w[0], w[1]);
    }

    // The seal overlaps the left third of the signature image, at its real size (40 mm).
    let page = render(&p("2.pdf"), 2, 72);
    let blue = ink_box(&page, is_blue).unwrap();
    let red = ink_box(&page, is_red).unwrap();
    let third = blue[0] + (blue[2] - blue[0]) / 3;
    assert!(
        red[0] < blue[0] && red[2] > blue[0] && red[2] <= third + 6,
        "seal {red:?} vs signature {blue:?}"
    );
    let diameter_pt = f64::from(red[2] - red[0]);
    assert!(
        (diameter_pt - 40.0 * 72.0 / 25.4).abs() < 6.0,
        "seal diameter {diameter_pt} pt"
    );
}

#[test]
fn every_key_type_signs_rsa_pkcs1_rsa_pss_ecdsa_p256_p384() {
    let tmp = tempfile::tempdir().unwrap();
    for (p12, extra) in [
        ("personal", vec!["--pss"]),
        ("ecdsa", vec![]),
        ("ecdsa384", vec![]),
    ] {
        let out = tmp.path().join(format!("{p12}.pdf"));
        let mut args = vec!["--invisible"];
        args.extend(extra);
        sign(&corpus("one-page.pdf"), &out, p12, &args);
        assert_all_oracles_ok(&out, 1);
    }
}

#[test]
fn the_pyhanko_cli_itself_reports_intact_and_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("signed.pdf");
    sign(
        &corpus("one-page.pdf"),
        &out,
        "organization",
        &["--kind", "copy"],
    );
    let res = run_ok(
        Command::new("pyhanko")
            .args(["sign", "validate", "--no-revocation-check", "--trust"])
            .arg(root())
            .args(["--trust-replace"])
            .arg(&out),
    );
    let text = String::from_utf8(res.stdout).unwrap();
    assert!(text.contains("INTACT:TRUSTED,UNTOUCHED"), "{text}");
}

#[test]
fn a_document_signed_by_pyhanko_can_be_signed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("py.pdf"), tmp.path().join("both.pdf"));
    pyhanko_sign(
        &corpus("one-page.pdf"),
        &first,
        &pki().join("personal2.p12"),
        PW,
        "PyHankoSig",
        &[],
    );
    sign(&first, &second, "personal", &["--invisible"]);
    assert_all_oracles_ok(&second, 2);
}

#[test]
fn every_kind_of_pdf_in_the_corpus_signs_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for name in [
        "letter-classic.pdf",
        "letter-objstm.pdf",
        "letter-pdf20.pdf",
        "letter-linearized.pdf",
        "letter-incremental.pdf",
        "hybrid.pdf",
        "rotated-90.pdf",
        "rotated-180.pdf",
        "rotated-270.pdf",
        "scan.pdf",
        "libreoffice.pdf",
    ] {
        let out = tmp.path().join(name);
        sign(&corpus(name), &out, "organization", &["--kind", "copy"]);
        assert!(std::fs::read(&out)
            .unwrap()
            .starts_with(&std::fs::read(corpus(name)).unwrap()));
        assert_pdfsig_ok(&out, 1);
        assert_openssl_cms_ok(&out, 1);
        outs.push(out);
    }
    let refs: Vec<&Path> = outs.iter().map(|p| p.as_path()).collect();
    for report in pyhanko(&refs) {
        // pyHanko reads hybrid-reference files only in non-strict mode (recorded in the report).
        assert_pyhanko_ok(&report, 1);
    }
}

/// Word boxes `[x0, y0, x1, y1]` of page 1 as displayed, from `pdftotext -bbox`.
fn words(file: &Path) -> Vec<(String, [f64; 4])> {
    let out = run_ok(
        Command::new("pdftotext")
            .args(["-f", "1", "-l", "1", "-bbox"])
            .arg(file)
            .arg("-"),
    );
    let html = String::from_utf8(out.stdout).unwrap();
    html.lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("<word ")?;
            let attr = |k: &str| -> f64 {
                let s = &l[l.find(&format!("{k}=\"")).unwrap() + k.len() + 2..];
                s[..s.find('"').unwrap()].parse().unwrap()
            };
            let text = &l[l.find('>')? + 1..l.find("</word>")?];
            Some((
                text.to_owned(),
                [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")],
            ))
        })
        .collect()
}

#[test]
fn on_rotated_pages_signatures_and_stamps_follow_the_letters_text() {
    // The corpus' rotated pages are the letter with /Rotate set (qpdf --rotate): the text reads
    // sideways on screen. A stamp "upright" relative to the letter must read the same way, at the
    // letter's top right (next to the national motto line), not at the screen's.
    let tmp = tempfile::tempdir().unwrap();
    let img = sig_png();
    for deg in [90, 180, 270] {
        let (a, b) = (
            tmp.path().join(format!("a{deg}.pdf")),
            tmp.path().join(format!("b{deg}.pdf")),
        );
        let mut args = vec!["--image", &img];
        args.extend_from_slice(ANCHOR);
        sign(
            &corpus(&format!("rotated-{deg}.pdf")),
            &a,
            "personal2",
            &args,
        );
        sign(
            &a,
            &b,
            "organization",
            &["--kind", "attachment", "--doc-number", "45/KH-SKHCN"],
        );
        assert_all_oracles_ok(&b, 2);
        let w = words(&b);
        let find = |t: &str| {
            w.iter()
                .find(|(x, _)| x == t)
                .map(|(_, r)| *r)
                .unwrap_or_else(|| panic!("{t:?} not on page ({deg}°)"))
        };
        let (stamp, motto) = (find("45/KH-SKHCN"), find("NAM"));
        let sideways = |r: [f64; 4]| r[3] - r[1] > r[2] - r[0];
        assert_eq!(
            sideways(stamp),
            sideways(motto),
            "{deg}°: stamp {stamp:?} vs text {motto:?}"
        );
        let centre = |r: [f64; 4]| ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
        let ((sx, sy), (mx, my)) = (centre(stamp), centre(motto));
        assert!(
            (sx - mx).hypot(sy - my) < 150.0,
            "{deg}°: stamp {stamp:?} far from the motto {motto:?}"
        );
        // The signature image lies between the title and the name, as on an upright page.
        let page = render(&b, 1, 72);
        let blue = ink_box(&page, is_blue).expect("signature image");
        let (title, name) = (find("PHÓ"), find("Bình"));
        let inside = |v: f64, a: f64, b: f64| v >= a.min(b) - 2.0 && v <= a.max(b) + 2.0;
        let (bx, by) = (
            (f64::from(blue[0]) + f64::from(blue[2])) / 2.0,
            (f64::from(blue[1]) + f64::from(blue[3])) / 2.0,
        );
        let (tc, nc) = (centre(title), centre(name));
        assert!(
            if sideways(title) {
                inside(bx, tc.0, nc.0)
            } else {
                inside(by, tc.1, nc.1)
            },
            "{deg}°: image centre ({bx}, {by}) not between title {title:?} and name {name:?}"
        );
    }
}

#[test]
fn a_file_over_100_mb_signs_with_byte_ranges_that_fit() {
    // pyHanko#336: ByteRange placeholders too narrow for offsets past 100 MB.
    let tmp = tempfile::tempdir().unwrap();
    let (big, out) = (tmp.path().join("annex.pdf"), tmp.path().join("signed.pdf"));
    run_ok(
        Command::new("python3")
            .arg(workspace().join("tests/bench/make_large.py"))
            .arg(&big)
            .arg("130"),
    );
    assert!(std::fs::metadata(&big).unwrap().len() > 130_000_000);
    sign(&big, &out, "personal", &["--kind", "copy"]);
    assert_all_oracles_ok(&out, 1);
}
