//! Shared by the signing, verifying and revision test binaries (each includes this file with
//! `#[path = "../support/mod.rs"] mod support;`): a throw-away PKI and signer, a small PDF,
//! and signing options with a fixed time.
#![allow(dead_code)] // each binary uses its own part

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, RSA_PKCS1_SHA256,
};
use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer};
use kyso_pades::SignOptions;
use kyso_x509::Cert;
use time::macros::datetime;

pub enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A signer whose certificate is issued by a fresh "Test Root CA".
pub struct TestSigner {
    pub cert: Cert,
    pub chain: Vec<Cert>,
    pub key: Key,
    /// PEMs for exporting a PKCS#12 (pyHanko).
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl Signer for TestSigner {
    fn certificate(&self) -> &Cert {
        &self.cert
    }
    fn chain(&self) -> &[Cert] {
        &self.chain
    }
    fn algorithm(&self) -> SignatureAlgorithm {
        match self.key {
            Key::Ec(_) => SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
            Key::Rsa(_) => SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256),
        }
    }
    fn sign(&self, r: &SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
        Ok(match &self.key {
            Key::Ec(k) => k
                .sign(&SystemRandom::new(), r.message)
                .unwrap()
                .as_ref()
                .to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), r.message, &mut sig)
                    .unwrap();
                sig
            }
        })
    }
}

/// An ECDSA P-256 signer named `cn` (digitalSignature + nonRepudiation).
pub fn test_signer(cn: &str) -> TestSigner {
    test_signer_with(cn, false)
}

/// A signer named `cn`, RSA-2048 when `rsa`, else ECDSA P-256, under its own fresh root.
pub fn test_signer_with(cn: &str, rsa: bool) -> TestSigner {
    TestCa::new("Test Root CA").issue(cn, None, rsa)
}

/// A throw-away root CA issuing test signers (several under one root when a test trusts it).
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    cert: rcgen::Certificate,
    /// The root as PEM (pyHanko's trust anchor).
    pub pem: String,
}

impl TestCa {
    /// A root named `name` (CA, keyCertSign + cRLSign).
    pub fn new(name: &str) -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(vec![]).unwrap();
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = ca.self_signed(&ca_key).unwrap();
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(ca, ca_key),
            cert,
        }
    }

    /// A signer named `cn` (with organization `org`: an organization certificate has CN = O),
    /// digitalSignature + nonRepudiation; RSA-2048 when `rsa`, else ECDSA P-256.
    pub fn issue(&self, cn: &str, org: Option<&str>, rsa: bool) -> TestSigner {
        use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose, RsaKeySize};
        let ee_key = if rsa {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap()
        } else {
            KeyPair::generate().unwrap()
        };
        let mut ee = CertificateParams::new(vec![]).unwrap();
        ee.distinguished_name.push(DnType::CommonName, cn);
        if let Some(o) = org {
            ee.distinguished_name.push(DnType::OrganizationName, o);
        }
        ee.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        let ee_cert = ee.signed_by(&ee_key, &self.issuer).unwrap();
        let key = if rsa {
            Key::Rsa(RsaKeyPair::from_pkcs8(&ee_key.serialize_der()).unwrap())
        } else {
            Key::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &ee_key.serialize_der())
                    .unwrap(),
            )
        };
        TestSigner {
            cert: Cert::from_der(ee_cert.der()).unwrap(),
            chain: vec![Cert::from_der(self.cert.der()).unwrap()],
            key,
            cert_pem: ee_cert.pem(),
            key_pem: ee_key.serialize_pem(),
            ca_pem: self.pem.clone(),
        }
    }
}

/// A two-page PDF with a classic cross-reference table.
pub fn two_page_pdf() -> Vec<u8> {
    kyso_pdf::writer::classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 595 842] >>",
        "<< /Type /Page /Parent 2 0 R /Contents 5 0 R >>",
        "<< /Type /Page /Parent 2 0 R /Annots [] >>",
        "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 720 Td (Hello) Tj ET\n\n\n\n\n\n\nendstream",
    ])
}

/// Signing options with a fixed time, no fsync, a Vietnamese reason.
pub fn opts() -> SignOptions {
    let mut o = SignOptions::new(datetime!(2026-11-23 02:30:05 UTC));
    o.durable = false;
    o.reason = Some("Phê duyệt".into());
    o
}

/// Keep a document a test checks — the attack corpus. With `KYSO_ATTACK_CORPUS=DIR` set, each
/// document goes to `DIR/<test name>-<n>.pdf` (n counts per test); otherwise nothing happens.
/// The tests are the generator, `docs/threats.md` maps each attack class to them.
pub fn keep(bytes: &[u8]) {
    use std::cell::Cell;
    thread_local!(static N: Cell<usize> = const { Cell::new(0) });
    let Some(dir) = std::env::var_os("KYSO_ATTACK_CORPUS") else {
        return;
    };
    let n = N.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test").replace("::", "-");
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{test}-{n}.pdf")), bytes).unwrap();
}
