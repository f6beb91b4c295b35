//! `ObjectStoreCheckpoints` against a real S3 server (moto, started by `scripts/test.sh`):
//! the `CheckpointStore` contract (as `LocalDirStore` keeps it), checksummed framing,
//! concurrent writers of one name, and failures that must be clear and bounded: a missing
//! bucket, a refused connection, a server that never answers.

mod support;

use spate_core::checkpoint_store::{self, CheckpointStore};
use spate_object_store::{Error, ObjectStoreCheckpoints, StoreOptions};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn put_get_list_delete_and_describe_follow_the_checkpoint_store_contract() {
    let s3 = s3();
    let prefix = unique("contract");
    let store = s3.store(&prefix);
    let names = [
        "a/b",
        "a/b/c1",
        "a/b/c2",
        "a/bb",
        "a/x",
        "a/.hidden",
        "a/b/deeper/d",
        "top",
    ];
    for n in names {
        store.put(n, n.as_bytes()).unwrap();
    }
    for n in names {
        assert_eq!(store.get(n).unwrap(), n.as_bytes(), "get {n}");
    }
    // Direct children only, objects and "directories" alike, sorted, each once, hidden
    // names left out.
    assert_eq!(store.list("a").unwrap(), ["a/b", "a/bb", "a/x"]);
    assert_eq!(store.list("a/").unwrap(), ["a/b", "a/bb", "a/x"]);
    assert_eq!(
        store.list("a/b").unwrap(),
        ["a/b/c1", "a/b/c2", "a/b/deeper"]
    );
    assert_eq!(store.list("").unwrap(), ["a", "top"]);
    assert!(store.list("nothing/here").unwrap().is_empty());
    // A put replaces the whole object.
    store.put("a/x", b"second value").unwrap();
    assert_eq!(store.get("a/x").unwrap(), b"second value");
    store.put("a/x", b"").unwrap();
    assert_eq!(store.get("a/x").unwrap(), b"");
    // delete(prefix): the object itself and everything under prefix/, not a/bb.
    store.delete("a/b").unwrap();
    assert_eq!(store.list("a").unwrap(), ["a/bb", "a/x"]);
    assert!(store.list("a/b").unwrap().is_empty());
    assert!(store.get("a/b").is_err());
    assert!(store.get("a/b/deeper/d").is_err());
    assert_eq!(store.get("a/bb").unwrap(), b"a/bb");
    // Missing is fine.
    store.delete("a/b").unwrap();
    store.delete("never/was").unwrap();
    // An object alone.
    store.delete("top").unwrap();
    assert_eq!(store.list("").unwrap(), ["a"]);
    assert_eq!(
        store.describe("a/x"),
        format!("s3://{}/{prefix}/a/x", s3.bucket)
    );
    assert_eq!(store.describe(""), format!("s3://{}/{prefix}", s3.bucket));
    // Everything under the root.
    store.delete("").unwrap();
    assert!(store.list("").unwrap().is_empty());
    assert!(store.get("a/.hidden").is_err());
}

#[test]
fn a_prefixed_view_lists_and_deletes_within_its_prefix() {
    let s3 = s3();
    let root: Arc<dyn CheckpointStore> = Arc::new(s3.store(&unique("prefixed")));
    let meta = checkpoint_store::Prefixed::new(root.clone(), "metadata");
    let data = checkpoint_store::Prefixed::new(root.clone(), "data");
    meta.put("checkpoint-2", b"2").unwrap();
    meta.put("checkpoint-1", b"1").unwrap();
    data.put("rdd-3/part-0", b"p0").unwrap();
    data.put("rdd-3/part-1", b"p1").unwrap();
    let listed: Vec<String> = meta.list("").unwrap();
    let tails: Vec<&str> = listed
        .iter()
        .map(|n| n.rsplit('/').next().unwrap_or(n))
        .collect();
    assert_eq!(tails, ["checkpoint-1", "checkpoint-2"]);
    assert_eq!(
        data.list("rdd-3").unwrap(),
        ["rdd-3/part-0", "rdd-3/part-1"]
    );
    assert_eq!(root.list("").unwrap(), ["data", "metadata"]);
    data.delete("rdd-3").unwrap();
    assert!(data.list("rdd-3").unwrap().is_empty());
    assert_eq!(meta.get("checkpoint-1").unwrap(), b"1");
}

#[test]
fn checked_objects_round_trip_and_damage_is_detected() {
    let s3 = s3();
    let store = s3.store(&unique("checked"));
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    checkpoint_store::put_checked(&store, "metadata/ck", &payload).unwrap();
    assert_eq!(
        checkpoint_store::get_checked(&store, "metadata/ck").unwrap(),
        payload
    );
    let framed = store.get("metadata/ck").unwrap();
    // One bit flipped in the payload.
    let mut flipped = framed.clone();
    let at = flipped.len() - 7;
    flipped[at] ^= 0x10;
    store.put("metadata/ck", &flipped).unwrap();
    let e = checkpoint_store::get_checked(&store, "metadata/ck").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("corrupt"), "{msg}");
    assert!(msg.contains(&store.describe("metadata/ck")), "{msg}");
    // Cut short.
    store
        .put("metadata/ck", &framed[..framed.len() / 2])
        .unwrap();
    let msg = checkpoint_store::get_checked(&store, "metadata/ck")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("torn"), "{msg}");
    // Not a spate file at all.
    store.put("metadata/ck", b"hello").unwrap();
    let msg = checkpoint_store::get_checked(&store, "metadata/ck")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not a spate checkpoint file"), "{msg}");
}

#[test]
fn a_missing_object_is_a_clear_not_found_naming_its_url() {
    let s3 = s3();
    let store = s3.store(&unique("missing"));
    match store.try_get("metadata/nope") {
        Err(Error::NotFound { url, .. }) => assert_eq!(url, store.describe("metadata/nope")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let e = store.get("metadata/nope").unwrap_err();
    assert!(
        matches!(e, spate_core::Error::Checkpoint { .. }),
        "a missing object is a checkpoint error: {e:?}"
    );
    assert!(!e.is_retryable());
    let msg = e.to_string();
    assert!(msg.contains(&store.describe("metadata/nope")), "{msg}");
    assert!(msg.contains("no such object"), "{msg}");
}

#[test]
fn concurrent_writers_of_one_name_never_show_a_reader_a_mixed_or_partial_value() {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 6;
    const SIZE: usize = 512 * 1024;
    let s3 = s3();
    let store = Arc::new(s3.store(&unique("race")));
    checkpoint_store::put_checked(store.as_ref(), "metadata/ck", &vec![0xFF; SIZE]).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (store, done, reads) = (store.clone(), done.clone(), reads.clone());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while !done.load(Ordering::SeqCst) || reads.load(Ordering::SeqCst) < 3 {
                let got = checkpoint_store::get_checked(store.as_ref(), "metadata/ck")
                    .unwrap_or_else(|e| panic!("a reader saw a damaged value: {e}"));
                assert_eq!(got.len(), SIZE);
                let first = got[0];
                assert!(
                    got.iter().all(|b| *b == first),
                    "a value mixes two writers' bytes"
                );
                seen.insert(first);
                reads.fetch_add(1, Ordering::SeqCst);
            }
            seen
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    let v = (w * ROUNDS + r) as u8;
                    checkpoint_store::put_checked(store.as_ref(), "metadata/ck", &vec![v; SIZE])
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();
    assert!(reads.load(Ordering::SeqCst) >= 3);
    assert!(!seen.is_empty());
    // The final value is one writer's whole last value.
    let last = checkpoint_store::get_checked(store.as_ref(), "metadata/ck").unwrap();
    let v = last[0] as usize;
    assert!(last.iter().all(|b| *b as usize == v));
    assert_eq!(
        v % ROUNDS,
        ROUNDS - 1,
        "the last value is some writer's last round"
    );
}

#[test]
fn a_missing_bucket_is_a_clear_error_naming_the_url_not_a_hang() {
    let s3 = s3();
    let bucket = unique("no-such-bucket").to_ascii_lowercase();
    let url = format!("s3://{bucket}/ck");
    let store = ObjectStoreCheckpoints::open_with(&url, &s3.options()).unwrap();
    let started = Instant::now();
    let put = store.put("metadata/x", b"x").unwrap_err().to_string();
    let get = store.get("metadata/x").unwrap_err().to_string();
    let list = store.list("metadata").unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    for msg in [&put, &get, &list] {
        assert!(msg.contains(&format!("s3://{bucket}/ck")), "{msg}");
    }
    for msg in [&put, &get, &list] {
        assert!(msg.contains("the bucket does not exist"), "{msg}");
    }
    assert!(matches!(
        store.try_get("metadata/x"),
        Err(Error::NoSuchBucket { .. })
    ));
    // Not worth retrying: the bucket will not appear by itself.
    assert!(!store.put("metadata/x", b"x").unwrap_err().is_retryable());
}

#[test]
fn a_refused_connection_fails_within_seconds_naming_the_url() {
    let port = closed_port();
    let url = "s3://bucket/ck";
    let options = StoreOptions::default()
        .with_config("aws_endpoint", format!("http://127.0.0.1:{port}"))
        .with_config("aws_allow_http", "true")
        .with_config("aws_region", "us-east-1")
        .with_config("aws_access_key_id", "testing")
        .with_config("aws_secret_access_key", "testing");
    let store = ObjectStoreCheckpoints::open_with(url, &options).unwrap();
    let started = Instant::now();
    let e = store.put("metadata/x", b"x").unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(
        e.is_retryable(),
        "a refused connection may be retried: {e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("s3://bucket/ck/metadata/x"), "{msg}");
    let started = Instant::now();
    let e = store.list("metadata").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(e.to_string().contains("s3://bucket/ck/metadata"), "{e}");
}

#[test]
fn a_server_that_never_answers_is_given_up_on_by_the_deadlines() {
    // Accepts connections (the kernel does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let base = StoreOptions::default()
        .with_config("aws_endpoint", &endpoint)
        .with_config("aws_allow_http", "true")
        .with_config("aws_region", "us-east-1")
        .with_config("aws_access_key_id", "testing")
        .with_config("aws_secret_access_key", "testing");
    // Request timeouts and retries.
    let store = ObjectStoreCheckpoints::open_with(
        "s3://bucket/ck",
        &base
            .clone()
            .with_timeouts(Duration::from_secs(1), Duration::from_millis(500))
            .with_retries(1, Duration::from_secs(2)),
    )
    .unwrap();
    let started = Instant::now();
    let e = store.try_get("x").unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(matches!(e, Error::Store { .. }), "{e:?}");
    // The whole-operation deadline, when requests themselves may wait long.
    let store = ObjectStoreCheckpoints::open_with(
        "s3://bucket/ck",
        &base.with_operation_timeout(Duration::from_millis(700)),
    )
    .unwrap();
    let started = Instant::now();
    let e = store.try_put("x", b"x").unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        matches!(e, Error::TimedOut { .. }),
        "expected the deadline: {e:?}"
    );
    assert!(e.to_string().contains("s3://bucket/ck/x"), "{e}");
    let core: spate_core::Error = e.into();
    assert!(core.is_retryable());
    drop(silent);
}

#[test]
fn register_makes_checkpoint_store_open_s3_urls() {
    let s3 = s3_from_env();
    spate_object_store::register();
    let url = s3.url(&unique("registered"));
    let store = checkpoint_store::open(&url).unwrap();
    checkpoint_store::put_checked(store.as_ref(), "metadata/one", b"1").unwrap();
    assert_eq!(store.list("metadata").unwrap(), ["metadata/one"]);
    assert_eq!(
        store.describe("metadata/one"),
        format!("{url}/metadata/one")
    );
    // The same URL opened again is the same directory.
    let again = checkpoint_store::open(&format!("{url}/")).unwrap();
    assert_eq!(
        checkpoint_store::get_checked(again.as_ref(), "metadata/one").unwrap(),
        b"1"
    );
    // s3a:// is the same store.
    let s3a = checkpoint_store::open(&url.replacen("s3://", "s3a://", 1)).unwrap();
    assert_eq!(s3a.list("metadata").unwrap(), ["metadata/one"]);
}

#[test]
fn the_store_works_when_called_from_inside_a_tokio_runtime() {
    let s3 = s3();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Opened, used and dropped inside an async task: no "runtime within a runtime"
        // panic, no deadlock of the single-threaded caller.
        let store = s3.store(&unique("in-runtime"));
        store.put("k", b"v").unwrap();
        assert_eq!(store.get("k").unwrap(), b"v");
        assert_eq!(store.list("").unwrap(), ["k"]);
        drop(store);
    });
}
