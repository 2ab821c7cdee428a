//! Key generation and certificate issuance (rcgen on aws-lc-rs), and PKCS#12 bundles.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use const_oid::db::rfc5280::{
    ID_AD_CA_ISSUERS, ID_AD_OCSP, ID_KP_EMAIL_PROTECTION, ID_KP_OCSP_SIGNING, ID_KP_TIME_STAMPING,
};
use const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK;
use const_oid::ObjectIdentifier;
use der::asn1::Ia5String;
use der::Encode;
use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKeyChain};
use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName,
    DnType, DnValue, IsCa, Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SerialNumber,
};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax, ExtendedKeyUsage};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The key algorithm of an issued certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyAlg {
    Rsa(u32),
    P256,
    P384,
}

impl KeyAlg {
    pub(crate) fn label(self) -> String {
        match self {
            KeyAlg::Rsa(bits) => format!("RSA-{bits}"),
            KeyAlg::P256 => "ECDSA P-256".to_owned(),
            KeyAlg::P384 => "ECDSA P-384".to_owned(),
        }
    }

    pub(crate) fn generate(self) -> Result<KeyPair> {
        let err = |e: rcgen::Error| Error::Issue(format!("key generation: {e}"));
        match self {
            KeyAlg::Rsa(bits) => {
                let size = match bits {
                    2048 => RsaKeySize::_2048,
                    3072 => RsaKeySize::_3072,
                    4096 => RsaKeySize::_4096,
                    _ => return Err(Error::Issue(format!("unsupported RSA size {bits}"))),
                };
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).map_err(err)
            }
            KeyAlg::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err),
            KeyAlg::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(err),
        }
    }
}

/// One subject attribute.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attr {
    Country(&'static str),
    State(&'static str),
    Locality(&'static str),
    Org(&'static str),
    OrgUnit(&'static str),
    Title(&'static str),
    CommonName(&'static str),
}

/// A subject name: country as PrintableString, everything else UTF8String, in order.
pub(crate) fn name(attrs: &[Attr]) -> Result<DistinguishedName> {
    let mut dn = DistinguishedName::new();
    for a in attrs {
        match *a {
            Attr::Country(c) => {
                let p = PrintableString::try_from(c)
                    .map_err(|e| Error::Issue(format!("country {c:?}: {e}")))?;
                dn.push(DnType::CountryName, DnValue::PrintableString(p));
            }
            Attr::State(v) => dn.push(DnType::StateOrProvinceName, v),
            Attr::Locality(v) => dn.push(DnType::LocalityName, v),
            Attr::Org(v) => dn.push(DnType::OrganizationName, v),
            Attr::OrgUnit(v) => dn.push(DnType::OrganizationalUnitName, v),
            Attr::Title(v) => dn.push(DnType::CustomDnType(vec![2, 5, 4, 12]), v),
            Attr::CommonName(v) => dn.push(DnType::CommonName, v),
        }
    }
    Ok(dn)
}

/// A random positive 16-byte serial number (top bit clear, never starting with a zero byte).
pub(crate) fn random_serial(rng: &SystemRandom) -> Result<Vec<u8>> {
    let mut s = [0u8; 16];
    rng.fill(&mut s)
        .map_err(|_| Error::Issue("random number generator failed".into()))?;
    if let Some(first) = s.first_mut() {
        *first = (*first & 0x7f) | 0x40;
    }
    Ok(s.to_vec())
}

/// What a certificate is for.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub ca_path_len: Option<u8>,
    pub key_usages: Vec<KeyUsagePurpose>,
    /// Extended key usages and whether the extension is critical.
    pub eku: Option<(Vec<ObjectIdentifier>, bool)>,
    pub ocsp_nocheck: bool,
    pub crl_url: Option<String>,
    pub ocsp_url: Option<String>,
    pub ca_issuers_url: Option<String>,
}

impl Profile {
    pub(crate) fn ca(path_len: Option<u8>) -> Self {
        Profile {
            ca_path_len: path_len,
            key_usages: vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            eku: None,
            ocsp_nocheck: false,
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        }
    }

    pub(crate) fn end_entity(key_usages: Vec<KeyUsagePurpose>) -> Self {
        Profile {
            ca_path_len: None,
            key_usages,
            eku: None,
            ocsp_nocheck: false,
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        }
    }

    pub(crate) fn signing() -> Self {
        let mut p = Self::end_entity(vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ]);
        p.eku = Some((vec![ID_KP_EMAIL_PROTECTION], false));
        p
    }

    pub(crate) fn tsa() -> Self {
        let mut p = Self::end_entity(vec![KeyUsagePurpose::DigitalSignature]);
        p.eku = Some((vec![ID_KP_TIME_STAMPING], true));
        p
    }

    pub(crate) fn ocsp() -> Self {
        let mut p = Self::end_entity(vec![KeyUsagePurpose::DigitalSignature]);
        p.eku = Some((vec![ID_KP_OCSP_SIGNING], false));
        p.ocsp_nocheck = true;
        p
    }
}

/// An issued certificate with its key.
#[derive(Debug)]
pub(crate) struct Issued {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
    pub alg: KeyAlg,
}

impl Issued {
    pub(crate) fn pem(&self) -> Result<String> {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.der)
            .map_err(|e| Error::Issue(format!("PEM encoding: {e}")))
    }
    /// The private key, PKCS#8 DER.
    pub(crate) fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.serialize_der())
    }
}

fn ext_der<T: Encode>(v: &T) -> Result<Vec<u8>> {
    v.to_der()
        .map_err(|e| Error::Issue(format!("extension encoding: {e}")))
}

fn uri(s: &str) -> Result<GeneralName> {
    Ia5String::new(s)
        .map(GeneralName::UniformResourceIdentifier)
        .map_err(|e| Error::Issue(format!("URL {s:?}: {e}")))
}

fn oid_arcs(oid: &ObjectIdentifier) -> Vec<u64> {
    oid.arcs().map(u64::from).collect()
}

/// Build the certificate parameters for `subject` with `profile`.
pub(crate) fn params(
    subject: DistinguishedName,
    profile: &Profile,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: Vec<u8>,
) -> Result<CertificateParams> {
    let mut p = CertificateParams::default();
    p.distinguished_name = subject;
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    p.is_ca = match profile.ca_path_len {
        Some(n) => IsCa::Ca(BasicConstraints::Constrained(n)),
        None if profile.key_usages.contains(&KeyUsagePurpose::KeyCertSign) => {
            IsCa::Ca(BasicConstraints::Unconstrained)
        }
        // Writes basicConstraints CA:FALSE and the subject key identifier.
        None => IsCa::ExplicitNoCa,
    };
    p.key_usages = profile.key_usages.clone();
    p.use_authority_key_identifier_extension = true;
    if let Some(url) = &profile.crl_url {
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![url.clone()],
        }];
    }
    if let Some((ekus, critical)) = &profile.eku {
        let der = ext_der(&ExtendedKeyUsage(ekus.clone()))?;
        let oid = oid_arcs(&const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE);
        let mut ext = CustomExtension::from_oid_content(&oid, der);
        ext.set_criticality(*critical);
        p.custom_extensions.push(ext);
    }
    let mut access = Vec::new();
    if let Some(url) = &profile.ocsp_url {
        access.push(AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: uri(url)?,
        });
    }
    if let Some(url) = &profile.ca_issuers_url {
        access.push(AccessDescription {
            access_method: ID_AD_CA_ISSUERS,
            access_location: uri(url)?,
        });
    }
    if !access.is_empty() {
        let der = ext_der(&AuthorityInfoAccessSyntax(access))?;
        let oid = oid_arcs(&const_oid::db::rfc5280::ID_PE_AUTHORITY_INFO_ACCESS);
        p.custom_extensions
            .push(CustomExtension::from_oid_content(&oid, der));
    }
    if profile.ocsp_nocheck {
        // id-pkix-ocsp-nocheck ::= NULL
        let oid = oid_arcs(&ID_PKIX_OCSP_NOCHECK);
        p.custom_extensions
            .push(CustomExtension::from_oid_content(&oid, vec![0x05, 0x00]));
    }
    Ok(p)
}

/// A self-signed certificate.
pub(crate) fn self_signed(params: CertificateParams, alg: KeyAlg) -> Result<Issued> {
    let key = alg.generate()?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::Issue(format!("self-signing: {e}")))?;
    Ok(Issued {
        der: cert.der().to_vec(),
        params,
        key,
        alg,
    })
}

/// A certificate issued by `issuer`.
pub(crate) fn issue(params: CertificateParams, alg: KeyAlg, issuer: &Issued) -> Result<Issued> {
    let key = alg.generate()?;
    let ca = Issuer::from_params(&issuer.params, &issuer.key);
    let cert = params
        .signed_by(&key, &ca)
        .map_err(|e| Error::Issue(format!("signing: {e}")))?;
    Ok(Issued {
        der: cert.der().to_vec(),
        params,
        key,
        alg,
    })
}

/// A PKCS#12 bundle: the key, its certificate and `chain`, encrypted with PBES2
/// (PBKDF2-HMAC-SHA256, AES-256-CBC) and protected by an HMAC-SHA256 MAC.
pub(crate) fn pkcs12(
    entity: &Issued,
    chain: &[&Issued],
    alias: &str,
    password: &str,
) -> Result<Vec<u8>> {
    let err = |e: p12_keystore::error::Error| Error::Pkcs12(e.to_string());
    let pkcs8 = entity.pkcs8();
    let key = p12_keystore::PrivateKey::from_der(&pkcs8).map_err(err)?;
    let mut certs = vec![p12_keystore::Certificate::from_der(&entity.der).map_err(err)?];
    for c in chain {
        certs.push(p12_keystore::Certificate::from_der(&c.der).map_err(err)?);
    }
    // The local key id ties the key to its certificate: use a digest of the certificate.
    let local_id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &entity.der);
    let chain = PrivateKeyChain::new(local_id.as_ref(), key, certs);
    let mut store = KeyStore::new();
    store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
        .encryption_iterations(10_000)
        .mac_iterations(10_000)
        .write()
        .map_err(err)
}
