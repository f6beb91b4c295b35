//! Zipping: two RDDs with the same partitions walked side by side, and unique ids.

use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use std::sync::Arc;

/// The function of a [`ZippedPartitionsRdd`]: both parents' partitions in, records out.
type ZipFn<A, B, U> = dyn Fn(BoxIter<A>, BoxIter<B>) -> BoxIter<U> + Send + Sync;

/// Partition i computed from partition i of two parents (Spark's `ZippedPartitionsRDD2`).
struct ZippedPartitionsRdd<A: Data, B: Data, U: Data> {
    info: RddInfo,
    a: Rdd<A>,
    b: Rdd<B>,
    f: Arc<ZipFn<A, B, U>>,
}

impl<A: Data, B: Data, U: Data> RddBase for ZippedPartitionsRdd<A, B, U> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.a.base()),
            Dependency::Narrow(self.b.base()),
        ]
    }
    fn preferred_location(&self, split: usize) -> Option<String> {
        self.a
            .base()
            .preferred_location(split)
            .or_else(|| self.b.base().preferred_location(split))
    }
}

impl<A: Data, B: Data, U: Data> RddNode<U> for ZippedPartitionsRdd<A, B, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<U>> {
        let a = self.a.iterator(split, tc)?;
        let b = self.b.iterator(split, tc)?;
        Ok((self.f)(a, b))
    }
}

/// Record-by-record zip that fails the task when one side ends first.
struct StrictZip<A, B> {
    a: BoxIter<A>,
    b: BoxIter<B>,
    split: usize,
    ids: (usize, usize),
    done: bool,
}

impl<A, B> Iterator for StrictZip<A, B> {
    type Item = (A, B);
    fn next(&mut self) -> Option<(A, B)> {
        if self.done {
            return None;
        }
        match (self.a.next(), self.b.next()) {
            (Some(x), Some(y)) => Some((x, y)),
            (None, None) => {
                self.done = true;
                None
            }
            (x, _) => {
                self.done = true;
                let longer = if x.is_some() { self.ids.0 } else { self.ids.1 };
                TaskContext::fail_current(Error::Task(format!(
                    "zip of rdd {} and rdd {}: partition {} has more records in rdd {longer} \
                     (can only zip RDDs with the same number of records in each partition)",
                    self.ids.0, self.ids.1, self.split
                )));
                None
            }
        }
    }
}

impl<T: Data> Rdd<T> {
    /// Partition i of this RDD and partition i of `other` given together to `f` (Spark's
    /// `zipPartitions`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming both RDDs when their partition counts differ.
    pub fn zip_partitions<B: Data, U: Data, I, F>(&self, other: &Rdd<B>, f: F) -> Result<Rdd<U>>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: 'static,
        F: Fn(BoxIter<T>, BoxIter<B>) -> I + Send + Sync + 'static,
    {
        self.zip_node(
            other,
            "zip_partitions",
            Arc::new(move |a, b| Box::new(f(a, b).into_iter())),
        )
    }

    /// Pairs of the i-th record of this RDD and the i-th of `other` (Spark's `zip`). Both
    /// must have the same partition count and the same number of records in each
    /// partition.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming both RDDs when their partition counts differ; a
    /// partition with different record counts fails its task with an error naming it.
    pub fn zip<B: Data>(&self, other: &Rdd<B>) -> Result<Rdd<(T, B)>> {
        let ids = (self.id(), other.id());
        self.zip_node(
            other,
            "zip",
            Arc::new(move |a, b| {
                let split = TaskContext::with_current(|tc| tc.map_or(0, |t| t.partition()));
                Box::new(StrictZip {
                    a,
                    b,
                    split,
                    ids,
                    done: false,
                })
            }),
        )
    }

    fn zip_node<B: Data, U: Data>(
        &self,
        other: &Rdd<B>,
        op: &'static str,
        f: Arc<ZipFn<T, B, U>>,
    ) -> Result<Rdd<U>> {
        if self.num_partitions() != other.num_partitions() {
            return Err(Error::InvalidArgument {
                op,
                reason: format!(
                    "cannot zip RDDs with unequal numbers of partitions: {self:?} and {other:?}"
                ),
            });
        }
        let deps = vec![
            Dependency::Narrow(self.base()),
            Dependency::Narrow(other.base()),
        ];
        let info = RddInfo::new(self.context(), op, self.num_partitions(), &deps);
        Ok(Rdd::from_node(Arc::new(ZippedPartitionsRdd {
            info,
            a: self.clone(),
            b: other.clone(),
            f,
        })))
    }

    /// Each record with a unique id (Spark's `zipWithUniqueId`): the records of partition
    /// k of n get ids k, n + k, 2n + k, ... No job runs; the ids have gaps unless the
    /// partitions are equally long.
    pub fn zip_with_unique_id(&self) -> Rdd<(T, u64)> {
        let n = self.num_partitions() as u64;
        self.map_partitions_with_index(move |k, it| {
            it.enumerate()
                .map(move |(i, x)| (x, i as u64 * n + k as u64))
        })
    }
}
