//! Sampling (issue 12): property tests for take_sample, random_split and
//! sample_by_key_exact on random inputs and partition counts, and statistical checks of
//! sample, sample_by_key and random_split proportions on large inputs.

mod oracle_common;

use proptest::prelude::*;
use spate_core::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(24)
}

fn ctx() -> Context {
    Context::local(3).expect("local context")
}

/// `|got - want| <= 5 sigma` of a binomial(n, p) count.
fn within_binomial(got: u64, n: u64, p: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (got as f64 - mean).abs() <= 5.0 * sd + 1.0
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn take_sample_size_distinct_reproducible(
        n in 0usize..300,
        parts in 1usize..9,
        num in 0usize..350,
        with_replacement in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let ctx = ctx();
        // Records are their positions, so a repeated position shows as a repeated value.
        let rdd = ctx.parallelize_with((0..n as u64).collect::<Vec<_>>(), parts);
        let s = rdd.take_sample(with_replacement, num, seed).unwrap();
        let want = if n == 0 { 0 } else if with_replacement { num } else { num.min(n) };
        prop_assert_eq!(s.len(), want);
        prop_assert!(s.iter().all(|x| (*x as usize) < n));
        if !with_replacement {
            let set: BTreeSet<u64> = s.iter().copied().collect();
            prop_assert_eq!(set.len(), s.len(), "a position drawn twice");
        }
        prop_assert_eq!(&rdd.take_sample(with_replacement, num, seed).unwrap(), &s);
    }

    #[test]
    fn random_split_disjoint_and_complete(
        n in 0usize..400,
        parts in 1usize..9,
        weights in prop::collection::vec(0.0f64..5.0, 1..5),
        seed in any::<u64>(),
    ) {
        prop_assume!(weights.iter().sum::<f64>() > 0.0);
        let ctx = ctx();
        let data: Vec<u64> = (0..n as u64).collect();
        let rdd = ctx.parallelize_with(data.clone(), parts);
        let splits = rdd.random_split(&weights, seed).unwrap();
        prop_assert_eq!(splits.len(), weights.len());
        let mut all = Vec::new();
        for (w, s) in weights.iter().zip(&splits) {
            let got = s.collect().unwrap();
            // Each split keeps the parent's order, and a zero weight keeps nothing.
            prop_assert!(got.windows(2).all(|p| p[0] < p[1]));
            if *w == 0.0 {
                prop_assert!(got.is_empty());
            }
            all.extend(got);
        }
        all.sort();
        prop_assert_eq!(all, data);
        // The same seed gives the same splits.
        let again = rdd.random_split(&weights, seed).unwrap();
        for (a, b) in splits.iter().zip(&again) {
            prop_assert_eq!(a.collect().unwrap(), b.collect().unwrap());
        }
    }

    #[test]
    fn sample_by_key_exact_sizes(
        keys in prop::collection::vec(0u8..6, 0..400),
        fracs in prop::collection::vec(0.0f64..=1.0, 6),
        parts in 1usize..9,
        with_replacement in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let ctx = ctx();
        let data: Vec<(u8, u64)> =
            keys.iter().enumerate().map(|(i, k)| (*k, i as u64)).collect();
        let fractions: HashMap<u8, f64> =
            (0u8..6).map(|k| (k, fracs[k as usize] * if with_replacement { 2.0 } else { 1.0 }))
                .collect();
        let rdd = ctx.parallelize_with(data.clone(), parts);
        let got = rdd
            .sample_by_key_exact(with_replacement, fractions.clone(), seed)
            .unwrap()
            .collect()
            .unwrap();
        let mut counts: BTreeMap<u8, u64> = BTreeMap::new();
        for (k, _) in &data {
            *counts.entry(*k).or_default() += 1;
        }
        let mut sizes: BTreeMap<u8, u64> = BTreeMap::new();
        for (k, v) in &got {
            *sizes.entry(*k).or_default() += 1;
            prop_assert_eq!(data[*v as usize].0, *k);
        }
        for (k, n) in &counts {
            let want = (*n as f64 * fractions[k]).ceil() as u64;
            prop_assert_eq!(sizes.get(k).copied().unwrap_or(0), want, "key {}", k);
        }
        if !with_replacement {
            let set: BTreeSet<u64> = got.iter().map(|x| x.1).collect();
            prop_assert_eq!(set.len(), got.len());
        }
        let again = rdd
            .sample_by_key_exact(with_replacement, fractions, seed)
            .unwrap()
            .collect()
            .unwrap();
        prop_assert_eq!(again, got);
    }
}

#[test]
fn sample_exact_on_large_input() {
    let ctx = ctx();
    let n = 100_000u64;
    // 3 keys of different sizes, many partitions.
    let data: Vec<(u8, u64)> = (0..n).map(|i| ((i % 7).min(2) as u8, i)).collect();
    let rdd = ctx.parallelize_with(data.clone(), 9);
    let fractions: HashMap<u8, f64> = [(0, 0.1), (1, 0.5), (2, 0.37)].into_iter().collect();
    for wr in [false, true] {
        let got = rdd
            .sample_by_key_exact(wr, fractions.clone(), 42)
            .unwrap()
            .map(|(k, _)| (k, 1u64))
            .reduce_by_key_locally(|a, b| a + b)
            .unwrap();
        for k in 0u8..3 {
            let count = data.iter().filter(|x| x.0 == k).count() as u64;
            assert_eq!(got[&k], (count as f64 * fractions[&k]).ceil() as u64);
        }
    }
}

#[test]
fn sample_fractions_on_large_input() {
    let ctx = ctx();
    let n = 200_000u64;
    let rdd = ctx.parallelize_with((0..n).collect::<Vec<u64>>(), 8);
    for (f, seed) in [(0.3, 1u64), (0.01, 2), (0.9, 3)] {
        let c = rdd.sample(false, f, seed).count().unwrap();
        assert!(within_binomial(c, n, f), "fraction {f}: {c} of {n}");
        // With replacement: a sum of Poisson(f), variance n*f.
        let c = rdd.sample(true, f, seed).count().unwrap();
        let sd = (n as f64 * f).sqrt();
        assert!(
            (c as f64 - n as f64 * f).abs() <= 5.0 * sd,
            "fraction {f} wr: {c}"
        );
    }
    let pairs = rdd.map(|x| ((x % 3) as u8, x));
    let fractions: HashMap<u8, f64> = [(0, 0.05), (1, 0.5), (2, 1.0)].into_iter().collect();
    let by_key = pairs
        .sample_by_key(false, fractions.clone(), 7)
        .unwrap()
        .map(|(k, _)| (k, 1u64))
        .reduce_by_key_locally(|a, b| a + b)
        .unwrap();
    for (k, f) in &fractions {
        let count = (0..n).filter(|x| (x % 3) as u8 == *k).count() as u64;
        assert!(
            within_binomial(by_key[k], count, *f),
            "key {k}: {}",
            by_key[k]
        );
    }
    let by_key = pairs
        .sample_by_key(true, fractions.clone(), 7)
        .unwrap()
        .map(|(k, _)| (k, 1u64))
        .reduce_by_key_locally(|a, b| a + b)
        .unwrap();
    for (k, f) in &fractions {
        let count = (0..n).filter(|x| (x % 3) as u8 == *k).count() as f64;
        let got = by_key[k] as f64;
        assert!(
            (got - count * f).abs() <= 5.0 * (count * f).sqrt(),
            "key {k} wr: {got}"
        );
    }
}

#[test]
fn random_split_proportions_on_large_input() {
    let ctx = ctx();
    let n = 100_000u64;
    let rdd = ctx.parallelize_with((0..n).collect::<Vec<u64>>(), 6);
    let weights = [1.0, 2.0, 7.0];
    let splits = rdd.random_split(&weights, 99).unwrap();
    let mut total = 0;
    for (w, s) in weights.iter().zip(&splits) {
        let c = s.count().unwrap();
        total += c;
        assert!(within_binomial(c, n, w / 10.0), "weight {w}: {c}");
    }
    assert_eq!(total, n);
}

#[test]
fn sampling_argument_errors() {
    let ctx = ctx();
    let rdd = ctx.parallelize_with(vec![(1u8, 1u64), (2, 2), (3, 3)], 2);
    let fractions: HashMap<u8, f64> = [(1, 0.5), (2, 0.5)].into_iter().collect();
    // A key without a fraction is named: at the action for sample_by_key, at once for
    // the exact form (it counts the keys first).
    let e = rdd
        .sample_by_key(false, fractions.clone(), 1)
        .unwrap()
        .collect()
        .unwrap_err()
        .to_string();
    assert!(e.contains("key 3 has no sampling fraction"), "{e}");
    for wr in [false, true] {
        let e = rdd
            .sample_by_key_exact(wr, fractions.clone(), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("key 3"), "{e}");
    }
    let too_big: HashMap<u8, f64> = [(1, 1.5)].into_iter().collect();
    assert!(rdd.sample_by_key(false, too_big.clone(), 1).is_err());
    assert!(rdd.sample_by_key(true, too_big.clone(), 1).is_ok());
    assert!(rdd.sample_by_key_exact(false, too_big, 1).is_err());
    let neg: HashMap<u8, f64> = [(1, -0.1)].into_iter().collect();
    assert!(rdd.sample_by_key(true, neg, 1).is_err());
    assert!(rdd.random_split(&[], 1).is_err());
    assert!(rdd.random_split(&[0.0, 0.0], 1).is_err());
    assert!(rdd.random_split(&[1.0, -1.0], 1).is_err());
    assert!(rdd.random_split(&[f64::NAN], 1).is_err());
}
