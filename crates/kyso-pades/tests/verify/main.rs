#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The integrity verifier, story by story: a clerk signs a decision with kyso (ECDSA and RSA),
//! the file verifies; then someone edits it, breaks the signature, moves the byte range,
//! removes `/Contents`…; each tampering is reported with its own code, never a panic. Files
//! signed by pyHanko, and CMS blobs in BER, verify too.

#[path = "../support/mod.rs"]
mod support;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

use kyso_cms::verify::codes as cms;
use kyso_cms::{DigestAlgorithm, SignatureAlgorithm};
use kyso_pades::sign_with;
use kyso_pades::verify::{codes, verify_integrity_file, IntegrityReport, SignatureKind};

/// Verify a file the test made, keeping it in the attack corpus (see `support::keep`).
fn checked(p: &Path) -> kyso_pades::Result<Vec<IntegrityReport>> {
    keep(&std::fs::read(p).unwrap());
    verify_integrity_file(p)
}

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let d = tempfile::tempdir().unwrap();
        Fixture {
            dir: d.path().to_path_buf(),
            _dir: d,
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    /// The classic PDF signed once by `signer`.
    fn signed(&self, signer: &TestSigner) -> PathBuf {
        let input = self.path("in.pdf");
        std::fs::write(&input, two_page_pdf()).unwrap();
        let out = self.path("signed.pdf");
        sign_with(&input, &out, &opts(), signer, None).unwrap();
        out
    }
    /// Write `bytes` as a new file and verify it.
    fn verify_bytes(&self, name: &str, bytes: &[u8]) -> Vec<IntegrityReport> {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        checked(&p).unwrap()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn one(reports: &[IntegrityReport]) -> &IntegrityReport {
    assert_eq!(reports.len(), 1, "{reports:#?}");
    &reports[0]
}

fn assert_intact(r: &IntegrityReport) {
    assert!(
        r.is_intact(),
        "expected intact: {:?}\n{r:#?}",
        r.failure_codes()
    );
}

/// Replace the last `/ByteRange [...]` array by `values`, padded to the same width.
fn set_byte_range(bytes: &mut [u8], which_from_end: usize, values: [i64; 4]) {
    let mut end = bytes.len();
    let mut at = 0;
    for _ in 0..=which_from_end {
        at = rfind(&bytes[..end], b"/ByteRange [").unwrap();
        end = at;
    }
    let open = at + b"/ByteRange ".len();
    let close = open + find(&bytes[open..], b"]").unwrap();
    let text = format!("[{} {} {} {}", values[0], values[1], values[2], values[3]);
    assert!(text.len() <= close - open, "new byte range too wide");
    let slot = &mut bytes[open..close];
    slot.fill(b' ');
    slot[..text.len()].copy_from_slice(text.as_bytes());
}

fn byte_range_of(r: &IntegrityReport) -> [u64; 4] {
    r.signature.byte_range.unwrap()
}

#[test]
fn an_ecdsa_signature_made_by_kyso_verifies_intact() {
    let fx = Fixture::new();
    let signer = test_signer_with("Nguyễn Văn An", false);
    let out = fx.signed(&signer);
    let reports = checked(&out).unwrap();
    let r = one(&reports);
    assert_intact(r);
    assert_eq!(r.signature.kind, SignatureKind::Signature);
    assert_eq!(
        r.signature.sub_filter.as_deref(),
        Some("ETSI.CAdES.detached")
    );
    assert_eq!(r.signature.reason.as_deref(), Some("Phê duyệt"));
    assert!(r.byte_range.covers_whole_file);
    assert_eq!(r.byte_range.revision, Some(1));
    assert!(!r.ber_reencoded);
    let cms = r.cms.as_ref().unwrap();
    assert_eq!(cms.signer_certificate(), Some(&signer.cert));
    assert_eq!(cms.certificates.len(), 2);
    assert!(r.signer.as_ref().unwrap().warnings().is_empty());
}

#[test]
fn an_rsa_signature_made_by_kyso_verifies_intact() {
    let fx = Fixture::new();
    let signer = test_signer_with("Trần Thị Bình", true);
    let out = fx.signed(&signer);
    let reports = checked(&out).unwrap();
    let r = one(&reports);
    assert_intact(r);
    assert_eq!(
        r.cms.as_ref().unwrap().signature_algorithm,
        Some(SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256))
    );
}

#[test]
fn two_signatures_both_verify_and_the_first_covers_only_its_revision() {
    let fx = Fixture::new();
    let once = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let twice = fx.path("twice.pdf");
    sign_with(
        &once,
        &twice,
        &opts(),
        &test_signer_with("Sở Khoa học và Công nghệ", true),
        None,
    )
    .unwrap();
    let reports = checked(&twice).unwrap();
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_intact(r);
    }
    let first = reports
        .iter()
        .find(|r| !r.byte_range.covers_whole_file)
        .unwrap();
    assert_eq!(first.byte_range.revision, Some(1));
    let second = reports
        .iter()
        .find(|r| r.byte_range.covers_whole_file)
        .unwrap();
    assert_eq!(second.byte_range.revision, Some(2));
}

#[test]
fn editing_one_signed_byte_is_a_digest_mismatch() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let mut bytes = std::fs::read(&out).unwrap();
    let at = find(&bytes, b"(Hello)").unwrap() + 1;
    bytes[at] = b'J';
    let reports = fx.verify_bytes("edited.pdf", &bytes);
    let r = one(&reports);
    assert!(!r.is_intact());
    assert_eq!(r.failure_codes(), vec![cms::DIGEST_MISMATCH]);
}

#[test]
fn a_corrupted_signature_value_is_a_bad_signature() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", true));
    let reports = checked(&out).unwrap();
    let sig = one(&reports).cms.as_ref().unwrap().signature.clone();
    let hex: String = sig[100..108].iter().map(|b| format!("{b:02X}")).collect();
    let mut bytes = std::fs::read(&out).unwrap();
    let at = find(&bytes, hex.as_bytes()).unwrap();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let reports = fx.verify_bytes("badsig.pdf", &bytes);
    let r = one(&reports);
    assert_eq!(r.failure_codes(), vec![cms::BAD_SIGNATURE]);
}

#[test]
fn a_byte_range_not_starting_at_zero_is_malformed() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let [_, b, c, d] = byte_range_of(one(&checked(&out).unwrap()));
    let mut bytes = std::fs::read(&out).unwrap();
    set_byte_range(&mut bytes, 0, [1, b as i64 - 1, c as i64, d as i64]);
    let r = fx.verify_bytes("br1.pdf", &bytes);
    let codes = one(&r).failure_codes();
    assert!(codes.contains(&codes::BYTE_RANGE_MALFORMED), "{codes:?}");
    assert!(!one(&r).is_intact());

    for bad in [
        [0, -5, c as i64, d as i64],
        [0, b as i64, c as i64, 1 << 40],
    ] {
        let mut bytes = std::fs::read(&out).unwrap();
        set_byte_range(&mut bytes, 0, bad);
        let r = fx.verify_bytes("br2.pdf", &bytes);
        assert!(one(&r)
            .failure_codes()
            .contains(&codes::BYTE_RANGE_MALFORMED));
    }
}

#[test]
fn a_gap_larger_than_contents_is_a_gap_mismatch() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let [_, b, c, d] = byte_range_of(one(&checked(&out).unwrap()));
    let mut bytes = std::fs::read(&out).unwrap();
    set_byte_range(&mut bytes, 0, [0, b as i64 - 10, c as i64, d as i64]);
    let r = fx.verify_bytes("gap.pdf", &bytes);
    let codes = one(&r).failure_codes();
    assert!(codes.contains(&codes::BYTE_RANGE_GAP_MISMATCH), "{codes:?}");
    // The signer's digest no longer matches either: ten bytes fewer are covered.
    assert!(codes.contains(&cms::DIGEST_MISMATCH), "{codes:?}");
}

#[test]
fn a_byte_range_leaving_out_the_last_line_break_still_covers_the_file() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let [_, b, c, d] = byte_range_of(one(&checked(&out).unwrap()));
    let mut bytes = std::fs::read(&out).unwrap();
    assert!(bytes.ends_with(b"%%EOF\n"));
    set_byte_range(&mut bytes, 0, [0, b as i64, c as i64, d as i64 - 1]);
    let r = fx.verify_bytes("noeol.pdf", &bytes);
    let r = one(&r);
    assert!(r.byte_range.covers_whole_file);
    assert_eq!(r.byte_range.revision, Some(1));
    // The signed digest was over the line break too, so it no longer matches: only the byte
    // range judgement is tested here.
    assert_eq!(r.failure_codes(), vec![cms::DIGEST_MISMATCH]);
}

#[test]
fn a_byte_range_ending_mid_revision_is_reported() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let [_, b, c, d] = byte_range_of(one(&checked(&out).unwrap()));
    let mut bytes = std::fs::read(&out).unwrap();
    set_byte_range(&mut bytes, 0, [0, b as i64, c as i64, d as i64 - 20]);
    let r = fx.verify_bytes("short.pdf", &bytes);
    let r = one(&r);
    assert!(r
        .failure_codes()
        .contains(&codes::BYTE_RANGE_NOT_REVISION_END));
    assert!(!r.byte_range.covers_whole_file);
}

#[test]
fn pointing_the_gap_at_another_signatures_contents_is_wrapping() {
    let fx = Fixture::new();
    let once = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let twice = fx.path("twice.pdf");
    sign_with(
        &once,
        &twice,
        &opts(),
        &test_signer_with("Lê Văn Cường", false),
        None,
    )
    .unwrap();
    let reports = checked(&twice).unwrap();
    let first = reports
        .iter()
        .find(|r| !r.byte_range.covers_whole_file)
        .unwrap();
    let [_, b1, c1, _] = byte_range_of(first);
    let len = std::fs::metadata(&twice).unwrap().len();
    // The second signature now claims to exclude the first one's /Contents.
    let mut bytes = std::fs::read(&twice).unwrap();
    set_byte_range(&mut bytes, 0, [0, b1 as i64, c1 as i64, (len - c1) as i64]);
    let reports = fx.verify_bytes("wrapped.pdf", &bytes);
    let second = reports
        .iter()
        .find(|r| r.byte_range.covers_whole_file)
        .unwrap();
    let codes = second.failure_codes();
    assert!(codes.contains(&codes::BYTE_RANGE_GAP_MISMATCH), "{codes:?}");
    assert!(!second.is_intact());
}

/// Overwrite the `/Contents <…>` token of the (last) signature with `replacement`, padded.
fn replace_contents(bytes: &mut [u8], replacement: &[u8]) {
    let key = rfind(bytes, b"/Contents <").unwrap();
    let open = key + b"/Contents ".len();
    let close = open + find(&bytes[open..], b">").unwrap() + 1;
    let slot = &mut bytes[open..close];
    slot.fill(b' ');
    slot[..replacement.len()].copy_from_slice(replacement);
}

#[test]
fn contents_missing_null_or_empty_is_a_clear_problem() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let original = std::fs::read(&out).unwrap();

    let mut missing = original.clone();
    let key = rfind(&missing, b"/Contents <").unwrap();
    missing[key + 8] = b'X'; // "/ContentX": the key is gone
    let mut null = original.clone();
    replace_contents(&mut null, b"null");
    let mut empty = original.clone();
    replace_contents(&mut empty, b"<>");
    let mut number = original.clone();
    replace_contents(&mut number, b"42");

    for (name, bytes) in [
        ("missing", missing),
        ("null", null),
        ("empty", empty),
        ("number", number),
    ] {
        let reports = fx.verify_bytes(&format!("{name}.pdf"), &bytes);
        let r = one(&reports);
        assert!(!r.is_intact(), "{name}");
        let codes = r.failure_codes();
        assert!(
            codes.contains(&codes::CONTENTS_MISSING),
            "{name}: {codes:?}"
        );
        assert!(r.signer.is_none());
    }
}

#[test]
fn garbage_in_contents_is_unreadable_cms_not_a_panic() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let mut bytes = std::fs::read(&out).unwrap();
    let key = rfind(&bytes, b"/Contents <").unwrap() + b"/Contents <".len();
    bytes[key..key + 8].copy_from_slice(b"30803080");
    let r = fx.verify_bytes("garbage.pdf", &bytes);
    assert!(one(&r).failure_codes().contains(&codes::CMS_UNREADABLE));
}

/// Hex-encode as the signer does (upper case).
fn hex(b: &[u8]) -> Vec<u8> {
    b.iter()
        .flat_map(|x| format!("{x:02X}").into_bytes())
        .collect()
}

#[test]
fn a_ber_indefinite_length_cms_verifies_after_normalisation() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let reports = checked(&out).unwrap();
    let r = one(&reports);
    let contents = r.signature.contents.clone().unwrap();
    let n = kyso_cms::ber::normalize(&contents, &Default::default()).unwrap();
    let der = n.der.to_vec();
    // Hand-convert the ContentInfo, its [0] and the SignedData SEQUENCE to indefinite length.
    fn split(b: &[u8]) -> (&[u8], &[u8]) {
        // (header, contents) of a DER TLV with a long-form length.
        let n = match b[1] {
            l if l < 0x80 => 0,
            l => (l & 0x7f) as usize,
        };
        (&b[..2 + n], &b[2 + n..])
    }
    let (_, ci) = split(&der);
    let oid_len = 2 + ci[1] as usize;
    let (oid, rest) = ci.split_at(oid_len);
    let (_, explicit) = split(rest);
    let (_, sd) = split(explicit);
    let mut ber = vec![0x30, 0x80];
    ber.extend_from_slice(oid);
    ber.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80]);
    ber.extend_from_slice(sd);
    ber.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    assert_ne!(ber, der);

    let mut bytes = std::fs::read(&out).unwrap();
    let open = rfind(&bytes, b"/Contents <").unwrap() + b"/Contents <".len();
    let close = open + find(&bytes[open..], b">").unwrap();
    let h = hex(&ber);
    assert!(h.len() <= close - open);
    bytes[open..close].fill(b'0');
    bytes[open..open + h.len()].copy_from_slice(&h);
    let reports = fx.verify_bytes("ber.pdf", &bytes);
    let r = one(&reports);
    assert!(r.ber_reencoded);
    assert_intact(r);
}

/// `cmd` can be started, or the test is a listed skip (a failure under `KYSO_REQUIRE_ALL=1`).
fn have(cmd: &str, arg: &str) -> bool {
    kyso_testkit::need(cmd, &[arg])
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn a_signature_made_by_pyhanko_verifies_intact() {
    if !have("pyhanko", "--version") || !have("openssl", "version") {
        return;
    }
    let fx = Fixture::new();
    for rsa in [false, true] {
        let signer = test_signer_with("Phạm Thị Dung", rsa);
        let key = write(&fx.dir, "key.pem", signer.key_pem.as_bytes());
        let cert = write(&fx.dir, "cert.pem", signer.cert_pem.as_bytes());
        let ca = write(&fx.dir, "ca.pem", signer.ca_pem.as_bytes());
        let p12 = fx.path("signer.p12");
        run(Command::new("openssl")
            .args(["pkcs12", "-export", "-passout", "pass:kyso", "-inkey"])
            .arg(&key)
            .arg("-in")
            .arg(&cert)
            .arg("-certfile")
            .arg(&ca)
            .arg("-out")
            .arg(&p12));
        let pass = write(&fx.dir, "pass.txt", b"kyso");
        let input = write(&fx.dir, "in.pdf", &two_page_pdf());
        let out = fx.path(if rsa { "py-rsa.pdf" } else { "py-ec.pdf" });
        // RSA in pyHanko's default (adbe.pkcs7.detached), ECDSA as PAdES (ETSI.CAdES.detached).
        let style: &[&str] = if rsa { &[] } else { &["--use-pades"] };
        run(Command::new("pyhanko")
            .args(["sign", "addsig", "--field", "1/10,10,100,60/ChuKy1"])
            .args(style)
            .args(["--reason", "Phê duyệt"])
            .args(["pkcs12", "--passfile"])
            .arg(&pass)
            .arg(&input)
            .arg(&out)
            .arg(&p12));
        let reports = checked(&out).unwrap();
        let r = one(&reports);
        assert_intact(r);
        assert_eq!(r.signature.field_name, "ChuKy1");
        let sub_filter = if rsa {
            "adbe.pkcs7.detached"
        } else {
            "ETSI.CAdES.detached"
        };
        assert_eq!(r.signature.sub_filter.as_deref(), Some(sub_filter));
        assert_eq!(
            r.cms.as_ref().unwrap().signer_certificate(),
            Some(&signer.cert)
        );
        assert!(r.byte_range.covers_whole_file);

        // And pyHanko's signature breaks like ours when the document is edited.
        let mut bytes = std::fs::read(&out).unwrap();
        let at = find(&bytes, b"(Hello)").unwrap() + 1;
        bytes[at] = b'J';
        let reports = fx.verify_bytes("py-edited.pdf", &bytes);
        assert_eq!(one(&reports).failure_codes(), vec![cms::DIGEST_MISMATCH]);
    }
}

/// A tiny deterministic generator (no dependency needed).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_damage_to_the_signature_update_never_panics_nor_verifies() {
    let fx = Fixture::new();
    let out = fx.signed(&test_signer_with("Nguyễn Văn An", false));
    let original = std::fs::read(&out).unwrap();
    let update_start = two_page_pdf().len();
    let contents = rfind(&original, b"/Contents <").unwrap();
    let [_, gap_start, gap_end, _] = byte_range_of(one(&checked(&out).unwrap()));
    let mut rng = XorShift(0x6b79_736f_2026);
    let p = fx.path("damaged.pdf");
    let mut verified = 0;
    for _ in 0..300 {
        let mut bytes = original.clone();
        let mut damaged = Vec::new();
        for _ in 0..1 + rng.next() % 3 {
            // Mostly inside the signature dictionary and its /Contents, sometimes anywhere
            // in the update.
            let span = if rng.next().is_multiple_of(2) {
                (contents, contents + 600)
            } else {
                (update_start, original.len())
            };
            let at = span.0 + (rng.next() as usize) % (span.1 - span.0);
            let replacement = b"0<>[]/ 9A(\n"[(rng.next() % 11) as usize];
            bytes[at] = replacement;
            damaged.push(at);
        }
        if bytes == original {
            continue;
        }
        std::fs::write(&p, &bytes).unwrap();
        // Opening may fail (damaged xref); it must not panic, and nothing damaged in the
        // signed bytes may verify.
        if let Ok(reports) = checked(&p) {
            for r in &reports {
                if r.is_intact() {
                    verified += 1;
                    assert!(
                        damaged
                            .iter()
                            .all(|&d| (gap_start..gap_end).contains(&(d as u64))
                                || bytes[d] == original[d]),
                        "damage at {damaged:?} outside the unsigned gap still verified"
                    );
                }
            }
        }
    }
    // Only damage inside the unsigned gap (the zero padding of /Contents) can stay intact.
    assert!(verified < 300);
}

/// The classic PDF plus an incremental update with a document timestamp field whose
/// `/Contents` is a zero placeholder; returns the bytes and the byte range.
fn pdf_with_doc_timestamp_placeholder() -> (Vec<u8>, [u64; 4]) {
    pdf_with_placeholder("/Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161")
}

/// The classic PDF plus an incremental update with a signature field whose dictionary starts
/// with `head` and has a zero `/Contents` placeholder; returns the bytes and the byte range.
fn pdf_with_placeholder(head: &str) -> (Vec<u8>, [u64; 4]) {
    let mut out = two_page_pdf();
    let text = String::from_utf8_lossy(&out).into_owned();
    let prev: u64 = text
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let o6 = out.len();
    out.extend_from_slice(
        format!("6 0 obj\n<< {head} /ByteRange [0 0000000000 0000000000 0000000000] /Contents <")
            .as_bytes(),
    );
    let gap_start = out.len() - 1;
    out.extend(std::iter::repeat_n(b'0', 2 * 8192));
    out.push(b'>');
    let gap_end = out.len();
    out.extend_from_slice(b" >>\nendobj\n");
    let o7 = out.len();
    out.extend_from_slice(
        b"7 0 obj\n<< /FT /Sig /T (Dau thoi gian) /V 6 0 R /Type /Annot /Subtype /Widget \
          /Rect [0 0 0 0] /P 4 0 R /F 132 >>\nendobj\n",
    );
    let o1 = out.len();
    out.extend_from_slice(
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R] /SigFlags 3 >> >>\nendobj\n",
    );
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 2\n0000000000 65535 f \n{o1:010} 00000 n \n6 2\n{o6:010} 00000 n \n{o7:010} 00000 n \n\
             trailer\n<< /Size 8 /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let br = [
        0,
        gap_start as u64,
        gap_end as u64,
        (out.len() - gap_end) as u64,
    ];
    let text = format!("[{} {} {} {}", br[0], br[1], br[2], br[3]);
    let at = find(&out, b"/ByteRange [").unwrap() + b"/ByteRange ".len();
    let close = at + find(&out[at..], b"]").unwrap();
    out[at..close].fill(b' ');
    out[at..at + text.len()].copy_from_slice(text.as_bytes());
    (out, br)
}

#[test]
fn a_document_timestamp_from_an_openssl_tsa_verifies_and_detects_edits() {
    if !have("openssl", "version") {
        return;
    }
    let fx = Fixture::new();
    let d = &fx.dir;
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj", "/CN=Test TSA", "-days", "30"])
        .args(["-addext", "extendedKeyUsage=critical,timeStamping"])
        .args(["-addext", "keyUsage=critical,digitalSignature"])
        .arg("-keyout")
        .arg(d.join("tsa.key"))
        .arg("-out")
        .arg(d.join("tsa.pem")));
    write(d, "serial", b"01\n");
    let cnf = format!(
        "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = {0}/serial\nsigner_cert = {0}/tsa.pem\n\
         signer_key = {0}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
         digests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n",
        d.display()
    );
    let cnf = write(d, "tsa.cnf", cnf.as_bytes());

    let (mut pdf, br) = pdf_with_doc_timestamp_placeholder();
    let src = kyso_pdf::MemSource::new(pdf.clone());
    let digest = kyso_pades::verify::digest_byte_range(&src, br, DigestAlgorithm::Sha256).unwrap();
    let hex_digest: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    run(Command::new("openssl")
        .args([
            "ts",
            "-query",
            "-sha256",
            "-cert",
            "-digest",
            &hex_digest,
            "-out",
        ])
        .arg(d.join("req.tsq")));
    run(Command::new("openssl")
        .args(["ts", "-reply", "-token_out", "-config"])
        .arg(&cnf)
        .arg("-queryfile")
        .arg(d.join("req.tsq"))
        .arg("-out")
        .arg(d.join("token.der")));
    let token = std::fs::read(d.join("token.der")).unwrap();
    let h = hex(&token);
    let open = br[1] as usize + 1;
    pdf[open..open + h.len()].copy_from_slice(&h);

    let reports = fx.verify_bytes("ts.pdf", &pdf);
    let r = one(&reports);
    assert_eq!(r.signature.kind, SignatureKind::DocTimeStamp);
    assert_eq!(r.signature.field_name, "Dau thoi gian");
    assert_intact(r);
    assert!(r.byte_range.covers_whole_file);

    let at = find(&pdf, b"(Hello)").unwrap() + 1;
    pdf[at] = b'J';
    let reports = fx.verify_bytes("ts-edited.pdf", &pdf);
    assert_eq!(
        one(&reports).failure_codes(),
        vec![codes::TIMESTAMP_IMPRINT_MISMATCH]
    );
}

/// A PDF made of `bodies` (object i+1) with a classic cross-reference table.
#[test]
fn nested_fields_inherit_the_field_type_and_cycles_are_cut() {
    let pdf = kyso_pdf::writer::classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R 6 0 R 7 0 R 8 0 R] >> >>",
        "<< /Type /Pages /Kids [] /Count 0 >>",
        // The parent carries /FT; the kid points back at its parent (a cycle).
        "<< /T (Cha) /FT /Sig /Kids [4 0 R] >>",
        "<< /T (Con) /Parent 3 0 R /V 5 0 R /Kids [3 0 R] >>",
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached \
         /ByteRange [0 10 20 30] /Contents <3080> /M (D:20261123093005+07'00') \
         /Name (Nguyen Van An) /Location <FEFF0048> >>",
        "<< /T (Text) /FT /Tx /V (hello) >>",
        "<< /T (Unsigned) /FT /Sig >>",
        "<< /T (Indirect) /FT /Sig /V 9 0 R /Kids [11 0 R] >>",
        "<< /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents 10 0 R >>",
        "<3080>",
        // A kid whose signature value is a broken object.
        "<< /T (Broken) /V 12 0 R >>",
        "<< /Type /Sig /Contents <00 >>",
    ]);
    let doc = kyso_pdf::Document::open(
        std::sync::Arc::new(kyso_pdf::MemSource::new(pdf.clone())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    let sigs = kyso_pades::verify::embedded_signatures(&doc).unwrap();
    assert_eq!(sigs.len(), 3, "{sigs:#?}");
    assert_eq!(sigs[2].field_name, "Indirect.Broken");
    assert!(sigs[2]
        .contents_problem
        .as_deref()
        .unwrap()
        .contains("unreadable"));
    let s = &sigs[0];
    assert_eq!(s.field_name, "Cha.Con");
    assert_eq!(s.sub_filter.as_deref(), Some("adbe.pkcs7.detached"));
    assert_eq!(s.filter.as_deref(), Some("Adobe.PPKLite"));
    assert_eq!(s.name.as_deref(), Some("Nguyen Van An"));
    assert_eq!(s.location.as_deref(), Some("H"));
    assert_eq!(s.m.as_deref(), Some("D:20261123093005+07'00'"));
    assert_eq!(s.byte_range, Some([0, 10, 20, 30]));
    assert_eq!(s.contents.as_deref(), Some(&[0x30, 0x80][..]));
    let (a, b) = s.contents_span.unwrap();
    assert_eq!(&pdf[a as usize..b as usize], b"<3080>");

    // An indirect /Contents cannot be excluded by a byte range: not usable, not located.
    let s = &sigs[1];
    assert_eq!(s.field_name, "Indirect");
    assert!(s.contents.is_none());
    assert!(s.contents_span.is_none());
    assert!(s.contents_span_problem.is_some());

    let p = Fixture::new();
    let reports = p.verify_bytes("fields.pdf", &pdf);
    assert_eq!(reports.len(), 3);
    assert!(reports.iter().all(|r| !r.is_intact()));
    assert!(reports[0].failure_codes().contains(&codes::CMS_UNREADABLE));
    assert!(reports[1]
        .failure_codes()
        .contains(&codes::CONTENTS_MISSING));
}

#[test]
fn an_openssl_streamed_ber_signature_is_normalised_and_found_not_detached() {
    if !have("openssl", "version") {
        return;
    }
    let fx = Fixture::new();
    let d = &fx.dir;
    let signer = test_signer_with("Hoàng Văn Em", true);
    let key = write(d, "key.pem", signer.key_pem.as_bytes());
    let cert = write(d, "cert.pem", signer.cert_pem.as_bytes());
    let (mut pdf, br) =
        pdf_with_placeholder("/Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached");
    let mut content = pdf[..br[1] as usize].to_vec();
    content.extend_from_slice(&pdf[br[2] as usize..]);
    let content_bytes = content.clone();
    let content = write(d, "content.bin", &content);
    // -stream: OpenSSL writes indefinite-length BER, and encapsulates the content in a
    // constructed OCTET STRING (it cannot stream a detached signature in DER form).
    run(Command::new("openssl")
        .args([
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-stream",
        ])
        .arg("-in")
        .arg(&content)
        .arg("-signer")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(d.join("sig.ber")));
    let ber = std::fs::read(d.join("sig.ber")).unwrap();
    assert_eq!(&ber[..2], &[0x30, 0x80], "expected indefinite-length BER");
    let h = hex(&ber);
    let open = br[1] as usize + 1;
    pdf[open..open + h.len()].copy_from_slice(&h);

    let reports = fx.verify_bytes("openssl-ber.pdf", &pdf);
    let r = one(&reports);
    assert!(r.ber_reencoded);
    let parsed = r.cms.as_ref().unwrap();
    assert_eq!(parsed.signer_certificate(), Some(&signer.cert));
    // The constructed OCTET STRING was joined: the encapsulated content is the signed bytes.
    assert_eq!(parsed.econtent.as_deref(), Some(&content_bytes[..]));
    // The CMS itself verifies; a PDF signature must be detached, though.
    assert!(r.signer.as_ref().unwrap().is_intact(), "{r:#?}");
    assert_eq!(r.failure_codes(), vec![codes::NOT_DETACHED]);
    // OpenSSL writes signing-time, which PAdES does not want: a warning.
    assert!(r
        .signer
        .as_ref()
        .unwrap()
        .warnings()
        .contains(&cms::SIGNING_TIME_PRESENT));
}

#[test]
fn openssl_detached_signatures_with_and_without_signed_attributes_verify() {
    if !have("openssl", "version") {
        return;
    }
    let fx = Fixture::new();
    let d = &fx.dir;
    for (rsa, noattr) in [(true, false), (true, true), (false, true)] {
        let signer = test_signer_with("Vũ Thị Giang", rsa);
        let key = write(d, "key.pem", signer.key_pem.as_bytes());
        let cert = write(d, "cert.pem", signer.cert_pem.as_bytes());
        let (mut pdf, br) = pdf_with_placeholder(
            "/Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached",
        );
        let mut content = pdf[..br[1] as usize].to_vec();
        content.extend_from_slice(&pdf[br[2] as usize..]);
        let content = write(d, "content.bin", &content);
        let mut cmd = Command::new("openssl");
        cmd.args([
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
        ]);
        if noattr {
            // Legacy PKCS#7: the signature is over the content itself.
            cmd.arg("-noattr");
        }
        run(cmd
            .arg("-in")
            .arg(&content)
            .arg("-signer")
            .arg(&cert)
            .arg("-inkey")
            .arg(&key)
            .arg("-out")
            .arg(d.join("sig.der")));
        let der = std::fs::read(d.join("sig.der")).unwrap();
        let h = hex(&der);
        let open = br[1] as usize + 1;
        pdf[open..open + h.len()].copy_from_slice(&h);

        let reports = fx.verify_bytes("openssl.pdf", &pdf);
        let r = one(&reports);
        assert_intact(r);
        let parsed = r.cms.as_ref().unwrap();
        assert_eq!(parsed.signed_attrs.is_none(), noattr);
        let warnings = r.signer.as_ref().unwrap().warnings();
        if noattr {
            assert!(warnings.contains(&cms::NO_SIGNED_ATTRS), "{warnings:?}");
        }

        // Edited after signing: the legacy form fails on the signature itself.
        let at = find(&pdf, b"(Hello)").unwrap() + 1;
        pdf[at] = b'J';
        let reports = fx.verify_bytes("openssl-edited.pdf", &pdf);
        let expected = if noattr {
            cms::BAD_SIGNATURE
        } else {
            cms::DIGEST_MISMATCH
        };
        assert_eq!(one(&reports).failure_codes(), vec![expected]);
    }
}

// ---------------------------------------------------------------------------------------------
// Algorithms (issues 14 and 24): every algorithm PAdES allows verifies; a legacy algorithm is a
// matter of the algorithm policy (indeterminate without proof of existence before its sunset),
// an algorithm kyso cannot verify is indeterminate — never a bad signature or a modification.

/// `openssl` can be run; otherwise the test is a listed skip (a failure under
/// `KYSO_REQUIRE_ALL=1`).
fn have_openssl() -> bool {
    have("openssl", "version")
}

/// The two-page PDF with a PAdES signature field whose CMS `openssl cms -sign` made with
/// `signer`'s key, `md` and `-keyopt`s (signed attributes unless `noattr`); `patch` may alter
/// the DER before it is embedded. Returns the PDF.
fn openssl_signed_pdf(
    fx: &Fixture,
    signer: &TestSigner,
    md: &str,
    keyopts: &[&str],
    noattr: bool,
    patch: impl Fn(&mut Vec<u8>),
) -> Vec<u8> {
    let d = &fx.dir;
    let key = write(d, "key.pem", signer.key_pem.as_bytes());
    let cert = write(d, "cert.pem", signer.cert_pem.as_bytes());
    let (mut pdf, br) =
        pdf_with_placeholder("/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached");
    let mut content = pdf[..br[1] as usize].to_vec();
    content.extend_from_slice(&pdf[br[2] as usize..]);
    let content = write(d, "content.bin", &content);
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-sign", "-binary", "-outform", "DER", "-md", md]);
    if noattr {
        cmd.arg("-noattr");
    }
    cmd.arg("-in")
        .arg(&content)
        .arg("-signer")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(d.join("sig.der"));
    // Key options apply to the signer named before them.
    for o in keyopts {
        cmd.args(["-keyopt", o]);
    }
    run(&mut cmd);
    let mut der = std::fs::read(d.join("sig.der")).unwrap();
    patch(&mut der);
    let h = hex(&der);
    let open = br[1] as usize + 1;
    pdf[open..open + h.len()].copy_from_slice(&h);
    pdf
}

/// Validate `pdf` now (or at `at`) against `anchors`, offline.
fn validated(
    fx: &Fixture,
    name: &str,
    pdf: &[u8],
    anchors: &[&str],
    at: Option<time::OffsetDateTime>,
) -> kyso_pades::validate::DocumentValidation {
    use kyso_pades::validate::{validate, ValidateOptions};
    use kyso_x509::path::TrustStore;
    let p = fx.path(name);
    std::fs::write(&p, pdf).unwrap();
    keep(pdf);
    let mut trust = TrustStore::new();
    for pem in anchors {
        trust.add(
            kyso_x509::Cert::from_pem_chain(pem.as_bytes())
                .unwrap()
                .remove(0),
        );
    }
    #[allow(clippy::disallowed_methods)] // the validation time is now, as for a user
    let mut opts = ValidateOptions::new(trust, time::OffsetDateTime::now_utc());
    opts.at = at;
    validate(
        std::sync::Arc::new(kyso_pdf::FileSource::open(&p).unwrap()),
        &opts,
    )
    .unwrap()
}

/// The signature value's hex in the PDF, one byte flipped.
fn flip_signature_byte(pdf: &[u8]) -> Vec<u8> {
    let src = kyso_pdf::MemSource::new(pdf.to_vec());
    let reports = kyso_pades::verify::verify_integrity(std::sync::Arc::new(src)).unwrap();
    let sig = one(&reports).cms.as_ref().unwrap().signature.clone();
    let h = hex(&sig);
    let at = find(pdf, &h).unwrap() + h.len() / 2;
    let mut bad = pdf.to_vec();
    bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
    bad
}

#[test]
fn openssl_pades_signatures_with_pss_any_salt_pkcs1_and_ecdsa_are_valid() {
    if !have_openssl() {
        return;
    }
    let fx = Fixture::new();
    let rsa = test_signer_with("Đỗ Văn Hùng", true);
    let ec = test_signer("Lê Thị Mai");
    let cases: &[(&TestSigner, &str, &[&str])] = &[
        (
            &rsa,
            "sha256",
            &["rsa_padding_mode:pss", "rsa_pss_saltlen:0"],
        ),
        (
            &rsa,
            "sha256",
            &["rsa_padding_mode:pss", "rsa_pss_saltlen:max"],
        ),
        (
            &rsa,
            "sha384",
            &["rsa_padding_mode:pss", "rsa_pss_saltlen:-2"],
        ),
        (
            &rsa,
            "sha512",
            &["rsa_padding_mode:pss", "rsa_pss_saltlen:20"],
        ),
        (
            &rsa,
            "sha512",
            &["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"],
        ),
        (&rsa, "sha384", &["rsa_padding_mode:pkcs1"]),
        (&ec, "sha384", &[]),
        (&ec, "sha512", &[]),
    ];
    for (signer, md, opts) in cases {
        let what = format!("{} {md} {opts:?}", signer.cert.subject_display());
        let pdf = openssl_signed_pdf(&fx, signer, md, opts, false, |_| {});
        let doc = validated(&fx, "alg.pdf", &pdf, &[&signer.ca_pem], None);
        let s = &doc.signatures[0];
        assert!(s.intact, "{what}: {:?}", s.integrity_problems);
        // Offline without revocation information: that is all that is missing.
        assert_eq!(s.reasons, vec!["REVOCATION_UNKNOWN"], "{what}");
        assert!(s.algorithms.is_empty() && s.warnings.is_empty(), "{what}");

        let bad = flip_signature_byte(&pdf);
        let doc = validated(&fx, "alg-bad.pdf", &bad, &[&signer.ca_pem], None);
        let s = &doc.signatures[0];
        assert_eq!(s.integrity_problems, vec![cms::BAD_SIGNATURE], "{what}");
        assert_eq!(s.verdict, kyso_pades::validate::Verdict::Invalid, "{what}");
        assert_eq!(s.reasons, vec!["BAD_SIGNATURE"], "{what}");
    }
}

#[test]
fn a_sha1_signature_is_verified_and_indeterminate_without_proof_of_existence() {
    if !have_openssl() {
        return;
    }
    let fx = Fixture::new();
    for (rsa, noattr) in [(true, false), (true, true), (false, false)] {
        let signer = test_signer_with("Trần Văn Bình", rsa);
        let what = format!("rsa {rsa}, noattr {noattr}");
        let pdf = openssl_signed_pdf(&fx, &signer, "sha1", &[], noattr, |_| {});
        let doc = validated(&fx, "sha1.pdf", &pdf, &[&signer.ca_pem], None);
        let s = &doc.signatures[0];
        // Cryptographically intact: no bad signature, no modification.
        assert!(s.intact, "{what}: {:?}", s.integrity_problems);
        assert!(s.integrity_problems.is_empty(), "{what}");
        assert_eq!(
            s.verdict,
            kyso_pades::validate::Verdict::Indeterminate,
            "{what}"
        );
        assert!(
            s.reasons.contains(&"CRYPTO_CONSTRAINTS_FAILURE_NO_POE"),
            "{what}: {:?}",
            s.reasons
        );
        for wrong in [
            "BAD_SIGNATURE",
            "DOCUMENT_MODIFIED",
            "WEAK_ALGORITHM",
            "MALFORMED",
        ] {
            assert!(!s.reasons.contains(&wrong), "{what}: {:?}", s.reasons);
        }
        assert_eq!(
            etsi(s),
            ("INDETERMINATE", Some("CRYPTO_CONSTRAINTS_FAILURE_NO_POE")),
            "{what}"
        );
        assert_eq!(s.algorithms.len(), 1, "{what}");
        assert_eq!(s.algorithms[0].algorithm, "SHA-1");
        assert_eq!(s.algorithms[0].object, "signature");
        assert!(!s.algorithms[0].acceptable);

        // Validated as of 2008 (the proof of existence is then the validation time, before
        // SHA-1's sunset): accepted, with a warning.
        let then = time::macros::datetime!(2008-06-01 00:00 UTC);
        let doc = validated(&fx, "sha1-2008.pdf", &pdf, &[&signer.ca_pem], Some(then));
        let s = &doc.signatures[0];
        assert!(s.algorithms[0].acceptable, "{what}");
        assert!(!s.reasons.contains(&"CRYPTO_CONSTRAINTS_FAILURE_NO_POE"));
        assert_eq!(s.warnings, vec!["LEGACY_ALGORITHM_ACCEPTED"]);

        // Tampered: a SHA-1 signature is still checked, so a flipped byte is a bad signature.
        let bad = flip_signature_byte(&pdf);
        let doc = validated(&fx, "sha1-bad.pdf", &bad, &[&signer.ca_pem], None);
        assert_eq!(doc.signatures[0].reasons, vec!["BAD_SIGNATURE"], "{what}");
        assert_eq!(
            etsi(&doc.signatures[0]),
            ("TOTAL_FAILED", Some("SIG_CRYPTO_FAILURE")),
            "{what}"
        );
    }
}

#[test]
fn an_algorithm_kyso_cannot_verify_is_indeterminate_and_nothing_else() {
    if !have_openssl() {
        return;
    }
    let fx = Fixture::new();
    let signer = test_signer_with("Phan Văn Cường", true);
    // rsaEncryption (as OpenSSL names the SignerInfo's algorithm) renamed DSA-with-SHA256.
    let rsa_encryption = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let dsa_sha256 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02,
    ];
    let rename = |der: &mut Vec<u8>| {
        let at = rfind(der, &rsa_encryption).unwrap();
        der[at..at + dsa_sha256.len()].copy_from_slice(&dsa_sha256);
    };
    let pss_sha1 = ["rsa_padding_mode:pss", "rsa_pss_saltlen:20"];
    for (what, pdf) in [
        (
            "DSA OID",
            openssl_signed_pdf(&fx, &signer, "sha256", &[], true, rename),
        ),
        (
            "RSASSA-PSS with SHA-1",
            openssl_signed_pdf(&fx, &signer, "sha1", &pss_sha1, false, |_| {}),
        ),
    ] {
        let doc = validated(&fx, "unsupported.pdf", &pdf, &[&signer.ca_pem], None);
        let s = &doc.signatures[0];
        assert_eq!(
            s.integrity_problems,
            vec!["UNSUPPORTED_ALGORITHM"],
            "{what}"
        );
        assert_eq!(
            s.verdict,
            kyso_pades::validate::Verdict::Indeterminate,
            "{what}"
        );
        assert!(s.reasons.contains(&"UNSUPPORTED_ALGORITHM"), "{what}");
        for r in &s.reasons {
            assert!(
                ["UNSUPPORTED_ALGORITHM", "REVOCATION_UNKNOWN"].contains(r),
                "{what}: {:?}",
                s.reasons
            );
        }
        // ETSI EN 319 102-1: an algorithm outside the accepted constraints.
        assert_eq!(
            etsi(s),
            ("INDETERMINATE", Some("CRYPTO_CONSTRAINTS_FAILURE")),
            "{what}"
        );
    }
}

/// A signature's ETSI indication and sub-indication.
fn etsi(s: &kyso_pades::validate::SignatureValidation) -> (&'static str, Option<&'static str>) {
    (
        s.etsi.indication.as_str(),
        s.etsi.sub_indication.map(|x| x.as_str()),
    )
}

/// A TSA made with openssl: a CA and a TSA certificate (extendedKeyUsage timeStamping,
/// critical) with an RSA-2048 (`rsa`) or ECDSA P-384 (`p384`) key; tokens signed with
/// `signer_digest`.
#[derive(Debug)]
struct OpensslTsa {
    dir: PathBuf,
}

impl OpensslTsa {
    fn new(dir: &Path, key: &str, signer_digest: &str) -> Self {
        let ossl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
        std::fs::write(
            dir.join("tsa-ext.cnf"),
            "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             [tsa]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n\
             extendedKeyUsage = critical,timeStamping\n",
        )
        .unwrap();
        let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
        ossl(&[&["genpkey"][..], &rsa, &["-out", "tsa-ca.key"]].concat());
        ossl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "tsa-ca.key",
            "-subj",
            "/CN=TSA Root",
            "-days",
            "30",
            "-extensions",
            "ca",
            "-config",
            "tsa-ext.cnf",
            "-out",
            "tsa-ca.pem",
        ]);
        let alg: &[&str] = match key {
            "p384" => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            _ => &rsa,
        };
        ossl(&[&["genpkey"][..], alg, &["-out", "tsa.key"]].concat());
        ossl(&[
            "req",
            "-new",
            "-key",
            "tsa.key",
            "-subj",
            "/CN=QuoVadis-like TSA",
            "-out",
            "tsa.csr",
        ]);
        ossl(&[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "tsa-ca.pem",
            "-CAkey",
            "tsa-ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "tsa-ext.cnf",
            "-extensions",
            "tsa",
            "-out",
            "tsa.pem",
        ]);
        std::fs::write(
            dir.join("tsa.cnf"),
            format!(
                "[tsa]\ndefault_tsa = t\n[t]\nserial = tsa.serial\ndefault_policy = 1.2.3.4.1\n\
                 digests = sha1, sha256\naccuracy = secs:1\ness_cert_id_alg = {signer_digest}\n\
                 signer_digest = {signer_digest}\n"
            ),
        )
        .unwrap();
        OpensslTsa {
            dir: dir.to_path_buf(),
        }
    }
    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.join("tsa-ca.pem")).unwrap()
    }
    /// A token over `digest`, a hash made with `md` (`sha1`, `sha256`).
    fn token(&self, md: &str, digest: &[u8]) -> Vec<u8> {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let ossl = |args: &[&str]| run(Command::new("openssl").current_dir(&self.dir).args(args));
        ossl(&[
            "ts",
            "-query",
            "-digest",
            &hex,
            &format!("-{md}"),
            "-cert",
            "-out",
            "q.tsq",
        ]);
        ossl(&[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.tsq",
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-chain",
            "tsa-ca.pem",
            "-token_out",
            "-out",
            "t.tsr",
        ]);
        std::fs::read(self.dir.join("t.tsr")).unwrap()
    }
}

impl kyso_pades::sign::Timestamper for OpensslTsa {
    fn timestamp(&self, alg: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, String> {
        assert_eq!(alg, DigestAlgorithm::Sha256);
        Ok(self.token("sha256", digest))
    }
}

#[test]
fn a_sha1_timestamp_token_on_a_sha256_signature_is_judged_by_the_policy() {
    if !have_openssl() {
        return;
    }
    let fx = Fixture::new();
    let signer = test_signer("Hoàng Thị Lan");
    for (key, signer_digest) in [("rsa", "sha1"), ("rsa", "sha256"), ("p384", "sha1")] {
        let what = format!("{key} {signer_digest}");
        let tsa = std::sync::Arc::new(OpensslTsa::new(&fx.dir, key, signer_digest));
        let input = fx.path("in.pdf");
        std::fs::write(&input, two_page_pdf()).unwrap();
        let out = fx.path("bt.pdf");
        let mut o = opts();
        o.timestamper = Some(tsa.clone());
        sign_with(&input, &out, &o, &signer, None).unwrap();
        let pdf = std::fs::read(&out).unwrap();
        let doc = validated(
            &fx,
            "bt-check.pdf",
            &pdf,
            &[&signer.ca_pem, &tsa.ca_pem()],
            None,
        );
        let s = &doc.signatures[0];
        let t = s.timestamp.as_ref().unwrap();
        assert!(s.intact, "{what}: {:?}", s.integrity_problems);
        // Never a broken timestamp: the token verifies whatever its hash, or is unknown.
        assert!(
            !s.reasons.contains(&"TIMESTAMP_INVALID"),
            "{what}: {:?}",
            s.reasons
        );
        assert_ne!(t.status, "invalid", "{what}: {:?}", t.problems);
        match (key, signer_digest) {
            ("rsa", "sha1") => {
                assert_eq!(t.status, "indeterminate");
                assert_eq!(t.problems, vec!["CRYPTO_CONSTRAINTS_FAILURE_NO_POE"]);
                assert_eq!(t.algorithms.len(), 1);
                assert_eq!(t.algorithms[0].algorithm, "SHA-1");
                assert_eq!(t.algorithms[0].object, "timestamp");
                assert!(!t.algorithms[0].acceptable);
                assert_eq!(s.verdict, kyso_pades::validate::Verdict::Indeterminate);
                assert!(
                    s.reasons.contains(&"CRYPTO_CONSTRAINTS_FAILURE_NO_POE"),
                    "{:?}",
                    s.reasons
                );
                assert!(!s.time_proven);
            }
            ("rsa", _) => {
                assert!(t.problems.is_empty(), "{:?}", t.problems);
                assert!(t.algorithms.is_empty());
                assert!(!s.reasons.contains(&"CRYPTO_CONSTRAINTS_FAILURE_NO_POE"));
            }
            _ => {
                // ECDSA P-384 with SHA-1: aws-lc-rs cannot verify it — unknown, not broken.
                assert_eq!(t.status, "indeterminate");
                assert_eq!(t.problems, vec!["TST_UNSUPPORTED_ALGORITHM"]);
                assert!(
                    s.reasons.contains(&"UNSUPPORTED_ALGORITHM"),
                    "{:?}",
                    s.reasons
                );
                assert_eq!(s.verdict, kyso_pades::validate::Verdict::Indeterminate);
            }
        }
    }
}

#[test]
fn a_sha1_document_timestamp_is_verified_and_judged_by_the_policy() {
    if !have_openssl() {
        return;
    }
    let fx = Fixture::new();
    let tsa = OpensslTsa::new(&fx.dir, "rsa", "sha1");
    let (mut pdf, br) = pdf_with_doc_timestamp_placeholder();
    let src = kyso_pdf::MemSource::new(pdf.clone());
    let digest = kyso_pades::verify::digest_byte_range(&src, br, DigestAlgorithm::Sha1).unwrap();
    let h = hex(&tsa.token("sha1", &digest));
    let open = br[1] as usize + 1;
    pdf[open..open + h.len()].copy_from_slice(&h);

    let doc = validated(&fx, "ts-sha1.pdf", &pdf, &[&tsa.ca_pem()], None);
    let s = &doc.signatures[0];
    assert_eq!(s.kind, SignatureKind::DocTimeStamp);
    assert!(
        s.intact && s.integrity_problems.is_empty(),
        "{:?}",
        s.integrity_problems
    );
    assert_eq!(s.verdict, kyso_pades::validate::Verdict::Indeterminate);
    assert!(
        s.reasons.contains(&"CRYPTO_CONSTRAINTS_FAILURE_NO_POE"),
        "{:?}",
        s.reasons
    );
    for wrong in ["DOCUMENT_MODIFIED", "TIMESTAMP_INVALID", "BAD_SIGNATURE"] {
        assert!(!s.reasons.contains(&wrong), "{:?}", s.reasons);
    }
    assert_eq!(s.algorithms.len(), 1);
    assert_eq!(s.algorithms[0].object, "document_timestamp");

    // The SHA-1 imprint is still checked: an edit is a modification.
    let at = find(&pdf, b"(Hello)").unwrap() + 1;
    pdf[at] = b'J';
    let reports = fx.verify_bytes("ts-sha1-edited.pdf", &pdf);
    assert_eq!(
        one(&reports).failure_codes(),
        vec![codes::TIMESTAMP_IMPRINT_MISMATCH]
    );
}

#[test]
fn a_pss_signature_made_by_pyhanko_with_the_maximum_salt_is_valid() {
    if !have("pyhanko", "--version") || !have_openssl() {
        return;
    }
    let fx = Fixture::new();
    let signer = test_signer_with("Ngô Thị Hạnh", true);
    let key = write(&fx.dir, "key.pem", signer.key_pem.as_bytes());
    let cert = write(&fx.dir, "cert.pem", signer.cert_pem.as_bytes());
    let ca = write(&fx.dir, "ca.pem", signer.ca_pem.as_bytes());
    let p12 = fx.path("signer.p12");
    run(Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:kyso", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&cert)
        .arg("-certfile")
        .arg(&ca)
        .arg("-out")
        .arg(&p12));
    let pass = write(&fx.dir, "pass.txt", b"kyso");
    let input = write(&fx.dir, "in.pdf", &two_page_pdf());
    let out = fx.path("py-pss.pdf");
    // pyHanko's RSASSA-PSS uses the largest salt the key allows, not the hash length.
    run(Command::new("pyhanko")
        .args(["sign", "addsig", "--field", "1/10,10,100,60/ChuKy1"])
        .args(["--use-pades", "--prefer-pss"])
        .args(["pkcs12", "--passfile"])
        .arg(&pass)
        .arg(&input)
        .arg(&out)
        .arg(&p12));
    let pdf = std::fs::read(&out).unwrap();
    let doc = validated(&fx, "py-pss-check.pdf", &pdf, &[&signer.ca_pem], None);
    let s = &doc.signatures[0];
    assert!(s.intact, "{:?}", s.integrity_problems);
    assert_eq!(s.reasons, vec!["REVOCATION_UNKNOWN"]);
    let reports = checked(&out).unwrap();
    let parsed = one(&reports).cms.as_ref().unwrap();
    assert_eq!(parsed.signature_oid, kyso_x509::oid::RSASSA_PSS);
    // The salt is not the hash length: kyso would not sign so, but verifies it.
    assert_eq!(parsed.signature_algorithm, None);
    let params = parsed.signature_params.as_ref().unwrap();
    let salt_222 = [0xa2, 0x04, 0x02, 0x02, 0x00, 0xde];
    assert!(find(params, &salt_222).is_some(), "{params:02x?}");

    // A flipped byte of the signature value: a bad signature, nothing else.
    let doc = validated(
        &fx,
        "py-pss-bad.pdf",
        &flip_signature_byte(&pdf),
        &[&signer.ca_pem],
        None,
    );
    assert_eq!(
        doc.signatures[0].integrity_problems,
        vec![cms::BAD_SIGNATURE]
    );
    assert_eq!(doc.signatures[0].reasons, vec!["BAD_SIGNATURE"]);
    // An edited document: a modification, nothing else.
    let mut edited = pdf.clone();
    let at = find(&edited, b"(Hello)").unwrap() + 1;
    edited[at] = b'J';
    let doc = validated(&fx, "py-pss-edited.pdf", &edited, &[&signer.ca_pem], None);
    assert_eq!(
        doc.signatures[0].integrity_problems,
        vec![cms::DIGEST_MISMATCH]
    );
}
