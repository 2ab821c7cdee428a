//! Issuing RFC 6960 OCSP responses (kyso's own responder, `kyso pki serve`).
//!
//! The responder knows a list of CAs ([`Authority`]), each with the signer that answers for
//! it (a delegated responder certificate with id-kp-OCSPSigning and id-pkix-ocsp-nocheck, or the
//! CA's own key). [`respond`] parses a request, asks the caller for the status of each
//! certificate named, and signs a `BasicOCSPResponse`; a request that cannot be parsed gets
//! `malformedRequest`. It never fails on bad input.

use der::asn1::{Any, BitString, Null, OctetString};
use der::{Decode, Encode};
use kyso_cms::{SignRequest, Signer};
use kyso_x509::Cert;
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::CrlReason;

use crate::asn1::{
    oids, BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus,
    ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
};
use crate::ocsp::{cert_id, CertIdHash};
use crate::{GenTime, Result};

/// Largest request accepted.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Most certificates asked about in one request.
pub const MAX_REQUESTS: usize = 16;

/// The status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked {
        time: OffsetDateTime,
        reason: Option<CrlReason>,
    },
    /// Not issued by this CA (or the CA is not one of ours).
    Unknown,
}

/// A CA the responder answers for, and who signs those answers.
pub struct Authority<'a> {
    /// The CA certificate.
    pub ca: &'a Cert,
    /// The signer of responses about the certificates this CA issued.
    pub signer: &'a dyn Signer,
    name_key_sha1: (Vec<u8>, Vec<u8>),
    name_key_sha256: (Vec<u8>, Vec<u8>),
    responder_key_hash: Vec<u8>,
}

impl std::fmt::Debug for Authority<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ca", &self.ca.subject_display())
            .finish_non_exhaustive()
    }
}

impl<'a> Authority<'a> {
    /// The CA `ca`, answered for by `signer` (the CA itself or a responder it certified).
    pub fn new(ca: &'a Cert, signer: &'a dyn Signer) -> Result<Self> {
        let hashes = |h| -> Result<(Vec<u8>, Vec<u8>)> {
            let id = cert_id(ca, &[1], h)?;
            Ok((
                id.issuer_name_hash.as_bytes().to_vec(),
                id.issuer_key_hash.as_bytes().to_vec(),
            ))
        };
        Ok(Authority {
            ca,
            signer,
            name_key_sha1: hashes(CertIdHash::Sha1)?,
            name_key_sha256: hashes(CertIdHash::Sha256)?,
            responder_key_hash: aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                signer.certificate().public_key_bytes(),
            )
            .as_ref()
            .to_vec(),
        })
    }

    /// Does `id` name a certificate issued by this CA?
    fn issued(&self, id: &CertId) -> bool {
        let (name, key) = match CertIdHash::from_oid(&id.hash_algorithm.oid) {
            Some(CertIdHash::Sha1) => &self.name_key_sha1,
            Some(CertIdHash::Sha256) => &self.name_key_sha256,
            None => return false,
        };
        id.issuer_name_hash.as_bytes() == name.as_slice()
            && id.issuer_key_hash.as_bytes() == key.as_slice()
    }
}

/// A parsed request: the certificates asked about and the nonce extension, if any.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    pub cert_ids: Vec<CertId>,
    /// The request's nonce extension, echoed verbatim in the response.
    pub nonce: Option<x509_cert::ext::Extension>,
}

/// Parse a DER `OCSPRequest`; `None` when it is malformed (not DER, no certificate asked
/// about, too many).
pub fn parse_request(der: &[u8]) -> Option<ParsedRequest> {
    if der.len() > MAX_REQUEST_BYTES {
        return None;
    }
    let req = OcspRequest::from_der(der).ok()?;
    let tbs = req.tbs_request;
    if tbs.version != 0 || tbs.request_list.is_empty() || tbs.request_list.len() > MAX_REQUESTS {
        return None;
    }
    let nonce = tbs
        .request_extensions
        .into_iter()
        .flatten()
        .find(|e| e.extn_id == oids::OCSP_NONCE);
    Some(ParsedRequest {
        cert_ids: tbs.request_list.into_iter().map(|r| r.req_cert).collect(),
        nonce,
    })
}

/// A response with only a status (`malformedRequest`, `internalError`, …).
pub fn error_response(status: OcspResponseStatus) -> Result<Vec<u8>> {
    Ok(OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()?)
}

/// Which authority answers `req`: the one that issued its first certificate (the others in the
/// same request are answered by it too; those it did not issue are `unknown`), or the first
/// authority when none matches (every answer is then `unknown`).
pub fn authority_for<'a, 'b>(
    authorities: &'b [Authority<'a>],
    req: &ParsedRequest,
) -> Option<(usize, &'b Authority<'a>)> {
    req.cert_ids
        .first()
        .and_then(|id| authorities.iter().enumerate().find(|(_, a)| a.issued(id)))
        .or_else(|| authorities.iter().enumerate().next())
}

/// Sign a successful response to `req` with `authority`'s signer. `status(serial)` gives the
/// status of a certificate this authority's CA issued (INTEGER content octets as in the
/// request); certificates of other CAs are `unknown`. `thisUpdate` and `producedAt` are `now`
/// in whole seconds, `nextUpdate` is `now + validity`.
pub fn sign_response(
    authority: &Authority<'_>,
    req: &ParsedRequest,
    status: &dyn Fn(&[u8]) -> Status,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<Vec<u8>> {
    let this_update = GenTime::whole_seconds(now);
    let next_update = GenTime::whole_seconds(now + validity);
    let mut responses = Vec::with_capacity(req.cert_ids.len());
    for id in &req.cert_ids {
        let st = if authority.issued(id) {
            status(id.serial_number.as_bytes())
        } else {
            Status::Unknown
        };
        let cert_status = match st {
            Status::Good => CertStatus::Good(Null),
            Status::Unknown => CertStatus::Unknown(Null),
            Status::Revoked { time, reason } => CertStatus::Revoked(RevokedInfo {
                revocation_time: GenTime::whole_seconds(time),
                revocation_reason: reason,
            }),
        };
        responses.push(SingleResponse {
            cert_id: id.clone(),
            cert_status,
            this_update,
            next_update: Some(next_update),
            single_extensions: None,
        });
    }
    let data = ResponseData {
        version: 0,
        responder_id: ResponderId::ByKey(OctetString::new(authority.responder_key_hash.clone())?),
        produced_at: this_update,
        responses,
        response_extensions: req.nonce.clone().map(|n| vec![n]),
    };
    let tbs = data.to_der()?;
    let signer = authority.signer;
    let alg = signer.algorithm();
    let cms_err = |e: kyso_cms::Error| crate::Error::Encoding(e.to_string());
    let digest = alg.digest().digest(&tbs);
    let signature = signer
        .sign(&SignRequest {
            message: &tbs,
            digest: &digest,
            algorithm: alg,
        })
        .map_err(cms_err)?;
    // A delegated responder sends its certificate; a CA answering for itself need not.
    let responder = signer.certificate();
    let certs = if responder == authority.ca {
        None
    } else {
        Some(vec![responder.inner().clone()])
    };
    let basic = BasicOcspResponse {
        tbs_response_data: Any::from_der(&tbs)?,
        signature_algorithm: alg.identifier().map_err(cms_err)?,
        signature: BitString::from_bytes(&signature)?,
        certs,
    };
    Ok(OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: oids::OCSP_BASIC,
            response: OctetString::new(basic.to_der()?)?,
        }),
    }
    .to_der()?)
}

/// Answer the DER `OCSPRequest` `request_der` in one go: parse it, pick the authority, sign.
/// `status(authority_index, serial)` gives the status of a certificate that authority's CA
/// issued. Malformed requests get `malformedRequest`, signing failures `internalError`.
pub fn respond(
    request_der: &[u8],
    authorities: &[Authority<'_>],
    status: &dyn Fn(usize, &[u8]) -> Status,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<Vec<u8>> {
    let Some(req) = parse_request(request_der) else {
        return error_response(OcspResponseStatus::MalformedRequest);
    };
    let Some((index, authority)) = authority_for(authorities, &req) else {
        return error_response(OcspResponseStatus::InternalError);
    };
    match sign_response(authority, &req, &|s| status(index, s), now, validity) {
        Ok(r) => Ok(r),
        Err(_) => error_response(OcspResponseStatus::InternalError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocsp::request_der;
    use crate::tsa::tests::TestSigner;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-03-15 09:30:00.5 UTC)
    }

    fn decode(
        der: &[u8],
    ) -> (
        OcspResponseStatus,
        Option<(BasicOcspResponse, ResponseData)>,
    ) {
        let r = OcspResponse::from_der(der).unwrap();
        let Some(rb) = r.response_bytes else {
            return (r.response_status, None);
        };
        assert_eq!(rb.response_type, oids::OCSP_BASIC);
        let basic = BasicOcspResponse::from_der(rb.response.as_bytes()).unwrap();
        let data = ResponseData::from_der(&basic.tbs_response_data.to_der().unwrap()).unwrap();
        (r.response_status, Some((basic, data)))
    }

    #[test]
    fn good_revoked_unknown_and_nonce() {
        let ca = TestSigner::new("CA");
        let other = TestSigner::new("Other CA");
        let auth = [Authority::new(ca.certificate(), &ca).unwrap()];
        let revoked_at = time::macros::datetime!(2026-03-01 00:00:00 UTC);
        let status = |_: usize, serial: &[u8]| match serial {
            [1] => Status::Good,
            [2] => Status::Revoked {
                time: revoked_at,
                reason: Some(CrlReason::KeyCompromise),
            },
            _ => Status::Unknown,
        };
        for (serial, hash) in [
            (1u8, CertIdHash::Sha1),
            (2, CertIdHash::Sha256),
            (3, CertIdHash::Sha1),
        ] {
            let id = cert_id(ca.certificate(), &[serial], hash).unwrap();
            let req = request_der(id.clone(), Some(b"0123456789abcdef")).unwrap();
            let der = respond(&req, &auth, &status, now(), Duration::hours(12)).unwrap();
            let (st, body) = decode(&der);
            assert_eq!(st, OcspResponseStatus::Successful);
            let (basic, data) = body.unwrap();
            assert!(basic.certs.is_none(), "the CA answers for itself");
            let single = data.responses.first().unwrap();
            assert_eq!(single.cert_id, id);
            match (serial, &single.cert_status) {
                (1, CertStatus::Good(_)) | (3, CertStatus::Unknown(_)) => {}
                (2, CertStatus::Revoked(info)) => {
                    assert_eq!(info.revocation_time.0, revoked_at);
                    assert_eq!(info.revocation_reason, Some(CrlReason::KeyCompromise));
                }
                other => panic!("unexpected {other:?}"),
            }
            assert_eq!(
                single.this_update.0,
                time::macros::datetime!(2026-03-15 09:30:00 UTC)
            );
            assert_eq!(
                single.next_update.unwrap().0,
                time::macros::datetime!(2026-03-15 21:30:00 UTC)
            );
            let nonce = data.response_extensions.unwrap();
            assert_eq!(nonce.first().unwrap().extn_id, oids::OCSP_NONCE);
            kyso_cms::SignatureAlgorithm::Ecdsa(kyso_cms::DigestAlgorithm::Sha256)
                .verify(
                    ca.certificate(),
                    &basic.tbs_response_data.to_der().unwrap(),
                    basic.signature.raw_bytes(),
                )
                .unwrap();
        }
        // Another CA's certificate: unknown, no nonce asked → none echoed.
        let id = cert_id(other.certificate(), &[1], CertIdHash::Sha1).unwrap();
        let der = respond(
            &request_der(id, None).unwrap(),
            &auth,
            &status,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        let (_, body) = decode(&der);
        let (_, data) = body.unwrap();
        assert!(matches!(
            data.responses.first().unwrap().cert_status,
            CertStatus::Unknown(_)
        ));
        assert!(data.response_extensions.is_none());
    }

    #[test]
    fn delegated_responder_sends_its_certificate() {
        let ca = TestSigner::new("CA");
        let responder = TestSigner::new("Responder");
        let auth = [Authority::new(ca.certificate(), &responder).unwrap()];
        let id = cert_id(ca.certificate(), &[9], CertIdHash::Sha1).unwrap();
        let der = respond(
            &request_der(id, None).unwrap(),
            &auth,
            &|_, _| Status::Good,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        let (_, body) = decode(&der);
        let (basic, data) = body.unwrap();
        assert_eq!(basic.certs.unwrap().len(), 1);
        assert!(matches!(data.responder_id, ResponderId::ByKey(_)));
    }

    #[test]
    fn garbage_is_malformed() {
        let ca = TestSigner::new("CA");
        let auth = [Authority::new(ca.certificate(), &ca).unwrap()];
        for body in [
            &b""[..],
            b"\x30\x00",
            b"hello",
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            let der =
                respond(body, &auth, &|_, _| Status::Good, now(), Duration::hours(1)).unwrap();
            assert_eq!(decode(&der).0, OcspResponseStatus::MalformedRequest);
        }
    }
}
