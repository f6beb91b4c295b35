//! `local-cluster[3]` losing an executor: after the first job, executor `exec-1` kills
//! itself with SIGKILL (a crashed machine, as the driver sees it). The next jobs — a
//! shuffle among them, whose map outputs may be on the dead executor — still give the
//! right results: the tasks sent to it fail and run on the others, and the outputs it
//! held are recomputed.

use spate_core::{Context, SpateConf};

fn main() {
    spate_cluster::register();
    let me = std::env::var("SPATE_EXECUTOR_ID").unwrap_or_default();
    let ctx = Context::new(
        SpateConf::new()
            .master("local-cluster[3]")
            .and_then(|c| c.app_name("executor-loss-test"))
            .and_then(|c| c.set("spate.task.maxFailures", "8"))
            .expect("conf"),
    )
    .unwrap_or_else(|e| {
        eprintln!("{me}: {e}");
        std::process::exit(1)
    });
    let data: Vec<u64> = (0..30_000).collect();
    let reduced = ctx
        .parallelize_with(data.clone(), 9)
        .map(|x| (x % 97, x))
        .reduce_by_key_with(|a, b| a + b, 6);
    // Job 1: a shuffle whose map outputs are spread over the three executors.
    let first = reduced.count();
    if me == "exec-1" {
        // Gone without a word, map outputs and all.
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
    // Job 2: the same shuffle's output read again (its maps on exec-1 are lost), then more
    // work on the survivors.
    let mut sums = reduced.collect().expect("the job after the loss");
    sums.sort();
    let total = ctx
        .parallelize_with(data.clone(), 12)
        .map(|x| x * 3)
        .reduce(|a, b| a + b)
        .expect("a later job");
    if !me.is_empty() {
        return;
    }
    ctx.stop();
    assert_eq!(first.expect("job 1"), 97);
    let mut want = vec![0u64; 97];
    for x in &data {
        want[(*x % 97) as usize] += x;
    }
    let want: Vec<(u64, u64)> = want
        .into_iter()
        .enumerate()
        .map(|(k, s)| (k as u64, s))
        .collect();
    assert_eq!(sums, want);
    assert_eq!(total, data.iter().sum::<u64>() * 3);
    println!("executor_loss: ok");
}
