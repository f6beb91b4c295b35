//! A small streaming job with the UI on, shared by the UI's tests: words from a queue
//! counted with a shuffle, a persisted stream, a named accumulator, dashboards, and an
//! output operation that fails on one chosen batch (`spate.streaming.outputFailure=skip`,
//! so later batches run).

#![allow(dead_code)]

use parking_lot::Mutex;
use spate_core::{Context, LongAccumulator, SpateConf};
use spate_streaming::{BatchInfo, RddQueue, StreamingContext, StreamingListener};
use spate_ui::{Panel, ToDashboard, WebUi};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const FAILURE: &str = "the third batch fails on purpose";

/// What the test's own listener heard.
#[derive(Default)]
pub struct Heard {
    pub completed: Mutex<Vec<BatchInfo>>,
}

impl StreamingListener for Heard {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.completed.lock().push(b.clone());
    }
}

pub struct Job {
    pub ssc: StreamingContext,
    pub ui: WebUi,
    pub heard: Arc<Heard>,
    pub lines: LongAccumulator,
    pub queue: RddQueue<String>,
    /// The word counts each batch produced, by batch time.
    pub counts: Arc<Mutex<Vec<(i64, Vec<(String, i64)>)>>>,
}

/// Batch `i` (from 0) of the job's input.
pub fn batch_lines(i: usize) -> Vec<String> {
    (0..(20 + 7 * (i % 5)))
        .map(|k| format!("w{} w{} error{}", k % 3, (k + i) % 4, k % 2))
        .collect()
}

pub fn start(app: &str, batch_ms: u64, batches: usize) -> Job {
    let conf = SpateConf::new()
        .app_name(app)
        .unwrap()
        .master("local[2]")
        .unwrap()
        .set("spate.ui.port", "0")
        .unwrap()
        .set("spate.streaming.outputFailure", "skip")
        .unwrap();
    let ctx = Context::new(conf).unwrap();
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(batch_ms)).unwrap();
    let lines_acc = ctx.long_accumulator("lines");
    let queue = RddQueue::new();
    for i in 0..batches {
        queue.push(ctx.parallelize_with(batch_lines(i), 2));
    }
    let acc = lines_acc.clone();
    let lines = ssc
        .queue_stream(&queue)
        .map(move |l: String| {
            acc.add(1);
            l
        })
        .cache();
    let counts = lines
        .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    counts.foreach_rdd(move |rdd, t| {
        let mut v = rdd.collect()?;
        v.sort();
        s.lock().push((t.0, v));
        Ok(())
    });
    let calls = AtomicUsize::new(0);
    lines.count().foreach_rdd(move |rdd, _| {
        rdd.collect()?;
        if calls.fetch_add(1, Ordering::SeqCst) == 2 {
            return Err(FAILURE.into());
        }
        Ok(())
    });
    counts.to_dashboard(&format!("{app} words"), Panel::time_series());
    counts.to_dashboard(&format!("{app} top"), Panel::top_n(3));
    lines
        .count()
        .to_dashboard(&format!("{app} lines"), Panel::counter());
    let heard = Arc::new(Heard::default());
    ssc.add_streaming_listener(heard.clone());
    let ui = WebUi::start(&ssc).unwrap();
    ssc.start().unwrap();
    Job {
        ssc,
        ui,
        heard,
        lines: lines_acc,
        queue,
        counts: seen,
    }
}

impl Job {
    pub fn url(&self) -> String {
        self.ui.url().expect("the UI serves")
    }

    /// Waits until `n` batches completed (as the test's listener heard).
    pub fn wait_batches(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.heard.completed.lock().len() < n {
            assert!(
                Instant::now() < deadline,
                "{n} batches did not complete in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// GET `url` as JSON.
pub fn get_json(url: &str) -> serde_json::Value {
    let body = ureq::get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

pub fn get_text(url: &str) -> String {
    ureq::get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// The application's API root.
pub fn api(base: &str) -> String {
    let apps = get_json(&format!("{base}/api/v1/applications"));
    format!(
        "{base}/api/v1/applications/{}",
        apps[0]["id"].as_str().unwrap()
    )
}
