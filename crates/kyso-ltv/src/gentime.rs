//! `GeneralizedTime` as RFC 3161 and RFC 6960 use it: UTC (`Z`), with optional fractional
//! seconds (`YYYYMMDDHHMMSS[.f+]Z`). `der`'s own type follows RFC 5280 (no fractions), which
//! TSAs and OCSP responders routinely send (certomancer, for one). Encoding writes the shortest
//! form DER allows: no fraction when whole, no trailing zeros.

use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A UTC instant with nanosecond precision, encoded as a `GeneralizedTime`.
#[derive(Clone, Copy, Debug, Eq, PartialEq, PartialOrd, Ord)]
pub struct GenTime(pub OffsetDateTime);

/// Longest value accepted (14 digits, '.', 9 fraction digits, 'Z').
const MAX_LEN: u32 = 25;

impl GenTime {
    /// `t` truncated to whole seconds (what OCSP clients such as NSS expect).
    pub fn whole_seconds(t: OffsetDateTime) -> Self {
        GenTime(t.replace_nanosecond(0).unwrap_or(t))
    }

    fn parse(v: &[u8]) -> Option<OffsetDateTime> {
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = v.get(r)?;
            if !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        if v.len() < 15 || v.last() != Some(&b'Z') {
            return None;
        }
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
        let day = u8::try_from(digits(6..8)?).ok()?;
        let hour = u8::try_from(digits(8..10)?).ok()?;
        let minute = u8::try_from(digits(10..12)?).ok()?;
        let second = u8::try_from(digits(12..14)?).ok()?;
        let mut nanos = 0u32;
        let rest = v.get(14..v.len() - 1)?;
        if !rest.is_empty() {
            // '.' then 1..=9 digits, no trailing zero (DER).
            let (dot, frac) = rest.split_first()?;
            if *dot != b'.' || frac.is_empty() || frac.len() > 9 || frac.last() == Some(&b'0') {
                return None;
            }
            let mut scale = 100_000_000u32;
            for c in frac {
                if !c.is_ascii_digit() {
                    return None;
                }
                nanos += u32::from(c - b'0') * scale;
                scale /= 10;
            }
        }
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
        Some(PrimitiveDateTime::new(date, time).assume_utc())
    }

    fn render(&self) -> String {
        let t = self.0.to_offset(time::UtcOffset::UTC);
        let mut s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        let n = t.nanosecond();
        if n != 0 {
            let frac = format!("{n:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s.push('Z');
        s
    }
}

impl From<OffsetDateTime> for GenTime {
    fn from(t: OffsetDateTime) -> Self {
        GenTime(t)
    }
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = u32::from(header.length());
        if len > MAX_LEN {
            return Err(reader.error(Tag::GeneralizedTime.length_error()));
        }
        let mut buf = [0u8; MAX_LEN as usize];
        let slot = buf
            .get_mut(..len as usize)
            .ok_or_else(|| reader.error(Tag::GeneralizedTime.length_error()))?;
        reader.read_into(slot)?;
        GenTime::parse(slot)
            .map(GenTime)
            .ok_or_else(|| reader.error(Tag::GeneralizedTime.value_error()))
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.render().len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.render().as_bytes())
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use der::{Decode, Encode};
    use time::macros::datetime;

    #[test]
    fn whole_and_fractional_seconds_round_trip() {
        for (t, text) in [
            (datetime!(2026-12-01 10:20:30 UTC), "20261201102030Z"),
            (datetime!(2026-12-01 10:20:30.5 UTC), "20261201102030.5Z"),
            (
                datetime!(2026-12-01 10:20:30.123456 UTC),
                "20261201102030.123456Z",
            ),
        ] {
            let der = GenTime(t).to_der().unwrap();
            assert_eq!(&der[2..], text.as_bytes());
            assert_eq!(GenTime::from_der(&der).unwrap().0, t);
        }
    }

    #[test]
    fn non_utc_trailing_zeros_and_junk_are_refused() {
        for text in [
            "20261201102030",
            "20261201102030+0700",
            "20261201102030.50Z",
            "20261201102030.Z",
            "2026120110203xZ",
            "20261301102030Z",
            "20261201102030.1234567890Z",
        ] {
            let mut der = vec![0x18, text.len() as u8];
            der.extend_from_slice(text.as_bytes());
            assert!(GenTime::from_der(&der).is_err(), "{text}");
        }
    }
}
