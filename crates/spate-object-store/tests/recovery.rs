//! Driver recovery from a checkpoint directory in S3 (moto, started by `scripts/test.sh`):
//! a stateful word count over a watched directory, `ssc.checkpoint("s3://bucket/...")`,
//! runs k batches on a manual clock, stops without finishing its work (as a crash would
//! leave the bucket), and a new run of the same program recovers with `get_or_create` on
//! the same URL and runs to the end. Its final state must be the uninterrupted run's, and
//! each batch after the checkpoint must run exactly once.

mod support;

use parking_lot::Mutex;
use spate_core::checkpoint_store;
use spate_core::{Context, SpateConf, Str};
use spate_streaming::{Clock, StreamingContext};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};
use support::*;

const BASE: i64 = 1_700_000_000_000;
const BATCHES: i64 = 14;

type State = BTreeMap<String, u64>;
type Out = Arc<Mutex<Vec<(i64, Vec<(Str, u64)>)>>>;

fn conf() -> SpateConf {
    SpateConf::new()
        .master("local[2]")
        .and_then(|c| c.app_name("spate-object-store-recovery"))
        .expect("configuration")
}

fn file_text(k: i64) -> String {
    format!("w{} w{} common\nw{} tail{}\n", k % 5, k % 3, k % 7, k % 2)
}

/// The program: a stateful word count over `watched`, every batch's whole state recorded,
/// checkpointing to the URL `ck`.
fn program(
    ck: &str,
    watched: &Path,
    clock_ms: i64,
    out: Out,
) -> spate_streaming::Result<StreamingContext> {
    let ssc = StreamingContext::with_clock(
        Context::new(conf())?,
        Duration::from_secs(1),
        Clock::manual_at(clock_ms),
    )?;
    let counts = ssc
        .text_file_stream(watched)?
        .flat_map(Str::words)
        .map(|w| (w, 1u64))
        .update_state_by_key(|vs: Vec<u64>, s: Option<u64>| {
            Some(s.unwrap_or(0) + vs.iter().sum::<u64>())
        });
    counts.foreach_rdd(move |rdd, t| {
        out.lock().push((t.millis(), rdd.collect()?));
        Ok(())
    });
    ssc.checkpoint(ck)?;
    Ok(ssc)
}

fn state_at(out: &Out, t: i64) -> State {
    let got = out.lock();
    let (_, recs) = got
        .iter()
        .rev()
        .find(|(bt, _)| *bt == t)
        .unwrap_or_else(|| panic!("no batch at {t}"));
    recs.iter().map(|(w, n)| (w.to_string(), *n)).collect()
}

/// Moves file `k` into `watched`, modified half a batch before batch `k`'s time.
fn feed(staging: &Path, watched: &Path, k: i64) {
    let name = format!("f{k:03}.txt");
    let tmp = staging.join(&name);
    std::fs::write(&tmp, file_text(k)).unwrap();
    let f = std::fs::File::options().write(true).open(&tmp).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_millis((BASE + k * 1000 - 500) as u64))
        .unwrap();
    drop(f);
    std::fs::rename(&tmp, watched.join(name)).unwrap();
}

fn dirs_under(base: &Path) -> (PathBuf, PathBuf) {
    let watched = base.join("watched");
    let staging = base.join("staging");
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    (watched, staging)
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// The final state of an uninterrupted run checkpointing to `ck`.
fn uninterrupted(ck: &str) -> State {
    let dirs = tempfile::tempdir().unwrap();
    let (watched, staging) = dirs_under(dirs.path());
    let out: Out = Default::default();
    let ssc =
        StreamingContext::get_or_create(ck, || program(ck, &watched, BASE, out.clone())).unwrap();
    ssc.start().unwrap();
    for k in 1..=BATCHES {
        feed(&staging, &watched, k);
        ssc.advance_batches(1).unwrap();
    }
    ssc.stop(true, false);
    state_at(&out, BASE + BATCHES * 1000)
}

/// Runs `crash_after` batches, stops without a graceful finish, optionally drops the
/// newest metadata checkpoint object (a crash before it was written), recovers from the
/// same URL, runs to the end; the final state and the recovered run's batch times.
fn crash_and_recover(ck: &str, crash_after: i64, drop_newest: bool) -> (State, Vec<i64>) {
    let dirs = tempfile::tempdir().unwrap();
    let (watched, staging) = dirs_under(dirs.path());
    {
        let out: Out = Default::default();
        let ssc = StreamingContext::get_or_create(ck, || program(ck, &watched, BASE, out.clone()))
            .unwrap();
        ssc.start().unwrap();
        for k in 1..=crash_after {
            feed(&staging, &watched, k);
            ssc.advance_batches(1).unwrap();
        }
        ssc.stop(true, false);
    }
    let bucket = checkpoint_store::open(ck).unwrap();
    let metadata = bucket.list("metadata").unwrap();
    assert!(
        metadata.iter().any(|n| n.contains("/checkpoint-")),
        "no metadata checkpoint objects under {ck}/metadata: {metadata:?}"
    );
    if crash_after >= 10 {
        // The state stream checkpoints its data every 10 s (10 batches).
        let data = bucket.list("data").unwrap();
        assert!(
            !data.is_empty(),
            "no data checkpoint objects under {ck}/data"
        );
        let parts: Vec<String> = data.iter().flat_map(|d| bucket.list(d).unwrap()).collect();
        assert!(
            !parts.is_empty(),
            "data checkpoint directories without objects: {data:?}"
        );
    }
    if drop_newest {
        let newest = metadata.last().unwrap();
        bucket.delete(newest).unwrap();
    }
    let out: Out = Default::default();
    let ssc = StreamingContext::get_or_create(ck, || {
        program(ck, &watched, BASE + crash_after * 1000 + 200, out.clone())
    })
    .unwrap();
    ssc.start().unwrap();
    // A batch pending at the crash is queued at the start and due now.
    ssc.advance(Duration::ZERO).unwrap();
    if drop_newest {
        assert!(wait_until(Duration::from_secs(20), || {
            out.lock()
                .iter()
                .any(|(t, _)| *t == BASE + crash_after * 1000)
        }));
    }
    for k in crash_after + 1..=BATCHES {
        feed(&staging, &watched, k);
        ssc.advance_batches(1).unwrap();
    }
    ssc.stop(true, false);
    let times = out.lock().iter().map(|(t, _)| *t).collect();
    (state_at(&out, BASE + BATCHES * 1000), times)
}

#[test]
fn a_stateful_word_count_checkpointing_to_s3_recovers_to_the_uninterrupted_state() {
    let s3 = s3_from_env();
    spate_object_store::register();
    let run = unique("recovery");
    let expected = uninterrupted(&s3.url(&format!("{run}/uninterrupted")));
    assert_eq!(expected["common"], BATCHES as u64);
    // Before the first state checkpoint (10 s), after it, and after it with the newest
    // metadata checkpoint (the last batch's completion) lost, so that batch runs again.
    for (crash_after, drop_newest) in [(3, false), (12, false), (12, true)] {
        let ck = s3.url(&format!("{run}/crash-{crash_after}-{drop_newest}"));
        let (got, times) = crash_and_recover(&ck, crash_after, drop_newest);
        assert_eq!(
            got, expected,
            "crash after batch {crash_after} (newest checkpoint dropped: {drop_newest})"
        );
        let first = if drop_newest {
            crash_after
        } else {
            crash_after + 1
        };
        let want: Vec<i64> = (first..=BATCHES).map(|k| BASE + k * 1000).collect();
        assert_eq!(
            times, want,
            "batches of the recovered run (crash after {crash_after})"
        );
        // What the run left in the bucket: metadata checkpoints and data checkpoints.
        let bucket = checkpoint_store::open(&ck).unwrap();
        assert_eq!(bucket.list("").unwrap(), ["data", "metadata"]);
        let newest = bucket.list("metadata").unwrap();
        let last = newest.last().unwrap();
        assert!(
            last.ends_with(&format!("checkpoint-{:020}-2", BASE + BATCHES * 1000)),
            "newest metadata checkpoint: {last}"
        );
        checkpoint_store::get_checked(bucket.as_ref(), last).unwrap();
    }
}

#[test]
fn get_or_create_on_an_unreachable_bucket_fails_clearly() {
    let s3 = s3_from_env();
    spate_object_store::register();
    let bucket = unique("absent").to_ascii_lowercase();
    let ck = format!("s3://{bucket}/ck");
    let dirs = tempfile::tempdir().unwrap();
    let (watched, _) = dirs_under(dirs.path());
    let started = Instant::now();
    let e = match StreamingContext::get_or_create(ck.as_str(), || {
        program(&ck, &watched, BASE, Default::default())
    }) {
        Ok(_) => panic!("a checkpoint directory in a missing bucket was accepted"),
        Err(e) => e,
    };
    assert!(started.elapsed() < Duration::from_secs(20));
    let msg = e.to_string();
    assert!(msg.contains(&ck), "{msg}");
    let _ = s3;
}
