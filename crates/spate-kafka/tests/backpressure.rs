//! Backpressure on a direct Kafka stream against a real broker (tansu): records produced
//! at 400 a second, read by a job that is fast, then slowed down (10 ms per record), then
//! fast again. The rate each batch is planned under and the offsets its ranges span fall
//! while the job is slow and rise again after, while it catches up on the lag
//! (`maxRatePerPartition` caps every batch).
//!
//! (The input is produced while the job runs, slowly enough that the lag the slow phase
//! leaves stays small: tansu's fetch costs time in proportion to the records after the
//! fetched offset, about a second per 20,000, so a large lag would make every batch slow
//! on this broker, whatever the rate.)

#[allow(dead_code)]
#[path = "../../spate-streaming/tests/support/backpressure.rs"]
mod backpressure;
#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use backpressure::{now_ms, Batches, Phases};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use spate_core::{Context, SpateConf};
use spate_kafka::{create_direct_stream, KafkaParams, Subscription};
use spate_streaming::StreamingContext;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PARTITIONS: i32 = 3;

/// Produces 40 records every 100 ms, round robin over the partitions, until told to stop;
/// returns how many.
fn produce_steadily(brokers: &str, topic: &str, producing: &AtomicBool) -> u64 {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let mut i: u64 = 0;
    while producing.load(Ordering::Acquire) {
        for _ in 0..40 {
            let (k, v) = (format!("k{i}"), format!("v{i}"));
            let p = (i % PARTITIONS as u64) as i32;
            while producer
                .send(BaseRecord::to(topic).partition(p).key(&k).payload(&v))
                .is_err()
            {
                producer.poll(Duration::from_millis(5));
            }
            i += 1;
        }
        producer.poll(Duration::from_millis(100));
    }
    producer.flush(Duration::from_secs(10)).expect("flush");
    i
}

#[test]
fn a_direct_streams_rate_falls_when_processing_slows_and_rises_again() {
    let Some(b) = broker::broker("kafka backpressure") else {
        return;
    };
    let topic = format!("backpressure-{}", std::process::id());
    b.create_topic(&topic, PARTITIONS as u32);
    let producing = Arc::new(AtomicBool::new(true));
    let producer = {
        let (brokers, topic, producing) = (b.brokers.clone(), topic.clone(), producing.clone());
        std::thread::spawn(move || produce_steadily(&brokers, &topic, &producing))
    };
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .and_then(|c| c.app_name("kafka-backpressure"))
            .and_then(|c| c.set("spate.streaming.backpressure.enabled", "true"))
            .and_then(|c| c.set("spate.streaming.backpressure.initialRate", "2000"))
            .and_then(|c| c.set("spate.streaming.kafka.maxRatePerPartition", "1000"))
            .expect("conf"),
    )
    .expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(500)).expect("ssc");
    let params = KafkaParams::new(&b.brokers)
        .set("group.id", format!("g-{topic}"))
        .set("auto.offset.reset", "earliest");
    let (stream, ranges) =
        create_direct_stream(&ssc, params, Subscription::topics([topic.clone()])).expect("stream");
    // Phase 0 fast, 1 slow (10 ms per record), 2 fast again.
    let phase = Arc::new(AtomicU64::new(0));
    let p = phase.clone();
    stream.foreach_rdd(move |rdd, _| {
        let n = rdd.count()?;
        if p.load(Ordering::Acquire) == 1 {
            std::thread::sleep(Duration::from_micros(10_000 * n));
        }
        Ok(())
    });
    let batches = Arc::new(Batches::default());
    ssc.add_streaming_listener(batches.clone());
    ssc.start().expect("start");
    std::thread::sleep(Duration::from_secs(4));
    let slow_from = now_ms();
    phase.store(1, Ordering::Release);
    // Short enough that the lag it leaves stays cheap to read: tansu's fetch time grows
    // with the records after the fetched offset.
    std::thread::sleep(Duration::from_secs(6));
    let fast_from = now_ms();
    phase.store(2, Ordering::Release);
    std::thread::sleep(Duration::from_secs(10));
    ssc.stop(false, false);
    producing.store(false, Ordering::Release);
    let produced = producer.join().expect("producer thread");
    println!("produced {produced} records");
    let seen = batches.0.lock().clone();
    let rates = seen.iter().filter_map(|b| Some((b.time, b.rate?)));
    Phases::of(rates, slow_from, fast_from)
        .assert_falls_and_rises("rates planned under (records/s)", &seen);
    // The batches' offset ranges follow the rate: the slow phase leaves a lag, which the
    // fast phase reads at the higher rate.
    let spans: Vec<(i64, u64)> = ranges
        .all()
        .iter()
        .map(|(t, rs)| (*t, rs.iter().map(|r| r.count()).sum()))
        .collect();
    Phases::of(spans.iter().copied(), slow_from, fast_from)
        .assert_falls_and_rises("offsets per batch", &spans);
    // maxRatePerPartition caps every batch: 1,000/s a partition, half a second a batch.
    let cap = 500 * PARTITIONS as u64;
    assert!(
        spans.iter().all(|s| s.1 <= cap),
        "a batch read more than {cap} offsets: {spans:?}"
    );
}
