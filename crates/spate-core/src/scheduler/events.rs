//! What the DAG scheduler tells listeners (a part of Spark's `SparkListener`): jobs,
//! stages and tasks as they start and end, with the thread's local properties (Spark's
//! `setLocalProperty`) so a job can be traced to the streaming batch and output operation
//! that ran it. The web UI, the metrics and tests listen here.

use parking_lot::RwLock;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// The local property naming the streaming batch (its time in ms) a job ran for.
pub const BATCH_TIME_PROPERTY: &str = "spate.streaming.batchTime";
/// The local property naming the output operation (its index) a job ran for.
pub const OUTPUT_OP_PROPERTY: &str = "spate.streaming.outputOpId";

/// The local property naming the thread's job group (Spark's `spark.jobGroup.id`), set by
/// [`crate::Context::set_job_group`].
pub const JOB_GROUP_PROPERTY: &str = "spate.jobGroup.id";
/// The local property describing the thread's jobs (Spark's `spark.job.description`).
pub const JOB_DESCRIPTION_PROPERTY: &str = "spate.job.description";
/// The local property recording `interrupt_on_cancel` of the thread's job group (Spark's
/// `spark.job.interruptOnCancel`).
pub const JOB_INTERRUPT_ON_CANCEL_PROPERTY: &str = "spate.job.interruptOnCancel";

thread_local! {
    static LOCAL_PROPERTIES: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// Sets a property of this thread that every job it starts carries (Spark's
/// `SparkContext.setLocalProperty`); `None` removes it.
pub fn set_local_property(key: &str, value: Option<&str>) {
    LOCAL_PROPERTIES.with(|p| {
        let mut p = p.borrow_mut();
        match value {
            Some(v) => p.insert(key.to_string(), v.to_string()),
            None => p.remove(key),
        };
    });
}

/// The value of this thread's local property `key`.
pub fn local_property(key: &str) -> Option<String> {
    LOCAL_PROPERTIES.with(|p| p.borrow().get(key).cloned())
}

/// Runs `f` with the given local properties set, restoring the previous values after
/// (also when `f` panics).
pub fn with_local_properties<R>(props: &[(&str, String)], f: impl FnOnce() -> R) -> R {
    struct Restore(Vec<(String, Option<String>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            for (k, v) in self.0.drain(..) {
                set_local_property(&k, v.as_deref());
            }
        }
    }
    let saved = props
        .iter()
        .map(|(k, _)| (k.to_string(), local_property(k)))
        .collect();
    let _restore = Restore(saved);
    for (k, v) in props {
        set_local_property(k, Some(v));
    }
    f()
}

/// All of this thread's local properties (Spark's `getLocalProperties`).
pub fn local_properties() -> BTreeMap<String, String> {
    LOCAL_PROPERTIES.with(|p| p.borrow().clone())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A job started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStart {
    /// The job's id.
    pub job_id: usize,
    /// When (ms since the epoch).
    pub time_ms: i64,
    /// The operation of the RDD it computes (`map`, `reduce_by_key`, ...) and its id.
    pub rdd: String,
    /// How many partitions its final stage computes.
    pub num_partitions: usize,
    /// The local properties of the thread that started it.
    pub properties: BTreeMap<String, String>,
}

/// What the scheduler did, in the order it did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerEvent {
    /// A job started.
    JobStart(JobStart),
    /// A job ended.
    JobEnd {
        /// The job's id.
        job_id: usize,
        /// When (ms since the epoch).
        time_ms: i64,
        /// Why it failed, if it did.
        failure: Option<String>,
    },
    /// A stage attempt was submitted.
    StageSubmitted {
        /// The stage.
        stage_id: usize,
        /// Its attempt (0 first).
        attempt: usize,
        /// The job that submitted it.
        job_id: usize,
        /// Its RDD's operation and id.
        name: String,
        /// Whether it writes shuffle output (a map stage) or computes the job's result.
        shuffle_map: bool,
        /// Tasks it runs (partitions missing).
        num_tasks: usize,
        /// When (ms since the epoch).
        time_ms: i64,
    },
    /// A stage attempt ended.
    StageCompleted {
        /// The stage.
        stage_id: usize,
        /// Its attempt.
        attempt: usize,
        /// The job that submitted it.
        job_id: usize,
        /// When (ms since the epoch).
        time_ms: i64,
        /// Why it failed (its tasks failed too often, or it lost its input), if it did.
        failure: Option<String>,
    },
    /// A task attempt ended.
    TaskEnd(TaskEnd),
}

/// A task attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEnd {
    /// The attempt's id.
    pub task_id: u64,
    /// Its job.
    pub job_id: usize,
    /// Its stage and stage attempt.
    pub stage_id: usize,
    /// The stage attempt.
    pub stage_attempt: usize,
    /// The partition it computed.
    pub partition: usize,
    /// Its attempt number for that partition (0 first).
    pub attempt: usize,
    /// The executor that ran it (`driver` in local mode), when it reported.
    pub executor: String,
    /// When it was launched (ms since the epoch).
    pub launch_ms: i64,
    /// From launch to its result reaching the scheduler (ms).
    pub duration_ms: u64,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// Bytes of shuffle output it wrote (map tasks).
    pub shuffle_write_bytes: u64,
    /// Bytes of shuffle output it read: its buckets' sizes as the map outputs reported.
    pub shuffle_read_bytes: u64,
}

/// Hears the scheduler's events (Spark's `SparkListener`, for jobs, stages and tasks).
/// Called on the scheduler's thread as things happen: keep it quick (a listener that
/// needs time should queue the event). A panic is caught and logged.
pub trait SchedulerListener: Send + Sync + 'static {
    /// One event.
    fn on_event(&self, event: &SchedulerEvent);
}

/// The listeners of one context.
#[derive(Default)]
pub(crate) struct Listeners {
    list: RwLock<Vec<Arc<dyn SchedulerListener>>>,
}

impl Listeners {
    pub(crate) fn add(&self, l: Arc<dyn SchedulerListener>) {
        self.list.write().push(l);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.read().is_empty()
    }

    /// Builds the event only when someone listens.
    pub(crate) fn post(&self, make: impl FnOnce() -> SchedulerEvent) {
        let list = self.list.read();
        if list.is_empty() {
            return;
        }
        let event = make();
        for l in list.iter() {
            if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(|| l.on_event(&event))) {
                tracing::warn!(
                    "a scheduler listener panicked: {}",
                    super::panic_message(p.as_ref())
                );
            }
        }
    }

    pub(crate) fn job_start(&self, job_id: usize, rdd: String, num_partitions: usize) {
        self.post(|| {
            SchedulerEvent::JobStart(JobStart {
                job_id,
                time_ms: now_ms(),
                rdd,
                num_partitions,
                properties: local_properties(),
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_properties_are_restored_after_a_panic() {
        set_local_property("k", Some("outer"));
        let r = std::panic::catch_unwind(|| {
            with_local_properties(&[("k", "inner".into()), ("j", "x".into())], || {
                assert_eq!(local_property("k").as_deref(), Some("inner"));
                panic!("boom")
            })
        });
        assert!(r.is_err());
        assert_eq!(local_property("k").as_deref(), Some("outer"));
        assert_eq!(local_property("j"), None);
        set_local_property("k", None);
        assert_eq!(local_property("k"), None);
    }
}
