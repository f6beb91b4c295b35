//! `replay_stream`: fixed batches by batch number, for tests and replays (Spark's test
//! suites' `TestInputStream`).

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::Result;
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
}

impl<T: Data> Compute<T> for ReplayInput<T> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        let zero = this.meta().zero_ms().unwrap_or(0);
        let k = ((time.0 - zero) / self.batch_ms) as usize;
        Ok(match self.batches.get(k.wrapping_sub(1)) {
            Some(None) => None,
            Some(Some(records)) => Some(self.ctx.parallelize(records.clone(), self.partitions)),
            None => Some(self.ctx.parallelize(Vec::new(), self.partitions)),
        })
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
