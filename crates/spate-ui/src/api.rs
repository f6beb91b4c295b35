//! The JSON REST API (`/api/v1/...`) and `/metrics`. Paths follow Spark's monitoring
//! API where one exists (`applications/{app}/jobs`, `.../stages`, `.../executors`,
//! `.../storage/rdd`, `.../environment`, `.../streaming/statistics`, `.../receivers`,
//! `.../batches`, `.../batches/{id}/operations`), with field names in Spark's camelCase.
//! Times are milliseconds: since the epoch for jobs, stages and tasks; on the streaming
//! context's clock for batches (a batch's id is its time).

use crate::dashboard;
use crate::store::{batch_failure, JobRecord, StageRecord, State, Store};
use axum::extract::{Path, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use spate_core::Env;
use spate_streaming::{BatchInfo, StreamingContext};
use std::sync::Arc;

/// What the handlers share.
pub(crate) struct App {
    pub id: String,
    name: String,
    started_ms: i64,
    batch_ms: i64,
    master: String,
    conf: Vec<(String, String)>,
    env: Arc<Env>,
    pub store: Arc<Store>,
}

impl App {
    pub fn new(ssc: &StreamingContext, store: Arc<Store>) -> Arc<App> {
        let ctx = ssc.ctx();
        let started_ms = spate_core::scheduler::now_ms();
        let mut conf: Vec<(String, String)> = ctx
            .conf()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        conf.sort();
        Arc::new(App {
            id: format!("spate-{started_ms}"),
            name: ctx.app_name().to_string(),
            started_ms,
            batch_ms: ssc.batch_ms(),
            master: ctx
                .conf()
                .get_raw("spate.master")
                .unwrap_or("local[*]")
                .to_string(),
            conf,
            env: ctx.env().clone(),
            store,
        })
    }
}

type Shared = AxState<Arc<App>>;

pub(crate) fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/jobs", get(jobs))
        .route("/jobs/{job}", get(job))
        .route("/stages", get(stages))
        .route("/stages/{stage}", get(stage))
        .route("/stages/{stage}/{attempt}/taskList", get(task_list))
        .route("/executors", get(executors))
        .route("/storage/rdd", get(storage))
        .route("/environment", get(environment))
        .route("/accumulators", get(accumulators))
        .route("/streaming/statistics", get(statistics))
        .route("/streaming/receivers", get(receivers))
        .route("/streaming/batches", get(batches))
        .route("/streaming/batches/{batch}", get(batch))
        .route("/streaming/batches/{batch}/operations", get(operations))
        .route("/dashboards", get(dashboards))
        .route("/dashboards/{name}", get(one_dashboard));
    Router::new()
        .route("/api/v1/applications", get(applications))
        .nest("/api/v1/applications/{app}", api)
        .route("/metrics", get(metrics))
        .merge(crate::pages::routes())
        .with_state(app)
}

fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, format!("{what} not found\n")).into_response()
}

/// The `{app}` of a path must be this application's id.
fn check_app(app: &App, id: &str) -> Option<Response> {
    (id != app.id).then(|| not_found(format!("application {id:?}")))
}

macro_rules! api_handler {
    ($name:ident, |$app:ident, $state:ident $(, $p:ident : $t:ty)?| $body:expr) => {
        async fn $name(
            AxState($app): Shared,
            Path(params): Path<(String, $($t)?)>,
        ) -> Response {
            #[allow(unused_variables)]
            let (id, $($p)?) = params;
            if let Some(r) = check_app(&$app, &id) {
                return r;
            }
            let $state = $app.store.state.lock();
            $body
        }
    };
}

async fn applications(AxState(app): Shared) -> Json<Value> {
    Json(json!([{
        "id": app.id,
        "name": app.name,
        "attempts": [{"startTime": app.started_ms, "completed": false, "sparkUser": "", "appSparkVersion": ""}],
        "master": app.master,
    }]))
}

fn job_json(s: &State, j: &JobRecord) -> Value {
    let stages: Vec<&StageRecord> = j.stages.iter().filter_map(|k| s.stages.get(k)).collect();
    let num_tasks: usize = stages.iter().map(|st| st.num_tasks).sum();
    let completed: u64 = stages.iter().map(|st| st.completed).sum();
    let failed: u64 = stages.iter().map(|st| st.failed).sum();
    let (batch, op) = j
        .batch_and_op()
        .map_or((None, None), |(b, o)| (Some(b), Some(o)));
    json!({
        "jobId": j.start.job_id,
        "name": j.start.rdd,
        "submissionTime": j.start.time_ms,
        "completionTime": j.end_ms,
        "stageIds": j.stages.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        "status": match (&j.end_ms, &j.failure) {
            (None, _) => "RUNNING",
            (Some(_), None) => "SUCCEEDED",
            (Some(_), Some(_)) => "FAILED",
        },
        "failureReason": j.failure,
        "numTasks": num_tasks,
        "numCompletedTasks": completed,
        "numFailedTasks": failed,
        "batchTime": batch,
        "outputOpId": op,
        "properties": j.start.properties,
    })
}

fn stage_json(st: &StageRecord, with_tasks: bool) -> Value {
    let mut v = json!({
        "stageId": st.stage_id,
        "attemptId": st.attempt,
        "jobId": st.job_id,
        "name": st.name,
        "kind": if st.shuffle_map { "ShuffleMapStage" } else { "ResultStage" },
        "status": match (&st.completed_ms, &st.failure) {
            (None, _) => "ACTIVE",
            (Some(_), None) => "COMPLETE",
            (Some(_), Some(_)) => "FAILED",
        },
        "numTasks": st.num_tasks,
        "numCompleteTasks": st.completed,
        "numFailedTasks": st.failed,
        "submissionTime": st.submitted_ms,
        "completionTime": st.completed_ms,
        "failureReason": st.failure,
        "executorRunTime": st.run_ms,
        "shuffleReadBytes": st.shuffle_read,
        "shuffleWriteBytes": st.shuffle_write,
    });
    if with_tasks {
        v["tasks"] = tasks_json(st);
    }
    v
}

fn tasks_json(st: &StageRecord) -> Value {
    Value::Array(
        st.tasks
            .iter()
            .map(|t| {
                json!({
                    "taskId": t.task_id,
                    "index": t.partition,
                    "attempt": t.attempt,
                    "executorId": t.executor,
                    "launchTime": t.launch_ms,
                    "duration": t.duration_ms,
                    "status": if t.failure.is_some() { "FAILED" } else { "SUCCESS" },
                    "errorMessage": t.failure,
                    "shuffleReadBytes": t.shuffle_read_bytes,
                    "shuffleWriteBytes": t.shuffle_write_bytes,
                })
            })
            .collect(),
    )
}

api_handler!(jobs, |app, s| Json(Value::Array(
    s.jobs.values().rev().map(|j| job_json(&s, j)).collect()
))
.into_response());

api_handler!(job, |app, s, job: usize| match s.jobs.get(&job) {
    Some(j) => Json(job_json(&s, j)).into_response(),
    None => not_found(format!("job {job}")),
});

api_handler!(stages, |app, s| Json(Value::Array(
    s.stages
        .values()
        .rev()
        .map(|st| stage_json(st, false))
        .collect()
))
.into_response());

api_handler!(stage, |app, s, stage: usize| {
    let attempts: Vec<Value> = s
        .stages
        .values()
        .filter(|st| st.stage_id == stage)
        .map(|st| stage_json(st, true))
        .collect();
    if attempts.is_empty() {
        not_found(format!("stage {stage}"))
    } else {
        Json(Value::Array(attempts)).into_response()
    }
});

async fn task_list(
    AxState(app): Shared,
    Path((id, stage, attempt)): Path<(String, usize, usize)>,
) -> Response {
    if let Some(r) = check_app(&app, &id) {
        return r;
    }
    let s = app.store.state.lock();
    match s.stages.get(&(stage, attempt)) {
        Some(st) => Json(tasks_json(st)).into_response(),
        None => not_found(format!("stage {stage} attempt {attempt}")),
    }
}

api_handler!(executors, |app, s| {
    let store = app.env.block_store();
    let blocks = store.block_infos();
    let driver_id = app.env.executor_id().to_string();
    let mut ids: Vec<String> = s.executors.keys().cloned().collect();
    if !ids.contains(&driver_id) {
        ids.insert(0, driver_id.clone());
    }
    let list: Vec<Value> = ids
        .iter()
        .map(|id| {
            let e = s.executors.get(id).cloned().unwrap_or_default();
            let local = *id == driver_id;
            json!({
                "id": id,
                "isActive": true,
                "totalTasks": e.completed + e.failed,
                "completedTasks": e.completed,
                "failedTasks": e.failed,
                "totalDuration": e.duration_ms,
                "totalShuffleRead": e.shuffle_read,
                "totalShuffleWrite": e.shuffle_write,
                "memoryUsed": if local { Some(store.memory_used()) } else { None },
                "maxMemory": if local { Some(store.budget()) } else { None },
                "diskUsed": if local { Some(blocks.iter().map(|b| b.disk_bytes).sum::<u64>()) } else { None },
                "rddBlocks": if local {
                    Some(blocks.iter().filter(|b| matches!(b.id, spate_core::storage::BlockId::Rdd { .. })).count())
                } else { None },
            })
        })
        .collect();
    Json(Value::Array(list)).into_response()
});

api_handler!(storage, |app, s| {
    drop(s);
    let mut by_rdd: std::collections::BTreeMap<usize, Vec<spate_core::storage::BlockInfo>> =
        Default::default();
    for b in app.env.block_store().block_infos() {
        if let spate_core::storage::BlockId::Rdd { rdd, .. } = b.id {
            by_rdd.entry(rdd).or_default().push(b);
        }
    }
    let list: Vec<Value> = by_rdd
        .into_iter()
        .map(|(rdd, blocks)| {
            let node = app.env.resolve_rdd(rdd).ok();
            let info = node.as_ref().map(|n| n.info());
            json!({
                "id": rdd,
                "name": info.map(|i| format!("{} [{}]", i.op(), rdd)).unwrap_or_else(|| format!("rdd {rdd}")),
                "numPartitions": info.map(|i| i.num_partitions()),
                "numCachedPartitions": blocks.len(),
                "storageLevel": blocks.first().map(|b| format!("{:?}", b.level)),
                "memoryUsed": blocks.iter().map(|b| b.memory_bytes).sum::<u64>(),
                "diskUsed": blocks.iter().map(|b| b.disk_bytes).sum::<u64>(),
                "partitions": blocks.iter().map(|b| json!({
                    "blockName": b.id.name(),
                    "storageLevel": format!("{:?}", b.level),
                    "location": b.location,
                    "memoryUsed": b.memory_bytes,
                    "diskUsed": b.disk_bytes,
                    "executors": [app.env.executor_id()],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(Value::Array(list)).into_response()
});

api_handler!(environment, |app, s| {
    drop(s);
    Json(json!({
        "runtime": {
            "spateVersion": env!("CARGO_PKG_VERSION"),
            "master": app.master,
            "appName": app.name,
            "batchDuration": app.batch_ms,
            "pid": std::process::id(),
        },
        "spateProperties": app.conf,
    }))
    .into_response()
});

api_handler!(accumulators, |app, s| {
    drop(s);
    Json(Value::Array(
        app.env
            .named_accumulators()
            .into_iter()
            .map(|(id, name, value)| json!({"id": id, "name": name, "value": value}))
            .collect(),
    ))
    .into_response()
});

fn avg(sum: i64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

api_handler!(statistics, |app, s| {
    let retained: Vec<&BatchInfo> = s.completed().collect();
    let n = retained.len() as u64;
    let active = s.batches.len() - retained.len();
    let records: u64 = retained.iter().map(|b| b.num_records).sum();
    Json(json!({
        "startTime": s.started_ms,
        "batchDuration": app.batch_ms,
        "numReceivers": s.receivers.len(),
        "numActiveReceivers": s.receivers.values().filter(|r| r.info.active).count(),
        "numInactiveReceivers": s.receivers.values().filter(|r| !r.info.active).count(),
        "numTotalCompletedBatches": s.completed_batches,
        "numRetainedCompletedBatches": n,
        "numActiveBatches": active,
        "numFailedBatches": s.failed_batches,
        "numProcessedRecords": s.records,
        "numReceivedRecords": s.records,
        "avgInputRate": (n > 0).then(|| records as f64 * 1000.0 / (n as f64 * app.batch_ms.max(1) as f64)),
        "avgSchedulingDelay": avg(retained.iter().filter_map(|b| b.scheduling_delay_ms()).sum(), n),
        "avgProcessingTime": avg(retained.iter().filter_map(|b| b.processing_delay_ms()).sum(), n),
        "avgTotalDelay": avg(retained.iter().filter_map(|b| b.total_delay_ms()).sum(), n),
        "inputErrors": s.input_errors.iter().rev().take(20).map(|e| json!({
            "streamId": e.stream_id, "batchTime": e.batch_time_ms, "path": e.path, "message": e.message,
        })).collect::<Vec<_>>(),
    }))
    .into_response()
});

api_handler!(receivers, |app, s| {
    let list: Vec<Value> = s
        .receivers
        .values()
        .map(|r| {
            let rates: Vec<(i64, f64)> = s
                .completed()
                .filter_map(|b| {
                    let i = b.input_info.get(&r.info.stream_id)?;
                    Some((b.batch_time.0, i.num_records as f64 * 1000.0 / app.batch_ms.max(1) as f64))
                })
                .collect();
            let avg = (!rates.is_empty()).then(|| rates.iter().map(|r| r.1).sum::<f64>() / rates.len() as f64);
            json!({
                "streamId": r.info.stream_id,
                "streamName": r.info.name,
                "isActive": r.info.active,
                "executorId": r.info.executor.clone().unwrap_or_else(|| app.env.executor_id().to_string()),
                "lastErrorTime": r.last_error_ms,
                "lastErrorMessage": r.info.last_error,
                "avgEventRate": avg,
                "eventRates": rates,
            })
        })
        .collect();
    Json(Value::Array(list)).into_response()
});

fn source_kind(i: &spate_streaming::InputInfo) -> String {
    let d = format!("{:?}", i.source);
    d.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_string()
}

fn batch_json(b: &BatchInfo) -> Value {
    let ops = &b.output_operations;
    let done = ops.iter().filter(|o| o.end_ms.is_some());
    let failed = ops.iter().filter(|o| o.failure.is_some()).count();
    json!({
        "batchId": b.batch_time.0,
        "batchTime": b.batch_time.0,
        "status": if b.processing_end_ms.is_some() {
            if batch_failure(b).is_some() { "FAILED" } else { "COMPLETED" }
        } else if b.processing_start_ms.is_some() { "PROCESSING" } else { "QUEUED" },
        "inputSize": b.num_records,
        "submissionTime": b.submission_ms,
        "processingStartTime": b.processing_start_ms,
        "processingEndTime": b.processing_end_ms,
        "schedulingDelay": b.scheduling_delay_ms(),
        "processingTime": b.processing_delay_ms(),
        "totalDelay": b.total_delay_ms(),
        "numActiveOutputOps": ops.iter().filter(|o| o.start_ms.is_some() && o.end_ms.is_none()).count(),
        "numCompletedOutputOps": done.count() - failed,
        "numFailedOutputOps": failed,
        "numTotalOutputOps": ops.len(),
        "firstFailureReason": batch_failure(b),
        "rateLimits": b.rate_limits,
        "inputs": b.input_info.iter().map(|(id, i)| json!({
            "streamId": id, "records": i.num_records, "source": source_kind(i),
        })).collect::<Vec<_>>(),
    })
}

api_handler!(batches, |app, s| Json(Value::Array(
    s.batches.values().rev().map(batch_json).collect()
))
.into_response());

api_handler!(batch, |app, s, batch: i64| match s.batches.get(&batch) {
    Some(b) => Json(batch_json(b)).into_response(),
    None => not_found(format!("batch {batch}")),
});

api_handler!(operations, |app, s, batch: i64| {
    let Some(b) = s.batches.get(&batch) else {
        return not_found(format!("batch {batch}"));
    };
    let list: Vec<Value> = b
        .output_operations
        .iter()
        .map(|o| {
            let jobs: Vec<Value> = s
                .jobs
                .values()
                .filter(|j| j.batch_and_op() == Some((batch, o.id)))
                .map(|j| {
                    let mut v = job_json(&s, j);
                    v["stages"] = Value::Array(
                        j.stages
                            .iter()
                            .filter_map(|k| s.stages.get(k))
                            .map(|st| stage_json(st, true))
                            .collect(),
                    );
                    v
                })
                .collect();
            json!({
                "outputOpId": o.id,
                "name": o.name,
                "startTime": o.start_ms,
                "endTime": o.end_ms,
                "duration": o.start_ms.zip(o.end_ms).map(|(a, b)| b - a),
                "failureReason": o.failure,
                "jobs": jobs,
            })
        })
        .collect();
    Json(Value::Array(list)).into_response()
});

api_handler!(dashboards, |app, s| {
    drop(s);
    let all = dashboard::hub().dashboards.lock();
    Json(Value::Array(
        all.iter().map(|(n, d)| dashboard::describe(n, d)).collect(),
    ))
    .into_response()
});

api_handler!(one_dashboard, |app, s, name: String| {
    drop(s);
    let all = dashboard::hub().dashboards.lock();
    match all.get(&name) {
        Some(d) => Json(dashboard::describe(&name, d)).into_response(),
        None => not_found(format!("dashboard {name:?}")),
    }
});

async fn metrics(AxState(app): Shared) -> Response {
    let m = &app.store.metrics;
    let store = app.env.block_store();
    m.memory_used.set(store.memory_used() as i64);
    m.memory_budget.set(store.budget() as i64);
    let active = {
        let s = app.store.state.lock();
        s.batches.len() - s.completed().count()
    };
    m.active_batches.set(active as i64);
    match m.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
