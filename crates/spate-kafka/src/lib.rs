//! Kafka for spate: a direct stream of offset ranges (Spark's
//! `KafkaUtils.createDirectStream`), on the `rdkafka` client (librdkafka, built from its
//! bundled source).
//!
//! No receiver: at each batch the driver asks the brokers for every partition's latest
//! offset and plans the batch as one offset range per topic-partition (from where the
//! previous batch stopped to that offset, at most `spate.streaming.kafka.maxRatePerPartition`
//! records per second of batch). The ranges go into the input tracker and the metadata
//! checkpoint, so a recovered driver recomputes the same batches from the same offsets and
//! goes on from where they end. The batch's RDD has one partition per range; a task reads
//! its range with a consumer of its own (assigned the partition, never a group member).
//!
//! ```no_run
//! use spate_kafka::{create_direct_stream, KafkaParams, Subscription};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ssc = spate_streaming::StreamingContext::with_context(
//! #     spate_core::Context::local(2)?, std::time::Duration::from_secs(1))?;
//! let params = KafkaParams::new("127.0.0.1:9092").set("group.id", "word-count");
//! let (records, offsets) = create_direct_stream(&ssc, params, Subscription::topics(["logs"]))?;
//! records
//!     .map(|r| r.value_str().unwrap_or_default().to_string())
//!     .print_with(10);
//! # Ok(()) }
//! ```
//!
//! What is built so far and what is not: see `docs/kafka.md`.

mod error;
mod range;
mod sink;
mod source;

pub use error::Error;
pub use range::{ConsumerRecord, OffsetRange, TopicPartition};
pub use sink::{KafkaSink, ProducerRecord};
pub use source::{
    create_direct_stream, create_rdd, KafkaParams, OffsetRanges, StartingOffsets, Subscription,
};
