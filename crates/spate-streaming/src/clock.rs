//! Clocks: the system clock for real time, a manual clock for tests and replay.

use parking_lot::{Condvar, Mutex};
use std::sync::Arc;

/// Which clock drives batch generation.
#[derive(Clone)]
pub enum Clock {
    /// Wall-clock time; batches fire every interval.
    System,
    /// A clock that only moves when told to; see [`crate::StreamingContext::advance`].
    Manual(ManualClock),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clock::System => f.write_str("Clock::System"),
            Clock::Manual(m) => write!(f, "Clock::Manual({} ms)", m.now()),
        }
    }
}

impl Clock {
    /// A new manual clock at time 0.
    pub fn manual() -> Self {
        Clock::Manual(ManualClock::new())
    }

    /// A new manual clock at `ms` (a program restarted later, in tests of recovery).
    pub fn manual_at(ms: i64) -> Self {
        let c = ManualClock::new();
        c.set(ms);
        Clock::Manual(c)
    }

    /// Current time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => system_now_ms(),
            Clock::Manual(m) => m.now(),
        }
    }
}

/// Milliseconds since the epoch.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A clock whose time is set by the program. Its zero is 0, as Spark's `ManualClock`.
#[derive(Clone, Default)]
pub struct ManualClock {
    inner: Arc<(Mutex<i64>, Condvar)>,
}

impl ManualClock {
    /// A clock at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time in milliseconds.
    pub fn now(&self) -> i64 {
        *self.inner.0.lock()
    }

    /// Sets the time (never backwards).
    pub(crate) fn set(&self, ms: i64) {
        let mut t = self.inner.0.lock();
        if ms > *t {
            *t = ms;
        }
        self.inner.1.notify_all();
    }
}
