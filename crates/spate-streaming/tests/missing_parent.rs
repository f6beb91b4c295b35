//! A parent stream with no RDD for a batch (a `replay_stream` batch given as `None`, as
//! opposed to an empty RDD) fails that batch for the operations Spark builds on
//! `UnionDStream` and `TransformedDStream` (`union`, `transform`, `transform_with`, the
//! joins, `cogroup`, `count`, `repartition`, `StreamingContext::transform`), with an error
//! naming the parent; later batches still run. The operations Spark builds on their own
//! DStream classes (`map`, `filter`, `window`, `reduce_by_key`, ...) just have no RDD then.

mod support;

use spate_core::Rdd;
use support::*;

/// Batch 2 (time 2000) has no RDD.
fn gappy(ssc: &StreamingContext) -> DStream<i64> {
    ssc.replay_stream(vec![Some(vec![1, 2]), None, Some(vec![3])], 2)
}

/// Batch 2 (time 2000) is an empty RDD.
fn empty_second(ssc: &StreamingContext) -> DStream<i64> {
    ssc.replay_stream(vec![Some(vec![1, 2]), Some(vec![]), Some(vec![3])], 2)
}

fn full(ssc: &StreamingContext) -> DStream<i64> {
    ssc.replay_stream(vec![Some(vec![10]), Some(vec![20]), Some(vec![30])], 2)
}

fn pairs(s: &DStream<i64>) -> DStream<(i64, i64)> {
    s.map(|x| (x % 2, x))
}

fn id_and_op<T: spate_core::Data>(s: &DStream<T>) -> (usize, &'static str) {
    let b = s.base();
    (b.meta().id(), b.meta().name())
}

/// Runs batches 1000, 2000 and 3000 of `ssc`, whose one output collects `out`: batch
/// 2000 must fail naming `parent` (id, operation) and `stream`, the others run.
fn assert_fails_at_2000<T: Clone>(
    ssc: &StreamingContext,
    out: &Out<T>,
    parent: (usize, &'static str),
    stream: (usize, &'static str),
) {
    let expected = format!(
        "could not generate RDD from parent stream {} ({}) at time 2000 ms for stream {} ({})",
        parent.0, parent.1, stream.0, stream.1
    );
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let err = ssc.advance_batches(1).unwrap_err();
    match &err {
        Error::OutputFailed {
            time_ms,
            output,
            name,
            cause,
        } => {
            assert_eq!((*time_ms, *output, *name), (2000, 0, "foreach_rdd"));
            assert!(
                cause.to_string().contains(&expected),
                "{cause}\nexpected: {expected}"
            );
            // The cause is kept whole, as the error's source.
            assert!(std::error::Error::source(&err).is_some());
        }
        other => panic!("not an output failure: {other}"),
    }
    // The context keeps running: the next batch runs.
    ssc.advance_batches(1).unwrap();
    let times: Vec<i64> = out.lock().iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![1000, 3000]);
    // The batch's record shows the failed output operation; the others succeeded.
    let batches = ssc.completed_batches();
    let failures: Vec<(i64, Option<String>)> = batches
        .iter()
        .map(|b| {
            assert_eq!(b.output_operations.len(), 1, "{b:?}");
            (
                b.batch_time.millis(),
                b.output_operations[0].failure.clone(),
            )
        })
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert_eq!((failures[0].0, &failures[0].1), (1000, &None));
    assert_eq!(failures[1].0, 2000);
    assert!(
        failures[1]
            .1
            .as_deref()
            .is_some_and(|f| f.contains(&expected)),
        "{:?}",
        failures[1]
    );
    assert_eq!((failures[2].0, &failures[2].1), (3000, &None));
    // await_termination reports the failure.
    let awaited = ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap_err();
    assert!(awaited.to_string().contains(&expected), "{awaited}");
    ssc.stop(false, false);
}

#[test]
fn union_fails_for_a_batch_with_no_rdd_from_a_parent() {
    let ssc = manual_ssc_skipping();
    let (a, b) = (gappy(&ssc), full(&ssc));
    let u = a.union(&b);
    let out = collect(&u);
    assert_fails_at_2000(&ssc, &out, id_and_op(&a), id_and_op(&u));
    assert_eq!(
        out.lock()
            .iter()
            .map(|(t, v)| (*t, sorted(v)))
            .collect::<Vec<_>>(),
        vec![(1000, vec![1, 2, 10]), (3000, vec![3, 30])]
    );
}

#[test]
fn context_union_names_the_parent_without_an_rdd() {
    let ssc = manual_ssc_skipping();
    let (a, b, c) = (full(&ssc), gappy(&ssc), full(&ssc));
    let u = ssc.union(&[a, b.clone(), c]);
    let out = collect(&u);
    assert_fails_at_2000(&ssc, &out, id_and_op(&b), id_and_op(&u));
}

#[test]
fn a_map_of_a_parent_without_an_rdd_has_none_and_fails_the_union_above_it() {
    // map gives no RDD for a parent without one (Spark's MappedDStream); the union fails
    // naming the map.
    let ssc = manual_ssc_skipping();
    let m = gappy(&ssc).map(|x| x * 100);
    let u = full(&ssc).union(&m);
    let out = collect(&u);
    assert_fails_at_2000(&ssc, &out, (id_and_op(&m).0, "map"), id_and_op(&u));
}

#[test]
fn transform_fails_for_a_batch_with_no_rdd() {
    let ssc = manual_ssc_skipping();
    let a = gappy(&ssc);
    let t = a.transform(|rdd, _| Ok(rdd.map(|x| x + 1)));
    let out = collect(&t);
    assert_fails_at_2000(&ssc, &out, id_and_op(&a), (id_and_op(&t).0, "transform"));
    assert_eq!(
        out.lock()
            .iter()
            .map(|(t, v)| (*t, sorted(v)))
            .collect::<Vec<_>>(),
        vec![(1000, vec![2, 3]), (3000, vec![4])]
    );
}

#[test]
fn transform_with_fails_when_either_parent_has_no_rdd() {
    let ssc = manual_ssc_skipping();
    let (a, b) = (full(&ssc), gappy(&ssc));
    let t = a.transform_with(&b, |x: Rdd<i64>, y: Rdd<i64>, _| Ok(x.union(&y)));
    let out = collect(&t);
    assert_fails_at_2000(
        &ssc,
        &out,
        id_and_op(&b),
        (id_and_op(&t).0, "transform_with"),
    );
}

#[test]
fn join_fails_for_a_batch_with_no_rdd_from_a_parent() {
    let ssc = manual_ssc_skipping();
    let a = pairs(&gappy(&ssc));
    let j = a.join(&pairs(&full(&ssc)));
    let out = collect(&j);
    assert_fails_at_2000(
        &ssc,
        &out,
        (id_and_op(&a).0, "map"),
        (id_and_op(&j).0, "join"),
    );
}

#[test]
fn outer_joins_fail_for_a_batch_with_no_rdd_from_a_parent() {
    for kind in ["left_outer_join", "right_outer_join", "full_outer_join"] {
        let ssc = manual_ssc_skipping();
        let (a, b) = (pairs(&full(&ssc)), pairs(&gappy(&ssc)));
        let (id, out) = match kind {
            "left_outer_join" => {
                let j = a.left_outer_join(&b);
                (id_and_op(&j).0, collect(&j.map(|_| 1u8)))
            }
            "right_outer_join" => {
                let j = a.right_outer_join(&b);
                (id_and_op(&j).0, collect(&j.map(|_| 1u8)))
            }
            _ => {
                let j = a.full_outer_join(&b);
                (id_and_op(&j).0, collect(&j.map(|_| 1u8)))
            }
        };
        // The output reads a map of the join: the join's failure fails the map's batch.
        assert_fails_at_2000(&ssc, &out, (id_and_op(&b).0, "map"), (id, kind));
    }
}

#[test]
fn cogroup_fails_for_a_batch_with_no_rdd_from_a_parent() {
    let ssc = manual_ssc_skipping();
    let b = pairs(&gappy(&ssc));
    let c = pairs(&full(&ssc)).cogroup(&b);
    let out = collect(&c);
    assert_fails_at_2000(
        &ssc,
        &out,
        (id_and_op(&b).0, "map"),
        (id_and_op(&c).0, "cogroup"),
    );
}

#[test]
fn count_fails_for_a_batch_with_no_rdd() {
    let ssc = manual_ssc_skipping();
    let a = gappy(&ssc);
    let c = a.count();
    let out = collect(&c);
    assert_fails_at_2000(&ssc, &out, id_and_op(&a), (id_and_op(&c).0, "count"));
    assert_eq!(
        out.lock().clone(),
        vec![(1000, vec![2i64]), (3000, vec![1])]
    );
}

#[test]
fn repartition_fails_for_a_batch_with_no_rdd() {
    let ssc = manual_ssc_skipping();
    let a = gappy(&ssc);
    let r = a.repartition(3);
    let out = collect(&r);
    assert_fails_at_2000(&ssc, &out, id_and_op(&a), (id_and_op(&r).0, "repartition"));
}

#[test]
fn context_transform_combines_several_streams_and_fails_without_an_rdd() {
    let ssc = manual_ssc_skipping();
    let (a, b) = (full(&ssc), gappy(&ssc));
    let t = ssc.transform(&[a, b.clone()], |rdds, time| {
        assert_eq!(rdds.len(), 2);
        let ms = time.millis();
        Ok(rdds[0].union(&rdds[1]).map(move |x| x + ms))
    });
    let out = collect(&t);
    assert_fails_at_2000(&ssc, &out, id_and_op(&b), (id_and_op(&t).0, "transform"));
    assert_eq!(
        out.lock()
            .iter()
            .map(|(t, v)| (*t, sorted(v)))
            .collect::<Vec<_>>(),
        vec![(1000, vec![1001, 1002, 1010]), (3000, vec![3003, 3030])]
    );
}

#[test]
fn context_transform_checks_its_streams() {
    let ssc = manual_ssc_skipping();
    let none: &[DStream<i64>] = &[];
    ssc.transform(none, |rdds, _| Ok(rdds[0].clone())).print();
    let err = ssc.start().unwrap_err();
    assert!(err.to_string().contains("at least one stream"), "{err}");

    let ssc = manual_ssc_skipping();
    let a = full(&ssc);
    let w = a.window_with(Duration::from_secs(2), Duration::from_secs(2));
    ssc.transform(&[a, w], |rdds, _| Ok(rdds[0].clone()))
        .print();
    let err = ssc.start().unwrap_err();
    assert!(err.to_string().starts_with("transform (stream "), "{err}");
    assert!(err.to_string().contains("different slides"), "{err}");
}

#[test]
fn empty_rdds_do_not_fail() {
    let ssc = manual_ssc_skipping();
    let (a, b) = (empty_second(&ssc), full(&ssc));
    let union = collect(&a.union(&b));
    let transformed = collect(&a.transform(|rdd, _| Ok(rdd)));
    let with = collect(&a.transform_with(&b, |x, _y, _| Ok(x)));
    let joined = collect(&pairs(&a).join(&pairs(&b)));
    let cogrouped = collect(&pairs(&a).cogroup(&pairs(&b)));
    let counted = collect(&a.count());
    let n_ary = collect(&ssc.transform(&[a.clone(), b.clone()], |rdds, _| Ok(rdds[0].clone())));
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    let times = |o: &Vec<i64>| o.clone();
    for (name, t) in [
        (
            "union",
            union.lock().iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        ),
        (
            "transform",
            transformed.lock().iter().map(|(t, _)| *t).collect(),
        ),
        (
            "transform_with",
            with.lock().iter().map(|(t, _)| *t).collect(),
        ),
        ("join", joined.lock().iter().map(|(t, _)| *t).collect()),
        (
            "cogroup",
            cogrouped.lock().iter().map(|(t, _)| *t).collect(),
        ),
        ("count", counted.lock().iter().map(|(t, _)| *t).collect()),
        (
            "n-ary transform",
            n_ary.lock().iter().map(|(t, _)| *t).collect(),
        ),
    ] {
        assert_eq!(times(&t), vec![1000, 2000, 3000], "{name}");
    }
    assert_eq!(
        counted.lock().clone(),
        vec![(1000, vec![2i64]), (2000, vec![0]), (3000, vec![1])]
    );
    assert!(ssc
        .completed_batches()
        .iter()
        .all(|b| b.output_operations.iter().all(|o| o.failure.is_none())));
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .is_ok());
    ssc.stop(false, false);
}

#[test]
fn operations_spark_does_not_fail_just_have_no_rdd() {
    // Spark's MappedDStream, FilteredDStream, ShuffledDStream, WindowedDStream, ... give
    // no RDD for a parent without one; foreachRDD then runs no job.
    let ssc = manual_ssc_skipping();
    let a = gappy(&ssc);
    let p = pairs(&a);
    let outs = vec![
        ("map", collect(&a.map(|x| x + 1))),
        ("filter", collect(&a.filter(|x| *x > 0))),
        ("flat_map", collect(&a.flat_map(|x| vec![x, x]))),
        ("map_partitions", collect(&a.map_partitions(|it| it))),
        ("glom", collect(&a.glom().map(|v| v.len() as i64))),
        ("reduce", collect(&a.reduce(|x, y| x + y))),
        (
            "count_by_value",
            collect(&a.count_by_value().map(|(_, n)| n)),
        ),
        (
            "reduce_by_key",
            collect(&p.reduce_by_key(|x, y| x + y).map(|kv| kv.1)),
        ),
        ("group_by_key", collect(&p.group_by_key().map(|kv| kv.0))),
        (
            "map_values",
            collect(&p.map_values(|v| v * 2).map(|kv| kv.1)),
        ),
    ];
    let window = collect(&a.window_with(Duration::from_secs(2), Duration::from_secs(1)));
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    for (name, out) in &outs {
        let times: Vec<i64> = out.lock().iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![1000, 3000], "{name}");
    }
    // The window at 2000 covers batch 1000's RDD.
    assert_eq!(
        window
            .lock()
            .iter()
            .map(|(t, v)| (*t, sorted(v)))
            .collect::<Vec<_>>(),
        vec![(1000, vec![1, 2]), (2000, vec![1, 2]), (3000, vec![3])]
    );
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .is_ok());
    ssc.stop(false, false);
}
