//! A direct stream survives `kill -9` of its driver: a program reads a three-partition
//! topic and writes each batch's records to a file named by the batch time (an output
//! keyed by batch, as Spark's exactly-once recipe wants). It is killed with SIGKILL
//! mid-stream while records keep arriving, then started again: `get_or_create` recovers
//! from the checkpoint, the batches it had planned are computed again from their recorded
//! offset ranges, and the next ones start where those end. Across all batch files every
//! record appears exactly once.

#[allow(dead_code)]
#[path = "common/batch_files.rs"]
mod batch_files;
#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use spate_core::{Context, SpateConf};
use spate_kafka::{create_direct_stream, KafkaParams, Subscription};
use spate_streaming::StreamingContext;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

const PARTITIONS: i32 = 3;

/// The program: reads `topic` and writes each batch's records to `out/batch-<ms>`.
fn program(dir: &Path, brokers: &str, topic: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")?
            .app_name("kafka-recovery")?,
    )?;
    let checkpoint = dir.join("checkpoint");
    let (c, out) = (ctx.clone(), dir.join("out"));
    std::fs::create_dir_all(&out)?;
    let (brokers, topic) = (brokers.to_string(), topic.to_string());
    let ssc = StreamingContext::get_or_create(checkpoint.clone(), move || {
        let ssc = StreamingContext::with_context(c, Duration::from_millis(300))?;
        ssc.checkpoint(&checkpoint)?;
        // No group: where to go on comes from the checkpoint alone (a fresh start would
        // read the topic again from the earliest offset, and the records would be in two
        // batches).
        let params = KafkaParams::new(brokers).set("auto.offset.reset", "earliest");
        let (records, _) = create_direct_stream(&ssc, params, Subscription::topics([topic]))?;
        records
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.partition,
                    r.offset,
                    r.value_str().unwrap_or_default()
                )
            })
            .foreach_rdd(move |rdd, time| {
                batch_files::write_batch(&out, time.0, &rdd.collect()?)?;
                Ok(())
            });
        Ok(ssc)
    })?;
    ssc.start()?;
    std::fs::write(dir.join("started"), b"")?;
    while !dir.join("stop").exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    ctx.stop();
    Ok(())
}

use batch_files::{read_out, wait_until};

fn spawn(dir: &Path, brokers: &str, topic: &str) -> Child {
    batch_files::spawn(&[
        ("KAFKA_RECOVERY_DIR", &dir.to_string_lossy()),
        ("KAFKA_RECOVERY_BROKERS", brokers),
        ("KAFKA_RECOVERY_TOPIC", topic),
    ])
}

fn produce(b: &broker::Broker, topic: &str, from: usize, to: usize) {
    let recs: Vec<(i32, String, String)> = (from..to)
        .map(|i| {
            (
                (i % PARTITIONS as usize) as i32,
                format!("k{i}"),
                format!("v{i}"),
            )
        })
        .collect();
    b.produce(topic, &recs);
}

fn main() {
    if let (Ok(dir), Ok(brokers), Ok(topic)) = (
        std::env::var("KAFKA_RECOVERY_DIR"),
        std::env::var("KAFKA_RECOVERY_BROKERS"),
        std::env::var("KAFKA_RECOVERY_TOPIC"),
    ) {
        if let Err(e) = program(Path::new(&dir), &brokers, &topic) {
            eprintln!("kafka driver_recovery program: {e}");
            std::process::exit(1);
        }
        return;
    }
    let Some(b) = broker::broker("driver_recovery") else {
        return;
    };
    let topic = format!("recovery-{}", std::process::id());
    b.create_topic(&topic, PARTITIONS as u32);
    let dir = tempfile::tempdir().expect("dir");
    produce(&b, &topic, 0, 600);
    let mut child = spawn(dir.path(), &b.brokers, &topic);
    wait_until("the first start", 60, || {
        dir.path().join("started").exists()
    });
    produce(&b, &topic, 600, 1_200);
    wait_until("900 records written", 60, || {
        read_out(dir.path()).0.len() >= 900
    });
    // Killed without a word, while records keep arriving.
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_file(dir.path().join("started")).expect("marker");
    produce(&b, &topic, 1_200, 1_800);
    let mut child = spawn(dir.path(), &b.brokers, &topic);
    wait_until("the recovered start", 60, || {
        dir.path().join("started").exists()
    });
    wait_until("every record written", 90, || {
        read_out(dir.path()).0.len() >= 1_800
    });
    std::thread::sleep(Duration::from_millis(900));
    std::fs::write(dir.path().join("stop"), b"").expect("stop");
    let status = child.wait().expect("the recovered program");
    let (seen, dups) = read_out(dir.path());
    assert_eq!(
        dups, 0,
        "records written by two batches: each must be in exactly one"
    );
    let mut values: Vec<usize> = seen
        .values()
        .map(|v| v[1..].parse().expect("value"))
        .collect();
    values.sort_unstable();
    assert_eq!(
        values,
        (0..1_800).collect::<Vec<_>>(),
        "records missing or extra"
    );
    for ((p, _), v) in &seen {
        let i: usize = v[1..].parse().expect("value");
        assert_eq!(*p, (i % PARTITIONS as usize).to_string());
    }
    assert!(
        status.success(),
        "the recovered program ended with {status:?}"
    );
    println!(
        "kafka driver_recovery: ok (1800 records, each in exactly one batch, across a kill -9)"
    );
}
