//! The listener bus: typed events delivered in order on a thread of their own; a panicking
//! listener is skipped; `advance` returns once its batches' events are delivered; a stop
//! delivers everything first. Receivers' events come in order (started, stopped with the
//! error) with each batch's record count, and a listener added after the start hears of
//! receiver restarts.

mod support;

use support::*;

/// Every event, with the thread it was delivered on.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

impl Recorder {
    fn push(&self, e: String) {
        let thread = std::thread::current().name().unwrap_or("").to_string();
        self.0.lock().push((e, thread));
    }
    fn names(&self) -> Vec<String> {
        self.0.lock().iter().map(|(e, _)| e.clone()).collect()
    }
}

impl StreamingListener for Recorder {
    fn on_streaming_started(&self, _t: i64) {
        self.push("streaming started".into());
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.push(format!("submitted {}", b.batch_time.millis()));
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.push(format!("started {}", b.batch_time.millis()));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.push(format!(
            "completed {} ({} records)",
            b.batch_time.millis(),
            b.num_records
        ));
    }
    fn on_output_operation_started(&self, o: &OutputOperationInfo) {
        self.push(format!("op {} started {}", o.id, o.batch_time.millis()));
    }
    fn on_output_operation_completed(&self, o: &OutputOperationInfo) {
        self.push(format!("op {} completed {}", o.id, o.batch_time.millis()));
    }
}

/// Panics on every event.
struct Panicky;
impl StreamingListener for Panicky {
    fn on_streaming_started(&self, _t: i64) {
        panic!("listener boom");
    }
    fn on_batch_submitted(&self, _b: &BatchInfo) {
        panic!("listener boom");
    }
    fn on_batch_completed(&self, _b: &BatchInfo) {
        panic!("listener boom");
    }
}

#[test]
fn events_are_delivered_in_order_on_the_bus_thread_and_advance_waits_for_them() {
    let ssc = manual_ssc();
    let rec = Arc::new(Recorder::default());
    ssc.add_streaming_listener(Arc::new(Panicky));
    ssc.add_streaming_listener(rec.clone());
    let s = ssc.replay_stream(vec![Some(vec![1, 2]), Some(vec![3])], 1);
    let _out = collect(&s);
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    // Delivered by the time advance returned, despite the panicking listener before it.
    assert_eq!(
        rec.names(),
        vec![
            "streaming started",
            "submitted 1000",
            "started 1000",
            "op 0 started 1000",
            "op 0 completed 1000",
            "completed 1000 (2 records)",
        ]
    );
    ssc.advance_batches(1).unwrap();
    assert_eq!(rec.names().len(), 11);
    assert_eq!(rec.names()[10], "completed 2000 (1 records)");
    ssc.stop(true, false);
    for (e, thread) in rec.0.lock().iter() {
        assert_eq!(thread, "spate-streaming-listener-bus", "{e}");
    }
    assert_eq!(ssc.dropped_listener_events(), 0);
}

/// Takes `delay` over every completed batch.
struct Slow {
    delay: Duration,
    completed: AtomicUsize,
}
impl StreamingListener for Slow {
    fn on_batch_completed(&self, _b: &BatchInfo) {
        std::thread::sleep(self.delay);
        self.completed.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_slow_listener_does_not_hold_up_batches_and_stop_delivers_every_event_first() {
    let ssc = system_ssc(20, &[]);
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(100),
        completed: AtomicUsize::new(0),
    });
    ssc.add_streaming_listener(slow.clone());
    let q = RddQueue::<i32>::new();
    let _out = collect(&ssc.queue_stream(&q));
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    // Batches ran at their own pace while the listener lagged behind.
    let ran = ssc.completed_batches().len();
    let heard = slow.completed.load(Ordering::SeqCst);
    assert!(ran >= 8, "{ran} batches");
    assert!(heard < ran, "{heard} of {ran}");
    let t = Instant::now();
    ssc.stop(true, false);
    // The stop returned once the listener had heard of every completed batch.
    assert_eq!(
        slow.completed.load(Ordering::SeqCst),
        ssc.completed_batches().len()
    );
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn a_full_queue_drops_events_and_counts_them() {
    // Room for 2 waiting events, a listener that takes 300 ms over each completed batch:
    // the queue fills while batches run, and what does not fit is dropped, not waited for.
    let ssc = system_ssc(20, &[("spate.streaming.listenerBus.capacity", "2")]);
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(300),
        completed: AtomicUsize::new(0),
    });
    ssc.add_streaming_listener(slow.clone());
    let q = RddQueue::<i32>::new();
    let _out = collect(&ssc.queue_stream(&q));
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    ssc.stop(true, false);
    let ran = ssc.completed_batches().len();
    assert!(ran >= 8, "{ran} batches");
    assert!(ssc.dropped_listener_events() > 0);
    assert!(slow.completed.load(Ordering::SeqCst) < ran);
}

/// Stops the context from inside a listener.
struct Stopper(Mutex<Option<StreamingContext>>);
impl StreamingListener for Stopper {
    fn on_batch_completed(&self, _b: &BatchInfo) {
        if let Some(ssc) = self.0.lock().take() {
            ssc.stop(false, false);
        }
    }
}

#[test]
fn a_listener_may_stop_the_context() {
    let ssc = system_ssc(20, &[]);
    let q = RddQueue::<i32>::new();
    let _out = collect(&ssc.queue_stream(&q));
    ssc.add_streaming_listener(Arc::new(Stopper(Mutex::new(Some(ssc.clone())))));
    ssc.start().unwrap();
    let s2 = ssc.clone();
    let ended = within(Duration::from_secs(5), move || s2.await_termination());
    assert!(matches!(ended, Some(Ok(()))), "{ended:?}");
    assert_eq!(ssc.state(), State::Stopped);
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
