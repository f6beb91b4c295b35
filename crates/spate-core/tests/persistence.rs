//! Persisting and checkpointing RDDs: a cached RDD checkpointed from its cached partitions
//! and read back from the checkpoint once unpersisted, a checkpoint written while
//! concurrent jobs read the RDD, and `unpersist` while a job reads the cache.

use spate_core::{Context, StorageLevel};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn persist_and_checkpoint_the_same_rdd() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::local(2).unwrap();
    ctx.set_checkpoint_dir(dir.path()).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = computed.clone();
    let rdd = ctx
        .parallelize_with((0..100i64).collect(), 4)
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
            .parallelize_with((0..2000i64).collect(), 8)
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
        .parallelize_with((0..20_000i64).collect(), 20)
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
