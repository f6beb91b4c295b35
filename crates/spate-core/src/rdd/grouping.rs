//! Grouping records by a computed key.

use super::Rdd;
use crate::data::{Data, Key};
use crate::partitioner::Partitioning;

impl<T: Data> Rdd<T> {
    /// The records grouped by `f(record)` (Spark's `groupBy`), with the default
    /// partitioner. Each group's records are in one vector.
    pub fn group_by<K: Key, F>(&self, f: F) -> Rdd<(K, Vec<T>)>
    where
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        self.group_by_with(f, Partitioning::Default)
    }

    /// [`Rdd::group_by`] into a partition count or partitioner.
    pub fn group_by_with<K: Key, F>(
        &self,
        f: F,
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, Vec<T>)>
    where
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        self.key_by(f).group_by_key_with(partitioning)
    }
}
