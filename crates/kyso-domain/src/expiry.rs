//! Expiry notices: when to remind an agency that a certificate is about to expire.
//!
//! A certificate gets a notice at 60, 30 and 7 days before its `notAfter`, and one last notice
//! once it has expired. The 7-day and the expiry notices *escalate*: they also go to the managing
//! agency. The caller remembers which stages it has sent and asks [`due_stage`] on each run (the
//! function reads no clock: `now` is a parameter).
//!
//! If runs were missed (the first run sees 5 days left), only the most urgent stage is sent; the
//! earlier ones are superseded and never sent later.

use time::{Duration, OffsetDateTime};

/// The reminder stages before expiry, in days.
pub const STAGES: [u32; 3] = [60, 30, 7];

/// [`STAGES`] and the final "expired" stage, 0.
pub const STAGES_WITH_EXPIRED: [u32; 4] = [60, 30, 7, 0];

/// A notice to send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// The stage: 60, 30 or 7 days before expiry, or 0 for "expired".
    pub stage_days: u32,
    /// Whether the notice also goes to the managing agency (the 7-day and expiry stages).
    pub escalate: bool,
}

impl Notice {
    /// The notice for `stage_days` (0 means expired).
    pub const fn new(stage_days: u32) -> Notice {
        Notice {
            stage_days,
            escalate: stage_days <= 7,
        }
    }

    /// Whether this is the "expired" notice.
    pub const fn is_expired(self) -> bool {
        self.stage_days == 0
    }

    /// The subject shown to Vietnamese users.
    pub fn label_vi(self) -> String {
        if self.is_expired() {
            "Chứng thư chữ ký số đã hết hạn".to_owned()
        } else {
            format!(
                "Chứng thư chữ ký số sẽ hết hạn trong {} ngày",
                self.stage_days
            )
        }
    }

    /// The subject shown to English-speaking users.
    pub fn label_en(self) -> String {
        if self.is_expired() {
            "The signature certificate has expired".to_owned()
        } else {
            format!(
                "The signature certificate expires within {} days",
                self.stage_days
            )
        }
    }
}

/// The notice due now for a certificate valid until `not_after`, given the stages already `sent`
/// for it, or `None`.
///
/// A stage of `d` days is reached when at most `d` days are left (`not_after - now <= d days`);
/// the expired stage (0) is reached when `now >= not_after`. The most urgent reached stage is
/// returned unless it was already sent; less urgent stages are superseded by it. A `renewed`
/// certificate gets no notice.
pub fn due_stage(
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    sent: &[u32],
    renewed: bool,
) -> Option<Notice> {
    if renewed {
        return None;
    }
    let left = not_after - now;
    let most_urgent = STAGES_WITH_EXPIRED
        .into_iter()
        .filter(|&stage| left <= Duration::days(i64::from(stage)))
        .min()?;
    (!sent.contains(&most_urgent)).then(|| Notice::new(most_urgent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOT_AFTER: OffsetDateTime = datetime!(2026-06-30 17:00 UTC);

    fn days_before(days: i64) -> OffsetDateTime {
        NOT_AFTER - Duration::days(days)
    }

    #[test]
    fn a_daily_job_sends_each_stage_once() {
        let mut sent = Vec::new();
        let mut log = Vec::new();
        // Run once a day from 90 days before expiry to 10 days after.
        for day in -90..=10 {
            let now = NOT_AFTER + Duration::days(day);
            if let Some(notice) = due_stage(NOT_AFTER, now, &sent, false) {
                sent.push(notice.stage_days);
                log.push((day, notice.stage_days, notice.escalate));
            }
        }
        assert_eq!(
            log,
            [
                (-60, 60, false),
                (-30, 30, false),
                (-7, 7, true),
                (0, 0, true)
            ]
        );
    }

    #[test]
    fn nothing_is_due_far_from_expiry() {
        assert_eq!(due_stage(NOT_AFTER, days_before(61), &[], false), None);
        assert_eq!(
            due_stage(
                NOT_AFTER,
                days_before(60) - Duration::seconds(1),
                &[],
                false
            ),
            None
        );
        assert_eq!(
            due_stage(NOT_AFTER, days_before(60), &[], false),
            Some(Notice::new(60))
        );
    }

    #[test]
    fn missed_runs_send_only_the_most_urgent_stage() {
        // First run with 5 days left: the 60- and 30-day notices are superseded.
        let notice = due_stage(NOT_AFTER, days_before(5), &[], false).unwrap();
        assert_eq!(
            notice,
            Notice {
                stage_days: 7,
                escalate: true
            }
        );
        // The next day nothing more, although 60 and 30 were never sent.
        assert_eq!(due_stage(NOT_AFTER, days_before(4), &[7], false), None);
    }

    #[test]
    fn expiry_is_noticed_once_even_late() {
        let long_after = NOT_AFTER + Duration::days(400);
        assert_eq!(
            due_stage(NOT_AFTER, long_after, &[60, 30, 7], false),
            Some(Notice::new(0))
        );
        assert_eq!(
            due_stage(NOT_AFTER, long_after, &[60, 30, 7, 0], false),
            None
        );
        // Just before notAfter it is still the 7-day stage.
        assert_eq!(
            due_stage(NOT_AFTER, NOT_AFTER - Duration::seconds(1), &[], false),
            Some(Notice::new(7))
        );
        assert_eq!(
            due_stage(NOT_AFTER, NOT_AFTER, &[7], false),
            Some(Notice::new(0))
        );
    }

    #[test]
    fn a_renewed_certificate_gets_nothing() {
        assert_eq!(due_stage(NOT_AFTER, days_before(3), &[], true), None);
        assert_eq!(
            due_stage(NOT_AFTER, NOT_AFTER + Duration::days(1), &[], true),
            None
        );
    }

    #[test]
    fn labels() {
        assert_eq!(
            Notice::new(30).label_vi(),
            "Chứng thư chữ ký số sẽ hết hạn trong 30 ngày"
        );
        assert_eq!(Notice::new(0).label_vi(), "Chứng thư chữ ký số đã hết hạn");
        assert_eq!(
            Notice::new(7).label_en(),
            "The signature certificate expires within 7 days"
        );
        assert_eq!(
            STAGES_WITH_EXPIRED.map(|s| Notice::new(s).escalate),
            [false, false, true, true]
        );
    }

    proptest! {
        /// Whatever the schedule of runs, each stage is sent at most once, stages only become
        /// more urgent, and the expired notice always comes if a run happens after expiry.
        #[test]
        fn any_schedule_of_runs(mut offsets in proptest::collection::vec(-100i64..100, 0..40)) {
            offsets.sort_unstable();
            let mut sent: Vec<u32> = Vec::new();
            for minutes in &offsets {
                let now = NOT_AFTER + Duration::hours(*minutes * 24);
                if let Some(n) = due_stage(NOT_AFTER, now, &sent, false) {
                    prop_assert!(!sent.contains(&n.stage_days));
                    if let Some(last) = sent.last() {
                        prop_assert!(n.stage_days < *last);
                    }
                    sent.push(n.stage_days);
                }
            }
            if offsets.last().is_some_and(|d| *d >= 0) {
                prop_assert_eq!(sent.last(), Some(&0));
            }
        }
    }
}
