//! The one error type of `spate-streaming`.

/// What can go wrong in the streaming layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the batch engine.
    #[error(transparent)]
    Core(#[from] spate_core::Error),

    /// A duration is not usable here (zero, or not a multiple of the batch interval).
    #[error("{what}: {reason}")]
    InvalidDuration {
        /// Which duration.
        what: String,
        /// Why it is rejected.
        reason: String,
    },

    /// A stream was defined with arguments that cannot work (a window that is not a
    /// multiple of its parent's slide, streams of different slides joined, ...). The
    /// operation returned a stream anyway so that the chain reads as in Spark;
    /// `StreamingContext::start` fails with this, naming the operation, as Spark's
    /// `validate` does.
    #[error("{operation} (stream {stream}): {cause}")]
    InvalidStream {
        /// The operation that defined the stream (`window`, `join`, ...).
        operation: &'static str,
        /// The id of the stream it defined.
        stream: usize,
        /// What is wrong with it.
        #[source]
        cause: Box<Error>,
    },

    /// Cluster mode: the driver's copy of the program failed to start its streaming
    /// context, so this executor's copy does not start either.
    #[error("the driver's streaming context failed to start: {0}")]
    DriverStartFailed(String),

    /// A metadata checkpoint cannot be written, read or used.
    #[error("checkpoint {what}: {reason}")]
    Checkpoint {
        /// Which checkpoint (file or directory).
        what: String,
        /// What is wrong.
        reason: String,
    },

    /// The operation is not allowed in the context's current state.
    #[error("streaming context is {state}: cannot {action}")]
    State {
        /// The state.
        state: &'static str,
        /// What was attempted.
        action: &'static str,
    },

    /// An output operation failed for a batch.
    #[error("output operation {output} ({name}) failed for batch {time_ms} ms: {cause}")]
    OutputFailed {
        /// Batch time in milliseconds.
        time_ms: i64,
        /// Index of the output operation, in declaration order.
        output: usize,
        /// The operation (`print`, `foreach_rdd`, ...).
        name: &'static str,
        /// The cause: the output function's error (or a panic's message), kept whole.
        #[source]
        cause: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },

    /// A stream that needs an RDD from each of its parents for every batch (`union`,
    /// `transform`, `transform_with`, the joins, `cogroup`, `count`, `repartition`) found
    /// none for a batch (as opposed to an empty RDD), e.g. a `replay_stream` batch given as
    /// `None`. That batch fails, as in Spark; later batches run.
    #[error(
        "could not generate RDD from parent stream {parent} ({parent_operation}) at time \
         {time_ms} ms for stream {stream} ({operation})"
    )]
    MissingParentRdd {
        /// The parent stream's id.
        parent: usize,
        /// The operation that made the parent.
        parent_operation: &'static str,
        /// The id of the stream that needed the RDD.
        stream: usize,
        /// Its operation.
        operation: &'static str,
        /// The batch time in milliseconds.
        time_ms: i64,
    },

    /// A graph description from an earlier run does not match the graph this program
    /// built (see `StreamingContext::restore_graph`).
    #[error("the DStream graph differs from the one described: {what}; recovering it would compute different batches (build the same graph, or start without restoring)")]
    GraphMismatch {
        /// The first difference.
        what: String,
    },

    /// A manual-clock operation on a context that uses the system clock.
    #[error("this streaming context runs on the system clock; manual advancing needs ManualClock")]
    NotManualClock,

    /// A receiver's block could not be put in the block store (a full or unwritable
    /// `spate.local.dir`, a storage level without disk and too little memory): its records
    /// are not in any batch. Returned to the receiver by the `store` call that made the
    /// block (or, for records buffered by `store`, by its next `store`), reported to
    /// listeners, left out of its batch (which processes the stored blocks) and returned
    /// by `await_termination`.
    #[error("receiver {receiver} (stream {stream}): block {block} of {records} record(s) could not be stored: {reason}")]
    BlockNotStored {
        /// The input stream.
        stream: usize,
        /// The receiver's name.
        receiver: String,
        /// The block (`input-<stream>-<seq>`, as Spark names them).
        block: String,
        /// How many records it held.
        records: u64,
        /// Why it was not stored.
        reason: String,
        /// The block store's error, when it returned one.
        #[source]
        cause: Option<std::sync::Arc<spate_core::Error>>,
    },

    /// A receiver's records were offered after it stopped for good.
    #[error("receiver {receiver} (stream {stream}) is stopped: record(s) not stored")]
    ReceiverStopped {
        /// The input stream.
        stream: usize,
        /// The receiver's name.
        receiver: String,
    },

    /// A direct source's lifecycle hook failed: `start` (failing
    /// [`crate::StreamingContext::start`]), `commit` of a batch (failing that batch, see
    /// [`crate::input::DirectSource::commit`]), `position` or `restore`.
    #[error("source {source_name} (stream {stream}): {action} failed: {cause}")]
    Source {
        /// The input stream.
        stream: usize,
        /// The source's name ([`crate::input::DirectSource::name`]).
        source_name: String,
        /// What failed (`start`, `commit of batch 1000 ms`, ...).
        action: String,
        /// The source's error.
        #[source]
        cause: std::sync::Arc<Error>,
    },

    /// A position was given for a stream id that is not a direct input of this context.
    #[error("restore input positions: stream {stream} is not a direct input of this context (direct inputs: {known:?})")]
    UnknownInput {
        /// The stream id given.
        stream: usize,
        /// The ids of the context's direct inputs.
        known: Vec<usize>,
    },

    /// A sink's lifecycle hook failed: `open` (failing [`crate::StreamingContext::start`]),
    /// the batch's `write` job or its `commit` (failing the batch, which is aborted).
    #[error("sink {sink}: {action} failed: {cause}")]
    Sink {
        /// The sink's name ([`crate::sink::Sink::name`]).
        sink: String,
        /// What failed (`open`, `write of batch 1000 ms`, `commit of batch 1000 ms`).
        action: String,
        /// The sink's (or the engine's) error.
        #[source]
        cause: crate::output::BoxError,
    },

    /// A source failed.
    #[error("input {stream}: {reason}")]
    Input {
        /// The input stream.
        stream: String,
        /// Why.
        reason: String,
    },

    /// An error of a connector crate (`spate-kafka`, ...), its own typed error kept as
    /// the cause.
    #[error("{connector}: {source}")]
    Connector {
        /// The connector (`kafka`, ...).
        connector: &'static str,
        /// Its error.
        #[source]
        source: crate::output::BoxError,
    },
}

/// `Result` with spate-streaming's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
