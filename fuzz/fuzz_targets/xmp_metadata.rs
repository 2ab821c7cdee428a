//! The XMP well-formedness check the verifier applies to `/Metadata` updates after a signature
//! (`kyso_pades::xmp`) on arbitrary bytes: an answer, never a panic; an accepted document is
//! accepted as namespace-aware XML too, and stays accepted behind a byte-order mark.
#![no_main]
use kyso_pades::xmp::{check_xml, check_xmp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let xml = check_xml(data);
    if check_xmp(data).is_ok() {
        assert!(xml.is_ok());
        if !data.starts_with(b"\xEF\xBB\xBF") {
            let mut bom = b"\xEF\xBB\xBF".to_vec();
            bom.extend_from_slice(data);
            assert!(check_xmp(&bom).is_ok());
        }
    }
});
