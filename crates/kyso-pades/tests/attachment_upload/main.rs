//! The server's check of a clerk's signed attachment (issue 17 item 7,
//! `kyso_pades::upload::Step::Attachment`): one organization signature with the Decree 30
//! attachment stamp on the attachment as uploaded is accepted; a personal certificate, a
//! certification, a second signature, an edited page or a changed prefix are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use kyso_pades::forms::{widget_builder, VisibleForm};
use kyso_pades::mdp::DocMdp;
use kyso_pades::sign_bytes;
use kyso_pades::upload::{check_upload, ExpectedSignature, Step, UploadRefusal};

#[path = "../support/mod.rs"]
mod support;
use support::{opts, two_page_pdf, TestCa};

fn stamped(pdf: &[u8], signer: &support::TestSigner) -> Vec<u8> {
    let o = opts();
    let stamp = widget_builder(
        VisibleForm::Attachment {
            doc_number: "15/QĐ-SKHCN".into(),
        },
        o.signing_time,
    )
    .unwrap();
    sign_bytes(pdf, &o, signer, Some(stamp)).unwrap()
}

#[test]
fn the_clerks_stamped_signature_on_an_attachment_is_accepted_and_nothing_else() {
    let ca = TestCa::new("Attachment Test Root");
    let name = "Sở Khoa học và Công nghệ tỉnh Hồng Lam";
    let agency = ca.issue(name, Some(name), false);
    let leader = ca.issue("Trần Minh Quân", None, false);
    let attachment = two_page_pdf();
    let expect = ExpectedSignature::new(vec![agency.cert.clone()], Step::Attachment);

    let signed = stamped(&attachment, &agency);
    let ok = check_upload(&attachment, &signed, &expect).unwrap();
    assert_eq!(ok.signer.der(), agency.cert.der());
    assert_eq!(ok.certified, None);
    assert_eq!(ok.numbering, None, "an attachment carries no number field");

    // Signed by someone else than the agency.
    let by_leader = stamped(&attachment, &leader);
    assert!(matches!(
        check_upload(&attachment, &by_leader, &expect),
        Err(UploadRefusal::WrongSigner { .. })
    ));
    // A certification is not the clerk's to make on an attachment.
    let mut certify = opts();
    certify.certify = Some(DocMdp::FormFilling);
    let certified = sign_bytes(&attachment, &certify, &agency, None).unwrap();
    assert!(matches!(
        check_upload(&attachment, &certified, &expect),
        Err(UploadRefusal::DisallowedChange { .. })
    ));
    // Two signatures in one upload.
    let twice = stamped(&signed, &agency);
    assert!(matches!(
        check_upload(&attachment, &twice, &expect),
        Err(UploadRefusal::TooManySignatures(2))
    ));
    // The attachment itself changed before the signature.
    let at = attachment.windows(5).position(|w| w == b"Hello").unwrap();
    let mut other = attachment.clone();
    other[at + 4] = b'0';
    let resigned = stamped(&other, &agency);
    assert!(matches!(
        check_upload(&attachment, &resigned, &expect),
        Err(UploadRefusal::PrefixChanged)
    ));
    // No signature at all.
    let mut appended = attachment.clone();
    appended.extend_from_slice(b"\n% nothing\n");
    assert!(check_upload(&attachment, &appended, &expect).is_err());
}
