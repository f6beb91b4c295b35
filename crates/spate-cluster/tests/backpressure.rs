//! Backpressure with the receiver in an executor process (`local-cluster[2,1]`): the
//! driver estimates the rate (Spark's PID estimator, from each batch's records and
//! delays) and every batch's plan carries it to the executor running the receiver, which
//! paces its stores to it. A receiver that stores as fast as it may, a job that is fast,
//! then slowed down (2 ms per record), then fast again: the records each batch gets fall
//! while the job is slow and rise again after, as the rate does. Without the rate in the
//! plans the receiver stores at `receiver.maxRate` throughout and the records never fall.

#[allow(dead_code)]
#[path = "common/streaming.rs"]
mod streaming;

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::{BatchInfo, StreamingContext, StreamingListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Stores 0, 1, 2... one at a time, as fast as the handle lets it.
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

/// Batches as submitted: (batch time, records, rate planned under).
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

fn main() {
    streaming::log_if_asked();
    spate_cluster::register();
    // The executors inherit the directory (and so the phase file) from the driver.
    let dir = match std::env::var("BACKPRESSURE_TEST_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let d = std::env::temp_dir().join(format!("spate-bp-{}", std::process::id()));
            std::fs::create_dir_all(&d).expect("dir");
            std::env::set_var("BACKPRESSURE_TEST_DIR", &d);
            d
        }
    };
    let ctx = Context::new(
        SpateConf::new()
            .master("local-cluster[2,1]")
            .and_then(|c| c.app_name("cluster-backpressure"))
            .and_then(|c| c.set("spate.streaming.backpressure.enabled", "true"))
            .and_then(|c| c.set("spate.streaming.backpressure.initialRate", "2000"))
            .and_then(|c| c.set("spate.streaming.receiver.maxRate", "4000"))
            .expect("configuration"),
    )
    .unwrap_or_else(|e| {
        eprintln!("local-cluster[2,1] failed to start: {e}");
        std::process::exit(1)
    });
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(500))
        .expect("streaming context");
    let slow = dir.join("slow");
    let is_driver = ctx.is_driver();
    ssc.receiver_stream(Flood).foreach_rdd(move |rdd, _| {
        let n = rdd.count()?;
        // The driver's processing time is the batch's: it alone sleeps.
        if is_driver && slow.exists() {
            std::thread::sleep(Duration::from_micros(2_000 * n));
        }
        Ok(())
    });
    let batches = Arc::new(Batches(Mutex::new(Vec::new())));
    ssc.add_streaming_listener(batches.clone());
    ssc.start().expect("start");
    if !is_driver {
        let _ = ssc.await_termination();
        return;
    }
    std::thread::sleep(Duration::from_secs(5));
    let slow_from = now_ms();
    std::fs::write(dir.join("slow"), b"").expect("phase");
    std::thread::sleep(Duration::from_secs(10));
    let fast_from = now_ms();
    std::fs::remove_file(dir.join("slow")).expect("phase");
    std::thread::sleep(Duration::from_secs(8));
    ssc.stop(false, false);
    ctx.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let seen = batches.0.lock().clone();
    let pick = |from: i64, to: i64, f: fn(&(i64, u64, Option<u64>)) -> Option<u64>| {
        seen.iter()
            .filter(|b| b.0 >= from && b.0 < to)
            .filter_map(f)
            .collect::<Vec<u64>>()
    };
    let records = |b: &(i64, u64, Option<u64>)| (b.1 > 0).then_some(b.1);
    // The first batches fill in while the receiver starts in its executor.
    let fast = pick(0, slow_from, records).into_iter().max().unwrap_or(0);
    let fewest = pick(slow_from, fast_from, records)
        .into_iter()
        .min()
        .unwrap_or(u64::MAX);
    let again = pick(fast_from, i64::MAX, records)
        .into_iter()
        .max()
        .unwrap_or(0);
    let rate = |b: &(i64, u64, Option<u64>)| b.2;
    let slowest_rate = pick(slow_from, fast_from, rate).into_iter().min();
    assert!(
        fewest.saturating_mul(3) < fast && again > fewest.saturating_mul(3),
        "records per batch: fast {fast}, slow (fewest) {fewest}, fast again {again}; batches {seen:?}"
    );
    println!(
        "cluster backpressure: ok (records per batch: fast {fast}, slow (fewest) {fewest}, fast again {again}; lowest rate planned {slowest_rate:?}/s)"
    );
}
