//! `text_file_stream` over an object store URL (`memory://`, the process's in-memory
//! object store behind the same `object_store` interface as S3): each object put after
//! the start is read once, by the first batch that lists it.

use spate_core::{checkpoint_store, Context, SpateConf};
use spate_streaming::{Clock, StreamingContext};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn objects_put_in_a_bucket_prefix_become_batches() {
    spate_object_store::register();
    let url = "memory://spate-file-stream/in";
    let store = checkpoint_store::open(url).unwrap();
    store.put("old.txt", b"old\n").unwrap();
    let ctx = Context::new(SpateConf::new().master("local[2]").unwrap()).unwrap();
    let ssc = StreamingContext::with_clock(ctx, Duration::from_secs(1), Clock::manual()).unwrap();
    let out: Arc<parking_lot::Mutex<Vec<Vec<String>>>> = Arc::default();
    let o = out.clone();
    ssc.text_file_stream(url)
        .unwrap()
        .foreach_rdd(move |rdd, _| {
            let mut lines: Vec<String> = rdd.collect()?.iter().map(|l| l.to_string()).collect();
            lines.sort();
            o.lock().push(lines);
            Ok(())
        });
    ssc.start().unwrap();
    store.put("a.json", b"{\"a\":1}\n{\"a\":2}\n").unwrap();
    ssc.advance_batches(1).unwrap();
    store.put("b.json", b"{\"b\":1}\n").unwrap();
    // A "subdirectory" (a common prefix) is not read, as Spark's file streams skip them.
    store.put("nested/c.json", b"{\"c\":1}\n").unwrap();
    ssc.advance_batches(2).unwrap();
    ssc.stop(false, false);
    assert_eq!(
        *out.lock(),
        vec![
            vec!["{\"a\":1}".to_string(), "{\"a\":2}".to_string()],
            vec!["{\"b\":1}".to_string()],
            vec![],
        ]
    );
}
