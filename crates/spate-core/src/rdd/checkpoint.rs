//! Reliable checkpointing of an RDD: written after its first job, read back by later jobs,
//! lineage cut.

use super::{BoxIter, Rdd, RddInfo};
use crate::checkpoint_store::CheckpointStore;
use crate::codec;
use crate::data::Data;
use crate::error::{Error, Result};
use std::sync::Arc;

/// Writes a marked RDD's partitions to the checkpoint store.
pub(crate) type CheckpointWriter = Arc<dyn Fn() -> Result<()> + Send + Sync>;

/// Where an RDD stands with respect to checkpointing.
pub(crate) enum CheckpointState {
    /// Not asked to checkpoint.
    None,
    /// `checkpoint()` was called; the next job that uses the RDD writes it.
    Marked(CheckpointWriter),
    /// Being written by a job now.
    Writing,
    /// Written: partitions are read from `dir` in `store`.
    Done {
        store: Arc<dyn CheckpointStore>,
        dir: String,
    },
}

fn part_name(dir: &str, split: usize) -> String {
    format!("{dir}/part-{split:05}")
}

pub(crate) fn read_if_checkpointed<T: Data>(
    info: &RddInfo,
    split: usize,
) -> Result<Option<BoxIter<T>>> {
    let (store, dir) = match &*info.checkpoint.lock() {
        CheckpointState::Done { store, dir } => (store.clone(), dir.clone()),
        _ => return Ok(None),
    };
    let path = part_name(&dir, split);
    let bytes = store.get(&path)?;
    let values: Vec<T> = codec::decode(&bytes, &format!("checkpoint {}", store.describe(&path)))
        .map_err(|e| Error::Checkpoint {
            path: store.describe(&path),
            reason: e.to_string(),
        })?;
    Ok(Some(Box::new(values.into_iter())))
}

/// Called by the scheduler after a job: writes every RDD of the lineage that is marked.
pub(crate) fn run_pending(writers: Vec<CheckpointWriter>) -> Result<()> {
    for w in writers {
        w()?;
    }
    Ok(())
}

impl<T: Data> Rdd<T> {
    /// Marks this RDD for checkpointing: after the next job that uses it, its partitions
    /// are written to the directory set with [`crate::Context::set_checkpoint_dir`], later
    /// jobs read them from there, and its lineage is cut. Persist it first to avoid
    /// computing it twice.
    ///
    /// # Errors
    /// When no checkpoint directory is set.
    pub fn checkpoint(&self) -> Result<()> {
        let ctx = self.context().clone();
        let store = ctx
            .checkpoint_store()
            .ok_or_else(|| Error::InvalidArgument {
                op: "checkpoint",
                reason: "no checkpoint directory: call Context::set_checkpoint_dir first".into(),
            })?;
        let mut state = self.info().checkpoint.lock();
        if !matches!(*state, CheckpointState::None) {
            return Ok(());
        }
        let weak = Arc::downgrade(&self.node);
        let writer: CheckpointWriter = Arc::new(move || {
            let Some(node) = weak.upgrade() else {
                return Ok(());
            };
            let rdd = Rdd::from_node(node);
            {
                let mut st = rdd.info().checkpoint.lock();
                if !matches!(*st, CheckpointState::Marked(_)) {
                    return Ok(());
                }
                *st = CheckpointState::Writing;
            }
            let dir = format!("rdd-{}", rdd.id());
            let st2 = store.clone();
            let dir2 = dir.clone();
            let result = rdd.run_job(move |tc, it| {
                let values: Vec<T> = it.collect();
                if let Some(e) = tc.take_failure() {
                    return Err(e);
                }
                let bytes = codec::encode(&values, "checkpoint partition")?;
                st2.put(&part_name(&dir2, tc.partition()), &bytes)?;
                Ok(())
            });
            let mut st = rdd.info().checkpoint.lock();
            match result {
                Ok(_) => {
                    tracing::info!(rdd = rdd.id(), dir = %store.describe(&dir), "checkpointed");
                    *st = CheckpointState::Done {
                        store: store.clone(),
                        dir,
                    };
                    Ok(())
                }
                Err(e) => {
                    *st = CheckpointState::None;
                    Err(e)
                }
            }
        });
        *state = CheckpointState::Marked(writer);
        Ok(())
    }

    /// Whether the RDD has been written to a checkpoint.
    pub fn is_checkpointed(&self) -> bool {
        self.info().is_checkpointed()
    }

    /// Where the checkpoint is, described by its store, once written.
    pub fn checkpoint_location(&self) -> Option<String> {
        match &*self.info().checkpoint.lock() {
            CheckpointState::Done { store, dir } => Some(store.describe(dir)),
            _ => None,
        }
    }

    /// Deletes the checkpoint's files; the RDD is computed from its lineage again if it is
    /// needed later. For streams that keep only their latest checkpoints.
    pub fn remove_checkpoint(&self) -> Result<()> {
        let mut st = self.info().checkpoint.lock();
        if let CheckpointState::Done { store, dir } = &*st {
            store.delete(dir)?;
            tracing::debug!(rdd = self.id(), dir = %store.describe(dir), "checkpoint removed");
            *st = CheckpointState::None;
        }
        Ok(())
    }
}
