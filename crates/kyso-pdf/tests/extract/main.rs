#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Page extraction (`kyso_pdf::extract`, the base of a TRÍCH SAO): a hand-made document with
//! everything an extract must leave behind (AcroForm, a signature widget, a link into another
//! page, OpenAction JavaScript, inherited attributes on the page tree), documents of other
//! producers (LibreOffice; qpdf with object streams and cross-reference streams; Ghostscript),
//! checked with `qpdf --check` and `pdftotext`; determinism, byte-exact streams, limits, and
//! property tests (random selections, random damage: never a panic).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyso_pdf::extract::{extract, extract_pages, ExtractLimits, PageSelection};
use kyso_pdf::writer::classic_pdf;
use kyso_pdf::{Document, Error, Limits, MemSource, Object};
use proptest::prelude::*;

fn open(bytes: &[u8]) -> Document {
    Document::open(Arc::new(MemSource::new(bytes.to_vec())), Limits::default()).unwrap()
}

fn sel(spec: &str) -> PageSelection {
    PageSelection::parse(spec).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The raw (encoded) bytes of every content stream of each page, in order.
fn contents(doc: &Document) -> Vec<Vec<Vec<u8>>> {
    doc.pages()
        .unwrap()
        .iter()
        .map(|p| {
            let c = doc.resolve(p.dict.get("Contents").unwrap()).unwrap();
            let items = match c {
                Object::Array(a) => a,
                other => vec![other],
            };
            items
                .iter()
                .map(|i| match doc.resolve(i).unwrap() {
                    Object::Stream(s) => doc.raw_data(&s).unwrap(),
                    other => panic!("contents {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// Three pages under a tree that carries the inherited attributes; page 1 has a signature
/// widget (in the AcroForm), a link to page 3 and a stamp annotation; the catalog has an
/// OpenAction with JavaScript and names.
fn hand_made() -> Vec<u8> {
    classic_pdf(&[
        // 1 catalog
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R] /SigFlags 3 >> \
         /OpenAction 12 0 R /Names << /JavaScript 12 0 R >> >>",
        // 2 page tree: inherited MediaBox, Rotate, Resources
        "<< /Type /Pages /Kids [3 0 R 13 0 R] /Count 3 /MediaBox [0 0 595 842] /Rotate 90 \
         /Resources << /Font << /F1 6 0 R >> >> >>",
        // 3 page 1
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [7 0 R 8 0 R 9 0 R] \
         /StructParents 0 /AA << /O 12 0 R >> >>",
        // 4 content of page 1
        "<< /Length 40 >>\nstream\nBT /F1 12 Tf 72 720 Td (Trang mot) Tj ET\nendstream",
        // 5 content of page 2
        "<< /Length 40 >>\nstream\nBT /F1 12 Tf 72 720 Td (Trang hai) Tj ET\nendstream",
        // 6 font
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        // 7 signature field + widget
        "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Sig1) /Rect [0 0 100 50] /P 3 0 R \
         /AP << /N 10 0 R >> >>",
        // 8 link to page 3
        "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /Dest [14 0 R /Fit] >>",
        // 9 stamp annotation with an appearance and an action
        "<< /Type /Annot /Subtype /Stamp /Rect [300 300 400 350] /P 3 0 R /AP << /N 11 0 R >> \
         /A 12 0 R /Popup 7 0 R >>",
        // 10 widget appearance
        "<< /Type /XObject /Subtype /Form /BBox [0 0 100 50] /Length 9 >>\nstream\n0 0 m S Q\nendstream",
        // 11 stamp appearance
        "<< /Type /XObject /Subtype /Form /BBox [0 0 100 50] /Length 11 >>\nstream\n0 0 m 1 1 l\nendstream",
        // 12 JavaScript action
        "<< /S /JavaScript /JS (app.alert\\(1\\)) >>",
        // 13 intermediate node with pages 2 and 3, its own CropBox
        "<< /Type /Pages /Parent 2 0 R /Kids [15 0 R 14 0 R] /Count 2 /CropBox [10 10 500 800] >>",
        // 14 page 3: own MediaBox and Resources
        "<< /Type /Page /Parent 13 0 R /Contents 16 0 R /MediaBox [0 0 842 595] /Rotate 0 \
         /Resources << >> >>",
        // 15 page 2
        "<< /Type /Page /Parent 13 0 R /Contents 5 0 R >>",
        // 16 content of page 3
        "<< /Length 1 >>\nstream\nq\nendstream",
    ])
}

#[test]
fn an_extract_keeps_the_pages_and_leaves_the_form_the_signatures_and_the_scripts() {
    let src = hand_made();
    let original = open(&src);
    assert_eq!(original.pages().unwrap().len(), 3);
    let out = extract(&src, &sel("1,3")).unwrap();
    let doc = open(&out);
    let pages = doc.pages().unwrap();
    assert_eq!(pages.len(), 2);
    // Inherited attributes are the pages' own now.
    let p1 = &pages[0];
    assert_eq!(p1.media_box, [0.0, 0.0, 595.0, 842.0]);
    assert_eq!(p1.rotate, 90);
    assert!(p1.dict.contains("MediaBox") && p1.dict.contains("Resources"));
    let font = doc
        .resolve_dict(p1.dict.get("Resources").unwrap(), "res")
        .unwrap();
    assert!(font.get("Font").is_some());
    let p3 = &pages[1];
    assert_eq!(p3.media_box, [0.0, 0.0, 842.0, 595.0]);
    assert_eq!(p3.crop_box, [10.0, 10.0, 500.0, 595.0]);
    assert_eq!(p3.rotate, 0);
    assert!(p3.dict.contains("CropBox"));
    // The content streams are byte for byte the original's.
    let before = contents(&original);
    assert_eq!(contents(&doc), vec![before[0].clone(), before[2].clone()]);
    // No form, no action, no names: only /Type and /Pages in the catalog.
    let catalog = doc.catalog().unwrap();
    let keys: Vec<String> = catalog
        .iter()
        .map(|(k, _)| k.as_str().into_owned())
        .collect();
    assert_eq!(keys, ["Type", "Pages"]);
    // Only the stamp annotation is left, without its action and popup, pointing to its page.
    let annots = doc.resolve(p1.dict.get("Annots").unwrap()).unwrap();
    let annots = annots.as_array().unwrap();
    assert_eq!(annots.len(), 1);
    let stamp = doc.resolve_dict(&annots[0], "annot").unwrap();
    assert_eq!(stamp.get_name("Subtype").unwrap().as_str(), "Stamp");
    assert!(!stamp.contains("A") && !stamp.contains("Popup"));
    assert_eq!(stamp.get("P").unwrap().as_ref(), Some(p1.id));
    for key in ["AA", "StructParents", "Parent"] {
        assert!(key == "Parent" || !p1.dict.contains(key), "{key}");
    }
    // Nothing in the file names a signature, a widget or JavaScript.
    for needle in [
        &b"/Widget"[..],
        b"/Sig",
        b"JavaScript",
        b"/JS",
        b"AcroForm",
        b"/Link",
    ] {
        assert!(
            !out.windows(needle.len()).any(|w| w == needle),
            "{}",
            String::from_utf8_lossy(needle)
        );
    }
    // Deterministic; every page of the extract extracted again gives it back.
    assert_eq!(extract(&src, &sel("1,3")).unwrap(), out);
    assert_eq!(extract(&out, &sel("1-2")).unwrap(), out);
    assert_eq!(extract(&src, &sel("3,1,1")).unwrap(), out);
    qpdf_accepts(&out);
}

#[test]
fn out_of_range_and_limits_are_errors() {
    let src = hand_made();
    assert_eq!(
        extract(&src, &sel("2-4")),
        Err(Error::PageOutOfRange { index: 4, count: 3 })
    );
    let doc = open(&src);
    let tight = ExtractLimits {
        max_objects: 4,
        ..ExtractLimits::default()
    };
    assert!(matches!(
        extract_pages(&doc, &sel("1"), &tight),
        Err(Error::LimitExceeded { limit, .. }) if limit.contains("objects")
    ));
    let small = ExtractLimits {
        max_stream_bytes: 10,
        ..ExtractLimits::default()
    };
    assert!(matches!(
        extract_pages(&doc, &sel("1"), &small),
        Err(Error::LimitExceeded { limit, .. }) if limit.contains("stream bytes")
    ));
    // A reference cycle through the resources is copied once, not followed forever.
    let cyclic = classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Resources 4 0 R >>",
        "<< /XObject << /X 5 0 R >> /Self 4 0 R >>",
        "<< /Next 4 0 R /Page 3 0 R /Tree 2 0 R /Root 1 0 R >>",
    ]);
    let out = extract(&cyclic, &sel("1")).unwrap();
    let doc = open(&out);
    assert_eq!(doc.pages().unwrap().len(), 1);
    assert_eq!(
        doc.size(),
        6,
        "catalog, tree, page, 2 resources (and object 0)"
    );
    // Nesting deeper than the extract's limit.
    let deep = format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /X {}1{} >>",
        "[".repeat(40),
        "]".repeat(40)
    );
    let deep = classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        deep.as_str(),
    ]);
    let doc = open(&deep);
    let shallow = ExtractLimits {
        max_depth: 16,
        ..ExtractLimits::default()
    };
    assert!(matches!(
        extract_pages(&doc, &sel("1"), &shallow),
        Err(Error::LimitExceeded { limit, .. }) if limit.contains("nesting")
    ));
    assert!(extract_pages(&doc, &sel("1"), &ExtractLimits::default()).is_ok());
}

/// `qpdf --check` finds no error or warning. A listed skip without qpdf.
fn qpdf_accepts(pdf: &[u8]) {
    if !kyso_testkit::need("qpdf", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extract.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("No syntax or stream encoding errors"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("WARNING"), "{text}");
}

/// What `pdftotext` reads on page `n` of `file` (1-based).
fn page_text(file: &Path, n: u32) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-f", &n.to_string(), "-l", &n.to_string()])
        .arg(file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// A three-page document made by another producer from the committed fixtures (page 1:
/// LibreOffice, page 2: fpdf2 Vietnamese letter, page 3: the rotated one).
fn three_pages(dir: &Path, producer: &str) -> Option<PathBuf> {
    let inputs = [
        fixture("letter_vi_libreoffice.pdf"),
        fixture("letter_vi.pdf"),
        fixture("letter_vi_rotate90.pdf"),
    ];
    let out = dir.join(format!("{producer}.pdf"));
    let mut cmd = match producer {
        "qpdf" => {
            if !kyso_testkit::need("qpdf", &["--version"]) {
                return None;
            }
            let mut c = std::process::Command::new("qpdf");
            c.args(["--object-streams=generate", "--empty", "--pages"]);
            c.args(&inputs).arg("--").arg(&out);
            c
        }
        _ => {
            if !kyso_testkit::need("gs", &["--version"]) {
                return None;
            }
            let mut c = std::process::Command::new("gs");
            c.args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"]);
            c.arg(format!("-sOutputFile={}", out.display()));
            c.args(&inputs);
            c
        }
    };
    let ran = cmd.output().unwrap();
    assert!(ran.status.success(), "{producer}: {ran:?}");
    Some(out)
}

#[test]
fn documents_of_other_producers_extract_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // LibreOffice, as committed.
    let lo = std::fs::read(fixture("letter_vi_libreoffice.pdf")).unwrap();
    let out = extract(&lo, &sel("1")).unwrap();
    assert_eq!(contents(&open(&out)), contents(&open(&lo)));
    qpdf_accepts(&out);
    for producer in ["qpdf", "gs"] {
        let Some(file) = three_pages(dir.path(), producer) else {
            continue;
        };
        let src = std::fs::read(&file).unwrap();
        let original = open(&src);
        assert_eq!(original.pages().unwrap().len(), 3, "{producer}");
        let out = extract(&src, &sel("1,3")).unwrap();
        assert_eq!(extract(&src, &sel("1,3")).unwrap(), out, "{producer}");
        let doc = open(&out);
        let pages = doc.pages().unwrap();
        assert_eq!(pages.len(), 2, "{producer}");
        let before = contents(&original);
        assert_eq!(contents(&doc), vec![before[0].clone(), before[2].clone()]);
        let orig_pages = original.pages().unwrap();
        for (new, old) in pages.iter().zip([&orig_pages[0], &orig_pages[2]]) {
            assert_eq!(
                (new.media_box, new.crop_box, new.rotate),
                (old.media_box, old.crop_box, old.rotate),
                "{producer}"
            );
        }
        qpdf_accepts(&out);
        if kyso_testkit::need("pdftotext", &["-v"]) {
            let extracted = dir.path().join(format!("{producer}-extract.pdf"));
            std::fs::write(&extracted, &out).unwrap();
            assert_eq!(page_text(&extracted, 1), page_text(&file, 1), "{producer}");
            assert_eq!(page_text(&extracted, 2), page_text(&file, 3), "{producer}");
        }
    }
}

/// An n-page document of kyso's own composer (one paragraph per page, forced page breaks).
fn composed(n: usize) -> Vec<u8> {
    use kyso_pdf::compose::{Composer, DocInfo, Margins, Style};
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    for i in 0..n {
        c.paragraph(
            &format!("Trang số {} của văn bản thử.", i + 1),
            &Style::new(13.0),
        )
        .unwrap();
        if i + 1 < n {
            let fill = c.remaining_pt() / kyso_pdf::compose::PT_PER_MM + 1.0;
            c.spacer(fill);
        }
    }
    c.finish(&DocInfo::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any selection of an n-page document: the chosen pages in order, their streams byte for
    /// byte, the same bytes twice, and a file kyso reads back.
    #[test]
    fn any_selection_gives_those_pages(n in 1usize..6, picks in proptest::collection::vec(0usize..6, 1..6)) {
        let src = composed(n);
        let original = open(&src);
        prop_assert_eq!(original.pages().unwrap().len(), n);
        let mut pages: Vec<u32> = picks.iter().map(|p| (p % n) as u32 + 1).collect();
        let spec = pages.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        pages.sort_unstable();
        pages.dedup();
        let s = sel(&spec);
        prop_assert_eq!(s.pages(), pages.as_slice());
        let out = extract(&src, &s).unwrap();
        prop_assert_eq!(&extract(&src, &s).unwrap(), &out);
        let doc = open(&out);
        let before = contents(&original);
        let want: Vec<_> = pages.iter().map(|&p| before[p as usize - 1].clone()).collect();
        prop_assert_eq!(contents(&doc), want);
        // Every page of an extract, extracted again: the same bytes.
        let all = sel(&format!("1-{}", pages.len()));
        prop_assert_eq!(extract(&out, &all).unwrap(), out);
    }

    /// Damaged input (bytes overwritten anywhere): an error or an extract, never a panic; an
    /// extract that comes out opens again.
    #[test]
    fn damaged_input_never_panics(at in proptest::collection::vec((0usize..4000, any::<u8>()), 1..8)) {
        let mut src = hand_made();
        for (i, b) in at {
            let len = src.len();
            src[i % len] = b;
        }
        if let Ok(out) = extract(&src, &sel("1-3")) {
            let doc = Document::open(Arc::new(MemSource::new(out)), Limits::default());
            prop_assert!(doc.is_ok());
        }
        let _ = extract(&src, &sel("2"));
    }

    /// Any text as a page list: parsed or refused, never a panic; a parsed list spells back to
    /// itself.
    #[test]
    fn any_page_list_is_parsed_or_refused(spec in "[0-9,;\\- –a]{0,40}") {
        if let Ok(s) = PageSelection::parse(&spec) {
            prop_assert_eq!(PageSelection::parse(&s.spec()).unwrap(), s);
        }
    }
}
