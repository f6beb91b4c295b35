//! # spate
//!
//! Apache Spark Streaming's model in Rust: micro-batches of RDDs, DStreams over them, in
//! one program that runs with `local[N]` on a laptop (and, later, on a cluster).
//!
//! This facade re-exports the batch engine ([`spate_core`]: `Context`, `Rdd`, ...) at the
//! top level and the streaming layer ([`spate_streaming`]) under [`streaming`]; most
//! programs start with `use spate::prelude::*;`.
#![doc = include_str!("../../../README.md")]

// The facade's surface is explicit: what programs call, not the engine's internals
// (executors, task descriptions, combine maps, ...), which stay in `spate_core` for the
// crates that build on the engine (the cluster runtime, connectors).
pub use spate_core::{
    Accumulator, AccumulatorV2, BoxIter, Broadcast, CheckpointStore, CollectionAccumulator,
    Context, Data, DoubleAccumulator, Error, HashPartitioner, Key, LocalDirStore, LongAccumulator,
    PartitionIter, Partitioner, PartitionerDesc, Partitioning, RangePartitioner, Rdd, Result,
    SpateConf, SplitOwned, StorageLevel, Str, TaskContext, Words,
};

/// Deterministic pseudo-random numbers (SplitMix64) for programs and generators.
pub mod rng {
    pub use spate_core::rng::SplitMix64;
}

/// The streaming layer: `StreamingContext`, `DStream`, inputs, outputs, listeners.
pub mod streaming {
    pub use spate_streaming::dstream::{MapWithStateDStream, State, StateRecord, StateSpec};
    pub use spate_streaming::input::{
        lines_decoder, read_all, Decoder, DirectRanges, DirectSource, InputFile, InputRecord,
        RddQueue, ReceivedBlock, Receiver, ReceiverHandle, SocketReceiver,
    };
    /// The lifecycle of a [`StreamingContext`] (Spark's `StreamingContextState`; spate's
    /// `spate_streaming::State`, renamed here because [`State`] is `map_with_state`'s).
    pub use spate_streaming::State as StreamingContextState;
    pub use spate_streaming::{
        batch_file_name, format_batch, BatchInfo, BoxError, Clock, DStream, Error, InputInfo,
        InputSource, InputTracker, ManualClock, OutputOperationInfo, ReceiverInfo, Result, Show,
        Sink, StagedTextFile, StreamDescription, StreamingContext, StreamingListener,
        StreamingListenerEvent, TextFilesSink, Time, WeakStreamingContext,
    };
}

/// Sends `tracing` logs to standard error, filtered by `RUST_LOG` (default `warn`), so
/// standard output holds only a program's results. For examples and small programs.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// What most programs need.
pub mod prelude {
    pub use crate::streaming::{
        BoxError, Clock, DStream, ManualClock, RddQueue, Receiver, ReceiverHandle, Show, State,
        StateSpec, StreamingContext, StreamingListener, Time,
    };
    pub use spate_core::{
        Context, Data, HashPartitioner, Key, Partitioning, Rdd, SpateConf, StorageLevel, Str,
    };
}
