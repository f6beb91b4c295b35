//! More actions: emptiness, extremes, a map of pairs, a partition-at-a-time iterator and
//! tree-shaped aggregation.

use super::Rdd;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::partitioner::HashPartitioner;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

impl<T: Data> Rdd<T> {
    /// Whether the RDD has no records (Spark's `isEmpty`). Scans as few partitions as
    /// `take(1)`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.num_partitions() == 0 || self.take(1)?.is_empty())
    }

    /// The records, one partition at a time (Spark's `toLocalIterator`): each partition
    /// is fetched by its own job when the iterator reaches it, so memory holds at most
    /// the largest partition. An error ends the iteration after being yielded once.
    pub fn to_local_iterator(&self) -> LocalIterator<T> {
        LocalIterator {
            rdd: self.clone(),
            next_part: 0,
            buf: Vec::new().into_iter(),
            failed: false,
        }
    }

    /// The smallest record by `cmp` (Spark's `min(ord)`).
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] when there are no records.
    pub fn min_by<F>(&self, cmp: F) -> Result<T>
    where
        F: Fn(&T, &T) -> Ordering + Send + Sync + 'static,
    {
        extreme(self, "min", move |a, b| cmp(a, b) != Ordering::Greater)
    }

    /// The largest record by `cmp` (Spark's `max(ord)`).
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] when there are no records.
    pub fn max_by<F>(&self, cmp: F) -> Result<T>
    where
        F: Fn(&T, &T) -> Ordering + Send + Sync + 'static,
    {
        extreme(self, "max", move |a, b| cmp(a, b) != Ordering::Less)
    }

    /// The smallest record.
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] when there are no records.
    pub fn min(&self) -> Result<T>
    where
        T: Ord,
    {
        self.min_by(T::cmp)
    }

    /// The largest record.
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] when there are no records.
    pub fn max(&self) -> Result<T>
    where
        T: Ord,
    {
        self.max_by(T::cmp)
    }

    /// [`Rdd::reduce`] with the partials combined in a tree of `depth` levels (Spark's
    /// `treeReduce`, default depth 2): the partitions' results are merged by shuffles
    /// into fewer and fewer partitions before the last few come to the driver.
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] without records; [`Error::InvalidArgument`] when `depth` is 0.
    pub fn tree_reduce<F>(&self, f: F, depth: usize) -> Result<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.tree_aggregate(
            None::<T>,
            move |acc, x| match acc {
                Some(a) => Some(f(a, x)),
                None => Some(x),
            },
            move |a, b| match (a, b) {
                (Some(a), Some(b)) => Some(g(a, b)),
                (a, None) => a,
                (None, b) => b,
            },
            depth,
        )?
        .ok_or(Error::EmptyRdd("tree_reduce"))
    }

    /// [`Rdd::aggregate`] with the partials combined in a tree of `depth` levels (Spark's
    /// `treeAggregate`, default depth 2). `zero` must be an identity of `comb_op`, as for
    /// `aggregate`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `depth` is 0; a failed job.
    pub fn tree_aggregate<U: Data, S, C>(
        &self,
        zero: U,
        seq_op: S,
        comb_op: C,
        depth: usize,
    ) -> Result<U>
    where
        S: Fn(U, T) -> U + Send + Sync + 'static,
        C: Fn(U, U) -> U + Send + Sync + 'static,
    {
        if depth == 0 {
            return Err(Error::InvalidArgument {
                op: "tree_aggregate",
                reason: "depth must be at least 1".into(),
            });
        }
        if self.num_partitions() == 0 {
            return Ok(zero);
        }
        let comb = Arc::new(comb_op);
        let z = zero.clone();
        let mut partial: Rdd<U> =
            self.map_partitions(move |it| std::iter::once(it.fold(z.clone(), &seq_op)));
        let mut n = partial.num_partitions();
        let scale = ((n as f64).powf(1.0 / depth as f64).ceil() as usize).max(2);
        // Merge while that saves more than the extra level costs, as Spark does.
        while n > scale + n.div_ceil(scale) {
            n /= scale;
            let cur = n;
            let c = comb.clone();
            partial = partial
                .map_partitions_with_index(move |i, it| it.map(move |u| ((i % cur) as u64, u)))
                .fold_by_key_with(zero.clone(), move |a, b| c(a, b), HashPartitioner::new(cur))
                .values();
        }
        let c = comb.clone();
        partial.fold(zero, move |a, b| c(a, b))
    }
}

/// The record that `keep_first(a, b)` prefers over every other.
fn extreme<T: Data, F>(rdd: &Rdd<T>, op: &'static str, keep_first: F) -> Result<T>
where
    F: Fn(&T, &T) -> bool + Send + Sync + 'static,
{
    let pick = Arc::new(keep_first);
    let p = pick.clone();
    let partials = rdd.run_job(move |_, it| Ok(it.reduce(|a, b| if p(&a, &b) { a } else { b })))?;
    partials
        .into_iter()
        .flatten()
        .reduce(|a, b| if pick(&a, &b) { a } else { b })
        .ok_or(Error::EmptyRdd(op))
}

/// The iterator of [`Rdd::to_local_iterator`]: runs one job per partition as it goes.
pub struct LocalIterator<T: Data> {
    rdd: Rdd<T>,
    next_part: usize,
    buf: std::vec::IntoIter<T>,
    failed: bool,
}

impl<T: Data> Iterator for LocalIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(x) = self.buf.next() {
                return Some(Ok(x));
            }
            if self.failed || self.next_part >= self.rdd.num_partitions() {
                return None;
            }
            let p = self.next_part;
            self.next_part += 1;
            match self
                .rdd
                .run_job_on(&[p], |_, it| Ok(it.collect::<Vec<T>>()))
            {
                Ok(mut parts) => self.buf = parts.pop().unwrap_or_default().into_iter(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// The pairs as a map (Spark's `collectAsMap`); of several values for one key, the
    /// last in partition order wins.
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>> {
        Ok(self.collect()?.into_iter().collect())
    }

    /// Merges the values of each key with an associative, commutative `f` into a map on
    /// the driver, without a shuffle (Spark's `reduceByKeyLocally`).
    pub fn reduce_by_key_locally<F>(&self, f: F) -> Result<HashMap<K, V>>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        let partials = self.run_job(move |_, it| {
            let mut m: HashMap<K, V> = HashMap::new();
            for (k, v) in it {
                merge_into(&mut m, k, v, &*g);
            }
            Ok(m.into_iter().collect::<Vec<(K, V)>>())
        })?;
        let mut out = HashMap::new();
        for (k, v) in partials.into_iter().flatten() {
            merge_into(&mut out, k, v, &*f);
        }
        Ok(out)
    }
}

fn merge_into<K: Key, V, F: Fn(V, V) -> V + ?Sized>(m: &mut HashMap<K, V>, k: K, v: V, f: &F) {
    match m.remove(&k) {
        Some(old) => {
            m.insert(k, f(old, v));
        }
        None => {
            m.insert(k, v);
        }
    }
}
