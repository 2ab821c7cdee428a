//! Checking RFC 5280 CRLs (`x509_cert::crl`): issued and signed by the certificate's issuer,
//! complete (no delta CRLs, no partitioned scopes), and whether it lists the certificate.

use der::{Decode, Encode};
use kyso_x509::Cert;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::CrlReason;

use crate::{CertState, Evidence, EvidenceKind, Problem};

/// Stable codes of CRL problems.
pub mod codes {
    pub const CRL_UNREADABLE: &str = "CRL_UNREADABLE";
    /// Another CA's CRL (not a problem when searching, just not applicable).
    pub const CRL_OTHER_ISSUER: &str = "CRL_OTHER_ISSUER";
    pub const CRL_BAD_SIGNATURE: &str = "CRL_BAD_SIGNATURE";
    /// A delta CRL, an indirect or reason-partitioned CRL, or a critical extension kyso does
    /// not understand.
    pub const CRL_UNSUPPORTED: &str = "CRL_UNSUPPORTED";
    /// The CRL covers another partition (other distribution point, only CA or only end-entity
    /// certificates).
    pub const CRL_OTHER_SCOPE: &str = "CRL_OTHER_SCOPE";
}

/// Check a DER CRL about `cert`, issued by `issuer`.
pub fn check_crl(
    der_bytes: &[u8],
    cert: &Cert,
    issuer: &Cert,
) -> std::result::Result<Evidence, Problem> {
    let unreadable = |e: &dyn std::fmt::Display| Problem::new(codes::CRL_UNREADABLE, e.to_string());
    let crl: CertificateList = CertificateList::from_der(der_bytes).map_err(|e| unreadable(&e))?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer != *issuer.inner().tbs_certificate().subject()
        || cert.inner().tbs_certificate().issuer() != &tbs.issuer
    {
        return Err(Problem::new(
            codes::CRL_OTHER_ISSUER,
            "the CRL is not issued by the certificate's issuer",
        ));
    }
    // Only complete CRLs whose scope covers this certificate: an issuing distribution point
    // is understood (RFC 5280 §5.2.5, §6.3.3); any other critical extension (a delta CRL
    // indicator, say) makes the CRL something kyso does not evaluate.
    for ext in tbs.crl_extensions.iter().flatten() {
        if ext.extn_id == const_oid::db::rfc5280::ID_CE_ISSUING_DISTRIBUTION_POINT {
            let idp = IssuingDistributionPoint::from_der(ext.extn_value.as_bytes())
                .map_err(|e| unreadable(&e))?;
            if let Some(why) = outside_scope(&idp, cert) {
                return Err(Problem::new(codes::CRL_OTHER_SCOPE, why));
            }
        } else if ext.critical {
            return Err(Problem::new(
                codes::CRL_UNSUPPORTED,
                format!("critical CRL extension {} is not supported", ext.extn_id),
            ));
        }
    }
    let signed = tbs.to_der().map_err(|e| unreadable(&e))?;
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| unreadable(&"signature BIT STRING has unused bits"))?;
    if crl.signature_algorithm != tbs.signature {
        return Err(unreadable(
            &"signatureAlgorithm differs from tbsCertList.signature",
        ));
    }
    let ku = issuer.key_usage();
    if ku.present && !ku.crl_sign {
        return Err(Problem::new(
            codes::CRL_BAD_SIGNATURE,
            format!("{} may not sign CRLs (keyUsage)", issuer.subject_display()),
        ));
    }
    kyso_x509::verify_sig::verify_signature(issuer, &crl.signature_algorithm, &signed, sig)
        .map_err(|e| Problem::new(codes::CRL_BAD_SIGNATURE, e.to_string()))?;

    let listed =
        tbs.revoked_certificates.iter().flatten().find(|r| {
            kyso_cms::verify::same_serial(r.serial_number.as_bytes(), cert.serial_bytes())
        });
    let state = match listed {
        Some(r) => {
            if r.crl_entry_extensions.iter().flatten().any(|e| e.critical) {
                return Err(Problem::new(
                    codes::CRL_UNSUPPORTED,
                    "a critical CRL entry extension (e.g. certificate issuer) is not supported",
                ));
            }
            let reason = r
                .crl_entry_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)
                .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok())
                .map(crate::reason_name);
            CertState::Revoked {
                time: r.revocation_date.to_system_time().into(),
                reason,
            }
        }
        None => CertState::Good,
    };
    let this_update: time::OffsetDateTime = tbs.this_update.to_system_time().into();
    Ok(Evidence {
        state,
        kind: EvidenceKind::Crl,
        this_update,
        next_update: tbs.next_update.map(|t| t.to_system_time().into()),
        issued_at: this_update,
        responder: issuer.subject_display(),
    })
}

/// Why a CRL with this issuing distribution point does not speak for `cert` (`None`: it does).
fn outside_scope(idp: &IssuingDistributionPoint, cert: &Cert) -> Option<String> {
    if idp.indirect_crl || idp.only_some_reasons.is_some() || idp.only_contains_attribute_certs {
        return Some("an indirect, reason-partitioned or attribute CRL (not supported)".into());
    }
    if idp.only_contains_ca_certs && !cert.is_ca() {
        return Some("the CRL covers CA certificates only".into());
    }
    if idp.only_contains_user_certs && cert.is_ca() {
        return Some("the CRL covers end-entity certificates only".into());
    }
    // The CRL's distribution point must be one the certificate names.
    if let Some(DistributionPointName::FullName(names)) = &idp.distribution_point {
        let crl_uris: Vec<String> = names.iter().filter_map(uri).collect();
        let cert_uris = cert.crl_distribution_points();
        if !crl_uris.is_empty() && !crl_uris.iter().any(|u| cert_uris.contains(u)) {
            return Some(format!(
                "the CRL is for {} which the certificate does not name",
                crl_uris.join(", ")
            ));
        }
    }
    None
}

fn uri(n: &GeneralName) -> Option<String> {
    match n {
        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        _ => None,
    }
}
