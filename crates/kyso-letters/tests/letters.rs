#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The request letters end to end: every form renders with its facts readable in the PDF (by
//! poppler's `pdftotext`), the same data gives the same bytes, a long list runs over pages
//! with its header repeated, the signed letter is intact and signed by the agency's
//! organization certificate (kyso's verifier, and pyHanko when installed), and bad input is
//! an error.
//!
//! The demo PKI (`kyso_pki::demo`) is generated once for the whole binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use kyso_domain::lifecycle::RequestKind;
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_letters::{
    columns, render, sign, sign_sealed, Contact, Error, LetterData, LetterRow, Seal, MAX_ROWS,
};
use kyso_pdf::{Document, Limits, MemSource};
use time::macros::date;
use time::OffsetDateTime;

const PASSWORD: &str = "kyso-demo";

/// The demo PKI, made once: `organization.p12`, `root.pem`, ….
fn pki() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let opts = kyso_pki::demo::InitOptions::new(Secret::new(PASSWORD.into()), now());
        kyso_pki::demo::init(dir.path(), &opts).unwrap();
        dir
    })
    .path()
}

#[allow(clippy::disallowed_methods)] // tests sign now, so that pyHanko finds the certificates valid
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn organization_signer() -> Pkcs12Signer {
    let p12 = std::fs::read(pki().join("organization.p12")).unwrap();
    Pkcs12Signer::from_pkcs12(&p12, &Secret::new(PASSWORD.into())).unwrap()
}

/// A letter of `kind` from the fictional Sở Khoa học và Công nghệ tỉnh Demo, with `rows`.
fn letter(kind: RequestKind, rows: Vec<LetterRow>) -> LetterData {
    LetterData {
        kind,
        agency_name: "Sở Khoa học và Công nghệ".into(),
        managing_agency_name: Some("UBND tỉnh Demo".into()),
        number: "12/SKHCN-VP".into(),
        place: "Demo".into(),
        date: date!(2026 - 12 - 02),
        recipient: "Kính gửi: Cục Chứng thực số và Bảo mật thông tin".into(),
        body: Vec::new(),
        contact: Some(Contact {
            name: "Nguyễn Thị Thu Hà".into(),
            title: "Văn thư".into(),
            phone: "0912345678".into(),
            email: "hantt@demo.gov.vn".into(),
        }),
        rows,
        signer_title: "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC".into(),
        signer_name: "Lê Thị Hồng Nhung".into(),
        recipients_block: vec!["Như trên;".into(), "Lưu: VT, VP.".into()],
    }
}

/// Two rows of realistic values for each form.
fn sample_rows(kind: RequestKind) -> Vec<LetterRow> {
    match kind {
        RequestKind::IssueIndividual => vec![
            LetterRow::new([
                "Trần Minh Quân",
                "15/01/1980",
                "054201000123",
                "quantm@demo.gov.vn",
                "Giám đốc",
                "Sở KH&CN",
                "0912000111",
                "",
            ]),
            LetterRow::new([
                "Phạm Văn Đức",
                "28/02/1991",
                "054201000789",
                "ducpv@demo.gov.vn",
                "Chánh Văn phòng",
                "Sở KH&CN",
                "0912000222",
                "540A1B2C",
            ]),
        ],
        RequestKind::IssueOrganization => vec![LetterRow::new([
            "Sở Khoa học và Công nghệ tỉnh Demo",
            "Số 1 đường Lê Lợi, phường Đông Hà",
            "3200123456",
            "1012345",
            "Tỉnh Demo",
            "skhcn@demo.gov.vn",
        ])],
        RequestKind::IssueDevice => vec![LetterRow::new([
            "Hệ thống quản lý văn bản và điều hành",
            "qlvb.demo.gov.vn",
            "Văn phòng UBND tỉnh",
            "Tỉnh Demo",
            "vpubnd@demo.gov.vn",
        ])],
        RequestKind::Renew | RequestKind::ChangeInfo | RequestKind::Revoke => vec![
            LetterRow::new([
                "Trần Minh Quân",
                "540A1B2C3D4E5F60",
                "15/01/2027",
                "Gia hạn thêm 3 năm",
            ]),
            LetterRow::new([
                "Nguyễn Thị Thu Hà",
                "540A1B2C3D4E5F63",
                "02/02/2027",
                "Đổi thư điện tử công vụ thành hant@demo.gov.vn",
            ]),
        ],
        RequestKind::RecoverDevice => vec![LetterRow::new([
            "Phạm Văn Đức",
            "TK0012345",
            "540A1B2C3D4E5F62",
            "Nhập sai mã PIN quá số lần cho phép",
        ])],
    }
}

/// The text of `pdf` by `pdftotext` in `mode` (`-layout` or `-raw`); `None` when poppler is
/// not installed (a listed skip, or a failure under `KYSO_REQUIRE_ALL=1`). pdftotext failing
/// on the letter fails the test with its message.
fn pdftotext(pdf: &[u8], mode: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("letter.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = kyso_testkit::run(Command::new("pdftotext").arg(mode).arg(&file).arg("-"))
        .ok_or_fail("poppler's `pdftotext`")?;
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Keep a rendered letter for a look (`KYSO_LETTERS_DUMP=/tmp/letters cargo test …`, then
/// `pdftoppm -r 60 -png`).
fn dump(name: &str, pdf: &[u8]) {
    if let Some(dir) = std::env::var_os("KYSO_LETTERS_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(name), pdf).unwrap();
    }
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `value` is on the page: on one line of the layout text, or — a value wrapped inside its
/// table cell or column — as consecutive lines of the raw text (poppler's content-stream
/// order keeps a cell's lines together), compared without white space.
fn assert_shown(layout: &str, raw: &str, value: &str) {
    assert!(
        layout.contains(value) || squeeze(raw).contains(&squeeze(value)),
        "{value:?} not found in:\n{layout}"
    );
}

fn page_count(pdf: &[u8]) -> usize {
    let doc = Document::open(Arc::new(MemSource(pdf.into())), Limits::default()).unwrap();
    doc.pages().unwrap().len()
}

#[test]
fn every_form_renders_with_its_subject_recipient_rows_and_signer() {
    for kind in RequestKind::ALL {
        let data = letter(kind, sample_rows(kind));
        let pdf = render(&data).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(pdf.starts_with(b"%PDF-1.7"));
        dump(&format!("{kind}.pdf"), &pdf);
        let (Some(layout), Some(raw)) = (pdftotext(&pdf, "-layout"), pdftotext(&pdf, "-raw"))
        else {
            return;
        };
        let subject = format!("V/v {}", {
            let t = kind.title_vi();
            let mut c = t.chars();
            c.next()
                .unwrap()
                .to_lowercase()
                .chain(c)
                .collect::<String>()
        });
        assert_shown(&layout, &raw, &subject);
        assert!(layout.contains("Kính gửi: Cục Chứng thực số và Bảo mật thông tin."));
        assert!(layout.contains("SỞ KHOA HỌC VÀ CÔNG NGHỆ"), "{layout}");
        assert!(layout.contains("UBND TỈNH DEMO"));
        assert!(layout.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
        assert!(layout.contains("Độc lập - Tự do - Hạnh phúc"));
        assert!(layout.contains("Số: 12/SKHCN-VP"));
        assert!(layout.contains("Demo, ngày 02 tháng 12 năm 2026"));
        assert_shown(&layout, &raw, "Nghị định số 68/2024/NĐ-CP");
        assert_shown(&layout, &raw, "(1) Người");
        assert_shown(&layout, &raw, "Nguyễn Thị Thu Hà");
        assert_shown(&layout, &raw, "(2) Danh sách");
        for header in columns(kind) {
            assert_shown(&layout, &raw, header);
        }
        for row in &data.rows {
            for cell in row.cells.iter().filter(|c| !c.is_empty()) {
                assert_shown(&layout, &raw, cell);
            }
        }
        assert!(layout.contains("PHÓ GIÁM ĐỐC"));
        assert!(layout.contains("Lê Thị Hồng Nhung"));
        assert!(layout.contains("Nơi nhận:"));
        assert!(layout.contains("- Lưu: VT, VP."));
    }
}

#[test]
fn a_letter_without_body_number_or_contact_gets_the_defaults() {
    let mut data = letter(RequestKind::Revoke, sample_rows(RequestKind::Revoke));
    data.number.clear();
    data.contact = None;
    data.managing_agency_name = None;
    data.recipients_block.clear();
    let pdf = render(&data).unwrap();
    let (Some(layout), Some(raw)) = (pdftotext(&pdf, "-layout"), pdftotext(&pdf, "-raw")) else {
        return;
    };
    assert!(layout.contains("Số: ......../......"));
    assert!(layout.contains("Demo, ngày …… tháng …… năm ……"), "{layout}");
    assert_shown(
        &layout,
        &raw,
        "Sở Khoa học và Công nghệ đề nghị Cục Chứng thực số và Bảo mật thông tin thu hồi chứng \
         thư chữ ký số chuyên dùng công vụ, cụ thể như sau:",
    );
    // Without a contact the list is item (1).
    assert_shown(
        &layout,
        &raw,
        "(1) Danh sách chứng thư chữ ký số đề nghị thu hồi:",
    );
    assert!(layout.contains("- Như trên;"));
    assert!(layout.contains("- Lưu: VT."));
}

/// A draft whose number blank stands before `notation` ("/SKHCN-VP") and whose date line is
/// blank: the format step places both fields from the text, and the clerk's `number` and `day`
/// read back from the filled file.
fn clerk_fills(pdf: &[u8], notation: &str, number: &str, day: time::Date) {
    let doc = Document::open(Arc::new(MemSource(pdf.to_vec().into())), Limits::default()).unwrap();
    let pages = doc.pages().unwrap();
    let places = kyso_pades::numbering::locate(&doc, &pages[0]).unwrap();
    assert!(
        places.number.from_text && places.date.from_text,
        "{places:?}"
    );
    assert_eq!(places.notation.as_deref(), Some(notation));
    let (formatted, _) = kyso_pades::numbering::place_fields_bytes(pdf).unwrap();
    let filled = kyso_pades::numbering::fill_bytes(&formatted, number, day).unwrap();
    let doc = Document::open(Arc::new(MemSource(filled.into())), Limits::default()).unwrap();
    let issued = kyso_pades::numbering::issued(&doc).unwrap().unwrap();
    assert_eq!(issued.date, Some(day));
    assert_eq!(issued.printed_notation.as_deref(), Some(notation));
    let whole = format!("{number}{notation}");
    assert_eq!(issued.number.as_deref(), Some(whole.as_str()));
}

/// The letter as a draft of the document flow (issue 17 item 10): the number's blank before the
/// notation and an undated date line, where the format step places the two fields from the
/// text; the clerk's number and date then read back from the filled letter.
#[test]
fn a_draft_letter_leaves_the_number_and_date_to_the_clerk() {
    let mut data = letter(RequestKind::Renew, sample_rows(RequestKind::Renew));
    data.number = "......../SKHCN-VP".into();
    let pdf = render(&data).unwrap();
    clerk_fills(&pdf, "/SKHCN-VP", "07", date!(2026 - 12 - 03));
    let Some(layout) = pdftotext(&pdf, "-layout") else {
        return;
    };
    assert!(layout.contains("Số: ......../SKHCN-VP"), "{layout}");
    assert!(layout.contains("Demo, ngày …… tháng …… năm ……"), "{layout}");
}

/// An agency's report of a period as a draft Báo cáo of its outgoing flow (issue 21): the
/// number's blank before "BC-…" and an undated date line where the format step places its
/// fields, its comments and answers, the Department in "Nơi nhận", the signer's block.
#[test]
fn an_agency_report_is_a_draft_for_the_clerk_to_number_and_date() {
    use kyso_domain::reports::{Figures, Needs};
    use kyso_letters::{render_period_report, PeriodReportData, Reporter};
    let mut figures = Figures::default();
    figures.certificates.active = 37;
    figures.devices.issued = 5;
    let data = PeriodReportData {
        managing_name: "Ủy ban nhân dân Tỉnh Demo".into(),
        agency_name: "Sở Tài chính".into(),
        place: "Demo".into(),
        title: "Báo cáo 6 tháng đầu năm 2026".into(),
        first_day: date!(2026 - 01 - 01),
        last_day: date!(2026 - 06 - 30),
        made_on: None,
        figures,
        needs: Needs {
            devices: 4,
            note: "Tập huấn cho văn thư các đơn vị".into(),
            ..Default::default()
        },
        from: Reporter::Agency {
            notation: "BC-STC".into(),
            recipient: "Sở Khoa học và Công nghệ".into(),
            comments: "Đã cấp đủ chứng thư số cho lãnh đạo.".into(),
            questions: "Số đơn vị đã dùng chữ ký số trên 90% văn bản?".into(),
            answers: "Bốn trên năm đơn vị.".into(),
            signer_title: "Giám đốc".into(),
            signer_name: "Phạm Thị Thanh Hương".into(),
        },
    };
    let pdf = render_period_report(&data).unwrap();
    assert_eq!(pdf, render_period_report(&data).unwrap(), "the same bytes");
    dump("agency-report.pdf", &pdf);
    clerk_fills(&pdf, "/BC-STC", "12", date!(2026 - 07 - 08));
    let check = kyso_pades::format_check::check(&pdf);
    assert!(
        check.findings.is_empty(),
        "Decree 30's format: {:?}",
        check.findings
    );
    let Some(layout) = pdftotext(&pdf, "-layout") else {
        return;
    };
    let flat = squeeze(&layout);
    for want in [
        "Số: ......../BC-STC",
        "Demo, ngày …… tháng …… năm ……",
        "SỞ TÀI CHÍNH",
        "Còn hiệu lực cuối kỳ 37",
        "V. Nhận xét, đánh giá",
        "Đã cấp đủ chứng thư số cho lãnh đạo.",
        "VI. Trả lời câu hỏi của kỳ báo cáo",
        "Bốn trên năm đơn vị.",
        "VII. Nhu cầu năm sau",
        "Tập huấn cho văn thư các đơn vị",
        "- Sở Khoa học và Công nghệ (để tổng hợp);",
        "GIÁM ĐỐC",
        "Phạm Thị Thanh Hương",
    ] {
        assert!(flat.contains(&squeeze(want)), "{want}:\n{layout}");
    }
    assert!(
        !flat.contains("cơ quan đã gửi"),
        "no standings in an agency's report"
    );
}

#[test]
fn the_same_letter_gives_the_same_bytes() {
    let data = letter(
        RequestKind::IssueIndividual,
        sample_rows(RequestKind::IssueIndividual),
    );
    assert_eq!(render(&data).unwrap(), render(&data).unwrap());
    let mut other = data.clone();
    other.signer_name = "Trần Minh Quân".into();
    assert_ne!(render(&data).unwrap(), render(&other).unwrap());
}

#[test]
fn sixty_rows_run_over_pages_with_the_header_repeated() {
    let rows: Vec<LetterRow> = (0..60)
        .map(|i| {
            LetterRow::new([
                format!("Thuê bao số {}", i + 1),
                format!("540A1B2C3D4E{i:04}"),
                "31/12/2027".to_owned(),
                "Gia hạn thêm 3 năm".to_owned(),
            ])
        })
        .collect();
    let pdf = render(&letter(RequestKind::Renew, rows)).unwrap();
    dump("sixty-rows.pdf", &pdf);
    let pages = page_count(&pdf);
    assert!(pages >= 3, "60 rows on {pages} pages");
    let Some(layout) = pdftotext(&pdf, "-layout") else {
        return;
    };
    let texts: Vec<&str> = layout
        .split('\x0c')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(texts.len(), pages);
    for (i, page) in texts.iter().enumerate().take(pages - 1) {
        assert!(
            page.contains("STT") && page.contains("Số hiệu chứng thư"),
            "page {} has no table header:\n{page}",
            i + 1
        );
    }
    // Decree 30: page numbers from the second page on, at the top.
    for (i, page) in texts.iter().enumerate().skip(1) {
        let first = page.lines().find(|l| !l.trim().is_empty()).unwrap();
        assert_eq!(first.trim(), (i + 1).to_string(), "page {}", i + 1);
    }
    assert!(layout.contains("Thuê bao số 60"));
    assert!(texts.last().unwrap().contains("Lê Thị Hồng Nhung"));
}

#[test]
fn the_signed_letter_is_intact_and_signed_by_the_organization() {
    let signer = organization_signer();
    let data = letter(RequestKind::Renew, sample_rows(RequestKind::Renew));
    let pdf = render(&data).unwrap();
    let signed = sign(&pdf, &signer, now()).unwrap();
    dump("signed.pdf", &signed);

    // An incremental update: the letter's bytes are untouched.
    assert!(signed.starts_with(&pdf));
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(MemSource(signed.as_slice().into())))
            .unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert!(report.is_intact(), "{:?}", report.failure_codes());
    assert_eq!(
        report.signature.sub_filter.as_deref(),
        Some("ETSI.CAdES.detached")
    );
    let cms = report.cms.as_ref().unwrap();
    let cert = &cms.certificates[cms.signer_cert.unwrap()];
    assert_eq!(cert.der(), kyso_cms::Signer::certificate(&signer).der());
    assert_eq!(
        cert.common_name().as_deref(),
        Some(kyso_pki::demo::AGENCY),
        "signed by the agency's organization certificate"
    );

    pyhanko_accepts(&signed);
}

#[test]
fn the_sealed_letter_shows_the_seal_in_the_signature_block() {
    let signer = organization_signer();
    let kind = RequestKind::IssueIndividual;
    let data = letter(kind, sample_rows(kind));
    let pdf = render(&data).unwrap();
    let png = std::fs::read(pki().join("seal.png")).unwrap();
    let seal = Seal::for_letter(png.clone(), &data);
    assert_eq!(seal.anchor, "PHÓ GIÁM ĐỐC");
    let signed = sign_sealed(&pdf, &signer, now(), &seal).unwrap();
    dump("sealed.pdf", &signed);
    assert!(signed.starts_with(&pdf));
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(MemSource(signed.as_slice().into())))
            .unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_intact(), "{:?}", reports[0].failure_codes());

    // The widget is the seal at its real size (40 mm), over the left of the signature block.
    let doc = Document::open(
        Arc::new(MemSource(signed.as_slice().into())),
        Limits::default(),
    )
    .unwrap();
    let pages = doc.pages().unwrap();
    let rects = kyso_pades::forms::signed_widgets(&doc, pages.last().unwrap()).unwrap();
    assert_eq!(rects.len(), 1);
    let [x0, y0, x1, y1] = rects[0];
    let mm = |pt: f64| pt * 25.4 / 72.0;
    assert!((mm(x1 - x0) - 40.0).abs() < 0.5, "{rects:?}");
    assert!((mm(y1 - y0) - 40.0).abs() < 0.5, "{rects:?}");
    assert!(mm(x0) > 90.0 && mm(x0) < 125.0, "{rects:?}");
    pyhanko_accepts(&signed);

    // A title that is not in the letter: an error, nothing signed.
    let lost = Seal {
        anchor: "CHỦ TỊCH".into(),
        ..seal.clone()
    };
    assert!(matches!(
        sign_sealed(&pdf, &signer, now(), &lost),
        Err(Error::SealAnchorNotFound { .. })
    ));
    // Not a PNG: refused before signing.
    let bad = Seal {
        png: b"not a png".to_vec(),
        ..seal
    };
    assert!(matches!(
        sign_sealed(&pdf, &signer, now(), &bad),
        Err(Error::Sign(_))
    ));
}

/// pyHanko (scripts/oracles/pyhanko_validate.py) finds one intact, valid signature trusted
/// under the demo root, covering the whole file. A listed skip when pyHanko is missing.
fn pyhanko_accepts(signed: &[u8]) {
    if !kyso_testkit::need_python("pyhanko") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signed.pdf");
    std::fs::write(&file, signed).unwrap();
    let script: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oracles/pyhanko_validate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(pki().join("root.pem"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(report["error"], serde_json::Value::Null, "{report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1, "{report:#}");
    let s = &sigs[0];
    for key in ["intact", "valid", "trusted", "bottom_line"] {
        assert_eq!(s[key], true, "{key}: {s:#}");
    }
    assert_eq!(s["coverage"], "ENTIRE_FILE", "{s:#}");
}

#[test]
fn signing_something_that_is_not_a_pdf_is_an_error() {
    let signer = organization_signer();
    let err = sign(b"not a PDF", &signer, now()).unwrap_err();
    assert!(matches!(err, Error::Sign(_)), "{err:?}");
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let kind = RequestKind::IssueOrganization;
    let good = letter(kind, sample_rows(kind));

    let mut d = good.clone();
    d.agency_name = "   ".into();
    let e = render(&d).unwrap_err();
    assert!(
        matches!(
            e,
            Error::EmptyField {
                field: "agency name"
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.message_vi(),
        "Văn bản đề nghị thiếu thông tin: tên cơ quan đề nghị"
    );

    let mut d = good.clone();
    d.signer_name.clear();
    assert!(matches!(
        render(&d),
        Err(Error::EmptyField {
            field: "signer name"
        })
    ));

    let mut d = good.clone();
    d.recipient = "Kính gửi:".into();
    assert!(matches!(
        render(&d),
        Err(Error::EmptyField { field: "recipient" })
    ));

    // One cell short (an individual's row given to an organization letter, say).
    let mut d = good.clone();
    d.rows.push(LetterRow::new(["Sở Tư pháp", "Số 2 Lê Lợi"]));
    assert!(matches!(
        render(&d),
        Err(Error::RowShape {
            row: 1,
            cells: 2,
            expected: 6
        })
    ));

    let mut d = good.clone();
    d.rows.clear();
    assert!(matches!(render(&d), Err(Error::NoRows)));

    let mut d = good.clone();
    d.rows = vec![good.rows[0].clone(); MAX_ROWS + 1];
    assert!(matches!(
        render(&d),
        Err(Error::TooManyRows {
            count: 2001,
            max: 2000
        })
    ));

    // A cell taller than a page: the layout refuses it.
    let mut d = good.clone();
    d.rows[0].cells[1] = "Đường Lê Lợi ".repeat(3000);
    assert!(matches!(render(&d), Err(Error::Layout(_))));

    // Odd characters are drawn or refused, but never crash the renderer.
    let mut d = good;
    d.rows[0].cells[0] = "\u{0}\u{7}\t\u{202e}Sở\u{301}\u{fffd}😀".into();
    d.body = vec!["\r\n\r\n".into(), "a\u{0}b".into()];
    let _ = render(&d);
}

#[test]
fn the_maximum_number_of_rows_renders() {
    let kind = RequestKind::RecoverDevice;
    let rows = vec![sample_rows(kind)[0].clone(); MAX_ROWS];
    let pdf = render(&letter(kind, rows)).unwrap();
    assert!(page_count(&pdf) > 50);
}
