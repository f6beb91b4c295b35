//! What a long-running stream lets go of: receiver blocks once no remembered batch holds
//! them (the blocks of batches that no output reads too), and state checkpoints once newer
//! ones exist.

use parking_lot::Mutex;
use spate_core::{Context, SpateConf};
use spate_streaming::input::{Receiver, ReceiverHandle};
use spate_streaming::*;
use std::sync::Arc;
use std::time::Duration;
use support::{collect, manual_ssc as ssc};

mod support;

fn conf() -> SpateConf {
    support::local2("cleanup")
}

/// Input blocks still in the block store.
fn input_blocks(ssc: &StreamingContext) -> usize {
    ssc.ctx()
        .block_store()
        .block_ids()
        .into_iter()
        .filter(|b| format!("{b:?}").contains("Input"))
        .count()
}

/// A receiver whose handle the test drives: it stores what the test tells it to.
struct Driven(Arc<Mutex<Option<ReceiverHandle<u64>>>>);

impl Receiver<u64> for Driven {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        *self.0.lock() = Some(h);
    }
    fn on_stop(&mut self) {
        self.0.lock().take();
    }
}

fn run_window_over_receiver(window_s: u64, slide_s: u64, batches: usize) -> usize {
    let ctx = Context::new(conf().set("spate.streaming.blockInterval", "5ms").unwrap()).unwrap();
    let ssc = support::manual_over(ctx);
    let handle = Arc::new(Mutex::new(None));
    let w = ssc
        .receiver_stream(Driven(handle.clone()))
        .window_with(Duration::from_secs(window_s), Duration::from_secs(slide_s));
    w.foreach_rdd(|rdd, _| {
        rdd.count()?;
        Ok(())
    });
    ssc.start().unwrap();
    while handle.lock().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..batches {
        // One record, hence one block, per batch.
        handle.lock().as_ref().unwrap().store(i as u64).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while input_blocks(&ssc) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(30));
        ssc.advance_batches(1).unwrap();
    }
    let live = input_blocks(&ssc);
    ssc.stop(false, false);
    live
}

#[test]
fn receiver_blocks_are_freed_once_their_batch_is_forgotten() {
    // Control: a window that reads every batch keeps only the remembered batches' blocks.
    let live = run_window_over_receiver(2, 2, 40);
    assert!(live <= 6, "{live} input blocks alive");
}

#[test]
fn receiver_blocks_of_batches_no_output_reads_are_freed() {
    // A window of one batch every two batches: the odd batches are read by nothing, and
    // their blocks stay in the block store for the life of the stream.
    let live = run_window_over_receiver(1, 2, 40);
    assert!(
        live <= 6,
        "{live} input blocks alive after 40 batches (one block each)"
    );
}

#[test]
fn old_state_checkpoints_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = ssc();
    ssc.checkpoint(dir.path()).unwrap();
    let s = ssc.replay_stream(
        (1..=200)
            .map(|i| Some(vec![(format!("k{}", i % 5), 1i64)]))
            .collect(),
        2,
    );
    let st = s
        .update_state_by_key(|vs: Vec<i64>, s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64));
    let out = collect(&st);
    ssc.start().unwrap();
    ssc.advance_batches(200).unwrap();
    ssc.stop(false, false);
    assert_eq!(out.lock().last().unwrap().1.len(), 5);
    // The store is a subdirectory `<app>-<suffix>` of the checkpoint directory.
    let mut rdd_dirs = 0;
    for sub in std::fs::read_dir(dir.path()).unwrap() {
        let sub = sub.unwrap().path();
        if sub.is_dir() {
            rdd_dirs += std::fs::read_dir(&sub)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("rdd-")
                })
                .count();
        }
    }
    // Spark deletes a DStream's checkpoint files once a newer checkpoint of it exists
    // (DStreamCheckpointData.cleanup); only the recent ones are needed for recovery.
    assert!(
        rdd_dirs <= 3,
        "{rdd_dirs} checkpointed RDDs kept after 20 checkpoints"
    );
}

/// Cached RDD blocks of a stream fed one batch per interval for `batches` batches.
fn cached_rdd_blocks_after(unpersist: &str, batches: usize) -> usize {
    let ctx = Context::new(conf().set("spate.streaming.unpersist", unpersist).unwrap()).unwrap();
    let ssc = support::manual_over(ctx);
    let data: Vec<Option<Vec<u64>>> = (0..batches as u64).map(|i| Some(vec![i, i + 1])).collect();
    let cached = ssc.replay_stream(data, 2).map(|x| x * 2).cache();
    // The program keeps every batch's RDD (as one that reads them later would).
    let held: Arc<Mutex<Vec<spate_core::Rdd<u64>>>> = Arc::default();
    let h = held.clone();
    cached.foreach_rdd(move |rdd, _| {
        rdd.count()?;
        h.lock().push(rdd);
        Ok(())
    });
    ssc.start().unwrap();
    ssc.advance_batches(batches).unwrap();
    let n = ssc
        .ctx()
        .block_store()
        .block_ids()
        .into_iter()
        .filter(|b| matches!(b, spate_core::storage::BlockId::Rdd { .. }))
        .count();
    ssc.stop(false, false);
    n
}

#[test]
fn spate_streaming_unpersist_false_keeps_the_generated_rdds_cached() {
    // Spark's spark.streaming.unpersist: by default the RDDs a stream generated are
    // unpersisted once they leave its remember window, even while the program still holds
    // them; `false` keeps them cached.
    let freed = cached_rdd_blocks_after("true", 30);
    let kept = cached_rdd_blocks_after("false", 30);
    assert!(
        freed <= 2 * 3,
        "{freed} cached blocks alive with unpersist on"
    );
    assert_eq!(kept, 2 * 30, "every batch's two partitions stay cached");
}
