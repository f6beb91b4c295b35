//! The Kafka sink against a real broker: three batches written to a three-partition topic
//! and read back — every record there once, with its key and the headers that say which
//! batch, partition and place it came from; a missing topic fails the start with the
//! reason.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use spate_core::Context;
use spate_kafka::{KafkaParams, KafkaSink, ProducerRecord};
use spate_streaming::{RddQueue, StreamingContext};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Every record of `topic` (3 partitions): value -> (key, headers).
fn read_back(
    brokers: &str,
    topic: &str,
    want: usize,
) -> BTreeMap<String, Vec<(Option<String>, BTreeMap<String, String>)>> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "sink-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    let mut n = 0;
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until && n < want {
        let Some(Ok(m)) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string();
        let key = m.key().map(|k| String::from_utf8_lossy(k).to_string());
        out.entry(value).or_default().push((key, headers));
        n += 1;
    }
    out
}

#[test]
fn three_batches_land_in_the_topic_once_each_with_their_headers() {
    let Some(b) = broker::broker("sink") else {
        return;
    };
    let topic = format!("sink-{}", std::process::id());
    b.create_topic(&topic, 3);
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    for batch in 0..3 {
        let records: Vec<String> = (0..100).map(|i| format!("b{batch}-r{i}")).collect();
        q.push(ctx.parallelize_with(records, 2));
    }
    ssc.queue_stream(&q).write_to(KafkaSink::new(
        KafkaParams::new(&b.brokers),
        topic.clone(),
        |s: &String| {
            let mut r = ProducerRecord::keyed(format!("key-{s}"), s.clone());
            r.headers.push(("app".into(), b"sink-test".to_vec()));
            r
        },
    ));
    ssc.start().expect("start");
    let got = read_back(&b.brokers, &topic, 300);
    ssc.stop(false, true);
    ssc.await_termination().expect("every batch written");
    assert_eq!(got.len(), 300, "records in the topic: {}", got.len());
    let mut batch_times = std::collections::BTreeSet::new();
    for (value, copies) in &got {
        assert_eq!(copies.len(), 1, "{value} written {} times", copies.len());
        let (key, headers) = &copies[0];
        assert_eq!(key.as_deref(), Some(format!("key-{value}").as_str()));
        assert_eq!(headers.get("app").map(String::as_str), Some("sink-test"));
        let t: i64 = headers["spate-batch-time"].parse().expect("batch time");
        let p: usize = headers["spate-partition"].parse().expect("partition");
        let i: usize = headers["spate-index"].parse().expect("index");
        assert!(p < 2 && i < 50, "{value}: partition {p}, index {i}");
        batch_times.insert(t);
    }
    assert_eq!(batch_times.len(), 3, "three batches: {batch_times:?}");
}

#[test]
fn a_missing_topic_fails_the_start_with_the_reason() {
    let Some(b) = broker::broker("sink") else {
        return;
    };
    let ctx = Context::local(1).expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::<String>::new();
    ssc.queue_stream(&q).write_to(KafkaSink::new(
        KafkaParams::new(&b.brokers),
        "no-such-sink-topic",
        |s: &String| ProducerRecord::value(s.clone()),
    ));
    let err = ssc.start().expect_err("a missing topic").to_string();
    assert!(err.contains("no-such-sink-topic"), "{err}");
}
