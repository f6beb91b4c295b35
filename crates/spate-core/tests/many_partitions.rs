//! The cost of a job grows linearly with its partition count (many partitions of a small
//! input must not cost partitions squared), and the task thread count is bounded with a
//! clear error.

use spate_core::{Context, SpateConf};
use std::time::{Duration, Instant};

fn timed<R>(what: &str, f: impl FnOnce() -> R) -> (R, Duration) {
    let t = Instant::now();
    let r = f();
    let d = t.elapsed();
    eprintln!("{what}: {d:?}");
    (r, d)
}

/// 10,000 partitions of a 1,000-line input: a text file counted, a collection counted, and
/// a `reduce_by_key` (10,000 map outputs x 10,000 reduce partitions). Before the fix the
/// shuffle cloned every map status (one size per reduce partition) once per map output
/// and reduce task, and every map task allocated and dropped one bucket per reduce
/// partition: 1,000 partitions took 5.6 s, 4,000 took 131 s. Bounds are generous (debug
/// builds, a shared machine).
#[test]
fn ten_thousand_partitions_of_a_small_input_run_in_bounded_time() {
    const N: usize = 10_000;
    let ctx = Context::local(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("in.txt");
    std::fs::write(
        &f,
        (0..1000).map(|i| format!("line {i}\n")).collect::<String>(),
    )
    .unwrap();
    let (n, t1) = timed("text_file(10k).count", || {
        ctx.text_file_with(&f, N).unwrap().count().unwrap()
    });
    assert_eq!(n, 1000);
    let data: Vec<(u64, u64)> = (0..1000).map(|i| (i % 50, 1)).collect();
    let (n, t2) = timed("parallelize_with(10k).count", || {
        ctx.parallelize_with(data.clone(), N).count().unwrap()
    });
    assert_eq!(n, 1000);
    let (sums, t3) = timed("parallelize_with(10k).reduce_by_key.collect", || {
        let rdd = ctx
            .parallelize_with(data.clone(), N)
            .reduce_by_key(|a, b| a + b);
        assert_eq!(rdd.num_partitions(), N);
        rdd.collect().unwrap()
    });
    assert_eq!(sums.len(), 50);
    assert!(sums.iter().all(|(_, v)| *v == 20), "{sums:?}");
    let total = t1 + t2 + t3;
    assert!(total < Duration::from_secs(20), "took {total:?}");
}

/// With a shuffle, doubling the partitions about doubles the time (a quadratic cost
/// would quadruple it): 2,500 then 10,000 partitions, allowed 4x + slack for 4x the
/// partitions (a quadratic cost would take 16x).
#[test]
fn shuffle_cost_grows_linearly_with_partitions() {
    let ctx = Context::local(2).unwrap();
    let data: Vec<(u64, u64)> = (0..1000).map(|i| (i % 50, 1)).collect();
    let run = |n: usize| {
        // Best of two, against noise from other processes.
        (0..2)
            .map(|_| {
                timed(&format!("reduce_by_key over {n}"), || {
                    ctx.parallelize_with(data.clone(), n)
                        .reduce_by_key(|a, b| a + b)
                        .count()
                        .unwrap()
                })
                .1
            })
            .min()
            .unwrap()
    };
    let small = run(2_500);
    let big = run(10_000);
    assert!(
        big < small * 8 + Duration::from_millis(500),
        "2,500 partitions: {small:?}; 10,000: {big:?}"
    );
}

#[test]
fn too_many_task_threads_is_a_clear_config_error() {
    for master in ["local[100000]", "local[5000]"] {
        let e = SpateConf::new().master(master).unwrap_err().to_string();
        assert!(
            e.contains("spate.master") && e.contains(master) && e.contains("at most"),
            "{e}"
        );
    }
    // From the environment or a file too, since they share the parser.
    let e = spate_core::conf::parse_master("local[100000]").unwrap_err();
    assert!(e.contains("1024"), "{e}");
    assert!(Context::new(SpateConf::new().master("local[64]").unwrap()).is_ok());
}

/// A shuffle of an RDD with no partitions reads nothing (no map output was registered).
#[test]
fn a_shuffle_of_no_partitions_reads_nothing() {
    let ctx = Context::local(2).unwrap();
    let empty = ctx.empty::<(u64, u64)>();
    assert_eq!(empty.reduce_by_key(|a, b| a + b).count().unwrap(), 0);
    let none = ctx.parallelize_with(Vec::<(u64, u64)>::new(), 0);
    assert_eq!(
        none.reduce_by_key_with(
            |a, b| a + b,
            spate_core::partitioner::Partitioning::Count(4)
        )
        .collect()
        .unwrap(),
        vec![]
    );
}
