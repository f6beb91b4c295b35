//! Cogroup and joins of pair RDDs.

use super::Rdd;
use crate::data::{Data, Key};
use crate::partitioner::Partitioning;
use serde::{Deserialize, Serialize};

/// A value of one side of a cogroup, tagged with its side.
#[derive(Clone, Serialize, Deserialize)]
enum Side<V, W> {
    Left(V),
    Right(W),
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// For each key of either RDD, its values in this RDD and in `other`.
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        self.cogroup_with(other, Partitioning::Default)
    }

    /// [`Rdd::cogroup`] into a partition count or partitioner. RDDs already partitioned
    /// that way are not shuffled.
    pub fn cogroup_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let p = super::pair::resolve(
            partitioning.into(),
            self.context(),
            &[self.base(), other.base()],
        );
        let left = self.map_values(Side::<V, W>::Left);
        let right = other.map_values(Side::<V, W>::Right);
        left.union(&right).combine_by_key_with_combiner(
            "cogroup",
            crate::shuffle::FnCombiner::new(
                |s: Side<V, W>| match s {
                    Side::Left(v) => (vec![v], Vec::new()),
                    Side::Right(w) => (Vec::new(), vec![w]),
                },
                |mut c: (Vec<V>, Vec<W>), s| {
                    match s {
                        Side::Left(v) => c.0.push(v),
                        Side::Right(w) => c.1.push(w),
                    }
                    c
                },
                |mut a: (Vec<V>, Vec<W>), mut b: (Vec<V>, Vec<W>)| {
                    a.0.append(&mut b.0);
                    a.1.append(&mut b.1);
                    a
                },
            ),
            Partitioning::With(p),
            false,
        )
    }

    /// Pairs of values for every key in both RDDs.
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.join_with(other, Partitioning::Default)
    }

    /// [`Rdd::join`] into a partition count or partitioner.
    pub fn join_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, (V, W))> {
        self.cogroup_with(other, p).flat_map_values(|(vs, ws)| {
            let mut out = Vec::with_capacity(vs.len() * ws.len());
            for v in &vs {
                for w in &ws {
                    out.push((v.clone(), w.clone()));
                }
            }
            out
        })
    }

    /// Every pair of this RDD, with `other`'s values for its key or `None`.
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.left_outer_join_with(other, Partitioning::Default)
    }

    /// [`Rdd::left_outer_join`] into a partition count or partitioner.
    pub fn left_outer_join_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup_with(other, p).flat_map_values(|(vs, ws)| {
            let mut out = Vec::new();
            for v in &vs {
                if ws.is_empty() {
                    out.push((v.clone(), None));
                }
                for w in &ws {
                    out.push((v.clone(), Some(w.clone())));
                }
            }
            out
        })
    }

    /// Every pair of `other`, with this RDD's values for its key or `None`.
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        self.right_outer_join_with(other, Partitioning::Default)
    }

    /// [`Rdd::right_outer_join`] into a partition count or partitioner.
    pub fn right_outer_join_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, (Option<V>, W))> {
        self.cogroup_with(other, p).flat_map_values(|(vs, ws)| {
            let mut out = Vec::new();
            if vs.is_empty() {
                for w in &ws {
                    out.push((None, w.clone()));
                }
            }
            for v in &vs {
                for w in &ws {
                    out.push((Some(v.clone()), w.clone()));
                }
            }
            out
        })
    }

    /// Every key of either RDD, with both sides' values or `None`.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
    ) -> Rdd<(K, (Option<V>, Option<W>))> {
        self.full_outer_join_with(other, Partitioning::Default)
    }

    /// [`Rdd::full_outer_join`] into a partition count or partitioner.
    pub fn full_outer_join_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, (Option<V>, Option<W>))> {
        self.cogroup_with(other, p).flat_map_values(|(vs, ws)| {
            let mut out = Vec::new();
            if vs.is_empty() {
                for w in &ws {
                    out.push((None, Some(w.clone())));
                }
            } else if ws.is_empty() {
                for v in &vs {
                    out.push((Some(v.clone()), None));
                }
            } else {
                for v in &vs {
                    for w in &ws {
                        out.push((Some(v.clone()), Some(w.clone())));
                    }
                }
            }
            out
        })
    }

    /// The pairs of this RDD whose key is not in `other`.
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        self.subtract_by_key_with(other, Partitioning::Default)
    }

    /// [`Rdd::subtract_by_key`] into a partition count or partitioner.
    pub fn subtract_by_key_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        p: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, V)> {
        self.cogroup_with(other, p)
            .filter(|(_, (_, ws))| ws.is_empty())
            .flat_map_values(|(vs, _)| vs)
    }
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// For each key of any of the RDDs, its values in this RDD (index 0) and in each of
    /// `others` (index i + 1): Spark's `CoGroupedRDD` over many parents. RDDs already
    /// partitioned like the result are not shuffled.
    pub fn cogroup_many(
        &self,
        others: &[Rdd<(K, V)>],
        partitioning: impl Into<Partitioning<K>>,
    ) -> Rdd<(K, Vec<Vec<V>>)> {
        let mut all = vec![self.clone()];
        all.extend(others.iter().cloned());
        let bases: Vec<_> = all.iter().map(|r| r.base()).collect();
        let p = super::pair::resolve(partitioning.into(), self.context(), &bases);
        let n = all.len();
        let tagged: Vec<Rdd<(K, (u32, V))>> = all
            .iter()
            .enumerate()
            .map(|(i, r)| r.map_values(move |v| (i as u32, v)))
            .collect();
        let union = self.context().union(tagged);
        union.combine_by_key_with_combiner(
            "cogroup",
            crate::shuffle::FnCombiner::new(
                move |(i, v): (u32, V)| {
                    let mut c: Vec<Vec<V>> = (0..n).map(|_| Vec::new()).collect();
                    c[i as usize].push(v);
                    c
                },
                |mut c: Vec<Vec<V>>, (i, v): (u32, V)| {
                    c[i as usize].push(v);
                    c
                },
                |mut a: Vec<Vec<V>>, b: Vec<Vec<V>>| {
                    for (x, mut y) in a.iter_mut().zip(b) {
                        x.append(&mut y);
                    }
                    a
                },
            ),
            Partitioning::With(p),
            false,
        )
    }
}
