//! Receivers: long-running sources that push records into spate (Spark's `Receiver`).
//!
//! A [`Receiver`] is started once per input stream; it receives on threads of its own and
//! hands records to its [`ReceiverHandle`]. `store(record)` buffers one record: a block
//! generator cuts the buffer into a block every `spate.streaming.blockInterval` and puts it
//! in the block store. `store_many` / `store_iter` put their records in the block store as
//! one block of their own and return once it is there (or with the reason it could not
//! be), so a reliable receiver acknowledges its source only after they return `Ok` (Spark's
//! `store(ArrayBuffer)` / `store(Iterator)`). At each batch time the blocks received since
//! the previous batch become that batch's RDD (one partition per block).
//!
//! A block that cannot be stored is never dropped silently: the `store_many` that made it
//! returns the error (for buffered records, the next `store` does, and every `store` after
//! it until the receiver restarts), listeners get `on_receiver_error` naming the block and
//! the cause, the batch it would have joined runs without it (the blocks that were stored
//! are all processed; its input info lists the refused block), and `await_termination`
//! reports it.
//!
//! A supervisor restarts a receiver that asks for a restart (or whose `on_start` panics)
//! after `spate.streaming.receiverRestartDelay`, and `spate.streaming.receiver.maxRate`
//! limits how many records per second the handle accepts.

use crate::bus::ListenerBus;
use crate::context::StreamingContext;
use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
use crate::input::tracker::{InputInfo, InputSource, InputTracker, ReceivedBlock};
use crate::input::InputStream;
use crate::listener::{ReceiverInfo, StreamingListenerEvent};
use crate::time::Time;
use parking_lot::{Condvar, Mutex};
use spate_core::rdd::{BlockRdd, LoggedBlock};
use spate_core::storage::BlockId;
use spate_core::{Context, Data, Rdd, StorageLevel};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod remote;
pub(crate) use remote::follow_placements;
mod supervisor;
mod wal;
use wal::{ReceiverState, Wal};

/// A custom source (Spark's `Receiver`). `on_start` must return quickly: start a thread
/// that receives and calls `handle.store(..)` until `handle.is_stopped()`; `on_stop`
/// releases what `on_start` took (the thread should notice `is_stopped` and end).
///
/// A reliable receiver (one whose source can replay what was not acknowledged) stores with
/// [`ReceiverHandle::store_many`] and acknowledges its source only once that returned
/// `Ok`; on an error it calls [`ReceiverHandle::restart`] and reads again from the last
/// acknowledgement.
pub trait Receiver<T: Data>: Send + 'static {
    /// Starts receiving.
    fn on_start(&mut self, handle: ReceiverHandle<T>);
    /// Stops receiving.
    fn on_stop(&mut self);
    /// A name for logs and listeners.
    fn name(&self) -> String {
        "receiver".to_string()
    }
    /// How its blocks are kept in the block store (Spark's `Receiver.storageLevel`).
    fn storage_level(&self) -> StorageLevel {
        StorageLevel::MEMORY_AND_DISK
    }
}

enum Command {
    /// The reason, and a delay other than `spate.streaming.receiverRestartDelay`.
    Restart(String, Option<Duration>),
    Stop(String),
}

/// `Shared::refuse` bits: why `store` refuses records.
const FAILED: u8 = 1;
const FINISHED: u8 = 2;

/// The name Spark gives a received block.
fn block_name(stream: usize, seq: u64) -> String {
    format!("input-{stream}-{seq}")
}

/// A block that could not be stored.
#[derive(Clone)]
struct LostBlock {
    block: String,
    records: u64,
    reason: String,
    cause: Option<Arc<spate_core::Error>>,
}

impl LostBlock {
    fn to_error(&self, stream: usize, receiver: &str) -> Error {
        Error::BlockNotStored {
            stream,
            receiver: receiver.to_string(),
            block: self.block.clone(),
            records: self.records,
            reason: self.reason.clone(),
            cause: self.cause.clone(),
        }
    }
}

/// A block received and not yet dropped: stored, or lost with the reason.
#[derive(Clone)]
struct Block {
    /// In the block store (blocks recovered from the write-ahead log are not).
    id: Option<BlockId>,
    records: u64,
    lost: Option<LostBlock>,
    /// Its name in the write-ahead log, when the log is on.
    wal: Option<String>,
    /// Cluster mode: the executor that holds it (serialized).
    location: Option<String>,
}

impl Block {
    fn name(&self) -> String {
        match (self.id, &self.wal) {
            (Some(BlockId::Input { stream, seq }), _) => block_name(stream, seq),
            (_, Some(w)) => format!("wal:{w}"),
            (other, None) => format!("{other:?}"),
        }
    }
}

/// Blocks received and not yet given to a batch, and what each batch got (Spark's
/// `ReceivedBlockTracker`; what batches got is also logged in the [`InputTracker`]).
#[derive(Default)]
struct Tracker {
    pending: Vec<Block>,
    allocated: BTreeMap<i64, Vec<Block>>,
}

struct Shared<T> {
    stream_id: usize,
    name: String,
    buffer: Mutex<Vec<T>>,
    /// The receiver should stop receiving (stopping or restarting).
    stopped: AtomicBool,
    /// `FAILED` (a block could not be stored since the last start) | `FINISHED` (the
    /// supervisor stopped the receiver for good): `store` refuses records.
    refuse: AtomicU8,
    /// The last block that could not be stored (for the error `store` returns).
    failure: Mutex<Option<LostBlock>>,
    commands: Mutex<VecDeque<Command>>,
    wake: Condvar,
    max_rate: u64,
    /// When the next record may be stored (pacing to the rate in force).
    rate: Mutex<Instant>,
    /// Backpressure's rate for this receiver, when on.
    backpressure: Option<Arc<crate::input::rate::RateController>>,
    stored: AtomicU64,
    errors: Mutex<Option<String>>,
    /// Where receiver events go (read by the bus at each event: listeners added later hear).
    bus: Arc<ListenerBus>,
    ctx: Context,
    level: StorageLevel,
    tracker: Arc<Mutex<Tracker>>,
    next_seq: AtomicU64,
    wal: Option<Arc<Wal>>,
    /// Cluster mode, in an executor process: blocks are stored serialized and reported to
    /// the driver, which gives them to batches.
    report: Option<remote::Report>,
}

impl<T: Data> Shared<T> {
    fn finished(&self) -> bool {
        self.refuse.load(Ordering::Acquire) & FINISHED != 0
    }

    fn info(&self, active: bool) -> ReceiverInfo {
        ReceiverInfo {
            stream_id: self.stream_id,
            name: self.name.clone(),
            active,
            last_error: self.errors.lock().clone(),
            executor: self
                .report
                .as_ref()
                .map(|_| self.ctx.env().executor_id().to_string()),
        }
    }

    /// The error for a refused `store`.
    #[cold]
    #[inline(never)]
    fn refusal(&self) -> Error {
        if !self.finished() {
            if let Some(l) = self.failure.lock().as_ref() {
                return l.to_error(self.stream_id, &self.name);
            }
        }
        Error::ReceiverStopped {
            stream: self.stream_id,
            receiver: self.name.clone(),
        }
    }

    /// Puts `records` in the block store as one block; it goes to the next batch either
    /// way (stored, or lost so that the batch fails). A lost block is reported to
    /// listeners and makes later `store` calls fail until the receiver restarts.
    fn push_block(&self, records: Vec<T>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let n = records.len() as u64;
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let id = BlockId::Input {
            stream: self.stream_id,
            seq,
        };
        if let Some(report) = &self.report {
            return self.push_remote(report, records, id, seq, n);
        }
        // With the write-ahead log, the block is in the log before `store` returns.
        let mut wal = None;
        if let Some(log) = &self.wal {
            let name = log.name(seq, n);
            let logged = spate_core::codec::encode(&records, "received block").and_then(|b| {
                spate_core::checkpoint_store::put_checked(log.store.as_ref(), &name, &b)
            });
            match logged {
                Ok(()) => wal = Some(name),
                Err(e) => {
                    return self.lose_block(
                        id,
                        seq,
                        n,
                        format!("the write-ahead log refused it: {e}"),
                        Some(Arc::new(e)),
                        None,
                    )
                }
            }
        }
        let lost = match self
            .ctx
            .block_store()
            .put_values(id, Arc::new(records), self.level)
        {
            Ok(true) => None,
            Ok(false) => Some((
                format!(
                    "it does not fit in the block store's memory (spate.memory.storageBytes) and storage level {} does not allow disk",
                    self.level.name()
                ),
                None,
            )),
            Err(e) => Some((e.to_string(), Some(Arc::new(e)))),
        };
        let Some((reason, cause)) = lost else {
            self.tracker.lock().pending.push(Block {
                id: Some(id),
                records: n,
                lost: None,
                wal,
                location: None,
            });
            return Ok(());
        };
        self.lose_block(id, seq, n, reason, cause, wal)
    }

    /// A block that could not be stored: reported, refused to `store` until the receiver
    /// restarts, and listed in its batch.
    fn lose_block(
        &self,
        id: BlockId,
        seq: u64,
        n: u64,
        reason: String,
        cause: Option<Arc<spate_core::Error>>,
        wal: Option<String>,
    ) -> Result<()> {
        // Not accepted: it must not come back from the log in a recovered run either.
        if let (Some(log), Some(name)) = (&self.wal, &wal) {
            log.delete(name);
        }
        let lost = LostBlock {
            block: block_name(self.stream_id, seq),
            records: n,
            reason,
            cause,
        };
        let err = lost.to_error(self.stream_id, &self.name);
        tracing::error!(stream = self.stream_id, receiver = %self.name, "{err}");
        *self.failure.lock() = Some(lost.clone());
        self.refuse.fetch_or(FAILED, Ordering::AcqRel);
        *self.errors.lock() = Some(err.to_string());
        match &self.report {
            // The driver lists it in its batch.
            Some(report) => self.report_lost(report, seq, &lost),
            None => self.tracker.lock().pending.push(Block {
                id: Some(id),
                records: n,
                lost: Some(lost),
                wal: None,
                location: None,
            }),
        }
        self.announce(StreamingListenerEvent::ReceiverError(
            self.info(!self.stopped.load(Ordering::Acquire)),
        ));
        Err(err)
    }

    /// Moves the buffer into a new block (the block generator's tick).
    fn cut_block(&self) {
        let records = std::mem::take(&mut *self.buffer.lock());
        // A failure is reported by `push_block` (listeners, the batch, the next `store`).
        let _ = self.push_block(records);
    }
}

/// What a running receiver uses to hand over records and report problems.
pub struct ReceiverHandle<T: Data> {
    shared: Arc<Shared<T>>,
}

impl<T: Data> Clone for ReceiverHandle<T> {
    fn clone(&self) -> Self {
        ReceiverHandle {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Data> ReceiverHandle<T> {
    /// Paces stores to the rate in force: `spate.streaming.receiver.maxRate`, or
    /// backpressure's estimate when lower.
    fn throttle(&self, n: u64) {
        let conf_max = self.shared.max_rate as f64;
        let estimated = self.shared.backpressure.as_ref().and_then(|c| c.rate());
        let max = match (conf_max > 0.0, estimated) {
            (true, Some(e)) => conf_max.min(e),
            (true, None) => conf_max,
            (false, Some(e)) => e,
            (false, None) => return,
        };
        let due = {
            let mut next = self.shared.rate.lock();
            let start = (*next).max(Instant::now());
            *next = start + Duration::from_secs_f64(n as f64 / max.max(1e-3));
            start
        };
        while Instant::now() < due && !self.is_stopped() {
            std::thread::sleep(
                due.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
    }

    /// Buffers one record into the current block (blocking while over
    /// `spate.streaming.receiver.maxRate`); the block generator stores the block later.
    ///
    /// # Errors
    /// [`Error::ReceiverStopped`] once the receiver has stopped for good;
    /// [`Error::BlockNotStored`] when a block of this receiver could not be stored since
    /// it last (re)started — records buffered before may be lost: restart the receiver so
    /// that it reads again from its source.
    pub fn store(&self, record: T) -> Result<()> {
        self.throttle(1);
        let s = &*self.shared;
        let mut buffer = s.buffer.lock();
        if s.refuse.load(Ordering::Acquire) != 0 {
            drop(buffer);
            return Err(s.refusal());
        }
        buffer.push(record);
        drop(buffer);
        s.stored.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Stores `records` as one block and returns once it is in the block store (Spark's
    /// `store(ArrayBuffer)`): after `Ok` the records will be in a batch, and a reliable
    /// receiver may acknowledge them to its source. Paced by
    /// `spate.streaming.receiver.maxRate` as a whole.
    ///
    /// # Errors
    /// [`Error::ReceiverStopped`] once the receiver has stopped for good (nothing stored);
    /// [`Error::BlockNotStored`] when the block could not be stored (its records are in no
    /// batch; the batch it would have joined fails).
    pub fn store_many(&self, records: Vec<T>) -> Result<()> {
        let s = &*self.shared;
        if s.finished() {
            return Err(s.refusal());
        }
        let n = records.len() as u64;
        self.throttle(n);
        s.push_block(records)?;
        s.stored.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    /// Stores what `records` yields as one block, as [`Self::store_many`] does (Spark's
    /// `store(Iterator)`).
    ///
    /// # Errors
    /// As [`Self::store_many`].
    pub fn store_iter<I: IntoIterator<Item = T>>(&self, records: I) -> Result<()> {
        self.store_many(records.into_iter().collect())
    }

    /// Asks the supervisor to stop and start the receiver again (after
    /// `spate.streaming.receiverRestartDelay`; Spark's `restart(message)`).
    pub fn restart(&self, reason: impl Into<String>) {
        self.restart_with(reason, None, None);
    }

    /// [`Self::restart`] with the error that caused it (kept in the receiver's last error
    /// with its causes, and logged) and a delay before starting again instead of
    /// `spate.streaming.receiverRestartDelay` (Spark's `restart(message, error, millis)`).
    pub fn restart_with(
        &self,
        reason: impl Into<String>,
        error: Option<&(dyn std::error::Error + 'static)>,
        delay: Option<Duration>,
    ) {
        let mut reason = reason.into();
        let mut cause = error;
        while let Some(e) = cause {
            reason.push_str(": ");
            reason.push_str(&e.to_string());
            cause = e.source();
        }
        tracing::warn!(stream = self.shared.stream_id, receiver = %self.shared.name, delay_ms = delay.map(|d| d.as_millis() as u64), "restarting receiver: {reason}");
        self.shared
            .commands
            .lock()
            .push_back(Command::Restart(reason, delay));
        self.shared.wake.notify_all();
    }

    /// Reports an error without stopping (listeners hear of it).
    pub fn report_error(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(stream = self.shared.stream_id, receiver = %self.shared.name, "receiver error: {message}");
        *self.shared.errors.lock() = Some(message);
        self.shared.announce(StreamingListenerEvent::ReceiverError(
            self.shared.info(!self.is_stopped()),
        ));
    }

    /// Stops the receiver for good.
    pub fn stop(&self, reason: impl Into<String>) {
        self.shared
            .commands
            .lock()
            .push_back(Command::Stop(reason.into()));
        self.shared.wake.notify_all();
    }

    /// Whether the receiver should stop receiving (stopping or restarting).
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
    }

    /// The id of the receiver's input stream.
    pub fn stream_id(&self) -> usize {
        self.shared.stream_id
    }
}

/// The input stream of a receiver: runs the supervisor and block generator, turns each
/// batch's blocks into a `BlockRdd`.
pub(crate) struct ReceiverInput<T: Data> {
    /// The stream's id (its DStream's), set by `bind_stream`.
    id: OnceLock<usize>,
    name: String,
    level: StorageLevel,
    ctx: Context,
    /// The receiver while it is not running (a supervisor puts it back when it ends, so
    /// that it can run again: on another placement in cluster mode).
    receiver: Arc<Mutex<Option<Box<dyn Receiver<T>>>>>,
    shared: Arc<Mutex<Option<Arc<Shared<T>>>>>,
    tracker: Arc<Mutex<Tracker>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    bus: Arc<ListenerBus>,
    inputs: Arc<InputTracker>,
    /// The stream's node, for its remember duration.
    stream: Mutex<Option<std::sync::Weak<dyn DStreamBase>>>,
    /// The first block sequence number: streaming contexts over one [`Context`] number
    /// their streams alike, so each numbers its blocks from its own base (its scope owner
    /// in the high bits; 0 for the first context) and never stores, reads or removes
    /// another one's blocks.
    seq_base: u64,
    /// The batch interval, bounding the block interval.
    batch_ms: i64,
    /// The streaming context, to tell the application of blocks that were not stored.
    ssc: crate::context::WeakStreamingContext,
    /// The write-ahead log, once started with it on.
    wal: Mutex<Option<Arc<Wal>>>,
    /// The last write-ahead log block given to a batch, by run: what the metadata
    /// checkpoint keeps, so a recovered run tells blocks no batch had yet (they go to its
    /// first batch) from blocks of batches done and forgotten.
    allocated_through: Mutex<BTreeMap<String, u64>>,
    /// The streaming context's scope owner (names its messages to the driver).
    owner: usize,
    /// Cluster mode, in an executor process: the placement the receiver runs here under.
    placed: Mutex<Option<u64>>,
    /// Backpressure's rate, when on (`spate.streaming.backpressure.enabled`).
    backpressure: Option<Arc<crate::input::rate::RateController>>,
    /// Cluster mode: the driver stopped the receivers (an executor does not start it
    /// again); on the driver, also whether the executor running it said it stopped.
    remote_stop: Arc<remote::RemoteStop>,
}

/// The block interval a receiver of a context with batches of `batch_ms` uses:
/// `spate.streaming.blockInterval`. A value set explicitly must lie between 1 ms and the
/// batch interval (0 would spin the block generator on a core; a value longer than the
/// batch interval leaves batches without blocks); the default (200 ms) is cut to the batch
/// interval when that is shorter.
///
/// # Errors
/// [`Error::InvalidDuration`] naming the key and the value.
pub(crate) fn block_interval(ctx: &Context, batch_ms: i64) -> Result<Duration> {
    const KEY: &str = "spate.streaming.blockInterval";
    let conf = ctx.conf();
    let value = conf
        .get_duration(KEY)?
        .unwrap_or(Duration::from_millis(200));
    let batch = Duration::from_millis(batch_ms.max(1) as u64);
    if !conf.contains(KEY) {
        return Ok(value.min(batch));
    }
    let raw = conf.get_raw(KEY).unwrap_or_default();
    let invalid = |reason: String| Error::InvalidDuration {
        what: format!("configuration key `{KEY}` = `{raw}`"),
        reason,
    };
    if value < Duration::from_millis(1) {
        return Err(invalid(
            "the block interval must be at least 1 ms (0 would make the block generator spin on a core)".into(),
        ));
    }
    if value > batch {
        return Err(invalid(format!(
            "the block interval must not exceed the batch interval ({batch_ms} ms): batches would get no blocks until one is cut"
        )));
    }
    Ok(value)
}

impl<T: Data> ReceiverInput<T> {
    pub(crate) fn new(ssc: &StreamingContext, receiver: Box<dyn Receiver<T>>) -> Arc<Self> {
        Arc::new(ReceiverInput {
            id: OnceLock::new(),
            name: receiver.name(),
            level: receiver.storage_level(),
            ctx: ssc.ctx().clone(),
            receiver: Arc::new(Mutex::new(Some(receiver))),
            shared: Arc::default(),
            tracker: Arc::new(Mutex::new(Tracker::default())),
            threads: Arc::default(),
            bus: ssc.inner.bus.clone(),
            inputs: ssc.inner.input_tracker.clone(),
            stream: Mutex::new(None),
            seq_base: (ssc.inner.scope_owner as u64).wrapping_mul(1 << 32),
            batch_ms: ssc.batch_ms(),
            ssc: ssc.downgrade(),
            wal: Mutex::new(None),
            allocated_through: Mutex::new(BTreeMap::new()),
            owner: ssc.inner.scope_owner,
            placed: Mutex::new(None),
            remote_stop: Arc::default(),
            backpressure: ssc.rate_controller(),
        })
    }

    fn id(&self) -> usize {
        self.id.get().copied().unwrap_or(usize::MAX)
    }

    /// Gives every block received so far to batch `time` (once; later calls return what it
    /// got) and logs it in the input tracker. A batch the run recovered from generated gets
    /// the blocks it had then, read from the write-ahead log (none without the log).
    fn allocate(&self, time: Time) -> Vec<Block> {
        let recovered = self.inputs.generated_before_recovery(time);
        let blocks = {
            let mut t = self.tracker.lock();
            if let Some(b) = t.allocated.get(&time.0) {
                return b.clone();
            }
            let blocks = if self.inputs.follows_driver() && !recovered {
                // An executor process: the blocks the driver gave the batch.
                let blocks = self.dictated_blocks(time);
                t.allocated.insert(time.0, blocks.clone());
                return blocks;
            } else if recovered {
                self.recovered_blocks(time)
            } else {
                std::mem::take(&mut t.pending)
            };
            t.allocated.insert(time.0, blocks.clone());
            blocks
        };
        if recovered {
            return blocks;
        }
        {
            let mut through = self.allocated_through.lock();
            for (run, seq, _) in blocks.iter().filter_map(|b| Wal::parse(b.wal.as_deref()?)) {
                let e = through.entry(run).or_insert(seq);
                *e = (*e).max(seq);
            }
        }
        let info = InputInfo {
            num_records: blocks
                .iter()
                .filter(|b| b.lost.is_none())
                .map(|b| b.records)
                .sum(),
            source: InputSource::Blocks(
                blocks
                    .iter()
                    .map(|b| ReceivedBlock {
                        block: b.name(),
                        records: b.records,
                        error: b.lost.as_ref().map(|l| l.reason.clone()),
                        wal: b.wal.clone(),
                        location: b.location.clone(),
                    })
                    .collect(),
            ),
        };
        self.inputs.record(time, self.id(), info);
        blocks
    }

    /// Sets the stream whose id the input takes and whose remember duration decides when
    /// blocks are dropped.
    pub(crate) fn bind_stream(&self, stream: std::sync::Weak<dyn DStreamBase>) {
        if let Some(s) = stream.upgrade() {
            let _ = self.id.set(s.meta().id());
            if let Some(r) = &self.backpressure {
                r.bind(s.meta().id());
            }
        }
        *self.stream.lock() = Some(stream);
    }

    /// Whether received records are still waiting for a batch.
    pub(crate) fn has_pending(&self) -> bool {
        let buffered = self
            .shared
            .lock()
            .as_ref()
            .is_some_and(|s| !s.buffer.lock().is_empty());
        buffered || !self.tracker.lock().pending.is_empty()
    }
}

impl<T: Data> InputStream for ReceiverInput<T> {
    fn is_receiver(&self) -> bool {
        true
    }
    fn allocate_blocks(&self, time: Time) {
        self.allocate(time);
    }

    fn forget_before(&self, time: Time) {
        let remember = self
            .stream
            .lock()
            .as_ref()
            .and_then(|w| w.upgrade())
            .map(|s| s.meta().remember_ms())
            .unwrap_or(0);
        let bs = self.ctx.block_store();
        let mut t = self.tracker.lock();
        // The batch's RDD (if one was made) is forgotten by now too: its blocks can go, also
        // those of batches no output ever read.
        let old: Vec<i64> = t
            .allocated
            .range(..=time.0 - remember)
            .map(|(k, _)| *k)
            .collect();
        // The driver deletes logged blocks (once).
        let wal = self
            .wal
            .lock()
            .clone()
            .filter(|_| !self.inputs.follows_driver());
        for k in old {
            for b in t.allocated.remove(&k).unwrap_or_default() {
                if b.lost.is_none() {
                    if let Some(id) = b.id {
                        bs.remove(id);
                    }
                }
                if let (Some(log), Some(name)) = (&wal, &b.wal) {
                    log.delete(name);
                }
            }
        }
    }

    /// Opens the write-ahead log before the first batch (a recovered run's pending batches
    /// are generated before the receiver starts, and read their blocks from it).
    fn open(&self) -> Result<()> {
        self.open_wal();
        Ok(())
    }

    fn checkpoint_id(&self) -> Option<usize> {
        Some(self.id())
    }

    fn checkpoint_state(&self) -> Result<Option<Vec<u8>>> {
        let state = ReceiverState {
            allocated_through: self.allocated_through.lock().clone(),
        };
        Ok(Some(spate_core::codec::encode(&state, "receiver state")?))
    }

    fn restore_state(&self, state: &[u8]) -> Result<()> {
        let state: ReceiverState = spate_core::codec::decode(state, "receiver state")?;
        self.allocated_through
            .lock()
            .extend(state.allocated_through);
        Ok(())
    }

    fn start(&self) {
        // Cluster mode: the receiver runs where the driver places it (`place`); the
        // driver takes the blocks its executor reports.
        if let Some(link) = self.ctx.env().cluster_link() {
            if self.ctx.is_driver() {
                self.take_reported_blocks(link.as_ref());
                self.publish_rates(link);
            }
            return;
        }
        self.run_receiver(self.seq_base, None);
    }

    fn place(&self, epoch: Option<u64>) {
        self.place_here(epoch);
    }

    fn stop_elsewhere(&self, until: Option<std::time::Instant>) {
        self.stop_remote(until);
    }

    fn stop(&self) {
        self.stop_receiver();
    }

    fn has_pending(&self) -> bool {
        ReceiverInput::has_pending(self)
    }
}

/// The DStream side of a receiver input.
pub(crate) struct ReceiverCompute<T: Data> {
    pub(crate) input: Arc<ReceiverInput<T>>,
}

impl<T: Data> Compute<T> for ReceiverCompute<T> {
    fn compute(&self, time: Time, _this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        let blocks = self.input.allocate(time);
        // A block that could not be stored was refused to the receiver (its `store` got
        // the error) and is not in the batch, as in Spark, where a block the block manager
        // did not take never reaches the block tracker: the batch processes every block
        // that was stored. The input tracker lists the lost block with its error, and the
        // application hears of it through `await_termination`.
        let (stored, lost): (Vec<_>, Vec<_>) = blocks.into_iter().partition(|b| b.lost.is_none());
        if let Some(ssc) = self.input.ssc.upgrade() {
            for l in lost.iter().filter_map(|b| b.lost.as_ref()) {
                ssc.report_failure(crate::context::BatchFailure::Input {
                    time_ms: time.0,
                    error: Arc::new(l.to_error(self.input.id(), &self.input.name)),
                });
            }
        }
        let log = self.input.log_store();
        Ok(Some(BlockRdd::create_logged(
            &self.input.ctx,
            stored
                .into_iter()
                .map(|b| LoggedBlock {
                    block: b.id,
                    logged: b.wal,
                    location: b.location,
                })
                .collect(),
            log,
        )))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
