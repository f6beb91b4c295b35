//! `spate.streaming.outputFailure`: what a batch whose output operation failed leads to.
//! `stop` (the default) stops the context with the batch pending in the checkpoint, and a
//! recovered run runs it again; `retry` runs the failed output again up to
//! `spate.streaming.outputFailure.retries` times, then stops; `skip` reports it and goes on
//! with the batch counted as done.

mod support;

use std::collections::BTreeSet;
use support::*;

/// A replay of batches 1..=6 (batch k holds `k`) whose output fails while `fail` says so
/// for the batch; every run of the output is logged as (batch ms, ok).
fn program(
    ck: &Path,
    policy: Option<&str>,
    clock_ms: i64,
    fail: Arc<dyn Fn(i64) -> bool + Send + Sync>,
    runs: Arc<Mutex<Vec<(i64, bool)>>>,
) -> spate_streaming::Result<StreamingContext> {
    let mut extra = vec![("spate.streaming.outputFailure.retries", "2")];
    if let Some(p) = policy {
        extra.push(("spate.streaming.outputFailure", p));
    }
    let ssc = StreamingContext::with_clock(
        Context::new(conf(&extra))?,
        Duration::from_secs(1),
        Clock::manual_at(clock_ms),
    )?;
    let s = ssc.replay_stream((1..=6).map(|k| Some(vec![k as i64])).collect(), 1);
    s.foreach_rdd(move |rdd, t| {
        let _ = rdd.collect()?;
        let failing = fail(t.millis());
        runs.lock().push((t.millis(), !failing));
        if failing {
            return Err(format!("output refused batch {}", t.millis()).into());
        }
        Ok(())
    });
    ssc.checkpoint(ck)?;
    Ok(ssc)
}

fn wait_stopped(ssc: &StreamingContext) {
    assert!(
        wait_until(Duration::from_secs(10), || ssc.state() == State::Stopped),
        "the context did not stop"
    );
}

#[test]
fn stop_by_default_leaves_the_batch_pending_and_a_recovered_run_runs_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let runs: Arc<Mutex<Vec<(i64, bool)>>> = Default::default();
    let ssc = StreamingContext::get_or_create(&ck, || {
        program(&ck, None, 0, Arc::new(|t| t == 3000), runs.clone())
    })
    .unwrap();
    ssc.start().unwrap();
    let err = ssc.advance_batches(5).expect_err("batch 3 fails");
    assert!(
        err.to_string().contains("output refused batch 3000"),
        "{err}"
    );
    wait_stopped(&ssc);
    // The failure first, then the stop.
    let first = ssc
        .await_termination()
        .expect_err("the failure is reported");
    assert!(first.to_string().contains("3000"), "{first}");
    assert!(ssc.await_termination().is_ok());
    assert_eq!(
        *runs.lock(),
        vec![(1000, true), (2000, true), (3000, false)],
        "no batch after the failed one runs"
    );
    let latest = ssc.latest_checkpoint().unwrap().unwrap();
    assert!(latest.pending_ms.contains(&3000), "{:?}", latest.pending_ms);

    // The program is fixed and started again: batch 3 runs first, then the rest.
    let runs2: Arc<Mutex<Vec<(i64, bool)>>> = Default::default();
    let ssc = StreamingContext::get_or_create(&ck, || {
        program(&ck, None, 3000, Arc::new(|_| false), runs2.clone())
    })
    .unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    ssc.stop(true, true);
    assert_eq!(
        *runs2.lock(),
        vec![(3000, true), (4000, true), (5000, true), (6000, true)]
    );
}

#[test]
fn retry_runs_the_failed_output_again_then_stops_when_attempts_are_spent() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    // Batch 2 fails twice, then succeeds: two retries are enough.
    let tries = Arc::new(AtomicUsize::new(0));
    let t2 = tries.clone();
    let runs: Arc<Mutex<Vec<(i64, bool)>>> = Default::default();
    let ssc = program(
        &ck,
        Some("retry"),
        0,
        Arc::new(move |t| t == 2000 && t2.fetch_add(1, Ordering::SeqCst) < 2),
        runs.clone(),
    )
    .unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    assert_eq!(ssc.state(), State::Active);
    assert_eq!(
        *runs.lock(),
        vec![
            (1000, true),
            (2000, false),
            (2000, false),
            (2000, true),
            (3000, true)
        ]
    );
    let b2 = ssc
        .completed_batches()
        .into_iter()
        .find(|b| b.batch_time.millis() == 2000)
        .unwrap();
    assert!(
        b2.output_operations.iter().all(|o| o.failure.is_none()),
        "{b2:?}"
    );
    ssc.stop(true, true);

    // Always failing: 1 run + 2 retries, then the context stops, the batch pending.
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let runs: Arc<Mutex<Vec<(i64, bool)>>> = Default::default();
    let ssc = program(&ck, Some("retry"), 0, Arc::new(|t| t == 2000), runs.clone()).unwrap();
    ssc.start().unwrap();
    assert!(ssc.advance_batches(4).is_err());
    wait_stopped(&ssc);
    assert_eq!(
        *runs.lock(),
        vec![(1000, true), (2000, false), (2000, false), (2000, false)]
    );
    let latest = ssc.latest_checkpoint().unwrap().unwrap();
    assert!(latest.pending_ms.contains(&2000), "{:?}", latest.pending_ms);
}

#[test]
fn skip_reports_the_failure_and_goes_on_with_the_batch_done() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let runs: Arc<Mutex<Vec<(i64, bool)>>> = Default::default();
    let ssc = program(&ck, Some("skip"), 0, Arc::new(|t| t == 3000), runs.clone()).unwrap();
    ssc.start().unwrap();
    assert!(ssc.advance_batches(5).is_err());
    assert_eq!(ssc.state(), State::Active);
    let done: BTreeSet<i64> = runs.lock().iter().map(|(t, _)| *t).collect();
    assert_eq!(done, (1..=5).map(|k| k * 1000).collect());
    let err = ssc.await_termination_or_timeout(Duration::from_millis(10));
    assert!(err.is_err(), "the failure is reported once");
    assert!(matches!(
        ssc.await_termination_or_timeout(Duration::from_millis(10)),
        Ok(false)
    ));
    let latest = ssc.latest_checkpoint().unwrap().unwrap();
    assert!(latest.pending_ms.is_empty(), "{:?}", latest.pending_ms);
    ssc.stop(true, true);
}

#[test]
fn an_unknown_policy_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = program(
        &dir.path().join("ck"),
        Some("ignore"),
        0,
        Arc::new(|_| false),
        Default::default(),
    )
    .unwrap();
    let err = ssc.start().expect_err("unknown policy");
    assert!(
        err.to_string().contains("spate.streaming.outputFailure")
            && err.to_string().contains("stop, retry or skip"),
        "{err}"
    );
}
