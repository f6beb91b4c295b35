//! The stream of a Kinesis stream's shards: [`create_stream`] and its source, which reads
//! each shard from where the previous batch stopped and plans the batch as one
//! sequence-number range per shard.

use crate::client::{Kinesis, Start};
use crate::error::Error;
use crate::stream::{self, KinesisRdd, KinesisRecord, RangeReader, SequenceRange};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use spate_core::{Context, Rdd};
use spate_streaming::input::{DirectRanges, DirectSource};
use spate_streaming::{DStream, StreamingContext, Time};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The most records one `GetRecords` call returns (Kinesis' own limit).
const MAX_PER_CALL: usize = 10_000;

/// `GetRecords` calls per shard per batch, at most.
const CALLS_PER_BATCH: usize = 5;

/// Where a stream's shards start when the stream has no checkpoint (Spark's
/// `InitialPositionInStream`). Shards that appear later (a split or a merge) are read
/// from their first record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialPosition {
    /// The oldest record each shard still holds.
    TrimHorizon,
    /// Only records that arrive after the start (Spark's default).
    Latest,
    /// Records that arrived at or after this time (ms since the epoch).
    AtTimestamp(i64),
}

/// Which stream to read and how to reach it (Spark's `KinesisInputDStream.builder`).
#[derive(Clone)]
pub struct KinesisParams {
    pub(crate) stream: String,
    pub(crate) endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<(String, String)>,
    pub(crate) initial: InitialPosition,
}

impl std::fmt::Debug for KinesisParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KinesisParams")
            .field("stream", &self.stream)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region_name())
            .field("credentials", &self.credentials.as_ref().map(|_| "(given)"))
            .field("initial", &self.initial)
            .finish()
    }
}

impl KinesisParams {
    /// The stream `stream`, at AWS' endpoint for the region, from its latest records.
    pub fn new(stream: impl Into<String>) -> Self {
        KinesisParams {
            stream: stream.into(),
            endpoint: None,
            region: None,
            credentials: None,
            initial: InitialPosition::Latest,
        }
    }

    /// Another endpoint (`http://127.0.0.1:4567` for a local Kinesis-API server).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The region (default: `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Static credentials (default: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`).
    pub fn credentials(mut self, key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.credentials = Some((key_id.into(), secret.into()));
        self
    }

    /// Where shards start without a checkpoint.
    pub fn initial_position(mut self, p: InitialPosition) -> Self {
        self.initial = p;
        self
    }

    pub(crate) fn region_name(&self) -> String {
        self.region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into())
    }

    pub(crate) fn key_and_secret(&self) -> Option<(String, String)> {
        self.credentials.clone().or_else(|| {
            Some((
                std::env::var("AWS_ACCESS_KEY_ID").ok()?,
                std::env::var("AWS_SECRET_ACCESS_KEY").ok()?,
            ))
        })
    }
}

/// The sequence-number ranges each batch read, by batch time.
#[derive(Clone)]
pub struct SequenceRanges(DirectRanges<Vec<SequenceRange>>);

impl SequenceRanges {
    /// The ranges batch `time` read.
    pub fn get(&self, time: Time) -> Option<Vec<SequenceRange>> {
        self.0.get(time)
    }
    /// Every batch's ranges, by batch time (ms).
    pub fn all(&self) -> Vec<(i64, Vec<SequenceRange>)> {
        self.0.all()
    }
}

/// A stream of `params`' Kinesis stream: each batch is one sequence-number range per
/// shard, recorded and checkpointed; see the crate docs.
///
/// # Errors
/// [`Error::Param`] for unusable settings (checked here; the endpoint is first asked at
/// the context's start, whose error names it).
pub fn create_stream(
    ssc: &StreamingContext,
    params: KinesisParams,
) -> Result<(DStream<KinesisRecord>, SequenceRanges), Error> {
    let source = KinesisSource::new(ssc, params)?;
    let (stream, ranges) = ssc.direct_stream(source);
    Ok((stream, SequenceRanges(ranges)))
}

/// Where a shard's reading stands, as checkpointed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ShardPos {
    /// The last sequence number read.
    last: Option<String>,
    /// Closed and read to its end.
    finished: bool,
}

/// A shard as the driver reads it.
#[derive(Debug, Clone)]
struct Shard {
    pos: ShardPos,
    parents: Vec<String>,
    /// Where it starts when nothing of it was read yet.
    start: Start,
    /// The iterator after the last read (not checkpointed: they expire).
    iterator: Option<String>,
}

/// The driver's side of the stream.
struct KinesisSource {
    params: KinesisParams,
    kinesis: Kinesis,
    reader: Arc<RangeReader>,
    batch_ms: i64,
    max_rate: u64,
    shards: Mutex<BTreeMap<String, Shard>>,
    restored: Mutex<Option<BTreeMap<String, ShardPos>>>,
    rate_limit: Mutex<Option<f64>>,
}

impl KinesisSource {
    fn new(ssc: &StreamingContext, params: KinesisParams) -> Result<KinesisSource, Error> {
        let param = |key: &str, reason: String| Error::Param {
            key: key.into(),
            reason,
        };
        if params.stream.is_empty() {
            return Err(param("stream", "required".into()));
        }
        let conf = ssc.ctx().conf();
        let max_rate = conf
            .get_count("spate.streaming.kinesis.maxRatePerShard")
            .map_err(|e| param("spate.streaming.kinesis.maxRatePerShard", e.to_string()))?
            .unwrap_or(0) as u64;
        let poll = conf
            .get_duration("spate.streaming.kinesis.poll.ms")
            .map_err(|e| param("spate.streaming.kinesis.poll.ms", e.to_string()))?
            .unwrap_or(Duration::from_secs(120));
        let kinesis = Kinesis::new(&params)?;
        Ok(KinesisSource {
            reader: Arc::new(RangeReader {
                kinesis: kinesis.clone(),
                poll,
            }),
            kinesis,
            params,
            batch_ms: ssc.batch_ms(),
            max_rate,
            shards: Mutex::new(BTreeMap::new()),
            restored: Mutex::new(None),
            rate_limit: Mutex::new(None),
        })
    }

    fn initial_start(&self) -> Start {
        match self.params.initial {
            InitialPosition::TrimHorizon => Start::TrimHorizon,
            InitialPosition::Latest => Start::Latest,
            InitialPosition::AtTimestamp(ms) => Start::AtTimestamp(ms),
        }
    }

    /// Adds shards listed now and not known yet: those known at the start begin at the
    /// initial position (or their checkpointed place), later ones (a split's or a merge's
    /// children) at their first record.
    fn learn_shards(
        &self,
        shards: &mut BTreeMap<String, Shard>,
        at_start: bool,
    ) -> Result<(), Error> {
        let restored = if at_start {
            self.restored.lock().take()
        } else {
            None
        };
        for s in self.kinesis.shards()? {
            if shards.contains_key(&s.id) {
                continue;
            }
            let pos = restored
                .as_ref()
                .and_then(|r| r.get(&s.id).cloned())
                .unwrap_or_default();
            let start = if at_start && restored.is_none() {
                self.initial_start()
            } else {
                if !at_start {
                    tracing::info!(stream = %self.params.stream, shard = %s.id, parents = ?s.parents, "kinesis: a new shard (split or merge); read from its first record once its parents are read");
                }
                Start::TrimHorizon
            };
            shards.insert(
                s.id,
                Shard {
                    pos,
                    parents: s.parents,
                    start,
                    iterator: None,
                },
            );
        }
        Ok(())
    }

    /// Records per shard the next batch may take.
    fn per_shard_limit(&self, readable: usize) -> usize {
        let secs = self.batch_ms as f64 / 1000.0;
        let mut limit = MAX_PER_CALL * CALLS_PER_BATCH;
        if self.max_rate > 0 {
            limit = limit.min(((self.max_rate as f64 * secs) as usize).max(1));
        }
        if let Some(r) = *self.rate_limit.lock() {
            limit = limit.min(((r * secs / readable.max(1) as f64) as usize).max(1));
        }
        limit
    }

    /// Reads up to `limit` records of `id` from where it stands; updates `shard` (a copy:
    /// the caller keeps it only when the whole batch was planned).
    fn read_shard(
        &self,
        id: &str,
        shard: &mut Shard,
        limit: usize,
    ) -> Result<Vec<KinesisRecord>, Error> {
        let mut got: Vec<KinesisRecord> = Vec::new();
        for _ in 0..CALLS_PER_BATCH {
            if got.len() >= limit {
                break;
            }
            let it = match shard.iterator.take() {
                Some(it) => it,
                None => {
                    let start = match &shard.pos.last {
                        Some(s) => Start::After(s.clone()),
                        None => shard.start.clone(),
                    };
                    match self.kinesis.iterator(id, &start)? {
                        Some(it) => it,
                        None => {
                            shard.pos.finished = true;
                            break;
                        }
                    }
                }
            };
            let want = (limit - got.len()).min(MAX_PER_CALL) as i32;
            let Some(f) = self.kinesis.get_records(id, &it, want)? else {
                continue; // the iterator expired: a new one from the position
            };
            let empty = f.records.is_empty();
            if let Some(r) = f.records.last() {
                shard.pos.last = Some(r.sequence_number.clone());
            }
            got.extend(f.records);
            match f.next {
                Some(next) => shard.iterator = Some(next),
                None => {
                    tracing::info!(stream = %self.params.stream, shard = %id, "kinesis: a closed shard is read to its end");
                    shard.pos.finished = true;
                    break;
                }
            }
            if empty && f.behind_ms == 0 {
                break; // at the shard's tip
            }
        }
        Ok(got)
    }

    fn plan_ranges(&self) -> Result<Vec<SequenceRange>, Error> {
        let mut shards = self.shards.lock();
        self.learn_shards(&mut shards, false)?;
        // A shard is read once its parents are read to their end (or gone), so each
        // partition key's records stay in order across a split or a merge.
        let readable: Vec<String> = shards
            .iter()
            .filter(|(_, s)| !s.pos.finished)
            .filter(|(_, s)| {
                s.parents
                    .iter()
                    .all(|p| shards.get(p).is_none_or(|p| p.pos.finished))
            })
            .map(|(id, _)| id.clone())
            .collect();
        let limit = self.per_shard_limit(readable.len());
        let mut updated = Vec::with_capacity(readable.len());
        let mut ranges = Vec::new();
        for id in readable {
            let mut shard = shards[&id].clone();
            let records = match self.read_shard(&id, &mut shard, limit) {
                Ok(r) => r,
                Err(e) => {
                    // Nothing of this batch is kept: the next plan reads again from the
                    // positions as they were.
                    for s in shards.values_mut() {
                        s.iterator = None;
                    }
                    return Err(e);
                }
            };
            if let (Some(first), Some(last)) = (records.first(), records.last()) {
                let range = SequenceRange {
                    stream: self.params.stream.clone(),
                    shard_id: id.clone(),
                    from: first.sequence_number.clone(),
                    until: last.sequence_number.clone(),
                    count: records.len() as u64,
                };
                stream::keep(&range, records);
                ranges.push(range);
            }
            updated.push((id, shard));
        }
        for (id, s) in updated {
            shards.insert(id, s);
        }
        Ok(ranges)
    }
}

impl DirectSource<KinesisRecord> for KinesisSource {
    type Range = Vec<SequenceRange>;

    fn plan(&self, _time: Time) -> spate_streaming::Result<Option<Self::Range>> {
        Ok(Some(self.plan_ranges()?))
    }

    fn read(
        &self,
        ctx: &Context,
        range: &Self::Range,
    ) -> spate_streaming::Result<Rdd<KinesisRecord>> {
        Ok(KinesisRdd::create(ctx, range.clone(), self.reader.clone()))
    }

    fn records(&self, range: &Self::Range) -> Option<u64> {
        Some(range.iter().map(|r| r.count).sum())
    }

    fn describe(&self, range: &Self::Range) -> String {
        range
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn name(&self) -> String {
        format!(
            "kinesis {} at {}",
            self.params.stream, self.kinesis.endpoint
        )
    }

    fn start(&self, _ctx: &Context) -> spate_streaming::Result<()> {
        self.kinesis.check_stream()?;
        let mut shards = self.shards.lock();
        self.learn_shards(&mut shards, true)?;
        Ok(())
    }

    fn commit(&self, _time: Time, range: &Self::Range) -> spate_streaming::Result<()> {
        for r in range {
            stream::forget(r);
        }
        Ok(())
    }

    fn position(&self) -> spate_streaming::Result<Option<Vec<u8>>> {
        let pos: Vec<(String, ShardPos)> = self
            .shards
            .lock()
            .iter()
            .map(|(id, s)| (id.clone(), s.pos.clone()))
            .collect();
        Ok(Some(spate_core::codec::encode(&pos, "kinesis positions")?))
    }

    fn restore(&self, position: &[u8]) -> spate_streaming::Result<()> {
        let pos: Vec<(String, ShardPos)> =
            spate_core::codec::decode(position, "kinesis positions")?;
        *self.restored.lock() = Some(pos.into_iter().collect());
        Ok(())
    }

    fn stop(&self) {
        stream::forget_stream(&self.params.stream);
    }

    fn set_rate_limit(&self, records_per_s: Option<f64>) {
        *self.rate_limit.lock() = records_per_s;
    }
}
