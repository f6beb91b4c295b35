//! A HyperLogLog sketch for [`Rdd::count_approx_distinct`]: one sketch per partition,
//! registers merged by maximum on the driver.
//!
//! Records are hashed from their encoded bytes with a fixed 64-bit hash, so every process
//! (and every run) hashes a record alike. The estimate is Ertl's improved raw estimator
//! ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs
//! no bias tables and is accurate from tiny to huge counts.

use super::Rdd;
use crate::data::Data;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The smallest relative standard deviation accepted (Spark's bound).
const MIN_RELATIVE_SD: f64 = 0.000017;
/// The largest precision built: 2^24 one-byte registers (16 MiB per partition's sketch).
const MAX_PRECISION: u32 = 24;

/// A HyperLogLog sketch with `2^p` registers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HyperLogLog {
    p: u32,
    registers: Vec<u8>,
}

impl HyperLogLog {
    /// The precision Spark derives from a relative standard deviation:
    /// `ceil(2 * log2(1.054 / relative_sd))`, at least 4.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `relative_sd` is below 0.000017 (Spark's bound),
    /// not finite, or asks for more than 2^24 registers.
    pub fn precision_for(relative_sd: f64) -> Result<u32> {
        if !relative_sd.is_finite() || relative_sd < MIN_RELATIVE_SD {
            return Err(Error::InvalidArgument {
                op: "count_approx_distinct",
                reason: format!("relative_sd {relative_sd} must be at least {MIN_RELATIVE_SD}"),
            });
        }
        let p = (2.0 * (1.054 / relative_sd).log2()).ceil().max(4.0) as u32;
        if p > MAX_PRECISION {
            return Err(Error::InvalidArgument {
                op: "count_approx_distinct",
                reason: format!(
                    "relative_sd {relative_sd} needs precision {p}, more than the {MAX_PRECISION} \
                     (2^{MAX_PRECISION} registers per partition) spate builds"
                ),
            });
        }
        Ok(p)
    }

    /// An empty sketch with `2^p` registers (`p` in 4..=24).
    pub fn new(p: u32) -> Self {
        let p = p.clamp(4, MAX_PRECISION);
        HyperLogLog {
            p,
            registers: vec![0; 1 << p],
        }
    }

    /// Adds a 64-bit hash.
    pub fn add_hash(&mut self, h: u64) {
        let idx = (h >> (64 - self.p)) as usize;
        let q = 64 - self.p;
        // The rank: position of the first 1 in the remaining q bits, q + 1 when all zero.
        let rest = h << self.p;
        let rank = if rest == 0 {
            q + 1
        } else {
            rest.leading_zeros() + 1
        };
        let r = rank.min(q + 1) as u8;
        if self.registers[idx] < r {
            self.registers[idx] = r;
        }
    }

    /// Adds a record, hashed from its encoded bytes.
    pub fn add<T: Serialize>(&mut self, x: &T, buf: &mut Vec<u8>) -> Result<()> {
        buf.clear();
        crate::codec::encode_into(x, buf, "count_approx_distinct record")?;
        self.add_hash(hash_bytes(buf));
        Ok(())
    }

    /// Merges `other` (same precision) into this sketch.
    pub fn merge(&mut self, other: &HyperLogLog) {
        for (a, b) in self.registers.iter_mut().zip(&other.registers) {
            if *a < *b {
                *a = *b;
            }
        }
    }

    /// The estimated number of distinct hashes added.
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let q = (64 - self.p) as usize;
        let mut counts = vec![0u64; q + 2];
        for &r in &self.registers {
            counts[r as usize] += 1;
        }
        let mut z = m * tau(1.0 - counts[q + 1] as f64 / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + counts[k] as f64);
        }
        z += m * sigma(counts[0] as f64 / m);
        let alpha_inf = 1.0 / (2.0 * std::f64::consts::LN_2);
        alpha_inf * m * m / z
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let old = z;
        z += x * y;
        y += y;
        if z == old {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let old = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == old {
            return z / 3.0;
        }
    }
}

/// A fixed 64-bit hash of bytes (multiply-xorshift over 8-byte words, SplitMix64's
/// finalizer): the same on every process, unlike `std`'s randomly keyed hasher.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = 0x243F_6A88_85A3_08D3u64 ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h ^ u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h ^ u64::from_le_bytes(w) ^ 0xFF);
    }
    mix(h)
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<T: Data> Rdd<T> {
    /// The approximate number of distinct records, by HyperLogLog (Spark's
    /// `countApproxDistinct(relativeSD)`; Spark's default `relative_sd` is 0.05). The
    /// sketch has `2^p` registers with `p = ceil(2 log2(1.054 / relative_sd))`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `relative_sd` is below 0.000017 or needs more than
    /// 2^24 registers; a failed job.
    pub fn count_approx_distinct(&self, relative_sd: f64) -> Result<u64> {
        let p = HyperLogLog::precision_for(relative_sd)?;
        let sketches = self.run_job(move |_, it| {
            let mut h = HyperLogLog::new(p);
            let mut buf = Vec::new();
            for x in it {
                h.add(&x, &mut buf)?;
            }
            Ok(h)
        })?;
        let mut total = HyperLogLog::new(p);
        for s in &sketches {
            total.merge(s);
        }
        Ok(total.estimate().round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_small_and_large_counts() {
        for &n in &[0u64, 1, 10, 1000, 200_000] {
            let mut h = HyperLogLog::new(12);
            for i in 0..n {
                h.add_hash(hash_bytes(&i.to_le_bytes()));
            }
            let e = h.estimate();
            let sd = 1.04 / 64.0;
            assert!(
                (e - n as f64).abs() <= 4.0 * sd * n as f64 + 1.0,
                "n={n} estimate {e}"
            );
        }
    }

    #[test]
    fn precision_follows_spark() {
        assert_eq!(HyperLogLog::precision_for(0.05).unwrap(), 9);
        assert_eq!(HyperLogLog::precision_for(0.01).unwrap(), 14);
        assert!(HyperLogLog::precision_for(0.00001).is_err());
    }
}
