//! What a stamp says, read back from the signed file (`kyso_pades::stamp`): the Decree 30
//! attachment stamp shows the main document's number and the signing time, the copy stamp the
//! copy form and the copying body; the server compares the number with the document's own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
use kyso_pades::sign_bytes;
use kyso_pades::stamp::{carries_number, stamp_lines};
use kyso_pades::upload::{check_upload, ExpectedSignature, Step};
use kyso_pdf::{Document, Limits, MemSource};

#[path = "../support/mod.rs"]
mod support;
use support::{opts, two_page_pdf, TestCa};

fn open(pdf: &[u8]) -> Document {
    Document::open(Arc::new(MemSource::new(pdf.to_vec())), Limits::default()).unwrap()
}

#[test]
fn the_stamp_of_an_attachment_and_of_a_copy_is_read_back() {
    let ca = TestCa::new("Stamp Test Root");
    let name = "Sở Khoa học và Công nghệ tỉnh Hồng Lam";
    let agency = ca.issue(name, Some(name), false);
    let attachment = two_page_pdf();
    let o = opts();
    let stamp = widget_builder(
        VisibleForm::Attachment {
            doc_number: "15/QĐ-SKHCN".into(),
        },
        o.signing_time,
    )
    .unwrap();
    let signed = sign_bytes(&attachment, &o, &agency, Some(stamp)).unwrap();
    let expect = ExpectedSignature::new(vec![agency.cert.clone()], Step::Attachment);
    let field = check_upload(&attachment, &signed, &expect).unwrap().field;
    let lines = stamp_lines(&open(&signed), &field).unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "15/QĐ-SKHCN");
    assert!(lines[1].contains("+07:00"), "{lines:?}");
    assert!(carries_number(&lines, "15/QĐ-SKHCN"));
    assert!(!carries_number(&lines, "16/QĐ-SKHCN"));
    assert!(!carries_number(&lines, "15/QĐ-UBND"));
    assert!(stamp_lines(&open(&signed), "no such field").is_err());

    // An invisible signature shows nothing.
    let plain = sign_bytes(&attachment, &o, &agency, None).unwrap();
    let field = check_upload(&attachment, &plain, &expect).unwrap().field;
    assert_eq!(
        stamp_lines(&open(&plain), &field).unwrap(),
        Vec::<String>::new()
    );

    // The copy stamp: the form, the copying body, the time.
    let copy = widget_builder(
        VisibleForm::Copy {
            form: CopyForm::Certified,
            org_name: name.into(),
            number: None,
            place: None,
        },
        o.signing_time,
    )
    .unwrap();
    let copied = sign_bytes(&attachment, &o, &agency, Some(copy)).unwrap();
    let field = check_upload(&attachment, &copied, &expect).unwrap().field;
    let lines = stamp_lines(&open(&copied), &field).unwrap();
    assert_eq!(
        lines[..2],
        ["SAO Y".to_owned(), name.to_owned()],
        "{lines:?}"
    );
}
