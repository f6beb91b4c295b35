//! Executors: where tasks run. The scheduler talks to every executor through [`Executor`];
//! [`LocalExecutor`] is a pool of task threads in this process.

use super::task::{EncodedTask, TaskContext, TaskDescription, TaskFailure, TaskKind, TaskResult};
use crate::codec;
use crate::env::Env;
use crate::error::Error;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

/// Runs tasks and reports each one's encoded [`TaskResult`] on the given channel.
pub trait Executor: Send + Sync {
    /// The executor's id.
    fn id(&self) -> &str;
    /// How many tasks it runs at once.
    fn cores(&self) -> usize;
    /// Queues `task`; its encoded [`TaskResult`] is sent on `done` when it finishes.
    fn launch(&self, task: EncodedTask, done: Sender<Vec<u8>>);
    /// Stops accepting tasks and lets the threads exit.
    fn stop(&self);
}

type Work = (EncodedTask, Sender<Vec<u8>>);

/// `local[N]`: N task threads in this process.
pub struct LocalExecutor {
    id: String,
    threads: usize,
    queue: Mutex<Option<Sender<Work>>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    stopped: Arc<AtomicBool>,
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

impl LocalExecutor {
    /// Starts `threads` task threads running tasks against `env` (held weakly, so the
    /// executor does not keep the environment alive).
    pub(crate) fn start(threads: usize, env: Weak<Env>) -> Self {
        Self::start_with(threads, env, None)
    }

    /// [`Self::start`] for an executor process of a cluster: a task waits up to
    /// `resolve_wait` for this process's copy of the program to build what it names
    /// ([`run_encoded_when_resolvable`]).
    pub(crate) fn start_resolving(
        threads: usize,
        env: Weak<Env>,
        resolve_wait: std::time::Duration,
    ) -> Self {
        Self::start_with(threads, env, Some(resolve_wait))
    }

    fn start_with(
        threads: usize,
        env: Weak<Env>,
        resolve_wait: Option<std::time::Duration>,
    ) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<Work>();
        let mut handles = Vec::new();
        let id = env
            .upgrade()
            .map(|e| e.executor_id().to_string())
            .unwrap_or_else(|| "driver".into());
        let stopped = Arc::new(AtomicBool::new(false));
        for i in 0..threads {
            let rx: Receiver<Work> = rx.clone();
            let env = env.clone();
            let stopped = stopped.clone();
            let h = std::thread::Builder::new()
                .name(format!("spate-task-{i}"))
                .stack_size(16 << 20)
                .spawn(move || {
                    while let Ok((task, done)) = rx.recv() {
                        // Tasks still queued when the executor stops are not run.
                        if stopped.load(Ordering::Acquire) {
                            let _ = done.send(stopped_result(task.task_id));
                            continue;
                        }
                        let Some(env) = env.upgrade() else { break };
                        let result = match resolve_wait {
                            Some(wait) => run_encoded_when_resolvable(&task, env, wait),
                            None => run_encoded(&task, env),
                        };
                        let _ = done.send(result);
                    }
                })
                .expect("spawn task thread");
            handles.push(h);
        }
        LocalExecutor {
            id,
            threads,
            queue: Mutex::new(Some(tx)),
            handles: Mutex::new(handles),
            stopped,
        }
    }
}

fn stopped_result(task_id: u64) -> Vec<u8> {
    failed_result(task_id, TaskFailure::Stopped)
}

/// The encoded [`TaskResult`] of a task that failed with `failure` before it could run
/// (an executor that could not be reached, a description that does not decode).
pub fn failed_result(task_id: u64, failure: TaskFailure) -> Vec<u8> {
    encode_result(&TaskResult {
        task_id,
        outcome: Err(failure),
        accumulator_updates: Vec::new(),
        cached: Default::default(),
    })
}

/// Encodes a task result; a result that cannot be encoded becomes a failure that can.
pub(crate) fn encode_result(r: &TaskResult) -> Vec<u8> {
    codec::encode(r, "task result").unwrap_or_else(|e| {
        let fallback = TaskResult {
            task_id: r.task_id,
            outcome: Err(TaskFailure::Error(e.to_string())),
            accumulator_updates: Vec::new(),
            cached: Default::default(),
        };
        codec::encode(&fallback, "task result").unwrap_or_default()
    })
}

/// What an executor does with one encoded task: decode the description, resolve its ids
/// against this process's registries, check the lineage, compute, and encode the result
/// with the task's accumulator updates. Never panics: a panic in user code is a failed
/// task with the panic's message.
pub fn run_encoded(task: &EncodedTask, env: Arc<Env>) -> Vec<u8> {
    let desc: TaskDescription = match codec::decode(&task.bytes, "task description") {
        Ok(d) => d,
        Err(e) => return failed_result(task.task_id, TaskFailure::Error(e.to_string())),
    };
    let task_id = desc.task_id;
    // Outside the body's own guard (encoding accumulator updates, dropping the task's
    // closures) user code can still panic: the task fails, the thread lives on, and the
    // scheduler hears about it instead of waiting forever.
    match std::panic::catch_unwind(AssertUnwindSafe(|| run_task(desc, env))) {
        Ok(r) => encode_result(&r),
        Err(p) => encode_result(&TaskResult {
            task_id,
            outcome: Err(TaskFailure::Error(format!(
                "panic: {}",
                panic_message(p.as_ref())
            ))),
            accumulator_updates: Vec::new(),
            cached: Default::default(),
        }),
    }
}

/// [`run_encoded`] for an executor process whose copy of the program may not have built
/// the task's RDD, shuffle or job yet (the driver runs ahead of it): waits up to `timeout`
/// for them to be registered before running it.
pub fn run_encoded_when_resolvable(
    task: &EncodedTask,
    env: Arc<Env>,
    timeout: std::time::Duration,
) -> Vec<u8> {
    if let Ok(desc) = codec::decode::<TaskDescription>(&task.bytes, "task description") {
        let deadline = std::time::Instant::now() + timeout;
        let resolvable = |env: &Env| {
            env.resolve_rdd(desc.rdd_id).is_ok()
                && match desc.kind {
                    TaskKind::Result => env.resolve_job(desc.job_id).is_ok(),
                    TaskKind::ShuffleMap { shuffle_id } => env.resolve_shuffle(shuffle_id).is_ok(),
                }
        };
        while !resolvable(&env) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    run_encoded(task, env)
}

/// Resolves and runs one described task on this thread.
pub(crate) fn run_task(desc: TaskDescription, env: Arc<Env>) -> TaskResult {
    let task_id = desc.task_id;
    let failed = |e: Error| TaskResult {
        task_id,
        outcome: Err(e.into()),
        accumulator_updates: Vec::new(),
        cached: Default::default(),
    };
    // Where the outputs it reads are, as the driver knows them (cluster mode).
    for s in &desc.map_statuses {
        env.map_output_tracker()
            .replace_shuffle(s.shuffle_id, s.num_maps, &s.statuses);
    }
    // The executor finds the task's RDD in its own lineage and checks it is the driver's.
    let rdd = match env.resolve_rdd(desc.rdd_id) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    if rdd.info().fingerprint() != desc.fingerprint {
        return failed(Error::LineageMismatch {
            rdd_id: desc.rdd_id,
            expected: desc.fingerprint,
            found: rdd.info().fingerprint(),
            op: rdd.info().op().to_string(),
        });
    }
    drop(rdd);
    let work: Result<Box<dyn Fn(&TaskContext) -> Result<Vec<u8>, Error>>, Error> = match desc.kind {
        TaskKind::Result => env
            .resolve_job(desc.job_id)
            .map(|f| Box::new(move |tc: &TaskContext| f.run(tc)) as Box<_>),
        TaskKind::ShuffleMap { shuffle_id } => env.resolve_shuffle(shuffle_id).map(|dep| {
            Box::new(move |tc: &TaskContext| {
                let status = dep.run_map_task(tc)?;
                codec::encode(&status, "map status")
            }) as Box<_>
        }),
    };
    let work = match work {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    let tc = TaskContext::new(desc, env);
    // A task of a cancelled job still queued is not run.
    if tc.is_interrupted() {
        return failed(super::cancel::killed_error(tc.description().job_id));
    }
    let outcome = tc.enter(|| {
        let r = match std::panic::catch_unwind(AssertUnwindSafe(|| work(&tc))) {
            Ok(r) => r,
            Err(p) => Err(Error::Task(format!("panic: {}", panic_message(p.as_ref())))),
        };
        // An iterator that met an error recorded it and ended early: whatever the body
        // made of the truncated input is not a result.
        match tc.take_failure() {
            Some(e) => Err(e),
            None => r,
        }
    });
    drop(work);
    let d = tc.description();
    if let Err(e) = &outcome {
        tracing::warn!(
            stage = d.stage_id,
            partition = d.partition,
            attempt = d.attempt,
            "task failed: {e}"
        );
    }
    // A successful task's updates travel with its result; one that cannot be encoded
    // fails the task rather than being dropped from a task reported as a success.
    let (outcome, accumulator_updates) = match outcome {
        Ok(v) => {
            let updates = std::mem::take(&mut *tc.updates.borrow_mut());
            match updates
                .iter()
                .map(|u| u.encode())
                .collect::<Result<Vec<_>, Error>>()
            {
                Ok(encoded) => (Ok(v), encoded),
                Err(e) => (Err(e), Vec::new()),
            }
        }
        Err(e) => (Err(e), Vec::new()),
    };
    let cached = (
        tc.env().executor_id().to_string(),
        std::mem::take(&mut *tc.cached.borrow_mut()),
    );
    TaskResult {
        task_id,
        outcome: outcome.map_err(TaskFailure::from),
        accumulator_updates,
        cached,
    }
}

impl Executor for LocalExecutor {
    fn id(&self) -> &str {
        &self.id
    }
    fn cores(&self) -> usize {
        self.threads
    }
    fn launch(&self, task: EncodedTask, done: Sender<Vec<u8>>) {
        let q = self.queue.lock();
        let stopped = |task: EncodedTask, done: Sender<Vec<u8>>| {
            let _ = done.send(stopped_result(task.task_id));
        };
        match q.as_ref() {
            Some(tx) => {
                if let Err(e) = tx.send((task, done)) {
                    let (task, done) = e.into_inner();
                    stopped(task, done);
                }
            }
            None => stopped(task, done),
        }
    }
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.queue.lock().take();
        let me = std::thread::current().id();
        for h in self.handles.lock().drain(..) {
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }
}
