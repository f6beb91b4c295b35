//! Faults and edge cases of the batch engine: truncated or lost spill and shuffle files,
//! accumulators and broadcasts across failures, contexts and drops, `stop` during a job,
//! results that cannot be encoded, many driver threads running jobs at once.

mod spill_common;
use serde::{Deserialize, Serialize};
use spate_core::rdd::RecordCounter;
use spate_core::storage::BlockId;
use spate_core::{AccumulatorV2, Context, Error, SpateConf, StorageLevel, TaskContext};
use spill_common::{check_counts, spilled_word_counts};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ctx_with(master: &str, extra: &[(&str, &str)]) -> Context {
    let mut conf = SpateConf::new().master(master).unwrap();
    for (k, v) in extra {
        conf = conf.set(k, *v).unwrap();
    }
    Context::new(conf).unwrap()
}

/// Runs `f` on a thread; `None` when it has not returned within `secs`.
fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).ok()
}

/// Files of `dir` whose name starts with `prefix`.
fn files_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

/// The scratch directory of the task running on this thread.
fn task_local_dir() -> PathBuf {
    TaskContext::with_current(|tc| tc.expect("inside a task").env().local_dir().to_path_buf())
}

// ---------------------------------------------------------------------------------------
// Spilled runs (sort, reduce-side aggregation) corrupted while a task reads them.
// ---------------------------------------------------------------------------------------

/// A sort run file truncated while the merge reads it must fail the task (and the retry
/// gives the whole result), never end the run early and return fewer records.
#[test]
fn a_truncated_sort_spill_run_is_an_error_not_a_short_result() {
    let ctx = ctx_with(
        "local[1]",
        &[
            ("spate.memory.storageBytes", "64m"),
            // Runs of 16384 records: four chunks each, the first read when the merge starts.
            ("spate.memory.executionBytes", "1m"),
        ],
    );
    let n = 60_000i64;
    let injected = Arc::new(AtomicBool::new(false));
    let inj = injected.clone();
    let sorted = ctx
        .range(0, n, 1, 2)
        .unwrap()
        .map(|x| ((x * 7919) % 60_000, format!("{x:030}")))
        .sort_by_key_with(true, 1)
        .unwrap()
        .map(move |kv| {
            if !inj.swap(true, Ordering::SeqCst) {
                // The merge has opened every run and read its first chunk; cut the files.
                let runs = files_with_prefix(&task_local_dir(), "sort spill");
                assert!(!runs.is_empty(), "the sort spilled");
                for r in runs {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&r)
                        .unwrap()
                        .set_len(0)
                        .unwrap();
                }
            }
            kv.0
        });
    match sorted.collect() {
        Ok(keys) => {
            assert_eq!(
                keys.len() as i64,
                n,
                "a truncated run silently shortened the sort"
            );
            assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        }
        Err(e) => assert!(e.to_string().contains("sort spill"), "{e}"),
    }
    assert!(injected.load(Ordering::SeqCst));
}

/// The same for the runs of the reduce-side aggregation.
#[test]
fn a_truncated_aggregation_spill_run_is_an_error_not_lost_keys() {
    let ctx = ctx_with(
        "local[1]",
        &[
            ("spate.memory.storageBytes", "64m"),
            ("spate.memory.executionBytes", "256k"),
        ],
    );
    let n = 100_000u64;
    let injected = Arc::new(AtomicBool::new(false));
    let inj = injected.clone();
    let sums = ctx
        .parallelize_with((0..n).map(|x| (x, 1u64)).collect::<Vec<_>>(), 2)
        .reduce_by_key_with(|a, b| a + b, 1)
        .map(move |kv| {
            if !inj.swap(true, Ordering::SeqCst) {
                let runs = files_with_prefix(&task_local_dir(), "aggregation spill");
                assert!(!runs.is_empty(), "the aggregation spilled");
                for r in runs {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&r)
                        .unwrap()
                        .set_len(0)
                        .unwrap();
                }
            }
            kv
        });
    match sums.count() {
        Ok(c) => assert_eq!(c, n, "a truncated run silently dropped keys"),
        Err(e) => assert!(e.to_string().contains("aggregation spill"), "{e}"),
    }
    assert!(injected.load(Ordering::SeqCst));
}

// ---------------------------------------------------------------------------------------
// Shuffle map output spilled to disk, then lost or corrupted.
// ---------------------------------------------------------------------------------------

#[test]
fn deleted_shuffle_spill_files_are_recomputed() {
    let ctx = ctx_with(
        "local[2]",
        &[
            ("spate.memory.storageBytes", "64k"),
            ("spate.memory.executionBytes", "128k"),
        ],
    );
    let counts = spilled_word_counts(&ctx);
    check_counts(counts.collect().unwrap());
    let files = files_with_prefix(ctx.env().local_dir(), "shuffle-spill");
    assert!(!files.is_empty(), "the map outputs went to disk");
    for f in files {
        std::fs::remove_file(f).unwrap();
    }
    // The map outputs are still registered: the reduce tasks find their files gone.
    let r = within(60, move || counts.collect());
    check_counts(r.expect("no hang").unwrap());
}

#[test]
fn corrupted_or_truncated_shuffle_spill_files_are_recomputed() {
    let ctx = ctx_with(
        "local[2]",
        &[
            ("spate.memory.storageBytes", "64k"),
            ("spate.memory.executionBytes", "128k"),
        ],
    );
    let counts = spilled_word_counts(&ctx);
    check_counts(counts.collect().unwrap());
    let files = files_with_prefix(ctx.env().local_dir(), "shuffle-spill");
    assert!(files.len() >= 2);
    for (i, f) in files.iter().enumerate() {
        let len = std::fs::metadata(f).unwrap().len();
        if i % 2 == 0 {
            std::fs::write(f, vec![0xFFu8; len as usize]).unwrap();
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .open(f)
                .unwrap()
                .set_len(len / 2)
                .unwrap();
        }
    }
    let r = within(60, move || counts.collect());
    check_counts(r.expect("no hang").unwrap());
}

// ---------------------------------------------------------------------------------------
// Persist, save, checkpoint after an iterator failure.
// ---------------------------------------------------------------------------------------

/// An iterator that records a failure after `after` records on the first attempt.
fn flaky_after(after: usize) -> impl Fn(spate_core::BoxIter<u64>) -> Vec<u64> + Send + Sync {
    move |it| {
        let first = TaskContext::with_current(|tc| tc.unwrap().attempt_number() == 0);
        let mut out = Vec::new();
        for (i, x) in it.enumerate() {
            if first && i == after {
                TaskContext::fail_current(Error::Task("injected".into()));
                break;
            }
            out.push(x);
        }
        out
    }
}

#[test]
fn a_persisted_partition_cut_short_is_not_cached() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx
        .parallelize_with((0..1000u64).collect::<Vec<_>>(), 4)
        .map_partitions(flaky_after(10))
        .persist(StorageLevel::MEMORY_ONLY);
    assert_eq!(rdd.count().unwrap(), 1000);
    // Served from the cache now: still whole.
    assert_eq!(rdd.count().unwrap(), 1000);
    assert_eq!(rdd.collect().unwrap(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn save_as_text_file_after_an_iterator_failure_writes_whole_parts() {
    let ctx = Context::local(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ctx.parallelize_with((0..1000u64).collect::<Vec<_>>(), 4)
        .map_partitions(flaky_after(10))
        .save_as_text_file(&out)
        .unwrap();
    let mut lines = 0;
    for f in files_with_prefix(&out, "part-") {
        lines += std::fs::read_to_string(f).unwrap().lines().count();
    }
    assert_eq!(lines, 1000);
    assert!(out.join("_SUCCESS").exists());
    assert!(!out.join("_temporary").exists());
}

#[test]
fn checkpoint_after_an_iterator_failure_is_whole() {
    let ctx = Context::local(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ctx.set_checkpoint_dir(dir.path()).unwrap();
    let rdd = ctx
        .parallelize_with((0..1000u64).collect::<Vec<_>>(), 4)
        .map_partitions(flaky_after(10));
    rdd.checkpoint().unwrap();
    assert_eq!(rdd.count().unwrap(), 1000);
    assert!(rdd.is_checkpointed());
    assert_eq!(rdd.collect().unwrap(), (0..1000).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------
// run_job on a subset of partitions.
// ---------------------------------------------------------------------------------------

#[test]
fn run_job_on_a_subset_in_the_order_asked() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx.parallelize_with((0..10u64).collect::<Vec<_>>(), 5);
    let got = rdd
        .run_job_on(&[3, 1], |_, it| Ok(it.collect::<Vec<_>>()))
        .unwrap();
    assert_eq!(got, vec![vec![6, 7], vec![2, 3]]);
    let none = rdd.run_job_on(&[], |_, it| Ok(it.count())).unwrap();
    assert!(none.is_empty());
    assert!(rdd.run_job_on(&[5], |_, it| Ok(it.count())).is_err());
}

#[test]
fn run_job_on_the_same_partition_twice() {
    let r = within(30, || {
        let ctx = Context::local(2).unwrap();
        let rdd = ctx.parallelize_with((0..10u64).collect::<Vec<_>>(), 5);
        rdd.run_job_on(&[2, 2], |_, it| Ok(it.collect::<Vec<_>>()))
    });
    // Either both values or a clear error; a panic of the driver ("every partition done")
    // ends the thread and gives nothing.
    match r.expect("the driver thread panicked or hung") {
        Ok(v) => assert_eq!(v, vec![vec![4, 5], vec![4, 5]]),
        Err(e) => assert!(e.to_string().contains("partition"), "{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Accumulators.
// ---------------------------------------------------------------------------------------

#[test]
fn accumulator_updates_of_failed_attempts_count_once() {
    let ctx = ctx_with("local[3]", &[("spate.task.maxFailures", "4")]);
    let acc = ctx.long_accumulator("n");
    let a = acc.clone();
    let tries = Arc::new(AtomicUsize::new(0));
    let t = tries.clone();
    let n = ctx
        .parallelize_with((0..1000u64).collect::<Vec<_>>(), 8)
        .map_partitions(move |it| {
            let attempt = TaskContext::with_current(|tc| tc.unwrap().attempt_number());
            let v: Vec<u64> = it.inspect(|_| a.add(1)).collect();
            t.fetch_add(1, Ordering::SeqCst);
            if attempt < 2 {
                // Added for every record, then failed: none of it counts.
                panic!("attempt {attempt} fails");
            }
            v
        })
        .count()
        .unwrap();
    assert_eq!(n, 1000);
    assert_eq!(tries.load(Ordering::SeqCst), 24);
    assert_eq!(acc.value(), 1000);
}

/// An accumulator made by one context and added to in a job of another context.
#[test]
fn an_accumulator_of_one_context_used_in_a_job_of_another() {
    let a_ctx = Context::local(1).unwrap();
    let b_ctx = Context::local(1).unwrap();
    let a = a_ctx.long_accumulator("a"); // id 0 of context A
    let b = b_ctx.long_accumulator("b"); // id 0 of context B
    let a2 = a.clone();
    let r = b_ctx
        .parallelize_with((1..=10i64).collect::<Vec<_>>(), 2)
        .foreach(move |x| a2.add(x));
    assert_eq!(
        b.value(),
        0,
        "context A's updates were merged into context B's accumulator"
    );
    assert_eq!(a.value(), 0);
    // Updates are merged by id in the task's context: a clear error, not a wrong merge.
    let e = r.expect_err("the job reported success").to_string();
    assert!(e.contains("another context"), "{e}");
}

/// An accumulator whose state fails to encode: the task cannot report its update, so it
/// must not count as a success that silently drops it.
#[derive(Clone, Default, Deserialize)]
struct Unencodable {
    n: i64,
    panic: bool,
}

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        if self.panic {
            panic!("accumulator serializer panicked");
        }
        Err(serde::ser::Error::custom(
            "this accumulator cannot be encoded",
        ))
    }
}

impl AccumulatorV2 for Unencodable {
    type In = i64;
    type Out = i64;
    fn add(&mut self, v: i64) {
        self.n += v;
    }
    fn merge(&mut self, o: Self) {
        self.n += o.n;
    }
    fn value(&self) -> i64 {
        self.n
    }
}

#[test]
fn an_accumulator_update_that_cannot_be_encoded_fails_the_job() {
    let ctx = ctx_with("local[2]", &[("spate.task.maxFailures", "2")]);
    let acc = ctx.register_accumulator(Unencodable::default(), Some("bad"));
    let a = acc.clone();
    let r = ctx
        .parallelize_with((1..=10i64).collect::<Vec<_>>(), 2)
        .foreach(move |x| a.add(x));
    let e = r.expect_err("the updates were dropped and the job reported success");
    // (postcard keeps no custom message; the error names what failed to encode.)
    assert!(e.to_string().contains("update of accumulator"), "{e}");
}

#[test]
fn an_accumulator_whose_encoding_panics_fails_the_job_instead_of_hanging() {
    let r = within(20, || {
        let ctx = ctx_with("local[1]", &[("spate.task.maxFailures", "2")]);
        let acc = ctx.register_accumulator(Unencodable { n: 0, panic: true }, Some("bad"));
        let a = acc.clone();
        let first = ctx
            .parallelize_with((1..=10i64).collect::<Vec<_>>(), 2)
            .foreach(move |x| a.add(x))
            .map_err(|e| e.to_string());
        // The context's task threads still run jobs.
        let after = ctx.parallelize_with(vec![1, 2, 3], 2).count();
        (first, after.ok())
    });
    let (first, after) = r.expect("the job hung: the task thread died without reporting");
    let e = first.expect_err("the job cannot succeed");
    assert!(e.contains("panicked"), "{e}");
    assert_eq!(after, Some(3));
}

// ---------------------------------------------------------------------------------------
// Results that fail to encode.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Deserialize)]
struct NoEncode(#[allow(dead_code)] u32);

impl Serialize for NoEncode {
    fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("NoEncode refuses"))
    }
}

#[test]
fn a_result_that_cannot_be_encoded_fails_the_job_clearly() {
    let r = within(30, || {
        let ctx = ctx_with("local[2]", &[("spate.task.maxFailures", "2")]);
        ctx.parallelize_with(vec![1u32, 2, 3], 2)
            .map_partitions(|it| vec![NoEncode(it.sum())])
            .collect()
            .map(|v| v.len())
    });
    let e = r.expect("hung").unwrap_err().to_string();
    // (postcard keeps no custom message; the error names what failed to encode.)
    assert!(e.contains("task result"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Broadcasts.
// ---------------------------------------------------------------------------------------

#[test]
fn a_dropped_broadcast_leaves_no_cached_copy_behind() {
    let ctx = Context::local(2).unwrap();
    let b = ctx.broadcast(vec![7u64; 10_000]).unwrap();
    let id = b.id();
    let b2 = b.clone();
    let s: u64 = ctx
        .parallelize_with(vec![0usize, 1, 2, 3], 2)
        .map(move |i| b2.value()[i])
        .reduce(|a, b| a + b)
        .unwrap();
    assert_eq!(s, 28);
    assert!(ctx.block_store().contains(BlockId::Broadcast { id }));
    drop(b);
    // Every handle is gone (the job's closure went with the job's RDD... which we drop).
    let used = ctx.block_store().memory_used();
    assert!(
        !ctx.block_store().contains(BlockId::Broadcast { id }),
        "broadcast {id} has no handle left but its copy stays in the block store ({used} bytes used)"
    );
}

#[test]
fn broadcast_with_on_an_executor_never_runs_make_and_fails_tasks_clearly() {
    // The role comes from SPATE_EXECUTOR_ID when a context starts; setting it here would
    // make the contexts of tests running at the same time executors too, so this test runs
    // itself again in a child process with the variable set.
    let var = spate_core::env::EXECUTOR_ID_VAR;
    if std::env::var(var).is_err() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "broadcast_with_on_an_executor_never_runs_make_and_fails_tasks_clearly",
                "--test-threads=1",
            ])
            .env(var, "exec-7")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
        return;
    }
    let ctx = Context::local(1).unwrap();
    assert!(!ctx.is_driver());
    assert_eq!(ctx.executor_id(), "exec-7");
    let b = ctx
        .broadcast_with(|| -> u32 { panic!("make ran on an executor") })
        .unwrap();
    let b2 = b.clone();
    let r = within(20, move || {
        ctx.parallelize_with(vec![1u32], 1)
            .map(move |x| x + *b2.value())
            .collect()
    });
    let e = r.expect("hung").unwrap_err().to_string();
    assert!(e.contains("on the driver"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Concurrency: many driver threads, two contexts.
// ---------------------------------------------------------------------------------------

#[test]
fn many_driver_threads_run_jobs_at_once_in_the_main_scope() {
    let ctx = Context::local(3).unwrap();
    let shared = ctx
        .parallelize_with((0..2000u64).collect::<Vec<_>>(), 6)
        .map(|x| (x % 13, x))
        .reduce_by_key(|a, b| a + b);
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let ctx = ctx.clone();
            let shared = shared.clone();
            std::thread::spawn(move || {
                let acc = ctx.long_accumulator("t");
                for j in 0..10u64 {
                    let a = acc.clone();
                    let n = ctx
                        .parallelize_with((0..100u64).collect::<Vec<_>>(), 4)
                        .map(move |x| {
                            a.add(1);
                            (x % 7, x + t + j)
                        })
                        .reduce_by_key(|a, b| a + b)
                        .count()
                        .unwrap();
                    assert_eq!(n, 7);
                    let total: u64 = shared.values().reduce(|a, b| a + b).unwrap();
                    assert_eq!(total, (0..2000).sum::<u64>());
                }
                acc.value()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 1000);
    }
}

#[test]
fn two_contexts_in_one_process_keep_their_own_state() {
    let a = Context::local(2).unwrap();
    let b = Context::local(2).unwrap();
    assert_ne!(a.env().local_dir(), b.env().local_dir());
    let ra = a
        .parallelize_with(vec![(1u8, 1u32), (1, 2)], 2)
        .reduce_by_key(|x, y| x + y);
    let rb = b
        .parallelize_with(vec![(1u8, 10u32), (1, 20)], 2)
        .reduce_by_key(|x, y| x + y);
    // The same rdd and shuffle ids in both contexts.
    assert_eq!(ra.id(), rb.id());
    assert_eq!(ra.collect().unwrap(), vec![(1, 3)]);
    assert_eq!(rb.collect().unwrap(), vec![(1, 30)]);
    drop(a);
    assert_eq!(rb.collect().unwrap(), vec![(1, 30)]);
}

// ---------------------------------------------------------------------------------------
// Stopping and dropping.
// ---------------------------------------------------------------------------------------

#[test]
fn stop_fails_a_running_job_without_running_its_queued_tasks() {
    let ctx = Context::local(1).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let c = ctx.clone();
    let job = std::thread::spawn(move || {
        c.parallelize_with((0..20u32).collect::<Vec<_>>(), 20)
            .map(move |x| {
                r.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                x
            })
            .count()
    });
    std::thread::sleep(Duration::from_millis(250));
    let t = Instant::now();
    ctx.stop();
    let stop_took = t.elapsed();
    let res = job.join().unwrap();
    assert!(
        matches!(res, Err(Error::Stopped)),
        "a running job should fail with Stopped; got {res:?} after running {} tasks, stop took {stop_took:?}",
        ran.load(Ordering::SeqCst)
    );
    assert!(
        stop_took < Duration::from_millis(1000),
        "stop took {stop_took:?}"
    );
}

#[test]
fn the_scratch_directory_goes_with_the_context() {
    let base = tempfile::tempdir().unwrap();
    let ctx = ctx_with(
        "local[2]",
        &[
            ("spate.local.dir", base.path().to_str().unwrap()),
            ("spate.memory.storageBytes", "64k"),
            ("spate.memory.executionBytes", "128k"),
        ],
    );
    let dir = ctx.env().local_dir().to_path_buf();
    let counts = spilled_word_counts(&ctx);
    check_counts(counts.collect().unwrap());
    assert!(!files_with_prefix(&dir, "shuffle-spill").is_empty());
    drop(counts);
    drop(ctx);
    // The task threads let go of the environment as they exit.
    let deadline = Instant::now() + Duration::from_secs(5);
    while dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}

// ---------------------------------------------------------------------------------------
// RecordCounter.
// ---------------------------------------------------------------------------------------

#[test]
fn record_counter_counts_whole_reads_only() {
    let ctx = Context::local(2).unwrap();
    let counter = RecordCounter::new(4);
    let rdd = ctx
        .parallelize_with((0..100u64).collect::<Vec<_>>(), 4)
        .counting(counter.clone());
    assert_eq!(rdd.take(5).unwrap().len(), 5);
    assert_eq!(
        counter.partition_counts(),
        vec![None; 4],
        "take read only a prefix"
    );
    // A task failing after the whole partition on its first attempt, then a retry.
    let failing = rdd.map_partitions(flaky_after(10));
    assert_eq!(failing.count().unwrap(), 100);
    assert_eq!(counter.counted(), (100, vec![]));
    // Read again: counted again, not added.
    assert_eq!(rdd.count().unwrap(), 100);
    assert_eq!(counter.counted(), (100, vec![]));
}
