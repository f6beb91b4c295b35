//! A word count whose shuffle spills (with a small `spate.memory.executionBytes`), and the
//! check of its result: shared by the fault and scratch-directory tests.

use spate_core::{Context, Rdd};

/// 200,000 records over 50,000 keys, 4 map partitions into 3 reduce partitions.
pub fn spilled_word_counts(ctx: &Context) -> Rdd<(u64, u64)> {
    ctx.parallelize_with((0..200_000u64).collect::<Vec<_>>(), 4)
        .map(|x| (x % 50_000, 1u64))
        .reduce_by_key_with(|a, b| a + b, 3)
}

/// The result of [`spilled_word_counts`]: every key counted 4 times.
pub fn check_counts(mut v: Vec<(u64, u64)>) {
    v.sort();
    assert_eq!(v.len(), 50_000);
    assert!(v.iter().all(|(_, c)| *c == 4));
}
