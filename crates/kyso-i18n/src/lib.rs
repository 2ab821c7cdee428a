//! What kyso says to people. Everything a user reads is Vietnamese by default, English on
//! request (`--lang en` or `KYSO_LANG=en`): [`Lang`], [`UserError`] (a one-line message in both
//! languages and the process exit code, see [`exit`]), the [`ue!`] shorthand, and the
//! [`catalogue`] of library errors said as sentences and classified into exit codes.
//!
//! No command-line parsing here: with the `clap` feature [`Lang`] is also a clap value enum.

use std::fmt;

pub mod catalogue;

/// The process exit codes of every `kyso` command (docs/exit-codes.md).
pub mod exit {
    /// Done; for `kyso verify`, every signature is valid.
    pub const OK: u8 = 0;
    /// `kyso verify`: the verdict is INVALID. Other commands: the operation failed or was refused
    /// for a reason that is neither the user's input nor the environment (a refusal at a
    /// confirmation, a broken audit log, a certificate chain that reaches no root, …).
    pub const INVALID: u8 = 1;
    /// `kyso verify`: the verdict is INDETERMINATE (not enough to decide, e.g. revocation
    /// unknown because a service could not be reached).
    pub const INDETERMINATE: u8 = 2;
    /// The command line or its input is wrong: unknown option, bad value, a missing, unreadable
    /// or damaged input file, a wrong key-file password, a placement that does not fit.
    pub const USAGE: u8 = 3;
    /// The environment failed: network (TSA, OCSP/CRL, remote signing service), the USB token
    /// or its driver, the database, a full or read-only disk.
    pub const ENVIRONMENT: u8 = 4;
}

/// The language of what users read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// An error meant for the user: a one-line message in both languages and the exit code.
#[derive(Debug, Clone)]
pub struct UserError {
    pub vi: String,
    pub en: String,
    /// The process exit code (one of [`exit`]).
    pub code: u8,
}

impl UserError {
    /// A failure with exit code [`exit::INVALID`] (1) unless classified otherwise.
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        UserError {
            vi: vi.into(),
            en: en.into(),
            code: exit::INVALID,
        }
    }
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
    /// Classified as a usage or input error ([`exit::USAGE`]).
    pub fn usage(self) -> Self {
        self.with_code(exit::USAGE)
    }
    /// Classified as an environment failure ([`exit::ENVIRONMENT`]).
    pub fn environment(self) -> Self {
        self.with_code(exit::ENVIRONMENT)
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
        $crate::UserError::new(format!($vi $(, $va)*), format!($en $(, $ea)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_error_speaks_both_languages_and_defaults_to_exit_1() {
        let e = ue!("không tìm thấy {}", "a.pdf"; "not found: {}", "a.pdf");
        assert_eq!(e.message(Lang::Vi), "không tìm thấy a.pdf");
        assert_eq!(e.message(Lang::En), "not found: a.pdf");
        assert_eq!(e.to_string(), "not found: a.pdf");
        assert_eq!(e.code, 1);
        assert_eq!(e.clone().usage().code, 3);
        assert_eq!(e.environment().code, 4);
        assert_eq!(Lang::default().pick("vi", "en"), "vi");
    }
}
