//! The job itself: log lines in, per-endpoint counts over sliding windows, and for every
//! window a [`WindowReport`] with its summary and alerts.
//!
//! ```text
//!   DStream<Str> ─flat_map: parse (malformed +1)─▶ (endpoint, Counts)
//!     ─reduce_by_key_and_window(merge, window, slide)─▶ counts per endpoint per window
//!     ─foreach_rdd: collect, thresholds─▶ WindowReport ─▶ summary, top errors, ALERTs
//! ```
//!
//! An *error* is a 5xx response: the server failed. 4xx responses (a scanner's 404s, a
//! mistyped password's 401) are counted and shown, but they are the clients' doing and
//! raise no alert.

use crate::parse::parse;
use serde::{Deserialize, Serialize};
use spate::prelude::*;
use spate::LongAccumulator;
use std::fmt::Write;
use std::time::Duration;

/// What a window saw of an endpoint (or of all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests.
    pub requests: u64,
    /// Responses 400..=499.
    pub client_errors: u64,
    /// Responses 500..=599: the errors.
    pub server_errors: u64,
    /// Bytes sent.
    pub bytes: u64,
}

impl Counts {
    /// One request answered with `status` and `bytes`.
    pub fn of(status: u16, bytes: u64) -> Self {
        Counts {
            requests: 1,
            client_errors: u64::from((400..500).contains(&status)),
            server_errors: u64::from((500..600).contains(&status)),
            bytes,
        }
    }

    /// Both together.
    pub fn merge(self, o: Counts) -> Counts {
        Counts {
            requests: self.requests + o.requests,
            client_errors: self.client_errors + o.client_errors,
            server_errors: self.server_errors + o.server_errors,
            bytes: self.bytes + o.bytes,
        }
    }

    /// Errors (5xx) per request; 0 without requests.
    pub fn error_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.server_errors as f64 / self.requests as f64
        }
    }
}

/// When an endpoint's window raises an alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At least this many errors.
    pub min_errors: u64,
    /// Or an error ratio above this...
    pub max_error_ratio: f64,
    /// ...over at least this many requests.
    pub min_requests: u64,
}

impl Thresholds {
    /// The alert `endpoint` raises with `counts` in a window, if any.
    pub fn check(&self, endpoint: &str, c: &Counts) -> Option<Alert> {
        let by_count = c.server_errors >= self.min_errors;
        let by_ratio = c.requests >= self.min_requests && c.error_ratio() > self.max_error_ratio;
        (by_count || by_ratio).then(|| Alert {
            endpoint: endpoint.to_string(),
            counts: *c,
            by_count,
            by_ratio,
        })
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_errors: 20,
            max_error_ratio: 0.05,
            min_requests: 50,
        }
    }
}

/// An endpoint over its thresholds in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The endpoint.
    pub endpoint: String,
    /// Its counts in the window.
    pub counts: Counts,
    /// Whether the error count reached `min_errors`.
    pub by_count: bool,
    /// Whether the error ratio passed `max_error_ratio` (over `min_requests`).
    pub by_ratio: bool,
}

impl Alert {
    /// The alert as one `ALERT` line, for the window from `start_ms` to `end_ms`.
    pub fn line(&self, th: &Thresholds, start_ms: i64, end_ms: i64) -> String {
        let c = &self.counts;
        let mut why = Vec::new();
        if self.by_count {
            why.push(format!("5xx >= {}", th.min_errors));
        }
        if self.by_ratio {
            why.push(format!(
                "ratio > {:.2}% over >= {} requests",
                th.max_error_ratio * 100.0,
                th.min_requests
            ));
        }
        format!(
            "ALERT {} window {}-{}: 5xx {} of {} requests ({:.2}%), 4xx {} [{}]",
            self.endpoint,
            clock(start_ms),
            clock(end_ms),
            c.server_errors,
            c.requests,
            c.error_ratio() * 100.0,
            c.client_errors,
            why.join("; ")
        )
    }
}

/// One window: its totals, its endpoints and its alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowReport {
    /// The window's end (its batch time), in ms.
    pub end_ms: i64,
    /// How much time the window covers: its length, or less for the first windows.
    pub span_ms: i64,
    /// All endpoints together.
    pub total: Counts,
    /// Every endpoint, most errors first (then most client errors, most requests, name).
    pub endpoints: Vec<(String, Counts)>,
    /// Malformed lines since the start, as of this window.
    pub malformed: i64,
    /// The alerting endpoints, in the order of `endpoints`.
    pub alerts: Vec<Alert>,
    /// The thresholds applied.
    pub thresholds: Thresholds,
}

impl WindowReport {
    /// The report of the window ending at `end_ms` and covering `span_ms`.
    pub fn new(
        end_ms: i64,
        span_ms: i64,
        mut endpoints: Vec<(String, Counts)>,
        malformed: i64,
        thresholds: Thresholds,
    ) -> Self {
        endpoints.sort_by(|a, b| {
            (b.1.server_errors, b.1.client_errors, b.1.requests)
                .cmp(&(a.1.server_errors, a.1.client_errors, a.1.requests))
                .then_with(|| a.0.cmp(&b.0))
        });
        let total = endpoints
            .iter()
            .fold(Counts::default(), |t, (_, c)| t.merge(*c));
        let alerts = endpoints
            .iter()
            .filter_map(|(e, c)| thresholds.check(e, c))
            .collect();
        WindowReport {
            end_ms,
            span_ms,
            total,
            endpoints,
            malformed,
            alerts,
            thresholds,
        }
    }

    /// Requests per second over the time the window covers.
    pub fn requests_per_sec(&self) -> f64 {
        self.total.requests as f64 * 1000.0 / self.span_ms.max(1) as f64
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        let t = &self.total;
        format!(
            "{} window {}: {} requests ({:.1}/s), 4xx {}, 5xx {}, error ratio {:.2}%, malformed lines so far {}",
            clock(self.end_ms),
            seconds(self.span_ms),
            t.requests,
            self.requests_per_sec(),
            t.client_errors,
            t.server_errors,
            t.error_ratio() * 100.0,
            self.malformed
        )
    }

    /// The `n` endpoints with the most errors (5xx, then 4xx), if any has one.
    pub fn top_errors(&self, n: usize) -> Option<String> {
        let mut line = String::from("  top errors:");
        let mut any = false;
        for (e, c) in self
            .endpoints
            .iter()
            .filter(|(_, c)| c.server_errors + c.client_errors > 0)
            .take(n)
        {
            let sep = if any { " |" } else { "" };
            let _ = write!(
                line,
                "{sep} {e} 5xx {} 4xx {} of {}",
                c.server_errors, c.client_errors, c.requests
            );
            any = true;
        }
        any.then_some(line)
    }

    /// One `ALERT` line per alerting endpoint.
    pub fn alert_lines(&self) -> Vec<String> {
        self.alerts
            .iter()
            .map(|a| a.line(&self.thresholds, self.end_ms - self.span_ms, self.end_ms))
            .collect()
    }

    /// Everything printed for the window: summary, top errors (up to `top`), alerts.
    pub fn render(&self, top: usize) -> String {
        let mut out = self.summary();
        out.push('\n');
        if let Some(t) = self.top_errors(top) {
            out.push_str(&t);
            out.push('\n');
        }
        for a in self.alert_lines() {
            out.push_str(&a);
            out.push('\n');
        }
        out
    }
}

/// `HH:MM:SS` (UTC) of a time in ms, with `.mmm` when not on a second.
pub fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    let frac = ms.rem_euclid(1000);
    let hms = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if frac == 0 {
        hms
    } else {
        format!("{hms}.{frac:03}")
    }
}

/// `10s`, or `2.5s`.
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", ms as f64 / 1000.0)
    }
}

/// The streams and counters of the job.
pub struct Pipeline {
    /// Counts per endpoint of each window.
    pub windows: DStream<(Str, Counts)>,
    /// Lines that are not log lines (blank lines are skipped, not counted).
    pub malformed: LongAccumulator,
    /// Lines read (blank lines excepted), malformed ones included.
    pub lines: LongAccumulator,
    window_ms: i64,
}

/// Builds the job over `lines`: counts per endpoint over `window`, every `slide` (both
/// multiples of the batch interval).
pub fn window_counts(
    lines: &DStream<Str>,
    window: Duration,
    slide: Duration,
) -> spate::streaming::Result<Pipeline> {
    let ctx = lines.context().ctx().clone();
    let malformed = ctx.long_accumulator("malformed lines");
    let read = ctx.long_accumulator("log lines");
    let (m, r) = (malformed.clone(), read.clone());
    // The accumulators are added to in the per-batch parse, which runs once per batch:
    // the windows below read each batch's reduced (and cached) counts, never its lines.
    let requests = lines.flat_map(move |line: Str| {
        if line.trim().is_empty() {
            return None;
        }
        r.add(1);
        match parse(&line) {
            Some(req) => Some((
                line.slice_of(req.endpoint),
                Counts::of(req.status, req.bytes),
            )),
            None => {
                m.add(1);
                None
            }
        }
    });
    let windows = requests
        .reduce_by_key_and_window(Counts::merge)
        .window(window)
        .slide(slide)
        .partitioner(ctx.default_parallelism())
        .build();
    Ok(Pipeline {
        windows,
        malformed,
        lines: read,
        window_ms: window.as_millis() as i64,
    })
}

/// One alert as a record, for sinks (a webhook, a Kafka topic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertOut {
    /// The endpoint.
    pub endpoint: String,
    /// The window's start and end (ms since the epoch).
    pub window_start_ms: i64,
    /// The window's end.
    pub window_end_ms: i64,
    /// 5xx responses in the window.
    pub server_errors: u64,
    /// Requests in the window.
    pub requests: u64,
    /// The `ALERT` line, as printed.
    pub text: String,
}

impl Pipeline {
    /// The alerts of every window, one record per alerting endpoint (the first windows
    /// cover only the time since the start, as in the report).
    pub fn alerts(&self, th: Thresholds) -> DStream<AlertOut> {
        let stream = self.windows.base();
        let window_ms = self.window_ms;
        self.windows.transform(move |rdd, time| {
            let end = time.millis();
            let zero = stream.meta().zero_ms().unwrap_or(i64::MIN);
            let start = end - window_ms.min(end.saturating_sub(zero));
            Ok(rdd.flat_map(move |(endpoint, counts)| {
                th.check(&endpoint, &counts).map(|a| AlertOut {
                    text: a.line(&th, start, end),
                    endpoint: a.endpoint,
                    window_start_ms: start,
                    window_end_ms: end,
                    server_errors: a.counts.server_errors,
                    requests: a.counts.requests,
                })
            }))
        })
    }

    /// Calls `f` with the report of every window, on the driver, in time order.
    pub fn on_window<F>(&self, thresholds: Thresholds, f: F)
    where
        F: Fn(&WindowReport) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        let stream = self.windows.base();
        let (malformed, window_ms) = (self.malformed.clone(), self.window_ms);
        self.windows.foreach_rdd(move |rdd, time| {
            let endpoints = rdd
                .collect()?
                .into_iter()
                .map(|(e, c)| (e.to_string(), c))
                .collect();
            // The first windows only cover the time since the start (zero time).
            let zero = stream.meta().zero_ms().unwrap_or(i64::MIN);
            let span = window_ms.min(time.millis().saturating_sub(zero));
            let report = WindowReport::new(
                time.millis(),
                span,
                endpoints,
                malformed.value(),
                thresholds,
            );
            f(&report)
        });
    }
}
