//! Receivers on `local-cluster[3,1]`: the driver places a reliable receiver on an executor
//! process, which stores its blocks (and writes them to the write-ahead log) and reports
//! them to the driver. Midway the executor running the receiver is killed with SIGKILL
//! right after its source acknowledged a block. The driver takes the executor as lost and
//! places the receiver on another one, which reads on from the last acknowledgement; the
//! blocks the dead executor held are read from the write-ahead log. Every record arrives in
//! exactly one batch, and the records show the receiver ran in two executors and never in
//! the driver. With `spate.locality.wait` at 0, partitions also run on executors that do
//! not hold their block and fetch it from the one that does. The driver's listeners hear
//! the receiver start in each executor it ran in. The receiver never runs out of numbers:
//! the driver stops gracefully while it receives, and every number it acknowledged by
//! then was processed.

#[allow(dead_code)]
#[path = "common/streaming.rs"]
mod streaming;

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::StreamingContext;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RECORDS: u64 = 6_000;
const CHUNK: u64 = 50;

/// A reliable receiver of the numbers from 0 on: stores them in blocks of `CHUNK` and
/// acknowledges each block (in a file every process sees) once `store_many` returned;
/// started again, it reads on from the last acknowledgement. Each record names the
/// process that received it. The first executor to pass half way kills itself right
/// after an acknowledgement.
struct Numbers {
    dir: PathBuf,
}

fn acked(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("acked"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

impl Receiver<(String, u64)> for Numbers {
    fn on_start(&mut self, handle: ReceiverHandle<(String, u64)>) {
        let dir = self.dir.clone();
        let me = std::env::var("SPATE_EXECUTOR_ID").unwrap_or_else(|_| "driver".into());
        std::thread::spawn(move || {
            let mut next = acked(&dir);
            while !handle.is_stopped() {
                let end = next + CHUNK;
                let block = (next..end).map(|v| (me.clone(), v)).collect();
                if let Err(e) = handle.store_many(block) {
                    handle.restart(format!("storing failed: {e}"));
                    return;
                }
                // Acknowledged once stored (and logged): the source forgets it.
                let tmp = dir.join(format!(".acked-{me}"));
                if std::fs::write(&tmp, end.to_string())
                    .and_then(|()| std::fs::rename(&tmp, dir.join("acked")))
                    .is_err()
                {
                    handle.restart("acknowledging failed");
                    return;
                }
                next = end;
                if next >= RECORDS / 2 && std::fs::create_dir(dir.join("killed")).is_ok() {
                    // Gone without a word, with the blocks it holds.
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &std::process::id().to_string()])
                        .status();
                    std::thread::sleep(Duration::from_secs(30));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }

    fn on_stop(&mut self) {}

    fn name(&self) -> String {
        "numbers".into()
    }
}

fn main() {
    streaming::log_if_asked();
    spate_cluster::register();
    // The executors inherit the directory from the driver.
    let dir = match std::env::var("RECEIVERS_TEST_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let d = std::env::temp_dir().join(format!("spate-receivers-{}", std::process::id()));
            std::fs::create_dir_all(&d).expect("dir");
            std::env::set_var("RECEIVERS_TEST_DIR", &d);
            d
        }
    };
    let ctx = Context::new(
        SpateConf::new()
            .master("local-cluster[3,1]")
            .and_then(|c| c.app_name("cluster-receivers"))
            .and_then(|c| c.set("spate.task.maxFailures", "8"))
            .and_then(|c| c.set("spate.streaming.receiver.writeAheadLog.enable", "true"))
            .and_then(|c| c.set("spate.streaming.receiverRestartDelay", "100ms"))
            .and_then(|c| c.set("spate.locality.wait", "0"))
            .expect("configuration"),
    )
    .unwrap_or_else(|e| {
        eprintln!("local-cluster[3,1] failed to start: {e}");
        std::process::exit(1)
    });
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300))
        .expect("streaming context");
    ssc.checkpoint(dir.join("checkpoint")).expect("checkpoint");
    // (receiving executor, value, executor that computed its partition).
    let got = Arc::new(Mutex::new(Vec::<(String, u64, String)>::new()));
    let g = got.clone();
    let is_driver = ctx.is_driver();
    ssc.receiver_stream(Numbers { dir: dir.clone() })
        .foreach_rdd(move |rdd, _| {
            let v = rdd
                .map(|(r, v)| (r, v, std::env::var("SPATE_EXECUTOR_ID").unwrap_or_default()))
                .collect()?;
            if is_driver {
                g.lock().extend(v);
            }
            Ok(())
        });
    // Where the driver's listeners heard the receiver start.
    struct Starts(Mutex<Vec<Option<String>>>);
    impl spate_streaming::StreamingListener for Starts {
        fn on_receiver_started(&self, r: &spate_streaming::ReceiverInfo) {
            self.0.lock().push(r.executor.clone());
        }
    }
    let starts = Arc::new(Starts(Mutex::new(Vec::new())));
    ssc.add_streaming_listener(starts.clone());
    ssc.start().expect("start");
    if !is_driver {
        let _ = ssc.await_termination();
        return;
    }
    let until = Instant::now() + Duration::from_secs(120);
    while (got.lock().len() as u64) < RECORDS && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Gracefully, while the receiver receives: what it acknowledged is processed.
    ssc.stop(false, true);
    let got = got.lock().clone();
    let acknowledged = acked(&dir);
    ctx.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let mut values: Vec<u64> = got.iter().map(|(_, v, _)| *v).collect();
    values.sort_unstable();
    let end = values.last().map_or(0, |v| v + 1);
    let missing = (0..end)
        .filter(|v| values.binary_search(v).is_err())
        .count();
    let duplicates = values.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(
        missing == 0 && duplicates == 0 && end >= RECORDS,
        "records: {} received up to {end}, {missing} missing, {duplicates} duplicated",
        values.len()
    );
    assert!(
        end >= acknowledged,
        "the graceful stop lost acknowledged records: processed up to {end}, acknowledged {acknowledged}"
    );
    let receivers: std::collections::BTreeSet<&str> =
        got.iter().map(|(e, _, _)| e.as_str()).collect();
    assert!(
        !receivers.contains("driver"),
        "the receiver ran in the driver: {receivers:?}"
    );
    assert!(
        receivers.len() >= 2,
        "the receiver did not move to another executor after its executor died: {receivers:?}"
    );
    // The executor the receiver moved to lives on: its blocks read elsewhere were fetched.
    let survivor = got.last().map(|(e, _, _)| e.clone()).unwrap_or_default();
    let fetched = got
        .iter()
        .filter(|(r, _, c)| *r == survivor && c != r)
        .count();
    assert!(
        fetched > 0,
        "no partition of {survivor}'s blocks ran on another executor (no remote fetch)"
    );
    let heard = starts.0.lock().clone();
    let heard_in: std::collections::BTreeSet<&str> =
        heard.iter().flatten().map(String::as_str).collect();
    assert!(
        heard_in.len() >= 2 && heard_in.iter().all(|e| receivers.contains(e)),
        "the driver's listeners heard the receiver start in {heard:?}, it received in {receivers:?}"
    );
    println!(
        "receivers: ok ({end} records, {acknowledged} acknowledged at the stop, received by {receivers:?}; {fetched} records of {survivor}'s blocks computed on other executors)"
    );
}
