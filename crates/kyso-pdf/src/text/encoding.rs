//! Simple-font encodings (ISO 32000-2 Annex D) and glyph names (Adobe Glyph List rules).
//!
//! A simple font maps each byte to a glyph name through a base encoding (`WinAnsiEncoding`,
//! `MacRomanEncoding`, `StandardEncoding`) patched by `/Differences`; text extraction then maps
//! glyph names to Unicode. Names are resolved by, in order: `uniXXXX` (one or more UTF-16 code
//! units), `uXXXX[XX]`, a compact table of common names, and a composition rule for accented
//! letters (`Acircumflexacute` = A + circumflex + acute, NFC-composed to "Ấ"), which covers the
//! Vietnamese precomposed letters without listing all 134 of them.

use unicode_normalization::UnicodeNormalization;

use super::tables::{MAC_ROMAN, WIN_ANSI};

/// A base encoding of a simple font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseEncoding {
    WinAnsi,
    MacRoman,
    Standard,
}

impl BaseEncoding {
    /// The encoding named `/WinAnsiEncoding` etc.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"WinAnsiEncoding" => Some(BaseEncoding::WinAnsi),
            b"MacRomanEncoding" => Some(BaseEncoding::MacRoman),
            b"StandardEncoding" => Some(BaseEncoding::Standard),
            _ => None,
        }
    }

    /// The character of `code` in this encoding, if defined.
    pub fn char_of(self, code: u8) -> Option<char> {
        match self {
            BaseEncoding::WinAnsi => table_char(&WIN_ANSI, code),
            BaseEncoding::MacRoman => table_char(&MAC_ROMAN, code),
            BaseEncoding::Standard => standard_char(code),
        }
    }
}

fn table_char(table: &[char; 224], code: u8) -> Option<char> {
    let i = usize::from(code).checked_sub(32)?;
    table.get(i).copied().filter(|&c| c != '\0')
}

/// StandardEncoding (Annex D.2): ASCII with curly quotes at 0x27/0x60, plus the upper half.
fn standard_char(code: u8) -> Option<char> {
    let c = match code {
        0x27 => '\u{2019}',
        0x60 => '\u{2018}',
        0x20..=0x7e => char::from(code),
        0xa1 => '¡',
        0xa2 => '¢',
        0xa3 => '£',
        0xa4 => '\u{2044}',
        0xa5 => '¥',
        0xa6 => 'ƒ',
        0xa7 => '§',
        0xa8 => '¤',
        0xa9 => '\'',
        0xaa => '\u{201C}',
        0xab => '«',
        0xac => '\u{2039}',
        0xad => '\u{203A}',
        0xae => '\u{FB01}',
        0xaf => '\u{FB02}',
        0xb1 => '\u{2013}',
        0xb2 => '\u{2020}',
        0xb3 => '\u{2021}',
        0xb4 => '·',
        0xb6 => '¶',
        0xb7 => '\u{2022}',
        0xb8 => '\u{201A}',
        0xb9 => '\u{201E}',
        0xba => '\u{201D}',
        0xbb => '»',
        0xbc => '\u{2026}',
        0xbd => '\u{2030}',
        0xbf => '¿',
        0xc1 => '`',
        0xc2 => '´',
        0xc3 => '\u{02C6}',
        0xc4 => '\u{02DC}',
        0xc5 => '¯',
        0xc6 => '\u{02D8}',
        0xc7 => '\u{02D9}',
        0xc8 => '¨',
        0xca => '\u{02DA}',
        0xcb => '¸',
        0xcd => '\u{02DD}',
        0xce => '\u{02DB}',
        0xcf => '\u{02C7}',
        0xd0 => '\u{2014}',
        0xe1 => 'Æ',
        0xe3 => 'ª',
        0xe8 => 'Ł',
        0xe9 => 'Ø',
        0xea => 'Œ',
        0xeb => 'º',
        0xf1 => 'æ',
        0xf5 => 'ı',
        0xf8 => 'ł',
        0xf9 => 'ø',
        0xfa => 'œ',
        0xfb => 'ß',
        _ => return None,
    };
    Some(c)
}

/// Common glyph names that are neither ASCII letters nor composable accented letters.
const NAMES: &[(&str, &str)] = &[
    ("space", " "),
    ("nbspace", "\u{A0}"),
    ("exclam", "!"),
    ("quotedbl", "\""),
    ("numbersign", "#"),
    ("dollar", "$"),
    ("percent", "%"),
    ("ampersand", "&"),
    ("quotesingle", "'"),
    ("quoteright", "\u{2019}"),
    ("quoteleft", "\u{2018}"),
    ("parenleft", "("),
    ("parenright", ")"),
    ("asterisk", "*"),
    ("plus", "+"),
    ("comma", ","),
    ("hyphen", "-"),
    ("minus", "\u{2212}"),
    ("period", "."),
    ("slash", "/"),
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("colon", ":"),
    ("semicolon", ";"),
    ("less", "<"),
    ("equal", "="),
    ("greater", ">"),
    ("question", "?"),
    ("at", "@"),
    ("bracketleft", "["),
    ("backslash", "\\"),
    ("bracketright", "]"),
    ("asciicircum", "^"),
    ("underscore", "_"),
    ("braceleft", "{"),
    ("bar", "|"),
    ("braceright", "}"),
    ("asciitilde", "~"),
    ("endash", "\u{2013}"),
    ("emdash", "\u{2014}"),
    ("bullet", "\u{2022}"),
    ("ellipsis", "\u{2026}"),
    ("quotedblleft", "\u{201C}"),
    ("quotedblright", "\u{201D}"),
    ("quotesinglbase", "\u{201A}"),
    ("quotedblbase", "\u{201E}"),
    ("guillemotleft", "«"),
    ("guillemotright", "»"),
    ("guilsinglleft", "\u{2039}"),
    ("guilsinglright", "\u{203A}"),
    ("dagger", "\u{2020}"),
    ("daggerdbl", "\u{2021}"),
    ("periodcentered", "·"),
    ("section", "§"),
    ("paragraph", "¶"),
    ("degree", "°"),
    ("copyright", "©"),
    ("registered", "®"),
    ("trademark", "\u{2122}"),
    ("Euro", "€"),
    ("sterling", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("currency", "¤"),
    ("florin", "ƒ"),
    ("perthousand", "\u{2030}"),
    ("multiply", "×"),
    ("divide", "÷"),
    ("plusminus", "±"),
    ("onehalf", "½"),
    ("onequarter", "¼"),
    ("threequarters", "¾"),
    ("ordfeminine", "ª"),
    ("ordmasculine", "º"),
    ("exclamdown", "¡"),
    ("questiondown", "¿"),
    ("brokenbar", "¦"),
    ("logicalnot", "¬"),
    ("mu", "µ"),
    ("fi", "\u{FB01}"),
    ("fl", "\u{FB02}"),
    ("ff", "\u{FB00}"),
    ("ffi", "\u{FB03}"),
    ("ffl", "\u{FB04}"),
    ("AE", "Æ"),
    ("ae", "æ"),
    ("OE", "Œ"),
    ("oe", "œ"),
    ("Oslash", "Ø"),
    ("oslash", "ø"),
    ("Lslash", "Ł"),
    ("lslash", "ł"),
    ("germandbls", "ß"),
    ("dotlessi", "ı"),
    ("Eth", "Ð"),
    ("eth", "ð"),
    ("Thorn", "Þ"),
    ("thorn", "þ"),
    // Vietnamese đ/Đ: `dcroat` is the AGL name; `dmacron`/`Dslash` appear in older fonts.
    ("Dcroat", "Đ"),
    ("dcroat", "đ"),
    ("Dslash", "Đ"),
    ("dmacron", "đ"),
    // Spacing accents.
    ("grave", "`"),
    ("acute", "´"),
    ("circumflex", "\u{02C6}"),
    ("tilde", "\u{02DC}"),
    ("macron", "¯"),
    ("breve", "\u{02D8}"),
    ("dotaccent", "\u{02D9}"),
    ("dieresis", "¨"),
    ("ring", "\u{02DA}"),
    ("cedilla", "¸"),
    ("hungarumlaut", "\u{02DD}"),
    ("ogonek", "\u{02DB}"),
    ("caron", "\u{02C7}"),
    // Combining accents, as Vietnamese fonts use them.
    ("gravecomb", "\u{0300}"),
    ("acutecomb", "\u{0301}"),
    ("tildecomb", "\u{0303}"),
    ("hookabovecomb", "\u{0309}"),
    ("dotbelowcomb", "\u{0323}"),
    ("hookcmb", "\u{0309}"),
    ("dotbelowcmb", "\u{0323}"),
];

/// Accent suffixes of composed glyph names and their combining marks. Longer suffixes first so
/// that `hungarumlaut` is not read as `...umlaut`.
const ACCENTS: &[(&str, char)] = &[
    ("hungarumlaut", '\u{030B}'),
    ("circumflex", '\u{0302}'),
    ("hookabove", '\u{0309}'),
    ("dieresis", '\u{0308}'),
    ("dotbelow", '\u{0323}'),
    ("dotaccent", '\u{0307}'),
    ("cedilla", '\u{0327}'),
    ("ogonek", '\u{0328}'),
    ("macron", '\u{0304}'),
    ("grave", '\u{0300}'),
    ("acute", '\u{0301}'),
    ("tilde", '\u{0303}'),
    ("breve", '\u{0306}'),
    ("caron", '\u{030C}'),
    ("horn", '\u{031B}'),
    ("ring", '\u{030A}'),
];

/// The Unicode text of a glyph name, or `None` when unknown.
pub fn glyph_name_to_unicode(name: &str) -> Option<String> {
    // AGL: drop a suffix after a period (`a.sc`), split ligatures on `_`.
    let name = name.split('.').next().unwrap_or(name);
    if name.contains('_') {
        let parts: Option<String> = name.split('_').map(glyph_name_to_unicode).collect();
        return parts.filter(|s| !s.is_empty());
    }
    if let Some(hex) = name.strip_prefix("uni") {
        if let Some(s) = uni_name(hex) {
            return Some(s);
        }
    }
    if let Some(hex) = name.strip_prefix('u') {
        if (4..=6).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).ok()?;
            return char::from_u32(v).map(String::from);
        }
    }
    if let Some((_, s)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Some((*s).to_owned());
    }
    let mut chars = name.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    if first.is_ascii_alphabetic() && rest.is_empty() {
        return Some(first.to_string());
    }
    compose(first, rest)
}

/// `uniXXXX[XXXX...]`: a sequence of UTF-16 code units (uppercase hex, per the AGL).
fn uni_name(hex: &str) -> Option<String> {
    if hex.is_empty() || !hex.len().is_multiple_of(4) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let units: Option<Vec<u16>> = hex
        .as_bytes()
        .chunks(4)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|s| u16::from_str_radix(s, 16).ok())
        })
        .collect();
    String::from_utf16(&units?).ok()
}

/// `base` (a letter, or `dotlessi`-like names are not handled) followed by accent suffixes.
fn compose(base: char, mut rest: &str) -> Option<String> {
    if !base.is_ascii_alphabetic() || rest.is_empty() {
        return None;
    }
    let mut s = String::from(base);
    while !rest.is_empty() {
        let (suffix, mark) = ACCENTS.iter().find(|(a, _)| rest.starts_with(a))?;
        s.push(*mark);
        rest = rest.get(suffix.len()..)?;
    }
    // Decomposed marks are in canonical order once composed (e.g. horn before dot below).
    Some(s.nfc().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_encodings_differ_where_annex_d_says() {
        assert_eq!(BaseEncoding::WinAnsi.char_of(b'A'), Some('A'));
        assert_eq!(BaseEncoding::WinAnsi.char_of(0x80), Some('€'));
        assert_eq!(BaseEncoding::WinAnsi.char_of(0xD0), Some('Ð'));
        assert_eq!(BaseEncoding::WinAnsi.char_of(0x81), None);
        assert_eq!(BaseEncoding::MacRoman.char_of(0x80), Some('Ä'));
        assert_eq!(BaseEncoding::MacRoman.char_of(0xDB), Some('¤'));
        assert_eq!(BaseEncoding::Standard.char_of(0x27), Some('\u{2019}'));
        assert_eq!(BaseEncoding::Standard.char_of(0xE9), Some('Ø'));
        assert_eq!(BaseEncoding::Standard.char_of(0x80), None);
        assert_eq!(BaseEncoding::Standard.char_of(0x10), None);
    }

    #[test]
    fn glyph_names_resolve_to_unicode() {
        let g = |n: &str| glyph_name_to_unicode(n);
        assert_eq!(g("A").as_deref(), Some("A"));
        assert_eq!(g("space").as_deref(), Some(" "));
        assert_eq!(g("uni1EA0").as_deref(), Some("Ạ"));
        assert_eq!(g("uni00410042").as_deref(), Some("AB"));
        assert_eq!(
            g("uniD835DC00").as_deref(),
            Some("\u{1D400}"),
            "surrogate pair"
        );
        assert_eq!(g("u1EA0").as_deref(), Some("Ạ"));
        assert_eq!(g("u1D400").as_deref(), Some("\u{1D400}"));
        assert_eq!(g("f_i").as_deref(), Some("fi"));
        assert_eq!(g("a.sc").as_deref(), Some("a"));
        assert_eq!(g("nosuchglyph"), None);
        assert_eq!(g("uniZZZZ"), None);
    }

    #[test]
    fn vietnamese_glyph_names() {
        let g = |n: &str| glyph_name_to_unicode(n).unwrap_or_default();
        assert_eq!(g("Ohorn"), "Ơ");
        assert_eq!(g("uhorn"), "ư");
        assert_eq!(g("Dcroat"), "Đ");
        assert_eq!(g("dcroat"), "đ");
        assert_eq!(g("Abreve"), "Ă");
        assert_eq!(g("acircumflex"), "â");
        assert_eq!(g("Acircumflexacute"), "Ấ");
        assert_eq!(g("ohorndotbelow"), "ợ");
        assert_eq!(g("Uhornhookabove"), "Ử");
        assert_eq!(g("edotbelow"), "ẹ");
        assert_eq!(g("ecircumflextilde"), "ễ");
        assert_eq!(g("Ocircumflexgrave"), "Ồ");
        assert_eq!(g("Aacute"), "Á");
        assert_eq!(g("odieresis"), "ö");
        assert_eq!(g("hookabovecomb"), "\u{0309}");
    }
}
