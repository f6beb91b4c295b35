//! [`ShuffledRdd`]: the reduce side of a shuffle.

use super::{read_bucket, Combiner, ExternalAggregator, ShuffleDependency, ShuffleMode};
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::{Partitioner, PartitionerDesc};
use crate::rdd::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::scheduler::TaskContext;
use std::sync::Arc;

/// The output of a shuffle: partition r holds every record whose key the partitioner puts
/// in r, aggregated by key when the shuffle aggregates.
pub(crate) struct ShuffledRdd<K: Key, V: Data, C: Data, A: Combiner<V, C>> {
    info: RddInfo,
    dep: Arc<ShuffleDependency<K, V, C, A>>,
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> ShuffledRdd<K, V, C, A> {
    pub(crate) fn create(
        op: &'static str,
        parent: &Rdd<(K, V)>,
        partitioner: Arc<dyn Partitioner<K>>,
        agg: Arc<A>,
        mode: ShuffleMode,
    ) -> Rdd<(K, C)> {
        let dep = Arc::new(ShuffleDependency::new(parent, partitioner, agg, mode));
        dep.register();
        let deps = vec![Dependency::Shuffle(dep.clone())];
        let info = RddInfo::new(
            parent.context(),
            op,
            dep.partitioner.num_partitions(),
            &deps,
        );
        Rdd::from_node(Arc::new(ShuffledRdd { info, dep }))
    }
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> RddBase for ShuffledRdd<K, V, C, A> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Shuffle(self.dep.clone())]
    }
    fn partitioner(&self) -> Option<PartitionerDesc> {
        Some(self.dep.partitioner.desc())
    }
    fn partitioner_object(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(Arc::new(self.dep.partitioner.clone()))
    }
}

impl<K: Key, V: Data, C: Data, A: Combiner<V, C>> RddNode<(K, C)> for ShuffledRdd<K, V, C, A> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<(K, C)>> {
        use super::ShuffleDependencyBase;
        let env = tc.env();
        let dep = &self.dep;
        let num_maps = dep.rdd.num_partitions();
        let id = dep.shuffle_id();
        match dep.mode {
            ShuffleMode::Plain => {
                let agg = dep.agg.clone();
                let it = read_bucket::<(K, V)>(env, id, num_maps, split)?;
                Ok(Box::new(it.map(move |(k, v)| (k, agg.create(v)))))
            }
            ShuffleMode::Aggregate {
                map_side_combine: true,
            } => aggregate(
                read_bucket::<(K, C)>(env, id, num_maps, split)?,
                ExternalAggregator::<K, V, C, A>::new(
                    dep.agg.clone(),
                    env.task_memory_budget(),
                    env.block_store().clone(),
                ),
                ExternalAggregator::insert_combiner,
            ),
            ShuffleMode::Aggregate {
                map_side_combine: false,
            } => aggregate(
                read_bucket::<(K, V)>(env, id, num_maps, split)?,
                ExternalAggregator::<K, V, C, A>::new(
                    dep.agg.clone(),
                    env.task_memory_budget(),
                    env.block_store().clone(),
                ),
                ExternalAggregator::insert_value,
            ),
        }
    }
}

/// Feeds every record of `input` to `ea` with `insert` and returns the combined records.
fn aggregate<K: Key, V: Data, C: Data, A: Combiner<V, C>, M, F>(
    input: BoxIter<(K, M)>,
    mut ea: ExternalAggregator<K, V, C, A>,
    insert: F,
) -> Result<BoxIter<(K, C)>>
where
    F: Fn(&mut ExternalAggregator<K, V, C, A>, K, M) -> Result<()>,
{
    let mut err = None;
    input.drive(&mut |(k, m)| {
        if let Err(e) = insert(&mut ea, k, m) {
            err.get_or_insert(e);
        }
    });
    match err {
        Some(e) => Err(e),
        None => ea.finish(),
    }
}
