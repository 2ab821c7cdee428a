#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The verification report as a PDF (`render_verification_report`) read back the way a person
//! or a checker reads it: poppler's `pdftotext` finds the Vietnamese (or English) lines, the
//! conclusion and its reasons first; `qpdf --check` finds the file sound, `pdffonts` every font
//! embedded, `pdfinfo` the title; 0, 1 and 5 signatures render, and long names and file names
//! wrap inside the page (every word's box, by `pdftotext -bbox`, within the margins). An
//! indeterminate result never reads as an accusation. Tools that are missing are listed skips.

use std::path::Path;
use std::process::Command;

use kyso_i18n::Lang;
use kyso_letters::report::{Check, Indication, SignatureRole, TimeSource, MAX_REPORT_SIGNATURES};
use kyso_letters::{render_verification_report, Error, ReportData, SignatureReport};
use time::macros::datetime;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn valid_signature(name: &str) -> SignatureReport {
    SignatureReport {
        signer_name: name.into(),
        signer_title: "Giám đốc".into(),
        organization: "Sở Khoa học và Công nghệ tỉnh Demo".into(),
        role: SignatureRole::Personal,
        indication: Indication::Valid,
        reasons: vec![],
        integrity: Check::Passed,
        integrity_detail: String::new(),
        signing_time: Some(datetime!(2026-11-23 03:15 UTC)),
        time_source: TimeSource::Timestamp,
        revocation: "chưa bị thu hồi (OCSP, tại 23/11/2026 10:15 (+07:00))".into(),
        changes: "không có (chữ ký này bao trùm toàn bộ tệp)".into(),
        etsi_indication: "TOTAL_PASSED".into(),
        etsi_sub_indication: None,
    }
}

fn report(signatures: Vec<SignatureReport>) -> ReportData {
    ReportData {
        lang: Lang::Vi,
        title: String::new(),
        file_name: "cong-van-12-SKHCN.pdf".into(),
        sha256: SHA.into(),
        checked_at: datetime!(2026-12-06 03:00 UTC),
        indication: Indication::Valid,
        reasons: vec![],
        facts: vec![("Số, ký hiệu".into(), "12/SKHCN-VP".into())],
        signatures,
    }
}

/// An indeterminate signature: revocation could not be obtained.
fn indeterminate_signature() -> SignatureReport {
    SignatureReport {
        indication: Indication::Indeterminate,
        reasons: vec!["chưa kiểm tra được tình trạng thu hồi chứng thư số".into()],
        time_source: TimeSource::Claimed,
        revocation: "chưa xác định được: không lấy được CRL/OCSP còn hiệu lực".into(),
        etsi_indication: "INDETERMINATE".into(),
        etsi_sub_indication: Some("TRY_LATER".into()),
        ..valid_signature("Trần Minh Quân")
    }
}

/// Keep a rendered report for a look (`KYSO_LETTERS_DUMP=/tmp/reports cargo test …`, then
/// `pdftoppm -r 60 -png`).
fn dump(name: &str, pdf: &[u8]) {
    if let Some(dir) = std::env::var_os("KYSO_LETTERS_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(name), pdf).unwrap();
    }
}

/// `tool args… file` on `pdf`, its standard output; `None` when the tool is missing (a listed
/// skip). The tool failing fails the test with its message.
fn tool(pdf: &[u8], program: &str, args: &[&str]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let mut cmd = Command::new(program);
    cmd.args(args).arg(&file);
    if program == "pdftotext" {
        cmd.arg("-");
    }
    let out = kyso_testkit::run(&mut cmd).ok_or_fail(&format!("`{program}`"))?;
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The text with runs of white space made one space (pdftotext -layout pads columns).
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The report is a sound PDF with embedded fonts, a title and no script.
fn check_hygiene(pdf: &[u8], title: &str) {
    let raw = String::from_utf8_lossy(pdf);
    for bad in ["/JavaScript", "/JS", "/OpenAction", "/AA", "/Launch"] {
        assert!(!raw.contains(bad), "the report holds {bad}");
    }
    if let Some(out) = tool(pdf, "qpdf", &["--check"]) {
        assert!(out.contains("No syntax or stream encoding errors"), "{out}");
    }
    if let Some(fonts) = tool(pdf, "pdffonts", &[]) {
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!rows.is_empty(), "{fonts}");
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // name type encoding emb sub uni object ID
            let emb = cols[cols.len() - 5];
            assert_eq!(emb, "yes", "a font is not embedded:\n{fonts}");
        }
    }
    if let Some(info) = tool(pdf, "pdfinfo", &[]) {
        let line = info.lines().find(|l| l.starts_with("Title:")).unwrap();
        assert!(line.contains(title), "{info}");
        assert!(info.contains("595.276 x 841.89 pts (A4)"), "{info}");
    }
}

/// Every word of every page lies inside the page's text area (Decree 30 margins: left 30 mm,
/// right 15 mm), by the word boxes of `pdftotext -bbox`.
fn check_inside_margins(pdf: &[u8]) {
    let Some(html) = tool(pdf, "pdftotext", &["-bbox"]) else {
        return;
    };
    let mm = 72.0 / 25.4;
    let (left, right) = (30.0 * mm - 1.0, 595.276 - 15.0 * mm + 1.0);
    let attr = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let mut words = 0;
    for tag in html.split("<word ").skip(1) {
        let (x0, x1) = (attr(tag, "xMin"), attr(tag, "xMax"));
        let word = tag.split('>').nth(1).unwrap().split('<').next().unwrap();
        assert!(
            x0 >= left && x1 <= right,
            "«{word}» at {x0:.1}–{x1:.1} pt, outside {left:.1}–{right:.1}"
        );
        words += 1;
    }
    assert!(words > 50, "{html}");
}

#[test]
fn one_valid_signature_reads_as_a_civil_servant_writes_it() {
    let data = report(vec![valid_signature("Nguyễn Văn An")]);
    let pdf = render_verification_report(&data).unwrap();
    dump("report-1.pdf", &pdf);
    assert_eq!(
        pdf,
        render_verification_report(&data).unwrap(),
        "same data, same bytes"
    );
    check_hygiene(&pdf, "Kết quả kiểm tra chữ ký số — cong-van-12-SKHCN.pdf");
    check_inside_margins(&pdf);
    let Some(text) = tool(&pdf, "pdftotext", &["-layout"]) else {
        return;
    };
    let flat = squeeze(&text);
    for want in [
        "KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ",
        "Kết luận: Chữ ký hợp lệ",
        "Tệp văn bản cong-van-12-SKHCN.pdf",
        "Mã SHA-256 của tệp 9f86d081 884c7d65 9a2feaa0 c55ad015 a3bf4f1b 2b0b822c d15d6c15 b0f00a08",
        "Thời điểm kiểm tra 06/12/2026 10:00 (+07:00)",
        "Số chữ ký Tệp có 1 chữ ký số.",
        "Số, ký hiệu 12/SKHCN-VP",
        "Chữ ký 1: Nguyễn Văn An",
        "Nội dung kiểm tra Kết quả",
        "Người ký Nguyễn Văn An — Giám đốc, Sở Khoa học và Công nghệ tỉnh Demo",
        "Loại chữ ký Chữ ký số cá nhân",
        "Toàn vẹn nội dung Nguyên vẹn: nội dung được ký không bị sửa",
        "Thời điểm ký 23/11/2026 10:15 (+07:00) (theo dấu thời gian)",
        "Tình trạng thu hồi chưa bị thu hồi",
        "Thay đổi sau khi ký không có (chữ ký này bao trùm toàn bộ tệp)",
        "Theo ETSI EN 319 102-1 TOTAL_PASSED",
    ] {
        assert!(flat.contains(want), "missing {want:?}:\n{text}");
    }
    // The conclusion comes before the file's details and the signature's table.
    let at = |s: &str| flat.find(s).unwrap();
    assert!(at("Kết luận: Chữ ký hợp lệ") < at("Tệp văn bản"));
    assert!(at("Tệp văn bản") < at("Chữ ký 1:"));
    // Names, not distinguished names.
    assert!(!flat.contains("CN="), "{text}");
}

#[test]
fn a_file_without_signatures_is_not_determined_and_not_accused() {
    let mut data = report(vec![]);
    data.indication = Indication::Indeterminate;
    data.reasons = vec!["tệp không có chữ ký số".into()];
    data.facts.clear();
    let pdf = render_verification_report(&data).unwrap();
    dump("report-0.pdf", &pdf);
    check_hygiene(&pdf, "Kết quả kiểm tra chữ ký số");
    let Some(text) = tool(&pdf, "pdftotext", &["-layout"]) else {
        return;
    };
    let flat = squeeze(&text);
    for want in [
        "Kết luận: Không xác định được — lý do: tệp không có chữ ký số",
        "Kết quả này không có nghĩa là chữ ký sai",
        "Tệp không có chữ ký số nào.",
    ] {
        assert!(flat.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(!flat.contains("Chữ ký 1"), "{text}");
}

#[test]
fn an_indeterminate_signature_says_why_without_calling_it_invalid() {
    let mut data = report(vec![indeterminate_signature()]);
    data.indication = Indication::Indeterminate;
    data.reasons = vec!["chưa kiểm tra được tình trạng thu hồi chứng thư số".into()];
    let pdf = render_verification_report(&data).unwrap();
    dump("report-indeterminate.pdf", &pdf);
    let Some(text) = tool(&pdf, "pdftotext", &["-layout"]) else {
        return;
    };
    let flat = squeeze(&text);
    for want in [
        "Kết luận: Không xác định được — lý do: chưa kiểm tra được tình trạng thu hồi chứng thư số",
        "Kết luận Không xác định được — lý do: chưa kiểm tra được tình trạng thu hồi chứng thư số",
        "Thời điểm ký 23/11/2026 10:15 (+07:00) (do người ký khai, chưa có dấu thời gian)",
        "INDETERMINATE / TRY_LATER",
    ] {
        assert!(flat.contains(want), "missing {want:?}:\n{text}");
    }
    let lower = flat.to_lowercase();
    assert!(!lower.contains("không hợp lệ"), "{text}");
    assert!(!lower.contains("giả mạo"), "{text}");
}

#[test]
fn five_signatures_with_long_names_wrap_inside_the_page() {
    let long_name = "Công Tằng Tôn Nữ Thị Phương Thảo Nguyễn Hoàng Bảo Ngọc Trâm Anh Kim Chi \
                     Xuân Hạ Thu Đông Hoa Mai Hoa Đào Hoa Cúc Hoa Lan";
    let mut signatures: Vec<SignatureReport> = (1..=4)
        .map(|i| valid_signature(&format!("Người ký số {i} {long_name}")))
        .collect();
    let mut org = valid_signature("Sở Khoa học và Công nghệ tỉnh Demo");
    org.role = SignatureRole::Organization;
    org.signer_title = String::new();
    org.changes = "2 thay đổi trong 1 lần cập nhật sau chữ ký này, đều là thay đổi được phép \
                   (thêm chữ ký, dấu thời gian, thông tin kiểm tra chứng thư số, điền biểu mẫu)"
        .into();
    signatures.insert(2, org);
    let mut data = report(signatures);
    // A file name with no space to break at.
    data.file_name = format!(
        "{}.pdf",
        "van-ban-den-tu-so-khoa-hoc-va-cong-nghe_".repeat(4)
    );
    let pdf = render_verification_report(&data).unwrap();
    dump("report-5.pdf", &pdf);
    check_hygiene(&pdf, "Kết quả kiểm tra chữ ký số");
    check_inside_margins(&pdf);
    let Some(text) = tool(&pdf, "pdftotext", &["-layout"]) else {
        return;
    };
    let flat = squeeze(&text);
    assert!(flat.contains("Kết luận: Các chữ ký hợp lệ"), "{text}");
    assert!(flat.contains("Tệp có 5 chữ ký số."), "{text}");
    let mut last = 0;
    for n in 1..=5 {
        let at = flat[last..]
            .find(&format!("Chữ ký {n}:"))
            .unwrap_or_else(|| panic!("no signature {n}:\n{text}"));
        last += at;
    }
    assert!(flat.contains("Chữ ký số của cơ quan, tổ chức"), "{text}");
    // The long name is all there, in order, though wrapped.
    let words: Vec<&str> = long_name.split_whitespace().collect();
    let mut at = flat
        .find("Chữ ký 4: Người ký số 3")
        .expect("signature 4's heading");
    for w in words {
        at += flat[at..].find(w).unwrap_or_else(|| panic!("{w} missing"));
    }
    let pages = tool(&pdf, "pdfinfo", &[])
        .and_then(|i| {
            i.lines()
                .find(|l| l.starts_with("Pages:"))
                .map(|l| l[6..].trim().parse::<usize>().unwrap())
        })
        .unwrap_or(2);
    assert!(pages >= 2, "five signatures take more than a page");
}

#[test]
fn the_english_report_has_english_labels() {
    let mut sig = indeterminate_signature();
    sig.reasons = vec!["the revocation status could not be checked".into()];
    let mut data = report(vec![sig]);
    data.lang = Lang::En;
    data.indication = Indication::Indeterminate;
    data.reasons = vec!["the revocation status could not be checked".into()];
    data.facts.clear();
    let pdf = render_verification_report(&data).unwrap();
    check_hygiene(
        &pdf,
        "Signature verification report — cong-van-12-SKHCN.pdf",
    );
    let Some(text) = tool(&pdf, "pdftotext", &["-layout"]) else {
        return;
    };
    let flat = squeeze(&text);
    for want in [
        "SIGNATURE VERIFICATION REPORT",
        "Conclusion: Could not be determined — reason: the revocation status could not be checked",
        "This does not mean that a signature is wrong",
        "Checked at 06/12/2026 10:00 (+07:00)",
        "Signature 1: Trần Minh Quân",
        "Signing time 23/11/2026 10:15 (+07:00) (claimed by the signer, not timestamped)",
    ] {
        assert!(flat.contains(want), "missing {want:?}:\n{text}");
    }
    for vi in ["Kết luận", "Người ký", "Tệp văn bản"] {
        assert!(!flat.contains(vi), "{vi} in the English report:\n{text}");
    }
}

#[test]
fn a_character_without_a_glyph_is_a_question_mark_and_bad_input_an_error() {
    let pdf = render_verification_report(&report(vec![valid_signature("Nguyễn 中文 An")])).unwrap();
    let doc = kyso_pdf::Document::open(
        std::sync::Arc::new(kyso_pdf::MemSource(pdf.into())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    let text = kyso_pdf::text::page_text(&doc, 0).unwrap().text();
    assert!(text.contains("Nguyễn ?? An"), "{text}");

    let mut nameless = report(vec![]);
    nameless.file_name = "  ".into();
    let e = render_verification_report(&nameless).unwrap_err();
    assert!(matches!(e, Error::EmptyField { field: "file name" }));
    assert_eq!(
        e.message_vi(),
        "Báo cáo kiểm tra chữ ký số thiếu tên tệp được kiểm tra"
    );

    // Absurdly many signatures: the first ones are printed, the rest counted.
    let many = report(vec![valid_signature("A"); MAX_REPORT_SIGNATURES + 3]);
    let pdf = render_verification_report(&many).unwrap();
    if let Some(text) = tool(&pdf, "pdftotext", &["-layout"]) {
        assert!(
            squeeze(&text).contains("Còn 3 chữ ký khác không in"),
            "{text}"
        );
    }
}
