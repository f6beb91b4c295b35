//! The examples run as programs: errors print as readable `Display` chains (never `Debug`),
//! a streaming example reports a failed batch and keeps running, and SIGTERM or SIGINT
//! stops it gracefully: every line received is counted, it exits 0 and leaves no scratch
//! directory behind.

use std::io::Read;

mod support;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::example;

#[test]
fn a_missing_input_path_prints_a_readable_error() {
    let out = Command::new(example("word_count"))
        .arg("/no/such/spate/input.txt")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Error: ") && stderr.contains("/no/such/spate/input.txt"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Io {") && !stderr.contains("kind:"),
        "Debug format on stderr: {stderr}"
    );
}

#[test]
fn a_bad_setting_prints_a_readable_error() {
    let out = Command::new(example("file_word_count"))
        .arg(std::env::temp_dir())
        .env("SPATE_STREAMING_BLOCK_INTERVAL", "1s")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Error: configuration: unknown environment variable SPATE_STREAMING_BLOCK_INTERVAL: did you mean SPATE_STREAMING_BLOCKINTERVAL?"),
        "{stderr}"
    );
    assert!(!stderr.contains("Config("), "{stderr}");
}

/// `file_word_count` on a directory deleted while it runs: the failed batches are reported
/// on stderr and it keeps running; SIGTERM then stops it gracefully, with code 0 and no
/// scratch directory left.
#[cfg(unix)]
#[test]
fn file_word_count_reports_a_failed_batch_and_keeps_running() {
    let base = tempfile::tempdir().unwrap();
    let watched = base.path().join("watched");
    let scratch = base.path().join("scratch");
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let mut child = Command::new(example("file_word_count"))
        .arg(&watched)
        .env("SPATE_LOCAL_DIR", &scratch)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Collect stderr on a thread (the pipe must not fill up).
    let mut err_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited before the test"
    );
    std::fs::remove_dir_all(&watched).unwrap();
    // Batches are 2 s: several fail while it keeps running.
    std::thread::sleep(Duration::from_secs(7));
    let running = child.try_wait().unwrap().is_none();
    let entries = std::fs::read_dir(&scratch).unwrap().count();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = stderr.join().unwrap();
    assert!(running, "the example exited on a failed batch: {stderr}");
    assert!(
        stderr.contains("batch failed (the stream goes on)") && stderr.contains("watched"),
        "{stderr}"
    );
    assert!(!stderr.contains("OutputFailed {"), "{stderr}");
    assert_eq!(entries, 1, "one scratch directory while running");
    assert_eq!(status.code(), Some(0), "{status:?}\n{stderr}");
    assert!(stderr.contains("stopped gracefully on SIGTERM"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&scratch).unwrap().count(),
        0,
        "scratch directory left after SIGTERM"
    );
}

/// Sums the counts `network_word_count` printed for `word` (Spark's `(word,count)` lines).
fn printed_total(stdout: &str, word: &str) -> u64 {
    let prefix = format!("({word},");
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix)?.strip_suffix(')'))
        .map(|n| n.parse::<u64>().unwrap())
        .sum()
}

/// `network_word_count` gets `LINES` lines just after a batch printed, then a signal before
/// the next batch is due: the graceful stop processes the received lines (a plain exit lost
/// them, about 1,450 of 11,050 lines before), prints them, exits 0 and removes its scratch
/// directory.
#[cfg(unix)]
fn a_signal_counts_every_received_line(signal: &str) {
    use std::io::{BufRead, BufReader, Write};
    const LINES: u64 = 20_000;
    let scratch = tempfile::tempdir().unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let mut child = Command::new(example("network_word_count"))
        .args(["127.0.0.1", &port.to_string(), "3000"])
        .env("SPATE_LOCAL_DIR", scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out_pipe = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out_pipe).lines().map_while(|l| l.ok()) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The example connects within seconds; one that exited early must fail the test, not
    // leave it waiting in `accept`.
    server.set_nonblocking(true).unwrap();
    let accept_by = Instant::now() + Duration::from_secs(30);
    let mut conn = loop {
        match server.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("the example exited before connecting: {status:?}");
                }
                assert!(Instant::now() < accept_by, "the example never connected");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    conn.set_nonblocking(false).unwrap();
    // Wait for a batch to print (its header), then send everything at once: the lines
    // fall in the batch after it, due up to 3 s later.
    let mut stdout = String::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("no batch printed");
        let header = line.starts_with("Time: ");
        stdout.push_str(&line);
        stdout.push('\n');
        if header {
            break;
        }
    }
    let sent_at = Instant::now();
    let mut feed = Vec::new();
    for i in 0..LINES {
        writeln!(feed, "alpha beta w{}", i % 7).unwrap();
    }
    conn.write_all(&feed).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let signalled_after = sent_at.elapsed();
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after {signal}");
        std::thread::sleep(Duration::from_millis(20));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let stderr = stderr.join().unwrap();
    assert!(
        signalled_after < Duration::from_millis(2500),
        "the signal came late ({signalled_after:?}): the test did not test the stop"
    );
    assert_eq!(status.code(), Some(0), "{status:?}\n{stderr}");
    assert_eq!(
        printed_total(&stdout, "alpha"),
        LINES,
        "lines counted\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(printed_total(&stdout, "beta"), LINES);
    assert_eq!(
        std::fs::read_dir(scratch.path()).unwrap().count(),
        0,
        "scratch directory left after {signal}"
    );
    drop(conn);
}

#[cfg(unix)]
#[test]
fn sigterm_stops_a_streaming_example_gracefully() {
    a_signal_counts_every_received_line("-TERM");
}

#[cfg(unix)]
#[test]
fn sigint_stops_a_streaming_example_gracefully() {
    a_signal_counts_every_received_line("-INT");
}
