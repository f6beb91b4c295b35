//! [`BlockRdd`]: an RDD over blocks already in the block store (what streaming receivers
//! stored); one partition per block. Its blocks are removed when the RDD is dropped.

use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::{ArcVecIter, BlockId};
use std::marker::PhantomData;
use std::sync::Arc;

/// An RDD whose partition i is block `blocks[i]` of the block store.
pub struct BlockRdd<T: Data> {
    info: RddInfo,
    blocks: Vec<BlockId>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Data> BlockRdd<T> {
    /// An RDD over `blocks`, which hold `Vec<T>` values.
    pub fn create(ctx: &Context, blocks: Vec<BlockId>) -> Rdd<T> {
        let info = RddInfo::new(ctx, "block_rdd", blocks.len(), &[]);
        Rdd::from_node(Arc::new(BlockRdd {
            info,
            blocks,
            _t: PhantomData,
        }))
    }
}

impl<T: Data> Drop for BlockRdd<T> {
    fn drop(&mut self) {
        let bs = self.info.context().block_store();
        for b in &self.blocks {
            bs.remove(*b);
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
        let id = self.blocks[split];
        match tc.env().block_store().get_values::<T>(id)? {
            Some(v) => Ok(Box::new(ArcVecIter::new(v))),
            None => Err(Error::Task(format!(
                "block {id:?} of received data is missing"
            ))),
        }
    }
}
