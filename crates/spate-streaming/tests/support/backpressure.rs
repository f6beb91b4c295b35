//! What the backpressure tests share (this crate's, `spate-kafka`'s and `spate-cluster`'s,
//! which include this file): a receiver that floods, a listener that records each batch
//! as it is submitted, and the reading of a run's three phases (fast, slowed down, fast
//! again).

use parking_lot::Mutex;
use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::{BatchInfo, StreamingListener};

/// Stores 0, 1, 2... one record at a time, as fast as the handle lets it.
pub struct Flood;

impl Receiver<u64> for Flood {
    fn on_start(&mut self, handle: ReceiverHandle<u64>) {
        std::thread::spawn(move || {
            let mut i = 0;
            while !handle.is_stopped() && handle.store(i).is_ok() {
                i += 1;
            }
        });
    }
    fn on_stop(&mut self) {}
}

/// A batch as submitted: its time, its records and the rate it was planned under.
#[derive(Debug, Clone, Copy)]
pub struct Submitted {
    pub time: i64,
    pub records: u64,
    pub rate: Option<u64>,
}

/// Every batch as it is submitted.
#[derive(Default)]
pub struct Batches(pub Mutex<Vec<Submitted>>);

impl StreamingListener for Batches {
    fn on_batch_submitted(&self, info: &BatchInfo) {
        self.0.lock().push(Submitted {
            time: info.batch_time.0,
            records: info.num_records,
            rate: info.rate_limits.values().next().copied(),
        });
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A value through the three phases: its highest before the slowdown, its lowest during
/// it, its highest after.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    pub fast: u64,
    pub slow: u64,
    pub again: u64,
}

impl Phases {
    /// From (batch time, value) pairs, the slowdown lasting from `slow_from` to
    /// `fast_from` (batch times, ms).
    pub fn of(
        values: impl IntoIterator<Item = (i64, u64)>,
        slow_from: i64,
        fast_from: i64,
    ) -> Phases {
        let (mut fast, mut slow, mut again) = (0, u64::MAX, 0);
        for (t, v) in values {
            if t < slow_from {
                fast = fast.max(v);
            } else if t < fast_from {
                slow = slow.min(v);
            } else {
                again = again.max(v);
            }
        }
        Phases { fast, slow, again }
    }

    /// Asserts the value fell to less than a third while slowed down and rose past three
    /// times that after.
    pub fn assert_falls_and_rises(&self, what: &str, detail: &dyn std::fmt::Debug) {
        println!(
            "{what}: fast {}, slow (lowest) {}, fast again (highest) {}",
            self.fast, self.slow, self.again
        );
        assert!(
            self.slow.saturating_mul(3) < self.fast && self.again > self.slow.saturating_mul(3),
            "{what}: fast {}, slow {}, fast again {}; {detail:?}",
            self.fast,
            self.slow,
            self.again
        );
    }
}
