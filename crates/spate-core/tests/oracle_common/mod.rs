//! Helpers shared by the oracle test files.
#![allow(dead_code, unused_imports)]

pub use spate_core::*;
pub use std::collections::{BTreeMap, BTreeSet, HashMap};
pub use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
pub use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Partition counts every test runs with.
pub const PARTS: [usize; 3] = [1, 3, 7];

/// The context a test runs on: `local[2]`.
///
/// With `ORACLE_MASTER` set (say `local-cluster[3,1]`, as `scripts/test.sh` does), each
/// test also runs on that master: its first `ctx()` runs the test again in a child process
/// of this binary (`<test> --exact`), whose `ctx()` is a cluster context shared by the
/// whole test — the child's executor processes run the same test and follow it — and
/// fails if the child fails; then the test goes on here on `local[2]`.
pub fn ctx() -> Context {
    let Ok(master) = std::env::var("ORACLE_MASTER") else {
        return Context::local(2).expect("local context");
    };
    let test = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    let in_child = std::env::var("ORACLE_CHILD").is_ok();
    if in_child {
        return CLUSTER.with(|c| {
            c.get_or_init(|| {
                spate_cluster::register();
                let ctx = Context::new(
                    SpateConf::new()
                        .master(&master)
                        .and_then(|c| c.app_name("oracle"))
                        .expect("conf"),
                )
                .unwrap_or_else(|e| panic!("{master} for {test}: {e}"));
                StopOnExit(ctx)
            })
            .0
            .clone()
        });
    }
    if !RAN_ON_CLUSTER.with(|r| r.replace(true)) {
        let started = std::time::Instant::now();
        let out = std::process::Command::new(std::env::current_exe().expect("this test"))
            .args([test.as_str(), "--exact", "--test-threads=1", "--quiet"])
            .env("ORACLE_CHILD", "1")
            .output()
            .expect("running the test on the cluster");
        assert!(
            out.status.success(),
            "{test} failed on {master}: {}; its output:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "{test}: passed on {master} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Context::local(2).expect("local context")
}

/// A `local[2]` context, also under `ORACLE_MASTER`: for tests that watch what tasks do
/// through this process's memory (how often a closure ran) or write files under a
/// temporary directory of their own, which in cluster mode would be each process's own.
pub fn local_ctx() -> Context {
    Context::local(2).expect("local context")
}

/// Stops the shared cluster context when its test's thread ends (its executors exit).
pub struct StopOnExit(Context);

impl Drop for StopOnExit {
    fn drop(&mut self) {
        // On a thread of its own: this one's thread-locals (the network runtime's among
        // them) are being destroyed.
        let ctx = self.0.clone();
        let _ = std::thread::spawn(move || ctx.stop()).join();
    }
}

thread_local! {
    static CLUSTER: std::cell::OnceCell<StopOnExit> = const { std::cell::OnceCell::new() };
    static RAN_ON_CLUSTER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A small deterministic generator (no dependency on the engine's own RNG).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// `n` integers in a range of `modulo` values (so with duplicates), some negative.
pub fn ints(n: usize, modulo: u64, seed: u64) -> Vec<i64> {
    let mut r = Lcg(seed);
    (0..n)
        .map(|_| (r.next() % modulo) as i64 - (modulo / 3) as i64)
        .collect()
}

/// `n` pairs over `keys` distinct keys.
pub fn pairs(n: usize, keys: u64, seed: u64) -> Vec<(u32, i64)> {
    let mut r = Lcg(seed);
    (0..n)
        .map(|_| ((r.next() % keys) as u32, (r.next() % 100) as i64 - 30))
        .collect()
}

/// Integer inputs: empty, tiny (so 7 partitions leave most empty), duplicates galore.
pub fn int_inputs() -> Vec<Vec<i64>> {
    vec![vec![], vec![4, 4, -1], ints(200, 17, 1), ints(61, 1000, 2)]
}

/// Pair inputs: empty, tiny with a duplicate pair, many pairs over few keys.
pub fn pair_inputs() -> Vec<Vec<(u32, i64)>> {
    vec![
        vec![],
        vec![(1, 10), (1, 10), (2, -3)],
        pairs(150, 11, 3),
        pairs(40, 5, 4),
    ]
}

/// Spark's `ParallelCollectionRDD.slice`: partition i of p over n holds `[i*n/p, (i+1)*n/p)`.
pub fn slices<T: Clone>(v: &[T], p: usize) -> Vec<Vec<T>> {
    let n = v.len();
    (0..p)
        .map(|i| v[i * n / p..(i + 1) * n / p].to_vec())
        .collect()
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Values grouped by key, each group sorted.
pub fn grouped<K: Ord + Clone, V: Ord + Clone>(v: &[(K, V)]) -> BTreeMap<K, Vec<V>> {
    let mut m: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, x) in v {
        m.entry(k.clone()).or_default().push(x.clone());
    }
    for g in m.values_mut() {
        g.sort();
    }
    m
}

pub fn hash_partition<K: std::hash::Hash + 'static>(n: usize, k: &K) -> usize {
    Partitioner::<K>::partition(&HashPartitioner::new(n), k)
}

/// Asserts that each key of the glommed pair RDD is in exactly one partition, the one the
/// hash partitioner over `n` partitions gives it.
pub fn assert_hash_partitioned<V: Data>(rdd: &Rdd<(u32, V)>, n: usize) {
    assert_eq!(rdd.num_partitions(), n);
    assert_eq!(rdd.partitioner(), Some(PartitionerDesc::Hash(n)));
    let parts = rdd.glom().collect().unwrap();
    assert_eq!(parts.len(), n);
    let mut seen: HashMap<u32, usize> = HashMap::new();
    for (i, part) in parts.iter().enumerate() {
        for (k, _) in part {
            assert_eq!(hash_partition(n, k), i, "key {k} in partition {i}");
            if let Some(prev) = seen.insert(*k, i) {
                assert_eq!(prev, i, "key {k} in partitions {prev} and {i}");
            }
        }
    }
}

/// The lines `text_file(path, min_partitions)` reads, as `String`s, in order.
pub fn read_lines(
    ctx: &Context,
    path: impl AsRef<std::path::Path>,
    min_partitions: usize,
) -> Vec<String> {
    ctx.text_file_with(path, min_partitions)
        .unwrap()
        .collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect()
}
