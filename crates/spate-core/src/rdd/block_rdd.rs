//! [`BlockRdd`]: an RDD over blocks already in the block store (what streaming receivers
//! stored); one partition per block. Its blocks are removed when the RDD is dropped. A
//! block may also be in a log (a receiver's write-ahead log in a checkpoint store): a
//! partition whose block is not in the block store (a recovered run, an evicted block) is
//! read from there. In cluster mode a block may be in another executor's block store,
//! stored serialized: its partition prefers that executor, and a task elsewhere fetches
//! it from there.

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
    /// Cluster mode: the executor whose block store holds the block, serialized (an
    /// encoded `Vec<T>`). `None`: in this process's block store, as values.
    pub location: Option<String>,
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
                location: None,
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
    fn preferred_location(&self, split: usize) -> Option<String> {
        self.blocks.get(split)?.location.clone()
    }
}

impl<T: Data> BlockRdd<T> {
    /// A serialized block of executor `location`: from this process's block store when
    /// it is that executor, else fetched from it. `Ok(Err(why))` when it cannot be had
    /// from there (the log is the next place to look).
    fn serialized(
        &self,
        id: BlockId,
        location: &str,
        tc: &TaskContext,
    ) -> Result<std::result::Result<Vec<T>, String>> {
        let env = tc.env();
        let what = || format!("received block {id:?} of executor {location}");
        let bytes = if env.executor_id() == location {
            match env.block_store().get_values::<u8>(id)? {
                Some(bytes) => bytes,
                None => return Ok(Err("it is no longer in this executor's block store".into())),
            }
        } else {
            match env.shuffle_fetch().fetch_block(location, id) {
                Ok(bytes) => Arc::new(bytes),
                Err(e) => return Ok(Err(e.to_string())),
            }
        };
        Ok(Ok(codec::decode(&bytes, &what())?))
    }
}

impl<T: Data> RddNode<T> for BlockRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>> {
        let b = &self.blocks[split];
        let mut elsewhere = None;
        if let Some(id) = b.block {
            match &b.location {
                None => {
                    if let Some(v) = tc.env().block_store().get_values::<T>(id)? {
                        return Ok(Box::new(ArcVecIter::new(v)));
                    }
                }
                Some(loc) => match self.serialized(id, loc, tc)? {
                    Ok(v) => return Ok(Box::new(v.into_iter())),
                    Err(why) => elsewhere = Some((loc, why)),
                },
            }
        }
        match (&self.log, &b.logged) {
            (Some(log), Some(name)) => {
                if let Some((loc, why)) = &elsewhere {
                    tracing::debug!(block = ?b.block, executor = %loc, "received block read from the write-ahead log: {why}");
                }
                let bytes = checkpoint_store::get_checked(log.as_ref(), name)?;
                let what = format!("logged block {}", log.describe(name));
                let values: Vec<T> = codec::decode(&bytes, &what)?;
                Ok(Box::new(values.into_iter()))
            }
            _ => Err(Error::Task(match elsewhere {
                Some((loc, why)) => format!(
                    "block {:?} of received data was on executor {loc} and cannot be had \
                     ({why}), and it is not in a write-ahead log \
                     (spate.streaming.receiver.writeAheadLog.enable)",
                    b.block
                ),
                None => format!(
                    "block {:?} of received data is missing (and not in a write-ahead log)",
                    b.block
                ),
            })),
        }
    }
}
