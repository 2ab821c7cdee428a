//! The story: a small government-style PKI (root → "CA phục vụ các cơ quan Nhà nước" →
//! signer) is built once with rcgen, and each test bends one thing — time, constraints,
//! key usage, names, keys — and checks the verdict the verifier will show.

// `&[cert.clone()]` reads better than `std::slice::from_ref(&cert)` in these stories.
#![allow(clippy::cloned_ref_to_slice_refs)]

use std::sync::OnceLock;

use rcgen::{
    BasicConstraints as Bc, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa,
    Issuer, KeyPair, KeyUsagePurpose as Ku, RsaKeySize, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, PKCS_RSA_SHA384,
};
use time::macros::datetime;
use time::OffsetDateTime;

use super::*;
use crate::verify_sig::{check_cert_signature, verify_cert_signature};

/// The signing time used by most tests.
const AT: OffsetDateTime = datetime!(2025-06-01 0:00 UTC);

struct Node {
    params: CertificateParams,
    key: KeyPair,
    cert: Cert,
}

impl Node {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, "Ban Cơ yếu Chính phủ");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => Bc::Constrained(n),
        None => Bc::Unconstrained,
    });
    p.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign];
    p.not_before = datetime!(2015-01-01 0:00 UTC);
    p.not_after = datetime!(2045-01-01 0:00 UTC);
    p.use_authority_key_identifier_extension = true;
    p
}

/// A signer's certificate valid 2024–2027, without AKI so that only names link it.
fn leaf_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.key_usages = vec![Ku::DigitalSignature, Ku::ContentCommitment];
    p.not_before = datetime!(2024-01-01 0:00 UTC);
    p.not_after = datetime!(2027-01-01 0:00 UTC);
    p
}

fn ec256() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap()
}

fn self_signed(params: CertificateParams, key: KeyPair) -> Node {
    let der = params.self_signed(&key).unwrap();
    let cert = Cert::from_der(der.der()).unwrap();
    Node { params, key, cert }
}

fn issue(params: CertificateParams, key: KeyPair, by: &Node) -> Node {
    let der = params.signed_by(&key, &by.issuer()).unwrap();
    let cert = Cert::from_der(der.der()).unwrap();
    Node { params, key, cert }
}

struct Pki {
    root: Node,
    inter: Node,
    leaf: Node,
}

/// ECDSA: root P-384, intermediate and signer P-256.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root = self_signed(
            ca_params("RootCA chuyên dùng Chính phủ (test)", None),
            KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap(),
        );
        let inter = issue(
            ca_params("CA phục vụ các cơ quan Nhà nước (test)", Some(0)),
            ec256(),
            &root,
        );
        let leaf = issue(leaf_params("Nguyễn Văn A"), ec256(), &inter);
        Pki { root, inter, leaf }
    })
}

fn trust(root: &Node) -> TrustStore {
    TrustStore::from_certs([root.cert.clone()])
}

fn problems(report: &PathReport) -> Vec<PathProblem> {
    match &report.status {
        PathStatus::Invalid(p) => p.clone(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn run(leaf: &Cert, pool: &[Cert], root: &Node, at: OffsetDateTime) -> PathReport {
    build_and_validate(leaf, pool, &trust(root), &PathPolicy::new(at))
}

#[test]
fn a_good_chain_is_valid_at_the_signing_time() {
    let p = pki();
    let report = run(&p.leaf.cert, &[p.inter.cert.clone()], &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);
    assert!(report.status.codes().is_empty());
    assert_eq!(
        report.chain,
        vec![
            p.leaf.cert.clone(),
            p.inter.cert.clone(),
            p.root.cert.clone()
        ]
    );
    assert!(report.notes.is_empty());
    // The CMS may carry the root too, and unrelated certificates: same answer.
    let noisy = [
        p.root.cert.clone(),
        self_signed(ca_params("Unrelated", None), ec256()).cert,
        p.leaf.cert.clone(),
        p.inter.cert.clone(),
    ];
    let report = run(&p.leaf.cert, &noisy, &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);
    assert_eq!(report.chain.len(), 3);
}

#[test]
fn signatures_verify_directly() {
    let p = pki();
    assert_eq!(verify_cert_signature(&p.leaf.cert, &p.inter.cert), Ok(()));
    assert_eq!(verify_cert_signature(&p.inter.cert, &p.root.cert), Ok(()));
    assert_eq!(verify_cert_signature(&p.root.cert, &p.root.cert), Ok(()));
    assert_eq!(
        verify_cert_signature(&p.leaf.cert, &p.root.cert),
        Err(SigProblem::BadSignature)
    );
    let info = check_cert_signature(&p.inter.cert, &p.root.cert).unwrap();
    assert_eq!(info.hash, SigHash::Sha384);
    assert_eq!(info.rsa_bits, None);
}

struct RsaPki {
    root: Node,
    inter: Node,
    leaf: Node,
}

/// RSA: root 3072 bits (SHA-384), intermediate 2048 bits (SHA-256), signer P-256.
fn rsa_pki() -> &'static RsaPki {
    static PKI: OnceLock<RsaPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root = self_signed(
            ca_params("Root RSA (test)", None),
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA384, RsaKeySize::_3072).unwrap(),
        );
        let inter = issue(
            ca_params("Sub-CA RSA (test)", None),
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap(),
            &root,
        );
        let leaf = issue(leaf_params("Trần Thị B"), ec256(), &inter);
        RsaPki { root, inter, leaf }
    })
}

#[test]
fn rsa_chains_verify_with_pkcs1() {
    let p = rsa_pki();
    assert_eq!(p.root.cert.rsa_modulus_bits(), Some(3072));
    assert_eq!(p.inter.cert.rsa_modulus_bits(), Some(2048));
    let info = check_cert_signature(&p.inter.cert, &p.root.cert).unwrap();
    assert_eq!(
        (info.hash, info.pss, info.rsa_bits),
        (SigHash::Sha384, false, Some(3072))
    );
    let info = check_cert_signature(&p.leaf.cert, &p.inter.cert).unwrap();
    assert_eq!((info.hash, info.rsa_bits), (SigHash::Sha256, Some(2048)));
    let report = run(&p.leaf.cert, &[p.inter.cert.clone()], &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);
    // A policy asking for 3072-bit RSA rejects the 2048-bit intermediate.
    let mut strict = PathPolicy::new(AT);
    strict.min_rsa_bits = 3072;
    let report = build_and_validate(
        &p.leaf.cert,
        &[p.inter.cert.clone()],
        &trust(&p.root),
        &strict,
    );
    assert_eq!(
        problems(&report),
        vec![PathProblem::WeakKey {
            index: 1,
            bits: 2048
        }]
    );
    assert_eq!(report.status.codes(), vec!["WEAK_KEY"]);
    // Wrong key type: an ECDSA issuer cannot have made an RSA signature.
    assert_eq!(
        verify_cert_signature(&p.inter.cert, &pki().root.cert),
        Err(SigProblem::KeyMismatch)
    );
}

/// A signer's certificate that expired in 2022.
fn old_leaf() -> &'static Node {
    static LEAF: OnceLock<Node> = OnceLock::new();
    LEAF.get_or_init(|| {
        let mut params = leaf_params("Lê Văn C (2020–2022)");
        params.not_before = datetime!(2020-01-01 0:00 UTC);
        params.not_after = datetime!(2022-01-01 0:00 UTC);
        issue(params, ec256(), &pki().inter)
    })
}

#[test]
fn a_signer_certificate_expired_at_the_signing_time_is_invalid() {
    let p = pki();
    let report = run(&old_leaf().cert, &[p.inter.cert.clone()], &p.root, AT);
    assert_eq!(
        problems(&report),
        vec![PathProblem::Expired {
            index: 0,
            not_after: datetime!(2022-01-01 0:00 UTC)
        }]
    );
    assert_eq!(report.status.codes(), vec!["CERT_EXPIRED"]);
    assert_eq!(report.chain.len(), 3, "the failing path is still shown");
}

#[test]
#[allow(clippy::disallowed_methods)] // the point of this test is "now" versus the signing time
fn validation_is_at_the_signing_time_not_now() {
    let p = pki();
    let pool = [p.inter.cert.clone()];
    // Signed in 2021, when the certificate was valid: valid, although it has expired since.
    let signed = run(
        &old_leaf().cert,
        &pool,
        &p.root,
        datetime!(2021-06-01 0:00 UTC),
    );
    assert_eq!(signed.status, PathStatus::Valid);
    let now = run(&old_leaf().cert, &pool, &p.root, OffsetDateTime::now_utc());
    assert_eq!(now.status.codes(), vec!["CERT_EXPIRED"]);
    // Before the certificate existed.
    let early = run(
        &old_leaf().cert,
        &pool,
        &p.root,
        datetime!(2019-06-01 0:00 UTC),
    );
    assert_eq!(
        problems(&early),
        vec![PathProblem::NotYetValid {
            index: 0,
            not_before: datetime!(2020-01-01 0:00 UTC)
        }]
    );
    assert_eq!(early.status.codes(), vec!["CERT_NOT_YET_VALID"]);
}

#[test]
fn an_intermediate_without_ca_flag_cannot_issue() {
    let p = pki();
    let mut params = ca_params("Not really a CA", None);
    params.is_ca = IsCa::ExplicitNoCa;
    let fake = issue(params, ec256(), &p.root);
    let leaf = issue(leaf_params("Signer under a non-CA"), ec256(), &fake);
    let report = run(&leaf.cert, &[fake.cert.clone()], &p.root, AT);
    assert_eq!(problems(&report), vec![PathProblem::NotACa { index: 1 }]);
    assert_eq!(report.status.codes(), vec!["NOT_A_CA"]);
}

#[test]
fn path_length_zero_forbids_a_further_ca() {
    let p = pki();
    // The intermediate has pathLen 0, yet issues another CA, which issues the signer.
    let sub = issue(ca_params("Sub-sub CA", None), ec256(), &p.inter);
    let leaf = issue(leaf_params("Signer too deep"), ec256(), &sub);
    let report = run(
        &leaf.cert,
        &[sub.cert.clone(), p.inter.cert.clone()],
        &p.root,
        AT,
    );
    assert_eq!(
        problems(&report),
        vec![PathProblem::PathTooLong { index: 2, max: 0 }]
    );
    assert_eq!(report.status.codes(), vec!["PATH_TOO_LONG"]);
    assert_eq!(report.chain.len(), 4);
}

#[test]
fn an_issuer_without_key_cert_sign_cannot_issue() {
    let p = pki();
    let mut params = ca_params("CA with signing-only key usage", None);
    params.key_usages = vec![Ku::DigitalSignature];
    let ca = issue(params, ec256(), &p.root);
    let leaf = issue(leaf_params("Signer"), ec256(), &ca);
    let report = run(&leaf.cert, &[ca.cert.clone()], &p.root, AT);
    assert_eq!(
        problems(&report),
        vec![PathProblem::IssuerKeyUsage { index: 1 }]
    );
    assert_eq!(report.status.codes(), vec!["KEY_USAGE"]);
}

#[test]
fn a_signer_key_for_encryption_only_cannot_sign() {
    let p = pki();
    let mut params = leaf_params("Encryption-only key");
    params.key_usages = vec![Ku::KeyEncipherment];
    let leaf = issue(params, ec256(), &p.inter);
    let report = run(&leaf.cert, &[p.inter.cert.clone()], &p.root, AT);
    assert_eq!(problems(&report), vec![PathProblem::LeafKeyUsage]);
    assert_eq!(report.status.codes(), vec!["KEY_USAGE"]);
    // A policy that does not look at the signer's key usage accepts it.
    let mut lax = PathPolicy::new(AT);
    lax.require_leaf_ku = false;
    let report = build_and_validate(&leaf.cert, &[p.inter.cert.clone()], &trust(&p.root), &lax);
    assert_eq!(report.status, PathStatus::Valid);
}

#[test]
fn a_signer_without_key_usage_is_valid_with_a_note() {
    let p = pki();
    let mut params = leaf_params("No key usage");
    params.key_usages = Vec::new();
    let leaf = issue(params, ec256(), &p.inter);
    let report = run(&leaf.cert, &[p.inter.cert.clone()], &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);
    assert_eq!(report.notes, vec![PathNote::LeafWithoutKeyUsage]);
}

#[test]
fn a_forged_signer_certificate_naming_the_real_issuer_fails_its_signature() {
    let p = pki();
    // The forger has a CA with the same name as the real intermediate but another key.
    let forger = self_signed(
        ca_params("CA phục vụ các cơ quan Nhà nước (test)", Some(0)),
        ec256(),
    );
    let forged = issue(leaf_params("Nguyễn Văn A"), ec256(), &forger);
    assert_eq!(
        forged.cert.issuer_der().unwrap(),
        p.inter.cert.subject_der().unwrap()
    );
    assert_eq!(
        verify_cert_signature(&forged.cert, &p.inter.cert),
        Err(SigProblem::BadSignature)
    );
    let report = run(&forged.cert, &[p.inter.cert.clone()], &p.root, AT);
    let found = problems(&report);
    assert!(
        matches!(
            found.as_slice(),
            [PathProblem::BadSignature { index: 0, .. }]
        ),
        "{found:?}"
    );
    assert_eq!(report.status.codes(), vec!["BAD_CERT_SIGNATURE"]);
    // Even with the forger's CA in the pool, it does not lead to the anchor.
    let report = run(
        &forged.cert,
        &[forger.cert.clone(), p.inter.cert.clone()],
        &p.root,
        AT,
    );
    assert_eq!(report.status.codes(), vec!["BAD_CERT_SIGNATURE"]);
}

#[test]
fn an_unknown_critical_extension_invalidates_and_a_non_critical_one_does_not() {
    let p = pki();
    let oid_arcs = [1, 3, 6, 1, 4, 1, 99999, 1];
    let mut params = leaf_params("Critical extension");
    let mut ext = CustomExtension::from_oid_content(&oid_arcs, vec![0x05, 0x00]);
    ext.set_criticality(true);
    params.custom_extensions = vec![ext];
    let leaf = issue(params, ec256(), &p.inter);
    let report = run(&leaf.cert, &[p.inter.cert.clone()], &p.root, AT);
    assert_eq!(
        problems(&report),
        vec![PathProblem::UnknownCriticalExtension {
            index: 0,
            oid: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1")
        }]
    );
    assert_eq!(report.status.codes(), vec!["UNKNOWN_CRITICAL_EXTENSION"]);

    let mut params = leaf_params("Non-critical extension");
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &oid_arcs,
        vec![0x05, 0x00],
    )];
    let leaf = issue(params, ec256(), &p.inter);
    assert_eq!(
        run(&leaf.cert, &[p.inter.cert.clone()], &p.root, AT).status,
        PathStatus::Valid
    );
}

#[test]
fn a_missing_intermediate_means_no_anchor() {
    let p = pki();
    let report = run(&p.leaf.cert, &[], &p.root, AT);
    assert_eq!(report.status, PathStatus::NoAnchor);
    assert_eq!(report.status.codes(), vec!["UNTRUSTED_ROOT"]);
    assert_eq!(report.chain, vec![p.leaf.cert.clone()]);
    // An unrelated trust store: the partial path is reported.
    let other = self_signed(ca_params("Other root", None), ec256());
    let report = run(&p.leaf.cert, &[p.inter.cert.clone()], &other, AT);
    assert_eq!(report.status, PathStatus::NoAnchor);
    assert_eq!(
        report.chain,
        vec![p.leaf.cert.clone(), p.inter.cert.clone()]
    );
}

#[test]
fn a_rekeyed_ca_with_the_same_name_is_found_as_the_second_candidate() {
    let p = pki();
    let old = issue(ca_params("CA G2 (test)", None), ec256(), &p.root);
    let new = issue(ca_params("CA G2 (test)", None), ec256(), &p.root);
    let leaf = issue(leaf_params("Signed by the new key"), ec256(), &new);
    for pool in [
        vec![old.cert.clone(), new.cert.clone()],
        vec![new.cert.clone(), old.cert.clone()],
    ] {
        let report = run(&leaf.cert, &pool, &p.root, AT);
        assert_eq!(report.status, PathStatus::Valid);
        assert_eq!(report.chain.get(1), Some(&new.cert));
    }
    // With only the old certificate the signature fails.
    let report = run(&leaf.cert, &[old.cert.clone()], &p.root, AT);
    assert_eq!(report.status.codes(), vec!["BAD_CERT_SIGNATURE"]);
    // With an AKI in the signer's certificate the right one is picked directly.
    let mut params = leaf_params("Signed by the new key, with AKI");
    params.use_authority_key_identifier_extension = true;
    let leaf = issue(params, ec256(), &new);
    assert_eq!(leaf.cert.authority_key_id(), new.cert.subject_key_id());
    let report = run(
        &leaf.cert,
        &[old.cert.clone(), new.cert.clone()],
        &p.root,
        AT,
    );
    assert_eq!(report.status, PathStatus::Valid);
}

#[test]
fn cross_signed_cas_without_an_anchor_do_not_loop() {
    let p = pki();
    let (x_params, x_key) = (ca_params("Cross X", None), ec256());
    let (y_params, y_key) = (ca_params("Cross Y", None), ec256());
    let x_by_y = x_params
        .signed_by(&x_key, &Issuer::from_params(&y_params, &y_key))
        .unwrap();
    let y_by_x = y_params
        .signed_by(&y_key, &Issuer::from_params(&x_params, &x_key))
        .unwrap();
    let x = Node {
        cert: Cert::from_der(x_by_y.der()).unwrap(),
        params: x_params,
        key: x_key,
    };
    let y = Cert::from_der(y_by_x.der()).unwrap();
    let leaf = issue(leaf_params("Signer under X"), ec256(), &x);
    let report = run(&leaf.cert, &[x.cert.clone(), y.clone()], &p.root, AT);
    assert_eq!(report.status, PathStatus::NoAnchor);
    assert_eq!(report.chain.len(), 3);

    // Now X is also cross-certified by the root: the path goes through that certificate.
    let x_by_root = issue(
        x.params.clone(),
        KeyPair::from_pem(&x.key.serialize_pem()).unwrap(),
        &p.root,
    );
    let pool = [x.cert.clone(), y, x_by_root.cert.clone()];
    let report = run(&leaf.cert, &pool, &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);
    assert_eq!(
        report.chain,
        vec![
            leaf.cert.clone(),
            x_by_root.cert.clone(),
            p.root.cert.clone()
        ]
    );
}

#[test]
fn the_depth_limit_stops_long_paths() {
    let p = pki();
    let a = issue(ca_params("Depth A", None), ec256(), &p.root);
    let b = issue(ca_params("Depth B", None), ec256(), &a);
    let c = issue(ca_params("Depth C", None), ec256(), &b);
    let leaf = issue(leaf_params("Deep signer"), ec256(), &c);
    let pool = [a.cert.clone(), b.cert.clone(), c.cert.clone()];
    assert_eq!(
        run(&leaf.cert, &pool, &p.root, AT).status,
        PathStatus::Valid
    );
    let mut shallow = PathPolicy::new(AT);
    shallow.max_depth = 4;
    let report = build_and_validate(&leaf.cert, &pool, &trust(&p.root), &shallow);
    assert_eq!(report.status, PathStatus::NoAnchor);
}

#[test]
fn anchors_match_by_subject_and_key_and_may_be_the_signer_itself() {
    let p = pki();
    // The trust store holds a re-issued root (same name and key, other dates).
    let mut params = p.root.params.clone();
    params.not_after = datetime!(2050-01-01 0:00 UTC);
    let reissued = self_signed(
        params,
        KeyPair::from_pem(&p.root.key.serialize_pem()).unwrap(),
    );
    assert_ne!(reissued.cert, p.root.cert);
    let store = TrustStore::from_certs([reissued.cert.clone()]);
    assert!(store.is_anchor(&p.root.cert));
    let pool = [p.root.cert.clone(), p.inter.cert.clone()];
    let report = build_and_validate(&p.leaf.cert, &pool, &store, &PathPolicy::new(AT));
    assert_eq!(report.status, PathStatus::Valid);
    assert_eq!(report.chain.last(), Some(&reissued.cert));

    // The anchor is the signer's direct issuer.
    let direct = issue(leaf_params("Directly under the root"), ec256(), &p.root);
    let report = run(&direct.cert, &[], &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);
    assert_eq!(report.chain.len(), 2);

    // A trusted self-signed signer certificate.
    let mut params = leaf_params("Self-signed signer");
    params.not_before = datetime!(2024-01-01 0:00 UTC);
    let me = self_signed(params, ec256());
    let report = build_and_validate(
        &me.cert,
        &[],
        &TrustStore::from_certs([me.cert.clone()]),
        &PathPolicy::new(AT),
    );
    assert_eq!(report.status, PathStatus::Valid);
    assert_eq!(report.chain, vec![me.cert.clone()]);
}

#[test]
fn trust_store_reads_pem_files() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roots.pem");
    std::fs::write(
        &path,
        format!("{}{}", p.root.cert.to_pem(), rsa_pki().root.cert.to_pem()),
    )
    .unwrap();
    let store = TrustStore::from_pem_files(&[&path]).unwrap();
    assert_eq!(store.len(), 2);
    assert!(matches!(
        TrustStore::from_pem_files(&[dir.path().join("missing.pem")]),
        Err(Error::Io { .. })
    ));
}

#[test]
fn certificate_helpers_for_the_verifier() {
    let p = pki();
    let mut params = leaf_params("Helpers");
    params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
        uris: vec!["http://crl.ca.gov.vn/test.crl".into()],
    }];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::TimeStamping];
    // authorityInfoAccess: OCSP and caIssuers URIs.
    let access = |method: u8, uri: &str| {
        let mut oid = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, method];
        oid.extend(tlv(0x86, uri.as_bytes()));
        tlv(0x30, &oid)
    };
    let aia = tlv(
        0x30,
        &[
            access(1, "http://ocsp.ca.test"),
            access(2, "http://ca.test/c.crt"),
        ]
        .concat(),
    );
    let nocheck =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 5], vec![0x05, 0x00]);
    params.custom_extensions = vec![
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], aia),
        nocheck,
    ];
    params.use_authority_key_identifier_extension = true;
    let leaf = issue(params, ec256(), &p.inter);
    let c = &leaf.cert;
    assert_eq!(
        c.crl_distribution_points(),
        vec!["http://crl.ca.gov.vn/test.crl".to_string()]
    );
    assert_eq!(c.aia_ocsp_urls(), vec!["http://ocsp.ca.test".to_string()]);
    assert_eq!(
        c.aia_ca_issuers_urls(),
        vec!["http://ca.test/c.crt".to_string()]
    );
    assert_eq!(c.extended_key_usage(), vec![oid::EKU_TIME_STAMPING]);
    assert!(c.has_ocsp_nocheck());
    assert!(!p.leaf.cert.has_ocsp_nocheck());
    assert_eq!(c.authority_key_id(), p.inter.cert.subject_key_id());
    assert_eq!(c.rsa_modulus_bits(), None);
    assert_eq!(c.sha256_fingerprint_hex().len(), 64);
    assert_eq!(
        c.sha256_fingerprint().as_slice(),
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, c.der()).as_ref()
    );
    assert_eq!(
        c.tbs_der().map(<[u8]>::len),
        Some(c.inner().tbs_certificate().to_der_len())
    );
}

trait DerLen {
    fn to_der_len(&self) -> usize;
}
impl DerLen for x509_cert::TbsCertificate {
    fn to_der_len(&self) -> usize {
        der::Encode::to_der(self).unwrap().len()
    }
}

#[test]
fn directory_name_constraints_are_enforced() {
    let p = pki();
    let mut params = ca_params("Constrained CA", None);
    let mut base = DistinguishedName::new();
    base.push(DnType::CountryName, "VN");
    base.push(DnType::OrganizationName, "Ban Cơ yếu Chính phủ");
    params.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DirectoryName(base)],
        excluded_subtrees: Vec::new(),
    });
    let ca = issue(params, ec256(), &p.root);
    assert!(ca.cert.has_extension(oid::EXT_NAME_CONSTRAINTS));
    let inside = issue(leaf_params("Inside the subtree"), ec256(), &ca);
    let report = run(&inside.cert, &[ca.cert.clone()], &p.root, AT);
    assert_eq!(report.status, PathStatus::Valid);

    let mut outside = leaf_params("Outside");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, "UBND tỉnh Ninh Bình");
    dn.push(DnType::CommonName, "Outside the subtree");
    outside.distinguished_name = dn;
    let outside = issue(outside, ec256(), &ca);
    let report = run(&outside.cert, &[ca.cert.clone()], &p.root, AT);
    assert_eq!(
        problems(&report),
        vec![PathProblem::NameConstraints {
            index: 0,
            constrained_by: 1
        }]
    );
    assert_eq!(report.status.codes(), vec!["NAME_CONSTRAINTS"]);

    // DNS-name constraints cannot be checked here: reported, not ignored.
    let mut params = ca_params("DNS-constrained CA", None);
    params.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("gov.vn".into())],
        excluded_subtrees: Vec::new(),
    });
    let ca = issue(params, ec256(), &p.root);
    let leaf = issue(leaf_params("Under a DNS constraint"), ec256(), &ca);
    let report = run(&leaf.cert, &[ca.cert.clone()], &p.root, AT);
    assert_eq!(report.status.codes(), vec!["UNSUPPORTED_FEATURE"]);
}

#[test]
fn many_same_name_candidates_are_capped() {
    let p = pki();
    // Three levels of seven look-alike CAs, none really signed by the level above:
    // 343 complete paths, all failing. The search stops at the cap and reports a failure.
    let level = |name: &str, issuer_name: &str| -> Vec<Cert> {
        (0..7)
            .map(|_| {
                let (issuer_params, issuer_key) = (ca_params(issuer_name, None), ec256());
                let key = ec256();
                let mut params = ca_params(name, None);
                params.use_authority_key_identifier_extension = false;
                let der = params
                    .signed_by(&key, &Issuer::from_params(&issuer_params, &issuer_key))
                    .unwrap();
                Cert::from_der(der.der()).unwrap()
            })
            .collect()
    };
    let mut pool = level("Look-alike A", "Look-alike B");
    pool.extend(level("Look-alike B", "Look-alike C"));
    pool.extend(level("Look-alike C", "RootCA chuyên dùng Chính phủ (test)"));
    let (a_params, a_key) = (ca_params("Look-alike A", None), ec256());
    let der = leaf_params("Signer among look-alikes")
        .signed_by(&ec256(), &Issuer::from_params(&a_params, &a_key))
        .unwrap();
    let leaf = Cert::from_der(der.der()).unwrap();
    let report = run(&leaf, &pool, &p.root, AT);
    assert_eq!(report.status.codes(), vec!["BAD_CERT_SIGNATURE"]);
    assert_eq!(report.chain.len(), 5);
}

/// Replace every occurrence of `from` by `to` (same length) in a DER copy.
fn bend(der: &[u8], from: &[u8], to: &[u8]) -> Cert {
    let mut out = der.to_vec();
    let mut at = 0;
    while let Some(pos) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + pos..at + pos + to.len()].copy_from_slice(to);
        at += pos + to.len();
    }
    assert!(at > 0, "pattern not found");
    Cert::from_der(&out).unwrap()
}

#[test]
fn md5_is_refused_and_odd_algorithms_are_reported() {
    let p = rsa_pki();
    let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    let md5_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04];
    let md5 = bend(p.leaf.cert.der(), &sha256_rsa, &md5_rsa);
    assert_eq!(
        verify_cert_signature(&md5, &p.inter.cert),
        Err(SigProblem::WeakAlgorithm(SigHash::Md5))
    );
    let mut legacy = PathPolicy::new(AT);
    legacy.allow_sha1 = true;
    let report = build_and_validate(&md5, &[p.inter.cert.clone()], &trust(&p.root), &legacy);
    assert_eq!(
        problems(&report),
        vec![PathProblem::WeakAlgorithm {
            index: 0,
            hash: SigHash::Md5
        }]
    );
    // sha224WithRSAEncryption: not supported.
    let sha224_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0e];
    let odd = bend(p.leaf.cert.der(), &sha256_rsa, &sha224_rsa);
    assert!(matches!(
        verify_cert_signature(&odd, &p.inter.cert),
        Err(SigProblem::UnsupportedAlgorithm(_))
    ));
    let report = build_and_validate(&odd, &[p.inter.cert.clone()], &trust(&p.root), &legacy);
    assert_eq!(report.status.codes(), vec!["UNSUPPORTED_ALGORITHM"]);
}

#[test]
fn pss_with_a_different_mgf1_hash_is_not_supported() {
    let sha256 = tlv(
        0x30,
        &[
            &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            ][..],
            &[0x05, 0x00],
        ]
        .concat(),
    );
    let sha384 = tlv(
        0x30,
        &[
            &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
            ][..],
            &[0x05, 0x00],
        ]
        .concat(),
    );
    let mgf1_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
    ];
    let params = |mgf_hash: &[u8]| {
        let mgf = tlv(0x30, &[&mgf1_oid[..], mgf_hash].concat());
        tlv(
            0x30,
            &[
                tlv(0xa0, &sha256),
                tlv(0xa1, &mgf),
                tlv(0xa2, &[0x02, 0x01, 0x20]),
            ]
            .concat(),
        )
    };
    let alg = |p: Vec<u8>| spki::AlgorithmIdentifierOwned {
        oid: oid::RSASSA_PSS,
        parameters: Some(der::Decode::from_der(&p).unwrap()),
    };
    let key = &rsa_pki().inter.cert;
    let sig = [0u8; 256];
    assert!(matches!(
        crate::verify_sig::verify_signature(key, &alg(params(&sha384)), b"message", &sig),
        Err(SigProblem::UnsupportedParameters(_))
    ));
    // Matching MGF1 hash: parameters accepted, the (zero) signature is just wrong.
    assert_eq!(
        crate::verify_sig::verify_signature(key, &alg(params(&sha256)), b"message", &sig),
        Err(SigProblem::BadSignature)
    );
    // An ECDSA key cannot verify RSASSA-PSS.
    assert_eq!(
        crate::verify_sig::verify_signature(
            &pki().leaf.cert,
            &alg(params(&sha256)),
            b"message",
            &sig
        ),
        Err(SigProblem::KeyMismatch)
    );
}

#[test]
fn problem_codes_and_messages_are_stable() {
    let p = PathProblem::Expired {
        index: 0,
        not_after: datetime!(2022-01-01 0:00 UTC),
    };
    assert_eq!(p.code(), "CERT_EXPIRED");
    assert_eq!(
        p.to_string(),
        "certificate #0 expired on 2022-01-01T00:00:00Z"
    );
    assert_eq!(PathProblem::LeafKeyUsage.code(), "KEY_USAGE");
    assert_eq!(PathProblem::LeafKeyUsage.index(), None);
    assert_eq!(PathStatus::NoAnchor.codes(), vec!["UNTRUSTED_ROOT"]);
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128);
    [&[tag, content.len() as u8][..], content].concat()
}

/// Certificates made by the `openssl` command line: encodings rcgen does not produce
/// (BMPString/PrintableString names, SHA-1, RSA-1024, RSASSA-PSS). Without `openssl`, a listed skip
/// (a failure under `KYSO_REQUIRE_ALL=1`).
mod openssl_cli {
    use std::path::Path;

    use super::*;

    const CONFIG: &str = "[req]
distinguished_name = dn
string_mask = MASK
utf8 = yes
prompt = no
[dn]
CN = x
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
";

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Option<Dir> {
            if !kyso_testkit::need("openssl", &["version"]) {
                return None;
            }
            let dir = Dir(tempfile::tempdir().unwrap());
            std::fs::write(
                dir.path().join("utf8.cnf"),
                CONFIG.replace("MASK", "utf8only"),
            )
            .unwrap();
            std::fs::write(
                dir.path().join("mixed.cnf"),
                CONFIG.replace("MASK", "default"),
            )
            .unwrap();
            Some(dir)
        }
        fn path(&self) -> &Path {
            self.0.path()
        }
        fn run(&self, args: &[&str]) {
            kyso_testkit::run_in(self.path(), "openssl", args);
        }
        fn cert(&self, name: &str) -> Cert {
            let pem = std::fs::read(self.path().join(name)).unwrap();
            Cert::from_pem_or_der(&pem).unwrap().remove(0)
        }
        fn ec_key(&self, name: &str) {
            self.run(&[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                name,
            ]);
        }
        fn rsa_key(&self, name: &str, bits: &str) {
            self.run(&["genrsa", "-out", name, bits]);
        }
        fn self_signed(&self, cnf: &str, key: &str, subj: &str, out: &str) {
            self.run(&[
                "req",
                "-config",
                cnf,
                "-x509",
                "-new",
                "-key",
                key,
                "-subj",
                subj,
                "-days",
                "3650",
                "-extensions",
                "ca",
                "-out",
                out,
            ]);
        }
        fn csr(&self, key: &str, subj: &str, out: &str) {
            self.run(&[
                "req", "-config", "utf8.cnf", "-new", "-key", key, "-subj", subj, "-out", out,
            ]);
        }
        fn sign(
            &self,
            csr: &str,
            ca: &str,
            ca_key: &str,
            section: &str,
            extra: &[&str],
            out: &str,
        ) {
            let mut args = vec![
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                ca,
                "-CAkey",
                ca_key,
                "-set_serial",
                "7",
                "-days",
                "365",
                "-extfile",
                "utf8.cnf",
                "-extensions",
                section,
                "-out",
                out,
            ];
            args.extend_from_slice(extra);
            self.run(&args);
        }
    }

    /// A time inside every certificate's validity (they start "now" and last a year).
    fn when(c: &Cert) -> OffsetDateTime {
        c.not_before() + time::Duration::hours(1)
    }

    #[test]
    fn names_chain_across_string_encodings_and_letter_case() {
        let Some(d) = Dir::new() else { return };
        d.ec_key("root.key");
        d.self_signed(
            "utf8.cnf",
            "root.key",
            "/C=VN/O=Ban Cơ yếu Chính phủ/CN=RootCA chuyên dùng thử nghiệm",
            "root.pem",
        );
        // The intermediate as the root issued it: UTF8String names.
        d.ec_key("ca.key");
        d.csr(
            "ca.key",
            "/C=VN/O=Ban Cơ yếu Chính phủ/CN=CA phuc vu cac co quan Nha nuoc",
            "ca.csr",
        );
        d.sign("ca.csr", "root.pem", "root.key", "ca", &[], "ca.pem");
        // The same key under the same name in upper case with OpenSSL's legacy string mask
        // (PrintableString for ASCII, BMPString for Vietnamese): the signer's issuer field
        // is copied from this one.
        d.self_signed(
            "mixed.cnf",
            "ca.key",
            "/C=VN/O=BAN CƠ YẾU CHÍNH PHỦ/CN=CA PHUC VU CAC CO QUAN  NHA NUOC",
            "ca_mixed.pem",
        );
        d.ec_key("leaf.key");
        d.csr(
            "leaf.key",
            "/C=VN/O=UBND tỉnh Ninh Bình/CN=Nguyễn Văn A",
            "leaf.csr",
        );
        d.sign(
            "leaf.csr",
            "ca_mixed.pem",
            "ca.key",
            "leaf",
            &[],
            "leaf.pem",
        );

        let (root, ca, leaf) = (d.cert("root.pem"), d.cert("ca.pem"), d.cert("leaf.pem"));
        assert_ne!(leaf.issuer_der().unwrap(), ca.subject_der().unwrap());
        let issuer = leaf.issuer_der().unwrap();
        let printable = b"\x13\x20CA PHUC VU CAC CO QUAN  NHA NUOC";
        assert!(
            issuer.windows(printable.len()).any(|w| w == printable),
            "the signer's issuer CN is a PrintableString in upper case"
        ); // 38 chars
        assert!(issuer.contains(&0x1e), "BMPString O");
        assert_eq!(leaf.common_name().as_deref(), Some("Nguyễn Văn A"));

        let report = build_and_validate(
            &leaf,
            &[ca.clone()],
            &TrustStore::from_certs([root.clone()]),
            &PathPolicy::new(when(&leaf)),
        );
        assert_eq!(report.status, PathStatus::Valid, "{:?}", report.status);
        assert_eq!(report.chain, vec![leaf, ca, root]);
    }

    struct RsaSet {
        _dir: Dir,
        root: Cert,
        sha1: Cert,
        pss: Cert,
        pss_digest_salt: Cert,
        small_leaf: Cert,
        small_ca: Cert,
        under_small_ca: Cert,
    }

    fn rsa_set() -> Option<&'static RsaSet> {
        static SET: OnceLock<Option<RsaSet>> = OnceLock::new();
        SET.get_or_init(|| {
            let d = Dir::new()?;
            d.rsa_key("root.key", "2048");
            d.self_signed(
                "utf8.cnf",
                "root.key",
                "/C=VN/CN=RSA root (test)",
                "root.pem",
            );
            d.ec_key("leaf.key");
            d.csr("leaf.key", "/C=VN/CN=Signer", "leaf.csr");
            d.sign(
                "leaf.csr",
                "root.pem",
                "root.key",
                "leaf",
                &["-sha1"],
                "sha1.pem",
            );
            let pss_max = [
                "-sha384",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:max",
            ];
            d.sign(
                "leaf.csr", "root.pem", "root.key", "leaf", &pss_max, "pss.pem",
            );
            let pss_digest = [
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ];
            d.sign(
                "leaf.csr",
                "root.pem",
                "root.key",
                "leaf",
                &pss_digest,
                "pss32.pem",
            );
            d.rsa_key("small.key", "1024");
            d.csr("small.key", "/C=VN/CN=Signer with RSA-1024", "small.csr");
            d.sign(
                "small.csr",
                "root.pem",
                "root.key",
                "leaf",
                &["-sha256"],
                "small_leaf.pem",
            );
            d.csr("small.key", "/C=VN/CN=CA with RSA-1024", "small_ca.csr");
            d.sign(
                "small_ca.csr",
                "root.pem",
                "root.key",
                "ca",
                &["-sha256"],
                "small_ca.pem",
            );
            d.sign(
                "leaf.csr",
                "small_ca.pem",
                "small.key",
                "leaf",
                &["-sha256"],
                "under_small.pem",
            );
            Some(RsaSet {
                root: d.cert("root.pem"),
                sha1: d.cert("sha1.pem"),
                pss: d.cert("pss.pem"),
                pss_digest_salt: d.cert("pss32.pem"),
                small_leaf: d.cert("small_leaf.pem"),
                small_ca: d.cert("small_ca.pem"),
                under_small_ca: d.cert("under_small.pem"),
                _dir: d,
            })
        })
        .as_ref()
    }

    fn check(s: &RsaSet, leaf: &Cert, pool: &[Cert], policy: &PathPolicy) -> PathReport {
        build_and_validate(
            leaf,
            pool,
            &TrustStore::from_certs([s.root.clone()]),
            policy,
        )
    }

    #[test]
    fn sha1_is_weak_unless_the_policy_allows_it() {
        let Some(s) = rsa_set() else { return };
        assert_eq!(
            verify_cert_signature(&s.sha1, &s.root),
            Err(SigProblem::WeakAlgorithm(SigHash::Sha1))
        );
        let mut policy = PathPolicy::new(when(&s.sha1));
        let report = check(s, &s.sha1, &[], &policy);
        assert_eq!(
            problems(&report),
            vec![PathProblem::WeakAlgorithm {
                index: 0,
                hash: SigHash::Sha1
            }]
        );
        assert_eq!(report.status.codes(), vec!["WEAK_ALGORITHM"]);
        policy.allow_sha1 = true;
        let report = check(s, &s.sha1, &[], &policy);
        assert_eq!(report.status, PathStatus::Valid);
        assert_eq!(report.notes, vec![PathNote::Sha1Accepted { index: 0 }]);
        // Allowing SHA-1 does not accept a SHA-1 signature that does not verify.
        let mut der = s.sha1.der().to_vec();
        *der.last_mut().unwrap() ^= 1;
        let bent = Cert::from_der(&der).unwrap();
        assert_eq!(
            check_cert_signature(&bent, &s.root),
            Err(SigProblem::BadSignature)
        );
        assert_eq!(
            check(s, &bent, &[], &policy).status.codes(),
            vec!["BAD_CERT_SIGNATURE"]
        );
    }

    #[test]
    fn rsa_pss_parameters_are_honoured() {
        let Some(s) = rsa_set() else { return };
        let info = check_cert_signature(&s.pss, &s.root).unwrap();
        assert_eq!(
            (info.hash, info.pss, info.rsa_bits),
            (SigHash::Sha384, true, Some(2048))
        );
        let info = check_cert_signature(&s.pss_digest_salt, &s.root).unwrap();
        assert_eq!((info.hash, info.pss), (SigHash::Sha256, true));
        let policy = PathPolicy::new(when(&s.pss));
        assert_eq!(check(s, &s.pss, &[], &policy).status, PathStatus::Valid);
        // Bend the salt length (206 → 205) in both copies of the algorithm identifier: the
        // signature no longer verifies.
        let pattern = [0xa2, 0x04, 0x02, 0x02, 0x00, 0xce];
        let mut bent = s.pss.der().to_vec();
        let mut at = 0;
        while let Some(pos) = bent[at..].windows(6).position(|w| w == pattern) {
            bent[at + pos + 5] = 0xcd;
            at += pos + 6;
        }
        assert!(at > 0);
        let bent = Cert::from_der(&bent).unwrap();
        assert_eq!(
            check_cert_signature(&bent, &s.root),
            Err(SigProblem::BadSignature)
        );
    }

    #[test]
    fn rsa_below_2048_bits_is_a_weak_key() {
        let Some(s) = rsa_set() else { return };
        assert_eq!(s.small_leaf.rsa_modulus_bits(), Some(1024));
        let policy = PathPolicy::new(when(&s.small_leaf));
        let report = check(s, &s.small_leaf, &[], &policy);
        assert_eq!(
            problems(&report),
            vec![PathProblem::WeakKey {
                index: 0,
                bits: 1024
            }]
        );
        assert_eq!(report.status.codes(), vec!["WEAK_KEY"]);
        // A 1024-bit CA: its signature verifies (legacy), but the key is weak.
        assert_eq!(
            verify_cert_signature(&s.under_small_ca, &s.small_ca),
            Err(SigProblem::WeakKey { bits: 1024 })
        );
        let report = check(s, &s.under_small_ca, &[s.small_ca.clone()], &policy);
        assert_eq!(
            problems(&report),
            vec![PathProblem::WeakKey {
                index: 1,
                bits: 1024
            }]
        );
        // A legacy policy can accept it.
        let mut legacy = policy.clone();
        legacy.min_rsa_bits = 1024;
        assert_eq!(
            check(s, &s.under_small_ca, &[s.small_ca.clone()], &legacy).status,
            PathStatus::Valid
        );
    }
}
