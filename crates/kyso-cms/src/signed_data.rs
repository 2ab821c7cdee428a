//! Building CMS SignedData for detached signatures (RFC 5652, CAdES baseline as PAdES needs:
//! ETSI EN 319 122-1 with the PAdES restrictions of EN 319 142-1 §6.3).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode};
use x509_cert::attr::{Attribute, Attributes};

use kyso_x509::Cert;

use crate::ess::{self, CmsAlgorithmProtection, SigningCertificateV2};
use crate::{Result, SignatureAlgorithm};

pub const ID_DATA: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CONTENT_TYPE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub const ID_MESSAGE_DIGEST: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub const ID_SIGNING_TIME: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signatureTimeStampToken (RFC 3161 token as an unsigned attribute).
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// The signed attributes of one signature, and their DER (what the key signs).
#[derive(Debug, Clone)]
pub struct SignedAttributes {
    attrs: Attributes,
    der: Vec<u8>,
    /// Encapsulated content (type, bytes) for attached signatures such as RFC 3161 tokens;
    /// `None` for detached signatures over `id-data`.
    econtent: Option<(der::asn1::ObjectIdentifier, Vec<u8>)>,
}

impl SignedAttributes {
    /// The attributes PAdES baseline B-B requires: content-type (id-data), message-digest,
    /// signing-certificate-v2; plus CMS algorithm protection. No signing-time: in PAdES the
    /// claimed time is the signature dictionary's `/M`.
    pub fn pades(message_digest: &[u8], alg: SignatureAlgorithm, cert: &Cert) -> Result<Self> {
        let d = alg.digest();
        let mut attrs: Attributes = SetOfVec::new();
        attrs.insert(Attribute {
            oid: ID_CONTENT_TYPE,
            values: ess::single_value(&ID_DATA)?,
        })?;
        attrs.insert(Attribute {
            oid: ID_MESSAGE_DIGEST,
            values: ess::single_value(&OctetString::new(message_digest)?)?,
        })?;
        attrs.insert(Attribute {
            oid: ess::ID_AA_SIGNING_CERTIFICATE_V2,
            values: ess::single_value(&SigningCertificateV2::for_cert(cert, d)?)?,
        })?;
        let protection = CmsAlgorithmProtection {
            digest_algorithm: d.identifier(),
            signature_algorithm: Some(alg.identifier()?),
        };
        attrs.insert(Attribute {
            oid: ess::ID_AA_CMS_ALGORITHM_PROTECTION,
            values: ess::single_value(&protection)?,
        })?;
        let der = attrs.to_der()?;
        Ok(SignedAttributes {
            attrs,
            der,
            econtent: None,
        })
    }

    /// The attributes of a signature that encapsulates `content` of type `content_type` (an
    /// RFC 3161 time-stamp token: id-ct-TSTInfo): content-type, message-digest (computed here
    /// over `content`) and signing-certificate-v2, as RFC 3161 §2.4.2 and RFC 5816 ask. The
    /// builder then embeds `content` as the eContent.
    pub fn encapsulating(
        content_type: der::asn1::ObjectIdentifier,
        content: Vec<u8>,
        alg: SignatureAlgorithm,
        cert: &Cert,
    ) -> Result<Self> {
        let d = alg.digest();
        let mut attrs: Attributes = SetOfVec::new();
        attrs.insert(Attribute {
            oid: ID_CONTENT_TYPE,
            values: ess::single_value(&content_type)?,
        })?;
        attrs.insert(Attribute {
            oid: ID_MESSAGE_DIGEST,
            values: ess::single_value(&OctetString::new(d.digest(&content))?)?,
        })?;
        attrs.insert(Attribute {
            oid: ess::ID_AA_SIGNING_CERTIFICATE_V2,
            values: ess::single_value(&SigningCertificateV2::for_cert(cert, d)?)?,
        })?;
        let der = attrs.to_der()?;
        Ok(SignedAttributes {
            attrs,
            der,
            econtent: Some((content_type, content)),
        })
    }

    /// The DER of the SET OF attributes: the bytes that are signed.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn attributes(&self) -> &Attributes {
        &self.attrs
    }
}

/// Assembles the final `ContentInfo(SignedData)` once the signature value is known.
#[derive(Debug)]
pub struct SignedDataBuilder<'a> {
    pub signed_attrs: &'a SignedAttributes,
    pub algorithm: SignatureAlgorithm,
    pub signature: &'a [u8],
    pub signer: &'a Cert,
    pub chain: &'a [Cert],
    /// Unsigned attributes (e.g. a signature timestamp token).
    pub unsigned_attrs: Vec<Attribute>,
}

impl SignedDataBuilder<'_> {
    /// Check the signature value against the signer certificate's key, then encode. A value
    /// made by another key is refused here, before anything is written.
    pub fn build(&self) -> Result<Vec<u8>> {
        self.algorithm
            .verify(self.signer, self.signed_attrs.der(), self.signature)?;
        self.encode()
    }

    /// Like [`build`](Self::build), but without a `certificates` field (an RFC 3161 token
    /// when the request did not set `certReq`).
    pub fn build_without_certificates(&self) -> Result<Vec<u8>> {
        self.algorithm
            .verify(self.signer, self.signed_attrs.der(), self.signature)?;
        self.encode_with(false)
    }

    /// Encode without checking the signature (for tests that need a broken one).
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.encode_with(true)
    }

    fn encode_with(&self, include_certificates: bool) -> Result<Vec<u8>> {
        let tbs = self.signer.inner().tbs_certificate();
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        });
        let unsigned_attrs = if self.unsigned_attrs.is_empty() {
            None
        } else {
            let mut set = SetOfVec::new();
            for a in &self.unsigned_attrs {
                set.insert(a.clone())?;
            }
            Some(set)
        };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid,
            digest_alg: self.algorithm.digest().identifier(),
            signed_attrs: Some(self.signed_attrs.attributes().clone()),
            signature_algorithm: self.algorithm.identifier()?,
            signature: OctetString::new(self.signature)?,
            unsigned_attrs,
        };
        let mut certs = Vec::with_capacity(1 + self.chain.len());
        certs.push(CertificateChoices::Certificate(self.signer.inner().clone()));
        for c in self.chain {
            if c != self.signer {
                certs.push(CertificateChoices::Certificate(c.inner().clone()));
            }
        }
        let mut digest_algorithms = SetOfVec::new();
        digest_algorithms.insert(self.algorithm.digest().identifier())?;
        // RFC 5652 §5.1: version 3 when the encapsulated content is not id-data.
        let (version, encap_content_info) = match &self.signed_attrs.econtent {
            Some((econtent_type, content)) => (
                if *econtent_type == ID_DATA {
                    CmsVersion::V1
                } else {
                    CmsVersion::V3
                },
                EncapsulatedContentInfo {
                    econtent_type: *econtent_type,
                    econtent: Some(Any::new(der::Tag::OctetString, content.as_slice())?),
                },
            ),
            None => (
                CmsVersion::V1,
                EncapsulatedContentInfo {
                    econtent_type: ID_DATA,
                    econtent: None,
                },
            ),
        };
        let certificates = if include_certificates {
            Some(CertificateSet(SetOfVec::from_iter(certs)?))
        } else {
            None
        };
        let sd = SignedData {
            version,
            digest_algorithms,
            encap_content_info,
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::from_iter([signer_info])?),
        };
        let ci = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd)?,
        };
        Ok(ci.to_der()?)
    }
}
