//! The Kinesis stream survives `kill -9` of its driver: a program reads a two-shard stream
//! and writes each batch's records to a file named by the batch time. It is killed with
//! SIGKILL mid-stream while records keep arriving, then started again: `get_or_create`
//! recovers from the checkpoint, the batches it had planned are read again from their
//! recorded sequence-number ranges, and the next ones start after the stored sequence
//! numbers. Across all batch files every record appears exactly once.

#[allow(dead_code)]
#[path = "../../spate-kafka/tests/common/batch_files.rs"]
mod batch_files;
#[allow(dead_code)]
#[path = "common/kinesalite.rs"]
mod kinesalite;

use spate_core::{Context, SpateConf};
use spate_kinesis::{create_stream, InitialPosition, KinesisParams};
use spate_streaming::StreamingContext;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

/// The program: reads `stream` and writes each batch's records to `out/batch-<ms>`.
fn program(dir: &Path, endpoint: &str, stream: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")?
            .app_name("kinesis-recovery")?,
    )?;
    let checkpoint = dir.join("checkpoint");
    let (c, out) = (ctx.clone(), dir.join("out"));
    std::fs::create_dir_all(&out)?;
    let params = KinesisParams::new(stream)
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials("test", "test")
        .initial_position(InitialPosition::TrimHorizon);
    let ssc = StreamingContext::get_or_create(checkpoint.clone(), move || {
        let ssc = StreamingContext::with_context(c, Duration::from_millis(300))?;
        ssc.checkpoint(&checkpoint)?;
        let (records, _) = create_stream(&ssc, params)?;
        records
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.shard_id,
                    r.sequence_number,
                    r.data_str().unwrap_or_default()
                )
            })
            .foreach_rdd(move |rdd, time| {
                batch_files::write_batch(&out, time.0, &rdd.collect()?)?;
                Ok(())
            });
        Ok(ssc)
    })?;
    ssc.start()?;
    std::fs::write(dir.join("started"), b"")?;
    while !dir.join("stop").exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    ctx.stop();
    Ok(())
}

use batch_files::{read_out, wait_until};

fn spawn(dir: &Path, endpoint: &str, stream: &str) -> Child {
    batch_files::spawn(&[
        ("KINESIS_RECOVERY_DIR", &dir.to_string_lossy()),
        ("KINESIS_RECOVERY_ENDPOINT", endpoint),
        ("KINESIS_RECOVERY_STREAM", stream),
    ])
}

fn put(k: &kinesalite::Server, stream: &str, from: usize, to: usize) {
    let recs: Vec<(String, String)> = (from..to)
        .map(|i| (format!("k{}", i % 20), format!("v{i}")))
        .collect();
    k.put(stream, &recs);
}

fn main() {
    if let (Ok(dir), Ok(endpoint), Ok(stream)) = (
        std::env::var("KINESIS_RECOVERY_DIR"),
        std::env::var("KINESIS_RECOVERY_ENDPOINT"),
        std::env::var("KINESIS_RECOVERY_STREAM"),
    ) {
        if let Err(e) = program(Path::new(&dir), &endpoint, &stream) {
            eprintln!("kinesis driver_recovery program: {e}");
            std::process::exit(1);
        }
        return;
    }
    let Some(k) = kinesalite::server("kinesis driver_recovery") else {
        return;
    };
    let stream = format!("recovery-{}", std::process::id());
    k.create_stream(&stream, 2);
    let dir = tempfile::tempdir().expect("dir");
    put(&k, &stream, 0, 300);
    let mut child = spawn(dir.path(), &k.endpoint, &stream);
    wait_until("the first start", 60, || {
        dir.path().join("started").exists()
    });
    // Records keep arriving (30 every 100 ms) while the driver is killed without a word.
    let putter = {
        let (endpoint, stream) = (k.endpoint.clone(), stream.clone());
        std::thread::spawn(move || {
            let k = kinesalite::at(&endpoint);
            for from in (300..900).step_by(30) {
                put(&k, &stream, from, from + 30);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    wait_until("450 records written", 60, || {
        read_out(dir.path()).0.len() >= 450
    });
    let _ = child.kill();
    let _ = child.wait();
    let before = read_out(dir.path()).0.len();
    std::fs::remove_file(dir.path().join("started")).expect("marker");
    putter.join().expect("putter");
    let mut child = spawn(dir.path(), &k.endpoint, &stream);
    wait_until("the recovered start", 60, || {
        dir.path().join("started").exists()
    });
    wait_until("every record written", 90, || {
        read_out(dir.path()).0.len() >= 900
    });
    std::thread::sleep(Duration::from_millis(900));
    std::fs::write(dir.path().join("stop"), b"").expect("stop");
    let status = child.wait().expect("the recovered program");
    let (seen, dups) = read_out(dir.path());
    assert_eq!(
        dups, 0,
        "records written by two batches: each must be in exactly one"
    );
    let mut values: Vec<usize> = seen
        .values()
        .map(|v| v[1..].parse().expect("value"))
        .collect();
    values.sort_unstable();
    assert_eq!(
        values,
        (0..900).collect::<Vec<_>>(),
        "records missing or extra"
    );
    assert!(
        before > 0 && before < 900,
        "killed after {before} records were written: not mid-stream"
    );
    assert!(
        status.success(),
        "the recovered program ended with {status:?}"
    );
    println!("kinesis driver_recovery: ok (900 records, each in exactly one batch, across a kill -9 after {before})");
}
