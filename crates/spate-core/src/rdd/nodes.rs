//! Narrow RDD nodes: pipelined transformations, union, coalesce, cartesian, empty.

use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::partitioner::PartitionerDesc;
use crate::scheduler::TaskContext;
use std::sync::Arc;

/// The function of a [`MapPartitionsRdd`]: the task (its partition, its environment) and
/// the parent iterator in, output iterator out.
pub(crate) type PartitionFn<T, U> = dyn Fn(&TaskContext, BoxIter<T>) -> BoxIter<U> + Send + Sync;

/// A narrow transformation of each partition (`map`, `filter`, `flat_map`,
/// `map_partitions`, ...), pipelined with its parent inside one task.
pub(crate) struct MapPartitionsRdd<T: Data, U: Data> {
    info: RddInfo,
    parent: Rdd<T>,
    f: Arc<PartitionFn<T, U>>,
    preserves_partitioning: bool,
}

impl<T: Data, U: Data> MapPartitionsRdd<T, U> {
    pub(crate) fn create(
        parent: &Rdd<T>,
        op: &'static str,
        preserves_partitioning: bool,
        f: Arc<PartitionFn<T, U>>,
    ) -> Rdd<U> {
        let deps = vec![Dependency::Narrow(parent.base())];
        let info = RddInfo::new(parent.context(), op, parent.num_partitions(), &deps);
        Rdd::from_node(Arc::new(MapPartitionsRdd {
            info,
            parent: parent.clone(),
            f,
            preserves_partitioning,
        }))
    }
}

impl<T: Data, U: Data> RddBase for MapPartitionsRdd<T, U> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn partitioner(&self) -> Option<PartitionerDesc> {
        if self.preserves_partitioning {
            self.parent.partitioner()
        } else {
            None
        }
    }
    fn partitioner_object(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        if self.preserves_partitioning {
            self.parent.base().partitioner_object()
        } else {
            None
        }
    }
}

impl<T: Data, U: Data> RddNode<U> for MapPartitionsRdd<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<U>> {
        let it = self.parent.iterator(split, tc)?;
        Ok((self.f)(tc, it))
    }
}

/// Concatenation of RDDs: partition i is partition j of one parent.
pub(crate) struct UnionRdd<T: Data> {
    info: RddInfo,
    parents: Vec<Rdd<T>>,
    /// (parent index, parent partition) for each output partition.
    map: Vec<(usize, usize)>,
}

impl<T: Data> UnionRdd<T> {
    pub(crate) fn create(ctx: &Context, parents: Vec<Rdd<T>>) -> Rdd<T> {
        // Spark's PartitionerAwareUnionRDD: parents partitioned alike stay partitioned.
        if parents.len() > 1 {
            if let Some(p) = parents[0].partitioner() {
                if parents.iter().all(|r| r.partitioner().as_ref() == Some(&p)) {
                    return PartitionerAwareUnionRdd::create(ctx, parents, p);
                }
            }
        }
        let deps: Vec<Dependency> = parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect();
        let map: Vec<(usize, usize)> = parents
            .iter()
            .enumerate()
            .flat_map(|(i, p)| (0..p.num_partitions()).map(move |s| (i, s)))
            .collect();
        let info = RddInfo::new(ctx, "union", map.len(), &deps);
        Rdd::from_node(Arc::new(UnionRdd { info, parents, map }))
    }
}

impl<T: Data> RddBase for UnionRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect()
    }
}

impl<T: Data> RddNode<T> for UnionRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        let (p, s) = self.map[split];
        self.parents[p].iterator(s, tc)
    }
}

/// Union of RDDs that share a partitioner: partition i concatenates every parent's
/// partition i, and the result keeps the partitioner (no shuffle for a later cogroup).
pub(crate) struct PartitionerAwareUnionRdd<T: Data> {
    info: RddInfo,
    parents: Vec<Rdd<T>>,
    partitioner: PartitionerDesc,
}

impl<T: Data> PartitionerAwareUnionRdd<T> {
    fn create(ctx: &Context, parents: Vec<Rdd<T>>, partitioner: PartitionerDesc) -> Rdd<T> {
        let deps: Vec<Dependency> = parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect();
        let info = RddInfo::new(ctx, "union", partitioner.num_partitions(), &deps);
        Rdd::from_node(Arc::new(PartitionerAwareUnionRdd {
            info,
            parents,
            partitioner,
        }))
    }
}

impl<T: Data> RddBase for PartitionerAwareUnionRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect()
    }
    fn partitioner(&self) -> Option<PartitionerDesc> {
        Some(self.partitioner.clone())
    }
    fn partitioner_object(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        self.parents[0].base().partitioner_object()
    }
}

impl<T: Data> RddNode<T> for PartitionerAwareUnionRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        let mut its = Vec::with_capacity(self.parents.len());
        for p in &self.parents {
            its.push(p.iterator(split, tc)?);
        }
        Ok(Box::new(its.into_iter().flatten()))
    }
}

/// Fewer partitions without a shuffle: output partition i concatenates a contiguous range
/// of parent partitions.
pub(crate) struct CoalescedRdd<T: Data> {
    info: RddInfo,
    parent: Rdd<T>,
    groups: Vec<std::ops::Range<usize>>,
}

impl<T: Data> CoalescedRdd<T> {
    pub(crate) fn create(parent: &Rdd<T>, partitions: usize) -> Rdd<T> {
        let n = parent.num_partitions();
        let p = partitions.max(1).min(n.max(1));
        let groups: Vec<_> = (0..p).map(|i| (i * n / p)..((i + 1) * n / p)).collect();
        let deps = vec![Dependency::Narrow(parent.base())];
        let info = RddInfo::new(parent.context(), "coalesce", groups.len(), &deps);
        Rdd::from_node(Arc::new(CoalescedRdd {
            info,
            parent: parent.clone(),
            groups,
        }))
    }
}

impl<T: Data> RddBase for CoalescedRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
}

impl<T: Data> RddNode<T> for CoalescedRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        let mut its = Vec::new();
        for s in self.groups[split].clone() {
            its.push(self.parent.iterator(s, tc)?);
        }
        Ok(Box::new(its.into_iter().flatten()))
    }
}

/// Every pair of records of two RDDs: partition (i, j) pairs partition i of the first
/// with partition j of the second.
pub(crate) struct CartesianRdd<T: Data, U: Data> {
    info: RddInfo,
    a: Rdd<T>,
    b: Rdd<U>,
}

impl<T: Data, U: Data> CartesianRdd<T, U> {
    pub(crate) fn create(a: &Rdd<T>, b: &Rdd<U>) -> Rdd<(T, U)> {
        let deps = vec![Dependency::Narrow(a.base()), Dependency::Narrow(b.base())];
        let n = a.num_partitions() * b.num_partitions();
        let info = RddInfo::new(a.context(), "cartesian", n, &deps);
        Rdd::from_node(Arc::new(CartesianRdd {
            info,
            a: a.clone(),
            b: b.clone(),
        }))
    }
}

impl<T: Data, U: Data> RddBase for CartesianRdd<T, U> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.a.base()),
            Dependency::Narrow(self.b.base()),
        ]
    }
}

impl<T: Data, U: Data> RddNode<(T, U)> for CartesianRdd<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<(T, U)>> {
        let nb = self.b.num_partitions();
        let left = self.a.iterator(split / nb, tc)?;
        let right: Arc<Vec<U>> = Arc::new(self.b.iterator(split % nb, tc)?.collect());
        Ok(Box::new(left.flat_map(move |x| {
            let right = right.clone();
            (0..right.len()).map(move |i| (x.clone(), right[i].clone()))
        })))
    }
}

/// An RDD with no partitions.
pub(crate) struct EmptyRdd {
    info: RddInfo,
}

impl EmptyRdd {
    pub(crate) fn create<T: Data>(ctx: &Context) -> Rdd<T> {
        let info = RddInfo::new(ctx, "empty", 0, &[]);
        Rdd::from_node(Arc::new(EmptyRdd { info }))
    }
}

impl RddBase for EmptyRdd {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for EmptyRdd {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<T>> {
        Err(Error::InvalidArgument {
            op: "empty",
            reason: format!("an empty RDD has no partition {split}"),
        })
    }
}
