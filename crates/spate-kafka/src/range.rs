//! Offset ranges, records, and reading a range in a task ([`KafkaRdd`]).

use crate::error::Error;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use spate_core::rdd::{BoxIter, Dependency, RddBase, RddInfo, RddNode};
use spate_core::scheduler::TaskContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A topic's partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// The records of one topic-partition a batch reads: offsets `from_offset` (inclusive) to
/// `until_offset` (exclusive), Spark's `OffsetRange`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset read.
    pub from_offset: i64,
    /// One past the last offset read.
    pub until_offset: i64,
}

impl OffsetRange {
    /// How many offsets the range spans (records, unless the topic is compacted).
    pub fn count(&self) -> u64 {
        (self.until_offset - self.from_offset).max(0) as u64
    }
}

impl std::fmt::Display for OffsetRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{} [{}, {})",
            self.topic, self.partition, self.from_offset, self.until_offset
        )
    }
}

/// One Kafka record (Spark's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerRecord {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The record's timestamp (ms since the epoch), if it has one.
    pub timestamp: Option<i64>,
    /// The key.
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Option<Vec<u8>>,
    /// The headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl ConsumerRecord {
    /// The value as UTF-8 text, if it is.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value.as_deref()?).ok()
    }
    /// The key as UTF-8 text, if it is.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(self.key.as_deref()?).ok()
    }
}

/// How tasks read ranges: the client settings (no group: a task's consumer is assigned its
/// partition) and how long to poll for a range's records.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    pub(crate) config: Vec<(String, String)>,
    pub(crate) brokers: String,
    pub(crate) poll: Duration,
}

impl Reader {
    fn consumer(&self) -> Result<BaseConsumer, Error> {
        let mut c = ClientConfig::new();
        for (k, v) in &self.config {
            c.set(k, v);
        }
        // A reader is never a group member and never commits: the driver commits.
        c.set("enable.auto.commit", "false")
            .set("group.id", "spate-direct-reader")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "error");
        c.create()
            .map_err(|source| Error::client(&self.brokers, "creating a consumer", source))
    }

    /// The records of `range`, in offset order.
    pub(crate) fn read(&self, range: &OffsetRange) -> Result<Vec<ConsumerRecord>, Error> {
        let mut out = Vec::with_capacity(range.count() as usize);
        if range.count() == 0 {
            return Ok(out);
        }
        let consumer = self.consumer()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            &range.topic,
            range.partition,
            Offset::Offset(range.from_offset),
        )
        .map_err(|source| self.client_error(range, source))?;
        consumer
            .assign(&tpl)
            .map_err(|source| self.client_error(range, source))?;
        let started = Instant::now();
        let mut next = range.from_offset;
        while next < range.until_offset {
            let waited = started.elapsed();
            if waited > self.poll {
                return Err(Error::Incomplete {
                    range: range.to_string(),
                    reached: next,
                    waited_ms: waited.as_millis() as u64,
                });
            }
            let Some(polled) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let m = polled.map_err(|source| self.client_error(range, source))?;
            if m.offset() < next {
                continue;
            }
            if m.offset() >= range.until_offset {
                break;
            }
            next = m.offset() + 1;
            out.push(ConsumerRecord {
                topic: m.topic().to_string(),
                partition: m.partition(),
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    fn client_error(&self, range: &OffsetRange, source: rdkafka::error::KafkaError) -> Error {
        Error::client(&self.brokers, format!("reading {range}"), source)
    }
}

/// A batch's RDD: partition i is offset range i, read by its task.
pub(crate) struct KafkaRdd {
    info: RddInfo,
    ranges: Vec<OffsetRange>,
    reader: Arc<Reader>,
}

impl KafkaRdd {
    pub(crate) fn create(
        ctx: &spate_core::Context,
        ranges: Vec<OffsetRange>,
        reader: Arc<Reader>,
    ) -> spate_core::Rdd<ConsumerRecord> {
        let info = RddInfo::new(ctx, "kafka_rdd", ranges.len(), &[]);
        spate_core::Rdd::from_node(Arc::new(KafkaRdd {
            info,
            ranges,
            reader,
        }))
    }
}

impl RddBase for KafkaRdd {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<ConsumerRecord> for KafkaRdd {
    fn compute(
        &self,
        split: usize,
        _tc: &TaskContext,
    ) -> spate_core::Result<BoxIter<ConsumerRecord>> {
        let range = self.ranges.get(split).ok_or_else(|| {
            spate_core::Error::Task(format!("kafka rdd has no partition {split}"))
        })?;
        let records = self
            .reader
            .read(range)
            .map_err(|e| spate_core::Error::Task(e.to_string()))?;
        Ok(Box::new(records.into_iter()))
    }
}
