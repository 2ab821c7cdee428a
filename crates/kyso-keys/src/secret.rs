//! A secret string (PIN, password) that is zeroized on drop and never printed.

use std::fmt;

use zeroize::Zeroizing;

/// A password or PIN. `Debug` prints a placeholder; memory is wiped on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(Zeroizing::new(s))
    }
    /// The secret text. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_does_not_show_the_secret() {
        let s = super::Secret::from("123456");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
