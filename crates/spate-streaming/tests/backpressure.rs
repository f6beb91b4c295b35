//! Backpressure (`spate.streaming.backpressure.enabled`) end to end: a receiver that
//! would store records as fast as it may, a job that is fast, then slowed down (2 ms per
//! record), then fast again. The rate each batch is planned under, and the records it
//! gets, fall while the job is slow and rise again after; each batch's record shows the
//! rate. (`spate.streaming.receiver.maxRate` caps the fast phases: their estimate is far
//! higher.)

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::{BatchInfo, StreamingContext, StreamingListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Stores 0, 1, 2... one record at a time, as fast as the handle lets it.
struct Flood;

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

/// Batches as they are submitted: (batch time, records, rate planned under).
struct Batches(Mutex<Vec<(i64, u64, Option<u64>)>>);

impl StreamingListener for Batches {
    fn on_batch_submitted(&self, info: &BatchInfo) {
        let rate = info.rate_limits.values().next().copied();
        self.0
            .lock()
            .push((info.batch_time.0, info.num_records, rate));
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[test]
fn a_receivers_rate_falls_when_processing_slows_and_rises_again() {
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .and_then(|c| c.app_name("backpressure"))
            .and_then(|c| c.set("spate.streaming.backpressure.enabled", "true"))
            .and_then(|c| c.set("spate.streaming.backpressure.initialRate", "2000"))
            .and_then(|c| c.set("spate.streaming.receiver.maxRate", "4000"))
            .expect("conf"),
    )
    .expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(500)).expect("ssc");
    // Phase 0 fast, 1 slow (2 ms per record), 2 fast again.
    let phase = Arc::new(AtomicU64::new(0));
    let p = phase.clone();
    ssc.receiver_stream(Flood).foreach_rdd(move |rdd, _| {
        let n = rdd.count()?;
        if p.load(Ordering::Acquire) == 1 {
            std::thread::sleep(Duration::from_micros(2_000 * n));
        }
        Ok(())
    });
    let batches = Arc::new(Batches(Mutex::new(Vec::new())));
    ssc.add_streaming_listener(batches.clone());
    ssc.start().expect("start");
    std::thread::sleep(Duration::from_secs(4));
    let slow_from = now_ms();
    phase.store(1, Ordering::Release);
    std::thread::sleep(Duration::from_secs(10));
    let fast_from = now_ms();
    phase.store(2, Ordering::Release);
    std::thread::sleep(Duration::from_secs(8));
    ssc.stop(false, false);
    let seen = batches.0.lock().clone();
    let rates = |from: i64, to: i64| -> Vec<u64> {
        seen.iter()
            .filter(|(t, _, _)| *t >= from && *t < to)
            .filter_map(|(_, _, r)| *r)
            .collect()
    };
    let fast = rates(0, slow_from).into_iter().max().unwrap_or(0);
    let slow = rates(slow_from, fast_from)
        .into_iter()
        .min()
        .unwrap_or(u64::MAX);
    let again = rates(fast_from, i64::MAX).into_iter().max().unwrap_or(0);
    println!("rates (records/s): fast {fast}, slow (lowest) {slow}, fast again (highest) {again}");
    assert!(
        slow.saturating_mul(3) < fast && again > slow.saturating_mul(3),
        "rates planned under: fast {fast}, slow {slow}, fast again {again}; batches {seen:?}"
    );
    // The records follow: batches planned under the low rate get far fewer.
    let records = |from: i64, to: i64, pick: fn(Vec<u64>) -> Option<u64>| {
        pick(
            seen.iter()
                .filter(|(t, n, _)| *t >= from && *t < to && *n > 0)
                .map(|(_, n, _)| *n)
                .collect(),
        )
        .unwrap_or(0)
    };
    let fast_records = records(0, slow_from, |v| v.into_iter().max());
    let fewest = records(slow_from, fast_from, |v| v.into_iter().min());
    let again_records = records(fast_from, i64::MAX, |v| v.into_iter().max());
    println!("records per batch: fast {fast_records}, slow (fewest) {fewest}, fast again {again_records}");
    assert!(
        fewest.saturating_mul(3) < fast_records && again_records > fewest.saturating_mul(3),
        "records per batch: fast {fast_records}, slow {fewest}, fast again {again_records}; batches {seen:?}"
    );
}
