//! [`StatCounter`]: count, mean, variance, min and max of numbers in one pass, mergeable
//! across partitions (Spark's `org.apache.spark.util.StatCounter`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Running statistics of a set of numbers: count, mean, the sum of squared deviations
/// from the mean (`m2`), minimum and maximum.
///
/// Values are added with Welford's update ([`StatCounter::merge`]); two counters (one per
/// partition) are combined with Chan et al.'s parallel formula
/// ([`StatCounter::merge_counter`]), so the variance stays accurate for data with a large
/// offset (`1e9 + noise`) where a sum of squares would cancel.
///
/// An empty counter is Spark's: count 0, mean 0, sum 0, variance and stdev NaN,
/// min `+inf`, max `-inf`. Like Java's `Math.max`/`Math.min`, a NaN value makes min and
/// max NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatCounter {
    n: u64,
    mu: f64,
    m2: f64,
    max: f64,
    min: f64,
}

impl Default for StatCounter {
    fn default() -> Self {
        StatCounter::new()
    }
}

/// Java's `Math.max`: NaN if either is NaN, and `0.0` above `-0.0`.
fn java_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Java's `Math.min`: NaN if either is NaN, and `-0.0` below `0.0`.
fn java_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

impl StatCounter {
    /// A counter of no values.
    pub const fn new() -> Self {
        StatCounter {
            n: 0,
            mu: 0.0,
            m2: 0.0,
            max: f64::NEG_INFINITY,
            min: f64::INFINITY,
        }
    }

    /// A counter of `values` (Spark's `StatCounter(values)`).
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Self {
        let mut c = StatCounter::new();
        c.merge_all(values);
        c
    }

    /// Adds one value (Welford's update).
    pub fn merge(&mut self, value: f64) -> &mut Self {
        let delta = value - self.mu;
        self.n += 1;
        self.mu += delta / self.n as f64;
        self.m2 += delta * (value - self.mu);
        self.max = java_max(self.max, value);
        self.min = java_min(self.min, value);
        self
    }

    /// Adds every value of `values` (Spark's `merge(values)`).
    pub fn merge_all(&mut self, values: impl IntoIterator<Item = f64>) -> &mut Self {
        for v in values {
            self.merge(v);
        }
        self
    }

    /// Adds the values counted by `other` (Spark's `merge(other: StatCounter)`): Chan et
    /// al.'s combination of two means and two `m2`s; when one side holds more than ten
    /// times the other's count, the mean moves from the larger side's, for precision.
    pub fn merge_counter(&mut self, other: &StatCounter) -> &mut Self {
        if self.n == 0 {
            *self = *other;
        } else if other.n != 0 {
            let (n, on) = (self.n as f64, other.n as f64);
            let total = n + on;
            let delta = other.mu - self.mu;
            self.mu = if other.n.saturating_mul(10) < self.n {
                self.mu + (delta * on) / total
            } else if self.n.saturating_mul(10) < other.n {
                other.mu - (delta * n) / total
            } else {
                (self.mu * n + other.mu * on) / total
            };
            self.m2 += other.m2 + (delta * delta * n * on) / total;
            self.n += other.n;
            self.max = java_max(self.max, other.max);
            self.min = java_min(self.min, other.min);
        }
        self
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean of the values (0 for none, as Spark's).
    pub fn mean(&self) -> f64 {
        self.mu
    }

    /// Sum of the values, `count * mean` (as Spark's).
    pub fn sum(&self) -> f64 {
        self.n as f64 * self.mu
    }

    /// Largest value (`-inf` for none; NaN if a value was NaN).
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Smallest value (`+inf` for none; NaN if a value was NaN).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Sum of squared deviations from the mean.
    pub fn m2(&self) -> f64 {
        self.m2
    }

    /// Population variance, `m2 / n`; NaN for no values (Spark's `variance`/`popVariance`).
    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.m2 / self.n as f64
        }
    }

    /// Sample variance, `m2 / (n - 1)`; NaN for fewer than two values (Spark's
    /// `sampleVariance`).
    pub fn sample_variance(&self) -> f64 {
        if self.n <= 1 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Population variance (Spark's `popVariance`; the same as [`Self::variance`]).
    pub fn pop_variance(&self) -> f64 {
        self.variance()
    }

    /// Population standard deviation (Spark's `popStdev`; the same as [`Self::stdev`]).
    pub fn pop_stdev(&self) -> f64 {
        self.stdev()
    }

    /// Population standard deviation (Spark's `stdev`/`popStdev`).
    pub fn stdev(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Sample standard deviation (Spark's `sampleStdev`).
    pub fn sample_stdev(&self) -> f64 {
        self.sample_variance().sqrt()
    }
}

/// Spark's `toString`: `(count: 3, mean: 2.000000, stdev: 0.816497, max: 3.000000,
/// min: 1.000000)`, numbers as Java's `%f` prints them (`NaN`, `Infinity`, `-Infinity`;
/// six decimals rounded half up from the shortest decimal form of the value).
impl fmt::Display for StatCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(count: {}, mean: {}, stdev: {}, max: {}, min: {})",
            self.n,
            java_fixed(self.mu, 6),
            java_fixed(self.stdev(), 6),
            java_fixed(self.max, 6),
            java_fixed(self.min, 6)
        )
    }
}

/// `x` as Java's `String.format("%.{decimals}f", x)` prints it: Java rounds the shortest
/// decimal representation of the double half up (Rust rounds the exact binary value).
pub(crate) fn java_fixed(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Shortest round-trip digits d0.d1d2... and exponent e: x = 0.d0d1... * 10^(e + 1).
    let sci = format!("{:e}", x.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mant
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // Digit of the power 10^p.
    let digit_at = |p: i64| -> u8 {
        let i = exp - p;
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            0
        }
    };
    let lowest = -(decimals as i64);
    let highest = exp.max(0);
    // Kept digits, most significant first, then rounding on the first dropped digit.
    let mut kept: Vec<u8> = (lowest..=highest).rev().map(digit_at).collect();
    if digit_at(lowest - 1) >= 5 {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let int_len = kept.len() - decimals;
    let mut out = String::with_capacity(kept.len() + 2);
    if x.is_sign_negative() {
        out.push('-');
    }
    for (i, d) in kept.iter().enumerate() {
        if i == int_len {
            out.push('.');
        }
        out.push((b'0' + d) as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_fixed_matches_java() {
        assert_eq!(java_fixed(2.0, 6), "2.000000");
        assert_eq!(java_fixed(0.816496580927726, 6), "0.816497");
        assert_eq!(java_fixed(0.0078125, 6), "0.007813");
        assert_eq!(java_fixed(0.15, 1), "0.2");
        assert_eq!(java_fixed(9.9999996, 6), "10.000000");
        assert_eq!(java_fixed(-1.5, 0), "-2");
        assert_eq!(java_fixed(123456789.125, 2), "123456789.13");
        assert_eq!(java_fixed(1e-7, 6), "0.000000");
        assert_eq!(java_fixed(5e-7, 6), "0.000001");
        assert_eq!(java_fixed(-0.0, 6), "-0.000000");
        assert_eq!(java_fixed(1e20, 1), "100000000000000000000.0");
        assert_eq!(java_fixed(f64::NEG_INFINITY, 6), "-Infinity");
    }

    #[test]
    fn spark_example_and_empty() {
        let c = StatCounter::from_values([1.0, 2.0, 3.0]);
        assert_eq!(
            c.to_string(),
            "(count: 3, mean: 2.000000, stdev: 0.816497, max: 3.000000, min: 1.000000)"
        );
        let e = StatCounter::new();
        assert_eq!(
            e.to_string(),
            "(count: 0, mean: 0.000000, stdev: NaN, max: -Infinity, min: Infinity)"
        );
        assert_eq!(e.sum(), 0.0);
        assert!(e.variance().is_nan() && e.sample_variance().is_nan());
        let one = StatCounter::from_values([4.0]);
        assert_eq!(one.variance(), 0.0);
        assert!(one.sample_variance().is_nan());
    }

    #[test]
    fn merging_counters_equals_one_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.37)
            .collect();
        let whole = StatCounter::from_values(xs.iter().copied());
        for cut in [0, 1, 50, 95, 500, 999, 1000] {
            let mut a = StatCounter::from_values(xs[..cut].iter().copied());
            a.merge_counter(&StatCounter::from_values(xs[cut..].iter().copied()));
            assert_eq!(a.count(), whole.count());
            assert!((a.mean() - whole.mean()).abs() <= 1e-12 * whole.mean().abs());
            assert!((a.variance() - whole.variance()).abs() <= 1e-10 * whole.variance());
            assert_eq!((a.min(), a.max()), (whole.min(), whole.max()));
        }
        let mut nan = StatCounter::from_values([1.0, f64::NAN]);
        assert!(nan.max().is_nan() && nan.min().is_nan());
        nan.merge_counter(&StatCounter::new());
        assert_eq!(nan.count(), 2);
    }
}
