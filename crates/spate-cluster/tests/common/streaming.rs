//! What the cluster fault tests share: the stateful word count they run, and logs on
//! stderr when `RUST_LOG` is set.

use spate_core::Str;
use spate_streaming::{DStream, StreamingContext};
use std::path::Path;

/// Running counts of the words in the files moved into `dir` since the start, kept by
/// `update_state_by_key` (checkpointed state) after a shuffle into 3 partitions.
pub fn running_word_counts(
    ssc: &StreamingContext,
    dir: &Path,
) -> spate_streaming::Result<DStream<(String, u64)>> {
    Ok(ssc
        .text_file_stream(dir)?
        .flat_map(|l: Str| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key_with(|a, b| a + b, 3)
        .update_state_by_key(|new: Vec<u64>, old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        }))
}

/// Logs on stderr, filtered by `RUST_LOG`, when it is set.
pub fn log_if_asked() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
}
