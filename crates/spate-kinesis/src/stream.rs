//! Records, sequence-number ranges, and reading a range in a task ([`KinesisRdd`]).

use crate::client::{seq_cmp, Kinesis, Start};
use crate::error::Error;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use spate_core::rdd::{BoxIter, Dependency, RddBase, RddInfo, RddNode};
use spate_core::scheduler::TaskContext;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One Kinesis record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KinesisRecord {
    /// The shard it was read from.
    pub shard_id: String,
    /// Its sequence number (a decimal string).
    pub sequence_number: String,
    /// Its partition key.
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
    /// When Kinesis received it (ms since the epoch), if known.
    pub arrival_ms: Option<i64>,
}

impl KinesisRecord {
    /// The data as UTF-8 text, if it is.
    pub fn data_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }
}

impl spate_streaming::dstream::RecordOrigin for KinesisRecord {
    fn origin(&self) -> String {
        format!("kinesis {}@{}", self.shard_id, self.sequence_number)
    }
}

/// The records of one shard a batch reads: sequence numbers `from` to `until`, both
/// included, `count` records (Spark's `SequenceNumberRange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceRange {
    /// The stream.
    pub stream: String,
    /// The shard.
    pub shard_id: String,
    /// The first record's sequence number.
    pub from: String,
    /// The last record's sequence number.
    pub until: String,
    /// How many records.
    pub count: u64,
}

impl std::fmt::Display for SequenceRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} [{}..={}] ({} records)",
            self.stream, self.shard_id, self.from, self.until, self.count
        )
    }
}

type Key = (String, String, String);

fn key(r: &SequenceRange) -> Key {
    (r.stream.clone(), r.shard_id.clone(), r.from.clone())
}

/// Records the driver read while planning, by range, until the range's batch is done:
/// a task in the driver's process reads them from here; one elsewhere (a cluster's
/// executor) or after a restart reads its range from Kinesis again.
static PLANNED: Mutex<Option<HashMap<Key, Arc<Vec<KinesisRecord>>>>> = Mutex::new(None);

pub(crate) fn keep(range: &SequenceRange, records: Vec<KinesisRecord>) {
    PLANNED
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(key(range), Arc::new(records));
}

pub(crate) fn forget(range: &SequenceRange) {
    if let Some(m) = PLANNED.lock().as_mut() {
        m.remove(&key(range));
    }
}

pub(crate) fn forget_stream(stream: &str) {
    if let Some(m) = PLANNED.lock().as_mut() {
        m.retain(|k, _| k.0 != stream);
    }
}

/// How tasks read ranges.
#[derive(Clone)]
pub(crate) struct RangeReader {
    pub(crate) kinesis: Kinesis,
    /// How long a task may take to get its range's records.
    pub(crate) poll: Duration,
}

impl RangeReader {
    /// The records of `range`, in sequence order.
    pub(crate) fn read(&self, range: &SequenceRange) -> Result<Arc<Vec<KinesisRecord>>, Error> {
        if let Some(r) = PLANNED.lock().as_ref().and_then(|m| m.get(&key(range))) {
            return Ok(r.clone());
        }
        let started = Instant::now();
        let mut out: Vec<KinesisRecord> = Vec::with_capacity(range.count as usize);
        let mut iterator = None;
        loop {
            let waited = started.elapsed();
            if waited > self.poll {
                return Err(Error::Incomplete {
                    range: range.to_string(),
                    got: out.len() as u64,
                    want: range.count,
                    waited_ms: waited.as_millis() as u64,
                });
            }
            let it = match iterator.take() {
                Some(it) => it,
                None => {
                    let start = match out.last() {
                        Some(r) => Start::After(r.sequence_number.clone()),
                        None => Start::At(range.from.clone()),
                    };
                    match self.kinesis.iterator(&range.shard_id, &start)? {
                        Some(it) => it,
                        None => break,
                    }
                }
            };
            let limit = (range.count - out.len() as u64).clamp(1, 10_000) as i32;
            let Some(fetched) = self.kinesis.get_records(&range.shard_id, &it, limit)? else {
                continue; // expired: a new iterator after the last record
            };
            let mut done = false;
            for r in fetched.records {
                match seq_cmp(&r.sequence_number, &range.until) {
                    Ordering::Greater => done = true,
                    o => {
                        if seq_cmp(&r.sequence_number, &range.from) != Ordering::Less {
                            out.push(r);
                        }
                        done |= o == Ordering::Equal;
                    }
                }
                if done {
                    break;
                }
            }
            if done || out.len() as u64 >= range.count {
                break;
            }
            match fetched.next {
                Some(next) => iterator = Some(next),
                None => break, // closed and read to its end
            }
        }
        if out.len() as u64 != range.count {
            return Err(Error::Incomplete {
                range: range.to_string(),
                got: out.len() as u64,
                want: range.count,
                waited_ms: started.elapsed().as_millis() as u64,
            });
        }
        Ok(Arc::new(out))
    }
}

/// A batch's RDD: partition i is range i, read by its task.
pub(crate) struct KinesisRdd {
    info: RddInfo,
    ranges: Vec<SequenceRange>,
    reader: Arc<RangeReader>,
}

impl KinesisRdd {
    pub(crate) fn create(
        ctx: &spate_core::Context,
        ranges: Vec<SequenceRange>,
        reader: Arc<RangeReader>,
    ) -> spate_core::Rdd<KinesisRecord> {
        let info = RddInfo::new(ctx, "kinesis_rdd", ranges.len(), &[]);
        spate_core::Rdd::from_node(Arc::new(KinesisRdd {
            info,
            ranges,
            reader,
        }))
    }
}

impl RddBase for KinesisRdd {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<KinesisRecord> for KinesisRdd {
    fn compute(
        &self,
        split: usize,
        _tc: &TaskContext,
    ) -> spate_core::Result<BoxIter<KinesisRecord>> {
        let range = self.ranges.get(split).ok_or_else(|| {
            spate_core::Error::Task(format!("kinesis rdd has no partition {split}"))
        })?;
        let records = self
            .reader
            .read(range)
            .map_err(|e| spate_core::Error::Task(e.to_string()))?;
        Ok(Box::new(
            (0..records.len()).map(move |i| records[i].clone()),
        ))
    }
}
