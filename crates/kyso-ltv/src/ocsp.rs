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
                && same_integer(mine.serial_number.as_bytes(), id.serial_number.as_bytes())
        }
        Err(_) => false,
    }
}

/// INTEGER contents equal, ignoring redundant leading zero octets.
pub(crate) fn same_integer(a: &[u8], b: &[u8]) -> bool {
    fn trim(mut x: &[u8]) -> &[u8] {
        while x.len() > 1 && x.first() == Some(&0) {
            x = x.get(1..).unwrap_or_default();
        }
        x
    }
    trim(a) == trim(b)
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
