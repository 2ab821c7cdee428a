//! Parsing and checking a detached CMS SignedData as found in a PDF signature (PAdES, and the
//! legacy `adbe.pkcs7.detached` without signed attributes).
//!
//! The structure is walked on the received bytes (after [`crate::ber::normalize`]) so that the
//! signed attributes can be verified over **exactly the bytes that were signed**: the `[0]
//! IMPLICIT` element as received with its tag byte changed to SET (0x31), never a re-encoding.
//! Pieces (certificates, names) are decoded with the `der` crate one by one, so that one odd
//! certificate does not make the whole signature unreadable.
//!
//! An invalid signature is a result ([`SignerCheck`] with failed [`Check`]s), not an `Err`;
//! `Err` from [`parse_signed_data`] means the bytes are not a readable SignedData at all.

use der::asn1::ObjectIdentifier;
use der::{Any, Decode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::name::Name;

use kyso_x509::verify_sig::MIN_RSA_BITS;
use kyso_x509::{oid, Cert, KeyKind, SigHash, SigProblem};

use crate::ess::{ID_AA_CMS_ALGORITHM_PROTECTION, ID_AA_SIGNING_CERTIFICATE_V2};
use crate::signed_data::{
    ID_AA_SIGNATURE_TIME_STAMP_TOKEN, ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
    ID_SIGNING_TIME,
};
use crate::{DigestAlgorithm, Error, Result, SignatureAlgorithm};

/// id-aa-signingCertificate (RFC 2634, ESSCertID with SHA-1).
pub const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");

/// Most certificates read from one SignedData.
const MAX_CERTS: usize = 256;
/// Most attributes read from one attribute set.
const MAX_ATTRS: usize = 256;

// ---------------------------------------------------------------------------------------------
// A minimal DER TLV walker (definite lengths; input is normalised first).

#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    full: &'a [u8],
    content: &'a [u8],
}

fn asn1(what: &str) -> Error {
    Error::Asn1(format!("SignedData: {what}"))
}

/// One TLV at the start of `b`; returns it and the rest.
fn tlv(b: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let tag = *b.first().ok_or_else(|| asn1("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(asn1("high tag numbers are not used in CMS"));
    }
    let l0 = *b.get(1).ok_or_else(|| asn1("truncated length"))?;
    let (len, hdr) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return Err(asn1("unsupported length encoding (not normalised?)"));
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i).ok_or_else(|| asn1("truncated length"))?);
        }
        (len, 2 + n)
    };
    let end = hdr
        .checked_add(len)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| asn1("length beyond the data"))?;
    let full = b.get(..end).ok_or_else(|| asn1("truncated"))?;
    let content = b.get(hdr..end).ok_or_else(|| asn1("truncated"))?;
    let rest = b.get(end..).unwrap_or_default();
    Ok((Tlv { tag, full, content }, rest))
}

/// The elements inside a constructed value, at most `max`.
fn children(content: &[u8], max: usize) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        if out.len() >= max {
            return Err(asn1("too many elements"));
        }
        let (t, r) = tlv(rest)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

fn expect(t: Option<&Tlv<'_>>, tag: u8, what: &str) -> Result<()> {
    match t {
        Some(t) if t.tag == tag => Ok(()),
        _ => Err(asn1(what)),
    }
}

fn oid_of(t: &Tlv<'_>) -> Result<ObjectIdentifier> {
    if t.tag != 0x06 {
        return Err(asn1("expected an OBJECT IDENTIFIER"));
    }
    Ok(ObjectIdentifier::from_der(t.full)?)
}

// ---------------------------------------------------------------------------------------------
// The parsed structure.

/// How the SignerInfo names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    /// issuerAndSerialNumber: the issuer Name (DER as received) and the serial number
    /// (INTEGER content octets as received).
    IssuerSerial { issuer: Vec<u8>, serial: Vec<u8> },
    /// subjectKeyIdentifier.
    SubjectKeyId(Vec<u8>),
}

/// ESSCertID (v1, SHA-1) or ESSCertIDv2 as found in a signing-certificate attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EssCertRef {
    /// Hash algorithm OID (SHA-1 for v1; SHA-256 when a v2 entry omits it).
    pub hash_oid: ObjectIdentifier,
    pub cert_hash: Vec<u8>,
    /// issuerSerial: the directory names in `issuer` (DER) and the serial content octets.
    pub issuer_serial: Option<(Vec<Vec<u8>>, Vec<u8>)>,
}

/// adbe-revocationInfoArchival (Adobe's signed attribute carrying CRLs and OCSP responses).
pub const ID_ADBE_REVOCATION_INFO_ARCHIVAL: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113583.1.1.8");

/// The signed attributes, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedAttrs {
    pub content_type: Option<ObjectIdentifier>,
    pub message_digest: Option<Vec<u8>>,
    /// signing-time: CAdES forbids it in PAdES (the time is `/M`) but many tools write it.
    pub signing_time: Option<std::time::SystemTime>,
    /// signing-certificate (v1, SHA-1 ESSCertID): the first certificate reference.
    pub signing_certificate_v1: Option<EssCertRef>,
    /// signing-certificate-v2: the first certificate reference.
    pub signing_certificate_v2: Option<EssCertRef>,
    /// CMSAlgorithmProtection (RFC 6211): the digest and signature algorithm OIDs it names.
    pub algorithm_protection: Option<(ObjectIdentifier, Option<ObjectIdentifier>)>,
    /// adbe-revocationInfoArchival (Acrobat, iText): the DER `RevocationInfoArchival` value —
    /// CRLs and OCSP responses the signer embedded when signing.
    pub revocation_archival: Option<Vec<u8>>,
    /// Every attribute type present, in order.
    pub types: Vec<ObjectIdentifier>,
    /// Things not as expected while decoding (duplicate or multi-valued attributes, undecodable
    /// values), in words.
    pub oddities: Vec<String>,
}

/// A CMS SignedData with one SignerInfo picked out.
#[derive(Debug, Clone)]
pub struct ParsedSignedData {
    /// The certificates carried (X.509 choices only; others are counted in `skipped_certs`).
    pub certificates: Vec<Cert>,
    /// Certificate choices that were not readable X.509 certificates.
    pub skipped_certs: usize,
    /// eContentType of the encapsulated content.
    pub econtent_type: ObjectIdentifier,
    /// True when there is no eContent (detached, as PAdES requires of signatures).
    pub detached: bool,
    /// The eContent OCTET STRING's contents when encapsulated (e.g. the TSTInfo of a
    /// timestamp token).
    pub econtent: Option<Vec<u8>>,
    /// How many SignerInfos there are (PAdES expects exactly one; the first is used).
    pub signer_count: usize,
    pub signer_id: SignerId,
    /// Index into `certificates` of the signer's certificate.
    pub signer_cert: Option<usize>,
    pub digest_oid: ObjectIdentifier,
    /// The digest algorithm, when recognised (SHA-1 and SHA-2; others are `None`).
    pub digest: Option<DigestAlgorithm>,
    pub signature_oid: ObjectIdentifier,
    /// The DER of the signatureAlgorithm's parameters, when present (RSASSA-PSS-params).
    pub signature_params: Option<Vec<u8>>,
    /// The signature algorithm as kyso would sign with it (`None` for others, e.g. RSASSA-PSS
    /// with a salt other than the hash length; those are verified all the same, from
    /// `signature_oid` and `signature_params`).
    pub signature_algorithm: Option<SignatureAlgorithm>,
    pub signature: Vec<u8>,
    /// The exact bytes the signature is over when there are signed attributes: the received
    /// `[0] IMPLICIT` element with its first byte set to 0x31.
    pub signed_attrs_der: Option<Vec<u8>>,
    pub signed_attrs: Option<SignedAttrs>,
    /// Unsigned attribute types present.
    pub unsigned_attr_types: Vec<ObjectIdentifier>,
    /// signature-time-stamp tokens (DER ContentInfo each), for later checking.
    pub timestamp_tokens: Vec<Vec<u8>>,
}

impl ParsedSignedData {
    /// The signer's certificate, if it is among the certificates carried.
    pub fn signer_certificate(&self) -> Option<&Cert> {
        self.signer_cert.and_then(|i| self.certificates.get(i))
    }
}

/// Parse DER (or normalised BER, see [`crate::ber::normalize`]) `ContentInfo` holding a
/// `SignedData`. Errors mean the bytes are unreadable; semantic problems are left for
/// [`verify_signer`].
pub fn parse_signed_data(der: &[u8]) -> Result<ParsedSignedData> {
    let (ci, rest) = tlv(der)?;
    if !rest.is_empty() {
        return Err(asn1("data after the ContentInfo"));
    }
    expect(Some(&ci), 0x30, "ContentInfo is not a SEQUENCE")?;
    let ci = children(ci.content, 2)?;
    let ct = ci.first().ok_or_else(|| asn1("empty ContentInfo"))?;
    if oid_of(ct)? != ID_SIGNED_DATA {
        return Err(asn1("content type is not signedData"));
    }
    let explicit = ci.get(1).ok_or_else(|| asn1("no content"))?;
    expect(Some(explicit), 0xa0, "content is not [0] EXPLICIT")?;
    let (sd, _) = tlv(explicit.content)?;
    expect(Some(&sd), 0x30, "SignedData is not a SEQUENCE")?;
    let sd = children(sd.content, 8)?;
    let mut it = sd.iter().peekable();
    expect(it.next(), 0x02, "SignedData version missing")?;
    expect(it.next(), 0x31, "digestAlgorithms missing")?;
    let eci = it.next().ok_or_else(|| asn1("encapContentInfo missing"))?;
    expect(Some(eci), 0x30, "encapContentInfo is not a SEQUENCE")?;
    let eci = children(eci.content, 2)?;
    let econtent_type = oid_of(eci.first().ok_or_else(|| asn1("eContentType missing"))?)?;
    let detached = eci.get(1).is_none();
    let econtent = match eci.get(1) {
        None => None,
        Some(e) => {
            expect(Some(e), 0xa0, "eContent is not [0] EXPLICIT")?;
            let (os, _) = tlv(e.content)?;
            expect(Some(&os), 0x04, "eContent is not an OCTET STRING")?;
            Some(os.content.to_vec())
        }
    };

    let mut certificates = Vec::new();
    let mut skipped_certs = 0;
    if let Some(c) = it.next_if(|t| t.tag == 0xa0) {
        for choice in children(c.content, MAX_CERTS)? {
            match (choice.tag, Cert::from_der(choice.full)) {
                (0x30, Ok(cert)) => certificates.push(cert),
                _ => skipped_certs += 1,
            }
        }
    }
    let _crls = it.next_if(|t| t.tag == 0xa1);
    let infos = it.next().ok_or_else(|| asn1("signerInfos missing"))?;
    expect(Some(infos), 0x31, "signerInfos is not a SET")?;
    let infos = children(infos.content, 64)?;
    let signer_count = infos.len();
    let si = infos.first().ok_or_else(|| asn1("no SignerInfo"))?;
    expect(Some(si), 0x30, "SignerInfo is not a SEQUENCE")?;
    let si = children(si.content, 8)?;
    let mut it = si.iter().peekable();
    expect(it.next(), 0x02, "SignerInfo version missing")?;
    let sid = it.next().ok_or_else(|| asn1("sid missing"))?;
    let signer_id = match sid.tag {
        0x30 => {
            let parts = children(sid.content, 2)?;
            let issuer = parts.first().ok_or_else(|| asn1("sid issuer missing"))?;
            let serial = parts.get(1).ok_or_else(|| asn1("sid serial missing"))?;
            expect(Some(serial), 0x02, "sid serial is not an INTEGER")?;
            SignerId::IssuerSerial {
                issuer: issuer.full.to_vec(),
                serial: serial.content.to_vec(),
            }
        }
        0x80 => SignerId::SubjectKeyId(sid.content.to_vec()),
        _ => return Err(asn1("unknown signer identifier")),
    };
    let dalg = it.next().ok_or_else(|| asn1("digestAlgorithm missing"))?;
    let (digest_oid, _) = alg_id(dalg)?;
    let digest = DigestAlgorithm::recognised(&digest_oid);

    let mut signed_attrs_der = None;
    let mut signed_attrs = None;
    if let Some(sa) = it.next_if(|t| t.tag == 0xa0) {
        let mut bytes = sa.full.to_vec();
        if let Some(b) = bytes.first_mut() {
            *b = 0x31;
        }
        signed_attrs_der = Some(bytes);
        signed_attrs = Some(decode_signed_attrs(sa.content)?);
    }
    let salg = it
        .next()
        .ok_or_else(|| asn1("signatureAlgorithm missing"))?;
    let (signature_oid, sig_params) = alg_id(salg)?;
    let signature_algorithm = map_signature_algorithm(signature_oid, sig_params, digest);
    let signature_params = sig_params.map(|p| p.full.to_vec());
    let sig = it.next().ok_or_else(|| asn1("signature missing"))?;
    expect(Some(sig), 0x04, "signature is not an OCTET STRING")?;
    let mut unsigned_attr_types = Vec::new();
    let mut timestamp_tokens = Vec::new();
    if let Some(ua) = it.next_if(|t| t.tag == 0xa1) {
        for (oid, values) in attributes(ua.content)? {
            if oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN {
                timestamp_tokens.extend(values.iter().map(|v| v.full.to_vec()));
            }
            unsigned_attr_types.push(oid);
        }
    }
    if it.next().is_some() {
        return Err(asn1("unexpected element at the end of SignerInfo"));
    }

    let signer_cert = certificates.iter().position(|c| matches_sid(c, &signer_id));
    Ok(ParsedSignedData {
        certificates,
        skipped_certs,
        econtent_type,
        detached,
        econtent,
        signer_count,
        signer_id,
        signer_cert,
        digest_oid,
        digest,
        signature_oid,
        signature_params,
        signature_algorithm,
        signature: sig.content.to_vec(),
        signed_attrs_der,
        signed_attrs,
        unsigned_attr_types,
        timestamp_tokens,
    })
}

/// AlgorithmIdentifier: OID and the parameters element, if any.
fn alg_id<'a>(t: &Tlv<'a>) -> Result<(ObjectIdentifier, Option<Tlv<'a>>)> {
    expect(Some(t), 0x30, "AlgorithmIdentifier is not a SEQUENCE")?;
    let parts = children(t.content, 2)?;
    let oid = oid_of(parts.first().ok_or_else(|| asn1("algorithm OID missing"))?)?;
    Ok((oid, parts.get(1).copied()))
}

/// The signature scheme named by an algorithm OID, its DER parameters (RSASSA-PSS-params) and,
/// for OIDs that name only the key (rsaEncryption, id-ecPublicKey), the hash used. `None` for
/// schemes kyso does not sign or verify with (as named by CSC `signAlgo`/`signAlgoParams`).
pub fn signature_algorithm_from(
    sig_oid: &ObjectIdentifier,
    params_der: Option<&[u8]>,
    digest: Option<DigestAlgorithm>,
) -> Option<SignatureAlgorithm> {
    let params = match params_der {
        Some(der) => {
            let (t, rest) = tlv(der).ok()?;
            if !rest.is_empty() {
                return None;
            }
            Some(t)
        }
        None => None,
    };
    map_signature_algorithm(*sig_oid, params, digest)
}

fn map_signature_algorithm(
    sig_oid: ObjectIdentifier,
    params: Option<Tlv<'_>>,
    digest: Option<DigestAlgorithm>,
) -> Option<SignatureAlgorithm> {
    use DigestAlgorithm::{Sha256, Sha384, Sha512};
    use SignatureAlgorithm::{Ecdsa, RsaPkcs1, RsaPss};
    let a = match sig_oid {
        o if o == oid::RSA_ENCRYPTION => RsaPkcs1(digest.filter(|d| !d.is_weak())?),
        o if o == oid::SHA256_WITH_RSA => RsaPkcs1(Sha256),
        o if o == oid::SHA384_WITH_RSA => RsaPkcs1(Sha384),
        o if o == oid::SHA512_WITH_RSA => RsaPkcs1(Sha512),
        o if o == oid::ECDSA_SHA256 => Ecdsa(Sha256),
        o if o == oid::ECDSA_SHA384 => Ecdsa(Sha384),
        o if o == oid::ECDSA_SHA512 => Ecdsa(Sha512),
        // Some signers put the key's algorithm here.
        o if o == oid::EC_PUBLIC_KEY => Ecdsa(digest.filter(|d| !d.is_weak())?),
        o if o == oid::RSASSA_PSS => RsaPss(pss_hash(params?)?),
        _ => return None,
    };
    Some(a)
}

/// The hash of RSASSA-PSS-params, when MGF1 uses the same hash and the salt is as long as the
/// hash (the only form the verifier supports).
fn pss_hash(params: Tlv<'_>) -> Option<DigestAlgorithm> {
    if params.tag != 0x30 {
        return None;
    }
    let parts = children(params.content, 4).ok()?;
    let mut hash = None;
    let mut mgf_hash = None;
    let mut salt = 20u64;
    for p in &parts {
        let inner = tlv(p.content).ok()?.0;
        match p.tag {
            0xa0 => hash = Some(alg_id(&inner).ok()?.0),
            0xa1 => {
                let (mgf, mp) = alg_id(&inner).ok()?;
                if mgf != oid::MGF1 {
                    return None;
                }
                mgf_hash = Some(alg_id(&mp?).ok()?.0);
            }
            0xa2 => {
                if inner.tag != 0x02 || inner.content.len() > 4 {
                    return None;
                }
                salt = inner
                    .content
                    .iter()
                    .fold(0u64, |a, &b| (a << 8) | u64::from(b));
            }
            0xa3 => {}
            _ => return None,
        }
    }
    let d = DigestAlgorithm::from_oid(&hash?)?;
    if mgf_hash? != d.oid() || salt != d.output_len() as u64 {
        return None;
    }
    Some(d)
}

/// Attributes in a SET OF Attribute content: (type, values).
fn attributes(content: &[u8]) -> Result<Vec<(ObjectIdentifier, Vec<Tlv<'_>>)>> {
    let mut out = Vec::new();
    for a in children(content, MAX_ATTRS)? {
        expect(Some(&a), 0x30, "Attribute is not a SEQUENCE")?;
        let parts = children(a.content, 2)?;
        let oid = oid_of(
            parts
                .first()
                .ok_or_else(|| asn1("attribute type missing"))?,
        )?;
        let values = parts
            .get(1)
            .ok_or_else(|| asn1("attribute values missing"))?;
        expect(Some(values), 0x31, "attribute values are not a SET")?;
        out.push((oid, children(values.content, MAX_ATTRS)?));
    }
    Ok(out)
}

/// Decode signed attributes given as DER (`SET OF Attribute`, tag 0x31, nothing after it) —
/// the bytes a remote signer or signing agent is asked to sign.
pub fn read_signed_attrs(der: &[u8]) -> Result<SignedAttrs> {
    let (set, rest) = tlv(der)?;
    expect(Some(&set), 0x31, "signed attributes are not a SET")?;
    if !rest.is_empty() {
        return Err(asn1("data after the signed attributes"));
    }
    decode_signed_attrs(set.content)
}

fn decode_signed_attrs(content: &[u8]) -> Result<SignedAttrs> {
    let mut sa = SignedAttrs::default();
    for (oid, values) in attributes(content)? {
        if sa.types.contains(&oid) {
            sa.oddities
                .push(format!("attribute {oid} appears more than once"));
        }
        sa.types.push(oid);
        if values.len() != 1 {
            sa.oddities
                .push(format!("attribute {oid} has {} values", values.len()));
        }
        let Some(v) = values.first() else { continue };
        let first = !sa.types.iter().rev().skip(1).any(|t| *t == oid);
        if !first {
            continue;
        }
        match oid {
            o if o == ID_CONTENT_TYPE => match oid_of(v) {
                Ok(ct) => sa.content_type = Some(ct),
                Err(_) => sa.oddities.push("content-type is not an OID".into()),
            },
            o if o == ID_MESSAGE_DIGEST => {
                if v.tag == 0x04 {
                    sa.message_digest = Some(v.content.to_vec());
                } else {
                    sa.oddities
                        .push("message-digest is not an OCTET STRING".into());
                }
            }
            o if o == ID_SIGNING_TIME => match x509_cert::time::Time::from_der(v.full) {
                Ok(t) => sa.signing_time = Some(t.to_system_time()),
                Err(_) => sa.oddities.push("signing-time is not a Time".into()),
            },
            o if o == ID_AA_SIGNING_CERTIFICATE => match ess_cert(v, false) {
                Ok(r) => sa.signing_certificate_v1 = r,
                Err(_) => sa.oddities.push("signing-certificate is unreadable".into()),
            },
            o if o == ID_AA_SIGNING_CERTIFICATE_V2 => match ess_cert(v, true) {
                Ok(r) => sa.signing_certificate_v2 = r,
                Err(_) => sa
                    .oddities
                    .push("signing-certificate-v2 is unreadable".into()),
            },
            o if o == ID_ADBE_REVOCATION_INFO_ARCHIVAL => {
                sa.revocation_archival = Some(v.full.to_vec());
            }
            o if o == ID_AA_CMS_ALGORITHM_PROTECTION => match algorithm_protection(v) {
                Ok(p) => sa.algorithm_protection = Some(p),
                Err(_) => sa
                    .oddities
                    .push("CMSAlgorithmProtection is unreadable".into()),
            },
            _ => {}
        }
    }
    Ok(sa)
}

/// CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1] IMPLICIT
/// OPTIONAL, macAlgorithm [2] IMPLICIT OPTIONAL }
fn algorithm_protection(v: &Tlv<'_>) -> Result<(ObjectIdentifier, Option<ObjectIdentifier>)> {
    expect(Some(v), 0x30, "CMSAlgorithmProtection is not a SEQUENCE")?;
    let parts = children(v.content, 3)?;
    let (digest, _) = alg_id(
        parts
            .first()
            .ok_or_else(|| asn1("digestAlgorithm missing"))?,
    )?;
    let mut sig = None;
    for p in parts.iter().skip(1) {
        if p.tag == 0xa1 {
            let inner = children(p.content, 2)?;
            sig = Some(oid_of(
                inner.first().ok_or_else(|| asn1("algorithm OID missing"))?,
            )?);
        }
    }
    Ok((digest, sig))
}

/// The first ESSCertID(v2) of a SigningCertificate(V2) value.
fn ess_cert(v: &Tlv<'_>, v2: bool) -> Result<Option<EssCertRef>> {
    expect(Some(v), 0x30, "SigningCertificate is not a SEQUENCE")?;
    let parts = children(v.content, 2)?;
    let certs = parts.first().ok_or_else(|| asn1("no certs"))?;
    expect(Some(certs), 0x30, "certs is not a SEQUENCE")?;
    let certs = children(certs.content, MAX_CERTS)?;
    let Some(id) = certs.first() else {
        return Ok(None);
    };
    expect(Some(id), 0x30, "ESSCertID is not a SEQUENCE")?;
    let fields = children(id.content, 3)?;
    let mut it = fields.iter().peekable();
    let hash_oid = if v2 {
        match it.next_if(|t| t.tag == 0x30) {
            Some(a) => alg_id(a)?.0,
            None => oid::SHA256,
        }
    } else {
        oid::SHA1
    };
    let h = it.next().ok_or_else(|| asn1("certHash missing"))?;
    expect(Some(h), 0x04, "certHash is not an OCTET STRING")?;
    let issuer_serial = match it.next() {
        Some(is) => {
            expect(Some(is), 0x30, "IssuerSerial is not a SEQUENCE")?;
            let p = children(is.content, 3)?;
            let names = p.first().ok_or_else(|| asn1("issuer missing"))?;
            let serial = p.get(1).ok_or_else(|| asn1("serial missing"))?;
            expect(Some(serial), 0x02, "serial is not an INTEGER")?;
            let mut dns = Vec::new();
            for gn in children(names.content, 16)? {
                if gn.tag == 0xa4 {
                    dns.push(gn.content.to_vec());
                }
            }
            Some((dns, serial.content.to_vec()))
        }
        None => None,
    };
    Ok(Some(EssCertRef {
        hash_oid,
        cert_hash: h.content.to_vec(),
        issuer_serial,
    }))
}

/// Same Name (decoded comparison).
fn same_name(der: &[u8], name: &Name) -> bool {
    match Name::from_der(der) {
        Ok(n) => &n == name,
        Err(_) => false,
    }
}

/// INTEGER content octets equal, ignoring redundant leading zero octets.
pub fn same_serial(a: &[u8], b: &[u8]) -> bool {
    fn trim(x: &[u8]) -> &[u8] {
        let mut x = x;
        while x.len() > 1 && x.first() == Some(&0) {
            x = x.get(1..).unwrap_or_default();
        }
        x
    }
    trim(a) == trim(b)
}

fn matches_sid(cert: &Cert, sid: &SignerId) -> bool {
    match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            same_serial(serial, cert.serial_bytes())
                && same_name(issuer, cert.inner().tbs_certificate().issuer())
        }
        SignerId::SubjectKeyId(ski) => cert.subject_key_id().as_deref() == Some(ski.as_slice()),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// Stable codes of the signer checks.
pub mod codes {
    pub const SIGNER_CERT_MISSING: &str = "SIGNER_CERT_MISSING";
    pub const BAD_CONTENT_TYPE: &str = "BAD_CONTENT_TYPE";
    pub const DIGEST_MISMATCH: &str = "DIGEST_MISMATCH";
    pub const SIGNING_CERT_MISMATCH: &str = "SIGNING_CERT_MISMATCH";
    pub const NO_SIGNING_CERT_ATTR: &str = "NO_SIGNING_CERT_ATTR";
    pub const BAD_SIGNATURE: &str = "BAD_SIGNATURE";
    pub const WEAK_ALGORITHM: &str = "WEAK_ALGORITHM";
    pub const UNSUPPORTED_ALGORITHM: &str = "UNSUPPORTED_ALGORITHM";
    pub const MULTIPLE_SIGNERS: &str = "MULTIPLE_SIGNERS";
    pub const SIGNING_TIME_PRESENT: &str = "SIGNING_TIME_PRESENT";
    pub const NO_SIGNED_ATTRS: &str = "NO_SIGNED_ATTRS";
    pub const ODD_ATTRIBUTES: &str = "ODD_ATTRIBUTES";
    /// CMSAlgorithmProtection names other algorithms than the SignerInfo (substitution).
    pub const ALGORITHM_PROTECTION_MISMATCH: &str = "ALGORITHM_PROTECTION_MISMATCH";
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed: the signature is not valid.
    Fail,
    /// Worth reporting, does not by itself invalidate the signature.
    Warn,
    /// Could not be run (e.g. no certificate to check the signature with).
    Skipped,
}

/// One check: its stable code (named after the failure it guards against), the outcome and
/// details in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub code: &'static str,
    pub status: Status,
    pub detail: String,
}

/// The result of [`verify_signer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerCheck {
    pub checks: Vec<Check>,
    /// Legacy algorithms the signature uses (see [`LegacyAlgorithm`]); for the caller's
    /// algorithm policy.
    pub legacy: Vec<LegacyAlgorithm>,
}

impl SignerCheck {
    fn push(&mut self, code: &'static str, status: Status, detail: impl Into<String>) {
        // One UNSUPPORTED_ALGORITHM, naming every algorithm that could not be used.
        if code == codes::UNSUPPORTED_ALGORITHM {
            if let Some(c) = self.checks.iter_mut().find(|c| c.code == code) {
                c.detail = format!("{}; {}", c.detail, detail.into());
                return;
            }
        }
        self.checks.push(Check {
            code,
            status,
            detail: detail.into(),
        });
    }
    /// Cryptographically intact: no check failed or was skipped, and the signature verified.
    pub fn is_intact(&self) -> bool {
        self.checks
            .iter()
            .all(|c| matches!(c.status, Status::Pass | Status::Warn))
            && self
                .checks
                .iter()
                .any(|c| c.code == codes::BAD_SIGNATURE && c.status == Status::Pass)
    }
    /// Some algorithm could not be verified (`UNSUPPORTED_ALGORITHM`): the outcome is not
    /// known, rather than bad.
    pub fn unsupported_algorithm(&self) -> bool {
        self.status(codes::UNSUPPORTED_ALGORITHM) == Some(Status::Skipped)
    }
    /// Codes of failed checks.
    pub fn failures(&self) -> Vec<&'static str> {
        self.codes(Status::Fail)
    }
    /// Codes of warnings.
    pub fn warnings(&self) -> Vec<&'static str> {
        self.codes(Status::Warn)
    }
    /// Codes of checks with `status`.
    pub fn codes(&self, status: Status) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.code)
            .collect()
    }
    /// The status of the check `code`, if it was reported.
    pub fn status(&self, code: &str) -> Option<Status> {
        self.checks
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.status)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SignerInfo's signature algorithm as kyso-x509 verifies it: the identifier as received,
/// except that a key-only OID (rsaEncryption, id-ecPublicKey, which some signers write) is
/// completed with the digest algorithm's hash, and a NULL after an ECDSA OID is dropped.
pub fn signature_identifier(parsed: &ParsedSignedData) -> AlgorithmIdentifierOwned {
    let o = parsed.signature_oid;
    let params = parsed
        .signature_params
        .as_deref()
        .and_then(|p| Any::from_der(p).ok());
    let with = |oid, parameters| AlgorithmIdentifierOwned { oid, parameters };
    let is_null = |p: &Option<Any>| {
        p.as_ref()
            .is_some_and(|a| der::Tagged::tag(a) == der::Tag::Null)
    };
    match (o, parsed.digest) {
        (o, Some(d)) if o == oid::RSA_ENCRYPTION => {
            let oid = match d {
                DigestAlgorithm::Sha1 => oid::SHA1_WITH_RSA,
                DigestAlgorithm::Sha256 => oid::SHA256_WITH_RSA,
                DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
            };
            with(oid, params)
        }
        (o, Some(d)) if o == oid::EC_PUBLIC_KEY => {
            let oid = match d {
                DigestAlgorithm::Sha1 => oid::ECDSA_SHA1,
                DigestAlgorithm::Sha256 => oid::ECDSA_SHA256,
                DigestAlgorithm::Sha384 => oid::ECDSA_SHA384,
                DigestAlgorithm::Sha512 => oid::ECDSA_SHA512,
            };
            with(oid, None)
        }
        (o, _)
            if [
                oid::ECDSA_SHA1,
                oid::ECDSA_SHA256,
                oid::ECDSA_SHA384,
                oid::ECDSA_SHA512,
            ]
            .contains(&o)
                && is_null(&params) =>
        {
            with(o, None)
        }
        (o, _) => with(o, params),
    }
}

/// A legacy algorithm that a signature which verified was made with. Not a failure here:
/// whether it is still acceptable is the caller's algorithm policy (it depends on when the
/// signature is proven to have existed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyAlgorithm {
    /// SHA-1, as the digest algorithm or inside the signature algorithm.
    Sha1,
    /// An RSA key below 2048 bits.
    RsaKey { bits: usize },
}

impl std::fmt::Display for LegacyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LegacyAlgorithm::Sha1 => f.write_str("SHA-1"),
            LegacyAlgorithm::RsaKey { bits } => write!(f, "RSA-{bits}"),
        }
    }
}

/// Check the signer of `parsed`. `content_digest_of(alg)` returns the digest of the signed
/// content (for PAdES: the byte ranges) with `alg`; it is called at most once. No trust, path
/// or revocation checking here.
///
/// Algorithms: any recognised hash (SHA-1 included) is computed and any signature kyso-x509
/// can verify is verified. A legacy algorithm (SHA-1, RSA below 2048 bits) in a signature is
/// a `WEAK_ALGORITHM` warning and listed in [`SignerCheck::legacy`] for the caller's policy. An
/// algorithm that cannot be verified at all gives `UNSUPPORTED_ALGORITHM` (status
/// [`Status::Skipped`]) and no claim about the digest or the signature that depends on it.
pub fn verify_signer(
    parsed: &ParsedSignedData,
    content_digest_of: impl Fn(DigestAlgorithm) -> Vec<u8>,
) -> SignerCheck {
    use codes::*;
    let mut r = SignerCheck::default();
    if parsed.signer_count != 1 {
        r.push(
            MULTIPLE_SIGNERS,
            Status::Warn,
            format!(
                "{} SignerInfos (PAdES expects one); the first is checked",
                parsed.signer_count
            ),
        );
    }
    let sig_alg = signature_identifier(parsed);
    // Signer certificate.
    let cert = parsed.signer_certificate();
    match cert {
        Some(c) => r.push(
            SIGNER_CERT_MISSING,
            Status::Pass,
            format!("signer: {}", c.subject_display()),
        ),
        None => r.push(
            SIGNER_CERT_MISSING,
            Status::Fail,
            "the signer's certificate is not in the signature",
        ),
    }
    // Algorithms: legacy ones are reported for the policy, unknown ones stop the checks that
    // need them.
    let sig_hash = kyso_x509::verify_sig::signature_hash(&sig_alg);
    let mut legacy = Vec::new();
    if parsed.digest.is_some_and(DigestAlgorithm::is_weak) || sig_hash == Some(SigHash::Sha1) {
        legacy.push(LegacyAlgorithm::Sha1);
    }
    if let Some(KeyKind::Rsa { bits }) = cert.map(Cert::key_kind) {
        if (1..MIN_RSA_BITS).contains(&bits) {
            legacy.push(LegacyAlgorithm::RsaKey { bits });
        }
    }
    if parsed.digest.is_none() {
        r.push(
            UNSUPPORTED_ALGORITHM,
            Status::Skipped,
            format!(
                "digest algorithm {} is not supported: the content cannot be checked",
                parsed.digest_oid
            ),
        );
    }

    let Some(attrs) = &parsed.signed_attrs else {
        // Legacy: the signature is over the content itself, hashed with the signature's hash.
        r.push(
            NO_SIGNED_ATTRS,
            Status::Warn,
            "no signed attributes (legacy PKCS#7): nothing binds the signer certificate",
        );
        let hash = sig_hash.and_then(|h| match h {
            SigHash::Sha1 => Some(DigestAlgorithm::Sha1),
            SigHash::Sha256 => Some(DigestAlgorithm::Sha256),
            SigHash::Sha384 => Some(DigestAlgorithm::Sha384),
            SigHash::Sha512 => Some(DigestAlgorithm::Sha512),
            _ => None,
        });
        match (cert, hash) {
            (Some(c), Some(d)) => {
                let digest = match &parsed.econtent {
                    Some(e) => d.digest(e),
                    None => content_digest_of(d),
                };
                let verified = kyso_x509::verify_sig::verify_signature_digest(
                    c,
                    &sig_alg,
                    &digest,
                    &parsed.signature,
                );
                signature_outcome(&mut r, verified, "signature over the content");
            }
            (Some(_), None) => unsupported_signature(&mut r, &sig_alg, "cannot be verified"),
            (None, _) => r.push(BAD_SIGNATURE, Status::Skipped, "cannot check the signature"),
        }
        weak_note(&mut r, &legacy);
        r.legacy = legacy;
        return r;
    };

    // Encapsulated content (a timestamp token's TSTInfo) is what is signed; otherwise the
    // detached content the caller hashes.
    let content_digest = parsed.digest.map(|d| match &parsed.econtent {
        Some(e) => d.digest(e),
        None => content_digest_of(d),
    });
    if !attrs.oddities.is_empty() {
        r.push(ODD_ATTRIBUTES, Status::Warn, attrs.oddities.join("; "));
    }
    match attrs.content_type {
        Some(ct) if ct == parsed.econtent_type && (ct == ID_DATA || !parsed.detached) => {
            r.push(BAD_CONTENT_TYPE, Status::Pass, ct.to_string())
        }
        Some(ct) => r.push(
            BAD_CONTENT_TYPE,
            Status::Fail,
            format!(
                "content-type {ct}, eContentType {} (expected id-data)",
                parsed.econtent_type
            ),
        ),
        None => r.push(
            BAD_CONTENT_TYPE,
            Status::Fail,
            "no content-type signed attribute",
        ),
    }
    match (&attrs.message_digest, &content_digest) {
        (Some(md), Some(cd)) if md == cd => {
            r.push(DIGEST_MISMATCH, Status::Pass, "the content is unchanged")
        }
        (Some(md), Some(cd)) => r.push(
            DIGEST_MISMATCH,
            Status::Fail,
            format!(
                "the content was modified after signing (signed digest {}, actual {})",
                hex(md),
                hex(cd)
            ),
        ),
        (None, _) => r.push(
            DIGEST_MISMATCH,
            Status::Fail,
            "no message-digest signed attribute",
        ),
        // Unsupported digest algorithm: reported above, no claim about the content.
        (Some(_), None) => {}
    }
    if let Some((d, s)) = &attrs.algorithm_protection {
        if *d != parsed.digest_oid || s.is_some_and(|s| s != parsed.signature_oid) {
            r.push(
                ALGORITHM_PROTECTION_MISMATCH,
                Status::Fail,
                format!(
                    "CMSAlgorithmProtection names {d} / {s:?}, the SignerInfo {} / {}",
                    parsed.digest_oid, parsed.signature_oid
                ),
            );
        } else {
            r.push(
                ALGORITHM_PROTECTION_MISMATCH,
                Status::Pass,
                "algorithms protected",
            );
        }
    }
    if attrs.signing_time.is_some() {
        r.push(
            SIGNING_TIME_PRESENT,
            Status::Warn,
            "a signing-time attribute is present (PAdES puts the claimed time in /M)",
        );
    }
    // Signing certificate reference.
    match (
        &attrs.signing_certificate_v2,
        &attrs.signing_certificate_v1,
        cert,
    ) {
        (None, None, _) => r.push(
            NO_SIGNING_CERT_ATTR,
            Status::Warn,
            "no signing-certificate(-v2) signed attribute",
        ),
        (v2, v1, Some(c)) => {
            let (which, e) = match (v2, v1) {
                (Some(e), _) => ("signing-certificate-v2", e),
                (None, Some(e)) => ("signing-certificate", e),
                (None, None) => return r,
            };
            match ess_matches(e, c) {
                Ok(()) => r.push(SIGNING_CERT_MISMATCH, Status::Pass, which),
                Err(why) => r.push(
                    SIGNING_CERT_MISMATCH,
                    Status::Fail,
                    format!("{which} does not name the signer certificate: {why}"),
                ),
            }
        }
        (_, _, None) => r.push(
            SIGNING_CERT_MISMATCH,
            Status::Skipped,
            "no signer certificate",
        ),
    }
    // The signature over the signed attributes as received.
    match (cert, &parsed.signed_attrs_der) {
        (Some(c), Some(bytes)) => {
            let verified =
                kyso_x509::verify_sig::verify_signature(c, &sig_alg, bytes, &parsed.signature);
            signature_outcome(&mut r, verified, "signature verifies");
        }
        _ => r.push(BAD_SIGNATURE, Status::Skipped, "cannot check the signature"),
    }
    weak_note(&mut r, &legacy);
    r.legacy = legacy;
    r
}

/// Report the outcome of verifying the signature value: verified, not verified (the value,
/// the key or the parameters are wrong), or not verifiable by kyso (an algorithm, parameters
/// or key it does not implement — never a claim that the signature is bad).
fn signature_outcome(
    r: &mut SignerCheck,
    verified: std::result::Result<kyso_x509::SigInfo, SigProblem>,
    ok: &str,
) {
    use codes::*;
    match verified {
        Ok(_) => r.push(BAD_SIGNATURE, Status::Pass, ok),
        Err(
            e @ (SigProblem::BadSignature | SigProblem::KeyMismatch | SigProblem::Malformed(_)),
        ) => r.push(BAD_SIGNATURE, Status::Fail, e.to_string()),
        Err(e) => r.push(
            UNSUPPORTED_ALGORITHM,
            Status::Skipped,
            format!("the signature cannot be verified: {e}"),
        ),
    }
}

fn unsupported_signature(r: &mut SignerCheck, alg: &AlgorithmIdentifierOwned, why: &str) {
    r.push(
        codes::UNSUPPORTED_ALGORITHM,
        Status::Skipped,
        format!("signature algorithm {} {why}", alg.oid),
    );
}

/// `WEAK_ALGORITHM`: a warning naming the legacy algorithms (the policy decides), else a pass.
fn weak_note(r: &mut SignerCheck, legacy: &[LegacyAlgorithm]) {
    if legacy.is_empty() {
        r.push(codes::WEAK_ALGORITHM, Status::Pass, "no legacy algorithm");
    } else {
        let names: Vec<String> = legacy.iter().map(ToString::to_string).collect();
        r.push(
            codes::WEAK_ALGORITHM,
            Status::Warn,
            format!(
                "legacy algorithm {} (acceptable only under the algorithm policy)",
                names.join(", ")
            ),
        );
    }
}

fn ess_matches(e: &EssCertRef, cert: &Cert) -> std::result::Result<(), String> {
    let actual = if e.hash_oid == oid::SHA1 {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der())
            .as_ref()
            .to_vec()
    } else {
        match DigestAlgorithm::from_oid(&e.hash_oid) {
            Some(d) => d.digest(cert.der()),
            None => return Err(format!("unsupported hash {}", e.hash_oid)),
        }
    };
    if actual != e.cert_hash {
        return Err("certificate hash differs".into());
    }
    if let Some((names, serial)) = &e.issuer_serial {
        let issuer = cert.inner().tbs_certificate().issuer();
        if !same_serial(serial, cert.serial_bytes()) {
            return Err("serial number differs".into());
        }
        if !names.iter().any(|n| same_name(n, issuer)) {
            return Err("issuer differs".into());
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    use crate::{SignedAttributes, SignedDataBuilder};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    fn signer() -> (Cert, EcdsaKeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec![]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Nguyễn Văn An");
        let cert = p.self_signed(&key).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
            .unwrap();
        (Cert::from_der(cert.der()).unwrap(), kp)
    }

    fn signed(content: &[u8], corrupt: bool) -> (Vec<u8>, Cert) {
        let (cert, kp) = signer();
        let alg = SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256);
        let attrs =
            SignedAttributes::pades(&DigestAlgorithm::Sha256.digest(content), alg, &cert).unwrap();
        let mut sig = kp
            .sign(&SystemRandom::new(), attrs.der())
            .unwrap()
            .as_ref()
            .to_vec();
        if corrupt {
            let n = sig.len() - 3;
            sig[n] ^= 1;
        }
        let b = SignedDataBuilder {
            signed_attrs: &attrs,
            algorithm: alg,
            signature: &sig,
            signer: &cert,
            chain: &[],
            unsigned_attrs: vec![],
        };
        (b.encode().unwrap(), cert)
    }

    #[test]
    fn the_certificate_count_is_limited() {
        let (cert, kp) = signer();
        let (other, _) = signer();
        let alg = SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256);
        let attrs = SignedAttributes::pades(&[0u8; 32], alg, &cert).unwrap();
        let sig = kp.sign(&SystemRandom::new(), attrs.der()).unwrap();
        let with = |extra: usize| {
            let chain = vec![other.clone(); extra];
            let b = SignedDataBuilder {
                signed_attrs: &attrs,
                algorithm: alg,
                signature: sig.as_ref(),
                signer: &cert,
                chain: &chain,
                unsigned_attrs: vec![],
            };
            parse_signed_data(&b.encode().unwrap())
        };
        // The signer plus MAX_CERTS - 1 others: accepted; one more: a clean error.
        assert_eq!(with(MAX_CERTS - 1).unwrap().certificates.len(), MAX_CERTS);
        assert!(with(MAX_CERTS).is_err());
    }

    #[test]
    fn kyso_cms_round_trip_verifies() {
        let content = b"the signed byte ranges";
        let (der, cert) = signed(content, false);
        let p = parse_signed_data(&der).unwrap();
        assert_eq!(p.signer_certificate(), Some(&cert));
        assert!(p.detached);
        assert_eq!(p.signer_count, 1);
        assert_eq!(
            p.signature_algorithm,
            Some(SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256))
        );
        let attrs = p.signed_attrs.as_ref().unwrap();
        assert_eq!(attrs.content_type, Some(ID_DATA));
        assert!(attrs.signing_certificate_v2.is_some());
        assert_eq!(
            attrs.algorithm_protection,
            Some((oid::SHA256, Some(oid::ECDSA_SHA256)))
        );
        assert!(attrs.signing_time.is_none());
        let r = verify_signer(&p, |d| d.digest(content));
        assert!(r.is_intact(), "{r:#?}");
        assert!(r.failures().is_empty());

        let r = verify_signer(&p, |d| d.digest(b"something else"));
        assert_eq!(r.failures(), vec![codes::DIGEST_MISMATCH]);
        assert!(!r.is_intact());
    }

    #[test]
    fn corrupted_signature_value_is_bad_signature() {
        let content = b"x";
        let (der, _) = signed(content, true);
        let p = parse_signed_data(&der).unwrap();
        let r = verify_signer(&p, |d| d.digest(content));
        assert_eq!(r.failures(), vec![codes::BAD_SIGNATURE]);
    }

    #[test]
    fn missing_signer_certificate_fails_closed() {
        let content = b"x";
        let (der, _) = signed(content, false);
        let mut p = parse_signed_data(&der).unwrap();
        p.certificates.clear();
        p.signer_cert = None;
        let r = verify_signer(&p, |d| d.digest(content));
        assert!(r.failures().contains(&codes::SIGNER_CERT_MISSING));
        assert_eq!(r.status(codes::BAD_SIGNATURE), Some(Status::Skipped));
        assert!(!r.is_intact());
    }

    #[test]
    fn legacy_signature_without_signed_attributes_verifies() {
        use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
        use cms::content_info::{CmsVersion, ContentInfo};
        use cms::signed_data::{
            CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
            SignerInfos,
        };
        use der::asn1::{OctetString, SetOfVec};
        use der::{Any, Encode};
        let content = b"legacy adbe.pkcs7.detached content";
        let (cert, kp) = signer();
        let alg = SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256);
        let sig = kp.sign(&SystemRandom::new(), content).unwrap();
        let tbs = cert.inner().tbs_certificate();
        let si = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: DigestAlgorithm::Sha256.identifier(),
            signed_attrs: None,
            signature_algorithm: alg.identifier().unwrap(),
            signature: OctetString::new(sig.as_ref()).unwrap(),
            unsigned_attrs: None,
        };
        let mut digest_algorithms = SetOfVec::new();
        digest_algorithms
            .insert(DigestAlgorithm::Sha256.identifier())
            .unwrap();
        let sd = SignedData {
            version: CmsVersion::V1,
            digest_algorithms,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(
                SetOfVec::from_iter([CertificateChoices::Certificate(cert.inner().clone())])
                    .unwrap(),
            )),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::from_iter([si]).unwrap()),
        };
        let der = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap();
        let p = parse_signed_data(&der).unwrap();
        assert!(p.signed_attrs.is_none());
        let r = verify_signer(&p, |d| d.digest(content));
        assert!(r.is_intact(), "{r:#?}");
        assert_eq!(r.warnings(), vec![codes::NO_SIGNED_ATTRS]);
        let r = verify_signer(&p, |d| d.digest(b"other"));
        assert_eq!(r.failures(), vec![codes::BAD_SIGNATURE]);
    }

    #[test]
    fn ber_indefinite_cms_verifies_after_normalisation() {
        // Re-encode the top-level ContentInfo and the [0] wrapper with indefinite lengths.
        let content = b"y";
        let (der, _) = signed(content, false);
        let (ci, _) = tlv(&der).unwrap();
        let parts = children(ci.content, 2).unwrap();
        let (sd, _) = tlv(parts[1].content).unwrap();
        let mut ber = vec![0x30, 0x80];
        ber.extend_from_slice(parts[0].full);
        ber.extend_from_slice(&[0xa0, 0x80]);
        ber.extend_from_slice(sd.full);
        ber.extend_from_slice(&[0, 0, 0, 0]);
        ber.extend_from_slice(&[0; 64]);
        assert!(parse_signed_data(&ber).is_err());
        let n = crate::ber::normalize(&ber, &crate::ber::BerLimits::default()).unwrap();
        assert!(n.reencoded());
        assert_eq!(&*n.der, &der[..]);
        let p = parse_signed_data(&n.der).unwrap();
        assert!(verify_signer(&p, |d| d.digest(content)).is_intact());
    }

    #[test]
    fn signature_algorithm_identifiers_map_back() {
        use DigestAlgorithm::*;
        for a in [
            SignatureAlgorithm::RsaPkcs1(Sha256),
            SignatureAlgorithm::RsaPkcs1(Sha512),
            SignatureAlgorithm::RsaPss(Sha256),
            SignatureAlgorithm::RsaPss(Sha384),
            SignatureAlgorithm::Ecdsa(Sha384),
        ] {
            use der::Encode;
            let der = a.identifier().unwrap().to_der().unwrap();
            let (t, _) = tlv(&der).unwrap();
            let (oid, params) = alg_id(&t).unwrap();
            assert_eq!(map_signature_algorithm(oid, params, None), Some(a));
        }
        // rsaEncryption takes the hash from the digest algorithm.
        assert_eq!(
            map_signature_algorithm(oid::RSA_ENCRYPTION, None, Some(Sha384)),
            Some(SignatureAlgorithm::RsaPkcs1(Sha384))
        );
        assert_eq!(
            map_signature_algorithm(oid::SHA1_WITH_RSA, None, None),
            None
        );
    }

    #[test]
    fn a_substituted_algorithm_is_caught_by_algorithm_protection() {
        let content = b"x";
        let (der, _) = signed(content, false);
        let mut p = parse_signed_data(&der).unwrap();
        p.signature_oid = oid::ECDSA_SHA384;
        p.signature_algorithm = Some(SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384));
        let r = verify_signer(&p, |d| d.digest(content));
        assert!(r.failures().contains(&codes::ALGORITHM_PROTECTION_MISMATCH));
    }

    #[test]
    fn an_unknown_digest_algorithm_is_unsupported_and_nothing_else() {
        let content = b"x";
        let (der, _) = signed(content, false);
        let mut p = parse_signed_data(&der).unwrap();
        // SHA-224: recognised by nobody here. The digest cannot be checked; the signature
        // over the signed attributes still verifies; no claim that the content changed.
        p.digest_oid = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4");
        p.digest = DigestAlgorithm::recognised(&p.digest_oid);
        assert_eq!(p.digest, None);
        p.signed_attrs.as_mut().unwrap().algorithm_protection = None;
        let r = verify_signer(&p, |d| d.digest(content));
        assert!(r.failures().is_empty(), "{r:#?}");
        assert_eq!(r.codes(Status::Skipped), vec![codes::UNSUPPORTED_ALGORITHM]);
        assert!(r.unsupported_algorithm());
        assert!(!r.is_intact());
        assert_eq!(r.status(codes::DIGEST_MISMATCH), None);
    }

    #[test]
    fn key_only_and_null_parameter_signature_identifiers_are_understood() {
        let content = b"x";
        let (der, _) = signed(content, false);
        let mut p = parse_signed_data(&der).unwrap();
        p.signed_attrs.as_mut().unwrap().algorithm_protection = None;
        // ecdsa-with-SHA256 followed by a NULL (some signers write one).
        p.signature_params = Some(vec![0x05, 0x00]);
        assert_eq!(signature_identifier(&p).parameters, None);
        assert!(verify_signer(&p, |d| d.digest(content)).is_intact());
        // id-ecPublicKey in place of the signature algorithm: the hash is the digest's.
        p.signature_oid = oid::EC_PUBLIC_KEY;
        p.signature_params = None;
        assert_eq!(signature_identifier(&p).oid, oid::ECDSA_SHA256);
        assert!(verify_signer(&p, |d| d.digest(content)).is_intact());
    }

    #[test]
    fn an_unknown_signature_algorithm_is_unsupported_and_nothing_else() {
        let content = b"x";
        let (der, _) = signed(content, false);
        let mut p = parse_signed_data(&der).unwrap();
        for o in ["1.3.6.1.4.1.99999.7", "2.16.840.1.101.3.4.3.2"] {
            p.signature_oid = ObjectIdentifier::new_unwrap(o);
            p.signature_algorithm = None;
            p.signed_attrs.as_mut().unwrap().algorithm_protection = None;
            let r = verify_signer(&p, |d| d.digest(content));
            assert!(r.failures().is_empty(), "{r:#?}");
            assert_eq!(r.codes(Status::Skipped), vec![codes::UNSUPPORTED_ALGORITHM]);
            assert_eq!(r.status(codes::BAD_SIGNATURE), None);
            assert_eq!(r.status(codes::DIGEST_MISMATCH), Some(Status::Pass));
        }
    }

    #[test]
    fn a_signing_certificate_naming_another_certificate_is_a_mismatch() {
        let content = b"x";
        let (der, _) = signed(content, false);
        let (other, _) = signer();
        let mut p = parse_signed_data(&der).unwrap();
        // Point the signer at a certificate the attribute does not name.
        p.certificates.push(other);
        p.signer_cert = Some(1);
        let r = verify_signer(&p, |d| d.digest(content));
        assert!(r.failures().contains(&codes::SIGNING_CERT_MISMATCH));
        assert!(r.failures().contains(&codes::BAD_SIGNATURE));
    }

    #[test]
    fn mutated_signatures_never_panic_and_normalising_is_idempotent() {
        let content = b"z";
        let (der, _) = signed(content, false);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut m = der.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % m.len();
                m[i] = match next() % 4 {
                    0 => 0x80,
                    1 => 0x00,
                    2 => m[i] ^ (1 << (next() % 8)),
                    _ => next() as u8,
                };
            }
            if next() % 8 == 0 {
                m.truncate((next() as usize) % m.len());
            }
            let Ok(n) = crate::ber::normalize(&m, &crate::ber::BerLimits::default()) else {
                continue;
            };
            let again = crate::ber::normalize(&n.der, &crate::ber::BerLimits::default()).unwrap();
            assert!(!again.reencoded());
            assert_eq!(&*again.der, &*n.der);
            if let Ok(p) = parse_signed_data(&n.der) {
                let _ = verify_signer(&p, |d| d.digest(content));
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30, 0x00],
            &[0x30, 0x03, 0x06, 0x01, 0x00],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x04, 0x02, 0x01],
        ] {
            assert!(parse_signed_data(bad).is_err());
        }
    }
}
