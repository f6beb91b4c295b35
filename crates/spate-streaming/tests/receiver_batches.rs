//! Receiver blocks belong to the batch of the interval they arrived in, even when no output
//! reads the input at every batch (a window sliding by two batches).

use spate_core::SpateConf;
use spate_streaming::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::Ticks;

mod support;

struct Records(Arc<Mutex<Vec<(i64, u64)>>>);
impl StreamingListener for Records {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0.lock().unwrap().push((b.batch_time.0, b.num_records));
    }
}

#[test]
fn receiver_blocks_go_to_the_batch_of_their_interval() {
    let ssc = StreamingContext::new(
        SpateConf::new()
            .master("local[2]")
            .unwrap()
            .app_name("repro")
            .unwrap(),
        Duration::from_millis(500),
    )
    .unwrap();
    let infos = Arc::new(Mutex::new(Vec::new()));
    ssc.add_streaming_listener(Arc::new(Records(infos.clone())));
    // A window of one batch, every two batches: each output holds one 500 ms interval.
    let w = ssc
        .receiver_stream(Ticks(None))
        .window_with(Duration::from_millis(500), Duration::from_millis(1000));
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s = sizes.clone();
    w.foreach_rdd(move |rdd, t| {
        s.lock().unwrap().push((t.0, rdd.count()?));
        Ok(())
    });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(5200));
    ssc.stop(true, false);
    let sizes = sizes.lock().unwrap().clone();
    // ~450 records per 500 ms at one per ms (sleep overhead); two intervals would be ~900.
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(sizes[1..].iter().all(|&(_, n)| n < 700), "{sizes:?}");
    // Every batch with jobs reports the records its interval received.
    let infos = infos.lock().unwrap().clone();
    assert!(
        infos.iter().skip(1).all(|&(_, n)| n > 200 && n < 700),
        "{infos:?}"
    );
}
