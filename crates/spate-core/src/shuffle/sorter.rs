//! [`ExternalSorter`]: sorts a partition by key within a memory budget, spilling sorted
//! runs to scratch files and merging them (the reduce side of `sort_by_key`).

use super::spill::{write_run, Run, SpilledRun, RUN_BATCH};
use crate::codec;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::rdd::BoxIter;
use crate::storage::BlockStore;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Sorts `(K, V)` records by key, ascending or descending.
pub struct ExternalSorter<K, V> {
    buf: Vec<(K, V)>,
    runs: Vec<SpilledRun>,
    ascending: bool,
    budget: usize,
    record_bytes: usize,
    bs: Arc<BlockStore>,
}

impl<K: Key + Ord, V: Data> ExternalSorter<K, V> {
    /// A sorter spilling past about `budget` bytes to `bs`'s directory.
    pub fn new(ascending: bool, budget: usize, bs: Arc<BlockStore>) -> Self {
        ExternalSorter {
            buf: Vec::new(),
            runs: Vec::new(),
            ascending,
            budget,
            record_bytes: 0,
            bs,
        }
    }

    /// Runs spilled so far.
    pub fn spill_count(&self) -> usize {
        self.runs.len()
    }

    fn cmp(ascending: bool, a: &K, b: &K) -> Ordering {
        if ascending {
            a.cmp(b)
        } else {
            b.cmp(a)
        }
    }

    /// Adds a record.
    pub fn insert(&mut self, kv: (K, V)) -> Result<()> {
        self.buf.push(kv);
        if self.buf.len() % RUN_BATCH == 0 {
            if self.record_bytes == 0 {
                let sample: Vec<&(K, V)> = self.buf.iter().take(16).collect();
                self.record_bytes = codec::estimate_record_bytes(&sample)
                    - std::mem::size_of::<&(K, V)>()
                    + std::mem::size_of::<(K, V)>();
            }
            if self.buf.len() * self.record_bytes > self.budget {
                self.spill()?;
            }
        }
        Ok(())
    }

    fn sort_buf(&mut self) {
        let asc = self.ascending;
        self.buf.sort_by(|a, b| Self::cmp(asc, &a.0, &b.0));
    }

    fn spill(&mut self) -> Result<()> {
        self.sort_buf();
        let run = write_run(&self.bs, "sort spill", &self.buf)?;
        self.buf.clear();
        self.runs.push(run);
        Ok(())
    }

    /// The records in key order.
    pub fn finish(mut self) -> Result<BoxIter<(K, V)>> {
        self.sort_buf();
        if self.runs.is_empty() {
            return Ok(Box::new(std::mem::take(&mut self.buf).into_iter()));
        }
        let mut sources: Vec<Run<(K, V)>> = Vec::new();
        for f in std::mem::take(&mut self.runs) {
            sources.push(Run::open(f)?);
        }
        sources.push(Run::Mem(std::mem::take(&mut self.buf).into_iter()));
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(kv) = s.next_record() {
                heap.push(Head {
                    kv,
                    run: i,
                    ascending: self.ascending,
                });
            }
        }
        Ok(Box::new(Merge { sources, heap }))
    }
}

/// The smallest (or largest, descending) head of a run; ties go to the earlier run.
struct Head<K, V> {
    kv: (K, V),
    run: usize,
    ascending: bool,
}

impl<K: Ord, V> PartialEq for Head<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K: Ord, V> Eq for Head<K, V> {}
impl<K: Ord, V> PartialOrd for Head<K, V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, V> Ord for Head<K, V> {
    /// Reversed for the max-heap: the next record to emit is the greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        let by_key = if self.ascending {
            self.kv.0.cmp(&other.kv.0)
        } else {
            other.kv.0.cmp(&self.kv.0)
        };
        by_key.then(self.run.cmp(&other.run)).reverse()
    }
}

struct Merge<K, V> {
    sources: Vec<Run<(K, V)>>,
    heap: BinaryHeap<Head<K, V>>,
}

impl<K: Key + Ord, V: Data> Iterator for Merge<K, V> {
    type Item = (K, V);
    fn next(&mut self) -> Option<(K, V)> {
        let Head { kv, run, ascending } = self.heap.pop()?;
        if let Some(next) = self.sources[run].next_record() {
            self.heap.push(Head {
                kv: next,
                run,
                ascending,
            });
        }
        Some(kv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_runs_merge_in_order_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        for ascending in [true, false] {
            let bs = Arc::new(BlockStore::new(1 << 20, dir.path().to_path_buf()));
            let mut s = ExternalSorter::<u64, String>::new(ascending, 64 << 10, bs);
            let n = 50_000u64;
            for i in 0..n {
                s.insert(((i * 7919) % n, format!("v{i}"))).unwrap();
            }
            assert!(s.spill_count() > 1, "spilled");
            let keys: Vec<u64> = s.finish().unwrap().map(|(k, _)| k).collect();
            let mut want: Vec<u64> = (0..n).collect();
            if !ascending {
                want.reverse();
            }
            assert_eq!(keys, want);
        }
    }
}
