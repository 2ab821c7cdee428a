#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Every limit of the reader, exercised just over and just under: a document one past a limit
//! is a clean `LimitExceeded` error, never a panic, an allocation spree or a silent truncation.

use std::sync::Arc;

use kyso_pdf::writer::{classic_pdf, IncrementalUpdate};
use kyso_pdf::{Dict, Document, Error, Limits, MemSource, Object};

fn open(bytes: &[u8], limits: Limits) -> kyso_pdf::Result<Document> {
    Document::open(Arc::new(MemSource::new(bytes.to_vec())), limits)
}

fn over(r: kyso_pdf::Result<impl std::fmt::Debug>, what: &str) {
    match r {
        Err(Error::LimitExceeded { limit, .. }) => assert!(limit.contains(what), "{limit}"),
        other => panic!("expected the {what} limit, got {other:?}"),
    }
}

fn simple(extra: usize) -> Vec<u8> {
    let mut bodies = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_string(),
        "<< /Type /Page /Parent 2 0 R >>".to_string(),
    ];
    bodies.extend((0..extra).map(|i| format!("<< /N {i} >>")));
    classic_pdf(&bodies)
}

#[test]
fn object_count() {
    // Objects 0..=10: eleven xref entries, ten objects.
    let pdf = simple(7);
    let at = |n: u32| Limits {
        max_objects: n,
        ..Limits::default()
    };
    assert!(open(&pdf, at(10)).is_ok());
    over(open(&pdf, at(9)), "object");
}

/// `n` incremental updates on top of a one-page document.
fn updates(n: usize) -> Vec<u8> {
    let mut pdf = simple(0);
    for i in 0..n {
        let doc = open(&pdf, Limits::default()).unwrap();
        let mut upd = IncrementalUpdate::new(&doc);
        let mut d = Dict::new();
        d.set("Rev", Object::Int(i as i64));
        upd.add(d);
        let (tail, _) = upd.serialize(pdf.len() as u64).unwrap();
        pdf.extend_from_slice(&tail);
    }
    pdf
}

#[test]
fn revisions() {
    let pdf = updates(5); // six cross-reference sections
    let at = |n: usize| Limits {
        max_revisions: n,
        ..Limits::default()
    };
    assert_eq!(open(&pdf, at(6)).unwrap().sections().len(), 6);
    over(open(&pdf, at(5)), "revisions");
}

#[test]
fn decoded_stream_size() {
    // 100,000 zero bytes deflate to a few hundred; the cap is on what comes out.
    let raw = vec![0u8; 100_000];
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &raw).unwrap();
    let packed = z.finish().unwrap();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let obj_off = pdf.len();
    pdf.extend_from_slice(
        format!(
            "1 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            packed.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&packed);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 2\n0000000000 65535 f\r\n{obj_off:010} 00000 n\r\ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    let read = |max: u64| {
        let limits = Limits {
            max_decoded_stream: max,
            ..Limits::default()
        };
        let doc = open(&pdf, limits).unwrap();
        let obj = doc.get(kyso_pdf::ObjRef::new(1, 0)).unwrap();
        doc.decoded(obj.as_stream().unwrap()).map(|v| v.len())
    };
    assert_eq!(read(100_000).unwrap(), 100_000);
    over(read(99_999), "");
}

#[test]
fn nesting_depth() {
    let depth = 40;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let pdf = classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [] /Count 0 >>".to_string(),
        format!("<< /Deep {nested} >>"),
    ]);
    let get = |max: usize| {
        let limits = Limits {
            max_depth: max,
            ..Limits::default()
        };
        open(&pdf, limits).and_then(|d| d.get(kyso_pdf::ObjRef::new(3, 0)))
    };
    assert!(get(depth + 1).is_ok());
    over(get(depth - 1), "");
}

#[test]
fn object_size() {
    let big = "x".repeat(200_000);
    let pdf = classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [] /Count 0 >>".to_string(),
        format!("<< /Big /{big} >>"),
    ]);
    let get = |max: usize| {
        let limits = Limits {
            max_object_bytes: max,
            max_token_bytes: 1 << 20,
            ..Limits::default()
        };
        open(&pdf, limits).and_then(|d| d.get(kyso_pdf::ObjRef::new(3, 0)))
    };
    assert!(get(1 << 20).is_ok());
    assert!(
        get(100_000).is_err(),
        "an object larger than the window cap"
    );
}
