//! `log_alerts`: monitoring of web-server access logs with alerts — the job most users of
//! a streaming engine write first.
//!
//! It reads Common or Combined Log Format lines from a built-in traffic generator (the
//! default: no services needed), from files moved into a directory (`--dir`) or from a
//! TCP server (`--socket`), and every slide (2 s) reports the last window (10 s):
//!
//! ```text
//! 00:37:33 window 6s: 11152 requests (1858.7/s), 4xx 321, 5xx 124, error ratio 1.11%, malformed lines so far 48
//!   top errors: /api/orders 5xx 118 4xx 8 of 1153 | /api/cart 5xx 3 4xx 0 of 914 | /login 5xx 1 4xx 51 of 692
//! ALERT /api/orders window 00:37:27-00:37:33: 5xx 118 of 1153 requests (10.23%), 4xx 8 [5xx >= 20; ratio > 5.00% over >= 50 requests]
//! ```
//!
//! (times are UTC; the first windows cover only the time since the start.)
//!
//! Errors are 5xx responses; an endpoint alerts when it has `--min-errors` of them in a
//! window, or a ratio of them above `--max-error-ratio` over at least `--min-requests`
//! requests (`--min-errors` is a count: raise it with `--rate`). Lines that are not log
//! lines are counted with an accumulator, never fatal; blank lines are skipped.
//! Results go to standard output, logs (`RUST_LOG`) to standard error. It stops
//! gracefully after `--duration-s` (20 s by default, so that a bare
//! `cargo run -p spate --example log_alerts` ends by itself). `--help` lists the options;
//! `--emit N` prints N generated lines, to try `--dir` and `--socket` with.
//!
//! The modules: [`parse`] (log lines), [`generator`] (traffic), [`stats`] (the DStream job
//! and the reports), [`cli`] (options).

mod cli;
mod generator;
mod parse;
mod stats;

use cli::Source;
use spate::prelude::*;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let opts = match cli::parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{}", cli::USAGE);
            return Ok(());
        }
        Err(e) => {
            eprintln!("log_alerts: {e}\n\n{}", cli::USAGE);
            std::process::exit(2);
        }
    };
    if let (Some(n), Source::Generator { seed, rate }) = (opts.emit, &opts.source) {
        return emit(*seed, *rate, n);
    }
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("log_alerts")?
            .master(&opts.master)?
            // SIGTERM or Ctrl-C: process what was received, write its output, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        Duration::from_millis(opts.batch_ms),
    )?;
    let lines = match &opts.source {
        Source::Generator { seed, rate } => {
            eprintln!("log_alerts: built-in traffic, seed {seed}, {rate} lines/s");
            ssc.receiver_stream(generator::GeneratorReceiver::new(*seed, *rate))
        }
        Source::Dir(dir) => {
            eprintln!(
                "log_alerts: reading files moved into {} (write each elsewhere, then mv it in; files older than now are ignored)",
                dir.display()
            );
            ssc.text_file_stream(dir)?
        }
        Source::Socket { host, port } => {
            eprintln!("log_alerts: reading lines from {host}:{port}");
            ssc.socket_text_stream(host, *port)
        }
    };
    let th = opts.thresholds;
    eprintln!(
        "log_alerts: {} s windows every {} s; alert at {} 5xx, or above {:.2}% 5xx over >= {} requests; {}",
        opts.window_s,
        opts.slide_s,
        th.min_errors,
        th.max_error_ratio * 100.0,
        th.min_requests,
        match opts.duration_s {
            0 => "until Ctrl-C".to_string(),
            s => format!("for {s} s"),
        }
    );
    let job = stats::window_counts(
        &lines,
        Duration::from_secs(opts.window_s),
        Duration::from_secs(opts.slide_s),
    )?;
    if let Some(url) = &opts.webhook {
        eprintln!("log_alerts: alerts also go to {url}");
        job.alerts(th)
            .write_to(spate_alerts::WebhookSink::new(url)?.rate_limit(20.0));
    }
    // The web UI, with the error rates and the alerts on its Dashboards page.
    let _ui = if opts.ui {
        use spate_ui::{Panel, ToDashboard};
        job.windows
            .map(|(endpoint, c)| {
                let pct = c.server_errors as f64 * 100.0 / c.requests.max(1) as f64;
                (endpoint.to_string(), (pct * 100.0).round() / 100.0)
            })
            .to_dashboard("5xx % by endpoint", Panel::time_series());
        job.alerts(th)
            .map(|a| a.text)
            .to_dashboard("alerts", Panel::table().history(50));
        let ui = spate_ui::WebUi::start(&ssc)?;
        if let Some(url) = ui.url() {
            eprintln!("log_alerts: web UI at {url} (dashboards at {url}/dashboards/)");
        }
        Some(ui)
    } else {
        None
    };
    let alerts = Arc::new(AtomicU64::new(0));
    let seen = alerts.clone();
    let top = opts.top;
    job.on_window(th, move |report| {
        seen.fetch_add(report.alerts.len() as u64, Ordering::Relaxed);
        let mut out = std::io::stdout().lock();
        out.write_all(report.render(top).as_bytes())?;
        out.flush()?;
        Ok(())
    });

    let started = Instant::now();
    ssc.start()?;
    let deadline = (opts.duration_s > 0).then(|| started + Duration::from_secs(opts.duration_s));
    // The robust pattern: a failed batch (an output that failed, a watched directory gone)
    // is reported and the stream goes on; only errors before the start are fatal.
    loop {
        let waited = match deadline {
            None => ssc.await_termination().map(|()| true),
            Some(d) => {
                ssc.await_termination_or_timeout(d.saturating_duration_since(Instant::now()))
            }
        };
        match waited {
            Ok(_) => break,
            Err(e) => eprintln!(
                "log_alerts: batch failed (the stream goes on): {}",
                spate::report(&e)
            ),
        }
    }
    // Graceful: what was received is processed before the context goes.
    ssc.stop(true, true);
    println!(
        "done after {:.1}s: {} lines, {} malformed, {} ALERT lines",
        started.elapsed().as_secs_f64(),
        job.lines.value(),
        job.malformed.value(),
        alerts.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Writes `n` lines of the generator, logged from now on at `rate` per second.
fn emit(seed: u64, rate: u32, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut g = generator::LogGenerator::new(seed, rate, generator::now_ms());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..n {
        writeln!(out, "{}", g.next_line())?;
    }
    out.flush()?;
    Ok(())
}
