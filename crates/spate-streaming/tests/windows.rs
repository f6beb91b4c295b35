//! Windows over windowed streams on the manual clock: a window of a window, a window over a
//! parent that slides slower than the batch, `reduce_by_key_and_window_inv` over a windowed
//! parent equal to the same without the inverse, and a window longer than the remember
//! duration, whose input keeps just enough batches. (Windows over plain streams: `basics.rs`
//! and the `cases/window*.case` files.)

use std::time::Duration;
use support::{collect, manual_ssc as ssc, sorted, Out};

mod support;

fn numbers(n: i64) -> Vec<Option<Vec<i64>>> {
    (1..=n).map(|i| Some(vec![i])).collect()
}

#[test]
fn window_of_a_window() {
    let ssc = ssc();
    let s = ssc.replay_stream(numbers(6), 2);
    let w1 = s.window_with(Duration::from_secs(2), Duration::from_secs(1));
    let w2 = w1.window_with(Duration::from_secs(3), Duration::from_secs(2));
    let out = collect(&w2);
    ssc.start().unwrap();
    ssc.advance_batches(8).unwrap();
    let o: Vec<(i64, Vec<i64>)> = out.lock().iter().map(|(t, v)| (*t, sorted(v))).collect();
    assert_eq!(
        o,
        vec![
            (2000, vec![1, 1, 2]),
            (4000, vec![1, 2, 2, 3, 3, 4]),
            (6000, vec![3, 4, 4, 5, 5, 6]),
            (8000, vec![5, 6, 6]),
        ]
    );
    ssc.stop(false, false);
}

#[test]
fn window_over_a_parent_with_a_larger_slide() {
    let ssc = ssc();
    let s = ssc.replay_stream(numbers(8), 1);
    let w1 = s.window_with(Duration::from_secs(2), Duration::from_secs(2));
    let w2 = w1.window_with(Duration::from_secs(4), Duration::from_secs(4));
    // Valid over the windowed parent: built now, and `start` finds no definition error.
    let c = w1
        .count_by_window(Duration::from_secs(6))
        .slide(Duration::from_secs(2))
        .build();
    assert_eq!(c.slide_ms(), 2000);
    let out = collect(&w2);
    ssc.start().unwrap();
    ssc.advance_batches(10).unwrap();
    let o: Vec<(i64, Vec<i64>)> = out.lock().iter().map(|(t, v)| (*t, sorted(v))).collect();
    assert_eq!(o, vec![(4000, vec![1, 2, 3, 4]), (8000, vec![5, 6, 7, 8]),]);
    ssc.stop(false, false);
}

#[test]
fn reduce_by_key_and_window_inv_over_a_windowed_parent_matches_without_inverse() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let data: Vec<Option<Vec<(String, i64)>>> = (1..=30)
        .map(|i| {
            if i % 7 == 0 {
                None
            } else {
                Some(
                    (0..(i % 4))
                        .map(|j| (format!("k{}", (i + j) % 3), i))
                        .collect(),
                )
            }
        })
        .collect();
    let s = ssc.replay_stream(data, 2);
    let w1 = s.window_with(Duration::from_secs(2), Duration::from_secs(2));
    let inv = w1
        .reduce_by_key_and_window(|a, b| a + b)
        .inverse(|a, b| a - b)
        .filter(|kv| kv.1 != 0)
        .window(Duration::from_secs(6))
        .slide(Duration::from_secs(4))
        .partitions(2);
    let plain = w1
        .reduce_by_key_and_window(|a, b| a + b)
        .window(Duration::from_secs(6))
        .slide(Duration::from_secs(4))
        .partitions(2);
    let a = collect(&inv);
    let b = collect(&plain);
    ssc.start().unwrap();
    ssc.advance_batches(40).unwrap();
    let norm = |o: &Out<(String, i64)>| -> Vec<(i64, Vec<(String, i64)>)> {
        o.lock().iter().map(|(t, v)| (*t, sorted(v))).collect()
    };
    assert_eq!(norm(&a), norm(&b));
    assert_eq!(a.lock().len(), 10);
    ssc.stop(false, false);
}

#[test]
fn slice_over_remembered_window_after_a_large_window() {
    // A window longer than the remember duration: its parent must keep enough batches.
    let ssc = ssc();
    let s = ssc.replay_stream(numbers(40), 3);
    let w = s.window_with(Duration::from_secs(30), Duration::from_secs(10));
    let out = collect(&w.count());
    ssc.start().unwrap();
    ssc.advance_batches(40).unwrap();
    let counts: Vec<(i64, Vec<i64>)> = out.lock().clone();
    assert_eq!(
        counts,
        vec![
            (10_000, vec![10]),
            (20_000, vec![20]),
            (30_000, vec![30]),
            (40_000, vec![30]),
        ]
    );
    // The input keeps just enough batches (window + its own remember).
    let kept = s.base().generated_times();
    assert!(kept.len() <= 45, "{kept:?}");
    ssc.stop(false, false);
}
