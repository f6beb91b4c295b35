//! Accumulators and broadcast variables: task updates merged once, custom accumulators,
//! jobs run from several driver threads at once each adding to its own accumulator;
//! broadcasts fetched once per executor, unpersisted and destroyed, and a broadcast
//! destroyed while tasks read it left neither in the block store nor readable.

use serde::{Deserialize, Serialize};
use spate_core::storage::BlockId;
use spate_core::{AccumulatorV2, Context};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn builtin_accumulators_merge_task_updates() {
    let ctx = Context::local(3).unwrap();
    let long = ctx.long_accumulator("sum");
    let double = ctx.double_accumulator("halves");
    let coll = ctx.collection_accumulator::<u32>("odd");
    let (l, d, c) = (long.clone(), double.clone(), coll.clone());
    ctx.parallelize_with((1..=100u32).collect::<Vec<_>>(), 7)
        .foreach(move |x| {
            l.add(x as i64);
            d.add(x as f64 / 2.0);
            if x % 2 == 1 {
                c.add(x);
            }
        })
        .unwrap();
    assert_eq!(long.value(), 5050);
    assert_eq!(long.count(), 100);
    assert!((long.avg() - 50.5).abs() < 1e-9);
    assert!((double.value() - 2525.0).abs() < 1e-9);
    let mut odd = coll.value();
    odd.sort();
    assert_eq!(odd, (1..=100).filter(|x| x % 2 == 1).collect::<Vec<_>>());
    assert_eq!(long.name(), Some("sum"));
    // On the driver, add goes straight to the value.
    long.add(1);
    assert_eq!(long.value(), 5051);
}

/// A custom accumulator: the longest word seen.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Longest(String);

impl AccumulatorV2 for Longest {
    type In = String;
    type Out = String;
    fn add(&mut self, v: String) {
        if v.len() > self.0.len() || (v.len() == self.0.len() && v > self.0) {
            self.0 = v;
        }
    }
    fn merge(&mut self, o: Self) {
        self.add(o.0);
    }
    fn value(&self) -> String {
        self.0.clone()
    }
}

#[test]
fn custom_accumulator() {
    let ctx = Context::local(2).unwrap();
    let acc = ctx.register_accumulator(Longest::default(), Some("longest"));
    let a = acc.clone();
    let words = ["a", "spate", "streams", "rdd", "zz", "lineage"];
    ctx.parallelize_with(words.iter().map(|s| s.to_string()).collect(), 3)
        .foreach(move |w| a.add(w))
        .unwrap();
    assert_eq!(acc.value(), "streams");
}

#[test]
fn broadcast_is_fetched_once_per_executor_and_can_be_unpersisted_and_destroyed() {
    let ctx = Context::local(2).unwrap();
    let table: HashMap<String, u32> = [("paris", 75001), ("lyon", 69001)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let bc = ctx.broadcast(table).unwrap();
    let fetches = || {
        ctx.block_store()
            .metrics()
            .broadcast_fetches
            .load(Ordering::Relaxed)
    };
    let b = bc.clone();
    let zips = ctx
        .parallelize_with(
            ["paris", "lyon", "nice", "paris"]
                .repeat(10)
                .into_iter()
                .map(String::from)
                .collect(),
            8,
        )
        .map(move |c| b.value().get(&c).copied())
        .collect()
        .unwrap();
    assert_eq!(zips.iter().filter(|z| **z == Some(75001)).count(), 20);
    assert_eq!(zips.iter().filter(|z| z.is_none()).count(), 10);
    assert_eq!(fetches(), 1, "8 tasks, one executor, one fetch");
    bc.unpersist();
    let b = bc.clone();
    ctx.parallelize_with(vec![1, 2], 2)
        .foreach(move |_| assert!(b.value().contains_key("lyon")))
        .unwrap();
    assert_eq!(fetches(), 2, "fetched again after unpersist");
    // The driver keeps the value across unpersist.
    assert_eq!(bc.value().len(), 2);
    bc.destroy();
    assert!(bc.try_value().is_err());
    let b = bc.clone();
    let err = ctx
        .parallelize_with(vec![1], 1)
        .map(move |_| b.value().len())
        .collect()
        .unwrap_err();
    assert!(err.to_string().contains("destroyed"), "{err}");
}

#[test]
fn destroy_while_tasks_read_a_broadcast_leaves_nothing_behind() {
    let ctx = Context::local(2).unwrap();
    let mut leaked = 0;
    let mut served_after_destroy = 0;
    for _ in 0..5 {
        // A large value: decoding it on the executor takes a while.
        let b = ctx.broadcast(vec![7u64; 4_000_000]).unwrap();
        let id = b.id();
        let b2 = b.clone();
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let rdd = ctx.parallelize_with(vec![0u64, 1], 2).map(move |x| {
            s.fetch_add(1, Ordering::SeqCst);
            x + b2.try_value().map(|v| v[0]).unwrap_or(0)
        });
        let h = std::thread::spawn(move || rdd.collect());
        while started.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(2));
        b.destroy();
        let _ = h.join().unwrap();
        assert!(b.is_destroyed());
        if ctx.block_store().contains(BlockId::Broadcast { id }) {
            leaked += 1;
        }
        // A task after the destroy must fail to read it.
        let b3 = b.clone();
        if ctx
            .parallelize_with(vec![0u8], 1)
            .map(move |_| b3.try_value().is_ok())
            .collect()
            .unwrap()
            == vec![true]
        {
            served_after_destroy += 1;
        }
    }
    assert_eq!(
        (leaked, served_after_destroy),
        (0, 0),
        "destroyed broadcasts still cached in the block store / readable by tasks"
    );
}

#[test]
fn accumulators_in_a_job_run_from_a_streaming_like_driver_thread() {
    // Jobs run from several driver threads at once, each adding to its own accumulator.
    let ctx = Context::local(3).unwrap();
    let accs: Vec<_> = (0..4)
        .map(|i| ctx.long_accumulator(&format!("a{i}")))
        .collect();
    let hs: Vec<_> = accs
        .iter()
        .cloned()
        .map(|a| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                ctx.parallelize_with((1..=1000i64).collect(), 7)
                    .foreach(move |x| a.add(x))
                    .unwrap()
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    for a in accs {
        assert_eq!(a.value(), 500_500);
    }
}
