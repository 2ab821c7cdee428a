//! A parsed certificate that keeps its exact DER bytes, with the fields kyso shows and checks.

use der::{Decode, Encode, Tag, Tagged};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

use crate::{oid, Error, Result};

/// Largest certificate accepted (real ones are a few KB).
pub const MAX_CERT_BYTES: usize = 64 * 1024;

/// The kind of public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: usize },
    EcP256,
    EcP384,
    EcP521,
    Ed25519,
    Other,
}

/// Key usage bits (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyUsageFlags {
    pub present: bool,
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
}

/// An X.509 certificate: the parsed structure and the DER it came from.
#[derive(Clone, Debug)]
pub struct Cert {
    der: Vec<u8>,
    cert: Certificate,
}

impl PartialEq for Cert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Cert {}

impl Cert {
    /// Parse DER. The input must be exactly one certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CERT_BYTES {
            return Err(Error::TooLarge {
                max: MAX_CERT_BYTES,
            });
        }
        let cert = Certificate::from_der(der)?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
        })
    }

    /// Parse every certificate in a PEM text.
    pub fn from_pem_chain(pem: &[u8]) -> Result<Vec<Self>> {
        let certs = Certificate::load_pem_chain(pem)?;
        if certs.is_empty() {
            return Err(Error::NoCertificate);
        }
        certs
            .into_iter()
            .map(|c| {
                let der = c.to_der()?;
                Ok(Cert { der, cert: c })
            })
            .collect()
    }

    /// PEM or DER, whichever `bytes` is.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Vec<Self>> {
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Self::from_pem_chain(bytes)
        } else {
            Ok(vec![Self::from_der(bytes)?])
        }
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }
    pub fn inner(&self) -> &Certificate {
        &self.cert
    }

    /// PEM text of the certificate.
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }

    /// DER of the issuer name.
    pub fn issuer_der(&self) -> Result<Vec<u8>> {
        Ok(self.cert.tbs_certificate().issuer().to_der()?)
    }
    /// DER of the subject name.
    pub fn subject_der(&self) -> Result<Vec<u8>> {
        Ok(self.cert.tbs_certificate().subject().to_der()?)
    }
    /// The serial number's big-endian bytes (as encoded).
    pub fn serial_bytes(&self) -> &[u8] {
        self.cert.tbs_certificate().serial_number().as_bytes()
    }
    /// The serial number in upper-case hex without leading zero bytes.
    pub fn serial_hex(&self) -> String {
        let b = self.serial_bytes();
        let trimmed = match b.iter().position(|&x| x != 0) {
            Some(i) => b.get(i..).unwrap_or_default(),
            None => b.get(b.len().saturating_sub(1)..).unwrap_or_default(),
        };
        trimmed.iter().map(|x| format!("{x:02X}")).collect()
    }

    fn attr(name: &x509_cert::name::Name, wanted: const_oid::ObjectIdentifier) -> Option<String> {
        name.iter()
            .find(|atv| atv.oid == wanted)
            .and_then(|atv| decode_directory_string(&atv.value))
    }

    /// A subject attribute as text.
    pub fn subject_attr(&self, wanted: const_oid::ObjectIdentifier) -> Option<String> {
        Self::attr(self.cert.tbs_certificate().subject(), wanted)
    }
    /// An issuer attribute as text.
    pub fn issuer_attr(&self, wanted: const_oid::ObjectIdentifier) -> Option<String> {
        Self::attr(self.cert.tbs_certificate().issuer(), wanted)
    }
    pub fn common_name(&self) -> Option<String> {
        self.subject_attr(oid::CN)
    }
    pub fn issuer_common_name(&self) -> Option<String> {
        self.issuer_attr(oid::CN)
    }

    /// The subject as `CN=…, O=…` with readable (UTF-8) values, most specific first.
    pub fn subject_display(&self) -> String {
        display_name(self.cert.tbs_certificate().subject())
    }
    pub fn issuer_display(&self) -> String {
        display_name(self.cert.tbs_certificate().issuer())
    }

    pub fn not_before(&self) -> OffsetDateTime {
        to_offset(self.cert.tbs_certificate().validity().not_before)
    }
    pub fn not_after(&self) -> OffsetDateTime {
        to_offset(self.cert.tbs_certificate().validity().not_after)
    }
    /// Whether `at` lies inside the validity period.
    pub fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before() <= at && at <= self.not_after()
    }

    pub fn key_usage(&self) -> KeyUsageFlags {
        match self.cert.tbs_certificate().get_extension::<KeyUsage>() {
            Ok(Some((_, ku))) => KeyUsageFlags {
                present: true,
                digital_signature: ku.digital_signature(),
                non_repudiation: ku.non_repudiation(),
                key_encipherment: ku.key_encipherment(),
                key_cert_sign: ku.key_cert_sign(),
                crl_sign: ku.crl_sign(),
            },
            _ => KeyUsageFlags::default(),
        }
    }

    /// Whether basicConstraints says CA:TRUE.
    pub fn is_ca(&self) -> bool {
        matches!(self.cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
    }

    /// DER of the SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Result<Vec<u8>> {
        Ok(self
            .cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()?)
    }

    /// The raw public key (the BIT STRING contents of the SPKI): the RSAPublicKey DER or the EC
    /// point.
    pub fn public_key_bytes(&self) -> &[u8] {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
    }

    pub fn key_kind(&self) -> KeyKind {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let alg = spki.algorithm.oid;
        if alg == oid::RSA_ENCRYPTION || alg == oid::RSASSA_PSS {
            return KeyKind::Rsa {
                bits: rsa_modulus_bits(self.public_key_bytes()).unwrap_or(0),
            };
        }
        if alg == oid::ED25519 {
            return KeyKind::Ed25519;
        }
        if alg == oid::EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok());
            return match curve {
                Some(c) if c == oid::SECP256R1 => KeyKind::EcP256,
                Some(c) if c == oid::SECP384R1 => KeyKind::EcP384,
                Some(c) if c == oid::SECP521R1 => KeyKind::EcP521,
                _ => KeyKind::Other,
            };
        }
        KeyKind::Other
    }

    /// The subjectKeyIdentifier, when present.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        match self
            .cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        {
            Ok(Some((_, ski))) => Some(ski.0.as_bytes().to_vec()),
            _ => None,
        }
    }

    /// Whether this certificate's subject is the other's issuer.
    pub fn is_issuer_of(&self, other: &Cert) -> bool {
        self.cert.tbs_certificate().subject() == other.cert.tbs_certificate().issuer()
    }

    /// Whether subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate().subject() == self.cert.tbs_certificate().issuer()
    }

    /// The exact DER of the tbsCertificate (the signed bytes), sliced from the original
    /// encoding rather than re-encoded.
    pub fn tbs_der(&self) -> Option<&[u8]> {
        let (outer_header, _) = tlv_lengths(&self.der)?;
        let inner = self.der.get(outer_header..)?;
        let (h, len) = tlv_lengths(inner)?;
        inner.get(..h.checked_add(len)?)
    }

    /// The authorityKeyIdentifier's keyIdentifier, when present.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        match self
            .cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::AuthorityKeyIdentifier>()
        {
            Ok(Some((_, aki))) => aki.key_identifier.map(|k| k.as_bytes().to_vec()),
            _ => None,
        }
    }

    fn aia_urls(&self, method: const_oid::ObjectIdentifier) -> Vec<String> {
        match self
            .cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::AuthorityInfoAccessSyntax>()
        {
            Ok(Some((_, aia))) => aia
                .0
                .iter()
                .filter(|ad| ad.access_method == method)
                .filter_map(|ad| match &ad.access_location {
                    GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// OCSP responder URLs from authorityInfoAccess.
    pub fn aia_ocsp_urls(&self) -> Vec<String> {
        self.aia_urls(oid::AD_OCSP)
    }

    /// Issuer certificate URLs (caIssuers) from authorityInfoAccess.
    pub fn aia_ca_issuers_urls(&self) -> Vec<String> {
        self.aia_urls(oid::AD_CA_ISSUERS)
    }

    /// The URIs in the CRL distribution points (full names only).
    pub fn crl_distribution_points(&self) -> Vec<String> {
        use x509_cert::ext::pkix::name::DistributionPointName;
        match self
            .cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::CrlDistributionPoints>()
        {
            Ok(Some((_, dps))) => dps
                .0
                .iter()
                .filter_map(|dp| match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => Some(names),
                    _ => None,
                })
                .flatten()
                .filter_map(|gn| match gn {
                    GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The extendedKeyUsage purposes (empty when the extension is absent).
    pub fn extended_key_usage(&self) -> Vec<const_oid::ObjectIdentifier> {
        match self
            .cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
        {
            Ok(Some((_, eku))) => eku.0,
            _ => Vec::new(),
        }
    }

    /// Whether the certificate carries id-pkix-ocsp-nocheck (an OCSP responder's certificate).
    pub fn has_ocsp_nocheck(&self) -> bool {
        self.has_extension(oid::EXT_OCSP_NOCHECK)
    }

    /// Whether an extension with this OID is present.
    pub fn has_extension(&self, wanted: const_oid::ObjectIdentifier) -> bool {
        self.cert
            .tbs_certificate()
            .extensions()
            .is_some_and(|exts| exts.iter().any(|e| e.extn_id == wanted))
    }

    /// The RSA modulus size in bits, for RSA keys.
    pub fn rsa_modulus_bits(&self) -> Option<usize> {
        match self.key_kind() {
            KeyKind::Rsa { bits } if bits > 0 => Some(bits),
            _ => None,
        }
    }

    /// SHA-256 of the DER (the certificate's fingerprint).
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        <[u8; 32]>::try_from(d.as_ref()).unwrap_or([0; 32])
    }

    /// The SHA-256 fingerprint in upper-case hex.
    pub fn sha256_fingerprint_hex(&self) -> String {
        self.sha256_fingerprint()
            .iter()
            .map(|x| format!("{x:02X}"))
            .collect()
    }
}

/// Header length and content length of the DER TLV at the start of `b` (definite lengths
/// only, low tag numbers only).
fn tlv_lengths(b: &[u8]) -> Option<(usize, usize)> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for byte in b.get(2..2 + n)? {
        len = (len << 8) | usize::from(*byte);
    }
    Some((2 + n, len))
}

fn to_offset(t: x509_cert::time::Time) -> OffsetDateTime {
    let secs = t.to_unix_duration().as_secs();
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Bits in an RSAPublicKey's modulus.
fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    let mut reader = der::SliceReader::new(rsa_public_key).ok()?;
    let header = der::Header::decode(&mut reader).ok()?;
    if header.tag() != Tag::Sequence {
        return None;
    }
    let modulus = der::asn1::UintRef::decode(&mut reader).ok()?;
    let m = modulus.as_bytes();
    let first = m.first()?;
    Some((m.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// Decode a DirectoryString-like value to text.
pub(crate) fn decode_directory_string(v: &der::Any) -> Option<String> {
    let bytes = v.value();
    match v.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok().map(u16::from_be_bytes))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

fn display_name(name: &x509_cert::name::Name) -> String {
    let label = |o: const_oid::ObjectIdentifier| -> String {
        match o {
            x if x == oid::CN => "CN".into(),
            x if x == oid::O => "O".into(),
            x if x == oid::OU => "OU".into(),
            x if x == oid::C => "C".into(),
            x if x == oid::L => "L".into(),
            x if x == oid::ST => "ST".into(),
            x if x == oid::TITLE => "T".into(),
            x if x == oid::EMAIL => "E".into(),
            x if x == oid::UID => "UID".into(),
            x if x == oid::SERIAL_NUMBER => "SERIALNUMBER".into(),
            x if x == oid::GIVEN_NAME => "G".into(),
            x if x == oid::SURNAME => "SN".into(),
            other => other.to_string(),
        }
    };
    let mut parts: Vec<String> = name
        .iter()
        .map(|atv| {
            let value = decode_directory_string(&atv.value).unwrap_or_else(|| "#?".into());
            format!("{}={}", label(atv.oid), value)
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

/// PEM-encode DER with the given label.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}
