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
    /// The issuer's key type cannot make this kind of signature.
    #[error("the issuer's key does not fit the signature algorithm")]
    KeyMismatch,
    /// The key is of a kind kyso cannot verify with (an elliptic curve other than P-256,
    /// P-384 and P-521, RSA above 8192 bits).
    #[error("the key is of a kind kyso cannot verify with")]
    UnsupportedKey,
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
/// algorithm (certificates, CRLs, OCSP responses, CMS signed attributes). `Ok` means it
/// verified.
///
/// Supported (all by aws-lc-rs): RSA PKCS#1 v1.5 with SHA-1/256/384/512; RSASSA-PSS with
/// SHA-256/384/512 for the hash and MGF1 (the same hash), any salt length from 0 to the
/// maximum the key allows, the trailer field absent or explicitly 1; ECDSA on P-256, P-384 and
/// P-521 with SHA-1 (not on P-384) and SHA-256/384/512; Ed25519. Everything else is an error
/// that says the signature could not be verified ([`SigProblem::UnsupportedAlgorithm`],
/// [`SigProblem::UnsupportedParameters`], [`SigProblem::UnsupportedKey`],
/// [`SigProblem::WeakAlgorithm`], [`SigProblem::WeakKey`]), never [`SigProblem::BadSignature`].
pub fn verify_signature(
    key: &Cert,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<SigInfo, SigProblem> {
    verify(key, algorithm, Signed::Message(message), signature)
}

/// [`verify_signature`] when only the hash of the message is known (a CMS signature without
/// signed attributes over content that was hashed while streaming). `digest` must have been
/// made with the algorithm's hash ([`signature_hash`]); a digest of another length is
/// [`SigProblem::Malformed`]. Ed25519 cannot verify a digest ([`SigProblem::UnsupportedAlgorithm`]).
pub fn verify_signature_digest(
    key: &Cert,
    algorithm: &AlgorithmIdentifierOwned,
    digest: &[u8],
    signature: &[u8],
) -> Result<SigInfo, SigProblem> {
    verify(key, algorithm, Signed::Digest(digest), signature)
}

/// The hash a signature algorithm signs with, when the identifier names one kyso knows
/// (`None` for Ed25519, unknown algorithms and unreadable RSASSA-PSS parameters).
pub fn signature_hash(algorithm: &AlgorithmIdentifierOwned) -> Option<SigHash> {
    let alg = algorithm.oid;
    let table = [
        (oid::MD2_WITH_RSA, SigHash::Md2),
        (oid::MD5_WITH_RSA, SigHash::Md5),
        (oid::SHA1_WITH_RSA, SigHash::Sha1),
        (oid::SHA256_WITH_RSA, SigHash::Sha256),
        (oid::SHA384_WITH_RSA, SigHash::Sha384),
        (oid::SHA512_WITH_RSA, SigHash::Sha512),
        (oid::ECDSA_SHA1, SigHash::Sha1),
        (oid::ECDSA_SHA256, SigHash::Sha256),
        (oid::ECDSA_SHA384, SigHash::Sha384),
        (oid::ECDSA_SHA512, SigHash::Sha512),
    ];
    if let Some(&(_, h)) = table.iter().find(|(o, _)| *o == alg) {
        return Some(h);
    }
    if alg == oid::RSASSA_PSS {
        return pss_parameters(algorithm).ok().map(|(h, _)| h);
    }
    None
}

/// What is verified: the message itself, or only its hash.
#[derive(Clone, Copy)]
enum Signed<'a> {
    Message(&'a [u8]),
    Digest(&'a [u8]),
}

fn verify(
    key: &Cert,
    algorithm: &AlgorithmIdentifierOwned,
    signed: Signed<'_>,
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
        return run(params, hash, public_key, signed, signature).map(|()| SigInfo {
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
            // aws-lc-rs has no RSASSA-PSS with SHA-1: recognised, cannot be verified.
            other => return Err(SigProblem::WeakAlgorithm(other)),
        };
        // RFC 8017 §9.1.1: emLen = ceil((modBits - 1) / 8) ≥ hLen + sLen + 2.
        let max_salt = (bits + 6) / 8 - hash_len(hash) - 2;
        if usize::from(salt) > max_salt {
            return Err(SigProblem::Malformed(format!(
                "RSASSA-PSS salt length {salt} exceeds the maximum {max_salt} for a {bits}-bit key"
            )));
        }
        let params = base.with_pss_salt_length(RsaPssSaltLength::Custom(salt));
        return run(&params, hash, public_key, signed, signature).map(|()| SigInfo {
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
            // An elliptic-curve key on another curve.
            (KeyKind::Other, _) => return Err(SigProblem::UnsupportedKey),
            _ => return Err(SigProblem::KeyMismatch),
        };
        return run(verifier, hash, public_key, signed, signature).map(|()| SigInfo {
            hash,
            pss: false,
            rsa_bits: None,
        });
    }

    if alg == oid::ED25519 {
        if kind != KeyKind::Ed25519 {
            return Err(SigProblem::KeyMismatch);
        }
        let Signed::Message(message) = signed else {
            return Err(SigProblem::UnsupportedAlgorithm(alg));
        };
        return run(
            &signature::ED25519,
            SigHash::Intrinsic,
            public_key,
            Signed::Message(message),
            signature,
        )
        .map(|()| SigInfo {
            hash: SigHash::Intrinsic,
            pss: false,
            rsa_bits: None,
        });
    }

    Err(SigProblem::UnsupportedAlgorithm(alg))
}

fn hash_len(hash: SigHash) -> usize {
    match hash {
        SigHash::Md2 | SigHash::Md5 => 16,
        SigHash::Sha1 => 20,
        SigHash::Sha256 => 32,
        SigHash::Sha384 => 48,
        SigHash::Sha512 | SigHash::Intrinsic => 64,
    }
}

fn aws_digest(hash: SigHash) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    use aws_lc_rs::digest;
    match hash {
        SigHash::Sha1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        SigHash::Sha256 => Some(&digest::SHA256),
        SigHash::Sha384 => Some(&digest::SHA384),
        SigHash::Sha512 => Some(&digest::SHA512),
        _ => None,
    }
}

fn run(
    alg: &dyn VerificationAlgorithm,
    hash: SigHash,
    public_key: &[u8],
    signed: Signed<'_>,
    signature: &[u8],
) -> Result<(), SigProblem> {
    let verified = match signed {
        Signed::Message(message) => alg.verify_sig(public_key, message, signature),
        Signed::Digest(digest) => {
            let d = aws_digest(hash)
                .and_then(|a| aws_lc_rs::digest::Digest::import_less_safe(digest, a).ok())
                .ok_or_else(|| {
                    SigProblem::Malformed(format!("the digest is not a {hash} digest"))
                })?;
            alg.verify_digest_sig(public_key, &d, signature)
        }
    };
    verified.map_err(|_| SigProblem::BadSignature)
}

/// The RSA key size, refusing non-RSA keys and keys aws-lc-rs cannot verify with.
fn rsa_bits(kind: KeyKind) -> Result<usize, SigProblem> {
    match kind {
        KeyKind::Rsa { bits: 0 } => Err(SigProblem::Malformed("RSA public key".into())),
        KeyKind::Rsa { bits } if bits > 8192 => Err(SigProblem::UnsupportedKey),
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

#[cfg(test)]
#[path = "verify_sig_tests.rs"]
mod tests;
