//! Completing a certificate chain up to its root: the issuer of each certificate is looked
//! for among the certificates already at hand (the key container's, files the user named, the
//! trust anchors) and, where none is there, downloaded from the certificate's
//! authorityInfoAccess caIssuers URLs (plain HTTP through a [`Fetch`]: timeout, size cap,
//! in-process cache). An issuer is taken only when its name is the certificate's issuer name
//! and its key verifies the certificate's signature (no algorithm policy here: that is the
//! path validation's business). Each certificate of the result says where it came from.

use kyso_x509::verify_sig::check_cert_signature;
use kyso_x509::Cert;

use crate::fetch::Fetch;

/// Most CA certificates above the signer's.
pub const MAX_DEPTH: usize = 8;
/// Largest caIssuers answer accepted (one certificate, or a few in PEM).
pub const MAX_CA_CERT_BYTES: usize = 64 * 1024;
/// Most caIssuers URLs tried per certificate.
pub const MAX_AIA_URLS: usize = 4;

/// Where a certificate of a chain came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// The key container: the PKCS#12 file, the token, the remote signing service.
    Key,
    /// A file the user named (`--chain`).
    File(String),
    /// The signed document (CMS certificates, DSS).
    Document,
    /// A trust anchor (`--trust` or the trust store).
    TrustAnchor,
    /// Downloaded from this caIssuers URL.
    Aia(String),
}

impl CertSource {
    /// A stable code for reports (`key`, `file`, `document`, `trust_anchor`, `aia`).
    pub fn code(&self) -> &'static str {
        match self {
            CertSource::Key => "key",
            CertSource::File(_) => "file",
            CertSource::Document => "document",
            CertSource::TrustAnchor => "trust_anchor",
            CertSource::Aia(_) => "aia",
        }
    }
    /// The file or URL, when there is one.
    pub fn location(&self) -> Option<&str> {
        match self {
            CertSource::File(s) | CertSource::Aia(s) => Some(s),
            _ => None,
        }
    }
}

/// A certificate whose issuer could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingIssuer {
    /// The subject of the certificate whose issuer is missing.
    pub subject: String,
    /// The issuer's name, as that certificate gives it.
    pub issuer: String,
    /// What downloading from its caIssuers URLs gave (`URL: problem`), when it was tried.
    pub attempts: Vec<String>,
    /// caIssuers URLs the certificate names.
    pub urls: Vec<String>,
}

/// A chain completed as far as it goes.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The CA certificates above the signer's, issuer first, each with its source.
    pub chain: Vec<(Cert, CertSource)>,
    /// `None` when the chain ends at a self-issued root or a trust anchor.
    pub missing: Option<MissingIssuer>,
}

impl Completion {
    pub fn is_complete(&self) -> bool {
        self.missing.is_none()
    }
    /// The chain's certificates without their sources.
    pub fn certs(&self) -> Vec<Cert> {
        self.chain.iter().map(|(c, _)| c.clone()).collect()
    }
}

fn issues(issuer: &Cert, cert: &Cert) -> bool {
    issuer.der() != cert.der()
        && issuer.is_issuer_of(cert)
        && check_cert_signature(cert, issuer).is_ok()
}

/// Certificates from a caIssuers answer: DER (one certificate), PEM, or a "certs-only" CMS
/// SignedData (`.p7c`, RFC 5280 §4.2.2.1).
pub fn parse_ca_issuers(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    if bytes.len() > MAX_CA_CERT_BYTES {
        return Err(format!(
            "the answer is larger than {MAX_CA_CERT_BYTES} bytes"
        ));
    }
    match Cert::from_pem_or_der(bytes) {
        Ok(certs) => Ok(certs),
        Err(e) => certs_only(bytes).ok_or_else(|| e.to_string()),
    }
}

/// The certificates of a DER CMS SignedData (no signers needed); `None` when it is not one or
/// holds none.
fn certs_only(bytes: &[u8]) -> Option<Vec<Cert>> {
    use der::{Decode, Encode};
    let ci = cms::content_info::ContentInfo::from_der(bytes).ok()?;
    if ci.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return None;
    }
    let sd: cms::signed_data::SignedData = ci.content.decode_as().ok()?;
    let certs: Vec<Cert> = sd
        .certificates?
        .0
        .iter()
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Cert::from_der(&c.to_der().ok()?).ok(),
            _ => None,
        })
        .collect();
    (!certs.is_empty()).then_some(certs)
}

/// Complete the chain of `cert` from `pool` (tried in order), the `anchors`, and, when a
/// fetcher is given, the caIssuers URLs.
pub fn complete(
    cert: &Cert,
    pool: &[(Cert, CertSource)],
    anchors: &[Cert],
    fetcher: Option<&dyn Fetch>,
) -> Completion {
    let mut chain: Vec<(Cert, CertSource)> = Vec::new();
    let mut current = cert.clone();
    loop {
        if current.is_self_issued() || anchors.iter().any(|a| a.der() == current.der()) {
            return Completion {
                chain,
                missing: None,
            };
        }
        let seen = |c: &Cert| c.der() == cert.der() || chain.iter().any(|(x, _)| x == c);
        let mut found = pool
            .iter()
            .find(|(c, _)| !seen(c) && issues(c, &current))
            .cloned()
            .or_else(|| {
                anchors
                    .iter()
                    .find(|a| !seen(a) && issues(a, &current))
                    .map(|a| (a.clone(), CertSource::TrustAnchor))
            });
        let urls: Vec<String> = current
            .aia_ca_issuers_urls()
            .into_iter()
            .take(MAX_AIA_URLS)
            .collect();
        let mut attempts = Vec::new();
        if found.is_none() {
            if let Some(f) = fetcher {
                for url in &urls {
                    let got = f
                        .get_cached(url, &|_| true)
                        .map_err(|e| e.message)
                        .and_then(|b| parse_ca_issuers(&b));
                    match got {
                        Ok(certs) => {
                            match certs.into_iter().find(|c| !seen(c) && issues(c, &current)) {
                                Some(c) => {
                                    found = Some((c, CertSource::Aia(url.clone())));
                                    break;
                                }
                                None => attempts.push(format!(
                                    "{url}: the certificate there did not issue this one"
                                )),
                            }
                        }
                        Err(e) => attempts.push(format!("{url}: {e}")),
                    }
                }
            }
        }
        match found {
            Some(next) if chain.len() < MAX_DEPTH => {
                current = next.0.clone();
                chain.push(next);
            }
            _ => {
                return Completion {
                    chain,
                    missing: Some(MissingIssuer {
                        subject: current.subject_display(),
                        issuer: current.issuer_display(),
                        attempts,
                        urls,
                    }),
                }
            }
        }
    }
}

/// A signer whose chain is a completed one instead of its own.
struct ChainedSigner {
    inner: Box<dyn kyso_cms::Signer>,
    chain: Vec<Cert>,
}

impl kyso_cms::Signer for ChainedSigner {
    fn certificate(&self) -> &Cert {
        self.inner.certificate()
    }
    fn chain(&self) -> &[Cert] {
        &self.chain
    }
    fn algorithm(&self) -> kyso_cms::SignatureAlgorithm {
        self.inner.algorithm()
    }
    fn sign(&self, request: &kyso_cms::SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
        self.inner.sign(request)
    }
}

/// `signer` carrying `chain` (completed earlier by [`complete_signer`]) instead of its own.
pub fn with_chain(signer: Box<dyn kyso_cms::Signer>, chain: &[Cert]) -> Box<dyn kyso_cms::Signer> {
    if signer.chain() == chain {
        return signer;
    }
    Box::new(ChainedSigner {
        inner: signer,
        chain: chain.to_vec(),
    })
}

/// `signer` with its chain completed up to the root (see [`complete`]) from its own
/// certificates, `extra` ones (files the user named), the `anchors` and, when a fetcher is
/// given, the caIssuers URLs; the missing issuer when the chain stays incomplete.
#[tracing::instrument(name = "complete_chain", level = "debug", skip_all, fields(online = fetcher.is_some()))]
pub fn complete_signer(
    signer: Box<dyn kyso_cms::Signer>,
    extra: Vec<(Cert, CertSource)>,
    anchors: &[Cert],
    fetcher: Option<&dyn Fetch>,
) -> Result<Box<dyn kyso_cms::Signer>, MissingIssuer> {
    let mut pool: Vec<(Cert, CertSource)> = signer
        .chain()
        .iter()
        .map(|c| (c.clone(), CertSource::Key))
        .collect();
    pool.extend(extra);
    let done = complete(signer.certificate(), &pool, anchors, fetcher);
    if let Some(m) = done.missing {
        return Err(m);
    }
    Ok(with_chain(signer, &done.certs()))
}

/// For path validation: the CA certificates above `leaf` that only the caIssuers URLs supply
/// (the chain is completed from `pool` and `anchors` first), with the URL each came from.
pub fn fetch_missing(
    leaf: &Cert,
    pool: &[Cert],
    anchors: &[Cert],
    fetcher: &dyn Fetch,
) -> Vec<(Cert, String)> {
    let pool: Vec<(Cert, CertSource)> = pool
        .iter()
        .map(|c| (c.clone(), CertSource::Document))
        .collect();
    complete(leaf, &pool, anchors, Some(fetcher))
        .chain
        .into_iter()
        .filter_map(|(c, s)| match s {
            CertSource::Aia(url) => Some((c, url)),
            _ => None,
        })
        .collect()
}

/// Where a certificate of a validated path came from: a trust anchor, a caIssuers download
/// (`fetched`, from [`fetch_missing`]), else the document.
pub fn source_of(cert: &Cert, anchors: &[Cert], fetched: &[(Cert, String)]) -> CertSource {
    if anchors.iter().any(|a| a == cert) {
        CertSource::TrustAnchor
    } else if let Some((_, url)) = fetched.iter().find(|(c, _)| c == cert) {
        CertSource::Aia(url.clone())
    } else {
        CertSource::Document
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fetch::{FetchOptions, Fetcher};
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    struct Ca {
        cert: Cert,
        params: CertificateParams,
        key: KeyPair,
    }

    fn params(cn: &str, ca: bool, aia: Option<&str>) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        if let Some(url) = aia {
            // authorityInfoAccess { caIssuers URI } by hand (rcgen has no field for it).
            let uri = url.as_bytes();
            let mut ad = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
            ad.push(0x86);
            ad.push(uri.len() as u8);
            ad.extend_from_slice(uri);
            let mut seq = vec![0x30, ad.len() as u8];
            seq.extend(ad);
            let mut outer = vec![0x30, seq.len() as u8];
            outer.extend(seq);
            p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                outer,
            )];
        }
        p
    }

    fn root(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let p = params(cn, true, None);
        let cert = Cert::from_der(p.self_signed(&key).unwrap().der()).unwrap();
        Ca {
            cert,
            params: p,
            key,
        }
    }

    fn issue(by: &Ca, cn: &str, ca: bool, aia: Option<&str>) -> Ca {
        let key = KeyPair::generate().unwrap();
        let p = params(cn, ca, aia);
        let issuer = Issuer::from_params(&by.params, &by.key);
        let cert = Cert::from_der(p.signed_by(&key, &issuer).unwrap().der()).unwrap();
        Ca {
            cert,
            params: p,
            key,
        }
    }

    /// Serve `body` for every request on 127.0.0.1 (`n` requests), answering its URL.
    fn serve(body: Vec<u8>, n: usize) -> String {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().take(n) {
                let mut s = s.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            }
        });
        format!("http://127.0.0.1:{port}/ca.cer")
    }

    #[test]
    fn the_pool_and_the_anchors_complete_a_chain_in_order() {
        let r = root("Root");
        let i = issue(&r, "Intermediate", true, None);
        let ee = issue(&i, "Signer", false, None);
        let pool = vec![
            (i.cert.clone(), CertSource::Key),
            (r.cert.clone(), CertSource::File("root.pem".into())),
        ];
        let c = complete(&ee.cert, &pool, &[], None);
        assert!(c.is_complete());
        assert_eq!(c.certs(), vec![i.cert.clone(), r.cert.clone()]);
        assert_eq!(c.chain[1].1, CertSource::File("root.pem".into()));
        // The root as a trust anchor.
        let c = complete(&ee.cert, &pool[..1], std::slice::from_ref(&r.cert), None);
        assert!(c.is_complete());
        assert_eq!(c.chain[1].1, CertSource::TrustAnchor);
        // An intermediate trusted as an anchor ends the chain there.
        let c = complete(&ee.cert, &pool[..1], std::slice::from_ref(&i.cert), None);
        assert!(c.is_complete());
        assert_eq!(c.certs(), vec![i.cert.clone()]);
    }

    #[test]
    fn a_missing_issuer_is_named_and_a_namesake_with_another_key_is_not_taken() {
        let r = root("Root");
        let i = issue(&r, "Intermediate", true, None);
        let ee = issue(&i, "Signer", false, None);
        let impostor = root("Intermediate");
        let pool = vec![(impostor.cert.clone(), CertSource::Key)];
        let c = complete(&ee.cert, &pool, &[], None);
        let m = c.missing.expect("missing");
        assert_eq!(m.subject, "CN=Signer");
        assert_eq!(m.issuer, "CN=Intermediate");
        assert!(c.chain.is_empty());
        // The intermediate is there but not the root.
        let pool = vec![(i.cert.clone(), CertSource::Key)];
        let c = complete(&ee.cert, &pool, &[], None);
        assert_eq!(c.missing.unwrap().issuer, "CN=Root");
        assert_eq!(c.chain.len(), 1);
    }

    #[test]
    fn ca_issuers_urls_fill_the_gaps_and_failures_are_reported() {
        let r = root("Root");
        let root_url = serve(r.cert.der().to_vec(), 1);
        let i = issue(&r, "Intermediate", true, Some(&root_url));
        let int_url = serve(i.cert.to_pem().into_bytes(), 1);
        let ee = issue(&i, "Signer", false, Some(&int_url));
        let f = Fetcher::new(FetchOptions::default());
        let c = complete(&ee.cert, &[], &[], Some(&f));
        assert!(c.is_complete(), "{:?}", c.missing);
        assert_eq!(c.certs(), vec![i.cert.clone(), r.cert.clone()]);
        assert_eq!(c.chain[0].1, CertSource::Aia(int_url.clone()));
        assert_eq!(c.chain[1].1.code(), "aia");
        // Cached: both servers are gone (one request each), the answers are not.
        let c = complete(&ee.cert, &[], &[], Some(&f));
        assert!(c.is_complete());

        // Offline: the missing issuer and its URL are named.
        let c = complete(&ee.cert, &[], &[], None);
        let m = c.missing.unwrap();
        assert_eq!(m.urls, vec![int_url]);
        assert!(m.attempts.is_empty());

        // A URL serving something else, and one nobody answers.
        let other = root("Other");
        let wrong = serve(other.cert.der().to_vec(), 1);
        let ee2 = issue(&i, "Signer 2", false, Some(&wrong));
        let c = complete(&ee2.cert, &[], &[], Some(&f));
        let m = c.missing.unwrap();
        assert!(m.attempts[0].contains("did not issue"), "{:?}", m.attempts);
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://127.0.0.1:{}/x.cer", l.local_addr().unwrap().port())
        };
        let ee3 = issue(&i, "Signer 3", false, Some(&dead));
        let c = complete(&ee3.cert, &[], &[], Some(&f));
        assert_eq!(c.missing.unwrap().attempts.len(), 1);
        // A certs-only CMS (.p7c) holding the intermediate and the root.
        let p7c = {
            use der::{Decode, Encode};
            let set = [&i.cert, &r.cert].map(|c| {
                cms::cert::CertificateChoices::Certificate(
                    x509_cert::Certificate::from_der(c.der()).unwrap(),
                )
            });
            let sd = cms::signed_data::SignedData {
                version: cms::content_info::CmsVersion::V1,
                digest_algorithms: der::asn1::SetOfVec::new(),
                encap_content_info: cms::signed_data::EncapsulatedContentInfo {
                    econtent_type: const_oid::db::rfc5911::ID_DATA,
                    econtent: None,
                },
                certificates: Some(cms::signed_data::CertificateSet(
                    der::asn1::SetOfVec::from_iter(set).unwrap(),
                )),
                crls: None,
                signer_infos: cms::signed_data::SignerInfos(der::asn1::SetOfVec::new()),
            };
            cms::content_info::ContentInfo {
                content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
                content: der::Any::encode_from(&sd).unwrap(),
            }
            .to_der()
            .unwrap()
        };
        let got = parse_ca_issuers(&p7c).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.contains(&i.cert) && got.contains(&r.cert));
        let p7c_url = serve(p7c, 1);
        let ee4 = issue(&i, "Signer 4", false, Some(&p7c_url));
        let c = complete(
            &ee4.cert,
            &[],
            &[],
            Some(&Fetcher::new(FetchOptions::default())),
        );
        assert_eq!(c.chain[0].1, CertSource::Aia(p7c_url));
        // Garbage and oversized answers.
        assert!(parse_ca_issuers(b"<html>").is_err());
        assert!(parse_ca_issuers(&vec![0x30; MAX_CA_CERT_BYTES + 1]).is_err());
    }
}
