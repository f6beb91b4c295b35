//! The SQLite sink on a real database file: three batches of a stream land as rows, each
//! with its batch time; a batch committed twice (a replay) has its rows once; upserts
//! update rows by key; a table that does not fit the records and a record that is not a
//! flat struct fail with errors naming the table and what does not fit.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use spate_core::{BoxIter, Context};
use spate_db::SqliteSink;
use spate_streaming::{RddQueue, Sink, StreamingContext, Time};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Count {
    word: String,
    n: i64,
    ratio: f64,
}

fn counts(batch: i64, words: &[&str]) -> Vec<Count> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| Count {
            word: (*w).to_string(),
            n: batch * 10 + i as i64,
            ratio: i as f64 / 4.0,
        })
        .collect()
}

fn rows(db: &std::path::Path, sql: &str) -> Vec<(String, i64, f64, i64)> {
    let c = Connection::open(db).expect("open");
    let mut st = c.prepare(sql).expect("prepare");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows")
}

fn iter<T: Send + 'static>(v: Vec<T>) -> BoxIter<T> {
    Box::new(v.into_iter())
}

#[test]
fn a_streams_batches_land_as_rows_and_a_replayed_batch_once() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("counts.db");
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    q.push(ctx.parallelize_with(counts(1, &["a", "b", "c"]), 2));
    q.push(ctx.parallelize_with(counts(2, &["b", "d"]), 2));
    q.push(ctx.parallelize_with(counts(3, &["e"]), 1));
    ssc.queue_stream(&q)
        .write_to(SqliteSink::append(&db, "word_counts"));
    ssc.start().expect("start");
    let count = || {
        Connection::open(&db)
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM word_counts", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0)
    };
    let until = Instant::now() + Duration::from_secs(20);
    while count() < 6 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    let got = rows(
        &db,
        "SELECT word, n, ratio, spate_batch_time FROM word_counts ORDER BY spate_batch_time, word",
    );
    let words: Vec<(&str, i64, f64)> = got.iter().map(|r| (r.0.as_str(), r.1, r.2)).collect();
    assert_eq!(
        words,
        vec![
            ("a", 10, 0.0),
            ("b", 11, 0.25),
            ("c", 12, 0.5),
            ("b", 20, 0.0),
            ("d", 21, 0.25),
            ("e", 30, 0.0)
        ]
    );
    let times: std::collections::BTreeSet<i64> = got.iter().map(|r| r.3).collect();
    assert_eq!(times.len(), 3, "three batch times: {times:?}");

    // The same batch committed twice (a replay): its rows once, the others untouched.
    let sink = SqliteSink::append(&db, "word_counts");
    Sink::<Count>::open(&sink).expect("open");
    let t = Time(*times.iter().next().expect("a time"));
    let staged = sink
        .write(t, 0, 7, iter(counts(9, &["x", "y"])))
        .expect("stage");
    Sink::<Count>::commit(&sink, t, vec![staged.clone()]).expect("commit");
    Sink::<Count>::commit(&sink, t, vec![staged]).expect("commit again");
    let got = rows(
        &db,
        &format!("SELECT word, n, ratio, spate_batch_time FROM word_counts WHERE spate_batch_time = {} ORDER BY word", t.0),
    );
    let words: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        words,
        vec!["x", "y"],
        "the replayed batch replaced its rows, once"
    );
    assert_eq!(count(), 5, "the other batches' rows are untouched");
}

#[test]
fn upserts_update_rows_by_key() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("latest.db");
    let sink = SqliteSink::upsert(&db, "latest", ["word"]);
    Sink::<Count>::open(&sink).expect("open");
    for (t, batch) in [
        (1000, counts(1, &["a", "b"])),
        (2000, counts(2, &["b", "c"])),
    ] {
        let staged = sink.write(Time(t), 0, 0, iter(batch)).expect("stage");
        Sink::<Count>::commit(&sink, Time(t), vec![staged]).expect("commit");
    }
    let got = rows(&db, "SELECT word, n, ratio, 0 FROM latest ORDER BY word");
    let words: Vec<(&str, i64)> = got.iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(words, vec![("a", 10), ("b", 20), ("c", 21)]);
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Nested {
    word: String,
    tags: Vec<String>,
}

#[test]
fn a_table_that_does_not_fit_and_a_nested_record_fail_naming_what() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("bad.db");
    Connection::open(&db)
        .and_then(|c| c.execute("CREATE TABLE t (word TEXT, spate_batch_time INTEGER)", []))
        .expect("a table");
    let sink = SqliteSink::append(&db, "t");
    Sink::<Count>::open(&sink).expect("open");
    let staged = sink
        .write(Time(1), 0, 0, iter(counts(1, &["a"])))
        .expect("stage");
    let err = Sink::<Count>::commit(&sink, Time(1), vec![staged]).expect_err("no column n");
    let text = err.to_string();
    assert!(
        text.contains("table `t`") && text.contains("no column `n`"),
        "{text}"
    );
    let nested = vec![Nested {
        word: "a".into(),
        tags: vec!["x".into()],
    }];
    let staged = sink.write(Time(2), 0, 0, iter(nested)).expect("stage");
    let err = Sink::<Nested>::commit(&sink, Time(2), vec![staged]).expect_err("nested");
    assert!(err.to_string().contains("nested value"), "{err}");
    // An upsert key that the table lacks is refused at the start.
    let sink = SqliteSink::upsert(&db, "t", ["id"]);
    let err = Sink::<Count>::open(&sink).expect_err("no key column");
    assert!(err.to_string().contains("key column `id`"), "{err}");
}
