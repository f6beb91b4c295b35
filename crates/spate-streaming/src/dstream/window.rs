//! Window operations: each output at time T covers the parent's batches in (T-W, T],
//! oldest first, emitted every slide S; the first outputs are partial windows.

use super::{slice, Compute, DStream, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::time::{check_multiple, millis_of, Time};
use spate_core::{Context, Data, Key, Partitioner, Partitioning, Rdd, StorageLevel};
use std::sync::Arc;
use std::time::Duration;

/// Spark's `WindowedDStream`.
pub(crate) struct Windowed<T: Data> {
    // The parent's node and the core context, not a `DStream` handle: the graph must not
    // hold its streaming context (a cycle through the context's outputs).
    parent: Arc<dyn DStreamNode<T>>,
    ctx: Context,
    window_ms: i64,
}

impl<T: Data> Compute<T> for Windowed<T> {
    fn compute(&self, time: Time, _this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        let from = Time(time.0 - self.window_ms + self.parent.meta().slide_ms());
        let rdds = slice(&*self.parent, from, time)?;
        Ok(Some(self.ctx.union(rdds)))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        vec![self.parent.clone()]
    }
    fn parent_remember_extra_ms(&self) -> i64 {
        self.window_ms
    }
}

/// Checks a window and slide against the parent's slide; returns them in ms.
fn window_and_slide(parent_slide: i64, window: Duration, slide: Duration) -> Result<(i64, i64)> {
    let w = millis_of("window duration", window)?;
    let s = millis_of("slide duration", slide)?;
    check_multiple(
        "window duration",
        w,
        "parent's slide duration",
        parent_slide,
    )?;
    check_multiple("slide duration", s, "parent's slide duration", parent_slide)?;
    Ok((w, s))
}

/// Spark's `ReducedWindowedDStream`: the previous window's value, minus the batches that
/// left the window (inverse function), plus the batches that entered it.
struct ReducedWindowed<K: Key, V: Data> {
    reduced: Arc<dyn DStreamNode<(K, V)>>,
    ctx: Context,
    reduce: Arc<dyn Fn(V, V) -> V + Send + Sync>,
    inverse: Arc<dyn Fn(V, V) -> V + Send + Sync>,
    filter: Option<Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>>,
    window_ms: i64,
    slide_ms: i64,
    partitioner: Arc<dyn Partitioner<K>>,
}

impl<K: Key, V: Data> Compute<(K, V)> for ReducedWindowed<K, V> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<(K, V)>) -> Result<Option<Rdd<(K, V)>>> {
        let ps = self.reduced.meta().slide_ms();
        let cur_begin = time.0 - self.window_ms + ps;
        let prev_begin = cur_begin - self.slide_ms;
        let prev_end = time.0 - self.slide_ms;
        // The batches that left the window and those that entered it. When the window is
        // shorter than the slide the two windows do not overlap: everything of the
        // previous window leaves and everything of the current one enters. (Spark's
        // ReducedWindowedDStream does not clamp here and gets such windows wrong; spate
        // gives what the same reduction without an inverse gives.)
        let old = slice(
            &*self.reduced,
            Time(prev_begin),
            Time((cur_begin - ps).min(prev_end)),
        )?;
        let new = slice(&*self.reduced, Time((prev_end + ps).max(cur_begin)), time)?;
        let previous = this
            .get_or_compute(Time(prev_end))?
            .unwrap_or_else(|| self.ctx.empty());
        let (n_old, n_new) = (old.len(), new.len());
        let mut others = old;
        others.extend(new);
        let grouped = previous.cogroup_many(&others, Partitioning::With(self.partitioner.clone()));
        let (reduce, inverse) = (self.reduce.clone(), self.inverse.clone());
        let merged = grouped.map_values(move |groups: Vec<Vec<V>>| {
            let first = |g: &Vec<V>| g.first().cloned();
            let olds: Vec<V> = groups[1..=n_old].iter().filter_map(first).collect();
            let news: Vec<V> = groups[1 + n_old..1 + n_old + n_new]
                .iter()
                .filter_map(first)
                .collect();
            let fold = |vs: Vec<V>| vs.into_iter().reduce(|a, b| reduce(a, b));
            match groups[0].first().cloned() {
                None => fold(news).expect("a key of a window has a previous value or new values"),
                Some(mut v) => {
                    if let Some(o) = fold(olds) {
                        v = inverse(v, o);
                    }
                    if let Some(n) = fold(news) {
                        v = reduce(v, n);
                    }
                    v
                }
            }
        });
        Ok(Some(match &self.filter {
            Some(f) => {
                let f = f.clone();
                merged.filter(move |kv| f(kv))
            }
            None => merged,
        }))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        vec![self.reduced.clone()]
    }
    fn parent_remember_extra_ms(&self) -> i64 {
        self.window_ms
    }
}

impl<T: Data> DStream<T> {
    /// The records of the batches in each window of length `window`, every `slide`
    /// (both multiples of this stream's slide).
    pub fn window(&self, window: Duration, slide: Duration) -> Result<DStream<T>> {
        let (w, s) = window_and_slide(self.slide_ms(), window, slide)?;
        // The parent's RDDs are read by several windows: keep them (Spark does the same).
        {
            let mut storage = self.node.meta().storage.lock();
            if storage.is_none() {
                *storage = Some(StorageLevel::MEMORY_ONLY_SER);
            }
        }
        Ok(DStream::create(
            &self.ssc,
            "window",
            s,
            false,
            Windowed {
                parent: self.node.clone(),
                ctx: self.ssc.ctx().clone(),
                window_ms: w,
            },
        ))
    }

    /// Each window reduced to one element by an associative, commutative `f` (nothing for
    /// an empty window).
    pub fn reduce_by_window<F>(&self, f: F, window: Duration, slide: Duration) -> Result<DStream<T>>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.reduce(move |a, b| f(a, b))
            .window(window, slide)
            .map(|w| w.reduce(move |a, b| g(a, b)))
    }

    /// Each window reduced incrementally: the previous window's value, `inverse` of the
    /// batches that left, `f` of those that entered. Nothing before the first element;
    /// afterwards a value even for an empty window (e.g. 0). Needs a checkpoint directory.
    pub fn reduce_by_window_inv<F, G>(
        &self,
        f: F,
        inverse: G,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<T>>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
        G: Fn(T, T) -> T + Send + Sync + 'static,
    {
        Ok(self
            .map(|x| (1u8, x))
            .reduce_by_key_and_window_inv(
                f,
                inverse,
                window,
                slide,
                1usize,
                None::<fn(&(u8, T)) -> bool>,
            )?
            .map(|(_, v)| v))
    }

    /// The number of records in each window (incremental, with an inverse; needs a
    /// checkpoint directory).
    pub fn count_by_window(&self, window: Duration, slide: Duration) -> Result<DStream<i64>> {
        self.map(|_| 1i64)
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, window, slide)
    }
}

impl<T: Key> DStream<T> {
    /// How often each distinct record occurs in each window; zero counts are dropped.
    /// Incremental; needs a checkpoint directory.
    pub fn count_by_value_and_window(
        &self,
        window: Duration,
        slide: Duration,
        p: impl Into<Partitioning<T>>,
    ) -> Result<DStream<(T, i64)>> {
        self.map(|x| (x, 1i64)).reduce_by_key_and_window_inv(
            |a, b| a + b,
            |a, b| a - b,
            window,
            slide,
            p,
            Some(|kv: &(T, i64)| kv.1 != 0),
        )
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Each window's values merged per key by `f`; a key with no value in the window is
    /// absent.
    pub fn reduce_by_key_and_window<F>(
        &self,
        f: F,
        window: Duration,
        slide: Duration,
        p: impl Into<Partitioning<K>>,
    ) -> Result<DStream<(K, V)>>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let p = self.partitioner_for(p);
        let f = Arc::new(f);
        let g = f.clone();
        self.reduce_by_key_with(move |a, b| f(a, b), Partitioning::With(p.clone()))
            .window(window, slide)
            .map(|w| w.reduce_by_key_with(move |a, b| g(a, b), Partitioning::With(p)))
    }

    /// Each window's values per key computed incrementally from the previous window:
    /// `inverse` removes the batches that left the window, `f` adds those that entered.
    /// Without `filter` a key stays (with its zero value) after its values left the
    /// window; `filter` keeps only the pairs it accepts. Needs a checkpoint directory.
    pub fn reduce_by_key_and_window_inv<F, G, H>(
        &self,
        f: F,
        inverse: G,
        window: Duration,
        slide: Duration,
        p: impl Into<Partitioning<K>>,
        filter: Option<H>,
    ) -> Result<DStream<(K, V)>>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
        G: Fn(V, V) -> V + Send + Sync + 'static,
        H: Fn(&(K, V)) -> bool + Send + Sync + 'static,
    {
        let (w, s) = window_and_slide(self.slide_ms(), window, slide)?;
        let partitioner = self.partitioner_for(p);
        let reduce: Arc<dyn Fn(V, V) -> V + Send + Sync> = Arc::new(f);
        let r2 = reduce.clone();
        let reduced = self
            .reduce_by_key_with(
                move |a, b| r2(a, b),
                Partitioning::With(partitioner.clone()),
            )
            .persist(StorageLevel::MEMORY_ONLY_SER);
        let rw = ReducedWindowed {
            reduced: reduced.node,
            ctx: self.ssc.ctx().clone(),
            reduce,
            inverse: Arc::new(inverse),
            filter: filter.map(|h| Arc::new(h) as Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>),
            window_ms: w,
            slide_ms: s,
            partitioner,
        };
        let out = DStream::create(&self.ssc, "reduce_by_key_and_window", s, true, rw)
            .persist(StorageLevel::MEMORY_ONLY_SER);
        Ok(out)
    }

    /// Each window's values grouped per key, in batch order.
    pub fn group_by_key_and_window(
        &self,
        window: Duration,
        slide: Duration,
        p: impl Into<Partitioning<K>>,
    ) -> Result<DStream<(K, Vec<V>)>> {
        let p = self.partitioner_for(p);
        let q = p.clone();
        self.group_by_key_with(Partitioning::With(p))
            .window(window, slide)
            .map(|w| {
                w.combine_by_key(
                    |v: Vec<V>| v,
                    |mut a: Vec<V>, mut b: Vec<V>| {
                        a.append(&mut b);
                        a
                    },
                    |mut a: Vec<V>, mut b: Vec<V>| {
                        a.append(&mut b);
                        a
                    },
                    Partitioning::With(q),
                    false,
                )
            })
    }
}
