//! Backpressure (`spate.streaming.backpressure.enabled`) end to end: a receiver that
//! would store records as fast as it may, a job that is fast, then slowed down (2 ms per
//! record), then fast again. The rate each batch is planned under, and the records it
//! gets, fall while the job is slow and rise again after; each batch's record shows the
//! rate. (`spate.streaming.receiver.maxRate` caps the fast phases: their estimate is far
//! higher.)

#[allow(dead_code)]
#[path = "support/backpressure.rs"]
mod backpressure;

use backpressure::{now_ms, Batches, Flood, Phases};
use spate_core::{Context, SpateConf};
use spate_streaming::StreamingContext;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
    let batches = Arc::new(Batches::default());
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
    let rates = seen.iter().filter_map(|b| Some((b.time, b.rate?)));
    Phases::of(rates, slow_from, fast_from)
        .assert_falls_and_rises("rates planned under (records/s)", &seen);
    // The records follow: batches planned under the low rate get far fewer.
    let records = seen
        .iter()
        .filter(|b| b.records > 0)
        .map(|b| (b.time, b.records));
    Phases::of(records, slow_from, fast_from).assert_falls_and_rises("records per batch", &seen);
}
