//! The DAG scheduler: cuts a job into stages at shuffle dependencies, runs missing parent
//! stages first, reuses shuffle output already computed, retries failed tasks, resubmits
//! map stages whose output was lost, and fails a job with the original cause.

mod cancel;
mod events;
mod executor;
mod map_output;
mod task;

pub(crate) use cancel::{interruptible, KillCheck, KillFlags};
pub use events::{
    local_properties, local_property, now_ms, set_local_property, with_local_properties, JobStart,
    SchedulerEvent, SchedulerListener, TaskEnd, BATCH_TIME_PROPERTY, JOB_DESCRIPTION_PROPERTY,
    JOB_GROUP_PROPERTY, JOB_INTERRUPT_ON_CANCEL_PROPERTY, OUTPUT_OP_PROPERTY,
};
pub use executor::{
    failed_result, panic_message, run_encoded, run_encoded_when_resolvable, Executor, LocalExecutor,
};
pub use map_output::{BucketSources, MapOutputTracker, MapStatus, MapStatuses};
pub use task::{
    EncodedTask, ShuffleStatuses, TaskContext, TaskDescription, TaskFailure, TaskKind, TaskResult,
};

use crate::codec;
use crate::context::Context;
use crate::env::{Env, ResultFn};
use crate::error::{Error, Result};
use crate::ids::IdKind;
use crate::rdd::{effective_dependencies, Dependency, RddBase};
use crate::shuffle::ShuffleDependencyBase;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Why a stage attempt stopped.
enum StageFailure {
    /// A task could not read shuffle output: recompute it, then resubmit.
    FetchFailed { shuffle_id: usize, map_id: usize },
    /// The job is over.
    Fatal(Error),
}

/// The DAG scheduler of one context.
pub struct DagScheduler {
    executor: Arc<dyn Executor>,
    env: Arc<Env>,
    shuffle_locks: Mutex<HashMap<usize, Arc<Mutex<()>>>>,
    shuffle_stage: Mutex<HashMap<usize, usize>>,
    next_stage: AtomicUsize,
    next_task: AtomicU64,
    max_failures: usize,
    max_stage_attempts: usize,
    /// Cluster mode: which executor cached each RDD partition `(rdd, partition)`, as
    /// its tasks reported. A stale entry costs a recomputation, never a wrong result.
    cache_locs: Mutex<HashMap<(usize, usize), String>>,
    listeners: events::Listeners,
    /// The jobs running here, for cancellation.
    active: cancel::ActiveJobs,
}

/// Most cached-partition locations kept (then they are forgotten and learnt again).
const MAX_CACHE_LOCS: usize = 200_000;

/// The shuffle dependencies reachable from `rdd` through narrow dependencies only: the
/// parents of the stage `rdd` belongs to.
pub(crate) fn parent_shuffles(rdd: &Arc<dyn RddBase>) -> Vec<Arc<dyn ShuffleDependencyBase>> {
    let mut out: Vec<Arc<dyn ShuffleDependencyBase>> = Vec::new();
    let mut seen_rdd = HashSet::new();
    let mut seen_shuffle = HashSet::new();
    let mut stack = vec![rdd.clone()];
    while let Some(r) = stack.pop() {
        if !seen_rdd.insert(r.info().id()) {
            continue;
        }
        for d in effective_dependencies(r.as_ref()) {
            match d {
                Dependency::Narrow(p) => stack.push(p),
                Dependency::Shuffle(s) => {
                    if seen_shuffle.insert(s.shuffle_id()) {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

impl DagScheduler {
    pub(crate) fn new(
        executor: Arc<dyn Executor>,
        env: Arc<Env>,
        max_failures: usize,
        max_stage_attempts: usize,
    ) -> Self {
        DagScheduler {
            executor,
            env,
            shuffle_locks: Mutex::new(HashMap::new()),
            shuffle_stage: Mutex::new(HashMap::new()),
            next_stage: AtomicUsize::new(0),
            next_task: AtomicU64::new(0),
            max_failures: max_failures.max(1),
            max_stage_attempts: max_stage_attempts.max(1),
            cache_locs: Mutex::new(HashMap::new()),
            listeners: events::Listeners::default(),
            active: cancel::ActiveJobs::default(),
        }
    }

    /// Adds a listener of jobs, stages and tasks (see [`SchedulerListener`]).
    pub fn add_listener(&self, listener: Arc<dyn SchedulerListener>) {
        self.listeners.add(listener);
    }

    /// The executor that cached partition `partition` of `rdd` or of an ancestor it
    /// reads one-to-one (through narrow dependencies with as many partitions), or that
    /// holds its input (a received block), if known.
    fn preferred_location(&self, rdd: &Arc<dyn RddBase>, partition: usize) -> Option<String> {
        let locs = self.cache_locs.lock();
        let n = rdd.info().num_partitions();
        let mut stack = vec![rdd.clone()];
        let mut seen = HashSet::new();
        while let Some(r) = stack.pop() {
            if seen.len() > 64 || !seen.insert(r.info().id()) {
                continue;
            }
            if let Some(e) = r.preferred_location(partition) {
                return Some(e);
            }
            if !locs.is_empty() && r.info().storage_level().is_some() {
                if let Some(e) = locs.get(&(r.info().id(), partition)) {
                    return Some(e.clone());
                }
            }
            for d in effective_dependencies(r.as_ref()) {
                if let Dependency::Narrow(p) = d {
                    if p.info().num_partitions() == n {
                        stack.push(p);
                    }
                }
            }
        }
        None
    }

    /// Remembers where a task cached partitions.
    fn note_cached(&self, cached: (String, Vec<(usize, usize)>)) {
        let (executor, parts) = cached;
        if parts.is_empty() {
            return;
        }
        let mut locs = self.cache_locs.lock();
        if locs.len() > MAX_CACHE_LOCS {
            locs.clear();
        }
        for p in parts {
            locs.insert(p, executor.clone());
        }
    }

    /// The executor tasks go to.
    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
    }

    /// Where shuffle map outputs are.
    pub fn map_output_tracker(&self) -> &MapOutputTracker {
        self.env.map_output_tracker()
    }

    pub(crate) fn stop(&self) {
        self.executor.stop();
    }

    /// Forgets a shuffle (its dependency was dropped).
    pub(crate) fn unregister_shuffle(&self, shuffle_id: usize) {
        self.env.map_output_tracker().unregister_shuffle(shuffle_id);
        self.env.unregister_shuffle(shuffle_id);
        self.shuffle_locks.lock().remove(&shuffle_id);
        self.shuffle_stage.lock().remove(&shuffle_id);
    }

    fn shuffle_lock(&self, shuffle_id: usize) -> Arc<Mutex<()>> {
        self.shuffle_locks
            .lock()
            .entry(shuffle_id)
            .or_insert_with(|| Arc::new(Mutex::new(())))
            .clone()
    }

    /// Runs `func` over the given partitions of `rdd` (the job's final stage, after its
    /// missing parent stages) and returns the encoded values in partition order. The job
    /// id comes from program order; `func` is registered under it for the executors to
    /// resolve.
    pub(crate) fn run_job(
        &self,
        ctx: &Context,
        rdd: &Arc<dyn RddBase>,
        partitions: &[usize],
        func: Arc<dyn ResultFn>,
    ) -> Result<Vec<Vec<u8>>> {
        if ctx.is_stopped() {
            return Err(Error::Stopped);
        }
        if TaskContext::with_current(|tc| tc.is_some()) {
            // Every task thread could end up waiting on tasks that have no thread to run.
            return Err(Error::InvalidArgument {
                op: "action",
                reason: "an action was called inside a task (in a transformation's closure); run actions on the \
                         driver, e.g. in foreach_rdd or after the job (Spark's SPARK-5063)"
                    .into(),
            });
        }
        let job_id = ctx.next_id(IdKind::Job);
        self.env.register_job(job_id, func)?;
        let kill = self.env.kill_flags().register(job_id);
        struct Unregister<'a>(&'a Env, usize);
        impl Drop for Unregister<'_> {
            fn drop(&mut self) {
                self.0.unregister_job(self.1);
                self.0.kill_flags().unregister(self.1);
            }
        }
        let _unregister = Unregister(&self.env, job_id);
        let group = events::local_property(JOB_GROUP_PROPERTY);
        // Cluster mode: an executor's copy of the program gets the driver's result of the
        // same job (its tasks meanwhile resolve this job's function here); the driver
        // publishes every outcome for them.
        let results = match self.env.cluster_link() {
            Some(link) if !self.env.role().is_driver() => link.job_result(job_id)?,
            Some(link) => {
                let outcome = self.schedule_job(ctx, rdd, partitions, job_id, group, kill);
                if !crate::cluster::is_driver_only() {
                    // Before the checkpoint writes below: their jobs' tasks need the
                    // executors' copies of the program past this job.
                    link.publish_job_result(job_id, &outcome);
                }
                outcome?
            }
            None => self.schedule_job(ctx, rdd, partitions, job_id, group, kill)?,
        };
        // The RDDs of the lineage marked for checkpointing are written now, each by a
        // job of its own (which an executor's copy follows, as it follows this one).
        let writers = crate::rdd::pending_checkpoints(rdd);
        crate::rdd::run_checkpoint_writers(writers)?;
        Ok(results)
    }

    /// Runs job `job_id` here: its missing parent stages, then its final stage.
    fn schedule_job(
        &self,
        ctx: &Context,
        rdd: &Arc<dyn RddBase>,
        partitions: &[usize],
        job_id: usize,
        group: Option<String>,
        kill: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<Vec<Vec<u8>>> {
        self.active.start(job_id, group, kill);
        struct End<'a>(&'a cancel::ActiveJobs, usize);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                self.0.end(self.1);
            }
        }
        let _end = End(&self.active, job_id);
        self.listeners.job_start(
            job_id,
            format!("{} [{}]", rdd.info().op(), rdd.info().id()),
            partitions.len(),
        );
        let outcome = self.schedule_job_stages(ctx, rdd, partitions, job_id);
        self.listeners.post(|| SchedulerEvent::JobEnd {
            job_id,
            time_ms: now_ms(),
            failure: outcome.as_ref().err().map(|e| e.to_string()),
        });
        outcome
    }

    fn schedule_job_stages(
        &self,
        ctx: &Context,
        rdd: &Arc<dyn RddBase>,
        partitions: &[usize],
        job_id: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let stage_id = self.next_stage.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        tracing::debug!(
            job_id,
            rdd = rdd.info().id(),
            partitions = partitions.len(),
            "job started"
        );
        let mut results: Vec<Option<Vec<u8>>> = (0..partitions.len()).map(|_| None).collect();
        let mut stage_attempt = 0;
        let mut lost_maps: HashSet<(usize, usize)> = HashSet::new();
        let mut repeated_losses = 0;
        loop {
            for dep in parent_shuffles(rdd) {
                self.ensure_shuffle(ctx, job_id, &dep)?;
            }
            let pending: Vec<usize> = (0..partitions.len())
                .filter(|i| results[*i].is_none())
                .collect();
            // A partition asked for twice runs once and fills both places.
            let mut index_of: HashMap<usize, Vec<usize>> = HashMap::new();
            let mut specs: Vec<usize> = Vec::with_capacity(pending.len());
            for &i in &pending {
                let slots = index_of.entry(partitions[i]).or_default();
                if slots.is_empty() {
                    specs.push(partitions[i]);
                }
                slots.push(i);
            }
            let outcome = self.run_stage(
                ctx,
                job_id,
                stage_id,
                stage_attempt,
                rdd,
                task::TaskKind::Result,
                specs,
                &mut |partition, value| {
                    if let Some((&last, rest)) =
                        index_of.get(&partition).and_then(|s| s.split_last())
                    {
                        for &i in rest {
                            results[i] = Some(value.clone());
                        }
                        results[last] = Some(value);
                    }
                },
            );
            match outcome {
                Ok(()) => break,
                Err(StageFailure::Fatal(e)) => return Err(e),
                Err(StageFailure::FetchFailed { shuffle_id, map_id }) => {
                    self.env.map_output_tracker().unregister(shuffle_id, map_id);
                    stage_attempt += 1;
                    // Losing a map output not lost before is progress (several lost
                    // files are found one attempt at a time); losing one again is not.
                    if !lost_maps.insert((shuffle_id, map_id)) {
                        repeated_losses += 1;
                    }
                    if repeated_losses + 1 >= self.max_stage_attempts {
                        return Err(Error::JobAborted {
                            job_id,
                            reason: format!(
                                "stage {stage_id} lost its input (shuffle {shuffle_id}) {stage_attempt} times"
                            ),
                        });
                    }
                    tracing::info!(
                        job_id,
                        stage_id,
                        shuffle_id,
                        map_id,
                        "shuffle output lost; resubmitting"
                    );
                }
            }
        }
        tracing::debug!(
            job_id,
            ms = started.elapsed().as_millis() as u64,
            "job finished"
        );
        Ok(results
            .into_iter()
            .map(|r| r.expect("every partition done"))
            .collect())
    }

    /// Makes sure every map output of `dep` exists, computing parents first.
    fn ensure_shuffle(
        &self,
        ctx: &Context,
        job_id: usize,
        dep: &Arc<dyn ShuffleDependencyBase>,
    ) -> Result<()> {
        let shuffle_id = dep.shuffle_id();
        let lock = self.shuffle_lock(shuffle_id);
        let _guard = lock.lock();
        let stage_id = *self
            .shuffle_stage
            .lock()
            .entry(shuffle_id)
            .or_insert_with(|| self.next_stage.fetch_add(1, Ordering::Relaxed));
        let map_rdd = dep.rdd();
        let num_maps = map_rdd.info().num_partitions();
        let mut stage_attempt = 0;
        let mut lost_maps: HashSet<(usize, usize)> = HashSet::new();
        let mut repeated_losses = 0;
        loop {
            for parent in parent_shuffles(&map_rdd) {
                self.ensure_shuffle(ctx, job_id, &parent)?;
            }
            let tracker = self.env.map_output_tracker();
            let missing = tracker.missing(shuffle_id, num_maps);
            if missing.is_empty() {
                return Ok(());
            }
            tracing::debug!(
                job_id,
                stage_id,
                shuffle_id,
                tasks = missing.len(),
                "running map stage"
            );
            let mut decode_error = None;
            let outcome = self.run_stage(
                ctx,
                job_id,
                stage_id,
                stage_attempt,
                &map_rdd,
                task::TaskKind::ShuffleMap { shuffle_id },
                missing,
                &mut |partition, bytes| match codec::decode::<MapStatus>(&bytes, "map status") {
                    Ok(status) => tracker.register(shuffle_id, num_maps, partition, status),
                    Err(e) => {
                        decode_error.get_or_insert(e);
                    }
                },
            );
            if let Some(e) = decode_error {
                return Err(e);
            }
            match outcome {
                Ok(()) => {}
                Err(StageFailure::Fatal(e)) => return Err(e),
                Err(StageFailure::FetchFailed {
                    shuffle_id: lost,
                    map_id,
                }) => {
                    tracker.unregister(lost, map_id);
                    stage_attempt += 1;
                    if !lost_maps.insert((lost, map_id)) {
                        repeated_losses += 1;
                    }
                    if repeated_losses + 1 >= self.max_stage_attempts {
                        return Err(Error::JobAborted {
                            job_id,
                            reason: format!("map stage {stage_id} lost its input (shuffle {lost}) {stage_attempt} times"),
                        });
                    }
                }
            }
        }
    }

    /// Runs the tasks of one stage attempt, retrying each failed task up to
    /// `spate.task.maxFailures` times. Every task goes to the executor as an encoded
    /// description and comes back as an encoded result.
    #[allow(clippy::too_many_arguments)]
    fn run_stage(
        &self,
        ctx: &Context,
        job_id: usize,
        stage_id: usize,
        stage_attempt: usize,
        rdd: &Arc<dyn RddBase>,
        kind: task::TaskKind,
        partitions: Vec<usize>,
        on_success: &mut dyn FnMut(usize, Vec<u8>),
    ) -> std::result::Result<(), StageFailure> {
        if partitions.is_empty() {
            return Ok(());
        }
        self.listeners.post(|| SchedulerEvent::StageSubmitted {
            stage_id,
            attempt: stage_attempt,
            job_id,
            name: format!("{} [{}]", rdd.info().op(), rdd.info().id()),
            shuffle_map: matches!(kind, task::TaskKind::ShuffleMap { .. }),
            num_tasks: partitions.len(),
            time_ms: now_ms(),
        });
        let outcome = self.run_stage_tasks(
            ctx,
            job_id,
            stage_id,
            stage_attempt,
            rdd,
            kind,
            partitions,
            on_success,
        );
        self.listeners.post(|| SchedulerEvent::StageCompleted {
            stage_id,
            attempt: stage_attempt,
            job_id,
            time_ms: now_ms(),
            failure: match &outcome {
                Ok(()) => None,
                Err(StageFailure::Fatal(e)) => Some(e.to_string()),
                Err(StageFailure::FetchFailed { shuffle_id, map_id }) => Some(format!(
                    "lost the output of map {map_id} of shuffle {shuffle_id}; resubmitted"
                )),
            },
        });
        outcome
    }

    fn post_task_end(
        &self,
        rdd: &Arc<dyn RddBase>,
        desc: &task::TaskDescription,
        result: &task::TaskResult,
        started: std::time::Instant,
        launch_ms: i64,
    ) {
        self.listeners.post(|| {
            let shuffle_write_bytes = match (&desc.kind, &result.outcome) {
                (task::TaskKind::ShuffleMap { .. }, Ok(bytes)) => {
                    codec::decode::<MapStatus>(bytes, "map status")
                        .map(|m| m.nonempty_buckets().map(|(_, n)| n).sum())
                        .unwrap_or(0)
                }
                _ => 0,
            };
            SchedulerEvent::TaskEnd(TaskEnd {
                task_id: desc.task_id,
                job_id: desc.job_id,
                stage_id: desc.stage_id,
                stage_attempt: desc.stage_attempt,
                partition: desc.partition,
                attempt: desc.attempt,
                executor: if result.cached.0.is_empty() {
                    self.executor.id().to_string()
                } else {
                    result.cached.0.clone()
                },
                launch_ms,
                duration_ms: started.elapsed().as_millis() as u64,
                failure: result
                    .outcome
                    .as_ref()
                    .err()
                    .map(|f| f.clone().into_error().to_string()),
                shuffle_write_bytes,
                shuffle_read_bytes: if result.outcome.is_ok() {
                    self.shuffle_read_bytes(rdd, desc.partition)
                } else {
                    0
                },
            })
        });
    }

    /// Bytes a task over `partition` of `rdd` reads from its stage's parent shuffles,
    /// as their map outputs reported.
    fn shuffle_read_bytes(&self, rdd: &Arc<dyn RddBase>, partition: usize) -> u64 {
        let tracker = self.env.map_output_tracker();
        parent_shuffles(rdd)
            .iter()
            .filter_map(|d| tracker.statuses(d.shuffle_id()))
            .map(|s| {
                s.iter()
                    .flatten()
                    .map(|m| m.bucket_bytes(partition))
                    .sum::<u64>()
            })
            .sum()
    }

    #[allow(clippy::too_many_arguments)]
    fn run_stage_tasks(
        &self,
        ctx: &Context,
        job_id: usize,
        stage_id: usize,
        stage_attempt: usize,
        rdd: &Arc<dyn RddBase>,
        kind: task::TaskKind,
        partitions: Vec<usize>,
        on_success: &mut dyn FnMut(usize, Vec<u8>),
    ) -> std::result::Result<(), StageFailure> {
        let job = self.active.get(job_id);
        if let Some(e) = job.as_ref().and_then(|j| j.cancelled()) {
            return Err(StageFailure::Fatal(e));
        }
        let never = crossbeam_channel::never::<()>();
        let woken = job.as_ref().map_or(&never, |j| j.woken());
        let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        let mut running: HashMap<u64, (task::TaskDescription, std::time::Instant, i64)> =
            HashMap::new();
        let listening = !self.listeners.is_empty();
        let mut failures: HashMap<usize, usize> = HashMap::new();
        let (rdd_id, fingerprint) = (rdd.info().id(), rdd.info().fingerprint());
        // Cluster mode: the tasks tell executors where the outputs they read are.
        let cluster = self.env.cluster_link().is_some();
        let map_statuses: Vec<task::ShuffleStatuses> = if cluster {
            parent_shuffles(rdd)
                .iter()
                .map(|d| task::ShuffleStatuses {
                    shuffle_id: d.shuffle_id(),
                    num_maps: d.rdd().info().num_partitions(),
                    statuses: self
                        .env
                        .map_output_tracker()
                        .statuses(d.shuffle_id())
                        .map(|s| s.iter().map(|o| o.as_deref().cloned()).collect())
                        .unwrap_or_default(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let launch =
            |running: &mut HashMap<u64, (task::TaskDescription, std::time::Instant, i64)>,
             partition: usize,
             attempt: usize|
             -> std::result::Result<(), StageFailure> {
                let desc = task::TaskDescription {
                    task_id: self.next_task.fetch_add(1, Ordering::Relaxed),
                    job_id,
                    stage_id,
                    stage_attempt,
                    partition,
                    attempt,
                    rdd_id,
                    fingerprint,
                    kind,
                    map_statuses: map_statuses.clone(),
                };
                let bytes =
                    codec::encode(&desc, "task description").map_err(StageFailure::Fatal)?;
                let task_id = desc.task_id;
                let launched = if listening { now_ms() } else { 0 };
                running.insert(task_id, (desc, std::time::Instant::now(), launched));
                let preferred = if cluster {
                    self.preferred_location(rdd, partition)
                } else {
                    None
                };
                self.executor.launch(
                    task::EncodedTask {
                        task_id,
                        bytes,
                        preferred,
                    },
                    tx.clone(),
                );
                Ok(())
            };
        for &p in &partitions {
            launch(&mut running, p, 0)?;
        }
        let mut outstanding = partitions.len();
        while outstanding > 0 {
            // A cancelled job fails now; its running tasks see their kill flag and end.
            let bytes = crossbeam_channel::select! {
                recv(rx) -> msg => msg.map_err(|_| StageFailure::Fatal(Error::Stopped))?,
                recv(woken) -> _ => {
                    let e = job.as_ref().and_then(|j| j.cancelled()).unwrap_or(Error::Stopped);
                    return Err(StageFailure::Fatal(e));
                }
            };
            let result: task::TaskResult =
                codec::decode(&bytes, "task result").map_err(StageFailure::Fatal)?;
            // Unknown ids are results of attempts this stage did not launch: ignore them.
            let Some((desc, started, launch_ms)) = running.remove(&result.task_id) else {
                continue;
            };
            let partition = desc.partition;
            if listening {
                self.post_task_end(rdd, &desc, &result, started, launch_ms);
            }
            match result.outcome {
                Ok(value) => {
                    outstanding -= 1;
                    for (id, update) in &result.accumulator_updates {
                        if let Err(e) = self.env.merge_accumulator(*id, update) {
                            tracing::warn!(accumulator = id, "accumulator update not merged: {e}");
                        }
                    }
                    if cluster {
                        self.note_cached(result.cached);
                    }
                    on_success(partition, value);
                }
                Err(task::TaskFailure::FetchFailed { shuffle_id, map_id }) => {
                    return Err(StageFailure::FetchFailed { shuffle_id, map_id });
                }
                Err(task::TaskFailure::Stopped) => return Err(StageFailure::Fatal(Error::Stopped)),
                // Killed because the job was cancelled: never retried.
                Err(f @ task::TaskFailure::Killed { .. }) => {
                    let e = job.as_ref().and_then(|j| j.cancelled());
                    return Err(StageFailure::Fatal(e.unwrap_or_else(|| f.into_error())));
                }
                // A program that builds a different graph here will not build the same one
                // on a retry, and an id it does not know will not appear either.
                Err(
                    f @ (task::TaskFailure::LineageMismatch { .. }
                    | task::TaskFailure::Unresolved { .. }),
                ) => return Err(StageFailure::Fatal(f.into_error())),
                Err(f) => {
                    let e = f.into_error();
                    let n = failures.entry(partition).or_insert(0);
                    *n += 1;
                    if *n >= self.max_failures || ctx.is_stopped() {
                        tracing::error!(
                            job_id,
                            stage_id,
                            partition,
                            attempts = *n,
                            "task failed; job aborted: {e}"
                        );
                        return Err(StageFailure::Fatal(Error::JobFailed {
                            job_id,
                            stage_id,
                            partition,
                            attempts: *n,
                            cause: e.to_string(),
                        }));
                    }
                    let n = *n;
                    launch(&mut running, partition, n)?;
                }
            }
        }
        Ok(())
    }
}
