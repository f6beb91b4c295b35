//! `stateful_network_word_count <host> <port> [checkpoint-dir]`: running word counts over a
//! socket stream with `map_with_state` (Spark's StatefulNetworkWordCount), starting from an
//! initial state of `hello 1, world 1`. Every word received prints as `(word,running count)`.

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: stateful_network_word_count <host> <port> [checkpoint-dir]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse()?;
    let dir = args.get(2).cloned().unwrap_or_else(|| {
        std::env::temp_dir()
            .join("spate-stateful-wc")
            .display()
            .to_string()
    });
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("stateful_network_word_count")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        Duration::from_secs(1),
    )?;
    ssc.checkpoint(&dir)?;
    let initial = ssc
        .ctx()
        .parallelize_with(vec![(Str::from("hello"), 1u64), (Str::from("world"), 1)], 2);
    let words = ssc
        .socket_text_stream(&args[0], port)
        .flat_map(Str::words)
        .map(|w| (w, 1u64));
    // Called once per word received, with the word's state: emits the running count.
    let spec = StateSpec::function(|word: &Str, one: Option<u64>, state: &mut State<u64>| {
        let sum = one.unwrap_or(0) + state.get_option().unwrap_or(0);
        state.update(sum);
        (word.clone(), sum)
    })
    .initial_state(initial);
    let running = words.map_with_state(spec);
    running.print_with(10);
    ssc.start()?;
    // The robust pattern: a failed batch (an output that failed, a watched directory gone)
    // is reported and the stream goes on; `await_termination` returns each failure once
    // and `Ok` when the context stops. Only errors before the start are fatal.
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
