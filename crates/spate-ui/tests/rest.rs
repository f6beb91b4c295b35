//! The REST API checked field by field against what a listener of the same job heard, and
//! `/metrics` parsed as Prometheus text and checked against the REST API.

mod common;

use common::{api, get_json, get_text, FAILURE};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const BATCHES: usize = 6;

#[test]
fn rest_api_and_metrics_match_the_listener() {
    let job = common::start("rest", 150, BATCHES);
    job.wait_batches(BATCHES, Duration::from_secs(60));
    // Stop the streams; the UI keeps serving while its handle lives.
    job.ssc.stop(false, true);
    let base = job.url();
    let api = api(&base);

    // Batches: every completed batch the listener heard, field by field.
    let heard = job.heard.completed.lock().clone();
    let batches = get_json(&format!("{api}/streaming/batches"));
    let by_id: BTreeMap<i64, &Value> = batches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["batchId"].as_i64().unwrap(), b))
        .collect();
    assert!(heard.len() >= BATCHES);
    let mut failed = 0;
    for h in &heard {
        let b = by_id
            .get(&h.batch_time.0)
            .unwrap_or_else(|| panic!("batch {} missing from the API", h.batch_time.0));
        assert_eq!(b["inputSize"].as_u64(), Some(h.num_records), "{b}");
        assert_eq!(b["submissionTime"].as_i64(), Some(h.submission_ms));
        assert_eq!(b["schedulingDelay"].as_i64(), h.scheduling_delay_ms());
        assert_eq!(b["processingTime"].as_i64(), h.processing_delay_ms());
        assert_eq!(b["totalDelay"].as_i64(), h.total_delay_ms());
        assert_eq!(
            b["numTotalOutputOps"].as_u64(),
            Some(h.output_operations.len() as u64)
        );
        let op_failure = h.output_operations.iter().find_map(|o| o.failure.clone());
        assert_eq!(b["firstFailureReason"].as_str(), op_failure.as_deref());
        if let Some(f) = &op_failure {
            failed += 1;
            assert_eq!(b["status"], "FAILED");
            assert!(f.contains(FAILURE));
            assert_eq!(b["numFailedOutputOps"], 1);
        } else {
            assert_eq!(b["status"], "COMPLETED");
        }
        let inputs: u64 = b["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["records"].as_u64().unwrap())
            .sum();
        assert_eq!(inputs, h.num_records);
    }
    assert_eq!(failed, 1, "exactly the third batch failed");

    // The statistics agree with the batches.
    let st = get_json(&format!("{api}/streaming/statistics"));
    assert_eq!(
        st["numTotalCompletedBatches"].as_u64(),
        Some(heard.len() as u64)
    );
    assert_eq!(st["numFailedBatches"], 1);
    let records: u64 = heard.iter().map(|b| b.num_records).sum();
    assert_eq!(st["numReceivedRecords"].as_u64(), Some(records));
    let expected_lines: u64 = (0..BATCHES)
        .map(|i| common::batch_lines(i).len() as u64)
        .sum();
    assert_eq!(records, expected_lines);
    assert_eq!(st["batchDuration"], 150);
    let avg_proc = heard
        .iter()
        .map(|b| b.processing_delay_ms().unwrap())
        .sum::<i64>() as f64
        / heard.len() as f64;
    assert!((st["avgProcessingTime"].as_f64().unwrap() - avg_proc).abs() < 1e-6);

    // A batch's operations name their jobs, stages and tasks.
    let first = heard[0].batch_time.0;
    let ops = get_json(&format!("{api}/streaming/batches/{first}/operations"));
    let ops = ops.as_array().unwrap();
    assert_eq!(ops.len(), heard[0].output_operations.len());
    let count_op = &ops[0];
    assert_eq!(count_op["name"], "foreach_rdd");
    let jobs = count_op["jobs"].as_array().unwrap();
    assert!(!jobs.is_empty(), "the word count ran a job: {count_op}");
    let stages = jobs[0]["stages"].as_array().unwrap();
    let map_stage = stages
        .iter()
        .find(|s| s["kind"] == "ShuffleMapStage")
        .unwrap_or_else(|| panic!("reduce_by_key has a map stage: {stages:?}"));
    let result_stage = stages.iter().find(|s| s["kind"] == "ResultStage").unwrap();
    assert!(map_stage["shuffleWriteBytes"].as_u64().unwrap() > 0);
    assert_eq!(
        map_stage["shuffleWriteBytes"], result_stage["shuffleReadBytes"],
        "what the map side wrote is what the reduce side read"
    );
    for s in stages {
        assert_eq!(s["status"], "COMPLETE");
        let tasks = s["tasks"].as_array().unwrap();
        assert_eq!(tasks.len() as u64, s["numTasks"].as_u64().unwrap());
        assert!(tasks.iter().all(|t| t["status"] == "SUCCESS"));
    }

    // The failed batch's failing operation says why.
    let bad = heard
        .iter()
        .find(|b| b.output_operations.iter().any(|o| o.failure.is_some()))
        .unwrap();
    let ops = get_json(&format!(
        "{api}/streaming/batches/{}/operations",
        bad.batch_time.0
    ));
    let failing: Vec<&Value> = ops
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !o["failureReason"].is_null())
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(failing[0]["failureReason"]
        .as_str()
        .unwrap()
        .contains(FAILURE));

    // Jobs and executors agree with each other.
    let all_jobs = get_json(&format!("{api}/jobs"));
    let all_jobs = all_jobs.as_array().unwrap();
    assert!(all_jobs.iter().all(|j| j["status"] == "SUCCEEDED"));
    let stages = get_json(&format!("{api}/stages"));
    let completed_tasks: u64 = stages
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["numCompleteTasks"].as_u64().unwrap())
        .sum();
    let executors = get_json(&format!("{api}/executors"));
    let exec_tasks: u64 = executors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["completedTasks"].as_u64().unwrap())
        .sum();
    assert_eq!(completed_tasks, exec_tasks);
    assert!(exec_tasks > 0);

    // Accumulators, environment, storage.
    let accs = get_json(&format!("{api}/accumulators"));
    let lines = accs
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "lines")
        .expect("the named accumulator is listed");
    assert_eq!(lines["value"], job.lines.value().to_string());
    let env = get_json(&format!("{api}/environment"));
    assert!(env["spateProperties"]
        .as_array()
        .unwrap()
        .iter()
        .any(|kv| kv[0] == "spate.app.name" && kv[1] == "rest"));
    assert_eq!(env["runtime"]["batchDuration"], 150);

    // Dashboards hold what the stream computed.
    let seen = job.counts.lock().clone();
    let words = get_json(&format!("{api}/dashboards/rest%20words"));
    for (t, counts) in &seen {
        for (w, n) in counts {
            let series = words["series"][w.as_str()].as_array().unwrap();
            let point = series
                .iter()
                .find(|p| p[0].as_i64() == Some(*t))
                .unwrap_or_else(|| panic!("{w} at {t} missing"));
            assert_eq!(point[1].as_f64(), Some(*n as f64));
        }
    }
    let top = get_json(&format!("{api}/dashboards/rest%20top"));
    let (_, last) = seen.last().unwrap();
    let mut expected: Vec<(String, i64)> = last.clone();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    expected.truncate(3);
    let rows: Vec<(String, i64)> = top["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_f64().unwrap() as i64,
            )
        })
        .collect();
    assert_eq!(rows, expected);
    let counter = get_json(&format!("{api}/dashboards/rest%20lines"));
    assert_eq!(counter["total"].as_f64(), Some(expected_lines as f64));

    // /metrics, parsed as Prometheus text, agrees with the API.
    let text = get_text(&format!("{base}/metrics"));
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"));
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => panic!("{name} is not a number"),
            })
            .sum()
    };
    assert_eq!(
        value(
            "spate_streaming_batches_total",
            Some(("status", "succeeded"))
        ),
        (heard.len() - 1) as f64
    );
    assert_eq!(
        value("spate_streaming_batches_total", Some(("status", "failed"))),
        1.0
    );
    assert_eq!(value("spate_streaming_records_total", None), records as f64);
    assert_eq!(
        value("spate_tasks_total", Some(("status", "succeeded"))),
        exec_tasks as f64
    );
    assert_eq!(
        value("spate_jobs_total", Some(("status", "succeeded"))),
        all_jobs.len() as f64
    );
    let last = heard.last().unwrap();
    assert_eq!(
        value("spate_streaming_last_processing_time_seconds", None),
        last.processing_delay_ms().unwrap() as f64 / 1000.0
    );
    let read: u64 = stages
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["shuffleReadBytes"].as_u64().unwrap())
        .sum();
    assert_eq!(value("spate_shuffle_read_bytes_total", None), read as f64);
    assert!(value("spate_storage_memory_budget_bytes", None) > 0.0);
}

#[test]
fn a_taken_port_moves_to_the_next_and_disabled_serves_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let conf = spate_core::SpateConf::new()
        .set("spate.ui.port", port.to_string())
        .unwrap();
    let ctx = spate_core::Context::new(conf.clone().master("local[1]").unwrap()).unwrap();
    let ssc =
        spate_streaming::StreamingContext::with_context(ctx, Duration::from_millis(100)).unwrap();
    let ui = spate_ui::WebUi::start(&ssc).unwrap();
    let got = ui.addr().unwrap().port();
    assert!(got > port && got <= port + 16, "{got} after {port}");
    let apps = get_json(&format!("{}/api/v1/applications", ui.url().unwrap()));
    assert_eq!(apps.as_array().unwrap().len(), 1);
    // An unknown application id is a 404, as in Spark.
    let r = ureq::get(&format!(
        "{}/api/v1/applications/nope/jobs",
        ui.url().unwrap()
    ))
    .call();
    assert!(matches!(r, Err(ureq::Error::StatusCode(404))), "{r:?}");

    let off = conf.set("spate.ui.enabled", "false").unwrap();
    let ctx = spate_core::Context::new(off.master("local[1]").unwrap()).unwrap();
    let ssc =
        spate_streaming::StreamingContext::with_context(ctx, Duration::from_millis(100)).unwrap();
    assert!(spate_ui::WebUi::start(&ssc).unwrap().addr().is_none());
}
