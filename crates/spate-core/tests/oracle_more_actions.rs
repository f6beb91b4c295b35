//! More actions and transformations (issue 12) against plain `Vec` computations on random
//! data: is_empty, collect_as_map, to_local_iterator, min/max, tree_reduce/aggregate, zip,
//! zip_partitions, zip_with_unique_id, group_by, reduce_by_key_locally,
//! count_approx_distinct.

mod oracle_common;

use oracle_common::*;

/// Partition counts: one, a few, and more than most inputs have records.
const MORE_PARTS: [usize; 4] = [1, 3, 7, 40];

#[test]
fn is_empty_and_extremes() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            assert_eq!(rdd.is_empty().unwrap(), data.is_empty());
            match (data.iter().min(), data.iter().max()) {
                (Some(lo), Some(hi)) => {
                    assert_eq!(rdd.min().unwrap(), *lo);
                    assert_eq!(rdd.max().unwrap(), *hi);
                    // By a different order: the absolute value, first of equals kept.
                    let by_abs = |a: &i64, b: &i64| a.abs().cmp(&b.abs());
                    let want_min = data.iter().copied().min_by(by_abs).unwrap();
                    let want_max = data.iter().copied().max_by(by_abs).unwrap();
                    assert_eq!(rdd.min_by(by_abs).unwrap().abs(), want_min.abs());
                    assert_eq!(rdd.max_by(by_abs).unwrap().abs(), want_max.abs());
                }
                _ => {
                    assert!(matches!(rdd.min(), Err(Error::EmptyRdd("min"))));
                    assert!(matches!(rdd.max(), Err(Error::EmptyRdd("max"))));
                }
            }
            // A filter that empties everything but a late partition.
            let last = data.last().copied();
            let f = rdd.filter(move |x| Some(*x) == last);
            assert_eq!(f.is_empty().unwrap(), data.is_empty());
        }
    }
    let empty: Rdd<i64> = ctx.empty();
    assert!(empty.is_empty().unwrap());
    assert!(matches!(empty.min(), Err(Error::EmptyRdd(_))));
}

#[test]
fn collect_as_map_last_value_wins() {
    let ctx = ctx();
    for data in pair_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let mut want = HashMap::new();
            for (k, v) in &data {
                want.insert(*k, *v);
            }
            assert_eq!(rdd.collect_as_map().unwrap(), want, "p={p}");
        }
    }
}

#[test]
fn to_local_iterator_runs_a_job_per_partition() {
    let ctx = local_ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let got: Vec<i64> = rdd.to_local_iterator().map(|x| x.unwrap()).collect();
            assert_eq!(got, data);
        }
    }
    // Lazy: partition i is computed only when the iterator reaches it.
    let computed = Arc::new(AtomicU64::new(0));
    let c = computed.clone();
    let rdd = ctx
        .parallelize_with((0..100i64).collect(), 10)
        .map_partitions_with_index(move |i, it| {
            c.fetch_or(1 << i, Ordering::SeqCst);
            it
        });
    let mut it = rdd.to_local_iterator();
    for _ in 0..15 {
        it.next().unwrap().unwrap();
    }
    assert_eq!(computed.load(Ordering::SeqCst), 0b11);
    assert_eq!(it.count(), 85);
    assert_eq!(computed.load(Ordering::SeqCst), (1 << 10) - 1);
    // An error is yielded once, then the iteration ends.
    let bad = ctx.parallelize_with((0..10i64).collect(), 2).map(|x| {
        if x == 7 {
            panic!("boom at {x}")
        } else {
            x
        }
    });
    let items: Vec<Result<i64>> = bad.to_local_iterator().collect();
    assert_eq!(items.len(), 6);
    assert!(items[..5].iter().all(|x| x.is_ok()));
    assert!(items[5]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("boom at 7"));
}

#[test]
fn tree_reduce_and_aggregate_equal_reduce() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in [1usize, 3, 7, 40, 100] {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for depth in [1usize, 2, 3, 5] {
                let sum: i64 = data.iter().sum();
                match rdd.tree_reduce(|a, b| a + b, depth) {
                    Ok(s) => assert_eq!(s, sum, "p={p} depth={depth}"),
                    Err(e) => {
                        assert!(data.is_empty(), "{e}");
                        assert!(matches!(e, Error::EmptyRdd(_)));
                    }
                }
                // (count, sum, max) through an aggregate of a different type.
                let want = (
                    data.len() as u64,
                    sum,
                    data.iter().copied().max().unwrap_or(i64::MIN),
                );
                let got = rdd
                    .tree_aggregate(
                        (0u64, 0i64, i64::MIN),
                        |(c, s, m), x| (c + 1, s + x, m.max(x)),
                        |a, b| (a.0 + b.0, a.1 + b.1, a.2.max(b.2)),
                        depth,
                    )
                    .unwrap();
                assert_eq!(got, want, "p={p} depth={depth}");
                // Order of a non-commutative-but-associative op is not promised; the
                // multiset is: concatenated vectors, sorted.
                let v = rdd
                    .tree_aggregate(
                        Vec::new(),
                        |mut v, x| {
                            v.push(x);
                            v
                        },
                        |mut a, mut b| {
                            a.append(&mut b);
                            a
                        },
                        depth,
                    )
                    .unwrap();
                assert_eq!(sorted(v), sorted(data.clone()));
            }
        }
    }
    let rdd = ctx.parallelize_with(vec![1i64], 1);
    assert!(matches!(
        rdd.tree_reduce(|a, b| a + b, 0),
        Err(Error::InvalidArgument { .. })
    ));
    let empty: Rdd<i64> = ctx.empty();
    assert_eq!(
        empty
            .tree_aggregate(5i64, |a, x| a + x, |a, b| a + b, 2)
            .unwrap(),
        5
    );
}

#[test]
fn zip_pairs_records_in_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let a = ctx.parallelize_with(data.clone(), p);
            let b = a.map(|x| x * 10 + 1);
            let got = a.zip(&b).unwrap().collect().unwrap();
            let want: Vec<(i64, i64)> = data.iter().map(|x| (*x, x * 10 + 1)).collect();
            assert_eq!(got, want);
            // zip_partitions: each partition's sum and the other's length.
            let z = a
                .zip_partitions(&b, |x, y| {
                    let s: i64 = x.sum();
                    std::iter::once((s, y.count()))
                })
                .unwrap()
                .collect()
                .unwrap();
            let want: Vec<(i64, usize)> = slices(&data, p)
                .iter()
                .map(|s| (s.iter().sum(), s.len()))
                .collect();
            assert_eq!(z, want);
        }
    }
}

#[test]
fn zip_errors_name_rdds_and_partition() {
    let ctx = ctx();
    let a = ctx.parallelize_with((0..10i64).collect(), 2);
    let b = ctx.parallelize_with((0..10i64).collect(), 3);
    let e = a.zip(&b).unwrap_err().to_string();
    assert!(
        e.contains(&format!("Rdd[{}]", a.id())) && e.contains(&format!("Rdd[{}]", b.id())),
        "{e}"
    );
    assert!(a.zip_partitions(&b, |x, _| x).is_err());
    // Same partitions, partition 0 one record longer on the left.
    let c = ctx.parallelize_with((0..9i64).collect(), 2);
    let e = a.zip(&c).unwrap().collect().unwrap_err().to_string();
    assert!(e.contains("partition 0 has more records in rdd"), "{e}");
    let e = c.zip(&a).unwrap().count().unwrap_err().to_string();
    assert!(e.contains("same number of records"), "{e}");
}

#[test]
fn zip_with_unique_id_layout() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let got = rdd.zip_with_unique_id().collect().unwrap();
            let mut want = Vec::new();
            for (k, part) in slices(&data, p).iter().enumerate() {
                for (i, x) in part.iter().enumerate() {
                    want.push((*x, (i * p + k) as u64));
                }
            }
            assert_eq!(got, want);
            let ids: BTreeSet<u64> = got.iter().map(|x| x.1).collect();
            assert_eq!(ids.len(), data.len());
        }
    }
}

#[test]
fn group_by_and_reduce_by_key_locally() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let got: BTreeMap<i64, Vec<i64>> = rdd
                .group_by(|x| x.rem_euclid(5))
                .collect()
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, sorted(v)))
                .collect();
            let keyed: Vec<(i64, i64)> = data.iter().map(|x| (x.rem_euclid(5), *x)).collect();
            assert_eq!(got, grouped(&keyed));
            let g = rdd.group_by_with(|x| x.rem_euclid(5), 4);
            assert_eq!(g.num_partitions(), 4);
            assert_eq!(g.partitioner(), Some(PartitionerDesc::Hash(4)));
            assert_eq!(g.count().unwrap() as usize, grouped(&keyed).len());
        }
    }
    for data in pair_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let mut want: HashMap<u32, i64> = HashMap::new();
            for (k, v) in &data {
                *want.entry(*k).or_default() += v;
            }
            assert_eq!(rdd.reduce_by_key_locally(|a, b| a + b).unwrap(), want);
        }
    }
}

#[test]
fn count_approx_distinct_within_three_sigma() {
    let ctx = ctx();
    let n = 100_000u64;
    // 10^5 distinct values, each twice, shuffled over partitions.
    let mut data: Vec<u64> = (0..n).chain(0..n).map(|x| x * 7919 + 13).collect();
    let mut r = Lcg(5);
    for i in (1..data.len()).rev() {
        let j = (r.next() % (i as u64 + 1)) as usize;
        data.swap(i, j);
    }
    let rdd = ctx.parallelize_with(data, 6);
    for rsd in [0.1, 0.05, 0.02, 0.01] {
        let est = rdd.count_approx_distinct(rsd).unwrap();
        let err = (est as f64 - n as f64).abs() / n as f64;
        assert!(err <= 3.0 * rsd, "rsd {rsd}: estimate {est}, error {err}");
    }
    // Strings too, and small counts.
    let words: Vec<String> = (0..500).map(|i| format!("w{}", i % 123)).collect();
    let est = ctx
        .parallelize_with(words, 3)
        .count_approx_distinct(0.01)
        .unwrap();
    assert!((est as i64 - 123).abs() <= 5, "{est}");
    let empty: Rdd<u64> = ctx.empty();
    assert_eq!(empty.count_approx_distinct(0.05).unwrap(), 0);
    assert!(matches!(
        rdd.count_approx_distinct(0.00001),
        Err(Error::InvalidArgument { .. })
    ));
}

fn strings(v: &[i64]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn pipe_through_commands() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            assert_eq!(rdd.pipe("cat").collect().unwrap(), strings(&data));
            // A shell loop, given as argv (no splitting): each record doubled.
            let doubled = rdd
                .pipe_with(
                    vec![
                        "sh".into(),
                        "-c".into(),
                        "while read x; do echo $((x * 2)); done".into(),
                    ],
                    Vec::new(),
                )
                .collect()
                .unwrap();
            let want: Vec<String> = data.iter().map(|x| (x * 2).to_string()).collect();
            assert_eq!(doubled, want);
            // The command runs once per partition, even an empty one.
            let env = rdd
                .pipe_with(
                    vec!["sh".into(), "-c".into(), "echo \"$FOO-$BAR\"".into()],
                    vec![("FOO".into(), "foo".into()), ("BAR".into(), "bar".into())],
                )
                .collect()
                .unwrap();
            assert_eq!(env, vec!["foo-bar".to_string(); p]);
        }
    }
    let words = ctx.parallelize_with(
        vec![
            "hello world".to_string(),
            "Spate".into(),
            "".into(),
            "x".into(),
        ],
        2,
    );
    assert_eq!(
        words.pipe("tr a-z A-Z").collect().unwrap(),
        vec!["HELLO WORLD", "SPATE", "", "X"]
    );
    // Output lines without records: wc -l counts each partition's records.
    let counts = ctx
        .parallelize_with((0..1000i64).collect(), 4)
        .pipe("wc -l")
        .map(|s| s.trim().parse::<i64>().unwrap())
        .collect()
        .unwrap();
    assert_eq!(counts, vec![250; 4]);
}

#[test]
fn pipe_big_partitions_do_not_deadlock() {
    let ctx = ctx();
    let n = 300_000i64;
    let rdd = ctx.parallelize_with((0..n).collect(), 1);
    assert_eq!(rdd.pipe("cat").count().unwrap(), n as u64);
    // The command writes a lot before reading any input.
    let out = rdd
        .pipe_with(
            vec!["sh".into(), "-c".into(), "seq 1 300000; cat".into()],
            Vec::new(),
        )
        .count()
        .unwrap();
    assert_eq!(out, 2 * n as u64);
    // The command stops reading early and succeeds: no error, its output.
    assert_eq!(
        rdd.pipe("head -n 2").collect().unwrap(),
        vec!["0".to_string(), "1".into()]
    );
    // Endless output, abandoned by take: the command is stopped.
    let yes = ctx.parallelize_with(vec![1i64], 1).pipe("yes");
    assert_eq!(yes.take(3).unwrap(), vec!["y".to_string(); 3]);
}

#[test]
fn pipe_failures_name_the_command() {
    let ctx = ctx();
    let rdd = ctx.parallelize_with((0..10i64).collect(), 2);
    let e = rdd
        .pipe_with(
            vec![
                "sh".into(),
                "-c".into(),
                "cat >/dev/null; echo first >&2; echo 'it broke' >&2; exit 3".into(),
            ],
            Vec::new(),
        )
        .collect()
        .unwrap_err()
        .to_string();
    assert!(e.contains("command `sh -c cat >/dev/null;"), "{e}");
    assert!(e.contains("exit status: 3"), "{e}");
    assert!(e.contains("first\nit broke"), "{e}");
    let e = rdd
        .pipe("no-such-command-spate --flag")
        .collect()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("command `no-such-command-spate --flag` cannot start"),
        "{e}"
    );
    let e = rdd.pipe("   ").collect().unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    // A failure after some output still fails the task.
    let e = rdd
        .pipe_with(
            vec!["sh".into(), "-c".into(), "head -n 1; exit 9".into()],
            Vec::new(),
        )
        .collect()
        .unwrap_err()
        .to_string();
    assert!(e.contains("exit status: 9"), "{e}");
}

#[test]
fn local_checkpoint_cuts_lineage_after_first_job() {
    let ctx = local_ctx();
    for data in int_inputs() {
        for p in MORE_PARTS {
            let computed = Arc::new(AtomicU64::new(0));
            let c = computed.clone();
            let base = ctx
                .parallelize_with(data.clone(), p)
                .map(|x| (x.rem_euclid(4), x))
                .reduce_by_key_with(|a, b| a + b, 3)
                .map(move |kv| {
                    c.fetch_add(1, Ordering::SeqCst);
                    kv
                });
            let rdd = base.local_checkpoint();
            assert_eq!(rdd.storage_level(), Some(StorageLevel::MEMORY_AND_DISK));
            assert!(!rdd.is_checkpointed());
            // The first job computes only partition 0; the checkpoint computes the rest.
            let first = rdd.take(1).unwrap();
            assert!(rdd.is_checkpointed());
            let groups = grouped(
                &data
                    .iter()
                    .map(|x| (x.rem_euclid(4), *x))
                    .collect::<Vec<_>>(),
            );
            let want: BTreeMap<i64, i64> =
                groups.iter().map(|(k, v)| (*k, v.iter().sum())).collect();
            assert_eq!(first.len(), want.len().min(1));
            let after = computed.load(Ordering::SeqCst);
            assert_eq!(after as usize, want.len(), "each record computed once");
            let got: BTreeMap<i64, i64> = rdd.collect().unwrap().into_iter().collect();
            assert_eq!(got, want);
            assert_eq!(rdd.count().unwrap() as usize, want.len());
            assert_eq!(
                computed.load(Ordering::SeqCst),
                after,
                "read from the block store"
            );
            // Lineage cut: one line, no shuffle below.
            let debug = rdd.to_debug_string();
            assert_eq!(debug.lines().count(), 1, "{debug}");
            assert!(debug.contains("checkpointed"), "{debug}");
            // Derived RDDs read it too.
            let doubled: BTreeMap<i64, i64> = rdd
                .map_values(|v| v * 2)
                .collect()
                .unwrap()
                .into_iter()
                .collect();
            assert_eq!(doubled.len(), want.len());
            assert_eq!(computed.load(Ordering::SeqCst), after);
        }
    }
}

#[test]
fn local_checkpoint_keeps_disk_and_fails_on_lost_blocks() {
    let ctx = local_ctx();
    let rdd = ctx
        .parallelize_with((0..100i64).collect(), 4)
        .persist(StorageLevel::MEMORY_ONLY_SER)
        .local_checkpoint();
    let level = rdd.storage_level().unwrap();
    assert!(level.use_disk && level.use_memory && !level.deserialized);
    assert_eq!(rdd.count().unwrap(), 100);
    assert!(rdd.is_checkpointed());
    // A lost block cannot be recomputed: the job fails naming the partition.
    rdd.unpersist();
    let e = rdd.collect().unwrap_err().to_string();
    assert!(
        e.contains("partition 0") && e.contains("locally checkpointed"),
        "{e}"
    );
}

#[test]
fn repartition_and_sort_within_partitions_oracle() {
    let ctx = ctx();
    for data in pair_inputs() {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for n in [1usize, 4, 9] {
                let r = rdd.repartition_and_sort_within_partitions(n);
                assert_eq!(r.partitioner(), Some(PartitionerDesc::Hash(n)));
                let parts = r.glom().collect().unwrap();
                assert_eq!(parts.len(), n);
                let mut all = Vec::new();
                for (i, part) in parts.into_iter().enumerate() {
                    assert!(part.windows(2).all(|w| w[0].0 <= w[1].0), "sorted in {i}");
                    assert!(part.iter().all(|(k, _)| hash_partition(n, k) == i));
                    all.extend(part);
                }
                assert_eq!(sorted(all), sorted(data.clone()));
            }
            // With a range partitioner: globally sorted.
            let rp = RangePartitioner::from_bounds(vec![2u32, 5, 8], true);
            let r = rdd.repartition_and_sort_within_partitions(rp);
            let keys: Vec<u32> = r.keys().collect().unwrap();
            assert!(keys.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(keys.len(), data.len());
        }
    }
}

#[test]
fn filter_by_range_prunes_range_partitions() {
    let ctx = ctx();
    let mut inputs = pair_inputs();
    inputs.push(pairs(500, 200, 9));
    for data in inputs {
        for p in MORE_PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for (lo, hi) in [(0u32, 3u32), (2, 2), (4, 100), (7, 1), (150, 160)] {
                let want: Vec<(u32, i64)> = data
                    .iter()
                    .copied()
                    .filter(|(k, _)| lo <= *k && *k <= hi)
                    .collect();
                // Unpartitioned: a plain filter, order kept.
                let plain = rdd.filter_by_range(lo, hi);
                assert_eq!(plain.num_partitions(), p);
                assert_eq!(plain.collect().unwrap(), want);
                for ascending in [true, false] {
                    let s = rdd.sort_by_key_with(ascending, 6).unwrap();
                    let f = s.filter_by_range(lo, hi);
                    assert!(f.num_partitions() <= s.num_partitions());
                    let got = f.collect().unwrap();
                    let mut w = want.clone();
                    w.sort_by_key(|x| x.0);
                    if !ascending {
                        w.reverse();
                    }
                    let keys = |v: &[(u32, i64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
                    assert_eq!(keys(&got), keys(&w), "lo={lo} hi={hi} asc={ascending}");
                    assert_eq!(sorted(got), sorted(want.clone()));
                }
            }
        }
    }
    // On 200 keys in 8 range partitions, a narrow range scans one or two of them.
    let data = pairs(2000, 200, 11);
    let s = ctx
        .parallelize_with(data.clone(), 4)
        .sort_by_key_with(true, 8)
        .unwrap();
    assert_eq!(s.num_partitions(), 8);
    let f = s.filter_by_range(50, 55);
    assert!(f.num_partitions() <= 2, "{}", f.num_partitions());
    let want = data.iter().filter(|(k, _)| (50..=55).contains(k)).count();
    assert_eq!(f.count().unwrap() as usize, want);
}
