//! Driver recovery from a metadata checkpoint, in one process on a manual clock: a stateful
//! word count over a watched directory runs k batches, its checkpoint directory is taken
//! as a crash at that moment would leave it, and a new run of the same program recovers
//! with `get_or_create`, is fed the rest of the files (some while it was "down") and must
//! end with the state of an uninterrupted run: nothing lost, nothing counted twice. The
//! real `kill -9` tests are in `crates/spate/tests/kill_recovery.rs`.

mod support;

use spate_core::checkpoint_store;
use spate_core::Str;
use spate_streaming::Time;
use std::collections::BTreeMap;
use std::path::PathBuf;
use support::*;

const BASE: i64 = 1_700_000_000_000;
const BATCHES: i64 = 30;

type State = BTreeMap<String, u64>;

fn file_text(k: i64) -> String {
    format!("w{} w{} common\nw{} tail{}\n", k % 5, k % 3, k % 7, k % 2)
}

/// The program: a stateful word count over `watched`, every batch's whole state recorded.
fn program(
    ck: &Path,
    watched: &Path,
    clock_ms: i64,
    out: Out<(Str, u64)>,
) -> spate_streaming::Result<StreamingContext> {
    let ssc = StreamingContext::with_clock(
        Context::new(conf(&[]))?,
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
    let o = out.clone();
    counts.foreach_rdd(move |rdd, t| {
        o.lock().push((t.millis(), rdd.collect()?));
        Ok(())
    });
    ssc.checkpoint(ck)?;
    Ok(ssc)
}

fn state_at(out: &Out<(Str, u64)>, t: i64) -> State {
    let got = out.lock();
    let (_, recs) = got
        .iter()
        .rev()
        .find(|(bt, _)| *bt == t)
        .unwrap_or_else(|| panic!("no batch at {t}"));
    recs.iter().map(|(w, n)| (w.to_string(), *n)).collect()
}

/// Moves file `k` in, modified half a batch before batch `k`'s time.
fn feed(staging: &Path, watched: &Path, k: i64) {
    move_in(
        staging,
        watched,
        &format!("f{k:03}.txt"),
        &file_text(k),
        Some(BASE + k * 1000 - 500),
    );
}

/// The final state of an uninterrupted run.
fn uninterrupted() -> State {
    let dirs = tempfile::tempdir().unwrap();
    let (watched, staging, ck) = dirs_under(dirs.path());
    let out: Out<(Str, u64)> = Default::default();
    let ssc =
        StreamingContext::get_or_create(&ck, || program(&ck, &watched, BASE, out.clone())).unwrap();
    ssc.start().unwrap();
    for k in 1..=BATCHES {
        feed(&staging, &watched, k);
        ssc.advance_batches(1).unwrap();
    }
    ssc.stop(true, false);
    state_at(&out, BASE + BATCHES * 1000)
}

fn dirs_under(base: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let watched = base.join("watched");
    let staging = base.join("staging");
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    (watched, staging, base.join("checkpoint"))
}

/// Runs `crash_after` batches, "crashes" (the checkpoint directory as it was then, less
/// its newest file when `torn_last`), recovers `down` batches later with the files of the
/// missed batches already there, runs to the end and returns the final state and every
/// batch time the recovered run output.
fn crash_and_recover(crash_after: i64, drop_newest: bool, down: i64) -> (State, Vec<i64>) {
    let dirs = tempfile::tempdir().unwrap();
    let (watched, staging, ck) = dirs_under(dirs.path());
    let saved = dirs.path().join("saved");
    {
        let out: Out<(Str, u64)> = Default::default();
        let ssc =
            StreamingContext::get_or_create(&ck, || program(&ck, &watched, BASE, out.clone()))
                .unwrap();
        ssc.start().unwrap();
        for k in 1..=crash_after {
            feed(&staging, &watched, k);
            ssc.advance_batches(1).unwrap();
        }
        copy_dir(&ck, &saved);
        ssc.stop(true, false);
    }
    std::fs::remove_dir_all(&ck).unwrap();
    copy_dir(&saved, &ck);
    if drop_newest {
        drop_newest_checkpoint(&ck);
    }
    // Files of the batches missed while down arrive before the restart.
    let restart_batch = crash_after + down;
    for k in crash_after + 1..=restart_batch {
        feed(&staging, &watched, k);
    }
    let out: Out<(Str, u64)> = Default::default();
    let ssc = StreamingContext::get_or_create(&ck, || {
        program(
            &ck,
            &watched,
            BASE + restart_batch * 1000 + 200,
            out.clone(),
        )
    })
    .unwrap();
    ssc.start().unwrap();
    // The pending batches are queued at the start; those missed while down are due now.
    ssc.advance(Duration::ZERO).unwrap();
    let first = if drop_newest {
        crash_after
    } else {
        crash_after + 1
    };
    assert!(wait_until(Duration::from_secs(20), || {
        let got = out.lock();
        (first..=restart_batch).all(|k| got.iter().any(|(t, _)| *t == BASE + k * 1000))
    }));
    for k in restart_batch + 1..=BATCHES {
        feed(&staging, &watched, k);
        ssc.advance_batches(1).unwrap();
    }
    ssc.stop(true, false);
    let times = out.lock().iter().map(|(t, _)| *t).collect();
    (state_at(&out, BASE + BATCHES * 1000), times)
}

#[test]
fn a_recovered_stateful_file_word_count_ends_with_the_uninterrupted_state() {
    let expected = uninterrupted();
    assert_eq!(expected["common"], BATCHES as u64);
    // Before the first state checkpoint (10 s), just after it, and later; with the
    // newest checkpoint (the completion of the last batch) gone, so that batch is pending
    // and runs again; with batches missed while down.
    for (crash_after, drop_newest, down) in [
        (3, false, 0),
        (11, false, 0),
        (11, true, 0),
        (13, true, 2),
        (5, false, 3),
        (25, false, 0),
        (26, true, 1),
    ] {
        let (got, times) = crash_and_recover(crash_after, drop_newest, down);
        assert_eq!(
            got, expected,
            "crash after batch {crash_after} (newest checkpoint dropped: {drop_newest}, down {down} batches)"
        );
        // Every batch from the first not completed to the end ran, in order, once.
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
    }
}

#[test]
fn a_torn_or_corrupt_newest_checkpoint_falls_back_to_the_one_before() {
    let dirs = tempfile::tempdir().unwrap();
    let (watched, staging, ck) = dirs_under(dirs.path());
    let out: Out<(Str, u64)> = Default::default();
    let ssc =
        StreamingContext::get_or_create(&ck, || program(&ck, &watched, BASE, out.clone())).unwrap();
    ssc.start().unwrap();
    for k in 1..=4 {
        feed(&staging, &watched, k);
        ssc.advance_batches(1).unwrap();
    }
    ssc.stop(true, false);
    let names = metadata_checkpoints(&ck);
    let newest = names.last().unwrap().clone();
    let bytes = std::fs::read(&newest).unwrap();
    let reader = |ck: &Path| {
        let out: Out<(Str, u64)> = Default::default();
        let ssc = program(ck, &watched, BASE, out).unwrap();
        ssc.latest_checkpoint().unwrap().unwrap()
    };
    let good = reader(&ck);
    assert_eq!((good.time_ms, good.completed), (BASE + 4000, true));
    // Torn: cut in the middle.
    std::fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
    let torn = reader(&ck);
    assert_eq!((torn.time_ms, torn.completed), (BASE + 4000, false));
    // Corrupt: one byte flipped in the payload.
    let mut flipped = bytes.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 0x20;
    std::fs::write(&newest, &flipped).unwrap();
    assert_eq!(reader(&ck).time_ms, BASE + 4000);
    assert!(!reader(&ck).completed);
    assert!(checkpoint_store::unframe(&flipped, "x")
        .unwrap_err()
        .to_string()
        .contains("checksum mismatch"));
    // Every checkpoint corrupt: a clear error, not a fresh start.
    for n in &names {
        std::fs::write(n, b"garbage").unwrap();
    }
    let out: Out<(Str, u64)> = Default::default();
    let err = StreamingContext::get_or_create(&ck, || program(&ck, &watched, BASE, out.clone()))
        .expect_err("recovering from only corrupt checkpoints must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("none of its") && msg.contains("torn or foreign"),
        "{msg}"
    );
}

#[test]
fn a_changed_graph_is_refused_naming_the_difference() {
    let dirs = tempfile::tempdir().unwrap();
    let (watched, staging, ck) = dirs_under(dirs.path());
    let out: Out<(Str, u64)> = Default::default();
    let ssc =
        StreamingContext::get_or_create(&ck, || program(&ck, &watched, BASE, out.clone())).unwrap();
    ssc.start().unwrap();
    feed(&staging, &watched, 1);
    ssc.advance_batches(2).unwrap();
    ssc.stop(true, false);
    // The same input, a windowed count instead of the state.
    let err = StreamingContext::get_or_create(&ck, || {
        let ssc = StreamingContext::with_clock(
            Context::new(conf(&[]))?,
            Duration::from_secs(1),
            Clock::manual_at(BASE + 5000),
        )?;
        ssc.text_file_stream(&watched)?
            .window_with(Duration::from_secs(2), Duration::from_secs(1))
            .count()
            .foreach_rdd(|_, _| Ok(()));
        Ok(ssc)
    })
    .expect_err("a different graph must be refused");
    assert!(matches!(err, Error::GraphMismatch { .. }), "{err}");
}

/// A replayable source over `0..1000`: each batch reads the next `PER` offsets.
struct Offsets {
    next: Mutex<u64>,
}

const PER: u64 = 37;

impl spate_streaming::input::DirectSource<u64> for Offsets {
    type Range = (u64, u64);
    fn plan(&self, _time: Time) -> spate_streaming::Result<Option<(u64, u64)>> {
        let mut n = self.next.lock();
        let r = (*n, (*n + PER).min(1000));
        *n = r.1;
        Ok((r.0 < r.1).then_some(r))
    }
    fn read(&self, ctx: &Context, r: &(u64, u64)) -> spate_streaming::Result<spate_core::Rdd<u64>> {
        Ok(ctx.parallelize_with((r.0..r.1).collect(), 2))
    }
    fn position(&self) -> spate_streaming::Result<Option<Vec<u8>>> {
        Ok(Some(spate_core::codec::encode(
            &*self.next.lock(),
            "offset",
        )?))
    }
    fn restore(&self, p: &[u8]) -> spate_streaming::Result<()> {
        *self.next.lock() = spate_core::codec::decode(p, "offset")?;
        Ok(())
    }
}

fn direct_program(ck: &Path, clock_ms: i64, out: Out<u64>) -> StreamingContext {
    StreamingContext::get_or_create(ck, || {
        let ssc = StreamingContext::with_clock(
            Context::new(conf(&[]))?,
            Duration::from_secs(1),
            Clock::manual_at(clock_ms),
        )?;
        let (s, _) = ssc.direct_stream(Offsets {
            next: Mutex::new(0),
        });
        let o = out.clone();
        s.foreach_rdd(move |rdd, t| {
            let mut v = rdd.collect()?;
            v.sort();
            o.lock().push((t.millis(), v));
            Ok(())
        });
        ssc.checkpoint(ck)?;
        Ok(ssc)
    })
    .unwrap()
}

#[test]
fn a_direct_source_recomputes_a_pending_batch_from_its_range_and_goes_on_from_its_position() {
    let dirs = tempfile::tempdir().unwrap();
    let ck = dirs.path().join("ck");
    let saved = dirs.path().join("saved");
    let first: Out<u64> = Default::default();
    let ssc = direct_program(&ck, 0, first.clone());
    ssc.start().unwrap();
    ssc.advance_batches(5).unwrap();
    copy_dir(&ck, &saved);
    ssc.stop(true, false);
    std::fs::remove_dir_all(&ck).unwrap();
    copy_dir(&saved, &ck);
    // Batch 5 was still running at the crash: its completion is not in the checkpoint.
    drop_newest_checkpoint(&ck);

    let second: Out<u64> = Default::default();
    let ssc = direct_program(&ck, 5000, second.clone());
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    ssc.stop(true, false);
    let by_time: BTreeMap<i64, Vec<u64>> = first
        .lock()
        .iter()
        .chain(second.lock().iter())
        .cloned()
        .collect();
    let first5 = first.lock()[4].clone();
    assert_eq!(second.lock()[0], first5, "batch 5 again, the same range");
    let expected: BTreeMap<i64, Vec<u64>> = (1..=8)
        .map(|k| (k * 1000, ((k as u64 - 1) * PER..k as u64 * PER).collect()))
        .collect();
    assert_eq!(by_time, expected);
}

#[test]
fn a_queue_stream_batch_of_the_run_before_gets_nothing_on_recovery() {
    let dirs = tempfile::tempdir().unwrap();
    let ck = dirs.path().join("ck");
    let build = |clock_ms: i64, out: Out<u64>| {
        let queue = RddQueue::new();
        let q2 = queue.clone();
        let ssc = StreamingContext::get_or_create(&ck, || {
            let ssc = StreamingContext::with_clock(
                Context::new(conf(&[]))?,
                Duration::from_secs(1),
                Clock::manual_at(clock_ms),
            )?;
            let o = out.clone();
            ssc.queue_stream(&q2).foreach_rdd(move |rdd, t| {
                o.lock().push((t.millis(), rdd.collect()?));
                Ok(())
            });
            ssc.checkpoint(&ck)?;
            Ok(ssc)
        })
        .unwrap();
        (ssc, queue)
    };
    let out: Out<u64> = Default::default();
    let (ssc, queue) = build(0, out.clone());
    ssc.start().unwrap();
    queue.push(ssc.ctx().parallelize_with(vec![1, 2], 1));
    ssc.advance_batches(1).unwrap();
    ssc.stop(true, false);
    // Batch 1 re-run (its completion dropped) while the new run has queued RDDs already.
    drop_newest_checkpoint(&ck);
    let out: Out<u64> = Default::default();
    let (ssc, queue) = build(1000, out.clone());
    queue.push(ssc.ctx().parallelize_with(vec![3], 1));
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    ssc.stop(true, false);
    assert_eq!(*out.lock(), vec![(1000, vec![]), (2000, vec![3])]);
}
