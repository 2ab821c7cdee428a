//! OCSP (RFC 6960) pieces both sides share: identifying a certificate ([`cert_id`]) and the
//! request a client sends ([`request_der`]).

use der::asn1::{Int, OctetString};
use der::Encode;
use kyso_cms::DigestAlgorithm;
use kyso_x509::Cert;
use spki::AlgorithmIdentifierOwned;

use crate::asn1::{oids, CertId, OcspRequest, OcspSingleRequest, TbsRequest};
use crate::{Error, Result};

/// The hash an OCSP `CertID` is computed with. SHA-1 is what most responders expect (it only
/// identifies the issuer; it protects nothing); SHA-256 is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdHash {
    Sha1,
    Sha256,
}

impl CertIdHash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            CertIdHash::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            CertIdHash::Sha256 => &aws_lc_rs::digest::SHA256,
        };
        aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
    }

    fn identifier(self) -> AlgorithmIdentifierOwned {
        match self {
            CertIdHash::Sha1 => AlgorithmIdentifierOwned {
                oid: oids::SHA1,
                parameters: Some(der::asn1::Any::null()),
            },
            CertIdHash::Sha256 => DigestAlgorithm::Sha256.identifier(),
        }
    }

    /// The hash named by a `CertID`'s algorithm, when supported.
    pub fn from_oid(oid: &der::asn1::ObjectIdentifier) -> Option<Self> {
        if *oid == oids::SHA1 {
            Some(CertIdHash::Sha1)
        } else if *oid == oids::SHA256 {
            Some(CertIdHash::Sha256)
        } else {
            None
        }
    }
}

/// The `CertID` of the certificate with `serial` (INTEGER content octets) issued by `issuer`:
/// hashes of the issuer's DER subject name and of its public key's BIT STRING contents.
pub fn cert_id(issuer: &Cert, serial: &[u8], hash: CertIdHash) -> Result<CertId> {
    let name = issuer
        .subject_der()
        .map_err(|e| Error::Encoding(e.to_string()))?;
    Ok(CertId {
        hash_algorithm: hash.identifier(),
        issuer_name_hash: OctetString::new(hash.digest(&name))?,
        issuer_key_hash: OctetString::new(hash.digest(issuer.public_key_bytes()))?,
        serial_number: Int::new(serial)?,
    })
}

/// Does `id` name the certificate with `serial` issued by `issuer` (whatever hash it uses)?
pub fn cert_id_matches(id: &CertId, issuer: &Cert, serial: &[u8]) -> bool {
    let Some(hash) = CertIdHash::from_oid(&id.hash_algorithm.oid) else {
        return false;
    };
    match cert_id(issuer, serial, hash) {
        Ok(mine) => {
            mine.issuer_name_hash == id.issuer_name_hash
                && mine.issuer_key_hash == id.issuer_key_hash
                && kyso_cms::verify::same_serial(
                    mine.serial_number.as_bytes(),
                    id.serial_number.as_bytes(),
                )
        }
        Err(_) => false,
    }
}

/// A DER `OCSPRequest` for one certificate, with an optional nonce extension.
pub fn request_der(id: CertId, nonce: Option<&[u8]>) -> Result<Vec<u8>> {
    let request_extensions = match nonce {
        Some(n) => Some(vec![x509_cert::ext::Extension {
            extn_id: oids::OCSP_NONCE,
            critical: false,
            // The nonce's value is an OCTET STRING inside extnValue (RFC 8954).
            extn_value: OctetString::new(OctetString::new(n)?.to_der()?)?,
        }]),
        None => None,
    };
    let req = OcspRequest {
        tbs_request: TbsRequest {
            version: 0,
            requestor_name: None,
            request_list: vec![OcspSingleRequest {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    };
    Ok(req.to_der()?)
}

/// Stable codes of OCSP problems.
pub mod codes {
    pub const OCSP_UNREADABLE: &str = "OCSP_UNREADABLE";
    /// The responder answered with an error status (tryLater, unauthorized, …).
    pub const OCSP_ERROR_STATUS: &str = "OCSP_ERROR_STATUS";
    /// The response is about other certificates.
    pub const OCSP_NOT_FOR_CERT: &str = "OCSP_NOT_FOR_CERT";
    /// The response's signature does not verify, or its signer may not answer for the issuer.
    pub const OCSP_BAD_SIGNATURE: &str = "OCSP_BAD_SIGNATURE";
    pub const OCSP_UNAUTHORIZED_RESPONDER: &str = "OCSP_UNAUTHORIZED_RESPONDER";
    /// The nonce sent is not echoed.
    pub const OCSP_NONCE_MISMATCH: &str = "OCSP_NONCE_MISMATCH";
}

/// Check a DER `OCSPResponse` about `cert` (issued by `issuer`): successful, basic, signed by
/// the issuer itself or by a responder the issuer delegated (id-kp-OCSPSigning, issued and
/// signed by the issuer, valid when the response was produced). The nonce, when one was sent,
/// must be echoed.
pub fn check_response(
    der_bytes: &[u8],
    cert: &Cert,
    issuer: &Cert,
    nonce: Option<&[u8]>,
) -> std::result::Result<crate::Evidence, crate::Problem> {
    use crate::asn1::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};
    use crate::{CertState, Evidence, EvidenceKind, Problem};
    use der::Decode;
    let unreadable =
        |e: &dyn std::fmt::Display| Problem::new(codes::OCSP_UNREADABLE, e.to_string());
    let resp = OcspResponse::from_der(der_bytes).map_err(|e| unreadable(&e))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(Problem::new(
            codes::OCSP_ERROR_STATUS,
            format!("the responder answered {:?}", resp.response_status),
        ));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| unreadable(&"a successful response without responseBytes"))?;
    if bytes.response_type != oids::OCSP_BASIC {
        return Err(unreadable(&format!(
            "response type {} is not id-pkix-ocsp-basic",
            bytes.response_type
        )));
    }
    let basic =
        BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| unreadable(&e))?;
    let tbs = der::Encode::to_der(&basic.tbs_response_data).map_err(|e| unreadable(&e))?;
    let data = crate::asn1::ResponseData::from_der(&tbs).map_err(|e| unreadable(&e))?;
    let single = data
        .responses
        .iter()
        .find(|r| cert_id_matches(&r.cert_id, issuer, cert.serial_bytes()))
        .ok_or_else(|| {
            Problem::new(
                codes::OCSP_NOT_FOR_CERT,
                format!("the response is not about {}", cert.subject_display()),
            )
        })?;

    // Who signed: the issuer, or a delegated responder among the certs.
    let produced_at = data.produced_at.0;
    let embedded: Vec<Cert> = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| der::Encode::to_der(c).ok())
        .filter_map(|d| Cert::from_der(&d).ok())
        .collect();
    let signer = responder_cert(&data.responder_id, issuer, &embedded).ok_or_else(|| {
        Problem::new(
            codes::OCSP_UNAUTHORIZED_RESPONDER,
            "the responder is neither the issuer nor a certificate it delegated",
        )
    })?;
    if signer.der() != issuer.der() {
        let delegated = signer.extended_key_usage().contains(&oids::KP_OCSP_SIGNING)
            && issuer.is_issuer_of(&signer)
            && kyso_x509::verify_cert_signature(&signer, issuer).is_ok()
            && signer.valid_at(produced_at);
        if !delegated {
            return Err(Problem::new(
                codes::OCSP_UNAUTHORIZED_RESPONDER,
                format!(
                    "{} may not answer for {}",
                    signer.subject_display(),
                    issuer.subject_display()
                ),
            ));
        }
    }
    let sig = basic
        .signature
        .as_bytes()
        .ok_or_else(|| unreadable(&"signature BIT STRING has unused bits"))?;
    kyso_x509::verify_sig::verify_signature(&signer, &basic.signature_algorithm, &tbs, sig)
        .map_err(|e| Problem::new(codes::OCSP_BAD_SIGNATURE, e.to_string()))?;

    if let Some(sent) = nonce {
        let echoed = data
            .response_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oids::OCSP_NONCE)
            .map(|e| e.extn_value.as_bytes().to_vec());
        let expected = OctetString::new(sent)
            .and_then(|o| o.to_der())
            .unwrap_or_default();
        if echoed.as_deref() != Some(expected.as_slice()) && echoed.as_deref() != Some(sent) {
            return Err(Problem::new(
                codes::OCSP_NONCE_MISMATCH,
                "the response does not echo the request's nonce (a replayed answer?)",
            ));
        }
    }

    let state = match &single.cert_status {
        CertStatus::Good(_) => CertState::Good,
        CertStatus::Revoked(info) => CertState::Revoked {
            time: info.revocation_time.0,
            reason: info.revocation_reason.map(crate::reason_name),
        },
        CertStatus::Unknown(_) => CertState::Unknown,
    };
    Ok(Evidence {
        state,
        kind: EvidenceKind::Ocsp,
        this_update: single.this_update.0,
        next_update: single.next_update.map(|t| t.0),
        issued_at: produced_at,
        responder: signer.subject_display(),
    })
}

fn responder_cert(id: &crate::asn1::ResponderId, issuer: &Cert, embedded: &[Cert]) -> Option<Cert> {
    use crate::asn1::ResponderId;
    let matches = |c: &Cert| match id {
        ResponderId::ByName(name) => c.inner().tbs_certificate().subject() == name,
        ResponderId::ByKey(hash) => {
            aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                c.public_key_bytes(),
            )
            .as_ref()
                == hash.as_bytes()
        }
    };
    if matches(issuer) {
        return Some(issuer.clone());
    }
    embedded.iter().find(|c| matches(c)).cloned()
}
