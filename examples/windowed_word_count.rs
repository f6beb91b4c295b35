//! `windowed_word_count <host> <port> [window-s] [slide-s]`: word counts over the last
//! `window` seconds every `slide` seconds, computed incrementally with an inverse function
//! (counts of batches leaving the window are subtracted) and words whose count falls to 0
//! dropped.

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: windowed_word_count <host> <port> [window-s] [slide-s]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse()?;
    let window: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let slide: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("windowed_word_count")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        Duration::from_secs(1),
    )?;
    ssc.checkpoint(std::env::temp_dir().join("spate-windowed-wc"))?;
    let pairs = ssc
        .socket_text_stream(&args[0], port)
        .flat_map(Str::words)
        .map(|w| (w, 1i64));
    let counts = pairs
        .reduce_by_key_and_window(|a, b| a + b)
        .inverse(|a, b| a - b)
        .filter(|kv| kv.1 > 0)
        .window(Duration::from_secs(window))
        .slide(Duration::from_secs(slide))
        .partitions(2);
    counts.print_with(20);
    ssc.start()?;
    // The robust pattern: a failed batch (an output that failed, a watched directory gone)
    // is reported and the stream goes on; `await_termination` returns each failure once
    // and `Ok` when the context stops. Only errors before the start are fatal.
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
