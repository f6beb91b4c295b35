//! Spills, lineage reuse, chains of shuffles, custom partitioners, failures, concurrent jobs.
//!
//! Oracle tests: spate against a plain in-memory Rust reference (see `oracle_common`).

mod oracle_common;

use oracle_common::*;
// ---------------------------------------------------------------------------------------
// Larger data: the spill paths of aggregation, shuffle and sort.
// ---------------------------------------------------------------------------------------

#[test]
fn shuffles_that_spill_match_reference() {
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .unwrap()
            .set("spate.memory.executionBytes", "16k")
            .unwrap(),
    )
    .unwrap();
    let data = pairs(30_000, 3000, 99);
    let rdd = ctx.parallelize_with(data.clone(), 4);
    let g = grouped(&data);
    let want_sum: Vec<(u32, i64)> = g.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
    assert_eq!(
        sorted(rdd.reduce_by_key(|a, b| a + b).collect().unwrap()),
        want_sum
    );
    assert_eq!(
        sorted(
            rdd.group_by_key_with(3usize)
                .map_values(sorted)
                .collect()
                .unwrap()
        ),
        g.clone().into_iter().collect::<Vec<_>>()
    );
    let s = rdd.sort_by_key_with(true, 3).unwrap().collect().unwrap();
    assert!(s.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(sorted(s), sorted(data.clone()));
    let other: Vec<(u32, i64)> = (0..3000u32).step_by(3).map(|k| (k, k as i64)).collect();
    let j = rdd
        .join(&ctx.parallelize_with(other.clone(), 2))
        .collect()
        .unwrap();
    let keep: HashMap<u32, i64> = other.into_iter().collect();
    let want_j: Vec<(u32, (i64, i64))> = data
        .iter()
        .filter_map(|(k, v)| keep.get(k).map(|w| (*k, (*v, *w))))
        .collect();
    assert_eq!(sorted(j), sorted(want_j));
    assert_eq!(
        sorted(rdd.map(|x| x.0).distinct().collect().unwrap()),
        g.keys().copied().collect::<Vec<_>>()
    );
    assert!(
        ctx.block_store().metrics().spills.load(Ordering::Relaxed) > 0,
        "the budget should have forced spills"
    );
}

// ---------------------------------------------------------------------------------------
// Lineage reuse, chains of shuffles, custom partitioners, failures, concurrent jobs
// ---------------------------------------------------------------------------------------

#[test]
fn shuffled_rdds_can_be_reused_and_chained() {
    let ctx = ctx();
    let data = pairs(300, 13, 21);
    let g = grouped(&data);
    let sums: Vec<(u32, i64)> = g.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
    let rdd = ctx.parallelize_with(data.clone(), 5);
    let r = rdd.reduce_by_key(|a, b| a + b);
    // The same shuffle read by several jobs.
    for _ in 0..3 {
        assert_eq!(sorted(r.collect().unwrap()), sums);
    }
    assert_eq!(r.count().unwrap(), sums.len() as u64);
    assert_eq!(r.take(100).unwrap().len(), sums.len());
    // Self-join of a shuffled RDD and of a source.
    let sj = sorted(r.join(&r).collect().unwrap());
    let want: Vec<(u32, (i64, i64))> = sums.iter().map(|(k, s)| (*k, (*s, *s))).collect();
    assert_eq!(sj, want);
    let self_join = sorted(rdd.join(&rdd).collect().unwrap());
    let mut want = Vec::new();
    for (k, v) in &data {
        for (k2, w) in &data {
            if k == k2 {
                want.push((*k, (*v, *w)));
            }
        }
    }
    assert_eq!(self_join, sorted(want));
    // A chain: reduce, re-key, group, sort, index.
    let chained = r
        .map(|(k, s)| (k % 3, s))
        .group_by_key()
        .map_values(|vs| vs.iter().sum::<i64>())
        .sort_by_key(true)
        .unwrap()
        .zip_with_index()
        .unwrap()
        .collect()
        .unwrap();
    let mut by3: BTreeMap<u32, i64> = BTreeMap::new();
    for (k, s) in &sums {
        *by3.entry(k % 3).or_default() += s;
    }
    let want: Vec<((u32, i64), u64)> = by3.into_iter().zip(0u64..).collect();
    assert_eq!(chained, want);
    // Union of an RDD with itself, cartesian with itself.
    let small = ctx.parallelize_with(vec![1i64, 2, 2], 2);
    assert_eq!(
        small.union(&small).collect().unwrap(),
        vec![1, 2, 2, 1, 2, 2]
    );
    assert_eq!(small.cartesian(&small).count().unwrap(), 9);
}

#[test]
fn cached_rdds_match_reference() {
    // Counts computations in this process's memory.
    let ctx = local_ctx();
    for data in int_inputs() {
        for p in PARTS {
            let calls = Arc::new(AtomicU64::new(0));
            let c = calls.clone();
            let rdd = ctx
                .parallelize_with(data.clone(), p)
                .map(move |x| {
                    c.fetch_add(1, Ordering::SeqCst);
                    x * 2
                })
                .cache();
            let want: Vec<i64> = data.iter().map(|x| x * 2).collect();
            assert_eq!(rdd.collect().unwrap(), want);
            assert_eq!(rdd.collect().unwrap(), want);
            assert_eq!(rdd.glom().collect().unwrap(), slices(&want, p));
            // Computed once, then read from the block store.
            assert_eq!(calls.load(Ordering::SeqCst), data.len() as u64);
            rdd.unpersist();
            assert_eq!(rdd.collect().unwrap(), want);
            assert_eq!(calls.load(Ordering::SeqCst), 2 * data.len() as u64);
        }
    }
}

/// A user-defined partitioner: key modulo the partition count.
struct ModPartitioner(usize);

impl Partitioner<u32> for ModPartitioner {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn partition(&self, key: &u32) -> usize {
        *key as usize % self.0
    }
    fn desc(&self) -> PartitionerDesc {
        PartitionerDesc::Custom {
            name: "mod".into(),
            partitions: self.0,
        }
    }
}

#[test]
fn custom_partitioner_decides_partitions() {
    let ctx = ctx();
    for data in pair_inputs() {
        let want: Vec<(u32, i64)> = grouped(&data)
            .into_iter()
            .map(|(k, vs)| (k, vs.iter().sum()))
            .collect();
        for p in PARTS {
            let part: Arc<dyn Partitioner<u32>> = Arc::new(ModPartitioner(3));
            let rdd = ctx
                .parallelize_with(data.clone(), p)
                .partition_by(part.clone());
            assert_eq!(rdd.num_partitions(), 3);
            assert_eq!(rdd.partitioner(), Some(part.desc()));
            for (i, part) in rdd.glom().collect().unwrap().iter().enumerate() {
                assert!(part.iter().all(|(k, _)| *k as usize % 3 == i));
            }
            assert_eq!(sorted(rdd.collect().unwrap()), sorted(data.clone()));
            // Aggregating with the same partitioner needs no shuffle and keeps it.
            let r = rdd.reduce_by_key_with(|a, b| a + b, part.clone());
            assert_eq!(r.partitioner(), Some(part.desc()));
            assert_eq!(sorted(r.collect().unwrap()), want);
            for (i, part) in r.glom().collect().unwrap().iter().enumerate() {
                assert!(part.iter().all(|(k, _)| *k as usize % 3 == i));
            }
            // A later join over it (its partitioning is checked in
            // `default_partitioner_reuses_a_non_hash_partitioner`).
            let j = r.join(&ctx.parallelize_with(vec![(1u32, 'x'), (2, 'y')], 2));
            assert_eq!(j.num_partitions(), 3);
            let want_j: Vec<(u32, (i64, char))> = want
                .iter()
                .filter_map(|(k, s)| match k {
                    1 => Some((*k, (*s, 'x'))),
                    2 => Some((*k, (*s, 'y'))),
                    _ => None,
                })
                .collect();
            assert_eq!(sorted(j.collect().unwrap()), want_j);
        }
    }
}

#[test]
fn default_partitioner_reuses_a_non_hash_partitioner() {
    let ctx = ctx();
    let data = pairs(100, 9, 5);
    let part: Arc<dyn Partitioner<u32>> = Arc::new(ModPartitioner(3));
    let custom = ctx
        .parallelize_with(data.clone(), 2)
        .partition_by(part.clone());
    let other = ctx.parallelize_with(vec![(1u32, 'x'), (2, 'y')], 2);
    // Spark: join/cogroup/reduce_by_key without a partitioner use the parent's partitioner.
    assert_eq!(custom.join(&other).partitioner(), Some(part.desc()));
    assert_eq!(custom.cogroup(&other).partitioner(), Some(part.desc()));
    assert_eq!(
        custom.reduce_by_key(|a, b| a + b).partitioner(),
        Some(part.desc())
    );
    // Likewise the range partitioner of a sorted RDD.
    let sorted_rdd = ctx.parallelize_with(data, 3).sort_by_key(true).unwrap();
    let range = sorted_rdd.partitioner();
    assert!(matches!(range, Some(PartitionerDesc::Range { .. })));
    assert_eq!(sorted_rdd.join(&other).partitioner(), range);
}

#[test]
fn a_panicking_task_fails_the_job_and_the_context_survives() {
    let ctx = ctx();
    let rdd = ctx.parallelize_with((0..20i64).collect::<Vec<_>>(), 4);
    let bad = rdd.map(|x| {
        if x == 13 {
            panic!("boom at {x}");
        }
        x
    });
    let err = bad.collect().unwrap_err();
    assert!(err.to_string().contains("boom at 13"), "{err}");
    let err = bad
        .map(|x| (x % 2, x))
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap_err();
    assert!(err.to_string().contains("boom at 13"), "{err}");
    // The context still runs jobs.
    assert_eq!(rdd.map(|x| x + 1).reduce(|a, b| a + b).unwrap(), 210);
    assert_eq!(
        sorted(
            rdd.map(|x| (x % 2, x))
                .reduce_by_key(|a, b| a + b)
                .collect()
                .unwrap()
        ),
        vec![(0, 90), (1, 100)]
    );
}

#[test]
fn concurrent_jobs_on_one_context() {
    let ctx = Context::local(3).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let ctx = ctx.clone();
            s.spawn(move || {
                for round in 0..5u64 {
                    let data = pairs(200, 7 + t, 100 * t + round);
                    let want: Vec<(u32, i64)> = grouped(&data)
                        .into_iter()
                        .map(|(k, vs)| (k, vs.iter().sum()))
                        .collect();
                    let rdd = ctx.parallelize_with(data.clone(), 1 + (round as usize % 4));
                    let got = rdd.reduce_by_key(|a, b| a + b).collect().unwrap();
                    assert_eq!(sorted(got), want, "thread {t} round {round}");
                    let s = rdd.sort_by_key(true).unwrap().keys().collect().unwrap();
                    assert_eq!(s, sorted(data.iter().map(|x| x.0).collect()));
                }
            });
        }
    });
}
