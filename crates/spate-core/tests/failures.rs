//! Fault tolerance: failing and flaky tasks, lost shuffle output, evicted cache, spills,
//! checkpoints, a stopped context, a task for another lineage, and an action called inside
//! a task (an error, not a hang).

use spate_core::storage::BlockId;
use spate_core::{Context, Error, SpateConf, StorageLevel, TaskContext};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn ctx_with(extra: &[(&str, &str)]) -> Context {
    let mut conf = SpateConf::new().master("local[2]").unwrap();
    for (k, v) in extra {
        conf = conf.set(k, *v).unwrap();
    }
    Context::new(conf).unwrap()
}

#[test]
fn a_panic_on_one_record_fails_the_job_with_its_message_after_retries() {
    let ctx = ctx_with(&[("spate.task.maxFailures", "3")]);
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let rdd = ctx
        .parallelize_with((0..100).collect::<Vec<i32>>(), 4)
        .map(move |x| {
            if x == 13 {
                a.fetch_add(1, Ordering::SeqCst);
                panic!("bad record {x}");
            }
            x * 2
        });
    let err = rdd.collect().unwrap_err();
    match &err {
        Error::JobFailed {
            attempts: n, cause, ..
        } => {
            assert_eq!(*n, 3);
            assert!(cause.contains("bad record 13"), "{cause}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "the task was tried maxFailures times"
    );
    // The context is still usable.
    let sum: i32 = ctx
        .parallelize_with(vec![1, 2, 3], 2)
        .reduce(|a, b| a + b)
        .unwrap();
    assert_eq!(sum, 6);
}

#[test]
fn a_flaky_task_succeeds_on_retry_and_its_accumulator_counts_once() {
    let ctx = ctx_with(&[]);
    let acc = ctx.long_accumulator("records");
    let a = acc.clone();
    let rdd = ctx
        .parallelize_with((0..1000).collect::<Vec<i64>>(), 4)
        .map_partitions_with_index(move |i, it| {
            let first_try =
                TaskContext::with_current(|tc| tc.map(|t| t.attempt_number()) == Some(0));
            let v: Vec<i64> = it.inspect(|_| a.add(1)).collect();
            if i == 2 && first_try {
                panic!("flaky partition {i}");
            }
            v
        });
    let got = rdd.collect().unwrap();
    assert_eq!(got, (0..1000).collect::<Vec<i64>>());
    assert_eq!(
        acc.value(),
        1000,
        "the failed attempt's updates were dropped"
    );
    assert_eq!(acc.count(), 1000);
}

#[test]
fn lost_shuffle_output_is_recomputed() {
    let ctx = ctx_with(&[]);
    let map_side = ctx.long_accumulator("map side records");
    let m = map_side.clone();
    let counts = ctx
        .parallelize_with((0..10_000u64).collect::<Vec<_>>(), 4)
        .map(move |x| {
            m.add(1);
            (x % 97, 1u64)
        })
        .reduce_by_key(|a, b| a + b);
    let mut first = counts.collect().unwrap();
    first.sort();
    assert_eq!(map_side.value(), 10_000);
    // A second action reuses the shuffle output: the map side does not run again.
    assert_eq!(counts.count().unwrap(), 97);
    assert_eq!(map_side.value(), 10_000);
    // Lose the output of map task 1 (as if its executor died).
    let bs = ctx.block_store();
    let lost = bs
        .block_ids()
        .into_iter()
        .find(|b| matches!(b, BlockId::Shuffle { map: 1, .. }))
        .expect("shuffle output stored as blocks");
    assert!(bs.remove(lost));
    let mut again = counts.collect().unwrap();
    again.sort();
    assert_eq!(again, first);
    assert_eq!(
        map_side.value(),
        12_500,
        "only the lost map partition was recomputed"
    );
}

#[test]
fn an_evicted_cached_partition_is_recomputed_with_the_same_result() {
    let ctx = ctx_with(&[("spate.memory.storageBytes", "64k")]);
    let computed = ctx.long_accumulator("computed");
    let c = computed.clone();
    // 8 partitions of about 20 KB each: they cannot all stay in 64 KB.
    let rdd = ctx
        .parallelize_with((0..16_000u64).collect::<Vec<_>>(), 8)
        .map(move |x| {
            c.add(1);
            (x, format!("value-{x}"))
        })
        .persist(StorageLevel::MEMORY_ONLY);
    let first = rdd.collect().unwrap();
    assert_eq!(computed.value(), 16_000);
    assert!(
        ctx.block_store()
            .metrics()
            .evictions
            .load(Ordering::Relaxed)
            + ctx.block_store().metrics().dropped.load(Ordering::Relaxed)
            > 0
    );
    let second = rdd.collect().unwrap();
    assert_eq!(first, second);
    assert!(
        computed.value() > 16_000,
        "evicted partitions were recomputed from lineage"
    );
    assert!(ctx.block_store().memory_used() <= 64 * 1024);
}

#[test]
fn memory_and_disk_keeps_evicted_partitions_on_disk() {
    let ctx = ctx_with(&[("spate.memory.storageBytes", "64k")]);
    let computed = ctx.long_accumulator("computed");
    let c = computed.clone();
    let rdd = ctx
        .parallelize_with((0..16_000u64).collect::<Vec<_>>(), 8)
        .map(move |x| {
            c.add(1);
            format!("{x:030}")
        })
        .persist(StorageLevel::MEMORY_AND_DISK_SER);
    let first = rdd.collect().unwrap();
    let second = rdd.collect().unwrap();
    assert_eq!(first, second);
    assert_eq!(
        computed.value(),
        16_000,
        "nothing recomputed: evicted blocks went to disk"
    );
    let on_disk = ctx
        .block_store()
        .block_ids()
        .into_iter()
        .filter(|b| ctx.block_store().location(*b) == Some("disk"))
        .count();
    assert!(on_disk > 0);
    rdd.unpersist();
    assert!(ctx
        .block_store()
        .block_ids()
        .iter()
        .all(|b| !matches!(b, BlockId::Rdd { .. })));
}

#[test]
fn a_shuffle_several_times_the_memory_budget_completes_by_spilling() {
    let ctx = ctx_with(&[
        ("spate.memory.storageBytes", "512k"),
        ("spate.memory.executionBytes", "512k"),
    ]);
    let n = 200_000u64;
    // About 200,000 distinct keys with 40-byte values: several MB through a 512 KB budget.
    let data = ctx
        .range(0, n as i64, 1, 4)
        .unwrap()
        .map(|x| (x as u64, format!("{x:040}")));
    let grouped = data.group_by_key_with(3);
    let sizes = grouped.map(|(k, vs)| (k, vs.len())).collect().unwrap();
    assert_eq!(sizes.len() as u64, n);
    assert!(sizes.iter().all(|(_, l)| *l == 1));
    let reduced = data
        .map(|(k, v)| (k % 50_000, v.len() as u64))
        .reduce_by_key_with(|a, b| a + b, 3)
        .collect()
        .unwrap();
    assert_eq!(reduced.len(), 50_000);
    assert!(reduced.iter().all(|(_, s)| *s == 160));
    let spills = ctx.block_store().metrics().spills.load(Ordering::Relaxed);
    assert!(spills > 0, "the shuffle spilled to disk");
}

#[test]
fn checkpointing_writes_after_the_first_job_and_cuts_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx_with(&[]);
    ctx.set_checkpoint_dir(dir.path()).unwrap();
    let computed = ctx.long_accumulator("computed");
    let c = computed.clone();
    let rdd = ctx
        .parallelize_with((0..100u64).collect::<Vec<_>>(), 3)
        .map(move |x| {
            c.add(1);
            (x % 10, x)
        })
        .reduce_by_key(|a, b| a + b);
    rdd.checkpoint().unwrap();
    assert!(!rdd.is_checkpointed());
    let mut first = rdd.collect().unwrap();
    assert!(rdd.is_checkpointed());
    let before = computed.value();
    let mut second = rdd.collect().unwrap();
    first.sort();
    second.sort();
    assert_eq!(first, second);
    assert_eq!(
        computed.value(),
        before,
        "read back from the checkpoint, not recomputed"
    );
    assert!(rdd.to_debug_string().contains("checkpointed"));
    assert_eq!(rdd.to_debug_string().lines().count(), 1, "lineage cut");
    let files: Vec<_> = walk(dir.path());
    assert_eq!(
        files.iter().filter(|f| f.contains("part-")).count(),
        rdd.num_partitions()
    );
}

fn walk(p: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[test]
fn checkpoint_without_a_directory_is_a_clear_error() {
    let ctx = ctx_with(&[]);
    let e = ctx
        .parallelize_with(vec![1], 1)
        .checkpoint()
        .unwrap_err()
        .to_string();
    assert!(e.contains("set_checkpoint_dir"), "{e}");
}

#[test]
fn a_stopped_context_refuses_jobs() {
    let ctx = ctx_with(&[]);
    let rdd = ctx.parallelize_with(vec![1, 2, 3], 2);
    ctx.stop();
    assert!(matches!(rdd.count(), Err(Error::Stopped)));
}

#[test]
fn a_task_for_a_different_lineage_is_refused_with_the_operation_named() {
    let ctx = ctx_with(&[]);
    let rdd = ctx.parallelize_with(vec![1, 2, 3], 2).map(|x| x + 1);
    let fp = rdd.base().info().fingerprint();
    ctx.check_lineage(rdd.id(), fp).unwrap();
    let err = ctx.check_lineage(rdd.id(), fp ^ 1).unwrap_err().to_string();
    assert!(
        err.contains("map") && err.contains(&format!("rdd {}", rdd.id())),
        "{err}"
    );
    // The same program built twice gives the same ids and fingerprints, in order.
    let build = |c: &Context| {
        let a = c.parallelize_with((0..10).collect::<Vec<i32>>(), 2);
        let b = a.map(|x| (x % 3, x)).reduce_by_key(|x, y| x + y);
        (b.id(), b.base().info().fingerprint())
    };
    let (c1, c2) = (ctx_with(&[]), ctx_with(&[]));
    assert_eq!(build(&c1), build(&c2));
}

#[test]
fn a_sort_several_times_the_memory_budget_completes_by_spilling() {
    let ctx = ctx_with(&[
        ("spate.memory.storageBytes", "512k"),
        ("spate.memory.executionBytes", "512k"),
    ]);
    let n = 150_000i64;
    let data = ctx
        .range(0, n, 1, 4)
        .unwrap()
        .map(|x| ((x * 7919) % 150_000, format!("{x:030}")));
    let sorted = data
        .sort_by_key_with(false, 2)
        .unwrap()
        .keys()
        .collect()
        .unwrap();
    assert_eq!(sorted.len() as i64, n);
    assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "descending");
    assert_eq!(sorted[0], n - 1);
    assert!(
        ctx.block_store().metrics().spills.load(Ordering::Relaxed) > 0,
        "the shuffle and sort spilled"
    );
}

/// Runs `f` on a thread; `None` when it has not returned within `secs`.
fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).ok()
}

#[test]
fn nested_job_inside_a_task_fails_instead_of_hanging() {
    let r = within(15, || {
        let ctx = Context::local(2).unwrap();
        let inner = ctx.parallelize_with((0..10i64).collect(), 2);
        let acc = ctx.long_accumulator("inner");
        let a = acc.clone();
        let outer = ctx.parallelize_with(vec![1i64, 2, 3, 4], 2).map(move |x| {
            let a = a.clone();
            let n = inner.map(move |y| {
                a.add(1);
                y
            });
            x + n.count().unwrap_or(0) as i64
        });
        outer.collect().map(|v| (v, acc.value()))
    });
    assert!(
        r.is_some(),
        "an action run inside a task hung (both task threads wait for the nested jobs' tasks)"
    );
}
