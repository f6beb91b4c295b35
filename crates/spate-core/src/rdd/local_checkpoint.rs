//! Local checkpointing (Spark's `localCheckpoint`): the RDD is persisted in the block
//! store with disk allowed, and once a job has computed it, its lineage is cut; later
//! jobs read its partitions from the block store only. Faster than a reliable checkpoint
//! (nothing is written to the checkpoint directory), not fault-tolerant: a partition
//! lost with its executor cannot be recomputed.

use super::checkpoint::{claim_for_writing, CheckpointState, CheckpointWriter};
use super::{BoxIter, Rdd, RddInfo};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::{ArcVecIter, BlockId, StorageLevel};
use std::sync::Arc;

/// Partition `split` of a locally checkpointed RDD, from the block store.
pub(crate) fn read_block<T: Data>(
    info: &RddInfo,
    split: usize,
    tc: &TaskContext,
) -> Result<BoxIter<T>> {
    let id = BlockId::Rdd {
        rdd: info.id(),
        split,
    };
    match tc.env().block_store().get_values::<T>(id)? {
        Some(v) => Ok(Box::new(ArcVecIter::new(v))),
        None => Err(Error::Checkpoint {
            path: format!("block of rdd {} partition {split}", info.id()),
            reason: format!(
                "the locally checkpointed partition is not in executor {}'s block store \
                 (lost with an executor, or unpersisted); its lineage was cut, so it \
                 cannot be recomputed",
                tc.env().executor_id()
            ),
        }),
    }
}

impl<T: Data> Rdd<T> {
    /// Marks this RDD for local checkpointing (Spark's `localCheckpoint`): it is
    /// persisted (`MEMORY_AND_DISK`, or its own storage level with disk added), and after
    /// the next job that uses it — which computes any partition that job did not — its
    /// lineage is cut and [`Rdd::is_checkpointed`] is true. Nothing is written to the
    /// checkpoint directory; a partition lost from the block store afterwards makes jobs
    /// that need it fail. Returns the RDD, as Spark does.
    pub fn local_checkpoint(&self) -> Rdd<T> {
        let level = match self.storage_level() {
            None => StorageLevel::MEMORY_AND_DISK,
            Some(l) => StorageLevel {
                use_disk: true,
                ..l
            },
        };
        let rdd = self.clone().persist(level);
        let mut state = rdd.info().checkpoint.lock();
        if !matches!(*state, CheckpointState::None) {
            tracing::warn!(
                rdd = rdd.id(),
                "local_checkpoint: already marked or checkpointed; left as it is"
            );
            drop(state);
            return rdd;
        }
        let weak = Arc::downgrade(&rdd.node);
        let writer: CheckpointWriter = Arc::new(move || {
            let Some(rdd) = claim_for_writing(&weak) else {
                return Ok(());
            };
            // Every partition into the block store: the ones the job already cached are
            // read back, the others computed and cached now.
            let result = rdd.run_job(|tc, it| {
                it.for_each(drop);
                match tc.take_failure() {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            });
            let mut st = rdd.info().checkpoint.lock();
            match result {
                Ok(_) => {
                    tracing::info!(rdd = rdd.id(), "locally checkpointed");
                    *st = CheckpointState::LocalDone;
                    Ok(())
                }
                Err(e) => {
                    *st = CheckpointState::None;
                    Err(e)
                }
            }
        });
        *state = CheckpointState::Marked(writer);
        drop(state);
        rdd
    }
}
