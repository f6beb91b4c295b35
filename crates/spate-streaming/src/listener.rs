//! Streaming events: batch and output-operation timings, receiver lifecycle.

use crate::time::Time;

/// What is known about one batch (Spark's `BatchInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch time.
    pub batch_time: Time,
    /// When the batch's jobs were submitted (ms, on the context's clock).
    pub submission_ms: i64,
    /// When its first job started.
    pub processing_start_ms: Option<i64>,
    /// When its last job ended.
    pub processing_end_ms: Option<i64>,
    /// Records its inputs received.
    pub num_records: u64,
    /// Its output operations.
    pub output_operations: Vec<OutputOperationInfo>,
}

impl BatchInfo {
    /// From submission to the start of processing.
    pub fn scheduling_delay_ms(&self) -> Option<i64> {
        self.processing_start_ms.map(|s| s - self.submission_ms)
    }
    /// From the start to the end of processing.
    pub fn processing_delay_ms(&self) -> Option<i64> {
        Some(self.processing_end_ms? - self.processing_start_ms?)
    }
    /// From submission to the end of processing.
    pub fn total_delay_ms(&self) -> Option<i64> {
        self.processing_end_ms.map(|e| e - self.submission_ms)
    }
}

/// One output operation of one batch (Spark's `OutputOperationInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOperationInfo {
    /// The batch time.
    pub batch_time: Time,
    /// Index of the output operation in declaration order.
    pub id: usize,
    /// Its name (`print`, `foreach_rdd`, ...).
    pub name: &'static str,
    /// When it started.
    pub start_ms: Option<i64>,
    /// When it ended.
    pub end_ms: Option<i64>,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// A receiver's state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The receiver's name.
    pub name: String,
    /// Whether it is running.
    pub active: bool,
    /// The last error it reported.
    pub last_error: Option<String>,
}

/// Listens to the streaming scheduler (Spark's `StreamingListener`); every method has an
/// empty default. Called on the scheduler's threads: keep them quick.
pub trait StreamingListener: Send + Sync + 'static {
    /// A batch's jobs were submitted.
    fn on_batch_submitted(&self, _batch: &BatchInfo) {}
    /// A batch's first job started.
    fn on_batch_started(&self, _batch: &BatchInfo) {}
    /// A batch's last job ended.
    fn on_batch_completed(&self, _batch: &BatchInfo) {}
    /// An output operation started.
    fn on_output_operation_started(&self, _op: &OutputOperationInfo) {}
    /// An output operation ended (see `failure`).
    fn on_output_operation_completed(&self, _op: &OutputOperationInfo) {}
    /// A receiver started.
    fn on_receiver_started(&self, _r: &ReceiverInfo) {}
    /// A receiver reported an error.
    fn on_receiver_error(&self, _r: &ReceiverInfo) {}
    /// A receiver stopped.
    fn on_receiver_stopped(&self, _r: &ReceiverInfo) {}
}
