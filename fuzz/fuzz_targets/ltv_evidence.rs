//! Revocation evidence and timestamps from untrusted sources (a document's DSS, an OCSP
//! responder, a CRL distribution point, a TSA): OCSP requests and responses, CRLs, RFC 3161
//! responses and tokens, checked against a fixed demo certificate and its issuer (the seeds
//! are OpenSSL's answers about them, so fuzzing reaches the signature checks).
#![no_main]
use std::sync::OnceLock;

use der::Decode;
use kyso_ltv::asn1::{OcspRequest, TimeStampResp};
use kyso_ltv::{crl, ocsp, tsp};
use kyso_x509::Cert;
use libfuzzer_sys::fuzz_target;

fn certs() -> &'static (Cert, Cert) {
    static C: OnceLock<(Cert, Cert)> = OnceLock::new();
    C.get_or_init(|| {
        let one = |pem: &[u8]| {
            Cert::from_pem_chain(pem)
                .ok()
                .and_then(|mut v| v.pop())
                .expect("fixture certificate")
        };
        (
            one(include_bytes!("../fixtures/ltv/personal.pem")),
            one(include_bytes!("../fixtures/ltv/intermediate.pem")),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (leaf, issuer) = certs();
    let _ = ocsp::check_response(data, leaf, issuer, Some(b"0123456789abcdef"));
    let _ = crl::check_crl(data, leaf, issuer);
    let _ = tsp::check_token(data, |alg| vec![0u8; alg.output_len()]);
    let _ = TimeStampResp::from_der(data);
    let _ = OcspRequest::from_der(data);
});
