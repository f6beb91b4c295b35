//! Backpressure (`spate.streaming.backpressure.enabled`): after each batch, every input's
//! rate is estimated from what the job processed, by Spark's PID estimator; receivers
//! store at most that many records per second, and direct sources plan at most that many
//! per second of batch interval.

use crate::listener::{BatchInfo, StreamingListener};
use parking_lot::Mutex;
use spate_core::SpateConf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Spark's `PIDRateEstimator`: the next rate from the last batch's records, processing
/// time and scheduling delay.
#[derive(Debug, Clone)]
pub struct PidRateEstimator {
    batch_ms: i64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    first_run: bool,
    latest_time: i64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    /// An estimator for batches of `batch_ms` with the given weights and lowest rate.
    pub fn new(
        batch_ms: i64,
        proportional: f64,
        integral: f64,
        derivative: f64,
        min_rate: f64,
    ) -> Self {
        PidRateEstimator {
            batch_ms: batch_ms.max(1),
            proportional,
            integral,
            derivative,
            min_rate,
            first_run: true,
            latest_time: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// The new rate (records per second) after batch `time_ms`, which had `elements`
    /// records, took `processing_ms` to process and waited `scheduling_ms`; `None` when
    /// there is nothing to learn from (no records, no time, an old batch) and after the
    /// first batch, which only sets the starting point.
    pub fn compute(
        &mut self,
        time_ms: i64,
        elements: u64,
        processing_ms: i64,
        scheduling_ms: i64,
    ) -> Option<f64> {
        if time_ms <= self.latest_time || elements == 0 || processing_ms <= 0 {
            return None;
        }
        let since_update = (time_ms - self.latest_time) as f64 / 1000.0;
        let processing_rate = elements as f64 / processing_ms as f64 * 1000.0;
        // The rate read minus the rate processed.
        let error = self.latest_rate - processing_rate;
        // Records behind, from the scheduling delay, as a rate over one batch.
        let historical_error = scheduling_ms.max(0) as f64 * processing_rate / self.batch_ms as f64;
        let d_error = (error - self.latest_error) / since_update;
        let new_rate = (self.latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        self.latest_time = time_ms;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

/// One input's rate under backpressure: its estimator, and the rate in force (records per
/// second; `None`: no limit yet).
pub struct RateController {
    stream: Mutex<Option<usize>>,
    estimator: Mutex<PidRateEstimator>,
    /// f64 bits; `u64::MAX`: no limit.
    rate: AtomicU64,
    /// In an executor process of a cluster: the rate is the driver's, never estimated
    /// here.
    follows_driver: std::sync::atomic::AtomicBool,
    /// Driver in a cluster: tells the executors each new rate.
    on_change: Mutex<Option<Box<dyn Fn(&[u8]) + Send + Sync>>>,
}

impl RateController {
    /// The controller of an input of a context with `conf` and batches of `batch_ms`, when
    /// backpressure is on.
    ///
    /// # Errors
    /// A backpressure setting that cannot be read.
    pub(crate) fn from_conf(conf: &SpateConf, batch_ms: i64) -> crate::Result<Option<Arc<Self>>> {
        if !conf.get_bool("spate.streaming.backpressure.enabled")? {
            return Ok(None);
        }
        let initial = conf
            .get_count("spate.streaming.backpressure.initialRate")?
            .unwrap_or(0);
        let estimator = PidRateEstimator::new(
            batch_ms,
            conf.get_number("spate.streaming.backpressure.pid.proportional")?,
            conf.get_number("spate.streaming.backpressure.pid.integral")?,
            conf.get_number("spate.streaming.backpressure.pid.derived")?,
            conf.get_number("spate.streaming.backpressure.pid.minRate")?,
        );
        Ok(Some(Arc::new(RateController {
            stream: Mutex::new(None),
            estimator: Mutex::new(estimator),
            rate: AtomicU64::new(if initial > 0 {
                (initial as f64).to_bits()
            } else {
                u64::MAX
            }),
            follows_driver: std::sync::atomic::AtomicBool::new(false),
            on_change: Mutex::new(None),
        })))
    }

    /// The stream whose batches it learns from.
    pub(crate) fn bind(&self, stream: usize) {
        *self.stream.lock() = Some(stream);
    }

    /// The stream it learns from.
    pub fn stream(&self) -> Option<usize> {
        *self.stream.lock()
    }

    /// The rate in force (records per second), if any.
    pub fn rate(&self) -> Option<f64> {
        match self.rate.load(Ordering::Acquire) {
            u64::MAX => None,
            bits => Some(f64::from_bits(bits)),
        }
    }

    /// Cluster mode, on the driver: `f` gets every new rate, encoded, as it is estimated
    /// (the executor running the receiver paces to it: [`Self::follow`]).
    pub(crate) fn on_change(&self, f: impl Fn(&[u8]) + Send + Sync + 'static) {
        *self.on_change.lock() = Some(Box::new(f));
    }

    /// Cluster mode, in an executor process: takes a rate the driver estimated.
    pub(crate) fn follow(&self, encoded: &[u8]) -> crate::Result<()> {
        let rate: Option<f64> = spate_core::codec::decode(encoded, "backpressure rate")?;
        self.follows_driver.store(true, Ordering::Release);
        self.rate
            .store(rate.map_or(u64::MAX, f64::to_bits), Ordering::Release);
        Ok(())
    }

    /// Learns from a completed batch.
    fn learn(&self, info: &BatchInfo) {
        if self.follows_driver.load(Ordering::Acquire) {
            return;
        }
        let Some(stream) = *self.stream.lock() else {
            return;
        };
        let (Some(processing), Some(scheduling)) =
            (info.processing_delay_ms(), info.scheduling_delay_ms())
        else {
            return;
        };
        let elements = info.input_info.get(&stream).map_or(0, |i| i.num_records);
        let new =
            self.estimator
                .lock()
                .compute(info.batch_time.0, elements, processing, scheduling);
        if let Some(rate) = new {
            self.rate.store(rate.to_bits(), Ordering::Release);
            if let Some(tell) = self.on_change.lock().as_ref() {
                match spate_core::codec::encode(&Some(rate), "backpressure rate") {
                    Ok(b) => tell(&b),
                    Err(e) => {
                        tracing::warn!(stream, "the executors are not told the new rate: {e}")
                    }
                }
            }
            tracing::info!(
                stream,
                batch = info.batch_time.0,
                records = elements,
                processing_ms = processing,
                scheduling_ms = scheduling,
                rate = rate.round(),
                "backpressure: input rate now {:.0} records/s",
                rate
            );
        }
    }
}

/// The listener that feeds completed batches to every input's controller.
pub(crate) struct RateListener(pub(crate) Vec<Arc<RateController>>);

impl StreamingListener for RateListener {
    fn on_batch_completed(&self, info: &BatchInfo) {
        for c in &self.0 {
            c.learn(info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PidRateEstimator;

    #[test]
    fn the_first_batch_sets_the_start_and_later_ones_follow_the_processing_rate() {
        let mut e = PidRateEstimator::new(1000, 1.0, 0.2, 0.0, 100.0);
        // 1000 records in 500 ms: 2000/s processed; the first batch gives no rate.
        assert_eq!(e.compute(1000, 1000, 500, 0), None);
        // Same again, no delay: the rate is what is processed.
        let r = e.compute(2000, 1000, 500, 0).expect("a rate");
        assert!((r - 2000.0).abs() < 1e-6, "{r}");
        // Processing slows to 1000/s with a 500 ms scheduling delay: lower than that.
        let r = e.compute(3000, 1000, 1000, 500).expect("a rate");
        assert!(r < 1000.0 && r > 100.0, "{r}");
        // Never below the minimum.
        let r = e.compute(4000, 10, 1000, 10_000).expect("a rate");
        assert!((r - 100.0).abs() < 1e-6, "{r}");
        // Nothing to learn from: no records, or an old batch.
        assert_eq!(e.compute(5000, 0, 100, 0), None);
        assert_eq!(e.compute(3500, 10, 100, 0), None);
    }
}
