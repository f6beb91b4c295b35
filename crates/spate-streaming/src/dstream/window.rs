//! Window operations: each output at time T covers the parent's batches in (T-W, T],
//! oldest first, emitted every slide S; the first outputs are partial windows.

use super::{slice, Compute, DStream, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
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
pub(super) fn window_and_slide(
    parent_slide: i64,
    window: Duration,
    slide: Duration,
) -> Result<(i64, i64)> {
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

/// [`window_and_slide`] that always gives durations: on an error, the parent's slide for
/// both, and the error (for `start`).
pub(super) fn window_or_fallback(
    parent_slide: i64,
    window: Option<Duration>,
    slide: Option<Duration>,
) -> ((i64, i64), Option<Error>) {
    let Some(window) = window else {
        return (
            (parent_slide, parent_slide),
            Some(Error::InvalidDuration {
                what: "window duration".into(),
                reason: "not given (call .window(duration))".into(),
            }),
        );
    };
    let slide = slide.unwrap_or(Duration::from_millis(parent_slide as u64));
    match window_and_slide(parent_slide, window, slide) {
        Ok(ws) => (ws, None),
        Err(e) => ((parent_slide, parent_slide), Some(e)),
    }
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
        let merged = grouped.flat_map_values(move |groups: Vec<Vec<V>>| {
            let first = |g: &Vec<V>| g.first().cloned();
            let olds: Vec<V> = groups[1..=n_old].iter().filter_map(first).collect();
            let news: Vec<V> = groups[1 + n_old..1 + n_old + n_new]
                .iter()
                .filter_map(first)
                .collect();
            let fold = |vs: Vec<V>| vs.into_iter().reduce(|a, b| reduce(a, b));
            match groups[0].first().cloned() {
                // Every key of the cogroup has a previous value or new values.
                None => fold(news),
                Some(mut v) => {
                    if let Some(o) = fold(olds) {
                        v = inverse(v, o);
                    }
                    if let Some(n) = fold(news) {
                        v = reduce(v, n);
                    }
                    Some(v)
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
    /// The records of the batches in each window of length `window` (a multiple of this
    /// stream's slide), one window every slide of this stream (Spark's
    /// `window(windowDuration)`).
    pub fn window(&self, window: Duration) -> DStream<T> {
        self.windowed("window", Some(window), None)
    }

    /// The records of the batches in each window of length `window`, every `slide` (both
    /// multiples of this stream's slide; Spark's `window(windowDuration, slideDuration)`).
    /// Durations that do not fit make `StreamingContext::start` fail, naming `window`.
    pub fn window_with(&self, window: Duration, slide: Duration) -> DStream<T> {
        self.windowed("window", Some(window), Some(slide))
    }

    /// The window stream of `op` (`window`, or the windowed reduction built on it, which
    /// a definition error names).
    pub(super) fn windowed(
        &self,
        op: &'static str,
        window: Option<Duration>,
        slide: Option<Duration>,
    ) -> DStream<T> {
        let ((w, s), err) = window_or_fallback(self.slide_ms(), window, slide);
        // The parent's RDDs are read by several windows: keep them (Spark does the same).
        {
            let mut storage = self.node.meta().storage.lock();
            if storage.is_none() {
                *storage = Some(StorageLevel::MEMORY_ONLY_SER);
            }
        }
        DStream::create(
            &self.ssc,
            "window",
            s,
            false,
            Windowed {
                parent: self.node.clone(),
                ctx: self.ssc.ctx().clone(),
                window_ms: w,
            },
        )
        .with_definition_error(op, err)
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// [`ReducedWindowed`] over this stream: the incremental windowed reduction the
    /// builders make when given an inverse function.
    pub(super) fn reduce_by_key_and_window_incremental(
        &self,
        op: &'static str,
        reduce: Arc<dyn Fn(V, V) -> V + Send + Sync>,
        inverse: Arc<dyn Fn(V, V) -> V + Send + Sync>,
        filter: Option<Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>>,
        (window, slide): (Option<Duration>, Option<Duration>),
        partitioning: Partitioning<K>,
    ) -> DStream<(K, V)> {
        let ((w, s), err) = window_or_fallback(self.slide_ms(), window, slide);
        let partitioner = self.partitioner_for(partitioning);
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
            inverse,
            filter,
            window_ms: w,
            slide_ms: s,
            partitioner,
        };
        DStream::create(&self.ssc, op, s, true, rw)
            .persist(StorageLevel::MEMORY_ONLY_SER)
            .with_definition_error(op, err)
    }
}
