//! The input tracker: what every input (receiver, files, queue, replay, direct) gave every
//! batch, asserted against what was fed; `BatchInfo::num_records` and `input_info` come
//! from it.

mod support;

use spate_streaming::input::{InputFile, InputRecord, ReceivedBlock};
use std::collections::BTreeMap;
use support::*;

/// A receiver whose handle the test drives.
struct Driven(Arc<Mutex<Option<ReceiverHandle<u64>>>>);
impl Receiver<u64> for Driven {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        *self.0.lock() = Some(h);
    }
    fn on_stop(&mut self) {}
}

/// Batch k reads offsets [10k, 10k + k) of "topic"; knows its counts when `counts`.
struct Offsets {
    counts: bool,
}
impl DirectSource<i64> for Offsets {
    type Range = (i64, i64);
    fn plan(&self, time: Time) -> Result<Option<(i64, i64)>> {
        let k = time.millis() / 1000;
        Ok((k != 2).then_some((k * 10, k * 10 + k)))
    }
    fn read(&self, ctx: &Context, r: &(i64, i64)) -> Result<spate_core::Rdd<i64>> {
        Ok(ctx.parallelize_with((r.0..r.1).collect(), 2))
    }
    fn records(&self, r: &(i64, i64)) -> Option<u64> {
        self.counts.then_some((r.1 - r.0) as u64)
    }
    fn describe(&self, r: &(i64, i64)) -> String {
        if self.counts {
            format!("topic: t partition: 0 offsets: {} to {}", r.0, r.1)
        } else {
            format!("{r:?}")
        }
    }
}

/// Records each batch's output held.
fn held<T>(out: &Out<T>) -> Vec<u64> {
    out.lock().iter().map(|(_, v)| v.len() as u64).collect()
}

fn blocks(id: usize, sizes: &[(u64, u64)]) -> InputSource {
    InputSource::Blocks(
        sizes
            .iter()
            .map(|&(seq, records)| ReceivedBlock {
                block: format!("input-{id}-{seq}"),
                records,
                error: None,
                wal: None,
                location: None,
            })
            .collect(),
    )
}

fn info(num_records: u64, source: InputSource) -> InputInfo {
    InputInfo {
        num_records,
        source,
    }
}

#[test]
fn every_input_kind_records_what_it_gave_each_batch() {
    let dir = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = manual_ssc();
    // Keep every batch's records in the log for the checks below.
    ssc.remember(Duration::from_secs(60)).unwrap();

    let handle = Arc::new(Mutex::new(None));
    let receiver = ssc.receiver_stream(Driven(handle.clone()));
    let files = ssc.text_file_stream(dir.path()).unwrap();
    let queue = RddQueue::new();
    let queued = ssc.queue_stream(&queue);
    let replay = ssc.replay_stream(vec![Some(vec![1u8, 2, 3, 4]), None, Some(vec![5, 6])], 2);
    let (direct, _) = ssc.direct_stream(Offsets { counts: true });
    let (counted, _) = ssc.direct_stream(Offsets { counts: false });
    let ids: Vec<usize> = [
        receiver.base(),
        files.base(),
        queued.base(),
        replay.base(),
        direct.base(),
        counted.base(),
    ]
    .iter()
    .map(|b| b.meta().id())
    .collect();
    let (rid, fid, qid, pid, did, cid) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    let outs = (
        collect(&receiver),
        collect(&files),
        collect(&queued),
        collect(&replay),
        collect(&direct),
        collect(&counted),
    );
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || handle
        .lock()
        .is_some()));
    let h = handle.lock().clone().unwrap();

    // Batch 1 (1000 ms).
    h.store_many((0..5).collect()).unwrap();
    h.store_many((5..8).collect()).unwrap();
    move_in(staging.path(), dir.path(), "a.txt", "x\ny\nz\n", Some(500));
    move_in(staging.path(), dir.path(), "b.txt", "1\r\n2", Some(600));
    queue.push(ssc.ctx().parallelize_with(vec![10, 20, 30], 2));
    queue.push(ssc.ctx().parallelize_with(Vec::<i32>::new(), 1));
    ssc.advance_batches(1).unwrap();
    // Batch 2: nothing received, an empty file, the empty queued RDD, a replay batch
    // without an RDD, nothing planned.
    move_in(staging.path(), dir.path(), "e.txt", "", Some(1500));
    ssc.advance_batches(1).unwrap();
    // Batch 3: a third block, one file, an empty queue.
    h.store_many(vec![100, 101]).unwrap();
    move_in(staging.path(), dir.path(), "c.txt", "only\n", Some(2500));
    ssc.advance_batches(1).unwrap();

    let path = |n: &str| dir.path().join(n).display().to_string();
    let file = |n: &str, lines| InputFile {
        dropped_lines: 0,
        path: path(n),
        lines,
    };
    let expected: Vec<BTreeMap<usize, InputInfo>> = vec![
        BTreeMap::from([
            (rid, info(8, blocks(rid, &[(0, 5), (1, 3)]))),
            (
                fid,
                info(
                    5,
                    InputSource::Files(vec![file("a.txt", 3), file("b.txt", 2)]),
                ),
            ),
            (qid, info(3, InputSource::Queue { rdds: 1 })),
            (
                pid,
                info(
                    4,
                    InputSource::Replay {
                        batch: 1,
                        present: true,
                    },
                ),
            ),
            (
                did,
                info(
                    1,
                    InputSource::Direct {
                        range: Some("topic: t partition: 0 offsets: 10 to 11".into()),
                    },
                ),
            ),
            (
                cid,
                info(
                    1,
                    InputSource::Direct {
                        range: Some("(10, 11)".into()),
                    },
                ),
            ),
        ]),
        BTreeMap::from([
            (rid, info(0, blocks(rid, &[]))),
            (fid, info(0, InputSource::Files(vec![file("e.txt", 0)]))),
            (qid, info(0, InputSource::Queue { rdds: 1 })),
            (
                pid,
                info(
                    0,
                    InputSource::Replay {
                        batch: 2,
                        present: false,
                    },
                ),
            ),
            (did, info(0, InputSource::Direct { range: None })),
            (cid, info(0, InputSource::Direct { range: None })),
        ]),
        BTreeMap::from([
            (rid, info(2, blocks(rid, &[(2, 2)]))),
            (fid, info(1, InputSource::Files(vec![file("c.txt", 1)]))),
            (qid, info(0, InputSource::Queue { rdds: 0 })),
            (
                pid,
                info(
                    2,
                    InputSource::Replay {
                        batch: 3,
                        present: true,
                    },
                ),
            ),
            (
                did,
                info(
                    3,
                    InputSource::Direct {
                        range: Some("topic: t partition: 0 offsets: 30 to 33".into()),
                    },
                ),
            ),
            (
                cid,
                info(
                    3,
                    InputSource::Direct {
                        range: Some("(30, 33)".into()),
                    },
                ),
            ),
        ]),
    ];
    let done = ssc.completed_batches();
    assert_eq!(done.len(), 3);
    for (k, (b, want)) in done.iter().zip(&expected).enumerate() {
        let t = Time(1000 * (k as i64 + 1));
        assert_eq!(b.batch_time, t);
        assert_eq!(&b.input_info, want, "batch {t}");
        assert_eq!(&ssc.input_tracker().for_batch(t), want, "batch {t}");
        assert_eq!(
            b.num_records,
            want.values().map(|i| i.num_records).sum::<u64>(),
            "batch {t}"
        );
    }
    assert_eq!(
        done.iter().map(|b| b.num_records).collect::<Vec<_>>(),
        vec![8 + 5 + 3 + 4 + 1 + 1, 0, 2 + 1 + 2 + 3 + 3]
    );

    // The counts are what the batches actually held.
    assert_eq!(held(&outs.0), vec![8, 0, 2]);
    assert_eq!(held(&outs.1), vec![5, 0, 1]);
    assert_eq!(held(&outs.2), vec![3, 0, 0]);
    assert_eq!(
        held(&outs.3),
        vec![4, 2],
        "the replay batch without an RDD has no output"
    );
    assert_eq!(held(&outs.4), vec![1, 0, 3]);
    assert_eq!(held(&outs.5), vec![1, 0, 3]);

    // The log, in order, and serializable as the write-ahead log will need. Inputs counted
    // as the jobs read them (the file stream, the queue, the direct stream without a
    // known count) are logged twice per batch: 0 records at generation, the count at
    // completion (but for the direct stream's batch that planned no range).
    let events = ssc.input_tracker().events();
    assert_eq!(events.len(), 18 + 3 + 3 + 2, "{events:#?}");
    let json = serde_json::to_string(&events).unwrap();
    let back: Vec<InputRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, events);
    for w in events.windows(2) {
        assert!(w[0].batch_time <= w[1].batch_time);
    }
    ssc.stop(true, false);
}

#[test]
fn the_log_forgets_batches_older_than_the_inputs_remember() {
    let ssc = manual_ssc();
    let s = ssc.replay_stream((1..=20).map(|i| Some(vec![i; i])).collect(), 1);
    let w = s.window_with(Duration::from_secs(3), Duration::from_secs(1));
    let _out = collect(&w);
    ssc.start().unwrap();
    ssc.advance_batches(20).unwrap();
    let kept: Vec<i64> = ssc
        .input_tracker()
        .events()
        .iter()
        .map(|r| r.batch_time.millis())
        .collect();
    // The replay stream remembers a window (3 s): older batches are gone from the log.
    assert!(!kept.is_empty() && kept.len() <= 5, "{kept:?}");
    assert!(kept.iter().all(|&t| t >= 20_000 - 4_000), "{kept:?}");
    assert!(ssc.input_tracker().cleaned_before().is_some());
    // Batch info still has them.
    let done = ssc.completed_batches();
    assert_eq!(done.len(), 20);
    for (k, b) in done.iter().enumerate() {
        assert_eq!(b.num_records, k as u64 + 1, "{b:?}");
    }
    ssc.stop(true, false);
}

#[test]
fn a_queue_streams_default_rdd_is_counted_when_the_queue_is_empty() {
    let ssc = manual_ssc();
    let queue = RddQueue::new();
    let s = ssc.queue_stream_with(
        &queue,
        false,
        Some(ssc.ctx().parallelize_with(vec![7, 8], 1)),
    );
    let id = s.base().meta().id();
    let out = collect(&s);
    queue.push(ssc.ctx().parallelize_with(vec![1], 1));
    queue.push(ssc.ctx().parallelize_with(vec![2, 3, 4], 2));
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    assert_eq!(held(&out), vec![4, 2]);
    let done = ssc.completed_batches();
    assert_eq!(
        done.iter()
            .map(|b| b.input_info[&id].clone())
            .collect::<Vec<_>>(),
        vec![
            info(4, InputSource::Queue { rdds: 2 }),
            info(2, InputSource::Queue { rdds: 0 })
        ]
    );
    ssc.stop(true, false);
}

#[test]
fn records_are_counted_as_jobs_read_them_and_partial_reads_are_completed() {
    let ssc = manual_ssc();
    let queue = RddQueue::new();
    let s = ssc.queue_stream(&queue);
    let id = s.base().meta().id();
    // A print reads as few partitions as it can (its take); the count is still the whole.
    let taken: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new(Vec::new()));
    let t = taken.clone();
    s.foreach_rdd(move |rdd, _| {
        t.lock().push(rdd.take(2)?.len());
        Ok(())
    });
    // A full read of another batch is counted without a second job.
    let (dir, staging) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let files = ssc.text_file_stream(dir.path()).unwrap();
    let fid = files.base().meta().id();
    let lines = collect(&files);
    queue.push(
        ssc.ctx()
            .parallelize_with((0..100).collect::<Vec<i32>>(), 5),
    );
    ssc.start().unwrap();
    move_in(staging.path(), dir.path(), "a.txt", "x\ny\nz\n", Some(500));
    ssc.advance_batches(1).unwrap();
    assert_eq!(*taken.lock(), vec![2]);
    assert_eq!(held(&lines), vec![3]);
    let b = &ssc.completed_batches()[0];
    assert_eq!(b.input_info[&id].num_records, 100);
    assert_eq!(b.input_info[&fid].num_records, 3);
    match &b.input_info[&fid].source {
        InputSource::Files(f) => assert_eq!(f[0].lines, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.num_records, 103);
    ssc.stop(true, false);
}
