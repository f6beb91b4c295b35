//! Exact stratified sampling ([`Rdd::sample_by_key_exact`]): exactly
//! `ceil(fraction * count)` pairs of each key.
//!
//! Without replacement (Spark's waitlist scheme): every pair draws a 53-bit random number
//! `r` (seeded by the seed and its partition, one draw per pair in order). Knowing each
//! key's count, bounds `lo <= hi` are chosen so that with probability 99.99% fewer than
//! the target fall below `lo` and more below `hi`. One pass counts the pairs below `lo`
//! and collects the "waitlist" of those in `[lo, hi)`, tagged `(r, partition, position)`
//! (unique, so there are no ties); the driver takes the missing number from the sorted
//! waitlist, and the sample keeps the pairs below `lo` plus those up to that waitlist
//! entry. When the bounds missed (rarely), the pass runs again for that key with the
//! whole range as its waitlist, so the size is always exact.
//!
//! With replacement: a count by key and partition, then the driver spreads each key's
//! `ceil(fraction * count)` draws (uniform over the key's pairs) over the partitions, and
//! each partition draws its share among its own pairs of that key.

use super::sampling::{missing_fraction, partition_rng};
use super::Rdd;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::stable_hash;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

const OP: &str = "sample_by_key_exact";
/// Random numbers are 53-bit integers in `[0, ONE)`.
const ONE: u64 = 1 << 53;
/// Spark's failure probability for the bounds.
const DELTA: f64 = 1e-4;

/// The target sample size of a key: `ceil(count * fraction)`, as Spark computes it.
fn target(count: u64, fraction: f64) -> u64 {
    (count as f64 * fraction).ceil() as u64
}

/// Counts of each key in each partition; a key without a fraction is an error.
fn counts_by_partition<K: Key + Debug, V: Data>(
    rdd: &Rdd<(K, V)>,
    fractions: &HashMap<K, f64>,
) -> Result<Vec<Vec<(K, u64)>>> {
    let counts = rdd.run_job(|_, it| {
        let mut m: HashMap<K, u64> = HashMap::new();
        for (k, _) in it {
            *m.entry(k).or_default() += 1;
        }
        Ok(m.into_iter().collect::<Vec<(K, u64)>>())
    })?;
    for part in &counts {
        for (k, _) in part {
            if !fractions.contains_key(k) {
                return Err(missing_fraction(OP, k));
            }
        }
    }
    Ok(counts)
}

/// A waitlisted pair: its random number, partition and position there.
type Ticket = (u64, u64, u64);

/// What the acceptance pass of one partition found for one key.
type KeyPass = (u64, Vec<Ticket>);

pub(crate) fn exact_without_replacement<K: Key + Debug, V: Data>(
    rdd: &Rdd<(K, V)>,
    fractions: HashMap<K, f64>,
    seed: u64,
) -> Result<Rdd<(K, V)>> {
    without_replacement_with_delta(rdd, fractions, seed, DELTA)
}

/// [`exact_without_replacement`] with bounds that miss with probability about `delta`
/// (tests use a large one to exercise the second pass).
fn without_replacement_with_delta<K: Key + Debug, V: Data>(
    rdd: &Rdd<(K, V)>,
    fractions: HashMap<K, f64>,
    seed: u64,
    delta: f64,
) -> Result<Rdd<(K, V)>> {
    let mut totals: HashMap<K, u64> = HashMap::new();
    for (k, n) in counts_by_partition(rdd, &fractions)?.into_iter().flatten() {
        *totals.entry(k).or_default() += n;
    }
    // Bounds (lo, hi) per key, from Spark's binomial bounds.
    let mut bounds: HashMap<K, (u64, u64)> = totals
        .iter()
        .map(|(k, &n)| {
            let f = fractions.get(k).copied().unwrap_or(0.0);
            let gamma = -delta.ln() / n as f64;
            let lb = (f + gamma - (gamma * gamma + 3.0 * gamma * f).sqrt()).max(0.0);
            let ub = (f + gamma + (gamma * gamma + 2.0 * gamma * f).sqrt()).min(1.0);
            let lo = ((lb * ONE as f64) as u64).min(ONE);
            let hi = if ub >= 1.0 {
                ONE
            } else {
                ((ub * ONE as f64).ceil() as u64).min(ONE)
            };
            (k.clone(), (lo, hi.max(lo)))
        })
        .collect();
    // Per key: the pairs below lo are kept, and waitlisted pairs up to this ticket.
    let mut chosen: HashMap<K, (u64, Option<Ticket>)> = HashMap::new();
    let mut pending: Vec<K> = totals.keys().cloned().collect();
    for round in 0..2 {
        if pending.is_empty() {
            break;
        }
        let b = Arc::new(bounds.clone());
        let passes = rdd.run_job(move |tc, it| {
            let split = tc.partition() as u64;
            let mut rng = partition_rng(seed, tc.partition());
            let mut m: HashMap<K, KeyPass> = HashMap::new();
            for (pos, (k, _)) in it.enumerate() {
                let r = rng.next_u64() >> 11;
                let Some(&(lo, hi)) = b.get(&k) else {
                    continue;
                };
                let e = m.entry(k).or_default();
                if r < lo {
                    e.0 += 1;
                } else if r < hi {
                    e.1.push((r, split, pos as u64));
                }
            }
            Ok(m.into_iter().collect::<Vec<(K, KeyPass)>>())
        })?;
        let mut merged: HashMap<K, KeyPass> = HashMap::new();
        for (k, (a, mut w)) in passes.into_iter().flatten() {
            let e = merged.entry(k).or_default();
            e.0 += a;
            e.1.append(&mut w);
        }
        let mut missed = Vec::new();
        for k in pending {
            let n = totals.get(&k).copied().unwrap_or(0);
            let t = target(n, fractions.get(&k).copied().unwrap_or(0.0)).min(n);
            let (accepted, mut wait) = merged.remove(&k).unwrap_or_default();
            if accepted <= t && t - accepted <= wait.len() as u64 {
                wait.sort_unstable();
                let need = (t - accepted) as usize;
                let lo = bounds.get(&k).map_or(0, |b| b.0);
                chosen.insert(k, (lo, need.checked_sub(1).map(|i| wait[i])));
            } else {
                tracing::debug!(round, key = ?k, accepted, waitlisted = wait.len(), target = t,
                    "sample_by_key_exact: bounds missed; another pass for this key");
                bounds.insert(k.clone(), (0, ONE));
                missed.push(k);
            }
        }
        pending = missed;
    }
    let chosen = Arc::new(chosen);
    Ok(rdd.map_partitions_preserving(move |split, it| {
        let mut rng = partition_rng(seed, split);
        let chosen = chosen.clone();
        it.enumerate().filter_map(move |(pos, (k, v))| {
            let r = rng.next_u64() >> 11;
            let &(lo, th) = chosen.get(&k)?;
            let keep = r < lo || th.is_some_and(|th| (r, split as u64, pos as u64) <= th);
            keep.then_some((k, v))
        })
    }))
}

/// The generator of key `k`'s draws in partition `split` (usize::MAX: on the driver).
fn key_rng<K: Key>(seed: u64, k: &K, split: usize) -> crate::rng::SplitMix64 {
    partition_rng(seed ^ stable_hash(k), split)
}

pub(crate) fn exact_with_replacement<K: Key + Debug, V: Data>(
    rdd: &Rdd<(K, V)>,
    fractions: HashMap<K, f64>,
    seed: u64,
) -> Result<Rdd<(K, V)>> {
    let counts = counts_by_partition(rdd, &fractions)?;
    // For each key: (partition, its count) in partition order.
    let mut per_key: HashMap<K, Vec<(usize, u64)>> = HashMap::new();
    for (p, part) in counts.into_iter().enumerate() {
        for (k, n) in part {
            per_key.entry(k).or_default().push((p, n));
        }
    }
    // quotas[p][k] = (pairs of k in p, draws to make among them).
    let mut quotas: Vec<HashMap<K, (u64, u64)>> = vec![HashMap::new(); rdd.num_partitions()];
    for (k, parts) in per_key {
        let mut cum = Vec::with_capacity(parts.len());
        let mut total = 0u64;
        for &(_, n) in &parts {
            total += n;
            cum.push(total);
        }
        let t = target(total, fractions.get(&k).copied().unwrap_or(0.0));
        let mut draws = vec![0u64; parts.len()];
        let mut rng = key_rng(seed, &k, usize::MAX);
        for _ in 0..t {
            let i = rng.below(total);
            draws[cum.partition_point(|&c| c <= i)] += 1;
        }
        for ((p, n), d) in parts.into_iter().zip(draws) {
            if d > 0 {
                quotas[p].insert(k.clone(), (n, d));
            }
        }
    }
    let quotas = Arc::new(quotas);
    Ok(rdd.map_partitions_preserving(move |split, it| {
        // Each key's draws among its pairs here: sorted local indices, walked in order.
        let mut picks: HashMap<K, (u64, std::vec::IntoIter<u64>)> = HashMap::new();
        if let Some(q) = quotas.get(split) {
            for (k, &(n, d)) in q {
                let mut rng = key_rng(seed, k, split);
                let mut idx: Vec<u64> = (0..d).map(|_| rng.below(n)).collect();
                idx.sort_unstable();
                picks.insert(k.clone(), (0, idx.into_iter()));
            }
        }
        it.flat_map(move |(k, v)| {
            let times = match picks.get_mut(&k) {
                Some((seen, idx)) => {
                    let j = *seen;
                    *seen += 1;
                    let mut c = 0;
                    while idx.as_slice().first() == Some(&j) {
                        idx.next();
                        c += 1;
                    }
                    c
                }
                None => 0,
            };
            std::iter::repeat_n((k, v), times)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_pass_keeps_sizes_exact_when_bounds_miss() {
        let ctx = crate::Context::local(2).unwrap();
        let data: Vec<(u8, u32)> = (0..3000u32).map(|i| ((i % 5) as u8, i)).collect();
        let rdd = ctx.parallelize_with(data, 4);
        let fractions: HashMap<u8, f64> = (0u8..5).map(|k| (k, 0.1 + 0.2 * f64::from(k))).collect();
        for seed in 0..10u64 {
            // delta 0.99: the first pass's bounds are very tight and often miss.
            let got = without_replacement_with_delta(&rdd, fractions.clone(), seed, 0.99)
                .unwrap()
                .collect()
                .unwrap();
            let mut sizes = [0u64; 5];
            for (k, _) in &got {
                sizes[*k as usize] += 1;
            }
            for k in 0u8..5 {
                assert_eq!(
                    sizes[k as usize],
                    target(600, fractions[&k]),
                    "seed {seed} key {k}"
                );
            }
            let mut vals: Vec<u32> = got.iter().map(|x| x.1).collect();
            vals.sort_unstable();
            vals.dedup();
            assert_eq!(vals.len(), got.len());
        }
    }
}
