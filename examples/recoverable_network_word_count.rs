//! `recoverable_network_word_count <host> <port> <checkpoint-dir> <output-file>`: word
//! counts of the lines read from a TCP server every second, appended to `output-file` as
//! `Counts at time <t> [(word,count), ...]` (a recovered run appends to it too; Spark's RecoverableNetworkWordCount). Words in
//! a broadcast exclude list are dropped and counted in an accumulator.
//!
//! The context comes from `StreamingContext::get_or_create`: stopped and started again
//! with the same checkpoint directory, the program goes on from its checkpoint. A
//! broadcast variable and an accumulator are not in a checkpoint, so the program obtains
//! them lazily, once per process, the first time a batch needs them (Spark's
//! `WordExcludeList` / `DroppedWordsCounter` singletons).

use spate::prelude::*;
use spate::{Broadcast, LongAccumulator};
use std::io::Write;
use std::sync::OnceLock;

/// The words not counted, shared with the tasks (made on first use in this process).
fn word_exclude_list(ctx: &Context) -> spate::Result<Broadcast<Vec<String>>> {
    static LIST: OnceLock<Broadcast<Vec<String>>> = OnceLock::new();
    if let Some(b) = LIST.get() {
        return Ok(b.clone());
    }
    let b = ctx.broadcast(vec!["a".to_string(), "b".to_string(), "c".to_string()])?;
    Ok(LIST.get_or_init(|| b).clone())
}

/// How many excluded words were dropped (made on first use in this process).
fn dropped_words_counter(ctx: &Context) -> LongAccumulator {
    static COUNTER: OnceLock<LongAccumulator> = OnceLock::new();
    COUNTER
        .get_or_init(|| ctx.long_accumulator("dropped words"))
        .clone()
}

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!(
            "usage: recoverable_network_word_count <host> <port> <checkpoint-dir> <output-file>\n\
             (start it again with the same checkpoint directory to go on from it)"
        );
        std::process::exit(2);
    }
    let host = args[0].clone();
    let port: u16 = args[1].parse()?;
    let (checkpoint, output) = (args[2].clone(), args[3].clone());
    // Everything that builds the graph goes in here: a recovered run builds it again.
    let create = || -> spate::streaming::Result<StreamingContext> {
        let ssc = StreamingContext::new(
            SpateConf::new()
                .app_name("recoverable_network_word_count")?
                .master("local[2]")?
                // SIGTERM or Ctrl-C: process what was received, write it, exit 0.
                .set("spate.streaming.stopGracefullyOnShutdown", "true")?
                .from_env()?,
            seconds(1),
        )?;
        ssc.checkpoint(&checkpoint)?;
        let counts = ssc
            .socket_text_stream(&host, port)
            .flat_map(|l| l.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w, 1i64))
            .reduce_by_key(|a, b| a + b);
        let output = output.clone();
        counts.foreach_rdd(move |rdd, time| {
            let excluded = word_exclude_list(rdd.context())?;
            let dropped = dropped_words_counter(rdd.context());
            let kept = rdd
                .filter({
                    let dropped = dropped.clone();
                    move |(word, count)| {
                        if excluded.value().iter().any(|x| x.as_str() == &**word) {
                            dropped.add(*count);
                            false
                        } else {
                            true
                        }
                    }
                })
                .collect()?;
            let shown: Vec<String> = kept.iter().map(|(w, n)| format!("({w},{n})")).collect();
            let line = format!("Counts at time {time} [{}]", shown.join(", "));
            println!("{line}");
            println!("Dropped {} word(s) totally", dropped.value());
            println!("Appending to {output}");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&output)?;
            writeln!(file, "{line}")?;
            Ok(())
        });
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(&checkpoint, create)?;
    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
