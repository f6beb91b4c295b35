//! `file_word_count <dir>`: word counts of the text files that appear in `dir` (write them
//! elsewhere, then move them in), batch by batch (Spark's HdfsWordCount).

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: file_word_count <dir>");
        std::process::exit(2);
    };
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("file_word_count")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        Duration::from_secs(2),
    )?;
    let counts = ssc
        .text_file_stream(&dir)?
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
