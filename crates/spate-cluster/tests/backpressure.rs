//! Backpressure with the receiver in an executor process (`local-cluster[2,1]`): the
//! driver estimates the rate (Spark's PID estimator, from each batch's records and
//! delays) and every batch's plan carries it to the executor running the receiver, which
//! paces its stores to it. A receiver that stores as fast as it may, a job that is fast,
//! then slowed down (2 ms per record), then fast again: the records each batch gets fall
//! while the job is slow and rise again after, as the rate does. Without the rate in the
//! plans the receiver stores at `receiver.maxRate` throughout and the records never fall.

#[allow(dead_code)]
#[path = "../../spate-streaming/tests/support/backpressure.rs"]
mod backpressure;
#[allow(dead_code)]
#[path = "common/streaming.rs"]
mod streaming;

use backpressure::{now_ms, Batches, Flood, Phases};
use spate_core::{Context, SpateConf};
use spate_streaming::StreamingContext;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    let batches = Arc::new(Batches::default());
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
    // (Batches with no records: the receiver was still starting in its executor.)
    let records = seen
        .iter()
        .filter(|b| b.records > 0)
        .map(|b| (b.time, b.records));
    let phases = Phases::of(records, slow_from, fast_from);
    phases.assert_falls_and_rises("records per batch", &seen);
    let lowest_rate = seen
        .iter()
        .filter(|b| b.time >= slow_from && b.time < fast_from)
        .filter_map(|b| b.rate)
        .min();
    println!("cluster backpressure: ok ({phases:?}; lowest rate planned {lowest_rate:?}/s)");
}
