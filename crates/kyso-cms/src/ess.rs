//! ESS signing-certificate-v2 (RFC 5035) and CMS algorithm protection (RFC 6211).

use der::asn1::{OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use kyso_x509::Cert;

use crate::{DigestAlgorithm, Result};

/// id-aa-signingCertificateV2.
pub const ID_AA_SIGNING_CERTIFICATE_V2: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-CMSAlgorithmProtection.
pub const ID_AA_CMS_ALGORITHM_PROTECTION: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.52");

/// IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

impl SigningCertificateV2 {
    /// The attribute value naming `cert`, hashed with `digest` (SHA-256 is the DER default
    /// and then the algorithm is omitted).
    pub fn for_cert(cert: &Cert, digest: DigestAlgorithm) -> Result<Self> {
        let hash_algorithm = match digest {
            DigestAlgorithm::Sha256 => None,
            other => Some(other.identifier()),
        };
        let tbs = cert.inner().tbs_certificate();
        let issuer_serial = IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
            serial_number: tbs.serial_number().clone(),
        };
        Ok(SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm,
                cert_hash: OctetString::new(digest.digest(cert.der()))?,
                issuer_serial: Some(issuer_serial),
            }],
        })
    }

    /// Parse the DER of the attribute value.
    pub fn from_der_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self::from_der(bytes)?)
    }
}

/// CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1] IMPLICIT OPTIONAL, ... }
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CmsAlgorithmProtection {
    pub digest_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub signature_algorithm: Option<AlgorithmIdentifierOwned>,
}

/// A SET OF one value, for an attribute.
pub(crate) fn single_value<T: Encode + der::EncodeValue + der::Tagged>(
    v: &T,
) -> Result<SetOfVec<der::Any>> {
    let any = der::Any::encode_from(v)?;
    let mut set = SetOfVec::new();
    set.insert(any)?;
    Ok(set)
}
