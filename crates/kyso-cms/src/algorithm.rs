//! Digest and signature algorithms, their identifiers, and signature verification.

use aws_lc_rs::digest;
use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use kyso_x509::verify_sig::{verify_signature, verify_signature_digest, MIN_RSA_BITS};
use kyso_x509::{oid, Cert, KeyKind, SigHash, SigProblem};

use crate::{Error, Result};

/// A hash function.
///
/// [`DigestAlgorithm::Sha1`] exists only to *verify* legacy signatures and timestamp tokens
/// (their verdict is then a matter of the algorithm policy): [`DigestAlgorithm::from_oid`] never
/// returns it, so no signing or issuing path chooses it; [`DigestAlgorithm::recognised`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-1: recognised for verification only.
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha1 => oid::SHA1,
            DigestAlgorithm::Sha256 => oid::SHA256,
            DigestAlgorithm::Sha384 => oid::SHA384,
            DigestAlgorithm::Sha512 => oid::SHA512,
        }
    }
    /// The SHA-2 hash `o` names: the hashes kyso signs, issues and accepts requests with.
    pub fn from_oid(o: &ObjectIdentifier) -> Option<Self> {
        Self::recognised(o).filter(|d| !d.is_weak())
    }
    /// Every hash kyso can verify with, SHA-1 included (for reading what others signed).
    pub fn recognised(o: &ObjectIdentifier) -> Option<Self> {
        match *o {
            x if x == oid::SHA1 => Some(DigestAlgorithm::Sha1),
            x if x == oid::SHA256 => Some(DigestAlgorithm::Sha256),
            x if x == oid::SHA384 => Some(DigestAlgorithm::Sha384),
            x if x == oid::SHA512 => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
    /// Deprecated for signatures (SHA-1).
    pub fn is_weak(self) -> bool {
        self == DigestAlgorithm::Sha1
    }
    /// The same hash as kyso-x509 names it.
    pub fn sig_hash(self) -> SigHash {
        match self {
            DigestAlgorithm::Sha1 => SigHash::Sha1,
            DigestAlgorithm::Sha256 => SigHash::Sha256,
            DigestAlgorithm::Sha384 => SigHash::Sha384,
            DigestAlgorithm::Sha512 => SigHash::Sha512,
        }
    }
    pub fn aws(self) -> &'static digest::Algorithm {
        match self {
            DigestAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
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
            DigestAlgorithm::Sha1 => "SHA-1",
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

    /// The `signatureAlgorithm` of a SignerInfo. SHA-1 is refused: kyso never signs with it.
    pub fn identifier(self) -> Result<AlgorithmIdentifierOwned> {
        let null = || Some(Any::null());
        if self.digest().is_weak() {
            return Err(Error::Unsupported("SHA-1 is not used for new signatures"));
        }
        Ok(match self {
            SignatureAlgorithm::RsaPkcs1(d) => AlgorithmIdentifierOwned {
                oid: match d {
                    DigestAlgorithm::Sha1 => oid::SHA1_WITH_RSA,
                    DigestAlgorithm::Sha256 => oid::SHA256_WITH_RSA,
                    DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                    DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                },
                parameters: null(),
            },
            SignatureAlgorithm::Ecdsa(d) => AlgorithmIdentifierOwned {
                oid: match d {
                    DigestAlgorithm::Sha1 => oid::ECDSA_SHA1,
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

    /// Verify `sig` over `message` with the certificate's public key — a signature kyso (or
    /// its signing device) just made, before it is written: the one verifier
    /// ([`kyso_x509::verify_sig::verify_signature`]) with kyso's signing policy on top (RSA
    /// keys of at least 2048 bits; P-256 and P-384).
    pub fn verify(self, cert: &Cert, message: &[u8], sig: &[u8]) -> Result<()> {
        let info = verify_signature(cert, &self.identifier()?, message, sig).map_err(sig_error)?;
        self.signing_policy(cert, info)
    }

    /// Verify `sig` over a message of which only the hash `digest` (made with
    /// [`Self::digest`]) is known: signatures without signed attributes sign the content itself.
    pub fn verify_digest(self, cert: &Cert, digest: &[u8], sig: &[u8]) -> Result<()> {
        if digest.len() != self.digest().output_len() {
            return Err(Error::Asn1(
                "digest length does not fit the algorithm".into(),
            ));
        }
        let info =
            verify_signature_digest(cert, &self.identifier()?, digest, sig).map_err(sig_error)?;
        self.signing_policy(cert, info)
    }

    fn signing_policy(self, cert: &Cert, info: kyso_x509::SigInfo) -> Result<()> {
        if info.rsa_bits.is_some_and(|b| b < MIN_RSA_BITS) {
            return Err(Error::Unsupported("RSA keys below 2048 bits"));
        }
        if cert.key_kind() == KeyKind::EcP521 {
            return Err(Error::Unsupported(
                "key type (RSA, ECDSA P-256 and P-384 are supported)",
            ));
        }
        Ok(())
    }
}

fn sig_error(e: SigProblem) -> Error {
    match e {
        SigProblem::BadSignature => Error::SignatureMismatch,
        SigProblem::Malformed(m) => Error::Asn1(m),
        _ => Error::Unsupported("signature algorithm does not fit the certificate's key"),
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
