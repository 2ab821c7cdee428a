//! Explicit limits for parsing untrusted PDFs. The defaults are strict but generous enough for
//! any real agency document (scanned annexes of several GB stay far below them because streams
//! are never decoded whole unless asked to).

/// Limits applied while reading a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and dictionaries.
    pub max_depth: usize,
    /// Largest object number accepted in a cross-reference section.
    pub max_objects: u32,
    /// Most cross-reference sections (revisions) followed through `/Prev`.
    pub max_revisions: usize,
    /// Most bytes a single decoded stream may expand to.
    pub max_decoded_stream: u64,
    /// Most bytes of a single object (outside stream data) that the parser reads.
    pub max_object_bytes: usize,
    /// Most elements in one array or dictionary.
    pub max_container_len: usize,
    /// Most pages walked in the page tree.
    pub max_pages: usize,
    /// Most bytes of a single string or name token.
    pub max_token_bytes: usize,

    // Content streams (text extraction, `text` module).
    /// Most operators interpreted on one page, form XObjects included.
    pub max_content_ops: u64,
    /// Deepest nesting of `q` (saved graphics states) in one content stream.
    pub max_graphics_depth: usize,
    /// Deepest nesting of form XObjects drawn through `Do`.
    pub max_form_depth: usize,
    /// Most decoded content-stream bytes interpreted for one page, form XObjects included.
    pub max_content_bytes: u64,
    /// Most glyphs extracted from one page.
    pub max_page_glyphs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_objects: 8_000_000,
            max_revisions: 1_000,
            max_decoded_stream: 256 * 1024 * 1024,
            max_object_bytes: 64 * 1024 * 1024,
            max_container_len: 1_000_000,
            max_pages: 100_000,
            max_token_bytes: 32 * 1024 * 1024,

            max_content_ops: 20_000_000,
            max_graphics_depth: 256,
            max_form_depth: 32,
            max_content_bytes: 128 * 1024 * 1024,
            max_page_glyphs: 2_000_000,
        }
    }
}
