//! # spate-streaming: Spark Streaming's DStreams over spate's RDDs
//!
//! ```text
//!   StreamingContext ─ batch interval, clock (system | manual)
//!      │ inputs: queue_stream, sockets, files, receivers ──▶ DStream<T>
//!      │ transformations build DStream nodes; output ops register jobs
//!      ▼
//!   Scheduler: every interval, each output op's job for batch time t (declaration
//!   order) ─▶ worker threads (spate.streaming.concurrentJobs) ─▶ RDD actions on the
//!   batch engine; batch records ─▶ StreamingListener; old RDDs forgotten
//! ```
//!
//! Batch k runs at zero time + k × batch interval; a manual clock's zero is 0, the system
//! clock's is the start time aligned down to the interval.

mod active;
mod bus;
pub mod checkpoint;
mod clock;
mod context;
pub mod dstream;
mod error;
mod failure;
mod graph;
pub mod input;
mod listener;
mod output;
mod retained;
mod scheduler;
mod show;
pub mod sink;
mod sink_formats;
mod stats_report;
mod time;

pub use clock::{Clock, ManualClock};
pub use context::{State, StreamingContext, WeakStreamingContext};
pub use dstream::{DStream, GroupByKeyAndWindow, ReduceByKeyAndWindow, ReduceByWindow};
pub use error::{Error, Result};
pub use graph::{GraphDescription, OutputDescription, StreamDescription};
pub use input::{InputInfo, InputSource, InputTracker, RddQueue};
pub use listener::{
    BatchInfo, InputErrorInfo, InputErrorKind, OutputOperationInfo, ReceiverInfo,
    StreamingListener, StreamingListenerEvent,
};
pub use output::{batch_file_name, format_batch, BoxError};
pub use retained::{retained_batches, DEFAULT_RETAINED_BATCHES};
pub use scheduler::{BEHIND_BATCHES, BEHIND_WARNING_EVERY};
pub use show::Show;
pub use sink::{Sink, StagedTextFile, TextFilesSink};
pub use sink_formats::{RecordFilesSink, RecordFormat};
/// `#[derive(Show)]`: prints a record as Spark prints a case class (see [`spate_derive`]).
pub use spate_derive::Show;
pub use stats_report::{DelayDistribution, DelayStats, StatsReportListener, DEFAULT_STATS_BATCHES};
pub use time::{milliseconds, minutes, seconds, Time};
