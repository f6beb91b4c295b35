//! A pattern subscription against the broker: the topics matching it when the stream
//! starts are read, a matching topic created while it runs is picked up and read from its
//! first record (records produced before the stream noticed it are not missed), and a
//! topic that does not match is never read.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use parking_lot::Mutex;
use spate_core::Context;
use spate_kafka::{create_direct_stream, ConsumerRecord, KafkaParams, Subscription};
use spate_streaming::StreamingContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn records(prefix: &str, n: usize) -> Vec<(i32, String, String)> {
    (0..n)
        .map(|i| ((i % 2) as i32, format!("k{i}"), format!("{prefix}{i}")))
        .collect()
}

#[test]
fn a_pattern_picks_up_a_topic_created_while_it_runs_from_its_first_record() {
    let Some(b) = broker::broker("kafka pattern") else {
        return;
    };
    let id = std::process::id();
    let (first, later, other) = (
        format!("pat{id}-first"),
        format!("pat{id}-later"),
        format!("other{id}"),
    );
    b.create_topic(&first, 2);
    b.create_topic(&other, 1);
    b.produce(&first, &records("a", 100));
    b.produce(&other, &[(0, "k".into(), "never".into())]);
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let params = KafkaParams::new(&b.brokers).set("auto.offset.reset", "earliest");
    let (stream, _) =
        create_direct_stream(&ssc, params, Subscription::pattern(format!("pat{id}-.*")))
            .expect("stream");
    let got: Arc<Mutex<Vec<ConsumerRecord>>> = Arc::default();
    let g = got.clone();
    stream.foreach_rdd(move |rdd, _| {
        g.lock().extend(rdd.collect()?);
        Ok(())
    });
    ssc.start().expect("start");
    let wait = |n: usize| {
        let until = Instant::now() + Duration::from_secs(60);
        while got.lock().len() < n && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait(100);
    // Created and written at once: its records are there before the stream notices it.
    b.create_topic(&later, 2);
    b.produce(&later, &records("b", 60));
    wait(160);
    std::thread::sleep(Duration::from_millis(900));
    ssc.stop(false, true);
    let got = got.lock().clone();
    let mut values: Vec<String> = got
        .iter()
        .map(|r| r.value_str().expect("text").to_string())
        .collect();
    values.sort();
    let mut want: Vec<String> = records("a", 100)
        .into_iter()
        .chain(records("b", 60))
        .map(|(_, _, v)| v)
        .collect();
    want.sort();
    assert_eq!(values, want, "records of the matching topics, each once");
    assert!(
        got.iter().all(|r| r.topic != other),
        "a topic that does not match was read"
    );
}
