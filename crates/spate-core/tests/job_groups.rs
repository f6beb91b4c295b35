//! Job groups and cancellation: a cancelled group's running jobs fail promptly with
//! `Error::JobCancelled` (their long tasks stop at their next record), other groups and
//! other threads are untouched, and jobs started after the cancel run normally.

use parking_lot::Mutex;
use spate_core::scheduler::{SchedulerEvent, SchedulerListener, JOB_GROUP_PROPERTY};
use spate_core::{Context, Error, TaskContext};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Events(Mutex<Vec<SchedulerEvent>>);

impl SchedulerListener for Events {
    fn on_event(&self, e: &SchedulerEvent) {
        self.0.lock().push(e.clone());
    }
}

/// A job whose tasks would take ~30 s: 2 partitions of 3000 records, 10 ms each.
/// `started` counts records seen so far.
fn slow_count(ctx: &Context, started: Arc<AtomicUsize>) -> spate_core::Result<u64> {
    let data: Vec<u64> = (0..6000).collect();
    ctx.parallelize_with(data, 2)
        .map(move |x| {
            started.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            x
        })
        .count()
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs a slow job in group `group` on a new thread; returns its handle and the record
/// counter (positive once its tasks run).
fn spawn_slow(
    ctx: &Context,
    group: Option<&'static str>,
) -> (
    std::thread::JoinHandle<(spate_core::Result<u64>, Duration)>,
    Arc<AtomicUsize>,
) {
    let seen = Arc::new(AtomicUsize::new(0));
    let (c, s) = (ctx.clone(), seen.clone());
    let h = std::thread::spawn(move || {
        if let Some(g) = group {
            c.set_job_group(g, "a slow job", true);
        }
        let t = Instant::now();
        let r = slow_count(&c, s);
        (r, t.elapsed())
    });
    (h, seen)
}

#[test]
fn cancelling_a_group_fails_its_running_job_promptly_and_stops_its_tasks() {
    let ctx = Context::local(2).unwrap();
    let events = Arc::new(Events::default());
    ctx.scheduler().add_listener(events.clone());
    let (h, seen) = spawn_slow(&ctx, Some("g"));
    wait_until("the job's tasks to start", || {
        seen.load(Ordering::SeqCst) > 0
    });
    let cancelled_at = Instant::now();
    let ids = ctx.cancel_job_group("g");
    assert_eq!(ids.len(), 1, "one running job in the group");
    let (r, _) = h.join().unwrap();
    let returned_after = cancelled_at.elapsed();
    assert!(
        returned_after < Duration::from_secs(2),
        "the job returned {returned_after:?} after the cancel"
    );
    match r {
        Err(Error::JobCancelled { job, group, reason }) => {
            assert_eq!(job, ids[0]);
            assert_eq!(group.as_deref(), Some("g"));
            assert!(reason.contains("\"g\""), "{reason}");
        }
        other => panic!("expected JobCancelled, got {other:?}"),
    }
    let e = Error::JobCancelled {
        job: 3,
        group: Some("g".into()),
        reason: "part of cancelled job group \"g\"".into(),
    };
    assert_eq!(
        e.to_string(),
        "job 3 cancelled: part of cancelled job group \"g\""
    );
    // The running tasks stop at their next record: the count stops growing at once.
    std::thread::sleep(Duration::from_millis(100));
    let after = seen.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(seen.load(Ordering::SeqCst), after, "tasks kept running");
    assert!(
        after < 1000,
        "{after} records computed: the tasks were not stopped"
    );
    // The job's start carried its group, its end the cancellation; no task was retried.
    let ev = events.0.lock().clone();
    let start = ev
        .iter()
        .find_map(|e| match e {
            SchedulerEvent::JobStart(s) if s.job_id == ids[0] => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        start.properties.get(JOB_GROUP_PROPERTY).map(String::as_str),
        Some("g")
    );
    let failure = ev.iter().find_map(|e| match e {
        SchedulerEvent::JobEnd {
            job_id, failure, ..
        } if *job_id == ids[0] => Some(failure.clone()),
        _ => None,
    });
    let failure = failure.flatten().expect("JobEnd with a failure");
    assert!(failure.contains("cancelled"), "{failure}");
    let retried = ev
        .iter()
        .any(|e| matches!(e, SchedulerEvent::TaskEnd(t) if t.job_id == ids[0] && t.attempt > 0));
    assert!(!retried, "a killed task was retried");
}

#[test]
fn queued_tasks_of_a_cancelled_job_do_not_run() {
    // One task thread, 6 partitions: after the cancel, the 5 queued tasks never start.
    let ctx = Context::local(1).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let c = ctx.clone();
    let h = std::thread::spawn(move || {
        c.set_job_group("q", "queued", false);
        c.parallelize_with((0..60).collect::<Vec<u32>>(), 6)
            .map_partitions(move |it| {
                s.fetch_add(1, Ordering::SeqCst);
                it.inspect(|_| std::thread::sleep(Duration::from_millis(50)))
            })
            .count()
    });
    wait_until("the first task", || started.load(Ordering::SeqCst) == 1);
    ctx.cancel_job_group("q");
    assert!(matches!(h.join().unwrap(), Err(Error::JobCancelled { .. })));
    // A job afterwards runs on the freed thread; none of the old tasks ran before it.
    assert_eq!(ctx.parallelize_with(vec![1, 2, 3], 3).count().unwrap(), 3);
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "queued tasks were launched"
    );
}

#[test]
fn cancel_all_jobs_cancels_every_group_and_jobs_without_one() {
    let ctx = Context::local(4).unwrap();
    let (h1, s1) = spawn_slow(&ctx, Some("a"));
    let (h2, s2) = spawn_slow(&ctx, None);
    wait_until("both jobs", || {
        s1.load(Ordering::SeqCst) > 0 && s2.load(Ordering::SeqCst) > 0
    });
    let ids = ctx.cancel_all_jobs();
    assert_eq!(ids.len(), 2);
    for h in [h1, h2] {
        let (r, took) = h.join().unwrap();
        match r {
            Err(Error::JobCancelled { reason, .. }) => {
                assert!(reason.contains("all jobs"), "{reason}")
            }
            other => panic!("expected JobCancelled, got {other:?}"),
        }
        assert!(took < Duration::from_secs(10), "{took:?}");
    }
}

#[test]
fn another_group_is_untouched_and_later_jobs_of_the_group_run() {
    let ctx = Context::local(4).unwrap();
    let (victim, sv) = spawn_slow(&ctx, Some("victim"));
    // The bystander: a short job in another group, started before the cancel and still
    // running after it.
    let c = ctx.clone();
    let go = Arc::new(AtomicUsize::new(0));
    let g = go.clone();
    let bystander = std::thread::spawn(move || {
        c.set_job_group("other", "bystander", true);
        c.parallelize_with((0..40).collect::<Vec<u64>>(), 2)
            .map(move |x| {
                g.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
                x
            })
            .reduce(|a, b| a + b)
    });
    wait_until("both jobs", || {
        sv.load(Ordering::SeqCst) > 0 && go.load(Ordering::SeqCst) > 0
    });
    assert_eq!(ctx.cancel_job_group("victim").len(), 1);
    assert!(ctx.cancel_job_group("nobody").is_empty());
    assert!(matches!(
        victim.join().unwrap().0,
        Err(Error::JobCancelled { .. })
    ));
    assert_eq!(bystander.join().unwrap().unwrap(), (0..40).sum::<u64>());
    // A job of the cancelled group started afterwards runs normally (Spark semantics).
    ctx.set_job_group("victim", "again", true);
    let data: Vec<u64> = (0..1000).collect();
    assert_eq!(
        ctx.parallelize_with(data.clone(), 4)
            .map(|x| x * 2)
            .reduce(|a, b| a + b)
            .unwrap(),
        data.iter().map(|x| x * 2).sum::<u64>()
    );
    ctx.clear_job_group();
    assert_eq!(ctx.job_group(), None);
}

#[test]
fn the_group_is_a_property_of_the_thread_that_set_it() {
    let ctx = Context::local(2).unwrap();
    let events = Arc::new(Events::default());
    ctx.scheduler().add_listener(events.clone());
    ctx.set_job_group("mine", "main thread", false);
    ctx.set_job_description(Some("counting"));
    let c = ctx.clone();
    let other = std::thread::spawn(move || {
        assert_eq!(c.job_group(), None);
        c.parallelize_with(vec![1, 2, 3], 2).count().unwrap()
    });
    assert_eq!(other.join().unwrap(), 3);
    assert_eq!(ctx.parallelize_with(vec![1, 2], 2).count().unwrap(), 2);
    let groups: Vec<Option<String>> = events
        .0
        .lock()
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::JobStart(s) => Some(s.properties.get(JOB_GROUP_PROPERTY).cloned()),
            _ => None,
        })
        .collect();
    assert_eq!(groups, vec![None, Some("mine".to_string())]);
    // Cancelling the group from the other thread's point of view leaves that thread's
    // later jobs alone.
    ctx.cancel_job_group("mine");
    assert_eq!(ctx.parallelize_with(vec![1], 1).count().unwrap(), 1);
    ctx.clear_job_group();
}

#[test]
fn a_long_map_stage_before_a_shuffle_stops_too() {
    // The slow work is in the map stage of a shuffle, over a huge range.
    let ctx = Context::local(2).unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let c = ctx.clone();
    let h = std::thread::spawn(move || {
        c.set_job_group("shuffle", "", true);
        let t = Instant::now();
        let r = c
            .range(0, 2_000_000_000, 1, 2)
            .unwrap()
            .map(move |x| {
                s.fetch_add(1, Ordering::Relaxed);
                (x % 7, 1u64)
            })
            .reduce_by_key(|a, b| a + b)
            .collect();
        (r, t.elapsed())
    });
    wait_until("the map tasks", || seen.load(Ordering::Relaxed) > 1000);
    let t = Instant::now();
    assert_eq!(ctx.cancel_job_group("shuffle").len(), 1);
    let (r, _) = h.join().unwrap();
    assert!(matches!(r, Err(Error::JobCancelled { .. })), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // The map tasks stopped: the thread pool is free for the next job at once.
    let t = Instant::now();
    assert_eq!(
        ctx.parallelize_with(vec![1, 2, 3, 4], 2).count().unwrap(),
        4
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(TaskContext::with_current(|tc| tc.is_none()));
}
