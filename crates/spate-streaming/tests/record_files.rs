//! Batches saved as JSON lines and CSV files (`save_as_json_files`,
//! `save_as_csv_files`): each batch is one directory with `_SUCCESS` and part files whose
//! records read back equal to what was written (a CSV header from the struct's fields);
//! a record CSV cannot hold fails its batch with an error naming the file, and leaves no
//! directory.

use serde::{Deserialize, Serialize};
use spate_core::Context;
use spate_streaming::{RddQueue, StreamingContext};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    value: f64,
    ok: bool,
}

fn readings(from: usize, n: usize) -> Vec<Reading> {
    (from..from + n)
        .map(|i| Reading {
            // Commas and quotes must survive CSV.
            sensor: format!("s{i}, \"north\""),
            value: i as f64 / 4.0,
            ok: i % 3 != 0,
        })
        .collect()
}

/// The batch directories under `dir` named `<name>-<ms>[.ext]`, sorted by time.
fn batch_dirs(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{name}-")))
        })
        .collect();
    v.sort();
    v
}

/// The part files of a batch directory, in order (after checking `_SUCCESS`).
fn parts(batch: &Path) -> Vec<std::path::PathBuf> {
    assert!(
        batch.join("_SUCCESS").exists(),
        "{} has no _SUCCESS",
        batch.display()
    );
    let mut v: Vec<_> = std::fs::read_dir(batch)
        .expect("batch dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn json_lines_and_csv_batches_read_back_equal() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    q.push(ctx.parallelize_with(readings(0, 30), 3));
    q.push(ctx.parallelize_with(readings(30, 20), 2));
    let stream = ssc.queue_stream(&q);
    let json = dir.path().join("json").to_string_lossy().into_owned();
    let csv = dir.path().join("csv").to_string_lossy().into_owned();
    stream.save_as_json_files(&json, "jsonl");
    stream.save_as_csv_files(&csv, "");
    ssc.start().expect("start");
    let until = Instant::now() + Duration::from_secs(20);
    while batch_dirs(dir.path(), "csv").len() < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    let json_dirs = batch_dirs(dir.path(), "json");
    let csv_dirs = batch_dirs(dir.path(), "csv");
    assert!(
        json_dirs.len() >= 2 && csv_dirs.len() >= 2,
        "{json_dirs:?} {csv_dirs:?}"
    );
    for (b, want) in [(0usize, readings(0, 30)), (1, readings(30, 20))] {
        assert!(
            json_dirs[b].to_string_lossy().ends_with(".jsonl"),
            "{:?}",
            json_dirs[b]
        );
        // JSON lines: one object per line, in partition order.
        let mut got: Vec<Reading> = Vec::new();
        for p in parts(&json_dirs[b]) {
            for line in std::fs::read_to_string(&p).expect("part").lines() {
                got.push(serde_json::from_str(line).expect("a JSON line"));
            }
        }
        assert_eq!(got, want, "JSON batch {b}");
        // CSV: a header in each non-empty part file, then one row per record.
        let mut got: Vec<Reading> = Vec::new();
        for p in parts(&csv_dirs[b]) {
            let text = std::fs::read_to_string(&p).expect("part");
            if text.is_empty() {
                continue;
            }
            assert!(
                text.starts_with("sensor,value,ok\n"),
                "{}: {text}",
                p.display()
            );
            let mut r = csv::Reader::from_reader(text.as_bytes());
            for rec in r.deserialize() {
                got.push(rec.expect("a CSV row"));
            }
        }
        assert_eq!(got, want, "CSV batch {b}");
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Nested {
    name: String,
    tags: Vec<String>,
}

#[test]
fn a_record_csv_cannot_hold_fails_the_batch_naming_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = Context::local(1).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    q.push(ctx.parallelize_with(
        vec![Nested {
            name: "a".into(),
            tags: vec!["x".into(), "y".into()],
        }],
        1,
    ));
    let csv = dir.path().join("nested").to_string_lossy().into_owned();
    ssc.queue_stream(&q).save_as_csv_files(&csv, "");
    ssc.start().expect("start");
    let ended = ssc.await_termination_or_timeout(Duration::from_secs(20));
    ssc.stop(false, false);
    let err = match ended {
        Err(e) => e.to_string(),
        other => panic!("the batch did not fail: {other:?}"),
    };
    println!("the batch failed with: {err}");
    assert!(
        err.contains("CSV files") && err.contains("part-00000"),
        "{err}"
    );
    assert!(
        batch_dirs(dir.path(), "nested").is_empty(),
        "a failed batch left a directory"
    );
}
