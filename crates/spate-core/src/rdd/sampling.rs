//! Sampling actions and transformations: a fixed-size sample brought to the driver,
//! weighted random splits, and stratified samples by key.
//!
//! Every random draw comes from a [`SplitMix64`] seeded with the user's seed and the
//! partition index, one draw per record in partition order, so the same seed gives the
//! same result on every process and every run — provided the parent RDD yields its
//! records in the same order each time it is computed (as in Spark).

use super::Rdd;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use crate::scheduler::TaskContext;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

/// The generator of partition `split` for `seed`.
pub(crate) fn partition_rng(seed: u64, split: usize) -> SplitMix64 {
    // Two rounds of the generator's mixing over (seed + split) keep neighbouring seeds
    // and partitions apart.
    let mut g = SplitMix64::new(seed.wrapping_add(split as u64));
    SplitMix64::new(g.next_u64())
}

/// Spark's `SamplingUtils.computeFractionForSampleSize`: a fraction large enough that a
/// sample of `total` records holds at least `num` with probability 99.99%.
fn fraction_for_sample_size(num: usize, total: u64, with_replacement: bool) -> f64 {
    let (n, s) = (total as f64, num as f64);
    if with_replacement {
        // Poisson upper bound with a number of standard deviations that shrinks with s.
        let sd = if s < 6.0 {
            12.0
        } else if s < 16.0 {
            9.0
        } else {
            6.0
        };
        (s + sd * s.sqrt()).max(1e-10) / n
    } else {
        let f = s / n;
        let gamma = -(1e-4f64).ln() / n;
        (f + gamma + (gamma * gamma + 2.0 * gamma * f).sqrt()).min(1.0)
    }
}

/// Fisher-Yates shuffle.
fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

impl<T: Data> Rdd<T> {
    /// A random sample of `num` records brought to the driver (Spark's `takeSample`):
    /// exactly `min(num, count)` records without replacement, `num` with replacement
    /// (none from an empty RDD). Counts the records, samples with a fraction that gives
    /// enough records with probability 99.99%, tries again with a new seed in the rare
    /// case it gave too few, and keeps `num` of them in random order. The same seed gives
    /// the same sample.
    pub fn take_sample(&self, with_replacement: bool, num: usize, seed: u64) -> Result<Vec<T>> {
        if num == 0 {
            return Ok(Vec::new());
        }
        let total = self.count()?;
        if total == 0 {
            return Ok(Vec::new());
        }
        let mut rng = SplitMix64::new(seed);
        if !with_replacement && num as u64 >= total {
            let mut all = self.collect()?;
            shuffle(&mut all, &mut rng);
            return Ok(all);
        }
        let fraction = fraction_for_sample_size(num, total, with_replacement);
        let mut samples = self
            .sample(with_replacement, fraction, rng.next_u64())
            .collect()?;
        let mut tries = 1;
        while samples.len() < num {
            tracing::warn!(
                rdd = self.id(),
                tries,
                got = samples.len(),
                num,
                "take_sample: too few records in the sample; sampling again"
            );
            samples = self
                .sample(with_replacement, fraction, rng.next_u64())
                .collect()?;
            tries += 1;
        }
        shuffle(&mut samples, &mut rng);
        samples.truncate(num);
        Ok(samples)
    }

    /// The records split at random into one RDD per weight (Spark's `randomSplit`):
    /// weights are normalized to sum to 1; each record lands in exactly one split, split
    /// i with probability `weights[i]`. Each split draws the same random number for a
    /// record (seeded by `seed` and the partition index) and keeps it when the number
    /// falls in its slice of [0, 1), so the splits are disjoint and together complete.
    /// Persist the RDD first if computing it twice would give records in another order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when there is no weight, a weight is negative or not
    /// finite, or they sum to 0.
    pub fn random_split(&self, weights: &[f64], seed: u64) -> Result<Vec<Rdd<T>>> {
        let bad = |reason: String| Error::InvalidArgument {
            op: "random_split",
            reason,
        };
        if weights.is_empty() {
            return Err(bad("no weights".into()));
        }
        if let Some(w) = weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
            return Err(bad(format!(
                "weights must be non-negative numbers, got {w} in {weights:?}"
            )));
        }
        let sum: f64 = weights.iter().sum();
        if sum <= 0.0 {
            return Err(bad(format!("weights sum to 0: {weights:?}")));
        }
        let mut bounds = Vec::with_capacity(weights.len() + 1);
        let mut acc = 0.0;
        bounds.push(0.0);
        for w in weights {
            acc += w / sum;
            bounds.push(acc.min(1.0));
        }
        // The last slice ends at 1 exactly, whatever the rounding: no record is lost.
        if let Some(last) = bounds.last_mut() {
            *last = 1.0;
        }
        Ok(bounds
            .windows(2)
            .map(|b| {
                let (lo, hi) = (b[0], b[1]);
                self.map_partitions_with_index(move |i, it| {
                    let mut rng = partition_rng(seed, i);
                    it.filter(move |_| {
                        let x = rng.next_f64();
                        lo <= x && x < hi
                    })
                })
            })
            .collect())
    }
}

/// Checks the sampling fractions: within [0, 1] without replacement, at least 0 with.
fn check_fractions<K: Debug>(
    op: &'static str,
    with_replacement: bool,
    fractions: &HashMap<K, f64>,
) -> Result<()> {
    for (k, f) in fractions {
        let ok = f.is_finite() && *f >= 0.0 && (with_replacement || *f <= 1.0);
        if !ok {
            return Err(Error::InvalidArgument {
                op,
                reason: format!(
                    "fraction {f} for key {k:?} out of range ({})",
                    if with_replacement {
                        "must be at least 0 with replacement"
                    } else {
                        "must be in [0, 1] without replacement"
                    }
                ),
            });
        }
    }
    Ok(())
}

pub(crate) fn missing_fraction<K: Debug>(op: &'static str, k: &K) -> Error {
    Error::InvalidArgument {
        op,
        reason: format!("key {k:?} has no sampling fraction"),
    }
}

impl<K: Key + Debug, V: Data> Rdd<(K, V)> {
    /// A stratified sample (Spark's `sampleByKey`): each pair is kept with probability
    /// `fractions[key]` (without replacement) or repeated a Poisson(`fractions[key]`)
    /// number of times (with replacement). The sample sizes per key are only about
    /// `fraction * count`; see [`Rdd::sample_by_key_exact`] for exact sizes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a fraction out of range; a key without a fraction
    /// fails the job with an error naming the key.
    pub fn sample_by_key(
        &self,
        with_replacement: bool,
        fractions: HashMap<K, f64>,
        seed: u64,
    ) -> Result<Rdd<(K, V)>> {
        check_fractions("sample_by_key", with_replacement, &fractions)?;
        let fractions = Arc::new(fractions);
        Ok(self.map_partitions_preserving(move |i, it| {
            let mut rng = partition_rng(seed, i);
            let fractions = fractions.clone();
            it.flat_map(move |(k, v)| {
                let Some(&f) = fractions.get(&k) else {
                    TaskContext::fail_current(missing_fraction("sample_by_key", &k));
                    return std::iter::repeat_n((k, v), 0);
                };
                let n = if with_replacement {
                    rng.poisson(f) as usize
                } else {
                    usize::from(rng.next_f64() < f)
                };
                std::iter::repeat_n((k, v), n)
            })
        }))
    }

    /// A stratified sample of exactly `ceil(fractions[key] * count(key))` pairs for each
    /// key (Spark's `sampleByKeyExact`). Spark promises the exact sizes with 99.99%
    /// confidence; spate always gives them (in the rare case the first pass leaves a key
    /// short, it runs one more pass for that key). Runs jobs over the RDD: without
    /// replacement, a count by key and a pass that picks each key's acceptance threshold
    /// (Spark's waitlist scheme); with replacement, a count by key and partition, then the
    /// draws are spread over the partitions on the driver.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a fraction out of range or a key of the RDD without
    /// a fraction (naming the key); a failed job.
    pub fn sample_by_key_exact(
        &self,
        with_replacement: bool,
        fractions: HashMap<K, f64>,
        seed: u64,
    ) -> Result<Rdd<(K, V)>> {
        check_fractions("sample_by_key_exact", with_replacement, &fractions)?;
        if with_replacement {
            super::stratified::exact_with_replacement(self, fractions, seed)
        } else {
            super::stratified::exact_without_replacement(self, fractions, seed)
        }
    }
}
