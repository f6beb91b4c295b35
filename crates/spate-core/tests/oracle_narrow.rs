//! Narrow transformations.
//!
//! Oracle tests: spate against a plain in-memory Rust reference (see `oracle_common`), and
//! edge cases (coalescing to more partitions, `zip_with_index` after a filter) against
//! hand-computed results.

mod oracle_common;

use oracle_common::*;

// ---------------------------------------------------------------------------------------
// Narrow transformations
// ---------------------------------------------------------------------------------------

#[test]
fn map_flat_map_filter_keep_partition_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let m = rdd.map(|x| x * 3 - 1);
            assert_eq!(m.num_partitions(), p);
            let want: Vec<i64> = data.iter().map(|x| x * 3 - 1).collect();
            assert_eq!(m.collect().unwrap(), want);

            let f = rdd.filter(|x: &i64| x % 2 == 0);
            let want: Vec<i64> = data.iter().copied().filter(|x| x % 2 == 0).collect();
            assert_eq!(f.collect().unwrap(), want);
            // Filtering is per partition.
            let want_parts: Vec<Vec<i64>> = slices(&data, p)
                .into_iter()
                .map(|s| s.into_iter().filter(|x| x % 2 == 0).collect())
                .collect();
            assert_eq!(f.glom().collect().unwrap(), want_parts);

            let fm = rdd.flat_map(|x| (0..(x.rem_euclid(4))).map(move |i| x * 10 + i));
            let want: Vec<i64> = data
                .iter()
                .flat_map(|&x| (0..(x.rem_euclid(4))).map(move |i| x * 10 + i))
                .collect();
            assert_eq!(fm.collect().unwrap(), want);
            assert_eq!(fm.count().unwrap(), want.len() as u64);
        }
    }
}

#[test]
fn map_partitions_and_with_index() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let sums = rdd.map_partitions(|it| std::iter::once(it.sum::<i64>()));
            let want: Vec<i64> = slices(&data, p).iter().map(|s| s.iter().sum()).collect();
            assert_eq!(sums.collect().unwrap(), want);

            let tagged = rdd.map_partitions_with_index(|i, it| it.map(move |x| (i, x)));
            let want: Vec<(usize, i64)> = slices(&data, p)
                .into_iter()
                .enumerate()
                .flat_map(|(i, s)| s.into_iter().map(move |x| (i, x)))
                .collect();
            assert_eq!(tagged.collect().unwrap(), want);

            // A partition function may also drop everything or expand.
            let doubled = rdd.map_partitions(|it| {
                let v: Vec<i64> = it.collect();
                let mut out = v.clone();
                out.extend(v);
                out
            });
            let want: Vec<i64> = slices(&data, p)
                .into_iter()
                .flat_map(|s| {
                    let mut o = s.clone();
                    o.extend(s);
                    o
                })
                .collect();
            assert_eq!(doubled.collect().unwrap(), want);
        }
    }
}

#[test]
fn glom_shows_partitions() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            assert_eq!(rdd.glom().collect().unwrap(), slices(&data, p));
            assert_eq!(rdd.glom().num_partitions(), p);
        }
    }
}

#[test]
fn distinct_equals_set() {
    let ctx = ctx();
    for data in int_inputs() {
        let want: Vec<i64> = data
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let d = rdd.distinct();
            assert_eq!(d.num_partitions(), p);
            assert_eq!(sorted(d.collect().unwrap()), want);
            let d5 = rdd.distinct_with(5usize);
            assert_eq!(d5.num_partitions(), 5);
            assert_eq!(sorted(d5.collect().unwrap()), want);
            let d2 = rdd.distinct_with(HashPartitioner::new(2));
            assert_eq!(d2.num_partitions(), 2);
            assert_eq!(sorted(d2.collect().unwrap()), want);
        }
    }
}

#[test]
fn union_concatenates_in_order() {
    let ctx = ctx();
    let inputs = int_inputs();
    for a in &inputs {
        for b in &inputs {
            for (pa, pb) in [(1usize, 3usize), (3, 7), (7, 1)] {
                let ra = ctx.parallelize_with(a.clone(), pa);
                let rb = ctx.parallelize_with(b.clone(), pb);
                let u = ra.union(&rb);
                assert_eq!(u.num_partitions(), pa + pb);
                let mut want = a.clone();
                want.extend(b.iter().copied());
                assert_eq!(u.collect().unwrap(), want);
                let mut want_parts = slices(a, pa);
                want_parts.extend(slices(b, pb));
                assert_eq!(u.glom().collect().unwrap(), want_parts);

                let three = ctx.union(vec![ra.clone(), rb.clone(), ra.clone()]);
                assert_eq!(three.num_partitions(), 2 * pa + pb);
                let mut want3 = want.clone();
                want3.extend(a.iter().copied());
                assert_eq!(three.collect().unwrap(), want3);
            }
        }
    }
}

#[test]
fn union_of_copartitioned_rdds_keeps_partitioner() {
    let ctx = ctx();
    let a = ctx
        .parallelize_with(pairs(100, 9, 1), 3)
        .partition_by(HashPartitioner::new(4));
    let b = ctx
        .parallelize_with(pairs(80, 13, 2), 7)
        .partition_by(HashPartitioner::new(4));
    let u = a.union(&b);
    assert_hash_partitioned(&u, 4);
    let mut want = pairs(100, 9, 1);
    want.extend(pairs(80, 13, 2));
    assert_eq!(sorted(u.collect().unwrap()), sorted(want.clone()));
    let u3 = ctx.union(vec![a.clone(), b.clone(), a.clone()]);
    assert_hash_partitioned(&u3, 4);
    want.extend(pairs(100, 9, 1));
    assert_eq!(sorted(u3.collect().unwrap()), sorted(want));
    // Differently partitioned parents: a plain union.
    let c = ctx
        .parallelize_with(pairs(10, 3, 3), 2)
        .partition_by(HashPartitioner::new(5));
    let uc = a.union(&c);
    assert_eq!(uc.num_partitions(), 9);
    assert_eq!(uc.partitioner(), None);
}

#[test]
fn repartition_and_coalesce_with_shuffle_keep_multiset() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for n in [1usize, 2, 4, 10] {
                let r = rdd.repartition(n);
                assert_eq!(r.num_partitions(), n);
                assert_eq!(sorted(r.collect().unwrap()), sorted(data.clone()));
                let c = rdd.coalesce(n, true);
                assert_eq!(c.num_partitions(), n);
                assert_eq!(sorted(c.collect().unwrap()), sorted(data.clone()));
            }
        }
    }
    // Repartitioning spreads records about evenly (Spark's round-robin from a random start).
    let big: Vec<i64> = (0..1000).collect();
    let r = ctx.parallelize_with(big, 3).repartition(5);
    for part in r.glom().collect().unwrap() {
        assert!(
            (150..=250).contains(&part.len()),
            "partition of {}",
            part.len()
        );
    }
}

#[test]
fn coalesce_without_shuffle_keeps_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for n in [1usize, 2, 3, 10] {
                let c = rdd.coalesce(n, false);
                assert_eq!(c.num_partitions(), n.min(p), "coalesce({n}) of {p}");
                assert_eq!(c.collect().unwrap(), data);
                // Output partition i concatenates parent partitions [i*p/m, (i+1)*p/m), as
                // Spark's coalescer does for parents without preferred locations.
                let m = n.min(p);
                let parents = slices(&data, p);
                let want: Vec<Vec<i64>> = (0..m)
                    .map(|i| parents[i * p / m..(i + 1) * p / m].concat())
                    .collect();
                assert_eq!(c.glom().collect().unwrap(), want, "coalesce({n}) of {p}");
            }
        }
    }
}

#[test]
fn sample_is_deterministic_and_about_the_fraction() {
    let ctx = ctx();
    let data: Vec<i64> = (0..10_000).collect();
    let rdd = ctx.parallelize_with(data.clone(), 7);
    for fraction in [0.1, 0.3, 0.75] {
        let a = rdd.sample(false, fraction, 42).collect().unwrap();
        let b = rdd.sample(false, fraction, 42).collect().unwrap();
        assert_eq!(a, b, "same seed, same sample");
        let c = rdd.sample(false, fraction, 43).collect().unwrap();
        assert_ne!(a, c, "another seed, another sample");
        let expected = fraction * data.len() as f64;
        assert!(
            (a.len() as f64 - expected).abs() < 300.0,
            "{} records for fraction {fraction}",
            a.len()
        );
        // Without replacement: a subsequence of the input.
        assert!(a.windows(2).all(|w| w[0] < w[1]));

        let w1 = rdd.sample(true, fraction, 7).collect().unwrap();
        let w2 = rdd.sample(true, fraction, 7).collect().unwrap();
        assert_eq!(w1, w2);
        assert!(
            (w1.len() as f64 - expected).abs() < 400.0,
            "{} records with replacement for fraction {fraction}",
            w1.len()
        );
        assert!(w1.windows(2).all(|w| w[0] <= w[1]));
        assert!(w1.iter().all(|x| (0..10_000).contains(x)));
    }
    // With replacement and fraction > 1: about fraction * n, with repeats.
    let w = rdd.sample(true, 2.0, 1).collect().unwrap();
    assert!((w.len() as f64 - 20_000.0).abs() < 800.0, "{}", w.len());
    assert_eq!(rdd.sample(false, 0.0, 1).count().unwrap(), 0);
    assert_eq!(rdd.sample(false, 1.0, 1).collect().unwrap(), data);
    assert_eq!(rdd.sample(true, 0.0, 1).count().unwrap(), 0);
}

#[test]
fn zip_with_index_numbers_in_partition_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let z = rdd.zip_with_index().unwrap();
            assert_eq!(z.num_partitions(), p);
            let want: Vec<(i64, u64)> = data.iter().copied().zip(0u64..).collect();
            assert_eq!(z.collect().unwrap(), want);
            // After a filter that empties partitions.
            let f = rdd.filter(|x: &i64| *x > 3);
            let want: Vec<(i64, u64)> = data
                .iter()
                .copied()
                .filter(|x| *x > 3)
                .zip(0u64..)
                .collect();
            assert_eq!(f.zip_with_index().unwrap().collect().unwrap(), want);
        }
    }
}

#[test]
fn key_by_keys_values() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let kb = rdd.key_by(|x: &i64| x.rem_euclid(5) as u32);
            let want: Vec<(u32, i64)> = data.iter().map(|&x| (x.rem_euclid(5) as u32, x)).collect();
            assert_eq!(kb.collect().unwrap(), want);
            assert_eq!(
                kb.keys().collect().unwrap(),
                want.iter().map(|x| x.0).collect::<Vec<_>>()
            );
            assert_eq!(kb.values().collect().unwrap(), data);
        }
    }
}

#[test]
fn sort_by_sorts_globally() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for n in [1usize, 3, 5] {
                // By a key that is not the record: |x| mod 10.
                let key = |x: &i64| x.abs() % 10;
                let asc = rdd.sort_by(key, true, n).unwrap();
                assert!(asc.num_partitions() <= n);
                let got = asc.collect().unwrap();
                let keys: Vec<i64> = got.iter().map(key).collect();
                assert_eq!(keys, sorted(keys.clone()));
                assert_eq!(sorted(got), sorted(data.clone()));

                let desc = rdd.sort_by(|x: &i64| *x, false, n).unwrap();
                let mut want = sorted(data.clone());
                want.reverse();
                assert_eq!(desc.collect().unwrap(), want);
            }
        }
    }
}

#[test]
fn cartesian_pairs_partitions_in_order() {
    let ctx = ctx();
    let small = [vec![], vec![1i64, 1, 2], ints(13, 5, 9)];
    for a in &small {
        for b in &small {
            for (pa, pb) in [(1usize, 1usize), (3, 2), (2, 7)] {
                let ra = ctx.parallelize_with(a.clone(), pa);
                let rb = ctx.parallelize_with(b.iter().map(|x| x.to_string()).collect(), pb);
                let c = ra.cartesian(&rb);
                assert_eq!(c.num_partitions(), pa * pb);
                let sa = slices(a, pa);
                let sb = slices(b, pb);
                let mut want = Vec::new();
                for pa_part in &sa {
                    for pb_part in &sb {
                        for x in pa_part {
                            for y in pb_part {
                                want.push((*x, y.to_string()));
                            }
                        }
                    }
                }
                assert_eq!(c.collect().unwrap(), want);
                assert_eq!(c.count().unwrap(), (a.len() * b.len()) as u64);
            }
        }
    }
}

#[test]
fn intersection_and_subtract() {
    let ctx = ctx();
    let inputs = int_inputs();
    for a in &inputs {
        for b in &inputs {
            for (pa, pb) in [(1usize, 3usize), (7, 3)] {
                let ra = ctx.parallelize_with(a.clone(), pa);
                let rb = ctx.parallelize_with(b.clone(), pb);
                let sa: BTreeSet<i64> = a.iter().copied().collect();
                let sb: BTreeSet<i64> = b.iter().copied().collect();
                let want: Vec<i64> = sa.intersection(&sb).copied().collect();
                assert_eq!(sorted(ra.intersection(&rb).collect().unwrap()), want);
                let want: Vec<i64> = a.iter().copied().filter(|x| !sb.contains(x)).collect();
                assert_eq!(sorted(ra.subtract(&rb).collect().unwrap()), sorted(want));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases, against hand-computed results
// ---------------------------------------------------------------------------------------

#[test]
fn coalesce_to_more_partitions() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx.parallelize_with((0..10i64).collect(), 3);
    let c = rdd.coalesce(10, false);
    assert_eq!(
        c.num_partitions(),
        3,
        "Spark keeps the parent's count without a shuffle"
    );
    assert_eq!(c.collect().unwrap(), (0..10).collect::<Vec<_>>());
    let s = rdd.coalesce(10, true);
    assert_eq!(s.num_partitions(), 10);
    let mut v = s.collect().unwrap();
    v.sort();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
}

#[test]
fn zip_with_index_after_filter() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx
        .parallelize_with((0..100i64).collect(), 7)
        .filter(|x| x % 3 == 0);
    let z = rdd.zip_with_index().unwrap().collect().unwrap();
    let expect: Vec<(i64, u64)> = (0..100)
        .filter(|x| x % 3 == 0)
        .enumerate()
        .map(|(i, x)| (x, i as u64))
        .collect();
    assert_eq!(z, expect);
}
