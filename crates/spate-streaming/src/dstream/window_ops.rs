//! Windowed reductions as builders (Spark's `reduceByWindow`, `countByWindow`,
//! `reduceByKeyAndWindow`, `countByValueAndWindow`, `groupByKeyAndWindow`).
//!
//! Spark overloads each of these with up to six positional arguments. Here the function
//! (if any) is the argument and the rest are named: `.window(d)` (required where the call
//! takes no duration), `.slide(d)` (default: the stream's slide, Spark's default),
//! `.inverse(g)`, `.filter(p)`, `.partitions(n)` / `.partitioner(p)`:
//!
//! ```no_run
//! # use spate_streaming::*;
//! # use std::time::Duration;
//! # fn f(pairs: &DStream<(String, i64)>) {
//! pairs
//!     .reduce_by_key_and_window(|a, b| a + b)
//!     .inverse(|a, b| a - b)
//!     .filter(|(_, n)| *n != 0)
//!     .window(Duration::from_secs(30))
//!     .slide(Duration::from_secs(10))
//!     .print();
//! # }
//! ```
//!
//! A builder dereferences to the [`DStream`] it describes, built on first use, so any
//! DStream method can follow it; [`build`](ReduceByKeyAndWindow::build) (or `.into()`)
//! gives the stream by value. Durations that do not fit the stream make
//! `StreamingContext::start` fail, naming the operation, as Spark's `validate` does.

use super::DStream;
use spate_core::{Data, Key, Partitioner, Partitioning};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

type ReduceFn<V> = Arc<dyn Fn(V, V) -> V + Send + Sync>;
type FilterFn<K, V> = Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>;

/// The window and slide every builder takes.
#[derive(Clone, Copy, Default)]
struct Durations {
    window: Option<Duration>,
    slide: Option<Duration>,
}

/// What every builder shares: `.window`, `.slide`, `build`, `Deref` to the stream and
/// `From` into it.
macro_rules! window_builder {
    ($name:ident<$($g:ident: $b:path),+> => $out:ty) => {
        impl<$($g: $b),+> $name<$($g),+> {
            /// The window length (a multiple of the stream's slide).
            pub fn window(mut self, window: Duration) -> Self {
                self.d.window = Some(window);
                self.built = OnceLock::new();
                self
            }
            /// How often a window is emitted (a multiple of the stream's slide; default:
            /// the stream's slide).
            pub fn slide(mut self, slide: Duration) -> Self {
                self.d.slide = Some(slide);
                self.built = OnceLock::new();
                self
            }
            /// The stream, by value.
            pub fn build(self) -> DStream<$out> {
                let built = self.built.get().cloned();
                built.unwrap_or_else(|| self.make())
            }
        }
        impl<$($g: $b),+> std::ops::Deref for $name<$($g),+> {
            type Target = DStream<$out>;
            fn deref(&self) -> &DStream<$out> {
                self.built.get_or_init(|| self.make())
            }
        }
        impl<$($g: $b),+> From<$name<$($g),+>> for DStream<$out> {
            fn from(b: $name<$($g),+>) -> DStream<$out> {
                b.build()
            }
        }
    };
}

/// `.partitions(n)` and `.partitioner(p)` of the builders over pairs.
macro_rules! partitioned_builder {
    ($name:ident) => {
        impl<K: Key, V: Data> $name<K, V> {
            /// Hash-partitions the result into `n` partitions (Spark's `numPartitions`).
            pub fn partitions(self, n: usize) -> Self {
                self.partitioner(Partitioning::Count(n))
            }

            /// Partitions the result with `p` (a count or a partitioner; Spark's
            /// `partitioner`).
            pub fn partitioner(mut self, p: impl Into<Partitioning<K>>) -> Self {
                self.partitioning = p.into();
                self.built = OnceLock::new();
                self
            }
        }
    };
}

/// Builder of [`DStream::reduce_by_window`] and [`DStream::count_by_window`].
#[must_use = "a windowed reduction does nothing until used as a stream"]
pub struct ReduceByWindow<T: Data> {
    op: &'static str,
    parent: DStream<T>,
    reduce: ReduceFn<T>,
    inverse: Option<ReduceFn<T>>,
    d: Durations,
    built: OnceLock<DStream<T>>,
}

window_builder!(ReduceByWindow<T: Data> => T);

impl<T: Data> ReduceByWindow<T> {
    /// Computes each window from the previous one: `inverse(value, left)` removes the
    /// batches that left the window, the reduce function adds those that entered (Spark's
    /// `reduceByWindow(reduceFunc, invReduceFunc, ...)`). Nothing before the first
    /// record; afterwards a value even for an empty window (e.g. 0). Needs a checkpoint
    /// directory.
    pub fn inverse<G>(mut self, inverse: G) -> Self
    where
        G: Fn(T, T) -> T + Send + Sync + 'static,
    {
        self.inverse = Some(Arc::new(inverse));
        self.built = OnceLock::new();
        self
    }

    fn make(&self) -> DStream<T> {
        let f = self.reduce.clone();
        match &self.inverse {
            Some(inv) => self
                .parent
                .map(|x| (1u8, x))
                .reduce_by_key_and_window_incremental(
                    self.op,
                    f,
                    inv.clone(),
                    None,
                    (self.d.window, self.d.slide),
                    Partitioning::Count(1),
                )
                .map(|(_, v)| v),
            None => {
                let g = f.clone();
                self.parent
                    .reduce(move |a, b| f(a, b))
                    .windowed(self.op, self.d.window, self.d.slide)
                    .reduce(move |a, b| g(a, b))
            }
        }
    }
}

/// Builder of [`DStream::reduce_by_key_and_window`] and
/// [`DStream::count_by_value_and_window`].
#[must_use = "a windowed reduction does nothing until used as a stream"]
pub struct ReduceByKeyAndWindow<K: Key, V: Data> {
    op: &'static str,
    parent: DStream<(K, V)>,
    reduce: ReduceFn<V>,
    inverse: Option<ReduceFn<V>>,
    filter: Option<FilterFn<K, V>>,
    partitioning: Partitioning<K>,
    d: Durations,
    built: OnceLock<DStream<(K, V)>>,
}

window_builder!(ReduceByKeyAndWindow<K: Key, V: Data> => (K, V));
partitioned_builder!(ReduceByKeyAndWindow);

impl<K: Key, V: Data> ReduceByKeyAndWindow<K, V> {
    /// Computes each window from the previous one: `inverse(value, left)` removes the
    /// batches that left the window, the reduce function adds those that entered (Spark's
    /// `reduceByKeyAndWindow(reduceFunc, invReduceFunc, ...)`). A key whose values all
    /// left stays with its "zero" unless a [`filter`](Self::filter) drops it. Needs a
    /// checkpoint directory.
    pub fn inverse<G>(mut self, inverse: G) -> Self
    where
        G: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.inverse = Some(Arc::new(inverse));
        self.built = OnceLock::new();
        self
    }

    /// Keeps only the pairs `p` accepts (Spark's `filterFunc`): with an inverse function,
    /// dropped keys also leave the window's state.
    pub fn filter<P>(mut self, p: P) -> Self
    where
        P: Fn(&(K, V)) -> bool + Send + Sync + 'static,
    {
        self.filter = Some(Arc::new(p));
        self.built = OnceLock::new();
        self
    }

    fn make(&self) -> DStream<(K, V)> {
        let f = self.reduce.clone();
        match &self.inverse {
            Some(inv) => self.parent.reduce_by_key_and_window_incremental(
                self.op,
                f,
                inv.clone(),
                self.filter.clone(),
                (self.d.window, self.d.slide),
                self.partitioning.clone(),
            ),
            None => {
                let p: Arc<dyn Partitioner<K>> =
                    self.parent.partitioner_for(self.partitioning.clone());
                let g = f.clone();
                let windowed = self
                    .parent
                    .reduce_by_key_with(move |a, b| f(a, b), Partitioning::With(p.clone()))
                    .windowed(self.op, self.d.window, self.d.slide)
                    .reduce_by_key_with(move |a, b| g(a, b), Partitioning::With(p));
                match &self.filter {
                    Some(keep) => {
                        let keep = keep.clone();
                        windowed.filter(move |kv| keep(kv))
                    }
                    None => windowed,
                }
            }
        }
    }
}

/// Builder of [`DStream::group_by_key_and_window`].
#[must_use = "a windowed grouping does nothing until used as a stream"]
pub struct GroupByKeyAndWindow<K: Key, V: Data> {
    parent: DStream<(K, V)>,
    partitioning: Partitioning<K>,
    d: Durations,
    built: OnceLock<DStream<(K, Vec<V>)>>,
}

window_builder!(GroupByKeyAndWindow<K: Key, V: Data> => (K, Vec<V>));
partitioned_builder!(GroupByKeyAndWindow);

impl<K: Key, V: Data> GroupByKeyAndWindow<K, V> {
    fn make(&self) -> DStream<(K, Vec<V>)> {
        let p = self.parent.partitioner_for(self.partitioning.clone());
        let q = p.clone();
        self.parent
            .group_by_key_with(Partitioning::With(p))
            .windowed("group_by_key_and_window", self.d.window, self.d.slide)
            .combine_by_key(
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
    }
}

impl<T: Data> DStream<T> {
    /// Each window reduced to one record by an associative, commutative `f` (nothing for
    /// an empty window): Spark's `reduceByWindow`. Set `.window(d)`; optionally
    /// `.slide(d)` and `.inverse(g)`.
    pub fn reduce_by_window<F>(&self, f: F) -> ReduceByWindow<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        ReduceByWindow {
            op: "reduce_by_window",
            parent: self.clone(),
            reduce: Arc::new(f),
            inverse: None,
            d: Durations::default(),
            built: OnceLock::new(),
        }
    }

    /// The number of records in each window of length `window` (Spark's `countByWindow`;
    /// incremental, so it needs a checkpoint directory). Optionally `.slide(d)`.
    pub fn count_by_window(&self, window: Duration) -> ReduceByWindow<i64> {
        let mut b = self
            .map(|_| 1i64)
            .reduce_by_window(|a, b| a + b)
            .inverse(|a, b| a - b)
            .window(window);
        b.op = "count_by_window";
        b
    }
}

impl<T: Key> DStream<T> {
    /// How often each distinct record occurs in each window of length `window`; zero
    /// counts are dropped (Spark's `countByValueAndWindow`; incremental, so it needs a
    /// checkpoint directory). Optionally `.slide(d)`, `.partitions(n)`.
    pub fn count_by_value_and_window(&self, window: Duration) -> ReduceByKeyAndWindow<T, i64> {
        let mut b = self
            .map(|x| (x, 1i64))
            .reduce_by_key_and_window(|a, b| a + b)
            .inverse(|a, b| a - b)
            .filter(|kv| kv.1 != 0)
            .window(window);
        b.op = "count_by_value_and_window";
        b
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Each window's values merged per key by an associative, commutative `f`; a key with
    /// no value in the window is absent (Spark's `reduceByKeyAndWindow`). Set
    /// `.window(d)`; optionally `.slide(d)`, `.inverse(g)`, `.filter(p)`,
    /// `.partitions(n)`.
    pub fn reduce_by_key_and_window<F>(&self, f: F) -> ReduceByKeyAndWindow<K, V>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        ReduceByKeyAndWindow {
            op: "reduce_by_key_and_window",
            parent: self.clone(),
            reduce: Arc::new(f),
            inverse: None,
            filter: None,
            partitioning: Partitioning::Default,
            d: Durations::default(),
            built: OnceLock::new(),
        }
    }

    /// Each window's values grouped per key, in batch order (Spark's
    /// `groupByKeyAndWindow`). Optionally `.slide(d)`, `.partitions(n)`.
    pub fn group_by_key_and_window(&self, window: Duration) -> GroupByKeyAndWindow<K, V> {
        GroupByKeyAndWindow {
            parent: self.clone(),
            partitioning: Partitioning::Default,
            d: Durations {
                window: Some(window),
                slide: None,
            },
            built: OnceLock::new(),
        }
    }
}
