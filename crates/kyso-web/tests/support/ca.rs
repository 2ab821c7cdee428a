//! Certificates from a throw-away test CA (rcgen, ECDSA P-256): its root, keys it certifies for
//! signing, and the keys of the outgoing-document flow (the director, the agency's seal and a
//! stranger).

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use kyso_x509::Cert;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::TestSigner;

/// A self-signed test root that certifies signing keys.
pub struct TestCa {
    root: Cert,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A new root named `common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(vec![]).unwrap();
        ca.distinguished_name.push(DnType::CommonName, common_name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        TestCa {
            root: Cert::from_der(ca_cert.der()).unwrap(),
            issuer: Issuer::new(ca, ca_key),
        }
    }

    /// The root certificate (a trust anchor).
    pub fn root(&self) -> &Cert {
        &self.root
    }

    /// A new signing key (digitalSignature, nonRepudiation) certified for `common_name`, with
    /// O = `org` when given (an organization certificate: CN = O).
    pub fn issue(&self, common_name: &str, org: Option<&str>) -> TestSigner {
        self.issue_with_pkcs8(common_name, org).0
    }

    /// [`TestCa::issue`], with the key's PKCS#8 DER (to load it again, as a token would).
    pub fn issue_with_pkcs8(&self, common_name: &str, org: Option<&str>) -> (TestSigner, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name.push(DnType::CommonName, common_name);
        if let Some(o) = org {
            p.distinguished_name.push(DnType::OrganizationName, o);
        }
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        // Five years around the tests' clock, as Decree 68 allows a new certificate.
        p.not_before = time::macros::datetime!(2025-01-01 0:00 UTC);
        p.not_after = time::macros::datetime!(2029-12-31 0:00 UTC);
        let c = p.signed_by(&key, &self.issuer).unwrap();
        let pkcs8 = key.serialize_der();
        let signer = TestSigner {
            cert: Cert::from_der(c.der()).unwrap(),
            chain: vec![self.root.clone()],
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8).unwrap(),
        };
        (signer, pkcs8)
    }
}

/// The keys of the outgoing-document flow, all issued by one test root: the director
/// (personal), the agency's seal (organization: CN = O) and a stranger (personal, not the
/// director).
pub struct Pki {
    pub director: TestSigner,
    pub agency: TestSigner,
    pub stranger: TestSigner,
}

/// The flow's keys under a new "Documents Test Root".
pub fn pki() -> Pki {
    let ca = TestCa::new("Documents Test Root");
    Pki {
        director: ca.issue("Nguyễn Văn An", None),
        agency: ca.issue("Sở Khoa học và Công nghệ", Some("Sở Khoa học và Công nghệ")),
        stranger: ca.issue("Người Lạ", None),
    }
}
