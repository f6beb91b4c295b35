//! Socket sources on the system clock: a server that never sends, one whose accept queue is
//! full and a port nobody listens on (stop stays prompt, reconnects are paced), a huge line
//! cut by a disconnect, a partial line at a graceful stop (both dropped), a line over
//! `spate.streaming.maxLineBytes`, non-UTF-8 bytes and
//! many lines in one write, and a custom decoder's error, which restarts the receiver and
//! keeps what it stored.

mod support;

use support::*;

/// A server that accepts connections and never sends; keeps them open until dropped.
struct SilentServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !s.load(Ordering::SeqCst) {
                if let Ok((c, _)) = l.accept() {
                    conns.push(c);
                    a.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        SilentServer {
            port,
            accepted,
            stop,
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn stop_returns_promptly_with_a_server_that_never_sends() {
    let server = SilentServer::start();
    let ssc = system_ssc(100, &[]);
    let _out = collect(&ssc.socket_text_stream("127.0.0.1", server.port));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(2), || server
        .accepted
        .load(Ordering::SeqCst)
        >= 1));
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert!(
        within(Duration::from_secs(4), move || ssc.stop(true, true)).is_some(),
        "graceful stop hangs"
    );
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn stop_right_after_start_with_a_server_that_never_sends() {
    for _ in 0..3 {
        let server = SilentServer::start();
        let ssc = system_ssc(100, &[]);
        let _out = collect(&ssc.socket_text_stream("127.0.0.1", server.port));
        ssc.start().unwrap();
        let t = Instant::now();
        assert!(
            within(Duration::from_secs(4), move || ssc.stop(true, false)).is_some(),
            "stop hangs (connections accepted: {})",
            server.accepted.load(Ordering::SeqCst)
        );
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{:?}",
            t.elapsed()
        );
    }
}

/// Issue 7 item 3 (disconnect): a 4 MB line cut by the server closing the connection is
/// not a record (Spark drops it too); the complete line before it is.
#[test]
fn a_line_cut_by_a_disconnect_is_not_a_record() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let size = 4 << 20;
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"first\n").unwrap();
        c.write_all(&vec![b'x'; size]).unwrap();
        drop(c);
        // Keep the listener busy with nothing else.
        std::thread::sleep(Duration::from_millis(500));
    });
    let ssc = system_ssc(100, &[]);
    let lens = Arc::new(Mutex::new(Vec::new()));
    let l2 = lens.clone();
    ssc.socket_text_stream("127.0.0.1", port)
        .foreach_rdd(move |rdd, _| {
            l2.lock().extend(rdd.map(|s| s.len()).collect()?);
            Ok(())
        });
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(4), || !lens
        .lock()
        .is_empty()));
    server.join().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    ssc.stop(true, true);
    assert_eq!(*lens.lock(), [5]);
}

/// Issue 7 item 3 (graceful stop): a 100 KB line of which 60 KB had arrived when the
/// context stopped gracefully is not a record; the complete lines before it are.
#[test]
fn graceful_stop_drops_a_partial_line_from_an_open_connection() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"a\nb\n").unwrap();
        c.write_all(&vec![b'y'; 60_000]).unwrap();
        c.flush().unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(2), || all_records(&out)
        .len()
        >= 2));
    std::thread::sleep(Duration::from_millis(100));
    ssc.stop(true, true);
    assert_eq!(all_records(&out), vec!["a", "b"]);
    server.join().unwrap();
}

/// Issue 7 item 12 (sockets): with `spate.streaming.maxLineBytes` = 100, a line of 101
/// bytes is dropped and reported in a receiver error event counting it; lines of 100
/// bytes and shorter arrive.
#[test]
fn a_socket_line_over_max_line_bytes_is_dropped_and_reported() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut text = String::from("short\n");
        text.push_str(&"o".repeat(101));
        text.push('\n');
        text.push_str(&"k".repeat(100));
        text.push_str("\nlast\n");
        c.write_all(text.as_bytes()).unwrap();
        c.flush().unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let ssc = system_ssc(100, &[("spate.streaming.maxLineBytes", "100")]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(3), || all_records(&out)
        .len()
        >= 3));
    std::thread::sleep(Duration::from_millis(100));
    ssc.stop(true, true);
    let got: Vec<String> = all_records(&out).iter().map(|s| s.to_string()).collect();
    assert_eq!(
        got,
        vec!["short".to_string(), "k".repeat(100), "last".to_string()]
    );
    let errors = events.with_prefix("receiver error");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("101 bytes") && e.contains("1 line(s) dropped")),
        "{errors:?}"
    );
    server.join().unwrap();
}

#[test]
fn nobody_listening_retries_slowly_and_stop_is_prompt() {
    // A port nobody listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ssc = system_ssc(100, &[("spate.streaming.receiverRestartDelay", "200ms")]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let _out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let t = Instant::now();
    assert!(within(Duration::from_secs(3), move || ssc.stop(true, true)).is_some());
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let stops = events.with_prefix("receiver stopped").len();
    assert!((2..=7).contains(&stops), "{stops} restarts in 1 s");
    assert!(
        events
            .with_prefix("receiver stopped")
            .iter()
            .any(|e| e.contains("error connecting")),
        "{:?}",
        events.0.lock()
    );
}

extern "C" {
    fn listen(fd: i32, backlog: i32) -> i32;
}

#[test]
fn graceful_stop_while_the_receiver_is_still_connecting_is_prompt() {
    use std::os::fd::AsRawFd;
    // A listener whose accept queue is full: connects hang (SYNs are dropped).
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // SAFETY: a valid listening socket.
    assert_eq!(unsafe { listen(l.as_raw_fd(), 0) }, 0);
    let mut fillers = Vec::new();
    for _ in 0..3 {
        if let Ok(c) = TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().unwrap(),
            Duration::from_millis(200),
        ) {
            fillers.push(c);
        }
    }
    let ssc = system_ssc(100, &[]);
    let _out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let stopped = within(Duration::from_secs(3), move || ssc.stop(true, true)).is_some();
    assert!(
        stopped && t.elapsed() < Duration::from_millis(2500),
        "stop took {:?}",
        t.elapsed()
    );
    drop(l);
}

#[test]
fn non_utf8_bytes_and_many_lines_in_one_write() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = 50_000;
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        buf.extend_from_slice(b"\xff\xfeok\r\n");
        for i in 0..n {
            buf.extend_from_slice(format!("l{i}\n").as_bytes());
        }
        c.write_all(&buf).unwrap();
        c.flush().unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(4), || all_records(&out)
        .len()
        > n));
    ssc.stop(true, false);
    let all = all_records(&out);
    assert_eq!(all[0], "\u{fffd}\u{fffd}ok");
    assert_eq!(all.len(), n + 1);
    assert_eq!(all[n], format!("l{}", n - 1).as_str());
    server.join().unwrap();
}

#[test]
fn a_custom_decoder_error_restarts_the_receiver_and_keeps_what_it_stored() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for round in 0..2 {
            let (mut c, _) = l.accept().unwrap();
            c.write_all(format!("{round}0\n{round}1\nbad\n{round}3\n").as_bytes())
                .unwrap();
            c.flush().unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let decoder: Arc<input::Decoder<u32>> = Arc::new(|input, sink| {
        for line in input.lines() {
            let line = line?;
            match line.parse() {
                Ok(v) => sink(v),
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("not a number: {line}"),
                    ))
                }
            }
        }
        Ok(())
    });
    let ssc = system_ssc(100, &[]);
    let events = Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let out = collect(&ssc.socket_stream("127.0.0.1", port, decoder));
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(4), || all_records(&out)
        .len()
        >= 4));
    ssc.stop(true, true);
    server.join().unwrap();
    let mut got = all_records(&out);
    got.sort();
    assert_eq!(got, vec![0, 1, 10, 11]);
    let stops = events.with_prefix("receiver stopped");
    assert!(
        stops.iter().any(|e| e.contains("not a number: bad")),
        "{stops:?}"
    );
}
