//! Why a batch failed, as kept for `await_termination` and reported to the log.

use crate::error::Error;
use std::sync::Arc;

/// Why a batch failed: one of its output operations, or a source's commit after them; or
/// what the application must hear of a batch that ran: a receiver's block that was not
/// stored, left out of it.
#[derive(Debug, Clone)]
pub(crate) enum BatchFailure {
    /// A receiver block of this batch could not be stored (an [`Error::BlockNotStored`]).
    Input { time_ms: i64, error: Arc<Error> },
    /// An output operation failed.
    Output {
        time_ms: i64,
        output: usize,
        name: &'static str,
        cause: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A direct source's `commit` failed (an [`Error::Source`]).
    Commit {
        time_ms: i64,
        stream: usize,
        source_name: String,
        action: String,
        cause: Arc<Error>,
    },
}

impl BatchFailure {
    /// A commit failure from the [`Error::Source`] a direct input returned.
    pub(crate) fn commit(time_ms: i64, e: Error) -> Self {
        match e {
            Error::Source {
                stream,
                source_name,
                action,
                cause,
            } => BatchFailure::Commit {
                time_ms,
                stream,
                source_name,
                action,
                cause,
            },
            other => BatchFailure::Commit {
                time_ms,
                stream: usize::MAX,
                source_name: String::new(),
                action: "commit".into(),
                cause: Arc::new(other),
            },
        }
    }

    pub(crate) fn time_ms(&self) -> i64 {
        match self {
            BatchFailure::Output { time_ms, .. }
            | BatchFailure::Commit { time_ms, .. }
            | BatchFailure::Input { time_ms, .. } => *time_ms,
        }
    }

    pub(crate) fn into_error(self) -> Error {
        match self {
            BatchFailure::Input { error, .. } => match &*error {
                Error::BlockNotStored {
                    stream,
                    receiver,
                    block,
                    records,
                    reason,
                    cause,
                } => Error::BlockNotStored {
                    stream: *stream,
                    receiver: receiver.clone(),
                    block: block.clone(),
                    records: *records,
                    reason: reason.clone(),
                    cause: cause.clone(),
                },
                other => Error::Input {
                    stream: "receiver".into(),
                    reason: other.to_string(),
                },
            },
            BatchFailure::Output {
                time_ms,
                output,
                name,
                cause,
            } => Error::OutputFailed {
                time_ms,
                output,
                name,
                cause,
            },
            BatchFailure::Commit {
                stream,
                source_name,
                action,
                cause,
                ..
            } => Error::Source {
                stream,
                source_name,
                action,
                cause,
            },
        }
    }
}
