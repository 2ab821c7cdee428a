//! Issuing RFC 3161 time-stamp responses (kyso's own TSA, `kyso pki serve`).
//!
//! [`respond`] turns the DER of a `TimeStampReq` into the DER of a `TimeStampResp`: a granted
//! response carries a token (CMS SignedData, version 3, eContent `TSTInfo`, signed attributes
//! content-type, message-digest and signing-certificate-v2); anything the TSA cannot honour is
//! a rejection with the matching `PKIFailureInfo` bit. It never fails on bad input.

use std::sync::atomic::{AtomicU64, Ordering};

use der::asn1::{BitString, Int, ObjectIdentifier};
use der::{Decode, Encode};
use kyso_cms::{DigestAlgorithm, SignRequest, SignedAttributes, SignedDataBuilder, Signer};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;

use crate::asn1::{oids, Accuracy, PkiStatusInfo, TimeStampReq, TimeStampResp, TstInfo};
use crate::{GenTime, Result};

/// The policy of kyso's demo TSA: a fictional OID under IANA's documentation arc
/// (1.3.6.1.4.1.32473, RFC 5612), `.3161.1`. It carries no legal meaning.
pub const KYSO_DEMO_TSA_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.3161.1");

/// Largest request accepted (a request is ~100 bytes).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// `PKIFailureInfo` bits (RFC 3161 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported.
    UnacceptedExtension = 16,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// The DER named BIT STRING with only this bit set.
    fn bit_string(self) -> Result<BitString> {
        let n = self as usize;
        let mut bytes = vec![0u8; n / 8 + 1];
        if let Some(b) = bytes.last_mut() {
            *b = 0x80 >> (n % 8);
        }
        Ok(BitString::new(u8::try_from(7 - n % 8).unwrap_or(0), bytes)?)
    }
}

/// How the TSA stamps.
#[derive(Debug, Clone)]
pub struct TsaSettings {
    /// The policy of every token (requests naming another are rejected).
    pub policy: ObjectIdentifier,
    /// The accuracy claimed for `genTime`.
    pub accuracy: Accuracy,
    /// The fraction digits of `genTime`: it is truncated to milliseconds.
    pub millisecond_gen_time: bool,
}

impl Default for TsaSettings {
    fn default() -> Self {
        TsaSettings {
            policy: KYSO_DEMO_TSA_POLICY,
            accuracy: Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            },
            millisecond_gen_time: true,
        }
    }
}

/// Unique, strictly increasing token serial numbers: the microseconds since 1970 of the first
/// token, then at least one more each time (so restarts keep increasing as long as the clock
/// does not go back).
#[derive(Debug, Default)]
pub struct SerialCounter(AtomicU64);

impl SerialCounter {
    /// The next serial for a token issued at `now`.
    pub fn next(&self, now: OffsetDateTime) -> u64 {
        let micros = u64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(0);
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let next = current.saturating_add(1).max(micros);
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => current = seen,
            }
        }
    }
}

/// A positive INTEGER from big-endian magnitude bytes (minimal, with a 0x00 when the high bit
/// is set).
pub(crate) fn positive_int(bytes: &[u8]) -> Result<Int> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let mag = bytes.get(start..).unwrap_or_default();
    let mut v = Vec::with_capacity(mag.len() + 1);
    if mag.first().is_none_or(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(mag);
    Ok(Int::new(&v)?)
}

/// A rejection (`status` 2) with one failure bit and a text.
pub fn rejection(fail: FailureInfo, text: &str) -> Result<Vec<u8>> {
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec![text.to_owned()]),
            fail_info: Some(fail.bit_string()?),
        },
        time_stamp_token: None,
    };
    Ok(resp.to_der()?)
}

/// What the TSA makes of a request before signing.
enum Checked {
    Ok(TimeStampReq),
    Reject(FailureInfo, &'static str),
}

fn check(request_der: &[u8], settings: &TsaSettings) -> Checked {
    if request_der.len() > MAX_REQUEST_BYTES {
        return Checked::Reject(FailureInfo::BadDataFormat, "request too large");
    }
    let Ok(req) = TimeStampReq::from_der(request_der) else {
        return Checked::Reject(FailureInfo::BadDataFormat, "not a DER TimeStampReq");
    };
    if req.version != 1 {
        return Checked::Reject(FailureInfo::BadRequest, "unsupported version");
    }
    let imprint = &req.message_imprint;
    let Some(d) = DigestAlgorithm::from_oid(&imprint.hash_algorithm.oid) else {
        return Checked::Reject(
            FailureInfo::BadAlg,
            "unsupported hash algorithm (SHA-256, SHA-384 or SHA-512)",
        );
    };
    // Parameters: absent or NULL.
    if let Some(p) = &imprint.hash_algorithm.parameters {
        if der::Tagged::tag(p) != der::Tag::Null {
            return Checked::Reject(FailureInfo::BadAlg, "unexpected hash parameters");
        }
    }
    if imprint.hashed_message.as_bytes().len() != d.output_len() {
        return Checked::Reject(
            FailureInfo::BadDataFormat,
            "imprint length does not match its algorithm",
        );
    }
    if let Some(p) = &req.req_policy {
        if *p != settings.policy {
            return Checked::Reject(FailureInfo::UnacceptedPolicy, "unsupported policy");
        }
    }
    if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
        return Checked::Reject(FailureInfo::UnacceptedExtension, "extensions not supported");
    }
    Checked::Ok(req)
}

/// Answer the DER `TimeStampReq` `request_der` with a DER `TimeStampResp`, stamping `now`
/// with token serial `serial`, signed by `signer` (whose certificate must carry the critical
/// timeStamping EKU). Bad requests get rejections; an error is returned only when even a
/// rejection cannot be encoded.
pub fn respond(
    request_der: &[u8],
    signer: &dyn Signer,
    serial: u64,
    now: OffsetDateTime,
    settings: &TsaSettings,
) -> Result<Vec<u8>> {
    let req = match check(request_der, settings) {
        Checked::Ok(r) => r,
        Checked::Reject(fail, text) => return rejection(fail, text),
    };
    match token(&req, signer, serial, now, settings) {
        Ok(token) => {
            let resp = TimeStampResp {
                status: PkiStatusInfo {
                    status: 0,
                    status_string: None,
                    fail_info: None,
                },
                time_stamp_token: Some(der::asn1::Any::from_der(&token)?),
            };
            Ok(resp.to_der()?)
        }
        Err(_) => rejection(FailureInfo::SystemFailure, "signing failed"),
    }
}

fn token(
    req: &TimeStampReq,
    signer: &dyn Signer,
    serial: u64,
    now: OffsetDateTime,
    settings: &TsaSettings,
) -> Result<Vec<u8>> {
    let gen_time = if settings.millisecond_gen_time {
        let ms = now.nanosecond() / 1_000_000 * 1_000_000;
        GenTime(now.replace_nanosecond(ms).unwrap_or(now))
    } else {
        GenTime::whole_seconds(now)
    };
    let cert = signer.certificate();
    let tst = TstInfo {
        version: 1,
        policy: settings.policy,
        message_imprint: req.message_imprint.clone(),
        serial_number: positive_int(&serial.to_be_bytes())?,
        gen_time,
        accuracy: Some(settings.accuracy.clone()),
        ordering: false,
        nonce: req.nonce.clone(),
        tsa: Some(GeneralName::DirectoryName(
            cert.inner().tbs_certificate().subject().clone(),
        )),
        extensions: None,
    };
    let alg = signer.algorithm();
    let cms_err = |e: kyso_cms::Error| crate::Error::Encoding(e.to_string());
    let attrs = SignedAttributes::encapsulating(oids::CT_TST_INFO, tst.to_der()?, alg, cert)
        .map_err(cms_err)?;
    let digest = alg.digest().digest(attrs.der());
    let signature = signer
        .sign(&SignRequest {
            message: attrs.der(),
            digest: &digest,
            algorithm: alg,
        })
        .map_err(cms_err)?;
    // The TSA certificate and its intermediates (not the root: the relying party has it).
    let chain: Vec<_> = signer
        .chain()
        .iter()
        .filter(|c| !c.is_self_issued())
        .cloned()
        .collect();
    let builder = SignedDataBuilder {
        signed_attrs: &attrs,
        algorithm: alg,
        signature: &signature,
        signer: cert,
        chain: &chain,
        unsigned_attrs: Vec::new(),
    };
    if req.cert_req {
        builder.build().map_err(cms_err)
    } else {
        builder.build_without_certificates().map_err(cms_err)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::asn1::MessageImprint;
    use der::asn1::OctetString;
    use kyso_x509::Cert;

    /// An ECDSA P-256 TSA signer with a self-made certificate (rcgen), for unit tests.
    pub(crate) struct TestSigner {
        cert: Cert,
        key: aws_lc_rs::signature::EcdsaKeyPair,
    }

    impl TestSigner {
        pub(crate) fn new(cn: &str) -> Self {
            let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            let c = params.self_signed(&kp).unwrap();
            let key = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &kp.serialize_der(),
            )
            .unwrap();
            TestSigner {
                cert: Cert::from_der(c.der()).unwrap(),
                key,
            }
        }
    }

    impl Signer for TestSigner {
        fn certificate(&self) -> &Cert {
            &self.cert
        }
        fn chain(&self) -> &[Cert] {
            &[]
        }
        fn algorithm(&self) -> kyso_cms::SignatureAlgorithm {
            kyso_cms::SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)
        }
        fn sign(&self, r: &SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            Ok(self.key.sign(&rng, r.message).unwrap().as_ref().to_vec())
        }
    }

    fn request(alg: DigestAlgorithm, nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
        TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: alg.identifier(),
                hashed_message: OctetString::new(alg.digest(b"hello")).unwrap(),
            },
            req_policy: None,
            nonce: nonce.map(|n| Int::new(n).unwrap()),
            cert_req,
            extensions: None,
        }
        .to_der()
        .unwrap()
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-03-15 09:30:00.123456 UTC)
    }

    #[test]
    fn grants_a_token_with_nonce_and_imprint() {
        let signer = TestSigner::new("TSA");
        for alg in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let req = request(alg, Some(&[0x01, 0x23, 0x45]), true);
            let der = respond(&req, &signer, 42, now(), &TsaSettings::default()).unwrap();
            let resp = TimeStampResp::from_der(&der).unwrap();
            assert_eq!(resp.status.status, 0);
            let token = resp.time_stamp_token.unwrap().to_der().unwrap();
            let ci = cms::content_info::ContentInfo::from_der(&token).unwrap();
            let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
            assert_eq!(sd.version, cms::content_info::CmsVersion::V3);
            assert_eq!(sd.encap_content_info.econtent_type, oids::CT_TST_INFO);
            assert!(sd.certificates.is_some(), "certReq honoured");
            let econtent = sd.encap_content_info.econtent.unwrap();
            let tst = TstInfo::from_der(econtent.value()).unwrap();
            assert_eq!(tst.policy, KYSO_DEMO_TSA_POLICY);
            assert_eq!(tst.nonce.unwrap().as_bytes(), [0x01, 0x23, 0x45]);
            assert_eq!(tst.serial_number.as_bytes(), [42]);
            assert_eq!(
                tst.message_imprint.hashed_message.as_bytes(),
                alg.digest(b"hello")
            );
            assert_eq!(
                tst.gen_time.0,
                time::macros::datetime!(2026-03-15 09:30:00.123 UTC)
            );
            // The signature verifies over the signed attributes.
            let si = sd.signer_infos.0.get(0).unwrap();
            let attrs = si.signed_attrs.as_ref().unwrap().to_der().unwrap();
            kyso_cms::SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)
                .verify(&signer.cert, &attrs, si.signature.as_bytes())
                .unwrap();
        }
    }

    #[test]
    fn no_certificates_without_cert_req() {
        let signer = TestSigner::new("TSA");
        let req = request(DigestAlgorithm::Sha256, None, false);
        let der = respond(&req, &signer, 7, now(), &TsaSettings::default()).unwrap();
        let resp = TimeStampResp::from_der(&der).unwrap();
        let token = resp.time_stamp_token.unwrap().to_der().unwrap();
        let ci = cms::content_info::ContentInfo::from_der(&token).unwrap();
        let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
        assert!(sd.certificates.is_none());
    }

    fn fail_bits(der: &[u8]) -> (u8, Vec<u8>) {
        let resp = TimeStampResp::from_der(der).unwrap();
        assert!(resp.time_stamp_token.is_none());
        let fi = resp.status.fail_info.unwrap();
        (resp.status.status, fi.raw_bytes().to_vec())
    }

    #[test]
    fn rejects_bad_requests() {
        let signer = TestSigner::new("TSA");
        let s = TsaSettings::default();
        // Garbage → badDataFormat (bit 5).
        let der = respond(b"\x30\x03garbage", &signer, 1, now(), &s).unwrap();
        assert_eq!(fail_bits(&der), (2, vec![0x04]));
        // SHA-1 → badAlg (bit 0).
        let mut req =
            TimeStampReq::from_der(&request(DigestAlgorithm::Sha256, None, true)).unwrap();
        req.message_imprint.hash_algorithm.oid = oids::SHA1;
        req.message_imprint.hashed_message = OctetString::new([0u8; 20]).unwrap();
        let der = respond(&req.to_der().unwrap(), &signer, 1, now(), &s).unwrap();
        assert_eq!(fail_bits(&der), (2, vec![0x80]));
        // Wrong length → badDataFormat.
        let mut req =
            TimeStampReq::from_der(&request(DigestAlgorithm::Sha256, None, true)).unwrap();
        req.message_imprint.hashed_message = OctetString::new([0u8; 20]).unwrap();
        let der = respond(&req.to_der().unwrap(), &signer, 1, now(), &s).unwrap();
        assert_eq!(fail_bits(&der), (2, vec![0x04]));
        // Other policy → unacceptedPolicy (bit 15).
        let mut req =
            TimeStampReq::from_der(&request(DigestAlgorithm::Sha256, None, true)).unwrap();
        req.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4"));
        let der = respond(&req.to_der().unwrap(), &signer, 1, now(), &s).unwrap();
        assert_eq!(fail_bits(&der), (2, vec![0x00, 0x01]));
        // Empty body.
        let der = respond(b"", &signer, 1, now(), &s).unwrap();
        assert_eq!(fail_bits(&der).0, 2);
    }

    #[test]
    fn serials_increase() {
        let c = SerialCounter::default();
        let a = c.next(now());
        let b = c.next(now());
        let later = c.next(now() + time::Duration::seconds(1));
        assert!(a < b && b < later);
        assert_eq!(positive_int(&[0x80]).unwrap().as_bytes(), [0x00, 0x80]);
        assert_eq!(positive_int(&[0, 0, 5]).unwrap().as_bytes(), [5]);
    }
}
