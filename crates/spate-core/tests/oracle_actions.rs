//! Actions.
//!
//! Oracle tests: spate against a plain in-memory Rust reference (see `oracle_common`), and
//! `take` over mostly empty partitions against hand-computed results.

mod oracle_common;

use oracle_common::*;
// ---------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------

#[test]
fn collect_count_first_take() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            assert_eq!(rdd.collect().unwrap(), data);
            assert_eq!(rdd.count().unwrap(), data.len() as u64);
            match data.first() {
                Some(x) => assert_eq!(rdd.first().unwrap(), *x),
                None => assert!(matches!(rdd.first(), Err(Error::EmptyRdd(_)))),
            }
            for n in [0usize, 1, 2, 5, data.len(), data.len() + 3] {
                let want: Vec<i64> = data.iter().copied().take(n).collect();
                assert_eq!(rdd.take(n).unwrap(), want, "take({n}) p={p}");
            }
            // take over a filter that empties the first partitions.
            let f = rdd.filter(|x: &i64| *x > 5);
            let fd: Vec<i64> = data.iter().copied().filter(|x| *x > 5).collect();
            for n in [1usize, 4, 100] {
                assert_eq!(
                    f.take(n).unwrap(),
                    fd.iter().copied().take(n).collect::<Vec<_>>()
                );
            }
        }
    }
}

#[test]
fn take_scans_many_partitions() {
    // Records only in the last of 40 partitions: take must keep scanning.
    let ctx = ctx();
    let mut data = vec![0i64; 400];
    for (i, x) in data.iter_mut().enumerate().skip(390) {
        *x = i as i64;
    }
    let rdd = ctx.parallelize_with(data, 40).filter(|x: &i64| *x != 0);
    let want: Vec<i64> = (390..400).collect();
    assert_eq!(rdd.take(20).unwrap(), want);
    assert_eq!(rdd.take(3).unwrap(), vec![390, 391, 392]);
    assert_eq!(rdd.first().unwrap(), 390);
}

#[test]
fn top_and_take_ordered() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let asc = sorted(data.clone());
            let mut desc = asc.clone();
            desc.reverse();
            for n in [0usize, 1, 3, 10, data.len() + 2] {
                assert_eq!(
                    rdd.take_ordered(n).unwrap(),
                    asc.iter().copied().take(n).collect::<Vec<_>>(),
                    "take_ordered({n}) p={p}"
                );
                assert_eq!(
                    rdd.top(n).unwrap(),
                    desc.iter().copied().take(n).collect::<Vec<_>>(),
                    "top({n}) p={p}"
                );
            }
        }
    }
}

#[test]
fn reduce_fold_aggregate() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let sum: i64 = data.iter().sum();
            match data.iter().copied().max() {
                Some(m) => {
                    assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), sum);
                    assert_eq!(rdd.reduce(|a, b| a.max(b)).unwrap(), m);
                }
                None => assert!(matches!(rdd.reduce(|a, b| a + b), Err(Error::EmptyRdd(_)))),
            }
            assert_eq!(rdd.fold(0, |a, b| a + b).unwrap(), sum);
            // Spark: the zero value is used once per partition and once more on the driver.
            assert_eq!(
                rdd.fold(1000, |a, b| a + b).unwrap(),
                sum + 1000 * (p as i64 + 1)
            );
            let (s, c) = rdd
                .aggregate(
                    (0i64, 0u64),
                    |(s, c), x| (s + x, c + 1),
                    |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2),
                )
                .unwrap();
            assert_eq!((s, c), (sum, data.len() as u64));
            let (s, c) = rdd
                .aggregate(
                    (10i64, 0u64),
                    |(s, c), x| (s + x, c + 1),
                    |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2),
                )
                .unwrap();
            assert_eq!((s, c), (sum + 10 * (p as i64 + 1), data.len() as u64));
            // A non-commutative aggregate over partitions in order: a list.
            let list = rdd
                .aggregate(
                    Vec::<i64>::new(),
                    |mut v, x| {
                        v.push(x);
                        v
                    },
                    |mut a, b| {
                        a.extend(b);
                        a
                    },
                )
                .unwrap();
            assert_eq!(list, data);
        }
    }
}

#[test]
fn foreach_and_foreach_partition() {
    // Side effects through accumulators: tasks may run in other processes (cluster mode),
    // whose updates reach the driver with their results.
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let sum = ctx.long_accumulator("sum");
            let calls = ctx.long_accumulator("calls");
            let (s, c) = (sum.clone(), calls.clone());
            rdd.foreach(move |x| {
                s.add(x);
                c.add(1);
            })
            .unwrap();
            let parts = ctx.long_accumulator("partitions");
            let records = ctx.long_accumulator("records");
            let (pp, rr) = (parts.clone(), records.clone());
            rdd.foreach_partition(move |it| {
                pp.add(1);
                rr.add(it.count() as i64);
            })
            .unwrap();
            // Accumulators are read on the driver.
            if ctx.is_driver() {
                assert_eq!(sum.value(), data.iter().sum::<i64>());
                assert_eq!(calls.value(), data.len() as i64);
                assert_eq!(parts.value(), p as i64);
                assert_eq!(records.value(), data.len() as i64);
            }
        }
    }
}

#[test]
fn count_by_value_matches_reference() {
    let ctx = ctx();
    for data in int_inputs() {
        let mut want: HashMap<i64, u64> = HashMap::new();
        for x in &data {
            *want.entry(*x).or_default() += 1;
        }
        for p in PARTS {
            assert_eq!(
                ctx.parallelize_with(data.clone(), p)
                    .count_by_value()
                    .unwrap(),
                want
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases, against hand-computed results
// ---------------------------------------------------------------------------------------

#[test]
fn take_when_early_partitions_are_empty() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx
        .parallelize_with((0..1000i64).collect(), 50)
        .filter(|x| *x >= 900);
    assert_eq!(rdd.take(3).unwrap(), vec![900, 901, 902]);
    assert_eq!(rdd.take(150).unwrap().len(), 100);
    assert_eq!(rdd.first().unwrap(), 900);
    let none = ctx
        .parallelize_with((0..10i64).collect(), 5)
        .filter(|_| false);
    assert!(none.take(2).unwrap().is_empty());
    assert!(none.first().is_err());
    assert!(ctx
        .parallelize_with::<i64>(vec![], 0)
        .take(1)
        .unwrap()
        .is_empty());
}
