//! Accumulators and broadcast variables.

use serde::{Deserialize, Serialize};
use spate_core::{AccumulatorV2, Context};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

#[test]
fn builtin_accumulators_merge_task_updates() {
    let ctx = Context::local(3).unwrap();
    let long = ctx.long_accumulator("sum");
    let double = ctx.double_accumulator("halves");
    let coll = ctx.collection_accumulator::<u32>("odd");
    let (l, d, c) = (long.clone(), double.clone(), coll.clone());
    ctx.parallelize((1..=100u32).collect::<Vec<_>>(), 7)
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
    ctx.parallelize(words.iter().map(|s| s.to_string()).collect(), 3)
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
        .parallelize(
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
    ctx.parallelize(vec![1, 2], 2)
        .foreach(move |_| assert!(b.value().contains_key("lyon")))
        .unwrap();
    assert_eq!(fetches(), 2, "fetched again after unpersist");
    // The driver keeps the value across unpersist.
    assert_eq!(bc.value().len(), 2);
    bc.destroy();
    assert!(bc.try_value().is_err());
    let b = bc.clone();
    let err = ctx
        .parallelize(vec![1], 1)
        .map(move |_| b.value().len())
        .collect()
        .unwrap_err();
    assert!(err.to_string().contains("destroyed"), "{err}");
}
