//! PKCS#12 bundles (uploaded key files) with a fixed password.
#![no_main]
use kyso_keys::{Pkcs12Signer, Secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Pkcs12Signer::from_pkcs12(data, &Secret::new("123456".to_owned()));
});
