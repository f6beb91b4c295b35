//! Narrow and whole-RDD transformations of [`Rdd`].

use super::nodes::{CartesianRdd, CoalescedRdd, MapPartitionsRdd, UnionRdd};
use super::{BoxIter, Rdd};
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::partitioner::{Partitioner, PartitionerDesc, Partitioning};
use crate::rng::SplitMix64;
use crate::scheduler::TaskContext;
use crate::shuffle::{Identity, ShuffleMode, ShuffledRdd};
use std::sync::Arc;

/// Sends key `i` to partition `i % n`: round-robin for `repartition`.
pub(crate) struct RoundRobin(pub(crate) usize);

impl Partitioner<u64> for RoundRobin {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn partition(&self, key: &u64) -> usize {
        (*key % self.0 as u64) as usize
    }
    fn desc(&self) -> PartitionerDesc {
        PartitionerDesc::Custom {
            name: "round-robin".into(),
            partitions: self.0,
        }
    }
}

impl<T: Data> Rdd<T> {
    /// The records transformed by `f`.
    pub fn map<U: Data, F>(&self, f: F) -> Rdd<U>
    where
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        MapPartitionsRdd::create(
            self,
            "map",
            false,
            Arc::new(move |_, it: BoxIter<T>| {
                let f = f.clone();
                Box::new(it.map(move |x| f(x)))
            }),
        )
    }

    /// Each record turned into zero or more records.
    pub fn flat_map<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        MapPartitionsRdd::create(
            self,
            "flat_map",
            false,
            Arc::new(move |_, it: BoxIter<T>| {
                let f = f.clone();
                Box::new(it.flat_map(move |x| f(x)))
            }),
        )
    }

    /// The records for which `f` is true.
    pub fn filter<F>(&self, f: F) -> Rdd<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        MapPartitionsRdd::create(
            self,
            "filter",
            true,
            Arc::new(move |_, it: BoxIter<T>| {
                let f = f.clone();
                Box::new(it.filter(move |x| f(x)))
            }),
        )
    }

    /// Each partition's iterator transformed by `f` at once.
    pub fn map_partitions<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: 'static,
        F: Fn(BoxIter<T>) -> I + Send + Sync + 'static,
    {
        MapPartitionsRdd::create(
            self,
            "map_partitions",
            false,
            Arc::new(move |_, it| Box::new(f(it).into_iter())),
        )
    }

    /// Like [`Rdd::map_partitions`], with the partition index.
    pub fn map_partitions_with_index<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: 'static,
        F: Fn(usize, BoxIter<T>) -> I + Send + Sync + 'static,
    {
        MapPartitionsRdd::create(
            self,
            "map_partitions_with_index",
            false,
            Arc::new(move |tc: &TaskContext, it| Box::new(f(tc.partition(), it).into_iter())),
        )
    }

    /// Like [`Rdd::map_partitions`], keeping the partitioner (the function must not change
    /// keys).
    pub fn map_partitions_preserving<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: 'static,
        F: Fn(usize, BoxIter<T>) -> I + Send + Sync + 'static,
    {
        MapPartitionsRdd::create(
            self,
            "map_partitions",
            true,
            Arc::new(move |tc: &TaskContext, it| Box::new(f(tc.partition(), it).into_iter())),
        )
    }

    /// Each partition as one vector.
    pub fn glom(&self) -> Rdd<Vec<T>> {
        MapPartitionsRdd::create(
            self,
            "glom",
            false,
            Arc::new(|_, it: BoxIter<T>| Box::new(std::iter::once(it.collect::<Vec<T>>()))),
        )
    }

    /// This RDD followed by `other`.
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        UnionRdd::create(self.context(), vec![self.clone(), other.clone()])
    }

    /// Spark's `coalesce`: fewer partitions by concatenating neighbours (no shuffle), or,
    /// with `shuffle`, any number of partitions with records spread round-robin.
    pub fn coalesce(&self, partitions: usize, shuffle: bool) -> Rdd<T> {
        if !shuffle {
            return CoalescedRdd::create(self, partitions);
        }
        let n = partitions.max(1);
        let keyed = self.map_partitions_with_index(move |i, it| {
            let mut pos = SplitMix64::new(i as u64).below(n as u64);
            it.map(move |x| {
                pos += 1;
                (pos, x)
            })
        });
        ShuffledRdd::create(
            "repartition",
            &keyed,
            Arc::new(RoundRobin(n)),
            Arc::new(Identity),
            ShuffleMode::Plain,
        )
        .map(|(_, x)| x)
    }

    /// Exactly `partitions` partitions, by a shuffle (`coalesce(partitions, true)`).
    pub fn repartition(&self, partitions: usize) -> Rdd<T> {
        self.coalesce(partitions, true)
    }

    /// A random sample: each record kept with probability `fraction` (without
    /// replacement), or repeated a Poisson(`fraction`) number of times (with replacement).
    /// The same seed gives the same sample (each partition's generator is seeded with
    /// `seed` and the partition index).
    pub fn sample(&self, with_replacement: bool, fraction: f64, seed: u64) -> Rdd<T> {
        MapPartitionsRdd::create(
            self,
            "sample",
            true,
            Arc::new(move |tc: &TaskContext, it: BoxIter<T>| {
                // Seeded through a mixing step: a seed xor-ed with the partition index
                // gave neighbouring partitions overlapping SplitMix64 streams, so their
                // samples were correlated and the sample size varied too much.
                let mut rng = super::sampling::partition_rng(seed, tc.partition());
                if with_replacement {
                    Box::new(it.flat_map(move |x| {
                        let k = rng.poisson(fraction) as usize;
                        std::iter::repeat_n(x, k)
                    }))
                } else {
                    Box::new(it.filter(move |_| rng.next_f64() < fraction))
                }
            }),
        )
    }

    /// Each record with its index: partition order, then position. Runs a job to count
    /// the partitions first, as Spark does.
    pub fn zip_with_index(&self) -> Result<Rdd<(T, u64)>> {
        let n = self.num_partitions();
        let counts: Vec<u64> = if n > 1 {
            let parts: Vec<usize> = (0..n - 1).collect();
            self.run_job_on(&parts, |_, it| Ok(it.count() as u64))?
        } else {
            Vec::new()
        };
        let mut starts = vec![0u64; n];
        for i in 1..n {
            starts[i] = starts[i - 1] + counts[i - 1];
        }
        let starts = Arc::new(starts);
        Ok(self.map_partitions_with_index(move |i, it| {
            let start = starts[i];
            it.zip(start..)
        }))
    }

    /// Pairs `(f(x), x)`.
    pub fn key_by<K: Data, F>(&self, f: F) -> Rdd<(K, T)>
    where
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        self.map(move |x| (f(&x), x))
    }

    /// Every pair of a record of this RDD and one of `other`.
    pub fn cartesian<U: Data>(&self, other: &Rdd<U>) -> Rdd<(T, U)> {
        CartesianRdd::create(self, other)
    }

    /// The records sorted by `f`, range-partitioned into `partitions` (runs a sampling job).
    pub fn sort_by<K: Key + Ord, F>(
        &self,
        f: F,
        ascending: bool,
        partitions: usize,
    ) -> Result<Rdd<T>>
    where
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        Ok(self
            .key_by(f)
            .sort_by_key_with(ascending, partitions)?
            .values())
    }
}

impl<T: Key> Rdd<T> {
    /// The distinct records.
    pub fn distinct(&self) -> Rdd<T> {
        self.distinct_with(Partitioning::Default)
    }

    /// The distinct records, partitioned as given.
    pub fn distinct_with(&self, partitioning: impl Into<Partitioning<T>>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .reduce_by_key_with(|a, _| a, partitioning)
            .keys()
    }

    /// The distinct records present in both RDDs.
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .cogroup(&other.map(|x| (x, ())))
            .filter(|(_, (a, b))| !a.is_empty() && !b.is_empty())
            .keys()
    }

    /// The records of this RDD not in `other` (duplicates kept).
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .subtract_by_key(&other.map(|x| (x, ())))
            .keys()
    }
}

/// Checks a user-given partition count.
pub(crate) fn check_partitions(op: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidArgument {
            op,
            reason: "the number of partitions must be positive".into(),
        });
    }
    Ok(())
}
