//! `local-cluster[2]`: this test program runs as the driver and, started again by it with
//! `SPATE_EXECUTOR_ID` set, as two executor processes; every process runs `main`, the
//! driver's tasks run in the executors, and every copy of the program gets the same
//! action results. The results must equal those of `local[2]` (computed afterwards, in
//! the driver only: the executors exit when the driver's context stops).

use spate_core::{Context, SpateConf};

fn program(master: &str) -> spate_core::Result<(i64, Vec<i64>, u64, Vec<String>)> {
    let ctx = Context::new(
        SpateConf::new()
            .master(master)?
            .app_name("local-cluster-test")?,
    )?;
    let nums = ctx.parallelize_with((1..=10_000).collect::<Vec<i64>>(), 6);
    // A broadcast every process makes the same way, and an accumulator the tasks add to in
    // the executors: their updates travel with the results to the driver.
    let factor = ctx.broadcast(2i64)?;
    let seen = ctx.long_accumulator("seen");
    let (f, acc) = (factor.clone(), seen.clone());
    let sum = nums
        .map(move |x| {
            acc.add(1);
            x * *f.value()
        })
        .reduce(|a, b| a + b)?;
    if ctx.is_driver() && seen.value() != 10_000 {
        return Err(spate_core::Error::Task(format!(
            "the accumulator saw {} of 10000 records",
            seen.value()
        )));
    }
    // A cached RDD is computed once: later jobs (and a narrow child) run its partitions'
    // tasks on the executor that cached them.
    let computed = ctx.long_accumulator("computed");
    let c = computed.clone();
    let cached = ctx
        .parallelize_with((0..6_000).collect::<Vec<i64>>(), 8)
        .map(move |x| {
            c.add(1);
            x + 1
        })
        .cache();
    let s1 = cached.reduce(|a, b| a + b)?;
    let s2 = cached.reduce(|a, b| a + b)?;
    let s3 = cached.map(|x| x * 2).reduce(|a, b| a + b)?;
    if (s1, s2, s3) != (18_003_000, 18_003_000, 36_006_000) {
        return Err(spate_core::Error::Task(format!(
            "cached sums {s1} {s2} {s3}"
        )));
    }
    if ctx.is_driver() && computed.value() != 6_000 {
        return Err(spate_core::Error::Task(format!(
            "a cached RDD was computed again: {} computations of 6000 records",
            computed.value()
        )));
    }
    // A value only the driver makes (`broadcast_with`): the executors' tasks read the
    // driver's, fetched once per executor process.
    let made_by = ctx.broadcast_with(|| format!("made by process {}", std::process::id()))?;
    let b = made_by.clone();
    let seen_by_tasks = ctx
        .parallelize_with((0..12).collect::<Vec<u32>>(), 12)
        .map(move |_| b.value().to_string())
        .collect()?;
    let fetches = ctx
        .parallelize_with((0..12).collect::<Vec<u32>>(), 12)
        .map(|_| {
            spate_core::TaskContext::with_current(|tc| {
                let env = tc.expect("in a task").env();
                (
                    env.executor_id().to_string(),
                    env.block_store()
                        .metrics()
                        .broadcast_fetches
                        .load(std::sync::atomic::Ordering::Relaxed),
                )
            })
        })
        .collect()?;
    if ctx.is_driver() {
        let mine = format!("made by process {}", std::process::id());
        if seen_by_tasks.iter().any(|v| *v != mine) {
            return Err(spate_core::Error::Task(format!(
                "tasks read {seen_by_tasks:?}, the driver made {mine:?}"
            )));
        }
        // Two broadcasts so far (`factor` and this one), each taken once per executor
        // however many of its tasks read it.
        if fetches.iter().any(|(_, n)| *n != 2) {
            return Err(spate_core::Error::Task(format!(
                "broadcast fetches by executor (two each expected): {fetches:?}"
            )));
        }
    }
    let hundreds = nums.filter(|x| x % 1000 == 0).collect()?;
    let n = nums.count()?;
    // Work that depends on an earlier action's result: lockstep keeps the copies equal.
    let threshold = sum / 50_005_000; // 2: the one-digit words pass

    let words = ctx
        .parallelize_with(
            (0..200).map(|i| format!("w{}", i % 13)).collect::<Vec<_>>(),
            4,
        )
        .filter(move |w| w.len() as i64 <= threshold)
        .collect()?;
    // Shuffles: map outputs written in one executor are read by reduce tasks in the
    // other.
    let mut counts = ctx
        .parallelize_with(
            (0..5_000)
                .map(|i| format!("k{}", (i * 7) % 101))
                .collect::<Vec<_>>(),
            5,
        )
        .map(|k| (k, 1u64))
        .reduce_by_key_with(|a, b| a + b, 3)
        .collect()?;
    counts.sort();
    let mut grouped: Vec<(u32, usize)> = ctx
        .parallelize_with((0..900u32).collect::<Vec<_>>(), 4)
        .map(|x| (x % 9, x))
        .group_by_key()
        .map(|(k, vs)| (k, vs.len()))
        .collect()?;
    grouped.sort();
    let mut words = words;
    words.extend(counts.iter().map(|(k, n)| format!("{k}={n}")));
    words.extend(grouped.iter().map(|(k, n)| format!("g{k}={n}")));
    ctx.stop();
    Ok((sum, hundreds, n, words))
}

/// Which processes computed the partitions of a job (`SPATE_EXECUTOR_ID`, empty for the
/// driver).
fn where_tasks_ran(master: &str) -> spate_core::Result<std::collections::BTreeSet<String>> {
    let ctx = Context::new(SpateConf::new().master(master)?.app_name("where-test")?)?;
    let ids = ctx
        .parallelize_with((0..16).collect::<Vec<u32>>(), 16)
        .map(|_| std::env::var("SPATE_EXECUTOR_ID").unwrap_or_default())
        .collect()?;
    ctx.stop();
    Ok(ids.into_iter().collect())
}

fn main() {
    spate_cluster::register();
    let executor = std::env::var("SPATE_EXECUTOR_ID").is_ok();
    if std::env::var("LOCAL_CLUSTER_PART").as_deref() != Ok("results") {
        // First part: the tasks run in the two executor processes, not in the driver.
        if let Ok(ran) = where_tasks_ran("local-cluster[2]") {
            if executor {
                return;
            }
            let want: std::collections::BTreeSet<String> =
                ["exec-0", "exec-1"].iter().map(|s| s.to_string()).collect();
            assert_eq!(ran, want, "where the tasks ran");
        } else {
            std::process::exit(1);
        }
        // Second part in a fresh process tree (executors of part one have exited).
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env("LOCAL_CLUSTER_PART", "results")
            .status()
            .unwrap();
        assert!(status.success(), "{status:?}");
        return;
    }
    let cluster = match program("local-cluster[2]") {
        Ok(r) => r,
        Err(e) => {
            eprintln!("local-cluster[2] failed: {e}");
            std::process::exit(1);
        }
    };
    if executor {
        // An executor's copy ends here (its driver stopped it; normally it is told to exit).
        return;
    }
    let local = program("local[2]").expect("local[2]");
    assert_eq!(cluster, local, "local-cluster[2] and local[2] differ");
    assert_eq!(cluster.0, 100_010_000);
    let one_digit = (0..200).filter(|i| i % 13 < 10).count();
    assert_eq!(cluster.3.len(), one_digit + 101 + 9);
    assert!(cluster.3.contains(&"g0=100".to_string()), "{:?}", cluster.3);
    println!("local_cluster: ok ({} values compared)", cluster.3.len());
}
