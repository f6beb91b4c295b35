//! Statistics and histograms of numeric RDDs (Spark's `DoubleRDDFunctions`, which Scala
//! reaches for any numeric RDD through an implicit conversion).

use super::Rdd;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::stat_counter::StatCounter;
use std::cmp::Ordering;

/// A record type the numeric actions accept: converted to `f64` as Spark's
/// `numericRDDToDoubleRDDFunctions` does (64-bit integers beyond 2^53 lose precision).
pub trait Numeric: Data + Copy {
    /// The value as a double.
    fn to_f64(self) -> f64;
}

macro_rules! numeric {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}

numeric!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

/// Neumaier's compensated sum: the running sum and the lost low-order part.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct CompensatedSum {
    sum: f64,
    comp: f64,
}

impl CompensatedSum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        let v = self.sum + self.comp;
        // Infinities and NaN: the plain sum says what IEEE addition says.
        if v.is_finite() {
            v
        } else {
            self.sum
        }
    }
}

/// Orders doubles as Java's `Double.compare` does for the histogram: NaN above
/// everything (`+inf` included); unlike Java, `-0.0` equals `0.0`.
fn cmp_nan_last(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Histogram buckets, checked once on the driver.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Buckets {
    edges: Vec<f64>,
    /// Evenly spaced, finite edges: the bucket index is computed, not searched.
    even: bool,
}

impl Buckets {
    fn new(edges: &[f64], even_hint: bool) -> Result<Self> {
        let bad = |reason: String| Error::InvalidArgument {
            op: "histogram",
            reason,
        };
        if edges.len() < 2 {
            return Err(bad(format!(
                "buckets array must have at least two elements, got {}",
                edges.len()
            )));
        }
        let last = edges.len() - 1;
        for i in 1..edges.len() {
            let (a, b) = (edges[i - 1], edges[i]);
            if a.is_nan() {
                return Err(bad(format!(
                    "bucket edge {} is NaN; NaN may only be the last edge",
                    i - 1
                )));
            }
            if b.is_nan() && i == last {
                continue;
            }
            if b.is_nan() || a >= b {
                return Err(bad(format!(
                    "buckets must be sorted and distinct: edge {} ({a}) is not below edge {i} ({b})",
                    i - 1
                )));
            }
        }
        let even = even_hint || Self::evenly_spaced(edges);
        Ok(Buckets {
            edges: edges.to_vec(),
            even: even && edges.iter().all(|e| e.is_finite()),
        })
    }

    /// Whether the steps between edges agree to 1e-10 of the step (PySpark detects even
    /// buckets this way; Scala leaves it to an `evenBuckets` flag).
    fn evenly_spaced(edges: &[f64]) -> bool {
        let n = (edges.len() - 1) as f64;
        let (lo, hi) = (edges[0], edges[edges.len() - 1]);
        let step = (hi - lo) / n;
        if !step.is_finite() || step <= 0.0 {
            return false;
        }
        edges
            .windows(2)
            .all(|w| ((w[1] - w[0]) - step).abs() <= 1e-10 * step)
    }

    fn count(&self) -> usize {
        self.edges.len() - 1
    }

    /// The bucket of `x`: `[e_i, e_{i+1})`, the last one closed; `None` outside.
    #[inline]
    fn index(&self, x: f64) -> Option<usize> {
        let e = &self.edges;
        let n = self.count();
        if self.even {
            let (lo, hi) = (e[0], e[n]);
            if x.is_nan() || x < lo || x > hi {
                return None;
            }
            // Spark's O(1) index, then corrected against the edges themselves, so that a
            // value on an edge lands where the edges say despite rounding.
            let mut i = (((x - lo) / (hi - lo)) * n as f64) as usize;
            i = i.min(n - 1);
            while i > 0 && x < e[i] {
                i -= 1;
            }
            while i + 1 < n && x >= e[i + 1] {
                i += 1;
            }
            return Some(i);
        }
        // Edges at or below x.
        let p = e.partition_point(|&b| cmp_nan_last(b, x) != Ordering::Greater);
        if p == 0 {
            None
        } else if p < e.len() {
            Some(p - 1)
        } else if cmp_nan_last(e[n], x) == Ordering::Equal {
            Some(n - 1)
        } else {
            None
        }
    }
}

impl<T: Numeric> Rdd<T> {
    /// Sum of the records as `f64` (compensated summation in each partition and across
    /// them; 0 for no records).
    pub fn sum(&self) -> Result<f64> {
        let partials = self.run_job(|_, it| {
            let mut s = CompensatedSum::default();
            it.drive(&mut |x: T| s.add(x.to_f64()));
            Ok(s)
        })?;
        let mut total = CompensatedSum::default();
        for p in partials {
            total.add(p.value());
        }
        Ok(total.value())
    }

    /// Count, mean, variance, min and max in one job: a [`StatCounter`] per partition,
    /// merged on the driver in partition order. An RDD without records (or without
    /// partitions) gives the empty counter.
    pub fn stats(&self) -> Result<StatCounter> {
        let partials = self.run_job(|_, it| {
            let mut c = StatCounter::new();
            it.drive(&mut |x: T| {
                c.merge(x.to_f64());
            });
            Ok(c)
        })?;
        let mut total = StatCounter::new();
        for p in &partials {
            total.merge_counter(p);
        }
        Ok(total)
    }

    /// Mean of the records (0 for none, as Spark's `StatCounter`).
    pub fn mean(&self) -> Result<f64> {
        Ok(self.stats()?.mean())
    }

    /// Population variance (NaN for no records).
    pub fn variance(&self) -> Result<f64> {
        Ok(self.stats()?.variance())
    }

    /// Population standard deviation (NaN for no records).
    pub fn stdev(&self) -> Result<f64> {
        Ok(self.stats()?.stdev())
    }

    /// Sample variance, dividing by `n - 1` (NaN for fewer than two records; Spark's
    /// `sampleVariance`).
    pub fn sample_variance(&self) -> Result<f64> {
        Ok(self.stats()?.sample_variance())
    }

    /// Sample standard deviation (Spark's `sampleStdev`).
    pub fn sample_stdev(&self) -> Result<f64> {
        Ok(self.stats()?.sample_stdev())
    }

    /// Counts of the records in the buckets `[b0, b1) [b1, b2) ... [b_{n-1}, b_n]`: open
    /// on the right except the last, which is closed; records outside (and NaN) are
    /// ignored. A NaN may stand as the last edge (as Spark documents): the last bucket
    /// then holds everything from the edge before it up, NaN included. Evenly spaced
    /// buckets are detected and indexed in O(1) per record, others by binary search.
    ///
    /// # Errors
    /// Fewer than two edges, or edges that are not strictly increasing (NaN other than
    /// last).
    pub fn histogram(&self, buckets: &[f64]) -> Result<Vec<u64>> {
        let b = Buckets::new(buckets, false)?;
        self.histogram_of(b)
    }

    /// `bucket_count` evenly spaced buckets from the smallest record to the largest,
    /// and the counts in them (Spark's `histogram(bucketCount)`): edges
    /// `min + i * (max - min) / bucket_count`, the last one `max`. When every record is
    /// equal the result is the one bucket `[min, min]`.
    ///
    /// # Errors
    /// `bucket_count` of 0; an RDD that is empty or holds an infinity or NaN
    /// (Spark's "Histogram on either an empty RDD or RDD containing +/-infinity or NaN").
    pub fn histogram_n(&self, bucket_count: usize) -> Result<(Vec<f64>, Vec<u64>)> {
        if bucket_count == 0 {
            return Err(Error::InvalidArgument {
                op: "histogram",
                reason: "bucket_count must be at least 1".into(),
            });
        }
        let partials = self.run_job(|_, it| {
            let mut mm = (f64::NEG_INFINITY, f64::INFINITY);
            it.drive(&mut |x: T| {
                let x = x.to_f64();
                mm.0 = if mm.0.is_nan() || x.is_nan() {
                    f64::NAN
                } else {
                    mm.0.max(x)
                };
                mm.1 = if mm.1.is_nan() || x.is_nan() {
                    f64::NAN
                } else {
                    mm.1.min(x)
                };
            });
            Ok(mm)
        })?;
        let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
        for (hi, lo) in partials {
            max = if max.is_nan() || hi.is_nan() {
                f64::NAN
            } else {
                max.max(hi)
            };
            min = if min.is_nan() || lo.is_nan() {
                f64::NAN
            } else {
                min.min(lo)
            };
        }
        if !min.is_finite() || !max.is_finite() {
            return Err(Error::InvalidArgument {
                op: "histogram",
                reason: "Histogram on either an empty RDD or RDD containing +/-infinity or NaN"
                    .into(),
            });
        }
        let edges = if min == max {
            vec![min, min]
        } else {
            even_edges(min, max, bucket_count)
        };
        let b = Buckets {
            edges: edges.clone(),
            even: true,
        };
        let counts = self.histogram_of(b)?;
        Ok((edges, counts))
    }

    fn histogram_of(&self, b: Buckets) -> Result<Vec<u64>> {
        let n = b.count();
        let b = std::sync::Arc::new(b);
        let partials = self.run_job(move |_, it| {
            let mut counts = vec![0u64; n];
            it.drive(&mut |x: T| {
                if let Some(i) = b.index(x.to_f64()) {
                    counts[i] += 1;
                }
            });
            Ok(counts)
        })?;
        let mut total = vec![0u64; n];
        for p in partials {
            for (t, c) in total.iter_mut().zip(p) {
                *t += c;
            }
        }
        Ok(total)
    }
}

/// `steps + 1` edges from `min` to `max` (Spark's `customRange`: `min + i * span / steps`,
/// the last edge `max` itself). When `max - min` overflows, the edges are interpolated
/// without forming the span.
fn even_edges(min: f64, max: f64, steps: usize) -> Vec<f64> {
    let span = max - min;
    let n = steps as f64;
    let mut edges: Vec<f64> = (0..steps)
        .map(|i| {
            let i = i as f64;
            if span.is_finite() {
                min + (i * span) / n
            } else {
                min + i * (max / n - min / n)
            }
        })
        .collect();
    edges.push(max);
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(edges: &[f64], x: f64) -> Option<usize> {
        let n = edges.len() - 1;
        (0..n).find(|&i| edges[i] <= x && (x < edges[i + 1] || (i == n - 1 && x <= edges[i + 1])))
    }

    /// The double one step away from `x` (for finite non-zero `x`), up or down.
    fn ulp_step(x: f64, dir: i64) -> f64 {
        if x == 0.0 {
            return dir as f64 * f64::from_bits(1);
        }
        let towards_larger_magnitude = (x > 0.0) == (dir > 0);
        let bits = x.to_bits();
        f64::from_bits(if towards_larger_magnitude {
            bits + 1
        } else {
            bits - 1
        })
    }

    #[test]
    fn index_matches_brute_force_on_edges() {
        for edges in [
            vec![0.0, 0.1, 0.2, 0.3],
            vec![1.0, 10.0, 20.0, 50.0],
            vec![-3.0, -1.0, 1.0, 3.0, 5.0],
            even_edges(-0.7, 13.3, 7),
        ] {
            let b = Buckets::new(&edges, false).unwrap();
            let mut probes: Vec<f64> = edges.clone();
            for &e in &edges {
                probes.extend([e - 1e-12, e + 1e-12, ulp_step(e, 1), ulp_step(e, -1)]);
            }
            probes.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1e9, 1e9]);
            for x in probes {
                assert_eq!(b.index(x), brute(&edges, x), "edges {edges:?} x {x}");
            }
        }
    }

    #[test]
    fn nan_last_edge_and_bad_buckets() {
        let b = Buckets::new(&[0.0, 10.0, f64::NAN], false).unwrap();
        assert!(!b.even);
        assert_eq!(b.index(f64::NAN), Some(1));
        assert_eq!(b.index(f64::INFINITY), Some(1));
        assert_eq!(b.index(5.0), Some(0));
        assert_eq!(b.index(-1.0), None);
        for bad in [
            vec![1.0],
            vec![],
            vec![2.0, 1.0],
            vec![1.0, 1.0, 2.0],
            vec![f64::NAN, 1.0],
            vec![0.0, f64::NAN, 1.0],
        ] {
            assert!(Buckets::new(&bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn even_detection() {
        assert!(Buckets::new(&[0.0, 10.0, 20.0, 30.0], false).unwrap().even);
        assert!(Buckets::new(&[0.0, 0.1, 0.2, 0.3], false).unwrap().even);
        assert!(!Buckets::new(&[1.0, 10.0, 20.0, 50.0], false).unwrap().even);
        assert!(
            !Buckets::new(&[0.0, 1.0, f64::INFINITY], false)
                .unwrap()
                .even
        );
        let e = even_edges(-1e308, 1e308, 4);
        assert!(e.iter().all(|x| x.is_finite()), "{e:?}");
    }

    #[test]
    fn compensated_sum() {
        let mut s = CompensatedSum::default();
        for x in [1e100, 1.0, -1e100, 1.0] {
            s.add(x);
        }
        assert_eq!(s.value(), 2.0);
        let mut inf = CompensatedSum::default();
        inf.add(f64::INFINITY);
        inf.add(1.0);
        assert_eq!(inf.value(), f64::INFINITY);
    }
}
