//! The block store: persisted partitions, shuffle output and broadcast values.

mod block_store;
mod level;

pub(crate) use block_store::{ArcVecIter, ScratchFile};
pub use block_store::{BlockId, BlockInfo, BlockStore, BlockStoreMetrics};
pub use level::StorageLevel;
