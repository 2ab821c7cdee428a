#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! CMS signatures made by `openssl cms -sign` (an implementation nobody here wrote), checked by
//! [`verify_signer`]: RSASSA-PSS with every salt length OpenSSL can be asked for and
//! SHA-256/384/512, RSA PKCS#1 v1.5, ECDSA on P-256/P-384/P-521, with and without signed
//! attributes — all intact; a flipped byte in the signature value is `BAD_SIGNATURE` and
//! nothing else; SHA-1 verifies and is reported as a legacy algorithm (the policy is the
//! caller's); an algorithm kyso cannot verify is `UNSUPPORTED_ALGORITHM` and nothing else.
//!
//! OpenSSL missing: the tests fail under `KYSO_REQUIRE_ALL=1`, and are otherwise listed skips
//! (`kyso_testkit::need`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kyso_cms::ber::{self, BerLimits};
use kyso_cms::verify::{
    codes, parse_signed_data, verify_signer, LegacyAlgorithm, SignerCheck, Status,
};
use kyso_cms::DigestAlgorithm;

const CONTENT: &[u8] = b"%PDF-1.7 the byte ranges of a signed document";

/// `openssl` can be run; otherwise the test is a listed skip (kyso-testkit; a failure under
/// `KYSO_REQUIRE_ALL=1`).
fn have_openssl() -> bool {
    kyso_testkit::need("openssl", &["version"])
}

fn openssl(dir: &Path, args: &[&str]) {
    kyso_testkit::run_in(dir, "openssl", args);
}

/// Keys and self-signed certificates `rsa`, `p256`, `p384`, `p521`, and the content.
fn material() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kyso-cms-openssl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("content"), CONTENT).unwrap();
        for (name, alg, keyopt) in [
            ("rsa", "RSA", "rsa_keygen_bits:2048"),
            ("rsa1024", "RSA", "rsa_keygen_bits:1024"),
            ("p256", "EC", "ec_paramgen_curve:P-256"),
            ("p384", "EC", "ec_paramgen_curve:P-384"),
            ("p521", "EC", "ec_paramgen_curve:P-521"),
        ] {
            let key = format!("{name}.key");
            openssl(
                &dir,
                &[
                    "genpkey",
                    "-algorithm",
                    alg,
                    "-pkeyopt",
                    keyopt,
                    "-out",
                    &key,
                ],
            );
            openssl(
                &dir,
                &[
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    &key,
                    "-subj",
                    "/CN=Nguyen Van An",
                    "-days",
                    "2",
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        }
        dir
    })
}

/// `openssl cms -sign` over [`CONTENT`], detached, DER: `key` with `md`, signed attributes or
/// not, extra `-keyopt`s.
fn cms(key: &str, md: &str, attrs: bool, keyopts: &[&str]) -> Vec<u8> {
    let dir = material();
    let out = format!(
        "{key}-{md}-{attrs}-{}.p7s",
        keyopts.join("-").replace([':', '/'], "_")
    );
    let mut args: Vec<String> = [
        "cms", "-sign", "-binary", "-in", "content", "-outform", "DER", "-md", md,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(["-signer".into(), format!("{key}.pem")]);
    args.extend(["-inkey".into(), format!("{key}.key")]);
    args.extend(["-out".into(), out.clone()]);
    if !attrs {
        args.push("-noattr".into());
    }
    for o in keyopts {
        args.extend(["-keyopt".into(), (*o).to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    std::fs::read(dir.join(out)).unwrap()
}

fn check(der: &[u8], content: &[u8]) -> SignerCheck {
    let n = ber::normalize(der, &BerLimits::default()).unwrap();
    let p = parse_signed_data(&n.der).unwrap();
    verify_signer(&p, |d: DigestAlgorithm| d.digest(content))
}

/// The signature value's position in `der`.
fn signature_at(der: &[u8]) -> usize {
    let n = ber::normalize(der, &BerLimits::default()).unwrap();
    let sig = parse_signed_data(&n.der).unwrap().signature;
    der.windows(sig.len()).position(|w| w == sig).unwrap()
}

/// Intact, with no failure and nothing skipped; a flipped byte in the signature value is
/// `BAD_SIGNATURE` alone; changed content is `DIGEST_MISMATCH` alone (`BAD_SIGNATURE` without
/// signed attributes, where the signature is over the content).
fn intact_and_tamper_evident(der: &[u8], attrs: bool, what: &str) {
    let r = check(der, CONTENT);
    assert!(r.is_intact(), "{what}: {r:#?}");
    assert!(r.failures().is_empty(), "{what}: {r:#?}");
    assert!(r.codes(Status::Skipped).is_empty(), "{what}: {r:#?}");

    let at = signature_at(der);
    let mut bad = der.to_vec();
    bad[at + 9] ^= 0x01;
    let r = check(&bad, CONTENT);
    assert_eq!(
        r.failures(),
        vec![codes::BAD_SIGNATURE],
        "{what}, flipped: {r:#?}"
    );
    assert!(
        r.codes(Status::Skipped).is_empty(),
        "{what}, flipped: {r:#?}"
    );

    let r = check(der, b"%PDF-1.7 the byte ranges of a signed documenT");
    let expected = if attrs {
        codes::DIGEST_MISMATCH
    } else {
        codes::BAD_SIGNATURE
    };
    assert_eq!(
        r.failures(),
        vec![expected],
        "{what}, other content: {r:#?}"
    );
}

#[test]
fn rsassa_pss_from_openssl_cms_verifies_with_every_salt_length() {
    if !have_openssl() {
        return;
    }
    for md in ["sha256", "sha384", "sha512"] {
        for salt in ["0", "20", "32", "digest", "max", "-1", "-2"] {
            for attrs in [true, false] {
                let der = cms(
                    "rsa",
                    md,
                    attrs,
                    &["rsa_padding_mode:pss", &format!("rsa_pss_saltlen:{salt}")],
                );
                intact_and_tamper_evident(
                    &der,
                    attrs,
                    &format!("PSS {md} salt {salt} attrs {attrs}"),
                );
            }
        }
    }
}

#[test]
fn rsa_pkcs1_and_ecdsa_from_openssl_cms_verify() {
    if !have_openssl() {
        return;
    }
    for key in ["rsa", "p256", "p384", "p521"] {
        for md in ["sha256", "sha384", "sha512"] {
            for attrs in [true, false] {
                let der = cms(key, md, attrs, &[]);
                intact_and_tamper_evident(&der, attrs, &format!("{key} {md} attrs {attrs}"));
                assert!(check(&der, CONTENT).legacy.is_empty());
            }
        }
    }
}

#[test]
fn sha1_signatures_verify_and_are_reported_as_legacy() {
    if !have_openssl() {
        return;
    }
    for key in ["rsa", "p256", "p521"] {
        for attrs in [true, false] {
            let der = cms(key, "sha1", attrs, &[]);
            let what = format!("{key} sha1 attrs {attrs}");
            intact_and_tamper_evident(&der, attrs, &what);
            let r = check(&der, CONTENT);
            assert_eq!(r.legacy, vec![LegacyAlgorithm::Sha1], "{what}");
            assert_eq!(
                r.status(codes::WEAK_ALGORITHM),
                Some(Status::Warn),
                "{what}"
            );
        }
    }
}

#[test]
fn algorithms_kyso_cannot_verify_are_unsupported_and_nothing_else() {
    if !have_openssl() {
        return;
    }
    // RSASSA-PSS with SHA-1 and ECDSA P-384 with SHA-1: aws-lc-rs has neither.
    for (key, opts) in [
        ("rsa", &["rsa_padding_mode:pss", "rsa_pss_saltlen:20"][..]),
        ("p384", &[][..]),
    ] {
        for attrs in [true, false] {
            let der = cms(key, "sha1", attrs, opts);
            let r = check(&der, CONTENT);
            let what = format!("{key} sha1 {opts:?} attrs {attrs}");
            assert!(r.failures().is_empty(), "{what}: {r:#?}");
            assert_eq!(
                r.codes(Status::Skipped),
                vec![codes::UNSUPPORTED_ALGORITHM],
                "{what}"
            );
            assert!(!r.is_intact());
        }
    }

    // The signature algorithm (OpenSSL writes rsaEncryption) renamed DSA-with-SHA256, an OID
    // of the same length, in the SignerInfo, without signed attributes (no
    // CMSAlgorithmProtection to object).
    let rsa_encryption = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let dsa_sha256 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02,
    ];
    let der = cms("rsa", "sha256", false, &["rsa_padding_mode:pkcs1"]);
    let at = der
        .windows(rsa_encryption.len())
        .rposition(|w| w == rsa_encryption)
        .unwrap();
    assert!(
        at > signature_at(&der) - 20,
        "the SignerInfo's, not the certificate's"
    );
    let mut odd = der.clone();
    odd[at..at + rsa_encryption.len()].copy_from_slice(&dsa_sha256);
    let r = check(&odd, CONTENT);
    assert!(r.failures().is_empty(), "{r:#?}");
    assert_eq!(r.codes(Status::Skipped), vec![codes::UNSUPPORTED_ALGORITHM]);

    // The digest algorithm renamed SHA-224 everywhere: the content cannot be checked; the
    // signature (over the content, with the signature algorithm's SHA-256) still verifies.
    let sha256 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    let sha224 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04,
    ];
    let mut odd = der.clone();
    let mut from = 0;
    while let Some(i) = odd[from..].windows(sha256.len()).position(|w| w == sha256) {
        odd[from + i..from + i + sha256.len()].copy_from_slice(&sha224);
        from += i + sha256.len();
    }
    assert!(from > 0);
    let r = check(&odd, CONTENT);
    assert!(r.failures().is_empty(), "{r:#?}");
    assert_eq!(r.codes(Status::Skipped), vec![codes::UNSUPPORTED_ALGORITHM]);
    assert_eq!(r.status(codes::DIGEST_MISMATCH), None);
}

#[test]
fn small_rsa_keys_verify_and_are_reported_as_legacy() {
    if !have_openssl() {
        return;
    }
    for (md, legacy) in [
        ("sha256", vec![LegacyAlgorithm::RsaKey { bits: 1024 }]),
        (
            "sha1",
            vec![
                LegacyAlgorithm::Sha1,
                LegacyAlgorithm::RsaKey { bits: 1024 },
            ],
        ),
    ] {
        let der = cms("rsa1024", md, true, &[]);
        intact_and_tamper_evident(&der, true, &format!("RSA-1024 {md}"));
        let r = check(&der, CONTENT);
        assert_eq!(r.legacy, legacy, "{md}");
        assert_eq!(r.status(codes::WEAK_ALGORITHM), Some(Status::Warn));
    }
    // RSASSA-PSS with a 1024-bit key: aws-lc-rs verifies PSS only from 2048 bits.
    let der = cms(
        "rsa1024",
        "sha256",
        true,
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"],
    );
    let r = check(&der, CONTENT);
    assert!(r.failures().is_empty(), "{r:#?}");
    assert_eq!(r.codes(Status::Skipped), vec![codes::UNSUPPORTED_ALGORITHM]);
}
