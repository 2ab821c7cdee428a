//! Accent-insensitive search keys for Vietnamese names.
//!
//! People search "nguyen van an" and expect "Nguyễn Văn An". [`fold`] turns a name into a search
//! key (stored beside the name); [`matches()`] checks a query against a stored key.

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

/// Whether every word of `query` (folded) occurs somewhere in `haystack_folded`, which must
/// already be a [`fold`] result. Words match anywhere, also inside words ("an" matches "loan"),
/// in any order. An empty query matches everything.
///
/// ```
/// use kyso_domain::text::{fold, matches};
/// let key = fold("Nguyễn Văn An");
/// assert!(matches(&key, "van NGUYEN"));
/// assert!(matches(&key, "nguyễn"));
/// assert!(!matches(&key, "nguyen binh"));
/// ```
pub fn matches(haystack_folded: &str, query: &str) -> bool {
    fold(query)
        .split(' ')
        .filter(|w| !w.is_empty())
        .all(|w| haystack_folded.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    fn matching_needs_every_query_word() {
        let key = fold("Đặng Thị Ánh — Văn phòng UBND tỉnh");
        assert!(matches(&key, "dang anh"));
        assert!(matches(&key, "ĐẶNG   ánh"));
        assert!(matches(&key, "van phong"));
        assert!(matches(&key, "ubnd"));
        assert!(matches(&key, ""));
        assert!(matches(&key, "   "));
        assert!(!matches(&key, "dang hoa"));
        // Substrings inside words match too: "an" is in "anh".
        assert!(matches(&key, "an"));
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

        #[test]
        fn vietnamese_letters_fold_to_ascii(s in "[a-zA-ZàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ ]*") {
            let f = fold(&s);
            prop_assert!(f.chars().all(|c| c.is_ascii_lowercase() || c == ' '), "{}", f);
        }
    }
}
