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
    crate::writer::classic_pdf(&objs)
}

pub fn open(bytes: Vec<u8>) -> Document {
    Document::open(Arc::new(MemSource::new(bytes)), Limits::default()).unwrap()
}

pub fn one_page_update(rotate: u16) -> IncrementalUpdate {
    IncrementalUpdate::new(&open(one_page_pdf(rotate)))
}
