//! Offset ranges, records, and reading a range in a task ([`KafkaRdd`]).

use crate::error::Error;
use parking_lot::Mutex;
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

impl spate_streaming::dstream::RecordOrigin for ConsumerRecord {
    fn origin(&self) -> String {
        format!("kafka {}-{}@{}", self.topic, self.partition, self.offset)
    }
}

/// How tasks read ranges: the client settings (no group: a task's consumer is assigned its
/// partition), how long to poll for a range's records, and how many idle consumers this
/// process keeps for the next batches (0: a consumer per task).
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    pub(crate) config: Vec<(String, String)>,
    pub(crate) brokers: String,
    pub(crate) poll: Duration,
    pub(crate) cache_capacity: usize,
}

/// Idle consumers of this process, by client settings (Spark's cached Kafka consumers): a
/// task takes one, assigns it its range's partition at the range's first offset, and gives
/// it back unassigned (so it fetches nothing while idle). Creating a consumer and closing
/// it costs a task tens of milliseconds: a batch of three ranges took 250 ms instead of
/// 25 ms on tansu. A stream's stop closes its idle consumers.
static CACHE: Mutex<Vec<(Vec<(String, String)>, BaseConsumer)>> = Mutex::new(Vec::new());

impl Reader {
    /// The reader of `params`' brokers under `conf`'s `spate.streaming.kafka.consumer.*`
    /// settings.
    pub(crate) fn new(
        conf: &spate_core::SpateConf,
        params: &crate::KafkaParams,
    ) -> Result<Reader, Error> {
        let conf_err = |key: &str, e: spate_core::Error| Error::Param {
            key: key.into(),
            reason: e.to_string(),
        };
        let poll = conf
            .get_duration("spate.streaming.kafka.consumer.poll.ms")
            .map_err(|e| conf_err("spate.streaming.kafka.consumer.poll.ms", e))?
            .unwrap_or(Duration::from_secs(120));
        let cache_capacity = if conf
            .get_bool("spate.streaming.kafka.consumer.cache.enabled")
            .map_err(|e| conf_err("spate.streaming.kafka.consumer.cache.enabled", e))?
        {
            conf.get_count("spate.streaming.kafka.consumer.cache.maxCapacity")
                .map_err(|e| conf_err("spate.streaming.kafka.consumer.cache.maxCapacity", e))?
                .unwrap_or(64)
        } else {
            0
        };
        Ok(Reader {
            config: params
                .client_settings()
                .into_iter()
                .filter(|(k, _)| k != "group.id")
                .collect(),
            brokers: params.brokers(),
            poll,
            cache_capacity,
        })
    }

    fn consumer(&self) -> Result<BaseConsumer, Error> {
        let mut c = ClientConfig::new();
        // A range's records are already on the broker, so a fetch need not wait for more
        // (some brokers hold a first fetch for the full wait: 250 ms a task on tansu).
        c.set("fetch.wait.max.ms", "20");
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

    /// An idle consumer with this reader's settings, else a new one.
    fn take(&self) -> Result<BaseConsumer, Error> {
        if self.cache_capacity > 0 {
            let mut cache = CACHE.lock();
            if let Some(i) = cache.iter().position(|(k, _)| *k == self.config) {
                return Ok(cache.swap_remove(i).1);
            }
        }
        self.consumer()
    }

    /// Keeps `c` for a later range, unassigned, unless the cache is full (then it is
    /// closed).
    fn give_back(&self, c: BaseConsumer) {
        if self.cache_capacity == 0 || c.unassign().is_err() {
            return;
        }
        let mut cache = CACHE.lock();
        if cache.len() < self.cache_capacity {
            cache.push((self.config.clone(), c));
        } else {
            drop(cache);
            drop(c);
        }
    }

    /// Closes this reader's idle consumers (when its stream stops).
    pub(crate) fn close_idle(&self) {
        let closed: Vec<_> = {
            let mut cache = CACHE.lock();
            let (mine, others) = std::mem::take(&mut *cache)
                .into_iter()
                .partition(|(k, _)| *k == self.config);
            *cache = others;
            mine
        };
        drop(closed);
    }

    /// The records of `range`, in offset order.
    pub(crate) fn read(&self, range: &OffsetRange) -> Result<Vec<ConsumerRecord>, Error> {
        let mut out = Vec::with_capacity(range.count() as usize);
        if range.count() == 0 {
            return Ok(out);
        }
        let consumer = self.take()?;
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
            // (A record of the consumer's previous assignment is not this range's.)
            if m.offset() < next || m.partition() != range.partition || m.topic() != range.topic {
                continue;
            }
            if m.offset() >= range.until_offset {
                // A gap (compaction, transaction markers) ran past the range.
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
        self.give_back(consumer);
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
