//! The draft format check (`kyso_pades::format_check`) on letters made by kyso's composer, on
//! the corpus files of other producers (fpdf2, qpdf, LibreOffice), on small PDFs written here
//! with exactly one fault each, and on mangled bytes (no panic).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use kyso_pades::format_check::{check, Code, FormatReport, Severity};
use kyso_pdf::compose::{Align, Composer, DocInfo, Margins, Style};

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../tests/corpus/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn codes(r: &FormatReport, severity: Severity) -> Vec<Code> {
    r.findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.code)
        .collect()
}

const BODY: &str = "Căn cứ Luật Giao dịch điện tử ngày 22 tháng 6 năm 2023; căn cứ Nghị định số \
    68/2024/NĐ-CP của Chính phủ quy định về chữ ký số chuyên dùng công vụ; theo đề nghị của \
    Chánh Văn phòng, Ủy ban nhân dân tỉnh thông báo kế hoạch triển khai chữ ký số trong các cơ \
    quan nhà nước trên địa bàn tỉnh năm 2026 như sau.";

/// An official letter in the Decree 30 layout: the title block with the number and the
/// place-and-date line, then `paragraphs` justified paragraphs.
fn letter(margins: Margins, number_line: bool, paragraphs: usize) -> Vec<u8> {
    letter_numbered(margins, number_line, paragraphs, false)
}

/// [`letter`], its pages from the second on numbered in the top margin when `page_numbers`.
fn letter_numbered(
    margins: Margins,
    number_line: bool,
    paragraphs: usize,
    page_numbers: bool,
) -> Vec<u8> {
    let mut c = Composer::a4(margins).unwrap();
    let s = Style::new(13.0);
    if page_numbers {
        c.number_pages(&s).unwrap();
    }
    let left = if number_line {
        "ỦY BAN NHÂN DÂN\nTỈNH DEMO\nSố: 12/UBND-VP"
    } else {
        "ỦY BAN NHÂN DÂN\nTỈNH DEMO"
    };
    let center = s.clone().align(Align::Center);
    c.columns(
        (left, &center),
        (
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nTỉnh Demo, ngày 02 tháng 01 năm 2026",
            &center,
        ),
        0.4,
    )
    .unwrap();
    c.paragraph("THÔNG BÁO", &s.clone().bold().align(Align::Center))
        .unwrap();
    for _ in 0..paragraphs {
        c.paragraph(BODY, &s.clone().align(Align::Justify).after(6.0))
            .unwrap();
    }
    c.finish(&DocInfo::default()).unwrap()
}

fn decree30_margins() -> Margins {
    Margins {
        top: 22.0,
        bottom: 22.0,
        left: 32.0,
        right: 17.0,
    }
}

#[test]
fn a_decree_30_letter_passes_without_warnings() {
    let pdf = letter(decree30_margins(), true, 14);
    let r = check(&pdf);
    assert!(r.passes(), "{:#?}", r.findings);
    assert_eq!(r.findings, vec![], "{:#?}", r.findings);
    assert_eq!(r.version.as_deref(), Some("1.7"));
    assert!(r.page_count >= 2, "{}", r.page_count);
    assert!(r.pages.iter().all(|p| p.a4 && !p.landscape));
    let [top, right, _bottom, left] = r.first_page_margins.unwrap();
    assert!((top - 22.0).abs() < 1.5, "{top}");
    assert!((left - 32.0).abs() < 1.0, "{left}");
    assert!((right - 17.0).abs() < 1.0, "{right}");
}

/// Decree 30 numbers the pages from the second on in the top margin: the number is not
/// content intruding into the margin.
#[test]
fn page_numbers_in_the_top_margin_are_not_a_narrow_margin() {
    let pdf = letter_numbered(decree30_margins(), true, 14, true);
    let doc = kyso_pdf::Document::open(
        std::sync::Arc::new(kyso_pdf::MemSource::new(pdf.clone())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    let second = kyso_pdf::text::page_text(&doc, 1).unwrap();
    assert_eq!(second.lines.first().map(|l| l.text.as_str()), Some("2"));
    let r = check(&pdf);
    assert_eq!(r.findings, vec![], "{:#?}", r.findings);
}

#[test]
fn narrow_margins_are_warnings_per_side() {
    let m = Margins {
        top: 10.0,
        bottom: 10.0,
        left: 12.0,
        right: 8.0,
    };
    let r = check(&letter(m, true, 14));
    assert!(
        r.passes(),
        "margins are warnings, not errors: {:#?}",
        r.findings
    );
    let w = codes(&r, Severity::Warning);
    for code in [
        Code::MarginTop,
        Code::MarginBottom,
        Code::MarginLeft,
        Code::MarginRight,
    ] {
        assert!(w.contains(&code), "{code:?} missing in {w:?}");
    }
    let left = r
        .findings
        .iter()
        .find(|f| f.code == Code::MarginLeft)
        .unwrap();
    assert!(left.vi.contains("Lề trái 12.0 mm"), "{}", left.vi);
    assert!(left.en.contains("left margin is 12.0 mm"), "{}", left.en);
}

#[test]
fn wide_margins_and_a_missing_number_line_are_warnings() {
    let m = Margins {
        top: 40.0,
        bottom: 22.0,
        left: 45.0,
        right: 17.0,
    };
    let r = check(&letter(m, false, 3));
    assert!(r.passes(), "{:#?}", r.findings);
    assert_eq!(
        codes(&r, Severity::Warning),
        vec![Code::NoNumberLine, Code::MarginTop, Code::MarginLeft],
        "{:#?}",
        r.findings
    );
}

#[test]
fn corpus_letters_of_other_producers() {
    // fpdf2's letter: PDF 1.3 (an error), left margin 25 mm (a warning); fonts embedded,
    // number and date lines found.
    let r = check(&corpus("one-page.pdf"));
    assert_eq!(codes(&r, Severity::Error), vec![Code::VersionTooOld]);
    assert!(r.errors().next().unwrap().en.contains("1.3"));
    assert_eq!(r.page_count, 1);
    assert!(r.pages[0].a4);
    let w = codes(&r, Severity::Warning);
    assert!(w.contains(&Code::MarginLeft), "{w:?}");
    assert!(
        !w.contains(&Code::NoNumberLine) && !w.contains(&Code::NoDateLine),
        "{w:?}"
    );

    assert_eq!(check(&corpus("letter-classic.pdf")).page_count, 2);
    // The same letter rewritten as PDF 2.0 and with object streams: no version error.
    for (name, version) in [("letter-pdf20.pdf", "2.0"), ("letter-objstm.pdf", "1.5")] {
        let r = check(&corpus(name));
        assert_eq!(r.version.as_deref(), Some(version), "{name}");
        assert_eq!(
            codes(&r, Severity::Error),
            vec![],
            "{name}: {:#?}",
            r.findings
        );
        assert_eq!(r.page_count, 2, "{name}");
    }
    // LibreOffice 7.4's PDF 1.6 with its own font subsets: no errors; the plan has a number
    // line but no date line.
    let r = check(&corpus("libreoffice.pdf"));
    assert!(r.passes(), "{:#?}", r.findings);
    assert_eq!(r.version.as_deref(), Some("1.6"));
    let w = codes(&r, Severity::Warning);
    assert!(!w.contains(&Code::NoNumberLine), "{w:?}");
}

#[test]
fn corpus_files_that_are_not_drafts() {
    assert_eq!(
        codes(&check(&corpus("bad-encrypted.pdf")), Severity::Error),
        vec![Code::Encrypted]
    );
    assert_eq!(
        codes(&check(&corpus("bad-not-a-pdf.pdf")), Severity::Error),
        vec![Code::NotPdf]
    );
    let truncated = check(&corpus("bad-truncated.pdf"));
    assert!(!truncated.passes());
    // A scan has no text: the layout cannot be checked, which is said.
    let scan = check(&corpus("scan.pdf"));
    assert!(scan.has(Code::NoText), "{:#?}", scan.findings);
    // /Rotate 90 shows the A4 page in landscape.
    let rotated = check(&corpus("rotated-90.pdf"));
    assert!(rotated.pages[0].a4 && rotated.pages[0].landscape);
    assert!(rotated.has(Code::Landscape));
    assert!(!rotated.has(Code::NotA4));
}

/// A PDF from its objects (numbered from 1), with a correct cross-reference table.
fn pdf(version: &str, objects: &[&str]) -> Vec<u8> {
    let mut out = format!("%PDF-{version}\n").into_bytes();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

const CONTENT: &str =
    "<< /Length 44 >>\nstream\nBT /F1 12 Tf 90 760 Td (Hello draft) Tj ET\nendstream";

const JS_ACTION: &str = "<< /S /JavaScript /JS (app.alert\\('hi'\\)) >>";

/// One page of `media` with catalog extras `cat`, page extras `page` and the font `font`;
/// object 6 is `<< >>` (no JavaScript unless a test puts [`JS_ACTION`] there, see
/// [`one_page_with`]).
fn one_page(version: &str, cat: &str, media: &str, page: &str, font: &str) -> Vec<u8> {
    one_page_with(version, cat, media, page, font, "<< >>")
}

fn one_page_with(
    version: &str,
    cat: &str,
    media: &str,
    page: &str,
    font: &str,
    obj6: &str,
) -> Vec<u8> {
    pdf(
        version,
        &[
            &format!("<< /Type /Catalog /Pages 2 0 R {cat} >>"),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox {media} /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R {page} >>"
            ),
            font,
            CONTENT,
            obj6,
        ],
    )
}

const A4: &str = "[0 0 595.28 841.89]";
const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
const TYPE3: &str = "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0] /CharProcs << >> /Encoding << /Differences [] >> /FirstChar 0 /LastChar 0 /Widths [0] >>";

#[test]
fn each_fault_is_found_alone() {
    // The baseline: A4, a Type 3 font (drawn by the file itself), PDF 1.4 — no errors.
    let base = check(&one_page("1.4", "", A4, "", TYPE3));
    assert_eq!(
        codes(&base, Severity::Error),
        vec![],
        "{:#?}",
        base.findings
    );

    let letter = check(&one_page("1.4", "", "[0 0 612 792]", "", TYPE3));
    assert_eq!(codes(&letter, Severity::Error), vec![Code::NotA4]);
    assert!(
        letter.findings[0].vi.contains("215.9 × 279.4 mm"),
        "{}",
        letter.findings[0].vi
    );

    let helvetica = check(&one_page("1.4", "", A4, "", HELVETICA));
    assert_eq!(
        codes(&helvetica, Severity::Error),
        vec![Code::FontNotEmbedded]
    );
    assert!(helvetica.findings[0].en.contains("Helvetica"));

    let old = check(&one_page("1.3", "", A4, "", TYPE3));
    assert_eq!(codes(&old, Severity::Error), vec![Code::VersionTooOld]);
    // The catalog's /Version raises a 1.3 header.
    let raised = check(&one_page("1.3", "/Version /1.7", A4, "", TYPE3));
    assert_eq!(codes(&raised, Severity::Error), vec![]);
    assert_eq!(raised.version.as_deref(), Some("1.7"));

    for (cat, page, code) in [
        ("/OpenAction 6 0 R", "", Code::JavaScript),
        (
            "/Names << /JavaScript << /Names [(a) 6 0 R] >> >>",
            "",
            Code::JavaScript,
        ),
        // Not referenced at all: every object is read, so it is found anyway.
        ("", "", Code::JavaScript),
    ] {
        let r = check(&one_page_with("1.4", cat, A4, page, TYPE3, JS_ACTION));
        assert_eq!(
            codes(&r, Severity::Error),
            vec![code],
            "{cat} {page}: {:#?}",
            r.findings
        );
        assert!(r.findings[0].en.contains("6 0 R"), "{}", r.findings[0].en);
    }
    for (cat, page) in [
        ("/AA << /WC << /S /GoTo /D [3 0 R /Fit] >> >>", ""),
        ("", "/AA << /O << /S /Named /N /NextPage >> >>"),
    ] {
        let r = check(&one_page("1.4", cat, A4, page, TYPE3));
        assert_eq!(
            codes(&r, Severity::Error),
            vec![Code::AdditionalActions],
            "{cat} {page}"
        );
    }
    // An /OpenAction that is a destination, not an action, is fine.
    let goto = check(&one_page("1.4", "/OpenAction [3 0 R /Fit]", A4, "", TYPE3));
    assert_eq!(codes(&goto, Severity::Error), vec![]);

    // A landscape A4 page is A4, noted.
    let wide = check(&one_page("1.4", "", "[0 0 841.89 595.28]", "", TYPE3));
    assert!(wide.has(Code::Landscape) && !wide.has(Code::NotA4));
}

#[test]
fn mangled_drafts_never_panic() {
    let seeds = [
        corpus("one-page.pdf"),
        corpus("libreoffice.pdf"),
        one_page_with("1.4", "/OpenAction 6 0 R", A4, "", HELVETICA, JS_ACTION),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for seed in &seeds {
        // Cut anywhere.
        for _ in 0..40 {
            let cut = (next() as usize) % seed.len();
            let _ = check(&seed[..cut]);
        }
        // Bytes overwritten with digits, delimiters and random values.
        for _ in 0..60 {
            let mut b = seed.clone();
            for _ in 0..(1 + next() % 8) {
                let at = (next() as usize) % b.len();
                b[at] = match next() % 4 {
                    0 => b"0123456789"[(next() % 10) as usize],
                    1 => b"<>[]()/R "[(next() % 9) as usize],
                    _ => next() as u8,
                };
            }
            let _ = check(&b);
        }
    }
}
