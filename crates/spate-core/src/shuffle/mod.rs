//! Shuffle: hash or range partitioned exchange between stages, with map-side combine,
//! output kept as blocks in the block store and spilled to disk past the memory budget.
//!
//! The map side ([`ShuffleDependency::run_map_task`]) buckets (and, with map-side combine,
//! pre-aggregates) its partition; the reduce side ([`ShuffledRdd`]) reads its bucket from
//! every map output and aggregates with [`ExternalAggregator`], which spills sorted runs
//! when it outgrows its share of `spate.memory.executionBytes`.

mod aggregator;
mod combine_map;
mod reader;
mod shuffled_rdd;
mod sorter;
mod spill;
mod writer;

pub use aggregator::{Combiner, ExternalAggregator, FnCombiner, Identity};
pub use combine_map::CombineMap;
pub(crate) use reader::read_bucket;
pub(crate) use shuffled_rdd::ShuffledRdd;
pub use sorter::ExternalSorter;

use crate::context::Context;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::{stable_hash, Partitioner};
use crate::rdd::{Rdd, RddBase};
use crate::scheduler::{MapStatus, TaskContext};
use crate::storage::BlockId;
use std::marker::PhantomData;
use std::sync::Arc;
use writer::BucketWriter;

/// A shuffle dependency, untyped: what the scheduler needs.
pub trait ShuffleDependencyBase: Send + Sync + 'static {
    /// The shuffle's id.
    fn shuffle_id(&self) -> usize;
    /// The map side's RDD.
    fn rdd(&self) -> Arc<dyn RddBase>;
    /// Number of reduce partitions.
    fn num_reduce_partitions(&self) -> usize;
    /// Fingerprint of the map side's lineage and the partitioner.
    fn fingerprint(&self) -> u64;
    /// Runs the map task for partition `tc.partition()`: computes it, buckets it, stores
    /// the output in the block store.
    fn run_map_task(&self, tc: &TaskContext) -> Result<MapStatus>;
    /// Bucket `bucket` of this process's output of map `map_id`, encoded for a reduce task
    /// in another process (cluster mode).
    fn encode_bucket(&self, env: &crate::env::Env, map_id: usize, bucket: usize)
        -> Result<Vec<u8>>;
}

/// Whether and where a shuffle aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShuffleMode {
    /// Records move as they are (`partition_by`, `sort_by_key`, `repartition`).
    Plain,
    /// Records are aggregated by key on the reduce side, and on the map side too when
    /// `map_side_combine` (`reduce_by_key`, `combine_by_key`; not `group_by_key`).
    Aggregate {
        /// Combine before the shuffle.
        map_side_combine: bool,
    },
}

/// A shuffle of pairs `(K, V)` into combiners `C` by `A`.
pub struct ShuffleDependency<K: Key, V: Data, C: Data, A: Combiner<V, C>> {
    id: usize,
    pub(crate) rdd: Rdd<(K, V)>,
    pub(crate) partitioner: Arc<dyn Partitioner<K>>,
    pub(crate) agg: Arc<A>,
    pub(crate) mode: ShuffleMode,
    ctx: Context,
    fingerprint: u64,
    _c: PhantomData<fn() -> C>,
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> ShuffleDependency<K, V, C, A> {
    pub(crate) fn new(
        rdd: &Rdd<(K, V)>,
        partitioner: Arc<dyn Partitioner<K>>,
        agg: Arc<A>,
        mode: ShuffleMode,
    ) -> Self {
        let ctx = rdd.context().clone();
        let id = ctx.new_shuffle_id();
        let fingerprint = stable_hash(&(
            "shuffle",
            id,
            rdd.base().info().fingerprint(),
            format!("{:?}", partitioner.desc()),
        ));
        ShuffleDependency {
            id,
            rdd: rdd.clone(),
            partitioner,
            agg,
            mode,
            ctx,
            fingerprint,
            _c: PhantomData,
        }
    }
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> ShuffleDependency<K, V, C, A> {
    /// Records the dependency under its id, for map tasks to resolve.
    pub(crate) fn register(self: &Arc<Self>) {
        let base: Arc<dyn ShuffleDependencyBase> = self.clone();
        self.ctx
            .env()
            .register_shuffle(self.id, Arc::downgrade(&base));
    }
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> Drop for ShuffleDependency<K, V, C, A> {
    fn drop(&mut self) {
        let id = self.id;
        self.ctx
            .block_store()
            .remove_where(|b| matches!(b, BlockId::Shuffle { shuffle, .. } if *shuffle == id));
        self.ctx.scheduler().unregister_shuffle(id);
    }
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> ShuffleDependencyBase
    for ShuffleDependency<K, V, C, A>
{
    fn shuffle_id(&self) -> usize {
        self.id
    }
    fn rdd(&self) -> Arc<dyn RddBase> {
        self.rdd.base()
    }
    fn num_reduce_partitions(&self) -> usize {
        self.partitioner.num_partitions()
    }
    fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn encode_bucket(
        &self,
        env: &crate::env::Env,
        map_id: usize,
        bucket: usize,
    ) -> Result<Vec<u8>> {
        // What the map side wrote: combiners when it combined, the pairs otherwise (as
        // the reduce side reads them).
        match self.mode {
            ShuffleMode::Aggregate {
                map_side_combine: true,
            } => reader::encode_local_bucket::<(K, C)>(env, self.id, map_id, bucket),
            _ => reader::encode_local_bucket::<(K, V)>(env, self.id, map_id, bucket),
        }
    }

    fn run_map_task(&self, tc: &TaskContext) -> Result<MapStatus> {
        let map_id = tc.partition();
        let env = tc.env();
        let budget = env.task_memory_budget();
        let n = self.partitioner.num_partitions();
        let iter = self.rdd.iterator(map_id, tc)?;
        // A cancelled job's map task stops within 1,024 records (see `KillCheck`).
        let mut kill = crate::scheduler::KillCheck::new(tc);
        let p = &*self.partitioner;
        match self.mode {
            ShuffleMode::Aggregate {
                map_side_combine: true,
            } => {
                let mut w: BucketWriter<(K, C)> = BucketWriter::new(n);
                let mut map: CombineMap<K, C> = CombineMap::new();
                let agg = &*self.agg;
                let mut entry_bytes = 0usize;
                let mut next_check = 1024usize;
                let mut spill_err = None;
                iter.drive(&mut |(k, v)| {
                    kill.tick();
                    map.upsert(k, v, |v| agg.create(v), |c, v| agg.merge_value(c, v));
                    if map.len() >= next_check {
                        next_check = map.len() * 2;
                        if entry_bytes == 0 {
                            entry_bytes = aggregator::entry_size(&map);
                        }
                        if map.len() * entry_bytes > budget && spill_err.is_none() {
                            for (k, c) in map.drain() {
                                w.push(p.partition(&k), (k, c));
                            }
                            if let Err(e) = w.spill(env.block_store()) {
                                spill_err = Some(e);
                            }
                            next_check = 1024;
                        }
                    }
                });
                if let Some(e) = spill_err.or_else(|| tc.take_failure()) {
                    return Err(e);
                }
                for (k, c) in map.into_entries() {
                    w.push(p.partition(&k), (k, c));
                }
                w.finish(env, self.id, map_id)
            }
            _ => {
                let mut w: BucketWriter<(K, V)> = BucketWriter::new(n);
                let mut spill_err = None;
                iter.drive(&mut |(k, v)| {
                    kill.tick();
                    w.push(p.partition(&k), (k, v));
                    if w.count() % 4096 == 0 && w.estimated_bytes() > budget && spill_err.is_none()
                    {
                        if let Err(e) = w.spill(env.block_store()) {
                            spill_err = Some(e);
                        }
                    }
                });
                if let Some(e) = spill_err.or_else(|| tc.take_failure()) {
                    return Err(e);
                }
                w.finish(env, self.id, map_id)
            }
        }
    }
}
