//! Long-term validation material for kyso: RFC 3161 time-stamp tokens, RFC 6960 OCSP and
//! RFC 5280 CRLs — their ASN.1 ([`asn1`]), issuing them (kyso's own TSA, OCSP responder and
//! CRLs), checking them (the verifier) and fetching them over HTTP (signing at B-T/B-LT and
//! validating online).

pub mod asn1;
mod gentime;

pub use gentime::GenTime;
