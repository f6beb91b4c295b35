//! Combining values by key, in memory up to a budget and with sorted spills past it
//! (Spark's `ExternalAppendOnlyMap`).

use super::spill::{write_run, Run, SpilledRun};
use super::CombineMap;
use crate::codec;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::stable_hash;
use crate::rdd::BoxIter;
use crate::storage::BlockStore;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::marker::PhantomData;
use std::sync::Arc;

/// How values `V` combine into a combiner `C` (Spark's `Aggregator`). Generic, so the
/// aggregation loops are monomorphic: no dynamic call per record.
pub trait Combiner<V, C>: Send + Sync + 'static {
    /// The combiner of a key's first value.
    fn create(&self, v: V) -> C;
    /// Adds a value to a combiner.
    fn merge_value(&self, c: C, v: V) -> C;
    /// Merges two combiners of the same key.
    fn merge_combiners(&self, a: C, b: C) -> C;
}

/// A [`Combiner`] from three closures.
pub struct FnCombiner<F1, F2, F3> {
    create: F1,
    merge_value: F2,
    merge_combiners: F3,
}

impl<F1, F2, F3> FnCombiner<F1, F2, F3> {
    /// Wraps the three functions.
    pub fn new(create: F1, merge_value: F2, merge_combiners: F3) -> Self {
        FnCombiner {
            create,
            merge_value,
            merge_combiners,
        }
    }
}

impl<V, C, F1, F2, F3> Combiner<V, C> for FnCombiner<F1, F2, F3>
where
    F1: Fn(V) -> C + Send + Sync + 'static,
    F2: Fn(C, V) -> C + Send + Sync + 'static,
    F3: Fn(C, C) -> C + Send + Sync + 'static,
{
    #[inline]
    fn create(&self, v: V) -> C {
        (self.create)(v)
    }
    #[inline]
    fn merge_value(&self, c: C, v: V) -> C {
        (self.merge_value)(c, v)
    }
    #[inline]
    fn merge_combiners(&self, a: C, b: C) -> C {
        (self.merge_combiners)(a, b)
    }
}

/// The combiner of a plain shuffle: a value is its own combiner; merging keeps both
/// sides' latest (never called by a plain shuffle).
pub struct Identity;

impl<V: 'static> Combiner<V, V> for Identity {
    #[inline]
    fn create(&self, v: V) -> V {
        v
    }
    fn merge_value(&self, _c: V, v: V) -> V {
        v
    }
    fn merge_combiners(&self, _a: V, b: V) -> V {
        b
    }
}

/// Estimated bytes per entry of a combine map, from a sample.
pub(crate) fn entry_size<K: Key, C: Data>(map: &CombineMap<K, C>) -> usize {
    let sample = map.sample(16);
    // Encoded size plus the in-memory entry and hash table slack.
    codec::estimate_record_bytes(&sample) - std::mem::size_of::<(&K, &C)>()
        + std::mem::size_of::<(K, C)>() * 3 / 2
        + 8
}

/// Combines `(K, V)` or `(K, C)` records by key within a memory budget, spilling runs
/// sorted by key hash to scratch files and merging them at the end.
pub struct ExternalAggregator<K: Key, V, C: Data, A: Combiner<V, C>> {
    map: CombineMap<K, C>,
    agg: Arc<A>,
    budget: usize,
    entry_bytes: usize,
    next_check: usize,
    runs: Vec<SpilledRun>,
    bs: Arc<BlockStore>,
    _v: PhantomData<fn(V)>,
}

impl<K: Key, V: 'static, C: Data, A: Combiner<V, C>> ExternalAggregator<K, V, C, A> {
    /// An aggregator using at most about `budget` bytes before spilling to `bs`'s dir.
    pub fn new(agg: Arc<A>, budget: usize, bs: Arc<BlockStore>) -> Self {
        ExternalAggregator {
            map: CombineMap::new(),
            agg,
            budget,
            entry_bytes: 0,
            next_check: 1024,
            runs: Vec::new(),
            bs,
            _v: PhantomData,
        }
    }

    /// How many runs were spilled.
    pub fn spill_count(&self) -> usize {
        self.runs.len()
    }

    /// Adds a value.
    #[inline]
    pub fn insert_value(&mut self, k: K, v: V) -> Result<()> {
        let agg = &*self.agg;
        self.map
            .upsert(k, v, |v| agg.create(v), |c, v| agg.merge_value(c, v));
        self.maybe_spill()
    }

    /// Adds a combiner.
    #[inline]
    pub fn insert_combiner(&mut self, k: K, c: C) -> Result<()> {
        let agg = &*self.agg;
        self.map
            .upsert(k, c, |c| c, |a, b| agg.merge_combiners(a, b));
        self.maybe_spill()
    }

    fn maybe_spill(&mut self) -> Result<()> {
        if self.map.len() < self.next_check {
            return Ok(());
        }
        self.next_check = self.map.len() + self.map.len() / 2;
        if self.entry_bytes == 0 {
            self.entry_bytes = entry_size(&self.map);
        }
        if self.map.len() * self.entry_bytes > self.budget {
            self.spill()?;
            self.next_check = 1024;
        }
        Ok(())
    }

    fn sorted_entries(&mut self) -> Vec<(u64, K, C)> {
        let mut v: Vec<(u64, K, C)> = self
            .map
            .drain()
            .into_iter()
            .map(|(k, c)| (stable_hash(&k), k, c))
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v
    }

    fn spill(&mut self) -> Result<()> {
        let entries = self.sorted_entries();
        let run = write_run(&self.bs, "aggregation spill", &entries)?;
        self.runs.push(run);
        Ok(())
    }

    /// The combined records.
    pub fn finish(mut self) -> Result<BoxIter<(K, C)>> {
        if self.runs.is_empty() {
            return Ok(Box::new(self.map.drain().into_iter()));
        }
        let mem = self.sorted_entries();
        let mut runs: Vec<Run<(u64, K, C)>> = Vec::new();
        for f in std::mem::take(&mut self.runs) {
            runs.push(Run::open(f)?);
        }
        runs.push(Run::Mem(mem.into_iter()));
        let mut heap = BinaryHeap::new();
        let mut heads = Vec::with_capacity(runs.len());
        for (i, r) in runs.iter_mut().enumerate() {
            let h = r.next_record();
            if let Some((hash, _, _)) = &h {
                heap.push(Reverse((*hash, i)));
            }
            heads.push(h);
        }
        Ok(Box::new(MergeIter {
            runs,
            heads,
            heap,
            agg: self.agg,
            out: VecDeque::new(),
            _v: PhantomData::<fn(V)>,
        }))
    }
}

struct MergeIter<K, V, C, A> {
    runs: Vec<Run<(u64, K, C)>>,
    heads: Vec<Option<(u64, K, C)>>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    agg: Arc<A>,
    out: VecDeque<(K, C)>,
    _v: PhantomData<fn(V)>,
}

impl<K: Key, V: 'static, C: Data, A: Combiner<V, C>> Iterator for MergeIter<K, V, C, A> {
    type Item = (K, C);
    fn next(&mut self) -> Option<(K, C)> {
        loop {
            if let Some(r) = self.out.pop_front() {
                return Some(r);
            }
            let Reverse((hash, _)) = *self.heap.peek()?;
            let mut group: Vec<(K, C)> = Vec::new();
            while let Some(&Reverse((h, i))) = self.heap.peek() {
                if h != hash {
                    break;
                }
                self.heap.pop();
                // Take every entry of run i with this hash.
                while let Some((h2, _, _)) = &self.heads[i] {
                    if *h2 != hash {
                        break;
                    }
                    let (_, k, c) = self.heads[i].take().expect("head present");
                    match group.iter().position(|(gk, _)| *gk == k) {
                        Some(idx) => {
                            let (gk, gc) = group.swap_remove(idx);
                            group.push((gk, self.agg.merge_combiners(gc, c)));
                        }
                        None => group.push((k, c)),
                    }
                    self.heads[i] = self.runs[i].next_record();
                }
                if let Some((h2, _, _)) = &self.heads[i] {
                    self.heap.push(Reverse((*h2, i)));
                }
            }
            self.out.extend(group);
        }
    }
}
