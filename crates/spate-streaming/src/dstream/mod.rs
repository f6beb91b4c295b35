//! DStreams: a node per operation, each producing one RDD per batch time.
//!
//! A node ([`DStreamNode`]) knows its slide, its parents and how to compute the RDD of a
//! batch time from its parents' RDDs of that or earlier times. [`Node`] adds what every
//! DStream shares: the RDDs generated so far (remembered for `remember` duration and then
//! dropped), persistence and periodic checkpointing. User operations are methods on the
//! [`DStream`] handle, one file per family: `ops.rs`, `pair.rs`, `window.rs`, `state.rs`.

mod decode;
mod ops;
pub(crate) use ops::{transform_of, union_of};
mod pair;
mod state;
mod window;
mod window_ops;

pub use decode::{BadRecords, RecordOrigin};
pub use state::{MapWithStateDStream, State, StateRecord, StateSpec};
pub use window_ops::{GroupByKeyAndWindow, ReduceByKeyAndWindow, ReduceByWindow};

use crate::context::StreamingContext;
use crate::error::{Error, Result};
use crate::time::Time;
use parking_lot::Mutex;
use spate_core::{Data, Rdd, StorageLevel};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every DStream node shares.
pub struct Meta {
    id: usize,
    /// The streaming context's id-scope owner (see `spate_core::ids`).
    owner: usize,
    name: &'static str,
    slide_ms: i64,
    zero_ms: Mutex<Option<i64>>,
    remember_ms: Mutex<i64>,
    storage: Mutex<Option<StorageLevel>>,
    checkpoint_ms: Mutex<Option<i64>>,
    must_checkpoint: bool,
    /// The name the program gave it ([`DStream::name`]).
    user_name: Mutex<Option<String>>,
    /// `spate.streaming.unpersist`: whether RDDs leaving the remember window are
    /// unpersisted.
    unpersist: bool,
}

impl Meta {
    /// The stream's id (creation order).
    pub fn id(&self) -> usize {
        self.id
    }
    /// The operation that made it.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// Its slide in milliseconds: how often it produces an RDD.
    pub fn slide_ms(&self) -> i64 {
        self.slide_ms
    }
    /// The zero time, once the context started.
    pub fn zero_ms(&self) -> Option<i64> {
        *self.zero_ms.lock()
    }
    /// How long generated RDDs are kept.
    pub fn remember_ms(&self) -> i64 {
        *self.remember_ms.lock()
    }
    /// The checkpoint interval, if set.
    pub fn checkpoint_ms(&self) -> Option<i64> {
        *self.checkpoint_ms.lock()
    }
    /// The name the program gave it, if any ([`DStream::name`]).
    pub fn user_name(&self) -> Option<String> {
        self.user_name.lock().clone()
    }
    /// Whether it keeps state across batches (and so must checkpoint it).
    pub fn is_stateful(&self) -> bool {
        self.must_checkpoint
    }
}

/// A DStream node, untyped: what the graph needs.
pub trait DStreamBase: Send + Sync + 'static {
    /// Shared metadata.
    fn meta(&self) -> &Meta;
    /// Parent streams.
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>>;
    /// How much longer than this stream's own remember duration its parents must keep
    /// their RDDs (a window's length).
    fn parent_remember_extra_ms(&self) -> i64;
    /// Drops generated RDDs older than the remember duration before `time_ms`, here and
    /// in the parents.
    fn clear_metadata(&self, time_ms: i64);
    /// Times of the RDDs currently remembered.
    fn generated_times(&self) -> Vec<i64>;
    /// Its record type (Rust's `type_name`), for the graph description.
    fn record_type(&self) -> &'static str;
    /// The remembered RDDs written to a checkpoint, by batch time (Spark's
    /// `DStreamCheckpointData`): what a metadata checkpoint records of the stream.
    fn checkpoint_data(&self) -> BTreeMap<i64, DataCheckpoint>;
    /// Takes an earlier run's [`Self::checkpoint_data`]: those batches' RDDs are read
    /// from their checkpoints instead of being computed.
    ///
    /// # Errors
    /// A checkpoint whose files are missing.
    fn restore_checkpoint_data(
        &self,
        ctx: &spate_core::Context,
        data: &BTreeMap<i64, DataCheckpoint>,
    ) -> Result<()>;
}

/// Where one batch's RDD of a stream was checkpointed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataCheckpoint {
    /// Its directory in the checkpoint store's data part.
    pub dir: String,
    /// Its partitions.
    pub partitions: usize,
}

/// A DStream node of records `T`.
pub trait DStreamNode<T: Data>: DStreamBase {
    /// The RDD of batch `time`: remembered, or computed now; `None` when `time` is not a
    /// time of this stream or its input produced nothing for it.
    fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>>;
}

/// How one kind of DStream computes a batch.
pub(crate) trait Compute<T: Data>: Send + Sync + 'static {
    /// The RDD of `time`; `this` is the stream's own node (for streams that build on their
    /// own earlier RDDs).
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>>;
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>>;
    fn parent_remember_extra_ms(&self) -> i64 {
        0
    }
}

/// A DStream node: metadata, remembered RDDs and the kind-specific computation.
pub(crate) struct Node<T: Data, C: Compute<T>> {
    meta: Meta,
    generated: Mutex<BTreeMap<i64, Rdd<T>>>,
    /// Batch times being computed now: a second caller waits for the first, so a batch's
    /// RDD is made once (its ids come from the (stream, time) scope and must not be
    /// handed out twice at once).
    in_flight: Mutex<std::collections::HashSet<i64>>,
    in_flight_done: parking_lot::Condvar,
    c: C,
}

impl<T: Data, C: Compute<T>> DStreamBase for Node<T, C> {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        self.c.dependencies()
    }
    fn parent_remember_extra_ms(&self) -> i64 {
        self.c.parent_remember_extra_ms()
    }
    fn clear_metadata(&self, time_ms: i64) {
        let keep_after = time_ms - self.meta.remember_ms();
        let old: Vec<Rdd<T>> = {
            let mut g = self.generated.lock();
            let keep = g.split_off(&(keep_after + 1));
            std::mem::replace(&mut *g, keep).into_values().collect()
        };
        // A newer checkpoint of this stream makes the older ones useless: delete their files
        // (Spark's DStreamCheckpointData cleanup).
        let newer_checkpoint = self.generated.lock().values().any(|r| r.is_checkpointed());
        for rdd in old {
            if self.meta.unpersist && rdd.storage_level().is_some() {
                rdd.unpersist();
            }
            if newer_checkpoint && rdd.is_checkpointed() {
                if let Err(e) = rdd.remove_checkpoint() {
                    tracing::warn!(
                        stream = self.meta.id,
                        "removing an old checkpoint failed: {e}"
                    );
                }
            }
        }
        for d in self.c.dependencies() {
            d.clear_metadata(time_ms);
        }
    }
    fn generated_times(&self) -> Vec<i64> {
        self.generated.lock().keys().copied().collect()
    }
    fn record_type(&self) -> &'static str {
        std::any::type_name::<T>()
    }
    fn checkpoint_data(&self) -> BTreeMap<i64, DataCheckpoint> {
        self.generated
            .lock()
            .iter()
            .filter_map(|(t, rdd)| {
                Some((
                    *t,
                    DataCheckpoint {
                        dir: rdd.checkpoint_dir_name()?,
                        partitions: rdd.num_partitions(),
                    },
                ))
            })
            .collect()
    }
    fn restore_checkpoint_data(
        &self,
        ctx: &spate_core::Context,
        data: &BTreeMap<i64, DataCheckpoint>,
    ) -> Result<()> {
        let mut restored = BTreeMap::new();
        for (t, ck) in data {
            let rdd: Rdd<T> = ctx.checkpoint_file(&ck.dir, ck.partitions)?;
            tracing::info!(stream = self.meta.id, operation = self.meta.name, time = t, dir = %ck.dir, "restored from its checkpoint");
            restored.insert(*t, rdd);
        }
        self.generated.lock().extend(restored);
        Ok(())
    }
}

impl<T: Data, C: Compute<T>> DStreamNode<T> for Node<T, C> {
    fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        if let Some(r) = self.generated.lock().get(&time.0) {
            return Ok(Some(r.clone()));
        }
        let Some(zero) = self.meta.zero_ms() else {
            return Err(Error::State {
                state: "not started",
                action: "compute a batch",
            });
        };
        if time.0 <= zero || (time.0 - zero) % self.meta.slide_ms != 0 {
            return Ok(None);
        }
        {
            let mut f = self.in_flight.lock();
            loop {
                if let Some(r) = self.generated.lock().get(&time.0) {
                    return Ok(Some(r.clone()));
                }
                if f.insert(time.0) {
                    break;
                }
                self.in_flight_done.wait(&mut f);
            }
        }
        struct Landed<'a>(
            &'a Mutex<std::collections::HashSet<i64>>,
            &'a parking_lot::Condvar,
            i64,
        );
        impl Drop for Landed<'_> {
            fn drop(&mut self) {
                self.0.lock().remove(&self.2);
                self.1.notify_all();
            }
        }
        let _landed = Landed(&self.in_flight, &self.in_flight_done, time.0);
        // Computed without holding the lock: a stream may ask for its own earlier RDDs.
        // What it creates is named from (stream, batch time), whichever thread asks first.
        let scope = spate_core::ids::IdScope::Stream {
            owner: self.meta.owner,
            stream: self.meta.id,
            time_ms: time.0,
        };
        let Some(rdd) = spate_core::ids::with_scope(scope, || self.c.compute(time, self))? else {
            return Ok(None);
        };
        if let Some(level) = *self.meta.storage.lock() {
            if rdd.storage_level().is_none() {
                rdd.clone().persist(level);
            }
        }
        if let Some(ck) = self.meta.checkpoint_ms() {
            if (time.0 - zero) % ck == 0 {
                rdd.checkpoint()?;
                tracing::debug!(
                    stream = self.meta.id,
                    time = time.0,
                    "RDD marked for checkpointing"
                );
            }
        }
        let mut g = self.generated.lock();
        Ok(Some(g.entry(time.0).or_insert(rdd).clone()))
    }
}

/// The error of a stream (`this`) whose parent has no RDD at `time` where it needs one.
pub(crate) fn missing_parent(parent: &Meta, this: &Meta, time: Time) -> Error {
    Error::MissingParentRdd {
        parent: parent.id,
        parent_operation: parent.name,
        stream: this.id,
        operation: this.name,
        time_ms: time.0,
    }
}

/// Sets the zero time and remember durations of the graph under `stream` (Spark's
/// `DStream.initialize`).
pub(crate) fn initialize(stream: &Arc<dyn DStreamBase>, zero_ms: i64) {
    let m = stream.meta();
    {
        let mut z = m.zero_ms.lock();
        if z.is_some() {
            return;
        }
        *z = Some(zero_ms);
    }
    if m.must_checkpoint && m.checkpoint_ms().is_none() {
        // Spark: the smallest multiple of the slide of at least 10 seconds.
        let slide = m.slide_ms;
        *m.checkpoint_ms.lock() = Some(slide * ((10_000 + slide - 1) / slide));
    }
    let mut min_remember = m.slide_ms;
    if let Some(ck) = m.checkpoint_ms() {
        if min_remember <= ck {
            min_remember = ck * 2;
        }
    }
    {
        let mut r = m.remember_ms.lock();
        if *r < min_remember {
            *r = min_remember;
        }
    }
    for d in stream.dependencies() {
        initialize(&d, zero_ms);
    }
}

/// Raises remember durations (Spark's `DStream.remember`): at least `ms` here, and this
/// stream's needs plus its window in the parents.
pub(crate) fn remember(stream: &Arc<dyn DStreamBase>, ms: i64) {
    let m = stream.meta();
    let own = {
        let mut r = m.remember_ms.lock();
        if ms > *r {
            *r = ms;
        }
        *r
    };
    let parent = own + stream.parent_remember_extra_ms();
    for d in stream.dependencies() {
        remember(&d, parent);
    }
}

/// A discretized stream: a sequence of RDDs of records `T`, one per slide interval. A
/// cheap, clonable handle; operations build new streams, output operations register jobs.
pub struct DStream<T: Data> {
    pub(crate) node: Arc<dyn DStreamNode<T>>,
    pub(crate) ssc: StreamingContext,
}

impl<T: Data> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            node: self.node.clone(),
            ssc: self.ssc.clone(),
        }
    }
}

impl<T: Data> std::fmt::Debug for DStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.node.meta();
        write!(f, "DStream[{}] {} (slide {} ms)", m.id, m.name, m.slide_ms)
    }
}

impl<T: Data> DStream<T> {
    /// Wraps a computation as a new stream of this context.
    pub(crate) fn create<C: Compute<T>>(
        ssc: &StreamingContext,
        name: &'static str,
        slide_ms: i64,
        must_checkpoint: bool,
        c: C,
    ) -> DStream<T> {
        let node = Node {
            meta: Meta {
                id: ssc.new_stream_id(),
                owner: ssc.inner.scope_owner,
                name,
                slide_ms,
                zero_ms: Mutex::new(None),
                remember_ms: Mutex::new(0),
                storage: Mutex::new(None),
                checkpoint_ms: Mutex::new(None),
                must_checkpoint,
                user_name: Mutex::new(None),
                unpersist: ssc
                    .ctx()
                    .conf()
                    .get_bool("spate.streaming.unpersist")
                    .unwrap_or(true),
            },
            generated: Mutex::new(BTreeMap::new()),
            in_flight: Mutex::new(Default::default()),
            in_flight_done: parking_lot::Condvar::new(),
            c,
        };
        DStream {
            node: Arc::new(node),
            ssc: ssc.clone(),
        }
    }

    /// Keeps `err` (an error of defining this stream by `operation`) for
    /// `StreamingContext::start` to report.
    pub(crate) fn with_definition_error(self, operation: &'static str, err: Option<Error>) -> Self {
        if let Some(e) = err {
            self.ssc
                .inner
                .graph
                .defer_error(operation, self.node.meta().id, e);
        }
        self
    }

    /// Names the stream: a recovered run matches it by this name to the stream of the
    /// same name in the checkpoint, so streams added to the program before it do not make
    /// recovery refuse (unnamed streams are matched by creation order). Names must be
    /// unique within a program.
    pub fn name(self, name: impl Into<String>) -> Self {
        *self.node.meta().user_name.lock() = Some(name.into());
        self
    }

    /// The untyped node.
    pub fn base(&self) -> Arc<dyn DStreamBase> {
        self.node.clone()
    }

    /// The stream's context.
    pub fn context(&self) -> &StreamingContext {
        &self.ssc
    }

    /// How often the stream produces an RDD, in milliseconds.
    pub fn slide_ms(&self) -> i64 {
        self.node.meta().slide_ms
    }

    /// The RDD of batch `time` (computing it if needed).
    pub fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        self.node.get_or_compute(time)
    }

    /// Persists every generated RDD at `level`.
    pub fn persist(self, level: StorageLevel) -> Self {
        *self.node.meta().storage.lock() = Some(level);
        self
    }

    /// `persist(MEMORY_ONLY_SER)`, Spark's default for DStreams.
    pub fn cache(self) -> Self {
        self.persist(StorageLevel::MEMORY_ONLY_SER)
    }

    /// Checkpoints the generated RDDs every `interval` (a multiple of the slide), cutting
    /// their lineage; needs `StreamingContext::checkpoint(dir)`. An interval that does not
    /// fit makes `StreamingContext::start` fail, naming `checkpoint`.
    pub fn checkpoint(self, interval: std::time::Duration) -> Self {
        let checked = crate::time::millis_of("checkpoint interval", interval).and_then(|ms| {
            crate::time::check_multiple(
                "checkpoint interval",
                ms,
                "slide duration",
                self.slide_ms(),
            )
            .map(|()| ms)
        });
        match checked {
            Ok(ms) => {
                *self.node.meta().checkpoint_ms.lock() = Some(ms);
                self
            }
            Err(e) => self.with_definition_error("checkpoint", Some(e)),
        }
    }

    /// The RDDs of every batch time in `[from, to]` (both inclusive, floored to the
    /// stream's times) that this stream has or can compute, oldest first (Spark's `slice`).
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Rdd<T>>> {
        slice(&*self.node, from, to)
    }
}

/// [`DStream::slice`] on a node: what the nodes that read a window of their parent use
/// (they hold the parent's node, not a [`DStream`] handle, which would hold the context).
pub(crate) fn slice<T: Data>(
    node: &dyn DStreamNode<T>,
    from: Time,
    to: Time,
) -> Result<Vec<Rdd<T>>> {
    let m = node.meta();
    let Some(zero) = m.zero_ms() else {
        return Err(Error::State {
            state: "not started",
            action: "slice",
        });
    };
    let slide = m.slide_ms;
    let align = |t: i64| zero + (t - zero).div_euclid(slide) * slide;
    // Both ends are floored to the stream's times, as Spark does.
    let mut t = align(from.0);
    let end = align(to.0);
    let mut out = Vec::new();
    while t <= end {
        if let Some(r) = node.get_or_compute(Time(t))? {
            out.push(r);
        }
        t += slide;
    }
    Ok(out)
}
