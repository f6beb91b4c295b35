//! [`BlockRdd`]: an RDD over blocks already in the block store (what streaming receivers
//! stored); one partition per block. Its blocks are removed when the RDD is dropped. A
//! block may also be in a log (a receiver's write-ahead log in a checkpoint store): a
//! partition whose block is not in the block store (a recovered run, an evicted block) is
//! read from there.

use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::checkpoint_store::{self, CheckpointStore};
use crate::codec;
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::{ArcVecIter, BlockId};
use std::marker::PhantomData;
use std::sync::Arc;

/// One partition: a block of the block store, its copy in the log, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedBlock {
    /// The block in the block store, if it was stored there in this run.
    pub block: Option<BlockId>,
    /// Its name in the log, if it was logged.
    pub logged: Option<String>,
}

/// An RDD whose partition i is block `blocks[i]` of the block store (or of the log).
pub struct BlockRdd<T: Data> {
    info: RddInfo,
    blocks: Vec<LoggedBlock>,
    log: Option<Arc<dyn CheckpointStore>>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Data> BlockRdd<T> {
    /// An RDD over `blocks`, which hold `Vec<T>` values.
    pub fn create(ctx: &Context, blocks: Vec<BlockId>) -> Rdd<T> {
        let blocks = blocks
            .into_iter()
            .map(|b| LoggedBlock {
                block: Some(b),
                logged: None,
            })
            .collect();
        Self::create_logged(ctx, blocks, None)
    }

    /// An RDD over `blocks`; a block not in the block store is read from `log`, where it
    /// was written framed ([`checkpoint_store::put_checked`]) as an encoded `Vec<T>`.
    pub fn create_logged(
        ctx: &Context,
        blocks: Vec<LoggedBlock>,
        log: Option<Arc<dyn CheckpointStore>>,
    ) -> Rdd<T> {
        let info = RddInfo::new(ctx, "block_rdd", blocks.len(), &[]);
        Rdd::from_node(Arc::new(BlockRdd {
            info,
            blocks,
            log,
            _t: PhantomData,
        }))
    }
}

impl<T: Data> Drop for BlockRdd<T> {
    fn drop(&mut self) {
        let bs = self.info.context().block_store();
        for b in self.blocks.iter().filter_map(|b| b.block) {
            bs.remove(b);
        }
    }
}

impl<T: Data> RddBase for BlockRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for BlockRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        let b = &self.blocks[split];
        if let Some(id) = b.block {
            if let Some(v) = tc.env().block_store().get_values::<T>(id)? {
                return Ok(Box::new(ArcVecIter::new(v)));
            }
        }
        match (&self.log, &b.logged) {
            (Some(log), Some(name)) => {
                let bytes = checkpoint_store::get_checked(log.as_ref(), name)?;
                let what = format!("logged block {}", log.describe(name));
                let values: Vec<T> = codec::decode(&bytes, &what)?;
                Ok(Box::new(values.into_iter()))
            }
            _ => Err(Error::Task(format!(
                "block {:?} of received data is missing (and not in a write-ahead log)",
                b.block
            ))),
        }
    }
}
