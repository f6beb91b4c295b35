//! Stateless operations: each batch's RDD transformed on its own.

use super::{missing_parent, Compute, DStream, DStreamBase, DStreamNode};
use crate::context::StreamingContext;
use crate::error::{Error, Result};
use crate::time::Time;
use spate_core::{BoxIter, Data, Key, Rdd};
use std::sync::Arc;

/// The function of a [`Transformed`] stream.
pub(crate) type RddFn<T, U> = dyn Fn(Rdd<T>, Time) -> Result<Rdd<U>> + Send + Sync;

/// A stream whose RDD is a function of its parent's RDD of the same time. When the parent
/// has no RDD then, neither has this stream (Spark's `MappedDStream` and its kin), or, with
/// `require_parent` (Spark's `TransformedDStream`: `transform`, `count`, `repartition`),
/// the batch fails.
pub(crate) struct Transformed<T: Data, U: Data> {
    parent: Arc<dyn DStreamNode<T>>,
    f: Arc<RddFn<T, U>>,
    require_parent: bool,
}

impl<T: Data, U: Data> Compute<U> for Transformed<T, U> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<U>) -> Result<Option<Rdd<U>>> {
        match self.parent.get_or_compute(time)? {
            Some(rdd) => Ok(Some((self.f)(rdd, time)?)),
            None if self.require_parent => {
                Err(missing_parent(self.parent.meta(), this.meta(), time))
            }
            None => Ok(None),
        }
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        vec![self.parent.clone()]
    }
}

/// A stream whose RDD is a function of two parents' RDDs of the same time (Spark's
/// `TransformedDStream` of two parents); a parent without an RDD fails the batch.
pub(crate) struct Transformed2<T: Data, U: Data, V: Data> {
    a: Arc<dyn DStreamNode<T>>,
    b: Arc<dyn DStreamNode<U>>,
    f: Arc<dyn Fn(Rdd<T>, Rdd<U>, Time) -> Result<Rdd<V>> + Send + Sync>,
}

impl<T: Data, U: Data, V: Data> Compute<V> for Transformed2<T, U, V> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<V>) -> Result<Option<Rdd<V>>> {
        // In order, failing at the first parent without an RDD, as Spark does.
        let a = self
            .a
            .get_or_compute(time)?
            .ok_or_else(|| missing_parent(self.a.meta(), this.meta(), time))?;
        let b = self
            .b
            .get_or_compute(time)?
            .ok_or_else(|| missing_parent(self.b.meta(), this.meta(), time))?;
        Ok(Some((self.f)(a, b, time)?))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        vec![self.a.clone(), self.b.clone()]
    }
}

/// The function of a [`TransformedN`] stream.
type RddsFn<T, U> = dyn Fn(&[Rdd<T>], Time) -> Result<Rdd<U>> + Send + Sync;

/// A stream whose RDD is a function of several parents' RDDs of the same time (Spark's
/// `TransformedDStream`, from `StreamingContext.transform`); a parent without an RDD fails
/// the batch.
pub(crate) struct TransformedN<T: Data, U: Data> {
    parents: Vec<Arc<dyn DStreamNode<T>>>,
    f: Arc<RddsFn<T, U>>,
}

impl<T: Data, U: Data> Compute<U> for TransformedN<T, U> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<U>) -> Result<Option<Rdd<U>>> {
        let mut rdds = Vec::with_capacity(self.parents.len());
        for p in &self.parents {
            let rdd = p
                .get_or_compute(time)?
                .ok_or_else(|| missing_parent(p.meta(), this.meta(), time))?;
            rdds.push(rdd);
        }
        Ok(Some((self.f)(&rdds, time)?))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        self.parents
            .iter()
            .map(|p| p.clone() as Arc<dyn DStreamBase>)
            .collect()
    }
}

/// The union of several streams' RDDs of the same time (Spark's `UnionDStream`): every
/// parent is computed, then a parent without an RDD fails the batch.
pub(crate) struct Union<T: Data> {
    parents: Vec<Arc<dyn DStreamNode<T>>>,
}

impl<T: Data> Compute<T> for Union<T> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        let mut computed = Vec::with_capacity(self.parents.len());
        for p in &self.parents {
            computed.push(p.get_or_compute(time)?);
        }
        let mut rdds = Vec::with_capacity(computed.len());
        for (p, rdd) in self.parents.iter().zip(computed) {
            rdds.push(rdd.ok_or_else(|| missing_parent(p.meta(), this.meta(), time))?);
        }
        let Some(first) = rdds.first() else {
            return Ok(None);
        };
        let ctx = first.context().clone();
        Ok(Some(ctx.union(rdds)))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        self.parents
            .iter()
            .map(|p| p.clone() as Arc<dyn DStreamBase>)
            .collect()
    }
}

/// The slide shared by `streams` of an n-ary operation `what`: the first's, and an error
/// when there is none or the slides differ.
fn common_slide<T: Data>(
    ssc: &StreamingContext,
    what: &str,
    streams: &[DStream<T>],
) -> (i64, Option<Error>) {
    let Some(first) = streams.first() else {
        let err = Error::InvalidDuration {
            what: what.into(),
            reason: "needs at least one stream".into(),
        };
        return (ssc.inner.batch_ms, Some(err));
    };
    let slide = first.slide_ms();
    let err = streams
        .iter()
        .find(|s| s.slide_ms() != slide)
        .map(|s| Error::InvalidDuration {
            what: what.into(),
            reason: format!(
                "streams have different slides ({} ms and {} ms)",
                slide,
                s.slide_ms()
            ),
        });
    (slide, err)
}

/// Unions streams of one context; they must share a slide.
pub(crate) fn union_of<T: Data>(ssc: &StreamingContext, streams: &[DStream<T>]) -> DStream<T> {
    let (slide, err) = common_slide(ssc, "union", streams);
    DStream::create(
        ssc,
        "union",
        slide,
        false,
        Union {
            parents: streams.iter().map(|s| s.node.clone()).collect(),
        },
    )
    .with_definition_error("union", err)
}

/// `StreamingContext::transform`: one function of several streams' RDDs; they must share
/// a slide.
pub(crate) fn transform_of<T: Data, U: Data, F>(
    ssc: &StreamingContext,
    streams: &[DStream<T>],
    f: F,
) -> DStream<U>
where
    F: Fn(&[Rdd<T>], Time) -> Result<Rdd<U>> + Send + Sync + 'static,
{
    let (slide, err) = common_slide(ssc, "transform", streams);
    DStream::create(
        ssc,
        "transform",
        slide,
        false,
        TransformedN {
            parents: streams.iter().map(|s| s.node.clone()).collect(),
            f: Arc::new(f),
        },
    )
    .with_definition_error("transform", err)
}

impl<T: Data> DStream<T> {
    /// Each batch's RDD transformed by `f(rdd, time)` (Spark's `transform`). A batch for
    /// which this stream has no RDD (not even an empty one) fails with
    /// [`Error::MissingParentRdd`], as in Spark.
    pub fn transform<U: Data, F>(&self, f: F) -> DStream<U>
    where
        F: Fn(Rdd<T>, Time) -> Result<Rdd<U>> + Send + Sync + 'static,
    {
        self.transformed("transform", true, f)
    }

    /// A stream of `f` of each of this stream's RDDs, with no RDD when this stream has none
    /// (Spark's `MappedDStream` and its kin).
    pub(crate) fn transform_named<U: Data, F>(&self, name: &'static str, f: F) -> DStream<U>
    where
        F: Fn(Rdd<T>, Time) -> Result<Rdd<U>> + Send + Sync + 'static,
    {
        self.transformed(name, false, f)
    }

    fn transformed<U: Data, F>(&self, name: &'static str, require_parent: bool, f: F) -> DStream<U>
    where
        F: Fn(Rdd<T>, Time) -> Result<Rdd<U>> + Send + Sync + 'static,
    {
        DStream::create(
            &self.ssc,
            name,
            self.slide_ms(),
            false,
            Transformed {
                parent: self.node.clone(),
                f: Arc::new(f),
                require_parent,
            },
        )
    }

    /// Each batch's RDDs of this stream and `other` combined by `f(a, b, time)` (Spark's
    /// `transformWith`). The streams must share a slide. A batch for which either stream
    /// has no RDD (not even an empty one) fails with [`Error::MissingParentRdd`], as in
    /// Spark.
    pub fn transform_with<U: Data, V: Data, F>(&self, other: &DStream<U>, f: F) -> DStream<V>
    where
        F: Fn(Rdd<T>, Rdd<U>, Time) -> Result<Rdd<V>> + Send + Sync + 'static,
    {
        self.transform_with_named("transform_with", other, f)
    }

    /// [`DStream::transform_with`] as operation `name` (the joins and `cogroup`).
    pub(crate) fn transform_with_named<U: Data, V: Data, F>(
        &self,
        name: &'static str,
        other: &DStream<U>,
        f: F,
    ) -> DStream<V>
    where
        F: Fn(Rdd<T>, Rdd<U>, Time) -> Result<Rdd<V>> + Send + Sync + 'static,
    {
        let err = (other.slide_ms() != self.slide_ms()).then(|| Error::InvalidDuration {
            what: name.into(),
            reason: format!(
                "streams have different slides ({} ms and {} ms)",
                self.slide_ms(),
                other.slide_ms()
            ),
        });
        DStream::create(
            &self.ssc,
            name,
            self.slide_ms(),
            false,
            Transformed2 {
                a: self.node.clone(),
                b: other.node.clone(),
                f: Arc::new(f),
            },
        )
        .with_definition_error(name, err)
    }

    /// Each record transformed by `f`.
    pub fn map<U: Data, F>(&self, f: F) -> DStream<U>
    where
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("map", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.map(move |x| f(x)))
        })
    }

    /// Each record turned into zero or more records.
    pub fn flat_map<U: Data, I, F>(&self, f: F) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("flat_map", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.flat_map(move |x| f(x)))
        })
    }

    /// The records for which `f` is true.
    pub fn filter<F>(&self, f: F) -> DStream<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("filter", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.filter(move |x| f(x)))
        })
    }

    /// Each partition of each batch transformed at once.
    pub fn map_partitions<U: Data, I, F>(&self, f: F) -> DStream<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: 'static,
        F: Fn(BoxIter<T>) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("map_partitions", move |rdd, _| {
            let f = f.clone();
            Ok(rdd.map_partitions(move |it| f(it)))
        })
    }

    /// Each partition of each batch as one vector.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.transform_named("glom", |rdd, _| Ok(rdd.glom()))
    }

    /// Each batch shuffled into `partitions` partitions. Built on `transform` as in Spark:
    /// a batch without an RDD fails.
    pub fn repartition(&self, partitions: usize) -> DStream<T> {
        self.transformed("repartition", true, move |rdd, _| {
            Ok(rdd.repartition(partitions))
        })
    }

    /// This stream's and `other`'s records of each batch together. A batch for which
    /// either has no RDD (not even an empty one) fails with [`Error::MissingParentRdd`],
    /// as in Spark.
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        union_of(&self.ssc, &[self.clone(), other.clone()])
    }

    /// The number of records of each batch: one element, `0` for an empty batch. Built
    /// on `transform` as in Spark: a batch without an RDD fails.
    pub fn count(&self) -> DStream<i64> {
        self.transformed("count", true, |rdd, _| {
            let ctx = rdd.context().clone();
            let partial = rdd.map_partitions(|it| std::iter::once(it.count() as i64));
            Ok(partial
                .union(&ctx.parallelize_with(vec![0i64], 1))
                .coalesce(1, false)
                .map_partitions(|it| std::iter::once(it.sum::<i64>())))
        })
    }

    /// Each batch reduced to one element by an associative, commutative `f`; nothing for
    /// an empty batch.
    pub fn reduce<F>(&self, f: F) -> DStream<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("reduce", move |rdd, _| {
            let f = f.clone();
            Ok(rdd
                .map(|x| ((), x))
                .reduce_by_key_with(move |a, b| f(a, b), 1)
                .values())
        })
    }
}

impl<T: Key> DStream<T> {
    /// How often each distinct record occurs in each batch.
    pub fn count_by_value(&self) -> DStream<(T, i64)> {
        self.count_by_value_with(0)
    }

    /// [`DStream::count_by_value`] into `partitions` partitions (0: the default).
    pub fn count_by_value_with(&self, partitions: usize) -> DStream<(T, i64)> {
        self.transform_named("count_by_value", move |rdd, _| {
            let pairs = rdd.map(|x| (x, 1i64));
            Ok(if partitions == 0 {
                pairs.reduce_by_key(|a, b| a + b)
            } else {
                pairs.reduce_by_key_with(|a, b| a + b, partitions)
            })
        })
    }
}
