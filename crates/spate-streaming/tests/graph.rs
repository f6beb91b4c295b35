//! The DStream graph as data: described by stable ids, restored into the graph a later
//! run of the same program builds (adopting its zero time), and refused, naming the
//! difference, when the program built another graph.

mod support;

use parking_lot::Mutex;
use spate_core::Context;
use spate_streaming::*;
use std::sync::Arc;
use std::time::Duration;

/// The program: a replayed input, a 2 s window sliding 2 s, and its counts collected with
/// their batch times. `window_s` lets a test change the program.
fn program(ssc: &StreamingContext, window_s: u64) -> Arc<Mutex<Vec<(i64, Vec<(i32, i64)>)>>> {
    let input = ssc.replay_stream((0..8).map(|b| Some(vec![b % 3, 7])).collect(), 2);
    let counts = input
        .window_with(Duration::from_secs(window_s), Duration::from_secs(2))
        .count_by_value_with(1usize);
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    counts.foreach_rdd(move |rdd, t| {
        let mut v = rdd.collect()?;
        v.sort();
        o.lock().push((t.0, v));
        Ok(())
    });
    out
}

fn manual_at(ms: i64) -> StreamingContext {
    StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual_at(ms),
    )
    .unwrap()
}

#[test]
fn a_described_graph_restores_into_the_same_program_with_its_zero_time() {
    let first = manual_at(0);
    let _ = program(&first, 2);
    first.start().unwrap();
    first.advance_batches(2).unwrap();
    let desc = first.describe_graph();
    first.stop(true, false);
    assert_eq!(desc.batch_ms, 1000);
    assert_eq!(desc.zero_ms, Some(0));
    assert_eq!(desc.outputs.len(), 1);
    assert_eq!(desc.outputs[0].name, "foreach_rdd");
    let ops: Vec<&str> = desc.streams.iter().map(|s| s.operation.as_str()).collect();
    assert!(
        ops.contains(&"window") && ops.contains(&"replay_stream"),
        "{ops:?}"
    );
    // It is data: it survives a round trip through a file format.
    let json = serde_json::to_string(&desc).unwrap();
    let back: GraphDescription = serde_json::from_str(&json).unwrap();
    assert_eq!(back, desc);

    // A later run of the same program, started at 3 s: without the description its zero
    // time would be 3 s and its 2 s windows would end at odd seconds.
    let fresh = manual_at(3000);
    let out = program(&fresh, 2);
    fresh.start().unwrap();
    fresh.advance_batches(2).unwrap();
    let unrestored: Vec<i64> = out.lock().iter().map(|(t, _)| *t).collect();
    fresh.stop(true, false);
    assert_eq!(unrestored, vec![5000]);

    let again = manual_at(3000);
    let out = program(&again, 2);
    again.restore_graph(&back).unwrap();
    again.start().unwrap();
    again.advance_batches(2).unwrap();
    let restored: Vec<i64> = out.lock().iter().map(|(t, _)| *t).collect();
    assert_eq!(again.describe_graph().zero_ms, Some(0));
    again.stop(true, false);
    // Zero time 0 again: windows end at even seconds (the batches since 0 run first, as
    // the batches of a driver's down time do in Spark).
    assert!(!restored.is_empty());
    assert!(restored.iter().all(|t| t % 2000 == 0), "{restored:?}");
}

#[test]
fn a_different_program_is_refused_naming_the_difference() {
    let first = manual_at(0);
    let _ = program(&first, 2);
    let desc = first.describe_graph();

    let other = manual_at(0);
    let _ = program(&other, 4);
    let e = other.restore_graph(&desc).unwrap_err();
    assert!(matches!(e, Error::GraphMismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("window") && msg.contains("slide"), "{msg}");
    // Nothing was adopted: the context still starts on its own.
    other.start().unwrap();
    other.stop(true, false);

    // A stream and an output added after the others: the program goes on (an upgrade).
    let longer = manual_at(0);
    let _ = program(&longer, 2);
    let extra = longer.replay_stream(vec![Some(vec![1])], 1);
    extra.foreach_rdd(|_, _| Ok(()));
    let ids = longer.restore_graph(&desc).unwrap();
    assert_eq!(
        ids.len(),
        desc.streams.len(),
        "every old stream found: {ids:?}"
    );
    assert!(ids.iter().all(|(old, new)| old == new));

    let started = manual_at(0);
    let _ = program(&started, 2);
    started.start().unwrap();
    assert!(started.restore_graph(&desc).is_err());
    started.stop(true, false);
}
