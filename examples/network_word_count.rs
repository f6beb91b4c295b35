//! `network_word_count <host> <port> [batch-ms]`: counts words in lines read from a TCP
//! server every batch (Spark's NetworkWordCount). Feed it with `nc -lk 9999`.

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: network_word_count <host> <port> [batch-ms]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse()?;
    let batch = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1000u64);
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("network_word_count")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        Duration::from_millis(batch),
    )?;
    let lines = ssc.socket_text_stream(&args[0], port);
    let counts = lines
        .flat_map(Str::words)
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print_with(10);
    ssc.start()?;
    // The robust pattern: a failed batch (an output that failed, a watched directory gone)
    // is reported and the stream goes on; `await_termination` returns each failure once
    // and `Ok` when the context stops. Only errors before the start are fatal.
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
