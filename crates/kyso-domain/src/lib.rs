#![doc = include_str!("../README.md")]

pub mod archive;
pub mod audit;
pub mod audit_text;
pub mod bulk;
pub mod calendar;
pub mod certificates;
pub mod codes;
pub mod device;
pub mod documents;
pub mod expiry;
pub mod fields;
pub mod incoming;
pub mod lifecycle;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod password;
pub mod registry;
pub mod reports;
pub mod roles;
pub mod text;

/// A stable name (as stored in the database or sent by the API) that names no known value.
///
/// Returned by the `parse`/`FromStr` of every named enum in this crate ([`device::DeviceState`],
/// [`lifecycle::RequestKind`], [`roles::Role`], …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: {value:?}")]
#[non_exhaustive]
pub struct UnknownName {
    /// What was being parsed, in English ("device state", "role", …).
    pub what: &'static str,
    /// The Vietnamese name of what was being parsed ("trạng thái thiết bị", "vai trò", …).
    pub what_vi: &'static str,
    /// The input as given.
    pub value: String,
}

impl UnknownName {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        format!("Không có {} nào tên là \"{}\"", self.what_vi, self.value)
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// What every named enum of this crate offers, for code generic over them (a select list of a
/// kind, its label from a stored name): the values come from the enum itself, never a copy.
pub trait Named: Sized + Copy + 'static {
    /// Every value, in declaration order.
    fn all() -> &'static [Self];
    /// The stable name (as stored and sent by the API).
    fn name(self) -> &'static str;
    /// The label shown to Vietnamese users.
    fn vi(self) -> &'static str;
    /// The label shown to English-speaking users.
    fn en(self) -> &'static str;
    /// The value with this stable name, if any.
    fn from_name(s: &str) -> Option<Self>;
}

/// Defines a fieldless enum with a stable snake_case name (`as_str`, `parse`, `FromStr`,
/// `Display`, serde), Vietnamese and English labels, and an `ALL` array in declaration order.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal, $what_vi:literal) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident => $s:literal, $vi:literal, $en:literal;
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $s)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($s),+].len()] = [$($name::$variant),+];

            /// The stable snake_case name used in the database and the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s,)+
                }
            }

            /// Parses the stable name given by [`Self::as_str`] (surrounding spaces ignored).
            pub fn parse(s: &str) -> Result<Self, $crate::UnknownName> {
                match s.trim() {
                    $($s => Ok($name::$variant),)+
                    _ => Err($crate::UnknownName {
                        what: $what,
                        what_vi: $what_vi,
                        value: s.to_owned(),
                    }),
                }
            }

            /// The label shown to Vietnamese users.
            pub const fn label_vi(self) -> &'static str {
                match self {
                    $($name::$variant => $vi,)+
                }
            }

            /// The label shown to English-speaking users.
            pub const fn label_en(self) -> &'static str {
                match self {
                    $($name::$variant => $en,)+
                }
            }
        }

        impl $crate::Named for $name {
            fn all() -> &'static [Self] {
                &$name::ALL
            }
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn vi(self) -> &'static str {
                self.label_vi()
            }
            fn en(self) -> &'static str {
                self.label_en()
            }
            fn from_name(s: &str) -> Option<Self> {
                $name::parse(s).ok()
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_name_messages_quote_the_input() {
        let e = roles::Role::parse("root").unwrap_err();
        assert_eq!(e.value, "root");
        assert_eq!(e.message_en(), "unknown role: \"root\"");
        assert_eq!(e.message_vi(), "Không có vai trò nào tên là \"root\"");
    }
}
