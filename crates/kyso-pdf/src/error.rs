//! The one error type of this crate. Every parse error names the byte offset where it happened.

/// What went wrong while reading or writing a PDF.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes at `offset` are not what the PDF syntax requires.
    #[error("malformed PDF at byte {offset}: {what}")]
    Malformed { offset: u64, what: &'static str },
    /// The file ended before a complete structure could be read.
    #[error("PDF truncated at byte {offset}: {what}")]
    Truncated { offset: u64, what: &'static str },
    /// A configured limit was exceeded; the input is refused rather than exhausting the machine.
    #[error("PDF exceeds the limit on {limit} ({value} > {max})")]
    LimitExceeded {
        limit: &'static str,
        value: u64,
        max: u64,
    },
    /// A referenced object does not exist.
    #[error("object {num} {gen} R is missing")]
    MissingObject { num: u32, gen: u16 },
    /// An object has a different type than the structure requires.
    #[error("object has the wrong type: expected {expected} for {context}")]
    WrongType {
        expected: &'static str,
        context: &'static str,
    },
    /// A feature we deliberately do not handle.
    #[error("unsupported PDF feature: {0}")]
    Unsupported(&'static str),
    /// The file is not a PDF at all (no `%PDF-` header in its first kilobyte).
    #[error("not a PDF file (no %PDF- header)")]
    NotPdf,
    /// The document is encrypted.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// A font program could not be used (see [`FontError`]).
    #[error("font error: {0}")]
    Font(#[from] FontError),
    /// An image could not be decoded (see [`ImageError`]).
    #[error("image error: {0}")]
    Image(#[from] ImageError),
    /// A document could not be composed (see [`ComposeError`]).
    #[error("cannot compose the document: {0}")]
    Compose(#[from] ComposeError),
    /// A page index past the last page.
    #[error("page {index} does not exist (the document has {count} pages)")]
    PageOutOfRange { index: usize, count: usize },
    /// Reading or writing the underlying file failed.
    #[error("I/O error: {0}")]
    Io(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// Why a font could not be loaded, shaped or embedded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FontError {
    /// The bytes are not a TrueType/OpenType font that we can read.
    #[error("not a readable TrueType/OpenType font")]
    Parse,
    /// The font has no `glyf` outlines (CFF-flavoured fonts are not embedded as CIDFontType2).
    #[error("the font has no TrueType outlines")]
    NotTrueType,
    /// Characters of the text have no glyph in the font; nothing is replaced by `.notdef`.
    #[error("the font has no glyph for {}", describe_chars(.missing))]
    MissingGlyphs {
        /// Each missing character once, in order of first appearance.
        missing: Vec<char>,
    },
    /// The font file is larger than accepted.
    #[error("the font file is too large ({size} > {max} bytes)")]
    TooLarge { size: u64, max: u64 },
    /// The subsetter refused the font.
    #[error("the font could not be subset")]
    Subset,
}

fn describe_chars(chars: &[char]) -> String {
    chars
        .iter()
        .map(|c| format!("U+{:04X} '{}'", u32::from(*c), c.escape_debug()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why [`Composer`](crate::compose::Composer) refused its input. Sizes are in whole points
/// (rounded up) so that the error stays comparable.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComposeError {
    /// The document would need more pages than allowed.
    #[error("the document would have more than {max} pages")]
    TooManyPages { max: usize },
    /// A table has more columns than allowed.
    #[error("a table may have at most {max} columns, not {count}")]
    TooManyColumns { count: usize, max: usize },
    /// A table without columns.
    #[error("a table needs at least one column")]
    NoColumns,
    /// A table row has a different number of cells than the header (rows count from 0).
    #[error("table row {row} has {cells} cells but the table has {columns} columns")]
    RowShape {
        row: usize,
        cells: usize,
        columns: usize,
    },
    /// The relative column widths are not one positive finite number per column.
    #[error("the column widths are invalid: {what}")]
    BadWidths { what: &'static str },
    /// One table row (with the header repeated above it) does not fit on an empty page; rows
    /// are not split across pages. `row` counts from 0; `None` is the header itself.
    #[error(
        "table row {row:?} is {height_pt} pt tall, more than a page holds ({available_pt} pt)"
    )]
    RowTooTall {
        row: Option<usize>,
        height_pt: u64,
        available_pt: u64,
    },
    /// A block of [`columns`](crate::compose::Composer::columns) is taller than a page.
    #[error("the block is {height_pt} pt tall, more than a page holds ({available_pt} pt)")]
    BlockTooTall { height_pt: u64, available_pt: u64 },
    /// A parameter (margin, font size, spacing, split, text length...) is out of its range.
    #[error("{field} is out of range: {value} (allowed {allowed})")]
    OutOfRange {
        field: &'static str,
        value: String,
        allowed: &'static str,
    },
}

/// Why an image could not be decoded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// The bytes do not start with the PNG signature.
    #[error("not a PNG image")]
    NotPng,
    /// The PNG ends before the image data is complete.
    #[error("the PNG is truncated")]
    Truncated,
    /// The PNG is damaged (bad chunk, CRC, or compressed data).
    #[error("the PNG is malformed")]
    Malformed,
    /// The image exceeds one of the [`ImageLimits`](crate::image::ImageLimits).
    #[error("the image exceeds the limit on {limit} ({value} > {max})")]
    TooLarge {
        limit: &'static str,
        value: u64,
        max: u64,
    },
    /// The image has zero width or height.
    #[error("the image is empty")]
    Empty,
}

/// Short for `Result<T, kyso_pdf::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
