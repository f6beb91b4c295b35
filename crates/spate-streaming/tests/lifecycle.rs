//! The streaming context's lifecycle: `start` (twice, from two threads at once, again after
//! a start refused for want of a checkpoint directory), `stop` graceful or not (from inside
//! an output, while a job never ends, while a receiver still stores, behind a slow batch),
//! `await_termination` and `await_termination_or_timeout`, and a second streaming context
//! on the core context of a stopped one.

mod support;

use support::manual_ssc as ssc;
use support::*;

fn conf() -> SpateConf {
    support::local2("lifecycle")
}

#[test]
fn stop_without_graceful_from_inside_foreach_rdd_returns() {
    let r = within(Duration::from_secs(20), || {
        let ssc = ssc();
        let s = ssc.replay_stream(vec![Some(vec![1, 2, 3]), Some(vec![4])], 2);
        let me = ssc.clone();
        let seen = Arc::new(AtomicUsize::new(0));
        let c = seen.clone();
        s.foreach_rdd(move |rdd, _| {
            rdd.count()?;
            c.fetch_add(1, Ordering::SeqCst);
            me.stop(false, false);
            Ok(())
        });
        ssc.start().unwrap();
        ssc.advance_batches(1).unwrap();
        // After the stop, advancing is refused or does nothing.
        let _ = ssc.advance_batches(3);
        assert_eq!(ssc.state(), spate_streaming::State::Stopped);
        ssc.await_termination().unwrap();
        seen.load(Ordering::SeqCst)
    });
    assert_eq!(
        r,
        Some(1),
        "stop(false) inside foreach_rdd hung or ran more batches"
    );
}

#[test]
fn graceful_stop_from_inside_foreach_rdd_with_a_receiver_returns() {
    let r = within(Duration::from_secs(20), || {
        let ctx =
            Context::new(conf().set("spate.streaming.blockInterval", "10ms").unwrap()).unwrap();
        let ssc = support::manual_over(ctx);
        let s = ssc.receiver_stream(Ticks(None));
        let me = ssc.clone();
        let stopped = Arc::new(AtomicBool::new(false));
        let st = stopped.clone();
        s.foreach_rdd(move |rdd, _| {
            rdd.count()?;
            if !st.swap(true, Ordering::SeqCst) {
                // The receiver is still storing: there is pending data to drain.
                me.stop(false, true);
            }
            Ok(())
        });
        ssc.start().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        ssc.advance_batches(1).unwrap();
        ssc.state()
    });
    assert!(
        r.is_some(),
        "stop(_, graceful) called from a foreach_rdd never returned: drain_inputs runs the \
         next batch and waits for it on the only job thread, which is the caller"
    );
}

#[test]
fn non_graceful_stop_returns_while_a_job_never_ends() {
    let ssc = StreamingContext::new(conf(), Duration::from_millis(100)).unwrap();
    let s = ssc.replay_stream(vec![Some(vec![1])], 1);
    let release = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let (rel, sta) = (release.clone(), started.clone());
    s.foreach_rdd(move |_, _| {
        sta.store(true, Ordering::SeqCst);
        while !rel.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    });
    ssc.start().unwrap();
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s2 = ssc.clone();
    let returned = within(Duration::from_secs(10), move || s2.stop(false, false)).is_some();
    release.store(true, Ordering::SeqCst);
    assert!(
        returned,
        "stop(stop_context=false, graceful=false) blocked for 10 s joining a worker whose \
         job never ends"
    );
}

#[test]
fn start_twice_and_stop_before_start() {
    let ssc = ssc();
    let s = ssc.replay_stream(vec![Some(vec![1])], 1);
    let out = collect(&s);
    ssc.start().unwrap();
    assert!(ssc.start().is_err());
    ssc.advance_batches(1).unwrap();
    ssc.stop(false, false);
    assert!(ssc.start().is_err());
    assert_eq!(out.lock().len(), 1);

    let ssc = ssc_fresh();
    let s = ssc.replay_stream(vec![Some(vec![1])], 1);
    let _ = collect(&s);
    ssc.stop(false, true);
    assert!(ssc.start().is_err());
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
}

fn ssc_fresh() -> StreamingContext {
    ssc()
}

#[test]
fn start_failing_for_want_of_a_checkpoint_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    let s = ssc.replay_stream(
        vec![
            Some(vec![("a".to_string(), 1i64)]),
            Some(vec![("a".to_string(), 2)]),
        ],
        1,
    );
    let st = s.update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
        Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
    });
    let out = collect(&st);
    assert!(ssc.start().is_err());
    ssc.checkpoint(dir.path()).unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    let o = out.lock().clone();
    assert_eq!(
        o,
        vec![(1000, vec![("a".into(), 1)]), (2000, vec![("a".into(), 3)])]
    );
    ssc.stop(false, false);
}

#[test]
fn concurrent_starts_start_once() {
    let mut both = 0;
    let mut after_stop = 0;
    for _ in 0..20 {
        let ssc = StreamingContext::new(conf(), Duration::from_millis(20)).unwrap();
        let s = ssc.replay_stream::<i64>(vec![], 1);
        let n = Arc::new(AtomicUsize::new(0));
        let c = n.clone();
        s.foreach_rdd(move |_, _| {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (ssc, b) = (ssc.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    ssc.start().is_ok()
                })
            })
            .collect();
        let oks = hs
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        if oks == 2 {
            both += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
        ssc.stop(false, false);
        let at_stop = n.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        if n.load(Ordering::SeqCst) > at_stop + 1 {
            after_stop += 1;
        }
    }
    assert_eq!(
        (both, after_stop),
        (0, 0),
        "(contexts started twice, still running after stop)"
    );
}

/// A receiver whose handle the test drives: it stores what the test tells it to.
struct Driven(Arc<Mutex<Option<ReceiverHandle<u64>>>>);

impl Receiver<u64> for Driven {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        *self.0.lock() = Some(h);
    }
    fn on_stop(&mut self) {
        self.0.lock().take();
    }
}

#[test]
fn graceful_stop_on_a_manual_clock_gives_every_received_record_to_a_batch() {
    let ctx = Context::new(conf().set("spate.streaming.blockInterval", "10ms").unwrap()).unwrap();
    let ssc = support::manual_over(ctx);
    let handle = Arc::new(Mutex::new(None));
    let s = ssc.receiver_stream(Driven(handle.clone()));
    let total = Arc::new(AtomicUsize::new(0));
    let t = total.clone();
    s.foreach_rdd(move |rdd, _| {
        t.fetch_add(rdd.count()? as usize, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    while handle.lock().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..100u64 {
        handle.lock().as_ref().unwrap().store(i).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    ssc.advance_batches(1).unwrap();
    for i in 0..50u64 {
        handle.lock().as_ref().unwrap().store(i).unwrap();
    }
    let s2 = ssc.clone();
    assert!(within(Duration::from_secs(20), move || s2.stop(false, true)).is_some());
    assert_eq!(total.load(Ordering::SeqCst), 150);
}

#[test]
fn graceful_stop_runs_every_batch_queued_behind_a_slow_job() {
    let ssc = system_ssc(50, &[]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let q = RddQueue::new();
    let first = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    ssc.queue_stream(&q)
        .foreach_rdd(move |rdd: spate_core::Rdd<i32>, t| {
            if first.swap(false, Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(600));
            }
            rdd.count()?;
            s2.lock().push(t.millis());
            Ok(())
        });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    ssc.stop(true, true);
    let submitted = events.with_prefix("submitted").len();
    let completed = events.with_prefix("completed").len();
    assert!(submitted >= 5, "{submitted}");
    assert_eq!(completed, submitted);
    assert_eq!(seen.lock().len(), submitted);
    let done = ssc.completed_batches();
    assert_eq!(done.len(), submitted);
    for w in done.windows(2) {
        assert!(w[0].batch_time < w[1].batch_time);
    }
    for b in &done {
        assert!(b.submission_ms >= b.batch_time.millis(), "{b:?}");
        assert!(b.scheduling_delay_ms().unwrap() >= 0, "{b:?}");
        assert!(b.processing_delay_ms().unwrap() >= 0, "{b:?}");
        assert_eq!(
            b.total_delay_ms().unwrap(),
            b.scheduling_delay_ms().unwrap() + b.processing_delay_ms().unwrap()
        );
    }
    assert!(
        done[0].processing_delay_ms().unwrap() >= 550,
        "{:?}",
        done[0]
    );
    assert!(
        done[1].scheduling_delay_ms().unwrap() >= 400,
        "{:?}",
        done[1]
    );
}

#[test]
fn await_termination_or_timeout_return_values() {
    let ssc = system_ssc(50, &[]);
    let q = RddQueue::<i32>::new();
    let _out = collect(&ssc.queue_stream(&q));
    // Not started: times out.
    assert!(!ssc
        .await_termination_or_timeout(Duration::from_millis(50))
        .unwrap());
    ssc.start().unwrap();
    let t = Instant::now();
    assert!(!ssc
        .await_termination_or_timeout(Duration::from_millis(200))
        .unwrap());
    assert!(t.elapsed() >= Duration::from_millis(190));
    let s2 = ssc.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        s2.stop(false, true);
    });
    let t = Instant::now();
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(3))
        .unwrap());
    assert!(t.elapsed() < Duration::from_secs(2));
    stopper.join().unwrap();
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .unwrap());
    ssc.await_termination().unwrap();
}

#[test]
fn await_termination_returns_only_once_a_graceful_stop_has_finished() {
    let ssc = system_ssc(50, &[]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let q = RddQueue::<i32>::new();
    let first = Arc::new(AtomicBool::new(true));
    ssc.queue_stream(&q).foreach_rdd(move |rdd, _| {
        if first.swap(false, Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(600));
        }
        rdd.count()?;
        Ok(())
    });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Another thread (a signal handler, say) stops gracefully; the main thread waits for
    // the end, as a driver does before exiting the process.
    let s2 = ssc.clone();
    let stopper = std::thread::spawn(move || s2.stop(false, true));
    // The usual polling loop of a driver.
    while !ssc
        .await_termination_or_timeout(Duration::from_millis(50))
        .unwrap()
    {}
    let (submitted, completed) = (
        events.with_prefix("submitted").len(),
        events.with_prefix("completed").len(),
    );
    stopper.join().unwrap();
    assert_eq!(
        completed, submitted,
        "await_termination returned with {} of {submitted} batches done",
        completed
    );
}

#[test]
fn a_second_streaming_context_on_the_same_context_after_the_first_stopped() {
    let ctx = Context::new(support::conf(&[])).unwrap();
    let run = |tag: &'static str| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            for i in 0..100 {
                writeln!(c, "{tag}{i}").unwrap();
            }
            c.flush().unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(100)).unwrap();
        let out = collect(&ssc.socket_text_stream("127.0.0.1", port));
        let q = RddQueue::new();
        q.push(ctx.parallelize_with(vec![1, 2, 3], 2));
        let qout = collect(&ssc.queue_stream(&q));
        ssc.start().unwrap();
        assert!(
            wait_until(Duration::from_secs(3), || all_records(&out).len() >= 100),
            "{tag}: got {}",
            all_records(&out).len()
        );
        ssc.stop(false, true);
        server.join().unwrap();
        let got = all_records(&out);
        assert_eq!(got.len(), 100, "{tag}");
        assert!(got.iter().all(|l| l.starts_with(tag)), "{tag}: {got:?}");
        assert_eq!(all_records(&qout), vec![1, 2, 3], "{tag}");
    };
    run("first");
    run("second");
    // The context itself still works.
    assert_eq!(ctx.parallelize_with(vec![1, 2], 1).count().unwrap(), 2);
}
