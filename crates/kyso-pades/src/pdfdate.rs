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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_in_vietnam_time() {
        let t = datetime!(2026-11-23 02:30:05 UTC);
        assert_eq!(pdf_date(t), "D:20261123093005+07'00'");
        assert_eq!(iso8601_vn(t), "2026-11-23T09:30:05+07:00");
        let late = datetime!(2026-12-31 20:00:00 UTC);
        assert_eq!(iso8601_vn(late), "2027-01-01T03:00:00+07:00");
    }
}
