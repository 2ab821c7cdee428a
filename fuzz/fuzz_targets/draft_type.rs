//! The draft's type from its bytes (kyso_services::convert::detect): the PDF header, the ZIP
//! end-of-directory record and central directory, the first local entry of an OpenDocument —
//! read from every upload before LibreOffice is asked to convert it.
#![no_main]
use kyso_services::convert::{detect, DraftType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let kind = detect(data);
    // A ZIP is never taken for a PDF, and a DOCX or ODT is always a ZIP.
    let zip = data.starts_with(b"PK\x03\x04");
    match kind {
        Some(DraftType::Pdf) => assert!(!zip),
        Some(DraftType::Docx | DraftType::Odt) => assert!(zip),
        None => {}
    }
});
