//! Monitoring: `StatsReportListener` keeps the last N batches and logs their delay
//! distributions; every batch record has each input's count and description
//! (`stream_id_to_input_info`); `spate.streaming.ui.retainedBatches` (and its alias
//! `spate.ui.retainedBatches`) bounds the completed batches kept; a graceful stop gives up
//! after 10 batch intervals when `spate.streaming.gracefulStopTimeout` is unset.

mod support;

use support::*;

/// Log lines written through `tracing`, for the test that checks the listener's report.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let w = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
        logs
    })
    .clone()
}

/// The p-th percentile of `v` by Spark's index rule, as an oracle.
fn oracle(mut v: Vec<i64>) -> Option<(i64, i64, i64, i64, i64)> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    let at = |p: f64| v[(p * (v.len() - 1) as f64) as usize];
    Some((v[0], at(0.25), at(0.5), at(0.75), v[v.len() - 1]))
}

#[test]
fn stats_report_listener_keeps_the_last_batches_and_logs_their_delays() {
    let logs = captured_logs();
    let ssc = StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_millis(100),
        Clock::System,
    )
    .unwrap();
    let stats = Arc::new(StatsReportListener::new(5));
    ssc.add_streaming_listener(stats.clone());
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    let batches: Vec<Option<Vec<u32>>> = (0..40).map(|i| Some(vec![i; 3])).collect();
    ssc.replay_stream(batches, 2).foreach_rdd(move |rdd, _| {
        // Varied processing times: 0, 10, 20 ms.
        let k = c.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(10 * (k % 3) as u64));
        rdd.count()?;
        Ok(())
    });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(20), || stats
        .batch_infos()
        .len()
        == 5
        && n.load(Ordering::SeqCst) >= 8));
    ssc.stop(true, false);
    let kept = stats.batch_infos();
    assert_eq!(kept.len(), 5, "keeps the last 5");
    let all = ssc.completed_batches();
    let last5: Vec<_> = all[all.len() - 5..].iter().map(|b| b.batch_time).collect();
    assert_eq!(kept.iter().map(|b| b.batch_time).collect::<Vec<_>>(), last5);
    let s = stats.stats();
    assert_eq!(s.batches, 5);
    let dist = |d: Option<DelayDistribution>| d.map(|d| (d.min, d.p25, d.p50, d.p75, d.max));
    assert_eq!(
        dist(s.processing),
        oracle(
            kept.iter()
                .filter_map(|b| b.processing_delay_ms())
                .collect()
        )
    );
    assert_eq!(
        dist(s.scheduling),
        oracle(
            kept.iter()
                .filter_map(|b| b.scheduling_delay_ms())
                .collect()
        )
    );
    assert_eq!(
        dist(s.total),
        oracle(kept.iter().filter_map(|b| b.total_delay_ms()).collect())
    );
    let text = String::from_utf8_lossy(&logs.0.lock()).to_string();
    for heading in ["Total delay:", "Processing time:", "Scheduling delay:"] {
        assert!(text.contains(heading), "no {heading} in the log:\n{text}");
    }
    assert!(text.contains("min\t25%\t50%\t75%\tmax"), "{text}");
}

#[test]
fn each_batch_record_has_every_inputs_count_and_description() {
    // Logs are captured by this binary\'s subscriber, installed before any context
    // (a context installs the default logger when the program has none).
    let _ = captured_logs();
    let ssc = support::manual_ssc();
    let a = ssc.replay_stream(vec![Some(vec![1u32, 2, 3]), Some(vec![4])], 2);
    let b = ssc.replay_stream(vec![Some(vec![10u32; 5]), None], 1);
    a.foreach_rdd(|rdd, _| {
        rdd.count()?;
        Ok(())
    });
    b.foreach_rdd(|rdd, _| {
        rdd.count()?;
        Ok(())
    });
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    let done = ssc.completed_batches();
    ssc.stop(true, false);
    assert_eq!(done.len(), 2);
    // By stream id (the two inputs' ids, in the order they were made).
    let counts = |i: usize| -> Vec<(usize, u64, String)> {
        done[i]
            .stream_id_to_input_info()
            .iter()
            .map(|(id, info)| (*id, info.num_records, info.description()))
            .collect()
    };
    let first = counts(0);
    assert_eq!(first.len(), 2, "{first:?}");
    let (ida, idb) = (first[0].0, first[1].0);
    assert_ne!(ida, idb);
    assert_eq!(
        first,
        vec![
            (ida, 3, "replay batch 1".to_string()),
            (idb, 5, "replay batch 1".to_string()),
        ]
    );
    assert_eq!(done[0].num_records, 8);
    assert_eq!(
        counts(1),
        vec![
            (ida, 1, "replay batch 2".to_string()),
            (idb, 0, "replay batch 2 (no RDD)".to_string()),
        ]
    );
}

fn run_batches(extra: &[(&str, &str)], n: usize) -> Result<Vec<i64>> {
    let ssc = StreamingContext::with_clock(
        Context::new(support::conf(extra)).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.replay_stream(vec![Some(vec![1u8])], 1)
        .foreach_rdd(|_, _| Ok(()));
    let started = ssc.start();
    if started.is_ok() {
        ssc.advance_batches(n)?;
    }
    let kept = ssc
        .completed_batches()
        .iter()
        .map(|b| b.batch_time.millis())
        .collect();
    ssc.stop(true, false);
    started.map(|_| kept)
}

#[test]
fn retained_batches_bounds_the_completed_batches_kept() {
    // Logs are captured by this binary\'s subscriber, installed before any context
    // (a context installs the default logger when the program has none).
    let _ = captured_logs();
    assert_eq!(run_batches(&[], 6).unwrap().len(), 6);
    assert_eq!(
        run_batches(&[("spate.streaming.ui.retainedBatches", "3")], 6).unwrap(),
        vec![4000, 5000, 6000]
    );
    // The web UI's key is an alias.
    assert_eq!(
        run_batches(&[("spate.ui.retainedBatches", "2")], 6).unwrap(),
        vec![5000, 6000]
    );
    assert_eq!(
        run_batches(
            &[
                ("spate.ui.retainedBatches", "2"),
                ("spate.streaming.ui.retainedBatches", "2")
            ],
            4
        )
        .unwrap(),
        vec![3000, 4000]
    );
    let e = run_batches(
        &[
            ("spate.ui.retainedBatches", "2"),
            ("spate.streaming.ui.retainedBatches", "5"),
        ],
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("spate.streaming.ui.retainedBatches") && e.contains("spate.ui.retainedBatches"),
        "{e}"
    );
    assert_eq!(
        retained_batches(&SpateConf::new()).unwrap(),
        DEFAULT_RETAINED_BATCHES
    );
}

#[test]
fn a_graceful_stop_gives_up_after_ten_batch_intervals_by_default() {
    // Logs are captured by this binary\'s subscriber, installed before any context
    // (a context installs the default logger when the program has none).
    let _ = captured_logs();
    // No spate.streaming.gracefulStopTimeout: 10 × 60 ms = 600 ms.
    let ssc = support::system_ssc(60, &[]);
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (e, r) = (entered.clone(), release.clone());
    let batches: Vec<Option<Vec<u32>>> = (0..1000).map(|i| Some(vec![i])).collect();
    ssc.replay_stream(batches, 1).foreach_rdd(move |rdd, _| {
        rdd.count()?;
        e.store(true, Ordering::SeqCst);
        while !r.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(10), || entered.load(Ordering::SeqCst)));
    let s = ssc.clone();
    let t = Instant::now();
    let returned = within(Duration::from_secs(20), move || s.stop(false, true));
    let took = t.elapsed();
    release.store(true, Ordering::SeqCst);
    assert!(returned.is_some(), "graceful stop did not return in 20 s");
    // 600 ms of graceful wait, then the 2 s a non-graceful stop gives running jobs.
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(!ssc.abandoned_batches().is_empty());
    ssc.ctx().stop();
}

#[derive(Default)]
struct JobProps(Mutex<Vec<std::collections::BTreeMap<String, String>>>);

impl spate_core::scheduler::SchedulerListener for JobProps {
    fn on_event(&self, e: &spate_core::scheduler::SchedulerEvent) {
        if let spate_core::scheduler::SchedulerEvent::JobStart(s) = e {
            self.0.lock().push(s.properties.clone());
        }
    }
}

#[test]
fn output_jobs_run_in_the_job_group_of_the_thread_that_started_the_context() {
    // Logs are captured by this binary\'s subscriber, installed before any context
    // (a context installs the default logger when the program has none).
    let _ = captured_logs();
    use spate_core::scheduler::{BATCH_TIME_PROPERTY, JOB_GROUP_PROPERTY};
    let ssc = support::manual_ssc();
    let props = Arc::new(JobProps::default());
    ssc.ctx().scheduler().add_listener(props.clone());
    ssc.replay_stream(vec![Some(vec![1u32, 2]), Some(vec![3])], 1)
        .foreach_rdd(|rdd, _| {
            rdd.count()?;
            Ok(())
        });
    ssc.ctx()
        .set_job_group("streaming", "the streaming jobs", false);
    ssc.start().unwrap();
    ssc.ctx().clear_job_group();
    ssc.advance_batches(2).unwrap();
    ssc.stop(true, false);
    let seen = props.0.lock().clone();
    let batches: Vec<(Option<&str>, Option<&str>)> = seen
        .iter()
        .map(|p| {
            (
                p.get(JOB_GROUP_PROPERTY).map(String::as_str),
                p.get(BATCH_TIME_PROPERTY).map(String::as_str),
            )
        })
        .collect();
    assert!(
        batches.contains(&(Some("streaming"), Some("1000")))
            && batches.contains(&(Some("streaming"), Some("2000"))),
        "{batches:?}"
    );
    assert!(
        batches.iter().all(|(g, _)| *g == Some("streaming")),
        "{batches:?}"
    );
}

#[test]
fn cancelling_the_group_of_a_started_context_fails_its_running_batch() {
    // Logs are captured by this binary\'s subscriber, installed before any context
    // (a context installs the default logger when the program has none).
    let _ = captured_logs();
    let ssc = support::system_ssc(200, &[]);
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    ssc.replay_stream(vec![Some((0..100_000u32).collect::<Vec<_>>())], 2)
        .map(move |x| {
            s.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            x
        })
        .foreach_rdd(|rdd, _| {
            rdd.count()?;
            Ok(())
        });
    ssc.ctx().set_job_group("slow-stream", "", true);
    ssc.start().unwrap();
    ssc.ctx().clear_job_group();
    assert!(wait_until(Duration::from_secs(10), || seen
        .load(Ordering::SeqCst)
        > 0));
    let t = Instant::now();
    assert_eq!(ssc.ctx().cancel_job_group("slow-stream").len(), 1);
    let e = ssc.await_termination().unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(e.contains("cancelled") && e.contains("slow-stream"), "{e}");
    ssc.stop(true, false);
}
