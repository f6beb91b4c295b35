//! What the UI shows, kept as the listeners hear it: streaming batches and receivers (the
//! streaming listener bus) and jobs, stages, tasks and executors (the scheduler's
//! listener), with the retention limits of `spate.ui.retained*`.

use crate::metrics::Metrics;
use parking_lot::Mutex;
use spate_core::scheduler::{
    JobStart, SchedulerEvent, SchedulerListener, TaskEnd, BATCH_TIME_PROPERTY, OUTPUT_OP_PROPERTY,
};
use spate_streaming::{BatchInfo, OutputOperationInfo, ReceiverInfo, StreamingListener};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Most task attempts a stage keeps (the counts keep counting the rest).
pub(crate) const TASKS_PER_STAGE: usize = 1000;
/// Most task attempts kept over all stages (Spark's `spark.ui.retainedTasks`): past it,
/// the oldest stages' task lists are dropped (their counts stay).
const TASKS_RETAINED: usize = 100_000;
/// Most input problems kept.
const INPUT_ERRORS: usize = 100;

/// A receiver as the Streaming page shows it.
#[derive(Debug, Clone)]
pub(crate) struct ReceiverState {
    pub info: ReceiverInfo,
    /// When it last reported an error (ms since the epoch).
    pub last_error_ms: Option<i64>,
}

/// A job and what its stages did.
#[derive(Debug, Clone)]
pub(crate) struct JobRecord {
    pub start: JobStart,
    pub end_ms: Option<i64>,
    pub failure: Option<String>,
    /// `(stage, attempt)` in submission order.
    pub stages: Vec<(usize, usize)>,
}

impl JobRecord {
    /// The streaming batch (ms) and output operation that ran it, if one did.
    pub fn batch_and_op(&self) -> Option<(i64, usize)> {
        let p = &self.start.properties;
        Some((
            p.get(BATCH_TIME_PROPERTY)?.parse().ok()?,
            p.get(OUTPUT_OP_PROPERTY)?.parse().ok()?,
        ))
    }
}

/// One stage attempt.
#[derive(Debug, Clone)]
pub(crate) struct StageRecord {
    pub stage_id: usize,
    pub attempt: usize,
    pub job_id: usize,
    pub name: String,
    pub shuffle_map: bool,
    pub num_tasks: usize,
    pub submitted_ms: i64,
    pub completed_ms: Option<i64>,
    pub failure: Option<String>,
    pub tasks: Vec<TaskEnd>,
    pub completed: u64,
    pub failed: u64,
    pub run_ms: u64,
    pub shuffle_read: u64,
    pub shuffle_write: u64,
}

/// Totals of one executor's tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExecutorRecord {
    pub completed: u64,
    pub failed: u64,
    pub duration_ms: u64,
    pub shuffle_read: u64,
    pub shuffle_write: u64,
    pub last_seen_ms: i64,
}

#[derive(Default)]
pub(crate) struct State {
    /// When the streaming context started, on its clock.
    pub started_ms: Option<i64>,
    /// Batches by time: the active ones and the last `retained` completed.
    pub batches: BTreeMap<i64, BatchInfo>,
    pub completed_batches: u64,
    pub failed_batches: u64,
    pub records: u64,
    /// Sums over completed batches still retained... and all of them, for the averages.
    pub sum_scheduling_ms: i64,
    pub sum_processing_ms: i64,
    pub sum_total_ms: i64,
    pub receivers: BTreeMap<usize, ReceiverState>,
    pub input_errors: VecDeque<spate_streaming::InputErrorInfo>,
    pub jobs: BTreeMap<usize, JobRecord>,
    pub stages: BTreeMap<(usize, usize), StageRecord>,
    pub executors: BTreeMap<String, ExecutorRecord>,
    /// Task attempts held in the stages' lists.
    pub tasks_retained: usize,
}

impl State {
    /// The batches that completed, oldest first.
    pub fn completed(&self) -> impl DoubleEndedIterator<Item = &BatchInfo> {
        self.batches
            .values()
            .filter(|b| b.processing_end_ms.is_some())
    }
}

/// Whether a batch failed: one of its output operations failed, or its inputs did not
/// commit.
pub(crate) fn batch_failure(b: &BatchInfo) -> Option<String> {
    b.output_operations
        .iter()
        .find_map(|o| o.failure.clone())
        .or_else(|| b.commit_failures.first().cloned())
}

/// The UI's data and the listeners that fill it.
pub(crate) struct Store {
    pub state: Mutex<State>,
    pub metrics: Metrics,
    retained_batches: usize,
    retained_jobs: usize,
    /// The batch interval (ms), for input rates.
    pub batch_ms: i64,
}

impl Store {
    pub fn new(retained_batches: usize, retained_jobs: usize, batch_ms: i64) -> Arc<Self> {
        Arc::new(Store {
            state: Mutex::new(State::default()),
            metrics: Metrics::new(),
            retained_batches: retained_batches.max(1),
            retained_jobs: retained_jobs.max(1),
            batch_ms,
        })
    }

    fn put_batch(&self, b: &BatchInfo) {
        self.state.lock().batches.insert(b.batch_time.0, b.clone());
    }

    fn set_op(&self, op: &OutputOperationInfo) {
        let mut s = self.state.lock();
        if let Some(b) = s.batches.get_mut(&op.batch_time.0) {
            if let Some(o) = b.output_operations.iter_mut().find(|o| o.id == op.id) {
                *o = op.clone();
            }
        }
    }

    fn set_receiver(&self, r: &ReceiverInfo, error: bool) {
        let mut s = self.state.lock();
        let entry = s
            .receivers
            .entry(r.stream_id)
            .or_insert_with(|| ReceiverState {
                info: r.clone(),
                last_error_ms: None,
            });
        entry.info = r.clone();
        if error {
            entry.last_error_ms = Some(spate_core::scheduler::now_ms());
        }
        let active = s.receivers.values().filter(|r| r.info.active).count();
        drop(s);
        self.metrics.receivers_active.set(active as i64);
    }

    fn job_end(&self, job_id: usize, time_ms: i64, failure: &Option<String>) {
        let mut s = self.state.lock();
        if let Some(j) = s.jobs.get_mut(&job_id) {
            j.end_ms = Some(time_ms);
            j.failure = failure.clone();
        }
        // Forget the oldest finished jobs (and their stages) past the limit.
        while s.jobs.len() > self.retained_jobs {
            let Some((&oldest, _)) = s.jobs.iter().find(|(_, j)| j.end_ms.is_some()) else {
                break;
            };
            if let Some(j) = s.jobs.remove(&oldest) {
                for k in j.stages {
                    // A map stage another job reused stays while that job is kept.
                    if !s.jobs.values().any(|o| o.stages.contains(&k)) {
                        if let Some(st) = s.stages.remove(&k) {
                            s.tasks_retained -= st.tasks.len();
                        }
                    }
                }
            }
        }
        drop(s);
        self.metrics.job_ended(failure.is_none());
    }

    fn task_end(&self, t: &TaskEnd) {
        let mut s = self.state.lock();
        let ok = t.failure.is_none();
        if let Some(st) = s.stages.get_mut(&(t.stage_id, t.stage_attempt)) {
            if ok {
                st.completed += 1;
            } else {
                st.failed += 1;
            }
            st.run_ms += t.duration_ms;
            st.shuffle_read += t.shuffle_read_bytes;
            st.shuffle_write += t.shuffle_write_bytes;
            if st.tasks.len() < TASKS_PER_STAGE {
                st.tasks.push(t.clone());
                s.tasks_retained += 1;
            }
        }
        if s.tasks_retained > TASKS_RETAINED {
            let State {
                stages,
                tasks_retained,
                ..
            } = &mut *s;
            for st in stages.values_mut() {
                if *tasks_retained <= TASKS_RETAINED * 9 / 10 {
                    break;
                }
                *tasks_retained -= st.tasks.len();
                st.tasks = Vec::new();
            }
        }
        let e = s.executors.entry(t.executor.clone()).or_default();
        if ok {
            e.completed += 1;
        } else {
            e.failed += 1;
        }
        e.duration_ms += t.duration_ms;
        e.shuffle_read += t.shuffle_read_bytes;
        e.shuffle_write += t.shuffle_write_bytes;
        e.last_seen_ms = t.launch_ms + t.duration_ms as i64;
        drop(s);
        self.metrics
            .task_ended(ok, t.shuffle_read_bytes, t.shuffle_write_bytes);
    }
}

/// Listens on the streaming listener bus.
pub(crate) struct StreamingSide(pub Arc<Store>);

impl StreamingListener for StreamingSide {
    fn on_streaming_started(&self, time_ms: i64) {
        self.0.state.lock().started_ms = Some(time_ms);
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.0.put_batch(b);
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.0.put_batch(b);
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        let store = &self.0;
        let failed = batch_failure(b).is_some();
        let mut s = store.state.lock();
        s.batches.insert(b.batch_time.0, b.clone());
        s.completed_batches += 1;
        if failed {
            s.failed_batches += 1;
        }
        s.records += b.num_records;
        s.sum_scheduling_ms += b.scheduling_delay_ms().unwrap_or(0);
        s.sum_processing_ms += b.processing_delay_ms().unwrap_or(0);
        s.sum_total_ms += b.total_delay_ms().unwrap_or(0);
        while s.completed().count() > store.retained_batches {
            let Some(t) = s.completed().next().map(|b| b.batch_time.0) else {
                break;
            };
            s.batches.remove(&t);
        }
        drop(s);
        store.metrics.batch_completed(b, failed);
        store.metrics.input_rates(b, store.batch_ms);
    }
    fn on_output_operation_started(&self, op: &OutputOperationInfo) {
        self.0.set_op(op);
    }
    fn on_output_operation_completed(&self, op: &OutputOperationInfo) {
        self.0.set_op(op);
    }
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        self.0.set_receiver(r, false);
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.0.set_receiver(r, true);
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        self.0.set_receiver(r, false);
    }
    fn on_input_error(&self, e: &spate_streaming::InputErrorInfo) {
        let mut s = self.0.state.lock();
        if s.input_errors.len() >= INPUT_ERRORS {
            s.input_errors.pop_front();
        }
        s.input_errors.push_back(e.clone());
    }
}

/// Listens to the DAG scheduler.
pub(crate) struct SchedulerSide(pub Arc<Store>);

impl SchedulerListener for SchedulerSide {
    fn on_event(&self, event: &SchedulerEvent) {
        let store = &self.0;
        match event {
            SchedulerEvent::JobStart(j) => {
                store.state.lock().jobs.insert(
                    j.job_id,
                    JobRecord {
                        start: j.clone(),
                        end_ms: None,
                        failure: None,
                        stages: Vec::new(),
                    },
                );
            }
            SchedulerEvent::JobEnd {
                job_id,
                time_ms,
                failure,
            } => store.job_end(*job_id, *time_ms, failure),
            SchedulerEvent::StageSubmitted {
                stage_id,
                attempt,
                job_id,
                name,
                shuffle_map,
                num_tasks,
                time_ms,
            } => {
                let mut s = store.state.lock();
                if let Some(j) = s.jobs.get_mut(job_id) {
                    j.stages.push((*stage_id, *attempt));
                }
                s.stages.insert(
                    (*stage_id, *attempt),
                    StageRecord {
                        stage_id: *stage_id,
                        attempt: *attempt,
                        job_id: *job_id,
                        name: name.clone(),
                        shuffle_map: *shuffle_map,
                        num_tasks: *num_tasks,
                        submitted_ms: *time_ms,
                        completed_ms: None,
                        failure: None,
                        tasks: Vec::new(),
                        completed: 0,
                        failed: 0,
                        run_ms: 0,
                        shuffle_read: 0,
                        shuffle_write: 0,
                    },
                );
            }
            SchedulerEvent::StageCompleted {
                stage_id,
                attempt,
                time_ms,
                failure,
                ..
            } => {
                let mut s = store.state.lock();
                if let Some(st) = s.stages.get_mut(&(*stage_id, *attempt)) {
                    st.completed_ms = Some(*time_ms);
                    st.failure = failure.clone();
                }
            }
            SchedulerEvent::TaskEnd(t) => store.task_end(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_lists_are_bounded_and_the_oldest_stages_lose_theirs_first() {
        let store = Store::new(10, 1000, 100);
        let side = SchedulerSide(store.clone());
        let stages = TASKS_RETAINED / TASKS_PER_STAGE + 2;
        for stage_id in 0..stages {
            side.on_event(&SchedulerEvent::StageSubmitted {
                stage_id,
                attempt: 0,
                job_id: 0,
                name: "map [0]".into(),
                shuffle_map: false,
                num_tasks: TASKS_PER_STAGE + 5,
                time_ms: 0,
            });
            for p in 0..TASKS_PER_STAGE + 5 {
                side.on_event(&SchedulerEvent::TaskEnd(TaskEnd {
                    task_id: (stage_id * 10_000 + p) as u64,
                    job_id: 0,
                    stage_id,
                    stage_attempt: 0,
                    partition: p,
                    attempt: 0,
                    executor: "driver".into(),
                    launch_ms: 0,
                    duration_ms: 1,
                    failure: None,
                    shuffle_read_bytes: 0,
                    shuffle_write_bytes: 0,
                }));
            }
        }
        let s = store.state.lock();
        let held: usize = s.stages.values().map(|st| st.tasks.len()).sum();
        assert_eq!(held, s.tasks_retained);
        assert!(held <= TASKS_RETAINED, "{held}");
        assert!(
            s.stages[&(0, 0)].tasks.is_empty(),
            "the oldest stage lost its list"
        );
        let last = &s.stages[&(stages - 1, 0)];
        assert_eq!(
            last.tasks.len(),
            TASKS_PER_STAGE,
            "a stage keeps its first attempts"
        );
        assert!(s
            .stages
            .values()
            .all(|st| st.completed == (TASKS_PER_STAGE + 5) as u64));
        assert_eq!(
            s.executors["driver"].completed,
            (stages * (TASKS_PER_STAGE + 5)) as u64
        );
    }
}
