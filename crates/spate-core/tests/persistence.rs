//! Review probes for the batch engine. Tests marked `#[ignore = "BUG: ..."]` reproduce a
//! bug and fail today.

use spate_core::storage::BlockId;
use spate_core::{Context, StorageLevel};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs `f` on a thread; `None` when it has not returned within `secs`.
fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).ok()
}

#[test]
fn persist_and_checkpoint_the_same_rdd() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::local(2).unwrap();
    ctx.set_checkpoint_dir(dir.path()).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = computed.clone();
    let rdd = ctx
        .parallelize((0..100i64).collect(), 4)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            x * 2
        })
        .cache();
    rdd.checkpoint().unwrap();
    assert_eq!(rdd.count().unwrap(), 100);
    assert!(rdd.is_checkpointed());
    // Persisted first: the checkpoint write reads the cached partitions.
    assert_eq!(computed.load(Ordering::SeqCst), 100);
    let mut v = rdd.collect().unwrap();
    v.sort();
    assert_eq!(v, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    assert_eq!(rdd.map(|x| x + 1).reduce(|a, b| a + b).unwrap(), 9900 + 100);
    assert_eq!(computed.load(Ordering::SeqCst), 100);
    rdd.unpersist();
    assert_eq!(rdd.count().unwrap(), 100);
    assert_eq!(
        computed.load(Ordering::SeqCst),
        100,
        "read from the checkpoint"
    );
}

#[test]
fn checkpoint_of_an_rdd_used_by_two_concurrent_jobs() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::local(4).unwrap();
        ctx.set_checkpoint_dir(dir.path()).unwrap();
        let rdd = ctx
            .parallelize((0..2000i64).collect(), 8)
            .map(|x| (x % 13, x))
            .reduce_by_key(|a, b| a + b);
        rdd.checkpoint().unwrap();
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let r = rdd.clone();
                std::thread::spawn(move || {
                    let mut v = r.collect().unwrap();
                    v.sort();
                    v
                })
            })
            .collect();
        let res: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(res.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(res[0].len(), 13);
        assert!(rdd.is_checkpointed());
        let mut again = rdd.collect().unwrap();
        again.sort();
        assert_eq!(again, res[0]);
    }
}

#[test]
fn unpersist_during_a_job() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx
        .parallelize((0..20_000i64).collect(), 20)
        .map(|x| x + 1)
        .persist(StorageLevel::MEMORY_ONLY);
    assert_eq!(rdd.count().unwrap(), 20_000);
    let r = rdd.clone();
    let h = std::thread::spawn(move || {
        let mut sums = Vec::new();
        for _ in 0..20 {
            sums.push(r.map(|x| x * 2).reduce(|a, b| a + b).unwrap());
        }
        sums
    });
    for _ in 0..20 {
        rdd.unpersist();
        std::thread::sleep(Duration::from_millis(1));
        let _ = rdd.clone().persist(StorageLevel::MEMORY_ONLY);
    }
    let sums = h.join().unwrap();
    assert!(sums.iter().all(|s| *s == 20_000 * 20_001), "{sums:?}");
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
        let rdd = ctx.parallelize(vec![0u64, 1], 2).map(move |x| {
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
            .parallelize(vec![0u8], 1)
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
                ctx.parallelize((1..=1000i64).collect(), 7)
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

#[test]
fn nested_job_inside_a_task_fails_instead_of_hanging() {
    let r = within(15, || {
        let ctx = Context::local(2).unwrap();
        let inner = ctx.parallelize((0..10i64).collect(), 2);
        let acc = ctx.long_accumulator("inner");
        let a = acc.clone();
        let outer = ctx.parallelize(vec![1i64, 2, 3, 4], 2).map(move |x| {
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

#[test]
fn take_when_early_partitions_are_empty() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx
        .parallelize((0..1000i64).collect(), 50)
        .filter(|x| *x >= 900);
    assert_eq!(rdd.take(3).unwrap(), vec![900, 901, 902]);
    assert_eq!(rdd.take(150).unwrap().len(), 100);
    assert_eq!(rdd.first().unwrap(), 900);
    let none = ctx.parallelize((0..10i64).collect(), 5).filter(|_| false);
    assert!(none.take(2).unwrap().is_empty());
    assert!(none.first().is_err());
    assert!(ctx
        .parallelize::<i64>(vec![], 0)
        .take(1)
        .unwrap()
        .is_empty());
}

#[test]
fn sort_by_key_descending_with_duplicates() {
    let ctx = Context::local(2).unwrap();
    let data: Vec<(i64, i64)> = (0..500).map(|i| ((i * 7919) % 13, i)).collect();
    let rdd = ctx.parallelize(data.clone(), 6);
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
    let same = ctx.parallelize(vec![(1i64, 1i64); 100], 4);
    assert_eq!(
        same.sort_by_key_with(false, 4).unwrap().count().unwrap(),
        100
    );
}

#[test]
fn coalesce_to_more_partitions() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx.parallelize((0..10i64).collect(), 3);
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
        .parallelize((0..100i64).collect(), 7)
        .filter(|x| x % 3 == 0);
    let z = rdd.zip_with_index().unwrap().collect().unwrap();
    let expect: Vec<(i64, u64)> = (0..100)
        .filter(|x| x % 3 == 0)
        .enumerate()
        .map(|(i, x)| (x, i as u64))
        .collect();
    assert_eq!(z, expect);
}

#[test]
fn text_file_whose_length_changes_after_listing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.txt");
    let lines: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let ctx = Context::local(2).unwrap();
    // Grows: what was listed is read (the last line finished), nothing panics.
    let grows = ctx.text_file(&p, 4).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"extra 1\nextra 2\n").unwrap();
    }
    let got: Vec<String> = grows
        .collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, lines);
    // Shrinks: the lines still there, no panic, no duplicates.
    let shrinks = ctx.text_file(&p, 4).unwrap();
    std::fs::write(&p, lines[..10].join("\n") + "\n").unwrap();
    let got: Vec<String> = shrinks
        .collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, lines[..10].to_vec());
    // Disappears: a task error naming the file, not a hang or a dead process.
    let gone = ctx.text_file(&p, 2).unwrap();
    std::fs::remove_file(&p).unwrap();
    let e = gone.collect().unwrap_err().to_string();
    assert!(e.contains("f.txt"), "{e}");
}
