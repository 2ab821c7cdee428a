//! The `Signer` trait: anything that can produce a signature for a certificate — a PKCS#12
//! key in memory, a PKCS#11 token, a remote service, a browser-side agent.

use kyso_x509::Cert;

use crate::{Result, SignatureAlgorithm};

/// What a signer is asked to sign: the DER of the CMS signed attributes, and its digest under
/// the algorithm's hash (for devices and services that sign hashes only).
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    pub message: &'a [u8],
    pub digest: &'a [u8],
    pub algorithm: SignatureAlgorithm,
}

/// A key and its certificate.
pub trait Signer: Send + Sync {
    /// The signer's certificate.
    fn certificate(&self) -> &Cert;
    /// Further certificates to embed (intermediates; the root may be included).
    fn chain(&self) -> &[Cert];
    /// The signature scheme this signer uses.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// Produce the signature value (raw bytes as they go in SignerInfo.signature).
    fn sign(&self, request: &SignRequest<'_>) -> Result<Vec<u8>>;
}
