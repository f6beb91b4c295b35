//! The PostgreSQL sink against a real server (the one `scripts/test.sh` starts,
//! `SPATE_TEST_POSTGRES`): a stream's batches land as rows with their batch time; a batch
//! committed twice has its rows once; upserts update by key; a table that does not fit,
//! and an unreachable server, fail with errors naming what.

use postgres::{Client, NoTls};
use serde::{Deserialize, Serialize};
use spate_core::{BoxIter, Context};
use spate_db::PostgresSink;
use spate_streaming::{RddQueue, Sink, StreamingContext, Time};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Count {
    word: String,
    n: i64,
    ratio: f64,
    ok: bool,
}

fn counts(batch: i64, words: &[&str]) -> Vec<Count> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| Count {
            word: (*w).to_string(),
            n: batch * 10 + i as i64,
            ratio: i as f64 / 4.0,
            ok: i % 2 == 0,
        })
        .collect()
}

fn server(test: &str) -> Option<String> {
    match std::env::var("SPATE_TEST_POSTGRES") {
        Ok(p) => Some(p),
        Err(_) if std::env::var("SPATE_TEST_REQUIRE_SERVICES").is_ok() => {
            panic!("{test}: no PostgreSQL server (SPATE_TEST_POSTGRES)")
        }
        Err(_) => {
            println!("{test}: SKIPPED (no PostgreSQL: run scripts/test.sh, which starts one)");
            None
        }
    }
}

fn query(params: &str, sql: &str) -> Vec<(String, i64, f64, bool)> {
    let mut c = Client::connect(params, NoTls).expect("connect");
    c.query(sql, &[])
        .expect("query")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

fn iter<T: Send + 'static>(v: Vec<T>) -> BoxIter<T> {
    Box::new(v.into_iter())
}

#[test]
fn a_streams_batches_land_as_rows_and_a_replayed_batch_once() {
    let Some(pg) = server("postgres sink") else {
        return;
    };
    let table = format!("counts_{}", std::process::id());
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(200)).expect("ssc");
    let q = RddQueue::new();
    q.push(ctx.parallelize_with(counts(1, &["a", "b", "c"]), 2));
    q.push(ctx.parallelize_with(counts(2, &["b", "d"]), 2));
    q.push(ctx.parallelize_with(counts(3, &["e"]), 1));
    ssc.queue_stream(&q)
        .write_to(PostgresSink::append(&pg, &table));
    ssc.start().expect("start");
    let all = format!("SELECT word, n, ratio, ok FROM {table} ORDER BY spate_batch_time, word");
    let until = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < 6 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        let mut c = Client::connect(&pg, NoTls).expect("connect");
        if c.query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1",
            &[&table],
        )
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(0)
            == 1
        {
            got = query(&pg, &all);
        }
    }
    ssc.stop(false, true);
    let words: Vec<(&str, i64, f64, bool)> =
        got.iter().map(|r| (r.0.as_str(), r.1, r.2, r.3)).collect();
    assert_eq!(
        words,
        vec![
            ("a", 10, 0.0, true),
            ("b", 11, 0.25, false),
            ("c", 12, 0.5, true),
            ("b", 20, 0.0, true),
            ("d", 21, 0.25, false),
            ("e", 30, 0.0, true)
        ]
    );
    // The first batch committed twice (a replay): its rows once, the others untouched.
    let mut c = Client::connect(&pg, NoTls).expect("connect");
    let first: i64 = c
        .query_one(&format!("SELECT MIN(spate_batch_time) FROM {table}"), &[])
        .expect("min")
        .get(0);
    let sink = PostgresSink::append(&pg, &table);
    Sink::<Count>::open(&sink).expect("open");
    let staged = sink
        .write(Time(first), 0, 7, iter(counts(9, &["x", "y"])))
        .expect("stage");
    Sink::<Count>::commit(&sink, Time(first), vec![staged.clone()]).expect("commit");
    Sink::<Count>::commit(&sink, Time(first), vec![staged]).expect("commit again");
    let got = query(
        &pg,
        &format!(
            "SELECT word, n, ratio, ok FROM {table} WHERE spate_batch_time = {first} ORDER BY word"
        ),
    );
    let words: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        words,
        vec!["x", "y"],
        "the replayed batch replaced its rows, once"
    );
    assert_eq!(
        query(&pg, &all).len(),
        5,
        "the other batches' rows are untouched"
    );
}

#[test]
fn upserts_update_rows_by_key_and_a_table_that_does_not_fit_fails() {
    let Some(pg) = server("postgres sink") else {
        return;
    };
    let table = format!("latest_{}", std::process::id());
    let sink = PostgresSink::upsert(&pg, &table, ["word"]);
    Sink::<Count>::open(&sink).expect("open");
    for (t, batch) in [
        (1000, counts(1, &["a", "b"])),
        (2000, counts(2, &["b", "c"])),
    ] {
        let staged = sink.write(Time(t), 0, 0, iter(batch)).expect("stage");
        Sink::<Count>::commit(&sink, Time(t), vec![staged]).expect("commit");
    }
    let got = query(
        &pg,
        &format!("SELECT word, n, ratio, ok FROM {table} ORDER BY word"),
    );
    let words: Vec<(&str, i64)> = got.iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(words, vec![("a", 10), ("b", 20), ("c", 21)]);
    // A table without the records' columns.
    let bad = format!("bad_{}", std::process::id());
    let mut c = Client::connect(&pg, NoTls).expect("connect");
    c.batch_execute(&format!(
        "CREATE TABLE {bad} (word TEXT, spate_batch_time BIGINT)"
    ))
    .expect("a table");
    let sink = PostgresSink::append(&pg, &bad);
    let staged = sink
        .write(Time(1), 0, 0, iter(counts(1, &["a"])))
        .expect("stage");
    let err = Sink::<Count>::commit(&sink, Time(1), vec![staged]).expect_err("no column n");
    assert!(
        err.to_string().contains(&format!("table `{bad}`"))
            && err.to_string().contains("no column"),
        "{err}"
    );
}

#[test]
fn an_unreachable_server_fails_the_start_naming_it() {
    let sink = PostgresSink::append("host=127.0.0.1 port=1 user=nobody dbname=x", "t");
    let err = Sink::<Count>::open(&sink)
        .expect_err("unreachable")
        .to_string();
    assert!(err.contains("port=1") && err.contains("attempts"), "{err}");
}
