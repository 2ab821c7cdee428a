#![doc = include_str!("../README.md")]

pub mod appearance;
pub mod compose;
pub mod error;
pub mod extract;
pub mod filter;
pub mod font;
pub mod image;
pub mod lexer;
pub mod limits;
pub mod object;
pub mod reader;
pub mod source;
pub mod text;
pub mod textfield;
pub mod writer;
pub mod xref;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test_support;

pub use error::{ComposeError, Error, FontError, ImageError, Result};
pub use limits::Limits;
pub use object::{Dict, Lexeme, Name, ObjRef, Object, Real, Stream, StreamData};
pub use reader::{Document, Page};
pub use source::{FileSource, MemSource, Source};
