//! RDDs: the lineage graph and the typed [`Rdd`] handle.
//!
//! An RDD node ([`RddNode`]) declares its partitions and dependencies and computes one
//! partition as an iterator. Narrow dependencies are pipelined inside one task; a shuffle
//! dependency is a stage boundary the scheduler cuts at. User operations are methods on
//! [`Rdd`], spread over one file per family: `transformations.rs`, `actions.rs`,
//! `more_actions.rs`, `pair.rs`, `join.rs`, `sort.rs`, `range_ops.rs`, `sampling.rs`,
//! `stratified.rs`, `zip.rs`, `pipe.rs`, `hll.rs`, `grouping.rs`, `local_checkpoint.rs`,
//! `numeric.rs`; inputs in `sources.rs`, `file_inputs.rs`, `whole_files.rs`,
//! `binary_records.rs`, `object_file.rs`.

mod actions;
mod binary_records;
mod block_rdd;
mod checkpoint;
mod counting;
mod file_inputs;
mod glob;
mod grouping;
mod hll;
mod input_paths;
mod join;
mod local_checkpoint;
mod more_actions;
pub(crate) mod nodes;
mod numeric;
mod object_file;
mod pair;
mod part_files;
mod pipe;
mod range_ops;
mod sampling;
mod sort;
mod sources;
mod stratified;
mod transformations;
mod whole_files;
mod zip;

pub use block_rdd::{BlockRdd, LoggedBlock};
pub use counting::RecordCounter;
pub use input_paths::escape_glob;
pub use more_actions::LocalIterator;
pub use numeric::Numeric;
pub use object_file::{OBJECT_FILE_MAGIC, OBJECT_FILE_VERSION};
pub use sources::text_file_splits;
pub(crate) use sources::TextFileRdd;
pub(crate) use sources::{ParallelCollection, RangeRdd};

use crate::context::Context;
use crate::data::Data;
use crate::error::Result;
use crate::partitioner::{stable_hash, PartitionerDesc};
use crate::scheduler::TaskContext;
use crate::shuffle::ShuffleDependencyBase;
use crate::storage::{ArcVecIter, BlockId, StorageLevel};
use checkpoint::CheckpointState;
use parking_lot::Mutex;
use std::fmt::Write as _;
use std::sync::Arc;

/// A boxed iterator over one partition's records.
///
/// Consumers that take every record should call [`PartitionIter::drive`]: it runs the
/// concrete iterator's own `for_each` (internal iteration), so a chain of adaptors inside
/// one node runs as one inlined loop, with one dynamic call per record at the node's edge
/// instead of one `next` call per record per layer.
pub type BoxIter<T> = Box<dyn PartitionIter<T>>;

/// An iterator that can also push all its items into a sink (see [`BoxIter`]).
pub trait PartitionIter<T>: Iterator<Item = T> {
    /// Feeds every remaining item to `sink`.
    fn drive(self: Box<Self>, sink: &mut dyn FnMut(T));
}

impl<T, I: Iterator<Item = T>> PartitionIter<T> for I {
    #[inline]
    fn drive(self: Box<Self>, sink: &mut dyn FnMut(T)) {
        (*self).for_each(sink)
    }
}

/// How an RDD depends on a parent.
#[derive(Clone)]
pub enum Dependency {
    /// Each partition needs a known set of parent partitions, computed in the same task.
    Narrow(Arc<dyn RddBase>),
    /// Each partition needs every parent partition: a stage boundary.
    Shuffle(Arc<dyn ShuffleDependencyBase>),
}

/// What every RDD node shares, whatever its record type.
pub struct RddInfo {
    id: usize,
    op: &'static str,
    num_partitions: usize,
    fingerprint: u64,
    ctx: Context,
    storage: Mutex<Option<StorageLevel>>,
    pub(crate) checkpoint: Mutex<CheckpointState>,
    name: Mutex<Option<String>>,
}

impl RddInfo {
    /// Registers a new node: a fresh deterministic id and a fingerprint of the lineage
    /// (operation, partitions and the parents' fingerprints).
    pub fn new(
        ctx: &Context,
        op: &'static str,
        num_partitions: usize,
        deps: &[Dependency],
    ) -> Self {
        let id = ctx.new_rdd_id();
        let parents: Vec<u64> = deps
            .iter()
            .map(|d| match d {
                Dependency::Narrow(r) => r.info().fingerprint,
                Dependency::Shuffle(s) => s.fingerprint(),
            })
            .collect();
        let fingerprint = stable_hash(&(op, num_partitions, id, parents));
        RddInfo {
            id,
            op,
            num_partitions,
            fingerprint,
            ctx: ctx.clone(),
            storage: Mutex::new(None),
            checkpoint: Mutex::new(CheckpointState::None),
            name: Mutex::new(None),
        }
    }

    /// The RDD's id, the same on every process that builds the same program.
    pub fn id(&self) -> usize {
        self.id
    }
    /// The operation that made it (`map`, `reduce_by_key`, ...).
    pub fn op(&self) -> &'static str {
        self.op
    }
    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.num_partitions
    }
    /// Fingerprint of the lineage up to this node.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
    /// The context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// The storage level, if persisted.
    pub fn storage_level(&self) -> Option<StorageLevel> {
        *self.storage.lock()
    }
    pub(crate) fn is_checkpointed(&self) -> bool {
        matches!(
            *self.checkpoint.lock(),
            CheckpointState::Done { .. } | CheckpointState::LocalDone
        )
    }
}

impl Drop for RddInfo {
    fn drop(&mut self) {
        if self.storage.lock().is_some() {
            let id = self.id;
            self.ctx
                .block_store()
                .remove_where(|b| matches!(b, BlockId::Rdd { rdd, .. } if *rdd == id));
        }
    }
}

/// An RDD node, untyped: what the scheduler needs.
pub trait RddBase: Send + Sync + 'static {
    /// Shared metadata.
    fn info(&self) -> &RddInfo;
    /// The lineage as built (before any checkpoint cut it).
    fn dependencies(&self) -> Vec<Dependency>;
    /// The partitioner of the output, if it is partitioned by key.
    fn partitioner(&self) -> Option<PartitionerDesc> {
        None
    }
    /// The partitioner itself, as an `Arc<dyn Partitioner<K>>` behind `Any`, so a later
    /// operation can reuse a custom or range partitioner, not only a hash one.
    fn partitioner_object(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        None
    }
    /// The executor where partition `split` is best computed (a received block's, in
    /// cluster mode), if any.
    fn preferred_location(&self, _split: usize) -> Option<String> {
        None
    }
}

/// An RDD node of records `T`.
pub trait RddNode<T>: RddBase {
    /// Computes partition `split` from the parents.
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>>;
}

/// The dependencies the scheduler follows: none once the RDD is checkpointed.
pub(crate) fn effective_dependencies(rdd: &dyn RddBase) -> Vec<Dependency> {
    if rdd.info().is_checkpointed() {
        Vec::new()
    } else {
        rdd.dependencies()
    }
}

/// A resilient distributed dataset of records `T`: a cheap, clonable handle to a lineage
/// node. Transformations build new nodes; actions run jobs.
pub struct Rdd<T: Data> {
    pub(crate) node: Arc<dyn RddNode<T>>,
}

impl<T: Data> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Rdd {
            node: self.node.clone(),
        }
    }
}

impl<T: Data> std::fmt::Debug for Rdd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Rdd[{}] {} ({} partitions)",
            self.id(),
            self.info().op(),
            self.num_partitions()
        )
    }
}

impl<T: Data> Rdd<T> {
    /// Wraps a node.
    pub fn from_node(node: Arc<dyn RddNode<T>>) -> Self {
        let base: Arc<dyn RddBase> = node.clone();
        node.info()
            .context()
            .register_rdd(Arc::downgrade(&base), node.info().id());
        Rdd { node }
    }

    pub(crate) fn info(&self) -> &RddInfo {
        self.node.info()
    }

    /// The untyped node.
    pub fn base(&self) -> Arc<dyn RddBase> {
        self.node.clone()
    }

    /// The RDD's id.
    pub fn id(&self) -> usize {
        self.info().id()
    }

    /// The fingerprint of its lineage (operations, partition counts and ids up to here):
    /// what a task carries so an executor can check it built the same graph.
    pub fn fingerprint(&self) -> u64 {
        self.info().fingerprint()
    }

    /// The context it belongs to.
    pub fn context(&self) -> &Context {
        self.info().context()
    }

    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.info().num_partitions()
    }

    /// The partitioner, when the records are pairs partitioned by key.
    pub fn partitioner(&self) -> Option<PartitionerDesc> {
        self.node.partitioner()
    }

    /// Gives the RDD a name, shown in its lineage.
    pub fn set_name(self, name: impl Into<String>) -> Self {
        *self.info().name.lock() = Some(name.into());
        self
    }

    /// The name given with [`Self::set_name`].
    pub fn name(&self) -> Option<String> {
        self.info().name.lock().clone()
    }

    /// Keeps computed partitions in the block store at `level`; an evicted or dropped
    /// partition is recomputed from lineage when needed again.
    pub fn persist(self, level: StorageLevel) -> Self {
        *self.info().storage.lock() = Some(level);
        self
    }

    /// `persist(MEMORY_ONLY)`.
    pub fn cache(self) -> Self {
        self.persist(StorageLevel::MEMORY_ONLY)
    }

    /// Removes the persisted partitions and stops persisting.
    pub fn unpersist(&self) {
        *self.info().storage.lock() = None;
        let id = self.id();
        self.context()
            .block_store()
            .remove_where(|b| matches!(b, BlockId::Rdd { rdd, .. } if *rdd == id));
    }

    /// The storage level, if persisted.
    pub fn storage_level(&self) -> Option<StorageLevel> {
        self.info().storage_level()
    }

    /// The lineage, one node per line, indented at shuffle boundaries (Spark's
    /// `toDebugString`).
    pub fn to_debug_string(&self) -> String {
        let mut out = String::new();
        fn walk(out: &mut String, rdd: &dyn RddBase, depth: usize) {
            let info = rdd.info();
            let _ = writeln!(
                out,
                "{}({}) {}[{}]{}{}",
                "  ".repeat(depth),
                info.num_partitions(),
                info.name
                    .lock()
                    .clone()
                    .unwrap_or_else(|| info.op().to_string()),
                info.id(),
                info.storage_level()
                    .map(|l| format!(" {}", l.name()))
                    .unwrap_or_default(),
                if info.is_checkpointed() {
                    " checkpointed"
                } else {
                    ""
                }
            );
            for d in effective_dependencies(rdd) {
                match d {
                    Dependency::Narrow(p) => walk(out, p.as_ref(), depth),
                    Dependency::Shuffle(s) => walk(out, s.rdd().as_ref(), depth + 1),
                }
            }
        }
        walk(&mut out, self.node.as_ref(), 0);
        out
    }

    /// The records of partition `split`: from a checkpoint, from the block store, or
    /// computed (and stored, when persisted). Nodes call this on their parents.
    pub fn iterator(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        let info = self.info();
        if let Some(it) = checkpoint::read_if_checkpointed::<T>(info, split, tc)? {
            return Ok(it);
        }
        if let Some(level) = info.storage_level() {
            let bs = tc.env().block_store();
            let id = BlockId::Rdd {
                rdd: info.id(),
                split,
            };
            if let Some(v) = bs.get_values::<T>(id)? {
                return Ok(Box::new(ArcVecIter::new(v)));
            }
            let it = crate::scheduler::interruptible(self.node.compute(split, tc)?, tc);
            let v: Arc<Vec<T>> = Arc::new(it.collect());
            if let Some(e) = tc.take_failure() {
                // A partition cut short by an error is not cached.
                return Err(e);
            }
            bs.put_values(id, v.clone(), level)?;
            tc.note_cached(info.id(), split);
            return Ok(Box::new(ArcVecIter::new(v)));
        }
        self.node.compute(split, tc)
    }
}

/// Writers of the RDDs in `rdd`'s lineage that are marked for checkpointing.
pub(crate) fn pending_checkpoints(rdd: &Arc<dyn RddBase>) -> Vec<checkpoint::CheckpointWriter> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![rdd.clone()];
    while let Some(r) = stack.pop() {
        if !seen.insert(r.info().id()) {
            continue;
        }
        if let CheckpointState::Marked(w) = &*r.info().checkpoint.lock() {
            out.push(w.clone());
        }
        for d in effective_dependencies(r.as_ref()) {
            match d {
                Dependency::Narrow(p) => stack.push(p),
                Dependency::Shuffle(s) => stack.push(s.rdd()),
            }
        }
    }
    out
}

pub(crate) use checkpoint::run_pending as run_checkpoint_writers;
