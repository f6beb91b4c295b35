//! Reliable receivers: a block that cannot be put in the block store is reported to the
//! receiver (the `store` result), to listeners (`on_receiver_error`) and to the application
//! (the batch it belonged to fails, and so `advance` and `await_termination`), never only
//! logged.
//!
//! The block store's scratch directory (`spate.local.dir`) is made unwritable after the
//! context starts: the directory is replaced by a plain file, so creating or writing
//! anything under it fails (as a full disk would), and the memory budget
//! (`spate.memory.storageBytes`) is far smaller than a block, so receiver blocks
//! (`MEMORY_AND_DISK`) must go to disk.

mod support;

use support::*;

/// Scratch directories: the configured one, and the context's own inside it.
struct Scratch {
    _root: tempfile::TempDir,
}

/// A manual-clock context whose block store holds 1 KiB in memory and cannot write to
/// disk (when `broken`).
fn context(broken: bool) -> (StreamingContext, Scratch) {
    let root = tempfile::tempdir().unwrap();
    let conf = conf(&[
        ("spate.memory.storageBytes", "1k"),
        ("spate.local.dir", root.path().to_str().unwrap()),
    ]);
    let ssc = StreamingContext::with_clock(
        Context::new(conf).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    if broken {
        let dir = ssc.ctx().block_store().dir().to_path_buf();
        assert!(dir.starts_with(root.path()), "{}", dir.display());
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::write(&dir, b"not a directory").unwrap();
    }
    (ssc, Scratch { _root: root })
}

/// What the receiver saw.
type Seen = Arc<Mutex<Vec<std::result::Result<(), String>>>>;

/// Stores `records` with `store_many` (acknowledging only on `Ok`), then one more record
/// with `store`, noting each result.
struct Reliable {
    records: Vec<u64>,
    seen: Seen,
    acked: Arc<AtomicUsize>,
    errors: Arc<Mutex<Vec<Error>>>,
}

impl Receiver<u64> for Reliable {
    fn name(&self) -> String {
        "reliable".into()
    }
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        let (records, seen, acked, errors) = (
            std::mem::take(&mut self.records),
            self.seen.clone(),
            self.acked.clone(),
            self.errors.clone(),
        );
        std::thread::spawn(move || {
            let n = records.len();
            let r = h.store_many(records);
            if r.is_ok() {
                acked.fetch_add(n, Ordering::SeqCst);
            }
            seen.lock()
                .push(r.as_ref().map_err(|e| e.to_string()).copied());
            if let Err(e) = r {
                errors.lock().push(e);
            }
            let r = h.store(7);
            seen.lock()
                .push(r.as_ref().map_err(|e| e.to_string()).copied());
            if let Err(e) = r {
                errors.lock().push(e);
            }
        });
    }
    fn on_stop(&mut self) {}
}

fn reliable(records: Vec<u64>) -> (Reliable, Seen, Arc<AtomicUsize>, Arc<Mutex<Vec<Error>>>) {
    let seen: Seen = Arc::default();
    let acked = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    (
        Reliable {
            records,
            seen: seen.clone(),
            acked: acked.clone(),
            errors: errors.clone(),
        },
        seen,
        acked,
        errors,
    )
}

#[test]
fn a_block_that_cannot_be_stored_is_reported_to_the_receiver_the_listeners_and_the_application() {
    let (ssc, _scratch) = context(true);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let (receiver, seen, acked, errors) = reliable((0..1000).collect());
    let stream = ssc.receiver_stream(receiver);
    let id = stream.base().meta().id();
    let out = collect(&stream);
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || seen.lock().len() == 2));

    // The receiver: store_many returned the error (so nothing was acknowledged), and the
    // next store was refused because of it.
    assert_eq!(acked.load(Ordering::SeqCst), 0);
    let seen = seen.lock().clone();
    let block = format!("input-{id}-0");
    for r in &seen {
        let e = r.as_ref().unwrap_err();
        assert!(
            e.contains(&block) && e.contains("1000 record(s)") && e.contains("could not be stored"),
            "{e}"
        );
        assert!(e.contains("i/o on"), "the cause is named: {e}");
    }
    for e in errors.lock().iter() {
        match e {
            Error::BlockNotStored {
                stream,
                receiver,
                block: b,
                records,
                cause,
                ..
            } => {
                assert_eq!(
                    (*stream, receiver.as_str(), b.as_str()),
                    (id, "reliable", block.as_str())
                );
                assert_eq!(*records, 1000);
                assert!(cause.is_some());
                assert!(
                    std::error::Error::source(e).is_some(),
                    "the cause is the source"
                );
            }
            other => panic!("unexpected error {other}"),
        }
    }

    // The application: the batch runs without the block that was not stored (as in
    // Spark, it never reached the block tracker), and `await_termination` reports the
    // block, naming it and the cause.
    ssc.advance_batches(1).unwrap();
    assert!(
        out.lock().iter().all(|(_, recs)| recs.is_empty()),
        "no record of the refused block reached the batch: {:?}",
        out.lock()
    );
    let e = ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&block) && e.contains("could not be stored") && e.contains("i/o on"),
        "{e}"
    );
    // The batch's input info lists the lost block; its records are not counted.
    let info = ssc.input_tracker().for_batch(Time(1000));
    let lost = info[&id].lost_blocks();
    assert_eq!(lost.len(), 1, "{info:?}");
    assert_eq!(
        (lost[0].block.as_str(), lost[0].records),
        (block.as_str(), 1000)
    );
    assert_eq!(info[&id].num_records, 0);

    // The listeners (delivered by the time advance returned).
    let errs = events.with_prefix("receiver error");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains(&block)
            && errs[0].contains("could not be stored")
            && errs[0].contains("i/o on"),
        "{errs:?}"
    );
    ssc.stop(true, false);
}

/// Stores records one at a time until `store` refuses one, noting the error.
struct OneByOne {
    refused: Arc<Mutex<Option<(u64, Error)>>>,
}

impl Receiver<u64> for OneByOne {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        let refused = self.refused.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut i = 0;
            while Instant::now() < deadline && !h.is_stopped() {
                if let Err(e) = h.store(i) {
                    *refused.lock() = Some((i, e));
                    return;
                }
                i += 1;
                if i % 100 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
    }
    fn on_stop(&mut self) {}
}

#[test]
fn buffered_records_whose_block_fails_make_the_next_store_fail_and_the_application_hear_of_it() {
    let (ssc, _scratch) = context(true);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let refused = Arc::new(Mutex::new(None));
    let stream = ssc.receiver_stream(OneByOne {
        refused: refused.clone(),
    });
    let id = stream.base().meta().id();
    let _out = collect(&stream);
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(6), || refused
        .lock()
        .is_some()));
    let (at, e) = refused.lock().take().unwrap();
    assert!(at > 0, "records before the failed block were accepted");
    assert!(
        matches!(&e, Error::BlockNotStored { stream, .. } if *stream == id),
        "{e}"
    );
    let block = format!("input-{id}-0");
    assert!(e.to_string().contains(&block), "{e}");
    ssc.advance_batches(1).unwrap();
    let e = ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains(&block) && e.contains("i/o on"), "{e}");
    assert!(events
        .with_prefix("receiver error")
        .iter()
        .any(|m| m.contains(&block)));
    ssc.stop(true, false);
}

#[test]
fn control_a_writable_scratch_directory_stores_the_block_before_store_many_returns() {
    let (ssc, _scratch) = context(false);
    let (receiver, seen, acked, _errors) = reliable((0..1000).collect());
    let stream = ssc.receiver_stream(receiver);
    let id = stream.base().meta().id();
    let out = collect(&stream);
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || seen.lock().len() == 2));
    assert_eq!(*seen.lock(), vec![Ok(()), Ok(())]);
    // Acknowledged only once the block was in the store (here: on disk, as it does not fit
    // the 1 KiB memory budget).
    assert_eq!(acked.load(Ordering::SeqCst), 1000);
    assert_eq!(
        ssc.ctx()
            .block_store()
            .location(spate_core::storage::BlockId::Input { stream: id, seq: 0 }),
        Some("disk")
    );
    std::thread::sleep(Duration::from_millis(100));
    ssc.advance_batches(1).unwrap();
    assert_eq!(all_records(&out).len(), 1001);
    assert_eq!(ssc.completed_batches()[0].num_records, 1001);
    ssc.stop(true, false);
}

#[test]
fn stores_after_the_receiver_stopped_are_refused() {
    let handle: Arc<Mutex<Option<ReceiverHandle<u64>>>> = Arc::default();
    struct Keep(Arc<Mutex<Option<ReceiverHandle<u64>>>>);
    impl Receiver<u64> for Keep {
        fn on_start(&mut self, h: ReceiverHandle<u64>) {
            *self.0.lock() = Some(h);
        }
        fn on_stop(&mut self) {}
    }
    let ssc = manual_ssc();
    let _out = collect(&ssc.receiver_stream(Keep(handle.clone())));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || handle
        .lock()
        .is_some()));
    let h = handle.lock().clone().unwrap();
    h.store(1).unwrap();
    ssc.stop(true, false);
    assert!(matches!(h.store(2), Err(Error::ReceiverStopped { .. })));
    assert!(matches!(
        h.store_many(vec![3]),
        Err(Error::ReceiverStopped { .. })
    ));
}

/// A small tmpfs mounted for one test (root only; `None` where mounting is not allowed).
/// Stores one block of `per_block` records each time it is told to, and says how it went.
struct Filler {
    per_block: u64,
    go: Option<std::sync::mpsc::Receiver<u64>>,
    done: std::sync::mpsc::Sender<std::result::Result<(), Error>>,
}

impl Receiver<u64> for Filler {
    fn name(&self) -> String {
        "filler".into()
    }
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        let (n, go, done) = (self.per_block, self.go.take(), self.done.clone());
        let Some(go) = go else { return };
        std::thread::spawn(move || {
            while let Ok(b) = go.recv() {
                let r = h.store_many((b * n..(b + 1) * n).collect());
                if done.send(r).is_err() {
                    break;
                }
            }
        });
    }
    fn on_stop(&mut self) {}
}

/// A context whose scratch directory is a 1 MiB tmpfs and whose memory budget is 64 KiB,
/// so receiver blocks spill to the tmpfs until it is full; a `Filler` receiver told to
/// store a block of 20,000 records each time `go` gets a number, reporting on `done`, and
/// an output counting every batch's records into `counted`. `None` where a tmpfs cannot
/// be mounted (not root).
struct FullDisk {
    ssc: StreamingContext,
    go: std::sync::mpsc::Sender<u64>,
    done: std::sync::mpsc::Receiver<std::result::Result<(), Error>>,
    counted: Arc<AtomicUsize>,
    _fs: Tmpfs,
}

impl FullDisk {
    const PER_BLOCK: usize = 20_000;

    fn new() -> Option<FullDisk> {
        let Some(fs) = Tmpfs::mount("1m") else {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return None;
        };
        let conf = conf(&[
            ("spate.memory.storageBytes", "64k"),
            ("spate.local.dir", fs.0.to_str().unwrap()),
        ]);
        let ssc = StreamingContext::with_clock(
            Context::new(conf).unwrap(),
            Duration::from_secs(1),
            Clock::manual(),
        )
        .unwrap();
        let (go, go_rx) = std::sync::mpsc::channel();
        let (done_tx, done) = std::sync::mpsc::channel();
        let s = ssc.receiver_stream(Filler {
            per_block: Self::PER_BLOCK as u64,
            go: Some(go_rx),
            done: done_tx,
        });
        let counted = Arc::new(AtomicUsize::new(0));
        let c = counted.clone();
        s.foreach_rdd(move |rdd, _| {
            c.fetch_add(rdd.count()? as usize, Ordering::SeqCst);
            Ok(())
        });
        Some(FullDisk {
            ssc,
            go,
            done,
            counted,
            _fs: fs,
        })
    }

    /// Has block `b` stored; whether it was accepted.
    fn store(&self, b: u64) -> std::result::Result<(), Error> {
        self.go.send(b).unwrap();
        self.done.recv_timeout(Duration::from_secs(10)).unwrap()
    }
}

#[test]
fn on_a_full_disk_every_accepted_record_is_counted_and_the_refused_block_is_reported() {
    // One block per batch (the next test puts them all in one batch).
    let Some(disk) = FullDisk::new() else { return };
    let ssc = &disk.ssc;
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    // Blocks of remembered batches stay on the disk, so it fills up.
    ssc.remember(Duration::from_secs(600)).unwrap();
    ssc.start().unwrap();
    let (mut accepted, mut refused, mut failed_batches) = (0usize, None, 0);
    for b in 0..200u64 {
        let r = disk.store(b);
        let ok = r.is_ok();
        match r {
            Ok(()) => accepted += FullDisk::PER_BLOCK,
            Err(e) => refused = Some(e.to_string()),
        }
        if ssc.advance_batches(1).is_err() {
            failed_batches += 1;
        }
        if !ok {
            break;
        }
    }
    ssc.stop(true, false);
    let refused = refused.expect("the disk never filled up");
    assert!(refused.contains("could not be stored"), "{refused}");
    assert!(accepted > 0, "nothing was accepted before the disk filled");
    // Nothing accepted is lost: every record whose store returned Ok was counted, and no
    // batch failed; the refused block is reported to the application.
    assert_eq!(disk.counted.load(Ordering::SeqCst), accepted);
    assert_eq!(failed_batches, 0);
    let e = ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("could not be stored"), "{e}");
    assert_eq!(
        events.with_prefix("receiver error").len(),
        1,
        "{:?}",
        events.0.lock()
    );
}

#[test]
fn on_a_full_disk_a_refused_block_does_not_take_the_accepted_blocks_of_its_batch_with_it() {
    let Some(disk) = FullDisk::new() else { return };
    let ssc = &disk.ssc;
    ssc.start().unwrap();
    // Every block before the batch runs: the accepted ones and the refused one share it.
    let mut accepted = 0usize;
    let mut refused = false;
    for b in 0..200u64 {
        if disk.store(b).is_ok() {
            accepted += FullDisk::PER_BLOCK;
        } else {
            refused = true;
            break;
        }
    }
    assert!(refused, "the disk never filled up");
    assert!(accepted > FullDisk::PER_BLOCK, "{accepted}");
    ssc.advance_batches(1).unwrap();
    ssc.stop(true, false);
    assert_eq!(disk.counted.load(Ordering::SeqCst), accepted);
    let e = ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("could not be stored"), "{e}");
}
