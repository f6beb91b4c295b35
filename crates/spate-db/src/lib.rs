//! Database sinks: each batch is written in one transaction keyed by its batch time, so a
//! batch written again (a retried commit, a batch recomputed after a crash) replaces its
//! rows instead of adding to them. [`SqliteSink`] is the embedded one.
//!
//! ```no_run
//! use spate_db::SqliteSink;
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Count { word: String, n: u64 }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ssc = spate_streaming::StreamingContext::with_context(
//! #     spate_core::Context::local(2)?, std::time::Duration::from_secs(1))?;
//! # let counts = ssc.queue_stream(&spate_streaming::RddQueue::<Count>::new());
//! // Rows of `counts` (a struct's fields are the columns), a batch's rows replaced whole:
//! counts.write_to(SqliteSink::append("/data/counts.db", "word_counts"));
//! // Or one row per word, updated in place:
//! counts.write_to(SqliteSink::upsert("/data/counts.db", "latest", ["word"]));
//! # Ok(()) }
//! ```

mod error;
mod postgres;
mod rows;
mod sqlite;

pub use error::Error;
pub use postgres::PostgresSink;
pub use sqlite::{SqliteSink, BATCH_TIME_COLUMN};
