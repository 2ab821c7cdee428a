//! Reports (issue 21; NA-18.4, BD-14.7, BD-17.5): the periods the Department opens and what a
//! report holds for an agency's subtree over one of them — certificates, key devices, requests
//! against their deadlines, documents signed, issued, received and refused. The figures are
//! computed from the registry (the store's queries), never typed; an issued report keeps the
//! figures it was issued with. Pure: no I/O.

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time};

use crate::calendar::{day_text, VIETNAM};
use crate::lifecycle::RequestKind;
use crate::named_enum;

named_enum! {
    /// How often a report is asked for (BD-14.7: six-monthly and annual, or ad hoc).
    pub enum PeriodKind ("report period kind", "loại kỳ báo cáo") {
        /// The first or second half of a year.
        SixMonthly => "six_monthly", "Báo cáo 6 tháng", "Six-monthly report";
        /// A calendar year.
        Annual => "annual", "Báo cáo năm", "Annual report";
        /// Any range of days the Department chooses, with its own questions.
        AdHoc => "ad_hoc", "Báo cáo đột xuất", "Ad hoc report";
    }
}

named_enum! {
    /// Where an agency's report of a period stands.
    pub enum ReportState ("report state", "trạng thái báo cáo") {
        /// Not submitted: its figures follow the registry.
        Draft => "draft", "Chưa gửi", "Not submitted";
        /// Submitted to the Department: its figures are the ones it was issued with.
        Submitted => "submitted", "Đã gửi", "Submitted";
    }
}

/// Why a period cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeriodError {
    /// The half of a year is not 1 or 2.
    #[error("a six-monthly period is the first (1) or the second (2) half of a year")]
    Half,
    /// The last day is before the first.
    #[error("the period ends before it starts")]
    Order,
    /// A year outside 2000–2100, or a date that does not exist.
    #[error("the period's dates are out of range")]
    Range,
}

impl PeriodError {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> &'static str {
        match self {
            PeriodError::Half => "Kỳ báo cáo 6 tháng là 6 tháng đầu năm (1) hoặc cuối năm (2).",
            PeriodError::Order => "Ngày kết thúc kỳ báo cáo phải sau ngày bắt đầu.",
            PeriodError::Range => "Ngày của kỳ báo cáo không hợp lệ (năm 2000–2100).",
        }
    }
}

/// A reporting period: its kind and its first and last days (inclusive, Vietnam time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub kind: PeriodKind,
    pub first_day: Date,
    pub last_day: Date,
}

fn day(year: i32, month: Month, d: u8) -> Result<Date, PeriodError> {
    if !(2000..=2100).contains(&year) {
        return Err(PeriodError::Range);
    }
    Date::from_calendar_date(year, month, d).map_err(|_| PeriodError::Range)
}

impl Period {
    /// The first (`half` 1: January–June) or second (2: July–December) half of `year`.
    pub fn six_monthly(year: i32, half: u8) -> Result<Period, PeriodError> {
        let (first_day, last_day) = match half {
            1 => (day(year, Month::January, 1)?, day(year, Month::June, 30)?),
            2 => (day(year, Month::July, 1)?, day(year, Month::December, 31)?),
            _ => return Err(PeriodError::Half),
        };
        Ok(Period {
            kind: PeriodKind::SixMonthly,
            first_day,
            last_day,
        })
    }

    /// The calendar year `year`.
    pub fn annual(year: i32) -> Result<Period, PeriodError> {
        Ok(Period {
            kind: PeriodKind::Annual,
            first_day: day(year, Month::January, 1)?,
            last_day: day(year, Month::December, 31)?,
        })
    }

    /// From `first_day` to `last_day`, both included.
    pub fn ad_hoc(first_day: Date, last_day: Date) -> Result<Period, PeriodError> {
        for d in [first_day, last_day] {
            if !(2000..=2100).contains(&d.year()) {
                return Err(PeriodError::Range);
            }
        }
        if last_day < first_day {
            return Err(PeriodError::Order);
        }
        Ok(Period {
            kind: PeriodKind::AdHoc,
            first_day,
            last_day,
        })
    }

    /// The moments the period covers: from the first day's midnight to the midnight after
    /// the last day, in Vietnam time (`start <= t < end`).
    pub fn bounds(&self) -> (OffsetDateTime, OffsetDateTime) {
        let start = self
            .first_day
            .with_time(Time::MIDNIGHT)
            .assume_offset(VIETNAM);
        let end = self
            .last_day
            .next_day()
            .unwrap_or(self.last_day)
            .with_time(Time::MIDNIGHT)
            .assume_offset(VIETNAM);
        (start, end)
    }

    /// The title officers read: "Báo cáo 6 tháng đầu năm 2026", "Báo cáo năm 2026",
    /// "Báo cáo đột xuất từ 01/03/2026 đến 31/03/2026".
    pub fn title_vi(&self) -> String {
        let year = self.first_day.year();
        match self.kind {
            PeriodKind::SixMonthly if self.first_day.month() == Month::January => {
                format!("Báo cáo 6 tháng đầu năm {year}")
            }
            PeriodKind::SixMonthly => format!("Báo cáo 6 tháng cuối năm {year}"),
            PeriodKind::Annual => format!("Báo cáo năm {year}"),
            PeriodKind::AdHoc => format!(
                "Báo cáo đột xuất từ {} đến {}",
                day_text(self.first_day),
                day_text(self.last_day)
            ),
        }
    }

    /// The title in English.
    pub fn title_en(&self) -> String {
        let year = self.first_day.year();
        match self.kind {
            PeriodKind::SixMonthly if self.first_day.month() == Month::January => {
                format!("Report for the first half of {year}")
            }
            PeriodKind::SixMonthly => format!("Report for the second half of {year}"),
            PeriodKind::Annual => format!("Annual report {year}"),
            PeriodKind::AdHoc => format!(
                "Ad hoc report from {} to {}",
                day_text(self.first_day),
                day_text(self.last_day)
            ),
        }
    }
}

/// Certificates of the subtree: their state at the end of the period, and what happened to
/// them during it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFigures {
    /// Valid at the end of the period (started, not expired, not revoked, not replaced).
    pub active: i64,
    /// Of those, ending within 60 days after the period.
    pub expiring_60: i64,
    /// Expired by the end of the period (not revoked, not replaced).
    pub expired: i64,
    /// Revoked by the end of the period.
    pub revoked: i64,
    /// First certificates issued during the period (not renewals).
    pub issued: i64,
    /// Renewals issued during the period (a certificate replacing another).
    pub renewed: i64,
    /// Revoked during the period.
    pub revoked_in_period: i64,
}

/// Key devices: what happened to them during the period (their records).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFigures {
    /// Handed over to a subscriber (Mẫu 07).
    pub issued: i64,
    /// Locked (a wrong PIN too often).
    pub locked: i64,
    /// Recovered (Mẫu 06).
    pub recovered: i64,
    /// Reported lost (Mẫu 09).
    pub lost: i64,
    /// Given back (Mẫu 08).
    pub returned: i64,
}

/// Requests of one kind: made, finished and still open, and how the finished ones kept their
/// working-day deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFigures {
    pub kind: RequestKind,
    /// Drafted during the period.
    pub created: i64,
    /// Completed during the period.
    pub done: i64,
    /// Refused during the period.
    pub refused: i64,
    /// Not final at the end of the period.
    pub open: i64,
    /// Completed during the period by their deadline.
    pub on_time: i64,
    /// Completed during the period after their deadline.
    pub late: i64,
}

impl RequestFigures {
    /// Add `other`'s counts (whatever its kind).
    fn add(&mut self, other: &RequestFigures) {
        self.created += other.created;
        self.done += other.done;
        self.refused += other.refused;
        self.open += other.open;
        self.on_time += other.on_time;
        self.late += other.late;
    }
}

/// A reason incoming documents were refused, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

/// Documents handled electronically during the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFigures {
    /// Personal signatures given on outgoing documents.
    pub signed: i64,
    /// Organization signatures (the clerk's seal) given.
    pub sealed: i64,
    /// Outgoing documents dispatched.
    pub issued: i64,
    /// Incoming documents that arrived.
    pub received: i64,
    /// Incoming documents refused.
    pub refused: i64,
    /// Why they were refused, most frequent first.
    pub refusal_reasons: Vec<ReasonCount>,
}

/// Everything a report holds that is computed from the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub certificates: CertificateFigures,
    pub devices: DeviceFigures,
    /// One row per request kind, in the kinds' order.
    pub requests: Vec<RequestFigures>,
    pub documents: DocumentFigures,
}

impl Figures {
    /// The requests of every kind together.
    pub fn requests_total(&self) -> RequestFigures {
        let mut t = RequestFigures {
            kind: RequestKind::Renew,
            created: 0,
            done: 0,
            refused: 0,
            open: 0,
            on_time: 0,
            late: 0,
        };
        for r in &self.requests {
            t.add(r);
        }
        t
    }

    /// The share of requests completed by their deadline, in whole percent (`None` when none
    /// was completed).
    pub fn on_time_percent(&self) -> Option<i64> {
        let t = self.requests_total();
        let finished = t.on_time + t.late;
        (finished > 0).then(|| (t.on_time * 100 + finished / 2) / finished)
    }

    /// The sum of several agencies' figures (the province's consolidated report): counts
    /// added, refusal reasons merged.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Figures>) -> Figures {
        let mut out = Figures::default();
        for f in all {
            let (c, d) = (&mut out.certificates, &f.certificates);
            c.active += d.active;
            c.expiring_60 += d.expiring_60;
            c.expired += d.expired;
            c.revoked += d.revoked;
            c.issued += d.issued;
            c.renewed += d.renewed;
            c.revoked_in_period += d.revoked_in_period;
            let (v, w) = (&mut out.devices, &f.devices);
            v.issued += w.issued;
            v.locked += w.locked;
            v.recovered += w.recovered;
            v.lost += w.lost;
            v.returned += w.returned;
            for r in &f.requests {
                match out.requests.iter_mut().find(|x| x.kind == r.kind) {
                    Some(x) => x.add(r),
                    None => out.requests.push(r.clone()),
                }
            }
            let (o, p) = (&mut out.documents, &f.documents);
            o.signed += p.signed;
            o.sealed += p.sealed;
            o.issued += p.issued;
            o.received += p.received;
            o.refused += p.refused;
            for r in &p.refusal_reasons {
                match o.refusal_reasons.iter_mut().find(|x| x.reason == r.reason) {
                    Some(x) => x.count += r.count,
                    None => o.refusal_reasons.push(r.clone()),
                }
            }
        }
        out.requests
            .sort_by_key(|r| RequestKind::ALL.iter().position(|k| *k == r.kind));
        out.documents
            .refusal_reasons
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        out
    }
}

/// What an agency says it needs for the next year (BD-18: the plan and needs for the year
/// after), typed by its officer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    /// New certificates for people.
    #[serde(default)]
    pub individual_certificates: i64,
    /// New certificates for the agency or its units (seals).
    #[serde(default)]
    pub organization_certificates: i64,
    /// Key devices (USB tokens).
    #[serde(default)]
    pub devices: i64,
    /// Certificates to renew.
    #[serde(default)]
    pub renewals: i64,
    /// Anything else (training, software).
    #[serde(default)]
    pub note: String,
}

/// The most a need may count (a typo guard: a province has tens of thousands of people).
pub const MAX_NEED: i64 = 100_000;

impl Needs {
    /// The first count outside `0..=MAX_NEED`, by its field name.
    pub fn out_of_range(&self) -> Option<&'static str> {
        [
            ("individual_certificates", self.individual_certificates),
            ("organization_certificates", self.organization_certificates),
            ("devices", self.devices),
            ("renewals", self.renewals),
        ]
        .into_iter()
        .find(|(_, n)| !(0..=MAX_NEED).contains(n))
        .map(|(f, _)| f)
    }

    /// The sum of several agencies' needs (notes joined, one line each).
    pub fn sum<'a>(all: impl IntoIterator<Item = (&'a str, &'a Needs)>) -> Needs {
        let mut out = Needs::default();
        let mut notes = Vec::new();
        for (agency, n) in all {
            out.individual_certificates += n.individual_certificates;
            out.organization_certificates += n.organization_certificates;
            out.devices += n.devices;
            out.renewals += n.renewals;
            if !n.note.trim().is_empty() {
                notes.push(format!("{agency}: {}", n.note.trim()));
            }
        }
        out.note = notes.join("\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn periods_cover_their_days_in_vietnam_time() {
        let h1 = Period::six_monthly(2026, 1).unwrap();
        assert_eq!(h1.title_vi(), "Báo cáo 6 tháng đầu năm 2026");
        let (start, end) = h1.bounds();
        assert_eq!(start, datetime!(2026-01-01 00:00 +07:00));
        assert_eq!(end, datetime!(2026-07-01 00:00 +07:00));
        assert_eq!(
            Period::six_monthly(2026, 2).unwrap().title_en(),
            "Report for the second half of 2026"
        );
        assert_eq!(Period::six_monthly(2026, 3), Err(PeriodError::Half));
        assert_eq!(
            Period::annual(2026).unwrap().bounds().1,
            datetime!(2027-01-01 00:00 +07:00)
        );
        let adhoc = Period::ad_hoc(date!(2026 - 03 - 01), date!(2026 - 03 - 31)).unwrap();
        assert_eq!(
            adhoc.title_vi(),
            "Báo cáo đột xuất từ 01/03/2026 đến 31/03/2026"
        );
        assert_eq!(
            Period::ad_hoc(date!(2026 - 03 - 31), date!(2026 - 03 - 01)),
            Err(PeriodError::Order)
        );
        assert_eq!(Period::annual(1999), Err(PeriodError::Range));
    }

    #[test]
    fn the_province_sums_its_agencies() {
        let a = Figures {
            certificates: CertificateFigures {
                active: 3,
                issued: 1,
                ..Default::default()
            },
            requests: vec![RequestFigures {
                kind: RequestKind::Revoke,
                created: 1,
                done: 1,
                refused: 0,
                open: 0,
                on_time: 1,
                late: 0,
            }],
            documents: DocumentFigures {
                refused: 2,
                refusal_reasons: vec![ReasonCount {
                    reason: "Gửi nhầm".into(),
                    count: 2,
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let mut b = a.clone();
        b.requests[0].kind = RequestKind::Renew;
        b.requests[0].on_time = 0;
        b.requests[0].late = 1;
        let sum = Figures::sum([&a, &b]);
        assert_eq!(sum.certificates.active, 6);
        assert_eq!(
            sum.requests.iter().map(|r| r.kind).collect::<Vec<_>>(),
            [RequestKind::Renew, RequestKind::Revoke],
            "in the kinds' order"
        );
        assert_eq!(sum.on_time_percent(), Some(50));
        assert_eq!(sum.documents.refusal_reasons[0].count, 4);
        assert_eq!(Figures::default().on_time_percent(), None);
    }

    #[test]
    fn needs_are_counts_within_reason() {
        let n = Needs {
            devices: -1,
            ..Default::default()
        };
        assert_eq!(n.out_of_range(), Some("devices"));
        let a = Needs {
            devices: 3,
            note: "Tập huấn".into(),
            ..Default::default()
        };
        let sum = Needs::sum([("Sở Tài chính", &a), ("Sở Nội vụ", &a)]);
        assert_eq!(sum.devices, 6);
        assert_eq!(sum.note, "Sở Tài chính: Tập huấn\nSở Nội vụ: Tập huấn");
    }
}
