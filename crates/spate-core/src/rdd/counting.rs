//! Counting records as a job reads them: [`Rdd::counting`] and [`RecordCounter`]. The
//! streaming engine counts what an input gave a batch this way, at no extra pass over the
//! data.

use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::data::Data;
use crate::error::Result;
use crate::partitioner::PartitionerDesc;
use crate::scheduler::TaskContext;
use crate::shared::accumulator::{Accumulator, AccumulatorV2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const NOT_COUNTED: u64 = u64::MAX;

/// The records of each partition of an RDD, as far as jobs have read them whole.
#[derive(Debug)]
pub struct RecordCounter {
    counts: Vec<AtomicU64>,
    /// In cluster mode, the counts of partitions read in executor processes, sent back
    /// with their tasks' results (set by [`Rdd::counting`]).
    remote: std::sync::OnceLock<Accumulator<PartitionCounts>>,
}

/// Records by partition, as an accumulator: a partition read again is counted again, not
/// added.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartitionCounts(BTreeMap<usize, u64>);

impl AccumulatorV2 for PartitionCounts {
    type In = (usize, u64);
    type Out = BTreeMap<usize, u64>;
    fn add(&mut self, (p, n): (usize, u64)) {
        self.0.insert(p, n);
    }
    fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }
    fn value(&self) -> BTreeMap<usize, u64> {
        self.0.clone()
    }
}

impl RecordCounter {
    /// A counter for `partitions` partitions, none counted yet.
    pub fn new(partitions: usize) -> Arc<Self> {
        Arc::new(RecordCounter {
            counts: (0..partitions)
                .map(|_| AtomicU64::new(NOT_COUNTED))
                .collect(),
            remote: std::sync::OnceLock::new(),
        })
    }

    /// The counts, with those sent back by executor processes.
    fn loaded(&self) -> Vec<u64> {
        let mut counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .collect();
        if let Some(acc) = self.remote.get() {
            for (p, n) in acc.value() {
                if let Some(c) = counts.get_mut(p) {
                    *c = n;
                }
            }
        }
        counts
    }

    pub(crate) fn set(&self, partition: usize, n: u64) {
        if let Some(c) = self.counts.get(partition) {
            c.store(n, Ordering::Release);
        }
    }

    /// Each partition's records, `None` where no job has read it to the end.
    pub fn partition_counts(&self) -> Vec<Option<u64>> {
        self.loaded()
            .into_iter()
            .map(|c| match c {
                NOT_COUNTED => None,
                n => Some(n),
            })
            .collect()
    }

    /// The records of the partitions counted so far, and the partitions not counted (no
    /// job has read them to the end).
    pub fn counted(&self) -> (u64, Vec<usize>) {
        let mut total = 0;
        let mut missing = Vec::new();
        for (p, c) in self.loaded().into_iter().enumerate() {
            match c {
                NOT_COUNTED => missing.push(p),
                n => total += n,
            }
        }
        (total, missing)
    }
}

/// The parent's records, unchanged, counted per partition into a [`RecordCounter`] when a
/// task reads a partition to its end (a partition read again is counted again, not
/// added).
struct CountingRdd<T: Data> {
    info: RddInfo,
    parent: Rdd<T>,
    counter: Arc<RecordCounter>,
}

impl<T: Data> RddBase for CountingRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn partitioner(&self) -> Option<PartitionerDesc> {
        self.parent.partitioner()
    }
    fn partitioner_object(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        self.parent.base().partitioner_object()
    }
}

impl<T: Data> RddNode<T> for CountingRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        Ok(Box::new(CountingIter {
            inner: Some(self.parent.iterator(split, tc)?),
            n: 0,
            split,
            counter: self.counter.clone(),
        }))
    }
}

struct CountingIter<T> {
    inner: Option<BoxIter<T>>,
    n: u64,
    split: usize,
    counter: Arc<RecordCounter>,
}

impl<T> CountingIter<T> {
    fn finish(&self) {
        // A partition cut short by an error is not a count.
        if !TaskContext::with_current(|tc| tc.is_some_and(|t| t.has_failed())) {
            self.counter.set(self.split, self.n);
            if let Some(acc) = self.counter.remote.get() {
                acc.add((self.split, self.n));
            }
        }
    }
}

impl<T> Iterator for CountingIter<T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        match self.inner.as_mut()?.next() {
            Some(x) => {
                self.n += 1;
                Some(x)
            }
            None => {
                self.inner = None;
                self.finish();
                None
            }
        }
    }

    /// Whole-partition consumers (`drive`) run the parent's own loop, counting on the way.
    fn fold<B, F: FnMut(B, T) -> B>(mut self, init: B, mut f: F) -> B {
        let Some(inner) = self.inner.take() else {
            return init;
        };
        let mut acc = Some(init);
        let mut n = self.n;
        inner.drive(&mut |x| {
            n += 1;
            if let Some(a) = acc.take() {
                acc = Some(f(a, x));
            }
        });
        self.n = n;
        self.finish();
        acc.expect("fold keeps its accumulator")
    }
}

impl<T: Data> Rdd<T> {
    /// The same records, counted per partition into `counter` as jobs read them (for
    /// inputs that report how many records they gave a batch).
    pub fn counting(&self, counter: Arc<RecordCounter>) -> Rdd<T> {
        // Tasks of executor processes count there: their counts come back as accumulator
        // updates (made in every process alike, so its id is the same everywhere).
        if self.context().env().cluster_link().is_some() && counter.remote.get().is_none() {
            let _ = counter.remote.set(
                self.context()
                    .register_accumulator(PartitionCounts::default(), None),
            );
        }
        let deps = vec![Dependency::Narrow(self.base())];
        let info = RddInfo::new(self.context(), "counting", self.num_partitions(), &deps);
        Rdd::from_node(Arc::new(CountingRdd {
            info,
            parent: self.clone(),
            counter,
        }))
    }
}
