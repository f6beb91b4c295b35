//! Kinesis for spate: a stream of a Kinesis stream's shards, on the AWS SDK, with each
//! batch's sequence-number ranges in the checkpoint (the model of Spark's Kinesis input,
//! without a receiver).
//!
//! At each batch the driver reads every shard from where the previous batch stopped (up
//! to `spate.streaming.kinesis.maxRatePerShard` records per second of batch, and the
//! backpressure rate) and plans the batch as one range of sequence numbers per shard. The
//! ranges go into the input tracker and the metadata checkpoint with each shard's
//! position, so a recovered driver recomputes the same batches by reading the same ranges
//! again, and goes on after them. A shard created by a split or a merge is read from its
//! first record once its parents are read to their end.
//!
//! ```no_run
//! use spate_kinesis::{create_stream, InitialPosition, KinesisParams};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ssc = spate_streaming::StreamingContext::with_context(
//! #     spate_core::Context::local(2)?, std::time::Duration::from_secs(1))?;
//! let params = KinesisParams::new("clicks")
//!     .endpoint("http://127.0.0.1:4567")
//!     .credentials("key", "secret")
//!     .initial_position(InitialPosition::TrimHorizon);
//! let (records, ranges) = create_stream(&ssc, params)?;
//! records
//!     .map(|r| r.data_str().unwrap_or_default().to_string())
//!     .print_with(10);
//! # Ok(()) }
//! ```
//!
//! What it guarantees and how it is tested: `docs/kinesis.md`.

mod client;
mod error;
mod source;
mod stream;

pub use error::Error;
pub use source::{create_stream, InitialPosition, KinesisParams, SequenceRanges};
pub use stream::{KinesisRecord, SequenceRange};
