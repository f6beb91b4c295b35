//! `replay_stream`: fixed batches by batch number, for tests and replays (Spark's test
//! suites' `TestInputStream`).

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::input::tracker::{InputInfo, InputSource, InputTracker};
use crate::time::Time;
use spate_core::{Context, Data, Rdd};
use std::sync::Arc;

/// Batch k (1-based, at zero time + k × interval) is `batches[k-1]`: `Some(records)` as an
/// RDD of `partitions` partitions, `None` as no RDD at all; past the end, empty RDDs.
pub(crate) struct ReplayInput<T: Data> {
    pub(crate) ctx: Context,
    pub(crate) batches: Arc<Vec<Option<Vec<T>>>>,
    pub(crate) partitions: usize,
    pub(crate) batch_ms: i64,
    pub(crate) tracker: Arc<InputTracker>,
}

impl<T: Data> Compute<T> for ReplayInput<T> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        let zero = this.meta().zero_ms().unwrap_or(0);
        let k = ((time.0 - zero) / self.batch_ms) as usize;
        let batch = self.batches.get(k.wrapping_sub(1));
        self.tracker.record(
            time,
            this.meta().id(),
            InputInfo {
                num_records: match batch {
                    Some(Some(r)) => r.len() as u64,
                    _ => 0,
                },
                source: InputSource::Replay {
                    batch: k as u64,
                    present: !matches!(batch, Some(None)),
                },
            },
        );
        Ok(match batch {
            Some(None) => None,
            Some(Some(records)) => {
                Some(self.ctx.parallelize_with(records.clone(), self.partitions))
            }
            None => Some(self.ctx.parallelize_with(Vec::new(), self.partitions)),
        })
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
