//! The direct stream: [`create_direct_stream`] and its source, which plans one offset
//! range per topic-partition per batch and commits them to the consumer group.

use crate::error::Error;
use crate::range::{ConsumerRecord, KafkaRdd, OffsetRange, Reader, TopicPartition};
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use spate_core::{Context, Rdd};
use spate_streaming::input::{DirectRanges, DirectSource};
use spate_streaming::{DStream, StreamingContext, Time};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a metadata or offset request to the brokers may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a running stream's planning keeps asking brokers that do not answer (a broker
/// restarting) before its batch fails: Kafka's own `default.api.timeout.ms`.
const BROKER_WAIT: Duration = Duration::from_secs(60);

/// The client settings (Spark's `kafkaParams`): any librdkafka consumer setting.
/// `bootstrap.servers` is required. With `group.id`, each batch's ranges are committed to
/// that consumer group once the batch's outputs succeeded, and partitions start at the
/// group's committed offsets; `auto.offset.reset` (`latest`, the default, or `earliest`)
/// says where partitions with no committed or explicit offset start.
#[derive(Debug, Clone)]
pub struct KafkaParams {
    settings: BTreeMap<String, String>,
}

impl KafkaParams {
    /// Settings for the brokers at `bootstrap_servers` (`host:port[,host:port...]`).
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        let mut settings = BTreeMap::new();
        settings.insert("bootstrap.servers".into(), bootstrap_servers.into());
        KafkaParams { settings }
    }

    /// Sets a client setting.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    pub(crate) fn brokers(&self) -> String {
        self.get("bootstrap.servers")
            .unwrap_or_default()
            .to_string()
    }

    /// The settings given to librdkafka (spate's own are not).
    pub(crate) fn client_settings(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .filter(|(k, _)| k.as_str() != "auto.offset.reset")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// What a direct stream reads (Spark's `ConsumerStrategies`).
#[derive(Debug, Clone)]
pub struct Subscription {
    kind: Kind,
    offsets: BTreeMap<TopicPartition, i64>,
}

#[derive(Debug, Clone)]
enum Kind {
    Topics(Vec<String>),
    Pattern(String),
    Assign(Vec<TopicPartition>),
}

/// Where a direct stream's partitions start, for partitions without an explicit offset
/// (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingOffsets {
    /// The partition's earliest offset.
    Earliest,
    /// The partition's end when the stream starts (Kafka's default).
    Latest,
}

impl Subscription {
    /// Every partition of `topics`, those added while the stream runs too.
    pub fn topics<I: IntoIterator<Item = S>, S: Into<String>>(topics: I) -> Self {
        Subscription {
            kind: Kind::Topics(topics.into_iter().map(Into::into).collect()),
            offsets: BTreeMap::new(),
        }
    }

    /// Every partition of the topics whose name matches the regular expression `pattern`
    /// (anchored at both ends), topics and partitions added while the stream runs too.
    pub fn pattern(pattern: impl Into<String>) -> Self {
        Subscription {
            kind: Kind::Pattern(pattern.into()),
            offsets: BTreeMap::new(),
        }
    }

    /// Exactly these partitions.
    pub fn assign(partitions: impl IntoIterator<Item = TopicPartition>) -> Self {
        Subscription {
            kind: Kind::Assign(partitions.into_iter().collect()),
            offsets: BTreeMap::new(),
        }
    }

    /// Starts `partition` at `offset` (over the group's committed offset and
    /// `auto.offset.reset`).
    pub fn starting_at(mut self, partition: TopicPartition, offset: i64) -> Self {
        self.offsets.insert(partition, offset);
        self
    }
}

/// The offset ranges each batch of a direct stream read (Spark's `HasOffsetRanges`), for
/// applications that store offsets themselves.
#[derive(Clone)]
pub struct OffsetRanges(DirectRanges<Vec<OffsetRange>>);

impl OffsetRanges {
    /// The ranges batch `time` read.
    pub fn get(&self, time: Time) -> Option<Vec<OffsetRange>> {
        self.0.get(time)
    }
    /// Every batch's ranges, by batch time (ms).
    pub fn all(&self) -> Vec<(i64, Vec<OffsetRange>)> {
        self.0.all()
    }
}

/// A direct stream of `subscription`'s records (Spark's `KafkaUtils.createDirectStream`):
/// each batch is one offset range per topic-partition, recorded and checkpointed; see the
/// crate docs.
///
/// # Errors
/// [`Error::Param`] for missing or unusable settings (checked here; the brokers are first
/// asked at the context's start, whose error names them).
pub fn create_direct_stream(
    ssc: &StreamingContext,
    params: KafkaParams,
    subscription: Subscription,
) -> Result<(DStream<ConsumerRecord>, OffsetRanges), Error> {
    let source = KafkaSource::new(ssc, params, subscription)?;
    let (stream, ranges) = ssc.direct_stream(source);
    Ok((stream, OffsetRanges(ranges)))
}

/// An RDD of explicit offset ranges, for a batch job (Spark's `KafkaUtils.createRDD`):
/// partition i holds the records of `ranges[i]`, read by its task as a direct stream's
/// tasks read theirs (no group; the context's `spate.streaming.kafka.consumer.*`
/// settings apply). A range the partition does not hold in full fails its task after
/// `spate.streaming.kafka.consumer.poll.ms`, naming the range and the offset reached.
///
/// # Errors
/// [`Error::Param`] for missing settings or a range that ends before it starts.
pub fn create_rdd(
    ctx: &Context,
    params: &KafkaParams,
    ranges: Vec<OffsetRange>,
) -> Result<Rdd<ConsumerRecord>, Error> {
    if params.brokers().is_empty() {
        return Err(Error::Param {
            key: "bootstrap.servers".into(),
            reason: "required (host:port)".into(),
        });
    }
    if let Some(r) = ranges
        .iter()
        .find(|r| r.from_offset < 0 || r.until_offset < r.from_offset)
    {
        return Err(Error::Param {
            key: "ranges".into(),
            reason: format!("{r} is not a range of offsets"),
        });
    }
    let reader = Reader::new(ctx.conf(), params)?;
    Ok(KafkaRdd::create(ctx, ranges, Arc::new(reader)))
}

/// The driver's side of a direct stream.
struct KafkaSource {
    params: KafkaParams,
    subscription: Subscription,
    reset: StartingOffsets,
    group: Option<String>,
    batch_ms: i64,
    max_rate: u64,
    skip_out_of_range: bool,
    reader: Arc<Reader>,
    /// Where each partition's next range starts.
    next: Mutex<BTreeMap<TopicPartition, i64>>,
    /// Positions from a checkpoint, taken at the start.
    restored: Mutex<Option<BTreeMap<TopicPartition, i64>>>,
    /// The driver's client: metadata, offsets, commits.
    client: Mutex<Option<BaseConsumer>>,
    /// Backpressure's rate (records per second of batch, over all partitions).
    rate_limit: Mutex<Option<f64>>,
    /// Started: brokers that do not answer are waited for (up to [`BROKER_WAIT`]); at the
    /// start they fail it at once.
    running: AtomicBool,
}

impl KafkaSource {
    fn new(
        ssc: &StreamingContext,
        params: KafkaParams,
        subscription: Subscription,
    ) -> Result<KafkaSource, Error> {
        let param = |key: &str, reason: String| Error::Param {
            key: key.into(),
            reason,
        };
        if params.brokers().is_empty() {
            return Err(param("bootstrap.servers", "required (host:port)".into()));
        }
        let reset = match params.get("auto.offset.reset").unwrap_or("latest") {
            "latest" | "largest" => StartingOffsets::Latest,
            "earliest" | "smallest" => StartingOffsets::Earliest,
            other => {
                return Err(param(
                    "auto.offset.reset",
                    format!("`{other}`: use earliest or latest"),
                ))
            }
        };
        if let Kind::Pattern(p) = &subscription.kind {
            regex::Regex::new(p).map_err(|e| param("pattern", e.to_string()))?;
        }
        let conf = ssc.ctx().conf();
        let conf_err = |key: &str, e: spate_core::Error| param(key, e.to_string());
        let max_rate = conf
            .get_count("spate.streaming.kafka.maxRatePerPartition")
            .map_err(|e| conf_err("spate.streaming.kafka.maxRatePerPartition", e))?
            .unwrap_or(0) as u64;
        let skip_out_of_range = match conf
            .get_raw("spate.streaming.kafka.offsetOutOfRange")
            .unwrap_or("fail")
        {
            "fail" => false,
            "earliest" => true,
            other => {
                return Err(param(
                    "spate.streaming.kafka.offsetOutOfRange",
                    format!("`{other}`: use fail or earliest"),
                ))
            }
        };
        let reader = Arc::new(Reader::new(conf, &params)?);
        Ok(KafkaSource {
            group: params.get("group.id").map(str::to_string),
            params,
            subscription,
            reset,
            batch_ms: ssc.batch_ms(),
            max_rate,
            skip_out_of_range,
            reader,
            next: Mutex::new(BTreeMap::new()),
            restored: Mutex::new(None),
            client: Mutex::new(None),
            running: AtomicBool::new(false),
            rate_limit: Mutex::new(None),
        })
    }

    fn client_error(&self, what: impl Into<String>, source: rdkafka::error::KafkaError) -> Error {
        Error::client(&self.params.brokers(), what, source)
    }

    /// `call`, asked again while the brokers do not answer and the stream runs (up to
    /// [`BROKER_WAIT`]: librdkafka reconnects to a restarted broker by itself).
    fn ask<T>(
        &self,
        what: impl Fn() -> String,
        mut call: impl FnMut() -> rdkafka::error::KafkaResult<T>,
    ) -> Result<T, Error> {
        let started = std::time::Instant::now();
        let mut warned = false;
        loop {
            match call() {
                Ok(v) => return Ok(v),
                Err(e)
                    if self.running.load(Ordering::Acquire) && started.elapsed() < BROKER_WAIT =>
                {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!(brokers = %self.params.brokers(), "kafka: {} failed ({e}); asking again for up to {} s", what(), BROKER_WAIT.as_secs());
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(self.client_error(what(), e)),
            }
        }
    }

    /// The earliest and the next offset of `tp`.
    fn watermarks(&self, client: &BaseConsumer, tp: &TopicPartition) -> Result<(i64, i64), Error> {
        self.ask(
            || format!("reading the offsets of {}-{}", tp.topic, tp.partition),
            || client.fetch_watermarks(&tp.topic, tp.partition, METADATA_TIMEOUT),
        )
    }

    fn connect(&self) -> Result<BaseConsumer, Error> {
        let mut c = ClientConfig::new();
        for (k, v) in self.params.client_settings() {
            c.set(k, v);
        }
        c.set("enable.auto.commit", "false");
        if self.group.is_none() {
            c.set("group.id", "spate-direct-driver");
        }
        c.create()
            .map_err(|e| self.client_error("creating the driver's client", e))
    }

    /// The partitions the subscription covers now.
    fn partitions(&self, client: &BaseConsumer) -> Result<Vec<TopicPartition>, Error> {
        let wanted: Vec<String> = match &self.subscription.kind {
            Kind::Assign(tps) => return Ok(tps.clone()),
            Kind::Topics(t) => t.clone(),
            Kind::Pattern(_) => Vec::new(),
        };
        let metadata = self.ask(
            || "reading the topics' metadata".into(),
            || client.fetch_metadata(None, METADATA_TIMEOUT),
        )?;
        let pattern = match &self.subscription.kind {
            Kind::Pattern(p) => regex::Regex::new(&format!("^(?:{p})$")).ok(),
            _ => None,
        };
        let mut out = Vec::new();
        for t in metadata.topics() {
            let take = match &pattern {
                Some(re) => re.is_match(t.name()),
                None => wanted.iter().any(|w| w == t.name()),
            };
            if take && t.error().is_none() {
                out.extend(t.partitions().iter().map(|p| TopicPartition {
                    topic: t.name().to_string(),
                    partition: p.id(),
                }));
            }
        }
        for w in &wanted {
            if !out.iter().any(|tp| &tp.topic == w) {
                return Err(Error::NoTopic {
                    topic: w.clone(),
                    brokers: self.params.brokers(),
                });
            }
        }
        out.sort();
        Ok(out)
    }

    /// Where a partition first read by this stream starts: its explicit offset, the
    /// group's committed offset, else `reset` (`auto.offset.reset` at the start; the
    /// earliest for a partition added while the stream runs, so none of its records is
    /// missed).
    fn first_offset(
        &self,
        client: &BaseConsumer,
        tp: &TopicPartition,
        committed: &BTreeMap<TopicPartition, i64>,
        reset: StartingOffsets,
    ) -> Result<i64, Error> {
        if let Some(o) = self.subscription.offsets.get(tp) {
            return Ok(*o);
        }
        if let Some(o) = committed.get(tp) {
            return Ok(*o);
        }
        let (low, high) = self.watermarks(client, tp)?;
        Ok(match reset {
            StartingOffsets::Earliest => low,
            StartingOffsets::Latest => high,
        })
    }

    /// The group's committed offsets of `tps` (none without a group).
    fn committed(
        &self,
        client: &BaseConsumer,
        tps: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>, Error> {
        let mut out = BTreeMap::new();
        if self.group.is_none() || tps.is_empty() {
            return Ok(out);
        }
        let mut tpl = TopicPartitionList::new();
        for tp in tps {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let got = self.ask(
            || "reading the group's committed offsets".into(),
            || client.committed_offsets(tpl.clone(), METADATA_TIMEOUT),
        )?;
        for e in got.elements() {
            if let Offset::Offset(o) = e.offset() {
                out.insert(
                    TopicPartition {
                        topic: e.topic().to_string(),
                        partition: e.partition(),
                    },
                    o,
                );
            }
        }
        Ok(out)
    }

    /// The ranges of the next batch, and where the one after starts.
    fn plan_ranges(&self, client: &BaseConsumer) -> Result<Vec<OffsetRange>, Error> {
        let partitions = self.partitions(client)?;
        let mut next = self.next.lock();
        let new: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !next.contains_key(*tp))
            .cloned()
            .collect();
        if !new.is_empty() {
            let first_plan = next.is_empty();
            let committed = self.committed(client, &new)?;
            for tp in new {
                let reset = if first_plan {
                    self.reset
                } else {
                    tracing::info!(topic = %tp.topic, partition = tp.partition, "kafka: a partition was added; read from its earliest offset");
                    StartingOffsets::Earliest
                };
                let o = self.first_offset(client, &tp, &committed, reset)?;
                next.insert(tp, o);
            }
        }
        // Where each partition stands: its next offset and its end.
        let mut spans = Vec::with_capacity(partitions.len());
        for tp in &partitions {
            let Some(from) = next.get(tp).copied() else {
                continue;
            };
            let (low, high) = self.watermarks(client, tp)?;
            let from = checked_start(tp, from, (low, high), self.skip_out_of_range)?;
            spans.push((tp.clone(), from, high));
        }
        // At most: maxRatePerPartition, and backpressure's rate shared out by each
        // partition's lag (Spark's maxMessagesPerPartition), per second of batch; at least
        // one record.
        let secs = self.batch_ms as f64 / 1000.0;
        let total_lag: i64 = spans.iter().map(|(_, f, h)| h - f).sum();
        let rate = *self.rate_limit.lock();
        let mut ranges = Vec::with_capacity(spans.len());
        for (tp, from, high) in spans {
            let lag = high - from;
            let mut per_s: Option<f64> = (self.max_rate > 0).then_some(self.max_rate as f64);
            if let (Some(r), true) = (rate, total_lag > 0) {
                let share = r * lag as f64 / total_lag as f64;
                per_s = Some(per_s.map_or(share, |m| m.min(share)));
            }
            let until = match per_s {
                Some(r) => high.min(from + ((r * secs).floor() as i64).max(1)),
                None => high,
            };
            ranges.push(OffsetRange {
                topic: tp.topic.clone(),
                partition: tp.partition,
                from_offset: from,
                until_offset: until,
            });
            next.insert(tp, until);
        }
        Ok(ranges)
    }
}

/// Where `tp`'s next range starts when it would start at `from` and the partition holds
/// offsets `low..high`: `from`, unless the records there aged out (`from < low`) or the
/// partition now ends before it (recreated or truncated: `from > high`). Then the batch
/// fails naming both, or with `skip` (`offsetOutOfRange=earliest`) it starts at `low`,
/// with a warning.
fn checked_start(
    tp: &TopicPartition,
    from: i64,
    (low, high): (i64, i64),
    skip: bool,
) -> Result<i64, Error> {
    if (low..=high).contains(&from) {
        return Ok(from);
    }
    let range = OffsetRange {
        topic: tp.topic.clone(),
        partition: tp.partition,
        from_offset: from,
        until_offset: high,
    };
    match (skip, from < low) {
        (false, true) => Err(Error::OffsetOutOfRange {
            range: range.to_string(),
            from,
            earliest: low,
        }),
        (false, false) => Err(Error::PastTheEnd {
            topic: tp.topic.clone(),
            partition: tp.partition,
            from,
            latest: high,
        }),
        (true, true) => {
            tracing::warn!(range = %range, earliest = low, skipped = low - from, "kafka: records aged out before they were read; skipping to the earliest offset (spate.streaming.kafka.offsetOutOfRange=earliest)");
            Ok(low)
        }
        (true, false) => {
            tracing::warn!(topic = %tp.topic, partition = tp.partition, next = from, end = high, earliest = low, "kafka: the partition ends before the next offset (recreated or truncated); reading from its earliest offset (spate.streaming.kafka.offsetOutOfRange=earliest)");
            Ok(low)
        }
    }
}

impl DirectSource<ConsumerRecord> for KafkaSource {
    type Range = Vec<OffsetRange>;

    fn plan(&self, _time: Time) -> spate_streaming::Result<Option<Self::Range>> {
        let mut client = self.client.lock();
        if client.is_none() {
            *client = Some(self.connect()?);
        }
        let Some(c) = client.as_ref() else {
            return Ok(None);
        };
        Ok(Some(self.plan_ranges(c)?))
    }

    fn read(
        &self,
        ctx: &Context,
        range: &Self::Range,
    ) -> spate_streaming::Result<Rdd<ConsumerRecord>> {
        Ok(KafkaRdd::create(ctx, range.clone(), self.reader.clone()))
    }

    fn records(&self, range: &Self::Range) -> Option<u64> {
        Some(range.iter().map(OffsetRange::count).sum())
    }

    fn describe(&self, range: &Self::Range) -> String {
        range
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn name(&self) -> String {
        format!("kafka {}", self.params.brokers())
    }

    fn start(&self, _ctx: &Context) -> spate_streaming::Result<()> {
        let client = self.connect()?;
        // Check the brokers answer and the topics exist now, not at the first batch.
        let partitions = self.partitions(&client)?;
        if let Some(restored) = self.restored.lock().take() {
            *self.next.lock() = restored;
        } else {
            let committed = self.committed(&client, &partitions)?;
            let mut next = self.next.lock();
            for tp in partitions {
                let o = self.first_offset(&client, &tp, &committed, self.reset)?;
                next.insert(tp, o);
            }
        }
        *self.client.lock() = Some(client);
        self.running.store(true, Ordering::Release);
        Ok(())
    }

    fn commit(&self, _time: Time, range: &Self::Range) -> spate_streaming::Result<()> {
        if self.group.is_none() || range.is_empty() {
            return Ok(());
        }
        let client = self.client.lock();
        let Some(c) = client.as_ref() else {
            return Ok(());
        };
        let mut tpl = TopicPartitionList::new();
        for r in range {
            tpl.add_partition_offset(&r.topic, r.partition, Offset::Offset(r.until_offset))
                .map_err(|e| self.client_error("committing offsets", e))?;
        }
        c.commit(&tpl, CommitMode::Sync)
            .map_err(|e| self.client_error("committing offsets to the group", e))?;
        Ok(())
    }

    fn position(&self) -> spate_streaming::Result<Option<Vec<u8>>> {
        let next: Vec<(TopicPartition, i64)> = self
            .next
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        Ok(Some(spate_core::codec::encode(&next, "kafka positions")?))
    }

    fn restore(&self, position: &[u8]) -> spate_streaming::Result<()> {
        let next: Vec<(TopicPartition, i64)> =
            spate_core::codec::decode(position, "kafka positions")?;
        *self.restored.lock() = Some(next.into_iter().collect());
        Ok(())
    }

    fn stop(&self) {
        self.client.lock().take();
        self.reader.close_idle();
    }

    fn set_rate_limit(&self, records_per_s: Option<f64>) {
        *self.rate_limit.lock() = records_per_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_outside_the_partition_fails_or_moves_to_the_earliest_offset() {
        let tp = TopicPartition {
            topic: "t".into(),
            partition: 2,
        };
        // Inside (the end included: nothing new yet).
        for from in [10, 15, 20] {
            assert_eq!(checked_start(&tp, from, (10, 20), false).ok(), Some(from));
        }
        // Aged out.
        let e = checked_start(&tp, 4, (10, 20), false).expect_err("aged out");
        assert!(
            matches!(
                e,
                Error::OffsetOutOfRange {
                    from: 4,
                    earliest: 10,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("t-2 [4, 20)"), "{e}");
        assert_eq!(checked_start(&tp, 4, (10, 20), true).ok(), Some(10));
        // Past the end (recreated or truncated).
        let e = checked_start(&tp, 30, (0, 20), false).expect_err("past the end");
        assert!(
            matches!(
                e,
                Error::PastTheEnd {
                    from: 30,
                    latest: 20,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("t-2"), "{e}");
        assert_eq!(checked_start(&tp, 30, (0, 20), true).ok(), Some(0));
    }
}
