//! Pair operations.
//!
//! Oracle tests: spate against a plain in-memory Rust reference (see `oracle_common`), and
//! a descending sort by key with duplicate keys against a sorted copy.

mod oracle_common;

use oracle_common::*;
// ---------------------------------------------------------------------------------------
// Pair operations
// ---------------------------------------------------------------------------------------

#[test]
fn map_values_flat_map_values_keys_values() {
    let ctx = ctx();
    for data in pair_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let mv = rdd.map_values(|v| v * 2);
            let want: Vec<(u32, i64)> = data.iter().map(|&(k, v)| (k, v * 2)).collect();
            assert_eq!(mv.collect().unwrap(), want);
            let fmv = rdd.flat_map_values(|v| 0..v.rem_euclid(3));
            let want: Vec<(u32, i64)> = data
                .iter()
                .flat_map(|&(k, v)| (0..v.rem_euclid(3)).map(move |x| (k, x)))
                .collect();
            assert_eq!(fmv.collect().unwrap(), want);
            assert_eq!(
                rdd.keys().collect().unwrap(),
                data.iter().map(|x| x.0).collect::<Vec<_>>()
            );
            assert_eq!(
                rdd.values().collect().unwrap(),
                data.iter().map(|x| x.1).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn map_values_preserves_partitioner_map_does_not() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize_with(pairs(100, 7, 1), 3)
        .partition_by(HashPartitioner::new(4));
    assert_eq!(rdd.partitioner(), Some(PartitionerDesc::Hash(4)));
    assert_eq!(
        rdd.map_values(|v| v + 1).partitioner(),
        Some(PartitionerDesc::Hash(4))
    );
    assert_eq!(
        rdd.flat_map_values(|v| vec![v, v]).partitioner(),
        Some(PartitionerDesc::Hash(4))
    );
    assert_eq!(
        rdd.filter(|(_, v): &(u32, i64)| *v > 0).partitioner(),
        Some(PartitionerDesc::Hash(4))
    );
    assert_eq!(rdd.map(|(k, v)| (k, v + 1)).partitioner(), None);
    assert_eq!(ctx.parallelize_with(pairs(10, 3, 1), 3).partitioner(), None);
}

#[test]
fn reduce_by_key_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        let want: Vec<(u32, i64)> = grouped(&data)
            .into_iter()
            .map(|(k, vs)| (k, vs.iter().sum()))
            .collect();
        let want_max: Vec<(u32, i64)> = grouped(&data)
            .into_iter()
            .map(|(k, vs)| (k, *vs.iter().max().unwrap()))
            .collect();
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let r = rdd.reduce_by_key(|a, b| a + b);
            // Spark's default partitioner: the parent's partition count.
            assert_eq!(r.num_partitions(), p);
            assert_eq!(sorted(r.collect().unwrap()), want);
            assert_eq!(
                sorted(rdd.reduce_by_key(|a, b| a.max(b)).collect().unwrap()),
                want_max
            );
            let r5 = rdd.reduce_by_key_with(|a, b| a + b, 5usize);
            assert_hash_partitioned(&r5, 5);
            assert_eq!(sorted(r5.collect().unwrap()), want);
            let r4 = rdd.reduce_by_key_with(|a, b| a + b, HashPartitioner::new(4));
            assert_hash_partitioned(&r4, 4);
            assert_eq!(sorted(r4.collect().unwrap()), want);
            // Already partitioned the same way: aggregates in place, same result.
            let again = r4.reduce_by_key_with(|a, b| a + b, HashPartitioner::new(4));
            assert_hash_partitioned(&again, 4);
            assert_eq!(sorted(again.collect().unwrap()), want);
            let pre = rdd
                .partition_by(HashPartitioner::new(3))
                .reduce_by_key(|a, b| a + b);
            assert_hash_partitioned(&pre, 3);
            assert_eq!(sorted(pre.collect().unwrap()), want);
        }
    }
}

#[test]
fn default_parallelism_setting_decides_shuffle_partitions() {
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .unwrap()
            .set("spate.default.parallelism", "5")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ctx.default_parallelism(), 5);
    let data = pairs(100, 9, 2);
    let r = ctx
        .parallelize_with(data.clone(), 3)
        .reduce_by_key(|a, b| a + b);
    assert_hash_partitioned(&r, 5);
    let want: Vec<(u32, i64)> = grouped(&data)
        .into_iter()
        .map(|(k, vs)| (k, vs.iter().sum()))
        .collect();
    assert_eq!(sorted(r.collect().unwrap()), want);
}

#[test]
fn fold_by_key_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        let g = grouped(&data);
        let want: Vec<(u32, i64)> = g.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            assert_eq!(
                sorted(rdd.fold_by_key(0, |a, b| a + b).collect().unwrap()),
                want
            );
            // Spark: the zero is folded in once per key per map partition holding the key.
            let mut holders: BTreeMap<u32, i64> = BTreeMap::new();
            for s in slices(&data, p) {
                for k in s.iter().map(|x| x.0).collect::<BTreeSet<_>>() {
                    *holders.entry(k).or_default() += 1;
                }
            }
            let want_z: Vec<(u32, i64)> = g
                .iter()
                .map(|(k, vs)| (*k, vs.iter().sum::<i64>() + 100 * holders[k]))
                .collect();
            assert_eq!(
                sorted(rdd.fold_by_key(100, |a, b| a + b).collect().unwrap()),
                want_z
            );
        }
    }
}

#[test]
fn aggregate_by_key_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        let g = grouped(&data);
        let want: Vec<(u32, (i64, u64, Vec<i64>))> = g
            .iter()
            .map(|(k, vs)| (*k, (vs.iter().sum(), vs.len() as u64, vs.clone())))
            .collect();
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let agg = rdd
                .aggregate_by_key(
                    (0i64, 0u64, Vec::<i64>::new()),
                    |(s, c, mut l), v| {
                        l.push(v);
                        (s + v, c + 1, l)
                    },
                    |(s1, c1, mut l1), (s2, c2, l2)| {
                        l1.extend(l2);
                        (s1 + s2, c1 + c2, l1)
                    },
                )
                .map_values(|(s, c, l)| (s, c, sorted(l)));
            assert_eq!(sorted(agg.collect().unwrap()), want);
        }
    }
}

#[test]
fn combine_by_key_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        let want: Vec<(u32, Vec<i64>)> = grouped(&data).into_iter().collect();
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let create = |v: i64| vec![v];
            let merge_value = |mut c: Vec<i64>, v: i64| {
                c.push(v);
                c
            };
            let merge_combiners = |mut a: Vec<i64>, b: Vec<i64>| {
                a.extend(b);
                a
            };
            let c = rdd
                .combine_by_key(create, merge_value, merge_combiners)
                .map_values(sorted);
            assert_eq!(sorted(c.collect().unwrap()), want);
            for map_side in [false, true] {
                let c4 =
                    rdd.combine_by_key_with(create, merge_value, merge_combiners, 4usize, map_side);
                assert_hash_partitioned(&c4, 4);
                assert_eq!(
                    sorted(c4.map_values(sorted).collect().unwrap()),
                    want,
                    "map_side={map_side}"
                );
                let c3 = rdd.combine_by_key_with(
                    create,
                    merge_value,
                    merge_combiners,
                    HashPartitioner::new(3),
                    map_side,
                );
                assert_hash_partitioned(&c3, 3);
                assert_eq!(sorted(c3.map_values(sorted).collect().unwrap()), want);
            }
            // A combiner of another type: (count, sum).
            let cs = rdd.combine_by_key(
                |v| (1u64, v),
                |(c, s), v| (c + 1, s + v),
                |(c1, s1), (c2, s2)| (c1 + c2, s1 + s2),
            );
            let want_cs: Vec<(u32, (u64, i64))> = want
                .iter()
                .map(|(k, vs)| (*k, (vs.len() as u64, vs.iter().sum())))
                .collect();
            assert_eq!(sorted(cs.collect().unwrap()), want_cs);
        }
    }
}

#[test]
fn group_by_key_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        let want: Vec<(u32, Vec<i64>)> = grouped(&data).into_iter().collect();
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            let g = rdd.group_by_key();
            assert_eq!(g.num_partitions(), p);
            assert_eq!(sorted(g.map_values(sorted).collect().unwrap()), want);
            let g4 = rdd.group_by_key_with(HashPartitioner::new(4));
            assert_hash_partitioned(&g4, 4);
            assert_eq!(sorted(g4.map_values(sorted).collect().unwrap()), want);
            let g2 = rdd.group_by_key_with(2usize);
            assert_hash_partitioned(&g2, 2);
            assert_eq!(sorted(g2.map_values(sorted).collect().unwrap()), want);
        }
    }
}

#[test]
fn count_by_key_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        let mut want: HashMap<u32, u64> = HashMap::new();
        for (k, _) in &data {
            *want.entry(*k).or_default() += 1;
        }
        for p in PARTS {
            assert_eq!(
                ctx.parallelize_with(data.clone(), p)
                    .count_by_key()
                    .unwrap(),
                want
            );
        }
    }
}

#[test]
fn partition_by_puts_each_key_in_one_partition() {
    let ctx = ctx();
    for data in pair_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for n in [1usize, 4, 9] {
                let pb = rdd.partition_by(HashPartitioner::new(n));
                assert_hash_partitioned(&pb, n);
                assert_eq!(sorted(pb.collect().unwrap()), sorted(data.clone()));
                // Partitioning again the same way is a no-op; a count means the same.
                assert_eq!(pb.partition_by(HashPartitioner::new(n)).id(), pb.id());
                assert_eq!(pb.partition_by(n).id(), pb.id());
                let other = pb.partition_by(n + 1);
                assert_hash_partitioned(&other, n + 1);
                assert_eq!(sorted(other.collect().unwrap()), sorted(data.clone()));
            }
        }
    }
}

#[test]
fn sort_by_key_is_range_partitioned_and_sorted() {
    let ctx = ctx();
    let mut inputs = pair_inputs();
    // Many distinct keys.
    inputs.push(
        (0..1000u32)
            .rev()
            .map(|k| (k * 7919 % 1000, k as i64))
            .collect(),
    );
    for data in inputs {
        for p in PARTS {
            let rdd = ctx.parallelize_with(data.clone(), p);
            for ascending in [true, false] {
                let mut want_keys: Vec<u32> = sorted(data.iter().map(|x| x.0).collect());
                if !ascending {
                    want_keys.reverse();
                }
                let s = rdd.sort_by_key(ascending).unwrap();
                assert!(s.num_partitions() <= p.max(1));
                let got = s.collect().unwrap();
                assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), want_keys);
                assert_eq!(sorted(got), sorted(data.clone()));
                for n in [1usize, 2, 4] {
                    let s = rdd.sort_by_key_with(ascending, n).unwrap();
                    assert!(s.num_partitions() <= n);
                    if data.len() >= 1000 {
                        // Many distinct keys: as many ranges as asked for.
                        assert_eq!(s.num_partitions(), n);
                    }
                    let parts = s.glom().collect().unwrap();
                    let flat: Vec<u32> = parts.iter().flatten().map(|x| x.0).collect();
                    assert_eq!(flat, want_keys, "ascending={ascending} n={n}");
                    // Ranges: every key in exactly one partition.
                    let mut seen: HashMap<u32, usize> = HashMap::new();
                    for (i, part) in parts.iter().enumerate() {
                        for (k, _) in part {
                            assert_eq!(*seen.entry(*k).or_insert(i), i);
                        }
                    }
                }
            }
        }
    }
}

/// Nested-loop references for the joins.
fn join_ref(a: &[(u32, i64)], b: &[(u32, String)]) -> Vec<(u32, (i64, String))> {
    let mut out = Vec::new();
    for (k, v) in a {
        for (k2, w) in b {
            if k == k2 {
                out.push((*k, (*v, w.clone())));
            }
        }
    }
    sorted(out)
}

fn left_ref(a: &[(u32, i64)], b: &[(u32, String)]) -> Vec<(u32, (i64, Option<String>))> {
    let mut out = Vec::new();
    for (k, v) in a {
        let ws: Vec<&String> = b.iter().filter(|x| x.0 == *k).map(|x| &x.1).collect();
        if ws.is_empty() {
            out.push((*k, (*v, None)));
        }
        for w in ws {
            out.push((*k, (*v, Some(w.clone()))));
        }
    }
    sorted(out)
}

fn right_ref(a: &[(u32, i64)], b: &[(u32, String)]) -> Vec<(u32, (Option<i64>, String))> {
    let mut out = Vec::new();
    for (k, w) in b {
        let vs: Vec<i64> = a.iter().filter(|x| x.0 == *k).map(|x| x.1).collect();
        if vs.is_empty() {
            out.push((*k, (None, w.clone())));
        }
        for v in vs {
            out.push((*k, (Some(v), w.clone())));
        }
    }
    sorted(out)
}

fn full_ref(a: &[(u32, i64)], b: &[(u32, String)]) -> Vec<(u32, (Option<i64>, Option<String>))> {
    let mut out: Vec<(u32, (Option<i64>, Option<String>))> = left_ref(a, b)
        .into_iter()
        .map(|(k, (v, w))| (k, (Some(v), w)))
        .collect();
    for (k, w) in b {
        if !a.iter().any(|x| x.0 == *k) {
            out.push((*k, (None, Some(w.clone()))));
        }
    }
    sorted(out)
}

fn cogroup_ref(a: &[(u32, i64)], b: &[(u32, String)]) -> Vec<(u32, (Vec<i64>, Vec<String>))> {
    let mut m: BTreeMap<u32, (Vec<i64>, Vec<String>)> = BTreeMap::new();
    for (k, v) in a {
        m.entry(*k).or_default().0.push(*v);
    }
    for (k, w) in b {
        m.entry(*k).or_default().1.push(w.clone());
    }
    m.into_iter()
        .map(|(k, (vs, ws))| (k, (sorted(vs), sorted(ws))))
        .collect()
}

fn right_inputs() -> Vec<Vec<(u32, String)>> {
    vec![
        vec![],
        vec![(2, "two".into()), (2, "deux".into()), (9, "nine".into())],
        pairs(60, 15, 11)
            .into_iter()
            .map(|(k, v)| (k, format!("w{v}")))
            .collect(),
    ]
}

#[test]
fn joins_match_nested_loops() {
    let ctx = ctx();
    for a in pair_inputs() {
        for b in right_inputs() {
            for (pa, pb) in [(1usize, 1usize), (3, 7), (7, 3)] {
                let ra = ctx.parallelize_with(a.clone(), pa);
                let rb = ctx.parallelize_with(b.clone(), pb);
                let j = ra.join(&rb);
                // Spark's default partitioner: the larger parent's partition count.
                assert_eq!(j.num_partitions(), pa.max(pb));
                assert_eq!(sorted(j.collect().unwrap()), join_ref(&a, &b));
                assert_eq!(
                    sorted(ra.left_outer_join(&rb).collect().unwrap()),
                    left_ref(&a, &b)
                );
                assert_eq!(
                    sorted(ra.right_outer_join(&rb).collect().unwrap()),
                    right_ref(&a, &b)
                );
                assert_eq!(
                    sorted(ra.full_outer_join(&rb).collect().unwrap()),
                    full_ref(&a, &b)
                );
                let cg = ra.cogroup(&rb);
                assert_eq!(cg.num_partitions(), pa.max(pb));
                let got: Vec<(u32, (Vec<i64>, Vec<String>))> = cg
                    .map_values(|(vs, ws)| (sorted(vs), sorted(ws)))
                    .collect()
                    .unwrap();
                assert_eq!(sorted(got), cogroup_ref(&a, &b));
            }
        }
    }
}

#[test]
fn joins_with_explicit_partitioning() {
    let ctx = ctx();
    for a in pair_inputs() {
        for b in right_inputs() {
            let ra = ctx.parallelize_with(a.clone(), 3);
            let rb = ctx.parallelize_with(b.clone(), 2);
            let j = ra.join_with(&rb, 5usize);
            assert_hash_partitioned(&j, 5);
            assert_eq!(sorted(j.collect().unwrap()), join_ref(&a, &b));
            let l = ra.left_outer_join_with(&rb, HashPartitioner::new(4));
            assert_hash_partitioned(&l, 4);
            assert_eq!(sorted(l.collect().unwrap()), left_ref(&a, &b));
            let r = ra.right_outer_join_with(&rb, 6usize);
            assert_hash_partitioned(&r, 6);
            assert_eq!(sorted(r.collect().unwrap()), right_ref(&a, &b));
            let f = ra.full_outer_join_with(&rb, 1usize);
            assert_hash_partitioned(&f, 1);
            assert_eq!(sorted(f.collect().unwrap()), full_ref(&a, &b));
            let cg = ra.cogroup_with(&rb, HashPartitioner::new(3));
            assert_hash_partitioned(&cg, 3);
            let got: Vec<(u32, (Vec<i64>, Vec<String>))> = cg
                .map_values(|(vs, ws)| (sorted(vs), sorted(ws)))
                .collect()
                .unwrap();
            assert_eq!(sorted(got), cogroup_ref(&a, &b));
            let s = ra.subtract_by_key_with(&rb, 2usize);
            assert_eq!(s.num_partitions(), 2);
            let keys: BTreeSet<u32> = b.iter().map(|x| x.0).collect();
            let want: Vec<(u32, i64)> =
                a.iter().copied().filter(|x| !keys.contains(&x.0)).collect();
            assert_eq!(sorted(s.collect().unwrap()), sorted(want));
        }
    }
}

#[test]
fn join_keeps_an_existing_partitioner() {
    let ctx = ctx();
    let a = pairs(100, 9, 1);
    let b: Vec<(u32, String)> = right_inputs().pop().unwrap();
    let ra = ctx
        .parallelize_with(a.clone(), 3)
        .partition_by(HashPartitioner::new(4));
    let rb = ctx.parallelize_with(b.clone(), 7);
    // Spark's defaultPartitioner: the eligible existing partitioner wins over 7 partitions.
    let j = ra.join(&rb);
    assert_hash_partitioned(&j, 4);
    assert_eq!(sorted(j.collect().unwrap()), join_ref(&a, &b));
    let j2 = rb.map(|(k, w)| (k, w)).join(&ra);
    assert_hash_partitioned(&j2, 4);
    // Co-partitioned parents.
    let rb4 = rb.partition_by(HashPartitioner::new(4));
    let j3 = ra.join(&rb4);
    assert_hash_partitioned(&j3, 4);
    assert_eq!(sorted(j3.collect().unwrap()), join_ref(&a, &b));
    let cg = ra.cogroup(&rb4);
    assert_hash_partitioned(&cg, 4);
}

#[test]
fn subtract_by_key_matches_reference() {
    let ctx = ctx();
    for a in pair_inputs() {
        for b in right_inputs() {
            let keys: BTreeSet<u32> = b.iter().map(|x| x.0).collect();
            let want: Vec<(u32, i64)> =
                a.iter().copied().filter(|x| !keys.contains(&x.0)).collect();
            for (pa, pb) in [(1usize, 3usize), (7, 1), (3, 3)] {
                let got = ctx
                    .parallelize_with(a.clone(), pa)
                    .subtract_by_key(&ctx.parallelize_with(b.clone(), pb))
                    .collect()
                    .unwrap();
                assert_eq!(sorted(got), sorted(want.clone()));
            }
        }
    }
}

#[test]
fn lookup_matches_reference() {
    let ctx = ctx();
    for data in pair_inputs() {
        for p in PARTS {
            let plain = ctx.parallelize_with(data.clone(), p);
            let hashed = plain.partition_by(HashPartitioner::new(4));
            for k in 0u32..13 {
                let want: Vec<i64> =
                    sorted(data.iter().filter(|x| x.0 == k).map(|x| x.1).collect());
                assert_eq!(sorted(plain.lookup(&k).unwrap()), want, "key {k}");
                assert_eq!(sorted(hashed.lookup(&k).unwrap()), want, "key {k}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------------------

#[test]
fn sort_by_key_descending_with_duplicates() {
    let ctx = Context::local(2).unwrap();
    let data: Vec<(i64, i64)> = (0..500).map(|i| ((i * 7919) % 13, i)).collect();
    let rdd = ctx.parallelize_with(data.clone(), 6);
    for parts in [1, 3, 6, 20] {
        let desc = rdd
            .sort_by_key_with(false, parts)
            .unwrap()
            .collect()
            .unwrap();
        let keys: Vec<i64> = desc.iter().map(|p| p.0).collect();
        let mut expect: Vec<i64> = data.iter().map(|p| p.0).collect();
        expect.sort_by(|a, b| b.cmp(a));
        assert_eq!(keys, expect, "partitions={parts}");
        let mut vals: Vec<i64> = desc.iter().map(|p| p.1).collect();
        vals.sort();
        assert_eq!(vals, (0..500).collect::<Vec<_>>());
        let asc = rdd
            .sort_by_key_with(true, parts)
            .unwrap()
            .collect()
            .unwrap();
        let mut e2 = expect.clone();
        e2.reverse();
        assert_eq!(asc.iter().map(|p| p.0).collect::<Vec<_>>(), e2);
    }
    // All keys equal.
    let same = ctx.parallelize_with(vec![(1i64, 1i64); 100], 4);
    assert_eq!(
        same.sort_by_key_with(false, 4).unwrap().count().unwrap(),
        100
    );
}
