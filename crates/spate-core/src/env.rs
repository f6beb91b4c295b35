//! The executor environment (Spark's `SparkEnv`, one per context, not global): what RDD
//! computation and the shuffle see, through the [`TaskContext`], on whichever process runs
//! a task.
//!
//! - the block store (cached partitions, shuffle output, received blocks, broadcasts);
//! - the map-output tracker: where each shuffle map output lives;
//! - the shuffle-fetch interface ([`ShuffleFetch`]): the local implementation reads this
//!   process's block store; a remote one will read other executors';
//! - the broadcast manager and the accumulator registry;
//! - the checkpoint store and the memory budgets;
//! - the registries that resolve a task description's ids to this process's replica of
//!   the program: RDDs, shuffle dependencies and the result functions of running jobs,
//!   all filled in program order.
//!
//! [`TaskContext`]: crate::TaskContext

use crate::checkpoint_store::CheckpointStore;
use crate::error::{Error, Result};
use crate::rdd::RddBase;
use crate::scheduler::{MapOutputTracker, MapStatus, TaskContext};
use crate::shuffle::ShuffleDependencyBase;
use crate::storage::{BlockId, BlockStore};
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

/// What this process is, decided from the master and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The driver: decides batches, schedules tasks, runs output operations. In local
    /// mode the one process is the driver and runs the tasks too.
    Driver,
    /// An executor of a cluster application, with its id.
    Executor {
        /// The executor id the driver gave it.
        id: String,
    },
}

/// The environment variable that makes a process an executor (set by the driver when it
/// starts executors; the cluster mode reads it).
pub const EXECUTOR_ID_VAR: &str = "SPATE_EXECUTOR_ID";

impl Role {
    /// The role of this process: an executor when [`EXECUTOR_ID_VAR`] is set, else the
    /// driver.
    pub fn from_environment() -> Role {
        Self::from_executor_var(std::env::var(EXECUTOR_ID_VAR).ok().as_deref())
    }

    /// The role given the value of [`EXECUTOR_ID_VAR`], if set.
    pub fn from_executor_var(value: Option<&str>) -> Role {
        match value.map(str::trim) {
            Some(id) if !id.is_empty() => Role::Executor { id: id.to_string() },
            _ => Role::Driver,
        }
    }

    /// Whether this is the driver.
    pub fn is_driver(&self) -> bool {
        matches!(self, Role::Driver)
    }

    /// The executor id: `driver` for the driver (as in Spark's local mode).
    pub fn executor_id(&self) -> &str {
        match self {
            Role::Driver => "driver",
            Role::Executor { id } => id,
        }
    }
}

/// A map output as a fetch returns it.
pub enum FetchedOutput {
    /// Output in this process: the typed map output itself.
    Local(Arc<dyn Any + Send + Sync>),
    /// One bucket's records from another process, in spate's binary format (a
    /// `Vec<record>`).
    Remote(Vec<u8>),
}

/// How a reduce task gets one map output's bucket. Errors, never panics: a missing or
/// unreadable output is [`Error::FetchFailed`], which makes the scheduler recompute it.
pub trait ShuffleFetch: Send + Sync {
    /// Bucket `bucket` of map `map_id` of `shuffle_id`, which `status` says where to find.
    fn fetch(
        &self,
        shuffle_id: usize,
        map_id: usize,
        bucket: usize,
        status: &MapStatus,
    ) -> Result<FetchedOutput>;

    /// Block `id` of executor `executor`'s block store, stored there serialized (a
    /// received block: an encoded `Vec<record>`). This process has no remote fetch by
    /// default: [`Error::Task`] naming the block.
    fn fetch_block(&self, executor: &str, id: BlockId) -> Result<Vec<u8>> {
        Err(Error::Task(format!(
            "block {id:?} is in executor {executor}'s block store and this process cannot fetch from other executors"
        )))
    }
}

/// The local shuffle fetch: outputs of this process's executor, from its block store.
pub struct LocalShuffleFetch {
    executor_id: String,
    block_store: Arc<BlockStore>,
}

impl ShuffleFetch for LocalShuffleFetch {
    fn fetch(
        &self,
        shuffle_id: usize,
        map_id: usize,
        _bucket: usize,
        status: &MapStatus,
    ) -> Result<FetchedOutput> {
        if status.executor_id != self.executor_id {
            tracing::warn!(
                shuffle_id,
                map_id,
                location = %status.executor_id,
                "map output lives on another executor and this process has no remote fetch"
            );
            return Err(Error::FetchFailed { shuffle_id, map_id });
        }
        self.block_store
            .get_pinned(BlockId::Shuffle {
                shuffle: shuffle_id,
                map: map_id,
            })
            .map(FetchedOutput::Local)
            .ok_or(Error::FetchFailed { shuffle_id, map_id })
    }
}

/// The function a job applies to each of its partitions, resolved by job id: computes the
/// task's partition and encodes the result in spate's binary format.
pub(crate) trait ResultFn: Send + Sync {
    fn run(&self, tc: &TaskContext) -> Result<Vec<u8>>;
}

/// A broadcast value as its manager sees it: the encoded driver value, if this process
/// has it.
pub(crate) trait BroadcastSource: Send + Sync {
    fn driver_bytes(&self) -> Result<Arc<Vec<u8>>>;
}

/// An accumulator as the registry sees it: merges a task's encoded partial value.
pub(crate) trait AccumulatorSlot: Send + Sync {
    fn merge_bytes(&self, bytes: &[u8]) -> Result<()>;
    /// The name given at registration.
    fn name(&self) -> Option<&str>;
    /// The merged value, encoded.
    fn value_bytes(&self) -> Result<Vec<u8>>;
    /// The merged value as people read it ([`crate::AccumulatorV2::describe`]).
    fn describe(&self) -> Option<String>;
    /// Sets the merged value to an encoded one ([`Self::value_bytes`] of an earlier run).
    fn restore_bytes(&self, bytes: &[u8]) -> Result<()>;
}

/// Registries by id, filled in program order; entries of dropped objects are weak.
struct Registries {
    rdds: Mutex<HashMap<usize, Weak<dyn RddBase>>>,
    shuffles: Mutex<HashMap<usize, Weak<dyn ShuffleDependencyBase>>>,
    jobs: Mutex<HashMap<usize, Arc<dyn ResultFn>>>,
    broadcasts: Mutex<HashMap<usize, Weak<dyn BroadcastSource>>>,
    /// Bytes of broadcast values fetched from the driver (executor processes).
    broadcast_bytes_fetched: std::sync::atomic::AtomicU64,
    accumulators: Mutex<HashMap<usize, Weak<dyn AccumulatorSlot>>>,
}

/// The executor environment of one context (see the module docs).
pub struct Env {
    role: Role,
    block_store: Arc<BlockStore>,
    map_outputs: MapOutputTracker,
    shuffle_fetch: Mutex<Arc<dyn ShuffleFetch>>,
    checkpoint: Mutex<Option<Arc<dyn CheckpointStore>>>,
    /// The cluster link, in cluster mode.
    cluster: Mutex<Option<Arc<dyn crate::cluster::ClusterLink>>>,
    execution_bytes: usize,
    task_slots: usize,
    registries: Registries,
    /// The kill flags of running (and lately cancelled) jobs, which tasks watch.
    kill_flags: crate::scheduler::KillFlags,
    local_dir: PathBuf,
    /// The scratch directory's entry in the registry the signal handler cleans up.
    _scratch: crate::scratch::Registration,
}

impl Drop for Env {
    fn drop(&mut self) {
        // The scratch directory (spilled blocks, shuffle files) goes with the environment
        // at the latest (`Context::stop` removes it earlier).
        self.block_store.close_dir();
    }
}

impl Env {
    pub(crate) fn new(
        role: Role,
        storage_bytes: u64,
        execution_bytes: usize,
        task_slots: usize,
        local_dir: PathBuf,
    ) -> Env {
        let block_store = Arc::new(BlockStore::new(storage_bytes, local_dir.clone()));
        let shuffle_fetch = Arc::new(LocalShuffleFetch {
            executor_id: role.executor_id().to_string(),
            block_store: block_store.clone(),
        });
        Env {
            role,
            block_store,
            map_outputs: MapOutputTracker::default(),
            shuffle_fetch: Mutex::new(shuffle_fetch),
            checkpoint: Mutex::new(None),
            cluster: Mutex::new(None),
            execution_bytes,
            task_slots: task_slots.max(1),
            registries: Registries {
                rdds: Mutex::new(HashMap::new()),
                shuffles: Mutex::new(HashMap::new()),
                jobs: Mutex::new(HashMap::new()),
                broadcasts: Mutex::new(HashMap::new()),
                broadcast_bytes_fetched: Default::default(),
                accumulators: Mutex::new(HashMap::new()),
            },
            kill_flags: Default::default(),
            _scratch: crate::scratch::register(&local_dir),
            local_dir,
        }
    }

    /// Removes the scratch directory for good (at [`crate::Context::stop`]): spilled
    /// blocks and shuffle files are gone, and later writes fail with
    /// [`Error::Stopped`] instead of creating it again.
    pub(crate) fn remove_scratch_dir(&self) {
        self.block_store.close_dir();
    }

    /// This process's role.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The id of this process's executor (`driver` in local mode).
    pub fn executor_id(&self) -> &str {
        self.role.executor_id()
    }

    /// The block store.
    pub fn block_store(&self) -> &Arc<BlockStore> {
        &self.block_store
    }

    /// Where each shuffle map output lives.
    pub fn map_output_tracker(&self) -> &MapOutputTracker {
        &self.map_outputs
    }

    /// How reduce tasks read map outputs.
    pub fn shuffle_fetch(&self) -> Arc<dyn ShuffleFetch> {
        self.shuffle_fetch.lock().clone()
    }

    /// Replaces how reduce tasks get map outputs (cluster mode: from other executors too).
    pub fn set_shuffle_fetch(&self, fetch: Arc<dyn ShuffleFetch>) {
        *self.shuffle_fetch.lock() = fetch;
    }

    /// The local shuffle fetch of this process (its own block store), for a remote fetch
    /// to fall back on for its own outputs.
    pub fn local_shuffle_fetch(&self) -> Arc<dyn ShuffleFetch> {
        Arc::new(LocalShuffleFetch {
            executor_id: self.executor_id().to_string(),
            block_store: self.block_store().clone(),
        })
    }

    /// Sets the cluster link (cluster mode).
    pub(crate) fn set_cluster_link(&self, link: Arc<dyn crate::cluster::ClusterLink>) {
        *self.cluster.lock() = Some(link);
    }

    /// The cluster link, in cluster mode.
    pub fn cluster_link(&self) -> Option<Arc<dyn crate::cluster::ClusterLink>> {
        self.cluster.lock().clone()
    }

    /// The checkpoint store, if one was set.
    pub fn checkpoint_store(&self) -> Option<Arc<dyn CheckpointStore>> {
        self.checkpoint.lock().clone()
    }

    pub(crate) fn set_checkpoint_store(&self, store: Arc<dyn CheckpointStore>) {
        *self.checkpoint.lock() = Some(store);
    }

    /// One task's share of `spate.memory.executionBytes`.
    pub fn task_memory_budget(&self) -> usize {
        (self.execution_bytes / self.task_slots).max(1)
    }

    /// The scratch directory of this process's context.
    pub fn local_dir(&self) -> &std::path::Path {
        &self.local_dir
    }

    // ---- registries ----

    pub(crate) fn register_rdd(&self, id: usize, node: Weak<dyn RddBase>) {
        let mut m = self.registries.rdds.lock();
        if m.len() >= 256 && m.len().is_power_of_two() {
            m.retain(|_, w| w.strong_count() > 0);
        }
        m.insert(id, node);
    }

    /// The RDD of this process with `id`.
    ///
    /// # Errors
    /// [`Error::Unresolved`] naming the id when this process has no such RDD.
    pub fn resolve_rdd(&self, id: usize) -> Result<Arc<dyn RddBase>> {
        self.registries
            .rdds
            .lock()
            .get(&id)
            .and_then(Weak::upgrade)
            .ok_or(Error::Unresolved { kind: "rdd", id })
    }

    pub(crate) fn register_shuffle(&self, id: usize, dep: Weak<dyn ShuffleDependencyBase>) {
        let mut m = self.registries.shuffles.lock();
        if m.len() >= 64 && m.len().is_power_of_two() {
            m.retain(|_, w| w.strong_count() > 0);
        }
        m.insert(id, dep);
    }

    pub(crate) fn unregister_shuffle(&self, id: usize) {
        let mut m = self.registries.shuffles.lock();
        if m.get(&id).is_some_and(|w| w.strong_count() == 0) {
            m.remove(&id);
        }
    }

    /// The shuffle dependency of this process with `id`.
    ///
    /// # Errors
    /// [`Error::Unresolved`] naming the id when this process has no such shuffle.
    pub fn resolve_shuffle(&self, id: usize) -> Result<Arc<dyn ShuffleDependencyBase>> {
        self.registries
            .shuffles
            .lock()
            .get(&id)
            .and_then(Weak::upgrade)
            .ok_or(Error::Unresolved {
                kind: "shuffle",
                id,
            })
    }

    /// Registers a running job's function under its id.
    ///
    /// # Errors
    /// When a job with the same id is running: two jobs were started in one id scope at
    /// once, and their tasks could not be told apart.
    pub(crate) fn register_job(&self, id: usize, f: Arc<dyn ResultFn>) -> Result<()> {
        match self.registries.jobs.lock().entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => Err(Error::InvalidArgument {
                op: "run_job",
                reason: format!(
                    "job id {id} is already running: two jobs were started at once in the same \
                     id scope (see spate_core::ids)"
                ),
            }),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(f);
                Ok(())
            }
        }
    }

    /// The kill flags of this process's jobs.
    pub(crate) fn kill_flags(&self) -> &crate::scheduler::KillFlags {
        &self.kill_flags
    }

    pub(crate) fn unregister_job(&self, id: usize) {
        self.registries.jobs.lock().remove(&id);
    }

    pub(crate) fn resolve_job(&self, id: usize) -> Result<Arc<dyn ResultFn>> {
        self.registries
            .jobs
            .lock()
            .get(&id)
            .cloned()
            .ok_or(Error::Unresolved { kind: "job", id })
    }

    pub(crate) fn register_broadcast(&self, id: usize, b: Weak<dyn BroadcastSource>) {
        let mut m = self.registries.broadcasts.lock();
        m.retain(|_, w| w.strong_count() > 0);
        m.insert(id, b);
    }

    /// The encoded driver value of broadcast `id`: what an executor fetches once and
    /// caches. (Local: from this process's registry; remote: from the driver.)
    pub(crate) fn fetch_broadcast(&self, id: usize) -> Result<Arc<Vec<u8>>> {
        match self.broadcast_bytes(id) {
            // Made on the driver only: an executor process asks the driver, once.
            Err(Error::BroadcastOnDriver(_)) if !self.role.is_driver() => {
                let link = self.cluster_link().ok_or(Error::BroadcastOnDriver(id))?;
                let bytes = link.fetch_broadcast(id)?;
                self.registries
                    .broadcast_bytes_fetched
                    .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                Ok(Arc::new(bytes))
            }
            other => other,
        }
    }

    /// Bytes of broadcast values this executor process fetched from its driver.
    pub fn broadcast_bytes_fetched(&self) -> u64 {
        self.registries
            .broadcast_bytes_fetched
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The encoding of broadcast `id` as this process made it (the driver's answer to an
    /// executor's fetch).
    pub fn broadcast_bytes(&self, id: usize) -> Result<Arc<Vec<u8>>> {
        let source = self
            .registries
            .broadcasts
            .lock()
            .get(&id)
            .and_then(Weak::upgrade)
            .ok_or(Error::Unresolved {
                kind: "broadcast",
                id,
            })?;
        source.driver_bytes()
    }

    pub(crate) fn register_accumulator(&self, id: usize, a: Weak<dyn AccumulatorSlot>) {
        let mut m = self.registries.accumulators.lock();
        if m.len() >= 64 && m.len().is_power_of_two() {
            m.retain(|_, w| w.strong_count() > 0);
        }
        m.insert(id, a);
    }

    fn live_accumulators(&self) -> Vec<Arc<dyn AccumulatorSlot>> {
        self.registries
            .accumulators
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// The live named accumulators: `(id, name, value as described)`, by id (the web
    /// UI's accumulators page).
    pub fn named_accumulators(&self) -> Vec<(usize, String, Option<String>)> {
        let slots: Vec<(usize, Arc<dyn AccumulatorSlot>)> = self
            .registries
            .accumulators
            .lock()
            .iter()
            .filter_map(|(id, w)| Some((*id, w.upgrade()?)))
            .collect();
        let mut out: Vec<_> = slots
            .into_iter()
            .filter_map(|(id, s)| Some((id, s.name()?.to_string(), s.describe())))
            .collect();
        out.sort_by_key(|(id, _, _)| *id);
        out
    }

    /// The values of the live named accumulators, encoded, by name: what a streaming
    /// metadata checkpoint keeps, so a recovered run's counters go on from where they were.
    pub fn named_accumulator_values(&self) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
        let mut out = std::collections::BTreeMap::new();
        for s in self.live_accumulators() {
            if let Some(n) = s.name() {
                out.insert(n.to_string(), s.value_bytes()?);
            }
        }
        Ok(out)
    }

    /// Gives each live named accumulator the value `values` has for its name (from
    /// [`Self::named_accumulator_values`] of an earlier run); returns the names restored.
    ///
    /// # Errors
    /// A value that does not decode as its accumulator's type (naming it).
    pub fn restore_named_accumulators(
        &self,
        values: &std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<Vec<String>> {
        let mut restored = Vec::new();
        for s in self.live_accumulators() {
            let Some(name) = s.name() else { continue };
            if let Some(v) = values.get(name) {
                s.restore_bytes(v)?;
                restored.push(name.to_string());
            }
        }
        restored.sort();
        Ok(restored)
    }

    /// Merges a task's encoded update into accumulator `id` (on the driver).
    pub(crate) fn merge_accumulator(&self, id: usize, bytes: &[u8]) -> Result<()> {
        let slot = self
            .registries
            .accumulators
            .lock()
            .get(&id)
            .and_then(Weak::upgrade)
            .ok_or(Error::Unresolved {
                kind: "accumulator",
                id,
            })?;
        slot.merge_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, SpateConf};

    #[test]
    fn roles_decide_is_driver_executor_id_and_broadcast_with() {
        let driver = Context::with_role(SpateConf::new(), Role::Driver).unwrap();
        assert!(driver.is_driver());
        assert_eq!(driver.executor_id(), "driver");
        let mut ran = false;
        let b = driver
            .broadcast_with(|| {
                ran = true;
                41
            })
            .unwrap();
        assert!(ran, "the driver makes the value");
        assert_eq!(*b.value(), 41);

        let exec = Context::with_role(
            SpateConf::new(),
            Role::Executor {
                id: "exec-3".into(),
            },
        )
        .unwrap();
        assert!(!exec.is_driver());
        assert_eq!(exec.executor_id(), "exec-3");
        assert_eq!(exec.env().executor_id(), "exec-3");
        let mut ran = false;
        let b = exec
            .broadcast_with(|| {
                ran = true;
                41
            })
            .unwrap();
        assert!(!ran, "an executor never runs the driver's closure");
        // With no driver to fetch from, reading it is an error, not a made-up value.
        let e = b.try_value().unwrap_err().to_string();
        assert!(e.contains("on the driver"), "{e}");
        // Map outputs carry the executor that holds them.
        let sums = exec
            .parallelize_with(vec![(1, 1), (1, 2), (2, 3)], 2)
            .reduce_by_key(|a, b| a + b);
        let mut got = sums.collect().unwrap();
        got.sort();
        assert_eq!(got, vec![(1, 3), (2, 3)]);
        let shuffle_ids: Vec<usize> = exec
            .env()
            .registries
            .shuffles
            .lock()
            .keys()
            .copied()
            .collect();
        let status = exec
            .env()
            .map_output_tracker()
            .status(shuffle_ids[0], 0)
            .unwrap();
        assert_eq!(status.executor_id, "exec-3");
    }

    #[test]
    fn role_from_the_executor_variable() {
        assert_eq!(
            Role::from_executor_var(Some(" exec-9 ")),
            Role::Executor {
                id: "exec-9".into()
            }
        );
        assert_eq!(Role::from_executor_var(Some("")), Role::Driver);
        assert_eq!(Role::from_executor_var(None), Role::Driver);
    }
}
