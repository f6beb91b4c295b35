//! Streaming benchmarks W1, W2, W2inv, W3 and the latency sweep of
//! `../shared/bench/spark/README.md`, fed exactly as there; one JSON line per run with the
//! same fields (engine `spate`), so `../shared/bench/summarize.py` tables both engines.
//!
//! ```text
//! stream_bench --workload w1|w2|w2inv|w3 --input words_2m.txt [--lines-per-batch 2000000]
//!              [--repeat 20] [--batch-ms 1000] [--window-ms 10000] [--slide-ms 2000]
//!              [--checkpoint-batches 10] [--partitions 2] [--run N]
//! stream_bench --workload latency --port 19999 --batch-ms 50 --seconds 20 --warmup-s 5
//!              --expect-rate 100000
//! ```

use parking_lot::Mutex;
use spate::prelude::*;
use spate::streaming::BatchInfo;
use spate::LongAccumulator;
use spate_benches::peak_rss_mb;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// (all processes' busy jiffies, this process's jiffies)
fn cpu_snap() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let all: u64 = stat
        .lines()
        .next()
        .map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            [0, 1, 2, 5, 6, 7].iter().filter_map(|i| f.get(*i)).sum()
        })
        .unwrap_or(0);
    let me = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let own = me
        .rsplit(')')
        .next()
        .map(|r| {
            let f: Vec<&str> = r.split_whitespace().collect();
            f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        })
        .unwrap_or(0);
    (all, own)
}

fn pct(v: &[i64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort();
    let i = ((p / 100.0) * (s.len() as f64 - 1.0)).round() as usize;
    s[i.min(s.len() - 1)] as f64
}

fn mean(v: &[i64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<i64>() as f64 / v.len() as f64
    }
}

struct Opts(HashMap<String, String>);

impl Opts {
    fn parse() -> Self {
        let mut m = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(k) = args.next() {
            if let Some(k) = k.strip_prefix("--") {
                m.insert(k.to_string(), args.next().unwrap_or_default());
            }
        }
        Opts(m)
    }
    fn get(&self, k: &str, d: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    fn num(&self, k: &str, d: i64) -> i64 {
        self.0.get(k).and_then(|v| v.parse().ok()).unwrap_or(d)
    }
}

#[derive(Default)]
struct Batches(Mutex<Vec<BatchInfo>>);

impl spate::streaming::StreamingListener for Batches {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0.lock().push(b.clone());
    }
}

/// What the output action saw.
#[derive(Default)]
struct Outcome {
    done_ms: i64,
    done_batch: i64,
    first_output_ms: i64,
    first_output_lines: i64,
    out_sum_total: u64,
    last_out: String,
}

/// Spark's `emit`: one job that counts keys and sums values, and notes when the input is
/// consumed.
fn emit(
    rdd: Rdd<(Str, u64)>,
    t: Time,
    lines: &LongAccumulator,
    total: i64,
    out: &Mutex<Outcome>,
) -> Result<(), BoxError> {
    let (keys, sum) = rdd
        .run_job(|_, it| {
            let (mut n, mut s) = (0u64, 0u64);
            for (_, c) in it {
                n += 1;
                s += c;
            }
            Ok((n, s))
        })?
        .into_iter()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let now = now_ms();
    let cum = lines.value();
    let mut o = out.lock();
    if o.done_ms == 0 {
        o.out_sum_total += sum;
        o.last_out = format!("keys={keys} sum={sum}");
    }
    if o.first_output_ms == 0 && cum > 0 {
        o.first_output_ms = now;
        o.first_output_lines = cum;
    }
    if cum >= total && o.done_ms == 0 {
        o.done_ms = now;
        o.done_batch = t.millis();
    }
    Ok(())
}

fn conf(o: &Opts, batch_ms: i64) -> Result<SpateConf, Box<dyn std::error::Error>> {
    let mut c = SpateConf::new()
        .master(&o.get("master", "local[2]"))?
        .app_name("stream_bench")?;
    if o.get("wal", "false") == "true" {
        c = c.set("spate.streaming.receiver.writeAheadLog.enable", "true")?;
    }
    if o.0.contains_key("block-interval-ms") || o.get("workload", "") == "latency" {
        let bi = o.num("block-interval-ms", (batch_ms / 2).clamp(5, 200));
        c = c.set("spate.streaming.blockInterval", format!("{bi}ms"))?;
    }
    Ok(c)
}

fn run_dstream(o: &Opts, wl: &str) -> Result<(), Box<dyn std::error::Error>> {
    let batch_ms = o.num("batch-ms", 1000);
    let per_batch = o.num("lines-per-batch", 2_000_000) as usize;
    let repeat = o.num("repeat", 20) as usize;
    let parts = o.num("partitions", 2) as usize;
    let input = o.get("input", "/opt/spark-bench/data/words_2m.txt");
    let work = tempfile_dir()?;
    // Chunks of `per_batch` lines, each its own file, written by streaming the input (not
    // loading it): what a batch reads comes from the page cache, as in Spark's setup.
    let load = Instant::now();
    let max_lines = o.num("lines", i64::MAX) as usize;
    let mut chunks: Vec<(std::path::PathBuf, usize)> = Vec::new();
    {
        use std::io::{BufRead, Write};
        let reader = std::io::BufReader::new(std::fs::File::open(&input)?);
        let mut w: Option<std::io::BufWriter<std::fs::File>> = None;
        let mut in_chunk = 0usize;
        for (n, line) in reader.lines().enumerate() {
            if n >= max_lines {
                break;
            }
            if w.is_none() {
                let p = work.join(format!("chunk-{}.txt", chunks.len()));
                w = Some(std::io::BufWriter::new(std::fs::File::create(&p)?));
                chunks.push((p, 0));
                in_chunk = 0;
            }
            let out = w.as_mut().expect("chunk open");
            out.write_all(line?.as_bytes())?;
            out.write_all(b"\n")?;
            in_chunk += 1;
            chunks.last_mut().expect("chunk").1 = in_chunk;
            if in_chunk == per_batch {
                w.take().expect("chunk open").flush()?;
            }
        }
        if let Some(mut w) = w {
            w.flush()?;
        }
    }
    let load_s = load.elapsed().as_secs_f64();
    let total_lines: i64 = (0..chunks.len() * repeat)
        .map(|i| chunks[i % chunks.len()].1 as i64)
        .sum();

    let started = Instant::now();
    let ssc = StreamingContext::new(conf(o, batch_ms)?, Duration::from_millis(batch_ms as u64))?;
    let ctx_s = started.elapsed().as_secs_f64();
    let ckpt = work.join("checkpoint");
    let source = o.get("source", "file");
    let lines: DStream<Str> = if source == "receiver" {
        // A receiver storing the chunks as fast as it can, in blocks of `block-lines`
        // (with `--wal true`, each block in the write-ahead log first).
        ssc.receiver_stream(ChunkReceiver {
            files: chunks.iter().map(|c| c.0.clone()).collect(),
            repeat,
            block_lines: o.num("block-lines", 50_000) as usize,
        })
    } else {
        let queue = RddQueue::new();
        for i in 0..chunks.len() * repeat {
            queue.push(
                ssc.ctx()
                    .text_file_with(&chunks[i % chunks.len()].0, parts)?,
            );
        }
        ssc.queue_stream(&queue)
    };
    let lines_acc = ssc.ctx().long_accumulator("lines");
    let acc = lines_acc.clone();
    let pairs = lines.flat_map(move |line: Str| {
        acc.add(1);
        line.split_owned(' ').map(|w| (w, 1u64))
    });
    let win = Duration::from_millis(o.num("window-ms", 10_000) as u64);
    let slide = Duration::from_millis(o.num("slide-ms", 2_000) as u64);
    let counts = match wl {
        "w1" => pairs.reduce_by_key_with(|a, b| a + b, parts),
        "w2" => pairs
            .reduce_by_key_and_window(|a, b| a + b)
            .window(win)
            .slide(slide)
            .partitioner(parts)
            .build(),
        "w2inv" => {
            ssc.checkpoint(&ckpt)?;
            pairs
                .reduce_by_key_and_window(|a, b| a + b)
                .inverse(|a, b| a - b)
                .filter(|kv| kv.1 != 0)
                .window(win)
                .slide(slide)
                .partitioner(parts)
                .build()
        }
        "w3" => {
            ssc.checkpoint(&ckpt)?;
            pairs
                .reduce_by_key_with(|a, b| a + b, parts)
                .update_state_by_key_with(
                    |vs: Vec<u64>, s: Option<u64>| Some(s.unwrap_or(0) + vs.iter().sum::<u64>()),
                    parts,
                )
                .checkpoint(Duration::from_millis(
                    (o.num("checkpoint-batches", 10) * batch_ms) as u64,
                ))
        }
        other => return Err(format!("unknown workload {other}").into()),
    };
    let out = Arc::new(Mutex::new(Outcome::default()));
    let (o2, la) = (out.clone(), lines_acc.clone());
    counts.foreach_rdd(move |rdd, t| emit(rdd, t, &la, total_lines, &o2));
    let batches = Arc::new(Batches::default());
    ssc.add_streaming_listener(batches.clone());
    // `--ui true`: the web UI and /metrics on, read each second as a browser and
    // Prometheus would (the UI's cost).
    let ui_on = o.get("ui", "false") == "true";
    let _ui = if ui_on {
        let ui = spate_ui::WebUi::start(&ssc)?;
        if let Some(addr) = ui.addr() {
            poll_ui(addr);
        }
        Some(ui)
    } else {
        None
    };
    let cpu0 = cpu_snap();
    let lo0 = loopback_bytes();
    let t0 = Instant::now();
    let start_ms = now_ms();
    ssc.start()?;
    let ready_s = started.elapsed().as_secs_f64();
    let timeout = Duration::from_secs(o.num("timeout-s", 170) as u64);
    let mut ok = false;
    while t0.elapsed() < timeout {
        if out.lock().done_ms > 0 {
            ok = true;
            break;
        }
        if let Ok(true) = ssc.await_termination_or_timeout(Duration::from_millis(5)) {
            break;
        }
    }
    let cpu1 = cpu_snap();
    let lo_bytes = loopback_bytes().saturating_sub(lo0);
    let wall = t0.elapsed().as_secs_f64();
    ssc.stop(true, false);
    if !ssc.ctx().is_driver() {
        // An executor's copy of the program: the driver reports.
        return Ok(());
    }
    let o_ = out.lock();
    let mut bs = batches.0.lock().clone();
    bs.sort_by_key(|b| b.batch_time);
    let first_batch_time = bs.first().map(|b| b.batch_time.millis()).unwrap_or(0);
    let mut proc = Vec::new();
    let mut sched = Vec::new();
    let mut first_batch_end = -1;
    for b in &bs {
        if b.batch_time.millis() > o_.done_batch {
            break;
        }
        proc.push(b.processing_delay_ms().unwrap_or(0));
        sched.push(b.scheduling_delay_ms().unwrap_or(0));
        if first_batch_end < 0 {
            first_batch_end = b.processing_end_ms.unwrap_or(0);
        }
    }
    let records = lines_acc.value();
    // A receiver takes its input from the start (as Spark's WalBench counts); a queue's
    // first batch is the start of the work.
    let seconds = if source == "receiver" {
        (o_.done_ms - start_ms) as f64 / 1000.0
    } else {
        (o_.done_ms - first_batch_time) as f64 / 1000.0
    };
    let proc_sum: i64 = proc.iter().sum();
    let tck = 100.0;
    let own_cores = (cpu1.1 - cpu0.1) as f64 / tck / wall;
    let other_cores = ((cpu1.0 - cpu0.0) as f64 - (cpu1.1 - cpu0.1) as f64) / tck / wall;
    let line = serde_json::json!({
        "workload": wl,
        "engine": "spate",
        "run": o.num("run", 1),
        "ok": ok,
        "records": records,
        "seconds": seconds,
        "records_per_s": records as f64 / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "source": source,
        "wal": o.get("wal", "false") == "true",
        "ui": ui_on,
        "batch_ms": batch_ms,
        "lines_per_batch": per_batch,
        "repeat": repeat,
        "batches": proc.len(),
        "proc_ms_mean": mean(&proc),
        "proc_ms_p50": pct(&proc, 50.0),
        "proc_ms_max": pct(&proc, 100.0),
        "sched_delay_ms_max": pct(&sched, 100.0),
        "records_per_proc_s": if proc_sum > 0 { records as f64 / (proc_sum as f64 / 1000.0) } else { f64::NAN },
        "steady_records_per_s": if ok && o_.done_ms > o_.first_output_ms { (records - o_.first_output_lines) as f64 / ((o_.done_ms - o_.first_output_ms) as f64 / 1000.0) } else { f64::NAN },
        "load_input_s": load_s,
        "jvm_to_ready_s": ready_s,
        "spark_ctx_s": ctx_s,
        "jvm_to_first_batch_s": (first_batch_end - (now_ms() - (started.elapsed().as_millis() as i64))) as f64 / 1000.0,
        "master": o.get("master", "local[2]"),
        // Bytes through the loopback interface while the batches ran: between processes
        // in cluster mode (shuffle fetches, tasks, results), ~0 for local[N].
        "loopback_bytes": lo_bytes,
        "own_cpu_cores": own_cores,
        "other_cpu_cores": other_cores,
        "verify": format!("last_out: {}; sum_of_out_sums={}", o_.last_out, o_.out_sum_total),
    });
    println!("{line}");
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Bytes received on the loopback interface so far (`/proc/net/dev`), 0 if unknown.
fn loopback_bytes() -> u64 {
    std::fs::read_to_string("/proc/net/dev")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("lo:")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("spate-bench-{}-{}", std::process::id(), now_ms()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn run_latency(o: &Opts) -> Result<(), Box<dyn std::error::Error>> {
    let batch_ms = o.num("batch-ms", 100);
    let secs = o.num("seconds", 20);
    let warm = o.num("warmup-s", 5);
    let port = o.num("port", 19999) as u16;
    let ssc = StreamingContext::new(conf(o, batch_ms)?, Duration::from_millis(batch_ms as u64))?;
    let lines_acc = ssc.ctx().long_accumulator("lines");
    let acc = lines_acc.clone();
    let counts = ssc
        .socket_text_stream("127.0.0.1", port)
        .flat_map(move |line: Str| {
            acc.add(1);
            line.split_owned(' ').map(|w| (w, 1u64))
        })
        .reduce_by_key(|a, b| a + b);
    let out = Arc::new(Mutex::new(Outcome::default()));
    let (o2, la) = (out.clone(), lines_acc.clone());
    counts.foreach_rdd(move |rdd, t| emit(rdd, t, &la, i64::MAX, &o2));
    let batches = Arc::new(Batches::default());
    ssc.add_streaming_listener(batches.clone());
    let start_call = now_ms();
    ssc.start()?;
    std::thread::sleep(Duration::from_secs(warm as u64));
    let cpu0 = cpu_snap();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs((secs - warm).max(0) as u64));
    let cpu1 = cpu_snap();
    let wall = t0.elapsed().as_secs_f64();
    ssc.stop(true, false);
    if !ssc.ctx().is_driver() {
        // An executor's copy of the program: the driver reports.
        return Ok(());
    }
    let mut bs = batches.0.lock().clone();
    bs.sort_by_key(|b| b.batch_time);
    let (mut proc, mut sched, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let (mut records, mut first_t, mut last_t) = (0u64, -1i64, -1i64);
    for b in &bs {
        if b.batch_time.millis() < start_call + warm * 1000 {
            continue;
        }
        let p = b.processing_delay_ms().unwrap_or(0);
        let s = b.scheduling_delay_ms().unwrap_or(0);
        proc.push(p);
        sched.push(s);
        total.push(p + s);
        records += b.num_records;
        if first_t < 0 {
            first_t = b.batch_time.millis();
        }
        last_t = b.batch_time.millis();
    }
    let seconds = (last_t - first_t + batch_ms) as f64 / 1000.0;
    let p95 = pct(&proc, 95.0);
    let tail = &sched[sched.len() / 2..];
    let tail_max = pct(tail, 100.0);
    let expect = o.num("expect-rate", 0) as f64;
    let keeps_up = !proc.is_empty()
        && p95 <= batch_ms as f64
        && tail_max <= batch_ms as f64
        && records as f64 / seconds >= 0.9 * expect;
    let tck = 100.0;
    let line = serde_json::json!({
        "workload": "latency",
        "engine": "spate",
        "run": o.num("run", 1),
        "records": records,
        "seconds": seconds,
        "records_per_s": records as f64 / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "batch_ms": batch_ms,
        "batches": proc.len(),
        "proc_ms_mean": mean(&proc),
        "proc_ms_p50": pct(&proc, 50.0),
        "proc_ms_p95": p95,
        "proc_ms_max": pct(&proc, 100.0),
        "sched_delay_ms_max": pct(&sched, 100.0),
        "sched_delay_ms_max_2nd_half": tail_max,
        "total_delay_ms_mean": mean(&total),
        "keeps_up": keeps_up,
        "expect_rate": expect,
        "own_cpu_cores": (cpu1.1 - cpu0.1) as f64 / tck / wall,
        "other_cpu_cores": ((cpu1.0 - cpu0.0) as f64 - (cpu1.1 - cpu0.1) as f64) / tck / wall,
    });
    println!("{line}");
    Ok(())
}

/// Stores the chunk files, `repeat` times over, in blocks of `block_lines` lines that
/// share the file's buffer, as fast as `store_many` returns.
struct ChunkReceiver {
    files: Vec<std::path::PathBuf>,
    repeat: usize,
    block_lines: usize,
}

impl spate::streaming::Receiver<Str> for ChunkReceiver {
    fn on_start(&mut self, h: spate::streaming::ReceiverHandle<Str>) {
        let (files, repeat, block_lines) = (self.files.clone(), self.repeat, self.block_lines);
        std::thread::spawn(move || {
            for _ in 0..repeat {
                for f in &files {
                    let Ok(bytes) = std::fs::read(f) else {
                        h.report_error(format!("cannot read {}", f.display()));
                        return;
                    };
                    let buf = Arc::new(bytes);
                    let mut block = Vec::with_capacity(block_lines);
                    let mut start = 0;
                    while start < buf.len() {
                        let end = buf[start..]
                            .iter()
                            .position(|b| *b == b'\n')
                            .map_or(buf.len(), |p| start + p);
                        block.push(Str::from_buffer_lossy(&buf, start, end - start));
                        start = end + 1;
                        if block.len() == block_lines {
                            let full =
                                std::mem::replace(&mut block, Vec::with_capacity(block_lines));
                            if h.store_many(full).is_err() {
                                return;
                            }
                        }
                    }
                    if !block.is_empty() && h.store_many(block).is_err() {
                        return;
                    }
                    if h.is_stopped() {
                        return;
                    }
                }
            }
        });
    }
    fn on_stop(&mut self) {}
}

/// Reads the Streaming page's API and /metrics once a second, for the life of the process.
fn poll_ui(addr: std::net::SocketAddr) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let get = |path: &str| -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect(addr)?;
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        };
        let app = get("/api/v1/applications")
            .ok()
            .and_then(|r| {
                r.split("\"id\":\"")
                    .nth(1)
                    .map(|t| t.split('"').next().unwrap_or("").to_string())
            })
            .unwrap_or_default();
        loop {
            for p in ["statistics", "batches", "receivers"] {
                let _ = get(&format!("/api/v1/applications/{app}/streaming/{p}"));
            }
            let _ = get("/metrics");
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `--master local-cluster[2,1]`: this binary is also each executor process.
    spate_cluster::register();
    let o = Opts::parse();
    let wl = o.get("workload", "w1");
    match wl.as_str() {
        "latency" => run_latency(&o),
        w => run_dstream(&o, w),
    }
}
