//! `cluster_word_count`: running word counts (`update_state_by_key`) of the text files that
//! appear in a directory, on a cluster. The same binary is the driver and every executor:
//!
//! - `cluster_word_count` alone runs on `local-cluster[2]` (two executor processes of
//!   this binary on this machine);
//! - `SPATE_MASTER=spate://0.0.0.0:7077 cluster_word_count` is a driver that waits for
//!   `SPATE_CLUSTER_MINEXECUTORS` executors (default 1), each the same binary started with
//!   `SPATE_DRIVER_URL=spate://<driver host>:7077 SPATE_EXECUTOR_ID=<unique id>`
//!   (`deploy/kubernetes/` does that on Kubernetes).
//!
//! Settings come from the environment: `SPATE_APP_INPUT` (the watched directory, default
//! `cluster-word-count/in` under the working directory), `SPATE_APP_CHECKPOINT` (default
//! `cluster-word-count/checkpoint`), both on storage every process sees;
//! `SPATE_AUTHENTICATE_SECRET`; any `spate.*` key as `SPATE_*`. SIGTERM stops it
//! gracefully.

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    spate_cluster::register();
    let conf = SpateConf::new()
        .app_name("cluster_word_count")?
        .master("local-cluster[2]")?
        .set("spate.streaming.stopGracefullyOnShutdown", "true")?
        .from_env()?;
    let input = conf
        .get_raw("spate.app.input")
        .unwrap_or("cluster-word-count/in")
        .to_string();
    let checkpoint = conf
        .get_raw("spate.app.checkpoint")
        .unwrap_or("cluster-word-count/checkpoint")
        .to_string();
    std::fs::create_dir_all(&input)?;
    let ssc = StreamingContext::new(conf, Duration::from_secs(2))?;
    ssc.checkpoint(&checkpoint)?;
    let counts = ssc
        .text_file_stream(&input)?
        .flat_map(Str::words)
        .map(|w| (w.to_string(), 1u64))
        .update_state_by_key(|new: Vec<u64>, old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        });
    // Printed once, by the driver.
    counts.print_with(10);
    ssc.start()?;
    if ssc.ctx().is_driver() {
        tracing::info!(%input, "counting the words of the files moved into the input directory");
    }
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
