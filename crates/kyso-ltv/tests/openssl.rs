#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    // OpenSSL stamps its responses, CRLs and tokens with the real clock; so must the test.
    clippy::disallowed_methods
)]
//! kyso's checking of OCSP responses, CRLs and timestamp tokens against ones OpenSSL makes
//! (an implementation nobody here wrote) for the demo PKI: accepted when genuine, refused when
//! tampered with, signed by the wrong key, or about another certificate.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use kyso_cms::DigestAlgorithm;
use kyso_keys::Secret;
use kyso_ltv::ocsp::{self, CertIdHash};
use kyso_ltv::revocation::{Checker, Status};
use kyso_ltv::{crl, tsp, CertState, EvidenceKind};
use kyso_x509::Cert;
use time::OffsetDateTime;

const PASSWORD: &str = "kyso-test";

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn cert(&self, name: &str) -> Cert {
        let pem = std::fs::read(self.dir.join(format!("{name}.pem"))).unwrap();
        Cert::from_pem_chain(&pem).unwrap().remove(0)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
    /// The unencrypted private key of `name`, extracted by openssl.
    fn key(&self, name: &str) -> PathBuf {
        let out = self.dir.join(format!("{name}.key"));
        if !out.exists() {
            // Tests run in parallel: write aside, then rename into place.
            let part = self
                .dir
                .join(format!("{name}.key.{:?}", std::thread::current().id()));
            openssl(&[
                "pkcs12",
                "-in",
                self.path(&format!("{name}.p12")).to_str().unwrap(),
                "-nocerts",
                "-nodes",
                "-passin",
                &format!("pass:{PASSWORD}"),
                "-out",
                part.to_str().unwrap(),
            ]);
            std::fs::rename(&part, &out).unwrap();
        }
        out
    }
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kyso-ltv-openssl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opts = kyso_pki::demo::InitOptions::new(
            Secret::new(PASSWORD.to_owned()),
            OffsetDateTime::now_utc(),
        );
        kyso_pki::demo::init(&dir, &opts).unwrap();
        Pki { dir }
    })
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn tmp(name: &str) -> PathBuf {
    pki().dir.join(name)
}

/// An OpenSSL CA database listing `revoked` (serial hex) as revoked for key compromise.
fn index_txt(revoked: &Cert, good: &Cert, name: &str) -> PathBuf {
    let line = |status: &str, c: &Cert, rev: &str| {
        format!(
            "{status}\t{}\t{rev}\t{}\tunknown\t/CN=x\n",
            "491231235959Z",
            c.serial_hex()
        )
    };
    let body = line("R", revoked, "260101000000Z,keyCompromise") + &line("V", good, "");
    let path = tmp(&format!("{name}-index.txt"));
    std::fs::write(&path, body).unwrap();
    std::fs::write(
        tmp(&format!("{name}-index.txt.attr")),
        "unique_subject = no\n",
    )
    .unwrap();
    path
}

/// openssl's OCSP response about `cert`, signed by `signer` (a `NAME` of the demo PKI).
fn openssl_ocsp(cert: &str, signer: &str, name: &str) -> Vec<u8> {
    let p = pki();
    let index = index_txt(&p.cert("personal2"), &p.cert("personal"), name);
    let req = tmp(&format!("{name}.req"));
    let resp = tmp(&format!("{name}.resp"));
    openssl(&[
        "ocsp",
        "-issuer",
        p.path("intermediate.pem").to_str().unwrap(),
        "-cert",
        p.path(&format!("{cert}.pem")).to_str().unwrap(),
        "-no_nonce",
        "-reqout",
        req.to_str().unwrap(),
    ]);
    openssl(&[
        "ocsp",
        "-index",
        index.to_str().unwrap(),
        "-CA",
        p.path("intermediate.pem").to_str().unwrap(),
        "-rsigner",
        p.path(&format!("{signer}.pem")).to_str().unwrap(),
        "-rkey",
        p.key(signer).to_str().unwrap(),
        "-reqin",
        req.to_str().unwrap(),
        "-respout",
        resp.to_str().unwrap(),
        "-ndays",
        "2",
    ]);
    std::fs::read(resp).unwrap()
}

#[test]
fn openssl_ocsp_responses_are_read_and_checked() {
    let p = pki();
    let int = p.cert("intermediate");
    let good = openssl_ocsp("personal", "ocsp", "good");
    let e = ocsp::check_response(&good, &p.cert("personal"), &int, None).unwrap();
    assert_eq!(e.state, CertState::Good);
    assert_eq!(e.kind, EvidenceKind::Ocsp);
    assert!(e.next_update.unwrap() > e.this_update);

    let revoked = openssl_ocsp("personal2", "ocsp", "revoked");
    let e = ocsp::check_response(&revoked, &p.cert("personal2"), &int, None).unwrap();
    match e.state {
        CertState::Revoked { time, reason } => {
            assert_eq!(time.year(), 2026);
            assert_eq!(reason, Some("keyCompromise"));
        }
        other => panic!("{other:?}"),
    }

    // The same answer does not speak for another certificate.
    let err = ocsp::check_response(&good, &p.cert("organization"), &int, None).unwrap_err();
    assert_eq!(err.code, ocsp::codes::OCSP_NOT_FOR_CERT);

    // Signed by a certificate the CA did not delegate OCSP to.
    let rogue = openssl_ocsp("personal", "organization", "rogue");
    let err = ocsp::check_response(&rogue, &p.cert("personal"), &int, None).unwrap_err();
    assert_eq!(err.code, ocsp::codes::OCSP_UNAUTHORIZED_RESPONDER);

    // A flipped byte in the signature.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 300] ^= 0x01; // inside the signature or the embedded certificate
    assert!(ocsp::check_response(&bad, &p.cert("personal"), &int, None).is_err());

    // Garbage.
    for junk in [&b""[..], b"\x30\x03\x0a\x01\x00", &good[..good.len() / 2]] {
        assert!(ocsp::check_response(junk, &p.cert("personal"), &int, None).is_err());
    }
}

#[test]
fn kyso_ocsp_requests_are_understood_by_openssl() {
    let p = pki();
    let id = ocsp::cert_id(
        &p.cert("intermediate"),
        p.cert("personal").serial_bytes(),
        CertIdHash::Sha1,
    )
    .unwrap();
    let req = ocsp::request_der(id, Some(b"0123456789abcdef")).unwrap();
    let path = tmp("kyso.req");
    std::fs::write(&path, req).unwrap();
    let text = String::from_utf8(openssl(&[
        "ocsp",
        "-reqin",
        path.to_str().unwrap(),
        "-req_text",
    ]))
    .unwrap();
    assert!(
        text.contains(&format!(
            "Serial Number: {}",
            p.cert("personal").serial_hex()
        )),
        "{text}"
    );
    assert!(text.contains("OCSP Nonce"), "{text}");
}

/// A CRL made by `openssl ca -gencrl`, signed by the intermediate (or `signer`).
fn openssl_crl(signer: &str, name: &str) -> Vec<u8> {
    let p = pki();
    let index = index_txt(&p.cert("personal2"), &p.cert("personal"), name);
    let conf = tmp(&format!("{name}.cnf"));
    std::fs::write(
        &conf,
        format!(
            "[ca]\ndefault_ca = demo\n[demo]\ndatabase = {}\ncrlnumber = {}\ndefault_md = sha256\ndefault_crl_days = 2\ncrl_extensions = ext\n[ext]\nauthorityKeyIdentifier = keyid\n",
            index.display(),
            tmp(&format!("{name}.crlnumber")).display()
        ),
    )
    .unwrap();
    std::fs::write(tmp(&format!("{name}.crlnumber")), "01\n").unwrap();
    let pem = tmp(&format!("{name}.crl.pem"));
    openssl(&[
        "ca",
        "-gencrl",
        "-config",
        conf.to_str().unwrap(),
        "-cert",
        p.path(&format!("{signer}.pem")).to_str().unwrap(),
        "-keyfile",
        p.key(signer).to_str().unwrap(),
        "-out",
        pem.to_str().unwrap(),
    ]);
    openssl(&["crl", "-in", pem.to_str().unwrap(), "-outform", "DER"])
}

#[test]
fn openssl_crls_are_read_and_checked() {
    let p = pki();
    let int = p.cert("intermediate");
    let der = openssl_crl("intermediate", "int");
    let e = crl::check_crl(&der, &p.cert("personal"), &int).unwrap();
    assert_eq!(e.state, CertState::Good);
    let e = crl::check_crl(&der, &p.cert("personal2"), &int).unwrap();
    assert!(matches!(
        e.state,
        CertState::Revoked {
            reason: Some("keyCompromise"),
            ..
        }
    ));
    // Not the issuer of the root-issued intermediate.
    let err = crl::check_crl(&der, &int, &p.cert("root")).unwrap_err();
    assert_eq!(err.code, crl::codes::CRL_OTHER_ISSUER);
    // Tampered: the revoked entry's serial changed → the signature no longer verifies.
    let mut bad = der.clone();
    let serial = p.cert("personal2").serial_bytes().to_vec();
    let at = bad
        .windows(serial.len())
        .position(|w| w == serial.as_slice())
        .unwrap();
    bad[at + 2] ^= 0x40;
    let err = crl::check_crl(&bad, &p.cert("personal"), &int).unwrap_err();
    assert_eq!(err.code, crl::codes::CRL_BAD_SIGNATURE);
}

#[test]
fn the_checker_decides_from_embedded_evidence_and_stays_offline() {
    let p = pki();
    let int = p.cert("intermediate");
    let now = OffsetDateTime::now_utc();
    let ocsp_good = openssl_ocsp("personal", "ocsp", "c-good");
    let crl = openssl_crl("intermediate", "c-int");
    let checker = Checker::new(vec![ocsp_good], vec![crl], None, now);
    let o = checker.status(&p.cert("personal"), &int, now);
    assert_eq!(o.status, Status::Good);
    assert_eq!(
        o.evidence.unwrap().kind,
        EvidenceKind::Ocsp,
        "OCSP preferred"
    );
    let o = checker.status(&p.cert("personal2"), &int, now);
    assert!(matches!(o.status, Status::Revoked { .. }));
    // Before the revocation date it was good.
    let before = time::macros::datetime!(2025-06-01 00:00 UTC);
    assert_eq!(
        checker.status(&p.cert("personal2"), &int, before).status,
        Status::Good
    );
    // Nothing about the organization certificate is embedded but the CRL: good; about the
    // intermediate (root's business) nothing at all, and offline means nothing is fetched.
    assert_eq!(
        checker.status(&p.cert("organization"), &int, now).status,
        Status::Good
    );
    let o = checker.status(&int, &p.cert("root"), now);
    assert_eq!(o.status, Status::Unknown);
    // Long after nextUpdate the evidence is stale.
    let later = now + time::Duration::days(30);
    assert_eq!(
        checker.status(&p.cert("personal"), &int, later).status,
        Status::Unknown
    );
}

/// A timestamp token for `data` from `openssl ts -reply`, signed by `signer`.
fn openssl_token(data: &[u8], signer: &str, name: &str) -> Vec<u8> {
    openssl_token_with(data, signer, name, "sha256", "sha256")
}

/// A timestamp token for `data` whose imprint is made with `imprint` and whose CMS signature
/// (and ESSCertID) with `signer_digest` (`sha1` for a 2011-style legacy TSA).
fn openssl_token_with(
    data: &[u8],
    signer: &str,
    name: &str,
    imprint: &str,
    signer_digest: &str,
) -> Vec<u8> {
    let p = pki();
    let data_path = tmp(&format!("{name}.data"));
    std::fs::write(&data_path, data).unwrap();
    let query = tmp(&format!("{name}.tsq"));
    openssl(&[
        "ts",
        "-query",
        "-data",
        data_path.to_str().unwrap(),
        &format!("-{imprint}"),
        "-cert",
        "-out",
        query.to_str().unwrap(),
    ]);
    let conf = tmp(&format!("{name}-tsa.cnf"));
    std::fs::write(
        &conf,
        format!(
            "[tsa]\ndefault_tsa = t\n[t]\nserial = {}\ndefault_policy = 1.2.3.4.1\ndigests = sha1, sha256\naccuracy = secs:1\ness_cert_id_alg = {signer_digest}\nsigner_digest = {signer_digest}\n",
            tmp(&format!("{name}.serial")).display()
        ),
    )
    .unwrap();
    let reply = tmp(&format!("{name}.tsr"));
    openssl(&[
        "ts",
        "-reply",
        "-config",
        conf.to_str().unwrap(),
        "-queryfile",
        query.to_str().unwrap(),
        "-signer",
        p.path(&format!("{signer}.pem")).to_str().unwrap(),
        "-inkey",
        p.key(signer).to_str().unwrap(),
        "-chain",
        p.path("intermediate.pem").to_str().unwrap(),
        "-token_out",
        "-out",
        reply.to_str().unwrap(),
    ]);
    std::fs::read(reply).unwrap()
}

#[test]
fn sha1_timestamp_tokens_are_verified_and_reported_as_legacy() {
    // The value of a SHA-256 signature, timestamped by a TSA that hashes or signs with SHA-1.
    let data = DigestAlgorithm::Sha256.digest(b"a SHA-256 signature value");
    for (imprint, signer_digest) in [("sha1", "sha1"), ("sha256", "sha1"), ("sha1", "sha256")] {
        let what = format!("imprint {imprint}, signed with {signer_digest}");
        let name = format!("ts-{imprint}-{signer_digest}");
        let token = openssl_token_with(&data, "tsa", &name, imprint, signer_digest);
        let t = tsp::check_token(&token, |alg| alg.digest(&data));
        // Verified cryptographically: intact, nothing failed; SHA-1 is for the policy.
        assert!(t.is_intact(), "{what}: {:?} {:?}", t.problems, t.signer);
        assert!(t.failure_codes().is_empty(), "{what}");
        assert!(!t.is_unsupported(), "{what}");
        assert_eq!(
            t.legacy(),
            vec![kyso_cms::verify::LegacyAlgorithm::Sha1],
            "{what}"
        );

        // Over other data: the imprint does not match, whatever its hash.
        let t = tsp::check_token(&token, |alg| alg.digest(b"other"));
        assert_eq!(
            t.failure_codes(),
            vec![tsp::codes::TST_IMPRINT_MISMATCH],
            "{what}"
        );

        // A flipped byte in the token's signature value: a bad signature, nothing else.
        let parsed = kyso_cms::verify::parse_signed_data(
            &kyso_cms::ber::normalize(&token, &kyso_cms::ber::BerLimits::default())
                .unwrap()
                .der,
        )
        .unwrap();
        let at = token
            .windows(parsed.signature.len())
            .position(|w| w == parsed.signature.as_slice())
            .unwrap();
        let mut bad = token.clone();
        bad[at + 10] ^= 1;
        let t = tsp::check_token(&bad, |alg| alg.digest(&data));
        assert_eq!(
            t.failure_codes(),
            vec![tsp::codes::TST_BAD_SIGNATURE],
            "{what}"
        );
        assert_eq!(
            t.signer.as_ref().unwrap().failures(),
            vec![kyso_cms::verify::codes::BAD_SIGNATURE],
            "{what}"
        );
    }
    // A plain SHA-256 token uses no legacy algorithm.
    let token = openssl_token(&data, "tsa", "ts-sha256");
    let t = tsp::check_token(&token, |alg| alg.digest(&data));
    assert!(t.is_intact() && t.legacy().is_empty());
}

#[test]
fn openssl_timestamp_tokens_are_checked() {
    let data = b"the signature value a timestamp covers";
    let token = openssl_token(data, "tsa", "ts");
    let t = tsp::check_token(&token, |alg| alg.digest(data));
    assert!(t.is_intact(), "{:?} {:?}", t.problems, t.signer);
    assert!(t.gen_time().unwrap() <= OffsetDateTime::now_utc());
    assert_eq!(t.tsa_certificate().unwrap().der(), pki().cert("tsa").der());

    // Over other data.
    let t = tsp::check_token(&token, |alg| alg.digest(b"something else"));
    assert_eq!(t.failure_codes(), vec![tsp::codes::TST_IMPRINT_MISMATCH]);

    // From a certificate that is not a TSA's (openssl refuses to sign with it, so check
    // the rule on the certificate itself).
    assert!(tsp::check_tsa_certificate(&pki().cert("personal")).is_some());
    assert!(tsp::check_tsa_certificate(&pki().cert("tsa")).is_none());

    // A flipped byte inside the TSTInfo breaks the CMS signature.
    let digest = DigestAlgorithm::Sha256.digest(data);
    let at = token
        .windows(digest.len())
        .position(|w| w == digest.as_slice())
        .unwrap();
    let mut bad = token.clone();
    bad[at] ^= 1;
    let t = tsp::check_token(&bad, |alg| alg.digest(data));
    assert!(!t.is_intact());
    for junk in [&b""[..], b"\x30\x80\x30\x80", &token[..token.len() / 3]] {
        let t = tsp::check_token(junk, |alg| alg.digest(data));
        assert!(!t.is_intact());
    }
}
