//! The driver side: the gRPC service executors register with and fetch job results from,
//! the executor processes of `local-cluster[N]`, and [`RemoteExecutors`], the core's
//! [`Executor`] that sends each task to an executor with a free slot.

use crate::proto::driver::driver_server::{Driver, DriverServer};
use crate::proto::executor::executor_client::ExecutorClient;
use crate::proto::{
    AddressReply, AddressRequest, BroadcastRequest, FetchReply, Heartbeat, HeartbeatReply,
    JobOutcome, JobResultReply, JobResultRequest, MessageReply, MessageRequest, Published,
    RegisterReply, RegisterRequest, ShutdownRequest, TaskRequest,
};
use crate::{AddSecret, CheckSecret, Error};
use parking_lot::{Condvar, Mutex};
use spate_core::cluster::{ClusterLink, DriverParts, DRIVER_URL_VAR};
use spate_core::conf::{Master, SpateConf};
use spate_core::env::EXECUTOR_ID_VAR;
use spate_core::scheduler::{EncodedTask, Executor, TaskFailure};
use spate_core::Env;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

mod results;
use results::{Kept, ReplayLog};

type Client = ExecutorClient<InterceptedService<Channel, AddSecret>>;

/// How long `local-cluster[N]` waits for its executors to register.
const STARTUP: Duration = Duration::from_secs(60);

/// One registered executor.
struct Remote {
    id: String,
    address: String,
    cores: usize,
    client: Client,
    running: Arc<AtomicUsize>,
    /// When it last answered (a heartbeat or a task).
    last_seen: Mutex<Instant>,
    /// It joined the running application and its copy of the program is replaying it:
    /// no task or receiver goes there until it asks for something not published yet.
    catching_up: AtomicBool,
}

/// How long an executor may go without a heartbeat before it is taken as lost.
const EXECUTOR_TIMEOUT: Duration = Duration::from_secs(10);

impl State {
    /// Forgets executor `id` (killed, unreachable, silent): no task goes there any more;
    /// its tasks fail and are retried elsewhere, and reads of its map outputs fail and
    /// make the scheduler recompute them on the others.
    fn lose(&self, id: &str, why: &str) {
        let mut ex = self.executors.lock();
        let before = ex.len();
        ex.retain(|e| e.id != id);
        if ex.len() < before {
            tracing::warn!(executor = id, "executor lost: {why}");
        }
    }
}

/// What the driver's service and its context share.
struct State {
    app_name: String,
    /// `spate.rpc.message.maxSize`.
    max_message: usize,
    secret: Option<String>,
    /// `spate.ssl.*`.
    tls: Option<crate::tls::Tls>,
    /// The driver's environment: the broadcast values executors fetch.
    env: std::sync::Weak<Env>,
    executors: Mutex<Vec<Arc<Remote>>>,
    joined: Condvar,
    /// Job outcomes and decisions not yet fetched by every executor.
    results: Mutex<HashMap<Published, Kept>>,
    /// Keys of `results` in publication order, to drop the oldest.
    result_order: Mutex<std::collections::VecDeque<Published>>,
    published: tokio::sync::Notify,
    /// A task ended: a slot is free on its executor.
    slot_freed: tokio::sync::Notify,
    stopped: AtomicBool,
    /// Every executor ever registered, by id and address (the same process back after
    /// an outage is let in again; a new process under an old id is not).
    known: Mutex<std::collections::HashSet<(String, String)>>,
    /// Keys of results and decisions no longer kept, and their order (bounded).
    gone: Mutex<(
        std::collections::HashSet<Published>,
        std::collections::VecDeque<Published>,
    )>,
    /// The program has published a result: an executor joining now could not catch up.
    running: AtomicBool,
    /// This start of the driver (random): an executor of a previous run of the driver on
    /// the same address is told so, and exits.
    instance: u64,
    /// `spate.locality.wait`.
    locality_wait: Duration,
    /// Everything published, for executors that join the running application.
    replay: ReplayLog,
    /// What takes executors' messages, by topic.
    handlers: Mutex<HashMap<String, spate_core::cluster::MessageHandler>>,
}

struct Service(Arc<State>);

#[tonic::async_trait]
impl Driver for Service {
    async fn register(
        &self,
        req: Request<RegisterRequest>,
    ) -> Result<Response<RegisterReply>, Status> {
        let r = req.into_inner();
        let refuse = |reason: String| {
            tracing::warn!(executor = %r.executor_id, "refusing an executor: {reason}");
            Ok(Response::new(RegisterReply {
                accepted: false,
                reason,
                driver_instance: self.0.instance,
            }))
        };
        if r.app_name != self.0.app_name {
            return refuse(format!(
                "it runs application `{}`, the driver `{}`",
                r.app_name, self.0.app_name
            ));
        }
        if r.cores == 0 || r.cores > 1024 {
            return refuse(format!("{} task slots", r.cores));
        }
        let scheme = crate::tls::scheme(&self.0.tls);
        if !r.address.starts_with(&format!("{scheme}://")) {
            return refuse(format!(
                "its address {} is not {scheme}:// (spate.ssl.enabled must be the same everywhere)",
                r.address
            ));
        }
        let endpoint = match tonic::transport::Endpoint::from_shared(r.address.clone()) {
            Ok(e) => match crate::tls::endpoint(crate::keepalive(e), &self.0.tls) {
                Ok(e) => e,
                Err(e) => return refuse(e.to_string()),
            },
            Err(e) => return refuse(format!("its address {} is not a URL: {e}", r.address)),
        };
        let client = ExecutorClient::with_interceptor(
            endpoint.connect_lazy(),
            AddSecret::new(self.0.secret.as_deref()),
        )
        .max_decoding_message_size(self.0.max_message)
        .max_encoding_message_size(self.0.max_message);
        // An executor joining the running application (not one coming back) replays the
        // program from its start; the driver's replay log answers it.
        let late = self.0.running.load(Ordering::Acquire) && {
            !self
                .0
                .known
                .lock()
                .contains(&(r.executor_id.clone(), r.address.clone()))
        };
        if late {
            if let Err(why) = self.0.replay.complete() {
                return refuse(format!(
                    "it joins a running application, and its copy of the program cannot \
                     catch up with the driver's: {why}; restart the application to add executors"
                ));
            }
            tracing::info!(executor = %r.executor_id, "an executor joins the running application: it replays the program, then takes tasks");
        }
        let mut ex = self.0.executors.lock();
        if let Some(old) = ex.iter().find(|e| e.id == r.executor_id) {
            if old.address != r.address {
                drop(ex);
                return refuse(format!("executor id {} is taken", r.executor_id));
            }
            // The same executor again (it was taken as lost, and is back).
            ex.retain(|e| e.id != r.executor_id);
        }
        tracing::info!(executor = %r.executor_id, cores = r.cores, address = %r.address, "executor registered");
        self.0
            .known
            .lock()
            .insert((r.executor_id.clone(), r.address.clone()));
        ex.push(Arc::new(Remote {
            id: r.executor_id,
            address: r.address,
            cores: r.cores as usize,
            client,
            running: Arc::new(AtomicUsize::new(0)),
            last_seen: Mutex::new(Instant::now()),
            catching_up: AtomicBool::new(late),
        }));
        self.0.joined.notify_all();
        Ok(Response::new(RegisterReply {
            accepted: true,
            reason: String::new(),
            driver_instance: self.0.instance,
        }))
    }

    async fn heartbeat(&self, req: Request<Heartbeat>) -> Result<Response<HeartbeatReply>, Status> {
        let beat = req.into_inner();
        if beat.driver_instance != self.0.instance {
            return Ok(Response::new(HeartbeatReply {
                known: false,
                restarted: true,
            }));
        }
        let ex = self.0.executors.lock();
        let found = ex.iter().find(|e| e.id == beat.executor_id);
        if let Some(e) = found {
            *e.last_seen.lock() = Instant::now();
        }
        Ok(Response::new(HeartbeatReply {
            known: found.is_some(),
            restarted: false,
        }))
    }

    async fn executor_address(
        &self,
        req: Request<AddressRequest>,
    ) -> Result<Response<AddressReply>, Status> {
        let id = req.into_inner().executor_id;
        let address = self
            .0
            .executors
            .lock()
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.address.clone());
        Ok(Response::new(AddressReply { address }))
    }

    async fn fetch_broadcast(
        &self,
        req: Request<BroadcastRequest>,
    ) -> Result<Response<FetchReply>, Status> {
        let id = req.into_inner().id as usize;
        let env = self
            .0
            .env
            .upgrade()
            .ok_or_else(|| Status::unavailable("the driver's context is gone"))?;
        let bytes = env
            .broadcast_bytes(id)
            .map_err(|e| Status::not_found(e.to_string()))?;
        tracing::debug!(
            broadcast = id,
            bytes = bytes.len(),
            "broadcast sent to an executor"
        );
        Ok(Response::new(FetchReply {
            bytes: bytes.as_ref().clone(),
        }))
    }

    async fn send(&self, req: Request<MessageRequest>) -> Result<Response<MessageReply>, Status> {
        let m = req.into_inner();
        let refuse = |error: String| Ok(Response::new(MessageReply { error: Some(error) }));
        if m.driver_instance != self.0.instance {
            return refuse("the driver restarted since this executor joined it".into());
        }
        if !self
            .0
            .executors
            .lock()
            .iter()
            .any(|e| e.id == m.executor_id)
        {
            return refuse(format!("executor {} is not registered", m.executor_id));
        }
        let Some(handler) = self.0.handlers.lock().get(&m.topic).cloned() else {
            return refuse(format!("nothing takes messages about `{}` here", m.topic));
        };
        let taken = tokio::task::spawn_blocking(move || handler(&m.executor_id, &m.bytes))
            .await
            .map_err(|e| Status::internal(format!("the message handler failed: {e}")))?;
        Ok(Response::new(MessageReply {
            error: taken.err().map(|e| e.to_string()),
        }))
    }

    async fn job_result(
        &self,
        req: Request<JobResultRequest>,
    ) -> Result<Response<JobResultReply>, Status> {
        let r = req.into_inner();
        if r.driver_instance != self.0.instance {
            // A copy of the program of the driver's previous run: this run's results
            // are not its.
            return Ok(Response::new(JobResultReply {
                outcome: JobOutcome::DriverRestarted,
            }));
        }
        let (job, who) = (r.what, r.executor_id);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut first = true;
        loop {
            let waiting = self.0.published.notified();
            if let Some(outcome) = self.take_result(&job, &who) {
                return Ok(Response::new(JobResultReply { outcome }));
            }
            if std::mem::take(&mut first) {
                self.caught_up(&who);
            }
            if self.0.gone.lock().0.contains(&job) {
                return Ok(Response::new(JobResultReply {
                    outcome: JobOutcome::Gone,
                }));
            }
            if self.0.stopped.load(Ordering::Acquire) {
                return Ok(Response::new(JobResultReply {
                    outcome: JobOutcome::Stopped,
                }));
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                return Ok(Response::new(JobResultReply {
                    outcome: JobOutcome::Pending,
                }));
            }
        }
    }
}

impl Service {
    /// Executor `who` asked for something not published yet: if it was replaying the
    /// program, it has caught up and takes tasks from now on.
    fn caught_up(&self, who: &str) {
        let ex = self.0.executors.lock();
        if let Some(e) = ex.iter().find(|e| e.id == who) {
            if e.catching_up.swap(false, Ordering::AcqRel) {
                tracing::info!(
                    executor = who,
                    "the executor that joined caught up with the driver: it takes tasks now"
                );
                self.0.slot_freed.notify_waiters();
            }
        }
    }
}

/// The driver's link: publishes job outcomes; stops the executors.
struct DriverLink {
    state: Arc<State>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    children: Mutex<Vec<std::process::Child>>,
}

impl ClusterLink for DriverLink {
    fn publish_job_result(&self, job_id: usize, outcome: &spate_core::Result<Vec<Vec<u8>>>) {
        let o = match outcome {
            Ok(v) => JobOutcome::Done(v.clone()),
            Err(e) => JobOutcome::Failed(e.to_string()),
        };
        self.keep(Published::Job(job_id as u64), o);
    }

    fn publish(&self, key: &str, bytes: Vec<u8>) {
        self.keep(
            Published::Named(key.to_string()),
            JobOutcome::Done(vec![bytes]),
        );
    }

    fn fetch(&self, key: &str) -> spate_core::Result<Vec<u8>> {
        Err(spate_core::Error::InvalidArgument {
            op: "fetch",
            reason: format!("the driver publishes `{key}`, it does not fetch it"),
        })
    }

    fn fetch_broadcast(&self, id: usize) -> spate_core::Result<Vec<u8>> {
        Err(spate_core::Error::BroadcastOnDriver(id))
    }

    fn subscribe(&self, topic: &str, handler: spate_core::cluster::MessageHandler) {
        self.state
            .handlers
            .lock()
            .insert(topic.to_string(), handler);
    }

    fn executors(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .state
            .executors
            .lock()
            .iter()
            .filter(|e| !e.catching_up.load(Ordering::Acquire))
            .map(|e| e.id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn job_result(&self, _job_id: usize) -> spate_core::Result<Vec<Vec<u8>>> {
        Err(spate_core::Error::InvalidArgument {
            op: "job_result",
            reason: "the driver computes its jobs".into(),
        })
    }

    fn stop(&self) {
        if self.state.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.state.published.notify_waiters();
        let executors: Vec<Arc<Remote>> = self.state.executors.lock().clone();
        if let Some(rt) = self.runtime.lock().take() {
            rt.block_on(async {
                for e in &executors {
                    let mut c = e.client.clone();
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        c.shutdown(ShutdownRequest {}),
                    )
                    .await;
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        let mut children = self.children.lock();
        let until = Instant::now() + Duration::from_secs(5);
        for c in children.iter_mut() {
            while Instant::now() < until && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        children.clear();
        tracing::info!("cluster driver stopped");
    }
}

/// The core's [`Executor`] over the registered executors: each task goes to the one with
/// the most free slots.
struct RemoteExecutors {
    state: Arc<State>,
    handle: tokio::runtime::Handle,
    cores: usize,
}

/// An encoded failed result for `task_id`.
fn failure(task_id: u64, message: String) -> Vec<u8> {
    spate_core::scheduler::failed_result(task_id, TaskFailure::Error(message))
}

impl Executor for RemoteExecutors {
    fn id(&self) -> &str {
        "cluster"
    }

    fn cores(&self) -> usize {
        self.cores
    }

    fn launch(&self, task: EncodedTask, done: crossbeam_channel::Sender<Vec<u8>>) {
        let state = self.state.clone();
        self.handle.spawn(async move {
            let Some(target) = place(&state, task.preferred.as_deref()).await else {
                let _ = done.send(failure(task.task_id, "no executor is registered".into()));
                return;
            };
            run_on(state, target, task, done).await;
        });
    }

    fn stop(&self) {}
}

/// Takes one of `e`'s slots if one is free.
fn reserve(e: &Remote) -> bool {
    let mut cur = e.running.load(Ordering::Acquire);
    while cur < e.cores {
        match e
            .running
            .compare_exchange(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
    false
}

/// The executor a task runs on, with a slot taken: the one that cached a partition it
/// reads (`preferred`), waiting up to `spate.locality.wait` for a free slot there; else the
/// one with the most free slots.
async fn place(state: &State, preferred: Option<&str>) -> Option<Arc<Remote>> {
    let deadline = tokio::time::Instant::now() + state.locality_wait;
    if let Some(p) = preferred {
        loop {
            // Registered before the check: a slot freed in between wakes this task.
            let freed = state.slot_freed.notified();
            let holder = state
                .executors
                .lock()
                .iter()
                .find(|e| e.id == p && !e.catching_up.load(Ordering::Acquire))
                .cloned();
            match holder {
                Some(e) if reserve(&e) => return Some(e),
                Some(_) if tokio::time::Instant::now() < deadline => {
                    let _ = tokio::time::timeout_at(deadline, freed).await;
                }
                _ => break,
            }
        }
    }
    let ex = state.executors.lock();
    let least_loaded = ex
        .iter()
        .filter(|e| !e.catching_up.load(Ordering::Acquire))
        .min_by(|a, b| {
            let la = a.running.load(Ordering::Relaxed) * b.cores;
            let lb = b.running.load(Ordering::Relaxed) * a.cores;
            la.cmp(&lb)
        })
        .cloned()?;
    least_loaded.running.fetch_add(1, Ordering::AcqRel);
    Some(least_loaded)
}

/// Runs `task` on `target` (a slot taken) and sends its result to `done`.
async fn run_on(
    state: Arc<State>,
    target: Arc<Remote>,
    task: EncodedTask,
    done: crossbeam_channel::Sender<Vec<u8>>,
) {
    let mut client = target.client.clone();
    let req = TaskRequest {
        task_id: task.task_id,
        bytes: task.bytes,
    };
    let reply = match client.launch(req).await {
        Ok(r) => {
            *target.last_seen.lock() = Instant::now();
            r.into_inner().bytes
        }
        Err(status) => {
            // The executor is gone (or unreachable): take it out, so the retry goes to
            // another.
            if matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
            ) {
                state.lose(&target.id, status.message());
            }
            failure(
                task.task_id,
                format!(
                    "executor {} did not run the task: {}",
                    target.id,
                    status.message()
                ),
            )
        }
    };
    target.running.fetch_sub(1, Ordering::AcqRel);
    state.slot_freed.notify_waiters();
    let _ = done.send(reply);
}

/// Starts the driver of a context whose master is `master`.
pub(crate) fn start(
    env: &Arc<Env>,
    conf: &SpateConf,
    master: &Master,
) -> Result<DriverParts, Error> {
    let app_name = conf
        .get_raw("spate.app.name")
        .unwrap_or("spate")
        .to_string();
    let secret = crate::secret(conf);
    let tls = crate::tls::Tls::from_conf(conf)?;
    let (bind, expected) = match master {
        Master::LocalCluster { executors, .. } => ("127.0.0.1:0".to_string(), *executors),
        Master::Cluster { host, port } => (
            format!("{host}:{port}"),
            conf.get_count("spate.cluster.minExecutors")
                .ok()
                .flatten()
                .unwrap_or(1),
        ),
        Master::Local { .. } => {
            return Err(Error::Address {
                address: "local".into(),
                reason: "not a cluster master".into(),
            })
        }
    };
    let rt = crate::runtime("spate-driver-net")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(&bind))
        .map_err(|source| Error::Io {
            what: format!("binding the driver to {bind}"),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| Error::Io {
        what: "reading the driver's address".into(),
        source,
    })?;
    let max_message = crate::max_message(conf);
    let locality_wait =
        setting("spate.locality.wait", |k| conf.get_duration(k))?.unwrap_or(Duration::from_secs(3));
    let replay_bytes =
        setting("spate.cluster.replayLog.maxBytes", |k| conf.get_bytes(k))?.unwrap_or(1 << 30);
    let replay = ReplayLog::open(env.local_dir(), replay_bytes);
    let state = Arc::new(State {
        app_name,
        max_message,
        secret: secret.clone(),
        tls,
        env: Arc::downgrade(env),
        executors: Mutex::new(Vec::new()),
        joined: Condvar::new(),
        results: Mutex::new(HashMap::new()),
        result_order: Mutex::new(Default::default()),
        published: tokio::sync::Notify::new(),
        slot_freed: tokio::sync::Notify::new(),
        stopped: AtomicBool::new(false),
        known: Mutex::new(Default::default()),
        gone: Mutex::new(Default::default()),
        running: AtomicBool::new(false),
        instance: instance_id(),
        handlers: Mutex::new(HashMap::new()),
        locality_wait,
        replay,
    });
    let service = InterceptedService::new(
        DriverServer::new(Service(state.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message),
        CheckSecret(secret.as_deref().map(Arc::from)),
    );
    crate::serve(
        &rt,
        crate::tls::server(&state.tls)?.add_service(service),
        listener,
        "driver",
    );
    // Executors that stop answering heartbeats are lost.
    {
        let state = state.clone();
        rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if state.stopped.load(Ordering::Acquire) {
                    return;
                }
                let silent: Vec<String> = state
                    .executors
                    .lock()
                    .iter()
                    .filter(|e| e.last_seen.lock().elapsed() > EXECUTOR_TIMEOUT)
                    .map(|e| e.id.clone())
                    .collect();
                for id in silent {
                    state.lose(&id, "no heartbeat");
                }
                state.sweep();
            }
        });
    }
    let url = format!("spate://{local}");
    tracing::info!(%url, "cluster driver listening");
    let mut children = Vec::new();
    if let Master::LocalCluster { executors, cores } = master {
        let exe = std::env::current_exe().map_err(|source| Error::Io {
            what: "finding this program to start executors".into(),
            source,
        })?;
        for i in 0..*executors {
            let mut cmd = std::process::Command::new(&exe);
            cmd.args(std::env::args_os().skip(1))
                .env(EXECUTOR_ID_VAR, format!("exec-{i}"))
                .env(DRIVER_URL_VAR, &url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null());
            if let Some(c) = cores {
                cmd.env("SPATE_EXECUTOR_CORES", c.to_string());
            }
            let child = cmd.spawn().map_err(|source| Error::Io {
                what: format!("starting executor process {} ({})", i, exe.display()),
                source,
            })?;
            children.push(child);
        }
    }
    // Wait for the executors local-cluster started.
    let deadline = Instant::now() + STARTUP;
    {
        let mut ex = state.executors.lock();
        let failure = loop {
            if ex.len() >= expected {
                break None;
            }
            if Instant::now() >= deadline {
                break Some("timed out".to_string());
            }
            let exited = children
                .iter_mut()
                .filter_map(|c| c.try_wait().ok().flatten())
                .collect::<Vec<_>>();
            if !exited.is_empty() {
                break Some(format!("executor process(es) exited: {exited:?}"));
            }
            state.joined.wait_for(&mut ex, Duration::from_millis(100));
        };
        if let Some(detail) = failure {
            let registered = ex.len();
            drop(ex);
            return Err(abandon_startup(&mut children, registered, expected, detail));
        }
    }
    let cores = state
        .executors
        .lock()
        .iter()
        .map(|e| e.cores)
        .sum::<usize>()
        .max(1);
    let executor = Arc::new(RemoteExecutors {
        state: state.clone(),
        handle: rt.handle().clone(),
        cores,
    });
    let link = Arc::new(DriverLink {
        state,
        runtime: Mutex::new(Some(rt)),
        children: Mutex::new(children),
    });
    Ok(DriverParts { executor, link })
}

/// The value of configuration key `key`, read by `read`, or the error naming the key.
fn setting<T>(
    key: &'static str,
    read: impl FnOnce(&str) -> spate_core::Result<Option<T>>,
) -> Result<Option<T>, Error> {
    read(key).map_err(|source| Error::Conf { key, source })
}

/// A random id for this start of the driver (never 0).
fn instance_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish().max(1)
}

/// The executors did not all come: the ones started are stopped, and the error says why.
fn abandon_startup(
    children: &mut [std::process::Child],
    registered: usize,
    expected: usize,
    detail: String,
) -> Error {
    for c in children.iter_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    Error::Startup {
        registered,
        expected,
        seconds: STARTUP.as_secs(),
        detail,
    }
}
