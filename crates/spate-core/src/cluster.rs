//! The seam to cluster mode: what a context asks of the crate that runs a driver and
//! executors over the network (`spate-cluster`), without the core depending on it.
//!
//! Every process runs the program (DESIGN §1). With a cluster master (`local-cluster[N]`,
//! `spate://host:port`) the driver's context gets its [`Executor`] — tasks sent to
//! executor processes — and a [`ClusterLink`] from the registered [`ClusterBackend`]. An
//! executor process (`SPATE_EXECUTOR_ID` and `SPATE_DRIVER_URL` set) gets a link that
//! connects it to the driver and serves the driver's tasks against its own lineage; its
//! actions do not schedule anything: they return the driver's results of the same job
//! ([`ClusterLink::job_result`]), so the program runs in lockstep on every process.

use crate::conf::{Master, SpateConf};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::scheduler::Executor;
use parking_lot::RwLock;
use std::sync::Arc;

/// How long a task sent to an executor process waits for that process's copy of the
/// program to build what the task names (the driver may run ahead of it).
pub const RESOLVE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The environment variable that gives an executor its driver's address
/// (`spate://host:port`).
pub const DRIVER_URL_VAR: &str = "SPATE_DRIVER_URL";

/// What the driver's context uses in cluster mode.
pub struct DriverParts {
    /// Where tasks go: the executors, as one executor with all their slots.
    pub executor: Arc<dyn Executor>,
    /// How job results reach the executors.
    pub link: Arc<dyn ClusterLink>,
}

/// Driver and executor sides of one context in cluster mode.
pub trait ClusterLink: Send + Sync {
    /// Driver: the outcome of job `job_id`, for the executors' copies of the program.
    fn publish_job_result(&self, job_id: usize, outcome: &Result<Vec<Vec<u8>>>);
    /// Executor: the driver's outcome of job `job_id` (blocks until the driver has it).
    fn job_result(&self, job_id: usize) -> Result<Vec<Vec<u8>>>;
    /// Driver: publishes `bytes` under `key` for the executors' copies of the program
    /// (what the driver decided and they must follow: a streaming batch's time and
    /// input). Kept until every registered executor fetched it.
    fn publish(&self, key: &str, bytes: Vec<u8>);
    /// Executor: what the driver published under `key` (blocks until it has;
    /// [`Error::Stopped`] once the driver stopped).
    fn fetch(&self, key: &str) -> Result<Vec<u8>>;
    /// Executor: the encoded value of broadcast `id`, made on the driver only
    /// (`Context::broadcast_with`); fetched once per executor and cached.
    fn fetch_broadcast(&self, id: usize) -> Result<Vec<u8>>;
    /// Executor: sends `bytes` to the driver under `topic` (what a receiver running here
    /// stored); returns once the driver's handler took them, with its error if it did not.
    fn send(&self, topic: &str, _bytes: Vec<u8>) -> Result<()> {
        Err(Error::Config(format!(
            "`{topic}`: only an executor process sends to the driver"
        )))
    }
    /// Driver: `handler` takes what executors send under `topic` (the sender's executor
    /// id, the bytes).
    fn subscribe(&self, _topic: &str, _handler: MessageHandler) {}
    /// Driver: the executors registered now, by id, sorted.
    fn executors(&self) -> Vec<String> {
        Vec::new()
    }
    /// The context stops.
    fn stop(&self);
}

/// What takes the messages executors send to the driver under one topic
/// ([`ClusterLink::subscribe`]): the sender's executor id and the bytes; an error goes
/// back to the sender.
pub type MessageHandler = Arc<dyn Fn(&str, &[u8]) -> Result<()> + Send + Sync>;

/// What `spate-cluster` registers ([`register_backend`]).
pub trait ClusterBackend: Send + Sync {
    /// The driver of a context whose master is `master`: start listening, start or await
    /// the executors, and return where tasks go.
    fn start_driver(
        &self,
        env: &Arc<Env>,
        conf: &SpateConf,
        master: &Master,
    ) -> Result<DriverParts>;
    /// An executor process's context: connect to the driver at `driver_url` as executor
    /// `id`, run the tasks it sends on `tasks` (this process's task threads, which resolve
    /// them against `env`), and return the link its actions use.
    fn start_executor(
        &self,
        env: &Arc<Env>,
        tasks: Arc<dyn Executor>,
        conf: &SpateConf,
        driver_url: &str,
        id: &str,
    ) -> Result<Arc<dyn ClusterLink>>;
}

thread_local! {
    static DRIVER_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, whose jobs only the driver's copy of the program runs (the streaming engine's
/// record counts, say): their results are not published for the executors, which never
/// ask for them. Give such jobs a scope of their own ([`crate::ids::with_scope`]) so that
/// they do not shift the ids of the program's other jobs.
pub fn driver_only<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            DRIVER_ONLY.with(|d| d.set(self.0));
        }
    }
    let _reset = Reset(DRIVER_ONLY.with(|d| d.replace(true)));
    f()
}

/// Whether the current thread runs [`driver_only`] jobs.
pub(crate) fn is_driver_only() -> bool {
    DRIVER_ONLY.with(|d| d.get())
}

static BACKEND: RwLock<Option<Arc<dyn ClusterBackend>>> = RwLock::new(None);

/// Makes cluster masters available to contexts made after it (`spate_cluster::register()`
/// calls it).
pub fn register_backend(backend: Arc<dyn ClusterBackend>) {
    *BACKEND.write() = Some(backend);
}

/// The registered backend, or the error for a program that uses a cluster master without
/// it.
pub(crate) fn backend(master: &str) -> Result<Arc<dyn ClusterBackend>> {
    BACKEND.read().clone().ok_or_else(|| {
        Error::Config(format!(
            "master `{master}` needs cluster mode: add the spate-cluster crate and call \
             spate_cluster::register() at the start of main"
        ))
    })
}
