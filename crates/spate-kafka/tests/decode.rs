//! Records that do not decode, against the broker: a topic of numbers with a few bad
//! values. `BadRecords::Skip` counts them in an accumulator and the sum of the rest is
//! right; `BadRecords::Fail` fails the batch with an error naming the bad record's topic,
//! partition and offset and the cause.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_kafka::{create_direct_stream, ConsumerRecord, KafkaParams, Subscription};
use spate_streaming::dstream::BadRecords;
use spate_streaming::StreamingContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn number(r: &ConsumerRecord) -> Result<i64, String> {
    let text = r.value_str().ok_or("not UTF-8")?;
    text.parse::<i64>().map_err(|e| format!("`{text}`: {e}"))
}

#[test]
fn bad_records_are_skipped_and_counted_or_fail_the_batch_naming_the_record() {
    let Some(b) = broker::broker("kafka decode") else {
        return;
    };
    let topic = format!("decode-{}", std::process::id());
    b.create_topic(&topic, 2);
    // 1..=100, and "oops" in place of every 25th: 4 bad records.
    let records: Vec<(i32, String, String)> = (1..=100)
        .map(|i| {
            let v = if i % 25 == 0 {
                "oops".to_string()
            } else {
                i.to_string()
            };
            (i % 2, format!("k{i}"), v)
        })
        .collect();
    b.produce(&topic, &records);
    let want: i64 = (1..=100).filter(|i| i % 25 != 0).sum();
    let start = |ctx: &Context| {
        let ssc =
            StreamingContext::with_context(ctx.clone(), Duration::from_millis(300)).expect("ssc");
        let params = KafkaParams::new(&b.brokers).set("auto.offset.reset", "earliest");
        let (s, _) = create_direct_stream(&ssc, params, Subscription::topics([topic.clone()]))
            .expect("stream");
        (ssc, s)
    };

    // Skip: counted, the rest summed.
    let ctx = Context::local(2).expect("context");
    let bad = ctx.long_accumulator("bad records");
    let (ssc, s) = start(&ctx);
    let sum = Arc::new(Mutex::new(0i64));
    let s2 = sum.clone();
    s.decode(BadRecords::Skip(bad.clone()), number)
        .foreach_rdd(move |rdd, _| {
            *s2.lock() += rdd.collect()?.into_iter().sum::<i64>();
            Ok(())
        });
    ssc.start().expect("start");
    let until = Instant::now() + Duration::from_secs(30);
    while *sum.lock() < want && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(600));
    ssc.stop(false, true);
    assert_eq!(*sum.lock(), want);
    assert_eq!(bad.value(), 4, "bad records counted");

    // Fail: the batch fails, naming a bad record and why.
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .and_then(|c| c.set("spate.task.maxFailures", "1"))
            .expect("conf"),
    )
    .expect("context");
    let (ssc, s) = start(&ctx);
    s.decode(BadRecords::Fail, number)
        .foreach_rdd(|rdd, _| rdd.count().map(|_| ()).map_err(Into::into));
    ssc.start().expect("start");
    let ended = ssc.await_termination_or_timeout(Duration::from_secs(30));
    ssc.stop(false, false);
    let err = match ended {
        Err(e) => e.to_string(),
        other => panic!("the stream went on: {other:?}"),
    };
    println!("the batch failed with: {err}");
    assert!(
        err.contains(&format!("kafka {topic}-")) && err.contains("`oops`: invalid digit"),
        "{err}"
    );
}
