//! Draft conversion with the real LibreOffice: a DOCX and an ODT written here (two A4 pages
//! each) become PDFs that kyso-pdf reads with the right page count and size; conversions run
//! concurrently; a conversion past its deadline is stopped with its whole process group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyso_services::convert::{detect, to_pdf, ConvertError, ConvertOptions, DraftType};

fn zip(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in entries {
        w.start_file(*name, stored).unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A two-page Word document on A4 (a page break between two paragraphs).
fn docx() -> Vec<u8> {
    zip(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>"#,
        ),
        (
            "word/document.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body>
<w:p><w:r><w:t>Số: 12/UBND-VP</w:t></w:r></w:p>
<w:p><w:r><w:t>Trang một của dự thảo.</w:t></w:r></w:p>
<w:p><w:r><w:br w:type="page"/><w:t>Trang hai của dự thảo.</w:t></w:r></w:p>
<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>
<w:pgMar w:top="1247" w:right="1077" w:bottom="1247" w:left="1871" w:header="0" w:footer="0" w:gutter="0"/></w:sectPr>
</w:body>
</w:document>"#,
        ),
    ])
}

/// A two-page OpenDocument text on A4 (the second paragraph's style breaks the page).
fn odt() -> Vec<u8> {
    zip(&[
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        (
            "META-INF/manifest.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#,
        ),
        (
            "styles.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2">
<office:automatic-styles>
<style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="210mm" fo:page-height="297mm"
 fo:margin-top="22mm" fo:margin-bottom="22mm" fo:margin-left="33mm" fo:margin-right="19mm"/></style:page-layout>
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"/></office:master-styles>
</office:document-styles>"#,
        ),
        (
            "content.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2">
<office:automatic-styles>
<style:style style:name="P1" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style>
</office:automatic-styles>
<office:body><office:text>
<text:p>Số: 12/UBND-VP</text:p>
<text:p>Trang một của dự thảo.</text:p>
<text:p text:style-name="P1">Trang hai của dự thảo.</text:p>
</office:text></office:body>
</office:document-content>"#,
        ),
    ])
}

fn soffice() -> bool {
    kyso_testkit::need("soffice", &["--version"])
}

/// The pages' media boxes of a PDF, read by kyso-pdf.
fn pages(pdf: &[u8]) -> Vec<[f64; 4]> {
    let doc = kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    doc.pages().unwrap().iter().map(|p| p.media_box).collect()
}

fn assert_two_a4_pages(pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-1."));
    // What the upload's format check then says: no errors (version, A4, fonts embedded, no
    // JavaScript); the number line is found.
    let report = kyso_pades::format_check::check(pdf);
    assert!(report.passes(), "{:#?}", report.findings);
    assert_eq!(report.page_count, 2);
    // The drafts set Decree 30 margins (top 22, left 33 mm): measured from the text, as set.
    let [top, _, _, left] = report.first_page_margins.unwrap();
    assert!(
        (top - 22.0).abs() < 2.0 && (left - 33.0).abs() < 1.0,
        "{top} {left}"
    );
    use kyso_pades::format_check::Code;
    for code in [Code::NoNumberLine, Code::MarginTop, Code::MarginLeft] {
        assert!(!report.has(code), "{:#?}", report.findings);
    }
    let boxes = pages(pdf);
    assert_eq!(boxes.len(), 2, "{boxes:?}");
    for b in boxes {
        // A4 is 595.28 × 841.89 points.
        assert!(
            (b[2] - b[0] - 595.3).abs() < 1.5 && (b[3] - b[1] - 841.9).abs() < 1.5,
            "{b:?}"
        );
    }
}

#[test]
fn the_generated_drafts_are_recognised_by_their_bytes() {
    assert_eq!(detect(&docx()), Some(DraftType::Docx));
    assert_eq!(detect(&odt()), Some(DraftType::Odt));
    // An OpenDocument spreadsheet and a ZIP of anything are not drafts.
    let ods = zip(&[
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", "<x/>"),
    ]);
    assert_eq!(detect(&ods), None);
    assert_eq!(detect(&zip(&[("a.txt", "hello")])), None);
    assert!(matches!(
        to_pdf(&ods, &ConvertOptions::default()),
        Err(ConvertError::UnknownType)
    ));
}

#[test]
fn a_docx_becomes_a_two_page_a4_pdf() {
    if !soffice() {
        return;
    }
    assert_two_a4_pages(&to_pdf(&docx(), &ConvertOptions::default()).unwrap());
}

#[test]
fn an_odt_becomes_a_two_page_a4_pdf() {
    if !soffice() {
        return;
    }
    assert_two_a4_pages(&to_pdf(&odt(), &ConvertOptions::default()).unwrap());
}

#[test]
fn concurrent_conversions_each_have_their_own_profile() {
    if !soffice() {
        return;
    }
    let threads: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                let draft = if i % 2 == 0 { docx() } else { odt() };
                to_pdf(&draft, &ConvertOptions::default())
            })
        })
        .collect();
    for t in threads {
        assert_two_a4_pages(&t.join().unwrap().unwrap());
    }
}

/// The state letter of `/proc/<pid>/stat`, or `None` when the process is gone.
fn process_state(pid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(") ").next()?.chars().next()
}

#[test]
fn a_conversion_past_its_deadline_is_stopped_with_its_children() {
    // A stand-in for soffice that starts a child (as the script starts soffice.bin) and hangs.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let fake: PathBuf = dir.path().join("soffice");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nsleep 60 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let opts = ConvertOptions {
        program: fake,
        timeout: Duration::from_millis(700),
        ..ConvertOptions::default()
    };
    let started = Instant::now();
    let err = to_pdf(&odt(), &opts).unwrap_err();
    assert!(matches!(err, ConvertError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let ue = err.user_error();
    assert!(ue.vi.contains("tải lên bản PDF") && ue.en.contains("upload a PDF"));
    let child = std::fs::read_to_string(&pid_file).unwrap();
    let child = child.trim();
    // The child was killed too: gone, or a zombie waiting for a reaper.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match process_state(child) {
            None | Some('Z') => break,
            Some(s) if Instant::now() > deadline => panic!("the child {child} still runs ({s})"),
            Some(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[test]
fn a_damaged_draft_is_a_typed_failure_with_libreoffice_s_words() {
    if !soffice() {
        return;
    }
    // A DOCX by its directory whose document is not XML: LibreOffice exits 0 without a PDF.
    let bad = zip(&[
        (
            "[Content_Types].xml",
            r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#,
        ),
        ("word/document.xml", "\u{1} not xml <<<"),
    ]);
    assert_eq!(detect(&bad), Some(DraftType::Docx));
    let err = to_pdf(&bad, &ConvertOptions::default()).unwrap_err();
    let ConvertError::Failed { stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(stderr.contains("could not be loaded"), "{stderr}");
    let ue = err.user_error();
    assert!(ue.vi.contains("không chuyển được") && ue.en.contains("could not convert"));
}
