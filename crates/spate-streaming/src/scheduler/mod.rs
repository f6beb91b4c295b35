//! The job generator and the job scheduler.
//!
//! Every batch interval the generator asks each output operation, in declaration order,
//! for its job for that batch time, and queues the batch's jobs; `spate.streaming.
//! concurrentJobs` worker threads run them (one worker: strictly in order). When a batch's
//! last job ends, its record is completed, listeners hear of it (through the listener
//! bus), and the streams and the input tracker forget what is older than the graph
//! remembers. A batch's record counts and per-input details come from the input tracker. On the system clock a generator thread fires
//! at every interval; on a manual clock [`crate::StreamingContext::advance`] generates and
//! waits for the batches that fell due.

use crate::context::{BatchFailure, StreamingContext};
use crate::error::Result;
use crate::listener::{BatchInfo, OutputOperationInfo, StreamingListenerEvent as Event};
use crate::output::JobFn;
use crate::time::Time;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};
use spate_core::ids;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

mod follow;
mod policy;
mod stop;
pub(crate) use follow::{replaying, Placements, Plan, Plans};
pub(crate) use policy::OutputFailurePolicy;

/// How long a non-graceful stop waits for running jobs (Spark's is 2 s).
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A batch whose scheduling delay exceeds this many batch intervals makes the scheduler
/// warn that the job falls behind.
pub const BEHIND_BATCHES: i64 = 3;

/// At most one falling-behind warning per this long.
pub const BEHIND_WARNING_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

thread_local! {
    static JOB_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The id scope of generating output `output`'s job for `time` (apart from the scope its
/// job runs in).
fn generation_scope(owner: usize, output: usize, time: Time) -> u64 {
    spate_core::partitioner::stable_hash(&("generate", owner, output, time.0))
}

/// Whether the current thread is one of the streaming job threads.
pub(crate) fn on_job_thread() -> bool {
    JOB_THREAD.with(|j| j.get())
}

impl Batch {
    /// Waits until the batch's last job ended.
    fn wait_done(&self) {
        let mut done = self.done.lock();
        while !*done {
            self.done_cv.wait(&mut done);
        }
    }
}

/// A batch in flight.
struct Batch {
    info: Mutex<BatchInfo>,
    remaining: AtomicUsize,
    done: Mutex<bool>,
    done_cv: Condvar,
    failure: Mutex<Option<BatchFailure>>,
    /// A job of the batch was dropped by a stop without running.
    discarded: AtomicBool,
    /// Attempts of each output operation run again after a failure (by output index).
    retries: Mutex<std::collections::HashMap<usize, usize>>,
}

struct QueuedJob {
    batch: Arc<Batch>,
    index: usize,
    name: &'static str,
    job: JobFn,
}

/// Generator and workers of one started context.
pub(crate) struct Scheduler {
    ssc: StreamingContext,
    /// The next batch time to generate.
    next_ms: Mutex<i64>,
    tx: Mutex<Option<Sender<QueuedJob>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    generator: Mutex<Option<JoinHandle<()>>>,
    stopping: AtomicBool,
    discard: Arc<AtomicBool>,
    in_flight: Mutex<Vec<Arc<Batch>>>,
    /// Batches whose jobs are done and whose inputs are not settled yet (an earlier batch
    /// is still running), by time. Held while inputs are settled: commits run one at a
    /// time, in batch order.
    settling: Mutex<std::collections::BTreeMap<i64, Arc<Batch>>>,
    /// When the last falling-behind warning was given.
    last_behind_warning: Mutex<Option<std::time::Instant>>,
    /// Batches whose outputs failed: not completed, as far as a checkpoint is concerned
    /// (Spark's SPARK-18905), so a recovered run runs them again.
    failed: Mutex<std::collections::BTreeSet<i64>>,
    /// `spate.streaming.outputFailure`.
    policy: OutputFailurePolicy,
    /// Completed batch records kept (`spate.streaming.ui.retainedBatches`).
    keep_completed: usize,
    /// The local properties of the thread that started the context (Spark's
    /// `savedProperties`): every output job runs with them (a job group included).
    saved_properties: Vec<(String, String)>,
    /// Cluster mode: the plans the driver publishes and executors follow.
    plans: Option<Plans>,
    /// This is an executor process's copy: it follows the driver's plans.
    follower: bool,
    /// The zero time.
    zero_ms: i64,
    /// An executor's follower thread.
    follower_thread: Mutex<Option<JoinHandle<()>>>,
    /// Where the follower stands.
    followed: Mutex<follow::Followed>,
    followed_cv: Condvar,
}

impl Scheduler {
    /// Starts the workers and (on the system clock) the generator. A context recovered
    /// from a checkpoint first runs the batches that were pending when it stopped, then
    /// goes on from the batch after the checkpoint's (the batches due while it was down
    /// come first, at once).
    pub(crate) fn start(
        ssc: StreamingContext,
        zero_ms: i64,
        recovery: Option<crate::checkpoint::Recovery>,
        plans: Option<Plans>,
    ) -> Result<Arc<Scheduler>> {
        let follower = plans.is_some() && !ssc.ctx().is_driver();
        let first_ms = match &recovery {
            Some(r) => r.checkpoint_ms.max(zero_ms) + ssc.batch_ms(),
            None => zero_ms + ssc.batch_ms(),
        };
        let reschedule: Vec<i64> = recovery.map(|r| r.pending_ms).unwrap_or_default();
        let policy = OutputFailurePolicy::from_conf(ssc.ctx().conf())?;
        let keep_completed = crate::retained::retained_batches(ssc.ctx().conf())?;
        let workers_n = ssc
            .ctx()
            .conf()
            .get_count("spate.streaming.concurrentJobs")?
            .unwrap_or(1)
            .max(1);
        let (tx, rx) = crossbeam_channel::unbounded::<QueuedJob>();
        let sched = Arc::new(Scheduler {
            ssc: ssc.clone(),
            next_ms: Mutex::new(first_ms),
            tx: Mutex::new(Some(tx)),
            workers: Mutex::new(Vec::new()),
            generator: Mutex::new(None),
            stopping: AtomicBool::new(false),
            discard: Arc::new(AtomicBool::new(false)),
            in_flight: Mutex::new(Vec::new()),
            settling: Mutex::new(Default::default()),
            last_behind_warning: Mutex::new(None),
            failed: Mutex::new(Default::default()),
            policy,
            keep_completed,
            saved_properties: spate_core::scheduler::local_properties()
                .into_iter()
                .collect(),
            plans,
            follower,
            zero_ms,
            follower_thread: Mutex::new(None),
            followed: Mutex::new(Default::default()),
            followed_cv: Condvar::new(),
        });
        for i in 0..workers_n {
            let rx: Receiver<QueuedJob> = rx.clone();
            let s = Arc::downgrade(&sched);
            let discard = sched.discard.clone();
            let h = std::thread::Builder::new()
                .name(format!("spate-streaming-job-{i}"))
                .stack_size(32 << 20)
                .spawn(move || {
                    JOB_THREAD.with(|j| j.set(true));
                    while let Ok(job) = rx.recv() {
                        let Some(s) = s.upgrade() else { break };
                        if discard.load(Ordering::Acquire) {
                            s.finish_job(&job.batch, job.index, job.name, None, None, true);
                            continue;
                        }
                        s.run_job(job);
                    }
                })
                .expect("spawn streaming job thread");
            sched.workers.lock().push(h);
        }
        if follower {
            // An executor process: the driver's plans say which batches run (those a
            // recovered driver runs again among them).
            let s = sched.clone();
            let h = std::thread::Builder::new()
                .name("spate-streaming-follower".into())
                .stack_size(32 << 20)
                .spawn(move || s.follow())
                .map_err(|e| {
                    crate::error::Error::Core(spate_core::Error::Task(format!(
                        "starting the thread that follows the driver's batches: {e}"
                    )))
                })?;
            *sched.follower_thread.lock() = Some(h);
            return Ok(sched);
        }
        if !reschedule.is_empty() {
            tracing::info!(batches = ?reschedule, "running again the batches pending at the checkpoint");
        }
        if ssc.manual_clock().is_none() {
            let s = sched.clone();
            let h = std::thread::Builder::new()
                .name("spate-streaming-generator".into())
                .stack_size(32 << 20)
                .spawn(move || {
                    for t in reschedule {
                        s.generate(Time(t));
                    }
                    s.generator_loop()
                })
                .expect("spawn generator thread");
            *sched.generator.lock() = Some(h);
        } else {
            for t in reschedule {
                sched.generate(Time(t));
            }
        }
        Ok(sched)
    }

    fn now(&self) -> i64 {
        self.ssc.inner.clock.now_ms()
    }

    fn post(&self, event: Event) {
        self.ssc.inner.bus.post(event);
    }

    fn generator_loop(self: Arc<Self>) {
        loop {
            let next = *self.next_ms.lock();
            loop {
                if self.stopping.load(Ordering::Acquire) {
                    return;
                }
                let now = self.now();
                if now >= next {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(
                    (next - now).clamp(1, 50) as u64
                ));
            }
            *self.next_ms.lock() = next + self.ssc.batch_ms();
            self.generate(Time(next));
        }
    }

    /// Manual clock: generates every batch up to `target` and waits for each.
    pub(crate) fn run_due(&self, target: i64) -> Result<()> {
        if self.follower {
            return self.await_followed(target);
        }
        let mut first_failure = None;
        loop {
            let next = {
                let mut n = self.next_ms.lock();
                if *n > target || self.stopping.load(Ordering::Acquire) {
                    break;
                }
                let t = *n;
                *n += self.ssc.batch_ms();
                t
            };
            let batch = self.generate(Time(next));
            batch.wait_done();
            if first_failure.is_none() {
                first_failure = batch.failure.lock().clone();
            }
        }
        match first_failure {
            Some(f) => Err(f.into_error()),
            None => Ok(()),
        }
    }

    /// Generates the jobs of batch `time` and queues them.
    fn generate(&self, time: Time) -> Arc<Batch> {
        // Receivers give what they received to this batch first (as Spark's JobGenerator
        // does), even when no output reads the input at this time (between slides).
        for i in self.ssc.inner.graph.inputs() {
            i.allocate_blocks(time);
        }
        let outputs = self.ssc.inner.graph.outputs();
        let mut jobs: Vec<(usize, &'static str, JobFn)> = Vec::new();
        // Inputs counted as the jobs read them are finished when this batch completes.
        // Backpressure: the rates the inputs plan this batch under.
        let rate_limits = self
            .ssc
            .inner
            .rate_controllers
            .lock()
            .iter()
            .filter_map(|c| Some((c.stream()?, c.rate()?.round() as u64)))
            .collect();
        crate::input::generating(time, || {
            for (i, o) in outputs.iter().enumerate() {
                if let Some(job) = self.make_job(i, o.as_ref(), time) {
                    jobs.push((i, o.name(), job));
                }
            }
        });
        // Inputs record what they give the batch while its RDDs are generated: read after.
        let input_info = self.ssc.inner.input_tracker.for_batch(time);
        // Cluster mode: the executors generate the batch as it was here, before the
        // driver's tasks for it (which name its RDDs) reach them.
        self.publish_batch(time);
        let info = BatchInfo {
            batch_time: time,
            submission_ms: self.now(),
            processing_start_ms: None,
            processing_end_ms: None,
            num_records: input_info.values().map(|i| i.num_records).sum(),
            input_info,
            rate_limits,
            commit_failures: Vec::new(),
            output_operations: jobs
                .iter()
                .map(|(i, name, _)| OutputOperationInfo {
                    batch_time: time,
                    id: *i,
                    name,
                    start_ms: None,
                    end_ms: None,
                    failure: None,
                })
                .collect(),
        };
        let batch = Arc::new(Batch {
            info: Mutex::new(info),
            remaining: AtomicUsize::new(jobs.len()),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
            failure: Mutex::new(None),
            discarded: AtomicBool::new(false),
            retries: Mutex::new(Default::default()),
        });
        if jobs.is_empty() {
            // As Spark: a batch without jobs (a window between slides) is not reported.
            self.ssc.inner.input_tracker.complete(time, true);
            self.forget_old(time);
            *batch.done.lock() = true;
            return batch;
        }
        self.post(Event::BatchSubmitted(batch.info.lock().clone()));
        self.in_flight.lock().push(batch.clone());
        // The batch is in the checkpoint (pending) before any of its jobs runs: whatever
        // it wrote, a recovered run runs it again at the same time.
        self.checkpoint(time, false);
        let tx = self.tx.lock().clone();
        match tx {
            Some(tx) => {
                for (slot, (index, name, job)) in jobs.into_iter().enumerate() {
                    let _ = slot;
                    let _ = tx.send(QueuedJob {
                        batch: batch.clone(),
                        index,
                        name,
                        job,
                    });
                }
            }
            None => {
                // Stopped while the batch was generated: its jobs never run, so it is
                // discarded (its direct sources do not commit it).
                batch.discarded.store(true, Ordering::Release);
                self.complete(&batch);
                return batch;
            }
        }
        batch
    }

    /// Output `i`'s job for batch `time`, or `None` when it has nothing to do. An output
    /// whose RDD cannot be generated (a parent with no RDD for a union, a failing transform
    /// function) gets a job that fails with the cause: the batch and its record show the
    /// failure, and later batches run.
    fn make_job(&self, i: usize, o: &dyn crate::output::OutputOp, time: Time) -> Option<JobFn> {
        let owner = self.ssc.inner.scope_owner;
        let failed = |cause: String| -> JobFn { Box::new(move || Err(cause.into())) };
        // Ids of what the generation and the job create come from (output, batch time)
        // scopes, so every process names them alike whatever the thread timing.
        let generating = std::panic::catch_unwind(AssertUnwindSafe(|| {
            ids::with_scope(
                ids::IdScope::Named(generation_scope(owner, i, time)),
                || o.generate_job(time),
            )
        }));
        match generating {
            Ok(Ok(Some(job))) => {
                let scope = ids::IdScope::Output {
                    owner,
                    output: i,
                    time_ms: time.0,
                };
                Some(Box::new(move || ids::with_scope(scope, job)))
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => Some(failed(format!("generating the batch's RDD: {e}"))),
            Err(p) => Some(failed(format!(
                "generating the batch's RDD panicked: {}",
                spate_core::scheduler::panic_message(p.as_ref())
            ))),
        }
    }

    fn run_job(&self, job: QueuedJob) {
        let start = self.now();
        {
            let mut info = job.batch.info.lock();
            if info.processing_start_ms.is_none() {
                info.processing_start_ms = Some(start);
                let snapshot = info.clone();
                drop(info);
                self.post(Event::BatchStarted(snapshot));
            }
        }
        let op_info = self.update_op(&job.batch, job.index, |o| o.start_ms = Some(start));
        if let Some(op) = op_info {
            self.post(Event::OutputOperationStarted(op));
        }
        // Each RDD job the output operation starts names its batch and operation (the
        // web UI's batch page).
        // After the properties of the thread that started the context (its job group,
        // say), as Spark's job scheduler does.
        let mut props: Vec<(&str, String)> = self
            .saved_properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        props.push((
            spate_core::scheduler::BATCH_TIME_PROPERTY,
            job.batch.info.lock().batch_time.0.to_string(),
        ));
        props.push((
            spate_core::scheduler::OUTPUT_OP_PROPERTY,
            job.index.to_string(),
        ));
        let outcome = spate_core::scheduler::with_local_properties(&props, || {
            std::panic::catch_unwind(AssertUnwindSafe(job.job))
        });
        let failure: Option<Arc<dyn std::error::Error + Send + Sync>> = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Arc::from(e)),
            Err(p) => Some(Arc::from(crate::output::BoxError::from(format!(
                "panic: {}",
                spate_core::scheduler::panic_message(p.as_ref())
            )))),
        };
        self.finish_job(
            &job.batch,
            job.index,
            job.name,
            Some(self.now()),
            failure,
            false,
        );
    }

    fn update_op(
        &self,
        batch: &Batch,
        index: usize,
        f: impl FnOnce(&mut OutputOperationInfo),
    ) -> Option<OutputOperationInfo> {
        let mut info = batch.info.lock();
        let op = info.output_operations.iter_mut().find(|o| o.id == index)?;
        f(op);
        Some(op.clone())
    }

    fn finish_job(
        &self,
        batch: &Arc<Batch>,
        index: usize,
        name: &'static str,
        end: Option<i64>,
        failure: Option<Arc<dyn std::error::Error + Send + Sync>>,
        discarded: bool,
    ) {
        let op = self.update_op(batch, index, |o| {
            o.end_ms = end;
            o.failure = failure
                .as_ref()
                .map(|e| e.to_string())
                .or_else(|| discarded.then(|| "discarded by a stop".to_string()));
        });
        if let Some(op) = op {
            self.post(Event::OutputOperationCompleted(op));
        }
        if discarded {
            batch.discarded.store(true, Ordering::Release);
        }
        if let Some(cause) = &failure {
            if self.retry(batch, index, name, cause) {
                return;
            }
        }
        if let Some(cause) = failure {
            let f = BatchFailure::Output {
                time_ms: batch.info.lock().batch_time.0,
                output: index,
                name,
                cause,
            };
            batch.failure.lock().get_or_insert(f.clone());
            self.ssc.report_failure(f);
        }
        if batch.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.complete(batch);
        }
    }

    /// A batch's last job ended: record it, tell listeners, forget old RDDs.
    fn complete(&self, batch: &Arc<Batch>) {
        let now = self.now();
        // Inputs counted as the jobs read them now know their records.
        let time = batch.info.lock().batch_time;
        let tracker = &self.ssc.inner.input_tracker;
        tracker.complete(time, !batch.discarded.load(Ordering::Acquire));
        let input_info = tracker.for_batch(time);
        let commit_failures = self.settle_inputs(batch, time);
        let info = {
            let mut info = batch.info.lock();
            info.commit_failures = commit_failures;
            if info.processing_start_ms.is_none() {
                info.processing_start_ms = Some(now);
            }
            info.processing_end_ms = Some(now);
            info.num_records = input_info.values().map(|i| i.num_records).sum();
            info.input_info = input_info;
            info.clone()
        };
        tracing::info!(
            batch = %info.batch_time,
            records = info.num_records,
            scheduling_delay_ms = info.scheduling_delay_ms().unwrap_or(0),
            processing_ms = info.processing_delay_ms().unwrap_or(0),
            total_delay_ms = info.total_delay_ms().unwrap_or(0),
            "batch completed"
        );
        self.warn_if_behind(&info);
        self.post(Event::BatchCompleted(info.clone()));
        {
            let mut c = self.ssc.inner.completed.lock();
            c.push(info.clone());
            if c.len() > self.keep_completed {
                let extra = c.len() - self.keep_completed;
                c.drain(..extra);
            }
        }
        let discarded = batch.discarded.load(Ordering::Acquire);
        // Only an output operation's failure; a failed commit or a refused block is
        // reported and does not make the batch run again.
        let output_failed =
            !discarded && matches!(*batch.failure.lock(), Some(BatchFailure::Output { .. }));
        {
            // Not done, as far as a checkpoint is concerned: a recovered run runs it again.
            let mut failed = self.failed.lock();
            if discarded || (output_failed && self.policy != OutputFailurePolicy::Skip) {
                failed.insert(time.0);
            } else {
                failed.remove(&time.0);
            }
        }
        self.forget_old(info.batch_time);
        self.checkpoint(time, true);
        // No batch starts after this one (a manual clock's `advance` waits for it below).
        let stop = output_failed
            && self.policy != OutputFailurePolicy::Skip
            && !self.stopping.swap(true, Ordering::AcqRel);
        *batch.done.lock() = true;
        batch.done_cv.notify_all();
        if stop {
            tracing::error!(
                batch = %time,
                "stopping the streaming context: an output operation of the batch failed \
                 (spate.streaming.outputFailure={}); the batch stays pending in the checkpoint",
                match self.policy {
                    OutputFailurePolicy::Retry(_) => "retry, attempts spent",
                    _ => "stop",
                }
            );
            self.ssc.stop(true, false);
        }
    }

    /// Warns when a batch waited more than [`BEHIND_BATCHES`] batch intervals to start
    /// (the job falls behind its input), at most once every [`BEHIND_WARNING_EVERY`],
    /// naming the batch, its delays and its slowest output operation.
    fn warn_if_behind(&self, info: &BatchInfo) {
        let batch_ms = self.ssc.batch_ms();
        let Some(delay) = info.scheduling_delay_ms() else {
            return;
        };
        if delay <= batch_ms * BEHIND_BATCHES {
            return;
        }
        {
            let mut last = self.last_behind_warning.lock();
            if last.is_some_and(|t| t.elapsed() < BEHIND_WARNING_EVERY) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        self.ssc
            .inner
            .behind_warnings
            .fetch_add(1, Ordering::Relaxed);
        let slowest = info
            .output_operations
            .iter()
            .filter_map(|o| Some((o.end_ms? - o.start_ms?, o)))
            .max_by_key(|(d, _)| *d)
            .map(|(d, o)| format!("output operation {} ({}) took {d} ms", o.id, o.name))
            .unwrap_or_else(|| "no output operation finished".into());
        tracing::warn!(
            batch = %info.batch_time,
            scheduling_delay_ms = delay,
            processing_ms = info.processing_delay_ms().unwrap_or(0),
            batch_interval_ms = batch_ms,
            "streaming job is falling behind: batch {} waited {delay} ms to start (more than {BEHIND_BATCHES} \
             batch intervals of {batch_ms} ms); its slowest: {slowest}",
            info.batch_time
        );
    }

    /// Batch `batch` (at `time`) is done: settles the direct inputs of every done batch no
    /// earlier batch is still running for, in batch order — each source commits the ranges
    /// of a batch whose output operations all succeeded (a failed or discarded batch's
    /// ranges stay uncommitted). A commit error fails its batch: logged, reported to
    /// `await_termination`, and returned (described) when it is `batch`'s, for its record.
    fn settle_inputs(&self, batch: &Arc<Batch>, time: Time) -> Vec<String> {
        let mut settling = self.settling.lock();
        let earliest_running = {
            let mut in_flight = self.in_flight.lock();
            in_flight.retain(|b| !Arc::ptr_eq(b, batch));
            in_flight.iter().map(|b| b.info.lock().batch_time.0).min()
        };
        settling.insert(time.0, batch.clone());
        let due: Vec<(i64, Arc<Batch>)> = match earliest_running {
            Some(e) => {
                let later = settling.split_off(&e);
                std::mem::replace(&mut *settling, later)
                    .into_iter()
                    .collect()
            }
            None => std::mem::take(&mut *settling).into_iter().collect(),
        };
        // Sources commit on the driver only.
        let inputs = if self.follower {
            Vec::new()
        } else {
            self.ssc.inner.graph.inputs()
        };
        let mut mine = Vec::new();
        for (t, b) in due {
            let succeeded = b.failure.lock().is_none() && !b.discarded.load(Ordering::Acquire);
            for i in &inputs {
                for e in i.settle(Time(t), succeeded) {
                    let f = BatchFailure::commit(t, e);
                    if Arc::ptr_eq(&b, batch) {
                        mine.push(f.clone().into_error().to_string());
                    }
                    b.failure.lock().get_or_insert(f.clone());
                    self.ssc.report_failure(f);
                }
            }
        }
        mine
    }

    /// Streams forget RDDs older than their remember duration before `time`; the input
    /// tracker forgets batches older than the longest remember duration of an input
    /// (Spark's `inputInfoTracker.cleanup(time - maxRememberDuration)`).
    fn forget_old(&self, time: Time) {
        let outputs = self.ssc.inner.graph.outputs();
        let mut remember = 0;
        let mut stack: Vec<Arc<dyn crate::dstream::DStreamBase>> = Vec::new();
        for o in outputs {
            let s = o.stream();
            s.clear_metadata(time.0);
            stack.push(s);
        }
        let mut seen = std::collections::HashSet::new();
        while let Some(s) = stack.pop() {
            if !seen.insert(s.meta().id()) {
                continue;
            }
            let deps = s.dependencies();
            if deps.is_empty() {
                remember = remember.max(s.meta().remember_ms());
            }
            stack.extend(deps);
        }
        self.ssc
            .inner
            .input_tracker
            .cleanup(Time(time.0 - remember));
        // A failed batch older than that can no longer be recomputed from its input.
        self.failed.lock().retain(|t| *t >= time.0 - remember);
        for i in self.ssc.inner.graph.inputs() {
            i.forget_before(time);
        }
    }
}
