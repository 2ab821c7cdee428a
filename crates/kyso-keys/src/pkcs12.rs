//! A signer whose key comes from a PKCS#12 (.p12/.pfx) file.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use zeroize::Zeroizing;

use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer};
use kyso_x509::{Cert, KeyKind};

use crate::{Error, Result, Secret};

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A PKCS#12 key and its certificate chain, held in memory for signing.
pub struct Pkcs12Signer {
    cert: Cert,
    chain: Vec<Cert>,
    key: Key,
    algorithm: SignatureAlgorithm,
    rng: SystemRandom,
}

impl std::fmt::Debug for Pkcs12Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs12Signer")
            .field("subject", &self.cert.subject_display())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The PKCS#8 private key and the certificates (the key's first; never empty) of a PKCS#12
/// bundle.
pub(crate) fn read_pkcs12(
    data: &[u8],
    password: &Secret,
) -> Result<(Zeroizing<Vec<u8>>, Vec<Cert>)> {
    if data.len() > MAX_P12_BYTES {
        return Err(Error::Malformed(format!(
            "larger than {MAX_P12_BYTES} bytes"
        )));
    }
    let store = KeyStore::from_pkcs12(data, password.expose(), Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => Error::WrongPassword,
            // A wrong password without a MAC shows up as a padding error when decrypting.
            p12_keystore::error::Error::UnpadError => Error::WrongPassword,
            other => Error::Malformed(other.to_string()),
        })?;
    let (_, chain) = store.private_key_chain().ok_or(Error::NoKey)?;
    let pkcs8 = Zeroizing::new(chain.key().as_der().to_vec());
    let certs = chain
        .certs()
        .iter()
        .map(|c| Cert::from_der(c.as_der()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(Error::NoKey);
    }
    Ok((pkcs8, certs))
}

/// Largest PKCS#12 file accepted.
pub const MAX_P12_BYTES: usize = 1024 * 1024;

impl Pkcs12Signer {
    /// Open a PKCS#12 bundle. The key must match the first certificate of its chain.
    pub fn from_pkcs12(data: &[u8], password: &Secret) -> Result<Self> {
        let (pkcs8, mut certs) = read_pkcs12(data, password)?;
        let cert = certs.remove(0);
        let kind = cert.key_kind();
        let key = match kind {
            KeyKind::Rsa { .. } => Key::Rsa(
                RsaKeyPair::from_pkcs8(&pkcs8)
                    .map_err(|_| Error::Unsupported("RSA private key"))?,
            ),
            KeyKind::EcP256 => Key::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8)
                    .map_err(|_| Error::Unsupported("ECDSA P-256 private key"))?,
            ),
            KeyKind::EcP384 => Key::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, &pkcs8)
                    .map_err(|_| Error::Unsupported("ECDSA P-384 private key"))?,
            ),
            _ => {
                return Err(Error::Unsupported(
                    "key type (RSA, ECDSA P-256 and P-384 are supported)",
                ))
            }
        };
        let public = match &key {
            Key::Rsa(k) => k.public_key().as_ref().to_vec(),
            Key::Ec(k) => k.public_key().as_ref().to_vec(),
        };
        if public != cert.public_key_bytes() {
            return Err(Error::KeyMismatch);
        }
        let algorithm = SignatureAlgorithm::default_for(kind)?;
        Ok(Pkcs12Signer {
            cert,
            chain: certs,
            key,
            algorithm,
            rng: SystemRandom::new(),
        })
    }

    /// Use RSA-PSS instead of PKCS#1 v1.5 (RSA keys only).
    pub fn use_pss(&mut self) -> Result<()> {
        match (&self.key, self.algorithm) {
            (Key::Rsa(_), a) => {
                self.algorithm = SignatureAlgorithm::RsaPss(a.digest());
                Ok(())
            }
            _ => Err(Error::Unsupported("PSS needs an RSA key")),
        }
    }

    /// Choose the hash (RSA keys; ECDSA keys keep their curve's hash).
    pub fn set_digest(&mut self, d: DigestAlgorithm) -> Result<()> {
        self.algorithm = match (&self.key, self.algorithm) {
            (Key::Rsa(_), SignatureAlgorithm::RsaPss(_)) => SignatureAlgorithm::RsaPss(d),
            (Key::Rsa(_), _) => SignatureAlgorithm::RsaPkcs1(d),
            (Key::Ec(_), a) if a.digest() == d => a,
            _ => {
                return Err(Error::Unsupported(
                    "this ECDSA key signs with its curve's hash only",
                ))
            }
        };
        Ok(())
    }
}

impl Pkcs12Signer {
    /// Sign a hash computed elsewhere (a remote-signing service receives hashes only):
    /// `digest` must be `algorithm`'s hash of the message, and `algorithm` must fit the key.
    pub fn sign_digest(
        &self,
        algorithm: SignatureAlgorithm,
        digest: &[u8],
    ) -> kyso_cms::Result<Vec<u8>> {
        let fail = |what: &str| kyso_cms::Error::SigningFailed(what.to_owned());
        let d = aws_lc_rs::digest::Digest::import_less_safe(digest, algorithm.digest().aws())
            .map_err(|_| fail("the hash does not have the length of its algorithm"))?;
        match (&self.key, algorithm) {
            (Key::Rsa(k), alg) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign_digest(rsa_padding(alg)?, &d, &mut sig)
                    .map_err(|_| fail("RSA signing failed"))?;
                Ok(sig)
            }
            (Key::Ec(k), SignatureAlgorithm::Ecdsa(_)) => {
                // The key pair is bound to its curve's hash; another hash is refused by
                // aws-lc-rs (and by the service before it gets here).
                let sig = k
                    .sign_digest(&d)
                    .map_err(|_| fail("ECDSA signing failed (hash must be the curve's)"))?;
                Ok(sig.as_ref().to_vec())
            }
            (Key::Ec(_), _) => Err(fail("RSA requested for an ECDSA key")),
        }
    }
}

/// The aws-lc-rs padding of an RSA scheme.
fn rsa_padding(alg: SignatureAlgorithm) -> kyso_cms::Result<&'static dyn signature::RsaEncoding> {
    Ok(match alg {
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256) => &signature::RSA_PKCS1_SHA256,
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha384) => &signature::RSA_PKCS1_SHA384,
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha512) => &signature::RSA_PKCS1_SHA512,
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256) => &signature::RSA_PSS_SHA256,
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha384) => &signature::RSA_PSS_SHA384,
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha512) => &signature::RSA_PSS_SHA512,
        // Recognised only to verify legacy signatures; kyso never signs with it.
        SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha1)
        | SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha1) => {
            return Err(kyso_cms::Error::Unsupported(
                "SHA-1 is not used for new signatures",
            ))
        }
        SignatureAlgorithm::Ecdsa(_) => {
            return Err(kyso_cms::Error::SigningFailed(
                "ECDSA requested for an RSA key".to_owned(),
            ))
        }
    })
}

impl Signer for Pkcs12Signer {
    fn certificate(&self) -> &Cert {
        &self.cert
    }
    fn chain(&self) -> &[Cert] {
        &self.chain
    }
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
    fn sign(&self, request: &SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
        let fail = |what: &str| kyso_cms::Error::SigningFailed(what.to_owned());
        match (&self.key, request.algorithm) {
            (Key::Rsa(k), alg) => {
                let padding = rsa_padding(alg)?;
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(padding, &self.rng, request.message, &mut sig)
                    .map_err(|_| fail("RSA signing failed"))?;
                Ok(sig)
            }
            (Key::Ec(k), SignatureAlgorithm::Ecdsa(_)) => {
                let sig = k
                    .sign(&self.rng, request.message)
                    .map_err(|_| fail("ECDSA signing failed"))?;
                Ok(sig.as_ref().to_vec())
            }
            (Key::Ec(_), _) => Err(fail("RSA requested for an ECDSA key")),
        }
    }
}
