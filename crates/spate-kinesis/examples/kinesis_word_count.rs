//! `kinesis_word_count <endpoint> <stream> [batch-ms]`: counts the words in a Kinesis
//! stream's records every batch (Spark's KinesisWordCountASL), from the oldest record
//! kept. Each batch prints its counts and the sequence-number ranges it read. Credentials
//! come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (any values for kinesalite). Start
//! a server and put some lines first (README: "Kinesis"), e.g.
//! `kinesis_word_count http://127.0.0.1:4567 words 2000`.

use spate::prelude::*;
use spate_kinesis::{create_stream, InitialPosition, KinesisParams};
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: kinesis_word_count <endpoint> <stream> [batch-ms]");
        std::process::exit(2);
    }
    let batch = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000u64);
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("kinesis_word_count")?
            .master("local[2]")?
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            .from_env()?,
        Duration::from_millis(batch),
    )?;
    let mut params = KinesisParams::new(&args[1])
        .endpoint(&args[0])
        .initial_position(InitialPosition::TrimHorizon);
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        params = params.credentials("local", "local");
    }
    let (records, ranges) = create_stream(&ssc, params)?;
    let counts = records
        .flat_map(|r| {
            r.data_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print_with(10);
    counts.foreach_rdd(move |_, time| {
        for r in ranges.get(time).unwrap_or_default() {
            println!("read {r}");
        }
        Ok(())
    });
    ssc.start()?;
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
