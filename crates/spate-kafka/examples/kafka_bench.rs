//! `kafka_bench`: Kafka word count throughput, spate's direct stream against the plain
//! client reading the same topic (the ceiling). One JSON line per run.
//!
//! ```text
//! kafka_bench load   <brokers> <topic> <file> <lines>   # the file's first lines, round robin over the partitions
//! kafka_bench client <brokers> <topic> [run]            # one consumer, every partition, a HashMap word count
//! kafka_bench client-parallel <brokers> <topic> [run]   # one consumer and count per partition, in threads, merged
//! kafka_bench spate  <brokers> <topic> [run] [batch-ms] # a direct stream, flat_map + reduce_by_key per batch
//! ```
//!
//! Both read the topic from its start to the end it has when they start, and report the
//! records and words read, seconds and records per second. The spate time
//! runs from `start()` to the end of the batch that completes the count (it includes the
//! wait for the first batch: at most one batch interval). `benches/scripts/kafka_vs_client.sh`
//! runs them alternately.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use spate::prelude::*;
use spate_kafka::{create_direct_stream, KafkaParams, Subscription};
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| a.get(i).cloned().ok_or("usage: see the file's docs");
    match arg(0)?.as_str() {
        "load" => load(&arg(1)?, &arg(2)?, &arg(3)?, arg(4)?.parse()?),
        "client" => client(&arg(1)?, &arg(2)?, a.get(3).map_or("1", |s| s), false),
        "client-parallel" => client(&arg(1)?, &arg(2)?, a.get(3).map_or("1", |s| s), true),
        "spate" => spate_run(
            &arg(1)?,
            &arg(2)?,
            a.get(3).map_or("1", |s| s),
            a.get(4).map_or(Ok(1000), |s| s.parse())?,
        ),
        other => Err(format!("unknown mode {other}").into()),
    }
}

/// Each partition's end, and how many partitions.
fn ends(brokers: &str, topic: &str) -> Res<Vec<i64>> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafka-bench")
        .create()?;
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let parts = md
        .topics()
        .first()
        .map_or(0, |t| t.partitions().len() as i32);
    (0..parts)
        .map(|p| Ok(c.fetch_watermarks(topic, p, Duration::from_secs(10))?.1))
        .collect()
}

fn load(brokers: &str, topic: &str, file: &str, lines: usize) -> Res<()> {
    let parts = ends(brokers, topic)?.len().max(1) as i32;
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "50")
        .set("batch.num.messages", "10000")
        .create()?;
    let started = Instant::now();
    let f = std::io::BufReader::new(std::fs::File::open(file)?);
    let mut n = 0;
    for line in f.lines().take(lines) {
        let line = line?;
        loop {
            match p.send(
                BaseRecord::<(), str>::to(topic)
                    .partition(n % parts)
                    .payload(&line),
            ) {
                Ok(()) => break,
                Err(_) => {
                    p.poll(Duration::from_millis(5));
                }
            }
        }
        n += 1;
    }
    p.flush(Duration::from_secs(120))?;
    println!(
        "{{\"mode\":\"load\",\"records\":{n},\"secs\":{:.3}}}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn report(mode: &str, run: &str, records: u64, words: u64, secs: f64) {
    println!(
        "{{\"bench\":\"kafka_word_count\",\"mode\":\"{mode}\",\"run\":{run},\"records\":{records},\"words\":{words},\"secs\":{secs:.3},\"records_per_s\":{:.0}}}",
        records as f64 / secs
    );
}

fn client(brokers: &str, topic: &str, run: &str, parallel: bool) -> Res<()> {
    let ends = ends(brokers, topic)?;
    let started = Instant::now();
    let parts: Vec<Vec<i32>> = if parallel {
        (0..ends.len() as i32).map(|p| vec![p]).collect()
    } else {
        vec![(0..ends.len() as i32).collect()]
    };
    let results: Vec<Res<(u64, u64, HashMap<String, u64>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|ps| {
                let ends = &ends;
                s.spawn(move || count_partitions(brokers, topic, &ps, ends))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a reader panicked")?)
            .collect()
    });
    let (mut records, mut words) = (0, 0);
    let mut counts: HashMap<String, u64> = HashMap::new();
    for r in results {
        let (n, w, c) = r?;
        records += n;
        words += w;
        for (k, v) in c {
            *counts.entry(k).or_insert(0) += v;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // (The counts are the work; their size goes to stderr so it is not optimized out.)
    eprintln!("client: {} distinct words", counts.len());
    let mode = if parallel {
        "client-parallel"
    } else {
        "client"
    };
    report(mode, run, records, words, secs);
    Ok(())
}

/// Reads partitions `ps` of `topic` up to `ends` with one consumer; records, words and
/// the word counts.
fn count_partitions(
    brokers: &str,
    topic: &str,
    ps: &[i32],
    ends: &[i64],
) -> Res<(u64, u64, HashMap<String, u64>)> {
    let want: i64 = ps.iter().map(|p| ends[*p as usize]).sum();
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafka-bench-client")
        .set("enable.auto.commit", "false")
        // As spate's readers (the data is there: a fetch need not wait for more).
        .set("fetch.wait.max.ms", "20")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in ps {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let (mut records, mut words) = (0u64, 0u64);
    while records < want as u64 {
        let Some(m) = c.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = m?;
        if m.offset() >= ends[m.partition() as usize] {
            continue;
        }
        records += 1;
        for w in std::str::from_utf8(m.payload().unwrap_or_default())?.split_whitespace() {
            *counts.entry(w.to_string()).or_insert(0) += 1;
            words += 1;
        }
    }
    Ok((records, words, counts))
}

fn spate_run(brokers: &str, topic: &str, run: &str, batch_ms: u64) -> Res<()> {
    let want: u64 = ends(brokers, topic)?.iter().sum::<i64>() as u64;
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("kafka_bench")?
            .master("local[2]")?
            .from_env()?,
        Duration::from_millis(batch_ms),
    )?;
    let params = KafkaParams::new(brokers).set("auto.offset.reset", "earliest");
    let (records, _) = create_direct_stream(&ssc, params, Subscription::topics([topic]))?;
    let read = Arc::new(AtomicU64::new(0));
    let words = Arc::new(AtomicU64::new(0));
    let (r, w) = (read.clone(), words.clone());
    let counted = ssc.ctx().long_accumulator("records");
    let c2 = counted.clone();
    records
        .flat_map(move |rec| {
            c2.add(1);
            std::str::from_utf8(rec.value.as_deref().unwrap_or_default())
                .unwrap_or_default()
                .split_whitespace()
                .map(|w| (w.to_string(), 1u64))
                .collect::<Vec<_>>()
        })
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |rdd, _| {
            let batch = rdd.collect()?;
            w.fetch_add(batch.iter().map(|(_, n)| n).sum::<u64>(), Ordering::Relaxed);
            r.store(counted.value() as u64, Ordering::Release);
            Ok(())
        });
    let started = Instant::now();
    ssc.start()?;
    while read.load(Ordering::Acquire) < want {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("read {} of {want} in 600 s", read.load(Ordering::Acquire)).into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = started.elapsed().as_secs_f64();
    ssc.stop(true, false);
    report(
        "spate",
        run,
        read.load(Ordering::Acquire),
        words.load(Ordering::Relaxed),
        secs,
    );
    Ok(())
}
