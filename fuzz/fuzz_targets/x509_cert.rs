//! Certificates from DER or PEM, and every accessor the verifier and the UI use; the trust
//! store's file reader (`kyso_x509::store::parse_anchor_file`) and the caIssuers answer reader
//! (`kyso_ltv::chain::parse_ca_issuers`: DER, PEM, certs-only CMS) on the same bytes.
#![no_main]
use kyso_x509::Cert;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kyso_ltv::chain::parse_ca_issuers(data);
    if let Ok(anchors) = kyso_x509::store::parse_anchor_file(std::path::Path::new("f.pem"), data) {
        for a in anchors {
            assert!(a.is_ca());
            let _ = a.sha256_fingerprint_hex();
        }
    }
    if let Ok(certs) = Cert::from_pem_or_der(data) {
        for c in certs {
            let _ = c.common_name();
            let _ = c.subject_display();
            let _ = c.issuer_display();
            let _ = c.serial_hex();
            let _ = c.key_usage();
            let _ = c.is_ca();
            let _ = c.key_kind();
            let _ = c.subject_key_id();
            let _ = c.not_after();
        }
    }
});
