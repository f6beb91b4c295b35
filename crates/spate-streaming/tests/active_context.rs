//! The active streaming context (Spark's `getActive`, `getActiveOrCreate`): one started
//! context per core context, a second start refused naming the first, `get_active` and
//! `get_active_or_create` (with and without a checkpoint directory), and
//! `on_streaming_started` heard once.
//!
//! The active context is the process's: these tests take turns.

mod support;

use support::*;

static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

fn manual(ctx: &Context, batch_ms: u64) -> StreamingContext {
    let ssc = StreamingContext::with_clock(
        ctx.clone(),
        Duration::from_millis(batch_ms),
        Clock::manual(),
    )
    .unwrap();
    ssc.replay_stream(vec![Some(vec![1, 2, 3])], 1)
        .foreach_rdd(|rdd, _| {
            rdd.count()?;
            Ok(())
        });
    ssc
}

#[test]
fn get_active_finds_the_latest_started_context_still_active() {
    let _t = turn();
    let ctx = Context::local(2).unwrap();
    assert!(StreamingContext::get_active().is_none());
    let first = manual(&ctx, 1000);
    first.start().unwrap();
    let active = StreamingContext::get_active().expect("an active context");
    assert_eq!(active.batch_ms(), 1000);
    assert_eq!(active.state(), State::Active);

    // get_active_or_create returns the active one without calling create.
    let got = StreamingContext::get_active_or_create(|| panic!("create called")).unwrap();
    assert_eq!(got.batch_ms(), 1000);

    // A second one over the same core context may run too; the latest started is active.
    let second = manual(&ctx, 2000);
    second.start().unwrap();
    assert_eq!(StreamingContext::get_active().unwrap().batch_ms(), 2000);
    second.advance_batches(1).unwrap();
    first.advance_batches(1).unwrap();

    // Stopped ones are not active.
    second.stop(false, false);
    assert_eq!(StreamingContext::get_active().unwrap().batch_ms(), 1000);
    first.stop(true, false);
    assert!(StreamingContext::get_active().is_none());
}

#[test]
fn a_failed_start_does_not_keep_the_claim() {
    let _t = turn();
    let ctx = Context::local(2).unwrap();
    // No output operation: the start fails.
    let empty =
        StreamingContext::with_clock(ctx.clone(), Duration::from_secs(1), Clock::manual()).unwrap();
    assert!(empty.start().is_err());
    assert!(StreamingContext::get_active().is_none());
    let ok = manual(&ctx, 1000);
    ok.start().unwrap();
    assert!(StreamingContext::get_active().is_some());
    ok.stop(true, false);
}

#[test]
fn get_active_or_create_creates_when_none_is_active() {
    let _t = turn();
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let ssc = StreamingContext::get_active_or_create(move || {
        m.fetch_add(1, Ordering::SeqCst);
        Ok(manual(&Context::local(1).unwrap(), 3000))
    })
    .unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1);
    // Made, not started.
    assert_eq!(ssc.state(), State::Initialized);
    assert!(StreamingContext::get_active().is_none());
    ssc.stop(true, false);
}

#[test]
fn get_active_or_create_from_checkpoint_recovers_or_returns_the_active_one() {
    let _t = turn();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let ssc = StreamingContext::get_active_or_create_from_checkpoint(&ck, || {
        Ok(manual(&Context::local(1).unwrap(), 1000))
    })
    .unwrap();
    // No checkpoint there yet: made by create, with the directory as its checkpoint dir.
    assert_eq!(ssc.checkpoint_dir().as_deref(), Some(ck.as_path()));
    ssc.start().unwrap();
    let again = StreamingContext::get_active_or_create_from_checkpoint(&ck, || {
        panic!("create called while a context is active")
    })
    .unwrap();
    assert_eq!(again.state(), State::Active);
    ssc.stop(true, false);
}

#[derive(Default)]
struct Started(Mutex<Vec<i64>>);

impl StreamingListener for Started {
    fn on_streaming_started(&self, time_ms: i64) {
        self.0.lock().push(time_ms);
    }
}

#[test]
fn on_streaming_started_is_heard_once_at_the_start() {
    let _t = turn();
    let ssc = manual(&Context::local(2).unwrap(), 1000);
    let heard = Arc::new(Started::default());
    ssc.add_streaming_listener(heard.clone());
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    ssc.stop(true, false);
    // Once, with the manual clock's time at the start.
    assert_eq!(*heard.0.lock(), vec![0]);
}
