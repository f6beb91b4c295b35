//! Property tests: on random inputs and partition counts, spate's pair and set operations
//! equal their textbook definitions (nested loops, sets, folds).
//!
//! Each test function starts one local context and runs a modest number of proptest cases
//! against it (every case runs several jobs).

mod oracle_common;

use oracle_common::read_lines;
use proptest::prelude::*;
use spate_core::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const CASES: u32 = 24;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(CASES)
}

fn ctx() -> Context {
    Context::local(3).expect("local context")
}

/// Pairs over few keys (so keys repeat) with small values.
fn kvs(max_len: usize) -> impl Strategy<Value = Vec<(u8, i32)>> {
    prop::collection::vec((0u8..12, -50i32..50), 0..max_len)
}

/// Pairs with string values, for the right side of joins.
fn kws(max_len: usize) -> impl Strategy<Value = Vec<(u8, String)>> {
    prop::collection::vec((0u8..12, "[a-c]{0,3}"), 0..max_len)
}

fn parts() -> impl Strategy<Value = usize> {
    1usize..8
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Spark's `ParallelCollectionRDD.slice`.
fn slices<T: Clone>(v: &[T], p: usize) -> Vec<Vec<T>> {
    let n = v.len();
    (0..p)
        .map(|i| v[i * n / p..(i + 1) * n / p].to_vec())
        .collect()
}

fn grouped<K: Ord + Clone, V: Ord + Clone>(v: &[(K, V)]) -> BTreeMap<K, Vec<V>> {
    let mut m: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, x) in v {
        m.entry(k.clone()).or_default().push(x.clone());
    }
    for g in m.values_mut() {
        g.sort();
    }
    m
}

#[test]
fn reduce_by_key_equals_group_by_key_then_fold() {
    let ctx = ctx();
    proptest!(config(), |(data in kvs(80), p in parts(), q in parts())| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        let reduced = sorted(rdd.reduce_by_key(|a, b| a + b).collect().unwrap());
        let via_group = sorted(
            rdd.group_by_key()
                .map_values(|vs| vs.into_iter().reduce(|a, b| a + b).expect("groups are not empty"))
                .collect()
                .unwrap(),
        );
        prop_assert_eq!(&reduced, &via_group);
        let reference: Vec<(u8, i32)> = grouped(&data)
            .into_iter()
            .map(|(k, vs)| (k, vs.iter().sum()))
            .collect();
        prop_assert_eq!(&reduced, &reference);
        let with_q = rdd.reduce_by_key_with(|a, b| a + b, q);
        prop_assert_eq!(with_q.num_partitions(), q);
        prop_assert_eq!(sorted(with_q.collect().unwrap()), reference);
        // Every key exactly once.
        let keys: BTreeSet<u8> = reduced.iter().map(|x| x.0).collect();
        prop_assert_eq!(keys.len(), reduced.len());
    });
}

#[test]
fn group_by_key_groups_every_value_once() {
    let ctx = ctx();
    proptest!(config(), |(data in kvs(80), p in parts(), q in parts())| {
        let g = ctx.parallelize_with(data.clone(), p).group_by_key_with(HashPartitioner::new(q));
        prop_assert_eq!(g.num_partitions(), q);
        let parts = g.glom().collect().unwrap();
        let mut got: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
        for (i, part) in parts.iter().enumerate() {
            for (k, vs) in part {
                prop_assert_eq!(Partitioner::<u8>::partition(&HashPartitioner::new(q), k), i);
                prop_assert!(got.insert(*k, sorted(vs.clone())).is_none(), "key {} twice", k);
            }
        }
        prop_assert_eq!(got, grouped(&data));
    });
}

fn join_ref(a: &[(u8, i32)], b: &[(u8, String)]) -> Vec<(u8, (i32, String))> {
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

#[test]
fn join_equals_nested_loop_join() {
    let ctx = ctx();
    proptest!(config(), |(a in kvs(40), b in kws(40), pa in parts(), pb in parts())| {
        let ra = ctx.parallelize_with(a.clone(), pa);
        let rb = ctx.parallelize_with(b.clone(), pb);
        let j = ra.join(&rb);
        prop_assert_eq!(j.num_partitions(), pa.max(pb));
        prop_assert_eq!(sorted(j.collect().unwrap()), join_ref(&a, &b));
        // Joining pre-partitioned inputs gives the same pairs.
        let pa4 = ra.partition_by(HashPartitioner::new(4));
        let pb4 = rb.partition_by(HashPartitioner::new(4));
        prop_assert_eq!(sorted(pa4.join(&pb4).collect().unwrap()), join_ref(&a, &b));
        prop_assert_eq!(sorted(pa4.join(&rb).collect().unwrap()), join_ref(&a, &b));
        // Self-join of a partitioned RDD (both sides already co-partitioned).
        let self_ref: Vec<(u8, (i32, i32))> = {
            let mut out = Vec::new();
            for (k, v) in &a {
                for (k2, w) in &a {
                    if k == k2 {
                        out.push((*k, (*v, *w)));
                    }
                }
            }
            sorted(out)
        };
        prop_assert_eq!(sorted(pa4.join(&pa4).collect().unwrap()), self_ref);
    });
}

#[test]
fn left_outer_join_equals_definition() {
    let ctx = ctx();
    proptest!(config(), |(a in kvs(40), b in kws(40), pa in parts(), pb in parts())| {
        let got = ctx
            .parallelize_with(a.clone(), pa)
            .left_outer_join(&ctx.parallelize_with(b.clone(), pb))
            .collect()
            .unwrap();
        let mut want = Vec::new();
        for (k, v) in &a {
            let ws: Vec<&String> = b.iter().filter(|x| x.0 == *k).map(|x| &x.1).collect();
            if ws.is_empty() {
                want.push((*k, (*v, None)));
            }
            for w in ws {
                want.push((*k, (*v, Some(w.clone()))));
            }
        }
        prop_assert_eq!(sorted(got), sorted(want));
    });
}

#[test]
fn right_outer_join_equals_definition() {
    let ctx = ctx();
    proptest!(config(), |(a in kvs(40), b in kws(40), pa in parts(), pb in parts())| {
        let got = ctx
            .parallelize_with(a.clone(), pa)
            .right_outer_join(&ctx.parallelize_with(b.clone(), pb))
            .collect()
            .unwrap();
        let mut want = Vec::new();
        for (k, w) in &b {
            let vs: Vec<i32> = a.iter().filter(|x| x.0 == *k).map(|x| x.1).collect();
            if vs.is_empty() {
                want.push((*k, (None, w.clone())));
            }
            for v in vs {
                want.push((*k, (Some(v), w.clone())));
            }
        }
        prop_assert_eq!(sorted(got), sorted(want));
    });
}

#[test]
fn full_outer_join_equals_definition() {
    let ctx = ctx();
    proptest!(config(), |(a in kvs(40), b in kws(40), pa in parts(), pb in parts())| {
        let got = ctx
            .parallelize_with(a.clone(), pa)
            .full_outer_join(&ctx.parallelize_with(b.clone(), pb))
            .collect()
            .unwrap();
        let mut want: Vec<(u8, (Option<i32>, Option<String>))> = Vec::new();
        for (k, v) in &a {
            let ws: Vec<&String> = b.iter().filter(|x| x.0 == *k).map(|x| &x.1).collect();
            if ws.is_empty() {
                want.push((*k, (Some(*v), None)));
            }
            for w in ws {
                want.push((*k, (Some(*v), Some(w.clone()))));
            }
        }
        for (k, w) in &b {
            if !a.iter().any(|x| x.0 == *k) {
                want.push((*k, (None, Some(w.clone()))));
            }
        }
        prop_assert_eq!(sorted(got), sorted(want));
    });
}

#[test]
fn cogroup_equals_definition() {
    let ctx = ctx();
    proptest!(config(), |(a in kvs(40), b in kws(40), pa in parts(), pb in parts(), q in parts())| {
        let ra = ctx.parallelize_with(a.clone(), pa);
        let rb = ctx.parallelize_with(b.clone(), pb);
        let mut want: BTreeMap<u8, (Vec<i32>, Vec<String>)> = BTreeMap::new();
        for (k, v) in &a {
            want.entry(*k).or_default().0.push(*v);
        }
        for (k, w) in &b {
            want.entry(*k).or_default().1.push(w.clone());
        }
        let want: Vec<(u8, (Vec<i32>, Vec<String>))> = want
            .into_iter()
            .map(|(k, (vs, ws))| (k, (sorted(vs), sorted(ws))))
            .collect();
        for cg in [ra.cogroup(&rb), ra.cogroup_with(&rb, q)] {
            let got = cg
                .map_values(|(vs, ws)| (sorted(vs), sorted(ws)))
                .collect()
                .unwrap();
            // One record per key of either side.
            prop_assert_eq!(sorted(got), want.clone());
        }
    });
}

#[test]
fn sort_by_key_is_a_sorted_permutation() {
    let ctx = ctx();
    proptest!(config(), |(data in kvs(120), p in parts(), n in parts(), ascending in any::<bool>())| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        let s = rdd.sort_by_key_with(ascending, n).unwrap();
        prop_assert!(s.num_partitions() <= n);
        let parts = s.glom().collect().unwrap();
        let got: Vec<(u8, i32)> = parts.iter().flatten().copied().collect();
        prop_assert_eq!(&got, &s.collect().unwrap());
        prop_assert!(
            got.windows(2).all(|w| if ascending { w[0].0 <= w[1].0 } else { w[0].0 >= w[1].0 }),
            "not sorted: {:?}",
            got
        );
        prop_assert_eq!(sorted(got), sorted(data.clone()));
        // Range partitioning: a key never spans two partitions.
        let mut seen: HashMap<u8, usize> = HashMap::new();
        for (i, part) in parts.iter().enumerate() {
            for (k, _) in part {
                prop_assert_eq!(*seen.entry(*k).or_insert(i), i);
            }
        }
        // sort_by on the records themselves gives exactly the sorted input.
        let mut want = sorted(data.clone());
        if !ascending {
            want.reverse();
        }
        prop_assert_eq!(rdd.sort_by(|x: &(u8, i32)| *x, ascending, n).unwrap().collect().unwrap(), want);
    });
}

#[test]
fn distinct_equals_a_set() {
    let ctx = ctx();
    proptest!(config(), |(data in prop::collection::vec(-20i32..20, 0..100), p in parts(), q in parts())| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        let want: Vec<i32> = data.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
        prop_assert_eq!(sorted(rdd.distinct().collect().unwrap()), want.clone());
        let dq = rdd.distinct_with(q);
        prop_assert_eq!(dq.num_partitions(), q);
        prop_assert_eq!(sorted(dq.collect().unwrap()), want);
    });
}

#[test]
fn aggregate_fold_combine_by_key_equal_reference_folds() {
    let ctx = ctx();
    proptest!(config(), |(data in kvs(80), p in parts(), q in parts(), map_side in any::<bool>())| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        let g = grouped(&data);

        // aggregate_by_key into (sum, count, max).
        let agg = rdd.aggregate_by_key(
            (0i64, 0u32, i32::MIN),
            |(s, c, m), v| (s + v as i64, c + 1, m.max(v)),
            |(s1, c1, m1), (s2, c2, m2)| (s1 + s2, c1 + c2, m1.max(m2)),
        );
        let want: Vec<(u8, (i64, u32, i32))> = g
            .iter()
            .map(|(k, vs)| {
                (*k, (vs.iter().map(|v| *v as i64).sum(), vs.len() as u32, *vs.iter().max().unwrap()))
            })
            .collect();
        prop_assert_eq!(sorted(agg.collect().unwrap()), want);

        // fold_by_key with the identity zero: the plain sum.
        let want_sum: Vec<(u8, i32)> = g.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        prop_assert_eq!(sorted(rdd.fold_by_key(0, |a, b| a + b).collect().unwrap()), want_sum.clone());
        // With another zero, Spark folds it in once per map partition holding the key.
        let mut holders: BTreeMap<u8, i32> = BTreeMap::new();
        for s in slices(&data, p) {
            for k in s.iter().map(|x| x.0).collect::<BTreeSet<_>>() {
                *holders.entry(k).or_default() += 1;
            }
        }
        let want_z: Vec<(u8, i32)> = want_sum.iter().map(|(k, s)| (*k, s + 7 * holders[k])).collect();
        prop_assert_eq!(sorted(rdd.fold_by_key(7, |a, b| a + b).collect().unwrap()), want_z);

        // combine_by_key into the sorted list of values.
        let comb = rdd
            .combine_by_key_with(
                |v| vec![v],
                |mut c: Vec<i32>, v| {
                    c.push(v);
                    c
                },
                |mut a: Vec<i32>, b: Vec<i32>| {
                    a.extend(b);
                    a
                },
                q,
                map_side,
            )
            .map_values(sorted);
        prop_assert_eq!(comb.num_partitions(), q);
        prop_assert_eq!(sorted(comb.collect().unwrap()), g.into_iter().collect::<Vec<_>>());
    });
}

#[test]
fn count_by_key_and_count_by_value_equal_reference_counts() {
    let ctx = ctx();
    proptest!(config(), |(data in kvs(100), p in parts())| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        let mut by_key: HashMap<u8, u64> = HashMap::new();
        let mut by_value: HashMap<(u8, i32), u64> = HashMap::new();
        for x in &data {
            *by_key.entry(x.0).or_default() += 1;
            *by_value.entry(*x).or_default() += 1;
        }
        prop_assert_eq!(rdd.count_by_key().unwrap(), by_key);
        prop_assert_eq!(rdd.count_by_value().unwrap(), by_value);
        prop_assert_eq!(rdd.count().unwrap(), data.len() as u64);
    });
}

#[test]
fn intersection_subtract_subtract_by_key_equal_set_definitions() {
    let ctx = ctx();
    let ints = || prop::collection::vec(-15i32..15, 0..60);
    proptest!(config(), |(a in ints(), b in ints(), pa in parts(), pb in parts(), ka in kvs(40), kb in kws(40))| {
        let ra = ctx.parallelize_with(a.clone(), pa);
        let rb = ctx.parallelize_with(b.clone(), pb);
        let sa: BTreeSet<i32> = a.iter().copied().collect();
        let sb: BTreeSet<i32> = b.iter().copied().collect();
        // Intersection is distinct.
        let want: Vec<i32> = sa.intersection(&sb).copied().collect();
        prop_assert_eq!(sorted(ra.intersection(&rb).collect().unwrap()), want);
        // Subtract keeps the left side's duplicates.
        let want: Vec<i32> = a.iter().copied().filter(|x| !sb.contains(x)).collect();
        prop_assert_eq!(sorted(ra.subtract(&rb).collect().unwrap()), sorted(want));
        // subtract_by_key: the left pairs whose key the right side lacks.
        let keys: BTreeSet<u8> = kb.iter().map(|x| x.0).collect();
        let want: Vec<(u8, i32)> = ka.iter().copied().filter(|x| !keys.contains(&x.0)).collect();
        let got = ctx
            .parallelize_with(ka.clone(), pa)
            .subtract_by_key(&ctx.parallelize_with(kb.clone(), pb))
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), sorted(want));
    });
}

#[test]
fn narrow_operations_and_actions_follow_partition_order() {
    let ctx = ctx();
    proptest!(config(), |(data in prop::collection::vec(-100i64..100, 0..100), p in parts(), n in 0usize..120, c in parts())| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        prop_assert_eq!(rdd.glom().collect().unwrap(), slices(&data, p));
        prop_assert_eq!(rdd.take(n).unwrap(), data.iter().copied().take(n).collect::<Vec<_>>());
        let idx = rdd.zip_with_index().unwrap().collect().unwrap();
        prop_assert_eq!(idx, data.iter().copied().zip(0u64..).collect::<Vec<_>>());
        let co = rdd.coalesce(c, false);
        prop_assert_eq!(co.num_partitions(), c.min(p));
        prop_assert_eq!(co.collect().unwrap(), data.clone());
        let re = rdd.repartition(c);
        prop_assert_eq!(re.num_partitions(), c);
        prop_assert_eq!(sorted(re.collect().unwrap()), sorted(data.clone()));
        let asc = sorted(data.clone());
        prop_assert_eq!(rdd.take_ordered(n).unwrap(), asc.iter().copied().take(n).collect::<Vec<_>>());
        prop_assert_eq!(rdd.top(n).unwrap(), asc.iter().rev().copied().take(n).collect::<Vec<_>>());
        match rdd.reduce(|a, b| a + b) {
            Ok(s) => prop_assert_eq!(s, data.iter().sum::<i64>()),
            Err(Error::EmptyRdd(_)) => prop_assert!(data.is_empty()),
            Err(e) => prop_assert!(false, "reduce failed: {}", e),
        }
    });
}

/// Lines of letters and spaces, each ended by `\n` or `\r\n`; the last one maybe unended.
fn text() -> impl Strategy<Value = (Vec<String>, String)> {
    (
        prop::collection::vec(("[a-z ]{0,12}", any::<bool>()), 0..60),
        any::<bool>(),
    )
        .prop_map(|(lines, unended)| {
            let mut content = String::new();
            for (line, crlf) in &lines {
                content.push_str(line);
                content.push_str(if *crlf { "\r\n" } else { "\n" });
            }
            if unended {
                if let Some((last, crlf)) = lines.last() {
                    if !last.is_empty() {
                        content.truncate(content.len() - if *crlf { 2 } else { 1 });
                    }
                }
            }
            (lines.into_iter().map(|l| l.0).collect(), content)
        })
}

#[test]
fn text_file_reads_every_line_once() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let seq = std::sync::atomic::AtomicUsize::new(0);
    proptest!(config(), |(files in prop::collection::vec(text(), 1..4), mp in 1usize..40)| {
        let sub = dir.path().join(format!("d{}", seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        std::fs::create_dir(&sub).unwrap();
        let mut all = Vec::new();
        for (i, (lines, content)) in files.iter().enumerate() {
            let f = sub.join(format!("part-{i:05}"));
            std::fs::write(&f, content).unwrap();
            let got: Vec<String> = read_lines(&ctx, &f, mp);
            prop_assert_eq!(&got, lines, "file {:?} min_partitions {}", content, mp);
            all.extend(lines.iter().cloned());
        }
        let got: Vec<String> = read_lines(&ctx, &sub, mp);
        prop_assert_eq!(got, all);
    });
}

#[test]
fn save_as_text_file_round_trips() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let seq = std::sync::atomic::AtomicUsize::new(0);
    proptest!(config(), |(lines in prop::collection::vec("[a-z0-9 ]{0,10}", 0..60), p in parts(), mp in parts())| {
        let out = dir.path().join(format!("o{}", seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        ctx.parallelize_with(lines.clone(), p).save_as_text_file(&out).unwrap();
        prop_assert!(out.join("_SUCCESS").exists());
        for i in 0..p {
            let part = out.join(format!("part-{i:05}"));
            prop_assert!(part.exists(), "missing {}", part.display());
        }
        let got: Vec<String> = read_lines(&ctx, &out, mp);
        prop_assert_eq!(got, lines);
    });
}

#[test]
fn spilling_aggregations_equal_reference() {
    // A tiny execution budget makes every aggregation spill sorted runs and merge them.
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .unwrap()
            .set("spate.memory.executionBytes", "4k")
            .unwrap(),
    )
    .unwrap();
    let data = prop::collection::vec((0u16..8000, -1000i64..1000), 3000..6000);
    proptest!(ProptestConfig::with_cases(12), |(data in data, p in 1usize..4, q in 1usize..4)| {
        let rdd = ctx.parallelize_with(data.clone(), p);
        let g = grouped(&data);
        let want_sum: Vec<(u16, i64)> = g.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        prop_assert_eq!(sorted(rdd.reduce_by_key_with(|a, b| a + b, q).collect().unwrap()), want_sum);
        let groups = rdd.group_by_key_with(q).map_values(sorted).collect().unwrap();
        prop_assert_eq!(sorted(groups), g.clone().into_iter().collect::<Vec<_>>());
        let keys: Vec<u16> = g.keys().copied().collect();
        prop_assert_eq!(sorted(rdd.keys().distinct().collect().unwrap()), keys);
    });
    assert!(
        ctx.block_store()
            .metrics()
            .spills
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the budget should have forced spills"
    );
}
