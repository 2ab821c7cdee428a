//! Agency electronic identifier codes (mã định danh điện tử, QĐ 20/2020/QĐ-TTg).
//!
//! Every agency has a code of up to four levels. Level 1 is a capital letter and two digits
//! (`H41`, the province of Nghệ An); levels 2, 3 and 4 have 2, 2 and 3 digits. The same code is
//! written two ways:
//!
//! - **dotted**, level 1 first: `H41`, `H41.37`, `G11.07.05`, `H41.37.01.001`;
//! - **legacy**, 13 characters, levels reversed and zero-padded: `LLL.LL.LL.X99`, where the last
//!   part is level 1 and a level of all zeros is absent: `000.00.37.H41` is `H41.37`,
//!   `000.05.07.G11` is `G11.07.05`, `000.00.00.H41` is `H41`.
//!
//! Because zero means "absent" in the legacy form, levels 2–4 can never be all zeros, and a level
//! cannot be present below an absent one (`000.05.00.G11` is invalid).

use std::fmt;
use std::str::FromStr;

/// An agency identifier code, e.g. `H41.37`.
///
/// Ordered level by level, so that an agency sorts right before the agencies under it.
/// Serialized (serde) as the dotted string; deserialized from either form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyCode {
    /// The level-1 letter, `b'A'..=b'Z'`.
    letter: u8,
    /// The level-1 number, 0–99.
    l1: u8,
    /// Levels 2 (1–99), 3 (1–99) and 4 (1–999); a `None` is never followed by a `Some`.
    l2: Option<u8>,
    l3: Option<u8>,
    l4: Option<u16>,
}

/// Why a string is not an agency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing but spaces.
    #[error("the agency code is empty")]
    Empty,
    /// Neither the dotted nor the legacy shape.
    #[error("an agency code looks like H41.37 or 000.00.37.H41")]
    Shape,
    /// Level 1 is not a letter followed by two digits.
    #[error("level 1 of an agency code is a letter and two digits, like H41 (found {found:?})")]
    Level1 {
        /// The part found where level 1 was expected.
        found: String,
    },
    /// A level below level 1 has the wrong number of digits or a non-digit.
    #[error("level {level} of an agency code has {digits} digits (found {found:?})")]
    LevelDigits {
        /// The level, 2–4.
        level: usize,
        /// The number of digits this level has.
        digits: usize,
        /// The part found.
        found: String,
    },
    /// In the dotted form, a level below level 1 is all zeros (which means "absent").
    #[error("level {level} of an agency code cannot be all zeros")]
    ZeroLevel {
        /// The level, 2–4.
        level: usize,
    },
    /// In the legacy form, a level is present although the level above it is absent (zeros).
    #[error("level {level} of an agency code is given but level {} is not", level - 1)]
    Gap {
        /// The level that is present, 3–4.
        level: usize,
    },
    /// More than four levels.
    #[error("an agency code has at most four levels (found {found})")]
    TooManyLevels {
        /// The number of dot-separated parts found.
        found: usize,
    },
}

impl CodeError {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        match self {
            CodeError::Empty => "Chưa nhập mã định danh".to_owned(),
            CodeError::Shape => "Mã định danh phải có dạng H41.37 hoặc 000.00.37.H41".to_owned(),
            CodeError::Level1 { found } => format!(
                "Cấp 1 của mã định danh gồm một chữ cái và hai chữ số, ví dụ H41 (nhập \"{found}\")"
            ),
            CodeError::LevelDigits {
                level,
                digits,
                found,
            } => format!("Cấp {level} của mã định danh gồm {digits} chữ số (nhập \"{found}\")"),
            CodeError::ZeroLevel { level } => {
                format!("Cấp {level} của mã định danh không được toàn số 0")
            }
            CodeError::Gap { level } => format!(
                "Mã định danh có cấp {level} nhưng thiếu cấp {}",
                level.saturating_sub(1)
            ),
            CodeError::TooManyLevels { found } => {
                format!("Mã định danh có tối đa 4 cấp (nhập {found} cấp)")
            }
        }
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Digits per level, for levels 2, 3 and 4.
const DIGITS: [usize; 3] = [2, 2, 3];

impl AgencyCode {
    /// Parses either form (dotted `H41.37` or legacy `000.00.37.H41`). Surrounding spaces are
    /// ignored and a lowercase level-1 letter is accepted (`h41.37` is `H41.37`).
    pub fn parse(s: &str) -> Result<AgencyCode, CodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty);
        }
        let parts: Vec<&str> = s.split('.').collect();
        let starts_with_letter = s.starts_with(|c: char| c.is_ascii_alphabetic());
        let ends_with_level1 = parts
            .last()
            .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_alphabetic()));
        if starts_with_letter {
            Self::parse_dotted(&parts)
        } else if ends_with_level1 && parts.len() == 4 {
            Self::parse_legacy(&parts)
        } else if ends_with_level1 && parts.len() > 4 {
            Err(CodeError::TooManyLevels { found: parts.len() })
        } else {
            Err(CodeError::Shape)
        }
    }

    fn parse_dotted(parts: &[&str]) -> Result<AgencyCode, CodeError> {
        let [first, rest @ ..] = parts else {
            return Err(CodeError::Shape);
        };
        if rest.len() > DIGITS.len() {
            return Err(CodeError::TooManyLevels { found: parts.len() });
        }
        let (letter, l1) = parse_level1(first)?;
        let mut levels = [None; 3];
        for (i, (part, slot)) in rest.iter().zip(levels.iter_mut()).enumerate() {
            let level = i + 2;
            let n = parse_digits(part, level)?;
            if n == 0 {
                return Err(CodeError::ZeroLevel { level });
            }
            *slot = Some(n);
        }
        Ok(Self::from_levels(letter, l1, levels))
    }

    fn parse_legacy(parts: &[&str]) -> Result<AgencyCode, CodeError> {
        let [p4, p3, p2, p1] = parts else {
            return Err(CodeError::Shape);
        };
        let (letter, l1) = parse_level1(p1)?;
        let l2 = parse_digits(p2, 2)?;
        let l3 = parse_digits(p3, 3)?;
        let l4 = parse_digits(p4, 4)?;
        let levels = [l2, l3, l4].map(|n| (n != 0).then_some(n));
        // A present level below an absent one.
        if let Some(i) = levels.windows(2).position(|w| matches!(w, [None, Some(_)])) {
            return Err(CodeError::Gap { level: i + 3 });
        }
        Ok(Self::from_levels(letter, l1, levels))
    }

    /// Builds from checked parts; levels 2 and 3 are below 100 and level 4 below 1000.
    fn from_levels(letter: u8, l1: u8, [l2, l3, l4]: [Option<u16>; 3]) -> AgencyCode {
        let narrow = |n: Option<u16>| n.and_then(|n| u8::try_from(n).ok());
        let l2 = narrow(l2);
        let l3 = narrow(l3).filter(|_| l2.is_some());
        let l4 = l4.filter(|_| l3.is_some());
        AgencyCode {
            letter,
            l1,
            l2,
            l3,
            l4,
        }
    }

    /// The dotted form, level 1 first: `H41.37.01.001`.
    pub fn dotted(&self) -> String {
        let mut s = format!("{}{:02}", char::from(self.letter), self.l1);
        if let Some(l2) = self.l2 {
            s.push_str(&format!(".{l2:02}"));
        }
        if let Some(l3) = self.l3 {
            s.push_str(&format!(".{l3:02}"));
        }
        if let Some(l4) = self.l4 {
            s.push_str(&format!(".{l4:03}"));
        }
        s
    }

    /// The legacy 13-character form, level 1 last, absent levels as zeros: `000.00.37.H41`.
    pub fn legacy(&self) -> String {
        format!(
            "{:03}.{:02}.{:02}.{}{:02}",
            self.l4.unwrap_or(0),
            self.l3.unwrap_or(0),
            self.l2.unwrap_or(0),
            char::from(self.letter),
            self.l1
        )
    }

    /// The number of levels, 1–4 (`H41` is 1, `H41.37.01.001` is 4).
    pub fn level(&self) -> usize {
        1 + usize::from(self.l2.is_some())
            + usize::from(self.l3.is_some())
            + usize::from(self.l4.is_some())
    }

    /// The code one level up, or `None` for a level-1 code.
    pub fn parent(&self) -> Option<AgencyCode> {
        let mut parent = self.clone();
        if parent.l4.take().is_some() || parent.l3.take().is_some() || parent.l2.take().is_some() {
            Some(parent)
        } else {
            None
        }
    }

    /// The codes above this one, nearest first (`H41.37.01` → `H41.37`, `H41`).
    pub fn ancestors(&self) -> impl Iterator<Item = AgencyCode> {
        std::iter::successors(self.parent(), AgencyCode::parent)
    }

    /// Whether this code is `ancestor` or lies under it (a code is within itself). This is the
    /// subtree test that scopes an account's role to its agency.
    ///
    /// In the dotted form this is a prefix test, which a database can do with an index: `c` is
    /// within `a` exactly when `c.dotted() == a.dotted()` or `c.dotted()` starts with
    /// `a.dotted() + "."`.
    pub fn is_within(&self, ancestor: &AgencyCode) -> bool {
        fn prefix<T: PartialEq>(mine: Option<T>, theirs: Option<T>) -> bool {
            theirs.is_none() || mine == theirs
        }
        self.letter == ancestor.letter
            && self.l1 == ancestor.l1
            && prefix(self.l2, ancestor.l2)
            && prefix(self.l3, ancestor.l3)
            && prefix(self.l4, ancestor.l4)
    }
}

impl AgencyCode {
    /// Whether an agency with this code may sit directly under an agency coded `parent`: the
    /// code extends the parent's by one or more levels (`H99.37.05` under `H99.37` or `H99`,
    /// never under `H99.10`, never the parent's own code). QĐ 20/2020/QĐ-TTg builds a unit's
    /// code from the code of the body it belongs to.
    pub fn extends(&self, parent: &AgencyCode) -> bool {
        self != parent && self.is_within(parent)
    }

    /// Levels 2–4 present, as numbers.
    fn lower_levels(&self) -> Vec<u16> {
        [self.l2.map(u16::from), self.l3.map(u16::from), self.l4]
            .into_iter()
            .flatten()
            .collect()
    }

    /// The code of a unit under an agency whose code changes from `from` to `to` (the agency
    /// moved to another parent): this code's levels below `from` are put below `to`
    /// (`H99.37.05` with `H99.37` → `H99.20.03` becomes `H99.20.03.005`). `None` when this code
    /// is not within `from`, or when the result would be deeper than four levels or a level's
    /// number would not fit in its digits (a level-4 number above 99 cannot become level 3).
    pub fn rebased(&self, from: &AgencyCode, to: &AgencyCode) -> Option<AgencyCode> {
        if !self.is_within(from) {
            return None;
        }
        let tail = self.lower_levels().split_off(from.level() - 1);
        let mut levels = to.lower_levels();
        levels.extend(tail);
        if levels.len() > DIGITS.len() {
            return None;
        }
        let mut out = [None; 3];
        for (i, (n, slot)) in levels.into_iter().zip(out.iter_mut()).enumerate() {
            let max = if i == 2 { 999 } else { 99 };
            if n == 0 || n > max {
                return None;
            }
            *slot = Some(n);
        }
        Some(Self::from_levels(to.letter, to.l1, out))
    }
}

fn parse_level1(part: &str) -> Result<(u8, u8), CodeError> {
    let bad = || CodeError::Level1 {
        found: part.to_owned(),
    };
    match part.as_bytes() {
        [letter, d1, d2] if letter.is_ascii_alphabetic() => {
            let n = parse_fixed_digits(&[*d1, *d2]).ok_or_else(bad)?;
            let n = u8::try_from(n).map_err(|_| bad())?;
            Ok((letter.to_ascii_uppercase(), n))
        }
        _ => Err(bad()),
    }
}

/// Parses the part for `level` (2–4), which must have exactly the level's number of digits.
fn parse_digits(part: &str, level: usize) -> Result<u16, CodeError> {
    let digits = DIGITS
        .get(level.wrapping_sub(2))
        .copied()
        .unwrap_or_default();
    let bytes = part.as_bytes();
    let n = (bytes.len() == digits)
        .then(|| parse_fixed_digits(bytes))
        .flatten();
    n.ok_or_else(|| CodeError::LevelDigits {
        level,
        digits,
        found: part.to_owned(),
    })
}

/// ASCII digits only (no sign, no spaces), at most three of them.
fn parse_fixed_digits(bytes: &[u8]) -> Option<u16> {
    if bytes.is_empty() || bytes.len() > 3 {
        return None;
    }
    bytes.iter().try_fold(0u16, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
    })
}

impl fmt::Display for AgencyCode {
    /// The dotted form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted())
    }
}

impl fmt::Debug for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyCode({})", self.dotted())
    }
}

impl FromStr for AgencyCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgencyCode::parse(s)
    }
}

impl serde::Serialize for AgencyCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.dotted())
    }
}

impl<'de> serde::Deserialize<'de> for AgencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        AgencyCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_moved_agency_takes_its_units_codes_along() {
        let c = |s: &str| AgencyCode::parse(s).unwrap();
        let (from, to) = (c("H99.37"), c("H99.20.03"));
        assert_eq!(c("H99.37").rebased(&from, &to), Some(c("H99.20.03")));
        assert_eq!(c("H99.37.05").rebased(&from, &to), Some(c("H99.20.03.005")));
        // Five levels do not exist.
        assert_eq!(c("H99.37.05.001").rebased(&from, &to), None);
        // Not a unit of the moved agency.
        assert_eq!(c("H99.38.05").rebased(&from, &to), None);
        // Up a level: a level-4 number becomes level 3 only when it fits in two digits.
        let (from, to) = (c("H99.37.05"), c("H99.06"));
        assert_eq!(c("H99.37.05.012").rebased(&from, &to), Some(c("H99.06.12")));
        assert_eq!(c("H99.37.05.120").rebased(&from, &to), None);
        // Another province's letter and number go with the new code.
        assert_eq!(
            c("H99.37.05").rebased(&c("H99.37"), &c("G11.04")),
            Some(c("G11.04.05"))
        );
    }
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> AgencyCode {
        AgencyCode::parse(s).unwrap()
    }

    #[test]
    fn a_units_code_extends_the_code_of_the_body_above_it() {
        assert!(code("H99.37.05").extends(&code("H99.37")));
        assert!(code("H99.37.05").extends(&code("H99")));
        assert!(code("H99.37").extends(&code("H99")));
        assert!(
            !code("H99.37.05").extends(&code("H99.10")),
            "another branch"
        );
        assert!(!code("H99.37").extends(&code("H99.37")), "its own code");
        assert!(!code("H99").extends(&code("H99.37")), "above, not below");
        assert!(!code("G11.07").extends(&code("H99")), "another province");
    }

    #[test]
    fn both_forms_name_the_same_agency() {
        // The Department of Science and Technology of Nghệ An.
        assert_eq!(code("H41.37"), code("000.00.37.H41"));
        // The national CA (Cục CTS&BMTT), three levels.
        assert_eq!(code("G11.07.05"), code("000.05.07.G11"));
        // A province alone.
        assert_eq!(code("H41"), code("000.00.00.H41"));
        // All four levels.
        assert_eq!(code("H41.37.01.001"), code("001.01.37.H41"));
    }

    #[test]
    fn each_form_is_written_back() {
        let c = code("000.05.07.G11");
        assert_eq!(c.dotted(), "G11.07.05");
        assert_eq!(c.legacy(), "000.05.07.G11");
        assert_eq!(c.legacy().len(), 13);
        assert_eq!(code("H41").legacy(), "000.00.00.H41");
        assert_eq!(code("H41.37.01.001").legacy(), "001.01.37.H41");
        assert_eq!(code("H41.37.01.120").dotted(), "H41.37.01.120");
        assert_eq!(code("H41.37").to_string(), "H41.37");
        assert_eq!(format!("{:?}", code("H41.37")), "AgencyCode(H41.37)");
    }

    #[test]
    fn spaces_and_lowercase_are_forgiven() {
        assert_eq!(code("  h41.37 "), code("H41.37"));
        assert_eq!(code("000.00.37.h41").dotted(), "H41.37");
    }

    #[test]
    fn levels_parents_and_subtrees() {
        let province = code("H41");
        let dept = code("H41.37");
        let unit = code("H41.37.01");
        let leaf = code("H41.37.01.001");
        assert_eq!(
            [&province, &dept, &unit, &leaf].map(AgencyCode::level),
            [1, 2, 3, 4]
        );
        assert_eq!(leaf.parent(), Some(unit.clone()));
        assert_eq!(unit.parent(), Some(dept.clone()));
        assert_eq!(dept.parent(), Some(province.clone()));
        assert_eq!(province.parent(), None);
        assert_eq!(
            leaf.ancestors().collect::<Vec<_>>(),
            [unit.clone(), dept.clone(), province.clone()]
        );
        assert_eq!(province.ancestors().count(), 0);

        assert!(leaf.is_within(&dept));
        assert!(leaf.is_within(&province));
        assert!(dept.is_within(&dept), "a code is within itself");
        assert!(!dept.is_within(&leaf), "a parent is not within its child");
        assert!(!code("H41.38").is_within(&dept), "a sibling is not within");
        assert!(!code("H42.37").is_within(&province));
        assert!(!code("G41.37").is_within(&province));
    }

    #[test]
    fn an_agency_sorts_right_before_its_children() {
        let mut codes = [
            code("H41.38"),
            code("H41.37.01"),
            code("H41"),
            code("H41.37"),
            code("G11.07.05"),
            code("H41.37.01.001"),
        ];
        codes.sort();
        let dotted: Vec<_> = codes.iter().map(AgencyCode::dotted).collect();
        assert_eq!(
            dotted,
            [
                "G11.07.05",
                "H41",
                "H41.37",
                "H41.37.01",
                "H41.37.01.001",
                "H41.38"
            ]
        );
    }

    #[test]
    fn what_is_wrong_is_said() {
        let err = |s: &str| AgencyCode::parse(s).unwrap_err();
        assert_eq!(err("   "), CodeError::Empty);
        assert_eq!(err("41.37"), CodeError::Shape);
        assert_eq!(err("000.00.37"), CodeError::Shape);
        assert_eq!(
            err("00.00.37.H41"),
            CodeError::LevelDigits {
                level: 4,
                digits: 3,
                found: "00".into()
            }
        );
        assert_eq!(err("H4.37"), CodeError::Level1 { found: "H4".into() });
        assert_eq!(
            err("HH1.37"),
            CodeError::Level1 {
                found: "HH1".into()
            }
        );
        assert_eq!(err("Ấ41.37"), CodeError::Shape);
        assert_eq!(
            err("H41.3"),
            CodeError::LevelDigits {
                level: 2,
                digits: 2,
                found: "3".into()
            }
        );
        assert_eq!(
            err("H41.37.01.01"),
            CodeError::LevelDigits {
                level: 4,
                digits: 3,
                found: "01".into()
            }
        );
        assert_eq!(
            err("H41.3a"),
            CodeError::LevelDigits {
                level: 2,
                digits: 2,
                found: "3a".into()
            }
        );
        assert_eq!(
            err("H41.+7"),
            CodeError::LevelDigits {
                level: 2,
                digits: 2,
                found: "+7".into()
            }
        );
        assert_eq!(
            err("H41.37."),
            CodeError::LevelDigits {
                level: 3,
                digits: 2,
                found: "".into()
            }
        );
        assert_eq!(err("H41.00"), CodeError::ZeroLevel { level: 2 });
        assert_eq!(err("H41.37.00.001"), CodeError::ZeroLevel { level: 3 });
        assert_eq!(
            err("H41.37.01.001.1"),
            CodeError::TooManyLevels { found: 5 }
        );
        assert_eq!(
            err("1.000.00.37.H41"),
            CodeError::TooManyLevels { found: 5 }
        );
        // Legacy: a level present under an absent one.
        assert_eq!(err("000.05.00.G11"), CodeError::Gap { level: 3 });
        assert_eq!(err("001.00.37.H41"), CodeError::Gap { level: 4 });
        assert_eq!(err("001.00.00.H41"), CodeError::Gap { level: 4 });
        assert_eq!(
            err("H41 .37"),
            CodeError::Level1 {
                found: "H41 ".into()
            }
        );
    }

    #[test]
    fn messages_in_both_languages() {
        let e = AgencyCode::parse("abc").unwrap_err();
        assert_eq!(
            e,
            CodeError::Level1 {
                found: "abc".into()
            }
        );
        assert!(e.message_vi().contains("chữ cái"));
        assert_eq!(
            CodeError::Shape.message_vi(),
            "Mã định danh phải có dạng H41.37 hoặc 000.00.37.H41"
        );
        assert_eq!(
            CodeError::Shape.message_en(),
            "an agency code looks like H41.37 or 000.00.37.H41"
        );
        assert_eq!(
            CodeError::Gap { level: 3 }.message_en(),
            "level 3 of an agency code is given but level 2 is not"
        );
        assert_eq!(
            CodeError::Gap { level: 3 }.message_vi(),
            "Mã định danh có cấp 3 nhưng thiếu cấp 2"
        );
    }

    #[test]
    fn serde_writes_dotted_and_reads_either() {
        let c = code("H41.37");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"H41.37\"");
        let back: AgencyCode = serde_json::from_str("\"000.00.37.H41\"").unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<AgencyCode>("\"H41.3\"").is_err());
    }

    /// Any valid code, built from its parts.
    fn any_code() -> impl Strategy<Value = AgencyCode> {
        (
            b'A'..=b'Z',
            0u8..100,
            proptest::option::of(1u8..100),
            proptest::option::of(1u8..100),
            proptest::option::of(1u16..1000),
        )
            .prop_map(|(letter, l1, l2, l3, l4)| AgencyCode {
                letter,
                l1,
                l2,
                l3: l3.filter(|_| l2.is_some()),
                l4: l4.filter(|_| l2.is_some() && l3.is_some()),
            })
    }

    proptest! {
        #[test]
        fn both_forms_round_trip(c in any_code()) {
            prop_assert_eq!(AgencyCode::parse(&c.dotted()), Ok(c.clone()));
            prop_assert_eq!(AgencyCode::parse(&c.legacy()), Ok(c.clone()));
            prop_assert_eq!(c.legacy().len(), 13);
        }

        #[test]
        fn every_ancestor_contains_the_code(c in any_code()) {
            let mut up = c.parent();
            let mut level = c.level();
            while let Some(p) = up {
                level -= 1;
                prop_assert_eq!(p.level(), level);
                prop_assert!(c.is_within(&p));
                prop_assert!(p < c);
                prop_assert!(!p.is_within(&c));
                up = p.parent();
            }
            prop_assert_eq!(level, 1);
        }

        #[test]
        fn within_is_a_dotted_prefix_test(a in any_code(), b in any_code()) {
            let (da, db) = (a.dotted(), b.dotted());
            let prefix = da == db || da.starts_with(&format!("{db}."));
            prop_assert_eq!(a.is_within(&b), prefix);
            // Also for a code and one of its own ancestors, which random pairs rarely are.
            for up in a.ancestors() {
                let up_prefix = up.dotted() + ".";
                prop_assert!(a.dotted().starts_with(&up_prefix));
            }
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,20}") {
            let _ = AgencyCode::parse(&s);
        }

        #[test]
        fn parsing_code_like_strings_is_consistent(s in "[ A-Za-z0-9.]{0,16}") {
            if let Ok(c) = AgencyCode::parse(&s) {
                // Whatever parses is written back in a form that parses to the same code.
                prop_assert_eq!(AgencyCode::parse(&c.dotted()), Ok(c.clone()));
                prop_assert_eq!(AgencyCode::parse(&c.legacy()), Ok(c.clone()));
            }
        }
    }
}
