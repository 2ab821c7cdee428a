//! Number and notation (số, ký hiệu) of Decree 30 art. 15 and Appendix I: "Số: 12/QĐ-UBND" for
//! a typed document, "Số: 07/UBND-VP" for a công văn, "Số: 05/SY" for a copy; numbers below 10
//! written with a leading zero; a yearly series from 01 on 1 January (Vietnam time).

use time::{Date, Month, OffsetDateTime, UtcOffset};

use super::meta::{CopyForm, DocType};
use crate::fields::FieldError;

/// Vietnam's offset (+07:00): the series year and the document date are read in it.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Longest abbreviation of an issuer or unit.
pub const MAX_ABBREV: usize = 20;

/// The year whose series a number taken at `now` belongs to (Vietnam time: a number taken at
/// 23:30 UTC on 31 December is the next year's).
pub fn series_year(now: OffsetDateTime) -> i32 {
    now.to_offset(VIETNAM).year()
}

/// The document date at `now`, in Vietnam time.
pub fn vietnam_date(now: OffsetDateTime) -> Date {
    now.to_offset(VIETNAM).date()
}

/// A number as written: two digits at least ("01" … "09", "10", "123").
pub fn number_text(number: u32) -> String {
    format!("{number:02}")
}

/// The date line (cell 4): "Nghệ An, ngày 05 tháng 02 năm 2026" — day below 10 and the months
/// January and February with a leading zero (Decree 30 Appendix I).
pub fn date_line(place: &str, date: Date) -> String {
    let month: u8 = date.month().into();
    let month = if matches!(date.month(), Month::January | Month::February) {
        format!("{month:02}")
    } else {
        month.to_string()
    };
    format!(
        "{place}, ngày {:02} tháng {month} năm {}",
        date.day(),
        date.year()
    )
}

/// Why an abbreviation or a notation is refused.
pub type NotationError = FieldError;

/// An issuer's or unit's abbreviation: letters (Vietnamese ones too), digits, `&` and `.`,
/// at most [`MAX_ABBREV`] characters; no space, `-` or `/` (the notation's separators).
pub fn check_abbrev(field: &'static str, s: &str) -> Result<(), NotationError> {
    let ok = !s.is_empty()
        && s.chars().count() <= MAX_ABBREV
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '&' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "Chữ viết tắt \"{s}\" không hợp lệ: chỉ gồm chữ, số, & và dấu chấm, không có \
                 khoảng trắng, gạch ngang hay gạch chéo, tối đa {MAX_ABBREV} ký tự."
            ),
            format!(
                "The abbreviation \"{s}\" is refused: letters, digits, & and dots only, no space, \
                 dash or slash, at most {MAX_ABBREV} characters."
            ),
        ))
    }
}

/// The notation (ký hiệu) a document's number is written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notation {
    doc_type: DocType,
    issuer: String,
    unit: String,
}

impl Notation {
    /// The notation of a `doc_type` issued by `issuer` ("UBND"), drafted by `unit` ("VP"; needed
    /// only for công văn and thư công, whose notation names the unit instead of the type).
    pub fn new(doc_type: DocType, issuer: &str, unit: &str) -> Result<Notation, NotationError> {
        let (issuer, unit) = (issuer.trim(), unit.trim());
        check_abbrev("issuer_abbrev", issuer)?;
        if doc_type.notation_names_unit() || !unit.is_empty() {
            check_abbrev("unit_abbrev", unit)?;
        }
        Ok(Notation {
            doc_type,
            issuer: issuer.to_owned(),
            unit: unit.to_owned(),
        })
    }

    /// The notation itself: "QĐ-UBND", or "UBND-VP" for a công văn.
    pub fn symbol(&self) -> String {
        match self.doc_type.abbreviation() {
            Some(t) => format!("{t}-{}", self.issuer),
            None => format!("{}-{}", self.issuer, self.unit),
        }
    }

    /// Number and notation: "12/QĐ-UBND".
    pub fn with_number(&self, number: u32) -> String {
        format!("{}/{}", number_text(number), self.symbol())
    }

    /// The line printed in cell 3: "Số: 12/QĐ-UBND".
    pub fn line(&self, number: u32) -> String {
        format!("Số: {}", self.with_number(number))
    }
}

/// The notation of a copy: the agency's copy series and the copy form ("05/SY").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyNotation {
    pub form: CopyForm,
}

impl CopyNotation {
    /// "05/SY".
    pub fn with_number(&self, number: u32) -> String {
        format!("{}/{}", number_text(number), self.form.abbreviation())
    }

    /// "Số: 05/SY".
    pub fn line(&self, number: u32) -> String {
        format!("Số: {}", self.with_number(number))
    }
}

/// The number and notation in a line as printed ("Số: 12/QĐ-UBND", "Số 12/QĐ-UBND",
/// "12/QĐ-UBND"), for checking what a PDF shows against the register. `None` when the line
/// does not have that shape.
pub fn parse_number_line(line: &str) -> Option<(u32, String)> {
    let s = line.trim();
    let s = s
        .strip_prefix("Số")
        .map_or(s, |r| r.trim_start_matches([':', ' ']));
    let (n, symbol) = s.split_once('/')?;
    let n = n.trim();
    if n.is_empty() || n.len() > 9 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let symbol = symbol.trim();
    if symbol.is_empty() || symbol.chars().any(char::is_whitespace) {
        return None;
    }
    Some((n.parse().ok()?, symbol.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    #[test]
    fn notations_as_decree_30_writes_them() {
        let qd = Notation::new(DocType::QuyetDinh, "UBND", "").unwrap();
        assert_eq!(qd.line(12), "Số: 12/QĐ-UBND");
        assert_eq!(qd.with_number(5), "05/QĐ-UBND");
        let cv = Notation::new(DocType::CongVan, "SKHCN", "VP").unwrap();
        assert_eq!(cv.line(7), "Số: 07/SKHCN-VP");
        assert_eq!(cv.with_number(1234), "1234/SKHCN-VP");
        let ttr = Notation::new(DocType::ToTrinh, "SKHCN", "").unwrap();
        assert_eq!(ttr.symbol(), "TTr-SKHCN");
        assert_eq!(
            CopyNotation {
                form: CopyForm::TrichSao
            }
            .line(3),
            "Số: 03/TrS"
        );
        assert_eq!(
            Notation::new(DocType::CongVan, "UBND", "")
                .unwrap_err()
                .field,
            "unit_abbrev"
        );
        for bad in ["", "UB ND", "UB-ND", "UB/ND", &"X".repeat(21)] {
            assert_eq!(
                Notation::new(DocType::BaoCao, bad, "").unwrap_err().field,
                "issuer_abbrev",
                "{bad:?}"
            );
        }
        assert!(Notation::new(DocType::BaoCao, "SKH&CN", "").is_ok());
    }

    #[test]
    fn the_series_year_is_vietnams() {
        assert_eq!(series_year(datetime!(2026-12-31 16:59:59 UTC)), 2026);
        assert_eq!(series_year(datetime!(2026-12-31 17:00:00 UTC)), 2027);
        assert_eq!(
            vietnam_date(datetime!(2026-12-31 17:00:00 UTC)),
            date!(2027 - 01 - 01)
        );
    }

    #[test]
    fn date_lines() {
        assert_eq!(
            date_line("Nghệ An", date!(2026 - 02 - 05)),
            "Nghệ An, ngày 05 tháng 02 năm 2026"
        );
        assert_eq!(
            date_line("Hà Nội", date!(2026 - 11 - 20)),
            "Hà Nội, ngày 20 tháng 11 năm 2026"
        );
        assert_eq!(
            date_line("Vinh", date!(2026 - 03 - 09)),
            "Vinh, ngày 09 tháng 3 năm 2026"
        );
    }

    #[test]
    fn number_lines_parse_back() {
        assert_eq!(
            parse_number_line("Số: 12/QĐ-UBND"),
            Some((12, "QĐ-UBND".into()))
        );
        assert_eq!(
            parse_number_line("Số 07/UBND-VP"),
            Some((7, "UBND-VP".into()))
        );
        assert_eq!(
            parse_number_line("Số:     /QĐ-UBND"),
            None,
            "a blank number"
        );
        assert_eq!(parse_number_line("Số: 1 2/QĐ"), None);
        assert_eq!(parse_number_line("12/"), None);
    }

    proptest! {
        #[test]
        fn every_rendered_number_parses_back(n in 1u32..100_000, t in 0usize..29) {
            let doc_type = DocType::ALL.get(t).copied().unwrap_or(DocType::CongVan);
            let notation = Notation::new(doc_type, "UBND", "VP").unwrap();
            let line = notation.line(n);
            prop_assert_eq!(parse_number_line(&line), Some((n, notation.symbol())));
            prop_assert!(number_text(n).len() >= 2);
        }
    }
}
