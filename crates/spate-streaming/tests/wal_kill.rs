//! `kill -9` with the receiver write-ahead log, with real processes: a reliable receiver
//! reads records from a TCP source in chunks, stores each chunk with `store_many` and only
//! then acknowledges it; the source resends from the last acknowledgement on every new
//! connection. The program (this test binary run again as a child) saves every batch's
//! records to `batch-<ms>/` and is killed with SIGKILL at random moments and started again
//! with the same checkpoint directory, three times per seed.
//!
//! Every record must be in the saved batches; a record the source sent once (so its
//! acknowledgement arrived) exactly once; a record sent again after a kill (stored, maybe,
//! and not acknowledged: Spark's at-least-once window of a reliable receiver) at most as
//! many times as it was sent.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::*;

const CHILD: &str = "WAL_KILL_CHILD";
const RECORDS: u64 = 6000;
const CHUNK: u64 = 50;

/// Reads chunks of `CHUNK` lines, stores each with `store_many`, then acknowledges it.
struct AckingTcp {
    port: u16,
}

impl Receiver<u64> for AckingTcp {
    fn name(&self) -> String {
        "acking-tcp".into()
    }
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        let port = self.port;
        std::thread::spawn(move || {
            let run = || -> std::io::Result<()> {
                let stream = TcpStream::connect(("127.0.0.1", port))?;
                let mut ack = stream.try_clone()?;
                let mut lines = BufReader::new(stream).lines();
                while !h.is_stopped() {
                    let mut chunk = Vec::new();
                    for line in lines.by_ref() {
                        let line = line?;
                        if line == "." {
                            break;
                        }
                        chunk.push(line.parse::<u64>().map_err(std::io::Error::other)?);
                    }
                    let Some(&last) = chunk.last() else {
                        return Ok(());
                    };
                    if h.store_many(chunk).is_err() {
                        return Ok(());
                    }
                    writeln!(ack, "ACK {last}")?;
                }
                Ok(())
            };
            let _ = run();
            if !h.is_stopped() {
                h.restart("source connection ended");
            }
        });
    }
    fn on_stop(&mut self) {}
}

/// The program run as the child: `get_or_create` over `base/ck`, batches of 200 ms.
fn child_program(base: &Path, port: u16) {
    let ck = base.join("ck");
    let out = base.join("out").join("batch");
    let ssc = StreamingContext::get_or_create(&ck, || {
        let ssc = StreamingContext::new(
            conf(&[
                ("spate.streaming.receiver.writeAheadLog.enable", "true"),
                ("spate.streaming.stopGracefullyOnShutdown", "true"),
                ("spate.streaming.receiverRestartDelay", "50ms"),
            ]),
            Duration::from_millis(200),
        )?;
        ssc.receiver_stream(AckingTcp { port })
            .save_as_text_files(out.to_str().unwrap_or("out"), "");
        ssc.checkpoint(&ck)?;
        Ok(ssc)
    })
    .unwrap();
    ssc.start().unwrap();
    ssc.await_termination().unwrap();
}

/// The source: sends chunks of `CHUNK` records ending with a `.` line, the next chunk only
/// after the previous one's acknowledgement; a new connection starts again after the last
/// acknowledged record. Counts how many times each record was sent.
struct SourceState {
    acked_through: Option<u64>,
    sent: Vec<u32>,
}

fn serve(listener: TcpListener, state: Arc<Mutex<SourceState>>, done: Arc<AtomicBool>) {
    listener.set_nonblocking(true).unwrap();
    while !done.load(Ordering::Acquire) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut acks = BufReader::new(stream).lines();
        loop {
            let next = state.lock().acked_through.map_or(0, |a| a + 1);
            if next >= RECORDS || done.load(Ordering::Acquire) {
                break;
            }
            let end = (next + CHUNK).min(RECORDS);
            let mut text = String::new();
            for id in next..end {
                text.push_str(&format!("{id}\n"));
            }
            text.push_str(".\n");
            if w.write_all(text.as_bytes()).is_err() {
                break;
            }
            {
                let mut st = state.lock();
                for id in next..end {
                    st.sent[id as usize] += 1;
                }
            }
            // Wait for this chunk's acknowledgement (the receiver may die meanwhile).
            let acked = loop {
                match acks.next() {
                    Some(Ok(l)) => break l.strip_prefix("ACK ").and_then(|n| n.parse().ok()),
                    Some(Err(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        if done.load(Ordering::Acquire) {
                            break None;
                        }
                    }
                    _ => break None,
                }
            };
            match acked {
                Some(a) if a == end - 1 => state.lock().acked_through = Some(a),
                _ => break,
            }
            // A paced source: about 2,500 records a second.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn spawn_child(base: &Path, port: u16, log: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_reliable_receiver_with_the_log_killed_and_restarted_counts_every_acknowledged_record_once",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, base)
        .env("WAL_KILL_PORT", port.to_string())
        .env("SPATE_LOCAL_DIR", base.join("scratch"))
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

/// Every saved batch's records: id -> times seen.
fn saved(out: &Path) -> BTreeMap<u64, u32> {
    let mut seen = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap().flatten() {
        if !e.file_name().to_string_lossy().starts_with("batch-") {
            continue;
        }
        for part in std::fs::read_dir(e.path()).unwrap().flatten() {
            if !part.file_name().to_string_lossy().starts_with("part-") {
                continue;
            }
            for line in std::fs::read_to_string(part.path()).unwrap().lines() {
                *seen.entry(line.parse::<u64>().unwrap()).or_insert(0) += 1;
            }
        }
    }
    seen
}

fn run_seed(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let base: PathBuf = dir.path().to_path_buf();
    std::fs::create_dir_all(base.join("out")).unwrap();
    std::fs::create_dir_all(base.join("scratch")).unwrap();
    let log = base.join("stderr.log");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(Mutex::new(SourceState {
        acked_through: None,
        sent: vec![0; RECORDS as usize],
    }));
    let done = Arc::new(AtomicBool::new(false));
    let server = {
        let (state, done) = (state.clone(), done.clone());
        std::thread::spawn(move || serve(listener, state, done))
    };
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut below = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut child = spawn_child(&base, port, &log);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(400 + below(700)));
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(below(300)));
        child = spawn_child(&base, port, &log);
    }
    // Let the last run take everything, and its batches process it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let complete = || state.lock().acked_through == Some(RECORDS - 1);
    while !complete() {
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            child.try_wait().unwrap().is_none(),
            "the last run exited\n{log_text}"
        );
        assert!(
            Instant::now() < deadline,
            "the source was not read to its end\n{log_text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(600));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    done.store(true, Ordering::Release);
    server.join().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{status:?}\n{log_text}");
    let seen = saved(&base.join("out"));
    let sent = state.lock().sent.clone();
    let resent = sent.iter().filter(|n| **n > 1).count();
    for id in 0..RECORDS {
        let (s, n) = (sent[id as usize], seen.get(&id).copied().unwrap_or(0));
        assert!(
            n >= 1,
            "seed {seed}: record {id} (sent {s} times) lost\n{log_text}"
        );
        if s == 1 {
            assert_eq!(
                n, 1,
                "seed {seed}: record {id}, sent once, counted {n} times"
            );
        } else {
            assert!(
                n <= s,
                "seed {seed}: record {id} sent {s} times, counted {n}"
            );
        }
    }
    assert!(
        resent > 0 || log_text.contains("write-ahead log"),
        "seed {seed}: no kill hit the source"
    );
}

#[cfg(unix)]
#[test]
fn a_reliable_receiver_with_the_log_killed_and_restarted_counts_every_acknowledged_record_once() {
    if let Ok(base) = std::env::var(CHILD) {
        let port: u16 = std::env::var("WAL_KILL_PORT").unwrap().parse().unwrap();
        child_program(Path::new(&base), port);
        return;
    }
    for seed in [11, 12, 13] {
        run_seed(seed);
    }
}
