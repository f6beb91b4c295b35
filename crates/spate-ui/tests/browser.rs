//! The web UI in a real headless Chromium, driven through chromedriver (WebDriver): the
//! Streaming page of a running job shows batches completing, its charts grow without a
//! reload, a failed batch shows its error on the page and on its batch page, and every
//! other page shows the job's data. Screenshots go to `target/ui-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh` installs them); skipped
//! without them unless `SPATE_TEST_REQUIRE_SERVICES` is set.

mod common;

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// The number in attribute `attr` of the first element matching `css` (0 when absent).
async fn attr_num(c: &Client, css: &str, attr: &str) -> u64 {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e
            .attr(attr)
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Polls `check` until it is true.
async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn streaming_page_in_chromium() {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        if std::env::var("SPATE_TEST_REQUIRE_SERVICES").is_ok() {
            panic!("no {CHROMEDRIVER}: install chromium and chromium-driver");
        }
        println!("streaming_page_in_chromium: SKIPPED (no chromedriver: run scripts/test.sh)");
        return;
    }
    let port = free_port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let job = common::start("browser", 250, 40);
    let base = job.url();

    let caps: serde_json::Map<String, serde_json::Value> =
        serde_json::from_value(serde_json::json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-background-networking", "--disable-sync",
                         "--window-size=1280,1400"]
            }
        }))
        .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let c = loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver: {e}"),
        }
    };

    // The Streaming page: batches complete and the charts grow, with no reload.
    c.goto(&format!("{base}/streaming/")).await.unwrap();
    c.execute("window.spateMarker = 42; return 1;", vec![])
        .await
        .unwrap();
    wait_until("two completed batches", Duration::from_secs(30), || async {
        text_of(&c, "#completed-count")
            .await
            .parse::<u64>()
            .unwrap_or(0)
            >= 2
    })
    .await;
    let before = attr_num(&c, "#chart-processing-time svg", "data-points").await;
    let rows_before = c
        .find_all(Locator::Css("table.completed-batches tbody tr"))
        .await
        .unwrap()
        .len();
    wait_until("the charts to grow", Duration::from_secs(30), || async {
        attr_num(&c, "#chart-processing-time svg", "data-points").await >= before + 3
    })
    .await;
    let rows_after = c
        .find_all(Locator::Css("table.completed-batches tbody tr"))
        .await
        .unwrap()
        .len();
    assert!(
        rows_after > rows_before,
        "{rows_before} -> {rows_after} rows"
    );
    for id in [
        "chart-input-rate",
        "chart-scheduling-delay",
        "chart-total-delay",
    ] {
        assert!(
            attr_num(&c, &format!("#{id} svg"), "data-points").await > 0,
            "{id}"
        );
    }
    let marker = c
        .execute("return window.spateMarker;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, 42, "the page updated without reloading");
    let avg = text_of(&c, "#chart-processing-time .avg").await;
    assert!(avg.starts_with("avg "), "{avg}");

    // The failed batch shows its error.
    wait_until("the failed batch row", Duration::from_secs(30), || async {
        text_of(&c, "table.completed-batches tr.failed")
            .await
            .contains(common::FAILURE)
    })
    .await;
    shot(&c, "streaming").await;
    let failed_link = c
        .find(Locator::Css("table.completed-batches tr.failed a"))
        .await
        .unwrap();
    let failed_id = failed_link.text().await.unwrap();
    failed_link.click().await.unwrap();
    wait_until("the batch page", Duration::from_secs(10), || async {
        text_of(&c, ".op-failure").await.contains(common::FAILURE)
    })
    .await;
    assert_eq!(text_of(&c, "#batch-status").await, "FAILED");
    assert!(c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .ends_with(&format!("id={failed_id}")));
    let tasks = c
        .find_all(Locator::Css("table.tasks tbody tr"))
        .await
        .unwrap();
    assert!(!tasks.is_empty(), "the batch page lists its tasks");
    shot(&c, "batch").await;

    // Every other page shows the job.
    let pages: &[(&str, &str, &str)] = &[
        ("jobs", "table.jobs", "SUCCEEDED"),
        ("stages", "table.stages", "ShuffleMapStage"),
        ("storage", "table.rdds", "rdd"),
        ("executors", "table.executors", "driver"),
        ("environment", "table.properties", "spate.app.name"),
        ("accumulators", "table.accumulators", "lines"),
        (
            "dashboards",
            "section.dashboard[data-name='browser top']",
            "w",
        ),
    ];
    for (page, css, expect) in pages {
        c.goto(&format!("{base}/{page}/")).await.unwrap();
        wait_until(&format!("{page} page"), Duration::from_secs(10), || async {
            text_of(&c, css)
                .await
                .to_lowercase()
                .contains(&expect.to_lowercase())
        })
        .await;
        shot(&c, page).await;
    }
    // The dashboard's chart grows as batches complete.
    let d0 = attr_num(
        &c,
        "section.dashboard[data-name='browser words'] svg",
        "data-points",
    )
    .await;
    wait_until(
        "the dashboard chart to grow",
        Duration::from_secs(20),
        || async {
            attr_num(
                &c,
                "section.dashboard[data-name='browser words'] svg",
                "data-points",
            )
            .await
                > d0
        },
    )
    .await;
    c.close().await.unwrap();
    job.ssc.stop(false, false);
}
