//! Tasks: what the scheduler sends to an executor and what comes back, both as data.
//!
//! The driver describes a task ([`TaskDescription`]) and encodes it; the executor decodes
//! it, resolves its ids against its own replica of the program (the registries of its
//! [`Env`]), computes, and encodes a [`TaskResult`]: the value in spate's binary format,
//! or a [`TaskFailure`], plus the task's accumulator updates as bytes. The local executor
//! goes through exactly this path, so every local test exercises what a remote executor
//! does.

use crate::env::Env;
use crate::error::Error;
use crate::shared::accumulator::PendingUpdate;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a task is, as data: enough for an executor process that runs the same program to
/// find the RDD, shuffle or job function in its own replica and check it is the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDescription {
    /// Unique id of this attempt (the driver's; not shared with other processes).
    pub task_id: u64,
    /// The job.
    pub job_id: usize,
    /// The stage.
    pub stage_id: usize,
    /// The stage attempt.
    pub stage_attempt: usize,
    /// The partition computed.
    pub partition: usize,
    /// Attempt number of this partition within the stage attempt (0 first).
    pub attempt: usize,
    /// Id of the RDD computed (the map side's RDD for a shuffle map task).
    pub rdd_id: usize,
    /// Fingerprint of that RDD's lineage on the driver.
    pub fingerprint: u64,
    /// Result task or shuffle map task.
    pub kind: TaskKind,
    /// Cluster mode: where the map outputs this task reads are (the statuses of the
    /// stage's parent shuffles), for an executor whose own tracker has not seen them.
    #[serde(default)]
    pub map_statuses: Vec<ShuffleStatuses>,
}

/// The map outputs of one shuffle, as a task carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShuffleStatuses {
    /// The shuffle.
    pub shuffle_id: usize,
    /// Its map partitions.
    pub num_maps: usize,
    /// Each map partition's status.
    pub statuses: Vec<Option<crate::scheduler::MapStatus>>,
}

/// The kind of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Computes a partition with the job's result function and returns its value.
    Result,
    /// Computes a partition of the map side of `shuffle_id` and writes its buckets.
    ShuffleMap {
        /// The shuffle.
        shuffle_id: usize,
    },
}

/// Why a task failed, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskFailure {
    /// A shuffle map output could not be read: recompute it.
    FetchFailed {
        /// The shuffle.
        shuffle_id: usize,
        /// The lost map output.
        map_id: usize,
    },
    /// The executor's lineage differs from the driver's.
    LineageMismatch {
        /// The RDD id.
        rdd_id: usize,
        /// The driver's fingerprint.
        expected: u64,
        /// The executor's.
        found: u64,
        /// The operation at that id on the executor.
        op: String,
    },
    /// The description names something the executor does not have.
    Unresolved {
        /// What kind of thing (`rdd`, `shuffle`, `job`, ...).
        kind: String,
        /// Its id.
        id: usize,
    },
    /// The executor or context is stopping.
    Stopped,
    /// Anything else: the user's panic message or the error, as text.
    Error(String),
    /// The task was killed because its job was cancelled; it is not retried.
    Killed {
        /// The job.
        job: usize,
        /// Why.
        reason: String,
    },
}

impl From<Error> for TaskFailure {
    fn from(e: Error) -> Self {
        match e {
            Error::FetchFailed { shuffle_id, map_id } => {
                TaskFailure::FetchFailed { shuffle_id, map_id }
            }
            Error::LineageMismatch {
                rdd_id,
                expected,
                found,
                op,
            } => TaskFailure::LineageMismatch {
                rdd_id,
                expected,
                found,
                op,
            },
            Error::Unresolved { kind, id } => TaskFailure::Unresolved {
                kind: kind.to_string(),
                id,
            },
            Error::Stopped => TaskFailure::Stopped,
            Error::JobCancelled { job, reason, .. } => TaskFailure::Killed { job, reason },
            // Task(msg) already carries its "panic: ..." or message.
            Error::Task(msg) => TaskFailure::Error(msg),
            other => TaskFailure::Error(other.to_string()),
        }
    }
}

impl TaskFailure {
    /// The engine error this failure stands for on the driver.
    pub fn into_error(self) -> Error {
        match self {
            TaskFailure::FetchFailed { shuffle_id, map_id } => {
                Error::FetchFailed { shuffle_id, map_id }
            }
            TaskFailure::LineageMismatch {
                rdd_id,
                expected,
                found,
                op,
            } => Error::LineageMismatch {
                rdd_id,
                expected,
                found,
                op,
            },
            TaskFailure::Unresolved { kind, id } => Error::Unresolved {
                kind: match kind.as_str() {
                    "rdd" => "rdd",
                    "shuffle" => "shuffle",
                    "job" => "job",
                    "broadcast" => "broadcast",
                    "accumulator" => "accumulator",
                    _ => "object",
                },
                id,
            },
            TaskFailure::Stopped => Error::Stopped,
            TaskFailure::Error(m) => Error::Task(m),
            TaskFailure::Killed { job, reason } => Error::JobCancelled {
                job,
                group: None,
                reason,
            },
        }
    }
}

/// What comes back from a task, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResult {
    /// The attempt it reports on.
    pub task_id: u64,
    /// The encoded value (a result task's value, a map task's `MapStatus`), or why the
    /// task failed.
    pub outcome: Result<Vec<u8>, TaskFailure>,
    /// Accumulator updates made by the task, `(accumulator id, encoded partial value)`;
    /// merged by the driver only if the task succeeded.
    pub accumulator_updates: Vec<(usize, Vec<u8>)>,
    /// The executor that ran it, and the RDD partitions `(rdd, partition)` it cached
    /// there: the driver sends later tasks over those partitions to it.
    pub cached: (String, Vec<(usize, usize)>),
}

/// An encoded task on its way to an executor.
#[derive(Debug, Clone)]
pub struct EncodedTask {
    /// The attempt id (also inside the bytes), so a task whose bytes cannot be decoded
    /// can still be reported on.
    pub task_id: u64,
    /// The encoded [`TaskDescription`].
    pub bytes: Vec<u8>,
    /// The executor that holds a cached partition the task reads, if one is known: it
    /// runs the task when it has a free slot.
    pub preferred: Option<String>,
}

/// The context of the task running on this thread (Spark's `TaskContext`).
pub struct TaskContext {
    desc: TaskDescription,
    env: Arc<Env>,
    pub(crate) updates: RefCell<Vec<Box<dyn PendingUpdate>>>,
    failure: RefCell<Option<Error>>,
    /// RDD partitions this task cached ([`TaskResult::cached`]).
    pub(crate) cached: RefCell<Vec<(usize, usize)>>,
    /// Raised when the task's job is cancelled.
    kill: Option<Arc<AtomicBool>>,
}

impl TaskContext {
    pub(crate) fn new(desc: TaskDescription, env: Arc<Env>) -> Self {
        let kill = env.kill_flags().get(desc.job_id);
        TaskContext {
            kill,
            desc,
            env,
            updates: RefCell::new(Vec::new()),
            failure: RefCell::new(None),
            cached: RefCell::new(Vec::new()),
        }
    }

    /// Partition `split` of RDD `rdd` was cached in this executor's block store.
    pub(crate) fn note_cached(&self, rdd: usize, split: usize) {
        self.cached.borrow_mut().push((rdd, split));
    }
    /// The partition this task computes.
    pub fn partition(&self) -> usize {
        self.desc.partition
    }
    /// The stage.
    pub fn stage_id(&self) -> usize {
        self.desc.stage_id
    }
    /// The stage attempt.
    pub fn stage_attempt(&self) -> usize {
        self.desc.stage_attempt
    }
    /// 0 for the first attempt of this partition, 1 for the first retry, ...
    pub fn attempt_number(&self) -> usize {
        self.desc.attempt
    }
    /// Unique id of this task attempt.
    pub fn task_attempt_id(&self) -> u64 {
        self.desc.task_id
    }
    /// The description.
    pub fn description(&self) -> &TaskDescription {
        &self.desc
    }
    /// The executor environment of the process running the task.
    pub fn env(&self) -> &Arc<Env> {
        &self.env
    }

    /// Fails the task with `e` once its body returns, whatever the body returns. For
    /// iterators, which cannot return an error from `next`: they record it here and end.
    /// The first error recorded wins.
    pub fn fail(&self, e: Error) {
        let mut f = self.failure.borrow_mut();
        if f.is_none() {
            *f = Some(e);
        }
    }

    /// The error recorded with [`Self::fail`], if any, taken.
    pub fn take_failure(&self) -> Option<Error> {
        self.failure.borrow_mut().take()
    }

    /// Whether [`Self::fail`] was called.
    pub fn has_failed(&self) -> bool {
        self.failure.borrow().is_some()
    }

    /// Whether the task's job was cancelled and the task should stop (Spark's
    /// `TaskContext.isInterrupted`). The task's input stops by itself at the next
    /// record; code that works long on one record can check this.
    pub fn is_interrupted(&self) -> bool {
        self.kill
            .as_ref()
            .is_some_and(|k| k.load(Ordering::Relaxed))
    }

    /// The flag raised when the task's job is cancelled.
    pub(crate) fn kill_flag(&self) -> Option<Arc<AtomicBool>> {
        self.kill.clone()
    }

    /// Runs `f` with the task context of the current thread, if a task is running on it.
    pub fn with_current<R>(f: impl FnOnce(Option<&TaskContext>) -> R) -> R {
        CURRENT.with(|c| {
            let ptr = *c.borrow();
            // SAFETY: the pointer is set by `enter` for the duration of the task body only,
            // and points to a TaskContext that outlives that call.
            f(ptr.map(|p| unsafe { &*p }))
        })
    }

    /// Records `e` as the failure of the task running on this thread (see [`Self::fail`]).
    /// Outside a task there is nothing to fail, so the error is raised as a panic with
    /// its message.
    pub fn fail_current(e: Error) {
        let recorded = Self::with_current(|tc| match tc {
            Some(tc) => {
                tc.fail(e);
                None
            }
            None => Some(e),
        });
        if let Some(e) = recorded {
            panic!("{e}");
        }
    }

    /// Runs `body` with `self` as the current thread's task context.
    pub(crate) fn enter<R>(&self, body: impl FnOnce() -> R) -> R {
        struct Reset(Option<*const TaskContext>);
        impl Drop for Reset {
            fn drop(&mut self) {
                CURRENT.with(|c| *c.borrow_mut() = self.0);
            }
        }
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self as *const _));
        let _reset = Reset(prev);
        body()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<*const TaskContext>> = const { RefCell::new(None) };
}
