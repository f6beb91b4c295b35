//! The checkpoint storage under faults: concurrent writers of one name never leave a torn
//! file; a full disk (a real 256 KiB tmpfs) makes checkpoint writes fail clearly while
//! batches go on, leaves nothing half-written, and the previous checkpoint stays the one
//! recovery reads; a read-only or impossible directory is refused at `checkpoint(dir)`.

mod support;

use spate_core::checkpoint_store::{self, CheckpointStore, LocalDirStore};
use support::*;

fn hidden_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if e.file_type().unwrap().is_dir() {
            out.extend(hidden_files(&e.path()));
        } else if name.starts_with('.') {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[test]
fn concurrent_writers_of_one_name_leave_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalDirStore::new(dir.path()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Acquire) {
                if let Ok(bytes) = checkpoint_store::get_checked(store.as_ref(), "meta/ck") {
                    let first = bytes[0];
                    assert!(bytes.iter().all(|b| *b == first), "a mixed file");
                    assert_eq!(bytes.len(), 64 << 10);
                    reads += 1;
                }
            }
            reads
        })
    };
    let writers: Vec<_> = (0..6u8)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..40 {
                    checkpoint_store::put_checked(store.as_ref(), "meta/ck", &vec![w; 64 << 10])
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(store.list("meta").unwrap(), vec!["meta/ck".to_string()]);
    assert_eq!(hidden_files(dir.path()), Vec::<String>::new());
}

/// A stateful replay on a manual clock, checkpointing to `ck`.
fn stateful(ck: &Path) -> StreamingContext {
    let ssc = StreamingContext::with_clock(
        Context::new(conf(&[])).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.replay_stream((0..30).map(|k| Some(vec![k % 7])).collect(), 2)
        .map(|k: i32| (k, 1u64))
        .update_state_by_key(|vs: Vec<u64>, s: Option<u64>| Some(s.unwrap_or(0) + vs.len() as u64))
        .foreach_rdd(|rdd, _| {
            rdd.count()?;
            Ok(())
        });
    ssc.checkpoint(ck).unwrap();
    ssc
}

#[test]
fn a_full_disk_fails_checkpoint_writes_clearly_and_keeps_the_last_good_one() {
    let Some(fs) = Tmpfs::mount("256k") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let ck = fs.0.join("ck");
    let ssc = stateful(&ck);
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    let good = ssc.latest_checkpoint().unwrap().unwrap();
    assert_eq!((good.time_ms, good.completed), (3000, true));
    // The store itself says what failed and where.
    let filler = fs.fill();
    let store = LocalDirStore::new(&ck).unwrap();
    let err = store.put("x", &vec![1u8; 100_000]).unwrap_err().to_string();
    assert!(err.contains(&*ck.display().to_string()), "{err}");
    assert!(err.to_lowercase().contains("space"), "{err}");
    // Batches go on; their checkpoints are not written.
    ssc.advance_batches(3).unwrap();
    assert_eq!(ssc.completed_batches().len(), 6);
    let still = ssc.latest_checkpoint().unwrap().unwrap();
    assert_eq!(still.time_ms, 3000, "a newer checkpoint on a full disk?");
    assert_eq!(
        hidden_files(&ck),
        Vec::<String>::new(),
        "half-written files left"
    );
    // Space again: checkpoints resume.
    std::fs::remove_file(filler).unwrap();
    ssc.advance_batches(1).unwrap();
    assert_eq!(ssc.latest_checkpoint().unwrap().unwrap().time_ms, 7000);
    ssc.stop(true, false);
}

#[test]
fn a_read_only_or_impossible_directory_is_refused_at_checkpoint() {
    let ssc = StreamingContext::with_clock(
        Context::new(conf(&[])).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    // Under a regular file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let e = ssc.checkpoint(file.join("ck")).unwrap_err().to_string();
    assert!(e.contains("plain"), "{e}");
    // Read-only (a tmpfs remounted so; root cannot write there either).
    if let Some(fs) = Tmpfs::mount("64k") {
        std::fs::create_dir_all(fs.0.join("ck")).unwrap();
        fs.remount_read_only();
        let e = ssc.checkpoint(fs.0.join("ck")).unwrap_err().to_string();
        assert!(
            e.contains("cannot be written") && e.to_lowercase().contains("read-only"),
            "{e}"
        );
    } else {
        eprintln!("SKIPPED (read-only part): cannot mount a tmpfs here (needs root)");
    }
}
