//! The input tracker: an append-only log of what every input stream contributed to every
//! batch (Spark's `ReceivedBlockTracker` and `InputInfoTracker` in one).
//!
//! Each input records, once per batch time it produces data for, an [`InputInfo`]: the
//! receiver blocks (with their record counts, and the blocks that could not be stored),
//! the files and their line counts, the queue or replay records, or the direct source's
//! range. A batch's [`crate::BatchInfo::num_records`] and per-input details are read from
//! here when its jobs are submitted, and again when it completes: inputs whose records are
//! only known by reading them (queued RDDs, files, direct sources without a known count)
//! are counted as the batch's jobs read them, at no extra pass, and are recorded twice —
//! with 0 records when the batch is generated, and with the count when it completes (a
//! partition no job read to its end, e.g. behind `print`'s `take`, is counted then). Records of batches older than the graph remembers are
//! dropped as batches complete. Every record is serde-serializable: the write-ahead log and
//! the metadata checkpoint persist this log.

use crate::error::Result;
use crate::time::Time;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use spate_core::rdd::RecordCounter;
use spate_core::{Data, Rdd};
use std::collections::{BTreeMap, VecDeque};

/// What one input stream contributed to one batch (Spark's `StreamInputInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputInfo {
    /// Records the input gave the batch.
    pub num_records: u64,
    /// Where they came from.
    pub source: InputSource,
}

/// Where an input's records for one batch came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputSource {
    /// A receiver's blocks, in the order of the batch's partitions; blocks that could not be
    /// stored are listed too, with their error (their records are not in `num_records`).
    Blocks(Vec<ReceivedBlock>),
    /// The new files of a file stream, in the order of the batch's partitions.
    Files(Vec<InputFile>),
    /// RDDs taken from a `queue_stream`'s queue (0: the default or an empty RDD).
    Queue {
        /// How many queued RDDs the batch took.
        rdds: usize,
    },
    /// Batch `batch` (1-based) of a `replay_stream`; `present` is false for a batch with
    /// no RDD.
    Replay {
        /// The batch number.
        batch: u64,
        /// Whether the batch has an RDD.
        present: bool,
    },
    /// The range a direct source planned (its `DirectSource::describe`); `None` when it
    /// planned nothing.
    Direct {
        /// The range, described.
        range: Option<String>,
    },
}

/// One receiver block of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedBlock {
    /// The block's name (`input-<stream>-<seq>`).
    pub block: String,
    /// Its records.
    pub records: u64,
    /// Why it could not be stored, if it could not.
    pub error: Option<String>,
    /// Its name in the receiver's write-ahead log, when the log is on: a recovered run
    /// reads the block from there.
    #[serde(default)]
    pub wal: Option<String>,
    /// Cluster mode: the executor whose receiver stored the block (it holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// One file of a file stream's batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// The file's path.
    pub path: String,
    /// Its lines.
    pub lines: u64,
    /// Its lines longer than `spate.streaming.maxLineBytes`, dropped (not in `lines`).
    #[serde(default)]
    pub dropped_lines: u64,
}

impl InputInfo {
    /// A one-line description, as Spark's `StreamInputInfo` metadata `Description`.
    pub fn description(&self) -> String {
        match &self.source {
            InputSource::Blocks(b) => {
                let lost = b.iter().filter(|b| b.error.is_some()).count();
                let mut s = format!("{} block(s), {} record(s)", b.len(), self.num_records);
                if lost > 0 {
                    s.push_str(&format!(", {lost} block(s) not stored"));
                }
                s
            }
            InputSource::Files(f) => {
                let names: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
                format!("{} file(s): {}", f.len(), names.join(", "))
            }
            InputSource::Queue { rdds } => format!("{rdds} queued RDD(s)"),
            InputSource::Replay { batch, present } => {
                format!(
                    "replay batch {batch}{}",
                    if *present { "" } else { " (no RDD)" }
                )
            }
            InputSource::Direct { range: Some(r) } => r.clone(),
            InputSource::Direct { range: None } => "nothing planned".to_string(),
        }
    }

    /// The blocks of a receiver's batch that could not be stored.
    pub fn lost_blocks(&self) -> Vec<&ReceivedBlock> {
        match &self.source {
            InputSource::Blocks(b) => b.iter().filter(|b| b.error.is_some()).collect(),
            _ => Vec::new(),
        }
    }
}

/// One entry of the input log: what stream `stream_id` contributed to batch `batch_time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The batch.
    pub batch_time: Time,
    /// The input stream's id.
    pub stream_id: usize,
    /// What it contributed.
    pub info: InputInfo,
}

/// The append-only log of what every input contributed to every batch. One per streaming
/// context ([`crate::StreamingContext::input_tracker`]).
#[derive(Default)]
pub struct InputTracker {
    log: Mutex<Log>,
    /// Counts to finish when their batch completes.
    pending: Mutex<Vec<PendingCount>>,
    /// What the inputs gave each batch before a recovery (from the metadata checkpoint):
    /// a recomputed batch reads the same input again.
    recovered: Mutex<BTreeMap<i64, BTreeMap<usize, InputInfo>>>,
    /// The batch time of the checkpoint recovered from: batches up to it were generated
    /// by the earlier run.
    recovered_through: Mutex<Option<i64>>,
    /// An executor process in cluster mode: its inputs give each batch what the driver's
    /// gave it ([`Self::dictated`]), and it counts nothing (the driver does).
    follows: std::sync::atomic::AtomicBool,
    /// What the driver's inputs gave each batch, by batch time and stream.
    dictated: Mutex<BTreeMap<i64, BTreeMap<usize, InputInfo>>>,
    /// A cluster driver: records are also kept here until the next batch's plan takes
    /// them ([`Self::take_unpublished`]).
    publishing: std::sync::atomic::AtomicBool,
    unpublished: Mutex<Vec<InputRecord>>,
}

impl std::fmt::Debug for InputTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputTracker")
            .field("log", &*self.log.lock())
            .field("pending", &self.pending.lock().len())
            .finish()
    }
}

/// Fills in an input's record count once its batch's jobs have run.
type FinishCount = Box<dyn FnOnce(&mut InputInfo) -> Result<()> + Send>;

struct PendingCount {
    batch: Time,
    /// The batch whose generation recorded it (its jobs read the input), if any.
    owner: Option<Time>,
    stream: usize,
    info: InputInfo,
    finish: FinishCount,
}

/// The records of each partition of `rdd`: as `counter` saw jobs read them, and by a job
/// over the partitions no job read to the end.
fn partition_counts<T: Data>(rdd: &Rdd<T>, counter: &RecordCounter) -> Result<Vec<u64>> {
    let seen = counter.partition_counts();
    let missing: Vec<usize> = (0..seen.len()).filter(|p| seen[*p].is_none()).collect();
    // In cluster mode a job only the driver runs could not be computed by the executors
    // (their copies of the program do not run it): the partitions no job read to the end
    // are not counted.
    let cluster = rdd.context().env().cluster_link().is_some();
    let mut counted = if missing.is_empty() || cluster {
        Vec::new()
    } else {
        rdd.run_job_on(&missing, |_, it| Ok(it.count() as u64))?
    }
    .into_iter();
    Ok(seen
        .into_iter()
        .map(|c| c.or_else(|| counted.next()).unwrap_or(0))
        .collect())
}

thread_local! {
    /// The batch whose jobs the current thread is generating.
    static GENERATING: std::cell::Cell<Option<Time>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` as the generation of batch `time`'s jobs: counts recorded meanwhile are
/// finished when that batch completes ([`InputTracker::complete`]).
pub(crate) fn generating<R>(time: Time, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Time>);
    impl Drop for Reset {
        fn drop(&mut self) {
            GENERATING.with(|g| g.set(self.0));
        }
    }
    let _reset = Reset(GENERATING.with(|g| g.replace(Some(time))));
    f()
}

#[derive(Debug, Default)]
struct Log {
    records: VecDeque<InputRecord>,
    /// Batches before this time have been cleaned up.
    cleaned_before: Option<Time>,
}

impl InputTracker {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends what `stream` contributed to `batch`. A stream recorded twice for one batch
    /// (a batch recomputed) keeps both entries; [`Self::for_batch`] reads the last.
    pub fn record(&self, batch: Time, stream: usize, info: InputInfo) {
        self.append(batch, stream, info, true);
    }

    /// Appends a record; `decision`: it says what the input gives the batch (not just its
    /// record count, found later), so a cluster driver's next plan carries it.
    fn append(&self, batch: Time, stream: usize, info: InputInfo, decision: bool) {
        tracing::trace!(
            batch = batch.0,
            stream,
            records = info.num_records,
            "input recorded"
        );
        let record = InputRecord {
            batch_time: batch,
            stream_id: stream,
            info,
        };
        if decision && self.publishing.load(std::sync::atomic::Ordering::Acquire) {
            self.unpublished.lock().push(record.clone());
        }
        self.log.lock().records.push_back(record);
    }

    /// Makes this tracker a cluster driver's: what its inputs record goes to the executors
    /// with the next batch's plan.
    pub(crate) fn publish_records(&self) {
        self.publishing
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The records made since the last call (a cluster driver's next plan carries them).
    pub(crate) fn take_unpublished(&self) -> Vec<InputRecord> {
        std::mem::take(&mut *self.unpublished.lock())
    }

    /// Records `info` for `stream` and `batch` now, and again with `finish`'s changes (its
    /// record count) when the batch completes ([`Self::complete`]).
    fn record_counted_later(
        &self,
        batch: Time,
        stream: usize,
        info: InputInfo,
        finish: FinishCount,
    ) {
        self.record(batch, stream, info.clone());
        self.pending.lock().push(PendingCount {
            batch,
            owner: GENERATING.with(|g| g.get()),
            stream,
            info,
            finish,
        });
    }

    /// Records `info` for `stream` and `batch`, and returns `rdd` counting its records per
    /// partition as the batch's jobs read them (no extra pass over the data). When the
    /// batch completes, `fill` gets the info and each partition's count (a partition no
    /// job read to its end is counted then) and the info is recorded again; its
    /// `num_records` is the sum of the counts unless `fill` says otherwise.
    pub(crate) fn count_as_read<T: Data>(
        &self,
        batch: Time,
        stream: usize,
        info: InputInfo,
        rdd: Rdd<T>,
        fill: impl FnOnce(&mut InputInfo, &[u64]) + Send + 'static,
    ) -> Rdd<T> {
        let counter = RecordCounter::new(rdd.num_partitions());
        let counting = rdd.counting(counter.clone());
        self.record_counted_later(
            batch,
            stream,
            info,
            Box::new(move |info| {
                let counts = partition_counts(&rdd, &counter)?;
                info.num_records = counts.iter().sum();
                fill(info, &counts);
                Ok(())
            }),
        );
        counting
    }

    /// Finishes the counts recorded while `batch` was generated (its jobs are done), and
    /// those recorded outside any generation for batches up to `batch`, and records them.
    /// With `read` false (the batch's jobs were discarded by a stop) nothing read them:
    /// they keep the entry of their generation, and no job runs to count them. A count
    /// that cannot be finished keeps what was counted, with a warning.
    pub(crate) fn complete(&self, batch: Time, read: bool) {
        let due: Vec<PendingCount> = {
            let mut p = self.pending.lock();
            let (due, rest) = std::mem::take(&mut *p)
                .into_iter()
                .partition(|c| match c.owner {
                    // Another batch's (an earlier one still running, with concurrent jobs):
                    // counted when that one completes, not behind its back.
                    Some(owner) => owner == batch,
                    None => c.batch <= batch,
                });
            *p = rest;
            due
        };
        let follows = self.follows_driver();
        for c in due {
            if !read || follows {
                tracing::debug!(
                    batch = c.batch.0,
                    stream = c.stream,
                    "batch discarded: its input is not counted"
                );
                continue;
            }
            let mut info = c.info;
            if let Err(e) = (c.finish)(&mut info) {
                tracing::warn!(
                    batch = c.batch.0,
                    stream = c.stream,
                    "counting the input's records failed: {e}"
                );
            }
            // The count only: the executors' copies already have the decision.
            self.append(c.batch, c.stream, info, false);
        }
    }

    /// Every record kept, in the order they were appended.
    pub fn events(&self) -> Vec<InputRecord> {
        self.log.lock().records.iter().cloned().collect()
    }

    /// What each input contributed to `batch`, by stream id.
    pub fn for_batch(&self, batch: Time) -> BTreeMap<usize, InputInfo> {
        self.log
            .lock()
            .records
            .iter()
            .filter(|r| r.batch_time == batch)
            .map(|r| (r.stream_id, r.info.clone()))
            .collect()
    }

    /// Drops the records of batches before `before` (Spark's `cleanup(batchThreshTime)`);
    /// returns how many were dropped.
    pub fn cleanup(&self, before: Time) -> usize {
        let mut log = self.log.lock();
        let n = log.records.len();
        log.records.retain(|r| r.batch_time >= before);
        self.dictated.lock().retain(|t, _| *t >= before.0);
        if log.cleaned_before.is_none_or(|c| c < before) {
            log.cleaned_before = Some(before);
        }
        n - log.records.len()
    }

    /// Every batch's latest entry per stream, by batch time: what a metadata checkpoint
    /// records, so a recovered context recomputes a batch from the same input.
    pub fn snapshot(&self) -> BTreeMap<i64, BTreeMap<usize, InputInfo>> {
        let mut out: BTreeMap<i64, BTreeMap<usize, InputInfo>> = BTreeMap::new();
        for r in self.log.lock().records.iter() {
            out.entry(r.batch_time.0)
                .or_default()
                .insert(r.stream_id, r.info.clone());
        }
        out
    }

    /// Takes a [`Self::snapshot`] of an earlier run: its entries are the log's first, and
    /// inputs asked to recompute one of its batches read what it says
    /// ([`Self::recovered`]).
    pub(crate) fn restore(
        &self,
        snapshot: BTreeMap<i64, BTreeMap<usize, InputInfo>>,
        through_ms: i64,
    ) {
        *self.recovered_through.lock() = Some(through_ms);
        {
            let mut log = self.log.lock();
            for (t, streams) in &snapshot {
                for (s, info) in streams {
                    log.records.push_back(InputRecord {
                        batch_time: Time(*t),
                        stream_id: *s,
                        info: info.clone(),
                    });
                }
            }
        }
        *self.recovered.lock() = snapshot;
    }

    /// Makes this tracker an executor process's: its inputs follow the driver's
    /// decisions ([`Self::dictate`]).
    pub(crate) fn follow_driver(&self) {
        self.follows
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether this is an executor process's tracker (see [`Self::follow_driver`]).
    pub(crate) fn follows_driver(&self) -> bool {
        self.follows.load(std::sync::atomic::Ordering::Acquire)
    }

    /// What the driver's inputs gave batch `batch`: this process's inputs give it the
    /// same (the same files, queued RDDs, blocks).
    pub(crate) fn dictate(&self, records: Vec<InputRecord>) {
        let mut d = self.dictated.lock();
        for r in records {
            d.entry(r.batch_time.0)
                .or_default()
                .insert(r.stream_id, r.info);
        }
    }

    /// What the driver's `stream` gave `batch`, in an executor process.
    pub(crate) fn dictated(&self, batch: Time, stream: usize) -> Option<InputInfo> {
        self.dictated.lock().get(&batch.0)?.get(&stream).cloned()
    }

    /// [`Self::dictated`], once: an input that consumes what it gives (a queue) follows
    /// the driver when it generates the batch, not when the batch is computed again.
    pub(crate) fn take_dictated(&self, batch: Time, stream: usize) -> Option<InputInfo> {
        self.dictated.lock().get_mut(&batch.0)?.remove(&stream)
    }

    /// What `stream` gave `batch` in the run this context recovered from, if that run
    /// generated the batch.
    pub(crate) fn recovered(&self, batch: Time, stream: usize) -> Option<InputInfo> {
        self.recovered.lock().get(&batch.0)?.get(&stream).cloned()
    }

    /// Everything `stream` gave the batches of the run this context recovered from.
    pub(crate) fn recovered_for_stream(&self, stream: usize) -> Vec<InputInfo> {
        self.recovered
            .lock()
            .values()
            .filter_map(|m| m.get(&stream).cloned())
            .collect()
    }

    /// Whether batch `batch` was generated by the run this context recovered from (its
    /// input, when not in [`Self::recovered`], is no longer known).
    pub(crate) fn generated_before_recovery(&self, batch: Time) -> bool {
        self.recovered_through.lock().is_some_and(|t| batch.0 <= t)
    }

    /// The time before which batches have been cleaned up, if any cleanup ran.
    pub fn cleaned_before(&self) -> Option<Time> {
        self.log.lock().cleaned_before
    }
}
