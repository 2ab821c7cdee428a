//! Working days: which dates count towards a deadline in Vietnam, and deadlines counted in
//! working days.
//!
//! Saturdays and Sundays are not working days unless declared working (a make-up day, *làm bù*);
//! public holidays are not working days. All dates are in Vietnam time (UTC+7, [`VIETNAM`]).
//!
//! [`WorkCalendar::vietnam_default`] knows the public holidays of 2025–2030 (Labor Code 2019
//! art. 112): 1 January; Tết Nguyên đán (5 days); the Hùng Kings' day (10/3 lunar); 30 April;
//! 1 May; National Day (2 September and the day before). Years with a schedule decided by the
//! government use it; later years are computed (see [`vietnam_default_year`]). Deployments can
//! replace any year with their own list ([`CalendarConfig`]) once the official schedule is out.

use std::collections::{BTreeMap, BTreeSet};

use time::macros::{date, format_description, offset, time};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset, Weekday};

/// Vietnam time, UTC+7 (no daylight saving).
pub const VIETNAM: UtcOffset = offset!(+7);

/// The date of `t` in Vietnam as Vietnamese write it, `dd/mm/yyyy` (lists, notices, letters).
pub fn date_text(t: OffsetDateTime) -> String {
    day_text(t.to_offset(VIETNAM).date())
}

/// A calendar day as Vietnamese write it, `dd/mm/yyyy`.
pub fn day_text(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// A day stored as `yyyy-mm-dd` (a date of birth, an incoming document's date) written
/// `dd/mm/yyyy`; anything else as stored.
pub fn iso_day_text(iso: &str) -> String {
    let parts: Vec<&str> = iso.trim().split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}/{m}/{y}"),
        _ => iso.to_owned(),
    }
}

/// The time `t` in Vietnam as the clerk's reports write it, `dd/mm/yyyy HH:MM (+07:00)`
/// (machine formats keep ISO 8601). A time too close to the end of year 9999 to be moved to
/// Vietnam time is written in its own offset.
pub fn date_time_text(t: OffsetDateTime) -> String {
    let v = t.checked_to_offset(VIETNAM).unwrap_or(t);
    let off = v.offset();
    let sign = if off.is_negative() { '-' } else { '+' };
    format!(
        "{:02}/{:02}/{} {:02}:{:02} ({sign}{:02}:{:02})",
        v.day(),
        u8::from(v.month()),
        v.year(),
        v.hour(),
        v.minute(),
        off.whole_hours().unsigned_abs(),
        off.minutes_past_hour().unsigned_abs()
    )
}

/// Which dates are working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: BTreeSet<Date>,
    working_days: BTreeSet<Date>,
}

/// Per-year holidays and make-up working days, for configuration files.
///
/// In JSON: `{"years": {"2027": {"holidays": ["2027-01-01"], "working_days": []}}}`; in TOML:
/// `[years.2027]` then `holidays = ["2027-01-01", …]` (quoted or bare TOML dates).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// The configured years. A year given here replaces the built-in schedule for that year.
    #[serde(default, with = "year_map")]
    pub years: BTreeMap<i32, YearConfig>,
}

/// One year's non-working weekdays and working weekend days.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearConfig {
    /// Days off: public holidays, compensatory days off and swapped days (any weekday).
    #[serde(default, with = "iso_dates")]
    pub holidays: Vec<Date>,
    /// Weekend days declared working (make-up days, *ngày làm bù*).
    #[serde(default, with = "iso_dates")]
    pub working_days: Vec<Date>,
}

impl WorkCalendar {
    /// A calendar with these holidays and make-up working days. A date in both lists is a
    /// holiday.
    pub fn new(
        holidays: impl IntoIterator<Item = Date>,
        working_days: impl IntoIterator<Item = Date>,
    ) -> WorkCalendar {
        WorkCalendar {
            holidays: holidays.into_iter().collect(),
            working_days: working_days.into_iter().collect(),
        }
    }

    /// Vietnam's public holidays for 2025–2030 (see [`vietnam_default_year`]). Outside those
    /// years only weekends are non-working.
    pub fn vietnam_default() -> WorkCalendar {
        let mut cal = WorkCalendar::default();
        for year in DEFAULT_YEARS {
            if let Some(y) = vietnam_default_year(year) {
                cal.set_year(year, &y);
            }
        }
        cal
    }

    /// The default calendar with each configured year replacing the built-in one.
    pub fn from_config(config: &CalendarConfig) -> WorkCalendar {
        let mut cal = WorkCalendar::vietnam_default();
        for (year, y) in &config.years {
            cal.set_year(*year, y);
        }
        cal
    }

    /// Replaces the holidays and make-up days of `year` with those of `config`.
    pub fn set_year(&mut self, year: i32, config: &YearConfig) {
        self.holidays.retain(|d| d.year() != year);
        self.working_days.retain(|d| d.year() != year);
        self.holidays.extend(config.holidays.iter().copied());
        self.working_days
            .extend(config.working_days.iter().copied());
    }

    /// Whether `date` is a holiday (a day off that is not a weekend).
    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.contains(&date)
    }

    /// Whether `date` is a working day: not a holiday, and a weekday or a declared make-up day.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.holidays.contains(&date) {
            return false;
        }
        !is_weekend(date) || self.working_days.contains(&date)
    }

    /// The `n`-th working day after `start` (`start` itself does not count; `n = 0` gives
    /// `start`). Saturates at the last representable date.
    pub fn nth_working_day_after(&self, start: Date, n: u32) -> Date {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// The deadline for something received at `start` that must be done within `n` working
    /// days: the end (23:59:59 UTC+7) of the `n`-th working day after the day of `start` in
    /// Vietnam time. The day of receipt never counts, whether it is a working day or not, and
    /// whatever the hour; with `n = 0` the deadline is the end of the day of receipt.
    ///
    /// The result carries the +07:00 offset.
    pub fn add_working_days(&self, start: OffsetDateTime, n: u32) -> OffsetDateTime {
        let local = start.checked_to_offset(VIETNAM).unwrap_or(start);
        let day = self.nth_working_day_after(local.date(), n);
        PrimitiveDateTime::new(day, time!(23:59:59)).assume_offset(VIETNAM)
    }

    /// The number of working days after `a` up to and including `b`; negative when `b` is
    /// before `a` (then minus the working days after `b` up to and including `a`).
    ///
    /// So `working_days_between(d, nth_working_day_after(d, n)) == n`, and a task due on
    /// `deadline` and done on `done` is `working_days_between(deadline, done)` working days
    /// late when that is positive.
    pub fn working_days_between(&self, a: Date, b: Date) -> i64 {
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut count = 0i64;
        let mut day = from;
        while day < to {
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
            if self.is_working_day(day) {
                count += 1;
            }
        }
        sign * count
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = Date> + '_ {
        self.holidays.iter().copied()
    }

    /// The make-up working days, in date order.
    pub fn working_days(&self) -> impl Iterator<Item = Date> + '_ {
        self.working_days.iter().copied()
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The years [`WorkCalendar::vietnam_default`] knows.
pub const DEFAULT_YEARS: std::ops::RangeInclusive<i32> = 2025..=2030;

/// Lunar new year's day (mùng 1 Tết) for the years whose Tết is computed.
const LUNAR_NEW_YEAR: [Date; 4] = [
    date!(2027 - 02 - 06),
    date!(2028 - 01 - 26),
    date!(2029 - 02 - 13),
    date!(2030 - 02 - 03),
];

/// The Hùng Kings' commemoration day (Giỗ Tổ Hùng Vương, 10th day of the 3rd lunar month).
const HUNG_KINGS: [Date; 6] = [
    date!(2025 - 04 - 07),
    date!(2026 - 04 - 26),
    date!(2027 - 04 - 16),
    date!(2028 - 04 - 04),
    date!(2029 - 04 - 23),
    date!(2030 - 04 - 12),
];

/// The built-in schedule for `year` (2025–2030), or `None` for other years.
///
/// **Decided schedules** (announced by the government for civil servants):
/// - 2025, all of it: 1 Jan; Tết 25 Jan–2 Feb (9 days with weekends); Hùng Kings 7 Apr;
///   30 Apr–1 May plus Friday 2 May off, swapped with Saturday 26 Apr worked; 1–2 Sep.
/// - 2026, Tết only: 14–22 Feb (9 days with weekends).
///
/// **Computed** (everything else, 2026–2030), by Labor Code art. 111–112: 1 Jan; Tết = the day
/// before lunar new year and the first four days of the year (5 days, lunar new year from a
/// table); Hùng Kings' day from a table; 30 Apr; 1 May; 1 and 2 Sep. A computed holiday falling
/// on a Saturday or Sunday gives a compensatory day off on the next weekday that is not already
/// off. The government usually decides swaps for these years later; configure them then.
pub fn vietnam_default_year(year: i32) -> Option<YearConfig> {
    if !DEFAULT_YEARS.contains(&year) {
        return None;
    }
    if year == 2025 {
        let mut holidays = vec![date!(2025 - 01 - 01)];
        holidays.extend(days(date!(2025 - 01 - 25), date!(2025 - 02 - 02)));
        holidays.extend([
            date!(2025 - 04 - 07),
            date!(2025 - 04 - 30),
            date!(2025 - 05 - 01),
            date!(2025 - 05 - 02),
            date!(2025 - 09 - 01),
            date!(2025 - 09 - 02),
        ]);
        return Some(YearConfig {
            holidays,
            working_days: vec![date!(2025 - 04 - 26)],
        });
    }
    let on = |month, day| Date::from_calendar_date(year, month, day).ok();
    use time::Month::{April, January, May, September};
    let mut observed: Vec<Date> = [
        on(January, 1),
        HUNG_KINGS.iter().copied().find(|d| d.year() == year),
        on(April, 30),
        on(May, 1),
        on(September, 1),
        on(September, 2),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut decided: Vec<Date> = Vec::new();
    if year == 2026 {
        decided.extend(days(date!(2026 - 02 - 14), date!(2026 - 02 - 22)));
    } else if let Some(new_year) = LUNAR_NEW_YEAR.iter().find(|d| d.year() == year) {
        observed.extend((-1..=3).filter_map(|k| new_year.checked_add(Duration::days(k))));
    }
    observed.sort_unstable();
    let mut off: BTreeSet<Date> = observed.iter().chain(&decided).copied().collect();
    for holiday in observed.iter().filter(|d| is_weekend(**d)) {
        let mut day = *holiday;
        while let Some(next) = day.next_day() {
            day = next;
            if !is_weekend(day) && !off.contains(&day) {
                off.insert(day);
                break;
            }
        }
    }
    Some(YearConfig {
        holidays: off.into_iter().collect(),
        working_days: Vec::new(),
    })
}

/// The dates from `first` to `last`, both included.
fn days(first: Date, last: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(first), move |d| d.next_day().filter(|n| *n <= last))
}

/// Serde for `Vec<Date>` as ISO 8601 strings (`"2025-04-30"`); also reads TOML's bare dates.
mod iso_dates {
    use std::fmt;

    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::{SerializeSeq, Serializer};
    use time::Date;

    use super::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    pub(super) fn serialize<S: Serializer>(dates: &[Date], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(dates.len()))?;
        for d in dates {
            let text = d.format(FORMAT).map_err(serde::ser::Error::custom)?;
            seq.serialize_element(&text)?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Date>, D::Error> {
        struct Dates;
        impl<'de> Visitor<'de> for Dates {
            type Value = Vec<Date>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of dates like \"2025-04-30\"")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Date>, A::Error> {
                let mut out = Vec::new();
                while let Some(OneDate(d)) = seq.next_element()? {
                    out.push(d);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Dates)
    }

    struct OneDate(Date);

    impl<'de> de::Deserialize<'de> for OneDate {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OneDate;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a date like \"2025-04-30\"")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<OneDate, E> {
                    Date::parse(v.trim(), FORMAT).map(OneDate).map_err(|e| {
                        E::custom(format_args!("{v:?} is not a date like 2025-04-30: {e}"))
                    })
                }
                /// A TOML bare date arrives as a one-entry map holding its text.
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OneDate, A::Error> {
                    match map.next_entry::<String, String>()? {
                        Some((_, text)) => self.visit_str(&text),
                        None => Err(de::Error::invalid_length(0, &self)),
                    }
                }
            }
            d.deserialize_any(V)
        }
    }
}

/// Serde for the year map: keys written as strings (`"2027"`, as JSON and TOML need) and read
/// from strings or integers.
mod year_map {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{self, Deserializer, MapAccess, Visitor};
    use serde::ser::{SerializeMap, Serializer};

    use super::YearConfig;

    pub(super) fn serialize<S: Serializer>(
        years: &BTreeMap<i32, YearConfig>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(years.len()))?;
        for (year, config) in years {
            map.serialize_entry(&year.to_string(), config)?;
        }
        map.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<i32, YearConfig>, D::Error> {
        struct Years;
        impl<'de> Visitor<'de> for Years {
            type Value = BTreeMap<i32, YearConfig>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from years to holidays and working days")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((Year(year), config)) = map.next_entry::<Year, YearConfig>()? {
                    out.insert(year, config);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Years)
    }

    struct Year(i32);

    impl<'de> de::Deserialize<'de> for Year {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Year;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a year like 2027")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Year, E> {
                    v.trim()
                        .parse()
                        .map(Year)
                        .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Year, E> {
                    i32::try_from(v)
                        .map(Year)
                        .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Year, E> {
                    i32::try_from(v)
                        .map(Year)
                        .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
                }
            }
            d.deserialize_any(V)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_date_is_written_as_in_vietnam() {
        // 17:30 UTC on 31 December is already New Year's Day in Hà Nội.
        assert_eq!(
            super::date_text(time::macros::datetime!(2026-12-31 17:30 UTC)),
            "01/01/2027"
        );
    }

    #[test]
    fn a_time_is_written_as_in_vietnam_with_its_offset() {
        use time::macros::datetime;
        assert_eq!(
            super::date_time_text(datetime!(2026-12-31 17:30:59 UTC)),
            "01/01/2027 00:30 (+07:00)"
        );
        assert_eq!(
            super::date_time_text(datetime!(2026-03-05 08:05 +07:00)),
            "05/03/2026 08:05 (+07:00)"
        );
        // The X.509 "no expiry" date cannot move to UTC+7 in `time`'s range: kept as is.
        assert_eq!(
            super::date_time_text(datetime!(9999-12-31 23:59:59 UTC)),
            "31/12/9999 23:59 (+00:00)"
        );
    }

    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn off_days(cal: &WorkCalendar, year: i32) -> Vec<Date> {
        cal.holidays().filter(|d| d.year() == year).collect()
    }

    #[test]
    fn weekends_are_off_weekdays_work() {
        let cal = WorkCalendar::default();
        assert!(cal.is_working_day(date!(2026 - 12 - 04))); // Friday
        assert!(!cal.is_working_day(date!(2026 - 12 - 05))); // Saturday
        assert!(!cal.is_working_day(date!(2026 - 12 - 06))); // Sunday
        assert!(cal.is_working_day(date!(2026 - 12 - 07))); // Monday
    }

    #[test]
    fn the_2025_schedule_as_decided() {
        let cal = WorkCalendar::vietnam_default();
        // Tết: nine days off, Saturday 25 January to Sunday 2 February.
        assert!(cal.is_working_day(date!(2025 - 01 - 24)));
        assert!(days(date!(2025 - 01 - 25), date!(2025 - 02 - 02)).all(|d| !cal.is_working_day(d)));
        assert!(cal.is_working_day(date!(2025 - 02 - 03)));
        // 30 April – 4 May off; Friday 2 May was swapped with Saturday 26 April.
        assert!(!cal.is_working_day(date!(2025 - 05 - 02)));
        assert!(cal.is_working_day(date!(2025 - 04 - 26)));
        assert_eq!(
            cal.working_days().collect::<Vec<_>>(),
            [date!(2025 - 04 - 26)]
        );
        // Hùng Kings' day on Monday 7 April; National Day on Monday–Tuesday 1–2 September.
        assert!(!cal.is_working_day(date!(2025 - 04 - 07)));
        assert!(!cal.is_working_day(date!(2025 - 09 - 01)));
        assert!(!cal.is_working_day(date!(2025 - 09 - 02)));
        assert!(cal.is_working_day(date!(2025 - 09 - 03)));
    }

    #[test]
    fn the_2026_schedule() {
        let cal = WorkCalendar::vietnam_default();
        assert_eq!(
            off_days(&cal, 2026),
            [
                date!(2026 - 01 - 01),
                // Tết as decided, 14–22 February.
                date!(2026 - 02 - 14),
                date!(2026 - 02 - 15),
                date!(2026 - 02 - 16),
                date!(2026 - 02 - 17),
                date!(2026 - 02 - 18),
                date!(2026 - 02 - 19),
                date!(2026 - 02 - 20),
                date!(2026 - 02 - 21),
                date!(2026 - 02 - 22),
                // Hùng Kings' day is a Sunday: Monday 27 April off instead.
                date!(2026 - 04 - 26),
                date!(2026 - 04 - 27),
                date!(2026 - 04 - 30),
                date!(2026 - 05 - 01),
                date!(2026 - 09 - 01),
                date!(2026 - 09 - 02),
            ]
        );
    }

    #[test]
    fn computed_years_compensate_weekend_holidays() {
        let cal = WorkCalendar::vietnam_default();
        // 2027: lunar new year is Saturday 6 February. Tết is Friday 5 to Tuesday 9; the
        // Saturday and Sunday in it give Wednesday 10 and Thursday 11 off.
        let tet: Vec<_> = off_days(&cal, 2027)
            .into_iter()
            .filter(|d| d.month() == time::Month::February)
            .collect();
        assert_eq!(
            tet,
            days(date!(2027 - 02 - 05), date!(2027 - 02 - 11)).collect::<Vec<_>>()
        );
        // 1 May 2027 is a Saturday: Monday 3 May off.
        assert!(!cal.is_working_day(date!(2027 - 05 - 03)));
        // 2028: 1 January is a Saturday (Monday 3 off); 30 April is a Sunday and 1 May a Monday,
        // so the compensatory day is Tuesday 2 May; 2 September is a Saturday (Monday 4 off).
        assert!(!cal.is_working_day(date!(2028 - 01 - 03)));
        assert!(!cal.is_working_day(date!(2028 - 05 - 02)));
        assert!(cal.is_working_day(date!(2028 - 05 - 03)));
        assert!(!cal.is_working_day(date!(2028 - 09 - 04)));
        // Every default year has its holidays: 2 + 5 + 1 + 2 + 2 at least, all in that year.
        for year in DEFAULT_YEARS {
            let y = vietnam_default_year(year).unwrap();
            assert!(y.holidays.len() >= 12, "{year}");
            assert!(y.holidays.iter().all(|d| d.year() == year), "{year}");
            assert!(y
                .holidays
                .contains(&date!(2025 - 01 - 01).replace_year(year).unwrap()));
        }
        assert_eq!(vietnam_default_year(2031), None);
        // After 2030 only weekends are off.
        assert!(cal.is_working_day(date!(2031 - 01 - 01)));
    }

    #[test]
    fn lunar_new_year_is_a_holiday_every_year() {
        let cal = WorkCalendar::vietnam_default();
        for d in LUNAR_NEW_YEAR
            .into_iter()
            .chain([date!(2025 - 01 - 29), date!(2026 - 02 - 17)])
        {
            assert!(!cal.is_working_day(d), "{d}");
            assert!(!cal.is_working_day(d.previous_day().unwrap()), "{d}");
        }
        for d in HUNG_KINGS {
            assert!(cal.is_holiday(d), "{d}");
        }
    }

    #[test]
    fn a_recovery_request_on_friday_afternoon() {
        let cal = WorkCalendar::vietnam_default();
        // Received Friday 4 December 2026, 16:30 Vietnam time: one working day is Monday.
        let received = datetime!(2026-12-04 09:30 UTC);
        let deadline = cal.add_working_days(received, 1);
        assert_eq!(deadline, datetime!(2026-12-07 23:59:59 +7));
        // Three working days: Wednesday.
        assert_eq!(
            cal.add_working_days(received, 3),
            datetime!(2026-12-09 23:59:59 +7)
        );
        // Zero: the end of the day of receipt.
        assert_eq!(
            cal.add_working_days(received, 0),
            datetime!(2026-12-04 23:59:59 +7)
        );
    }

    #[test]
    fn a_request_received_on_a_weekend_counts_from_monday() {
        let cal = WorkCalendar::vietnam_default();
        let saturday = datetime!(2026-12-05 10:00 +7);
        assert_eq!(
            cal.add_working_days(saturday, 1),
            datetime!(2026-12-07 23:59:59 +7)
        );
    }

    #[test]
    fn the_day_is_taken_in_vietnam_time() {
        let cal = WorkCalendar::vietnam_default();
        // 18:00 UTC on Thursday is already Friday 01:00 in Vietnam.
        let received = datetime!(2026-12-03 18:00 UTC);
        assert_eq!(
            cal.add_working_days(received, 1),
            datetime!(2026-12-07 23:59:59 +7)
        );
    }

    #[test]
    fn deadlines_skip_tet() {
        let cal = WorkCalendar::vietnam_default();
        // An issuance request received Friday 13 February 2026, before Tết: three working days
        // are Monday 23 to Wednesday 25 February.
        let received = datetime!(2026-02-13 10:00 +7);
        assert_eq!(
            cal.add_working_days(received, 3),
            datetime!(2026-02-25 23:59:59 +7)
        );
        assert_eq!(
            cal.working_days_between(date!(2026 - 02 - 13), date!(2026 - 02 - 25)),
            3
        );
        assert_eq!(
            cal.working_days_between(date!(2026 - 02 - 25), date!(2026 - 02 - 13)),
            -3
        );
        assert_eq!(
            cal.working_days_between(date!(2026 - 02 - 13), date!(2026 - 02 - 13)),
            0
        );
    }

    #[test]
    fn a_make_up_saturday_counts() {
        let cal = WorkCalendar::vietnam_default();
        // Friday 25 April 2025 + 1 working day = Saturday 26 April (make-up day).
        assert_eq!(
            cal.add_working_days(datetime!(2025-04-25 09:00 +7), 1),
            datetime!(2025-04-26 23:59:59 +7)
        );
        // From Tuesday 29 April, one working day is Monday 5 May (30 April – 4 May are off).
        assert_eq!(
            cal.nth_working_day_after(date!(2025 - 04 - 29), 1),
            date!(2025 - 05 - 05)
        );
    }

    #[test]
    fn config_replaces_a_year() {
        let json = r#"{"years": {"2027": {
            "holidays": ["2027-01-01", "2027-02-08"],
            "working_days": ["2027-02-20"]
        }}}"#;
        let config: CalendarConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.years.len(), 1);
        let cal = WorkCalendar::from_config(&config);
        assert_eq!(
            off_days(&cal, 2027),
            [date!(2027 - 01 - 01), date!(2027 - 02 - 08)]
        );
        assert!(
            cal.is_working_day(date!(2027 - 02 - 09)),
            "the built-in Tết is gone"
        );
        assert!(
            cal.is_working_day(date!(2027 - 02 - 20)),
            "a Saturday declared working"
        );
        // Other years keep the default.
        assert_eq!(
            off_days(&cal, 2028),
            off_days(&WorkCalendar::vietnam_default(), 2028)
        );
        // And the config writes back as it was read.
        let again: CalendarConfig =
            serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
        assert!(serde_json::to_string(&config)
            .unwrap()
            .contains("\"2027-02-08\""));
    }

    #[test]
    fn config_errors_and_toml_dates() {
        assert!(serde_json::from_str::<CalendarConfig>(
            r#"{"years": {"2027": {"holidays": ["2027-13-01"]}}}"#
        )
        .is_err());
        assert!(serde_json::from_str::<CalendarConfig>(r#"{"years": {"next": {}}}"#).is_err());
        assert!(
            serde_json::from_str::<CalendarConfig>(r#"{"years": {"2027": {"holiday": []}}}"#)
                .is_err()
        );
        assert_eq!(
            serde_json::from_str::<CalendarConfig>("{}").unwrap(),
            CalendarConfig::default()
        );
        // What the toml crate hands over for a bare date: a one-entry map.
        let toml_like =
            r#"{"years": {"2027": {"holidays": [{"$__toml_private_datetime": "2027-01-01"}]}}}"#;
        let config: CalendarConfig = serde_json::from_str(toml_like).unwrap();
        assert_eq!(config.years[&2027].holidays, [date!(2027 - 01 - 01)]);
    }

    #[test]
    fn a_date_in_both_lists_is_a_holiday() {
        let d = date!(2026 - 12 - 05);
        let cal = WorkCalendar::new([d], [d]);
        assert!(!cal.is_working_day(d));
    }

    #[test]
    fn the_ends_of_time_do_not_panic() {
        let cal = WorkCalendar::vietnam_default();
        let last = cal.nth_working_day_after(Date::MAX, 5);
        assert_eq!(last, Date::MAX);
        let _ = cal.add_working_days(OffsetDateTime::new_utc(Date::MAX, time!(23:00)), 2);
        let _ = cal.add_working_days(OffsetDateTime::new_utc(Date::MIN, time!(00:00)), 2);
    }

    proptest! {
        #[test]
        fn counting_back_gives_n(start in 0i64..3000, n in 0u32..200) {
            let cal = WorkCalendar::vietnam_default();
            let d = date!(2024 - 06 - 01) + Duration::days(start);
            let end = cal.nth_working_day_after(d, n);
            prop_assert_eq!(cal.working_days_between(d, end), i64::from(n));
            prop_assert_eq!(cal.working_days_between(end, d), -i64::from(n));
            if n > 0 {
                prop_assert!(cal.is_working_day(end));
            }
        }
    }
}
