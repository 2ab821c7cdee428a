//! Issue 14 item 1 and issue 24: signing never changes a value it does not mean to change, and
//! XMP stays well-formed. PDFs as other producers write them (`producers.py`: written by hand
//! with long reals, hex strings, `#xx`-escaped names, inherited page attributes, direct and
//! indirect `/Annots`; fpdf2; reportlab; img2pdf; XMP without the `xmp` namespace, with other
//! prefixes, compressed, malformed; and qpdf, Ghostscript and Chromium outputs) are signed first
//! by pyHanko (a visible approval signature, or an invisible certification with DocMDP P=2,
//! `pyhanko_fidelity.py`) or by kyso, then by kyso in every form (personal, organization, copy,
//! attachment, invisible). pyHanko in strict mode and `kyso verify` must both find the earlier
//! signature intact, valid, trusted and followed only by the changes a new signature makes
//! (pyHanko: `FORM_FILLING`; kyso: changes `allowed`).
//!
//! Two answers of pyHanko are its own policy, not a change kyso made, and are asserted as such:
//! * after a certification, pyHanko's default policy refuses any new *visible* signature field
//!   (`allow_new_visible_after_certify=False`); the same analysis with that one rule relaxed
//!   must then say `FORM_FILLING`;
//! * a page whose `/Annots` array holds annotation dictionaries directly (fpdf2's links) gets
//!   "Array contains direct objects" from pyHanko after any later widget — pyHanko's own second
//!   signature included; kyso keeps those dictionaries as they were and calls the change allowed;
//! * XMP that was malformed before the first signature: pyHanko refuses to sign it, and re-checks
//!   the unchanged metadata at every later revision, so it calls the first (kyso) signature
//!   modified; kyso leaves the metadata byte for byte as it was and calls the change allowed.
//!
//! A missing tool (pyHanko, fpdf2, reportlab, img2pdf, qpdf, Ghostscript, Chromium) fails the
//! test under `KYSO_REQUIRE_ALL=1` and is a listed skip otherwise (`kyso_testkit`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli")
        .join(name)
}

/// `producers.py KIND OUT [IMAGE]` into `dir`.
fn produce(dir: &Path, kind: &str) -> PathBuf {
    let out = dir.join(format!("{kind}.pdf"));
    let image = pki().join("signature.png");
    run_ok(
        Command::new("python3")
            .arg(script("producers.py"))
            .arg(kind)
            .arg(&out)
            .arg(&image),
    );
    out
}

/// A derived file made by `program args… IN OUT`-style commands (`cmd` receives in and out).
fn derive(
    dir: &Path,
    name: &str,
    input: &Path,
    cmd: impl FnOnce(&Path, &Path) -> Command,
) -> PathBuf {
    let out = dir.join(format!("{name}.pdf"));
    let mut c = cmd(input, &out);
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    // qpdf exits 3 for "succeeded with warnings".
    assert!(
        o.status.success() || o.status.code() == Some(3),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.exists(), "{c:?} wrote nothing");
    out
}

fn qpdf(dir: &Path, base: &Path, name: &str, args: &[&str]) -> PathBuf {
    derive(dir, name, base, |i, o| {
        let mut c = Command::new("qpdf");
        c.args(args).arg(i).arg(o);
        c
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    PyHankoApproval,
    PyHankoCertify,
    Kyso,
}

impl First {
    fn label(self) -> &'static str {
        match self {
            First::PyHankoApproval => "ph-approval",
            First::PyHankoCertify => "ph-certify",
            First::Kyso => "kyso",
        }
    }
}

/// The five forms kyso signs in: (label, key, visible, options).
fn forms() -> Vec<(&'static str, &'static str, bool, Vec<String>)> {
    let sig = pki().join("signature.png").display().to_string();
    let seal = pki().join("seal.png").display().to_string();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            "personal",
            "personal",
            true,
            s(&["--image", &sig, "--page", "1", "--rect", "20,20,120,60"]),
        ),
        (
            "organization",
            "organization",
            true,
            s(&[
                "--kind",
                "organization",
                "--image",
                &seal,
                "--page",
                "1",
                "--rect",
                "130,20,200,90",
            ]),
        ),
        (
            "copy",
            "organization",
            true,
            s(&["--kind", "copy", "--copy-form", "sao-y"]),
        ),
        (
            "attachment",
            "organization",
            true,
            s(&["--kind", "attachment", "--doc-number", "123/TB-SKHCN"]),
        ),
        ("invisible", "personal", false, s(&["--invisible"])),
    ]
}

fn first_sign(input: &Path, out: &Path, first: First) {
    match first {
        First::Kyso => sign(input, out, "personal", &["--invisible"]),
        First::PyHankoApproval | First::PyHankoCertify => {
            let mode = if first == First::PyHankoApproval {
                "approval"
            } else {
                "certify"
            };
            run_ok(
                Command::new("python3")
                    .arg(script("pyhanko_fidelity.py"))
                    .args(["sign", mode])
                    .arg(input)
                    .arg(out)
                    .arg(pki().join("personal.p12"))
                    .arg(PW),
            );
        }
    }
}

/// One signed file of the matrix and what is expected of it.
struct Signed {
    file: PathBuf,
    first: First,
    visible: bool,
    /// pyHanko refuses any change to this producer's pages for its own reason (the expected
    /// "suspicious" message of its difference analysis).
    pyhanko_refuses: Option<&'static str>,
}

/// Sign every base file first as `firsts` say, then with kyso in every form.
fn sign_matrix(dir: &Path, bases: &[PathBuf], firsts: &[First]) -> Vec<Signed> {
    let mut out = Vec::new();
    for base in bases {
        let stem = base.file_stem().unwrap().to_string_lossy().into_owned();
        for &first in firsts {
            let once = dir.join(format!("{stem}.{}.pdf", first.label()));
            first_sign(base, &once, first);
            for (label, key, visible, args) in forms() {
                let file = dir.join(format!("{stem}.{}.{label}.pdf", first.label()));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                sign(&once, &file, key, &args);
                out.push(Signed {
                    file,
                    first,
                    visible,
                    pyhanko_refuses: None,
                });
            }
        }
    }
    out
}

/// pyHanko's difference analysis with new visible fields after certification allowed
/// (`pyhanko_fidelity.py levels`), per file: per signature (level, suspicious reason).
fn pyhanko_levels(files: &[&Path]) -> Vec<Vec<(Option<String>, Option<String>)>> {
    let out = run_ok(
        Command::new("python3")
            .arg(script("pyhanko_fidelity.py"))
            .arg("levels")
            .arg(root())
            .args(files),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["level"].as_str().map(str::to_owned),
                        s["suspicious"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .collect()
}

/// `kyso verify`: both signatures intact and valid, the first followed only by allowed changes.
fn assert_kyso_keeps_the_first(file: &Path) {
    if scan_overlaid(file) {
        return;
    }
    let (_, v) = verify_json(file, &root(), &[]);
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{}: {v:#}", file.display());
    for s in sigs {
        assert_eq!(s["intact"], true, "{}: {s:#}", file.display());
        assert_eq!(
            s["certificate_path"]["status"],
            "valid",
            "{}: {s:#}",
            file.display()
        );
    }
    let first = &sigs[0]["changes_after"];
    assert_eq!(first["verdict"], "allowed", "{}: {first:#}", file.display());
    assert!(
        first["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["allowed"] == true),
        "{}: {first:#}",
        file.display()
    );
    assert_eq!(sigs[1]["changes_after"]["verdict"], "none", "{v:#}");
}

/// Every check on every file of the matrix.
fn assert_matrix(signed: &[Signed]) {
    let files: Vec<&Path> = signed.iter().map(|s| s.file.as_path()).collect();
    let strict = pyhanko(&files);
    let relaxed = pyhanko_levels(&files);
    for ((s, report), levels) in signed.iter().zip(&strict).zip(&relaxed) {
        let name = s.file.display();
        assert_kyso_keeps_the_first(&s.file);
        assert_eq!(report["error"], Value::Null, "{name}: {report:#}");
        assert_eq!(
            report["strict"], true,
            "{name}: pyHanko needed lenient syntax"
        );
        let sigs = report["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2, "{name}: {report:#}");
        for sig in sigs {
            for k in ["intact", "valid", "trusted"] {
                assert_eq!(sig[k], true, "{name}: {k}: {sig:#}");
            }
        }
        let last = &sigs[1];
        assert_eq!(last["modification_level"], "NONE", "{name}: {last:#}");
        assert_eq!(last["coverage"], "ENTIRE_FILE", "{name}: {last:#}");
        let earlier = &sigs[0];
        if let Some(why) = s.pyhanko_refuses {
            assert_eq!(
                earlier["modification_level"], "OTHER",
                "{name}: {earlier:#}"
            );
            assert_eq!(levels[0].1.as_deref(), Some(why), "{name}: {levels:?}");
            continue;
        }
        // pyHanko's default policy refuses a new visible signature field after a
        // certification; everything else kyso did is form filling.
        let refused_visible = s.first == First::PyHankoCertify && s.visible;
        if refused_visible {
            assert_eq!(
                earlier["modification_level"], "OTHER",
                "{name}: {earlier:#}"
            );
            assert_eq!(earlier["docmdp_ok"], false, "{name}: {earlier:#}");
        } else {
            assert_eq!(
                earlier["modification_level"], "FORM_FILLING",
                "{name}: {earlier:#}"
            );
            assert_eq!(earlier["docmdp_ok"], true, "{name}: {earlier:#}");
        }
        assert_eq!(
            levels[0],
            (Some("FORM_FILLING".to_owned()), None),
            "{name}: pyHanko with new visible fields after certification allowed"
        );
    }
}

const ALL_FIRSTS: &[First] = &[First::PyHankoApproval, First::PyHankoCertify, First::Kyso];

fn have_pyhanko() -> bool {
    kyso_testkit::need_python("pyhanko")
}

#[test]
fn handwritten_pdf_and_its_qpdf_transforms_keep_every_earlier_signature() {
    if !have_pyhanko() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = produce(dir, "handmade");
    let mut bases = vec![base.clone()];
    if kyso_testkit::need("qpdf", &["--version"]) {
        bases.push(qpdf(
            dir,
            &base,
            "qpdf-objstm",
            &["--object-streams=generate"],
        ));
        bases.push(qpdf(dir, &base, "qpdf-qdf", &["--qdf"]));
        bases.push(qpdf(
            dir,
            &base,
            "qpdf-normalized",
            &["--normalize-content=y", "--compress-streams=n"],
        ));
    }
    let signed = sign_matrix(dir, &bases, ALL_FIRSTS);

    // The page, the catalog and the annotations kyso rewrote keep their spelling.
    let original = std::fs::read(&base).unwrap();
    let once = std::fs::read(dir.join("handmade.kyso.pdf")).unwrap();
    let update = String::from_utf8_lossy(&once[original.len()..]);
    for kept in [
        "/CropBox [0.0 0 595.30393700787400 841.88976377952800]",
        "/UserUnit 1.0000000000000000001",
        "/K#C3#A9y#20x <</Private <4b79 736f 2d49>",
        "/Esc (a\\(b\\)c \\101\\102)",
        "/Nested (x(y)z)",
        "/PageLabels <</Nums [0 <</S /D/P (Trang\\040)>>]>>",
    ] {
        assert!(update.contains(kept), "{kept} not kept in:\n{update}");
    }
    assert_matrix(&signed);
}

#[test]
fn python_producers_keep_every_earlier_signature() {
    if !have_pyhanko() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut bases = Vec::new();
    if kyso_testkit::need_python("fpdf") {
        bases.push(produce(dir, "fpdf2"));
    }
    if kyso_testkit::need_python("reportlab") {
        bases.push(produce(dir, "reportlab"));
    }
    if kyso_testkit::need_python("img2pdf") {
        bases.push(produce(dir, "img2pdf"));
    }
    let signed = sign_matrix(dir, &bases, ALL_FIRSTS);
    assert_matrix(&signed);
}

#[test]
fn ghostscript_chromium_and_libreoffice_outputs_keep_every_earlier_signature() {
    if !have_pyhanko() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut bases = Vec::new();
    let handmade = produce(dir, "handmade");
    if kyso_testkit::need("gs", &["--version"]) {
        bases.push(derive(dir, "ghostscript", &handmade, |i, o| {
            let mut c = Command::new("gs");
            c.args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"])
                .arg(format!("-sOutputFile={}", o.display()))
                .arg(i);
            c
        }));
    }
    if kyso_testkit::need("chromium", &["--version"]) {
        let html = dir.join("letter.html");
        std::fs::write(
            &html,
            "<html><head><meta charset=utf-8></head><body><h1>Công văn số 1</h1>\
             <p>Xin chào, <a href=\"https://example.org\">đường dẫn</a>.</p></body></html>",
        )
        .unwrap();
        bases.push(derive(dir, "chromium", &html, |i, o| {
            let mut c = Command::new("chromium");
            c.args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--print-to-pdf={}", o.display()))
            .arg(i);
            c
        }));
    }
    if kyso_testkit::need("soffice", &["--version"]) {
        // LibreOffice Writer's own PDF export (Vietnamese text, a table, a link), from HTML;
        // a private profile so that parallel tests do not share one.
        let html = dir.join("congvan.html");
        std::fs::write(
            &html,
            "<html><head><meta charset=utf-8></head><body><h1>Công văn số 2</h1>\
             <p>Kính gửi: Sở Tài chính tỉnh Demo.</p><table border=1><tr><td>STT</td>\
             <td>Họ và tên</td></tr><tr><td>1</td><td>Trần Thị Bình</td></tr></table>\
             <p><a href=\"https://example.org\">đường dẫn</a></p></body></html>",
        )
        .unwrap();
        let profile = format!("file://{}", dir.join("lo-profile").display());
        let outdir = dir.join("lo-out");
        bases.push(derive(dir, "libreoffice", &html, |i, o| {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(
                    "soffice -env:UserInstallation=\"$1\" --headless \
                     --convert-to pdf:writer_web_pdf_Export --outdir \"$2\" \"$3\" && \
                     mv \"$2/congvan.pdf\" \"$4\"",
                )
                .arg("sh")
                .arg(&profile)
                .arg(&outdir)
                .arg(i)
                .arg(o);
            c
        }));
    }
    let signed = sign_matrix(dir, &bases, ALL_FIRSTS);
    assert_matrix(&signed);
}

/// Issue 24: XMP without the `xmp` namespace, with other prefixes, compressed — pyHanko
/// rewrites it when it signs, kyso never touches it; and XMP malformed before anyone signed.
#[test]
fn xmp_of_every_kind_keeps_every_earlier_signature() {
    if !have_pyhanko() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bases: Vec<PathBuf> = ["xmp-noxmp", "xmp-other", "xmp-zip"]
        .iter()
        .map(|k| produce(dir, k))
        .collect();
    let signed = sign_matrix(dir, &bases, ALL_FIRSTS);
    // kyso wrote no XMP in any of its updates (pyHanko rewrites it when it signs).
    for s in &signed {
        let bytes = std::fs::read(&s.file).unwrap();
        let name = s.file.file_name().unwrap().to_string_lossy().into_owned();
        let stem = name.split('.').next().unwrap();
        let once = std::fs::read(dir.join(format!("{stem}.{}.pdf", s.first.label()))).unwrap();
        assert!(
            !bytes[once.len()..].windows(7).any(|w| w == b"xmpmeta"),
            "kyso wrote XMP: {name}"
        );
    }
    assert_matrix(&signed);

    // Malformed already (an undeclared prefix): pyHanko will not sign it at all.
    let bad = produce(dir, "xmp-bad");
    let refused = Command::new("python3")
        .arg(script("pyhanko_fidelity.py"))
        .args(["sign", "approval"])
        .arg(&bad)
        .arg(dir.join("xmp-bad.ph.pdf"))
        .arg(pki().join("personal.p12"))
        .arg(PW)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "pyHanko signed malformed XMP");
    let original = std::fs::read(&bad).unwrap();
    let malformed = sign_matrix(dir, &[bad], &[First::Kyso]);
    for s in &malformed {
        // kyso leaves the metadata exactly as it was, and pyHanko (below) re-checks it at
        // every later revision.
        let bytes = std::fs::read(&s.file).unwrap();
        assert!(!bytes[original.len()..].windows(7).any(|w| w == b"xmpmeta"));
    }
    let files: Vec<&Path> = malformed.iter().map(|s| s.file.as_path()).collect();
    let strict = pyhanko(&files);
    let relaxed = pyhanko_levels(&files);
    for ((s, report), levels) in malformed.iter().zip(&strict).zip(&relaxed) {
        assert_kyso_keeps_the_first(&s.file);
        assert_eq!(report["strict"], true, "{report:#}");
        let earlier = &report["signatures"][0];
        assert_eq!(earlier["intact"], true, "{earlier:#}");
        assert_eq!(earlier["modification_level"], "OTHER", "{earlier:#}");
        let why = levels[0].1.as_deref().unwrap_or_default();
        assert!(
            why.contains("Namespace prefix xmp on ModifyDate is not defined"),
            "{}: {levels:?}",
            s.file.display()
        );
    }
}

/// fpdf2 writes link annotations as dictionaries inside `/Annots`; pyHanko's difference
/// analysis refuses any later change to such an array ("Array contains direct objects"), its
/// own second signature included. kyso keeps the dictionaries as they were and allows the
/// change.
#[test]
fn direct_annotation_dictionaries_are_kept_as_they_were() {
    if !have_pyhanko() || !kyso_testkit::need_python("fpdf") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = produce(dir, "fpdf2-links");
    let mut signed = sign_matrix(dir, std::slice::from_ref(&base), ALL_FIRSTS);
    for s in &mut signed {
        s.pyhanko_refuses = Some("Array contains direct objects");
    }
    let files: Vec<&Path> = signed.iter().map(|s| s.file.as_path()).collect();
    let strict = pyhanko(&files);
    let relaxed = pyhanko_levels(&files);
    for ((s, report), levels) in signed.iter().zip(&strict).zip(&relaxed) {
        assert_kyso_keeps_the_first(&s.file);
        assert_eq!(report["strict"], true, "{report:#}");
        let earlier = &report["signatures"][0];
        assert_eq!(earlier["intact"], true, "{earlier:#}");
        assert_eq!(earlier["modification_level"], "OTHER", "{earlier:#}");
        assert_eq!(
            levels[0].1.as_deref(),
            s.pyhanko_refuses,
            "{}",
            s.file.display()
        );
    }
    // pyHanko signing after pyHanko gets the same answer from pyHanko.
    let once = dir.join("fpdf2-links.ph-approval.pdf");
    let twice = dir.join("fpdf2-links.ph-twice.pdf");
    pyhanko_sign(
        &once,
        &twice,
        &pki().join("personal.p12"),
        PW,
        "PyHanko2",
        &[],
    );
    let levels = pyhanko_levels(&[&twice]);
    assert_eq!(
        levels[0][0].1.as_deref(),
        Some("Array contains direct objects")
    );
}

/// Issue 14/3: on img2pdf's page (one image filling the page, a scan) every visible form of
/// kyso paints over that image, content of the first signature's revision: the first
/// signature's changes are `ANNOTATION_OVERLAYS_CONTENT` (its detail naming the image) and
/// nothing else is refused. True when the file is such a case (checked here).
fn scan_overlaid(file: &Path) -> bool {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    if !name.starts_with("img2pdf.") || name.ends_with(".invisible.pdf") {
        return false;
    }
    let (_, v) = verify_json(file, &root(), &[]);
    let first = &v["signatures"][0]["changes_after"];
    assert_eq!(first["verdict"], "disallowed", "{name}: {first:#}");
    for c in first["changes"].as_array().unwrap() {
        if c["allowed"] == false {
            assert_eq!(c["code"], "ANNOTATION_OVERLAYS_CONTENT", "{name}: {c:#}");
            assert!(c["detail"].as_str().unwrap().contains("image"), "{c:#}");
        }
    }
    assert_eq!(v["signatures"][1]["changes_after"]["verdict"], "none");
    true
}
