//! Review probes: lifecycle, windows and state on the manual clock. Tests marked
//! `#[ignore = "BUG: ..."]` reproduce a bug and fail today.

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_streaming::dstream::{State as KeyState, StateSpec};
use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{collect, manual_ssc as ssc, sorted, within, Out, Ticks};

mod support;

fn manual(ctx: Context) -> StreamingContext {
    StreamingContext::with_clock(ctx, Duration::from_secs(1), Clock::manual()).unwrap()
}

fn conf() -> SpateConf {
    SpateConf::new()
        .master("local[2]")
        .unwrap()
        .app_name("review")
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Scheduler lifecycle
// ---------------------------------------------------------------------------------------

#[test]
fn stop_without_graceful_from_inside_foreach_rdd_returns() {
    let r = within(Duration::from_secs(20), || {
        let ssc = ssc();
        let s = ssc.replay_stream(vec![Some(vec![1, 2, 3]), Some(vec![4])], 2);
        let me = ssc.clone();
        let seen = Arc::new(AtomicUsize::new(0));
        let c = seen.clone();
        s.foreach_rdd(move |rdd, _| {
            rdd.count()?;
            c.fetch_add(1, Ordering::SeqCst);
            me.stop(false, false);
            Ok(())
        });
        ssc.start().unwrap();
        ssc.advance_batches(1).unwrap();
        // After the stop, advancing is refused or does nothing.
        let _ = ssc.advance_batches(3);
        assert_eq!(ssc.state(), spate_streaming::State::Stopped);
        ssc.await_termination().unwrap();
        seen.load(Ordering::SeqCst)
    });
    assert_eq!(
        r,
        Some(1),
        "stop(false) inside foreach_rdd hung or ran more batches"
    );
}

#[test]
fn graceful_stop_from_inside_foreach_rdd_with_a_receiver_returns() {
    let r = within(Duration::from_secs(20), || {
        let ctx =
            Context::new(conf().set("spate.streaming.blockInterval", "10ms").unwrap()).unwrap();
        let ssc = manual(ctx);
        let s = ssc.receiver_stream(Ticks(None));
        let me = ssc.clone();
        let stopped = Arc::new(AtomicBool::new(false));
        let st = stopped.clone();
        s.foreach_rdd(move |rdd, _| {
            rdd.count()?;
            if !st.swap(true, Ordering::SeqCst) {
                // The receiver is still storing: there is pending data to drain.
                me.stop(false, true);
            }
            Ok(())
        });
        ssc.start().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        ssc.advance_batches(1).unwrap();
        ssc.state()
    });
    assert!(
        r.is_some(),
        "stop(_, graceful) called from a foreach_rdd never returned: drain_inputs runs the \
         next batch and waits for it on the only job thread, which is the caller"
    );
}

#[test]
fn non_graceful_stop_returns_while_a_job_never_ends() {
    let ssc = StreamingContext::new(conf(), Duration::from_millis(100)).unwrap();
    let s = ssc.replay_stream(vec![Some(vec![1])], 1);
    let release = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let (rel, sta) = (release.clone(), started.clone());
    s.foreach_rdd(move |_, _| {
        sta.store(true, Ordering::SeqCst);
        while !rel.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    });
    ssc.start().unwrap();
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s2 = ssc.clone();
    let returned = within(Duration::from_secs(10), move || s2.stop(false, false)).is_some();
    release.store(true, Ordering::SeqCst);
    assert!(
        returned,
        "stop(stop_context=false, graceful=false) blocked for 10 s joining a worker whose \
         job never ends"
    );
}

#[test]
fn start_twice_and_stop_before_start() {
    let ssc = ssc();
    let s = ssc.replay_stream(vec![Some(vec![1])], 1);
    let out = collect(&s);
    ssc.start().unwrap();
    assert!(ssc.start().is_err());
    ssc.advance_batches(1).unwrap();
    ssc.stop(false, false);
    assert!(ssc.start().is_err());
    assert_eq!(out.lock().len(), 1);

    let ssc = ssc_fresh();
    let s = ssc.replay_stream(vec![Some(vec![1])], 1);
    let _ = collect(&s);
    ssc.stop(false, true);
    assert!(ssc.start().is_err());
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
}

fn ssc_fresh() -> StreamingContext {
    ssc()
}

#[test]
fn start_failing_for_want_of_a_checkpoint_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    let s = ssc.replay_stream(
        vec![
            Some(vec![("a".to_string(), 1i64)]),
            Some(vec![("a".to_string(), 2)]),
        ],
        1,
    );
    let st = s.update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
        Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
    });
    let out = collect(&st);
    assert!(ssc.start().is_err());
    ssc.checkpoint(dir.path()).unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    let o = out.lock().clone();
    assert_eq!(
        o,
        vec![(1000, vec![("a".into(), 1)]), (2000, vec![("a".into(), 3)])]
    );
    ssc.stop(false, false);
}

struct PanickyListener(Arc<AtomicUsize>);
impl StreamingListener for PanickyListener {
    fn on_batch_started(&self, _b: &BatchInfo) {
        panic!("listener boom");
    }
    fn on_batch_completed(&self, _b: &BatchInfo) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("listener boom");
    }
}

#[test]
fn panicking_output_and_listener_then_more_batches() {
    let ssc = ssc();
    let n = Arc::new(AtomicUsize::new(0));
    ssc.add_streaming_listener(Arc::new(PanickyListener(n.clone())));
    let s = ssc.replay_stream(
        vec![Some(vec![1]), Some(vec![2]), Some(vec![3]), Some(vec![4])],
        1,
    );
    s.foreach_rdd(|rdd, t| {
        if t.millis() == 2000 {
            panic!("output boom");
        }
        rdd.count()?;
        Ok(())
    });
    let out = collect(&s);
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err().to_string();
    assert!(e.contains("output boom"), "{e}");
    ssc.advance_batches(2).unwrap();
    // The error stays for await_termination; then the stream keeps going.
    let e = ssc.await_termination().unwrap_err().to_string();
    assert!(e.contains("2000"), "{e}");
    assert_eq!(out.lock().len(), 4);
    assert_eq!(n.load(Ordering::SeqCst), 4);
    assert!(!ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
    ssc.stop(false, false);
    ssc.await_termination().unwrap();
}

#[test]
fn concurrent_jobs_with_failures() {
    let ctx = Context::new(conf().set("spate.streaming.concurrentJobs", "3").unwrap()).unwrap();
    let ssc = manual(ctx);
    let s = ssc.replay_stream((1..=6).map(|i| Some(vec![i])).collect(), 1);
    let ok = Arc::new(AtomicUsize::new(0));
    for j in 0..3 {
        let ok = ok.clone();
        s.foreach_rdd(move |rdd, t| {
            if (t.millis() / 1000) % 3 == j {
                return Err(format!("fail {j} at {}", t.millis()).into());
            }
            rdd.collect()?;
            ok.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    ssc.start().unwrap();
    for _ in 0..6 {
        assert!(ssc.advance_batches(1).is_err());
    }
    assert_eq!(ok.load(Ordering::SeqCst), 12);
    assert_eq!(ssc.completed_batches().len(), 6);
    ssc.stop(false, true);
}

// ---------------------------------------------------------------------------------------
// 2. Windows and state on the manual clock
// ---------------------------------------------------------------------------------------

fn numbers(n: i64) -> Vec<Option<Vec<i64>>> {
    (1..=n).map(|i| Some(vec![i])).collect()
}

#[test]
fn window_of_a_window() {
    let ssc = ssc();
    let s = ssc.replay_stream(numbers(6), 2);
    let w1 = s
        .window(Duration::from_secs(2), Duration::from_secs(1))
        .unwrap();
    let w2 = w1
        .window(Duration::from_secs(3), Duration::from_secs(2))
        .unwrap();
    let out = collect(&w2);
    ssc.start().unwrap();
    ssc.advance_batches(8).unwrap();
    let o: Vec<(i64, Vec<i64>)> = out.lock().iter().map(|(t, v)| (*t, sorted(v))).collect();
    assert_eq!(
        o,
        vec![
            (2000, vec![1, 1, 2]),
            (4000, vec![1, 2, 2, 3, 3, 4]),
            (6000, vec![3, 4, 4, 5, 5, 6]),
            (8000, vec![5, 6, 6]),
        ]
    );
    ssc.stop(false, false);
}

#[test]
fn window_over_a_parent_with_a_larger_slide() {
    let ssc = ssc();
    let s = ssc.replay_stream(numbers(8), 1);
    let w1 = s
        .window(Duration::from_secs(2), Duration::from_secs(2))
        .unwrap();
    let w2 = w1
        .window(Duration::from_secs(4), Duration::from_secs(4))
        .unwrap();
    let c = w1.count_by_window(Duration::from_secs(6), Duration::from_secs(2));
    assert!(c.is_ok());
    let out = collect(&w2);
    ssc.start().unwrap();
    ssc.advance_batches(10).unwrap();
    let o: Vec<(i64, Vec<i64>)> = out.lock().iter().map(|(t, v)| (*t, sorted(v))).collect();
    assert_eq!(o, vec![(4000, vec![1, 2, 3, 4]), (8000, vec![5, 6, 7, 8]),]);
    ssc.stop(false, false);
}

#[test]
fn reduce_by_key_and_window_inv_over_a_windowed_parent_matches_without_inverse() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let data: Vec<Option<Vec<(String, i64)>>> = (1..=30)
        .map(|i| {
            if i % 7 == 0 {
                None
            } else {
                Some(
                    (0..(i % 4))
                        .map(|j| (format!("k{}", (i + j) % 3), i))
                        .collect(),
                )
            }
        })
        .collect();
    let s = ssc.replay_stream(data, 2);
    let w1 = s
        .window(Duration::from_secs(2), Duration::from_secs(2))
        .unwrap();
    let inv = w1
        .reduce_by_key_and_window_inv(
            |a, b| a + b,
            |a, b| a - b,
            Duration::from_secs(6),
            Duration::from_secs(4),
            2usize,
            Some(|kv: &(String, i64)| kv.1 != 0),
        )
        .unwrap();
    let plain = w1
        .reduce_by_key_and_window(
            |a, b| a + b,
            Duration::from_secs(6),
            Duration::from_secs(4),
            2usize,
        )
        .unwrap();
    let a = collect(&inv);
    let b = collect(&plain);
    ssc.start().unwrap();
    ssc.advance_batches(40).unwrap();
    let norm = |o: &Out<(String, i64)>| -> Vec<(i64, Vec<(String, i64)>)> {
        o.lock().iter().map(|(t, v)| (*t, sorted(v))).collect()
    };
    assert_eq!(norm(&a), norm(&b));
    assert_eq!(a.lock().len(), 10);
    ssc.stop(false, false);
}

#[test]
fn update_state_by_key_with_initial_state_when_the_first_batch_has_no_rdd() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let initial = ssc.ctx().parallelize(vec![("a".to_string(), 10i64)], 1);
    let s = ssc.replay_stream(vec![None, Some(vec![("b".to_string(), 1i64)]), None], 2);
    let st = s.update_state_by_key_with_initial(
        |vs: Vec<i64>, s: Option<i64>| Some(s.unwrap_or(0) + vs.iter().sum::<i64>()),
        2usize,
        initial,
    );
    let out = collect(&st);
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    let o: Vec<(i64, Vec<(String, i64)>)> =
        out.lock().iter().map(|(t, v)| (*t, sorted(v))).collect();
    // Spark: no RDD at 1000 (no parent RDD, no previous state); at 2000 the initial state
    // joins the batch.
    assert_eq!(
        o,
        vec![
            (2000, vec![("a".into(), 10), ("b".into(), 1)]),
            (3000, vec![("a".into(), 10), ("b".into(), 1)]),
        ]
    );
    ssc.stop(false, false);
}

#[test]
fn map_with_state_remove_and_re_add() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let k = |v: &[(&str, i64)]| {
        Some(
            v.iter()
                .map(|(a, b)| (a.to_string(), *b))
                .collect::<Vec<_>>(),
        )
    };
    // A value of 0 removes the key; anything else adds to it.
    let s = ssc.replay_stream(
        vec![
            k(&[("a", 1), ("b", 2)]),
            k(&[("a", 0), ("a", 5)]),
            k(&[("b", 0)]),
            k(&[("b", 7), ("b", 0), ("b", 1)]),
        ],
        2,
    );
    let m = s.map_with_state(StateSpec::function(
        |_t, k: &String, v: Option<i64>, st: &mut KeyState<i64>| {
            let v = v?;
            if v == 0 {
                st.remove();
                Some((k.clone(), -1))
            } else {
                let n = st.get_or(0) + v;
                st.update(n);
                Some((k.clone(), n))
            }
        },
    ));
    let snaps = collect(&m.state_snapshots());
    let mapped = collect(m.stream());
    ssc.start().unwrap();
    ssc.advance_batches(5).unwrap();
    let sn: Vec<Vec<(String, i64)>> = snaps.lock().iter().map(|(_, v)| sorted(v)).collect();
    assert_eq!(
        sn,
        vec![
            vec![("a".into(), 1), ("b".into(), 2)],
            vec![("a".into(), 5), ("b".into(), 2)],
            vec![("a".into(), 5)],
            vec![("a".into(), 5), ("b".into(), 1)],
            vec![("a".into(), 5), ("b".into(), 1)],
        ]
    );
    let mp: Vec<Vec<(String, i64)>> = mapped.lock().iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(
        mp[3],
        vec![("b".into(), 7), ("b".into(), -1), ("b".into(), 1)]
    );
    ssc.stop(false, false);
}

#[test]
fn map_with_state_timeout_of_initial_state() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let initial = ssc.ctx().parallelize(
        vec![("init".to_string(), 100i64), ("busy".to_string(), 0)],
        2,
    );
    // "busy" gets a record every batch; "init" never does.
    let s = ssc.replay_stream(
        (1..=25)
            .map(|_| Some(vec![("busy".to_string(), 1i64)]))
            .collect(),
        2,
    );
    let m = s.map_with_state(
        StateSpec::function(|t, k: &String, v: Option<i64>, st: &mut KeyState<i64>| {
            if st.is_timing_out() {
                return Some((t.millis(), k.clone(), *st.get().unwrap()));
            }
            let n = st.get_or(0) + v.unwrap_or(0);
            st.update(n);
            None
        })
        .initial_state(initial)
        .timeout(Duration::from_secs(3)),
    );
    let out = collect(m.stream());
    let snaps = collect(&m.state_snapshots());
    ssc.start().unwrap();
    ssc.advance_batches(25).unwrap();
    let timed_out: Vec<(i64, String, i64)> =
        out.lock().iter().flat_map(|(_, v)| v.clone()).collect();
    // Checkpoints (and so timeouts) every 10 batches: at 10 s "init" (last touched at 1 s)
    // times out.
    assert_eq!(timed_out, vec![(10_000, "init".to_string(), 100)]);
    let last = snaps.lock().last().unwrap().1.clone();
    assert_eq!(last, vec![("busy".to_string(), 25)]);
    ssc.stop(false, false);
}

#[test]
fn slice_over_remembered_window_after_a_large_window() {
    // A window longer than the remember duration: its parent must keep enough batches.
    let ssc = ssc();
    let s = ssc.replay_stream(numbers(40), 3);
    let w = s
        .window(Duration::from_secs(30), Duration::from_secs(10))
        .unwrap();
    let out = collect(&w.count());
    ssc.start().unwrap();
    ssc.advance_batches(40).unwrap();
    let counts: Vec<(i64, Vec<i64>)> = out.lock().clone();
    assert_eq!(
        counts,
        vec![
            (10_000, vec![10]),
            (20_000, vec![20]),
            (30_000, vec![30]),
            (40_000, vec![30]),
        ]
    );
    // The input keeps just enough batches (window + its own remember).
    let kept = s.base().generated_times();
    assert!(kept.len() <= 45, "{kept:?}");
    ssc.stop(false, false);
}

// ---------------------------------------------------------------------------------------
// Resources in a long-running stream
// ---------------------------------------------------------------------------------------

/// Input blocks still in the block store.
fn input_blocks(ssc: &StreamingContext) -> usize {
    ssc.ctx()
        .block_store()
        .block_ids()
        .into_iter()
        .filter(|b| format!("{b:?}").contains("Input"))
        .count()
}

/// A receiver whose handle the test drives: it stores what the test tells it to.
struct Driven(Arc<Mutex<Option<ReceiverHandle<u64>>>>);
impl Receiver<u64> for Driven {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        *self.0.lock() = Some(h);
    }
    fn on_stop(&mut self) {
        self.0.lock().take();
    }
}

fn run_window_over_receiver(window_s: u64, slide_s: u64, batches: usize) -> usize {
    let ctx = Context::new(conf().set("spate.streaming.blockInterval", "5ms").unwrap()).unwrap();
    let ssc = manual(ctx);
    let handle = Arc::new(Mutex::new(None));
    let w = ssc
        .receiver_stream(Driven(handle.clone()))
        .window(Duration::from_secs(window_s), Duration::from_secs(slide_s))
        .unwrap();
    w.foreach_rdd(|rdd, _| {
        rdd.count()?;
        Ok(())
    });
    ssc.start().unwrap();
    while handle.lock().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..batches {
        // One record, hence one block, per batch.
        handle.lock().as_ref().unwrap().store(i as u64).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while input_blocks(&ssc) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(30));
        ssc.advance_batches(1).unwrap();
    }
    let live = input_blocks(&ssc);
    ssc.stop(false, false);
    live
}

#[test]
fn receiver_blocks_are_freed_once_their_batch_is_forgotten() {
    // Control: a window that reads every batch keeps only the remembered batches' blocks.
    let live = run_window_over_receiver(2, 2, 40);
    assert!(live <= 6, "{live} input blocks alive");
}

#[test]
fn receiver_blocks_of_batches_no_output_reads_are_freed() {
    // A window of one batch every two batches: the odd batches are read by nothing, and
    // their blocks stay in the block store for the life of the stream.
    let live = run_window_over_receiver(1, 2, 40);
    assert!(
        live <= 6,
        "{live} input blocks alive after 40 batches (one block each)"
    );
}

#[test]
fn graceful_stop_on_a_manual_clock_gives_every_received_record_to_a_batch() {
    let ctx = Context::new(conf().set("spate.streaming.blockInterval", "10ms").unwrap()).unwrap();
    let ssc = manual(ctx);
    let handle = Arc::new(Mutex::new(None));
    let s = ssc.receiver_stream(Driven(handle.clone()));
    let total = Arc::new(AtomicUsize::new(0));
    let t = total.clone();
    s.foreach_rdd(move |rdd, _| {
        t.fetch_add(rdd.count()? as usize, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    while handle.lock().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..100u64 {
        handle.lock().as_ref().unwrap().store(i).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    ssc.advance_batches(1).unwrap();
    for i in 0..50u64 {
        handle.lock().as_ref().unwrap().store(i).unwrap();
    }
    let s2 = ssc.clone();
    assert!(within(Duration::from_secs(20), move || s2.stop(false, true)).is_some());
    assert_eq!(total.load(Ordering::SeqCst), 150);
}

#[test]
fn old_state_checkpoints_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let s = ssc.replay_stream(
        (1..=200)
            .map(|i| Some(vec![(format!("k{}", i % 5), 1i64)]))
            .collect(),
        2,
    );
    let st = s
        .update_state_by_key(|vs: Vec<i64>, s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64));
    let out = collect(&st);
    ssc.start().unwrap();
    ssc.advance_batches(200).unwrap();
    ssc.stop(false, false);
    assert_eq!(out.lock().last().unwrap().1.len(), 5);
    // The store is a subdirectory `<app>-<suffix>` of the checkpoint directory.
    let mut rdd_dirs = 0;
    for sub in std::fs::read_dir(dir.path()).unwrap() {
        let sub = sub.unwrap().path();
        if sub.is_dir() {
            rdd_dirs += std::fs::read_dir(&sub)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("rdd-")
                })
                .count();
        }
    }
    // Spark deletes a DStream's checkpoint files once a newer checkpoint of it exists
    // (DStreamCheckpointData.cleanup); only the recent ones are needed for recovery.
    assert!(
        rdd_dirs <= 3,
        "{rdd_dirs} checkpointed RDDs kept after 20 checkpoints"
    );
}

#[test]
fn concurrent_starts_start_once() {
    let mut both = 0;
    let mut after_stop = 0;
    for _ in 0..20 {
        let ssc = StreamingContext::new(conf(), Duration::from_millis(20)).unwrap();
        let s = ssc.replay_stream::<i64>(vec![], 1);
        let n = Arc::new(AtomicUsize::new(0));
        let c = n.clone();
        s.foreach_rdd(move |_, _| {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (ssc, b) = (ssc.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    ssc.start().is_ok()
                })
            })
            .collect();
        let oks = hs
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        if oks == 2 {
            both += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
        ssc.stop(false, false);
        let at_stop = n.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        if n.load(Ordering::SeqCst) > at_stop + 1 {
            after_stop += 1;
        }
    }
    assert_eq!(
        (both, after_stop),
        (0, 0),
        "(contexts started twice, still running after stop)"
    );
}
