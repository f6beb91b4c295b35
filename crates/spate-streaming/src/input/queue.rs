//! `queue_stream`: batches taken from a queue of RDDs the program fills.

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::input::tracker::{InputInfo, InputSource, InputTracker};
use crate::time::Time;
use parking_lot::Mutex;
use spate_core::{Context, Data, Rdd};
use std::collections::VecDeque;
use std::sync::Arc;

/// A queue of RDDs feeding a `queue_stream`; push to it before or while the stream runs.
pub struct RddQueue<T: Data> {
    inner: Arc<Mutex<VecDeque<Rdd<T>>>>,
}

impl<T: Data> Clone for RddQueue<T> {
    fn clone(&self) -> Self {
        RddQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Data> Default for RddQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Data> RddQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        RddQueue {
            inner: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Appends an RDD.
    pub fn push(&self, rdd: Rdd<T>) {
        self.inner.lock().push_back(rdd);
    }

    /// RDDs waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether no RDD is waiting.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().is_empty()
    }
}

/// Spark's `QueueInputDStream`: one RDD per batch (or all queued, united), the default RDD
/// or an empty RDD when the queue is empty.
pub(crate) struct QueueInput<T: Data> {
    pub(crate) ctx: Context,
    pub(crate) queue: RddQueue<T>,
    pub(crate) one_at_a_time: bool,
    pub(crate) default: Option<Rdd<T>>,
    pub(crate) tracker: Arc<InputTracker>,
}

impl<T: Data> QueueInput<T> {
    /// How many queued RDDs the driver's queue gave batch `time`, in an executor process.
    fn dictated(&self, time: Time, stream: usize) -> Option<usize> {
        match self.tracker.take_dictated(time, stream)?.source {
            InputSource::Queue { rdds } => Some(rdds),
            _ => None,
        }
    }
}

impl<T: Data> Compute<T> for QueueInput<T> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        // The queued RDDs of the run recovered from died with it (Spark: "queueStream
        // doesn't support checkpointing"): a batch of that run gets none, rather than
        // taking RDDs meant for the batches to come.
        if self.tracker.generated_before_recovery(time) {
            tracing::warn!(
                stream = this.meta().id(),
                batch = time.0,
                "queue_stream cannot be recovered: a batch of the run before the recovery gets no queued RDD"
            );
            return Ok(Some(self.ctx.empty()));
        }
        let taken: Vec<Rdd<T>> = {
            let mut q = self.queue.inner.lock();
            if let Some(n) = self.dictated(time, this.meta().id()) {
                // An executor process takes the RDDs the driver's queue gave the batch
                // (its program queues the same ones, perhaps a little later).
                let until = std::time::Instant::now() + spate_core::cluster::RESOLVE_WAIT;
                while q.len() < n && std::time::Instant::now() < until {
                    drop(q);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    q = self.queue.inner.lock();
                }
                let n = n.min(q.len());
                q.drain(..n).collect()
            } else if self.one_at_a_time {
                q.pop_front().into_iter().collect()
            } else {
                q.drain(..).collect()
            }
        };
        let rdds = taken.len();
        let rdd = match rdds {
            0 => match &self.default {
                Some(d) => d.clone(),
                None => self.ctx.empty(),
            },
            1 => taken.into_iter().next().expect("one RDD"),
            _ => self.ctx.union(taken),
        };
        // The batch's records are counted as its jobs read them (a queued RDD knows its
        // size only by being read), and recorded when the batch completes.
        Ok(Some(self.tracker.count_as_read(
            time,
            this.meta().id(),
            InputInfo {
                num_records: 0,
                source: InputSource::Queue { rdds },
            },
            rdd,
            |_, _| {},
        )))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
