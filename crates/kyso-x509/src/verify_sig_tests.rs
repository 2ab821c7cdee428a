//! Signatures made by OpenSSL (`openssl pkeyutl`) verified by [`verify_signature`] and
//! [`verify_signature_digest`]: RSASSA-PSS with every salt length OpenSSL can be asked for,
//! SHA-256/384/512, the trailer field absent or explicit; RSA PKCS#1 v1.5; ECDSA on P-256,
//! P-384 and P-521. A flipped byte is a bad signature, nothing else.
//!
//! OpenSSL missing: the tests fail under `KYSO_REQUIRE_ALL=1`, and are otherwise listed skips
//! (`kyso_testkit::need`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use der::asn1::{Any, Null};
use der::Encode;
use spki::AlgorithmIdentifierOwned;

use super::*;

const MESSAGE: &[u8] = b"the signed attributes of a PAdES signature";

/// `openssl` can be run; otherwise the test is a listed skip (kyso-testkit; a failure under
/// `KYSO_REQUIRE_ALL=1`).
fn have_openssl() -> bool {
    kyso_testkit::need("openssl", &["version"])
}

fn openssl(dir: &Path, args: &[&str]) {
    kyso_testkit::run_in(dir, "openssl", args);
}

/// A directory with keys and self-signed certificates: `rsa`, `p256`, `p384`, `p521`.
fn material() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // The workspace's target/tmp, as integration tests' CARGO_TARGET_TMPDIR.
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/tmp"))
            .join(format!("kyso-x509-sigs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("msg"), MESSAGE).unwrap();
        for (name, keyopt) in [
            ("rsa", "rsa_keygen_bits:2048"),
            ("p256", "ec_paramgen_curve:P-256"),
            ("p384", "ec_paramgen_curve:P-384"),
            ("p521", "ec_paramgen_curve:P-521"),
        ] {
            let alg = if name == "rsa" { "RSA" } else { "EC" };
            openssl(
                &dir,
                &[
                    "genpkey",
                    "-algorithm",
                    alg,
                    "-pkeyopt",
                    keyopt,
                    "-out",
                    &format!("{name}.key"),
                ],
            );
            openssl(
                &dir,
                &[
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    &format!("{name}.key"),
                    "-subj",
                    "/CN=kyso test",
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

fn cert(name: &str) -> Cert {
    let pem = std::fs::read(material().join(format!("{name}.pem"))).unwrap();
    Cert::from_pem_or_der(&pem).unwrap().remove(0)
}

/// `openssl pkeyutl` signs the hash of [`MESSAGE`] with `key`, `md` and extra `-pkeyopt`s.
fn pkeyutl(key: &str, md: &str, opts: &[&str]) -> Vec<u8> {
    let dir = material();
    let tag = format!("{key}-{md}-{}", opts.join("-").replace([':', '/'], "_"));
    let hash = format!("{tag}.hash");
    let sig = format!("{tag}.sig");
    openssl(
        dir,
        &["dgst", &format!("-{md}"), "-binary", "-out", &hash, "msg"],
    );
    let mut args = vec![
        "pkeyutl".to_owned(),
        "-sign".into(),
        "-inkey".into(),
        format!("{key}.key"),
        "-in".into(),
        hash,
        "-out".into(),
        sig.clone(),
        "-pkeyopt".into(),
        format!("digest:{md}"),
    ];
    for o in opts {
        args.push("-pkeyopt".into());
        args.push((*o).to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    std::fs::read(dir.join(sig)).unwrap()
}

fn digest_alg(
    md: &str,
) -> (
    ObjectIdentifier,
    SigHash,
    &'static aws_lc_rs::digest::Algorithm,
) {
    match md {
        "sha1" => (
            oid::SHA1,
            SigHash::Sha1,
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        ),
        "sha256" => (oid::SHA256, SigHash::Sha256, &aws_lc_rs::digest::SHA256),
        "sha384" => (oid::SHA384, SigHash::Sha384, &aws_lc_rs::digest::SHA384),
        "sha512" => (oid::SHA512, SigHash::Sha512, &aws_lc_rs::digest::SHA512),
        _ => unreachable!(),
    }
}

/// RSASSA-PSS AlgorithmIdentifier: `md` for the hash and MGF1, `salt`, the trailer field
/// given explicitly or left to its default.
fn pss(md: &str, salt: u32, trailer: Option<u32>) -> AlgorithmIdentifierOwned {
    let (o, _, _) = digest_alg(md);
    let hash = AlgorithmIdentifierOwned {
        oid: o,
        parameters: Some(Any::encode_from(&Null).unwrap()),
    };
    let params = PssParams {
        hash: Some(hash.clone()),
        mask_gen: Some(AlgorithmIdentifierOwned {
            oid: oid::MGF1,
            parameters: Some(Any::encode_from(&hash).unwrap()),
        }),
        salt_length: Some(salt),
        trailer_field: trailer,
    };
    AlgorithmIdentifierOwned {
        oid: oid::RSASSA_PSS,
        parameters: Some(Any::from_der(&params.to_der().unwrap()).unwrap()),
    }
}

fn plain(o: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: o,
        parameters: None,
    }
}

/// `alg` verifies `sig` over the message and over its digest, and a flipped byte in either
/// half of the signature is `BadSignature`, nothing else.
fn verifies(key: &Cert, alg: &AlgorithmIdentifierOwned, md: &str, sig: &[u8], what: &str) {
    let (_, hash, aws) = digest_alg(md);
    let info = verify_signature(key, alg, MESSAGE, sig).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(info.hash, hash, "{what}");
    let digest = aws_lc_rs::digest::digest(aws, MESSAGE);
    assert_eq!(
        verify_signature_digest(key, alg, digest.as_ref(), sig),
        Ok(info),
        "{what} (digest)"
    );
    for at in [sig.len() / 3, sig.len() - 2] {
        let mut bad = sig.to_vec();
        bad[at] ^= 0x10;
        assert_eq!(
            verify_signature(key, alg, MESSAGE, &bad),
            Err(SigProblem::BadSignature),
            "{what}: byte {at} flipped"
        );
        assert_eq!(
            verify_signature_digest(key, alg, digest.as_ref(), &bad),
            Err(SigProblem::BadSignature),
            "{what}: byte {at} flipped (digest)"
        );
    }
    // Another message.
    assert_eq!(
        verify_signature(key, alg, b"another message", sig),
        Err(SigProblem::BadSignature),
        "{what}: other message"
    );
}

#[test]
fn rsassa_pss_every_salt_length_and_hash_verifies() {
    if !have_openssl() {
        return;
    }
    let key = cert("rsa");
    let em_len = (2048 + 6) / 8;
    for md in ["sha256", "sha384", "sha512"] {
        let h_len = digest_alg(md).2.output_len() as u32;
        let max = em_len - h_len - 2;
        // OpenSSL's names: a number, "digest" (-1: the hash length), "max" and, when
        // signing, "auto" (-2: the maximum).
        for (opt, salt) in [
            ("0", 0),
            ("20", 20),
            ("32", 32),
            ("digest", h_len),
            ("-1", h_len),
            ("max", max),
            ("-2", max),
        ] {
            let sig = pkeyutl(
                "rsa",
                md,
                &["rsa_padding_mode:pss", &format!("rsa_pss_saltlen:{opt}")],
            );
            for trailer in [None, Some(1)] {
                let alg = pss(md, salt, trailer);
                let what = format!("PSS {md} salt {opt} ({salt}) trailer {trailer:?}");
                verifies(&key, &alg, md, &sig, &what);
                let info = verify_signature(&key, &alg, MESSAGE, &sig).unwrap();
                assert!(info.pss && info.rsa_bits == Some(2048), "{what}");
            }
            // The parameters name another salt length: the signature does not verify.
            let other = if salt == 0 { 1 } else { salt - 1 };
            assert_eq!(
                verify_signature(&key, &pss(md, other, None), MESSAGE, &sig),
                Err(SigProblem::BadSignature),
                "PSS {md} salt {opt} checked with salt {other}"
            );
        }
        // A salt longer than the key allows cannot have been used.
        assert!(matches!(
            verify_signature(&key, &pss(md, max + 1, None), MESSAGE, &[0; 256]),
            Err(SigProblem::Malformed(_))
        ));
        // Trailer field other than 1 (trailerFieldBC): not supported, not a bad signature.
        assert!(matches!(
            verify_signature(&key, &pss(md, h_len, Some(2)), MESSAGE, &[0; 256]),
            Err(SigProblem::UnsupportedParameters(_))
        ));
    }
}

#[test]
fn rsassa_pss_with_sha1_is_recognised_but_cannot_be_verified() {
    if !have_openssl() {
        return;
    }
    let key = cert("rsa");
    let sig = pkeyutl(
        "rsa",
        "sha1",
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:20"],
    );
    // aws-lc-rs has no RSASSA-PSS with SHA-1: never a bad signature.
    assert_eq!(
        verify_signature(&key, &pss("sha1", 20, None), MESSAGE, &sig),
        Err(SigProblem::WeakAlgorithm(SigHash::Sha1))
    );
    assert_eq!(signature_hash(&pss("sha1", 20, None)), Some(SigHash::Sha1));
}

#[test]
fn rsa_pkcs1_with_sha1_and_sha2_verifies() {
    if !have_openssl() {
        return;
    }
    let key = cert("rsa");
    for (md, o) in [
        ("sha1", oid::SHA1_WITH_RSA),
        ("sha256", oid::SHA256_WITH_RSA),
        ("sha384", oid::SHA384_WITH_RSA),
        ("sha512", oid::SHA512_WITH_RSA),
    ] {
        let sig = pkeyutl("rsa", md, &["rsa_padding_mode:pkcs1"]);
        let with_null = AlgorithmIdentifierOwned {
            oid: o,
            parameters: Some(Any::encode_from(&Null).unwrap()),
        };
        verifies(&key, &with_null, md, &sig, &format!("PKCS#1 {md}"));
        verifies(&key, &plain(o), md, &sig, &format!("PKCS#1 {md}, no NULL"));
    }
}

#[test]
fn ecdsa_on_every_curve_with_every_hash_verifies() {
    if !have_openssl() {
        return;
    }
    for curve in ["p256", "p384", "p521"] {
        let key = cert(curve);
        for (md, o) in [
            ("sha256", oid::ECDSA_SHA256),
            ("sha384", oid::ECDSA_SHA384),
            ("sha512", oid::ECDSA_SHA512),
        ] {
            let sig = pkeyutl(curve, md, &[]);
            verifies(&key, &plain(o), md, &sig, &format!("ECDSA {curve} {md}"));
        }
        let sig = pkeyutl(curve, "sha1", &[]);
        let r = verify_signature(&key, &plain(oid::ECDSA_SHA1), MESSAGE, &sig);
        if curve == "p384" {
            // aws-lc-rs cannot verify SHA-1 on P-384: recognised, never a bad signature.
            assert_eq!(r, Err(SigProblem::WeakAlgorithm(SigHash::Sha1)));
        } else {
            verifies(
                &key,
                &plain(oid::ECDSA_SHA1),
                "sha1",
                &sig,
                &format!("ECDSA {curve} sha1"),
            );
        }
    }
}

#[test]
fn unknown_algorithms_are_unsupported_not_bad() {
    if !have_openssl() {
        return;
    }
    let key = cert("rsa");
    let sig = pkeyutl("rsa", "sha256", &["rsa_padding_mode:pkcs1"]);
    // DSA with SHA-256, and an OID nobody assigned.
    for o in ["2.16.840.1.101.3.4.3.2", "1.3.6.1.4.1.99999.1.2"] {
        let o = ObjectIdentifier::new_unwrap(o);
        assert_eq!(
            verify_signature(&key, &plain(o), MESSAGE, &sig),
            Err(SigProblem::UnsupportedAlgorithm(o))
        );
        assert_eq!(signature_hash(&plain(o)), None);
    }
}
