//! Ordered-key operations beyond `sort_by_key`: a repartition that sorts each partition
//! by key as it reads the shuffle, and a key-range filter that skips the partitions of a
//! range-partitioned RDD that cannot hold the range.

use super::sort::sort_partitions;
use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::{Partitioner, PartitionerDesc, Partitioning};
use crate::scheduler::TaskContext;
use crate::shuffle::{Identity, ShuffleMode, ShuffledRdd};
use std::sync::Arc;

/// Some partitions of a parent, renumbered (Spark's `PartitionPruningRDD`).
struct PartitionPruningRdd<T: Data> {
    info: RddInfo,
    parent: Rdd<T>,
    kept: Vec<usize>,
}

impl<T: Data> RddBase for PartitionPruningRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn preferred_location(&self, split: usize) -> Option<String> {
        self.parent.base().preferred_location(self.kept[split])
    }
}

impl<T: Data> RddNode<T> for PartitionPruningRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        self.parent.iterator(self.kept[split], tc)
    }
}

impl<T: Data> Rdd<T> {
    /// Only the parent partitions `kept` (in that order), as partitions 0, 1, ...
    fn prune_partitions(&self, kept: Vec<usize>) -> Rdd<T> {
        let deps = vec![Dependency::Narrow(self.base())];
        let info = RddInfo::new(self.context(), "partition_pruning", kept.len(), &deps);
        Rdd::from_node(Arc::new(PartitionPruningRdd {
            info,
            parent: self.clone(),
            kept,
        }))
    }
}

impl<K: Key + Ord, V: Data> Rdd<(K, V)> {
    /// The pairs moved by the partitioner, each partition sorted by key as it is read
    /// from the shuffle (Spark's `repartitionAndSortWithinPartitions`): cheaper than
    /// `partition_by` and a sort afterwards. Always shuffles, as Spark does.
    pub fn repartition_and_sort_within_partitions(
        &self,
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, V)> {
        let p = super::pair::resolve(partitioning.into(), self.context(), &[self.base()]);
        let shuffled = ShuffledRdd::create(
            "repartition_and_sort_within_partitions",
            self,
            p,
            Arc::new(Identity),
            ShuffleMode::Plain,
        );
        sort_partitions(&shuffled, true)
    }

    /// The pairs with `lower <= key <= upper` (Spark's `filterByRange`). When the RDD is
    /// range-partitioned (by `sort_by_key`), only the partitions that can hold keys in the
    /// range are scanned; otherwise every partition is filtered.
    pub fn filter_by_range(&self, lower: K, upper: K) -> Rdd<(K, V)> {
        let range_partitioner = match self.partitioner() {
            Some(PartitionerDesc::Range { .. }) => self
                .base()
                .partitioner_object()
                .and_then(|o| o.downcast::<Arc<dyn Partitioner<K>>>().ok()),
            _ => None,
        };
        let source = match range_partitioner {
            Some(p) => {
                let (l, u) = (p.partition(&lower), p.partition(&upper));
                self.prune_partitions((l.min(u)..=l.max(u)).collect())
            }
            None => self.clone(),
        };
        source.filter(move |(k, _)| lower <= *k && *k <= upper)
    }
}
