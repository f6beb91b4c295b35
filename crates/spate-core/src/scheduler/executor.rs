//! Executors: where tasks run. The scheduler talks to every executor through [`Executor`];
//! [`LocalExecutor`] is a pool of task threads in this process.

use super::task::{Task, TaskContext, TaskResult};
use crate::context::Context;
use crate::error::Error;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::panic::AssertUnwindSafe;
use std::sync::Weak;
use std::thread::JoinHandle;

/// Runs tasks and reports each one's result on the given channel.
pub trait Executor: Send + Sync {
    /// The executor's id.
    fn id(&self) -> &str;
    /// How many tasks it runs at once.
    fn cores(&self) -> usize;
    /// Queues `task`; its [`TaskResult`] is sent on `done` when it finishes.
    fn launch(&self, task: Task, done: Sender<TaskResult>);
    /// Stops accepting tasks and lets the threads exit.
    fn stop(&self);
}

type Work = (Task, Sender<TaskResult>);

/// `local[N]`: N task threads in this process.
pub struct LocalExecutor {
    id: String,
    threads: usize,
    queue: Mutex<Option<Sender<Work>>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(e) = payload.downcast_ref::<Error>() {
        e.to_string()
    } else {
        "panic with a non-string payload".to_string()
    }
}

impl LocalExecutor {
    /// Starts `threads` task threads; tasks see `ctx` (held weakly, so the executor does
    /// not keep the context alive).
    pub(crate) fn start(threads: usize, ctx: Weak<crate::context::ContextInner>) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<Work>();
        let mut handles = Vec::new();
        for i in 0..threads {
            let rx: Receiver<Work> = rx.clone();
            let ctx = ctx.clone();
            let h = std::thread::Builder::new()
                .name(format!("spate-task-{i}"))
                .stack_size(16 << 20)
                .spawn(move || {
                    while let Ok((task, done)) = rx.recv() {
                        let Some(inner) = ctx.upgrade() else { break };
                        let result = run_task(task, Context::from_inner(inner));
                        let _ = done.send(result);
                    }
                })
                .expect("spawn task thread");
            handles.push(h);
        }
        LocalExecutor {
            id: "driver".to_string(),
            threads,
            queue: Mutex::new(Some(tx)),
            handles: Mutex::new(handles),
        }
    }
}

/// Runs one task on this thread: panics become failures with their message, accumulator
/// updates are collected.
pub(crate) fn run_task(task: Task, ctx: Context) -> TaskResult {
    // The executor finds the task's RDD in its own lineage and checks it is the driver's.
    if let Err(e) = ctx.check_lineage(task.desc.rdd_id, task.desc.fingerprint) {
        return TaskResult {
            desc: task.desc,
            outcome: Err(e),
            updates: Vec::new(),
        };
    }
    let tc = TaskContext::new(task.desc.clone(), ctx);
    let outcome = tc.enter(|| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| (task.body)(&tc))) {
            Ok(r) => r,
            Err(payload) => match payload.downcast::<Error>() {
                // Iterators report typed errors (a lost shuffle file) by panicking with them.
                Ok(e) => Err(*e),
                Err(p) => Err(Error::Task(format!("panic: {}", panic_message(p.as_ref())))),
            },
        }
    });
    if let Err(e) = &outcome {
        tracing::warn!(
            stage = task.desc.stage_id,
            partition = task.desc.partition,
            attempt = task.desc.attempt,
            "task failed: {e}"
        );
    }
    let updates = std::mem::take(&mut *tc.updates.borrow_mut());
    TaskResult {
        desc: task.desc,
        outcome,
        updates,
    }
}

impl Executor for LocalExecutor {
    fn id(&self) -> &str {
        &self.id
    }
    fn cores(&self) -> usize {
        self.threads
    }
    fn launch(&self, task: Task, done: Sender<TaskResult>) {
        let q = self.queue.lock();
        match q.as_ref() {
            Some(tx) => {
                if let Err(e) = tx.send((task, done.clone())) {
                    let (task, done) = e.into_inner();
                    let _ = done.send(TaskResult {
                        desc: task.desc,
                        outcome: Err(Error::Stopped),
                        updates: Vec::new(),
                    });
                }
            }
            None => {
                let _ = done.send(TaskResult {
                    desc: task.desc,
                    outcome: Err(Error::Stopped),
                    updates: Vec::new(),
                });
            }
        }
    }
    fn stop(&self) {
        self.queue.lock().take();
        let me = std::thread::current().id();
        for h in self.handles.lock().drain(..) {
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }
}
