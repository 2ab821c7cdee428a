#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The outgoing register's printed book (`render_register`) without a server: 2,000 documents
//! are laid out and signed (the times are printed: `cargo test --release -p kyso-letters --test
//! register -- --nocapture`), a character missing from the font is printed as "?", and a wrong
//! row or too many rows are errors. The incoming register's book is the same layout with the
//! columns of its own appendix part.

use std::sync::Arc;
use std::time::Instant;

use kyso_keys::{Pkcs12Signer, Secret};
use kyso_letters::register::{INCOMING_REGISTER_COLUMNS, MAX_REGISTER_ROWS, REGISTER_COLUMNS};
use kyso_letters::{
    render_book, render_incoming_register, render_register, sign, Error, RegisterBookData,
    RegisterEntry, RegisterKind,
};
use kyso_pdf::{Document, Limits, MemSource};
use time::macros::{date, datetime};

fn book(rows: Vec<RegisterEntry>) -> RegisterBookData {
    RegisterBookData {
        agency_name: "Sở Khoa học và Công nghệ".into(),
        managing_agency_name: Some("UBND tỉnh Demo".into()),
        register_name: "Sổ văn bản đi".into(),
        register_code: "VBĐ".into(),
        from: date!(2026 - 01 - 01),
        to: date!(2026 - 12 - 31),
        made_on: date!(2026 - 12 - 06),
        rows,
    }
}

fn entry(n: i64, subject: &str) -> RegisterEntry {
    RegisterEntry {
        number: n,
        year: 2026,
        cells: vec![
            format!("{n:02}/CV-SKHCN"),
            "01/04/2026".into(),
            format!("Công văn: {subject}"),
            "Trần Văn Bình".into(),
            "H99.05; H99.10; H99".into(),
            "VT, VP".into(),
            "3".into(),
            "02/04/2026".into(),
            String::new(),
            String::new(),
        ],
    }
}

/// Keep a rendered book for a look (`KYSO_LETTERS_DUMP=/tmp/books cargo test …`, then
/// `pdftoppm -r 60 -png`).
fn dump(name: &str, pdf: &[u8]) {
    if let Some(dir) = std::env::var_os("KYSO_LETTERS_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), pdf).unwrap();
    }
}

fn open(pdf: &[u8]) -> Document {
    Document::open(Arc::new(MemSource(pdf.into())), Limits::default()).unwrap()
}

#[test]
fn two_thousand_documents_are_laid_out_and_signed() {
    let rows: Vec<RegisterEntry> = (1..=2000)
        .map(|n| {
            entry(
                n,
                "Về việc báo cáo kết quả thực hiện nhiệm vụ khoa học và công nghệ cấp tỉnh năm 2026",
            )
        })
        .collect();
    let data = book(rows);
    let t = Instant::now();
    let pdf = render_register(&data).unwrap();
    let laid_out = t.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let opts = kyso_pki::demo::InitOptions::new(
        Secret::new("kyso-demo".into()),
        datetime!(2026-12-01 00:00 UTC),
    );
    kyso_pki::demo::init(dir.path(), &opts).unwrap();
    let p12 = std::fs::read(dir.path().join("organization.p12")).unwrap();
    let signer = Pkcs12Signer::from_pkcs12(&p12, &Secret::new("kyso-demo".into())).unwrap();
    let t = Instant::now();
    let signed = sign(&pdf, &signer, datetime!(2026-12-06 09:00 +07:00)).unwrap();
    let signing = t.elapsed();
    dump("register-2000.pdf", &signed);
    let pages = open(&pdf).pages().unwrap().len();
    println!(
        "2000 documents: {pages} pages, {} KiB; layout {} ms, signing {} ms",
        pdf.len() / 1024,
        laid_out.as_millis(),
        signing.as_millis()
    );
    assert!(pages > 50);
    assert!(signed.starts_with(&pdf));
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(MemSource(signed.as_slice().into())))
            .unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_intact(), "{:?}", reports[0].failure_codes());
    let last = kyso_pdf::text::page_text(&open(&pdf), pages - 1)
        .unwrap()
        .text();
    assert!(last.contains("2000/CV-SKHCN"), "{last}");
}

#[test]
fn a_character_without_a_glyph_is_printed_as_a_question_mark() {
    let pdf = render_register(&book(vec![entry(1, "Về việc 中文 thử")])).unwrap();
    let text = kyso_pdf::text::page_text(&open(&pdf), 1).unwrap().text();
    assert!(text.contains("Về việc ?? thử"), "{text}");
    // The same book gives the same bytes.
    assert_eq!(
        pdf,
        render_register(&book(vec![entry(1, "Về việc 中文 thử")])).unwrap()
    );
}

#[test]
fn an_empty_book_still_has_its_cover_and_header() {
    let pdf = render_register(&book(Vec::new())).unwrap();
    let doc = open(&pdf);
    assert_eq!(doc.pages().unwrap().len(), 2);
    let cover = kyso_pdf::text::page_text(&doc, 0).unwrap().text();
    assert!(cover.contains("Không có văn bản nào"), "{cover}");
    let table = kyso_pdf::text::page_text(&doc, 1).unwrap().text();
    assert!(
        table.contains("Ghi chú") && table.contains("(10)"),
        "{table}"
    );
}

#[test]
fn a_wrong_row_or_too_many_rows_is_an_error() {
    let mut bad = entry(1, "x");
    bad.cells.pop();
    assert!(matches!(
        render_register(&book(vec![bad])),
        Err(Error::RowShape {
            row: 0,
            cells: 9,
            expected: 10
        })
    ));
    assert_eq!(REGISTER_COLUMNS.len(), 10);
    let many = vec![RegisterEntry::default(); MAX_REGISTER_ROWS + 1];
    assert!(matches!(
        render_register(&book(many)),
        Err(Error::TooManyRows { .. })
    ));
    let mut nameless = book(Vec::new());
    nameless.register_name = " ".into();
    let e = render_register(&nameless).unwrap_err();
    assert_eq!(
        e.message_vi(),
        "Văn bản đề nghị thiếu thông tin: tên sổ đăng ký văn bản"
    );
}

/// A document received: the incoming register's ten cells.
fn received(n: i64, sender: &str) -> RegisterEntry {
    RegisterEntry {
        number: n,
        year: 2026,
        cells: vec![
            "05/03/2026".into(),
            format!("{n:02}"),
            sender.into(),
            format!("{n}/UBND-VP"),
            "04/03/2026".into(),
            "Công văn: Về việc triển khai chữ ký số trong cơ quan nhà nước".into(),
            "Phòng Quản lý công nghệ".into(),
            "06/03/2026".into(),
            String::new(),
            String::new(),
        ],
    }
}

#[test]
fn the_incoming_register_is_the_same_book_with_its_own_columns() {
    let mut data = book(vec![
        received(1, "Ủy ban nhân dân tỉnh Demo"),
        received(2, "Bộ Khoa học và Công nghệ"),
    ]);
    data.register_name = "Sổ văn bản đến".into();
    data.register_code = "VBĐEN".into();
    let pdf = render_incoming_register(&data).unwrap();
    dump("incoming-register.pdf", &pdf);
    assert_eq!(pdf, render_book(RegisterKind::Incoming, &data).unwrap());
    let doc = open(&pdf);
    assert_eq!(doc.pages().unwrap().len(), 2);
    let cover = kyso_pdf::text::page_text(&doc, 0).unwrap().text();
    assert!(cover.contains("SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"), "{cover}");
    assert!(cover.contains("Sổ văn bản đến (VBĐEN)"), "{cover}");
    assert!(cover.contains("Từ số 01 đến số 02"), "{cover}");
    assert!(!cover.contains("VĂN BẢN ĐI"), "{cover}");
    let table = kyso_pdf::text::page_text(&doc, 1).unwrap().text();
    for want in [
        "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — SỞ KHOA HỌC VÀ CÔNG NGHỆ",
        "Ngày đến",
        "Số đến",
        "Tác giả",
        "(10)",
        "Bộ Khoa học",
        "2/UBND-VP",
    ] {
        assert!(table.contains(want), "{want:?} missing:\n{table}");
    }
    assert_eq!(INCOMING_REGISTER_COLUMNS.len(), 10);
    assert_eq!(RegisterKind::Incoming.columns(), INCOMING_REGISTER_COLUMNS);
    assert_eq!(RegisterKind::Outgoing.columns(), REGISTER_COLUMNS);
    // The outgoing book is what render_register has always made.
    let outgoing = book(vec![entry(1, "x")]);
    assert_eq!(
        render_register(&outgoing).unwrap(),
        render_book(RegisterKind::Outgoing, &outgoing).unwrap()
    );
    // A row with the outgoing register's shape is checked against the incoming columns.
    let mut bad = received(3, "x");
    bad.cells.push(String::new());
    assert!(matches!(
        render_incoming_register(&book(vec![bad])),
        Err(Error::RowShape {
            cells: 11,
            expected: 10,
            ..
        })
    ));
}
