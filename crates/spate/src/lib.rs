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
        lines_decoder, DirectRanges, DirectSource, Receiver, ReceiverHandle, SocketReceiver,
    };
    pub use spate_streaming::*;
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
