//! Numeric RDD actions (Spark's `DoubleRDDFunctions`): statistics against a two-pass
//! reference on random data, histograms against Spark's documented examples and a
//! brute-force count.

mod oracle_common;

use oracle_common::*;
use spate_core::rng::SplitMix64;

/// Neumaier-compensated sum of `xs` taken in order of increasing magnitude.
fn ref_sum(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in v {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    // Past the double range the compensation is meaningless: the sum is infinite.
    if (s + c).is_finite() {
        s + c
    } else {
        s
    }
}

/// Two-pass reference: mean first, then the squared deviations from it.
fn ref_stats(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let sum = ref_sum(xs);
    let mean = sum / n;
    let dev: Vec<f64> = xs.iter().map(|x| (x - mean) * (x - mean)).collect();
    (sum, mean, ref_sum(&dev) / n)
}

/// `a` within `rel` of `b`, relative to `max(|b|, floor)`; infinities must agree exactly.
fn close(a: f64, b: f64, rel: f64, floor: f64) -> bool {
    if !b.is_finite() || !a.is_finite() {
        return a == b || (a.is_nan() && b.is_nan());
    }
    (a - b).abs() <= rel * b.abs().max(floor)
}

fn data_sets() -> Vec<(&'static str, Vec<f64>)> {
    let mut r = SplitMix64::new(12);
    let uniform: Vec<f64> = (0..5000).map(|_| r.next_f64() * 2000.0 - 1000.0).collect();
    let offset: Vec<f64> = (0..5000).map(|_| 1e9 + r.next_f64()).collect();
    let mixed150: Vec<f64> = (0..3000)
        .map(|_| match r.below(3) {
            0 => (r.next_f64() - 0.5) * 1e150,
            1 => r.next_f64() * 1e-150,
            _ => r.next_f64() * 100.0,
        })
        .collect();
    let extreme: Vec<f64> = (0..3000)
        .map(|_| match r.below(3) {
            0 => (r.next_f64() - 0.3) * 1e300,
            1 => r.next_f64() * 1e-300,
            _ => r.next_f64(),
        })
        .collect();
    let tiny: Vec<f64> = (0..2000).map(|_| r.next_f64() * 1e-300).collect();
    vec![
        ("uniform", uniform),
        ("1e9 + noise", offset),
        ("1e150 mixed with tiny", mixed150),
        ("1e300 mixed with tiny", extreme),
        ("tiny", tiny),
        ("one", vec![42.5]),
        ("two", vec![-1.0, 3.0]),
    ]
}

#[test]
fn statistics_match_a_two_pass_reference() {
    let ctx = ctx();
    for (name, xs) in data_sets() {
        let (sum, mean, var) = ref_stats(&xs);
        let scale = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let n = xs.len() as f64;
        for p in PARTS {
            let rdd = ctx.parallelize_with(xs.clone(), p);
            let s = rdd.stats().unwrap();
            let what = format!("{name}, {p} partitions: {s}");
            assert_eq!(s.count(), xs.len() as u64, "{what}");
            assert!(
                close(s.mean(), mean, 1e-9, scale * 1e-12),
                "mean {what} vs {mean}"
            );
            assert!(
                close(s.variance(), var, 1e-6, 0.0),
                "variance {what} vs {var}: rel {}",
                (s.variance() - var).abs() / var
            );
            if xs.len() > 1 {
                let sv = var * n / (n - 1.0);
                assert!(close(s.sample_variance(), sv, 1e-6, 0.0), "{what}");
                assert!(close(s.sample_stdev(), sv.sqrt(), 1e-6, 0.0), "{what}");
            } else {
                assert!(s.sample_variance().is_nan(), "{what}");
            }
            assert!(close(s.stdev(), var.sqrt(), 1e-6, 0.0), "{what}");
            let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!((s.min(), s.max()), (min, max), "{what}");
            let got_sum = rdd.sum().unwrap();
            assert!(
                close(got_sum, sum, 1e-12, scale * 1e-15),
                "sum {what}: {got_sum} vs {sum}"
            );
            assert!(
                close(rdd.mean().unwrap(), mean, 1e-9, scale * 1e-12),
                "{what}"
            );
            assert_eq!(rdd.variance().unwrap(), s.variance());
            assert_eq!(rdd.stdev().unwrap(), s.stdev());
            assert_eq!(
                rdd.sample_variance().unwrap().to_bits(),
                s.sample_variance().to_bits()
            );
            assert_eq!(
                rdd.sample_stdev().unwrap().to_bits(),
                s.sample_stdev().to_bits()
            );
        }
    }
}

/// The `1e9 + noise` data defeats the textbook `E[x^2] - E[x]^2`, so the test above
/// would catch an implementation that used it.
#[test]
fn offset_data_defeats_the_naive_formula() {
    let (_, xs) = data_sets().remove(1);
    let n = xs.len() as f64;
    let naive = xs.iter().map(|x| x * x).sum::<f64>() / n - (xs.iter().sum::<f64>() / n).powi(2);
    let (_, _, var) = ref_stats(&xs);
    assert!((naive - var).abs() > 1e-3 * var, "naive {naive} vs {var}");
    let s = ctx().parallelize_with(xs, 3).stats().unwrap();
    assert!((s.variance() - var).abs() <= 1e-6 * var);
}

#[test]
fn integer_and_float_record_types() {
    let ctx = ctx();
    let ints: Vec<i64> = ints(3000, 1_000_000, 5);
    let as_f: Vec<f64> = ints.iter().map(|&x| x as f64).collect();
    let (sum, mean, var) = ref_stats(&as_f);
    let s = ctx.parallelize_with(ints.clone(), 3).stats().unwrap();
    assert!(close(s.mean(), mean, 1e-12, 1.0) && close(s.variance(), var, 1e-9, 0.0));
    assert_eq!(ctx.parallelize_with(ints, 3).sum().unwrap(), sum);
    let bytes: Vec<u8> = (0..=255).collect();
    let s = ctx.parallelize_with(bytes, 4).stats().unwrap();
    assert_eq!(
        (s.count(), s.sum(), s.min(), s.max()),
        (256, 32640.0, 0.0, 255.0)
    );
    let floats: Vec<f32> = vec![0.5, 1.5, 2.5];
    assert_eq!(ctx.parallelize_with(floats, 2).mean().unwrap(), 1.5);
    let sizes: Vec<usize> = vec![1, 2, 3];
    assert_eq!(
        ctx.parallelize_with(sizes, 2).stats().unwrap().to_string(),
        "(count: 3, mean: 2.000000, stdev: 0.816497, max: 3.000000, min: 1.000000)"
    );
    let small: Vec<i8> = vec![-128, 127];
    assert_eq!(ctx.parallelize(small).sum().unwrap(), -1.0);
}

#[test]
fn empty_rdds_give_sparks_empty_counter() {
    let ctx = ctx();
    for rdd in [
        ctx.parallelize_with(Vec::<f64>::new(), 3),
        ctx.empty::<f64>(),
    ] {
        let s = rdd.stats().unwrap();
        assert_eq!(s.count(), 0);
        assert_eq!(s.mean(), 0.0);
        assert_eq!(rdd.sum().unwrap(), 0.0);
        assert!(rdd.variance().unwrap().is_nan() && rdd.stdev().unwrap().is_nan());
        assert!(rdd.sample_variance().unwrap().is_nan());
        assert_eq!((s.min(), s.max()), (f64::INFINITY, f64::NEG_INFINITY));
        assert_eq!(rdd.histogram(&[0.0, 1.0, 2.0]).unwrap(), vec![0, 0]);
        assert!(rdd.histogram_n(3).is_err());
    }
    let bytes = spate_core::codec::encode(&StatCounter::from_values([1.0, 5.0]), "t").unwrap();
    let back: StatCounter = spate_core::codec::decode(&bytes, "t").unwrap();
    assert_eq!(back, StatCounter::from_values([1.0, 5.0]));
}

// ---------------------------------------------------------------------------------------
// Histograms
// ---------------------------------------------------------------------------------------

/// The bucket of `x` by the definition: `[e_i, e_{i+1})`, the last closed.
fn brute_bucket(edges: &[f64], x: f64) -> Option<usize> {
    let n = edges.len() - 1;
    (0..n).find(|&i| edges[i] <= x && (x < edges[i + 1] || (i == n - 1 && x <= edges[i + 1])))
}

fn brute_histogram(edges: &[f64], xs: &[f64]) -> Vec<u64> {
    let mut out = vec![0u64; edges.len() - 1];
    for &x in xs {
        if let Some(i) = brute_bucket(edges, x) {
            out[i] += 1;
        }
    }
    out
}

#[test]
fn sparks_documented_histograms() {
    let ctx = ctx();
    // DoubleRDDFunctions.histogram's doc: on 1 and 50, [1, 10, 20, 50] gives 1, 0, 1.
    let ends = ctx.parallelize_with(vec![1.0, 50.0], 2);
    assert_eq!(
        ends.histogram(&[1.0, 10.0, 20.0, 50.0]).unwrap(),
        vec![1, 0, 1]
    );
    // PySpark's doc: range(51).
    let r: Vec<i32> = (0..51).collect();
    let rdd = ctx.parallelize_with(r, 3);
    assert_eq!(
        rdd.histogram_n(2).unwrap(),
        (vec![0.0, 25.0, 50.0], vec![25, 26])
    );
    assert_eq!(
        rdd.histogram(&[0.0, 5.0, 25.0, 50.0]).unwrap(),
        vec![5, 20, 26]
    );
    assert_eq!(
        rdd.histogram(&[0.0, 15.0, 30.0, 45.0, 60.0]).unwrap(),
        vec![15, 15, 15, 6]
    );
    assert_eq!(
        rdd.histogram(&[1.0, 10.0, 20.0, 50.0]).unwrap(),
        vec![9, 10, 31]
    );
    // Spark's DoubleRDDSuite.
    let four = ctx.parallelize_with(vec![1.0, 2.0, 3.0, 4.0], 2);
    assert_eq!(four.histogram_n(1).unwrap(), (vec![1.0, 4.0], vec![4]));
    assert_eq!(
        four.histogram_n(2).unwrap(),
        (vec![1.0, 2.5, 4.0], vec![2, 2])
    );
    let mm = ctx.parallelize_with(vec![1.0, 1.0, 1.0, 2.0, 3.0, 3.0], 2);
    assert_eq!(
        mm.histogram_n(4).unwrap(),
        (vec![1.0, 1.5, 2.0, 2.5, 3.0], vec![3, 0, 1, 2])
    );
    let big: Vec<f64> = (6..100).map(f64::from).collect();
    let (edges, counts) = ctx.parallelize_with(big, 4).histogram_n(8).unwrap();
    assert_eq!(
        edges,
        vec![6.0, 17.625, 29.25, 40.875, 52.5, 64.125, 75.75, 87.375, 99.0]
    );
    assert_eq!(counts, vec![12, 12, 11, 12, 12, 11, 12, 12]);
    let two = ctx.parallelize_with(vec![1.0, 2.0], 2);
    let (edges, counts) = two.histogram_n(10).unwrap();
    assert_eq!(edges.len(), 11);
    assert_eq!(counts, vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // Every record equal: one bucket [min, min].
    let same = ctx.parallelize_with(vec![7.0; 5], 2);
    assert_eq!(same.histogram_n(4).unwrap(), (vec![7.0, 7.0], vec![5]));
    // Out of range and NaN records are ignored; a NaN last edge takes them all.
    let odd = ctx.parallelize_with(vec![-5.0, 0.0, 10.0, 11.0, f64::INFINITY, f64::NAN], 2);
    assert_eq!(odd.histogram(&[0.0, 5.0, 10.0]).unwrap(), vec![1, 1]);
    assert_eq!(odd.histogram(&[0.0, 10.0, f64::NAN]).unwrap(), vec![1, 4]);
}

#[test]
fn histogram_errors() {
    let ctx = ctx();
    let rdd = ctx.parallelize_with(vec![1.0, 2.0], 2);
    for bad in [
        vec![],
        vec![1.0],
        vec![3.0, 1.0],
        vec![1.0, 1.0],
        vec![f64::NAN, 1.0],
    ] {
        let e = rdd.histogram(&bad).unwrap_err().to_string();
        assert!(e.contains("histogram"), "{e}");
    }
    let e = rdd.histogram_n(0).unwrap_err().to_string();
    assert!(e.contains("at least 1"), "{e}");
    for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        let e = ctx
            .parallelize_with(vec![1.0, bad], 2)
            .histogram_n(3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("infinity or NaN"), "{e}");
    }
}

#[test]
fn histograms_match_a_brute_force_count() {
    let ctx = ctx();
    let mut r = SplitMix64::new(77);
    for round in 0..60 {
        let n = r.below(400) as usize;
        let xs: Vec<f64> = (0..n)
            .map(|_| match r.below(20) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                3 => (r.below(11) as f64) * 10.0, // exactly on round edges
                _ => r.next_f64() * 120.0 - 10.0,
            })
            .collect();
        let buckets = 1 + r.below(12) as usize;
        let edges: Vec<f64> = match round % 4 {
            // Evenly spaced (the O(1) path).
            0 => (0..=buckets)
                .map(|i| i as f64 * 100.0 / buckets as f64)
                .collect(),
            1 => (0..=buckets).map(|i| 0.1 * i as f64).collect(),
            // Uneven, sorted, distinct.
            _ => {
                let mut e: Vec<f64> = (0..=buckets).map(|_| r.next_f64() * 100.0).collect();
                e.sort_by(f64::total_cmp);
                e.dedup();
                if round % 8 == 3 {
                    // NaN as the last edge, as Spark's doc allows.
                    e.pop();
                    e.push(f64::NAN);
                }
                e
            }
        };
        if edges.len() < 2 {
            continue;
        }
        let want = if edges[edges.len() - 1].is_nan() {
            // The last bucket is [edge before, NaN]: everything from that edge up,
            // infinity and NaN included.
            let mut as_inf = edges.clone();
            *as_inf.last_mut().unwrap() = f64::INFINITY;
            let mut w = brute_histogram(&as_inf, &xs);
            *w.last_mut().unwrap() += xs.iter().filter(|x| x.is_nan()).count() as u64;
            w
        } else {
            brute_histogram(&edges, &xs)
        };
        for p in [1, 4] {
            let rdd = ctx.parallelize_with(xs.clone(), p);
            assert_eq!(
                rdd.histogram(&edges).unwrap(),
                want,
                "round {round} edges {edges:?}"
            );
        }
        let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if !finite.is_empty() {
            let rdd = ctx.parallelize_with(finite.clone(), 3);
            let (e, counts) = rdd.histogram_n(buckets).unwrap();
            assert_eq!(counts, brute_histogram(&e, &finite), "round {round}");
            assert_eq!(counts.iter().sum::<u64>(), finite.len() as u64);
            let (lo, hi) = (e[0], e[e.len() - 1]);
            if lo != hi {
                assert_eq!(e.len(), buckets + 1);
                for (i, x) in e[..buckets].iter().enumerate() {
                    assert_eq!(*x, lo + (i as f64 * (hi - lo)) / buckets as f64);
                }
            }
        }
    }
}
