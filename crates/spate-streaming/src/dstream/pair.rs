//! Operations on streams of key-value pairs, batch by batch.

use super::DStream;
use spate_core::{Data, HashPartitioner, Key, Partitioner, Partitioning, Rdd};
use std::sync::Arc;

/// Spark's `PairDStreamFunctions.defaultPartitioner`: a hash partitioner over the
/// context's default parallelism, unless a count or partitioner is given.
pub(crate) fn resolve<K: Key>(
    p: Partitioning<K>,
    default_parallelism: usize,
) -> Arc<dyn Partitioner<K>> {
    match p {
        Partitioning::Default => Arc::new(HashPartitioner::new(default_parallelism)),
        Partitioning::Count(n) => Arc::new(HashPartitioner::new(n)),
        Partitioning::With(p) => p,
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    pub(crate) fn partitioner_for(&self, p: impl Into<Partitioning<K>>) -> Arc<dyn Partitioner<K>> {
        resolve(p.into(), self.ssc.ctx().default_parallelism())
    }

    /// Each batch's values merged per key by an associative, commutative `f`.
    pub fn reduce_by_key<F>(&self, f: F) -> DStream<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.reduce_by_key_with(f, Partitioning::Default)
    }

    /// [`DStream::reduce_by_key`] into a partition count or partitioner.
    pub fn reduce_by_key_with<F>(&self, f: F, p: impl Into<Partitioning<K>>) -> DStream<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let p = self.partitioner_for(p);
        let f = Arc::new(f);
        self.transform_named("reduce_by_key", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.reduce_by_key_with(move |a, b| f(a, b), Partitioning::With(p.clone())))
        })
    }

    /// Each batch's values grouped per key.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.group_by_key_with(Partitioning::Default)
    }

    /// [`DStream::group_by_key`] into a partition count or partitioner.
    pub fn group_by_key_with(&self, p: impl Into<Partitioning<K>>) -> DStream<(K, Vec<V>)> {
        let p = self.partitioner_for(p);
        self.transform_named("group_by_key", move |rdd, _| {
            Ok(rdd.group_by_key_with(Partitioning::With(p.clone())))
        })
    }

    /// Spark's `combineByKey` on each batch.
    pub fn combine_by_key<C: Data, F1, F2, F3>(
        &self,
        create: F1,
        merge_value: F2,
        merge_combiners: F3,
        p: impl Into<Partitioning<K>>,
        map_side_combine: bool,
    ) -> DStream<(K, C)>
    where
        F1: Fn(V) -> C + Send + Sync + 'static,
        F2: Fn(C, V) -> C + Send + Sync + 'static,
        F3: Fn(C, C) -> C + Send + Sync + 'static,
    {
        let p = self.partitioner_for(p);
        let (c, m, n) = (
            Arc::new(create),
            Arc::new(merge_value),
            Arc::new(merge_combiners),
        );
        self.transform_named("combine_by_key", move |rdd, _| {
            let (c, m, n) = (c.clone(), m.clone(), n.clone());
            Ok(rdd.combine_by_key_with(
                move |v| c(v),
                move |a, v| m(a, v),
                move |a, b| n(a, b),
                Partitioning::With(p.clone()),
                map_side_combine,
            ))
        })
    }

    /// The values transformed by `f`, keys kept.
    pub fn map_values<U: Data, F>(&self, f: F) -> DStream<(K, U)>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("map_values", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.map_values(move |v| f(v)))
        })
    }

    /// Each value turned into zero or more values, keys kept.
    pub fn flat_map_values<U: Data, I, F>(&self, f: F) -> DStream<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("flat_map_values", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.flat_map_values(move |v| f(v)))
        })
    }

    /// Combines each batch's RDDs of this stream and `other` with a two-RDD operation,
    /// into the given partitioning: the shape of every DStream join and cogroup. Built on
    /// `transform_with` as in Spark: a batch for which either stream has no RDD fails.
    fn batchwise_with<W: Data, R: Data>(
        &self,
        name: &'static str,
        other: &DStream<(K, W)>,
        p: impl Into<Partitioning<K>>,
        op: fn(&Rdd<(K, V)>, &Rdd<(K, W)>, Partitioning<K>) -> Rdd<R>,
    ) -> DStream<R> {
        let p = self.partitioner_for(p);
        self.transform_with_named(name, other, move |a, b, _| {
            Ok(op(&a, &b, Partitioning::With(p.clone())))
        })
    }

    /// Each batch's values of both streams per key.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (Vec<V>, Vec<W>))> {
        self.cogroup_with(other, Partitioning::Default)
    }

    /// [`DStream::cogroup`] into a partition count or partitioner.
    pub fn cogroup_with<W: Data>(
        &self,
        other: &DStream<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> DStream<(K, (Vec<V>, Vec<W>))> {
        self.batchwise_with("cogroup", other, p, Rdd::cogroup_with)
    }

    /// Each batch's inner join with the same batch of `other`.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))> {
        self.join_with(other, Partitioning::Default)
    }

    /// [`DStream::join`] into a partition count or partitioner.
    pub fn join_with<W: Data>(
        &self,
        other: &DStream<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> DStream<(K, (V, W))> {
        self.batchwise_with("join", other, p, Rdd::join_with)
    }

    /// Each batch's left outer join with the same batch of `other`.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (V, Option<W>))> {
        self.left_outer_join_with(other, Partitioning::Default)
    }

    /// [`DStream::left_outer_join`] into a partition count or partitioner.
    pub fn left_outer_join_with<W: Data>(
        &self,
        other: &DStream<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> DStream<(K, (V, Option<W>))> {
        self.batchwise_with("left_outer_join", other, p, Rdd::left_outer_join_with)
    }

    /// Each batch's right outer join with the same batch of `other`.
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, W))> {
        self.right_outer_join_with(other, Partitioning::Default)
    }

    /// [`DStream::right_outer_join`] into a partition count or partitioner.
    pub fn right_outer_join_with<W: Data>(
        &self,
        other: &DStream<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> DStream<(K, (Option<V>, W))> {
        self.batchwise_with("right_outer_join", other, p, Rdd::right_outer_join_with)
    }

    /// Each batch's full outer join with the same batch of `other`.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, Option<W>))> {
        self.full_outer_join_with(other, Partitioning::Default)
    }

    /// [`DStream::full_outer_join`] into a partition count or partitioner.
    pub fn full_outer_join_with<W: Data>(
        &self,
        other: &DStream<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> DStream<(K, (Option<V>, Option<W>))> {
        self.batchwise_with("full_outer_join", other, p, Rdd::full_outer_join_with)
    }
}
