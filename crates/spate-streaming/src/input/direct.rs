//! Direct (receiver-less) inputs for replayable sources (Spark's direct Kafka stream): at
//! each batch the source plans what the batch reads (an offset range, say), the plan is
//! recorded, and the batch's RDD is built from the plan, so the batch can be recomputed
//! exactly from its recorded range.
//!
//! The source's lifecycle, as the context drives it: [`DirectSource::start`] once when the
//! context starts; [`DirectSource::plan`] and [`DirectSource::read`] per batch;
//! [`DirectSource::commit`] once per batch whose every output operation succeeded, in
//! batch order; [`DirectSource::stop`] once when the context stops.
//! [`DirectSource::position`] and [`DirectSource::restore`] let a metadata checkpoint save
//! and restore where the source's next `plan` starts
//! ([`crate::StreamingContext::input_positions`]).

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
use crate::input::tracker::{InputInfo, InputSource, InputTracker};
use crate::input::InputStream;
use crate::time::Time;
use parking_lot::Mutex;
use spate_core::{Context, Data, Rdd};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A replayable source (Spark's direct Kafka stream is one): the seam exactly-once
/// connectors implement.
///
/// Only `plan` and `read` are required; every lifecycle hook has a no-op default:
///
/// | hook | called | on error |
/// |---|---|---|
/// | [`start`](Self::start) | once, by [`crate::StreamingContext::start`], before the first batch | `start` fails naming the source ([`Error::Source`]); sources already started are stopped |
/// | [`plan`](Self::plan), [`read`](Self::read) | per batch, while its jobs are generated | the batch fails |
/// | [`commit`](Self::commit) | once per batch the source planned a range for, in batch order, after **every** output operation of the batch succeeded; never for a failed batch | logged, and the batch is reported failed: [`crate::BatchInfo::commit_failures`] for listeners, [`Error::Source`] from `advance` and `await_termination` |
/// | [`position`](Self::position), [`restore`](Self::restore) | by [`crate::StreamingContext::input_positions`] and [`crate::StreamingContext::restore_input_positions`] (the latter before `start` only) | returned, naming the source |
/// | [`stop`](Self::stop) | once, by [`crate::StreamingContext::stop`] of a started context, after its last batch | — |
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
    /// The source's name, for errors and logs. Default: its type name.
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }
    /// Called once when the context starts, before the first batch is planned (connect,
    /// check the topic exists...). An error fails [`crate::StreamingContext::start`].
    fn start(&self, _ctx: &Context) -> Result<()> {
        Ok(())
    }
    /// Batch `time`, which read `range`, is done: every output operation of the batch
    /// succeeded (Spark's pattern of committing Kafka offsets once the outputs are
    /// written). Called once per such batch, in batch order, on the driver; not called for
    /// a failed batch (its range stays uncommitted) nor for a batch the source planned
    /// nothing for. A range first read by a later batch than its own (a window's) is
    /// committed with the first batch at or after its time. An error is logged and fails
    /// the batch (see the table above); later batches still run and commit.
    fn commit(&self, _time: Time, _range: &Self::Range) -> Result<()> {
        Ok(())
    }
    /// Where the source's next [`Self::plan`] starts, encoded with
    /// [`spate_core::codec::encode`], for the metadata checkpoint; `None` (the default)
    /// when the source keeps no position.
    fn position(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Makes the next [`Self::plan`] start at `position` (from [`Self::position`] of an
    /// earlier run). Called before the context starts. The default ignores it.
    fn restore(&self, _position: &[u8]) -> Result<()> {
        Ok(())
    }
    /// Called once when a started context stops, after its last batch.
    fn stop(&self) {}
    /// Backpressure (`spate.streaming.backpressure.enabled`): the most records per second
    /// of batch interval the next [`Self::plan`] should take (`None`: no limit yet).
    /// Called before every plan. The default ignores it.
    fn set_rate_limit(&self, _records_per_s: Option<f64>) {}
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

/// The lifecycle side of a direct input, registered with the context: starts, commits,
/// positions and stops its source.
pub(crate) struct DirectLifecycle<T: Data, S: DirectSource<T>> {
    pub(crate) ctx: Context,
    pub(crate) stream: usize,
    pub(crate) source: Arc<S>,
    pub(crate) ranges: DirectRanges<S::Range>,
    /// Batches up to this time are settled: their ranges committed, or left uncommitted
    /// because their batch failed.
    pub(crate) settled_ms: Mutex<i64>,
    /// Cluster driver: ranges up to this batch time went out in a plan.
    pub(crate) published_ms: Mutex<i64>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data, S: DirectSource<T>> DirectLifecycle<T, S> {
    fn error(&self, action: impl Into<String>, cause: Error) -> Error {
        Error::Source {
            stream: self.stream,
            source_name: self.source.name(),
            action: action.into(),
            cause: Arc::new(cause),
        }
    }
}

impl<T: Data, S: DirectSource<T>> InputStream for DirectLifecycle<T, S> {
    fn direct_id(&self) -> Option<usize> {
        Some(self.stream)
    }
    fn open(&self) -> Result<()> {
        tracing::debug!(stream = self.stream, source = %self.source.name(), "direct source starting");
        self.source
            .start(&self.ctx)
            .map_err(|e| self.error("start", e))
    }
    fn close(&self) {
        tracing::debug!(stream = self.stream, source = %self.source.name(), "direct source stopping");
        self.source.stop();
    }
    fn settle(&self, time: Time, succeeded: bool) -> Vec<Error> {
        let mut settled = self.settled_ms.lock();
        if time.0 <= *settled {
            return Vec::new();
        }
        let due: Vec<(i64, S::Range)> = self
            .ranges
            .inner
            .lock()
            .range(*settled + 1..=time.0)
            .map(|(t, r)| (*t, r.clone()))
            .collect();
        *settled = time.0;
        let mut errors = Vec::new();
        for (t, r) in due {
            if !succeeded {
                tracing::warn!(stream = self.stream, batch = t, range = ?r, "batch failed: its range is not committed");
                continue;
            }
            if let Err(e) = self.source.commit(Time(t), &r) {
                let e = self.error(format!("commit of batch {}", Time(t)), e);
                tracing::error!("{e}");
                errors.push(e);
            }
        }
        errors
    }
    fn position(&self) -> Result<Option<Vec<u8>>> {
        self.source
            .position()
            .map_err(|e| self.error("position", e))
    }
    fn restore(&self, position: &[u8]) -> Result<()> {
        self.source
            .restore(position)
            .map_err(|e| self.error("restore", e))
    }
    fn checkpoint_id(&self) -> Option<usize> {
        Some(self.stream)
    }
    /// The ranges planned since the last plan (by batch time: a batch computed late is
    /// planned with a later batch).
    fn batch_plan(&self, _time: Time) -> Result<Option<Vec<u8>>> {
        let mut published = self.published_ms.lock();
        let new: Vec<(i64, S::Range)> = self
            .ranges
            .inner
            .lock()
            .range(published.saturating_add(1)..)
            .map(|(t, r)| (*t, r.clone()))
            .collect();
        let Some(last) = new.last().map(|(t, _)| *t) else {
            return Ok(None);
        };
        *published = last;
        Ok(Some(spate_core::codec::encode(&new, "direct ranges")?))
    }
    fn follow_plan(&self, _time: Time, plan: &[u8]) -> Result<()> {
        let ranges: Vec<(i64, S::Range)> = spate_core::codec::decode(plan, "direct ranges")?;
        self.ranges.inner.lock().extend(ranges);
        Ok(())
    }
    /// The source's position and the range of every batch still remembered, so a
    /// recovered run recomputes a batch from exactly its range and plans the next ones
    /// from where the source stood.
    fn checkpoint_state(&self) -> Result<Option<Vec<u8>>> {
        let position = self.position()?;
        let ranges = spate_core::codec::encode(&self.ranges.all(), "direct ranges")?;
        Ok(Some(spate_core::codec::encode(
            &(position, ranges),
            "direct input state",
        )?))
    }
    fn restore_state(&self, state: &[u8]) -> Result<()> {
        let (position, ranges): (Option<Vec<u8>>, Vec<u8>) =
            spate_core::codec::decode(state, "direct input state")?;
        let ranges: Vec<(i64, S::Range)> = spate_core::codec::decode(&ranges, "direct ranges")?;
        if let Some(p) = position {
            self.restore(&p)?;
        }
        self.ranges.inner.lock().extend(ranges);
        Ok(())
    }
}

pub(crate) struct DirectInput<T: Data, S: DirectSource<T>> {
    pub(crate) ctx: Context,
    pub(crate) source: Arc<S>,
    pub(crate) ranges: DirectRanges<S::Range>,
    pub(crate) tracker: Arc<InputTracker>,
    /// Backpressure's rate for this input, when on.
    pub(crate) rate: Option<Arc<crate::input::rate::RateController>>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data, S: DirectSource<T>> DirectInput<T, S> {
    pub(crate) fn new(
        ctx: Context,
        source: S,
        tracker: Arc<InputTracker>,
        rate: Option<Arc<crate::input::rate::RateController>>,
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
                rate,
                _t: std::marker::PhantomData,
            },
            ranges,
        )
    }

    /// The lifecycle handle of this input, stream `stream`, for the context.
    pub(crate) fn lifecycle(&self, stream: usize) -> DirectLifecycle<T, S> {
        DirectLifecycle {
            ctx: self.ctx.clone(),
            stream,
            source: self.source.clone(),
            ranges: self.ranges.clone(),
            settled_ms: Mutex::new(i64::MIN),
            published_ms: Mutex::new(i64::MIN),
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: Data, S: DirectSource<T>> Compute<T> for DirectInput<T, S> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        // A batch already planned (being recomputed) reads its recorded range again.
        let recorded = self.ranges.get(time);
        let range = match recorded {
            Some(r) => Some(r),
            // An executor process reads what the driver planned (its range came with the
            // batch's plan); it plans nothing itself.
            None if self.tracker.follows_driver() => None,
            None => {
                if let Some(rate) = &self.rate {
                    self.source.set_rate_limit(rate.rate());
                }
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
            None => Ok(Some(self.tracker.count_as_read(
                time,
                stream,
                info,
                rdd,
                |_, _| {},
            ))),
        }
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
