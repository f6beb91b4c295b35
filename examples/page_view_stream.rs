//! `page_view_stream <metric> <host> <port>`: reads the page views `page_view_generator`
//! serves and prints one metric every batch (Spark's PageViewStream). Metrics:
//!
//! - `errorRatePerZipCode`: per zip code, the share of views not answered 200 over the
//!   last 30 seconds, every 2 seconds;
//! - `activeUserCount`: the number of distinct users over the last 15 seconds;
//! - `popularUsersSeen`: the known users seen in each batch, by name;
//! - `pageCounts`: views per URL in each batch;
//! - `slidingPageCounts`: views per URL over the last 10 seconds, every 2 seconds.
//!
//! Batches are 1 second.

use spate::prelude::*;

/// One page view, printed as Spark prints its case class.
#[derive(Clone, serde::Serialize, serde::Deserialize, Show)]
struct PageView {
    url: String,
    status: i32,
    zip_code: i32,
    user_id: i32,
}

impl PageView {
    /// A view from the generator's `url<TAB>status<TAB>zip<TAB>user` line; `None` for a
    /// malformed line.
    fn parse(line: &str) -> Option<PageView> {
        let mut f = line.split('\t');
        let url = f.next()?.to_string();
        let status = f.next()?.trim().parse().ok()?;
        let zip_code = f.next()?.trim().parse().ok()?;
        let user_id = f.next()?.trim().parse().ok()?;
        Some(PageView {
            url,
            status,
            zip_code,
            user_id,
        })
    }
}

const METRICS: &str =
    "errorRatePerZipCode | activeUserCount | popularUsersSeen | pageCounts | slidingPageCounts";

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 || !METRICS.split(" | ").any(|m| m == args[0]) {
        eprintln!("usage: page_view_stream <metric> <host> <port>\n  metric: {METRICS}");
        std::process::exit(2);
    }
    let (metric, host) = (args[0].as_str(), args[1].as_str());
    let port: u16 = args[2].parse()?;
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("page_view_stream")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, print it, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        seconds(1),
    )?;
    // slidingPageCounts' incremental window keeps its state in a checkpoint directory,
    // removed at the end.
    let scratch =
        std::env::temp_dir().join(format!("spate-page-view-stream-{}", std::process::id()));
    let views = ssc
        .socket_text_stream(host, port)
        .flat_map(|line| PageView::parse(&line));
    match metric {
        "pageCounts" => views.map(|v| v.url).count_by_value().print(),
        "slidingPageCounts" => {
            ssc.checkpoint(&scratch)?;
            views
                .map(|v| v.url)
                .count_by_value_and_window(seconds(10))
                .slide(seconds(2))
                .print()
        }
        "errorRatePerZipCode" => views
            .window_with(seconds(30), seconds(2))
            .map(|v| (v.zip_code, v.status))
            .group_by_key()
            .map_values(|statuses| {
                let errors = statuses.iter().filter(|&&s| s != 200).count();
                errors as f64 / statuses.len() as f64
            })
            .print(),
        "activeUserCount" => views
            .window_with(seconds(15), seconds(1))
            .map(|v| (v.user_id, 1i64))
            .group_by_key()
            .count()
            .map(|n| format!("Unique active users: {n}"))
            .print(),
        _ => {
            // "popularUsersSeen": the users we know, joined with each batch's views.
            let known = ssc.ctx().parallelize(vec![
                (1, "Ada Lovelace".to_string()),
                (2, "Grace Hopper".to_string()),
                (3, "Alan Turing".to_string()),
            ]);
            views
                .map(|v| (v.user_id, 1i64))
                .foreach_rdd(move |rdd, time| {
                    for (_, (_, name)) in rdd.join(&known).take(10)? {
                        println!("Saw user {name} at time {time}");
                    }
                    Ok(())
                })
        }
    }
    ssc.start()?;
    // A failed batch is reported and the stream goes on; `Ok` once the context stops.
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    Ok(())
}
