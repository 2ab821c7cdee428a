//! The draft format check (kyso_pades::format_check) on arbitrary bytes: version, page sizes,
//! fonts, every object scanned for JavaScript and actions, page text for the margins and the
//! number and date lines — the path every uploaded draft takes before approval.
#![no_main]
use kyso_pades::format_check::check_with;
use kyso_pdf::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_objects: 100_000,
        max_decoded_stream: 1 << 20,
        max_object_bytes: 1 << 20,
        max_container_len: 10_000,
        max_pages: 1_000,
        max_token_bytes: 1 << 16,
        max_content_ops: 200_000,
        max_content_bytes: 1 << 20,
        max_page_glyphs: 50_000,
        ..Limits::default()
    };
    let report = check_with(data, &limits);
    // Whatever the input, the report is consistent: one size per page counted, and every
    // finding said in both languages.
    assert_eq!(report.pages.len(), report.page_count);
    assert!(report
        .findings
        .iter()
        .all(|f| !f.vi.is_empty() && !f.en.is_empty()));
});
