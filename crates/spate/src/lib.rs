//! # spate
//!
//! Apache Spark Streaming's model in Rust: micro-batches of RDDs, DStreams over them, in
//! one program that runs with `local[N]` on a laptop (and, later, on a cluster).
//!
//! This facade re-exports the batch engine ([`spate_core`]: `Context`, `Rdd`, ...) at the
//! top level and the streaming layer ([`spate_streaming`]) under [`streaming`]; most
//! programs start with `use spate::prelude::*;`.
#![doc = include_str!("../../../README.md")]

pub use spate_core::*;

/// The streaming layer: `StreamingContext`, `DStream`, inputs, outputs, listeners.
pub mod streaming {
    pub use spate_streaming::dstream::{MapWithStateDStream, State, StateSpec};
    pub use spate_streaming::input::{
        lines_decoder, DirectRanges, DirectSource, InputFile, InputRecord, ReceivedBlock, Receiver,
        ReceiverHandle, SocketReceiver,
    };
    pub use spate_streaming::*;
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
