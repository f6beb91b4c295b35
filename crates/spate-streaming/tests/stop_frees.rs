//! A stopped streaming context is freed once the user's handles are dropped: the
//! streaming context itself (seen through a weak handle), its core `Context` (seen
//! through its scratch directory `spate-<pid>-<n>` under `spate.local.dir` disappearing)
//! and every thread spate started (seen in `/proc/self/task/*/comm`). The graphs hold
//! windows, incremental windows, state and joins, whose nodes used to hold the context.
//!
//! The tests of this file run one at a time: they count the process's threads.

mod support;

use spate_streaming::dstream::{State as KeyState, StateSpec};
use support::*;

static SERIAL: Mutex<()> = parking_lot::const_mutex(());

/// The names of this process's threads that spate started (`spate-task-0`,
/// `spate-streaming-job-0`, ... as the kernel keeps them: 15 bytes at most), except the
/// process-wide signal thread (`spate-signals`, started once by the first context and
/// meant to live as long as the process: see `spate_core::scratch`).
fn spate_threads() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) {
            let comm = comm.trim();
            if comm.starts_with("spate-") && comm != "spate-signals" {
                out.push(comm.to_string());
            }
        }
    }
    out.sort();
    out
}

/// The context scratch directories under `local_dir`.
fn scratch_dirs(local_dir: &Path) -> Vec<String> {
    std::fs::read_dir(local_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("spate-"))
        .collect()
}

/// Waits (a few seconds at most) for the context, its scratch directory and spate's
/// threads to be gone; panics naming what is left.
fn assert_freed(weak: &WeakStreamingContext, local_dir: &Path) {
    let freed = || {
        weak.upgrade().is_none() && scratch_dirs(local_dir).is_empty() && spate_threads().is_empty()
    };
    if !wait_until(Duration::from_secs(5), freed) {
        panic!(
            "after stop and drop: streaming context alive: {}, scratch directories: {:?}, \
             spate threads: {:?}",
            weak.upgrade().is_some(),
            scratch_dirs(local_dir),
            spate_threads()
        );
    }
}

/// A TCP server that sends `lines` lines to its first client, then waits for it to go.
fn line_server(lines: usize) -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        for i in 0..lines {
            writeln!(c, "line {i}").unwrap();
        }
        c.flush().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 64];
        // Until the receiver closes the connection (or 10 s).
        while let Ok(n) = std::io::Read::read(&mut c, &mut buf) {
            if n == 0 {
                break;
            }
        }
    });
    (port, h)
}

/// Declares a graph with every kind of node that used to hold its context: a receiver
/// and a socket input, a window, an incremental window with an inverse, update_state_by_key,
/// map_with_state and joins. Returns how many output jobs ran.
fn build_graph(
    ssc: &StreamingContext,
    port: u16,
    window: Duration,
    slide: Duration,
) -> Arc<AtomicUsize> {
    let ran = Arc::new(AtomicUsize::new(0));
    let ticks = ssc.receiver_stream(Ticks(None)).map(|i| (i % 5, 1i64));
    let lines = ssc
        .socket_text_stream("127.0.0.1", port)
        .map(|l| (l.as_str().len() as u64 % 5, 1i64));
    let pairs = ticks.union(&lines);
    let windowed = pairs.window_with(window, slide);
    let counts = pairs
        .reduce_by_key_and_window(|a, b| a + b)
        .inverse(|a, b| a - b)
        .window(window)
        .slide(slide)
        .partitions(2);
    let totals = pairs.update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
        Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
    });
    let seen = pairs.map_with_state(StateSpec::function_with_time(
        |_, k: &u64, v: Option<i64>, st: &mut KeyState<i64>| {
            let n = st.get_or(0) + v.unwrap_or(0);
            st.update(n);
            Some((*k, n))
        },
    ));
    let joined = totals.join(&counts);
    let outer = seen
        .stream()
        .left_outer_join(&windowed.reduce_by_key(|a, b| a + b));
    let snapshots = seen.state_snapshots();
    count_jobs(&joined, &ran);
    count_jobs(&outer, &ran);
    count_jobs(&snapshots, &ran);
    ran
}

/// An output that counts each batch's records and the jobs run.
fn count_jobs<T: spate_core::Data>(s: &DStream<T>, ran: &Arc<AtomicUsize>) {
    let ran = ran.clone();
    s.foreach_rdd(move |rdd, _| {
        rdd.count()?;
        ran.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
}

fn local_dir_conf(dir: &Path) -> SpateConf {
    conf(&[("spate.local.dir", dir.to_str().unwrap())])
}

#[test]
fn a_stopped_context_on_a_manual_clock_is_freed_with_its_graph() {
    let _serial = SERIAL.lock();
    let local = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    let (port, server) = line_server(50);
    let ssc = StreamingContext::with_clock(
        Context::new(local_dir_conf(local.path())).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.checkpoint(ck.path()).unwrap();
    let ran = build_graph(&ssc, port, Duration::from_secs(2), Duration::from_secs(1));
    ssc.start().unwrap();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(50));
        ssc.advance_batches(1).unwrap();
    }
    assert_eq!(ran.load(Ordering::SeqCst), 12, "3 outputs × 4 batches");
    assert_eq!(scratch_dirs(local.path()).len(), 1);
    assert!(!spate_threads().is_empty());
    let weak = ssc.downgrade();
    ssc.stop(true, true);
    drop(ssc);
    server.join().unwrap();
    assert_freed(&weak, local.path());
}

#[test]
fn a_stopped_context_on_the_system_clock_is_freed_with_its_graph() {
    let _serial = SERIAL.lock();
    let local = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    let (port, server) = line_server(50);
    let ssc =
        StreamingContext::new(local_dir_conf(local.path()), Duration::from_millis(100)).unwrap();
    ssc.checkpoint(ck.path()).unwrap();
    let ran = build_graph(
        &ssc,
        port,
        Duration::from_millis(200),
        Duration::from_millis(100),
    );
    ssc.start().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || ran.load(Ordering::SeqCst) >= 9),
        "ran {} output jobs",
        ran.load(Ordering::SeqCst)
    );
    assert_eq!(scratch_dirs(local.path()).len(), 1);
    let weak = ssc.downgrade();
    ssc.stop(true, true);
    drop(ssc);
    server.join().unwrap();
    assert_freed(&weak, local.path());
}

#[test]
fn dropping_a_context_stopped_without_its_core_context_frees_the_core_context() {
    // stop(false, ..) leaves the core context running, but nothing else holds it: dropping
    // the streaming context drops it, which ends its task threads and removes its scratch
    // directory.
    let _serial = SERIAL.lock();
    let local = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    let (port, server) = line_server(20);
    let ssc = StreamingContext::with_clock(
        Context::new(local_dir_conf(local.path())).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.checkpoint(ck.path()).unwrap();
    let ran = build_graph(&ssc, port, Duration::from_secs(3), Duration::from_secs(1));
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 9);
    let weak = ssc.downgrade();
    ssc.stop(false, false);
    assert!(
        spate_threads().iter().any(|t| t.starts_with("spate-task")),
        "the core context still runs: {:?}",
        spate_threads()
    );
    drop(ssc);
    server.join().unwrap();
    assert_freed(&weak, local.path());
}

#[test]
fn an_output_that_stops_its_context_through_a_weak_handle_does_not_keep_it_alive() {
    let _serial = SERIAL.lock();
    let local = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::with_clock(
        Context::new(local_dir_conf(local.path())).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    ssc.checkpoint(ck.path()).unwrap();
    let s = ssc.replay_stream(vec![Some(vec![(1u8, 1i64)]); 5], 2);
    let state = s.update_state_by_key(|vs: Vec<i64>, st: Option<i64>| {
        Some(st.unwrap_or(0) + vs.len() as i64)
    });
    let weak = ssc.downgrade();
    let me = weak.clone();
    state
        .window_with(Duration::from_secs(2), Duration::from_secs(1))
        .foreach_rdd(move |rdd, t| {
            if rdd.count()? > 0 && t.millis() == 2000 {
                if let Some(ssc) = me.upgrade() {
                    ssc.stop(true, false);
                }
            }
            Ok(())
        });
    drop((s, state));
    ssc.start().unwrap();
    ssc.advance_batches(2).unwrap();
    assert!(wait_until(Duration::from_secs(5), || ssc.state() == State::Stopped));
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(5))
        .unwrap());
    drop(ssc);
    assert_freed(&weak, local.path());
}
