//! The messages between the driver and the executors.

use serde::{Deserialize, Serialize};

/// An executor joins the driver.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Its id (`SPATE_EXECUTOR_ID`).
    pub executor_id: String,
    /// Its task slots.
    pub cores: u32,
    /// Where its executor service listens (`http://host:port`).
    pub address: String,
    /// The application's name, to refuse an executor of another program.
    pub app_name: String,
}

/// The driver's answer to a registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterReply {
    /// Whether it was taken.
    pub accepted: bool,
    /// Why not.
    pub reason: String,
    /// Which start of the driver took it (a driver restarted on the same address has
    /// another): the executor sends it back with every heartbeat and result request.
    pub driver_instance: u64,
}

/// An executor is alive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Its id.
    pub executor_id: String,
    /// The driver instance it registered with ([`RegisterReply::driver_instance`]).
    pub driver_instance: u64,
}

/// The answer to a heartbeat (and to a shutdown).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// Whether the driver knows the executor (else it must register again).
    pub known: bool,
    /// The driver restarted since the executor registered: its copy of the program
    /// belongs to the driver's previous run, and it must exit (to be started again).
    pub restarted: bool,
}

/// Something the driver publishes for the executors' copies of the program.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Published {
    /// The outcome of a job (program order: the same id on every process).
    Job(u64),
    /// A decision under a name (a streaming batch's plan).
    Named(String),
}

/// An executor's copy of the program waits for what the driver published: the result of
/// a job, or a decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResultRequest {
    /// What it waits for.
    pub what: Published,
    /// Who asks.
    pub executor_id: String,
    /// The driver instance it registered with.
    pub driver_instance: u64,
}

/// A job's outcome as the executors see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum JobOutcome {
    /// Not finished yet: ask again.
    Pending,
    /// The encoded values, in partition order.
    Done(Vec<Vec<u8>>),
    /// It failed, with the driver's error.
    Failed(String),
    /// The driver stopped.
    Stopped,
    /// The driver no longer keeps it (every executor then registered fetched it, or it
    /// was evicted): the asking copy of the program fell too far behind.
    Gone,
    /// The driver restarted since the asking executor registered: its copy of the program
    /// belongs to the driver's previous run.
    DriverRestarted,
}

/// The answer to [`JobResultRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResultReply {
    /// The outcome.
    pub outcome: JobOutcome,
}

/// A task for an executor: an encoded `spate_core::scheduler::TaskDescription`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRequest {
    /// The attempt id.
    pub task_id: u64,
    /// The encoded description.
    pub bytes: Vec<u8>,
}

/// A task's encoded `spate_core::scheduler::TaskResult`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskReply {
    /// The encoded result.
    pub bytes: Vec<u8>,
}

/// The driver tells an executor to exit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShutdownRequest {}

/// A reduce task's executor asks the one holding a map output for one bucket of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchRequest {
    /// The shuffle.
    pub shuffle_id: u64,
    /// The map partition.
    pub map_id: u64,
    /// The bucket (reduce partition).
    pub bucket: u64,
}

/// The bucket's records, encoded as a `Vec` of the shuffle's records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchReply {
    /// The encoded records.
    pub bytes: Vec<u8>,
}

/// An executor asks the driver for a broadcast value it does not make itself
/// (`Context::broadcast_with`); the reply is its encoding ([`FetchReply`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BroadcastRequest {
    /// The broadcast (program order: the same id on every process).
    pub id: u64,
}

/// A task's executor asks the one holding a received block for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockRequest {
    /// The input stream.
    pub stream: u64,
    /// The block's sequence number.
    pub seq: u64,
}

/// An executor sends the driver a message (a receiver's stored block).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRequest {
    /// Who sends.
    pub executor_id: String,
    /// The driver instance it registered with.
    pub driver_instance: u64,
    /// What it is about (see `ClusterLink::subscribe`).
    pub topic: String,
    /// The message.
    pub bytes: Vec<u8>,
}

/// The driver's answer to a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageReply {
    /// Why the driver did not take it, if it did not.
    pub error: Option<String>,
}

/// Where another executor's service is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddressRequest {
    /// The executor.
    pub executor_id: String,
}

/// Its address, if the driver knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddressReply {
    /// `http://host:port`.
    pub address: Option<String>,
}

#[allow(missing_docs, clippy::all)]
pub(crate) mod driver {
    include!(concat!(env!("OUT_DIR"), "/spate.Driver.rs"));
}

#[allow(missing_docs, clippy::all)]
pub(crate) mod executor {
    include!(concat!(env!("OUT_DIR"), "/spate.Executor.rs"));
}
