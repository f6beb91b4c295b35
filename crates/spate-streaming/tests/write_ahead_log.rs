//! The receiver write-ahead log, in one process on a manual clock: a reliable receiver
//! acknowledges records once `store_many` returned; the checkpoint directory is taken as a
//! crash would leave it — one batch processed, one generated and not completed, one more
//! block stored and in no batch — and a new run recovers with `get_or_create`. With the log,
//! every acknowledged record is processed once (the pending batch again, at its own time,
//! from the log; the block no batch had in the next batch); without it, they are lost. The
//! log's blocks are deleted once their batches are forgotten. The `kill -9` version is in
//! `wal_kill.rs`.

mod support;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use support::*;

type Source = Arc<Mutex<VecDeque<Vec<u64>>>>;

/// Takes chunks from `source`, stores each with `store_many`, and acknowledges it (adds it
/// to `acked`) only when that returned `Ok`.
struct Acking {
    source: Source,
    acked: Arc<Mutex<Vec<u64>>>,
}

impl Receiver<u64> for Acking {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        let (source, acked) = (self.source.clone(), self.acked.clone());
        std::thread::spawn(move || {
            while !h.is_stopped() {
                let chunk = source.lock().pop_front();
                match chunk {
                    Some(c) => {
                        if h.store_many(c.clone()).is_ok() {
                            acked.lock().extend(c);
                        }
                    }
                    None => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
    }
    fn on_stop(&mut self) {}
}

struct Run {
    ssc: StreamingContext,
    source: Source,
    acked: Arc<Mutex<Vec<u64>>>,
    out: Out<u64>,
}

fn program(ck: &Path, wal: bool, clock_ms: i64) -> Run {
    let source: Source = Default::default();
    let acked: Arc<Mutex<Vec<u64>>> = Default::default();
    let out: Out<u64> = Default::default();
    let (s2, a2, o2) = (source.clone(), acked.clone(), out.clone());
    let ssc = StreamingContext::get_or_create(ck, move || {
        let ssc = StreamingContext::with_clock(
            Context::new(conf(&[(
                "spate.streaming.receiver.writeAheadLog.enable",
                if wal { "true" } else { "false" },
            )]))?,
            Duration::from_secs(1),
            Clock::manual_at(clock_ms),
        )?;
        let s = ssc.receiver_stream(Acking {
            source: s2,
            acked: a2,
        });
        s.foreach_rdd(move |rdd, t| {
            o2.lock().push((t.millis(), rdd.collect()?));
            Ok(())
        });
        ssc.checkpoint(ck)?;
        Ok(ssc)
    })
    .unwrap();
    Run {
        ssc,
        source,
        acked,
        out,
    }
}

/// Feeds `ids` in chunks of 10 and waits until all are acknowledged.
fn feed(run: &Run, ids: std::ops::Range<u64>) {
    let want = run.acked.lock().len() + ids.clone().count();
    let v: Vec<u64> = ids.collect();
    for c in v.chunks(10) {
        run.source.lock().push_back(c.to_vec());
    }
    assert!(
        wait_until(Duration::from_secs(10), || run.acked.lock().len() >= want),
        "not acknowledged"
    );
}

fn wal_blocks(ck: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(ck.join("wal")) else {
        return 0;
    };
    rd.flatten()
        .map(|d| std::fs::read_dir(d.path()).map(|r| r.count()).unwrap_or(0))
        .sum()
}

/// Runs the crash scenario; returns what each batch time processed (a re-run batch's
/// output replacing the first) and what the first run acknowledged.
fn crash_and_recover(
    wal: bool,
) -> (
    BTreeMap<i64, Vec<u64>>,
    Vec<u64>,
    PathBuf,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let saved = dir.path().join("saved");
    let first = program(&ck, wal, 0);
    first.ssc.start().unwrap();
    feed(&first, 0..100);
    first.ssc.advance_batches(1).unwrap();
    feed(&first, 100..200);
    first.ssc.advance_batches(1).unwrap();
    // Stored and acknowledged, in no batch yet.
    feed(&first, 200..300);
    copy_dir(&ck, &saved);
    let acked = first.acked.lock().clone();
    let mut by_time: BTreeMap<i64, Vec<u64>> = first.out.lock().iter().cloned().collect();
    first.ssc.stop(true, false);
    // The crash: the directory as it was, less the completion of batch 2 (it was still
    // running).
    std::fs::remove_dir_all(&ck).unwrap();
    copy_dir(&saved, &ck);
    let newest = drop_newest_checkpoint(&ck);
    assert!(
        newest.to_string_lossy().ends_with("00000002000-2"),
        "{newest:?}"
    );

    let second = program(&ck, wal, 2000);
    second.ssc.start().unwrap();
    if let Err(e) = second.ssc.advance_batches(1) {
        panic!("{e}: {:?}", second.ssc.await_termination());
    }
    assert!(wait_until(Duration::from_secs(10), || second
        .out
        .lock()
        .iter()
        .any(|(t, _)| *t == 3000)));
    for (t, recs) in second.out.lock().iter() {
        by_time.insert(*t, recs.clone());
    }
    // Later batches forget the old ones: their blocks leave the log.
    if let Err(e) = second.ssc.advance_batches(4) {
        panic!(
            "{e}: {:?}",
            second.ssc.await_termination().map_err(|e| e.to_string())
        );
    }
    second.ssc.stop(true, false);
    (by_time, acked, ck, dir)
}

#[test]
fn with_the_log_every_acknowledged_record_is_processed_once_after_a_crash() {
    let (by_time, acked, ck, _dir) = crash_and_recover(true);
    let mut counted: Vec<u64> = by_time.values().flatten().copied().collect();
    counted.sort();
    let mut want = acked.clone();
    want.sort();
    assert_eq!(want, (0..300).collect::<Vec<u64>>());
    assert_eq!(counted, want, "every acknowledged record once");
    // Each at its batch: the pending batch 2 again with its own records, the block in no
    // batch with the first new batch.
    let sorted = |t: i64| {
        let mut v = by_time.get(&t).cloned().unwrap_or_default();
        v.sort();
        v
    };
    assert_eq!(sorted(1000), (0..100).collect::<Vec<u64>>());
    assert_eq!(sorted(2000), (100..200).collect::<Vec<u64>>());
    assert_eq!(sorted(3000), (200..300).collect::<Vec<u64>>());
    assert_eq!(
        wal_blocks(&ck),
        0,
        "blocks of forgotten batches left in the log"
    );
}

#[test]
fn without_the_log_the_pending_and_unallocated_records_are_lost() {
    let (by_time, _acked, _ck, _dir) = crash_and_recover(false);
    let counted: usize = by_time.values().map(|v| v.len()).sum();
    // Batch 1's records only: batch 2 ran again with nothing, and the block in no batch is
    // gone with the process.
    assert_eq!(by_time.get(&2000).map(|v| v.len()), Some(0));
    assert_eq!(counted, 100);
}

#[test]
fn the_log_needs_a_checkpoint_directory() {
    let ssc = StreamingContext::with_clock(
        Context::new(conf(&[(
            "spate.streaming.receiver.writeAheadLog.enable",
            "true",
        )]))
        .unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.receiver_stream(Acking {
        source: Default::default(),
        acked: Default::default(),
    })
    .foreach_rdd(|_, _| Ok(()));
    let err = ssc.start().expect_err("no checkpoint directory");
    assert!(err.to_string().contains("writeAheadLog"), "{err}");
}

/// `socket_text_stream` buffers lines into a block every `spate.streaming.blockInterval`:
/// with the log, the blocks cut before a crash survive it (they go to the next batch of
/// the recovered run), and the lines received since the last cut are lost with the process.
#[test]
fn a_socket_stream_with_the_log_keeps_the_blocks_cut_before_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let saved = dir.path().join("saved");
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let build = |clock_ms: i64, out: Out<String>| {
        StreamingContext::get_or_create(&ck, || {
            let ssc = StreamingContext::with_clock(
                Context::new(conf(&[
                    ("spate.streaming.receiver.writeAheadLog.enable", "true"),
                    ("spate.streaming.blockInterval", "2s"),
                ]))?,
                Duration::from_secs(2),
                Clock::manual_at(clock_ms),
            )?;
            let o = out.clone();
            ssc.socket_text_stream("127.0.0.1", port)
                .map(|l| l.to_string())
                .foreach_rdd(move |rdd, t| {
                    o.lock().push((t.millis(), rdd.collect()?));
                    Ok(())
                });
            ssc.checkpoint(&ck)?;
            Ok(ssc)
        })
        .unwrap()
    };
    let first = build(0, Default::default());
    first.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    for i in 0..10 {
        writeln!(conn, "cut {i}").unwrap();
    }
    conn.flush().unwrap();
    // The first block is cut (and logged) 2 s after the receiver started.
    assert!(wait_until(Duration::from_secs(10), || wal_blocks(&ck) == 1));
    for i in 0..5 {
        writeln!(conn, "buffered {i}").unwrap();
    }
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    copy_dir(&ck, &saved);
    first.stop(true, false);
    drop(conn);
    assert_eq!(
        wal_blocks(&saved),
        1,
        "a second block was cut: the test is not testing"
    );
    std::fs::remove_dir_all(&ck).unwrap();
    copy_dir(&saved, &ck);

    let out: Out<String> = Default::default();
    let second = build(0, out.clone());
    second.start().unwrap();
    second.advance_batches(1).unwrap();
    second.stop(true, false);
    let got: Vec<String> = out.lock().iter().flat_map(|(_, v)| v.clone()).collect();
    let want: Vec<String> = (0..10).map(|i| format!("cut {i}")).collect();
    assert_eq!(got, want);
}
