//! PDF date strings (ISO 32000-2 §7.9.4) and the ISO 8601 text Decree 30 asks for, both in
//! Vietnam's time zone (UTC+07:00).

use time::{OffsetDateTime, UtcOffset};

/// Vietnam's offset from UTC (no daylight saving time).
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// `D:YYYYMMDDHHmmSS+07'00'`.
pub fn pdf_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(VIETNAM);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+07'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DDTHH:mm:SS+07:00`.
pub fn iso8601_vn(t: OffsetDateTime) -> String {
    let t = t.to_offset(VIETNAM);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parse a PDF date `D:YYYY[MM[DD[HH[mm[SS]]]]][Z|+HH'mm'|-HH'mm']` (the `D:` prefix and the
/// apostrophes are optional, as writers vary). Missing parts default as the standard says;
/// a missing offset means UTC. `None` for anything that is not a valid date.
pub fn parse_pdf_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 || digits.len() > 14 || !digits.len().is_multiple_of(2) {
        return None;
    }
    let field = |from: usize, default: u32| -> Option<u32> {
        match digits.get(from..from + 2) {
            Some(v) => v.parse().ok(),
            None => Some(default),
        }
    };
    let year: i32 = digits.get(0..4)?.parse().ok()?;
    let month = time::Month::try_from(u8::try_from(field(4, 1)?).ok()?).ok()?;
    let day = u8::try_from(field(6, 1)?).ok()?;
    let (h, m, sec) = (field(8, 0)?, field(10, 0)?, field(12, 0)?);
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(sec).ok()?,
    )
    .ok()?;
    let rest = s.get(digits.len()..).unwrap_or("");
    let offset = match rest.chars().next() {
        None | Some('Z') => UtcOffset::UTC,
        Some(sign @ ('+' | '-')) => {
            let nums: String = rest.chars().skip(1).filter(char::is_ascii_digit).collect();
            let oh: i8 = nums.get(0..2)?.parse().ok()?;
            let om: i8 = nums.get(2..4).map_or(Some(0), |v| v.parse().ok())?;
            let (oh, om) = if sign == '-' { (-oh, -om) } else { (oh, om) };
            UtcOffset::from_hms(oh, om, 0).ok()?
        }
        _ => return None,
    };
    Some(time::PrimitiveDateTime::new(date, t).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_what_writers_write() {
        let t = datetime!(2026-11-23 02:30:05 UTC);
        assert_eq!(parse_pdf_date(&pdf_date(t)), Some(t));
        assert_eq!(parse_pdf_date("D:20261123023005Z"), Some(t));
        assert_eq!(parse_pdf_date("D:20261123093005+07'00"), Some(t));
        assert_eq!(parse_pdf_date("20261123093005+0700"), Some(t));
        assert_eq!(
            parse_pdf_date("D:2026"),
            Some(datetime!(2026-01-01 00:00:00 UTC))
        );
        for bad in [
            "",
            "D:",
            "D:20261323",
            "D:2026112",
            "D:20261123093005X",
            "D:20261131",
        ] {
            assert_eq!(parse_pdf_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_in_vietnam_time() {
        let t = datetime!(2026-11-23 02:30:05 UTC);
        assert_eq!(pdf_date(t), "D:20261123093005+07'00'");
        assert_eq!(iso8601_vn(t), "2026-11-23T09:30:05+07:00");
        let late = datetime!(2026-12-31 20:00:00 UTC);
        assert_eq!(iso8601_vn(late), "2027-01-01T03:00:00+07:00");
    }
}
