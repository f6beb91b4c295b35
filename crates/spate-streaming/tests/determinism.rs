//! Ids come from program order and scopes, not from thread timing: the same streaming
//! program run on `local[1]` with one job thread and on `local[4]` with three concurrent
//! job threads and random delays in the generator and job threads names every RDD,
//! shuffle, broadcast, accumulator and job identically, batch for batch, with identical
//! lineage fingerprints. (Every process of a cluster runs the program and must agree.)

mod support;

use parking_lot::Mutex;
use spate_core::rng::SplitMix64;
use spate_core::{Context, SpateConf};
use spate_streaming::{Clock, DStream, StreamingContext, Time};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

type Trace = Arc<Mutex<BTreeMap<(i64, String), Vec<String>>>>;

/// Sleeps 0..max_ms, differently per call when `jitter` is set.
fn jitter(rng: &Mutex<SplitMix64>, on: bool, max_ms: u64) {
    if on {
        let ms = rng.lock().next_u64() % (max_ms + 1);
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Records what an output sees and creates for one batch.
fn record(
    trace: &Trace,
    rng: &Arc<Mutex<SplitMix64>>,
    on: bool,
    name: &str,
    s: &DStream<(String, i64)>,
) {
    let (trace, rng, name) = (trace.clone(), rng.clone(), name.to_string());
    s.foreach_rdd(move |rdd, t: Time| {
        jitter(&rng, on, 15);
        let ctx = rdd.context().clone();
        let mapped = rdd.map(|(k, v)| (k, v * 2));
        let b = ctx.broadcast(t.0)?;
        let acc = ctx.long_accumulator("seen");
        let a2 = acc.clone();
        let counted = mapped.map(move |kv| {
            a2.add(1);
            kv
        });
        jitter(&rng, on, 10);
        let n = counted.count()?;
        let reduced = counted.reduce_by_key(|a, b| a + b);
        let keys = reduced.collect()?.len();
        let entry = vec![
            format!("input rdd {} fp {:016x}", rdd.id(), rdd.fingerprint()),
            format!(
                "mapped rdd {} fp {:016x}",
                mapped.id(),
                mapped.fingerprint()
            ),
            format!(
                "reduced rdd {} fp {:016x}",
                reduced.id(),
                reduced.fingerprint()
            ),
            format!("broadcast {} accumulator {}", b.id(), acc.id()),
            format!("count {n} keys {keys} accumulated {}", acc.value()),
            rdd.to_debug_string(),
        ];
        trace.lock().insert((t.0, name.clone()), entry);
        Ok(())
    });
}

fn run(threads: usize, concurrent_jobs: usize, delays: bool, seed: u64) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let conf = SpateConf::new()
        .master(&format!("local[{threads}]"))
        .unwrap()
        .set(
            "spate.streaming.concurrentJobs",
            concurrent_jobs.to_string(),
        )
        .unwrap()
        // The same partitioning everywhere: only the timing differs.
        .set("spate.default.parallelism", "3")
        .unwrap();
    let ssc = StreamingContext::with_clock(
        Context::new(conf).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let rng = Arc::new(Mutex::new(SplitMix64::new(seed)));
    let words: Vec<Option<Vec<String>>> = (0..8)
        .map(|b| Some((0..20).map(|i| format!("w{}", (i * 7 + b) % 9)).collect()))
        .collect();
    let lines = ssc.replay_stream(words, 3);
    let r = rng.clone();
    let pairs = lines.transform(move |rdd, _| {
        // A delay on the generator's side, while the batch's RDDs are made.
        jitter(&r, delays, 10);
        Ok(rdd.map(|w| (w, 1i64)))
    });
    let counts = pairs.reduce_by_key(|a, b| a + b);
    let windowed = pairs
        .reduce_by_key_and_window(|a, b| a + b)
        .inverse(|a, b| a - b)
        .window(Duration::from_secs(3))
        .slide(Duration::from_secs(1));
    let state = pairs.update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
        Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
    });
    let joined = counts.join(&state).map(|(k, (a, b))| (k, a * 1000 + b));
    let trace: Trace = Arc::new(Mutex::new(BTreeMap::new()));
    record(&trace, &rng, delays, "counts", &counts);
    record(&trace, &rng, delays, "windowed", &windowed);
    record(&trace, &rng, delays, "state", &state);
    record(&trace, &rng, delays, "joined", &joined);
    ssc.start().unwrap();
    ssc.advance_batches(8).unwrap();
    ssc.stop(true, false);
    let t = trace.lock();
    assert_eq!(t.len(), 8 * 4, "every output of every batch ran");
    t.iter()
        .map(|((time, name), e)| format!("{time} {name}\n{}", e.join("\n")))
        .collect()
}

#[test]
fn ids_and_fingerprints_do_not_depend_on_thread_timing() {
    let calm = run(1, 1, false, 1);
    for (threads, jobs, seed) in [(4, 3, 7), (4, 3, 11), (2, 2, 99)] {
        let busy = run(threads, jobs, true, seed);
        for (a, b) in calm.iter().zip(&busy) {
            assert_eq!(
                a, b,
                "local[1] and local[{threads}] with {jobs} concurrent jobs and delays disagree"
            );
        }
        assert_eq!(calm.len(), busy.len());
    }
}
