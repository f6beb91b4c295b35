//! Batches saved as Parquet: each batch is one directory with `_SUCCESS` and Parquet part
//! files, read back with the `parquet` crate's Arrow reader equal to what was written (an
//! empty partition is a file without rows); a record that is not a struct fails its
//! batch, naming the file, and leaves no directory.

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use spate_core::Context;
use spate_parquet::ParquetSink;
use spate_streaming::{RddQueue, StreamingContext};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    value: f64,
    count: i64,
    ok: bool,
    tags: Vec<String>,
}

fn readings(from: usize, n: usize) -> Vec<Reading> {
    (from..from + n)
        .map(|i| Reading {
            sensor: format!("s{i}"),
            value: i as f64 + 0.5,
            count: i as i64 * 3,
            ok: i % 2 == 0,
            tags: (0..i % 3).map(|t| format!("t{t}")).collect(),
        })
        .collect()
}

fn batch_dirs(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
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

/// Every row of the batch directory's part files, in order, as records.
fn read_batch(batch: &Path) -> Vec<Reading> {
    assert!(
        batch.join("_SUCCESS").exists(),
        "{} has no _SUCCESS",
        batch.display()
    );
    let mut parts: Vec<PathBuf> = std::fs::read_dir(batch)
        .expect("batch")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .collect();
    parts.sort();
    let mut out = Vec::new();
    for p in parts {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&p).expect("part"))
                .expect("a Parquet file")
                .build()
                .expect("reader");
        for batch in reader {
            let batch = batch.expect("a record batch");
            let mut json = arrow_json::ArrayWriter::new(Vec::new());
            json.write(&batch).expect("to JSON");
            json.finish().expect("finish");
            let rows: Vec<serde_json::Value> =
                serde_json::from_slice(&json.into_inner()).expect("JSON rows");
            for mut r in rows {
                // Arrow's JSON writer leaves out an empty list's key when it is null; an
                // empty list stays a list.
                if r.get("tags").is_none() {
                    r["tags"] = serde_json::json!([]);
                }
                out.push(serde_json::from_value(r).expect("a Reading"));
            }
        }
    }
    out
}

#[test]
fn batches_read_back_equal_and_a_bad_record_fails_its_batch() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    q.push(ctx.parallelize_with(readings(0, 25), 3));
    // Three partitions for two records: one partition is empty.
    q.push(ctx.parallelize_with(readings(25, 2), 3));
    let prefix = dir.path().join("readings").to_string_lossy().into_owned();
    ssc.queue_stream(&q)
        .write_to(ParquetSink::new(&prefix, "parquet"));
    ssc.start().expect("start");
    let until = Instant::now() + Duration::from_secs(20);
    while batch_dirs(dir.path(), "readings").len() < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    let dirs = batch_dirs(dir.path(), "readings");
    assert!(dirs.len() >= 2, "{dirs:?}");
    assert!(dirs[0].to_string_lossy().ends_with(".parquet"));
    assert_eq!(read_batch(&dirs[0]), readings(0, 25));
    assert_eq!(read_batch(&dirs[1]), readings(25, 2));
    // The batches after the queue ran dry: directories of files without rows.
    for d in &dirs[2..] {
        assert!(read_batch(d).is_empty(), "{}", d.display());
    }

    // Plain numbers are not rows: the batch fails and leaves no directory.
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    q.push(ctx.parallelize_with(vec![1, 2, 3], 1));
    let bad = dir.path().join("numbers").to_string_lossy().into_owned();
    ssc.queue_stream(&q).write_to(ParquetSink::new(&bad, ""));
    ssc.start().expect("start");
    let ended = ssc.await_termination_or_timeout(Duration::from_secs(20));
    ssc.stop(false, false);
    let err = match ended {
        Err(e) => e.to_string(),
        other => panic!("the batch did not fail: {other:?}"),
    };
    assert!(
        err.contains("Parquet files") && err.contains("not a struct"),
        "{err}"
    );
    assert!(batch_dirs(dir.path(), "numbers").is_empty());
}
