//! Decoding connector records (bytes) into the application's types, with a stated policy
//! for records that do not decode: [`DStream::decode`].

use super::DStream;
use spate_core::{Data, LongAccumulator};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where a record came from, for errors and logs (`kafka logs-2@1734`).
pub trait RecordOrigin {
    /// The record's source and position.
    fn origin(&self) -> String;
}

/// What [`DStream::decode`] does with a record its function rejects. Nothing is dropped
/// without a count.
#[derive(Clone)]
pub enum BadRecords {
    /// Fail the task, with an error naming the record's origin and the cause; after the
    /// task's retries (`spate.task.maxFailures`) the batch fails, and the output-failure
    /// policy decides what follows.
    Fail,
    /// Skip the record: count it in this accumulator (readable from the driver, and by
    /// name in the UI) and log a warning (the first 20 of a process, then one in 1,000).
    Skip(LongAccumulator),
}

impl std::fmt::Debug for BadRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRecords::Fail => f.write_str("Fail"),
            BadRecords::Skip(_) => f.write_str("Skip"),
        }
    }
}

/// Records skipped in this process, for the warning's pace.
static SKIPPED: AtomicU64 = AtomicU64::new(0);

impl<T: Data + RecordOrigin> DStream<T> {
    /// Each record decoded by `f` (JSON, a number, a log line...); a record `f` rejects is
    /// handled by `bad`: fail the batch naming the record, or skip and count it.
    pub fn decode<U: Data, E, F>(&self, bad: BadRecords, f: F) -> DStream<U>
    where
        E: std::fmt::Display,
        F: Fn(&T) -> Result<U, E> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.transform_named("decode", move |rdd, _| {
            let (f, bad) = (f.clone(), bad.clone());
            Ok(rdd.flat_map(move |x| match f(&x) {
                Ok(u) => Some(u),
                Err(e) => match &bad {
                    // Unwinds without the panic hook's message: the task fails with this
                    // text as its error.
                    BadRecords::Fail => std::panic::resume_unwind(Box::new(format!(
                        "a record that does not decode, {}: {e} (BadRecords::Fail)",
                        x.origin()
                    ))),
                    BadRecords::Skip(count) => {
                        count.add(1);
                        let n = SKIPPED.fetch_add(1, Ordering::Relaxed);
                        if n < 20 || n % 1_000 == 0 {
                            tracing::warn!(record = %x.origin(), error = %e, skipped_so_far = n + 1, "skipped a record that does not decode (BadRecords::Skip)");
                        }
                        None
                    }
                },
            }))
        })
    }
}
