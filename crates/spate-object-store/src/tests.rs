//! Unit tests on `memory://` (no server needed); the S3 tests are in `tests/`.

use crate::{Error, ObjectStoreCheckpoints, StoreOptions};
use spate_core::checkpoint_store::{self, CheckpointStore};

fn unique(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("memory:///{name}-{}", N.fetch_add(1, Ordering::Relaxed))
}

#[test]
fn memory_urls_follow_the_checkpoint_store_contract() {
    let url = unique("contract");
    let s = ObjectStoreCheckpoints::open(&url).unwrap();
    for n in ["d/a", "d/b/x", "d/b/y/z", "d/.tmp", "d/bc", "d/b"] {
        s.put(n, n.as_bytes()).unwrap();
    }
    // Sorted, each once (d/b is an object and a prefix), hidden names left out.
    assert_eq!(s.list("d").unwrap(), ["d/a", "d/b", "d/bc"]);
    assert_eq!(s.list("d/b").unwrap(), ["d/b/x", "d/b/y"]);
    assert_eq!(s.list("").unwrap(), ["d"]);
    s.delete("d/b").unwrap();
    assert_eq!(s.list("d").unwrap(), ["d/a", "d/bc"]);
    assert!(matches!(s.try_get("d/b/x"), Err(Error::NotFound { .. })));
    s.delete("d/b").unwrap();
    assert_eq!(s.describe("d/a"), format!("{url}/d/a"));
}

#[test]
fn every_memory_url_of_one_path_is_the_same_directory_in_this_process() {
    let url = unique("shared");
    let first = ObjectStoreCheckpoints::open(&url).unwrap();
    checkpoint_store::put_checked(&first, "metadata/ck", b"state").unwrap();
    drop(first);
    let again = ObjectStoreCheckpoints::open(&format!("{url}/")).unwrap();
    assert_eq!(
        checkpoint_store::get_checked(&again, "metadata/ck").unwrap(),
        b"state"
    );
    // memory://a/b is memory:///a/b.
    let path = url.trim_start_matches("memory:///");
    let two_slashes = ObjectStoreCheckpoints::open(&format!("memory://{path}")).unwrap();
    assert_eq!(two_slashes.list("metadata").unwrap(), ["metadata/ck"]);
}

#[test]
fn register_opens_memory_urls_through_checkpoint_store_open() {
    crate::register();
    let url = unique("registered");
    let s = checkpoint_store::open(&url).unwrap();
    s.put("x", b"1").unwrap();
    assert_eq!(s.describe("x"), format!("{url}/x"));
    assert_eq!(
        checkpoint_store::open(&url).unwrap().get("x").unwrap(),
        b"1"
    );
}

#[test]
fn bad_urls_names_and_options_are_errors_naming_what_is_wrong() {
    for url in ["s3://", "s3:///no-bucket", "ftp://host/path", "not a url"] {
        match ObjectStoreCheckpoints::open(url) {
            Err(e @ Error::Url { .. }) => assert!(e.to_string().starts_with(url), "{e}"),
            other => panic!("{url}: expected a URL error, got {other:?}"),
        }
    }
    let e = ObjectStoreCheckpoints::open_with(
        "s3://bucket/p",
        &StoreOptions::default().with_config("no_such_option", "1"),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Configure { .. }), "{e:?}");
    assert!(e.to_string().contains("no_such_option"), "{e}");
    let s = ObjectStoreCheckpoints::open(&unique("names")).unwrap();
    for bad in ["a//b", "a/../b"] {
        let e = s.try_put(bad, b"x").unwrap_err();
        assert!(matches!(e, Error::Name { .. }), "{bad}: {e:?}");
        let core: spate_core::Error = e.into();
        assert!(!core.is_retryable());
        let msg = core.to_string();
        assert!(msg.contains(&format!("{bad:?}")), "{msg}");
        // The URL once, not twice.
        assert_eq!(msg.matches(&s.describe("")).count(), 1, "{msg}");
    }
}
