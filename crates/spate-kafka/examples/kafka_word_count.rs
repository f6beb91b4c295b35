//! `kafka_word_count <brokers> <topics> [batch-ms]`: counts the words in the values of a
//! Kafka topic's records every batch, through a direct stream (Spark's
//! DirectKafkaWordCount). Each batch prints its counts and the offset ranges it read.
//! Start a broker first (README: "Kafka"), e.g.
//! `kafka_word_count 127.0.0.1:9092 words 2000`.

use spate::prelude::*;
use spate_kafka::{create_direct_stream, KafkaParams, Subscription};
use std::time::Duration;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: kafka_word_count <brokers> <topic[,topic...]> [batch-ms]");
        std::process::exit(2);
    }
    let batch = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000u64);
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("kafka_word_count")?
            .master("local[2]")?
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            .from_env()?,
        Duration::from_millis(batch),
    )?;
    let params = KafkaParams::new(&args[0])
        .set("group.id", "kafka_word_count")
        .set("auto.offset.reset", "earliest");
    let topics: Vec<String> = args[1].split(',').map(str::to_string).collect();
    let (records, offsets) = create_direct_stream(&ssc, params, Subscription::topics(topics))?;
    let counts = records
        .flat_map(|r| {
            r.value_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print_with(10);
    counts.foreach_rdd(move |_, time| {
        for r in offsets.get(time).unwrap_or_default() {
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
