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
    SpateConf, Split, SplitOwned, SplitPattern, SplitStr, SplitWhitespace, StorageLevel, Str,
    TaskContext, Words,
};

/// Deterministic pseudo-random numbers (SplitMix64) for programs and generators.
pub mod rng {
    pub use spate_core::rng::SplitMix64;
}

/// The streaming layer: `StreamingContext`, `DStream`, inputs, outputs, listeners.
pub mod streaming {
    pub use spate_streaming::checkpoint;
    pub use spate_streaming::dstream::{
        BadRecords, GroupByKeyAndWindow, MapWithStateDStream, RecordOrigin, ReduceByKeyAndWindow,
        ReduceByWindow, State, StateRecord, StateSpec,
    };
    pub use spate_streaming::input::{
        encode_raw_frame, lines_decoder, read_all, Decoder, DirectRanges, DirectSource, InputFile,
        InputRecord, RddQueue, ReceivedBlock, Receiver, ReceiverHandle, SocketReceiver,
    };
    /// The lifecycle of a [`StreamingContext`] (Spark's `StreamingContextState`; spate's
    /// `spate_streaming::State`, renamed here because [`State`] is `map_with_state`'s).
    pub use spate_streaming::State as StreamingContextState;
    pub use spate_streaming::{
        batch_file_name, format_batch, milliseconds, minutes, seconds, show_via_display, BatchInfo,
        BoxError, Clock, DStream, Error, InputInfo, InputSource, InputTracker, ManualClock,
        OutputOperationInfo, ReceiverInfo, Result, Show, Sink, StagedTextFile, StreamDescription,
        StreamingContext, StreamingListener, StreamingListenerEvent, TextFilesSink, Time,
        WeakStreamingContext,
    };
}

/// Sends `tracing` logs to standard error, filtered by `RUST_LOG` (default `warn`), so
/// standard output holds only a program's results. Creating a context does this already
/// when the program has no subscriber (`spate.log.stderr`); calling it first makes it
/// explicit.
pub fn init_logging() {
    spate_core::logging::install_default_logger();
}

/// The `Display` chain of `error`, for people: its message, then each
/// [`source`](std::error::Error::source) on a line of its own as `caused by: ...` (a source
/// whose message the previous line already shows is not repeated). Never the `Debug` form.
///
/// ```
/// let e = spate::Error::io("/no/such/file", std::io::ErrorKind::NotFound.into());
/// assert_eq!(spate::report(&e), "i/o on /no/such/file: entity not found");
/// ```
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut shown = out.clone();
    let mut cause = error.source();
    while let Some(c) = cause {
        let msg = c.to_string();
        if !shown.contains(&msg) {
            out.push_str("\ncaused by: ");
            out.push_str(&msg);
            shown = msg;
        }
        cause = c.source();
    }
    out
}

/// The end of a program's `main`: `Ok` is success; an error is printed on standard error
/// as `Error: ` and its [`report`] (never its `Debug` form) and is exit code 1.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     spate::exit_code(run())
/// }
/// fn run() -> Result<(), Box<dyn std::error::Error>> {
///     let ctx = spate::Context::local(2)?;
///     println!("{}", ctx.text_file_with("input.txt", 2)?.count()?);
///     Ok(())
/// }
/// ```
pub fn exit_code(
    result: std::result::Result<(), Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", report(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// What most programs need.
pub mod prelude {
    pub use crate::streaming::{
        milliseconds, minutes, seconds, BoxError, Clock, DStream, Decoder, ManualClock, RddQueue,
        Receiver, ReceiverHandle, Show, State, StateSpec, StreamingContext, StreamingContextState,
        StreamingListener, Time,
    };
    pub use spate_core::{
        Context, Data, HashPartitioner, Key, Partitioning, Rdd, SpateConf, StorageLevel, Str,
    };
}
