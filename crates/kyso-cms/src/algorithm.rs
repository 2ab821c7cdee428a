//! Digest and signature algorithms, their identifiers, and signature verification.

use aws_lc_rs::{digest, signature};
use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use kyso_x509::{oid, Cert, KeyKind};

use crate::{Error, Result};

/// A hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha256 => oid::SHA256,
            DigestAlgorithm::Sha384 => oid::SHA384,
            DigestAlgorithm::Sha512 => oid::SHA512,
        }
    }
    pub fn from_oid(o: &ObjectIdentifier) -> Option<Self> {
        match *o {
            x if x == oid::SHA256 => Some(DigestAlgorithm::Sha256),
            x if x == oid::SHA384 => Some(DigestAlgorithm::Sha384),
            x if x == oid::SHA512 => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
    pub fn aws(self) -> &'static digest::Algorithm {
        match self {
            DigestAlgorithm::Sha256 => &digest::SHA256,
            DigestAlgorithm::Sha384 => &digest::SHA384,
            DigestAlgorithm::Sha512 => &digest::SHA512,
        }
    }
    pub fn output_len(self) -> usize {
        self.aws().output_len()
    }
    /// Hash `data` in one go.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.aws(), data).as_ref().to_vec()
    }
    /// A streaming hasher.
    pub fn hasher(self) -> digest::Context {
        digest::Context::new(self.aws())
    }
    /// The AlgorithmIdentifier (parameters absent, as RFC 5754 recommends).
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
        }
    }
}

/// A signature scheme: the key family, padding and the hash it signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(DigestAlgorithm),
    /// RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash.
    RsaPss(DigestAlgorithm),
    /// ECDSA (the signature is DER `Ecdsa-Sig-Value`).
    Ecdsa(DigestAlgorithm),
}

impl SignatureAlgorithm {
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            SignatureAlgorithm::RsaPkcs1(d)
            | SignatureAlgorithm::RsaPss(d)
            | SignatureAlgorithm::Ecdsa(d) => d,
        }
    }

    /// The natural default for a key: RSA PKCS#1 v1.5 with SHA-256, ECDSA P-256 with SHA-256,
    /// P-384 with SHA-384.
    pub fn default_for(kind: KeyKind) -> Result<Self> {
        match kind {
            KeyKind::Rsa { .. } => Ok(SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256)),
            KeyKind::EcP256 => Ok(SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)),
            KeyKind::EcP384 => Ok(SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384)),
            _ => Err(Error::Unsupported(
                "key type (RSA, ECDSA P-256 and P-384 are supported)",
            )),
        }
    }

    /// The `signatureAlgorithm` of a SignerInfo.
    pub fn identifier(self) -> Result<AlgorithmIdentifierOwned> {
        let null = || Some(Any::null());
        Ok(match self {
            SignatureAlgorithm::RsaPkcs1(d) => AlgorithmIdentifierOwned {
                oid: match d {
                    DigestAlgorithm::Sha256 => oid::SHA256_WITH_RSA,
                    DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                    DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                },
                parameters: null(),
            },
            SignatureAlgorithm::Ecdsa(d) => AlgorithmIdentifierOwned {
                oid: match d {
                    DigestAlgorithm::Sha256 => oid::ECDSA_SHA256,
                    DigestAlgorithm::Sha384 => oid::ECDSA_SHA384,
                    DigestAlgorithm::Sha512 => oid::ECDSA_SHA512,
                },
                parameters: None,
            },
            SignatureAlgorithm::RsaPss(d) => {
                let params = pss_params(d)?;
                AlgorithmIdentifierOwned {
                    oid: oid::RSASSA_PSS,
                    parameters: Some(Any::from_der(&params)?),
                }
            }
        })
    }

    /// Verify `sig` over `message` with the certificate's public key.
    pub fn verify(self, cert: &Cert, message: &[u8], sig: &[u8]) -> Result<()> {
        signature::UnparsedPublicKey::new(self.verification(cert)?, cert.public_key_bytes())
            .verify(message, sig)
            .map_err(|_| Error::SignatureMismatch)
    }

    /// Verify `sig` over a message of which only the hash `digest` (made with
    /// [`Self::digest`]) is known: signatures without signed attributes sign the content itself.
    pub fn verify_digest(self, cert: &Cert, digest: &[u8], sig: &[u8]) -> Result<()> {
        let d = digest::Digest::import_less_safe(digest, self.digest().aws())
            .map_err(|_| Error::Asn1("digest length does not fit the algorithm".into()))?;
        signature::UnparsedPublicKey::new(self.verification(cert)?, cert.public_key_bytes())
            .verify_digest(&d, sig)
            .map_err(|_| Error::SignatureMismatch)
    }

    fn verification(self, cert: &Cert) -> Result<&'static dyn signature::VerificationAlgorithm> {
        let alg: &'static dyn signature::VerificationAlgorithm = match (self, cert.key_kind()) {
            (SignatureAlgorithm::RsaPkcs1(d), KeyKind::Rsa { .. }) => match d {
                DigestAlgorithm::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                DigestAlgorithm::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                DigestAlgorithm::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            },
            (SignatureAlgorithm::RsaPss(d), KeyKind::Rsa { .. }) => match d {
                DigestAlgorithm::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
                DigestAlgorithm::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
                DigestAlgorithm::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
            },
            (SignatureAlgorithm::Ecdsa(d), KeyKind::EcP256) => match d {
                DigestAlgorithm::Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
                DigestAlgorithm::Sha384 => &signature::ECDSA_P256_SHA384_ASN1,
                DigestAlgorithm::Sha512 => &signature::ECDSA_P256_SHA512_ASN1,
            },
            (SignatureAlgorithm::Ecdsa(d), KeyKind::EcP384) => match d {
                DigestAlgorithm::Sha256 => &signature::ECDSA_P384_SHA256_ASN1,
                DigestAlgorithm::Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
                DigestAlgorithm::Sha512 => &signature::ECDSA_P384_SHA512_ASN1,
            },
            _ => {
                return Err(Error::Unsupported(
                    "signature algorithm does not fit the certificate's key",
                ))
            }
        };
        Ok(alg)
    }
}

/// RSASSA-PSS-params (RFC 4055) for `d`: hash d, MGF1 with d, salt length = hash length.
fn pss_params(d: DigestAlgorithm) -> Result<Vec<u8>> {
    #[derive(der::Sequence)]
    struct PssParams {
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
        hash: AlgorithmIdentifierOwned,
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
        mgf: AlgorithmIdentifierOwned,
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
        salt_len: u32,
    }
    let hash = AlgorithmIdentifierOwned {
        oid: d.oid(),
        parameters: Some(Any::null()),
    };
    let mgf = AlgorithmIdentifierOwned {
        oid: oid::MGF1,
        parameters: Some(Any::encode_from(&hash)?),
    };
    let p = PssParams {
        hash,
        mgf,
        salt_len: d.output_len() as u32,
    };
    Ok(p.to_der()?)
}
