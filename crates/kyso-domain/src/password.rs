//! The password rule of the registry's accounts: long enough, not one of the passwords
//! everybody tries first, not a run of repeated or sequential keys, not the user's own name,
//! and not the password being replaced. Pure, so the store and the web faces share it and it
//! is tested without a database.
//!
//! The comparisons are made on a folded form ([`crate::text::fold`]: lower case, no
//! diacritics, `đ` → `d`), so "Nguyễn Văn An" and "nguyenvanan" are the same name and
//! "MatKhau2024!" is the common "matkhau" with a year and a mark added.

use crate::text::fold;

/// Fewest characters of a password.
pub const MIN_LEN: usize = 10;
/// Most bytes of a password (argon2 takes any length; a bound keeps requests small).
pub const MAX_BYTES: usize = 256;

/// Why a password is refused. Each has a message for the field, in Vietnamese and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Shorter than [`MIN_LEN`] characters or longer than [`MAX_BYTES`] bytes.
    Length,
    /// One of the most common passwords, possibly with digits or marks around it.
    Common,
    /// Repeated characters, a repeated pattern, or a run along the alphabet or the keyboard.
    Trivial,
    /// Contains the user name, or is made of the words of the user's full name.
    PersonalName,
    /// The same as the current password.
    Reused,
}

impl Weakness {
    /// The message shown at the field, in Vietnamese.
    pub fn message_vi(self) -> String {
        match self {
            Weakness::Length => format!("Mật khẩu phải có từ {MIN_LEN} đến {MAX_BYTES} ký tự."),
            Weakness::Common => "Mật khẩu này thuộc danh sách mật khẩu phổ biến, dễ bị đoán; \
                                 hãy chọn mật khẩu khác."
                .into(),
            Weakness::Trivial => "Mật khẩu không được là dãy ký tự lặp lại hoặc liên tiếp \
                                  (như \"aaaaaaaaaa\", \"1234567890\", \"qwertyuiop\")."
                .into(),
            Weakness::PersonalName => {
                "Mật khẩu không được chứa tên đăng nhập hoặc họ tên của người dùng.".into()
            }
            Weakness::Reused => "Mật khẩu mới phải khác mật khẩu hiện tại.".into(),
        }
    }

    /// The message shown at the field, in English.
    pub fn message_en(self) -> String {
        match self {
            Weakness::Length => {
                format!("The password must be {MIN_LEN} to {MAX_BYTES} characters long.")
            }
            Weakness::Common => {
                "This password is on the list of common passwords and easy to guess; choose \
                 another."
                    .into()
            }
            Weakness::Trivial => "The password must not be repeated or sequential characters \
                                  (like \"aaaaaaaaaa\", \"1234567890\", \"qwertyuiop\")."
                .into(),
            Weakness::PersonalName => {
                "The password must not contain the user name or the user's full name.".into()
            }
            Weakness::Reused => "The new password must differ from the current one.".into(),
        }
    }
}

/// Whose password it is: the rule refuses their own names and their current password.
#[derive(Debug, Clone, Copy, Default)]
pub struct Owner<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    /// The password being replaced, when it is known (a change, not a first password).
    pub current: Option<&'a str>,
}

/// Check `password` against the rule; the first weakness found.
pub fn check(password: &str, owner: &Owner<'_>) -> Result<(), Weakness> {
    if password.chars().count() < MIN_LEN || password.len() > MAX_BYTES {
        return Err(Weakness::Length);
    }
    if owner.current == Some(password) {
        return Err(Weakness::Reused);
    }
    let folded = fold(password);
    let compact = alnum(&folded);
    let core = core_letters(&folded);
    if is_trivial(&folded) || (!compact.is_empty() && is_trivial(&compact)) {
        return Err(Weakness::Trivial);
    }
    if is_personal(&compact, &core, owner) {
        return Err(Weakness::PersonalName);
    }
    if is_common(&folded) || is_common(&compact) || (!core.is_empty() && is_common(&core)) {
        return Err(Weakness::Common);
    }
    Ok(())
}

/// Letters and digits only.
fn alnum(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The word a password is built on: digits and marks stripped from both ends, common
/// look-alike substitutions undone (`p@ssw0rd` → `password`), then letters only.
fn core_letters(folded: &str) -> String {
    let trimmed = folded.trim_matches(|c: char| !c.is_alphabetic());
    trimmed
        .chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' | '|' => 'i',
            '3' => 'e',
            '5' | '$' => 's',
            '7' => 't',
            '8' => 'b',
            '9' => 'g',
            c => c,
        })
        .filter(|c| c.is_alphabetic())
        .collect()
}

/// Rows the keyboard and the alphabet run along; two characters next to each other in one
/// of them (either way), or the same character twice, are one step of a trivial run.
const RUNS: &[&str] = &[
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "qwertzuiop",
    "azertyuiop",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
];

fn is_step(a: char, b: char) -> bool {
    a == b
        || RUNS.iter().any(|row| {
            let r: Vec<char> = row.chars().collect();
            r.windows(2)
                .any(|w| matches!(w, [x, y] if (*x == a && *y == b) || (*x == b && *y == a)))
        })
}

/// Few distinct characters, a repeated pattern, or at most three runs of steps.
fn is_trivial(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return false;
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return true;
    }
    let n = chars.len();
    let periodic = (1..=n / 2).any(|p| chars.iter().zip(chars.iter().skip(p)).all(|(a, b)| a == b));
    if periodic {
        return true;
    }
    let runs = 1 + chars
        .windows(2)
        .filter(|w| matches!(w, [a, b] if !is_step(*a, *b)))
        .count();
    runs <= 3
}

/// Contains the user name, contains the whole full name, or is made only of the words of
/// the user's names (in any order, repeated).
fn is_personal(compact: &str, core: &str, owner: &Owner<'_>) -> bool {
    let user = alnum(&fold(owner.username));
    if user.chars().count() >= 3 && compact.contains(&user) {
        return true;
    }
    let name_words: Vec<String> = fold(owner.full_name)
        .split(|c: char| !c.is_alphanumeric())
        .chain(fold(owner.username).split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_owned)
        .collect();
    let whole_name: String = alnum(&fold(owner.full_name));
    if whole_name.chars().count() >= 4 && compact.contains(&whole_name) {
        return true;
    }
    !core.is_empty() && made_of(core, &name_words)
}

/// Whether `s` is a concatenation of `words` (each any number of times).
fn made_of(s: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return false;
    }
    // reachable[i]: the first i bytes are made of the words.
    let mut reachable = vec![false; s.len() + 1];
    if let Some(first) = reachable.first_mut() {
        *first = true;
    }
    for i in 0..s.len() {
        if !reachable.get(i).copied().unwrap_or(false) || !s.is_char_boundary(i) {
            continue;
        }
        let rest = s.get(i..).unwrap_or("");
        for w in words {
            if rest.starts_with(w.as_str()) {
                if let Some(r) = reachable.get_mut(i + w.len()) {
                    *r = true;
                }
            }
        }
    }
    reachable.last().copied().unwrap_or(false)
}

fn is_common(s: &str) -> bool {
    COMMON.split_ascii_whitespace().any(|c| c == s)
}

/// The most common passwords (folded: lower case, no diacritics): the international lists'
/// head, and the Vietnamese favourites. Matched against the whole password, its letters and
/// digits, and its core word ([`core_letters`]), so "Matkhau@2024" is "matkhau".
const COMMON: &str = "
123456 123456789 1234567890 0123456789 12345678 1234567 12345 1234 111111 1111111111
000000 0000000000 123123 123123123 123321 654321 987654321 9876543210 666666 888888 868686
112233 121212 123654 147258 147258369 159753 159357 456789 789456 147852 123456a 123456aa
123456abc abc123 abc123456 a123456 a123456789 aa123456 1q2w3e4r 1q2w3e4r5t 1qaz2wsx
zaq12wsx qwe123 qwe123456 qweasd qweasdzxc 1qazxsw2 q1w2e3r4 asd123 zxc123 zxcvbnm
password password1 password123 passw0rd pass pass123 passwd p4ssword mypassword
qwerty qwertyuiop qwerty123 asdfgh asdfghjkl asdfasdf azerty abcd1234 abcdef abcdefgh
admin admin123 admin@123 admin1234 administrator adminadmin root toor root123 rootroot
superuser supervisor sysadmin system manager guest guest123 user user123 test test123
tester testing demo demo123 default changeme welcome welcome1 welcome123 letmein
login login123 access secret secret123 master masterkey trustno1 private
iloveyou iloveu loveyou lovely love loveme love123 princess sunshine shadow monkey dragon
football baseball basketball soccer superman batman spiderman starwars pokemon naruto
michael jennifer jessica ashley daniel charlie thomas robert hunter ranger buster
jordan jordan23 harley hannah andrew joshua matthew freedom whatever nothing computer
internet samsung iphone apple google facebook youtube microsoft windows linux ubuntu
chocolate cookie cheese banana orange flower summer winter spring autumn
killer hello hello123 hellokitty blink182 fuckyou biteme cheater
matkhau matkhau123 matkhau1 matkhaumoi matkhaucu matkhau@123 mk123456 mkmk
anhyeuem anhyeuem123 emyeuanh emyeuanh123 yeuem yeuanh yeuemnhieu yeuanhnhieu
anhyeuemnhieu emyeuanhnhieu iuem iuanh toiyeuem toiyeuban yeunhau yeuthuong
conyeume yeume yeuba yeubame giadinh hanhphuc tinhyeu thuongem thuonganh nhoem nhoanh
vietnam vietnam123 vietnamvodich vodich vietnamnumber1 hanoi hanoi123 saigon saigon123
hochiminh danang haiphong cantho hue nhatrang dalat vungtau quangninh nghean thanhhoa
bacninh haiduong namdinh thaibinh langson caobang laocai yenbai sonla dienbien
tuyenquang hagiang bacgiang phutho vinhphuc hoabinh ninhbinh hanam hatinh quangbinh
quangtri quangnam quangngai binhdinh phuyen khanhhoa ninhthuan binhthuan kontum gialai
daklak daknong lamdong binhphuoc tayninh binhduong dongnai longan tiengiang bentre
travinh vinhlong dongthap angiang kiengiang haugiang soctrang baclieu camau
quantri quantrivien quantri123 quantrihethong hethong admin@2024 admin@2025 admin@2026
admin@1234 admin#123 admin123456 abc@123 abc@1234 abc@12345 abcd@1234 abcd@123
pass@123 pass@1234 password@123 p@ssw0rd p@ssword p@55w0rd
tuyetmat baomat bimat khongbiet khongcho khongnoi khongco chaoban xinchao
congchuc congvu chukyso chungthu chungthuso ubnd ubndtinh sokhcn sokhoahoc
caidatmoi macdinh doimatkhau nguoidung taikhoan dangnhap
nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly
anh minh hung tuan thanh huong lan linh mai trang hoa hang ha nam long hai hieu
dung duc quang trung son phuong thao thu thuy ngoc nhung hanh quynh vy my tam
bongda chelsea arsenal liverpool barcelona realmadrid manutd manchester juventus
messi ronaldo neymar mu mancity
doraemon nobita conan gaming game gamer lienminh lienquan
1234qwer qwer1234 asdf1234 1234asdf zxcv1234 q1w2e3 a1b2c3 a1b2c3d4 1a2b3c4d
aaaaaa abcabc 11223344 12341234 123qwe 123abc 321321 520520 5201314 1314520 123456789a
iloveyou123 iloveyou1 anhyeuem1 matkhau1234 matkhau12345 matkhau123456789
";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NONE: Owner<'static> = Owner {
        username: "",
        full_name: "",
        current: None,
    };

    fn owner() -> Owner<'static> {
        Owner {
            username: "an.nguyen",
            full_name: "Nguyễn Văn An",
            current: None,
        }
    }

    #[test]
    fn the_trivial_the_common_and_the_personal_are_refused_with_the_reason() {
        let cases: &[(&str, Weakness)] = &[
            ("ngan", Weakness::Length),
            ("aaaaaaaaaa", Weakness::Trivial),
            ("AAAAAAAAAAAA", Weakness::Trivial),
            ("ababababab", Weakness::Trivial),
            ("abcabcabca", Weakness::Trivial),
            ("passpasspass", Weakness::Trivial),
            ("1234567890", Weakness::Trivial),
            ("0987654321", Weakness::Trivial),
            ("abcdefghijk", Weakness::Trivial),
            ("qwertyuiop", Weakness::Trivial),
            ("Qwerty12345", Weakness::Trivial),
            ("1qaz2wsx3edc", Weakness::Trivial),
            ("!@#$%^&*()", Weakness::Trivial),
            ("aaaaa12345", Weakness::Trivial),
            ("matkhau123", Weakness::Common),
            ("Matkhau@2024", Weakness::Common),
            ("MậtKhẩu2025!", Weakness::Common),
            ("admin@123456", Weakness::Common),
            ("Admin@2026!!", Weakness::Common),
            ("P@ssw0rd2024", Weakness::Common),
            ("anhyeuem1995", Weakness::Common),
            ("iloveyou2024", Weakness::Common),
            ("vietnam@1975", Weakness::Common),
            ("123456789@Hanoi", Weakness::Common),
            ("nguyenvanan1990", Weakness::PersonalName),
            ("Nguyễn Văn An 90", Weakness::PersonalName),
            ("AnNguyen@1990", Weakness::PersonalName),
            ("an.nguyen-2026", Weakness::PersonalName),
            ("vanan!!2026", Weakness::PersonalName),
        ];
        for (pw, why) in cases {
            assert_eq!(check(pw, &owner()), Err(*why), "{pw}");
            assert!(!why.message_vi().is_empty() && !why.message_en().is_empty());
        }
        assert!(Weakness::Length.message_vi().contains("10"));
    }

    #[test]
    fn sound_passwords_pass_and_the_current_one_is_not_reused() {
        for pw in [
            "mat-khau-dai-12345",
            "quan-tri-moi-2026",
            "tai-chinh-mat-khau-2026",
            "mat-khau-ban-dau-1",
            "Sông Hồng chảy về biển Đông",
            "x7Kp2mQz9A",
            "hK3nVZp7cWqE4tRb",
        ] {
            assert_eq!(check(pw, &owner()), Ok(()), "{pw}");
        }
        let changing = Owner {
            current: Some("mat-khau-dai-12345"),
            ..owner()
        };
        assert_eq!(
            check("mat-khau-dai-12345", &changing),
            Err(Weakness::Reused)
        );
        assert_eq!(check("mat-khau-dai-67890", &changing), Ok(()));
        // The test accounts of the other suites keep passing.
        let admin = Owner {
            username: "admin",
            full_name: "Quản trị hệ thống (demo)",
            current: None,
        };
        assert_eq!(check("quan-tri-moi-2026", &admin), Ok(()));
        let other = Owner {
            username: "canbo.taichinh",
            full_name: "Cán bộ Sở Tài chính (demo)",
            current: None,
        };
        assert_eq!(check("mat-khau-ban-dau-1", &other), Ok(()));
        assert_eq!(check("tai-chinh-mat-khau-2026", &other), Ok(()));
        assert_eq!(
            check("taichinh-canbo-2026", &other),
            Err(Weakness::PersonalName)
        );
    }

    #[test]
    fn the_list_is_folded_and_holds_a_few_hundred_passwords() {
        let n = COMMON.split_ascii_whitespace().count();
        assert!(n >= 300, "{n}");
        for w in COMMON.split_ascii_whitespace() {
            assert_eq!(fold(w), w, "{w} is stored folded");
        }
        for w in ["matkhau", "123456789", "admin@123"] {
            assert!(is_common(w), "{w}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}", u in "[a-z.]{0,12}", n in "\\PC{0,30}") {
            let _ = check(&s, &Owner { username: &u, full_name: &n, current: None });
        }

        #[test]
        fn a_short_pattern_repeated_is_refused(unit in "[a-zA-Z0-9!@#]{1,4}", times in 10usize..20) {
            let pw = unit.repeat(times);
            prop_assert!(check(&pw, &NONE).is_err());
        }

        #[test]
        fn a_common_password_dressed_up_is_refused(
            i in 0usize..400,
            upper in any::<bool>(),
            suffix in "[0-9!@#.]{0,8}",
        ) {
            let words: Vec<&str> = COMMON
                .split_ascii_whitespace()
                .filter(|w| w.chars().all(char::is_alphabetic))
                .collect();
            let w = words[i % words.len()];
            let mut pw = if upper { w.to_uppercase() } else { w.to_owned() };
            pw.push_str(&suffix);
            while pw.chars().count() < MIN_LEN {
                pw.push_str("@2026");
            }
            prop_assert!(check(&pw, &NONE).is_err(), "{}", pw);
        }

        #[test]
        fn ones_own_name_is_refused_with_or_without_diacritics(
            year in 1950u32..2030,
            mark in "[!@#.]{0,2}",
            accents in any::<bool>(),
        ) {
            let name = if accents { "Trần Thị Hồng Nhung" } else { "tran thi hong nhung" };
            let who = Owner { username: "nhung.tth", full_name: "Trần Thị Hồng Nhung", current: None };
            let pw = format!("{}{mark}{year}", name.replace(' ', ""));
            prop_assert_eq!(check(&pw, &who), Err(Weakness::PersonalName));
        }

        #[test]
        fn a_run_along_the_alphabet_or_digits_is_refused(start in 0usize..16, len in 10usize..26) {
            let letters: String = "abcdefghijklmnopqrstuvwxyz".chars().cycle().skip(start).take(len).collect();
            prop_assert!(check(&letters, &NONE).is_err(), "{}", letters);
            let digits: String = "0123456789".chars().cycle().skip(start).take(len).collect();
            prop_assert!(check(&digits, &NONE).is_err(), "{}", digits);
        }
    }
}
