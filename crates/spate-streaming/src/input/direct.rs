//! Direct (receiver-less) inputs for replayable sources (Spark's direct Kafka stream): at
//! each batch the source plans what the batch reads (an offset range, say), the plan is
//! recorded, and the batch's RDD is built from the plan, so the batch can be recomputed
//! exactly from its recorded range.

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::input::tracker::{partition_counts, InputInfo, InputSource, InputTracker};
use crate::time::Time;
use parking_lot::Mutex;
use spate_core::rdd::RecordCounter;
use spate_core::{Context, Data, Rdd};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A replayable source.
pub trait DirectSource<T: Data>: Send + Sync + 'static {
    /// What a batch reads: offsets, file ranges... (recorded per batch).
    type Range: Data + std::fmt::Debug;
    /// Plans batch `time`: the range to read, or `None` for nothing.
    fn plan(&self, time: Time) -> Result<Option<Self::Range>>;
    /// The records of `range`; called again with the same range to recompute a batch.
    fn read(&self, ctx: &Context, range: &Self::Range) -> Result<Rdd<T>>;
    /// How many records `range` holds, when the range knows (an offset range does:
    /// Spark's `OffsetRange.count`). `None` (the default): the batch's RDD is counted.
    fn records(&self, _range: &Self::Range) -> Option<u64> {
        None
    }
    /// The range as the input tracker and listeners show it (Spark's offset-range
    /// description). Default: its `Debug` form.
    fn describe(&self, range: &Self::Range) -> String {
        format!("{range:?}")
    }
}

/// The ranges a direct input read, by batch time.
pub struct DirectRanges<R> {
    inner: Arc<Mutex<BTreeMap<i64, R>>>,
}

impl<R: Clone> Clone for DirectRanges<R> {
    fn clone(&self) -> Self {
        DirectRanges {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Clone> DirectRanges<R> {
    /// The range batch `time` read.
    pub fn get(&self, time: Time) -> Option<R> {
        self.inner.lock().get(&time.0).cloned()
    }
    /// Every recorded (batch time, range).
    pub fn all(&self) -> Vec<(i64, R)> {
        self.inner
            .lock()
            .iter()
            .map(|(t, r)| (*t, r.clone()))
            .collect()
    }
}

pub(crate) struct DirectInput<T: Data, S: DirectSource<T>> {
    pub(crate) ctx: Context,
    pub(crate) source: Arc<S>,
    pub(crate) ranges: DirectRanges<S::Range>,
    pub(crate) tracker: Arc<InputTracker>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data, S: DirectSource<T>> DirectInput<T, S> {
    pub(crate) fn new(
        ctx: Context,
        source: S,
        tracker: Arc<InputTracker>,
    ) -> (Self, DirectRanges<S::Range>) {
        let ranges = DirectRanges {
            inner: Arc::new(Mutex::new(BTreeMap::new())),
        };
        (
            DirectInput {
                ctx,
                source: Arc::new(source),
                ranges: ranges.clone(),
                tracker,
                _t: std::marker::PhantomData,
            },
            ranges,
        )
    }
}

impl<T: Data, S: DirectSource<T>> Compute<T> for DirectInput<T, S> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        // A batch already planned (being recomputed) reads its recorded range again.
        let recorded = self.ranges.get(time);
        let range = match recorded {
            Some(r) => Some(r),
            None => {
                let planned = self.source.plan(time)?;
                if let Some(r) = &planned {
                    tracing::debug!(batch = time.0, range = ?r, "direct input planned");
                    self.ranges.inner.lock().insert(time.0, r.clone());
                }
                planned
            }
        };
        let stream = this.meta().id();
        let Some(r) = range else {
            self.tracker.record(
                time,
                stream,
                InputInfo {
                    num_records: 0,
                    source: InputSource::Direct { range: None },
                },
            );
            return Ok(Some(self.ctx.empty()));
        };
        let rdd = self.source.read(&self.ctx, &r)?;
        let info = InputInfo {
            num_records: 0,
            source: InputSource::Direct {
                range: Some(self.source.describe(&r)),
            },
        };
        match self.source.records(&r) {
            Some(n) => {
                self.tracker.record(
                    time,
                    stream,
                    InputInfo {
                        num_records: n,
                        ..info
                    },
                );
                Ok(Some(rdd))
            }
            // Counted as the batch's jobs read it, recorded when the batch completes.
            None => {
                let counter = RecordCounter::new(rdd.num_partitions());
                let (whole, c) = (rdd.clone(), counter.clone());
                self.tracker.record_counted_later(
                    time,
                    stream,
                    info,
                    Box::new(move |info| {
                        info.num_records = partition_counts(&whole, &c)?.iter().sum();
                        Ok(())
                    }),
                );
                Ok(Some(rdd.counting(counter)))
            }
        }
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
