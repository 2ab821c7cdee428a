//! Helpers for unit tests: a minimal one-page PDF.

use std::sync::Arc;

use crate::reader::Document;
use crate::source::MemSource;
use crate::writer::IncrementalUpdate;
use crate::Limits;

/// A minimal PDF with one A4 page rotated by `rotate` degrees and a classic xref table.
pub fn one_page_pdf(rotate: u16) -> Vec<u8> {
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Rotate {rotate} \
             /Resources << >> /Contents 4 0 R >>"
        ),
        "<< /Length 0 >>\nstream\n\nendstream".to_owned(),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offs = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).as_bytes());
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

pub fn open(bytes: Vec<u8>) -> Document {
    Document::open(Arc::new(MemSource::new(bytes)), Limits::default()).unwrap()
}

pub fn one_page_update(rotate: u16) -> IncrementalUpdate {
    IncrementalUpdate::new(&open(one_page_pdf(rotate)))
}
