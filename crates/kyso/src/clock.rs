//! The one place that reads the clock: library crates take time as a parameter.

use time::OffsetDateTime;

/// The current time.
#[allow(clippy::disallowed_methods)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
