//! The executor side: joins the driver, serves its tasks against this process's copy of
//! the lineage, and gives the program's actions the driver's results.

use crate::proto::driver::driver_client::DriverClient;
use crate::proto::executor::executor_client::ExecutorClient;
use crate::proto::executor::executor_server::{Executor, ExecutorServer};
use crate::proto::{
    AddressRequest, BlockRequest, BroadcastRequest, FetchReply, FetchRequest, Heartbeat,
    HeartbeatReply, JobOutcome, JobResultRequest, MessageRequest, Published, RegisterRequest,
    ShutdownRequest, TaskReply, TaskRequest,
};
use crate::{AddSecret, CheckSecret, Error};
use parking_lot::Mutex;
use spate_core::cluster::ClusterLink;
use spate_core::conf::{Master, SpateConf};
use spate_core::scheduler::EncodedTask;
use spate_core::Env;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

type Client = DriverClient<InterceptedService<Channel, AddSecret>>;

/// How long an executor keeps trying to reach a driver that is not listening yet.
const DRIVER_REACH: Duration = Duration::from_secs(30);

/// How long the driver may not answer heartbeats before the executor exits.
const DRIVER_LOST: Duration = Duration::from_secs(15);

struct Service {
    /// For the map outputs it serves.
    env: Weak<Env>,
    /// This process's task threads.
    tasks: Arc<dyn spate_core::scheduler::Executor>,
}

#[tonic::async_trait]
impl Executor for Service {
    async fn launch(&self, req: Request<TaskRequest>) -> Result<Response<TaskReply>, Status> {
        let t = req.into_inner();
        // This process's task threads run it (at most `cores` at once); the call waits
        // for the result.
        let (done, result) = crossbeam_channel::bounded(1);
        self.tasks.launch(
            EncodedTask {
                task_id: t.task_id,
                bytes: t.bytes,
                preferred: None,
            },
            done,
        );
        let bytes = tokio::task::spawn_blocking(move || result.recv())
            .await
            .map_err(|e| Status::internal(format!("waiting for the task failed: {e}")))?
            .map_err(|_| Status::unavailable("the executor's task threads stopped"))?;
        Ok(Response::new(TaskReply { bytes }))
    }

    async fn fetch_bucket(
        &self,
        req: Request<FetchRequest>,
    ) -> Result<Response<FetchReply>, Status> {
        let r = req.into_inner();
        let Some(env) = self.env.upgrade() else {
            return Err(Status::unavailable("the executor's context is gone"));
        };
        let (shuffle, map, bucket) = (r.shuffle_id as usize, r.map_id as usize, r.bucket as usize);
        let bytes = tokio::task::spawn_blocking(move || {
            let dep = env.resolve_shuffle(shuffle)?;
            dep.encode_bucket(&env, map, bucket)
        })
        .await
        .map_err(|e| Status::internal(format!("the fetch thread failed: {e}")))?
        .map_err(|e| Status::not_found(e.to_string()))?;
        Ok(Response::new(FetchReply { bytes }))
    }

    async fn fetch_block(
        &self,
        req: Request<BlockRequest>,
    ) -> Result<Response<FetchReply>, Status> {
        let r = req.into_inner();
        let Some(env) = self.env.upgrade() else {
            return Err(Status::unavailable("the executor's context is gone"));
        };
        let id = spate_core::storage::BlockId::Input {
            stream: r.stream as usize,
            seq: r.seq,
        };
        let bytes = tokio::task::spawn_blocking(move || env.block_store().get_values::<u8>(id))
            .await
            .map_err(|e| Status::internal(format!("the fetch thread failed: {e}")))?
            .map_err(|e| Status::internal(e.to_string()))?
            .ok_or_else(|| Status::not_found(format!("block {id:?} is not here")))?;
        Ok(Response::new(FetchReply {
            bytes: bytes.as_ref().clone(),
        }))
    }

    async fn shutdown(
        &self,
        _req: Request<ShutdownRequest>,
    ) -> Result<Response<HeartbeatReply>, Status> {
        tracing::info!("the driver stopped: executor exiting");
        // Answer first, then leave: the program's copy here has nothing more to do.
        let dedicated = self.env.upgrade().is_some_and(|e| !e.role().is_driver());
        let exit_soon = std::thread::Builder::new().spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            leave(dedicated, 0);
        });
        if exit_soon.is_err() {
            leave(dedicated, 0);
        }
        Ok(Response::new(HeartbeatReply {
            known: true,
            restarted: false,
        }))
    }
}

struct ExecutorLink {
    id: String,
    /// This process is an executor process (it may exit or start again on its own).
    dedicated: bool,
    /// The start of the driver this executor registered with.
    driver_instance: u64,
    driver: String,
    client: Client,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    stopped: Arc<AtomicBool>,
}

impl ExecutorLink {
    /// Waits for what the driver published as `what`.
    fn wait_published(&self, what: Published) -> spate_core::Result<Vec<Vec<u8>>> {
        let mut failing_since: Option<std::time::Instant> = None;
        loop {
            if self.stopped.load(Ordering::Acquire) {
                return Err(spate_core::Error::Stopped);
            }
            let mut c = self.client.clone();
            let req = JobResultRequest {
                what: what.clone(),
                executor_id: self.id.clone(),
                driver_instance: self.driver_instance,
            };
            let reply = match self.handle.block_on(c.job_result(req)) {
                Ok(r) => {
                    failing_since = None;
                    r
                }
                // A network outage: the driver may be back in a moment.
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                    ) && failing_since
                        .get_or_insert_with(std::time::Instant::now)
                        .elapsed()
                        < DRIVER_LOST =>
                {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                Err(status) => {
                    return Err(spate_core::Error::from(Error::Call {
                        call: "job_result",
                        peer: self.driver.clone(),
                        source: Box::new(status),
                    }))
                }
            };
            match reply.into_inner().outcome {
                JobOutcome::Pending => continue,
                JobOutcome::Done(v) => return Ok(v),
                JobOutcome::Failed(msg) => return Err(unavailable(&what, format!("on the driver: {msg}"))),
                JobOutcome::Stopped => return Err(spate_core::Error::Stopped),
                JobOutcome::DriverRestarted => {
                    rejoin(self.dedicated);
                    return Err(unavailable(
                        &what,
                        "the driver restarted since this executor joined it: this copy of the \
                         program belongs to its previous run"
                            .into(),
                    ));
                }
                JobOutcome::Gone => {
                    return Err(unavailable(
                        &what,
                        "the driver no longer keeps it: this executor's copy of the program fell behind (an outage of more than 30 s?)".into(),
                    ))
                }
            }
        }
    }
}

/// The error for a job result or decision this executor cannot have.
fn unavailable(what: &Published, reason: String) -> spate_core::Error {
    match what {
        Published::Job(id) => spate_core::Error::JobAborted {
            job_id: *id as usize,
            reason,
        },
        Published::Named(key) => Error::Decision {
            key: key.clone(),
            reason,
        }
        .into(),
    }
}

impl ClusterLink for ExecutorLink {
    fn publish_job_result(&self, _job_id: usize, _outcome: &spate_core::Result<Vec<Vec<u8>>>) {}

    fn job_result(&self, job_id: usize) -> spate_core::Result<Vec<Vec<u8>>> {
        self.wait_published(Published::Job(job_id as u64))
    }

    fn publish(&self, _key: &str, _bytes: Vec<u8>) {}

    fn fetch(&self, key: &str) -> spate_core::Result<Vec<u8>> {
        let mut parts = self.wait_published(Published::Named(key.to_string()))?;
        Ok(parts.pop().unwrap_or_default())
    }

    fn fetch_broadcast(&self, id: usize) -> spate_core::Result<Vec<u8>> {
        let mut c = self.client.clone();
        let req = BroadcastRequest { id: id as u64 };
        // Made in the runtime: the timer needs it (this is a task thread).
        let reply = self.handle.block_on(async move {
            tokio::time::timeout(Duration::from_secs(60), c.fetch_broadcast(req)).await
        });
        match reply {
            Ok(Ok(r)) => Ok(r.into_inner().bytes),
            Ok(Err(status)) => Err(spate_core::Error::from(Error::Call {
                call: "fetch_broadcast",
                peer: self.driver.clone(),
                source: Box::new(status),
            })),
            Err(_) => Err(spate_core::Error::Task(format!(
                "broadcast {id}: the driver at {} did not answer within 60 s",
                self.driver
            ))),
        }
    }

    fn send(&self, topic: &str, bytes: Vec<u8>) -> spate_core::Result<()> {
        let mut c = self.client.clone();
        let req = MessageRequest {
            executor_id: self.id.clone(),
            driver_instance: self.driver_instance,
            topic: topic.to_string(),
            bytes,
        };
        let reply = self.handle.block_on(async move {
            tokio::time::timeout(Duration::from_secs(30), c.send(req)).await
        });
        let failed = |reason: String| {
            spate_core::Error::from(Error::Decision {
                key: topic.to_string(),
                reason,
            })
        };
        match reply {
            Ok(Ok(r)) => match r.into_inner().error {
                None => Ok(()),
                Some(e) => Err(failed(format!("the driver did not take it: {e}"))),
            },
            Ok(Err(status)) => Err(spate_core::Error::from(Error::Call {
                call: "send",
                peer: self.driver.clone(),
                source: Box::new(status),
            })),
            Err(_) => Err(failed(format!(
                "the driver at {} did not answer within 30 s",
                self.driver
            ))),
        }
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Some(rt) = self.runtime.lock().take() {
            rt.shutdown_timeout(Duration::from_millis(200));
        }
    }
}

type PeerClient = ExecutorClient<InterceptedService<Channel, AddSecret>>;

/// Reduce tasks' reads in an executor: its own map outputs from its block store, the
/// others' from the executor that holds them (its address from the driver).
struct ClusterShuffleFetch {
    me: String,
    local: Arc<dyn spate_core::env::ShuffleFetch>,
    driver: Client,
    secret: Option<String>,
    peers: Mutex<std::collections::HashMap<String, PeerClient>>,
    handle: tokio::runtime::Handle,
    max_message: usize,
    tls: Option<crate::tls::Tls>,
}

impl ClusterShuffleFetch {
    fn peer(&self, id: &str) -> Option<PeerClient> {
        if let Some(c) = self.peers.lock().get(id) {
            return Some(c.clone());
        }
        let mut d = self.driver.clone();
        let reply = self
            .handle
            .block_on(d.executor_address(AddressRequest {
                executor_id: id.to_string(),
            }))
            .ok()?
            .into_inner();
        let endpoint = tonic::transport::Endpoint::from_shared(reply.address?).ok()?;
        let endpoint = crate::tls::endpoint(crate::keepalive(endpoint), &self.tls).ok()?;
        // A task thread is not a runtime thread: the lazy channel needs the runtime.
        let _runtime = self.handle.enter();
        let client = ExecutorClient::with_interceptor(
            endpoint.connect_lazy(),
            AddSecret::new(self.secret.as_deref()),
        )
        .max_decoding_message_size(self.max_message)
        .max_encoding_message_size(self.max_message);
        self.peers.lock().insert(id.to_string(), client.clone());
        Some(client)
    }
}

impl spate_core::env::ShuffleFetch for ClusterShuffleFetch {
    fn fetch(
        &self,
        shuffle_id: usize,
        map_id: usize,
        bucket: usize,
        status: &spate_core::scheduler::MapStatus,
    ) -> spate_core::Result<spate_core::env::FetchedOutput> {
        if status.executor_id == self.me {
            return self.local.fetch(shuffle_id, map_id, bucket, status);
        }
        let req = FetchRequest {
            shuffle_id: shuffle_id as u64,
            map_id: map_id as u64,
            bucket: bucket as u64,
        };
        match self.call_peer(&status.executor_id, |mut p| async move {
            p.fetch_bucket(req).await
        }) {
            Ok(r) => Ok(spate_core::env::FetchedOutput::Remote(r.bytes)),
            Err(e) => {
                tracing::warn!(shuffle_id, map_id, executor = %status.executor_id, "fetching a map output failed: {e}");
                Err(spate_core::Error::FetchFailed { shuffle_id, map_id })
            }
        }
    }

    fn fetch_block(
        &self,
        executor: &str,
        id: spate_core::storage::BlockId,
    ) -> spate_core::Result<Vec<u8>> {
        let spate_core::storage::BlockId::Input { stream, seq } = id else {
            return Err(spate_core::Error::Task(format!(
                "block {id:?}: only received blocks are fetched from other executors"
            )));
        };
        let req = BlockRequest {
            stream: stream as u64,
            seq,
        };
        self.call_peer(executor, |mut p| async move { p.fetch_block(req).await })
            .map(|r| r.bytes)
            .map_err(|e| {
                spate_core::Error::Task(format!(
                    "fetching received block {id:?} from executor {executor}: {e}"
                ))
            })
    }
}

impl ClusterShuffleFetch {
    /// Calls `call` on executor `executor`'s service, bounded by 60 s.
    fn call_peer<R, F, Fut>(&self, executor: &str, call: F) -> Result<R, String>
    where
        F: FnOnce(PeerClient) -> Fut,
        Fut: std::future::Future<Output = Result<Response<R>, Status>>,
    {
        let Some(peer) = self.peer(executor) else {
            return Err(format!("no address for executor {executor}"));
        };
        // Made inside the runtime: the timer needs it (this is a task thread).
        match self.handle.block_on(async move {
            tokio::time::timeout(Duration::from_secs(60), call(peer)).await
        }) {
            Ok(Ok(r)) => Ok(r.into_inner()),
            Ok(Err(status)) => Err(format!("{:?}: {}", status.code(), status.message())),
            Err(_) => Err("timed out after 60 s".into()),
        }
    }
}

/// Ends an executor process whose driver is gone (`code` 0: it stopped). `dedicated`:
/// this process is an executor process (`SPATE_EXECUTOR_ID` set); an executor service
/// started in another process (a test's) only stops answering, and the process goes on.
fn leave(dedicated: bool, code: i32) {
    if dedicated {
        spate_core::scratch::remove_live_dirs();
        std::process::exit(code);
    }
    tracing::warn!("not exiting: this process is not an executor process");
}

/// The driver restarted on its address: this executor process starts its program again
/// (the same binary, arguments and environment, in place: `exec`), so that a fresh copy
/// joins the new driver. Returns only if it cannot (then the process exits with status
/// 1, for its supervisor to start it again), or when this is not an executor process.
fn rejoin(dedicated: bool) {
    if !dedicated {
        tracing::warn!("not starting again: this process is not an executor process");
        return;
    }
    tracing::warn!("the driver restarted: this executor starts its program again to join it");
    spate_core::scratch::remove_live_dirs();
    use std::os::unix::process::CommandExt;
    let err = match std::env::current_exe() {
        Ok(exe) => std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .exec(),
        Err(e) => e,
    };
    tracing::error!("starting the program again failed ({err}): exiting");
    std::process::exit(1);
}

/// `spate://host:port` as the `http(s)://host:port` tonic dials.
fn http_url(driver_url: &str, scheme: &str) -> Result<String, Error> {
    let addr = driver_url
        .strip_prefix("spate://")
        .ok_or_else(|| Error::Address {
            address: driver_url.to_string(),
            reason: "expected spate://host:port".into(),
        })?;
    Ok(format!("{scheme}://{addr}"))
}

/// Joins the driver at `driver_url` as executor `id`.
pub(crate) fn start(
    env: &Arc<Env>,
    tasks: Arc<dyn spate_core::scheduler::Executor>,
    conf: &SpateConf,
    driver_url: &str,
    id: &str,
) -> Result<Arc<dyn ClusterLink>, Error> {
    let tls = crate::tls::Tls::from_conf(conf)?;
    let tls_on = tls.is_some();
    let scheme = crate::tls::scheme(&tls);
    let url = http_url(driver_url, scheme)?;
    let secret = crate::secret(conf);
    let cores = std::env::var("SPATE_EXECUTOR_CORES")
        .ok()
        .and_then(|c| c.parse::<u32>().ok())
        .or_else(|| match conf.get_master().ok() {
            Some(Master::LocalCluster { cores: Some(c), .. }) => Some(c as u32),
            _ => None,
        })
        .or_else(|| {
            conf.get_count("spate.executor.cores")
                .ok()
                .flatten()
                .map(|c| c as u32)
        })
        .unwrap_or(2);
    let rt = crate::runtime("spate-executor-net")?;
    // Listen on the interface the driver is reached through, so it can reach us back.
    let host = driver_url
        .trim_start_matches("spate://")
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .ok_or_else(|| Error::Address {
            address: driver_url.to_string(),
            reason: "expected spate://host:port".into(),
        })?;
    // The driver may not be listening yet (executors started at the same time as it):
    // keep trying for a while.
    let reach_until = std::time::Instant::now() + DRIVER_REACH;
    let local_ip = loop {
        match std::net::TcpStream::connect(format!("{}:{}", host.0, host.1))
            .and_then(|s| s.local_addr())
        {
            Ok(a) => break a.ip(),
            Err(_) if std::time::Instant::now() < reach_until => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(source) => {
                return Err(Error::Io {
                    what: format!(
                        "reaching the driver at {driver_url} (tried for {} s)",
                        DRIVER_REACH.as_secs()
                    ),
                    source,
                })
            }
        }
    };
    let listener = rt
        .block_on(tokio::net::TcpListener::bind((local_ip, 0)))
        .map_err(|source| Error::Io {
            what: format!("binding the executor service on {local_ip}"),
            source,
        })?;
    let address = listener
        .local_addr()
        .map(|a| format!("{scheme}://{a}"))
        .map_err(|source| Error::Io {
            what: "reading the executor's address".into(),
            source,
        })?;
    let max_message = crate::max_message(conf);
    let service = InterceptedService::new(
        ExecutorServer::new(Service {
            env: Arc::downgrade(env),
            tasks,
        })
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message),
        CheckSecret(secret.as_deref().map(Arc::from)),
    );
    crate::serve(
        &rt,
        crate::tls::server(&tls)?.add_service(service),
        listener,
        "executor",
    );
    let endpoint =
        tonic::transport::Endpoint::from_shared(url.clone()).map_err(|e| Error::Address {
            address: url.clone(),
            reason: e.to_string(),
        })?;
    let channel = rt
        .block_on(
            crate::tls::endpoint(crate::keepalive(endpoint), &tls)?
                .connect_timeout(Duration::from_secs(10))
                .connect(),
        )
        .map_err(|source| Error::Connect {
            peer: if tls_on {
                format!(
                    "{driver_url} over TLS (does spate.ssl.trustFile on both sides hold the \
                     authority that signed the other's certificate, for spate.ssl.serverName?)"
                )
            } else {
                driver_url.to_string()
            },
            source,
        })?;
    let client = DriverClient::with_interceptor(channel, AddSecret::new(secret.as_deref()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let app_name = conf
        .get_raw("spate.app.name")
        .unwrap_or("spate")
        .to_string();
    let registration = RegisterRequest {
        executor_id: id.to_string(),
        cores,
        address: address.clone(),
        app_name,
    };
    let reply = rt
        .block_on(client.clone().register(registration.clone()))
        .map_err(|status| Error::Call {
            call: "register",
            peer: driver_url.to_string(),
            source: Box::new(status),
        })?
        .into_inner();
    if !reply.accepted {
        return Err(Error::Refused {
            driver: driver_url.to_string(),
            executor: id.to_string(),
            reason: reply.reason,
        });
    }
    let driver_instance = reply.driver_instance;
    tracing::info!(executor = id, %address, cores, "executor joined the driver at {driver_url}");
    let stopped = Arc::new(AtomicBool::new(false));
    let dedicated = !env.role().is_driver();
    // Heartbeats: a driver gone for good ends this process (its program has no driver).
    {
        let (mut c, id, stopped) = (client.clone(), id.to_string(), stopped.clone());
        rt.spawn(async move {
            let mut last_ok = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if stopped.load(Ordering::Acquire) {
                    return;
                }
                let beat = tokio::time::timeout(
                    Duration::from_secs(2),
                    c.heartbeat(Heartbeat {
                        executor_id: id.clone(),
                        driver_instance,
                    }),
                )
                .await;
                if let Ok(Ok(reply)) = beat {
                    last_ok = tokio::time::Instant::now();
                    let reply = reply.into_inner();
                    if reply.restarted {
                        // A new driver on the same address: this copy of the program
                        // belongs to its previous run. Exit, so that whatever runs the
                        // executors (Kubernetes, a supervisor) starts a fresh one, which
                        // joins the new driver.
                        rejoin(dedicated);
                        return;
                    }
                    if !reply.known {
                        // The driver took us as lost (a network outage): join again.
                        match c.register(registration.clone()).await {
                            Ok(r) if r.get_ref().accepted => {
                                tracing::warn!(executor = %id, "registered again with the driver after it lost this executor");
                            }
                            Ok(r) => tracing::error!(executor = %id, "the driver refused this executor again: {}", r.get_ref().reason),
                            Err(e) => tracing::warn!(executor = %id, "registering again failed: {}", e.message()),
                        }
                    }
                } else if last_ok.elapsed() > DRIVER_LOST {
                    tracing::error!(executor = %id, "the driver has not answered for {} s: exiting", DRIVER_LOST.as_secs());
                    leave(dedicated, 1);
                    return;
                }
            }
        });
    }
    let handle = rt.handle().clone();
    env.set_shuffle_fetch(Arc::new(ClusterShuffleFetch {
        me: id.to_string(),
        local: env.local_shuffle_fetch(),
        driver: client.clone(),
        secret: secret.clone(),
        peers: Mutex::new(Default::default()),
        handle: handle.clone(),
        max_message,
        tls,
    }));
    Ok(Arc::new(ExecutorLink {
        id: id.to_string(),
        dedicated,
        driver_instance,
        driver: driver_url.to_string(),
        client,
        runtime: Mutex::new(Some(rt)),
        handle,
        stopped,
    }))
}
