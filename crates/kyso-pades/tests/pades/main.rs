#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The signing engine, end to end on the library API: a throwaway CA made with rcgen, a
//! minimal PDF, and checks of the structure that every validator relies on.

#[path = "../support/mod.rs"]
mod support;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::*;

use der::{Decode, Encode};
use kyso_cms::{DigestAlgorithm, SignatureAlgorithm, Signer};
use kyso_pades::{finalize, prepare, sign_with, Error};
use kyso_pdf::{Document, FileSource, Limits, Object};

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Find the n-th signature dictionary's /ByteRange and /Contents.
fn signatures(path: &Path) -> Vec<([u64; 4], Vec<u8>)> {
    let doc = Document::open(Arc::new(FileSource::open(path).unwrap()), Limits::default()).unwrap();
    let mut out = Vec::new();
    for (num, _) in doc.xref().iter() {
        let Ok(Object::Dict(d)) = doc.get(kyso_pdf::ObjRef::new(*num, 0)) else {
            continue;
        };
        if d.get_name("Type").is_some_and(|t| t == "Sig") {
            let br: Vec<u64> = d
                .get("ByteRange")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_int().unwrap() as u64)
                .collect();
            let contents = d.get("Contents").unwrap().as_string().unwrap().to_vec();
            out.push(([br[0], br[1], br[2], br[3]], contents));
        }
    }
    out.sort_by_key(|(br, _)| br[1]);
    out
}

#[test]
fn the_input_is_a_byte_exact_prefix_and_the_byte_range_covers_all_but_the_contents() {
    let dir = tmpdir();
    let input = write(dir.path(), "in.pdf", &two_page_pdf());
    let output = dir.path().join("out.pdf");
    let signer = test_signer("Nguyễn Văn An");
    sign_with(&input, &output, &opts(), &signer, None).unwrap();

    let original = std::fs::read(&input).unwrap();
    let signed = std::fs::read(&output).unwrap();
    assert!(
        signed.starts_with(&original),
        "incremental update must keep the original bytes"
    );

    let sigs = signatures(&output);
    assert_eq!(sigs.len(), 1);
    let (br, contents) = &sigs[0];
    assert_eq!(br[0], 0);
    assert_eq!(
        br[2] + br[3],
        signed.len() as u64,
        "the second range ends at the end of the file"
    );
    assert_eq!(signed[br[1] as usize], b'<');
    assert_eq!(signed[br[2] as usize - 1], b'>');
    // The gap holds exactly the hex string of /Contents.
    assert_eq!((br[2] - br[1] - 2) as usize, contents.len() * 2);

    // The CMS message-digest is the SHA-256 of the two ranges, and the signature verifies.
    let mut data = signed[..br[1] as usize].to_vec();
    data.extend_from_slice(&signed[br[2] as usize..]);
    let digest = DigestAlgorithm::Sha256.digest(&data);
    let ci = cms::content_info::ContentInfo::from_der(strip_padding(contents)).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    let si = sd.signer_infos.0.get(0).unwrap();
    let attrs = si.signed_attrs.as_ref().unwrap();
    let md = attrs
        .iter()
        .find(|a| a.oid == kyso_cms::signed_data::ID_MESSAGE_DIGEST)
        .unwrap();
    let md: der::asn1::OctetString = md.values.get(0).unwrap().decode_as().unwrap();
    assert_eq!(md.as_bytes(), digest.as_slice());
    assert!(
        attrs
            .iter()
            .all(|a| a.oid != kyso_cms::signed_data::ID_SIGNING_TIME),
        "PAdES: no CMS signing-time"
    );
    assert!(attrs
        .iter()
        .any(|a| a.oid == kyso_cms::ess::ID_AA_SIGNING_CERTIFICATE_V2));
    SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)
        .verify(
            &signer.cert,
            &attrs.to_der().unwrap(),
            si.signature.as_bytes(),
        )
        .unwrap();
}

/// `/Contents` is zero-padded after the DER.
fn strip_padding(contents: &[u8]) -> &[u8] {
    let mut r = der::SliceReader::new(contents).unwrap();
    let h = der::Header::decode(&mut r).unwrap();
    let len =
        usize::try_from(h.length()).unwrap() + usize::try_from(h.encoded_len().unwrap()).unwrap();
    &contents[..len]
}

#[test]
fn the_signature_dictionary_has_the_pades_entries() {
    let dir = tmpdir();
    let input = write(dir.path(), "in.pdf", &two_page_pdf());
    let output = dir.path().join("out.pdf");
    sign_with(
        &input,
        &output,
        &opts(),
        &test_signer("Trần Thị Bình"),
        None,
    )
    .unwrap();
    let text = String::from_utf8_lossy(&std::fs::read(&output).unwrap()).into_owned();
    assert!(text.contains("/SubFilter /ETSI.CAdES.detached"));
    assert!(
        text.contains("/M (D:20261123093005+07'00')"),
        "signing time in Vietnam time"
    );
    assert!(text.contains("/SigFlags 3"));
    assert!(text.contains("/FT /Sig"));
}

#[test]
fn a_second_signature_leaves_the_first_byte_range_intact() {
    let dir = tmpdir();
    let input = write(dir.path(), "in.pdf", &two_page_pdf());
    let once = dir.path().join("once.pdf");
    let twice = dir.path().join("twice.pdf");
    sign_with(&input, &once, &opts(), &test_signer("Nguyễn Văn An"), None).unwrap();
    sign_with(
        &once,
        &twice,
        &opts(),
        &test_signer("Sở Khoa học và Công nghệ"),
        None,
    )
    .unwrap();
    let first = std::fs::read(&once).unwrap();
    let second = std::fs::read(&twice).unwrap();
    assert!(second.starts_with(&first));
    let sigs = signatures(&twice);
    assert_eq!(sigs.len(), 2);
    assert_eq!(
        sigs[0].0[2] + sigs[0].0[3],
        first.len() as u64,
        "the first signature still covers its revision"
    );
    let doc = Document::open(
        Arc::new(FileSource::open(&twice).unwrap()),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(doc.sections().len(), 3);
}

#[test]
fn signing_a_file_with_a_cross_reference_stream_appends_a_cross_reference_stream() {
    // Make an xref-stream file by signing once with a hand-converted base: build it with the
    // writer from a classic file whose last section we pretend is a stream.
    let dir = tmpdir();
    let base = two_page_pdf();
    // Re-express the base with an xref stream.
    let xs = to_xref_stream(&base);
    let input = write(dir.path(), "xs.pdf", &xs);
    let output = dir.path().join("out.pdf");
    sign_with(
        &input,
        &output,
        &opts(),
        &test_signer("Nguyễn Văn An"),
        None,
    )
    .unwrap();
    let doc = Document::open(
        Arc::new(FileSource::open(&output).unwrap()),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(doc.sections()[0].kind, kyso_pdf::xref::SectionKind::Stream);
    assert_eq!(doc.pages().unwrap().len(), 2);
    assert_eq!(signatures(&output).len(), 1);
}

/// Replace the classic table and trailer of `pdf` with an uncompressed cross-reference stream.
fn to_xref_stream(pdf: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let xref_at = text.rfind("xref\n").unwrap();
    let mut out = pdf[..xref_at].to_vec();
    let doc = Document::open(
        Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())),
        Limits::default(),
    )
    .unwrap();
    let mut data = vec![0u8, 0, 0, 0, 0, 0xff];
    for (_, e) in doc.xref().iter() {
        if let kyso_pdf::xref::Entry::InFile { offset, .. } = e {
            data.push(1);
            data.extend_from_slice(&(*offset as u32).to_be_bytes());
            data.push(0);
        }
    }
    let n = doc.size();
    let xs_off = out.len();
    data.push(1);
    data.extend_from_slice(&(xs_off as u32).to_be_bytes());
    data.push(0);
    out.extend_from_slice(
        format!(
            "{n} 0 obj\n<< /Type /XRef /Size {} /W [1 4 1] /Root 1 0 R /Length {} >>\nstream\n",
            n + 1,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xs_off}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn a_signature_from_another_key_is_refused_at_finalize_and_nothing_is_written() {
    let dir = tmpdir();
    let input = write(dir.path(), "in.pdf", &two_page_pdf());
    let output = dir.path().join("out.pdf");
    let alice = test_signer("Nguyễn Văn An");
    let mallory = test_signer("Kẻ Mạo Danh");
    let prepared = prepare(
        &input,
        &output,
        &opts(),
        &alice.cert,
        &alice.chain,
        alice.algorithm(),
        None,
    )
    .unwrap();
    let wrong = mallory.sign(&prepared.request()).unwrap();
    let err = finalize(prepared, &wrong, &alice.cert, &alice.chain, Vec::new()).unwrap_err();
    assert!(
        matches!(err, Error::Cms(kyso_cms::Error::SignatureMismatch)),
        "{err:?}"
    );
    assert!(!output.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file left behind: {leftovers:?}"
    );
}

#[test]
fn bad_inputs_are_errors() {
    let dir = tmpdir();
    let signer = test_signer("Nguyễn Văn An");
    let out = dir.path().join("out.pdf");
    let not_pdf = write(dir.path(), "a.pdf", b"this is not a PDF");
    assert!(matches!(
        sign_with(&not_pdf, &out, &opts(), &signer, None),
        Err(Error::Pdf(_))
    ));
    let pdf = two_page_pdf();
    let truncated = write(dir.path(), "t.pdf", &pdf[..pdf.len() / 2]);
    assert!(matches!(
        sign_with(&truncated, &out, &opts(), &signer, None),
        Err(Error::Pdf(_))
    ));
    let at = pdf.windows(11).rposition(|w| w == b"/Root 1 0 R").unwrap() + 11;
    let encrypted = [&pdf[..at], b" /Encrypt 1 0 R", &pdf[at..]].concat();
    let encrypted = write(dir.path(), "e.pdf", &encrypted);
    assert!(matches!(
        sign_with(&encrypted, &out, &opts(), &signer, None),
        Err(Error::Pdf(kyso_pdf::Error::Encrypted))
    ));
    let widget = Box::new(
        |_: &Document, _: &mut kyso_pdf::writer::IncrementalUpdate| {
            Ok(kyso_pades::Widget::invisible(7))
        },
    );
    let input = write(dir.path(), "in.pdf", &pdf);
    assert!(matches!(
        sign_with(&input, &out, &opts(), &signer, Some(widget)),
        Err(Error::PageOutOfRange { page: 8, count: 2 })
    ));
    assert!(!out.exists());
}

#[test]
fn field_names_are_unique() {
    let dir = tmpdir();
    let input = write(dir.path(), "in.pdf", &two_page_pdf());
    let once = dir.path().join("once.pdf");
    let mut o = opts();
    o.field_name = Some("ChuKy".into());
    sign_with(&input, &once, &o, &test_signer("A"), None).unwrap();
    let err = sign_with(
        &once,
        &dir.path().join("twice.pdf"),
        &o,
        &test_signer("B"),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::FieldExists(ref n) if n == "ChuKy"));
}

/// The files in `dir` (temporary files included).
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_path_api_writes_what_it_hashed_even_if_the_input_changes_before_finalize() {
    let dir = tmpdir();
    let original = two_page_pdf();
    let input = write(dir.path(), "in.pdf", &original);
    let output = dir.path().join("out.pdf");
    let alice = test_signer("Nguyễn Văn An");
    let prepared = prepare(
        &input,
        &output,
        &opts(),
        &alice.cert,
        &alice.chain,
        alice.algorithm(),
        None,
    )
    .unwrap();
    // The digest pass copied the input into a temporary file beside the output.
    assert_eq!(files_in(dir.path()).len(), 2, "{:?}", files_in(dir.path()));
    // Someone rewrites the input while the key is busy (same length, other bytes), then
    // truncates it: the output is made from the copy that was hashed, not from this.
    let mut changed = original.clone();
    for b in changed.iter_mut().skip(20).take(40) {
        *b = b'x';
    }
    std::fs::write(&input, &changed).unwrap();
    let signature = alice.sign(&prepared.request()).unwrap();
    std::fs::write(&input, b"%PDF-1.7\n").unwrap();
    finalize(prepared, &signature, &alice.cert, &alice.chain, Vec::new()).unwrap();
    let signed = std::fs::read(&output).unwrap();
    assert!(signed.starts_with(&original));
    let reports = kyso_pades::verify::verify_integrity_file(&output).unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_intact(), "{:?}", reports[0].failure_codes());
    // Nothing left behind but the input and the output.
    assert_eq!(files_in(dir.path()), ["in.pdf", "out.pdf"]);
}

#[test]
fn a_prepared_signature_dropped_leaves_no_temporary_file() {
    let dir = tmpdir();
    let input = write(dir.path(), "in.pdf", &two_page_pdf());
    let alice = test_signer("Nguyễn Văn An");
    let prepared = prepare(
        &input,
        &dir.path().join("out.pdf"),
        &opts(),
        &alice.cert,
        &alice.chain,
        alice.algorithm(),
        None,
    )
    .unwrap();
    assert_eq!(files_in(dir.path()).len(), 2);
    drop(prepared);
    assert_eq!(files_in(dir.path()), ["in.pdf"]);
}

#[test]
fn signing_a_file_in_place_keeps_the_original_as_prefix() {
    let dir = tmpdir();
    let original = two_page_pdf();
    let input = write(dir.path(), "in.pdf", &original);
    sign_with(&input, &input, &opts(), &test_signer("A"), None).unwrap();
    let signed = std::fs::read(&input).unwrap();
    assert!(signed.len() > original.len() && signed.starts_with(&original));
    let reports = kyso_pades::verify::verify_integrity_file(&input).unwrap();
    assert!(reports.len() == 1 && reports[0].is_intact());
    assert_eq!(files_in(dir.path()), ["in.pdf"]);
}

#[test]
fn written_to_a_writer_a_changed_input_is_refused() {
    let dir = tmpdir();
    let original = two_page_pdf();
    let input = write(dir.path(), "in.pdf", &original);
    let src = Arc::new(FileSource::open(&input).unwrap());
    let signed = kyso_pades::sign_source(src, &opts(), &test_signer("A"), None).unwrap();
    // Unchanged: written whole.
    let whole = signed.to_vec().unwrap();
    assert!(whole.starts_with(&original));
    // The same length, one byte different: the second read sees it and refuses.
    let mut changed = original.clone();
    changed[30] ^= 1;
    std::fs::write(&input, &changed).unwrap();
    let mut out = Vec::new();
    let err = signed.write_to(&mut out).unwrap_err();
    assert!(matches!(err, Error::Structure(_)), "{err:?}");
}
