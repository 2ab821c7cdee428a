//! Issuing RFC 5280 CRLs (`kyso pki serve`, `/crl/*.crl`): a v2 `CertificateList` signed by the
//! CA, with the CRL number and authority key identifier extensions, and a reason code on each
//! entry.

use der::asn1::{BitString, OctetString};
use der::Encode;
use kyso_cms::{SignRequest, Signer};
use time::{Duration, OffsetDateTime};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason};
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;
use x509_cert::Version;

use crate::Result;

/// One revoked certificate on a CRL.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Serial number, big-endian magnitude.
    pub serial: Vec<u8>,
    pub time: OffsetDateTime,
    pub reason: Option<CrlReason>,
}

fn time(t: OffsetDateTime) -> Result<Time> {
    let secs = u64::try_from(t.unix_timestamp()).unwrap_or(0);
    let st = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    Ok(Time::try_from(st)?)
}

fn extension<T: Encode>(oid: der::asn1::ObjectIdentifier, value: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical: false,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// A DER CRL of the CA `signer` (its certificate is the issuer), numbered `number`, valid from
/// `now` for `validity`, listing `entries`.
pub fn issue(
    signer: &dyn Signer,
    number: u64,
    entries: &[Entry],
    now: OffsetDateTime,
    validity: Duration,
) -> Result<Vec<u8>> {
    let ca = signer.certificate();
    let alg = signer.algorithm();
    let cms_err = |e: kyso_cms::Error| crate::Error::Encoding(e.to_string());
    let signature_alg = alg.identifier().map_err(cms_err)?;
    let mut revoked: Vec<RevokedCert> = Vec::with_capacity(entries.len());
    for e in entries {
        let crl_entry_extensions = match e.reason {
            Some(r) => Some(vec![extension(
                const_oid::db::rfc5280::ID_CE_CRL_REASONS,
                &r,
            )?]),
            None => None,
        };
        revoked.push(RevokedCert {
            serial_number: SerialNumber::new(&e.serial)?,
            revocation_date: time(e.time)?,
            crl_entry_extensions,
        });
    }
    let mut crl_extensions = vec![extension(
        const_oid::db::rfc5280::ID_CE_CRL_NUMBER,
        &CrlNumber(der::asn1::Uint::new(&number.to_be_bytes())?),
    )?];
    if let Some(ski) = ca.subject_key_id() {
        crl_extensions.push(extension(
            const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ski)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    let tbs = TbsCertList {
        version: Version::V2,
        signature: signature_alg.clone(),
        issuer: ca.inner().tbs_certificate().subject().clone(),
        this_update: time(now)?,
        next_update: Some(time(now + validity)?),
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(revoked)
        },
        crl_extensions: Some(crl_extensions),
    };
    let tbs_der = tbs.to_der()?;
    let digest = alg.digest().digest(&tbs_der);
    let signature = signer
        .sign(&SignRequest {
            message: &tbs_der,
            digest: &digest,
            algorithm: alg,
        })
        .map_err(cms_err)?;
    Ok(CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signature_alg,
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsa::tests::TestSigner;
    use der::Decode;

    #[test]
    fn crl_round_trips() {
        let ca = TestSigner::new("CA");
        let now = time::macros::datetime!(2026-03-15 09:30:00 UTC);
        let entries = [Entry {
            serial: vec![0x80, 0x01],
            time: now - Duration::days(1),
            reason: Some(CrlReason::KeyCompromise),
        }];
        let der = issue(&ca, 7, &entries, now, Duration::days(1)).unwrap();
        let crl: CertificateList = CertificateList::from_der(&der).unwrap();
        let tbs = &crl.tbs_cert_list;
        assert_eq!(tbs.version, Version::V2);
        assert_eq!(
            &tbs.issuer,
            ca.certificate().inner().tbs_certificate().subject()
        );
        let revoked = tbs.revoked_certificates.as_ref().unwrap();
        assert_eq!(revoked.len(), 1);
        let r = revoked.first().unwrap();
        assert_eq!(
            r.serial_number.as_bytes(),
            [0x00, 0x80, 0x01],
            "DER: a leading zero"
        );
        let ext = r.crl_entry_extensions.as_ref().unwrap().first().unwrap();
        assert_eq!(
            CrlReason::from_der(ext.extn_value.as_bytes()).unwrap(),
            CrlReason::KeyCompromise
        );
        let number = tbs
            .crl_extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
            .unwrap();
        assert_eq!(
            CrlNumber::from_der(number.extn_value.as_bytes())
                .unwrap()
                .0
                .as_bytes(),
            [7]
        );
        kyso_cms::SignatureAlgorithm::Ecdsa(kyso_cms::DigestAlgorithm::Sha256)
            .verify(
                ca.certificate(),
                &tbs.to_der().unwrap(),
                crl.signature.raw_bytes(),
            )
            .unwrap();
        // No entries: the field is absent.
        let der = issue(&ca, 1, &[], now, Duration::days(1)).unwrap();
        let crl: CertificateList = CertificateList::from_der(&der).unwrap();
        assert!(crl.tbs_cert_list.revoked_certificates.is_none());
    }
}
