//! Batch times and durations, in milliseconds as Spark keeps them.

use crate::error::{Error, Result};
use std::fmt;
use std::time::Duration;

/// A batch time: milliseconds since the epoch (system clock) or since 0 (manual clock).
/// Displays as Spark's `Time` does: `1000 ms`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Time(pub i64);

impl Time {
    /// The time in milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// `n` milliseconds (Spark's `Milliseconds(n)` / `Durations.milliseconds(n)`).
pub const fn milliseconds(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds (Spark's `Seconds(n)` / `Durations.seconds(n)`).
pub const fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` minutes (Spark's `Minutes(n)` / `Durations.minutes(n)`).
pub const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Milliseconds of a duration, rejecting zero and sub-millisecond parts.
pub(crate) fn millis_of(what: &str, d: Duration) -> Result<i64> {
    let ms = d.as_millis();
    if ms == 0 || d.as_nanos() % 1_000_000 != 0 {
        return Err(Error::InvalidDuration {
            what: what.to_string(),
            reason: format!("{d:?} must be a positive whole number of milliseconds"),
        });
    }
    Ok(ms as i64)
}

/// Checks that `d` (ms) is a multiple of `of` (ms).
pub(crate) fn check_multiple(what: &str, d: i64, of_what: &str, of: i64) -> Result<()> {
    if d % of != 0 {
        return Err(Error::InvalidDuration {
            what: what.to_string(),
            reason: format!("{d} ms is not a multiple of the {of_what} ({of} ms)"),
        });
    }
    Ok(())
}
