//! A signature's `/Contents` from an untrusted PDF: BER normalisation with its depth cap, then
//! the CMS SignedData parser and the signer checks over a fixed digest; and signed attributes
//! alone, as `kyso agent` receives them.
#![no_main]
use kyso_cms::ber::{normalize, BerLimits};
use kyso_cms::verify::{parse_signed_data, read_signed_attrs, verify_signer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The same bytes as signed attributes a signing agent is asked to sign.
    let _ = read_signed_attrs(data);
    let Ok(norm) = normalize(data, &BerLimits::default()) else {
        return;
    };
    if let Ok(parsed) = parse_signed_data(&norm.der) {
        let _ = verify_signer(&parsed, |alg| vec![0u8; alg.output_len()]);
    }
});
