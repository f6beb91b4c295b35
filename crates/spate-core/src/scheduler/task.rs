//! Tasks: what the scheduler sends to an executor and what comes back.

use crate::context::Context;
use crate::error::Error;
use crate::shared::accumulator::PendingUpdate;
use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

/// What a task is, as data: enough for an executor process that runs the same program to
/// find the RDD in its own replica of the lineage and check it is the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription {
    /// Globally unique id of this attempt.
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
}

/// The kind of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// Computes a partition and returns a value to the job.
    Result,
    /// Computes a partition of the map side of `shuffle_id` and writes its buckets.
    ShuffleMap {
        /// The shuffle.
        shuffle_id: usize,
    },
}

/// A task's value: `Box<dyn Any>` in process; bytes once executors are processes.
pub type TaskValue = Box<dyn Any + Send>;

/// How a local executor runs a task.
pub type TaskBody = Arc<dyn Fn(&TaskContext) -> Result<TaskValue, Error> + Send + Sync>;

/// A task handed to an executor.
pub struct Task {
    /// What it is.
    pub desc: TaskDescription,
    /// How to run it in this process.
    pub body: TaskBody,
}

/// What comes back from a task.
pub struct TaskResult {
    /// The task.
    pub desc: TaskDescription,
    /// Its value or why it failed.
    pub outcome: Result<TaskValue, Error>,
    /// Accumulator updates made by the task (applied only if it succeeded).
    pub(crate) updates: Vec<Box<dyn PendingUpdate>>,
}

/// The context of the task running on this thread (Spark's `TaskContext`).
pub struct TaskContext {
    desc: TaskDescription,
    ctx: Context,
    pub(crate) updates: RefCell<Vec<Box<dyn PendingUpdate>>>,
}

impl TaskContext {
    pub(crate) fn new(desc: TaskDescription, ctx: Context) -> Self {
        TaskContext {
            desc,
            ctx,
            updates: RefCell::new(Vec::new()),
        }
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
    /// The context (on an executor: its replica).
    pub fn context(&self) -> &Context {
        &self.ctx
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
