//! Verifying the signature on a certificate (or any X.509-style signed structure) with an
//! issuer's public key, using aws-lc-rs.
//!
//! Rule of thumb for callers: anything in `Ok` verified mathematically; [`SigInfo`] says which
//! hash and key size were used, so a policy can still refuse SHA-1 or small RSA keys.
//! [`verify_cert_signature`] applies kyso's default policy (no SHA-1, RSA at least 2048 bits).

use aws_lc_rs::signature::{self, RsaParameters, RsaPssSaltLength, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::asn1::Null;
use der::{Decode, Sequence};
use spki::AlgorithmIdentifierOwned;

use crate::cert::{Cert, KeyKind};
use crate::oid;

/// Smallest RSA modulus kyso accepts for new signatures.
pub const MIN_RSA_BITS: usize = 2048;

/// The hash inside a signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigHash {
    Md2,
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    /// Ed25519 hashes internally (SHA-512).
    Intrinsic,
}

impl SigHash {
    pub fn name(self) -> &'static str {
        match self {
            SigHash::Md2 => "MD2",
            SigHash::Md5 => "MD5",
            SigHash::Sha1 => "SHA-1",
            SigHash::Sha256 => "SHA-256",
            SigHash::Sha384 => "SHA-384",
            SigHash::Sha512 => "SHA-512",
            SigHash::Intrinsic => "intrinsic",
        }
    }
    /// Broken or deprecated for signatures (MD2, MD5, SHA-1).
    pub fn is_weak(self) -> bool {
        matches!(self, SigHash::Md2 | SigHash::Md5 | SigHash::Sha1)
    }
}

impl std::fmt::Display for SigHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a signature that verified was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    pub hash: SigHash,
    /// RSASSA-PSS rather than PKCS#1 v1.5 (RSA only).
    pub pss: bool,
    /// The signing key's modulus size when it is RSA.
    pub rsa_bits: Option<usize>,
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigProblem {
    /// The signature does not verify with the issuer's key.
    #[error("the signature does not verify with the issuer's public key")]
    BadSignature,
    /// A weak hash. From [`verify_cert_signature`], SHA-1 is reported only after the signature
    /// verified (so a policy may accept it). From [`verify_signature`] / [`check_cert_signature`]
    /// it means the signature could not be verified at all (MD2, MD5, SHA-1 with P-384 or
    /// RSASSA-PSS), so no policy can accept it; a verified SHA-1 signature is an `Ok`.
    #[error("weak signature algorithm ({0})")]
    WeakAlgorithm(SigHash),
    /// An RSA key below the minimum. From [`verify_signature`] this means the key is too small
    /// to be verified at all; from [`verify_cert_signature`] the signature verified.
    #[error("weak RSA key ({bits} bits)")]
    WeakKey { bits: usize },
    /// An algorithm we do not implement.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(ObjectIdentifier),
    /// Algorithm parameters we do not support (e.g. RSASSA-PSS with a mismatched MGF1 hash).
    #[error("unsupported signature parameters: {0}")]
    UnsupportedParameters(String),
    /// The issuer's key type cannot make this kind of signature, or is not supported.
    #[error("the issuer's key does not fit the signature algorithm")]
    KeyMismatch,
    /// The signature or its parameters are not well-formed.
    #[error("malformed signature: {0}")]
    Malformed(String),
}

/// Verify `cert`'s signature with `issuer`'s public key, under kyso's default policy:
/// SHA-1 (verified) → `WeakAlgorithm(Sha1)`, RSA below 2048 bits → `WeakKey`.
pub fn verify_cert_signature(cert: &Cert, issuer: &Cert) -> Result<(), SigProblem> {
    let info = check_cert_signature(cert, issuer)?;
    if info.hash.is_weak() {
        return Err(SigProblem::WeakAlgorithm(info.hash));
    }
    match info.rsa_bits {
        Some(bits) if bits < MIN_RSA_BITS => Err(SigProblem::WeakKey { bits }),
        _ => Ok(()),
    }
}

/// Verify `cert`'s signature with `issuer`'s key and say how it was made, without any
/// policy on hash or key size (see the module notes).
pub fn check_cert_signature(cert: &Cert, issuer: &Cert) -> Result<SigInfo, SigProblem> {
    let tbs = cert
        .tbs_der()
        .ok_or_else(|| SigProblem::Malformed("cannot locate tbsCertificate".into()))?;
    let inner = cert.inner();
    if inner.signature_algorithm() != inner.tbs_certificate().signature() {
        return Err(SigProblem::Malformed(
            "signatureAlgorithm differs from tbsCertificate.signature".into(),
        ));
    }
    let sig = inner
        .signature()
        .as_bytes()
        .ok_or_else(|| SigProblem::Malformed("signature BIT STRING has unused bits".into()))?;
    verify_signature(issuer, inner.signature_algorithm(), tbs, sig)
}

/// Verify `signature` over `message` with `key`'s public key and the given signature
/// algorithm (certificates, CRLs, OCSP responses). `Ok` means it verified.
pub fn verify_signature(
    key: &Cert,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<SigInfo, SigProblem> {
    let alg = algorithm.oid;
    let kind = key.key_kind();
    let public_key = key.public_key_bytes();

    if alg == oid::MD2_WITH_RSA {
        return Err(SigProblem::WeakAlgorithm(SigHash::Md2));
    }
    if alg == oid::MD5_WITH_RSA {
        return Err(SigProblem::WeakAlgorithm(SigHash::Md5));
    }

    // RSA, PKCS#1 v1.5.
    let pkcs1 = [
        (oid::SHA1_WITH_RSA, SigHash::Sha1),
        (oid::SHA256_WITH_RSA, SigHash::Sha256),
        (oid::SHA384_WITH_RSA, SigHash::Sha384),
        (oid::SHA512_WITH_RSA, SigHash::Sha512),
    ];
    if let Some(&(_, hash)) = pkcs1.iter().find(|(o, _)| *o == alg) {
        let bits = rsa_bits(kind)?;
        let params: &RsaParameters = match (hash, bits >= 2048) {
            (SigHash::Sha1, _) => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            (SigHash::Sha256, true) => &signature::RSA_PKCS1_2048_8192_SHA256,
            (SigHash::Sha256, false) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            (SigHash::Sha384, true) => &signature::RSA_PKCS1_2048_8192_SHA384,
            (SigHash::Sha512, true) => &signature::RSA_PKCS1_2048_8192_SHA512,
            (SigHash::Sha512, false) => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            // aws-lc-rs cannot verify SHA-384 with a sub-2048-bit key.
            _ => return Err(SigProblem::WeakKey { bits }),
        };
        return run(params, public_key, message, signature).map(|()| SigInfo {
            hash,
            pss: false,
            rsa_bits: Some(bits),
        });
    }

    // RSASSA-PSS.
    if alg == oid::RSASSA_PSS {
        let bits = rsa_bits(kind)?;
        let (hash, salt) = pss_parameters(algorithm)?;
        if bits < 2048 {
            return Err(SigProblem::WeakKey { bits });
        }
        let base = match hash {
            SigHash::Sha256 => signature::RSA_PSS_2048_8192_SHA256,
            SigHash::Sha384 => signature::RSA_PSS_2048_8192_SHA384,
            SigHash::Sha512 => signature::RSA_PSS_2048_8192_SHA512,
            other => return Err(SigProblem::WeakAlgorithm(other)),
        };
        let params = base.with_pss_salt_length(RsaPssSaltLength::Custom(salt));
        return run(&params, public_key, message, signature).map(|()| SigInfo {
            hash,
            pss: true,
            rsa_bits: Some(bits),
        });
    }

    // ECDSA (DER-encoded Ecdsa-Sig-Value).
    let ecdsa = [
        (oid::ECDSA_SHA1, SigHash::Sha1),
        (oid::ECDSA_SHA256, SigHash::Sha256),
        (oid::ECDSA_SHA384, SigHash::Sha384),
        (oid::ECDSA_SHA512, SigHash::Sha512),
    ];
    if let Some(&(_, hash)) = ecdsa.iter().find(|(o, _)| *o == alg) {
        if algorithm.parameters.is_some() {
            return Err(SigProblem::Malformed(
                "ECDSA algorithm identifier has parameters".into(),
            ));
        }
        let verifier: &signature::EcdsaVerificationAlgorithm = match (kind, hash) {
            (KeyKind::EcP256, SigHash::Sha1) => &signature::ECDSA_P256_SHA1_ASN1,
            (KeyKind::EcP256, SigHash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (KeyKind::EcP256, SigHash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (KeyKind::EcP256, SigHash::Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
            (KeyKind::EcP384, SigHash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (KeyKind::EcP384, SigHash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
            (KeyKind::EcP384, SigHash::Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
            (KeyKind::EcP521, SigHash::Sha1) => &signature::ECDSA_P521_SHA1_ASN1,
            (KeyKind::EcP521, SigHash::Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
            (KeyKind::EcP521, SigHash::Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
            (KeyKind::EcP521, SigHash::Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
            (KeyKind::EcP384, SigHash::Sha1) => {
                // Recognised, but aws-lc-rs cannot verify it: never acceptable.
                return Err(SigProblem::WeakAlgorithm(SigHash::Sha1));
            }
            _ => return Err(SigProblem::KeyMismatch),
        };
        return run(verifier, public_key, message, signature).map(|()| SigInfo {
            hash,
            pss: false,
            rsa_bits: None,
        });
    }

    if alg == oid::ED25519 {
        if kind != KeyKind::Ed25519 {
            return Err(SigProblem::KeyMismatch);
        }
        return run(&signature::ED25519, public_key, message, signature).map(|()| SigInfo {
            hash: SigHash::Intrinsic,
            pss: false,
            rsa_bits: None,
        });
    }

    Err(SigProblem::UnsupportedAlgorithm(alg))
}

fn run(
    alg: &dyn VerificationAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SigProblem> {
    alg.verify_sig(public_key, message, signature)
        .map_err(|_| SigProblem::BadSignature)
}

/// The RSA key size, refusing non-RSA keys and keys aws-lc-rs cannot verify with.
fn rsa_bits(kind: KeyKind) -> Result<usize, SigProblem> {
    match kind {
        KeyKind::Rsa { bits: 0 } => Err(SigProblem::Malformed("RSA public key".into())),
        KeyKind::Rsa { bits } if bits > 8192 => Err(SigProblem::KeyMismatch),
        KeyKind::Rsa { bits } if bits < 1024 => Err(SigProblem::WeakKey { bits }),
        KeyKind::Rsa { bits } => Ok(bits),
        _ => Err(SigProblem::KeyMismatch),
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1).
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

fn hash_of(alg: Option<&AlgorithmIdentifierOwned>) -> Result<SigHash, SigProblem> {
    let Some(alg) = alg else {
        return Ok(SigHash::Sha1); // the RFC 4055 default
    };
    if let Some(p) = &alg.parameters {
        if p.decode_as::<Null>().is_err() {
            return Err(SigProblem::Malformed("hash algorithm parameters".into()));
        }
    }
    match alg.oid {
        o if o == oid::SHA1 => Ok(SigHash::Sha1),
        o if o == oid::SHA256 => Ok(SigHash::Sha256),
        o if o == oid::SHA384 => Ok(SigHash::Sha384),
        o if o == oid::SHA512 => Ok(SigHash::Sha512),
        o => Err(SigProblem::UnsupportedParameters(format!("hash {o}"))),
    }
}

/// The hash and salt length of an RSASSA-PSS algorithm identifier; the MGF must be MGF1 with
/// the same hash and the trailer field 1.
fn pss_parameters(algorithm: &AlgorithmIdentifierOwned) -> Result<(SigHash, u16), SigProblem> {
    let params = match &algorithm.parameters {
        Some(any) => {
            PssParams::from_der(&der::Encode::to_der(any).map_err(malformed)?).map_err(malformed)?
        }
        None => {
            return Err(SigProblem::Malformed(
                "RSASSA-PSS without parameters".into(),
            ))
        }
    };
    let hash = hash_of(params.hash.as_ref())?;
    let mgf_hash = match &params.mask_gen {
        None => SigHash::Sha1,
        Some(mgf) if mgf.oid == oid::MGF1 => {
            let inner = mgf
                .parameters
                .as_ref()
                .ok_or_else(|| SigProblem::Malformed("MGF1 without a hash".into()))?
                .decode_as::<AlgorithmIdentifierOwned>()
                .map_err(malformed)?;
            hash_of(Some(&inner))?
        }
        Some(mgf) => {
            return Err(SigProblem::UnsupportedParameters(format!(
                "mask generation function {}",
                mgf.oid
            )))
        }
    };
    if mgf_hash != hash {
        return Err(SigProblem::UnsupportedParameters(format!(
            "MGF1 with {mgf_hash} but the message hash is {hash}"
        )));
    }
    if params.trailer_field.unwrap_or(1) != 1 {
        return Err(SigProblem::UnsupportedParameters("trailer field".into()));
    }
    let salt = u16::try_from(params.salt_length.unwrap_or(20))
        .map_err(|_| SigProblem::UnsupportedParameters("salt length".into()))?;
    Ok((hash, salt))
}

fn malformed(e: der::Error) -> SigProblem {
    SigProblem::Malformed(e.to_string())
}
