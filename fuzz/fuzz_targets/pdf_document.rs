//! A whole document from arbitrary bytes: xref chain, trailer, page tree, every object and
//! every stream decoded — the path every uploaded PDF takes.
#![no_main]
use std::sync::Arc;

use kyso_pdf::{Document, Limits, MemSource, ObjRef, Object};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_objects: 100_000,
        max_decoded_stream: 1 << 20,
        max_object_bytes: 1 << 20,
        max_container_len: 10_000,
        max_pages: 1_000,
        max_token_bytes: 1 << 16,
        ..Limits::default()
    };
    let Ok(doc) = Document::open(Arc::new(MemSource::new(data.to_vec())), limits) else {
        return;
    };
    let _ = doc.catalog();
    if let Ok(pages) = doc.pages() {
        for p in pages.iter().take(50) {
            let _ = doc.rect(&Object::Array(
                p.media_box.iter().map(|v| Object::real(*v)).collect(),
            ));
        }
    }
    let ids: Vec<u32> = doc.xref().keys().copied().take(500).collect();
    for num in ids {
        if let Ok(Object::Stream(s)) = doc.get(ObjRef { num, gen: 0 }) {
            let _ = doc.decoded(&s);
        }
    }
});
