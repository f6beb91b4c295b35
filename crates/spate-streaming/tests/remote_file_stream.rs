//! `text_file_stream` over a store URL: the directory is read through the storage
//! interface (`CheckpointStore::list` / `get`), as an object store is. Here the scheme
//! `remotetest://` is registered to a local directory store, so the test needs no server;
//! `spate-object-store`'s tests run the same over `memory://`. Objects there at the start
//! are old, each later one is read once, hidden names are skipped, and a restart that
//! restores the stream's checkpointed state reads only what arrived since.

mod support;

use spate_core::checkpoint_store::{self, CheckpointStore, LocalDirStore};
use support::*;

fn register() {
    checkpoint_store::register_scheme(
        "remotetest",
        Arc::new(|url: &str| {
            let path = url.trim_start_matches("remotetest://");
            Ok(Arc::new(LocalDirStore::new(path)?) as Arc<dyn CheckpointStore>)
        }),
    );
}

fn lines(out: &Out<spate_core::Str>) -> Vec<String> {
    let mut v: Vec<String> = all_records(out).iter().map(|l| l.to_string()).collect();
    v.sort();
    v
}

#[test]
fn objects_put_after_the_start_are_read_once_and_old_or_hidden_ones_never() {
    register();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("remotetest://{}", dir.path().display());
    let store = checkpoint_store::open(&url).unwrap();
    store.put("old.txt", b"old\n").unwrap();
    let ssc = manual_ssc();
    let s = ssc.text_file_stream(&url).unwrap();
    let out = collect(&s);
    store.put("a.txt", b"a1\na2\n").unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    store.put("b.txt", b"b1\r\n").unwrap();
    store.put("_tmp.txt", b"hidden\n").unwrap();
    store.put(".c.txt", b"hidden\n").unwrap();
    store.put("sub/d.txt", b"in a subdirectory\n").unwrap();
    ssc.advance_batches(2).unwrap();
    ssc.stop(false, false);
    assert_eq!(lines(&out), vec!["a1", "a2", "b1"]);
    let per_batch: Vec<usize> = out.lock().iter().map(|(_, v)| v.len()).collect();
    assert_eq!(
        per_batch,
        vec![2, 1, 0],
        "each object in the first batch that lists it"
    );
}

#[test]
fn a_recovered_stream_reads_only_what_arrived_since_its_checkpoint() {
    register();
    let dir = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    let url = format!("remotetest://{}", dir.path().display());
    let store = checkpoint_store::open(&url).unwrap();
    store.put("before.txt", b"x\n").unwrap();
    let make = |seen: Out<spate_core::Str>, clock_ms: i64| {
        let ssc = StreamingContext::with_clock(
            Context::new(local2("remote")).unwrap(),
            Duration::from_secs(1),
            Clock::manual_at(clock_ms),
        )
        .unwrap();
        ssc.checkpoint(ck.path()).unwrap();
        let o = seen.clone();
        ssc.text_file_stream(&url)
            .unwrap()
            .foreach_rdd(move |rdd, t| {
                o.lock().push((t.millis(), rdd.collect()?));
                Ok(())
            });
        ssc
    };
    let first: Out<spate_core::Str> = Default::default();
    let ssc = make(first.clone(), 0);
    store.put("one.txt", b"1\n").unwrap();
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    ssc.stop(false, true);
    assert_eq!(lines(&first), vec!["1"]);

    // Down: two objects arrive. The restarted stream restores what it read.
    store.put("two.txt", b"2\n").unwrap();
    store.put("three.txt", b"3\n").unwrap();
    let second: Out<spate_core::Str> = Default::default();
    let s2 = second.clone();
    // Restarted at 4.2 s: batches 3 and 4 were missed while down and run at once.
    let ssc = StreamingContext::get_or_create(ck.path(), move || Ok(make(s2, 4200))).unwrap();
    ssc.start().unwrap();
    ssc.advance(Duration::ZERO).unwrap();
    assert!(wait_until(Duration::from_secs(10), || second.lock().len() >= 2));
    ssc.stop(false, true);
    assert_eq!(
        lines(&second),
        vec!["2", "3"],
        "neither before.txt nor one.txt again"
    );
}

#[test]
fn an_unknown_scheme_is_an_error_naming_the_url() {
    let ssc = manual_ssc();
    let e = ssc
        .text_file_stream("nosuchscheme://bucket/in")
        .unwrap_err()
        .to_string();
    assert!(e.contains("nosuchscheme://bucket/in"), "{e}");
}
