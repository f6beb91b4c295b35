//! Real sources: a TCP server the socket source reads from (with a disconnect and
//! reconnect), files moved into a watched directory, a custom receiver that fails and is
//! restarted, block interval and rate limit, a graceful stop that loses nothing, and direct
//! streams (what each batch read; a plan error or a panicking read fails that batch only).

use parking_lot::Mutex;
use spate_core::Context;
use spate_streaming::input::{DirectSource, Receiver, ReceiverHandle};
use spate_streaming::*;
use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{collect, conf, system_ssc, wait_until, SKIP_FAILED};

mod support;

/// Counts records and collects them.
fn counter<T: spate_core::Data>(s: &DStream<T>) -> (Arc<AtomicUsize>, Arc<Mutex<Vec<T>>>) {
    let n = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(Mutex::new(Vec::new()));
    let (n2, a2) = (n.clone(), all.clone());
    s.foreach_rdd(move |rdd, _| {
        let v = rdd.collect()?;
        n2.fetch_add(v.len(), Ordering::SeqCst);
        a2.lock().extend(v);
        Ok(())
    });
    (n, all)
}

#[test]
fn socket_source_reads_lines_and_reconnects_after_the_server_goes_away() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // First connection: 100 lines, then the server closes it.
        let (mut c, _) = listener.accept().unwrap();
        for i in 0..100 {
            writeln!(c, "first {i}").unwrap();
        }
        drop(c);
        // The receiver reconnects: 50 more lines.
        let (mut c, _) = listener.accept().unwrap();
        for i in 0..50 {
            writeln!(c, "second {i}").unwrap();
        }
        c.flush().unwrap();
        std::thread::sleep(Duration::from_millis(500));
    });
    let ssc = system_ssc(100, &[]);
    let lines = ssc.socket_text_stream("127.0.0.1", port);
    let (n, all) = counter(&lines);
    ssc.start().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || n.load(Ordering::SeqCst) >= 150),
        "got {}",
        n.load(Ordering::SeqCst)
    );
    ssc.stop(true, false);
    server.join().unwrap();
    let all = all.lock();
    assert_eq!(all.iter().filter(|l| l.starts_with("first ")).count(), 100);
    assert_eq!(all.iter().filter(|l| l.starts_with("second ")).count(), 50);
}

#[test]
fn a_graceful_stop_loses_none_of_the_lines_a_producer_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = 20_000;
    let producer = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        for i in 0..sent {
            writeln!(c, "line {i}").unwrap();
        }
        c.flush().unwrap();
        // Keep the connection open, as `nc -lk` would.
        std::thread::sleep(Duration::from_secs(3));
    });
    let ssc = system_ssc(200, &[]);
    let (n, all) = counter(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    // Stop as soon as the first records have been processed: most lines are still in
    // flight (in the socket, the receiver's buffer or unprocessed blocks).
    assert!(wait_until(Duration::from_secs(10), || n
        .load(Ordering::SeqCst)
        > 0));
    ssc.stop(true, true);
    assert_eq!(
        n.load(Ordering::SeqCst),
        sent,
        "every line sent was processed"
    );
    let mut seen: Vec<usize> = all.lock().iter().map(|l| l[5..].parse().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, (0..sent).collect::<Vec<_>>());
    producer.join().unwrap();
}

/// Stores five records, then fails the first time it runs; stores five more the second.
struct Flaky {
    runs: Arc<AtomicUsize>,
}

impl Receiver<u32> for Flaky {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn on_start(&mut self, handle: ReceiverHandle<u32>) {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) as u32;
        std::thread::spawn(move || {
            handle
                .store_many((0..5).map(|i| run * 100 + i).collect())
                .unwrap();
            if run == 0 {
                handle.report_error("disk on fire");
                handle.restart("simulated failure");
            }
        });
    }
    fn on_stop(&mut self) {}
}

#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl StreamingListener for Events {
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        self.0.lock().push(format!("started {}", r.name));
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.0.lock().push(format!(
            "error {}",
            r.last_error.clone().unwrap_or_default()
        ));
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        self.0.lock().push(format!("stopped {}", r.name));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        if b.num_records > 0 {
            self.0.lock().push("batch with records".into());
        }
    }
}

#[test]
fn a_failing_custom_receiver_is_restarted() {
    let ssc = system_ssc(100, &[]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let (n, all) = counter(&ssc.receiver_stream(Flaky { runs: runs.clone() }));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || n
        .load(Ordering::SeqCst)
        >= 10));
    ssc.stop(true, true);
    assert_eq!(runs.load(Ordering::SeqCst), 2, "started twice");
    let mut v = all.lock().clone();
    v.sort();
    assert_eq!(v, vec![0, 1, 2, 3, 4, 100, 101, 102, 103, 104]);
    let ev = events.0.lock().clone();
    assert!(ev.contains(&"error disk on fire".to_string()), "{ev:?}");
    assert_eq!(
        ev.iter().filter(|e| *e == "started flaky").count(),
        2,
        "{ev:?}"
    );
    assert!(
        ev.iter().filter(|e| *e == "stopped flaky").count() >= 2,
        "{ev:?}"
    );
    assert!(ev.contains(&"batch with records".to_string()));
}

/// Stores `n` records as fast as it is allowed, noting how long that took.
struct Firehose {
    n: u32,
    took: Arc<Mutex<Option<Duration>>>,
}

impl Receiver<u32> for Firehose {
    fn on_start(&mut self, handle: ReceiverHandle<u32>) {
        let (n, took) = (self.n, self.took.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            for i in 0..n {
                if handle.store(i).is_err() {
                    break;
                }
                if i % 10 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            *took.lock() = Some(t.elapsed());
        });
    }
    fn on_stop(&mut self) {}
}

#[test]
fn block_interval_decides_partitions_and_max_rate_is_honoured() {
    let ssc = system_ssc(
        1000,
        &[
            ("spate.streaming.blockInterval", "100ms"),
            ("spate.streaming.receiver.maxRate", "2000"),
        ],
    );
    let took = Arc::new(Mutex::new(None));
    let s = ssc.receiver_stream(Firehose {
        n: 4000,
        took: took.clone(),
    });
    let parts = Arc::new(Mutex::new(Vec::new()));
    let p = parts.clone();
    let total = Arc::new(AtomicUsize::new(0));
    let t2 = total.clone();
    s.foreach_rdd(move |rdd, _| {
        let n = rdd.count()? as usize;
        if n > 0 {
            p.lock().push((rdd.num_partitions(), n));
        }
        t2.fetch_add(n, Ordering::SeqCst);
        Ok(())
    });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(10), || total
        .load(Ordering::SeqCst)
        >= 4000));
    ssc.stop(true, true);
    let took = took.lock().expect("finished storing");
    assert!(
        took >= Duration::from_millis(1400),
        "4000 records at 2000/s took {took:?}"
    );
    let parts = parts.lock().clone();
    // A full one-second batch holds about ten 100 ms blocks.
    assert!(parts.iter().any(|(p, _)| (5..=12).contains(p)), "{parts:?}");
    assert!(
        parts.iter().all(|(_, n)| *n <= 2300),
        "at most about maxRate records per second: {parts:?}"
    );
}

#[test]
fn files_moved_into_a_watched_directory_are_read_once() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(200, &[]);
    let (n, all) = counter(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    for f in 0..3 {
        let tmp = staging.path().join(format!("part-{f}.txt"));
        std::fs::write(
            &tmp,
            (0..10)
                .map(|i| format!("file{f} line{i}\n"))
                .collect::<String>(),
        )
        .unwrap();
        std::fs::rename(&tmp, watched.path().join(format!("part-{f}.txt"))).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    std::fs::write(watched.path().join(".in-progress"), "hidden\n").unwrap();
    std::fs::write(watched.path().join("_COPYING_"), "hidden\n").unwrap();
    assert!(wait_until(Duration::from_secs(5), || n
        .load(Ordering::SeqCst)
        >= 30));
    std::thread::sleep(Duration::from_millis(600));
    ssc.stop(true, false);
    assert_eq!(
        n.load(Ordering::SeqCst),
        30,
        "each file once, hidden files ignored"
    );
    assert!(all.lock().iter().all(|l| l.starts_with("file")));
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let ssc = system_ssc(200, &[]);
    let e = ssc
        .text_file_stream("/nonexistent/spate-dir")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/spate-dir"), "{e}");
}

/// A replayable log: batch k reads offsets [3(k-1), 3k).
struct Log(Vec<i64>);

impl DirectSource<i64> for Log {
    type Range = (usize, usize);
    fn plan(&self, time: Time) -> Result<Option<(usize, usize)>> {
        let k = (time.millis() / 1000) as usize;
        let from = (3 * (k - 1)).min(self.0.len());
        let to = (3 * k).min(self.0.len());
        Ok((from < to).then_some((from, to)))
    }
    fn read(&self, ctx: &Context, r: &(usize, usize)) -> Result<spate_core::Rdd<i64>> {
        Ok(ctx.parallelize_with(self.0[r.0..r.1].to_vec(), 2))
    }
}

#[test]
fn a_direct_stream_records_what_each_batch_read() {
    let ssc = StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    let (s, ranges) = ssc.direct_stream(Log((0..8).collect()));
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    s.foreach_rdd(move |rdd, _| {
        o.lock().push(rdd.collect()?);
        Ok(())
    });
    ssc.start().unwrap();
    ssc.advance_batches(4).unwrap();
    assert_eq!(
        *out.lock(),
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![]]
    );
    assert_eq!(
        ranges.all(),
        vec![(1000, (0, 3)), (2000, (3, 6)), (3000, (6, 8))]
    );
    // Recomputing a batch reads its recorded range again.
    let again = s
        .get_or_compute(Time(2000))
        .unwrap()
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(again, vec![3, 4, 5]);
    ssc.stop(true, false);
}

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
        Ok(ctx.parallelize_with((r.0..r.1).collect(), 2))
    }
}

#[test]
fn direct_stream_plan_error_and_read_panic_fail_their_batches_only() {
    let ssc = StreamingContext::with_clock(
        Context::new(conf(SKIP_FAILED)).unwrap(),
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
