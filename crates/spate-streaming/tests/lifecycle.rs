//! Review probes (round 2): system-clock lifecycle, receivers' events, direct streams.

mod support;

use support::*;
// ---------------------------------------------------------------------------------------
// 3. System-clock lifecycle
// ---------------------------------------------------------------------------------------

#[test]
fn graceful_stop_runs_every_batch_queued_behind_a_slow_job() {
    let ssc = system_ssc(50, &[]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let q = RddQueue::new();
    let first = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    ssc.queue_stream(&q, true, None)
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
    let _out = collect(&ssc.queue_stream(&q, true, None));
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
    ssc.queue_stream(&q, true, None).foreach_rdd(move |rdd, _| {
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
    let ctx = Context::new(conf(&[])).unwrap();
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
        q.push(ctx.parallelize(vec![1, 2, 3], 2));
        let qout = collect(&ssc.queue_stream(&q, true, None));
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
    assert_eq!(ctx.parallelize(vec![1, 2], 1).count().unwrap(), 2);
}

/// Stores 10 records per start, then idles until stopped.
struct Ten(Option<std::thread::JoinHandle<()>>);
impl Receiver<u32> for Ten {
    fn name(&self) -> String {
        "ten".into()
    }
    fn on_start(&mut self, h: ReceiverHandle<u32>) {
        self.0 = Some(std::thread::spawn(move || {
            h.store_many((0..10).collect()).unwrap();
            while !h.is_stopped() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }
    fn on_stop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn receiver_events_in_order_and_num_records_per_batch() {
    let ssc = system_ssc(100, &[]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let out = collect(&ssc.receiver_stream(Ten(None)));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(3), || all_records(&out)
        .len()
        >= 10));
    std::thread::sleep(Duration::from_millis(150));
    ssc.stop(true, true);
    let ev: Vec<String> = events.with_prefix("receiver");
    assert_eq!(
        ev,
        vec![
            "receiver started ten".to_string(),
            "receiver stopped ten ()".to_string()
        ]
    );
    let done = ssc.completed_batches();
    let total: u64 = done.iter().map(|b| b.num_records).sum();
    assert_eq!(total, 10, "{done:?}");
    for b in &done {
        let n = out
            .lock()
            .iter()
            .find(|(t, _)| *t == b.batch_time.millis())
            .map(|(_, v)| v.len() as u64)
            .unwrap();
        assert_eq!(b.num_records, n, "{b:?}");
    }
}

#[test]
fn a_listener_added_after_start_hears_of_receiver_restarts() {
    // A port nobody listens on: the receiver restarts every 100 ms.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ssc = system_ssc(100, &[]);
    let _out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    std::thread::sleep(Duration::from_millis(600));
    ssc.stop(true, false);
    assert!(!events.with_prefix("submitted").is_empty());
    assert!(
        !events.with_prefix("receiver stopped").is_empty(),
        "{:?}",
        events.0.lock()
    );
}

// ---------------------------------------------------------------------------------------
// 4. direct_stream
// ---------------------------------------------------------------------------------------

/// Batch k reads [k*10, k*10 + 3); planning batch 2 fails; reading batch 4 panics.
struct Picky;

impl DirectSource<i64> for Picky {
    type Range = (i64, i64);
    fn plan(&self, time: Time) -> Result<Option<(i64, i64)>> {
        let k = time.millis() / 1000;
        if k == 2 {
            return Err(Error::Input {
                stream: "picky".into(),
                reason: "broker unavailable".into(),
            });
        }
        Ok(Some((k * 10, k * 10 + 3)))
    }
    fn read(&self, ctx: &Context, r: &(i64, i64)) -> Result<spate_core::Rdd<i64>> {
        if r.0 == 40 {
            panic!("reader exploded");
        }
        Ok(ctx.parallelize((r.0..r.1).collect(), 2))
    }
}

#[test]
fn direct_stream_plan_error_and_read_panic_fail_their_batches_only() {
    let ssc = StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    let (s, ranges) = ssc.direct_stream(Picky);
    let out = collect(&s);
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err().to_string();
    assert!(
        e.contains("2000") && e.contains("broker unavailable"),
        "{e}"
    );
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err().to_string();
    assert!(e.contains("4000") && e.contains("reader exploded"), "{e}");
    ssc.advance_batches(1).unwrap();
    assert_eq!(
        *out.lock(),
        vec![
            (1000, vec![10, 11, 12]),
            (3000, vec![30, 31, 32]),
            (5000, vec![50, 51, 52])
        ]
    );
    assert_eq!(ranges.get(Time(2000)), None);
    assert_eq!(ranges.get(Time(3000)), Some((30, 33)));
    // The error of batch 2 also surfaced to await_termination.
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .is_err());
    ssc.stop(true, false);
}
