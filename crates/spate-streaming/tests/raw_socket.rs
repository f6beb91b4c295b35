//! Spark's `rawSocketStream`: length-prefixed frames of encoded records, on the system
//! clock against a real TCP server; a corrupt or oversized frame restarts the receiver
//! with an error naming the frame, and the records of the good frames are all kept. Also
//! `ReceiverHandle::restart_with`: the error's causes in the reason, and its own delay.

mod support;

use spate_streaming::input::encode_raw_frame;
use support::*;

#[test]
fn frames_of_records_arrive_whole_and_a_bad_frame_restarts_naming_it() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // Connection 1: two good frames, then a frame that does not decode.
        let (mut c, _) = l.accept().unwrap();
        let a: Vec<(String, i64)> = (0..1000).map(|i| (format!("k{}", i % 7), i)).collect();
        c.write_all(&encode_raw_frame(&a).unwrap()).unwrap();
        let b = vec![("x".to_string(), -1i64)];
        c.write_all(&encode_raw_frame(&b).unwrap()).unwrap();
        c.write_all(&[0, 0, 0, 3, 0xff, 0xff, 0xff]).unwrap();
        c.flush().unwrap();
        // Connection 2 (after the restart): a frame claiming 4 GiB, never allocated.
        let (mut c, _) = l.accept().unwrap();
        c.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
        c.flush().unwrap();
        // Connection 3: one more good frame, then a frame cut by the close.
        let (mut c, _) = l.accept().unwrap();
        let d = vec![("last".to_string(), 42i64)];
        c.write_all(&encode_raw_frame(&d).unwrap()).unwrap();
        let cut = encode_raw_frame(&d).unwrap();
        c.write_all(&cut[..cut.len() - 2]).unwrap();
        c.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    });
    let ssc = system_ssc(100, &[("spate.streaming.receiverRestartDelay", "100ms")]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let out = collect(&ssc.raw_socket_stream::<(String, i64)>("127.0.0.1", port));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(10), || all_records(&out)
        .len()
        >= 1002));
    server.join().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    ssc.stop(true, true);
    let mut got = all_records(&out);
    got.sort();
    let mut want: Vec<(String, i64)> = (0..1000).map(|i| (format!("k{}", i % 7), i)).collect();
    want.push(("x".into(), -1));
    want.push(("last".into(), 42));
    want.sort();
    assert_eq!(got, want, "every record of every whole frame, once");
    let stops = events.with_prefix("receiver stopped");
    assert!(
        stops.iter().any(|e| e.contains("raw frame 2 at byte")),
        "the undecodable frame is named: {stops:?}"
    );
    assert!(
        stops
            .iter()
            .any(|e| e.contains("raw frame 0 at byte 0: 4294967295 bytes")),
        "the oversized frame is named: {stops:?}"
    );
}

/// Fails its first run with an error that has a cause, asking for a restart after 50 ms
/// (the configured delay is 10 s); stores one record per run.
struct Flaky {
    runs: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct Outer(std::io::Error);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reading the feed failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Receiver<u64> for Flaky {
    fn on_start(&mut self, handle: ReceiverHandle<u64>) {
        let run = self.runs.fetch_add(1, Ordering::SeqCst);
        std::thread::spawn(move || {
            handle.store_many(vec![run as u64]).unwrap();
            if run == 0 {
                let e = Outer(std::io::Error::other("connection reset by peer"));
                handle.restart_with("feed lost", Some(&e), Some(Duration::from_millis(50)));
            }
        });
    }
    fn on_stop(&mut self) {}
}

#[test]
fn restart_with_keeps_the_causes_and_uses_its_own_delay() {
    let ssc = system_ssc(100, &[("spate.streaming.receiverRestartDelay", "10s")]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let out = collect(&ssc.receiver_stream(Flaky { runs: runs.clone() }));
    ssc.start().unwrap();
    // Restarted well before the configured 10 s.
    assert!(wait_until(Duration::from_secs(3), || all_records(&out)
        .len()
        >= 2));
    ssc.stop(false, false);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let stops = events.with_prefix("receiver stopped");
    assert!(
        stops
            .iter()
            .any(|e| e.contains("feed lost: reading the feed failed: connection reset by peer")),
        "{stops:?}"
    );
}
