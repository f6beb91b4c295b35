//! Receivers: long-running sources that push records into spate (Spark's `Receiver`).
//!
//! A [`Receiver`] is started once per input stream; it receives on threads of its own and
//! hands records to its [`ReceiverHandle`] with `store`. A block generator cuts what was
//! stored into a block every `spate.streaming.blockInterval` and puts it in the block
//! store; at each batch time the blocks received since the previous batch become that
//! batch's RDD (one partition per block). A supervisor restarts a receiver that asks for a
//! restart (or whose thread panics) after `spate.streaming.receiverRestartDelay`, and
//! `spate.streaming.receiver.maxRate` limits how many records per second `store` accepts.

use crate::context::StreamingContext;
use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::input::InputStream;
use crate::listener::{ReceiverInfo, StreamingListener};
use crate::time::Time;
use parking_lot::{Condvar, Mutex};
use spate_core::rdd::BlockRdd;
use spate_core::storage::BlockId;
use spate_core::{Context, Data, Rdd, StorageLevel};
use std::collections::{BTreeMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A custom source (Spark's `Receiver`). `on_start` must return quickly: start a thread
/// that receives and calls `handle.store(..)` until `handle.is_stopped()`; `on_stop`
/// releases what `on_start` took (the thread should notice `is_stopped` and end).
pub trait Receiver<T: Data>: Send + 'static {
    /// Starts receiving.
    fn on_start(&mut self, handle: ReceiverHandle<T>);
    /// Stops receiving.
    fn on_stop(&mut self);
    /// A name for logs and listeners.
    fn name(&self) -> String {
        "receiver".to_string()
    }
}

enum Command {
    Restart(String),
    Stop(String),
}

struct Shared<T> {
    stream_id: usize,
    buffer: Mutex<Vec<T>>,
    stopped: AtomicBool,
    /// Set when the supervisor has stopped the receiver for good.
    finished: AtomicBool,
    commands: Mutex<VecDeque<Command>>,
    wake: Condvar,
    max_rate: u64,
    rate: Mutex<(Instant, u64)>,
    stored: AtomicU64,
    errors: Mutex<Option<String>>,
    /// The context, for its listeners (read at each event: listeners added later hear too).
    ssc: std::sync::Weak<crate::context::Inner>,
    name: String,
}

impl<T> Shared<T> {
    fn listeners(&self) -> Vec<Arc<dyn StreamingListener>> {
        self.ssc
            .upgrade()
            .map(|i| i.listeners.lock().clone())
            .unwrap_or_default()
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
    /// Paces stores to `max_rate` per second since the receiver started.
    fn throttle(&self, n: u64) {
        let max = self.shared.max_rate;
        if max == 0 {
            return;
        }
        let due = {
            let mut r = self.shared.rate.lock();
            let before = r.1;
            r.1 += n;
            r.0 + Duration::from_secs_f64(before as f64 / max as f64)
        };
        while Instant::now() < due && !self.is_stopped() {
            std::thread::sleep(
                due.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
    }

    /// Stores one record (blocking while over `spate.streaming.receiver.maxRate`).
    pub fn store(&self, record: T) {
        self.throttle(1);
        self.shared.buffer.lock().push(record);
        self.shared.stored.fetch_add(1, Ordering::Relaxed);
    }

    /// Stores many records at once.
    pub fn store_many(&self, records: Vec<T>) {
        if self.shared.max_rate == 0 {
            let n = records.len() as u64;
            self.shared.buffer.lock().extend(records);
            self.shared.stored.fetch_add(n, Ordering::Relaxed);
        } else {
            for r in records {
                self.store(r);
            }
        }
    }

    /// Asks the supervisor to stop and start the receiver again (after the restart delay).
    pub fn restart(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::warn!(stream = self.shared.stream_id, receiver = %self.shared.name, "restarting receiver: {reason}");
        self.shared
            .commands
            .lock()
            .push_back(Command::Restart(reason));
        self.shared.wake.notify_all();
    }

    /// Reports an error without stopping (listeners hear of it).
    pub fn report_error(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(stream = self.shared.stream_id, receiver = %self.shared.name, "receiver error: {message}");
        *self.shared.errors.lock() = Some(message.clone());
        let info = ReceiverInfo {
            stream_id: self.shared.stream_id,
            name: self.shared.name.clone(),
            active: !self.is_stopped(),
            last_error: Some(message),
        };
        for l in &self.shared.listeners() {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| l.on_receiver_error(&info)));
        }
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
}

/// Blocks received and not yet given to a batch, and what each batch got.
struct Tracker {
    pending: Vec<(BlockId, u64)>,
    allocated: BTreeMap<i64, Vec<(BlockId, u64)>>,
    next_seq: u64,
}

/// The input stream of a receiver: runs the supervisor and block generator, turns each
/// batch's blocks into a `BlockRdd`.
pub(crate) struct ReceiverInput<T: Data> {
    id: usize,
    ctx: Context,
    receiver: Mutex<Option<Box<dyn Receiver<T>>>>,
    shared: Mutex<Option<Arc<Shared<T>>>>,
    tracker: Arc<Mutex<Tracker>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    ssc: std::sync::Weak<crate::context::Inner>,
    /// The stream's node, for its remember duration.
    stream: Mutex<Option<std::sync::Weak<dyn DStreamBase>>>,
}

impl<T: Data> ReceiverInput<T> {
    pub(crate) fn new(
        ssc: &StreamingContext,
        id: usize,
        receiver: Box<dyn Receiver<T>>,
    ) -> Arc<Self> {
        Arc::new(ReceiverInput {
            id,
            ctx: ssc.ctx().clone(),
            receiver: Mutex::new(Some(receiver)),
            shared: Mutex::new(None),
            tracker: Arc::new(Mutex::new(Tracker {
                pending: Vec::new(),
                allocated: BTreeMap::new(),
                next_seq: 0,
            })),
            threads: Mutex::new(Vec::new()),
            ssc: Arc::downgrade(&ssc.inner),
            stream: Mutex::new(None),
        })
    }

    /// Moves the buffer into a new block.
    fn cut_block(ctx: &Context, shared: &Shared<T>, tracker: &Mutex<Tracker>) {
        let records = std::mem::take(&mut *shared.buffer.lock());
        if records.is_empty() {
            return;
        }
        let n = records.len() as u64;
        let mut t = tracker.lock();
        let id = BlockId::Input {
            stream: shared.stream_id,
            seq: t.next_seq,
        };
        t.next_seq += 1;
        match ctx
            .block_store()
            .put_values(id, Arc::new(records), StorageLevel::MEMORY_AND_DISK)
        {
            Ok(_) => t.pending.push((id, n)),
            Err(e) => tracing::error!(
                stream = shared.stream_id,
                "storing received block {id:?} failed: {e}"
            ),
        }
    }

    /// Gives every block received so far to batch `time`.
    fn allocate(&self, time: Time) -> Vec<(BlockId, u64)> {
        let mut t = self.tracker.lock();
        if let Some(b) = t.allocated.get(&time.0) {
            return b.clone();
        }
        let blocks = std::mem::take(&mut t.pending);
        t.allocated.insert(time.0, blocks.clone());
        blocks
    }

    /// Sets the stream whose remember duration decides when blocks are dropped.
    pub(crate) fn bind_stream(&self, stream: std::sync::Weak<dyn DStreamBase>) {
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

fn notify_receiver(listeners: &[Arc<dyn StreamingListener>], info: &ReceiverInfo, started: bool) {
    for l in listeners {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if started {
                l.on_receiver_started(info)
            } else {
                l.on_receiver_stopped(info)
            }
        }));
    }
}

impl<T: Data> InputStream for ReceiverInput<T> {
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
        for k in old {
            for (b, _) in t.allocated.remove(&k).unwrap_or_default() {
                bs.remove(b);
            }
        }
    }

    fn start(&self) {
        let Some(mut receiver) = self.receiver.lock().take() else {
            return;
        };
        let Some(inner) = self.ssc.upgrade() else {
            return;
        };
        let conf = inner.ctx.conf().clone();
        let block_interval = conf
            .get_duration("spate.streaming.blockInterval")
            .ok()
            .flatten()
            .unwrap_or(Duration::from_millis(200));
        let restart_delay = conf
            .get_duration("spate.streaming.receiverRestartDelay")
            .ok()
            .flatten()
            .unwrap_or(Duration::from_secs(2));
        let max_rate = conf
            .get_count("spate.streaming.receiver.maxRate")
            .ok()
            .flatten()
            .unwrap_or(0) as u64;
        let shared = Arc::new(Shared {
            stream_id: self.id,
            buffer: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            commands: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            max_rate,
            rate: Mutex::new((Instant::now(), 0)),
            stored: AtomicU64::new(0),
            errors: Mutex::new(None),
            ssc: self.ssc.clone(),
            name: receiver.name(),
        });
        *self.shared.lock() = Some(shared.clone());
        // Block generator.
        let (s, t, ctx) = (shared.clone(), self.tracker.clone(), self.ctx.clone());
        let generator = std::thread::Builder::new()
            .name(format!("spate-block-generator-{}", self.id))
            .spawn(move || {
                let mut next = Instant::now() + block_interval;
                loop {
                    let finished = s.finished.load(Ordering::Acquire);
                    if finished || Instant::now() >= next {
                        Self::cut_block(&ctx, &s, &t);
                        next = Instant::now() + block_interval;
                    }
                    if finished {
                        break;
                    }
                    std::thread::sleep(
                        next.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(10)),
                    );
                }
            })
            .expect("spawn block generator");
        // Supervisor.
        let s = shared.clone();
        let stream_id = self.id;
        let supervisor = std::thread::Builder::new()
            .name(format!("spate-receiver-{}", self.id))
            .spawn(move || {
                let handle = ReceiverHandle { shared: s.clone() };
                let info = |active: bool| ReceiverInfo {
                    stream_id,
                    name: s.name.clone(),
                    active,
                    last_error: s.errors.lock().clone(),
                };
                loop {
                    s.stopped.store(false, Ordering::Release);
                    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        receiver.on_start(handle.clone())
                    }));
                    if let Err(p) = started {
                        handle.restart(format!(
                            "on_start panicked: {}",
                            spate_core::scheduler::panic_message(p.as_ref())
                        ));
                    } else {
                        notify_receiver(&s.listeners(), &info(true), true);
                        tracing::info!(stream = stream_id, receiver = %s.name, "receiver started");
                    }
                    let cmd = {
                        let mut q = s.commands.lock();
                        while q.is_empty() {
                            s.wake.wait(&mut q);
                        }
                        q.pop_front().expect("a command")
                    };
                    s.stopped.store(true, Ordering::Release);
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| receiver.on_stop()));
                    match cmd {
                        Command::Stop(reason) => {
                            tracing::info!(stream = stream_id, "receiver stopped: {reason}");
                            notify_receiver(&s.listeners(), &info(false), false);
                            s.finished.store(true, Ordering::Release);
                            break;
                        }
                        Command::Restart(reason) => {
                            *s.errors.lock() = Some(reason);
                            notify_receiver(&s.listeners(), &info(false), false);
                            // Wait out the delay unless a stop arrives.
                            let deadline = Instant::now() + restart_delay;
                            let mut q = s.commands.lock();
                            let mut stop = false;
                            while Instant::now() < deadline {
                                if q.iter().any(|c| matches!(c, Command::Stop(_))) {
                                    stop = true;
                                    break;
                                }
                                s.wake.wait_until(&mut q, deadline);
                            }
                            q.retain(|c| matches!(c, Command::Stop(_)));
                            if stop {
                                drop(q);
                                s.finished.store(true, Ordering::Release);
                                break;
                            }
                        }
                    }
                }
            })
            .expect("spawn receiver supervisor");
        self.threads.lock().extend([supervisor, generator]);
    }

    fn stop(&self) {
        let shared = self.shared.lock().take();
        if let Some(s) = &shared {
            s.commands
                .lock()
                .push_back(Command::Stop("streaming context stopped".into()));
            s.wake.notify_all();
        }
        let threads: Vec<_> = self.threads.lock().drain(..).collect();
        drop(shared);
        for t in threads {
            let _ = t.join();
        }
    }

    fn records_for(&self, time: Time) -> u64 {
        self.tracker
            .lock()
            .allocated
            .get(&time.0)
            .map(|b| b.iter().map(|(_, n)| n).sum())
            .unwrap_or(0)
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
        Ok(Some(BlockRdd::create(
            &self.input.ctx,
            blocks.into_iter().map(|(b, _)| b).collect(),
        )))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
