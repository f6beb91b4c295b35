//! Sorting by key: a range partitioner from a sample of the keys, then a sort of each
//! partition.

use super::nodes::MapPartitionsRdd;
use super::{BoxIter, Rdd};
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::RangePartitioner;
use crate::rng::SplitMix64;
use crate::scheduler::TaskContext;
use crate::shuffle::{ExternalSorter, Identity, ShuffleMode, ShuffledRdd};
use std::sync::Arc;

impl<K: Key + Ord, V: Data> Rdd<(K, V)> {
    /// The pairs sorted by key, into as many partitions as this RDD has.
    pub fn sort_by_key(&self, ascending: bool) -> Result<Rdd<(K, V)>> {
        self.sort_by_key_with(ascending, self.num_partitions().max(1))
    }

    /// The pairs sorted by key into `partitions` range partitions: partition i holds
    /// smaller keys than partition i+1 (larger, descending). Runs a job to sample keys.
    pub fn sort_by_key_with(&self, ascending: bool, partitions: usize) -> Result<Rdd<(K, V)>> {
        super::transformations::check_partitions("sort_by_key", partitions)?;
        let bounds = self.range_bounds(partitions)?;
        let p = RangePartitioner::from_bounds(bounds, ascending);
        let shuffled = ShuffledRdd::create(
            "sort_by_key",
            self,
            Arc::new(p),
            Arc::new(Identity),
            ShuffleMode::Plain,
        );
        Ok(sort_partitions(&shuffled, ascending))
    }

    /// Upper bounds splitting the keys into `partitions` ranges of about equal weight,
    /// from a reservoir sample of each partition (Spark's `RangePartitioner.sketch`).
    fn range_bounds(&self, partitions: usize) -> Result<Vec<K>> {
        if partitions <= 1 || self.num_partitions() == 0 {
            return Ok(Vec::new());
        }
        let sample_size = (20 * partitions).min(1_000_000);
        let per_part = (3 * sample_size).div_ceil(self.num_partitions()).max(1);
        let sketches = self.keys().run_job(move |tc, it| {
            let mut rng = SplitMix64::new(0x5EED ^ tc.partition() as u64);
            let mut res: Vec<K> = Vec::with_capacity(per_part);
            let mut n = 0u64;
            for k in it {
                n += 1;
                if res.len() < per_part {
                    res.push(k);
                } else {
                    let j = rng.below(n) as usize;
                    if j < per_part {
                        res[j] = k;
                    }
                }
            }
            Ok((n, res))
        })?;
        let mut weighted: Vec<(K, f64)> = Vec::new();
        for (n, s) in sketches {
            if s.is_empty() {
                continue;
            }
            let w = n as f64 / s.len() as f64;
            weighted.extend(s.into_iter().map(|k| (k, w)));
        }
        if weighted.is_empty() {
            return Ok(Vec::new());
        }
        weighted.sort_by(|a, b| a.0.cmp(&b.0));
        let total: f64 = weighted.iter().map(|x| x.1).sum();
        let step = total / partitions as f64;
        let mut bounds: Vec<K> = Vec::new();
        let mut cum = 0.0;
        let mut target = step;
        for (k, w) in weighted {
            cum += w;
            if cum >= target && bounds.len() < partitions - 1 {
                if bounds.last() != Some(&k) {
                    bounds.push(k);
                }
                target += step;
            }
        }
        Ok(bounds)
    }
}

/// Each partition of `rdd` sorted by key within the memory budget, spilling sorted runs
/// past it; pipelined in the task that reads the partition (the shuffle read, after a
/// shuffle). Keeps the partitioner.
pub(crate) fn sort_partitions<K: Key + Ord, V: Data>(
    rdd: &Rdd<(K, V)>,
    ascending: bool,
) -> Rdd<(K, V)> {
    MapPartitionsRdd::create(
        rdd,
        "map_partitions",
        true,
        Arc::new(move |tc: &TaskContext, it: BoxIter<(K, V)>| {
            let env = tc.env();
            let mut sorter = ExternalSorter::new(
                ascending,
                env.task_memory_budget(),
                env.block_store().clone(),
            );
            let mut err = None;
            it.drive(&mut |kv| {
                if err.is_none() {
                    if let Err(e) = sorter.insert(kv) {
                        err = Some(e);
                    }
                }
            });
            match err.map_or_else(|| sorter.finish(), Err) {
                Ok(it) => it,
                Err(e) => {
                    tc.fail(e);
                    Box::new(std::iter::empty())
                }
            }
        }),
    )
}
