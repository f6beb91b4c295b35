//! Property tests on random streams: windowed reduce with an inverse function (and a
//! filter dropping zero counts) equals the same without an inverse; stateless operations
//! over a stream cut into batches equal the whole input processed at once.

use parking_lot::Mutex;
use proptest::prelude::*;
use spate_core::Context;
use spate_streaming::*;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn ctx() -> Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::local(2).unwrap()).clone()
}

type Batches = Vec<Vec<(u8, i64)>>;

fn run_windows(
    batches: &Batches,
    w: u64,
    s: u64,
    extra: u64,
) -> (Vec<BTreeMap<u8, i64>>, Vec<BTreeMap<u8, i64>>) {
    let dir = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::with_clock(ctx(), Duration::from_secs(1), Clock::manual()).unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let input = ssc.replay_stream(batches.iter().cloned().map(Some).collect(), 3);
    let (wd, sd) = (Duration::from_secs(w), Duration::from_secs(s));
    let plain = input
        .reduce_by_key_and_window(|a, b| a + b)
        .window(wd)
        .slide(sd)
        .partitions(2);
    let inv = input
        .reduce_by_key_and_window(|a, b| a + b)
        .inverse(|a, b| a - b)
        .filter(|kv| kv.1 != 0)
        .window(wd)
        .slide(sd)
        .partitions(2);
    let collect = |d: &DStream<(u8, i64)>| {
        let out: Arc<Mutex<Vec<BTreeMap<u8, i64>>>> = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        d.foreach_rdd(move |rdd, _| {
            o.lock().push(rdd.collect()?.into_iter().collect());
            Ok(())
        });
        out
    };
    let (a, b) = (collect(&plain), collect(&inv));
    ssc.start().unwrap();
    ssc.advance_batches(batches.len() + extra as usize).unwrap();
    ssc.stop(false, false);
    let r = (a.lock().clone(), b.lock().clone());
    r
}

fn batches_strategy() -> impl Strategy<Value = Batches> {
    // Positive values: with them a key's window sum is 0 exactly when it has no value in
    // the window, so dropping zero counts gives the no-inverse result.
    prop::collection::vec(prop::collection::vec((0u8..6, 1i64..5), 0..8), 1..14)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    #[test]
    fn inverse_window_reduce_equals_plain(batches in batches_strategy(), w in 1u64..5, s in 1u64..4) {
        let (plain, inv) = run_windows(&batches, w, s, w + s);
        let total = batches.len() as u64 + w + s;
        prop_assert_eq!(plain.len() as u64, total / s, "one output per slide");
        prop_assert_eq!(plain.len(), inv.len());
        prop_assert_eq!(plain, inv);
    }

    #[test]
    fn stateless_ops_in_batches_equal_the_whole_input(batches in prop::collection::vec(prop::collection::vec(0u32..50, 0..10), 1..10)) {
        let ssc = StreamingContext::with_clock(ctx(), Duration::from_secs(1), Clock::manual()).unwrap();
        let input = ssc.replay_stream(batches.iter().cloned().map(Some).collect(), 2);
        let pipeline = input
            .map(|x| x * 3)
            .filter(|x| x % 2 == 0)
            .flat_map(|x| vec![x, x + 1])
            .map_partitions(|it| it.map(|x| x as u64 + 7))
            .repartition(3);
        let out: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        pipeline.foreach_rdd(move |rdd, _| {
            o.lock().extend(rdd.collect()?);
            Ok(())
        });
        let counts: Arc<Mutex<i64>> = Arc::new(Mutex::new(0));
        let c = counts.clone();
        input.count().foreach_rdd(move |rdd, _| {
            *c.lock() += rdd.collect()?.iter().sum::<i64>();
            Ok(())
        });
        ssc.start().unwrap();
        ssc.advance_batches(batches.len()).unwrap();
        ssc.stop(false, false);
        let all: Vec<u32> = batches.concat();
        let mut want: Vec<u64> = all.iter().map(|x| x * 3).filter(|x| x % 2 == 0).flat_map(|x| vec![x, x + 1]).map(|x| x as u64 + 7).collect();
        let mut got = out.lock().clone();
        want.sort();
        got.sort();
        prop_assert_eq!(got, want);
        prop_assert_eq!(*counts.lock(), all.len() as i64);
    }
}
