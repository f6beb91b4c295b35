//! Streaming in cluster mode on `local-cluster[3]`: this program runs as the driver and,
//! started again by it, as three executor processes. The driver decides every batch; the
//! executors' copies follow its plans, generate the same RDDs, and compute the tasks.
//!
//! - Every data-driven DStream case (`tests/cases/*.case`) runs on one `local-cluster[3]`
//!   context and must give its expected outputs, as on `local[2]` (`tests/cases.rs`).
//! - A stateful word count over a file stream on the system clock: every process sees
//!   the same batches, and the counts are those of the files written.
//! - A start that fails on the driver fails in every process.
//!
//! Receivers in cluster mode are tested in `spate-cluster/tests/receivers.rs`.

#[allow(dead_code)]
mod harness;

use spate_core::{Context, SpateConf, Str};
use spate_streaming::StreamingContext;
use std::path::PathBuf;
use std::time::Duration;

/// The directory every process uses (the executors inherit the variable).
fn shared_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    const VAR: &str = "CLUSTER_STREAMING_DIR";
    if let Ok(d) = std::env::var(VAR) {
        return (PathBuf::from(d), None);
    }
    let t = tempfile::tempdir().expect("temporary directory");
    let p = t.path().to_path_buf();
    std::env::set_var(VAR, &p);
    (p, Some(t))
}

/// A stateful word count over files dropped into `dir/in` while it runs; returns the
/// final counts (every process gets the same, through the last batch's `collect`).
fn file_word_count(ctx: &Context, dir: &std::path::Path) -> Vec<(String, u64)> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).expect("input directory");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300))
        .expect("streaming context");
    ssc.checkpoint(dir.join("checkpoint"))
        .expect("checkpoint directory");
    let counts = ssc
        .text_file_stream(&input)
        .expect("file stream")
        .flat_map(|l: Str| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .update_state_by_key(|new: Vec<u64>, old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        });
    let last = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let l = last.clone();
    counts.foreach_rdd(move |rdd, _t| {
        let mut v = rdd.collect()?;
        v.sort();
        *l.lock() = v;
        Ok(())
    });
    ssc.start().expect("start");
    if ctx.is_driver() {
        // Files appear while it runs (written aside, then moved in, as file streams want).
        for i in 0..6 {
            let text: String = (0..50)
                .map(|j| format!("w{} w{}\n", (i * 50 + j) % 7, j % 3))
                .collect();
            let tmp = dir.join(format!(".part-{i}"));
            std::fs::write(&tmp, text).expect("write input");
            std::fs::rename(&tmp, input.join(format!("part-{i}.txt"))).expect("move input");
            std::thread::sleep(Duration::from_millis(350));
        }
        // Every file is picked up and counted.
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while last.lock().iter().map(|(_, n)| n).sum::<u64>() < 600
            && std::time::Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        ssc.stop(false, true);
    } else {
        // An executor's copy ends when the driver's stops.
        ssc.await_termination().expect("executor's copy");
    }
    let v = last.lock().clone();
    v
}

fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    spate_cluster::register();
    let (dir, _temp) = shared_dir();
    let ctx = match Context::new(
        SpateConf::new()
            .master("local-cluster[3,1]")
            .and_then(|c| c.app_name("cluster-streaming"))
            .expect("configuration"),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("local-cluster[3,1] failed to start: {e}");
            std::process::exit(1);
        }
    };
    harness::engine::share_context(ctx.clone(), dir.join("cases"));
    harness::run_all();
    let counts = file_word_count(&ctx, &dir.join("wc"));
    // A start that fails on the driver (a sink that cannot open; sinks open there only)
    // fails in every process, with the driver's reason.
    {
        struct Unopenable;
        impl spate_streaming::Sink<u32> for Unopenable {
            type Staged = ();
            fn open(&self) -> Result<(), spate_streaming::BoxError> {
                Err("the sink's server is unreachable".into())
            }
            fn write(
                &self,
                _: spate_streaming::Time,
                _: usize,
                _: u64,
                _: spate_core::rdd::BoxIter<u32>,
            ) -> Result<(), spate_streaming::BoxError> {
                Ok(())
            }
            fn commit(
                &self,
                _: spate_streaming::Time,
                _: Vec<()>,
            ) -> Result<(), spate_streaming::BoxError> {
                Ok(())
            }
        }
        let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(500))
            .expect("streaming context");
        let q = spate_streaming::RddQueue::<u32>::new();
        ssc.queue_stream(&q).write_to(Unopenable);
        let err = ssc.start().expect_err("the start fails everywhere");
        assert!(
            err.to_string().contains("the sink's server is unreachable"),
            "{err}"
        );
    }
    if !ctx.is_driver() {
        return;
    }
    let mut want = std::collections::BTreeMap::<String, u64>::new();
    for i in 0..6 {
        for j in 0..50 {
            *want.entry(format!("w{}", (i * 50 + j) % 7)).or_default() += 1;
            *want.entry(format!("w{}", j % 3)).or_default() += 1;
        }
    }
    let want: Vec<(String, u64)> = want.into_iter().collect();
    assert_eq!(
        counts, want,
        "stateful file word count on local-cluster[3,1]"
    );
    ctx.stop();
    println!("cluster_streaming: ok");
}
