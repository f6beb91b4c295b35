//! # spate-cluster: one program as a driver and executor processes
//!
//! Every process runs the user's program and builds the same lineage (DESIGN §1); the
//! driver schedules and sends tasks as data; executors compute them against their own
//! copy of the lineage and return encoded results; an executor's actions return the
//! driver's results of the same job, so every copy of the program runs in lockstep.
//!
//! - [`register`] makes the cluster masters available: `local-cluster[N]` /
//!   `local-cluster[N,cores]` (the driver spawns N executor processes of the running
//!   binary on this machine) and `spate://host:port` (the driver listens there; executors
//!   are the same binary started with `SPATE_DRIVER_URL=spate://host:port` and
//!   `SPATE_EXECUTOR_ID=<id>`).
//! - gRPC (tonic) carries every message in the engine's binary format
//!   ([`codec::PostcardCodec`]); messages are bounded ([`MAX_MESSAGE_BYTES`]); with
//!   `spate.authenticate.secret` every call carries the secret and a peer without it is
//!   refused.
//!
//! - `spate.ssl.enabled`: TLS (rustls) on every connection, authenticated both ways.
//! - Streaming contexts follow the driver's batches (`spate-streaming`'s scheduler); the
//!   driver keeps the executor registry, places tasks (where their partitions are cached,
//!   else by free slots), and takes an executor that fails a call or misses heartbeats as
//!   lost (its tasks are retried elsewhere, its map outputs recomputed).
//!
//! - Receivers run in executor processes, placed by the driver; executors may join a
//!   running application (they replay it from the driver's replay log); a restarted
//!   driver's executors are told to leave and their replacements join it.
//!
//! See `docs/cluster.md` for what works and its limits.

pub mod codec;
mod driver;
mod executor;
pub mod proto;
mod tls;

use spate_core::cluster::{ClusterBackend, ClusterLink, DriverParts};
use spate_core::conf::{Master, SpateConf};
use spate_core::Env;
use std::sync::Arc;

/// The largest message a process accepts (a task, a result, a job's results) unless
/// `spate.rpc.message.maxSize` says otherwise.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// `spate.rpc.message.maxSize`.
fn max_message(conf: &SpateConf) -> usize {
    conf.get_bytes("spate.rpc.message.maxSize")
        .ok()
        .flatten()
        .map_or(MAX_MESSAGE_BYTES, |b| {
            usize::try_from(b).unwrap_or(MAX_MESSAGE_BYTES)
        })
}

#[cfg(test)]
mod tests;

/// The metadata key that carries `spate.authenticate.secret`.
pub const SECRET_HEADER: &str = "x-spate-secret";

/// What can go wrong in cluster mode.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A network address or URL that cannot be used.
    #[error("cluster address {address}: {reason}")]
    Address {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// A call to a peer failed.
    #[error("{call} to {peer} failed: {source}")]
    Call {
        /// The call.
        call: &'static str,
        /// The peer.
        peer: String,
        /// The status.
        #[source]
        source: Box<tonic::Status>,
    },
    /// Connecting to a peer failed.
    #[error("connecting to {peer} failed: {source}")]
    Connect {
        /// The peer.
        peer: String,
        /// The cause.
        #[source]
        source: tonic::transport::Error,
    },
    /// The driver refused this executor.
    #[error("the driver at {driver} refused executor {executor}: {reason}")]
    Refused {
        /// The driver.
        driver: String,
        /// This executor.
        executor: String,
        /// The driver's reason.
        reason: String,
    },
    /// What the driver decided under a name (a streaming plan, the checkpoint it
    /// recovered from) cannot be had.
    #[error("the driver's decision `{key}`: {reason}")]
    Decision {
        /// The decision's name.
        key: String,
        /// Why.
        reason: String,
    },
    /// A configuration value the cluster runtime cannot use.
    #[error("configuration key `{key}`: {source}")]
    Conf {
        /// The key.
        key: &'static str,
        /// Why.
        #[source]
        source: spate_core::Error,
    },
    /// Executors did not come.
    #[error("{registered} of {expected} executor(s) registered within {seconds} s: {detail}")]
    Startup {
        /// How many came.
        registered: usize,
        /// How many were expected.
        expected: usize,
        /// How long the driver waited.
        seconds: u64,
        /// What happened to the others.
        detail: String,
    },
    /// An I/O error (spawning executors, binding a port, starting the runtime).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl From<Error> for spate_core::Error {
    fn from(e: Error) -> Self {
        spate_core::Error::Cluster(Arc::new(e))
    }
}

/// Makes the cluster masters available to contexts created after this call. Call it at
/// the start of `main`, in every process (the executors run the same `main`).
pub fn register() {
    spate_core::cluster::register_backend(Arc::new(Backend));
}

struct Backend;

impl ClusterBackend for Backend {
    fn start_driver(
        &self,
        env: &Arc<Env>,
        conf: &SpateConf,
        master: &Master,
    ) -> spate_core::Result<DriverParts> {
        Ok(driver::start(env, conf, master)?)
    }

    fn start_executor(
        &self,
        env: &Arc<Env>,
        tasks: Arc<dyn spate_core::scheduler::Executor>,
        conf: &SpateConf,
        driver_url: &str,
        id: &str,
    ) -> spate_core::Result<Arc<dyn ClusterLink>> {
        Ok(executor::start(env, tasks, conf, driver_url, id)?)
    }
}

/// The secret of `conf`, if set.
fn secret(conf: &SpateConf) -> Option<String> {
    conf.get_raw("spate.authenticate.secret")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A tonic interceptor that refuses calls without `secret` (none: every call passes).
#[derive(Clone)]
struct CheckSecret(Option<Arc<str>>);

impl tonic::service::Interceptor for CheckSecret {
    fn call(&mut self, req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let Some(expected) = &self.0 else {
            return Ok(req);
        };
        let given = req
            .metadata()
            .get(SECRET_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // Compared in full whatever the first difference, not to leak where it is.
        let same = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(req)
        } else {
            tracing::warn!(
                peer = ?req.remote_addr(),
                "refused a call without the right spate.authenticate.secret"
            );
            Err(tonic::Status::unauthenticated(
                "wrong or missing spate.authenticate.secret",
            ))
        }
    }
}

/// A tonic interceptor that adds `secret` to every call.
#[derive(Clone)]
struct AddSecret(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl AddSecret {
    fn new(secret: Option<&str>) -> Self {
        AddSecret(secret.and_then(|s| s.parse().ok()))
    }
}

impl tonic::service::Interceptor for AddSecret {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert(SECRET_HEADER, v.clone());
        }
        Ok(req)
    }
}

/// `endpoint` with the timeouts of every connection between spate processes: connecting
/// is bounded, and a connection whose peer stopped answering (a host gone, a link down)
/// is found dead by HTTP/2 pings within seconds, so its calls fail instead of hanging.
fn keepalive(endpoint: tonic::transport::Endpoint) -> tonic::transport::Endpoint {
    endpoint
        .connect_timeout(std::time::Duration::from_secs(5))
        .http2_keep_alive_interval(std::time::Duration::from_secs(2))
        .keep_alive_timeout(std::time::Duration::from_secs(4))
        .keep_alive_while_idle(true)
}

/// Serves `router` on the connections `listener` accepts, on `rt`, until the runtime
/// goes; `what` names the service in the log when it ends with an error.
fn serve(
    rt: &tokio::runtime::Runtime,
    router: tonic::transport::server::Router,
    listener: tokio::net::TcpListener,
    what: &'static str,
) {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    rt.spawn(async move {
        if let Err(e) = router.serve_with_incoming(incoming).await {
            tracing::error!("the {what}'s service ended: {e}");
        }
    });
}

/// A two-thread runtime for a context's network work.
fn runtime(name: &str) -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            what: "starting the network runtime".into(),
            source,
        })
}
