//! Partitioners: which reduce partition a key goes to.

use crate::data::Key;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A deterministic hash of `v`: the same on every process and every run, so every process
/// of a cluster puts a key in the same partition.
#[inline]
pub fn stable_hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    v.hash(&mut h);
    // Fx's low bits are weak for short keys; finish with a multiply-xorshift mix.
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// What a partitioner is, for comparing two of them: RDDs partitioned by equal partitioners
/// are co-partitioned, and re-partitioning by an equal partitioner is a no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionerDesc {
    /// [`HashPartitioner`] with this many partitions.
    Hash(usize),
    /// [`RangePartitioner`]: partitions and a fingerprint of its bounds and direction.
    Range {
        /// Partitions.
        partitions: usize,
        /// Fingerprint of the bounds.
        fingerprint: u64,
    },
    /// A user-defined partitioner: its name and partitions.
    Custom {
        /// Name given by the partitioner.
        name: String,
        /// Partitions.
        partitions: usize,
    },
}

impl PartitionerDesc {
    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        match self {
            PartitionerDesc::Hash(n) => *n,
            PartitionerDesc::Range { partitions, .. }
            | PartitionerDesc::Custom { partitions, .. } => *partitions,
        }
    }
}

/// Maps keys to partitions `0..num_partitions()`.
pub trait Partitioner<K>: Send + Sync + 'static {
    /// Number of partitions.
    fn num_partitions(&self) -> usize;
    /// The partition of `key`.
    fn partition(&self, key: &K) -> usize;
    /// What this partitioner is, for equality (see [`PartitionerDesc`]).
    fn desc(&self) -> PartitionerDesc;
}

/// Spark's `HashPartitioner`: a stable hash of the key modulo the partition count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    /// A hash partitioner over `partitions` partitions (at least 1).
    pub fn new(partitions: usize) -> Self {
        HashPartitioner {
            partitions: partitions.max(1),
        }
    }
}

impl<K: Hash + 'static> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    #[inline]
    fn partition(&self, key: &K) -> usize {
        (stable_hash(key) % self.partitions as u64) as usize
    }
    fn desc(&self) -> PartitionerDesc {
        PartitionerDesc::Hash(self.partitions)
    }
}

/// Spark's `RangePartitioner`: sorted upper bounds; partition i holds keys in
/// `(bounds[i-1], bounds[i]]`, reversed when descending. Built by [`crate::Rdd::sort_by_key`]
/// from a sample of the keys.
#[derive(Debug, Clone)]
pub struct RangePartitioner<K> {
    bounds: Vec<K>,
    ascending: bool,
    fingerprint: u64,
}

impl<K: Key + Ord> RangePartitioner<K> {
    /// A range partitioner with these sorted upper bounds (`bounds.len() + 1` partitions).
    pub fn from_bounds(mut bounds: Vec<K>, ascending: bool) -> Self {
        bounds.sort();
        bounds.dedup();
        let fingerprint = stable_hash(&(
            crate::codec::encode(&bounds, "range bounds").unwrap_or_default(),
            ascending,
        ));
        RangePartitioner {
            bounds,
            ascending,
            fingerprint,
        }
    }

    /// The bounds.
    pub fn bounds(&self) -> &[K] {
        &self.bounds
    }
}

impl<K: Key + Ord> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.bounds.len() + 1
    }
    fn partition(&self, key: &K) -> usize {
        let p = self.bounds.partition_point(|b| b < key);
        if self.ascending {
            p
        } else {
            self.bounds.len() - p
        }
    }
    fn desc(&self) -> PartitionerDesc {
        PartitionerDesc::Range {
            partitions: self.bounds.len() + 1,
            fingerprint: self.fingerprint,
        }
    }
}

/// How an operation partitions its output: the way Spark's overloads take it — nothing
/// (the default partitioner), a partition count (a [`HashPartitioner`]), or a partitioner.
pub enum Partitioning<K> {
    /// Spark's `defaultPartitioner`: the largest parent partitioner, or a hash partitioner
    /// over `spate.default.parallelism` (if set) or the largest parent partition count.
    Default,
    /// A hash partitioner with this many partitions.
    Count(usize),
    /// This partitioner.
    With(Arc<dyn Partitioner<K>>),
}

impl<K> Clone for Partitioning<K> {
    fn clone(&self) -> Self {
        match self {
            Partitioning::Default => Partitioning::Default,
            Partitioning::Count(n) => Partitioning::Count(*n),
            Partitioning::With(p) => Partitioning::With(p.clone()),
        }
    }
}

impl<K> From<usize> for Partitioning<K> {
    fn from(n: usize) -> Self {
        Partitioning::Count(n)
    }
}

impl<K: Hash + 'static> From<HashPartitioner> for Partitioning<K> {
    fn from(p: HashPartitioner) -> Self {
        Partitioning::With(Arc::new(p))
    }
}

impl<K: Key + Ord> From<RangePartitioner<K>> for Partitioning<K> {
    fn from(p: RangePartitioner<K>) -> Self {
        Partitioning::With(Arc::new(p))
    }
}

impl<K> From<Arc<dyn Partitioner<K>>> for Partitioning<K> {
    fn from(p: Arc<dyn Partitioner<K>>) -> Self {
        Partitioning::With(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_partitions_are_ordered() {
        let p = RangePartitioner::from_bounds(vec![10, 20], true);
        assert_eq!(p.num_partitions(), 3);
        assert_eq!(p.partition(&5), 0);
        assert_eq!(p.partition(&10), 0);
        assert_eq!(p.partition(&11), 1);
        assert_eq!(p.partition(&99), 2);
        let d = RangePartitioner::from_bounds(vec![10, 20], false);
        assert_eq!(d.partition(&5), 2);
        assert_eq!(d.partition(&99), 0);
    }

    #[test]
    fn hash_partitions_in_range_and_stable() {
        let p = HashPartitioner::new(7);
        for k in 0..1000u64 {
            let a = Partitioner::<u64>::partition(&p, &k);
            assert!(a < 7);
            assert_eq!(a, Partitioner::<u64>::partition(&p, &k));
        }
        // A Str hashes the same however it was made (inline copy or cut from a buffer).
        let line = crate::Str::from(String::from("w0001 and a line longer than the inline size"));
        let cut = line.split_owned(' ').next().unwrap();
        assert_eq!(stable_hash(&cut), stable_hash(&crate::Str::from("w0001")));
    }
}
