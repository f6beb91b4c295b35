//! # spate-core: the batch engine
//!
//! Spark's RDD model in Rust. Every streaming batch of spate runs on this engine.
//!
//! ```text
//!   Context ── parallelize / text_file / range ──▶ Rdd<T>  (lineage of RddNode<T>)
//!      │                                              │ transformations build nodes
//!      │                                              ▼ actions run jobs
//!      │     DagScheduler: cut at ShuffleDependency ─▶ stages ─▶ tasks
//!      │            │ missing parents first, retries, resubmits lost map output
//!      │            ▼
//!      │     Executor (trait) ── LocalExecutor: N task threads
//!      │            │ task = pipelined iterators of narrow nodes
//!      ▼            ▼
//!   BlockStore: cached partitions (LRU, disk levels), shuffle output, broadcasts
//! ```
//!
//! - [`Context`] — configuration ([`SpateConf`]), scheduler, block store, shared variables.
//! - [`Rdd`] — a cheap handle to a lineage node. Narrow transformations pipeline inside a
//!   task as iterators; [`Rdd::reduce_by_key`] and friends combine on the map side before
//!   the shuffle ([`shuffle`]).
//! - [`scheduler`] — the DAG scheduler and the [`scheduler::Executor`] interface; in local
//!   mode one [`scheduler::LocalExecutor`] runs `N` task threads. A task is described by
//!   data ([`scheduler::TaskDescription`]: RDD id and lineage fingerprint) so executors in
//!   other processes, running the same program, can compute it from their own lineage.
//! - [`storage`] — the block store and [`StorageLevel`]s.
//! - [`shared`] — accumulators and broadcast variables.
//! - [`codec`] — the one binary format (postcard) for shuffle spills, disk blocks and
//!   checkpoints.
//! - [`Str`] — the cheap shared string text sources produce.
//! - [`StatCounter`] — count, mean, variance, min and max of numeric RDDs
//!   ([`Rdd::stats`], with [`Rdd::histogram`] and friends on any [`Numeric`] record type).

pub mod checkpoint_store;
pub mod cluster;
pub mod codec;
pub mod conf;
mod context;
mod data;
pub mod env;
mod error;
pub mod ids;
mod job_group;
pub mod logging;
pub mod partitioner;
pub mod rdd;
pub mod rng;
pub mod scheduler;
pub mod scratch;
pub mod shared;
pub mod shuffle;
pub mod shutdown;
mod stat_counter;
pub mod storage;
mod text;

pub use checkpoint_store::{CheckpointStore, LocalDirStore};
pub use conf::SpateConf;
pub use context::Context;
pub use data::{Data, Key};
pub use env::{Env, Role};
pub use error::{Error, Result};
pub use partitioner::{
    HashPartitioner, Partitioner, PartitionerDesc, Partitioning, RangePartitioner,
};
pub use rdd::{BoxIter, Numeric, PartitionIter, Rdd};
pub use scheduler::TaskContext;
pub use shared::accumulator::{
    Accumulator, AccumulatorV2, CollectionAccumulator, DoubleAccumulator, LongAccumulator,
};
pub use shared::broadcast::Broadcast;
pub use stat_counter::StatCounter;
pub use storage::StorageLevel;
pub use text::{Split, SplitOwned, SplitPattern, SplitStr, SplitWhitespace, Str, Words};
