//! `recoverable_word_count <watched-dir> <checkpoint-dir> <output-prefix> [batch-ms]`:
//! running word counts over the files moved into a directory, that survive a crash (after
//! Spark's RecoverableNetworkWordCount). The context comes from
//! `StreamingContext::get_or_create`: killed (even with `kill -9`) and started again with
//! the same checkpoint directory, it goes on where it stood — the batches that were
//! running run again, those missed while it was down run at once — and every batch's
//! whole state is saved to `<output-prefix>-<batch ms>/`, a replayed batch replacing its
//! directory.

use spate::prelude::*;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!(
            "usage: recoverable_word_count <watched-dir> <checkpoint-dir> <output-prefix> [batch-ms]"
        );
        std::process::exit(2);
    }
    let (watched, checkpoint, output) = (args[0].clone(), args[1].clone(), args[2].clone());
    let batch: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    // Everything that builds the graph goes in here: a recovered run builds it again.
    let create = || -> spate::streaming::Result<StreamingContext> {
        let ssc = StreamingContext::new(
            SpateConf::new()
                .app_name("recoverable_word_count")?
                .master("local[2]")?
                // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
                .set("spate.streaming.stopGracefullyOnShutdown", "true")?
                .from_env()?,
            Duration::from_millis(batch),
        )?;
        ssc.checkpoint(&checkpoint)?;
        let counts = ssc
            .text_file_stream(&watched)?
            .flat_map(Str::words)
            .map(|w| (w, 1u64))
            .update_state_by_key(|new: Vec<u64>, total: Option<u64>| {
                Some(total.unwrap_or(0) + new.iter().sum::<u64>())
            })
            // The state's lineage is cut every 5 batches.
            .checkpoint(Duration::from_millis(batch * 5));
        counts.save_as_text_files(&output, "");
        counts.print_with(10);
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(&checkpoint, create)?;
    ssc.start()?;
    // A failed output stops the context (spate.streaming.outputFailure=stop, the
    // default) with the batch still pending in the checkpoint: the error ends the program
    // with exit code 1, and the next start runs that batch again.
    ssc.await_termination()?;
    Ok(())
}
