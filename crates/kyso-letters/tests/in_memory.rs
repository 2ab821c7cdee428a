#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! A letter is signed in memory: with no usable temporary folder at all (`TMPDIR` pointing
//! nowhere, as in a sandboxed service without a writable /tmp), signing and sealing still
//! work. Its own test binary, as it changes the process environment.

use std::sync::Arc;

use kyso_domain::lifecycle::RequestKind;
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_letters::{render, sign, sign_sealed, Contact, LetterData, LetterRow, Seal};
use kyso_pdf::MemSource;
use time::macros::{date, datetime};

const PASSWORD: &str = "kyso-demo";

#[test]
fn letters_are_signed_without_a_temporary_folder() {
    let at = datetime!(2026-12-02 03:00:00 UTC);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kyso-letters-in-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    kyso_pki::demo::init(
        &dir,
        &kyso_pki::demo::InitOptions::new(Secret::new(PASSWORD.into()), at),
    )
    .unwrap();
    let p12 = std::fs::read(dir.join("organization.p12")).unwrap();
    let signer = Pkcs12Signer::from_pkcs12(&p12, &Secret::new(PASSWORD.into())).unwrap();
    let seal_png = std::fs::read(dir.join("seal.png")).unwrap();
    let data = LetterData {
        kind: RequestKind::Renew,
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
        rows: vec![LetterRow::new([
            "Trần Minh Quân",
            "540A1B2C3D4E5F60",
            "15/01/2027",
            "Gia hạn thêm 3 năm",
        ])],
        signer_title: "GIÁM ĐỐC".into(),
        signer_name: "Nguyễn Văn An".into(),
        recipients_block: vec!["Như trên;".into(), "Lưu: VT, VP.".into()],
    };
    let pdf = render(&data).unwrap();

    // Nowhere to put a temporary file.
    std::env::set_var("TMPDIR", dir.join("no-such-folder"));
    assert!(
        tempfile::tempfile().is_err(),
        "the temporary folder is unusable"
    );

    let signed = sign(&pdf, &signer, at).unwrap();
    let seal = Seal {
        png: seal_png,
        diameter_mm: None,
        anchor: "GIÁM ĐỐC".into(),
    };
    let sealed = sign_sealed(&pdf, &signer, at, &seal).unwrap();
    for doc in [signed, sealed] {
        assert!(doc.starts_with(&pdf));
        let reports =
            kyso_pades::verify::verify_integrity(Arc::new(MemSource(doc.as_slice().into())))
                .unwrap();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].is_intact(), "{:?}", reports[0].failure_codes());
    }
}
