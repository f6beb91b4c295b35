//! Streaming events: batch and output-operation timings, receiver lifecycle.

use crate::input::InputInfo;
use crate::time::Time;
use std::collections::BTreeMap;

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
    /// Records its inputs received (the sum over [`Self::input_info`]).
    pub num_records: u64,
    /// What each input stream contributed, by stream id (Spark's `streamIdToInputInfo`),
    /// from the input tracker.
    pub input_info: BTreeMap<usize, InputInfo>,
    /// Backpressure (`spate.streaming.backpressure.enabled`): the rate each input was
    /// limited to (records per second, rounded) when the batch was planned, by stream id; empty
    /// when backpressure is off or before its first estimate.
    pub rate_limits: BTreeMap<usize, u64>,
    /// Its output operations.
    pub output_operations: Vec<OutputOperationInfo>,
    /// The direct sources whose `commit` failed after the batch's output operations all
    /// succeeded (each an [`crate::Error::Source`], described): the batch failed then
    /// too. Filled when the batch's inputs are settled before its `BatchCompleted` event,
    /// which is always the case with one job thread (`spate.streaming.concurrentJobs` 1,
    /// the default); with more, a batch that completes before an earlier one is settled
    /// later and its commit failures reach `await_termination` only.
    pub commit_failures: Vec<String>,
}

impl BatchInfo {
    /// What each input stream gave the batch, by stream id: its record count and where
    /// the records came from ([`InputInfo::description`] is Spark's metadata
    /// `Description`: the files, blocks, offset ranges). Spark's `streamIdToInputInfo`;
    /// the same as [`Self::input_info`].
    pub fn stream_id_to_input_info(&self) -> &BTreeMap<usize, InputInfo> {
        &self.input_info
    }

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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiverInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The receiver's name.
    pub name: String,
    /// Whether it is running.
    pub active: bool,
    /// The last error it reported.
    pub last_error: Option<String>,
    /// The executor process it runs in (cluster mode; `None` in local mode). In cluster
    /// mode the driver's listeners hear its events too.
    pub executor: Option<String>,
}

/// A problem with an input's data that did not fail its batch: a file skipped because it
/// could not be read, a file that changed after it was picked, lines dropped for being
/// longer than `spate.streaming.maxLineBytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrorInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The batch the input was giving records to (ms).
    pub batch_time_ms: i64,
    /// The file concerned, if any.
    pub path: Option<String>,
    /// What happened.
    pub kind: InputErrorKind,
    /// The full message (also logged).
    pub message: String,
}

/// What an [`InputErrorInfo`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputErrorKind {
    /// A new file could not be opened or read (or is not a regular file): it is not in the
    /// batch, and is tried again at later batches while it is in the remember window.
    FileUnreadable,
    /// A file's size or modification time changed between being picked and the end of
    /// its batch: it was still being written, and the batch may hold only part of it.
    FileChanged,
    /// Lines longer than `spate.streaming.maxLineBytes` were dropped.
    LinesTooLong,
}

/// An event of the listener bus (Spark's `StreamingListenerEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamingListenerEvent {
    /// The context started; the time on its clock (ms).
    StreamingStarted {
        /// When it started.
        time_ms: i64,
    },
    /// A batch's jobs were submitted.
    BatchSubmitted(BatchInfo),
    /// A batch's first job started.
    BatchStarted(BatchInfo),
    /// A batch's last job ended.
    BatchCompleted(BatchInfo),
    /// An output operation started.
    OutputOperationStarted(OutputOperationInfo),
    /// An output operation ended.
    OutputOperationCompleted(OutputOperationInfo),
    /// A receiver started.
    ReceiverStarted(ReceiverInfo),
    /// A receiver reported an error (a block it could not store included).
    ReceiverError(ReceiverInfo),
    /// A receiver stopped.
    ReceiverStopped(ReceiverInfo),
    /// An input skipped or dropped some of its data without failing the batch.
    InputError(InputErrorInfo),
}

impl StreamingListenerEvent {
    /// Calls the method of `listener` for this event.
    pub fn dispatch(&self, listener: &dyn StreamingListener) {
        use StreamingListenerEvent as E;
        match self {
            E::StreamingStarted { time_ms } => listener.on_streaming_started(*time_ms),
            E::BatchSubmitted(b) => listener.on_batch_submitted(b),
            E::BatchStarted(b) => listener.on_batch_started(b),
            E::BatchCompleted(b) => listener.on_batch_completed(b),
            E::OutputOperationStarted(o) => listener.on_output_operation_started(o),
            E::OutputOperationCompleted(o) => listener.on_output_operation_completed(o),
            E::ReceiverStarted(r) => listener.on_receiver_started(r),
            E::ReceiverError(r) => listener.on_receiver_error(r),
            E::ReceiverStopped(r) => listener.on_receiver_stopped(r),
            E::InputError(e) => listener.on_input_error(e),
        }
    }
}

/// Listens to the streaming scheduler (Spark's `StreamingListener`); every method has an
/// empty default. Called on the listener bus's thread, one event at a time in the order
/// they happened; a panic is caught and logged. Keep them quick: the bus holds at most
/// 10,000 waiting events and drops (with a warning) what does not fit.
pub trait StreamingListener: Send + Sync + 'static {
    /// The context started (`time_ms` on its clock).
    fn on_streaming_started(&self, _time_ms: i64) {}
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
    /// An input skipped or dropped some of its data without failing the batch (an
    /// unreadable file, a file changed while being read, over-long lines).
    fn on_input_error(&self, _e: &InputErrorInfo) {}
}
