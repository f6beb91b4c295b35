//! The scheduler's listener events: a job with a shuffle and a task that fails once.

use parking_lot::Mutex;
use spate_core::scheduler::{with_local_properties, SchedulerEvent, SchedulerListener};
use spate_core::{Context, TaskContext};
use std::sync::Arc;

#[derive(Default)]
struct Events(Mutex<Vec<SchedulerEvent>>);

impl SchedulerListener for Events {
    fn on_event(&self, e: &SchedulerEvent) {
        self.0.lock().push(e.clone());
    }
}

#[test]
fn jobs_stages_and_tasks_are_reported_in_order_with_failures_and_shuffle_bytes() {
    let ctx = Context::local(2).unwrap();
    let events = Arc::new(Events::default());
    ctx.scheduler().add_listener(events.clone());
    let data: Vec<(u32, u64)> = (0..1000).map(|i| (i % 10, 1)).collect();
    let counts = ctx
        .parallelize_with(data, 4)
        .map(|(k, v)| {
            // Partition 1's first attempt fails; its retry succeeds.
            let first = TaskContext::with_current(|tc| {
                tc.is_some_and(|t| t.partition() == 1 && t.attempt_number() == 0)
            });
            assert!(!first, "first attempt fails");
            (k, v)
        })
        .reduce_by_key(|a, b| a + b);
    let out = with_local_properties(&[("spate.streaming.batchTime", "1000".into())], || {
        counts.collect().unwrap()
    });
    assert_eq!(out.iter().map(|(_, v)| v).sum::<u64>(), 1000);

    let ev = events.0.lock().clone();
    let SchedulerEvent::JobStart(start) = &ev[0] else {
        panic!("first event: {:?}", ev[0])
    };
    assert_eq!(
        start
            .properties
            .get("spate.streaming.batchTime")
            .map(String::as_str),
        Some("1000")
    );
    assert!(
        matches!(ev.last(), Some(SchedulerEvent::JobEnd { job_id, failure: None, .. }) if *job_id == start.job_id)
    );
    let tasks: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::TaskEnd(t) => Some(t),
            _ => None,
        })
        .collect();
    let failed: Vec<_> = tasks.iter().filter(|t| t.failure.is_some()).collect();
    assert_eq!(failed.len(), 1, "{tasks:?}");
    assert_eq!((failed[0].partition, failed[0].attempt), (1, 0));
    assert!(failed[0]
        .failure
        .as_deref()
        .unwrap()
        .contains("first attempt fails"));
    let written: u64 = tasks.iter().map(|t| t.shuffle_write_bytes).sum();
    let read: u64 = tasks.iter().map(|t| t.shuffle_read_bytes).sum();
    assert!(written > 0);
    assert_eq!(
        written, read,
        "the reduce side reads what the map side wrote"
    );
    // Each stage's tasks end between its submission and its completion.
    let mut open = std::collections::HashSet::new();
    let mut stages = 0;
    for e in &ev {
        match e {
            SchedulerEvent::StageSubmitted {
                stage_id,
                num_tasks,
                ..
            } => {
                assert_eq!(*num_tasks, 4);
                open.insert(*stage_id);
                stages += 1;
            }
            SchedulerEvent::TaskEnd(t) => assert!(open.contains(&t.stage_id)),
            SchedulerEvent::StageCompleted {
                stage_id, failure, ..
            } => {
                assert!(failure.is_none());
                assert!(open.remove(stage_id));
            }
            _ => {}
        }
    }
    assert_eq!(stages, 2, "a map stage and a result stage");
    assert_eq!(tasks.len(), 9, "8 tasks and one retry");
}
