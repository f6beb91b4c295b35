//! Cancelling jobs (Spark's `cancelJobGroup`, `cancelAllJobs`, `cancelJob`): the jobs
//! running now, their group, and the kill flag their tasks watch.
//!
//! A cancelled job fails at once with [`Error::JobCancelled`]: the scheduler stops waiting
//! for its tasks, queued tasks see the flag before they start and do not run, and running
//! tasks see it at their next record ([`interruptible`], Spark's `InterruptibleIterator`)
//! and end. A killed task is not retried.

use crate::error::Error;
use crate::rdd::BoxIter;
use crate::scheduler::TaskContext;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cancelled jobs whose flags are kept after they end, so that their tasks still queued
/// on an executor see the flag and do not run.
const KEPT_KILLED: usize = 1024;

/// The kill flags of this process's jobs, by job id (part of the executor environment,
/// where tasks look theirs up).
#[derive(Default)]
pub(crate) struct KillFlags {
    inner: Mutex<KillFlagsInner>,
}

#[derive(Default)]
struct KillFlagsInner {
    flags: HashMap<usize, Arc<AtomicBool>>,
    killed: VecDeque<usize>,
}

impl KillFlags {
    /// A fresh flag for job `job`, starting: a job id seen before (a batch run again in the same id scope) does
    /// not inherit the flag of a cancelled run.
    pub(crate) fn register(&self, job: usize) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut inner = self.inner.lock();
        if inner.flags.insert(job, flag.clone()).is_some() {
            inner.killed.retain(|j| *j != job);
        }
        flag
    }

    /// The flag of job `job`, if it is running (or was cancelled lately).
    pub(crate) fn get(&self, job: usize) -> Option<Arc<AtomicBool>> {
        self.inner.lock().flags.get(&job).cloned()
    }

    /// Job `job` ended: its flag goes, unless the job was killed (then it is kept for a
    /// while, for its queued tasks).
    pub(crate) fn unregister(&self, job: usize) {
        let mut inner = self.inner.lock();
        let killed = inner
            .flags
            .get(&job)
            .is_some_and(|f| f.load(Ordering::Acquire));
        if !killed {
            inner.flags.remove(&job);
            return;
        }
        inner.killed.push_back(job);
        while inner.killed.len() > KEPT_KILLED {
            if let Some(old) = inner.killed.pop_front() {
                inner.flags.remove(&old);
            }
        }
    }
}

/// A job running on this scheduler.
pub(crate) struct ActiveJob {
    job_id: usize,
    group: Option<String>,
    kill: Arc<AtomicBool>,
    reason: Mutex<Option<String>>,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
}

impl ActiveJob {
    /// Marks the job cancelled for `reason` (the first reason wins), raises its tasks'
    /// kill flag and wakes the scheduler waiting on it.
    fn cancel(&self, reason: String) {
        {
            let mut r = self.reason.lock();
            if r.is_some() {
                return;
            }
            *r = Some(reason);
        }
        self.kill.store(true, Ordering::Release);
        let _ = self.wake_tx.try_send(());
    }

    /// Ready when the job is cancelled.
    pub(crate) fn woken(&self) -> &Receiver<()> {
        &self.wake_rx
    }

    /// The error the job fails with, if it was cancelled.
    pub(crate) fn cancelled(&self) -> Option<Error> {
        self.reason
            .lock()
            .as_ref()
            .map(|reason| Error::JobCancelled {
                job: self.job_id,
                group: self.group.clone(),
                reason: reason.clone(),
            })
    }
}

/// The jobs running on one scheduler.
#[derive(Default)]
pub(crate) struct ActiveJobs {
    jobs: Mutex<HashMap<usize, Arc<ActiveJob>>>,
}

impl ActiveJobs {
    /// Job `job_id` of `group` starts; `kill` is its tasks' flag.
    pub(crate) fn start(
        &self,
        job_id: usize,
        group: Option<String>,
        kill: Arc<AtomicBool>,
    ) -> Arc<ActiveJob> {
        let (wake_tx, wake_rx) = crossbeam_channel::bounded(1);
        let job = Arc::new(ActiveJob {
            job_id,
            group,
            kill,
            reason: Mutex::new(None),
            wake_tx,
            wake_rx,
        });
        self.jobs.lock().insert(job_id, job.clone());
        job
    }

    /// Job `job_id` ended.
    pub(crate) fn end(&self, job_id: usize) {
        self.jobs.lock().remove(&job_id);
    }

    /// The running job `job_id`.
    pub(crate) fn get(&self, job_id: usize) -> Option<Arc<ActiveJob>> {
        self.jobs.lock().get(&job_id).cloned()
    }

    /// The running jobs of `group` (all of them for `None`), ascending.
    pub(crate) fn ids(&self, group: Option<&str>) -> Vec<usize> {
        let mut ids: Vec<usize> = self
            .jobs
            .lock()
            .values()
            .filter(|j| group.is_none() || j.group.as_deref() == group)
            .map(|j| j.job_id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Cancels the running jobs `pick` selects; returns their ids, ascending.
    pub(crate) fn cancel_where(
        &self,
        pick: impl Fn(&ActiveJob) -> bool,
        reason: &str,
    ) -> Vec<usize> {
        let picked: Vec<Arc<ActiveJob>> = self
            .jobs
            .lock()
            .values()
            .filter(|j| pick(j))
            .cloned()
            .collect();
        let mut ids = Vec::with_capacity(picked.len());
        for job in picked {
            tracing::info!(job = job.job_id, group = ?job.group, "cancelling job: {reason}");
            job.cancel(reason.to_string());
            ids.push(job.job_id);
        }
        ids.sort_unstable();
        ids
    }

    /// Cancels the running jobs of `group`.
    pub(crate) fn cancel_group(&self, group: &str) -> Vec<usize> {
        self.cancel_where(
            |j| j.group.as_deref() == Some(group),
            &format!("part of cancelled job group {group:?}"),
        )
    }
}

/// The error a task fails with when it sees its job's kill flag.
pub(crate) fn killed_error(job: usize) -> Error {
    Error::JobCancelled {
        job,
        group: None,
        reason: "the task was killed (its job was cancelled)".into(),
    }
}

/// `it`, stopping at the next record once the task's job is cancelled: the task then fails
/// with [`Error::JobCancelled`] (Spark's `InterruptibleIterator`). Used where a task pulls
/// its records (the result function's input, a map task's input, a partition being
/// cached), so a long computation over many records stops within one record.
pub(crate) fn interruptible<T: 'static>(it: BoxIter<T>, tc: &TaskContext) -> BoxIter<T> {
    match tc.kill_flag() {
        Some(kill) => Box::new(Interruptible {
            inner: it,
            kill,
            job: tc.description().job_id,
        }),
        None => it,
    }
}

/// Checks a task's kill flag every 1,024 records from inside a loop that consumes its
/// input (the map side of a shuffle), so that loop stops promptly without a wrapper
/// around its input: a wrapper costs an indirect call per record on the hottest path.
/// On a kill it records the failure and unwinds with [`Killed`], as [`interruptible`]
/// does.
pub(crate) struct KillCheck {
    kill: Option<Arc<AtomicBool>>,
    job: usize,
    n: u32,
}

impl KillCheck {
    pub(crate) fn new(tc: &TaskContext) -> Self {
        KillCheck {
            kill: tc.kill_flag(),
            job: tc.description().job_id,
            n: 0,
        }
    }

    /// Counts one record; every 1,024th looks at the flag.
    #[inline(always)]
    pub(crate) fn tick(&mut self) {
        self.n = self.n.wrapping_add(1);
        if self.n & 1023 == 0 {
            self.check();
        }
    }

    #[cold]
    #[inline(never)]
    fn check(&self) {
        if let Some(kill) = &self.kill {
            if killed(kill, self.job) {
                std::panic::resume_unwind(Box::new(Killed));
            }
        }
    }
}

/// Unwinds a task that was killed inside [`Iterator::fold`] (which cannot end early);
/// the task's recorded failure ([`TaskContext::fail`]) is what it reports.
pub(crate) struct Killed;

struct Interruptible<T> {
    inner: BoxIter<T>,
    kill: Arc<AtomicBool>,
    job: usize,
}

/// Whether `kill` is raised; if so, records the kill as the current task's failure.
fn killed(kill: &AtomicBool, job: usize) -> bool {
    if kill.load(Ordering::Relaxed) {
        TaskContext::with_current(|tc| {
            if let Some(tc) = tc {
                tc.fail(killed_error(job));
            }
        });
        return true;
    }
    false
}

impl<T> Iterator for Interruptible<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if killed(&self.kill, self.job) {
            return None;
        }
        self.inner.next()
    }

    // The inner hint, for preallocation: a killed task's output is thrown away anyway.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }

    // Keeps the inner iterator's internal iteration (`drive`); a kill unwinds out of it.
    fn fold<B, F: FnMut(B, T) -> B>(self, init: B, mut f: F) -> B {
        if killed(&self.kill, self.job) {
            return init;
        }
        let Interruptible { inner, kill, job } = self;
        let mut acc = Some(init);
        inner.drive(&mut |x| {
            if killed(&kill, job) {
                std::panic::resume_unwind(Box::new(Killed));
            }
            if let Some(a) = acc.take() {
                acc = Some(f(a, x));
            }
        });
        match acc {
            Some(a) => a,
            // `f` unwound earlier; unreachable in practice.
            None => std::panic::resume_unwind(Box::new(Killed)),
        }
    }
}

impl super::DagScheduler {
    /// Cancels the running jobs of job group `group` (Spark's `cancelJobGroup`); returns
    /// their ids. Jobs of the group started later run normally.
    pub fn cancel_job_group(&self, group: &str) -> Vec<usize> {
        self.active.cancel_group(group)
    }

    /// Cancels every running job (Spark's `cancelAllJobs`); returns their ids.
    pub fn cancel_all_jobs(&self) -> Vec<usize> {
        self.active
            .cancel_where(|_| true, "part of cancellation of all jobs")
    }

    /// Cancels job `job_id` if it is running (Spark's `cancelJob`); whether it was.
    pub fn cancel_job(&self, job_id: usize) -> bool {
        !self
            .active
            .cancel_where(|j| j.job_id == job_id, "cancelled by request")
            .is_empty()
    }

    /// The ids of the running jobs of `group` (Spark's `getJobIdsForGroup`, for the
    /// running ones), ascending.
    pub fn active_job_ids(&self, group: Option<&str>) -> Vec<usize> {
        self.active.ids(group)
    }
}
