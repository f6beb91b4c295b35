//! The Kinesis stream against a real Kinesis-API server (kinesalite): every record of a
//! two-shard stream read once, across a split and a merge while it runs, each partition
//! key's records in order; the ranges each batch read; where shards start (trim horizon,
//! latest, at a timestamp); a missing stream refused at the start.

#[allow(dead_code)]
#[path = "common/kinesalite.rs"]
mod kinesalite;

use parking_lot::Mutex;
use spate_core::Context;
use spate_kinesis::{create_stream, InitialPosition, KinesisParams, KinesisRecord, SequenceRanges};
use spate_streaming::StreamingContext;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running stream and every record its batches collected, in batch order.
struct Running {
    ssc: StreamingContext,
    got: Arc<Mutex<Vec<KinesisRecord>>>,
    ranges: SequenceRanges,
}

fn run(params: KinesisParams) -> Running {
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let (stream, ranges) = create_stream(&ssc, params).expect("stream");
    let got: Arc<Mutex<Vec<KinesisRecord>>> = Arc::default();
    let g = got.clone();
    stream.foreach_rdd(move |rdd, _| {
        g.lock().extend(rdd.collect()?);
        Ok(())
    });
    ssc.start().expect("start");
    Running { ssc, got, ranges }
}

impl Running {
    fn wait_for(&self, n: usize) {
        let until = Instant::now() + Duration::from_secs(60);
        while self.got.lock().len() < n && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    /// Stops (a little later: a record read twice would show); the records.
    fn finish(self) -> (Vec<KinesisRecord>, SequenceRanges) {
        std::thread::sleep(Duration::from_millis(900));
        self.ssc.stop(false, true);
        let got = self.got.lock().clone();
        (got, self.ranges)
    }
}

fn records(from: usize, to: usize) -> Vec<(String, String)> {
    (from..to)
        .map(|i| (format!("k{}", i % 20), format!("v{i}")))
        .collect()
}

fn values(got: &[KinesisRecord]) -> Vec<usize> {
    let mut v: Vec<usize> = got
        .iter()
        .map(|r| r.data_str().expect("text")[1..].parse().expect("index"))
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn every_record_once_across_a_split_and_a_merge_in_key_order() {
    let Some(k) = kinesalite::server("kinesis stream") else {
        return;
    };
    let name = format!("reshard-{}", std::process::id());
    k.create_stream(&name, 2);
    k.put(&name, &records(0, 200));
    let r = run(k
        .params(&name)
        .initial_position(InitialPosition::TrimHorizon));
    r.wait_for(200);
    k.put(&name, &records(200, 300));
    r.wait_for(300);
    // A split while the stream runs, then records to the children.
    let shards = k.open_shards(&name);
    k.split(&name, &shards[0]);
    k.put(&name, &records(300, 450));
    r.wait_for(450);
    // The split's two children merged again.
    let mut children: Vec<String> = k
        .open_shards(&name)
        .into_iter()
        .filter(|s| !shards.contains(s))
        .collect();
    children.sort();
    assert_eq!(children.len(), 2, "the split's children: {children:?}");
    k.merge(&name, &children[0], &children[1]);
    k.put(&name, &records(450, 600));
    r.wait_for(600);
    let (got, ranges) = r.finish();
    assert_eq!(
        values(&got),
        (0..600).collect::<Vec<_>>(),
        "missing, extra or repeated records"
    );
    let shards_read: BTreeSet<&str> = got.iter().map(|r| r.shard_id.as_str()).collect();
    assert_eq!(
        shards_read.len(),
        5,
        "records from the 2 shards, 2 children and the merged shard: {shards_read:?}"
    );
    // Each key's records arrive in the order they were put, across split and merge.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &got {
        let i: usize = r.data_str().expect("text")[1..].parse().expect("index");
        if let Some(prev) = last.insert(r.partition_key.as_str(), i) {
            assert!(prev < i, "key {}: v{i} read after v{prev}", r.partition_key);
        }
    }
    // The ranges: per shard, in order and without overlap; their counts add up.
    let all = ranges.all();
    let mut until: BTreeMap<String, String> = BTreeMap::new();
    let mut counted = 0;
    for (_, rs) in &all {
        for r in rs {
            if let Some(prev) = until.get(&r.shard_id) {
                assert!(
                    (prev.len(), prev) < (r.from.len(), &r.from),
                    "{r} starts at or before {prev}"
                );
            }
            until.insert(r.shard_id.clone(), r.until.clone());
            counted += r.count;
        }
    }
    assert_eq!(counted, 600);
}

#[test]
fn shards_start_at_the_latest_record_or_at_a_timestamp() {
    let Some(k) = kinesalite::server("kinesis stream") else {
        return;
    };
    let name = format!("initial-{}", std::process::id());
    k.create_stream(&name, 1);
    k.put(&name, &records(0, 50));
    std::thread::sleep(Duration::from_millis(600));
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    std::thread::sleep(Duration::from_millis(600));
    k.put(&name, &records(50, 100));
    // At a timestamp: the records that arrived after it.
    let r = run(k
        .params(&name)
        .initial_position(InitialPosition::AtTimestamp(t)));
    r.wait_for(50);
    let (got, _) = r.finish();
    assert_eq!(values(&got), (50..100).collect::<Vec<_>>());
    // Latest: only what arrives after the start.
    let r = run(k.params(&name).initial_position(InitialPosition::Latest));
    std::thread::sleep(Duration::from_millis(700));
    k.put(&name, &records(100, 130));
    r.wait_for(30);
    let (got, _) = r.finish();
    assert_eq!(values(&got), (100..130).collect::<Vec<_>>());
}

#[test]
fn a_missing_stream_and_an_unreachable_endpoint_fail_the_start_with_the_reason() {
    let Some(k) = kinesalite::server("kinesis stream") else {
        return;
    };
    let ctx = Context::local(1).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300)).expect("ssc");
    let (s, _) = create_stream(&ssc, k.params("no-such-stream")).expect("stream");
    s.foreach_rdd(|_, _| Ok(()));
    let err = ssc.start().expect_err("a missing stream").to_string();
    assert!(
        err.contains("no-such-stream") && err.contains("does not exist"),
        "{err}"
    );
    let ssc = StreamingContext::with_context(ctx, Duration::from_millis(300)).expect("ssc");
    let params = KinesisParams::new("s")
        .endpoint("http://127.0.0.1:1")
        .credentials("a", "b");
    let (s, _) = create_stream(&ssc, params).expect("stream");
    s.foreach_rdd(|_, _| Ok(()));
    let err = ssc
        .start()
        .expect_err("an unreachable endpoint")
        .to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
}
