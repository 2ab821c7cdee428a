//! What `kyso pki serve` reads from the network: OCSP requests (the responder's parser, then a
//! `malformedRequest` answer) and RFC 3161 time-stamp requests. Neither may panic.
#![no_main]
use der::Decode;
use kyso_ltv::asn1::{OcspResponseStatus, TimeStampReq};
use kyso_ltv::responder::{error_response, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if parse_request(data).is_none() {
        let _ = error_response(OcspResponseStatus::MalformedRequest);
    }
    let _ = TimeStampReq::from_der(data);
    let _ = kyso_ltv::tsa::rejection(kyso_ltv::tsa::FailureInfo::BadDataFormat, "fuzz");
});
