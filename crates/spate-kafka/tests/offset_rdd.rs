//! An RDD of explicit offset ranges for a batch job (`create_rdd`, Spark's
//! `KafkaUtils.createRDD`) against the broker: each partition holds exactly its range's
//! records; an empty range is an empty partition; a range past the partition's end fails
//! its task naming the range; a range that ends before it starts is refused.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use spate_core::{Context, SpateConf};
use spate_kafka::{create_rdd, KafkaParams, OffsetRange};

fn range(topic: &str, partition: i32, from: i64, until: i64) -> OffsetRange {
    OffsetRange {
        topic: topic.into(),
        partition,
        from_offset: from,
        until_offset: until,
    }
}

#[test]
fn each_partition_holds_exactly_its_range() {
    let Some(b) = broker::broker("kafka offset_rdd") else {
        return;
    };
    let topic = format!("rdd-{}", std::process::id());
    b.create_topic(&topic, 3);
    let records: Vec<_> = (0..300)
        .map(|i| (i % 3, format!("k{i}"), format!("v{i}")))
        .collect();
    b.produce(&topic, &records);
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")
            .and_then(|c| c.set("spate.streaming.kafka.consumer.poll.ms", "3s"))
            .and_then(|c| c.set("spate.task.maxFailures", "1"))
            .expect("conf"),
    )
    .expect("context");
    let params = KafkaParams::new(&b.brokers);
    let ranges = vec![
        range(&topic, 0, 10, 20),
        range(&topic, 1, 0, 100),
        range(&topic, 2, 50, 50),
    ];
    let rdd = create_rdd(&ctx, &params, ranges).expect("rdd");
    assert_eq!(rdd.num_partitions(), 3);
    let parts = rdd.glom().collect().expect("collect");
    let offsets: Vec<Vec<(i32, i64)>> = parts
        .iter()
        .map(|p| p.iter().map(|r| (r.partition, r.offset)).collect())
        .collect();
    assert_eq!(offsets[0], (10..20).map(|o| (0, o)).collect::<Vec<_>>());
    assert_eq!(offsets[1], (0..100).map(|o| (1, o)).collect::<Vec<_>>());
    assert!(offsets[2].is_empty());
    // Partition 1's offset o holds record 3o + 1.
    for r in &parts[1] {
        assert_eq!(
            r.value_str(),
            Some(format!("v{}", 3 * r.offset + 1).as_str())
        );
    }
    // Past the end: the task fails (after the poll time), naming the range.
    let rdd = create_rdd(&ctx, &params, vec![range(&topic, 0, 90, 120)]).expect("rdd");
    let err = rdd.count().expect_err("a range past the end").to_string();
    assert!(
        err.contains(&format!("{topic}-0 [90, 120)")) && err.contains("up to offset 100"),
        "{err}"
    );
    // Backwards: refused at once.
    let err = create_rdd(&ctx, &params, vec![range(&topic, 0, 20, 10)]).expect_err("backwards");
    assert!(
        err.to_string().contains("is not a range of offsets"),
        "{err}"
    );
}
