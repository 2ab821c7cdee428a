//! Signing a hostile PDF: arbitrary bytes as the input of `kyso sign` — reading, the
//! incremental update (page, AcroForm, catalog rewritten), the widget of an invisible
//! signature, an electronic-copy stamp or an attachment stamp, the placeholder, the CMS and
//! the atomic write. Signing either refuses the input with an error or produces a file whose
//! new signature is intact and covers the whole file (checked with the verifier).
#![no_main]
use std::sync::{Arc, OnceLock};

use kyso_cms::Signer;
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
use kyso_pades::validate::{validate, ValidateOptions};
use kyso_pades::{sign_with, SignOptions};
use kyso_pdf::MemSource;
use kyso_x509::path::TrustStore;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const P12: &[u8] = include_bytes!("../corpus/pkcs12/seed.p12");

fn signer() -> Option<&'static Pkcs12Signer> {
    static SIGNER: OnceLock<Option<Pkcs12Signer>> = OnceLock::new();
    SIGNER
        .get_or_init(|| Pkcs12Signer::from_pkcs12(P12, &Secret::new("123456".to_owned())).ok())
        .as_ref()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, pdf)) = data.split_first() else {
        return;
    };
    let Some(signer) = signer() else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let input = dir.path().join("in.pdf");
    let output = dir.path().join("out.pdf");
    if std::fs::write(&input, pdf).is_err() {
        return;
    }
    let mut opts = SignOptions::new(now());
    opts.durable = false;
    let widget = match form % 3 {
        0 => None,
        1 => widget_builder(
            VisibleForm::Copy {
                form: CopyForm::Certified,
                org_name: "SỞ KHOA HỌC VÀ CÔNG NGHỆ".to_owned(),
                number: None,
                place: None,
            },
            now(),
        )
        .ok(),
        _ => widget_builder(
            VisibleForm::Attachment {
                doc_number: "07/SKHCN-VP".to_owned(),
            },
            now(),
        )
        .ok(),
    };
    if sign_with(&input, &output, &opts, signer as &dyn Signer, widget).is_err() {
        assert!(!output.exists(), "a refused input left an output file");
        return;
    }
    // What kyso wrote, kyso must read back: the new signature is intact and covers the file.
    let signed = std::fs::read(&output).expect("the signed file");
    assert!(signed.starts_with(pdf), "the original bytes are kept as they were");
    let opts = ValidateOptions::new(TrustStore::new(), now());
    let report = validate(Arc::new(MemSource(Arc::from(signed))), &opts)
        .expect("kyso reads the file it signed");
    let last = report.signatures.last().expect("the new signature is found");
    assert!(last.intact, "the new signature is intact: {:?}", last.integrity_problems);
    assert!(last.covers_whole_file);
});
