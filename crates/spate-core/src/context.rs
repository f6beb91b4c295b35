//! [`Context`]: the entry point (Spark's `SparkContext`).

use crate::checkpoint_store::{CheckpointStore, LocalDirStore};
use crate::conf::{Master, SpateConf};
use crate::data::Data;
use crate::env::{Env, Role};
use crate::error::{Error, Result};
use crate::ids::{IdKind, IdSequences};
use crate::rdd::nodes::{EmptyRdd, UnionRdd};
use crate::rdd::{ParallelCollection, RangeRdd, Rdd, RddBase, RecordCounter, TextFileRdd};
use crate::scheduler::{DagScheduler, Executor, LocalExecutor};
use crate::shared::accumulator::{
    Accumulator, AccumulatorV2, Collection, CollectionAccumulator, DoubleAccumulator, DoubleSum,
    LongAccumulator, LongSum,
};
use crate::shared::broadcast::Broadcast;
use crate::storage::BlockStore;
use crate::text::Str;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// The shared state behind a [`Context`].
pub(crate) struct ContextInner {
    conf: SpateConf,
    app_name: String,
    threads: usize,
    default_parallelism: Option<usize>,
    env: Arc<Env>,
    scheduler: DagScheduler,
    ids: IdSequences,
    stopped: AtomicBool,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        // The task threads end here; the environment (and its scratch directory) goes
        // when the last of them lets go of it.
        self.scheduler.stop();
    }
}

/// The entry point of a spate program: configuration, the scheduler, the block store,
/// shared variables, and the sources of RDDs. A cheap, clonable handle.
///
/// ```
/// use spate_core::{Context, SpateConf};
/// let ctx = Context::new(SpateConf::new().master("local[2]")?)?;
/// let sum: i64 = ctx.parallelize_with((1..=100).collect::<Vec<i64>>(), 4).reduce(|a, b| a + b)?;
/// assert_eq!(sum, 5050);
/// # Ok::<(), spate_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Context({}, local[{}])",
            self.inner.app_name, self.inner.threads
        )
    }
}

static CONTEXT_SEQ: AtomicUsize = AtomicUsize::new(0);

impl Context {
    /// Starts a context with `conf`.
    ///
    /// # Errors
    /// A malformed configuration value, or a local directory that cannot be created.
    pub fn new(conf: SpateConf) -> Result<Context> {
        Self::with_role(conf, Role::from_environment())
    }

    /// A context for `role` (the driver unless the environment says otherwise; see
    /// [`Role::from_environment`]).
    pub(crate) fn with_role(conf: SpateConf, role: Role) -> Result<Context> {
        if conf.get_bool("spate.log.stderr")? {
            crate::logging::install_default_logger();
        }
        let master = conf.get_master()?;
        let executor_cores = conf.get_count("spate.executor.cores")?.unwrap_or(2).max(1);
        // Computed from the configuration alone, so that every process of a cluster
        // application (each runs the program) gets the same default parallelism.
        let threads = match &master {
            Master::Local { threads } => *threads,
            Master::LocalCluster { executors, cores } => {
                executors * cores.unwrap_or(executor_cores)
            }
            Master::Cluster { .. } => 2 * executor_cores,
        };
        let app_name = conf
            .get_text("spate.app.name")?
            .unwrap_or_else(|| "spate".into());
        let storage = conf
            .get_bytes("spate.memory.storageBytes")?
            .unwrap_or(512 << 20);
        let execution = conf
            .get_bytes("spate.memory.executionBytes")?
            .unwrap_or(256 << 20);
        let max_failures = conf.get_count("spate.task.maxFailures")?.unwrap_or(4);
        let max_stage = conf
            .get_count("spate.stage.maxConsecutiveAttempts")?
            .unwrap_or(4);
        let default_parallelism = conf.get_count("spate.default.parallelism")?;
        let seq = CONTEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        let base = match conf.get_text("spate.local.dir")? {
            Some(d) => PathBuf::from(d),
            None => std::env::temp_dir(),
        };
        let local_dir = base.join(format!("spate-{}-{seq}", std::process::id()));
        std::fs::create_dir_all(&local_dir).map_err(|e| Error::io(&local_dir, e))?;
        let checkpoint_dir = conf.get_text("spate.checkpoint.dir")?;
        if conf.get_bool("spate.signal.cleanup")? {
            crate::shutdown::install_signal_handler();
        }
        let env = Arc::new(Env::new(
            role,
            storage,
            execution as usize,
            threads,
            local_dir,
        ));
        let executor: Arc<dyn Executor> = if !master.is_cluster() {
            Arc::new(LocalExecutor::start(threads, Arc::downgrade(&env)))
        } else {
            let raw = conf.get_raw("spate.master").unwrap_or_default().to_string();
            let backend = crate::cluster::backend(&raw)?;
            match env.role().clone() {
                Role::Driver => {
                    let parts = backend.start_driver(&env, &conf, &master)?;
                    env.set_cluster_link(parts.link);
                    parts.executor
                }
                Role::Executor { id } => {
                    let url = std::env::var(crate::cluster::DRIVER_URL_VAR).map_err(|_| {
                        Error::Config(format!(
                            "executor {id}: {} is not set (an executor is started with the driver's spate://host:port there)",
                            crate::cluster::DRIVER_URL_VAR
                        ))
                    })?;
                    // Tasks from the driver run on these threads, against this process's
                    // own lineage.
                    let local: Arc<dyn Executor> = Arc::new(LocalExecutor::start_resolving(
                        executor_cores,
                        Arc::downgrade(&env),
                        crate::cluster::RESOLVE_WAIT,
                    ));
                    let link = backend.start_executor(&env, local.clone(), &conf, &url, &id)?;
                    env.set_cluster_link(link);
                    local
                }
            }
        };
        let inner = Arc::new(ContextInner {
            conf: conf.clone(),
            app_name: app_name.clone(),
            threads,
            default_parallelism,
            scheduler: DagScheduler::new(executor, env.clone(), max_failures, max_stage),
            env,
            ids: IdSequences::default(),
            stopped: AtomicBool::new(false),
        });
        let ctx = Context { inner };
        if let Some(dir) = checkpoint_dir {
            ctx.set_checkpoint_dir(dir)?;
        }
        tracing::info!(app = %app_name, threads, "context started");
        Ok(ctx)
    }

    /// A context for `local[threads]` with defaults otherwise (handy in tests).
    pub fn local(threads: usize) -> Result<Context> {
        Context::new(SpateConf::new().master(&format!("local[{threads}]"))?)
    }

    /// The configuration.
    pub fn conf(&self) -> &SpateConf {
        &self.inner.conf
    }

    /// The application name.
    pub fn app_name(&self) -> &str {
        &self.inner.app_name
    }

    /// Task threads (local mode).
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Whether this process is the driver. Every process runs the program; side effects
    /// that must happen once belong behind this (always true in local mode).
    pub fn is_driver(&self) -> bool {
        self.inner.env.role().is_driver()
    }

    /// The id of this process's executor (`driver` for the driver, as in Spark's local
    /// mode).
    pub fn executor_id(&self) -> &str {
        self.inner.env.executor_id()
    }

    /// The executor environment of this process: block store, map outputs, shuffle
    /// fetch, registries. Tasks see it through [`crate::TaskContext::env`].
    pub fn env(&self) -> &Arc<Env> {
        &self.inner.env
    }

    /// Spark's `defaultParallelism`: `spate.default.parallelism`, or the task threads.
    pub fn default_parallelism(&self) -> usize {
        self.inner.default_parallelism.unwrap_or(self.inner.threads)
    }

    /// `spate.default.parallelism` if it was set.
    pub(crate) fn configured_parallelism(&self) -> Option<usize> {
        self.inner.default_parallelism
    }

    /// The block store of this process.
    pub fn block_store(&self) -> &Arc<BlockStore> {
        self.inner.env.block_store()
    }

    /// The DAG scheduler.
    pub fn scheduler(&self) -> &DagScheduler {
        &self.inner.scheduler
    }

    /// One task's share of `spate.memory.executionBytes`.
    pub fn task_memory_budget(&self) -> usize {
        self.inner.env.task_memory_budget()
    }

    /// The next id of `kind`, from program order (see [`crate::ids`]).
    pub(crate) fn next_id(&self, kind: IdKind) -> usize {
        self.inner.ids.next(kind)
    }

    /// A program-order id for a component that opens id scopes (a streaming context), to
    /// put in its [`crate::ids::IdScope`]s: two such components over one context never
    /// name things alike.
    pub fn new_scope_owner(&self) -> usize {
        self.next_id(IdKind::ScopeOwner)
    }

    pub(crate) fn new_rdd_id(&self) -> usize {
        self.next_id(IdKind::Rdd)
    }

    /// Records a new RDD node under its id, for tasks to resolve.
    pub(crate) fn register_rdd(&self, node: Weak<dyn RddBase>, id: usize) {
        self.inner.env.register_rdd(id, node);
    }

    /// Checks that RDD `rdd_id` of this process has the lineage fingerprint the driver sent
    /// with a task; a mismatch means the program built a different graph here.
    ///
    /// # Errors
    /// [`Error::LineageMismatch`] naming the operation at that id on this process.
    pub fn check_lineage(&self, rdd_id: usize, expected: u64) -> Result<()> {
        let n = self.inner.env.resolve_rdd(rdd_id)?;
        if n.info().fingerprint() != expected {
            return Err(Error::LineageMismatch {
                rdd_id,
                expected,
                found: n.info().fingerprint(),
                op: n.info().op().to_string(),
            });
        }
        Ok(())
    }

    pub(crate) fn new_shuffle_id(&self) -> usize {
        self.next_id(IdKind::Shuffle)
    }

    /// Whether [`Context::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    /// Stops the context: running jobs fail with [`Error::Stopped`], new ones are refused,
    /// and the scratch directory (spilled blocks, shuffle files) is removed.
    pub fn stop(&self) {
        if !self.inner.stopped.swap(true, Ordering::AcqRel) {
            tracing::info!(app = %self.inner.app_name, "context stopped");
            if let Some(link) = self.inner.env.cluster_link() {
                link.stop();
            }
            self.inner.scheduler.stop();
            // Spilled blocks and shuffle files are of no use to a stopped context.
            self.inner.env.remove_scratch_dir();
        }
    }

    /// Sets where [`Rdd::checkpoint`] writes: a subdirectory of `dir` unique to this
    /// context, as Spark does.
    pub fn set_checkpoint_dir(&self, dir: impl AsRef<Path>) -> Result<()> {
        let sub = dir
            .as_ref()
            .join(format!("{}-{}", self.inner.app_name, uniq_suffix()));
        let store = LocalDirStore::new(sub)?;
        self.inner.env.set_checkpoint_store(Arc::new(store));
        Ok(())
    }

    /// Uses `store` for checkpoints.
    pub fn set_checkpoint_store(&self, store: Arc<dyn CheckpointStore>) {
        self.inner.env.set_checkpoint_store(store);
    }

    /// The checkpoint store, if a directory was set.
    pub fn checkpoint_store(&self) -> Option<Arc<dyn CheckpointStore>> {
        self.inner.env.checkpoint_store()
    }

    /// Distributes `data` over [`Context::default_parallelism`] partitions (Spark's
    /// `parallelize(seq)`).
    pub fn parallelize<T: Data>(&self, data: Vec<T>) -> Rdd<T> {
        self.parallelize_with(data, self.default_parallelism())
    }

    /// Distributes `data` over `slices` partitions: partition i of p over n records holds
    /// indices `[i*n/p, (i+1)*n/p)` (Spark's `parallelize(seq, numSlices)`).
    pub fn parallelize_with<T: Data>(&self, data: Vec<T>, slices: usize) -> Rdd<T> {
        ParallelCollection::create(self, data, slices)
    }

    /// `start, start+step, ...` below `end` (above, for a negative step).
    ///
    /// # Errors
    /// A zero step.
    pub fn range(&self, start: i64, end: i64, step: i64, slices: usize) -> Result<Rdd<i64>> {
        RangeRdd::create(self, start, end, step, slices)
    }

    /// [`Context::text_file_with`] with at least [`Context::default_min_partitions`]
    /// partitions (Spark's `textFile(path)`).
    ///
    /// # Errors
    /// As [`Context::text_file_with`].
    pub fn text_file(&self, path: impl AsRef<Path>) -> Result<Rdd<Str>> {
        self.text_file_with(path, self.default_min_partitions())
    }

    /// Spark's `defaultMinPartitions`: the smaller of the default parallelism and 2.
    pub fn default_min_partitions(&self) -> usize {
        self.default_parallelism().min(2)
    }

    /// The lines of the files named by `path`, cut into at least `min_partitions`
    /// byte-range splits on line boundaries and streamed, not loaded whole. Lines are
    /// [`Str`]s sharing the read buffer; `\n` and `\r\n` end lines; invalid UTF-8 is
    /// replaced.
    ///
    /// `path` is, as for Hadoop's `FileInputFormat`, a comma-separated list of files,
    /// directories (their files, sorted; names starting with `.` or `_` skipped) and globs
    /// (`*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `{a,b}` in any component, `\` escaping). Files
    /// ending `.gz` (gzip) or `.zst` (Zstandard) are decompressed as they are read; they
    /// cannot be split, so each is one partition.
    ///
    /// # Errors
    /// A path that does not exist or cannot be listed; a glob that matches no file
    /// ([`Error::NoMatch`], Hadoop's "Input Pattern ... matches 0 files").
    pub fn text_file_with(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
    ) -> Result<Rdd<Str>> {
        TextFileRdd::create(self, path.as_ref(), min_partitions, None)
    }

    /// [`Context::text_file`] with a cap on line length: a line of more than
    /// `max_line_bytes` bytes (before its `\n`) is skipped as it is read, never buffered
    /// whole, and counted, per partition, in the returned [`RecordCounter`] (set when a
    /// task reads its partition to the end; a partition read again is counted again, not
    /// added). `text_file_stream` reads its files this way, with
    /// `spate.streaming.maxLineBytes`. Unlike `text_file`, `path` is taken literally (a
    /// file or a directory, no glob or list), since callers pass paths they found.
    ///
    /// # Errors
    /// As [`Context::text_file`].
    pub fn text_file_capped(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
        max_line_bytes: usize,
    ) -> Result<(Rdd<Str>, Arc<RecordCounter>)> {
        TextFileRdd::create_capped(self, path.as_ref(), min_partitions, max_line_bytes)
    }

    /// The concatenation of `rdds` (kept partitioned when they share a partitioner).
    pub fn union<T: Data>(&self, rdds: Vec<Rdd<T>>) -> Rdd<T> {
        UnionRdd::create(self, rdds)
    }

    /// An RDD with no partitions.
    pub fn empty<T: Data>(&self) -> Rdd<T> {
        EmptyRdd::create(self)
    }

    /// Broadcasts `value`: read-only, shipped at most once to each executor.
    ///
    /// # Errors
    /// When the value cannot be encoded.
    pub fn broadcast<T: Data>(&self, value: T) -> Result<Broadcast<T>> {
        let id = self.next_id(IdKind::Broadcast);
        Broadcast::new(id, Some(value), &self.inner.env)
    }

    /// Broadcasts the value `make` returns, running `make` on the driver only (for values
    /// only the driver can load). Every process calls this; executors get the driver's
    /// value when they first read it, and never run `make`.
    pub fn broadcast_with<T: Data>(&self, make: impl FnOnce() -> T) -> Result<Broadcast<T>> {
        let id = self.next_id(IdKind::Broadcast);
        let value = if self.is_driver() { Some(make()) } else { None };
        Broadcast::new(id, value, &self.inner.env)
    }

    /// Registers a custom accumulator starting at `zero`.
    pub fn register_accumulator<A: AccumulatorV2>(
        &self,
        zero: A,
        name: Option<&str>,
    ) -> Accumulator<A> {
        let id = self.next_id(IdKind::Accumulator);
        Accumulator::new(id, name.map(str::to_string), zero, &self.inner.env)
    }

    /// A named `i64` sum.
    pub fn long_accumulator(&self, name: &str) -> LongAccumulator {
        self.register_accumulator(LongSum::default(), Some(name))
    }

    /// A named `f64` sum.
    pub fn double_accumulator(&self, name: &str) -> DoubleAccumulator {
        self.register_accumulator(DoubleSum::default(), Some(name))
    }

    /// A named list of elements.
    pub fn collection_accumulator<T: Data>(&self, name: &str) -> CollectionAccumulator<T> {
        self.register_accumulator(Collection::default(), Some(name))
    }
}

fn uniq_suffix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}-{}", t, std::process::id())
}
