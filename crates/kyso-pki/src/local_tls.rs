//! The TLS certificate of a service on the user's own computer (the signing agent's
//! `wss://127.0.0.1`): a one-off CA, name-constrained to `localhost` and `127.0.0.1`, issues
//! the server certificate and its key is then thrown away — so the CA the user installs in the
//! browser's trust store can never vouch for anything else, even if the files are stolen.

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyUsagePurpose, NameConstraints, SanType,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::issue::KeyAlg;
use crate::{Error, Result};

/// How long the server certificate lives (Apple's platforms refuse TLS certificates valid for
/// more than 825 days, even under a locally installed root).
pub const SERVER_CERT_DAYS: i64 = 800;

/// A loopback server certificate and the CA to install.
#[derive(Debug)]
pub struct LocalTls {
    /// The CA certificate (PEM) the user adds to the browser's or system's trust store.
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server key (PKCS#8 PEM).
    pub key_pem: Zeroizing<String>,
    /// When the server certificate expires.
    pub not_after: OffsetDateTime,
}

/// Make a loopback CA (`ca_name` as its common name) and a server certificate for
/// `localhost`, `127.0.0.1` and `::1`, valid from `now`.
pub fn generate(ca_name: &str, now: OffsetDateTime) -> Result<LocalTls> {
    let err = |what: &str, e: rcgen::Error| Error::Issue(format!("{what}: {e}"));
    let start = now - Duration::minutes(5);
    let not_after = now + Duration::days(SERVER_CERT_DAYS);

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| err("CA", e))?;
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".to_owned()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 1], [255, 255, 255, 255])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                [0xff; 16],
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    ca.not_before = start;
    ca.not_after = not_after + Duration::days(1);
    let ca_key = KeyAlg::P256.generate()?;
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| err("CA", e))?;

    let mut server = CertificateParams::new(Vec::<String>::new()).map_err(|e| err("server", e))?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().map_err(|e| err("server name", e))?),
        SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
    ];
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = start;
    server.not_after = not_after;
    let key = KeyAlg::P256.generate()?;
    let issuer = Issuer::from_params(&ca, &ca_key);
    let cert = server
        .signed_by(&key, &issuer)
        .map_err(|e| err("server", e))?;
    // `ca_key` is dropped here and never written anywhere.
    Ok(LocalTls {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: Zeroizing::new(key.serialize_pem()),
        not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_server_certificate_chains_to_a_constrained_ca_for_loopback_only() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let t = generate("kyso agent (test)", now).unwrap();
        let ca = &kyso_x509::Cert::from_pem_chain(t.ca_pem.as_bytes()).unwrap()[0];
        let server = &kyso_x509::Cert::from_pem_chain(t.cert_pem.as_bytes()).unwrap()[0];
        assert!(ca.is_ca() && !server.is_ca());
        assert!(ca.is_issuer_of(server));
        assert!(ca.has_extension(const_oid::db::rfc5280::ID_CE_NAME_CONSTRAINTS));
        assert!(server.valid_at(now) && !server.valid_at(now + Duration::days(801)));
        assert!(t.key_pem.contains("PRIVATE KEY"));
    }
}
