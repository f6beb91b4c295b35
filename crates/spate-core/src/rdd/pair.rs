//! Operations on RDDs of key-value pairs.

use super::nodes::MapPartitionsRdd;
use super::{BoxIter, Rdd, RddBase};
use crate::context::Context;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::{HashPartitioner, Partitioner, PartitionerDesc, Partitioning};
use crate::scheduler::TaskContext;
use crate::shuffle::{
    Combiner, ExternalAggregator, FnCombiner, Identity, ShuffleMode, ShuffledRdd,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Spark's `defaultPartitioner`: the partitioner of the parent with the most partitions
/// (when it has one and is not much smaller than the largest parent), otherwise a hash
/// partitioner over `spate.default.parallelism` if set, else the largest parent's count.
pub(crate) fn default_partitioner<K: Key>(
    ctx: &Context,
    parents: &[Arc<dyn RddBase>],
) -> Arc<dyn Partitioner<K>> {
    let max_parts = parents
        .iter()
        .map(|p| p.info().num_partitions())
        .max()
        .unwrap_or(1)
        .max(1);
    let best = parents
        .iter()
        .filter_map(|p| p.partitioner())
        .filter(|d| d.num_partitions() > 0)
        .max_by_key(|d| d.num_partitions());
    let default_n = ctx.configured_parallelism().unwrap_or(max_parts);
    if let Some(desc) = best {
        let n = desc.num_partitions();
        // Spark keeps an existing partitioner when it is eligible (not 10x smaller than the
        // largest parent) or at least as large as the default.
        if n * 10 >= max_parts || n >= default_n {
            let object = parents
                .iter()
                .filter(|p| p.partitioner().as_ref() == Some(&desc))
                .find_map(|p| p.partitioner_object())
                .and_then(|o| o.downcast::<Arc<dyn Partitioner<K>>>().ok());
            if let Some(p) = object {
                return (*p).clone();
            }
            if let PartitionerDesc::Hash(n) = desc {
                return Arc::new(HashPartitioner::new(n));
            }
        }
    }
    Arc::new(HashPartitioner::new(default_n))
}

/// Turns a [`Partitioning`] into a partitioner for an operation with these parents.
pub(crate) fn resolve<K: Key>(
    p: Partitioning<K>,
    ctx: &Context,
    parents: &[Arc<dyn RddBase>],
) -> Arc<dyn Partitioner<K>> {
    match p {
        Partitioning::Default => default_partitioner(ctx, parents),
        Partitioning::Count(n) => Arc::new(HashPartitioner::new(n)),
        Partitioning::With(p) => p,
    }
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// Aggregates values by key with a [`Combiner`] into the given partitioning. When the
    /// RDD is already partitioned that way, aggregates in place without a shuffle.
    pub fn combine_by_key_with_combiner<C: Data, A: Combiner<V, C>>(
        &self,
        op: &'static str,
        agg: A,
        partitioning: Partitioning<K>,
        map_side_combine: bool,
    ) -> Rdd<(K, C)> {
        let p = resolve(partitioning, self.context(), &[self.base()]);
        let agg = Arc::new(agg);
        if self.partitioner() == Some(p.desc()) {
            return MapPartitionsRdd::create(
                self,
                op,
                true,
                Arc::new(move |tc: &TaskContext, it: BoxIter<(K, V)>| {
                    let env = tc.env();
                    let mut ea = ExternalAggregator::<K, V, C, A>::new(
                        agg.clone(),
                        env.task_memory_budget(),
                        env.block_store().clone(),
                    );
                    let mut err = None;
                    it.drive(&mut |(k, v)| {
                        if err.is_none() {
                            if let Err(e) = ea.insert_value(k, v) {
                                err = Some(e);
                            }
                        }
                    });
                    match err.map_or_else(|| ea.finish(), Err) {
                        Ok(it) => it,
                        Err(e) => {
                            tc.fail(e);
                            Box::new(std::iter::empty())
                        }
                    }
                }),
            );
        }
        ShuffledRdd::create(
            op,
            self,
            p,
            agg,
            ShuffleMode::Aggregate { map_side_combine },
        )
    }

    /// Spark's `combineByKey` with the default partitioner and map-side combine.
    pub fn combine_by_key<C: Data, F1, F2, F3>(
        &self,
        create: F1,
        merge_value: F2,
        merge_combiners: F3,
    ) -> Rdd<(K, C)>
    where
        F1: Fn(V) -> C + Send + Sync + 'static,
        F2: Fn(C, V) -> C + Send + Sync + 'static,
        F3: Fn(C, C) -> C + Send + Sync + 'static,
    {
        self.combine_by_key_with(
            create,
            merge_value,
            merge_combiners,
            Partitioning::Default,
            true,
        )
    }

    /// Spark's `combineByKey` with a partition count or partitioner, and whether to
    /// combine on the map side.
    pub fn combine_by_key_with<C: Data, F1, F2, F3>(
        &self,
        create: F1,
        merge_value: F2,
        merge_combiners: F3,
        partitioning: impl Into<Partitioning<K>>,
        map_side_combine: bool,
    ) -> Rdd<(K, C)>
    where
        F1: Fn(V) -> C + Send + Sync + 'static,
        F2: Fn(C, V) -> C + Send + Sync + 'static,
        F3: Fn(C, C) -> C + Send + Sync + 'static,
    {
        self.combine_by_key_with_combiner(
            "combine_by_key",
            FnCombiner::new(create, merge_value, merge_combiners),
            partitioning.into(),
            map_side_combine,
        )
    }

    /// Merges the values of each key with an associative, commutative `f`, combining on
    /// the map side first.
    pub fn reduce_by_key<F>(&self, f: F) -> Rdd<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.reduce_by_key_with(f, Partitioning::Default)
    }

    /// [`Rdd::reduce_by_key`] into a partition count or partitioner.
    pub fn reduce_by_key_with<F>(
        &self,
        f: F,
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.combine_by_key_with_combiner(
            "reduce_by_key",
            FnCombiner::new(|v| v, move |a, b| f(a, b), move |a, b| g(a, b)),
            partitioning.into(),
            true,
        )
    }

    /// Folds the values of each key from `zero`.
    pub fn fold_by_key<F>(&self, zero: V, f: F) -> Rdd<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.fold_by_key_with(zero, f, Partitioning::Default)
    }

    /// [`Rdd::fold_by_key`] into a partition count or partitioner.
    pub fn fold_by_key_with<F>(
        &self,
        zero: V,
        f: F,
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let (g, h) = (f.clone(), f.clone());
        self.combine_by_key_with_combiner(
            "fold_by_key",
            FnCombiner::new(
                move |v| h(zero.clone(), v),
                move |a, b| f(a, b),
                move |a, b| g(a, b),
            ),
            partitioning.into(),
            true,
        )
    }

    /// Aggregates the values of each key: `seq_op` adds a value to an accumulator started
    /// at `zero`, `comb_op` merges two accumulators.
    pub fn aggregate_by_key<U: Data, S, C>(&self, zero: U, seq_op: S, comb_op: C) -> Rdd<(K, U)>
    where
        S: Fn(U, V) -> U + Send + Sync + 'static,
        C: Fn(U, U) -> U + Send + Sync + 'static,
    {
        self.aggregate_by_key_with(zero, seq_op, comb_op, Partitioning::Default)
    }

    /// [`Rdd::aggregate_by_key`] into a partition count or partitioner.
    pub fn aggregate_by_key_with<U: Data, S, C>(
        &self,
        zero: U,
        seq_op: S,
        comb_op: C,
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, U)>
    where
        S: Fn(U, V) -> U + Send + Sync + 'static,
        C: Fn(U, U) -> U + Send + Sync + 'static,
    {
        let seq = Arc::new(seq_op);
        let seq2 = seq.clone();
        self.combine_by_key_with_combiner(
            "aggregate_by_key",
            FnCombiner::new(
                move |v| seq2(zero.clone(), v),
                move |u, v| seq(u, v),
                comb_op,
            ),
            partitioning.into(),
            true,
        )
    }

    /// The values of each key, as a vector (no map-side combine, as Spark).
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        self.group_by_key_with(Partitioning::Default)
    }

    /// [`Rdd::group_by_key`] into a partition count or partitioner.
    pub fn group_by_key_with(&self, partitioning: impl Into<Partitioning<K>>) -> Rdd<(K, Vec<V>)> {
        self.combine_by_key_with_combiner(
            "group_by_key",
            FnCombiner::new(
                |v| vec![v],
                |mut c: Vec<V>, v| {
                    c.push(v);
                    c
                },
                |mut a: Vec<V>, mut b: Vec<V>| {
                    a.append(&mut b);
                    a
                },
            ),
            partitioning.into(),
            false,
        )
    }

    /// The pairs moved so that the partitioner decides each key's partition; a no-op when
    /// already partitioned that way.
    pub fn partition_by(&self, partitioning: impl Into<Partitioning<K>>) -> Rdd<(K, V)> {
        let p = resolve(partitioning.into(), self.context(), &[self.base()]);
        if self.partitioner() == Some(p.desc()) {
            return self.clone();
        }
        ShuffledRdd::create(
            "partition_by",
            self,
            p,
            Arc::new(Identity),
            ShuffleMode::Plain,
        )
    }

    /// The values transformed by `f`, keys and partitioning kept.
    pub fn map_values<U: Data, F>(&self, f: F) -> Rdd<(K, U)>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        MapPartitionsRdd::create(
            self,
            "map_values",
            true,
            Arc::new(move |_, it: BoxIter<(K, V)>| {
                let f = f.clone();
                Box::new(it.map(move |(k, v)| (k, f(v))))
            }),
        )
    }

    /// Each value turned into zero or more values, keys and partitioning kept.
    pub fn flat_map_values<U: Data, I, F>(&self, f: F) -> Rdd<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        MapPartitionsRdd::create(
            self,
            "flat_map_values",
            true,
            Arc::new(move |_, it: BoxIter<(K, V)>| {
                let f = f.clone();
                Box::new(it.flat_map(move |(k, v)| {
                    let k2 = k;
                    f(v).into_iter().map(move |u| (k2.clone(), u))
                }))
            }),
        )
    }

    /// The keys.
    pub fn keys(&self) -> Rdd<K> {
        self.map(|(k, _)| k)
    }

    /// The values.
    pub fn values(&self) -> Rdd<V> {
        self.map(|(_, v)| v)
    }

    /// How many pairs each key has.
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>> {
        Ok(self
            .map_values(|_| 1u64)
            .reduce_by_key(|a, b| a + b)
            .collect()?
            .into_iter()
            .collect())
    }

    /// The values of `key`; computes only its partition when the RDD is hash-partitioned.
    pub fn lookup(&self, key: &K) -> Result<Vec<V>> {
        let k = key.clone();
        if let Some(PartitionerDesc::Hash(n)) = self.partitioner() {
            let p = Partitioner::<K>::partition(&HashPartitioner::new(n), key);
            let got = self.run_job_on(&[p], move |_, it| {
                Ok(it
                    .filter(|(x, _)| *x == k)
                    .map(|(_, v)| v)
                    .collect::<Vec<V>>())
            })?;
            return Ok(got.into_iter().flatten().collect());
        }
        self.filter(move |(x, _)| *x == k).values().collect()
    }
}
