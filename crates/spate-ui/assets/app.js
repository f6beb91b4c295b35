// spate web UI: draws the page for location.pathname from the REST API, every second.
"use strict";

const API = "/api/v1/applications/" + encodeURIComponent(window.SPATE_APP);
const main = () => document.getElementById("main");

function esc(v) {
  if (v === null || v === undefined) return "";
  return String(v).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function ms(v) { return v === null || v === undefined ? "–" : Math.round(v) + " ms"; }
function num(v, d) { return v === null || v === undefined ? "–" : Number(v).toFixed(d === undefined ? 2 : d); }
function bytes(v) {
  if (v === null || v === undefined) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; let x = Number(v);
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (i ? x.toFixed(1) : x) + " " + u[i];
}
function time(v) { return v === null || v === undefined ? "–" : new Date(v).toISOString().replace("T", " ").replace("Z", ""); }
function table(cls, head, rows) {
  return `<table class="${cls}"><thead><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr></thead><tbody>` +
    rows.join("") + "</tbody></table>";
}
async function get(path) {
  const r = await fetch(API + path);
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}
function query(name) { return new URLSearchParams(location.search).get(name); }

// A line chart of one or more series [[x, y], ...] as inline SVG.
function chart(id, title, series, avgText) {
  const all = series.flatMap(s => s.points);
  const w = 400, h = 110, pad = 4;
  let body = "";
  if (all.length > 0) {
    const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y1 = Math.max(1e-9, ...ys);
    const sx = x => x1 === x0 ? w / 2 : pad + (x - x0) * (w - 2 * pad) / (x1 - x0);
    const sy = y => h - pad - y * (h - 2 * pad) / y1;
    body = series.map((s, i) => `<polyline class="s${i % 4}" data-series="${esc(s.name)}" points="` +
      s.points.map(p => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" ") + `"></polyline>`).join("") +
      `<text x="${w - pad}" y="12" text-anchor="end" font-size="10">max ${num(y1)}</text>`;
  }
  const legend = series.length > 1 ? " " + series.map(s => esc(s.name)).join(", ") : "";
  return `<div class="chart" id="${id}"><div class="title">${esc(title)}${legend}</div>` +
    `<div class="avg">${avgText || ""}</div>` +
    `<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" data-points="${all.length}">${body}</svg></div>`;
}

function batchRow(b) {
  return `<tr class="${b.status === "FAILED" ? "failed" : ""}" data-batch="${b.batchId}">` +
    `<td><a href="/streaming/batch/?id=${b.batchId}">${esc(b.batchId)}</a></td>` +
    `<td>${b.inputSize}</td><td>${ms(b.schedulingDelay)}</td><td>${ms(b.processingTime)}</td>` +
    `<td>${ms(b.totalDelay)}</td><td>${b.numCompletedOutputOps + b.numFailedOutputOps}/${b.numTotalOutputOps}</td>` +
    `<td class="status">${b.status}</td><td class="error">${esc(b.firstFailureReason)}</td></tr>`;
}
const BATCH_HEAD = ["Batch time", "Records", "Scheduling delay", "Processing time", "Total delay", "Output ops", "Status", "Error"];

async function streaming() {
  const [st, rs, bs] = await Promise.all([get("/streaming/statistics"), get("/streaming/receivers"), get("/streaming/batches")]);
  const done = bs.filter(b => b.status === "COMPLETED" || b.status === "FAILED").reverse();
  const active = bs.filter(b => b.status === "QUEUED" || b.status === "PROCESSING");
  const pts = f => done.filter(b => f(b) !== null && f(b) !== undefined).map(b => [b.batchId, f(b)]);
  const rate = b => b.inputSize * 1000 / st.batchDuration;
  let html = `<h2>Streaming statistics</h2><p id="summary">Running since ${time(st.startTime)} · batch interval ${st.batchDuration} ms · ` +
    `<span id="completed-count">${st.numTotalCompletedBatches}</span> completed batches (${st.numFailedBatches} failed) · ` +
    `${st.numReceivedRecords} records</p><div class="charts">` +
    chart("chart-input-rate", "Input rate (records/s)", [{name: "input", points: pts(rate)}], "avg " + num(st.avgInputRate) + " records/s") +
    chart("chart-scheduling-delay", "Scheduling delay (ms)", [{name: "delay", points: pts(b => b.schedulingDelay)}], "avg " + ms(st.avgSchedulingDelay)) +
    chart("chart-processing-time", "Processing time (ms)", [{name: "time", points: pts(b => b.processingTime)}], "avg " + ms(st.avgProcessingTime)) +
    chart("chart-total-delay", "Total delay (ms)", [{name: "delay", points: pts(b => b.totalDelay)}], "avg " + ms(st.avgTotalDelay));
  const limited = done.filter(b => Object.keys(b.rateLimits).length > 0);
  if (limited.length > 0) {
    const ids = [...new Set(limited.flatMap(b => Object.keys(b.rateLimits)))];
    html += chart("chart-rate-limit", "Backpressure rate limit (records/s)",
      ids.map(id => ({name: "stream " + id, points: limited.filter(b => id in b.rateLimits).map(b => [b.batchId, b.rateLimits[id]])})), "");
  }
  html += "</div>";
  if (rs.length > 0) {
    html += "<h2>Receivers</h2>" + table("receivers", ["Stream", "Name", "Active", "Executor", "Avg rate (records/s)", "Last error"],
      rs.map(r => `<tr><td>${r.streamId}</td><td>${esc(r.streamName)}</td><td>${r.isActive}</td><td>${esc(r.executorId)}</td>` +
        `<td>${num(r.avgEventRate)}</td><td class="error">${r.lastErrorTime ? time(r.lastErrorTime) + " " : ""}${esc(r.lastErrorMessage)}</td></tr>`));
  }
  if (st.inputErrors.length > 0) {
    html += "<h2>Input problems</h2>" + table("input-errors", ["Stream", "Batch", "File", "Message"],
      st.inputErrors.map(e => `<tr><td>${e.streamId}</td><td>${e.batchTime}</td><td>${esc(e.path)}</td><td class="error">${esc(e.message)}</td></tr>`));
  }
  html += `<h2>Active batches (${active.length})</h2>` + table("active-batches", BATCH_HEAD, active.map(batchRow));
  html += `<h2>Completed batches (last ${done.length} of ${st.numTotalCompletedBatches})</h2>` +
    table("completed-batches", BATCH_HEAD, done.slice().reverse().map(batchRow));
  return html;
}

function stageRows(stages) {
  return stages.map(s => `<tr class="${s.status === "FAILED" ? "failed" : ""}"><td><a href="/stages/stage/?id=${s.stageId}">${s.stageId}</a>.${s.attemptId}</td>` +
    `<td>${esc(s.name)}</td><td>${s.kind}</td><td>${s.status}</td><td>${s.numCompleteTasks}/${s.numTasks}` +
    `${s.numFailedTasks ? " (" + s.numFailedTasks + " failed)" : ""}</td><td>${ms(s.executorRunTime)}</td>` +
    `<td>${bytes(s.shuffleReadBytes)}</td><td>${bytes(s.shuffleWriteBytes)}</td><td class="error">${esc(s.failureReason)}</td></tr>`);
}
const STAGE_HEAD = ["Stage", "Description", "Kind", "Status", "Tasks", "Task time", "Shuffle read", "Shuffle write", "Failure"];
function taskRows(tasks) {
  return tasks.map(t => `<tr class="${t.status === "FAILED" ? "failed" : ""}"><td>${t.taskId}</td><td>${t.index}</td><td>${t.attempt}</td>` +
    `<td>${esc(t.executorId)}</td><td>${time(t.launchTime)}</td><td>${ms(t.duration)}</td><td>${t.status}</td>` +
    `<td>${bytes(t.shuffleReadBytes)}</td><td>${bytes(t.shuffleWriteBytes)}</td><td class="error">${esc(t.errorMessage)}</td></tr>`);
}
const TASK_HEAD = ["Task", "Partition", "Attempt", "Executor", "Launched", "Duration", "Status", "Shuffle read", "Shuffle write", "Error"];

async function batchPage() {
  const id = query("id");
  const [b, ops] = await Promise.all([get("/streaming/batches/" + id), get("/streaming/batches/" + id + "/operations")]);
  let html = `<h2>Batch ${esc(b.batchId)}</h2><table class="kv"><tbody>` +
    `<tr><td>Status</td><td id="batch-status">${b.status}</td></tr><tr><td>Records</td><td>${b.inputSize}</td></tr>` +
    `<tr><td>Scheduling delay</td><td>${ms(b.schedulingDelay)}</td></tr><tr><td>Processing time</td><td>${ms(b.processingTime)}</td></tr>` +
    `<tr><td>Total delay</td><td>${ms(b.totalDelay)}</td></tr>` +
    b.inputs.map(i => `<tr><td>Input ${i.streamId}</td><td>${i.records} records (${esc(i.source)})</td></tr>`).join("") +
    `</tbody></table><h2>Output operations</h2>`;
  for (const o of ops) {
    html += `<h3>${o.outputOpId}: ${esc(o.name)} — ${ms(o.duration)}</h3>`;
    if (o.failureReason) html += `<p class="error op-failure">${esc(o.failureReason)}</p>`;
    for (const j of o.jobs) {
      html += `<p>Job <a href="/jobs/job/?id=${j.jobId}">${j.jobId}</a> (${esc(j.name)}): ${j.status}</p>` +
        table("stages", STAGE_HEAD, stageRows(j.stages));
      for (const s of j.stages) html += table("tasks", TASK_HEAD, taskRows(s.tasks));
    }
  }
  return html;
}

function jobRows(jobs) {
  return jobs.map(j => `<tr class="${j.status === "FAILED" ? "failed" : ""}"><td><a href="/jobs/job/?id=${j.jobId}">${j.jobId}</a></td>` +
    `<td>${esc(j.name)}</td><td>${j.batchTime === null ? "" : `<a href="/streaming/batch/?id=${j.batchTime}">${j.batchTime}</a> op ${j.outputOpId}`}</td>` +
    `<td>${time(j.submissionTime)}</td><td>${j.completionTime ? ms(j.completionTime - j.submissionTime) : "running"}</td>` +
    `<td>${j.stageIds.join(", ")}</td><td>${j.numCompletedTasks}/${j.numTasks}${j.numFailedTasks ? " (" + j.numFailedTasks + " failed)" : ""}</td>` +
    `<td>${j.status}</td><td class="error">${esc(j.failureReason)}</td></tr>`);
}
async function jobs() {
  const js = await get("/jobs");
  return `<h2>Jobs (${js.length})</h2>` + table("jobs", ["Job", "Description", "Batch", "Submitted", "Duration", "Stages", "Tasks", "Status", "Failure"], jobRows(js.slice(0, 200)));
}
async function jobPage() {
  const j = await get("/jobs/" + query("id"));
  const stages = (await Promise.all(j.stageIds.map(s => get("/stages/" + s)))).flat();
  return `<h2>Job ${j.jobId}</h2>` + table("jobs", ["Job", "Description", "Batch", "Submitted", "Duration", "Stages", "Tasks", "Status", "Failure"], jobRows([j])) +
    "<h3>Stages</h3>" + table("stages", STAGE_HEAD, stageRows(stages));
}
async function stages() {
  const ss = await get("/stages");
  return `<h2>Stages (${ss.length})</h2>` + table("stages", STAGE_HEAD, stageRows(ss.slice(0, 300)));
}
async function stagePage() {
  const attempts = await get("/stages/" + query("id"));
  return attempts.map(s => `<h2>Stage ${s.stageId} attempt ${s.attemptId}</h2>` + table("stages", STAGE_HEAD, stageRows([s])) +
    "<h3>Tasks</h3>" + table("tasks", TASK_HEAD, taskRows(s.tasks))).join("");
}
async function storage() {
  const rs = await get("/storage/rdd");
  let html = "<h2>Persisted RDDs</h2>" + table("rdds", ["RDD", "Storage level", "Cached partitions", "Memory", "Disk"],
    rs.map(r => `<tr><td>${esc(r.name)}</td><td>${esc(r.storageLevel)}</td><td>${r.numCachedPartitions}/${r.numPartitions ?? "?"}</td>` +
      `<td>${bytes(r.memoryUsed)}</td><td>${bytes(r.diskUsed)}</td></tr>`));
  for (const r of rs) {
    html += `<h3>${esc(r.name)}</h3>` + table("blocks", ["Block", "Level", "Where", "Memory", "Disk", "Executor"],
      r.partitions.map(p => `<tr><td>${esc(p.blockName)}</td><td>${esc(p.storageLevel)}</td><td>${p.location}</td>` +
        `<td>${bytes(p.memoryUsed)}</td><td>${bytes(p.diskUsed)}</td><td>${esc(p.executors.join(", "))}</td></tr>`));
  }
  return html;
}
async function executors() {
  const es = await get("/executors");
  return "<h2>Executors</h2>" + table("executors", ["Executor", "Tasks", "Completed", "Failed", "Task time", "Shuffle read", "Shuffle write", "Storage memory", "Disk", "RDD blocks"],
    es.map(e => `<tr><td>${esc(e.id)}</td><td>${e.totalTasks}</td><td>${e.completedTasks}</td><td>${e.failedTasks}</td><td>${ms(e.totalDuration)}</td>` +
      `<td>${bytes(e.totalShuffleRead)}</td><td>${bytes(e.totalShuffleWrite)}</td><td>${bytes(e.memoryUsed)} / ${bytes(e.maxMemory)}</td>` +
      `<td>${bytes(e.diskUsed)}</td><td>${e.rddBlocks ?? "–"}</td></tr>`));
}
async function environment() {
  const e = await get("/environment");
  return "<h2>Runtime</h2>" + table("kv", ["Name", "Value"], Object.entries(e.runtime).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`)) +
    "<h2>spate properties</h2>" + table("kv properties", ["Key", "Value"], e.spateProperties.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`));
}
async function accumulators() {
  const a = await get("/accumulators");
  return "<h2>Accumulators</h2>" + table("accumulators", ["Id", "Name", "Value"],
    a.map(x => `<tr><td>${x.id}</td><td>${esc(x.name)}</td><td>${esc(x.value ?? "(not displayable)")}</td></tr>`));
}
async function dashboards() {
  const ds = await get("/dashboards");
  if (ds.length === 0) return "<h2>Dashboards</h2><p>No stream publishes to a dashboard (<code>to_dashboard</code>).</p>";
  let html = "";
  ds.forEach((d, i) => {
    html += `<section class="dashboard" data-name="${esc(d.name)}"><h2>${esc(d.name)}</h2>`;
    if (d.kind === "time_series") {
      html += chart("dash-" + i, d.name, Object.entries(d.series).map(([n, p]) => ({name: n, points: p})), "last batch " + esc(d.lastBatchTime));
    } else if (d.kind === "top_n") {
      html += table("top-n", ["", "Value"], d.rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${num(v)}</td></tr>`));
    } else if (d.kind === "counter") {
      html += `<div class="big counter-last">${num(d.last, 0)}</div><div>total <span class="counter-total">${num(d.total, 0)}</span></div>`;
    } else {
      html += table("rows", ["Batch", "Record"], d.rows.map(r => `<tr><td>${r.batchTime}</td><td>${esc(typeof r.record === "string" ? r.record : JSON.stringify(r.record))}</td></tr>`));
    }
    if (d.droppedRecords) html += `<p class="error">${d.droppedRecords} records over the limit not shown</p>`;
    html += "</section>";
  });
  return html;
}

const ROUTES = {
  "/streaming/": streaming, "/streaming/batch/": batchPage, "/jobs/": jobs, "/jobs/job/": jobPage,
  "/stages/": stages, "/stages/stage/": stagePage, "/storage/": storage, "/executors/": executors,
  "/environment/": environment, "/accumulators/": accumulators, "/dashboards/": dashboards,
};

let refreshes = 0;
async function refresh() {
  const draw = ROUTES[location.pathname];
  try {
    const html = draw ? await draw() : "<p>Unknown page</p>";
    main().innerHTML = html;
    refreshes++;
    document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString() + " (" + refreshes + ")";
    document.body.dataset.refreshes = refreshes;
  } catch (e) {
    document.getElementById("status").textContent = "could not refresh: " + e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const tab = location.pathname.split("/")[1];
  document.querySelectorAll("nav a").forEach(a => { if (a.dataset.tab === tab) a.classList.add("active"); });
  fetch("/api/v1/applications").then(r => r.json()).then(a => {
    document.getElementById("app-name").textContent = a[0].name + " · " + a[0].master;
  }).catch(() => {});
  refresh();
  setInterval(refresh, 1000);
});
