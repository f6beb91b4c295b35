//! Hangs and odd settings (issue 7, items 7, 9 and 13): a graceful stop with an output that
//! never returns ends after `spate.streaming.gracefulStopTimeout` and names the batch it
//! abandoned; a block interval outside [1 ms, batch interval] is refused at start; a job
//! that falls behind says so.

mod support;

use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{conf, system_ssc, wait_until, within};

/// Stores one record every 5 ms until stopped.
struct Ticker;

impl Receiver<u32> for Ticker {
    fn on_start(&mut self, handle: ReceiverHandle<u32>) {
        std::thread::spawn(move || {
            let mut i = 0;
            while !handle.is_stopped() {
                if handle.store(i).is_err() {
                    break;
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }
    fn on_stop(&mut self) {}
}

#[test]
fn a_graceful_stop_gives_up_on_a_hung_output_after_its_timeout_and_names_the_batch() {
    let ssc = system_ssc(100, &[("spate.streaming.gracefulStopTimeout", "500ms")]);
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (e, r) = (entered.clone(), release.clone());
    ssc.receiver_stream(Ticker).foreach_rdd(move |rdd, _| {
        rdd.count()?;
        e.store(true, Ordering::SeqCst);
        // Blocks "forever": until the test lets it go, after the stop has returned.
        while !r.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(10), || entered.load(Ordering::SeqCst)));
    let s = ssc.clone();
    let t = Instant::now();
    let returned = within(Duration::from_secs(20), move || s.stop(true, true));
    let took = t.elapsed();
    release.store(true, Ordering::SeqCst);
    assert!(returned.is_some(), "graceful stop did not return in 20 s");
    // 500 ms of graceful wait (plus the drain of the stopped receiver), then the 2 s a
    // non-graceful stop gives running jobs.
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(ssc.state(), State::Stopped);
    let abandoned = ssc.abandoned_batches();
    assert!(!abandoned.is_empty(), "no batch reported abandoned");
    // The hung batch is the first one that ran: the oldest abandoned.
    assert!(abandoned.windows(2).all(|w| w[0].millis() < w[1].millis()));
}

#[test]
fn a_graceful_stop_that_finishes_in_time_abandons_nothing() {
    let ssc = system_ssc(50, &[("spate.streaming.gracefulStopTimeout", "5s")]);
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    ssc.receiver_stream(Ticker).foreach_rdd(move |rdd, _| {
        c.fetch_add(rdd.count()? as usize, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(10), || n
        .load(Ordering::SeqCst)
        > 5));
    ssc.stop(true, true);
    assert!(ssc.abandoned_batches().is_empty());
}

#[test]
fn a_block_interval_outside_one_ms_to_the_batch_interval_is_refused_at_start() {
    for (value, batch_ms, why) in [
        ("0", 100, "at least 1 ms"),
        ("0ms", 100, "at least 1 ms"),
        ("1h", 100, "must not exceed the batch interval"),
        ("200ms", 100, "must not exceed the batch interval"),
    ] {
        let ssc = StreamingContext::new(
            conf(&[("spate.streaming.blockInterval", value)]),
            Duration::from_millis(batch_ms),
        )
        .unwrap();
        ssc.receiver_stream(Ticker).foreach_rdd(|_, _| Ok(()));
        let e = ssc.start().unwrap_err();
        assert!(matches!(e, Error::InvalidDuration { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("spate.streaming.blockInterval")
                && msg.contains(&format!("`{value}`"))
                && msg.contains(why),
            "{msg}"
        );
        assert_eq!(ssc.state(), State::Initialized);
        ssc.stop(true, false);
    }
    // In range: accepted. The default (200 ms) is cut to a shorter batch interval.
    for extra in [&[("spate.streaming.blockInterval", "1ms")][..], &[]] {
        let mut c = spate_core::SpateConf::new().master("local[2]").unwrap();
        for (k, v) in extra {
            c = c.set(k, *v).unwrap();
        }
        let ssc = StreamingContext::new(c, Duration::from_millis(50)).unwrap();
        let n = Arc::new(AtomicUsize::new(0));
        let cn = n.clone();
        ssc.receiver_stream(Ticker).foreach_rdd(move |rdd, _| {
            cn.fetch_add(rdd.count()? as usize, Ordering::SeqCst);
            Ok(())
        });
        ssc.start().unwrap();
        assert!(wait_until(Duration::from_secs(10), || n
            .load(Ordering::SeqCst)
            > 3));
        ssc.stop(true, false);
    }
}

#[test]
fn a_job_that_falls_behind_is_warned_about_once_per_interval() {
    let ssc = system_ssc(100, &[]);
    let batches = Arc::new(AtomicUsize::new(0));
    let b = batches.clone();
    // Each batch takes 300 ms on the system clock: three intervals' worth of work per
    // interval, so the scheduling delay grows by 200 ms a batch.
    ssc.receiver_stream(Ticker).foreach_rdd(move |rdd, _| {
        rdd.count()?;
        std::thread::sleep(Duration::from_millis(300));
        b.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || ssc.behind_warnings() >= 1),
        "no falling-behind warning after {} batches",
        batches.load(Ordering::SeqCst)
    );
    // Rate limited: more batches fall behind, but one warning per 10 s.
    let seen = batches.load(Ordering::SeqCst);
    assert!(wait_until(Duration::from_secs(10), || batches
        .load(Ordering::SeqCst)
        >= seen + 3));
    assert_eq!(ssc.behind_warnings(), 1);
    ssc.stop(true, false);
    let completed = ssc.completed_batches();
    let late = completed
        .iter()
        .filter(|b| b.scheduling_delay_ms().unwrap_or(0) > 3 * ssc.batch_ms())
        .count();
    assert!(late >= 2, "{late} late batches");
}

#[test]
fn a_job_that_keeps_up_is_not_warned_about() {
    let ssc = system_ssc(100, &[]);
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    ssc.receiver_stream(Ticker).foreach_rdd(move |rdd, _| {
        rdd.count()?;
        c.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(10), || n
        .load(Ordering::SeqCst)
        >= 8));
    ssc.stop(true, false);
    assert_eq!(ssc.behind_warnings(), 0);
}
