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
    /// Locally checkpointed ([`Rdd::local_checkpoint`]): every partition is in the block
    /// store and is read from there only.
    LocalDone,
}

fn part_name(dir: &str, split: usize) -> String {
    format!("{dir}/part-{split:05}")
}

pub(crate) fn read_if_checkpointed<T: Data>(
    info: &RddInfo,
    split: usize,
    tc: &crate::scheduler::TaskContext,
) -> Result<Option<BoxIter<T>>> {
    let (store, dir) = match &*info.checkpoint.lock() {
        CheckpointState::Done { store, dir } => (store.clone(), dir.clone()),
        CheckpointState::LocalDone => {
            return super::local_checkpoint::read_block(info, split, tc).map(Some)
        }
        _ => return Ok(None),
    };
    read_part(store.as_ref(), &dir, split).map(Some)
}

/// Partition `split` of the checkpoint in `dir`, checked and decoded.
fn read_part<T: Data>(store: &dyn CheckpointStore, dir: &str, split: usize) -> Result<BoxIter<T>> {
    let path = part_name(dir, split);
    let bytes = crate::checkpoint_store::get_checked(store, &path)?;
    let values: Vec<T> = codec::decode(&bytes, &format!("checkpoint {}", store.describe(&path)))
        .map_err(|e| Error::Checkpoint {
            path: store.describe(&path),
            reason: e.to_string(),
        })?;
    Ok(Box::new(values.into_iter()))
}

/// The context's checkpoint store, or the error `op` gives without one.
fn required_store(ctx: &crate::Context, op: &'static str) -> Result<Arc<dyn CheckpointStore>> {
    ctx.checkpoint_store()
        .ok_or_else(|| Error::InvalidArgument {
            op,
            reason: "no checkpoint directory: call Context::set_checkpoint_dir first".into(),
        })
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
        let store = required_store(self.context(), "checkpoint")?;
        let mut state = self.info().checkpoint.lock();
        if !matches!(*state, CheckpointState::None) {
            return Ok(());
        }
        let weak = Arc::downgrade(&self.node);
        let writer: CheckpointWriter = Arc::new(move || {
            let Some(rdd) = claim_for_writing(&weak) else {
                return Ok(());
            };
            let dir = format!("rdd-{}", rdd.id());
            let st2 = store.clone();
            let dir2 = dir.clone();
            let result = rdd.run_job(move |tc, it| {
                let values: Vec<T> = it.collect();
                if let Some(e) = tc.take_failure() {
                    return Err(e);
                }
                let bytes = codec::encode(&values, "checkpoint partition")?;
                crate::checkpoint_store::put_checked(
                    st2.as_ref(),
                    &part_name(&dir2, tc.partition()),
                    &bytes,
                )?;
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

    /// The checkpoint's name in the checkpoint store (give it to
    /// [`crate::Context::checkpoint_file`] in a later run), once written.
    pub fn checkpoint_dir_name(&self) -> Option<String> {
        match &*self.info().checkpoint.lock() {
            CheckpointState::Done { dir, .. } => Some(dir.clone()),
            _ => None,
        }
    }

    /// Deletes the checkpoint's files; the RDD is computed from its lineage again if it is
    /// needed later. For streams that keep only their latest checkpoints.
    pub fn remove_checkpoint(&self) -> Result<()> {
        let mut st = self.info().checkpoint.lock();
        if let CheckpointState::Done { store, dir } = &*st {
            // The driver deletes the files (an executor process's copy of the program
            // only forgets them: the driver may still read them).
            if self.context().is_driver() {
                store.delete(dir)?;
            }
            tracing::debug!(rdd = self.id(), dir = %store.describe(dir), "checkpoint removed");
            *st = CheckpointState::None;
        }
        Ok(())
    }
}

/// An RDD read back from a checkpoint written by [`Rdd::checkpoint`], in this run or an
/// earlier one (what a recovered streaming context starts its state from).
struct CheckpointFileRdd<T: Data> {
    info: RddInfo,
    store: Arc<dyn CheckpointStore>,
    dir: String,
    _records: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data> super::RddBase for CheckpointFileRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<super::Dependency> {
        Vec::new()
    }
}

impl<T: Data> super::RddNode<T> for CheckpointFileRdd<T> {
    fn compute(&self, split: usize, _tc: &crate::scheduler::TaskContext) -> Result<BoxIter<T>> {
        read_part(self.store.as_ref(), &self.dir, split)
    }
}

impl crate::Context {
    /// The RDD checkpointed under `dir` of the checkpoint store (an
    /// [`Rdd::checkpoint_dir_name`] of an earlier run), of `partitions` partitions. Its
    /// files are checked now (each present), and read (checksums verified) when a job
    /// needs them.
    ///
    /// # Errors
    /// No checkpoint store; a part file missing ([`Error::Checkpoint`] naming it).
    pub fn checkpoint_file<T: Data>(&self, dir: &str, partitions: usize) -> Result<Rdd<T>> {
        let store = required_store(self, "checkpoint_file")?;
        let present = store.list(dir)?;
        for split in 0..partitions {
            let name = part_name(dir, split);
            if present.binary_search(&name).is_err() {
                return Err(Error::Checkpoint {
                    path: store.describe(&name),
                    reason: format!(
                        "missing: the checkpoint has {} of its {partitions} partition files",
                        present.len()
                    ),
                });
            }
        }
        let info = RddInfo::new(self, "checkpoint_file", partitions, &[]);
        Ok(Rdd::from_node(Arc::new(CheckpointFileRdd {
            info,
            store,
            dir: dir.to_string(),
            _records: std::marker::PhantomData,
        })))
    }
}

/// The RDD behind `weak` if it is still alive and marked for a checkpoint, now marked as
/// being written (by the first action that finishes after the mark); `None` otherwise.
pub(super) fn claim_for_writing<T: Data>(
    weak: &std::sync::Weak<dyn super::RddNode<T>>,
) -> Option<Rdd<T>> {
    let rdd = Rdd::from_node(weak.upgrade()?);
    {
        let mut st = rdd.info().checkpoint.lock();
        if !matches!(*st, CheckpointState::Marked(_)) {
            return None;
        }
        *st = CheckpointState::Writing;
    }
    Some(rdd)
}
