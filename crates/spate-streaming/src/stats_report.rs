//! [`StatsReportListener`] (Spark's `org.apache.spark.streaming.scheduler.StatsReportListener`):
//! keeps the last batches' records and, as each batch completes, logs the distribution of
//! their delays.

use crate::listener::{BatchInfo, StreamingListener};
use parking_lot::Mutex;
use std::collections::VecDeque;

/// How many batches [`StatsReportListener::default`] keeps (Spark's default).
pub const DEFAULT_STATS_BATCHES: usize = 10;

/// The distribution of one delay over the batches kept: min, quartiles and max, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayDistribution {
    /// The smallest.
    pub min: i64,
    /// The 25th percentile.
    pub p25: i64,
    /// The median.
    pub p50: i64,
    /// The 75th percentile.
    pub p75: i64,
    /// The largest.
    pub max: i64,
}

impl DelayDistribution {
    /// The distribution of `values` (`None` when there are none). The p-th percentile of
    /// `n` sorted values is the one at index `⌊p × (n − 1)⌋`, as Spark's `Distribution`.
    pub fn of(values: impl IntoIterator<Item = i64>) -> Option<DelayDistribution> {
        let mut v: Vec<i64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = |p: f64| v[((p * (v.len() - 1) as f64) as usize).min(v.len() - 1)];
        Some(DelayDistribution {
            min: v[0],
            p25: at(0.25),
            p50: at(0.5),
            p75: at(0.75),
            max: v[v.len() - 1],
        })
    }
}

impl std::fmt::Display for DelayDistribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\tmin\t25%\t50%\t75%\tmax\n\t{} ms\t{} ms\t{} ms\t{} ms\t{} ms",
            self.min, self.p25, self.p50, self.p75, self.max
        )
    }
}

/// The delay distributions over the batches a [`StatsReportListener`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayStats {
    /// Batches they are over.
    pub batches: usize,
    /// Processing time (first job start to last job end).
    pub processing: Option<DelayDistribution>,
    /// Scheduling delay (submission to first job start).
    pub scheduling: Option<DelayDistribution>,
    /// Total delay (submission to last job end).
    pub total: Option<DelayDistribution>,
}

impl std::fmt::Display for DelayStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "delays over the last {} batch(es)", self.batches)?;
        for (name, d) in [
            ("Total delay", self.total),
            ("Processing time", self.processing),
            ("Scheduling delay", self.scheduling),
        ] {
            match d {
                Some(d) => write!(f, "\n{name}:\n{d}")?,
                None => write!(f, "\n{name}: no data")?,
            }
        }
        Ok(())
    }
}

/// A listener that keeps the records of the last `n` completed batches and, at every
/// batch completed, logs (through `tracing`, at info level) the distribution of their
/// total delay, processing time and scheduling delay as min / 25% / 50% / 75% / max
/// (Spark's `StatsReportListener(numBatchInfos)`, which prints total delay and processing
/// time; the scheduling delay is added). Add it with
/// [`crate::StreamingContext::add_streaming_listener`].
pub struct StatsReportListener {
    keep: usize,
    batches: Mutex<VecDeque<BatchInfo>>,
}

impl Default for StatsReportListener {
    fn default() -> Self {
        Self::new(DEFAULT_STATS_BATCHES)
    }
}

impl StatsReportListener {
    /// Keeps the last `num_batch_infos` batches (at least one).
    pub fn new(num_batch_infos: usize) -> Self {
        StatsReportListener {
            keep: num_batch_infos.max(1),
            batches: Mutex::new(VecDeque::new()),
        }
    }

    /// The records kept, oldest first.
    pub fn batch_infos(&self) -> Vec<BatchInfo> {
        self.batches.lock().iter().cloned().collect()
    }

    /// The distributions over the batches kept.
    pub fn stats(&self) -> DelayStats {
        let b = self.batches.lock();
        DelayStats {
            batches: b.len(),
            processing: DelayDistribution::of(b.iter().filter_map(|i| i.processing_delay_ms())),
            scheduling: DelayDistribution::of(b.iter().filter_map(|i| i.scheduling_delay_ms())),
            total: DelayDistribution::of(b.iter().filter_map(|i| i.total_delay_ms())),
        }
    }
}

impl StreamingListener for StatsReportListener {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        {
            let mut b = self.batches.lock();
            b.push_back(batch.clone());
            while b.len() > self.keep {
                b.pop_front();
            }
        }
        tracing::info!("{}", self.stats());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_follow_sparks_index_rule() {
        assert_eq!(DelayDistribution::of(Vec::new()), None);
        let d = DelayDistribution::of([40, 10, 30, 20, 50]).unwrap();
        assert_eq!((d.min, d.p25, d.p50, d.p75, d.max), (10, 20, 30, 40, 50));
        // Four values: indexes 0, 0, 1, 2, 3.
        let d = DelayDistribution::of([4, 1, 3, 2]).unwrap();
        assert_eq!((d.min, d.p25, d.p50, d.p75, d.max), (1, 1, 2, 3, 4));
        assert_eq!(
            d.to_string(),
            "\tmin\t25%\t50%\t75%\tmax\n\t1 ms\t1 ms\t2 ms\t3 ms\t4 ms"
        );
    }
}
