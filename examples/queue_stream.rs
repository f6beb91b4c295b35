//! `queue_stream`: a stream fed from a queue of RDDs the program fills (Spark's
//! QueueStream): 30 RDDs of the numbers 1..=1000 pushed once a second, each batch's
//! numbers counted by their last digit. Runs for 10 seconds.

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("queue_stream")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            .from_env()?,
        Duration::from_secs(1),
    )?;
    let queue = RddQueue::new();
    let reduced = ssc
        .queue_stream(&queue)
        .map(|x: i64| (x % 10, 1u64))
        .reduce_by_key(|a, b| a + b);
    reduced.print_with(10);
    ssc.start()?;
    for _ in 0..10 {
        queue.push(ssc.ctx().parallelize_with((1..=1000).collect(), 10));
        std::thread::sleep(Duration::from_secs(1));
    }
    ssc.stop(true, true);
    Ok(())
}
