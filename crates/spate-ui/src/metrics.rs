//! The driver's metrics in Prometheus' text exposition format (`/metrics`), through the
//! `prometheus-client` crate. Counters and gauges are updated by the UI's listeners as
//! events arrive; the memory gauges are read from the block store when scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use spate_streaming::BatchInfo;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StreamLabel {
    pub stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StatusLabel {
    pub status: &'static str,
}

type FGauge = Gauge<f64, AtomicU64>;

pub(crate) struct Metrics {
    registry: Registry,
    batches: Family<StatusLabel, Counter>,
    records: Counter,
    scheduling_delay: FGauge,
    processing_time: FGauge,
    total_delay: FGauge,
    processing_seconds: Histogram,
    input_rate: Family<StreamLabel, FGauge>,
    rate_limit: Family<StreamLabel, FGauge>,
    pub receivers_active: Gauge,
    jobs: Family<StatusLabel, Counter>,
    tasks: Family<StatusLabel, Counter>,
    shuffle_read: Counter,
    shuffle_write: Counter,
    pub memory_used: Gauge,
    pub memory_budget: Gauge,
    pub active_batches: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("spate");
        let m = Metrics {
            registry: Registry::default(),
            batches: Family::default(),
            records: Counter::default(),
            scheduling_delay: FGauge::default(),
            processing_time: FGauge::default(),
            total_delay: FGauge::default(),
            processing_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            input_rate: Family::default(),
            rate_limit: Family::default(),
            receivers_active: Gauge::default(),
            jobs: Family::default(),
            tasks: Family::default(),
            shuffle_read: Counter::default(),
            shuffle_write: Counter::default(),
            memory_used: Gauge::default(),
            memory_budget: Gauge::default(),
            active_batches: Gauge::default(),
        };
        let r = &mut registry;
        r.register(
            "streaming_batches",
            "Streaming batches completed, by status (succeeded, failed)",
            m.batches.clone(),
        );
        r.register(
            "streaming_records",
            "Records the inputs gave completed batches",
            m.records.clone(),
        );
        r.register(
            "streaming_last_scheduling_delay_seconds",
            "Scheduling delay of the last completed batch",
            m.scheduling_delay.clone(),
        );
        r.register(
            "streaming_last_processing_time_seconds",
            "Processing time of the last completed batch",
            m.processing_time.clone(),
        );
        r.register(
            "streaming_last_total_delay_seconds",
            "Total delay of the last completed batch",
            m.total_delay.clone(),
        );
        r.register(
            "streaming_processing_time_seconds",
            "Processing time of completed batches",
            m.processing_seconds.clone(),
        );
        r.register(
            "streaming_input_rate",
            "Records per second each input stream gave the last completed batch",
            m.input_rate.clone(),
        );
        r.register(
            "streaming_rate_limit",
            "Backpressure: the rate (records per second) each input was limited to for the last completed batch",
            m.rate_limit.clone(),
        );
        r.register(
            "streaming_receivers_active",
            "Receivers running",
            m.receivers_active.clone(),
        );
        r.register(
            "streaming_active_batches",
            "Batches submitted and not completed",
            m.active_batches.clone(),
        );
        r.register(
            "jobs",
            "Jobs ended, by status (succeeded, failed)",
            m.jobs.clone(),
        );
        r.register(
            "tasks",
            "Task attempts ended, by status (succeeded, failed)",
            m.tasks.clone(),
        );
        r.register(
            "shuffle_read_bytes",
            "Shuffle bytes read by tasks",
            m.shuffle_read.clone(),
        );
        r.register(
            "shuffle_write_bytes",
            "Shuffle bytes written by tasks",
            m.shuffle_write.clone(),
        );
        r.register(
            "storage_memory_used_bytes",
            "Memory held by persisted blocks in the driver's block store",
            m.memory_used.clone(),
        );
        r.register(
            "storage_memory_budget_bytes",
            "The driver block store's memory budget (spate.memory.storageBytes)",
            m.memory_budget.clone(),
        );
        Metrics { registry, ..m }
    }

    pub fn batch_completed(&self, b: &BatchInfo, failed: bool) {
        let status = if failed { "failed" } else { "succeeded" };
        self.batches.get_or_create(&StatusLabel { status }).inc();
        self.records.inc_by(b.num_records);
        let secs = |ms: Option<i64>| ms.unwrap_or(0) as f64 / 1000.0;
        self.scheduling_delay.set(secs(b.scheduling_delay_ms()));
        self.processing_time.set(secs(b.processing_delay_ms()));
        self.total_delay.set(secs(b.total_delay_ms()));
        self.processing_seconds
            .observe(secs(b.processing_delay_ms()));
    }

    /// The input rates of a completed batch (records per second of `batch_ms`).
    pub fn input_rates(&self, b: &BatchInfo, batch_ms: i64) {
        for (id, info) in &b.input_info {
            let label = StreamLabel {
                stream: id.to_string(),
            };
            self.input_rate
                .get_or_create(&label)
                .set(info.num_records as f64 * 1000.0 / batch_ms.max(1) as f64);
        }
        for (id, rate) in &b.rate_limits {
            let label = StreamLabel {
                stream: id.to_string(),
            };
            self.rate_limit.get_or_create(&label).set(*rate as f64);
        }
    }

    pub fn job_ended(&self, ok: bool) {
        let status = if ok { "succeeded" } else { "failed" };
        self.jobs.get_or_create(&StatusLabel { status }).inc();
    }

    pub fn task_ended(&self, ok: bool, read: u64, write: u64) {
        let status = if ok { "succeeded" } else { "failed" };
        self.tasks.get_or_create(&StatusLabel { status }).inc();
        self.shuffle_read.inc_by(read);
        self.shuffle_write.inc_by(write);
    }

    /// The exposition text.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
