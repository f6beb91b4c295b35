//! The one error type of `spate-core`.

use std::path::PathBuf;

/// Everything that can go wrong in the engine, with what and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration key is unknown, or its value does not parse.
    #[error("configuration: {0}")]
    Config(String),

    /// An argument given to an operation is out of range or inconsistent.
    #[error("invalid argument to {op}: {reason}")]
    InvalidArgument {
        /// The operation that rejected the argument.
        op: &'static str,
        /// Why.
        reason: String,
    },

    /// Reading or writing a file failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An input glob matched no file (Hadoop's "Input Pattern ... matches 0 files").
    #[error("Input Pattern {pattern} matches 0 files")]
    NoMatch {
        /// The pattern, as given.
        pattern: String,
    },

    /// An input file does not have the shape its reader needs (say, a length that is not
    /// a multiple of the record length).
    #[error("input {path}: {reason}")]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A file written by spate is truncated or corrupt.
    #[error("corrupt file {path} at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damage was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// Encoding or decoding a value with spate's binary format failed.
    #[error("serialization ({what}): {reason}")]
    Serde {
        /// What was being encoded or decoded.
        what: String,
        /// The codec's message.
        reason: String,
    },

    /// A task failed; carries the user's panic message or error.
    #[error("task failed: {0}")]
    Task(String),

    /// A reduce task could not read a map output: it was lost and must be recomputed.
    #[error("shuffle {shuffle_id}: output of map {map_id} is missing")]
    FetchFailed {
        /// The shuffle whose output is missing.
        shuffle_id: usize,
        /// The map partition whose output is missing.
        map_id: usize,
    },

    /// A job failed after its retries were spent.
    #[error("job {job_id} failed: stage {stage_id}, partition {partition} failed {attempts} time(s); last cause: {cause}")]
    JobFailed {
        /// The job.
        job_id: usize,
        /// The stage the failing task belonged to.
        stage_id: usize,
        /// The partition of the failing task.
        partition: usize,
        /// How many attempts were made.
        attempts: usize,
        /// The cause of the last failure (a panic's message included).
        cause: String,
    },

    /// A job was given up because a stage kept losing its input.
    #[error("job {job_id} aborted: {reason}")]
    JobAborted {
        /// The job.
        job_id: usize,
        /// Why.
        reason: String,
    },

    /// A job was cancelled while it ran ([`crate::Context::cancel_job_group`],
    /// [`crate::Context::cancel_all_jobs`], [`crate::Context::cancel_job`]); Spark's
    /// `SparkException("Job N cancelled ...")`.
    #[error("job {job} cancelled: {reason}")]
    JobCancelled {
        /// The job.
        job: usize,
        /// Its job group, if it had one.
        group: Option<String>,
        /// Why (the group cancelled, all jobs cancelled, the job cancelled).
        reason: String,
    },

    /// A broadcast variable was used after `destroy`.
    #[error("broadcast {0} was used after it was destroyed")]
    BroadcastDestroyed(usize),

    /// A `broadcast_with` value, made on the driver only, read where there is no driver
    /// to ask.
    #[error(
        "broadcast {0}: the value is made on the driver and this process has no connection to it"
    )]
    BroadcastOnDriver(usize),

    /// Cluster mode failed (the cluster crate's error, kept as the source).
    #[error("cluster: {0}")]
    Cluster(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),

    /// The context has been stopped.
    #[error("the context is stopped")]
    Stopped,

    /// A checkpoint is missing or does not match the RDD reading it.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// Where.
        path: String,
        /// What is wrong.
        reason: String,
    },

    /// An action that needs at least one element was run on an empty RDD.
    #[error("{0} of an empty RDD")]
    EmptyRdd(&'static str),

    /// A task description names something this process does not have (an RDD, a
    /// shuffle, a job's function, a broadcast or an accumulator).
    #[error("task names {kind} {id}, which this process does not have (the program built a different graph here, or the {kind} was dropped)")]
    Unresolved {
        /// What kind of thing.
        kind: &'static str,
        /// Its id.
        id: usize,
    },

    /// A command run by `pipe` could not start, or failed.
    #[error("pipe: command `{command}` {reason}")]
    Pipe {
        /// The command line.
        command: String,
        /// What went wrong: the start error, or the exit status and the end of stderr.
        reason: String,
    },

    /// A task ran against a lineage that differs from the driver's.
    #[error("lineage mismatch for rdd {rdd_id}: driver expects fingerprint {expected:016x}, this process has {found:016x} ({op})")]
    LineageMismatch {
        /// The RDD id.
        rdd_id: usize,
        /// The driver's fingerprint.
        expected: u64,
        /// This process's fingerprint.
        found: u64,
        /// The operation at that id on this process.
        op: String,
    },
}

impl Error {
    /// An i/o error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether retrying the same work could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Io { .. } | Error::Task(_) | Error::FetchFailed { .. } | Error::Pipe { .. }
        )
    }
}

/// `Result` with spate-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
