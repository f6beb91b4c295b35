//! The Kinesis stream on `local-cluster[2,1]`: the driver reads each shard to plan the
//! batch's sequence-number ranges; the executor processes compute the batches, reading
//! each range from Kinesis again by its sequence numbers (what the driver read is in its
//! own memory only). 600 records on a two-shard stream, half put while the stream runs:
//! each is read exactly once, and by an executor process.

#[allow(dead_code)]
#[path = "common/kinesalite.rs"]
mod kinesalite;

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_kinesis::{create_stream, InitialPosition, KinesisParams};
use spate_streaming::StreamingContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn records(from: usize, to: usize) -> Vec<(String, String)> {
    (from..to)
        .map(|i| (format!("k{}", i % 20), format!("v{i}")))
        .collect()
}

fn main() {
    spate_cluster::register();
    // The driver sets up the stream (and a server, when the test command did not start
    // one); the executor processes inherit where they are from its environment.
    let mut own = None;
    if std::env::var("SPATE_EXECUTOR_ID").is_err() {
        let Some(k) = kinesalite::server("kinesis on_cluster") else {
            return;
        };
        let stream = format!("cluster-{}", std::process::id());
        k.create_stream(&stream, 2);
        k.put(&stream, &records(0, 300));
        std::env::set_var("SPATE_TEST_KINESIS_ENDPOINT", &k.endpoint);
        std::env::set_var("KINESIS_CLUSTER_STREAM", &stream);
        own = Some(k);
    }
    let (Ok(endpoint), Ok(name)) = (
        std::env::var("SPATE_TEST_KINESIS_ENDPOINT"),
        std::env::var("KINESIS_CLUSTER_STREAM"),
    ) else {
        eprintln!("kinesis on_cluster: an executor without the driver's endpoint and stream");
        std::process::exit(1)
    };
    let ctx = Context::new(
        SpateConf::new()
            .master("local-cluster[2,1]")
            .and_then(|c| c.app_name("kinesis-on-cluster"))
            .expect("configuration"),
    )
    .unwrap_or_else(|e| {
        eprintln!("local-cluster[2,1] failed to start: {e}");
        std::process::exit(1)
    });
    let is_driver = ctx.is_driver();
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300))
        .expect("streaming context");
    let params = KinesisParams::new(&name)
        .endpoint(&endpoint)
        .region("us-east-1")
        .credentials("test", "test")
        .initial_position(InitialPosition::TrimHorizon);
    let (stream, _) = create_stream(&ssc, params).expect("stream");
    // (sequence number, value, the process that read it).
    let got = Arc::new(Mutex::new(Vec::<(String, String, String)>::new()));
    let g = got.clone();
    stream
        .map(|r| {
            let reader = std::env::var("SPATE_EXECUTOR_ID").unwrap_or_else(|_| "driver".into());
            let v = r.data_str().unwrap_or_default().to_string();
            (r.sequence_number, v, reader)
        })
        .foreach_rdd(move |rdd, _| {
            let v = rdd.collect()?;
            if is_driver {
                g.lock().extend(v);
            }
            Ok(())
        });
    ssc.start().expect("start");
    if !is_driver {
        let _ = ssc.await_termination();
        return;
    }
    let Some(k) = own.as_ref() else { return };
    k.put(&name, &records(300, 600));
    let until = Instant::now() + Duration::from_secs(90);
    while got.lock().len() < 600 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(900));
    ssc.stop(false, true);
    ctx.stop();
    let got = got.lock().clone();
    let mut seqs: Vec<&str> = got.iter().map(|(s, _, _)| s.as_str()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), got.len(), "a record was read twice");
    let mut values: Vec<usize> = got
        .iter()
        .map(|(_, v, _)| v[1..].parse().expect("value"))
        .collect();
    values.sort_unstable();
    assert_eq!(
        values,
        (0..600).collect::<Vec<_>>(),
        "records missing or extra"
    );
    let readers: std::collections::BTreeSet<&str> =
        got.iter().map(|(_, _, r)| r.as_str()).collect();
    assert!(
        !readers.is_empty() && !readers.contains("driver"),
        "ranges were read by {readers:?}, not only by executor processes"
    );
    println!("kinesis on_cluster: ok (600 records, each once, read by {readers:?})");
}
