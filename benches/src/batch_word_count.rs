//! Batch word count over the benchmark input (`../shared/bench/gen_words.py`): one JSON line
//! per run on stdout, with the fields of `shared/bench/README.md`.
//!
//! `batch_word_count --input FILE [--runs N] [--partitions 2] [--master local[2]]`
//!
//! `--master local-cluster[2,1]` runs the same job on two executor processes of one task
//! slot each (the cost of the process boundary, against `local[2]`).

use spate::{Context, SpateConf, Str};
use spate_benches::peak_rss_mb;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spate_cluster::register();
    let mut input = None;
    let mut runs = 1usize;
    let mut partitions = 2usize;
    let mut master = "local[2]".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--input" => input = args.next(),
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            "--partitions" => partitions = args.next().ok_or("--partitions N")?.parse()?,
            "--master" => master = args.next().ok_or("--master M")?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let input = input.ok_or("--input FILE is required")?;
    let ctx = Context::new(
        SpateConf::new()
            .app_name("batch_word_count")?
            .master(&master)?,
    )?;
    for run in 1..=runs {
        let lines = ctx.long_accumulator("lines");
        let acc = lines.clone();
        let start = Instant::now();
        let counts = ctx
            .text_file_with(&input, partitions)?
            .flat_map(move |line: Str| {
                acc.add(1);
                line.split_owned(' ').map(|w| (w, 1u64))
            })
            .reduce_by_key_with(|a, b| a + b, partitions);
        let (keys, sum) = counts
            .run_job(|_, it| {
                let mut k = 0u64;
                let mut s = 0u64;
                for (_, c) in it {
                    k += 1;
                    s += c;
                }
                Ok((k, s))
            })?
            .into_iter()
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let secs = start.elapsed().as_secs_f64();
        let records = lines.value() as u64;
        println!(
            "{}",
            serde_json::json!({
                "workload": "batch_wc",
                "engine": "spate",
                "run": run,
                "ok": keys > 0,
                "records": records,
                "seconds": secs,
                "records_per_s": records as f64 / secs,
                "peak_rss_mb": peak_rss_mb(),
                "partitions": partitions,
                "master": master,
                "verify": format!("keys={keys} sum={sum}"),
            })
        );
    }
    Ok(())
}
