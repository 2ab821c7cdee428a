//! The scan check (kyso_pades::scan_check) on arbitrary bytes: version, pages, every image
//! painted on a page with its placement (resolution, colour), actions — the path a scanned
//! paper document uploaded by the clerk takes before it may become an electronic copy.
#![no_main]
use kyso_pades::scan_check::check_with;
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
    // Whatever the input, the report is consistent: at most one entry per page counted, a
    // resolution is a finite number, never negative, and every finding is said in both languages.
    assert!(report.pages.len() <= report.page_count);
    assert!(report
        .pages
        .iter()
        .all(|p| p.dpi.is_none_or(|d| d.is_finite() && d >= 0.0)));
    assert!(report
        .findings
        .iter()
        .all(|f| !f.vi.is_empty() && !f.en.is_empty()));
});
