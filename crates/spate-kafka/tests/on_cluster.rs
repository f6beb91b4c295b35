//! The direct stream on `local-cluster[2,1]`: the driver plans each batch's offset
//! ranges and the executor processes read them (their copies of the program take the
//! ranges from the driver's plans and never plan themselves). 1,200 records on a
//! three-partition topic, half produced while the stream runs: each is read exactly once,
//! and by an executor process, never by the driver.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_kafka::{create_direct_stream, KafkaParams, Subscription};
use spate_streaming::StreamingContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn records(from: usize, to: usize) -> Vec<(i32, String, String)> {
    (from..to)
        .map(|i| ((i % 3) as i32, format!("k{i}"), format!("v{i}")))
        .collect()
}

fn main() {
    spate_cluster::register();
    // The driver sets up the topic (and a broker, when the test command did not start
    // one); the executor processes inherit where they are from its environment.
    let mut own = None;
    if std::env::var("SPATE_EXECUTOR_ID").is_err() {
        let Some(b) = broker::broker("kafka on_cluster") else {
            return;
        };
        let topic = format!("cluster-{}", std::process::id());
        b.create_topic(&topic, 3);
        b.produce(&topic, &records(0, 600));
        std::env::set_var("SPATE_TEST_KAFKA_BROKERS", &b.brokers);
        std::env::set_var("KAFKA_CLUSTER_TOPIC", &topic);
        own = Some(b);
    }
    let (Ok(brokers), Ok(topic)) = (
        std::env::var("SPATE_TEST_KAFKA_BROKERS"),
        std::env::var("KAFKA_CLUSTER_TOPIC"),
    ) else {
        eprintln!("kafka on_cluster: an executor without the driver's broker and topic");
        std::process::exit(1)
    };
    let ctx = Context::new(
        SpateConf::new()
            .master("local-cluster[2,1]")
            .and_then(|c| c.app_name("kafka-on-cluster"))
            .expect("configuration"),
    )
    .unwrap_or_else(|e| {
        eprintln!("local-cluster[2,1] failed to start: {e}");
        std::process::exit(1)
    });
    let is_driver = ctx.is_driver();
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300))
        .expect("streaming context");
    let params = KafkaParams::new(&brokers).set("auto.offset.reset", "earliest");
    let (stream, _) =
        create_direct_stream(&ssc, params, Subscription::topics([topic.clone()])).expect("stream");
    // (partition, offset, value, the process that read it).
    let got = Arc::new(Mutex::new(Vec::<(i32, i64, String, String)>::new()));
    let g = got.clone();
    stream
        .map(|r| {
            let reader = std::env::var("SPATE_EXECUTOR_ID").unwrap_or_else(|_| "driver".into());
            let v = r.value_str().unwrap_or_default().to_string();
            (r.partition, r.offset, v, reader)
        })
        .foreach_rdd(move |rdd, _| {
            let v = rdd.collect()?;
            if is_driver {
                g.lock().extend(v);
            }
            Ok(())
        });
    ssc.start().expect("start");
    if !is_driver {
        let _ = ssc.await_termination();
        return;
    }
    let Some(b) = own.as_ref() else { return };
    b.produce(&topic, &records(600, 1_200));
    let until = Instant::now() + Duration::from_secs(90);
    while got.lock().len() < 1_200 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(900));
    ssc.stop(false, true);
    ctx.stop();
    let got = got.lock().clone();
    let mut places: Vec<(i32, i64)> = got.iter().map(|(p, o, _, _)| (*p, *o)).collect();
    places.sort_unstable();
    places.dedup();
    assert_eq!(places.len(), got.len(), "a record was read twice");
    let mut values: Vec<usize> = got
        .iter()
        .map(|(_, _, v, _)| v[1..].parse().expect("value"))
        .collect();
    values.sort_unstable();
    assert_eq!(
        values,
        (0..1_200).collect::<Vec<_>>(),
        "records missing or extra"
    );
    let readers: std::collections::BTreeSet<&str> =
        got.iter().map(|(_, _, _, r)| r.as_str()).collect();
    assert!(
        !readers.is_empty() && !readers.contains("driver"),
        "ranges were read by {readers:?}, not only by executor processes"
    );
    println!("kafka on_cluster: ok (1200 records, each once, read by {readers:?})");
}
