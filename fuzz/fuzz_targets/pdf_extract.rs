//! Page extraction (the base of a TRÍCH SAO) from arbitrary bytes: the first bytes choose the
//! page list, the rest is the PDF. An error or a new file, never a panic; an extract that
//! comes out opens again with the same number of pages and extracting it again changes
//! nothing (the pages are kept whole: same bytes).
#![no_main]
use std::sync::Arc;

use kyso_pdf::extract::{extract_pages, ExtractLimits, PageSelection};
use kyso_pdf::{Document, Limits, MemSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let spec_len = usize::from(n % 16).min(rest.len());
    let (spec, pdf) = rest.split_at(spec_len);
    let Ok(spec) = std::str::from_utf8(spec) else {
        return;
    };
    let selection = match PageSelection::parse(spec) {
        Ok(s) => s,
        Err(_) => PageSelection::parse("1").expect("a valid list"),
    };
    let limits = Limits {
        max_objects: 100_000,
        max_decoded_stream: 1 << 20,
        max_object_bytes: 1 << 20,
        max_container_len: 10_000,
        max_pages: 1_000,
        max_token_bytes: 1 << 16,
        ..Limits::default()
    };
    let Ok(doc) = Document::open(Arc::new(MemSource::new(pdf.to_vec())), limits.clone()) else {
        return;
    };
    let bounds = ExtractLimits {
        max_objects: 20_000,
        max_depth: 64,
        max_stream_bytes: 8 << 20,
    };
    let Ok(out) = extract_pages(&doc, &selection, &bounds) else {
        return;
    };
    let again = Document::open(Arc::new(MemSource::new(out.clone())), limits)
        .expect("an extract opens again");
    let pages = again.pages().expect("an extract has a page tree");
    assert_eq!(pages.len(), selection.len());
    let all = PageSelection::parse(&format!("1-{}", pages.len())).expect("a valid list");
    let twice = extract_pages(&again, &all, &bounds).expect("an extract extracts again");
    assert_eq!(
        twice, out,
        "extracting every page of an extract gives it back"
    );
});
