//! Accent-insensitive search keys for Vietnamese names.
//!
//! People search "nguyen van an" and expect "Nguyễn Văn An". [`fold`] turns a name into a search
//! key (stored beside the name); [`words`] splits it into the words the registry's index
//! holds, and [`matches()`] is the rule that index answers: every query word begins a word.

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// The search key of `s`: canonical decomposition (NFD), combining marks dropped, `đ`/`Đ` turned
/// into `d` (they have no decomposition; so are `Ð`/`ð`, the look-alike Icelandic eth that
/// converted legacy-encoded Vietnamese text sometimes holds), lowercase, runs of whitespace collapsed into one space,
/// no leading or trailing space.
///
/// ```
/// use kyso_domain::text::fold;
/// assert_eq!(fold("Nguyễn Văn An"), "nguyen van an");
/// assert_eq!(fold("  ĐẶNG   THỊ\tÁnh "), "dang thi anh");
/// ```
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' | 'Ð' | 'ð' => out.push('d'),
            // Lowercasing may itself produce combining marks (`İ` → `i̇`); drop those too.
            _ => out.extend(c.to_lowercase().filter(|l| !is_combining_mark(*l))),
        }
    }
    out
}

/// At most this many characters of a word are indexed and compared.
pub const MAX_WORD: usize = 64;
/// At most this many words of a query are used.
pub const MAX_QUERY_WORDS: usize = 8;

/// The search words of `s`: its [`fold`], split at every character that is not a letter or a
/// digit, each word cut to [`MAX_WORD`] characters, sorted, without duplicates. Colons are
/// dropped first, so a serial pasted as `1A:2B:3C` is the one word `1a2b3c`.
///
/// ```
/// use kyso_domain::text::words;
/// assert_eq!(words("Nguyễn Văn An <an.nv@sokhcn.demo.gov.vn>"),
///            ["an", "demo", "gov", "nguyen", "nv", "sokhcn", "van", "vn"]);
/// assert_eq!(words("Serial 0A:1B:2C"), ["0a1b2c", "serial"]);
/// ```
pub fn words(s: &str) -> Vec<String> {
    let mut out: Vec<String> = split(s).collect();
    out.sort();
    out.dedup();
    out
}

/// The words of a search query, in the order typed, without duplicates, at most
/// [`MAX_QUERY_WORDS`]; split as [`words`] splits.
pub fn query_words(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in split(s) {
        if out.len() == MAX_QUERY_WORDS {
            break;
        }
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

fn split(s: &str) -> impl Iterator<Item = String> {
    let folded = fold(s).replace(':', "");
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(MAX_WORD).collect::<String>())
        .collect::<Vec<_>>()
        .into_iter()
}

/// The smallest string greater than every string that starts with `prefix` (in code point
/// order, which is the byte order of UTF-8): the exclusive upper end of an index range that
/// finds the words starting with `prefix`. `None` when there is none (every character is
/// `char::MAX`): the range is then open above.
///
/// ```
/// use kyso_domain::text::prefix_end;
/// assert_eq!(prefix_end("nguy").as_deref(), Some("nguz"));
/// assert_eq!(prefix_end("").as_deref(), None);
/// ```
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{d7ff}' => Some('\u{e000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Whether `text` is found by `query`: every word of the query begins some word of the text
/// (the rule the registry's word index answers). Words match in any order; an empty query
/// matches everything.
///
/// ```
/// use kyso_domain::text::matches;
/// assert!(matches("Nguyễn Văn An", "van NGUYEN"));
/// assert!(matches("Nguyễn Văn Anh", "nguyen an"));
/// assert!(!matches("Nguyễn Văn Loan", "nguyen an"));
/// ```
pub fn matches(text: &str, query: &str) -> bool {
    let have = words(text);
    query_words(query)
        .iter()
        .all(|q| have.iter().any(|w| w.starts_with(q.as_str())))
}

/// The first character of `s` that changes how text shows without being seen itself: the
/// bidirectional embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069), the
/// direction marks (U+200E, U+200F, U+061C), and the zero-width characters (U+200B–U+200D,
/// U+2060, U+FEFF). A name holding one reads differently on screen from what is stored
/// (U+202E shows what follows reversed) or looks the same as another name; Vietnamese text
/// needs none of them, so names refuse them.
///
/// ```
/// use kyso_domain::text::hidden_char;
/// assert_eq!(hidden_char("Nguyễn Văn An"), None);
/// assert_eq!(hidden_char("Nguyễn\u{202E}nA nàV"), Some('\u{202E}'));
/// ```
pub fn hidden_char(s: &str) -> Option<char> {
    s.chars().find(|c| {
        matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bidi_controls_and_zero_width_characters_are_found() {
        for c in ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain('\u{200B}'..='\u{200D}')
            .chain(['\u{FEFF}', '\u{200E}', '\u{200F}', '\u{2060}', '\u{061C}'])
        {
            assert_eq!(hidden_char(&format!("Trần{c}Thị")), Some(c), "{c:?}");
        }
        for plain in [
            "Nguyễn Văn An",
            "ĐẶNG THỊ ÁNH",
            "Sở KH&CN",
            "O'Brien-Lê",
            "",
        ] {
            assert_eq!(hidden_char(plain), None, "{plain}");
        }
    }

    proptest! {
        #[test]
        fn a_hidden_character_anywhere_is_found(
            before in "[a-zA-ZàáạảãâầấậẩẫăằắặẳẵđĐ ]{0,20}",
            after in "[a-zA-ZàáạảãâầấậẩẫăằắặẳẵđĐ ]{0,20}",
            i in 0usize..15,
        ) {
            let hidden = ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
                '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}',
                '\u{200D}', '\u{FEFF}', '\u{200E}', '\u{200F}'];
            let c = hidden[i];
            prop_assert_eq!(hidden_char(&format!("{before}{c}{after}")), Some(c));
            prop_assert_eq!(hidden_char(&format!("{before}{after}")), None);
        }
    }

    #[test]
    fn vietnamese_names_lose_their_marks() {
        assert_eq!(fold("Nguyễn Văn An"), "nguyen van an");
        assert_eq!(fold("ĐẶNG THỊ Ánh"), "dang thi anh");
        assert_eq!(fold("Trần Quốc Toản"), "tran quoc toan");
        assert_eq!(fold("Lê Thị Hồng Nhung"), "le thi hong nhung");
        assert_eq!(fold("Sở Khoa học và Công nghệ"), "so khoa hoc va cong nghe");
        assert_eq!(
            fold("Ủy ban nhân dân tỉnh Nghệ An"),
            "uy ban nhan dan tinh nghe an"
        );
        assert_eq!(fold("Đường Đắk Lắk"), "duong dak lak");
        // U+00D0 (eth) where U+0110 (Đ) was meant, as some converted documents have it.
        assert_eq!(fold("\u{d0}ặng \u{f0}ức"), "dang duc");
    }

    #[test]
    fn precomposed_and_decomposed_input_fold_alike() {
        // "ễ" as one code point (NFC) and as e + circumflex + tilde (NFD).
        let nfc = "Nguy\u{1EC5}n";
        let nfd = "Nguye\u{302}\u{303}n";
        assert_eq!(fold(nfc), "nguyen");
        assert_eq!(fold(nfd), "nguyen");
    }

    #[test]
    fn whitespace_is_collapsed_and_trimmed() {
        assert_eq!(fold("  Văn \t\n  An  "), "van an");
        assert_eq!(fold("\u{a0}An\u{2003}Bình"), "an binh");
        assert_eq!(fold(""), "");
        assert_eq!(fold("   "), "");
    }

    #[test]
    fn digits_and_punctuation_are_kept() {
        assert_eq!(fold("Số 12/QĐ-UBND"), "so 12/qd-ubnd");
        assert_eq!(fold("H41.37"), "h41.37");
    }

    #[test]
    fn matching_needs_every_query_word_at_the_start_of_a_word() {
        let text = "Đặng Thị Ánh — Văn phòng UBND tỉnh";
        assert!(matches(text, "dang anh"));
        assert!(matches(text, "ĐẶNG   ánh"));
        assert!(matches(text, "van phong"));
        assert!(matches(text, "ubnd"));
        assert!(matches(text, ""));
        assert!(matches(text, "   "));
        assert!(!matches(text, "dang hoa"));
        // A word's beginning matches ("an" begins "anh"), its inside does not.
        assert!(matches(text, "an"));
        assert!(!matches(text, "nh"));
    }

    #[test]
    fn words_split_at_punctuation_and_drop_colons() {
        assert_eq!(words("Số 12/QĐ-UBND"), ["12", "qd", "so", "ubnd"]);
        assert_eq!(
            words("CN=Lê Văn A, O=Sở Y tế, C=VN"),
            ["a", "c", "cn", "le", "o", "so", "te", "van", "vn", "y"]
        );
        assert_eq!(query_words("an an AN Ân"), ["an"]);
        assert_eq!(query_words("a b c d e f g h i j").len(), MAX_QUERY_WORDS);
        assert_eq!(words(&"x".repeat(500)), ["x".repeat(MAX_WORD)]);
        assert!(words(" ,;. ").is_empty());
    }

    #[test]
    fn prefix_ranges_step_over_the_surrogates_and_the_last_char() {
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10ffff}"), None);
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC*") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
        }

        #[test]
        fn fold_output_is_tidy(s in "\\PC*") {
            let f = fold(&s);
            prop_assert!(!f.starts_with(' ') && !f.ends_with(' '));
            prop_assert!(!f.contains("  "));
            prop_assert!(!f.chars().any(|c| c.is_whitespace() && c != ' '));
            prop_assert!(!f.chars().any(is_combining_mark));
            prop_assert!(!f.contains('đ'));
        }

        #[test]
        fn a_string_matches_its_own_fold(s in "\\PC*") {
            prop_assert!(matches(&fold(&s), &s));
        }

        /// What the store's index does: a word begins with the query word exactly when it
        /// lies in the range [query word, prefix_end(query word)).
        #[test]
        fn the_prefix_range_holds_exactly_the_words_that_begin_with_the_prefix(
            p in "\\PC{0,4}", w in "\\PC{0,6}"
        ) {
            let inside = w.as_str() >= p.as_str()
                && prefix_end(&p).is_none_or(|end| w.as_str() < end.as_str());
            prop_assert_eq!(inside, w.starts_with(p.as_str()));
        }

        #[test]
        fn every_word_of_a_text_finds_it(s in "\\PC*") {
            for w in words(&s) {
                let half: String = w.chars().take(w.chars().count().div_ceil(2)).collect();
                prop_assert!(matches(&s, &half), "{:?} in {:?}", half, s);
            }
        }

        #[test]
        fn vietnamese_letters_fold_to_ascii(s in "[a-zA-ZàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ ]*") {
            let f = fold(&s);
            prop_assert!(f.chars().all(|c| c.is_ascii_lowercase() || c == ' '), "{}", f);
        }
    }
}

/// The Vietnamese alphabet with the Latin letters it lacks in their places: a letter's position
/// here is its primary order.
const ALPHABET: [char; 33] = [
    'a', 'ă', 'â', 'b', 'c', 'd', 'đ', 'e', 'ê', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'ô', 'ơ', 'p', 'q', 'r', 's', 't', 'u', 'ư', 'v', 'w', 'x', 'y', 'z',
];

/// The letter of `base` with the vowel mark `mark` (breve, circumflex, horn), as the alphabet
/// has it.
fn marked(base: char, mark: char) -> char {
    match (base, mark) {
        ('a', '\u{0306}') => 'ă',
        ('a', '\u{0302}') => 'â',
        ('e', '\u{0302}') => 'ê',
        ('o', '\u{0302}') => 'ô',
        ('o', '\u{031B}') => 'ơ',
        ('u', '\u{031B}') => 'ư',
        _ => base,
    }
}

/// A word's primary key (letters by the Vietnamese alphabet: a < ă < â < b … d < đ …) and its
/// tones (none < huyền < hỏi < ngã < sắc < nặng, one digit a letter), for [`sort_key`].
fn word_keys(word: &str) -> (String, String) {
    let mut primary = String::new();
    let mut tones = String::new();
    let lower: String = word.to_lowercase();
    let mut letters = lower.nfd().peekable();
    while let Some(c) = letters.next() {
        if is_combining_mark(c) {
            continue;
        }
        let mut letter = if matches!(c, 'ð' | 'Ð') { 'đ' } else { c };
        let mut tone = '0';
        while let Some(&m) = letters.peek() {
            if !is_combining_mark(m) {
                break;
            }
            letters.next();
            match m {
                '\u{0300}' => tone = '1',
                '\u{0309}' => tone = '2',
                '\u{0303}' => tone = '3',
                '\u{0301}' => tone = '4',
                '\u{0323}' => tone = '5',
                _ => letter = marked(letter, m),
            }
        }
        match ALPHABET.iter().position(|a| *a == letter) {
            // 'A'…: after digits and the separators below.
            Some(i) => primary.push(char::from(b'A' + i as u8)),
            None => primary.push(letter),
        }
        tones.push(tone);
    }
    (primary, tones)
}

/// The key a list of names is sorted by, compared by code point: Vietnamese order (the
/// alphabet's own letters — ă, â, đ, ê, ô, ơ, ư — after their bases, tones deciding only
/// between otherwise equal names). A person's name (`person`) is ordered as officers expect:
/// by the given name (the last word), then the surname (the first), then the middle names;
/// other names (an agency, a device) word by word as written.
///
/// ```
/// use kyso_domain::text::sort_key;
/// let mut people = ["Trần Văn Bình", "Nguyễn Thị Ánh", "Lê An", "Đặng Văn An"];
/// people.sort_by_key(|n| sort_key(n, true));
/// assert_eq!(people, ["Đặng Văn An", "Lê An", "Nguyễn Thị Ánh", "Trần Văn Bình"]);
/// ```
pub fn sort_key(name: &str, person: bool) -> String {
    let mut words: Vec<&str> = name.split_whitespace().collect();
    if person && words.len() > 1 {
        // [surname, middle…, given] → [given, surname, middle…]
        let given = words.pop().unwrap_or_default();
        words.insert(0, given);
    }
    let keys: Vec<(String, String)> = words.iter().map(|w| word_keys(w)).collect();
    // Words apart by \u{1} (before any letter, so "An" < "Anh"), tones after \u{2}.
    let mut key = keys
        .iter()
        .map(|(p, _)| p.as_str())
        .collect::<Vec<_>>()
        .join("\u{1}");
    key.push('\u{2}');
    key.push_str(
        &keys
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\u{1}"),
    );
    key
}

#[cfg(test)]
mod sort_tests {
    use super::sort_key;

    fn sorted(names: &[&str], person: bool) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        v.sort_by_key(|n| sort_key(n, person));
        v
    }

    #[test]
    fn people_sort_by_given_name_then_surname_then_middle_names() {
        assert_eq!(
            sorted(
                &[
                    "Trần Thị Bình",
                    "Nguyễn Văn Bình",
                    "Nguyễn An",
                    "Lê Thị An",
                    "Lê Văn An"
                ],
                true
            ),
            [
                "Lê Thị An",
                "Lê Văn An",
                "Nguyễn An",
                "Nguyễn Văn Bình",
                "Trần Thị Bình"
            ]
        );
    }

    #[test]
    fn the_vietnamese_alphabet_and_tones_decide() {
        // d < đ, a < ă < â, o < ô < ơ, u < ư; tones only between otherwise equal words.
        assert_eq!(
            sorted(&["Đào", "Dung", "Ân", "Ăn", "Anh", "An"], false),
            ["An", "Anh", "Ăn", "Ân", "Dung", "Đào"]
        );
        assert_eq!(
            sorted(&["Mạ", "Má", "Mã", "Mả", "Mà", "Ma"], false),
            ["Ma", "Mà", "Mả", "Mã", "Má", "Mạ"]
        );
        assert_eq!(
            sorted(&["Ư", "U", "Ơ", "Ô", "O"], false),
            ["O", "Ô", "Ơ", "U", "Ư"]
        );
        // Composed and decomposed forms, upper and lower case, are one name.
        assert_eq!(
            sort_key("NGUYỄN VĂN AN", true),
            sort_key("Nguye\u{0302}\u{0303}n Va\u{0306}n An", true)
        );
    }
}
