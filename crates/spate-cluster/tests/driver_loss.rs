//! Losing the driver: a streaming stateful word count on `spate://127.0.0.1:<port>` with
//! two executors kept running by a supervisor (what Kubernetes does for a Deployment).
//! Mid-stream the driver is killed with SIGKILL; files keep arriving while it is down.
//! The driver is started again: `get_or_create` recovers from the checkpoint and the
//! executors' copies recover from the same checkpoint (the one the driver chose). The
//! executors of the dead driver learn that it restarted and start their program again in
//! place (`exec`: the supervisor never has to), and join the new driver. Then a new executor joins the running application: its copy of the
//! program replays it from the driver's replay log and catches up; the two others are
//! killed for good, and the new one alone computes the next batches. Every running count
//! is right at each step.

#[path = "common/streaming.rs"]
mod streaming;

use spate_core::{Context, SpateConf};
use spate_streaming::StreamingContext;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LINES: usize = 1_500;

/// The lines of input file `i`.
fn file_text(i: usize) -> String {
    (0..LINES)
        .map(|j| format!("w{} v{} u{}\n", (i * LINES + j) % 53, j % 5, i % 11))
        .collect()
}

/// Moves input file `i` into the stream's directory (written aside first).
fn drop_file(dir: &Path, i: usize) {
    let tmp = dir.join(format!(".part-{i}"));
    std::fs::write(&tmp, file_text(i)).expect("write an input file");
    std::fs::rename(&tmp, dir.join("in").join(format!("part-{i}.txt"))).expect("move it in");
}

/// The counts of files `0..n`, as the program writes them.
fn want(n: usize) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..n {
        for w in file_text(i).split_whitespace() {
            *counts.entry(w.to_string()).or_insert(0u64) += 1;
        }
    }
    counts
        .into_iter()
        .map(|(w, c)| format!("{w} {c}\n"))
        .collect()
}

/// The program every process runs.
fn program(dir: &Path, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    spate_cluster::register();
    let ctx = Context::new(
        SpateConf::new()
            .master(&format!("spate://127.0.0.1:{port}"))?
            .app_name("driver-loss")?
            .set("spate.cluster.minExecutors", "2")?
            .set("spate.executor.cores", "1")?
            .set("spate.task.maxFailures", "8")?,
    )?;
    if !ctx.is_driver() {
        // One line per start of this executor's program.
        use std::io::Write;
        let id = std::env::var("SPATE_EXECUTOR_ID")?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("starts-{id}")))?
            .write_all(b"started\n")?;
    }
    let checkpoint = dir.join("checkpoint");
    let c = ctx.clone();
    let out = dir.to_path_buf();
    let ssc = StreamingContext::get_or_create(checkpoint.clone(), move || {
        let ssc = StreamingContext::with_context(c.clone(), Duration::from_millis(500))?;
        ssc.checkpoint(&checkpoint)?;
        let counts = streaming::running_word_counts(&ssc, &out.join("in"))?;
        let is_driver = c.is_driver();
        let out = out.clone();
        counts.foreach_rdd(move |rdd, _| {
            let mut v = rdd.collect()?;
            if is_driver {
                v.sort();
                let text: String = v.iter().map(|(w, c)| format!("{w} {c}\n")).collect();
                std::fs::write(out.join(".counts"), text)?;
                std::fs::rename(out.join(".counts"), out.join("counts"))?;
            }
            Ok(())
        });
        Ok(ssc)
    })?;
    ssc.start()?;
    if !ctx.is_driver() {
        ssc.await_termination()?;
        return Ok(());
    }
    std::fs::write(dir.join("started"), b"")?;
    while !dir.join("stop").exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    ctx.stop();
    Ok(())
}

fn spawn(exe: &Path, dir: &Path, port: u16, executor: Option<&str>) -> Child {
    let mut c = Command::new(exe);
    c.env("DRIVER_LOSS_DIR", dir)
        .env("DRIVER_LOSS_PORT", port.to_string())
        .stdout(if executor.is_some() {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::inherit());
    if let Some(id) = executor {
        c.env("SPATE_EXECUTOR_ID", id)
            .env("SPATE_DRIVER_URL", format!("spate://127.0.0.1:{port}"));
    }
    c.spawn().expect("spawn")
}

/// Keeps executor `id` running, as a Deployment does: started again whenever it exits.
fn supervise(
    exe: PathBuf,
    dir: PathBuf,
    port: u16,
    id: &'static str,
    done: Arc<AtomicBool>,
    starts: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !done.load(Ordering::Acquire) {
            starts.fetch_add(1, Ordering::AcqRel);
            let mut child = spawn(&exe, &dir, port, Some(id));
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if dir.join("retire").exists() {
                    // Killed for good (the test wants another executor to take over).
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                if done.load(Ordering::Acquire) && dir.join("stop").exists() {
                    // The driver stops: its executors exit by themselves; do not wait
                    // for ever.
                    let until = Instant::now() + Duration::from_secs(20);
                    while Instant::now() < until && !matches!(child.try_wait(), Ok(Some(_))) {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

fn counts(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("counts")).unwrap_or_default()
}

fn total(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits until the driver's streaming context started (files older than its start are
/// not new to a file stream, as in Spark).
fn wait_started(dir: &Path) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(90);
    while !dir.join("started").exists() {
        if Instant::now() > until {
            return Err("the driver did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Waits until the written counts are those of files `0..n`.
fn wait_for(dir: &Path, n: usize, what: &str) -> Result<(), String> {
    let want = want(n);
    let until = Instant::now() + Duration::from_secs(150);
    loop {
        let got = counts(dir);
        if got == want {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(format!(
                "{what}: the counts of files 0..{n} never came (last written: {} records, want {})",
                total(&got),
                total(&want)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() {
    if let (Ok(dir), Ok(port)) = (
        std::env::var("DRIVER_LOSS_DIR"),
        std::env::var("DRIVER_LOSS_PORT"),
    ) {
        let port = port.parse().expect("port");
        streaming::log_if_asked();
        if let Err(e) = program(Path::new(&dir), port) {
            eprintln!(
                "driver_loss {}: {e}",
                std::env::var("SPATE_EXECUTOR_ID").unwrap_or_else(|_| "driver".into())
            );
            std::process::exit(1);
        }
        return;
    }
    let exe = std::env::current_exe().expect("exe");
    let dir = std::env::temp_dir().join(format!("spate-driver-loss-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("in")).expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let done = Arc::new(AtomicBool::new(false));
    let starts: Vec<Arc<AtomicUsize>> = (0..2).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let mut driver = spawn(&exe, &dir, port, None);
    let supervisors: Vec<_> = ["e0", "e1"]
        .into_iter()
        .zip(&starts)
        .map(|(id, s)| supervise(exe.clone(), dir.clone(), port, id, done.clone(), s.clone()))
        .collect();
    let mut late: Option<Child> = None;
    let result = (|| -> Result<(), String> {
        wait_started(&dir)?;
        for i in 0..4 {
            drop_file(&dir, i);
            std::thread::sleep(Duration::from_millis(400));
        }
        wait_for(&dir, 4, "before the driver's loss")?;
        // The driver dies without a word; files keep arriving while it is down.
        let _ = driver.kill();
        let _ = driver.wait();
        let _ = std::fs::remove_file(dir.join("started"));
        for i in 4..7 {
            drop_file(&dir, i);
            std::thread::sleep(Duration::from_millis(300));
        }
        std::thread::sleep(Duration::from_secs(2));
        driver = spawn(&exe, &dir, port, None);
        wait_started(&dir)?;
        wait_for(&dir, 7, "after the driver's recovery")?;
        for i in 7..10 {
            drop_file(&dir, i);
            std::thread::sleep(Duration::from_millis(400));
        }
        wait_for(&dir, 10, "after more files")?;
        let starts_now: Vec<usize> = starts.iter().map(|s| s.load(Ordering::Acquire)).collect();
        // A new executor joins the running application and replays it; then the two
        // others are killed for good, and it alone computes.
        late = Some(spawn(&exe, &dir, port, Some("late")));
        std::thread::sleep(Duration::from_secs(3));
        std::fs::write(dir.join("retire"), b"").map_err(|e| e.to_string())?;
        for i in 10..13 {
            drop_file(&dir, i);
            std::thread::sleep(Duration::from_millis(400));
        }
        wait_for(&dir, 13, "with only the executor that joined late")?;
        for (id, n) in ["e0", "e1"].iter().zip(starts_now) {
            let programs = std::fs::read_to_string(dir.join(format!("starts-{id}")))
                .unwrap_or_default()
                .lines()
                .count();
            if programs < 2 {
                return Err(format!(
                    "executor {id}'s program started {programs} time(s): the new driver ran \
                     with the old driver's executor"
                ));
            }
            if n != 1 {
                return Err(format!(
                    "executor {id}'s process was started {n} times by its supervisor: it did \
                     not start its program again by itself"
                ));
            }
        }
        Ok(())
    })();
    done.store(true, Ordering::Release);
    let _ = std::fs::write(dir.join("stop"), b"stop");
    let until = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Ok(Some(s)) = driver.try_wait() {
            break Some(s);
        }
        if Instant::now() > until {
            let _ = driver.kill();
            let _ = driver.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for s in supervisors {
        let _ = s.join();
    }
    if let Some(mut l) = late {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until && !matches!(l.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = l.kill();
        let _ = l.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        panic!("driver_loss: {e}");
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "the recovered driver did not stop cleanly: {status:?}"
    );
    println!(
        "driver_loss: ok (executor processes started by the supervisor: {:?})",
        starts
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .collect::<Vec<_>>()
    );
}
