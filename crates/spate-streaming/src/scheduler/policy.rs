//! What a failed output operation leads to (`spate.streaming.outputFailure`), and the
//! batches a metadata checkpoint must call pending.

use super::{Batch, QueuedJob, Scheduler};
use crate::error::Result;
use crate::time::Time;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a failed output operation leads to (`spate.streaming.outputFailure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFailurePolicy {
    /// Stop the context; the batch stays pending for a recovered run.
    Stop,
    /// Run the failed output again up to this many times, then stop.
    Retry(usize),
    /// Report it and go on; the batch counts as done.
    Skip,
}

impl OutputFailurePolicy {
    pub(super) fn from_conf(conf: &spate_core::SpateConf) -> Result<Self> {
        let retries = conf
            .get_count("spate.streaming.outputFailure.retries")?
            .unwrap_or(3);
        let v = conf
            .get_text("spate.streaming.outputFailure")?
            .unwrap_or_else(|| "stop".into());
        match v.trim().to_ascii_lowercase().as_str() {
            "stop" => Ok(Self::Stop),
            "skip" => Ok(Self::Skip),
            "retry" => Ok(Self::Retry(retries)),
            other => Err(spate_core::Error::Config(format!(
                "key `spate.streaming.outputFailure`: `{other}`: expected stop, retry or skip"
            ))
            .into()),
        }
    }
}

impl Scheduler {
    /// With `spate.streaming.outputFailure=retry`: queues output `index` of `batch` again
    /// when it has attempts left (and the context is not stopping); whether it did.
    pub(super) fn retry(
        &self,
        batch: &Arc<Batch>,
        index: usize,
        name: &'static str,
        cause: &Arc<dyn std::error::Error + Send + Sync>,
    ) -> bool {
        let OutputFailurePolicy::Retry(max) = self.policy else {
            return false;
        };
        if self.stopping.load(Ordering::Acquire) {
            return false;
        }
        let attempt = {
            let mut r = batch.retries.lock();
            let n = r.entry(index).or_insert(0);
            if *n >= max {
                return false;
            }
            *n += 1;
            *n
        };
        let time = batch.info.lock().batch_time;
        let outputs = self.ssc.inner.graph.outputs();
        let Some(o) = outputs.get(index) else {
            return false;
        };
        let Some(job) = self.make_job(index, o.as_ref(), time) else {
            return false;
        };
        let Some(tx) = self.tx.lock().clone() else {
            return false;
        };
        tracing::warn!(
            batch = %time,
            output = index,
            operation = name,
            attempt,
            max,
            "output operation failed ({cause}); running it again (spate.streaming.outputFailure=retry)"
        );
        tx.send(QueuedJob {
            batch: batch.clone(),
            index,
            name,
            job,
        })
        .is_ok()
    }

    /// Batches generated and not completed successfully, oldest first.
    fn pending_times(&self) -> Vec<i64> {
        let mut times: std::collections::BTreeSet<i64> = self.failed.lock().clone();
        times.extend(
            self.in_flight
                .lock()
                .iter()
                .map(|b| b.info.lock().batch_time.0),
        );
        times.into_iter().collect()
    }

    /// Writes the metadata checkpoint of batch `time` (generated, or `completed`), when
    /// the context has a checkpoint directory. A failure is logged, not fatal: the
    /// previous checkpoint stays the newest.
    pub(super) fn checkpoint(&self, time: Time, completed: bool) {
        // The driver writes it; an executor process's copy of the context follows it.
        if self.follower {
            return;
        }
        if let Err(e) = self
            .ssc
            .write_checkpoint(time, completed, self.pending_times())
        {
            tracing::error!(batch = %time, "writing the metadata checkpoint failed: {e}");
        }
    }
}
