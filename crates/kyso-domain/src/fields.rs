//! Checking the fields of a registry form (agencies, subscribers, devices, requests): trimmed
//! text without hidden or control characters, e-mail addresses, dates as officials write
//! them, a value among a kind's names; each refusal is a [`FieldError`] naming the field, with
//! the message in Vietnamese and English. The store turns it into its own `Invalid` error.

/// Longest text accepted in a free-text field.
pub const MAX_TEXT: usize = 500;

/// A field of a form holds a value the registry refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {en}")]
pub struct FieldError {
    /// The field's name in the API (`name`, `date_of_birth`, …).
    pub field: &'static str,
    /// The message for Vietnamese users.
    pub vi: String,
    /// The message for English-speaking users.
    pub en: String,
}

impl FieldError {
    /// A refusal of `field` with its two messages.
    pub fn new(field: &'static str, vi: impl Into<String>, en: impl Into<String>) -> FieldError {
        FieldError {
            field,
            vi: vi.into(),
            en: en.into(),
        }
    }
}

pub fn text(field: &'static str, value: &str, required: bool) -> Result<String, FieldError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(FieldError::new(
            field,
            format!("Trường \"{}\" không được để trống.", field_vi(field)),
            format!("The field \"{field}\" is required."),
        ));
    }
    if let Some(c) = crate::text::hidden_char(v) {
        let code = format!("U+{:04X}", u32::from(c));
        return Err(FieldError::new(
            field,
            format!(
                "Trường \"{}\" có ký tự ẩn hoặc ký tự đổi chiều văn bản ({code}); hãy gõ lại \
                 trường này.",
                field_vi(field)
            ),
            format!(
                "The field \"{field}\" holds an invisible or text-direction character ({code}); \
                 type it again."
            ),
        ));
    }
    if v.chars().count() > MAX_TEXT || v.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            format!(
                "Trường \"{}\" quá dài hoặc có ký tự điều khiển.",
                field_vi(field)
            ),
            format!("The field \"{field}\" is too long or holds control characters."),
        ));
    }
    Ok(v.to_owned())
}

/// `value` as one of a kind's stable names (`names`: every one, for the message).
pub fn one_of<T: std::str::FromStr>(
    field: &'static str,
    value: &str,
    names: &[&str],
) -> Result<T, FieldError> {
    value.parse::<T>().map_err(|_| {
        FieldError::new(
            field,
            format!(
                "Trường \"{}\" phải là một trong: {}.",
                field_vi(field),
                names.join(", ")
            ),
            format!(
                "The field \"{field}\" must be one of: {}.",
                names.join(", ")
            ),
        )
    })
}

pub fn email(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = text(field, value, false)?;
    if !v.is_empty() {
        let ok = v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !v.contains(' ')
        });
        if !ok {
            return Err(FieldError::new(
                field,
                format!("\"{v}\" không phải địa chỉ thư điện tử hợp lệ."),
                format!("\"{v}\" is not a valid email address."),
            ));
        }
    }
    // Stored as written in lowercase: the same mailbox typed "An@Demo.VN" is matched (an
    // account to its subscriber, a notice to its officer) and shown one way.
    Ok(v.to_lowercase())
}

/// A Vietnamese phone number, stored as its digits: spaces, dots, dashes and brackets dropped,
/// the country code (+84, 0084, 84) written as the leading 0; then a mobile number's 10 digits
/// (`03…`, `05…`, `07…`, `08…`, `09…`: `0912345678`) or a landline's 11 with its area code
/// (`02…`: `02383123456`). Empty stays empty.
pub fn phone(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = text(field, value, false)?;
    if v.is_empty() {
        return Ok(v);
    }
    let refuse = || {
        FieldError::new(
            field,
            format!(
                "\"{v}\" không phải số điện thoại Việt Nam: 10 chữ số (di động, ví dụ 0912 345 678) \
                 hoặc 11 chữ số (cố định kèm mã vùng, ví dụ 0238 3123 456), có thể bắt đầu bằng +84."
            ),
            format!(
                "\"{v}\" is not a Vietnamese phone number: 10 digits (mobile, e.g. 0912 345 678) \
                 or 11 (a landline with its area code, e.g. 0238 3123 456), +84 allowed."
            ),
        )
    };
    let mut digits = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => digits.push_str("00"),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return Err(refuse()),
        }
    }
    let national = if let Some(rest) = digits.strip_prefix("0084") {
        format!("0{rest}")
    } else if let Some(rest) = digits.strip_prefix("84").filter(|r| r.len() >= 9) {
        format!("0{rest}")
    } else {
        digits
    };
    let mobile = national.len() == 10
        && ["03", "05", "07", "08", "09"]
            .iter()
            .any(|p| national.starts_with(p));
    let landline = national.len() == 11 && national.starts_with("02");
    if mobile || landline {
        Ok(national)
    } else {
        Err(refuse())
    }
}

/// A personal identification number: a citizen identity card's 12 digits (CCCD, the personal
/// identification number), an old identity card's 9 (CMND), or a passport number (a letter
/// then digits, 8 to 9 characters, stored in capitals). Spaces and dots dropped; empty stays
/// empty.
pub fn id_number(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = text(field, value, false)?;
    let compact: String = v
        .chars()
        .filter(|c| !matches!(c, ' ' | '.'))
        .collect::<String>()
        .to_uppercase();
    let digits = compact.chars().all(|c| c.is_ascii_digit());
    let passport = compact.len() >= 8
        && compact.len() <= 9
        && compact.starts_with(|c: char| c.is_ascii_uppercase())
        && compact.chars().skip(1).all(|c| c.is_ascii_alphanumeric())
        && compact.chars().filter(char::is_ascii_digit).count() >= 6;
    if compact.is_empty() || (digits && matches!(compact.len(), 9 | 12)) || passport {
        return Ok(compact);
    }
    let (vi, en) = if digits {
        (
            format!(
                "Số CCCD gồm 12 chữ số, CMND cũ gồm 9 chữ số; \"{v}\" có {} chữ số.",
                compact.len()
            ),
            format!(
                "A citizen ID has 12 digits, an old ID card 9; \"{v}\" has {}.",
                compact.len()
            ),
        )
    } else {
        (
            format!(
                "\"{v}\" không phải số CCCD (12 chữ số), CMND (9 chữ số) hay hộ chiếu (một chữ cái \
                 và 7–8 chữ số, ví dụ C1234567)."
            ),
            format!(
                "\"{v}\" is not a citizen ID (12 digits), an old ID card (9 digits) or a passport \
                 number (a letter and 7–8 digits, e.g. C1234567)."
            ),
        )
    };
    Err(FieldError::new(field, vi, en))
}

/// The Vietnamese name of a field, for messages.
pub fn field_vi(field: &str) -> &'static str {
    match field {
        "code" => "Mã định danh",
        "name" => "Tên",
        "kind" => "Loại",
        "parent_id" => "Cơ quan quản lý",
        "agency_id" => "Cơ quan",
        "address" => "Địa chỉ",
        "email" => "Thư điện tử",
        "phone" => "Số điện thoại",
        "date_of_birth" => "Ngày sinh",
        "id_number" => "Số CMND/CCCD/Hộ chiếu",
        "title" => "Chức vụ",
        "unit" => "Đơn vị",
        "certificate" => "Chứng thư số",
        "serial" => "Số hiệu",
        "subscriber_id" => "Thuê bao",
        "holder_id" => "Người giữ",
        "state" => "Trạng thái",
        "event" => "Thao tác",
        "reason" => "Lý do",
        "username" => "Tên đăng nhập",
        "full_name" => "Họ và tên",
        "password" => "Mật khẩu",
        "role" => "Vai trò",
        "days" => "Số ngày",
        "contact_name" => "Người liên hệ",
        "contact_title" => "Chức vụ người liên hệ",
        "contact_phone" => "Điện thoại người liên hệ",
        "contact_email" => "Thư điện tử người liên hệ",
        "items" => "Danh sách đề nghị",
        "data" => "Thông tin đề nghị",
        "certificate_id" => "Chứng thư số",
        "certificates" => "Chứng thư số được cấp",
        "device_id" => "Thiết bị",
        "number" => "Số văn bản",
        "action" => "Thao tác",
        "note" => "Ghi chú",
        "years" => "Lịch làm việc",
        "q" => "Từ khóa",
        "from" => "Từ ngày",
        "to" => "Đến ngày",
        "signer" => "Người ký",
        "retention" => "Thời hạn bảo quản",
        "dossier_id" => "Hồ sơ",
        "year" => "Năm",
        _ => "Trường",
    }
}

pub fn parse_date(field: &'static str, value: &str) -> Result<Option<time::Date>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let vn = time::macros::format_description!("[day]/[month]/[year]");
    time::Date::parse(v, iso)
        .or_else(|_| time::Date::parse(v, vn))
        .map(Some)
        .map_err(|_| {
            FieldError::new(
                field,
                format!("\"{v}\" không phải ngày hợp lệ (dạng dd/mm/yyyy)."),
                format!("\"{v}\" is not a valid date (dd/mm/yyyy)."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_kept_as_their_national_digits() {
        for (typed, kept) in [
            ("0912 345 678", "0912345678"),
            ("0912.345.678", "0912345678"),
            ("+84 912 345 678", "0912345678"),
            ("84912345678", "0912345678"),
            ("0084-912-345-678", "0912345678"),
            ("(0238) 3123 456", "02383123456"),
            ("", ""),
        ] {
            assert_eq!(phone("phone", typed).as_deref(), Ok(kept), "{typed}");
        }
        for wrong in [
            "091234567",
            "912345678",
            "0912 345 678 9",
            "09123x5678",
            "+1 202 555 0100",
        ] {
            let e = phone("phone", wrong).unwrap_err();
            assert_eq!(e.field, "phone");
            assert!(e.vi.contains("10 chữ số"), "{wrong}: {e:?}");
        }
    }

    #[test]
    fn id_numbers_are_a_citizen_id_an_old_card_or_a_passport() {
        for (typed, kept) in [
            ("001085099999", "001085099999"),
            ("001 085 099 999", "001085099999"),
            ("123456789", "123456789"),
            ("c1234567", "C1234567"),
            ("", ""),
        ] {
            assert_eq!(
                id_number("id_number", typed).as_deref(),
                Ok(kept),
                "{typed}"
            );
        }
        let e = id_number("id_number", "0010850999").unwrap_err();
        assert!(
            e.vi.contains("12 chữ số") && e.vi.contains("có 10 chữ số"),
            "{e:?}"
        );
        for wrong in ["12345678", "1234567890123", "ABCDEFGH", "C12-4567"] {
            assert!(id_number("id_number", wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn fields_are_trimmed_and_refused_with_the_field_named() {
        assert_eq!(
            text("name", "  Sở Tài chính ", true),
            Ok("Sở Tài chính".to_owned())
        );
        let e = text("name", " ", true).unwrap_err();
        assert_eq!(e.field, "name");
        assert!(e.vi.contains("Tên"), "{e:?}");
        assert!(
            text("name", "A\u{202e}B", true).is_err(),
            "a right-to-left override"
        );
        assert!(text("name", &"x".repeat(MAX_TEXT + 1), true).is_err());
        assert_eq!(email("email", "an@demo.vn"), Ok("an@demo.vn".to_owned()));
        assert_eq!(email("email", " An@Demo.VN "), Ok("an@demo.vn".to_owned()));
        assert!(email("email", "an@demo").is_err());
        assert_eq!(
            parse_date("date_of_birth", "12/03/1978"),
            Ok(Some(time::macros::date!(1978 - 03 - 12)))
        );
        assert_eq!(parse_date("date_of_birth", ""), Ok(None));
        assert!(parse_date("date_of_birth", "31/02/1978").is_err());
        let kind: Result<crate::registry::AgencyKind, _> = one_of("kind", "unit", &["unit"]);
        assert_eq!(kind, Ok(crate::registry::AgencyKind::Unit));
        assert!(one_of::<crate::registry::AgencyKind>("kind", "bo", &["unit"]).is_err());
    }
}
