//! Live dashboards: `stream.to_dashboard(name, Panel::...)` publishes each batch's result
//! to the UI's Dashboards page (`/dashboards/`), whose charts and tables update as batches
//! complete. The records travel to the driver through a [`Sink`] (each partition's
//! records encoded as JSON in its task, published at the batch's commit), so a batch
//! computed again (a retry, a replay after recovery) replaces what it published before.
//!
//! What a record means depends on the panel:
//! - a number: the value of the series `value`;
//! - a pair `(label, number)` (or a two-element sequence): the value of series `label`;
//! - anything else (a struct, a string): a row of a [`Panel::Table`].

use crate::Error;
use parking_lot::Mutex;
use serde_json::Value;
use spate_core::{BoxIter, Data};
use spate_streaming::{BoxError, DStream, Sink, Time};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// How a dashboard shows its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// A line per series: each batch's value (summed when a batch gives a label twice).
    TimeSeries,
    /// The last batch's `(label, number)` pairs, largest first, at most `top` rows.
    TopN,
    /// Each batch's sum, and the sum over every batch published.
    Counter,
    /// The records of the recent batches as rows (newest first), at most `history` rows.
    Table,
}

/// A dashboard's kind and options.
#[derive(Debug, Clone, Copy)]
pub struct Panel {
    kind: PanelKind,
    history: usize,
    top: usize,
    max_records: usize,
}

impl Panel {
    fn of(kind: PanelKind) -> Self {
        Panel {
            kind,
            history: 120,
            top: 10,
            max_records: 1000,
        }
    }
    /// One line per series over the last 120 batches ([`Self::history`]).
    pub fn time_series() -> Self {
        Self::of(PanelKind::TimeSeries)
    }
    /// The last batch's `n` largest `(label, number)` pairs.
    pub fn top_n(n: usize) -> Self {
        Panel {
            top: n.max(1),
            ..Self::of(PanelKind::TopN)
        }
    }
    /// The batch's sum and the running total.
    pub fn counter() -> Self {
        Self::of(PanelKind::Counter)
    }
    /// Recent records as table rows.
    pub fn table() -> Self {
        Self::of(PanelKind::Table)
    }
    /// How many batches a time series keeps (or rows a table shows); default 120.
    pub fn history(self, n: usize) -> Self {
        Panel {
            history: n.max(1),
            ..self
        }
    }
    /// Most records one batch may publish (more are counted as dropped, with a
    /// warning); default 1,000. Dashboards show results (aggregates, top lists), not
    /// raw streams.
    pub fn max_records(self, n: usize) -> Self {
        Panel {
            max_records: n.max(1),
            ..self
        }
    }
}

/// One dashboard's data.
#[derive(Debug)]
pub(crate) struct Dashboard {
    pub panel: Panel,
    /// Each batch's records (as published), by batch time (ms), the last `history`.
    pub batches: BTreeMap<i64, Vec<Value>>,
    /// Counter: the sum over batches no longer in `batches`.
    pub evicted_total: f64,
    /// Records over `max_records` not published.
    pub dropped: u64,
}

/// The `(label, value)` a record stands for in a chart, if it stands for one.
pub(crate) fn point(v: &Value) -> Option<(String, f64)> {
    match v {
        Value::Number(n) => Some(("value".into(), n.as_f64()?)),
        Value::Array(a) if a.len() == 2 => {
            let label = match &a[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((label, a[1].as_f64()?))
        }
        _ => None,
    }
}

/// The sum of a batch's numbers.
pub(crate) fn batch_sum(records: &[Value]) -> f64 {
    records.iter().filter_map(point).map(|(_, v)| v).sum()
}

/// Every dashboard of this process, by name.
#[derive(Default)]
pub(crate) struct Hub {
    pub dashboards: Mutex<BTreeMap<String, Dashboard>>,
}

/// The process's dashboards (one UI per driver process shows them).
pub(crate) fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(Hub::default)
}

impl Hub {
    fn publish(&self, name: &str, time: Time, records: Vec<Value>, dropped: u64) {
        let mut all = self.dashboards.lock();
        let Some(d) = all.get_mut(name) else { return };
        d.dropped += dropped;
        d.batches.insert(time.0, records);
        while d.batches.len() > d.panel.history {
            if let Some((_, old)) = d.batches.pop_first() {
                d.evicted_total += batch_sum(&old);
            }
        }
    }
}

/// The sink behind [`ToDashboard::to_dashboard`].
pub struct DashboardSink {
    name: String,
    max_records: usize,
}

impl<T: Data> Sink<T> for DashboardSink {
    /// The partition's records as JSON, and how many were over the limit.
    type Staged = (Vec<String>, u64);

    fn name(&self) -> String {
        format!("dashboard {:?}", self.name)
    }

    fn write(
        &self,
        _time: Time,
        _partition: usize,
        _attempt: u64,
        records: BoxIter<T>,
    ) -> Result<Self::Staged, BoxError> {
        let mut out = Vec::new();
        let mut dropped = 0u64;
        for r in records {
            if out.len() >= self.max_records {
                dropped += 1;
                continue;
            }
            out.push(serde_json::to_string(&r).map_err(|e| Error::Record {
                dashboard: self.name.clone(),
                source: e,
            })?);
        }
        Ok((out, dropped))
    }

    fn commit(&self, time: Time, staged: Vec<Self::Staged>) -> Result<(), BoxError> {
        let mut records = Vec::new();
        let mut dropped = 0;
        for (part, d) in staged {
            dropped += d;
            for r in part {
                if records.len() >= self.max_records {
                    dropped += 1;
                    continue;
                }
                records.push(serde_json::from_str(&r).map_err(|e| Error::Record {
                    dashboard: self.name.clone(),
                    source: e,
                })?);
            }
        }
        if dropped > 0 {
            tracing::warn!(
                dashboard = %self.name,
                batch_ms = time.0,
                dropped,
                "batch had more records than the dashboard's max_records; the rest were not shown"
            );
        }
        hub().publish(&self.name, time, records, dropped);
        Ok(())
    }
}

/// `to_dashboard` on every stream whose records serialize.
pub trait ToDashboard {
    /// Publishes each batch of this stream to the dashboard `name` of the web UI (output
    /// operation `write_to`). Naming a dashboard that exists (in this process) replaces
    /// it. See the [module](self) for what records mean.
    fn to_dashboard(&self, name: &str, panel: Panel);
}

impl<T: Data> ToDashboard for DStream<T> {
    fn to_dashboard(&self, name: &str, panel: Panel) {
        hub().dashboards.lock().insert(
            name.to_string(),
            Dashboard {
                panel,
                batches: BTreeMap::new(),
                evicted_total: 0.0,
                dropped: 0,
            },
        );
        self.write_to(DashboardSink {
            name: name.to_string(),
            max_records: panel.max_records,
        });
    }
}

/// A dashboard as the REST API gives it.
pub(crate) fn describe(name: &str, d: &Dashboard) -> Value {
    let p = &d.panel;
    let mut out = serde_json::json!({
        "name": name,
        "kind": p.kind,
        "batches": d.batches.len(),
        "lastBatchTime": d.batches.keys().next_back(),
        "droppedRecords": d.dropped,
    });
    match p.kind {
        PanelKind::TimeSeries => {
            let mut series: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
            for (t, recs) in &d.batches {
                for (label, v) in recs.iter().filter_map(point) {
                    *series.entry(label).or_default().entry(*t).or_insert(0.0) += v;
                }
            }
            let series: BTreeMap<String, Vec<(i64, f64)>> = series
                .into_iter()
                .map(|(k, pts)| (k, pts.into_iter().collect()))
                .collect();
            out["series"] = serde_json::json!(series);
        }
        PanelKind::TopN => {
            let mut rows: Vec<(String, f64)> = d
                .batches
                .values()
                .next_back()
                .map(|r| r.iter().filter_map(point).collect())
                .unwrap_or_default();
            rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            rows.truncate(p.top);
            out["rows"] = serde_json::json!(rows);
        }
        PanelKind::Counter => {
            let last = d.batches.values().next_back().map(|r| batch_sum(r));
            let total = d.evicted_total + d.batches.values().map(|r| batch_sum(r)).sum::<f64>();
            out["last"] = serde_json::json!(last);
            out["total"] = serde_json::json!(total);
        }
        PanelKind::Table => {
            let rows: Vec<Value> = d
                .batches
                .iter()
                .rev()
                .flat_map(|(t, recs)| {
                    recs.iter()
                        .map(move |r| serde_json::json!({"batchTime": t, "record": r}))
                })
                .take(p.history)
                .collect();
            out["rows"] = Value::Array(rows);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_published_again_replaces_itself_and_totals_survive_eviction() {
        let hub = Hub::default();
        hub.dashboards.lock().insert(
            "c".into(),
            Dashboard {
                panel: Panel::counter().history(2),
                batches: BTreeMap::new(),
                evicted_total: 0.0,
                dropped: 0,
            },
        );
        let n = |v: i64| vec![serde_json::json!(v)];
        hub.publish("c", Time(1000), n(5), 0);
        hub.publish("c", Time(1000), n(5), 0); // the replayed batch
        hub.publish("c", Time(2000), n(7), 0);
        hub.publish("c", Time(3000), n(1), 2); // evicts 1000
        let all = hub.dashboards.lock();
        let d = describe("c", &all["c"]);
        assert_eq!(d["total"], 13.0);
        assert_eq!(d["last"], 1.0);
        assert_eq!(d["batches"], 2);
        assert_eq!(d["droppedRecords"], 2);
    }

    #[test]
    fn records_become_points_or_rows() {
        assert_eq!(point(&serde_json::json!(2.5)), Some(("value".into(), 2.5)));
        assert_eq!(point(&serde_json::json!(["a", 3])), Some(("a".into(), 3.0)));
        assert_eq!(point(&serde_json::json!([7, 3])), Some(("7".into(), 3.0)));
        assert_eq!(point(&serde_json::json!({"a": 1})), None);
        assert_eq!(point(&serde_json::json!("text")), None);
    }
}
