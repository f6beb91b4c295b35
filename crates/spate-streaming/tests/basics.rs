//! The streaming context on a manual clock: batch times, stateless operations, outputs, and
//! failing outputs (a failed or panicking output fails its batch, with concurrent jobs too,
//! and later batches still run; a panicking listener changes nothing).

use spate_core::{Context, SpateConf};
use spate_streaming::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{collect, manual_ssc as ssc, Out};

mod support;

fn feed(ssc: &StreamingContext, batches: &[&[&str]]) -> DStream<String> {
    let q = RddQueue::new();
    for b in batches {
        q.push(
            ssc.ctx()
                .parallelize_with(b.iter().map(|s| s.to_string()).collect(), 2),
        );
    }
    ssc.queue_stream(&q)
}

#[test]
fn batches_run_at_multiples_of_the_interval_with_stateless_ops() {
    let ssc = ssc();
    let s = feed(&ssc, &[&["a", "bb"], &[], &["ccc", "a", "a"]]);
    let upper = collect(&s.map(|x| x.to_uppercase()));
    let counts = collect(&s.count());
    let lens = collect(&s.filter(|x| x.len() > 1).map(|x| x.len()));
    let reduced = collect(&s.map(|x| x.len() as i64).reduce(|a, b| a + b));
    ssc.start().unwrap();
    ssc.advance_batches(4).unwrap();
    let u = upper.lock().clone();
    assert_eq!(
        u.iter().map(|b| b.0).collect::<Vec<_>>(),
        vec![1000, 2000, 3000, 4000]
    );
    assert_eq!(u[0].1, vec!["A", "BB"]);
    assert_eq!(u[2].1, vec!["CCC", "A", "A"]);
    assert!(u[3].1.is_empty(), "an empty queue gives an empty batch");
    let c: Vec<Vec<i64>> = counts.lock().iter().map(|b| b.1.clone()).collect();
    assert_eq!(
        c,
        vec![vec![2], vec![0], vec![3], vec![0]],
        "count of an empty batch is [0]"
    );
    assert_eq!(lens.lock()[2].1, vec![3]);
    let r: Vec<Vec<i64>> = reduced.lock().iter().map(|b| b.1.clone()).collect();
    assert_eq!(
        r,
        vec![vec![3], vec![], vec![5], vec![]],
        "reduce of an empty batch is empty"
    );
    ssc.stop(true, true);
}

#[test]
fn print_uses_sparks_format() {
    let text = format_batch(
        &[("a".to_string(), 1i64), ("b".to_string(), 2)],
        1,
        Time(2000),
    );
    assert_eq!(
        text,
        "-------------------------------------------\nTime: 2000 ms\n-------------------------------------------\n(a,1)\n...\n\n"
    );
    let text = format_batch::<i32>(&[], 10, Time(1000));
    assert_eq!(
        text,
        "-------------------------------------------\nTime: 1000 ms\n-------------------------------------------\n\n"
    );
}

#[test]
fn windows_with_and_without_inverse() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let s = feed(&ssc, &[&["a"], &["a", "b"], &["b"], &[], &["c"]]);
    let pairs = s.map(|w| (w, 1i64));
    let w = Duration::from_secs(2);
    let sl = Duration::from_secs(1);
    let plain = collect(
        &pairs
            .reduce_by_key_and_window(|a, b| a + b)
            .window(w)
            .slide(sl)
            .partitions(2),
    );
    let inv = collect(
        &pairs
            .reduce_by_key_and_window(|a, b| a + b)
            .inverse(|a, b| a - b)
            .window(w)
            .slide(sl)
            .partitions(2),
    );
    let filtered = collect(
        &pairs
            .reduce_by_key_and_window(|a, b| a + b)
            .inverse(|a, b| a - b)
            .filter(|kv| kv.1 != 0)
            .window(w)
            .slide(sl)
            .partitions(2),
    );
    let windowed = collect(&s.window_with(w, sl));
    let counted = collect(&s.count_by_window(w).slide(sl));
    ssc.start().unwrap();
    ssc.advance_batches(7).unwrap();
    let sorted = |o: &Out<(String, i64)>| -> Vec<Vec<(String, i64)>> {
        o.lock()
            .iter()
            .map(|b| {
                let mut v = b.1.clone();
                v.sort();
                v
            })
            .collect()
    };
    let kv = |v: &[(&str, i64)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sorted(&plain),
        vec![
            kv(&[("a", 1)]),
            kv(&[("a", 2), ("b", 1)]),
            kv(&[("a", 1), ("b", 2)]),
            kv(&[("b", 1)]),
            kv(&[("c", 1)]),
            kv(&[("c", 1)]),
            kv(&[]),
        ]
    );
    assert_eq!(
        sorted(&inv),
        vec![
            kv(&[("a", 1)]),
            kv(&[("a", 2), ("b", 1)]),
            kv(&[("a", 1), ("b", 2)]),
            kv(&[("a", 0), ("b", 1)]),
            kv(&[("a", 0), ("b", 0), ("c", 1)]),
            kv(&[("a", 0), ("b", 0), ("c", 1)]),
            kv(&[("a", 0), ("b", 0), ("c", 0)]),
        ]
    );
    assert_eq!(
        sorted(&filtered),
        sorted(&plain),
        "filtering zero counts gives the plain result"
    );
    let win: Vec<Vec<String>> = windowed.lock().iter().map(|b| b.1.clone()).collect();
    assert_eq!(
        win[1],
        vec!["a", "a", "b"],
        "window in (T-W, T], oldest first"
    );
    let cw: Vec<Vec<i64>> = counted.lock().iter().map(|b| b.1.clone()).collect();
    assert_eq!(
        cw,
        vec![
            vec![1],
            vec![3],
            vec![3],
            vec![1],
            vec![1],
            vec![1],
            vec![0]
        ]
    );
    ssc.stop(true, false);
}

#[test]
fn a_window_not_a_multiple_of_the_batch_fails_start_naming_the_operation() {
    let ssc = ssc();
    let s = feed(&ssc, &[]);
    // The chain reads on (no `Result` in the middle); `start` reports the definition.
    s.window_with(Duration::from_millis(1500), Duration::from_secs(1))
        .map(|w| w.len())
        .print();
    let e = ssc.start().unwrap_err();
    assert!(
        matches!(
            e,
            spate_streaming::Error::InvalidStream {
                operation: "window",
                ..
            }
        ),
        "{e}"
    );
    let e = e.to_string();
    assert!(e.starts_with("window (stream "), "{e}");
    assert!(e.contains("1500") && e.contains("multiple"), "{e}");
}

#[test]
fn windowed_reductions_and_joins_report_their_definition_errors_at_start() {
    let bad = Duration::from_millis(1500);
    let cases: Vec<(&str, Box<dyn Fn(&DStream<String>)>)> = vec![
        (
            "reduce_by_key_and_window",
            Box::new(|s| {
                s.map(|w| (w, 1i64))
                    .reduce_by_key_and_window(|a, b| a + b)
                    .inverse(|a, b| a - b)
                    .window(Duration::from_secs(2))
                    .slide(bad)
                    .print()
            }),
        ),
        (
            "reduce_by_key_and_window",
            // No window given.
            Box::new(|s| {
                s.map(|w| (w, 1i64))
                    .reduce_by_key_and_window(|a, b| a + b)
                    .print()
            }),
        ),
        (
            "count_by_window",
            Box::new(|s| s.count_by_window(bad).print()),
        ),
        (
            "join",
            Box::new(|s| {
                let pairs = s.map(|w| (w, 1i64));
                let slow = pairs.window_with(Duration::from_secs(2), Duration::from_secs(2));
                pairs.join(&slow).print()
            }),
        ),
        (
            "checkpoint",
            Box::new(|s| s.clone().checkpoint(bad).print()),
        ),
    ];
    for (op, define) in cases {
        let ssc = ssc();
        let s = feed(&ssc, &[]);
        define(&s);
        let e = ssc.start().unwrap_err();
        match &e {
            spate_streaming::Error::InvalidStream { operation, .. } => {
                assert_eq!(*operation, op, "{e}")
            }
            other => panic!("{op}: expected a definition error, got {other}"),
        }
    }
}

#[test]
fn a_failing_output_surfaces_from_await_termination_with_the_batch() {
    let ssc = ssc();
    let s = feed(&ssc, &[&["ok"], &["boom"]]);
    s.foreach_rdd(|rdd, _| {
        let v = rdd.collect()?;
        if v.iter().any(|x| x == "boom") {
            return Err("found a boom".into());
        }
        Ok(())
    });
    ssc.start().unwrap();
    let e = ssc.advance_batches(2).unwrap_err().to_string();
    assert!(e.contains("2000 ms") && e.contains("found a boom"), "{e}");
    let e = ssc.await_termination().unwrap_err().to_string();
    assert!(e.contains("2000 ms"), "{e}");
    ssc.stop(true, false);
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
}

#[test]
fn the_graph_is_describable_as_data_and_concurrent_jobs_run_every_output() {
    let conf = spate_core::SpateConf::new()
        .master("local[2]")
        .unwrap()
        .set("spate.streaming.concurrentJobs", "3")
        .unwrap();
    let ssc = StreamingContext::with_clock(
        Context::new(conf).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    let s = feed(&ssc, &[&["a", "b"], &["c"]]);
    let w = s.window_with(Duration::from_secs(2), Duration::from_secs(1));
    let outs: Vec<_> = (0..3).map(|_| collect(&w.count())).collect();
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    for o in &outs {
        let v: Vec<Vec<i64>> = o.lock().iter().map(|b| b.1.clone()).collect();
        assert_eq!(v, vec![vec![2], vec![3], vec![1]]);
    }
    let g = ssc.graph_description();
    let ops: Vec<&str> = g.iter().map(|d| d.operation.as_str()).collect();
    assert_eq!(
        ops,
        vec!["count", "window", "queue_stream", "count", "count"],
        "{g:?}"
    );
    let window = g.iter().find(|d| d.operation == "window").unwrap();
    let queue = g.iter().find(|d| d.operation == "queue_stream").unwrap();
    assert_eq!(window.parents, vec![queue.id]);
    assert!(
        queue.remember_ms >= 2000,
        "the window's parent remembers the window: {queue:?}"
    );
    ssc.stop(true, false);
}

#[test]
fn queue_stream_all_at_once_and_default_rdd() {
    let ssc = ssc();
    let q = RddQueue::new();
    for b in [vec![1, 2], vec![3], vec![4, 5, 6]] {
        q.push(ssc.ctx().parallelize_with(b, 2));
    }
    let default = ssc.ctx().parallelize_with(vec![0], 1);
    let all = collect(&ssc.queue_stream_with(&q, false, Some(default)));
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    q.push(ssc.ctx().parallelize_with(vec![7], 1));
    ssc.advance_batches(2).unwrap();
    let got: Vec<Vec<i32>> = all.lock().iter().map(|b| b.1.clone()).collect();
    assert_eq!(
        got,
        vec![vec![1, 2, 3, 4, 5, 6], vec![7], vec![0]],
        "all queued RDDs united, then the default"
    );
    ssc.stop(true, false);
}

#[test]
fn save_as_text_files_writes_one_directory_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    let s = feed(&ssc, &[&["a", "b"], &["c"]]);
    let prefix = dir.path().join("out").display().to_string();
    s.map(|w| (w, 1i64)).save_as_text_files(&prefix, "txt");
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    ssc.stop(true, false);
    assert_eq!(batch_file_name("p", "", Time(5)), "p-5");
    let read = |t: i64| -> Vec<String> {
        let d = std::path::PathBuf::from(batch_file_name(&prefix, "txt", Time(t)));
        assert!(d.join("_SUCCESS").exists(), "{}", d.display());
        let mut lines: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
            .flat_map(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(read(1000), vec!["(a,1)", "(b,1)"]);
    assert_eq!(read(2000), vec!["(c,1)"]);
}

// ---------------------------------------------------------------------------------------
// Failing outputs
// ---------------------------------------------------------------------------------------

fn conf() -> SpateConf {
    support::local2("basics")
}

struct PanickyListener(Arc<AtomicUsize>);

impl StreamingListener for PanickyListener {
    fn on_batch_started(&self, _b: &BatchInfo) {
        panic!("listener boom");
    }
    fn on_batch_completed(&self, _b: &BatchInfo) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("listener boom");
    }
}

#[test]
fn panicking_output_and_listener_then_more_batches() {
    let ssc = support::manual_ssc_skipping();
    let n = Arc::new(AtomicUsize::new(0));
    ssc.add_streaming_listener(Arc::new(PanickyListener(n.clone())));
    let s = ssc.replay_stream(
        vec![Some(vec![1]), Some(vec![2]), Some(vec![3]), Some(vec![4])],
        1,
    );
    s.foreach_rdd(|rdd, t| {
        if t.millis() == 2000 {
            panic!("output boom");
        }
        rdd.count()?;
        Ok(())
    });
    let out = collect(&s);
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err().to_string();
    assert!(e.contains("output boom"), "{e}");
    ssc.advance_batches(2).unwrap();
    // The error stays for await_termination; then the stream keeps going.
    let e = ssc.await_termination().unwrap_err().to_string();
    assert!(e.contains("2000"), "{e}");
    assert_eq!(out.lock().len(), 4);
    assert_eq!(n.load(Ordering::SeqCst), 4);
    assert!(!ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
    ssc.stop(false, false);
    ssc.await_termination().unwrap();
}

#[test]
fn concurrent_jobs_with_failures() {
    let ctx = Context::new(
        conf()
            .set("spate.streaming.concurrentJobs", "3")
            .unwrap()
            .set("spate.streaming.outputFailure", "skip")
            .unwrap(),
    )
    .unwrap();
    let ssc = support::manual_over(ctx);
    let s = ssc.replay_stream((1..=6).map(|i| Some(vec![i])).collect(), 1);
    let ok = Arc::new(AtomicUsize::new(0));
    for j in 0..3 {
        let ok = ok.clone();
        s.foreach_rdd(move |rdd, t| {
            if (t.millis() / 1000) % 3 == j {
                return Err(format!("fail {j} at {}", t.millis()).into());
            }
            rdd.collect()?;
            ok.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    ssc.start().unwrap();
    for _ in 0..6 {
        assert!(ssc.advance_batches(1).is_err());
    }
    assert_eq!(ok.load(Ordering::SeqCst), 12);
    assert_eq!(ssc.completed_batches().len(), 6);
    ssc.stop(false, true);
}
