//! Stops and concurrent jobs against the streaming seams: no commit of a batch a stop
//! discarded, input counts finished by their own batch, two streaming contexts over one
//! context keeping their received blocks, a listener stopping the context mid-advance.

mod support;
use support::*;

use spate_core::Rdd;
use std::sync::mpsc;

type Log = Arc<Mutex<Vec<String>>>;

/// A direct source reading two offsets per batch; `plan` can be made to wait on a gate.
struct Gated {
    next: Mutex<u64>,
    log: Log,
    /// When set, `plan` reports it entered and waits for the second channel.
    gate: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

impl DirectSource<u64> for Gated {
    type Range = (u64, u64);
    fn plan(&self, _time: Time) -> Result<Option<(u64, u64)>> {
        if let Some((entered, release)) = self.gate.lock().take() {
            entered.send(()).unwrap();
            release.recv().unwrap();
        }
        let mut n = self.next.lock();
        let r = (*n, *n + 2);
        *n += 2;
        Ok(Some(r))
    }
    fn read(&self, ctx: &Context, r: &(u64, u64)) -> Result<Rdd<u64>> {
        Ok(ctx.parallelize_with((r.0..r.1).collect(), 2))
    }
    fn commit(&self, time: Time, r: &(u64, u64)) -> Result<()> {
        self.log
            .lock()
            .push(format!("commit {} {r:?}", time.millis()));
        Ok(())
    }
    fn stop(&self) {
        self.log.lock().push("stop".into());
    }
}

/// A stop that lands while a batch is being generated (here: while its direct source
/// plans) must not let that batch, whose jobs never run, commit its range — and nothing
/// may reach the source after its `stop`.
#[test]
fn a_batch_generated_across_a_stop_is_not_committed() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let outputs = Arc::new(AtomicUsize::new(0));
    let log: Log = Default::default();
    let ssc = manual_ssc();
    let (s, _ranges) = ssc.direct_stream(Gated {
        next: Mutex::new(0),
        log: log.clone(),
        gate: Mutex::new(Some((entered_tx, release_rx))),
    });
    let o = outputs.clone();
    s.foreach_rdd(move |rdd, _| {
        rdd.count()?;
        o.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    let adv = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.advance_batches(1))
    };
    entered_rx.recv().unwrap();
    ssc.stop(false, false);
    release_tx.send(()).unwrap();
    let _ = adv.join().unwrap();
    assert_eq!(outputs.load(Ordering::SeqCst), 0, "no output ran");
    assert_eq!(
        *log.lock(),
        vec!["stop".to_string()],
        "the batch never ran: nothing committed, nothing after stop"
    );
}

/// Queued RDDs `i*100 .. i*100+4` in 2 partitions, each counting how many records of it
/// were computed, by queue index.
fn counted_queue(ctx: &Context, n: usize) -> (RddQueue<u64>, Arc<Vec<AtomicUsize>>) {
    let computed: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
    let q = RddQueue::new();
    for i in 0..n {
        let c = computed.clone();
        let base = i as u64 * 100;
        q.push(
            ctx.parallelize_with((base..base + 4).collect(), 2)
                .map(move |x| {
                    c[i].fetch_add(1, Ordering::SeqCst);
                    x
                }),
        );
    }
    (q, computed)
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// With `concurrentJobs` 2, a later batch that completes first must not finish the
/// record count of an earlier batch still running: that runs a counting job over the
/// earlier batch's input while its own job is about to read it (a second read, and a
/// count taken behind the running batch's back).
#[test]
fn a_later_batch_completing_first_does_not_count_an_earlier_running_batch() {
    let ctx = Context::new(conf(&[("spate.streaming.concurrentJobs", "2")])).unwrap();
    let (q, computed) = counted_queue(&ctx, 3);
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(200)).unwrap();
    let weak = ssc.downgrade();
    let first = Arc::new(AtomicBool::new(true));
    ssc.queue_stream(&q).foreach_rdd(move |rdd, time| {
        if first.swap(false, Ordering::SeqCst) {
            // Hold the first batch until a later one has completed.
            let ssc = weak.upgrade().unwrap();
            wait_for("a later batch", Duration::from_secs(10), || {
                ssc.completed_batches().iter().any(|b| b.batch_time > time)
            });
        }
        rdd.collect()?;
        Ok(())
    });
    ssc.start().unwrap();
    wait_for("three batches", Duration::from_secs(20), || {
        ssc.completed_batches().len() >= 3
    });
    ssc.stop(true, false);
    let counts: Vec<usize> = computed.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(counts, vec![4, 4, 4], "each queued RDD read once");
    let b = ssc.completed_batches();
    assert!(b.iter().take(3).all(|b| b.num_records == 4), "{b:?}");
}

/// A non-graceful stop discards the queued batches; their inputs must not be read then
/// (no counting job over a batch no job ran for).
#[test]
fn a_discarded_batch_is_not_read_to_count_its_records() {
    let ctx = Context::new(conf(&[])).unwrap();
    let (q, computed) = counted_queue(&ctx, 6);
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(100)).unwrap();
    let weak = ssc.downgrade();
    let first = Arc::new(AtomicBool::new(true));
    let entered = Arc::new(AtomicBool::new(false));
    let e = entered.clone();
    ssc.queue_stream(&q).foreach_rdd(move |rdd, _| {
        if first.swap(false, Ordering::SeqCst) {
            e.store(true, Ordering::SeqCst);
            // Batches queue up behind this one until the stop.
            let ssc = weak.upgrade().unwrap();
            wait_for("the stop", Duration::from_secs(10), || {
                ssc.state() == State::Stopped
            });
            // The stop marks the context stopped first, then stops generating and
            // discards the queue: end this job well within the stop's 2 s wait.
            std::thread::sleep(Duration::from_millis(500));
        }
        rdd.collect()?;
        Ok(())
    });
    ssc.start().unwrap();
    wait_for("the first job", Duration::from_secs(10), || {
        entered.load(Ordering::SeqCst)
    });
    wait_for("queued batches", Duration::from_secs(10), || q.len() <= 3);
    ssc.stop(false, false);
    let counts: Vec<usize> = computed.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(counts[0], 4);
    assert!(
        counts[1..].iter().all(|c| *c == 0),
        "discarded batches' inputs were read: {counts:?}"
    );
}

/// A receiver that stores `records` as one block when started and sets `stored`.
struct OneBlock {
    records: Vec<u64>,
    stored: Arc<AtomicBool>,
}

impl Receiver<u64> for OneBlock {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        h.store_many(std::mem::take(&mut self.records)).unwrap();
        self.stored.store(true, Ordering::SeqCst);
    }
    fn on_stop(&mut self) {}
}

/// Two streaming contexts over one `Context`, one after the other: the first one's
/// received blocks must not be confused with the second one's. Block ids are
/// `input-<stream>-<seq>` and both contexts number streams and blocks from 0, so when the
/// stopped first context is dropped (its remembered `BlockRdd`s remove their blocks), it
/// must not remove the second context's blocks.
#[test]
fn a_second_streaming_context_on_one_context_keeps_its_received_blocks() {
    let ctx = Context::new(conf(&[])).unwrap();
    let stored1 = Arc::new(AtomicBool::new(false));
    let ssc1 = manual_over(ctx.clone());
    let s1 = ssc1.receiver_stream(OneBlock {
        records: vec![1, 2, 3],
        stored: stored1.clone(),
    });
    let out1 = collect(&s1);
    ssc1.start().unwrap();
    wait_for("first block", Duration::from_secs(5), || {
        stored1.load(Ordering::SeqCst)
    });
    ssc1.advance_batches(1).unwrap();
    assert_eq!(sorted(&all_records(&out1)), vec![1, 2, 3]);
    ssc1.stop(false, false);

    let stored2 = Arc::new(AtomicBool::new(false));
    let ssc2 = manual_over(ctx.clone());
    let s2 = ssc2.receiver_stream(OneBlock {
        records: vec![10, 20],
        stored: stored2.clone(),
    });
    let out2 = collect(&s2);
    ssc2.start().unwrap();
    wait_for("second block", Duration::from_secs(5), || {
        stored2.load(Ordering::SeqCst)
    });
    // The first context goes away now (its handles dropped).
    drop((s1, ssc1));
    let r = ssc2.advance_batches(1);
    ssc2.stop(false, false);
    r.unwrap();
    assert_eq!(sorted(&all_records(&out2)), vec![10, 20]);
}

struct StopOnFirstBatch(WeakStreamingContext);

impl StreamingListener for StopOnFirstBatch {
    fn on_batch_completed(&self, _info: &BatchInfo) {
        if let Some(ssc) = self.0.upgrade() {
            ssc.stop(false, true);
        }
    }
}

/// Pinned: a listener that stops the context gracefully (on the bus thread) while the
/// driver is in `advance` neither hangs `advance` nor the stop.
#[test]
fn a_listener_stopping_gracefully_during_advance_does_not_hang() {
    let ssc = manual_ssc();
    let out = collect(&ssc.replay_stream(vec![Some(vec![1u64]), Some(vec![2])], 1));
    ssc.add_streaming_listener(Arc::new(StopOnFirstBatch(ssc.downgrade())));
    ssc.start().unwrap();
    let s = ssc.clone();
    let r = within(Duration::from_secs(10), move || s.advance_batches(3));
    assert!(r.is_some(), "advance hung");
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(10))
        .unwrap());
    assert_eq!(ssc.state(), State::Stopped);
    assert!(!all_records(&out).is_empty());
}
