//! Checkpoints across program changes (Spark's break on every upgrade; spate's must not):
//! a checkpoint written by one version of a program is recovered by a changed one when the
//! change is safe — an output added, a configuration value changed, streams added before
//! named ones — and refused, naming the operation and what to do, when it is not (a
//! stateful stream retyped or removed, a window changed). A checkpoint written by this
//! version of spate is kept under `tests/golden/` and must stay readable
//! (`SPATE_BLESS=1` writes it again; do that only when the format changes compatibly).

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use support::*;

type State = BTreeMap<String, u64>;

/// Batch k's words: a replay, so that recovery does not depend on files or paths.
fn batches(n: usize) -> Vec<Option<Vec<String>>> {
    (1..=n)
        .map(|k| {
            Some(
                (0..k % 4 + 1)
                    .map(|i| format!("w{}", (k * 7 + i) % 5))
                    .collect(),
            )
        })
        .collect()
}

const TOTAL: usize = 16;

#[derive(Clone, Copy, PartialEq)]
enum Version {
    /// The first program.
    V1,
    /// An output added, a configuration value changed.
    MoreOutputs,
    /// A stream created before the others (the streams are named, as in every version
    /// but the next).
    NamedWithAnExtraStreamFirst,
    /// A stream created before the others, and no names.
    UnnamedWithAnExtraStreamFirst,
    /// The state's type changed (u64 to i64).
    StateRetyped,
}

/// The word-count program, as each version builds it; returns the context and every
/// batch's state.
fn program(
    ck: &Path,
    version: Version,
    clock_ms: i64,
) -> spate_streaming::Result<(StreamingContext, Out<(String, u64)>)> {
    let out: Out<(String, u64)> = Default::default();
    let o = out.clone();
    let parallelism = if version == Version::MoreOutputs {
        "3"
    } else {
        "2"
    };
    let ssc = StreamingContext::get_or_create(ck, || {
        let ssc = StreamingContext::with_clock(
            Context::new(conf(&[("spate.default.parallelism", parallelism)]))?,
            Duration::from_secs(1),
            Clock::manual_at(clock_ms),
        )?;
        let named = version != Version::UnnamedWithAnExtraStreamFirst;
        if matches!(
            version,
            Version::NamedWithAnExtraStreamFirst | Version::UnnamedWithAnExtraStreamFirst
        ) {
            ssc.replay_stream(vec![Some(vec![1u8])], 1)
                .foreach_rdd(|_, _| Ok(()));
        }
        let mut words = ssc.replay_stream(batches(TOTAL), 2);
        if named {
            words = words.name("words");
        }
        let pairs = words.map(|w| (w, 1u64));
        if version == Version::StateRetyped {
            pairs
                .update_state_by_key(|vs: Vec<u64>, s: Option<i64>| {
                    Some(s.unwrap_or(0) + vs.len() as i64)
                })
                .name("counts")
                .foreach_rdd(|_, _| Ok(()));
        } else {
            let mut counts = pairs.update_state_by_key(|vs: Vec<u64>, s: Option<u64>| {
                Some(s.unwrap_or(0) + vs.iter().sum::<u64>())
            });
            if named {
                counts = counts.name("counts");
            }
            counts.foreach_rdd(move |rdd, t| {
                o.lock().push((t.millis(), rdd.collect()?));
                Ok(())
            });
            if version == Version::MoreOutputs {
                counts.count().foreach_rdd(|_, _| Ok(()));
            }
        }
        ssc.checkpoint(ck)?;
        Ok(ssc)
    })?;
    Ok((ssc, out))
}

fn state_at(out: &Out<(String, u64)>, t: i64) -> State {
    out.lock()
        .iter()
        .rev()
        .find(|(bt, _)| *bt == t)
        .map(|(_, recs)| recs.iter().cloned().collect())
        .unwrap_or_else(|| panic!("no batch at {t}"))
}

fn uninterrupted() -> State {
    let dir = tempfile::tempdir().unwrap();
    let (ssc, out) = program(&dir.path().join("ck"), Version::V1, 0).unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(TOTAL).unwrap();
    ssc.stop(true, false);
    state_at(&out, TOTAL as i64 * 1000)
}

/// V1 runs 12 batches (its state checkpointed at 10 s) and stops; returns the directory.
fn first_run(ck: &Path) {
    let (ssc, _) = program(ck, Version::V1, 0).unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(12).unwrap();
    ssc.stop(true, true);
}

/// `version` recovers from `ck` at 12 s and runs to the end.
fn recover(ck: &Path, version: Version) -> spate_streaming::Result<State> {
    let (ssc, out) = program(ck, version, 12_000)?;
    ssc.start()?;
    ssc.advance_batches(TOTAL - 12)?;
    ssc.stop(true, true);
    Ok(state_at(&out, TOTAL as i64 * 1000))
}

#[test]
fn an_added_output_and_a_changed_setting_recover() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    first_run(&ck);
    assert_eq!(recover(&ck, Version::MoreOutputs).unwrap(), uninterrupted());
}

#[test]
fn named_streams_recover_when_a_stream_is_added_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    first_run(&ck);
    assert_eq!(
        recover(&ck, Version::NamedWithAnExtraStreamFirst).unwrap(),
        uninterrupted()
    );
}

#[test]
fn unsafe_changes_are_refused_naming_the_operation_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    first_run(&ck);
    // The state's type changed: its checkpointed state cannot be read as the new type.
    let e = recover(&ck, Version::StateRetyped)
        .expect_err("a retyped state must be refused")
        .to_string();
    assert!(
        e.contains("`counts` (update_state_by_key)")
            && e.contains("i64")
            && e.contains("start afresh with a new checkpoint directory"),
        "{e}"
    );
    // Names dropped and a stream created before the others: the named stateful stream of
    // the checkpoint is not in the graph.
    let e = recover(&ck, Version::UnnamedWithAnExtraStreamFirst)
        .expect_err("shifted unnamed streams must be refused")
        .to_string();
    assert!(e.contains("update_state_by_key"), "{e}");
    // Nothing was changed by the refusals: the first program still recovers.
    assert_eq!(recover(&ck, Version::V1).unwrap(), uninterrupted());
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/checkpoint-v1")
}

#[test]
fn the_golden_checkpoint_of_format_1_is_recovered() {
    if std::env::var("SPATE_BLESS").is_ok() {
        let golden = golden_dir();
        let _ = std::fs::remove_dir_all(&golden);
        first_run(&golden);
    }
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    copy_dir(&golden_dir(), &ck);
    let names: Vec<String> = std::fs::read_dir(ck.join(checkpoint::METADATA_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.is_empty(), "golden checkpoint missing");
    let bytes = std::fs::read(
        ck.join(checkpoint::METADATA_DIR)
            .join(names.iter().max().unwrap()),
    )
    .unwrap();
    let payload = spate_core::checkpoint_store::unframe(&bytes, "golden").unwrap();
    let ck_read = checkpoint::MetadataCheckpoint::from_bytes(payload, "golden").unwrap();
    assert_eq!(ck_read.format, 1);
    assert_eq!(ck_read.time_ms, 12_000);
    assert!(
        !ck_read.data.is_empty(),
        "the golden checkpoint has the state's data"
    );
    assert_eq!(recover(&ck, Version::V1).unwrap(), uninterrupted());
}

/// A replay with a named accumulator counting, in its output operation, the words each
/// batch brought; returns the context and the accumulator.
fn counting_program(ck: &Path, clock_ms: i64) -> (StreamingContext, spate_core::LongAccumulator) {
    let acc: Arc<Mutex<Option<spate_core::LongAccumulator>>> = Default::default();
    let a2 = acc.clone();
    let ssc = StreamingContext::get_or_create(ck, move || {
        let ssc = StreamingContext::with_clock(
            Context::new(conf(&[]))?,
            Duration::from_secs(1),
            Clock::manual_at(clock_ms),
        )?;
        let words = ssc.ctx().long_accumulator("words");
        *a2.lock() = Some(words.clone());
        ssc.replay_stream(batches(TOTAL), 2)
            .foreach_rdd(move |rdd, _| {
                // Driver side, once per batch: the batch's words.
                words.add(rdd.count()? as i64);
                Ok(())
            });
        ssc.checkpoint(ck)?;
        Ok(ssc)
    })
    .unwrap();
    let acc = acc.lock().clone().unwrap();
    (ssc, acc)
}

#[test]
fn a_named_accumulator_is_restored_from_the_checkpoint() {
    let all_words: i64 = batches(TOTAL)
        .iter()
        .flatten()
        .map(|b| b.len() as i64)
        .sum();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let (ssc, acc) = counting_program(&ck, 0);
    ssc.start().unwrap();
    ssc.advance_batches(12).unwrap();
    let at_12 = acc.value();
    ssc.stop(true, true);
    assert!(at_12 > 0);
    // Recovered and not run yet: the value it had.
    let (ssc, acc) = counting_program(&ck, 12_000);
    assert_eq!(acc.value(), at_12, "restored before the start");
    ssc.start().unwrap();
    ssc.advance_batches(TOTAL - 12).unwrap();
    ssc.stop(true, true);
    assert_eq!(acc.value(), all_words);
}

#[test]
fn after_a_graceful_stop_a_restart_goes_on_with_the_next_batch() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    first_run(&ck);
    let (ssc, out) = program(&ck, Version::V1, 12_000).unwrap();
    let latest = ssc.latest_checkpoint().unwrap().unwrap();
    assert_eq!((latest.time_ms, latest.completed), (12_000, true));
    assert!(latest.pending_ms.is_empty(), "{:?}", latest.pending_ms);
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    ssc.stop(true, true);
    let times: Vec<i64> = out.lock().iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![13_000, 14_000],
        "no batch run twice, none skipped"
    );
}
