//! User-facing language. Everything a user reads is Vietnamese by default, English on request
//! (`--lang en` or `KYSO_LANG=en`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// Pick the text for this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// An error meant for the user: a one-line message in both languages.
#[derive(Debug, Clone)]
pub struct UserError {
    pub vi: String,
    pub en: String,
    /// The process exit code.
    pub code: u8,
}

#[allow(dead_code)] // used by the commands that arrive with issue 2
impl UserError {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        UserError {
            vi: vi.into(),
            en: en.into(),
            code: 1,
        }
    }
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

impl std::error::Error for UserError {}

/// Shorthand: `ue!("vi {}", x; "en {}", x)`.
#[macro_export]
macro_rules! ue {
    ($vi:literal $(, $va:expr)* ; $en:literal $(, $ea:expr)*) => {
        $crate::lang::UserError::new(format!($vi $(, $va)*), format!($en $(, $ea)*))
    };
}
