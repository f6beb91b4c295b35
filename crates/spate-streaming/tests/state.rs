//! Stateful streams: update_state_by_key and map_with_state, with checkpoints, timeouts,
//! initial state (also when the first batch has no RDD, and timing out) and keys removed
//! and added again.

use parking_lot::Mutex;
use spate_core::Context;
use spate_streaming::dstream::{State, State as KeyState, StateSpec};
use spate_streaming::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::{collect, manual_ssc as ssc, sorted};

mod support;

fn ssc_with_checkpoint(dir: &std::path::Path) -> StreamingContext {
    let ssc = StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.checkpoint(dir).unwrap();
    ssc
}

fn words(v: &[&str]) -> Option<Vec<(String, i64)>> {
    Some(v.iter().map(|w| (w.to_string(), 1)).collect())
}

fn as_map<V: Clone>(b: &[(String, V)]) -> BTreeMap<String, V> {
    b.iter().cloned().collect()
}

#[test]
fn update_state_by_key_runs_for_every_key_even_without_an_rdd() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc_with_checkpoint(dir.path());
    let s = ssc.replay_stream(
        vec![
            words(&["a", "b", "a"]),
            None,
            words(&["a"]),
            words(&[]),
            words(&["c"]),
        ],
        2,
    );
    // State: (sum of values, number of calls); keys reaching a sum of 4 are removed.
    let state = s.update_state_by_key(|vs: Vec<i64>, st: Option<(i64, i64)>| {
        let (sum, calls) = st.unwrap_or((0, 0));
        let sum = sum + vs.iter().sum::<i64>();
        (sum < 4).then_some((sum, calls + 1))
    });
    let out = collect(&state);
    ssc.start().unwrap();
    ssc.advance_batches(5).unwrap();
    let got: Vec<BTreeMap<String, (i64, i64)>> = out.lock().iter().map(|b| as_map(&b.1)).collect();
    let m = |v: &[(&str, (i64, i64))]| {
        v.iter()
            .map(|(k, s)| (k.to_string(), *s))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(got[0], m(&[("a", (2, 1)), ("b", (1, 1))]));
    assert_eq!(
        got[1],
        m(&[("a", (2, 2)), ("b", (1, 2))]),
        "no RDD: the function still ran"
    );
    assert_eq!(got[2], m(&[("a", (3, 3)), ("b", (1, 3))]));
    assert_eq!(got[3], m(&[("a", (3, 4)), ("b", (1, 4))]));
    assert_eq!(got[4], m(&[("a", (3, 5)), ("b", (1, 5)), ("c", (1, 1))]));
    ssc.stop(true, false);
}

#[test]
fn update_state_by_key_with_initial_state_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc_with_checkpoint(dir.path());
    let initial = ssc
        .ctx()
        .parallelize_with(vec![("a".to_string(), 10i64), ("z".to_string(), 1)], 2);
    let s = ssc.replay_stream(vec![words(&["a", "b"]), words(&["z"])], 2);
    let state = s.update_state_by_key_with_initial(
        |vs: Vec<i64>, st: Option<i64>| {
            let n = st.unwrap_or(0) + vs.iter().sum::<i64>();
            (n != 2).then_some(n)
        },
        3usize,
        initial,
    );
    let out = collect(&state);
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    let got: Vec<BTreeMap<String, i64>> = out.lock().iter().map(|b| as_map(&b.1)).collect();
    assert_eq!(
        got[0],
        [("a", 11), ("b", 1), ("z", 1)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    );
    assert_eq!(
        got[1],
        [("a", 11), ("b", 1)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        "z reached 2 and was removed"
    );
    ssc.stop(true, false);
}

#[test]
fn stateful_streams_need_a_checkpoint_directory() {
    let ssc = StreamingContext::with_clock(
        Context::local(1).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    let s = ssc.replay_stream(vec![words(&["a"])], 1);
    collect(&s.update_state_by_key(|vs: Vec<i64>, st: Option<i64>| {
        Some(st.unwrap_or(0) + vs.len() as i64)
    }));
    let e = ssc.start().unwrap_err().to_string();
    assert!(e.contains("checkpoint"), "{e}");
}

#[test]
fn state_is_checkpointed_and_its_lineage_stays_short() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc_with_checkpoint(dir.path());
    let batches: Vec<_> = (0..25).map(|i| words(&[["x", "y", "z"][i % 3]])).collect();
    let s = ssc.replay_stream(batches, 2);
    let state = s.update_state_by_key(|vs: Vec<i64>, st: Option<i64>| {
        Some(st.unwrap_or(0) + vs.iter().sum::<i64>())
    });
    let lineage = Arc::new(Mutex::new(Vec::new()));
    let l = lineage.clone();
    state.foreach_rdd(move |rdd, _| {
        rdd.count()?;
        l.lock().push(rdd.to_debug_string().lines().count());
        Ok(())
    });
    ssc.start().unwrap();
    ssc.advance_batches(25).unwrap();
    let l = lineage.lock().clone();
    // Checkpointed every 10 batches (10 s): the lineage is cut to one node then, and never
    // grows past about 10 batches' worth.
    assert_eq!((l[9], l[19]), (1, 1), "lineage sizes {l:?}");
    assert!(l.iter().all(|n| *n <= l[8] + 6), "lineage sizes {l:?}");
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(files > 0, "checkpoint files written");
    ssc.stop(true, false);
}

#[test]
fn map_with_state_calls_once_per_record_and_reports_timeouts_on_checkpoint_batches() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc_with_checkpoint(dir.path());
    let mut batches = vec![words(&["a", "b", "a"]), words(&["b"])];
    batches.extend((0..10).map(|_| words(&["b"])));
    let s = ssc.replay_stream(batches, 2);
    let spec = StateSpec::function_with_time(
        |_t: Time, k: &String, v: Option<i64>, st: &mut State<i64>| {
            if st.is_timing_out() {
                return Some(format!("{k}:timeout:{}", st.get().copied().unwrap_or(-1)));
            }
            let n = st.get_or(0) + v.unwrap_or(0);
            st.update(n);
            Some(format!("{k}:{n}"))
        },
    )
    .timeout(Duration::from_secs(3));
    let mws = s.map_with_state(spec);
    let mapped = collect(mws.stream());
    let snaps = collect(&mws.state_snapshots());
    ssc.start().unwrap();
    ssc.advance_batches(12).unwrap();
    let m = mapped.lock().clone();
    let mut b1 = m[0].1.clone();
    b1.sort();
    assert_eq!(
        b1,
        vec!["a:1", "a:2", "b:1"],
        "once per record, in order per key"
    );
    assert_eq!(m[1].1, vec!["b:2"]);
    // Batch 10 (10,000 ms) is a checkpoint batch: `a`, idle since 1,000 ms (> 3 s), times out.
    assert!(m[9].1.contains(&"a:timeout:2".to_string()), "{:?}", m[9]);
    assert!(
        m.iter()
            .filter(|b| b.1.iter().any(|x| x.contains("timeout")))
            .count()
            == 1
    );
    let s9: BTreeMap<String, i64> = as_map(&snaps.lock()[8].1);
    assert_eq!(s9.get("a"), Some(&2));
    let s10: BTreeMap<String, i64> = as_map(&snaps.lock()[9].1);
    assert_eq!(s10.get("a"), None, "timed-out key removed");
    assert_eq!(s10.get("b"), Some(&10));
    ssc.stop(true, false);
}

#[test]
fn update_state_by_key_with_initial_state_when_the_first_batch_has_no_rdd() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let initial = ssc
        .ctx()
        .parallelize_with(vec![("a".to_string(), 10i64)], 1);
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
    let m = s.map_with_state(StateSpec::function_with_time(
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
    let initial = ssc.ctx().parallelize_with(
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
        StateSpec::function_with_time(|t, k: &String, v: Option<i64>, st: &mut KeyState<i64>| {
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
