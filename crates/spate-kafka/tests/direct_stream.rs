//! The direct stream against a real Kafka-protocol broker (tansu): known data on a
//! three-partition topic, every record counted once; the ranges each batch read; the
//! group's committed offsets after the batches; a missing topic and an unreachable broker
//! refused at the start with the reason; a broker restart; offsets out of range (a topic
//! recreated while the job was down) failing the batch, or read from the earliest offset
//! as configured.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use spate_core::Context;
use spate_kafka::{
    create_direct_stream, ConsumerRecord, KafkaParams, OffsetRange, Subscription, TopicPartition,
};
use spate_streaming::{DStream, StreamingContext};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 3;

fn records(n: usize) -> Vec<(i32, String, String)> {
    (0..n)
        .map(|i| {
            (
                (i % PARTITIONS as usize) as i32,
                format!("k{i}"),
                format!("v{i}"),
            )
        })
        .collect()
}

/// Every record of the stream's batches, as they complete.
fn collected(stream: &DStream<ConsumerRecord>) -> Arc<Mutex<Vec<ConsumerRecord>>> {
    let got: Arc<Mutex<Vec<ConsumerRecord>>> = Arc::default();
    let g = got.clone();
    stream.foreach_rdd(move |rdd, _| {
        g.lock().extend(rdd.collect()?);
        Ok(())
    });
    got
}

#[test]
fn every_record_of_a_multi_partition_topic_once_with_ranges_and_commits() {
    let Some(b) = broker::broker("direct_stream") else {
        return;
    };
    let topic = format!("direct-{}", std::process::id());
    b.create_topic(&topic, PARTITIONS as u32);
    let first = records(900);
    b.produce(&topic, &first);
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let params = KafkaParams::new(&b.brokers)
        .set("group.id", format!("g-{topic}"))
        .set("auto.offset.reset", "earliest");
    let (stream, ranges) =
        create_direct_stream(&ssc, params, Subscription::topics([topic.clone()])).expect("stream");
    let got = collected(&stream);
    ssc.start().expect("start");
    // More records while it runs.
    let second: Vec<_> = records(1_500).split_off(900);
    b.produce(&topic, &second);
    let until = Instant::now() + Duration::from_secs(60);
    while got.lock().len() < 1_500 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    // A little longer: a record read twice would show.
    std::thread::sleep(Duration::from_millis(900));
    ssc.stop(false, true);
    let got = got.lock().clone();
    let mut seen: Vec<(i32, i64)> = got.iter().map(|r| (r.partition, r.offset)).collect();
    seen.sort_unstable();
    let before = seen.len();
    seen.dedup();
    assert_eq!(before, seen.len(), "a record was read twice");
    let mut values: Vec<String> = got
        .iter()
        .map(|r| r.value_str().expect("text").to_string())
        .collect();
    values.sort();
    let mut want: Vec<String> = records(1_500).into_iter().map(|(_, _, v)| v).collect();
    want.sort();
    assert_eq!(values, want, "the records read are not those produced");
    for r in &got {
        let i: usize = r.value_str().unwrap_or_default()[1..]
            .parse()
            .expect("index");
        assert_eq!(r.partition, (i % PARTITIONS as usize) as i32, "{r:?}");
        assert_eq!(r.key_str(), Some(format!("k{i}").as_str()), "{r:?}");
        assert_eq!(r.topic, topic);
    }
    // The batches' ranges cover each partition's offsets once, in order.
    let all = ranges.all();
    for p in 0..PARTITIONS {
        let mut next = 0;
        for (_, rs) in &all {
            for r in rs.iter().filter(|r| r.partition == p) {
                assert_eq!(r.from_offset, next, "partition {p}: ranges {all:?}");
                next = r.until_offset;
            }
        }
        assert_eq!(next, 500, "partition {p} read up to {next}");
    }
    // The group's committed offsets are the ends of the ranges of completed batches.
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &b.brokers)
        .set("group.id", format!("g-{topic}"))
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(&topic, p);
    }
    let committed = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    for e in committed.elements() {
        assert_eq!(
            e.offset(),
            Offset::Offset(500),
            "partition {} committed {:?}",
            e.partition(),
            e.offset()
        );
    }
}

#[test]
fn a_missing_topic_and_an_unreachable_broker_fail_the_start_with_the_reason() {
    let Some(b) = broker::broker("direct_stream") else {
        return;
    };
    let ctx = Context::local(1).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300)).expect("ssc");
    let (s, _) = create_direct_stream(
        &ssc,
        KafkaParams::new(&b.brokers),
        Subscription::topics(["no-such-topic-here"]),
    )
    .expect("stream");
    s.foreach_rdd(|_, _| Ok(()));
    let err = ssc.start().expect_err("a missing topic").to_string();
    assert!(
        err.contains("no-such-topic-here") && err.contains("does not exist"),
        "{err}"
    );
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let (s, _) = create_direct_stream(
        &ssc,
        KafkaParams::new("127.0.0.1:1").set("socket.timeout.ms", "2000"),
        Subscription::topics(["t"]),
    )
    .expect("stream");
    s.foreach_rdd(|_, _| Ok(()));
    let err = ssc.start().expect_err("an unreachable broker").to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

#[test]
fn a_broker_restart_mid_stream_is_survived_and_every_record_read_once() {
    let Some(mut b) = broker::own_broker("direct_stream") else {
        return;
    };
    let topic = "restart";
    b.create_topic(topic, PARTITIONS as u32);
    b.produce(topic, &records(300));
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let params = KafkaParams::new(&b.brokers).set("auto.offset.reset", "earliest");
    let (stream, _) =
        create_direct_stream(&ssc, params, Subscription::topics([topic])).expect("stream");
    let got = collected(&stream);
    ssc.start().expect("start");
    let wait = |n: usize| {
        let until = Instant::now() + Duration::from_secs(90);
        while got.lock().len() < n && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait(300);
    // Down for 3 s (several batch intervals), then back with its data.
    b.restart(Duration::from_secs(3));
    b.produce(topic, &records(600).split_off(300));
    wait(600);
    std::thread::sleep(Duration::from_millis(900));
    ssc.stop(false, true);
    let failure = ssc.await_termination_or_timeout(Duration::from_millis(10));
    let got = got.lock().clone();
    let mut values: Vec<String> = got
        .iter()
        .map(|r| r.value_str().expect("text").to_string())
        .collect();
    values.sort();
    let mut want: Vec<String> = records(600).into_iter().map(|(_, _, v)| v).collect();
    want.sort();
    assert_eq!(
        values, want,
        "records after a broker restart (the stream ended with {failure:?})"
    );
}

/// Runs a stream of `sub` until `want` records arrived (or 30 s passed) and stops it; the
/// records, where the last batch's ranges ended, and how the stream ended.
fn run_until(
    b: &broker::Broker,
    sub: Subscription,
    out_of_range: &str,
    want: usize,
) -> (
    Vec<ConsumerRecord>,
    Vec<OffsetRange>,
    Result<bool, spate_streaming::Error>,
) {
    let ctx = Context::new(
        spate_core::SpateConf::new()
            .master("local[2]")
            .and_then(|c| c.set("spate.streaming.kafka.offsetOutOfRange", out_of_range))
            .expect("conf"),
    )
    .expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let params = KafkaParams::new(&b.brokers).set("auto.offset.reset", "earliest");
    let (stream, ranges) = create_direct_stream(&ssc, params, sub).expect("stream");
    let got = collected(&stream);
    ssc.start().expect("start");
    let until = Instant::now() + Duration::from_secs(30);
    let mut ended = Ok(false);
    while got.lock().len() < want && Instant::now() < until {
        ended = ssc.await_termination_or_timeout(Duration::from_millis(50));
        if !matches!(ended, Ok(false)) {
            break;
        }
    }
    // A little longer: a record read twice would show.
    if matches!(ended, Ok(false)) {
        ended = ssc.await_termination_or_timeout(Duration::from_millis(900));
    }
    ssc.stop(false, true);
    let got = got.lock().clone();
    let last = ranges.all().pop().map(|(_, r)| r).unwrap_or_default();
    (got, last, ended)
}

/// An error and its causes, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[test]
fn offsets_past_the_end_of_a_recreated_topic_fail_the_batch_or_read_from_the_earliest() {
    let Some(b) = broker::broker("direct_stream") else {
        return;
    };
    let topic = format!("recreated-{}", std::process::id());
    let tp = TopicPartition {
        topic: topic.clone(),
        partition: 0,
    };
    b.create_topic(&topic, 1);
    let first: Vec<_> = records(150)
        .into_iter()
        .map(|(_, k, v)| (0, k, v))
        .collect();
    b.produce(&topic, &first);
    // A job that stores its offsets itself (here: where the last batch's range ended).
    let (got, last, ended) = run_until(&b, Subscription::topics([topic.clone()]), "fail", 150);
    assert_eq!(got.len(), 150, "first run: {ended:?}");
    let stored = last.iter().map(|r| r.until_offset).max().expect("a range");
    assert_eq!(stored, 150);
    // While it is down the topic is deleted and created again, with fewer records.
    b.delete_topic(&topic);
    b.create_topic(&topic, 1);
    let fresh: Vec<_> = (0..20)
        .map(|i| (0, format!("n{i}"), format!("new{i}")))
        .collect();
    b.produce(&topic, &fresh);
    let resume = || Subscription::topics([topic.clone()]).starting_at(tp.clone(), stored);
    // offsetOutOfRange=fail: the first batch fails, naming the partition and both
    // offsets; nothing is read.
    let (got, _, ended) = run_until(&b, resume(), "fail", 1);
    let err = match ended {
        Err(e) => chain(&e),
        other => panic!("the stream went on ({other:?}) with {} records", got.len()),
    };
    assert!(
        err.contains(&format!("{topic}-0"))
            && err.contains("150")
            && err.contains("past the partition's end, 20"),
        "{err}"
    );
    assert!(got.is_empty(), "read {} records", got.len());
    // offsetOutOfRange=earliest: the new records are read, each once.
    let (got, _, ended) = run_until(&b, resume(), "earliest", 20);
    assert!(matches!(ended, Ok(false)), "{ended:?}");
    let mut values: Vec<String> = got
        .iter()
        .map(|r| r.value_str().expect("text").to_string())
        .collect();
    values.sort();
    let mut want: Vec<String> = fresh.into_iter().map(|(_, _, v)| v).collect();
    want.sort();
    assert_eq!(values, want);
}
